"""Subtitle cues and their WebVTT, SRT and ASS forms."""

from __future__ import annotations

import os
import stat
from itertools import pairwise
from pathlib import Path

import pytest

from studio.engine.render.subtitles import (
    Cue,
    ass_escape,
    cues_from_timings,
    parse_webvtt,
    to_ass,
    to_srt,
    to_webvtt,
    write_text_atomic,
)

LONG = (
    "Ủy ban nhân dân cấp xã có trách nhiệm tổ chức phổ biến, giáo dục pháp luật cho Nhân dân trên địa bàn; "
    "bố trí kinh phí, cơ sở vật chất; phối hợp với Sở Tư pháp và Trung tâm Truyền thông tỉnh xây dựng "
    "chuyên mục Tìm hiểu pháp luật hằng tuần."
)


def test_short_line_is_one_cue() -> None:
    cues = cues_from_timings(["Điều 5. Trách nhiệm của UBND cấp xã"], [(1.0, 3.5)], speakers=["Người dẫn"])
    assert cues == [Cue(1.0, 3.5, "Điều 5. Trách nhiệm của UBND cấp xã", "Người dẫn")]


def test_long_line_splits_within_its_time_and_reassembles() -> None:
    texts = ["Xin chào.", LONG, "Cảm ơn quý vị."]
    timings = [(0.0, 1.0), (1.2, 15.0), (15.5, 17.0)]
    cues = cues_from_timings(texts, timings)
    long_cues = [cue for cue in cues if 1.2 <= cue.start_s < 15.0]
    assert len(long_cues) >= 3
    assert " ".join(cue.text.replace("\n", " ") for cue in long_cues) == LONG
    assert long_cues[0].start_s == 1.2 and long_cues[-1].end_s == 15.0
    for before, after in pairwise(long_cues):
        assert before.end_s == after.start_s  # contiguous, no gap and no overlap
    for cue in cues:
        assert cue.start_s < cue.end_s
        rows = cue.text.split("\n")
        assert len(rows) <= 2 and all(len(row) <= 42 for row in rows)
    # time is shared in proportion to characters
    spans = [(cue.end_s - cue.start_s) / len(cue.text) for cue in long_cues]
    assert max(spans) - min(spans) < 0.01


def test_blank_lines_give_no_cue_and_lengths_must_match() -> None:
    assert cues_from_timings(["  ", "a"], [(0, 1), (1, 2)]) == [Cue(1.0, 2.0, "a")]
    with pytest.raises(ValueError):
        cues_from_timings(["a", "b"], [(0, 1)])


def test_webvtt_exact() -> None:
    cues = [Cue(1.0, 3.5, "Điều 5 <a> & b", "Người dẫn"), Cue(3.5, 3661.25, "hai\ndòng")]
    assert to_webvtt(cues) == (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:03.500\n<v Người dẫn>Điều 5 &lt;a&gt; &amp; b\n\n"
        "00:00:03.500 --> 01:01:01.250\nhai\ndòng\n"
    )


def test_srt_exact() -> None:
    cues = [Cue(1.0, 3.5, "một", "x"), Cue(4.0, 5.0015, "hai\nba")]
    assert to_srt(cues) == "1\n00:00:01,000 --> 00:00:03,500\nmột\n\n2\n00:00:04,000 --> 00:00:05,002\nhai\nba\n"
    assert to_srt([]) == ""


def test_webvtt_round_trip() -> None:
    cues = cues_from_timings(["Xin chào <quý vị> & các bạn", LONG], [(0.25, 2.0), (2.5, 12.0)], speakers=["Người dẫn", None])
    assert parse_webvtt(to_webvtt(cues)) == cues


def test_parse_webvtt_skips_notes_and_identifiers() -> None:
    text = "WEBVTT - lawcast\n\nNOTE made by hand\n\ncue-1\n00:01.500 --> 00:02.000 line:90%\n<v.loud Bà Lan>Chào</v>\n"
    assert parse_webvtt(text) == [Cue(1.5, 2.0, "Chào", "Bà Lan")]
    with pytest.raises(ValueError):
        parse_webvtt("1\n00:00:01,000 --> 00:00:02,000\nsrt")


def test_ass_escaping() -> None:
    assert ass_escape("a{b}c") == "a\\{b\\}c"
    assert ass_escape("hai\ndòng") == "hai\\Ndòng"
    escaped = ass_escape("C:\\new\\N")
    assert "\\n" not in escaped and "\\N" not in escaped  # a literal backslash never forms an ASS escape
    assert escaped.replace("\u2060", "") == "C:\\new\\N"


def test_ass_document() -> None:
    doc = to_ass([Cue(1.0, 2.5, "x{y}\nz", "Bà, Lan")], width=1280, height=720)
    assert "PlayResX: 1280\nPlayResY: 720\n" in doc
    style = next(line for line in doc.splitlines() if line.startswith("Style: Default,DejaVu Sans,"))
    size = int(style.split(",")[2])
    assert 30 <= size <= 48
    assert style.split(",")[18] == "2"  # bottom centre
    assert doc.rstrip().endswith("Dialogue: 0,0:00:01.00,0:00:02.50,Default,Bà  Lan,0,0,0,,x\\{y\\}\\Nz")
    portrait = to_ass([], width=1080, height=1920)
    portrait_size = int(next(line for line in portrait.splitlines() if line.startswith("Style:")).split(",")[2])
    assert portrait_size * 42 * 0.56 <= 1080 * 0.9  # a full 42-character row fits the narrow frame


def test_write_text_atomic(tmp_path: Path) -> None:
    target = tmp_path / "subs.vtt"
    write_text_atomic(target, "một")
    write_text_atomic(target, "hai")
    assert target.read_text(encoding="utf-8") == "hai"
    assert os.listdir(tmp_path) == ["subs.vtt"]
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # readable by the web server, not 0600
