"""Fixtures of the staff web application's tests: users with passwords, a signed-in HTTP client, and for the
browser tests a real uvicorn server on 127.0.0.1 and Debian's chromium driven by Playwright.

Browser tests run on the embedded tier only (the services tier adds CI time and nothing a browser would see).
Without chromium they skip, summarised in one line at the end of the run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from tests import conftest as root
from tests.conftest import ROOT, Stack

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from auth import User

# LAWCAST_TEST_CHROMIUM points at another chromium binary (a missing path skips the browser tests).
CHROMIUM = os.environ.get("LAWCAST_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_SKIP = "Browser tests skipped: Debian's chromium is not installed (as root: apt-get install -y chromium)"
BROWSER_TIER_SKIP = "Browser tests run on the embedded tier only"
root.GROUPED_SKIPS += [BROWSER_SKIP, BROWSER_TIER_SKIP]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "var" / "screenshots"
ROLES = ("admin", "editor", "editor2", "legal_reviewer", "legal_reviewer2", "producer", "scheduler")
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Account:
    """A staff user who signs in through the login page."""

    role: str
    name: str
    password: str


@pytest.fixture(scope="session")
def accounts(stack: Stack) -> dict[str, Account]:
    """One user with a password per role (two editors and two legal reviewers for the four-eyes rules)."""
    import auth
    from db import session_scope

    made: dict[str, Account] = {}
    with session_scope() as session:
        for key in ROLES:
            role = key.rstrip("2")
            name = f"web-{key.replace('_', '-')}"
            user = auth.user_by_name(session, name) or auth.create_user(session, name=name, role=role, display_name=f"Web {key}")
            password = f"mat-khau-{key}-2025"
            auth.set_password(session, user=user, password=password)
            made[key] = Account(key, name, password)
    return made


def login_csrf(html: str) -> str:
    """The sign-in form's hidden CSRF field."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


def sign_in(client: TestClient, account: Account) -> str:
    """Sign a TestClient in through the login form; returns the session's CSRF token (from the dashboard)."""
    form = client.get("/app/login")
    answer = client.post(
        "/app/login",
        data={
            "username": account.name,
            "password": account.password,
            "csrf_token": login_csrf(form.text),
            "next": "/app/",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    home = client.get("/app/")
    assert home.status_code == 200
    return login_csrf(home.text)


@pytest.fixture
def web_client(client: TestClient) -> TestClient:
    """The app's TestClient, on http://testserver (cookies are then not Secure)."""
    return client


# --- a real server and a real browser ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(stack: Stack) -> Iterator[str]:
    """The whole app served by uvicorn on 127.0.0.1:<free port>, in a thread of this process."""
    if stack.name != "embedded":
        pytest.skip(BROWSER_TIER_SKIP)
    import uvicorn

    from app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser(live_server: str) -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (never `playwright install`)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(BROWSER_SKIP)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """Factory: a page in a fresh browser context (own cookies) at a viewport; all closed after the test."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(viewport=viewport or DESKTOP, base_url=live_server, locale="vi-VN")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def browser_sign_in(page: Any, account: Account) -> None:
    """Sign in through the login page as a person would."""
    page.goto("/app/login")
    page.get_by_label("Tên đăng nhập").fill(account.name)
    page.get_by_label("Mật khẩu").fill(account.password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/app/")


@pytest.fixture
def signed_in(new_page: Callable[..., Any], accounts: dict[str, Account]) -> Callable[..., Any]:
    """Factory: a browser page signed in as the user of `role` (optionally at another viewport)."""

    def make(role: str, viewport: dict[str, int] | None = None) -> Any:
        page = new_page(viewport)
        browser_sign_in(page, accounts[role])
        return page

    return make


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ (looked at by a person before a change is merged)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_horizontal_scroll(page: Any) -> tuple[int, int]:
    """(document width, viewport width): equal when the page needs no horizontal scrolling."""
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


# --- area-scoped users (commune officers) ----------------------------------------------------------------------------


def scoped_account(name: str, role: str, area_id: int | None) -> Account:
    """A user with a password scoped to an area (a commune officer is a scheduler scoped to a commune); created or updated."""
    import auth
    from db import session_scope

    password = f"mat-khau-{name}-2025"
    with session_scope() as session:
        user = auth.user_by_name(session, name) or auth.create_user(session, name=name, role=role, display_name=name)
        user.role, user.area_id = role, area_id
        auth.set_password(session, user=user, password=password)
    return Account(role, name, password)


def existing_user(session: Session, name: str) -> User:
    """The user `name`, who must exist (the fixtures or the test made them)."""
    import auth

    user = auth.user_by_name(session, name)
    assert user is not None, f"no user named {name}"
    return user


def api_token(name: str) -> dict[str, str]:
    """The Authorization header of a fresh API token of the user `name`."""
    import auth
    from db import session_scope

    with session_scope() as session:
        user = auth.user_by_name(session, name)
        assert user is not None
        return {"Authorization": f"Bearer {auth.issue_token(session, user=user)}"}
