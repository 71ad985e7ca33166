"""Mixing one section into the store with the real ffmpeg: what another render may read under the section's name.

Two renders of the same programme (a video sketch's 16:9 and 9:16, say) mix its sections side by side
into one store. Whatever a render finds under a section's name must be the mix its sidecar describes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from studio.engine.render._ffmpeg import R128
from studio.engine.render.mix_plan import RESAMPLED_PEAK_MARGIN_DB, mix_ceiling, narration_only, section_key
from studio.engine.render.mixing import mix_section
from studio.engine.render.profiles import PROFILES
from studio.engine.render.section_store import MixedSection, SectionStore
from studio.engine.render.sections import Line, plan
from tests.helpers import decode_pcm

PROFILE = PROFILES["podcast"]


def _quiet_speech_with_a_click(path: Path) -> None:
    """Two seconds of quiet syllable-like noise and one full-scale click: its gain to the mix level needs the limiter."""
    rate = 22050
    rng = np.random.default_rng(7)
    t = np.arange(2 * rate) / rate
    signal = 0.02 * rng.standard_normal(t.size) * np.abs(np.sin(2 * np.pi * 4 * t))
    signal[rate] = 0.99
    wavfile.write(path, rate, (np.clip(signal, -1, 1) * 32767).astype(np.int16))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_second_mix_of_a_cached_section_never_shows_its_unity_trial(tmp_path: Path) -> None:
    phrase = tmp_path / "phrase.wav"
    _quiet_speech_with_a_click(phrase)
    lines = [Line(phrase, 2.0, 400, False, None)]
    section = plan(lines)[0]
    assert narration_only(section, PROFILE)
    key = section_key(section, lines, PROFILE, {})
    store = SectionStore(tmp_path / "sections")
    levels: Future[dict[str, R128]] = Future()
    levels.set_result({})

    def mix(report: Callable[[float], None]) -> MixedSection:
        return mix_section(section, key, PROFILE, levels, {}, tmp_path, store, lambda: False, report)

    first = mix(lambda fraction: None)
    # The click put the unity trial over the ceiling: this section was mixed a second time, at its gain, limited.
    assert first.gain_db == 0.0
    kept = _digest(store.mix_path(key))
    peak_db = 20 * np.log10(np.max(np.abs(decode_pcm(store.mix_path(key), rate=48000, channels=2))))
    assert peak_db < mix_ceiling(PROFILE) + RESAMPLED_PEAK_MARGIN_DB

    seen: list[str] = []

    def look(fraction: float) -> None:
        seen.append(_digest(store.mix_path(key)))
        assert store.load(key) is not None

    again = mix(look)
    assert len(seen) >= 2  # both runs of the second mix reported while the first one's files were in place
    assert set(seen) == {kept}, "another render could read a mix its sidecar does not describe"
    assert _digest(store.mix_path(key)) == kept and again.blocks == first.blocks
    assert not list(store.root.glob(".*.part"))
