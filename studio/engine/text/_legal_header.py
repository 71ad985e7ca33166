"""Header metadata of Vietnamese legal documents: type, number, issuer, place, dates, title, legal bases.

Private helper of `studio.engine.text.legal` (import from there): `parse_header` reads the lines before the first
structural heading; `_is_caps` is shared with the provision parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as date_type

_MOTTO = re.compile(  # case-sensitive on purpose: "Căn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam" stays
    r"CỘNG\s+H(?:ÒA|OÀ)\s+XÃ\s+HỘI\s+CHỦ\s+NGHĨA\s+VIỆT\s+NAM"
    r"|(?:Độc\s+lập|ĐỘC\s+LẬP)\s*[-–—]\s*(?:Tự\s+do|TỰ\s+DO)\s*[-–—]\s*(?:Hạnh\s+phúc|HẠNH\s+PHÚC)"
)
_RULE = re.compile(r"^[-–—_=.*~\s]*$")
_NUMBER = re.compile(
    r"(?:^|\b(?:luật|bộ luật|pháp lệnh|nghị quyết|nghị định)\s+)số\s*[:.]?\s*(?P<num>[0-9][\w./\-–]*)", re.IGNORECASE
)
_DMY = r"(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})"
_WORDY = r"(?P<d2>\d{1,2})\s+tháng\s+(?P<m2>\d{1,2})\s+năm\s+(?P<y2>\d{4})"
_DATE = r"(?:" + _DMY + "|" + _WORDY + ")"
_PLACE_DATE = re.compile(r"(?P<place>[^\W\d_][^,\d:;]{0,50}?)\s*,\s*ngày\s+(?:" + _DATE + r"|[\s.…_]*tháng)", re.IGNORECASE)
_EFFECTIVE = re.compile(r"có\s+hiệu\s+lực(?:\s+thi\s+hành)?(?:\s+kể)?\s+từ\s+ngày\s+" + _DATE, re.IGNORECASE)
_DOC_TYPES = (
    "THÔNG TƯ LIÊN TỊCH",
    "NGHỊ QUYẾT LIÊN TỊCH",
    "VĂN BẢN HỢP NHẤT",
    "BỘ LUẬT",
    "NGHỊ ĐỊNH",
    "NGHỊ QUYẾT",
    "THÔNG TƯ",
    "QUYẾT ĐỊNH",
    "CHỈ THỊ",
    "PHÁP LỆNH",
    "HIẾN PHÁP",
    "LUẬT",
    "LỆNH",
    "KẾ HOẠCH",
    "HƯỚNG DẪN",
    "THÔNG BÁO",
    "QUY ĐỊNH",
    "QUY CHẾ",
    "CÔNG VĂN",
)
_TYPE_BY_CODE = {
    "QH": "Luật",
    "NĐ": "Nghị định",
    "NQ": "Nghị quyết",
    "QĐ": "Quyết định",
    "TT": "Thông tư",
    "TTLT": "Thông tư liên tịch",
    "CT": "Chỉ thị",
    "PL": "Pháp lệnh",
    "KH": "Kế hoạch",
    "L": "Lệnh",
}
_AUTHORITY = re.compile(r"^(?:HỘI ĐỒNG NHÂN DÂN|[ỦU]Y BAN|QUỐC HỘI|CHÍNH PHỦ|THỦ TƯỚNG|BỘ TRƯỞNG|CHỦ TỊCH|GIÁM ĐỐC|CHỦ NHIỆM)\b")
_UNIT = re.compile(r"\b(TỈNH|THÀNH PHỐ|HUYỆN|QUẬN|THỊ XÃ|XÃ|PHƯỜNG|THỊ TRẤN|ĐẶC KHU)\s+(\S.*)$")
_ORG_NAMES = {
    "HỘI ĐỒNG NHÂN DÂN": "Hội đồng nhân dân",
    "ỦY BAN NHÂN DÂN": "Ủy ban nhân dân",
    "UỶ BAN NHÂN DÂN": "Ủy ban nhân dân",
    "QUỐC HỘI": "Quốc hội",
    "CHÍNH PHỦ": "Chính phủ",
    "THỦ TƯỚNG CHÍNH PHỦ": "Thủ tướng Chính phủ",
    "ỦY BAN THƯỜNG VỤ QUỐC HỘI": "Ủy ban Thường vụ Quốc hội",
    "BỘ CÔNG THƯƠNG": "Bộ Công Thương",
}
_MAX_ISSUER_LINE = 120
_AGENCY = re.compile(r"^(BỘ|SỞ|CỤC|TỔNG CỤC|CHI CỤC|BAN|TRUNG TÂM|VĂN PHÒNG|THANH TRA)\s+(.+)$")
_ACRONYMS = {
    "HĐND",
    "UBND",
    "PBGDPL",
    "GDPL",
    "CNTT",
    "MTTQ",
    "ASEAN",
    "COVID-19",
    "TTHC",
    "ĐBQH",
    "BHXH",
    "BHYT",
    "THCS",
    "THPT",
    "TW",
    "QR",
    "VNEID",
    "KT-XH",
    "QNR1",
    "QTV1",
}


def _date(m: re.Match[str]) -> date_type | None:
    d, mo, y = (m.group("d") or m.group("d2")), (m.group("m") or m.group("m2")), (m.group("y") or m.group("y2"))
    if not d:
        return None
    try:
        return date_type(int(y), int(mo), int(d))
    except ValueError:
        return None


def _is_caps(line: str) -> bool:
    """True when every letter of the line is a capital (and it has letters)."""
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _doc_type_of(line: str) -> tuple[str, str] | None:
    if not _is_caps(line):
        return None
    for kind in _DOC_TYPES:
        if line == kind or line.startswith(kind + " "):
            return kind.capitalize(), line[len(kind) :].strip()
    return None


def _cap_words(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in text.split())


def _org_case(org: str) -> str:
    org = org.strip(" ,-–")
    if org in _ORG_NAMES:
        return _ORG_NAMES[org]
    if org in _ACRONYMS or org in {"UBND", "HĐND"}:
        return org
    m = _AGENCY.match(org)
    if m:
        rest = re.sub(
            r"(^|\bVÀ\s+|[,\-–]\s*)(\w)", lambda x: x.group(1) + x.group(2).upper(), m.group(2).lower().replace("và ", "VÀ ")
        )
        return m.group(1).capitalize() + " " + rest.replace("VÀ ", "và ")
    return org.capitalize()


def _split_unit(text: str) -> tuple[str, str | None, str | None]:
    """'HỘI ĐỒNG NHÂN DÂN TỈNH QUẢNG NINH' -> ('HỘI ĐỒNG NHÂN DÂN', 'tỉnh', 'Quảng Ninh')."""
    for m in _UNIT.finditer(text):
        if m.start() > 0 or text.startswith(("TỈNH", "THÀNH PHỐ", "HUYỆN", "QUẬN", "XÃ", "PHƯỜNG")):
            return text[: m.start()].strip(), m.group(1).lower(), _cap_words(m.group(2))
    return text, None, None


def _issuer_case(lines: list[str]) -> tuple[str, str | None]:
    """Issuer in ordinary case, plus the place named in it."""
    joined = " ".join(lines)
    if not _is_caps(joined):
        return joined, None
    if len(lines) >= 2 and _AGENCY.match(lines[-1]):
        _, unit, place = _split_unit(" ".join(lines[:-1]))
        agency = _org_case(lines[-1])
        return (f"{agency} {unit} {place}" if unit else agency), place
    org, unit, place = _split_unit(joined)
    name = _org_case(org) if org else ""
    return (f"{name} {unit} {place}".strip() if unit else name), place


def _sentence_case(title: str, names: list[str]) -> str:
    if not _is_caps(title):
        return title
    words = []
    for word in title.split():
        core = word.strip(',.;:()"“”')
        keep = core in _ACRONYMS or any(c.isdigit() for c in core) or ("/" in core)
        words.append(word if keep else word.lower())
    out = " ".join(words)
    for name in ["Việt Nam", *names]:
        if name:
            out = re.sub(r"\b" + re.escape(name.lower()) + r"\b", name, out)
    return out[:1].upper() + out[1:]


@dataclass(frozen=True)
class DocumentMeta:
    """A document's header: what it is, its number, who issued it where and when, its title, and its legal bases."""

    doc_type: str | None = None
    number: str | None = None
    issuer: str | None = None
    place: str | None = None
    issued_on: date_type | None = None
    title: str | None = None
    effective_on: date_type | None = None
    legal_bases: tuple[str, ...] = ()


def parse_header(lines: list[str], full_text: str) -> DocumentMeta:
    """The metadata in the lines before the first structural heading (the effective date from the whole text)."""
    lines = [_MOTTO.sub("", line).strip(" -–—") if _MOTTO.search(line) else line for line in lines]
    top = _scan_top(lines)
    title, rest_from = _title_lines(lines, top.type_at)
    issuer_lines = top.issuer_lines
    if not issuer_lines:  # no agency block: use the enacting authority line ("HỘI ĐỒNG NHÂN DÂN TỈNH ...")
        authority = next((ln for ln in lines[rest_from:] if _AUTHORITY.match(ln) and _is_caps(ln)), None)
        issuer_lines = [authority] if authority else []
    issuer, issuer_place = _issuer_case(issuer_lines) if issuer_lines else (None, None)
    place = top.place if top.place is not None else issuer_place
    names = [name for name in (place, issuer_place) if name is not None]
    return DocumentMeta(
        doc_type=top.doc_type or _type_from_number(top.number),
        number=top.number,
        issuer=issuer,
        place=place,
        issued_on=top.issued_on,
        title=_sentence_case(" ".join(title), names) if title else None,
        effective_on=_effective_on(full_text),
        legal_bases=_legal_bases(lines[rest_from:]),
    )


@dataclass
class _Top:
    """What the lines above the document type say: number, place and date, the type, and the issuer's lines."""

    number: str | None = None
    place: str | None = None
    issued_on: date_type | None = None
    doc_type: str | None = None
    type_at: int | None = None
    issuer_lines: list[str] = field(default_factory=list)


def _scan_top(lines: list[str]) -> _Top:
    top = _Top()
    issuer_done = False
    for i, line in enumerate(lines):
        if _RULE.match(line):
            if top.issuer_lines:
                issuer_done = True
            continue
        number = _NUMBER.search(line)
        if number and top.number is None:
            top.number = number.group("num").rstrip(".,;–-")
        place_date = _PLACE_DATE.search(line)
        if place_date and top.issued_on is None and top.place is None:
            tokens = place_date.group("place").split()
            while tokens and ("-" in tokens[0] or "/" in tokens[0] or (tokens[0].isupper() and len(tokens[0]) > 3)):
                tokens.pop(0)
            top.place = " ".join(tokens) or None
            top.issued_on = _date(place_date)
        found = _doc_type_of(line)
        if found:
            top.type_at, top.doc_type = i, found[0]
            break
        # The issuing body is written in capitals (Decree 30/2020/NĐ-CP, Appendix I); prose is not an issuer.
        if (
            not (number or place_date or issuer_done)
            and len(top.issuer_lines) < 3
            and _is_caps(line)
            and len(line) <= _MAX_ISSUER_LINE
        ):
            top.issuer_lines.append(line)
        else:
            issuer_done = issuer_done or bool(top.issuer_lines)
    return top


def _title_lines(lines: list[str], type_at: int | None) -> tuple[list[str], int]:
    """The title's lines (from the document type's line on), and where the rest of the header starts."""
    found = _doc_type_of(lines[type_at]) if type_at is not None else None
    if type_at is None or found is None:
        return [], 0
    title = [found[1]] if found[1] else []
    j = type_at + 1
    while j < len(lines):
        line = lines[j]
        if (
            not line
            or _RULE.match(line)
            or line.startswith("(")
            or line.lower().startswith("căn cứ")
            or (title and _AUTHORITY.match(line))
            or (title and _is_caps(" ".join(title)) and not _is_caps(line))
        ):
            break
        title.append(line)
        j += 1
    return title, j


def _type_from_number(number: str | None) -> str | None:
    """The document type a number's code names ("15/2020/NĐ-CP" -> "Nghị định")."""
    if number is None or "/" not in number:
        return None
    code = re.split(r"[-–]", number.rsplit("/", 1)[-1])[0].upper()
    return _TYPE_BY_CODE.get(re.sub(r"\d+$", "", code))


def _legal_bases(lines: list[str]) -> tuple[str, ...]:
    """The "Căn cứ ..." lines, each with the lines it runs on to."""
    bases: list[str] = []
    open_basis = False
    for line in lines:
        if line.lower().startswith("căn cứ"):
            bases.append(line)
        elif open_basis and line and (line[0].islower() or line[0].isdigit()):
            bases[-1] += " " + line
        else:
            open_basis = False
            continue
        open_basis = not bases[-1].endswith((";", "."))
    return tuple(b.rstrip(" ;.,") for b in bases)


def _effective_on(full_text: str) -> date_type | None:
    """The date the document takes effect: its own ("... này có hiệu lực từ ngày ..."), else the first one named."""
    matches = list(_EFFECTIVE.finditer(full_text))
    own = [m for m in matches if "này" in full_text[max(0, m.start() - 60) : m.start()].split("\n")[-1]]
    chosen = (own or matches)[:1]
    return _date(chosen[0]) if chosen else None
