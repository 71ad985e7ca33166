"""Audio rendering on tiny real files with the real ffmpeg: profiles, loudness, timings, chapters, cancel."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import pytest
from mutagen.id3 import ID3
from scipy.signal import resample_poly

from studio.engine.render import _ffmpeg as ff
from studio.engine.render.audio import (
    AudioResult,
    NarrationLine,
    default_asset,
    measure_loudness,
    probe_duration,
    render_audio,
)
from studio.engine.render.profiles import PROFILES
from studio.engine.render.sections import Line, plan
from tests.helpers import mp3_info, mp4_info

# Each profile's render and the progress values it reported.
Rendered = dict[str, tuple[AudioResult, list[float]]]
LINES = [  # (duration s, pause ms, bed, chapter)
    (1.3, 300, True, "Mở đầu"),
    (2.1, 400, False, "Điều 1"),
    (1.6, 250, False, None),
    (1.2, 500, True, "Kết thúc"),
]


def _speechlike(path: Path, duration: float, seed: int) -> None:
    """Band-limited noise with a syllable-rate envelope, 22.05 kHz mono, like a TTS sentence."""
    graph = (
        f"anoisesrc=d={duration}:r=22050:a=0.6:seed={seed},bandpass=f=900:width_type=h:w=1400,"
        f"volume='0.15+0.85*abs(sin(2*PI*{3 + seed % 3}*t))':eval=frame"
    )
    ff.run(["-f", "lavfi", "-i", graph, "-ac", "1", "-c:a", "pcm_s16le", str(path)])


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[NarrationLine]:
    root = tmp_path_factory.mktemp("tts")
    result = []
    for index, (duration, pause, bed, chapter) in enumerate(LINES):
        wav = root / f"line{index}.wav"
        _speechlike(wav, duration, index + 1)
        result.append(NarrationLine(wav, duration, pause, bed, chapter))
    return result


def _render(lines: list[NarrationLine], profile: str, root: Path, **kwargs: Any) -> AudioResult:
    return render_audio(
        lines,
        PROFILES[profile],
        root / "out" / f"{profile}.{PROFILES[profile].extension}",
        intro=default_asset("jingle-intro.flac"),
        outro=default_asset("jingle-outro.flac"),
        bed=default_asset("music-bed.flac"),
        work_dir=root / "work",
        title="Tìm hiểu pháp luật",
        artist="Sở Tư pháp",
        album="Chuyên mục pháp luật",
        **kwargs,
    )


@pytest.fixture(scope="module")
def rendered(lines: list[NarrationLine], tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    root = tmp_path_factory.mktemp("render")
    out: Rendered = {}
    for profile in ("radio", "loudspeaker", "podcast"):
        seen: list[float] = []
        out[profile] = (_render(lines, profile, root, on_progress=seen.append), seen)
    return out


def _decode(path: Path, rate: int, channels: int) -> np.ndarray:
    raw = subprocess.run(
        [
            ff.ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-f",
            "f32le",
            "-ac",
            str(channels),
            "-ar",
            str(rate),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).astype(np.float64)


def _expected_duration(lines: list[NarrationLine]) -> float:
    intro, outro = probe_duration(default_asset("jingle-intro.flac")), probe_duration(default_asset("jingle-outro.flac"))
    return intro + sum(line.duration_s + line.pause_after_ms / 1000 for line in lines) + outro


@pytest.mark.parametrize("profile", ["radio", "loudspeaker", "podcast"])
def test_encoding_matches_profile(rendered: Rendered, profile: str) -> None:
    result, _ = rendered[profile]
    spec = PROFILES[profile]
    info = mp3_info(result.path)
    assert result.path.exists() and result.path.suffix == ".mp3"
    assert info.sample_rate == spec.sample_rate
    assert info.channels == spec.channels
    assert info.bitrate == int(spec.bitrate.rstrip("k")) * 1000


@pytest.mark.parametrize("profile", ["radio", "loudspeaker", "podcast"])
def test_duration_is_intro_lines_pauses_outro(rendered: Rendered, lines: list[NarrationLine], profile: str) -> None:
    result, _ = rendered[profile]
    expected = _expected_duration(lines)
    assert result.duration_s == pytest.approx(expected, abs=0.002)
    # mutagen counts whole MP3 frames (encoder delay and padding included); decoders trim them.
    assert mp3_info(result.path).length == pytest.approx(expected, abs=0.1)
    decoded = _decode(result.path, PROFILES[profile].sample_rate, PROFILES[profile].channels)
    assert len(decoded) / PROFILES[profile].sample_rate == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("profile", ["radio", "loudspeaker", "podcast"])
def test_loudness_meets_target(rendered: Rendered, profile: str) -> None:
    result, _ = rendered[profile]
    spec = PROFILES[profile]
    samples = _decode(result.path, spec.sample_rate, spec.channels)
    loudness = pyloudnorm.Meter(spec.sample_rate).integrated_loudness(samples)
    assert loudness == pytest.approx(spec.lufs, abs=1.0)
    true_peak = 20 * np.log10(np.max(np.abs(resample_poly(samples, 4, 1, axis=0))))
    assert true_peak <= spec.true_peak
    assert result.loudness.integrated_lufs == pytest.approx(loudness, abs=1.0)


def test_loudspeaker_is_band_limited(rendered: Rendered) -> None:
    result, _ = rendered["loudspeaker"]
    samples = _decode(result.path, 24000, 1)[:, 0]
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 24000)
    in_band = spectrum[(freqs > 300) & (freqs < 3400)].sum()
    above = spectrum[freqs > 6000].sum()
    assert above < in_band * 1e-3


def test_timings_follow_line_durations(rendered: Rendered, lines: list[NarrationLine]) -> None:
    result, _ = rendered["radio"]
    intro = probe_duration(default_asset("jingle-intro.flac"))
    assert [t.index for t in result.timings] == list(range(len(lines)))
    assert result.timings[0].start_s == pytest.approx(intro, abs=1e-3)
    for timing, line in zip(result.timings, lines, strict=True):
        assert timing.end_s - timing.start_s == pytest.approx(line.duration_s, abs=1e-3)
    for before, after, line in zip(result.timings, result.timings[1:], lines, strict=False):
        assert after.start_s == pytest.approx(before.end_s + line.pause_after_ms / 1000, abs=1e-3)
        assert after.start_s > before.end_s


def test_speech_sits_where_timings_say(rendered: Rendered) -> None:
    result, _ = rendered["podcast"]
    samples = _decode(result.path, 44100, 1)[:, 0]
    second = result.timings[1]
    inside = samples[int((second.start_s + 0.2) * 44100) : int((second.end_s - 0.2) * 44100)]
    pause = samples[int((second.end_s + 0.08) * 44100) : int((second.end_s + 0.32) * 44100)]
    # Line 2 has no bed, so its pause is near silence while its speech is loud.
    assert np.sqrt(np.mean(inside**2)) > 30 * np.sqrt(np.mean(pause**2))


@pytest.mark.parametrize("profile", ["radio", "podcast"])
def test_id3_tags_and_chapters(rendered: Rendered, profile: str) -> None:
    result, _ = rendered[profile]
    tags = ID3(result.path)
    assert str(tags["TIT2"]) == "Tìm hiểu pháp luật"
    assert str(tags["TPE1"]) == "Sở Tư pháp"
    assert str(tags["TALB"]) == "Chuyên mục pháp luật"
    assert str(tags["TLAN"]) == "vie"
    chapters = sorted(tags.getall("CHAP"), key=lambda frame: frame.start_time)
    expected = [(t.start_s, line[3]) for t, line in zip(result.timings, LINES, strict=True) if line[3]]
    assert result.chapters == expected
    assert [str(c.sub_frames["TIT2"]) for c in chapters] == [name for _, name in expected]
    assert [c.start_time for c in chapters] == [round(start * 1000) for start, _ in expected]
    assert chapters[-1].end_time == round(result.duration_s * 1000)
    toc = tags.getall("CTOC")
    assert len(toc) == 1 and list(toc[0].child_element_ids) == [c.element_id for c in chapters]


def test_progress_is_monotone_and_ends_at_one(rendered: Rendered) -> None:
    for _, seen in rendered.values():
        assert seen, "no progress reported"
        assert all(b >= a for a, b in pairwise(seen))
        assert seen[0] >= 0.0 and seen[-1] == 1.0


def test_reported_loudness_matches_ffmpeg_measure(rendered: Rendered) -> None:
    result, _ = rendered["radio"]
    measured = measure_loudness(result.path)
    assert measured.integrated_lufs == pytest.approx(-23.0, abs=1.0)
    assert measured.true_peak_dbtp <= -1.0


def test_video_audio_is_tagged_aac(lines: list[NarrationLine], tmp_path: Path) -> None:
    from mutagen.mp4 import MP4

    result = render_audio(
        lines[:2],
        PROFILES["video_web"],
        tmp_path / "a.m4a",
        intro=None,
        outro=None,
        bed=None,
        work_dir=tmp_path,
        title="Tiểu phẩm",
    )
    info = mp4_info(result.path)
    assert info.codec.startswith("mp4a") and info.sample_rate == 48000 and info.channels == 2
    assert MP4(result.path)["\xa9nam"] == ["Tiểu phẩm"]
    assert result.timings[0].start_s == 0.0
    assert result.duration_s == pytest.approx(sum(line.duration_s + line.pause_after_ms / 1000 for line in lines[:2]), abs=1e-3)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cancel_leaves_nothing_behind(lines: list[NarrationLine], tmp_path: Path) -> None:
    state = {"calls": 0}

    def cancel() -> bool:
        state["calls"] += 1
        return state["calls"] > 2  # lets the first pass start, then stops mid-render

    with pytest.raises(ff.Cancelled):
        _render(lines, "radio", tmp_path, cancel=cancel)
    out_dir, work_dir = tmp_path / "out", tmp_path / "work"
    assert not (out_dir / "radio.mp3").exists()
    assert (list(out_dir.iterdir()) if out_dir.exists() else []) == []
    assert list(work_dir.iterdir()) == []


def test_cancel_kills_a_running_ffmpeg(tmp_path: Path) -> None:
    args = ["-f", "lavfi", "-i", "anoisesrc=d=600:r=48000", "-af", "loudnorm", "-f", "null", "-"]
    flags = iter([False, False, True])
    with pytest.raises(ff.Cancelled):
        ff.run(args, cancel=lambda: next(flags, True), timeout_s=30)


def test_ffmpeg_error_carries_stderr_tail(tmp_path: Path) -> None:
    with pytest.raises(ff.FFmpegError) as info:
        ff.run(["-i", str(tmp_path / "missing.wav"), "-f", "null", "-"])
    assert "missing.wav" in info.value.stderr


def test_section_layout_is_exact_and_does_not_drift() -> None:
    lines = [Line(Path(f"{i}.wav"), 1 / 3, 333, False, None) for i in range(300)]
    (section,) = plan(lines)
    assert section.narration_samples == round(300 * (1 / 3 + 0.333) * 48000)
    assert sum(s.length for s in section.segments) == section.narration_samples
    assert section.starts[150] == round(150 * (1 / 3 + 0.333) * 48000)


def test_default_assets_are_small_and_findable() -> None:
    for name in ("jingle-intro", "jingle-outro", "music-bed"):
        path = default_asset(f"{name}.wav")  # the .wav name finds the bundled .flac
        assert path.suffix == ".flac" and path.stat().st_size < 600_000
    assert 3.0 <= probe_duration(default_asset("jingle-intro.flac")) <= 4.0
    assert 2.0 <= probe_duration(default_asset("jingle-outro.flac")) <= 3.0
    assert (default_asset("LICENSE-audio.txt")).read_text().count("CC0") >= 1


def _tone_level_db(samples: np.ndarray, rate: int, start: float, end: float, freq: float) -> float:
    """Level of one pure tone in a stretch of audio: the Hann-windowed FFT peak within 3 Hz of freq."""
    piece = samples[int(start * rate) : int(end * rate)]
    spectrum = np.abs(np.fft.rfft(piece * np.hanning(len(piece))))
    freqs = np.fft.rfftfreq(len(piece), 1 / rate)
    return float(20 * np.log10(spectrum[(freqs > freq - 3) & (freqs < freq + 3)].max() + 1e-12))


def test_music_bed_plays_under_bed_lines_and_ducks_under_speech(tmp_path: Path) -> None:
    speech = tmp_path / "long.wav"
    _speechlike(speech, 4.0, 7)  # its energy lies between 200 and 1600 Hz
    bed_line = [NarrationLine(speech, 4.0, 2000, True, None)]
    dry_line = [NarrationLine(speech, 4.0, 2000, False, None)]
    kwargs: dict[str, Any] = dict(intro=None, outro=None, bed=default_asset("music-bed.flac"), work_dir=tmp_path / "work")
    with_bed = render_audio(bed_line, PROFILES["radio"], tmp_path / "bed.mp3", **kwargs)
    without = render_audio(dry_line, PROFILES["radio"], tmp_path / "dry.mp3", **kwargs)
    f3 = 174.61  # the bed's lowest partial, below the speech band
    wet, dry = _decode(with_bed.path, 48000, 1)[:, 0], _decode(without.path, 48000, 1)[:, 0]
    end = with_bed.timings[0].end_s
    under_speech = _tone_level_db(wet, 48000, 1.5, 3.5, f3)
    in_pause = _tone_level_db(wet, 48000, end + 0.6, end + 1.6, f3)
    assert in_pause - under_speech >= 4.0  # ducked by the sidechain while the narration speaks (about 7 dB here)
    assert in_pause - _tone_level_db(dry, 48000, end + 0.6, end + 1.6, f3) >= 30.0  # and absent without bed
    assert under_speech - _tone_level_db(dry, 48000, 1.5, 3.5, f3) >= 10.0  # still there, under the voice


def test_joined_narration_matches_ffmpeg_layout(lines: list[NarrationLine], tmp_path: Path) -> None:
    from studio.engine.render import narration

    (section,) = plan([Line(n.wav, n.duration_s, n.pause_after_ms, n.bed, n.chapter) for n in lines])
    assert narration.common_rate([s.wav for s in section.segments]) == 22050
    by_ffmpeg, by_python = tmp_path / "ffmpeg.wav", tmp_path / "python.wav"
    ff.run(ff.narration_args(ff.NarrationSource(section.segments), by_ffmpeg))
    joined = tmp_path / "joined.wav"
    assert narration.write_layout(section.segments, section.starts, 22050, joined) == round(
        section.narration_samples * 22050 / 48000
    )
    ff.run(ff.narration_args(ff.NarrationSource(section.segments, joined), by_python))
    a, b = _decode(by_ffmpeg, 48000, 1)[:, 0], _decode(by_python, 48000, 1)[:, 0]
    assert len(a) == len(b) == section.narration_samples
    for start, segment in zip(section.starts, section.segments, strict=True):
        # the same samples, resampled once instead of per line; a slot edge may move by under one 22.05 kHz sample
        x = a[start + 10 : start + segment.length - 10]
        residual = min(
            np.sqrt(np.mean((x - b[start + 10 + lag : start + segment.length - 10 + lag]) ** 2)) for lag in range(-2, 3)
        )
        assert residual / np.sqrt(np.mean(x**2)) < 0.05
    for start in section.starts[1:]:  # silence before each line's slot boundary in both
        assert np.max(np.abs(b[start - 480 : start - 20])) < 1e-3


def test_phrases_of_mixed_formats_are_joined_by_ffmpeg(tmp_path: Path) -> None:
    from studio.engine.render import narration

    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    ff.run(["-f", "lavfi", "-i", "sine=f=300:d=0.5:r=22050", "-ac", "1", "-c:a", "pcm_s16le", str(first)])
    ff.run(["-f", "lavfi", "-i", "sine=f=300:d=0.5:r=24000", "-ac", "1", "-c:a", "pcm_s16le", str(second)])
    assert narration.common_rate([first, first]) == 22050
    assert narration.common_rate([first, second]) is None
    result = render_audio(
        [NarrationLine(first, 0.5, 200), NarrationLine(second, 0.5, 200)],
        PROFILES["podcast"],
        tmp_path / "mixed.mp3",
        intro=None,
        outro=None,
        bed=None,
        work_dir=tmp_path / "work",
    )
    assert result.duration_s == pytest.approx(1.4, abs=1e-3)
    assert len(_decode(result.path, 44100, 1)) / 44100 == pytest.approx(1.4, abs=0.05)


@pytest.mark.parametrize("profile", ["radio", "loudspeaker", "podcast"])
def test_decoded_loudness_is_what_was_reported(rendered: Rendered, profile: str) -> None:
    # the codec's own level loss (LAME at 128k and below) and the limiter's share are made up and reported
    result, _ = rendered[profile]
    spec = PROFILES[profile]
    decoded = pyloudnorm.Meter(spec.sample_rate).integrated_loudness(_decode(result.path, spec.sample_rate, spec.channels))
    assert decoded == pytest.approx(spec.lufs, abs=0.3)
    assert result.loudness.integrated_lufs == pytest.approx(decoded, abs=0.2)


def test_codec_loss_is_learned_once_per_encoder(tmp_path: Path) -> None:
    from studio.engine.render.codec_loss import codec_loss_db

    lame = ff.Encode(-16.0, -2.0, 11.0, 44100, 2, "libmp3lame", "128k", "mp3", 10.0)
    loss = codec_loss_db(lame, tmp_path)
    assert 0.2 <= loss <= 0.8  # LAME scales its input down a little at 160 kbit/s and below
    assert codec_loss_db(ff.Encode(-23.0, -1.5, 15.0, 48000, 2, "libmp3lame", "320k", "mp3", 10.0), tmp_path) == pytest.approx(
        0.0, abs=0.1
    )
    assert codec_loss_db(ff.Encode(-23.0, -1.0, 15.0, 48000, 2, "pcm_s16le", None, "wav", 10.0), tmp_path) == 0.0
    assert list(tmp_path.iterdir()) == []


def _sectioned_lines(root: Path, seeds: Sequence[int]) -> list[NarrationLine]:
    """Four provisions (heading + body), each a section of its own."""
    out = []
    for n, seed in enumerate(seeds):
        wav = root / f"s{seed}.wav"
        if not wav.exists():
            _speechlike(wav, 1.0 + 0.2 * (seed % 4), seed)
        out.append(NarrationLine(wav, 1.0 + 0.2 * (seed % 4), 600, False, f"Điều {n // 2 + 1}" if n % 2 == 0 else None))
    return out


def _render_sections(lines: list[NarrationLine], root: Path, name: str, cache: Path) -> AudioResult:
    return render_audio(
        lines,
        PROFILES["radio"],
        root / f"{name}.mp3",
        intro=default_asset("jingle-intro.flac"),
        outro=default_asset("jingle-outro.flac"),
        bed=default_asset("music-bed.flac"),
        work_dir=root / "work",
        cache_dir=cache,
    )


def test_an_edit_mixes_and_encodes_only_its_section(tmp_path: Path) -> None:
    cache = tmp_path / "sections"
    first = _render_sections(_sectioned_lines(tmp_path, range(1, 9)), tmp_path, "first", cache)
    assert first.sections_mixed == 4 and first.sections_encoded >= 4  # more if the early guess of the gain missed
    again = _render_sections(_sectioned_lines(tmp_path, range(1, 9)), tmp_path, "again", cache)
    assert (again.sections_mixed, again.sections_encoded) == (0, 0)
    assert again.path.read_bytes() == first.path.read_bytes()
    edited = _render_sections(_sectioned_lines(tmp_path, [1, 2, 3, 4, 5, 11, 7, 8]), tmp_path, "edited", cache)
    assert (edited.sections_mixed, edited.sections_encoded) == (1, 1)  # Điều 3 only
    spec = PROFILES["radio"]
    a, b = _decode(first.path, 48000, 2), _decode(edited.path, 48000, 2)
    assert len(b) / 48000 == pytest.approx(edited.duration_s, abs=0.03)
    assert pyloudnorm.Meter(48000).integrated_loudness(b) == pytest.approx(spec.lufs, abs=0.3)
    # Everything before Điều 3 is the same sound; the seam sits in the pause before its heading.
    seam = round(edited.timings[4].start_s * 48000) - 2400
    assert np.max(np.abs(a[:seam] - b[:seam])) < 1e-4
    changed = round(edited.timings[5].start_s * 48000)
    assert np.max(np.abs(a[changed : changed + 24000] - b[changed : changed + 24000])) > 1e-2


def test_spliced_sections_play_as_one_programme(tmp_path: Path) -> None:
    result = _render_sections(_sectioned_lines(tmp_path, range(1, 9)), tmp_path, "spliced", tmp_path / "sections")
    mixes = sorted((tmp_path / "sections").glob("*.wav"), key=lambda p: p.stat().st_mtime_ns)
    assert len(mixes) == 4
    decoded = _decode(result.path, 48000, 2)
    assert len(decoded) == round(result.duration_s * 48000)  # gapless: exactly the planned samples
    assert mp3_info(result.path).length == pytest.approx(result.duration_s, abs=0.1)  # mutagen counts whole frames
    for timing in result.timings[2::2]:  # each section's first line starts where the timings say
        start = round(timing.start_s * 48000)
        before = decoded[start - 9600 : start - 480]
        after = decoded[start + 480 : start + 9600]
        assert np.sqrt(np.mean(after**2)) > 30 * np.sqrt(np.mean(before**2))


def test_bundled_levels_are_current() -> None:
    from assets.storage import sha256_file
    from studio.engine.render import levels

    shipped = levels.bundled_levels()
    paths = {name: levels.DEFAULTS_DIR / file for name, file in levels.BUNDLED.items()}
    fresh = ff.parse_ebur128(ff.run(ff.measure_args([], paths)))
    for name, path in paths.items():
        entry = shipped[path.name]
        assert entry["sha256"] == sha256_file(path), f"{path.name} changed: run write_bundled_levels()"
        assert entry["integrated"] == pytest.approx(fresh[f"ebur128@{name}"].integrated, abs=0.05)
        assert entry["peak"] == pytest.approx(fresh[f"ebur128@{name}"].peak, abs=0.05)
    assert levels.measure_assets(paths) == {name: levels.known_level(path, shipped) for name, path in paths.items()}


def test_a_section_encode_is_a_plain_gain_without_limiter() -> None:
    target = ff.Encode(-23.0, -1.5, 15.0, 48000, 2, "libmp3lame", "320k", "mp3", 10.0)
    graph = " ".join(ff.encode_args([Path("s.wav")], target, None, Path("s.mp3"), section_gain_db=-1.25))
    assert "volume=-1.25dB" in graph and "alimiter" not in graph and "loudnorm" not in graph and "-t" not in graph.split()
    whole = " ".join(ff.encode_args([Path("w.wav")], target, None, Path("w.mp3")))
    assert "alimiter" in whole  # without a measurement the whole-file path keeps its safety limiter


def test_section_store_prunes_stale_temp_files_and_least_recently_used(tmp_path: Path) -> None:
    import os
    import time

    from studio.engine.render.section_store import STALE_TEMP_S, SectionStore

    store = SectionStore(tmp_path)
    old, recent, kept, stale, fresh_temp = (tmp_path / n for n in ("a.wav", "b.wav", "c.wav", ".d.wav.1.part", ".e.wav.2.part"))
    for path in (old, recent, kept, stale, fresh_temp):
        path.write_bytes(b"x" * 1000)
    now = time.time()
    os.utime(old, (now - 100, now - 100))
    os.utime(kept, (now - 200, now - 200))
    os.utime(stale, (now - STALE_TEMP_S - 10, now - STALE_TEMP_S - 10))
    store.prune(3000, keep={kept})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".e.wav.2.part", "b.wav", "c.wav"]
