"""Square podcast cover art (3000 x 3000 PNG, RGB) drawn by ffmpeg from the bundled font, cached by content."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

from settings import get_settings
from studio.engine.render import _ffmpeg as ff
from studio.engine.render import _ffmpeg_video as ffv

SIZE = 3000  # Apple Podcasts takes 1400-3000 px squares; the largest keeps artwork sharp everywhere
COVER_VERSION = "1"  # bump when the layout changes, so every cover is redrawn under a new name
FONTS = Path(__file__).resolve().parent / "defaults" / "fonts"
NAME = re.compile(r"^[0-9a-f]{20}\.png$")
BACKGROUND, BAND, ACCENT, INK = "0x0B3D6B", "0x082B4C", "0xF2B705", "white"


@dataclass(frozen=True)
class CoverText:
    """What a cover says: the show title, a line under it, and the credits at the foot."""

    title: str
    subtitle: str
    credits: tuple[str, ...]


def covers_dir() -> Path:
    """Directory of generated covers under the media root."""
    path = get_settings().media_dir / "covers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cover_name(text: CoverText) -> str:
    """File name of a cover: a hash of its text, the layout version and the font, so a change gets a new URL."""
    digest = hashlib.sha256()
    for part in (COVER_VERSION, str(SIZE), text.title, text.subtitle, *text.credits):
        digest.update(part.encode() + b"\0")
    digest.update(_font_fingerprint().encode())
    return f"{digest.hexdigest()[:20]}.png"


def ensure_cover(text: CoverText) -> Path:
    """The cover's PNG, drawn once and then reused; written to a temp file and renamed."""
    path = covers_dir() / cover_name(text)
    if path.exists():
        return path
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".cover-") as tmp:
        work = Path(tmp)
        out = work / "cover.png"
        ff.run(_args(text, work, out), timeout_s=120)
        os.replace(out, path)
    return path


def cover_path(name: str) -> Path | None:
    """The file of an already drawn cover, or None for an unknown or malformed name."""
    if not NAME.match(name):
        return None
    path = covers_dir() / name
    return path if path.is_file() else None


def _args(text: CoverText, work: Path, out: Path) -> list[str]:
    bold, regular = FONTS / "DejaVuSans-Bold.ttf", FONTS / "DejaVuSans.ttf"
    title_lines = textwrap.wrap(text.title, width=14, break_long_words=True)[:5] or [" "]
    title_size = 300 if len(title_lines) <= 3 else 240
    blocks = [
        (" ".join(text.subtitle.upper().split()) or " ", regular, 110, ACCENT, "360"),
        ("\n".join(title_lines), bold, title_size, INK, "620"),
        ("\n".join(text.credits) or " ", regular, 100, INK, "2520"),
    ]
    texts = []
    for index, (content, font, size, color, y) in enumerate(blocks):
        textfile = work / f"text-{index}.txt"
        textfile.write_text(content, encoding="utf-8")
        texts.append(ffv.TextBlock(textfile, font, size, color, "200", y))
    boxes = [
        (0, 0, 120, SIZE, ACCENT),  # a gold spine on the left edge
        (120, 2380, SIZE - 120, SIZE - 2380, BAND),  # a darker band behind the credits
        (200, 2380, 600, 24, ACCENT),
    ]
    return ffv.slide_args(out, width=SIZE, height=SIZE, background=BACKGROUND, boxes=boxes, texts=texts)


def _font_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf"):
        stat = (FONTS / name).stat()
        digest.update(f"{name}:{stat.st_size}".encode())
    return digest.hexdigest()
