"""Scripts and the co-production workflow over the API: roles, four eyes, audit, versions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.helpers import Json, wait_for_job


@pytest.fixture
def production(client: TestClient, stack: Stack, sample_law_text: str) -> Json:
    doc = client.post("/api/documents", json={"text": sample_law_text}, headers=stack.headers("editor")).json()
    body = {"document_id": doc["id"], "format": "radio"}
    return client.post("/api/productions", json=body, headers=stack.headers("editor")).json()


SHORT = [{"speaker": "presenter", "text": "Luật Phổ biến, giáo dục pháp luật có hiệu lực từ ngày 1 tháng 1 năm 2013."}]


def _short(client: TestClient, stack: Stack, production_id: int, text: str | None = None) -> None:
    """Replace the script with one short line, so renders in these tests take a moment."""
    lines = [{"speaker": "presenter", "text": text}] if text else SHORT
    saved = client.put(f"/api/productions/{production_id}/script", json={"lines": lines}, headers=stack.headers("editor"))
    assert saved.status_code == 200, saved.json()


def _render(client: TestClient, stack: Stack, production_id: int) -> list[Json]:
    """Render the current version's default profiles through the worker; the outputs."""
    producer = stack.headers("producer")
    accepted = client.post(f"/api/productions/{production_id}/renders", headers=producer)
    assert accepted.status_code == 202, accepted.json()
    outputs = []
    for job in accepted.json()["jobs"]:
        done = wait_for_job(client, producer, job["id"])
        assert done["status"] == "succeeded", done
        outputs += done["outputs"]
    return outputs


def _act(client: TestClient, stack: Stack, production_id: int, action: str, role: str, comment: str | None = None):
    return client.post(
        f"/api/productions/{production_id}/transitions", json={"action": action, "comment": comment}, headers=stack.headers(role)
    )


def test_full_workflow_records_every_transition(client: TestClient, stack: Stack, production: Json) -> None:
    pid = production["id"]
    _short(client, stack, pid)
    _render(client, stack, pid)
    steps = [("submit", "editor"), ("approve_legal", "legal_reviewer"), ("approve", "producer"), ("publish", "producer")]
    for action, role in steps:
        response = _act(client, stack, pid, action, role, comment=f"{action} ok")
        assert response.status_code == 200, response.json()
    final = client.get(f"/api/productions/{pid}", headers=stack.headers("editor")).json()
    assert final["status"] == "published"
    assert [(e["action"], e["actor_name"], e["comment"], e["script_version"]) for e in final["audit"]] == [
        (action, f"test-{role}", f"{action} ok", 2) for action, role in steps
    ]
    assert (final["legal_approved_version"], final["approved_version"], final["rendered_version"], final["on_air_version"]) == (
        2,
        2,
        2,
        2,
    )
    assert [e["to_status"] for e in final["audit"]] == ["in_review", "legally_approved", "approved", "published"]


def test_illegal_transition_is_409_naming_the_state(client: TestClient, stack: Stack, production: Json) -> None:
    response = _act(client, stack, production["id"], "approve", "producer")
    assert response.status_code == 409
    assert "'draft'" in response.json()["detail"]


def test_wrong_role_cannot_take_an_action(client: TestClient, stack: Stack, production: Json) -> None:
    assert _act(client, stack, production["id"], "submit", "editor").status_code == 200
    response = _act(client, stack, production["id"], "approve_legal", "producer")
    assert response.status_code == 403
    assert "legal_reviewer" in response.json()["detail"]


def test_four_eyes_author_cannot_approve_own_script(client: TestClient, stack: Stack, sample_law_text: str) -> None:
    admin = stack.headers("admin")
    doc = client.post("/api/documents", json={"text": sample_law_text}, headers=admin).json()
    made = client.post("/api/productions", json={"document_id": doc["id"], "format": "video"}, headers=admin).json()
    assert _act(client, stack, made["id"], "submit", "admin").status_code == 200
    response = _act(client, stack, made["id"], "approve_legal", "admin")
    assert response.status_code == 403
    assert "bốn mắt" in response.json()["detail"]
    assert _act(client, stack, made["id"], "approve_legal", "legal_reviewer").status_code == 200


def test_changes_requested_loop_and_script_versions(client: TestClient, stack: Stack, production: Json) -> None:
    pid = production["id"]
    editor = stack.headers("editor")
    assert _act(client, stack, pid, "submit", "editor").status_code == 200
    assert _act(client, stack, pid, "request_changes", "legal_reviewer", "Sửa Điều 2").status_code == 200
    new_lines = [{"speaker": "presenter", "text": "Theo khoản 2 Điều 7 Nghị định số 15/2020/NĐ-CP, UBND xã phải báo cáo."}]
    saved = client.put(f"/api/productions/{pid}/script", json={"lines": new_lines}, headers=editor)
    assert saved.status_code == 200
    assert saved.json()["current_version"] == 2
    old = client.get(f"/api/productions/{pid}/script?version=1", headers=editor).json()
    assert old["version"] == 1 and old["lines"] == production["script"]
    current = client.get(f"/api/productions/{pid}/script", headers=editor).json()
    spoken = current["spoken"][0]["spoken"]
    assert "ủy ban nhân dân" in spoken.lower() and "15/2020" not in spoken
    assert _act(client, stack, pid, "submit", "editor").status_code == 200
    audit = client.get(f"/api/productions/{pid}", headers=editor).json()["audit"]
    assert [e["script_version"] for e in audit] == [1, 1, 2]


def test_bad_requests_name_the_problem(client: TestClient, stack: Stack, production: Json) -> None:
    editor = stack.headers("editor")
    missing = client.post("/api/productions", json={"document_id": 999999, "format": "radio"}, headers=editor)
    assert missing.status_code == 404
    wrong_format = client.post(
        "/api/productions", json={"document_id": production["document_id"], "format": "tv"}, headers=editor
    )
    assert wrong_format.status_code == 422 and "format" in wrong_format.json()["detail"]
    bad_action = _act(client, stack, production["id"], "launch", "editor")
    assert bad_action.status_code == 422


def test_withdraw_needs_its_role_and_stops_renders(client: TestClient, stack: Stack, production: Json) -> None:
    pid = production["id"]
    _short(client, stack, pid)
    _render(client, stack, pid)
    for action, role in (
        ("submit", "editor"),
        ("approve_legal", "legal_reviewer"),
        ("approve", "producer"),
        ("publish", "producer"),
    ):
        assert _act(client, stack, pid, action, role).status_code == 200
    refused = _act(client, stack, pid, "withdraw", "editor")
    assert refused.status_code == 403 and "producer" in refused.json()["detail"]
    withdrawn = _act(client, stack, pid, "withdraw", "legal_reviewer", "Văn bản sắp được sửa đổi")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    last = withdrawn.json()["audit"][-1]
    assert (last["action"], last["from_status"], last["to_status"], last["actor_name"], last["comment"]) == (
        "withdraw",
        "published",
        "withdrawn",
        "test-legal_reviewer",
        "Văn bản sắp được sửa đổi",
    )
    render = client.post(f"/api/productions/{pid}/renders", headers=stack.headers("producer"))
    assert render.status_code == 409 and "rút" in render.json()["detail"]
    again = _act(client, stack, pid, "publish", "producer")
    assert again.status_code == 409 and "'withdrawn'" in again.json()["detail"]


def test_audit_events_carry_time_in_order(client: TestClient, stack: Stack, production: Json) -> None:
    from datetime import datetime

    pid = production["id"]
    before = datetime.now().astimezone()
    assert _act(client, stack, pid, "submit", "editor").status_code == 200
    assert _act(client, stack, pid, "request_changes", "producer", "Giọng đọc quá nhanh").status_code == 200
    audit = client.get(f"/api/productions/{pid}", headers=stack.headers("editor")).json()["audit"]
    times = [datetime.fromisoformat(e["at"]) for e in audit]
    assert all(t.tzinfo is not None for t in times)
    assert before.timestamp() - 1 <= times[0].timestamp() <= times[1].timestamp() <= datetime.now().timestamp() + 1
    assert [(e["actor_name"], e["comment"]) for e in audit] == [("test-editor", None), ("test-producer", "Giọng đọc quá nhanh")]


def test_spoken_form_and_flags_of_every_line_before_rendering(client: TestClient, stack: Stack, production: Json) -> None:
    pid = production["id"]
    lines = [
        {"speaker": "presenter", "text": "Theo Nghị định số 15/2020/NĐ-CP, UBND xã báo cáo."},
        {"speaker": "expert", "text": "Liên hệ bộ phận XKCDQ để được hướng dẫn."},
    ]
    assert client.put(f"/api/productions/{pid}/script", json={"lines": lines}, headers=stack.headers("editor")).status_code == 200
    script = client.get(f"/api/productions/{pid}/script", headers=stack.headers("editor")).json()
    assert [s["index"] for s in script["spoken"]] == [0, 1]
    first, second = script["spoken"]
    assert "15/2020" not in first["spoken"] and "ủy ban nhân dân" in first["spoken"].lower() and first["flags"] == []
    assert [f["token"] for f in second["flags"]] == ["XKCDQ"] and second["flags"][0]["reason"]
    assert second["text"][second["flags"][0]["start"] : second["flags"][0]["end"]] == "XKCDQ"
    current = client.get(f"/api/productions/{pid}", headers=stack.headers("editor")).json()
    assert current["outputs"] == []  # nothing was rendered
