"""Broadcast lists over the API: the area tree, stations by area (sub-areas included), channels and slots."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from fastapi.testclient import TestClient

from tests.broadcast.conftest import area, make_slot, station, unique
from tests.conftest import Stack
from tests.helpers import Json


def listing(api: TestClient, stack: Stack, path: str, **params: object) -> Json:
    response = api.get(path, params=params, headers=stack.headers("editor"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"items", "total", "page", "per_page"}
    return body


def ids(body: Json) -> list[int]:
    return [item["id"] for item in body["items"]]


def shape(node: Json) -> tuple[object, ...]:
    """(name, children's shapes): the tree without the other fields."""
    return node["name"], tuple(shape(child) for child in node["children"])


def test_area_tree(api: TestClient, stack: Stack) -> None:
    province = area(api, stack, kind="province", name=unique("Tỉnh"), quiet=(time(21, 30), time(5, 30)))
    east = area(api, stack, kind="district", parent_id=province["id"], name=unique("B Huyện Đông"))
    west = area(api, stack, kind="district", parent_id=province["id"], name=unique("A Huyện Tây"))
    commune = area(api, stack, kind="commune", parent_id=east["id"], name=unique("Xã Hải"))
    cluster = area(api, stack, kind="cluster", parent_id=commune["id"], name=unique("Cụm 1"))

    tree = listing(api, stack, "/api/areas", root_id=province["id"])
    assert (tree["total"], len(tree["items"])) == (1, 1)
    root = tree["items"][0]
    assert shape(root) == (province["name"], ((west["name"], ()), (east["name"], ((commune["name"], ((cluster["name"], ()),)),))))
    assert (root["id"], root["kind"], root["path"], root["quiet_start"], root["parent_id"]) == (
        province["id"],
        "province",
        f"/{province['id']}/",
        "21:30:00",
        None,
    )
    leaf = root["children"][1]["children"][0]["children"][0]
    assert (leaf["id"], leaf["kind"], leaf["parent_id"], leaf["children"]) == (cluster["id"], "cluster", commune["id"], [])
    # Children follow the sort: by name descending, east (B) comes before west (A).
    flipped = listing(api, stack, "/api/areas", root_id=province["id"], sort="-name")["items"][0]
    assert [child["id"] for child in flipped["children"]] == [east["id"], west["id"]]
    # A subtree starts at the area asked for; the whole tree lists this province among the top-level areas.
    assert shape(listing(api, stack, "/api/areas", root_id=commune["id"])["items"][0]) == (
        commune["name"],
        ((cluster["name"], ()),),
    )
    whole = listing(api, stack, "/api/areas", per_page=200, sort="-id")
    assert province["id"] in ids(whole) and east["id"] not in ids(whole)
    assert all(item["parent_id"] is None for item in whole["items"]) and whole["total"] >= len(whole["items"])
    assert api.get("/api/areas?root_id=999999999", headers=stack.headers("editor")).status_code == 404


def test_stations_by_area_and_name(api: TestClient, stack: Stack) -> None:
    province = area(api, stack, kind="province")
    district = area(api, stack, kind="district", parent_id=province["id"])
    one = area(api, stack, kind="commune", parent_id=district["id"])
    two = area(api, stack, kind="commune", parent_id=province["id"])
    s1, s2, s3 = station(api, stack, one["id"]), station(api, stack, one["id"]), station(api, stack, two["id"])

    everything = listing(api, stack, "/api/stations", area_id=province["id"])
    assert (everything["total"], ids(everything)) == (3, [s1["id"], s2["id"], s3["id"]])
    assert all(item["token"] is None for item in everything["items"])  # tokens are shown only when made
    assert ids(listing(api, stack, "/api/stations", area_id=district["id"])) == [s1["id"], s2["id"]]
    assert ids(listing(api, stack, "/api/stations", area_id=two["id"])) == [s3["id"]]
    assert ids(listing(api, stack, "/api/stations", area_id=province["id"], sort="-id")) == [s3["id"], s2["id"], s1["id"]]
    page = listing(api, stack, "/api/stations", area_id=province["id"], per_page=2, page=2)
    assert (page["total"], page["page"], ids(page)) == (3, 2, [s3["id"]])
    # Name search is case-insensitive and takes any part of the name.
    assert ids(listing(api, stack, "/api/stations", q="LOA " + str(s2["name"]).split(" ", 2)[2])) == [s2["id"]]
    assert ids(listing(api, stack, "/api/stations", area_id=province["id"], q="cụm loa")) == [s1["id"], s2["id"], s3["id"]]
    assert listing(api, stack, "/api/stations", area_id=province["id"], q="100%_")["total"] == 0
    assert api.get("/api/stations?area_id=999999999", headers=stack.headers("editor")).status_code == 404
    assert api.get("/api/stations?sort=token_hash", headers=stack.headers("editor")).status_code == 422


def test_channels_list(api: TestClient, stack: Stack) -> None:
    stem = f"ds-{datetime.now(UTC).strftime('%H%M%S%f')}"
    made = []
    for suffix, kind in (("b", "radio"), ("a", "podcast"), ("c", "radio")):
        response = api.post(
            "/api/channels",
            json={"slug": f"{stem}-{suffix}", "name": f"Kênh {suffix}", "kind": kind},
            headers=stack.headers("scheduler"),
        )
        assert response.status_code == 201, response.json()
        made.append(response.json()["id"])
    assert ids(listing(api, stack, "/api/channels", q=stem)) == [made[1], made[0], made[2]]  # by slug
    assert ids(listing(api, stack, "/api/channels", q=stem, kind="radio", sort="-slug")) == [made[2], made[0]]
    assert listing(api, stack, "/api/channels", q=stem, per_page=1)["total"] == 3
    assert api.get("/api/channels?kind=satellite", headers=stack.headers("editor")).status_code == 422


def test_slots_by_target(api: TestClient, stack: Stack) -> None:
    commune = area(api, stack, kind="commune")
    post = station(api, stack, commune["id"])
    at = (datetime.now(UTC) + timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
    morning = make_slot(api, stack, "station", post["id"], at, 600)
    evening = make_slot(api, stack, "station", post["id"], at + timedelta(hours=9), 600)
    on_area = make_slot(api, stack, "area", commune["id"], at + timedelta(hours=4), 600)

    mine = listing(api, stack, "/api/slots", target_kind="station", target_id=post["id"])
    assert (mine["total"], ids(mine)) == (2, [morning["id"], evening["id"]])
    assert mine["items"][0]["rrule"] == "FREQ=DAILY" and mine["items"][0]["duration_s"] == 600
    assert ids(listing(api, stack, "/api/slots", target_kind="area", target_id=commune["id"])) == [on_area["id"]]
    assert ids(listing(api, stack, "/api/slots", target_kind="station", target_id=post["id"], sort="-id")) == [
        evening["id"],
        morning["id"],
    ]
    assert listing(api, stack, "/api/slots", target_kind="station", target_id=post["id"], active=False)["total"] == 0
    assert api.get("/api/slots?target_kind=planet", headers=stack.headers("editor")).status_code == 422
    assert api.get("/api/slots?per_page=201", headers=stack.headers("editor")).status_code == 422
    assert api.get("/api/slots").status_code == 401
