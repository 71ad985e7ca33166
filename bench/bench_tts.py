"""Speech benchmark: espeak realtime factor on cold synthesis, phrase-cache hit cost versus a miss, peak RSS.

The realtime factor is seconds of audio produced / wall seconds spent in EspeakEngine.synthesize, over
the normalised sentences of the sample texts (what a render speaks), with no cache involved. It is
measured in ROUNDS rounds and the median is reported with the spread. The cache figures time
`speak()` through a fresh PhraseCache: every line once (miss: synthesis + atomic WAV write), then again
(hit: key hash + sidecar read, no engine call).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from studio.engine.text import speech
from studio.engine.tts import EspeakEngine, PhraseCache, speak

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "assets/defaults/sample-law.txt", ROOT / "tests/data/nghi-quyet-mau-truyen-thanh.txt")
VOICE = "vi"
ROUNDS = 3


def sentences() -> list[str]:
    """Spoken forms of every sentence of the sample texts, as the render pipeline would speak them."""
    out: list[str] = []
    for source in SOURCES:
        if source.is_file():
            for sentence in speech.split_sentences(source.read_text(encoding="utf-8")):
                spoken = speech.normalize(sentence).text
                if len(spoken) >= 10:
                    out.append(spoken)
    if not out:
        raise SystemExit("no sample text found")
    return list(dict.fromkeys(out))  # distinct lines, so the first pass is all misses


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
    normalise_started = time.perf_counter()
    lines = sentences()
    normalise_s = time.perf_counter() - normalise_started
    engine = EspeakEngine()
    engine.version()  # first library load and version lookup, not part of the figures
    factors: list[float] = []
    audio_s = synth_wall = 0.0
    for _round in range(ROUNDS):
        synth_started = time.perf_counter()
        audio_s = sum(engine.synthesize(line, voice=VOICE).duration_s for line in lines)
        synth_wall = time.perf_counter() - synth_started
        factors.append(audio_s / synth_wall)
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as root:
        cache = PhraseCache(Path(root))
        miss_times, miss_hits = _timed_speak(lines, engine, cache)
        hit_times, hit_hits = _timed_speak(lines, engine, cache)
    assert not any(miss_hits) and all(hit_hits), "cache did not behave"
    miss_mean = statistics.fmean(miss_times)
    hit_mean = statistics.fmean(hit_times)
    figures = {
        "engine": engine.version(),
        "sentences": len(lines),
        "characters": sum(len(line) for line in lines),
        "normalise_ms_per_sentence": round(1000 * normalise_s / len(lines), 3),
        "audio_s": round(audio_s, 3),
        "synth_wall_s": round(synth_wall, 4),
        "espeak_realtime_factor": round(statistics.median(factors), 1),
        "espeak_realtime_factor_rounds": [round(f, 1) for f in factors],
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
