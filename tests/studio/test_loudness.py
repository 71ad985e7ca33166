"""Programme loudness pooled from sections' logged blocks, checked against ffmpeg's own meter on real files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from studio.engine.render import _ffmpeg as ff
from studio.engine.render import loudness


def _tone(path: Path, seconds: float, level_db: float, frequency: int) -> None:
    """A tone, then a second of silence: sections meet in a pause."""
    graph = f"sine=f={frequency}:d={seconds}:r=48000,volume={level_db}dB,aformat=channel_layouts=stereo,apad=pad_dur=1"
    ff.run(["-f", "lavfi", "-i", graph, "-c:a", "pcm_f32le", str(path)])


def _blocks(path: Path) -> loudness.Blocks:
    log = ff.run(
        ["-i", str(path), "-filter_complex", "[0:a]ebur128@mix=framelog=info:peak=sample[m]", "-map", "[m]", "-f", "null", "-"]
    )
    momentary, short_term = loudness.parse_frames(log, "ebur128@mix")
    peak = ff.parse_ebur128(log)["ebur128@mix"].peak
    assert peak is not None
    return loudness.Blocks(momentary, short_term, peak)


def test_pooled_sections_match_one_measurement_of_the_whole(tmp_path: Path) -> None:
    parts = []
    for n, (seconds, level, frequency) in enumerate([(6.0, -12, 440), (9.0, -30, 700), (4.0, -20, 1000)]):
        path = tmp_path / f"s{n}.wav"
        _tone(path, seconds, level, frequency)
        parts.append(path)
    whole = tmp_path / "whole.wav"
    inputs = [arg for p in parts for arg in ("-i", str(p))]
    ff.run([*inputs, "-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1", "-c:a", "pcm_f32le", str(whole)])
    reference = ff.parse_ebur128(
        ff.run(
            [
                "-i",
                str(whole),
                "-filter_complex",
                "[0:a]ebur128@w=framelog=quiet:peak=sample[m]",
                "-map",
                "[m]",
                "-f",
                "null",
                "-",
            ]
        )
    )["ebur128@w"]
    blocks = [_blocks(p) for p in parts]
    assert all(len(b.momentary) >= 30 for b in blocks)
    pooled = loudness.programme(blocks)
    assert pooled.integrated == pytest.approx(reference.integrated, abs=0.1)
    assert pooled.threshold == pytest.approx(reference.threshold, abs=0.2)
    assert pooled.peak_dbfs == pytest.approx(reference.peak, abs=0.05)
    assert pooled.lra == pytest.approx(reference.lra, abs=1.5)


def test_gating_drops_silence_and_quiet_blocks() -> None:
    loud = [-20.0] * 50
    assert loudness.integrated(loud)[0] == pytest.approx(-20.0, abs=1e-9)
    # silence is under the absolute gate, a block 15 LU down is under the relative gate
    value, gate = loudness.integrated([*loud, *[-120.7] * 500, *[-35.0] * 5])
    assert value == pytest.approx(-20.0, abs=1e-6)
    assert gate == pytest.approx(10 * math.log10((50 * 10**-2.0 + 5 * 10**-3.5) / 55) - 10, abs=1e-6)
    assert loudness.integrated([-120.7] * 10) == (float("-inf"), float("-inf"))


def test_loudness_range_is_the_spread_of_short_term_values() -> None:
    values = [-30.0 + i * 0.1 for i in range(101)]  # -30 .. -20 LUFS, evenly
    assert loudness.loudness_range(values) == pytest.approx(0.85 * 10.0, abs=0.01)
    assert loudness.loudness_range([-120.7] * 5) == 0.0


def test_blocks_round_trip_through_json() -> None:
    blocks = loudness.Blocks((-20.0, -21.5), (-120.7, -22.0), -3.2)
    assert loudness.Blocks.from_dict(blocks.as_dict()) == blocks


def test_frames_are_read_per_instance() -> None:
    log = (
        "[ebur128@mix @ 0x1] t: 0.1      TARGET:-23 LUFS    M: -25.1 S:-120.7     I: -25.1 LUFS       LRA:   0.0 LU  SPK: -1.0 dBFS\n"
        "[ebur128@other @ 0x2] t: 0.1      TARGET:-23 LUFS    M: -10.0 S: -10.0     I: -10.0 LUFS       LRA:   0.0 LU\n"
        "[ebur128@mix @ 0x1] t: 0.2      TARGET:-23 LUFS    M:  -9.9 S: -inf     I: -20.0 LUFS       LRA:   0.0 LU  SPK: -1.0 dBFS\n"
    )
    assert loudness.parse_frames(log, "ebur128@mix") == ((-25.1, -9.9), (-120.7, float("-inf")))
