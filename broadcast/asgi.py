"""ASGI fast path for station polls: an answer validated moments ago for the same token is sent before routing.

The same design as feeds.asgi: a poll that broadcast.pull checked against the database within the
revalidation window skips the router, the dependency system and the thread pool. Anything else
(another token, another query, an expired entry) goes on to the route, which checks the database.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from assets.http import Conditional, send_answer
from broadcast import pull

STATION_PATH = re.compile(r"^/stations/(\d{1,18})/(schedule\.json|playlist\.m3u|feed\.rss)$")
HOURS_QUERY = re.compile(rb"^hours=(\d{1,3})$")


def _hours(query: bytes) -> int | None:
    """The `hours` of a query string the route would accept unchanged (nothing else may be in it)."""
    if not query:
        return pull.DEFAULT_HOURS
    match = HOURS_QUERY.match(query)
    hours = int(match[1]) if match else 0
    return hours if 1 <= hours <= pull.MAX_HOURS else None


class StationFastPath:
    """Middleware answering GET/HEAD of a station's schedule, playlist or feed from memory when it is current."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer from the cache, or pass the request on."""
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            match = STATION_PATH.match(scope["path"])
            hours = _hours(scope["query_string"]) if match else None
            if match and hours is not None:
                request = Conditional.of(scope)
                token = request.bearer()
                rep = pull.recent(int(match[1]), match[2], hours, token) if token else None
                if rep is not None:
                    await send_answer(scope, send, rep, request, max_age=0, private=True)
                    return
        await self.app(scope, receive, send)
