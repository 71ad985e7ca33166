"""Migrations on a real SQLite file: rows made before a revision come out of it as the new code expects them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from migrations import upgrade

NOW = "2026-12-01 08:00:00.000000"


def _production(db: sqlite3.Connection, pid: int, fmt: str, title: str, first_line: str) -> None:
    db.execute(
        "INSERT INTO productions (id, document_id, format, title, status, provision_ids, source_repealed,"
        " current_version, created_at, updated_at) VALUES (?, 1, ?, ?, 'draft', '[]', 0, 1, ?, ?)",
        (pid, fmt, title, NOW, NOW),
    )
    line = {"speaker": "presenter", "text": first_line, "pause_ms": 500, "provision_id": None, "role": "intro", "bed": False}
    db.execute(
        "INSERT INTO script_versions (production_id, version, lines, created_at) VALUES (?, 1, ?, ?)",
        (pid, json.dumps([line], ensure_ascii=False), NOW),
    )


def test_0008_marks_the_emergency_bulletins_made_before_it(tmp_path: Path) -> None:
    path = tmp_path / "before.sqlite"
    url = f"sqlite:///{path}"
    upgrade(url, "0007")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO documents (id, title, legal_bases, status, text, created_at, updated_at)"
            " VALUES (1, 'Luật mẫu', '[]', 'in_force', 'Điều 1. Phạm vi', ?, ?)",
            (NOW, NOW),
        )
        _production(db, 1, "loudspeaker", "Khẩn cấp: Phòng chống bão số 3", "Thông báo khẩn cấp! Thông báo khẩn cấp!")
        _production(db, 2, "loudspeaker", "Luật Phòng chống thiên tai", "Thông báo khẩn cấp! Thông báo khẩn cấp! Phần 1/2.")
        _production(db, 3, "loudspeaker", "Khẩn cấp trong luật", "Bản tin pháp luật. Sau đây là nội dung Luật mẫu.")
        _production(db, 4, "radio", "Khẩn cấp: không phải bản tin loa", "Kính thưa quý thính giả")
        db.execute("UPDATE script_versions SET lines = '7' WHERE production_id = 4")  # a corrupt script is left alone
    upgrade(url)
    with sqlite3.connect(path) as db:
        marked = dict(db.execute("SELECT id, emergency FROM productions ORDER BY id").fetchall())
        db.execute(
            "INSERT INTO productions (id, document_id, format, title, status, provision_ids, source_repealed,"
            " current_version, created_at, updated_at) VALUES (5, 1, 'radio', 'Mới', 'draft', '[]', 0, 1, ?, ?)",
            (NOW, NOW),
        )
        made_after = db.execute("SELECT emergency FROM productions WHERE id = 5").fetchone()[0]
    assert marked == {1: 1, 2: 1, 3: 0, 4: 0}
    assert made_after == 0  # the column's default holds for rows written by hand as well


# Tables with rows that reference others, parents first; batch migrations rebuild several of them.
LINKED = ("users", "api_tokens", "documents", "productions", "script_versions", "render_jobs", "outputs", "audit_events")
FILLERS = {"INTEGER": 1, "BIGINT": 1, "FLOAT": 0.0, "BOOLEAN": 0, "JSON": "[]", "TEXT": "x", "DATETIME": NOW}


def _fill(db: sqlite3.Connection, table: str) -> None:
    """One row of `table` with every required column set; every reference points at row 1 of its table."""
    columns = [(row[1], row[2]) for row in db.execute(f"PRAGMA table_info({table})") if row[3] or row[5]]
    values = [FILLERS.get(kind, f"{table}-{name}") for name, kind in columns]
    db.execute(f"INSERT INTO {table} ({', '.join(n for n, _ in columns)}) VALUES ({', '.join('?' * len(columns))})", values)


def test_upgrading_from_the_first_revision_keeps_every_linked_row(tmp_path: Path) -> None:
    path = tmp_path / "first.sqlite"
    url = f"sqlite:///{path}"
    upgrade(url, "0001")
    with sqlite3.connect(path) as db:
        for table in LINKED:
            _fill(db, table)
    upgrade(url)
    with sqlite3.connect(path) as db:
        counts = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in LINKED}
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert counts == dict.fromkeys(LINKED, 1)
