"""Who may fetch a rendered file: the public only what is published at its approved version.

- Outputs of a published production at its approved version (source not repealed) are public.
- Outputs of a production that is approved for air are fetched by stations with their token.
- Everything else (drafts, outputs under review, superseded versions) goes to staff only: with
  their API token, or with a short-lived signed URL the API hands out for previews.
- A file whose every production was withdrawn answers 410 to the public, as its episode page does.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

import auth
from assets import access, storage
from assets import service as assets_service
from assets.routes import FILE_RESPONSES, file_response
from broadcast import service as broadcast_service
from db import SessionDep
from errors import Forbidden, Gone, NotFound, Unauthorized
from openapi import get_and_head
from studio.models import Output, Production, ProductionStatus

router = APIRouter(tags=["media"])
FOR_STATIONS = (ProductionStatus.approved.value, ProductionStatus.published.value)


@dataclass(frozen=True)
class MediaState:
    """What the productions behind one media key allow."""

    public: bool
    for_stations: bool
    withdrawn: bool


def media_state(session: Session, key: str) -> MediaState:
    """Access to a media key, from every production output stored under it."""
    rows = session.execute(
        select(Production.status, Production.approved_version, Production.source_repealed, Output.script_version)
        .join(Output, Output.production_id == Production.id)
        .where(Output.media_key == key)
    ).all()
    approved = [r for r in rows if r.script_version == r.approved_version and not r.source_repealed]
    return MediaState(
        public=any(r.status == ProductionStatus.published.value for r in approved),
        for_stations=any(r.status in FOR_STATIONS for r in approved),
        withdrawn=bool(rows) and all(r.status == ProductionStatus.withdrawn.value or r.source_repealed for r in rows),
    )


def _allowed(session: Session, request: Request, key: str, state: MediaState) -> bool:
    if state.public:
        return True
    if access.verify(key, request.query_params.get("exp"), request.query_params.get("sig")):
        return True
    token = auth.bearer_token(request)
    if token is None:
        return False
    user = auth.user_for_token(session, token)
    if user is not None:
        return user.role != auth.Role.station or state.for_stations
    return state.for_stations and broadcast_service.station_for_token(session, token) is not None


@get_and_head(router, "/media/{key:path}", response_class=Response, responses=FILE_RESPONSES)
def media(key: str, request: Request, session: SessionDep) -> Response:
    """A stored media file; byte ranges give 206 (podcast apps probe with bytes=0-1)."""
    row = assets_service.get(session, key)
    if row is None:
        raise NotFound(f"Không có tệp '{key}' (media not found)")
    state = media_state(session, key)
    if not _allowed(session, request, key, state):
        if state.withdrawn:
            raise Gone(f"Tệp '{key}' thuộc sản phẩm đã bị rút (media withdrawn)")
        if auth.bearer_token(request) is None:
            raise Unauthorized(
                "Tệp chưa được phát hành: cần mã truy cập của cán bộ hoặc đường dẫn xem trước có chữ ký "
                "(unpublished media: staff token or signed preview URL required)"
            )
        raise Forbidden("Mã truy cập này không được tải tệp chưa phát hành (this token may not fetch unpublished media)")
    return file_response(
        request, storage.path_for(key), media_type=row.mime_type, etag=f'"{row.sha256[:32]}"', filename=key.rsplit("/", 1)[-1]
    )
