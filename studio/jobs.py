"""Render jobs: request, claim, progress, finish (flushes, never commits)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from celery import current_app
from sqlalchemy import ColumnElement, Update, or_, select, update
from sqlalchemy.orm import Session

import outages
from assets import service as assets_service
from auth import User
from db import utcnow
from errors import Conflict, Invalid, NotFound, ServiceUnavailable
from settings import get_settings
from studio import service
from studio.engine import pipeline
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
MAX_RESEND_BACKOFF = 32


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


@dataclass(frozen=True)
class Resend:
    """A job whose message must go to the broker again (to `queue`), or, without a queue, one the reaper ended."""

    job_id: int
    queue: str | None
    reason: str


def _fenced(attempt: Attempt) -> Update:
    # The attempt owns the job while the job is running under its number; a reaper that gave the job to a
    # later attempt changed one or the other, so a stale attempt's write matches no row.
    return update(RenderJob).where(
        RenderJob.id == attempt.job_id, RenderJob.attempts == attempt.number, RenderJob.status == JobStatus.running.value
    ).execution_options(synchronize_session=False)


def _finished_by(session: Session, attempt: Attempt, status: JobStatus) -> bool:
    """Whether this attempt already wrote `status` (its commit went through although the connection broke)."""
    row = session.execute(select(RenderJob.status, RenderJob.attempts).where(RenderJob.id == attempt.job_id)).one_or_none()
    return row is not None and tuple(row) == (status.value, attempt.number)


def claim(session: Session, *, job_id: int) -> Attempt | None:
    """Atomically start the next attempt of a queued job; None when it is running, finished, cancelled or not yet due."""
    now = utcnow()
    result = session.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, RenderJob.status == JobStatus.queued.value, RenderJob.cancel_requested.is_(False),
               # A retry is due at sent_at: a duplicate message (a resend) must not cut its backoff short.
               or_(RenderJob.sent_at.is_(None), RenderJob.sent_at <= now))
        .values(status=JobStatus.running.value, started_at=now, heartbeat_at=now, stage="starting", progress=0.0,
                attempts=RenderJob.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    # Read inside the same transaction: the row is ours (locked) until the commit.
    return Attempt(job_id, session.scalar(select(RenderJob.attempts).where(RenderJob.id == job_id)))  # type: ignore[arg-type]


def record_progress(session: Session, *, attempt: Attempt, progress: float | None = None, stage: str | None = None) -> Heartbeat:
    """Persist a heartbeat (and progress when given) if the attempt still owns the job."""
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = round(min(max(progress, 0.0), 1.0), 4)
    if stage is not None:
        values["stage"] = stage
    if session.execute(_fenced(attempt).values(**values)).rowcount != 1:  # type: ignore[attr-defined]
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


def _finish_values(status: JobStatus, stage: str, error: str | None = None) -> dict[str, object]:
    values: dict[str, object] = {"status": status.value, "stage": stage, "error": error, "finished_at": utcnow()}
    if status == JobStatus.succeeded:
        values["progress"] = 1.0
    return values


def succeed(session: Session, *, attempt: Attempt, files: Sequence[pipeline.RenderedFile], slug: str,
            engines: Sequence[str]) -> list[Output] | None:
    """Store a finished render's files under content-addressed keys and record them; None if the attempt lost its job."""
    done = _fenced(attempt).values(engines_used=sorted(engines), **_finish_values(JobStatus.succeeded, "done"))
    if session.execute(done).rowcount != 1:  # type: ignore[attr-defined]
        # Nothing was written: a stale attempt never stores a file or an output row.
        return list(session.get_one(RenderJob, attempt.job_id).outputs) if _finished_by(session, attempt, JobStatus.succeeded) else None
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
    if session.execute(_fenced(attempt).values(**values)).rowcount == 1:  # type: ignore[attr-defined]
        return True
    return _finished_by(session, attempt, status)


def fail(session: Session, *, attempt: Attempt, error: str) -> bool:
    """Mark the attempt's job failed with an error a person can act on; False if the attempt lost its job."""
    return _end(session, attempt, JobStatus.failed, _finish_values(JobStatus.failed, "failed", error[:4000]))


def mark_cancelled(session: Session, *, attempt: Attempt) -> bool:
    """Mark the attempt's job cancelled after its work stopped; False if the attempt lost its job."""
    return _end(session, attempt, JobStatus.cancelled, _finish_values(JobStatus.cancelled, "cancelled"))


def mark_retrying(session: Session, *, attempt: Attempt, error: str, countdown_s: float) -> bool:
    """Put the job back in the queue after a transient error of its own; its retry message is due in countdown_s."""
    values = {"status": JobStatus.queued.value, "stage": "retrying", "error": error[:4000],
              "sent_at": utcnow() + timedelta(seconds=countdown_s), "sends": RenderJob.sends + 1}
    return session.execute(_fenced(attempt).values(**values)).rowcount == 1  # type: ignore[attr-defined]


def worker_lost_message(lost: int, attempts: int) -> str:
    """Why a job whose workers kept dying was given up, and what to do."""
    return (
        f"Máy dựng mất liên lạc {lost} lần khi đang dựng tác vụ này ({attempts} lần thử); đã dừng thử lại. "
        "Xem nhật ký máy dựng (thiếu bộ nhớ, tiến trình bị dừng?) rồi yêu cầu dựng lại "
        f"(worker lost {lost} times over {attempts} attempts: check the worker log for memory or crashes, then render again)"
    )


def _take_over(session: Session, job: RenderJob, stale: datetime) -> Resend | None:
    """Settle a running job whose attempt stopped sending heartbeats: cancelled, failed at the cap, or queued again."""
    lost = f"attempt {job.attempts} lost its worker"
    if job.cancel_requested:
        values, found = _finish_values(JobStatus.cancelled, "cancelled"), Resend(job.id, None, f"{lost}; cancelled")
    elif job.attempts >= MAX_ATTEMPTS:
        error = worker_lost_message(job.workers_lost + 1, job.attempts)
        values, found = _finish_values(JobStatus.failed, "failed", error), Resend(job.id, None, f"{lost}; failed: {error}")
    else:
        values = {"status": JobStatus.queued.value, "stage": "requeued", "sent_at": utcnow(), "sends": RenderJob.sends + 1}
        found = Resend(job.id, job.queue, lost)
    # Fenced like the attempt's own writes, and only while the heartbeat is still old: one reaper wins.
    taken = session.execute(
        _fenced(Attempt(job.id, job.attempts)).where(RenderJob.heartbeat_at < stale)
        .values(workers_lost=RenderJob.workers_lost + 1, **values)
    )
    return found if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def _unsent_since(sent_before: datetime, created_before: datetime) -> ColumnElement[bool]:
    """Queued and last sent before sent_before, or never sent and created before created_before."""
    return (RenderJob.status == JobStatus.queued.value) & or_(
        RenderJob.sent_at < sent_before, RenderJob.sent_at.is_(None) & (RenderJob.created_at < created_before)
    )


def _mark_resent(session: Session, job_id: int, unsent: ColumnElement[bool]) -> bool:
    # Conditional, so two reapers or reconnecting workers at once send each job once.
    result = session.execute(
        update(RenderJob).where(RenderJob.id == job_id, unsent)
        .values(sent_at=utcnow(), sends=RenderJob.sends + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def recover_lost(session: Session, *, stale_after_s: int, resend_after_s: int) -> list[Resend]:
    """The reaper's round: settle attempts whose worker died, and pick queued jobs whose message may be lost.

    A worker killed mid-job leaves it 'running' with an old heartbeat; a worker killed holding prefetched
    messages, a broker that lost its messages or a failed send leaves it 'queued'. Each further send of a
    queued job waits twice as long, so jobs merely waiting behind busy workers do not flood the queue; a
    duplicate message is harmless because claim() is atomic.
    """
    now = utcnow()
    stale = now - timedelta(seconds=stale_after_s)
    due = [
        found
        for job in session.scalars(
            select(RenderJob).where(RenderJob.status == JobStatus.running.value, RenderJob.heartbeat_at < stale)
        )
        if (found := _take_over(session, job, stale)) is not None
    ]
    waiting = now - timedelta(seconds=resend_after_s)
    unsent = _unsent_since(waiting, waiting)
    for job in session.scalars(select(RenderJob).where(unsent, RenderJob.cancel_requested.is_(False))):
        backoff = min(2 ** max(job.sends - 1, 0), MAX_RESEND_BACKOFF)
        last = job.sent_at or job.created_at
        if (now - last).total_seconds() >= resend_after_s * backoff and _mark_resent(session, job.id, unsent):
            due.append(Resend(job.id, job.queue, "queued, its message may be lost"))
    session.flush()
    return due


def resend_queued(session: Session, *, sent_before: datetime | None, guard_s: float) -> list[Resend]:
    """Queued jobs whose message the broker may have lost, marked sent now: sent before sent_before (when the
    connection was lost; None: guard_s ago), or never sent (the send failed) and created over guard_s ago."""
    guard = utcnow() - timedelta(seconds=guard_s)
    unsent = _unsent_since(sent_before or guard, guard)
    rows = session.execute(select(RenderJob.id, RenderJob.queue).where(unsent, RenderJob.cancel_requested.is_(False))).all()
    return [Resend(job_id, queue, "sent again after a broker (re)connection") for job_id, queue in rows
            if _mark_resent(session, job_id, unsent)]


def send_jobs(session: Session, pending: Sequence[RenderJob]) -> None:
    """Send the queued jobs among `pending` that were never sent, after their rows are committed.

    A job is marked sent only once the broker took its message; if the broker cannot be reached the
    job stays unsent and a 503 tells the client to ask again, which sends it then.
    """
    # The configured Celery app (worker.py, imported by the app and worker factories) is the current one;
    # asking for it here keeps the studio below worker.py.
    app = current_app._get_current_object()
    for job in pending:
        if job.status != JobStatus.queued.value or job.sent_at is not None:
            continue
        try:
            app.send_task("studio.render", args=[job.id], queue=job.queue)
        except Exception as exc:
            if outages.kind(exc) is None:
                raise
            raise ServiceUnavailable(
                f"Hàng đợi dựng tạm thời không liên lạc được; tác vụ {job.id} đã được lưu và sẽ được gửi khi bạn yêu cầu "
                f"dựng lại sau ít phút (the render queue is unreachable: job {job.id} is saved; ask again shortly)",
                retry_after_s=outages.RETRY_AFTER_S,
            ) from exc
        session.execute(
            update(RenderJob).where(RenderJob.id == job.id, RenderJob.sent_at.is_(None))
            .values(sent_at=utcnow(), sends=RenderJob.sends + 1).execution_options(synchronize_session=False)
        )
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
