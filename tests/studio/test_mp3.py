"""MP3 frame splicing on tiny real LAME files: the Info frame, the CRCs, and a gapless splice."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.mp3 import MP3

from studio.render import _ffmpeg as ff
from studio.render import _mp3

PROFILES = [(48000, 2, "320k"), (24000, 1, "48k")]


def _encode(source: Path, out: Path, rate: int, channels: int, bitrate: str) -> bytes:
    ff.run([
        "-i", str(source), "-c:a", "libmp3lame", "-b:a", bitrate, "-compression_level", "7", "-ar", str(rate), "-ac", str(channels),
        "-map_metadata", "-1", "-id3v2_version", "0", "-write_xing", "1", "-f", "mp3", str(out),
    ])
    return out.read_bytes()


def _programme(path: Path, rate: int, channels: int, pieces: list[tuple[str, int]]) -> None:
    """Tones and silences of exact sample lengths, one after another."""
    inputs, labels = [], []
    for i, (kind, samples) in enumerate(pieces):
        source = {"silence": f"anullsrc=r={rate}:cl=mono", "noise": f"anoisesrc=r={rate}:a=0.3:seed=3"}.get(kind, f"sine=f={kind}:r={rate}")
        inputs += ["-f", "lavfi", "-i", source]
        labels.append(f"[{i}:a]atrim=end_sample={samples},aformat=sample_fmts=flt:channel_layouts=mono[p{i}]")
    graph = ";".join(labels) + ";" + "".join(f"[p{i}]" for i in range(len(pieces))) + f"concat=n={len(pieces)}:v=0:a=1,aformat=channel_layouts={'mono' if channels == 1 else 'stereo'}"
    ff.run([*inputs, "-filter_complex", graph, "-c:a", "pcm_f32le", str(path)])


def _decode(path: Path, channels: int) -> np.ndarray:
    raw = subprocess.run([ff.ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-"], capture_output=True, check=True)
    assert raw.stderr == b"", raw.stderr[-500:]
    return np.frombuffer(raw.stdout, dtype="<f4").reshape(-1, channels)


@pytest.mark.parametrize(("rate", "channels", "bitrate"), PROFILES)
def test_info_frame_is_rebuilt_as_ffmpeg_wrote_it(tmp_path: Path, rate: int, channels: int, bitrate: str) -> None:
    source = tmp_path / "tone.wav"
    _programme(source, rate, channels, [("440", rate * 3 + 123)])
    data = _encode(source, tmp_path / "tone.mp3", rate, channels, bitrate)
    stream = _mp3.read_stream(data)
    assert stream.info is not None and stream.delay == 576 and 0 < stream.padding < 2 * stream.frame_samples
    assert stream.frame_count * stream.frame_samples == 3 * rate + 123 + stream.delay + stream.padding
    assert _mp3.music_crc(stream) == _mp3.crc16(stream.audio)
    rebuilt = _mp3.splice([stream], [None])
    header = _mp3.parse_header(stream.info)
    toc = _mp3._info_offset(header) + 16  # "Info", flags, frames, bytes
    # Every byte is ffmpeg's except the seek table (ffmpeg samples frame positions coarsely) and the tag CRC over it.
    lame = _mp3._lame_offset(stream.info, header)
    assert lame is not None
    differ = [i for i, (a, b) in enumerate(zip(rebuilt, data, strict=True)) if a != b]
    assert all(toc <= i < toc + 100 or i in (lame + 34, lame + 35) for i in differ)
    assert max(abs(a - b) for a, b in zip(rebuilt[toc : toc + 100], data[toc : toc + 100], strict=True)) <= 3
    # and the tag CRC we wrote is right for what we wrote
    zeroed = bytearray(rebuilt[: len(stream.info)])
    zeroed[lame + 34 : lame + 36] = b"\0\0"
    assert int.from_bytes(rebuilt[lame + 34 : lame + 36], "big") == _mp3.crc16(bytes(zeroed[:190]))


@pytest.mark.parametrize(("rate", "channels", "bitrate"), PROFILES)
def test_a_lame_stream_starts_without_borrowing(tmp_path: Path, rate: int, channels: int, bitrate: str) -> None:
    source = tmp_path / "tone.wav"
    _programme(source, rate, channels, [("noise", rate)])
    stream = _mp3.read_stream(_encode(source, tmp_path / "t.mp3", rate, channels, bitrate))
    assert _mp3.main_data_begin(stream.audio[: stream.frame_offsets[1]]) == 0
    assert max(_mp3.main_data_begin(stream.audio[o:]) for o in stream.frame_offsets[1:]) > 0  # later frames do borrow


@pytest.mark.parametrize(("rate", "channels", "bitrate"), PROFILES)
def test_spliced_sections_decode_like_one_encode(tmp_path: Path, rate: int, channels: int, bitrate: str) -> None:
    frame = 1152 if rate >= 32000 else 576
    silence = rate // 2
    first = 40 * frame  # a whole number of frames, ending in half a second of silence
    pieces = [("440", first - silence), ("silence", silence), ("660", 30 * frame - silence), ("silence", silence), ("880", rate)]
    whole = tmp_path / "whole.wav"
    _programme(whole, rate, channels, pieces)
    parts = []
    for name, chunk in (("a", pieces[:2]), ("b", pieces[2:4]), ("c", pieces[4:])):
        wav = tmp_path / f"{name}.wav"
        _programme(wav, rate, channels, chunk)
        parts.append(_mp3.read_stream(_encode(wav, tmp_path / f"{name}.mp3", rate, channels, bitrate)))
    spliced = tmp_path / "spliced.mp3"
    spliced.write_bytes(_mp3.splice(parts, [40, 30, None]))
    single = tmp_path / "single.mp3"
    _encode(whole, single, rate, channels, bitrate)
    a, b = _decode(spliced, channels), _decode(single, channels)
    total = sum(samples for _, samples in pieces)
    assert len(a) == len(b) == total  # gapless, exactly the programme's samples
    # mutagen reads the frame count of our Info frame (whole frames, delay and padding included)
    assert MP3(spliced).info.length == pytest.approx((40 + 30 + parts[2].frame_count) * frame / rate, abs=1e-6)
    tone = np.sqrt(np.mean(b[:first - silence] ** 2))
    assert np.sqrt(np.mean((a - b) ** 2)) < 0.05 * tone  # the same sound, to within coding noise
    for seam in (first, first + 30 * frame):
        assert np.sqrt(np.mean(a[seam - rate // 10 : seam - 10] ** 2)) < 1e-3  # the pause before a seam stays silent: no click
        around = slice(seam - rate // 10, seam + rate // 10)
        assert np.sqrt(np.mean((a[around] - b[around]) ** 2)) < 0.05 * tone
        onset = next(i for i in range(seam, seam + rate) if abs(a[i, 0]) > 0.01)
        assert abs(onset - next(i for i in range(seam, seam + rate) if abs(b[i, 0]) > 0.01)) <= 2


def test_crc_of_joined_and_stripped_data_matches_a_direct_crc() -> None:
    rng = random.Random(7)
    for length_a in (0, 1, 7, 1000, 100_000):
        for length_b in (0, 1, 5, 4321):
            a = bytes(rng.randrange(256) for _ in range(length_a))
            b = bytes(rng.randrange(256) for _ in range(length_b))
            whole = _mp3.crc16(a + b)
            assert _mp3.crc16_combine(_mp3.crc16(a), _mp3.crc16(b), len(b)) == whole
            assert _mp3.crc16_strip_tail(whole, _mp3.crc16(b), len(b)) == _mp3.crc16(a)
    assert _mp3.crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value


def test_bad_input_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no MPEG layer III frame header"):
        _mp3.read_stream(b"\x00" * 400)
    with pytest.raises(ValueError, match="no MP3 frames"):
        _mp3.read_stream(b"")
    stereo, mono = tmp_path / "s.wav", tmp_path / "m.wav"
    _programme(stereo, 48000, 2, [("440", 48000)])
    _programme(mono, 24000, 1, [("440", 24000)])
    a = _mp3.read_stream(_encode(stereo, tmp_path / "s.mp3", 48000, 2, "320k"))
    b = _mp3.read_stream(_encode(mono, tmp_path / "m.mp3", 24000, 1, "48k"))
    with pytest.raises(ValueError, match="cannot be spliced"):
        _mp3.splice([a, b], [None, None])
    truncated = (tmp_path / "s.mp3").read_bytes()[:-100]
    with pytest.raises(ValueError, match="ends inside"):
        _mp3.read_stream(truncated)
