"""A published podcast episode with its loudspeaker variant, rendered once per tier through the real worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.helpers import Json, wait_for_job

TINY_LAW = """QUỐC HỘI
Luật số: 77/2025/QH15

LUẬT
THỬ NGHIỆM VỀ PHÁT THANH PHÁP LUẬT

Điều 1. Phạm vi điều chỉnh
Luật này quy định việc phát thanh pháp luật tại xã, phường.

Điều 2. Quyền được thông tin
1. Người dân được nghe bản tin pháp luật miễn phí.
2. Ủy ban nhân dân xã bảo đảm loa truyền thanh hoạt động.
"""


def short_script(provision_id: int, extra: str = "") -> list[Json]:
    """A two-line script: quick to render, with two chapters."""
    return [
        {"speaker": "presenter", "text": "Chào bạn, đây là chuyên mục Tìm hiểu pháp luật.", "role": "intro", "pause_ms": 200},
        {
            "speaker": "expert",
            "text": f"Điều 2 nói người dân được nghe bản tin pháp luật miễn phí.{extra}",
            "provision_id": provision_id,
            "role": "body",
            "pause_ms": 200,
        },
    ]


@dataclass
class Show:
    """What the module fixture made: ids, and the outputs of the published render."""

    slug: str
    channel_id: int
    document_id: int
    production_id: int
    provision_id: int
    outputs: list[Json]

    def output(self, profile: str, kind: str) -> Json:
        """The output of one profile and kind."""
        return next(o for o in self.outputs if o["profile"] == profile and o["kind"] == kind)


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[TestClient]:
    """The app, with feeds revalidated on every poll so changes made by the worker show at once."""
    from app import create_app
    from settings import get_settings

    os.environ["LAWCAST_FEED_REVALIDATE_S"] = "0"
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client
    os.environ.pop("LAWCAST_FEED_REVALIDATE_S", None)
    get_settings.cache_clear()


def render(api: TestClient, stack: Stack, production_id: int, profiles: list[str]) -> list[Json]:
    """Render profiles through the worker and return every output."""
    producer = stack.headers("producer")
    accepted = api.post(f"/api/productions/{production_id}/renders", json={"profiles": profiles}, headers=producer)
    assert accepted.status_code == 202, accepted.text
    outputs: list[Json] = []
    for job in accepted.json()["jobs"]:
        done = wait_for_job(api, producer, job["id"])
        assert done["status"] == "succeeded", done
        outputs += done["outputs"]
    return outputs


def make_production(api: TestClient, stack: Stack, slug: str, **extra: object) -> tuple[int, int, int]:
    """A document and a radio production on a channel with a short script: (document, production, provision)."""
    editor = stack.headers("editor")
    doc = api.post("/api/documents", json={"text": TINY_LAW}, headers=editor)
    assert doc.status_code == 201, doc.text
    body = doc.json()
    articles = [n for n in body["provisions"] if n["kind"] == "dieu"]
    provision_id = articles[1]["id"]
    made = api.post(
        "/api/productions",
        json={
            "document_id": body["id"],
            "format": "radio",
            "provision_ids": [provision_id],
            "channel": slug,
            "title": "Quyền được thông tin về pháp luật",
            **extra,
        },
        headers=editor,
    )
    assert made.status_code == 201, made.text
    production_id = made.json()["id"]
    put = api.put(f"/api/productions/{production_id}/script", json={"lines": short_script(provision_id)}, headers=editor)
    assert put.status_code == 200, put.text
    return body["id"], production_id, provision_id


def move(api: TestClient, stack: Stack, production_id: int, *steps: tuple[str, str]) -> None:
    """Take workflow actions as the given roles; before publishing, render what the approved version still lacks."""
    for action, role in steps:
        if action == "publish":
            render(api, stack, production_id, ["radio", "podcast"])  # earlier identical renders are reused
        moved = api.post(f"/api/productions/{production_id}/transitions", json={"action": action}, headers=stack.headers(role))
        assert moved.status_code == 200, moved.text


PUBLISH = (("submit", "editor"), ("approve_legal", "legal_reviewer"), ("approve", "producer"), ("publish", "producer"))


@pytest.fixture(scope="session")
def show(api: TestClient, stack: Stack) -> Show:
    """A podcast channel with one published episode (podcast + loudspeaker renders) and two airings."""
    slug = "tim-hieu-phap-luat-h6"
    scheduler = stack.headers("scheduler")
    channel = api.post(
        "/api/channels",
        json={
            "slug": slug,
            "name": "Tìm hiểu pháp luật",
            "kind": "podcast",
            "description": "Chuyên mục pháp luật hằng tuần.",
            "owner_email": "podcast@example.vn",
        },
        headers=scheduler,
    )
    assert channel.status_code == 201, channel.text
    document_id, production_id, provision_id = make_production(api, stack, slug, season=1, episode=2)
    outputs = render(api, stack, production_id, ["radio", "podcast", "loudspeaker"])
    move(api, stack, production_id, *PUBLISH)
    return Show(slug, channel.json()["id"], document_id, production_id, provision_id, outputs)


@pytest.fixture(scope="session")
def aired(api: TestClient, stack: Stack, show: Show) -> list[Json]:
    """A daily evening slot on the show's channel, filled for two days: the channel's airings."""
    from broadcast import service as broadcast_service
    from db import session_scope

    scheduler = stack.headers("scheduler")
    today = datetime.now(UTC).date()
    slot = api.post(
        "/api/slots",
        json={
            "name": "Podcast tối",
            "target_kind": "channel",
            "target_id": show.channel_id,
            "rrule": "FREQ=DAILY",
            "dtstart": (today - timedelta(days=1)).isoformat(),
            "start_time": "20:00:00",
            "duration_s": 900,
        },
        headers=scheduler,
    )
    assert slot.status_code == 201, slot.text
    with session_scope() as session:  # what beat does every hour
        broadcast_service.expand(session, horizon_days=3)
    now = datetime.now(UTC)
    filled = api.post(
        "/api/schedule/fill", json={"start": now.isoformat(), "end": (now + timedelta(days=2)).isoformat()}, headers=scheduler
    )
    assert filled.status_code == 200, filled.text
    airings = api.get(f"/api/airings?channel_id={show.channel_id}", headers=scheduler).json()
    assert airings, "the fill placed the episode in the channel's evening slot"
    return airings
