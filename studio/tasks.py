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
from studio import jobs, pipeline, service
from studio.render._ffmpeg import Cancelled, FFmpegError
from studio.tts import EngineError, PhraseCache, build_engines

log = logging.getLogger(__name__)
MAX_RETRIES = 3
PROGRESS_EVERY_S = 0.4


class _JobReporter:
    """Writes progress and heartbeats at most every PROGRESS_EVERY_S and reads cancel requests."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.cancelled = False
        self._last = 0.0
        self._lock = threading.Lock()

    def progress(self, fraction: float, stage: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < PROGRESS_EVERY_S and fraction < 1.0:
                return
            self._last = now
        with session_scope() as session:
            self.cancelled = jobs.record_progress(session, job_id=self.job_id, progress=fraction, stage=stage)

    def cancel(self) -> bool:
        now = time.monotonic()
        with self._lock:
            due = now - self._last >= PROGRESS_EVERY_S
            if due:
                self._last = now
        if due:
            with session_scope() as session:
                self.cancelled = jobs.record_progress(session, job_id=self.job_id)
        return self.cancelled


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
        )
        return spec, slugify(production.title)


@shared_task(name="studio.render", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def render_job(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    """Render one job: speech, mix, loudness, encode, sidecars; store outputs atomically."""
    settings = get_settings()
    with session_scope() as session:
        if not jobs.claim(session, job_id=job_id, stale_after_s=settings.job_stale_after_s):
            return "skipped"
        work_dir = jobs.work_dir_for(jobs.get_job(session, job_id))
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
    with session_scope() as session:
        job = jobs.get_job(session, job_id)
        if transient and task.request.retries < MAX_RETRIES:
            jobs.mark_retrying(session, job=job, error=message)
        else:
            jobs.fail(session, job=job, error=_actionable(exc))
            return "failed"
    log.warning("render job %s: transient error, retrying: %s", job_id, message)
    raise task.retry(exc=exc, countdown=2 ** task.request.retries)


def _actionable(exc: Exception) -> str:
    if isinstance(exc, EngineError):
        return f"Không tổng hợp được giọng đọc: {exc}. Kiểm tra LAWCAST_TTS_ENGINES hoặc kết nối mạng."
    if isinstance(exc, FFmpegError):
        return f"ffmpeg lỗi khi dựng: {exc}"
    return f"Dữ liệu không hợp lệ: {exc}"


@shared_task(name="studio.requeue_stale_jobs")
def requeue_stale_jobs() -> int:
    """Re-send running jobs whose worker died (no heartbeat), so no job is lost."""
    settings = get_settings()
    with session_scope() as session:
        stale = [(job.id, job.queue) for job in jobs.stale_jobs(session, stale_after_s=settings.job_stale_after_s)]
    for job_id, queue in stale:
        log.warning("render job %s lost its worker; sending it again", job_id)
        render_job.apply_async(args=[job_id], queue=queue)
    return len(stale)
