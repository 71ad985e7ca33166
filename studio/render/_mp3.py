"""MP3 frames: read a LAME stream, and splice whole frames of several into one gapless file.

A programme is encoded in sections, each by its own encoder run. Every section but the last is a
whole number of frames long and ends in silence; keeping exactly that many frames of it drops
the last 1105 samples of its silence, which the next section's encoder lead-in replaces, so the
timeline stays exact. The first frame of a LAME stream never borrows from the bit reservoir
(main_data_begin is 0), so no spliced frame points into bytes of another stream.

The Xing/Info frame of the first section is kept and made true for the result: frame and byte
counts, seek table, encoder delay and padding, music length and both CRCs, filled the way
ffmpeg's mp3 muxer fills them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DECODER_DELAY = 529  # samples the layer III synthesis filterbank adds on top of the encoder's delay

_BITRATES = {  # kbit/s by index, layer III
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_TOC_SIZE = 100
_TAG_CRC_SPAN = 190


@dataclass(frozen=True)
class Header:
    """The fields of a layer III frame header that matter here."""

    version: int  # 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    protected: bool
    bitrate: int  # bit/s
    sample_rate: int
    padding: bool
    channels: int

    @property
    def samples(self) -> int:
        """Samples per channel in one frame."""
        return 1152 if self.version == 3 else 576

    @property
    def length(self) -> int:
        """Bytes in the frame, header included."""
        per = 144 if self.version == 3 else 72
        return per * self.bitrate // self.sample_rate + int(self.padding)

    @property
    def side_info(self) -> int:
        """Bytes of side information after the header (and its CRC)."""
        if self.version == 3:
            return 17 if self.channels == 1 else 32
        return 9 if self.channels == 1 else 17


def parse_header(data: bytes, offset: int = 0) -> Header:
    """Decode the four header bytes at `offset`; ValueError if they are not a layer III frame header."""
    if offset + 4 > len(data):
        raise ValueError(f"MP3 data ends inside a frame header at byte {offset}")
    word = int.from_bytes(data[offset : offset + 4], "big")
    version, layer = (word >> 19) & 3, (word >> 17) & 3
    bitrate_index, rate_index = (word >> 12) & 15, (word >> 10) & 3
    if word >> 21 != 0x7FF or version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        raise ValueError(f"no MPEG layer III frame header at byte {offset} (lost sync)")
    table = _BITRATES[1 if version == 3 else 2]
    return Header(
        version=version,
        protected=not (word >> 16) & 1,
        bitrate=table[bitrate_index] * 1000,
        sample_rate=_RATES[version][rate_index],
        padding=bool((word >> 9) & 1),
        channels=1 if (word >> 6) & 3 == 3 else 2,
    )


@dataclass(frozen=True)
class Stream:
    """A LAME stream split into its Info frame (if any) and its audio frames."""

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

    def prefix(self, frames: int) -> bytes:
        """The bytes of the first `frames` audio frames."""
        if frames >= self.frame_count:
            return self.audio
        return self.audio[: self.frame_offsets[frames]]


def _skip_id3v2(data: bytes) -> int:
    if data[:3] != b"ID3" or len(data) < 10:
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[5] & 0x10 else 0
    return 10 + size + footer


def _end_of_audio(data: bytes) -> int:
    end = len(data)
    if end >= 128 and data[end - 128 : end - 125] == b"TAG":
        end -= 128
    return end


def _info_offset(header: Header) -> int:
    return 4 + (2 if header.protected else 0) + header.side_info


def read_stream(data: bytes) -> Stream:
    """Walk the frames of an MP3 file (ID3v2/ID3v1 tags skipped); ValueError on anything else."""
    start, end = _skip_id3v2(data), _end_of_audio(data)
    if start >= end:
        raise ValueError("no MP3 frames in the data")
    first = parse_header(data, start)
    info = None
    tag_at = start + _info_offset(first)
    if data[tag_at : tag_at + 4] in (b"Info", b"Xing"):
        info = data[start : start + first.length]
        start += first.length
    offsets = []
    position = start
    while position < end:
        header = parse_header(data, position)
        if (header.sample_rate, header.channels, header.version) != (first.sample_rate, first.channels, first.version):
            raise ValueError(f"frame at byte {position} changes the stream's format")
        if position + header.length > end:
            raise ValueError(f"MP3 data ends inside the frame at byte {position}")
        offsets.append(position - start)
        position += header.length
    delay = padding = 0
    if info is not None:
        lame = _lame_offset(info, first)
        if lame is not None:
            packed = int.from_bytes(info[lame + 21 : lame + 24], "big")
            delay, padding = packed >> 12, packed & 0xFFF
    return Stream(info, data[start:end], tuple(offsets), first.samples, first.sample_rate, first.channels, delay, padding)


def main_data_begin(frame: bytes) -> int:
    """How many bytes before this frame its audio data begins (the bit reservoir it borrows)."""
    header = parse_header(frame)
    at = 4 + (2 if header.protected else 0)
    if header.version == 3:
        return int.from_bytes(frame[at : at + 2], "big") >> 7
    return frame[at]


# --- CRC-16 (poly 0x8005, reflected: 0xA001; init 0; no final xor), as LAME and ffmpeg use ------

def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _table()


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC of data, continuing from crc."""
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


# In the reflected domain a CRC register r stands for a polynomial whose x^0 term is r's top bit.
# Appending n zero bytes multiplies the register's polynomial by x^(8n) modulo P, so concatenation
# and prefix recovery need only multiplications modulo P, in O(log n) steps.
_POLY = 0xA001  # P without its x^16 term, reflected


def _mul(a: int, b: int) -> int:
    """a*b mod P for reflected 16-bit registers."""
    product = 0
    for _ in range(16):
        if a & 0x8000:
            product ^= b
        a = (a << 1) & 0xFFFF
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return product


def _x_power(bits: int) -> int:
    """x^bits mod P as a reflected register."""
    result, square = 0x8000, 0x4000  # 1 and x
    while bits:
        if bits & 1:
            result = _mul(result, square)
        square = _mul(square, square)
        bits >>= 1
    return result


def _inverse_x_power(bits: int) -> int:
    """x^-bits mod P (x is invertible because P has a constant term)."""
    order = _multiplicative_order_of_x()
    return _x_power((-bits) % order)


_ORDER: list[int] = []


def _multiplicative_order_of_x() -> int:
    if not _ORDER:
        value, steps = _x_power(1), 1
        while value != 0x8000:
            value, steps = _mul(value, 0x4000), steps + 1
        _ORDER.append(steps)
    return _ORDER[0]


def crc16_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """CRC of A+B from the CRCs of A and B and the length of B in bytes."""
    return _mul(crc_a, _x_power(8 * length_b)) ^ crc_b


def crc16_strip_tail(crc_whole: int, crc_tail: int, length_tail: int) -> int:
    """CRC of A from the CRC of A+T, the CRC of T and the length of T in bytes."""
    return _mul(crc_whole ^ crc_tail, _inverse_x_power(8 * length_tail))


# --- Info frame ---------------------------------------------------------------------------------

def _lame_offset(info: bytes, header: Header) -> int | None:
    at = _info_offset(header) + 4
    flags = int.from_bytes(info[at : at + 4], "big")
    at += 4 + (4 if flags & 1 else 0) + (4 if flags & 2 else 0) + (_TOC_SIZE if flags & 4 else 0) + (4 if flags & 8 else 0)
    return at if at + 36 <= len(info) else None


def music_crc(stream: Stream) -> int | None:
    """The music CRC the stream's LAME tag records (None without one)."""
    if stream.info is None:
        return None
    lame = _lame_offset(stream.info, parse_header(stream.info))
    return None if lame is None else int.from_bytes(stream.info[lame + 32 : lame + 34], "big")


def _prefix_crc(stream: Stream, frames: int) -> int:
    recorded = music_crc(stream)
    kept = stream.prefix(frames)
    tail = stream.audio[len(kept) :]
    if recorded is None:
        return crc16(kept)
    if len(tail) > len(kept):  # cheaper to read what is kept
        return crc16(kept)
    return crc16_strip_tail(recorded, crc16(tail), len(tail))


def splice(streams: Sequence[Stream], keep: Sequence[int | None]) -> bytes:
    """One MP3 of the first keep[i] audio frames of each stream (None: all), with an Info frame true for the whole."""
    if not streams or len(streams) != len(keep):
        raise ValueError("splice needs one frame count (or None) per stream")
    first = streams[0]
    for other in streams[1:]:
        if (other.sample_rate, other.channels, other.frame_samples) != (first.sample_rate, first.channels, first.frame_samples):
            raise ValueError("streams of different sample rates or channel counts cannot be spliced")
    counts = [s.frame_count if k is None else min(k, s.frame_count) for s, k in zip(streams, keep, strict=True)]
    parts = [s.prefix(n) for s, n in zip(streams, counts, strict=True)]
    audio = b"".join(parts)
    if first.info is None:
        return audio
    crc = 0
    for stream, count, part in zip(streams, counts, parts, strict=True):
        crc = crc16_combine(crc, _prefix_crc(stream, count), len(part))
    last = streams[-1]
    # Padding counts from the end of the last stream's frames: dropping frames from it removes theirs.
    padding = last.padding if counts[-1] == last.frame_count else 0
    offsets = []
    position = 0
    for part, stream, count in zip(parts, streams, counts, strict=True):
        offsets += [position + o for o in stream.frame_offsets[:count]]
        position += len(part)
    info = _rewrite_info(first.info, len(offsets), offsets, len(audio), first.delay, padding, crc)
    return info + audio


def _rewrite_info(info: bytes, frames: int, offsets: Sequence[int], audio_bytes: int, delay: int, padding: int, crc: int) -> bytes:
    header = parse_header(info)
    out = bytearray(info)
    at = _info_offset(header) + 4
    flags = int.from_bytes(out[at : at + 4], "big")
    at += 4
    total = len(info) + audio_bytes
    if flags & 1:
        out[at : at + 4] = frames.to_bytes(4, "big")
        at += 4
    if flags & 2:
        out[at : at + 4] = total.to_bytes(4, "big")
        at += 4
    if flags & 4:
        for i in range(_TOC_SIZE):
            frame = min(len(offsets) - 1, i * len(offsets) // _TOC_SIZE) if offsets else 0
            byte = len(info) + (offsets[frame] if offsets else 0)
            out[at + i] = min(255, 256 * byte // total)
        at += _TOC_SIZE
    if flags & 8:
        at += 4
    lame = _lame_offset(info, header)
    if lame is not None:
        out[lame + 21 : lame + 24] = ((delay << 12) | (padding & 0xFFF)).to_bytes(3, "big")
        out[lame + 28 : lame + 32] = total.to_bytes(4, "big")
        out[lame + 32 : lame + 34] = crc.to_bytes(2, "big")
        # As ffmpeg does: over the frame's first 190 bytes with the field itself zeroed (it lies
        # at byte 190 only in MPEG-1 stereo frames).
        out[lame + 34 : lame + 36] = b"\0\0"
        out[lame + 34 : lame + 36] = crc16(bytes(out[:_TAG_CRC_SPAN])).to_bytes(2, "big")
    return bytes(out)
