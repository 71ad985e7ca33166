"""Celery tasks of the studio: thin wrappers that take ids and call the pipeline and services."""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
import unicodedata

from celery import shared_task
from celery.exceptions import Retry

from db import session_scope
from settings import get_settings
from studio import jobs, pipeline, scripts, service
from studio.render._ffmpeg import Cancelled, FFmpegError
from studio.tts import EngineError, PhraseCache, build_engines

log = logging.getLogger(__name__)
MAX_RETRIES = 3
PROGRESS_EVERY_S = 0.4


class _JobReporter:
    """Persists progress, stage and heartbeats at most every PROGRESS_EVERY_S, and reads cancel requests.

    The pipeline asks cancel() far more often than it reports progress; every database round trip
    carries the latest progress, so frequent cancel checks never starve the progress the API shows.
    """

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.cancelled = False
        self._last = 0.0
        self._stage: str | None = None
        self._pending: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def progress(self, fraction: float, stage: str) -> None:
        with self._lock:
            self._pending = (fraction, stage)
            due = stage != self._stage or fraction >= 1.0 or time.monotonic() - self._last >= PROGRESS_EVERY_S
        if due:
            self._write()

    def cancel(self) -> bool:
        with self._lock:
            due = time.monotonic() - self._last >= PROGRESS_EVERY_S
        if due:
            self._write()
        return self.cancelled

    def _write(self) -> None:
        with self._lock:
            self._last = time.monotonic()
            pending, self._pending = self._pending, None
            if pending is not None:
                self._stage = pending[1]
        fraction, stage = pending if pending is not None else (None, None)
        with session_scope() as session:
            self.cancelled = jobs.record_progress(session, job_id=self.job_id, progress=fraction, stage=stage)


def slugify(text: str) -> str:
    """ASCII file-name slug of a Vietnamese title (enclosure URLs must be ASCII)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "lawcast"


def _spec(job_id: int) -> tuple[pipeline.RenderSpec, str]:
    settings = get_settings()
    with session_scope() as session:
        job = jobs.get_job(session, job_id)
        production = service.get_production(session, job.production_id)
        version = service.script_version(session, production, job.script_version)
        doc = service.get_document(session, production.document_id)
        spec = pipeline.RenderSpec(
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


@shared_task(name="studio.render", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def render_job(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    """Render one job: speech, mix, loudness, encode, sidecars; store outputs atomically."""
    settings = get_settings()
    with session_scope() as session:
        if not jobs.claim(session, job_id=job_id, stale_after_s=settings.job_stale_after_s):
            return "skipped"
        job = jobs.get_job(session, job_id)
        work_dir = jobs.work_dir_for(job)
        leftovers = jobs.earlier_work_dirs(job)
    for path in leftovers:  # an attempt whose worker was killed never cleaned up after itself
        shutil.rmtree(path, ignore_errors=True)
    reporter = _JobReporter(job_id)
    report = pipeline.Report(progress=reporter.progress, cancel=reporter.cancel)
    try:
        spec, slug = _spec(job_id)
        engines = build_engines(
            settings.engine_names,
            gtts_host=settings.gtts_host,
            gtts_timeout_s=settings.gtts_timeout_s,
            gtts_retries=settings.gtts_retries,
            gtts_min_interval_s=settings.gtts_min_interval_s,
            piper_model=settings.piper_model,
        )
        files = pipeline.render(spec, work_dir=work_dir, engines=engines, cache=PhraseCache(settings.cache_dir), report=report)
        with session_scope() as session:
            job = jobs.get_job(session, job_id)
            jobs.succeed(session, job=job, files=files, slug=slug, engines=report.engines_used)
        return "succeeded"
    except Cancelled:
        with session_scope() as session:
            jobs.mark_cancelled(session, job=jobs.get_job(session, job_id))
        return "cancelled"
    except pipeline.BadScript as exc:
        return _retry_or_fail(self, job_id, exc, transient=False)
    except (EngineError, FFmpegError, OSError) as exc:
        transient = getattr(exc, "transient", not isinstance(exc, FFmpegError))
        return _retry_or_fail(self, job_id, exc, transient)
    except Retry:
        raise
    except (ValueError, KeyError) as exc:
        return _retry_or_fail(self, job_id, exc, transient=False)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _retry_or_fail(task, job_id: int, exc: Exception, transient: bool) -> str:  # type: ignore[no-untyped-def]
    message = f"{type(exc).__name__}: {exc}"
    countdown = 2 ** task.request.retries
    with session_scope() as session:
        job = jobs.get_job(session, job_id)
        if transient and task.request.retries < MAX_RETRIES:
            jobs.mark_retrying(session, job=job, error=message, countdown_s=countdown)
        else:
            jobs.fail(session, job=job, error=_actionable(exc))
            return "failed"
    log.warning("render job %s: transient error, retrying in %d s: %s", job_id, countdown, message)
    raise task.retry(exc=exc, countdown=countdown)


def _actionable(exc: Exception) -> str:
    if isinstance(exc, pipeline.BadScript):
        return str(exc)
    if isinstance(exc, EngineError):
        return f"Không tổng hợp được giọng đọc: {exc}. Kiểm tra LAWCAST_TTS_ENGINES hoặc kết nối mạng."
    if isinstance(exc, FFmpegError):
        return f"ffmpeg lỗi khi dựng: {exc}"
    return f"Dữ liệu không hợp lệ: {exc}"


@shared_task(name="studio.requeue_stale_jobs")
def requeue_stale_jobs() -> int:
    """Re-send jobs whose message was lost: running without heartbeat, or queued and never claimed."""
    settings = get_settings()
    with session_scope() as session:
        due = jobs.lost_jobs(session, stale_after_s=settings.job_stale_after_s, resend_after_s=settings.resend_after_s)
        lost = [(job.id, job.queue, job.status) for job in due]
        for job in due:
            jobs.mark_sent(session, job=job)
    # Sent after the commit: a send that fails now is found again by the next round.
    for job_id, queue, status in lost:
        log.warning("render job %s (%s) lost its message or its worker; sending it again", job_id, status)
        render_job.apply_async(args=[job_id], queue=queue)
    return len(lost)
