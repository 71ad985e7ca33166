"""The only place that builds ffmpeg command lines and filter graphs, plus the runner and log parsers.

Builders are pure: they return the argument list that follows the ffmpeg executable (without the
`-hide_banner -nostdin -y` prefix that `run` adds).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MIX_RATE = 48000
POLL_S = 0.1


class FFmpegError(RuntimeError):
    """ffmpeg failed; `stderr` holds the tail of its log."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(f"{message}\n{stderr}" if stderr else message)
        self.stderr = stderr


class Cancelled(Exception):
    """The caller asked the running step to stop."""


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


# --- runner -----------------------------------------------------------------------------------

def run(
    args: list[str] | Sequence[str],
    *,
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
    total_s: float | None = None,
    timeout_s: float | None = None,
) -> str:
    """Run ffmpeg with `args`; return its log, raise FFmpegError on failure, Cancelled when asked to stop."""
    args = list(args)
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y"]
    if on_progress is not None and "-progress" not in args:
        command += ["-progress", "pipe:1", "-nostats"]
    command += args
    with tempfile.TemporaryFile() as log:
        # Own process group, so a cancel also stops anything ffmpeg might spawn.
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        latest: list[float] = []
        reader = threading.Thread(target=_pump_progress, args=(proc.stdout, latest), daemon=True)
        reader.start()
        try:
            _supervise(proc, cancel, timeout_s, lambda: _report(latest, on_progress, total_s))
        finally:
            if proc.poll() is None:
                _kill(proc)
            reader.join(timeout=5)
        _report(latest, on_progress, total_s)
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg exited with {proc.returncode}", _tail(text))
    return text


def _supervise(proc: subprocess.Popen[bytes], cancel: Callable[[], bool] | None, timeout_s: float | None, tick: Callable[[], None]) -> None:
    started = time.monotonic()
    while True:
        try:
            proc.wait(timeout=POLL_S)
            return
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel():
            _kill(proc)
            raise Cancelled("ffmpeg cancelled")
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            _kill(proc)
            raise FFmpegError(f"ffmpeg timed out after {timeout_s:.0f} s")
        tick()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _pump_progress(stream, latest: list[float]) -> None:  # type: ignore[no-untyped-def]
    for raw in stream:
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith("out_time_us=") and line[12:].isdigit():
            latest.append(int(line[12:]) / 1e6)


def _report(latest: list[float], on_progress: Callable[[float], None] | None, total_s: float | None) -> None:
    if latest and on_progress is not None and total_s:
        on_progress(max(0.0, min(1.0, latest[-1] / total_s)))


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- log parsers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class R128:
    """One ebur128 summary: integrated loudness, its gating threshold, LRA and peak (true or sample)."""

    integrated: float
    threshold: float
    lra: float
    peak: float | None


_SUMMARY = re.compile(r"\[(?P<name>[\w@]+) @ [^\]]+\] Summary:(?P<body>.*?)(?=\n\[|\Z)", re.S)


def parse_ebur128(log: str) -> dict[str, R128]:
    """ebur128 summaries in an ffmpeg log, keyed by filter instance name (e.g. `ebur128@mix`)."""
    found: dict[str, R128] = {}
    for match in _SUMMARY.finditer(log):
        body = match["body"]
        found[match["name"]] = R128(
            integrated=_number(r"I:\s+(\S+) LUFS", body),
            threshold=_number(r"Integrated loudness:.*?Threshold:\s+(\S+) LUFS", body),
            lra=_number(r"LRA:\s+(\S+) LU", body),
            peak=_number(r"Peak:\s+(\S+) dBFS", body) if "Peak:" in body else None,
        )
    return found


def parse_loudnorm_json(log: str) -> dict[str, str]:
    """The JSON block loudnorm prints with print_format=json (the last one in the log)."""
    blocks = re.findall(r"\{[^{}]*\"input_i\"[^{}]*\}", log)
    if not blocks:
        raise FFmpegError("no loudnorm measurement in the ffmpeg log", _tail(log))
    return dict(json.loads(blocks[-1]))


def parse_duration(log: str) -> float | None:
    """Duration from `ffmpeg -i` ("Duration: 00:01:02.50"), or None."""
    match = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", log)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_out_time(log: str) -> float | None:
    """Last `time=` an ffmpeg run reported (decoded length when the output is `-f null`)."""
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", log)
    if not times:
        return None
    hours, minutes, seconds = times[-1]
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text, re.S)
    if not match:
        raise FFmpegError(f"unexpected ebur128 summary (no match for {pattern!r})", text)
    return float(match.group(1))


# --- audio graphs -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    """One narration line placed on the narration timeline, in samples at MIX_RATE."""

    wav: Path
    length: int  # speech plus the pause after it; the speech is cut or padded to fit exactly


@dataclass(frozen=True)
class Processing:
    """Program processing before loudness normalisation (for loudspeakers)."""

    bandlimit: tuple[int, int] | None
    compress: bool
    channels: int
    ceiling_db: float  # sample-peak ceiling of the safety limiter, dBFS


def _to_mix_format(label: str) -> str:
    return f"{label}aresample={MIX_RATE},aformat=sample_fmts=flt:channel_layouts=stereo"


def _narration_graph(segments: Sequence[Segment], first_input: int, out: str) -> list[str]:
    """Concatenate the lines, each cut/padded to its exact slot; mono speech is placed in both channels."""
    parts = []
    for offset, segment in enumerate(segments):
        index = first_input + offset
        parts.append(
            f"[{index}:a]aresample={MIX_RATE},aformat=sample_fmts=flt:channel_layouts=mono,"
            f"atrim=end_sample={segment.length},apad=whole_len={segment.length},pan=stereo|c0=c0|c1=c0[n{offset}]"
        )
    labels = "".join(f"[n{i}]" for i in range(len(segments)))
    parts.append(f"{labels}concat=n={len(segments)}:v=0:a=1{out}")
    return parts


def _inputs(paths: Sequence[Path]) -> list[str]:
    args: list[str] = []
    for path in paths:
        args += ["-i", str(path)]
    return args


def analyse_args(segments: Sequence[Segment], extras: dict[str, Path]) -> list[str]:
    """One pass measuring the raw narration and each extra (jingles, bed) as heard in the mix."""
    parts = _narration_graph(segments, 0, "[narr]")
    parts.append("[narr]ebur128@narration=framelog=quiet[mnarr]")
    outputs = ["-map", "[mnarr]", "-f", "null", "-"]
    for offset, name in enumerate(extras):
        index = len(segments) + offset
        parts.append(f"{_to_mix_format(f'[{index}:a]')},ebur128@{name}=framelog=quiet[m{name}]")
        outputs += ["-map", f"[m{name}]", "-f", "null", "-"]
    return [*_inputs([s.wav for s in segments]), *_inputs(list(extras.values())), "-filter_complex", ";".join(parts), *outputs]


def bed_envelope(ranges: Sequence[tuple[float, float]], fade_s: float) -> str:
    """volume expression: 1 inside each (start, end) range, linear fades of fade_s outside it, else 0."""
    if not ranges:
        return "0"
    terms = [f"clip((t-{a - fade_s:.4f})/{fade_s:.4f},0,1)*clip(({b + fade_s:.4f}-t)/{fade_s:.4f},0,1)" for a, b in ranges]
    return "min(1," + "+".join(terms) + ")"


@dataclass(frozen=True)
class Mix:
    """Gains (dB) and bed layout for the mix pass."""

    narration_gain: float
    narration_samples: int
    intro: Path | None = None
    intro_gain: float = 0.0
    outro: Path | None = None
    outro_gain: float = 0.0
    bed: Path | None = None
    bed_gain: float = 0.0
    bed_ranges: tuple[tuple[float, float], ...] = ()
    duck_key_gain: float = 1.0  # brings the sidechain key to about -20 LUFS whatever the target


def mix_args(segments: Sequence[Segment], mix: Mix, processing: Processing, out_wav: Path) -> list[str]:
    """Narration + ducked bed, between the jingles, processed; written as float WAV and measured (true peak)."""
    parts = _narration_graph(segments, 0, "[narr]")
    inputs = _inputs([s.wav for s in segments])
    next_input = len(segments)
    parts.append(f"[narr]volume={mix.narration_gain:.3f}dB[body]")
    if mix.bed is not None and mix.bed_ranges:
        inputs += ["-stream_loop", "-1", "-i", str(mix.bed)]
        envelope = bed_envelope(mix.bed_ranges, 0.8)
        parts[-1] = f"[narr]volume={mix.narration_gain:.3f}dB,asplit=2[nmain][nkey]"
        parts.append(
            f"{_to_mix_format(f'[{next_input}:a]')},atrim=end_sample={mix.narration_samples},"
            f"volume={mix.bed_gain:.3f}dB,volume='{envelope}':eval=frame[bedlevel]"
        )
        # Threshold and ratio duck the bed about 10-12 dB under speech at -20 LUFS; RMS detection follows syllables.
        parts.append(
            f"[bedlevel][nkey]sidechaincompress=threshold=0.02:ratio=5:attack=15:release=350:level_sc={mix.duck_key_gain:.4f}[ducked]"
        )
        parts.append("[nmain][ducked]amix=inputs=2:normalize=0:duration=first[body]")
        next_input += 1
    pieces = []
    for name, path, gain in (("intro", mix.intro, mix.intro_gain), ("outro", mix.outro, mix.outro_gain)):
        if path is None:
            continue
        inputs += _inputs([path])
        parts.append(f"{_to_mix_format(f'[{next_input}:a]')},volume={gain:.3f}dB[{name}]")
        next_input += 1
        pieces.append(name)
    order = [p for p in ("intro",) if p in pieces] + ["body"] + [p for p in ("outro",) if p in pieces]
    parts.append("".join(f"[{p}]" for p in order) + f"concat=n={len(order)}:v=0:a=1,{processing_chain(processing)},asplit=2[out][meas]")
    parts.append("[meas]ebur128@mix=framelog=quiet:peak=true[mmix]")
    return [
        *inputs,
        "-filter_complex", ";".join(parts),
        "-map", "[out]", "-c:a", "pcm_f32le", "-f", "wav", str(out_wav),
        "-map", "[mmix]", "-f", "null", "-",
    ]


def processing_chain(processing: Processing) -> str:
    """Band-limit, compression, channel layout and a safety peak limiter, as one filter chain."""
    steps = []
    if processing.bandlimit is not None:
        low, high = processing.bandlimit
        steps += [f"highpass=f={low}:poles=2", f"lowpass=f={high}:poles=2"]
    if processing.compress:
        # Horn speakers outdoors: lift quiet syllables, hold loud ones; makeup keeps speech near its level.
        steps.append("acompressor=threshold=0.1:ratio=3:attack=5:release=120:knee=4:makeup=2")
    if processing.channels == 1:
        # Sum of dual-mono at -3 dB per side keeps the BS.1770 loudness of the stereo mix.
        steps.append("pan=mono|c0=0.7071*c0+0.7071*c1")
    limit = min(1.0, max(0.0625, 10 ** (processing.ceiling_db / 20)))
    steps.append(f"alimiter=limit={limit:.5f}:attack=2:release=60:level=false:latency=true")
    return ",".join(steps)


@dataclass(frozen=True)
class Encode:
    """Target loudness and encoding of the final file."""

    lufs: float
    true_peak: float
    lra: float
    sample_rate: int
    channels: int
    codec: str
    bitrate: str | None
    container: str  # ffmpeg muxer name: mp3, ipod, wav
    duration_s: float


def loudnorm_linear(target: Encode, measured: R128) -> str:
    """Second loudnorm pass in linear mode, from a first-pass measurement."""
    peak = measured.peak if measured.peak is not None else 0.0
    # loudnorm only stays linear when measured LRA <= target LRA; the LRA is the script's, keep it.
    lra = min(50.0, max(target.lra, measured.lra + 0.1))
    return (
        f"loudnorm=I={target.lufs:.2f}:TP={target.true_peak:.2f}:LRA={lra:.1f}"
        f":measured_I={measured.integrated:.2f}:measured_TP={peak:.2f}:measured_LRA={measured.lra:.2f}"
        f":measured_thresh={measured.threshold:.2f}:offset=0:linear=true:print_format=json"
    )


def encode_args(mix_wav: Path, target: Encode, measured: R128 | None, out_path: Path) -> list[str]:
    """Loudness pass 2 (linear) then resample and encode to the profile, cut to the exact duration."""
    steps = [loudnorm_linear(target, measured)] if measured is not None else []
    layout = "mono" if target.channels == 1 else "stereo"
    steps.append(f"aresample={target.sample_rate},aformat=channel_layouts={layout}")
    args = ["-i", str(mix_wav), "-af", ",".join(steps), "-t", f"{target.duration_s:.6f}", "-c:a", target.codec]
    if target.bitrate:
        args += ["-b:a", target.bitrate]
    if target.codec == "libmp3lame":
        args += ["-compression_level", "7"]  # LAME's speed/quality knob; 7 is ~30% faster with no audible loss at these rates
    args += ["-ar", str(target.sample_rate), "-ac", str(target.channels), "-map_metadata", "-1", "-f", target.container, str(out_path)]
    return args


def measure_args(path: Path) -> list[str]:
    """Decode a file and measure its loudness (EBU R128, true peak)."""
    return ["-i", str(path), "-filter_complex", "[0:a:0]ebur128@file=framelog=quiet:peak=true[m]", "-map", "[m]", "-f", "null", "-"]


def decode_length_args(path: Path) -> list[str]:
    """Decode the first audio stream to nowhere; the log's final time= is the exact length."""
    return ["-i", str(path), "-map", "0:a:0", "-f", "null", "-"]


def tone_args(expression: str, duration_s: float, out_path: Path, *, post: str = "", rate: int = MIX_RATE) -> list[str]:
    """Synthesize audio from an aevalsrc expression (stereo: 'left|right') into a file."""
    source = f"aevalsrc='{expression}':s={rate}:d={duration_s:.3f}"
    graph = f"{source},{post}" if post else source
    return ["-f", "lavfi", "-i", graph, "-c:a", "flac", "-compression_level", "8", "-sample_fmt", "s16", str(out_path)]


# --- video ------------------------------------------------------------------------------------
# Reserved for the video graph builders (owned by the video engineer). Audio code never edits below.
