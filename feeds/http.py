"""HTTP caching for dynamic feeds: strong ETags, 304s, HEAD, gzip, and a small in-process build cache.

Starlette handles conditional requests and Range for files only; a feed built in memory needs this.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope, Send

GZIP_MIN_BYTES = 1024
ETAG_HEX_CHARS = 32
REFRESH_TIMEOUT_S = 10.0  # a version check that takes longer than this is presumed lost
T = TypeVar("T")
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"|\*')


@dataclass(frozen=True)
class Representation:
    """A built body with its validators and compressed form, computed once and served many times."""

    body: bytes
    media_type: str
    etag: str
    last_modified: datetime | None
    gzipped: bytes | None

    @classmethod
    def of(cls, body: bytes, *, media_type: str, last_modified: datetime | None, etag_extra: str = "") -> Representation:
        """Hash and (when worth it) gzip a body once."""
        packed = gzip.compress(body, compresslevel=9, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        return cls(body, media_type, make_etag(body, etag_extra), last_modified, packed)


@dataclass(frozen=True)
class Answer:
    """Status, raw headers and body of an answer, ready for ASGI."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def answer(
    rep: Representation,
    *,
    method: str,
    if_none_match: str | None,
    if_modified_since: str | None,
    accept_encoding: str,
    authorized: bool,
    max_age: int,
    private: bool = False,
) -> Answer:
    """The answer to a GET or HEAD from a prepared representation: 304, HEAD, gzip as the request allows."""
    # A shared cache may store an authenticated answer marked public (RFC 9111 3.5), so never mark one public.
    scope = b"private" if private or authorized else b"public"
    headers = [
        (b"etag", rep.etag.encode()),
        (b"cache-control", scope + b", max-age=%d" % max_age),
        (b"vary", b"Accept-Encoding"),
    ]
    if rep.last_modified is not None:
        headers.append((b"last-modified", _http_date_bytes(rep.last_modified)))
    if method in ("GET", "HEAD") and _not_modified(if_none_match, if_modified_since, rep.etag, rep.last_modified):
        return Answer(304, headers, b"")
    payload = rep.body
    if len(payload) >= GZIP_MIN_BYTES and accepts_gzip(accept_encoding):
        payload = rep.gzipped if rep.gzipped is not None else _gzipped(rep.body)
        headers.append((b"content-encoding", b"gzip"))
    headers += [(b"content-type", rep.media_type.encode()), (b"content-length", b"%d" % len(payload))]
    return Answer(200, headers, b"" if method == "HEAD" else payload)


@dataclass(frozen=True)
class Conditional:
    """The request headers an answer depends on, read straight from an ASGI scope (the fast paths skip Starlette)."""

    if_none_match: str | None = None
    if_modified_since: str | None = None
    accept_encoding: str = ""
    authorization: bytes | None = None  # the first Authorization header, as the routes read it

    @classmethod
    def of(cls, scope: Scope) -> Conditional:
        """Pick the headers out of an ASGI scope."""
        if_none_match = if_modified_since = None
        accept_encoding, authorization = "", None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"if-modified-since":
                if_modified_since = value.decode("latin-1")
            elif name == b"accept-encoding":
                accept_encoding = value.decode("latin-1")
            elif name == b"authorization" and authorization is None:
                authorization = value
        return cls(if_none_match, if_modified_since, accept_encoding, authorization)

    def bearer(self) -> str | None:
        """The bearer token, if one came."""
        if self.authorization is None:
            return None
        scheme, _, token = self.authorization.decode("latin-1").partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None


async def send_answer(scope: Scope, send: Send, rep: Representation, request: Conditional, *, max_age: int, private: bool = False) -> None:
    """Answer an ASGI GET or HEAD from a prepared representation, without routing."""
    result = answer(
        rep, method=scope["method"], if_none_match=request.if_none_match, if_modified_since=request.if_modified_since,
        accept_encoding=request.accept_encoding, authorized=request.authorization is not None, max_age=max_age, private=private,
    )
    await send({"type": "http.response.start", "status": result.status, "headers": result.headers})
    await send({"type": "http.response.body", "body": result.body})


def represent(request: Request, rep: Representation, *, max_age: int = 60, private: bool = False) -> Response:
    """Answer a Starlette request from a prepared representation."""
    headers = request.headers
    result = answer(
        rep, method=request.method, if_none_match=headers.get("if-none-match"),
        if_modified_since=headers.get("if-modified-since"), accept_encoding=headers.get("accept-encoding", ""),
        authorized="authorization" in headers, max_age=max_age, private=private,
    )
    return _RawResponse(result)


class _RawResponse(Response):
    """A Response whose status, headers and body are already final."""

    def __init__(self, result: Answer) -> None:
        self.status_code = result.status
        self.body = result.body
        self.raw_headers = result.headers
        self.background = None


def conditional_response(
    request: Request,
    body: bytes,
    *,
    media_type: str,
    last_modified: datetime | None,
    max_age: int = 60,
    etag_extra: str = "",
    private: bool = False,
) -> Response:
    """200 with validators, 304 when the client's copy is current, HEAD without a body, gzip when accepted."""
    rep = Representation(body, media_type, make_etag(body, etag_extra), last_modified, None)
    return represent(request, rep, max_age=max_age, private=private)


def make_etag(body: bytes, extra: str = "") -> str:
    """Strong ETag of the uncompressed body, so identity and gzip answers share it."""
    digest = hashlib.sha256(body)
    if extra:
        digest.update(b"\0" + extra.encode())
    return f'"{digest.hexdigest()[:ETAG_HEX_CHARS]}"'


@lru_cache(maxsize=256)
def _http_date_bytes(value: datetime) -> bytes:
    return http_date(value).encode()


def http_date(value: datetime) -> str:
    """An IMF-fixdate (RFC 9110), e.g. 'Wed, 01 May 2024 01:00:00 GMT'; naive values are UTC."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: datetime | None) -> bool:
    """Whether a GET/HEAD may be answered 304 (If-None-Match wins over If-Modified-Since)."""
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = _parse_http_date(if_modified_since)
    if since is None or last_modified is None:
        return False
    changed = last_modified if last_modified.tzinfo else last_modified.replace(tzinfo=UTC)
    return changed.replace(microsecond=0) <= since


@lru_cache(maxsize=1024)
def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2) of an If-None-Match list against our ETag."""
    ours = etag.removeprefix("W/")
    for tag in _ENTITY_TAG.findall(header):
        if tag == "*" or tag.removeprefix("W/") == ours:
            return True
    return False


@lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether Accept-Encoding allows gzip, honouring q=0 and the * wildcard."""
    qualities: dict[str, float] = {}
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding:
            qualities[coding.strip().lower()] = _quality(params)
    for name in ("gzip", "x-gzip"):
        if name in qualities:
            return qualities[name] > 0
    return qualities.get("*", 0) > 0


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


@lru_cache(maxsize=256)
def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@lru_cache(maxsize=32)
def _gzipped(body: bytes) -> bytes:
    # mtime=0 keeps the compressed bytes identical across requests and processes.
    return gzip.compress(body, compresslevel=6, mtime=0)


class FeedCache(Generic[T]):
    """Built feeds keyed by name, reused while the caller's data version is unchanged.

    Thread-safe and bounded (least recently used entries go first). Different keys build in
    parallel; concurrent requests for the same key build once. `recent` answers without asking
    for the version at all when the entry was validated less than `max_age_s` ago and nothing in
    this process has called `invalidate` since: changes made here show at once, changes made by
    other processes within `max_age_s`.
    """

    def __init__(self, max_entries: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._refreshing: dict[str, float] = {}

    @property
    def generation(self) -> int:
        """Bumped by every `invalidate`; read it before reading the version a later call passes."""
        return self._generation

    def get_or_build(self, key: str, version: str, build: Callable[[], T], *, generation: int | None = None) -> T:
        """The cached value for (key, version), calling build() only on a miss.

        `generation` is `self.generation` as read before the version was, so an invalidation that
        raced with reading the version still makes the next `recent` ask again.
        """
        with self._lock:
            generation = self._generation if generation is None else generation
            hit = self._lookup(key, version, generation)
            if hit is not None:
                return hit
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                hit = self._lookup(key, version, generation)
            if hit is not None:
                return hit
            value = build()
            with self._lock:
                self._store(key, _Entry(version, value, self.clock(), generation))
            return value

    def recent(self, key: str, max_age_s: float) -> T | None:
        """The cached value if it was validated within max_age_s and nothing was invalidated since.

        When it is due, one caller gets None and asks for the version; callers arriving meanwhile
        get the value they would have got a moment ago instead of all asking at once.
        """
        if max_age_s <= 0:
            return None
        entry = self._entries.get(key)  # a dict read is atomic; no lock on the hot path
        if entry is None:
            return None
        now = self.clock()
        if entry.generation == self._generation and now - entry.checked_at < max_age_s:
            return entry.value
        with self._lock:
            started = self._refreshing.get(key)
            if started is not None and now - started < REFRESH_TIMEOUT_S:
                return entry.value
            self._refreshing[key] = now
        return None

    def release(self, key: str) -> None:
        """The caller that `recent` sent to ask for the version is done (or failed)."""
        with self._lock:
            self._refreshing.pop(key, None)

    def invalidate(self) -> None:
        """Make every entry ask for its version again (content changed in this process)."""
        with self._lock:
            self._generation += 1

    def clear(self) -> None:
        """Forget every cached feed."""
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()
            self._refreshing.clear()
            self._generation += 1

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, key: str, version: str, generation: int) -> T | None:
        entry = self._entries.get(key)
        if entry is None or entry.version != version:
            return None
        # Validated just now: refresh the stamp so `recent` may answer without asking again.
        self._entries[key] = _Entry(version, entry.value, self.clock(), generation)
        self._entries.move_to_end(key)
        return entry.value

    def _store(self, key: str, entry: _Entry[T]) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            evicted, _ = self._entries.popitem(last=False)
            self._key_locks.pop(evicted, None)


@dataclass(frozen=True)
class _Entry(Generic[T]):
    version: str
    value: T
    checked_at: float
    generation: int
