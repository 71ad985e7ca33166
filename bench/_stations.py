"""Station part of the HTTP benchmark: many stations polling, each poll validated against the database.

10,000 stations polling once a minute never ask twice within the revalidation window, so in the field
almost every poll is checked against the database (token, rows, last-seen) rather than answered from
memory. This scenario reproduces that: STATIONS stations share a commune slot, the server runs with
LAWCAST_STATION_REVALIDATE_S=0, and wrk's Lua script sends each request as the next station, with that
station's own token (and its ETag, for the 304 run).
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATIONS = 1000


def seed_stations(session: Session, area_id: int) -> list[tuple[int, str]]:
    """STATIONS stations in one area; returns (id, token) pairs."""
    from broadcast import service as broadcast_service

    out = []
    for n in range(STATIONS):
        station, token = broadcast_service.create_station(session, area_id=area_id, name=f"Cụm loa {n + 1}")
        out.append((station.id, token))
    return out


def etags(base: str, stations: list[tuple[int, str]]) -> list[str]:
    """Each station's current schedule ETag, over one keep-alive connection."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    out = []
    try:
        for station_id, token in stations:
            conn.request("GET", f"/stations/{station_id}/schedule.json", headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, (station_id, response.status)
            out.append(response.getheader("etag") or "")
    finally:
        conn.close()
    return out


def lua_script(path: Path, stations: list[tuple[int, str]], tags: list[str] | None) -> Path:
    """A wrk script sending each request as the next station (with its ETag when given)."""
    rows = []
    for n, (station_id, token) in enumerate(stations):
        headers = {"Authorization": f"Bearer {token}", **({"If-None-Match": tags[n]} if tags else {})}
        fields = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
        rows.append(f"  {{{json.dumps(f'/stations/{station_id}/schedule.json')}, {{{fields}}}}},")
    path.write_text(
        "local stations = {\n" + "\n".join(rows) + "\n}\n"
        "local requests, counter = {}, 0\n"
        "function init(args)\n"
        "  for i, s in ipairs(stations) do requests[i] = wrk.format('GET', s[1], s[2]) end\n"
        "  counter = math.random(#requests)  -- threads start at different stations\n"
        "end\n"
        "function request()\n"
        "  counter = counter % #requests + 1\n"
        "  return requests[counter]\n"
        "end\n"
    )
    return path


def sample_statuses(base: str, stations: list[tuple[int, str]], tags: list[str], count: int = 20) -> list[int]:
    """Statuses of a few conditional polls (304 expected while nothing changed)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    out = []
    try:
        step = max(1, len(stations) // count)
        for n in range(0, len(stations), step):
            station_id, token = stations[n]
            conn.request(
                "GET",
                f"/stations/{station_id}/schedule.json",
                headers={"Authorization": f"Bearer {token}", "If-None-Match": tags[n]},
            )
            response = conn.getresponse()
            response.read()
            out.append(response.status)
    finally:
        conn.close()
    return out
