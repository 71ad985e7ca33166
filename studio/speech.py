"""Vietnamese text normalisation to spoken form, for speech engines that cannot read legal text.

One left-to-right scan tries small rules at each token start (citations, dates, times, phone
numbers, numbers with units, abbreviations, words). Tokens no rule can read are kept verbatim and
returned as flags for the editor; they are never guessed.

Reading of legal citations (the style of provincial radio bulletins, which say the number and
year and name the issuer once, instead of reading slashes and codes):

- ``Nghị định số 15/2020/NĐ-CP`` -> "Nghị định số mười lăm năm hai nghìn không trăm hai mươi của
  chính phủ". The type code (NĐ) is not repeated when the words before already name it.
- ``Số: 37/2024/NQ-HĐND`` -> "Số: ba mươi bảy năm hai nghìn không trăm hai mươi tư, nghị quyết của
  hội đồng nhân dân" (nothing before names the type, so it is read after a comma).
- ``Luật số 24/2018/QH14`` -> "... của quốc hội khóa mười bốn".
- ``Quyết định số 135/QĐ-TTg ngày 20/01/2020 của Thủ tướng Chính phủ``: the issuer is dropped from
  the code when the same clause names it after "của", so it is heard once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from studio import _vi_numbers as vi
from studio._vi_numbers import letter, number_to_words, phone_words, read_digits, read_integer, spell
from studio.lexicon import (
    DEFAULT_LEXICON, DOC_TYPES, ISSUERS, SYMBOLS, UNITS, URL_WORDS, is_abbreviation, is_syllable,
)

__all__ = ["DEFAULT_LEXICON", "Flag", "Spoken", "normalize", "number_to_words", "split_sentences"]

REASON_ABBREVIATION = "từ viết tắt chưa có trong từ điển"
REASON_CODE = "mã chữ và số chưa đọc được"
REASON_SYMBOL = "ký hiệu chưa đọc được"
REASON_SCRIPT = "chữ ngoài bảng chữ cái tiếng Việt"
REASON_URL_WORD = "từ trong địa chỉ web chưa có trong từ điển"
MAX_SENTENCE = 200


@dataclass(frozen=True)
class Flag:
    """A token the rules could not read; offsets are in the input text."""

    token: str
    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class Spoken:
    """The spoken form of a text and the tokens an editor should check."""

    text: str
    flags: list[Flag]


@dataclass
class _Ctx:
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


Rule = Callable[[_Ctx, int], "tuple[int, str] | None"]

# --- patterns -----------------------------------------------------------------------------------

_PART = r"[A-ZĐ][A-Za-zĐđ]*\d*"
_CITE = re.compile(rf"(\d+)/(?:(\d{{4}})/)?({_PART}(?:-{_PART})*)(?![\w])")
_PARTY_CITE = re.compile(rf"(\d+)-({_PART})/({_PART}(?:-{_PART})*)(?![\w])")
_QH = re.compile(r"(UBTVQH|QH)(\d{1,2})")
_PHONE = re.compile(r"(?:\+84|0)\d{1,3}(?:[ .\-]?\d{2,4}){1,4}(?![\w])|1[89]00[ .]?\d{2,4}(?:[ .]?\d{2,4})?(?![\w])")
_PHONE_SHORT = re.compile(r"\d{3,6}(?![\w]|[.,]\d)")
_PHONE_KEYWORD = re.compile(
    r"(?i:gọi(?:\s+điện)?(?:\s+(?:ngay|đến|tới|cho|vào))*|điện\s+thoại|đường\s+dây\s+nóng|hotline|tổng\s+đài"
    r"|sđt|đt|fax|số\s+máy|cấp\s+cứu|cứu\s+hỏa|cứu\s+nạn|cứu\s+hộ)(?:\s*(?:số|là|:))*\s*$"
)
_EMERGENCY = {"111", "112", "113", "114", "115"}
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"“”]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w.@/])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:vn|com|net|org|gov|edu|info)(?![\w])(?:/[^\s<>\"“”]*)?"
)
_COMPOUND = re.compile(rf"(?<![\w-])({_PART}(?:-{_PART})+)(?![\w]|-\w)")
_WORD = re.compile(r"[^\W_]+")
_PAREN = re.compile(r"\(\s*([^\s()]{2,24})\s*\)")
_BULLET = re.compile(r"[-–—•●▪◦+*]\s+")
_PER_WORDS = {"người", "tháng", "năm", "ngày", "giờ", "tuần", "lần", "hộ", "ca", "suất", "chiếc", "con", "buổi",
              "phút", "giây", "lượt", "xe", "lít", "tấn", "cây"}
_SLASH_UNIT = re.compile(rf"/({vi.UNIT_RE}|[^\W\d_]+)(?![\w])")
_KEEP_PUNCT = set(".,;:!?…()[]\"'“”‘’«»")


def _join_and(items: list[str]) -> str:
    """"a", "a và b", "a, b và c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " và " + items[-1]


# --- codes and citations ------------------------------------------------------------------------


def _code_part(ctx: _Ctx, part: str) -> str | None:
    """Spoken form of one issuer or abbreviation code, or None when unknown."""
    if part in ctx.user:
        return ctx.user[part]
    if part in ISSUERS:
        return ISSUERS[part]
    if m := _QH.fullmatch(part):
        return f"{ISSUERS[m[1]]} khóa {number_to_words(int(m[2]))}"
    return ctx.words.get(part)


def _code_parts(ctx: _Ctx, code: str, start: int, typed: bool = True) -> tuple[str | None, list[str], list[str]]:
    """(document type, issuer names, issuer codes) of "NĐ-CP"; unknown issuers are flagged and kept."""
    parts = code.split("-")
    doc_type = DOC_TYPES.get(parts[0]) if typed and len(parts) > 1 else None
    names, codes, offset = [], [], start
    for index, part in enumerate(parts):
        if not (index == 0 and doc_type):
            spoken = _code_part(ctx, part)
            if spoken is None:
                ctx.flag(part, offset, REASON_ABBREVIATION)
            names.append(spoken or part)
            codes.append(part)
        offset += len(part) + 1
    return doc_type, names, codes


def _type_named_before(ctx: _Ctx, start: int, doc_type: str) -> bool:
    """Whether the words just before a citation already name its document type."""
    before = " ".join(ctx.text[max(0, start - 40):start].lower().split())
    before = re.sub(r"[\s:]*(?:số)?[\s:]*$", "", before)
    return before.endswith(doc_type)


def _issuer_named_after(ctx: _Ctx, end: int, names: list[str], codes: list[str]) -> bool:
    """Whether the same clause names every issuer after "của" (so the code need not)."""
    clause = re.split(r"[;\n]|\.(?:\s|$)", ctx.text[end:end + 120])[0].lower()
    at = clause.find("của ")
    if at < 0 or not names:
        return False
    tail = clause[at:]
    # "24/2018/QH14 ... của Quốc hội": the clause names the issuer, if not its term.
    names = [ISSUERS[m[1]] if (m := _QH.fullmatch(c)) else n for n, c in zip(names, codes)]
    return all(re.search(rf"(?<!\w)(?:{re.escape(n.lower())}|{re.escape(c.lower())})(?!\w)", tail)
               for n, c in zip(names, codes))


def _citation_words(ctx: _Ctx, start: int, end: int, doc_type: str | None, names: list[str],
                    codes: list[str]) -> str:
    """The type and issuer part of a citation, following the module docstring."""
    show_type = bool(doc_type) and not _type_named_before(ctx, start, doc_type or "")
    show_issuer = bool(names) and not _issuer_named_after(ctx, end, names, codes)
    words = f", {doc_type}" if show_type else ""
    # Joint documents (TTLT-BTP-BCA) list issuers with "và"; UBND-VX is an issuer and its office.
    issuers = _join_and(names) if doc_type else " ".join(names)
    return words + (f" của {issuers}" if show_issuer else "")


def _rule_citation(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """15/2020/NĐ-CP, 135/QĐ-TTg, 24/2018/QH14, 4521/TTr-UBND, 27-NQ/TW."""
    if m := _CITE.match(ctx.text, pos):
        number, year, code = m[1], m[2], m[3]
        if not year and "-" not in code and _code_part(ctx, code) is None:
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


def _rule_compound(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """Hyphenated codes outside citations: NĐ-CP, UBND-VX, KT-XH."""
    m = _COMPOUND.match(ctx.text, pos)
    if not m or not all(is_abbreviation(p) or len(p) == 1 for p in m[1].split("-")):
        return None
    doc_type, names, codes = _code_parts(ctx, m[1], pos)
    if doc_type:
        return m.end(), f"{doc_type} của {_join_and(names)}"
    return m.end(), " ".join(names)


# --- numbers ------------------------------------------------------------------------------------


def _phone_context(ctx: _Ctx, pos: int, token: str) -> bool:
    """Whether a short number follows a phone keyword (gọi, đường dây nóng ...) or another phone number."""
    if ctx.last_phone_end >= 0 and re.fullmatch(r"\s*(?:,|hoặc|và|/)\s*", ctx.text[ctx.last_phone_end:pos]):
        return True
    before = ctx.text[max(0, pos - 40):pos]
    if token in _EMERGENCY and re.search(r"(?i:số)\s*$", before):
        return True
    return bool(_PHONE_KEYWORD.search(before))


def _rule_phone(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """0203.3835.555, 1900 1234, +84 912 345 678, and 113 after "gọi"."""
    m = _PHONE.match(ctx.text, pos)
    digits = len(re.sub(r"\D", "", m[0])) if m else 0
    if m and (10 <= digits + m[0].startswith("+") <= 12 or not m[0].startswith(("0", "+"))):
        ctx.last_phone_end = m.end()
        return m.end(), phone_words(m[0])
    m = _PHONE_SHORT.match(ctx.text, pos)
    if m and _phone_context(ctx, pos, m[0]):
        ctx.last_phone_end = m.end()
        return m.end(), read_digits(m[0])
    return None


# --- words, abbreviations, addresses ------------------------------------------------------------


@lru_cache(maxsize=32)
def _lexicon_pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation of every lexicon key, longest first, matched as whole tokens."""
    alternation = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alternation})(?![\w])(?!-\w)")


def _rule_lexicon(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """Abbreviations and words from the lexicon (user entries override the defaults)."""
    m = _lexicon_pattern(tuple(ctx.words)).match(ctx.text, pos)
    return (m.end(), ctx.words[m[0]]) if m else None


def _rule_paren_abbreviation(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """Drop "(PBGDPL)" right after "phổ biến, giáo dục pháp luật": a listener would hear it twice."""
    m = _PAREN.match(ctx.text, pos)
    spoken = ctx.words.get(m[1]) if m else None
    if not m or not spoken:
        return None

    def plain(s: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", s.lower()).split())

    return (m.end(), "") if plain("".join(ctx.out)).endswith(plain(spoken)) else None


def _url_word(ctx: _Ctx, word: str, start: int) -> str:
    """One label of a web or e-mail address: known word, digits, spelled letters, or flagged."""
    known = ctx.user.get(word) or ctx.user.get(word.lower()) or URL_WORDS.get(word.lower())
    if known:
        return known
    if word.isdigit():
        return read_digits(word)
    if not re.search(r"[aeiouy]", word.lower()) or len(word) <= 2:
        return spell(word.lower())
    ctx.flag(word, start, REASON_URL_WORD)
    return word


def _rule_url(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """https://quangninh.gov.vn "quảng ninh chấm gốp chấm vê en", stp@quangninh.gov.vn with "a còng"."""
    if not (m := _URL.match(ctx.text, pos)):
        return None
    token = m[0].rstrip(".,;:!?)]}'\"")
    start = pos + len(re.match(r"(?:https?://)?", token)[0])
    seps = {".": "chấm", "/": "gạch chéo", "-": "gạch ngang", "_": "gạch dưới", "@": "a còng",
            "?": "chấm hỏi", "=": "bằng", "&": "và", ":": "hai chấm", "#": "thăng"}
    words = []
    for piece in re.finditer(r"[A-Za-z0-9]+|.", ctx.text[start:pos + len(token)]):
        if piece[0][0].isalnum():
            words.append(_url_word(ctx, piece[0], start + piece.start()))
        elif piece[0] in seps:
            words.append(seps[piece[0]])
        else:
            ctx.flag(piece[0], start + piece.start(), REASON_SYMBOL)
            words.append(piece[0])
    while words and words[-1] == "gạch chéo":
        words.pop()
    return pos + len(token), " ".join(words)


def _word(ctx: _Ctx, start: int, token: str) -> str:
    """A plain token: words pass, codes are read or flagged, heading capitals are lowered."""
    if token.isdecimal():
        return read_integer(token)
    if m := re.fullmatch(r"(\d+)([^\W\d_])", token):
        return f"{number_to_words(int(m[1]))} {letter(m[2])}"
    if m := re.fullmatch(r"([^\W\d_])(\d+)", token):
        return f"{letter(m[1])} {read_integer(m[2])}"
    if (spoken := _code_part(ctx, token)) is not None:
        return spoken
    if any(c.isdigit() for c in token):
        ctx.flag(token, start, REASON_CODE)
        return token
    if any(not ("a" <= c.lower() <= "z" or 0xC0 <= ord(c) < 0x250 or 0x1E00 <= ord(c) < 0x1F00) for c in token):
        ctx.flag(token, start, REASON_SCRIPT)
        return token
    if len(token) == 1:
        return letter(token) if token.lower() not in "aăâeêioôơuưy" else token.lower()
    if token.isupper() and is_syllable(token):
        return token.lower()
    if is_abbreviation(token):
        ctx.flag(token, start, REASON_ABBREVIATION)
    return token


def _char(ctx: _Ctx, pos: int) -> tuple[int, str]:
    """One character that no rule read: punctuation, dashes, slashes and symbols."""
    text, char = ctx.text, ctx.text[pos]
    at_line_start = not text[:pos].strip(" \t") or text[:pos].rstrip(" \t").endswith("\n")
    if at_line_start and (m := _BULLET.match(text, pos)):
        return m.end(), ""
    if char == "-" and (pos == 0 or text[pos - 1].isspace()) and text[pos + 1:pos + 2].isdecimal():
        return pos + 1, "âm "
    if char in "-–—":
        spaced = pos > 0 and text[pos - 1].isspace() and pos + 1 < len(text) and text[pos + 1].isspace()
        return pos + 1, "," if spaced else " "
    if char == "/":
        if text[max(0, pos - 2):pos] == "và" and text.startswith("/hoặc", pos):
            return pos + len("/hoặc"), " hoặc"
        if (m := _SLASH_UNIT.match(text, pos)) and (m[1] in UNITS or m[1] in _PER_WORDS):
            return m.end(), " một " + UNITS.get(m[1], m[1])
        between = pos > 0 and text[pos - 1].isalpha() and text[pos + 1:pos + 2].isalpha()
        return pos + 1, " hoặc " if between else " trên " if text[pos + 1:pos + 2].isalnum() else " "
    if char in _KEEP_PUNCT:
        return pos + 1, char
    if char in SYMBOLS:
        return pos + 1, f" {SYMBOLS[char]} "
    ctx.flag(char, pos, REASON_SYMBOL)
    return pos + 1, char


def _pure(read: Callable[[str, int], tuple[int, str] | None]) -> Rule:
    """A rule from a reader that needs only the text."""
    return lambda ctx, pos: read(ctx.text, pos)


_RULES: tuple[Rule, ...] = (
    _rule_url, _rule_paren_abbreviation, _rule_citation, _pure(vi.read_date), _pure(vi.read_time),
    _pure(vi.read_month), _pure(vi.read_ordinal), _pure(vi.read_roman), _pure(vi.read_struct), _rule_phone,
    _rule_lexicon, _rule_compound, _pure(vi.read_quantity),
)


def _scan(ctx: _Ctx) -> None:
    """Walk the text once, appending spoken pieces to ctx.out."""
    text, pos = ctx.text, 0
    while pos < len(text):
        if text[pos].isspace():
            end = pos
            while end < len(text) and text[end].isspace():
                end += 1
            ctx.out.append("\n" if "\n" in text[pos:end] else " ")
            pos = end
            continue
        if pos == 0 or not text[pos - 1].isalnum():
            hit = next((h for rule in _RULES if (h := rule(ctx, pos)) and h[0] > pos), None)
            if hit:
                pos = hit[0]
                ctx.out.append(hit[1])
                continue
        if m := _WORD.match(text, pos):
            ctx.out.append(_word(ctx, pos, m[0]))
            pos = m.end()
        else:
            pos, spoken = _char(ctx, pos)
            ctx.out.append(spoken)


def _tidy(raw: str) -> str:
    """Single spaces, no space before punctuation, a full stop where a line ended without one."""
    lines = [" ".join(line.split()) for line in raw.split("\n")]
    text = ""
    for line in (line.lstrip(" ,;") for line in lines):
        if not line:
            continue
        if text and text.rstrip(")\"”'»")[-1:] not in ".!?;:,…":
            text += "."
        text += (" " if text else "") + line
    text = re.sub(r"\s+([,.;:!?…)\]”])", r"\1", text)
    text = re.sub(r"([(\[“])\s+", r"\1", text)
    text = re.sub(r",(\s*,)+", ",", text)
    text = re.sub(r",\s*([.;:!?])", r"\1", text)
    return " ".join(text.split()).lstrip(" ,;")


def _nfc_with_index(text: str) -> tuple[str, list[int]]:
    """NFC text and, for every NFC offset (and the end), the offset in the input."""
    pieces, index, seg = [], [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or unicodedata.combining(text[i]) == 0:
            nfc = unicodedata.normalize("NFC", text[seg:i])
            pieces.append(nfc)
            index.extend([seg] * len(nfc))
            seg = i
    joined = "".join(pieces)
    if joined != unicodedata.normalize("NFC", text):
        joined = unicodedata.normalize("NFC", text)
        index = [min(i, len(text)) for i in range(len(joined))]
    return joined, index + [len(text)]


def normalize(text: str, lexicon: Mapping[str, str] | None = None) -> Spoken:
    """Spoken form of Vietnamese text; `lexicon` entries extend and override DEFAULT_LEXICON."""
    nfc, index = _nfc_with_index(text)
    user = {unicodedata.normalize("NFC", k.strip()): unicodedata.normalize("NFC", v)
            for k, v in (lexicon or {}).items() if k.strip()}
    ctx = _Ctx(nfc, user, {**DEFAULT_LEXICON, **user})
    _scan(ctx)
    flags = sorted({Flag(t, index[s], index[e], r) for t, s, e, r in ctx.flags}, key=lambda f: (f.start, f.end))
    return Spoken(_tidy("".join(ctx.out)), flags)


# --- sentences ----------------------------------------------------------------------------------

_ABBREVIATIONS_WITH_DOT = {"TP", "Tp", "TX", "Tx", "TT", "Q", "P", "X", "H", "TS", "ThS", "PGS", "GS", "BS", "KS",
                           "Th", "St", "v.v", "Mr", "Ms", "TM", "KT", "TL", "TUQ"}
_SENTENCE_END = re.compile(r"[.!?…]+[\"”»')\]]*(?=\s+[\"“«(\-–]?[\w])")
_ENUMERATOR = re.compile(r"(?:(?i:điều|chương|mục|phần)\s+)?(?:\d+[a-zđ]?|[IVXL]+|[a-zđ])\.")
_KEEP_WITH_NEXT = {"số", "ngày", "tháng", "năm", "điều", "khoản", "điểm", "chương", "phần", "mục", "lúc", "từ",
                   "đến", "thứ", "khóa", "khoá", "quý", "luật", "nghị", "quyết", "thông", "tờ"}


def _sentence_ends(line: str) -> list[int]:
    """Offsets just after each sentence-final mark that is not an abbreviation's dot."""
    ends = []
    for m in _SENTENCE_END.finditer(line):
        before = re.search(r"[\w.]*$", line[:m.start()])[0]
        if m[0].startswith(".") and (before in _ABBREVIATIONS_WITH_DOT or re.fullmatch(r"[A-ZĐ]", before)):
            continue
        if _ENUMERATOR.fullmatch(line[ends[-1] if ends else 0:m.end()].strip()):
            continue
        ends.append(m.end())
    return ends


def _split_words(piece: str) -> list[str]:
    """Split an over-long clause at spaces, never next to a number or after "số", "ngày" ..."""
    out = []
    while len(piece) > MAX_SENTENCE:
        words = piece.split(" ")
        cut, length = None, 0
        for i in range(1, len(words)):
            length += len(words[i - 1]) + 1
            ok = not (re.search(r"\d", words[i - 1] + words[i]) or words[i - 1].lower() in _KEEP_WITH_NEXT)
            if ok and (cut is None or length <= MAX_SENTENCE):
                cut = i
            if length > MAX_SENTENCE and cut is not None:
                break
        if cut is None:
            break
        out.append(" ".join(words[:cut]))
        piece = " ".join(words[cut:])
    return out + [piece]


def _split_long(sentence: str) -> list[str]:
    """Pack the clauses of a long sentence (split after , and ;) into pieces of at most ~200 chars."""
    if len(sentence) <= MAX_SENTENCE:
        return [sentence]
    chunks: list[str] = []
    for clause in re.split(r"(?<=;)\s+", sentence):
        for part in re.split(r"(?<=,)\s+", clause) if len(clause) > MAX_SENTENCE else [clause]:
            if chunks and len(chunks[-1]) + 1 + len(part) <= MAX_SENTENCE and not chunks[-1].endswith(";"):
                chunks[-1] += " " + part
            else:
                chunks.append(part)
    return [piece for chunk in chunks for piece in _split_words(chunk)]


def split_sentences(text: str) -> list[str]:
    """Sentences (and over-long sentences' clauses) for per-sentence speech, at most ~200 chars each."""
    out = []
    for line in unicodedata.normalize("NFC", text).splitlines():
        line = " ".join(line.split())
        start = 0
        for end in _sentence_ends(line) + [len(line)]:
            if (sentence := line[start:end].strip()) and any(c.isalnum() for c in sentence):
                out.extend(_split_long(sentence))
            start = end
    return out

