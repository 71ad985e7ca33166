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
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def put_file(src: Path, key: str) -> Path:
    """Copy `src` to `key` atomically; an existing key is never overwritten."""
    dest = path_for(key)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-", suffix=dest.suffix)
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
