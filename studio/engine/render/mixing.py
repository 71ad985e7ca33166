"""Mixing one section into the section store: measure its narration, plan the mix, run it, keep its logged loudness."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from studio.engine.render import _ffmpeg as ff
from studio.engine.render import sections
from studio.engine.render._ffmpeg import MIX_RATE, R128
from studio.engine.render.loudness import Blocks, parse_frames
from studio.engine.render.mix_plan import (
    RESAMPLED_PEAK_MARGIN_DB,
    gain_to,
    mix_ceiling,
    mix_may_exceed,
    mix_processing,
    narration_only,
    narration_source,
    plan_mix,
    reference_level,
)
from studio.engine.render.profiles import AudioProfile
from studio.engine.render.progress import no_progress, step
from studio.engine.render.section_store import MixedSection, SectionStore


def narration_level(source: ff.NarrationSource, profile: AudioProfile, stop: Callable[[], bool]) -> R128:
    """Loudness of a section's narration as it will sound in the mix (played on both channels)."""
    spoken = ff.parse_ebur128(step(ff.measure_args([source], {}, profile.bandlimit), stop, no_progress, 1.0))["ebur128@s0"]
    return R128(spoken.integrated + ff.DUAL_MONO_DB, spoken.threshold + ff.DUAL_MONO_DB, spoken.lra, spoken.peak)


def mix_section(
    section: sections.Section,
    key: str,
    profile: AudioProfile,
    asset_levels: Future[dict[str, R128]],
    assets: dict[str, Path],
    scratch: Path,
    store: SectionStore,
    stop: Callable[[], bool],
    report: Callable[[float], None],
) -> MixedSection:
    """Mix one section into the store; return it with its logged loudness.

    A section of narration alone is mixed at unity and measured in the same run; its gain is then
    applied at the encode (a gain commutes with linear steps), unless its peaks would need the
    limiter, when it is mixed again at that gain. Other sections have their narration measured first.
    """
    source = narration_source(section, scratch, key)
    levels = asset_levels.result()
    final = store.mix_path(key)
    # Only the mix that is kept is renamed into place: a trial at unity under the final name could be read by
    # another render of the same section paired with the kept mix's sidecar, unlimited and louder than it says.
    temp = store.temp(final)
    try:
        if narration_only(section, profile):
            mix = plan_mix(section, profile, None, levels, assets)
            blocks, spoken = run_mix(source, mix, mix_processing(profile, False), temp, stop, report)
            gain = gain_to(reference_level(profile), spoken)
            if blocks.peak_dbfs + gain + RESAMPLED_PEAK_MARGIN_DB < mix_ceiling(profile):
                shifted = Blocks(
                    tuple(v + gain for v in blocks.momentary), tuple(v + gain for v in blocks.short_term), blocks.peak_dbfs + gain
                )
                os.replace(temp, final)
                return store.store(key, mix.total_samples, shifted, gain)
            level = spoken
        else:
            level = narration_level(source, profile, stop)
        mix = plan_mix(section, profile, level, levels, assets)
        limit = mix_may_exceed(mix, profile, level, levels, mix_ceiling(profile))
        blocks, _ = run_mix(source, mix, mix_processing(profile, limit), temp, stop, report)
        os.replace(temp, final)
        return store.store(key, mix.total_samples, blocks)
    finally:
        temp.unlink(missing_ok=True)


def run_mix(
    source: ff.NarrationSource,
    mix: ff.Mix,
    processing: ff.Processing,
    out: Path,
    stop: Callable[[], bool],
    report: Callable[[float], None],
) -> tuple[Blocks, R128]:
    """Run one mix into `out` (a temp name the caller renames if it keeps the mix); its logged blocks and summary."""
    log = step(ff.mix_args(source, mix, processing, out), stop, report, mix.total_samples / MIX_RATE)
    momentary, short_term = parse_frames(log, "ebur128@mix")
    summary = ff.parse_ebur128(log)["ebur128@mix"]
    peak = summary.peak if summary.peak is not None else float("-inf")
    return Blocks(momentary, short_term, peak), summary
