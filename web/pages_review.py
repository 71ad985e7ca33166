"""Review of a production: the source provisions beside the script, a diff of any two versions, the audit
timeline, and the workflow actions (with comment), whose refusals (four eyes...) are shown on the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from apitypes import Id
from auth import User
from db import SessionDep
from errors import Invalid, ServiceError
from studio import dispatch, jobs, lists, service, workflow
from studio.models import Production, ScriptVersion
from web.nav import ACTIONS
from web.pages_productions import actions_for, can_render, editor_page
from web.render import PageRoute, page, redirect
from web.security import Acting, SignedIn, Viewer

router = APIRouter(route_class=PageRoute)
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def chosen_nodes(tree: list[service.ProvisionNode], ids: set[int]) -> list[service.ProvisionNode]:
    """The provisions a production was made from, each with everything beneath it, in document order."""
    out: list[service.ProvisionNode] = []
    for node in tree:
        if node["id"] in ids:
            out.append(node)
        else:
            out.extend(chosen_nodes(node["children"], ids))
    return out


def default_versions(production: Production) -> tuple[int, int]:
    """The diff shown first: from the legally approved version (or the one before) to the current one."""
    current = production.current_version
    base = production.legal_approved_version
    if base is None or base >= current:
        base = max(1, current - 1)
    return base, current


@dataclass(frozen=True)
class Moment:
    """One entry of the review timeline: a workflow event, or the saving of a script version."""

    at: datetime
    actor: str
    action: str
    version: int
    comment: str | None = None
    from_status: str | None = None
    to_status: str | None = None


def timeline(session: Session, production: Production) -> list[Moment]:
    """Who did what to the production, when, on which version, and why: audit events and version saves, oldest first."""
    saved = session.execute(
        select(ScriptVersion.version, ScriptVersion.created_at, User.name)
        .outerjoin(User, User.id == ScriptVersion.created_by_id)
        .where(ScriptVersion.production_id == production.id)
    ).all()
    moments = [Moment(at, name or "–", "create" if version == 1 else "save", version) for version, at, name in saved]
    moments += [
        Moment(e.at, e.actor_name, e.action, e.script_version, e.comment, e.from_status, e.to_status)
        for e in workflow.audit(session, production)
    ]
    return sorted(moments, key=lambda m: m.at)


def review_page(
    request: Request,
    session: Session,
    who: Viewer,
    production: Production,
    *,
    from_v: int | None = None,
    to_v: int | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    """The review page (also re-rendered with a refusal after a failed action)."""
    doc = service.get_document(session, production.document_id)
    first, last = default_versions(production)
    from_v, to_v = min(from_v or first, production.current_version), min(to_v or last, production.current_version)
    diff = lists.script_diff(session, production_id=production.id, from_version=from_v, to_version=to_v)
    wrote = who.user.id in service.contributors(session, production, production.current_version)
    return page(
        request,
        who,
        "app/review.html",
        {
            "production": production,
            "doc": doc,
            "sources": chosen_nodes(service.provision_tree(doc), set(production.provision_ids or [])),
            "lines": service.script_version(session, production).lines,
            "versions": range(1, production.current_version + 1),
            "diff": diff,
            "from_v": from_v,
            "to_v": to_v,
            "timeline": timeline(session, production),
            "actions": actions_for(who, production),
            "can_render": can_render(who, production),
            "wrote": wrote,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/productions/{production_id}/review")
def review(
    production_id: Id,
    request: Request,
    session: SessionDep,
    who: SignedIn,
    from_v: Annotated[Version, Query(alias="from")] = None,
    to_v: Annotated[Version, Query(alias="to")] = None,
) -> Response:
    """Review a production: sources beside the script, a diff, the audit trail, approve or request changes."""
    return review_page(request, session, who, service.get_production(session, production_id), from_v=from_v, to_v=to_v)


def _render(session: Session, who: Viewer, production: Production) -> str:
    """Queue renders of the current script ("Dựng"); send them once their rows are committed."""
    who.need("editor", "producer")
    all_jobs, _created = jobs.request_render(session, production=production, user=who.user, profiles=None)
    session.commit()
    dispatch.send_jobs(session, all_jobs)
    return who._("Đã xếp %(n)s tác vụ dựng cho phiên bản %(v)s.", n=len(all_jobs), v=production.current_version)


@router.post("/productions/{production_id}/transitions")
def transition(
    production_id: Id,
    request: Request,
    session: SessionDep,
    who: Acting,
    action: Annotated[str, Form(max_length=40)],
    comment: Annotated[str, Form(max_length=4000)] = "",
    back: Annotated[str, Form(max_length=10)] = "editor",
) -> Response:
    """A workflow button (Gửi duyệt, Duyệt pháp lý, Phát hành, Dựng...): done, or refused with a readable reason."""
    production = service.get_production(session, production_id)
    target = f"/app/productions/{production.id}" + ("/review" if back == "review" else "")
    try:
        if action == "render":
            message = _render(session, who, production)
        elif action not in workflow.RULES:
            raise Invalid(who._("Thao tác không tồn tại."))
        else:
            if action == "request_changes" and not comment.strip():
                raise Invalid(who._("Hãy ghi rõ cần sửa gì trong ô nhận xét."))
            event = workflow.transition(
                session, production=production, action=action, user=who.user, comment=comment.strip() or None
            )
            message = who._("Đã thực hiện “%(action)s” (phiên bản %(v)s).", action=who._(ACTIONS[action]), v=event.script_version)
    except ServiceError as exc:
        session.rollback()
        shown = review_page if back == "review" else editor_page
        return shown(request, session, who, production, error=exc.detail, status_code=exc.status)
    session.commit()
    return redirect(target, message)
