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
    job_stale_after_s: int = 120
    # A queued job nobody claimed this long (its message may be lost) is sent again; default 2x job_stale_after_s.
    job_resend_after_s: int | None = None
    reaper_interval_s: int = 15
    schedule_horizon_days: int = 14
    freshness_days: int = 3
    feed_cache_max_age_s: int = 60
    # How long a process trusts its built feed before asking the database for the feed's version again.
    feed_revalidate_s: float = 2.0
    # The same for station pulls (schedule.json, playlist.m3u, feed.rss); keep it well under the stations' poll interval.
    station_revalidate_s: float = 1.0
    # Worker threads per process for station pulls; 0 picks 1 on SQLite and 4 on PostgreSQL.
    station_threads: int = Field(default=0, ge=0)
    org_legal: str = "Sở Tư pháp tỉnh Quảng Ninh"
    org_media: str = "Trung tâm Truyền thông tỉnh Quảng Ninh"
    logo_legal: Path | None = None
    logo_media: Path | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    worker_concurrency: int = Field(default=2, ge=1)
    # Mixed and encoded programme sections kept under cache_dir/sections for re-renders after an edit.
    section_cache_mb: int = Field(default=2048, ge=0)

    @property
    def resend_after_s(self) -> int:
        """Seconds a queued job may wait unclaimed before its message is sent again."""
        return self.job_resend_after_s or 2 * self.job_stale_after_s

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
