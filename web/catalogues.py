"""Keep the catalogues in step with the pages: `python -m web.catalogues`.

Extracts every message of the templates and of the web package, adds the new ones to both catalogues
(Vietnamese: the message itself; English: empty, to be translated by hand) and drops the ones no page uses.
tests/web/test_i18n.py fails while an English translation is missing.
"""

from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from web.i18n import LANGUAGES, extract_messages, po_path


def update(language: str, messages: set[str]) -> list[str]:
    """Rewrite one catalogue with exactly `messages`; returns the ids still without a translation."""
    try:
        with open(po_path(language), "rb") as handle:
            old = {m.id: m.string for m in read_po(handle, locale=language) if m.id}
    except FileNotFoundError:
        old = {}
    catalog = Catalog(
        locale=language,
        project="lawcast",
        version="0.1.0",
        charset="utf-8",
        fuzzy=False,
        copyright_holder="lawcast",
        msgid_bugs_address="",
    )
    missing = []
    for message in sorted(messages):
        text = message if language == "vi" else old.get(message) or ""
        if not text:
            missing.append(message)
        catalog.add(message, text)
    with open(po_path(language), "wb") as handle:
        write_po(handle, catalog, width=120, omit_header=False, sort_output=True)
    return missing


def main() -> None:
    """Update every catalogue and list what is left to translate."""
    messages = extract_messages()
    for language in LANGUAGES:
        for message in update(language, messages):
            print(f"{language}: untranslated: {message}")


if __name__ == "__main__":
    main()
