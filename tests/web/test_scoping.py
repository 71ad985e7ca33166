"""Area scoping: an officer of commune A gets nothing of commune B — stations, slots, airings, reports — through the
API, through the pages, and in a real browser; an unscoped user still sees both."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.broadcast.conftest import act, area, make_bulletins, make_slot, station
from tests.conftest import Stack
from tests.web.conftest import api_token, scoped_account, screenshot, sign_in


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[TestClient]:
    """One API client for the module."""
    from app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture(scope="module")
def two_communes(api: TestClient, stack: Stack) -> Iterator[dict[str, Any]]:
    """Communes A and B of one district, each with a station, a slot, an emergency airing and a play report."""
    stamp = f"{time.time():.0f}"
    district = area(api, stack, kind="district", name=f"Huyện Phạm Vi {stamp}")
    made: dict[str, Any] = {"district": district}
    bulletin = make_bulletins(api, stack, f"phạm vi {stamp}", scripts=[["Thông báo thử phạm vi địa bàn."]])[0]
    at = (datetime.now(UTC) + timedelta(days=3)).replace(hour=19, minute=random.randrange(60), second=0, microsecond=0)
    for key in ("a", "b"):
        commune = area(api, stack, parent_id=district["id"], name=f"Xã {key.upper()} Phạm Vi {stamp}")
        post = station(api, stack, commune["id"])
        slot = make_slot(api, stack, "area", commune["id"], at, 300)
        airing = api.post(
            "/api/emergency",
            json={"production_id": bulletin.production_id, "area_id": commune["id"]},
            headers=stack.headers("scheduler"),
        )
        assert airing.status_code == 201, airing.json()
        played = {"airing_id": airing.json()["id"], "played_at": datetime.now(UTC).isoformat(), "duration_s": 3.0}
        stored = api.post(
            f"/stations/{post['id']}/plays", json={"plays": [played]}, headers={"Authorization": f"Bearer {post['token']}"}
        )
        assert stored.json()["stored"] == 1
        made[key] = {
            "area": commune,
            "station": post,
            "slot": slot,
            "airing": airing.json(),
            "silent": station(api, stack, commune["id"]),
        }  # never polls: the dashboard lists it
    made["officer"] = scoped_account(f"can-bo-xa-a-{stamp}", "scheduler", made["a"]["area"]["id"])
    made["headers"] = api_token(made["officer"].name)
    yield made
    act(api, stack, bulletin.production_id, "withdraw", "producer")


def window() -> dict[str, str]:
    """A report window around now."""
    now = datetime.now(UTC)
    return {"start": (now - timedelta(days=1)).isoformat(), "end": (now + timedelta(days=1)).isoformat()}


def test_the_api_shows_an_officer_only_their_commune(api: TestClient, stack: Stack, two_communes: dict[str, Any]) -> None:
    a, b, mine = two_communes["a"], two_communes["b"], two_communes["headers"]
    stations = api.get("/api/stations", params={"per_page": 200}, headers=mine).json()
    assert {s["id"] for s in stations["items"]} == {a["station"]["id"], a["silent"]["id"]}
    assert api.get(f"/api/stations/{a['station']['id']}", headers=mine).status_code == 200
    for url, params in (
        (f"/api/stations/{b['station']['id']}", {}),
        ("/api/stations", {"area_id": b["area"]["id"]}),
        (f"/api/slots/{b['slot']['id']}", {}),
        ("/api/airings", {"station_id": b["station"]["id"]}),
        ("/api/airings", {"area_id": b["area"]["id"]}),
        ("/api/areas", {"root_id": b["area"]["id"]}),
        ("/api/reports/coverage", {**window(), "area_id": b["area"]["id"]}),
        ("/api/reports/asrun", {**window(), "station_id": b["station"]["id"]}),
    ):
        answer = api.get(url, params=params, headers=mine)
        assert answer.status_code == 404, (url, params, answer.json())
    tree = api.get("/api/areas", headers=mine).json()["items"]
    assert [node["id"] for node in tree] == [a["area"]["id"]]
    assert [s["id"] for s in api.get("/api/slots", params={"per_page": 200}, headers=mine).json()["items"]] == [a["slot"]["id"]]
    assert {o["slot_id"] for o in api.get("/api/occurrences", params={"limit": 5000}, headers=mine).json()} == {a["slot"]["id"]}
    direct = api.get("/api/airings", headers=mine).json()
    assert a["airing"]["id"] in {x["id"] for x in direct} and b["airing"]["id"] not in {x["id"] for x in direct}
    coverage = api.get("/api/reports/coverage", params=window(), headers=mine).json()
    assert {row["station_id"] for row in coverage["rows"]} == {a["station"]["id"], a["silent"]["id"]}
    log = api.get("/api/reports/asrun", params=window(), headers=mine).json()["rows"]
    assert {row["station_id"] for row in log} == {a["station"]["id"]}
    refused = api.post(
        "/api/emergency", json={"production_id": b["airing"]["production_id"], "area_id": b["area"]["id"]}, headers=mine
    )
    assert refused.status_code == 404
    # Unscoped, the same scheduler role sees both communes.
    everyone = api.get(
        "/api/stations", params={"area_id": two_communes["district"]["id"]}, headers=stack.headers("scheduler")
    ).json()
    assert {s["id"] for s in everyone["items"]} == {c[k]["id"] for c in (a, b) for k in ("station", "silent")}


def test_the_api_fills_an_officer_s_commune_only(api: TestClient, stack: Stack, two_communes: dict[str, Any]) -> None:
    a, b, mine = two_communes["a"], two_communes["b"], two_communes["headers"]
    first = api.get("/api/occurrences", params={"slot_id": a["slot"]["id"], "limit": 1}, headers=mine).json()[0]
    at = datetime.fromisoformat(first["start"])
    span = {"start": (at - timedelta(minutes=1)).isoformat(), "end": (at + timedelta(minutes=1)).isoformat()}
    before_b = {
        x["id"] for x in api.get("/api/airings", params={"area_id": b["area"]["id"]}, headers=stack.headers("scheduler")).json()
    }
    everywhere = api.get("/api/occurrences", params={**span, "limit": 5000}, headers=stack.headers("scheduler")).json()
    assert {a["slot"]["id"], b["slot"]["id"]} <= {o["slot_id"] for o in everywhere}  # B's occurrence is in the window too
    filled = api.post("/api/schedule/fill", json=span, headers=mine)
    assert filled.status_code == 200, filled.json()
    assert filled.json()["occurrences"] == 1  # commune A's only
    after_b = {
        x["id"] for x in api.get("/api/airings", params={"area_id": b["area"]["id"]}, headers=stack.headers("scheduler")).json()
    }
    assert after_b == before_b  # nothing placed in commune B


def test_the_pages_show_an_officer_only_their_commune(two_communes: dict[str, Any]) -> None:
    from app import create_app

    a, b = two_communes["a"], two_communes["b"]
    with TestClient(create_app()) as web:
        sign_in(web, two_communes["officer"])
        fleet = web.get("/app/stations").text
        assert a["station"]["name"] in fleet and b["station"]["name"] not in fleet and b["area"]["name"] not in fleet
        assert web.get(f"/app/stations/{a['station']['id']}").status_code == 200
        assert web.get(f"/app/stations/{b['station']['id']}").status_code == 404
        assert web.get("/app/stations", params={"area_id": b["area"]["id"]}).status_code == 404
        board = web.get("/app/emergency").text
        assert a["area"]["name"] in board and b["area"]["name"] not in board
        assert f'/app/emergency/{b["airing"]["id"]}"' not in board and f'/app/emergency/{a["airing"]["id"]}"' in board
        assert web.get(f"/app/emergency/{b['airing']['id']}").status_code == 404
        watched = web.get(f"/app/emergency/{a['airing']['id']}").text
        assert a["station"]["name"] in watched and b["station"]["name"] not in watched
        board = web.get("/app/").text  # the dashboard's silent stations
        assert a["silent"]["name"] in board and b["silent"]["name"] not in board
        confirm = web.get(
            "/app/emergency/confirm", params={"production_id": b["airing"]["production_id"], "area": b["area"]["id"]}
        )
        assert confirm.status_code == 404


def test_an_officer_in_the_browser_sees_only_their_commune(
    signed_in: Callable[..., Any], new_page: Callable[..., Any], two_communes: dict[str, Any]
) -> None:
    from tests.web.conftest import browser_sign_in

    a, b, officer = two_communes["a"], two_communes["b"], two_communes["officer"]
    page = new_page()
    browser_sign_in(page, officer)
    page.goto("/app/stations")
    assert page.get_by_role("link", name=a["station"]["name"]).is_visible()
    assert page.get_by_role("link", name=b["station"]["name"]).count() == 0
    assert page.get_by_role("heading", level=1).inner_text().endswith(a["area"]["name"])
    screenshot(page, "scope-officer-stations")
    page.goto(f"/app/stations/{b['station']['id']}")
    assert page.get_by_role("heading", name="Không tìm thấy").is_visible()
    screenshot(page, "scope-officer-other-station")
    admin = signed_in("scheduler")  # an unscoped scheduler sees both
    admin.goto(f"/app/stations?area_id={two_communes['district']['id']}")
    assert admin.get_by_role("link", name=b["station"]["name"]).is_visible()
