"""Video sketch rendering: slides drawn once as PNG stills, held to the narration, subtitles burned in."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.engine.render import _ffmpeg_video as fx
from studio.engine.render._ffmpeg import Cancelled, FFmpegError, run
from studio.engine.render._text_fit import block_height, fit
from studio.engine.render.subtitles import Cue, current_umask, to_ass, to_srt, to_webvtt, write_text_atomic

__all__ = [
    "Branding",
    "Cancelled",
    "FFmpegError",
    "PlacedText",
    "Slide",
    "VideoResult",
    "probe_video",
    "render_slide",
    "render_video",
    "slide_layout",
]

BACKGROUND = "0x0B3A6E"  # deep blue
BAR = "0xFFFFFF"
BAR_TEXT = "0x0B3A6E"
ACCENT = "0xD62828"  # the red of the national flag, as a thin rule
TEXT = "0xFFFFFF"


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


@dataclass(frozen=True)
class PlacedText:
    """One text block of a slide as laid out: all of its text, wrapped and sized to fit its box."""

    name: str  # title | body | brand-left | brand-right
    text: str
    rows: list[str]
    size: int
    font: Path
    box_width: int
    box_height: int
    x: str  # drawtext expressions
    y: str
    align: str = "left"


def _placed(
    name: str, text: str, font: Path, *, size: int, box: tuple[int, int], min_size: int, at: tuple[str, str], align: str = "left"
) -> PlacedText:
    fitted = fit(text, font, size=size, box_width=box[0], box_height=box[1], min_size=min_size)
    return PlacedText(name, text, fitted.rows, fitted.size, Path(font), box[0], box[1], at[0], at[1], align)


def _branding_texts(branding: Branding, *, width: int, bar_h: int, font: Path) -> list[PlacedText]:
    margin = bar_h // 3
    size = max(10, bar_h // 3)
    box = (width // 2 - margin * 2, int(bar_h * 0.9))
    placed = []
    for side, logo, text in (
        ("left", branding.left_logo, branding.left_text),
        ("right", branding.right_logo, branding.right_text),
    ):
        if logo is None:
            x = str(margin) if side == "left" else f"w-tw-{margin}"
            placed.append(
                _placed(
                    f"brand-{side}",
                    text.upper(),
                    font,
                    size=size,
                    box=box,
                    min_size=max(8, size * 2 // 3),
                    at=(x, f"({bar_h}-th)/2"),
                    align=side,
                )
            )
    return placed


def slide_layout(slide: Slide, *, width: int, height: int, branding: Branding, font: Path, bold_font: Path) -> list[PlacedText]:
    """Every text block of a slide, wrapped and shrunk until it fits its box (pure; nothing is cut)."""
    unit = min(width, height)
    bar_h = unit // 10
    margin = unit // 16
    text_w = width - 2 * margin
    subtitle_zone = int(height * 0.22) if width > height else int(height * 0.16)
    blocks = _branding_texts(branding, width=width, bar_h=bar_h, font=bold_font)
    free_h = height - subtitle_zone - bar_h - 2 * margin
    if not slide.body.strip():
        size = int(unit * 0.085)
        blocks.append(
            _placed(
                "title",
                slide.title,
                bold_font,
                size=size,
                box=(text_w, free_h),
                min_size=int(unit * 0.04),
                at=("(w-tw)/2", f"({height}-{subtitle_zone}-th)/2+{bar_h // 2}"),
                align="center",
            )
        )
        return blocks
    title_y = bar_h + margin
    size = int(unit * 0.062)
    title = _placed(
        "title",
        slide.title,
        bold_font,
        size=size,
        box=(text_w, int(free_h * 0.4)),
        min_size=int(unit * 0.035),
        at=(str(margin), str(title_y)),
    )
    body_y = title_y + block_height(len(title.rows), title.size, bold_font) + margin // 2
    size = int(unit * 0.042)
    body_box = (text_w, height - subtitle_zone - body_y)
    body = _placed("body", slide.body, font, size=size, box=body_box, min_size=int(unit * 0.025), at=(str(margin), str(body_y)))
    return [*blocks, title, body]


def _textfile(directory: Path, name: str, rows: Sequence[str]) -> Path:
    path = directory / name
    path.write_text("\n".join(rows), encoding="utf-8")  # no trailing newline: drawtext would draw an empty row
    return path


def _logos(branding: Branding, *, bar_h: int) -> list[fx.Logo]:
    margin = bar_h // 3
    sides = (("left", branding.left_logo), ("right", branding.right_logo))
    return [
        fx.Logo(Path(logo), int(bar_h * 0.7), str(margin) if side == "left" else f"W-w-{margin}", f"({bar_h}-h)/2")
        for side, logo in sides
        if logo is not None
    ]


def render_slide(
    slide: Slide, out_png: Path, *, width: int, height: int, branding: Branding, font: Path, bold_font: Path
) -> Path:
    """Draw one slide as a PNG with ffmpeg (colour source + drawtext with the bundled fonts)."""
    out_png = Path(out_png)
    unit = min(width, height)
    bar_h = unit // 10
    layout = slide_layout(slide, width=width, height=height, branding=branding, font=font, bold_font=bold_font)
    with tempfile.TemporaryDirectory(prefix=".slide-", dir=out_png.parent) as scratch:
        texts_dir = Path(scratch)
        blocks = [
            fx.TextBlock(
                _textfile(texts_dir, f"{p.name}.txt", p.rows),
                p.font,
                p.size,
                BAR_TEXT if p.name.startswith("brand") else TEXT,
                p.x,
                p.y,
                p.align,
            )
            for p in layout
        ]
        boxes = [(0, 0, width, bar_h, BAR), (0, bar_h, width, max(2, unit // 120), ACCENT)]
        temp_png = texts_dir / "slide.png"
        run(
            fx.slide_args(
                temp_png,
                width=width,
                height=height,
                background=BACKGROUND,
                boxes=boxes,
                texts=blocks,
                logos=_logos(branding, bar_h=bar_h),
            ),
            timeout_s=60,
        )
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


def _draw_stills(
    slides: Sequence[Slide],
    directory: Path,
    *,
    width: int,
    height: int,
    branding: Branding,
    font: Path,
    bold_font: Path,
    cancel: Callable[[], bool] | None,
) -> list[Path]:
    """Each slide drawn once as a numbered PNG in `directory`, in order; the cancel check runs between slides."""
    stills = []
    for index, slide in enumerate(slides):
        if cancel is not None and cancel():
            raise Cancelled("cancelled while drawing slides")
        stills.append(
            render_slide(
                slide,
                directory / f"slide-{index:03d}.png",
                width=width,
                height=height,
                branding=branding,
                font=font,
                bold_font=bold_font,
            )
        )
    return stills


def _subtitle_file(cues: Sequence[Cue], directory: Path, *, width: int, height: int) -> Path | None:
    """The cues as an ASS file for burning in, sized to the frame; None when there is nothing to burn in."""
    if not cues:
        return None
    ass = directory / "subs.ass"
    ass.write_text(to_ass(cues, width=width, height=height), encoding="utf-8")
    return ass


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
        stills = _draw_stills(
            ordered, scratch_dir, width=width, height=height, branding=branding, font=font, bold_font=bold_font, cancel=cancel
        )
        ass = _subtitle_file(cues, scratch_dir, width=width, height=height)
        temp_mp4 = _atomic_temp(out_path)
        try:
            args = fx.video_args(
                stills,
                frames,
                Path(audio),
                temp_mp4,
                duration_s=duration_s,
                ass=ass,
                fonts_dir=Path(font).parent,
                copy_audio=Path(audio).suffix.lower() in (".m4a", ".aac"),
            )
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
