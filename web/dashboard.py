""" "Việc của tôi": what each role should look at first, as plain data for the dashboard template.

Read-only queries over the domains' tables, each bounded (a count and the first few rows), so the page stays
fast on a large database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defer

from auth import Role, User
from broadcast import scope as area_scope
from broadcast.models import Airing, AiringStatus, Area, Occurrence, OccurrencePlan, Station
from db import utcnow
from settings import get_settings
from studio.models import Document, DocumentEvent, JobStatus, Production, ProductionStatus, RenderJob

S = ProductionStatus
SHOWN = 10  # rows per section; each also says how many there are in all
SILENT_AFTER = timedelta(hours=1)  # a station that has not polled this long is "silent"
FAILED_WITHIN = timedelta(days=7)
REPEALED_WITHIN = timedelta(days=7)
ON_AIR = (S.approved.value, S.published.value)


@dataclass
class Section:
    """One list of the dashboard: its rows (at most SHOWN) and how many match in all."""

    rows: list[Any] = field(default_factory=list)
    total: int = 0


@dataclass
class Dashboard:
    """Every section the user's role sees; a section the role does not see is None."""

    drafts: Section | None = None
    waiting: Section | None = None
    renders: Section | None = None
    airings: Section | None = None
    silent: Section | None = None
    repealed: Section | None = None


def _section(session: Session, query: Any, order: Any) -> Section:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    found = session.execute(query.order_by(*order).limit(SHOWN)).all() if total else []
    rows = [row[0] if len(row) == 1 else row for row in found]  # one entity: the object itself
    return Section(rows, total)


def _sees(user: User, *roles: Role) -> bool:
    return user.role == Role.admin or user.role in roles


def drafts(session: Session, user: User) -> Section:
    """Productions this user wrote that are still drafts or came back with changes requested."""
    query = (
        select(Production)
        .options(defer(Production.provision_ids))
        .where(Production.author_id == user.id, Production.status.in_((S.draft.value, S.changes_requested.value)))
    )
    return _section(session, query, (Production.updated_at.desc(), Production.id.desc()))


def waiting(session: Session, user: User) -> Section:
    """Productions waiting for this user's approval: in review for legal reviewers, legally approved for producers."""
    states = []
    if _sees(user, Role.legal_reviewer):
        states.append(S.in_review.value)
    if _sees(user, Role.producer):
        states.append(S.legally_approved.value)
    if user.role == Role.editor:  # an editor waits for others: their own productions under review
        query = select(Production).where(
            Production.author_id == user.id, Production.status.in_((S.in_review.value, S.legally_approved.value))
        )
    else:
        query = select(Production).where(Production.status.in_(states))
    query = query.options(defer(Production.provision_ids))
    return _section(session, query, (Production.updated_at.asc(), Production.id.asc()))


def renders(session: Session) -> Section:
    """Render jobs queued or running, and those that failed in the last week."""
    since = utcnow() - FAILED_WITHIN
    query = (
        select(RenderJob, Production.title)
        .join(Production, Production.id == RenderJob.production_id)
        .where(
            or_(
                RenderJob.status.in_((JobStatus.queued.value, JobStatus.running.value)),
                (RenderJob.status == JobStatus.failed.value) & (RenderJob.created_at >= since),
            )
        )
    )
    return _section(session, query, (RenderJob.id.desc(),))


def today_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start and end of today in the site's timezone, as UTC-aware moments."""
    zone = ZoneInfo(get_settings().timezone)
    local = (now or utcnow()).astimezone(zone).date()
    start = datetime.combine(local, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def airings_today(session: Session, scope: area_scope.Scope = area_scope.EVERYWHERE) -> Section:
    """Airings starting today (not withdrawn), with their production's title; those reaching the user's area when scoped."""
    start, end = today_bounds()
    query = (
        select(Airing, Production.title)
        .join(Production, Production.id == Airing.production_id)
        .where(Airing.start >= start, Airing.start < end, Airing.status != AiringStatus.withdrawn.value)
    )
    direct = area_scope.reaches(scope, Airing.target_kind, Airing.target_id)
    on_occurrence = area_scope.reaches(scope, Occurrence.target_kind, Occurrence.target_id)
    if direct is not None and on_occurrence is not None:
        linked = (
            select(OccurrencePlan.plan_id)
            .join(Occurrence, Occurrence.id == OccurrencePlan.occurrence_id)
            .where(on_occurrence, Occurrence.start < end, Occurrence.end > start)
        )
        query = query.where(or_(and_(Airing.plan_id.is_(None), direct), Airing.plan_id.in_(linked)))
    return _section(session, query, (Airing.start.asc(), Airing.id.asc()))


def silent_stations(session: Session, scope: area_scope.Scope = area_scope.EVERYWHERE) -> Section:
    """Stations (in the user's area when scoped) that have not polled for SILENT_AFTER, or never did."""
    cutoff = utcnow() - SILENT_AFTER
    query = select(Station).where(or_(Station.last_seen_at.is_(None), Station.last_seen_at < cutoff))
    if not scope.everywhere:
        query = query.where(Station.area_id.in_(select(Area.id).where(Area.path.startswith(scope.path or "", autoescape=True))))
    return _section(session, query, (Station.last_seen_at.asc().nulls_first(), Station.id.asc()))


def repealed_on_air(session: Session) -> Section:
    """Documents repealed in the last week that still have productions approved or published (to withdraw)."""
    since = utcnow() - REPEALED_WITHIN
    repealed = select(DocumentEvent.document_id).where(DocumentEvent.to_status == "repealed", DocumentEvent.at >= since)
    on_air = (
        select(Production.document_id, func.count(Production.id).label("on_air"))
        .where(Production.status.in_(ON_AIR))
        .group_by(Production.document_id)
        .subquery()
    )
    query = (
        select(Document.id, Document.title, Document.number, on_air.c.on_air)
        .join(on_air, on_air.c.document_id == Document.id)
        .where(Document.id.in_(repealed), Document.status == "repealed")
    )
    return _section(session, query, (Document.id.desc(),))


def gather(session: Session, user: User) -> Dashboard:
    """The sections of the dashboard for this user's role."""
    board = Dashboard()
    if _sees(user, Role.editor):
        board.drafts = drafts(session, user)
    if _sees(user, Role.editor, Role.legal_reviewer, Role.producer):
        board.waiting = waiting(session, user)
    board.renders = renders(session)
    if _sees(user, Role.producer, Role.scheduler):
        scope = area_scope.of(session, user)
        board.airings = airings_today(session, scope)
        board.silent = silent_stations(session, scope)
    board.repealed = repealed_on_air(session)
    return board
