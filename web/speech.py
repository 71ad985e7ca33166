""" "Nghe thử": one script line spoken as a WAV, sentence by sentence through the phrase cache.

The sentences are normalised and spoken exactly as a render speaks them (same voice, pitch, rate and cache
keys), so a line heard here is a cache hit for the render, and a line already rendered is answered from the
cache without running an engine.
"""

from __future__ import annotations

import array
import io
import wave
from dataclasses import dataclass
from functools import lru_cache

from settings import get_settings
from studio.engine import pipeline
from studio.engine.text import speech
from studio.engine.tts import Engine, PhraseCache, build_engines, speak

GAP_S = 0.25  # silence between two sentences of a line


@dataclass(frozen=True)
class LineAudio:
    """A spoken line: WAV bytes, its duration, and whether every sentence came from the cache."""

    wav: bytes
    duration_s: float
    cached: bool


@lru_cache(maxsize=1)
def _engines(names: tuple[str, ...]) -> list[Engine]:
    settings = get_settings()
    return build_engines(
        names,
        gtts_host=settings.gtts_host,
        gtts_timeout_s=settings.gtts_timeout_s,
        gtts_retries=settings.gtts_retries,
        gtts_min_interval_s=settings.gtts_min_interval_s,
        piper_model=settings.piper_model,
    )


def _pcm(path: str, rate: int) -> bytes:
    """16-bit mono PCM of a cached WAV, resampled (nearest sample) when its rate differs from `rate`."""
    with wave.open(path, "rb") as handle:
        frames = handle.readframes(handle.getnframes())
        own = handle.getframerate()
    if own == rate:
        return frames
    samples = array.array("h", frames)
    step = own / rate
    return array.array("h", (samples[int(i * step)] for i in range(int(len(samples) / step)))).tobytes()


def line_audio(text: str, speaker: str, lexicon: dict[str, str]) -> LineAudio:
    """Speak one line (every sentence, with short gaps) through the phrase cache; raises EngineError if none can."""
    settings = get_settings()
    cache = PhraseCache(settings.cache_dir)
    engines = _engines(tuple(settings.engine_names))
    voice, pitch = pipeline.voice_for(speaker)
    phrases = []
    for sentence in speech.split_sentences(text):
        spoken = speech.normalize(sentence, lexicon).text
        if spoken.strip():
            phrases.append(speak(spoken, engines=engines, cache=cache, voice=voice, rate=settings.tts_rate, pitch=pitch))
    if not phrases:
        return LineAudio(_wav(b"", 16000), 0.0, True)
    rate = phrases[0].sample_rate
    gap = b"\x00\x00" * int(rate * GAP_S)
    pcm = gap.join(_pcm(str(phrase.path), rate) for phrase in phrases)
    return LineAudio(_wav(pcm, rate), len(pcm) / 2 / rate, all(phrase.hit for phrase in phrases))


def _wav(pcm: bytes, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm)
    return buffer.getvalue()
