"""The co-production workflow: who may move a production where, four eyes, and the audit trail.

Functions flush but never commit; the request or task commits at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth import Role, User
from db import utcnow
from errors import Conflict, Forbidden, Invalid
from studio import service
from studio.models import AuditEvent, Production, ProductionStatus

S = ProductionStatus


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
        raise Invalid(f"Thao tác '{action}' không tồn tại; dùng một trong: {', '.join(RULES)}")
    if user.role != Role.admin and user.role not in rule.roles:
        raise Forbidden(f"Vai trò '{user.role}' không được '{action}'; cần: {', '.join(sorted(rule.roles))}")
    if production.status not in rule.sources:
        raise Conflict(
            f"Không thể '{action}' khi sản phẩm đang ở trạng thái '{production.status}' "
            f"(cần: {', '.join(sorted(rule.sources))})"
        )
    if action == "approve_legal" and production.author_id == user.id:
        raise Forbidden("Nguyên tắc bốn mắt: người thẩm định pháp lý không được là tác giả kịch bản (four eyes)")
    if action == "publish" and production.source_repealed:
        raise Conflict("Văn bản nguồn đã bị bãi bỏ; không thể phát hành (source document repealed)")
    event = AuditEvent(
        production_id=production.id,
        action=action,
        from_status=production.status,
        to_status=rule.target,
        actor_id=user.id,
        actor_name=user.name,
        comment=comment,
        script_version=production.current_version,
    )
    production.status = rule.target
    now = utcnow()
    if action == "approve":
        production.approved_at = now
    if action == "publish":
        production.published_at = now
    session.add(event)
    session.flush()
    if action == "withdraw":
        service.notify_off_air(session, [production.id])
    return event


def audit(session: Session, production: Production) -> list[AuditEvent]:
    """A production's audit trail, oldest first."""
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.production_id == production.id).order_by(AuditEvent.id))
    )
