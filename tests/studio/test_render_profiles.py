"""Every output profile rendered from the sample law through the real worker, measured independently.

One render per profile, shared by the module: radio and podcast of two articles, the loudspeaker
bulletin of every article (it splits into parts), and the video sketch of the sample law in 16:9
and 9:16. Loudness is measured with pyloudnorm, true peak by 4x oversampling, speech by its energy
in the decoded audio, MP3 frames by walking their headers; our own reported figures are only
compared against those measurements.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pyloudnorm
import pytest
from fastapi.testclient import TestClient
from mutagen.id3 import ID3

from assets import storage
from studio.engine.render.audio import default_asset, probe_duration
from studio.engine.render.subtitles import parse_webvtt
from studio.engine.render.video import probe_video
from tests.conftest import Stack
from tests.helpers import Json, decode_pcm, mp3_info, mp4_info, wait_for_job
from tests.studio.render_helpers import (
    cue_groups,
    f0_median,
    heard_span,
    mp3_frames,
    seconds,
    speech_regions,
    true_peak_dbtp,
)

TARGETS = {"radio": -23.0, "podcast": -16.0, "loudspeaker": -16.0, "video_16x9": -16.0, "video_9x16": -16.0}
AUDIO = {  # profile: (sample rate, channels, kbit/s, MPEG version)
    "radio": (48000, 2, 320, 1),
    "podcast": (44100, 2, 128, 1),
    "loudspeaker": (24000, 1, 48, 2),
}
VIDEO_SIZES = {"video_16x9": (1280, 720), "video_9x16": (1080, 1920)}
RADIO_ARTICLES = ("Điều 1", "Điều 7")  # a short radio segment keeps the test cheap


def _articles(doc: Json) -> list[Json]:
    found = []

    def walk(nodes: list[Json]) -> None:
        for node in nodes:
            if node["kind"] == "dieu":
                found.append(node)
            walk(node["children"])

    walk(doc["provisions"])
    return found


def _sse_events(client: TestClient, job_id: int, headers: dict[str, str]) -> list[Json]:
    events = []
    with client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                assert kind == "progress"
                events.append(json.loads(line.split(":", 1)[1]))
    return events


@pytest.fixture(scope="module")
def rendered(stack: Stack, sample_law_text: str) -> Iterator[Json]:
    """Render every profile once through the worker; read the SSE stream of the longest job meanwhile."""
    from app import create_app

    editor, producer = stack.headers("editor"), stack.headers("producer")
    with TestClient(create_app()) as client:
        doc = client.post("/api/documents", json={"text": sample_law_text}, headers=editor).json()
        articles = _articles(doc)
        radio_ids = [a["id"] for a in articles if a["label"] in RADIO_ARTICLES]

        def make(fmt: str, ids: list[int] | None) -> Json:
            body = {"document_id": doc["id"], "format": fmt, "provision_ids": ids}
            response = client.post("/api/productions", json=body, headers=editor)
            assert response.status_code == 201, response.json()
            return response.json()

        radio, loudspeaker, video = make("radio", radio_ids), make("loudspeaker", None), make("video", None)
        parts = [client.get(f"/api/productions/{pid}", headers=editor).json() for pid in loudspeaker["siblings"]]
        jobs: dict[str, Json] = {}
        part_jobs: list[int] = []
        for production in (video, radio, *parts):
            accepted = client.post(f"/api/productions/{production['id']}/renders", headers=producer)
            assert accepted.status_code == 202, accepted.json()
            for job in accepted.json()["jobs"]:
                if job["profile"] == "loudspeaker":
                    part_jobs.append(job["id"])
                jobs.setdefault(str(job["profile"]), job)
        events = _sse_events(client, int(jobs["video_9x16"]["id"]), producer)
        finished = {profile: wait_for_job(client, producer, int(job["id"]), timeout_s=300) for profile, job in jobs.items()}
        parts_done = [wait_for_job(client, producer, job_id, timeout_s=300) for job_id in part_jobs]
        yield {
            "jobs": finished,
            "parts": parts_done,
            "part_productions": parts,
            "events": events,
            "radio": radio,
            "video": video,
            "articles": articles,
        }


def _output(job: Json, kind: str) -> Path:
    out = next(o for o in job["outputs"] if o["kind"] == kind)
    return storage.path_for(str(out["media_key"]))


def _media(job: Json) -> tuple[Path, Json]:
    out = next(o for o in job["outputs"] if o["kind"] in ("audio", "video"))
    return storage.path_for(str(out["media_key"])), out


def _decoded(profile: str, path: Path):
    rate, channels = (AUDIO[profile][0], AUDIO[profile][1]) if profile in AUDIO else (48000, 2)
    return decode_pcm(path, rate=rate, channels=channels), rate


PROFILES = list(TARGETS)


def test_every_profile_succeeds_with_its_sidecars(rendered: Json) -> None:
    for profile in PROFILES:
        job = rendered["jobs"][profile]
        assert job["status"] == "succeeded", job
        assert job["progress"] == 1.0 and job["error"] is None and job["engines_used"] == ["espeak"]
        kinds = sorted(o["kind"] for o in job["outputs"])
        media = "video" if profile.startswith("video") else "audio"
        assert kinds == sorted([media, "chapters", "speech", "srt", "transcript", "vtt"]), kinds
        for out in job["outputs"]:
            assert storage.path_for(out["media_key"]).stat().st_size == out["bytes"] > 0
            assert profile in out["media_key"] and job["id"] and "/." not in out["media_key"]
    transcript = _output(rendered["jobs"]["video_16x9"], "transcript").read_text(encoding="utf-8")
    assert "Người dân:" in transcript and "Chuyên gia pháp lý:" in transcript
    sentences = json.loads(_output(rendered["jobs"]["video_16x9"], "speech").read_text(encoding="utf-8"))["sentences"]
    assert {s["engine"] for s in sentences} == {"espeak"} and {s["speaker"] for s in sentences} >= {"citizen", "expert"}


@pytest.mark.parametrize("profile", PROFILES)
def test_duration_matches_the_decoded_file(rendered: Json, profile: str) -> None:
    path, out = _media(rendered["jobs"][profile])
    samples, rate = _decoded(profile, path)
    decoded_s = len(samples) / rate
    assert decoded_s == pytest.approx(out["duration_s"], abs=0.06)
    jingles = probe_duration(default_asset("jingle-intro.flac")) + probe_duration(default_asset("jingle-outro.flac"))
    assert decoded_s > jingles + 20


def test_radio_and_podcast_carry_the_same_programme(rendered: Json) -> None:
    radio, _ = _media(rendered["jobs"]["radio"])
    podcast, _ = _media(rendered["jobs"]["podcast"])
    radio_s = len(decode_pcm(radio, rate=48000, channels=1)) / 48000
    podcast_s = len(decode_pcm(podcast, rate=44100, channels=1)) / 44100
    assert radio_s == pytest.approx(podcast_s, abs=0.06)


def test_video_sketch_of_the_sample_lasts_60_to_90_seconds(rendered: Json) -> None:
    for profile in VIDEO_SIZES:
        path, _ = _media(rendered["jobs"][profile])
        decoded = len(decode_pcm(path, rate=48000, channels=1)) / 48000
        assert 60.0 <= decoded <= 90.0, (profile, decoded)
        assert 60.0 <= seconds(probe_video(path)) <= 90.0


def test_loudspeaker_parts_are_numbered_and_each_within_three_minutes(rendered: Json) -> None:
    parts = rendered["part_productions"]
    assert len(parts) >= 2
    for index, part in enumerate(parts, start=1):
        assert f"Phần {index}/{len(parts)}" in part["script"][0]["text"]
        assert part["part"] == index and part["parts"] == len(parts)
    covered = [line["provision_id"] for part in parts for line in part["script"] if line["role"] == "heading"]
    assert covered == [a["id"] for a in rendered["articles"]]  # every article once, in order
    for job in rendered["parts"]:
        assert job["status"] == "succeeded", job
        path, _ = _media(job)
        assert len(decode_pcm(path, rate=24000, channels=1)) / 24000 <= 180.0


@pytest.mark.parametrize("profile", PROFILES)
def test_loudness_is_on_target_and_true_peak_under_ceiling(rendered: Json, profile: str) -> None:
    path, out = _media(rendered["jobs"][profile])
    samples, rate = _decoded(profile, path)
    loudness = pyloudnorm.Meter(rate).integrated_loudness(samples.astype("float64"))
    assert loudness == pytest.approx(TARGETS[profile], abs=1.0)
    assert true_peak_dbtp(samples) <= -1.0
    assert out["loudness_lufs"] == pytest.approx(loudness, abs=1.0)


@pytest.mark.parametrize("profile", list(AUDIO))
def test_mp3_stream_parameters(rendered: Json, profile: str) -> None:
    path, _ = _media(rendered["jobs"][profile])
    rate, channels, kbps, version = AUDIO[profile]
    info = mp3_info(path)
    assert (info.sample_rate, info.channels, info.bitrate) == (rate, channels, kbps * 1000)
    frames = mp3_frames(path)[1:]  # the first frame is LAME's Info header
    assert len(frames) >= 100
    assert {(f.version, f.layer, f.sample_rate, f.channels, f.bitrate_kbps) for f in frames} == {
        (version, 3, rate, channels, kbps)
    }
    assert {f.samples for f in frames} == {1152 if version == 1 else 576}
    assert {f.length for f in frames} <= {(144 if version == 1 else 72) * kbps * 1000 // rate + pad for pad in (0, 1)}


@pytest.mark.parametrize("profile", list(VIDEO_SIZES))
def test_video_stream_parameters(rendered: Json, profile: str) -> None:
    path, _ = _media(rendered["jobs"][profile])
    info = probe_video(path)
    assert (info["width"], info["height"]) == VIDEO_SIZES[profile]
    assert info["vcodec"] == "h264" and info["fps"] == 25 and info["faststart"] is True
    audio = mp4_info(path)
    assert audio.codec.startswith("mp4a") and (audio.sample_rate, audio.channels) == (48000, 2)
    log = subprocess.run(
        [_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    frames = int(re.findall(r"frame=\s*(\d+)", log)[-1])
    assert frames == pytest.approx(seconds(info) * 25, abs=2)  # constant 25 fps


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.mark.parametrize("profile", ["video_16x9", "video_9x16", "loudspeaker"])
def test_subtitle_cues_follow_the_speech_heard(rendered: Json, profile: str) -> None:
    job = rendered["jobs"][profile]
    path, _ = _media(job)
    cues = parse_webvtt(_output(job, "vtt").read_text(encoding="utf-8"))
    assert [(c.start_s, c.end_s, c.text) for c in cues] == [
        (c.start_s, c.end_s, c.text) for c in parse_webvtt(_srt_as_vtt(_output(job, "srt").read_text(encoding="utf-8")))
    ]
    mono = decode_pcm(path, rate=16000, channels=1)[:, 0]
    regions = speech_regions(mono, 16000)
    intro_s = probe_duration(default_asset("jingle-intro.flac"))
    groups = cue_groups(cues)
    assert len(groups) >= 8
    for start, end, members in groups:
        heard = heard_span(regions, start, end, after=intro_s)
        assert heard is not None, (start, end, members[0].text)
        assert abs(heard[0] - start) <= 0.1 and abs(heard[1] - end) <= 0.1, (start, end, heard, members[0].text)
    # every stretch of speech after the intro jingle has its subtitle
    outro_at = len(mono) / 16000 - probe_duration(default_asset("jingle-outro.flac"))
    for a, b in regions:
        if a >= intro_s and b <= outro_at - 0.05:
            assert any(s - 0.1 <= a and b <= e + 0.1 for s, e, _ in groups), (a, b)


def _srt_as_vtt(srt: str) -> str:
    blocks = [block.split("\n", 1)[1] for block in srt.strip().split("\n\n")]
    return "WEBVTT\n\n" + "\n\n".join(re.sub(r"(\d),(\d{3})", r"\1.\2", block, count=2) for block in blocks) + "\n"


def test_burned_in_subtitles_show_only_while_speaking(rendered: Json) -> None:
    job = rendered["jobs"]["video_16x9"]
    path, _ = _media(job)
    groups = cue_groups(parse_webvtt(_output(job, "vtt").read_text(encoding="utf-8")))
    width, height = 320, 180
    bottom = slice(height * 4 // 5 * width, height * width)  # the subtitle zone

    def frame(at: float) -> bytes:
        raw = subprocess.run(
            [
                _ffmpeg(),
                "-v",
                "error",
                "-ss",
                f"{at:.3f}",
                "-i",
                str(path),
                "-frames:v",
                "1",
                "-vf",
                f"scale={width}:{height}",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "gray",
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
        return raw[bottom]

    checked = 0
    for (start, end, _), (next_start, _, _) in pairwise(groups):
        if next_start - end < 0.24:
            continue
        speaking, pause = frame((start + end) / 2), frame((end + next_start) / 2)
        assert sum(abs(a - b) > 40 for a, b in zip(speaking, pause, strict=False)) > 0.02 * len(pause), (start, end)
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_video_dialogue_has_two_distinct_voices_and_a_title_card(rendered: Json) -> None:
    job = rendered["jobs"]["video_16x9"]
    video = rendered["video"]
    speakers = [line["speaker"] for line in video["script"]]
    assert speakers[0] == "presenter" and video["script"][0]["role"] == "title"
    assert {"citizen", "expert"} <= set(speakers)
    path, _ = _media(job)
    cues = parse_webvtt(_output(job, "vtt").read_text(encoding="utf-8"))
    mono = decode_pcm(path, rate=16000, channels=1)[:, 0]
    pitch = {
        who: f0_median(mono, 16000, [(c.start_s, c.end_s) for c in cues if c.speaker == who]) for who in ("citizen", "expert")
    }
    assert max(pitch.values()) / min(pitch.values()) > 1.25, pitch
    assert cues[0].speaker == "presenter" and cues[0].text.startswith("Tiểu phẩm pháp luật")


@pytest.mark.parametrize("profile", ["radio", "podcast", "loudspeaker"])
def test_mp3_chapters_match_the_chapters_json(rendered: Json, profile: str) -> None:
    job = rendered["jobs"][profile]
    path, _out = _media(job)
    tags = ID3(path)
    chapters = sorted(tags.getall("CHAP"), key=lambda frame: frame.start_time)
    toc = tags.getall("CTOC")
    assert len(toc) == 1 and list(toc[0].child_element_ids) == [c.element_id for c in chapters]
    document = json.loads(_output(job, "chapters").read_text(encoding="utf-8"))
    assert document["version"] == "1.2.0" and document["title"]
    assert [c["title"] for c in document["chapters"]] == [str(c.sub_frames["TIT2"]) for c in chapters]
    assert [round(c["startTime"] * 1000) for c in document["chapters"]] == pytest.approx([c.start_time for c in chapters], abs=1)
    assert chapters[-1].end_time == pytest.approx(mp3_info(path).length * 1000, abs=100)
    for before, after in pairwise(chapters):
        assert before.end_time == after.start_time
    if profile != "loudspeaker":  # the radio template: greeting, one chapter per article, recap, closing
        titles = [c["title"] for c in document["chapters"]]
        assert titles[0] == "Giới thiệu" and titles[-2:] == ["Tóm tắt", "Kết thúc"]
        assert [t.split(".")[0] for t in titles[1:-2]] == list(RADIO_ARTICLES)


@pytest.mark.parametrize("profile", ["video_16x9", "loudspeaker"])
def test_chapters_start_where_their_speech_starts(rendered: Json, profile: str) -> None:
    job = rendered["jobs"][profile]
    path, _ = _media(job)
    document = json.loads(_output(job, "chapters").read_text(encoding="utf-8"))
    mono = decode_pcm(path, rate=16000, channels=1)[:, 0]
    onsets = [a for a, _ in speech_regions(mono, 16000)]
    intro_s = probe_duration(default_asset("jingle-intro.flac"))
    assert len(document["chapters"]) >= 2
    for chapter in document["chapters"]:
        start = chapter["startTime"]
        nearest = min((max(a, intro_s) for a in onsets), key=lambda a: abs(a - start))
        assert abs(nearest - start) <= 0.1, chapter


def test_progress_is_streamed_as_server_sent_events(rendered: Json) -> None:
    events = rendered["events"]
    assert len(events) >= 3
    statuses = [e["status"] for e in events]
    assert statuses[-1] == "succeeded" and events[-1]["progress"] == 1.0 and events[-1]["outputs"]
    assert set(statuses[:-1]) <= {"queued", "running"}
    progress = [float(e["progress"]) for e in events]
    assert progress == sorted(progress)
    assert any(0.0 < p < 1.0 for p in progress), [(e["status"], e["progress"], e["stage"]) for e in events]
    assert {"speech", "mix", "video"} & {str(e["stage"]) for e in events}
