"""Video sketch rendering: slides drawn once as PNG stills, held to the narration, subtitles burned in."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.render import _ffmpeg_video as fx
from studio.render.subtitles import Cue, current_umask, to_ass, to_srt, to_webvtt, write_text_atomic

try:  # the shared runner, once it exists; until then the stand-in with the same signature
    from studio.render._ffmpeg import Cancelled, FFmpegError, run
except ImportError:  # pragma: no cover - depends on merge order
    from studio.render._ffmpeg_video import Cancelled, FFmpegError, run

__all__ = ["Branding", "Cancelled", "FFmpegError", "Slide", "VideoResult", "probe_video", "render_slide", "render_video"]

BACKGROUND = "0x0B3A6E"  # deep blue
BAR = "0xFFFFFF"
BAR_TEXT = "0x0B3A6E"
ACCENT = "0xD62828"  # the red of the national flag, as a thin rule
TEXT = "0xFFFFFF"
CHAR_EM = {"regular": 0.56, "bold": 0.62}  # DejaVu Sans average advance per em, Vietnamese text


@dataclass(frozen=True)
class Slide:
    """A still shown during [start_s, end_s); a slide without body is a title card."""

    title: str
    body: str = ""
    start_s: float = 0.0
    end_s: float | None = None


@dataclass(frozen=True)
class Branding:
    """Co-branding of the two organisations: logos when given, otherwise their names."""

    left_logo: Path | None
    right_logo: Path | None
    left_text: str = "Sở Tư pháp"
    right_text: str = "Trung tâm Truyền thông"


@dataclass(frozen=True)
class VideoResult:
    """A rendered video and its subtitle sidecars."""

    path: Path
    duration_s: float
    width: int
    height: int
    vtt: Path
    srt: Path


# --- slides -----------------------------------------------------------------------------------

def _wrap(text: str, *, size: int, box_width: int, weight: str, max_rows: int) -> list[str]:
    chars = max(8, int(box_width / (size * CHAR_EM[weight])))
    rows: list[str] = []
    for paragraph in text.splitlines() or [""]:
        rows.extend(textwrap.wrap(" ".join(paragraph.split()), width=chars, break_on_hyphens=False) or [""])
    while rows and not rows[-1]:
        rows.pop()
    if len(rows) > max_rows:
        rows = rows[:max_rows]
        rows[-1] = textwrap.shorten(rows[-1] + " …", width=chars, placeholder=" …")
        if not rows[-1].endswith("…"):
            rows[-1] = rows[-1][: chars - 2].rstrip() + " …"
    return rows


def _textfile(directory: Path, name: str, rows: Sequence[str]) -> Path:
    path = directory / name
    path.write_text("\n".join(rows), encoding="utf-8")  # no trailing newline: drawtext would draw an empty row
    return path


def _branding_layer(branding: Branding, texts_dir: Path, *, width: int, bar_h: int, font: Path) -> tuple[list[fx.TextBlock], list[fx.Logo]]:
    margin = bar_h // 3
    logo_h = int(bar_h * 0.7)
    size = max(10, bar_h // 3)
    half = width // 2 - margin * 2
    blocks: list[fx.TextBlock] = []
    logos: list[fx.Logo] = []
    for side, logo, text in (("left", branding.left_logo, branding.left_text), ("right", branding.right_logo, branding.right_text)):
        x = str(margin) if side == "left" else f"W-w-{margin}"
        if logo is not None:
            logos.append(fx.Logo(Path(logo), logo_h, x, f"({bar_h}-h)/2"))
            continue
        rows = _wrap(text.upper(), size=size, box_width=half, weight="bold", max_rows=2)
        tx = str(margin) if side == "left" else f"w-tw-{margin}"
        blocks.append(fx.TextBlock(_textfile(texts_dir, f"brand-{side}.txt", rows), font, size, BAR_TEXT, tx, f"({bar_h}-th)/2",
                                   "left" if side == "left" else "right"))
    return blocks, logos


def render_slide(slide: Slide, out_png: Path, *, width: int, height: int, branding: Branding, font: Path, bold_font: Path) -> Path:
    """Draw one slide as a PNG with ffmpeg (colour source + drawtext with the bundled fonts)."""
    out_png = Path(out_png)
    unit = min(width, height)
    bar_h = unit // 10
    margin = unit // 16
    text_w = width - 2 * margin
    subtitle_zone = int(height * 0.22) if width > height else int(height * 0.16)
    with tempfile.TemporaryDirectory(prefix=".slide-", dir=out_png.parent) as scratch:
        texts_dir = Path(scratch)
        blocks, logos = _branding_layer(branding, texts_dir, width=width, bar_h=bar_h, font=bold_font)
        title_card = not slide.body.strip()
        title_size = int(unit * (0.085 if title_card else 0.062))
        title_rows = _wrap(slide.title, size=title_size, box_width=text_w, weight="bold", max_rows=4 if title_card else 3)
        title_file = _textfile(texts_dir, "title.txt", title_rows)
        if title_card:
            blocks.append(fx.TextBlock(title_file, bold_font, title_size, TEXT, "(w-tw)/2", f"({height}-{subtitle_zone}-th)/2+{bar_h // 2}", "center"))
        else:
            title_y = bar_h + margin
            blocks.append(fx.TextBlock(title_file, bold_font, title_size, TEXT, str(margin), str(title_y)))
            body_size = int(unit * 0.042)
            body_y = title_y + int(len(title_rows) * title_size * 1.3) + margin // 2
            free = height - subtitle_zone - body_y
            body_rows = _wrap(slide.body, size=body_size, box_width=text_w, weight="regular", max_rows=max(1, int(free / (body_size * 1.3))))
            blocks.append(fx.TextBlock(_textfile(texts_dir, "body.txt", body_rows), font, body_size, TEXT, str(margin), str(body_y)))
        boxes = [(0, 0, width, bar_h, BAR), (0, bar_h, width, max(2, unit // 120), ACCENT)]
        temp_png = texts_dir / "slide.png"
        run(fx.slide_args(temp_png, width=width, height=height, background=BACKGROUND, boxes=boxes, texts=blocks, logos=logos), timeout_s=60)
        os.replace(temp_png, out_png)
    return out_png


# --- video ------------------------------------------------------------------------------------

def _slide_starts(slides: Sequence[Slide], duration_s: float) -> list[Slide]:
    """Slides in time order that start before the end; the first is shown from 0, gaps hold the previous."""
    ordered = sorted((s for s in slides if s.start_s < duration_s), key=lambda s: s.start_s)
    if not ordered:
        raise ValueError("a video needs at least one slide that starts before the end of the audio")
    return ordered


def _atomic_temp(path: Path) -> Path:
    fd, temp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.fchmod(fd, 0o666 & ~current_umask())
    os.close(fd)
    return Path(temp)


def render_video(
    audio: Path,
    duration_s: float,
    slides: Sequence[Slide],
    cues: Sequence[Cue],
    out_path: Path,
    *,
    width: int = 1280,
    height: int = 720,
    work_dir: Path,
    branding: Branding,
    font: Path,
    bold_font: Path,
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> VideoResult:
    """Render the sketch to H.264/AAC MP4 with burned-in subtitles, plus .vtt and .srt sidecars."""
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for yuv420p")
    if duration_s <= 0:
        raise ValueError("the audio has no duration")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    ordered = _slide_starts(slides, duration_s)
    frames = fx.frame_ranges([s.start_s for s in ordered], duration_s)
    with tempfile.TemporaryDirectory(prefix=".video-", dir=work_dir) as scratch:
        scratch_dir = Path(scratch)
        stills = []
        for index, slide in enumerate(ordered):
            if cancel is not None and cancel():
                raise Cancelled("cancelled while drawing slides")
            stills.append(render_slide(slide, scratch_dir / f"slide-{index:03d}.png", width=width, height=height,
                                       branding=branding, font=font, bold_font=bold_font))
        ass = None
        if cues:
            ass = scratch_dir / "subs.ass"
            ass.write_text(to_ass(cues, width=width, height=height), encoding="utf-8")
        temp_mp4 = _atomic_temp(out_path)
        try:
            args = fx.video_args(stills, frames, Path(audio), temp_mp4, duration_s=duration_s, ass=ass, fonts_dir=Path(font).parent,
                                 copy_audio=Path(audio).suffix.lower() in (".m4a", ".aac"))
            run(args, cancel=cancel, on_progress=on_progress, total_s=duration_s)
            vtt, srt = out_path.with_suffix(".vtt"), out_path.with_suffix(".srt")
            write_text_atomic(vtt, to_webvtt(cues))
            write_text_atomic(srt, to_srt(cues))
            os.replace(temp_mp4, out_path)
        finally:
            temp_mp4.unlink(missing_ok=True)
    return VideoResult(out_path, duration_s, width, height, vtt, srt)


def probe_video(path: Path) -> dict[str, object]:
    """Streams of an MP4: size, fps, codecs, audio rate and channels, duration, and faststart (moov before mdat)."""
    info = fx.parse_probe(fx.probe_stderr(Path(path)))
    boxes = fx.mp4_top_level_boxes(Path(path))
    info["faststart"] = "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
    return info

