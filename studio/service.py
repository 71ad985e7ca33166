"""Studio service: documents, lexicon, productions, scripts and the co-production workflow.

Functions flush but never commit; the request or task commits at its edge.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, object_session

from auth import User
from errors import Conflict, Invalid, NotFound, TooLarge, Unsupported
from settings import get_settings
from studio import search
from studio.engine.text import legal, scripts, speech
from studio.models import (
    AuditEvent,
    Document,
    DocumentEvent,
    DocumentStatus,
    LexiconEntry,
    Production,
    ProductionStatus,
    Provision,
    ScriptVersion,
)
from textclean import NUL_MESSAGE, clean_name

_ERROR_BY_CODE = {
    "too_large": TooLarge, "text_too_large": TooLarge, "zip_bomb": TooLarge, "too_many_provisions": TooLarge,
    "unsupported": Unsupported,
}

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


def _service_error(exc: legal.DocumentError) -> Exception:
    return _ERROR_BY_CODE.get(exc.code, Invalid)(str(exc))


def ingest_upload(
    data: bytes, *, filename: str | None, content_type: str | None, max_bytes: int, max_text_bytes: int | None = None
) -> str:
    """Extract text from an uploaded file, turning ingestion errors (size, zip bomb, NUL...) into 4xx service errors."""
    try:
        return legal.extract_text(data, filename, content_type, max_bytes=max_bytes, max_text_bytes=max_text_bytes)
    except legal.DocumentError as exc:
        raise _service_error(exc) from exc


def too_large(size: int, max_bytes: int) -> TooLarge:
    """413 for input over the upload limit."""
    return TooLarge(str(legal.too_large(size, max_bytes)))


def pasted_text(text: str, *, max_bytes: int) -> str:
    """Pasted text after the same checks as an uploaded file's text: size (`max_bytes` of UTF-8), NUL, emptiness."""
    try:
        legal.check_text(text, max_bytes)
    except legal.DocumentError as exc:
        raise _service_error(exc) from exc
    if not text.strip():
        raise Invalid("Văn bản rỗng (empty document)")
    return text


def safe_filename(filename: str | None) -> str | None:
    """The base name of an uploaded file ("../../etc/passwd.txt" -> "passwd.txt"), cleaned and cut to its column."""
    if not filename:
        return None
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = clean_name(base.replace("\x00", "")).lstrip(".").strip()
    return base[-255:] or None


def _title(value: str | None) -> str | None:
    """A title from a form or a caller: controls and bidi overrides removed; NUL refused (422)."""
    if value is None:
        return None
    try:
        return clean_name(value) or None
    except ValueError as exc:
        raise Invalid(str(exc)) from exc


def create_document(
    session: Session, *, text: str, user: User | None, title: str | None = None, filename: str | None = None,
    max_provisions: int | None = None,
) -> Document:
    """Parse a legal text and store it with its provision tree (at most `max_provisions`, default LAWCAST_MAX_PROVISIONS)."""
    if "\x00" in text:
        raise Invalid(NUL_MESSAGE)
    title = _title(title)
    try:
        parsed = legal.parse_document(text, max_provisions=max_provisions or get_settings().max_provisions)
    except legal.DocumentError as exc:
        raise _service_error(exc) from exc
    meta = parsed.meta
    doc = Document(
        title=(title or _title(meta.title) or _first_line(parsed.text))[:500],
        doc_type=_clip(meta.doc_type, 60),
        number=_clip(meta.number, 80),
        issuer=_clip(meta.issuer, 300),
        place=_clip(meta.place, 120),
        issued_on=meta.issued_on,
        effective_on=meta.effective_on,
        legal_bases=list(meta.legal_bases),
        text=parsed.text,
        source_filename=safe_filename(filename),
        created_by_id=user.id if user else None,
    )
    session.add(doc)
    session.flush()
    _insert_provisions(session, doc.id, parsed.provisions)
    session.expire(doc, ["provisions"])
    search.index_document(session, doc)
    return doc


def _clip(value: str | None, length: int) -> str | None:
    """A header field cut to its column (PostgreSQL refuses longer strings; SQLite would keep them)."""
    return value[:length] if value else value


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "Văn bản")


def _insert_provisions(session: Session, document_id: int, roots: Sequence[legal.Provision]) -> None:
    """Insert the tree a level at a time: one multi-row INSERT ... RETURNING per depth, not a flush per row.

    Thousands of provisions then take a fraction of a second, so the transaction (and SQLite's write lock) is short.
    """
    position = {id(node): i for i, node in enumerate(node for root in roots for node in root.walk())}
    level: list[tuple[int | None, legal.Provision]] = [(None, root) for root in roots]
    while level:
        rows = [
            {
                "document_id": document_id, "parent_id": parent_id, "position": position[id(node)], "kind": node.kind,
                # Cut to their columns: a hostile "Điều 999...9" must not make PostgreSQL refuse the row.
                "number": node.number[:20], "label": node.label[:60], "heading": node.heading, "text": node.text,
                "key": node.key[:255],
            }
            for parent_id, node in level
        ]
        ids = session.scalars(insert(Provision).returning(Provision.id, sort_by_parameter_order=True), rows).all()
        level = [(row_id, child) for row_id, (_, node) in zip(ids, level, strict=True) for child in node.children]


def get_document(session: Session, document_id: int) -> Document:
    """A document by id, or 404."""
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound(f"Không có văn bản {document_id} (document not found)")
    return doc


def provision_tree(doc: Document) -> list[dict[str, object]]:
    """The provision rows of a document as a nested tree.

    Read as plain rows when the collection is not loaded: ORM objects for thousands of provisions cost a
    second and the garbage collector's full passes, which hold up every other request of the process.
    """
    session = object_session(doc)
    rows: Sequence[Any]
    if session is not None and "provisions" in sa_inspect(doc).unloaded:
        columns = (Provision.id, Provision.parent_id, Provision.kind, Provision.number, Provision.label,
                   Provision.heading, Provision.text, Provision.key)
        rows = session.execute(select(*columns).where(Provision.document_id == doc.id).order_by(Provision.position)).all()
    else:
        rows = doc.provisions
    nodes: dict[int, dict[str, object]] = {}
    roots: list[dict[str, object]] = []
    for row in rows:
        node: dict[str, object] = {
            "id": row.id, "kind": row.kind, "number": row.number, "label": row.label,
            "heading": row.heading, "text": row.text, "key": row.key, "children": [],
        }
        nodes[row.id] = node
        parent = nodes.get(row.parent_id) if row.parent_id else None
        (parent["children"] if parent else roots).append(node)  # type: ignore[union-attr]
    return roots


@dataclass
class StatusChange:
    """What a change of a document's legal status did, in words a legal reviewer can check."""

    event: DocumentEvent
    affected: list[int]
    message: str


def set_document_status(
    session: Session, *, doc: Document, status: str, user: User, comment: str | None = None
) -> StatusChange:
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
        document_id=doc.id, from_status=old_status, to_status=new_status, actor_id=user.id, actor_name=user.name,
        comment=comment, affected=[p.id for p in productions],
    )
    session.add(event)
    note = f"Văn bản {doc.id}: {old_status} → {new_status}. {message}" + (f" Ghi chú: {comment}" if comment else "")
    for production in productions:
        session.add(AuditEvent(
            production_id=production.id, action="document_status", from_status=production.status,
            to_status=production.status, actor_id=user.id, actor_name=user.name, comment=note,
            script_version=production.current_version,
        ))
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
    emergency: bool = False,
) -> Created:
    """Build a first script from the format's template and store it as version 1 (emergency: an emergency bulletin)."""
    doc = get_document(session, document_id)
    if doc.status == DocumentStatus.repealed:
        raise Conflict(f"Văn bản {doc.id} đã bị bãi bỏ; không thể tạo sản phẩm mới (document repealed)")
    if emergency and format != "loudspeaker":
        raise Invalid("Chỉ bản tin loa (loudspeaker) mới là thông báo khẩn cấp (only a loudspeaker bulletin can be an emergency)")
    provisions = _selected_provisions(doc, provision_ids)
    info = _doc_info(doc)
    if format == "radio":
        drafts = [scripts.radio_script(info, provisions)]
    elif format == "loudspeaker":
        try:
            drafts = scripts.loudspeaker_parts(info, provisions, emergency=emergency)
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
                production_id=production.id, version=1, lines=draft.lines, created_by_id=user.id
            )
        )
        made.append(production)
        notes.extend(draft.notes)
    session.flush()
    search.index_productions(session, made, doc.number)
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


EDITABLE = frozenset({
    ProductionStatus.draft.value, ProductionStatus.changes_requested.value, ProductionStatus.in_review.value,
    ProductionStatus.legally_approved.value, ProductionStatus.approved.value,
})


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
    own = set(session.scalars(
        select(Provision.id).where(Provision.document_id == production.document_id, Provision.id.in_(cited))
    ))
    foreign = sorted(cited - own)
    if foreign:
        raise Invalid(
            f"Dòng kịch bản trích điều khoản {foreign} không thuộc văn bản {production.document_id} của sản phẩm "
            f"(script lines cite provisions {foreign} that are not in the production's document {production.document_id})"
        )


def contributors(session: Session, production: Production, version: int) -> set[int]:
    """Users who wrote or edited a script version: its author and everyone who saved it or an earlier version."""
    rows = session.scalars(
        select(ScriptVersion.created_by_id).where(
            ScriptVersion.production_id == production.id, ScriptVersion.version <= version
        )
    )
    people = {user_id for user_id in rows if user_id is not None}
    if production.author_id is not None:
        people.add(production.author_id)
    return people


@dataclass(frozen=True)
class SpokenLine:
    """A script line as it will be read: its place in the script, its spoken form, and what the rules could not read."""

    index: int
    line: scripts.ScriptLine
    spoken: str
    flags: tuple[speech.Flag, ...]


def spoken_lines(session: Session, production: Production, version: int | None = None) -> list[SpokenLine]:
    """Each line of a script version with its spoken form and flags, before rendering."""
    words = lexicon(session)
    out = []
    for index, line in enumerate(script_version(session, production, version).lines):
        spoken = speech.normalize(line.text, words)
        out.append(SpokenLine(index, line, spoken.text, tuple(spoken.flags)))
    return out


def flag_dict(flag: speech.Flag) -> dict[str, object]:
    """JSON form of a normalisation flag."""
    return {"token": flag.token, "start": flag.start, "end": flag.end, "reason": flag.reason}
