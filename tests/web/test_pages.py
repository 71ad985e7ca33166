"""The staff pages over HTTP (no browser): dashboard by role, documents, productions, editor, review, errors."""

from __future__ import annotations

import io
import re
import wave

from fastapi.testclient import TestClient

from tests.web.conftest import Account, existing_user, sign_in
from tests.web.test_browser import LAW, make_production


def _approved(author: str, legal: str, producer: str) -> tuple[int, int]:
    """A production taken to "approved" through the workflow by three people; (document id, production id)."""
    from db import session_scope
    from studio import service, workflow

    production_id = make_production(author, title="Sản phẩm đã duyệt")
    with session_scope() as session:
        production = service.get_production(session, production_id)
        for who, action in ((author, "submit"), (legal, "approve_legal"), (producer, "approve")):
            workflow.transition(session, production=production, action=action, user=existing_user(session, who))
        return production.document_id, production.id


def test_dashboard_sections_follow_the_role(web_client: TestClient, accounts: dict[str, Account]) -> None:
    production_id = make_production(accounts["editor"].name, title="Chờ người duyệt pháp lý xem")
    sign_in(web_client, accounts["editor"])
    editor = web_client.get("/app/").text
    assert "Bản nháp của tôi" in editor and "Chờ người duyệt pháp lý xem" in editor
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', editor).group(1)
    submitted = web_client.post(
        f"/app/productions/{production_id}/transitions", data={"csrf_token": csrf, "action": "submit"}, follow_redirects=False
    )
    assert submitted.status_code == 303
    web_client.cookies.clear()
    sign_in(web_client, accounts["legal_reviewer"])
    legal = web_client.get("/app/").text
    assert "Chờ tôi duyệt" in legal and f"/app/productions/{production_id}/review" in legal
    assert "Bản nháp của tôi" not in legal and "Trạm im lặng quá lâu" not in legal
    web_client.cookies.clear()
    sign_in(web_client, accounts["scheduler"])
    scheduler = web_client.get("/app/").text
    assert "Phát sóng hôm nay" in scheduler and "Trạm im lặng quá lâu" in scheduler and "Chờ tôi duyệt" not in scheduler


def test_repeal_from_the_document_page_shows_on_the_dashboard(web_client: TestClient, accounts: dict[str, Account]) -> None:
    document_id, _production_id = _approved(accounts["editor"].name, accounts["legal_reviewer"].name, accounts["producer"].name)
    csrf = sign_in(web_client, accounts["editor"])
    refused = web_client.post(f"/app/documents/{document_id}/status", data={"csrf_token": csrf, "status": "repealed"})
    assert refused.status_code == 403 and "Không được phép" in refused.text
    web_client.cookies.clear()
    csrf = sign_in(web_client, accounts["legal_reviewer2"])
    done = web_client.post(
        f"/app/documents/{document_id}/status",
        data={"csrf_token": csrf, "status": "repealed", "comment": "Thay bằng Luật 100/2026/QH15"},
    )
    assert done.status_code == 200 and "Đã rút 1 sản phẩm" in done.text  # the service's message, shown once
    assert "Thay bằng Luật 100/2026/QH15" in done.text and "Đã bị bãi bỏ" in done.text
    board = web_client.get("/app/").text
    section = board.split("Văn bản bị bãi bỏ tuần này")[1]
    assert f"/app/documents/{document_id}" in section and "1 sản phẩm cần rút xuống" in section


def test_documents_search_filter_and_htmx_results(web_client: TestClient, accounts: dict[str, Account]) -> None:
    make_production(accounts["editor"].name, title="Tìm văn bản")
    sign_in(web_client, accounts["editor"])
    found = web_client.get("/app/documents", params={"q": "truyen thanh co so", "status": "in_force"})
    assert found.status_code == 200 and "TRUYỀN THANH CƠ SỞ".lower() in found.text.lower()
    part = web_client.get(
        "/app/documents", params={"q": "khong co gi nhu vay xyz"}, headers={"HX-Request": "true", "HX-Target": "ket-qua"}
    )
    assert part.status_code == 200 and "<html" not in part.text and "Không tìm thấy văn bản nào." in part.text


def test_upload_errors_are_readable_pages(web_client: TestClient, accounts: dict[str, Account]) -> None:
    csrf = sign_in(web_client, accounts["editor"])
    answer = web_client.post(
        "/app/documents",
        data={"csrf_token": csrf},
        files={"file": ("virus.exe", b"MZ\x90\x00binary", "application/octet-stream")},
    )
    assert answer.status_code == 415 and "<h1>Không thực hiện được</h1>" in answer.text
    empty = web_client.post("/app/documents", data={"csrf_token": csrf, "text": "  "})
    assert empty.status_code == 422 and "dán nội dung" in empty.text
    pasted = web_client.post(
        "/app/documents",
        data={"csrf_token": csrf, "text": LAW.read_text(encoding="utf-8"), "title": "Dán từ bàn phím"},
        follow_redirects=False,
    )
    assert pasted.status_code == 303 and re.fullmatch(r"/app/documents/\d+", pasted.headers["location"])


def test_new_production_form_keeps_choices_on_error(web_client: TestClient, accounts: dict[str, Account]) -> None:
    production_id = make_production(accounts["editor"].name, title="Nguồn cho sản phẩm mới")
    csrf = sign_in(web_client, accounts["editor"])
    from db import session_scope
    from studio import service

    with session_scope() as session:
        document_id = service.get_production(session, production_id).document_id
    form = web_client.get(f"/app/productions/new?document_id={document_id}").text
    ids = re.findall(r'name="provision" value="(\d+)"', form)
    assert len(ids) > 5 and 'name="format"' in form and "Tạo sản phẩm" in form
    missing = web_client.post("/app/productions/new", data={"csrf_token": csrf, "document_id": document_id, "format": "video"})
    assert missing.status_code == 422 and "ít nhất một điều khoản" in missing.text
    made = web_client.post(
        "/app/productions/new",
        data={
            "csrf_token": csrf,
            "document_id": document_id,
            "format": "video",
            "provision": ids[3:5],
            "title": "Tiểu phẩm thử",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    editor = web_client.get(made.headers["location"]).text
    assert "Đã tạo sản phẩm Tiểu phẩm thử." in editor and "Tiểu phẩm video" in editor


def test_editor_saves_a_version_and_refuses_an_empty_line(web_client: TestClient, accounts: dict[str, Account]) -> None:
    production_id = make_production(accounts["editor"].name, title="Lưu phiên bản thử")
    csrf = sign_in(web_client, accounts["editor"])
    page = web_client.get(f"/app/productions/{production_id}").text
    rows = re.findall(r'name="row" value="(\w+)"', page)
    data: dict[str, object] = {
        "csrf_token": csrf,
        "row": [rows[1], "new1"],
        f"orig-{rows[1]}": "1",
        f"speaker-{rows[1]}": "expert",
        f"text-{rows[1]}": "Dòng giữ lại.",
        f"pause_ms-{rows[1]}": "800",
        "orig-new1": "",
        "speaker-new1": "citizen",
        "text-new1": "Dòng mới.",
        "pause_ms-new1": "300",
        "bed-new1": "on",
    }
    saved = web_client.post(f"/app/productions/{production_id}/script", data=data, follow_redirects=False)
    assert saved.status_code == 303
    from db import session_scope
    from studio import service

    with session_scope() as session:
        production = service.get_production(session, production_id)
        lines = service.script_version(session, production).lines
        assert production.current_version == 2
    assert [(x.speaker, x.text, x.pause_ms, x.bed) for x in lines] == [
        ("expert", "Dòng giữ lại.", 800, False),
        ("citizen", "Dòng mới.", 300, True),
    ]
    data[f"text-{rows[1]}"] = "   "
    refused = web_client.post(f"/app/productions/{production_id}/script", data=data)
    assert refused.status_code == 422 and "Dòng 1" in refused.text and 'role="alert"' in refused.text


def test_listen_answers_wav_from_the_phrase_cache(web_client: TestClient, accounts: dict[str, Account]) -> None:
    sign_in(web_client, accounts["producer"])
    params = {"text": "Kính thưa quý vị. Đây là bản tin thử.", "speaker": "expert"}
    first = web_client.get("/app/speech/say", params=params)
    second = web_client.get("/app/speech/say", params=params)
    assert first.status_code == 200 and first.headers["content-type"] == "audio/wav"
    assert second.headers["x-phrase-cache"] == "hit" and second.content == first.content
    with wave.open(io.BytesIO(second.content)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert 1.0 < seconds < 10.0


def test_review_diff_and_readable_four_eyes_refusal(web_client: TestClient, accounts: dict[str, Account]) -> None:
    production_id = make_production(accounts["editor"].name, title="Xem khác biệt")
    csrf = sign_in(web_client, accounts["editor"])
    page = web_client.get(f"/app/productions/{production_id}").text
    rows = re.findall(r'name="row" value="(\w+)"', page)
    data = {"csrf_token": csrf, "row": rows[:2]}
    for index, key in enumerate(rows[:2]):
        data |= {f"orig-{key}": str(index), f"speaker-{key}": "presenter", f"text-{key}": f"Câu số {index} đã sửa."}
    assert web_client.post(f"/app/productions/{production_id}/script", data=data, follow_redirects=False).status_code == 303
    submitted = web_client.post(
        f"/app/productions/{production_id}/transitions",
        data={"csrf_token": csrf, "action": "submit", "back": "review"},
        follow_redirects=False,
    )
    assert submitted.headers["location"] == f"/app/productions/{production_id}/review"
    review = web_client.get(f"/app/productions/{production_id}/review?from=1&to=2").text
    assert "<ins>Câu số 0 đã sửa.</ins>" in review and "Phiên bản 1 → 2" in review
    assert "Lưu phiên bản" in review and "Gửi duyệt" in review  # the timeline: the save and the submission
    web_client.cookies.clear()
    csrf = sign_in(web_client, accounts["admin"])
    admin_edit = {"csrf_token": csrf, "row": ["a"], "orig-a": "0", "speaker-a": "presenter", "text-a": "Admin sửa một câu."}
    assert web_client.post(f"/app/productions/{production_id}/script", data=admin_edit, follow_redirects=False).status_code == 303
    web_client.post(f"/app/productions/{production_id}/transitions", data={"csrf_token": csrf, "action": "submit"})
    refused = web_client.post(
        f"/app/productions/{production_id}/transitions", data={"csrf_token": csrf, "action": "approve_legal", "back": "review"}
    )
    assert refused.status_code == 403 and "Nguyên tắc bốn mắt" in refused.text and "Traceback" not in refused.text
    assert "<h1>Duyệt: Xem khác biệt</h1>" in refused.text  # the review page itself, with the refusal on it


def test_pages_speak_english_after_the_switch(web_client: TestClient, accounts: dict[str, Account]) -> None:
    sign_in(web_client, accounts["editor"])
    switched = web_client.get("/app/lang/en", params={"next": "/app/documents"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/app/documents"
    page = web_client.get("/app/documents").text
    assert '<html lang="en">' in page and "<h1>Documents</h1>" in page and ">Upload</button>" in page
    assert (
        web_client.get("/app/lang/vi", params={"next": "https://evil.example/"}, follow_redirects=False).headers["location"]
        == "/app/"
    )
    assert "<h1>Văn bản</h1>" in web_client.get("/app/documents").text
