"""The Xing/Info frame of a splice: the first stream's Info frame made true for the spliced frames.

Field by field as ffmpeg's mp3 muxer (libavformat/mp3enc.c) fills it:

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

from studio.engine.render._mp3_crc import crc16, crc16_combine, crc16_strip_tail
from studio.engine.render._mp3_frames import FIELD_MAX, TOC_SIZE, Stream, info_layout

DECODER_DELAY = 529  # samples the layer III synthesis filterbank adds on top of the encoder's delay

_TOC_BAGS = 400
_TAG_CRC_SPAN = 190


@dataclass(frozen=True)
class Cut:
    """What a splice keeps: the first counts[i] audio frames, lengths[i] bytes, of each of `streams`, in a row."""

    streams: Sequence[Stream]
    counts: Sequence[int]
    lengths: Sequence[int]


def rewrite_info(info: bytes, cut: Cut) -> bytes:
    """The Info frame `info` (of cut.streams[0]) made true for the frames the cut keeps."""
    layout = info_layout(info)
    out = bytearray(info)
    frames = sum(cut.counts)
    total = len(out) + sum(cut.lengths)
    if layout.frames_at is not None:
        out[layout.frames_at : layout.frames_at + 4] = frames.to_bytes(4, "big")
    if layout.bytes_at is not None:
        out[layout.bytes_at : layout.bytes_at + 4] = total.to_bytes(4, "big")
    if layout.toc_at is not None:
        out[layout.toc_at : layout.toc_at + TOC_SIZE] = _toc(len(out), total, frames, _frame_ends(cut))
    if layout.lame_at is not None:
        _rewrite_lame(out, layout.lame_at, info, cut, total)
    return bytes(out)


def _frame_ends(cut: Cut) -> Callable[[int], int]:
    """For an audio frame of the splice (by index), where it ends: bytes from the start of the first audio frame."""
    first_frame = list(itertools.accumulate(cut.counts, initial=0))
    first_byte = list(itertools.accumulate(cut.lengths, initial=0))

    def frame_end(index: int) -> int:
        n = bisect.bisect_right(first_frame, index) - 1
        stream, local = cut.streams[n], index - first_frame[n] + 1
        return first_byte[n] + (stream.frame_offsets[local] if local < stream.frame_count else len(stream.audio))

    return frame_end


def _toc(info_size: int, total: int, frames: int, frame_end: Callable[[int], int]) -> bytes:
    """ffmpeg's seek table: entry i is 256 * (bytes up to the end of a sampled frame) // total."""
    want = 1
    while frames >= _TOC_BAGS * want:
        want *= 2
    bags = frames // want
    toc = bytearray(TOC_SIZE)
    for i in range(1, TOC_SIZE):
        j = i * bags // TOC_SIZE
        bag = info_size + frame_end((j + 1) * want - 1) if j < bags else 0
        toc[i] = min(255, 256 * bag // total)
    return bytes(toc)


def _rewrite_lame(out: bytearray, lame: int, source: bytes, cut: Cut, total: int) -> None:
    """The LAME tag at out[lame:]: delay and padding, music length, music CRC, then the tag CRC."""
    first, last = cut.streams[0], cut.streams[-1]
    # A last stream cut after whole frames keeps everything they decode to, i.e.
    # frames * frame_samples - delay - 529 samples, which is a padding of exactly 529.
    padding = last.padding if cut.counts[-1] == last.frame_count else DECODER_DELAY
    out[lame + 21 : lame + 24] = ((min(first.delay, FIELD_MAX) << 12) | min(padding, FIELD_MAX)).to_bytes(3, "big")
    out[lame + 28 : lame + 32] = total.to_bytes(4, "big")
    crc = 0
    for stream, length in zip(cut.streams, cut.lengths, strict=True):
        if length:
            crc = crc16_combine(crc, _prefix_crc(stream, length), length)
    out[lame + 32 : lame + 34] = crc.to_bytes(2, "big")
    out[lame + 34 : lame + 36] = b"\0\0"
    out[lame + 34 : lame + 36] = _tag_crc(bytes(out), source, lame).to_bytes(2, "big")


def _recorded_music_crc(stream: Stream) -> int | None:
    """The music CRC the stream's LAME tag records, if the tag describes exactly these bytes."""
    if stream.info is None:
        return None
    lame = info_layout(stream.info).lame_at
    if lame is None:
        return None
    if int.from_bytes(stream.info[lame + 28 : lame + 32], "big") != len(stream.info) + len(stream.audio):
        return None
    return int.from_bytes(stream.info[lame + 32 : lame + 34], "big")


def _prefix_crc(stream: Stream, kept: int) -> int:
    """CRC-16/ARC of the first `kept` bytes of the stream's audio."""
    recorded = _recorded_music_crc(stream)
    tail = len(stream.audio) - kept
    if recorded is None or tail > kept:  # no whole-stream CRC to start from, or reading the kept part is cheaper
        return crc16(stream.audio[:kept])
    return crc16_strip_tail(recorded, crc16(stream.audio[kept:]), tail)


def _tag_crc(zeroed: bytes, source: bytes, lame: int) -> int:
    """The tag CRC of the new frame (its field still zero), computed the way the source frame's was."""
    old = int.from_bytes(source[lame + 34 : lame + 36], "big")
    if old != _ffmpeg_tag_crc(source, lame) and old == crc16(source[: lame + 34]):
        return crc16(zeroed[: lame + 34])  # the source was tagged LAME's way (bytes before the field)
    return crc16(zeroed[:_TAG_CRC_SPAN])


def _ffmpeg_tag_crc(info: bytes, lame: int) -> int:
    zeroed = bytearray(info)
    zeroed[lame + 34 : lame + 36] = b"\0\0"
    return crc16(bytes(zeroed[:_TAG_CRC_SPAN]))
