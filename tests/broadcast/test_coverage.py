"""Coverage reports: an area's report is exactly its stations' part of any wider report.

The report of an area reads only what reaches its stations (the stations, their areas up to the province, the
loudspeaker network), so this checks it against the province's and the whole network's reports on airings of
every kind: plans shared by stations, plans on a commune, a district or the province, direct airings on an area,
a station or a channel, and statuses and reports that do not count.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.broadcast.conftest import Bulletin
from tests.conftest import Stack

DAY = datetime(2034, 3, 1, tzinfo=UTC)  # no other test airs anything that day


def _seed(bulletins: list[Bulletin]) -> dict[str, int]:
    """Two communes and a station on the district itself, in a province; a station in another province; their airings."""
    from broadcast import service
    from broadcast.models import Airing, Occurrence, OccurrencePlan, Plan, PlayReport, Slot
    from db import session_scope

    tag = uuid.uuid4().hex[:8]
    p0, p1, p2, p3 = bulletins[:4]
    with session_scope() as session:
        province = service.create_area(session, kind="province", name=f"Tỉnh {tag}")
        district = service.create_area(session, kind="district", name=f"Huyện {tag}", parent_id=province.id)
        a = service.create_area(session, kind="commune", name=f"Xã A {tag}", parent_id=district.id)
        b = service.create_area(session, kind="commune", name=f"Xã B {tag}", parent_id=district.id)
        other = service.create_area(session, kind="province", name=f"Tỉnh khác {tag}")
        ids = {"province": province.id, "district": district.id, "a": a.id, "b": b.id}
        for name, where in (("a1", a), ("a2", a), ("b1", b), ("d1", district), ("q1", other)):
            ids[name] = service.create_station(session, area_id=where.id, name=f"Cụm loa {name} {tag}")[0].id
        loud = service.create_channel(session, slug=f"loa-{tag}", name=f"Loa {tag}", kind="loudspeaker")
        radio = service.create_channel(session, slug=f"radio-{tag}", name=f"Đài {tag}", kind="radio")

        def airing(target: tuple[str, int] | None, bulletin: Bulletin, at: datetime, **extra: object) -> Airing:
            kind, target_id = target or (None, None)
            made = Airing(
                target_kind=kind,
                target_id=target_id,
                production_id=bulletin.production_id,
                output_id=bulletin.output_id,
                start=at,
                end=at + timedelta(minutes=1),
                reason="thử",
                **extra,
            )
            session.add(made)
            session.flush()
            return made

        def plan(hour: int, targets: list[tuple[str, int]], items: list[Bulletin]) -> None:
            begin = DAY + timedelta(hours=hour)
            made = Plan(start=begin, end=begin + timedelta(minutes=15))
            session.add(made)
            session.flush()
            for kind, target_id in targets:
                slot = Slot(
                    name=f"Khung {tag}",
                    target_kind=kind,
                    target_id=target_id,
                    rrule="FREQ=DAILY",
                    dtstart=begin.date(),
                    start_time=begin.time(),
                    duration_s=900,
                )
                session.add(slot)
                session.flush()
                occurrence = Occurrence(
                    slot_id=slot.id, target_kind=kind, target_id=target_id, start=begin, end=begin + timedelta(minutes=15)
                )
                session.add(occurrence)
                session.flush()
                session.add(OccurrencePlan(occurrence_id=occurrence.id, plan_id=made.id))
            for n, bulletin in enumerate(items):
                airing(targets[0] if len(targets) == 1 else None, bulletin, begin + timedelta(minutes=2 * n), plan_id=made.id)

        plan(6, [("station", ids["a1"]), ("station", ids["b1"])], [p0, p1])  # one plan shared by two stations
        plan(7, [("area", a.id)], [p2])
        plan(7, [("area", b.id)], [p2])
        plan(8, [("area", district.id)], [p0])
        plan(9, [("area", province.id)], [p1])
        plan(6, [("station", ids["q1"])], [p3])
        airing(("area", a.id), p0, DAY + timedelta(hours=10), priority="emergency", status="published")
        airing(("area", b.id), p0, DAY + timedelta(hours=10), priority="emergency", status="published")
        airing(("channel", loud.id), p2, DAY + timedelta(hours=11))
        airing(("channel", radio.id), p1, DAY + timedelta(hours=11))  # not the loudspeaker network: reaches no station
        airing(("station", ids["a2"]), p1, DAY + timedelta(hours=12), status="aired")
        airing(("station", ids["a2"]), p0, DAY + timedelta(hours=12, minutes=5), status="missed")  # not counted
        airing(("station", ids["a1"]), p2, DAY + timedelta(hours=13), status="withdrawn")  # not counted
        airing(("station", ids["a1"]), p0, DAY - timedelta(hours=2))  # before the window
        plays = [
            ("a1", p0, DAY + timedelta(hours=6), "played"),
            ("a1", p3, DAY + timedelta(hours=14), "played"),  # aired, never scheduled there (a replaced airing)
            ("a2", p1, DAY + timedelta(hours=9), "cut"),
            ("a2", p2, DAY + timedelta(hours=7), "skipped"),  # not aired
            ("a2", p0, DAY - timedelta(hours=1), "played"),  # scheduled before the window
            ("b1", p0, DAY + timedelta(hours=6), "overran"),
            ("q1", p3, DAY + timedelta(hours=6), "played"),
        ]
        for n, (name, bulletin, at, outcome) in enumerate(plays, start=1):
            station_id = ids[name]
            session.add(
                PlayReport(
                    station_id=station_id,
                    airing_id=10**12 + n,
                    production_id=bulletin.production_id,
                    production_title=bulletin.title,
                    script_version=1,
                    area_id=b.id if name == "b1" else a.id,
                    scheduled_start=at,
                    played_at=at,
                    duration_s=60.0,
                    overrun="cut",
                    outcome=outcome,
                )
            )
        return ids


def test_an_areas_report_is_its_stations_part_of_wider_reports(stack: Stack, bulletins: list[Bulletin]) -> None:
    from broadcast import asrun
    from db import session_scope

    ids = _seed(bulletins)
    start, end = DAY, DAY + timedelta(days=1)
    with session_scope() as session:
        commune = asrun.coverage(session, start=start, end=end, area_id=ids["a"])
        district = asrun.coverage(session, start=start, end=end, area_id=ids["district"])
        province = asrun.coverage(session, start=start, end=end, area_id=ids["province"])
        everywhere = asrun.coverage(session, start=start, end=end)

    p0, p1, p2, p3 = (b.production_id for b in bulletins[:4])
    a1, a2 = ids["a1"], ids["a2"]
    expected = [
        (a1, p0, 3, 1, 2),  # the shared plan, the district's plan, the commune's emergency; aired once
        (a1, p1, 2, 0, 2),  # the shared plan, the province's plan
        (a1, p2, 2, 0, 2),  # the commune's plan, the loudspeaker network
        (a1, p3, 0, 1, 0),  # aired only
        (a2, p0, 2, 0, 2),
        (a2, p1, 2, 1, 1),  # the province's plan, one aired on the station itself
        (a2, p2, 2, 0, 2),
    ]
    assert sorted((r.station_id, r.production_id, r.scheduled, r.aired, r.missing) for r in commune) == sorted(expected)
    titles = {b.production_id: b.title for b in bulletins}
    assert all(r.production == titles[r.production_id] and r.area_id == ids["a"] for r in commune)

    def part(rows: list[asrun.CoverageRow], names: tuple[str, ...]) -> list[asrun.CoverageRow]:
        return [r for r in rows if r.station_id in {ids[n] for n in names}]

    assert commune == part(province, ("a1", "a2")) == part(district, ("a1", "a2")) == part(everywhere, ("a1", "a2"))
    assert district == part(province, ("a1", "a2", "b1", "d1")) == part(everywhere, ("a1", "a2", "b1", "d1"))
    assert province == part(everywhere, ("a1", "a2", "b1", "d1")) and {r.station_id for r in province} == {
        ids[n] for n in ("a1", "a2", "b1", "d1")
    }
    by_area = {t.key: (t.scheduled, t.aired, t.missing) for t in asrun.totals(district, "area")}
    assert by_area == {ids["a"]: (13, 3, 11), ids["b"]: (7, 1, 6), ids["district"]: (3, 0, 3)}
