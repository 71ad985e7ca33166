"""ASGI fast path for feed polls: a feed validated moments ago is answered before routing.

Thousands of pollers ask for the same few feeds; skipping the router, the dependency system and the
thread pool for them is most of the cost of an answer. Anything else goes on to the app unchanged.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from assets.http import Conditional, send_answer
from feeds import service
from settings import get_settings

FEED_PATH = re.compile(r"^/feeds/([^/]+)\.(rss|atom|ics)$")


class FeedFastPath:
    """Middleware answering GET/HEAD /feeds/{slug}.{fmt} from the in-memory feed cache when it is current."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer from the cache, or pass the request on."""
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            match = FEED_PATH.match(scope["path"])
            rep = service.recent_feed(match[1], match[2]) if match else None
            if rep is not None:
                await send_answer(scope, send, rep, Conditional.of(scope), max_age=get_settings().feed_cache_max_age_s)
                return
        await self.app(scope, receive, send)
