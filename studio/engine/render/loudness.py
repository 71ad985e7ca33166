"""Programme loudness (ITU-R BS.1770 / EBU Tech 3342) from the blocks ffmpeg's ebur128 logs for each section.

A programme rendered in sections is measured once per section: ebur128's frame log gives the
momentary loudness (the 400 ms gating block) and the short-term loudness (3 s) every 100 ms. Pooling
the blocks of every section and gating them as BS.1770 does gives the programme's integrated
loudness and loudness range without another pass over the whole programme. Blocks that would
straddle two sections are missing; sections meet in silence, where such blocks fall under the gates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypedDict

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0  # integrated loudness
LRA_RELATIVE_GATE_LU = -20.0  # loudness range
_OFFSET = -0.691  # BS.1770: L = -0.691 + 10 log10(mean square, K-weighted, summed over channels)

_FRAME = re.compile(r"\[(?P<name>[\w@]+) @ [^\]]+\] t: \S+\s+TARGET:\S+ LUFS\s+M:\s*(?P<m>\S+) S:\s*(?P<s>\S+)")


class BlocksJson(TypedDict):
    """The JSON form of Blocks, as the section cache stores it."""

    momentary: list[float]
    short_term: list[float]
    peak_dbfs: float


@dataclass(frozen=True)
class Blocks:
    """One section's logged loudness: momentary and short-term values (LUFS, every 100 ms) and its sample peak (dBFS)."""

    momentary: tuple[float, ...]
    short_term: tuple[float, ...]
    peak_dbfs: float

    def as_dict(self) -> BlocksJson:
        """JSON form, for the section cache."""
        return {"momentary": list(self.momentary), "short_term": list(self.short_term), "peak_dbfs": self.peak_dbfs}

    @classmethod
    def from_dict(cls, data: BlocksJson) -> Blocks:
        """Inverse of as_dict (values are converted, since the data comes from a JSON file)."""
        return cls(
            tuple(float(v) for v in data["momentary"]),
            tuple(float(v) for v in data["short_term"]),
            float(data["peak_dbfs"]),
        )


@dataclass(frozen=True)
class Programme:
    """Integrated loudness, its relative gate, loudness range and sample peak of sections played in a row."""

    integrated: float
    threshold: float
    lra: float
    peak_dbfs: float


def parse_frames(log: str, name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Momentary and short-term values that the ebur128 instance `name` logged (framelog=info)."""
    momentary: list[float] = []
    short_term: list[float] = []
    for match in _FRAME.finditer(log):
        if match["name"] == name:
            momentary.append(_value(match["m"]))
            short_term.append(_value(match["s"]))
    return tuple(momentary), tuple(short_term)


def _value(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # "-inf", "nan"
        return float("-inf")


def _power(lufs: float) -> float:
    return 10 ** ((lufs - _OFFSET) / 10) if math.isfinite(lufs) else 0.0


def _lufs(power: float) -> float:
    return _OFFSET + 10 * math.log10(power) if power > 0 else float("-inf")


def integrated(blocks: Iterable[float]) -> tuple[float, float]:
    """Gated integrated loudness of momentary blocks, and the relative gate it used (both LUFS; -inf when all silent)."""
    powers = [_power(v) for v in blocks if v > ABSOLUTE_GATE_LUFS]
    if not powers:
        return float("-inf"), float("-inf")
    gate = _lufs(sum(powers) / len(powers)) + RELATIVE_GATE_LU
    kept = [p for p in powers if _lufs(p) > gate]
    return _lufs(sum(kept) / len(kept)), gate


def loudness_range(short_term: Iterable[float]) -> float:
    """EBU Tech 3342 loudness range: 10th to 95th percentile of the gated short-term values (LU)."""
    values = [v for v in short_term if v > ABSOLUTE_GATE_LUFS]
    if not values:
        return 0.0
    gate = _lufs(sum(_power(v) for v in values) / len(values)) + LRA_RELATIVE_GATE_LU
    kept = sorted(v for v in values if v > gate)
    if not kept:
        return 0.0
    return _percentile(kept, 0.95) - _percentile(kept, 0.10)


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def programme(sections: Sequence[Blocks]) -> Programme:
    """Loudness of the sections played one after another."""
    value, gate = integrated(v for section in sections for v in section.momentary)
    lra = loudness_range(v for section in sections for v in section.short_term)
    peak = max((section.peak_dbfs for section in sections), default=float("-inf"))
    return Programme(value, gate, lra, peak)
