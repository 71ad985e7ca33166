"""The one time zone helper: naive values and ISO text are UTC, other zones become the same instant in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from timeutil import aware_utc


def test_aware_utc() -> None:
    naive = datetime(2026, 7, 1, 6, 30)
    assert aware_utc(naive) == datetime(2026, 7, 1, 6, 30, tzinfo=UTC) and aware_utc(naive).tzinfo is UTC
    hanoi = datetime(2026, 7, 1, 13, 30, tzinfo=timezone(timedelta(hours=7)))
    assert aware_utc(hanoi) == hanoi and aware_utc(hanoi).hour == 6 and aware_utc(hanoi).tzinfo is UTC
    already = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    assert aware_utc(already) is already
    assert aware_utc("2026-07-01 06:30:00") == already  # SQLite text from an aggregate
    assert aware_utc("2026-07-01T13:30:00+07:00") == already
