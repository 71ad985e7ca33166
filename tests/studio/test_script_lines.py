"""Script lines are `ScriptLine`s in code and plain JSON in the database; the content hash did not move."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from db import session_scope
from settings import get_settings
from studio import jobs, service
from studio.engine import pipeline
from studio.engine.text import speech
from studio.engine.text.scripts import ScriptLine
from studio.models import ScriptVersion
from tests.conftest import Stack
from tests.helpers import Json


def old_content_hash(lines: list[Json], lexicon: dict[str, str], profile: str, engines: list[str]) -> str:
    """jobs.content_hash as it was written when script lines were dicts (kept verbatim, on the stored JSON)."""
    spoken = []
    for index, line in enumerate(lines):
        for sentence in speech.split_sentences(str(line["text"])):
            said = speech.normalize(sentence, lexicon).text
            if said.strip():
                spoken.append((index, str(line["speaker"]), sentence, said))
    shape = [(line.get("speaker"), line.get("pause_ms"), line.get("bed"), line.get("role")) for line in lines]
    payload = {
        "spoken": spoken,
        "shape": shape,
        "profile": profile,
        "engines": list(engines),
        "pipeline": pipeline.PIPELINE_VERSION,
        "assets": pipeline.assets_fingerprint(),
        "rate": get_settings().tts_rate,
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _versions(production_id: int) -> list[tuple[list[Json], list[ScriptLine], str]]:
    with session_scope() as session:
        rows = session.scalars(
            select(ScriptVersion).where(ScriptVersion.production_id == production_id).order_by(ScriptVersion.version)
        )
        production = service.get_production(session, production_id)
        return [(list(row.lines_json), row.lines, production.format) for row in rows]


def test_the_content_hash_of_a_stored_script_is_what_it_was_with_dicts(
    client: TestClient,
    stack: Stack,
    sample_law_text: str,
) -> None:
    editor = stack.headers("editor")
    doc = client.post("/api/documents", json={"text": sample_law_text}, headers=editor).json()
    made = client.post("/api/productions", json={"document_id": doc["id"], "format": "radio"}, headers=editor)
    assert made.status_code == 201, made.json()
    production = made.json()
    provision = next(line["provision_id"] for line in production["script"] if line["provision_id"] is not None)
    edited = [  # every field off its default somewhere, and a line with only what is required
        {
            "speaker": "expert",
            "text": "Theo khoản 2 Điều 7 Nghị định số 15/2020/NĐ-CP, mức phạt là 5.000.000 đồng.",
            "pause_ms": 0,
            "provision_id": provision,
            "role": "answer",
            "bed": True,
        },
        {"speaker": "citizen", "text": "Ngày 01/04/2025 thì sao? Còn 3 tháng nữa."},
        {"speaker": "presenter", "text": "—", "pause_ms": 1200, "role": "outro"},  # nothing to speak in it
    ]
    saved = client.put(f"/api/productions/{production['id']}/script", json={"lines": edited}, headers=editor)
    assert saved.status_code == 200, saved.json()

    versions = _versions(production["id"])
    assert len(versions) == 2 and len(versions[0][0]) > 5
    with session_scope() as session:
        words = service.lexicon(session)
    signature = jobs.engine_signature()
    for stored, lines, format in versions:
        assert [line.to_json() for line in lines] == stored  # the JSON reads back to the same lines, field for field
        for profile in pipeline.allowed_profiles(format):
            expected = old_content_hash(stored, words, profile, signature)
            assert jobs.content_hash(lines=lines, lexicon=words, profile=profile, engines=signature) == expected
    # The API still answers the stored JSON, every field present.
    assert saved.json()["script"] == versions[1][0]
    assert versions[1][0][1] == {
        "speaker": "citizen",
        "text": edited[1]["text"],
        "pause_ms": 400,
        "provision_id": None,
        "role": "body",
        "bed": False,
    }


def test_a_line_reads_back_from_json_with_defaults_for_what_is_absent() -> None:
    line = ScriptLine("expert", "Điều 5.", 900, 12, "heading", True)
    assert ScriptLine.from_json(line.to_json()) == line
    assert ScriptLine.from_json({"speaker": "presenter", "text": "Xin chào."}) == ScriptLine(
        "presenter", "Xin chào.", 400, None, "body", False
    )


@pytest.mark.parametrize(
    "stored, field",
    [
        (42, "JSON object"),
        ({"speaker": "presenter"}, "'text'"),
        ({"speaker": "presenter", "text": "A.", "pause_ms": {"ms": 300}}, "'pause_ms'"),
        ({"speaker": "presenter", "text": "A.", "pause_ms": True}, "'pause_ms'"),
        ({"speaker": "presenter", "text": "A.", "bed": "yes"}, "'bed'"),
        ({"speaker": "presenter", "text": "A.", "provision_id": "7"}, "'provision_id'"),
    ],
)
def test_a_corrupt_stored_line_is_a_type_error_naming_what_is_wrong(stored: object, field: str) -> None:
    with pytest.raises(TypeError, match=field):
        ScriptLine.from_json(stored)
