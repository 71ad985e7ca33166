"""Encode and splice orchestration: the programme's mixes to one file at the target loudness.

MP3 profiles whose frames fit 48 kHz exactly encode each section on its own (side by side, cached
under its gain) and splice whole frames (studio.engine.render._mp3); other profiles play the sections in a
row into one loudnorm (linear) + encoder pass.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path

from studio.engine.render import _ffmpeg as ff
from studio.engine.render import _mp3
from studio.engine.render import loudness as programme_loudness
from studio.engine.render._ffmpeg import MIX_RATE, R128
from studio.engine.render.codec_loss import codec_loss_db
from studio.engine.render.levels import Loudness
from studio.engine.render.mix_plan import as_r128, linear_target
from studio.engine.render.profiles import AudioProfile
from studio.engine.render.progress import Crew, Progress, check_cancel, no_progress, step
from studio.engine.render.section_store import MixedSection, SectionStore

# An edit moves a programme's loudness by a few hundredths of an LU; sections encoded at a gain this
# close to the new one are kept, and the whole programme then takes that one gain.
REUSE_GAIN_DB = 0.1
LOUDNESS_TOLERANCE_LU = 0.2


def encode_target(profile: AudioProfile, lufs: float, duration_s: float) -> ff.Encode:
    """The profile's encoding at an integrated target and duration."""
    return ff.Encode(
        lufs,
        profile.encoder_true_peak,
        profile.lra,
        profile.sample_rate,
        profile.channels,
        profile.codec,
        profile.bitrate,
        profile.container,
        duration_s,
    )


def splice_frame(profile: AudioProfile) -> int | None:
    """Samples per MP3 frame at the profile's rate, when sections of it can be spliced from whole frames."""
    if profile.codec != "libmp3lame" or MIX_RATE % profile.sample_rate:
        return None
    return 1152 if profile.sample_rate >= 32000 else 576


def reuse_gain(exact_cdb: int, gains: Sequence[Sequence[int]]) -> int:
    """The gain to encode at: one already used for the most sections within REUSE_GAIN_DB of the exact one, else the exact one."""
    window = round(REUSE_GAIN_DB * 100)
    counts = Counter(g for section in gains for g in set(section) if abs(g - exact_cdb) <= window)
    if not counts:
        return exact_cdb
    return max(counts, key=lambda g: (counts[g], -abs(g - exact_cdb)))


class SectionEncodes:
    """Section encodes at one programme gain, side by side, each kept in the store under its gain."""

    def __init__(self, store: SectionStore, keys: Sequence[str], target: ff.Encode, crew: Crew):
        self.store, self.keys, self.target, self.crew = store, keys, target, crew
        settings = [target.codec, target.bitrate, target.sample_rate, target.channels, *ff.codec_args(target)]
        self.encoder = hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:8]
        self.jobs: dict[tuple[int, int], Future[None]] = {}
        self.reports: dict[int, Callable[[float], None]] = {}
        self.encoded = 0

    def gain_for(self, exact_cdb: int) -> int:
        """The gain to use: one earlier encodes of these sections already have, if close enough."""
        return reuse_gain(exact_cdb, [self.store.encoded_gains(k, self.encoder) for k in self.keys])

    def submit(self, sections: Sequence[tuple[int, MixedSection]], gain_cdb: int) -> None:
        """Start encoding these sections at gain_cdb (longest first, so the cores finish together); cached ones are skipped."""
        for n, section in sorted(sections, key=lambda item: -item[1].samples):
            path = self.store.encoded_path(self.keys[n], self.encoder, gain_cdb)
            if (n, gain_cdb) in self.jobs or path.is_file():
                continue
            self.encoded += 1
            self.jobs[(n, gain_cdb)] = self.crew.submit(self._encode, n, section, gain_cdb, path)

    def _encode(self, n: int, section: MixedSection, gain_cdb: int, path: Path) -> None:
        temp = self.store.temp(path)
        report = self.reports.get(n, no_progress)
        try:
            gain = gain_cdb / 100 + section.gain_db
            args = ff.encode_args([section.wav], self.target, None, temp, section_gain_db=gain)
            step(args, self.crew.stop, report, section.samples / MIX_RATE)
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


def spliced_loudness(measured: R128, gain_cdb: int, loss: float, target: ff.Encode) -> Loudness:
    """What the spliced programme measures: the static gain added to the pooled measurement, less the codec's loss."""
    reached = measured.integrated + gain_cdb / 100
    # The mix's sample peak after the gain, plus the margin true peaks may sit above it (an estimate: nothing limits here).
    peak = (measured.peak if measured.peak is not None else reached) + gain_cdb / 100 + ff.INTERSAMPLE_MARGIN_DB
    return Loudness(reached - loss, min(peak, target.true_peak), measured.lra)


@dataclass
class Splicer:
    """A programme encoded section by section, at one gain, and spliced from whole MP3 frames."""

    store: SectionStore
    keys: list[str]
    profile: AudioProfile
    crew: Crew
    frame: int
    loss: Future[float]  # the codec's loss, probed side by side with the first mixes
    encodes: SectionEncodes | None = None
    predicted_cdb: int | None = None

    @classmethod
    def start(cls, profile: AudioProfile, store: SectionStore, keys: list[str], crew: Crew, scratch: Path) -> Splicer | None:
        """A splicer for the profile (None when its sections cannot be spliced); starts probing the codec's loss."""
        frame = splice_frame(profile)
        if frame is None:
            return None
        loss = crew.workers.submit(codec_loss_db, encode_target(profile, 0.0, 0.0), scratch)
        return cls(store, keys, profile, crew, frame, loss)

    @property
    def grid(self) -> int:
        """Samples at MIX_RATE per MP3 frame: every section but the last is a whole number of them."""
        return self.frame * MIX_RATE // self.profile.sample_rate

    def start_early(self, early: Sequence[MixedSection]) -> None:
        """Encode these sections (all but the last) at the gain they predict while the last is mixed; kept if the
        whole programme's gain turns out within REUSE_GAIN_DB of it."""
        guess = as_r128(programme_loudness.programme([m.blocks for m in early]))
        if guess is None:
            return
        aim = linear_target(self.profile, guess) + self.loss.result()
        self.encodes = SectionEncodes(self.store, self.keys, encode_target(self.profile, aim, 0.0), self.crew)
        self.predicted_cdb = self.encodes.gain_for(round((aim - guess.integrated) * 100))
        self.encodes.submit(list(enumerate(early)), self.predicted_cdb)

    def splice(
        self, mixed: Sequence[MixedSection], measured: R128, target: ff.Encode, progress: Progress, out_file: Path
    ) -> tuple[Loudness, int]:
        """Encode what is missing at the programme's gain and splice it into out_file; its loudness and how many sections were encoded."""
        codec_loss = self.loss.result()
        encodes = self.encodes or SectionEncodes(self.store, self.keys, target, self.crew)
        exact_cdb = round((target.lufs + codec_loss - measured.integrated) * 100)
        predicted = self.predicted_cdb
        gain_cdb = (
            predicted
            if predicted is not None and abs(predicted - exact_cdb) <= round(REUSE_GAIN_DB * 100)
            else encodes.gain_for(exact_cdb)
        )
        encodes.reports = dict(enumerate(progress.stage("encode", [m.samples for m in mixed])))
        encodes.submit(list(enumerate(mixed)), gain_cdb)
        encodes.splice(mixed, gain_cdb, self.frame, out_file)
        return spliced_loudness(measured, gain_cdb, codec_loss, target), encodes.encoded


def encode_programme(
    mixed: Sequence[MixedSection],
    profile: AudioProfile,
    splicer: Splicer | None,
    crew: Crew,
    progress: Progress,
    scratch: Path,
    out_file: Path,
) -> tuple[Loudness, int]:
    """The sections, at the loudness pooled from their blocks, encoded into out_file: spliced when the profile allows
    and no limiter is needed, else in one pass. Its loudness and how many sections were encoded."""
    duration_s = sum(m.samples for m in mixed) / MIX_RATE
    measured = as_r128(programme_loudness.programme([m.blocks for m in mixed]))
    check_cancel(crew.stop)
    target = encode_target(profile, linear_target(profile, measured), duration_s)
    if splicer is not None and measured is not None and not ff.needs_limiter(target, measured):
        return splicer.splice(mixed, measured, target, progress, out_file)
    wavs = [(m.wav, m.gain_db) for m in mixed]
    return encode(
        wavs, target, measured, out_file, scratch=scratch, cancel=crew.stop, on_progress=progress.stage("encode", [1.0])[0]
    ), 0


def encode(
    mix_wavs: Sequence[tuple[Path, float]],
    target: ff.Encode,
    measured: R128 | None,
    out_file: Path,
    *,
    scratch: Path,
    cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] = no_progress,
) -> Loudness:
    """Loudnorm (linear) + encode the mixes (each with its own gain first), played in a row, so the decoded file meets the target; return its loudness.

    Two things loudnorm cannot see are made up for: the level a lossy codec takes away (measured
    once per encoder setting) and the level the safety limiter takes (measured after it; when it
    misses by more than LOUDNESS_TOLERANCE_LU the pass runs once more with the difference added).
    """
    if measured is None:
        step(ff.encode_args(mix_wavs, target, measured, out_file), cancel, on_progress, target.duration_s)
        return Loudness(float("-inf"), float("-inf"), 0.0)
    loss = codec_loss_db(target, scratch)
    wanted = target.lufs + loss
    aim = wanted
    for attempt in range(2):
        log = step(
            ff.encode_args(mix_wavs, replace(target, lufs=aim), measured, out_file), cancel, on_progress, target.duration_s
        )
        stats = ff.parse_loudnorm_json(log)
        final = ff.parse_ebur128(log).get("ebur128@final")
        reached = final.integrated if final is not None else float(stats["output_i"])
        if attempt or abs(reached - wanted) <= LOUDNESS_TOLERANCE_LU:
            break
        aim += wanted - reached
    # If a limiter ran after loudnorm it holds peaks at the ceiling.
    return Loudness(reached - loss, min(float(stats["output_tp"]), target.true_peak), float(stats["output_lra"]))
