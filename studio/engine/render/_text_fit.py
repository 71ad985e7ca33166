"""Text measured with the bundled font's own advance widths, wrapped and shrunk until it fits a box (pure).

The slides draw text with ffmpeg's drawtext, which neither wraps nor clips: text that does not fit runs off
the frame. So every card is laid out here first, with the widths and line height drawtext will use.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class FontMetrics:
    """Advance widths by code point, in font units, and the line height drawtext uses."""

    advances: dict[int, int]
    fallback: int  # advance of a character the font lacks (drawtext draws .notdef)
    units_per_em: int
    line_units: int  # ascender - descender: drawtext's row pitch before line_spacing

    def width(self, text: str, size: float) -> float:
        """Width in pixels of one row of text at a font size (kerning ignored, which only ever narrows it)."""
        units = sum(self.advances.get(ord(ch), self.fallback) for ch in unicodedata.normalize("NFC", text))
        return units * size / self.units_per_em


@lru_cache(maxsize=8)
def metrics(font: Path) -> FontMetrics:
    """The metrics of a TrueType font file (read once per process)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(font), lazy=True) as tt:
        hmtx = tt["hmtx"].metrics
        advances = {code: hmtx[name][0] for code, name in tt.getBestCmap().items() if name in hmtx}
        hhea = tt["hhea"]
        return FontMetrics(advances, hmtx[".notdef"][0], tt["head"].unitsPerEm, hhea.ascent - hhea.descent)


def line_spacing(size: int) -> int:
    """Extra pixels between rows: what _ffmpeg_video._drawtext passes to drawtext as line_spacing."""
    return max(2, size // 4)


def block_height(rows: int, size: int, font: Path) -> int:
    """Height in pixels of `rows` rows of drawtext text at `size`."""
    if rows <= 0:
        return 0
    pitch = metrics(Path(font)).line_units * size / metrics(Path(font)).units_per_em
    return int(rows * pitch + (rows - 1) * line_spacing(size) + 0.999)


def wrap(text: str, font: Path, size: int, box_width: int) -> list[str] | None:
    """Rows of whole words each at most box_width wide (paragraphs kept), or None if one word alone is wider."""
    fm = metrics(Path(font))
    rows: list[str] = []
    for paragraph in text.splitlines() or [""]:
        row = ""
        for word in paragraph.split():
            if fm.width(word, size) > box_width:
                return None
            candidate = f"{row} {word}" if row else word
            if row and fm.width(candidate, size) > box_width:
                rows.append(row)
                row = word
            else:
                row = candidate
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


@dataclass(frozen=True)
class Fitted:
    """Text laid out in a box: its rows, the size they are drawn at, and the height they take."""

    rows: list[str]
    size: int
    height: int


def fit(text: str, font: Path, *, size: int, box_width: int, box_height: int, min_size: int = 8) -> Fitted:
    """All of text in the box: wrapped at `size`, else at the largest smaller size that fits (never cut).

    Below min_size it keeps shrinking rather than drop words; min_size is where a caller should have
    made the text shorter, not a floor that hides the overflow.
    """
    current = size
    while True:
        rows = wrap(text, font, current, box_width)
        if current <= 4:  # a box too small for any text: the rows as they are, drawn tiny
            rows = rows if rows is not None else text.split()
            return Fitted(rows, current, block_height(len(rows), current, font))
        if rows is not None and block_height(len(rows), current, font) <= box_height:
            return Fitted(rows, current, block_height(len(rows), current, font))
        # Big sizes step by about 4 %, so a card keeps the largest size that fits.
        current -= max(1, current // 25) if current > min_size else 1
