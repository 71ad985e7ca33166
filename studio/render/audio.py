"""Audio rendering: narration lines + jingles + ducked music bed -> one loudness-normalised, tagged file.

Three ffmpeg passes: (1) lay the lines out into one exact narration WAV and measure it (and the
jingles and bed, once per process); phrases of one format are joined in Python and resampled once; (2) mix and process at 48 kHz into a float WAV while measuring
it (EBU R128); (3) loudnorm in linear mode with that measurement, resample, encode. Tags go into
the temp file before it is renamed onto out_path.

loudnorm's own first pass is not used for measuring: it runs its dynamic path at 192 kHz, about
18x real time (10 s for 3 minutes); ebur128 is the same BS.1770 meter at ~400x.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from studio.render import _ffmpeg as ff
from studio.render import narration
from studio.render._ffmpeg import MIX_RATE, R128, Cancelled, FFmpegError
from studio.render.profiles import AudioProfile
from studio.render.tags import write_tags

__all__ = [
    "AudioResult", "Cancelled", "FFmpegError", "Loudness", "NarrationLine", "Timed",
    "default_asset", "measure_loudness", "place_lines", "probe_duration", "render_audio",
]

DEFAULTS_DIR = Path(__file__).resolve().parents[2] / "assets" / "defaults"
JINGLE_BELOW_SPEECH_LU = 2.0
BED_BELOW_SPEECH_LU = 15.0
DUCK_KEY_LUFS = -20.0
MIX_ABOVE_TARGET_LU = 1.5  # the mix's limiter takes up to ~1 LU from speech at -16 LUFS; the final gain stays a cut
GAIN_LIMIT_DB = 40.0
# Pass weights in the overall progress, roughly their share of wall time.
PASS_SPANS = ((0.0, 0.15), (0.15, 0.45), (0.45, 0.97))


@dataclass(frozen=True)
class NarrationLine:
    """One synthesised sentence and what follows it."""

    wav: Path
    duration_s: float
    pause_after_ms: int = 400
    bed: bool = False  # music bed under this line (presenter lines)
    chapter: str | None = None  # starts a chapter with this title


@dataclass(frozen=True)
class Timed:
    """Where a narration line's speech sits in the final output."""

    index: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Loudness:
    """EBU R128 measurement of a file."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra: float


@dataclass(frozen=True)
class AudioResult:
    """A rendered audio file, where each line sits in it, its chapters and its loudness."""

    path: Path
    duration_s: float
    timings: list[Timed]
    chapters: list[tuple[float, str]]
    loudness: Loudness


@dataclass(frozen=True)
class Placement:
    """Narration lines laid out in samples at the mix rate."""

    segments: list[ff.Segment]
    starts: list[int]
    total_samples: int


def place_lines(lines: Sequence[NarrationLine]) -> Placement:
    """Exact sample positions of the lines: cumulative durations and pauses, rounded once so nothing drifts."""
    starts, segments = [], []
    clock = 0.0
    for line in lines:
        begin = round(clock * MIX_RATE)
        clock += max(0.0, line.duration_s) + max(0, line.pause_after_ms) / 1000
        starts.append(begin)
        segments.append(ff.Segment(Path(line.wav), round(clock * MIX_RATE) - begin))
    return Placement(segments, starts, round(clock * MIX_RATE))


def bed_ranges(lines: Sequence[NarrationLine], placement: Placement) -> tuple[tuple[float, float], ...]:
    """Spans of the narration timeline (seconds) under which the bed plays; neighbouring bed lines merge."""
    ranges: list[tuple[float, float]] = []
    for line, start, segment in zip(lines, placement.starts, placement.segments, strict=True):
        if not line.bed:
            continue
        begin, end = start / MIX_RATE, (start + segment.length) / MIX_RATE
        if ranges and begin - ranges[-1][1] < 2.0:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((begin, end))
    return tuple(ranges)


def default_asset(name: str) -> Path:
    """Path of a bundled default in assets/defaults (a .wav name also finds the .flac of that name)."""
    path = DEFAULTS_DIR / name
    if path.exists():
        return path
    for suffix in (".flac", ".wav", ".ogg", ".mp3"):
        alternative = path.with_suffix(suffix)
        if alternative.exists():
            return alternative
    raise FileNotFoundError(f"no bundled asset {name!r} in {DEFAULTS_DIR}")


def probe_duration(path: Path) -> float:
    """Duration of a media file in seconds (container header, else a full decode)."""
    try:
        import mutagen

        info = mutagen.File(path)
        if info is not None and info.info.length > 0:
            return float(info.info.length)
    except Exception:  # noqa: BLE001 - an unreadable header falls back to decoding
        pass
    length = ff.parse_out_time(ff.run(ff.decode_length_args(Path(path))))
    if length is None:
        raise FFmpegError(f"cannot tell the duration of {path}")
    return length


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness, true peak and LRA of a file (ffmpeg ebur128, peak=true)."""
    summary = ff.parse_ebur128(ff.run(ff.measure_args(Path(path))))["ebur128@file"]
    return Loudness(summary.integrated, summary.peak if summary.peak is not None else float("-inf"), summary.lra)


class _Progress:
    """Monotone 0..1 progress over passes that each report 0..1."""

    def __init__(self, sink: Callable[[float], None] | None):
        self.sink = sink
        self.value = 0.0

    def set(self, value: float) -> None:
        value = max(self.value, min(1.0, value))
        if value > self.value or value == 1.0:
            self.value = value
            if self.sink is not None:
                self.sink(value)

    def span(self, index: int) -> Callable[[float], None]:
        low, high = PASS_SPANS[index]
        return lambda fraction: self.set(low + (high - low) * fraction)


def _gain_to(target: float, measured: R128 | None) -> float:
    if measured is None or not math.isfinite(measured.integrated) or measured.integrated < -70:
        return 0.0
    return max(-GAIN_LIMIT_DB, min(GAIN_LIMIT_DB, target - measured.integrated))


def _reference(profile: AudioProfile) -> float:
    """Narration level in the mix (LUFS)."""
    # A little above target: the final linear gain is then a cut, so the safety limiter after it stays idle.
    return profile.lufs + MIX_ABOVE_TARGET_LU


def plan_mix(lines: Sequence[NarrationLine], placement: Placement, profile: AudioProfile, levels: dict[str, R128], assets: dict[str, Path]) -> ff.Mix:
    """Gains that put narration at the target, jingles just under it and the bed well under it."""
    reference = _reference(profile)
    return ff.Mix(
        narration_gain=_gain_to(reference, levels.get("ebur128@narration")),
        narration_samples=placement.total_samples,
        intro=assets.get("intro"),
        intro_gain=_gain_to(reference - JINGLE_BELOW_SPEECH_LU, levels.get("ebur128@intro")),
        outro=assets.get("outro"),
        outro_gain=_gain_to(reference - JINGLE_BELOW_SPEECH_LU, levels.get("ebur128@outro")),
        bed=assets.get("bed"),
        bed_gain=_gain_to(reference - BED_BELOW_SPEECH_LU, levels.get("ebur128@bed")),
        bed_samples=_samples(assets.get("bed")),
        bed_ranges=bed_ranges(lines, placement),
        duck_key_gain=max(1 / 64, min(64.0, 10 ** ((DUCK_KEY_LUFS - reference) / 20))),
    )


def linear_target(profile: AudioProfile, measured: R128 | None) -> float:
    """Integrated target for loudnorm: the profile's, lowered only if a static gain would push peaks past 0 dBTP."""
    if measured is None or measured.peak is None:
        return profile.lufs
    # Above 0 dBTP loudnorm cannot stay linear; below it the limiter after loudnorm holds the profile's ceiling.
    headroom = -0.1 - (measured.peak + profile.lufs - measured.integrated)
    return profile.lufs + min(0.0, headroom)


def _samples(path: Path | None) -> int:
    return 0 if path is None else round(probe_duration(path) * MIX_RATE)


_ASSET_LEVELS: dict[tuple[str, int, int], R128] = {}


def _asset_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def lay_out_narration(
    placement: Placement,
    assets: dict[str, Path],
    bandlimit: tuple[int, int] | None,
    narration_wav: Path,
    *,
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> dict[str, R128]:
    """Write the exact narration WAV; return loudness of it and of each asset (assets measured once per process)."""
    unknown = {name: path for name, path in assets.items() if _asset_key(path) not in _ASSET_LEVELS}
    rate = narration.common_rate([segment.wav for segment in placement.segments])
    if rate is None:  # phrases of several formats (engines): ffmpeg joins them
        args = ff.narration_args(placement.segments, unknown, narration_wav, bandlimit)
    else:
        joined = narration_wav.with_name(f"joined-{rate}.wav")
        narration.write_layout(placement.segments, placement.starts, rate, joined)
        args = ff.joined_narration_args(joined, placement.total_samples, unknown, narration_wav, bandlimit)
    log = _step(args, cancel, on_progress, placement.total_samples / MIX_RATE)
    levels = ff.parse_ebur128(log)
    spoken = levels["ebur128@narration"]
    levels["ebur128@narration"] = R128(spoken.integrated + ff.DUAL_MONO_DB, spoken.threshold + ff.DUAL_MONO_DB, spoken.lra, spoken.peak)
    for name, path in unknown.items():
        _ASSET_LEVELS[_asset_key(path)] = levels[f"ebur128@{name}"]
    return {**levels, **{f"ebur128@{name}": _ASSET_LEVELS[_asset_key(path)] for name, path in assets.items()}}


def render_audio(
    lines: Sequence[NarrationLine],
    profile: AudioProfile,
    out_path: Path,
    *,
    intro: Path | None,
    outro: Path | None,
    bed: Path | None,
    work_dir: Path,
    title: str = "",
    artist: str = "",
    album: str = "",
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> AudioResult:
    """Mix, normalise, encode and tag narration lines into out_path (atomically)."""
    if not lines:
        raise ValueError("render_audio needs at least one narration line")
    out_path = Path(out_path)
    progress = _Progress(on_progress)
    placement = place_lines(lines)
    assets = {name: Path(p) for name, p in (("intro", intro), ("outro", outro), ("bed", bed)) if p is not None}
    intro_samples, outro_samples = _samples(intro), _samples(outro)
    total_samples = intro_samples + placement.total_samples + outro_samples
    duration_s = total_samples / MIX_RATE
    work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".audio-", dir=work_dir))
    temp_out = out_path.parent / f".{out_path.name}.{uuid.uuid4().hex[:8]}.part"
    try:
        narration_wav = scratch / "narration.wav"
        levels = lay_out_narration(placement, assets, profile.bandlimit, narration_wav, cancel=cancel, on_progress=progress.span(0))
        mix = plan_mix(lines, placement, profile, levels, assets)
        # Limiting the mix's sample peaks a true-peak margin under the ceiling lets the final pass stay a plain cut.
        ceiling = profile.encoder_true_peak - ff.INTERSAMPLE_MARGIN_DB
        processing = ff.Processing(profile.bandlimit, profile.compress, profile.channels, ceiling, _reference(profile))
        mix_wav = scratch / "mix.wav"
        measured = ff.parse_ebur128(_step(ff.mix_args(narration_wav, mix, processing, mix_wav), cancel, progress.span(1), duration_s))
        program = measured["ebur128@mix"]
        usable = program if math.isfinite(program.integrated) and program.integrated > -70 else None
        target = ff.Encode(
            linear_target(profile, usable), profile.encoder_true_peak, profile.lra, profile.sample_rate,
            profile.channels, profile.codec, profile.bitrate, profile.container, duration_s,
        )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        loudness = encode(mix_wav, target, usable, temp_out, cancel=cancel, on_progress=progress.span(2))
        timings = [
            Timed(i, (intro_samples + start) / MIX_RATE, (intro_samples + start) / MIX_RATE + max(0.0, line.duration_s))
            for i, (line, start) in enumerate(zip(lines, placement.starts, strict=True))
        ]
        chapters = [(t.start_s, line.chapter) for t, line in zip(timings, lines, strict=True) if line.chapter]
        _check_cancel(cancel)
        write_tags(temp_out, kind=profile.extension, title=title, artist=artist, album=album, chapters=chapters, duration_s=duration_s)
        os.replace(temp_out, out_path)
    except BaseException:
        temp_out.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    progress.set(1.0)
    return AudioResult(out_path, duration_s, timings, chapters, loudness)


def _step(args: list[str], cancel: Callable[[], bool] | None, on_progress: Callable[[float], None], total_s: float) -> str:
    _check_cancel(cancel)
    log = ff.run(args, cancel=cancel, on_progress=on_progress, total_s=total_s)
    on_progress(1.0)
    return log


def _check_cancel(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("audio render cancelled")


_CODEC_LOSS: dict[tuple[str, str | None, int, int], float] = {}
LOUDNESS_TOLERANCE_LU = 0.2


def codec_loss_db(target: ff.Encode, scratch: Path) -> float:
    """Level the lossy encoder itself takes away (LAME at 160 kbit/s and below: about 0.44 dB), once per process."""
    if target.codec.startswith("pcm_"):
        return 0.0
    key = (target.codec, target.bitrate, target.sample_rate, target.channels)
    if key not in _CODEC_LOSS:
        tone = scratch / f"probe.{target.container}"
        reference = scratch / "probe.wav"
        ff.run(ff.codec_probe_args(target, reference, tone))
        levels = ff.parse_ebur128(ff.run(ff.level_pair_args(reference, tone)))
        _CODEC_LOSS[key] = round(levels["ebur128@reference"].integrated - levels["ebur128@coded"].integrated, 2)
        tone.unlink(missing_ok=True)
        reference.unlink(missing_ok=True)
    return _CODEC_LOSS[key]


def encode(
    mix_wav: Path,
    target: ff.Encode,
    measured: R128 | None,
    out_file: Path,
    *,
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Loudness:
    """Loudnorm (linear) + encode so the decoded file meets the target; return its loudness.

    Two things loudnorm cannot see are made up for: the level a lossy codec takes away (measured
    once per encoder setting) and the level the safety limiter takes (measured after it; when it
    misses by more than LOUDNESS_TOLERANCE_LU the pass runs once more with the difference added).
    """
    if measured is None:
        _step(ff.encode_args(mix_wav, target, measured, out_file), cancel, on_progress, target.duration_s)
        return Loudness(float("-inf"), float("-inf"), 0.0)
    loss = codec_loss_db(target, mix_wav.parent)
    wanted = target.lufs + loss
    aim = wanted
    for attempt in range(2):
        log = _step(ff.encode_args(mix_wav, replace(target, lufs=aim), measured, out_file), cancel, on_progress, target.duration_s)
        stats = ff.parse_loudnorm_json(log)
        final = ff.parse_ebur128(log).get("ebur128@final")
        reached = final.integrated if final is not None else float(stats["output_i"])
        if attempt or abs(reached - wanted) <= LOUDNESS_TOLERANCE_LU:
            break
        aim += wanted - reached
    # If a limiter ran after loudnorm it holds peaks at the ceiling.
    return Loudness(reached - loss, min(float(stats["output_tp"]), target.true_peak), float(stats["output_lra"]))
