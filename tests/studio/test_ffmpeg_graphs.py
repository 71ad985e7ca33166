"""The ffmpeg layer: graphs built with ffmpeg-python give what the string-built graphs gave, and no other module builds ffmpeg arguments.

tests/studio/data/ffmpeg_golden.json was written by running tests/studio/ffmpeg_cases.py against the
builders before they moved to ffmpeg-python (string-built graphs). Audio and stills must match bit for bit
(sha256 of the decoded samples or pixels) and every logged measurement exactly, with two exceptions that
were never deterministic: a mix with a ducked bed varies a little from run to run (sidechaincompress), so
its 100 ms block levels must match within 0.001 dB; and x264's output depends on its thread count, so on a
machine with another number of cores each decoded frame (a 16x9 grey thumbnail) must match within 1 grey
level per pixel on average.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import Any

import pytest

from studio.engine.render import _ffmpeg as ff
from studio.engine.render import _ffmpeg_video as fx
from tests.studio import ffmpeg_cases

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads(ffmpeg_cases.GOLDEN.read_text(encoding="utf-8"))
FRAME_TOLERANCE = 144  # summed over a 16x9 thumbnail: one grey level per pixel


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return ffmpeg_cases.run_all(ffmpeg_cases.current_api(), tmp_path_factory.mktemp("graphs"))


def test_every_golden_case_ran(results: dict[str, Any]) -> None:
    assert sorted(results) == sorted(GOLDEN)


EXACT = sorted(set(GOLDEN) - set(ffmpeg_cases.VIDEO_CASES) - set(ffmpeg_cases.UNSTABLE_MIX_CASES))


@pytest.mark.parametrize("case", EXACT)
def test_builder_output_is_unchanged(results: dict[str, Any], case: str) -> None:
    assert json.loads(json.dumps(results[case])) == GOLDEN[case]


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    return a == b or (a is not None and b is not None and abs(a - b) <= tolerance)


@pytest.mark.parametrize("case", ffmpeg_cases.UNSTABLE_MIX_CASES)
def test_ducked_mix_is_unchanged_within_its_run_to_run_noise(results: dict[str, Any], case: str) -> None:
    got, want = json.loads(json.dumps(results[case])), GOLDEN[case]
    if got["audio"] == want["audio"]:
        assert got == want
        return
    # Not bit-exact even before the rewrite: 100 ms block levels within 0.001 dB, meters within one printed step.
    assert len(got["rms_db"]) == len(want["rms_db"])
    loud = [(a, b) for a, b in zip(got["rms_db"], want["rms_db"], strict=True) if b > -50]
    assert loud and max(abs(a - b) for a, b in loud) <= 0.001
    assert got["r128"].keys() == want["r128"].keys()
    for name, values in want["r128"].items():
        assert all(_close(a, b, 0.1) for a, b in zip(got["r128"][name], values, strict=True)), name
    for mine, theirs in zip(got["blocks"], want["blocks"], strict=True):
        assert len(mine) == len(theirs) and all(_close(a, b, 0.1) for a, b in zip(mine, theirs, strict=True))


@pytest.mark.parametrize("case", ffmpeg_cases.VIDEO_CASES)
def test_video_output_is_unchanged(results: dict[str, Any], case: str) -> None:
    got, want = results[case], GOLDEN[case]
    assert got["audio"] == want["audio"]
    if got["video"] != want["video"]:  # another thread count: compare the pictures
        assert len(got["frames"]) == len(want["frames"])
        assert max(abs(a - b) for a, b in zip(got["frames"], want["frames"], strict=True)) <= FRAME_TOLERANCE
    else:
        assert got["frames"] == want["frames"]


def test_a_bed_range_outside_the_narration_changes_nothing(tmp_path: Path) -> None:
    inputs = ffmpeg_cases.make_inputs(tmp_path)
    source = ff.NarrationSource((ff.Segment(inputs["s1.wav"], 60000), ff.Segment(inputs["s2.wav"], 40000)))
    bed = ffmpeg_cases.DEFAULTS / "music-bed.flac"
    mix = ff.Mix(
        narration_gain=1.0, narration_samples=source.samples, bed=bed, bed_gain=-16.0, bed_samples=30000, bed_ranges=((0.3, 1.2),)
    )
    outside = ff.Mix(**{**mix.__dict__, "bed_ranges": ((0.3, 1.2), (5.0, 6.0))})
    processing = ff.Processing(None, False, 2, -2.0, -14.5, True)
    ff.run(ff.mix_args(source, mix, processing, tmp_path / "one.wav"))
    ff.run(ff.mix_args(source, outside, processing, tmp_path / "two.wav"))
    assert outside.bed_pieces() == mix.bed_pieces()
    assert ffmpeg_cases.block_rms_db(tmp_path / "two.wav") == pytest.approx(
        ffmpeg_cases.block_rms_db(tmp_path / "one.wav"), abs=1e-4
    )


def test_builders_compile_with_ffmpeg_python() -> None:
    source = ff.NarrationSource((ff.Segment(Path("a.wav"), 100), ff.Segment(Path("a.wav"), 200)))
    args = ff.narration_args(source, Path("out.wav"))
    # The same file twice stays two inputs (ffmpeg-python would merge equal nodes), each read as WAV.
    assert args.count("-i") == 2 and args.count("wav") >= 2
    graph = args[args.index("-filter_complex") + 1]
    assert "concat=a=1:n=2:v=0" in graph and "whole_len=100" in graph and "whole_len=200" in graph


def test_filter_options_are_escaped_for_ffmpeg() -> None:
    block = fx.TextBlock(Path("/t/it's: [a,b]; c.txt"), Path("/f/font.ttf"), 12, "white", "(w-tw)/2", "10")
    args = fx.slide_args(Path("s.png"), width=64, height=36, background="black", boxes=[], texts=[block])
    graph = args[args.index("-filter_complex") + 1]
    # option level escapes \ ' = :, graph level then escapes \ ' [ ] , ; (each backslash doubled)
    assert "textfile=/t/it\\\\\\'s\\\\: \\[a\\,b\\]\\; c.txt" in graph


def _product_files() -> list[Path]:
    """Python files of the product: not tests, bench, migrations or the ffmpeg layer itself."""
    skip = {"tests", "bench", "migrations", "node_modules", "var", "__pycache__"}
    found = []
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if d not in skip and not d.startswith(".")]
        found += [Path(directory) / f for f in files if f.endswith(".py") and not f.startswith("_ffmpeg")]
    return found


def test_only_the_ffmpeg_layer_builds_ffmpeg_arguments() -> None:
    offenders = []
    for path in _product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            strings = (
                [n.value for n in getattr(node, "elts", []) if isinstance(n, ast.Constant)]
                if isinstance(node, ast.List | ast.Tuple)
                else []
            )
            if "-i" in strings or "-filter_complex" in strings:
                offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)} builds an ffmpeg argument list")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "ffmpeg_exe",
                "get_ffmpeg_exe",
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)} runs ffmpeg itself")
    assert offenders == []


def test_the_bench_builds_no_ffmpeg_arguments_either() -> None:
    for path in (ROOT / "bench").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert '"-filter_complex"' not in text and '"-i", ' not in text and "ffmpeg_exe(" not in text, path.name
