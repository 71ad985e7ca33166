"""Online speech from Google Translate's TTS endpoint, with the robustness gTTS itself lacks.

gTTS 2.2.4 is used for what it does well (chunking text to <=100 characters, packaging the
batchexecute RPC payload, the response format); the HTTP is ours: timeout, retries with
exponential backoff and jitter on 429/5xx/connection errors, and a process-wide throttle.
"""

from __future__ import annotations

import base64
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from functools import cache
from importlib import metadata

import imageio_ffmpeg
import requests
from gtts import gTTS
from gtts.lang import tts_langs
from gtts.tokenizer import pre_processors

from studio.engine.render import _ffmpeg as ff
from studio.engine.tts.base import LAWCAST_VOICES, EngineError, Synthesis, TransientEngineError, require_text

log = logging.getLogger(__name__)

NAME = "gtts"
SAMPLE_RATE = 24000
NEUTRAL_RATE = 165
NEUTRAL_PITCH = 50
PITCH_SPAN_SEMITONES = 4.0
DEFAULT_TLD = "com"
RPC_PATH = "/_/TranslateWebserverUi/data/batchexecute"
_AUDIO_LINE = re.compile(r'jQ1olc","\[\\"(.*)\\"]')


class _Throttle:
    """Minimum spacing between request starts; reservations under a lock, sleeping outside it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at = 0.0

    def wait(self, min_interval_s: float) -> None:
        """Block until this caller's turn, at least `min_interval_s` after the previous one."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_at)
            self._next_at = start + min_interval_s
        if start > now:
            time.sleep(start - now)


_throttles: dict[str, _Throttle] = {}
_throttles_lock = threading.Lock()


def throttle_for(host: str) -> _Throttle:
    """The process-wide throttle for one destination host."""
    with _throttles_lock:
        return _throttles.setdefault(host, _Throttle())


_package_version = cache(metadata.version)  # speak() asks for version() on every line


@dataclass(frozen=True)
class _Failure:
    reason: str
    retry_after_s: float | None = None


class GttsEngine:
    """Google Translate TTS, one request per <=100-character chunk, decoded to 24 kHz mono PCM."""

    name = NAME

    def __init__(
        self,
        host: str | None = None,
        *,
        timeout_s: float = 10,
        retries: int = 3,
        min_interval_s: float = 0.3,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        tld: str = DEFAULT_TLD,
    ):
        self.host = (host or f"https://translate.google.{tld}").rstrip("/")
        self.url = self.host + RPC_PATH
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.min_interval_s = min_interval_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._throttle = throttle_for(self.host)
        self._local = threading.local()

    def version(self) -> str:
        """gTTS payload version plus the ffmpeg build that decodes the MP3."""
        return f"gtts {_package_version('gTTS')}; imageio-ffmpeg {imageio_ffmpeg.__version__}"

    def resolve_voice(self, voice: str) -> str:
        """Google has one Vietnamese voice: every lawcast voice id maps to lang "vi"."""
        if voice in LAWCAST_VOICES or voice.lower().startswith("vi"):
            return "vi"
        if voice in tts_langs():
            return voice
        raise EngineError(f"gtts: unknown language/voice {voice!r}", engine=NAME)

    def synthesize(self, text: str, *, voice: str, rate: int = 165, pitch: int = 50) -> Synthesis:
        """Fetch each chunk of `text`, decode it, and join the PCM; rate/pitch are applied by ffmpeg."""
        spoken = require_text(text, NAME)
        lang = self.resolve_voice(voice)
        tts = _gtts(spoken, lang)
        try:
            chunks = [chunk for chunk in tts._tokenize(spoken) if chunk.strip()]
        except AssertionError as exc:
            raise EngineError(f"gtts: nothing to speak in {text[:40]!r}", engine=NAME) from exc
        if not chunks:
            raise EngineError(f"gtts: nothing to speak in {text[:40]!r}", engine=NAME)
        pcm = b"".join(decode_mp3(self.fetch(tts._package_rpc(chunk)), rate=rate, pitch=pitch) for chunk in chunks)
        return Synthesis(pcm=pcm, sample_rate=SAMPLE_RATE, engine=NAME, voice=lang)

    def fetch(self, body: str) -> bytes:
        """POST one RPC body, retrying transient failures; the MP3 bytes of the answer."""
        failures: list[str] = []
        for attempt in range(self.retries + 1):
            self._throttle.wait(self.min_interval_s)
            outcome = self._attempt(body)
            if isinstance(outcome, bytes):
                return outcome
            failures.append(outcome.reason)
            if attempt < self.retries:
                delay = self._backoff(attempt, outcome.retry_after_s)
                log.info("gtts: %s; retry %d/%d in %.2fs", outcome.reason, attempt + 1, self.retries, delay)
                time.sleep(delay)
        raise TransientEngineError(f"gtts: {self.host} failed after {len(failures)} attempts: {'; '.join(failures)}", engine=NAME)

    def _attempt(self, body: str) -> bytes | _Failure:
        try:
            response = self._session().post(
                self.url, data=body.encode("utf-8"), headers=_headers(), timeout=(self.timeout_s, self.timeout_s)
            )
        except requests.Timeout as exc:
            return _Failure(f"timeout after {self.timeout_s}s ({type(exc).__name__})")
        except requests.RequestException as exc:
            return _Failure(f"connection error ({type(exc).__name__}: {exc})")
        status = response.status_code
        if status == 200:
            return parse_audio(response.text)
        if status == 429 or status >= 500:
            return _Failure(f"HTTP {status}", _retry_after(response))
        raise EngineError(f"gtts: HTTP {status} from {self.host} (not retried)", engine=NAME)

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        base = min(self.backoff_max_s, self.backoff_base_s * 2.0**attempt)
        if retry_after_s is not None:
            base = max(base, min(retry_after_s, self.backoff_max_s))
        # Jitter only adds, so callers can count on at least the exponential delay.
        return base * (1 + random.uniform(0, 0.5))

    def _session(self) -> requests.Session:
        # requests.Session is not documented thread-safe: one per thread, reusing connections.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session


def _gtts(text: str, lang: str) -> gTTS:
    """A gTTS object for tokenising and packaging only (never sends anything)."""
    # Only language-neutral pre-processors: the English abbreviation and word substitutions would
    # rewrite Vietnamese text that speech.py has already normalised.
    return gTTS(text, lang=lang, lang_check=False, pre_processor_funcs=[pre_processors.tone_marks, pre_processors.end_of_line])


def _headers() -> dict[str, str]:
    return dict(gTTS.GOOGLE_TTS_HEADERS)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def parse_audio(body: str) -> bytes:
    """The MP3 carried by a batchexecute answer (base64 in the jQ1olc RPC lines)."""
    parts = [base64.b64decode(match.group(1)) for line in body.splitlines() if (match := _AUDIO_LINE.search(line))]
    if not parts or not any(parts):
        raise EngineError("gtts: answer carried no audio (unsupported language or API change)", engine=NAME)
    return b"".join(parts)


def decode_mp3(mp3: bytes, *, rate: int = NEUTRAL_RATE, pitch: int = NEUTRAL_PITCH) -> bytes:
    """MP3 -> signed 16-bit mono PCM at 24 kHz via the imageio-ffmpeg binary, through pipes."""
    factor, tempo = _voice(rate, pitch)
    try:
        return ff.run_piped(ff.pcm_decode_args("mp3", SAMPLE_RATE, pitch_factor=factor, tempo=tempo), mp3, timeout_s=120)
    except ff.FFmpegError as exc:
        raise EngineError(f"gtts: could not decode MP3: {(exc.stderr or str(exc)).strip()[-300:]}", engine=NAME) from exc


def _voice(rate: int, pitch: int) -> tuple[float | None, float]:
    """Pitch factor (None: leave the voice as it is) and tempo for speaking rate and pitch relative to gTTS' neutral voice."""
    if rate == NEUTRAL_RATE and pitch == NEUTRAL_PITCH:
        return None, 1.0
    tempo = min(2.0, max(0.5, rate / NEUTRAL_RATE))
    return 2 ** ((pitch - NEUTRAL_PITCH) / 50 * PITCH_SPAN_SEMITONES / 12), tempo
