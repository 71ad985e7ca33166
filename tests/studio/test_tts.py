"""Speech engines, phrase cache and fallback chain: real espeak-ng, real ffmpeg, a real local HTTP server."""

from __future__ import annotations

import io
import logging
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest

from errors import Transient
from studio.engine.tts import (
    LAWCAST_VOICES,
    EngineError,
    EspeakEngine,
    GttsEngine,
    PhraseCache,
    PiperEngine,
    Synthesis,
    build_engines,
    speak,
)
from studio.engine.tts.espeak import voice_exists
from tests.studio.gtts_server import FakeGoogle, Reply, make_mp3

SENTENCE = "Nghị quyết này quy định một số nội dung về phổ biến, giáo dục pháp luật qua hệ thống truyền thanh cơ sở."
SHORT = "Xin chào bà con."


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """0.5 s of sine as MP3, standing in for Google's answer."""
    return make_mp3(tmp_path_factory.mktemp("mp3") / "sine.mp3", seconds=0.5)


@pytest.fixture
def espeak() -> EspeakEngine:
    return EspeakEngine()


def fast_gtts(server: FakeGoogle, **overrides: float) -> GttsEngine:
    """A gTTS engine pointed at the local server with short, known delays."""
    options: dict[str, float] = {"timeout_s": 2.0, "retries": 3, "min_interval_s": 0.0, "backoff_base_s": 0.05}
    options.update(overrides)
    return GttsEngine(
        server.url,
        timeout_s=options["timeout_s"],
        retries=int(options["retries"]),
        min_interval_s=options["min_interval_s"],
        backoff_base_s=options["backoff_base_s"],
    )


# --- espeak -------------------------------------------------------------------------------------


def test_espeak_speaks_vietnamese_with_exact_duration(espeak: EspeakEngine) -> None:
    result = espeak.synthesize(SENTENCE, voice="vi")
    assert result.engine == "espeak" and result.voice == "vi" and result.sample_rate == 22050
    assert result.duration_s > 2.0
    assert result.duration_s == len(result.pcm) / 2 / result.sample_rate
    with wave.open(io.BytesIO(result.wav_bytes())) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        assert wav.readframes(wav.getnframes()) == result.pcm


def test_espeak_three_voices_exist_and_differ(espeak: EspeakEngine) -> None:
    assert all(voice_exists(voice) for voice in LAWCAST_VOICES)
    outputs = {voice: espeak.synthesize(SENTENCE, voice=voice).pcm for voice in LAWCAST_VOICES}
    assert all(outputs.values())
    assert len(set(outputs.values())) == 3


def test_espeak_rate_and_pitch(espeak: EspeakEngine) -> None:
    normal = espeak.synthesize(SENTENCE, voice="vi", rate=165)
    fast = espeak.synthesize(SENTENCE, voice="vi", rate=300)
    assert fast.duration_s < normal.duration_s * 0.75
    assert espeak.synthesize(SENTENCE, voice="vi", pitch=80).pcm != normal.pcm


def test_espeak_is_deterministic_and_thread_safe(espeak: EspeakEngine) -> None:
    jobs = [
        (text, voice, rate, pitch)
        for text in (SENTENCE, SHORT)
        for voice in LAWCAST_VOICES
        for rate, pitch in ((165, 50), (220, 30))
    ]
    expected = {job: espeak.synthesize(job[0], voice=job[1], rate=job[2], pitch=job[3]).pcm for job in jobs}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda job: (job, espeak.synthesize(job[0], voice=job[1], rate=job[2], pitch=job[3]).pcm), jobs * 3)
        )
    assert len(results) == len(jobs) * 3
    for job, pcm in results:
        assert pcm == expected[job], job


def test_espeak_unknown_voice_is_permanent(espeak: EspeakEngine) -> None:
    with pytest.raises(EngineError) as caught:
        espeak.synthesize(SHORT, voice="xx-nowhere")
    assert not isinstance(caught.value, Transient)
    assert not voice_exists("xx-nowhere")


def test_empty_text_is_a_permanent_error(espeak: EspeakEngine, tmp_path: Path) -> None:
    for text in ("", "   \n"):
        with pytest.raises(EngineError) as caught:
            espeak.synthesize(text, voice="vi")
        assert not isinstance(caught.value, Transient)
    with pytest.raises(EngineError) as chained:
        speak(" ", engines=[espeak], cache=PhraseCache(tmp_path), voice="vi")
    assert not isinstance(chained.value, Transient)
    assert not list(tmp_path.rglob("*.wav"))


def test_espeak_version_names_library_and_loader(espeak: EspeakEngine) -> None:
    assert espeak.version() == "espeak-ng 1.52.0; espeakng-loader 0.2.4"


# --- gTTS over HTTP ---------------------------------------------------------------------------------


def test_gtts_retries_429_and_500_then_decodes(mp3: bytes) -> None:
    with FakeGoogle(script=[Reply(429), Reply(500)], default=Reply(audio=mp3)) as server:
        engine = fast_gtts(server, backoff_base_s=0.1)
        started = time.monotonic()
        result = engine.synthesize(SHORT, voice="vi-VN-x-south")
        elapsed = time.monotonic() - started
    assert server.count == 3
    assert elapsed >= 0.1 + 0.2  # base delays of attempts 1 and 2
    assert result.engine == "gtts" and result.voice == "vi" and result.sample_rate == 24000
    assert abs(result.duration_s - 0.5) <= 0.03
    assert all(request.path == "/_/TranslateWebserverUi/data/batchexecute" for request in server.received)
    assert server.received[-1].texts() == [SHORT]


def test_gtts_long_text_is_one_request_per_chunk(mp3: bytes) -> None:
    with FakeGoogle(script=[], default=Reply(audio=mp3)) as server:
        result = fast_gtts(server).synthesize(SENTENCE + " " + SENTENCE, voice="vi")
    texts = [text for request in server.received for text in request.texts()]
    assert len(server.received) == len(texts) >= 2
    assert all(len(text) <= 100 for text in texts)
    assert abs(result.duration_s - 0.5 * len(texts)) <= 0.03 * len(texts)


def test_gtts_rate_changes_duration(mp3: bytes) -> None:
    with FakeGoogle(script=[], default=Reply(audio=mp3)) as server:
        fast = fast_gtts(server).synthesize(SHORT, voice="vi", rate=330, pitch=60)
    assert abs(fast.duration_s - 0.25) <= 0.03


def test_gtts_gives_up_on_503_and_chain_falls_back_to_espeak(mp3: bytes, espeak: EspeakEngine, tmp_path: Path) -> None:
    with FakeGoogle(script=[], default=Reply(503)) as server:
        gtts = fast_gtts(server, retries=2, backoff_base_s=0.01)
        with pytest.raises(EngineError) as caught:
            gtts.synthesize(SHORT, voice="vi")
        assert isinstance(caught.value, Transient)
        assert server.count == 3  # first try + 2 retries
        phrase = speak(SHORT, engines=[gtts, espeak], cache=PhraseCache(tmp_path), voice="vi")
        assert server.count == 6
    assert phrase.engine == "espeak" and phrase.hit is False and phrase.path.is_file()


def test_gtts_client_error_is_not_retried(mp3: bytes) -> None:
    with FakeGoogle(script=[], default=Reply(403)) as server:
        with pytest.raises(EngineError) as caught:
            fast_gtts(server).synthesize(SHORT, voice="vi")
    assert server.count == 1 and not isinstance(caught.value, Transient)


GUARD_S = 60  # a deadline for calls that must end by their own timeout; far above it, so never flaky


def bounded(call):
    """Run `call` in a thread and fail if it has not ended within GUARD_S (it would hang without a timeout)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(call)
        try:
            return future.result(timeout=GUARD_S)
        except FutureTimeout:
            pytest.fail(f"no answer within {GUARD_S} s: the request timeout did not fire")


def test_gtts_server_that_never_answers_times_out_and_the_chain_falls_back(espeak: EspeakEngine, tmp_path: Path) -> None:
    with FakeGoogle(script=[], default=Reply(never=True)) as server:
        engine = fast_gtts(server, timeout_s=0.3, retries=1, backoff_base_s=0.01)
        with pytest.raises(EngineError) as caught:
            bounded(lambda: engine.synthesize(SHORT, voice="vi"))
        assert server.count == 2  # first try + 1 retry, each cut off by the timeout
        assert isinstance(caught.value, Transient) and "timeout" in str(caught.value)
        phrase = bounded(lambda: speak(SHORT, engines=[engine, espeak], cache=PhraseCache(tmp_path), voice="vi"))
        assert server.count == 4
    assert (phrase.engine, phrase.fallback_from, phrase.hit) == ("espeak", ("gtts",), False)
    with wave.open(str(phrase.path)) as wav:
        assert wav.getnframes() > 0


def test_gtts_unreachable_host_is_transient_and_the_chain_falls_back(espeak: EspeakEngine, tmp_path: Path) -> None:
    with FakeGoogle(script=[], default=Reply(503)) as server:
        url = server.url  # the port is free again once the server is closed
    engine = GttsEngine(url, timeout_s=0.5, retries=1, min_interval_s=0, backoff_base_s=0.01)
    with pytest.raises(EngineError) as caught:
        bounded(lambda: engine.synthesize(SHORT, voice="vi"))
    assert isinstance(caught.value, Transient) and "connection" in str(caught.value)
    phrase = bounded(lambda: speak(SHORT, engines=[engine, espeak], cache=PhraseCache(tmp_path), voice="vi-VN-x-south"))
    assert (phrase.engine, phrase.voice, phrase.fallback_from) == ("espeak", "vi-VN-x-south", ("gtts",))


def test_gtts_throttle_spaces_requests(mp3: bytes) -> None:
    with FakeGoogle(script=[], default=Reply(audio=mp3)) as server:
        engine = fast_gtts(server, min_interval_s=0.3)
        started = time.monotonic()
        engine.synthesize(SHORT, voice="vi")
        engine.synthesize("Câu thứ hai.", voice="vi")
        # Another instance for the same host shares the process-wide throttle, also across threads.
        other = fast_gtts(server, min_interval_s=0.3)
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda text: other.synthesize(text, voice="vi"), ["Một.", "Hai.", "Ba."]))
    times = sorted(request.at for request in server.received)
    assert len(times) == 5
    # The k-th request may not start before k spacings have passed. A loaded machine can only delay an
    # arrival, never advance it, so this holds however the requests are delivered; unthrottled, the
    # threads would arrive together and the second request within a few ms of the start.
    since_start = [at - started for at in times]
    assert all(offset >= 0.3 * k - 0.001 for k, offset in enumerate(since_start)), since_start


def test_gtts_voice_mapping() -> None:
    engine = GttsEngine("http://127.0.0.1:9")
    assert {engine.resolve_voice(voice) for voice in LAWCAST_VOICES} == {"vi"}
    with pytest.raises(EngineError):
        engine.resolve_voice("xx-nowhere")


# --- phrase cache and chain -------------------------------------------------------------------------


def test_cache_hit_does_not_call_the_engine(mp3: bytes, tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    with FakeGoogle(script=[Reply(audio=mp3)], default=Reply(503)) as server:
        gtts = fast_gtts(server, retries=0)
        first = speak(SHORT, engines=[gtts], cache=cache, voice="vi")
        # The server now fails, so only the cache can answer; no request may be sent.
        again = speak(SHORT, engines=[gtts], cache=cache, voice="vi")
        assert server.count == 1
    assert (first.hit, again.hit) == (False, True)
    assert again.engine == "gtts" and again.path == first.path and again.key == first.key
    assert again.duration_s == first.duration_s


def test_each_line_records_the_engine_that_spoke_it(mp3: bytes, espeak: EspeakEngine, tmp_path: Path) -> None:
    lines = ["Câu thứ nhất.", "Câu thứ hai.", "Câu thứ ba.", "Câu thứ tư."]
    cache = PhraseCache(tmp_path)
    # Google answers 503 to the first line, audio to the second, 429 to the third, audio to the fourth.
    script = [Reply(503), Reply(audio=mp3), Reply(429), Reply(audio=mp3)]
    with FakeGoogle(script=script, default=Reply(500)) as server:
        gtts = fast_gtts(server, retries=0)
        first = [speak(line, engines=[gtts, espeak], cache=cache, voice="vi") for line in lines]
        assert server.count == 4
        # Unchanged lines cost nothing: no request reaches the server, espeak does not run (files untouched).
        stamps = {phrase.path: phrase.path.stat().st_mtime_ns for phrase in first}
        again = [speak(line, engines=[gtts, espeak], cache=cache, voice="vi") for line in lines]
        assert server.count == 4
    assert [(p.engine, p.fallback_from, p.hit) for p in first] == [
        ("espeak", ("gtts",), False),
        ("gtts", (), False),
        ("espeak", ("gtts",), False),
        ("gtts", (), False),
    ]
    assert [(p.engine, p.hit) for p in again] == [("espeak", True), ("gtts", True), ("espeak", True), ("gtts", True)]
    assert [p.path for p in again] == [p.path for p in first]
    assert {p.path: p.path.stat().st_mtime_ns for p in again} == stamps
    assert [p.sample_rate for p in first] == [22050, 24000, 22050, 24000]
    record = first[0].record()
    assert {k: record[k] for k in ("engine", "voice", "fallback_from", "cached")} == {
        "engine": "espeak",
        "voice": "vi",
        "fallback_from": ["gtts"],
        "cached": False,
    }
    assert record["phrase"] == first[0].key and record["duration_s"] == pytest.approx(first[0].duration_s)


def test_cached_online_line_wins_over_offline_engine(mp3: bytes, espeak: EspeakEngine, tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    with FakeGoogle(script=[Reply(audio=mp3)], default=Reply(503)) as server:
        gtts = fast_gtts(server, retries=0)
        assert speak(SHORT, engines=[gtts, espeak], cache=cache, voice="vi").engine == "gtts"
        again = speak(SHORT, engines=[gtts, espeak], cache=cache, voice="vi")
        assert server.count == 1
    assert again.hit and again.engine == "gtts"


def test_cache_misses_on_changed_text_voice_rate_pitch(espeak: EspeakEngine, tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    base = speak(SHORT, engines=[espeak], cache=cache, voice="vi")
    assert speak(SHORT, engines=[espeak], cache=cache, voice="vi").hit
    changed = [
        speak(SHORT + " Cảm ơn.", engines=[espeak], cache=cache, voice="vi"),
        speak(SHORT, engines=[espeak], cache=cache, voice="vi-VN-x-south"),
        speak(SHORT, engines=[espeak], cache=cache, voice="vi", rate=200),
        speak(SHORT, engines=[espeak], cache=cache, voice="vi", pitch=70),
    ]
    assert not any(phrase.hit for phrase in changed)
    assert len({phrase.key for phrase in changed} | {base.key}) == 5


def test_cache_layout_is_atomic(espeak: EspeakEngine, tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        phrases = list(pool.map(lambda text: speak(text, engines=[espeak], cache=cache, voice="vi"), [SHORT, SENTENCE] * 4))
    for phrase in phrases:
        assert phrase.path == tmp_path / phrase.key[:2] / f"{phrase.key}.wav"
        with wave.open(str(phrase.path)) as wav:
            assert wav.getnframes() / wav.getframerate() == pytest.approx(phrase.duration_s)
    assert not list(tmp_path.rglob("*.tmp"))
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        f"{key}.{ext}" for key in {p.key for p in phrases} for ext in ("wav", "json")
    )


def test_cache_key_and_interrupted_put(tmp_path: Path) -> None:
    key = PhraseCache.key("espeak", "1", "vi", 165, 50, SHORT)
    assert len(key) == 64 and key != PhraseCache.key("espeak", "2", "vi", 165, 50, SHORT)
    cache = PhraseCache(tmp_path)
    stored = cache.put(key, Synthesis(pcm=b"\x01\x00" * 2205, sample_rate=22050, engine="espeak", voice="vi"))
    assert stored.duration_s == pytest.approx(0.1) and not stored.hit
    assert cache.get(key) == PhraseCache(tmp_path).get(key) and cache.get(key).hit
    stored.path.with_suffix(".json").unlink()  # as if the process died between the two renames
    assert cache.get(key) is None


# --- building engines ---------------------------------------------------------------------------------


def test_build_engines_order_and_unknown_name() -> None:
    engines = build_engines(["gtts", "espeak"], gtts_host="http://127.0.0.1:9", gtts_retries=5, gtts_timeout_s=1.5)
    assert [engine.name for engine in engines] == ["gtts", "espeak"]
    assert isinstance(engines[0], GttsEngine) and engines[0].retries == 5 and engines[0].timeout_s == 1.5
    with pytest.raises(ValueError):
        build_engines(["espeak", "festival"])


def test_piper_missing_is_skipped_and_chain_uses_next(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "vi_VN-vais1000-medium.onnx"
    with caplog.at_level(logging.WARNING, logger="studio.engine.tts"):
        engines = build_engines(["piper", "espeak"], piper_model=model)
    assert [engine.name for engine in engines] == ["espeak"]
    assert any("piper skipped" in record.getMessage() for record in caplog.records)
    with pytest.raises(EngineError):
        PiperEngine(model)
    phrase = speak(SHORT, engines=engines, cache=PhraseCache(tmp_path / "cache"), voice="vi-VN-x-central")
    assert phrase.engine == "espeak" and phrase.voice == "vi-VN-x-central"


def test_all_engines_failing_lists_each_error(tmp_path: Path) -> None:
    with FakeGoogle(script=[], default=Reply(503)) as server:
        gtts = fast_gtts(server, retries=0)
        with pytest.raises(EngineError) as caught:
            speak(SHORT, engines=[gtts, EspeakEngine()], cache=PhraseCache(tmp_path), voice="xx-nowhere")
    # gtts rejects the voice before any request; espeak does not know it either.
    assert set(caught.value.causes) == {"gtts", "espeak"} and server.count == 0
    assert "gtts" in str(caught.value) and "espeak" in str(caught.value)
    with pytest.raises(EngineError):
        speak(SHORT, engines=[], cache=PhraseCache(tmp_path), voice="vi")
