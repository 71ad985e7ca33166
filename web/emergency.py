"""Emergency broadcasts for the staff pages: what may go on air at once, short texts on their way through the four-eyes
workflow, and, once broadcast, which stations have pulled the emergency and which have reported it played.

An emergency broadcast is one direct airing per chosen area (broadcast.placements.emergency), all sharing the same
production and start; its page follows that group. Reads only, scoped to the viewer's area.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from auth import User
from broadcast import asrun
from broadcast import scope as area_scope
from broadcast.models import Airing, Area, PlayReport, Priority, Station
from db import utcnow
from errors import NotFound
from studio import jobs, scripting, service, workflow
from studio.models import JobStatus, Output, Production, ProductionStatus, RenderJob
from timeutil import aware_utc

PREFIX = "Khẩn cấp: "  # starts the title of a bulletin written here, for readers (the mark is Production.emergency)
ON_AIR = (ProductionStatus.approved.value, ProductionStatus.published.value)
IN_WORKFLOW = (
    ProductionStatus.draft.value,
    ProductionStatus.in_review.value,
    ProductionStatus.changes_requested.value,
    ProductionStatus.legally_approved.value,
    ProductionStatus.approved.value,
)
READY_SHOWN = 30
STATIONS_SHOWN = 300
RECENT = timedelta(days=7)
WATCH_FOR = timedelta(hours=6)  # the watch page stops polling after this long


@dataclass
class Ready:
    """An approved production with a loudspeaker render of its approved version: it may go on air now."""

    production: Production
    output: Output


def _ready_query() -> Select[Production, Output]:
    """Approved productions joined to a loudspeaker render of exactly their approved version (what emergency() takes)."""
    return (
        select(Production, Output)
        .join(Output, Output.production_id == Production.id)
        .join(RenderJob, RenderJob.id == Output.job_id)
        .where(
            Production.status.in_(ON_AIR),
            Production.source_repealed.is_(False),
            RenderJob.status == JobStatus.succeeded.value,
            Output.script_version == Production.approved_version,
            Output.profile == "loudspeaker",
            Output.kind == "audio",
            Output.duration_s > 0,
        )
    )


def ready(session: Session, q: str | None = None) -> list[Ready]:
    """Productions that may be broadcast at once, newest approval first."""
    query = _ready_query().order_by(Production.approved_at.desc(), Output.id.desc()).limit(READY_SHOWN * 3)
    if q:
        query = query.where(Production.title.icontains(q, autoescape=True))
    seen: dict[int, Ready] = {}
    for production, output in session.execute(query):
        seen.setdefault(production.id, Ready(production, output))
    return list(seen.values())[:READY_SHOWN]


def ready_one(session: Session, production_id: int) -> Ready:
    """One production that may be broadcast now, or a readable 404 saying why not."""
    found = session.execute(_ready_query().where(Production.id == production_id).order_by(Output.id.desc()).limit(1)).first()
    if found is None:
        raise NotFound(
            f"Sản phẩm {production_id} chưa được duyệt phát hoặc chưa có bản dựng loa của phiên bản được duyệt "
            "(not approved, or no loudspeaker render of its approved version)"
        )
    return Ready(found[0], found[1])


STEPS = ("written", "submitted", "legal", "approved", "rendered")


@dataclass
class Progress:
    """A short emergency text on its way: which workflow steps are done, and its render."""

    production: Production
    done: set[str] = field(default_factory=set)
    rendering: bool = False


def in_progress(session: Session) -> list[Progress]:
    """Emergency bulletins (written on the emergency page or through the API) not on air yet (last week), newest first."""
    since = utcnow() - RECENT
    rows = list(
        session.scalars(
            select(Production)
            .where(
                Production.emergency.is_(True),
                Production.status.in_(IN_WORKFLOW),
                Production.updated_at >= since,
            )
            .order_by(Production.updated_at.desc(), Production.id.desc())
            .limit(20)
        )
    )
    out = []
    for production in rows:
        status = production.status
        done = {"written"}
        if status in (ProductionStatus.in_review.value, ProductionStatus.legally_approved.value, ProductionStatus.approved.value):
            done.add("submitted")
        if status in (ProductionStatus.legally_approved.value, ProductionStatus.approved.value):
            done.add("legal")
        if status == ProductionStatus.approved.value:
            done.add("approved")
        version = production.approved_version or production.current_version
        if any(o.profile == "loudspeaker" and o.kind == "audio" for o in service_outputs(session, production, version)):
            done.add("rendered")
        if status == ProductionStatus.approved.value and "rendered" in done:
            continue  # it is ready: the list of what may go on air shows it
        active = session.scalar(
            select(func.count())
            .select_from(RenderJob)
            .where(RenderJob.production_id == production.id, RenderJob.status.in_(("queued", "running")))
        )
        out.append(Progress(production, done, bool(active)))
    return out


def service_outputs(session: Session, production: Production, version: int) -> list[Output]:
    """Finished media outputs of one script version of a production."""
    return [o for o in jobs.outputs_of(session, production, version=version) if o.kind in workflow.MEDIA_KINDS]


def emergency_text(title: str, text: str) -> str:
    """The document text of a short emergency notice: a heading, and one article holding the text."""
    return f"THÔNG BÁO\n{title}\n\nĐiều 1. {title}\n{text.strip()}\n"


def create_from_text(session: Session, *, user: User, title: str, text: str) -> list[Production]:
    """A document and an emergency loudspeaker bulletin from a short text (flushes): version 1, a draft for review."""
    doc = service.create_document(session, text=emergency_text(title, text), user=user, title=f"Thông báo khẩn cấp: {title}")
    articles = [row.id for row in doc.provisions if row.kind == "dieu"]
    created = scripting.create_production(
        session,
        document_id=doc.id,
        format="loudspeaker",
        user=user,
        provision_ids=articles or None,
        title=PREFIX + title,
        emergency=True,
    )
    for production in created.productions:
        # The article's heading repeats the title after the emergency intro; the notice reads better without it.
        first = service.script_version(session, production, 1)
        first.lines = [line for line in first.lines if line.role != "heading"]
    session.flush()
    return created.productions


# --- after the broadcast -------------------------------------------------------------------------------------------


@dataclass
class Broadcast:
    """An emergency as broadcast: its airings (one per area), production, areas and start."""

    airings: list[Airing]
    production: Production
    areas: list[Area]
    start: datetime

    @property
    def ids(self) -> list[int]:
        """The airings' ids."""
        return [a.id for a in self.airings]


def _reaches_scope(scope: area_scope.Scope) -> ColumnElement[bool]:
    """Emergency airings on an area in the scope or above it (an emergency on the province reaches every commune)."""
    if scope.everywhere:
        return Airing.target_kind == "area"
    above = scope.ancestors
    return and_(Airing.target_kind == "area", or_(Airing.target_id.in_(area_scope.area_ids(scope)), Airing.target_id.in_(above)))


def broadcast(session: Session, scope: area_scope.Scope, airing_id: int) -> Broadcast:
    """The emergency this airing belongs to, or 404 (also when it does not reach the viewer's area)."""
    first = session.scalar(
        select(Airing).where(
            Airing.id == airing_id, Airing.plan_id.is_(None), Airing.priority == Priority.emergency.value, _reaches_scope(scope)
        )
    )
    if first is None:
        raise NotFound(f"Không có lượt phát khẩn cấp {airing_id} (emergency not found)")
    group = list(
        session.scalars(
            select(Airing)
            .where(
                Airing.plan_id.is_(None),
                Airing.priority == Priority.emergency.value,
                Airing.production_id == first.production_id,
                Airing.start == first.start,
                _reaches_scope(scope),
            )
            .order_by(Airing.id)
        )
    )
    areas = list(session.scalars(select(Area).where(Area.id.in_([a.target_id for a in group])).order_by(Area.name)))
    production = service.get_production(session, first.production_id)
    return Broadcast(group, production, areas, aware_utc(first.start))


def recent(session: Session, scope: area_scope.Scope) -> list[tuple[Airing, str, int]]:
    """Emergencies of the last week reaching the scope: (first airing, title, number of areas), newest first."""
    since = utcnow() - RECENT
    rows = session.execute(
        select(func.min(Airing.id), Production.title, func.count())
        .join(Production, Production.id == Airing.production_id)
        .where(
            Airing.plan_id.is_(None), Airing.priority == Priority.emergency.value, Airing.start >= since, _reaches_scope(scope)
        )
        .group_by(Airing.production_id, Airing.start, Production.title)
        .order_by(func.min(Airing.id).desc())
        .limit(20)
    ).all()
    firsts = {a.id: a for a in session.scalars(select(Airing).where(Airing.id.in_([r[0] for r in rows])))}
    return [(firsts[first_id], title, int(n)) for first_id, title, n in rows if first_id in firsts]


@dataclass
class StationState:
    """One station under an emergency: when it last pulled its schedule, and its play report if any."""

    station: Station
    area_name: str
    pulled: bool
    played_at: datetime | None
    outcome: str | None


@dataclass
class Watch:
    """Station by station: how many pulled the emergency and how many reported it played."""

    total: int
    pulled: int
    played: int
    stations: list[StationState]
    polling: bool


def watch(session: Session, scope: area_scope.Scope, cast: Broadcast, *, now: datetime | None = None) -> Watch:
    """The stations an emergency reaches (in the viewer's area): counts by SQL, and the first STATIONS_SHOWN, waiting first.

    A station has pulled the emergency once it polled after the start (last-seen is recorded at most once a
    minute, so this shows within a minute) or reported it played.
    """
    now = now or utcnow()
    under = or_(*(Area.path.startswith(area.path, autoescape=True) for area in cast.areas)) if cast.areas else Area.id < 0
    report = (
        select(
            PlayReport.station_id,
            func.min(PlayReport.played_at).label("played_at"),
            func.min(PlayReport.outcome).label("outcome"),
        )
        .where(PlayReport.airing_id.in_(cast.ids), PlayReport.outcome.in_(asrun.AIRED))
        .group_by(PlayReport.station_id)
        .subquery()
    )
    is_pulled = case((or_(report.c.played_at.is_not(None), Station.last_seen_at >= cast.start), 1), else_=0)
    base = (
        select(Station, Area.name, report.c.played_at, report.c.outcome, is_pulled.label("is_pulled"))
        .join(Area, Area.id == Station.area_id)
        .outerjoin(report, report.c.station_id == Station.id)
        .where(under)
    )
    if not scope.everywhere:
        base = base.where(Area.path.startswith(scope.path or "", autoescape=True))
    inner = base.subquery()
    total, played, pulled = session.execute(
        select(func.count(), func.count(inner.c.played_at), func.coalesce(func.sum(inner.c.is_pulled), 0))
    ).one()
    # Waiting stations first (not pulled, then pulled but not played), then by name.
    rows = session.execute(
        base.order_by(report.c.played_at.is_not(None), is_pulled, Station.name, Station.id).limit(STATIONS_SHOWN)
    ).all()
    states = [
        StationState(station, area_name, bool(pulled_flag), aware_utc(played_at) if played_at else None, outcome)
        for station, area_name, played_at, outcome, pulled_flag in rows
    ]
    polling = int(played) < int(total) and now - cast.start < WATCH_FOR
    return Watch(int(total), int(pulled or 0), int(played), states, polling)
