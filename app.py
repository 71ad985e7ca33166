"""FastAPI app factory: routers, error handling, static files, lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from assets.routes import router as media_router
from broadcast.asgi import StationFastPath
from broadcast.routes import router as broadcast_router
from broadcast.station import router as station_router
from errors import ServiceError
from feeds.asgi import FeedFastPath
from feeds.routes import router as feeds_router
from settings import get_settings
from studio.routes import router as studio_router
from web import STATIC


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Make sure the data directory exists before serving."""
    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    # Everything loaded so far lives as long as the process; keep full collections from rescanning it
    # on every cycle, which stalls every open connection at once under polling load.
    gc.freeze()
    yield


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    """Service errors become `{"detail": ...}` with their 4xx status."""
    assert isinstance(exc, ServiceError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Request validation errors say which field is wrong, in one readable line plus details."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"Dữ liệu không hợp lệ ở '{where}': {first.get('msg', '')}"
    return JSONResponse({"detail": message, "errors": [{k: e[k] for k in ("loc", "msg", "type")} for e in errors]}, status_code=422)


def create_app() -> FastAPI:
    """Build the lawcast API and UI application."""
    app = FastAPI(title="lawcast", version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for router in (studio_router, broadcast_router, station_router, feeds_router, media_router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(FeedFastPath)
    app.add_middleware(StationFastPath)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
