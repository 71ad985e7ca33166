"""Vietnamese readings of numbers, digits, decimals, ordinals, months, Roman numerals and letters,
and the readers speech.py runs over text for dates, times, structure references and quantities.

Northern (Hà Nội / Quảng Ninh broadcast) conventions: "nghìn" (not "ngàn"), "linh" (not "lẻ"),
"mốt" for a final 1 after "mươi", "tư" for a final 4 after "mươi", "lăm" for a final 5 after
"mười"/"mươi", "tỷ" for 10^9. After "linh" the digit keeps its plain name, as the school
textbooks read it: 104 "một trăm linh bốn", 105 "một trăm linh năm" (not "linh tư", "linh lăm").
Days are "ngày một tháng bảy" throughout ("mồng" only where the text writes it).
"""

from __future__ import annotations

import re

from studio.engine.text.lexicon import UNITS

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# Names used when a letter stands alone (điểm a, điểm đ, hạng B, Điều 3a) or an acronym is spelled.
LETTERS = {
    "a": "a",
    "ă": "á",
    "â": "ớ",
    "b": "bê",
    "c": "xê",
    "d": "dê",
    "đ": "đê",
    "e": "e",
    "ê": "ê",
    "f": "ép",
    "g": "giê",
    "h": "hát",
    "i": "i",
    "j": "gi",
    "k": "ca",
    "l": "e lờ",
    "m": "em mờ",
    "n": "en nờ",
    "o": "o",
    "ô": "ô",
    "ơ": "ơ",
    "p": "pê",
    "q": "quy",
    "r": "e rờ",
    "s": "ét",
    "t": "tê",
    "u": "u",
    "ư": "ư",
    "v": "vê",
    "w": "vê kép",
    "x": "ích",
    "y": "i dài",
    "z": "dét",
}

_ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
MAX_NUMBER_DIGITS = 15

_NUM = r"\d+(?:[.,]\d+)*"
UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_DATE = re.compile(r"(?:((?i:ngày))\s+)?(\d{1,2})([/.\-])(\d{1,2})\3(\d{4})(?![\w])")
_DAY_KEYWORDS = r"ngày|mồng|mùng|từ|đến|tới|trước|sau|sáng|trưa|chiều|tối|đêm|khuya|hôm"
_DAY_MONTH = re.compile(rf"((?i:{_DAY_KEYWORDS}))\s+(\d{{1,2}})/(\d{{1,2}})(?![\w/])")
# A bare day/month continuing a list or range of dates: "ngày 30/4 và 1/5", "15/7, 16/7 hoặc 17/7".
_DATE_BEFORE = re.compile(
    rf"(?:(?i:{_DAY_KEYWORDS})\s+\d{{1,2}}/\d{{1,2}}|\d{{1,2}}/\d{{1,2}}/\d{{4}})"
    r"(?:\s*(?:,|và|hoặc)\s*\d{1,2}/\d{1,2}(?:/\d{4})?)*\s*(?:,|và|hoặc|đến|tới)\s*$"
)
_DAY_SPAN = re.compile(rf"((?i:{_DAY_KEYWORDS}))\s+(\d{{1,2}})\s*[-–]\s*(\d{{1,2}})/(\d{{1,2}})(?:/(\d{{4}}))?(?![\w/])")
_BARE_DAY_MONTH = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?![\w/])")
_DATE_RANGE_TAIL = re.compile(r"\s*[-–]\s*(?:(?i:ngày)\s+)?(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?![\w/])")
_TIME_OF_DAY = {"sáng", "trưa", "chiều", "tối", "đêm", "khuya", "hôm"}
_MONTH = re.compile(r"((?i:tháng))\s+(\d{1,2})(?:\s*/\s*(\d{4}))?(?![\w]|[.,]\d)")
_QUARTER = re.compile(r"((?i:quý))\s+([IV]+|\d)(?:\s*/\s*(\d{4}))?(?![\w])")
_ORDINAL = re.compile(r"((?i:thứ))\s+(\d+|[IVXLC]+)(?![\w]|[.,]\d)")
_ROMAN_TOKEN = r"(?:[IVX][IVXL]*|L[IVX]+)"
_ROMAN_KW = re.compile(
    r"((?i:chương|tiểu mục|mục|phần|phụ lục|khóa|khoá|thế kỷ|đại hội|hạng|loại|cấp|vùng|nhóm|kỳ|quyển|tập"
    r"|giai đoạn|đợt|khu vực|bậc|mức|bảng))"
    rf"\s+({_ROMAN_TOKEN}(?![\w])(?:\s*(?:,|và|đến|-|–)\s*{_ROMAN_TOKEN}(?![\w]))*)"
)
# An inserted chapter or part ("Chương IIa", "Phần IVb"), as amending laws number them.
_ROMAN_SUFFIXED = re.compile(rf"((?i:chương|tiểu mục|mục|phần|phụ lục))\s+({_ROMAN_TOKEN})([a-zđ])(?![\w])")
_STRUCT = re.compile(r"((?i:điều|khoản|mục|điểm))\s+(\d+)([a-zđ])(?![\w])")
_TIME_H = re.compile(r"(\d{1,2})(?:h|\s*(?i:giờ))(?:\s*(\d{1,2}))?(?![\w]|[.,]\d)")
_TIME_DASH = re.compile(r"\s*[-–]\s*(?=\d)")
_ZERO_MINUTES = re.compile(r"\s*(?i:phút)(?![\w])")
_TIME_COLON = re.compile(r"(\d{1,2}):(\d{2})(?![\d:])")
_MONEY_PREFIX = re.compile(rf"\$\s?({_NUM})(?![\w])")
_NUMBER = re.compile(rf"(?P<a>{_NUM})(?:(?P<sep>\s*[-–]\s*|/)(?P<b>{_NUM}))?(?:\s?(?P<unit>{UNIT_RE}))?(?![\w])")


def _units_word(unit: int, tens: int) -> str:
    """The units digit of a two-digit group, with the mốt/tư/lăm variants."""
    if tens >= 2 and unit in (1, 4, 5):
        return {1: "mốt", 4: "tư", 5: "lăm"}[unit]
    if tens == 1 and unit == 5:
        return "lăm"
    return DIGITS[unit]


def _three(n: int, full: bool) -> str:
    """Read 0..999; `full` also reads a zero hundreds ("không trăm linh năm") as in non-leading groups."""
    hundreds, tens, unit = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if unit:
            words += (["linh"] if words else []) + [DIGITS[unit]]
    elif tens == 1:
        words.append("mười")
        if unit:
            words.append(_units_word(unit, 1))
    else:
        words += [DIGITS[tens], "mươi"]
        if unit:
            words.append(_units_word(unit, tens))
    return " ".join(words)


def _below_billion(n: int, full: bool) -> str:
    """Read 0..999_999_999; groups after the first (or all, if `full`) read their hundreds."""
    words: list[str] = []
    for value, name in ((n // 1_000_000, "triệu"), (n // 1000 % 1000, "nghìn"), (n % 1000, "")):
        if value == 0:
            continue
        words.append(_three(value, full or bool(words)))
        if name:
            words.append(name)
    return " ".join(words)


def number_to_words(n: int) -> str:
    """Vietnamese reading of an integer: 21 "hai mươi mốt", 105 "một trăm linh năm"."""
    if n < 0:
        return "âm " + number_to_words(-n)
    if n == 0:
        return "không"
    if n >= 1_000_000_000:
        high, low = divmod(n, 1_000_000_000)
        words = number_to_words(high) + " tỷ"
        return words + (" " + _below_billion(low, True) if low else "")
    return _below_billion(n, False)


def read_digits(digits: str) -> str:
    """Digit by digit: "113" -> "một một ba"."""
    return " ".join(DIGITS[int(d)] for d in digits if d.isdecimal())


def read_integer(digits: str) -> str:
    """A written integer; long strings and zero-led codes of 3+ digits are read digit by digit."""
    if len(digits) > MAX_NUMBER_DIGITS or (len(digits) >= 3 and digits.startswith("0")):
        return read_digits(digits)
    return number_to_words(int(digits))


def read_fraction_digits(digits: str) -> str:
    """The part after the decimal comma: "8" "tám", "05" "không năm", "25" "hai mươi lăm"."""
    if len(digits) > 3:
        return read_digits(digits)
    stripped = digits.lstrip("0")
    zeros = ["không"] * (len(digits) - len(stripped))
    return " ".join(zeros + ([number_to_words(int(stripped))] if stripped else []))


_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")
_DECIMAL = re.compile(r"\d+,\d+")


def read_number(token: str) -> str:
    """A written number: "2.500.000", "1,2", "97,8", "05", "1.2.3" (section numbers)."""
    if _THOUSANDS.fullmatch(token) or _DECIMAL.fullmatch(token):
        whole, _, frac = token.partition(",")
        words = read_integer(whole.replace(".", ""))
        return words + (" phẩy " + read_fraction_digits(frac) if frac else "")
    if "," in token:
        return ", ".join(read_number(part) for part in token.split(","))
    if "." in token:
        return " chấm ".join(read_integer(part) for part in token.split("."))
    return read_integer(token)


def ordinal(n: int) -> str:
    """After "thứ": 1 "nhất", 4 "tư", otherwise the cardinal."""
    return {1: "nhất", 4: "tư"}.get(n) or number_to_words(n)


def month(n: int) -> str:
    """After "tháng": 4 "tư", 1 "một" (not "giêng", which is lunar), otherwise the cardinal."""
    return "tư" if n == 4 else number_to_words(n)


def date_words(day: int, month_no: int, year: int | None = None) -> str:
    """ "ngày tám tháng năm năm hai nghìn không trăm hai mươi"."""
    words = f"ngày {number_to_words(day)} tháng {month(month_no)}"
    return words + (f" năm {number_to_words(year)}" if year is not None else "")


def time_words(hour: int, minute: int) -> str:
    """ "mười chín giờ ba mươi"; a zero minute is not read ("sáu giờ")."""
    return f"{number_to_words(hour)} giờ" + (f" {number_to_words(minute)}" if minute else "")


def is_date(day: int, month_no: int) -> bool:
    """Whether day/month can be a calendar date."""
    return 1 <= day <= 31 and 1 <= month_no <= 12


def roman_to_int(token: str) -> int | None:
    """Value of a well-formed Roman numeral ("XIV" 14), else None."""
    if not token or not _ROMAN.fullmatch(token):
        return None
    total = 0
    for char, nxt in zip(token, token[1:] + " ", strict=True):
        value = _ROMAN_VALUES[char]
        total += -value if nxt != " " and _ROMAN_VALUES[nxt] > value else value
    return total


def letter(char: str) -> str:
    """Name of a single letter ("đ" "đê"); vowels and unknown letters are kept as written, lowercased."""
    return LETTERS.get(char.lower(), char.lower())


def spell(word: str) -> str:
    """Letter by letter, digits as digits: "stp" "ét tê pê"."""
    return " ".join(DIGITS[int(c)] if c.isdecimal() else letter(c) for c in word)


def keyword(word: str) -> str:
    """A keyword as it should be spoken: capitals of headings lowered, other casing kept."""
    return word.lower() if word.isupper() else word


def phone_words(token: str) -> str:
    """Digit by digit, with a pause between the written groups."""
    prefix = "cộng tám tư, " if token.startswith("+84") else ""
    groups = [g for g in re.split(r"[ .\-]", token.removeprefix("+84")) if g]
    return prefix + ", ".join(read_digits(g) for g in groups)


# --- readers over running text: (text, pos) -> (end, spoken), or None when nothing matches -----


def read_date(text: str, pos: int) -> tuple[int, str] | None:
    """08/5/2020, ngày 20/01/2020 (the written "ngày" is consumed, so never "ngày ngày"), sáng 15/3,
    ngày 30/4 và 1/5, từ 01/7 - 15/7."""
    if (m := _DATE.match(text, pos)) and is_date(int(m[2]), int(m[4])):
        words = date_words(int(m[2]), int(m[4]), int(m[5]))
        words = (keyword(m[1]) + words[4:]) if m[1] else words
    elif (m := _DAY_SPAN.match(text, pos)) and int(m[2]) < int(m[3]) and is_date(int(m[3]), int(m[4])):
        # "ngày 20-25/11": "ngày hai mươi đến hai mươi lăm tháng mười một"
        last = date_words(int(m[3]), int(m[4]), int(m[5]) if m[5] else None)[5:]
        lead = "" if m[1].lower() in ("ngày", "mồng", "mùng") or m[1].lower() in _TIME_OF_DAY else " ngày"
        words = f"{keyword(m[1])}{lead} {number_to_words(int(m[2]))} đến {last}"
    elif (m := _DAY_MONTH.match(text, pos)) and is_date(int(m[2]), int(m[3])):
        words, kw = date_words(int(m[2]), int(m[3])), m[1].lower()
        if kw in ("ngày", "mồng", "mùng"):
            words = keyword(m[1]) + words[4:]
        else:  # "từ ngày ...", but "sáng mười lăm tháng ba" as newsreaders say it
            words = keyword(m[1]) + " " + (words[5:] if kw in _TIME_OF_DAY else words)
    elif (
        (m := _BARE_DAY_MONTH.match(text, pos))
        and is_date(int(m[1]), int(m[2]))
        and _DATE_BEFORE.search(text[max(0, pos - 80) : pos])
    ):
        words = date_words(int(m[1]), int(m[2]), int(m[3]) if m[3] else None)
    else:
        return None
    end = m.end()
    if (tail := _DATE_RANGE_TAIL.match(text, end)) and is_date(int(tail[1]), int(tail[2])):
        words += " đến " + date_words(int(tail[1]), int(tail[2]), int(tail[3]) if tail[3] else None)
        end = tail.end()
    return end, words


def read_month(text: str, pos: int) -> tuple[int, str] | None:
    """tháng 4 "tháng tư", tháng 7/2024, quý I/2024."""
    if (m := _MONTH.match(text, pos)) and 1 <= int(m[2]) <= 12:
        words = f"{keyword(m[1])} {month(int(m[2]))}"
    elif m := _QUARTER.match(text, pos):
        value = int(m[2]) if m[2].isdigit() else roman_to_int(m[2])
        if not value or value > 4:
            return None
        words = f"{keyword(m[1])} {number_to_words(value)}"
    else:
        return None
    return m.end(), words + (f" năm {number_to_words(int(m[3]))}" if m[3] else "")


def read_ordinal(text: str, pos: int) -> tuple[int, str] | None:
    """thứ 1 "thứ nhất", thứ 4 "thứ tư", lần thứ XIII."""
    if not (m := _ORDINAL.match(text, pos)):
        return None
    value = int(m[2]) if m[2].isdigit() else roman_to_int(m[2])
    return (m.end(), f"{keyword(m[1])} {ordinal(value)}") if value else None


def read_roman(text: str, pos: int) -> tuple[int, str] | None:
    """Chương II, khóa XIV, Phần I và II."""
    if m := _ROMAN_SUFFIXED.match(text, pos):
        value = roman_to_int(m[2])
        return (m.end(), f"{keyword(m[1])} {number_to_words(value)} {letter(m[3])}") if value else None
    if not (m := _ROMAN_KW.match(text, pos)):
        return None
    words = []
    for token in re.findall(rf"{_ROMAN_TOKEN}|,|và|đến|-|–", m[2]):
        value = roman_to_int(token) if token[0] in "IVXL" else None
        if token[0] in "IVXL" and not value:
            return None
        words.append(number_to_words(value) if value else {"-": "đến", "–": "đến"}.get(token, token))
    return m.end(), keyword(m[1]) + " " + " ".join(words).replace(" ,", ",")


def read_struct(text: str, pos: int) -> tuple[int, str] | None:
    """Điều 3a "điều ba a", khoản 2đ."""
    if m := _STRUCT.match(text, pos):
        return m.end(), f"{keyword(m[1])} {number_to_words(int(m[2]))} {letter(m[3])}"
    return None


def _one_time(text: str, pos: int) -> tuple[int, str] | None:
    m = _TIME_H.match(text, pos) or _TIME_COLON.match(text, pos)
    if not m:
        return None
    hour, minute = int(m[1]), int(m[2] or 0)
    if minute > 59 or (m[2] and hour > 24) or (m.re is _TIME_COLON and hour > 24):
        return None
    end = m.end()
    if m[2] and minute == 0 and (unit := _ZERO_MINUTES.match(text, end)):
        end = unit.end()  # "22 giờ 00 phút" is "hai mươi hai giờ", not "... giờ phút"
    return end, time_words(hour, minute)


def read_time(text: str, pos: int) -> tuple[int, str] | None:
    """19 giờ 30, 6h00, 6h30, 17 giờ 00, 05:30, and ranges: 7h-11h30 "bảy giờ đến mười một giờ ba mươi"."""
    if not (first := _one_time(text, pos)):
        return None
    end, words = first
    if (dash := _TIME_DASH.match(text, end)) and (second := _one_time(text, dash.end())):
        return second[0], f"{words} đến {second[1]}"
    return end, words


def read_quantity(text: str, pos: int) -> tuple[int, str] | None:
    """2.500.000, 1,2, 05 - 15, 6-8, 2/3, 50%, 350.000đ, 97,8 MHz, 30°C."""
    if m := _MONEY_PREFIX.match(text, pos):
        return m.end(), read_number(m[1]) + " đô la"
    if not (m := _NUMBER.match(text, pos)):
        return None
    words = read_number(m["a"])
    if m["b"] and m["sep"] == "/":
        a, b = m["a"], m["b"]
        small = a.isdigit() and b.isdigit() and int(a) < int(b) <= 10
        words += (" phần " + ("tư" if b == "4" else number_to_words(int(b)))) if small else " trên " + read_number(b)
    elif m["b"]:
        words += " đến " + read_number(m["b"])
    return m.end(), words + (" " + UNITS[m["unit"]] if m["unit"] else "")
