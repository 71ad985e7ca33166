"""Optional neural speech through piper-tts and an ONNX voice model (not a hard dependency)."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from studio.engine.tts.base import EngineError, Synthesis, require_text

NAME = "piper"
NEUTRAL_RATE = 165


def unavailable_reason(model_path: Path | None) -> str | None:
    """Why piper cannot be used here, or None when the package and model are present."""
    try:
        metadata.version("piper-tts")
    except metadata.PackageNotFoundError:
        return "the piper-tts package is not installed"
    if importlib.util.find_spec("piper") is None:
        return "the piper-tts package is installed without its piper module"
    if model_path is None:
        return "no piper model configured (LAWCAST_PIPER_MODEL)"
    if not Path(model_path).is_file():
        return f"piper model {model_path} does not exist"
    return None


class PiperEngine:
    """piper-tts with one .onnx model; the model is the voice, so lawcast voice ids all map to it."""

    name = NAME

    def __init__(self, model_path: Path):
        reason = unavailable_reason(model_path)
        if reason:
            raise EngineError(f"piper: {reason}", engine=NAME)
        self.model_path = Path(model_path)
        self._voice: Any = None
        self._digest: str | None = None
        self._lock = threading.Lock()

    def version(self) -> str:
        """piper-tts version plus a digest of the model file (the model decides the sound)."""
        with self._lock:
            if self._digest is None:
                with self.model_path.open("rb") as handle:
                    self._digest = hashlib.file_digest(handle, "sha256").hexdigest()[:16]
        return f"piper-tts {metadata.version('piper-tts')}; model {self.model_path.name} {self._digest}"

    def resolve_voice(self, voice: str) -> str:
        """Any voice id speaks with the model's own voice."""
        return self.model_path.stem

    def synthesize(self, text: str, *, voice: str, rate: int = 165, pitch: int = 50) -> Synthesis:
        """Speak `text` with the model; rate maps to piper's length scale, pitch is not supported."""
        spoken = require_text(text, NAME)
        length_scale = NEUTRAL_RATE / max(1, rate)
        with self._lock:
            try:
                model = self._load()
            except Exception as exc:  # a model that does not load (corrupt file, wrong onnxruntime)
                raise EngineError(f"piper: cannot load {self.model_path.name}: {exc}", engine=NAME) from exc
            try:
                pcm = _synthesize_pcm(model, spoken, length_scale)
            except Exception as exc:  # piper raises assorted onnxruntime errors
                raise EngineError(f"piper: synthesis failed: {exc}", engine=NAME) from exc
        if not pcm:
            raise EngineError("piper: no audio", engine=NAME)
        return Synthesis(pcm=pcm, sample_rate=int(model.config.sample_rate), engine=NAME, voice=self.model_path.stem)

    def _load(self) -> Any:
        if self._voice is None:
            from piper import PiperVoice

            self._voice = PiperVoice.load(str(self.model_path))
        return self._voice


def _synthesize_pcm(model: Any, text: str, length_scale: float) -> bytes:
    """PCM from either piper API generation (1.3+ chunks, or 1.2 raw stream)."""
    if hasattr(model, "synthesize_stream_raw"):
        return b"".join(model.synthesize_stream_raw(text, length_scale=length_scale))
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=length_scale)
    return b"".join(chunk.audio_int16_bytes for chunk in model.synthesize(text, syn_config=config))
