"""How a programme introduces its law: no 'về Về' in the radio greeting, and an emergency announced as one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from studio.engine.text import scripts
from tests.conftest import Stack
from tests.helpers import present

PROVISION = scripts.ProvisionText(1, "Điều 1", "Phạm vi điều chỉnh", "Quyết định này quy định việc phát bản tin trên loa.")


def _greeting(title: str, doc_type: str = "Quyết định", number: str | None = "15/2025/QĐ-UBND") -> str:
    return scripts.radio_script(scripts.DocumentInfo(title, doc_type, number), [PROVISION]).lines[0].text


@pytest.mark.parametrize(
    "title",
    [
        "Về phổ biến pháp luật qua loa truyền thanh",
        "về phổ biến pháp luật qua loa truyền thanh",
        "VỀ phổ biến pháp luật qua loa truyền thanh.",
    ],
)
def test_a_title_starting_with_ve_gets_one_ve(title: str) -> None:
    greeting = _greeting(title)
    assert "Hôm nay chúng ta cùng tìm hiểu Quyết định số 15/2025/QĐ-UBND về phổ biến pháp luật qua loa truyền thanh." in greeting
    assert "về về" not in greeting.lower()


def test_a_decomposed_ve_is_recognised_too() -> None:
    import unicodedata

    greeting = _greeting(unicodedata.normalize("NFD", "Về phổ biến pháp luật"))
    assert greeting.endswith("Quyết định số 15/2025/QĐ-UBND về phổ biến pháp luật.")


def test_titles_without_ve_read_naturally() -> None:
    # A subject gets the connective; a title that says what the document does follows the name directly.
    assert _greeting("Thủ tục hòa giải ở cơ sở").endswith("tìm hiểu Quyết định số 15/2025/QĐ-UBND về Thủ tục hòa giải ở cơ sở.")
    amended = _greeting("Sửa đổi, bổ sung một số điều của Luật Thử nghiệm", doc_type="Luật", number="99/2025/QH15")
    assert amended.endswith("tìm hiểu Luật số 99/2025/QH15 sửa đổi, bổ sung một số điều của Luật Thử nghiệm.")
    rules = _greeting("Quy định một số nội dung về truyền thanh cơ sở", doc_type="Nghị quyết", number=None)
    assert rules.endswith("tìm hiểu Nghị quyết quy định một số nội dung về truyền thanh cơ sở.")
    assert "về về" not in amended.lower() + rules.lower()


def test_the_bundled_sample_law_greeting(sample_law_text: str) -> None:
    from studio.engine.text import legal

    meta = legal.parse_document(sample_law_text).meta
    assert meta.title.startswith("Về ")  # the case the field trial tripped over
    greeting = _greeting(present(meta.title), present(meta.doc_type), meta.number)
    assert "Quyết định số 15/2025/QĐ-UBND về phổ biến, giáo dục pháp luật qua hệ thống loa truyền thanh" in greeting
    assert "về Về" not in greeting


def test_an_emergency_bulletin_is_announced_as_an_emergency() -> None:
    doc = scripts.DocumentInfo("Về phòng, chống bão số 3", "Công điện", "05/CĐ-UBND")
    routine = scripts.loudspeaker_parts(doc, [PROVISION])[0].lines
    urgent = scripts.loudspeaker_parts(doc, [PROVISION], emergency=True)[0].lines
    assert routine[0].text.startswith("Bản tin pháp luật.")
    assert urgent[0].text.startswith("Thông báo khẩn cấp!") and "Bản tin pháp luật" not in urgent[0].text
    assert "Thông báo khẩn cấp đến đây là hết" in urgent[-1].text and "Bản tin" not in urgent[-1].text
    assert [line.text for line in urgent[1:-1]] == [line.text for line in routine[1:-1]]  # same content between


def test_emergency_parts_keep_their_numbers_and_stay_within_the_limit() -> None:
    sentence = "Ủy ban nhân dân cấp xã bảo đảm phát đúng nội dung, đúng khung giờ và tiếp nhận ý kiến của người dân."
    provisions = [scripts.ProvisionText(n, f"Điều {n}", f"Quy định số {n}", " ".join([sentence] * 4)) for n in range(1, 8)]
    parts = scripts.loudspeaker_parts(scripts.DocumentInfo("Khẩn", "Công điện", None), provisions, emergency=True)
    assert len(parts) >= 2
    for index, part in enumerate(parts, start=1):
        assert part.lines[0].text.startswith(f"Thông báo khẩn cấp! Thông báo khẩn cấp! Phần {index}/{len(parts)}.")
        assert scripts.estimate_seconds(part.lines, jingles=True) <= scripts.LOUDSPEAKER_PLAN_S


def test_emergency_production_over_the_api(client: TestClient, stack: Stack) -> None:
    editor = stack.headers("editor")
    text = "CÔNG ĐIỆN\nVỀ ỨNG PHÓ BÃO KHẨN CẤP\n\nĐiều 1. Sơ tán\nNgười dân vùng trũng di chuyển đến nơi an toàn trước 17 giờ.\n"
    doc = client.post("/api/documents", json={"text": text}, headers=editor)
    assert doc.status_code == 201, doc.text
    made = client.post(
        "/api/productions", json={"document_id": doc.json()["id"], "format": "loudspeaker", "emergency": True}, headers=editor
    )
    assert made.status_code == 201, made.text
    script = client.get(f"/api/productions/{made.json()['id']}/script", headers=editor).json()
    assert script["lines"][0]["text"].startswith("Thông báo khẩn cấp!")
    plain = client.post("/api/productions", json={"document_id": doc.json()["id"], "format": "loudspeaker"}, headers=editor)
    assert (
        client.get(f"/api/productions/{plain.json()['id']}/script", headers=editor)
        .json()["lines"][0]["text"]
        .startswith("Bản tin pháp luật.")
    )
    refused = client.post(
        "/api/productions", json={"document_id": doc.json()["id"], "format": "radio", "emergency": True}, headers=editor
    )
    assert refused.status_code == 422 and "khẩn cấp" in refused.json()["detail"]
