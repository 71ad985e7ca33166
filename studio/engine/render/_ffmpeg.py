"""The ffmpeg layer: the only place that builds ffmpeg command lines and filter graphs.

Graphs are described with ffmpeg-python and compiled to argument lists (studio.engine.render._ffmpeg_graph),
so builders stay pure: they return the arguments that follow the executable, without the
`-hide_banner -nostdin -y` prefix that `run` adds. This module holds the section graphs (narration,
measurement, mix) and re-exports the rest of the layer: the runner and log parsers (_ffmpeg_run), the
encode builders (_ffmpeg_encode) and the one-file builders (_ffmpeg_files). Video: _ffmpeg_video.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from studio.engine.render._ffmpeg_encode import (
    INTERSAMPLE_MARGIN_DB,
    Encode,
    codec_args,
    codec_probe_args,
    encode_args,
    loudnorm_options,
    needs_limiter,
)
from studio.engine.render._ffmpeg_files import (
    decode_length_args,
    level_pair_args,
    measure_file_args,
    pcm_decode_args,
    sine_args,
    tone_args,
)
from studio.engine.render._ffmpeg_graph import Stream, compile_args, null_output, open_audio
from studio.engine.render._ffmpeg_run import (
    R128,
    Cancelled,
    FFmpegError,
    ffmpeg_exe,
    parse_ebur128,
    parse_loudnorm_json,
    parse_out_time,
    run,
    run_piped,
)

__all__ = [
    "BED_FADE_S",
    "COMPRESSOR_MAKEUP_DB",
    "DUAL_MONO_DB",
    "INTERSAMPLE_MARGIN_DB",
    "MIX_RATE",
    "R128",
    "Cancelled",
    "Encode",
    "FFmpegError",
    "Mix",
    "NarrationSource",
    "Processing",
    "Segment",
    "bed_envelope",
    "codec_args",
    "codec_probe_args",
    "decode_length_args",
    "encode_args",
    "ffmpeg_exe",
    "level_pair_args",
    "loudnorm_options",
    "measure_args",
    "measure_file_args",
    "mix_args",
    "narration_args",
    "needs_limiter",
    "parse_ebur128",
    "parse_loudnorm_json",
    "parse_out_time",
    "pcm_decode_args",
    "run",
    "run_piped",
    "sine_args",
    "tone_args",
]

MIX_RATE = 48000
DUAL_MONO_DB = 10 * math.log10(2)  # BS.1770 loudness of mono x played as L=R=x, relative to x alone
BED_FADE_S = 0.8
COMPRESSOR_MAKEUP_DB = 10.5


# --- narration --------------------------------------------------------------------------------


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
    speech_lufs: float = -20.0  # level the narration was normalised to; the compressor threshold follows it
    limit: bool = True  # False only when the mix's peaks provably stay under the ceiling


def _mix_format(stream: Stream, layout: str = "stereo") -> Stream:
    return stream.filter("aresample", MIX_RATE).filter("aformat", sample_fmts="flt", channel_layouts=layout)


def _fit(stream: Stream, samples: int) -> Stream:
    """Cut or pad to exactly `samples`."""
    return stream.filter("atrim", end_sample=samples).filter("apad", whole_len=samples)


@dataclass(frozen=True)
class NarrationSource:
    """A section's narration as ffmpeg inputs: one WAV joined at its own rate, or each phrase (mixed formats)."""

    segments: tuple[Segment, ...]
    joined: Path | None = None  # written by Python when every phrase shares one format
    lead: int = 0  # samples of silence before the first phrase

    @property
    def paths(self) -> list[Path]:
        """The files ffmpeg opens, in input order."""
        return [self.joined] if self.joined is not None else [s.wav for s in self.segments]

    @property
    def samples(self) -> int:
        """Length at MIX_RATE."""
        return self.lead + sum(s.length for s in self.segments)

    def stream(self) -> Stream:
        """The narration laid out, mono at MIX_RATE, exactly `samples` long (opens its inputs)."""
        if self.joined is None:
            phrases = [_fit(_mix_format(open_audio(s.wav), "mono"), s.length) for s in self.segments]
            laid = ffmpeg.filter(phrases, "concat", n=len(phrases), v=0, a=1)
            return self._delayed(laid)
        laid = self._delayed(_mix_format(open_audio(self.joined), "mono"))
        return laid.filter("apad", whole_len=self.samples).filter("atrim", end_sample=self.samples)

    def _delayed(self, stream: Stream) -> Stream:
        return stream.filter("adelay", delays=f"{self.lead}S", all=1) if self.lead else stream


def narration_args(source: NarrationSource, out_wav: Path) -> list[str]:
    """Write a section's narration alone as a float WAV (to check the layout)."""
    return compile_args(ffmpeg.output(source.stream(), str(out_wav), f="wav", **{"c:a": "pcm_f32le"}))


def _meter(stream: Stream, name: str, framelog: str = "quiet") -> Stream:
    """An ebur128 instance (`ebur128@<name>`) with sample peaks; its summary goes to the log."""
    return stream.filter(f"ebur128@{name}", framelog=framelog, peak="sample")


def measure_args(
    sources: Sequence[NarrationSource], extras: dict[str, Path], bandlimit: tuple[int, int] | None = None
) -> list[str]:
    """Measure each section's narration (`ebur128@s<k>`; mono, add DUAL_MONO_DB) and each extra as mixed (`ebur128@<name>`), with sample peaks."""
    outputs = []
    for number, source in enumerate(sources):
        if source.joined is not None and bandlimit is None:
            spoken = open_audio(source.joined)  # measured at its own rate: resampling it first would only add work
        else:
            # Band-limiting is linear, so measuring after it lets the narration gain make up what it removes.
            spoken = _bandlimited(source.stream(), bandlimit)
        outputs.append(null_output(_meter(spoken, f"s{number}")))
    for name, path in extras.items():
        outputs.append(null_output(_meter(_mix_format(open_audio(path)), name)))
    return compile_args(*outputs, before=("-nostats",))


# --- mix --------------------------------------------------------------------------------------


def bed_envelope(ranges: Sequence[tuple[float, float]], fade_s: float, origin: float = 0.0) -> str:
    """volume expression: 1 inside each (start, end) range, linear fades of fade_s outside it, else 0.

    `origin` is the timeline position of the stream's t=0 (bed pieces start late).
    """
    if not ranges:
        return "0"
    terms = [
        f"clip((t-{a - fade_s - origin:.4f})/{fade_s:.4f},0,1)*clip(({b + fade_s - origin:.4f}-t)/{fade_s:.4f},0,1)"
        for a, b in ranges
    ]
    return "min(1," + "+".join(terms) + ")"


@dataclass(frozen=True)
class Mix:
    """Gains (dB) and bed layout for the mix pass."""

    narration_gain: float
    narration_samples: int
    intro: Path | None = None
    intro_gain: float = 0.0
    intro_samples: int = 0  # the jingle is cut or padded to exactly this
    outro: Path | None = None
    outro_gain: float = 0.0
    outro_samples: int = 0
    bed: Path | None = None
    bed_gain: float = 0.0
    bed_samples: int = 0  # length of one pass of the bed at MIX_RATE (the loop size)
    bed_ranges: tuple[tuple[float, float], ...] = ()
    duck_key_gain: float = 1.0  # brings the sidechain key to about -20 LUFS whatever the target

    @property
    def total_samples(self) -> int:
        """Length of the mixed section at MIX_RATE."""
        return (self.intro_samples if self.intro else 0) + self.narration_samples + (self.outro_samples if self.outro else 0)

    def bed_pieces(self) -> list[tuple[int, int, tuple[float, float]]]:
        """(start, stop) samples of the bed around each range that falls in the narration, with the range."""
        pieces = []
        for a, b in self.bed_ranges:
            start = max(0, round((a - BED_FADE_S) * MIX_RATE))
            stop = min(self.narration_samples, round((b + BED_FADE_S) * MIX_RATE))
            if stop > start:
                pieces.append((start, stop, (a, b)))
        return pieces


def _ducked_bed(mix: Mix, path: Path, key: Stream, start: int, stop: int, around: tuple[float, float]) -> Stream:
    """One piece of the bed where it plays, ducked under the narration (sidechain work is the cost, so only there)."""
    length = stop - start
    bed = _mix_format(open_audio(path))
    if 0 < mix.bed_samples < length:
        bed = bed.filter("aloop", loop=-1, size=mix.bed_samples)
    envelope = bed_envelope([around], BED_FADE_S, origin=start / MIX_RATE)
    bed = (
        bed.filter("atrim", end_sample=length)
        .filter("volume", volume=f"{mix.bed_gain:.3f}dB")
        .filter("volume", volume=envelope, eval="frame")
    )
    key = key.filter("atrim", start_sample=start, end_sample=stop).filter("asetpts", expr="PTS-STARTPTS")
    # Threshold and ratio duck the bed about 10-12 dB under speech at -20 LUFS; RMS detection follows syllables.
    ducked = ffmpeg.filter(
        [bed, key], "sidechaincompress", threshold=0.02, ratio=5, attack=15, release=350, level_sc=f"{mix.duck_key_gain:.4f}"
    )
    return ducked.filter("adelay", delays=f"{start}S", all=1)


def _body(source: NarrationSource, mix: Mix) -> Stream:
    """The narration on both channels at its gain, with the bed ducked under it where it plays."""
    narration = source.stream().filter("pan", args="stereo|c0=c0|c1=c0").filter("volume", volume=f"{mix.narration_gain:.3f}dB")
    pieces = mix.bed_pieces()
    if mix.bed is None or not pieces:
        return narration
    split = narration.filter_multi_output("asplit")
    beds = [_ducked_bed(mix, mix.bed, split.stream(n + 1), *piece) for n, piece in enumerate(pieces)]
    return ffmpeg.filter([split.stream(0), *beds], "amix", inputs=1 + len(beds), normalize=0, duration="first")


def _jingle(path: Path, gain: float, length: int) -> Stream:
    jingle = _mix_format(open_audio(path))
    return (_fit(jingle, length) if length else jingle).filter("volume", volume=f"{gain:.3f}dB")


def mix_args(source: NarrationSource, mix: Mix, processing: Processing, out_wav: Path) -> list[str]:
    """A section: narration + ducked bed, between the jingles, processed; written as float WAV and measured.

    The measurement logs every 100 ms block (`ebur128@mix`, framelog=info), so the loudness of a
    programme of sections can be pooled from them (studio.engine.render.loudness).
    """
    parts = [_body(source, mix)]
    if mix.intro is not None:
        parts.insert(0, _jingle(mix.intro, mix.intro_gain, mix.intro_samples))
    if mix.outro is not None:
        parts.append(_jingle(mix.outro, mix.outro_gain, mix.outro_samples))
    joined = ffmpeg.filter(parts, "concat", n=len(parts), v=0, a=1)
    split = _processed(joined, processing).filter_multi_output("asplit")
    # Sample peak is enough here: it only keeps loudnorm linear; the limiter in the encode pass holds the true peak.
    return compile_args(
        ffmpeg.output(split.stream(0), str(out_wav), f="wav", **{"c:a": "pcm_f32le"}),
        null_output(_meter(split.stream(1), "mix", framelog="info")),
        before=("-nostats",),
    )


def _bandlimited(stream: Stream, bandlimit: tuple[int, int] | None) -> Stream:
    """High- and low-pass filters of a band-limited profile (24 dB/oct: horns reproduce nothing outside the band)."""
    if bandlimit is None:
        return stream
    low, high = bandlimit
    for kind, frequency in (("highpass", low), ("highpass", low), ("lowpass", high), ("lowpass", high)):
        stream = stream.filter(kind, f=frequency, poles=2)
    return stream


def _processed(stream: Stream, processing: Processing) -> Stream:
    """Channel layout, band-limit, compression and a safety peak limiter, in order."""
    if processing.channels == 1:
        # First, so the filters below do half the work. Dual-mono at -3 dB per side keeps the BS.1770 loudness.
        stream = stream.filter("pan", args="mono|c0=0.7071*c0+0.7071*c1")
    stream = _bandlimited(stream, processing.bandlimit)
    if processing.compress:
        # Horn speakers outdoors: hold the loud syllables 3:1 from just under the speech level, so the
        # quiet ones carry. Set relative to the known speech level, it takes off a predictable ~9 LU
        # from TTS speech; the makeup gives that back plus what the peak limiter after it takes, so
        # the final loudness pass stays a cut.
        threshold = min(1.0, max(0.001, 10 ** ((processing.speech_lufs - 4) / 20)))
        stream = stream.filter(
            "acompressor",
            threshold=f"{threshold:.5f}",
            ratio=3,
            attack=5,
            release=120,
            knee=4,
            makeup=f"{10 ** (COMPRESSOR_MAKEUP_DB / 20):.3f}",
        )
    if processing.limit:
        limit = min(1.0, max(0.0625, 10 ** (processing.ceiling_db / 20)))
        stream = stream.filter("alimiter", limit=f"{limit:.5f}", attack=2, release=60, level="false", latency="true")
    return stream
