"""Document ingestion off the event loop: extraction, parsing, inserts and the JSON answer, in a worker thread.

The route reads the request body on the event loop and hands an `Upload` to `ingest`, which the route runs with
`run_in_threadpool`. Everything here is written so that no single step holds the GIL for long, because the
event loop of the same process answers health checks and station polls meanwhile:
- at most INGESTS_AT_ONCE ingests run at once (each holds a few copies of its text);
- while one runs (`yielding`), the cyclic garbage collector is paused: an ingest makes tens of thousands of
  short-lived objects, freed by reference counting anyway, and each full collection they trigger holds the
  GIL for 100 to 350 ms; and the interpreter's switch interval is 1 ms instead of 5, so the event loop
  waits at most that long each time it needs the GIL back from the ingest thread;
- long passes over the whole text use patterns with a literal start or few matches (`_legal_extract`, `_legal_clean`);
- the answer is serialised node by node (`document_json`), not as one pydantic call over the whole tree.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import ValidationError

from auth import User
from db import session_scope
from errors import Invalid
from settings import get_settings
from studio import service
from studio.models import Document
from studio.schemas import DocumentIn, DocumentOut, ProvisionOut

INGESTS_AT_ONCE = 2
SWITCH_INTERVAL_S = 0.001
_ingests = threading.BoundedSemaphore(INGESTS_AT_ONCE)
_lock = threading.Lock()
_holders = 0
_gc_was_enabled = True
_switch_interval = 0.005


@dataclass(frozen=True)
class Upload:
    """What an upload request carried, read off the socket but not yet looked at."""

    data: bytes | None = None  # a file
    content_type: str | None = None
    filename: str | None = None
    text: str | None = None  # a form's text field
    title: str | None = None
    json: bytes | None = None  # a JSON body {text, title?}


@contextmanager
def yielding() -> Iterator[None]:
    """No cyclic garbage collection and a 1 ms switch interval until the last concurrent holder leaves.

    Both are process-wide; they are put back as they were when the last ingest ends.
    """
    global _holders, _gc_was_enabled, _switch_interval
    with _lock:
        if _holders == 0:
            _gc_was_enabled, _switch_interval = gc.isenabled(), sys.getswitchinterval()
            gc.disable()
            sys.setswitchinterval(min(SWITCH_INTERVAL_S, _switch_interval))
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                sys.setswitchinterval(_switch_interval)
                if _gc_was_enabled:
                    gc.enable()


def _text(upload: Upload) -> tuple[str, str | None]:
    """The document's text and title from an upload, after the size, NUL and zip-bomb checks."""
    settings = get_settings()
    if upload.data is not None:
        text = service.ingest_upload(
            upload.data,
            filename=upload.filename,
            content_type=upload.content_type,
            max_bytes=settings.max_upload_bytes,
            max_text_bytes=settings.text_limit,
        )
        return text, upload.title
    if upload.text is not None:
        return service.pasted_text(upload.text, max_bytes=settings.text_limit), upload.title
    try:
        body = DocumentIn.model_validate_json(upload.json or b"")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise Invalid(f"Nội dung JSON không hợp lệ (invalid JSON body): {problems}") from exc
    return service.pasted_text(body.text, max_bytes=settings.text_limit), body.title


def ingest(upload: Upload, user: User) -> bytes:
    """Extract, parse and store a document; its JSON answer (DocumentOut). Blocking: run it in a worker thread."""
    with _ingests, yielding():
        text, title = _text(upload)
        with session_scope() as session:
            doc = service.create_document(session, text=text, user=user, title=title, filename=upload.filename)
            session.commit()  # before the answer is built, so SQLite's write lock is held only for the inserts
            return document_json(doc)


def _replace_last(json: str, empty: str, items: list[str]) -> str:
    """`json` with its last `empty` ('"key":[]') filled with the already serialised `items`."""
    at = json.rindex(empty)
    return f"{json[:at]}{empty[:-1]}{','.join(items)}]{json[at + len(empty) :]}"


def _provision_json(node: service.ProvisionNode) -> str:
    own = ProvisionOut.model_validate({**node, "children": []}).model_dump_json()
    items = [_provision_json(child) for child in node["children"]]
    return _replace_last(own, '"children":[]', items)


def document_json(doc: Document) -> bytes:
    """A document as DocumentOut JSON, validated and serialised a node at a time (see the module docstring)."""
    fields = {name: getattr(doc, name) for name in DocumentOut.model_fields if name != "provisions"}
    head = DocumentOut.model_validate({**fields, "provisions": []}).model_dump_json()
    tree = [_provision_json(node) for node in service.provision_tree(doc)]
    return _replace_last(head, '"provisions":[]', tree).encode("utf-8")
