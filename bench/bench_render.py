"""Radio render benchmark: a 3-minute segment of the sample law, cold, bare ffmpeg, re-render and memory.

Figures (each side in its own fresh process, so caches and peak RSS belong to one render):
- cold: empty phrase and section caches, espeak, a process that has measured nothing yet; wall time and realtime factor;
- bare: the exact ffmpeg command lines the cold render ran, run again with subprocess, same process,
  as many at a time as the render ran them (one per core), each after the runs that wrote its inputs;
  the cold render also synthesises the speech (on its own core, while sections are mixed), so a
  second pair renders with the speech cached and the sections not, against its own bare re-run;
- rerender: the same worker-like process renders again after one line was edited;
- memory: peak RSS of the Python process and of the largest ffmpeg child.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from studio.engine import pipeline
from studio.engine.render import _ffmpeg_run as runner
from studio.engine.spec import RenderedFile, RenderSpec, Report
from studio.engine.text import legal, scripts
from studio.engine.tts import PhraseCache, build_engines

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "defaults" / "sample-law.txt"
PROVISIONS = ("Điều 1", "Điều 2", "Điều 3", "Điều 4", "Điều 7")  # about three minutes of speech with espeak
EDITED_LINE = "Điều 3"  # the heading line of this provision gets one more word in the re-render


def _body(node: legal.Provision) -> str:
    parts = [node.text.strip()] if node.text.strip() else []
    for child in node.children:
        prefix = f"{child.label}: " if child.kind in ("khoan", "diem") else f"{child.label}. {child.heading} "
        inner = _body(child)
        if inner:
            parts.append(prefix + inner)
    return " ".join(parts)


def _walk(nodes: list[legal.Provision]):
    for node in nodes:
        yield node
        yield from _walk(node.children)


def sample_provisions() -> tuple[scripts.DocumentInfo, list[scripts.ProvisionText]]:
    """The sample law's articles as the templates see them (the same text the studio service builds)."""
    parsed = legal.parse_document(SAMPLE.read_text(encoding="utf-8"))
    articles = [n for n in _walk(parsed.provisions) if n.kind == "dieu"]
    provisions = [scripts.ProvisionText(i + 1, n.label, n.heading, _body(n)) for i, n in enumerate(articles)]
    meta = parsed.meta
    return scripts.DocumentInfo(meta.title or "Quyết định", meta.doc_type, meta.number, "01/04/2025"), provisions


def radio_lines() -> list[scripts.ScriptLine]:
    """The radio template's script for the chosen articles of the sample law."""
    info, provisions = sample_provisions()
    chosen = [p for p in provisions if p.label in PROVISIONS]
    return scripts.radio_script(info, chosen).lines


def edited(lines: list[scripts.ScriptLine]) -> list[scripts.ScriptLine]:
    """The same script with one line changed (one word added to a heading)."""
    out = list(lines)
    index = next(i for i, line in enumerate(out) if line.text.startswith(EDITED_LINE))
    out[index] = replace(out[index], text=out[index].text.rstrip(".") + " mới.")
    return out


class _Recorder:
    """Stands in for the subprocess module inside studio.engine.render._ffmpeg_run and keeps every ffmpeg argv."""

    def __init__(self, keep: Path) -> None:
        self.commands: list[list[str]] = []
        self.seconds: list[float] = []
        self.keep = keep  # inputs that Python (not an earlier ffmpeg pass) wrote, copied for the bare re-run
        self.kept: dict[str, Path] = {}

    def install(self) -> None:
        recorder = self

        class Popen(subprocess.Popen[bytes]):
            def __init__(self, args, *rest, **kwargs):
                recorder.commands.append(list(args))
                for arg in args:
                    if Path(arg).name.startswith("joined-") and Path(arg).is_file():
                        recorder.keep.mkdir(parents=True, exist_ok=True)
                        recorder.kept[arg] = Path(shutil.copy(arg, recorder.keep / f"{len(recorder.kept)}.wav"))
                self._started = time.perf_counter()
                super().__init__(args, *rest, **kwargs)

            def wait(self, timeout=None):
                code = super().wait(timeout)
                if not getattr(self, "_timed", False):
                    self._timed = True
                    recorder.seconds.append(time.perf_counter() - self._started)
                return code

        mock.patch.object(
            runner,
            "subprocess",
            SimpleNamespace(
                Popen=Popen, PIPE=subprocess.PIPE, DEVNULL=subprocess.DEVNULL, TimeoutExpired=subprocess.TimeoutExpired
            ),
        ).start()


def _render(lines: list[scripts.ScriptLine], work: Path, cache: PhraseCache) -> tuple[float, float, RenderedFile]:
    spec = RenderSpec(
        profile="radio", title="Tìm hiểu pháp luật", album="Tìm hiểu pháp luật", artist="bench", lines=lines, lexicon={}
    )
    engines = build_engines(["espeak"])
    marks: dict[str, float] = {}

    def mark(fraction: float, stage: str) -> None:
        marks.setdefault(stage, time.perf_counter())

    report = Report(progress=mark)
    started = time.perf_counter()
    files = pipeline.render(spec, work_dir=work, engines=engines, cache=cache, report=report)
    elapsed = time.perf_counter() - started
    speech = marks.get("mix", started) - started
    return elapsed, speech, files[0]


def _bare(commands: list[list[str]], kept: dict[str, Path]) -> tuple[float, list[float]]:
    """Run recorded command lines again, one per core as the render did, each after the runs that wrote its inputs."""
    for argv in commands:
        for arg in argv:
            if arg.endswith((".wav", ".part", ".mp3")) and "/." in arg:
                Path(arg).parent.mkdir(parents=True, exist_ok=True)
            if arg in kept:
                shutil.copy(kept[arg], arg)
    cores = threading.Semaphore(os.cpu_count() or 1)
    written: dict[str, Future[float]] = {}

    def one(argv: list[str], after: list[Future[float]]) -> float:
        for job in after:
            job.result()
        with cores:
            started = time.perf_counter()
            subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(commands) or 1) as pool:
        jobs = []
        for argv in commands:
            reads = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "-i"]
            job = pool.submit(one, argv, [written[r] for r in reads if r in written])
            jobs.append(job)
            for arg in argv:
                if arg.endswith((".wav", ".part", ".mp3")) and arg not in reads:
                    written[arg] = job
        seconds = [job.result() for job in jobs]
    return time.perf_counter() - started, seconds


def worker(root: str) -> None:
    """One render process: cold render, bare re-run of its ffmpeg commands, then a re-render after an edit."""
    base = Path(root)
    cache = PhraseCache(base / "cache")
    build_engines(["espeak"])[0].version()  # loading libespeak-ng is process start-up, not render work
    lines = radio_lines()
    recorder = _Recorder(base / "kept")
    recorder.install()
    cold_s, speech_s, audio = _render(lines, base / "work-cold", cache)
    cold_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    commands, pass_s = list(recorder.commands), list(recorder.seconds)
    bare_s, bare = _bare(commands, recorder.kept)
    # The same render with the speech already cached and the sections not: our work around ffmpeg, without the synthesis.
    shutil.rmtree(cache.root / "sections")
    recorder.commands.clear()
    recorder.seconds.clear()
    mix_only_s, _, _ = _render(lines, base / "work-mix", cache)
    mix_only_bare_s, _ = _bare(list(recorder.commands), recorder.kept)
    recorder.commands.clear()
    recorder.seconds.clear()
    rerender_s, rerender_speech_s, _ = _render(edited(lines), base / "work-edit", cache)
    print(
        json.dumps(
            {
                "cold_s": cold_s,
                "speech_s": speech_s,
                "duration_s": audio.duration_s,
                "lufs": audio.loudness_lufs,
                "passes_s": pass_s,
                "bare_s": bare,
                "bare_wall_s": bare_s,
                "mix_only_s": mix_only_s,
                "mix_only_bare_s": mix_only_bare_s,
                "rerender_s": rerender_s,
                "rerender_passes_s": list(recorder.seconds),
                "rerender_speech_s": rerender_speech_s,
                "python_rss_mb": cold_rss,
                "ffmpeg_rss_mb": child_rss,
                "commands": [len(c) for c in commands],
            }
        )
    )


ROUNDS = 3  # fresh processes; the median is reported, the machine has 2 noisy cores


def _round() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", f"from bench.bench_render import worker; worker({tmp!r})"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Print one JSON object with the figures (median of ROUNDS cold processes, every round listed too)."""
    rounds = [_round() for _ in range(ROUNDS)]
    for got in rounds:
        got["ratio"] = got["rerender_s"] / got["cold_s"]
    got = sorted(rounds, key=lambda r: r["cold_s"])[len(rounds) // 2]
    bare_s = got["bare_wall_s"]
    workers = os.cpu_count() or 1
    figures = {
        "engine": "espeak",
        "audio_s": round(got["duration_s"], 2),
        "rounds": ROUNDS,
        "cold_render_s": round(got["cold_s"], 3),
        "cold_render_s_each": [round(r["cold_s"], 3) for r in rounds],
        "cold_realtime_x": round(got["duration_s"] / got["cold_s"], 1),
        "cold_speech_done_at_s": round(got["speech_s"], 3),  # sections mix while later lines are spoken
        "cold_ffmpeg_runs_s": [round(s, 3) for s in got["passes_s"]],
        "bare_ffmpeg_s": round(bare_s, 3),
        "bare_ffmpeg_runs_s": [round(s, 3) for s in got["bare_s"]],
        "ours_over_bare": round(got["cold_s"] / bare_s, 3),
        "ours_over_bare_each": [round(r["cold_s"] / r["bare_wall_s"], 3) for r in rounds],
        # speech cached, sections not: the same ffmpeg runs with and without our code around them
        "warm_speech_render_s": round(got["mix_only_s"], 3),
        "warm_speech_bare_ffmpeg_s": round(got["mix_only_bare_s"], 3),
        "warm_speech_ours_over_bare": round(got["mix_only_s"] / got["mix_only_bare_s"], 3),
        "warm_speech_ours_over_bare_each": [round(r["mix_only_s"] / r["mix_only_bare_s"], 3) for r in rounds],
        "ffmpeg_runs": len(got["passes_s"]),
        "rerender_s": round(got["rerender_s"], 3),
        "rerender_ffmpeg_runs_s": [round(s, 3) for s in got["rerender_passes_s"]],
        "rerender_over_cold": round(got["ratio"], 3),
        "rerender_over_cold_each": [round(r["ratio"], 3) for r in rounds],
        "peak_rss_mb": {
            "python": round(max(r["python_rss_mb"] for r in rounds), 1),
            "largest_ffmpeg": round(max(r["ffmpeg_rss_mb"] for r in rounds), 1),
            # one ffmpeg per core runs at a time
            "render_total_upper_bound": round(max(r["python_rss_mb"] + workers * r["ffmpeg_rss_mb"] for r in rounds), 1),
        },
        "loudness_lufs": got["lufs"],
        "goals": {"cold_render_s": 2.0, "ours_over_bare": 1.3, "rerender_over_cold": 0.4, "peak_rss_mb": 300},
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
