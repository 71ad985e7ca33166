"""Studio lists: documents, productions and render jobs, filtered, searched, sorted and paged; script diffs.

A seam of its own (service.py and jobs.py hold the writes): plain query functions that return a
`pagination.Listing`, and a line diff between two script versions for reviewers.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, defer

from pagination import Listing, PageParams, Sort, Window, fetch, order_by, within
from studio import search, service
from studio.engine.text.scripts import ScriptLine
from studio.models import Document, Production, RenderJob

# Sort keys are the indexed columns only (migration 0003): a deep page must never sort a whole table.
DOCUMENT_SORTS = {
    "id": Document.id,
    "created_at": Document.created_at,
    "title": Document.title,
    "number": Document.number,
    "issued_on": Document.issued_on,
}
PRODUCTION_SORTS = {
    "id": Production.id,
    "created_at": Production.created_at,
    "updated_at": Production.updated_at,
    "title": Production.title,
    "status": Production.status,
}
JOB_SORTS = {"id": RenderJob.id, "created_at": RenderJob.created_at, "status": RenderJob.status}
SOURCE_LANGUAGE = "vi"  # every production is Vietnamese until language versions exist (DESIGN.md, a later issue)


def _page(
    session: Session,
    query: Select[Any],
    column: Any,
    kind: str,
    q: str | None,
    params: PageParams,
    order: list[Any],
    *,
    filtered: bool,
    load: Select[Any],
) -> Listing[Any]:
    """One page of the query, restricted to rows whose search entry holds every word of `q` (if it has words).

    `filtered`: the query has other conditions, which then lead the plan. Without them the search index alone
    counts the matches, and the page walks the sort key's index. `load` reads a deep page's rows by key.
    """
    words = search.query_words(q)
    if not words:
        return fetch(session, query, params, order, load=load)
    if filtered:
        return fetch(session, query.where(search.matches(session, kind, column, words)), params, order, load=load)
    paged = query.where(search.matches(session, kind, column, words, paging=True))
    return fetch(session, paged, params, order, total=search.count(session, kind, words), load=load)


def list_documents(
    session: Session,
    *,
    params: PageParams,
    sort: Sort,
    window: Window,
    q: str | None = None,
    status: Sequence[str] | None = None,
) -> Listing[Document]:
    """Documents (without their text) matching a search, legal statuses and a creation window."""
    load = select(Document).options(defer(Document.text), defer(Document.legal_bases))
    query = load
    if status:
        query = query.where(Document.status.in_(list(status)))
    query = within(query, Document.created_at, window)
    order = order_by(sort, DOCUMENT_SORTS, Document.id)
    return _page(session, query, Document.id, "documents", q, params, order, filtered=bool(status) or window.bounded, load=load)


def list_productions(
    session: Session,
    *,
    params: PageParams,
    sort: Sort,
    window: Window,
    q: str | None = None,
    status: Sequence[str] | None = None,
    format: str | None = None,
    document_id: int | None = None,
    language: str | None = None,
    channel: str | None = None,
) -> Listing[Production]:
    """Productions matching a search and filters; `language` other than Vietnamese matches none yet."""
    load = select(Production).options(defer(Production.provision_ids))
    query = load
    if status:
        query = query.where(Production.status.in_(list(status)))
    if format is not None:
        query = query.where(Production.format == format)
    if document_id is not None:
        query = query.where(Production.document_id == document_id)
    if channel is not None:
        query = query.where(Production.channel_slug == channel)
    if language is not None and language.split("-")[0].lower() != SOURCE_LANGUAGE:
        return Listing([], 0)
    query = within(query, Production.created_at, window)
    order = order_by(sort, PRODUCTION_SORTS, Production.id)
    filtered = bool(status) or window.bounded or any(v is not None for v in (format, document_id, channel))
    return _page(session, query, Production.id, "productions", q, params, order, filtered=filtered, load=load)


def list_jobs(
    session: Session,
    *,
    params: PageParams,
    sort: Sort,
    window: Window,
    status: Sequence[str] | None = None,
    production_id: int | None = None,
    profile: str | None = None,
) -> Listing[RenderJob]:
    """Render jobs by status, production, profile and creation window."""
    query = select(RenderJob)
    if status:
        query = query.where(RenderJob.status.in_(list(status)))
    if production_id is not None:
        query = query.where(RenderJob.production_id == production_id)
    if profile is not None:
        query = query.where(RenderJob.profile == profile)
    query = within(query, RenderJob.created_at, window)
    return fetch(session, query, params, order_by(sort, JOB_SORTS, RenderJob.id))


# --- script diffs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: what happened to it, where it was and is, and its speaker and text on each side."""

    op: str  # equal | insert | delete | replace
    old_index: int | None
    new_index: int | None
    old: ScriptLine | None
    new: ScriptLine | None


@dataclass(frozen=True)
class ScriptDiff:
    """A line-level diff between two script versions of a production."""

    production_id: int
    from_version: int
    to_version: int
    lines: list[DiffLine]


def script_diff(session: Session, *, production_id: int, from_version: int, to_version: int) -> ScriptDiff:
    """Line diff (difflib) of two versions, comparing speaker and text; 404 for a missing production or version."""
    production = service.get_production(session, production_id)
    old = service.script_version(session, production, from_version).lines
    new = service.script_version(session, production, to_version).lines
    matcher = difflib.SequenceMatcher(a=[(x.speaker, x.text) for x in old], b=[(x.speaker, x.text) for x in new], autojunk=False)
    out: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [DiffLine("equal", i, j, old[i], new[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        out += [DiffLine("replace", i1 + k, j1 + k, old[i1 + k], new[j1 + k]) for k in range(paired)]
        out += [DiffLine("delete", i, None, old[i], None) for i in range(i1 + paired, i2)]
        out += [DiffLine("insert", None, j, None, new[j]) for j in range(j1 + paired, j2)]
    return ScriptDiff(production.id, from_version, to_version, out)
