"""Station pulls answered from memory: never another station's answer, changes at the next poll, 304s, expiry, one query."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.broadcast.conftest import Bulletin, make_bulletins, occurrences
from tests.broadcast.test_station_api import Network, make_network, schedule
from tests.conftest import Stack
from tests.helpers import Json, counted


@pytest.fixture
def network(api: TestClient, stack: Stack, bulletins: list[Bulletin]) -> Network:
    """A fresh network whose slots are filled with this module's bulletins."""
    return make_network(api, stack)


@contextmanager
def revalidate_after(seconds: float) -> Iterator[None]:
    """Station answers trusted from memory this long between database checks."""
    from settings import get_settings

    os.environ["LAWCAST_STATION_REVALIDATE_S"] = str(seconds)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.pop("LAWCAST_STATION_REVALIDATE_S", None)
        get_settings.cache_clear()


def ids(response) -> list[int]:
    return [int(item["airing_id"]) for item in response.json()["items"]]


def test_the_one_query_finds_what_reaches_each_station(
    api: TestClient, stack: Stack, network: Network, bulletins: list[Bulletin]
) -> None:
    from broadcast import reach
    from broadcast import service as broadcast_service
    from broadcast.models import Station
    from db import session_scope

    # A pin of its own for B, an emergency for the province (A and B), a withdrawn airing: every path a row can take.
    occurrence = occurrences(api, stack, _slot_of(api, stack, network.b))[0]
    pinned = api.post(
        "/api/schedule/pins",
        json={"occurrence_id": occurrence["id"], "production_id": bulletins[1].production_id},
        headers=stack.headers("scheduler"),
    )
    assert pinned.status_code == 201, pinned.json()
    alert = api.post(
        "/api/emergency",
        json={"production_id": bulletins[3].production_id, "area_id": network.province["id"]},
        headers=stack.headers("scheduler"),
    ).json()
    start, end = datetime.now(UTC) - timedelta(minutes=10), network.at + timedelta(hours=2)
    found = {}
    with session_scope() as session:
        for who in (network.a, network.b, network.outside):
            station = session.get(Station, who["id"])
            assert station is not None
            area_ids = broadcast_service.ancestor_ids(broadcast_service.get_area(session, station.area_id))
            rows = reach.station_schedule(session, station_id=station.id, area_ids=area_ids, start=start, end=end)
            placed = reach.for_station(session, station, start=start, end=end)
            assert [(r.airing_id, r.occurrence_id, r.slot_end, r.overrun, r.priority, r.start, r.end) for r in rows] == [
                (p.airing.id, p.occurrence_id, p.slot_end, p.overrun, p.airing.priority, p.airing.start, p.airing.end)
                for p in placed
            ]
            outputs = {p.airing.id: p.airing.output_id for p in placed}
            by_output = {b.output_id: b for b in bulletins}
            for row in rows:
                if outputs[row.airing_id] in by_output:
                    known = by_output[outputs[row.airing_id]]
                    assert (row.sha256, row.bytes, row.title) == (known.sha256, known.bytes, known.title)
            found[who["id"]] = [r.airing_id for r in rows]
    assert found[network.a["id"]][0] == alert["id"] == found[network.b["id"]][0]
    assert alert["id"] not in found[network.outside["id"]]
    assert pinned.json()["id"] in found[network.b["id"]] and pinned.json()["id"] not in found[network.a["id"]]


def _slot_of(api: TestClient, stack: Stack, who: Json) -> int:
    airings = api.get("/api/airings", params={"station_id": who["id"]}, headers=stack.headers("scheduler")).json()
    return int(next(a["slot_id"] for a in airings if a["slot_id"]))


def test_a_warm_cache_never_answers_with_another_stations_schedule(
    api: TestClient, stack: Stack, network: Network, bulletins: list[Bulletin]
) -> None:
    a, b = network.a, network.b
    occurrence = occurrences(api, stack, _slot_of(api, stack, b))[0]
    pinned = api.post(
        "/api/schedule/pins",
        json={"occurrence_id": occurrence["id"], "production_id": bulletins[2].production_id},
        headers=stack.headers("scheduler"),
    ).json()
    with revalidate_after(600):
        mine, theirs = schedule(api, network, a), schedule(api, network, b)
        assert pinned["id"] in ids(theirs) and pinned["id"] not in ids(mine)
        assert mine.json()["station_id"] == a["id"] and theirs.json()["station_id"] == b["id"]
        for path in ("playlist.m3u", "feed.rss"):  # every format has its own entry
            api.get(f"/stations/{a['id']}/{path}", headers=network.token(a))
        with counted() as statements:
            again = schedule(api, network, a)
            assert (
                api.get(f"/stations/{a['id']}/schedule.json", headers={"Authorization": f"bearer  {a['token']}"}).content
                == mine.content
            )
            assert schedule(api, network, a, mine.headers["etag"]).status_code == 304
            playlist = api.get(f"/stations/{a['id']}/playlist.m3u", headers=network.token(a))
        assert statements == []  # all from memory
        assert again.content == mine.content
        assert playlist.text.startswith("#EXTM3U") and len(playlist.text.splitlines()) == 1 + 2 * len(ids(mine))

        with counted() as statements:
            crossed = api.get(f"/stations/{b['id']}/schedule.json", headers=network.token(a))
            crossed_304 = api.get(
                f"/stations/{b['id']}/schedule.json", headers=network.token(a) | {"If-None-Match": theirs.headers["etag"]}
            )
            crossed_feed = api.get(f"/stations/{b['id']}/feed.rss", headers=network.token(a))
        assert statements  # a token the entry was not validated with goes to the database
        for response in (crossed, crossed_304, crossed_feed):
            assert response.status_code == 403 and str(pinned["id"]) not in response.text and "etag" not in response.headers
        assert (
            api.get(f"/stations/{a['id']}/schedule.json", headers={"Authorization": "Bearer lc_not-a-station"}).status_code == 401
        )
        assert api.get(f"/stations/{a['id']}/schedule.json").status_code == 401
        assert api.get(f"/stations/{a['id']}/schedule.json", headers=stack.headers("scheduler")).status_code == 401
        # The other station's ETag is not this station's: its own token gets its own full answer.
        own_answer = api.get(
            f"/stations/{b['id']}/schedule.json", headers=network.token(b) | {"If-None-Match": mine.headers["etag"]}
        )
        assert own_answer.status_code == 200 and own_answer.content == theirs.content
        assert mine.headers["etag"] != theirs.headers["etag"]


def test_an_emergency_and_a_withdrawal_show_at_the_next_poll_from_a_warm_cache(
    api: TestClient, stack: Stack, network: Network, bulletins: list[Bulletin]
) -> None:
    with revalidate_after(600):  # only this process's commits can show: they invalidate at once
        before = {who["id"]: schedule(api, network, who) for who in (network.a, network.b, network.outside)}
        alert = api.post(
            "/api/emergency",
            json={"production_id": bulletins[3].production_id, "area_id": network.province["id"]},
            headers=stack.headers("scheduler"),
        )
        assert alert.status_code == 201, alert.json()
        for who in (network.a, network.b):
            polled = schedule(api, network, who, before[who["id"]].headers["etag"])
            assert polled.status_code == 200 and ids(polled)[0] == alert.json()["id"]
            assert polled.json()["items"][0]["priority"] == "emergency"
        outside = schedule(api, network, network.outside, before[network.outside["id"]].headers["etag"])
        assert outside.status_code == 304
        [gone] = make_bulletins(api, stack, "rút khi đã trong bộ nhớ", [["Bản tin này sẽ bị rút."]])
        occurrence = occurrences(api, stack, _slot_of(api, stack, network.a))[0]
        pinned = api.post(
            "/api/schedule/pins",
            json={"occurrence_id": occurrence["id"], "production_id": gone.production_id},
            headers=stack.headers("scheduler"),
        ).json()
        current = schedule(api, network, network.a)
        assert pinned["id"] in ids(current)
        withdrawn = api.post(
            f"/api/productions/{gone.production_id}/transitions", json={"action": "withdraw"}, headers=stack.headers("producer")
        )
        assert withdrawn.status_code == 200, withdrawn.json()
        after = schedule(api, network, network.a, current.headers["etag"])
        assert after.status_code == 200 and pinned["id"] not in ids(after)
        assert gone.production_id not in [i["production_id"] for i in after.json()["items"]]


def test_a_change_made_elsewhere_shows_at_the_next_poll_once_revalidation_is_due(api: TestClient, network: Network) -> None:
    from db import get_engine

    first = schedule(api, network, network.a)
    item = first.json()["items"][0]
    engine = get_engine()
    raw = engine.raw_connection()  # outside SQLAlchemy's execution, as another process's write would be
    try:
        cursor = raw.cursor()
        marker = "?" if engine.dialect.name == "sqlite" else "%s"
        cursor.execute(f"UPDATE airings SET status = 'withdrawn' WHERE id = {marker}", (item["airing_id"],))
        raw.commit()
    finally:
        raw.close()
    with revalidate_after(600):
        stale = schedule(api, network, network.a, first.headers["etag"])
        assert stale.status_code == 304  # trusted from memory: this process saw no commit
    with revalidate_after(0):
        fresh = schedule(api, network, network.a, first.headers["etag"])
        assert fresh.status_code == 200 and item["airing_id"] not in ids(fresh)


def test_answers_from_memory_equal_answers_from_the_route(api: TestClient, network: Network) -> None:
    url = f"/stations/{network.a['id']}/schedule.json"
    auth = network.token(network.a)
    etag = api.get(url, headers=auth).headers["etag"]
    keep = ("etag", "cache-control", "vary", "content-type", "content-length", "content-encoding")
    requests = [
        ("GET", url, {"Accept-Encoding": "identity"}),
        ("GET", url, {"Accept-Encoding": "gzip"}),
        ("HEAD", url, {"Accept-Encoding": "identity"}),
        ("GET", url, {"If-None-Match": etag}),
        ("GET", url, {"If-None-Match": f'W/{etag}, "other"'}),
        ("GET", url + "?hours=24", {"Accept-Encoding": "identity"}),
        ("GET", url.replace("schedule.json", "playlist.m3u"), {}),
    ]

    def answers() -> list[tuple[int, dict[str, str], bytes]]:
        out = []
        for method, path, headers in requests:
            r = api.request(method, path, headers=auth | headers)
            out.append((r.status_code, {k: v for k, v in r.headers.items() if k in keep}, r.content))
        return out

    with revalidate_after(0):
        routed = answers()
    with revalidate_after(600), counted() as statements:
        answers()
        statements.clear()
        fast = answers()
    assert statements == []
    assert fast == routed
    assert [status for status, _, _ in fast] == [200, 200, 200, 304, 304, 200, 200]
    assert fast[1][1]["content-encoding"] == "gzip" and fast[0][1]["cache-control"] == "private, max-age=0"
    assert fast[2][2] == b"" and fast[2][1]["content-length"] == fast[0][1]["content-length"]


def test_an_answer_whose_items_have_left_the_window_is_not_served(api: TestClient, network: Network) -> None:
    import auth
    from assets.http import Representation
    from broadcast import pull, station_cache

    url = f"/stations/{network.a['id']}/schedule.json"
    real = api.get(url, headers=network.token(network.a))
    key = pull.cache_key(int(network.a["id"]), "schedule.json", pull.DEFAULT_HOURS)
    old = Representation.of(b'{"items": ["ended"]}', media_type="application/json", last_modified=None)
    token_hash = auth.hash_token(str(network.a["token"]))
    try:
        with revalidate_after(600):
            station_cache.pull_cache.get_or_build(
                key, "ended", lambda: station_cache.Pull(old, int(network.a["id"]), token_hash, 0.0)
            )
            with counted() as statements:
                answered = api.get(url, headers=network.token(network.a))
            assert statements and answered.content == real.content
            station_cache.pull_cache.get_or_build(
                key, "later", lambda: station_cache.Pull(old, int(network.a["id"]), token_hash, float("inf"))
            )
            assert api.get(url, headers=network.token(network.a)).content == old.body  # not expired: served from memory
    finally:
        pull.expire_all()


def test_an_entry_expires_when_its_first_item_leaves_the_look_behind() -> None:
    from broadcast import pull, reach

    at = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)

    def row(start_min: int, end_min: int, slot_end_min: int) -> reach.ScheduleRow:
        return reach.ScheduleRow(
            1,
            at + timedelta(minutes=start_min),
            at + timedelta(minutes=end_min),
            "normal",
            "",
            1,
            "t",
            "k",
            "s",
            1,
            1.0,
            None,
            at + timedelta(minutes=slot_end_min),
            "cut",
        )

    assert pull.leaves_at([]) == float("inf")
    assert pull.leaves_at([row(0, 3, 30), row(3, 5, 30)]) == (at + timedelta(minutes=3) + pull.BEHIND).timestamp()
    # A cut item leaves with its slot when the slot ends first; a very long one within MAX_SLOT of its start.
    assert pull.leaves_at([row(0, 40, 30)]) == (at + timedelta(minutes=30) + pull.BEHIND).timestamp()
    assert pull.leaves_at([row(0, 600, 700)]) == (at + reach.MAX_SLOT + pull.BEHIND).timestamp()


def test_polls_keep_the_cache_and_schedule_writes_invalidate_it_at_their_commit(api: TestClient, network: Network) -> None:
    from broadcast import station_cache
    from broadcast.models import Station
    from broadcast.station_cache import schedule_changed
    from db import session_scope

    generation = station_cache.pull_cache.generation
    schedule(api, network, network.a)  # may record last-seen: that keeps the cache
    with session_scope() as session:
        station = session.get(Station, network.a["id"])
        assert station is not None
        station.last_seen_at = datetime.now(UTC) - timedelta(hours=1)
    assert station_cache.pull_cache.generation == generation
    with pytest.raises(RuntimeError), session_scope() as session:
        schedule_changed(session)
        raise RuntimeError("rolled back")
    assert station_cache.pull_cache.generation == generation  # nothing was committed
    with session_scope() as session:
        station = session.get(Station, network.a["id"])
        assert station is not None
        station.name = f"{station.name} (đổi tên)"
        schedule_changed(session)
        schedule_changed(session)  # once per session is enough; twice is harmless
        session.flush()
        assert station_cache.pull_cache.generation == generation  # not before the commit
    assert station_cache.pull_cache.generation == generation + 1
    feed = api.get(f"/stations/{network.a['id']}/feed.rss", headers=network.token(network.a))
    assert "(đổi tên)" in feed.text


def test_a_rotated_token_is_refused_at_once_even_from_a_warm_cache(api: TestClient, stack: Stack, network: Network) -> None:
    old = network.token(network.a)
    url = f"/stations/{network.a['id']}/schedule.json"
    with revalidate_after(600):
        assert api.get(url, headers=old).status_code == 200
        assert api.get(url, headers=old).status_code == 200  # now from memory
        rotated = api.post(f"/api/stations/{network.a['id']}/token", headers=stack.headers("scheduler"))
        assert rotated.status_code == 200, rotated.json()
        assert api.get(url, headers=old).status_code == 401
        assert api.get(url, headers={"Authorization": f"Bearer {rotated.json()['token']}"}).status_code == 200


def test_a_poll_does_not_wait_for_sqlites_write_lock(api: TestClient, stack: Stack, network: Network) -> None:
    if not stack.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    from broadcast.models import Station
    from db import session_scope

    with session_scope() as session:
        station = session.get(Station, network.a["id"])
        assert station is not None and station.last_seen_at is None
    writer = sqlite3.connect(stack.database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    released = threading.Event()

    def release() -> None:
        writer.execute("ROLLBACK")
        released.set()

    writer.execute("BEGIN IMMEDIATE")  # as a long fill holds it
    # Let go far later than any poll takes: a poll that waited for the lock would end after this.
    timer = threading.Timer(20, release)
    timer.start()
    try:
        polled = schedule(api, network, network.a)
        assert polled.status_code == 200 and polled.json()["items"]
        assert not released.is_set()
    finally:
        timer.cancel()
        if not released.is_set():
            release()
        writer.close()
    with session_scope() as session:
        assert session.get(Station, network.a["id"]).last_seen_at is None
    with revalidate_after(0):  # from memory, a poll records nothing; checked, it records last-seen
        schedule(api, network, network.a)
    with session_scope() as session:
        seen = session.get(Station, network.a["id"]).last_seen_at
    assert seen is not None and seen > datetime.now(UTC) - timedelta(minutes=5)


def test_the_server_database_pool_outlasts_the_worker_threads(stack: Stack) -> None:
    from sqlalchemy.pool import QueuePool

    import db

    pool = db.get_engine().pool
    assert isinstance(pool, QueuePool)
    if stack.database_url.startswith("sqlite"):
        assert pool._max_overflow < 0  # unbounded
        return
    # Every thread that can hold a connection at once (sync endpoints, plus station pulls) gets one without waiting.
    assert pool.size() + pool._max_overflow >= db.THREAD_LIMIT + 4
