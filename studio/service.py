"""Studio service: documents, lexicon, and reading productions and their scripts.

Writing scripts is in studio/scripting.py, the co-production workflow in studio/workflow.py, a document's
legal status in studio/legal_status.py.
Functions flush but never commit; the request or task commits at its edge.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, object_session

from auth import User
from errors import Invalid, NotFound, TooLarge, Unsupported
from settings import get_settings
from studio import search
from studio.engine.text import legal, scripts, speech
from studio.models import (
    Document,
    LexiconEntry,
    Production,
    Provision,
    ScriptVersion,
)
from textclean import NUL_MESSAGE, clean_name

_ERROR_BY_CODE = {
    "too_large": TooLarge,
    "text_too_large": TooLarge,
    "zip_bomb": TooLarge,
    "too_many_provisions": TooLarge,
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
    """Tell every registered listener that these productions left the air."""
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
    session: Session,
    *,
    text: str,
    user: User | None,
    title: str | None = None,
    filename: str | None = None,
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
                "document_id": document_id,
                "parent_id": parent_id,
                "position": position[id(node)],
                "kind": node.kind,
                # Cut to their columns: a hostile "Điều 999...9" must not make PostgreSQL refuse the row.
                "number": node.number[:20],
                "label": node.label[:60],
                "heading": node.heading,
                "text": node.text,
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


class ProvisionNode(TypedDict):
    """A provision with the provisions beneath it, as the API, the pages and the CLI show the tree."""

    id: int
    kind: str
    number: str
    label: str
    heading: str
    text: str
    key: str
    children: list[ProvisionNode]


def provision_tree(doc: Document) -> list[ProvisionNode]:
    """The provision rows of a document as a nested tree.

    Read as plain rows when the collection is not loaded: ORM objects for thousands of provisions cost a
    second and the garbage collector's full passes, which hold up every other request of the process.
    """
    session = object_session(doc)
    rows: Sequence[Any]
    if session is not None and "provisions" in sa_inspect(doc).unloaded:
        columns = (
            Provision.id,
            Provision.parent_id,
            Provision.kind,
            Provision.number,
            Provision.label,
            Provision.heading,
            Provision.text,
            Provision.key,
        )
        rows = session.execute(select(*columns).where(Provision.document_id == doc.id).order_by(Provision.position)).all()
    else:
        rows = doc.provisions
    children_of: dict[int, list[ProvisionNode]] = {}
    roots: list[ProvisionNode] = []
    for row in rows:
        node = ProvisionNode(
            id=row.id,
            kind=row.kind,
            number=row.number,
            label=row.label,
            heading=row.heading,
            text=row.text,
            key=row.key,
            children=[],
        )
        children_of[row.id] = node["children"]
        siblings = children_of.get(row.parent_id) if row.parent_id else None
        (roots if siblings is None else siblings).append(node)
    return roots


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


def contributors(session: Session, production: Production, version: int) -> set[int]:
    """Users who wrote or edited a script version: its author and everyone who saved it or an earlier version."""
    rows = session.scalars(
        select(ScriptVersion.created_by_id).where(ScriptVersion.production_id == production.id, ScriptVersion.version <= version)
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
