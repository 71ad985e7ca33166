"""List endpoints at scale: p50/p95 of every GET list, in process through the ASGI app, on a seeded database.

Seeds 10,000 documents (with their search entries), 50,000 productions, 50,000 render jobs, 10,000 stations
in 500 communes under 10 districts, 20,000 slots and 1,000,000 airings with bulk inserts (sqlite3 executemany
in one transaction; COPY on PostgreSQL), then times each list with and without `q` and filters, on page 1 and
on a deep page, through httpx.ASGITransport (routing, auth, validation, queries and JSON included).
Goal: p95 <= 50 ms for each. SQLite always; PostgreSQL when LAWCAST_BENCH_PG_URL (default: the local
lc_bench database) answers. Prints one JSON line.
"""

from __future__ import annotations

import io
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._tiers import both_tiers

DOCUMENTS, PRODUCTIONS, JOBS, AIRINGS = 10_000, 50_000, 50_000, 1_000_000
DISTRICTS, COMMUNES, STATIONS = 10, 500, 10_000
CHANNELS, OUTPUTS = 5, 1_000
RUNS, WARMUP = 60, 5
GOAL_P95_MS = 50.0
BASE = datetime(2025, 1, 1, tzinfo=UTC)
TOPICS = [
    "Luật Phổ biến, giáo dục pháp luật",
    "Luật Đất đai",
    "Luật Hôn nhân và gia đình",
    "Luật Giao thông đường bộ",
    "Luật Phòng, chống ma tuý",
    "Luật Bảo vệ môi trường",
    "Luật Trẻ em",
    "Luật Hoà giải ở cơ sở",
    "Nghị định xử phạt vi phạm hành chính",
    "Luật Phòng cháy, chữa cháy",
    "Luật Bình đẳng giới",
    "Luật Cư trú",
]
STATUSES = ["in_force", "in_force", "in_force", "partly_in_force", "repealed", "draft"]
P_STATUSES = ["draft", "in_review", "changes_requested", "legally_approved", "approved", "published", "withdrawn"]
FORMATS = ["radio", "loudspeaker", "video"]
J_STATUSES = ["succeeded"] * 8 + ["failed", "cancelled", "queued", "running"]


def _doc_text(i: int, rng: random.Random) -> str:
    topic = TOPICS[i % len(TOPICS)]
    articles = [
        f"Điều {k}. {rng.choice(['Phạm vi điều chỉnh', 'Đối tượng áp dụng', 'Giải thích từ ngữ', 'Trách nhiệm'])}\n"
        f"{topic} quy định việc {rng.choice(['tuyên truyền', 'xử lý vi phạm', 'hỗ trợ', 'kiểm tra'])} trên địa bàn xã số {i}."
        for k in range(1, 4 + i % 9)
    ]
    return f"{topic.upper()}\n" + "\n".join(articles)


class Writer:
    """Bulk inserts of plain tuples: sqlite3 executemany in one transaction, or PostgreSQL COPY."""

    def __init__(self, url: str):
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            import sqlite3

            self.conn: Any = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("BEGIN")
        else:
            import psycopg2
            from sqlalchemy import make_url

            u = make_url(url)
            self.conn = psycopg2.connect(
                host=u.host, port=u.port or 5432, user=u.username, dbname=u.database, password=u.password
            )

    def moment(self, value: datetime) -> str:
        """A UTC datetime as each backend stores it (SQLAlchemy's SQLite format; ISO with offset on PostgreSQL)."""
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value.isoformat()

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else ("t" if value else "f")

    def rows(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        """Insert rows into a table."""
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            quoted = ", ".join(f'"{c}"' for c in columns)
            self.conn.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
            return
        buffer = io.StringIO()
        for row in rows:
            buffer.write(
                "\t".join(
                    "\\N" if v is None else str(v).replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n") for v in row
                )
                + "\n"
            )
        buffer.seek(0)
        with self.conn.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(chr(34) + c + chr(34) for c in columns)}) FROM STDIN", buffer)

    def close(self) -> None:
        """Commit and close."""
        if self.sqlite:
            self.conn.execute("COMMIT")
        else:
            self.conn.commit()
        self.conn.close()


def seed_studio(w: Writer, *, output_profile: Callable[[int], str]) -> None:
    """Documents, productions, script versions, jobs and outputs (output i of profile `output_profile(i)`)."""
    rng = random.Random(20261207)
    m, f = w.moment, w.flag
    w.rows(
        "documents",
        ["id", "title", "doc_type", "number", "status", "text", "legal_bases", "created_at", "updated_at"],
        (
            (
                i,
                f"{TOPICS[i % len(TOPICS)]} (sửa đổi {i})",
                "Luật",
                f"{i}/2025/QH15",
                STATUSES[i % len(STATUSES)],
                _doc_text(i, rng),
                "[]",
                m(BASE + timedelta(minutes=50 * i)),
                m(BASE + timedelta(minutes=50 * i)),
            )
            for i in range(1, DOCUMENTS + 1)
        ),
    )
    w.rows(
        "productions",
        [
            "id",
            "document_id",
            "format",
            "title",
            "status",
            "provision_ids",
            "channel_slug",
            "source_repealed",
            "current_version",
            "created_at",
            "updated_at",
        ],
        (
            (
                i,
                1 + i % DOCUMENTS,
                FORMATS[i % 3],
                f"Bản tin {TOPICS[i % len(TOPICS)]} số {i}",
                P_STATUSES[i % 7],
                "[]",
                f"kenh-{i % CHANNELS}",
                f(False),
                1 + i % 3,
                m(BASE + timedelta(minutes=10 * i)),
                m(BASE + timedelta(minutes=10 * i + 5)),
            )
            for i in range(1, PRODUCTIONS + 1)
        ),
    )
    w.rows(
        "render_jobs",
        [
            "id",
            "production_id",
            "script_version",
            "profile",
            "content_hash",
            "status",
            "progress",
            "stage",
            "attempts",
            "queue",
            "cancel_requested",
            "engines_used",
            "created_at",
            "sends",
        ],
        (
            (
                i,
                i,
                1,
                FORMATS[i % 3],
                f"{i:064x}",
                J_STATUSES[i % len(J_STATUSES)],
                1.0,
                "done",
                1,
                "render",
                f(False),
                "[]",
                m(BASE + timedelta(minutes=10 * i + 1)),
                1,
            )
            for i in range(1, JOBS + 1)
        ),
    )
    w.rows(
        "outputs",
        [
            "id",
            "job_id",
            "production_id",
            "script_version",
            "profile",
            "kind",
            "media_key",
            "mime_type",
            "bytes",
            "sha256",
            "duration_s",
            "created_at",
        ],
        (
            (i, i, i, 1, output_profile(i), "audio", f"bench/{i}.mp3", "audio/mpeg", 100_000, f"{i:064x}", 120.0, m(BASE))
            for i in range(1, OUTPUTS + 1)
        ),
    )


def seed(url: str) -> dict[str, float]:
    """Bulk-insert the data set; returns the seconds each part took."""
    w = Writer(url)
    took: dict[str, float] = {}
    began = time.perf_counter()
    seed_studio(w, output_profile=lambda i: FORMATS[i % 3])
    took["studio_s"] = time.perf_counter() - began
    began = time.perf_counter()
    _seed_broadcast(w)
    took["broadcast_s"] = time.perf_counter() - began
    began = time.perf_counter()
    w.rows(
        "airings",
        [
            "id",
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
        _airings(w),
    )
    took["airings_s"] = time.perf_counter() - began
    w.close()
    return {k: round(v, 2) for k, v in took.items()}


def _seed_broadcast(w: Writer) -> None:
    m = w.moment
    now = m(BASE)
    areas: list[tuple[int, int | None, str, str, str, str, str]] = [(1, None, "province", "Quảng Ninh", "QN", "/1/", now)]
    areas += [(1 + d, 1, "district", f"Huyện {d}", f"H{d}", f"/1/{1 + d}/", now) for d in range(1, DISTRICTS + 1)]
    first = 2 + DISTRICTS
    for c in range(COMMUNES):
        district = 2 + c % DISTRICTS
        areas.append((first + c, district, "commune", f"Xã Đông {c}", f"X{c}", f"/1/{district}/{first + c}/", now))
    w.rows("areas", ["id", "parent_id", "kind", "name", "code", "path", "created_at"], areas)
    w.rows(
        "stations",
        ["id", "area_id", "name", "code", "token_hash", "status", "created_at"],
        ((s, first + s % COMMUNES, f"Cụm loa {s}", f"L{s}", f"{s:064x}", "{}", now) for s in range(1, STATIONS + 1)),
    )
    w.rows(
        "channels",
        ["id", "slug", "name", "kind", "description", "owner_email", "created_at", "updated_at"],
        ((c + 1, f"kenh-{c}", f"Kênh {c}", "loudspeaker" if c == 0 else "radio", "", "", now, now) for c in range(CHANNELS)),
    )
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
                2 * s + k - 1,
                f"Bản tin {'sáng' if k == 0 else 'chiều'}",
                "station",
                s,
                "FREQ=DAILY",
                "Asia/Ho_Chi_Minh",
                "2026-01-01",
                "06:00:00.000000" if k == 0 else "17:30:00.000000",
                900,
                "cut",
                "[]",
                "[]",
                w.flag(True),
                now,
            )
            for s in range(1, STATIONS + 1)
            for k in (0, 1)
        ),
    )


def _airings(w: Writer) -> Iterator[tuple[Any, ...]]:
    starts = [BASE + timedelta(days=400, minutes=15 * n) for n in range(4 * 24 * 30)]
    texts = [(w.moment(s), w.moment(s + timedelta(minutes=3))) for s in starts]
    pinned, now = w.flag(False), w.moment(BASE)
    for i in range(1, AIRINGS + 1):
        start, end = texts[i % len(texts)]
        out = 1 + i % OUTPUTS
        yield (i, "station", 1 + i % STATIONS, out, out, start, end, "normal", "planned", "", pinned, now, now)


CASES: list[tuple[str, str]] = [
    ("documents", "/api/documents"),
    ("documents deep page", "/api/documents?page=190"),
    ("documents sort=title deep", "/api/documents?sort=title&page=150"),
    ("documents sort=-issued_on deep", "/api/documents?sort=-issued_on&page=150"),
    ("documents q=pho bien", "/api/documents?q=pho%20bien"),
    ("documents q=dieu 5", "/api/documents?q=dieu%205"),
    ("documents q=luat dat dai + status", "/api/documents?q=luat%20dat%20dai&status=in_force"),
    ("documents created range", "/api/documents?created_from=2025-03-01T00:00:00%2B07:00&created_to=2025-04-01T00:00:00%2B07:00"),
    ("productions", "/api/productions"),
    ("productions deep page", "/api/productions?page=990"),
    ("productions sort=-updated_at deep", "/api/productions?sort=-updated_at&page=500"),
    ("productions sort=title deep", "/api/productions?sort=title&page=700"),
    ("productions q=ban tin pho bien", "/api/productions?q=ban%20tin%20pho%20bien"),
    ("productions q deep page", "/api/productions?q=ban%20tin&page=900"),
    ("productions q sort=title deep", "/api/productions?q=ban%20tin&sort=title&page=300"),
    ("productions q=so 4242", "/api/productions?q=so%204242"),
    ("productions status+format", "/api/productions?status=approved&format=loudspeaker"),
    ("productions document_id", "/api/productions?document_id=77"),
    ("productions channel+created", "/api/productions?channel=kenh-2&created_from=2025-02-01T00:00:00Z"),
    ("jobs", "/api/jobs"),
    ("jobs deep page", "/api/jobs?page=990"),
    ("jobs status=failed", "/api/jobs?status=failed"),
    ("jobs sort=status deep", "/api/jobs?sort=status&page=700"),
    ("jobs production_id", "/api/jobs?production_id=4242"),
    ("stations", "/api/stations"),
    ("stations deep page", "/api/stations?page=199"),
    ("stations sort=name deep", "/api/stations?sort=name&page=190"),
    ("stations sort=-last_seen_at deep", "/api/stations?sort=-last_seen_at&page=190"),
    ("stations area (province)", "/api/stations?area_id=1&page=100"),
    ("stations area (commune) q", "/api/stations?area_id=300&q=loa"),
    ("areas tree", "/api/areas"),
    ("areas subtree", "/api/areas?root_id=3"),
    ("channels", "/api/channels"),
    ("slots", "/api/slots"),
    ("slots deep page", "/api/slots?page=399"),
    ("slots sort=name deep", "/api/slots?sort=name&page=390"),
    ("slots target", "/api/slots?target_kind=station&target_id=777"),
]


def _percentiles(samples: list[float], prefix: str) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        f"{prefix}p50_ms": round(ordered[len(ordered) // 2], 2),
        f"{prefix}p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
    }


def measure(token: str) -> dict[str, dict[str, float]]:
    """p50/p95 in ms of every case, in process through the ASGI app: wall time, and the process's CPU time.

    Requests run one at a time, so on an idle machine the two agree; on a shared one the CPU figures show what
    the request itself costs, the wall figures what it cost under that load (the load average is reported too).
    """
    import asyncio

    import httpx

    from app import create_app

    app = create_app()
    out: dict[str, dict[str, float]] = {}

    async def run_all() -> None:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        # The app's own lifespan runs first, as in a server (it freezes what startup loaded out of the GC's way).
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client,
        ):
            for name, path in CASES:
                wall, cpu = [], []
                for n in range(WARMUP + RUNS):
                    began, began_cpu = time.perf_counter(), time.process_time()
                    response = await client.get(path)
                    elapsed, elapsed_cpu = time.perf_counter() - began, time.process_time() - began_cpu
                    assert response.status_code == 200, (path, response.status_code, response.text[:300])
                    if n >= WARMUP:
                        wall.append(elapsed * 1000)
                        cpu.append(elapsed_cpu * 1000)
                body = response.json()
                out[name] = {
                    **_percentiles(wall, ""),
                    **_percentiles(cpu, "cpu_"),
                    "total": body["total"],
                    "items": len(body["items"]),
                }

    asyncio.run(run_all())
    return out


def _analyze(database_url: str) -> None:
    """Fresh planner statistics (and, on PostgreSQL, a visibility map), as autovacuum keeps them in service."""
    from sqlalchemy import text

    import db

    statement = "ANALYZE" if database_url.startswith("sqlite") else "VACUUM ANALYZE"
    with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))


def run_tier(database_url: str) -> None:
    """Migrate and seed one database, then time every list; print one JSON line."""
    import auth
    import db
    from migrations import upgrade
    from settings import get_settings
    from studio import search

    get_settings.cache_clear()
    db.reset_engines()
    upgrade()
    figures: dict[str, Any] = {"tier": "sqlite" if database_url.startswith("sqlite") else "postgresql"}
    figures["seed"] = seed(database_url)
    began = time.perf_counter()
    with db.session_scope() as session:
        figures["seed"]["search_entries"] = search.rebuild(session)
        user = auth.create_user(session, name="bench-editor", role="editor")
        token = auth.issue_token(session, user=user)
    figures["seed"]["search_index_s"] = round(time.perf_counter() - began, 2)
    _analyze(database_url)
    figures["rows"] = {"documents": DOCUMENTS, "productions": PRODUCTIONS, "jobs": JOBS, "stations": STATIONS, "airings": AIRINGS}
    figures["lists"] = measure(token)
    worst = max(case["p95_ms"] for case in figures["lists"].values())
    worst_cpu = max(case["cpu_p95_ms"] for case in figures["lists"].values())
    figures.update(
        {
            "worst_p95_ms": worst,
            "worst_cpu_p95_ms": worst_cpu,
            "goal_p95_ms": GOAL_P95_MS,
            "goal_met": worst <= GOAL_P95_MS,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "cpus": os.cpu_count(),
        }
    )
    print(json.dumps(figures, ensure_ascii=False))


def main() -> None:
    """Print one JSON object: figures per tier."""
    print(json.dumps(both_tiers("bench_lists", timeout_s=1800), ensure_ascii=False))


if __name__ == "__main__":
    main()
