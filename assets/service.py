"""Media library service: register stored files (flushes, never commits)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from assets import cover, storage
from assets.models import MediaFile
from settings import get_settings

mimetypes.add_type("text/vtt", ".vtt")
mimetypes.add_type("application/x-subrip", ".srt")
mimetypes.add_type("application/json+chapters", ".chapters.json")


def guess_mime(key: str) -> str:
    """MIME type of a media key from its extension."""
    if key.endswith(".chapters.json"):
        return "application/json+chapters"
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def store(session: Session, *, src: Path, key: str) -> MediaFile:
    """Store a file under `key` (content-addressed by the caller) and record it once."""
    existing = session.scalar(select(MediaFile).where(MediaFile.key == key))
    if existing is not None:
        return existing
    dest = storage.put_file(src, key)
    row = MediaFile(key=key, sha256=storage.sha256_file(dest), bytes=dest.stat().st_size, mime_type=guess_mime(key))
    session.add(row)
    session.flush()
    return row


def get(session: Session, key: str) -> MediaFile | None:
    """The media row for a key."""
    return session.scalar(select(MediaFile).where(MediaFile.key == key))


def public_url(key: str) -> str:
    """Absolute URL at which a media key is served."""
    return f"{get_settings().base_url.rstrip('/')}/media/{key}"


def media_path(key: str) -> str:
    """Site-relative URL of a media key, for pages served from the same host."""
    return f"/media/{key}"


def read_text(key: str) -> str | None:
    """A stored text file (transcript, subtitles, chapters), or None when it is missing."""
    try:
        return storage.path_for(key).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def cover_url(*, title: str, subtitle: str, credits: tuple[str, ...]) -> str:
    """Absolute URL of a square cover with this text, drawing it on first use."""
    path = cover.ensure_cover(cover.CoverText(title, subtitle, credits))
    return f"{get_settings().base_url.rstrip('/')}/covers/{path.name}"
