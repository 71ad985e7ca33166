"""A programme cut into sections that are mixed, cached and encoded on their own.

A section is a run of narration lines that begins at a chapter (a provision, the recap...) and
ends in the pause before the next one. Its sound depends only on its own lines, so a section that
an edit did not touch is reused as it is, and sections are mixed and encoded side by side.
Sections meet only in silence: never under the music bed or its fades, and only after a pause
long enough to hold the encoder's lead-in. When the output will be spliced from whole MP3 frames,
every section but the last is stretched (in its final pause, by less than one frame) to a whole
number of frames, so its place on the timeline never depends on what comes before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.engine.render._ffmpeg import BED_FADE_S, MIX_RATE, Segment

MIN_SEAM_PAUSE_MS = 300  # > the 1105-sample encoder lead-in at 24 kHz (46 ms) plus the limiter's release
BED_MERGE_S = 2.0  # bed lines closer than this share one bed run


@dataclass(frozen=True)
class Line:
    """What the planner needs of a narration line."""

    wav: Path
    duration_s: float
    pause_after_ms: int
    bed: bool
    chapter: str | None


@dataclass(frozen=True)
class Section:
    """Lines first..first+len(segments)-1 laid out from the section's own start, in samples at MIX_RATE."""

    first: int
    segments: tuple[Segment, ...]
    starts: tuple[int, ...]  # of each line, from the start of the section's narration (after the intro, lead included)
    narration_samples: int
    bed_ranges: tuple[tuple[float, float], ...]  # seconds, from the start of the section's narration
    intro: bool
    outro: bool
    lead: int = 0  # samples of silence before the first line (a bed's fade-in)

    @property
    def count(self) -> int:
        """Number of lines in the section."""
        return len(self.segments)


def seam_lead(before: Line, line: Line) -> int | None:
    """Where a new section may start at `line` (which follows `before`): None if not there, else how many
    samples before the line it starts (a bed line's fade-in belongs to its own section)."""
    if line.chapter is None:
        return None
    # The bed fades over BED_FADE_S around its lines; a seam waits until it is silent.
    fade_out = BED_FADE_S * 1000 if before.bed else 0
    fade_in = BED_FADE_S * 1000 if line.bed else 0
    if before.pause_after_ms < MIN_SEAM_PAUSE_MS + fade_out + fade_in:
        return None
    return round(fade_in / 1000 * MIX_RATE)


def plan_stream(lines: Iterable[Line], *, grid: int = 1, intro_samples: int = 0, outro_samples: int = 0) -> Iterator[Section]:
    """Cut the lines into sections, each yielded as soon as the line after it arrives (so it can be mixed while later lines are spoken).

    All sections but the last are stretched to a multiple of `grid` samples, the intro included.
    """
    if grid < 1:
        raise ValueError("grid must be a positive number of samples")
    pending: list[Line] = []
    first = number = lead = 0
    for index, line in enumerate(lines):
        next_lead = seam_lead(pending[-1], line) if pending else None
        if next_lead is not None:
            head = intro_samples if number == 0 else 0
            yield _section(pending, first, number == 0 and intro_samples > 0, False, head, grid, lead, next_lead)
            pending, first, number, lead = [], index, number + 1, next_lead
        pending.append(line)
    if pending:
        yield _section(pending, first, number == 0 and intro_samples > 0, outro_samples > 0, 0, 1, lead, 0)


def plan(lines: Sequence[Line], *, grid: int = 1, intro_samples: int = 0, outro_samples: int = 0) -> list[Section]:
    """All the sections of the lines at once."""
    return list(plan_stream(lines, grid=grid, intro_samples=intro_samples, outro_samples=outro_samples))


def _section(
    lines: Sequence[Line], first: int, intro: bool, outro: bool, head: int, grid: int, lead: int, handed_on: int
) -> Section:
    """Lay out one section: `lead` samples of silence first, and `handed_on` samples of its last pause left to the next section."""
    starts, segments = [], []
    clock = 0.0
    for line in lines:
        begin = round(clock * MIX_RATE)
        clock += max(0.0, line.duration_s) + max(0, line.pause_after_ms) / 1000
        starts.append(lead + begin)
        segments.append(Segment(Path(line.wav), round(clock * MIX_RATE) - begin))
    total = lead + round(clock * MIX_RATE) - handed_on
    stretch = -(head + total) % grid
    segments[-1] = Segment(segments[-1].wav, segments[-1].length - handed_on + stretch)
    total += stretch
    return Section(first, tuple(segments), tuple(starts), total, _bed_ranges(lines, starts, segments), intro, outro, lead)


def _bed_ranges(lines: Sequence[Line], starts: Sequence[int], segments: Sequence[Segment]) -> tuple[tuple[float, float], ...]:
    ranges: list[tuple[float, float]] = []
    for line, start, segment in zip(lines, starts, segments, strict=True):
        if not line.bed:
            continue
        begin, end = start / MIX_RATE, (start + segment.length) / MIX_RATE
        if ranges and begin - ranges[-1][1] < BED_MERGE_S:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((begin, end))
    return tuple(ranges)


def section_key(section: Section, phrase_keys: Sequence[str], context: dict[str, object]) -> str:
    """Content address of a section's mix: its phrases, layout and everything the mix depends on."""
    payload = {
        "phrases": list(phrase_keys),
        "lengths": [s.length for s in section.segments],
        "starts": list(section.starts),
        "bed": [list(r) for r in section.bed_ranges],
        "intro": section.intro,
        "outro": section.outro,
        "lead": section.lead,
        **context,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]
