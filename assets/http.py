"""The shared HTTP helpers, below every domain: conditional answers (ETag, 304, HEAD, gzip) and byte ranges.

broadcast (station pulls), feeds (public feeds and pages) and assets (media files, covers) all answer with these.
Starlette handles conditional requests and Range for files only, and not as RFC 9110 says: a body built in
memory needs `answer`, and a file answer decides its ranges here first. Starlette's FileResponse answers 400
to a Range it cannot parse and 416 when any one range is out of bounds; RFC 9110 14.2 says a server ignores
an invalid Range (and serves 200) and answers 416 only when no range at all is satisfiable.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope, Send

from timeutil import aware_utc

GZIP_MIN_BYTES = 1024
ETAG_HEX_CHARS = 32
MAX_RANGES = 64  # more pieces than any player asks for; beyond it the whole file is cheaper to send
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"|\*')
_DIGITS = re.compile(r"^[0-9]+$")
# feedgen formats RFC 822 dates by switching the process-wide locale to "C" and back, so every builder that
# serialises with feedgen (feeds.podcast, broadcast.station_rss) holds this one lock: separate locks would race.
FEEDGEN_LOCK = threading.Lock()


# --- conditional answers for bodies built in memory ---------------------------------------------


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


async def send_answer(
    scope: Scope, send: Send, rep: Representation, request: Conditional, *, max_age: int, private: bool = False
) -> None:
    """Answer an ASGI GET or HEAD from a prepared representation, without routing."""
    result = answer(
        rep,
        method=scope["method"],
        if_none_match=request.if_none_match,
        if_modified_since=request.if_modified_since,
        accept_encoding=request.accept_encoding,
        authorized=request.authorization is not None,
        max_age=max_age,
        private=private,
    )
    await send({"type": "http.response.start", "status": result.status, "headers": result.headers})
    await send({"type": "http.response.body", "body": result.body})


def represent(request: Request, rep: Representation, *, max_age: int = 60, private: bool = False) -> Response:
    """Answer a Starlette request from a prepared representation."""
    headers = request.headers
    result = answer(
        rep,
        method=request.method,
        if_none_match=headers.get("if-none-match"),
        if_modified_since=headers.get("if-modified-since"),
        accept_encoding=headers.get("accept-encoding", ""),
        authorized="authorization" in headers,
        max_age=max_age,
        private=private,
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
    return format_datetime(aware_utc(value).replace(microsecond=0), usegmt=True)


def _not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: datetime | None) -> bool:
    """Whether a GET/HEAD may be answered 304 (If-None-Match wins over If-Modified-Since)."""
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = _parse_http_date(if_modified_since)
    if since is None or last_modified is None:
        return False
    return aware_utc(last_modified).replace(microsecond=0) <= since


@lru_cache(maxsize=1024)
def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match list names our ETag or `*` (weak comparison, RFC 9110 13.1.2); False without one."""
    if header is None:
        return False
    ours = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == ours for tag in _ENTITY_TAG.findall(header))


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
    return aware_utc(parsed)


@lru_cache(maxsize=32)
def _gzipped(body: bytes) -> bytes:
    # mtime=0 keeps the compressed bytes identical across requests and processes.
    return gzip.compress(body, compresslevel=6, mtime=0)


# --- byte ranges and file names for file answers ---------------------------------------------


@dataclass(frozen=True)
class Unsatisfiable:
    """No requested range overlaps the file: answer 416 with `Content-Range: bytes */size`."""

    size: int


Ranges = list[tuple[int, int]]  # (start, end) with end exclusive, sorted and disjoint


def parse_range(header: str | None, size: int) -> Ranges | Unsatisfiable | None:
    """The satisfiable ranges of a Range header, Unsatisfiable, or None to ignore it and send everything."""
    if header is None:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None  # unknown units are ignored (RFC 9110 14.2)
    parts = [part.strip() for part in spec.split(",")]
    parts = [part for part in parts if part]
    if not parts or len(parts) > MAX_RANGES:
        return None
    wanted: Ranges = []
    for part in parts:
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        if not dash or (first and not _DIGITS.match(first)) or (last and not _DIGITS.match(last)) or not (first or last):
            return None  # a syntax error makes the whole header invalid
        if first:
            start = int(first)
            if last and int(last) < start:
                return None
            if start < size:
                wanted.append((start, min(int(last) + 1, size) if last else size))
        elif int(last) > 0 and size > 0:  # suffix range: the final N bytes
            wanted.append((max(size - int(last), 0), size))
    if not wanted:
        return Unsatisfiable(size)
    return _coalesce(wanted)


def range_header(ranges: Ranges) -> str:
    """A canonical Range header for already checked ranges."""
    return "bytes=" + ",".join(f"{start}-{end - 1}" for start, end in ranges)


def if_range_allows(if_range: str | None, etag: str, last_modified: str) -> bool:
    """Whether If-Range (absent, or a strong ETag or exact date equal to ours) lets the Range apply."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith("W/"):
        return False  # If-Range needs a strong validator
    return value == etag if value.startswith('"') else value == last_modified


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """`inline; filename="ascii"` plus `filename*` (RFC 5987) when the name is not plain ASCII."""
    fallback = ascii_filename(filename)
    header = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def ascii_filename(name: str) -> str:
    """An ASCII file name: Vietnamese letters lose their marks, anything unsafe becomes '-'."""
    name = name.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", plain).strip("-.")
    return plain or "media"


def _coalesce(ranges: Ranges) -> Ranges:
    merged: Ranges = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
