"""Public feeds: podcast RSS, Atom and iCalendar per channel, with HTTP caching."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from db import SessionDep
from feeds import service
from feeds.http import FeedCache, conditional_response
from feeds.calendar import build_calendar
from feeds.podcast import build_atom, build_podcast_rss
from settings import get_settings

router = APIRouter(tags=["feeds"])
feed_cache = FeedCache()

def _calendar(session, channel):  # type: ignore[no-untyped-def]
    return lambda: build_calendar(channel.name, service.calendar_events(session, channel), timezone=get_settings().timezone)


BUILDERS = {
    "rss": (build_podcast_rss, "application/rss+xml; charset=utf-8"),
    "atom": (build_atom, "application/atom+xml; charset=utf-8"),
    "ics": (None, "text/calendar; charset=utf-8"),
}


@router.api_route("/feeds/{slug}.{fmt}", methods=["GET", "HEAD"])
def channel_feed(slug: str, fmt: str, request: Request, session: SessionDep) -> Response:
    """A channel's podcast RSS, Atom feed or iCalendar programme; cached until its content changes."""
    if fmt not in BUILDERS:
        return Response(status_code=404, content='{"detail":"Định dạng feed không hỗ trợ; dùng .rss, .atom hoặc .ics"}', media_type="application/json")
    channel = service.channel(session, slug)
    build, media_type = BUILDERS[fmt]
    version, last_modified = service.feed_state(session, channel)
    make = _calendar(session, channel) if build is None else lambda: build(service.show_info(channel), service.episodes(session, channel))
    body = feed_cache.get_or_build(f"{fmt}:{slug}", version, make)
    return conditional_response(
        request, body, media_type=media_type, last_modified=last_modified, max_age=get_settings().feed_cache_max_age_s
    )
