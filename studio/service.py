"""Studio service: documents, lexicon, productions, scripts and the co-production workflow.

Functions flush but never commit; the request or task commits at its edge.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth import User
from errors import Conflict, Invalid, NotFound, TooLarge, Unsupported
from studio import legal, scripts, speech
from studio.models import (
    Document,
    DocumentStatus,
    LexiconEntry,
    Production,
    ProductionStatus,
    Provision,
    ScriptVersion,
)

_ERROR_BY_CODE = {"too_large": TooLarge, "unsupported": Unsupported}

# Listeners run when productions leave the air (withdrawal, repeal); broadcast and feeds register here
# so the studio never imports them.
OffAirListener = Callable[[Session, Sequence[int]], None]
_off_air_listeners: list[OffAirListener] = []


def on_off_air(listener: OffAirListener) -> OffAirListener:
    """Register a callback for productions that must leave every schedule and feed."""
    _off_air_listeners.append(listener)
    return listener


def notify_off_air(session: Session, production_ids: Sequence[int]) -> None:
    for listener in _off_air_listeners:
        listener(session, production_ids)


# --- documents -------------------------------------------------------------------------------


def ingest_upload(data: bytes, *, filename: str | None, content_type: str | None, max_bytes: int) -> str:
    """Extract text from an uploaded file, turning ingestion errors into 4xx service errors."""
    try:
        return legal.extract_text(data, filename, content_type, max_bytes=max_bytes)
    except legal.DocumentError as exc:
        raise _ERROR_BY_CODE.get(exc.code, Invalid)(str(exc)) from exc


def too_large(size: int, max_bytes: int) -> TooLarge:
    """413 for input over the upload limit."""
    return TooLarge(str(legal.too_large(size, max_bytes)))


def pasted_text(text: str, *, max_bytes: int) -> str:
    """Pasted text after the same size and emptiness checks as an uploaded file."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise too_large(size, max_bytes)
    if not text.strip():
        raise Invalid("Văn bản rỗng (empty document)")
    return text


def create_document(
    session: Session, *, text: str, user: User | None, title: str | None = None, filename: str | None = None
) -> Document:
    """Parse a legal text and store it with its provision tree."""
    try:
        parsed = legal.parse_document(text)
    except legal.DocumentError as exc:
        raise Invalid(str(exc)) from exc
    meta = parsed.meta
    doc = Document(
        title=(title or meta.title or _first_line(parsed.text))[:500],
        doc_type=_clip(meta.doc_type, 60),
        number=_clip(meta.number, 80),
        issuer=_clip(meta.issuer, 300),
        place=_clip(meta.place, 120),
        issued_on=meta.issued_on,
        effective_on=meta.effective_on,
        legal_bases=list(meta.legal_bases),
        text=parsed.text,
        source_filename=filename,
        created_by_id=user.id if user else None,
    )
    session.add(doc)
    session.flush()
    position = 0
    for root in parsed.provisions:
        position = _add_provision(session, doc.id, None, root, position)
    session.flush()
    return doc


def _clip(value: str | None, length: int) -> str | None:
    """A header field cut to its column (PostgreSQL refuses longer strings; SQLite would keep them)."""
    return value[:length] if value else value


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "Văn bản")


def _add_provision(session: Session, document_id: int, parent_id: int | None, node: legal.Provision, position: int) -> int:
    row = Provision(
        document_id=document_id,
        parent_id=parent_id,
        position=position,
        kind=node.kind,
        number=node.number,
        label=node.label,
        heading=node.heading,
        text=node.text,
        key=node.key,
    )
    session.add(row)
    session.flush()
    position += 1
    for child in node.children:
        position = _add_provision(session, document_id, row.id, child, position)
    return position


def get_document(session: Session, document_id: int) -> Document:
    """A document by id, or 404."""
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound(f"Không có văn bản {document_id} (document not found)")
    return doc


def provision_tree(doc: Document) -> list[dict[str, object]]:
    """The provision rows of a document as a nested tree."""
    nodes: dict[int, dict[str, object]] = {}
    roots: list[dict[str, object]] = []
    for row in doc.provisions:
        node: dict[str, object] = {
            "id": row.id, "kind": row.kind, "number": row.number, "label": row.label,
            "heading": row.heading, "text": row.text, "key": row.key, "children": [],
        }
        nodes[row.id] = node
        parent = nodes.get(row.parent_id) if row.parent_id else None
        (parent["children"] if parent else roots).append(node)  # type: ignore[union-attr]
    return roots


def set_document_status(session: Session, *, doc: Document, status: str) -> list[int]:
    """Change a document's legal status; repeal marks and withdraws every production made from it.

    Returns the ids of the productions whose mark changed. Undoing a repeal (a status set by
    mistake) lifts the marks, so they can be published again; withdrawn airings stay withdrawn.
    """
    new_status = DocumentStatus(status).value
    was_repealed = doc.status == DocumentStatus.repealed
    doc.status = new_status
    repealed = new_status == DocumentStatus.repealed
    affected: list[int] = []
    if repealed or was_repealed:
        productions = session.scalars(select(Production).where(Production.document_id == doc.id)).all()
        for production in productions:
            if production.source_repealed != repealed:
                production.source_repealed = repealed
                affected.append(production.id)
    session.flush()
    if repealed and affected:
        notify_off_air(session, affected)
    return affected


# --- lexicon ---------------------------------------------------------------------------------


def lexicon(session: Session) -> dict[str, str]:
    """Editor entries, which extend and override the built-in lexicon."""
    return {row.term: row.spoken for row in session.scalars(select(LexiconEntry))}


def list_lexicon(session: Session) -> list[LexiconEntry]:
    """Every stored lexicon entry."""
    return list(session.scalars(select(LexiconEntry).order_by(LexiconEntry.term)))


def upsert_lexicon(session: Session, *, term: str, spoken: str, note: str | None, user: User) -> LexiconEntry:
    """Add or replace the spoken form of a term (both NFC, so a term typed either way is one entry)."""
    term = unicodedata.normalize("NFC", term.strip())
    spoken = unicodedata.normalize("NFC", " ".join(spoken.split()))
    if not term or not spoken or any(c.isspace() for c in term if c not in " "):
        raise Invalid("Mục từ và cách đọc không được để trống hoặc chứa xuống dòng (term and spoken form are required)")
    row = session.scalar(select(LexiconEntry).where(LexiconEntry.term == term))
    if row is None:
        row = LexiconEntry(term=term, spoken=spoken, note=note, created_by_id=user.id)
        session.add(row)
    else:
        row.spoken, row.note = spoken, note
    session.flush()
    return row


def preview(session: Session, text: str) -> speech.Spoken:
    """Spoken form of text with the current lexicon."""
    return speech.normalize(text, lexicon(session))


# --- productions and scripts -----------------------------------------------------------------


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
) -> Created:
    """Build a first script from the format's template and store it as version 1."""
    doc = get_document(session, document_id)
    if doc.status == DocumentStatus.repealed:
        raise Conflict(f"Văn bản {doc.id} đã bị bãi bỏ; không thể tạo sản phẩm mới (document repealed)")
    provisions = _selected_provisions(doc, provision_ids)
    info = _doc_info(doc)
    if format == "radio":
        drafts = [scripts.radio_script(info, provisions)]
    elif format == "loudspeaker":
        try:
            drafts = scripts.loudspeaker_parts(info, provisions)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
    elif format == "video":
        drafts = [scripts.video_script(info, provisions)]
    else:
        raise Invalid(f"Định dạng '{format}' không hỗ trợ; dùng radio, loudspeaker hoặc video")
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
        )
        session.add(production)
        session.flush()
        if len(drafts) > 1:
            production.series_id = made[0].id if made else production.id
        session.add(
            ScriptVersion(
                production_id=production.id, version=1, lines=[line.as_dict() for line in draft.lines], created_by_id=user.id
            )
        )
        made.append(production)
        notes.extend(draft.notes)
    session.flush()
    return Created(made, notes)


def get_production(session: Session, production_id: int) -> Production:
    """A production by id, or 404."""
    production = session.get(Production, production_id)
    if production is None:
        raise NotFound(f"Không có sản phẩm {production_id} (production not found)")
    return production


def script_version(session: Session, production: Production, version: int | None = None) -> ScriptVersion:
    """A script version of a production (the current one by default)."""
    wanted = version or production.current_version
    row = session.scalar(
        select(ScriptVersion).where(ScriptVersion.production_id == production.id, ScriptVersion.version == wanted)
    )
    if row is None:
        raise NotFound(f"Sản phẩm {production.id} không có kịch bản phiên bản {wanted}")
    return row


EDITABLE = {ProductionStatus.draft.value, ProductionStatus.changes_requested.value}


def save_script(session: Session, *, production: Production, lines: list[dict[str, object]], user: User) -> ScriptVersion:
    """Store a new script version; old versions stay readable."""
    if production.status not in EDITABLE:
        raise Conflict(
            f"Sản phẩm đang ở trạng thái '{production.status}'; chỉ sửa kịch bản khi ở draft hoặc changes_requested"
        )
    version = production.current_version + 1
    row = ScriptVersion(production_id=production.id, version=version, lines=lines, created_by_id=user.id)
    session.add(row)
    production.current_version = version
    session.flush()
    return row


def spoken_lines(session: Session, production: Production, version: int | None = None) -> list[dict[str, object]]:
    """Each line of a script version with its spoken form and flags, before rendering."""
    words = lexicon(session)
    out = []
    for index, line in enumerate(script_version(session, production, version).lines):
        spoken = speech.normalize(str(line["text"]), words)
        out.append({
            "index": index, "speaker": line["speaker"], "text": line["text"],
            "spoken": spoken.text, "flags": [flag_dict(f) for f in spoken.flags],
        })
    return out


def flag_dict(flag: speech.Flag) -> dict[str, object]:
    """JSON form of a normalisation flag."""
    return {"token": flag.token, "start": flag.start, "end": flag.end, "reason": flag.reason}
