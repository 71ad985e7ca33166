"""Short-lived signed media URLs: staff previews of media that is not public yet.

A signature is an HMAC-SHA256 of the media key and its expiry, under a secret that every API
replica shares: `LAWCAST_SECRET_KEY`, or else a random key written once to `<data_dir>/secret.key`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from settings import get_settings

_keys: dict[Path, bytes] = {}


def _secret() -> bytes:
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    key = _keys.get(path)
    if key is None:
        key = _load_or_create(path)
        _keys[path] = key
    return key


def _load_or_create(path: Path) -> bytes:
    """The data directory's secret, created atomically so that two processes never end up with two keys."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_bytes(secrets.token_hex(32).encode())
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, path)  # fails if another process won the race; its key is then the one
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()


def _signature(key: str, expires: int) -> str:
    return hmac.new(_secret(), f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()[:40]


@dataclass(frozen=True)
class SignedQuery:
    """The query parameters that let anyone fetch one media key until `expires` (Unix seconds)."""

    expires: int
    sig: str

    def query(self) -> str:
        """The query string, without '?'."""
        return urlencode({"exp": self.expires, "sig": self.sig})


def sign(key: str, *, ttl_s: int | None = None, now: float | None = None) -> SignedQuery:
    """A signature for `key` valid for ttl_s seconds (LAWCAST_PREVIEW_URL_TTL_S by default)."""
    ttl = get_settings().preview_url_ttl_s if ttl_s is None else ttl_s
    expires = int((time.time() if now is None else now) + ttl)
    return SignedQuery(expires, _signature(key, expires))


def verify(key: str, expires: str | None, sig: str | None, *, now: float | None = None) -> bool:
    """True when the signature is ours for this key and has not expired."""
    if not expires or not sig or not expires.isdigit() or len(expires) > 12:
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(_signature(key, int(expires)), sig)


def preview_url(key: str) -> str:
    """A signed URL that lets a browser play this media without a token, for a short while."""
    base = f"{get_settings().base_url.rstrip('/')}/media/{key}"
    return f"{base}?{sign(key).query()}"
