"""Metadata written into rendered audio: ID3v2 text frames and chapters (CHAP + CTOC), MP4 atoms for m4a."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from mutagen.id3 import CHAP, CTOC, ID3, TALB, TIT2, TLAN, TPE1, CTOCFlags, ID3NoHeaderError
from mutagen.mp4 import MP4, MP4Tags
from mutagen.wave import WAVE

LANGUAGE = "vie"  # ISO 639-2 for Vietnamese


def write_tags(
    path: Path,
    *,
    kind: str,
    title: str,
    artist: str,
    album: str,
    chapters: Sequence[tuple[float, str]],
    duration_s: float,
) -> None:
    """Tag a rendered file in place; kind is its extension (mp3, wav, m4a)."""
    if kind == "m4a":
        _write_mp4(path, title=title, artist=artist, album=album)
        return
    if kind == "wav":
        wave = WAVE(path)
        if wave.tags is None:
            wave.add_tags()
        # add_tags() has just set them; mutagen's API cannot say so to a type checker.
        _fill_id3(cast(ID3, wave.tags), title, artist, album, chapters, duration_s)
        wave.save()
        return
    try:
        tags = ID3(path)
    except ID3NoHeaderError:
        tags = ID3()
    _fill_id3(tags, title, artist, album, chapters, duration_s)
    tags.save(path, v2_version=4)


def _fill_id3(tags: ID3, title: str, artist: str, album: str, chapters: Sequence[tuple[float, str]], duration_s: float) -> None:
    for frame_id in ("TIT2", "TPE1", "TALB", "TLAN", "CTOC", "CHAP"):
        tags.delall(frame_id)
    if title:
        tags.add(TIT2(encoding=3, text=title))
    if artist:
        tags.add(TPE1(encoding=3, text=artist))
    if album:
        tags.add(TALB(encoding=3, text=album))
    tags.add(TLAN(encoding=3, text=LANGUAGE))
    for frame in chapter_frames(chapters, duration_s):
        tags.add(frame)


def chapter_frames(chapters: Sequence[tuple[float, str]], duration_s: float) -> list[CTOC | CHAP]:
    """A top-level ordered CTOC and one CHAP per chapter; each chapter runs to the next one's start."""
    if not chapters:
        return []
    end_ms = round(duration_s * 1000)
    ids = [f"chp{index}" for index in range(len(chapters))]
    frames: list[CTOC | CHAP] = [
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text="Mục lục")],
        )
    ]
    for index, (start, name) in enumerate(chapters):
        start_ms = round(start * 1000)
        stop_ms = round(chapters[index + 1][0] * 1000) if index + 1 < len(chapters) else end_ms
        frames.append(
            CHAP(
                element_id=ids[index],
                start_time=start_ms,
                end_time=max(start_ms, stop_ms),
                sub_frames=[TIT2(encoding=3, text=name)],
            )
        )
    return frames


def _write_mp4(path: Path, *, title: str, artist: str, album: str) -> None:
    mp4 = MP4(path)
    if mp4.tags is None:
        mp4.add_tags()
    tags = cast(MP4Tags, mp4.tags)  # add_tags() has just set them
    for key, value in (("\xa9nam", title), ("\xa9ART", artist), ("\xa9alb", album)):
        if value:
            tags[key] = [value]
    mp4.save()
