"""Audio rendering: narration lines + jingles + ducked music bed -> one loudness-normalised, tagged file.

The programme is cut into sections (studio.render.sections) that are mixed, cached and encoded on
their own, side by side on every core:
1. one ffmpeg run measures the narration of each section that is not cached yet (and the jingles
   and the bed, once per process);
2. each new section is mixed at 48 kHz: its narration normalised, the bed ducked under it
   (sidechaincompress, amix normalize=0), the jingles at the programme's ends, processed, written
   as a float WAV and measured block by block;
3. the programme's loudness is pooled from the sections' blocks (studio.render.loudness);
4. loudnorm in linear mode applies one static gain from that measurement, and the encoder runs.
   MP3 profiles whose frames fit 48 kHz exactly encode each section on its own and splice whole
   frames (studio.render._mp3); other profiles play the sections in a row into one encode.
Tags go into the temp file before it is renamed onto out_path.

loudnorm's own first pass is not used for measuring: it runs its dynamic path at 192 kHz, about
18x real time (10 s for 3 minutes); ebur128 is the same BS.1770 meter at ~400x.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from studio.render import _ffmpeg as ff
from studio.render import _mp3, narration, sections
from studio.render import loudness as programme_loudness
from studio.render._ffmpeg import MIX_RATE, R128, Cancelled, FFmpegError
from studio.render.profiles import AudioProfile
from studio.render.tags import write_tags
from assets.storage import sha256_file

__all__ = [
    "AudioResult", "Cancelled", "FFmpegError", "Loudness", "NarrationLine", "SectionStore", "Timed",
    "default_asset", "measure_loudness", "probe_duration", "render_audio",
]

DEFAULTS_DIR = Path(__file__).resolve().parents[2] / "assets" / "defaults"
JINGLE_BELOW_SPEECH_LU = 2.0
BED_BELOW_SPEECH_LU = 15.0
DUCK_KEY_LUFS = -20.0
MIX_ABOVE_TARGET_LU = 1.5  # the mix's limiter takes up to ~1 LU from speech at -16 LUFS; the final gain stays a cut
GAIN_LIMIT_DB = 40.0
# An edit moves a programme's loudness by a few hundredths of an LU; sections encoded at a gain this
# close to the new one are kept, and the whole programme then takes that one gain.
REUSE_GAIN_DB = 0.1
STALE_TEMP_S = 3600.0  # a temp file this old belongs to no running render
MIX_VERSION = "1"  # bump when the mix graph changes: cached sections are then mixed again
# Stage weights in the overall progress, roughly their share of wall time.
STAGES = {"mix": (0.0, 0.45), "encode": (0.45, 0.97)}


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
    sections_mixed: int = 0  # sections this render mixed (the rest came from the cache)
    sections_encoded: int = 0  # sections this render encoded (spliced MP3 profiles)


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
    summary = ff.parse_ebur128(ff.run(ff.measure_file_args(Path(path))))["ebur128@file"]
    return Loudness(summary.integrated, summary.peak if summary.peak is not None else float("-inf"), summary.lra)


class _Progress:
    """Monotone 0..1 progress over stages whose parts run side by side; thread-safe."""

    def __init__(self, sink: Callable[[float], None] | None):
        self.sink = sink
        self.value = 0.0
        self.lock = threading.Lock()

    def set(self, value: float) -> None:
        with self.lock:
            value = max(self.value, min(1.0, value))
            if value > self.value or value == 1.0:
                self.value = value
                if self.sink is not None:
                    self.sink(value)

    def stage(self, name: str, weights: Sequence[float]) -> list[Callable[[float], None]]:
        """One progress callback per part of a stage; each part counts by its weight."""
        low, high = STAGES[name]
        total = sum(weights) or 1.0
        done = [0.0] * len(weights)

        def part(index: int) -> Callable[[float], None]:
            def report(fraction: float) -> None:
                done[index] = max(done[index], fraction)
                self.set(low + (high - low) * sum(d * w for d, w in zip(done, weights, strict=True)) / total)

            return report

        return [part(i) for i in range(len(weights))]


def _gain_to(target: float, measured: R128 | None) -> float:
    if measured is None or not math.isfinite(measured.integrated) or measured.integrated < -70:
        return 0.0
    return max(-GAIN_LIMIT_DB, min(GAIN_LIMIT_DB, target - measured.integrated))


def _reference(profile: AudioProfile) -> float:
    """Narration level in the mix (LUFS)."""
    # A little above target: the final linear gain is then a cut, so the safety limiter after it stays idle.
    return profile.lufs + MIX_ABOVE_TARGET_LU


def plan_mix(section: sections.Section, profile: AudioProfile, narration_level: R128 | None, levels: dict[str, R128], assets: dict[str, Path]) -> ff.Mix:
    """Gains that put the section's narration at the target, jingles just under it and the bed well under it."""
    reference = _reference(profile)
    return ff.Mix(
        narration_gain=_gain_to(reference, narration_level),
        narration_samples=section.narration_samples,
        intro=assets.get("intro") if section.intro else None,
        intro_gain=_gain_to(reference - JINGLE_BELOW_SPEECH_LU, levels.get("intro")),
        intro_samples=_samples(assets.get("intro")) if section.intro else 0,
        outro=assets.get("outro") if section.outro else None,
        outro_gain=_gain_to(reference - JINGLE_BELOW_SPEECH_LU, levels.get("outro")),
        outro_samples=_samples(assets.get("outro")) if section.outro else 0,
        bed=assets.get("bed") if section.bed_ranges else None,
        bed_gain=_gain_to(reference - BED_BELOW_SPEECH_LU, levels.get("bed")),
        bed_samples=_samples(assets.get("bed")) if section.bed_ranges else 0,
        bed_ranges=section.bed_ranges,
        duck_key_gain=max(1 / 64, min(64.0, 10 ** ((DUCK_KEY_LUFS - reference) / 20))),
    )


RESAMPLED_PEAK_MARGIN_DB = 1.0  # a sample peak measured before resampling may rise by this much after it


def mix_may_exceed(mix: ff.Mix, profile: AudioProfile, narration_level: R128 | None, levels: dict[str, R128], ceiling_db: float) -> bool:
    """Whether a section's mix could pass the limiter's ceiling (else the limiter, a fifth of the mix's work, is left out).

    The bound adds the peak amplitudes of narration and bed (ducking only lowers the bed); the
    jingles play alone. Band-limiting and compression reshape peaks, so those profiles always limit.
    """
    if profile.bandlimit is not None or profile.compress:
        return True

    def amplitude(level: R128 | None, gain_db: float) -> float:
        if level is None or level.peak is None:
            return math.inf
        return 10 ** ((level.peak + gain_db + RESAMPLED_PEAK_MARGIN_DB) / 20)

    body = amplitude(narration_level, mix.narration_gain) + (amplitude(levels.get("bed"), mix.bed_gain) if mix.bed else 0.0)
    ends = [amplitude(levels.get(name), gain) for name, path, gain in (("intro", mix.intro, mix.intro_gain), ("outro", mix.outro, mix.outro_gain)) if path]
    return max([body, *ends]) >= 10 ** (ceiling_db / 20)


def linear_target(profile: AudioProfile, measured: R128 | None) -> float:
    """Integrated target for loudnorm: the profile's, lowered only if a static gain would push peaks past 0 dBTP."""
    if measured is None or measured.peak is None:
        return profile.lufs
    # Above 0 dBTP loudnorm cannot stay linear; below it the limiter after loudnorm holds the profile's ceiling.
    headroom = -0.1 - (measured.peak + profile.lufs - measured.integrated)
    return profile.lufs + min(0.0, headroom)


_SAMPLES: dict[tuple[str, int, int], int] = {}


def _samples(path: Path | None) -> int:
    """Length of an asset at MIX_RATE (read once per process: every section's plan asks)."""
    if path is None:
        return 0
    key = _file_key(path)
    if key not in _SAMPLES:
        _SAMPLES[key] = round(probe_duration(path) * MIX_RATE)
    return _SAMPLES[key]


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


_ASSET_LEVELS: dict[tuple[str, int, int], R128] = {}


def splice_frame(profile: AudioProfile) -> int | None:
    """Samples per MP3 frame at the profile's rate, when sections of it can be spliced from whole frames."""
    if profile.codec != "libmp3lame" or MIX_RATE % profile.sample_rate:
        return None
    return 1152 if profile.sample_rate >= 32000 else 576


@dataclass(frozen=True)
class MixedSection:
    """A section's float WAV at the mix rate and its logged loudness."""

    wav: Path
    samples: int
    blocks: programme_loudness.Blocks  # as the section sounds once gain_db is applied
    gain_db: float = 0.0  # the narration gain still to apply (a mix of narration alone is stored at unity)


class SectionStore:
    """Mixed sections and their encodes, content-addressed in one directory; files are written under a temp name and renamed."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def mix_path(self, key: str) -> Path:
        """Where a section's mix lives."""
        return self.root / f"{key}.wav"

    def load(self, key: str) -> MixedSection | None:
        """The cached mix, or None; a WAV without its sidecar (an interrupted store) is a miss."""
        wav = self.mix_path(key)
        try:
            meta = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
            if wav.stat().st_size == 0:
                return None
            os.utime(wav)  # recently used: kept by prune
            return MixedSection(wav, int(meta["samples"]), programme_loudness.Blocks.from_dict(meta["blocks"]), float(meta.get("gain_db", 0.0)))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, key: str, samples: int, blocks: programme_loudness.Blocks, gain_db: float = 0.0) -> MixedSection:
        """Record the sidecar of a mix already renamed into place."""
        meta = json.dumps({"samples": samples, "blocks": blocks.as_dict(), "gain_db": gain_db})
        self._write(self.mix_path(key).with_suffix(".json"), meta.encode("utf-8"))
        return MixedSection(self.mix_path(key), samples, blocks, gain_db)

    def encoded_path(self, key: str, encoder: str, gain_cdb: int) -> Path:
        """Where a section's encode with these encoder settings, at a gain (hundredths of a dB), lives."""
        return self.root / f"{key}.{encoder}.{gain_cdb:+d}.mp3"

    def encoded_gains(self, key: str, encoder: str) -> list[int]:
        """Gains (hundredths of a dB) the section was already encoded at with these settings."""
        prefix = f"{key}.{encoder}."
        gains = []
        for path in self.root.glob(f"{prefix}*.mp3"):
            try:
                gains.append(int(path.name[len(prefix) : -len(".mp3")]))
            except ValueError:
                continue
        return gains

    def temp(self, final: Path) -> Path:
        """A hidden temp name next to `final`."""
        return final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")

    def _write(self, path: Path, data: bytes) -> None:
        temp = self.temp(path)
        temp.write_bytes(data)
        os.replace(temp, path)

    def prune(self, limit_bytes: int, keep: set[Path]) -> None:
        """Remove temp files a killed render left an hour ago or more, then the least recently used files beyond limit_bytes (never those in `keep`)."""
        files = []
        stale = time.time() - STALE_TEMP_S
        for path in self.root.iterdir():
            try:
                stat = path.stat()
            except OSError:
                continue
            if path.name.endswith(".part") and stat.st_mtime < stale:
                path.unlink(missing_ok=True)
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _mtime, size, path in sorted(files):
            if total <= limit_bytes:
                break
            if path in keep or path.with_suffix(".wav") in keep:
                continue
            path.unlink(missing_ok=True)
            total -= size


def render_audio(
    lines: Iterable[NarrationLine],
    profile: AudioProfile,
    out_path: Path,
    *,
    intro: Path | None,
    outro: Path | None,
    bed: Path | None,
    work_dir: Path,
    cache_dir: Path | None = None,
    cache_limit_mb: int = 2048,
    title: str = "",
    artist: str = "",
    album: str = "",
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> AudioResult:
    """Mix, normalise, encode and tag narration lines into out_path (atomically); sections are cached in cache_dir.

    `lines` may be a generator that synthesises them: each section is mixed as soon as it is complete.
    """
    out_path = Path(out_path)
    progress = _Progress(on_progress)
    assets = {name: Path(p) for name, p in (("intro", intro), ("outro", outro), ("bed", bed)) if p is not None}
    intro_samples, outro_samples = _samples(intro), _samples(outro)
    frame = splice_frame(profile)
    work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".audio-", dir=work_dir))
    store = SectionStore(cache_dir if cache_dir is not None else scratch / "sections")
    temp_out = out_path.parent / f".{out_path.name}.{uuid.uuid4().hex[:8]}.part"
    failed = threading.Event()

    def stop() -> bool:
        return failed.is_set() or (cancel is not None and cancel())

    seen: list[NarrationLine] = []

    def arriving() -> Iterator[sections.Line]:
        for line in lines:
            seen.append(line)
            yield sections.Line(Path(line.wav), line.duration_s, line.pause_after_ms, line.bed, line.chapter)

    workers = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="ffmpeg")
    try:
        loss = workers.submit(codec_loss_db, _encode_target(profile, 0.0, 0.0), scratch) if frame else None
        asset_levels = workers.submit(_guarded, failed, measure_assets, assets, stop)
        mix_progress = _MixProgress(progress)
        plan: list[sections.Section] = []
        keys: list[str] = []
        pending: dict[int, Future[MixedSection] | MixedSection] = {}
        grid = frame * MIX_RATE // profile.sample_rate if frame else 1
        for section in sections.plan_stream(arriving(), grid=grid, intro_samples=intro_samples, outro_samples=outro_samples):
            _check_cancel(stop)
            number = len(plan)
            plan.append(section)
            keys.append(_section_key(section, seen, profile, assets))
            found = store.load(keys[-1])
            pending[number] = found if found is not None else workers.submit(
                _guarded, failed, _mix_section, section, keys[-1], profile, asset_levels, assets, scratch, store, stop,
                mix_progress.part(number, section.narration_samples),
            )
        if not plan:
            raise ValueError("render_audio needs at least one narration line")
        mix_progress.complete()
        encodes = None
        predicted_cdb = None
        if frame is not None and loss is not None and len(plan) > 1 and not isinstance(pending[len(plan) - 1], MixedSection):
            # While the last section is mixed, the others are encoded at the gain they predict; it
            # is kept if the whole programme's gain turns out within REUSE_GAIN_DB of it.
            early = [_result(pending[n]) for n in range(len(plan) - 1)]
            guess = _as_r128(programme_loudness.programme([m.blocks for m in early]))
            if guess is not None:
                aim = linear_target(profile, guess) + loss.result()
                encodes = _SectionEncodes(store, keys, _encode_target(profile, aim, 0.0), workers, failed, stop)
                predicted_cdb = encodes.gain_for(round((aim - guess.integrated) * 100))
                encodes.submit(list(enumerate(early)), predicted_cdb)
        ordered = [_result(pending[n]) for n in range(len(plan))]
        mixed_count = sum(1 for job in pending.values() if not isinstance(job, MixedSection))
        duration_s = sum(m.samples for m in ordered) / MIX_RATE
        measured = _as_r128(programme_loudness.programme([m.blocks for m in ordered]))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        _check_cancel(stop)
        target = _encode_target(profile, linear_target(profile, measured), duration_s)
        if frame is not None and loss is not None and measured is not None and not ff.needs_limiter(target, measured):
            codec_loss = loss.result()
            if encodes is None:
                encodes = _SectionEncodes(store, keys, target, workers, failed, stop)
            exact_cdb = round((target.lufs + codec_loss - measured.integrated) * 100)
            window = round(REUSE_GAIN_DB * 100)
            gain_cdb = predicted_cdb if predicted_cdb is not None and abs(predicted_cdb - exact_cdb) <= window else encodes.gain_for(exact_cdb)
            encodes.reports = dict(zip(range(len(plan)), progress.stage("encode", [m.samples for m in ordered]), strict=True))
            encodes.submit(list(enumerate(ordered)), gain_cdb)
            encodes.splice(ordered, gain_cdb, frame, temp_out)
            loudness, encoded = _spliced_loudness(measured, gain_cdb, codec_loss, target), encodes.encoded
        else:
            encoded = 0
            loudness = encode(
                [(m.wav, m.gain_db) for m in ordered], target, measured, temp_out, scratch=scratch, cancel=stop,
                on_progress=progress.stage("encode", [1.0])[0],
            )
        timings = _timings(plan, seen, intro_samples, ordered)
        chapters = [(t.start_s, line.chapter) for t, line in zip(timings, seen, strict=True) if line.chapter]
        _check_cancel(stop)
        write_tags(temp_out, kind=profile.extension, title=title, artist=artist, album=album, chapters=chapters, duration_s=duration_s)
        os.replace(temp_out, out_path)
        if cache_dir is not None:
            store.prune(cache_limit_mb * 1024 * 1024, {p for k in keys for p in store.root.glob(f"{k}.*")})
    except BaseException:
        failed.set()
        temp_out.unlink(missing_ok=True)
        raise
    finally:
        workers.shutdown(wait=True)
        shutil.rmtree(scratch, ignore_errors=True)
    progress.set(1.0)
    return AudioResult(out_path, duration_s, timings, chapters, loudness, mixed_count, encoded)


def _result(job: Future[MixedSection] | MixedSection) -> MixedSection:
    return job if isinstance(job, MixedSection) else job.result()


class _MixProgress:
    """Progress of section mixes that start while lines still arrive: reported once the last section is known."""

    def __init__(self, progress: _Progress):
        self.progress = progress
        self.done: dict[int, float] = {}
        self.weights: dict[int, int] = {}
        self.known = False
        self.lock = threading.Lock()

    def part(self, number: int, samples: int) -> Callable[[float], None]:
        """The progress callback of one section's mix."""
        with self.lock:
            self.weights[number] = max(1, samples)
            self.done[number] = 0.0

        def report(fraction: float) -> None:
            with self.lock:
                self.done[number] = max(self.done[number], fraction)
            self._send()

        return report

    def complete(self) -> None:
        """Every section is known; progress now counts."""
        self.known = True
        self._send()

    def _send(self) -> None:
        if not self.known:
            return
        with self.lock:
            total = sum(self.weights.values())
            share = sum(self.done[n] * w for n, w in self.weights.items()) / total if total else 1.0
        low, high = STAGES["mix"]
        self.progress.set(low + (high - low) * share)


def _guarded(failed: threading.Event, function: Callable[..., object], *args: object) -> object:
    """Run a side-by-side step; a failure stops its siblings."""
    try:
        return function(*args)
    except BaseException:
        failed.set()
        raise


def _encode_target(profile: AudioProfile, lufs: float, duration_s: float) -> ff.Encode:
    return ff.Encode(
        lufs, profile.encoder_true_peak, profile.lra, profile.sample_rate, profile.channels,
        profile.codec, profile.bitrate, profile.container, duration_s,
    )


def _section_key(section: sections.Section, lines: Sequence[NarrationLine], profile: AudioProfile, assets: dict[str, Path]) -> str:
    phrases = [_file_key(Path(line.wav)) for line in lines[section.first : section.first + section.count]]
    used = {name: _file_key(path) for name, path in assets.items() if (name != "intro" or section.intro) and (name != "outro" or section.outro)}
    context = {
        "version": MIX_VERSION, "assets": used, "reference": _reference(profile), "bandlimit": profile.bandlimit,
        "compress": profile.compress, "channels": profile.channels, "ceiling": profile.encoder_true_peak,
    }
    return sections.section_key(section, [json.dumps(p) for p in phrases], context)


def _source(section: sections.Section, scratch: Path, tag: str) -> ff.NarrationSource:
    """The section's narration: joined by Python when its phrases share one format, else by ffmpeg."""
    segments = section.segments
    rate = narration.common_rate([s.wav for s in segments])
    if rate is None:
        return ff.NarrationSource(segments, lead=section.lead)
    joined = scratch / f"joined-{tag}-{rate}.wav"
    starts = [sum(s.length for s in segments[:i]) for i in range(len(segments))]
    narration.write_layout(segments, starts, rate, joined)
    return ff.NarrationSource(segments, joined, section.lead)


LEVELS_FILE = DEFAULTS_DIR / "levels.json"  # the bundled jingles and bed, measured when they were added


def bundled_levels() -> dict[str, dict[str, object]]:
    """Measurements of the bundled assets by file name, each with the sha256 of the file it was made from."""
    try:
        return dict(json.loads(LEVELS_FILE.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


BUNDLED = {"intro": "jingle-intro.flac", "outro": "jingle-outro.flac", "bed": "music-bed.flac"}


def write_bundled_levels() -> dict[str, dict[str, object]]:
    """Measure the bundled jingles and bed and write levels.json (run after replacing one of them)."""
    paths = {name: DEFAULTS_DIR / file for name, file in BUNDLED.items()}
    found = ff.parse_ebur128(ff.run(ff.measure_args([], paths)))
    levels = {}
    for name, path in paths.items():
        level = found[f"ebur128@{name}"]
        levels[path.name] = {
            "sha256": sha256_file(path), "integrated": level.integrated, "threshold": level.threshold, "lra": level.lra, "peak": level.peak,
        }
    temp = LEVELS_FILE.with_name(f".{LEVELS_FILE.name}.part")
    temp.write_text(json.dumps(levels, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, LEVELS_FILE)
    return levels


def _known_level(path: Path, bundled: dict[str, dict[str, object]]) -> R128 | None:
    entry = bundled.get(path.name)
    if entry is None or path.resolve().parent != DEFAULTS_DIR.resolve() or entry.get("sha256") != sha256_file(path):
        return None
    return R128(float(entry["integrated"]), float(entry["threshold"]), float(entry["lra"]), float(entry["peak"]))  # type: ignore[arg-type]


def measure_assets(assets: dict[str, Path], stop: Callable[[], bool] = lambda: False) -> dict[str, R128]:
    """Loudness and sample peak of each asset (`intro`, `outro`, `bed`) as mixed: bundled ones from levels.json, others measured once per process."""
    bundled = bundled_levels()
    for path in assets.values():
        if _file_key(path) not in _ASSET_LEVELS and (known := _known_level(path, bundled)) is not None:
            _ASSET_LEVELS[_file_key(path)] = known
    unknown = {name: path for name, path in assets.items() if _file_key(path) not in _ASSET_LEVELS}
    if unknown:
        found = ff.parse_ebur128(_step(ff.measure_args([], unknown), stop, lambda fraction: None, 1.0))
        for name, path in unknown.items():
            _ASSET_LEVELS[_file_key(path)] = found[f"ebur128@{name}"]
    return {name: _ASSET_LEVELS[_file_key(path)] for name, path in assets.items()}


def _narration_level(source: ff.NarrationSource, profile: AudioProfile, stop: Callable[[], bool]) -> R128:
    """Loudness of a section's narration as it will sound in the mix (played on both channels)."""
    spoken = ff.parse_ebur128(_step(ff.measure_args([source], {}, profile.bandlimit), stop, lambda fraction: None, 1.0))["ebur128@s0"]
    return R128(spoken.integrated + ff.DUAL_MONO_DB, spoken.threshold + ff.DUAL_MONO_DB, spoken.lra, spoken.peak)


def _narration_only(section: sections.Section, profile: AudioProfile) -> bool:
    """Whether the section's mix is its narration alone through linear steps, so its gain may come after it."""
    return not section.bed_ranges and not section.intro and not section.outro and not profile.compress and profile.bandlimit is None


def _mix_section(
    section: sections.Section, key: str, profile: AudioProfile, asset_levels: Future[dict[str, R128]],
    assets: dict[str, Path], scratch: Path, store: SectionStore, stop: Callable[[], bool], report: Callable[[float], None],
) -> MixedSection:
    """Mix one section into the store; return it with its logged loudness.

    A section of narration alone is mixed at unity and measured in the same run; its gain is then
    applied at the encode (a gain commutes with linear steps), unless its peaks would need the
    limiter, when it is mixed again at that gain. Other sections have their narration measured first.
    """
    source = _source(section, scratch, key)
    levels = asset_levels.result()
    ceiling = profile.encoder_true_peak - ff.INTERSAMPLE_MARGIN_DB
    if _narration_only(section, profile):
        mix = plan_mix(section, profile, None, levels, assets)
        processing = ff.Processing(profile.bandlimit, profile.compress, profile.channels, ceiling, _reference(profile), False)
        blocks, spoken = _run_mix(source, mix, processing, store.mix_path(key), stop, report)
        gain = _gain_to(_reference(profile), spoken)
        if blocks.peak_dbfs + gain + RESAMPLED_PEAK_MARGIN_DB < ceiling:
            shifted = programme_loudness.Blocks(
                tuple(v + gain for v in blocks.momentary), tuple(v + gain for v in blocks.short_term), blocks.peak_dbfs + gain
            )
            return store.store(key, mix.total_samples, shifted, gain)
        narration_level = spoken
    else:
        narration_level = _narration_level(source, profile, stop)
    mix = plan_mix(section, profile, narration_level, levels, assets)
    limit = mix_may_exceed(mix, profile, narration_level, levels, ceiling)
    processing = ff.Processing(profile.bandlimit, profile.compress, profile.channels, ceiling, _reference(profile), limit)
    blocks, _ = _run_mix(source, mix, processing, store.mix_path(key), stop, report)
    return store.store(key, mix.total_samples, blocks)


def _run_mix(
    source: ff.NarrationSource, mix: ff.Mix, processing: ff.Processing, final: Path, stop: Callable[[], bool], report: Callable[[float], None]
) -> tuple[programme_loudness.Blocks, R128]:
    """Run one mix into `final` (temp file, then rename); its logged blocks and summary."""
    temp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        log = _step(ff.mix_args(source, mix, processing, temp), stop, report, mix.total_samples / MIX_RATE)
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    momentary, short_term = programme_loudness.parse_frames(log, "ebur128@mix")
    summary = ff.parse_ebur128(log)["ebur128@mix"]
    peak = summary.peak if summary.peak is not None else float("-inf")
    return programme_loudness.Blocks(momentary, short_term, peak), summary


def _as_r128(programme: programme_loudness.Programme) -> R128 | None:
    """The programme's measurement as loudnorm's first pass would give it (None when silent)."""
    if not math.isfinite(programme.integrated) or programme.integrated <= -70:
        return None
    # Rounded as loudnorm prints it, so the gain it applies is exactly the one chosen.
    return R128(round(programme.integrated, 2), round(programme.threshold, 2), round(programme.lra, 1), round(programme.peak_dbfs, 2))


def _timings(plan: Sequence[sections.Section], lines: Sequence[NarrationLine], intro_samples: int, mixed: Sequence[MixedSection]) -> list[Timed]:
    timings = []
    offset = 0
    for section, done in zip(plan, mixed, strict=True):
        lead = offset + (intro_samples if section.intro else 0)
        for index, start in enumerate(section.starts, start=section.first):
            begin = (lead + start) / MIX_RATE
            timings.append(Timed(index, begin, begin + max(0.0, lines[index].duration_s)))
        offset += done.samples
    return timings


def _reuse_gain(exact_cdb: int, gains: Sequence[Sequence[int]]) -> int:
    """The gain to encode at: one already used for the most sections within REUSE_GAIN_DB of the exact one, else the exact one."""
    window = round(REUSE_GAIN_DB * 100)
    counts = Counter(g for section in gains for g in set(section) if abs(g - exact_cdb) <= window)
    if not counts:
        return exact_cdb
    return max(counts, key=lambda g: (counts[g], -abs(g - exact_cdb)))


class _SectionEncodes:
    """Section encodes at one programme gain, side by side, each kept in the store under its gain."""

    def __init__(self, store: SectionStore, keys: Sequence[str], target: ff.Encode, workers: ThreadPoolExecutor,
                 failed: threading.Event, stop: Callable[[], bool]):
        self.store, self.keys, self.target, self.workers, self.failed, self.stop = store, keys, target, workers, failed, stop
        settings = [target.codec, target.bitrate, target.sample_rate, target.channels, *ff.codec_args(target)]
        self.encoder = hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:8]
        self.jobs: dict[tuple[int, int], Future[object]] = {}
        self.reports: dict[int, Callable[[float], None]] = {}
        self.encoded = 0

    def gain_for(self, exact_cdb: int) -> int:
        """The gain to use: one earlier encodes of these sections already have, if close enough."""
        return _reuse_gain(exact_cdb, [self.store.encoded_gains(k, self.encoder) for k in self.keys])

    def submit(self, sections: Sequence[tuple[int, MixedSection]], gain_cdb: int) -> None:
        """Start encoding these sections at gain_cdb (longest first, so the cores finish together); cached ones are skipped."""
        for n, section in sorted(sections, key=lambda item: -item[1].samples):
            path = self.store.encoded_path(self.keys[n], self.encoder, gain_cdb)
            if (n, gain_cdb) in self.jobs or path.is_file():
                continue
            self.encoded += 1
            self.jobs[(n, gain_cdb)] = self.workers.submit(_guarded, self.failed, self._encode, n, section, gain_cdb, path)

    def _encode(self, n: int, section: MixedSection, gain_cdb: int, path: Path) -> None:
        temp = self.store.temp(path)
        report = self.reports.get(n, lambda fraction: None)
        try:
            gain = gain_cdb / 100 + section.gain_db
            _step(ff.encode_args([section.wav], self.target, None, temp, section_gain_db=gain), self.stop, report, section.samples / MIX_RATE)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def splice(self, mixed: Sequence[MixedSection], gain_cdb: int, frame: int, out_file: Path) -> None:
        """Wait for the encodes at gain_cdb and splice whole frames of them into out_file."""
        for (_n, gain), job in self.jobs.items():
            if gain == gain_cdb:
                job.result()
        paths = [self.store.encoded_path(k, self.encoder, gain_cdb) for k in self.keys]
        for path in paths:
            os.utime(path)
        streams = [_mp3.read_stream(path.read_bytes()) for path in paths]
        ratio = MIX_RATE // self.target.sample_rate
        keep: list[int | None] = [m.samples // ratio // frame for m in mixed[:-1]]
        out_file.write_bytes(_mp3.splice(streams, [*keep, None]))


def _spliced_loudness(measured: R128, gain_cdb: int, loss: float, target: ff.Encode) -> Loudness:
    """What the spliced programme measures: the static gain added to the pooled measurement, less the codec's loss."""
    reached = measured.integrated + gain_cdb / 100
    # The mix's sample peak after the gain, plus the margin true peaks may sit above it (an estimate: nothing limits here).
    peak = (measured.peak if measured.peak is not None else reached) + gain_cdb / 100 + ff.INTERSAMPLE_MARGIN_DB
    return Loudness(reached - loss, min(peak, target.true_peak), measured.lra)


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
    mix_wavs: Sequence[tuple[Path, float]],
    target: ff.Encode,
    measured: R128 | None,
    out_file: Path,
    *,
    scratch: Path,
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] = lambda fraction: None,
) -> Loudness:
    """Loudnorm (linear) + encode the mixes (each with its own gain first), played in a row, so the decoded file meets the target; return its loudness.

    Two things loudnorm cannot see are made up for: the level a lossy codec takes away (measured
    once per encoder setting) and the level the safety limiter takes (measured after it; when it
    misses by more than LOUDNESS_TOLERANCE_LU the pass runs once more with the difference added).
    """
    if measured is None:
        _step(ff.encode_args(mix_wavs, target, measured, out_file), cancel, on_progress, target.duration_s)
        return Loudness(float("-inf"), float("-inf"), 0.0)
    loss = codec_loss_db(target, scratch)
    wanted = target.lufs + loss
    aim = wanted
    for attempt in range(2):
        log = _step(ff.encode_args(mix_wavs, replace(target, lufs=aim), measured, out_file), cancel, on_progress, target.duration_s)
        stats = ff.parse_loudnorm_json(log)
        final = ff.parse_ebur128(log).get("ebur128@final")
        reached = final.integrated if final is not None else float(stats["output_i"])
        if attempt or abs(reached - wanted) <= LOUDNESS_TOLERANCE_LU:
            break
        aim += wanted - reached
    # If a limiter ran after loudnorm it holds peaks at the ceiling.
    return Loudness(reached - loss, min(float(stats["output_tp"]), target.true_peak), float(stats["output_lra"]))
