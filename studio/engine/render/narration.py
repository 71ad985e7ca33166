"""Narration laid out without ffmpeg: phrase WAVs of one format joined at their own rate, each cut or padded to its slot.

Joining 16-bit PCM is a copy; ffmpeg then resamples the one joined file instead of opening,
resampling and concatenating every phrase (about 40% of the narration pass for a 3-minute segment).
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

from studio.engine.render._ffmpeg import MIX_RATE, Segment

SAMPLE_WIDTH = 2


def common_rate(paths: Sequence[Path]) -> int | None:
    """The sample rate every file shares as 16-bit mono PCM WAV, or None (mixed formats: let ffmpeg join them)."""
    rates = set()
    for path in set(paths):
        try:
            with wave.open(str(path), "rb") as wav:
                if wav.getnchannels() != 1 or wav.getsampwidth() != SAMPLE_WIDTH or wav.getcomptype() != "NONE":
                    return None
                rates.add(wav.getframerate())
        except (wave.Error, EOFError, OSError):
            return None
        if len(rates) > 1:
            return None
    return rates.pop() if rates else None


def write_layout(segments: Sequence[Segment], starts: Sequence[int], rate: int, out: Path) -> int:
    """Write the segments (placed at MIX_RATE sample positions) as one mono WAV at `rate`; returns its length.

    Slot edges are mapped from the absolute MIX_RATE positions, so they stay contiguous and nothing drifts.
    """
    total = 0
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(SAMPLE_WIDTH)
        dst.setframerate(rate)
        for start, segment in zip(starts, segments, strict=True):
            begin = round(start * rate / MIX_RATE)
            end = round((start + segment.length) * rate / MIX_RATE)
            with wave.open(str(segment.wav), "rb") as src:
                data = src.readframes(min(end - begin, src.getnframes()))
            dst.writeframes(data + bytes(SAMPLE_WIDTH * (end - begin) - len(data)))
            total = end
    return total
