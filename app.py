"""FastAPI app factory: routers, error handling, static files, lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Receive, Scope, Send

import worker  # noqa: F401  (configures the Celery app that studio.dispatch.send_jobs sends through)
from accounts import router as accounts_router
from assets.routes import router as covers_router
from broadcast.asgi import StationFastPath
from broadcast.placements import register_listeners
from broadcast.routes import router as broadcast_router
from broadcast.station_routes import router as station_router
from errors import ServiceError
from feeds import service as feeds_service
from feeds.asgi import FeedFastPath
from feeds.media import router as media_router
from feeds.routes import router as feeds_router
from limits import BodyLimit
from openapi import ErrorOut, ValidationIssue, install
from outages import HANDLED, infrastructure_error, internal_error
from settings import get_settings
from studio.routes import router as studio_router
from web import STATIC
from web.routes import router as web_router

NUL_IN_PATH = "Đường dẫn chứa ký tự NUL (%00) không được phép (NUL character in the request path)"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Make sure the data directory exists before serving."""
    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    # Everything loaded so far lives as long as the process; keep full collections from rescanning it
    # on every cycle, which stalls every open connection at once under polling load.
    gc.freeze()
    yield


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    """Service errors become `{"detail": ...}` with their status and headers (WWW-Authenticate, Retry-After)."""
    error = cast(ServiceError, exc)  # registered for ServiceError only
    return JSONResponse({"detail": error.detail}, status_code=error.status, headers=error.headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Request validation errors say which field is wrong, in one readable line plus details."""
    errors = cast(RequestValidationError, exc).errors()  # registered for RequestValidationError only
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"Dữ liệu không hợp lệ ở '{where}': {first.get('msg', '')}"
    issues = [ValidationIssue(loc=list(e["loc"]), msg=e["msg"], type=e["type"]) for e in errors]
    return JSONResponse(ErrorOut(detail=message, errors=issues).model_dump(mode="json"), status_code=422)


class RefuseNulInPath:
    """422 for a path holding NUL (%00), before anything looks it up: PostgreSQL refuses NUL even in a comparison."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, or pass the request on."""
        if scope["type"] == "http" and "\x00" in scope["path"]:
            await JSONResponse({"detail": NUL_IN_PATH}, status_code=422)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app() -> FastAPI:
    """Build the lawcast API and UI application."""
    # Swagger UI (/docs) and ReDoc (/redoc) load their scripts and styles from the fastapi-offline package
    # (under /static-offline-docs), never from a CDN.
    register_listeners()  # the studio's off-air events withdraw future airings
    feeds_service.register_listeners()  # a commit that changes what a feed shows drops the built feed
    app = FastAPIOffline(title="lawcast", version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    # An unreachable database or broker answers a JSON 503 with Retry-After; anything else unexpected a JSON 500.
    for error_class in HANDLED:
        app.add_exception_handler(error_class, infrastructure_error)
    app.add_exception_handler(Exception, internal_error)
    for router in (studio_router, accounts_router, broadcast_router, station_router, feeds_router, media_router, covers_router):
        app.include_router(router)
    app.include_router(web_router)  # the staff web application under /app (HTML pages, session sign-in)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install(app)  # the OpenAPI document says what the app answers: ErrorOut for every error status
    # The last added runs first. The fast paths answer polls from memory, so they come first: a path with NUL
    # only misses their caches, and RefuseNulInPath stops it before any route queries the database with it.
    # BodyLimit is inside them (they answer GETs without a body) and outside everything that reads a body.
    app.add_middleware(RefuseNulInPath)
    app.add_middleware(BodyLimit)
    app.add_middleware(FeedFastPath)
    app.add_middleware(StationFastPath)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
