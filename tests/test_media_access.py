"""Media that is not published is not public: drafts for staff, approved media for stations, withdrawn gone."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.broadcast.conftest import area, station
from tests.conftest import Stack
from tests.helpers import Json, wait_for_job

LAW = "Điều 1. Phạm vi\nLuật này quy định về hòa giải ở cơ sở.\n\nĐiều 2. Hòa giải viên\nHòa giải viên do cộng đồng bầu."


def _rendered_bulletin(client: TestClient, stack: Stack, text: str) -> tuple[int, Json]:
    editor, producer = stack.headers("editor"), stack.headers("producer")
    doc = client.post("/api/documents", json={"text": LAW}, headers=editor).json()
    pid = client.post("/api/productions", json={"document_id": doc["id"], "format": "loudspeaker"}, headers=editor).json()["id"]
    assert (
        client.put(
            f"/api/productions/{pid}/script", json={"lines": [{"speaker": "presenter", "text": text}]}, headers=editor
        ).status_code
        == 200
    )
    job = wait_for_job(client, producer, client.post(f"/api/productions/{pid}/renders", headers=producer).json()["job"]["id"])
    assert job["status"] == "succeeded", job
    return pid, next(o for o in job["outputs"] if o["kind"] == "audio")


def _act(client: TestClient, stack: Stack, pid: int, *steps: tuple[str, str]) -> None:
    for action, role in steps:
        moved = client.post(f"/api/productions/{pid}/transitions", json={"action": action}, headers=stack.headers(role))
        assert moved.status_code == 200, moved.json()


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_a_draft_is_served_to_staff_and_signed_previews_only(client: TestClient, stack: Stack) -> None:
    from assets import access

    _, audio = _rendered_bulletin(client, stack, "Bản nháp chưa được duyệt, chỉ cán bộ được nghe.")
    path = f"/media/{audio['media_key']}"
    anonymous = client.get(path)
    assert anonymous.status_code == 401 and "signed preview" in anonymous.json()["detail"]
    assert client.head(path).status_code == 401
    staff = client.get(path, headers=stack.headers("scheduler"))
    assert staff.status_code == 200 and len(staff.content) == audio["bytes"]
    preview = client.get(_local(str(audio["preview_url"])), headers={"Range": "bytes=0-1"})
    assert preview.status_code == 206 and preview.content == staff.content[:2]
    signed = access.sign(str(audio["media_key"]))
    assert client.get(f"{path}?exp={signed.expires}&sig={'0' * len(signed.sig)}").status_code == 401
    assert client.get(f"{path}?exp={signed.expires + 1}&sig={signed.sig}").status_code == 401
    expired = access.sign(str(audio["media_key"]), ttl_s=-5)
    assert client.get(f"{path}?{expired.query()}").status_code == 401
    other = access.sign("loudspeaker/another/key.mp3")
    assert client.get(f"{path}?exp={other.expires}&sig={other.sig}").status_code == 401


def test_stations_fetch_approved_media_with_their_token(client: TestClient, stack: Stack) -> None:
    pid, audio = _rendered_bulletin(client, stack, "Bản tin đã duyệt phát sóng cho các cụm loa.")
    agent = station(client, stack, area(client, stack)["id"])
    as_station = {"Authorization": f"Bearer {agent['token']}"}
    path = f"/media/{audio['media_key']}"
    assert client.get(path, headers=as_station).status_code == 403  # a draft: not even for stations
    _act(client, stack, pid, ("submit", "editor"), ("approve_legal", "legal_reviewer"), ("approve", "producer"))
    assert client.get(path, headers=as_station).status_code == 200
    assert client.get(path).status_code == 401  # approved for air is not published
    assert client.get(path, headers={"Authorization": "Bearer lc_wrong"}).status_code == 403


def test_withdrawn_media_is_gone_for_the_public(client: TestClient, stack: Stack) -> None:
    pid, audio = _rendered_bulletin(client, stack, "Bản tin sẽ bị rút xuống sau khi phát hành.")
    _act(
        client,
        stack,
        pid,
        ("submit", "editor"),
        ("approve_legal", "legal_reviewer"),
        ("approve", "producer"),
        ("publish", "producer"),
    )
    path = f"/media/{audio['media_key']}"
    assert client.get(path).status_code == 200
    _act(client, stack, pid, ("withdraw", "legal_reviewer"))
    gone = client.get(path)
    assert gone.status_code == 410 and "withdrawn" in gone.json()["detail"]
    assert client.get(path, headers=stack.headers("legal_reviewer")).status_code == 200  # staff can still review it
