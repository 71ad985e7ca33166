"""HTTP/1.1 load client on raw asyncio sockets: closed loop (as fast as answers come) or paced.

Run as: python _http_client.py URL HEADERS_JSON CONNECTIONS SECONDS [RATE]; prints one JSON line.
With RATE (requests per second over all connections) the load is open loop: each connection sends
on a fixed timetable and latency counts from the moment a request was due, so a stalled server is
charged for the requests it delayed (no coordinated omission).
Connections are kept alive while the server allows it; one that closes after each answer (HTTP/1.0,
`Connection: close`, e.g. `python -m http.server`) is reopened for the next request, and that reconnect
counts in the latency, as it does for a real client of such a server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# A connect or request unanswered this long counts as a timeout and its connection is dropped; so does one still
# unanswered this long after the end of the run, which thus never outlasts its duration by more (as with wrk).
TIMEOUT_S = 2.0
NO_BODY = (204, 304)


@dataclass
class Tally:
    """What every connection saw: latencies of answered requests, statuses outside 2xx/3xx, socket errors by kind."""

    latencies: list[float] = field(default_factory=list)
    non_2xx_3xx: int = 0
    errors: dict[str, int] = field(default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "timeout": 0})
    first_error: str = ""

    def error(self, kind: str, exc: BaseException) -> None:
        """Count one socket error of `kind` (connect, read, write, timeout)."""
        self.errors[kind] += 1
        self.first_error = self.first_error or f"{kind}: {exc!r}"[:200]


@dataclass(frozen=True)
class Answer:
    """One response as the load needs it: its status and whether the connection may carry the next request."""

    status: int
    reusable: bool


class ReadFailed(Exception):
    """The connection broke while the answer was being read."""


async def _body(reader: asyncio.StreamReader, length: int | None, chunked: bool) -> bool:
    """Read and drop a body; False when it ran to the end of the stream (the connection is spent)."""
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return True
            await reader.readexactly(size + 2)
    if length is not None:
        await reader.readexactly(length)
        return True
    while await reader.read(65536):
        pass
    return False


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> Answer:
    writer.write(request)
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise ReadFailed(repr(exc)) from exc
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, status = status_line.split(" ", 2)[:2]
    fields: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip().lower()
    code = int(status)
    length = 0 if code in NO_BODY or code < 200 else (int(fields["content-length"]) if "content-length" in fields else None)
    connection = fields.get("connection", "")
    keep = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    try:
        whole = await _body(reader, length, "chunked" in fields.get("transfer-encoding", ""))
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise ReadFailed(repr(exc)) from exc
    return Answer(code, keep and whole)


def _timeout(until: float) -> float:
    """How long the next connect or request may take: TIMEOUT_S, and never past TIMEOUT_S after the run's end."""
    return max(min(TIMEOUT_S, until + TIMEOUT_S - time.perf_counter()), 0.001)


async def worker(host: str, port: int, request: bytes, until: float, tally: Tally, interval: float | None, offset: float) -> None:
    """One client: back to back until the deadline, or one request every `interval` seconds; reconnects when closed."""
    link: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    due = time.perf_counter() + offset
    try:
        while True:
            if interval is not None:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            started = due if interval is not None else time.perf_counter()
            if started >= until:
                break
            due += interval or 0.0
            fresh = link is None
            if link is None:
                try:
                    link = await asyncio.wait_for(asyncio.open_connection(host, port), _timeout(until))
                except (OSError, TimeoutError) as exc:
                    tally.error("timeout" if isinstance(exc, TimeoutError) else "connect", exc)
                    await asyncio.sleep(0.01)  # a refused connect must not spin the loop
                    continue
            try:
                answer = await asyncio.wait_for(_exchange(*link, request), _timeout(until))
            except ReadFailed as exc:
                link[1].close()
                link = None
                if not fresh:
                    due -= interval or 0.0  # an idle keep-alive connection the server had closed: send again at once
                    continue
                tally.error("read", exc)
                continue
            except (OSError, TimeoutError) as exc:
                link[1].close()
                link = None
                tally.error("timeout" if isinstance(exc, TimeoutError) else "write", exc)
                continue
            tally.latencies.append(time.perf_counter() - started)
            if not 200 <= answer.status < 400:
                tally.non_2xx_3xx += 1
            if not answer.reusable:
                link[1].close()
                link = None
    finally:
        if link is not None:
            link[1].close()


async def run(
    url: str, headers: dict[str, str], connections: int, seconds: float, rate: float | None = None
) -> dict[str, float | str]:
    """Requests per second and latency percentiles (with the errors, if any)."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    tally = Tally()
    interval = connections / rate if rate else None
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(
            worker(
                parts.hostname or "127.0.0.1",
                parts.port or 80,
                request,
                until,
                tally,
                interval,
                (interval or 0.0) * index / connections,
            )
            for index in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies)
    figures: dict[str, float | str] = {"rps": round(len(latencies) / elapsed, 1)}
    if latencies:
        for name, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99)):
            figures[name] = round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)
    else:
        figures["error"] = f"no answers: {tally.first_error or 'none sent'}"
    figures["non_2xx_3xx"] = tally.non_2xx_3xx
    if any(tally.errors.values()):
        figures["socket_errors"] = ", ".join(f"{kind} {count}" for kind, count in tally.errors.items())  # as wrk says it
    if rate:
        figures["offered_rps"] = rate
    return figures


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    paced = float(sys.argv[5]) if len(sys.argv) > 5 else None
    result = asyncio.run(run(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), paced))
    print(json.dumps(result))
