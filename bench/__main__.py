"""Run every benchmark in its own process and print one JSON document with all figures."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "bench_tts",
    "bench_render",
    "bench_video",
    "bench_scheduler",
    "bench_broadcast",
    "bench_lists",
    "bench_http",
    "bench_upload",
    "bench_web",
]


def run(name: str) -> dict[str, object]:
    """Run one benchmark module in a fresh interpreter and parse its JSON."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", f"from bench.{name} import main; main()"],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-5:], "wall_s": round(time.monotonic() - started, 2)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print {benchmark: figures} for every benchmark present (or those named on the command line)."""
    names = sys.argv[1:] or [n for n in ORDER if (HERE / f"{n}.py").exists()]
    results = {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = run(name)
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
