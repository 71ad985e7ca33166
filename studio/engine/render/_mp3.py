"""MP3 splicing: whole frames of several LAME streams into one gapless file.

A programme is encoded in sections, each by its own encoder run. Every section but the last is a
whole number of frames long and ends in silence; keeping exactly that many frames of it drops
the last 1105 samples (encoder delay 576 + decoder delay 529) of its silence, which the next
section's own encoder lead-in replaces, so the timeline stays exact. The first frame of a LAME
stream never borrows from the bit reservoir (main_data_begin is 0), so no spliced frame points
into bytes of another stream; `splice` checks that.

The Xing/Info frame of the first stream is kept and made true for the result (`_mp3_info`, which
lists the fields); `_mp3_frames` reads the streams and `_mp3_crc` computes the CRC-16s.
"""

from __future__ import annotations

from collections.abc import Sequence

from studio.engine.render._mp3_crc import crc16, crc16_combine, crc16_strip_tail
from studio.engine.render._mp3_frames import Stream, main_data_begin, read_stream
from studio.engine.render._mp3_info import Cut, rewrite_info

__all__ = [
    "Stream",
    "crc16",
    "crc16_combine",
    "crc16_strip_tail",
    "main_data_begin",
    "read_stream",
    "splice",
]


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
                raise ValueError(
                    f"stream {n} has a different bitrate mode or bitrate from the streams before it; they cannot be spliced"
                )
            mode = own


def _kept_counts(streams: Sequence[Stream], keep: Sequence[int | None]) -> list[int]:
    """How many audio frames of each stream the splice keeps."""
    counts = []
    for n, (stream, k) in enumerate(zip(streams, keep, strict=True)):
        if k is not None and not 0 <= k <= stream.frame_count:
            raise ValueError(f"cannot keep {k} frames of stream {n}, which has {stream.frame_count}")
        counts.append(stream.frame_count if k is None else k)
    if not sum(counts):
        raise ValueError("splice keeps no audio frames")
    return counts


def _kept_lengths(streams: Sequence[Stream], counts: Sequence[int]) -> list[int]:
    """How many audio bytes of each stream the splice keeps; a kept first frame must not borrow from before it."""
    lengths = []
    for n, (stream, count) in enumerate(zip(streams, counts, strict=True)):
        length = len(stream.audio) if count == stream.frame_count else stream.frame_offsets[count] if count else 0
        if count and main_data_begin(stream.audio[: stream.frame_offsets[1] if stream.frame_count > 1 else length]):
            raise ValueError(f"the first frame of stream {n} borrows from a bit reservoir before it; it cannot start a splice")
        lengths.append(length)
    return lengths


def splice(streams: Sequence[Stream], keep: Sequence[int | None]) -> bytes:
    """One MP3 of the first keep[i] audio frames of each stream (None: all), led by streams[0]'s Info frame made true for it."""
    if not streams or len(streams) != len(keep):
        raise ValueError("splice needs at least one stream and one frame count (or None) per stream")
    counts = _kept_counts(streams, keep)
    _check_compatible(streams)
    lengths = _kept_lengths(streams, counts)
    parts = [memoryview(stream.audio)[:length] for stream, length in zip(streams, lengths, strict=True)]
    info = streams[0].info
    if info is None:
        return b"".join(parts)
    return b"".join([rewrite_info(info, Cut(streams, counts, lengths)), *parts])
