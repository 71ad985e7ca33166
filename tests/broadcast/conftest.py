"""Broadcast fixtures: an API client per module, short loudspeaker bulletins rendered by the real worker, and builders."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.helpers import Json, wait_for_job

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
TINY_LAW = """QUỐC HỘI
--------
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
---------------
Luật số: 99/2027/QH15

LUẬT
THỬ NGHIỆM PHÁT THANH CƠ SỞ

Điều 1. Phạm vi điều chỉnh
Luật này quy định việc phát bản tin pháp luật trên loa truyền thanh cơ sở.

Điều 2. Hiệu lực thi hành
Luật này có hiệu lực thi hành từ ngày 01 tháng 7 năm 2027.
"""
# Short, distinct scripts: each renders in a moment and has its own duration.
SCRIPTS = [
    ["Bản tin pháp luật ngắn số một."],
    ["Bản tin số hai.", "Bà con chú ý thực hiện đúng quy định."],
    ["Bản tin số ba về luật mới.", "Luật có hiệu lực từ ngày một tháng bảy.", "Đề nghị bà con chấp hành."],
    ["Thông báo khẩn về phòng chống lụt bão."],
]
_names = itertools.count(1)


@dataclass(frozen=True)
class Bulletin:
    """An approved loudspeaker production and its rendered output."""

    production_id: int
    title: str
    output_id: int
    duration_s: float
    sha256: str
    bytes: int
    media_key: str


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[TestClient]:
    """One API client for a whole module."""
    from app import create_app

    with TestClient(create_app()) as client:
        yield client


def act(api: TestClient, stack: Stack, production_id: int, action: str, role: str) -> None:
    """One workflow transition, which must succeed."""
    response = api.post(f"/api/productions/{production_id}/transitions", json={"action": action}, headers=stack.headers(role))
    assert response.status_code == 200, response.json()


def make_bulletins(api: TestClient, stack: Stack, tag: str, scripts: list[list[str]] = SCRIPTS) -> list[Bulletin]:
    """Approved loudspeaker bulletins with these scripts, rendered through the worker."""
    editor = stack.headers("editor")
    doc = api.post("/api/documents", json={"text": TINY_LAW, "title": f"Luật thử nghiệm {tag}"}, headers=editor)
    assert doc.status_code == 201, doc.json()
    made = []
    for index, lines in enumerate(scripts, start=1):
        title = f"{tag}: bản tin {index}"
        created = api.post(
            "/api/productions", json={"document_id": doc.json()["id"], "format": "loudspeaker", "title": title}, headers=editor
        )
        assert created.status_code == 201, created.json()
        production_id = created.json()["id"]
        script = {"lines": [{"speaker": "presenter", "text": text, "pause_ms": 200} for text in lines]}
        assert api.put(f"/api/productions/{production_id}/script", json=script, headers=editor).status_code == 200
        for action, role in (("submit", "editor"), ("approve_legal", "legal_reviewer"), ("approve", "producer")):
            act(api, stack, production_id, action, role)
        accepted = api.post(
            f"/api/productions/{production_id}/renders", json={"profiles": ["loudspeaker"]}, headers=stack.headers("producer")
        )
        assert accepted.status_code == 202, accepted.json()
        made.append((production_id, title, accepted.json()["job"]["id"]))
    out = []
    for production_id, title, job_id in made:
        job = wait_for_job(api, stack.headers("producer"), job_id)
        assert job["status"] == "succeeded", job
        audio = next(o for o in job["outputs"] if o["kind"] == "audio")
        out.append(
            Bulletin(production_id, title, audio["id"], audio["duration_s"], audio["sha256"], audio["bytes"], audio["media_key"])
        )
    return out


@pytest.fixture(scope="module")
def bulletins(api: TestClient, stack: Stack, request: pytest.FixtureRequest) -> Iterator[list[Bulletin]]:
    """Four short approved bulletins for this module; withdrawn afterwards so other modules never schedule them."""
    made = make_bulletins(api, stack, request.module.__name__.rsplit(".", 1)[-1])
    yield made
    for bulletin in made:
        current = api.get(f"/api/productions/{bulletin.production_id}", headers=stack.headers("producer")).json()
        if current["status"] in ("approved", "published", "legally_approved", "in_review"):
            act(api, stack, bulletin.production_id, "withdraw", "producer")


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix} {next(_names)}-{datetime.now(UTC).timestamp():.0f}"


def area(
    api: TestClient,
    stack: Stack,
    *,
    kind: str = "commune",
    parent_id: int | None = None,
    quiet: tuple[time, time] | None = None,
    name: str | None = None,
) -> Json:
    """A new area (its own names, so tests never share one)."""
    body: dict[str, object] = {"name": name or unique(f"Địa bàn {kind}"), "kind": kind, "parent_id": parent_id}
    if quiet:
        body.update(quiet_start=quiet[0].isoformat(), quiet_end=quiet[1].isoformat())
    response = api.post("/api/areas", json=body, headers=stack.headers("scheduler"))
    assert response.status_code == 201, response.json()
    return response.json()


def station(api: TestClient, stack: Stack, area_id: int) -> Json:
    """A new station with its token."""
    response = api.post("/api/stations", json={"area_id": area_id, "name": unique("Cụm loa")}, headers=stack.headers("scheduler"))
    assert response.status_code == 201, response.json()
    assert response.json()["token"]
    return response.json()


def slot_body(target_kind: str, target_id: int, at: datetime, duration_s: int, **extra: object) -> Json:
    """A slot whose first occurrence starts at `at` (converted to the slot's timezone)."""
    tz = str(extra.get("timezone", "Asia/Ho_Chi_Minh"))
    local = at.astimezone(ZoneInfo(tz))
    body: dict[str, object] = {
        "name": unique("Khung"),
        "target_kind": target_kind,
        "target_id": target_id,
        "rrule": "FREQ=DAILY",
        "dtstart": local.date().isoformat(),
        "start_time": local.time().replace(microsecond=0).isoformat(),
        "duration_s": duration_s,
    }
    body.update(extra)
    return body


def make_slot(
    api: TestClient, stack: Stack, target_kind: str, target_id: int, at: datetime, duration_s: int, **extra: object
) -> Json:
    """A slot created through the API (which expands it), which must succeed."""
    response = api.post(
        "/api/slots", json=slot_body(target_kind, target_id, at, duration_s, **extra), headers=stack.headers("scheduler")
    )
    assert response.status_code == 201, response.json()
    return response.json()


def occurrences(api: TestClient, stack: Stack, slot_id: int, **window: str) -> list[Json]:
    """The expanded occurrences of a slot."""
    response = api.get("/api/occurrences", params={"slot_id": slot_id, **window}, headers=stack.headers("scheduler"))
    assert response.status_code == 200, response.json()
    return response.json()


def fill(api: TestClient, stack: Stack, start: datetime, end: datetime, **extra: object) -> Json:
    """POST /api/schedule/fill, which must succeed."""
    response = api.post(
        "/api/schedule/fill",
        json={"start": start.isoformat(), "end": end.isoformat(), **extra},
        headers=stack.headers("scheduler"),
    )
    assert response.status_code == 200, response.json()
    return response.json()


def parse(value: object) -> datetime:
    """An aware datetime from the API's ISO text."""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
