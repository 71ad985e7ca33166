"""Request and response bodies of the studio API (those of the lists and script diffs are in studio/schemas_lists.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from apitypes import Id
from studio.engine.text.scripts import ScriptLine
from textclean import clean_name, clean_text, refuse_nul

Format = Literal["radio", "loudspeaker", "video"]
Action = Literal["submit", "request_changes", "approve_legal", "approve", "publish", "withdraw"]
DbId = Id  # apitypes.Id: 1 to 2^53-1, a bound the OpenAPI document states exactly


def _required_name(value: str) -> str:
    cleaned = clean_name(value)
    if not cleaned:
        raise ValueError("chỉ có ký tự điều khiển hoặc khoảng trắng (only control characters or blanks)")
    return cleaned


# Names and titles: one line, controls and bidi overrides removed, NUL refused (textclean). Texts: NUL refused,
# controls but tab and newline removed. Lengths are checked on what was sent, before cleaning.
Name = Annotated[str, AfterValidator(_required_name)]
OptionalName = Annotated[str, AfterValidator(clean_name)]
Body = Annotated[str, AfterValidator(clean_text)]


class DocumentIn(BaseModel):
    """Pasted text of a legal document."""

    text: str = Field(
        min_length=1, description="at most LAWCAST_MAX_TEXT_BYTES bytes of UTF-8 (413 beyond); NUL is refused (422)"
    )
    title: OptionalName | None = Field(default=None, max_length=500)

    @field_validator("text")
    @classmethod
    def not_blank(cls, value: str) -> str:
        """Refuse a text with a NUL or with nothing but whitespace."""
        refuse_nul(value)
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
    comment: Body | None = Field(default=None, max_length=4000)


class DocumentEventOut(BaseModel):
    """One change of a document's legal status."""

    model_config = ConfigDict(from_attributes=True)

    from_status: str
    to_status: str
    actor_name: str
    comment: str | None
    affected: list[int]
    at: datetime


class DocumentStatusOut(DocumentOut):
    """The document after a status change, what it touched, and what it did and did not restore."""

    affected: list[int]
    message: str
    event: DocumentEventOut


class ProductionIn(BaseModel):
    """A new production from chosen provisions of a document."""

    document_id: DbId
    format: Format
    provision_ids: list[DbId] | None = Field(default=None, max_length=20_000)
    title: OptionalName | None = Field(default=None, max_length=480)  # room for " (Phần 2/3)" in 500
    channel: OptionalName | None = Field(default=None, max_length=80, description="slug of the show/channel whose feed lists it")
    season: int | None = Field(default=None, ge=0, le=2**31 - 1)
    episode: int | None = Field(default=None, ge=0, le=2**31 - 1)
    emergency: bool = Field(default=False, description="a loudspeaker bulletin announced as an emergency (Thông báo khẩn cấp)")


class LineIn(BaseModel):
    """One script line as written by an editor."""

    speaker: Name = Field(min_length=1, max_length=40)
    text: Body = Field(min_length=1, max_length=4000)
    pause_ms: int = Field(default=400, ge=0, le=10_000)
    provision_id: DbId | None = Field(default=None, description="a provision of the production's own document")
    role: Name = Field(default="body", max_length=40)
    bed: bool = False

    def to_line(self) -> ScriptLine:
        """The script line this input describes."""
        return ScriptLine(
            speaker=self.speaker,
            text=self.text,
            pause_ms=self.pause_ms,
            provision_id=self.provision_id,
            role=self.role,
            bed=self.bed,
        )


class LineOut(BaseModel):
    """One script line as stored: the fields of LineIn, every one present."""

    model_config = ConfigDict(from_attributes=True)

    speaker: str
    text: str
    pause_ms: int
    provision_id: int | None
    role: str
    bed: bool


class ScriptIn(BaseModel):
    """A new script version."""

    lines: list[LineIn] = Field(min_length=1, max_length=500)


class TransitionIn(BaseModel):
    """A workflow action on a production."""

    action: Action
    comment: Body | None = Field(default=None, max_length=4000)


class RenderIn(BaseModel):
    """Which output profiles to render; default: all of the production's format."""

    profiles: list[Annotated[str, Field(max_length=40)]] | None = Field(default=None, max_length=20)
    priority: Literal["normal", "emergency"] = "normal"


class OutputOut(BaseModel):
    """A rendered file."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    profile: str
    kind: str
    media_key: str
    url: str
    preview_url: str = Field(description="signed URL that plays without a token for a short while (staff previews)")
    mime_type: str
    bytes: int
    sha256: str
    duration_s: float | None
    loudness_lufs: float | None
    true_peak_dbtp: float | None
    script_version: int
    approved: bool = False


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
    emergency: bool = False
    channel: str | None
    part: int | None
    parts: int | None
    current_version: int
    legal_approved_version: int | None = None
    approved_version: int | None = None
    rendered_version: int | None = None
    on_air_version: int | None = None
    script: list[LineOut]
    notes: list[str] = []
    outputs: list[OutputOut] = []
    audit: list[AuditOut] = []
    siblings: list[int] = []


class SpeechPreviewIn(BaseModel):
    """Text to preview as speech."""

    text: Body = Field(min_length=1, max_length=20_000)


class SpeechPreviewOut(BaseModel):
    """The spoken form and what could not be read."""

    spoken: str
    flags: list[dict[str, object]]


class LexiconIn(BaseModel):
    """A pronunciation entry."""

    term: Name = Field(min_length=1, max_length=80)
    spoken: Name = Field(min_length=1, max_length=300)
    note: Body | None = Field(default=None, max_length=2000)


class LexiconOut(BaseModel):
    """A stored pronunciation entry."""

    model_config = ConfigDict(from_attributes=True)

    term: str
    spoken: str
    note: str | None = None
    id: int


class ScriptOut(BaseModel):
    """One script version: its lines as written and, for each, the spoken form and flags."""

    version: int
    lines: list[LineOut]
    spoken: list[SpokenLineOut]


class RenderOut(BaseModel):
    """Render jobs asked for: the first (`job`) and all of them, one per output profile."""

    job: JobOut
    jobs: list[JobOut]
