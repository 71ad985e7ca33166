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
from dataclasses import dataclass
from functools import lru_cache

from studio.engine.text import _vi_numbers as vi
from studio.engine.text._vi_citations import REASON_ABBREVIATION, code_part, rule_citation, rule_compound
from studio.engine.text._vi_citations import Ctx as _Ctx
from studio.engine.text._vi_numbers import letter, number_to_words, phone_words, read_digits, read_integer, spell
from studio.engine.text._vi_sentences import MAX_SENTENCE, split_sentences
from studio.engine.text.lexicon import DEFAULT_LEXICON, SYMBOLS, UNITS, URL_WORDS, is_abbreviation, is_syllable

__all__ = ["DEFAULT_LEXICON", "MAX_SENTENCE", "Flag", "Spoken", "normalize", "number_to_words", "split_sentences"]

REASON_CODE = "mã chữ và số chưa đọc được"
REASON_SYMBOL = "ký hiệu chưa đọc được"
REASON_SCRIPT = "chữ ngoài bảng chữ cái tiếng Việt"
REASON_URL_WORD = "từ trong địa chỉ web chưa có trong từ điển"
REASON_RATIO = "tỷ số hoặc tỷ lệ chưa đọc được"
REASON_FOREIGN = "từ không phải âm tiết tiếng Việt (tên hoặc từ nước ngoài), cần thêm cách đọc"


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


Rule = Callable[[_Ctx, int], "tuple[int, str] | None"]

# --- patterns -----------------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?:\+84|0)\d{1,3}(?:[ .\-]?\d{2,4}){1,4}(?![\w])|1[89]00[ .]?\d{2,4}(?:[ .]?\d{2,4})?(?![\w])"
    r"|\(0\d{1,3}\)\s?\d{3,4}(?:[ .\-]?\d{2,4}){1,3}(?![\w])"  # "(0203) 3835.555": area code in brackets
)
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
_WORD = re.compile(r"[^\W_]+")
_PAREN = re.compile(r"\(([^()\n]{2,120})\)")
_BULLET = re.compile(r"[-–—•●▪◦+*]\s+")
_PER_WORDS = {
    "người",
    "tháng",
    "năm",
    "ngày",
    "giờ",
    "tuần",
    "lần",
    "hộ",
    "ca",
    "suất",
    "chiếc",
    "con",
    "buổi",
    "phút",
    "giây",
    "lượt",
    "xe",
    "lít",
    "tấn",
    "cây",
}
_SLASH_UNIT = re.compile(rf"/({vi.UNIT_RE}|[^\W\d_]+)(?![\w])")
_KEEP_PUNCT = set(".,;:!?…()[]\"'“”‘’«»")


# --- numbers ------------------------------------------------------------------------------------


def _phone_context(ctx: _Ctx, pos: int, token: str) -> bool:
    """Whether a short number follows a phone keyword (gọi, đường dây nóng ...) or another phone number."""
    if ctx.last_phone_end >= 0 and re.fullmatch(r"\s*(?:,|hoặc|và|/)\s*", ctx.text[ctx.last_phone_end : pos]):
        return True
    before = ctx.text[max(0, pos - 40) : pos]
    if token in _EMERGENCY and re.search(r"(?i:số)\s*$", before):
        return True
    return bool(_PHONE_KEYWORD.search(before))


def _rule_phone(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """0203.3835.555, 1900 1234, +84 912 345 678, and 113 after "gọi"."""
    m = _PHONE.match(ctx.text, pos)
    digits = len(re.sub(r"\D", "", m[0])) if m else 0
    if m and (10 <= digits + m[0].startswith("+") <= 12 or not m[0].startswith(("0", "+", "("))):
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


_ADDRESS = re.compile(r"([QPX])\.( ?)(?=\w)")
_ADDRESS_WORDS = {"Q": "quận", "P": "phường", "X": "xã"}


_PLATE = re.compile(r"(?P<area>\d{2})(?P<series>[A-ZĐ]{1,2})(?P<extra>\d?)-(?P<serial>\d{3}\.\d{2}|\d{4,5})(?!\w|\.\d)")


def _rule_plate(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """Vehicle plates, as the police and newsreaders say them: 14A-123.45 "mười bốn a, một hai ba bốn năm"."""
    if not (m := _PLATE.match(ctx.text, pos)):
        return None
    head = [number_to_words(int(m["area"])), spell(m["series"].lower())] + ([read_digits(m["extra"])] if m["extra"] else [])
    return m.end(), f"{' '.join(head)}, {read_digits(m['serial'])}"


def _rule_address(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """ "Q.1" "quận một", "P.Bạch Đằng" "phường Bạch Đằng" (with no space, a capital is a place name)."""
    if not (m := _ADDRESS.match(ctx.text, pos)):
        return None
    following = ctx.text[m.end()]
    if following.isdecimal() or (not m[2] and following.isupper()):
        return m.end(), _ADDRESS_WORDS[m[1]] + " "
    return None


def _plain(text: str) -> str:
    """Lower-case words only, for comparing what was said."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _rule_paren_abbreviation(ctx: _Ctx, pos: int) -> tuple[int, str] | None:
    """Drop "(PBGDPL)" right after "phổ biến, giáo dục pháp luật", and "(phổ biến, giáo dục pháp luật)"
    right after "PBGDPL": a listener would hear the same words twice."""
    if not (m := _PAREN.match(ctx.text, pos)):
        return None
    inner = m[1].strip()
    said = _plain("".join(ctx.out))
    if spoken := ctx.words.get(inner):
        return (m.end(), "") if said.endswith(_plain(spoken)) else None
    repeated = _plain(inner)
    if len(repeated.split()) >= 2 and said.endswith(repeated):
        return m.end(), ""
    return None


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
    scheme = re.match(r"https?://", token)
    start = pos + (len(scheme[0]) if scheme else 0)
    seps = {
        ".": "chấm",
        "/": "gạch chéo",
        "-": "gạch ngang",
        "_": "gạch dưới",
        "@": "a còng",
        "?": "chấm hỏi",
        "=": "bằng",
        "&": "và",
        ":": "hai chấm",
        "#": "thăng",
    }
    words = []
    for piece in re.finditer(r"[A-Za-z0-9]+|.", ctx.text[start : pos + len(token)]):
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
    if (spoken := code_part(ctx, token)) is not None:
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
    elif token[1:].islower() and (spoken := ctx.words.get(token.lower())):
        return spoken  # "Website" like "website"
    elif not is_syllable(token):
        ctx.flag(token, start, REASON_FOREIGN)  # "Yagi", "iPhone": an engine would guess
    return token


def _char(ctx: _Ctx, pos: int) -> tuple[int, str]:
    """One character that no rule read: punctuation, dashes, slashes and symbols."""
    text, char = ctx.text, ctx.text[pos]
    at_line_start = not text[:pos].strip(" \t") or text[:pos].rstrip(" \t").endswith("\n")
    if at_line_start and (m := _BULLET.match(text, pos)):
        return m.end(), ""
    if char == "-" and (pos == 0 or text[pos - 1].isspace()) and text[pos + 1 : pos + 2].isdecimal():
        return pos + 1, "âm "
    if char in "-–—":
        spaced = pos > 0 and text[pos - 1].isspace() and pos + 1 < len(text) and text[pos + 1].isspace()
        return pos + 1, "," if spaced else " "
    if char == "/":
        if text[max(0, pos - 2) : pos] == "và" and text.startswith("/hoặc", pos):
            return pos + len("/hoặc"), " hoặc"
        if (m := _SLASH_UNIT.match(text, pos)) and (m[1] in UNITS or m[1] in _PER_WORDS):
            return m.end(), " một " + UNITS.get(m[1], m[1])
        between = pos > 0 and text[pos - 1].isalpha() and text[pos + 1 : pos + 2].isalpha()
        return pos + 1, " hoặc " if between else " trên " if text[pos + 1 : pos + 2].isalnum() else " "
    if char == ":" and text[pos - 1 : pos].isdecimal() and text[pos + 1 : pos + 2].isdecimal():
        ctx.flag(char, pos, REASON_RATIO)  # "tỷ số 1:2", "tỷ lệ 1:500": score or scale, not a time
        return pos + 1, " : "
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
    _rule_url,
    _rule_paren_abbreviation,
    _rule_plate,
    rule_citation,
    _pure(vi.read_date),
    _pure(vi.read_time),
    _pure(vi.read_month),
    _pure(vi.read_ordinal),
    _pure(vi.read_roman),
    _pure(vi.read_struct),
    _rule_phone,
    _rule_lexicon,
    _rule_address,
    rule_compound,
    _pure(vi.read_quantity),
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
    return joined, [*index, len(text)]


def normalize(text: str, lexicon: Mapping[str, str] | None = None) -> Spoken:
    """Spoken form of Vietnamese text; `lexicon` entries extend and override DEFAULT_LEXICON."""
    nfc, index = _nfc_with_index(text)
    user = {
        unicodedata.normalize("NFC", k.strip()): unicodedata.normalize("NFC", v) for k, v in (lexicon or {}).items() if k.strip()
    }
    ctx = _Ctx(nfc, user, {**DEFAULT_LEXICON, **user})
    _scan(ctx)
    flags = sorted({Flag(t, index[s], index[e], r) for t, s, e, r in ctx.flags}, key=lambda f: (f.start, f.end))
    return Spoken(_tidy("".join(ctx.out)), flags)
