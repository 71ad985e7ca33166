"""A global limit on request bodies: 413 before a route reads more than LAWCAST_MAX_BODY_BYTES.

Pure ASGI, so it costs one header scan per request: a declared Content-Length over the limit is refused
before anything is read, and a chunked (or lying) body is cut off the moment it streams past the limit.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from settings import get_settings


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the body streams past the limit.

    An HTTPException, because FastAPI turns any other error met while reading a body into a 400 ("There was an
    error parsing the body", fastapi.routing; an errors.TooLarge raised here would answer 400, not 413). It is the
    one HTTPException outside the routes; the app's handler answers it, and the middleware answers it when it
    escapes a route that reads the body itself.
    """

    def __init__(self, received: int, limit: int):
        super().__init__(413, message(received, limit, at_least=True), headers={"Connection": "close"})
        self.received = received
        self.limit = limit


def message(size: int, limit: int, *, at_least: bool = False) -> str:
    """The 413 detail: Vietnamese, with the English gloss and the setting to change."""
    vi_size = f"hơn {limit:,}" if at_least else f"{size:,}"
    en_size = f"over {limit:,}" if at_least else f"{size:,}"
    return (
        f"Nội dung yêu cầu quá lớn: {vi_size} byte, tối đa {limit:,} byte "
        f"(request body too large: {en_size} bytes, limit {limit:,}; see LAWCAST_MAX_BODY_BYTES)"
    )


async def send_413(send: Send, detail: str) -> None:
    """A JSON `{"detail": ...}` 413 that closes the connection (the rest of the body is not wanted)."""
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None when absent or unreadable (the server refuses those)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimit:
    """Middleware answering 413 to any request whose body is, or turns out to be, over the global limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse by Content-Length, else count the body as the app reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = get_settings().body_limit
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await send_413(send, message(declared, limit))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(received, limit)
            return msg

        async def watched_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:
            if started:  # too late for a 413; the server closes the connection
                raise
            await send_413(send, str(exc.detail))
