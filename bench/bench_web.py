"""Staff web pages: "Nghe thử" latency over real HTTP, and the server time of the list pages and the schedule's
week grids on a seeded database, in process through the ASGI app.

- "Nghe thử": a signed-in browser's request for one line's speech, to uvicorn: for phrases already in the phrase
  cache (goal ≤ 300 ms) and for first hearings (espeak runs), client time until the whole WAV has arrived.
- Pages: seeded with 10,000 documents, 50,000 productions (and 50,000 render jobs), 1,000 stations in 100 communes
  under 10 districts, their slots and occurrences, and just over 1,000,000 airings (five per occurrence, each
  occurrence with its own plan, as a fill writes them), then every list page (goal p95 ≤ 100 ms), a commune's week
  grid (≤ 100 ms) and the province's week grid with its 1,000 stations collapsed by commune (≤ 300 ms) are
  requested through httpx.ASGITransport by an admin signed in through /app/login: routing, session, queries and
  templates included. SQLite always; PostgreSQL when LAWCAST_BENCH_PG_URL (default: the local lc_bench database)
  answers.
Prints one JSON line. Run alone with `python -m bench bench_web`.
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
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench._tiers import both_tiers
from bench.bench_lists import BASE, Writer, seed_studio

LINES = [
    "Kính thưa quý vị thính giả, chào mừng quý vị đến với chuyên mục Tìm hiểu pháp luật.",
    "Theo Nghị định 15/2020/NĐ-CP, mức phạt có thể lên tới 1.500.000 đồng.",
    "Điều 5 khoản 2 điểm đ quy định trách nhiệm của Ủy ban nhân dân cấp xã.",
    "Luật có hiệu lực thi hành kể từ ngày 01/01/2026.",
    "Người dân có thể gọi số điện thoại 0203 3835 123 để được giải đáp.",
]
REPEATS = 20
DOCUMENTS, PRODUCTIONS, JOBS, OUTPUTS = 10_000, 50_000, 50_000, 1_000
DISTRICTS, COMMUNES_PER_DISTRICT, STATIONS_PER_COMMUNE = 10, 10, 10
DAYS, ITEMS = 100, 5  # occurrences per slot, airings per occurrence
STATION_SLOTS = ((6, 0), (17, 30))  # every station: 15 minutes at 06:00 and at 17:30, daily
COMMUNE_SLOT, PROVINCE_SLOT = (12, 0), (19, 0)
FIRST_DAY = date(2026, 3, 2)  # a Monday
WEEK = "2026-W16"  # seven weeks into the seeded days
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RUNS, WARMUP = 30, 3
GOALS_MS = {"list": 100.0, "commune_grid": 100.0, "province_grid": 300.0, "nghe_thu_cached": 300.0}
REASON = "Nội dung thường, đến lượt luân phiên; chưa từng phát tại các trạm này; dài 02:00, vừa khung 15:00 (còn trống 13:00)"


def _csrf(form: str) -> str:
    """The CSRF token of the sign-in form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    if found is None:
        raise RuntimeError(f"no CSRF token in the sign-in page: {form[:200]}")
    return found.group(1)


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


def nghe_thu() -> dict[str, object]:
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
        csrf = _csrf(form)
        client.post("/app/login", data={"username": "bench-editor", "password": "bench-password", "csrf_token": csrf})
        first: list[float] = []
        cached: list[float] = []
        for line in LINES:
            for attempt in range(REPEATS + 1):
                began = time.perf_counter()
                answer = client.get("/app/speech/say", params={"text": line, "speaker": "presenter"})
                took = (time.perf_counter() - began) * 1000
                assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav", answer.text[:200]
                (first if attempt == 0 else cached).append(took)
                assert attempt == 0 or answer.headers["x-phrase-cache"] == "hit"
    server.should_exit = True
    return {"nghe_thu_cached": _percentiles(cached), "nghe_thu_first": _percentiles(first), "goal_cached_ms": 300}


# --- the seeded database -------------------------------------------------------------------------------


def _utc(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def _seed_broadcast(w: Writer) -> dict[str, int]:
    """Areas, stations, slots, occurrences, plans, links and airings; returns counts and the ids the cases use."""
    m, now = w.moment, w.moment(BASE)
    areas: list[tuple[int, int | None, str, str, str, str, str, str | None, str | None]] = [
        (1, None, "province", "Tỉnh Bench", "QN", "/1/", now, "21:30:00.000000", "05:30:00.000000")
    ]
    communes: list[int] = []
    for d in range(DISTRICTS):
        district = 2 + d
        areas.append((district, 1, "district", f"Huyện {d}", f"H{d}", f"/1/{district}/", now, None, None))
    next_id = 2 + DISTRICTS
    for d in range(DISTRICTS):
        for c in range(COMMUNES_PER_DISTRICT):
            areas.append((next_id, 2 + d, "commune", f"Xã {d}-{c}", f"X{d}-{c}", f"/1/{2 + d}/{next_id}/", now, None, None))
            communes.append(next_id)
            next_id += 1
    w.rows("areas", ["id", "parent_id", "kind", "name", "code", "path", "created_at", "quiet_start", "quiet_end"], areas)
    stations = [
        (s, communes[(s - 1) // STATIONS_PER_COMMUNE], f"Cụm loa {s}", f"L{s}", f"{s:064x}", "{}", now)
        for s in range(1, len(communes) * STATIONS_PER_COMMUNE + 1)
    ]
    w.rows("stations", ["id", "area_id", "name", "code", "token_hash", "status", "created_at"], stations)
    w.rows(
        "channels",
        ["id", "slug", "name", "kind", "description", "owner_email", "created_at", "updated_at"],
        ((c + 1, f"kenh-{c}", f"Kênh {c}", "loudspeaker" if c == 0 else "radio", "", "", now, now) for c in range(5)),
    )
    targets = [("station", s[0], hm) for s in stations for hm in STATION_SLOTS]
    targets += [("area", c, COMMUNE_SLOT) for c in communes] + [("area", 1, PROVINCE_SLOT)]
    w.rows(
        "slots",
        [
            "id",
            "name",
            "target_kind",
            "target_id",
            "rrule",
            "timezone",
            "dtstart",
            "start_time",
            "duration_s",
            "overrun",
            "exdates",
            "rdates",
            "active",
            "created_at",
        ],
        (
            (
                n + 1,
                f"Khung {hm[0]:02d}:{hm[1]:02d}",
                kind,
                target,
                "FREQ=DAILY",
                "Asia/Ho_Chi_Minh",
                FIRST_DAY.isoformat(),
                f"{hm[0]:02d}:{hm[1]:02d}:00.000000",
                900,
                "cut",
                "[]",
                "[]",
                w.flag(True),
                now,
            )
            for n, (kind, target, hm) in enumerate(targets)
        ),
    )
    occurrences = [
        (n + 1, kind, target, _utc(FIRST_DAY + timedelta(days=day), *hm))
        for n, (kind, target, hm) in enumerate(targets)
        for day in range(DAYS)
    ]
    w.rows(
        "occurrences",
        ["id", "slot_id", "target_kind", "target_id", "start", "end", "cancelled"],
        (
            (i, slot, kind, target, m(start), m(start + timedelta(minutes=15)), w.flag(False))
            for i, (slot, kind, target, start) in enumerate(occurrences, start=1)
        ),
    )
    w.rows(
        "plans",
        ["id", "start", "end", "created_at"],
        ((i, m(start), m(start + timedelta(minutes=15)), now) for i, (_s, _k, _t, start) in enumerate(occurrences, start=1)),
    )
    w.rows("occurrence_plans", ["occurrence_id", "plan_id"], ((i, i) for i in range(1, len(occurrences) + 1)))
    w.rows(
        "airings",
        [
            "id",
            "plan_id",
            "target_kind",
            "target_id",
            "production_id",
            "output_id",
            "start",
            "end",
            "priority",
            "status",
            "reason",
            "pinned",
            "created_at",
            "updated_at",
        ],
        _airings(w, occurrences),
    )
    return {
        "stations": len(stations),
        "communes": len(communes),
        "slots": len(targets),
        "occurrences": len(occurrences),
        "airings": len(occurrences) * ITEMS,
        "commune": communes[37],
        "station": stations[371][0],
    }


def _airings(w: Writer, occurrences: list[tuple[int, str, int, datetime]]) -> Iterator[tuple[Any, ...]]:
    m, pinned, now = w.moment, w.flag(False), w.moment(BASE)
    n = 0
    for plan, (_slot, kind, target, start) in enumerate(occurrences, start=1):
        for k in range(ITEMS):
            n += 1
            out = 1 + (plan * ITEMS + k) % OUTPUTS
            begin = start + timedelta(minutes=2 * k)
            yield (
                n,
                plan,
                kind,
                target,
                out,
                out,
                m(begin),
                m(begin + timedelta(minutes=2)),
                "normal",
                "planned",
                REASON,
                pinned,
                now,
                now,
            )


def _cases(ids: dict[str, int]) -> list[tuple[str, str, str]]:
    commune, station = ids["commune"], ids["station"]
    lists = [
        "/app/documents",
        "/app/documents?page=400",
        "/app/documents?q=pho%20bien",
        "/app/documents?q=luat%20dat%20dai&status=in_force",
        "/app/productions",
        "/app/productions?page=2000",
        "/app/productions?q=ban%20tin%20pho%20bien",
        "/app/productions?status=approved&format=loudspeaker",
        "/app/jobs",
        "/app/jobs?status=failed",
        "/app/stations",
        "/app/stations?area_id=2",
        f"/app/stations?area_id={commune}",
        "/app/users",
    ]
    out = [("list", path.split("?")[0] + (" ?" + path.split("?")[1] if "?" in path else ""), path) for path in lists]
    out += [
        ("commune_grid", "commune week grid", f"/app/schedule?area_id={commune}&week={WEEK}"),
        ("province_grid", "province week grid (1,000 stations by commune)", f"/app/schedule?area_id=1&week={WEEK}"),
        ("other", "dashboard (admin)", "/app/"),
        ("other", "station week grid", f"/app/schedule?station_id={station}&week={WEEK}"),
        ("other", "commune lane opened", f"/app/schedule/lane?area_id=1&key=area:{commune}&week={WEEK}"),
        ("other", "coverage report, a commune, 7 days", f"/app/reports?area_id={commune}&start=2026-04-13&end=2026-04-19"),
    ]
    return out


def measure(ids: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Server time of every case (ms, p50/p95/max), in process through the ASGI app, signed in as an admin."""
    import asyncio

    import httpx

    from app import create_app

    app = create_app()
    out: dict[str, dict[str, Any]] = {}

    async def run_all() -> None:
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            form = (await client.get("/app/login")).text
            csrf = _csrf(form)
            signed = await client.post(
                "/app/login", data={"username": "bench-admin", "password": "bench-password", "csrf_token": csrf}
            )
            assert signed.status_code == 303, signed.text[:300]
            for group, name, path in _cases(ids):
                samples, cpu = [], []
                for n in range(WARMUP + RUNS):
                    began, began_cpu = time.perf_counter(), time.process_time()
                    response = await client.get(path)
                    elapsed, elapsed_cpu = (time.perf_counter() - began) * 1000, (time.process_time() - began_cpu) * 1000
                    if response.status_code != 200:
                        out[name] = {"group": group, "status": response.status_code}
                        break
                    if n >= WARMUP:
                        samples.append(elapsed)
                        cpu.append(elapsed_cpu)
                else:
                    cpu_figures = _percentiles(cpu)
                    out[name] = {
                        "group": group,
                        **_percentiles(samples),
                        "cpu_p50_ms": cpu_figures["p50_ms"],
                        "cpu_p95_ms": cpu_figures["p95_ms"],
                        "kb": round(len(response.content) / 1024, 1),
                    }

    asyncio.run(run_all())
    return out


def run_tier(database_url: str) -> None:
    """Migrate and seed one database, then time the pages; print one JSON line."""
    import auth
    import db
    from bench.bench_lists import _analyze
    from migrations import upgrade
    from settings import get_settings
    from studio import search

    get_settings.cache_clear()
    db.reset_engines()
    upgrade()
    figures: dict[str, Any] = {"tier": "sqlite" if database_url.startswith("sqlite") else "postgresql"}
    began = time.perf_counter()
    w = Writer(database_url)
    seed_studio(w, output_profile=lambda _i: "loudspeaker")
    ids = _seed_broadcast(w)
    w.close()
    with db.session_scope() as session:
        search.rebuild(session)
        admin = auth.create_user(session, name="bench-admin", role="admin")
        auth.set_password(session, user=admin, password="bench-password")
    _analyze(database_url)
    figures["seed_s"] = round(time.perf_counter() - began, 1)
    figures["rows"] = {
        "documents": DOCUMENTS,
        "productions": PRODUCTIONS,
        "jobs": JOBS,
        **{k: v for k, v in ids.items() if k not in ("commune", "station")},
    }
    figures["pages"] = measure(ids)
    timed = [case for case in figures["pages"].values() if "p95_ms" in case]
    groups = ("list", "commune_grid", "province_grid")
    worst = {group: max((c["p95_ms"] for c in timed if c["group"] == group), default=None) for group in groups}
    figures["worst_p95_ms"] = worst
    figures["worst_cpu_p95_ms"] = {
        group: max((c["cpu_p95_ms"] for c in timed if c["group"] == group), default=None) for group in groups
    }
    figures["goals_ms"] = {k: v for k, v in GOALS_MS.items() if k != "nghe_thu_cached"}
    figures["goals_met"] = all(v is not None and v <= GOALS_MS[k] for k, v in worst.items())
    figures["missing_pages"] = [name for name, case in figures["pages"].items() if "status" in case]
    figures.update(load_average_1m=round(os.getloadavg()[0], 2), cpus=os.cpu_count())
    print(json.dumps(figures, ensure_ascii=False))


def pages() -> dict[str, object]:
    """Page timings per tier (SQLite always, PostgreSQL when reachable)."""
    return both_tiers("bench_web", timeout_s=3000)


def main() -> None:
    """Print one JSON object: "Nghe thử" figures, then the pages per tier (LAWCAST_BENCH_WEB_ONLY=pages|nghe_thu runs one)."""
    only = os.environ.get("LAWCAST_BENCH_WEB_ONLY", "")
    out: dict[str, object] = {}
    if only in ("", "pages"):
        out["pages"] = pages()
    if only in ("", "nghe_thu"):
        out.update(nghe_thu())
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
