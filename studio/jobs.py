"""Render jobs: request, claim, progress, finish (flushes, never commits); sending them is studio/dispatch.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Update, or_, select, update
from sqlalchemy.orm import Session

from assets import service as assets_service
from auth import User
from db import rowcount, utcnow
from errors import Conflict, Invalid, NotFound
from settings import get_settings
from studio import service
from studio.engine import pipeline
from studio.engine.spec import RenderedFile
from studio.engine.text.scripts import ScriptLine
from studio.engine.tts import build_engines
from studio.models import JobStatus, Output, Production, ProductionStatus, RenderJob

ACTIVE = (JobStatus.queued.value, JobStatus.running.value)


def engine_signature() -> list[str]:
    """Configured engines with versions; part of every content hash."""
    settings = get_settings()
    engines = build_engines(settings.engine_names, gtts_host=settings.gtts_host, piper_model=settings.piper_model)
    return [f"{engine.name}:{engine.version()}" for engine in engines]


def content_hash(*, lines: Sequence[ScriptLine], lexicon: dict[str, str], profile: str, engines: Sequence[str]) -> str:
    """Hash of what determines a render's bytes: spoken script, profile, engines, assets, pipeline."""
    spoken = pipeline.spoken_script(lines, lexicon)
    shape = [(line.speaker, line.pause_ms, line.bed, line.role) for line in lines]
    payload = {
        "spoken": spoken,
        "shape": shape,
        "profile": profile,
        "engines": list(engines),
        "pipeline": pipeline.PIPELINE_VERSION,
        "assets": pipeline.assets_fingerprint(),
        "rate": get_settings().tts_rate,
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def request_render(
    session: Session, *, production: Production, user: User, profiles: Sequence[str] | None = None, emergency: bool = False
) -> tuple[list[RenderJob], list[RenderJob]]:
    """Jobs for each profile; returns (all jobs, newly created jobs that must be sent after commit)."""
    if production.status == ProductionStatus.withdrawn:
        raise Conflict("Sản phẩm đã bị rút; không thể dựng (production withdrawn)")
    allowed = pipeline.allowed_profiles(production.format)
    wanted = list(profiles or pipeline.profiles_for(production.format))
    bad = [p for p in wanted if p not in allowed]
    if bad:
        raise Invalid(f"Hồ sơ {bad} không áp dụng cho định dạng {production.format}; dùng: {', '.join(allowed)}")
    version = service.script_version(session, production)
    lines = version.lines
    words = service.lexicon(session)
    signature = engine_signature()
    jobs, created = [], []
    for profile in wanted:
        digest = content_hash(lines=lines, lexicon=words, profile=profile, engines=signature)
        job = _reusable_job(session, production.id, digest)
        if job is None:
            job = RenderJob(
                production_id=production.id,
                script_version=version.version,
                profile=profile,
                content_hash=digest,
                queue="emergency" if emergency else "render",
                created_by_id=user.id,
                # sent_at stays NULL until send_jobs() has handed its message to the broker after the commit: a
                # send that failed (broker down) is made again by the next request, a reconnecting worker or the reaper.
            )
            session.add(job)
            created.append(job)
        jobs.append(job)
    session.flush()
    return jobs, created


def _reusable_job(session: Session, production_id: int, digest: str) -> RenderJob | None:
    return session.scalar(
        select(RenderJob)
        .where(
            RenderJob.production_id == production_id,
            RenderJob.content_hash == digest,
            RenderJob.status.in_([*ACTIVE, JobStatus.succeeded.value]),
        )
        .order_by(RenderJob.id.desc())
    )


def get_job(session: Session, job_id: int) -> RenderJob:
    """A job by id, or 404."""
    job = session.get(RenderJob, job_id)
    if job is None:
        raise NotFound(f"Không có tác vụ {job_id} (job not found)")
    return job


def cancel(session: Session, *, job: RenderJob) -> RenderJob:
    """Ask a job to stop; a queued job is cancelled at once, a running one at its next check."""
    if job.status not in ACTIVE:
        raise Conflict(f"Tác vụ {job.id} đã kết thúc với trạng thái '{job.status}'; không thể hủy")
    job.cancel_requested = True
    if job.status == JobStatus.queued:
        _finish(job, JobStatus.cancelled, "cancelled")
    session.flush()
    return job


MAX_ATTEMPTS = 4  # claims of a job that may end in a retryable error of its own or a lost worker


@dataclass(frozen=True)
class Attempt:
    """One claim of a job: every state write of the attempt is fenced by its number."""

    job_id: int
    number: int


@dataclass(frozen=True)
class Heartbeat:
    """What a progress write learned: whether the attempt still owns its job, and whether a cancel was asked."""

    owned: bool
    cancel_requested: bool = False


def fenced(attempt: Attempt) -> Update:
    """An UPDATE of the attempt's job that matches no row once the attempt no longer owns it."""
    # The attempt owns the job while the job is running under its number; a reaper that gave the job to a
    # later attempt changed one or the other, so a stale attempt's write matches no row.
    return (
        update(RenderJob)
        .where(RenderJob.id == attempt.job_id, RenderJob.attempts == attempt.number, RenderJob.status == JobStatus.running.value)
        .execution_options(synchronize_session=False)
    )


def _finished_by(session: Session, attempt: Attempt, status: JobStatus) -> bool:
    """Whether this attempt already wrote `status` (its commit went through although the connection broke)."""
    row = session.execute(select(RenderJob.status, RenderJob.attempts).where(RenderJob.id == attempt.job_id)).one_or_none()
    return row is not None and tuple(row) == (status.value, attempt.number)


def claim(session: Session, *, job_id: int) -> Attempt | None:
    """Atomically start the next attempt of a queued job; None when it is running, finished, cancelled or not yet due."""
    now = utcnow()
    result = session.execute(
        update(RenderJob)
        .where(
            RenderJob.id == job_id,
            RenderJob.status == JobStatus.queued.value,
            RenderJob.cancel_requested.is_(False),
            # A retry is due at sent_at: a duplicate message (a resend) must not cut its backoff short.
            or_(RenderJob.sent_at.is_(None), RenderJob.sent_at <= now),
        )
        .values(
            status=JobStatus.running.value,
            started_at=now,
            heartbeat_at=now,
            stage="starting",
            progress=0.0,
            attempts=RenderJob.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return None
    # Read inside the same transaction: the row is ours (locked) until the commit.
    return Attempt(job_id, session.execute(select(RenderJob.attempts).where(RenderJob.id == job_id)).scalar_one())


def record_progress(session: Session, *, attempt: Attempt, progress: float | None = None, stage: str | None = None) -> Heartbeat:
    """Persist a heartbeat (and progress when given) if the attempt still owns the job."""
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = round(min(max(progress, 0.0), 1.0), 4)
    if stage is not None:
        values["stage"] = stage
    if rowcount(session.execute(fenced(attempt).values(**values))) != 1:
        return Heartbeat(owned=False)
    asked = session.scalar(select(RenderJob.cancel_requested).where(RenderJob.id == attempt.job_id))
    return Heartbeat(owned=True, cancel_requested=bool(asked))


def _finish(job: RenderJob, status: JobStatus, stage: str, error: str | None = None) -> None:
    job.status = status.value
    job.stage = stage
    job.error = error
    job.finished_at = utcnow()
    if status == JobStatus.succeeded:
        job.progress = 1.0


def finish_values(status: JobStatus, stage: str, error: str | None = None) -> dict[str, object]:
    """The column values that end a job with `status`."""
    values: dict[str, object] = {"status": status.value, "stage": stage, "error": error, "finished_at": utcnow()}
    if status == JobStatus.succeeded:
        values["progress"] = 1.0
    return values


def succeed(
    session: Session, *, attempt: Attempt, files: Sequence[RenderedFile], slug: str, engines: Iterable[str]
) -> list[Output] | None:
    """Store a finished render's files under content-addressed keys and record them; None if the attempt lost its job."""
    done = fenced(attempt).values(engines_used=sorted(engines), **finish_values(JobStatus.succeeded, "done"))
    if rowcount(session.execute(done)) != 1:
        # Nothing was written: a stale attempt never stores a file or an output row.
        return (
            list(session.get_one(RenderJob, attempt.job_id).outputs)
            if _finished_by(session, attempt, JobStatus.succeeded)
            else None
        )
    job = session.get_one(RenderJob, attempt.job_id, populate_existing=True)
    outputs = []
    for item in files:
        key = f"{job.profile}/{job.content_hash[:20]}/{slug}-{item.kind}.{item.extension}"
        media = assets_service.store(session, src=item.path, key=key)
        out = Output(
            job_id=job.id,
            production_id=job.production_id,
            script_version=job.script_version,
            profile=job.profile,
            kind=item.kind,
            media_key=media.key,
            mime_type=media.mime_type,
            bytes=media.bytes,
            sha256=media.sha256,
            duration_s=item.duration_s,
            loudness_lufs=item.loudness_lufs,
            true_peak_dbtp=item.true_peak_dbtp,
        )
        session.add(out)
        outputs.append(out)
    session.flush()
    return outputs


def _end(session: Session, attempt: Attempt, status: JobStatus, values: dict[str, object]) -> bool:
    if rowcount(session.execute(fenced(attempt).values(**values))) == 1:
        return True
    return _finished_by(session, attempt, status)


def fail(session: Session, *, attempt: Attempt, error: str) -> bool:
    """Mark the attempt's job failed with an error a person can act on; False if the attempt lost its job."""
    return _end(session, attempt, JobStatus.failed, finish_values(JobStatus.failed, "failed", error[:4000]))


def mark_cancelled(session: Session, *, attempt: Attempt) -> bool:
    """Mark the attempt's job cancelled after its work stopped; False if the attempt lost its job."""
    return _end(session, attempt, JobStatus.cancelled, finish_values(JobStatus.cancelled, "cancelled"))


def mark_retrying(session: Session, *, attempt: Attempt, error: str, countdown_s: float) -> bool:
    """Put the job back in the queue after a transient error of its own; its retry message is due in countdown_s."""
    values = {
        "status": JobStatus.queued.value,
        "stage": "retrying",
        "error": error[:4000],
        "sent_at": utcnow() + timedelta(seconds=countdown_s),
        "sends": RenderJob.sends + 1,
    }
    return rowcount(session.execute(fenced(attempt).values(**values))) == 1


def outputs_of(session: Session, production: Production, *, version: int | None = None) -> list[Output]:
    """Outputs of the newest succeeded job per profile (of a given script version if asked)."""
    query = (
        select(Output)
        .join(RenderJob, Output.job_id == RenderJob.id)
        .where(Output.production_id == production.id, RenderJob.status == JobStatus.succeeded.value)
        .order_by(Output.job_id.desc(), Output.id)
    )
    if version is not None:
        query = query.where(Output.script_version == version)
    newest: dict[str, int] = {}
    chosen = []
    for out in session.scalars(query):
        job_id = newest.setdefault(out.profile, out.job_id)
        if out.job_id == job_id:
            chosen.append(out)
    return chosen


def work_dir_for(attempt: Attempt) -> Path:
    """Scratch directory of a job attempt (outside the media directory: nothing partial is ever published)."""
    return get_settings().data_dir / "work" / f"job-{attempt.job_id}-{attempt.number}"


def earlier_work_dirs(attempt: Attempt) -> list[Path]:
    """Scratch directories left by earlier attempts of a job (a worker killed mid-render leaves one)."""
    found = []
    for path in work_dir_for(attempt).parent.glob(f"job-{attempt.job_id}-*"):
        number = path.name.rsplit("-", 1)[1]
        if number.isdigit() and int(number) < attempt.number:  # never a later attempt's
            found.append(path)
    return found
