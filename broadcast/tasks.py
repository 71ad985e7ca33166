"""Celery tasks of the broadcast side: thin wrappers around the service."""

from __future__ import annotations

from celery import shared_task

from broadcast import service
from db import session_scope
from settings import get_settings


@shared_task(name="broadcast.expand_occurrences")
def expand_occurrences() -> int:
    """Expand every active slot's occurrences up to the configured horizon (run by beat)."""
    with session_scope() as session:
        return service.expand(session, horizon_days=get_settings().schedule_horizon_days, skip_refused=True)
