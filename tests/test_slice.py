"""The first end-to-end slice: a legal text in, a loudness-correct radio MP3 and a podcast feed out."""

from __future__ import annotations

import io
import struct
import zlib

import feedparser
import podcastparser
import pyloudnorm
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.helpers import decode_pcm, wait_for_job


def _png_bytes() -> bytes:
    header = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    return header + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 52)) + chunk(b"IEND", b"")


def test_empty_text_is_rejected_with_reason(client: TestClient, stack: Stack) -> None:
    response = client.post("/api/documents", json={"text": "   \n "}, headers=stack.headers("editor"))
    assert response.status_code == 422
    assert "rỗng" in response.json()["detail"]


def test_binary_file_uploaded_as_text_is_rejected(client: TestClient, stack: Stack) -> None:
    files = {"file": ("luat.txt", _png_bytes() + bytes(range(256)), "text/plain")}
    response = client.post("/api/documents", files=files, headers=stack.headers("editor"))
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


def test_radio_slice_renders_and_reaches_the_feed(client: TestClient, stack: Stack, sample_law_text: str) -> None:
    editor, producer = stack.headers("editor"), stack.headers("producer")
    assert (
        client.post(
            "/api/channels",
            json={"slug": "slice-show", "name": "Tìm hiểu pháp luật", "kind": "podcast"},
            headers=stack.headers("scheduler"),
        ).status_code
        == 201
    )
    doc = client.post("/api/documents", json={"text": sample_law_text}, headers=editor).json()
    articles = [node for node in doc["provisions"] if node["kind"] == "dieu"] or [
        child for node in doc["provisions"] for child in node["children"] if child["kind"] == "dieu"
    ]
    assert len(articles) >= 3
    production = client.post(
        "/api/productions",
        json={
            "document_id": doc["id"],
            "format": "radio",
            "provision_ids": [a["id"] for a in articles[:3]],
            "channel": "slice-show",
        },
        headers=editor,
    ).json()
    roles = [line["role"] for line in production["script"]]
    assert roles[0] == "intro" and roles[-1] == "outro" and roles.count("heading") == 3

    accepted = client.post(f"/api/productions/{production['id']}/renders", json={"profiles": ["radio"]}, headers=producer)
    assert accepted.status_code == 202
    job = wait_for_job(client, producer, accepted.json()["job"]["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    audio = next(o for o in job["outputs"] if o["kind"] == "audio")
    assert audio["duration_s"] >= 30

    assert client.get(f"/media/{audio['media_key']}").status_code == 401  # not published: staff only
    media = client.get(f"/media/{audio['media_key']}", headers=producer)
    assert media.status_code == 200 and len(media.content) == audio["bytes"]
    from assets import storage

    pcm = decode_pcm(storage.path_for(audio["media_key"]))
    loudness = pyloudnorm.Meter(48000).integrated_loudness(pcm)
    assert abs(loudness - (-23.0)) <= 1.0, loudness

    for action, role in (("submit", "editor"), ("approve_legal", "legal_reviewer"), ("approve", "producer")):
        moved = client.post(
            f"/api/productions/{production['id']}/transitions", json={"action": action}, headers=stack.headers(role)
        )
        assert moved.status_code == 200, moved.json()
    podcast = client.post(f"/api/productions/{production['id']}/renders", json={"profiles": ["podcast"]}, headers=producer)
    assert wait_for_job(client, producer, podcast.json()["job"]["id"])["status"] == "succeeded"
    moved = client.post(f"/api/productions/{production['id']}/transitions", json={"action": "publish"}, headers=producer)
    assert moved.status_code == 200, moved.json()
    assert client.get(f"/media/{audio['media_key']}").status_code == 200  # published at its approved version: public

    feed = client.get("/feeds/slice-show.rss")
    assert feed.status_code == 200
    parsed = feedparser.parse(feed.content)
    assert parsed.feed.language == "vi"
    entry = parsed.entries[0]
    enclosure = entry.enclosures[0]
    assert enclosure.href.endswith(audio["media_key"].rsplit("/", 1)[-1]) or enclosure.href.endswith(".mp3")
    podcast = podcastparser.parse("http://testserver/feeds/slice-show.rss", io.BytesIO(feed.content))
    episode = podcast["episodes"][0]
    assert episode["enclosures"][0]["file_size"] > 0
    assert episode["total_time"] > 30
