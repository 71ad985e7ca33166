"""The body of a Vietnamese legal document: its lines into the Phần/Chương/Mục/Tiểu mục/Điều/Khoản/Điểm tree.

Private helper of `studio.engine.text.legal` (import from there), whose docstring states the conventions:
keys, quoted amendment bodies, lines a page wrapped, and where the body ends.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field

from studio.engine.text._legal_extract import DocumentError
from studio.engine.text._legal_header import _is_caps

PROVISION_KINDS = ("phan", "chuong", "muc", "tieu_muc", "dieu", "khoan", "diem")
POINT_LETTERS = "abcdđeghiklmnopqrstuvxy"
_LEVEL = {kind: i for i, kind in enumerate(PROVISION_KINDS)}
_LABEL = {
    "phan": "Phần",
    "chuong": "Chương",
    "muc": "Mục",
    "tieu_muc": "Tiểu mục",
    "dieu": "Điều",
    "khoan": "Khoản",
    "diem": "Điểm",
}


@dataclass
class Provision:
    """One node of the tree: a Phần, Chương, Mục, Tiểu mục, Điều, Khoản or Điểm, with its own text and its children."""

    kind: str
    number: str
    label: str
    heading: str
    text: str
    key: str
    children: list[Provision] = field(default_factory=list)

    def walk(self) -> Iterator[Provision]:
        """This provision, then its descendants in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


# --- line patterns -----------------------------------------------------------------------------

_ROMAN = r"[IVXLC]+"
_ORDINALS = {
    "nhất": 1,
    "một": 1,
    "hai": 2,
    "ba": 3,
    "tư": 4,
    "bốn": 4,
    "năm": 5,
    "sáu": 6,
    "bảy": 7,
    "tám": 8,
    "chín": 9,
    "mười": 10,
}
_TAIL = r"(?:\s*[.:–-]\s*(?P<title>.*))?$"
_RE_PHAN = re.compile(r"^phần\s+(?P<num>thứ\s+(?:mười\s+)?\w+|" + _ROMAN + r"|\d+)" + _TAIL, re.IGNORECASE)
_RE_CHUONG = re.compile(r"^chương\s+(?P<num>" + _ROMAN + r"|\d+)(?P<suffix>[a-z]?)" + _TAIL, re.IGNORECASE)
_RE_MUC = re.compile(r"^mục\s+(?P<num>\d+[a-z]?|" + _ROMAN + r")" + _TAIL, re.IGNORECASE)
_RE_TIEU_MUC = re.compile(r"^tiểu\s+mục\s+(?P<num>\d+[a-z]?|" + _ROMAN + r")" + _TAIL, re.IGNORECASE)
_RE_DIEU = re.compile(r"^điều\s+(?P<num>\d+[a-zđ]?)(?:\s*[.:]\s*(?P<title>.*))?$", re.IGNORECASE)
_RE_KHOAN = re.compile(r"^(?P<num>\d{1,3})(?P<suffix>[a-zđ]?)\.\s+(?P<text>\S.*)$")
_RE_DIEM = re.compile(r"^(?P<num>[a-zđ])\)\s+(?P<text>\S.*)$")
_HEADINGS = (("phan", _RE_PHAN), ("chuong", _RE_CHUONG), ("muc", _RE_MUC), ("tieu_muc", _RE_TIEU_MUC), ("dieu", _RE_DIEU))

_OPEN_QUOTES = ('"', "“")
_QUOTE_CHARS = ('"', "“", "”")
_CLOSING_QUOTE_END = re.compile(r"[\"”][.;,:)]*$")
_OPENS_QUOTE = re.compile(r":\s*[\"“][^\"“”]*$")  # a colon, then a quotation left open at the line end
_ADOPTED = re.compile(r"^(?:luật|bộ luật|pháp lệnh|nghị quyết|hiến pháp)\s+này\s+(?:đã\s+)?được\b.*\bthông qua\b", re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^(?:(?:TM|KT|TL|TUQ|Q|T/M|K/T)\.?\s+\S.*"
    r"|(?:PHÓ\s+)?(?:CHỦ TỊCH|BỘ TRƯỞNG|THỨ TRƯỞNG|THỦ TƯỚNG|GIÁM ĐỐC|CHÁNH ÁN|VIỆN TRƯỞNG|TỔNG GIÁM ĐỐC"
    r"|CHỦ NHIỆM|TRƯỞNG BAN|TỔNG KIỂM TOÁN|CHÁNH VĂN PHÒNG)(?:\s+[A-ZĐÀ-Ỹ ]+)?"
    r"|NƠI NHẬN:?|Nơi nhận:?.*|\((?:Đã ký|đã ký|Ký|ký)[^)]*\).*)$"
)


def heading_match(line: str) -> tuple[str, re.Match[str]] | None:
    """The kind and match of a Phần/Chương/Mục/Tiểu mục/Điều heading line, or None."""
    for kind, pattern in _HEADINGS:
        m = pattern.match(line)
        if m:
            return kind, m
    return None


def _slug(number: str) -> str:
    return re.sub(r"\s+", "-", number.strip())


def _phan_number(raw: str) -> tuple[str, str]:
    words = raw.lower().split()
    if words[0] == "thứ":
        value = sum(_ORDINALS.get(w, 0) for w in words[1:])
        return (str(value) if value else "-".join(words[1:])), "Phần " + " ".join(words)
    return raw.upper() if re.fullmatch(_ROMAN, raw, re.IGNORECASE) else raw, f"Phần {raw.upper()}"


def _heading_number(kind: str, m: re.Match[str]) -> tuple[str, str]:
    """Number and label of a Phần/Chương/Mục/Tiểu mục/Điều heading line."""
    if kind == "phan":
        return _phan_number(m.group("num"))
    if kind == "chuong":
        number = m.group("num").upper() + m.group("suffix").lower()
        return number, f"Chương {number}"
    number = m.group("num")
    number = number.upper() if re.fullmatch(_ROMAN, number, re.IGNORECASE) and kind != "dieu" else number.lower()
    return number, f"{_LABEL[kind]} {number}"


# --- tree --------------------------------------------------------------------------------------


def too_many_provisions(limit: int) -> DocumentError:
    """The error for a document with more provisions than LAWCAST_MAX_PROVISIONS."""
    return DocumentError(
        "too_many_provisions",
        f"Văn bản có hơn {limit:,} điều, khoản, điểm; tối đa {limit:,} "
        f"(too many provisions: over {limit:,}; see LAWCAST_MAX_PROVISIONS)",
    )


class _Builder:
    def __init__(self, max_provisions: int | None = None) -> None:
        self.max_provisions = max_provisions
        self.count = 0
        self.roots: list[Provision] = []
        self.stack: list[Provision] = []  # open provisions, outermost first
        self.own: dict[int, list[str]] = {}
        self.keys: set[str] = set()
        self.last_suffix: dict[str, int] = {}  # per clashing key, so 20,000 "Chương I" cost 20,000 steps, not 200 million
        self.prefix = ""

    def open(self, kind: str, number: str, label: str, heading: str) -> Provision:
        self.count += 1
        if self.max_provisions is not None and self.count > self.max_provisions:
            raise too_many_provisions(self.max_provisions)  # stop at once: the rest is not worth parsing
        while self.stack and _LEVEL[self.stack[-1].kind] >= _LEVEL[kind]:
            self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        step = f"{kind.replace('_', '-')}-{_slug(number)}"
        key = f"{parent.key}/{step}" if parent else self.prefix + step
        base, n = key, self.last_suffix.get(key, 1)
        while key in self.keys:
            n += 1
            key = f"{base}~{n}"
        if n > 1:
            self.last_suffix[base] = n
        self.keys.add(key)
        node = Provision(kind=kind, number=number, label=label, heading=heading, text="", key=key)
        (parent.children if parent else self.roots).append(node)
        self.stack.append(node)
        self.own[id(node)] = []
        return node

    def add_text(self, line: str) -> None:
        if self.stack:
            self.own[id(self.stack[-1])].append(line)

    def current(self, kind: str) -> Provision | None:
        for node in reversed(self.stack):
            if node.kind == kind:
                return node
        return None

    def finish(self) -> list[Provision]:
        for root in self.roots:
            for node in root.walk():
                node.text = _join_lines(self.own.get(id(node), []))
        return self.roots


_HEADING_WORDS = r"(?:phần|chương|mục|tiểu mục|điều)\s+(?:thứ\s+\w+|[\dIVXLC]+[a-zđ]?)"
_STARTS_ITEM = re.compile(rf"^[\"“]?(?:{_HEADING_WORDS}\s*(?:[.:–-]|$)|\d+[a-zđ]?\.\s|[a-zđ]\)\s|[-–—•+*]\s)", re.IGNORECASE)
_ENDS_IN_HEADING = re.compile(rf"(?:^|[\"“])\s*{_HEADING_WORDS}\b[^\"“”]*$", re.IGNORECASE)
_SENTENCE_END = (".", ";", ":", "!", "?", '"', "”", "…")
_WRAPPED_MIN = 40  # characters: even an A5 page holds some 60 per line


def _continues(previous: str, line: str) -> bool:
    """Whether `line` is the rest of `previous`, wrapped by the page (PDF) or a hard line break."""
    if previous.endswith(_SENTENCE_END) or _STARTS_ITEM.match(line):
        return False
    if line[:1].islower():
        return True
    # A page wraps long lines only (short ones are table cells or list entries); a heading (also a quoted
    # one, "… như sau: “Điều 26b. Lưu trữ") or a capitalised title ends its line.
    return len(previous) >= _WRAPPED_MIN and not (_ENDS_IN_HEADING.search(previous) or _is_caps(previous) or _is_caps(line))


def _join_lines(lines: list[str]) -> str:
    """Own lines joined by newlines; a line wrapped mid-sentence is rejoined with a space."""
    out: list[str] = []
    for line in lines:
        if out and _continues(out[-1], line):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out).strip()


class _Quotes:
    """Where quotations close: `end(start)` is the line closing a quotation opened at lines[start], or None.

    That is the first line, at most 401 lines on, that ends in a closing quote with an even count of quote
    marks from lines[start] through it. Counted once for the whole text (on first use) and searched by
    bisection, so a text of thousands of quotations that never close costs one pass, not 400 per quotation.
    """

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.parity_before: list[int] = []
        self.closing: tuple[list[int], list[int]] = ([], [])  # closing lines, by parity of the marks through them

    def end(self, start: int) -> int | None:
        if not self.parity_before:
            parity = 0
            for i, line in enumerate(self.lines):
                self.parity_before.append(parity)
                parity ^= sum(line.count(q) for q in _QUOTE_CHARS) & 1
                if _CLOSING_QUOTE_END.search(line):
                    self.closing[parity].append(i)
        candidates = self.closing[self.parity_before[start]]
        k = bisect_left(candidates, start)
        return candidates[k] if k < len(candidates) and candidates[k] <= start + 401 else None


class _BodyParser:
    """One pass over the body lines (from the first heading on), building the provision tree."""

    def __init__(self, lines: list[str], max_provisions: int | None) -> None:
        self.lines = lines
        self.b = _Builder(max_provisions)
        self.quotes = _Quotes(lines)
        self.closed = False  # after a signature block: wait for a new structural heading
        self.seen_article = False
        self.pending_heading: Provision | None = None  # Phần/Chương/Mục waiting for its title line

    def parse(self, start: int) -> list[Provision]:
        """The provisions of lines[start:]."""
        i = start
        while i < len(self.lines):
            line = self.lines[i]
            i += 1
            if line:
                i = self._take(line, i)
        return self.b.finish()

    def _take(self, line: str, i: int) -> int:
        """Take in `line` (lines[i - 1]); returns the index of the next line to read."""
        article = self.b.current("dieu")
        # A quotation (amending text) opened at the start of a line stays in the current node.
        if article is not None and not self.closed and line.startswith(_OPEN_QUOTES):
            end = self.quotes.end(i - 1)
            if end is not None:
                self._add_quoted(i - 1, end)
                self.pending_heading = None
                return end + 1
        hm = heading_match(line)
        if hm is None and self.seen_article and self._ends_body(line, i):
            self.closed = True
            self.pending_heading = None
            self.b.stack.clear()
            return i
        if hm is not None:
            self._open_heading(*hm)
            return i
        if self.closed or self._extends_heading(line):
            return i
        if not (article is not None and (_accept_khoan(self.b, article, line) or _accept_diem(self.b, article, line))):
            self.b.add_text(line)
        # "... như sau: “Điều 26a. ..." opens the amending text at the end of a line: it runs on
        # to the closing quote and stays in the node that introduced it.
        if article is not None and _OPENS_QUOTE.search(line) and (end := self.quotes.end(i - 1)) is not None:
            self._add_quoted(i, end)
            return end + 1
        return i

    def _ends_body(self, line: str, i: int) -> bool:
        """Whether `line` (lines[i - 1]) is the adoption line or starts the signature block."""
        lines = self.lines
        adopted = _ADOPTED.match(line) or (i < len(lines) and _ADOPTED.match(f"{line} {lines[i]}"))
        return bool(adopted or _SIGNATURE.match(line))

    def _open_heading(self, kind: str, m: re.Match[str]) -> None:
        if self.closed:
            self.closed = False
            self.b.prefix = "kem-theo/"
        title = (m.group("title") or "").strip()
        number, label = _heading_number(kind, m)
        node = self.b.open(kind, number, label, title)
        self.seen_article = self.seen_article or kind == "dieu"
        # A Điều keeps its title line only when it has one; a Phần/Chương/Mục may put it on the next line.
        self.pending_heading = node if title or kind != "dieu" else None

    def _extends_heading(self, line: str) -> bool:
        """Whether `line` went onto the heading of the provision just opened (which stops waiting when it did not)."""
        pending = self.pending_heading
        if pending is None:
            return False
        if _heading_goes_on(pending, line):
            pending.heading = f"{pending.heading} {line}" if pending.heading else line
            return True
        self.pending_heading = None
        return False

    def _add_quoted(self, first: int, last: int) -> None:
        for quoted in self.lines[first : last + 1]:
            if quoted:
                self.b.add_text(quoted)


def _heading_goes_on(node: Provision, line: str) -> bool:
    """Whether `line` is (the rest of) the heading of a just-opened provision."""
    heading = node.heading
    if not heading:
        return node.kind != "dieu"  # "Chương I" / "QUY ĐỊNH CHUNG"
    if _is_caps(heading):
        return _is_caps(line)  # a capitalised title wrapped over lines
    # "Điều 4. Sửa đổi, bổ sung ... truyền thanh" / "cơ sở": wrapped by the page
    return line[:1].islower() and not heading.endswith(_SENTENCE_END) and not _STARTS_ITEM.match(line)


def _accept_khoan(b: _Builder, article: Provision, line: str) -> bool:
    m = _RE_KHOAN.match(line)
    if not m:
        return False
    value, suffix = int(m.group("num")), m.group("suffix")
    # Only the last clause counts: looking at every earlier one made each line cost up to 999 steps.
    previous = next((c for c in reversed(article.children) if c.kind == "khoan"), None)
    last = _clause_value(previous.number) if previous else 0
    ok = (value == last and suffix != "") or (last < value <= last + 3) if previous else (value <= 3)
    if not ok:
        return False
    while b.stack[-1] is not article:
        b.stack.pop()
    number = f"{value}{suffix}"
    b.open("khoan", number, f"Khoản {number}", "")
    b.add_text(m.group("text"))
    return True


def _clause_value(number: str) -> int:
    """The numeric part of a khoản number ("3" of "3a")."""
    digits = re.match(r"\d+", number)
    return int(digits.group()) if digits else 0


def _accept_diem(b: _Builder, article: Provision, line: str) -> bool:
    m = _RE_DIEM.match(line)
    if not m or m.group("num") not in POINT_LETTERS:
        return False
    khoan = b.current("khoan")
    parent = khoan if khoan is not None else article
    previous = next((c for c in reversed(parent.children) if c.kind == "diem"), None)
    index = POINT_LETTERS.index(m.group("num"))
    last = POINT_LETTERS.index(previous.number) if previous else -1
    if not (last < index <= last + 3):
        return False
    while b.stack[-1] is not parent:
        b.stack.pop()
    b.open("diem", m.group("num"), f"Điểm {m.group('num')}", "")
    b.add_text(m.group("text"))
    return True


def parse_body(lines: list[str], start: int, max_provisions: int | None = None) -> list[Provision]:
    """The provision tree of lines[start:] (lines[start] is the first heading); DocumentError past `max_provisions`."""
    return _BodyParser(lines, max_provisions).parse(start)
