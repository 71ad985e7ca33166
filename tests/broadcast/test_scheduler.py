"""Pure scheduler: packing, ranking, freshness, campaigns, pinned airings and reasons (no DB, no clock)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from broadcast.scheduler import Campaign, Candidate, Existing, PlannedAiring, SlotOccurrence, fill

T0 = datetime(2026, 6, 1, 23, 0, tzinfo=UTC)  # 06:00 on 2 June in Hồ Chí Minh
NOW = T0 - timedelta(days=1)
APPROVED = datetime(2026, 5, 1, tzinfo=UTC)


def occ(
    slot_id: int,
    start: datetime,
    seconds: float,
    station: int = 1,
    kind: str = "station",
    target: int | None = None,
    stations: tuple[int, ...] | None = None,
) -> SlotOccurrence:
    return SlotOccurrence(
        slot_id=slot_id,
        start=start,
        end=start + timedelta(seconds=seconds),
        target_kind=kind,
        target_id=station if target is None else target,
        station_ids=(station,) if stations is None else stations,
        overrun="cut",
    )


def cand(pid: int, seconds: float, *, priority: str = "normal", age_h: int = 0, **extra: Any) -> Candidate:
    return Candidate(
        production_id=pid,
        output_id=100 + pid,
        title=f"Bản tin {pid}",
        duration_s=seconds,
        priority=priority,
        approved_at=APPROVED - timedelta(hours=age_h),
        **extra,
    )


def daily(slot_id: int, days: int, seconds: float, station: int = 1, start: datetime = T0) -> list[SlotOccurrence]:
    return [occ(slot_id, start + timedelta(days=d), seconds, station) for d in range(days)]


def by_occurrence(airings: list[PlannedAiring]) -> dict[tuple[int, datetime], list[PlannedAiring]]:
    out: dict[tuple[int, datetime], list[PlannedAiring]] = defaultdict(list)
    for airing in airings:
        out[(airing.slot_id, airing.occurrence_start)].append(airing)
    return out


def test_packing_never_overruns_random_durations() -> None:
    rng = random.Random(39)
    for _ in range(40):
        occurrences = [
            occ(slot, T0 + timedelta(hours=6 * i), rng.uniform(60, 1800), station=rng.randint(1, 4))
            for i, slot in enumerate(rng.sample(range(1, 500), 24))
        ]
        candidates = [
            cand(
                pid,
                round(rng.uniform(20, 700), 3),
                age_h=rng.randint(0, 500),
                priority=rng.choice(("normal", "normal", "priority")),
            )
            for pid in range(1, rng.randint(2, 30))
        ]
        result = fill(occurrences, candidates, freshness_days=rng.randint(0, 3), now=NOW)
        placed = by_occurrence(result.airings)
        gaps = {(u.slot_id, u.occurrence_start): u.remaining_s for u in result.underfilled}
        for o in occurrences:
            items = sorted(placed.get((o.slot_id, o.start), []), key=lambda a: a.start)
            length = (o.end - o.start).total_seconds()
            used = sum((a.end - a.start).total_seconds() for a in items)
            assert used <= length
            assert all(o.start <= a.start < a.end <= o.end for a in items)
            assert all(x.end == y.start for x, y in pairwise(items))  # back to back
            assert not items or items[0].start == o.start
            if length - used >= 1.0:
                assert abs(gaps[(o.slot_id, o.start)] - (length - used)) < 1e-3
            else:
                assert (o.slot_id, o.start) not in gaps


def test_best_fit_leaves_less_than_first_fit() -> None:
    # Rank order is A (newest), B, C. First fit in rank order takes A+B and leaves 100 s; best fit takes A+C.
    a, b, c = cand(1, 300, age_h=0), cand(2, 200, age_h=1), cand(3, 290, age_h=2)
    result = fill([occ(1, T0, 600)], [a, b, c], now=NOW)
    assert [x.production_id for x in result.airings] == [1, 3]
    first_fit_left = 600 - 300 - 200
    assert [u.remaining_s for u in result.underfilled] == [10.0]
    assert result.underfilled[0].remaining_s < first_fit_left
    assert "lấp khung sát nhất" in result.airings[1].reason


def test_priority_goes_ahead_of_newer_normal_items() -> None:
    items = [cand(1, 120, age_h=0), cand(2, 120, age_h=1), cand(3, 120, priority="priority", age_h=50)]
    result = fill([occ(1, T0, 240)], items, now=NOW)
    assert [a.production_id for a in result.airings] == [3, 1]
    assert [a.priority for a in result.airings] == ["priority", "normal"]
    assert result.airings[0].reason.startswith("Ưu tiên")
    assert result.airings[0].start == T0 and result.airings[1].start == T0 + timedelta(seconds=120)
    emergency = fill([occ(1, T0, 240)], [*items, cand(4, 60, priority="emergency", age_h=99)], now=NOW)
    assert emergency.airings[0].production_id == 4 and emergency.airings[0].reason.startswith("Khẩn cấp")


def test_freshness_blocks_repeats_within_n_days_and_allows_after() -> None:
    result = fill(
        daily(1, 6, 300), [cand(1, 300, age_h=0), cand(2, 300, age_h=1), cand(3, 300, age_h=2)], freshness_days=3, now=NOW
    )
    assert [a.production_id for a in sorted(result.airings, key=lambda a: a.start)] == [1, 2, 3, 1, 2, 3]
    assert "chưa từng phát" in result.airings[0].reason
    assert "cách đây 3 ngày" in result.airings[3].reason
    assert not result.underfilled


def test_freshness_underfills_when_everything_aired_recently() -> None:
    result = fill(daily(1, 4, 300), [cand(1, 300), cand(2, 300, age_h=1)], freshness_days=3, now=NOW)
    assert [a.production_id for a in sorted(result.airings, key=lambda a: a.start)] == [1, 2, 1]
    assert [(u.occurrence_start, u.remaining_s) for u in result.underfilled] == [(T0 + timedelta(days=2), 300.0)]
    assert "đã phát trong 3 ngày qua" in result.underfilled[0].reason


def test_freshness_counts_existing_airings_and_other_targets_reaching_the_station() -> None:
    aired = Existing(
        slot_id=0,
        occurrence_start=T0 - timedelta(days=1),
        production_id=1,
        output_id=101,
        start=T0 - timedelta(days=1),
        end=T0 - timedelta(days=1, seconds=-300),
        station_ids=(1,),
        pinned=False,
    )
    result = fill([occ(1, T0, 300)], [cand(1, 300), cand(2, 300, age_h=1)], existing=[aired], now=NOW)
    assert [a.production_id for a in result.airings] == [2]
    # An area slot reaching stations 1 and 2 airs item 1; station 1's own slot an hour later must not repeat it.
    area = occ(7, T0, 300, kind="area", target=50, stations=(1, 2))
    own = occ(8, T0 + timedelta(hours=1), 300, station=1)
    shared = fill([area, own], [cand(1, 300), cand(2, 300, age_h=1)], now=NOW)
    assert [(a.slot_id, a.production_id) for a in shared.airings] == [(7, 1), (8, 2)]
    assert "cách đây 1 giờ" not in shared.airings[1].reason and "chưa từng phát" in shared.airings[1].reason


def test_campaign_gets_two_airings_at_every_station_in_the_week_before_it_takes_effect() -> None:
    in_force = datetime(2026, 6, 30, 17, tzinfo=UTC)  # 00:00 on 1 July in Hồ Chí Minh
    window_start = in_force - timedelta(days=7)
    stations = (1, 2, 3, 4)
    occurrences = []
    for station in stations:
        for index, hour in enumerate((23, 10)):  # 06:00 and 17:00 local
            first = datetime(2026, 6, 20, hour, tzinfo=UTC)
            occurrences += daily(station * 10 + index, 12, 900, station=station, start=first)
    law = cand(99, 280, age_h=900, topic="luat-thuc-hien-dan-chu")  # oldest approval: last in plain rotation
    others = [cand(pid, 290, age_h=pid) for pid in range(1, 61)]  # a long rotation: each item about every ten days
    campaign = Campaign(
        id=5,
        name="Luật Thực hiện dân chủ ở cơ sở có hiệu lực 01/7",
        topic="luat-thuc-hien-dan-chu",
        production_ids=(),
        start=window_start,
        end=in_force,
        station_ids=stations,
        min_airings_per_station=2,
    )

    def counts(result_airings: list[PlannedAiring]) -> Counter[int]:
        slot_station = {o.slot_id: o.target_id for o in occurrences}
        return Counter(
            slot_station[a.slot_id] for a in result_airings if a.production_id == 99 and window_start <= a.start < in_force
        )

    plain = fill(occurrences, [law, *others], freshness_days=3, now=NOW)
    assert all(counts(plain.airings)[s] < 2 for s in stations)  # without the campaign it would fall short
    result = fill(occurrences, [law, *others], campaigns=[campaign], freshness_days=3, now=NOW)
    assert {s: counts(result.airings)[s] for s in stations} == {s: 2 for s in stations}  # the minimum, then rotation resumes
    earliest = min((a for a in result.airings if a.production_id == 99), key=lambda a: a.start)
    assert earliest.start == datetime(2026, 6, 23, 23, tzinfo=UTC)  # the first slot of the campaign week, at its head
    assert "Chiến dịch 'Luật Thực hiện dân chủ ở cơ sở có hiệu lực 01/7': còn thiếu 2 lượt tại 1 trạm" in earliest.reason


def test_pinned_airing_is_kept_and_its_time_used_first() -> None:
    o = occ(1, T0, 600)
    pinned = Existing(
        slot_id=1,
        occurrence_start=T0,
        production_id=9,
        output_id=109,
        start=T0,
        end=T0 + timedelta(seconds=120),
        station_ids=(1,),
        pinned=True,
    )
    stale = Existing(
        slot_id=1,
        occurrence_start=T0,
        production_id=1,
        output_id=101,
        start=T0 + timedelta(seconds=120),
        end=T0 + timedelta(seconds=420),
        station_ids=(1,),
        pinned=False,
    )
    result = fill([o], [cand(9, 120), cand(1, 300, age_h=1), cand(2, 170, age_h=2)], existing=[pinned, stale], now=NOW)
    assert [(a.production_id, a.start) for a in result.airings] == [
        (1, T0 + timedelta(seconds=120)),
        (2, T0 + timedelta(seconds=420)),
    ]
    assert result.airings[-1].end == T0 + timedelta(seconds=590)
    assert [u.remaining_s for u in result.underfilled] == [10.0]


def test_underfilled_reports_remaining_seconds_and_reason() -> None:
    result = fill([occ(1, T0, 600), occ(2, T0, 600, station=2)], [cand(1, 250), cand(2, 250, age_h=1)], now=NOW)
    assert sorted((u.slot_id, u.remaining_s) for u in result.underfilled) == [(1, 100.0), (2, 100.0)]
    assert result.underfilled[0].reason == "Không còn nội dung đã duyệt vừa 01:40 còn trống"
    empty = fill([occ(1, T0, 600)], [], now=NOW)
    assert empty.underfilled[0].remaining_s == 600.0 and "Không có nội dung" in empty.underfilled[0].reason


def test_every_airing_says_why() -> None:
    result = fill(daily(1, 5, 900), [cand(pid, 200 + pid * 7, age_h=pid) for pid in range(1, 12)], now=NOW)
    assert result.airings
    for airing in result.airings:
        assert airing.reason
        assert "Nội dung thường" in airing.reason
        assert "chưa từng phát" in airing.reason or "phát lần cuối cách đây" in airing.reason
        assert "vừa khung 15:00" in airing.reason


def test_area_restricted_candidate_only_airs_inside_its_area() -> None:
    local = cand(1, 300, area_ids=(5,), station_ids=(1,))
    result = fill([occ(1, T0, 300, station=1), occ(2, T0, 300, station=2)], [local, cand(2, 300, age_h=5)], now=NOW)
    assert sorted((a.slot_id, a.production_id) for a in result.airings) == [(1, 1), (2, 2)]
    area = fill([occ(3, T0, 300, kind="area", target=5, stations=(1, 7))], [local], now=NOW)
    assert [a.production_id for a in area.airings] == [1]


def test_identical_stations_get_identical_plans_and_history_changes_them() -> None:
    occurrences = daily(1, 3, 900, station=1) + daily(2, 3, 900, station=2) + daily(3, 3, 900, station=3)
    aired = Existing(
        slot_id=0,
        occurrence_start=NOW,
        production_id=1,
        output_id=101,
        start=NOW,
        end=NOW + timedelta(minutes=5),
        station_ids=(3,),
        pinned=False,
    )
    result = fill(occurrences, [cand(pid, 240, age_h=pid) for pid in range(1, 9)], existing=[aired], now=NOW - timedelta(days=1))
    plans = defaultdict(list)
    for a in sorted(result.airings, key=lambda a: a.start):
        plans[a.slot_id].append((a.production_id, a.start, a.end, a.reason))
    assert plans[1] == plans[2]
    assert plans[3] != plans[1] and plans[3][0][0] != 1


def test_past_occurrences_are_skipped_and_one_in_progress_fills_from_now() -> None:
    now = T0 + timedelta(minutes=5)
    result = fill([occ(1, T0 - timedelta(days=1), 600), occ(1, T0, 600)], [cand(1, 200), cand(2, 100, age_h=1)], now=now)
    assert [(a.production_id, a.start) for a in result.airings] == [(1, now), (2, now + timedelta(seconds=200))]


def test_sharing_points_followers_at_their_leaders_instead_of_copying() -> None:
    occurrences = daily(1, 3, 900, station=1) + daily(2, 3, 900, station=2) + daily(3, 3, 900, station=3)
    aired = Existing(
        slot_id=0,
        occurrence_start=NOW,
        production_id=1,
        output_id=101,
        start=NOW,
        end=NOW + timedelta(minutes=5),
        station_ids=(3,),
        pinned=False,
    )
    items = [cand(pid, 240, age_h=pid) for pid in range(1, 9)]
    copied = fill(occurrences, items, existing=[aired], now=NOW - timedelta(days=1))
    shared = fill(occurrences, items, existing=[aired], now=NOW - timedelta(days=1), share=True)
    assert len(shared.airings) < len(copied.airings)
    by_key = by_occurrence(shared.airings)
    rebuilt = []
    for o in occurrences:
        leader = shared.same_as.get((o.slot_id, o.start), (o.slot_id, o.start))
        assert leader == (o.slot_id, o.start) or leader[1] == o.start  # a follower repeats an occurrence at the same time
        rebuilt += [(o.slot_id, a.production_id, a.start, a.end, a.reason) for a in by_key[leader]]
    assert sorted(rebuilt) == sorted((a.slot_id, a.production_id, a.start, a.end, a.reason) for a in copied.airings)
    assert {k[0] for k in shared.same_as} == {2}  # station 3's history differs, so only station 2 follows station 1
    assert not copied.same_as


def test_numbered_parts_of_a_bulletin_air_in_part_order() -> None:
    # Part 2 was approved after part 1 (newest first would put it ahead); an older lone item ranks after the series.
    parts = [cand(7, 120, age_h=5, series=7, part=1), cand(8, 90, age_h=1, series=7, part=2), cand(3, 60, age_h=10)]
    one_slot = fill([occ(1, T0, 900)], parts, freshness_days=3, now=NOW)
    assert [a.production_id for a in sorted(one_slot.airings, key=lambda a: a.start)] == [7, 8, 3]
    # A slot with room for one item at a time takes part 1 first, then part 2 the next day.
    tight = fill(daily(1, 3, 130), [parts[1], parts[0]], freshness_days=1, now=NOW)
    assert [a.production_id for a in sorted(tight.airings, key=lambda a: a.start)][:2] == [7, 8]
