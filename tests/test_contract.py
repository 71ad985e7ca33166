"""The API keeps its OpenAPI contract: schemathesis against every operation, with an admin and an editor token.

Runs in process (ASGI, no network) on a database of its own, seeded through the API, so the thousands of rows
it creates never reach the shared test database and no render it asks for reaches the shared worker (its broker
has no worker at all). Every operation is fuzzed with valid and invalid data; a third of the ids it sends are
ids of seeded rows, so operations get past "not found". Checks: no 5xx, every status documented, every body
in a documented media type and matching its documented schema.

`LAWCAST_CONTRACT_EXAMPLES` (default 20) sets the examples per operation and token, `LAWCAST_CONTRACT_SEED`
the seed (fixed, so CI is repeatable; change it to explore).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import NUL_IN_PATH
from tests.conftest import SERVICES_SKIP, _apply_settings

EXAMPLES = int(os.environ.get("LAWCAST_CONTRACT_EXAMPLES", "20"))
SEED = int(os.environ.get("LAWCAST_CONTRACT_SEED", "12"))
SETTINGS = ("data_dir", "database_url", "broker_url")
SAMPLE_LAW = Path(__file__).resolve().parents[1] / "assets" / "defaults" / "sample-law.txt"


@dataclass
class Seeded:
    """Rows made through the API before fuzzing, by the name of the id that refers to them."""

    ids: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, name: str, value: Any) -> None:
        """Remember one more row for ids named `name`."""
        self.ids.setdefault(name, []).append(value)


@dataclass
class Contract:
    """The app under test, the headers of each role, and the seeded rows."""

    app: Any
    headers: dict[str, dict[str, str]]
    seeded: Seeded

    def renew(self, role: str) -> bool:
        """Issue `role` a new token if fuzzing revoked its own (user ids are small numbers); whether it had to."""
        import auth
        from db import session_scope

        with session_scope() as session:
            token = self.headers[role]["Authorization"].removeprefix("Bearer ")
            if auth.user_for_token(session, token) is not None:
                return False
            user = auth.user_by_name(session, f"contract-{role}")
            assert user is not None
            self.headers[role] = {"Authorization": f"Bearer {auth.issue_token(session, user=user)}"}
            return True


def _clear_caches() -> None:
    from broadcast.station_cache import pull_cache
    from feeds import service

    service.feed_cache.clear()
    pull_cache.clear()


def _postgres_database(url: str) -> str:
    """A database of its own beside the services tier's (created once, its schema emptied each run)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    own = base.set(database=f"{base.database}_contract")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own.database}) is None:
            conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    engine = create_engine(own)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return own.render_as_string(hide_password=False)


def _seed(client: TestClient, headers: dict[str, dict[str, str]], seeded: Seeded) -> None:
    """One of each kind of row, made as their users make them."""
    admin = headers["admin"]

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers=admin)
        assert response.status_code in (200, 201, 202), (path, response.text)
        return response.json()

    doc = post("/api/documents", {"text": SAMPLE_LAW.read_text(encoding="utf-8")})
    seeded.add("document_id", doc["id"])
    production = post("/api/productions", {"document_id": doc["id"], "format": "radio", "channel": "contract-show"})
    seeded.add("production_id", production["id"])
    seeded.add("slug", "contract-show")
    channel = post("/api/channels", {"slug": "contract-radio", "name": "Contract radio", "kind": "radio"})
    seeded.add("channel_id", channel["id"])
    seeded.add("slug", channel["slug"])
    province = post("/api/areas", {"name": "Tỉnh hợp đồng", "kind": "province", "code": "CT"})
    commune = post("/api/areas", {"name": "Xã hợp đồng", "kind": "commune", "parent_id": province["id"]})
    for area in (province, commune):
        seeded.add("area_id", area["id"])
        seeded.add("parent_id", area["id"])
    station = post("/api/stations", {"area_id": commune["id"], "name": "Trạm hợp đồng"})
    seeded.add("station_id", station["id"])
    slot = post(
        "/api/slots",
        {
            "name": "Bản tin sáng",
            "target_kind": "area",
            "target_id": commune["id"],
            "rrule": "FREQ=DAILY",
            "dtstart": date.today().isoformat(),
            "start_time": "06:00:00",
            "duration_s": 900,
        },
    )
    seeded.add("slot_id", slot["id"])
    occurrences = client.get("/api/occurrences", params={"slot_id": slot["id"], "limit": 3}, headers=admin).json()
    for occurrence in occurrences:
        seeded.add("occurrence_id", occurrence["id"])
    render = post(f"/api/productions/{production['id']}/renders", {"profiles": ["radio"]})
    seeded.add("job_id", render["job"]["id"])
    for name in ("area_id", "station_id", "channel_id"):
        seeded.ids.setdefault("target_id", []).extend(seeded.ids[name])
    # Tokens are revoked and rotated by the fuzzing: seed a user of its own for that, not the two it acts as.
    target = post("/api/users", {"name": "contract-target", "role": "editor"})
    seeded.add("user_id", target["user"]["id"])


@pytest.fixture(scope="module", params=["embedded", "services"])
def contract(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Contract]:
    """A fresh database, broker and data directory, two users and seeded rows; the session's settings come back after."""
    import auth
    from app import create_app
    from db import session_scope
    from migrations import upgrade

    saved = {name: os.environ.get(f"LAWCAST_{name.upper()}") for name in SETTINGS}
    where = data_dir / f"contract-{request.param}"
    where.mkdir(exist_ok=True)
    if request.param == "services":
        url = os.environ.get("LAWCAST_TEST_DATABASE_URL")
        if not (url and os.environ.get("LAWCAST_TEST_BROKER_URL")):
            pytest.skip(SERVICES_SKIP)
        database_url = _postgres_database(url)
    else:
        database_url = f"sqlite:///{where / 'lawcast.sqlite'}"
    # No worker consumes this broker: renders asked for are stored and sent, never run.
    _apply_settings(data_dir=str(where), database_url=database_url, broker_url=f"sqla+sqlite:///{where / 'broker.sqlite'}")
    _clear_caches()
    try:
        upgrade()
        headers = {}
        with session_scope() as session:
            for role in ("admin", "editor"):
                user = auth.create_user(session, name=f"contract-{role}", role=role)
                headers[role] = {"Authorization": f"Bearer {auth.issue_token(session, user=user)}"}
        app = create_app()
        seeded = Seeded()
        with TestClient(app) as client:
            _seed(client, headers, seeded)
        yield Contract(app, headers, seeded)
    finally:
        _apply_settings(**saved)
        _clear_caches()


@dataclass
class Tally:
    """What one pass over the schema did: examples per operation, and each distinct failure once."""

    examples: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def failure(self, label: str, kind: str, status: int, report: str) -> None:
        """Keep the first report of each (operation, failure kind, status)."""
        self.failures.setdefault((label, kind, str(status)), report)


def _known_ids(seeded: Seeded, values: Any) -> Any:
    """A strategy that leaves `values` alone or swaps every id it names for one of the seeded rows."""
    from hypothesis import strategies as st

    names = [name for name in values if name in seeded.ids] if isinstance(values, dict) else []
    if not names:
        return st.just(values)
    swapped = st.fixed_dictionaries({name: st.sampled_from(seeded.ids[name]) for name in names})
    return st.one_of(st.just(values), st.just(values), swapped.map(lambda known: {**values, **known}))


def _schema(contract: Contract) -> Any:
    """The app's OpenAPI document, loaded by schemathesis, with seeded ids mixed into paths, queries and bodies."""
    import schemathesis

    schema = schemathesis.openapi.from_asgi("/openapi.json", contract.app)
    seeded = contract.seeded

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
        return _known_ids(seeded, path_parameters)

    @schema.hook
    def flatmap_query(context: Any, query: dict[str, Any]) -> Any:
        return _known_ids(seeded, query)

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        return _known_ids(seeded, body)

    return schema


def _end_active_jobs() -> None:
    """No worker runs here, so a seeded job would stay queued and its event stream would never end: end them."""
    from sqlalchemy import update

    from db import session_scope
    from studio.models import RenderJob

    with session_scope() as session:
        session.execute(update(RenderJob).where(RenderJob.status.in_(("queued", "running"))).values(status="cancelled"))


def _fuzz(operation: Any, headers: dict[str, str], tally: Tally) -> None:
    """Send EXAMPLES valid and invalid requests to one operation and check every answer (failures are tallied)."""
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    label = operation.label
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        tally.examples[label] += 1
        if operation.path == "/api/jobs/{job_id}/events":
            _end_active_jobs()
        response = case.call(headers=headers)
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                tally.failure(label, failure.title, response.status_code, f"{group}")

    run()


@pytest.mark.parametrize("role", ["admin", "editor"])
def test_every_operation_keeps_the_contract(contract: Contract, role: str) -> None:
    """0 server errors, 0 undocumented statuses or media types, 0 bodies off their schema."""
    from schemathesis.core.result import Ok

    schema = _schema(contract)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    broken = [result for result in schema.get_all_operations() if not isinstance(result, Ok)]
    assert broken == []
    tally = Tally()
    started = time.monotonic()
    renewed = 0
    for operation in operations:
        renewed += contract.renew(role)
        _fuzz(operation, contract.headers[role], tally)
    elapsed = time.monotonic() - started
    print(
        f"\ncontract ({role}): {len(operations)} operations, {sum(tally.examples.values())} examples, {elapsed:.1f} s"
        f" ({renewed} tokens renewed after the fuzzing revoked them); statuses: {dict(sorted(tally.statuses.items()))}"
    )
    assert len(operations) >= 50
    # The token held: only the station endpoints (which want a station's token) and a token just rotated answer 401.
    assert tally.statuses[401] < 0.1 * sum(tally.statuses.values())
    # An operation without inputs has one request to send; every other one gets EXAMPLES.
    assert [op.label for op in operations if tally.examples[op.label] == 0] == []
    for key, report in tally.failures.items():
        print(f"\n{' | '.join(key)}\n{report}")
    assert sorted(tally.failures) == []


def test_openapi_document_lists_errors_once_per_operation(data_dir: Path) -> None:
    """Every error answers ErrorOut; FastAPI's array-`detail` schema is gone; one operation id each (HEAD undocumented)."""
    import warnings

    from app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a duplicate operation id is a warning
        document = create_app().openapi()
    operations = [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]
    assert {method for _, method, _ in operations} <= {"get", "post", "put", "delete"}
    assert len({op["operationId"] for _, _, op in operations}) == len(operations)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path, method, op in operations:
        responses = op["responses"]
        if path.startswith("/api/"):
            assert responses["401"]["content"] == error and responses["403"]["content"] == error, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert responses["422"]["content"] == error, (method, path)
    upload = document["paths"]["/api/documents"]["post"]["responses"]
    assert {"413", "415"} <= set(upload)
    assert document["components"]["schemas"]["ErrorOut"]["properties"]["detail"] == {"title": "Detail", "type": "string"}
    assert "410" in document["paths"]["/media/{key}"]["get"]["responses"]


# Bounded by bytes, not characters: LAWCAST_MAX_TEXT_BYTES answers 413 beyond it (studio.ingest).
BYTE_LIMITED = {"POST /api/documents text"}


def _bounded_pattern(pattern: str | None) -> bool:
    """Whether a pattern caps the length by itself: anchored at both ends, without open repetition."""
    if pattern is None or not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    return not re.search(r"[*+]|\{\d*,\}", pattern)


def _unbounded(schema: dict[str, Any], definitions: dict[str, Any], where: str, seen: frozenset[str]) -> Iterator[str]:
    """Every string in a request schema with nothing that bounds its length (maxLength, enum, const or format)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _unbounded(definitions[name], definitions, where, seen | {name})
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            yield from _unbounded(branch, definitions, where, seen)
    bounds = {"maxLength", "enum", "const", "format"} & set(schema) or _bounded_pattern(schema.get("pattern"))
    if schema.get("type") == "string" and not bounds:
        yield where
    if schema.get("type") == "array":
        yield from _unbounded(schema.get("items", {}), definitions, where, seen)
    for name, field_schema in schema.get("properties", {}).items():
        yield from _unbounded(field_schema, definitions, f"{where.split(' ', 2)[0]} {where.split(' ', 2)[1]} {name}", seen)


def test_every_string_a_client_can_store_has_a_maximum_length(data_dir: Path) -> None:
    """A string without a bound reaches a column with one: SQLite stores it, PostgreSQL answers 500."""
    from app import create_app

    document = create_app().openapi()
    definitions = document["components"]["schemas"]
    found = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                found |= set(_unbounded(media["schema"], definitions, f"{method.upper()} {path} body", frozenset()))
    assert sorted(found - BYTE_LIMITED) == []


def test_nul_and_overlong_strings_are_refused_before_the_database(contract: Contract) -> None:
    """PostgreSQL cannot compare or store NUL, nor store past a column's length (500 before): a 422, on both tiers."""
    contract.renew("admin")
    with TestClient(contract.app) as client:
        for path in ("/channels/a%00b", "/feeds/a%00.rss", "/media/x%00.mp3", "/covers/%00.png"):
            response = client.get(path)
            assert (response.status_code, response.json()["detail"]) == (422, NUL_IN_PATH), path
        body = {"name": "nul-display", "role": "editor", "display_name": "a\x00b"}
        response = client.post("/api/users", json=body, headers=contract.headers["admin"])
        assert response.status_code == 422 and "NUL" in response.json()["detail"]
        users = client.get("/api/users", params={"per_page": 200}, headers=contract.headers["admin"]).json()["items"]
        assert "nul-display" not in {user["name"] for user in users}
        for field, value in (("owner_email", "e" * 201), ("description", "a\x00b")):
            body = {"slug": f"bad-{field.replace('_', '-')}", "name": "Kênh", "kind": "radio", field: value}
            response = client.post("/api/channels", json=body, headers=contract.headers["admin"])
            assert response.status_code == 422 and field in response.json()["detail"], field
