"""Input never hurts the service: size limits after extraction, zip bombs, provision cap, the global body limit,
clean titles, NUL, file names, foreign provisions, and a real server that stays responsive during a 5 MB upload."""

from __future__ import annotations

import io
import json
import os
import random
import time
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

import anyio
import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Scope

from bench.bench_upload import GOAL_P99_MS, free_port, measure, start_server, stop_server, synthetic_law
from tests.broadcast.conftest import area, station
from tests.conftest import Stack

W_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
W_TAIL = b"</w:body></w:document>"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BIDI_AND_CONTROLS = "\u202e\u2066\u200f\x07\x1b\x85\x9b"


def paragraph(text: str) -> bytes:
    """One Word paragraph of plain text."""
    return f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'.encode()


def docx_package(body: Iterable[bytes], *, extra_members: int = 0) -> bytes:
    """A real Word package (python-docx's template) whose document.xml body is streamed from `body`."""
    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    out = io.BytesIO()
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "word/document.xml":
                with dst.open("word/document.xml", "w") as sink:
                    sink.write(W_HEAD)
                    for chunk in body:
                        sink.write(chunk)
                    sink.write(W_TAIL)
            else:
                dst.writestr(info, src.read(info))
        for n in range(extra_members):
            dst.writestr(f"customXml/extra{n}.xml", b"<a/>")
    return out.getvalue()


def lie_about_size(data: bytes, name: str, declared: int) -> bytes:
    """The package with `name`'s uncompressed size set to `declared` in its local header and central directory."""
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    patched[info.header_offset + 22 : info.header_offset + 26] = declared.to_bytes(4, "little")
    end = data.rfind(b"PK\x05\x06")
    at = int.from_bytes(data[end + 16 : end + 20], "little")
    while data[at : at + 4] == b"PK\x01\x02":
        size = 46 + sum(int.from_bytes(data[at + k : at + k + 2], "little") for k in (28, 30, 32))
        if data[at + 46 : at + 46 + int.from_bytes(data[at + 28 : at + 30], "little")] == name.encode():
            patched[at + 24 : at + 28] = declared.to_bytes(4, "little")
        at += size
    return bytes(patched)


def upload(client: TestClient, stack: Stack, filename: str, data: bytes, content_type: str = DOCX_TYPE, **form: str):
    """POST /api/documents with one file (and form fields)."""
    return client.post(
        "/api/documents", files={"file": (filename, data, content_type)}, data=form or None, headers=stack.headers("editor")
    )


@pytest.fixture
def env_setting() -> Iterator[object]:
    """Set LAWCAST_ settings for one test (the settings cache is cleared before and after)."""
    import settings

    changed: list[str] = []

    def apply(**values: str) -> None:
        for key, value in values.items():
            name = f"LAWCAST_{key.upper()}"
            changed.append(name)
            os.environ[name] = value
        settings.get_settings.cache_clear()

    yield apply
    for name in changed:
        os.environ.pop(name, None)
    settings.get_settings.cache_clear()


# --- text size after extraction, zip bombs, provision cap ------------------------------------------


def test_docx_text_is_limited_after_extraction(client: TestClient, stack: Stack, env_setting) -> None:
    # The case seen live, under the default limits: a 61 KB .docx that stored 10 MB of text (one passage
    # repeated) unpacks a hundred times over and is refused before python-docx opens it.
    repeated = paragraph("Điều 1. Cơ quan, tổ chức, cá nhân thực hiện phổ biến pháp luật qua loa truyền thanh. " * 4)
    small = docx_package([repeated] * (10_000_000 // len(repeated)))
    assert len(small) < 200_000
    refused = upload(client, stack, "nho.docx", small)
    assert refused.status_code == 413 and "zip bomb" in refused.json()["detail"], refused.json()
    # Prose compresses some five times: a file well under the upload limit whose text is over the text limit.
    env_setting(max_text_bytes="400000")
    rng = random.Random(12)
    syllables = (
        "luật",
        "điều",
        "khoản",
        "quy",
        "định",
        "cơ",
        "quan",
        "tổ",
        "chức",
        "cá",
        "nhân",
        "thực",
        "hiện",
        "phổ",
        "biến",
        "giáo",
        "dục",
        "pháp",
        "xã",
        "tỉnh",
        "huyện",
        "trách",
        "nhiệm",
        "bảo",
        "đảm",
        "công",
        "khai",
        "minh",
        "bạch",
        "loa",
        "truyền",
        "thanh",
        "sở",
        "người",
        "dân",
        "nội",
        "dung",
        "hằng",
    )
    lines = [paragraph(" ".join(rng.choice(syllables) for _ in range(40)) + ".") for _ in range(3000)]
    data = docx_package(lines)
    assert len(data) < 400_000
    response = upload(client, stack, "dai.docx", data)
    assert response.status_code == 413, response.json()
    detail = response.json()["detail"]
    assert "Văn bản quá dài" in detail and "LAWCAST_MAX_TEXT_BYTES" in detail and "400,000" in detail
    # The same limit holds for pasted text, as JSON or as a form's field.
    long_text = "Điều 1. Phạm vi\n" + "ả" * 200_000
    for pasted in (
        client.post("/api/documents", json={"text": long_text}, headers=stack.headers("editor")),
        client.post("/api/documents", files={"text": (None, long_text)}, headers=stack.headers("editor")),
    ):
        assert pasted.status_code == 413 and "LAWCAST_MAX_TEXT_BYTES" in pasted.json()["detail"], pasted.json()


def _zero_xml(total: int) -> Iterator[bytes]:
    chunk = paragraph("0" * 1000) * 1000
    for _ in range(total // len(chunk)):
        yield chunk


BOMBS = {
    # 200 MB of XML in a few hundred KB: over the unpacked limit and the compression ratio.
    "unpacks-huge": (lambda: docx_package(_zero_xml(200_000_000)), 413, ("bom nén", "zip bomb", "unpacks to")),
    "too-many-members": (
        lambda: docx_package([paragraph("Điều 1. Phạm vi")], extra_members=5000),
        413,
        ("5,", "tệp thành phần", "members, limit 1,000"),
    ),
    # Declares 4 KB, holds 200 MB: read in bounded chunks it ends at the declared size and fails its CRC.
    "lies-about-size": (
        lambda: lie_about_size(docx_package(_zero_xml(200_000_000)), "word/document.xml", 4000),
        422,
        (".docx hỏng", "damaged .docx"),
    ),
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_zip_bomb_is_refused_with_its_message_in_bounded_memory(client: TestClient, stack: Stack, kind: str) -> None:
    make, status, words = BOMBS[kind]
    data = make()
    assert len(data) < 1_000_000
    tracemalloc.start()
    try:
        response = upload(client, stack, f"bom-{kind}.docx", data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == status, response.json()
    detail = response.json()["detail"]
    assert all(word in detail for word in words), detail
    assert "(" in detail and ")" in detail  # Vietnamese, with the English gloss in parentheses
    assert peak < 50_000_000, f"peak {peak:,} bytes while refusing a {len(data):,}-byte bomb"


def test_provisions_are_capped(client: TestClient, stack: Stack, env_setting) -> None:
    env_setting(max_provisions="50")

    def law(articles: int) -> str:  # each article has two clauses: three provisions
        return "\n".join(
            f"Điều {n}. Nội dung {n}\n1. Khoản một của điều {n}.\n2. Khoản hai của điều {n}." for n in range(1, articles + 1)
        )

    accepted = client.post("/api/documents", json={"text": law(16)}, headers=stack.headers("editor"))
    assert accepted.status_code == 201, accepted.json()
    assert len(accepted.json()["provisions"]) == 16
    refused = client.post("/api/documents", json={"text": law(17)}, headers=stack.headers("editor"))
    assert refused.status_code == 413
    assert "LAWCAST_MAX_PROVISIONS" in refused.json()["detail"] and "50" in refused.json()["detail"]


HOSTILE_TEXTS = {
    # Each took the old parser 13 to over 60 seconds of CPU (quadratic), holding a worker thread and the GIL.
    "19,000 identical headings": lambda: "Điều 1. Phạm vi\n" + "Chương I\n" * 19_000,
    "20,000 quotations that never close": lambda: "Điều 1. Phạm vi\n" + "1. như sau: “Điều 26a. mở\n" * 20_000,
    "40,000 clause-like lines": lambda: "Điều 1. Phạm vi\n" + "".join(f"{k % 999 + 1}. khoản\n" for k in range(40_000)),
}


@pytest.mark.parametrize("name", list(HOSTILE_TEXTS))
def test_hostile_structure_parses_in_linear_time(name: str) -> None:
    from studio.engine.text import legal

    text = HOSTILE_TEXTS[name]()
    started = time.perf_counter()
    parsed = legal.parse_document(text, max_provisions=20_000)
    elapsed = time.perf_counter() - started
    keys = [p.key for p in parsed.walk()]
    assert len(keys) == len(set(keys)) and len(keys) >= 2
    assert elapsed < 5.0, f"{name}: {elapsed:.1f} s for {len(text.encode()):,} bytes"


# --- the global body limit ---------------------------------------------------------------------------


def test_body_over_the_global_limit_is_413(client: TestClient, stack: Stack, env_setting) -> None:
    env_setting(max_body_bytes="10000")
    big = {"term": "UBND", "spoken": "ủy ban nhân dân", "note": "x" * 20_000}
    response = client.post("/api/lexicon", json=big, headers=stack.headers("editor"))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert "LAWCAST_MAX_BODY_BYTES" in detail and "10,000" in detail and "quá lớn" in detail
    # Under the limit the same route answers normally (the note's own length limit is 2000).
    small = client.post("/api/lexicon", json={**big, "note": "x" * 3000}, headers=stack.headers("editor"))
    assert small.status_code == 422 and "note" in small.json()["detail"]


def test_chunked_body_is_cut_off_at_the_global_limit(stack: Stack, env_setting) -> None:
    """A body without Content-Length streams in 1 KB messages; reading stops at the first one past the limit."""
    from app import create_app

    env_setting(max_body_bytes="10000")
    app = create_app()
    consumed = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal consumed
        consumed += 1
        if consumed > 100:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b" " * 1000, "more_body": consumed < 100}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/lexicon",
        "raw_path": b"/api/lexicon",
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", f"Bearer {stack.tokens['editor']}".encode()),
        ],
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert consumed == 11  # 11,000 bytes: one message past the limit, never the rest
    assert "LAWCAST_MAX_BODY_BYTES" in json.loads(sent[1]["body"])["detail"]


# --- titles, names, NUL, file names -----------------------------------------------------------------


def test_controls_and_bidi_overrides_are_removed_from_titles_and_names(client: TestClient, stack: Stack) -> None:
    editor = stack.headers("editor")
    dirty = f"Luật{BIDI_AND_CONTROLS} thử\r\n#EXTINF:0,giả mạo\tnghiệm "
    clean = "Luật thử #EXTINF:0,giả mạo nghiệm"
    pasted = client.post("/api/documents", json={"text": "Điều 1. Phạm vi\nNội dung.", "title": dirty}, headers=editor)
    assert pasted.status_code == 201, pasted.json()
    assert pasted.json()["title"] == clean
    form = upload(client, stack, "luat.txt", "Điều 1. Phạm vi\nNội dung.".encode(), "text/plain", title=dirty)
    assert form.status_code == 201 and form.json()["title"] == clean
    made = client.post(
        "/api/productions", json={"document_id": pasted.json()["id"], "format": "radio", "title": dirty}, headers=editor
    )
    assert made.status_code == 201, made.json()
    assert made.json()["title"] == clean
    term = client.post(
        "/api/lexicon", json={"term": f"TTTT{BIDI_AND_CONTROLS}", "spoken": "thông tin\u202e truyền thông"}, headers=editor
    )
    assert term.status_code == 201, term.json()
    assert (term.json()["term"], term.json()["spoken"]) == ("TTTT", "thông tin truyền thông")
    # A name of controls only is not a name.
    blank = client.post("/api/lexicon", json={"term": "\u202e\u202c", "spoken": "x"}, headers=editor)
    assert blank.status_code == 422


def test_nul_is_refused_in_every_text(client: TestClient, stack: Stack, sample_law_text: str) -> None:
    editor = stack.headers("editor")
    doc = client.post("/api/documents", json={"text": sample_law_text}, headers=editor).json()
    production = client.post("/api/productions", json={"document_id": doc["id"], "format": "radio"}, headers=editor).json()
    attempts = {
        "pasted text": client.post("/api/documents", json={"text": "Điều 1. Phạm\x00 vi"}, headers=editor),
        "form text": client.post("/api/documents", data={"text": "Điều 1. Phạm\x00 vi"}, headers=editor),
        "file text": upload(client, stack, "utf16.txt", "Điều 1. Phạm\x00 vi".encode("utf-16"), "text/plain"),
        "title": client.post("/api/documents", json={"text": "Điều 1. Phạm vi", "title": "Luật\x00"}, headers=editor),
        "form title": upload(client, stack, "a.txt", "Điều 1. Phạm vi".encode(), "text/plain", title="Luật\x00"),
        "script line": client.put(
            f"/api/productions/{production['id']}/script",
            json={"lines": [{"speaker": "presenter", "text": "Xin\x00 chào"}]},
            headers=editor,
        ),
        "speaker": client.put(
            f"/api/productions/{production['id']}/script",
            json={"lines": [{"speaker": "pre\x00senter", "text": "Xin chào"}]},
            headers=editor,
        ),
        "lexicon note": client.post("/api/lexicon", json={"term": "HĐND", "spoken": "hội đồng", "note": "a\x00"}, headers=editor),
        "comment": client.post(
            f"/api/productions/{production['id']}/transitions", json={"action": "submit", "comment": "ok\x00"}, headers=editor
        ),
        "speech preview": client.post("/api/speech/preview", json={"text": "Điều\x00 1"}, headers=editor),
    }
    for what, response in attempts.items():
        assert response.status_code == 422, (what, response.status_code, response.json())
        assert "NUL" in json.dumps(response.json(), ensure_ascii=False), (what, response.json())
    assert client.get(f"/api/productions/{production['id']}", headers=editor).json()["current_version"] == 1


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\Windows\\win.txt", "win.txt"),
        ("/var/lib/\u202eluat.txt", "luat.txt"),
    ],
)
def test_uploaded_file_name_is_reduced_to_its_base_name(client: TestClient, stack: Stack, sent: str, stored: str) -> None:
    response = upload(client, stack, sent, "Điều 1. Phạm vi\nNội dung.".encode(), "text/plain")
    assert response.status_code == 201, response.json()
    assert response.json()["source_filename"] == stored
    again = client.get(f"/api/documents/{response.json()['id']}", headers=stack.headers("editor"))
    assert again.json()["source_filename"] == stored


# --- script lines cite their own document ------------------------------------------------------------


def test_script_line_citing_another_documents_provision_is_refused(
    client: TestClient, stack: Stack, sample_law_text: str
) -> None:
    editor = stack.headers("editor")
    own = client.post("/api/documents", json={"text": sample_law_text}, headers=editor).json()
    other = client.post("/api/documents", json={"text": "Điều 1. Phạm vi\nNội dung khác."}, headers=editor).json()
    production = client.post("/api/productions", json={"document_id": own["id"], "format": "radio"}, headers=editor).json()
    foreign_id, own_id = other["provisions"][0]["id"], own["provisions"][0]["id"]

    def save(provision_id: int):
        lines = [{"speaker": "presenter", "text": "Theo quy định.", "provision_id": provision_id}]
        return client.put(f"/api/productions/{production['id']}/script", json={"lines": lines}, headers=editor)

    refused = save(foreign_id)
    assert refused.status_code == 422
    assert str(foreign_id) in refused.json()["detail"] and "không thuộc" in refused.json()["detail"]
    assert save(own_id).status_code == 200
    assert client.get(f"/api/productions/{production['id']}/script", headers=editor).json()["lines"][0]["provision_id"] == own_id


# --- the service stays responsive while a large law is ingested ------------------------------------


def test_health_and_station_polls_stay_fast_while_a_5_mb_law_is_ingested(client: TestClient, stack: Stack) -> None:
    where = area(client, stack)
    made = station(client, stack, int(where["id"]))
    port = free_port()
    server = start_server({**os.environ, "LAWCAST_STATION_REVALIDATE_S": "0"}, port)
    try:
        figures = measure(port, stack.tokens["editor"], int(made["id"]), str(made["token"]), synthetic_law(), baseline_s=1.0)
    finally:
        stop_server(server)
    print(json.dumps(figures, ensure_ascii=False))
    assert figures["upload_status"] == 201, figures
    assert figures["law_bytes"] > 4_900_000 and figures["provisions"] > 10_000
    assert figures["poll_statuses"] == [200]
    during = figures["during_upload"]
    assert during["healthz"]["polls"] >= 20 and during["schedule"]["polls"] >= 20, during
    assert during["healthz"]["p99_ms"] < GOAL_P99_MS, during
    assert during["schedule"]["p99_ms"] < GOAL_P99_MS, during
