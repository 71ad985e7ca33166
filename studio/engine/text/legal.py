"""Parse Vietnamese legal documents: header metadata and the Phần/Chương/Mục/Tiểu mục/Điều/Khoản/Điểm tree.

`extract_text` turns an upload into text, `clean_text` strips editorial brackets and page furniture,
`parse_document` builds a `ParsedDocument`.

Conventions:
- `DocumentMeta.title` is in sentence case when the document writes it in capitals ("Quy định một số
  nội dung về ... tỉnh Quảng Ninh"); the document's place name and common abbreviations (HĐND, UBND,
  ...) keep their capitals. A title already in mixed case is kept as written.
- `DocumentMeta.issuer` is likewise turned into ordinary case ("Hội đồng nhân dân tỉnh Quảng Ninh").
- A Provision's `text` holds its own lines joined by "\\n"; quoted amendment bodies ("Điều 26a. ..."
  inside quotes, opened on a line of their own or at the end of "... như sau: “Điều 26a.") stay in
  the own text of the khoản/điểm/điều that introduces them.
- Lines a page wrapped (PDF) are rejoined: in own text, in Điều headings and in capitalised titles.
- `key` is the path of kind-number steps, e.g. "chuong-I/dieu-3a/khoan-2/diem-đ"; a Phần is keyed by
  its ordinal as a digit ("phan-1" for "Phần thứ nhất"). Provisions that restart after a signature
  block (a regulation issued together with a Quyết định) are keyed under "kem-theo/" and
  any remaining clash gets a "~2", "~3" suffix.
- Text after the last article (the adoption line, signature block, "Nơi nhận:") is not a provision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from studio.engine.text._legal_body import PROVISION_KINDS, Provision, heading_match, parse_body, too_many_provisions
from studio.engine.text._legal_clean import clean_text
from studio.engine.text._legal_extract import DocumentError, check_text, extract_text, text_too_large, too_large
from studio.engine.text._legal_header import DocumentMeta, parse_header

__all__ = [
    "PROVISION_KINDS",
    "DocumentError",
    "DocumentMeta",
    "ParsedDocument",
    "Provision",
    "check_text",
    "clean_text",
    "extract_text",
    "parse_document",
    "text_too_large",
    "too_large",
    "too_many_provisions",
]


@dataclass
class ParsedDocument:
    """A cleaned document: its header metadata, its provision tree and the cleaned text."""

    meta: DocumentMeta
    provisions: list[Provision]
    text: str

    def walk(self) -> Iterator[Provision]:
        """Every provision, in document order."""
        for root in self.provisions:
            yield from root.walk()

    def articles(self) -> list[Provision]:
        """Every Điều, in document order."""
        return [p for p in self.walk() if p.kind == "dieu"]


# --- document ----------------------------------------------------------------------------------


def parse_document(text: str, *, max_provisions: int | None = None) -> ParsedDocument:
    """Clean `text` and parse its header metadata and provision tree.

    Raises DocumentError: 'empty', or 'too_many_provisions' past `max_provisions` (None: no cap).
    """
    cleaned = clean_text(text or "")
    if not cleaned:
        raise DocumentError("empty", "Văn bản rỗng (empty document)")
    lines = cleaned.split("\n")
    body_start = next((i for i, line in enumerate(lines) if heading_match(line)), len(lines))
    provisions = parse_body(lines, body_start, max_provisions) if body_start < len(lines) else []
    if not any(p.kind == "dieu" for root in provisions for p in root.walk()):
        provisions = []
    return ParsedDocument(meta=parse_header(lines[:body_start], cleaned), provisions=provisions, text=cleaned)
