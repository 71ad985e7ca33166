"""Outages answer like a service: a JSON 503 with Retry-After, and station pulls and feeds keep their last answer, marked stale.

The database is made unreachable for this process through SQLAlchemy itself: the pool is emptied and every
new connection is refused with the driver's own OperationalError (a `do_connect` hook), as after a server
restart. On the PostgreSQL tier one test stops the real server with pg_ctlcluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc

from tests.broadcast.conftest import HCM, TINY_LAW, act, area, fill, make_bulletins, make_slot, station, unique
from tests.conftest import Stack

STALE_WINDOW_S = 2.0


@contextmanager
def settings_env(**values: str) -> Iterator[None]:
    """LAWCAST_ settings changed for the block (no engine is reset), restored afterwards."""
    from settings import get_settings

    saved = {key: os.environ.get(f"LAWCAST_{key.upper()}") for key in values}
    os.environ.update({f"LAWCAST_{key.upper()}": value for key, value in values.items()})
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(f"LAWCAST_{key.upper()}", None)
            else:
                os.environ[f"LAWCAST_{key.upper()}"] = value
        get_settings.cache_clear()


@contextmanager
def database_down() -> Iterator[None]:
    """Every connection this process has to the database is gone, and new ones are refused, until the block ends."""
    import db

    engine = db.get_engine()
    dbapi = engine.dialect.loaded_dbapi

    def refuse(*_: Any) -> None:
        raise dbapi.OperationalError("could not connect to server: Connection refused (test: database stopped)")

    event.listen(engine, "do_connect", refuse)
    engine.dispose()  # pooled connections go, as when the server restarts
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


@dataclass(frozen=True)
class World:
    """A station with a filled slot, and a channel whose feeds can be read."""

    station_id: int
    token: str
    channel: str
    production_ids: list[int]

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[TestClient]:
    """One API client for the module."""
    from app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture(scope="module")
def world(api: TestClient, stack: Stack) -> Iterator[World]:
    """A station whose schedule holds a rendered bulletin, and a podcast channel; productions withdrawn afterwards."""
    (bulletin,) = make_bulletins(api, stack, "outages", scripts=[["Bản tin thử khi cơ sở dữ liệu gián đoạn."]])
    made = station(api, stack, area(api, stack, kind="province")["id"])
    at = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), clock(15, 30), tzinfo=HCM)
    make_slot(api, stack, "station", int(made["id"]), at, 60, rrule="FREQ=DAILY;COUNT=1")
    fill(api, stack, at.astimezone(UTC), at.astimezone(UTC) + timedelta(seconds=1), freshness_days=0)
    slug = unique("outage").lower().replace(" ", "-").replace(".", "-")
    channel = api.post(
        "/api/channels", json={"slug": slug, "name": "Kênh thử gián đoạn", "kind": "podcast"}, headers=stack.headers("scheduler")
    )
    assert channel.status_code == 201, channel.json()
    ids = [bulletin.production_id]
    yield World(int(made["id"]), str(made["token"]), slug, ids)
    for production_id in ids:
        current = api.get(f"/api/productions/{production_id}", headers=stack.headers("producer")).json()
        if current["status"] in ("approved", "published", "legally_approved", "in_review"):
            act(api, stack, production_id, "withdraw", "producer")


def assert_503(response: Any, detail_gloss: str = "database unavailable") -> None:
    """A JSON 503 whose detail is Vietnamese with the English gloss, with a Retry-After in seconds."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert f"({detail_gloss}" in detail and detail.endswith(")") and not detail.startswith("("), detail
    assert int(response.headers["retry-after"]) > 0


def test_api_answers_json_503_with_retry_after_while_the_database_is_down(api: TestClient, stack: Stack, world: World) -> None:
    from outages import DATABASE_DOWN

    with database_down():
        read = api.get(f"/api/productions/{world.production_ids[0]}", headers=stack.headers("producer"))
        assert_503(read)
        assert read.json()["detail"] == DATABASE_DOWN
        assert_503(api.post("/api/areas", json={"name": unique("Xã"), "kind": "commune"}, headers=stack.headers("scheduler")))
        assert_503(api.get("/stations/me", headers=world.auth()))
        assert_503(api.post(f"/stations/{world.station_id}/plays", json={"plays": []}, headers=world.auth()))
    back = api.get(f"/api/productions/{world.production_ids[0]}", headers=stack.headers("producer"))
    assert back.status_code == 200 and back.json()["id"] == world.production_ids[0]


def test_station_and_feed_keep_their_last_answer_marked_stale(api: TestClient, world: World) -> None:
    schedule_path = f"/stations/{world.station_id}/schedule.json"
    feed_path = f"/feeds/{world.channel}.rss"
    window = str(STALE_WINDOW_S)
    with settings_env(
        station_revalidate_s="0", feed_revalidate_s="0", station_stale_if_error_s=window, feed_stale_if_error_s=window
    ):
        fresh = api.get(schedule_path, headers=world.auth())
        fresh_feed = api.get(feed_path)
        served_at = time.monotonic()
        assert fresh.status_code == 200 and fresh.json()["items"], fresh.text
        assert fresh_feed.status_code == 200 and b"<rss" in fresh_feed.content
        assert "x-lawcast-stale" not in fresh.headers and "x-lawcast-stale" not in fresh_feed.headers
        with database_down():
            stale = api.get(schedule_path, headers=world.auth())
            assert stale.status_code == 200
            assert stale.content == fresh.content and stale.headers["etag"] == fresh.headers["etag"]
            assert stale.headers["x-lawcast-stale"] == "1" and stale.headers["warning"].startswith("110 ")
            assert 0 <= int(stale.headers["age"]) <= STALE_WINDOW_S
            kept = api.get(schedule_path, headers=world.auth() | {"If-None-Match": fresh.headers["etag"]})
            assert kept.status_code == 304 and kept.headers["x-lawcast-stale"] == "1"
            stale_feed = api.get(feed_path)
            assert stale_feed.status_code == 200 and stale_feed.content == fresh_feed.content
            assert stale_feed.headers["x-lawcast-stale"] == "1"
            # An unknown token never reads a schedule; an answer never built has nothing to fall back on.
            assert_503(api.get(schedule_path, headers=world.auth("not-a-station-token")))
            assert_503(api.get(f"/stations/{world.station_id}/playlist.m3u", headers=world.auth()))
            assert_503(api.get(f"/feeds/{world.channel}.atom"))
            assert api.get(schedule_path).status_code == 401  # no token at all: nothing to trust
            time.sleep(max(0.0, served_at + STALE_WINDOW_S + 0.2 - time.monotonic()))
            assert_503(api.get(schedule_path, headers=world.auth()))
            assert_503(api.get(feed_path))
        again = api.get(schedule_path, headers=world.auth())
        assert again.status_code == 200 and again.content == fresh.content
        assert "x-lawcast-stale" not in again.headers and "age" not in again.headers
        assert "x-lawcast-stale" not in api.get(feed_path).headers


def test_a_commit_failing_at_the_end_of_a_request_answers_503_not_200(api: TestClient, stack: Stack, world: World) -> None:
    import db

    engine = db.get_engine()
    dbapi = engine.dialect.loaded_dbapi
    commits: list[int] = []

    def lost(_conn: Any) -> None:
        commits.append(1)
        raise sa_exc.OperationalError("COMMIT", {}, dbapi.OperationalError("server closed the connection unexpectedly"))

    # GET /api/productions/{id} never commits itself: only the session dependency does, after the endpoint.
    event.listen(engine, "commit", lost)
    try:
        response = api.get(f"/api/productions/{world.production_ids[0]}", headers=stack.headers("producer"))
    finally:
        event.remove(engine, "commit", lost)
    assert commits, "the request never committed"
    assert_503(response)


def test_post_render_while_the_broker_is_down_answers_503(api: TestClient, stack: Stack, world: World) -> None:
    import worker
    from outages import BROKER_DOWN

    editor = stack.headers("editor")
    doc = api.post("/api/documents", json={"text": TINY_LAW, "title": unique("Luật thử hàng đợi")}, headers=editor)
    assert doc.status_code == 201, doc.json()
    created = api.post(
        "/api/productions",
        json={"document_id": doc.json()["id"], "format": "loudspeaker", "title": unique("Hàng đợi")},
        headers=editor,
    )
    production_id = created.json()["id"]
    world.production_ids.append(production_id)
    script = {"lines": [{"speaker": "presenter", "text": "Bản tin khi hàng đợi gián đoạn.", "pause_ms": 200}]}
    assert api.put(f"/api/productions/{production_id}/script", json=script, headers=editor).status_code == 200
    for action, role in (("submit", "editor"), ("approve_legal", "legal_reviewer"), ("approve", "producer")):
        act(api, stack, production_id, action, role)
    # Nothing listens on port 1: the publish is refused, as by a stopped Redis.
    try:
        with settings_env(broker_url="redis://127.0.0.1:1/15"):
            worker.reload_celery()
            response = api.post(
                f"/api/productions/{production_id}/renders", json={"profiles": ["loudspeaker"]}, headers=stack.headers("producer")
            )
    finally:
        worker.reload_celery()  # back on the tier's broker
    # The send names the saved job (studio.jobs); any other broker error says BROKER_DOWN's words.
    assert_503(response, "")
    detail = response.json()["detail"]
    assert detail == BROKER_DOWN or ("queue" in detail and "unreachable" in detail), detail


def test_unexpected_errors_answer_json_500_never_plain_text(stack: Stack) -> None:
    from app import create_app
    from db import session_scope
    from outages import INTERNAL

    app = create_app()

    def broken() -> None:
        raise RuntimeError("a bug")

    def bad_sql() -> None:
        with session_scope() as session:
            session.execute(text("SELECT * FROM no_such_table_here"))

    app.add_api_route("/test-broken", broken)
    app.add_api_route("/test-bad-sql", bad_sql)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/test-broken", "/test-bad-sql"):
            response = client.get(path)
            assert response.status_code == 500, (path, response.text)
            assert response.headers["content-type"].startswith("application/json")
            assert response.json() == {"detail": INTERNAL}


def _local_cluster(database_url: str) -> tuple[str, str] | None:
    """(version, cluster) of the local PostgreSQL this URL points at, when pg_ctlcluster can stop it."""
    conf = Path("/etc/postgresql")
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None or not conf.is_dir():
        return None
    if not any(host in database_url for host in ("@127.0.0.1", "@localhost")):
        return None
    clusters = sorted(p for p in conf.glob("*/main") if p.is_dir())
    return (clusters[-1].parent.name, "main") if clusters else None


def _wait_for_database(timeout_s: float = 60.0) -> None:
    import db

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with db.get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except sa_exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_real_postgresql_stop_answers_503_and_keeps_the_station_schedule(api: TestClient, stack: Stack, world: World) -> None:
    cluster = _local_cluster(stack.database_url) if stack.name == "services" else None
    if cluster is None:
        pytest.skip("real PostgreSQL stop: needs the services tier on a local cluster, as root (pg_ctlcluster)")
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster]
    schedule_path = f"/stations/{world.station_id}/schedule.json"
    with settings_env(station_revalidate_s="0", station_stale_if_error_s="600"):
        fresh = api.get(schedule_path, headers=world.auth())
        assert fresh.status_code == 200 and fresh.json()["items"]
        try:
            subprocess.run([*command, "stop", "-m", "fast"], check=True, capture_output=True, timeout=60)
            assert_503(api.get(f"/api/productions/{world.production_ids[0]}", headers=stack.headers("producer")))
            stale = api.get(schedule_path, headers=world.auth())
            assert stale.status_code == 200 and stale.content == fresh.content
            assert stale.headers["x-lawcast-stale"] == "1"
            assert_503(api.get(schedule_path, headers=world.auth("not-a-station-token")))
        finally:
            subprocess.run([*command, "start"], check=True, capture_output=True, timeout=60)
            _wait_for_database()
        again = api.get(schedule_path, headers=world.auth())
        assert again.status_code == 200 and again.content == fresh.content
        assert "x-lawcast-stale" not in again.headers
