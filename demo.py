"""The demo: the bundled sample law through the whole product on the embedded defaults."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from typing import NotRequired, TypedDict

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

import auth
import worker  # noqa: F401  (configures the Celery app that dispatch.send_jobs sends through)
from assets import storage
from broadcast import airings as broadcast_airings
from broadcast import service as broadcast_service
from broadcast.models import Area, Slot, Station
from db import session_scope, utcnow
from feeds import service as feeds_service
from feeds.podcast import build_podcast_rss
from settings import get_settings
from studio import dispatch, jobs, scripting, service, workflow
from studio.engine.render.audio import measure_loudness
from studio.engine.text import legal, scripts
from studio.models import Document, Output, Production
from worker_processes import follow_jobs, start_workers, stop_workers

SAMPLE = Path(__file__).resolve().parent / "assets" / "defaults" / "sample-law.txt"
CHANNEL = "tim-hieu-phap-luat"
SCHEDULE_DAYS = 7
# (channel slug, name, kind), then slots as (name, target, RRULE, start, seconds); "area" is the demo commune.
CHANNELS = (("qnr1", "QNR1 - Đài Phát thanh Quảng Ninh (97,8 MHz)", "radio"), ("qtv1", "QTV1 - Truyền hình Quảng Ninh", "tv"))
SLOTS = (
    ("Bản tin pháp luật buổi sáng", "area", "FREQ=DAILY", clock_time(6, 0), 900),
    ("Bản tin pháp luật buổi chiều", "area", "FREQ=DAILY", clock_time(17, 30), 900),
    ("Tìm hiểu pháp luật (QNR1)", "qnr1", "FREQ=WEEKLY;BYDAY=SA", clock_time(19, 30), 900),
    ("Tiểu phẩm pháp luật (QTV1)", "qtv1", "FREQ=DAILY", clock_time(20, 0), 300),
)
DEMO_USERS = {
    "demo-editor": auth.Role.editor,
    "demo-reviewer": auth.Role.legal_reviewer,
    "demo-producer": auth.Role.producer,
}
FORMATS = ("radio", "loudspeaker", "video")


class ScheduleSummary(TypedDict):
    """The demo schedule in summary.json: its window, what was placed and what the station pulled."""

    window: dict[str, object]
    airings: int
    underfilled: list[dict[str, object]]
    calendars: list[dict[str, str]]
    station: dict[str, object]


class DemoSummary(TypedDict):
    """summary.json: the outputs, the feed and the schedule that the demo made."""

    database: str
    data_dir: str
    outputs: list[dict[str, object]]
    feeds: list[dict[str, object]]
    notes: list[str]
    schedule: NotRequired[ScheduleSummary]
    elapsed_s: NotRequired[float]


def _users(session: Session) -> dict[str, auth.User]:
    users = {}
    for name, role in DEMO_USERS.items():
        user = session.scalar(select(auth.User).where(auth.User.name == name))
        users[name] = user or auth.create_user(session, name=name, role=role)
    return users


def _document(session: Session, text: str, editor: auth.User) -> Document:
    # Re-running the demo reuses the same document and productions, so the feed does not grow duplicates.
    for doc in session.scalars(select(Document).where(Document.source_filename == SAMPLE.name)):
        if doc.text == legal.parse_document(text).text:
            return doc
    return service.create_document(session, text=text, user=editor, filename=SAMPLE.name)


def _productions(session: Session, doc: Document, users: dict[str, auth.User]) -> list[Production]:
    made: list[Production] = []
    for fmt in FORMATS:
        existing = list(
            session.scalars(
                select(Production).where(Production.document_id == doc.id, Production.format == fmt).order_by(Production.id)
            )
        )
        if not existing:
            existing = scripting.create_production(
                session,
                document_id=doc.id,
                format=fmt,
                user=users["demo-editor"],
                channel=CHANNEL if fmt == "radio" else None,
                season=1 if fmt == "radio" else None,
                episode=1 if fmt == "radio" else None,
            ).productions
        made.extend(existing)
    return made


def _approve(session: Session, production: Production, users: dict[str, auth.User]) -> None:
    steps = [("submit", "demo-editor"), ("approve_legal", "demo-reviewer"), ("approve", "demo-producer")]
    for action, who in steps:
        if production.status in workflow.RULES[action].sources:
            workflow.transition(session, production=production, action=action, user=users[who], comment="demo")


def run_demo(out: Path, *, console: Console) -> DemoSummary:
    """Run the whole slice through a real worker and write `out/summary.json`."""
    from migrations import upgrade

    started = time.monotonic()
    settings = get_settings()
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]lawcast demo[/] — dữ liệu: {settings.data_dir.resolve()}, CSDL: {settings.sqlalchemy_url}")
    upgrade()
    with session_scope() as session:
        users = _users(session)
        broadcast_service.ensure_channel(
            session,
            slug=CHANNEL,
            name="Tìm hiểu pháp luật",
            kind="podcast",
            description="Chuyên mục Tìm hiểu pháp luật trên sóng QNR1 - Sở Tư pháp và Trung tâm Truyền thông tỉnh Quảng Ninh",
        )
        doc = _document(session, SAMPLE.read_text(encoding="utf-8"), users["demo-editor"])
        productions = _productions(session, doc, users)
        for production in productions:
            _approve(session, production, users)
        requested: list[int] = []
        created = []
        for production in productions:
            all_jobs, new = jobs.request_render(session, production=production, user=users["demo-producer"])
            requested += [job.id for job in all_jobs]
            created += new
        session.flush()
        doc_id = doc.id
    console.print(f"Văn bản {doc_id}: {len(productions)} sản phẩm, {len(requested)} tác vụ dựng ({len(created)} mới)")
    workers = start_workers(settings.data_dir / "logs" / "demo-worker.log") if created else []
    try:
        with session_scope() as session:
            dispatch.send_jobs(session, created)
        states = follow_jobs(requested, console=console)
    finally:
        stop_workers(workers)
    failed = [s for s in states.values() if s["status"] != "succeeded"]
    if failed:
        raise SystemExit(f"Dựng thất bại: {failed}")
    with session_scope() as session:
        users = _users(session)
        summary = _publish_and_summarise(session, out, [p.id for p in productions], users)
    with session_scope() as session:
        station_id, token, schedule = _schedule(session)
    schedule["station"].update(_pull_station(out, station_id, token))
    summary["schedule"] = schedule
    console.print(
        f"Lịch {SCHEDULE_DAYS} ngày: {schedule['airings']} lượt phát; trạm {station_id} nhận {schedule['station']['items']} mục. "
        f"Mã trạm (chỉ hiện một lần): {token}"
    )
    summary["elapsed_s"] = round(time.monotonic() - started, 2)
    _write_json(out / "summary.json", summary)
    return summary


def _publish_and_summarise(session: Session, out: Path, production_ids: list[int], users: dict[str, auth.User]) -> DemoSummary:
    outputs: list[dict[str, object]] = []
    notes: list[str] = []
    for production_id in production_ids:
        production = service.get_production(session, production_id)
        if production.status == "approved":
            workflow.transition(session, production=production, action="publish", user=users["demo-producer"], comment="demo")
        rendered = jobs.outputs_of(session, production)
        notes += _notes(production, rendered)
        for item in rendered:
            src = storage.path_for(item.media_key)
            entry: dict[str, object] = {
                "kind": item.kind,
                "profile": item.profile,
                "format": production.format,
                "production_id": production.id,
                "title": production.title,
                "path": str(src),
                "url_path": f"/media/{item.media_key}",
                "bytes": item.bytes,
                "sha256": item.sha256,
            }
            if item.kind in ("audio", "video"):
                loud = measure_loudness(src)
                entry.update(
                    duration_s=round(item.duration_s or 0.0, 3),
                    loudness_lufs=round(loud.integrated_lufs, 2),
                    true_peak_dbtp=round(loud.true_peak_dbtp, 2),
                )
            outputs.append(entry)
    session.flush()
    channel = broadcast_service.channel_by_slug(session, CHANNEL)
    episodes = feeds_service.episodes(session, channel)
    xml = build_podcast_rss(feeds_service.show_info(channel), episodes)
    feed_path = out / "feeds" / f"{CHANNEL}.rss"
    _write_bytes(feed_path, xml)
    feed: dict[str, object] = {
        "kind": "podcast_rss",
        "path": str(feed_path),
        "url_path": f"/feeds/{CHANNEL}.rss",
        "url": f"{settings_base()}/feeds/{CHANNEL}.rss",
        "items": len(episodes),
        "sha256": hashlib.sha256(xml).hexdigest(),
        "enclosures": [e.enclosure_url for e in episodes],
    }
    return {
        "database": get_settings().sqlalchemy_url,
        "data_dir": str(get_settings().data_dir.resolve()),
        "outputs": outputs,
        "feeds": [feed],
        "notes": notes,
    }


def _area(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent_id: int | None = None,
    quiet: tuple[clock_time, clock_time] | None = None,
) -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        quiet_start, quiet_end = quiet or (None, None)
        area = broadcast_service.create_area(
            session,
            name=name,
            kind=kind,
            parent_id=parent_id,
            code=code,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
        )
    return area


def _schedule(session: Session) -> tuple[int, str, ScheduleSummary]:
    """A commune with one loudspeaker station, radio and TV slots, expanded and filled for a week."""
    province = _area(session, code="QN", name="Tỉnh Quảng Ninh", kind="province", quiet=(clock_time(21, 30), clock_time(5, 30)))
    commune = _area(session, code="QN-HONGGAI", name="Phường Hồng Gai", kind="commune", parent_id=province.id)
    station = session.scalar(select(Station).where(Station.code == "QN-HONGGAI-01"))
    if station is None:
        station, _ = broadcast_service.create_station(
            session, area_id=commune.id, name="Cụm loa khu phố 1, phường Hồng Gai", code="QN-HONGGAI-01"
        )
    # A re-run shows a fresh token: the previous one was shown once and is not stored.
    station, token = broadcast_service.rotate_station_token(session, station_id=station.id)
    channels = {slug: broadcast_service.ensure_channel(session, slug=slug, name=name, kind=kind) for slug, name, kind in CHANNELS}
    today = utcnow().date()
    for name, target, rule, start, seconds in SLOTS:
        kind, target_id = ("area", commune.id) if target == "area" else ("channel", channels[target].id)
        if session.scalar(select(Slot).where(Slot.name == name, Slot.target_kind == kind, Slot.target_id == target_id)) is None:
            broadcast_service.create_slot(
                session,
                name=name,
                target_kind=kind,
                target_id=target_id,
                rrule=rule,
                start_time=start,
                duration_s=seconds,
                dtstart=today,
            )
    now = utcnow()
    broadcast_service.expand(session, now=now, horizon_days=SCHEDULE_DAYS)
    filled = broadcast_airings.fill(
        session, start=now, end=now + timedelta(days=SCHEDULE_DAYS), freshness_days=get_settings().freshness_days, now=now
    )
    underfilled: list[dict[str, object]] = [
        {
            "slot_id": gap.underfill.slot_id,
            "start": gap.underfill.occurrence_start.isoformat(),
            "remaining_s": round(gap.underfill.remaining_s, 1),
            "reason": gap.underfill.reason,
        }
        for gap in filled.underfilled
    ]
    schedule: ScheduleSummary = {
        "window": {"start": now.isoformat(), "days": SCHEDULE_DAYS},
        "airings": filled.placed,
        "underfilled": underfilled,
        "calendars": [{"channel": slug, "url_path": f"/feeds/{slug}.ics"} for slug in channels],
        "station": {"id": station.id, "name": station.name, "area": commune.name},
    }
    return station.id, token, schedule


def _pull_station(out: Path, station_id: int, token: str) -> dict[str, object]:
    """Fetch the station's schedule.json through the real API in-process, as the station agent would."""
    import asyncio

    import httpx

    from app import create_app

    url_path = f"/stations/{station_id}/schedule.json"

    async def pull() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url=settings_base()) as api:
            return await api.get(url_path, headers={"Authorization": f"Bearer {token}"})

    response = asyncio.run(pull())
    response.raise_for_status()
    path = out / "stations" / f"{station_id}-schedule.json"
    _write_bytes(path, response.content)
    items = response.json()["items"]
    return {"url_path": url_path, "path": str(path), "items": len(items), "first": items[0] if items else None}


def _notes(production: Production, rendered: list[Output]) -> list[str]:
    """Where a rendered output misses its format's length (the radio column is 5-15 minutes, for example)."""
    low, high = scripts.LENGTH_LIMITS_S[production.format]
    lengths = [(o.profile, seconds) for o in rendered if o.kind in ("audio", "video") and (seconds := o.duration_s)]
    return [
        f"{production.title} ({profile}): {seconds:.0f} s, ngoài khoảng {low:.0f}-{high:.0f} s của định dạng {production.format}"
        for profile, seconds in lengths
        if not low <= seconds <= high
    ]


def settings_base() -> str:
    """Public base URL of `lawcast serve`."""
    return get_settings().base_url.rstrip("/")


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_json(path: Path, data: object) -> None:
    _write_bytes(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode())
