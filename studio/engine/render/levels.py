"""Bundled assets (jingles, music bed, fonts) and levels: what each asset measures, how long a file is, how loud.

The bundled jingles and bed are measured once, into assets/defaults/levels.json with the sha256 of each
file; other assets are measured once per process. Run `write_bundled_levels()` after replacing one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from studio.engine.render import _ffmpeg as ff
from studio.engine.render._ffmpeg import MIX_RATE, R128, FFmpegError
from studio.engine.render.progress import no_progress, step

DEFAULTS_DIR = Path(__file__).resolve().parents[3] / "assets" / "defaults"
LEVELS_FILE = DEFAULTS_DIR / "levels.json"  # the bundled jingles and bed, measured when they were added
BUNDLED = {"intro": "jingle-intro.flac", "outro": "jingle-outro.flac", "bed": "music-bed.flac"}

FileKey = tuple[str, int, int]
_SAMPLES: dict[FileKey, int] = {}
_ASSET_LEVELS: dict[FileKey, R128] = {}


class LevelEntry(TypedDict):
    """One bundled asset's line in levels.json: its R128 measurement and the sha256 of the file measured."""

    sha256: str
    integrated: float
    threshold: float
    lra: float
    peak: float | None


@dataclass(frozen=True)
class Loudness:
    """EBU R128 measurement of a file."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra: float


def default_asset(name: str) -> Path:
    """Path of a bundled default in assets/defaults (a .wav name also finds the .flac of that name)."""
    path = DEFAULTS_DIR / name
    if path.exists():
        return path
    for suffix in (".flac", ".wav", ".ogg", ".mp3"):
        alternative = path.with_suffix(suffix)
        if alternative.exists():
            return alternative
    raise FileNotFoundError(f"no bundled asset {name!r} in {DEFAULTS_DIR}")


def file_key(path: Path) -> FileKey:
    """A file's identity for the per-process caches: resolved path, size and modification time."""
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def probe_duration(path: Path) -> float:
    """Duration of a media file in seconds (container header, else a full decode)."""
    try:
        import mutagen

        info = mutagen.File(path)
        if info is not None and info.info.length > 0:
            return float(info.info.length)
    except Exception:  # an unreadable header falls back to decoding
        pass
    length = ff.parse_out_time(ff.run(ff.decode_length_args(Path(path))))
    if length is None:
        raise FFmpegError(f"cannot tell the duration of {path}")
    return length


def asset_samples(path: Path | None) -> int:
    """Length of an asset at MIX_RATE (read once per process: every section's plan asks)."""
    if path is None:
        return 0
    key = file_key(path)
    if key not in _SAMPLES:
        _SAMPLES[key] = round(probe_duration(path) * MIX_RATE)
    return _SAMPLES[key]


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness, true peak and LRA of a file (ffmpeg ebur128, peak=true)."""
    summary = ff.parse_ebur128(ff.run(ff.measure_file_args(Path(path))))["ebur128@file"]
    return Loudness(summary.integrated, summary.peak if summary.peak is not None else float("-inf"), summary.lra)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def bundled_levels() -> dict[str, LevelEntry]:
    """Measurements of the bundled assets by file name, each with the sha256 of the file it was made from."""
    try:
        return dict(json.loads(LEVELS_FILE.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def write_bundled_levels() -> dict[str, LevelEntry]:
    """Measure the bundled jingles and bed and write levels.json (run after replacing one of them)."""
    paths = {name: DEFAULTS_DIR / file for name, file in BUNDLED.items()}
    found = ff.parse_ebur128(ff.run(ff.measure_args([], paths)))
    levels: dict[str, LevelEntry] = {}
    for name, path in paths.items():
        level = found[f"ebur128@{name}"]
        levels[path.name] = {
            "sha256": _sha256(path),
            "integrated": level.integrated,
            "threshold": level.threshold,
            "lra": level.lra,
            "peak": level.peak,
        }
    temp = LEVELS_FILE.with_name(f".{LEVELS_FILE.name}.part")
    temp.write_text(json.dumps(levels, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, LEVELS_FILE)
    return levels


def known_level(path: Path, bundled: dict[str, LevelEntry]) -> R128 | None:
    """The shipped measurement of a bundled asset, if `path` is that very file."""
    entry = bundled.get(path.name)
    if entry is None or path.resolve().parent != DEFAULTS_DIR.resolve() or entry.get("sha256") != _sha256(path):
        return None
    peak = entry["peak"]
    return R128(float(entry["integrated"]), float(entry["threshold"]), float(entry["lra"]), None if peak is None else float(peak))


def measure_assets(assets: dict[str, Path], stop: Callable[[], bool] = lambda: False) -> dict[str, R128]:
    """Loudness and sample peak of each asset (`intro`, `outro`, `bed`) as mixed: bundled ones from levels.json, others measured once per process."""
    bundled = bundled_levels()
    for path in assets.values():
        if file_key(path) not in _ASSET_LEVELS and (known := known_level(path, bundled)) is not None:
            _ASSET_LEVELS[file_key(path)] = known
    unknown = {name: path for name, path in assets.items() if file_key(path) not in _ASSET_LEVELS}
    if unknown:
        found = ff.parse_ebur128(step(ff.measure_args([], unknown), stop, no_progress, 1.0))
        for name, path in unknown.items():
            _ASSET_LEVELS[file_key(path)] = found[f"ebur128@{name}"]
    return {name: _ASSET_LEVELS[file_key(path)] for name, path in assets.items()}
