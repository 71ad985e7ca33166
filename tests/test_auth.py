"""Authentication and role checks over real HTTP requests."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Stack


def test_missing_token_is_401_with_reason(client: TestClient, stack: Stack) -> None:
    response = client.post("/api/documents", json={"text": "Điều 1. Thử"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_token_is_401(client: TestClient, stack: Stack) -> None:
    response = client.get("/api/jobs/1", headers={"Authorization": "Bearer lc_not-a-real-token"})
    assert response.status_code == 401
    assert "không hợp lệ" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_role_is_403(client: TestClient, stack: Stack) -> None:
    response = client.post("/api/documents", json={"text": "Điều 1. Thử"}, headers=stack.headers("scheduler"))
    assert response.status_code == 403
    assert "scheduler" in response.json()["detail"]
    assert "www-authenticate" not in response.headers  # the token was accepted; only the role is refused


def test_the_checks_raise_the_error_model_not_http_exceptions(stack: Stack) -> None:
    """current_user and require_roles raise errors.Unauthorized/Forbidden, which carry their status and headers."""
    import pytest
    from starlette.requests import Request

    import auth
    import errors
    from db import session_scope

    request = Request({"type": "http", "headers": [(b"authorization", b"Bearer lc_nothing")]})
    with session_scope() as session, pytest.raises(errors.Unauthorized) as refused:
        auth.current_user(request, session)
    assert (refused.value.status, refused.value.headers) == (401, {"WWW-Authenticate": "Bearer"})
    with session_scope() as session:
        scheduler = auth.user_for_token(session, stack.tokens["scheduler"])
        assert scheduler is not None
        with pytest.raises(errors.Forbidden) as forbidden:
            auth.require_roles(auth.Role.editor)(scheduler)
    assert forbidden.value.status == 403 and "editor" in forbidden.value.detail and forbidden.value.headers == {}


def test_admin_passes_every_role_check(client: TestClient, stack: Stack) -> None:
    response = client.post("/api/documents", json={"text": "Điều 1. Phạm vi\nNội dung thử."}, headers=stack.headers("admin"))
    assert response.status_code == 201


def test_tokens_are_stored_hashed(stack: Stack) -> None:
    from sqlalchemy import select

    import auth
    from db import session_scope

    with session_scope() as session:
        stored = set(session.scalars(select(auth.ApiToken.token_hash)))
    for token in stack.tokens.values():
        assert token not in stored
        assert auth.hash_token(token) in stored


def _api_routes() -> list[tuple[str, str]]:
    """Every (method, path) under /api in the OpenAPI document, with path parameters filled in."""
    import re

    from app import create_app

    routes = []
    for path, operations in create_app().openapi()["paths"].items():
        if path.startswith("/api"):
            routes += [(method.upper(), re.sub(r"\{[^}]+\}", "1", path)) for method in operations]
    return routes


def test_station_role_users_get_403_on_every_api_endpoint(client: TestClient, stack: Stack) -> None:
    import auth
    from db import session_scope

    with session_scope() as session:
        user = auth.user_by_name(session, "test-station-user") or auth.create_user(
            session, name="test-station-user", role="station"
        )
        token = auth.issue_token(session, user=user)
    routes = _api_routes()
    assert len(routes) >= 20
    answers = {(m, p): client.request(m, p, headers={"Authorization": f"Bearer {token}"}, json={}).status_code for m, p in routes}
    assert {k: v for k, v in answers.items() if v != 403} == {}


def test_admin_revokes_and_rotates_tokens_with_expiry_and_last_use(client: TestClient, stack: Stack) -> None:
    from datetime import datetime

    admin = stack.headers("admin")
    made = client.post("/api/users", json={"name": "rotating-editor", "role": "editor"}, headers=admin)
    assert made.status_code == 201, made.json()
    user_id, first = made.json()["user"]["id"], made.json()["token"]
    mine = {"Authorization": f"Bearer {first}"}
    assert client.get("/api/lexicon", headers=mine).status_code == 200
    tokens = client.get(f"/api/users/{user_id}/tokens", headers=admin).json()
    assert len(tokens) == 1 and tokens[0]["last_used_at"] is not None and first.startswith(tokens[0]["hint"])
    assert client.get(f"/api/users/{user_id}/tokens", headers=stack.headers("editor")).status_code == 403

    rotated = client.post(f"/api/users/{user_id}/tokens", json={"expires_in_days": 7}, headers=admin)
    assert rotated.status_code == 201 and rotated.json()["revoked"] == 1
    second = rotated.json()["token"]
    expires = datetime.fromisoformat(rotated.json()["expires_at"].replace("Z", "+00:00"))
    assert 6.9 < (expires - datetime.now(expires.tzinfo)).total_seconds() / 86400 <= 7.0
    assert client.get("/api/lexicon", headers=mine).status_code == 401
    assert client.get("/api/lexicon", headers={"Authorization": f"Bearer {second}"}).status_code == 200

    revoked = client.delete(f"/api/users/{user_id}/tokens", headers=admin)
    assert revoked.status_code == 200 and all(t["revoked"] for t in revoked.json())
    assert client.get("/api/lexicon", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    listed = client.get("/api/users?per_page=200", headers=admin).json()
    assert listed["total"] >= 6 and any(u["name"] == "rotating-editor" and u["last_used_at"] for u in listed["items"])


def test_an_expired_token_is_refused(client: TestClient, stack: Stack) -> None:
    from datetime import timedelta

    import auth
    from db import session_scope, utcnow

    with session_scope() as session:
        user = auth.user_by_name(session, "test-editor")
        assert user is not None
        token = auth.issue_token(session, user=user, expires_at=utcnow() - timedelta(seconds=1))
    refused = client.get("/api/lexicon", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and "hết hạn" in refused.json()["detail"]


def test_cli_rotates_and_revokes_tokens(stack: Stack) -> None:
    import os
    import subprocess
    import sys

    import auth
    from db import session_scope
    from tests.conftest import ROOT

    with session_scope() as session:
        if auth.user_by_name(session, "cli-rotated") is None:
            auth.issue_token(session, user=auth.create_user(session, name="cli-rotated", role="producer"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", "user", *args], capture_output=True, text=True, env=env, cwd=ROOT)

    rotated = run("rotate", "cli-rotated", "--expires-days", "30")
    assert rotated.returncode == 0, rotated.stderr
    token = rotated.stdout.strip().splitlines()[-1]
    assert token.startswith("lc_")
    listed = run("tokens", "cli-rotated")
    assert listed.returncode == 0 and token[:8] in listed.stdout and "còn hiệu lực" in listed.stdout
    revoked = run("revoke", "cli-rotated")
    assert revoked.returncode == 0 and "revoked 1 tokens" in " ".join(revoked.stdout.split())
    missing = run("revoke", "nobody-at-all")
    assert missing.returncode == 2 and "no such user" in missing.stdout
