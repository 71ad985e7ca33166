"""Request and response bodies of the studio API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Format = Literal["radio", "loudspeaker", "video"]
Action = Literal["submit", "request_changes", "approve_legal", "approve", "publish", "withdraw"]


class DocumentIn(BaseModel):
    """Pasted text of a legal document."""

    text: str = Field(min_length=1)
    title: str | None = None

    @field_validator("text")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("văn bản rỗng (empty text)")
        return value


class ProvisionOut(BaseModel):
    """One node of the provision tree."""

    id: int
    kind: str
    number: str
    label: str
    heading: str
    text: str
    key: str
    children: list[ProvisionOut] = []


class DocumentOut(BaseModel):
    """A document's metadata and provision tree."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    doc_type: str | None
    number: str | None
    issuer: str | None
    place: str | None
    issued_on: date | None
    effective_on: date | None
    legal_bases: list[str]
    status: str
    source_filename: str | None
    created_at: datetime
    provisions: list[ProvisionOut] = []


class DocumentStatusIn(BaseModel):
    """A change of a document's legal status."""

    status: Literal["in_force", "partly_in_force", "repealed", "draft"]
    comment: str | None = None


class ProductionIn(BaseModel):
    """A new production from chosen provisions of a document."""

    document_id: int
    format: Format
    provision_ids: list[int] | None = None
    title: str | None = None
    channel: str | None = Field(default=None, description="slug of the show/channel whose feed lists it")
    season: int | None = None
    episode: int | None = None


class LineIn(BaseModel):
    """One script line as written by an editor."""

    speaker: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=4000)
    pause_ms: int = Field(default=400, ge=0, le=10_000)
    provision_id: int | None = None
    role: str = "body"
    bed: bool = False


class ScriptIn(BaseModel):
    """A new script version."""

    lines: list[LineIn] = Field(min_length=1, max_length=500)


class TransitionIn(BaseModel):
    """A workflow action on a production."""

    action: Action
    comment: str | None = Field(default=None, max_length=4000)


class RenderIn(BaseModel):
    """Which output profiles to render; default: all of the production's format."""

    profiles: list[str] | None = None
    priority: Literal["normal", "emergency"] = "normal"


class OutputOut(BaseModel):
    """A rendered file."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    profile: str
    kind: str
    media_key: str
    url: str
    mime_type: str
    bytes: int
    sha256: str
    duration_s: float | None
    loudness_lufs: float | None
    true_peak_dbtp: float | None
    script_version: int


class JobOut(BaseModel):
    """A render job's state."""

    id: int
    production_id: int
    script_version: int
    profile: str
    status: str
    progress: float
    stage: str
    error: str | None
    attempts: int
    engines_used: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    outputs: list[OutputOut] = []


class AuditOut(BaseModel):
    """One audit event."""

    model_config = ConfigDict(from_attributes=True)

    action: str
    from_status: str
    to_status: str
    actor_name: str
    comment: str | None
    script_version: int
    at: datetime


class SpokenLineOut(BaseModel):
    """A script line with its spoken form and normalisation flags."""

    index: int
    speaker: str
    text: str
    spoken: str
    flags: list[dict[str, object]]


class ProductionOut(BaseModel):
    """A production with its current script and outputs."""

    id: int
    document_id: int
    format: str
    title: str
    status: str
    source_repealed: bool = False
    channel: str | None
    part: int | None
    parts: int | None
    current_version: int
    script: list[dict[str, object]]
    notes: list[str] = []
    outputs: list[OutputOut] = []
    audit: list[AuditOut] = []
    siblings: list[int] = []


class SpeechPreviewIn(BaseModel):
    """Text to preview as speech."""

    text: str = Field(min_length=1, max_length=20_000)


class SpeechPreviewOut(BaseModel):
    """The spoken form and what could not be read."""

    spoken: str
    flags: list[dict[str, object]]


class LexiconIn(BaseModel):
    """A pronunciation entry."""

    term: str = Field(min_length=1, max_length=80)
    spoken: str = Field(min_length=1, max_length=300)
    note: str | None = None


class LexiconOut(LexiconIn):
    """A stored pronunciation entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
