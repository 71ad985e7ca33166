"""Cleaning extracted legal text: editorial brackets, footnote markers and page furniture go, lines stay.

Private helper of `studio.engine.text.legal` (import `clean_text` from there).
"""

from __future__ import annotations

import re
from collections import Counter

from studio.engine.text._legal_extract import tidy

_FOOTNOTE = re.compile(r"[ \t]*\[\s*\d{1,3}\s*\]")
_EDITORIAL_WORDS = (
    r"sửa đổi|bổ sung|bãi bỏ|thay thế|hủy bỏ|huỷ bỏ|đình chỉ|hết hiệu lực|được hướng dẫn|hợp nhất"
    r"|đính chính|bị thay|ngưng hiệu lực|được bổ sung|được sửa"
)
_EDITORIAL = re.compile(r"[ \t]*\[[^\[\]\n]{0,400}?(?:" + _EDITORIAL_WORDS + r")[^\[\]\n]{0,400}?\]", re.IGNORECASE)
# The same, wrapped over up to three lines (a PDF's line breaks): "[Điều này được bổ sung bởi Khoản 2\nLuật ...]".
# It starts with the bracket, so the engine jumps from one "[" to the next (a leading [ \t]* would make it try
# every position of the text, some ten times slower, in one call that holds the GIL); `_drop_wrapped_notes`
# removes the blanks before it.
_EDITORIAL_WRAPPED = re.compile(
    r"\[(?=[^\[\]]*\n)(?:[^\[\]\n]*\n){0,3}?[^\[\]\n]*?(?:" + _EDITORIAL_WORDS + r")[^\[\]]{0,400}?\]",
    re.IGNORECASE,
)
_FOOTNOTE_LINE = re.compile(r"^\[\s*\d{1,3}\s*\]\s+\S")
_PAGE_LINE = re.compile(
    r"^(?:(?:trang|page|tr\.)\s*\d{1,4}(?:\s*(?:/|of|trên|\|)\s*\d{1,4})?"
    r"|[-–—]?\s*\d{1,4}\s*[-–—]?"
    r"|\d{1,4}\s*/\s*\d{1,4})$",
    re.IGNORECASE,
)
_STRUCTURAL_START = re.compile(r"^(?:phần|chương|mục|tiểu mục|điều)\s+\S|^\d+[a-zđ]?\.\s|^[a-zđ]\)\s", re.IGNORECASE)


def _is_furniture_candidate(line: str) -> bool:
    return 0 < len(line) <= 100 and not _STRUCTURAL_START.match(line) and not line.endswith((".", ";", ":", ",", '"', "”"))


def _drop_wrapped_notes(text: str) -> str:
    """`text` without editorial notes wrapped over lines, nor the blanks before them."""
    out: list[str] = []
    last = 0
    for match in _EDITORIAL_WRAPPED.finditer(text):
        start = match.start()
        while start > last and text[start - 1] in " \t":
            start -= 1
        out.append(text[last:start])
        last = match.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def clean_text(text: str) -> str:
    """NFC; drop editorial brackets, footnote markers and page furniture; tidy whitespace, keep lines."""
    text = _drop_wrapped_notes(tidy(text))
    lines: list[str] = []
    for line in text.split("\n"):
        if _FOOTNOTE_LINE.match(line):  # a footnote body ("[1] Khoản này được sửa đổi ...")
            continue
        stripped = _FOOTNOTE.sub("", _EDITORIAL.sub("", line))
        if line and not stripped.strip():
            continue  # the line was only a bracket
        stripped = re.sub(r"[ \t]+([.,;:)])", r"\1", stripped) if stripped != line else stripped
        if _PAGE_LINE.match(stripped.strip()):
            continue
        lines.append(stripped.strip())
    # Header/footer lines repeat on every page (digits differ: "Công báo số 12 ... trang 3").
    counts = Counter(re.sub(r"\d+", "#", line) for line in lines if _is_furniture_candidate(line))
    repeated = {key for key, n in counts.items() if n >= 3}
    if repeated:
        lines = [line for line in lines if not (_is_furniture_candidate(line) and re.sub(r"\d+", "#", line) in repeated)]
    out = "\n".join(lines)
    return re.sub(r"\n\n\n+", "\n\n", out).strip()
