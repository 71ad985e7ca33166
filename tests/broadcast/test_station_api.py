"""Station pull over HTTP: schedule, feed and playlist with ETags, token isolation, emergencies, repeal, plays, as-run, coverage."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.broadcast.conftest import (
    HCM,
    Bulletin,
    area,
    fill,
    make_bulletins,
    make_slot,
    occurrences,
    parse,
    station,
)
from tests.conftest import Stack
from tests.helpers import Json

_minutes = itertools.count(0, 3)
ITEM_KEYS = {"airing_id", "start", "end", "priority", "media_url", "sha256", "bytes", "duration_s"}


@pytest.fixture(autouse=True)
def revalidate_every_poll() -> Iterator[None]:
    """Station answers are checked against the database at every poll, so changes made anywhere show at once."""
    from settings import get_settings

    os.environ["LAWCAST_STATION_REVALIDATE_S"] = "0"
    get_settings.cache_clear()
    yield
    os.environ.pop("LAWCAST_STATION_REVALIDATE_S", None)
    get_settings.cache_clear()


@dataclass
class Network:
    """A province with two communes (one station each) and a station in another province, each with a filled slot."""

    province: Json
    a: Json
    b: Json
    outside: Json
    at: datetime

    def token(self, which: Json) -> dict[str, str]:
        return {"Authorization": f"Bearer {which['token']}"}


@pytest.fixture
def network(api: TestClient, stack: Stack, bulletins: list[Bulletin]) -> Network:
    """A fresh network whose slots are filled with this module's bulletins."""
    return make_network(api, stack)


def make_network(api: TestClient, stack: Stack) -> Network:
    """Two communes of a new province with a station each, a station in another province, each with a filled slot."""
    province = area(api, stack, kind="province")
    a = station(api, stack, area(api, stack, parent_id=province["id"])["id"])
    b = station(api, stack, area(api, stack, parent_id=province["id"])["id"])
    outside = station(api, stack, area(api, stack, kind="province")["id"])
    # Each test gets its own minute tomorrow morning, so fills of one test never touch another's.
    at = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(9, 0), tzinfo=HCM) + timedelta(
        minutes=next(_minutes)
    )
    for target in (a, b, outside):
        make_slot(api, stack, "station", target["id"], at, 60, rrule="FREQ=DAILY;COUNT=1")
    fill(api, stack, at.astimezone(UTC), at.astimezone(UTC) + timedelta(seconds=1), freshness_days=0)
    return Network(province, a, b, outside, at.astimezone(UTC))


def schedule(api: TestClient, net: Network, who: Json, etag: str | None = None):
    headers = net.token(who) | ({"If-None-Match": etag} if etag else {})
    return api.get(f"/stations/{who['id']}/schedule.json", headers=headers)


def test_schedule_feed_and_playlist_carry_media_and_answer_304(
    api: TestClient, stack: Stack, network: Network, bulletins: list[Bulletin]
) -> None:
    response = schedule(api, network, network.a)
    assert response.status_code == 200
    items = response.json()["items"]
    assert items and all(set(item) >= ITEM_KEYS for item in items)
    by_sha = {b.sha256: b for b in bulletins}
    for item in items:
        assert network.at <= parse(item["start"]) < parse(item["end"]) <= network.at + timedelta(seconds=60)
        assert item["priority"] == "normal" and item["overrun"] == "cut"
        if item["sha256"] in by_sha:
            known = by_sha[item["sha256"]]
            assert (item["bytes"], item["duration_s"]) == (known.bytes, round(known.duration_s, 3))
            assert item["media_url"].endswith(f"/media/{known.media_key}")
        media = api.get("/media/" + item["media_url"].split("/media/", 1)[1], headers=network.token(network.a))
        assert media.status_code == 200 and hashlib.sha256(media.content).hexdigest() == item["sha256"]
        assert len(media.content) == item["bytes"]
    etag = response.headers["etag"]
    again = schedule(api, network, network.a, etag)
    assert again.status_code == 304 and again.content == b""
    head = api.head(f"/stations/{network.a['id']}/schedule.json", headers=network.token(network.a))
    assert head.status_code == 200 and head.headers["etag"] == etag

    feed = api.get(f"/stations/{network.a['id']}/feed.rss", headers=network.token(network.a))
    assert feed.status_code == 200
    parsed = feedparser.parse(feed.content)
    assert sorted(e.id for e in parsed.entries) == sorted(f"lawcast-airing-{i['airing_id']}" for i in items)
    assert sorted(e.enclosures[0].href for e in parsed.entries) == sorted(i["media_url"] for i in items)
    assert (
        api.get(
            f"/stations/{network.a['id']}/feed.rss", headers=network.token(network.a) | {"If-None-Match": feed.headers["etag"]}
        ).status_code
        == 304
    )

    playlist = api.get(f"/stations/{network.a['id']}/playlist.m3u", headers=network.token(network.a))
    lines = playlist.text.splitlines()
    assert lines[0] == "#EXTM3U" and len(lines) == 1 + 2 * len(items)
    for item, info, url in zip(items, lines[1::2], lines[2::2], strict=True):
        assert info.startswith(f"#EXTINF:{round(item['duration_s'])},")
        assert url == item["media_url"]


def test_a_station_token_never_opens_another_stations_schedule(api: TestClient, stack: Stack, network: Network) -> None:
    theirs = schedule(api, network, network.b).json()["items"]
    assert theirs
    for path in ("schedule.json", "feed.rss", "playlist.m3u"):
        response = api.get(f"/stations/{network.b['id']}/{path}", headers=network.token(network.a))
        assert response.status_code == 403, path
        assert "trạm khác" in response.json()["detail"]
        assert all(str(item["airing_id"]) not in response.text for item in theirs)
    posted = api.post(f"/stations/{network.b['id']}/plays", json={"plays": []}, headers=network.token(network.a))
    assert posted.status_code == 403
    assert api.get(f"/stations/{network.b['id']}/schedule.json").status_code == 401
    assert api.get(f"/stations/{network.b['id']}/schedule.json", headers=stack.headers("scheduler")).status_code == 401
    assert api.get("/stations/me", headers=network.token(network.a)).json()["id"] == network.a["id"]


def test_a_rotated_station_token_replaces_the_old_one_at_once(api: TestClient, stack: Stack, network: Network) -> None:
    made = api.post(
        "/api/stations", json={"area_id": network.province["id"], "name": "Trạm đổi mã"}, headers=stack.headers("scheduler")
    )
    assert made.status_code == 201, made.json()
    station, old = made.json(), {"Authorization": f"Bearer {made.json()['token']}"}
    url = f"/stations/{station['id']}/schedule.json"
    assert api.get(url, headers=old).status_code == 200
    assert api.post(f"/api/stations/{station['id']}/token", headers=stack.headers("editor")).status_code == 403
    rotated = api.post(f"/api/stations/{station['id']}/token", headers=stack.headers("scheduler"))
    assert rotated.status_code == 200 and rotated.json()["token"] not in (None, made.json()["token"])
    assert api.get(url, headers=old).status_code == 401
    assert api.get(url, headers={"Authorization": f"Bearer {rotated.json()['token']}"}).status_code == 200
    assert api.get(f"/api/stations/{station['id']}", headers=stack.headers("scheduler")).json().get("token") is None
    assert api.post("/api/stations/999999/token", headers=stack.headers("scheduler")).status_code == 404


def test_emergency_heads_every_affected_schedule_at_the_next_poll(
    api: TestClient, stack: Stack, network: Network, bulletins: list[Bulletin]
) -> None:
    before = {
        key: schedule(api, network, who).headers["etag"]
        for key, who in (("a", network.a), ("b", network.b), ("out", network.outside))
    }
    alert = bulletins[3]
    posted = api.post(
        "/api/emergency",
        json={"production_id": alert.production_id, "area_id": network.province["id"]},
        headers=stack.headers("scheduler"),
    )
    assert posted.status_code == 201, posted.json()
    assert posted.json()["priority"] == "emergency" and "Khẩn cấp" in posted.json()["reason"]
    for key, who in (("a", network.a), ("b", network.b)):
        response = schedule(api, network, who, before[key])
        assert response.status_code == 200  # the ETag changed
        head = response.json()["items"][0]
        assert (head["airing_id"], head["priority"], head["sha256"]) == (posted.json()["id"], "emergency", alert.sha256)
        assert head["overrun"] == "finish"
    assert schedule(api, network, network.outside, before["out"]).status_code == 304  # outside the area: unchanged


def test_repealing_the_source_withdraws_future_airings_and_changes_the_etag(
    api: TestClient, stack: Stack, network: Network
) -> None:
    [repealed] = make_bulletins(api, stack, "bãi bỏ", [["Nội dung sẽ bị bãi bỏ."]])
    occurrence = occurrences(api, stack, _slot_of(api, stack, network.a))[0]
    pinned = api.post(
        "/api/schedule/pins",
        json={"occurrence_id": occurrence["id"], "production_id": repealed.production_id},
        headers=stack.headers("scheduler"),
    )
    assert pinned.status_code == 201, pinned.json()
    first = schedule(api, network, network.a)
    assert pinned.json()["id"] in [i["airing_id"] for i in first.json()["items"]]
    document_id = api.get(f"/api/productions/{repealed.production_id}", headers=stack.headers("editor")).json()["document_id"]
    changed = api.post(
        f"/api/documents/{document_id}/status", json={"status": "repealed"}, headers=stack.headers("legal_reviewer")
    )
    assert changed.status_code == 200, changed.json()
    after = schedule(api, network, network.a, first.headers["etag"])
    assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
    assert pinned.json()["id"] not in [i["airing_id"] for i in after.json()["items"]]
    listed = api.get(
        "/api/airings", params={"station_id": network.a["id"], "include_withdrawn": "true"}, headers=stack.headers("scheduler")
    )
    assert {a["id"]: a["status"] for a in listed.json()}[pinned.json()["id"]] == "withdrawn"
    refill = fill(api, stack, network.at, network.at + timedelta(seconds=1), freshness_days=0)
    assert refill["occurrences"] >= 3
    assert all(i["production_id"] != repealed.production_id for i in schedule(api, network, network.a).json()["items"])


def test_withdrawing_a_production_takes_it_off_every_station_at_the_next_poll(
    api: TestClient, stack: Stack, network: Network
) -> None:
    [gone] = make_bulletins(api, stack, "rút", [["Bản tin này sẽ bị rút."]])
    occurrence = occurrences(api, stack, _slot_of(api, stack, network.a))[0]
    pinned = api.post(
        "/api/schedule/pins",
        json={"occurrence_id": occurrence["id"], "production_id": gone.production_id},
        headers=stack.headers("scheduler"),
    ).json()
    alert = api.post(
        "/api/emergency",
        json={"production_id": gone.production_id, "area_id": network.province["id"]},
        headers=stack.headers("scheduler"),
    ).json()
    before = {}
    for who in (network.a, network.b):
        response = schedule(api, network, who)
        before[who["id"]] = response.headers["etag"]
        assert alert["id"] in [i["airing_id"] for i in response.json()["items"]]
    assert pinned["id"] in [i["airing_id"] for i in schedule(api, network, network.a).json()["items"]]
    withdrawn = api.post(
        f"/api/productions/{gone.production_id}/transitions",
        json={"action": "withdraw", "comment": "sai nội dung"},
        headers=stack.headers("producer"),
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    for who in (network.a, network.b):
        response = schedule(api, network, who, before[who["id"]])
        assert response.status_code == 200
        assert gone.production_id not in [i["production_id"] for i in response.json()["items"]]


def test_cancelling_a_planned_date_takes_it_off_that_station_only(api: TestClient, stack: Stack, network: Network) -> None:
    first = schedule(api, network, network.a)
    shared = {i["airing_id"] for i in first.json()["items"]}
    assert shared and shared == {i["airing_id"] for i in schedule(api, network, network.b).json()["items"]}
    slot_id = _slot_of(api, stack, network.a)
    day = network.at.astimezone(HCM).date()
    cancelled = api.post(
        f"/api/slots/{slot_id}/exceptions", json={"date": day.isoformat(), "action": "cancel"}, headers=stack.headers("scheduler")
    )
    assert cancelled.status_code == 200
    after = schedule(api, network, network.a, first.headers["etag"])
    assert after.status_code == 200 and after.json()["items"] == []
    assert {i["airing_id"] for i in schedule(api, network, network.b).json()["items"]} == shared  # B keeps the same airings


def _slot_of(api: TestClient, stack: Stack, who: Json) -> int:
    airings = api.get("/api/airings", params={"station_id": who["id"]}, headers=stack.headers("scheduler")).json()
    return int(next(a["slot_id"] for a in airings if a["slot_id"]))


def test_plays_are_recorded_once_and_heartbeats_update_the_station(
    api: TestClient, stack: Stack, network: Network, bulletins: list[Bulletin]
) -> None:
    from broadcast.models import PlayReport
    from db import session_scope

    mine = schedule(api, network, network.a).json()["items"][0]
    # Identical stations share airings; a pin gives station B one of its own.
    occurrence = occurrences(api, stack, _slot_of(api, stack, network.b))[0]
    theirs = api.post(
        "/api/schedule/pins",
        json={"occurrence_id": occurrence["id"], "production_id": bulletins[0].production_id},
        headers=stack.headers("scheduler"),
    ).json()
    assert theirs["id"] in [i["airing_id"] for i in schedule(api, network, network.b).json()["items"]]
    assert theirs["id"] not in [i["airing_id"] for i in schedule(api, network, network.a).json()["items"]]
    theirs["airing_id"] = theirs["id"]
    report = {"airing_id": mine["airing_id"], "played_at": mine["start"], "duration_s": mine["duration_s"]}
    url = f"/stations/{network.a['id']}/plays"
    first = api.post(
        url,
        json={"plays": [report, report], "heartbeat": {"cached_items": 3, "disk_free_mb": 512}},
        headers=network.token(network.a),
    )
    assert first.status_code == 200 and first.json() == {"stored": 1, "duplicates": 1, "rejected": []}
    again = api.post(
        url, json={"plays": [report, {**report, "airing_id": theirs["airing_id"]}]}, headers=network.token(network.a)
    )
    assert again.json() == {"stored": 0, "duplicates": 1, "rejected": [theirs["airing_id"]]}
    with session_scope() as session:
        rows = session.scalar(select(func.count()).select_from(PlayReport).where(PlayReport.station_id == network.a["id"]))
        foreign = session.scalar(select(func.count()).select_from(PlayReport).where(PlayReport.airing_id == theirs["airing_id"]))
    assert (rows, foreign) == (1, 0)
    seen = api.get(f"/api/stations/{network.a['id']}", headers=stack.headers("scheduler")).json()
    assert seen["status"]["cached_items"] == 3 and seen["status"]["disk_free_mb"] == 512
    assert seen["token"] is None  # shown once, at creation
    assert parse(seen["last_seen_at"]) > datetime.now(UTC) - timedelta(minutes=5)


def test_asrun_log_keeps_the_title_it_aired_under_and_coverage_comes_as_json_and_csv(
    api: TestClient, stack: Stack, network: Network
) -> None:
    from db import session_scope
    from studio.models import Production

    items = schedule(api, network, network.a).json()["items"]
    aired = items[0]
    played_at = parse(aired["start"]) + timedelta(seconds=2)
    stored = api.post(
        f"/stations/{network.a['id']}/plays",
        json={
            "plays": [
                {"airing_id": aired["airing_id"], "played_at": played_at.isoformat(), "duration_s": aired["duration_s"]},
            ]
        },
        headers=network.token(network.a),
    )
    assert stored.json()["stored"] == 1
    with session_scope() as session:
        production = session.get(Production, aired["production_id"])
        old_title = production.title
        production.title = "Tên đã sửa sau khi phát"
    window = {"start": (network.at - timedelta(hours=1)).isoformat(), "end": (network.at + timedelta(hours=1)).isoformat()}
    log = api.get(
        "/api/reports/asrun", params={**window, "station_id": network.a["id"]}, headers=stack.headers("scheduler")
    ).json()["rows"]
    assert [(r["airing_id"], r["production_title"], r["script_version"]) for r in log] == [(aired["airing_id"], old_title, 2)]
    assert parse(log[0]["scheduled_start"]) == parse(aired["start"]) and parse(log[0]["played_at"]) == played_at

    params = {**window, "area_id": network.province["id"]}
    report = api.get("/api/reports/coverage", params=params, headers=stack.headers("scheduler"))
    assert report.status_code == 200
    rows = report.json()["rows"]
    a_rows = {r["production_id"]: r for r in rows if r["station_id"] == network.a["id"]}
    expected_a: dict[int, int] = {}
    for item in items:
        expected_a[item["production_id"]] = expected_a.get(item["production_id"], 0) + 1
    assert {p: r["scheduled"] for p, r in a_rows.items()} == expected_a
    assert a_rows[aired["production_id"]]["aired"] == 1
    assert all(r["aired"] == 0 and r["missing"] == r["scheduled"] for p, r in a_rows.items() if p != aired["production_id"])
    assert {r["station_id"] for r in rows} == {network.a["id"], network.b["id"]}  # the outside station is not in the area
    assert a_rows[aired["production_id"]]["production"] == "Tên đã sửa sau khi phát"  # coverage names productions as they are now
    by_area = {r["area_id"]: r for r in report.json()["by_area"]}
    assert by_area[network.a["area_id"]]["aired"] == 1
    csv_report = api.get("/api/reports/coverage", params={**params, "format": "csv"}, headers=stack.headers("scheduler"))
    assert csv_report.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(csv_report.text)))
    assert [{k: str(v) for k, v in r.items()} for r in rows] == parsed
