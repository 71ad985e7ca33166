"""MP3 frame splicing on tiny real LAME files: the Info frame, the CRCs, and a gapless splice."""

from __future__ import annotations

import random
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from studio.engine.render import _mp3
from tests.helpers import mp3_info

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
PROFILES = [(48000, 2, "320k"), (24000, 1, "48k")]
PROFILE_IDS = ["48k-stereo-320k", "24k-mono-48k"]
LOG_TROUBLE = ("invalid", "header missing", "overread", "mp3_decode", "mp3float", "error", "concatenated", "skipping")


def _ffmpeg(*args: str) -> str:
    done = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def _encode(source: Path, out: Path, rate: int, channels: int, bitrate: str, *, xing: bool = True) -> bytes:
    _ffmpeg(
        "-v",
        "error",
        "-i",
        str(source),
        "-c:a",
        "libmp3lame",
        "-b:a",
        bitrate,
        "-compression_level",
        "7",
        "-ar",
        str(rate),
        "-ac",
        str(channels),
        "-map_metadata",
        "-1",
        "-id3v2_version",
        "0",
        "-write_xing",
        "1" if xing else "0",
        "-f",
        "mp3",
        str(out),
    )
    return out.read_bytes()


def _chirp(rate: int, channels: int, start_hz: int, samples: int) -> str:
    # A sweep, not a steady tone: its cross-correlation has a single sharp peak.
    left = f"0.25*sin(2*PI*({start_hz}*t+300*t*t))"
    right = f"0.2*sin(2*PI*({start_hz + 50}*t+250*t*t))"
    return f"aevalsrc={left if channels == 1 else left + '|' + right}:s={rate}:d={samples / rate + 0.1}"


def _make_wav(path: Path, rate: int, channels: int, pieces: list[tuple[int, int]]) -> None:
    """Chirps (start frequency > 0) and silences (0) of exact sample lengths, one after another, as 16-bit PCM."""
    inputs, graph = [], []
    layout = "mono" if channels == 1 else "stereo"
    for i, (start_hz, samples) in enumerate(pieces):
        source = _chirp(rate, channels, start_hz, samples) if start_hz else f"anullsrc=r={rate}:cl={layout}"
        inputs += ["-f", "lavfi", "-i", source]
        graph.append(f"[{i}:a]atrim=end_sample={samples},aformat=sample_fmts=flt:channel_layouts={layout}[p{i}]")
    labels = "".join(f"[p{i}]" for i in range(len(pieces)))
    _ffmpeg(
        "-v",
        "error",
        *inputs,
        "-filter_complex",
        ";".join(graph) + f";{labels}concat=n={len(pieces)}:v=0:a=1",
        "-c:a",
        "pcm_s16le",
        str(path),
    )


def _read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes()), wav.getnframes()


def _write_wav(path: Path, pcm: bytes, rate: int, channels: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)


def _decode(path: Path, channels: int) -> np.ndarray:
    """Float PCM as ffmpeg decodes it (encoder delay and padding from the LAME tag applied); no warnings allowed."""
    done = subprocess.run(
        [FFMPEG, "-nostdin", "-v", "warning", "-i", str(path), "-f", "f32le", "-"], capture_output=True, check=True
    )
    assert done.stderr == b"", done.stderr[-2000:]
    return np.frombuffer(done.stdout, dtype="<f4").reshape(-1, channels)


def _info_fields(data: bytes) -> dict[str, int]:
    """The Xing/LAME fields of the file's first frame, read independently of the module (ffmpeg's layout: all four Xing flags)."""
    tag = data.find(b"Info", 0, 64)
    tag = tag if tag >= 0 else data.find(b"Xing", 0, 64)
    assert tag > 0 and int.from_bytes(data[tag + 4 : tag + 8], "big") == 0x0F
    lame = tag + 120
    packed = int.from_bytes(data[lame + 21 : lame + 24], "big")
    return {
        "frames": int.from_bytes(data[tag + 8 : tag + 12], "big"),
        "bytes": int.from_bytes(data[tag + 12 : tag + 16], "big"),
        "delay": packed >> 12,
        "padding": packed & 0xFFF,
        "music_length": int.from_bytes(data[lame + 28 : lame + 32], "big"),
        "music_crc": int.from_bytes(data[lame + 32 : lame + 34], "big"),
        "tag_crc": int.from_bytes(data[lame + 34 : lame + 36], "big"),
    }


# --- 1. the Info frame writer matches ffmpeg's field by field -----------------------------------


@pytest.mark.parametrize(("rate", "channels", "bitrate"), PROFILES, ids=PROFILE_IDS)
def test_identity_splice_rebuilds_ffmpegs_info_frame_byte_for_byte(
    tmp_path: Path, rate: int, channels: int, bitrate: str
) -> None:
    samples = 12 * rate + 321  # over 400 frames, so ffmpeg's seek table has halved its bags once
    source = tmp_path / "tone.wav"
    _make_wav(source, rate, channels, [(400, samples)])
    data = _encode(source, tmp_path / "tone.mp3", rate, channels, bitrate)
    stream = _mp3.read_stream(data)
    assert stream.info is not None and data.startswith(stream.info) and data.endswith(stream.audio)
    assert len(stream.info) + len(stream.audio) == len(data)
    assert (stream.sample_rate, stream.channels, stream.frame_samples) == (rate, channels, 1152 if rate > 24000 else 576)
    assert stream.frame_count > 400 and stream.frame_offsets[0] == 0
    fields = _info_fields(data)
    # What ffmpeg's muxer put there: frames exclude the Info frame; bytes and music length include it;
    # the music CRC is CRC-16/ARC of the audio frames only; padding closes frames*spf = delay + samples + padding.
    assert fields["frames"] == stream.frame_count
    assert fields["bytes"] == fields["music_length"] == len(data)
    assert fields["music_crc"] == _mp3.crc16(stream.audio)
    assert (
        (stream.delay, stream.padding)
        == (fields["delay"], fields["padding"])
        == (576, stream.frame_count * stream.frame_samples - 576 - samples)
    )
    assert _mp3.splice([stream], [None]) == data
    # An ID3v2 tag before and APE + ID3v1 tags after change nothing but are dropped.
    id3v2 = b"ID3\x04\x00\x00" + bytes([0, 0, 1, 0]) + b"\0" * 128
    ape = b"APETAGEX" + (2000).to_bytes(4, "little") + (32).to_bytes(4, "little") + bytes(16)
    id3v1 = b"TAG" + b"title".ljust(125, b"\0")
    tagged = _mp3.read_stream(id3v2 + data + ape + id3v1)
    assert tagged == stream
    assert _mp3.splice([tagged], [None]) == data


def test_a_stream_without_info_frame_splices_to_bare_frames(tmp_path: Path) -> None:
    source = tmp_path / "tone.wav"
    _make_wav(source, 24000, 1, [(400, 12000)])
    data = _encode(source, tmp_path / "bare.mp3", 24000, 1, "48k", xing=False)
    stream = _mp3.read_stream(data)
    assert stream.info is None and stream.audio == data and (stream.delay, stream.padding) == (0, 0)
    assert _mp3.splice([stream, stream], [3, None]) == data[: stream.frame_offsets[3]] + data


# --- the programme, whole and in sections (shared by the next tests) -----------------------------


@dataclass(frozen=True)
class Programme:
    rate: int
    channels: int
    frame: int
    length: int  # samples
    seams: tuple[int, int]
    keep: tuple[int, int]
    reference: np.ndarray  # the PCM that was encoded
    single: Path  # the programme encoded in one run
    sections: tuple[_mp3.Stream, ...]
    spliced: Path


@pytest.fixture(scope="module", params=PROFILES, ids=PROFILE_IDS)
def programme(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Programme:
    rate, channels, bitrate = request.param
    frame = 1152 if rate > 24000 else 576
    folder = tmp_path_factory.mktemp(f"programme{rate}")
    # tone + 1 s silence + tone + 1 s silence + tone; the seams sit inside the silences on frame boundaries.
    whole = folder / "whole.wav"
    _make_wav(whole, rate, channels, [(300, rate), (0, rate), (500, rate), (0, rate), (700, rate)])
    pcm, length = _read_wav(whole)
    seams = (3 * rate // 2 // frame * frame, 7 * rate // 2 // frame * frame)
    bounds = (0, *seams, length)
    paths = []
    width = 2 * channels
    for n in range(3):
        wav = folder / f"section{n}.wav"
        _write_wav(wav, pcm[bounds[n] * width : bounds[n + 1] * width], rate, channels)
        paths.append(wav)
    single = folder / "single.mp3"
    _encode(whole, single, rate, channels, bitrate)
    sections = tuple(_mp3.read_stream(_encode(wav, wav.with_suffix(".mp3"), rate, channels, bitrate)) for wav in paths)
    keep = (seams[0] // frame, (seams[1] - seams[0]) // frame)
    spliced = folder / "spliced.mp3"
    spliced.write_bytes(_mp3.splice(sections, [*keep, None]))
    reference = np.frombuffer(pcm, dtype="<i2").reshape(-1, channels).astype(np.float32) / 32768
    return Programme(rate, channels, frame, length, seams, keep, reference, single, sections, spliced)


# --- 2. LAME streams start with an empty bit reservoir -------------------------------------------


def test_a_fresh_lame_stream_starts_without_borrowing(programme: Programme) -> None:
    for stream in programme.sections:
        assert _mp3.main_data_begin(stream.audio[: stream.frame_offsets[1]]) == 0
        # later frames do borrow, so the field really is read
        assert max(_mp3.main_data_begin(stream.audio[o : o + 8]) for o in stream.frame_offsets[1:]) > 0


def test_a_stream_whose_first_frame_borrows_is_refused(programme: Programme) -> None:
    stream = programme.sections[0]
    borrowing = next(o for o in stream.frame_offsets[1:] if _mp3.main_data_begin(stream.audio[o : o + 8]) > 0)
    cut = _mp3.read_stream(stream.audio[borrowing:])
    with pytest.raises(ValueError, match="stream 1 borrows from a bit reservoir"):
        _mp3.splice([stream, cut], [programme.keep[0], None])


# --- 3. the sections spliced decode like the programme encoded whole ----------------------------


def test_spliced_sections_decode_gaplessly_like_one_encode(programme: Programme) -> None:
    p = programme
    for stream, keep in zip(p.sections, p.keep, strict=False):
        assert stream.delay == 576 and stream.frame_count > keep  # the encoder's lead-out frames get dropped
    spliced, single = _decode(p.spliced, p.channels), _decode(p.single, p.channels)
    assert len(single) == len(spliced) == p.length == 5 * p.rate  # exactly the programme's samples
    tone = 0.25
    assert (
        np.max(np.abs(spliced - single)) < 0.02 * tone
    )  # the same sound everywhere, to within MP3 coding noise (here: identical)
    assert np.max(np.abs(spliced - p.reference)) < 0.15 * tone
    for seam in p.seams:
        window = spliced[seam - 2048 : seam + 2048]
        assert 20 * np.log10(np.sqrt(np.mean(window**2)) + 1e-12) < -60  # the silence around a seam stays silent
    for onset in (0, 2 * p.rate, 4 * p.rate):  # each tone starts where it did, to the sample
        lo, hi, reach = max(onset - 4000, 0), onset + 8000, 400
        ref = p.reference[lo:hi, 0]
        lags = range(-reach, reach + 1)
        for decoded in (spliced, single):
            scores = [float(np.dot(ref[reach:-reach], decoded[lo + reach + lag : hi - reach + lag, 0])) for lag in lags]
            assert lags[int(np.argmax(scores))] == 0
    # mutagen applies LAME delay/padding only under a "LAME"/"L3.99" version string, not ffmpeg's "Lavc...",
    # so for ffmpeg's own files it reports whole frames: the spliced file must read exactly like the single encode.
    frames = sum(p.keep) + p.sections[2].frame_count
    assert mp3_info(p.spliced).length == mp3_info(p.single).length == frames * p.frame / p.rate
    assert 0 < frames * p.frame - p.length == 576 + p.sections[2].padding < 3 * p.frame


def test_spliced_file_decodes_without_complaint(programme: Programme) -> None:
    log = _ffmpeg("-v", "warning", "-i", str(programme.spliced), "-f", "null", "-")
    assert not [line for line in log.splitlines() if any(word in line.lower() for word in LOG_TROUBLE)], log
    assert log.strip() == ""


def test_spliced_info_frame_is_true_for_the_result(programme: Programme) -> None:
    p = programme
    data = p.spliced.read_bytes()
    result = _mp3.read_stream(data)
    fields = _info_fields(data)
    assert result.frame_count == fields["frames"] == p.keep[0] + p.keep[1] + p.sections[2].frame_count
    assert fields["bytes"] == fields["music_length"] == len(data)
    assert fields["music_crc"] == _mp3.crc16(result.audio)  # found without reading the audio, checked by reading it
    assert (result.delay, result.padding) == (576, p.sections[2].padding)
    assert result.frame_count * p.frame - result.delay - result.padding == p.length
    zeroed = bytearray(data[: len(result.info or b"")])
    lame = data.find(b"Info") + 120
    zeroed[lame + 34 : lame + 36] = b"\0\0"
    assert fields["tag_crc"] == _mp3.crc16(bytes(zeroed[:190]))
    assert _mp3.splice([result], [None]) == data  # and it is what ffmpeg itself would have written for these frames


def test_cutting_the_last_stream_keeps_everything_its_frames_decode_to(programme: Programme, tmp_path: Path) -> None:
    p = programme
    first = p.sections[0]
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(_mp3.splice([first], [p.keep[0]]))
    assert _mp3.read_stream(cut.read_bytes()).padding == 529
    whole = tmp_path / "whole.mp3"
    whole.write_bytes(_mp3.splice([first], [None]))
    short, full = _decode(cut, p.channels), _decode(whole, p.channels)
    assert len(short) == p.keep[0] * p.frame - 576 - 529
    assert np.array_equal(short, full[: len(short)])  # the decoder is causal: the kept frames decode to the same samples


# --- 4. CRC arithmetic -------------------------------------------------------------------------


def test_crc16_is_crc16_arc() -> None:
    assert _mp3.crc16(b"123456789") == 0xBB3D
    assert _mp3.crc16(b"") == 0
    assert _mp3.crc16(b"6789", _mp3.crc16(b"12345")) == 0xBB3D


def test_crc_of_joined_and_stripped_data_matches_a_direct_crc() -> None:
    rng = random.Random(7)
    lengths = (0, 1, 7, 1000, 100_000)
    blobs = {n: rng.randbytes(n) for n in lengths}
    crcs = {n: _mp3.crc16(blob) for n, blob in blobs.items()}
    for length_a in lengths:
        for length_b in lengths:
            a, b = blobs[length_a], blobs[length_b][::-1]
            whole, crc_b = _mp3.crc16(a + b), _mp3.crc16(b)
            assert _mp3.crc16_combine(crcs[length_a], crc_b, len(b)) == whole
            assert _mp3.crc16_strip_tail(whole, crc_b, len(b)) == crcs[length_a]
    # linear, not trivial: a changed bit in the tail changes the combination
    assert _mp3.crc16_combine(crcs[1000], _mp3.crc16(b"\x01"), 1) != _mp3.crc16_combine(crcs[1000], _mp3.crc16(b"\x00"), 1)


# --- 5. clear refusals --------------------------------------------------------------------------


def test_garbage_is_refused_clearly(programme: Programme) -> None:
    data = programme.single.read_bytes()
    with pytest.raises(ValueError, match="no MP3 frames"):
        _mp3.read_stream(b"")
    with pytest.raises(ValueError, match="lost sync"):
        _mp3.read_stream(b"\x00" * 400)
    with pytest.raises(ValueError, match="lost sync"):
        _mp3.read_stream(random.Random(1).randbytes(5000).replace(b"\xff", b"\x00"))
    with pytest.raises(ValueError, match=r"lost sync"):
        _mp3.read_stream(data + b"\x00" * 10)
    middle = _mp3.read_stream(data).frame_offsets[5] + len(_mp3.read_stream(data).info or b"")
    with pytest.raises(ValueError, match=f"byte {middle}"):
        _mp3.read_stream(data[:middle] + b"junk" + data[middle:])
    with pytest.raises(ValueError, match="ends inside the frame"):
        _mp3.read_stream(data[:-100])
    with pytest.raises(ValueError, match="not layer III"):
        _mp3.read_stream(b"\xff\xfd\x90\x00" + bytes(400))  # an MPEG-1 layer II header
    with pytest.raises(ValueError, match="lost sync"):
        _mp3.main_data_begin(b"\x00\x00\x00\x00\x00\x00")


def test_mismatched_streams_are_refused(programme: Programme, tmp_path: Path) -> None:
    p = programme
    source = tmp_path / "other.wav"
    other_rate, other_channels = (24000, 1) if p.rate == 48000 else (48000, 2)
    _make_wav(source, other_rate, other_channels, [(400, other_rate)])
    other = _mp3.read_stream(_encode(source, tmp_path / "other.mp3", other_rate, other_channels, "64k"))
    with pytest.raises(ValueError, match="cannot be spliced"):
        _mp3.splice([p.sections[0], other], [p.keep[0], None])
    _make_wav(source, p.rate, p.channels, [(400, p.rate)])
    slower = _mp3.read_stream(_encode(source, tmp_path / "slower.mp3", p.rate, p.channels, "256k" if p.rate == 48000 else "32k"))
    with pytest.raises(ValueError, match="bitrate"):
        _mp3.splice([p.sections[0], slower], [p.keep[0], None])
    with pytest.raises(ValueError, match="cannot keep"):
        _mp3.splice([p.sections[0]], [p.sections[0].frame_count + 1])
    with pytest.raises(ValueError, match="one frame count"):
        _mp3.splice(p.sections, [None])
    with pytest.raises(ValueError, match="no audio frames"):
        _mp3.splice([p.sections[0]], [0])
