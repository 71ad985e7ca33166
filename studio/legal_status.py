"""A document's legal status: changing it (audited, and a repeal takes what was made from it off the air) and its history.

Functions flush but never commit; the request commits at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth import User
from errors import Conflict
from studio.models import AuditEvent, Document, DocumentEvent, DocumentStatus, Production
from studio.service import notify_off_air


@dataclass
class StatusChange:
    """What a change of a document's legal status did, in words a legal reviewer can check."""

    event: DocumentEvent
    affected: list[int]
    message: str


def set_document_status(session: Session, *, doc: Document, status: str, user: User, comment: str | None = None) -> StatusChange:
    """Change a document's legal status, audited on the document and on every production made from it.

    Repeal marks every production and withdraws their airings and feed items. Undoing a repeal lifts
    the marks, so they can be scheduled and published again; withdrawn airings stay withdrawn.
    """
    new_status = DocumentStatus(status).value
    old_status = doc.status
    if new_status == old_status:
        raise Conflict(f"Văn bản {doc.id} đã ở trạng thái '{old_status}' (status unchanged)")
    doc.status = new_status
    repealed = new_status == DocumentStatus.repealed
    productions = list(session.scalars(select(Production).where(Production.document_id == doc.id).order_by(Production.id)))
    marked = [p.id for p in productions if p.source_repealed != repealed and (repealed or old_status == DocumentStatus.repealed)]
    for production in productions:
        if production.id in marked:
            production.source_repealed = repealed
    message = _status_message(old_status, new_status, marked)
    event = DocumentEvent(
        document_id=doc.id,
        from_status=old_status,
        to_status=new_status,
        actor_id=user.id,
        actor_name=user.name,
        comment=comment,
        affected=[p.id for p in productions],
    )
    session.add(event)
    note = f"Văn bản {doc.id}: {old_status} → {new_status}. {message}" + (f" Ghi chú: {comment}" if comment else "")
    for production in productions:
        session.add(
            AuditEvent(
                production_id=production.id,
                action="document_status",
                from_status=production.status,
                to_status=production.status,
                actor_id=user.id,
                actor_name=user.name,
                comment=note,
                script_version=production.current_version,
            )
        )
    session.flush()
    if repealed and marked:
        notify_off_air(session, marked)
    return StatusChange(event, marked, message)


def _status_message(old: str, new: str, marked: list[int]) -> str:
    if new == DocumentStatus.repealed:
        return (
            f"Đã rút {len(marked)} sản phẩm khỏi lịch phát và nguồn tin (withdrew {len(marked)} productions "
            "from schedules and feeds)."
        )
    if old == DocumentStatus.repealed:
        return (
            f"Đã gỡ dấu 'văn bản bị bãi bỏ' của {len(marked)} sản phẩm: chúng có thể được lên lịch và phát hành lại. "
            "Các lượt phát và mục tin đã rút KHÔNG được khôi phục; hãy lấp lịch lại "
            f"(lifted the repeal mark of {len(marked)} productions; withdrawn airings and feed items are NOT restored: "
            "fill the schedule again)."
        )
    return "Không sản phẩm nào thay đổi (no production changed)."


def document_events(session: Session, doc: Document) -> list[DocumentEvent]:
    """A document's legal-status history, oldest first."""
    return list(session.scalars(select(DocumentEvent).where(DocumentEvent.document_id == doc.id).order_by(DocumentEvent.id)))
