"""Script templates per format (pure), the bundled font, and a too-long bulletin refused over the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from studio.engine.text import scripts
from tests.conftest import Stack

DOC = scripts.DocumentInfo("Về phổ biến pháp luật qua loa truyền thanh", "Quyết định", "15/2025/QĐ-UBND", "01/04/2025")
SENTENCE = "Ủy ban nhân dân cấp xã bảo đảm phát đúng nội dung, đúng khung giờ và tiếp nhận ý kiến của người dân."


def _provision(number: int, sentences: int) -> scripts.ProvisionText:
    return scripts.ProvisionText(number, f"Điều {number}", f"Quy định số {number}", " ".join([SENTENCE] * sentences))


def test_estimate_reads_the_spoken_form() -> None:
    citation = scripts.ScriptLine("presenter", "Theo Nghị định số 15/2020/NĐ-CP.", 0)
    plain = scripts.ScriptLine("presenter", "Theo nghị định số mười lăm.", 0)
    # the citation is written in 5 words but read in about twenty
    assert scripts.estimate_seconds([citation]) > 2.5 * scripts.estimate_seconds([plain])
    assert scripts.estimate_seconds([plain], jingles=True) == pytest.approx(scripts.estimate_seconds([plain]) + scripts.JINGLES_S)


def test_radio_template_order_bed_and_length_notes() -> None:
    draft = scripts.radio_script(DOC, [_provision(1, 2), _provision(2, 1)])
    roles = [line.role for line in draft.lines]
    assert roles == ["intro", "heading", "body", "heading", "body", "recap", "outro"]
    assert draft.lines[0].text.startswith("Kính thưa quý thính giả") and "Tìm hiểu pháp luật" in draft.lines[0].text
    assert [line.provision_id for line in draft.lines[1:5]] == [1, 1, 2, 2]
    assert draft.lines[1].text == "Điều 1. Quy định số 1."
    assert [line.bed for line in draft.lines] == [True, False, False, False, False, True, True]
    assert {line.speaker for line in draft.lines} == {"presenter"}
    assert "Điều 1, Điều 2" in draft.lines[-2].text and "01/04/2025" in draft.lines[-2].text
    assert len(draft.notes) == 1 and "ngắn hơn 5 phút" in draft.notes[0]
    ten_minutes = scripts.radio_script(DOC, [_provision(n, 6) for n in range(1, 12)])
    assert 300 <= scripts.estimate_seconds(ten_minutes.lines, jingles=True) <= 900 and ten_minutes.notes == []
    too_long = scripts.radio_script(DOC, [_provision(n, 12) for n in range(1, 14)])
    assert any("dài hơn 15 phút" in note for note in too_long.notes)


def test_loudspeaker_splits_into_numbered_parts_each_within_the_limit() -> None:
    provisions = [_provision(n, 4) for n in range(1, 8)]
    parts = scripts.loudspeaker_parts(DOC, provisions)
    assert len(parts) >= 2
    for index, part in enumerate(parts, start=1):
        assert f"Phần {index}/{len(parts)}." in part.lines[0].text
        assert part.notes == [f"Phần {index}/{len(parts)}"]
        assert part.lines[-1].role == "outro"
        assert scripts.estimate_seconds(part.lines, jingles=True) <= scripts.LOUDSPEAKER_PLAN_S
    ids = [line.provision_id for part in parts for line in part.lines if line.role == "heading"]
    assert ids == list(range(1, 8))
    single = scripts.loudspeaker_parts(DOC, provisions[:1])
    assert len(single) == 1 and "Phần" not in single[0].lines[0].text and single[0].notes == []


def test_loudspeaker_refuses_a_provision_longer_than_a_bulletin() -> None:
    with pytest.raises(ValueError, match=r"Điều 3 đọc mất khoảng .* giây, vượt giới hạn 3 phút"):
        scripts.loudspeaker_parts(DOC, [_provision(1, 1), _provision(2, 1), _provision(3, 40)])


def test_video_is_a_dialogue_of_two_voices_within_60_to_90_seconds() -> None:
    draft = scripts.video_script(DOC, [_provision(n, 3) for n in range(1, 6)])
    assert draft.lines[0].role == "title" and draft.lines[0].text.startswith("Tiểu phẩm pháp luật:")
    assert draft.lines[-1].role == "outro"
    dialogue = draft.lines[1:-1]
    assert len(dialogue) >= 4
    assert [line.speaker for line in dialogue] == ["citizen", "expert"] * (len(dialogue) // 2)
    assert all(line.text.endswith("?") for line in dialogue[::2])
    assert all(line.text.startswith(f"Theo Điều {line.provision_id}") and line.text.endswith(".") for line in dialogue[1::2])
    assert 60 <= scripts.estimate_seconds(draft.lines, jingles=True) <= scripts.VIDEO_TARGET_S
    assert draft.notes == []
    short = scripts.video_script(DOC, [_provision(1, 1)])
    assert short.notes and "60-90 giây" in short.notes[0]


def test_video_answer_is_cut_after_a_clause() -> None:
    provision = _provision(1, 30)
    draft = scripts.video_script(DOC, [provision])
    answer = draft.lines[2].text
    assert answer.endswith(".") and not answer.endswith(",.")
    kept = answer.split(": ", 1)[1][:-1]
    assert len(kept.split()) >= 12 and len(kept) < len(provision.body)
    assert provision.body.startswith(kept) and provision.body[len(kept)] in ",.;:"  # cut where a clause ends


def test_bundled_font_covers_vietnamese_and_ships_its_licence() -> None:
    from fontTools.ttLib import TTFont

    fonts = Path(__file__).resolve().parents[2] / "assets" / "defaults" / "fonts"
    letters = "ăâđêôơưĂÂĐÊÔƠƯ"
    tones = "\u0300\u0301\u0303\u0309\u0323"
    vowels = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
    import unicodedata

    composed = {unicodedata.normalize("NFC", v + t) for v in vowels for t in tones}
    assert len(composed) == 2 * 12 * 5
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        cmap = TTFont(fonts / name).getBestCmap()
        missing = [ch for ch in letters + "".join(sorted(composed)) + "₫" if ord(ch) not in cmap]
        assert missing == [], (name, missing)
    licence = (fonts / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    assert "Bitstream Vera" in licence and "Permission is hereby granted" in licence


def test_too_long_provision_for_a_bulletin_is_a_422_with_the_reason(client: TestClient, stack: Stack) -> None:
    text = (
        "QUYẾT ĐỊNH\nVỀ THỬ NGHIỆM\n\nĐiều 1. Quy định rất dài\n"
        + " ".join([SENTENCE] * 40)
        + "\n\nĐiều 2. Ngắn\nNội dung ngắn.\n"
    )
    doc = client.post("/api/documents", json={"text": text}, headers=stack.headers("editor"))
    assert doc.status_code == 201, doc.json()
    made = client.post(
        "/api/productions", json={"document_id": doc.json()["id"], "format": "loudspeaker"}, headers=stack.headers("editor")
    )
    assert made.status_code == 422
    assert "vượt giới hạn 3 phút" in made.json()["detail"] and "Điều 1" in made.json()["detail"]
