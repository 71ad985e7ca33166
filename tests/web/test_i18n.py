"""Every message the staff pages show exists in the Vietnamese and the English catalogue."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from web.i18n import LANGUAGES, extract_messages, gettext_for, po_path

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalogue(language: str) -> dict[str, str]:
    with open(po_path(language), "rb") as handle:
        return {
            m.id: m.string
            for m in read_po(handle, locale=language)
            if m.id and isinstance(m.id, str) and isinstance(m.string, str)
        }


def test_every_message_of_the_pages_is_in_both_catalogues() -> None:
    used = extract_messages()
    assert len(used) > 150  # the templates' _() calls and the web package's N_() labels were found
    for language in LANGUAGES:
        catalogue = _catalogue(language)
        missing = sorted(m for m in used if not catalogue.get(m))
        assert missing == [], f"{language}: untranslated (run `python -m web.catalogues`, then translate): {missing}"
    assert all(text == message for message, text in _catalogue("vi").items()), "Vietnamese is the source language"


def test_english_keeps_every_placeholder() -> None:
    for message, text in _catalogue("en").items():
        assert set(PLACEHOLDER.findall(message)) == set(PLACEHOLDER.findall(text)), message


def test_buttons_carry_the_names_of_the_design() -> None:
    vi = gettext_for("vi")
    names = [
        "Đăng nhập",
        "Tải lên",
        "Tạo sản phẩm",
        "Lưu phiên bản",
        "Nghe thử",
        "Gửi duyệt",
        "Yêu cầu sửa",
        "Duyệt pháp lý",
        "Duyệt phát sóng",
        "Dựng",
        "Phát hành",
        "Rút xuống",
    ]
    used = extract_messages()
    assert [name for name in names if name not in used] == []
    assert [vi(name) for name in names] == names
    assert gettext_for("en")("Nghe thử") == "Listen"
