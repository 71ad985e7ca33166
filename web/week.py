"""The schedule's week grid as plain data (pure: no database, no web framework).

A week is an ISO week (`YYYY-Www`, Monday to Sunday) in one IANA timezone: it runs from Monday 00:00 local to
the next Monday 00:00 local, so an airing at 06:00 on a Monday in Hanoi (23:00 UTC on the Sunday before) lands
on the Monday, and a week with a daylight-saving change has 167 or 169 hours. The grid shows 05:00–22:00 in
hour rows; items outside those hours go to an "early" or "late" row of their day. Quiet hours shade the part of
each hour row they cover.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FIRST_HOUR, LAST_HOUR = 5, 22
GRID_MINUTES = (LAST_HOUR - FIRST_HOUR) * 60
WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
DAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Week:
    """One ISO week in a timezone: its seven local dates and its bounds in UTC."""

    year: int
    number: int
    tz: str
    days: tuple[date, ...]
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """The week as the URL writes it, e.g. 2026-W03."""
        return f"{self.year}-W{self.number:02d}"

    @property
    def previous(self) -> str:
        """Label of the week before."""
        return iso_label(self.days[0] - timedelta(days=7))

    @property
    def next(self) -> str:
        """Label of the week after."""
        return iso_label(self.days[0] + timedelta(days=7))


def iso_label(day: date) -> str:
    """The ISO week a date belongs to, as `YYYY-Www`."""
    year, number, _weekday = day.isocalendar()
    return f"{year}-W{number:02d}"


def local_time_label(moment: datetime, tz: str, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """A moment (naive ones are UTC, as SQLite returns them) as local wall time in `tz`."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo("UTC"))
    return aware.astimezone(ZoneInfo(tz)).strftime(fmt)


def local_midnight(day: date, tz: str) -> datetime:
    """00:00 of a local date, as an aware datetime in that zone."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def parse_week(value: str | None, tz: str, today: date) -> Week:
    """The week named `YYYY-Www` (default: the week of `today`); ValueError for a malformed or impossible one."""
    if value:
        found = WEEK_PATTERN.match(value.strip())
        if not found:
            raise ValueError(f"Tuần '{value}' không hợp lệ; dạng đúng: 2026-W03 (invalid week)")
        try:
            monday = date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
        except ValueError as exc:
            raise ValueError(f"Tuần '{value}' không tồn tại (no such ISO week)") from exc
    else:
        monday = today - timedelta(days=today.weekday())
    days = tuple(monday + timedelta(days=n) for n in range(7))
    year, number, _ = monday.isocalendar()
    start = local_midnight(monday, tz).astimezone(ZoneInfo("UTC"))
    end = local_midnight(monday + timedelta(days=7), tz).astimezone(ZoneInfo("UTC"))
    return Week(year, number, tz, days, start, end)


@dataclass(frozen=True)
class Item:
    """Something on the grid: an airing (or several alike), in UTC, with what the page shows about it."""

    start: datetime
    end: datetime
    title: str
    priority: str
    reason: str
    status: str = "planned"
    where: tuple[str, ...] = ()
    count: int = 1
    production_id: int = 0


@dataclass
class Chip:
    """An item placed in a day: its local start and end, and the item."""

    local_start: datetime
    local_end: datetime
    item: Item

    @property
    def length(self) -> str:
        """How long it plays, as mm:ss (h:mm:ss from an hour)."""
        whole = max(int((self.item.end - self.item.start).total_seconds()), 0)
        hours, rest = divmod(whole, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


@dataclass
class Cell:
    """One hour of one day: the chips that start in it, and the quiet part of the hour (percent ranges)."""

    hour: int
    chips: list[Chip] = field(default_factory=list)
    quiet: tuple[tuple[int, int], ...] = ()

    @property
    def fully_quiet(self) -> bool:
        """Whether quiet hours cover the whole hour."""
        return self.quiet == ((0, 100),)


@dataclass
class Day:
    """A day column: its date, the hour cells 05–21, and the chips before 05:00 and from 22:00."""

    day: date
    weekday: int
    cells: list[Cell]
    early: list[Chip] = field(default_factory=list)
    late: list[Chip] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many chips the day has."""
        return len(self.early) + len(self.late) + sum(len(c.chips) for c in self.cells)


@dataclass
class Grid:
    """The week grid: seven days, the hours shown, and whether any day has early or late items."""

    week: Week
    days: list[Day]
    hours: tuple[int, ...] = tuple(range(FIRST_HOUR, LAST_HOUR))

    @property
    def has_early(self) -> bool:
        """Whether a row before 05:00 is needed."""
        return any(d.early for d in self.days)

    @property
    def has_late(self) -> bool:
        """Whether a row from 22:00 is needed."""
        return any(d.late for d in self.days)

    @property
    def count(self) -> int:
        """Chips in the whole week."""
        return sum(d.count for d in self.days)


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def quiet_ranges(quiet_start: time | None, quiet_end: time | None) -> list[tuple[int, int]]:
    """Quiet hours as minute ranges of a day [from, to); a range across midnight (21:30–05:30) gives two."""
    if quiet_start is None or quiet_end is None or quiet_start == quiet_end:
        return []
    begin, finish = _minutes(quiet_start), _minutes(quiet_end)
    return [(begin, finish)] if begin < finish else [(0, finish), (begin, 24 * 60)]


def hour_quiet(hour: int, ranges: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The part of hour `hour` that quiet hours cover, as (from %, to %) ranges of the hour."""
    out = []
    low, high = hour * 60, hour * 60 + 60
    for begin, finish in ranges:
        a, b = max(begin, low), min(finish, high)
        if a < b:
            out.append((round((a - low) * 100 / 60), round((b - low) * 100 / 60)))
    return tuple(out)


def merge(items: Iterable[Item]) -> list[Item]:
    """Items alike (same times, production, priority and status) become one, counting and naming where they air."""
    groups: dict[tuple[object, ...], list[Item]] = {}
    for item in items:
        key = (item.start, item.end, item.production_id, item.priority, item.status, item.title)
        groups.setdefault(key, []).append(item)
    out = []
    for alike in groups.values():
        first = alike[0]
        where = tuple(dict.fromkeys(w for item in alike for w in item.where))
        out.append(
            Item(
                first.start,
                first.end,
                first.title,
                first.priority,
                first.reason,
                first.status,
                where,
                sum(item.count for item in alike),
                first.production_id,
            )
        )
    return sorted(out, key=lambda i: (i.start, i.priority != "emergency", i.title))


def build(week: Week, items: Iterable[Item], *, quiet: Sequence[tuple[int, int]] = ()) -> Grid:
    """Place items in the week's days (local time of the week's zone), by the hour they start in."""
    zone = ZoneInfo(week.tz)
    days = [
        Day(day, n, [Cell(h, quiet=hour_quiet(h, quiet)) for h in range(FIRST_HOUR, LAST_HOUR)])
        for n, day in enumerate(week.days)
    ]
    index = {day.day: day for day in days}
    for item in sorted(items, key=lambda i: (i.start, i.priority != "emergency", i.title)):
        local_start, local_end = item.start.astimezone(zone), item.end.astimezone(zone)
        column = index.get(local_start.date())
        if column is None:
            continue  # starts outside the week (an item running into it from the week before)
        chip = Chip(local_start, local_end, item)
        if local_start.hour < FIRST_HOUR:
            column.early.append(chip)
        elif local_start.hour >= LAST_HOUR:
            column.late.append(chip)
        else:
            column.cells[local_start.hour - FIRST_HOUR].chips.append(chip)
    return Grid(week, days)


def strip_position(local_start: datetime, local_end: datetime) -> tuple[float, float]:
    """Where a window sits on a 05:00–22:00 strip: (left %, width %), clipped to the strip, at least 1 % wide."""
    begin = (local_start.hour * 60 + local_start.minute) - FIRST_HOUR * 60
    length = max((local_end - local_start).total_seconds() / 60, 1)
    left = min(max(begin, 0), GRID_MINUTES - 1)
    width = max(min(begin + length, GRID_MINUTES) - left, GRID_MINUTES / 100)
    return round(left * 100 / GRID_MINUTES, 2), round(width * 100 / GRID_MINUTES, 2)
