"""Render jobs: request, claim, progress, finish (flushes, never commits)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from assets import service as assets_service
from auth import User
from db import utcnow
from errors import Conflict, Invalid, NotFound
from settings import get_settings
from studio import pipeline, service
from studio.models import JobStatus, Output, Production, ProductionStatus, RenderJob
from studio.tts import build_engines

ACTIVE = (JobStatus.queued.value, JobStatus.running.value)


def engine_signature() -> list[str]:
    """Configured engines with versions; part of every content hash."""
    settings = get_settings()
    engines = build_engines(settings.engine_names, gtts_host=settings.gtts_host, piper_model=settings.piper_model)
    return [f"{engine.name}:{engine.version()}" for engine in engines]


def content_hash(*, lines: Sequence[dict[str, object]], lexicon: dict[str, str], profile: str, engines: Sequence[str]) -> str:
    """Hash of what determines a render's bytes: spoken script, profile, engines, assets, pipeline."""
    spoken = pipeline.spoken_script(lines, lexicon)
    shape = [(line.get("speaker"), line.get("pause_ms"), line.get("bed"), line.get("role")) for line in lines]
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
    words = service.lexicon(session)
    signature = engine_signature()
    jobs, created = [], []
    for profile in wanted:
        digest = content_hash(lines=version.lines, lexicon=words, profile=profile, engines=signature)
        job = _reusable_job(session, production.id, digest)
        if job is None:
            job = RenderJob(
                production_id=production.id,
                script_version=version.version,
                profile=profile,
                content_hash=digest,
                queue="emergency" if emergency else "render",
                created_by_id=user.id,
                # The caller sends it right after the commit; if that send is lost, the reaper sends it again.
                sent_at=utcnow(),
                sends=1,
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


def claim(session: Session, *, job_id: int, stale_after_s: int) -> bool:
    """Atomically mark a job running; False when it is finished or another live worker holds it."""
    now = utcnow()
    stale = now - timedelta(seconds=stale_after_s)
    result = session.execute(
        update(RenderJob)
        .where(
            RenderJob.id == job_id,
            RenderJob.cancel_requested.is_(False),
            or_(
                RenderJob.status == JobStatus.queued.value,
                (RenderJob.status == JobStatus.running.value) & (RenderJob.heartbeat_at < stale),
            ),
        )
        .values(status=JobStatus.running.value, started_at=now, heartbeat_at=now, stage="starting", progress=0.0,
                attempts=RenderJob.attempts + 1)
    )
    session.flush()
    return result.rowcount == 1  # type: ignore[attr-defined]


def record_progress(session: Session, *, job_id: int, progress: float | None = None, stage: str | None = None) -> bool:
    """Persist a heartbeat (and progress when given); returns True when cancellation was requested."""
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = round(min(max(progress, 0.0), 1.0), 4)
    if stage is not None:
        values["stage"] = stage
    session.execute(
        update(RenderJob).where(RenderJob.id == job_id, RenderJob.status == JobStatus.running.value).values(**values)
    )
    return bool(session.scalar(select(RenderJob.cancel_requested).where(RenderJob.id == job_id)))


def _finish(job: RenderJob, status: JobStatus, stage: str, error: str | None = None) -> None:
    job.status = status.value
    job.stage = stage
    job.error = error
    job.finished_at = utcnow()
    if status == JobStatus.succeeded:
        job.progress = 1.0


def succeed(session: Session, *, job: RenderJob, files: Sequence[pipeline.RenderedFile], slug: str, engines: Sequence[str]) -> list[Output]:
    """Store a finished render's files under content-addressed keys and record them."""
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
    job.engines_used = sorted(engines)
    _finish(job, JobStatus.succeeded, "done")
    session.flush()
    return outputs


def fail(session: Session, *, job: RenderJob, error: str) -> None:
    """Mark a job failed with an error a person can act on."""
    _finish(job, JobStatus.failed, "failed", error[:4000])
    session.flush()


def mark_cancelled(session: Session, *, job: RenderJob) -> None:
    """Mark a running job cancelled after its work stopped."""
    _finish(job, JobStatus.cancelled, "cancelled")
    session.flush()


def mark_retrying(session: Session, *, job: RenderJob, error: str, countdown_s: float) -> None:
    """Put a job back in the queue after a transient failure; its retry message is due in countdown_s."""
    job.status = JobStatus.queued.value
    job.stage = "retrying"
    job.error = error[:4000]
    job.sent_at = utcnow() + timedelta(seconds=countdown_s)
    session.flush()


MAX_RESEND_BACKOFF = 32


def lost_jobs(session: Session, *, stale_after_s: int, resend_after_s: int) -> list[RenderJob]:
    """Jobs whose message is probably gone: running without heartbeat, or queued and never claimed.

    A worker killed mid-job leaves it 'running' with an old heartbeat; a worker killed holding
    prefetched messages (or a crash between commit and send) leaves it 'queued'. Some brokers
    (kombu's SQLAlchemy transport) never redeliver a fetched message, so both are sent again.
    Each further send waits twice as long, so jobs merely waiting behind a busy worker do not flood
    the queue; a duplicate message is harmless because claim() is atomic.
    """
    now = utcnow()
    stale = now - timedelta(seconds=stale_after_s)
    waiting = now - timedelta(seconds=min(stale_after_s, resend_after_s))
    rows = session.scalars(
        select(RenderJob).where(
            RenderJob.cancel_requested.is_(False),
            or_(
                (RenderJob.status == JobStatus.running.value) & (RenderJob.heartbeat_at < stale),
                RenderJob.status == JobStatus.queued.value,
            ),
            or_(RenderJob.sent_at.is_(None), RenderJob.sent_at < waiting),
        )
    )
    due = []
    for job in rows:
        base = stale_after_s if job.status == JobStatus.running.value else resend_after_s
        backoff = min(2 ** max(job.sends - 1, 0), MAX_RESEND_BACKOFF)
        last = job.sent_at or job.created_at
        if (now - last).total_seconds() >= base * backoff:
            due.append(job)
    return due


def mark_sent(session: Session, *, job: RenderJob) -> None:
    """Record that the job's message went to the broker again."""
    job.sent_at = utcnow()
    job.sends += 1
    session.flush()


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


def work_dir_for(job: RenderJob) -> Path:
    """Scratch directory of a job attempt (outside the media directory: nothing partial is ever published)."""
    return get_settings().data_dir / "work" / f"job-{job.id}-{job.attempts}"


def earlier_work_dirs(job: RenderJob) -> list[Path]:
    """Scratch directories left by earlier attempts of a job (a worker killed mid-render leaves one)."""
    current = work_dir_for(job)
    return [path for path in current.parent.glob(f"job-{job.id}-*") if path != current]
