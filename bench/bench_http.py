"""HTTP benchmark: a 50-item podcast feed and a station schedule through uvicorn, under a real load generator.

Seeds its own data in a temp LAWCAST_DATA_DIR (rows and small media files through the services, no
rendering), starts uvicorn with 1 and 2 workers, and measures with wrk (or, without it, an asyncio
client in another process, keep-alive where the server allows it): 304s to conditional polls, full 200s, and p99 latency at 200
connections (closed loop, at saturation), plus p99 at the same 200 connections under a fixed offered
load of PACED_RPS (open loop, bench/_http_client.py). The same feed bytes are served as a static file by nginx (or python -m http.server) in
the same run for the ratio. Station schedules are measured twice: one station polled hard (answered
from memory between database checks) and, with revalidation off, bench._stations.STATIONS stations
in turn, every poll checked against the database as in the field. Prints one JSON line; what this run
lacks (wrk, nginx, any static peer) is said in one line each on stderr, and its figures are left out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPISODES = 50
CONNECTIONS = 200
DURATION_S = 5
POLLERS_PER_S = 10_000 / 60  # 10,000 stations polling every minute
GOALS = {"rps_304": 3000, "rps_200": 1000, "p99_ms": 50}
PACED_RPS = 10_000.0  # 60 times the field's 167 polls per second
# One load's figures: requests per second and latencies, or what went wrong.
Figures = dict[str, float | str]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(data_dir: Path, base_url: str) -> dict[str, str]:
    """50 published episodes with media on one channel, and a station with its token and schedule."""
    os.environ.update(LAWCAST_DATA_DIR=str(data_dir), LAWCAST_BASE_URL=base_url)
    os.environ.pop("LAWCAST_DATABASE_URL", None)
    import app  # noqa: F401  (imports every model)
    import auth
    from assets import service as assets_service
    from bench import _stations
    from broadcast import service as broadcast_service
    from db import Base, get_engine, session_scope
    from studio import service as studio_service
    from studio.models import JobStatus, Output, Production, ProductionStatus, RenderJob

    Base.metadata.create_all(get_engine())
    work = data_dir / "seed"
    work.mkdir()
    with session_scope() as session:
        user = auth.create_user(session, name="bench", role="admin")
        broadcast_service.create_channel(session, slug="bench-show", name="Tìm hiểu pháp luật", kind="podcast")
        doc = studio_service.create_document(
            session, text="LUẬT MẪU\n\nĐiều 1. Phạm vi\nLuật này quy định việc thử.\n", user=user
        )
        start = datetime(2025, 1, 1, 7, tzinfo=UTC)
        for n in range(EPISODES):
            production = Production(
                document_id=doc.id,
                format="radio",
                title=f"Tìm hiểu pháp luật số {n + 1}: quyền và nghĩa vụ của công dân",
                status=ProductionStatus.published.value,
                channel_slug="bench-show",
                author_id=user.id,
                season=1,
                episode=n + 1,
                published_at=start + timedelta(days=7 * n),
                provision_ids=[],
                approved_version=1,
                legal_approved_version=1,
            )
            session.add(production)
            session.flush()
            # The podcast cut with its sidecars, and the loudspeaker cut that stations get.
            files = [
                ("podcast", kind, ext, size)
                for kind, ext, size in (
                    ("audio", "mp3", 40_000),
                    ("vtt", "vtt", 400),
                    ("srt", "srt", 400),
                    ("transcript", "txt", 300),
                    ("chapters", "chapters.json", 200),
                )
            ] + [("loudspeaker", "audio", "mp3", 12_000)]
            jobs: dict[str, RenderJob] = {}
            for profile, kind, ext, size in files:
                if profile not in jobs:
                    jobs[profile] = RenderJob(
                        production_id=production.id,
                        script_version=1,
                        profile=profile,
                        content_hash=f"{profile[:8]}{n:056x}",
                        status=JobStatus.succeeded.value,
                        progress=1.0,
                        stage="done",
                    )
                    session.add(jobs[profile])
                    session.flush()
                src = work / f"{n}-{profile}.{ext}"
                src.write_bytes(
                    os.urandom(size) if kind == "audio" else (f"WEBVTT\n\n{n}\n" if kind == "vtt" else f"{n}\n").encode()
                )
                media = assets_service.store(session, src=src, key=f"{profile}/{n:020x}/tim-hieu-phap-luat-{n + 1}-{kind}.{ext}")
                session.add(
                    Output(
                        job_id=jobs[profile].id,
                        production_id=production.id,
                        script_version=1,
                        profile=profile,
                        kind=kind,
                        media_key=media.key,
                        mime_type=media.mime_type,
                        bytes=media.bytes,
                        sha256=media.sha256,
                        duration_s=(600.0 if profile == "podcast" else 120.0) if kind == "audio" else None,
                    )
                )
        area = broadcast_service.create_area(session, name="Xã Bench", kind="commune")
        station, token = broadcast_service.create_station(session, area_id=area.id, name="Trạm Bench")
        station_id = station.id
        commune = broadcast_service.create_area(session, name="Xã Bench nhiều cụm loa", kind="commune")
        many = _stations.seed_stations(session, commune.id)
        commune_id = commune.id
    items = _seed_schedule(station_id, commune_id)
    return {"token": token, "station_id": str(station_id), "schedule_items": str(items), "stations": json.dumps(many)}


def _seed_schedule(station_id: int, commune_id: int) -> int:
    """Loudspeaker airings for the station through the broadcast services; 0 when they cannot be made."""
    from db import session_scope

    try:
        from broadcast import airings as airings_service
        from broadcast import service as broadcast_service

        with session_scope() as session:
            today = datetime.now(UTC).date()
            from datetime import time as clock

            broadcast_service.create_slot(
                session,
                name="Sáng",
                target_kind="station",
                target_id=station_id,
                rrule="FREQ=DAILY",
                start_time=clock(6, 0),
                duration_s=1800,
                dtstart=today,
            )
            broadcast_service.create_slot(
                session,
                name="Sáng xã",
                target_kind="area",
                target_id=commune_id,
                rrule="FREQ=DAILY",
                start_time=clock(6, 0),
                duration_s=1800,
                dtstart=today,
            )
            broadcast_service.expand(session, horizon_days=2)
            airings_service.fill(session, start=datetime.now(UTC), end=datetime.now(UTC) + timedelta(days=2), freshness_days=0)
        with session_scope() as session:
            from broadcast.models import Airing

            return int(session.query(Airing).count())
    except Exception as exc:  # the schedule endpoint is still measured, with whatever it returns
        print(f"schedule seeding failed: {exc!r}", file=sys.stderr)
        return 0


def wait_up(url: str, timeout_s: float = 30) -> None:
    """Wait until a server answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request: status, headers, body."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def load(url: str, headers: dict[str, str], expect: int) -> Figures:
    """Requests per second and latency percentiles at CONNECTIONS connections for DURATION_S seconds."""
    status, _, _ = fetch(url, headers)
    assert status == expect, (url, status, expect)
    if shutil.which("wrk"):
        return _wrk(url, headers)
    return _asyncio_client(url, headers)


def _wrk(url: str, headers: dict[str, str], script: Path | None = None) -> Figures:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", *(["-s", str(script)] if script else [])]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    percentiles = {p: float(v) * unit[u] for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise RuntimeError(f"wrk printed no Requests/sec: {out[-300:]}")
    return {
        "rps": round(float(rps.group(1)), 1),
        "p50_ms": round(percentiles["50"], 2),
        "p90_ms": round(percentiles["90"], 2),
        "p99_ms": round(percentiles["99"], 2),
        "non_2xx_3xx": int(errors.group(1)) if errors else 0,
        **({"socket_errors": socket_errors.group(1).strip()} if socket_errors else {}),
    }


def _asyncio_client(url: str, headers: dict[str, str], rate: float | None = None) -> Figures:
    args = [sys.executable, str(ROOT / "bench" / "_http_client.py"), url, json.dumps(headers), str(CONNECTIONS), str(DURATION_S)]
    out = subprocess.run([*args, *([str(rate)] if rate else [])], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def paced(url: str, headers: dict[str, str], expect: int) -> Figures:
    """Latency at CONNECTIONS connections under a fixed offered load (open loop), PACED_RPS requests per second.

    wrk measures a closed loop at saturation, where p99 is mostly queueing, and on two cores the load
    generator competes with the server for the CPU; a fixed load well above the field's shows what a
    poller waits for.
    """
    status, _, _ = fetch(url, headers)
    assert status == expect, (url, status, expect)
    return _asyncio_client(url, headers, PACED_RPS)


def start_uvicorn(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """uvicorn with the app factory and `workers` processes (httptools and uvloop when installed)."""
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
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "4096",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def nginx_program() -> str | None:
    """The nginx executable, on PATH or where Debian puts it (outside a normal user's PATH), or None."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def start_nginx(nginx: str, root: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    """nginx serving `root` with keep-alive and sendfile, and its version."""
    conf = root.parent / "nginx.conf"
    user = "user root root;" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}\nworker_processes 2;\npid {root.parent}/nginx.pid;\nerror_log {root.parent}/nginx-error.log;\n"
        f"events {{ worker_connections 4096; }}\n"
        f"http {{ access_log off; sendfile on; keepalive_requests 100000; types {{ application/rss+xml rss; }}\n"
        f"  client_body_temp_path {root.parent}/nginx-tmp; proxy_temp_path {root.parent}/nginx-tmp;\n"
        f"  fastcgi_temp_path {root.parent}/nginx-tmp; uwsgi_temp_path {root.parent}/nginx-tmp; scgi_temp_path {root.parent}/nginx-tmp;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n"
    )
    (root.parent / "nginx-tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [nginx, "-p", str(root.parent), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    return proc, version


def start_http_server(root: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    """python -m http.server serving `root` (HTTP/1.0: it closes the connection after each answer), and what it is."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return proc, f"python {sys.version.split()[0]} http.server"


def measure_static(tmp: Path, body: bytes) -> dict[str, object]:
    """The feed's bytes served as a static file by nginx, else python -m http.server; {"skipped": why} if neither can."""
    root = tmp / "static"
    root.mkdir()
    (root / "bench-show.rss").write_bytes(body)
    nginx = nginx_program()
    if nginx is None:
        note("nginx not found: the static peer is python -m http.server (a new connection for every request)")
    peers: list[tuple[str, Callable[[int], tuple[subprocess.Popen[bytes], str]]]] = [
        *([("nginx", partial(start_nginx, nginx, root))] if nginx else []),
        ("python -m http.server", partial(start_http_server, root)),
    ]
    failures: list[str] = []
    for index, (name, start) in enumerate(peers):
        port = free_port()
        proc: subprocess.Popen[bytes] | None = None
        try:
            proc, server = start(port)
            url = f"http://127.0.0.1:{port}/bench-show.rss"
            wait_up(url)
            status, headers, served = fetch(url)
            if status != 200 or served != body:
                raise RuntimeError(f"answered {status} with {len(served)} bytes instead of the feed's {len(body)}")
            figures: dict[str, object] = {"server": server, "feed_200": load(url, {}, 200)}
            if "etag" in headers:
                figures["feed_304"] = load(url, {"If-None-Match": headers["etag"]}, 304)
            return figures
        except (OSError, RuntimeError, AssertionError, subprocess.CalledProcessError) as exc:
            why = (str(exc) or repr(exc))[:200]
            failures.append(f"{name}: {why}")
            if index < len(peers) - 1:
                note(f"{name} could not serve the feed ({why}); trying python -m http.server")
        finally:
            if proc is not None:
                stop(proc)
    note(f"no static peer could be had ({'; '.join(failures)}): figures without the ratio to static")
    return {"skipped": "; ".join(failures)}


def note(message: str) -> None:
    """One line on stderr about how this run differs from a full one (stdout keeps only the JSON)."""
    print(f"bench_http: {message}", file=sys.stderr, flush=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server's process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def measure_app(port: int, secrets: dict[str, str]) -> tuple[dict[str, Figures], bytes]:
    """Every scenario against a running app; also returns the feed's identity bytes."""
    base = f"http://127.0.0.1:{port}"
    feed = f"{base}/feeds/bench-show.rss"
    status, headers, body = fetch(feed, {"Accept-Encoding": "identity"})
    assert status == 200 and body.count(b"<item>") == EPISODES, (status, body[:200])
    etag = headers["etag"]
    station = f"{base}/stations/{secrets['station_id']}/schedule.json"
    auth = {"Authorization": f"Bearer {secrets['token']}"}
    results: dict[str, Figures] = {
        "feed_304": load(feed, {"If-None-Match": etag}, 304),
        "feed_200": load(feed, {"Accept-Encoding": "identity"}, 200),
        "feed_200_gzip": load(feed, {"Accept-Encoding": "gzip"}, 200),
    }
    station_status, station_headers, _ = fetch(station, auth)
    if station_status != 200:
        results["station"] = {"error_status": float(station_status)}
        return results, body
    assert fetch(station)[0] == 401  # the token is still checked
    scenarios = (
        ("station_304", {**auth, "If-None-Match": station_headers["etag"]}, 304),
        ("station_200", auth, 200),
        ("station_200_gzip", {**auth, "Accept-Encoding": "gzip"}, 200),
    )
    for name, headers, expect in scenarios:
        try:
            results[name] = load(station, headers, expect)
        except (OSError, AssertionError, subprocess.CalledProcessError) as exc:  # a stalled server is a figure too
            results[name] = {"error": repr(exc)[:200]}
    for name, url, headers, expect in (
        ("feed_304", feed, {"If-None-Match": etag}, 304),
        ("feed_200", feed, {"Accept-Encoding": "identity"}, 200),
        ("station_304", station, {**auth, "If-None-Match": station_headers["etag"]}, 304),
        ("station_200", station, auth, 200),
    ):
        results[f"{name}_paced"] = paced(url, headers, expect)
    return results, body


def measure_validated(port: int, secrets: dict[str, str], work: Path) -> dict[str, object]:
    """Many stations in turn against a server that checks every poll against the database (wrk only)."""
    from bench import _stations

    if not shutil.which("wrk"):
        return {"skipped": "needs wrk (one token per request)"}
    base = f"http://127.0.0.1:{port}"
    stations = [(int(i), str(t)) for i, t in json.loads(secrets["stations"])]
    tags = _stations.etags(base, stations)
    statuses = _stations.sample_statuses(base, stations, tags)
    out: dict[str, object] = {"stations": len(stations), "sampled_304": statuses.count(304), "sampled": len(statuses)}
    for name, conditional in (("station_validated_304", True), ("station_validated_200", False)):
        script = _stations.lua_script(work / f"{name}.lua", stations, tags if conditional else None)
        try:
            out[name] = _wrk(f"{base}/", {}, script)
        except (OSError, subprocess.CalledProcessError) as exc:
            out[name] = {"error": repr(exc)[:200]}
    return out


def main() -> None:
    """Seed, serve with 1 and 2 uvicorn workers and a static server, load each, print the figures."""
    if not shutil.which("wrk"):
        note("wrk not found: the load comes from bench/_http_client.py, and the many-stations scenario is skipped")
    tmp = Path(tempfile.mkdtemp(prefix="lawcast-bench-http-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        secrets = seed(tmp / "data", f"http://127.0.0.1:{port}")
        env = dict(
            os.environ, PYTHONPATH=str(ROOT), LAWCAST_DATA_DIR=str(tmp / "data"), LAWCAST_BASE_URL=f"http://127.0.0.1:{port}"
        )
        figures: dict[str, object] = {
            "episodes": EPISODES,
            "connections": CONNECTIONS,
            "duration_s": DURATION_S,
            "cpus": os.cpu_count(),
            "schedule_items": int(secrets["schedule_items"]),
        }
        body = b""
        runs: dict[int, dict[str, object]] = {}
        for workers in (1, 2):
            server = start_uvicorn(port, workers, env)
            procs.append(server)
            wait_up(f"http://127.0.0.1:{port}/healthz")
            results, body = measure_app(port, secrets)
            figures[f"uvicorn_workers_{workers}"] = runs[workers] = dict(results)
            stop(server)
            time.sleep(0.5)
            # Every poll checked against the database, as with 10,000 stations each polling once a minute.
            server = start_uvicorn(port, workers, {**env, "LAWCAST_STATION_REVALIDATE_S": "0"})
            procs.append(server)
            wait_up(f"http://127.0.0.1:{port}/healthz")
            runs[workers].update(measure_validated(port, secrets, tmp))
            stop(server)
            time.sleep(0.5)
        static = measure_static(tmp, body)
        figures["static"] = static
        figures["load_generator"] = _load_generator_name()
        keys = ("feed_304", "feed_200", "station_304", "station_200", "station_validated_304", "station_validated_200")
        best = {key: max(_rps(runs[w], key) for w in (1, 2)) for key in keys}
        static_rps = {key: _rps(static, key) for key in ("feed_304", "feed_200")}
        figures["ratio_to_static"] = {key: round(best[key] / rps, 3) for key, rps in static_rps.items() if rps > 0}
        figures["headroom_vs_10k_stations_per_min"] = {key: round(value / POLLERS_PER_S, 1) for key, value in best.items()}
        figures["goals"] = GOALS
        print(json.dumps(figures, ensure_ascii=False))
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _rps(run: dict[str, object], key: str) -> float:
    """Requests per second of one scenario of a run (0 when it was not run or failed)."""
    scenario = run.get(key, {})
    return float(scenario.get("rps", 0.0)) if isinstance(scenario, dict) else 0.0


def _load_generator_name() -> str:
    if shutil.which("wrk"):
        first = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
        return first[0].split(" Copyright")[0] if first else "wrk"
    return "asyncio client, keep-alive where the server allows it (bench/_http_client.py)"


if __name__ == "__main__":
    main()
