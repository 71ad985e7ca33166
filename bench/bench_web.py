""""Nghe thử" latency: a signed-in browser's request for one line's speech, over real HTTP to uvicorn.

Prints JSON: for phrases already in the phrase cache (the goal is ≤ 300 ms), and for first hearings (espeak runs),
the client-side time of GET /app/speech/say until the whole WAV has arrived, p50/p95/max in milliseconds.
Run alone with `python -m bench bench_web`.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import tempfile
import threading
import time

LINES = [
    "Kính thưa quý vị thính giả, chào mừng quý vị đến với chuyên mục Tìm hiểu pháp luật.",
    "Theo Nghị định 15/2020/NĐ-CP, mức phạt có thể lên tới 1.500.000 đồng.",
    "Điều 5 khoản 2 điểm đ quy định trách nhiệm của Ủy ban nhân dân cấp xã.",
    "Luật có hiệu lực thi hành kể từ ngày 01/01/2026.",
    "Người dân có thể gọi số điện thoại 0203 3835 123 để được giải đáp.",
]
REPEATS = 20


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


def main() -> None:
    """Serve the app on a free port, sign in through /app/login, and time "Nghe thử" requests."""
    data = tempfile.mkdtemp(prefix="lawcast-bench-web-")
    os.environ.update(LAWCAST_DATA_DIR=data, LAWCAST_TTS_ENGINES="espeak", LAWCAST_BASE_URL="http://127.0.0.1")
    import httpx
    import uvicorn

    import auth
    from app import create_app
    from db import session_scope
    from migrations import upgrade

    upgrade()
    with session_scope() as session:
        user = auth.create_user(session, name="bench-editor", role="editor")
        auth.set_password(session, user=user, password="bench-password")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        form = client.get("/app/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        client.post("/app/login", data={"username": "bench-editor", "password": "bench-password", "csrf_token": csrf})
        first, cached = [], []
        for line in LINES:
            for attempt in range(REPEATS + 1):
                began = time.perf_counter()
                answer = client.get("/app/speech/say", params={"text": line, "speaker": "presenter"})
                took = (time.perf_counter() - began) * 1000
                assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav", answer.text[:200]
                (first if attempt == 0 else cached).append(took)
                assert attempt == 0 or answer.headers["x-phrase-cache"] == "hit"
    server.should_exit = True
    print(json.dumps({"nghe_thu_cached": _percentiles(cached), "nghe_thu_first": _percentiles(first), "goal_cached_ms": 300}))


if __name__ == "__main__":
    main()
