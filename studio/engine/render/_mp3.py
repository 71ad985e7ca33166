"""MP3 frames: read a LAME stream, and splice whole frames of several into one gapless file.

A programme is encoded in sections, each by its own encoder run. Every section but the last is a
whole number of frames long and ends in silence; keeping exactly that many frames of it drops
the last 1105 samples (encoder delay 576 + decoder delay 529) of its silence, which the next
section's own encoder lead-in replaces, so the timeline stays exact. The first frame of a LAME
stream never borrows from the bit reservoir (main_data_begin is 0), so no spliced frame points
into bytes of another stream; `splice` checks that.

The Xing/Info frame of the first stream is kept and made true for the result, field by field as
ffmpeg's mp3 muxer (libavformat/mp3enc.c) fills it:

- frames: audio frames only (the Info frame is not counted);
- bytes and the LAME "music length": the Info frame plus all audio frames;
- TOC: ffmpeg's seek "bags" (cumulative byte counts after every `want` frames, the table halved
  and `want` doubled whenever 400 bags fill), entry i = 256 * bag[i * bags // 100] // bytes;
- delay/padding (12 bits each): the encoder delay (576 for LAME) and the samples to drop at the
  end, so that frames * frame_samples - delay - padding is the decoded length (ffmpeg's demuxer
  skips delay + 529 at the start and stops padding - 529 before the end of the last frame);
- music CRC: CRC-16/ARC of the audio frames (Info frame excluded);
- tag CRC: CRC-16/ARC of the frame's first 190 bytes with the field itself still zero (ffmpeg's
  way; in MPEG-1 stereo that is exactly the bytes before the field, which is LAME's way).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DECODER_DELAY = 529  # samples the layer III synthesis filterbank adds on top of the encoder's delay

_BITRATES = {  # kbit/s by index, layer III; index 0 (free format) and 15 are not accepted
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_TAGS = (b"Xing", b"Info")
_GAPLESS_ENCODERS = (b"LAME", b"Lavf", b"Lavc")  # the short version strings ffmpeg trusts for delay/padding
_TOC_SIZE = 100
_TOC_BAGS = 400
_LAME_SIZE = 36
_TAG_CRC_SPAN = 190
_FIELD_MAX = (1 << 12) - 1


@dataclass(frozen=True)
class Stream:
    """A layer III stream split into its Xing/Info frame (if any) and its audio frames."""

    info: bytes | None
    audio: bytes
    frame_offsets: tuple[int, ...]
    frame_samples: int
    sample_rate: int
    channels: int
    delay: int
    padding: int

    @property
    def frame_count(self) -> int:
        """Number of audio frames."""
        return len(self.frame_offsets)


@dataclass(frozen=True)
class _Header:
    mpeg1: bool
    protected: bool
    bitrate_index: int
    sample_rate: int
    channels: int
    length: int

    @property
    def side_info(self) -> int:
        if self.mpeg1:
            return 17 if self.channels == 1 else 32
        return 9 if self.channels == 1 else 17


def _header(data: bytes, offset: int) -> _Header:
    if offset + 4 > len(data):
        raise ValueError(f"MP3 data ends inside a frame header at byte {offset}")
    word = int.from_bytes(data[offset : offset + 4], "big")
    if word >> 21 != 0x7FF:
        raise ValueError(f"no MPEG audio frame header at byte {offset} (lost sync)")
    version, layer = (word >> 19) & 3, (word >> 17) & 3
    bitrate_index, rate_index = (word >> 12) & 15, (word >> 10) & 3
    if version == 1 or rate_index == 3 or bitrate_index == 15:
        raise ValueError(f"invalid MPEG audio frame header at byte {offset} (lost sync)")
    if layer != 1:
        raise ValueError(f"frame at byte {offset} is MPEG audio layer {4 - layer}, not layer III")
    if bitrate_index == 0:
        raise ValueError(f"frame at byte {offset} is free-format, which is not supported")
    mpeg1 = version == 3
    sample_rate = _RATES[version][rate_index]
    per = 144 if mpeg1 else 72  # bytes per kbit/s*kHz: 1152 or 576 samples / 8 bits
    length = per * _BITRATES[mpeg1][bitrate_index] * 1000 // sample_rate + ((word >> 9) & 1)
    return _Header(mpeg1, not (word >> 16) & 1, bitrate_index, sample_rate, 1 if (word >> 6) & 3 == 3 else 2, length)


def _skip_id3v2(data: bytes) -> int:
    position = 0
    while data[position : position + 3] == b"ID3" and len(data) >= position + 10:
        size_bytes = data[position + 6 : position + 10]
        if any(byte & 0x80 for byte in size_bytes):
            break
        size = 0
        for byte in size_bytes:
            size = (size << 7) | byte
        position += 10 + size + (10 if data[position + 5] & 0x10 else 0)
    return position


def _end_of_audio(data: bytes, start: int) -> int:
    end = len(data)
    if end - start >= 128 and data[end - 128 : end - 125] == b"TAG":
        end -= 128
    if end - start >= 32 and data[end - 32 : end - 24] == b"APETAGEX":
        size = int.from_bytes(data[end - 20 : end - 16], "little")  # items + footer
        has_header = data[end - 9] & 0x80
        end -= size + (32 if has_header else 0)
        if end < start:
            raise ValueError("APE tag is larger than the data")
    return end


@dataclass(frozen=True)
class _Info:
    """Where the fields of a Xing/Info frame (and its LAME extension) are."""

    frames_at: int | None
    bytes_at: int | None
    toc_at: int | None
    lame_at: int | None


def _info_tag_at(frame: bytes, header: _Header) -> int | None:
    for at in (4 + header.side_info, 6 + header.side_info) if header.protected else (4 + header.side_info,):
        if frame[at : at + 4] in _TAGS:
            return at
    return None


def _info_layout(info: bytes) -> _Info:
    header = _header(info, 0)
    tag = _info_tag_at(info, header)
    if tag is None:
        raise ValueError("the Info frame has no Xing/Info tag")
    flags = int.from_bytes(info[tag + 4 : tag + 8], "big")
    at = tag + 8
    fields: list[int | None] = []
    for flag, size in ((1, 4), (2, 4), (4, _TOC_SIZE)):
        fields.append(at if flags & flag else None)
        at += size if flags & flag else 0
    at += 4 if flags & 8 else 0
    lame = at if at + _LAME_SIZE <= len(info) and info[at : at + 4] in _GAPLESS_ENCODERS else None
    return _Info(fields[0], fields[1], fields[2], lame)


def read_stream(data: bytes) -> Stream:
    """Split an MP3 file into its Xing/Info frame and audio frames (ID3v2, ID3v1 and APE tags skipped); ValueError if it is not one."""
    start = _skip_id3v2(data)
    end = _end_of_audio(data, start)
    if start >= end:
        raise ValueError("no MP3 frames in the data")
    first = _header(data, start)
    if start + first.length > end:
        raise ValueError(f"MP3 data ends inside the frame at byte {start}")
    info = None
    if _info_tag_at(data[start : start + first.length], first) is not None:
        info = data[start : start + first.length]
        start += first.length
    elif data[start + 36 : start + 40] == b"VBRI":  # Fraunhofer's header frame: not audio, and not rebuilt
        start += first.length
    fmt = (first.mpeg1, first.sample_rate, first.channels)
    # Header bytes -> frame length; a stream has only a handful of distinct headers.
    lengths: dict[bytes, int] = {}
    offsets: list[int] = []
    position = start
    while position < end:
        key = data[position : position + 4]
        length = lengths.get(key)
        if length is None:
            header = _header(data, position)
            if (header.mpeg1, header.sample_rate, header.channels) != fmt:
                raise ValueError(f"frame at byte {position} changes the stream's version, sample rate or channels")
            length = lengths[key] = header.length
        if position + length > end:
            raise ValueError(f"MP3 data ends inside the frame at byte {position}")
        offsets.append(position - start)
        position += length
    delay = padding = 0
    if info is not None:
        lame = _info_layout(info).lame_at
        if lame is not None:
            packed = int.from_bytes(info[lame + 21 : lame + 24], "big")
            delay, padding = packed >> 12, packed & _FIELD_MAX
    return Stream(
        info=info,
        audio=data[start:end],
        frame_offsets=tuple(offsets),
        frame_samples=1152 if first.mpeg1 else 576,
        sample_rate=first.sample_rate,
        channels=first.channels,
        delay=delay,
        padding=padding,
    )


def main_data_begin(frame: bytes) -> int:
    """How many bytes before this frame its main data begins (what it borrows from the bit reservoir)."""
    header = _header(frame, 0)
    at = 6 if header.protected else 4
    if len(frame) < at + 2:
        raise ValueError("frame too short for its side information")
    if header.mpeg1:
        return int.from_bytes(frame[at : at + 2], "big") >> 7
    return frame[at]


# --- CRC-16/ARC: poly 0x8005 reflected (0xA001), init 0, no final xor (ffmpeg's AV_CRC_16_ANSI_LE) ---

def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC of data, continuing from crc."""
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


# With init 0 and no final xor the register after data D is D(x)*x^16 mod P, so
# crc(A+B) = crc(A)*x^(8|B|) + crc(B). Registers are reflected: bit 15 holds the x^0 coefficient,
# bit 0 the x^15 one, and multiplying by x is a right shift with 0xA001 folded in.
_ONE = 0x8000
_X = 0x4000
_X_INVERSE = 0x4003  # x^15 + x^14 + x = (P - 1) / x; P(0) = 1 makes x invertible


def _mul(a: int, b: int) -> int:
    product = 0
    for _ in range(16):
        if a & 0x8000:
            product ^= b
        a = (a << 1) & 0xFFFF
        if not a:
            break
        b = (b >> 1) ^ 0xA001 if b & 1 else b >> 1
    return product


def _powers(base: int) -> tuple[int, ...]:
    squares = [base]
    for _ in range(63):
        squares.append(_mul(squares[-1], squares[-1]))
    return tuple(squares)


_X_SQUARES = _powers(_X)  # x^(2^k)
_X_INVERSE_SQUARES = _powers(_X_INVERSE)  # x^-(2^k)


def _power(squares: tuple[int, ...], exponent: int) -> int:
    result, k = _ONE, 0
    while exponent:
        if exponent & 1:
            result = _mul(result, squares[k])
        exponent >>= 1
        k += 1
    return result


def crc16_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """CRC-16/ARC of A+B from crc16(A), crc16(B) and len(B)."""
    return _mul(crc_a, _power(_X_SQUARES, 8 * len_b)) ^ crc_b


def crc16_strip_tail(crc_whole: int, crc_tail: int, len_tail: int) -> int:
    """CRC-16/ARC of A from crc16(A+T), crc16(T) and len(T)."""
    return _mul(crc_whole ^ crc_tail, _power(_X_INVERSE_SQUARES, 8 * len_tail))


# --- splicing ------------------------------------------------------------------------------------

def _recorded_music_crc(stream: Stream) -> int | None:
    """The music CRC the stream's LAME tag records, if the tag describes exactly these bytes."""
    if stream.info is None:
        return None
    lame = _info_layout(stream.info).lame_at
    if lame is None:
        return None
    if int.from_bytes(stream.info[lame + 28 : lame + 32], "big") != len(stream.info) + len(stream.audio):
        return None
    return int.from_bytes(stream.info[lame + 32 : lame + 34], "big")


def _prefix_crc(stream: Stream, kept: int) -> int:
    recorded = _recorded_music_crc(stream)
    tail = len(stream.audio) - kept
    if recorded is None or tail > kept:  # no whole-stream CRC to start from, or reading the kept part is cheaper
        return crc16(stream.audio[:kept])
    return crc16_strip_tail(recorded, crc16(stream.audio[kept:]), tail)


def _bitrate_mode(stream: Stream) -> tuple[str, int]:
    audio = stream.audio
    indices = {audio[offset + 2] >> 4 for offset in stream.frame_offsets}
    return ("CBR", indices.pop()) if len(indices) == 1 else ("VBR", 0)


def _check_compatible(streams: Sequence[Stream]) -> None:
    first = streams[0]
    shape = (first.frame_samples, first.sample_rate, first.channels)
    mode: tuple[str, int] | None = None
    for n, stream in enumerate(streams):
        if (stream.frame_samples, stream.sample_rate, stream.channels) != shape:
            raise ValueError(
                f"stream {n} ({stream.sample_rate} Hz, {stream.channels} ch, {stream.frame_samples}-sample frames) cannot be "
                f"spliced to stream 0 ({first.sample_rate} Hz, {first.channels} ch, {first.frame_samples}-sample frames)"
            )
        if stream.frame_count:
            own = _bitrate_mode(stream)
            if mode is not None and own != mode:
                raise ValueError(f"stream {n} has a different bitrate mode or bitrate from the streams before it; they cannot be spliced")
            mode = own


def _toc(info_size: int, total: int, frames: int, frame_end: Callable[[int], int]) -> bytes:
    """ffmpeg's seek table: entry i is 256 * (bytes up to the end of a sampled frame) // total."""
    want = 1
    while frames >= _TOC_BAGS * want:
        want *= 2
    bags = frames // want
    toc = bytearray(_TOC_SIZE)
    for i in range(1, _TOC_SIZE):
        j = i * bags // _TOC_SIZE
        bag = info_size + frame_end((j + 1) * want - 1) if j < bags else 0
        toc[i] = min(255, 256 * bag // total)
    return bytes(toc)


def splice(streams: Sequence[Stream], keep: Sequence[int | None]) -> bytes:
    """One MP3 of the first keep[i] audio frames of each stream (None: all), led by streams[0]'s Info frame made true for it."""
    if not streams or len(streams) != len(keep):
        raise ValueError("splice needs at least one stream and one frame count (or None) per stream")
    counts = []
    for n, (stream, k) in enumerate(zip(streams, keep, strict=True)):
        if k is not None and not 0 <= k <= stream.frame_count:
            raise ValueError(f"cannot keep {k} frames of stream {n}, which has {stream.frame_count}")
        counts.append(stream.frame_count if k is None else k)
    if not sum(counts):
        raise ValueError("splice keeps no audio frames")
    _check_compatible(streams)
    lengths = []
    for n, (stream, count) in enumerate(zip(streams, counts, strict=True)):
        length = len(stream.audio) if count == stream.frame_count else stream.frame_offsets[count] if count else 0
        if count and main_data_begin(stream.audio[: stream.frame_offsets[1] if stream.frame_count > 1 else length]):
            raise ValueError(f"the first frame of stream {n} borrows from a bit reservoir before it; it cannot start a splice")
        lengths.append(length)
    parts = [memoryview(stream.audio)[:length] for stream, length in zip(streams, lengths, strict=True)]
    first, last = streams[0], streams[-1]
    if first.info is None:
        return b"".join(parts)
    layout = _info_layout(first.info)
    out = bytearray(first.info)
    frames = sum(counts)
    total = len(out) + sum(lengths)
    if layout.frames_at is not None:
        out[layout.frames_at : layout.frames_at + 4] = frames.to_bytes(4, "big")
    if layout.bytes_at is not None:
        out[layout.bytes_at : layout.bytes_at + 4] = total.to_bytes(4, "big")
    if layout.toc_at is not None:
        first_frame = list(itertools.accumulate(counts, initial=0))
        first_byte = list(itertools.accumulate(lengths, initial=0))

        def frame_end(index: int) -> int:
            n = bisect.bisect_right(first_frame, index) - 1
            stream, local = streams[n], index - first_frame[n] + 1
            return first_byte[n] + (stream.frame_offsets[local] if local < stream.frame_count else len(stream.audio))

        out[layout.toc_at : layout.toc_at + _TOC_SIZE] = _toc(len(out), total, frames, frame_end)
    lame = layout.lame_at
    if lame is None:
        return b"".join([out, *parts])
    if counts[-1] == last.frame_count:
        padding = last.padding
    else:
        # The last stream is cut after whole frames: everything they decode to is kept, i.e.
        # frames * frame_samples - delay - 529 samples, which is a padding of exactly 529.
        padding = DECODER_DELAY
    out[lame + 21 : lame + 24] = ((min(first.delay, _FIELD_MAX) << 12) | min(padding, _FIELD_MAX)).to_bytes(3, "big")
    out[lame + 28 : lame + 32] = total.to_bytes(4, "big")
    crc = 0
    for stream, length in zip(streams, lengths, strict=True):
        if length:
            crc = crc16_combine(crc, _prefix_crc(stream, length), length)
    out[lame + 32 : lame + 34] = crc.to_bytes(2, "big")
    old_tag_crc = int.from_bytes(first.info[lame + 34 : lame + 36], "big")
    out[lame + 34 : lame + 36] = b"\0\0"
    ffmpeg_way = crc16(bytes(out[:_TAG_CRC_SPAN]))
    if old_tag_crc != _tag_crc_ffmpeg(first.info, lame) and old_tag_crc == crc16(first.info[: lame + 34]):
        tag_crc = crc16(bytes(out[: lame + 34]))  # the source was tagged LAME's way (bytes before the field)
    else:
        tag_crc = ffmpeg_way
    out[lame + 34 : lame + 36] = tag_crc.to_bytes(2, "big")
    return b"".join([out, *parts])


def _tag_crc_ffmpeg(info: bytes, lame: int) -> int:
    zeroed = bytearray(info)
    zeroed[lame + 34 : lame + 36] = b"\0\0"
    return crc16(bytes(zeroed[:_TAG_CRC_SPAN]))
