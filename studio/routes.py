"""Studio API: documents, lexicon, speech preview, productions, scripts, workflow, render jobs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, status
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from apitypes import Id
from assets import access
from assets import service as assets_service
from auth import CurrentUser, Editor, LegalReviewer, Maker, Staff
from db import SessionDep, session_scope
from errors import Invalid
from openapi import event_stream
from settings import get_settings
from studio import dispatch, ingest, jobs, legal_status, scripting, service, workflow
from studio.list_routes import router as list_router
from studio.models import Document, Output, Production, ProductionStatus, RenderJob
from studio.schemas import (
    AuditOut,
    DocumentEventOut,
    DocumentIn,
    DocumentOut,
    DocumentStatusIn,
    DocumentStatusOut,
    JobOut,
    LexiconIn,
    LexiconOut,
    LineOut,
    OutputOut,
    ProductionIn,
    ProductionOut,
    RenderIn,
    RenderOut,
    ScriptIn,
    ScriptOut,
    SpeechPreviewIn,
    SpeechPreviewOut,
    SpokenLineOut,
    TransitionIn,
)

router = APIRouter(prefix="/api", tags=["studio"])


def _document_out(doc: Document) -> DocumentOut:
    """API form of a document; the provision tree is validated like every other field."""
    fields = {name: getattr(doc, name) for name in DocumentOut.model_fields if name != "provisions"}
    return DocumentOut.model_validate({**fields, "provisions": service.provision_tree(doc)})


MULTIPART_OVERHEAD_BYTES = 64 * 1024
# The route reads its body itself (JSON or a form), so the document says what it takes.
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": ".txt .docx .pdf or .html"},
                        "text": {"type": "string", "description": "pasted text, when no file is sent"},
                        "title": {"type": "string", "maxLength": 500},
                    },
                }
            },
        },
    }
}


@router.post("/documents", status_code=status.HTTP_201_CREATED, response_model=DocumentOut, openapi_extra=UPLOAD_BODY)
async def create_document(request: Request, session: SessionDep, user: Editor) -> Response:
    """Store a legal text: JSON {text, title?} or a multipart file (.txt .docx .pdf .html) or text field.

    The body is read here, on the event loop; extraction, parsing, the inserts and the answer run in a
    worker thread, so health checks and station polls are answered while a large law is ingested.
    """
    # Authentication may have written the token's last use: commit it now, or SQLite's write lock would be
    # held while the body arrives, and the ingest's own session would wait for it.
    await run_in_threadpool(session.commit)
    settings = get_settings()
    limit = settings.max_upload_bytes
    content_type = request.headers.get("content-type", "")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max(limit, settings.text_limit) + MULTIPART_OVERHEAD_BYTES:
        raise service.too_large(int(declared), limit)  # refused before the body is read
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        # Up to the body limit, so an oversized text field is the text limit's 413, not Starlette's 400.
        form = await request.form(max_part_size=settings.body_limit)
        file, pasted, title = form.get("file"), form.get("text"), form.get("title")
        title = title if isinstance(title, str) and title.strip() else None
        if file is not None and not isinstance(file, str):
            data = await file.read(limit + 1)  # one byte over is enough to refuse it
            upload = ingest.Upload(data=data, content_type=file.content_type, filename=file.filename, title=title)
        elif isinstance(pasted, str):
            upload = ingest.Upload(text=pasted, title=title)
        else:
            raise Invalid("Thiếu trường 'file' hoặc 'text' trong biểu mẫu tải lên (missing file or text field)")
    else:
        upload = ingest.Upload(json=await request.body())
    payload = await run_in_threadpool(ingest.ingest, upload, user)
    return Response(payload, status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.get("/documents/{document_id}", response_model=DocumentOut)
def get_document(document_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """A document's metadata and provision tree (serialised in this worker thread, a node at a time)."""
    return Response(ingest.document_json(service.get_document(session, document_id)), media_type="application/json")


@router.post("/documents/{document_id}/status", response_model=DocumentStatusOut)
def set_document_status(document_id: Id, body: DocumentStatusIn, session: SessionDep, user: LegalReviewer) -> DocumentStatusOut:
    """Change a document's legal status (legal reviewers); audited, and repealing withdraws what was made from it."""
    doc = service.get_document(session, document_id)
    change = legal_status.set_document_status(session, doc=doc, status=body.status, user=user, comment=body.comment)
    session.commit()
    return DocumentStatusOut.model_validate(
        {
            **_document_out(doc).model_dump(),
            "affected": change.affected,
            "message": change.message,
            "event": DocumentEventOut.model_validate(change.event),
        }
    )


@router.get("/documents/{document_id}/events", response_model=list[DocumentEventOut])
def document_events(document_id: Id, session: SessionDep, user: CurrentUser) -> list[DocumentEventOut]:
    """A document's legal-status history: who changed it, when, from what to what, and why."""
    doc = service.get_document(session, document_id)
    return [DocumentEventOut.model_validate(e) for e in legal_status.document_events(session, doc)]


@router.post("/speech/preview", response_model=SpeechPreviewOut)
def speech_preview(body: SpeechPreviewIn, session: SessionDep, user: CurrentUser) -> SpeechPreviewOut:
    """The spoken form of a text and the tokens the rules could not read."""
    spoken = service.preview(session, body.text)
    return SpeechPreviewOut(spoken=spoken.text, flags=[service.flag_dict(f) for f in spoken.flags])


@router.get("/lexicon", response_model=list[LexiconOut])
def list_lexicon(session: SessionDep, user: CurrentUser) -> list[LexiconOut]:
    """Editor pronunciation entries."""
    return [LexiconOut.model_validate(row) for row in service.list_lexicon(session)]


@router.post("/lexicon", response_model=LexiconOut, status_code=status.HTTP_201_CREATED)
def add_lexicon(body: LexiconIn, session: SessionDep, user: Editor) -> LexiconOut:
    """Add or replace a pronunciation entry."""
    row = service.upsert_lexicon(session, term=body.term, spoken=body.spoken, note=body.note, user=user)
    session.commit()
    return LexiconOut.model_validate(row)


def output_out(out: Output, *, approved: bool = False) -> OutputOut:
    """API form of an output: its public URL (served once published) and a signed preview URL for staff."""
    return OutputOut(
        id=out.id,
        profile=out.profile,
        kind=out.kind,
        media_key=out.media_key,
        url=assets_service.public_url(out.media_key),
        preview_url=access.preview_url(out.media_key),
        approved=approved,
        mime_type=out.mime_type,
        bytes=out.bytes,
        sha256=out.sha256,
        duration_s=out.duration_s,
        loudness_lufs=out.loudness_lufs,
        true_peak_dbtp=out.true_peak_dbtp,
        script_version=out.script_version,
    )


def production_out(
    session: Session, production: Production, notes: list[str] | None = None, siblings: list[int] | None = None
) -> ProductionOut:
    """API form of a production with current script, outputs and audit trail."""
    outputs = jobs.outputs_of(session, production)
    return ProductionOut(
        id=production.id,
        document_id=production.document_id,
        format=production.format,
        title=production.title,
        status=production.status,
        source_repealed=production.source_repealed,
        emergency=production.emergency,
        channel=production.channel_slug,
        part=production.part,
        parts=production.parts,
        current_version=production.current_version,
        legal_approved_version=production.legal_approved_version,
        approved_version=production.approved_version,
        rendered_version=max((o.script_version for o in outputs if o.kind in workflow.MEDIA_KINDS), default=None),
        on_air_version=production.approved_version if production.status == ProductionStatus.published else None,
        script=[LineOut.model_validate(line) for line in service.script_version(session, production).lines],
        notes=notes or [],
        outputs=[output_out(o, approved=o.script_version == production.approved_version) for o in outputs],
        audit=[AuditOut.model_validate(e) for e in workflow.audit(session, production)],
        siblings=siblings or [],
    )


@router.post("/productions", status_code=status.HTTP_201_CREATED, response_model=ProductionOut)
def create_production(body: ProductionIn, session: SessionDep, user: Editor) -> ProductionOut:
    """Build a first script for a format from chosen provisions (bulletins may split into parts)."""
    created = scripting.create_production(
        session,
        document_id=body.document_id,
        format=body.format,
        user=user,
        provision_ids=body.provision_ids,
        title=body.title,
        channel=body.channel,
        season=body.season,
        episode=body.episode,
        emergency=body.emergency,
    )
    session.commit()
    ids = [p.id for p in created.productions]
    return production_out(session, created.productions[0], created.notes, ids)


@router.get("/productions/{production_id}", response_model=ProductionOut)
def get_production(production_id: Id, session: SessionDep, user: CurrentUser) -> ProductionOut:
    """Status, current script and outputs of a production."""
    return production_out(session, service.get_production(session, production_id))


@router.get("/productions/{production_id}/script", response_model=ScriptOut)
def get_script(production_id: Id, session: SessionDep, user: CurrentUser, version: Id | None = None) -> ScriptOut:
    """A script version (current by default) with the spoken form and flags of every line."""
    production = service.get_production(session, production_id)
    row = service.script_version(session, production, version)
    said = service.spoken_lines(session, production, row.version)
    spoken = [
        SpokenLineOut(
            index=s.index,
            speaker=s.line.speaker,
            text=s.line.text,
            spoken=s.spoken,
            flags=[service.flag_dict(f) for f in s.flags],
        )
        for s in said
    ]
    return ScriptOut(version=row.version, lines=[LineOut.model_validate(s.line) for s in said], spoken=spoken)


@router.put("/productions/{production_id}/script", response_model=ProductionOut)
def put_script(production_id: Id, body: ScriptIn, session: SessionDep, user: Editor) -> ProductionOut:
    """Store a new script version; old versions stay readable."""
    production = service.get_production(session, production_id)
    workflow.edit_script(session, production=production, lines=[line.to_line() for line in body.lines], user=user)
    session.commit()
    return production_out(session, production)


@router.post("/productions/{production_id}/transitions", response_model=ProductionOut)
def post_transition(production_id: Id, body: TransitionIn, session: SessionDep, user: CurrentUser) -> ProductionOut:
    """Move a production through the co-production workflow."""
    production = service.get_production(session, production_id)
    workflow.transition(session, production=production, action=body.action, user=user, comment=body.comment)
    session.commit()
    return production_out(session, production)


def job_out(session: Session, job: RenderJob) -> JobOut:
    """API form of a job."""
    approved = session.scalar(select(Production.approved_version).where(Production.id == job.production_id))
    return JobOut(
        id=job.id,
        production_id=job.production_id,
        script_version=job.script_version,
        profile=job.profile,
        status=job.status,
        progress=job.progress,
        stage=job.stage,
        error=job.error,
        attempts=job.attempts,
        engines_used=list(job.engines_used or []),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        outputs=[output_out(o, approved=o.script_version == approved) for o in job.outputs],
    )


@router.post("/productions/{production_id}/renders", status_code=status.HTTP_202_ACCEPTED, response_model=RenderOut)
def post_render(production_id: Id, session: SessionDep, user: Maker, body: RenderIn | None = None) -> RenderOut:
    """Queue renders of the current script; identical earlier renders are reused."""
    body = body or RenderIn()
    production = service.get_production(session, production_id)
    all_jobs, _created = jobs.request_render(
        session, production=production, user=user, profiles=body.profiles, emergency=body.priority == "emergency"
    )
    session.commit()
    # The new jobs, and any earlier one whose send failed: a broker that cannot be reached answers 503
    # (the jobs stay saved, unsent), and asking again sends them.
    dispatch.send_jobs(session, all_jobs)
    session.commit()
    outs = [job_out(session, job) for job in all_jobs]
    return RenderOut(job=outs[0], jobs=outs)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: Id, session: SessionDep, user: CurrentUser) -> JobOut:
    """A job's status, progress, stage, error and outputs."""
    return job_out(session, jobs.get_job(session, job_id))


@router.delete("/jobs/{job_id}", response_model=JobOut)
def cancel_job(job_id: Id, session: SessionDep, user: Staff) -> JobOut:
    """Cancel a job: a running ffmpeg is stopped and no partial file is left."""
    job = jobs.cancel(session, job=jobs.get_job(session, job_id))
    session.commit()
    return job_out(session, job)


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: event_stream("progress", "JobOut", "A `progress` event (a JobOut) at each change")},
)
async def job_events(job_id: Id, user: CurrentUser) -> StreamingResponse:
    """Server-Sent Events with the job's progress until it finishes."""

    def snapshot() -> dict[str, object]:
        with session_scope() as session:
            return job_out(session, jobs.get_job(session, job_id)).model_dump(mode="json")

    first = await asyncio.to_thread(snapshot)

    async def stream() -> AsyncIterator[str]:
        state = first
        last = None
        while True:
            key = (state["status"], state["progress"], state["stage"])
            if key != last:
                yield f"event: progress\ndata: {json.dumps(state, ensure_ascii=False)}\n\n"
                last = key
            if state["status"] not in jobs.ACTIVE:
                return
            await asyncio.sleep(0.5)
            state = await asyncio.to_thread(snapshot)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


router.include_router(list_router)  # GET lists and script diffs (studio/list_routes.py)
