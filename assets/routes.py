"""Media serving: immutable files with HEAD, ETag and Range."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from assets import service, storage
from db import SessionDep
from errors import NotFound

router = APIRouter(tags=["media"])


@router.api_route("/media/{key:path}", methods=["GET", "HEAD"])
def media(key: str, session: SessionDep) -> FileResponse:
    """A stored media file; byte ranges give 206 (podcast apps probe with bytes=0-1)."""
    row = service.get(session, key)
    if row is None:
        raise NotFound(f"Không có tệp '{key}' (media not found)")
    path = storage.path_for(key)
    filename = key.rsplit("/", 1)[-1]
    return FileResponse(
        path,
        media_type=row.mime_type,
        filename=filename,
        content_disposition_type="inline",
        headers={"ETag": f'"{row.sha256[:32]}"', "Cache-Control": "public, max-age=31536000, immutable"},
    )
