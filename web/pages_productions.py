"""Productions: the list, a new production from ticked provisions, and the script editor with "Nghe thử"."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from apitypes import Id
from assets import access
from broadcast import lists as broadcast_lists
from db import SessionDep
from errors import Invalid, ServiceError, ServiceUnavailable
from pagination import PageParams, Sort
from studio import jobs, lists, scripting, service, workflow
from studio.engine.text.scripts import ScriptLine
from studio.engine.tts import EngineError
from studio.models import Production
from studio.schemas import ScriptIn
from web import speech as line_speech
from web.nav import FORMATS, PRODUCTION_STATUS, SPEAKERS
from web.pages_documents import ALWAYS, NEWEST, PER_PAGE, PageNo, Search, pages_of
from web.render import PageRoute, fragment, page, redirect
from web.security import Acting, SignedIn, Viewer

router = APIRouter(route_class=PageRoute)
MAX_LINE_CHARS = 4000


@router.get("/productions")
def productions(
    request: Request,
    session: SessionDep,
    who: SignedIn,
    q: Search = None,
    status: str | None = None,
    format: str | None = None,
    page_no: PageNo = 1,
) -> Response:
    """Productions, newest first: search titles, filter by workflow state and format."""
    listing = lists.list_productions(
        session,
        params=PageParams(page_no, PER_PAGE),
        sort=NEWEST,
        window=ALWAYS,
        q=(q or "").strip() or None,
        status=[status] if status in PRODUCTION_STATUS else None,
        format=format if format in FORMATS else None,
    )
    return page(
        request,
        who,
        "app/productions.html",
        {
            "listing": listing,
            "q": q or "",
            "status": status or "",
            "format": format or "",
            "page_no": page_no,
            "pages": pages_of(listing.total),
        },
    )


def _channels(session: Session) -> list[Any]:
    return broadcast_lists.list_channels(session, params=PageParams(1, 200), sort=Sort("name", False)).rows


def _new_page(
    request: Request,
    session: SessionDep,
    who: Viewer,
    document_id: int | None,
    *,
    error: str = "",
    chosen: frozenset[int] = frozenset(),
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {"error": error, "chosen": chosen, "form": form or {}, "channels": _channels(session)}
    if document_id is None:
        values["recent"] = lists.list_documents(session, params=PageParams(1, 50), sort=NEWEST, window=ALWAYS).rows
    else:
        doc = service.get_document(session, document_id)
        values.update(doc=doc, tree=service.provision_tree(doc))
    return page(request, who, "app/production_new.html", values, status_code=status_code)


@router.get("/productions/new")
def new_production(
    request: Request, session: SessionDep, who: SignedIn, document_id: Annotated[Id | None, Query()] = None
) -> Response:
    """Tick provisions of a document, choose the format, channel and title."""
    who.need("editor")
    return _new_page(request, session, who, document_id)


@router.post("/productions/new")
def create_production(
    request: Request,
    session: SessionDep,
    who: Acting,
    document_id: Annotated[Id, Form()],
    format: Annotated[str, Form(max_length=20)],
    title: Annotated[str, Form(max_length=480)] = "",
    channel: Annotated[str, Form(max_length=80)] = "",
    provision: Annotated[list[Id], Form()] = [],  # noqa: B006
) -> Response:
    """Create the production (a long bulletin may become several parts) and open its script editor."""
    who.need("editor")
    try:
        if not provision:
            raise Invalid(who._("Hãy chọn ít nhất một điều khoản."))
        created = scripting.create_production(
            session,
            document_id=document_id,
            format=format,
            user=who.user,
            provision_ids=provision,
            title=title.strip() or None,
            channel=channel or None,
        )
    except ServiceError as exc:
        session.rollback()
        form = {"format": format, "title": title, "channel": channel}
        return _new_page(
            request, session, who, document_id, error=exc.detail, chosen=frozenset(provision), form=form, status_code=exc.status
        )
    session.commit()
    first = created.productions[0]
    note = who._("Đã tạo sản phẩm %(title)s.", title=first.title)
    if len(created.productions) > 1:
        note += " " + who._("Bản tin được chia thành %(parts)s phần.", parts=len(created.productions))
    return redirect(f"/app/productions/{first.id}", note)


def actions_for(who: Viewer, production: Production) -> list[str]:
    """Workflow actions this user may take on the production now (the same rules workflow.transition enforces)."""
    return [name for name, rule in workflow.RULES.items() if production.status in rule.sources and who.has(*rule.roles)]


def can_render(who: Viewer, production: Production) -> bool:
    """Whether the "Dựng" button is offered: editors and producers, while the production is not withdrawn."""
    return who.has("editor", "producer") and production.status != "withdrawn"


def outputs_view(session: Session, production: Production) -> list[dict[str, Any]]:
    """Rendered files of the production with a signed preview URL, newest version first."""
    rows = sorted(jobs.outputs_of(session, production), key=lambda o: (-o.script_version, o.profile, o.kind))
    # Path only: the page plays from whatever host the staff reached it by, not only LAWCAST_BASE_URL's.
    return [
        {
            "out": out,
            "url": urlsplit(access.preview_url(out.media_key))._replace(scheme="", netloc="").geturl(),
            "approved": out.script_version == production.approved_version,
        }
        for out in rows
        if out.kind in workflow.MEDIA_KINDS
    ]


def editor_page(
    request: Request, session: Session, who: Viewer, production: Production, *, error: str = "", status_code: int = 200
) -> Response:
    """The script editor of a production (also re-rendered with a refusal after a failed action)."""
    lines = [
        {**said.line.to_json(), "index": said.index, "spoken": said.spoken, "flags": [service.flag_dict(f) for f in said.flags]}
        for said in service.spoken_lines(session, production)
    ]
    recent = lists.list_jobs(session, params=PageParams(1, 10), sort=NEWEST, window=ALWAYS, production_id=production.id)
    return page(
        request,
        who,
        "app/editor.html",
        {
            "production": production,
            "doc": service.get_document(session, production.document_id),
            "lines": lines,
            "can_edit": who.has("editor") and production.status in scripting.EDITABLE,
            "actions": actions_for(who, production),
            "can_render": can_render(who, production),
            "outputs": outputs_view(session, production),
            "jobs": recent.rows,
            "error": error,
            "speakers": SPEAKERS,
        },
        status_code=status_code,
    )


@router.get("/productions/{production_id}")
def editor(production_id: Id, request: Request, session: SessionDep, who: SignedIn) -> Response:
    """The script editor: lines with speaker, text, pause and bed; spoken form and flags; workflow buttons."""
    return editor_page(request, session, who, service.get_production(session, production_id))


def lines_from_form(form: Any, original: Sequence[ScriptLine], who: Viewer) -> list[ScriptLine]:
    """Script lines in the order of the form's rows; fields the editor does not show are kept from the old line."""
    lines = []
    for key in form.getlist("row"):
        base = (
            original[int(orig)].to_json()
            if (orig := str(form.get(f"orig-{key}") or "")).isdigit() and int(orig) < len(original)
            else {}
        )
        pause = str(form.get(f"pause_ms-{key}") or "400").strip()
        base.update(
            speaker=str(form.get(f"speaker-{key}") or "presenter"),
            text=str(form.get(f"text-{key}") or "").strip(),
            pause_ms=int(pause) if pause.isdigit() else -1,
            bed=form.get(f"bed-{key}") is not None,
        )
        lines.append(base)
    try:
        return [line.to_line() for line in ScriptIn.model_validate({"lines": lines}).lines]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = next((part for part in first["loc"] if isinstance(part, int)), None)
        row = who._("Dòng %(n)s", n=where + 1) + ": " if where is not None else ""
        raise Invalid(row + who._("nội dung không hợp lệ (lời thoại 1–4000 ký tự, ngắt 0–10000 ms).")) from exc


@router.post("/productions/{production_id}/script")
async def save_script(production_id: Id, request: Request, session: SessionDep, who: Acting) -> Response:
    """Save the editor's lines as a new script version (a production under review or approved goes back to draft)."""
    who.need("editor")
    form = await request.form()

    def save() -> Response:
        production = service.get_production(session, production_id)
        try:
            lines = lines_from_form(form, service.script_version(session, production).lines, who)
            workflow.edit_script(session, production=production, lines=lines, user=who.user)
        except ServiceError as exc:
            session.rollback()
            return editor_page(request, session, who, production, error=exc.detail, status_code=exc.status)
        session.commit()
        return redirect(f"/app/productions/{production.id}", who._("Đã lưu phiên bản %(v)s.", v=production.current_version))

    return await run_in_threadpool(save)


def _preview(request: Request, session: Session, who: Viewer, *, row: str, text: str, note: str = "") -> Response:
    spoken = service.preview(session, text)
    return fragment(
        request,
        who,
        "app/_preview.html",
        {
            "row": row,
            "spoken": spoken.text,
            "flags": [service.flag_dict(f) for f in spoken.flags],
            "text": text,
            "note": note,
        },
    )


def _field(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise Invalid(f"Trường '{name}' thiếu hoặc quá dài (missing or too long)")
    return value


@router.post("/speech/preview")
async def speech_preview(request: Request, session: SessionDep, who: Acting) -> Response:
    """The spoken form and flags of a line as the editor types (an HTMX part of the editor; field `text-<row>`)."""
    form = await request.form()
    row = _field(form, "row", 20)
    text = _field(form, f"text-{row}", MAX_LINE_CHARS)
    return await run_in_threadpool(_preview, request, session, who, row=row, text=text)


@router.post("/lexicon")
async def add_lexicon(request: Request, session: SessionDep, who: Acting) -> Response:
    """One-click lexicon entry from a flag; answers the line's preview, read again with the new entry."""
    who.need("editor")
    form = await request.form()
    row, flag = _field(form, "row", 20), _field(form, "flag", 6)
    term, spoken = _field(form, f"term-{row}-{flag}", 80), _field(form, f"spoken-{row}-{flag}", 300)
    text = _field(form, f"text-{row}", MAX_LINE_CHARS)

    def add() -> Response:
        service.upsert_lexicon(session, term=term, spoken=spoken, note=None, user=who.user)
        session.commit()
        note = who._(
            "Đã thêm “%(term)s” → “%(spoken)s” vào từ điển cách đọc.", term=term.strip(), spoken=" ".join(spoken.split())
        )
        return _preview(request, session, who, row=row, text=text, note=note)

    return await run_in_threadpool(add)


@router.get("/speech/say")
def say(
    session: SessionDep,
    who: SignedIn,
    text: Annotated[str, Query(min_length=1, max_length=MAX_LINE_CHARS)],
    speaker: Annotated[str, Query(max_length=40)] = "presenter",
) -> Response:
    """ "Nghe thử": one line's speech as WAV, from the phrase cache when it was spoken before."""
    began = time.perf_counter()
    try:
        audio = line_speech.line_audio(text, speaker, service.lexicon(session))
    except EngineError as exc:
        raise ServiceUnavailable(who._("Không đọc được dòng này lúc này: %(why)s", why=str(exc)), retry_after_s=30) from exc
    took_ms = (time.perf_counter() - began) * 1000
    return Response(
        audio.wav,
        media_type="audio/wav",
        headers={
            "Cache-Control": "private, max-age=600",
            "X-Phrase-Cache": "hit" if audio.cached else "miss",
            "Server-Timing": f"speech;dur={took_ms:.1f}",
        },
    )
