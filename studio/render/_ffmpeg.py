"""The only place that builds ffmpeg command lines and filter graphs (the runner and log parsers are in _ffmpeg_run).

Builders are pure: they return the argument list that follows the ffmpeg executable (without the
`-hide_banner -nostdin -y` prefix that `run` adds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.render._ffmpeg_run import (  # noqa: F401 - the runner and parsers are used through this module
    R128,
    Cancelled,
    FFmpegError,
    ffmpeg_exe,
    parse_ebur128,
    parse_loudnorm_json,
    parse_out_time,
    run,
)

MIX_RATE = 48000


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
    speech_lufs: float = -20.0  # level the narration was normalised to; the compressor threshold follows it
    limit: bool = True  # False only when the mix's peaks provably stay under the ceiling


def _to_mix_format(label: str) -> str:
    return f"{label}aresample={MIX_RATE},aformat=sample_fmts=flt:channel_layouts=stereo"


def _narration_graph(segments: Sequence[Segment], labels: Sequence[str], out: str) -> list[str]:
    """Concatenate the mono lines at MIX_RATE, each cut/padded to its exact slot."""
    parts = []
    for index, (segment, label) in enumerate(zip(segments, labels, strict=True)):
        parts.append(
            f"{label}aresample={MIX_RATE},aformat=sample_fmts=flt:channel_layouts=mono,"
            f"atrim=end_sample={segment.length},apad=whole_len={segment.length}[{out[1:-1]}_{index}]"
        )
    joined = "".join(f"[{out[1:-1]}_{i}]" for i in range(len(segments)))
    parts.append(f"{joined}concat=n={len(segments)}:v=0:a=1{out}")
    return parts


DUAL_MONO_DB = 10 * math.log10(2)  # BS.1770 loudness of mono x played as L=R=x, relative to x alone


def _inputs(paths: Sequence[Path]) -> list[str]:
    args: list[str] = []
    for path in paths:
        # Our own WAVs are named as such: ffmpeg's prober can take a float WAV of a steady tone for MPEG-TS.
        args += [*(["-f", "wav"] if Path(path).suffix.lower() == ".wav" else []), "-i", str(path)]
    return args


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

    def graph(self, first_input: int, out: str) -> list[str]:
        """Filter-graph parts that lay the narration out, mono at MIX_RATE, exactly `samples` long, into `out`."""
        delay = f",adelay=delays={self.lead}S:all=1" if self.lead else ""
        if self.joined is None:
            shifted = [f"[{first_input + i}:a]" for i in range(len(self.segments))]
            laid = f"[{out[1:-1]}_laid]"
            return [*_narration_graph(self.segments, shifted, laid), f"{laid}anull{delay}{out}"]
        return [
            f"[{first_input}:a]aresample={MIX_RATE},aformat=sample_fmts=flt:channel_layouts=mono{delay},"
            f"apad=whole_len={self.samples},atrim=end_sample={self.samples}{out}"
        ]


def narration_args(source: NarrationSource, out_wav: Path) -> list[str]:
    """Write a section's narration alone as a float WAV (to check the layout)."""
    parts = source.graph(0, "[narr]")
    return [*_inputs(source.paths), "-filter_complex", ";".join(parts), "-map", "[narr]", "-c:a", "pcm_f32le", "-f", "wav", str(out_wav)]


def measure_args(sources: Sequence[NarrationSource], extras: dict[str, Path], bandlimit: tuple[int, int] | None = None) -> list[str]:
    """Measure each section's narration (`ebur128@s<k>`; mono, add DUAL_MONO_DB) and each extra as mixed (`ebur128@<name>`), with sample peaks."""
    # Band-limiting is linear, so measuring after it lets the narration gain make up what it removes.
    band = "".join(f"{step}," for step in bandlimit_steps(bandlimit))
    parts: list[str] = []
    outputs: list[str] = []
    inputs: list[str] = []
    index = 0
    for number, source in enumerate(sources):
        if source.joined is not None and not band:
            # Measured at its own rate: resampling it first would only add work.
            parts.append(f"[{index}:a]ebur128@s{number}=framelog=quiet:peak=sample[ms{number}]")
        else:
            parts += source.graph(index, f"[n{number}]")
            parts.append(f"[n{number}]{band}ebur128@s{number}=framelog=quiet:peak=sample[ms{number}]")
        inputs += _inputs(source.paths)
        index += len(source.paths)
        outputs += ["-map", f"[ms{number}]", "-f", "null", "-"]
    for name, path in extras.items():
        parts.append(f"{_to_mix_format(f'[{index}:a]')},ebur128@{name}=framelog=quiet:peak=sample[m{name}]")
        inputs += _inputs([path])
        index += 1
        outputs += ["-map", f"[m{name}]", "-f", "null", "-"]
    return ["-nostats", *inputs, "-filter_complex", ";".join(parts), *outputs]


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


BED_FADE_S = 0.8


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


def _bed_pieces(mix: Mix, first_input: int) -> tuple[list[str], list[str], list[str]]:
    """Inputs, graph parts and output labels of the bed, built only where it plays (sidechain work is the cost)."""
    inputs: list[str] = []
    parts: list[str] = []
    labels: list[str] = []
    for offset, (a, b) in enumerate(mix.bed_ranges):
        start = max(0, round((a - BED_FADE_S) * MIX_RATE))
        stop = min(mix.narration_samples, round((b + BED_FADE_S) * MIX_RATE))
        if stop <= start:
            continue
        length = stop - start
        inputs += ["-i", str(mix.bed)]
        loop = f",aloop=loop=-1:size={mix.bed_samples}" if 0 < mix.bed_samples < length else ""
        envelope = bed_envelope([(a, b)], BED_FADE_S, origin=start / MIX_RATE)
        parts.append(
            f"{_to_mix_format(f'[{first_input + offset}:a]')}{loop},atrim=end_sample={length},"
            f"volume={mix.bed_gain:.3f}dB,volume='{envelope}':eval=frame[bed{offset}]"
        )
        parts.append(f"[key{offset}]atrim=start_sample={start}:end_sample={stop},asetpts=PTS-STARTPTS[k{offset}]")
        # Threshold and ratio duck the bed about 10-12 dB under speech at -20 LUFS; RMS detection follows syllables.
        parts.append(
            f"[bed{offset}][k{offset}]sidechaincompress=threshold=0.02:ratio=5:attack=15:release=350"
            f":level_sc={mix.duck_key_gain:.4f},adelay=delays={start}S:all=1[ducked{offset}]"
        )
        labels.append(f"[ducked{offset}]")
    return inputs, parts, labels


def mix_args(source: NarrationSource, mix: Mix, processing: Processing, out_wav: Path) -> list[str]:
    """A section: narration + ducked bed, between the jingles, processed; written as float WAV and measured.

    The measurement logs every 100 ms block (`ebur128@mix`, framelog=info), so the loudness of a
    programme of sections can be pooled from them (studio.render.loudness).
    """
    parts = [*source.graph(0, "[mono]"), "[mono]pan=stereo|c0=c0|c1=c0[narr]"]
    inputs = _inputs(source.paths)
    next_input = len(source.paths)
    bed_inputs, bed_parts, bed_labels = _bed_pieces(mix, next_input) if mix.bed is not None else ([], [], [])
    keys = "".join(f"[key{i}]" for i in range(len(mix.bed_ranges))) if bed_labels else ""
    if bed_labels:
        parts.append(f"[narr]volume={mix.narration_gain:.3f}dB,asplit={1 + len(mix.bed_ranges)}[nmain]{keys}")
        parts += bed_parts
        parts.append(f"[nmain]{''.join(bed_labels)}amix=inputs={1 + len(bed_labels)}:normalize=0:duration=first[body]")
        # asplit outputs whose range was empty still need a sink.
        used = {label[len('[ducked'):-1] for label in bed_labels}
        parts += [f"[key{i}]anullsink" for i in range(len(mix.bed_ranges)) if str(i) not in used]
        inputs += bed_inputs
        next_input += len(bed_inputs) // 2
    else:
        parts.append(f"[narr]volume={mix.narration_gain:.3f}dB[body]")
    order = ["body"]
    for name, path, gain, length in (
        ("intro", mix.intro, mix.intro_gain, mix.intro_samples), ("outro", mix.outro, mix.outro_gain, mix.outro_samples)
    ):
        if path is None:
            continue
        inputs += _inputs([path])
        exact = f",atrim=end_sample={length},apad=whole_len={length}" if length else ""
        parts.append(f"{_to_mix_format(f'[{next_input}:a]')}{exact},volume={gain:.3f}dB[{name}]")
        next_input += 1
        order = ["intro", *order] if name == "intro" else [*order, "outro"]
    parts.append("".join(f"[{p}]" for p in order) + f"concat=n={len(order)}:v=0:a=1,{''.join(f'{step},' for step in processing_steps(processing))}asplit=2[out][meas]")
    # Sample peak is enough here: it only keeps loudnorm linear; the limiter in the encode pass holds the true peak.
    parts.append("[meas]ebur128@mix=framelog=info:peak=sample[mmix]")
    return [
        "-nostats",
        *inputs,
        "-filter_complex", ";".join(parts),
        "-map", "[out]", "-c:a", "pcm_f32le", "-f", "wav", str(out_wav),
        "-map", "[mmix]", "-f", "null", "-",
    ]


def bandlimit_steps(bandlimit: tuple[int, int] | None) -> list[str]:
    """High- and low-pass filters of a band-limited profile (24 dB/oct: horns reproduce nothing outside the band)."""
    if bandlimit is None:
        return []
    low, high = bandlimit
    return [f"highpass=f={low}:poles=2", f"highpass=f={low}:poles=2", f"lowpass=f={high}:poles=2", f"lowpass=f={high}:poles=2"]


COMPRESSOR_MAKEUP_DB = 10.5


def processing_steps(processing: Processing) -> list[str]:
    """Channel layout, band-limit, compression and a safety peak limiter, as filters in order."""
    steps = []
    if processing.channels == 1:
        # First, so the filters below do half the work. Dual-mono at -3 dB per side keeps the BS.1770 loudness.
        steps.append("pan=mono|c0=0.7071*c0+0.7071*c1")
    steps += bandlimit_steps(processing.bandlimit)
    if processing.compress:
        # Horn speakers outdoors: hold the loud syllables 3:1 from just under the speech level, so the
        # quiet ones carry. Set relative to the known speech level, it takes off a predictable ~9 LU
        # from TTS speech; the makeup gives that back plus what the peak limiter after it takes, so
        # the final loudness pass stays a cut.
        threshold = min(1.0, max(0.001, 10 ** ((processing.speech_lufs - 4) / 20)))
        steps.append(f"acompressor=threshold={threshold:.5f}:ratio=3:attack=5:release=120:knee=4:makeup={10 ** (COMPRESSOR_MAKEUP_DB / 20):.3f}")
    limit = min(1.0, max(0.0625, 10 ** (processing.ceiling_db / 20)))
    if processing.limit:
        steps.append(f"alimiter=limit={limit:.5f}:attack=2:release=60:level=false:latency=true")
    return steps


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
    """Second loudnorm pass in linear mode (a static gain), from a first-pass measurement."""
    peak = measured.peak if measured.peak is not None else 0.0
    gain = target.lufs - measured.integrated
    # loudnorm silently turns dynamic (pumping, 192 kHz, ~20x slower) unless measured TP + gain <= TP and
    # measured LRA <= LRA (and LRA != 0); the limiter after it holds the real ceiling, so relax both here.
    tp = min(0.0, max(target.true_peak, peak + gain + 0.05))
    lra = min(50.0, max(target.lra, measured.lra + 0.1))
    return (
        f"loudnorm=I={target.lufs:.2f}:TP={tp:.2f}:LRA={lra:.1f}"
        f":measured_I={measured.integrated:.2f}:measured_TP={peak:.2f}:measured_LRA={max(measured.lra, 0.01):.2f}"
        f":measured_thresh={measured.threshold:.2f}:offset=0:linear=true:print_format=json"
    )


INTERSAMPLE_MARGIN_DB = 0.5  # how far a true peak may sit above the sample peak measured at 48 kHz


def needs_limiter(target: Encode, measured: R128 | None) -> bool:
    """Whether the linear gain could push true peaks past the target (then a limiter follows loudnorm)."""
    if measured is None or measured.peak is None:
        return True
    return measured.peak + INTERSAMPLE_MARGIN_DB + target.lufs - measured.integrated > target.true_peak


def encode_args(
    mix_wavs: Sequence[Path | tuple[Path, float]], target: Encode, measured: R128 | None, out_path: Path, *, section_gain_db: float | None = None
) -> list[str]:
    """Loudness pass 2 (linear), resample, a peak limiter only if needed, encode, cut to the exact duration.

    Several mixes are played one after another, each after its own gain (dB) if it comes with one. A section of a longer programme (`section_gain_db`
    given) is encoded whole (no cut) with the LAME tag and no ID3, ready to be spliced by
    studio.render._mp3; its gain is the programme's, the one loudnorm's linear mode would apply
    (target minus measured integrated loudness), given to `volume`, because loudnorm would also
    meter every section again for statistics nobody reads.
    A limiter takes a little loudness that loudnorm (which measures before it) cannot see, so when
    one runs the encoder's input is measured too (`ebur128@final`).
    """
    section = section_gain_db is not None
    if section:
        steps = [f"volume={section_gain_db:.2f}dB"]  # the programme was checked to need no limiter first
    elif measured is None:
        steps = []
    else:
        steps = [loudnorm_linear(target, measured)]
    layout = "mono" if target.channels == 1 else "stereo"
    steps += [f"aresample={target.sample_rate}", f"aformat=sample_fmts=flt:channel_layouts={layout}"]
    limited = not section and needs_limiter(target, measured)
    if limited:
        ceiling = min(1.0, max(0.0625, 10 ** ((target.true_peak - INTERSAMPLE_MARGIN_DB) / 20)))
        steps.append(f"alimiter=limit={ceiling:.5f}:attack=1:release=50:level=false:latency=true")
    paths = [item if isinstance(item, Path) else item[0] for item in mix_wavs]
    gains = [0.0 if isinstance(item, Path) else item[1] for item in mix_wavs]
    if len(paths) == 1 and not gains[0]:
        head, pre = "[0:a]", []
    else:
        pre = [f"[{i}:a]volume={gain:.2f}dB[in{i}]" for i, gain in enumerate(gains)]
        joined = "".join(f"[in{i}]" for i in range(len(paths)))
        head = f"{joined}concat=n={len(paths)}:v=0:a=1," if len(paths) > 1 else joined
    head = "".join(f"{part};" for part in pre) + head
    if limited and measured is not None:
        graph = f"{head}{','.join(steps)},asplit=2[enc][meas];[meas]ebur128@final=framelog=quiet[mfinal]"
    else:
        graph = f"{head}{','.join(steps)}[enc]"
    args = [*_inputs(paths), "-filter_complex", graph, "-map", "[enc]"]
    if not section:
        args += ["-t", f"{target.duration_s:.6f}"]
    args += [*codec_args(target), "-ar", str(target.sample_rate), "-ac", str(target.channels), "-map_metadata", "-1"]
    if section:
        args += ["-id3v2_version", "0", "-write_xing", "1"]
    args += ["-f", target.container, str(out_path)]
    if limited and measured is not None:
        args += ["-map", "[mfinal]", "-f", "null", "-"]
    return args


def codec_args(target: Encode) -> list[str]:
    """Encoder options of a profile."""
    args = ["-c:a", target.codec]
    if target.bitrate:
        args += ["-b:a", target.bitrate]
    if target.codec == "libmp3lame":
        args += ["-compression_level", "7"]  # LAME's speed/quality knob: ~35% faster than its default, fine for speech
    if target.codec == "aac":
        args += ["-aac_coder", "fast"]  # about twice as fast as twoloop and as good at 128k and above
    return args


def codec_probe_args(target: Encode, reference: Path, coded: Path) -> list[str]:
    """A 3 s 1 kHz tone, as float WAV and through the profile's encoder, to learn the level the codec takes away."""
    layout = "mono" if target.channels == 1 else "stereo"
    source = f"sine=frequency=1000:sample_rate={target.sample_rate}:duration=3,volume=-12dB,aformat=channel_layouts={layout}"
    return [
        "-f", "lavfi", "-i", source,
        "-map", "0:a", "-c:a", "pcm_f32le", "-f", "wav", str(reference),
        "-map", "0:a", *codec_args(target), "-ar", str(target.sample_rate), "-ac", str(target.channels), "-f", target.container, str(coded),
    ]


def level_pair_args(reference: Path, coded: Path) -> list[str]:
    """Measure two files in one run (`ebur128@reference`, `ebur128@coded`)."""
    return [
        "-nostats", *_inputs([reference, coded]), "-filter_complex",
        "[0:a:0]ebur128@reference=framelog=quiet[a];[1:a:0]ebur128@coded=framelog=quiet[b]",
        "-map", "[a]", "-f", "null", "-", "-map", "[b]", "-f", "null", "-",
    ]


def measure_file_args(path: Path, *, true_peak: bool = True) -> list[str]:
    """Decode a file and measure its loudness (EBU R128; true peak optional, it costs 4x oversampling)."""
    peak = ":peak=true" if true_peak else ""
    return ["-i", str(path), "-filter_complex", f"[0:a:0]ebur128@file=framelog=quiet{peak}[m]", "-map", "[m]", "-f", "null", "-"]


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
