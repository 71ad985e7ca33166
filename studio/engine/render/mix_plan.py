"""Mix planning: the gains, layout and limiter of a section's mix, its cache key, and the programme's loudness target."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from studio.engine.render import _ffmpeg as ff
from studio.engine.render import loudness as programme_loudness
from studio.engine.render import narration, sections
from studio.engine.render._ffmpeg import R128
from studio.engine.render.levels import asset_samples, file_key
from studio.engine.render.profiles import AudioProfile

JINGLE_BELOW_SPEECH_LU = 2.0
BED_BELOW_SPEECH_LU = 15.0
DUCK_KEY_LUFS = -20.0
MIX_ABOVE_TARGET_LU = 1.5  # the mix's limiter takes up to ~1 LU from speech at -16 LUFS; the final gain stays a cut
GAIN_LIMIT_DB = 40.0
RESAMPLED_PEAK_MARGIN_DB = 1.0  # a sample peak measured before resampling may rise by this much after it
MIX_VERSION = "1"  # bump when the mix graph changes: cached sections are then mixed again


def gain_to(target: float, measured: R128 | None) -> float:
    """The gain (dB) that brings a measured loudness to target; none for silence or no measurement."""
    if measured is None or not math.isfinite(measured.integrated) or measured.integrated < -70:
        return 0.0
    return max(-GAIN_LIMIT_DB, min(GAIN_LIMIT_DB, target - measured.integrated))


def reference_level(profile: AudioProfile) -> float:
    """Narration level in the mix (LUFS)."""
    # A little above target: the final linear gain is then a cut, so the safety limiter after it stays idle.
    return profile.lufs + MIX_ABOVE_TARGET_LU


def plan_mix(
    section: sections.Section,
    profile: AudioProfile,
    narration_level: R128 | None,
    levels: dict[str, R128],
    assets: dict[str, Path],
) -> ff.Mix:
    """Gains that put the section's narration at the target, jingles just under it and the bed well under it."""
    reference = reference_level(profile)
    return ff.Mix(
        narration_gain=gain_to(reference, narration_level),
        narration_samples=section.narration_samples,
        intro=assets.get("intro") if section.intro else None,
        intro_gain=gain_to(reference - JINGLE_BELOW_SPEECH_LU, levels.get("intro")),
        intro_samples=asset_samples(assets.get("intro")) if section.intro else 0,
        outro=assets.get("outro") if section.outro else None,
        outro_gain=gain_to(reference - JINGLE_BELOW_SPEECH_LU, levels.get("outro")),
        outro_samples=asset_samples(assets.get("outro")) if section.outro else 0,
        bed=assets.get("bed") if section.bed_ranges else None,
        bed_gain=gain_to(reference - BED_BELOW_SPEECH_LU, levels.get("bed")),
        bed_samples=asset_samples(assets.get("bed")) if section.bed_ranges else 0,
        bed_ranges=section.bed_ranges,
        duck_key_gain=max(1 / 64, min(64.0, 10 ** ((DUCK_KEY_LUFS - reference) / 20))),
    )


def mix_may_exceed(
    mix: ff.Mix, profile: AudioProfile, narration_level: R128 | None, levels: dict[str, R128], ceiling_db: float
) -> bool:
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
    ends = [
        amplitude(levels.get(name), gain)
        for name, path, gain in (("intro", mix.intro, mix.intro_gain), ("outro", mix.outro, mix.outro_gain))
        if path
    ]
    return max([body, *ends]) >= 10 ** (ceiling_db / 20)


def narration_only(section: sections.Section, profile: AudioProfile) -> bool:
    """Whether the section's mix is its narration alone through linear steps, so its gain may come after it."""
    return (
        not section.bed_ranges and not section.intro and not section.outro and not profile.compress and profile.bandlimit is None
    )


def mix_processing(profile: AudioProfile, limit: bool) -> ff.Processing:
    """The profile's processing of a mix, its limiter on or off."""
    return ff.Processing(
        profile.bandlimit, profile.compress, profile.channels, mix_ceiling(profile), reference_level(profile), limit
    )


def mix_ceiling(profile: AudioProfile) -> float:
    """Sample-peak ceiling of the mix (dBFS): the profile's true-peak ceiling less the intersample margin."""
    return profile.encoder_true_peak - ff.INTERSAMPLE_MARGIN_DB


def narration_source(section: sections.Section, scratch: Path, tag: str) -> ff.NarrationSource:
    """The section's narration: joined by Python when its phrases share one format, else by ffmpeg."""
    segments = section.segments
    rate = narration.common_rate([s.wav for s in segments])
    if rate is None:
        return ff.NarrationSource(segments, lead=section.lead)
    joined = scratch / f"joined-{tag}-{rate}.wav"
    starts = [sum(s.length for s in segments[:i]) for i in range(len(segments))]
    narration.write_layout(segments, starts, rate, joined)
    return ff.NarrationSource(segments, joined, section.lead)


def section_key(section: sections.Section, lines: Sequence[sections.Line], profile: AudioProfile, assets: dict[str, Path]) -> str:
    """The cache key of a section's mix: its layout, its phrase files, the assets it uses and the profile's mix settings."""
    phrases = [file_key(Path(line.wav)) for line in lines[section.first : section.first + section.count]]
    used = {
        name: file_key(path)
        for name, path in assets.items()
        if (name != "intro" or section.intro) and (name != "outro" or section.outro)
    }
    context = {
        "version": MIX_VERSION,
        "assets": used,
        "reference": reference_level(profile),
        "bandlimit": profile.bandlimit,
        "compress": profile.compress,
        "channels": profile.channels,
        "ceiling": profile.encoder_true_peak,
    }
    return sections.section_key(section, [json.dumps(p) for p in phrases], context)


def linear_target(profile: AudioProfile, measured: R128 | None) -> float:
    """Integrated target for loudnorm: the profile's, lowered only if a static gain would push peaks past 0 dBTP."""
    if measured is None or measured.peak is None:
        return profile.lufs
    # Above 0 dBTP loudnorm cannot stay linear; below it the limiter after loudnorm holds the profile's ceiling.
    headroom = -0.1 - (measured.peak + profile.lufs - measured.integrated)
    return profile.lufs + min(0.0, headroom)


def as_r128(programme: programme_loudness.Programme) -> R128 | None:
    """The programme's measurement as loudnorm's first pass would give it (None when silent)."""
    if not math.isfinite(programme.integrated) or programme.integrated <= -70:
        return None
    # Rounded as loudnorm prints it, so the gain it applies is exactly the one chosen.
    return R128(
        round(programme.integrated, 2), round(programme.threshold, 2), round(programme.lra, 1), round(programme.peak_dbfs, 2)
    )
