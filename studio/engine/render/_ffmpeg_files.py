"""ffmpeg builders that read or make one file: loudness and length of a file, synthesized tones, piped decodes."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from studio.engine.render._ffmpeg_graph import compile_args, null_output, open_audio, open_input, source


def level_pair_args(reference: Path, coded: Path) -> list[str]:
    """Measure two files in one run (`ebur128@reference`, `ebur128@coded`)."""
    return compile_args(
        null_output(open_audio(reference, "a:0").filter("ebur128@reference", framelog="quiet")),
        null_output(open_audio(coded, "a:0").filter("ebur128@coded", framelog="quiet")),
        before=("-nostats",),
    )


def measure_file_args(path: Path, *, true_peak: bool = True) -> list[str]:
    """Decode a file and measure its loudness (EBU R128; true peak optional, it costs 4x oversampling)."""
    peak = {"peak": "true"} if true_peak else {}
    return compile_args(null_output(open_input(path)["a:0"].filter("ebur128@file", framelog="quiet", **peak)))


def decode_length_args(path: Path) -> list[str]:
    """Decode the first audio stream to nowhere; the log's final time= is the exact length."""
    return compile_args(null_output(open_input(path)["a:0"]))


def tone_args(
    expression: str, duration_s: float, out_path: Path, *, post: str = "", rate: int = 48000
) -> list[str]:  # 48000: MIX_RATE
    """Synthesize audio from an aevalsrc expression (stereo: 'left|right') into a FLAC file; `post` is a filter chain after it."""
    graph = source("aevalsrc", exprs=expression, s=rate, d=f"{duration_s:.3f}")
    tone = open_input(f"{graph},{post}" if post else graph, f="lavfi")
    return compile_args(ffmpeg.output(tone, str(out_path), compression_level=8, sample_fmt="s16", **{"c:a": "flac"}))


def sine_args(out_path: Path, *, frequency: float, duration_s: float, sample_rate: int = 48000, channels: int = 2) -> list[str]:
    """A sine tone written to a file (the format follows its name): a stand-in for narration."""
    tone = open_input(source("sine", frequency=frequency, duration=duration_s, sample_rate=sample_rate), f="lavfi")
    return compile_args(ffmpeg.output(tone, str(out_path), ac=channels))


def pcm_decode_args(input_format: str, sample_rate: int, *, pitch_factor: float | None = None, tempo: float = 1.0) -> list[str]:
    """Decode stdin to mono signed 16-bit PCM on stdout at sample_rate.

    With pitch_factor, the pitch moves by that factor (resampled as if played faster) and the tempo
    is then set to `tempo` of the original.
    """
    audio = open_input("pipe:0", f=input_format)["a"]
    if pitch_factor is not None:
        audio = (
            audio.filter("aresample", sample_rate)
            .filter("asetrate", sample_rate=round(sample_rate * pitch_factor))
            .filter("aresample", sample_rate)
            .filter("atempo", tempo=f"{tempo / pitch_factor:.6f}")
        )
    return compile_args(
        ffmpeg.output(audio, "pipe:1", f="s16le", ac=1, ar=sample_rate, acodec="pcm_s16le"),
        before=("-loglevel", "error"),
    )
