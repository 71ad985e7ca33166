"""Page data for the public HTML pages: the home page, an episode, its source law, a channel's episode list (no HTML here)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assets import service as assets_service
from broadcast.models import Channel
from errors import Gone, NotFound
from feeds import service
from studio.models import Document, DocumentStatus, Output, Production, ProductionStatus, Provision

DOC_STATUS_VI = {
    DocumentStatus.in_force.value: "Còn hiệu lực",
    DocumentStatus.partly_in_force.value: "Còn hiệu lực một phần",
    DocumentStatus.repealed.value: "Đã bị bãi bỏ",
    DocumentStatus.draft.value: "Dự thảo",
}
FORMAT_VI = {"radio": "Chuyên mục phát thanh", "loudspeaker": "Bản tin loa truyền thanh cơ sở", "video": "Tiểu phẩm pháp luật"}
PROFILE_VI = {"podcast": "Podcast (128 kbps)", "radio": "Phát thanh (320 kbps)", "loudspeaker": "Loa truyền thanh (48 kbps)"}


@dataclass(frozen=True)
class MediaLink:
    """A playable or downloadable file of an episode."""

    url: str
    mime: str
    bytes: int
    label: str = ""
    duration_s: float | None = None


@dataclass(frozen=True)
class ProvisionView:
    """A provision as a page shows it, with the anchor its document page gives it."""

    id: int
    label: str
    heading: str
    text: str
    depth: int = 0

    @property
    def anchor(self) -> str:
        """Fragment id of the provision on its document's page."""
        return f"dieu-khoan-{self.id}"


@dataclass(frozen=True)
class DocumentView:
    """A source law's header."""

    id: int
    title: str
    doc_type: str | None
    number: str | None
    issuer: str | None
    issued_on: str | None
    effective_on: str | None
    status: str


@dataclass
class EpisodeView:
    """Everything an episode page shows."""

    id: int
    title: str
    format: str
    published_at: datetime
    media: MediaLink
    is_video: bool
    captions_url: str | None
    srt_url: str | None
    transcript_url: str | None
    chapters_url: str | None
    transcript: list[tuple[str, str]]
    chapters: list[tuple[str, str]]
    document: DocumentView
    provisions: list[ProvisionView]
    channel: tuple[str, str] | None
    alternates: list[MediaLink] = field(default_factory=list)


def episode_view(session: Session, production_id: int) -> EpisodeView:
    """An episode's page data; 404 before it is published, 410 once withdrawn or its law repealed."""
    production = session.get(Production, production_id)
    if production is None or production.status not in (ProductionStatus.published.value, ProductionStatus.withdrawn.value):
        raise NotFound(f"Không có chương trình {production_id} (episode not found)")
    if production.status == ProductionStatus.withdrawn.value or production.source_repealed:
        raise Gone(f"Chương trình {production_id} đã được gỡ xuống (episode withdrawn)")
    outs = service.latest_outputs(session, [production.id])[production.id]
    main = service.main_output(outs)
    if main is None:
        raise NotFound(f"Chương trình {production_id} chưa có bản dựng (episode has no media yet)")

    def link(o: Output | None) -> str | None:
        return assets_service.media_path(o.media_key) if o else None

    def side(kind: str) -> Output | None:
        return outs.get((main.profile, kind))

    doc = session.get(Document, production.document_id)
    if doc is None:
        raise NotFound(f"Không có văn bản nguồn của chương trình {production_id} (episode's source law not found)")
    channel = session.scalar(select(Channel).where(Channel.slug == production.channel_slug)) if production.channel_slug else None
    transcript = side("transcript")
    chapters = side("chapters")
    return EpisodeView(
        id=production.id,
        title=production.title,
        format=FORMAT_VI.get(production.format, production.format),
        published_at=production.published_at or production.created_at,
        media=_media(main),
        is_video=main.kind == "video",
        captions_url=link(side("vtt")),
        srt_url=link(side("srt")),
        transcript_url=link(transcript),
        chapters_url=link(chapters),
        transcript=_paragraphs(assets_service.read_text(transcript.media_key) if transcript else None),
        chapters=_chapters(assets_service.read_text(chapters.media_key) if chapters else None),
        document=document_header(doc),
        provisions=_chosen_provisions(session, production),
        channel=(channel.slug, channel.name) if channel else None,
        alternates=[
            _media(o, PROFILE_VI.get(o.profile, o.profile))
            for (profile, kind), o in sorted(outs.items())
            if kind == "audio" and o is not main
        ],
    )


def document_view(session: Session, document_id: int) -> tuple[DocumentView, list[ProvisionView], list[tuple[int, str]]]:
    """A source law with its provision tree and its published episodes; 404 unless something from it is published."""
    doc = session.get(Document, document_id)
    episodes = []
    if doc is not None:
        episodes = list(
            session.execute(
                select(Production.id, Production.title)
                .where(
                    Production.document_id == doc.id,
                    Production.status == ProductionStatus.published.value,
                    Production.source_repealed.is_(False),
                )
                .order_by(Production.published_at.desc(), Production.id.desc())
            ).tuples()
        )
    if doc is None or not episodes:
        raise NotFound(f"Không có văn bản {document_id} được công bố (document not published)")
    depth: dict[int, int] = {}
    tree = []
    for row in doc.provisions:
        depth[row.id] = depth.get(row.parent_id, -1) + 1 if row.parent_id else 0
        tree.append(ProvisionView(row.id, row.label, row.heading, row.text, depth[row.id]))
    return document_header(doc), tree, episodes


def channel_view(session: Session, slug: str) -> tuple[Channel, list[tuple[Production, Output | None]]]:
    """A channel and its published episodes, newest first."""
    channel = service.channel(session, slug)
    rows = service.published_productions(session, channel)
    outputs = service.latest_outputs(session, [p.id for p, _ in rows])
    return channel, [(p, service.main_output(outputs[p.id])) for p, _ in rows]


@dataclass(frozen=True)
class ChannelLink:
    """A channel as the public home page lists it."""

    slug: str
    name: str
    description: str
    episodes: int


def home_view(session: Session) -> list[ChannelLink]:
    """Every channel with how many of its episodes are published, those with episodes first, then by name."""
    published = (
        select(Production.channel_slug, func.count().label("n"))
        .where(Production.status.in_(service.ON_AIR), Production.source_repealed.is_(False), Production.channel_slug.is_not(None))
        .group_by(Production.channel_slug)
        .subquery()
    )
    rows = session.execute(
        select(Channel.slug, Channel.name, Channel.description, func.coalesce(published.c.n, 0)).outerjoin(
            published, published.c.channel_slug == Channel.slug
        )
    ).tuples()
    links = [ChannelLink(slug, name, description or "", int(count)) for slug, name, description, count in rows]
    return sorted(links, key=lambda c: (c.episodes == 0, c.name.casefold()))


def document_header(doc: Document) -> DocumentView:
    """The header fields of a document as the pages show them."""

    def fmt(d: date | None) -> str | None:
        return d.strftime("%d/%m/%Y") if d else None

    return DocumentView(
        doc.id,
        doc.title,
        doc.doc_type,
        doc.number,
        doc.issuer,
        fmt(doc.issued_on),
        fmt(doc.effective_on),
        DOC_STATUS_VI.get(doc.status, doc.status),
    )


def _chosen_provisions(session: Session, production: Production) -> list[ProvisionView]:
    ids = [int(i) for i in production.provision_ids or []]
    if not ids:
        return []
    rows = {row.id: row for row in session.scalars(select(Provision).where(Provision.id.in_(ids)))}
    return [ProvisionView(r.id, r.label, r.heading, r.text) for i in ids if (r := rows.get(i))]


def _media(out: Output, label: str = "") -> MediaLink:
    return MediaLink(assets_service.media_path(out.media_key), out.mime_type, out.bytes, label, out.duration_s)


def _paragraphs(text: str | None) -> list[tuple[str, str]]:
    """Transcript paragraphs as (speaker, words); the pipeline writes 'Speaker: words' per paragraph."""
    out = []
    for block in (text or "").split("\n\n"):
        block = " ".join(block.split())
        if not block:
            continue
        speaker, sep, words = block.partition(": ")
        out.append((speaker, words) if sep and len(speaker) <= 40 else ("", block))
    return out


def _chapters(text: str | None) -> list[tuple[str, str]]:
    """(m:ss, title) of each chapter in a Podcasting 2.0 chapters file."""
    if not text:
        return []
    try:
        chapters = json.loads(text).get("chapters", [])
    except (ValueError, AttributeError):
        return []
    return [(clock(float(c.get("startTime", 0))), str(c.get("title", ""))) for c in chapters if isinstance(c, dict)]


def clock(seconds: float) -> str:
    """A duration as m:ss (or h:mm:ss)."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
