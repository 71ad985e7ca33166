"""Emergency ("Phát khẩn cấp"): choose an approved production, or write a short text that becomes one through the
four-eyes workflow; choose areas from the tree; confirm; then watch, station by station, which stations have pulled
it and which have reported it played (the page polls every two seconds).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from apitypes import Id
from broadcast import lists as broadcast_lists
from broadcast import placements
from broadcast import scope as area_scope
from broadcast.models import Area, Station
from db import SessionDep, utcnow
from errors import Invalid, ServiceError
from pagination import PageParams, Sort
from studio import dispatch, jobs, service
from textclean import clean_name
from web import emergency
from web.pages_documents import Search
from web.pages_renders import signed
from web.render import PageRoute, fragment, page, redirect
from web.security import Acting, SignedIn, Viewer

router = APIRouter(route_class=PageRoute)
MAX_TITLE = 200
MAX_TEXT = 1500  # a short notice: read in about two minutes, one loudspeaker bulletin
Areas = Annotated[list[Id], Query(alias="area", max_length=500)]


def area_tree(session: Session, scope: area_scope.Scope) -> list[broadcast_lists.AreaNode]:
    """The area tree the viewer may choose from (their own area at the root when scoped)."""
    return broadcast_lists.area_tree(session, params=PageParams(1, 10_000), sort=Sort("name", False), root_id=scope.area_id).rows


def chosen_areas(session: Session, scope: area_scope.Scope, ids: list[int], who: Viewer) -> list[Area]:
    """The chosen areas in the viewer's scope, without any that lies beneath another chosen one (it would air twice)."""
    areas = [area_scope.area(session, scope, area_id) for area_id in dict.fromkeys(ids)]
    if not areas:
        raise Invalid(who._("Hãy chọn ít nhất một địa bàn."))
    return [a for a in areas if not any(o.id != a.id and a.path.startswith(o.path) for o in areas)]


def stations_under(session: Session, scope: area_scope.Scope, areas: list[Area]) -> int:
    """How many stations the chosen areas hold (in the viewer's scope)."""
    query = (
        select(func.count())
        .select_from(Station)
        .join(Area, Area.id == Station.area_id)
        .where(or_(*(Area.path.startswith(a.path, autoescape=True) for a in areas)))
    )
    if not scope.everywhere:
        query = query.where(Area.path.startswith(scope.path or "", autoescape=True))
    return int(session.scalar(query) or 0)


def main_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    q: str = "",
    production_id: int | None = None,
    area_ids: list[int] | None = None,
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The emergency page: what may go on air, texts under review, the area tree, and recent emergencies."""
    scope = area_scope.of(session, who.user)
    return page(
        request,
        who,
        "app/emergency.html",
        {
            "ready": [{"r": r, "url": signed(r.output.media_key)} for r in emergency.ready(session, q.strip() or None)],
            "progress": emergency.in_progress(session),
            "tree": area_tree(session, scope),
            "recent": emergency.recent(session, scope),
            "q": q,
            "production_id": production_id,
            "chosen": set(area_ids or []),
            "error": error,
            "form": form or {},
            "can_write": who.has("editor"),
            "can_broadcast": who.has("scheduler", "producer"),
            "can_render": who.has("editor", "producer"),
            "steps": emergency.STEPS,
            "max_text": MAX_TEXT,
        },
        status_code=status_code,
    )


@router.get("/emergency")
def emergency_page(
    request: Request,
    session: SessionDep,
    who: SignedIn,
    q: Search = None,
    production_id: Annotated[Id | None, Query()] = None,
    area: Areas = [],  # noqa: B006
) -> Response:
    """Choose what to broadcast and where (or write a short notice for review)."""
    return main_page(request, session, who, q=q or "", production_id=production_id, area_ids=area)


@router.get("/emergency/confirm")
def confirm(
    request: Request,
    session: SessionDep,
    who: SignedIn,
    production_id: Annotated[Id | None, Query()] = None,
    area: Areas = [],  # noqa: B006
) -> Response:
    """The last look before the broadcast: what, where, how many stations; the button "Phát khẩn cấp"."""
    who.need("scheduler", "producer")
    scope = area_scope.of(session, who.user)
    try:
        if production_id is None:
            raise Invalid(who._("Hãy chọn bản tin cần phát."))
        chosen = emergency.ready_one(session, production_id)
        areas = chosen_areas(session, scope, area, who)
    except ServiceError as exc:
        return main_page(
            request, session, who, production_id=production_id, area_ids=area, error=exc.detail, status_code=exc.status
        )
    return page(
        request,
        who,
        "app/emergency_confirm.html",
        {
            "ready": chosen,
            "url": signed(chosen.output.media_key),
            "areas": areas,
            "stations": stations_under(session, scope, areas),
        },
    )


@router.post("/emergency")
def broadcast(
    session: SessionDep,
    who: Acting,
    production_id: Annotated[Id, Form()],
    area: Annotated[list[Id], Form(max_length=500)] = [],  # noqa: B006
) -> Response:
    """Broadcast now: one emergency airing per chosen area, at the head of every station's schedule."""
    who.need("scheduler", "producer")
    scope = area_scope.of(session, who.user)
    emergency.ready_one(session, production_id)
    areas = chosen_areas(session, scope, area, who)
    now = utcnow()
    airings = [placements.emergency(session, production_id=production_id, area_id=a.id, now=now) for a in areas]
    count = stations_under(session, scope, areas)
    session.commit()
    return redirect(
        f"/app/emergency/{airings[0].id}",
        who._("Đã phát khẩn cấp tới %(n)s trạm; các trạm nhận được ở lần hỏi lịch tới.", n=count),
    )


@router.post("/emergency/text")
def write_text(
    request: Request,
    session: SessionDep,
    who: Acting,
    title: Annotated[str, Form(max_length=MAX_TITLE * 2)],
    text: Annotated[str, Form(max_length=MAX_TEXT * 2)],
) -> Response:
    """A short notice becomes an emergency bulletin (a draft): others must approve it before it can go on air."""
    who.need("editor")
    form = {"title": title, "text": text}
    try:
        name = clean_name(title)[:MAX_TITLE]
        if not name or not text.strip():
            raise Invalid(who._("Hãy nhập tiêu đề và nội dung thông báo."))
        if len(text.strip()) > MAX_TEXT:
            raise Invalid(who._("Thông báo dài quá %(n)s ký tự; hãy viết ngắn gọn.", n=MAX_TEXT))
        made = emergency.create_from_text(session, user=who.user, title=name, text=text)
    except (ServiceError, ValueError) as exc:
        session.rollback()
        detail, code = (exc.detail, exc.status) if isinstance(exc, ServiceError) else (str(exc), 422)
        return main_page(request, session, who, error=detail, form=form, status_code=code)
    session.commit()
    return redirect(
        f"/app/productions/{made[0].id}/review",
        who._(
            "Đã tạo bản tin khẩn cấp “%(title)s”. Hãy gửi duyệt; người khác duyệt pháp lý và duyệt phát sóng.",
            title=made[0].title,
        ),
    )


@router.post("/emergency/render/{production_id}")
def render(production_id: Id, session: SessionDep, who: Acting) -> Response:
    """Render the loudspeaker bulletin of an emergency notice on the emergency queue (ahead of routine renders)."""
    who.need("editor", "producer")
    production = service.get_production(session, production_id)
    queued, _created = jobs.request_render(
        session, production=production, user=who.user, profiles=["loudspeaker"], emergency=True
    )
    session.commit()
    dispatch.send_jobs(session, queued)
    session.commit()
    return redirect("/app/emergency", who._("Đang dựng bản loa của phiên bản %(v)s.", v=queued[0].script_version))


def _watch_values(session: Session, who: Viewer, airing_id: int) -> dict[str, Any]:
    scope = area_scope.of(session, who.user)
    cast = emergency.broadcast(session, scope, airing_id)
    return {"cast": cast, "watch": emergency.watch(session, scope, cast), "first_id": airing_id}


@router.get("/emergency/{airing_id}")
def watch(airing_id: Id, request: Request, session: SessionDep, who: SignedIn) -> Response:
    """Station by station: which have pulled the emergency and which have reported it played."""
    return page(request, who, "app/emergency_watch.html", _watch_values(session, who, airing_id))


@router.get("/emergency/{airing_id}/stations")
def watch_part(airing_id: Id, request: Request, session: SessionDep, who: SignedIn) -> Response:
    """The stations part of the watch page (HTMX polls it every two seconds until every station has played it)."""
    return fragment(request, who, "app/_emergency_stations.html", _watch_values(session, who, airing_id))
