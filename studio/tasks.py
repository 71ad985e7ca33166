"""Celery tasks of the studio: thin wrappers that take ids and call the pipeline and services.

Every render ends: succeeded, cancelled, queued again for a retry (an error of a `Transient` type, below
jobs.MAX_ATTEMPTS attempts), or failed with a message that says what to do, its traceback in the worker log.
An unreachable database or broker is never the job's fault: the short job-state transactions are retried
with backoff and jitter, and a claim that cannot reach the database goes back to the queue without counting.
Each claim is an attempt whose number fences every write it makes, so an attempt that wakes up after the
reaper gave its job to another one writes nothing and stops its ffmpeg (its progress callback cancels it).
"""

from __future__ import annotations

import logging
import random
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable
from typing import TypeVar

from celery import Task, shared_task
from celery.exceptions import Retry
from sqlalchemy.orm import Session

import outages
from db import session_scope
from errors import Transient
from settings import get_settings
from studio import dispatch, jobs, service
from studio.engine import pipeline
from studio.engine.render._ffmpeg import Cancelled, FFmpegError
from studio.engine.spec import BadScript, RenderSpec, Report
from studio.engine.text import scripts
from studio.engine.tts import EngineError, PhraseCache, build_engines

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.4
CLAIM_BUDGET_S = 30.0  # a claim that cannot reach the database for this long goes back to the queue
T = TypeVar("T")


def backoff_s(retry: int, *, first_s: float = 0.25, cap_s: float = 5.0) -> float:
    """Delay before retry number `retry` (from 0): exponential, capped, with jitter so retries do not march together."""
    # The exponent is bounded: after hours of outage 2.0**retry would overflow a float.
    return min(cap_s, first_s * 2.0 ** min(retry, 32)) * random.uniform(0.5, 1.0)


def retrying(work: Callable[[Session], T], *, budget_s: float, what: str) -> T:
    """Run work in a transaction of its own; while the database or broker is unreachable, run it again after a backoff.

    Only the whole transaction is repeated, so work must decide from what it reads (the job-state writes are
    fenced and conditional). Other errors, and an outage longer than budget_s, are raised.
    """
    deadline = time.monotonic() + budget_s
    retry = 0
    while True:
        try:
            with session_scope() as session:
                return work(session)
        except Exception as exc:
            kind = outages.kind(exc)
            delay = backoff_s(retry)
            if kind is None or time.monotonic() + delay > deadline:
                raise
            log.warning("%s: %s unreachable, trying again in %.2f s (%s)", what, kind, delay, _first_line(exc))
            time.sleep(delay)
        retry += 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


class _JobReporter:
    """Persists progress, stage and heartbeats at most every PROGRESS_EVERY_S, and reads cancel requests.

    The pipeline asks cancel() far more often than it reports progress; every database round trip
    carries the latest progress, so frequent cancel checks never starve the progress the API shows.
    A write that finds the job no longer this attempt's makes cancel() true: the pipeline stops its
    ffmpeg at once. A write that cannot reach the database is skipped; the render goes on.
    """

    def __init__(self, attempt: jobs.Attempt):
        self.attempt = attempt
        self.cancelled = False
        self.lost = False
        self._down = False
        self._last = 0.0
        self._stage: str | None = None
        self._pending: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def progress(self, fraction: float, stage: str) -> None:
        """Note the pipeline's progress; write it when the stage changed, it ended, or PROGRESS_EVERY_S passed."""
        with self._lock:
            self._pending = (fraction, stage)
            due = stage != self._stage or fraction >= 1.0 or time.monotonic() - self._last >= PROGRESS_EVERY_S
        if due:
            self._write()

    def cancel(self) -> bool:
        """Whether the render must stop: a cancel was asked, or this attempt lost its job."""
        with self._lock:
            due = time.monotonic() - self._last >= PROGRESS_EVERY_S
        if due:
            self._write()
        return self.cancelled or self.lost

    def _write(self) -> None:
        with self._lock:
            self._last = time.monotonic()
            pending, self._pending = self._pending, None
            if pending is not None:
                self._stage = pending[1]
        fraction, stage = pending if pending is not None else (None, None)
        try:
            with session_scope() as session:
                beat = jobs.record_progress(session, attempt=self.attempt, progress=fraction, stage=stage)
        except Exception as exc:
            if outages.kind(exc) is None:
                raise
            with self._lock:
                self._pending = self._pending or pending  # carried by the next write
            if not self._down:
                log.warning(
                    "render job %s: progress not saved, %s unreachable; rendering on (%s)",
                    self.attempt.job_id,
                    outages.kind(exc),
                    _first_line(exc),
                )
            self._down = True
            return
        if self._down:
            log.warning("render job %s: progress saved again", self.attempt.job_id)
        self._down = False
        # Sticky: a write that started before the loss may finish after one that saw it.
        self.cancelled = self.cancelled or beat.cancel_requested
        self.lost = self.lost or not beat.owned


def slugify(text: str) -> str:
    """ASCII file-name slug of a Vietnamese title (enclosure URLs must be ASCII)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "lawcast"


def _spec(session: Session, job_id: int) -> tuple[RenderSpec, str]:
    settings = get_settings()
    job = jobs.get_job(session, job_id)
    production = service.get_production(session, job.production_id)
    version = service.script_version(session, production, job.script_version)
    doc = service.get_document(session, production.document_id)
    spec = RenderSpec(
        profile=job.profile,
        title=production.title,
        album="Tìm hiểu pháp luật" if production.format == "radio" else doc.title,
        artist=f"{settings.org_legal} - {settings.org_media}",
        lines=version.lines,
        lexicon=service.lexicon(session),
        rate=settings.tts_rate,
        branding_left=settings.org_legal,
        branding_right=settings.org_media,
        logo_left=settings.logo_legal,
        logo_right=settings.logo_media,
        max_duration_s=scripts.LOUDSPEAKER_MAX_S if production.format == "loudspeaker" else None,
        section_cache_mb=settings.section_cache_mb,
    )
    return spec, slugify(production.title)


@shared_task(name="studio.render", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def render_job(self: Task[[int], str], job_id: int) -> str:
    """Render one job: speech, mix, loudness, encode, sidecars; store outputs atomically."""
    try:
        attempt = retrying(lambda s: jobs.claim(s, job_id=job_id), budget_s=CLAIM_BUDGET_S, what=f"render job {job_id}: claim")
    except Exception as exc:
        if outages.kind(exc) is None:
            raise
        # Nothing was claimed, so nothing counts against the job: the message simply comes back later.
        countdown = backoff_s(self.request.retries, first_s=2.0, cap_s=60.0)
        log.warning("render job %s: %s unreachable, claiming again in %.0f s", job_id, outages.kind(exc), countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    if attempt is None:
        return "skipped"  # a duplicate message, or the job is finished or running elsewhere
    return _run(self, attempt)


def _run(task: Task[[int], str], attempt: jobs.Attempt) -> str:
    settings = get_settings()
    # The last writes of a render wait for the database as long as the reaper would wait for the attempt.
    budget_s = float(max(settings.job_stale_after_s, CLAIM_BUDGET_S))
    where = f"render job {attempt.job_id} attempt {attempt.number}"
    work_dir = jobs.work_dir_for(attempt)
    for path in jobs.earlier_work_dirs(attempt):  # an attempt whose worker was killed never cleaned up after itself
        shutil.rmtree(path, ignore_errors=True)
    reporter = _JobReporter(attempt)
    report = Report(progress=reporter.progress, cancel=reporter.cancel)
    try:
        spec, slug = retrying(lambda s: _spec(s, attempt.job_id), budget_s=budget_s, what=where)
        engines = build_engines(
            settings.engine_names,
            gtts_host=settings.gtts_host,
            gtts_timeout_s=settings.gtts_timeout_s,
            gtts_retries=settings.gtts_retries,
            gtts_min_interval_s=settings.gtts_min_interval_s,
            piper_model=settings.piper_model,
        )
        files = pipeline.render(spec, work_dir=work_dir, engines=engines, cache=PhraseCache(settings.cache_dir), report=report)
        stored = retrying(
            lambda s: jobs.succeed(s, attempt=attempt, files=files, slug=slug, engines=report.engines_used),
            budget_s=budget_s,
            what=where,
        )
        return "succeeded" if stored is not None else _superseded(attempt)
    except Cancelled:
        if reporter.lost:
            return _superseded(attempt)
        ended = retrying(lambda s: jobs.mark_cancelled(s, attempt=attempt), budget_s=budget_s, what=where)
        return "cancelled" if ended else _superseded(attempt)
    except Retry:
        raise
    except Exception as exc:
        return _after_error(task, attempt, exc, budget_s)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _superseded(attempt: jobs.Attempt) -> str:
    log.warning(
        "render job %s: attempt %s no longer owns the job (it was given to a later attempt or ended); "
        "it stopped and wrote nothing",
        attempt.job_id,
        attempt.number,
    )
    return "superseded"


def _after_error(task: Task[[int], str], attempt: jobs.Attempt, exc: Exception, budget_s: float) -> str:
    where = f"render job {attempt.job_id} attempt {attempt.number}"
    if outages.kind(exc) is not None:
        # Away longer than the retry budget: nothing can be written; the reaper takes the attempt over.
        log.error("%s: %s unreachable for over %.0f s; the reaper will take the job over", where, outages.kind(exc), budget_s)
        return "abandoned"
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, Transient) and attempt.number < jobs.MAX_ATTEMPTS:
        # Never sooner than 1, 2, 4 s: the jitter only delays, so a flaky service gets at least that rest.
        countdown = 2 ** (attempt.number - 1) * random.uniform(1.0, 1.25)
        if not retrying(
            lambda s: jobs.mark_retrying(s, attempt=attempt, error=message, countdown_s=countdown), budget_s=budget_s, what=where
        ):
            return _superseded(attempt)
        log.warning("%s: transient error, retrying in %.1f s: %s", where, countdown, message)
        raise task.retry(exc=exc, countdown=countdown)
    log.error("%s failed: %s", where, message, exc_info=exc)
    if not retrying(lambda s: jobs.fail(s, attempt=attempt, error=_actionable(exc, attempt)), budget_s=budget_s, what=where):
        return _superseded(attempt)
    return "failed"


def _actionable(exc: Exception, attempt: jobs.Attempt) -> str:
    """What went wrong and what to do, in Vietnamese with an English gloss."""
    if isinstance(exc, BadScript):
        return str(exc)
    if isinstance(exc, EngineError):
        tries = f" (đã thử {attempt.number} lần)" if isinstance(exc, Transient) else ""
        return (
            f"Không tổng hợp được giọng đọc{tries}: {exc}. Kiểm tra LAWCAST_TTS_ENGINES hoặc kết nối mạng rồi dựng lại "
            "(speech synthesis failed: check the configured engines or the network, then render again)"
        )
    if isinstance(exc, FFmpegError):
        return (
            f"ffmpeg lỗi khi dựng: {exc}. Dựng lại; nếu vẫn lỗi, gửi nhật ký máy dựng cho bộ phận kỹ thuật "
            "(ffmpeg failed: render again; if it fails again, send the worker log to the technical team)"
        )
    if isinstance(exc, OSError):
        return (
            f"Lỗi đọc/ghi tệp khi dựng: {exc}. Kiểm tra dung lượng đĩa và quyền ghi thư mục LAWCAST_DATA_DIR rồi dựng lại "
            "(file error: check free disk space and write access to the data directory, then render again)"
        )
    if isinstance(exc, ValueError | KeyError):
        return (
            f"Dữ liệu không hợp lệ: {exc}. Kiểm tra kịch bản, lưu một phiên bản mới rồi dựng lại "
            "(invalid data: check the script, save a new version, then render again)"
        )
    return (
        f"Lỗi ngoài dự kiến khi dựng ({type(exc).__name__}: {exc}). Kịch bản đã lưu có thể bị hỏng: mở kịch bản, "
        "lưu lại một phiên bản mới rồi dựng lại; nếu vẫn lỗi, gửi nhật ký máy dựng cho bộ phận kỹ thuật "
        "(unexpected error: the stored script may be corrupt; save it again and render again, and if it fails "
        "again send the worker log to the technical team)"
    )


@shared_task(name="studio.requeue_stale_jobs")
def requeue_stale_jobs() -> int:
    """Settle attempts whose worker died and re-send jobs whose message was lost; returns how many were sent."""
    settings = get_settings()
    found = retrying(
        lambda s: dispatch.recover_lost(s, stale_after_s=settings.job_stale_after_s, resend_after_s=settings.resend_after_s),
        budget_s=float(settings.reaper_interval_s),
        what="reaper",
    )
    sent = 0
    # Sent after the commit: a send that fails now is made by the next round, or by a worker that reconnects.
    for item in found:
        if item.queue is None:
            log.error("render job %s: %s", item.job_id, item.reason)
            continue
        log.warning("render job %s: %s; sending it again", item.job_id, item.reason)
        try:
            render_job.apply_async(args=(item.job_id,), queue=item.queue)
        except Exception as exc:
            if outages.kind(exc) is None:
                raise
            log.warning("reaper: broker unreachable, the remaining jobs are sent later (%s)", _first_line(exc))
            break
        sent += 1
    return sent
