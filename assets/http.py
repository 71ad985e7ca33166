"""Byte ranges and file-name headers for media, as RFC 9110 and RFC 6266 say (pure functions).

Starlette's FileResponse answers 400 to a Range it cannot parse and 416 when any one range is out
of bounds. RFC 9110 14.2 says a server ignores an invalid Range (and serves 200) and answers 416
only when no range at all is satisfiable, so the route decides here and hands Starlette a clean set.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_RANGES = 64  # more pieces than any player asks for; beyond it the whole file is cheaper to send
_DIGITS = re.compile(r"^[0-9]+$")
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"|\*')


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


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names our ETag or `*` (weak comparison, RFC 9110 13.1.2)."""
    if if_none_match is None:
        return False
    ours = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == ours for tag in _ENTITY_TAG.findall(if_none_match))


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """`inline; filename="ascii"` plus `filename*` (RFC 5987) when the name is not plain ASCII."""
    fallback = ascii_filename(filename)
    header = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        from urllib.parse import quote

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
