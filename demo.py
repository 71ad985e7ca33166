"""The demo: the bundled sample law through the whole product on the embedded defaults."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

import auth
from assets import storage
from broadcast import service as broadcast_service
from db import session_scope
from feeds import service as feeds_service
from feeds.podcast import build_podcast_rss
from settings import get_settings
from studio import jobs, service
from studio.models import Document, Production
from studio.render.audio import measure_loudness

SAMPLE = Path(__file__).resolve().parent / "assets" / "defaults" / "sample-law.txt"
CHANNEL = "tim-hieu-phap-luat"
DEMO_USERS = {
    "demo-editor": auth.Role.editor,
    "demo-reviewer": auth.Role.legal_reviewer,
    "demo-producer": auth.Role.producer,
}
FORMATS = ("radio", "loudspeaker", "video")


def _users(session) -> dict[str, auth.User]:  # type: ignore[no-untyped-def]
    users = {}
    for name, role in DEMO_USERS.items():
        user = session.scalar(select(auth.User).where(auth.User.name == name))
        users[name] = user or auth.create_user(session, name=name, role=role)
    return users


def _document(session, text: str, editor: auth.User) -> Document:  # type: ignore[no-untyped-def]
    # Re-running the demo reuses the same document and productions, so the feed does not grow duplicates.
    for doc in session.scalars(select(Document).where(Document.source_filename == SAMPLE.name)):
        if doc.text == service.legal.parse_document(text).text:
            return doc
    return service.create_document(session, text=text, user=editor, filename=SAMPLE.name)


def _productions(session, doc: Document, users: dict[str, auth.User]) -> list[Production]:  # type: ignore[no-untyped-def]
    made: list[Production] = []
    for fmt in FORMATS:
        existing = list(session.scalars(select(Production).where(Production.document_id == doc.id, Production.format == fmt).order_by(Production.id)))
        if not existing:
            existing = service.create_production(
                session, document_id=doc.id, format=fmt, user=users["demo-editor"], channel=CHANNEL if fmt == "radio" else None,
                season=1 if fmt == "radio" else None, episode=1 if fmt == "radio" else None,
            ).productions
        made.extend(existing)
    return made


def _approve(session, production: Production, users: dict[str, auth.User]) -> None:  # type: ignore[no-untyped-def]
    steps = [("submit", "demo-editor"), ("approve_legal", "demo-reviewer"), ("approve", "demo-producer")]
    for action, who in steps:
        if production.status in service.RULES[action].sources:
            service.transition(session, production=production, action=action, user=users[who], comment="demo")


def run_demo(out: Path, *, console: Console) -> dict[str, object]:
    """Run the whole slice through a real worker and write `out/summary.json`."""
    from cli import follow_jobs, start_workers, stop_workers
    from migrations import upgrade
    from studio.routes import send_jobs

    started = time.monotonic()
    settings = get_settings()
    out.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]lawcast demo[/] — dữ liệu: {settings.data_dir.resolve()}, CSDL: {settings.sqlalchemy_url}")
    upgrade()
    with session_scope() as session:
        users = _users(session)
        broadcast_service.ensure_channel(
            session, slug=CHANNEL, name="Tìm hiểu pháp luật", kind="podcast",
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
        send_jobs(created)
        states = follow_jobs(requested)
    finally:
        stop_workers(workers)
    failed = [s for s in states.values() if s["status"] != "succeeded"]
    if failed:
        raise SystemExit(f"Dựng thất bại: {failed}")
    with session_scope() as session:
        users = _users(session)
        summary = _publish_and_summarise(session, out, [p.id for p in productions], users)
    summary["elapsed_s"] = round(time.monotonic() - started, 2)
    _write_json(out / "summary.json", summary)
    return summary


def _publish_and_summarise(session, out: Path, production_ids: list[int], users) -> dict[str, object]:  # type: ignore[no-untyped-def]
    outputs = []
    for production_id in production_ids:
        production = service.get_production(session, production_id)
        if production.status == "approved":
            service.transition(session, production=production, action="publish", user=users["demo-producer"], comment="demo")
        for item in jobs.outputs_of(session, production):
            src = storage.path_for(item.media_key)
            entry: dict[str, object] = {
                "kind": item.kind, "profile": item.profile, "format": production.format, "production_id": production.id,
                "title": production.title, "path": str(src), "url_path": f"/media/{item.media_key}",
                "bytes": item.bytes, "sha256": item.sha256,
            }
            if item.kind in ("audio", "video"):
                loud = measure_loudness(src)
                entry.update(duration_s=round(item.duration_s or 0.0, 3), loudness_lufs=round(loud.integrated_lufs, 2), true_peak_dbtp=round(loud.true_peak_dbtp, 2))
            outputs.append(entry)
    session.flush()
    channel = broadcast_service.channel_by_slug(session, CHANNEL)
    episodes = feeds_service.episodes(session, channel)
    xml = build_podcast_rss(feeds_service.show_info(channel), episodes)
    feed_path = out / "feeds" / f"{CHANNEL}.rss"
    _write_bytes(feed_path, xml)
    feed = {
        "kind": "podcast_rss", "path": str(feed_path), "url_path": f"/feeds/{CHANNEL}.rss",
        "url": f"{settings_base()}/feeds/{CHANNEL}.rss", "items": len(episodes),
        "sha256": hashlib.sha256(xml).hexdigest(), "enclosures": [e.enclosure_url for e in episodes],
    }
    return {"database": get_settings().sqlalchemy_url, "data_dir": str(get_settings().data_dir.resolve()), "outputs": outputs, "feeds": [feed]}


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
