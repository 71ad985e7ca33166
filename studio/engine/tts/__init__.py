"""Speech engines behind one interface, a phrase cache, and a fallback chain."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from studio.engine.tts.base import LAWCAST_VOICES, Engine, EngineError, Synthesis, TransientEngineError
from studio.engine.tts.cache import CachedPhrase, PhraseCache
from studio.engine.tts.chain import engine_voice, speak
from studio.engine.tts.espeak import EspeakEngine
from studio.engine.tts.gtts_engine import GttsEngine
from studio.engine.tts.piper import PiperEngine, unavailable_reason

log = logging.getLogger(__name__)

ENGINE_NAMES = ("espeak", "gtts", "piper")


def build_engines(
    names: Sequence[str],
    *,
    gtts_host: str | None = None,
    gtts_timeout_s: float = 10,
    gtts_retries: int = 3,
    gtts_min_interval_s: float = 0.3,
    piper_model: Path | None = None,
) -> list[Engine]:
    """Engines in the given order; unknown names raise ValueError, an unusable piper is skipped with a warning."""
    engines: list[Engine] = []
    for raw in names:
        name = raw.strip().lower()
        if name == "espeak":
            engines.append(EspeakEngine())
        elif name == "gtts":
            engines.append(
                GttsEngine(gtts_host, timeout_s=gtts_timeout_s, retries=gtts_retries, min_interval_s=gtts_min_interval_s)
            )
        elif name == "piper":
            reason = unavailable_reason(piper_model)
            if reason or piper_model is None:  # no model always has a reason
                log.warning("tts: piper skipped: %s", reason)
                continue
            engines.append(PiperEngine(piper_model))
        else:
            raise ValueError(f"unknown speech engine {raw!r}; known: {', '.join(ENGINE_NAMES)}")
    return engines


__all__ = [
    "ENGINE_NAMES",
    "LAWCAST_VOICES",
    "CachedPhrase",
    "Engine",
    "EngineError",
    "EspeakEngine",
    "GttsEngine",
    "PhraseCache",
    "PiperEngine",
    "Synthesis",
    "TransientEngineError",
    "build_engines",
    "engine_voice",
    "speak",
]
