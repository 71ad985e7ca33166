"""Audio rendering: narration lines + jingles + ducked music bed -> one loudness-normalised, tagged file.

The programme is cut into sections (studio.engine.render.sections) that are mixed, cached and encoded on
their own, side by side on every core:
1. one ffmpeg run measures the narration of each section that is not cached yet (and the jingles
   and the bed, once per process: studio.engine.render.levels);
2. each new section is mixed at 48 kHz (studio.engine.render.mixing, planned by studio.engine.render.mix_plan):
   its narration normalised, the bed ducked under it (sidechaincompress, amix normalize=0), the
   jingles at the programme's ends, processed, written as a float WAV into the section store
   (studio.engine.render.section_store) and measured block by block;
3. the programme's loudness is pooled from the sections' blocks (studio.engine.render.loudness);
4. loudnorm in linear mode applies one static gain from that measurement, and the encoder runs
   (studio.engine.render.encoding). MP3 profiles whose frames fit 48 kHz exactly encode each section on
   its own and splice whole frames (studio.engine.render._mp3); other profiles play the sections in a row
   into one encode.
Tags go into the temp file before it is renamed onto out_path.

loudnorm's own first pass is not used for measuring: it runs its dynamic path at 192 kHz, about
18x real time (10 s for 3 minutes); ebur128 is the same BS.1770 meter at ~400x.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from studio.engine.render import sections
from studio.engine.render._ffmpeg import MIX_RATE, R128, Cancelled, FFmpegError
from studio.engine.render.encoding import Splicer, encode_programme
from studio.engine.render.levels import Loudness, asset_samples, default_asset, measure_assets, measure_loudness, probe_duration
from studio.engine.render.mix_plan import section_key
from studio.engine.render.mixing import mix_section
from studio.engine.render.profiles import AudioProfile
from studio.engine.render.progress import Crew, MixProgress, Progress, check_cancel
from studio.engine.render.section_store import MixedSection, SectionStore
from studio.engine.render.tags import write_tags

__all__ = [
    "AudioResult",
    "Cancelled",
    "FFmpegError",
    "Loudness",
    "NarrationLine",
    "SectionStore",
    "Timed",
    "default_asset",
    "measure_loudness",
    "probe_duration",
    "render_audio",
]


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
class AudioResult:
    """A rendered audio file, where each line sits in it, its chapters and its loudness."""

    path: Path
    duration_s: float
    timings: list[Timed]
    chapters: list[tuple[float, str]]
    loudness: Loudness
    sections_mixed: int = 0  # sections this render mixed (the rest came from the cache)
    sections_encoded: int = 0  # sections this render encoded (spliced MP3 profiles)


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
    progress = Progress(on_progress)
    assets = {name: Path(p) for name, p in (("intro", intro), ("outro", outro), ("bed", bed)) if p is not None}
    work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".audio-", dir=work_dir))
    store = SectionStore(cache_dir if cache_dir is not None else scratch / "sections")
    temp_out = out_path.parent / f".{out_path.name}.{uuid.uuid4().hex[:8]}.part"
    crew = Crew(ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="ffmpeg"), cancel)
    try:
        programme = _Programme.start(profile, assets, store, crew, scratch)
        programme.plan_and_mix(lines, progress)
        mixed = programme.mixed()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        loudness, encoded = encode_programme(mixed, profile, programme.splicer, crew, progress, scratch, temp_out)
        timings = _timings(programme.plan, programme.lines, asset_samples(assets.get("intro")), mixed)
        chapters = [(t.start_s, line.chapter) for t, line in zip(timings, programme.lines, strict=True) if line.chapter]
        duration_s = sum(m.samples for m in mixed) / MIX_RATE
        check_cancel(crew.stop)
        write_tags(
            temp_out, kind=profile.extension, title=title, artist=artist, album=album, chapters=chapters, duration_s=duration_s
        )
        os.replace(temp_out, out_path)
        if cache_dir is not None:
            store.prune(cache_limit_mb * 1024 * 1024, {p for k in programme.keys for p in store.root.glob(f"{k}.*")})
    except BaseException:
        crew.failed.set()
        temp_out.unlink(missing_ok=True)
        raise
    finally:
        crew.workers.shutdown(wait=True)
        shutil.rmtree(scratch, ignore_errors=True)
    progress.set(1.0)
    return AudioResult(out_path, duration_s, timings, chapters, loudness, programme.mixed_count, encoded)


@dataclass
class _Programme:
    """The programme's sections as they are planned and mixed, side by side."""

    profile: AudioProfile
    assets: dict[str, Path]
    store: SectionStore
    crew: Crew
    scratch: Path
    splicer: Splicer | None
    asset_levels: Future[dict[str, R128]]
    plan: list[sections.Section] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    lines: list[sections.Line] = field(default_factory=list)
    pending: dict[int, Future[MixedSection] | MixedSection] = field(default_factory=dict)

    @classmethod
    def start(cls, profile: AudioProfile, assets: dict[str, Path], store: SectionStore, crew: Crew, scratch: Path) -> _Programme:
        """Start what every section needs: the codec's loss (spliced profiles) and the assets' levels."""
        keys: list[str] = []
        splicer = Splicer.start(profile, store, keys, crew, scratch)
        levels = crew.submit(measure_assets, assets, crew.stop)
        return cls(profile, assets, store, crew, scratch, splicer, levels, keys=keys)

    @property
    def mixed_count(self) -> int:
        """Sections this render mixed (not found in the store)."""
        return sum(1 for job in self.pending.values() if not isinstance(job, MixedSection))

    def plan_and_mix(self, lines: Iterable[NarrationLine], progress: Progress) -> None:
        """Cut the lines into sections as they arrive; each is taken from the store or mixed as soon as it is complete."""
        mix_progress = MixProgress(progress)
        intro, outro = asset_samples(self.assets.get("intro")), asset_samples(self.assets.get("outro"))
        grid = self.splicer.grid if self.splicer is not None else 1
        for section in sections.plan_stream(self._arriving(lines), grid=grid, intro_samples=intro, outro_samples=outro):
            check_cancel(self.crew.stop)
            number = len(self.plan)
            self.plan.append(section)
            key = section_key(section, self.lines, self.profile, self.assets)
            self.keys.append(key)
            found = self.store.load(key)
            self.pending[number] = (
                found
                if found is not None
                else self.crew.submit(
                    mix_section,
                    section,
                    key,
                    self.profile,
                    self.asset_levels,
                    self.assets,
                    self.scratch,
                    self.store,
                    self.crew.stop,
                    mix_progress.part(number, section.narration_samples),
                )
            )
        if not self.plan:
            raise ValueError("render_audio needs at least one narration line")
        mix_progress.complete()

    def mixed(self) -> list[MixedSection]:
        """Every section's mix, in order, once done; a spliced profile encodes the others while the last is mixed."""
        last = len(self.plan) - 1
        if self.splicer is not None and last > 0 and not isinstance(self.pending[last], MixedSection):
            self.splicer.start_early([_result(self.pending[n]) for n in range(last)])
        return [_result(self.pending[n]) for n in range(len(self.plan))]

    def _arriving(self, lines: Iterable[NarrationLine]) -> Iterator[sections.Line]:
        for line in lines:
            self.lines.append(sections.Line(Path(line.wav), line.duration_s, line.pause_after_ms, line.bed, line.chapter))
            yield self.lines[-1]


def _result(job: Future[MixedSection] | MixedSection) -> MixedSection:
    return job if isinstance(job, MixedSection) else job.result()


def _timings(
    plan: Sequence[sections.Section], lines: Sequence[sections.Line], intro_samples: int, mixed: Sequence[MixedSection]
) -> list[Timed]:
    timings = []
    offset = 0
    for section, done in zip(plan, mixed, strict=True):
        lead = offset + (intro_samples if section.intro else 0)
        for index, start in enumerate(section.starts, start=section.first):
            begin = (lead + start) / MIX_RATE
            timings.append(Timed(index, begin, begin + max(0.0, lines[index].duration_s)))
        offset += done.samples
    return timings
