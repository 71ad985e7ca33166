"""Vietnamese first, English second: gettext catalogues under web/translations, chosen by a cookie.

The message ids are the Vietnamese texts themselves. The `.po` files are the source; they are compiled in
memory when first used (babel), so a fresh checkout or `pip install -e .` needs no build step and no `.mo`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

from web import TRANSLATIONS

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
COOKIE = "lc_lang"
Gettext = Callable[..., str]


def po_path(language: str) -> str:
    """Path of a language's catalogue source."""
    return str(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> Translations:
    """The compiled catalogue of a language (compiled once per process from its .po)."""
    with open(po_path(language), "rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def language_of(request: Request) -> str:
    """The language the person chose (cookie), else Vietnamese."""
    chosen = request.cookies.get(COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def gettext_for(language: str) -> Gettext:
    """A `_(message, **values)` for templates and routes: translated, then `%(name)s` values filled in."""
    catalogue = translations(language)

    def _(message: str, **values: object) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text

    return _


def extract_messages() -> set[str]:
    """Every message id the pages use: `_()` in the templates, `_()`/`N_()` in the web package's Python."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parent
    methods = [("templates/app/**.html", "jinja2.ext:babel_extract"), ("*.py", "python")]
    found = extract_from_dir(
        str(root),
        method_map=methods,
        keywords={"_": None, "N_": None},
        options_map={"templates/app/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}},
    )
    return {message for _file, _line, message, _comments, _context in found if isinstance(message, str) and message}
