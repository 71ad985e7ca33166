"""Broadcast benchmark through the database: expand and fill 30 days for 10,000 stations, then station pulls.

The timed path is the real one: service.expand inserts 600,000 occurrences, airings.fill reads them back,
runs the scheduler, and writes plans, airings and occurrence links. Stations with the same slots and
history share plans, so the airing rows stay few while every occurrence is linked to its plan.

Each tier runs in its own interpreter so its peak memory is its own: SQLite (a fresh file) always, and
PostgreSQL when LAWCAST_BENCH_PG_URL (default: the local lc_bench database) answers.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from bench._tiers import both_tiers

STATIONS = 10_000
STATIONS_PER_COMMUNE = 20
DAYS = 30
CANDIDATES = 40
SLOT_TIMES = (clock_time(6, 0), clock_time(17, 30))
SLOT_S = 15 * 60
PULLS = 400


def _setup(window_start: datetime) -> dict[str, float]:
    """Areas, stations, slots, approved productions with outputs and a campaign, bulk-inserted (not timed as fill)."""
    from sqlalchemy import insert

    import auth
    from bench.bench_scheduler import candidates
    from broadcast.models import Area, Campaign, Slot, Station
    from db import session_scope
    from studio.models import Document, Output, Production, RenderJob

    started = time.perf_counter()
    now = datetime.now(UTC)
    with session_scope() as session:
        user = auth.create_user(session, name="bench-producer", role="producer")
        province = Area(name="Quảng Ninh", kind="province", path="", quiet_start=clock_time(21, 30), quiet_end=clock_time(5, 30))
        session.add(province)
        session.flush()
        province.path = f"/{province.id}/"
        communes = STATIONS // STATIONS_PER_COMMUNE
        session.execute(
            insert(Area),
            [
                {
                    "id": province.id + 1 + c,
                    "parent_id": province.id,
                    "kind": "commune",
                    "name": f"Xã {c + 1}",
                    "path": f"/{province.id}/{province.id + 1 + c}/",
                    "created_at": now,
                }
                for c in range(communes)
            ],
        )
        session.execute(
            insert(Station),
            [
                {
                    "id": s + 1,
                    "area_id": province.id + 1 + s // STATIONS_PER_COMMUNE,
                    "name": f"Cụm loa {s + 1}",
                    "token_hash": auth.hash_token(f"bench-station-{s + 1}"),
                    "status": {},
                    "created_at": now,
                }
                for s in range(STATIONS)
            ],
        )
        session.execute(
            insert(Slot),
            [
                {
                    "id": s * len(SLOT_TIMES) + i + 1,
                    "name": f"Bản tin {'sáng' if i == 0 else 'chiều'}",
                    "target_kind": "station",
                    "target_id": s + 1,
                    "rrule": "FREQ=DAILY",
                    "timezone": "Asia/Ho_Chi_Minh",
                    "dtstart": date(2026, 1, 1),
                    "start_time": start_time,
                    "duration_s": SLOT_S,
                    "overrun": "cut",
                    "exdates": [],
                    "rdates": [],
                    "active": True,
                    "created_at": now,
                }
                for s in range(STATIONS)
                for i, start_time in enumerate(SLOT_TIMES)
            ],
        )
        document = Document(title="Luật Phổ biến, giáo dục pháp luật", text="Điều 1. Phạm vi.", created_by_id=user.id)
        session.add(document)
        session.flush()
        for cand in candidates():
            production = Production(
                id=cand.production_id,
                document_id=document.id,
                format="loudspeaker",
                title=cand.title,
                status="approved",
                author_id=user.id,
                approved_at=cand.approved_at,
                approved_version=1,  # the scheduler takes only outputs of the approved version
                legal_approved_version=1,
            )
            session.add(production)
            session.flush()
            job = RenderJob(
                production_id=production.id,
                script_version=1,
                profile="loudspeaker",
                content_hash=f"{cand.production_id:064x}",
                status="succeeded",
                progress=1.0,
                stage="done",
            )
            session.add(job)
            session.flush()
            session.add(
                Output(
                    id=cand.output_id,
                    job_id=job.id,
                    production_id=production.id,
                    script_version=1,
                    profile="loudspeaker",
                    kind="audio",
                    media_key=f"bench/{cand.production_id}.mp3",
                    mime_type="audio/mpeg",
                    bytes=int(cand.duration_s * 6000),
                    sha256=f"{cand.production_id:064x}",
                    duration_s=cand.duration_s,
                )
            )
        session.add(
            Campaign(
                name="Luật có hiệu lực: phát ít nhất 2 lượt mỗi xã trong 7 ngày trước",
                topic=None,
                production_ids=[3],
                area_ids=[province.id],
                start=window_start + timedelta(days=DAYS - 8),
                end=window_start + timedelta(days=DAYS - 1),
                min_airings_per_station=2,
            )
        )
    return {"setup_s": round(time.perf_counter() - started, 2)}


def _pulls(window_start: datetime) -> dict[str, float | str]:
    """schedule.json for one station at a time, in-process through the ASGI app (httpx ASGI transport)."""
    import asyncio

    import httpx

    from app import create_app

    app = create_app()
    timings: list[float] = []
    sizes: list[int] = []

    async def pull_all() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for n in range(PULLS + 20):
                station = 1 + (n * 7919) % STATIONS
                headers = {"Authorization": f"Bearer bench-station-{station}"}
                began = time.perf_counter()
                response = await client.get(f"/stations/{station}/schedule.json", headers=headers)
                elapsed = time.perf_counter() - began
                assert response.status_code == 200, response.text
                if n >= 20:  # the first pulls warm caches and the connection pool
                    timings.append(elapsed)
                    sizes.append(len(response.json()["items"]))

    asyncio.run(pull_all())
    timings.sort()
    return {
        "schedule_method": "GET /stations/{id}/schedule.json in-process through the ASGI app (httpx.ASGITransport): "
        "token check, last-seen, queries, JSON and ETag",
        "schedule_pulls": len(timings),
        "schedule_items_mean": round(statistics.mean(sizes), 1),
        "schedule_p50_ms": round(timings[len(timings) // 2] * 1000, 2),
        "schedule_p99_ms": round(timings[int(len(timings) * 0.99) - 1] * 1000, 2),
    }


def run_tier(database_url: str) -> None:
    """Set up one database, then time expand + fill and station pulls; print one JSON line."""
    from sqlalchemy import func, select

    import db
    from broadcast import airings, service
    from broadcast.models import Airing, Occurrence, OccurrencePlan
    from migrations import upgrade
    from settings import get_settings

    get_settings.cache_clear()
    db.reset_engines()
    upgrade()
    if database_url.startswith("postgresql"):
        _exclusion_constraint()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window_start = today + timedelta(days=1)
    figures: dict[str, object] = {"tier": "sqlite" if database_url.startswith("sqlite") else "postgresql"}
    figures.update(_setup(window_start))
    began = time.perf_counter()
    with db.session_scope() as session:
        expanded = service.expand(session, now=window_start, horizon_days=DAYS)
    expand_s = time.perf_counter() - began
    with db.session_scope() as session:
        summary = airings.fill(
            session,
            start=window_start,
            end=window_start + timedelta(days=DAYS),
            freshness_days=3,
            now=window_start - timedelta(hours=1),
        )
    total_s = time.perf_counter() - began
    with db.session_scope() as session:
        occurrences = session.scalar(select(func.count()).select_from(Occurrence))
        rows = session.scalar(select(func.count()).select_from(Airing))
        links = session.scalar(select(func.count()).select_from(OccurrencePlan))
    if not summary.placed:  # a fill that places nothing is fast and means nothing: the seed is not eligible
        raise SystemExit("bench_broadcast: the fill placed nothing; the seeded productions are not eligible for air")
    figures.update(
        {
            "stations": STATIONS,
            "days": DAYS,
            "candidates": CANDIDATES,
            "occurrences": occurrences,
            "expanded": expanded,
            "placements": summary.placed,
            "plans": summary.plans,
            "airing_rows": rows,
            "occurrence_plan_links": links,
            "underfilled_occurrences": summary.underfilled_total,
            "expand_s": round(expand_s, 2),
            "fill_s": round(total_s - expand_s, 2),
            "expand_fill_s": round(total_s, 2),
            "goal_s": 15.0 if figures["tier"] == "sqlite" else None,
        }
    )
    figures.update(_pulls(window_start))
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures, ensure_ascii=False))


def _exclusion_constraint() -> None:
    """Measure PostgreSQL with its overlap constraint, whether or not this checkout's migration creates it yet."""
    from sqlalchemy import text

    import db
    from broadcast.models import OVERLAP_CONSTRAINT, POSTGRES_DDL

    with db.session_scope() as session:
        if not session.scalar(text("SELECT count(*) FROM pg_constraint WHERE conname = :n"), {"n": OVERLAP_CONSTRAINT}):
            for statement in POSTGRES_DDL:
                session.execute(text(statement))


def main() -> None:
    """Print one JSON object: figures per tier."""
    print(json.dumps(both_tiers("bench_broadcast", timeout_s=1800), ensure_ascii=False))


if __name__ == "__main__":
    main()
