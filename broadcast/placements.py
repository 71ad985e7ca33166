"""Airings placed by hand or by events: pins, emergencies, and withdrawal when content leaves the air (flushes, never commits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadcast import airings, fill_inputs, plans, scheduler
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Channel, Occurrence, OccurrencePlan, Plan, Priority
from broadcast.station_cache import schedule_changed
from db import rowcount, utcnow
from errors import Conflict, NotFound
from studio import service as studio_service
from timeutil import aware_utc


def pin(
    session: Session,
    *,
    occurrence_id: int,
    production_id: int,
    freshness_days: int,
    by: str = "",
    now: datetime | None = None,
) -> tuple[Airing, Occurrence]:
    """Place a production in an occurrence by hand, after its earlier pins; the rest of the occurrence is refilled around it."""
    now = now or utcnow()
    occurrence = session.get(Occurrence, occurrence_id)
    if occurrence is None:
        raise NotFound(f"Không có lượt phát {occurrence_id} (occurrence not found)")
    occ_start, occ_end = aware_utc(occurrence.start), aware_utc(occurrence.end)
    if occ_end <= now:
        raise Conflict(f"Lượt phát {occurrence_id} đã kết thúc; không thể ghim (occurrence is over)")
    channels = {c.id: c for c in session.scalars(select(Channel))}
    profile = fill_inputs.profile_for(occurrence.target_kind, occurrence.target_id, channels)
    candidate = next((c for c in fill_inputs.candidates(session, profile) if c.production_id == production_id), None)
    if candidate is None:
        raise Conflict(f"Sản phẩm {production_id} chưa được duyệt phát hoặc chưa có bản dựng '{profile}'")
    layers = fill_inputs.layers(session, plans.plans_of(session, [occurrence_id]))
    taken = layers.pinned.get(occurrence_id, []) if occ_start >= now else layers.every.get(occurrence_id, [])
    begin = max([occ_start, now, *(e for _, _, _, e in taken)])
    finish = begin + timedelta(seconds=candidate.duration_s)
    if finish > occ_end:
        left = max((occ_end - begin).total_seconds(), 0)
        raise Conflict(
            f"Sản phẩm dài {scheduler.clock(candidate.duration_s)}, không vừa {scheduler.clock(left)} còn lại của khung (does not fit)"
        )
    airing = _pinned_airing(session, occurrence, candidate, begin, finish, by=by, now=now)
    schedule_changed(session)
    airings.fill(
        session,
        start=occ_start,
        end=occ_start + timedelta(microseconds=1),
        freshness_days=freshness_days,
        now=now,
        occurrence_ids=[occurrence_id],
    )
    return airing, occurrence


def _pinned_airing(
    session: Session,
    occurrence: Occurrence,
    candidate: scheduler.Candidate,
    begin: datetime,
    finish: datetime,
    *,
    by: str,
    now: datetime,
) -> Airing:
    """Write the pinned airing in a plan of its own, linked to the occurrence (the refill then plans around it)."""
    plan = Plan(start=aware_utc(occurrence.start), end=aware_utc(occurrence.end), created_at=now)
    session.add(plan)
    session.flush()
    who = f" {by}" if by else ""
    airing = Airing(
        plan_id=plan.id,
        target_kind=occurrence.target_kind,
        target_id=occurrence.target_id,
        production_id=candidate.production_id,
        output_id=candidate.output_id,
        start=begin,
        end=finish,
        priority=Priority.normal.value,
        status=AiringStatus.planned.value,
        pinned=True,
        reason=f"Xếp thủ công (ghim) bởi người lập lịch{who}; các lần xếp lịch sau giữ nguyên",
    )
    session.add(airing)
    session.add(OccurrencePlan(occurrence_id=occurrence.id, plan_id=plan.id))
    session.flush()
    return airing


def emergency(session: Session, *, production_id: int, area_id: int, now: datetime | None = None) -> Airing:
    """Air a production at once at the head of every station in an area (quiet hours do not apply)."""
    now = now or utcnow()
    area = broadcast_service.get_area(session, area_id)
    candidate = next((c for c in fill_inputs.candidates(session, "loudspeaker") if c.production_id == production_id), None)
    if candidate is None:
        raise Conflict(f"Sản phẩm {production_id} phải được duyệt phát và có bản dựng loa trước khi phát khẩn cấp")
    airing = Airing(
        plan_id=None,
        target_kind="area",
        target_id=area.id,
        production_id=production_id,
        output_id=candidate.output_id,
        start=now,
        end=now + timedelta(seconds=candidate.duration_s),
        priority=Priority.emergency.value,
        status=AiringStatus.published.value,
        reason=f"Khẩn cấp (Thông tư 39/2020/TT-BTTTT): phát ngay tại mọi trạm thuộc {area.name}",
        pinned=True,
    )
    session.add(airing)
    session.flush()
    schedule_changed(session)
    return airing


def withdraw_future(session: Session, production_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Withdraw every future airing of these productions; stations see it in their next poll."""
    wanted = list(production_ids)
    if not wanted:
        return 0
    now = now or utcnow()
    result = session.execute(
        update(Airing)
        .where(Airing.production_id.in_(wanted), Airing.end > now, Airing.status.in_(plans.LIVE))
        .values(status=AiringStatus.withdrawn.value, updated_at=now)
    )
    session.flush()
    withdrawn = rowcount(result)
    if withdrawn:
        schedule_changed(session)
    return withdrawn


_registered = False


def register_listeners() -> None:
    """Subscribe the broadcast side to the studio's events; the app and worker factories call this (idempotent).

    Productions withdrawn or made from a repealed text leave every future schedule.
    """
    global _registered
    if not _registered:
        _registered = True
        studio_service.on_off_air(_withdraw_on_off_air)


def _withdraw_on_off_air(session: Session, production_ids: Sequence[int]) -> None:
    withdraw_future(session, production_ids)
