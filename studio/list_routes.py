"""Studio lists in the API: documents, productions and jobs (filters, `q` search, sort, pages), and script diffs.

Included by studio.routes into its router; any staff user may read them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from apitypes import Id
from auth import Staff
from db import SessionDep
from pagination import Created, Page, Paging, QueryText, Sort, page_of, sorting
from studio import lists
from studio.schemas_lists import DiffLineOut, DocumentSummaryOut, JobSummaryOut, ProductionSummaryOut, ScriptDiffOut

router = APIRouter(tags=["studio"])  # studio.routes includes it under its /api prefix

DocumentStatusName = Literal["in_force", "partly_in_force", "repealed", "draft"]
ProductionStatusName = Literal[
    "draft", "in_review", "changes_requested", "legally_approved", "approved", "published", "withdrawn"
]
JobStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Search = Annotated[
    QueryText | None,
    Query(max_length=200, description='full-text search, accents folded: "pho bien" finds "phổ biến"; every word must match'),
]
Language = Annotated[
    QueryText | None,
    Query(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description="BCP 47 tag; all productions are 'vi' for now"),
]
DocumentSort = Annotated[Sort, sorting(tuple(lists.DOCUMENT_SORTS), default="-id")]
ProductionSort = Annotated[Sort, sorting(tuple(lists.PRODUCTION_SORTS), default="-id")]
JobSort = Annotated[Sort, sorting(tuple(lists.JOB_SORTS), default="-id")]


@router.get("/documents", response_model=Page[DocumentSummaryOut])
def list_documents(
    session: SessionDep,
    user: Staff,
    paging: Paging,
    sort: DocumentSort,
    created: Created,
    q: Search = None,
    status: Annotated[list[DocumentStatusName] | None, Query(description="legal status; repeat for several")] = None,
) -> Page[DocumentSummaryOut]:
    """Documents, newest first: search title, number and provision text; filter by legal status and creation time."""
    listing = lists.list_documents(session, params=paging, sort=sort, window=created, q=q, status=status)
    return page_of(DocumentSummaryOut, listing, paging)


@router.get("/productions", response_model=Page[ProductionSummaryOut])
def list_productions(
    session: SessionDep,
    user: Staff,
    paging: Paging,
    sort: ProductionSort,
    created: Created,
    q: Search = None,
    status: Annotated[list[ProductionStatusName] | None, Query(description="workflow status; repeat for several")] = None,
    format: Literal["radio", "loudspeaker", "video"] | None = None,
    document_id: Annotated[Id | None, Query()] = None,
    language: Language = None,
    channel: Annotated[QueryText | None, Query(max_length=80, description="slug of the show/channel")] = None,
) -> Page[ProductionSummaryOut]:
    """Productions, newest first: search titles (and the source's number); filter by status, format, document, channel."""
    listing = lists.list_productions(
        session,
        params=paging,
        sort=sort,
        window=created,
        q=q,
        status=status,
        format=format,
        document_id=document_id,
        language=language,
        channel=channel,
    )
    return page_of(ProductionSummaryOut, listing, paging)


@router.get("/jobs", response_model=Page[JobSummaryOut])
def list_jobs(
    session: SessionDep,
    user: Staff,
    paging: Paging,
    sort: JobSort,
    created: Created,
    status: Annotated[list[JobStatusName] | None, Query(description="job status; repeat for several")] = None,
    production_id: Annotated[Id | None, Query()] = None,
    profile: Annotated[QueryText | None, Query(max_length=20)] = None,
) -> Page[JobSummaryOut]:
    """Render jobs, newest first, by status, production, profile and creation time."""
    listing = lists.list_jobs(
        session, params=paging, sort=sort, window=created, status=status, production_id=production_id, profile=profile
    )
    return page_of(JobSummaryOut, listing, paging)


@router.get("/productions/{production_id}/diff", response_model=ScriptDiffOut)
def script_diff(
    production_id: Id,
    session: SessionDep,
    user: Staff,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1, description="older script version")],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1, description="newer script version")],
) -> ScriptDiffOut:
    """Line-level diff between two script versions (speaker and text of each line), for the reviewer."""
    diff = lists.script_diff(session, production_id=production_id, from_version=from_version, to_version=to_version)
    lines = [DiffLineOut.model_validate(line) for line in diff.lines]
    counts = {op: sum(1 for line in diff.lines if line.op == op) for op in ("equal", "insert", "delete", "replace")}
    return ScriptDiffOut(
        production_id=diff.production_id, from_version=diff.from_version, to_version=diff.to_version, counts=counts, lines=lines
    )
