"""Content-addressed phrase cache: one WAV per (engine, version, voice, rate, pitch, text)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from studio.engine.tts.base import Synthesis


@dataclass(frozen=True)
class CachedPhrase:
    """A phrase's audio on disk, which engine spoke it, and whether it came from the cache."""

    path: Path
    duration_s: float
    sample_rate: int
    engine: str
    voice: str
    key: str
    hit: bool
    fallback_from: tuple[str, ...] = ()  # engines that failed on this line before `engine` spoke it

    def record(self) -> dict[str, object]:
        """Who spoke this line, as JSON-ready data for a render's per-line speech log."""
        return {
            "engine": self.engine,
            "voice": self.voice,
            "fallback_from": list(self.fallback_from),
            "cached": self.hit,
            "duration_s": round(self.duration_s, 6),
            "phrase": self.key,
        }


class PhraseCache:
    """WAV files under root/ab/<key>.wav with a <key>.json sidecar; both written atomically."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @staticmethod
    def key(engine: str, engine_version: str, voice: str, rate: int, pitch: int, text: str) -> str:
        """sha256 hex over everything that decides the audio."""
        payload = json.dumps([engine, engine_version, voice, int(rate), int(pitch), text], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def wav_path(self, key: str) -> Path:
        """Where the WAV for `key` lives."""
        return self.root / key[:2] / f"{key}.wav"

    def get(self, key: str) -> CachedPhrase | None:
        """The cached phrase, or None; a WAV without its sidecar (interrupted put) is a miss."""
        wav = self.wav_path(key)
        try:
            meta = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
            if not wav.is_file():
                return None
            return CachedPhrase(
                path=wav,
                duration_s=float(meta["duration_s"]),
                sample_rate=int(meta["sample_rate"]),
                engine=str(meta["engine"]),
                voice=str(meta["voice"]),
                key=key,
                hit=True,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, synthesis: Synthesis) -> CachedPhrase:
        """Store the synthesis: WAV first, sidecar last, each via a temp file and os.replace."""
        wav = self.wav_path(key)
        wav.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "engine": synthesis.engine,
            "voice": synthesis.voice,
            "sample_rate": synthesis.sample_rate,
            "duration_s": synthesis.duration_s,
            "bytes": len(synthesis.pcm),
        }
        _write_atomic(wav, synthesis.wav_bytes())
        _write_atomic(wav.with_suffix(".json"), json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        return CachedPhrase(
            path=wav,
            duration_s=synthesis.duration_s,
            sample_rate=synthesis.sample_rate,
            engine=synthesis.engine,
            voice=synthesis.voice,
            key=key,
            hit=False,
        )


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never a partial one."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
