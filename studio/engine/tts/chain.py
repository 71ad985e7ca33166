"""Speak one line through the phrase cache and a fallback chain of engines."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from errors import Transient
from studio.engine.tts.base import Engine, EngineError, TransientEngineError
from studio.engine.tts.cache import CachedPhrase, PhraseCache

log = logging.getLogger(__name__)


def engine_voice(engine: Engine, voice: str) -> str:
    """The engine's own voice name for a lawcast voice id (engines without a mapping take it as is)."""
    resolve = getattr(engine, "resolve_voice", None)
    return resolve(voice) if callable(resolve) else voice


def speak(
    text: str, *, engines: Sequence[Engine], cache: PhraseCache, voice: str, rate: int = 165, pitch: int = 50
) -> CachedPhrase:
    """Cached audio from the first engine in order that has it, else from the first engine that can speak.

    The result names the engine that spoke the line and the engines that failed on it first, so a
    caller can record per line who spoke it. A line once spoken by a fallback engine is served from
    the cache afterwards (re-synthesising an unchanged line costs nothing), until the text, voice,
    parameters or engine version change.
    """
    if not engines:
        raise EngineError("no speech engine configured (LAWCAST_TTS_ENGINES)")
    errors: dict[str, EngineError] = {}
    candidates: list[tuple[Engine, str, str]] = []
    for engine in engines:
        try:
            mapped = engine_voice(engine, voice)
            key = PhraseCache.key(engine.name, engine.version(), mapped, rate, pitch, text)
        except EngineError as exc:
            errors[engine.name] = exc
            continue
        # Cache first, for every engine, before any engine runs: a cached online line is never re-fetched.
        cached = cache.get(key)
        if cached is not None:
            return cached
        candidates.append((engine, mapped, key))
    for engine, mapped, key in candidates:
        try:
            synthesis = engine.synthesize(text, voice=mapped, rate=rate, pitch=pitch)
        except EngineError as exc:
            log.warning("tts: %s failed, trying the next engine: %s", engine.name, exc)
            errors[engine.name] = exc
            continue
        return replace(cache.put(key, synthesis), fallback_from=tuple(errors))
    raise _all_failed(text, errors)


def _all_failed(text: str, errors: dict[str, EngineError]) -> EngineError:
    """One error naming every engine's failure; transient if any of them may recover."""
    detail = "; ".join(f"{name}: {exc}" for name, exc in errors.items())
    kind = TransientEngineError if any(isinstance(exc, Transient) for exc in errors.values()) else EngineError
    return kind(
        f"all speech engines failed for {text[:60]!r} ({detail})", causes={name: str(exc) for name, exc in errors.items()}
    )
