"""Plain text of a .docx legal document, with Word's automatic numbering written out.

Private helper of `studio._legal_extract`. python-docx gives a paragraph's typed text only; a
document whose articles, clauses and points are Word list items ("Điều %1.", "%2.", "%3)") would
lose every label the provision parser needs, so the numbering definitions are evaluated here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MAX_LEVELS = 9


class DamagedDocx(ValueError):
    """The package is not a readable Word document."""


@dataclass(frozen=True)
class _Level:
    start: int
    fmt: str
    text: str


def _roman(n: int) -> str:
    out = ""
    for value, symbol in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                          (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, n = divmod(n, value)
        out += symbol * count
    return out


def _letters(n: int) -> str:
    # Word's lowerLetter: a..z, then aa..zz, bbb ...
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


_FORMATS: dict[str, Callable[[int], str]] = {
    "decimal": str, "decimalZero": lambda n: f"{n:02d}", "lowerLetter": _letters,
    "upperLetter": lambda n: _letters(n).upper(), "lowerRoman": lambda n: _roman(n).lower(), "upperRoman": _roman,
    "none": lambda n: "", "bullet": lambda n: "-",
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
                    int(_val(lvl, "start", "1") or 1), _val(lvl, "numFmt", "decimal") or "decimal",
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


def docx_text(data: bytes) -> str:
    """Paragraphs and table cells in reading order, each list item prefixed with its label."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for damaged packages
        raise DamagedDocx(str(exc)) from exc
    numbering = _Numbering(document)
    lines: list[str] = []

    def walk(parent: Any, element: Any) -> None:
        for child in element.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                paragraph = Paragraph(child, parent)
                text = paragraph.text
                listed = _num_pr(paragraph) if text.strip() else None
                label = numbering.label(*listed) if listed else ""
                lines.append(f"{label} {text.lstrip()}" if label else text)
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
