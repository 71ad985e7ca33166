"""Plain text of a .docx legal document, with Word's automatic numbering written out.

Private helper of `studio.engine.text._legal_extract`. python-docx gives a paragraph's typed text only; a
document whose articles, clauses and points are Word list items ("Điều %1.", "%2.", "%3)") would
lose every label the provision parser needs, so the numbering definitions are evaluated here.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textclean import clean_name

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MAX_LEVELS = 9
# A Word file has a few dozen members (more with images); a zip with thousands is not one.
MAX_MEMBERS = 1000
# Word's XML compresses some 5 to 20 times; deflate can reach about 1000. Small members may compress as they like.
MAX_RATIO = 100
RATIO_FLOOR = 1 << 20
CHUNK = 64 * 1024


class DamagedDocx(ValueError):
    """The package is not a readable Word document."""


class ZipBomb(ValueError):
    """The package would unpack to far more than is reasonable; `vietnamese` and `english` say why."""

    def __init__(self, vietnamese: str, english: str):
        super().__init__(english)
        self.vietnamese = vietnamese
        self.english = english


class TextTooLong(ValueError):
    """The document's text passed `limit` characters while it was being read."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


def _member(name: str) -> str:
    return clean_name(name.replace("\x00", ""))[:80]


def entry_count(data: bytes) -> int | None:
    """Entries the end-of-central-directory record declares, read before zipfile makes an object per entry."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if end < 0 or end + 22 > len(data):
        return None
    return int.from_bytes(data[end + 10 : end + 12], "little")


def _check_directory(infos: list[zipfile.ZipInfo], max_unpacked: int) -> None:
    """Refuse a package by its central directory alone: member count, unpacked size, compression ratio."""
    if len(infos) > MAX_MEMBERS:
        raise ZipBomb(
            f"có {len(infos):,} tệp thành phần, tối đa {MAX_MEMBERS:,}", f"{len(infos):,} members, limit {MAX_MEMBERS:,}"
        )
    total = sum(info.file_size for info in infos)
    if total > max_unpacked:
        raise ZipBomb(
            f"giải nén ra {total:,} byte, tối đa {max_unpacked:,}", f"unpacks to {total:,} bytes, limit {max_unpacked:,}"
        )
    for info in infos:
        # bzip2 and LZMA members are inflated without an output bound, chunk by chunk; Word writes neither.
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ZipBomb(
                f"tệp thành phần '{_member(info.filename)}' dùng phương thức nén {info.compress_type}, Word không dùng",
                f"member '{_member(info.filename)}' uses compression method {info.compress_type}, which Word never writes",
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise ZipBomb(
                f"tệp thành phần '{_member(info.filename)}' nén {ratio:,.0f} lần, tối đa {MAX_RATIO} lần",
                f"member '{_member(info.filename)}' is compressed {ratio:,.0f}:1, limit {MAX_RATIO}:1",
            )


def safe_package(data: bytes, max_unpacked: int) -> io.BytesIO:
    """The .docx repacked uncompressed, after checking its central directory and reading each member in bounded chunks.

    python-docx reads whole members at once, and zipfile inflates a member in one call before it compares
    the result with the declared size; a repacked, stored copy bounds what python-docx can be made to allocate.
    Raises ZipBomb or DamagedDocx.
    """
    count = entry_count(data)
    if count is not None and count > MAX_MEMBERS:
        raise ZipBomb(f"có {count:,} tệp thành phần, tối đa {MAX_MEMBERS:,}", f"{count:,} members, limit {MAX_MEMBERS:,}")
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            infos = [info for info in source.infolist() if not info.is_dir()]
            _check_directory(infos, max_unpacked)
            seen: set[str] = set()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dest:
                for info in infos:
                    if info.filename in seen:
                        continue
                    seen.add(info.filename)
                    with source.open(info) as src, dest.open(zipfile.ZipInfo(info.filename), "w") as sink:
                        # zipfile stops at the declared size and checks the CRC at the end: a member that lies is damaged.
                        while chunk := src.read(CHUNK):
                            sink.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        if isinstance(exc, ZipBomb):
            raise
        raise DamagedDocx(str(exc)) from exc
    out.seek(0)
    return out


@dataclass(frozen=True)
class _Level:
    start: int
    fmt: str
    text: str


def _roman(n: int) -> str:
    out = ""
    for value, symbol in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        count, n = divmod(n, value)
        out += symbol * count
    return out


def _letters(n: int) -> str:
    # Word's lowerLetter: a..z, then aa..zz, bbb ...
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


_FORMATS: dict[str, Callable[[int], str]] = {
    "decimal": str,
    "decimalZero": lambda n: f"{n:02d}",
    "lowerLetter": _letters,
    "upperLetter": lambda n: _letters(n).upper(),
    "lowerRoman": lambda n: _roman(n).lower(),
    "upperRoman": _roman,
    "none": lambda n: "",
    "bullet": lambda n: "-",
}


def _val(element: Any, tag: str, default: str | None = None) -> str | None:
    child = element.find(W + tag) if element is not None else None
    return child.get(W + "val") if child is not None else default


class _Numbering:
    """Counters of every list in the document, advanced paragraph by paragraph."""

    def __init__(self, document: Any):
        self.levels: dict[str, dict[int, _Level]] = {}
        self.counters: dict[str, list[int | None]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return
        abstract: dict[str, dict[int, _Level]] = {}
        for node in root.findall(W + "abstractNum"):
            abstract[node.get(W + "abstractNumId")] = {
                int(lvl.get(W + "ilvl", "0")): _Level(
                    int(_val(lvl, "start", "1") or 1),
                    _val(lvl, "numFmt", "decimal") or "decimal",
                    _val(lvl, "lvlText", "") or "",
                )
                for lvl in node.findall(W + "lvl")
            }
        for num in root.findall(W + "num"):
            levels = dict(abstract.get(_val(num, "abstractNumId") or "", {}))
            for override in num.findall(W + "lvlOverride"):
                ilvl, start = int(override.get(W + "ilvl", "0")), _val(override, "startOverride")
                if start is not None and ilvl in levels:
                    old = levels[ilvl]
                    levels[ilvl] = _Level(int(start), old.fmt, old.text)
            self.levels[num.get(W + "numId")] = levels

    def label(self, num_id: str, ilvl: int) -> str:
        """The label Word shows for the next item of list `num_id` at level `ilvl` ("Điều 3.", "2.", "a)")."""
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        counters = self.counters.setdefault(num_id, [None] * MAX_LEVELS)
        current = counters[ilvl]
        counters[ilvl] = levels[ilvl].start if current is None else current + 1
        for deeper in range(ilvl + 1, MAX_LEVELS):
            counters[deeper] = None  # a new article restarts its clauses
        text = levels[ilvl].text
        for level in range(ilvl + 1):
            spec = levels.get(level)
            value = counters[level]
            if value is None:
                value = spec.start if spec else 1
            shown = _FORMATS.get(spec.fmt if spec else "decimal", str)(value)
            text = text.replace(f"%{level + 1}", shown)
        return "-" if levels[ilvl].fmt == "bullet" else text.strip()


def _num_pr(paragraph: Any) -> tuple[str, int] | None:
    """(numId, level) of a list paragraph, from the paragraph or its style chain."""
    p_pr = paragraph._p.pPr
    num_pr = p_pr.find(W + "numPr") if p_pr is not None else None
    style = paragraph.style
    while num_pr is None and style is not None:
        s_pr = style.element.find(W + "pPr")
        num_pr = s_pr.find(W + "numPr") if s_pr is not None else None
        style = style.base_style
    if num_pr is None:
        return None
    num_id = _val(num_pr, "numId")
    if not num_id or num_id == "0":
        return None
    return num_id, int(_val(num_pr, "ilvl", "0") or 0)


def docx_text(data: bytes, *, max_unpacked: int = 1 << 62, max_chars: int = 1 << 62) -> str:
    """Paragraphs and table cells in reading order, each list item prefixed with its label.

    Raises ZipBomb when the package would unpack past `max_unpacked` bytes (or looks like a bomb), and
    TextTooLong as soon as the text passes `max_chars` characters.
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    package = safe_package(data, max_unpacked)
    try:
        document = docx.Document(package)
    except Exception as exc:  # python-docx raises several types for damaged packages
        raise DamagedDocx(str(exc)) from exc
    del package
    numbering = _Numbering(document)
    lines: list[str] = []
    size = 0

    def walk(parent: Any, element: Any) -> None:
        nonlocal size
        for child in element.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                paragraph = Paragraph(child, parent)
                text = paragraph.text
                listed = _num_pr(paragraph) if text.strip() else None
                label = numbering.label(*listed) if listed else ""
                lines.append(f"{label} {text.lstrip()}" if label else text)
                size += len(lines[-1]) + 1
                if size > max_chars:
                    raise TextTooLong(max_chars)
            elif tag == "tbl":
                table = Table(child, parent)
                for row in table.rows:
                    seen: set[int] = set()
                    for cell in row.cells:
                        if id(cell._tc) in seen:  # merged cells repeat
                            continue
                        seen.add(id(cell._tc))
                        walk(cell, cell._tc)
            elif tag == "sdt":  # content controls wrap ordinary paragraphs
                content = child.find(W + "sdtContent")
                if content is not None:
                    walk(parent, content)

    walk(document, document.element.body)
    return "\n".join(lines)
