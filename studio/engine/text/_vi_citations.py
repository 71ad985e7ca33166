"""Legal citations and document codes read aloud (private helper of studio.engine.text.speech).

``15/2020/NĐ-CP`` is read as number, year, then document type and issuer from the dictionaries in
studio.engine.text.lexicon; the type is not repeated when the words before name it, and the issuer not when the
same clause names it after "của" (see the studio.engine.text.speech docstring for examples).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from studio.engine.text._vi_numbers import number_to_words, read_integer
from studio.engine.text.lexicon import DOC_TYPES, ISSUERS, is_abbreviation

REASON_ABBREVIATION = "từ viết tắt chưa có trong từ điển"

_PART = r"[A-ZĐ][A-Za-zĐđ]*\d*"
_CITE = re.compile(rf"(\d+)/(?:(\d{{4}})/)?({_PART}(?:-{_PART})*)(?![\w])")
_PARTY_CITE = re.compile(rf"(\d+)-({_PART})/({_PART}(?:-{_PART})*)(?![\w])")
_QH = re.compile(r"(UBTVQH|QH)(\d{1,2})")
_COMPOUND = re.compile(rf"(?<![\w-])({_PART}(?:-{_PART})+)(?![\w]|-\w)")


@dataclass
class Ctx:
    """State of one scan: the NFC text, the lexicons, the output so far and the flags."""

    text: str
    user: Mapping[str, str]
    words: Mapping[str, str]
    out: list[str] = field(default_factory=list)
    flags: list[tuple[str, int, int, str]] = field(default_factory=list)
    last_phone_end: int = -1

    def flag(self, token: str, start: int, reason: str) -> None:
        """Record an unreadable token at `start`."""
        self.flags.append((token, start, start + len(token), reason))


def _join_and(items: list[str]) -> str:
    """ "a", "a và b", "a, b và c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " và " + items[-1]


def code_part(ctx: Ctx, part: str) -> str | None:
    """Spoken form of one issuer or abbreviation code, or None when unknown."""
    if part in ctx.user:
        return ctx.user[part]
    if part in ISSUERS:
        return ISSUERS[part]
    if m := _QH.fullmatch(part):
        return f"{ISSUERS[m[1]]} khóa {number_to_words(int(m[2]))}"
    return ctx.words.get(part)


def _code_parts(ctx: Ctx, code: str, start: int, typed: bool = True) -> tuple[str | None, list[str], list[str]]:
    """(document type, issuer names, issuer codes) of "NĐ-CP"; unknown issuers are flagged and kept."""
    parts = code.split("-")
    doc_type = DOC_TYPES.get(parts[0]) if typed and len(parts) > 1 else None
    names, codes, offset = [], [], start
    for index, part in enumerate(parts):
        if not (index == 0 and doc_type):
            spoken = code_part(ctx, part)
            if spoken is None:
                ctx.flag(part, offset, REASON_ABBREVIATION)
            names.append(spoken or part)
            codes.append(part)
        offset += len(part) + 1
    return doc_type, names, codes


def _type_named_before(ctx: Ctx, start: int, doc_type: str) -> bool:
    """Whether the words just before a citation already name its document type."""
    before = " ".join(ctx.text[max(0, start - 40) : start].lower().split())
    before = re.sub(r"[\s:]*(?:số)?[\s:]*$", "", before)
    return before.endswith(doc_type)


def _issuer_named_after(ctx: Ctx, end: int, names: list[str], codes: list[str]) -> bool:
    """Whether the same clause names every issuer after "của" (so the code need not)."""
    clause = re.split(r"[;\n]|\.(?:\s|$)", ctx.text[end : end + 120])[0].lower()
    at = clause.find("của ")
    if at < 0 or not names:
        return False
    tail = clause[at:]
    # "24/2018/QH14 ... của Quốc hội": the clause names the issuer, if not its term.
    names = [ISSUERS[m[1]] if (m := _QH.fullmatch(c)) else n for n, c in zip(names, codes, strict=True)]
    return all(
        re.search(rf"(?<!\w)(?:{re.escape(n.lower())}|{re.escape(c.lower())})(?!\w)", tail)
        for n, c in zip(names, codes, strict=True)
    )


def _citation_words(ctx: Ctx, start: int, end: int, doc_type: str | None, names: list[str], codes: list[str]) -> str:
    """The type and issuer part of a citation, following the module docstring."""
    show_type = bool(doc_type) and not _type_named_before(ctx, start, doc_type or "")
    show_issuer = bool(names) and not _issuer_named_after(ctx, end, names, codes)
    words = f", {doc_type}" if show_type else ""
    # Joint documents (TTLT-BTP-BCA) list issuers with "và"; UBND-VX is an issuer and its office.
    issuers = _join_and(names) if doc_type else " ".join(names)
    return words + (f" của {issuers}" if show_issuer else "")


def rule_citation(ctx: Ctx, pos: int) -> tuple[int, str] | None:
    """15/2020/NĐ-CP, 135/QĐ-TTg, 24/2018/QH14, 4521/TTr-UBND, 27-NQ/TW."""
    if m := _CITE.match(ctx.text, pos):
        number, year, code = m[1], m[2], m[3]
        if not year and "-" not in code and code_part(ctx, code) is None:
            return None
        doc_type, names, codes = _code_parts(ctx, code, m.start(3))
    elif m := _PARTY_CITE.match(ctx.text, pos):
        number, year = m[1], None
        doc_type = DOC_TYPES.get(m[2])
        if doc_type is None:
            return None
        _none, names, codes = _code_parts(ctx, m[3], m.start(3), typed=False)
    else:
        return None
    words = read_integer(number) + (f" năm {number_to_words(int(year))}" if year else "")
    return m.end(), words + _citation_words(ctx, m.start(), m.end(), doc_type, names, codes)


def rule_compound(ctx: Ctx, pos: int) -> tuple[int, str] | None:
    """Hyphenated codes outside citations: NĐ-CP, UBND-VX, KT-XH."""
    m = _COMPOUND.match(ctx.text, pos)
    if not m or not all(is_abbreviation(p) or len(p) == 1 for p in m[1].split("-")):
        return None
    doc_type, names, _codes = _code_parts(ctx, m[1], pos)
    if doc_type:
        return m.end(), f"{doc_type} của {_join_and(names)}"
    return m.end(), " ".join(names)
