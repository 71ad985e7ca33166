"""Sending render jobs to the broker, and finding the ones to send again: lost workers, lost messages, failed sends.

The reaper (studio.tasks.requeue_stale_jobs) and a worker that reconnects to the broker (worker.py) call this
module; so does every request that makes jobs, once its transaction has committed. Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.app import app_or_default
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

import outages
from db import rowcount, utcnow
from errors import ServiceUnavailable
from studio.jobs import MAX_ATTEMPTS, Attempt, fenced, finish_values
from studio.models import JobStatus, RenderJob

MAX_RESEND_BACKOFF = 32


@dataclass(frozen=True)
class Resend:
    """A job whose message must go to the broker again (to `queue`), or, without a queue, one the reaper ended."""

    job_id: int
    queue: str | None
    reason: str


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
        values, found = finish_values(JobStatus.cancelled, "cancelled"), Resend(job.id, None, f"{lost}; cancelled")
    elif job.attempts >= MAX_ATTEMPTS:
        error = worker_lost_message(job.workers_lost + 1, job.attempts)
        values, found = finish_values(JobStatus.failed, "failed", error), Resend(job.id, None, f"{lost}; failed: {error}")
    else:
        values = {"status": JobStatus.queued.value, "stage": "requeued", "sent_at": utcnow(), "sends": RenderJob.sends + 1}
        found = Resend(job.id, job.queue, lost)
    # Fenced like the attempt's own writes, and only while the heartbeat is still old: one reaper wins.
    taken = session.execute(
        fenced(Attempt(job.id, job.attempts))
        .where(RenderJob.heartbeat_at < stale)
        .values(workers_lost=RenderJob.workers_lost + 1, **values)
    )
    return found if rowcount(taken) == 1 else None


def _unsent_since(sent_before: datetime, created_before: datetime) -> ColumnElement[bool]:
    """Queued and last sent before sent_before, or never sent and created before created_before."""
    return (RenderJob.status == JobStatus.queued.value) & or_(
        RenderJob.sent_at < sent_before, RenderJob.sent_at.is_(None) & (RenderJob.created_at < created_before)
    )


def _mark_resent(session: Session, job_id: int, unsent: ColumnElement[bool]) -> bool:
    # Conditional, so two reapers or reconnecting workers at once send each job once.
    result = session.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, unsent)
        .values(sent_at=utcnow(), sends=RenderJob.sends + 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


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
    """Queued jobs whose message the broker may have lost, marked sent now.

    Those sent before sent_before (when the connection was lost; None: guard_s ago), and those never sent (the send
    failed) and created over guard_s ago.
    """
    guard = utcnow() - timedelta(seconds=guard_s)
    unsent = _unsent_since(sent_before or guard, guard)
    rows = session.execute(select(RenderJob.id, RenderJob.queue).where(unsent, RenderJob.cancel_requested.is_(False))).all()
    return [
        Resend(job_id, queue, "sent again after a broker (re)connection")
        for job_id, queue in rows
        if _mark_resent(session, job_id, unsent)
    ]


def send_jobs(session: Session, pending: Sequence[RenderJob]) -> None:
    """Send the queued jobs among `pending` that were never sent, after their rows are committed.

    A job is marked sent only once the broker took its message; if the broker cannot be reached the
    job stays unsent and a 503 tells the client to ask again, which sends it then.
    """
    # The configured Celery app (worker.py, imported by the app and worker factories) is the current one;
    # asking for it here keeps the studio below worker.py.
    app = app_or_default()
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
            update(RenderJob)
            .where(RenderJob.id == job.id, RenderJob.sent_at.is_(None))
            .values(sent_at=utcnow(), sends=RenderJob.sends + 1)
            .execution_options(synchronize_session=False)
        )
    session.flush()
