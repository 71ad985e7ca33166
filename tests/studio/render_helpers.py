"""Independent measurements of rendered media, and helpers that watch jobs, files and processes."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
from scipy.signal import resample_poly

from studio.engine.render.subtitles import Cue
from tests.helpers import Json

T = TypeVar("T")

FRAME_S = 0.005


def true_peak_dbtp(samples: np.ndarray) -> float:
    """True peak of float PCM (frames x channels): 4x oversampled with a polyphase filter (BS.1770 annex 2)."""
    upsampled = resample_poly(samples.astype(np.float64), 4, 1, axis=0)
    return float(20 * np.log10(np.max(np.abs(upsampled))))


def speech_regions(
    mono: np.ndarray, rate: int, *, threshold_db: float = -45.0, merge_s: float = 0.15
) -> list[tuple[float, float]]:
    """Spans where the signal is above the threshold (5 ms frames), gaps shorter than merge_s joined."""
    hop = int(rate * FRAME_S)
    count = len(mono) // hop
    power = np.mean(mono[: count * hop].astype(np.float64).reshape(count, hop) ** 2, axis=1)
    active = 10 * np.log10(power + 1e-20) > threshold_db
    edges = np.diff(np.concatenate(([0], active.astype(np.int8), [0])))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    regions: list[list[float]] = []
    for start, end in zip(starts * FRAME_S, ends * FRAME_S, strict=True):
        if regions and start - regions[-1][1] < merge_s:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [(a, b) for a, b in regions]


def cue_groups(cues: Sequence[Cue]) -> list[tuple[float, float, list[Cue]]]:
    """Runs of back-to-back cues (one spoken sentence split into several cues), with their span."""
    groups: list[tuple[float, float, list[Cue]]] = []
    for cue in cues:
        if groups and abs(groups[-1][1] - cue.start_s) < 1e-6:
            start, _, members = groups[-1]
            groups[-1] = (start, cue.end_s, [*members, cue])
        else:
            groups.append((cue.start_s, cue.end_s, [cue]))
    return groups


def heard_span(
    regions: Sequence[tuple[float, float]], start: float, end: float, *, after: float = 0.0
) -> tuple[float, float] | None:
    """First onset and last offset of the speech regions that overlap [start, end] (ignoring audio before `after`)."""
    hits = [(max(a, after), b) for a, b in regions if b > start and a < end and b > after]
    if not hits:
        return None
    return min(a for a, _ in hits), max(b for _, b in hits)


def f0_median(mono: np.ndarray, rate: int, spans: Sequence[tuple[float, float]]) -> float:
    """Median fundamental frequency (autocorrelation, 70-400 Hz) of the voiced 40 ms frames in spans."""
    size, step = int(0.04 * rate), int(0.02 * rate)
    low, high = rate // 400, rate // 70
    found = []
    for start, end in spans:
        for offset in range(int(start * rate), int(end * rate) - size, step):
            frame = mono[offset : offset + size].astype(np.float64)
            frame = frame - frame.mean()
            if np.sqrt(np.mean(frame**2)) < 0.02:
                continue
            corr = np.correlate(frame, frame, "full")[size - 1 :]
            corr /= corr[0]
            lag = low + int(np.argmax(corr[low:high]))
            if corr[lag] > 0.5:
                found.append(rate / lag)
    assert found, "no voiced frames found"
    return float(np.median(found))


# --- MP3 frames -------------------------------------------------------------------------------

MP3_BITRATES = {  # kbit/s by bitrate index: MPEG-1 layer III, and MPEG-2/2.5 layer III
    1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
MP3_RATES = {1: [44100, 48000, 32000], 2: [22050, 24000, 16000], 25: [11025, 12000, 8000]}


@dataclass(frozen=True)
class Mp3Frame:
    """One MPEG audio frame header as found in the file."""

    offset: int
    version: int  # 1, 2 or 25 (MPEG-2.5)
    layer: int
    bitrate_kbps: int
    sample_rate: int
    channels: int
    length: int  # bytes, header included

    @property
    def samples(self) -> int:
        """PCM samples per channel the frame decodes to."""
        return 1152 if self.version == 1 else 576


def _id3_size(data: bytes) -> int:
    if data[:3] != b"ID3":
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if data[5] & 0x10 else 0)


def mp3_frames(path: Path, limit: int = 200) -> list[Mp3Frame]:
    """Walk the first frames of an MP3 after its ID3v2 tag; each header must lead exactly to the next one."""
    data = path.read_bytes()
    offset = _id3_size(data)
    frames: list[Mp3Frame] = []
    while len(frames) < limit and offset + 4 <= len(data):
        header = int.from_bytes(data[offset : offset + 4], "big")
        assert header >> 21 == 0x7FF, f"no frame sync at byte {offset}"
        version = {3: 1, 2: 2, 0: 25}[(header >> 19) & 3]
        layer = 4 - ((header >> 17) & 3)
        bitrate = MP3_BITRATES[1 if version == 1 else 2][(header >> 12) & 0xF]
        rate = MP3_RATES[version][(header >> 10) & 3]
        padding = (header >> 9) & 1
        channels = 1 if (header >> 6) & 3 == 3 else 2
        length = (144 if version == 1 else 72) * bitrate * 1000 // rate + padding
        frames.append(Mp3Frame(offset, version, layer, bitrate, rate, channels, length))
        offset += length
    return frames


# --- watching the media directory, jobs and processes -----------------------------------------


@dataclass
class MediaWatcher:
    """Polls a directory tree and keeps, for every visible file, its size and hash when first seen."""

    root: Path
    interval_s: float = 0.02
    seen: dict[str, tuple[int, str]] = field(default_factory=dict)
    hidden_seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MediaWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.scan()  # files that appeared since the last poll

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scan()
            time.sleep(self.interval_s)

    def scan(self) -> None:
        """Look once: hash every visible file not seen before."""
        for dirpath, _dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root)
            hidden_dir = any(part.startswith(".") for part in rel_dir.parts)
            for name in filenames:
                key = str(rel_dir / name) if rel_dir.parts else name
                if hidden_dir or name.startswith("."):
                    self.hidden_seen.add(key)
                    continue
                if key in self.seen:
                    continue
                try:
                    data = (Path(dirpath) / name).read_bytes()
                except FileNotFoundError:
                    continue
                self.seen[key] = (len(data), hashlib.sha256(data).hexdigest())


def ffmpeg_processes(*markers: str) -> list[int]:
    """Pids of running ffmpeg processes whose command line contains every marker."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if state == "Z" or not argv or "ffmpeg" not in Path(argv[0].decode(errors="replace")).name:
            continue
        if all(any(marker.encode() in arg for arg in argv) for marker in markers):
            pids.append(int(entry.name))
    return pids


def pid_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def job_row(job_id: int) -> Json:
    """A job's columns read straight from the database."""
    from db import session_scope
    from studio.models import RenderJob

    with session_scope() as session:
        job = session.get(RenderJob, job_id)
        assert job is not None
        return {c.name: getattr(job, c.name) for c in RenderJob.__table__.columns}


def wait_until(check: Callable[[], T | Literal[False] | None], *, timeout_s: float, what: str, every_s: float = 0.05) -> T:
    """Poll check() until it returns something truthy; fail naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def seconds(info: dict[str, object]) -> float:
    """The duration that probe_video read, in seconds."""
    value = info["duration_s"]
    assert isinstance(value, int | float), info
    return float(value)
