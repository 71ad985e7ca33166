"""File answers for media and covers: immutable files with HEAD, ETag, 304, Range (206, multipart/byteranges, 416) and covers."""

from __future__ import annotations

import os
from email.utils import formatdate

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.types import Receive, Scope, Send

from assets import cover
from assets.http import Unsatisfiable, content_disposition, etag_matches, if_range_allows, parse_range, range_header
from errors import NotFound
from openapi import NOT_MODIFIED, content, get_and_head

router = APIRouter(tags=["media"])
IMMUTABLE = "public, max-age=31536000, immutable"
# What a file answer may be besides its errors (documented once for media and covers).
FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: content("*/*", binary=True, description="The file"),
    206: content("*/*", "multipart/byteranges", binary=True, description="The requested byte range(s)"),
    304: NOT_MODIFIED,
    416: content("text/plain", description="No requested range lies inside the file"),
}


class _MediaFile(FileResponse):
    """FileResponse that sees only the Range header the route has already checked."""

    def __init__(
        self,
        path: os.PathLike[str] | str,
        *,
        media_type: str,
        headers: dict[str, str],
        stat_result: os.stat_result,
        checked_range: str | None,
    ) -> None:
        super().__init__(path, media_type=media_type, headers=headers, stat_result=stat_result)
        self._checked_range = checked_range

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self._checked_range is not None:
            headers.append((b"range", self._checked_range.encode("latin-1")))
        await super().__call__({**scope, "headers": headers}, receive, send)


def file_response(request: Request, path: os.PathLike[str] | str, *, media_type: str, etag: str, filename: str) -> Response:
    """A file answer: 304 for a current copy, 416 when no range fits, 206 for ranges, else 200."""
    stat = os.stat(path)
    last_modified = formatdate(stat.st_mtime, usegmt=True)
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE,
        "Last-Modified": last_modified,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={k: headers[k] for k in ("ETag", "Cache-Control", "Last-Modified")})
    ranges = None
    if if_range_allows(request.headers.get("if-range"), etag, last_modified):
        ranges = parse_range(request.headers.get("range"), stat.st_size)
    if isinstance(ranges, Unsatisfiable):
        return Response(
            status_code=416,
            media_type="text/plain; charset=utf-8",
            content=f"Khoảng byte không hợp lệ: tệp dài {ranges.size} byte (range not satisfiable)",
            headers={"Content-Range": f"bytes */{ranges.size}", "ETag": etag, "Accept-Ranges": "bytes"},
        )
    return _MediaFile(
        path,
        media_type=media_type,
        headers=headers,
        stat_result=stat,
        checked_range=range_header(ranges) if ranges else None,
    )


@get_and_head(router, "/covers/{name}", response_class=Response, responses=FILE_RESPONSES)
def cover_image(name: str, request: Request) -> Response:
    """A generated square show cover (PNG); its name is a hash of its content, so it never changes."""
    path = cover.cover_path(name)
    if path is None:
        raise NotFound(f"Không có ảnh bìa '{name}' (cover not found)")
    return file_response(request, path, media_type="image/png", etag=f'"{name.removesuffix(".png")}"', filename=name)
