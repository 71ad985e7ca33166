"""Studio rows: documents and provisions, productions, script versions, audit, render jobs, outputs."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, utcnow
from studio.engine.text.scripts import ScriptLine


class DocumentStatus(enum.StrEnum):
    """Legal status of a source document."""

    in_force = "in_force"
    partly_in_force = "partly_in_force"
    repealed = "repealed"
    draft = "draft"


class ProductionStatus(enum.StrEnum):
    """Co-production workflow states (DESIGN.md)."""

    draft = "draft"
    in_review = "in_review"
    changes_requested = "changes_requested"
    legally_approved = "legally_approved"
    approved = "approved"
    published = "published"
    withdrawn = "withdrawn"


class JobStatus(enum.StrEnum):
    """Render job states."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class Document(Base):
    """An ingested legal text with its header metadata."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    doc_type: Mapped[str | None] = mapped_column(String(60))
    number: Mapped[str | None] = mapped_column(String(80), index=True)
    issuer: Mapped[str | None] = mapped_column(String(300))
    place: Mapped[str | None] = mapped_column(String(120))
    issued_on: Mapped[date | None]
    effective_on: Mapped[date | None]
    legal_bases: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.in_force.value)
    text: Mapped[str] = mapped_column(Text)
    source_filename: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    provisions: Mapped[list[Provision]] = relationship(
        back_populates="document", order_by="Provision.position", cascade="all, delete-orphan"
    )


class Provision(Base):
    """One node of a document's Phần/Chương/Mục/Điều/Khoản/Điểm tree."""

    __tablename__ = "provisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("provisions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    number: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(60))
    heading: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    key: Mapped[str] = mapped_column(String(255))
    document: Mapped[Document] = relationship(back_populates="provisions")


class Production(Base):
    """A radio segment, loudspeaker bulletin or video sketch made from a document."""

    __tablename__ = "productions"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    format: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(24), default=ProductionStatus.draft.value, index=True)
    provision_ids: Mapped[list[Any]] = mapped_column(default=list)
    channel_slug: Mapped[str | None] = mapped_column(String(80), index=True)
    part: Mapped[int | None]
    parts: Mapped[int | None]
    series_id: Mapped[int | None] = mapped_column(index=True)  # id of part 1, shared by every part of a split bulletin
    season: Mapped[int | None]
    episode: Mapped[int | None]
    source_repealed: Mapped[bool] = mapped_column(default=False)
    emergency: Mapped[bool] = mapped_column(default=False, server_default=false())  # an emergency bulletin (migration 0008)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    current_version: Mapped[int] = mapped_column(default=1)
    # The script version each approval was given to; an edit clears both, so an approval never outlives its text.
    legal_approved_version: Mapped[int | None]
    legal_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_version: Mapped[int | None]
    approved_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    versions: Mapped[list[ScriptVersion]] = relationship(back_populates="production", order_by="ScriptVersion.version")


class ScriptVersion(Base):
    """An immutable version of a production's script."""

    __tablename__ = "script_versions"
    __table_args__ = (UniqueConstraint("production_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    production_id: Mapped[int] = mapped_column(ForeignKey("productions.id", ondelete="CASCADE"))
    version: Mapped[int]
    # The column holds plain JSON; code reads and writes `lines`, the one place where the two are converted.
    lines_json: Mapped[list[Any]] = mapped_column("lines")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    production: Mapped[Production] = relationship(back_populates="versions")

    @property
    def lines(self) -> list[ScriptLine]:
        """The script's lines, read from the stored JSON (TypeError when it holds something else)."""
        return [ScriptLine.from_json(item) for item in self.lines_json]

    @lines.setter
    def lines(self, lines: Sequence[ScriptLine]) -> None:
        """Store the script's lines as JSON."""
        self.lines_json = [line.to_json() for line in lines]


class DocumentEvent(Base):
    """A change of a document's legal status: who, when, from what to what, and why."""

    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)
    affected: Mapped[list[Any]] = mapped_column(default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """One workflow transition: who, when, what, with which script version."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    production_id: Mapped[int] = mapped_column(ForeignKey("productions.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)
    script_version: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class RenderJob(Base):
    """One render of (production, script version, profile) through the queue."""

    __tablename__ = "render_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    production_id: Mapped[int] = mapped_column(ForeignKey("productions.id", ondelete="CASCADE"), index=True)
    script_version: Mapped[int]
    profile: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12), default=JobStatus.queued.value, index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(60), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    # Claims so far; the running attempt's number fences every write it makes (studio.jobs.Attempt).
    attempts: Mapped[int] = mapped_column(default=0)
    # Attempts the reaper found dead (a stale heartbeat); counted, like errors of the job, against the cap.
    workers_lost: Mapped[int] = mapped_column(default=0)
    queue: Mapped[str] = mapped_column(String(20), default="render")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    engines_used: Mapped[list[Any]] = mapped_column(default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # When its message last went to the broker, and how many times: the reaper re-sends lost messages.
    sent_at: Mapped[datetime | None]
    sends: Mapped[int] = mapped_column(default=0)
    outputs: Mapped[list[Output]] = relationship(back_populates="job", order_by="Output.id")


class Output(Base):
    """A finished file of a render: the media itself or a sidecar (subtitles, transcript, chapters)."""

    __tablename__ = "outputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("render_jobs.id", ondelete="CASCADE"), index=True)
    production_id: Mapped[int] = mapped_column(ForeignKey("productions.id", ondelete="CASCADE"), index=True)
    script_version: Mapped[int]
    profile: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    media_key: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(80))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float | None]
    loudness_lufs: Mapped[float | None]
    true_peak_dbtp: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    job: Mapped[RenderJob] = relationship(back_populates="outputs")


class LexiconEntry(Base):
    """An editor-maintained pronunciation: written form -> spoken form."""

    __tablename__ = "lexicon_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(80), unique=True)
    spoken: Mapped[str] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Lists sort by these keys with the id as tiebreak (studio.lists): one index per (key, id) lets any page, however deep,
# walk an index instead of sorting the table (PostgreSQL needs the id in it; in SQLite it is the implicit rowid).
LIST_INDEXES = [
    Index(f"ix_{column.table.name}_{column.name}_id", column, column.table.c.id)
    for column in (
        Document.created_at,
        Document.title,
        Document.issued_on,
        Production.created_at,
        Production.updated_at,
        Production.title,
        Production.status,
        RenderJob.created_at,
        RenderJob.status,
    )
]
