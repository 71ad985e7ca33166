"""Script writing: a new production's first script, drafted from its document's provisions, and the versions saved after it.

Functions flush but never commit; the request or task commits at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth import User
from errors import Conflict, Invalid
from studio import search, service
from studio.engine.text import scripts
from studio.models import Document, DocumentStatus, Production, ProductionStatus, Provision, ScriptVersion


def _selected_provisions(doc: Document, provision_ids: Sequence[int] | None) -> list[scripts.ProvisionText]:
    rows = {row.id: row for row in doc.provisions}
    children: dict[int, list[Provision]] = {}
    for row in doc.provisions:
        if row.parent_id:
            children.setdefault(row.parent_id, []).append(row)
    if provision_ids:
        missing = [pid for pid in provision_ids if pid not in rows]
        if missing:
            raise Invalid(f"Điều khoản {missing} không thuộc văn bản {doc.id} (provisions not in document)")
        chosen = [rows[pid] for pid in provision_ids]
    else:
        chosen = [row for row in doc.provisions if row.kind == "dieu"]
    if not chosen:
        body = doc.text.strip()
        return [scripts.ProvisionText(None, doc.title, "", body)]
    return [scripts.ProvisionText(row.id, row.label, row.heading, _body(row, children)) for row in chosen]


def _body(row: Provision, children: dict[int, list[Provision]]) -> str:
    parts = [row.text.strip()] if row.text.strip() else []
    for child in children.get(row.id, []):
        prefix = f"{child.label}: " if child.kind in ("khoan", "diem") else f"{child.label}. {child.heading} "
        inner = _body(child, children)
        if inner:
            parts.append(prefix + inner)
    return " ".join(parts)


def _doc_info(doc: Document) -> scripts.DocumentInfo:
    effective = doc.effective_on.strftime("%d/%m/%Y") if doc.effective_on else None
    return scripts.DocumentInfo(doc.title, doc.doc_type, doc.number, effective)


@dataclass
class Created:
    """Productions made by one request (several when a bulletin is split into parts)."""

    productions: list[Production]
    notes: list[str]


def create_production(
    session: Session,
    *,
    document_id: int,
    format: str,
    user: User,
    provision_ids: Sequence[int] | None = None,
    title: str | None = None,
    channel: str | None = None,
    season: int | None = None,
    episode: int | None = None,
    emergency: bool = False,
) -> Created:
    """Build a first script from the format's template and store it as version 1 (emergency: an emergency bulletin)."""
    doc = service.get_document(session, document_id)
    if doc.status == DocumentStatus.repealed:
        raise Conflict(f"Văn bản {doc.id} đã bị bãi bỏ; không thể tạo sản phẩm mới (document repealed)")
    if emergency and format != "loudspeaker":
        raise Invalid("Chỉ bản tin loa (loudspeaker) mới là thông báo khẩn cấp (only a loudspeaker bulletin can be an emergency)")
    provisions = _selected_provisions(doc, provision_ids)
    drafts = _drafts(format, _doc_info(doc), provisions, emergency=emergency)
    base_title = title or doc.title
    made: list[Production] = []
    notes: list[str] = []
    for index, draft in enumerate(drafts, start=1):
        suffix = f" (Phần {index}/{len(drafts)})" if len(drafts) > 1 else ""
        production = Production(
            document_id=doc.id,
            format=format,
            title=(base_title + suffix)[:500],
            provision_ids=[p.id for p in provisions if p.id is not None],
            channel_slug=channel,
            part=index if len(drafts) > 1 else None,
            parts=len(drafts) if len(drafts) > 1 else None,
            season=season,
            episode=episode,
            author_id=user.id,
            emergency=emergency,
        )
        session.add(production)
        session.flush()
        if len(drafts) > 1:
            production.series_id = made[0].id if made else production.id
        session.add(ScriptVersion(production_id=production.id, version=1, lines=draft.lines, created_by_id=user.id))
        made.append(production)
        notes.extend(draft.notes)
    session.flush()
    search.index_productions(session, made, doc.number)
    return Created(made, notes)


def _drafts(
    format: str, info: scripts.DocumentInfo, provisions: list[scripts.ProvisionText], *, emergency: bool
) -> list[scripts.Draft]:
    """The format template's scripts: one, or a loudspeaker bulletin's parts."""
    if format == "radio":
        return [scripts.radio_script(info, provisions)]
    if format == "loudspeaker":
        try:
            return scripts.loudspeaker_parts(info, provisions, emergency=emergency)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
    if format == "video":
        return [scripts.video_script(info, provisions)]
    raise Invalid(f"Định dạng '{format}' không hỗ trợ; dùng radio, loudspeaker hoặc video")


EDITABLE = frozenset(
    {
        ProductionStatus.draft.value,
        ProductionStatus.changes_requested.value,
        ProductionStatus.in_review.value,
        ProductionStatus.legally_approved.value,
        ProductionStatus.approved.value,
    }
)


def save_script(session: Session, *, production: Production, lines: Sequence[scripts.ScriptLine], user: User) -> ScriptVersion:
    """Store a new script version; old versions stay readable (the workflow reopens what was under review)."""
    if production.status not in EDITABLE:
        raise Conflict(
            f"Sản phẩm đang ở trạng thái '{production.status}'; không sửa kịch bản được nữa, hãy tạo sản phẩm mới "
            "(script is locked once published or withdrawn)"
        )
    check_line_provisions(session, production, lines)
    version = production.current_version + 1
    row = ScriptVersion(production_id=production.id, version=version, lines=lines, created_by_id=user.id)
    session.add(row)
    production.current_version = version
    session.flush()
    return row


def check_line_provisions(session: Session, production: Production, lines: Sequence[scripts.ScriptLine]) -> None:
    """Refuse (422) script lines citing a provision that is not in the production's own document."""
    cited = {line.provision_id for line in lines if line.provision_id is not None}
    if not cited:
        return
    own = set(
        session.scalars(select(Provision.id).where(Provision.document_id == production.document_id, Provision.id.in_(cited)))
    )
    foreign = sorted(cited - own)
    if foreign:
        raise Invalid(
            f"Dòng kịch bản trích điều khoản {foreign} không thuộc văn bản {production.document_id} của sản phẩm "
            f"(script lines cite provisions {foreign} that are not in the production's document {production.document_id})"
        )
