"""Feed data: turn channels, published productions and their outputs into plain feed items, and cache built feeds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import ORMExecuteState, Session

from assets import service as assets_service
from assets.answer_cache import AnswerCache, Stale
from assets.http import Representation
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Channel
from errors import NotFound
from feeds.calendar import build_calendar
from feeds.items import AlternateEnclosure, CalendarEvent, Episode, Person, ShowInfo, Transcript
from feeds.podcast import build_atom, build_podcast_rss
from settings import get_settings
from studio.models import Document, JobStatus, Output, Production, ProductionStatus, RenderJob
from timeutil import aware_utc

ON_AIR = (ProductionStatus.published.value,)
ENCLOSURE_PROFILES = ("podcast", "radio", "loudspeaker", "video_16x9")
ALTERNATE_PROFILES = ("loudspeaker", "radio")
TRANSCRIPT_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip", "transcript": "text/plain"}
LIVE_AIRINGS = (AiringStatus.planned.value, AiringStatus.published.value, AiringStatus.aired.value)
MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}
# Tables whose rows a feed, a calendar or an episode page shows; a commit touching one invalidates the cache.
WATCHED_TABLES = frozenset({"productions", "outputs", "render_jobs", "airings", "channels", "documents", "provisions"})

Outputs = dict[tuple[str, str], Output]
feed_cache: AnswerCache[Representation] = AnswerCache()


def base_url() -> str:
    """Public base URL without a trailing slash."""
    return get_settings().base_url.rstrip("/")


def show_info(channel: Channel) -> ShowInfo:
    """Channel-level feed data, with its generated cover art."""
    settings = get_settings()
    url = base_url()
    credits = (settings.org_legal, settings.org_media)
    return ShowInfo(
        slug=channel.slug,
        title=channel.name,
        description=channel.description or f"{channel.name} - {settings.org_legal} và {settings.org_media}",
        link=f"{url}/channels/{channel.slug}",
        feed_url=f"{url}/feeds/{channel.slug}.rss",
        image_url=assets_service.cover_url(title=channel.name, subtitle="Phổ biến, giáo dục pháp luật", credits=credits),
        author=f"{settings.org_legal}, {settings.org_media}",
        owner_name=settings.org_media,
        owner_email=channel.owner_email or "lienhe@example.invalid",
        persons=(
            Person(settings.org_legal, role="writer", group="writing"),
            Person(settings.org_media, role="producer", group="creative direction"),
        ),
    )


def published_productions(session: Session, channel: Channel) -> list[tuple[Production, str]]:
    """Productions on the air in a channel with their source document's title, newest first."""
    rows = session.execute(
        select(Production, Document.title)
        .join(Document, Production.document_id == Document.id)
        .where(
            Production.channel_slug == channel.slug,
            Production.status.in_(ON_AIR),
            Production.source_repealed.is_(False),
        )
        .order_by(Production.published_at.desc(), Production.id.desc())
    ).all()
    return [(production, title) for production, title in rows]


def latest_outputs(session: Session, production_ids: Sequence[int]) -> dict[int, Outputs]:
    """Per production, the newest succeeded output of each (profile, kind) of its approved version, in one query."""
    latest: dict[int, Outputs] = {pid: {} for pid in production_ids}
    if not production_ids:
        return latest
    rows = session.scalars(
        select(Output)
        .join(RenderJob, Output.job_id == RenderJob.id)
        .join(Production, Output.production_id == Production.id)
        .where(
            Output.production_id.in_(list(production_ids)),
            RenderJob.status == JobStatus.succeeded.value,
            # Only what was approved ever reaches the public: never a render of an earlier or later version.
            Output.script_version == Production.approved_version,
        )
        .order_by(Output.job_id.desc(), Output.id)
    )
    for out in rows:
        latest[out.production_id].setdefault((out.profile, out.kind), out)
    return latest


def main_output(outs: Outputs) -> Output | None:
    """The output a feed item encloses: podcast first, then radio, loudspeaker, video."""
    return next((outs[(p, k)] for p in ENCLOSURE_PROFILES for k in ("audio", "video") if (p, k) in outs), None)


def episode_from(production: Production, outs: Outputs, document_title: str | None = None) -> Episode | None:
    """Feed item of a production from its outputs, or None when nothing playable has been rendered."""
    main = main_output(outs)
    if main is None:
        return None
    url = assets_service.public_url

    def sidecar(kind: str) -> Output | None:
        return outs.get((main.profile, kind))

    transcripts = tuple(
        Transcript(url(o.media_key), TRANSCRIPT_TYPES[kind]) for kind in ("vtt", "srt", "transcript") if (o := sidecar(kind))
    )
    chapters = sidecar("chapters")
    alternates = tuple(
        AlternateEnclosure(url(o.media_key), o.mime_type, o.bytes, _bitrate(o), title=profile)
        for profile in ALTERNATE_PROFILES
        if profile != main.profile and (o := outs.get((profile, "audio")))
    )
    settings = get_settings()
    published = production.published_at or production.created_at
    updated = max([published, production.updated_at, *(o.created_at for o in outs.values())])
    source = f" Nguồn: {document_title}." if document_title else ""
    return Episode(
        guid=f"lawcast-production-{production.id}",
        title=production.title,
        description=f"{production.title}.{source} Nội dung do {settings.org_legal} thẩm định, {settings.org_media} sản xuất.",
        link=f"{base_url()}/episodes/{production.id}",
        published_at=published,
        updated_at=updated,
        enclosure_url=url(main.media_key),
        enclosure_length=main.bytes,
        enclosure_type=main.mime_type,
        duration_s=main.duration_s or 0.0,
        transcripts=transcripts,
        chapters_url=url(chapters.media_key) if chapters else None,
        alternates=alternates,
        season=production.season,
        episode=production.episode,
    )


def episode(session: Session, production: Production) -> Episode | None:
    """Feed item of one production, or None when nothing playable has been rendered."""
    return episode_from(production, latest_outputs(session, [production.id])[production.id])


def _bitrate(out: Output) -> int | None:
    if not out.duration_s:
        return None
    return int(out.bytes * 8 / out.duration_s)


def episodes(session: Session, channel: Channel) -> list[Episode]:
    """Feed items of every published production of a channel (three queries whatever their number)."""
    rows = published_productions(session, channel)
    outputs = latest_outputs(session, [p.id for p, _ in rows])
    items = (episode_from(p, outputs[p.id], title) for p, title in rows)
    return [item for item in items if item is not None]


def feed_state(session: Session, slug: str) -> tuple[Channel, str, datetime]:
    """The channel, a cheap fingerprint of everything its feeds show, and when that last changed: one query."""
    mine = Production.channel_slug == Channel.slug
    on_channel = (Airing.target_kind == "channel") & (Airing.target_id == Channel.id)
    aggregates = [
        select(func.count(Production.id)).where(mine),
        select(func.max(Production.updated_at)).where(mine),
        select(func.count(Output.id)).join(Production, Output.production_id == Production.id).where(mine),
        select(func.max(Output.created_at)).join(Production, Output.production_id == Production.id).where(mine),
        select(func.count(Airing.id)).where(on_channel),
        select(func.max(Airing.updated_at)).where(on_channel),
    ]
    row = session.execute(
        select(Channel, *(q.correlate(Channel).scalar_subquery() for q in aggregates)).where(Channel.slug == slug)
    ).one_or_none()
    if row is None:
        raise NotFound(f"Không có kênh '{slug}' (channel not found)")
    channel, n_productions, productions_at, n_outputs, outputs_at, n_airings, airings_at = row
    stamps = [aware_utc(channel.updated_at), *(aware_utc(t) for t in (productions_at, outputs_at, airings_at) if t is not None)]
    changed = max(stamps)
    version = f"{changed.isoformat()}|{n_productions}|{n_outputs}|{n_airings}|{channel.updated_at.isoformat()}"
    return channel, version, changed


def channel(session: Session, slug: str) -> Channel:
    """A channel by slug, or 404."""
    return broadcast_service.channel_by_slug(session, slug)


def calendar_events(session: Session, channel: Channel) -> list[CalendarEvent]:
    """One event per live airing on a channel (the programme schedule); withdrawn content is left out."""
    rows = session.execute(
        select(Airing, Production.title)
        .join(Production, Airing.production_id == Production.id)
        .where(
            Airing.target_kind == "channel",
            Airing.target_id == channel.id,
            Airing.status.in_(LIVE_AIRINGS),
            Production.status != ProductionStatus.withdrawn.value,
            Production.source_repealed.is_(False),
        )
        .order_by(Airing.start)
    ).all()
    return [
        CalendarEvent(
            uid=f"airing-{airing.id}@lawcast",
            summary=title,
            description=airing.reason,
            start=aware_utc(airing.start),
            end=aware_utc(airing.end),
            location=channel.name,
            url=f"{base_url()}/episodes/{airing.production_id}",
            last_modified=aware_utc(airing.updated_at),
        )
        for airing, title in rows
    ]


def build_feed(session: Session, channel: Channel, fmt: str) -> bytes:
    """Build one feed of a channel: podcast RSS, Atom or iCalendar."""
    if fmt == "ics":
        return build_calendar(channel.name, calendar_events(session, channel), timezone=get_settings().timezone)
    build: Callable[[ShowInfo, Sequence[Episode]], bytes] = build_podcast_rss if fmt == "rss" else build_atom
    return build(show_info(channel), episodes(session, channel))


def recent_feed(slug: str, fmt: str) -> Representation | None:
    """A feed this process validated moments ago, answered without touching the database."""
    return feed_cache.recent(f"{fmt}:{slug}", get_settings().feed_revalidate_s)


def stale_feed(slug: str, fmt: str) -> Stale[Representation] | None:
    """The feed last built or validated, if within LAWCAST_FEED_STALE_IF_ERROR_S (answered while the database is down)."""
    return feed_cache.stale(f"{fmt}:{slug}", get_settings().feed_stale_if_error_s)


def feed(session: Session, slug: str, fmt: str) -> Representation:
    """A channel's feed: one query to check its version, a rebuild only when the content changed."""
    key = f"{fmt}:{slug}"
    generation = feed_cache.generation
    try:
        found, version, changed = feed_state(session, slug)

        def make() -> Representation:
            return Representation.of(build_feed(session, found, fmt), media_type=MEDIA_TYPES[fmt], last_modified=changed)

        return feed_cache.get_or_build(key, version, make, generation=generation)
    finally:
        feed_cache.release(key)


def _touches_feeds(objects: Any) -> bool:
    return any(getattr(getattr(obj, "__table__", None), "name", None) in WATCHED_TABLES for obj in objects)


def _note_flush(session: Session, _context: object) -> None:
    if _touches_feeds(chain(session.new, session.dirty, session.deleted)):
        session.info["feeds_changed"] = True


def _note_bulk(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in WATCHED_TABLES:
            state.session.info["feeds_changed"] = True


def _invalidate_on_commit(session: Session) -> None:
    if session.info.pop("feeds_changed", False):
        feed_cache.invalidate()


def _forget_on_rollback(session: Session) -> None:
    session.info.pop("feeds_changed", None)


_LISTENERS = (
    ("after_flush", _note_flush),
    ("do_orm_execute", _note_bulk),
    ("after_commit", _invalidate_on_commit),
    ("after_rollback", _forget_on_rollback),
)


def register_listeners() -> None:
    """Watch every session's writes to what feeds show, so a commit in this process invalidates built feeds (idempotent).

    The app factory calls this; session events, not calls in the services, because most of those tables
    belong to the studio, which never imports feeds.
    """
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
