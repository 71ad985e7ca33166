"""Feed data: turn channels, published productions and their outputs into plain feed items."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assets import service as assets_service
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Channel
from feeds.items import AlternateEnclosure, CalendarEvent, Episode, Person, ShowInfo, Transcript
from settings import get_settings
from studio.models import JobStatus, Output, Production, ProductionStatus, RenderJob

ON_AIR = (ProductionStatus.published.value,)
ENCLOSURE_PROFILES = ("podcast", "radio", "loudspeaker", "video_16x9")
TRANSCRIPT_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip", "transcript": "text/plain"}


def base_url() -> str:
    """Public base URL without a trailing slash."""
    return get_settings().base_url.rstrip("/")


def show_info(channel: Channel) -> ShowInfo:
    """Channel-level feed data."""
    settings = get_settings()
    url = base_url()
    return ShowInfo(
        slug=channel.slug,
        title=channel.name,
        description=channel.description or f"{channel.name} - {settings.org_legal} và {settings.org_media}",
        link=f"{url}/feeds/{channel.slug}.rss",
        feed_url=f"{url}/feeds/{channel.slug}.rss",
        image_url=f"{url}/static/cover.png",
        author=f"{settings.org_legal}, {settings.org_media}",
        owner_name=settings.org_media,
        owner_email=channel.owner_email or "lienhe@example.invalid",
        persons=(
            Person(settings.org_legal, role="writer", group="writing"),
            Person(settings.org_media, role="producer", group="creative direction"),
        ),
    )


def published_productions(session: Session, channel: Channel) -> list[Production]:
    """Productions on the air in a channel, newest first."""
    return list(
        session.scalars(
            select(Production)
            .where(
                Production.channel_slug == channel.slug,
                Production.status.in_(ON_AIR),
                Production.source_repealed.is_(False),
            )
            .order_by(Production.published_at.desc(), Production.id.desc())
        )
    )


def _latest_outputs(session: Session, production: Production) -> dict[tuple[str, str], Output]:
    rows = session.scalars(
        select(Output)
        .join(RenderJob, Output.job_id == RenderJob.id)
        .where(Output.production_id == production.id, RenderJob.status == JobStatus.succeeded.value)
        .order_by(Output.job_id.desc())
    )
    latest: dict[tuple[str, str], Output] = {}
    for out in rows:
        latest.setdefault((out.profile, out.kind), out)
    return latest


def episode(session: Session, production: Production) -> Episode | None:
    """Feed item of a production, or None when nothing playable has been rendered."""
    outs = _latest_outputs(session, production)
    main = next(
        (outs[(p, k)] for p in ENCLOSURE_PROFILES for k in ("audio", "video") if (p, k) in outs), None
    )
    if main is None:
        return None
    url = assets_service.public_url
    sidecar = lambda kind: outs.get((main.profile, kind))  # noqa: E731
    transcripts = tuple(
        Transcript(url(o.media_key), TRANSCRIPT_TYPES[kind]) for kind in ("vtt", "srt", "transcript") if (o := sidecar(kind))
    )
    chapters = sidecar("chapters")
    alternates = tuple(
        AlternateEnclosure(url(o.media_key), o.mime_type, o.bytes, _bitrate(o), title=profile)
        for profile in ("loudspeaker", "radio")
        if profile != main.profile and (o := outs.get((profile, "audio")))
    )
    published = production.published_at or production.created_at
    updated = max([published, production.updated_at, *(o.created_at for o in outs.values())])
    return Episode(
        guid=f"lawcast-production-{production.id}",
        title=production.title,
        description=f"{production.title}. Nội dung do {get_settings().org_legal} thẩm định.",
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


def _bitrate(out: Output) -> int | None:
    if not out.duration_s:
        return None
    return int(out.bytes * 8 / out.duration_s)


def episodes(session: Session, channel: Channel) -> list[Episode]:
    """Feed items of every published production of a channel."""
    items = (episode(session, p) for p in published_productions(session, channel))
    return [item for item in items if item is not None]


def feed_state(session: Session, channel: Channel) -> tuple[str, datetime]:
    """A cheap fingerprint of everything a channel's feed shows, and when it last changed."""
    productions = session.execute(
        select(func.count(Production.id), func.max(Production.updated_at)).where(Production.channel_slug == channel.slug)
    ).one()
    outputs = session.execute(
        select(func.count(Output.id), func.max(Output.created_at))
        .join(Production, Output.production_id == Production.id)
        .where(Production.channel_slug == channel.slug)
    ).one()
    airings = session.execute(
        select(func.count(Airing.id), func.max(Airing.updated_at)).where(Airing.target_kind == "channel", Airing.target_id == channel.id)
    ).one()
    stamps = [channel.updated_at, *(_aware(t) for t in (productions[1], outputs[1], airings[1]) if t is not None)]
    changed = max(stamps)
    version = f"{changed.isoformat()}|{productions[0]}|{outputs[0]}|{airings[0]}"
    return version, changed


def _aware(value: datetime) -> datetime:
    # Aggregates bypass the column type, so SQLite hands back naive UTC (or even text).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def channel(session: Session, slug: str) -> Channel:
    """A channel by slug, or 404."""
    return broadcast_service.channel_by_slug(session, slug)


def calendar_events(session: Session, channel: Channel) -> list[CalendarEvent]:
    """One event per live airing on a channel (the programme schedule)."""
    rows = session.execute(
        select(Airing, Production.title)
        .join(Production, Airing.production_id == Production.id)
        .where(
            Airing.target_kind == "channel",
            Airing.target_id == channel.id,
            Airing.status.in_((AiringStatus.planned.value, AiringStatus.published.value, AiringStatus.aired.value)),
        )
        .order_by(Airing.start)
    ).all()
    return [
        CalendarEvent(
            uid=f"airing-{airing.id}@lawcast", summary=title, description=airing.reason,
            start=_aware(airing.start), end=_aware(airing.end), location=channel.name,
            url=f"{base_url()}/episodes/{airing.production_id}", last_modified=_aware(airing.updated_at),
        )
        for airing, title in rows
    ]
