"""Plans and their links to occurrences: releasing plans no occurrence uses any more (flushes, never commits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from broadcast import bulk
from broadcast.models import Airing, AiringStatus, OccurrencePlan, Plan
from broadcast.station_cache import schedule_changed
from db import utcnow

LIVE = (AiringStatus.planned.value, AiringStatus.published.value)
# A station can look this far ahead (schedule.json ?hours= at most 168), so it may hold any airing
# starting before now + VISIBLE_AHEAD in its cache and report it later.
VISIBLE_AHEAD = timedelta(hours=168)
REPLACED_NOTE = " — đã được thay bằng lần xếp lịch sau (replaced)"


def release(session: Session, plan_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Plans left without occurrences: withdraw the airings a station may have cached, delete the rest; returns plans released."""
    now = now or utcnow()
    wanted = sorted(set(plan_ids))
    released = 0
    for chunk in bulk.chunks(wanted, bulk.IN_CHUNK):
        linked = set(session.scalars(select(OccurrencePlan.plan_id).where(OccurrencePlan.plan_id.in_(chunk)).distinct()))
        orphans = [plan_id for plan_id in chunk if plan_id not in linked]
        if not orphans:
            continue
        starts = dict(session.execute(select(Plan.id, Plan.start).where(Plan.id.in_(orphans))).all())
        visible = [p for p in orphans if p in starts and starts[p] < now + VISIBLE_AHEAD]
        unseen = [p for p in orphans if p in starts and p not in visible]
        if visible:
            # Kept as withdrawn so a station that aired one from its cache can still report it.
            session.execute(
                update(Airing)
                .where(Airing.plan_id.in_(visible), Airing.status.in_(LIVE))
                .values(status=AiringStatus.withdrawn.value, reason=Airing.reason + REPLACED_NOTE, updated_at=now)
            )
        if unseen:
            session.execute(delete(Airing).where(Airing.plan_id.in_(unseen)))
            session.execute(delete(Plan).where(Plan.id.in_(unseen)))
        released += len(visible) + len(unseen)
    if released:
        schedule_changed(session)
    session.flush()
    return released


def unlink(session: Session, pairs: Sequence[tuple[int, int]]) -> None:
    """Remove (occurrence_id, plan_id) links."""
    links = OccurrencePlan.__table__
    statement = delete(links).where(links.c.occurrence_id == bindparam("o"), links.c.plan_id == bindparam("p"))
    if pairs:
        schedule_changed(session)
    for chunk in bulk.chunks(pairs, bulk.CHUNK):
        session.connection().execute(statement, [{"o": o, "p": p} for o, p in chunk])


def plans_of(session: Session, occurrence_ids: Sequence[int]) -> dict[int, list[int]]:
    """Plan ids linked to each of these occurrences."""
    out: dict[int, list[int]] = {}
    for chunk in bulk.chunks(occurrence_ids, bulk.IN_CHUNK):
        for occurrence_id, plan_id in session.execute(
            select(OccurrencePlan.occurrence_id, OccurrencePlan.plan_id).where(OccurrencePlan.occurrence_id.in_(chunk))
        ):
            out.setdefault(occurrence_id, []).append(plan_id)
    return out
