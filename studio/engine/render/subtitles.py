"""Subtitle cues from per-line timings, and their WebVTT, SRT and ASS forms (pure, no ffmpeg)."""

from __future__ import annotations

import html
import os
import re
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LINE_CHARS = 42  # broadcast subtitle norm (BBC, EBU): about 37-42 characters a line


@dataclass(frozen=True)
class Cue:
    """One subtitle shown during [start_s, end_s); `text` may hold a line break."""

    start_s: float
    end_s: float
    text: str
    speaker: str | None = None


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False)


def _balanced(text: str, width: int) -> list[str]:
    """Wrap into as few rows as `width` allows, with rows as even as possible."""
    rows = _wrap(text, width)
    low, high = max(1, len(text) // max(1, len(rows))), width
    while low < high:  # narrowest width that needs no more rows
        mid = (low + high) // 2
        if len(_wrap(text, mid)) <= len(rows):
            high = mid
        else:
            low = mid + 1
    return _wrap(text, high)


def _groups(words: list[str], count: int) -> list[str]:
    """Split words into `count` runs of similar length, preferring breaks after punctuation."""
    ends = []
    total = 0
    for word in words:
        total += len(word) + 1
        ends.append(total)
    groups: list[str] = []
    start = 0
    for part in range(1, count):
        target = total * part / count
        candidates = range(start + 1, len(words) - (count - part) + 1)
        # a clause break within a fifth of the target beats an exact split in mid-phrase
        cut = min(
            candidates, key=lambda i: abs(ends[i - 1] - target) - (total / count * 0.2 if words[i - 1][-1] in ",;:.!?" else 0)
        )
        groups.append(" ".join(words[start:cut]))
        start = cut
    groups.append(" ".join(words[start:]))
    return groups


def _chunks(text: str, *, max_chars: int, max_lines: int) -> list[str]:
    width = max(1, max_chars // max_lines)
    greedy = _wrap(text, width)
    count = -(-len(greedy) // max_lines)
    words = text.split()
    if count > 1 and len(words) >= count:
        groups = [_balanced(group, width) for group in _groups(words, count)]
        if all(len(rows) <= max_lines for rows in groups):
            return ["\n".join(rows) for rows in groups]
    if count == 1:
        return ["\n".join(_balanced(text, width))]
    return ["\n".join(greedy[i : i + max_lines]) for i in range(0, len(greedy), max_lines)]


def _split_line(text: str, start: float, end: float, speaker: str | None, *, max_chars: int, max_lines: int) -> list[Cue]:
    text = " ".join(text.split())
    if not text:
        return []
    chunks = _chunks(text, max_chars=max_chars, max_lines=max_lines)
    weights = [len(chunk) for chunk in chunks]
    total = sum(weights)
    cues: list[Cue] = []
    done = 0
    for chunk, weight in zip(chunks, weights, strict=True):
        # cumulative shares keep cues contiguous and the last one ending exactly at `end`
        cue_start = start + (end - start) * done / total
        done += weight
        cue_end = end if done == total else start + (end - start) * done / total
        cues.append(Cue(round(float(cue_start), 3), round(float(cue_end), 3), chunk, speaker))
    return cues


def cues_from_timings(
    texts: Sequence[str],
    timings: Sequence[tuple[float, float]],
    *,
    speakers: Sequence[str | None] | None = None,
    max_chars: int = 84,
    max_lines: int = 2,
) -> list[Cue]:
    """Cues for script lines, splitting a long line into several cues that share its time by length."""
    if len(texts) != len(timings) or (speakers is not None and len(speakers) != len(texts)):
        raise ValueError("texts, timings and speakers must have the same length")
    cues: list[Cue] = []
    for index, (text, (start, end)) in enumerate(zip(texts, timings, strict=True)):
        if end < start:
            raise ValueError(f"line {index}: end {end} before start {start}")
        speaker = speakers[index] if speakers is not None else None
        cues.extend(_split_line(text, start, end, speaker, max_chars=max_chars, max_lines=max_lines))
    return cues


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(cues: Sequence[Cue]) -> str:
    """WebVTT document; a cue with a speaker gets a `<v Speaker>` voice span."""
    blocks = ["WEBVTT"]
    for cue in cues:
        body = _vtt_escape(cue.text)
        if cue.speaker:
            body = f"<v {_vtt_escape(cue.speaker)}>{body}"
        blocks.append(f"{_clock(cue.start_s, '.')} --> {_clock(cue.end_s, '.')}\n{body}")
    return "\n\n".join(blocks) + "\n"


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip document, numbered from 1."""
    blocks = [
        f"{number}\n{_clock(cue.start_s, ',')} --> {_clock(cue.end_s, ',')}\n{cue.text}"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _ass_clock(seconds: float) -> str:
    cs = max(0, round(seconds * 100))
    hours, rest = divmod(cs, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, centis = divmod(rest, 100)
    return f"{hours:d}:{minutes:02d}:{secs:02d}.{centis:02d}"


def ass_escape(text: str) -> str:
    """Text made literal for an ASS Dialogue line: braces, backslashes and newlines."""
    # libass knows \{ and \} as literal braces but has no escape for "\"; a word joiner after it
    # keeps "\N", "\n" and "\h" from forming while staying invisible.
    text = text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")
    return re.sub(r"\r\n|\r|\n", r"\\N", text)


def ass_font_size(width: int, height: int, max_line_chars: int = LINE_CHARS) -> int:
    """Subtitle font size in pixels: about 1/18 of the height, capped so a full line fits the width."""
    by_height = height / 18
    by_width = width * 0.9 / (max_line_chars * 0.56)  # DejaVu Sans averages ~0.56 em a character
    return max(10, int(min(by_height, by_width)))


def to_ass(cues: Sequence[Cue], *, width: int, height: int, font_name: str = "DejaVu Sans", font_size: int | None = None) -> str:
    """ASS script for burning in with libass: bottom-centred white text on a translucent box."""
    size = font_size or ass_font_size(width, height)
    margin_v = max(8, height // 24)
    margin_h = max(8, width // 20)
    outline = max(2, size // 6)
    header = (
        "[Script Info]\n"
        "ScriptType: v4.00+\n"
        f"PlayResX: {width}\n"
        f"PlayResY: {height}\n"
        "WrapStyle: 0\n"
        "ScaledBorderAndShadow: yes\n"
        "YCbCr Matrix: TV.709\n"
        "\n[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        # BorderStyle 3 = opaque box behind the text, drawn in OutlineColour (here black at ~35% transparency)
        f"Style: Default,{font_name},{size},&H00FFFFFF,&H00FFFFFF,&H5A000000,&H5A000000,"
        f"0,0,0,0,100,100,0,0,3,{outline},0,2,{margin_h},{margin_h},{margin_v},1\n"
        "\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    events = [
        f"Dialogue: 0,{_ass_clock(c.start_s)},{_ass_clock(c.end_s)},Default,{(c.speaker or '').replace(',', ' ')},0,0,0,,{ass_escape(c.text)}"
        for c in cues
    ]
    return header + "".join(event + "\n" for event in events)


_TIMING = re.compile(r"^(\S+)\s+-->\s+(\S+)")
_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?\s+([^>]*)>(.*?)(?:</v>)?$", re.S)


def _parse_clock(value: str) -> float:
    parts = value.replace(",", ".").split(":")
    seconds = float(parts[-1])
    for multiplier, part in zip((60, 3600), reversed(parts[:-1]), strict=False):
        seconds += int(part) * multiplier
    return seconds


def parse_webvtt(text: str) -> list[Cue]:
    """Cues of a WebVTT document (timings, text and `<v>` speaker; other tags are kept as text)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise ValueError("not a WebVTT document")
    cues: list[Cue] = []
    blocks = "\n".join(lines).split("\n\n")
    for block in blocks[1:]:
        rows = [row for row in block.split("\n") if row != ""]
        timed = next(((i, found) for i, row in enumerate(rows) if (found := _TIMING.match(row))), None)
        if timed is None:
            continue  # NOTE, STYLE or REGION block
        timing_at, match = timed
        body = "\n".join(rows[timing_at + 1 :])
        speaker = None
        voice = _VOICE.match(body)
        if voice:
            speaker, body = html.unescape(voice.group(1)).strip(), voice.group(2)
        cues.append(Cue(_parse_clock(match.group(1)), _parse_clock(match.group(2)), html.unescape(body), speaker))
    return cues


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text through a temp file in the same directory and os.replace it into place."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; published files must be readable
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
