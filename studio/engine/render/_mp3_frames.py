"""MP3 frames: read a layer III stream into its Xing/Info frame and its audio frames.

ID3v2 tags at the start and ID3v1 and APE tags at the end are skipped; a Fraunhofer VBRI header frame is
dropped (it is not audio, and a splice does not rebuild it). Every frame must share the first one's MPEG
version, sample rate and channel mode; free-format frames are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

_BITRATES = {  # kbit/s by index, layer III; index 0 (free format) and 15 are not accepted
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_TAGS = (b"Xing", b"Info")
_GAPLESS_ENCODERS = (b"LAME", b"Lavf", b"Lavc")  # the short version strings ffmpeg trusts for delay/padding
TOC_SIZE = 100
_LAME_SIZE = 36
FIELD_MAX = (1 << 12) - 1  # the LAME tag's delay and padding are 12 bits each


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
class InfoLayout:
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


def info_layout(info: bytes) -> InfoLayout:
    """Where the frame count, byte count, TOC and LAME tag of a Xing/Info frame are (None: absent)."""
    header = _header(info, 0)
    tag = _info_tag_at(info, header)
    if tag is None:
        raise ValueError("the Info frame has no Xing/Info tag")
    flags = int.from_bytes(info[tag + 4 : tag + 8], "big")
    at = tag + 8
    fields: list[int | None] = []
    for flag, size in ((1, 4), (2, 4), (4, TOC_SIZE)):
        fields.append(at if flags & flag else None)
        at += size if flags & flag else 0
    at += 4 if flags & 8 else 0
    lame = at if at + _LAME_SIZE <= len(info) and info[at : at + 4] in _GAPLESS_ENCODERS else None
    return InfoLayout(fields[0], fields[1], fields[2], lame)


def _frame_offsets(data: bytes, start: int, end: int, first: _Header) -> list[int]:
    """Offsets from `start` of the frames in data[start:end], all of the first frame's format."""
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
    return offsets


def _delay_and_padding(info: bytes | None) -> tuple[int, int]:
    """The encoder delay and end padding (samples) the LAME tag records; 0, 0 without one."""
    if info is None:
        return 0, 0
    lame = info_layout(info).lame_at
    if lame is None:
        return 0, 0
    packed = int.from_bytes(info[lame + 21 : lame + 24], "big")
    return packed >> 12, packed & FIELD_MAX


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
    offsets = _frame_offsets(data, start, end, first)
    delay, padding = _delay_and_padding(info)
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
