"""ffmpeg builders of the final encode: loudness pass 2 (linear), resampling, limiter, codec; and the codec probe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from studio.engine.render._ffmpeg_graph import Output, Stream, compile_args, null_output, open_audio, open_input, source
from studio.engine.render._ffmpeg_run import R128

INTERSAMPLE_MARGIN_DB = 0.5  # how far a true peak may sit above the sample peak measured at 48 kHz


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


def loudnorm_options(target: Encode, measured: R128) -> dict[str, str]:
    """Options of a second loudnorm pass in linear mode (a static gain), from a first-pass measurement."""
    peak = measured.peak if measured.peak is not None else 0.0
    gain = target.lufs - measured.integrated
    # loudnorm silently turns dynamic (pumping, 192 kHz, ~20x slower) unless measured TP + gain <= TP and
    # measured LRA <= LRA (and LRA != 0); the limiter after it holds the real ceiling, so relax both here.
    tp = min(0.0, max(target.true_peak, peak + gain + 0.05))
    lra = min(50.0, max(target.lra, measured.lra + 0.1))
    return {
        "I": f"{target.lufs:.2f}",
        "TP": f"{tp:.2f}",
        "LRA": f"{lra:.1f}",
        "measured_I": f"{measured.integrated:.2f}",
        "measured_TP": f"{peak:.2f}",
        "measured_LRA": f"{max(measured.lra, 0.01):.2f}",
        "measured_thresh": f"{measured.threshold:.2f}",
        "offset": "0",
        "linear": "true",
        "print_format": "json",
    }


def needs_limiter(target: Encode, measured: R128 | None) -> bool:
    """Whether the linear gain could push true peaks past the target (then a limiter follows loudnorm)."""
    if measured is None or measured.peak is None:
        return True
    return measured.peak + INTERSAMPLE_MARGIN_DB + target.lufs - measured.integrated > target.true_peak


def _played_in_a_row(mix_wavs: Sequence[Path | tuple[Path, float]]) -> Stream:
    """The mixes one after another, each after its own gain (dB) if it comes with one."""
    items = [(item, 0.0) if isinstance(item, Path) else item for item in mix_wavs]
    if len(items) == 1 and not items[0][1]:
        return open_audio(items[0][0])
    gained = [open_audio(path).filter("volume", volume=f"{gain:.2f}dB") for path, gain in items]
    return ffmpeg.filter(gained, "concat", n=len(gained), v=0, a=1) if len(gained) > 1 else gained[0]


def encode_args(
    mix_wavs: Sequence[Path | tuple[Path, float]],
    target: Encode,
    measured: R128 | None,
    out_path: Path,
    *,
    section_gain_db: float | None = None,
) -> list[str]:
    """Loudness pass 2 (linear), resample, a peak limiter only if needed, encode, cut to the exact duration.

    Several mixes are played one after another, each after its own gain (dB) if it comes with one. A section of a longer programme (`section_gain_db`
    given) is encoded whole (no cut) with the LAME tag and no ID3, ready to be spliced by
    studio.engine.render._mp3; its gain is the programme's, the one loudnorm's linear mode would apply
    (target minus measured integrated loudness), given to `volume`, because loudnorm would also
    meter every section again for statistics nobody reads.
    A limiter takes a little loudness that loudnorm (which measures before it) cannot see, so when
    one runs the encoder's input is measured too (`ebur128@final`).
    """
    section = section_gain_db is not None
    stream = _played_in_a_row(mix_wavs)
    if section_gain_db is not None:
        stream = stream.filter("volume", volume=f"{section_gain_db:.2f}dB")  # the programme was checked to need no limiter first
    elif measured is not None:
        stream = stream.filter("loudnorm", **loudnorm_options(target, measured))
    layout = "mono" if target.channels == 1 else "stereo"
    stream = stream.filter("aresample", target.sample_rate).filter("aformat", sample_fmts="flt", channel_layouts=layout)
    limited = not section and needs_limiter(target, measured)
    if limited:
        ceiling = min(1.0, max(0.0625, 10 ** ((target.true_peak - INTERSAMPLE_MARGIN_DB) / 20)))
        stream = stream.filter("alimiter", limit=f"{ceiling:.5f}", attack=1, release=50, level="false", latency="true")
    options: dict[str, object] = {**codec_options(target), "ar": target.sample_rate, "ac": target.channels, "map_metadata": -1}
    if section:
        options |= {"id3v2_version": 0, "write_xing": 1}
    else:
        options["t"] = f"{target.duration_s:.6f}"
    outputs: list[Output] = []
    if limited and measured is not None:
        split = stream.filter_multi_output("asplit")
        stream = split.stream(0)
        outputs.append(null_output(split.stream(1).filter("ebur128@final", framelog="quiet")))
    return compile_args(ffmpeg.output(stream, str(out_path), f=target.container, **options), *outputs)


def codec_args(target: Encode) -> list[str]:
    """Encoder options of a profile, as command-line arguments (also the identity of an encoder setting)."""
    args = ["-c:a", target.codec]
    if target.bitrate:
        args += ["-b:a", target.bitrate]
    if target.codec == "libmp3lame":
        args += ["-compression_level", "7"]  # LAME's speed/quality knob: ~35% faster than its default, fine for speech
    if target.codec == "aac":
        args += ["-aac_coder", "fast"]  # about twice as fast as twoloop and as good at 128k and above
    return args


def codec_options(target: Encode) -> dict[str, str]:
    """codec_args as output options."""
    args = codec_args(target)
    return {name.lstrip("-"): value for name, value in zip(args[0::2], args[1::2], strict=True)}


def codec_probe_args(target: Encode, reference: Path, coded: Path) -> list[str]:
    """A 3 s 1 kHz tone, as float WAV and through the profile's encoder, to learn the level the codec takes away."""
    layout = "mono" if target.channels == 1 else "stereo"
    graph = ",".join(
        (
            source("sine", frequency=1000, sample_rate=target.sample_rate, duration=3),
            source("volume", volume="-12dB"),
            source("aformat", channel_layouts=layout),
        )
    )
    tone = open_input(graph, f="lavfi")["a"]
    return compile_args(
        ffmpeg.output(tone, str(reference), f="wav", **{"c:a": "pcm_f32le"}),
        ffmpeg.output(tone, str(coded), f=target.container, ar=target.sample_rate, ac=target.channels, **codec_options(target)),
    )
