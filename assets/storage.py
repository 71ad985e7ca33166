"""Local media storage: immutable files under the data directory, written atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from settings import get_settings

CHUNK = 1 << 20


def media_root() -> Path:
    """Directory holding every stored media file."""
    root = get_settings().media_dir
    root.mkdir(parents=True, exist_ok=True)
    return root


def path_for(key: str) -> Path:
    """Filesystem path of a media key; refuses keys that escape the media root."""
    root = media_root().resolve()
    path = (root / key).resolve()
    if root not in path.parents:
        raise ValueError(f"invalid media key: {key!r}")
    return path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file (read in chunks by hashlib)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


STAGING = ".staging"


def put_file(src: Path, key: str) -> Path:
    """Copy `src` to `key` atomically; an existing key is never overwritten.

    The copy is written in a hidden staging directory of the media root (same filesystem, so the
    rename is atomic) and only the finished file ever appears under its key.
    """
    dest = path_for(key)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = media_root() / STAGING
    staging.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=staging, prefix=".incoming-", suffix=dest.suffix)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; published media must be readable by a web server
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        _publish(Path(tmp), dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def _publish(tmp: Path, dest: Path) -> None:
    """Give the finished file its key; a key that appeared meanwhile (same content) is kept, not replaced."""
    try:
        os.link(tmp, dest)  # atomic, and refuses to overwrite
    except FileExistsError:
        pass
    except OSError:  # a filesystem without hard links
        os.replace(tmp, dest)
