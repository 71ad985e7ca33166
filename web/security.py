"""Who is looking at a page: the session cookie, role checks and the CSRF token of every change.

A signed-in browser carries `lc_session` (HttpOnly, SameSite=Lax, Secure when LAWCAST_BASE_URL is https),
a random id whose SHA-256 names its row in `web_sessions` (auth.py). The row also holds the session's CSRF
token: every form that changes something sends it as the hidden field `csrf_token`, and every HTMX request
as the `X-CSRF-Token` header (`hx-headers` on <body>). The sign-in form, before any session exists, uses a
double-submit cookie instead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

import auth
from db import SessionDep, session_scope
from settings import get_settings
from web.i18n import Gettext, gettext_for, language_of

SESSION_COOKIE = "lc_session"
LOGIN_CSRF_COOKIE = "lc_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# Every staff role may sign in; station accounts never reach /app (as they never reach /api).
STAFF = frozenset(role.value for role in auth.Role if role != auth.Role.station)


class SignInRequired(Exception):
    """No live session: the page answers a redirect to /app/login."""


class CsrfRefused(Exception):
    """A change came without the session's CSRF token: the page answers a readable 403."""


class RoleRefused(Exception):
    """The signed-in user's role may not use this page or action: a readable 403."""

    def __init__(self, role: str, allowed: frozenset[str]):
        super().__init__(role)
        self.role = role
        self.allowed = allowed


@dataclass
class Viewer:
    """The signed-in person of a request: their user row, the session's CSRF token, and their language."""

    user: auth.User
    csrf: str
    lang: str
    _: Gettext = field(repr=False)

    def has(self, *roles: str) -> bool:
        """Whether the user holds one of `roles` (admin holds every role)."""
        return self.user.role == auth.Role.admin or self.user.role in roles

    def need(self, *roles: str) -> None:
        """Refuse (RoleRefused) unless the user holds one of `roles`."""
        if not self.has(*roles):
            raise RoleRefused(self.user.role, frozenset(roles))


def secure_cookies() -> bool:
    """Cookies carry Secure when the site is served over https."""
    return get_settings().base_url.lower().startswith("https://")


def set_session_cookie(response: Response, raw: str) -> None:
    """Hand the browser its session id (never readable by scripts)."""
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=int(auth.SESSION_MAX.total_seconds()),
        path="/app",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
    )


def clear_session_cookie(response: Response) -> None:
    """Make the browser forget its session id."""
    response.delete_cookie(SESSION_COOKIE, path="/app", httponly=True, samesite="lax", secure=secure_cookies())


def login_csrf(request: Request) -> str:
    """The sign-in form's double-submit token: the cookie's value, or a fresh one (set by the caller)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(response: Response, token: str) -> None:
    """Store the sign-in form's token in a cookie the form must match."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path="/app", httponly=True, samesite="lax", secure=secure_cookies())


def _viewer_from(session: Session, request: Request) -> Viewer | None:
    raw = request.cookies.get(SESSION_COOKIE)
    row = auth.session_for(session, raw) if raw else None
    if row is None:
        return None
    lang = language_of(request)
    return Viewer(row.user, row.csrf_token, lang, gettext_for(lang))


def viewer(request: Request, session: SessionDep) -> Viewer:
    """FastAPI dependency: the signed-in person, or SignInRequired."""
    who = _viewer_from(session, request)
    if who is None:
        raise SignInRequired()
    return who


def optional_viewer(request: Request) -> Viewer | None:
    """The signed-in person if any, read in a transaction of its own (for error pages)."""
    try:
        with session_scope() as session:
            who = _viewer_from(session, request)
            if who is not None:
                session.expunge(who.user)
            return who
    except Exception:  # an error page must render even while the database is away
        return None


SignedIn = Annotated[Viewer, Depends(viewer)]


async def sent_csrf(request: Request) -> str:
    """The CSRF token a request carries: the X-CSRF-Token header, else the form's `csrf_token` field."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("multipart/form-data", "application/x-www-form-urlencoded")
    ):
        form = await request.form(max_part_size=get_settings().text_limit + 1)
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent or ""


async def csrf_checked(request: Request, who: SignedIn) -> Viewer:
    """FastAPI dependency for every change: the signed-in person, whose request carries their CSRF token."""
    if not secrets.compare_digest((await sent_csrf(request)).encode(), who.csrf.encode()):
        raise CsrfRefused()
    return who


Acting = Annotated[Viewer, Depends(csrf_checked)]
