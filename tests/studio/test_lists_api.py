"""Studio lists over the API: pages and totals, sort, filters, accent-folded search, jobs, and script diffs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.helpers import Json, wait_for_job

_serial = itertools.count(1)


def marker() -> str:
    """A word no other test uses (letters only, so it survives folding unchanged)."""
    stamp = int(datetime.now(UTC).timestamp() * 1000)
    return "kx" + "".join("abcdefghij"[int(d)] for d in f"{stamp}{next(_serial)}")


def law(title: str, articles: list[str], number: str = "12/2026/QH15") -> str:
    """A small legal text with a header, a title and one line per article."""
    body = "\n\n".join(f"Điều {i}. Quy định {i}\n{text}" for i, text in enumerate(articles, start=1))
    return (
        "QUỐC HỘI\n--------\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n---------------\n"
        f"Luật số: {number}\n\nLUẬT\n{title.upper()}\n\n{body}\n"
    )


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[TestClient]:
    """One API client for the module."""
    from app import create_app

    with TestClient(create_app()) as client:
        yield client


def add_document(api: TestClient, stack: Stack, title: str, articles: list[str]) -> Json:
    response = api.post("/api/documents", json={"text": law(title, articles), "title": title}, headers=stack.headers("editor"))
    assert response.status_code == 201, response.json()
    return response.json()


def add_production(api: TestClient, stack: Stack, document_id: int, title: str, fmt: str = "radio", **extra: object) -> Json:
    body = {"document_id": document_id, "format": fmt, "title": title, **extra}
    response = api.post("/api/productions", json=body, headers=stack.headers("editor"))
    assert response.status_code == 201, response.json()
    return response.json()


def listing(api: TestClient, stack: Stack, path: str, role: str = "producer", **params: object) -> Json:
    response = api.get(path, params=params, headers=stack.headers(role))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"items", "total", "page", "per_page"}
    return body


def ids(body: Json) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_search_folds_accents_and_d(api: TestClient, stack: Stack) -> None:
    word = marker()
    spread = add_document(api, stack, f"Luật Phổ biến, giáo dục pháp luật {word}", ["Công dân có quyền được thông tin."])
    land = add_document(api, stack, f"Luật Đất đai {word}", ["Đất đai thuộc sở hữu toàn dân.", "Nhà nước giao đất."])
    fifth = add_document(api, stack, f"Luật Hoà giải {word}", ["Một.", "Hai.", "Ba.", "Bốn.", "Hòa giải viên được bồi dưỡng."])

    assert ids(listing(api, stack, "/api/documents", q=f"pho bien {word}")) == [spread["id"]]
    assert ids(listing(api, stack, "/api/documents", q=f"PHỔ BIẾN {word}")) == [spread["id"]]
    assert ids(listing(api, stack, "/api/documents", q=f"dat dai {word}")) == [land["id"]]  # Đ folds to d
    # Provision text is searched too, and a number is a word: only one law has an article 5.
    assert ids(listing(api, stack, "/api/documents", q=f"dieu 5 {word}")) == [fifth["id"]]
    assert ids(listing(api, stack, "/api/documents", q=f"hoa giai vien {word}")) == [fifth["id"]]
    # The number of the law is searchable, and punctuation in a query is ignored.
    assert set(ids(listing(api, stack, "/api/documents", q=f"12/2026/QH15 {word}"))) == {spread["id"], land["id"], fifth["id"]}
    assert listing(api, stack, "/api/documents", q=f"khongcotu {word}")["total"] == 0
    summary = listing(api, stack, "/api/documents", q=f"dat dai {word}")["items"][0]
    assert summary["title"] == f"Luật Đất đai {word}" and summary["number"] == "12/2026/QH15" and "provisions" not in summary


def test_document_pages_totals_and_sort(api: TestClient, stack: Stack) -> None:
    word = marker()
    made = [add_document(api, stack, f"Nghị quyết {name} {word}", ["Nội dung."])["id"] for name in ("Bê", "An", "Cê")]
    first = listing(api, stack, "/api/documents", q=word, per_page=2)
    assert (first["total"], first["page"], first["per_page"], ids(first)) == (3, 1, 2, made[::-1][:2])  # newest first
    second = listing(api, stack, "/api/documents", q=word, per_page=2, page=2)
    assert (second["total"], ids(second)) == (3, [made[0]])
    assert ids(listing(api, stack, "/api/documents", q=word, page=3, per_page=2)) == []
    assert ids(listing(api, stack, "/api/documents", q=word, sort="title")) == [made[1], made[0], made[2]]
    assert ids(listing(api, stack, "/api/documents", q=word, sort="-title")) == [made[2], made[0], made[1]]
    assert ids(listing(api, stack, "/api/documents", q=word, sort="id")) == made
    assert listing(api, stack, "/api/documents", q=word)["per_page"] == 50


@pytest.mark.parametrize(
    "query, needle",
    [
        ({"per_page": 201}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"page": 0}, "page"),
        ({"sort": "text"}, "title"),  # the message lists the valid keys
        ({"sort": "--id"}, "created_at"),
        ({"created_from": "2026-01-01T00:00:00"}, "created_from"),  # no timezone
        ({"status": "abolished"}, "status"),
    ],
)
def test_bad_list_parameters_are_422(api: TestClient, stack: Stack, query: dict[str, object], needle: str) -> None:
    response = api.get("/api/documents", params=query, headers=stack.headers("editor"))
    assert response.status_code == 422, response.json()
    assert needle in str(response.json())


def test_per_page_cap_is_200(api: TestClient, stack: Stack) -> None:
    assert listing(api, stack, "/api/productions", per_page=200)["per_page"] == 200
    assert api.get("/api/productions?per_page=201", headers=stack.headers("editor")).status_code == 422
    assert api.get("/api/jobs?per_page=201", headers=stack.headers("editor")).status_code == 422
    assert api.get("/api/documents").status_code == 401


def test_document_status_and_created_window(api: TestClient, stack: Stack) -> None:
    word = marker()
    before = datetime.now(UTC) - timedelta(seconds=1)
    doc = add_document(api, stack, f"Luật Trẻ em {word}", ["Trẻ em có quyền."])
    assert ids(listing(api, stack, "/api/documents", q=word, status="in_force")) == [doc["id"]]
    assert ids(listing(api, stack, "/api/documents", q=word, status=["repealed", "draft"])) == []
    window = {"created_from": before.isoformat(), "created_to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    assert ids(listing(api, stack, "/api/documents", q=word, **window)) == [doc["id"]]
    assert (
        ids(listing(api, stack, "/api/documents", q=word, created_from=(datetime.now(UTC) + timedelta(hours=1)).isoformat()))
        == []
    )
    assert ids(listing(api, stack, "/api/documents", q=word, created_to=before.isoformat())) == []
    # Another zone is the same instant: seven hours ahead written as +07:00.
    local = (before + timedelta(hours=7)).replace(tzinfo=None).isoformat() + "+07:00"
    assert ids(listing(api, stack, "/api/documents", q=word, created_from=local)) == [doc["id"]]


def test_production_filters_and_search(api: TestClient, stack: Stack) -> None:
    word = marker()
    doc = add_document(api, stack, f"Luật Giao thông {word}", ["Người đi bộ phải đi trên hè phố."])
    other = add_document(api, stack, f"Luật Cư trú {word}", ["Công dân đăng ký thường trú."])
    radio = add_production(api, stack, doc["id"], f"Bản tin Đặc biệt giao thông {word}", "radio", channel="phap-luat-test")
    video = add_production(api, stack, doc["id"], f"Tiểu phẩm an toàn {word}", "video")
    third = add_production(api, stack, other["id"], f"Bản tin cư trú {word}", "radio")

    assert set(ids(listing(api, stack, "/api/productions", q=word))) == {radio["id"], video["id"], third["id"]}
    assert ids(listing(api, stack, "/api/productions", q=f"ban tin dac biet {word}")) == [radio["id"]]  # Đ folds to d
    assert ids(listing(api, stack, "/api/productions", q=word, format="video")) == [video["id"]]
    assert ids(listing(api, stack, "/api/productions", document_id=other["id"])) == [third["id"]]
    assert ids(listing(api, stack, "/api/productions", q=word, channel="phap-luat-test")) == [radio["id"]]
    assert listing(api, stack, "/api/productions", q=word, status="draft")["total"] == 3
    assert listing(api, stack, "/api/productions", q=word, status=["approved", "published"])["total"] == 0
    assert listing(api, stack, "/api/productions", q=word, language="vi")["total"] == 3
    assert listing(api, stack, "/api/productions", q=word, language="vi-VN")["total"] == 3
    assert listing(api, stack, "/api/productions", q=word, language="en")["total"] == 0  # no language versions yet
    assert api.get("/api/productions", params={"language": "??"}, headers=stack.headers("editor")).status_code == 422
    # "Bản tin cư trú" < "Bản tin Đặc biệt" (c before Đ) < "Tiểu phẩm".
    assert ids(listing(api, stack, "/api/productions", q=word, sort="title")) == [third["id"], radio["id"], video["id"]]
    item = listing(api, stack, "/api/productions", q=word, format="radio", channel="phap-luat-test")["items"][0]
    assert (item["document_id"], item["format"], item["status"], item["channel"], item["language"], item["approved_version"]) == (
        doc["id"],
        "radio",
        "draft",
        "phap-luat-test",
        "vi",
        None,
    )
    assert "script" not in item


def test_job_list_filters(api: TestClient, stack: Stack) -> None:
    word = marker()
    doc = add_document(api, stack, f"Luật Bình đẳng giới {word}", ["Nam nữ bình đẳng."])
    production = add_production(api, stack, doc["id"], f"Bản tin loa {word}", "loudspeaker")
    script = {"lines": [{"speaker": "presenter", "text": "Bản tin ngắn.", "pause_ms": 100}]}
    assert api.put(f"/api/productions/{production['id']}/script", json=script, headers=stack.headers("editor")).status_code == 200
    accepted = api.post(
        f"/api/productions/{production['id']}/renders", json={"profiles": ["loudspeaker"]}, headers=stack.headers("producer")
    )
    assert accepted.status_code == 202, accepted.json()
    job_id = accepted.json()["job"]["id"]
    assert wait_for_job(api, stack.headers("producer"), job_id)["status"] == "succeeded"

    mine = listing(api, stack, "/api/jobs", production_id=production["id"])
    assert (mine["total"], ids(mine)) == (1, [job_id])
    row = mine["items"][0]
    assert (row["profile"], row["status"], row["script_version"], row["progress"]) == ("loudspeaker", "succeeded", 2, 1.0)
    assert ids(listing(api, stack, "/api/jobs", production_id=production["id"], status="succeeded")) == [job_id]
    assert listing(api, stack, "/api/jobs", production_id=production["id"], status=["failed", "queued"])["total"] == 0
    assert ids(listing(api, stack, "/api/jobs", production_id=production["id"], profile="loudspeaker")) == [job_id]
    assert listing(api, stack, "/api/jobs", production_id=production["id"], profile="radio")["total"] == 0
    newest = listing(api, stack, "/api/jobs", per_page=1, sort="-id")
    assert newest["total"] >= 1 and ids(newest)[0] >= job_id


def test_script_diff(api: TestClient, stack: Stack) -> None:
    word = marker()
    doc = add_document(api, stack, f"Luật Phòng cháy {word}", ["Phòng cháy là trách nhiệm của toàn dân."])
    production = add_production(api, stack, doc["id"], f"Bản tin phòng cháy {word}")
    pid = production["id"]
    v1 = [{"speaker": "presenter", "text": t} for t in ("Mở đầu.", "Câu bị xoá.", "Câu giữ nguyên.", "Câu cũ.")]
    v2 = [
        {"speaker": "presenter", "text": "Mở đầu."},
        {"speaker": "presenter", "text": "Câu giữ nguyên."},
        {"speaker": "guest", "text": "Câu mới."},
        {"speaker": "presenter", "text": "Câu chèn thêm."},
    ]
    for lines in (v1, v2):
        assert (
            api.put(f"/api/productions/{pid}/script", json={"lines": lines}, headers=stack.headers("editor")).status_code == 200
        )
    response = api.get(f"/api/productions/{pid}/diff", params={"from": 2, "to": 3}, headers=stack.headers("legal_reviewer"))
    assert response.status_code == 200, response.json()
    diff = response.json()
    assert (diff["production_id"], diff["from_version"], diff["to_version"]) == (pid, 2, 3)
    got = [
        (line["op"], line["old_index"], line["new_index"], (line["old"] or {}).get("text"), (line["new"] or {}).get("text"))
        for line in diff["lines"]
    ]
    assert got == [
        ("equal", 0, 0, "Mở đầu.", "Mở đầu."),
        ("delete", 1, None, "Câu bị xoá.", None),
        ("equal", 2, 1, "Câu giữ nguyên.", "Câu giữ nguyên."),
        ("replace", 3, 2, "Câu cũ.", "Câu mới."),
        ("insert", None, 3, None, "Câu chèn thêm."),
    ]
    assert diff["lines"][3]["old"]["speaker"] == "presenter" and diff["lines"][3]["new"]["speaker"] == "guest"
    assert diff["counts"] == {"equal": 2, "insert": 1, "delete": 1, "replace": 1}
    same = api.get(f"/api/productions/{pid}/diff?from=3&to=3", headers=stack.headers("editor")).json()
    assert {line["op"] for line in same["lines"]} == {"equal"} and len(same["lines"]) == 4

    assert api.get(f"/api/productions/{pid}/diff?from=1&to=9", headers=stack.headers("editor")).status_code == 404
    assert api.get("/api/productions/999999999/diff?from=1&to=2", headers=stack.headers("editor")).status_code == 404
    assert api.get(f"/api/productions/{pid}/diff?to=2", headers=stack.headers("editor")).status_code == 422
    assert api.get(f"/api/productions/{pid}/diff?from=1", headers=stack.headers("editor")).status_code == 422
    assert api.get(f"/api/productions/{pid}/diff?from=0&to=2", headers=stack.headers("editor")).status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/documents?q=a%00b",
        "/api/productions?channel=a%00b",
        "/api/jobs?profile=%00",
        "/api/stations?q=%00",
        "/api/channels?q=x%00",
    ],
)
def test_nul_in_query_text_is_422(api: TestClient, stack: Stack, path: str) -> None:
    response = api.get(path, headers=stack.headers("editor"))
    assert response.status_code == 422, response.json()
    assert "NUL" in str(response.json())
