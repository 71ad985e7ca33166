"""Renders: the queue of render jobs with live progress (HTMX polls each active job's row every second), cancel and
retry, and each finished output with its player, duration, loudness, true peak, subtitles, and the script version it
was rendered from (and whether that is the approved one).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from apitypes import Id
from assets import access
from db import SessionDep
from errors import ServiceError
from pagination import PageParams
from studio import dispatch, jobs, lists, service
from studio.models import Output, Production, RenderJob
from web.nav import JOB_STATUS
from web.pages_documents import ALWAYS, NEWEST, PageNo, pages_of
from web.render import PageRoute, fragment, is_htmx, page, redirect
from web.security import Acting, SignedIn, Viewer

router = APIRouter(route_class=PageRoute)
PER_PAGE = 20
MEDIA = ("audio", "video")
SIDECARS = ("vtt", "srt", "transcript")


def signed(key: str) -> str:
    """A same-origin signed URL of a media key: players in the page work whatever host the site is reached by."""
    return f"/media/{key}?{access.sign(key).query()}"


@dataclass
class Rendered:
    """One media output of a job with its sidecars (subtitles, transcript) and what it was rendered from."""

    out: Output
    url: str
    approved: bool
    sidecars: dict[str, str] = field(default_factory=dict)


@dataclass
class JobView:
    """A render job as its row shows it: the job, its production, and its outputs once it has succeeded."""

    job: RenderJob
    production: Production
    outputs: list[Rendered] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether the job is queued or running (its row keeps polling)."""
        return self.job.status in jobs.ACTIVE

    @property
    def percent(self) -> int:
        """Progress in whole percent (100 once it succeeded)."""
        return round((self.job.progress or 0.0) * 100)


def views(session: Session, rows: list[RenderJob]) -> list[JobView]:
    """Rows of jobs with their productions and outputs, in three statements whatever their number."""
    if not rows:
        return []
    productions = {p.id: p for p in session.scalars(select(Production).where(Production.id.in_({j.production_id for j in rows})))}
    outputs: dict[int, list[Output]] = defaultdict(list)
    for out in session.scalars(select(Output).where(Output.job_id.in_([j.id for j in rows])).order_by(Output.id)):
        outputs[out.job_id].append(out)
    made = []
    for job in rows:
        production = productions[job.production_id]
        files = outputs.get(job.id, [])
        sidecars = {out.kind: signed(out.media_key) for out in files if out.kind in SIDECARS}
        media = [
            Rendered(out, signed(out.media_key), out.script_version == production.approved_version, sidecars)
            for out in files
            if out.kind in MEDIA
        ]
        made.append(JobView(job, production, media))
    return made


@router.get("/jobs")
def queue(request: Request, session: SessionDep, who: SignedIn, status: str | None = None, page_no: PageNo = 1) -> Response:
    """Render jobs, newest first (filter by state); active ones update themselves every second."""
    listing = lists.list_jobs(
        session,
        params=PageParams(page_no, PER_PAGE),
        sort=NEWEST,
        window=ALWAYS,
        status=[status] if status in JOB_STATUS else None,
    )
    return page(
        request,
        who,
        "app/jobs.html",
        {
            "views": views(session, listing.rows),
            "total": listing.total,
            "status": status or "",
            "page_no": page_no,
            "pages": pages_of(listing.total, PER_PAGE),
            "can_act": who.has("editor", "producer"),
        },
    )


def _row(request: Request, session: Session, who: Viewer, job: RenderJob, *, part: str = "row") -> Response:
    view = views(session, [job])[0]
    values = {"v": view, "can_act": who.has("editor", "producer")}
    if not is_htmx(request):
        return page(request, who, "app/job.html", values)
    if part == "state" and view.active:
        return fragment(request, who, "app/_job_state.html", values)
    if part == "state":  # it has just finished: the whole row once, with its outputs and buttons
        return fragment(
            request, who, "app/_job_row.html", values, headers={"HX-Retarget": f"#job-{job.id}", "HX-Reswap": "outerHTML"}
        )
    return fragment(request, who, "app/_job_row.html", values)


@router.get("/jobs/{job_id}")
def job_row(job_id: Id, request: Request, session: SessionDep, who: SignedIn, part: str = "row") -> Response:
    """One job: for HTMX its state line (polled while it runs) or its row; otherwise a page of its own."""
    return _row(request, session, who, jobs.get_job(session, job_id), part=part)


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: Id, request: Request, session: SessionDep, who: Acting) -> Response:
    """Stop a job: a queued one at once, a running one at its next progress check (no partial file is left)."""
    who.need("editor", "producer")
    job = jobs.cancel(session, job=jobs.get_job(session, job_id))
    session.commit()
    if is_htmx(request):
        return _row(request, session, who, job)
    return redirect("/app/jobs", who._("Đã yêu cầu huỷ tác vụ #%(id)s.", id=job.id))


@router.post("/jobs/{job_id}/retry")
def retry(job_id: Id, session: SessionDep, who: Acting) -> Response:
    """Request the render again (the production's current script, same profile and queue) and send it to the worker."""
    who.need("editor", "producer")
    old = jobs.get_job(session, job_id)
    production = service.get_production(session, old.production_id)  # 404 only if deleted since (ON DELETE CASCADE)
    try:
        again, _created = jobs.request_render(
            session, production=production, user=who.user, profiles=[old.profile], emergency=old.queue == "emergency"
        )
    except ServiceError:
        session.rollback()
        raise
    session.commit()
    dispatch.send_jobs(session, again)
    session.commit()
    new = again[0]
    message = who._(
        "Đã xếp lại: tác vụ #%(id)s dựng phiên bản %(v)s (%(profile)s).", id=new.id, v=new.script_version, profile=new.profile
    )
    return redirect("/app/jobs", message)
