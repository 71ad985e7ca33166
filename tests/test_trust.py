"""What airs is what was approved: the exact scenario of the Trust issue through the real worker.

An editor renders version 2, the legal reviewer requests changes, the editor writes version 3, which
is approved. Publishing is refused until version 3 is rendered, and no public surface (feed, episode
page, station schedule, media URL) ever shows version 2's audio.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.broadcast.conftest import area, make_slot, station
from tests.conftest import Stack
from tests.helpers import Json, wait_for_job

LAW = "Điều 1. Phạm vi\nLuật này quy định về tiếp cận thông tin.\n\nĐiều 2. Quyền\nCông dân được tiếp cận thông tin."
REJECTED = "Người dân phải nộp phí một triệu đồng để được nghe loa."
KEPT = "Công dân được tiếp cận thông tin miễn phí qua hệ thống loa truyền thanh."


def _act(client: TestClient, stack: Stack, pid: int, action: str, role: str, comment: str | None = None) -> httpx.Response:
    return client.post(
        f"/api/productions/{pid}/transitions", json={"action": action, "comment": comment}, headers=stack.headers(role)
    )


def _write(client: TestClient, stack: Stack, pid: int, *texts: str) -> Json:
    lines = [{"speaker": "presenter", "text": text, "pause_ms": 200} for text in texts]
    saved = client.put(f"/api/productions/{pid}/script", json={"lines": lines}, headers=stack.headers("editor"))
    assert saved.status_code == 200, saved.json()
    return saved.json()


def _render(client: TestClient, stack: Stack, pid: int) -> list[Json]:
    producer = stack.headers("producer")
    accepted = client.post(f"/api/productions/{pid}/renders", headers=producer)
    assert accepted.status_code == 202, accepted.json()
    job = wait_for_job(client, producer, accepted.json()["job"]["id"])
    assert job["status"] == "succeeded", job
    return job["outputs"]


def _audio(outputs: list[Json]) -> Json:
    return next(o for o in outputs if o["kind"] == "audio")


def test_what_airs_is_what_was_approved(client: TestClient, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from settings import get_settings

    monkeypatch.setenv("LAWCAST_STATION_REVALIDATE_S", "0")  # every poll sees the latest fill
    get_settings.cache_clear()
    slug = f"trust-{stack.name}"
    assert (
        client.post(
            "/api/channels", json={"slug": slug, "name": "Loa pháp luật", "kind": "podcast"}, headers=stack.headers("scheduler")
        ).status_code
        == 201
    )
    doc = client.post(
        "/api/documents", json={"text": LAW, "title": "Luật tiếp cận thông tin (thử)"}, headers=stack.headers("editor")
    ).json()
    made = client.post(
        "/api/productions",
        json={"document_id": doc["id"], "format": "loudspeaker", "channel": slug, "title": "Bản tin tiếp cận thông tin"},
        headers=stack.headers("editor"),
    )
    assert made.status_code == 201, made.json()
    pid = made.json()["id"]

    # Version 2, with the sentence the reviewer will reject, is rendered.
    assert _write(client, stack, pid, KEPT, REJECTED)["current_version"] == 2
    v2 = _audio(_render(client, stack, pid))
    assert v2["script_version"] == 2
    assert _act(client, stack, pid, "submit", "editor").status_code == 200
    assert _act(client, stack, pid, "request_changes", "legal_reviewer", "Bỏ câu thu phí: sai luật").status_code == 200

    # Version 3 drops it and is approved by two people, neither of whom wrote it.
    assert _write(client, stack, pid, KEPT)["current_version"] == 3
    assert _act(client, stack, pid, "submit", "editor").status_code == 200
    assert _act(client, stack, pid, "approve_legal", "legal_reviewer").status_code == 200
    approved = _act(client, stack, pid, "approve", "producer")
    assert approved.status_code == 200
    state = approved.json()
    assert (state["legal_approved_version"], state["approved_version"], state["rendered_version"]) == (3, 3, 2)
    assert [o["approved"] for o in state["outputs"] if o["kind"] == "audio"] == [False]

    # Publishing is refused while only version 2 is rendered; nothing changes.
    refused = _act(client, stack, pid, "publish", "producer")
    assert refused.status_code == 409
    assert "loudspeaker" in refused.json()["detail"] and "3" in refused.json()["detail"]
    after = client.get(f"/api/productions/{pid}", headers=stack.headers("editor")).json()
    assert after["status"] == "approved" and after["on_air_version"] is None
    assert [e["action"] for e in after["audit"]][-1] == "approve"

    # Stations may already schedule the approved version: the fill never picks version 2's audio.
    commune = area(client, stack, kind="commune")
    agent = station(client, stack, commune["id"])
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    make_slot(client, stack, "area", commune["id"], start, 1800)
    fill = client.post(
        "/api/schedule/fill",
        json={"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
        headers=stack.headers("scheduler"),
    )
    assert fill.status_code == 200, fill.json()
    schedule = client.get(f"/stations/{agent['id']}/schedule.json", headers={"Authorization": f"Bearer {agent['token']}"})
    assert schedule.status_code == 200
    assert str(v2["media_key"]) not in schedule.text

    v3 = _audio(_render(client, stack, pid))
    assert v3["script_version"] == 3 and v3["media_key"] != v2["media_key"]
    published = _act(client, stack, pid, "publish", "producer")
    assert published.status_code == 200, published.json()
    final = published.json()
    assert (final["approved_version"], final["rendered_version"], final["on_air_version"]) == (3, 3, 3)
    assert final["audit"][-1]["script_version"] == 3

    # Every public surface shows version 3 only.
    fill = client.post(
        "/api/schedule/fill",
        json={"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
        headers=stack.headers("scheduler"),
    )
    assert fill.status_code == 200
    schedule = client.get(f"/stations/{agent['id']}/schedule.json", headers={"Authorization": f"Bearer {agent['token']}"})
    urls = [item["media_url"] for item in schedule.json()["items"]]
    assert any(url.endswith(str(v3["media_key"])) for url in urls), urls
    assert str(v2["media_key"]) not in schedule.text
    feed = client.get(f"/feeds/{slug}.rss")
    assert feed.status_code == 200
    enclosures = [e.get("url") for e in ElementTree.fromstring(feed.content).iter("enclosure")]
    assert enclosures and all(url.endswith(str(v3["media_key"])) for url in enclosures), enclosures
    page = client.get(f"/episodes/{pid}")
    assert page.status_code == 200 and str(v3["media_key"]) in page.text and str(v2["media_key"]) not in page.text
    assert client.get(f"/media/{v3['media_key']}").status_code == 200
    assert client.get(f"/media/{v2['media_key']}").status_code == 401
    assert client.get(f"/media/{v2['media_key']}", headers={"Authorization": f"Bearer {agent['token']}"}).status_code == 403


def test_an_edit_under_review_or_approved_goes_back_to_draft(client: TestClient, stack: Stack) -> None:
    doc = client.post("/api/documents", json={"text": LAW}, headers=stack.headers("editor")).json()
    pid = client.post(
        "/api/productions", json={"document_id": doc["id"], "format": "loudspeaker"}, headers=stack.headers("editor")
    ).json()["id"]
    _write(client, stack, pid, KEPT)
    for action, role in (("submit", "editor"), ("approve_legal", "legal_reviewer"), ("approve", "producer")):
        assert _act(client, stack, pid, action, role).status_code == 200
    edited = _write(client, stack, pid, KEPT, "Thêm một câu sau khi đã duyệt.")
    assert edited["status"] == "draft" and edited["current_version"] == 3
    assert (edited["legal_approved_version"], edited["approved_version"]) == (None, None)
    last = edited["audit"][-1]
    assert (last["action"], last["from_status"], last["to_status"], last["script_version"]) == ("edit", "approved", "draft", 3)
    assert "phiên bản 2 không còn hiệu lực" in last["comment"] and "no longer count" in last["comment"]
    # The old approvals do not carry over: approving for air needs a fresh legal approval of version 3.
    assert _act(client, stack, pid, "submit", "editor").status_code == 200
    assert _act(client, stack, pid, "approve", "producer").status_code == 409


def test_four_eyes_hold_for_every_role(client: TestClient, stack: Stack) -> None:
    admin = stack.headers("admin")
    doc = client.post("/api/documents", json={"text": LAW}, headers=admin).json()
    pid = client.post(
        "/api/productions", json={"document_id": doc["id"], "format": "loudspeaker"}, headers=stack.headers("editor")
    ).json()["id"]
    # The admin edits the script, so the admin may approve neither step of this version.
    assert (
        client.put(
            f"/api/productions/{pid}/script", json={"lines": [{"speaker": "presenter", "text": KEPT}]}, headers=admin
        ).status_code
        == 200
    )
    assert _act(client, stack, pid, "submit", "editor").status_code == 200
    own = _act(client, stack, pid, "approve_legal", "admin")
    assert own.status_code == 403 and "bốn mắt" in own.json()["detail"]
    assert _act(client, stack, pid, "approve_legal", "legal_reviewer").status_code == 200
    assert _act(client, stack, pid, "approve", "admin").status_code == 403

    # Two different people: whoever gave the legal approval may not also approve for air.
    doc2 = client.post("/api/documents", json={"text": LAW}, headers=stack.headers("editor")).json()
    pid2 = client.post(
        "/api/productions", json={"document_id": doc2["id"], "format": "loudspeaker"}, headers=stack.headers("editor")
    ).json()["id"]
    assert _act(client, stack, pid2, "submit", "editor").status_code == 200
    assert _act(client, stack, pid2, "approve_legal", "admin").status_code == 200
    twice = _act(client, stack, pid2, "approve", "admin")
    assert twice.status_code == 403 and "khác người" in twice.json()["detail"]
    assert _act(client, stack, pid2, "approve", "producer").status_code == 200


def test_legal_status_is_for_the_legal_role_and_audited(client: TestClient, stack: Stack) -> None:
    doc = client.post("/api/documents", json={"text": LAW}, headers=stack.headers("editor")).json()
    pids = [
        client.post(
            "/api/productions", json={"document_id": doc["id"], "format": "loudspeaker"}, headers=stack.headers("editor")
        ).json()["id"]
        for _ in range(2)
    ]
    url = f"/api/documents/{doc['id']}/status"
    for role in ("editor", "producer", "scheduler"):
        refused = client.post(url, json={"status": "repealed"}, headers=stack.headers(role))
        assert refused.status_code == 403, (role, refused.json())
    repealed = client.post(
        url, json={"status": "repealed", "comment": "Bị thay thế bởi luật mới"}, headers=stack.headers("legal_reviewer")
    )
    assert repealed.status_code == 200, repealed.json()
    body = repealed.json()
    assert body["status"] == "repealed" and sorted(body["affected"]) == sorted(pids)
    assert body["event"]["actor_name"] == "test-legal_reviewer" and body["event"]["comment"] == "Bị thay thế bởi luật mới"
    undone = client.post(url, json={"status": "in_force", "comment": "Ghi nhầm"}, headers=stack.headers("legal_reviewer")).json()
    assert "KHÔNG được khôi phục" in undone["message"] and "NOT restored" in undone["message"]
    events = client.get(f"/api/documents/{doc['id']}/events", headers=stack.headers("editor")).json()
    assert [(e["from_status"], e["to_status"], e["comment"]) for e in events] == [
        ("in_force", "repealed", "Bị thay thế bởi luật mới"),
        ("repealed", "in_force", "Ghi nhầm"),
    ]
    for pid in pids:
        audit = client.get(f"/api/productions/{pid}", headers=stack.headers("editor")).json()["audit"]
        notes = [e for e in audit if e["action"] == "document_status"]
        assert len(notes) == 2 and "repealed" in notes[0]["comment"] and notes[0]["actor_name"] == "test-legal_reviewer"
    same = client.post(url, json={"status": "in_force"}, headers=stack.headers("legal_reviewer"))
    assert same.status_code == 409
