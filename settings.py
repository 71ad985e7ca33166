"""Runtime configuration: every setting comes from a `LAWCAST_` environment variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All lawcast settings; defaults run everything embedded under `./var`."""

    model_config = SettingsConfigDict(env_prefix="LAWCAST_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    broker_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    tts_engines: str = "espeak"
    tts_rate: int = 165
    gtts_host: str | None = None
    gtts_timeout_s: float = 10.0
    gtts_retries: int = 3
    gtts_min_interval_s: float = 0.3
    piper_model: Path | None = None
    max_upload_bytes: int = 5_000_000
    # Extracted text of an upload (or pasted text) may not exceed this; None: max_upload_bytes. A .docx is
    # compressed, so its text can be far larger than the file.
    max_text_bytes: int | None = Field(default=None, ge=1)
    # Request bodies beyond this are refused (413) before a route reads them; None: max_upload_bytes + 1 MB.
    max_body_bytes: int | None = Field(default=None, ge=1)
    max_provisions: int = Field(default=20_000, ge=1)
    # A running attempt without a heartbeat this long is lost: the reaper queues its job again (or fails it at the cap).
    job_stale_after_s: int = 120
    # A queued job nobody claimed this long (its message may be lost) is sent again, then after 2x, 4x... that;
    # default 2x job_stale_after_s, at most 60 s. A worker that (re)connects to the broker sends them at once.
    job_resend_after_s: int | None = None
    reaper_interval_s: int = 15
    # Longest pause between a worker's attempts to reconnect to a broker that went away (Celery's default is 30 s).
    broker_reconnect_max_s: float = Field(default=5.0, gt=0)
    schedule_horizon_days: int = 14
    freshness_days: int = 3
    feed_cache_max_age_s: int = 60
    # How long a process trusts its built feed before asking the database for the feed's version again.
    feed_revalidate_s: float = 2.0
    # The same for station pulls (schedule.json, playlist.m3u, feed.rss); keep it well under the stations' poll interval.
    station_revalidate_s: float = 1.0
    # Worker threads per process for station pulls; 0 picks 1 on SQLite and 4 on PostgreSQL.
    station_threads: int = Field(default=0, ge=0)
    # While the database is unreachable, station pulls answer the last schedule served, marked stale, this long.
    station_stale_if_error_s: float = Field(default=600.0, ge=0)
    # The same for the public feeds (/feeds/{channel}.rss|.atom|.ics).
    feed_stale_if_error_s: float = Field(default=600.0, ge=0)
    org_legal: str = "Sở Tư pháp tỉnh Quảng Ninh"
    org_media: str = "Trung tâm Truyền thông tỉnh Quảng Ninh"
    logo_legal: Path | None = None
    logo_media: Path | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    # Signs preview URLs of media that is not public; every API replica needs the same value (else data_dir/secret.key).
    secret_key: str | None = None
    preview_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 86400)
    worker_concurrency: int = Field(default=2, ge=1)
    # Mixed and encoded programme sections kept under cache_dir/sections for re-renders after an edit.
    section_cache_mb: int = Field(default=2048, ge=0)

    @property
    def resend_after_s(self) -> int:
        """Seconds a queued job may wait unclaimed before its message is sent again."""
        return self.job_resend_after_s or min(2 * self.job_stale_after_s, 60)

    @property
    def text_limit(self) -> int:
        """Bytes of UTF-8 text a document may hold (LAWCAST_MAX_TEXT_BYTES, default LAWCAST_MAX_UPLOAD_BYTES)."""
        return self.max_text_bytes or self.max_upload_bytes

    @property
    def body_limit(self) -> int:
        """Bytes a request body may hold (LAWCAST_MAX_BODY_BYTES, default LAWCAST_MAX_UPLOAD_BYTES + 1 MB)."""
        return self.max_body_bytes or self.max_upload_bytes + 1_048_576

    @property
    def media_dir(self) -> Path:
        """Directory holding rendered media and caches."""
        return self.data_dir / "media"

    @property
    def cache_dir(self) -> Path:
        """Directory of the phrase cache (per-line synthesised speech)."""
        return self.data_dir / "cache"

    @property
    def sqlalchemy_url(self) -> str:
        """Database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'lawcast.sqlite').resolve()}"

    @property
    def celery_broker_url(self) -> str:
        """Broker URL, defaulting to kombu's SQLAlchemy transport on a SQLite file."""
        return self.broker_url or f"sqla+sqlite:///{(self.data_dir / 'broker.sqlite').resolve()}"

    @property
    def engine_names(self) -> list[str]:
        """TTS engines in fallback order."""
        return [name.strip() for name in self.tts_engines.split(",") if name.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, created once."""
    return Settings()
