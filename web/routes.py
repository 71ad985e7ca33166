"""The staff web application under /app: sign-in, sign-out, language, the dashboard, and the screens' routers.

Each screen lives in a web/pages_*.py module with its own router (route_class=PageRoute); add a new one to
SCREENS. Routes read with the domains' services and commit at their edge (services only flush).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

import auth
from db import SessionDep
from errors import NotFound
from web import dashboard
from web.i18n import COOKIE as LANG_COOKIE
from web.i18n import LANGUAGES, gettext_for, language_of
from web.pages_documents import router as documents_router
from web.pages_emergency import router as emergency_router
from web.pages_productions import router as productions_router
from web.pages_renders import router as renders_router
from web.pages_reports import router as reports_router
from web.pages_review import router as review_router
from web.pages_schedule import router as schedule_router
from web.pages_slots import router as slots_router
from web.pages_stations import router as stations_router
from web.pages_users import router as users_router
from web.render import PageRoute, local_time, page
from web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Acting,
    SignedIn,
    clear_session_cookie,
    login_csrf,
    optional_viewer,
    secure_cookies,
    set_login_csrf,
    set_session_cookie,
)

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
SCREENS = (
    documents_router,
    productions_router,
    review_router,
    schedule_router,
    slots_router,
    reports_router,
    renders_router,
    emergency_router,
    stations_router,
    users_router,
)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this application only (never another site)."""
    if target and target.startswith("/app") and not target.startswith("//") and "\\" not in target:
        return target
    return "/app/"


@router.get("")
def root() -> RedirectResponse:
    """/app goes to the dashboard."""
    return RedirectResponse("/app/", status_code=307)


def _login_page(request: Request, *, next_url: str, error: str = "", status_code: int = 200, name: str = "") -> Response:
    token = login_csrf(request)
    response = page(
        request,
        None,
        "app/login.html",
        {"next": next_url, "error": error, "login_csrf": token, "name": name},
        status_code=status_code,
    )
    set_login_csrf(response, token)
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form (a signed-in browser goes straight on)."""
    if optional_viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    """Check the name and password; on success open a session and go on, else say why (wrong, or locked)."""
    form = await request.form()
    # argon2 takes tens of milliseconds on purpose: off the event loop, with the database work.
    return await run_in_threadpool(_sign_in, request, session, form)


def _sign_in(request: Request, session: Session, form: Any) -> Response:
    _ = gettext_for(language_of(request))
    next_url = safe_next(str(form.get("next") or ""))
    name, password = str(form.get("username") or "").strip()[:120], str(form.get("password") or "")[:1024]
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or cookie != form.get("csrf_token"):
        return _login_page(
            request, next_url=next_url, status_code=403, name=name, error=_("Biểu mẫu đăng nhập đã cũ; hãy thử lại.")
        )
    result = auth.authenticate(session, name=name, password=password)
    if result.user is None:
        session.commit()  # the failure counts even though the answer is an error
        if result.locked_until is not None:
            error = _(
                "Tài khoản tạm khoá đến %(until)s vì đăng nhập sai nhiều lần.", until=local_time(result.locked_until, "%H:%M")
            )
        else:
            error = _("Tên đăng nhập hoặc mật khẩu không đúng.")
        return _login_page(request, next_url=next_url, error=error, status_code=401, name=name)
    raw, _row = auth.start_session(session, user=result.user)
    session.commit()
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, raw)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/app", secure=secure_cookies(), httponly=True, samesite="lax")
    return response


@router.get("/logout")
def logout_form(request: Request, who: SignedIn) -> Response:
    """A page with the sign-out button (signing out is a change, so it is a POST with the CSRF token)."""
    return page(request, who, "app/logout.html")


@router.post("/logout")
def logout(request: Request, session: SessionDep, who: Acting) -> Response:
    """End this browser's session."""
    auth.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    session.commit()
    response = RedirectResponse("/app/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/lang/{code}")
def set_language(code: str, request: Request, next: str | None = None) -> Response:
    """Switch the pages' language (a cookie; nothing on the server changes)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path="/", samesite="lax", secure=secure_cookies())
    return response


@router.get("/")
def home(request: Request, session: SessionDep, who: SignedIn) -> Response:
    """The dashboard "Việc của tôi": the lists this user's role should look at first."""
    return page(request, who, "app/dashboard.html", {"board": dashboard.gather(session, who.user)})


for screen in SCREENS:
    router.include_router(screen)


@router.get("/{unknown:path}")
def not_found(unknown: str, who: SignedIn) -> Response:
    """Any other /app address: a readable 404 page (registered last, after every screen)."""
    raise NotFound(who._("Không có trang này."))
