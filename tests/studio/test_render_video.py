"""Video sketch rendering on tiny real files with the bundled ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from studio.engine.render import _ffmpeg as ff
from studio.engine.render import _ffmpeg_video as fx
from studio.engine.render.subtitles import Cue, cues_from_timings, parse_webvtt
from studio.engine.render.video import Branding, Cancelled, FFmpegError, Slide, probe_video, render_slide, render_video
from tests.studio.render_helpers import seconds

FONTS = Path(__file__).resolve().parents[2] / "assets/defaults/fonts"
FONT, BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
BRANDING = Branding(None, None)
DURATION = 6.0
SLIDES = [
    Slide("Tiểu phẩm pháp luật: Ai chịu trách nhiệm?"),
    Slide(
        "Điều 5. Trách nhiệm của UBND cấp xã", "1. Ủy ban nhân dân cấp xã tổ chức phổ biến, giáo dục pháp luật cho Nhân dân.", 2.0
    ),
    Slide("Kết thúc", "Cảm ơn quý vị đã theo dõi.", 4.5, 6.0),
]
TEXTS = [
    "Xin chào quý vị và các bạn.",
    "Điều 5. Trách nhiệm của UBND cấp xã: tổ chức phổ biến, giáo dục pháp luật cho Nhân dân trên địa bàn.",
    "Cảm ơn quý vị.",
]
TIMINGS = [(0.2, 1.9), (2.0, 4.4), (4.6, 5.8)]
CUE_AT = 1.0  # inside the first cue


def ffmpeg(*args: str) -> bytes:
    return subprocess.run([ff.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args], check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("video")
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={DURATION}:sample_rate=48000", "-ac", "2", str(root / "tone.wav"))
    return root


@pytest.fixture(scope="module")
def cues() -> list[Cue]:
    return cues_from_timings(TEXTS, TIMINGS, speakers=["Người dẫn", "Chuyên gia", None])


def render(media: Path, name: str, cues: list[Cue], *, width: int, height: int, **kwargs: Any):
    out = media / "out" / f"{name}.mp4"
    return render_video(
        media / "tone.wav",
        DURATION,
        SLIDES,
        cues,
        out,
        width=width,
        height=height,
        work_dir=media / "work",
        branding=BRANDING,
        font=FONT,
        bold_font=BOLD,
        **kwargs,
    )


@pytest.fixture(scope="module")
def landscape(media: Path, cues: list[Cue]):
    progress: list[float] = []
    result = render(media, "sketch-16x9", cues, width=1280, height=720, on_progress=progress.append)
    return result, progress


def gray_frame(path: Path, at: float, width: int, height: int) -> bytes:
    frame = ffmpeg("-ss", f"{at}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
    assert len(frame) == width * height
    return frame


def changed_share(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) > 40 for x, y in zip(a, b, strict=False)) / len(a)


def assert_broadcast_mp4(path: Path, width: int, height: int) -> None:
    info = probe_video(path)
    assert (info["width"], info["height"]) == (width, height)
    assert info["vcodec"] == "h264" and info["acodec"] == "aac"
    assert info["fps"] == 25
    assert info["sample_rate"] == 48000 and info["channels"] == 2
    assert abs(seconds(info) - DURATION) <= 0.1
    assert info["faststart"] is True


def test_landscape_720p(landscape, cues: list[Cue]) -> None:
    result, progress = landscape
    assert result.path.name == "sketch-16x9.mp4" and (result.width, result.height) == (1280, 720)
    assert_broadcast_mp4(result.path, 1280, 720)
    assert progress and progress[-1] == pytest.approx(1.0, abs=0.05)
    assert sorted(p.name for p in result.path.parent.iterdir()) == ["sketch-16x9.mp4", "sketch-16x9.srt", "sketch-16x9.vtt"]
    parsed = parse_webvtt(result.vtt.read_text(encoding="utf-8"))
    assert len(parsed) == len(cues)
    by_line = [[c for c in parsed if start - 0.1 <= c.start_s and c.end_s <= end + 0.1] for start, end in TIMINGS]
    for (start, end), line_cues, text in zip(TIMINGS, by_line, TEXTS, strict=False):
        assert abs(line_cues[0].start_s - start) <= 0.1 and abs(line_cues[-1].end_s - end) <= 0.1
        assert " ".join(c.text.replace("\n", " ") for c in line_cues) == text
    assert parsed[0].speaker == "Người dẫn"
    assert result.srt.read_text(encoding="utf-8").startswith("1\n00:00:00,200 --> 00:00:01,900\nXin chào quý vị và các bạn.\n")


def test_subtitles_are_burned_in(media: Path, landscape) -> None:
    result, _ = landscape
    plain = render(media, "no-subs", [], width=1280, height=720)
    assert parse_webvtt(plain.vtt.read_text(encoding="utf-8")) == []
    with_subs, without = (gray_frame(path, CUE_AT, 1280, 720) for path in (result.path, plain.path))
    split = 720 * 2 // 3 * 1280
    assert changed_share(with_subs[split:], without[split:]) > 0.01  # text in the bottom third
    assert changed_share(with_subs[:split], without[:split]) < 0.001  # and nowhere else
    # between cues the two renders agree
    gap = (TIMINGS[0][1] + TIMINGS[1][0]) / 2
    assert changed_share(gray_frame(result.path, gap, 1280, 720), gray_frame(plain.path, gap, 1280, 720)) < 0.001


def test_slides_change_at_their_start(landscape) -> None:
    result, _ = landscape
    top = slice(0, 720 // 2 * 1280)
    first, second, third = (gray_frame(result.path, at, 1280, 720)[top] for at in (1.0, 3.0, 5.0))
    assert changed_share(first, second) > 0.01 and changed_share(second, third) > 0.01


def test_portrait_1080x1920(media: Path, cues: list[Cue]) -> None:
    result = render(media, "sketch-9x16", cues, width=1080, height=1920)
    assert_broadcast_mp4(result.path, 1080, 1920)
    assert result.vtt.exists() and result.srt.exists()


def test_paths_with_filtergraph_characters(media: Path, cues: list[Cue]) -> None:
    odd = media / "a'b: c,[d];e"
    fonts = odd / "fonts"
    fonts.mkdir(parents=True)
    for font in (FONT, BOLD):
        shutil.copy(font, fonts / font.name)
    result = render_video(
        media / "tone.wav",
        DURATION,
        SLIDES,
        cues,
        odd / "x.mp4",
        width=320,
        height=180,
        work_dir=odd / "work",
        branding=BRANDING,
        font=fonts / FONT.name,
        bold_font=fonts / BOLD.name,
    )
    assert_broadcast_mp4(result.path, 320, 180)


def test_cancel_leaves_nothing(media: Path, cues: list[Cue]) -> None:
    for allowed in (1, len(SLIDES)):  # while drawing slides, then once ffmpeg encodes
        calls: list[int] = []

        def cancel(calls: list[int] = calls, allowed: int = allowed) -> bool:
            calls.append(1)
            return len(calls) > allowed

        out_dir = media / f"cancelled-{allowed}"
        with pytest.raises(Cancelled):
            render_video(
                media / "tone.wav",
                DURATION,
                SLIDES,
                cues,
                out_dir / "x.mp4",
                width=320,
                height=180,
                work_dir=out_dir / "work",
                branding=BRANDING,
                font=FONT,
                bold_font=BOLD,
                cancel=cancel,
            )
        assert list(out_dir.iterdir()) == [out_dir / "work"]
        assert list((out_dir / "work").iterdir()) == []


def test_error_leaves_nothing(media: Path, cues: list[Cue]) -> None:
    out_dir = media / "failed"
    with pytest.raises(FFmpegError):
        render_video(
            media / "missing.wav",
            DURATION,
            SLIDES,
            cues,
            out_dir / "x.mp4",
            width=320,
            height=180,
            work_dir=out_dir / "work",
            branding=BRANDING,
            font=FONT,
            bold_font=BOLD,
        )
    assert sorted(p.name for p in out_dir.iterdir()) == ["work"]


def test_logos_replace_names(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:d=1", "-frames:v", "1", str(logo))
    kwargs: dict[str, Any] = dict(width=320, height=180, font=FONT, bold_font=BOLD)
    named = render_slide(SLIDES[1], tmp_path / "named.png", branding=BRANDING, **kwargs)
    logoed = render_slide(SLIDES[1], tmp_path / "logo-slide.png", branding=Branding(logo, logo), **kwargs)
    corner = ffmpeg("-i", str(logoed), "-vf", "crop=8:8:8:4", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    assert corner[0] > 200 and corner[1] < 60  # red logo in the top-left corner
    assert named.read_bytes() != logoed.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logo-slide.png", "logo.png", "named.png"]


def test_frame_ranges() -> None:
    assert fx.frame_ranges([0.0, 2.0, 4.5], 6.0) == [50, 62, 38]
    assert fx.frame_ranges([0.7, 2.0], 6.01) == [50, 101]  # first slide shown from 0; last frame rounds up
