"""What changes a feed and what does not: re-renders, withdrawal, repeal, channel edits, and the poll cost."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from lxml import etree

from tests.conftest import Stack
from tests.feeds.conftest import PUBLISH, Show, make_production, move, render, short_script
from tests.helpers import counted, present

NS = {"podcast": "https://podcastindex.org/namespace/1.0", "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd"}
SLUG = "ban-tin-phap-luat-h6"


@pytest.fixture(scope="module")
def channel_id(api: TestClient, stack: Stack) -> int:
    made = api.post(
        "/api/channels", json={"slug": SLUG, "name": "Bản tin pháp luật", "kind": "podcast"}, headers=stack.headers("scheduler")
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def version() -> str:
    """The feed version the service computes for the test channel."""
    from db import session_scope
    from feeds import service

    with session_scope() as session:
        return service.feed_state(session, SLUG)[1]


def items(api: TestClient) -> dict[str, etree._Element]:
    """guid -> item of the channel's RSS."""
    response = api.get(f"/feeds/{SLUG}.rss")
    assert response.status_code == 200
    return {present(i.findtext("guid")): i for i in etree.fromstring(response.content).iter("item")}


def atom_links(api: TestClient) -> set[str]:
    """The pages the channel's Atom entries link to (a link without rel is rel=alternate)."""
    root = etree.fromstring(api.get(f"/feeds/{SLUG}.atom").content)
    entries = root.iter("{http://www.w3.org/2005/Atom}entry")
    return {
        present(link.get("href"))
        for e in entries
        for link in e.iter("{http://www.w3.org/2005/Atom}link")
        if link.get("rel", "alternate") == "alternate"
    }


def sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_rerender_after_script_edit_keeps_guid_and_old_bytes(api: TestClient, stack: Stack, channel_id: int) -> None:
    from db import session_scope
    from feeds import service
    from studio.models import Production

    _, production_id, provision_id = make_production(api, stack, SLUG)
    first = {o["kind"]: o for o in render(api, stack, production_id, ["podcast"])}
    with session_scope() as session:
        before = service.episode(session, present(session.get(Production, production_id)))
    assert before is None  # a render that nobody approved never becomes a feed item
    edited = api.put(
        f"/api/productions/{production_id}/script",
        json={"lines": short_script(provision_id, " Xin cảm ơn quý vị đã lắng nghe.")},
        headers=stack.headers("editor"),
    )
    assert edited.status_code == 200
    second = {o["kind"]: o for o in render(api, stack, production_id, ["podcast"])}
    assert second["audio"]["media_key"] != first["audio"]["media_key"]
    old_bytes = api.get(f"/media/{first['audio']['media_key']}", headers=stack.headers("editor")).content
    assert sha256(old_bytes) == first["audio"]["sha256"]  # a new render never changes the bytes of an earlier one

    published_before = version()
    move(api, stack, production_id, *PUBLISH)
    assert version() != published_before
    item = items(api)[f"lawcast-production-{production_id}"]
    url = item.find("enclosure").get("url")
    assert (
        url
        == f"http://testserver/media/{second['audio']['media_key']}"
        != f"http://testserver/media/{first['audio']['media_key']}"
    )
    assert url.isascii()
    assert int(present(item.find("enclosure").get("length"))) == len(api.get(f"/media/{second['audio']['media_key']}").content)

    # A published episode re-rendered with a corrected pronunciation: same guid, new URL, old URL unchanged.
    lexicon = api.post("/api/lexicon", json={"term": "lắng nghe", "spoken": "lắng nghe nhé"}, headers=stack.headers("editor"))
    assert lexicon.status_code == 201, lexicon.text
    rendered_before = version()
    third = {o["kind"]: o for o in render(api, stack, production_id, ["podcast"])}
    assert version() != rendered_before
    assert third["audio"]["media_key"] not in (first["audio"]["media_key"], second["audio"]["media_key"])
    item = items(api)[f"lawcast-production-{production_id}"]
    assert item.find("enclosure").get("url") == f"http://testserver/media/{third['audio']['media_key']}"
    assert sha256(api.get(f"/media/{second['audio']['media_key']}").content) == second["audio"]["sha256"]


def test_withdrawn_episode_leaves_rss_atom_and_calendar(api: TestClient, stack: Stack, channel_id: int) -> None:
    from broadcast import service as broadcast_service
    from db import session_scope

    _, production_id, _ = make_production(api, stack, SLUG)
    render(api, stack, production_id, ["podcast"])
    move(api, stack, production_id, *PUBLISH)
    scheduler = stack.headers("scheduler")
    today = datetime.now(UTC).date()
    slot = api.post(
        "/api/slots",
        json={
            "name": "Bản tin sáng",
            "target_kind": "channel",
            "target_id": channel_id,
            "rrule": "FREQ=DAILY",
            "dtstart": (today - timedelta(days=1)).isoformat(),
            "start_time": "07:00:00",
            "duration_s": 900,
        },
        headers=scheduler,
    )
    assert slot.status_code == 201, slot.text
    with session_scope() as session:
        broadcast_service.expand(session, horizon_days=3)
    now = datetime.now(UTC)
    assert (
        api.post(
            "/api/schedule/fill", json={"start": now.isoformat(), "end": (now + timedelta(days=2)).isoformat()}, headers=scheduler
        ).status_code
        == 200
    )
    airings = [
        a
        for a in api.get(f"/api/airings?channel_id={channel_id}", headers=scheduler).json()
        if a["production_id"] == production_id
    ]
    assert airings
    guid, page = f"lawcast-production-{production_id}", f"http://testserver/episodes/{production_id}"

    def calendar_urls() -> list[str]:
        events = Calendar.from_ical(api.get(f"/feeds/{SLUG}.ics").content).walk("VEVENT")
        return [str(e["URL"]) for e in events]

    assert guid in items(api) and page in atom_links(api) and page in calendar_urls()
    before = version()
    move(api, stack, production_id, ("withdraw", "producer"))
    assert version() != before
    assert guid not in items(api)
    assert page not in atom_links(api)
    assert page not in calendar_urls()
    gone = api.get(f"/episodes/{production_id}")
    assert gone.status_code == 410 and "gỡ xuống" in gone.text


def test_repealed_source_leaves_the_feeds(api: TestClient, stack: Stack, channel_id: int) -> None:
    document_id, production_id, _ = make_production(api, stack, SLUG)
    render(api, stack, production_id, ["podcast"])
    move(api, stack, production_id, *PUBLISH)
    guid, page = f"lawcast-production-{production_id}", f"http://testserver/episodes/{production_id}"
    assert guid in items(api) and page in atom_links(api)
    before = version()
    repealed = api.post(
        f"/api/documents/{document_id}/status", json={"status": "repealed"}, headers=stack.headers("legal_reviewer")
    )
    assert repealed.status_code == 200, repealed.text
    assert version() != before
    assert guid not in items(api) and page not in atom_links(api)
    assert api.get(f"/episodes/{production_id}").status_code == 410


def test_channel_edit_changes_title_and_cover(api: TestClient, channel_id: int) -> None:
    from broadcast.models import Channel
    from db import session_scope

    def channel_tags() -> tuple[str, str]:
        channel = etree.fromstring(api.get(f"/feeds/{SLUG}.rss").content).find("channel")
        return present(channel.findtext("title")), present(channel.find("itunes:image", NS).get("href"))

    title, cover = channel_tags()
    before = version()
    with session_scope() as session:
        session.get(Channel, channel_id).name = "Bản tin pháp luật Quảng Ninh"
    assert version() != before
    new_title, new_cover = channel_tags()
    assert (title, new_title) == ("Bản tin pháp luật", "Bản tin pháp luật Quảng Ninh")
    assert new_cover != cover and api.get(new_cover.removeprefix("http://testserver")).status_code == 200
    with session_scope() as session:
        session.get(Channel, channel_id).name = "Bản tin pháp luật"


@contextmanager
def revalidate_after(seconds: float) -> Iterator[None]:
    from settings import get_settings

    os.environ["LAWCAST_FEED_REVALIDATE_S"] = str(seconds)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ["LAWCAST_FEED_REVALIDATE_S"] = "0"
        get_settings.cache_clear()


def test_a_poll_costs_one_query_whatever_the_feed_size(api: TestClient, stack: Stack, show: Show, channel_id: int) -> None:
    from feeds import service

    for _ in range(2):
        _, production_id, _ = make_production(api, stack, SLUG)
        render(api, stack, production_id, ["podcast"])
        move(api, stack, production_id, *PUBLISH)
    small, large = f"/feeds/{show.slug}.rss", f"/feeds/{SLUG}.rss"
    assert len(items(api)) >= 2 + len(etree.fromstring(api.get(small).content).findall("channel/item"))
    for url in (small, large):
        api.get(url)
        with counted() as statements:
            assert api.get(url, headers={"If-None-Match": '"x"'}).status_code == 200
        assert len(statements) == 1, statements  # the version check, nothing else
    builds = []
    for url in (small, large):
        service.feed_cache.clear()
        with counted() as statements:
            api.get(url)
        builds.append(len(statements))
    assert builds[0] == builds[1] <= 4, builds  # state, productions, outputs (+ nothing per episode)


def test_recent_feeds_are_answered_from_memory_until_a_commit(api: TestClient, show: Show) -> None:
    from broadcast.models import Channel
    from db import session_scope

    url = f"/feeds/{show.slug}.rss"
    with revalidate_after(600):
        etag = api.get(url).headers["etag"]
        with counted() as statements:
            for _ in range(5):
                assert api.get(url, headers={"If-None-Match": etag}).status_code == 304
            assert api.get(url).status_code == 200
        assert statements == []
        try:
            with session_scope() as session:  # a commit in this process invalidates at once
                session.get(Channel, show.channel_id).description = "Mô tả mới của chuyên mục."
            changed = api.get(url, headers={"If-None-Match": etag})
            assert changed.status_code == 200 and "Mô tả mới của chuyên mục." in changed.text
            with counted() as statements:
                assert api.get(url, headers={"If-None-Match": changed.headers["etag"]}).status_code == 304
            assert statements == []
        finally:
            with session_scope() as session:
                session.get(Channel, show.channel_id).description = "Chuyên mục pháp luật hằng tuần."


def test_the_fast_path_answers_exactly_like_the_route(api: TestClient, show: Show) -> None:
    url = f"/feeds/{show.slug}.atom"
    keep = ("etag", "last-modified", "cache-control", "vary", "content-type", "content-length", "content-encoding")
    etag = api.get(url).headers["etag"]
    last_modified = api.get(url).headers["last-modified"]
    requests = [
        ("GET", {"Accept-Encoding": "identity"}),
        ("GET", {"Accept-Encoding": "gzip"}),
        ("HEAD", {"Accept-Encoding": "gzip"}),
        ("GET", {"If-None-Match": etag}),
        ("HEAD", {"If-Modified-Since": last_modified}),
        ("GET", {"Authorization": "Bearer x", "Accept-Encoding": "identity"}),
    ]

    def answers() -> list[tuple[int, dict[str, str], bytes]]:
        out = []
        for method, headers in requests:
            r = api.request(method, url, headers=headers)
            out.append((r.status_code, {k: v for k, v in r.headers.items() if k in keep}, r.content))
        return out

    routed = answers()  # revalidated on every request: through the router
    with revalidate_after(600), counted() as statements:
        api.get(url)
        statements.clear()
        fast = answers()
    assert statements == []  # all from memory
    assert fast == routed
    assert [status for status, _, _ in fast] == [200, 200, 200, 304, 304, 200]
    assert fast[5][1]["cache-control"].startswith("private")
