"""Rendering staff pages: one Jinja2 environment, `page()` for a whole page, `fragment()` for an HTMX part,
and `PageRoute`, which turns every failure of a page into a readable page (never JSON, never a stack trace).

Every page template extends app/base.html, which needs the context `page()` builds: the viewer (user, CSRF
token, language), `_` for translations, the nav items of the user's role, and the current path.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from errors import ServiceError
from settings import get_settings
from templating import staff
from web import nav
from web.i18n import LANGUAGES, gettext_for, language_of
from web.security import CsrfRefused, RoleRefused, SignInRequired, Viewer, optional_viewer

HTMX_FILE = "htmx-2.0.11.min.js"  # vendored from the npm package htmx.org@2.0.11 (licence beside it)
FLASH_COOKIE = "lc_flash"
MESSAGES_ID = "thong-bao"  # the live region every page has; HTMX errors are swapped into it

env = staff  # the staff pages' environment (templating.py), with the filters and globals added here


def local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A UTC moment shown in the site's timezone (LAWCAST_TIMEZONE)."""
    if value is None:
        return "–"
    return value.astimezone(ZoneInfo(get_settings().timezone)).strftime(fmt)


env.filters["local"] = local_time
env.globals.update(
    HTMX_FILE=HTMX_FILE,
    MESSAGES_ID=MESSAGES_ID,
    LANGUAGES=LANGUAGES,
    PRODUCTION_STATUS=nav.PRODUCTION_STATUS,
    DOCUMENT_STATUS=nav.DOCUMENT_STATUS,
    FORMATS=nav.FORMATS,
    JOB_STATUS=nav.JOB_STATUS,
    ROLES=nav.ROLES,
    SPEAKERS=nav.SPEAKERS,
    ACTIONS=nav.ACTIONS,
)


def is_htmx(request: Request) -> bool:
    """Whether HTMX sent the request (it then wants a part of a page, not a whole one)."""
    return request.headers.get("hx-request") == "true"


def context(request: Request, who: Viewer | None, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What every template may use: request, viewer, user, csrf, `_`, lang, nav, path, organisations."""
    lang = who.lang if who else language_of(request)
    settings = get_settings()
    return {
        "request": request,
        "who": who,
        "user": who.user if who else None,
        "csrf": who.csrf if who else "",
        "_": who._ if who else gettext_for(lang),
        "lang": lang,
        "path": request.url.path,
        "nav": nav.nav_for(who.user.role) if who else [],
        "org_legal": settings.org_legal,
        "org_media": settings.org_media,
        **(values or {}),
    }


def flash(response: Response, message: str) -> Response:
    """Show `message` (already translated) once, on the next page this browser opens (after a redirect)."""
    response.set_cookie(FLASH_COOKIE, quote(message[:1500]), path="/app", httponly=True, samesite="lax")
    return response


def redirect(target: str, message: str | None = None, *, htmx: bool = False) -> Response:
    """After a change: go to `target` (303, or HX-Redirect for HTMX), with an optional one-time message."""
    response = Response(status_code=204, headers={"HX-Redirect": target}) if htmx else RedirectResponse(target, status_code=303)
    return flash(response, message) if message else response


def page(
    request: Request,
    who: Viewer | None,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A whole page (a template extending app/base.html), never cached; shows and clears a pending flash message."""
    pending = unquote(request.cookies.get(FLASH_COOKIE, ""))
    html = env.get_template(template).render(context(request, who, {"flash": pending, **(values or {})}))
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Cache-Control"] = "no-store"
    if pending:
        response.delete_cookie(FLASH_COOKIE, path="/app", httponly=True, samesite="lax")
    return response


def fragment(
    request: Request,
    who: Viewer | None,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A part of a page for HTMX to swap in (a template that does not extend the base)."""
    html = env.get_template(template).render(context(request, who, values))
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(request: Request, status_code: int, heading: str, detail: str = "") -> Response:
    """A failure as a readable page; for HTMX, an alert swapped into the page's message region."""
    who = optional_viewer(request)
    values = {"heading": heading, "detail": detail, "status_code": status_code}
    if is_htmx(request):
        headers = {"HX-Retarget": f"#{MESSAGES_ID}", "HX-Reswap": "innerHTML"}
        return fragment(request, who, "app/_alert.html", values, status_code=status_code, headers=headers)
    return page(request, who, "app/error.html", values, status_code=status_code)


def sign_in_redirect(request: Request) -> Response:
    """Send a browser without a session to the sign-in page, coming back here afterwards."""
    target = "/app/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _validation_detail(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
    return f"{where}: {first.get('msg', '')}"


class PageRoute(APIRoute):
    """A route of the staff pages: sign-in redirects, CSRF and role refusals, and service errors become pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The default handler, wrapped so that no failure of a page reaches the JSON error handlers."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            _ = gettext_for(language_of(request))
            try:
                return await handler(request)
            except SignInRequired:
                return sign_in_redirect(request)
            except CsrfRefused:
                return error_response(
                    request,
                    403,
                    _("Yêu cầu bị từ chối"),
                    _(
                        "Biểu mẫu đã cũ hoặc không đến từ trang của lawcast (thiếu mã chống giả mạo CSRF). "
                        "Hãy tải lại trang rồi thử lại."
                    ),
                )
            except RoleRefused as exc:
                allowed = ", ".join(_(nav.ROLES.get(role, role)) for role in sorted(exc.allowed))
                return error_response(
                    request,
                    403,
                    _("Không được phép"),
                    _(
                        "Vai trò %(role)s không dùng được chức năng này; cần: %(allowed)s.",
                        role=_(nav.ROLES.get(exc.role, exc.role)),
                        allowed=allowed,
                    ),
                )
            except ServiceError as exc:
                heading = {404: _("Không tìm thấy"), 403: _("Không được phép")}.get(exc.status, _("Không thực hiện được"))
                return error_response(request, exc.status, heading, exc.detail)
            except RequestValidationError as exc:
                return error_response(request, 422, _("Dữ liệu không hợp lệ"), _validation_detail(exc))
            except HTTPException as exc:
                return error_response(request, exc.status_code, _("Không thực hiện được"), str(exc.detail))

        return guarded
