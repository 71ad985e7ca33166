"""Documents, lexicon and speech preview over the HTTP API: formats, errors, lifecycle, editor lexicon."""

from __future__ import annotations

import io
import os
import unicodedata
import warnings
from collections.abc import Iterator
from html import escape

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.helpers import Json
from tests.studio.test_legal import AMENDING, AMENDING_TREE, SHARED_SAMPLE, SHARED_TREE, Tree, _typeset_pdf

SHARED_LINES = SHARED_SAMPLE.read_text(encoding="utf-8").strip().split("\n")
SHARED_META = {
    "doc_type": "Nghị quyết",
    "number": "37/2024/NQ-HĐND",
    "issuer": "Hội đồng nhân dân tỉnh Quảng Ninh",
    "place": "Quảng Ninh",
    "issued_on": "2024-07-12",
    "effective_on": "2024-08-01",
    "title": "Quy định một số nội dung về phổ biến, giáo dục pháp luật qua hệ thống truyền thanh cơ sở trên địa bàn tỉnh",
    "legal_bases": [
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015",
        "Căn cứ Luật Phổ biến, giáo dục pháp luật ngày 20 tháng 6 năm 2012",
        "Căn cứ Quyết định số 135/QĐ-TTg ngày 20/01/2020 của Thủ tướng Chính phủ",
    ],
}


def api_tree(nodes: list[Json]) -> list[Tree]:
    """The API's nested provisions in the shape of tests.studio.test_legal.node."""
    return [(n["kind"], n["number"], n["label"], n["heading"], n["text"], tuple(api_tree(n["children"]))) for n in nodes]


def walk(nodes: list[Json]) -> Iterator[Json]:
    for n in nodes:
        yield n
        yield from walk(n["children"])


def docx_bytes(lines: list[str]) -> bytes:
    """A Word file: the header block in a two-column table, one paragraph per body line (decomposed marks)."""
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "\n".join(lines[0:3])
    table.cell(0, 1).text = "\n".join(lines[3:6])
    table.cell(1, 0).text = lines[6]
    table.cell(1, 1).text = lines[7]
    for line in lines[8:]:
        document.add_paragraph(unicodedata.normalize("NFD", line))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def html_bytes(lines: list[str]) -> bytes:
    """A web page as legal portals publish it: navigation, scripts, the text in <p> elements."""
    body = "".join(f"<p>{escape(line)}</p>" if line else "<p>&nbsp;</p>" for line in lines)
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><script>var x = "Điều 99. Không";</script></head>'
        f'<body><nav><a href="/">Trang chủ</a></nav><div class="content">{body}</div></body></html>'
    )
    return page.encode("utf-8")


UPLOADS = {
    "txt": lambda: ("nghi-quyet.txt", "\n".join(SHARED_LINES).encode("utf-8"), "text/plain"),
    "docx": lambda: (
        "nghi-quyet.docx",
        docx_bytes(SHARED_LINES),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "pdf": lambda: ("nghi-quyet.pdf", _typeset_pdf(SHARED_LINES, (210, 297))[0], "application/pdf"),
    "html": lambda: ("nghi-quyet.html", html_bytes(SHARED_LINES), "text/html"),
}


@pytest.mark.parametrize("kind", sorted(UPLOADS))
def test_uploaded_file_gives_metadata_and_the_exact_tree(client: TestClient, stack: Stack, kind: str) -> None:
    filename, data, content_type = UPLOADS[kind]()
    with warnings.catch_warnings():
        # The nested tree is validated as ProvisionOut, not serialised from loose dicts with a warning.
        warnings.filterwarnings("error", message=".*[Ss]erializ")
        response = client.post("/api/documents", files={"file": (filename, data, content_type)}, headers=stack.headers("editor"))
        assert response.status_code == 201, response.json()
        doc = response.json()
        again = client.get(f"/api/documents/{doc['id']}", headers=stack.headers("producer")).json()
    assert {key: doc[key] for key in SHARED_META} == SHARED_META
    assert doc["status"] == "in_force" and doc["source_filename"] == filename
    assert api_tree(doc["provisions"]) == SHARED_TREE
    assert again == doc
    nodes = list(walk(doc["provisions"]))
    assert len({n["id"] for n in nodes}) == len(nodes) == 30
    for parent in nodes:
        for child in parent["children"]:
            assert child["key"].startswith(parent["key"] + "/")


def test_pasted_text_json_and_form_field(client: TestClient, stack: Stack) -> None:
    text = AMENDING.read_text(encoding="utf-8")
    pasted = client.post("/api/documents", json={"text": text, "title": "Luật thử nghiệm"}, headers=stack.headers("editor"))
    assert pasted.status_code == 201, pasted.json()
    body = pasted.json()
    assert body["title"] == "Luật thử nghiệm" and body["number"] == "99/2025/QH15" and body["source_filename"] is None
    assert api_tree(body["provisions"]) == AMENDING_TREE
    # An HTML form's text area, urlencoded or multipart.
    for form in (
        client.post("/api/documents", data={"text": text}, headers=stack.headers("editor")),
        client.post("/api/documents", files={"text": (None, text), "title": (None, " ")}, headers=stack.headers("editor")),
    ):
        assert form.status_code == 201, form.json()
        assert form.json()["title"] == "Sửa đổi, bổ sung một số điều của luật thử nghiệm về truyền thanh cơ sở"
        assert api_tree(form.json()["provisions"]) == AMENDING_TREE


def _scan_pdf() -> bytes:
    fpdf = pytest.importorskip("fpdf")
    from PIL import Image

    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.image(Image.new("RGB", (120, 60), "white"), x=10, y=10, w=100)
    return bytes(pdf.output())


@pytest.mark.parametrize(
    ("files", "status", "words"),
    [
        ({"file": ("trong.txt", b"", "text/plain")}, 422, "rỗng"),
        ({"file": ("trong.txt", b" \n\t\r\n", "text/plain")}, 422, "rỗng"),
        ({"file": ("cai-dat.exe", b"MZ\x90\x00" + bytes(64), "application/octet-stream")}, 415, ".exe"),
        ({"file": ("cu.doc", b"\xd0\xcf\x11\xe0" + bytes(64), "application/msword")}, 415, ".docx"),
        ({"file": ("anh", b"GIF89a" + bytes(64), "image/gif")}, 415, "image/gif"),
        ({"file": ("win1258.txt", b"\xd0i\xeau 1. Ph\xe0m vi", "text/plain")}, 422, "UTF-8"),
        ({"file": ("nhi-phan.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "text/plain")}, 422, "nhị phân"),
        ({"file": ("hong.docx", b"PK\x03\x04 not a word file", "application/octet-stream")}, 422, ".docx hỏng"),
        ({"file": ("hong.pdf", b"%PDF-1.7 truncated", "application/pdf")}, 422, "PDF hỏng"),
        ({"file": ("scan.pdf", None, "application/pdf")}, 415, "OCR"),
        ({"title": (None, "Chỉ có tiêu đề")}, 422, "'file'"),
    ],
    ids=["empty", "blank", "exe", "legacy-doc", "gif", "cp1258", "binary-as-txt", "bad-docx", "bad-pdf", "scan", "no-file"],
)
def test_bad_uploads_are_refused_with_the_reason(
    client: TestClient, stack: Stack, files: dict[str, tuple[str | None, bytes | str | None, str | None]], status: int, words: str
) -> None:
    if files.get("file", (None, b""))[1] is None:
        files = {"file": (files["file"][0], _scan_pdf(), files["file"][2])}
    response = client.post("/api/documents", files=files, headers=stack.headers("editor"))
    assert response.status_code == status, response.json()
    detail = response.json()["detail"]
    assert words in detail
    assert "(" in detail and ")" in detail  # Vietnamese, with the English gloss in parentheses


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"text": ""}, "text"),
        ({"text": "  \n\t "}, "rỗng"),
        ({"title": "Không có văn bản"}, "text"),
        ("không phải JSON", "JSON"),
    ],
)
def test_bad_pasted_text_is_refused_with_the_reason(client: TestClient, stack: Stack, body: object, words: str) -> None:
    if isinstance(body, str):
        response = client.post(
            "/api/documents", content=body.encode(), headers={**stack.headers("editor"), "content-type": "application/json"}
        )
    else:
        response = client.post("/api/documents", json=body, headers=stack.headers("editor"))
    assert response.status_code == 422
    assert words in response.json()["detail"]


@pytest.fixture
def small_upload_limit() -> Iterator[int]:
    """LAWCAST_MAX_UPLOAD_BYTES lowered to 2000 for one test."""
    import settings

    limit = 2000
    os.environ["LAWCAST_MAX_UPLOAD_BYTES"] = str(limit)
    settings.get_settings.cache_clear()
    try:
        yield limit
    finally:
        os.environ.pop("LAWCAST_MAX_UPLOAD_BYTES", None)
        settings.get_settings.cache_clear()


def test_oversized_input_is_413_naming_the_limit(client: TestClient, stack: Stack, small_upload_limit: int) -> None:
    editor = stack.headers("editor")
    body = ("Dieu 1. Pham vi\n" + "Noi dung thu nghiem. " * 200).encode("ascii")
    over, exact = body[: small_upload_limit + 1], body[:small_upload_limit]
    response = client.post("/api/documents", files={"file": ("dai.txt", over, "text/plain")}, headers=editor)
    assert response.status_code == 413
    assert "2,001" in response.json()["detail"] and "2,000" in response.json()["detail"]
    pasted = client.post("/api/documents", json={"text": over.decode("ascii")}, headers=editor)
    assert pasted.status_code == 413 and "2,000" in pasted.json()["detail"]
    # Far over the limit: refused from the Content-Length header, before the body is read.
    huge = client.post("/api/documents", files={"file": ("rat-dai.txt", b"a" * 100_000, "text/plain")}, headers=editor)
    assert huge.status_code == 413 and "LAWCAST_MAX_UPLOAD_BYTES" in huge.json()["detail"]
    accepted = client.post("/api/documents", files={"file": ("vua.txt", exact, "text/plain")}, headers=editor)
    assert accepted.status_code == 201, accepted.json()
    assert client.post("/api/documents", json={"text": exact.decode("ascii")}, headers=editor).status_code == 201


# --- lifecycle ----------------------------------------------------------------------------------


def test_repeal_marks_every_production_made_from_the_document(client: TestClient, stack: Stack, sample_law_text: str) -> None:
    editor = stack.headers("editor")
    doc = client.post("/api/documents", json={"text": sample_law_text}, headers=editor).json()
    other = client.post("/api/documents", json={"text": "\n".join(SHARED_LINES)}, headers=editor).json()
    made = [
        client.post("/api/productions", json={"document_id": doc["id"], "format": fmt}, headers=editor).json()
        for fmt in ("radio", "video")
    ]
    bystander = client.post("/api/productions", json={"document_id": other["id"], "format": "radio"}, headers=editor).json()

    def marks() -> list[bool]:
        return [client.get(f"/api/productions/{p['id']}", headers=editor).json()["source_repealed"] for p in [*made, bystander]]

    def set_status(status: str, role: str = "legal_reviewer"):
        return client.post(f"/api/documents/{doc['id']}/status", json={"status": status}, headers=stack.headers(role))

    assert marks() == [False, False, False]
    for status in ("partly_in_force", "draft", "in_force"):
        changed = set_status(status)
        assert changed.status_code == 200 and changed.json()["status"] == status
        assert marks() == [False, False, False]
    repealed = set_status("repealed")
    assert repealed.status_code == 200 and repealed.json()["status"] == "repealed"
    assert client.get(f"/api/documents/{doc['id']}", headers=editor).json()["status"] == "repealed"
    assert marks() == [True, True, False]

    refused = client.post("/api/productions", json={"document_id": doc["id"], "format": "radio"}, headers=editor)
    assert refused.status_code == 409 and "bãi bỏ" in refused.json()["detail"]
    pid = made[0]["id"]
    for action, role in (("submit", "editor"), ("approve_legal", "legal_reviewer"), ("approve", "producer")):
        assert (
            client.post(f"/api/productions/{pid}/transitions", json={"action": action}, headers=stack.headers(role)).status_code
            == 200
        )
    publish = client.post(f"/api/productions/{pid}/transitions", json={"action": "publish"}, headers=stack.headers("producer"))
    assert publish.status_code == 409 and "bãi bỏ" in publish.json()["detail"]

    # A repeal recorded by mistake is undone: the marks are lifted.
    assert set_status("in_force").status_code == 200
    assert marks() == [False, False, False]


def test_status_changes_are_checked(client: TestClient, stack: Stack) -> None:
    doc = client.post("/api/documents", json={"text": "Điều 1. Phạm vi\nNội dung."}, headers=stack.headers("editor")).json()
    wrong = client.post(
        f"/api/documents/{doc['id']}/status", json={"status": "cancelled"}, headers=stack.headers("legal_reviewer")
    )
    assert wrong.status_code == 422 and "status" in wrong.json()["detail"]
    missing = client.post("/api/documents/999999/status", json={"status": "repealed"}, headers=stack.headers("legal_reviewer"))
    assert missing.status_code == 404
    scheduler = client.post(f"/api/documents/{doc['id']}/status", json={"status": "repealed"}, headers=stack.headers("scheduler"))
    assert scheduler.status_code == 403


# --- lexicon and speech preview -----------------------------------------------------------------


def test_editor_lexicon_is_stored_and_used_by_the_preview(client: TestClient, stack: Stack) -> None:
    from sqlalchemy import select

    from db import session_scope
    from studio.models import LexiconEntry

    editor, viewer = stack.headers("editor"), stack.headers("producer")
    text = "Bão Yagi gây thiệt hại tại xã Quảng La."
    before = client.post("/api/speech/preview", json={"text": text}, headers=viewer).json()
    assert before["spoken"] == text
    assert before["flags"] == [{"token": "Yagi", "start": 4, "end": 8, "reason": before["flags"][0]["reason"]}]
    assert "tiếng Việt" in before["flags"][0]["reason"]

    created = client.post("/api/lexicon", json={"term": "Yagi", "spoken": "da  gi", "note": "tên bão"}, headers=editor)
    assert created.status_code == 201, created.json()
    entry = created.json()
    assert (entry["term"], entry["spoken"], entry["note"]) == ("Yagi", "da gi", "tên bão")
    after = client.post("/api/speech/preview", json={"text": text}, headers=viewer).json()
    assert after == {"spoken": "Bão da gi gây thiệt hại tại xã Quảng La.", "flags": []}

    # Replacing keeps one entry; a term typed with decomposed marks is the same term.
    client.post("/api/lexicon", json={"term": "Đắk R'lấp", "spoken": "đắk rờ lấp"}, headers=editor)
    replaced = client.post(
        "/api/lexicon", json={"term": unicodedata.normalize("NFD", "Đắk R'lấp"), "spoken": "đắc rơ lấp"}, headers=editor
    )
    assert replaced.status_code == 201
    listed = client.get("/api/lexicon", headers=viewer).json()
    mine = {row["term"]: row["spoken"] for row in listed if row["term"] in ("Yagi", "Đắk R'lấp")}
    assert mine == {"Yagi": "da gi", "Đắk R'lấp": "đắc rơ lấp"}
    with session_scope() as session:
        stored = session.scalars(select(LexiconEntry).where(LexiconEntry.term.in_(["Yagi", "Đắk R'lấp"]))).all()
        assert sorted((row.term, row.spoken) for row in stored) == [("Yagi", "da gi"), ("Đắk R'lấp", "đắc rơ lấp")]

    # Editor entries also override the built-in lexicon, and reach citations.
    client.post("/api/lexicon", json={"term": "VX", "spoken": "văn xã"}, headers=editor)
    cited = client.post("/api/speech/preview", json={"text": "Công văn số 123/UBND-VX"}, headers=viewer).json()
    assert cited == {"spoken": "Công văn số một trăm hai mươi ba của ủy ban nhân dân văn xã", "flags": []}


def test_lexicon_input_is_checked(client: TestClient, stack: Stack) -> None:
    editor = stack.headers("editor")
    assert client.post("/api/lexicon", json={"term": "ABC", "spoken": "   "}, headers=editor).status_code == 422
    assert client.post("/api/lexicon", json={"term": "", "spoken": "a bê xê"}, headers=editor).status_code == 422
    assert (
        client.post("/api/lexicon", json={"term": "ABC", "spoken": "a bê xê"}, headers=stack.headers("scheduler")).status_code
        == 403
    )
    assert client.get("/api/lexicon").status_code == 401


def test_speech_preview_reads_legal_text_and_flags_the_rest(client: TestClient, stack: Stack) -> None:
    text = "Theo khoản 2 Điều 7 Nghị định số 15/2020/NĐ-CP, Ban QLDA phải báo cáo trước 17 giờ 00 ngày 01/7."
    result = client.post("/api/speech/preview", json={"text": text}, headers=stack.headers("editor")).json()
    assert result["spoken"] == (
        "Theo khoản hai Điều bảy Nghị định số mười lăm năm hai nghìn không trăm hai mươi của chính phủ, "
        "Ban QLDA phải báo cáo trước mười bảy giờ ngày một tháng bảy."
    )
    (flag,) = result["flags"]
    assert (flag["token"], text[flag["start"] : flag["end"]]) == ("QLDA", "QLDA")
    too_long = client.post("/api/speech/preview", json={"text": "a" * 20_001}, headers=stack.headers("editor"))
    assert too_long.status_code == 422
