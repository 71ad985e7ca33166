"""The section store: mixed sections and their encodes, content-addressed in one directory, pruned least recently used."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from studio.engine.render.loudness import Blocks

STALE_TEMP_S = 3600.0  # a temp file this old belongs to no running render


@dataclass(frozen=True)
class MixedSection:
    """A section's float WAV at the mix rate and its logged loudness."""

    wav: Path
    samples: int
    blocks: Blocks  # as the section sounds once gain_db is applied
    gain_db: float = 0.0  # the narration gain still to apply (a mix of narration alone is stored at unity)


class SectionStore:
    """Mixed sections and their encodes, content-addressed in one directory; files are written under a temp name and renamed."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def mix_path(self, key: str) -> Path:
        """Where a section's mix lives."""
        return self.root / f"{key}.wav"

    def load(self, key: str) -> MixedSection | None:
        """The cached mix, or None; a WAV without its sidecar (an interrupted store) is a miss."""
        wav = self.mix_path(key)
        try:
            meta = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
            if wav.stat().st_size == 0:
                return None
            os.utime(wav)  # recently used: kept by prune
            return MixedSection(wav, int(meta["samples"]), Blocks.from_dict(meta["blocks"]), float(meta.get("gain_db", 0.0)))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, key: str, samples: int, blocks: Blocks, gain_db: float = 0.0) -> MixedSection:
        """Record the sidecar of a mix already renamed into place."""
        meta = json.dumps({"samples": samples, "blocks": blocks.as_dict(), "gain_db": gain_db})
        self._write(self.mix_path(key).with_suffix(".json"), meta.encode("utf-8"))
        return MixedSection(self.mix_path(key), samples, blocks, gain_db)

    def encoded_path(self, key: str, encoder: str, gain_cdb: int) -> Path:
        """Where a section's encode with these encoder settings, at a gain (hundredths of a dB), lives."""
        return self.root / f"{key}.{encoder}.{gain_cdb:+d}.mp3"

    def encoded_gains(self, key: str, encoder: str) -> list[int]:
        """Gains (hundredths of a dB) the section was already encoded at with these settings."""
        prefix = f"{key}.{encoder}."
        gains = []
        for path in self.root.glob(f"{prefix}*.mp3"):
            try:
                gains.append(int(path.name[len(prefix) : -len(".mp3")]))
            except ValueError:
                continue
        return gains

    def temp(self, final: Path) -> Path:
        """A hidden temp name next to `final`."""
        return final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")

    def _write(self, path: Path, data: bytes) -> None:
        temp = self.temp(path)
        temp.write_bytes(data)
        os.replace(temp, path)

    def prune(self, limit_bytes: int, keep: set[Path]) -> None:
        """Remove temp files a killed render left an hour ago or more, then the least recently used files beyond limit_bytes (never those in `keep`)."""
        files = []
        stale = time.time() - STALE_TEMP_S
        for path in self.root.iterdir():
            try:
                stat = path.stat()
            except OSError:
                continue
            if path.name.endswith(".part") and stat.st_mtime < stale:
                path.unlink(missing_ok=True)
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _mtime, size, path in sorted(files):
            if total <= limit_bytes:
                break
            if path in keep or path.with_suffix(".wav") in keep:
                continue
            path.unlink(missing_ok=True)
            total -= size
