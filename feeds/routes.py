"""Public feeds (podcast RSS, Atom, iCalendar per channel, with HTTP caching) and the public HTML pages."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from apitypes import Id
from assets.http import Representation, conditional_response, represent
from db import SessionDep, session_scope
from errors import NotFound, ServiceError
from feeds import pages, service
from openapi import NOT_MODIFIED, content, get_and_head
from outages import kind, mark_stale
from settings import get_settings
from templating import public as templates

router = APIRouter(tags=["feeds"])
FEED_RESPONSES: dict[int | str, dict[str, object]] = {
    200: content(*(media_type.split(";")[0] for media_type in service.MEDIA_TYPES.values()), description="The feed"),
    304: NOT_MODIFIED,
}
# The public pages answer their errors as pages too (validation errors and outages stay JSON).
PAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    304: NOT_MODIFIED,
    404: content("text/html", description="No such page, or nothing published there yet"),
    410: content("text/html", description="Withdrawn on purpose"),
}


def _validated(slug: str, fmt: str) -> Representation:
    with session_scope() as session:
        return service.feed(session, slug, fmt)


@get_and_head(router, "/feeds/{slug}.{fmt}", response_class=Response, responses=FEED_RESPONSES)
async def channel_feed(slug: str, fmt: str, request: Request) -> Response:
    """A channel's podcast RSS, Atom feed or iCalendar programme; cached until its content changes."""
    if fmt not in service.MEDIA_TYPES:
        raise NotFound(f"Định dạng feed '{fmt}' không hỗ trợ; dùng .rss, .atom hoặc .ics (unsupported feed format)")
    # Polls within the revalidation window never get here: feeds.asgi.FeedFastPath answers them from memory.
    try:
        rep = await run_in_threadpool(_validated, slug, fmt)
    except Exception as exc:
        # During a database outage the last feed built, marked stale, for up to LAWCAST_FEED_STALE_IF_ERROR_S.
        last = service.stale_feed(slug, fmt) if kind(exc) == "database" else None
        if last is None:
            raise  # the app answers a JSON 503 with Retry-After
        return mark_stale(represent(request, last.value, max_age=0), last.age_s)
    return represent(request, rep, max_age=get_settings().feed_cache_max_age_s)


templates.env.globals["clock"] = pages.clock


def _page(request: Request, name: str, context: dict[str, object], status_code: int = 200) -> Response:
    settings = get_settings()
    html = (
        templates.get_template(name)
        .render(
            request=request,
            site_name="Tìm hiểu pháp luật",
            home_url="/",
            org_legal=settings.org_legal,
            org_media=settings.org_media,
            **context,
        )
        .encode()
    )
    if status_code != 200:
        return Response(html, status_code=status_code, media_type="text/html; charset=utf-8")
    return conditional_response(request, html, media_type="text/html; charset=utf-8", last_modified=None, max_age=60)


def _error_page(request: Request, exc: ServiceError) -> Response:
    heading = "Chương trình đã được gỡ xuống" if exc.status == 410 else "Không tìm thấy trang"
    return _page(request, "error.html", {"heading": heading, "detail": exc.detail}, status_code=exc.status)


@get_and_head(router, "/", response_class=HTMLResponse, responses={304: NOT_MODIFIED})
def home_page(request: Request, session: SessionDep) -> Response:
    """The public home page: every channel, with links to its page and its feeds."""
    return _page(request, "home.html", {"channels": pages.home_view(session)})


@get_and_head(router, "/episodes/{production_id}", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def episode_page(production_id: Id, request: Request, session: SessionDep) -> Response:
    """An episode's page: player with Vietnamese subtitles, full transcript, and links to the source law."""
    try:
        view = pages.episode_view(session, production_id)
    except ServiceError as exc:
        return _error_page(request, exc)
    return _page(request, "episode.html", {"ep": view})


@get_and_head(router, "/documents/{document_id}", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def document_page(document_id: Id, request: Request, session: SessionDep) -> Response:
    """A source law with every provision anchored, once something made from it is published."""
    try:
        doc, provisions, episodes = pages.document_view(session, document_id)
    except ServiceError as exc:
        return _error_page(request, exc)
    return _page(request, "document.html", {"doc": doc, "provisions": provisions, "episodes": episodes})


@get_and_head(router, "/channels/{slug}", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def channel_page(slug: str, request: Request, session: SessionDep) -> Response:
    """A channel's published episodes and its feed links."""
    try:
        channel, items = pages.channel_view(session, slug)
    except ServiceError as exc:
        return _error_page(request, exc)
    return _page(request, "channel.html", {"channel": channel, "items": items})
