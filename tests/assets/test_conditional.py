"""The shared conditional answers (assets.http) through a real Starlette app, and the AnswerCache."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from assets.answer_cache import AnswerCache
from assets.http import accepts_gzip, conditional_response, etag_matches, http_date

MEDIA = "application/rss+xml; charset=utf-8"
CHANGED = datetime(2024, 6, 4, 2, 30, 15, 123456, tzinfo=UTC)
BIG = ("<rss>" + "<item>Tìm hiểu pháp luật</item>" * 200 + "</rss>").encode()
SMALL = b"<rss/>"


class State:
    body = BIG
    last_modified: datetime | None = CHANGED


def feed(request: Request) -> Response:
    return conditional_response(request, State.body, media_type=MEDIA, last_modified=State.last_modified, max_age=120)


def small(request: Request) -> Response:
    return conditional_response(request, SMALL, media_type=MEDIA, last_modified=None)


@pytest.fixture
def client() -> TestClient:
    State.body, State.last_modified = BIG, CHANGED
    app = Starlette(routes=[Route("/feed", feed, methods=["GET", "HEAD"]), Route("/small", small, methods=["GET", "HEAD"])])
    return TestClient(app)


IDENTITY = {"Accept-Encoding": "identity"}


def test_200_with_validators(client: TestClient) -> None:
    r = client.get("/feed", headers=IDENTITY)
    assert r.status_code == 200
    assert r.content == BIG
    assert r.headers["content-type"] == MEDIA
    assert r.headers["content-length"] == str(len(BIG))
    etag = r.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert r.headers["last-modified"] == "Tue, 04 Jun 2024 02:30:15 GMT"
    assert r.headers["cache-control"] == "public, max-age=120"
    assert r.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in r.headers
    assert client.get("/feed", headers=IDENTITY).headers["etag"] == etag


def test_authenticated_answers_are_private(client: TestClient) -> None:
    r = client.get("/feed", headers={"Authorization": "Bearer station-token"})
    assert r.headers["cache-control"] == "private, max-age=120"


def test_if_none_match_gives_304(client: TestClient) -> None:
    etag = client.get("/feed").headers["etag"]
    r = client.get("/feed", headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    assert r.headers["cache-control"] == "public, max-age=120"
    assert r.headers["last-modified"] == "Tue, 04 Jun 2024 02:30:15 GMT"
    assert "content-length" not in r.headers or r.headers["content-length"] == "0"


@pytest.mark.parametrize(
    "header",
    ['"nope", {etag}', "W/{etag}", '"a",W/{etag} , "b"', "*"],
)
def test_if_none_match_lists_weak_and_star(client: TestClient, header: str) -> None:
    etag = client.get("/feed").headers["etag"]
    r = client.get("/feed", headers={"If-None-Match": header.format(etag=etag)})
    assert r.status_code == 304


def test_if_none_match_miss_wins_over_if_modified_since(client: TestClient) -> None:
    r = client.get("/feed", headers={"If-None-Match": '"stale"', "If-Modified-Since": http_date(CHANGED)})
    assert r.status_code == 200
    assert r.content == BIG


def test_if_modified_since(client: TestClient) -> None:
    last_modified = client.get("/feed").headers["last-modified"]
    r = client.get("/feed", headers={"If-Modified-Since": last_modified})
    assert r.status_code == 304
    assert r.content == b""
    assert client.get("/feed", headers={"If-Modified-Since": "Tue, 04 Jun 2024 02:30:14 GMT"}).status_code == 200
    assert client.get("/feed", headers={"If-Modified-Since": "not a date"}).status_code == 200

    State.body = BIG + b"<!-- new episode -->"
    State.last_modified = datetime(2024, 6, 5, tzinfo=UTC)
    r = client.get("/feed", headers={"If-Modified-Since": last_modified})
    assert r.status_code == 200
    assert r.content == State.body
    assert r.headers["last-modified"] == "Wed, 05 Jun 2024 00:00:00 GMT"


def test_changed_body_changes_etag(client: TestClient) -> None:
    etag = client.get("/feed").headers["etag"]
    State.body = BIG + b" "
    r = client.get("/feed", headers={"If-None-Match": etag})
    assert r.status_code == 200
    assert r.headers["etag"] != etag


def test_head_has_headers_only(client: TestClient) -> None:
    r = client.head("/feed", headers=IDENTITY)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == str(len(BIG))
    assert r.headers["etag"] == client.get("/feed").headers["etag"]
    gz = client.head("/feed", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.headers["content-length"] == str(len(gzip.compress(BIG, compresslevel=6, mtime=0)))
    assert client.head("/feed", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_gzip_shares_the_identity_etag(client: TestClient) -> None:
    plain = client.get("/feed", headers=IDENTITY)
    gz = client.get("/feed", headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8"})
    assert gz.headers["content-encoding"] == "gzip"
    assert int(gz.headers["content-length"]) < len(BIG)
    assert gz.content == BIG  # httpx decodes it
    assert gz.headers["etag"] == plain.headers["etag"]
    assert gz.headers["vary"] == "Accept-Encoding"
    again = client.get("/feed", headers={"Accept-Encoding": "gzip"})
    assert again.headers["content-length"] == gz.headers["content-length"]  # deterministic gzip


@pytest.mark.parametrize("accept", ["gzip;q=0", "identity", "*;q=0", "br, gzip; q=0.000"])
def test_no_gzip_when_refused(client: TestClient, accept: str) -> None:
    r = client.get("/feed", headers={"Accept-Encoding": accept})
    assert "content-encoding" not in r.headers
    assert r.content == BIG


def test_small_bodies_stay_plain(client: TestClient) -> None:
    r = client.get("/small", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in r.headers
    assert "last-modified" not in r.headers
    assert r.content == SMALL


def test_header_parsers() -> None:
    assert accepts_gzip("gzip, deflate")
    assert accepts_gzip("*")
    assert accepts_gzip("x-gzip")
    assert not accepts_gzip("")
    assert not accepts_gzip("gzip;q=0, *")
    assert accepts_gzip("GZIP;Q=0.5")
    assert etag_matches('W/"abc"', '"abc"')
    assert not etag_matches('"abcd"', '"abc"')
    assert not etag_matches(None, '"abc"')


def test_answer_cache_builds_once_per_version() -> None:
    cache: AnswerCache[bytes] = AnswerCache()
    calls: list[str] = []

    def build(tag: str) -> bytes:
        calls.append(tag)
        return tag.encode()

    assert cache.get_or_build("rss:qnr1", "v1", lambda: build("a")) == b"a"
    assert cache.get_or_build("rss:qnr1", "v1", lambda: build("b")) == b"a"
    assert calls == ["a"]
    assert cache.get_or_build("rss:qnr1", "v2", lambda: build("c")) == b"c"
    assert cache.get_or_build("rss:qnr1", "v2", lambda: build("d")) == b"c"
    assert cache.get_or_build("atom:qnr1", "v2", lambda: build("e")) == b"e"
    assert calls == ["a", "c", "e"]


def test_answer_cache_is_bounded() -> None:
    cache: AnswerCache[bytes] = AnswerCache(max_entries=2)
    for key in ("a", "b", "c"):
        cache.get_or_build(key, "1", lambda: b"x")
    assert len(cache) == 2
    rebuilt: list[str] = []

    def rebuild() -> bytes:
        rebuilt.append("a")
        return b"x"

    cache.get_or_build("a", "1", rebuild)
    assert rebuilt == ["a"]


def test_answer_cache_concurrent_callers_build_once() -> None:
    cache: AnswerCache[bytes] = AnswerCache()
    calls: list[int] = []

    def slow_build() -> bytes:
        calls.append(1)
        time.sleep(0.05)
        return b"feed"

    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_build("k", "v", slow_build))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"feed"] * 8
    assert len(calls) == 1


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_recent_answers_within_the_window_until_invalidated() -> None:
    clock = Clock()
    cache: AnswerCache[bytes] = AnswerCache(clock=clock)
    assert cache.recent("rss:a", 2.0) is None  # nothing built yet
    cache.get_or_build("rss:a", "v1", lambda: b"one")
    clock.now += 1.9
    assert cache.recent("rss:a", 2.0) == b"one"
    assert cache.recent("rss:a", 0) is None  # a zero window always asks
    clock.now += 0.2
    assert cache.recent("rss:a", 2.0) is None  # due: this caller goes to ask for the version
    assert cache.recent("rss:a", 2.0) == b"one"  # others meanwhile get what there is, not a stampede
    cache.get_or_build("rss:a", "v1", lambda: b"unused")  # the version was unchanged
    cache.release("rss:a")
    assert cache.recent("rss:a", 2.0) == b"one"  # validated again just now

    cache.invalidate()
    assert cache.recent("rss:a", 2.0) is None
    cache.release("rss:a")
    assert cache.get_or_build("rss:a", "v2", lambda: b"two") == b"two"
    assert cache.recent("rss:a", 2.0) == b"two"


def test_an_abandoned_check_does_not_pin_the_stale_value() -> None:
    clock = Clock()
    cache: AnswerCache[bytes] = AnswerCache(clock=clock)
    cache.get_or_build("k", "v", lambda: b"x")
    clock.now += 5
    assert cache.recent("k", 1.0) is None  # this caller then fails and never releases
    assert cache.recent("k", 1.0) == b"x"
    clock.now += 11  # past the refresh timeout
    assert cache.recent("k", 1.0) is None


def test_invalidation_racing_a_version_read_is_not_lost() -> None:
    clock = Clock()
    cache: AnswerCache[bytes] = AnswerCache(clock=clock)
    seen = cache.generation  # read before the version
    cache.invalidate()  # a commit lands between reading the version and storing the build
    cache.get_or_build("k", "v", lambda: b"x", generation=seen)
    assert cache.recent("k", 60) is None


def test_answer_builds_raw_headers() -> None:
    from assets.http import Representation, answer

    rep = Representation.of(BIG, media_type=MEDIA, last_modified=CHANGED)
    assert rep.gzipped is not None and gzip.decompress(rep.gzipped) == BIG
    kwargs: dict[str, Any] = dict(if_none_match=None, if_modified_since=None, authorized=False, max_age=30)
    plain = answer(rep, method="GET", accept_encoding="", **kwargs)
    headers = dict(plain.headers)
    assert plain.status == 200 and plain.body == BIG
    assert headers[b"content-length"] == str(len(BIG)).encode() and headers[b"content-type"] == MEDIA.encode()
    assert headers[b"cache-control"] == b"public, max-age=30"
    packed = answer(rep, method="HEAD", accept_encoding="gzip", **kwargs)
    assert packed.body == b"" and dict(packed.headers)[b"content-length"] == str(len(rep.gzipped)).encode()
    assert dict(packed.headers)[b"etag"] == headers[b"etag"]
    assert answer(rep, method="GET", accept_encoding="", **{**kwargs, "if_none_match": rep.etag}).status == 304
    assert (
        dict(answer(rep, method="GET", accept_encoding="", **{**kwargs, "authorized": True}).headers)[b"cache-control"]
        == b"private, max-age=30"
    )
