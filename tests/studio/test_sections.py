"""Programme sections: where seams may fall, exact layout, stretching to whole frames, content keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.engine.render._ffmpeg import BED_FADE_S, MIX_RATE
from studio.engine.render.sections import MIN_SEAM_PAUSE_MS, Line, plan, plan_stream, seam_lead, section_key


def is_seam(before: Line, line: Line) -> bool:
    return seam_lead(before, line) is not None


def line(n: int, duration: float = 2.0, pause: int = 600, bed: bool = False, chapter: str | None = None) -> Line:
    return Line(Path(f"{n}.wav"), duration, pause, bed, chapter)


RADIO = [
    line(0, 8.0, 800, True, "Giới thiệu"),  # greeting under the bed
    line(1, 1.5, 600, False, "Điều 1"),
    line(2, 20.0, 900),
    line(3, 1.4, 600, False, "Điều 2"),
    line(4, 15.0, 900),
    line(5, 6.0, 700, True, "Tóm tắt"),
    line(6, 7.0, 500, True, "Kết thúc"),
]


def test_seams_only_at_chapters_outside_the_bed() -> None:
    sections = plan(RADIO)
    # the greeting's pause is shorter than the bed's fade, so Điều 1 joins it; the recap is under the bed
    assert [s.first for s in sections] == [0, 3]
    assert [s.count for s in sections] == [3, 4]
    assert not is_seam(RADIO[0], RADIO[1])
    assert is_seam(RADIO[2], RADIO[3])
    assert not is_seam(RADIO[4], RADIO[5])
    assert not is_seam(line(0, pause=MIN_SEAM_PAUSE_MS - 1), line(1, chapter="Điều 9"))
    assert is_seam(line(0, bed=True, pause=MIN_SEAM_PAUSE_MS + int(BED_FADE_S * 1000)), line(1, chapter="Điều 9"))


def test_layout_is_exact_and_stretch_makes_whole_frames() -> None:
    grid, intro = 1152, 172800
    sections = plan(RADIO, grid=grid, intro_samples=intro, outro_samples=124800)
    first, last = sections
    assert first.intro and not first.outro and last.outro and not last.intro
    assert (intro + first.narration_samples) % grid == 0
    natural = round(sum(line.duration_s + line.pause_after_ms / 1000 for line in RADIO[:3]) * MIX_RATE)
    assert 0 <= first.narration_samples - natural < grid  # stretched in its last pause by under one frame
    assert last.narration_samples == round(sum(line.duration_s + line.pause_after_ms / 1000 for line in RADIO[3:]) * MIX_RATE)
    assert list(first.starts) == [0, round(8.8 * MIX_RATE), round(10.9 * MIX_RATE)]
    assert sum(s.length for s in first.segments) == first.narration_samples
    assert first.bed_ranges == ((0.0, 8.8),)
    assert len(last.bed_ranges) == 1  # recap and outro share one run
    assert last.bed_ranges[0] == pytest.approx((2.0 + 15.9, 2.0 + 15.9 + 6.7 + 7.5))


def test_a_section_is_yielded_before_later_lines_arrive() -> None:
    arrived: list[int] = []

    def lines():
        for n, item in enumerate(RADIO):
            arrived.append(n)
            yield item

    stream = plan_stream(lines())
    first = next(stream)
    assert first.count == 3 and arrived == [0, 1, 2, 3]  # complete once the next chapter's line is there
    assert [s.first for s in stream] == [3]


def test_section_keys_change_only_with_what_the_section_holds() -> None:
    a = plan(RADIO)
    edited = list(RADIO)
    edited[4] = line(4, 15.5, 900)
    b = plan(edited)
    context: dict[str, object] = {"version": "1"}
    phrases = [str(line.wav) for line in RADIO]
    keys_a = [section_key(s, phrases[s.first : s.first + s.count], context) for s in a]
    keys_b = [section_key(s, phrases[s.first : s.first + s.count], context) for s in b]
    assert keys_a[0] == keys_b[0] and keys_a[1] != keys_b[1]
    assert section_key(a[0], phrases[:3], {"version": "2"}) != keys_a[0]


def test_grid_must_be_positive() -> None:
    with pytest.raises(ValueError):
        plan(RADIO, grid=0)


def test_a_bed_line_may_open_a_section_with_its_fade_in() -> None:
    lines = [
        line(0, 8.0, 1200, True, "Giới thiệu"),
        line(1, 1.5, 600, False, "Điều 1"),
        line(2, 20.0, 1200),
        line(3, 6.0, 700, True, "Tóm tắt"),
    ]
    first, middle, last = plan(lines, grid=1152)
    assert [s.first for s in (first, middle, last)] == [0, 1, 3]
    fade = round(BED_FADE_S * MIX_RATE)
    # the recap's section starts one fade before the recap, and that time leaves the section before it
    assert last.lead == fade and last.starts == (fade,)
    assert last.bed_ranges == ((BED_FADE_S, BED_FADE_S + 6.7),)
    natural = round((1.5 + 0.6 + 20.0 + 1.2) * MIX_RATE)
    assert 0 <= middle.narration_samples - (natural - fade) < 1152 and middle.narration_samples % 1152 == 0
    assert middle.lead == 0 and first.lead == 0
    # too short a breath before a bed line: no seam
    assert not is_seam(line(0, pause=MIN_SEAM_PAUSE_MS + int(BED_FADE_S * 1000) - 1), line(1, bed=True, chapter="Tóm tắt"))
