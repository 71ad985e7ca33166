"""ffmpeg argument builders for slides and video, a probe parser, and a minimal runner.

Self-contained so it can be merged into `_ffmpeg.py`. Builders are pure: they return the argument
list that follows the ffmpeg executable. `run` here is a stand-in until `_ffmpeg.run` exists.
"""

from __future__ import annotations

import math
import queue
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

FPS = 25
# Measured on the bench sketch (60 s, 1280x720, still slides): ultrafast encodes about twice as fast as
# veryfast and, at the same CRF, gives a higher PSNR against a lossless encode (61.6 vs 47.8 dB); the
# file is about twice as big (~0.5 Mbit/s), which stills-with-subtitles afford.
PRESET = "ultrafast"


class FFmpegError(RuntimeError):
    """ffmpeg exited with an error; the message ends with the tail of its log."""


class Cancelled(Exception):
    """The caller asked the running step to stop."""


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


# --- escaping ---------------------------------------------------------------------------------

def escape_option(value: str) -> str:
    """Escape a filter option value (first level: \\ ' :)."""
    return re.sub(r"([\\':])", r"\\\1", value)


def escape_graph(value: str) -> str:
    """Escape text placed in a filtergraph (second level: \\ ' [ ] , ;)."""
    return re.sub(r"([\\'\[\],;])", r"\\\1", value)


def filter_value(value: str | Path) -> str:
    """A string (a path, usually) made safe as one option value inside a filtergraph."""
    return escape_graph(escape_option(str(value)))


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


def _drawtext(block: TextBlock) -> str:
    opts = [
        f"fontfile={filter_value(block.font)}",
        f"textfile={filter_value(block.textfile)}",
        "expansion=none",
        f"fontsize={block.size}",
        f"fontcolor={block.color}",
        f"line_spacing={max(2, block.size // 4)}",
        f"x={filter_value(block.x)}",
        f"y={filter_value(block.y)}",
    ]
    if block.align != "left":
        opts.append("text_align=" + {"center": "C", "right": "R"}[block.align])
    return "drawtext=" + ":".join(opts)


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
    args = ["-y", "-f", "lavfi", "-i", f"color=c={background}:s={width}x{height}:r=1:d=1"]
    for logo in logos:
        args += ["-i", str(logo.path)]
    steps = [f"drawbox=x={x}:y={y}:w={w}:h={h}:color={color}:t=fill" for x, y, w, h, color in boxes]
    steps += [_drawtext(block) for block in texts]
    graph = [f"[0:v]{','.join(steps) or 'null'}[b0]"]
    for index, logo in enumerate(logos, start=1):
        graph.append(f"[{index}:v]scale=-2:{logo.height}[l{index}]")
        graph.append(f"[b{index - 1}][l{index}]overlay=x={filter_value(logo.x)}:y={filter_value(logo.y)}[b{index}]")
    graph.append(f"[b{len(logos)}]format=rgb24[out]")
    return args + ["-filter_complex", ";".join(graph), "-map", "[out]", "-frames:v", "1", "-update", "1", str(out_png)]


# --- video ------------------------------------------------------------------------------------

def frame_ranges(starts: Sequence[float], duration_s: float, fps: int = FPS) -> list[int]:
    """Frames each still is shown for: from its start to the next start, the last to the end."""
    total = math.ceil(round(duration_s * fps, 6))
    marks = [min(total, round(s * fps)) for s in starts] + [total]
    marks[0] = 0
    return [max(0, b - a) for a, b in zip(marks, marks[1:])]


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
    if len(stills) != len(frames) or not stills:
        raise ValueError("one frame count per still, and at least one still")
    args = ["-y"]
    if progress:
        args += ["-progress", "pipe:1", "-nostats"]
    for still in stills:
        args += ["-framerate", str(fps), "-i", str(still)]
    args += ["-i", str(audio)]
    graph = []
    labels = []
    for index, count in enumerate(frames):
        if count <= 0:
            continue
        # convert once, before the loop, so the per-frame work is only a reference copy
        graph.append(
            f"[{index}:v]format=yuv420p,loop=loop=-1:size=1:start=0,setpts=N/({fps}*TB),trim=end_frame={count}[s{index}]"
        )
        labels.append(f"[s{index}]")
    chain = f"{''.join(labels)}concat=n={len(labels)}:v=1:a=0" if len(labels) > 1 else f"{labels[0]}null"
    if ass is not None:
        chain += f",ass=filename={filter_value(ass)}"
        if fonts_dir is not None:
            chain += f":fontsdir={filter_value(fonts_dir)}"
    graph.append(chain + "[vout]")
    return args + [
        "-filter_complex", ";".join(graph),
        "-map", "[vout]", "-map", f"{len(stills)}:a:0",
        "-c:v", "libx264", "-preset", preset, "-tune", "stillimage", "-crf", str(crf),
        "-pix_fmt", "yuv420p", "-r", str(fps), "-g", str(2 * fps),
        *(["-c:a", "copy"] if copy_audio else ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "128k", "-ar", "48000", "-ac", "2"]),
        "-t", f"{duration_s:.3f}",
        "-movflags", "+faststart",
        "-f", "mp4", str(out_path),
    ]


# --- probe ------------------------------------------------------------------------------------

def probe_args(path: Path) -> list[str]:
    """Arguments that make ffmpeg print a file's streams (it then exits with 'no output')."""
    return ["-hide_banner", "-i", str(path)]


_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def parse_probe(stderr: str) -> dict[str, object]:
    """Width, height, fps, codecs, sample rate, channels and duration from `ffmpeg -i` output."""
    info: dict[str, object] = {
        "width": None, "height": None, "fps": None, "vcodec": None,
        "acodec": None, "sample_rate": None, "channels": None, "duration_s": None,
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


# --- minimal runner (stand-in for _ffmpeg.run) ------------------------------------------------

def _is_cancelled(cancel: object) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if callable(is_set) else cancel())  # type: ignore[operator]


def _pump_progress(stream, sink: queue.Queue[float]) -> None:  # type: ignore[no-untyped-def]
    for raw in stream:
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith("out_time_us=") and line[12:].lstrip("-").isdigit():
            sink.put(int(line[12:]) / 1e6)


def run(
    args: Sequence[str],
    *,
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
    total_s: float | None = None,
    timeout_s: float | None = None,
) -> str:
    """Run ffmpeg with `args`; return its log, raise FFmpegError on failure, Cancelled when asked to stop."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        times: queue.Queue[float] = queue.Queue()
        reader = threading.Thread(target=_pump_progress, args=(proc.stdout, times), daemon=True)
        reader.start()
        started = time.monotonic()
        try:
            while proc.poll() is None:
                if _is_cancelled(cancel):
                    raise Cancelled("ffmpeg cancelled")
                if timeout_s is not None and time.monotonic() - started > timeout_s:
                    raise FFmpegError(f"ffmpeg timed out after {timeout_s:.0f} s")
                _drain(times, on_progress, total_s)
                try:
                    proc.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(timeout=5)
        _drain(times, on_progress, total_s)
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise FFmpegError(f"ffmpeg exited with {proc.returncode}:\n{tail}")
    return text


def _drain(times: queue.Queue[float], on_progress: Callable[[float], None] | None, total_s: float | None) -> None:
    latest = None
    while not times.empty():
        latest = times.get_nowait()
    if latest is not None and on_progress is not None and total_s:
        on_progress(max(0.0, min(1.0, latest / total_s)))


def probe_stderr(path: Path) -> str:
    """`ffmpeg -i path` log (ffmpeg exits non-zero because no output is given)."""
    proc = subprocess.run([ffmpeg_exe(), *probe_args(path)], capture_output=True, stdin=subprocess.DEVNULL)
    return proc.stderr.decode("utf-8", "replace")
