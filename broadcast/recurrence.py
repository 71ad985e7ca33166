"""Recurring slots: RRULE + IANA timezone -> occurrences in UTC, quiet hours and overlap checks (pure).

Occurrences are expanded in local wall time: a slot at 06:00 Europe/Berlin stays at 06:00 local across
daylight-saving changes, so its UTC instant moves. Local times are resolved with zoneinfo's fold=0:
- a time that does not exist (spring-forward gap, e.g. 02:30 on 2026-03-29 in Berlin) is read with
  the offset in force before the gap, so it lands that much later in wall time (03:30 CEST);
- a time that exists twice (fall-back) is the first of the two (the daylight-saving one).
The duration is elapsed time: end = start + duration_s, whatever the wall clock does meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr

DAY_S = 86_400
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# The time of day comes from the slot's start_time; these parts would contradict it.
FORBIDDEN_PARTS = ("DTSTART", "BYHOUR", "BYMINUTE", "BYSECOND")
# RFC 5545's day-level parts; dateutil also takes extensions (BYEASTER) that crash on odd values.
RULE_PARTS = frozenset(
    {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
        *FORBIDDEN_PARTS,
    }
)
# An ordinal weekday (2MO, -1SU) counts weeks within a year at most; dateutil indexes past its tables beyond that.
MAX_WEEKDAY_ORDINAL = 53
# Largest wall-clock shift a DST change makes anywhere today is one hour; two is a safe margin.
DST_MARGIN_S = 2 * 3600
# The Gregorian calendar repeats exactly every 400 years (146,097 days, whole weeks): weekdays and leap days included.
CALENDAR_CYCLE_YEARS = 400


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a slot: UTC start and end, and the local date it belongs to."""

    start: datetime
    end: datetime
    local_date: date


@dataclass(frozen=True)
class SlotPattern:
    """Everything needed to expand a slot: rule, local start time, duration, timezone and exceptions."""

    rrule: str
    start_time: time
    duration_s: int
    tz: str
    dtstart: date
    exdates: tuple[date, ...] = ()
    rdates: tuple[date, ...] = ()


def _body(rrule: str) -> str:
    text = (rrule or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:].strip()
    return text


def validate_rrule(rrule: str) -> None:
    """Raise ValueError with a clear (Vietnamese + English) message unless `rrule` is a usable RRULE body."""
    _check(rrule)


@lru_cache(maxsize=1024)
def _check(rrule: str) -> None:
    body = _body(rrule)
    if not body:
        raise ValueError("Quy tắc lặp trống; ví dụ hợp lệ: FREQ=DAILY hoặc FREQ=WEEKLY;BYDAY=SU (empty RRULE)")
    parts: dict[str, str] = {}
    for part in body.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"Quy tắc lặp '{rrule}' sai cú pháp ở '{part}'; cần dạng TÊN=GIÁ_TRỊ (invalid RRULE)")
        parts[name.strip().upper()] = value.strip().upper()
    freq = parts.get("FREQ")
    if freq not in FREQUENCIES:
        raise ValueError(f"Quy tắc lặp '{rrule}': FREQ phải là một trong {', '.join(FREQUENCIES)} (invalid RRULE: FREQ={freq})")
    unknown = sorted(set(parts) - RULE_PARTS)
    if unknown:
        raise ValueError(f"Quy tắc lặp '{rrule}': không hỗ trợ {', '.join(unknown)} (invalid RRULE: unsupported part)")
    ordinals = [day.strip()[:-2] for day in parts.get("BYDAY", "").split(",") if day.strip()[:-2].lstrip("+-").isdigit()]
    if any(int(n) == 0 or abs(int(n)) > MAX_WEEKDAY_ORDINAL for n in ordinals):
        raise ValueError(
            f"Quy tắc lặp '{rrule}': thứ tự trong BYDAY phải từ 1 đến {MAX_WEEKDAY_ORDINAL} hoặc -1 đến -{MAX_WEEKDAY_ORDINAL} "
            "(invalid RRULE: BYDAY ordinal out of range)"
        )
    forbidden = [name for name in FORBIDDEN_PARTS if name in parts]
    if forbidden:
        raise ValueError(
            f"Quy tắc lặp '{rrule}': không dùng {', '.join(forbidden)}; giờ phát lấy từ giờ bắt đầu của khung (invalid RRULE)"
        )
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        raise ValueError(f"Quy tắc lặp '{rrule}': INTERVAL phải là số nguyên dương (invalid RRULE)")
    if parts.get("UNTIL", "").endswith("Z"):
        raise ValueError(f"Quy tắc lặp '{rrule}': UNTIL phải là ngày giờ địa phương, không có 'Z' (invalid RRULE)")
    try:
        _parse(body, datetime(2000, 1, 1))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"Quy tắc lặp '{rrule}' không hợp lệ: {exc} (invalid RRULE)") from exc


def validate_timezone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or ValueError naming the bad zone."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"Múi giờ '{tz}' không tồn tại; dùng tên IANA như Asia/Ho_Chi_Minh (unknown timezone)") from exc


@lru_cache(maxsize=4096)
def _parse(body: str, dtstart: datetime) -> RRule:
    # Parsing dominates expansion cost and slots share a handful of rules, so parsed rules are cached.
    rule = rrulestr(body, dtstart=dtstart)
    if not isinstance(rule, RRule):
        raise ValueError("chỉ một RRULE, không dùng RRULE/RDATE/EXDATE lồng nhau")
    return rule


def _shift_years(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years)


def first_occurrence(pattern: SlotPattern, *, last_day: date) -> date | None:
    """The first local date a slot airs on, up to `last_day` (exceptions applied), or None; bounded work for any rule."""
    body = _body(pattern.rrule)
    start = datetime.combine(pattern.dtstart, pattern.start_time.replace(tzinfo=None))
    until = getattr(_parse(body, start), "_until", None)
    # dateutil looks for a match up to the year 9999 when a rule never matches: seconds of CPU for FREQ=DAILY.
    # Moved forward by whole calendar cycles (which change no weekday or leap day), the search ends within 400 years.
    shift = (MAXYEAR - last_day.year) // CALENDAR_CYCLE_YEARS * CALENDAR_CYCLE_YEARS
    rule = _parse(body, _shift_years(start, shift))
    if until is not None:
        rule = rule.replace(until=_shift_years(until, shift) if until.year + shift <= MAXYEAR else None)
    excluded = set(pattern.exdates)
    end = _shift_years(datetime.combine(last_day, time.max), shift)
    found = None
    for moment in rule:
        if moment > end:
            break
        day = _shift_years(moment, -shift).date()
        if day not in excluded:
            found = day
            break
    extra = [d for d in pattern.rdates if d not in excluded and d <= last_day]
    return min([*extra, *([found] if found else [])], default=None)


def check_occurs(pattern: SlotPattern, *, last_day: date) -> None:
    """Raise ValueError (Vietnamese + English) when a slot would never air: UNTIL before its start, or no date at all."""
    body = _body(pattern.rrule)
    start = datetime.combine(pattern.dtstart, pattern.start_time.replace(tzinfo=None))
    until = getattr(_parse(body, start), "_until", None)
    if until is not None and until < start and not pattern.rdates:
        raise ValueError(
            f"Quy tắc lặp '{pattern.rrule}': UNTIL {until:%d/%m/%Y %H:%M} trước lần phát đầu tiên "
            f"{start:%d/%m/%Y %H:%M}; khung giờ sẽ không bao giờ phát (UNTIL before the slot's start)"
        )
    try:
        first = first_occurrence(pattern, last_day=last_day)
    except (IndexError, OverflowError) as exc:  # dateutil's own tables or dates run out on some odd rules
        raise ValueError(f"Quy tắc lặp '{pattern.rrule}' không hợp lệ: {exc} (invalid RRULE)") from exc
    if first is None:
        raise ValueError(
            f"Quy tắc lặp '{pattern.rrule}' không cho ngày phát nào từ {pattern.dtstart:%d/%m/%Y} đến "
            f"{last_day:%d/%m/%Y} (sau khi trừ ngày ngoại lệ); khung giờ sẽ không bao giờ phát (RRULE never occurs)"
        )


def expand(
    rrule: str,
    *,
    start_time: time,
    duration_s: int,
    tz: str,
    dtstart: date,
    window_start: datetime,
    window_end: datetime,
    exdates: Iterable[date] = (),
    rdates: Iterable[date] = (),
) -> list[Occurrence]:
    """Occurrences overlapping [window_start, window_end), sorted, expanded in local wall time then put in UTC."""
    validate_rrule(rrule)
    validate_timezone(tz)
    return list(
        _expand(
            _body(rrule),
            start_time,
            int(duration_s),
            tz,
            dtstart,
            window_start,
            window_end,
            tuple(sorted(set(exdates))),
            tuple(sorted(set(rdates))),
        )
    )


@lru_cache(maxsize=1024)
def _expand(
    body: str,
    start_time: time,
    duration_s: int,
    tz: str,
    dtstart: date,
    window_start: datetime,
    window_end: datetime,
    exdates: tuple[date, ...],
    rdates: tuple[date, ...],
) -> tuple[Occurrence, ...]:
    # Thousands of stations share a few slot patterns; equal inputs give equal (immutable) occurrences.
    zone = ZoneInfo(tz)
    span = timedelta(seconds=duration_s)
    # Local search bounds padded by a day so offsets and durations never clip an occurrence.
    lo = (window_start - span).astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    hi = window_end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    days = set(_parse(body, datetime.combine(dtstart, start_time)).between(lo, hi, inc=True))
    local_days = {moment.date() for moment in days}
    local_days.update(d for d in rdates if lo.date() <= d <= hi.date())
    local_days.difference_update(exdates)
    out = []
    for day in sorted(local_days):
        start = datetime.combine(day, start_time, tzinfo=zone).astimezone(UTC)
        end = start + span
        if start < window_end and end > window_start:
            out.append(Occurrence(start, end, day))
    return tuple(out)


def expand_pattern(pattern: SlotPattern, *, window_start: datetime, window_end: datetime) -> list[Occurrence]:
    """`expand` for a SlotPattern."""
    return expand(
        pattern.rrule,
        start_time=pattern.start_time,
        duration_s=pattern.duration_s,
        tz=pattern.tz,
        dtstart=pattern.dtstart,
        window_start=window_start,
        window_end=window_end,
        exdates=pattern.exdates,
        rdates=pattern.rdates,
    )


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """True when half-open intervals [a_start, a_end) and [b_start, b_end) share any instant."""
    return a_start < b_end and b_start < a_end


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _clock(seconds: int) -> str:
    seconds %= DAY_S
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def quiet_hours_conflict(start_time: time, duration_s: int, quiet_start: time | None, quiet_end: time | None) -> str | None:
    """A Vietnamese reason if any part of [start, start+duration) falls in quiet hours (which may wrap midnight), else None."""
    if quiet_start is None or quiet_end is None or quiet_start == quiet_end:
        return None
    start = _seconds(start_time)
    end = start + max(int(duration_s), 0)
    q_start = _seconds(quiet_start)
    q_end = _seconds(quiet_end) + (DAY_S if quiet_end < quiet_start else 0)
    inside = 0
    for day in range(-1, end // DAY_S + 2):
        lo, hi = q_start + day * DAY_S, q_end + day * DAY_S
        inside += max(0, min(end, hi) - max(start, lo))
    if inside <= 0:
        return None
    where = "nằm trong" if inside >= end - start else "lấn vào"
    return f"Khung giờ {_clock(start)}–{_clock(end)} {where} giờ yên tĩnh {_clock(q_start)}–{_clock(q_end)} của địa bàn"


def _has_dst(zone: ZoneInfo) -> bool:
    return any(
        datetime(2026, month, 1, tzinfo=zone).utcoffset() != datetime(2026, 1, 1, tzinfo=zone).utcoffset() for month in (4, 7, 10)
    )


def quiet_hours_clash(
    pattern: SlotPattern, quiet_start: time | None, quiet_end: time | None, zone: str, *, horizon_days: int = 366
) -> str | None:
    """Like quiet_hours_conflict, for a slot in any timezone against quiet hours kept in `zone` (DST included)."""
    if quiet_start is None or quiet_end is None or quiet_start == quiet_end:
        return None
    local = ZoneInfo(zone)
    if pattern.tz == zone and not _has_dst(local):
        return quiet_hours_conflict(pattern.start_time, pattern.duration_s, quiet_start, quiet_end)
    first = datetime.combine(pattern.dtstart - timedelta(days=1), time(0), tzinfo=UTC)
    for occ in expand_pattern(pattern, window_start=first, window_end=first + timedelta(days=horizon_days + 2)):
        start = occ.start.astimezone(local)
        reason = quiet_hours_conflict(start.time().replace(tzinfo=None), pattern.duration_s, quiet_start, quiet_end)
        if reason:
            return f"{reason} (ngày {start:%d/%m/%Y} giờ {zone})"
    return None


def _clock_apart(a: SlotPattern, b: SlotPattern) -> bool:
    """True when the two slots' wall-clock intervals are far apart on every day, even allowing for DST shifts."""
    a_lo, b_lo = _seconds(a.start_time), _seconds(b.start_time)
    a_hi, b_hi = a_lo + a.duration_s + DST_MARGIN_S, b_lo + b.duration_s + DST_MARGIN_S
    a_lo, b_lo = a_lo - DST_MARGIN_S, b_lo - DST_MARGIN_S
    if a_hi - a_lo >= DAY_S or b_hi - b_lo >= DAY_S:
        return False
    return all(not (a_lo < b_hi + shift and b_lo + shift < a_hi) for shift in (-DAY_S, 0, DAY_S))


def slots_overlap(a: SlotPattern, b: SlotPattern, *, horizon_days: int = 366) -> datetime | None:
    """The UTC instant the first overlap of two recurring slots begins within the horizon, or None."""
    if a.tz == b.tz and _clock_apart(a, b):
        return None
    first = max(a.dtstart, b.dtstart) - timedelta(days=1)
    window_start = datetime.combine(first, time(0), tzinfo=UTC)
    window_end = window_start + timedelta(days=horizon_days + 2)
    left = expand_pattern(a, window_start=window_start, window_end=window_end)
    right = expand_pattern(b, window_start=window_start, window_end=window_end)
    i = j = 0
    while i < len(left) and j < len(right):
        x, y = left[i], right[j]
        if overlaps(x.start, x.end, y.start, y.end):
            return max(x.start, y.start)
        if x.end <= y.end:
            i += 1
        else:
            j += 1
    return None
