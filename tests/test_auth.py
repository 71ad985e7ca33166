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


def test_wrong_role_is_403(client: TestClient, stack: Stack) -> None:
    response = client.post("/api/documents", json={"text": "Điều 1. Thử"}, headers=stack.headers("scheduler"))
    assert response.status_code == 403
    assert "scheduler" in response.json()["detail"]


def test_admin_passes_every_role_check(client: TestClient, stack: Stack) -> None:
    response = client.post("/api/documents", json={"text": "Điều 1. Phạm vi\nNội dung thử."}, headers=stack.headers("admin"))
    assert response.status_code == 201


def test_tokens_are_stored_hashed(stack: Stack) -> None:
    import auth
    from db import session_scope
    from sqlalchemy import select

    with session_scope() as session:
        stored = set(session.scalars(select(auth.ApiToken.token_hash)))
    for token in stack.tokens.values():
        assert token not in stored
        assert auth.hash_token(token) in stored
