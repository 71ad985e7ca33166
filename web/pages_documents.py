"""Documents: the list with search and filters, upload (file, drag-and-drop, paste), and a document's page."""

from __future__ import annotations

import json
from typing import Annotated, TypedDict

from fastapi import APIRouter, Form, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from apitypes import Id
from db import SessionDep
from errors import Invalid
from pagination import PageParams, Sort, Window
from settings import get_settings
from studio import ingest, legal_status, lists, service
from web.nav import DOCUMENT_STATUS
from web.render import PageRoute, fragment, is_htmx, page, redirect
from web.security import Acting, SignedIn

router = APIRouter(route_class=PageRoute)
PER_PAGE = 20
NEWEST = Sort("id", descending=True)
ALWAYS = Window(None, None)
Search = Annotated[str | None, Query(max_length=200)]
PageNo = Annotated[int, Query(alias="page", ge=1, le=100_000)]


def pages_of(total: int, per_page: int = PER_PAGE) -> int:
    """How many pages a list of `total` rows fills (at least one)."""
    return max(1, -(-total // per_page))


@router.get("/documents")
def documents(
    request: Request, session: SessionDep, who: SignedIn, q: Search = None, status: str | None = None, page_no: PageNo = 1
) -> Response:
    """Documents, newest first: search (accents folded) and a legal-status filter; the results alone for HTMX."""
    wanted = [status] if status in DOCUMENT_STATUS else None
    listing = lists.list_documents(
        session, params=PageParams(page_no, PER_PAGE), sort=NEWEST, window=ALWAYS, q=(q or "").strip() or None, status=wanted
    )
    values = {"listing": listing, "q": q or "", "status": status or "", "page_no": page_no, "pages": pages_of(listing.total)}
    if is_htmx(request) and request.headers.get("hx-target") == "ket-qua":
        return fragment(request, who, "app/_documents_table.html", values)
    return page(request, who, "app/documents.html", values)


@router.post("/documents")
async def upload(request: Request, session: SessionDep, who: Acting) -> Response:
    """Store an uploaded file (field `file`) or pasted text (field `text`), then open the document's page."""
    who.need("editor")
    await run_in_threadpool(session.commit)  # nothing of this session may hold SQLite's lock while the ingest writes
    settings = get_settings()
    form = await request.form(max_part_size=settings.text_limit + 1)
    file, pasted, title = form.get("file"), form.get("text"), form.get("title")
    title = title.strip() if isinstance(title, str) and title.strip() else None
    if file is not None and not isinstance(file, str) and file.filename:
        data = await file.read(settings.max_upload_bytes + 1)
        upload_ = ingest.Upload(data=data, content_type=file.content_type, filename=file.filename, title=title)
    elif isinstance(pasted, str) and pasted.strip():
        upload_ = ingest.Upload(text=pasted, title=title)
    else:
        raise Invalid(who._("Hãy chọn một tệp hoặc dán nội dung văn bản."))
    payload = await run_in_threadpool(ingest.ingest, upload_, who.user)
    doc = json.loads(payload)
    message = who._("Đã nhập văn bản %(title)s (%(count)s điều khoản).", title=doc["title"], count=_count(doc["provisions"]))
    return redirect(f"/app/documents/{doc['id']}", message, htmx=is_htmx(request))


class _Node(TypedDict):
    """A provision of ingest's JSON answer, as far as counting them needs."""

    children: list[_Node]


def _count(nodes: list[_Node]) -> int:
    return sum(1 + _count(node["children"]) for node in nodes)


@router.get("/documents/{document_id}")
def document(document_id: Id, request: Request, session: SessionDep, who: SignedIn) -> Response:
    """A document: metadata, collapsible provision tree, legal-status history and change, its productions."""
    doc = service.get_document(session, document_id)
    made = lists.list_productions(session, params=PageParams(1, 200), sort=NEWEST, window=ALWAYS, document_id=doc.id)
    return page(
        request,
        who,
        "app/document.html",
        {
            "doc": doc,
            "tree": service.provision_tree(doc),
            "events": legal_status.document_events(session, doc),
            "productions": made,
        },
    )


@router.post("/documents/{document_id}/status")
def document_status(
    document_id: Id,
    session: SessionDep,
    who: Acting,
    status: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Change a document's legal status with a comment (legal reviewers); repeal withdraws what was made from it."""
    who.need("legal_reviewer")
    if status not in DOCUMENT_STATUS:
        raise Invalid(who._("Hãy chọn một trạng thái hiệu lực."))
    doc = service.get_document(session, document_id)
    change = legal_status.set_document_status(session, doc=doc, status=status, user=who.user, comment=comment.strip() or None)
    session.commit()
    return redirect(f"/app/documents/{doc.id}", change.message)
