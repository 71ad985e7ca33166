"""Recurrence: RRULE + timezone expansion, exceptions, DST, quiet hours and slot overlap (pure, no clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from broadcast.recurrence import (
    SlotPattern,
    expand,
    expand_pattern,
    overlaps,
    quiet_hours_conflict,
    slots_overlap,
    validate_rrule,
    validate_timezone,
)

HCM = "Asia/Ho_Chi_Minh"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_daily_expands_each_local_day_in_utc() -> None:
    occs = expand(
        "FREQ=DAILY",
        start_time=time(6, 0),
        duration_s=900,
        tz=HCM,
        dtstart=date(2026, 6, 1),
        window_start=utc(2026, 6, 1),
        window_end=utc(2026, 6, 4),
    )
    # 06:00 in Hồ Chí Minh (UTC+7) is 23:00 UTC the day before; 1 June 06:00 local falls before the window.
    assert [(o.local_date, o.start, o.end) for o in occs] == [
        (date(2026, 6, 2), utc(2026, 6, 1, 23), utc(2026, 6, 1, 23, 15)),
        (date(2026, 6, 3), utc(2026, 6, 2, 23), utc(2026, 6, 2, 23, 15)),
        (date(2026, 6, 4), utc(2026, 6, 3, 23), utc(2026, 6, 3, 23, 15)),
    ]


def test_weekly_sunday_1930_is_1230_utc() -> None:
    occs = expand(
        "FREQ=WEEKLY;BYDAY=SU",
        start_time=time(19, 30),
        duration_s=1800,
        tz=HCM,
        dtstart=date(2026, 6, 1),
        window_start=utc(2026, 6, 1),
        window_end=utc(2026, 6, 30),
    )
    assert [o.start for o in occs] == [
        utc(2026, 6, 7, 12, 30),
        utc(2026, 6, 14, 12, 30),
        utc(2026, 6, 21, 12, 30),
        utc(2026, 6, 28, 12, 30),
    ]
    assert all(o.local_date.weekday() == 6 and o.end - o.start == timedelta(minutes=30) for o in occs)


def test_exdate_removes_and_rdate_adds_a_local_date() -> None:
    occs = expand(
        "FREQ=WEEKLY;BYDAY=SU",
        start_time=time(19, 30),
        duration_s=1800,
        tz=HCM,
        dtstart=date(2026, 6, 1),
        window_start=utc(2026, 6, 1),
        window_end=utc(2026, 6, 30),
        exdates=[date(2026, 6, 14)],
        rdates=[date(2026, 6, 17)],
    )
    assert [o.local_date for o in occs] == [date(2026, 6, 7), date(2026, 6, 17), date(2026, 6, 21), date(2026, 6, 28)]
    assert occs[1].start == utc(2026, 6, 17, 12, 30)


def test_window_clips_but_keeps_occurrences_that_overlap_its_edges() -> None:
    kwargs: dict[str, Any] = dict(start_time=time(6, 0), duration_s=1800, tz="UTC", dtstart=date(2026, 1, 1))
    occs = expand("FREQ=DAILY", window_start=utc(2026, 6, 2, 6, 10), window_end=utc(2026, 6, 4, 6, 0), **kwargs)
    # 2 June 06:00-06:30 overlaps the window start; 4 June 06:00 starts exactly at the (exclusive) end.
    assert [o.start for o in occs] == [utc(2026, 6, 2, 6), utc(2026, 6, 3, 6)]
    assert expand("FREQ=DAILY", window_start=utc(2026, 6, 2, 6, 30), window_end=utc(2026, 6, 2, 7), **kwargs) == []


def test_occurrences_never_precede_dtstart_and_respect_count() -> None:
    occs = expand(
        "FREQ=DAILY;COUNT=2",
        start_time=time(6, 0),
        duration_s=60,
        tz="UTC",
        dtstart=date(2026, 6, 3),
        window_start=utc(2026, 6, 1),
        window_end=utc(2026, 6, 30),
    )
    assert [o.local_date for o in occs] == [date(2026, 6, 3), date(2026, 6, 4)]


@pytest.mark.parametrize(
    ("tz", "day", "before_hour", "after_hour"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 5, 4),  # CET -> CEST
        ("Europe/Berlin", date(2026, 10, 25), 4, 5),  # CEST -> CET
        ("America/New_York", date(2026, 3, 8), 11, 10),  # EST -> EDT
        ("America/New_York", date(2026, 11, 1), 10, 11),  # EDT -> EST
    ],
)
def test_wall_clock_stays_fixed_across_dst(tz: str, day: date, before_hour: int, after_hour: int) -> None:
    occs = expand(
        "FREQ=DAILY",
        start_time=time(6, 0),
        duration_s=900,
        tz=tz,
        dtstart=date(2026, 1, 1),
        window_start=datetime.combine(day - timedelta(days=2), time(0), tzinfo=UTC),
        window_end=datetime.combine(day + timedelta(days=2), time(0), tzinfo=UTC),
    )
    assert [o.local_date for o in occs] == [day - timedelta(days=2) + timedelta(days=i) for i in range(4)]
    assert all(o.start.astimezone(ZoneInfo(tz)).time() == time(6, 0) for o in occs)
    by_day = {o.local_date: o.start.hour for o in occs}
    assert by_day[day - timedelta(days=1)] == before_hour
    assert by_day[day] == after_hour
    assert all(o.end - o.start == timedelta(minutes=15) for o in occs)


def test_nonexistent_local_time_shifts_forward_by_the_gap() -> None:
    occs = expand(
        "FREQ=DAILY",
        start_time=time(2, 30),
        duration_s=600,
        tz="Europe/Berlin",
        dtstart=date(2026, 1, 1),
        window_start=utc(2026, 3, 29),
        window_end=utc(2026, 3, 29, 12),
    )
    # 02:30 does not exist on 29 March in Berlin; zoneinfo fold=0 reads it with +01:00 -> 01:30 UTC = 03:30 CEST.
    assert [o.start for o in occs] == [utc(2026, 3, 29, 1, 30)]


@pytest.mark.parametrize(
    ("rrule", "fragment"),
    [
        ("", "trống"),
        ("garbage", "sai cú pháp"),
        ("FREQ=HOURLY", "FREQ phải là"),
        ("FREQ=DAILY;BYDAY=XX", "không hợp lệ"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;BYHOUR=6", "BYHOUR"),
        ("FREQ=DAILY;COUNT=abc", "COUNT"),
    ],
)
def test_invalid_rrule_has_a_clear_message(rrule: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_rrule(rrule)
    assert fragment in str(info.value)
    assert "invalid RRULE" in str(info.value) or "empty RRULE" in str(info.value)


def test_valid_rrules_and_timezones_pass() -> None:
    for rule in ("FREQ=DAILY", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20261231"):
        validate_rrule(rule)
    assert validate_timezone(HCM).key == HCM
    with pytest.raises(ValueError, match="Múi giờ 'Mars/Olympus'"):
        validate_timezone("Mars/Olympus")


def test_quiet_hours_refuse_0430_with_a_reason() -> None:
    reason = quiet_hours_conflict(time(4, 30), 900, time(21, 30), time(5, 30))
    assert reason == "Khung giờ 04:30–04:45 nằm trong giờ yên tĩnh 21:30–05:30 của địa bàn"


def test_quiet_hours_accept_0600_and_refuse_a_slot_crossing_2130() -> None:
    assert quiet_hours_conflict(time(6, 0), 1800, time(21, 30), time(5, 30)) is None
    assert quiet_hours_conflict(time(21, 0), 1800, time(21, 30), time(5, 30)) is None  # ends exactly at 21:30
    reason = quiet_hours_conflict(time(21, 0), 45 * 60, time(21, 30), time(5, 30))
    assert reason == "Khung giờ 21:00–21:45 lấn vào giờ yên tĩnh 21:30–05:30 của địa bàn"
    assert quiet_hours_conflict(time(5, 0), 3600, time(21, 30), time(5, 30)) is not None  # starts inside


def test_quiet_hours_that_do_not_wrap_and_none() -> None:
    assert quiet_hours_conflict(time(12, 15), 600, time(12, 0), time(13, 30)) is not None
    assert quiet_hours_conflict(time(13, 30), 600, time(12, 0), time(13, 30)) is None
    assert quiet_hours_conflict(time(4, 30), 900, None, None) is None
    assert quiet_hours_conflict(time(4, 30), 900, time(21, 30), None) is None


def test_overlaps_is_half_open() -> None:
    assert overlaps(utc(2026, 1, 1, 6), utc(2026, 1, 1, 7), utc(2026, 1, 1, 6, 59), utc(2026, 1, 1, 8))
    assert not overlaps(utc(2026, 1, 1, 6), utc(2026, 1, 1, 7), utc(2026, 1, 1, 7), utc(2026, 1, 1, 8))


def _pattern(rrule: str, at: time, duration_s: int, **extra: Any) -> SlotPattern:
    return SlotPattern(rrule=rrule, start_time=at, duration_s=duration_s, tz=HCM, dtstart=date(2026, 6, 1), **extra)


def test_slots_overlap_finds_the_first_clash() -> None:
    daily = _pattern("FREQ=DAILY", time(6, 0), 1800)
    sunday = _pattern("FREQ=WEEKLY;BYDAY=SU", time(6, 15), 600)
    assert slots_overlap(daily, sunday) == utc(2026, 6, 6, 23, 15)  # Sunday 7 June 06:15 local
    assert slots_overlap(daily, _pattern("FREQ=DAILY", time(6, 30), 600)) is None  # back to back is fine
    assert slots_overlap(daily, _pattern("FREQ=DAILY", time(17, 0), 600)) is None  # cheap time-of-day check


def test_slots_overlap_respects_exceptions_and_other_timezones() -> None:
    weekly = _pattern("FREQ=WEEKLY;BYDAY=SU", time(6, 0), 1800, exdates=(date(2026, 6, 7),))
    once = SlotPattern(rrule="FREQ=DAILY;COUNT=1", start_time=time(6, 10), duration_s=600, tz=HCM, dtstart=date(2026, 6, 7))
    assert slots_overlap(weekly, once) is None
    bangkok = SlotPattern(rrule="FREQ=DAILY", start_time=time(5, 0), duration_s=1800, tz="Asia/Bangkok", dtstart=date(2026, 6, 1))
    # 05:00 Bangkok (UTC+7) is 05:00 in Hồ Chí Minh too: it clashes with the daily 05:10 slot.
    assert slots_overlap(bangkok, _pattern("FREQ=DAILY", time(5, 10), 600)) == utc(2026, 5, 31, 22, 10)


def test_expand_pattern_matches_expand() -> None:
    pattern = _pattern("FREQ=DAILY", time(6, 0), 900, rdates=(date(2026, 5, 20),))
    window: dict[str, Any] = dict(window_start=utc(2026, 5, 1), window_end=utc(2026, 6, 2, 22))
    assert [o.local_date for o in expand_pattern(pattern, **window)] == [date(2026, 5, 20), date(2026, 6, 1), date(2026, 6, 2)]
    assert expand_pattern(pattern, **window) == expand(
        "FREQ=DAILY",
        start_time=time(6, 0),
        duration_s=900,
        tz=HCM,
        dtstart=date(2026, 6, 1),
        rdates=[date(2026, 5, 20)],
        **window,
    )


def test_quiet_hours_of_a_vietnamese_area_bind_a_slot_kept_in_a_dst_zone() -> None:
    from broadcast.recurrence import quiet_hours_clash

    # 00:00 in Berlin is 06:00 in Hồ Chí Minh under CET (UTC+1) but 05:00 under CEST (UTC+2): inside quiet
    # hours only from the first whole day of summer time, 29 March 2027 (local date in Hồ Chí Minh).
    midnight = SlotPattern(
        rrule="FREQ=DAILY", start_time=time(0, 0), duration_s=900, tz="Europe/Berlin", dtstart=date(2027, 1, 1)
    )
    summer = quiet_hours_clash(midnight, time(21, 30), time(5, 30), HCM)
    assert summer == "Khung giờ 05:00–05:15 nằm trong giờ yên tĩnh 21:30–05:30 của địa bàn (ngày 29/03/2027 giờ Asia/Ho_Chi_Minh)"
    winter_only = SlotPattern(
        rrule="FREQ=DAILY;UNTIL=20270320T000000",
        start_time=time(0, 0),
        duration_s=900,
        tz="Europe/Berlin",
        dtstart=date(2027, 1, 1),
    )
    assert quiet_hours_clash(winter_only, time(21, 30), time(5, 30), HCM) is None
    same_zone = SlotPattern(rrule="FREQ=DAILY", start_time=time(4, 30), duration_s=900, tz=HCM, dtstart=date(2027, 1, 1))
    assert quiet_hours_clash(same_zone, time(21, 30), time(5, 30), HCM) == quiet_hours_conflict(
        time(4, 30), 900, time(21, 30), time(5, 30)
    )
