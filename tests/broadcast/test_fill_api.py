"""Filling slots through the API with real rendered bulletins: packing, under-fill, freshness, pins, campaigns, reasons."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

from fastapi.testclient import TestClient

from tests.broadcast.conftest import (
    HCM,
    Bulletin,
    area,
    fill,
    make_slot,
    occurrences,
    parse,
    station,
)
from tests.conftest import Stack
from tests.helpers import Json


def airings_at(api: TestClient, stack: Stack, station_id: int, start: datetime, end: datetime) -> list[Json]:
    response = api.get(
        "/api/airings",
        params={"station_id": station_id, "start": start.isoformat(), "end": end.isoformat(), "limit": 5000},
        headers=stack.headers("scheduler"),
    )
    assert response.status_code == 200, response.json()
    return response.json()


def durations(api: TestClient, stack: Stack, airings: list[Json]) -> dict[int, float]:
    """Output durations as the studio reports them (independent of the scheduler)."""
    out: dict[int, float] = {}
    for production_id in {int(a["production_id"]) for a in airings}:
        production = api.get(f"/api/productions/{production_id}", headers=stack.headers("producer")).json()
        for output in production["outputs"]:
            out[output["id"]] = output["duration_s"]
    return out


def test_fill_packs_real_durations_back_to_back_without_overrun(api: TestClient, stack: Stack, bulletins: list[Bulletin]) -> None:
    target = station(api, stack, area(api, stack)["id"])
    total = sum(b.duration_s for b in bulletins)
    length = math.floor(total) - 1  # too short for all four: the packing has to choose
    first = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(10, 0), tzinfo=HCM)
    slot = make_slot(api, stack, "station", target["id"], first, length, rrule="FREQ=DAILY;COUNT=3")
    window = (first.astimezone(UTC), first.astimezone(UTC) + timedelta(days=3))
    result = fill(api, stack, *window, freshness_days=0)
    assert result["placed"] >= 3
    placed = airings_at(api, stack, target["id"], *window)
    real = durations(api, stack, placed)
    by_occurrence: dict[int, list[Json]] = defaultdict(list)
    for airing in placed:
        by_occurrence[int(airing["occurrence_id"])].append(airing)
    occs = occurrences(api, stack, slot["id"])
    assert len(occs) == 3 and set(by_occurrence) <= {o["id"] for o in occs}
    gaps = {(g["slot_id"], parse(g["occurrence_start"])): g for g in result["underfilled"]}
    for occ in occs:
        items = sorted(by_occurrence[occ["id"]], key=lambda a: parse(a["start"]))
        assert items, occ
        start, end = parse(occ["start"]), parse(occ["end"])
        assert parse(items[0]["start"]) == start
        for before, after in pairwise(items):
            assert parse(before["end"]) == parse(after["start"])  # back to back
        for item in items:
            # Each item lasts its output's real duration (rounded up to the microsecond), never past the slot end.
            assert abs((parse(item["end"]) - parse(item["start"])).total_seconds() - real[int(item["output_id"])]) < 1e-5
            assert parse(item["end"]) <= end
            assert "vừa khung" in str(item["reason"]) and item["target_kind"] == "station"
        used = sum((parse(i["end"]) - parse(i["start"])).total_seconds() for i in items)
        assert used <= length
        left = length - used
        gap = gaps.get((slot["id"], start))
        if left >= 1.0:
            assert gap is not None and abs(gap["remaining_s"] - left) < 1e-2
            assert "còn trống" in gap["reason"]
        else:
            assert gap is None


def test_underfilled_slot_is_reported_with_its_remaining_time(api: TestClient, stack: Stack, bulletins: list[Bulletin]) -> None:
    target = station(api, stack, area(api, stack)["id"])
    at = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(12, 0), tzinfo=HCM)
    slot = make_slot(api, stack, "station", target["id"], at, 900, rrule="FREQ=DAILY;COUNT=1")
    result = fill(api, stack, at.astimezone(UTC), at.astimezone(UTC) + timedelta(minutes=1), freshness_days=1)
    placed = airings_at(api, stack, target["id"], at.astimezone(UTC), at.astimezone(UTC) + timedelta(hours=1))
    used = sum((parse(a["end"]) - parse(a["start"])).total_seconds() for a in placed)
    gap = next(g for g in result["underfilled"] if g["slot_id"] == slot["id"])
    assert abs(gap["remaining_s"] - (900 - used)) < 1e-2
    assert gap["remaining_s"] > 800  # short bulletins cannot fill a quarter of an hour
    assert gap["reason"].startswith("Không còn nội dung") or "đã phát" in gap["reason"]


def test_freshness_never_repeats_a_production_at_a_station_within_n_days(
    api: TestClient, stack: Stack, bulletins: list[Bulletin]
) -> None:
    target = station(api, stack, area(api, stack)["id"])
    first = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(14, 0), tzinfo=HCM)
    make_slot(api, stack, "station", target["id"], first, 60, rrule="FREQ=DAILY;COUNT=6")
    window = (first.astimezone(UTC), first.astimezone(UTC) + timedelta(days=6))
    fill(api, stack, *window, freshness_days=2)
    placed = sorted(airings_at(api, stack, target["id"], *window), key=lambda a: parse(a["start"]))
    assert placed
    last: dict[int, datetime] = {}
    for airing in placed:
        production, at = int(airing["production_id"]), parse(airing["start"])
        if production in last:
            assert at - last[production] >= timedelta(days=2), (production, last[production], at)
        last[production] = at
    assert any("chưa từng phát" in str(a["reason"]) for a in placed)


def test_pins_are_kept_by_later_fills_and_an_unchanged_fill_keeps_every_id(
    api: TestClient, stack: Stack, bulletins: list[Bulletin]
) -> None:
    target = station(api, stack, area(api, stack)["id"])
    at = datetime.combine(datetime.now(HCM).date() + timedelta(days=1), time(16, 0), tzinfo=HCM)
    first, second, third = bulletins[2], bulletins[0], bulletins[1]
    length = math.ceil(first.duration_s + second.duration_s) + 2  # room for two pins, not three
    slot = make_slot(api, stack, "station", target["id"], at, length, rrule="FREQ=DAILY;COUNT=1")
    window = (at.astimezone(UTC), at.astimezone(UTC) + timedelta(minutes=1))
    occurrence = occurrences(api, stack, slot["id"])[0]

    def pin(bulletin: Bulletin):
        return api.post(
            "/api/schedule/pins",
            json={"occurrence_id": occurrence["id"], "production_id": bulletin.production_id},
            headers=stack.headers("scheduler"),
        )

    pinned = pin(first)
    assert pinned.status_code == 201, pinned.json()
    assert pinned.json()["pinned"] is True and parse(pinned.json()["start"]) == parse(occurrence["start"])
    assert "ghim" in pinned.json()["reason"] and pinned.json()["occurrence_id"] == occurrence["id"]
    filled = fill(api, stack, *window, freshness_days=0)
    assert filled["kept_pinned"] == 1
    after_first = airings_at(api, stack, target["id"], window[0], window[0] + timedelta(hours=1))
    assert after_first[0]["id"] == pinned.json()["id"] and after_first[0]["pinned"] is True
    assert all(parse(a["start"]) >= parse(pinned.json()["end"]) for a in after_first[1:])
    assert all(a["production_id"] != first.production_id for a in after_first[1:])
    again = fill(api, stack, *window, freshness_days=0)
    assert again["unchanged"] >= 1
    after_again = airings_at(api, stack, target["id"], window[0], window[0] + timedelta(hours=1))
    assert [a["id"] for a in after_again] == [a["id"] for a in after_first]  # nothing a station holds has changed
    later = pin(second)
    assert later.status_code == 201, later.json()
    assert parse(later.json()["start"]) == parse(pinned.json()["end"])  # after the earlier pin
    refused = pin(third)
    assert refused.status_code == 409 and "không vừa" in refused.json()["detail"]
    fill(api, stack, *window, freshness_days=0)
    final = airings_at(api, stack, target["id"], window[0], window[0] + timedelta(hours=1))
    assert [(a["id"], a["pinned"]) for a in final] == [(pinned.json()["id"], True), (later.json()["id"], True)]


def test_campaign_airs_a_law_in_every_commune_at_least_twice_in_the_week_before_it_takes_effect(
    api: TestClient, stack: Stack, bulletins: list[Bulletin]
) -> None:
    from broadcast import service
    from db import session_scope

    province = area(api, stack, kind="province")
    communes = [area(api, stack, parent_id=province["id"]) for _ in range(3)]
    stations = [station(api, stack, c["id"]) for c in communes]
    in_force = datetime(2027, 7, 1, tzinfo=HCM)  # the law takes effect on 01/7
    week = (in_force - timedelta(days=7)).astimezone(UTC), in_force.astimezone(UTC)
    longest = max(b.duration_s for b in bulletins)
    slots = []
    for target in stations:
        for hour in (6, 17):
            body_at = datetime.combine((in_force - timedelta(days=10)).date(), time(hour, 0), tzinfo=HCM)
            slots.append(
                make_slot(api, stack, "station", target["id"], body_at, math.ceil(longest) + 1, rrule="FREQ=DAILY;COUNT=14")
            )
    with session_scope() as session:
        # July is beyond the beat task's horizon from today; expand these slots for the weeks around it.
        service.expand(
            session,
            slots=[service.get_slot(session, s["id"]) for s in slots],
            now=in_force.astimezone(UTC) - timedelta(days=11),
            horizon_days=15,
        )
    law = bulletins[2]
    campaign = api.post(
        "/api/campaigns",
        json={
            "name": "Luật thử nghiệm có hiệu lực 01/7: phát ít nhất 2 lượt mỗi xã",
            "production_ids": [law.production_id],
            "area_ids": [province["id"]],
            "start": week[0].isoformat(),
            "end": week[1].isoformat(),
            "min_airings_per_station": 2,
        },
        headers=stack.headers("scheduler"),
    )
    assert campaign.status_code == 201, campaign.json()
    fill(api, stack, week[0] - timedelta(days=3), week[1] + timedelta(days=1), freshness_days=3)
    for target in stations:
        placed = airings_at(api, stack, target["id"], *week)
        law_airings = [a for a in placed if a["production_id"] == law.production_id and week[0] <= parse(a["start"]) < week[1]]
        assert len(law_airings) >= 2, (target["name"], [(a["production_id"], a["start"]) for a in placed])
        assert any("Chiến dịch 'Luật thử nghiệm có hiệu lực 01/7" in str(a["reason"]) for a in law_airings)
    refused = api.post(
        "/api/campaigns",
        json={
            "name": "Sai",
            "production_ids": [law.production_id],
            "area_ids": [province["id"]],
            "start": week[1].isoformat(),
            "end": week[0].isoformat(),
        },
        headers=stack.headers("scheduler"),
    )
    assert refused.status_code == 422 and "kết thúc" in refused.json()["detail"]
