"""Slots over the API and the database: recurrence with exceptions and DST, overlap and quiet-hours refusals, expansion."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.broadcast.conftest import HCM, area, make_slot, occurrences, parse, slot_body, station, unique
from tests.conftest import Stack
from tests.helpers import Json


def channel(api: TestClient, stack: Stack, kind: str = "radio") -> Json:
    slug = unique("kenh").lower().replace(" ", "-").replace(".", "-")
    response = api.post(
        "/api/channels", json={"slug": slug, "name": f"Kênh {slug}", "kind": kind}, headers=stack.headers("scheduler")
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_weekly_slot_in_ho_chi_minh_time_with_a_cancelled_and_an_added_date(api: TestClient, stack: Stack) -> None:
    radio = channel(api, stack)
    today = datetime.now(HCM).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    body = slot_body(
        "channel", radio["id"], datetime.combine(monday, time(6, 0), tzinfo=HCM), 900, rrule="FREQ=WEEKLY;BYDAY=MO,TH"
    )
    created = api.post("/api/slots", json=body, headers=stack.headers("scheduler"))
    assert created.status_code == 201, created.json()
    slot = created.json()
    before = occurrences(api, stack, slot["id"])
    expected = [monday + timedelta(days=d) for d in (0, 3, 7, 10) if monday + timedelta(days=d) <= today + timedelta(days=14)]
    local = [parse(o["start"]).astimezone(HCM) for o in before]
    assert [d.date() for d in local][: len(expected)] == expected
    assert all((d.hour, d.minute) == (6, 0) for d in local)
    # 06:00 in Hồ Chí Minh (UTC+7, no DST) is 23:00 UTC the evening before.
    assert all(
        (parse(o["start"]).hour, parse(o["start"]).date()) == (23, d.date() - timedelta(days=1))
        for o, d in zip(before, local, strict=False)
    )
    assert all(parse(o["end"]) - parse(o["start"]) == timedelta(seconds=900) for o in before)

    scheduler = stack.headers("scheduler")
    cancelled = api.post(
        f"/api/slots/{slot['id']}/exceptions", json={"date": monday.isoformat(), "action": "cancel"}, headers=scheduler
    )
    assert cancelled.status_code == 200 and cancelled.json()["exdates"] == [monday.isoformat()]
    saturday = monday + timedelta(days=5)
    added = api.post(
        f"/api/slots/{slot['id']}/exceptions", json={"date": saturday.isoformat(), "action": "add"}, headers=scheduler
    )
    assert added.status_code == 200 and added.json()["rdates"] == [saturday.isoformat()]
    after = {parse(o["start"]).astimezone(HCM).date() for o in occurrences(api, stack, slot["id"])}
    assert monday not in after
    assert saturday in after
    assert monday + timedelta(days=3) in after


@pytest.mark.parametrize(
    ("tz", "first", "change", "utc_before", "utc_after"),
    [
        ("Europe/Berlin", date(2027, 3, 25), date(2027, 3, 28), 5, 4),  # CET -> CEST on the last Sunday of March
        ("America/New_York", date(2027, 11, 4), date(2027, 11, 7), 10, 11),  # EDT -> EST on the first Sunday of November
    ],
)
def test_dst_zone_keeps_the_wall_clock_across_the_change(
    api: TestClient, stack: Stack, tz: str, first: date, change: date, utc_before: int, utc_after: int
) -> None:
    from broadcast import service
    from db import session_scope

    radio = channel(api, stack)
    body = slot_body("channel", radio["id"], datetime(2027, 1, 1, 6, 0), 1800, timezone=tz)
    body.update(dtstart=first.isoformat(), start_time="06:00:00")
    slot = api.post("/api/slots", json=body, headers=stack.headers("scheduler"))
    assert slot.status_code == 201, slot.json()
    slot_id = slot.json()["id"]
    cancel = change + timedelta(days=2)
    assert (
        api.post(
            f"/api/slots/{slot_id}/exceptions",
            json={"date": cancel.isoformat(), "action": "cancel"},
            headers=stack.headers("scheduler"),
        ).status_code
        == 200
    )
    with session_scope() as session:
        # The beat task expands up to its horizon from now; this window is months ahead, so expand it directly.
        added = service.expand(
            session, slots=[service.get_slot(session, slot_id)], now=datetime.combine(first, time(0), tzinfo=UTC), horizon_days=7
        )
    assert added == 6  # seven days, one cancelled
    found = occurrences(api, stack, slot_id, start=datetime.combine(first, time(0), tzinfo=UTC).isoformat())
    starts = {parse(o["start"]).date(): parse(o["start"]) for o in found}
    assert cancel not in starts
    for day, moment in starts.items():
        assert moment.hour == (utc_before if day < change else utc_after), (day, moment)
        assert moment.minute == 0
    assert all(parse(o["end"]) - parse(o["start"]) == timedelta(seconds=1800) for o in found)


def test_overlap_on_the_same_target_is_refused_with_409_naming_the_slot(api: TestClient, stack: Stack) -> None:
    commune = area(api, stack)
    target = station(api, stack, commune["id"])
    at = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(7, 0), tzinfo=HCM)
    first = make_slot(api, stack, "station", target["id"], at, 1800)
    scheduler = stack.headers("scheduler")
    clash = api.post("/api/slots", json=slot_body("station", target["id"], at + timedelta(minutes=15), 900), headers=scheduler)
    assert clash.status_code == 409
    assert f"'{first['name']}' (id {first['id']})" in clash.json()["detail"]
    assert "trùng" in clash.json()["detail"] and "cùng đích" in clash.json()["detail"]
    sunday = api.post(
        "/api/slots",
        json=slot_body("station", target["id"], at + timedelta(minutes=10), 300, rrule="FREQ=WEEKLY;BYDAY=SU"),
        headers=scheduler,
    )
    assert sunday.status_code == 409
    back_to_back = api.post(
        "/api/slots", json=slot_body("station", target["id"], at + timedelta(minutes=30), 900), headers=scheduler
    )
    assert back_to_back.status_code == 201, back_to_back.json()


def test_an_area_slot_and_a_station_slot_inside_it_may_not_overlap(api: TestClient, stack: Stack) -> None:
    commune = area(api, stack)
    inside = station(api, stack, commune["id"])
    elsewhere = station(api, stack, area(api, stack)["id"])
    at = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(8, 0), tzinfo=HCM)
    area_slot = make_slot(api, stack, "area", commune["id"], at, 1800)
    scheduler = stack.headers("scheduler")
    refused = api.post("/api/slots", json=slot_body("station", inside["id"], at + timedelta(minutes=10), 600), headers=scheduler)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert f"'{area_slot['name']}'" in detail and f"địa bàn {commune['name']}" in detail and "chồng lên nhau" in detail
    assert (
        api.post(
            "/api/slots", json=slot_body("station", elsewhere["id"], at + timedelta(minutes=10), 600), headers=scheduler
        ).status_code
        == 201
    )


def test_quiet_hours_refuse_a_0430_slot_and_say_why(api: TestClient, stack: Stack) -> None:
    province = area(api, stack, kind="province", quiet=(time(21, 30), time(5, 30)))
    commune = area(api, stack, parent_id=province["id"])
    target = station(api, stack, commune["id"])
    tomorrow = datetime.now(HCM).date() + timedelta(days=1)
    scheduler = stack.headers("scheduler")
    early = api.post(
        "/api/slots",
        json=slot_body("station", target["id"], datetime.combine(tomorrow, time(4, 30), tzinfo=HCM), 900),
        headers=scheduler,
    )
    assert early.status_code == 409
    detail = early.json()["detail"]
    assert "04:30–04:45 nằm trong giờ yên tĩnh 21:30–05:30" in detail
    assert province["name"] in detail  # the area whose quiet hours apply, inherited by the commune
    late = api.post(
        "/api/slots",
        json=slot_body("area", province["id"], datetime.combine(tomorrow, time(21, 0), tzinfo=HCM), 2700),
        headers=scheduler,
    )
    assert late.status_code == 409 and "21:00–21:45 lấn vào giờ yên tĩnh" in late.json()["detail"]
    assert (
        api.post(
            "/api/slots",
            json=slot_body("station", target["id"], datetime.combine(tomorrow, time(6, 0), tzinfo=HCM), 900),
            headers=scheduler,
        ).status_code
        == 201
    )
    # A slot on the province must also respect a commune's own, stricter quiet hours beneath it.
    strict = area(api, stack, parent_id=province["id"], quiet=(time(20, 0), time(6, 30)))
    dawn = api.post(
        "/api/slots",
        json=slot_body("area", province["id"], datetime.combine(tomorrow, time(6, 0), tzinfo=HCM), 600),
        headers=scheduler,
    )
    assert dawn.status_code == 409 and strict["name"] in dawn.json()["detail"]


def test_an_added_date_that_overlaps_another_slot_is_refused(api: TestClient, stack: Stack) -> None:
    target = station(api, stack, area(api, stack)["id"])
    today = datetime.now(HCM).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    mondays = make_slot(
        api, stack, "station", target["id"], datetime.combine(monday, time(9, 0), tzinfo=HCM), 1800, rrule="FREQ=WEEKLY;BYDAY=MO"
    )
    tuesdays = make_slot(
        api, stack, "station", target["id"], datetime.combine(monday, time(9, 0), tzinfo=HCM), 1800, rrule="FREQ=WEEKLY;BYDAY=TU"
    )
    refused = api.post(
        f"/api/slots/{mondays['id']}/exceptions",
        json={"date": (monday + timedelta(days=1)).isoformat(), "action": "add"},
        headers=stack.headers("scheduler"),
    )
    assert refused.status_code == 409 and f"'{tuesdays['name']}'" in refused.json()["detail"]
    assert api.get(f"/api/slots/{mondays['id']}", headers=stack.headers("scheduler")).json()["rdates"] == []


def test_postgresql_refuses_overlapping_occurrences_in_the_database(api: TestClient, stack: Stack) -> None:
    if stack.name != "services":
        pytest.skip("exclusion constraints are PostgreSQL's; SQLite relies on the service check tested above")
    from broadcast import service
    from broadcast.models import OVERLAP_CONSTRAINT, POSTGRES_DDL, Slot
    from db import session_scope

    with session_scope() as session:
        present = session.scalar(text("SELECT count(*) FROM pg_constraint WHERE conname = :name"), {"name": OVERLAP_CONSTRAINT})
    assert present == 1, f"the migration must create {OVERLAP_CONSTRAINT}: {POSTGRES_DDL}"
    target = station(api, stack, area(api, stack)["id"])
    at = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(10, 0), tzinfo=HCM)
    # An inactive slot is invisible to the service check but its occurrences are still in the table,
    # as a slot being created in a concurrent transaction would be.
    with session_scope() as session:
        hidden = service.create_slot(session, **{k: v for k, v in _typed(slot_body("station", target["id"], at, 1800)).items()})
        service.expand(session, slots=[hidden], horizon_days=3)
        session.get(Slot, hidden.id).active = False
    refused = api.post(
        "/api/slots", json=slot_body("station", target["id"], at + timedelta(minutes=5), 600), headers=stack.headers("scheduler")
    )
    assert refused.status_code == 409
    assert "cơ sở dữ liệu đã từ chối" in refused.json()["detail"]


def _typed(body: Json) -> dict[str, Any]:
    """A slot body as service.create_slot takes it: the JSON fields parsed to dates and times."""
    out = dict(body)
    out["dtstart"] = date.fromisoformat(str(body["dtstart"]))
    out["start_time"] = time.fromisoformat(str(body["start_time"]))
    return out


def test_reads_never_expand_and_the_beat_task_does(api: TestClient, stack: Stack) -> None:
    import worker
    from broadcast import service
    from broadcast.models import Occurrence
    from db import session_scope

    target = station(api, stack, area(api, stack)["id"])
    at = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(11, 0), tzinfo=HCM)
    with session_scope() as session:
        slot_id = service.create_slot(session, **_typed(slot_body("station", target["id"], at, 600))).id

    def count() -> int:
        with session_scope() as session:
            return int(session.scalar(select(func.count()).select_from(Occurrence).where(Occurrence.slot_id == slot_id)) or 0)

    token = {"Authorization": f"Bearer {target['token']}"}
    assert occurrences(api, stack, slot_id) == []
    assert api.get(f"/api/airings?station_id={target['id']}", headers=stack.headers("scheduler")).json() == []
    assert api.get(f"/stations/{target['id']}/schedule.json", headers=token).json()["items"] == []
    assert count() == 0
    worker.celery_app.send_task("broadcast.expand_occurrences")
    deadline = clock.monotonic() + 60
    while count() == 0 and clock.monotonic() < deadline:
        clock.sleep(0.25)
    from settings import get_settings

    horizon = get_settings().schedule_horizon_days
    assert horizon - 1 <= count() <= horizon + 1  # one a day up to the horizon
