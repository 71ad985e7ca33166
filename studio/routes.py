"""Studio API: documents, lexicon, speech preview, productions, scripts, workflow, render jobs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from assets import service as assets_service
from auth import CurrentUser, Editor, Maker, Reviewer, Staff
from db import SessionDep, session_scope
from errors import Invalid
from settings import get_settings
from studio import jobs, service, workflow
from studio.models import Document, Production, RenderJob
from studio.schemas import (
    AuditOut,
    DocumentIn,
    DocumentOut,
    DocumentStatusIn,
    JobOut,
    LexiconIn,
    LexiconOut,
    OutputOut,
    ProductionIn,
    ProductionOut,
    RenderIn,
    ScriptIn,
    SpeechPreviewIn,
    SpeechPreviewOut,
    TransitionIn,
)
import worker

router = APIRouter(prefix="/api", tags=["studio"])


def _document_out(doc: Document) -> DocumentOut:
    """API form of a document; the provision tree is validated like every other field."""
    fields = {name: getattr(doc, name) for name in DocumentOut.model_fields if name != "provisions"}
    return DocumentOut.model_validate({**fields, "provisions": service.provision_tree(doc)})


MULTIPART_OVERHEAD_BYTES = 64 * 1024


@router.post("/documents", status_code=status.HTTP_201_CREATED, response_model=DocumentOut)
async def create_document(request: Request, session: SessionDep, user: Editor) -> DocumentOut:
    """Store a legal text: JSON {text, title?} or a multipart file (.txt .docx .pdf .html) or text field."""
    limit = get_settings().max_upload_bytes
    content_type = request.headers.get("content-type", "")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD_BYTES:
        raise service.too_large(int(declared), limit)  # refused before the body is read
    filename = None
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form(max_part_size=limit + 1)
        upload, pasted, title = form.get("file"), form.get("text"), form.get("title")
        if upload is not None and not isinstance(upload, str):
            filename = upload.filename
            data = await upload.read(limit + 1)  # one byte over is enough to refuse it
            text = service.ingest_upload(data, filename=filename, content_type=upload.content_type, max_bytes=limit)
        elif isinstance(pasted, str):
            text = service.pasted_text(pasted, max_bytes=limit)
        else:
            raise Invalid("Thiếu trường 'file' hoặc 'text' trong biểu mẫu tải lên (missing file or text field)")
        title = title if isinstance(title, str) and title.strip() else None
    else:
        try:
            body = DocumentIn.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            raise Invalid(f"Nội dung JSON không hợp lệ (invalid JSON body): {problems}") from exc
        text, title = service.pasted_text(body.text, max_bytes=limit), body.title
    doc = service.create_document(session, text=text, user=user, title=title, filename=filename)
    session.commit()
    return _document_out(doc)


@router.get("/documents/{document_id}", response_model=DocumentOut)
def get_document(document_id: int, session: SessionDep, user: CurrentUser) -> DocumentOut:
    """A document's metadata and provision tree."""
    return _document_out(service.get_document(session, document_id))


@router.post("/documents/{document_id}/status", response_model=DocumentOut)
def set_document_status(document_id: int, body: DocumentStatusIn, session: SessionDep, user: Reviewer) -> DocumentOut:
    """Change a document's legal status; repealing withdraws what was made from it."""
    doc = service.get_document(session, document_id)
    service.set_document_status(session, doc=doc, status=body.status)
    session.commit()
    return _document_out(doc)


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


def output_out(out) -> OutputOut:  # type: ignore[no-untyped-def]
    """API form of an output, with its public URL."""
    return OutputOut(
        id=out.id, profile=out.profile, kind=out.kind, media_key=out.media_key, url=assets_service.public_url(out.media_key),
        mime_type=out.mime_type, bytes=out.bytes, sha256=out.sha256, duration_s=out.duration_s,
        loudness_lufs=out.loudness_lufs, true_peak_dbtp=out.true_peak_dbtp, script_version=out.script_version,
    )


def production_out(session: Session, production: Production, notes: list[str] | None = None, siblings: list[int] | None = None) -> ProductionOut:
    """API form of a production with current script, outputs and audit trail."""
    return ProductionOut(
        id=production.id, document_id=production.document_id, format=production.format, title=production.title,
        status=production.status, source_repealed=production.source_repealed,
        channel=production.channel_slug, part=production.part, parts=production.parts,
        current_version=production.current_version,
        script=service.script_version(session, production).lines,
        notes=notes or [],
        outputs=[output_out(o) for o in jobs.outputs_of(session, production)],
        audit=[AuditOut.model_validate(e) for e in workflow.audit(session, production)],
        siblings=siblings or [],
    )


@router.post("/productions", status_code=status.HTTP_201_CREATED, response_model=ProductionOut)
def create_production(body: ProductionIn, session: SessionDep, user: Editor) -> ProductionOut:
    """Build a first script for a format from chosen provisions (bulletins may split into parts)."""
    created = service.create_production(
        session, document_id=body.document_id, format=body.format, user=user, provision_ids=body.provision_ids,
        title=body.title, channel=body.channel, season=body.season, episode=body.episode,
    )
    session.commit()
    ids = [p.id for p in created.productions]
    return production_out(session, created.productions[0], created.notes, ids)


@router.get("/productions/{production_id}", response_model=ProductionOut)
def get_production(production_id: int, session: SessionDep, user: CurrentUser) -> ProductionOut:
    """Status, current script and outputs of a production."""
    return production_out(session, service.get_production(session, production_id))


@router.get("/productions/{production_id}/script")
def get_script(production_id: int, session: SessionDep, user: CurrentUser, version: int | None = None) -> dict[str, object]:
    """A script version (current by default) with the spoken form and flags of every line."""
    production = service.get_production(session, production_id)
    row = service.script_version(session, production, version)
    return {"version": row.version, "lines": row.lines, "spoken": service.spoken_lines(session, production, row.version)}


@router.put("/productions/{production_id}/script", response_model=ProductionOut)
def put_script(production_id: int, body: ScriptIn, session: SessionDep, user: Editor) -> ProductionOut:
    """Store a new script version; old versions stay readable."""
    production = service.get_production(session, production_id)
    service.save_script(session, production=production, lines=[line.model_dump() for line in body.lines], user=user)
    session.commit()
    return production_out(session, production)


@router.post("/productions/{production_id}/transitions", response_model=ProductionOut)
def post_transition(production_id: int, body: TransitionIn, session: SessionDep, user: CurrentUser) -> ProductionOut:
    """Move a production through the co-production workflow."""
    production = service.get_production(session, production_id)
    workflow.transition(session, production=production, action=body.action, user=user, comment=body.comment)
    session.commit()
    return production_out(session, production)


def job_out(session: Session, job: RenderJob) -> JobOut:
    """API form of a job."""
    return JobOut(
        id=job.id, production_id=job.production_id, script_version=job.script_version, profile=job.profile,
        status=job.status, progress=job.progress, stage=job.stage, error=job.error, attempts=job.attempts,
        engines_used=list(job.engines_used or []), created_at=job.created_at, started_at=job.started_at,
        finished_at=job.finished_at, outputs=[output_out(o) for o in job.outputs],
    )


def send_jobs(created: list[RenderJob]) -> None:
    """Send new jobs to the queue; call only after their rows are committed."""
    for job in created:
        worker.celery_app.send_task("studio.render", args=[job.id], queue=job.queue)


@router.post("/productions/{production_id}/renders", status_code=status.HTTP_202_ACCEPTED)
def post_render(production_id: int, session: SessionDep, user: Maker, body: RenderIn | None = None) -> dict[str, object]:
    """Queue renders of the current script; identical earlier renders are reused."""
    body = body or RenderIn()
    production = service.get_production(session, production_id)
    all_jobs, created = jobs.request_render(
        session, production=production, user=user, profiles=body.profiles, emergency=body.priority == "emergency"
    )
    session.commit()
    send_jobs(created)
    outs = [job_out(session, job) for job in all_jobs]
    return {"job": outs[0], "jobs": outs}


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: int, session: SessionDep, user: CurrentUser) -> JobOut:
    """A job's status, progress, stage, error and outputs."""
    return job_out(session, jobs.get_job(session, job_id))


@router.delete("/jobs/{job_id}", response_model=JobOut)
def cancel_job(job_id: int, session: SessionDep, user: Staff) -> JobOut:
    """Cancel a job: a running ffmpeg is stopped and no partial file is left."""
    job = jobs.cancel(session, job=jobs.get_job(session, job_id))
    session.commit()
    return job_out(session, job)


@router.get("/jobs/{job_id}/events")
async def job_events(job_id: int, user: CurrentUser) -> StreamingResponse:
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
