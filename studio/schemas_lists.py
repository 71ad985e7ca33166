"""Response bodies of the studio lists (documents, productions, jobs) and of script diffs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DocumentSummaryOut(BaseModel):
    """A document in a list: its metadata, without text or provisions."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    doc_type: str | None
    number: str | None
    issuer: str | None
    issued_on: date | None
    effective_on: date | None
    status: str
    source_filename: str | None
    created_at: datetime


class ProductionSummaryOut(BaseModel):
    """A production in a list: its state, without script, outputs or audit trail."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    document_id: int
    format: str
    title: str
    status: str
    source_repealed: bool
    emergency: bool = False
    channel: str | None = Field(validation_alias="channel_slug")
    part: int | None
    parts: int | None
    current_version: int
    approved_version: int | None = None
    language: str = "vi"
    created_at: datetime
    updated_at: datetime


class JobSummaryOut(BaseModel):
    """A render job in a list, without its outputs (GET /api/jobs/{id} has them)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    production_id: int
    script_version: int
    profile: str
    status: str
    progress: float
    stage: str
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class DiffSideOut(BaseModel):
    """A script line on one side of a diff."""

    model_config = ConfigDict(from_attributes=True)

    speaker: str
    text: str


class DiffLineOut(BaseModel):
    """One line of a script diff; `old`/`new` are absent on the side where the line does not exist."""

    model_config = ConfigDict(from_attributes=True)

    op: Literal["equal", "insert", "delete", "replace"]
    old_index: int | None
    new_index: int | None
    old: DiffSideOut | None
    new: DiffSideOut | None


class ScriptDiffOut(BaseModel):
    """A line-level diff between two script versions, with a count per kind of change."""

    model_config = ConfigDict(from_attributes=True)

    production_id: int
    from_version: int
    to_version: int
    counts: dict[str, int]
    lines: list[DiffLineOut]
