"""Sanitisers for user-supplied text: control and bidi-override characters out, NUL refused.

`clean_name` is for one-line names and titles (document/production titles, lexicon terms, area, station,
channel and slot names): it removes every control and bidi-override character, turns line breaks and tabs into
spaces and collapses runs of whitespace, so a name can never inject a line into an M3U playlist, a feed or a
log, nor reorder what a reader sees. `clean_text` is for multi-line bodies (legal text, script lines): it keeps
tab and newline, normalises CR/CRLF to LF and removes the other control and bidi-override characters. Both
refuse NUL with `ValueError`, which pydantic validators turn into a 422.
"""

from __future__ import annotations

import re

NUL_MESSAGE = "Văn bản chứa ký tự NUL (\\x00) không được phép (NUL character is not allowed)"

# Explicit embeddings/overrides/isolates and the implicit marks: they reorder or hide what a reader sees.
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
# C0 (minus NUL, handled apart), DEL and C1.
_C0 = "".join(chr(c) for c in range(1, 0x20))
_C1 = "".join(chr(c) for c in range(0x7F, 0xA0))
_NAME_DROP = re.compile(
    f"[{re.escape(_C0.replace(chr(9), '').replace(chr(10), '').replace(chr(13), ''))}"
    f"{re.escape(_C1.replace(chr(0x85), ''))}{re.escape(BIDI)}\ufeff]"
)
_NAME_SPACE = re.compile(r"\s+")  # includes \t \n \r \x0b \x0c \x1c-\x1f \x85 U+2028 U+2029
_TEXT_DROP = re.compile(
    f"[{re.escape(_C0.replace(chr(9), '').replace(chr(10), '').replace(chr(13), ''))}{re.escape(_C1)}{re.escape(BIDI)}]"
)


def refuse_nul(value: str) -> str:
    """Return `value` unchanged, or raise ValueError if it contains NUL."""
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


def clean_name(value: str) -> str:
    """A one-line name: NUL refused, controls and bidi overrides removed, whitespace collapsed and trimmed."""
    refuse_nul(value)
    # Dropped first, so "a \u202e b" collapses to one space; line breaks (\t \n \r NEL) are kept for the
    # second step, which makes them spaces ("a\nb" reads "a b"). Cleaning twice gives the same name.
    return _NAME_SPACE.sub(" ", _NAME_DROP.sub("", value)).strip()


def clean_optional_name(value: str | None) -> str | None:
    """`clean_name` that lets None through (for optional fields)."""
    return None if value is None else clean_name(value)


def clean_text(value: str) -> str:
    """A multi-line body: NUL refused, CR/CRLF made LF, other controls (but tab) and bidi overrides removed."""
    refuse_nul(value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _TEXT_DROP.sub("", value)
