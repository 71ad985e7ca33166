"""The one ffmpeg runner (cancellable, with progress and a timeout) and the parsers of what ffmpeg logs.

Every ffmpeg process starts here, in its own process group, so a cancel or a timeout stops the whole
group: `run` for files (video, slides, mixes, encodes, probes), `run_piped` for bytes through pipes
(the gTTS MP3 decode). The command lines come from the builders in `_ffmpeg*.py`; `_ffmpeg` re-exports
these names.
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

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
    check: bool = True,
) -> str:
    """Run ffmpeg with `args`; return its log, raise FFmpegError on failure (unless not `check`), Cancelled when asked to stop."""
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
    if check and proc.returncode != 0:
        raise FFmpegError(f"ffmpeg exited with {proc.returncode}", _tail(text))
    return text


def run_piped(args: list[str] | Sequence[str], data: bytes, *, timeout_s: float = 120) -> bytes:
    """Run ffmpeg with `data` on its stdin (args read `pipe:0`, write `pipe:1`); return what it wrote, raise FFmpegError on failure."""
    command = [ffmpeg_exe(), "-hide_banner", "-y", *args]  # ffmpeg leaves stdin alone by itself when it is an input
    try:
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except OSError as exc:
        raise FFmpegError(f"ffmpeg could not run: {exc}") from exc
    try:
        out, err = proc.communicate(data, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"ffmpeg timed out after {timeout_s:.0f} s") from exc
    finally:
        if proc.poll() is None:
            _kill(proc)
    if proc.returncode != 0 or not out:
        raise FFmpegError(
            f"ffmpeg exited with {proc.returncode}" if proc.returncode else "ffmpeg wrote nothing",
            _tail(err.decode("utf-8", "replace")),
        )
    return out


def _supervise(
    proc: subprocess.Popen[bytes], cancel: Callable[[], bool] | None, timeout_s: float | None, tick: Callable[[], None]
) -> None:
    started = time.monotonic()
    # Popen.wait(timeout) polls with sleeps of up to 50 ms; a blocking wait in a thread wakes the
    # moment ffmpeg exits, which matters when a render is a chain of short runs.
    exited = threading.Event()

    def wait() -> None:
        proc.wait()
        exited.set()

    threading.Thread(target=wait, daemon=True).start()
    while True:
        if exited.wait(POLL_S):
            return
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


def _pump_progress(stream: Iterable[bytes], latest: list[float]) -> None:
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


# A summary ends at the next log line or the next summary (ffmpeg's stats line can run into one without a newline).
_SUMMARY = re.compile(r"\[(?P<name>[\w@]+) @ [^\]]+\] Summary:(?P<body>.*?)(?=\n\[|\[[\w@]+ @ [^\]]+\] Summary:|\Z)", re.S)


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
