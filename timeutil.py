"""Time zone helpers shared by every layer (imports nothing of the app)."""

from __future__ import annotations

from datetime import UTC, datetime


def aware_utc(value: datetime | str) -> datetime:
    """The same instant as an aware UTC datetime; naive values (and ISO text) are read as UTC.

    SQLite hands datetimes back naive, and aggregates that bypass the column type even as text.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    zone = value.tzinfo
    if zone is UTC:
        return value
    return value.replace(tzinfo=UTC) if zone is None else value.astimezone(UTC)
