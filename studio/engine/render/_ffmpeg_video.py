"""ffmpeg builders for slides and video (ffmpeg-python graphs), and reading what a probe prints.

Builders are pure: they return the argument list that follows the executable; studio.engine.render._ffmpeg.run
runs them (the one runner: it stops the whole process group on cancel).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import ffmpeg

from studio.engine.render._ffmpeg_graph import Stream, compile_args, open_input, source
from studio.engine.render._ffmpeg_run import run

FPS = 25
# Measured on the bench sketch (60 s, 1280x720, still slides): ultrafast encodes about twice as fast as
# veryfast and, at the same CRF, gives a higher PSNR against a lossless encode (61.6 vs 47.8 dB); the
# file is about twice as big (~0.5 Mbit/s), which stills-with-subtitles afford.
PRESET = "ultrafast"


# --- slides -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextBlock:
    """Text drawn from a UTF-8 file with drawtext."""

    textfile: Path
    font: Path
    size: int
    color: str
    x: str  # drawtext expression
    y: str
    align: str = "left"  # left | center | right


@dataclass(frozen=True)
class Logo:
    """An image scaled to `height` and placed at (x, y) expressions of the overlay filter."""

    path: Path
    height: int
    x: str
    y: str


def _drawtext(stream: Stream, block: TextBlock) -> Stream:
    options: dict[str, object] = {
        "fontfile": str(block.font),
        "textfile": str(block.textfile),
        "expansion": "none",
        "fontsize": block.size,
        "fontcolor": block.color,
        "line_spacing": max(2, block.size // 4),
        "x": block.x,
        "y": block.y,
    }
    if block.align != "left":
        options["text_align"] = {"center": "C", "right": "R"}[block.align]
    return stream.filter("drawtext", **options)


def slide_args(
    out_png: Path,
    *,
    width: int,
    height: int,
    background: str,
    boxes: Sequence[tuple[int, int, int, int, str]],
    texts: Sequence[TextBlock],
    logos: Sequence[Logo] = (),
) -> list[str]:
    """One PNG frame: a colour source, filled boxes (x, y, w, h, colour), text blocks, then logos."""
    slide = open_input(source("color", c=background, s=f"{width}x{height}", r=1, d=1), f="lavfi")["v"]
    for x, y, w, h, color in boxes:
        slide = slide.filter("drawbox", x=x, y=y, w=w, h=h, color=color, t="fill")
    for block in texts:
        slide = _drawtext(slide, block)
    for logo in logos:
        scaled = open_input(logo.path)["v"].filter("scale", w=-2, h=logo.height)
        slide = ffmpeg.filter([slide, scaled], "overlay", x=logo.x, y=logo.y)
    return compile_args(ffmpeg.output(slide.filter("format", pix_fmts="rgb24"), str(out_png), **{"frames:v": 1, "update": 1}))


# --- video ------------------------------------------------------------------------------------


def frame_ranges(starts: Sequence[float], duration_s: float, fps: int = FPS) -> list[int]:
    """Frames each still is shown for: from its start to the next start, the last to the end."""
    total = math.ceil(round(duration_s * fps, 6))
    marks = [min(total, round(s * fps)) for s in starts] + [total]
    marks[0] = 0
    return [max(0, b - a) for a, b in pairwise(marks)]


def still_tuning(fps: int = FPS, crf: int = 23) -> dict[str, object]:
    """libx264 and MP4 settings for held stills, besides codec, preset and pixel format (shared with the bench's MoviePy side)."""
    return {"tune": "stillimage", "crf": crf, "g": 2 * fps, "movflags": "+faststart"}


def option_args(options: dict[str, object]) -> list[str]:
    """Output options as command-line arguments, for tools that take a list (MoviePy's ffmpeg_params)."""
    return [arg for name, value in options.items() for arg in (f"-{name}", str(value))]


def _held(still: Path, count: int, fps: int) -> Stream:
    """A still decoded once and repeated for `count` frames."""
    # converted once, before the loop, so the per-frame work is only a reference copy
    picture = open_input(still, framerate=fps)["v"].filter("format", pix_fmts="yuv420p")
    return picture.filter("loop", loop=-1, size=1, start=0).filter("setpts", expr=f"N/({fps}*TB)").filter("trim", end_frame=count)


def video_args(
    stills: Sequence[Path],
    frames: Sequence[int],
    audio: Path,
    out_path: Path,
    *,
    duration_s: float,
    ass: Path | None,
    fonts_dir: Path | None,
    fps: int = FPS,
    crf: int = 23,
    preset: str = PRESET,
    progress: bool = True,
    copy_audio: bool = False,
) -> list[str]:
    """Stills held for their frame counts (each decoded once, repeated with `loop`), ASS burned in, audio muxed.

    copy_audio: the audio is already the finished AAC, muxed as is; otherwise (a loudness-normalised
    WAV) AAC is encoded here, in its own thread next to the picture's encoder.
    """
    if len(stills) != len(frames) or not any(count > 0 for count in frames):
        raise ValueError("one frame count per still, and at least one still shown")
    held = [_held(still, count, fps) for still, count in zip(stills, frames, strict=True) if count > 0]
    picture = ffmpeg.filter(held, "concat", n=len(held), v=1, a=0) if len(held) > 1 else held[0]
    if ass is not None:
        picture = picture.filter("ass", filename=str(ass), **({"fontsdir": str(fonts_dir)} if fonts_dir is not None else {}))
    sound: dict[str, object] = (
        {"c:a": "copy"} if copy_audio else {"c:a": "aac", "aac_coder": "fast", "b:a": "128k", "ar": 48000, "ac": 2}
    )
    encoder = {"c:v": "libx264", "preset": preset, "pix_fmt": "yuv420p", "r": fps, **still_tuning(fps, crf)}
    out = ffmpeg.output(picture, open_input(audio)["a:0"], str(out_path), f="mp4", t=f"{duration_s:.3f}", **encoder, **sound)
    return compile_args(out, before=("-progress", "pipe:1", "-nostats") if progress else ())


# --- probe ------------------------------------------------------------------------------------


def probe_args(path: Path) -> list[str]:
    """Arguments that make ffmpeg print a file's streams (it then exits with 'no output')."""
    return ["-i", str(path)]


def probe_stderr(path: Path) -> str:
    """`ffmpeg -i path` log (ffmpeg exits non-zero because no output is given)."""
    return run(probe_args(path), check=False, timeout_s=60)


_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def parse_probe(stderr: str) -> dict[str, object]:
    """Width, height, fps, codecs, sample rate, channels and duration from `ffmpeg -i` output."""
    info: dict[str, object] = {
        "width": None,
        "height": None,
        "fps": None,
        "vcodec": None,
        "acodec": None,
        "sample_rate": None,
        "channels": None,
        "duration_s": None,
    }
    duration = re.search(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)", stderr)
    if duration:
        h, m, s = duration.groups()
        info["duration_s"] = int(h) * 3600 + int(m) * 60 + float(s)
    video = re.search(r"Stream #\S+.*?: Video: (\w+).*", stderr)
    if video:
        info["vcodec"] = video.group(1)
        size = re.search(r",\s*(\d{2,5})x(\d{2,5})", video.group(0))
        if size:
            info["width"], info["height"] = int(size.group(1)), int(size.group(2))
        fps = re.search(r"([\d.]+)\s*fps", video.group(0))
        if fps:
            info["fps"] = float(fps.group(1))
    audio = re.search(r"Stream #\S+.*?: Audio: (\w+).*", stderr)
    if audio:
        info["acodec"] = audio.group(1)
        rate = re.search(r"(\d+) Hz", audio.group(0))
        info["sample_rate"] = int(rate.group(1)) if rate else None
        layout = re.search(r"Hz,\s*([^,]+)", audio.group(0))
        if layout:
            name = layout.group(1).strip()
            channels = re.match(r"(\d+) channels", name)
            info["channels"] = int(channels.group(1)) if channels else _CHANNELS.get(name.split("(")[0])
    return info


def mp4_top_level_boxes(path: Path) -> list[str]:
    """Names of the top-level boxes of an MP4 file, in order."""
    names: list[str] = []
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        end = handle.tell()
        offset = 0
        while offset + 8 <= end:
            handle.seek(offset)
            header = handle.read(16)
            size = int.from_bytes(header[:4], "big")
            names.append(header[4:8].decode("latin-1"))
            if size == 1:
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                break
            if size < 8:
                break
            offset += size
    return names
