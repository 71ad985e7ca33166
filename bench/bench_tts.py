"""Speech benchmark: espeak realtime factor, phrase-cache hit cost versus a miss, peak RSS."""

from __future__ import annotations

import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from studio.tts import EspeakEngine, PhraseCache, speak

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "assets/defaults/sample-law.txt", Path("/work/shared/samples/nghi-quyet-mau-truyen-thanh.txt"))
SENTENCES = 20
VOICE = "vi"


def sentences(limit: int = SENTENCES) -> list[str]:
    """The first `limit` sentence-like pieces of the sample law, long enough to be speech."""
    source = next((path for path in SOURCES if path.is_file()), None)
    if source is None:
        raise SystemExit("no sample law text found")
    pieces = re.split(r"(?<=[.;:!?])\s+|\n+", source.read_text(encoding="utf-8"))
    return [piece.strip() for piece in pieces if len(piece.strip()) >= 25][:limit]


def _timed_speak(lines: list[str], engine: EspeakEngine, cache: PhraseCache) -> tuple[list[float], list[bool]]:
    times: list[float] = []
    hits: list[bool] = []
    for line in lines:
        started = time.perf_counter()
        phrase = speak(line, engines=[engine], cache=cache, voice=VOICE)
        times.append(time.perf_counter() - started)
        hits.append(phrase.hit)
    return times, hits


def main() -> None:
    """Print one JSON object with the figures."""
    started = time.perf_counter()
    lines = sentences()
    engine = EspeakEngine()
    engine.version()  # first library load and version lookup, not part of the figures
    synth_started = time.perf_counter()
    audio_s = sum(engine.synthesize(line, voice=VOICE).duration_s for line in lines)
    synth_wall = time.perf_counter() - synth_started
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as root:
        cache = PhraseCache(Path(root))
        miss_times, miss_hits = _timed_speak(lines, engine, cache)
        hit_times, hit_hits = _timed_speak(lines, engine, cache)
    assert not any(miss_hits) and all(hit_hits), "cache did not behave"
    miss_mean = sum(miss_times) / len(miss_times)
    hit_mean = sum(hit_times) / len(hit_times)
    figures = {
        "engine": engine.version(),
        "sentences": len(lines),
        "characters": sum(len(line) for line in lines),
        "audio_s": round(audio_s, 3),
        "synth_wall_s": round(synth_wall, 4),
        "espeak_realtime_factor": round(audio_s / synth_wall, 1),
        "cache_miss_mean_s": round(miss_mean, 5),
        "cache_hit_mean_s": round(hit_mean, 6),
        "cache_hit_to_miss_ratio": round(hit_mean / miss_mean, 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "wall_s": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(figures, ensure_ascii=False))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
