"""Splitting Vietnamese text into sentences for per-sentence speech (private helper of studio.engine.text.speech).

A sentence ends at . ! ? … unless the dot belongs to an abbreviation (TP., TM.) or an enumerator
("1.", "Điều 3a."); sentences over MAX_SENTENCE characters are cut at ; and , and, failing those,
between words that are not part of a number, date or citation.
"""

from __future__ import annotations

import re
import unicodedata

MAX_SENTENCE = 200

_ABBREVIATIONS_WITH_DOT = {
    "TP",
    "Tp",
    "TX",
    "Tx",
    "TT",
    "Q",
    "P",
    "X",
    "H",
    "TS",
    "ThS",
    "PGS",
    "GS",
    "BS",
    "KS",
    "Th",
    "St",
    "v.v",
    "Mr",
    "Ms",
    "TM",
    "KT",
    "TL",
    "TUQ",
}
_SENTENCE_END = re.compile(r"[.!?…]+[\"”»')\]]*(?=\s+[\"“«(\-–]?[\w])")
_ENUMERATOR = re.compile(r"(?:(?i:điều|chương|mục|phần)\s+)?(?:\d+[a-zđ]?|[IVXL]+|[a-zđ])\.")
_KEEP_WITH_NEXT = {
    "số",
    "ngày",
    "tháng",
    "năm",
    "điều",
    "khoản",
    "điểm",
    "chương",
    "phần",
    "mục",
    "lúc",
    "từ",
    "đến",
    "thứ",
    "khóa",
    "khoá",
    "quý",
    "luật",
    "nghị",
    "quyết",
    "thông",
    "tờ",
}


def _sentence_ends(line: str) -> list[int]:
    """Offsets just after each sentence-final mark that is not an abbreviation's dot."""
    ends: list[int] = []
    for m in _SENTENCE_END.finditer(line):
        word = re.search(r"[\w.]*$", line[: m.start()])
        before = word[0] if word else ""
        if m[0].startswith(".") and (before in _ABBREVIATIONS_WITH_DOT or re.fullmatch(r"[A-ZĐ]", before)):
            continue
        if _ENUMERATOR.fullmatch(line[ends[-1] if ends else 0 : m.end()].strip()):
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
    return [*out, piece]


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
        for end in [*_sentence_ends(line), len(line)]:
            if (sentence := line[start:end].strip()) and any(c.isalnum() for c in sentence):
                out.extend(_split_long(sentence))
            start = end
    return out
