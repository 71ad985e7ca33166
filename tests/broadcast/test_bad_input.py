"""Bad input gets a 4xx that says why, never a 500; quietly accepted input is refused or normalised (issue 12 §4)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.broadcast.conftest import area, slot_body, station, unique
from tests.conftest import Stack
from tests.helpers import Json

BIG = 2**64  # over 64 bits
MAX_ID = 2**53 - 1  # exact in the OpenAPI document, whose bounds are floats
SOON = datetime(2031, 3, 2, 6, 0, tzinfo=UTC)


def detail(response: Response) -> str:
    """The error's `detail`, as text whatever its shape (a string or a list of problems)."""
    value = response.json()["detail"]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def refused(response: Response, status: int, *words: str) -> None:
    """The response has this status and its detail names the problem in these words."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    said = detail(response)
    for word in words:
        assert word in said, (word, said)


def slot_json(stack: Stack, api: TestClient, **extra: object) -> Json:
    """A valid slot body on a fresh area, with `extra` replacing fields."""
    body = slot_body("area", area(api, stack)["id"], SOON, 60)
    body.update(extra)
    return body


# --- ids over 64 bits, zero and negative ---------------------------------------------------------

ID_CASES: list[tuple[str, str, Json | None, str]] = [
    ("GET", f"/api/stations/{BIG}", None, "station_id"),
    ("POST", f"/api/stations/{BIG}/token", None, "station_id"),
    ("GET", f"/api/slots/{BIG}", None, "slot_id"),
    ("POST", f"/api/slots/{BIG}/exceptions", {"date": "2031-01-01", "action": "cancel"}, "slot_id"),
    ("GET", f"/api/documents/{BIG}", None, "document_id"),
    ("GET", f"/api/productions/{BIG}", None, "production_id"),
    ("GET", f"/api/productions/{BIG}/script", None, "production_id"),
    ("GET", f"/api/jobs/{BIG}", None, "job_id"),
    ("GET", f"/episodes/{BIG}", None, "production_id"),
    ("GET", f"/documents/{BIG}", None, "document_id"),
    ("GET", f"/stations/{BIG}/schedule.json", None, "station_id"),
    ("GET", f"/stations/{BIG}/playlist.m3u", None, "station_id"),
    ("POST", f"/stations/{BIG}/plays", {"plays": []}, "station_id"),
    ("GET", f"/api/occurrences?slot_id={BIG}", None, "slot_id"),
    ("GET", f"/api/airings?station_id={BIG}", None, "station_id"),
    ("GET", f"/api/airings?channel_id={BIG}", None, "channel_id"),
    ("GET", f"/api/airings?area_id={BIG}", None, "area_id"),
    ("GET", f"/api/reports/coverage?start=2031-01-01T00:00:00Z&end=2031-02-01T00:00:00Z&area_id={BIG}", None, "area_id"),
    ("GET", f"/api/reports/asrun?start=2031-01-01T00:00:00Z&end=2031-02-01T00:00:00Z&station_id={BIG}", None, "station_id"),
    ("GET", f"/api/productions/1/script?version={BIG}", None, "version"),
    ("POST", "/api/areas", {"name": "A", "kind": "province", "parent_id": BIG}, "parent_id"),
    ("POST", "/api/stations", {"name": "S", "area_id": BIG}, "area_id"),
    (
        "POST",
        "/api/slots",
        {
            "name": "K",
            "target_kind": "area",
            "target_id": BIG,
            "rrule": "FREQ=DAILY",
            "dtstart": "2031-01-01",
            "start_time": "06:00",
            "duration_s": 60,
        },
        "target_id",
    ),
    ("POST", "/api/schedule/pins", {"occurrence_id": BIG, "production_id": 1}, "occurrence_id"),
    ("POST", "/api/emergency", {"production_id": 1, "area_id": BIG}, "area_id"),
    (
        "POST",
        "/api/campaigns",
        {
            "name": "C",
            "production_ids": [1, BIG],
            "area_ids": [1],
            "start": "2031-01-01T00:00:00Z",
            "end": "2031-02-01T00:00:00Z",
        },
        "production_ids",
    ),
    ("POST", "/api/productions", {"document_id": BIG, "format": "radio"}, "document_id"),
]


@pytest.mark.parametrize(("method", "url", "body", "field"), ID_CASES, ids=[f"{c[0]} {c[1][:60]}" for c in ID_CASES])
def test_ids_over_64_bits_are_a_422_naming_the_field(
    api: TestClient, stack: Stack, method: str, url: str, body: object, field: str
) -> None:
    response = api.request(method, url, json=body, headers=stack.headers("admin"))
    refused(response, 422, field, str(MAX_ID))


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("GET", "/api/stations/0", None, "station_id"),
        ("GET", "/api/slots/-3", None, "slot_id"),
        ("GET", "/api/occurrences?slot_id=0", None, "slot_id"),
        ("POST", "/api/stations", {"name": "S", "area_id": -1}, "area_id"),
    ],
)
def test_zero_and_negative_ids_are_a_422(api: TestClient, stack: Stack, method: str, url: str, body: object, field: str) -> None:
    refused(api.request(method, url, json=body, headers=stack.headers("admin")), 422, field, "greater than or equal to 1")


def test_a_station_play_report_with_an_id_over_64_bits_is_a_422(api: TestClient, stack: Stack) -> None:
    target = station(api, stack, area(api, stack)["id"])
    play = {"airing_id": BIG, "played_at": "2031-01-01T06:00:00+07:00", "duration_s": 3}
    response = api.post(
        f"/stations/{target['id']}/plays", json={"plays": [play]}, headers={"Authorization": f"Bearer {target['token']}"}
    )
    refused(response, 422, "airing_id", str(MAX_ID))


# --- datetimes without a timezone ----------------------------------------------------------------

NAIVE = "2031-01-01T05:30:00"
NAIVE_CASES = [
    ("GET", f"/api/airings?start={NAIVE}", None),
    ("GET", f"/api/airings?end={NAIVE}", None),
    ("GET", f"/api/occurrences?start={NAIVE}", None),
    ("GET", f"/api/reports/coverage?start={NAIVE}&end=2031-02-01T00:00:00Z", None),
    ("GET", f"/api/reports/asrun?start=2031-01-01T00:00:00Z&end={NAIVE}", None),
    ("POST", "/api/schedule/fill", {"start": NAIVE, "end": "2031-01-02T00:00:00+07:00"}),
    (
        "POST",
        "/api/campaigns",
        {"name": "C", "production_ids": [1], "area_ids": [1], "start": "2031-01-01T00:00:00Z", "end": NAIVE},
    ),
]


@pytest.mark.parametrize(("method", "url", "body"), NAIVE_CASES, ids=[f"{c[0]} {c[1][:50]}" for c in NAIVE_CASES])
def test_datetimes_without_a_timezone_are_refused(api: TestClient, stack: Stack, method: str, url: str, body: object) -> None:
    response = api.request(method, url, json=body, headers=stack.headers("admin"))
    refused(response, 422, "thiếu múi giờ", "timezone required", "+07:00")


def test_the_same_moment_is_refused_without_its_offset_and_read_right_with_it(api: TestClient, stack: Stack) -> None:
    naive = api.get(
        "/api/reports/coverage", params={"start": NAIVE, "end": "2031-01-02T00:00:00Z"}, headers=stack.headers("admin")
    )
    refused(naive, 422, "start", "timezone required")
    response = api.get(
        "/api/reports/coverage", params={"start": f"{NAIVE}+07:00", "end": "2031-01-02T00:00:00Z"}, headers=stack.headers("admin")
    )
    assert response.status_code == 200, response.json()
    assert datetime.fromisoformat(response.json()["start"]) == datetime(2030, 12, 31, 22, 30, tzinfo=UTC)


# --- local times with a UTC offset -----------------------------------------------------------------


def test_a_slot_start_time_with_a_utc_offset_is_refused(api: TestClient, stack: Stack) -> None:
    response = api.post("/api/slots", json=slot_json(stack, api, start_time="06:00:00+07:00"), headers=stack.headers("scheduler"))
    refused(response, 422, "start_time", "UTC offset")


def test_quiet_hours_with_a_utc_offset_are_refused(api: TestClient, stack: Stack) -> None:
    body = {"name": unique("Xã"), "kind": "commune", "quiet_start": "21:30+07:00", "quiet_end": "05:30"}
    refused(api.post("/api/areas", json=body, headers=stack.headers("scheduler")), 422, "quiet_start", "UTC offset")


# --- years outside 2000..2100 --------------------------------------------------------------------


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"])
def test_slot_dates_outside_the_window_are_refused(api: TestClient, stack: Stack, day: str) -> None:
    response = api.post("/api/slots", json=slot_json(stack, api, dtstart=day), headers=stack.headers("scheduler"))
    refused(response, 422, "dtstart", "2000", "2100")


@pytest.mark.parametrize("field", ["exdates", "rdates"])
def test_slot_exception_dates_outside_the_window_are_refused(api: TestClient, stack: Stack, field: str) -> None:
    response = api.post(
        "/api/slots", json=slot_json(stack, api, **{field: ["2031-03-05", "9999-12-31"]}), headers=stack.headers("scheduler")
    )
    refused(response, 422, field, "2000", "2100")


def test_an_added_date_outside_the_window_is_refused(api: TestClient, stack: Stack) -> None:
    made = api.post("/api/slots", json=slot_json(stack, api, rrule="FREQ=DAILY;COUNT=3"), headers=stack.headers("scheduler"))
    assert made.status_code == 201, made.json()
    response = api.post(
        f"/api/slots/{made.json()['id']}/exceptions",
        json={"date": "0001-01-01", "action": "add"},
        headers=stack.headers("scheduler"),
    )
    refused(response, 422, "date", "2000", "2100")


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/api/schedule/fill", {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}),
        ("POST", "/api/schedule/fill", {"start": "9999-12-30T00:00:00Z", "end": "9999-12-31T23:00:00Z"}),
        ("GET", "/api/reports/coverage?start=9999-12-30T00:00:00Z&end=9999-12-31T23:00:00Z", None),
        ("GET", "/api/reports/asrun?start=0001-01-01T00:00:00Z&end=2031-01-01T00:00:00Z", None),
        ("GET", "/api/airings?start=9999-12-30T00:00:00Z", None),
    ],
)
def test_fill_and_report_years_outside_the_window_are_refused(
    api: TestClient, stack: Stack, method: str, url: str, body: object
) -> None:
    refused(api.request(method, url, json=body, headers=stack.headers("admin")), 422, "2000", "2100")


def test_the_window_holds_by_the_date_as_written(api: TestClient, stack: Stack) -> None:
    after = api.get(
        "/api/reports/coverage",
        params={"start": "2101-01-01T01:00:00Z", "end": "2101-01-01T04:00:00Z"},
        headers=stack.headers("admin"),
    )
    refused(after, 422, "start", "2000", "2100")
    response = api.get(
        "/api/reports/coverage",
        params={"start": "2100-12-31T20:00:00-05:00", "end": "2100-12-31T23:00:00-05:00"},
        headers=stack.headers("admin"),
    )
    assert response.status_code == 200, response.json()
    assert response.json()["rows"] == []


# --- duplicate codes -----------------------------------------------------------------------------


def test_a_duplicate_area_code_is_a_409(api: TestClient, stack: Stack) -> None:
    code = unique("AREA").replace(" ", "-")[:40]
    first = api.post(
        "/api/areas", json={"name": unique("Tỉnh"), "kind": "province", "code": code}, headers=stack.headers("scheduler")
    )
    assert first.status_code == 201, first.json()
    again = api.post(
        "/api/areas", json={"name": unique("Tỉnh"), "kind": "province", "code": code}, headers=stack.headers("scheduler")
    )
    refused(again, 409, code, "duplicate area code")


def test_a_duplicate_station_code_is_a_409(api: TestClient, stack: Stack) -> None:
    commune = area(api, stack)
    code = unique("ST").replace(" ", "-")[:40]
    body = {"area_id": commune["id"], "name": unique("Cụm loa"), "code": code}
    assert api.post("/api/stations", json=body, headers=stack.headers("scheduler")).status_code == 201
    again = api.post("/api/stations", json={**body, "name": unique("Cụm loa")}, headers=stack.headers("scheduler"))
    refused(again, 409, code, "duplicate station code")


def test_a_code_stored_by_a_racing_request_is_a_409_not_a_500(stack: Stack) -> None:
    from sqlalchemy import event

    from broadcast import service
    from db import session_scope
    from errors import Conflict

    code = unique("RACE").replace(" ", "-")[:40]
    raced: list[int] = []
    with session_scope() as mine:

        def other_request_first(session: object, *_: object) -> None:
            # Another request stores the same code after this one checked it and before it flushes.
            if not raced:
                with session_scope() as other:
                    raced.append(service.create_area(other, name=unique("Tỉnh"), kind="province", code=code).id)

        event.listen(mine, "before_flush", other_request_first)
        with pytest.raises(Conflict, match="duplicate area code"):
            service.create_area(mine, name=unique("Tỉnh"), kind="province", code=code)
        event.remove(mine, "before_flush", other_request_first)
        mine.rollback()
    assert len(raced) == 1


# --- rules that never occur, exception dates -----------------------------------------------------


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",  # dtstart is a Sunday: every 7th day is never a Tuesday
    ],
)
def test_an_rrule_that_never_occurs_is_refused(api: TestClient, stack: Stack, rrule: str) -> None:
    response = api.post("/api/slots", json=slot_json(stack, api, rrule=rrule), headers=stack.headers("scheduler"))
    refused(response, 422, rrule, "never occurs")


@pytest.mark.parametrize(
    ("rrule", "words"),
    [
        ("FREQ=MONTHLY;BYDAY=99999999MO", "BYDAY ordinal out of range"),
        ("FREQ=YEARLY;BYEASTER=99999", "unsupported part"),
    ],
)
def test_an_rrule_the_expander_cannot_follow_is_a_422(api: TestClient, stack: Stack, rrule: str, words: str) -> None:
    response = api.post("/api/slots", json=slot_json(stack, api, rrule=rrule), headers=stack.headers("scheduler"))
    refused(response, 422, rrule, words)


def test_an_rrule_whose_until_is_before_its_start_is_refused(api: TestClient, stack: Stack) -> None:
    response = api.post(
        "/api/slots", json=slot_json(stack, api, rrule="FREQ=DAILY;UNTIL=20310101T000000"), headers=stack.headers("scheduler")
    )
    refused(response, 422, "UNTIL", "before the slot's start")


def test_a_rule_whose_only_date_is_cancelled_never_occurs(api: TestClient, stack: Stack) -> None:
    body = slot_json(stack, api, rrule="FREQ=DAILY;COUNT=1")
    response = api.post("/api/slots", json={**body, "exdates": [body["dtstart"]]}, headers=stack.headers("scheduler"))
    refused(response, 422, "never occurs")


def test_duplicate_exception_dates_are_stored_once(api: TestClient, stack: Stack) -> None:
    body = slot_json(stack, api, exdates=["2031-03-09"] * 3000 + ["2031-03-05"], rdates=["2031-04-01"] * 50)
    response = api.post("/api/slots", json=body, headers=stack.headers("scheduler"))
    assert response.status_code == 201, response.json()
    assert response.json()["exdates"] == ["2031-03-05", "2031-03-09"]
    assert response.json()["rdates"] == ["2031-04-01"]


def test_more_than_a_thousand_exception_dates_are_refused(api: TestClient, stack: Stack) -> None:
    days = [(date(2031, 4, 1) + timedelta(days=n)).isoformat() for n in range(1001)]
    response = api.post("/api/slots", json=slot_json(stack, api, exdates=days), headers=stack.headers("scheduler"))
    refused(response, 422, "exdates", "1001", "1000")


def test_a_slot_at_the_exception_limit_takes_no_new_one(api: TestClient, stack: Stack) -> None:
    days = [(date(2031, 4, 1) + timedelta(days=n)).isoformat() for n in range(1000)]
    made = api.post("/api/slots", json=slot_json(stack, api, exdates=days), headers=stack.headers("scheduler"))
    assert made.status_code == 201, made.json()
    url = f"/api/slots/{made.json()['id']}/exceptions"
    refused(api.post(url, json={"date": "2034-01-01", "action": "cancel"}, headers=stack.headers("scheduler")), 422, "1000")
    again = api.post(url, json={"date": days[5], "action": "cancel"}, headers=stack.headers("scheduler"))
    assert again.status_code == 200 and len(again.json()["exdates"]) == 1000  # cancelling a cancelled date changes nothing


# --- control characters in names and titles ------------------------------------------------------


def test_control_and_bidi_characters_are_removed_from_broadcast_names(api: TestClient, stack: Stack) -> None:
    made = api.post("/api/areas", json={"name": "Xã\r\nAn\u202eBình\x07", "kind": "commune"}, headers=stack.headers("scheduler"))
    assert made.status_code == 201, made.json()
    assert made.json()["name"] == "Xã AnBình"
    slot = api.post(
        "/api/slots",
        json=slot_body("area", made.json()["id"], SOON, 60, name="Bản tin\r\n#EXTINF:1,giả"),
        headers=stack.headers("scheduler"),
    )
    assert slot.status_code == 201, slot.json()
    assert slot.json()["name"] == "Bản tin #EXTINF:1,giả"
    refused(
        api.post("/api/areas", json={"name": "\r\n\t", "kind": "commune"}, headers=stack.headers("scheduler")),
        422,
        "name",
        "empty name",
    )


def test_a_stored_title_cannot_inject_lines_into_a_playlist_or_break_the_station_feed() -> None:
    from broadcast.models import Station
    from broadcast.pull import body
    from broadcast.station_wire import ScheduleItem

    title = "Bản tin\r#EXTINF:1,giả\r\nhttp://evil.example/x.mp3\u2028\x07"
    item: ScheduleItem = {
        "airing_id": 7,
        "title": title,
        "duration_s": 12.0,
        "start": "2031-01-01T06:00:00+07:00",
        "end": "2031-01-01T06:00:12+07:00",
        "media_url": "http://testserver/media/a.mp3",
        "sha256": "0" * 64,
        "bytes": 10,
        "priority": "normal",
        "reason": "lý do\x0b",
    }
    playlist = body(Station(id=3, name="Trạm\r\n1"), "playlist.m3u", [item]).decode()
    assert "\r" not in playlist
    assert playlist.split("\n") == [
        "#EXTM3U",
        "#EXTINF:12,Bản tin #EXTINF:1 giả http://evil.example/x.mp3 [2031-01-01T06:00:00+07:00]",
        "http://testserver/media/a.mp3",
        "",
    ]
    rss = body(Station(id=3, name="Trạm\x01 1"), "feed.rss", [item]).decode()
    assert "<title>2031-01-01T06:00:00+07:00 Bản tin #EXTINF:1,giả http://evil.example/x.mp3</title>" in rss
    assert "Trạm 1" in rss and "\x01" not in rss


def test_the_documented_id_bound_is_the_enforced_one(api: TestClient, stack: Stack) -> None:
    schema = api.get("/openapi.json").json()
    documented = schema["components"]["schemas"]["PlayIn"]["properties"]["airing_id"]["maximum"]
    assert documented == MAX_ID  # OpenAPI bounds are floats: a bound past 2^53 would be documented rounded
    assert api.get(f"/api/stations/{MAX_ID}", headers=stack.headers("admin")).status_code == 404
    refused(api.get(f"/api/stations/{MAX_ID + 1}", headers=stack.headers("admin")), 422, "station_id", str(MAX_ID))
