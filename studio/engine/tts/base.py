"""The engine interface: what every speech engine returns and how it fails."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from errors import Transient

SAMPLE_WIDTH = 2  # signed 16-bit little-endian
LAWCAST_VOICES = ("vi", "vi-VN-x-central", "vi-VN-x-south")


@dataclass(frozen=True)
class Synthesis:
    """Mono PCM audio spoken by one engine in one voice."""

    pcm: bytes
    sample_rate: int
    engine: str
    voice: str

    @property
    def duration_s(self) -> float:
        """Exact duration: samples / sample rate."""
        return len(self.pcm) // SAMPLE_WIDTH / self.sample_rate

    def wav_bytes(self) -> bytes:
        """The audio as a complete RIFF/WAVE file."""
        return pcm_to_wav(self.pcm, self.sample_rate)


class EngineError(Exception):
    """An engine could not speak, and trying again will not help (unless it is also a `Transient`: TransientEngineError)."""

    def __init__(self, message: str, *, engine: str = "", causes: dict[str, str] | None = None):
        super().__init__(message)
        self.engine = engine
        self.causes: dict[str, str] = dict(causes or {})


class TransientEngineError(EngineError, Transient):
    """An engine could not speak for now (timeout, connection error, HTTP 429 or 5xx): worth a retry later."""


@runtime_checkable
class Engine(Protocol):
    """A speech engine: a name, a version for cache keys, and synthesis."""

    name: str

    def version(self) -> str: ...

    def synthesize(self, text: str, *, voice: str, rate: int = 165, pitch: int = 50) -> Synthesis: ...


def pcm_to_wav(pcm: bytes, sample_rate: int) -> bytes:
    """Wrap 16-bit mono PCM in a WAV header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def require_text(text: str, engine: str) -> str:
    """The text stripped, or a permanent EngineError when there is nothing to say."""
    stripped = text.strip()
    if not stripped:
        raise EngineError(f"{engine}: empty text, nothing to speak", engine=engine)
    return stripped
