"""Keep-alive HTTP/1.1 load client on raw asyncio sockets: closed loop (as fast as answers come) or paced.

Run as: python _http_client.py URL HEADERS_JSON CONNECTIONS SECONDS [RATE]; prints one JSON line.
With RATE (requests per second over all connections) the load is open loop: each connection sends
on a fixed timetable and latency counts from the moment a request was due, so a stalled server is
charged for the requests it delayed (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> None:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)


async def worker(host: str, port: int, request: bytes, until: float, latencies: list[float], interval: float | None, offset: float) -> None:
    """One connection: back to back until the deadline, or one request every `interval` seconds."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        due = time.perf_counter() + offset
        while True:
            if interval is not None:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            started = due if interval is not None else time.perf_counter()
            if started >= until:
                break
            await _exchange(reader, writer, request)
            latencies.append(time.perf_counter() - started)
            due += interval or 0.0
    finally:
        writer.close()


async def run(url: str, headers: dict[str, str], connections: int, seconds: float, rate: float | None = None) -> dict[str, float]:
    """Requests per second and latency percentiles."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    interval = connections / rate if rate else None
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(
        worker(parts.hostname or "127.0.0.1", parts.port or 80, request, until, latencies, interval,
               (interval or 0.0) * index / connections)
        for index in range(connections)
    ))
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)  # noqa: E731
    figures = {"rps": round(len(latencies) / elapsed, 1), "p50_ms": pick(0.5), "p90_ms": pick(0.9), "p99_ms": pick(0.99), "non_2xx_3xx": 0}
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
