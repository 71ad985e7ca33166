"""HTTP caching for dynamic feeds: strong ETags, 304s, HEAD, gzip, and a small in-process build cache.

Starlette handles conditional requests and Range for files only; a feed built in memory needs this.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response

GZIP_MIN_BYTES = 1024
ETAG_HEX_CHARS = 32
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"|\*')


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
    etag = make_etag(body, etag_extra)
    # A shared cache may store an authenticated answer marked public (RFC 9111 3.5), so never mark one public.
    scope = "private" if private or "authorization" in request.headers else "public"
    headers = {"ETag": etag, "Cache-Control": f"{scope}, max-age={max_age}", "Vary": "Accept-Encoding"}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    if request.method in ("GET", "HEAD") and not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=headers)

    payload = body
    if len(body) >= GZIP_MIN_BYTES and accepts_gzip(request.headers.get("accept-encoding", "")):
        payload = _gzipped(body)
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(payload))
        return Response(content=b"", status_code=200, headers=headers, media_type=media_type)
    return Response(content=payload, status_code=200, headers=headers, media_type=media_type)


def make_etag(body: bytes, extra: str = "") -> str:
    """Strong ETag of the uncompressed body, so identity and gzip answers share it."""
    digest = hashlib.sha256(body)
    if extra:
        digest.update(b"\0" + extra.encode())
    return f'"{digest.hexdigest()[:ETAG_HEX_CHARS]}"'


def http_date(value: datetime) -> str:
    """An IMF-fixdate (RFC 9110), e.g. 'Wed, 01 May 2024 01:00:00 GMT'; naive values are UTC."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware.astimezone(UTC).replace(microsecond=0), usegmt=True)


def not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """Whether a GET/HEAD may be answered 304 (If-None-Match wins over If-Modified-Since)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = _parse_http_date(request.headers.get("if-modified-since"))
    if since is None or last_modified is None:
        return False
    changed = last_modified if last_modified.tzinfo else last_modified.replace(tzinfo=UTC)
    return changed.replace(microsecond=0) <= since


def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2) of an If-None-Match list against our ETag."""
    ours = etag.removeprefix("W/")
    for tag in _ENTITY_TAG.findall(header):
        if tag == "*" or tag.removeprefix("W/") == ours:
            return True
    return False


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


class FeedCache:
    """Built feeds keyed by name, reused while the caller's data version is unchanged.

    Thread-safe and bounded (least recently used entries go first). Different keys build in
    parallel; concurrent requests for the same key build once.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get_or_build(self, key: str, version: str, build: Callable[[], bytes]) -> bytes:
        """The cached body for (key, version), calling build() only on a miss."""
        with self._lock:
            hit = self._lookup(key, version)
            if hit is not None:
                return hit
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                hit = self._lookup(key, version)
            if hit is not None:
                return hit
            body = build()
            with self._lock:
                self._store(key, version, body)
            return body

    def clear(self) -> None:
        """Forget every cached feed."""
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, key: str, version: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def _store(self, key: str, version: str, body: bytes) -> None:
        self._entries[key] = (version, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            evicted, _ = self._entries.popitem(last=False)
            self._key_locks.pop(evicted, None)
