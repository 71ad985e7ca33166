"""Upload responsiveness: `/healthz` and a station's schedule.json polled while a 5 MB law is ingested.

Starts uvicorn (one process) on a free port with its own data directory, makes an editor and a station, then
polls `/healthz` and `/stations/{id}/schedule.json` in a loop (every station poll checked against the database:
LAWCAST_STATION_REVALIDATE_S=0) before and while a synthetic law of some 5 MB (thousands of Điều, Khoản and
Điểm) is uploaded as a .txt file. Each latency is one request's round trip on a keep-alive connection. The test tests/studio/test_input_limits.py runs the same measurement against the test stack.
Prints one JSON line.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAW_BYTES = 4_950_000  # under LAWCAST_MAX_UPLOAD_BYTES (5,000,000) with room for nothing else: the file itself
POLL_INTERVAL_S = 0.02
GOAL_P99_MS = 200.0

_HEADER = """QUỐC HỘI
--------
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
---------------
Luật số: 98/2027/QH15

LUẬT
THỬ NGHIỆM TẢI LÊN VĂN BẢN DÀI

Căn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam;
Quốc hội ban hành Luật Thử nghiệm tải lên văn bản dài.

"""
_SUBJECTS = (
    "Ủy ban nhân dân cấp xã",
    "Sở Tư pháp",
    "Trung tâm Truyền thông tỉnh",
    "đài truyền thanh cấp xã",
    "cơ quan, tổ chức, cá nhân có liên quan",
    "Ủy ban nhân dân cấp tỉnh",
)
_ACTS = (
    "tổ chức phổ biến, giáo dục pháp luật qua hệ thống loa truyền thanh cơ sở",
    "kiểm tra, đôn đốc việc thực hiện và tổng hợp báo cáo định kỳ hằng quý",
    "bảo đảm nội dung phát thanh chính xác, ngắn gọn, dễ hiểu, gắn với đời sống của người dân",
    "bố trí kinh phí, nhân lực và trang thiết bị cần thiết cho hoạt động truyền thanh",
)


def synthetic_law(target_bytes: int = LAW_BYTES) -> str:
    """A law of at most `target_bytes` UTF-8 bytes: chapters of 50 articles, each with three clauses and two points."""
    parts, size, article, chapter = [_HEADER], len(_HEADER.encode()), 0, 0
    while True:
        block = ""
        if article % 50 == 0:
            chapter += 1
            block = f"Chương {chapter}\nQUY ĐỊNH VỀ NHÓM VẤN ĐỀ THỨ {chapter}\n\n"
        article += 1
        block += f"Điều {article}. Trách nhiệm thực hiện nội dung thứ {article}\n"
        for clause in range(1, 4):
            who, act = _SUBJECTS[(article + clause) % len(_SUBJECTS)], _ACTS[(article * clause) % len(_ACTS)]
            block += (
                f"{clause}. {who} có trách nhiệm {act} theo quy định tại khoản {clause} Điều {article} của Luật này. "
                f"Việc thực hiện phải bảo đảm công khai, minh bạch, đúng trình tự, thủ tục do Chính phủ quy định chi tiết "
                f"và được báo cáo Hội đồng nhân dân cùng cấp trước ngày {clause + 10} tháng {article % 12 + 1} hằng năm.\n"
            )
        block += (
            f"a) {_SUBJECTS[article % 6]} chủ trì, phối hợp thực hiện trong phạm vi nhiệm vụ, quyền hạn được giao;\n"
            f"b) {_SUBJECTS[(article + 3) % 6]} hướng dẫn, kiểm tra và xử lý vi phạm theo quy định của pháp luật.\n\n"
        )
        grown = len(block.encode())
        if size + grown > target_bytes:
            return "".join(parts)
        parts.append(block)
        size += grown


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """uvicorn with the app factory, one process, on 127.0.0.1:`port`; returns once /healthz answers."""
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError("uvicorn did not come up")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def summary(latencies_s: list[float]) -> dict[str, float]:
    """Count, p50, p99 and max in milliseconds."""
    ms = [v * 1000 for v in latencies_s]
    return {
        "polls": len(ms),
        "p50_ms": round(_percentile(ms, 0.5), 1),
        "p99_ms": round(_percentile(ms, 0.99), 1),
        "max_ms": round(max(ms, default=0.0), 1),
    }


@dataclass
class Poller:
    """Polls `/healthz` and a station's schedule on two keep-alive connections until stopped."""

    port: int
    station_id: int
    station_token: str
    healthz: list[float] = field(default_factory=list)
    schedule: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Poll both paths every POLL_INTERVAL_S; each latency is one request's round trip."""
        conns = [http.client.HTTPConnection("127.0.0.1", self.port, timeout=30) for _ in range(2)]
        auth = {"Authorization": f"Bearer {self.station_token}"}
        due = time.perf_counter()
        try:
            while not self.stop.is_set():
                for conn, path, headers, sink in (
                    (conns[0], "/healthz", {}, self.healthz),
                    (conns[1], f"/stations/{self.station_id}/schedule.json", auth, self.schedule),
                ):
                    sent = time.perf_counter()
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    self.statuses.add(response.status)
                    sink.append(time.perf_counter() - sent)
                due = max(due + POLL_INTERVAL_S, time.perf_counter() - POLL_INTERVAL_S)
                time.sleep(max(0.0, due - time.perf_counter()))
        finally:
            for conn in conns:
                conn.close()


def upload(port: int, token: str, law: bytes, filename: str = "luat-thu-nghiem.txt") -> tuple[int, dict[str, Any]]:
    """POST the law as a multipart .txt file; returns (status, JSON answer)."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + law
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request(
            "POST",
            "/api/documents",
            body=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def measure(
    port: int, editor_token: str, station_id: int, station_token: str, law: str, baseline_s: float = 2.0
) -> dict[str, Any]:
    """Poll for `baseline_s` seconds idle, then while `law` is uploaded; the figures of both phases."""
    data = law.encode("utf-8")
    # The first answers fill caches; they are not what is measured.
    for path, headers in (
        ("/healthz", {}),
        (f"/stations/{station_id}/schedule.json", {"Authorization": f"Bearer {station_token}"}),
    ):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers), timeout=30).read()
    idle = Poller(port, station_id, station_token)
    thread = threading.Thread(target=idle.run, daemon=True)
    thread.start()
    time.sleep(baseline_s)
    idle.stop.set()
    thread.join()
    busy = Poller(port, station_id, station_token)
    thread = threading.Thread(target=busy.run, daemon=True)
    thread.start()
    time.sleep(0.2)
    started = time.perf_counter()
    status, answer = upload(port, editor_token, data)
    upload_s = time.perf_counter() - started
    busy.stop.set()
    thread.join()

    def count(nodes: list[dict[str, Any]]) -> int:
        return sum(1 + count(n["children"]) for n in nodes)

    provisions = count(answer.get("provisions", [])) if status == 201 else 0
    return {
        "law_bytes": len(data),
        "articles": law.count("\nĐiều "),
        "provisions": provisions,
        "upload_status": status,
        "upload_s": round(upload_s, 2),
        "poll_statuses": sorted(busy.statuses | idle.statuses),
        "idle": {"healthz": summary(idle.healthz), "schedule": summary(idle.schedule)},
        "during_upload": {"healthz": summary(busy.healthz), "schedule": summary(busy.schedule)},
        "goal_p99_ms": GOAL_P99_MS,
        **({"error": answer} if status != 201 else {}),
    }


def seed(data_dir: Path) -> tuple[str, int, str]:
    """A migrated database with an editor and a station in an area; returns (editor token, station id, station token)."""
    os.environ.update(LAWCAST_DATA_DIR=str(data_dir))
    os.environ.pop("LAWCAST_DATABASE_URL", None)
    import app  # noqa: F401  (imports every model)
    import auth
    from broadcast import service as broadcast_service
    from db import session_scope
    from migrations import upgrade

    upgrade()
    with session_scope() as session:
        editor = auth.create_user(session, name="bench-editor", role="editor")
        token = auth.issue_token(session, user=editor)
        area = broadcast_service.create_area(session, name="Xã Bench tải lên", kind="commune")
        station, station_token = broadcast_service.create_station(session, area_id=area.id, name="Trạm Bench tải lên")
        return token, station.id, station_token


def main() -> None:
    """Seed, serve, measure, print the figures as one JSON line."""
    tmp = Path(tempfile.mkdtemp(prefix="lawcast-bench-upload-"))
    token, station_id, station_token = seed(tmp / "data")
    port = free_port()
    env = dict(
        os.environ,
        LAWCAST_DATA_DIR=str(tmp / "data"),
        LAWCAST_BASE_URL=f"http://127.0.0.1:{port}",
        LAWCAST_STATION_REVALIDATE_S="0",
    )
    server = start_server(env, port)
    try:
        figures = measure(port, token, station_id, station_token, synthetic_law())
    finally:
        stop_server(server)
    print(json.dumps({"cpus": os.cpu_count(), **figures}, ensure_ascii=False))


if __name__ == "__main__":
    main()
