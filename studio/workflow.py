"""The co-production workflow: who may move a production where, four eyes, and the audit trail.

Functions flush but never commit; the request or task commits at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth import Role, User
from db import utcnow
from errors import Conflict, Forbidden, Invalid
from studio import jobs, scripting, service
from studio.engine import pipeline
from studio.engine.text.scripts import ScriptLine
from studio.models import AuditEvent, Production, ProductionStatus

S = ProductionStatus
MEDIA_KINDS = ("audio", "video")
# Editing the script in these states sends the production back to draft (DESIGN.md, workflow).
REOPENED_BY_EDIT = frozenset({S.in_review, S.legally_approved, S.approved})


@dataclass(frozen=True)
class Rule:
    """Where an action may start, where it leads, and who may take it."""

    sources: frozenset[str]
    target: str
    roles: frozenset[str]


RULES: dict[str, Rule] = {
    "submit": Rule(frozenset({S.draft, S.changes_requested}), S.in_review, frozenset({Role.editor})),
    "request_changes": Rule(
        frozenset({S.in_review, S.legally_approved}), S.changes_requested, frozenset({Role.legal_reviewer, Role.producer})
    ),
    "approve_legal": Rule(frozenset({S.in_review}), S.legally_approved, frozenset({Role.legal_reviewer})),
    "approve": Rule(frozenset({S.legally_approved}), S.approved, frozenset({Role.producer})),
    "publish": Rule(frozenset({S.approved}), S.published, frozenset({Role.producer, Role.scheduler})),
    "withdraw": Rule(
        frozenset({S.in_review, S.legally_approved, S.approved, S.published}),
        S.withdrawn,
        frozenset({Role.producer, Role.legal_reviewer}),
    ),
}


def transition(session: Session, *, production: Production, action: str, user: User, comment: str | None = None) -> AuditEvent:
    """Apply a workflow action, enforcing roles and four eyes, and record it as an audit event."""
    rule = RULES.get(action)
    if rule is None:
        raise Invalid(f"Thao tác '{action}' không tồn tại; dùng một trong: {', '.join(RULES)} (unknown action)")
    if user.role != Role.admin and user.role not in rule.roles:
        raise Forbidden(
            f"Vai trò '{user.role}' không được '{action}'; cần: {', '.join(sorted(rule.roles))} (forbidden for this role)"
        )
    if production.status not in rule.sources:
        raise Conflict(
            f"Không thể '{action}' khi sản phẩm đang ở trạng thái '{production.status}' "
            f"(cần: {', '.join(sorted(rule.sources))}) (not allowed in this state)"
        )
    version = production.current_version
    if action in ("approve_legal", "approve"):
        _check_four_eyes(session, production=production, action=action, user=user)
    if action == "publish":
        _check_publishable(session, production)
    event = AuditEvent(
        production_id=production.id,
        action=action,
        from_status=production.status,
        to_status=rule.target,
        actor_id=user.id,
        actor_name=user.name,
        comment=comment,
        script_version=production.approved_version if action == "publish" else version,
    )
    production.status = rule.target
    _record_approval(production, action=action, user=user)
    session.add(event)
    session.flush()
    if action == "withdraw":
        service.notify_off_air(session, [production.id])
    return event


def _record_approval(production: Production, *, action: str, user: User) -> None:
    now = utcnow()
    if action == "approve_legal":
        production.legal_approved_version = production.current_version
        production.legal_approved_by_id = user.id
    elif action == "approve":
        production.approved_version = production.current_version
        production.approved_at = now
    elif action == "publish":
        production.published_at = now
    elif action == "request_changes":
        production.legal_approved_version = None
        production.legal_approved_by_id = None


def _check_four_eyes(session: Session, *, production: Production, action: str, user: User) -> None:
    """Nobody approves a version they wrote or edited, and the two approvals come from two people."""
    if user.id in service.contributors(session, production, production.current_version):
        raise Forbidden(
            f"Nguyên tắc bốn mắt: bạn đã viết hoặc sửa kịch bản phiên bản {production.current_version}, "
            "nên không được duyệt nó (four eyes: you wrote or edited this version)"
        )
    if action == "approve":
        if production.legal_approved_version != production.current_version:
            raise Conflict(f"Phiên bản {production.current_version} chưa được duyệt pháp lý (this version has no legal approval)")
        if production.legal_approved_by_id == user.id:
            raise Forbidden(
                "Nguyên tắc bốn mắt: người duyệt phát sóng phải khác người đã duyệt pháp lý "
                "(four eyes: air approval needs a second person)"
            )


def _check_publishable(session: Session, production: Production) -> None:
    """Publishing needs every profile of the format rendered from exactly the approved version."""
    if production.source_repealed:
        raise Conflict("Văn bản nguồn đã bị bãi bỏ; không thể phát hành (source document repealed)")
    approved = production.approved_version
    if approved is None:
        raise Conflict("Sản phẩm chưa có phiên bản được duyệt (no approved version)")
    done = {out.profile for out in jobs.outputs_of(session, production, version=approved) if out.kind in MEDIA_KINDS}
    missing = [profile for profile in pipeline.profiles_for(production.format) if profile not in done]
    if missing:
        raise Conflict(
            f"Chưa dựng xong phiên bản được duyệt {approved} cho: {', '.join(missing)}; hãy dựng trước khi phát hành "
            f"(missing renders of approved version {approved}: {', '.join(missing)})"
        )


def reopen(session: Session, *, production: Production, user: User) -> AuditEvent | None:
    """After an edit, send a production under review or approved back to draft; earlier approvals stop counting."""
    if production.status not in REOPENED_BY_EDIT:
        return None
    was = production.status
    dropped = [v for v in (production.legal_approved_version, production.approved_version) if v is not None]
    production.status = S.draft
    production.legal_approved_version = None
    production.legal_approved_by_id = None
    production.approved_version = None
    production.approved_at = None
    note = f"Sửa kịch bản thành phiên bản {production.current_version}; trở về nháp"
    if dropped:
        note += (
            f"; phê duyệt của phiên bản {max(dropped)} không còn hiệu lực (approvals of version {max(dropped)} no longer count)"
        )
    event = AuditEvent(
        production_id=production.id,
        action="edit",
        from_status=was,
        to_status=S.draft,
        actor_id=user.id,
        actor_name=user.name,
        comment=note,
        script_version=production.current_version,
    )
    session.add(event)
    session.flush()
    if was == S.approved:
        service.notify_off_air(session, [production.id])
    return event


def audit(session: Session, production: Production) -> list[AuditEvent]:
    """A production's audit trail, oldest first."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.production_id == production.id).order_by(AuditEvent.id)))


def edit_script(session: Session, *, production: Production, lines: Sequence[ScriptLine], user: User) -> AuditEvent | None:
    """Save a new script version; a production under review or approved goes back to draft."""
    scripting.save_script(session, production=production, lines=lines, user=user)
    return reopen(session, production=production, user=user)
