"""Offline speech through libespeak-ng (from the espeakng-loader wheel), called with ctypes."""

from __future__ import annotations

import _ctypes
import ctypes
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import metadata
from pathlib import Path

from studio.engine.tts.base import EngineError, Synthesis, require_text

NAME = "espeak"

# Constants from speak_lib.h.
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_DONT_EXIT = 0x8000
POS_CHARACTER = 1
CHARS_UTF8 = 1
PARAM_RATE = 1
PARAM_PITCH = 3
EE_OK = 0
RATE_RANGE = (80, 450)
PITCH_RANGE = (0, 100)

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


_package_version = cache(metadata.version)  # speak() asks for version() on every line


class _Library:
    """One freshly loaded libespeak-ng, initialised for synchronous synthesis.

    libespeak-ng keeps synthesis state in static variables that no API resets (pitch flutter
    phase, gain control, cycle counters), so the same text comes out differently depending on
    what was spoken before. Loading a fresh copy per synthesis (a few ms) makes output a pure
    function of (text, voice, rate, pitch): cache keys, render hashes and threads then agree.
    """

    def __init__(self) -> None:
        import espeakng_loader

        self.data_path = Path(espeakng_loader.get_data_path())
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path(), mode=ctypes.RTLD_LOCAL)
        self._declare()
        self.sample_rate = self.lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(), INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            self.close()
            raise EngineError(f"espeak: initialisation failed ({self.sample_rate})", engine=NAME)
        self.lib.espeak_SetSynthCallback(_CALLBACK)
        self.info = (self.lib.espeak_Info(None) or b"unknown").decode()

    def _declare(self) -> None:
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Terminate.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p

    def synth(self, text: str, voice: str, rate: int, pitch: int) -> bytes:
        """Speak `text`; the caller holds the lock."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise EngineError(f"espeak: unknown voice {voice!r}", engine=NAME)
        # Parameters after the voice: selecting a voice resets them.
        self.lib.espeak_SetParameter(PARAM_RATE, rate, 0)
        self.lib.espeak_SetParameter(PARAM_PITCH, pitch, 0)
        data = text.encode("utf-8") + b"\0"
        _chunks.clear()
        try:
            status = self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            pcm = b"".join(_chunks)
        finally:
            _chunks.clear()
        if status != EE_OK:
            raise EngineError(f"espeak: synthesis failed ({status})", engine=NAME)
        return pcm

    def close(self) -> None:
        """Terminate and unload, so the next load starts from pristine static state."""
        self.lib.espeak_Terminate()
        _ctypes.dlclose(self.lib._handle)


# Samples land here from the C callback; only touched with _lock held.
_chunks: list[bytes] = []


def _collect(wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
    if count > 0 and wav:
        _chunks.append(ctypes.string_at(wav, count * 2))
    return 0


_CALLBACK = _SynthCallback(_collect)  # module-level: C keeps only the raw pointer
_lock = threading.Lock()
_info: str | None = None


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # a fork while another thread held the lock would leave it locked forever


os.register_at_fork(after_in_child=_reset_after_fork)


@contextmanager
def _library() -> Iterator[_Library]:
    """A freshly loaded library for one call; the caller holds the lock (the library is global state)."""
    try:
        library = _Library()
    except OSError as exc:
        raise EngineError(f"espeak: libespeak-ng unavailable: {exc}", engine=NAME) from exc
    try:
        yield library
    finally:
        library.close()


def voice_exists(voice: str) -> bool:
    """Whether espeak-ng's data directory has a voice file of this name (lang/**/<voice>)."""
    import espeakng_loader

    data = Path(espeakng_loader.get_data_path())
    lowered = voice.lower()
    return any(path.name.lower() == lowered for path in (data / "lang").rglob("*") if path.is_file())


class EspeakEngine:
    """eSpeak NG: fast, offline, robotic; the default engine."""

    name = NAME

    def version(self) -> str:
        """libespeak-ng version plus the espeakng-loader wheel version."""
        global _info
        with _lock:
            if _info is None:
                with _library() as library:
                    _info = library.info
            info = _info
        return f"espeak-ng {info}; espeakng-loader {_package_version('espeakng-loader')}"

    def resolve_voice(self, voice: str) -> str:
        """lawcast voice ids are espeak-ng voice names already."""
        return voice

    def synthesize(self, text: str, *, voice: str, rate: int = 165, pitch: int = 50) -> Synthesis:
        """Speak `text` with an espeak-ng voice at `rate` words/minute and `pitch` 0..100."""
        spoken = require_text(text, NAME)
        _check_range("rate", rate, RATE_RANGE)
        _check_range("pitch", pitch, PITCH_RANGE)
        with _lock, _library() as library:
            pcm = library.synth(spoken, voice, rate, pitch)
            sample_rate = library.sample_rate
        if not pcm:
            raise EngineError(f"espeak: no audio for {text[:40]!r}", engine=NAME)
        return Synthesis(pcm=pcm, sample_rate=sample_rate, engine=NAME, voice=voice)


def _check_range(label: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise EngineError(f"espeak: {label} {value} outside {low}..{high}", engine=NAME)


__all__ = ["EspeakEngine", "voice_exists"]
