"""Browser sign-in over HTTP: passwords, sessions, lock-out, CSRF, cookies, the CLI, and API tokens alongside."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import ROOT, Stack
from tests.web.conftest import Account, login_csrf, sign_in


def _login(client: TestClient, name: str, password: str) -> httpx.Response:
    form = client.get("/app/login")
    return client.post(
        "/app/login", data={"username": name, "password": password, "csrf_token": login_csrf(form.text)}, follow_redirects=False
    )


def test_password_and_session_are_stored_hashed(web_client: TestClient, accounts: dict[str, Account]) -> None:
    import auth
    from db import session_scope

    sign_in(web_client, accounts["producer"])
    raw = web_client.cookies.get("lc_session")
    assert raw
    with session_scope() as session:
        user = auth.user_by_name(session, accounts["producer"].name)
        assert user is not None and user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$") and accounts["producer"].password not in user.password_hash
        assert user.last_login_at is not None
        hashes = set(session.scalars(select(auth.WebSession.token_hash).where(auth.WebSession.user_id == user.id)))
    assert auth.hash_token(raw) in hashes and raw not in hashes


def test_session_cookie_flags_and_sign_out(web_client: TestClient, accounts: dict[str, Account]) -> None:
    form = web_client.get("/app/login")
    answer = web_client.post(
        "/app/login",
        data={
            "username": accounts["scheduler"].name,
            "password": accounts["scheduler"].password,
            "csrf_token": login_csrf(form.text),
            "next": "/app/documents",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/app/documents"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("lc_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
    assert "Secure" not in cookie  # LAWCAST_BASE_URL is http://testserver in the tests
    csrf = login_csrf(web_client.get("/app/").text)
    out = web_client.post("/app/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/app/login"
    again = web_client.get("/app/", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/app/login")


def test_wrong_password_then_lock_out_then_reset(web_client: TestClient, stack: Stack) -> None:
    import auth
    from db import session_scope

    with session_scope() as session:
        user = auth.user_by_name(session, "web-locked-http") or auth.create_user(
            session, name="web-locked-http", role="legal_reviewer"
        )
        auth.set_password(session, user=user, password="mot-mat-khau-dai")
    wrong = _login(web_client, "web-locked-http", "sai-mat-khau")
    assert wrong.status_code == 401 and "không đúng" in wrong.text
    for _ in range(auth.MAX_FAILURES - 1):
        answer = _login(web_client, "web-locked-http", "sai-mat-khau")
    assert "tạm khoá" in answer.text
    refused = _login(web_client, "web-locked-http", "mot-mat-khau-dai")
    assert refused.status_code == 401 and "tạm khoá" in refused.text
    with session_scope() as session:
        locked = auth.user_by_name(session, "web-locked-http")
        assert locked is not None and locked.failed_count == auth.MAX_FAILURES and locked.locked_until is not None
        auth.set_password(session, user=locked, password="mat-khau-moi-123")  # what `lawcast user password` does
    assert _login(web_client, "web-locked-http", "mat-khau-moi-123").status_code == 303


def test_unknown_user_and_station_account_cannot_sign_in(web_client: TestClient, stack: Stack) -> None:
    import auth
    from db import session_scope

    with session_scope() as session:
        station = auth.user_by_name(session, "web-station-user") or auth.create_user(
            session, name="web-station-user", role="station"
        )
        auth.set_password(session, user=station, password="tram-loa-mat-khau")
    assert _login(web_client, "nobody-here", "whatever-1234").status_code == 401
    assert _login(web_client, "web-station-user", "tram-loa-mat-khau").status_code == 401


def test_sign_in_form_needs_its_own_csrf_cookie(web_client: TestClient, accounts: dict[str, Account]) -> None:
    web_client.get("/app/login")
    answer = web_client.post(
        "/app/login",
        data={
            "username": accounts["editor"].name,
            "password": accounts["editor"].password,
            "csrf_token": "forged",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 403 and "đã cũ" in answer.text


def test_changes_without_the_csrf_token_are_refused(web_client: TestClient, accounts: dict[str, Account]) -> None:
    csrf = sign_in(web_client, accounts["editor"])
    form = web_client.post("/app/documents", data={"text": "Điều 1. Thử\nNội dung."}, follow_redirects=False)
    assert form.status_code == 403 and "CSRF" in form.text and "<h1>Yêu cầu bị từ chối</h1>" in form.text
    htmx = web_client.post(
        "/app/speech/preview", data={"row": "0", "text-0": "Xin chào"}, headers={"HX-Request": "true", "X-CSRF-Token": "forged"}
    )
    assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#thong-bao" and 'role="alert"' in htmx.text
    good = web_client.post("/app/speech/preview", data={"row": "0", "text-0": "Xin chào"}, headers={"X-CSRF-Token": csrf})
    assert good.status_code == 200 and "Xin chào" in good.text


def test_api_tokens_still_work_and_pages_refuse_them(web_client: TestClient, stack: Stack) -> None:
    api = web_client.get("/api/documents", headers=stack.headers("editor"))
    assert api.status_code == 200 and "items" in api.json()
    page = web_client.get("/app/documents", headers=stack.headers("editor"), follow_redirects=False)
    assert page.status_code == 303  # a bearer token is not a browser session


def test_cli_creates_a_user_with_a_password_from_stdin_and_resets_it(web_client: TestClient, stack: Stack) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def run(*args: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", "user", *args],
            input=password + "\n",
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )

    made = run("create", "web-cli-user", "--role", "editor", "--password-stdin", password="mat-khau-tu-cli")
    assert made.returncode == 0, made.stderr + made.stdout
    assert made.stdout.strip().splitlines()[-1].startswith("lc_")  # the API token, printed once
    assert _login(web_client, "web-cli-user", "mat-khau-tu-cli").status_code == 303
    short = run("password", "web-cli-user", "--password-stdin", password="ngan")
    assert short.returncode == 2 and "ít nhất" in short.stdout
    reset = run("password", "web-cli-user", "--password-stdin", password="mat-khau-moi-cli")
    assert reset.returncode == 0, reset.stderr + reset.stdout
    assert _login(web_client, "web-cli-user", "mat-khau-tu-cli").status_code == 401
    assert _login(web_client, "web-cli-user", "mat-khau-moi-cli").status_code == 303
