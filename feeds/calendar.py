"""Pure iCalendar builder: scheduled airings as VEVENTs, deterministic for the same data."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from feeds.items import CalendarEvent
from timeutil import aware_utc

PRODID = "-//lawcast//Lich phat song phap luat//VI"
STATUSES = frozenset({"TENTATIVE", "CONFIRMED", "CANCELLED"})


def build_calendar(name: str, events: Sequence[CalendarEvent], *, timezone: str = "Asia/Ho_Chi_Minh") -> bytes:
    """An RFC 5545 calendar with one VEVENT per event, times in `timezone` with its VTIMEZONE."""
    tz = ZoneInfo(timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", timezone)
    for event in sorted(events, key=lambda e: (aware_utc(e.start), e.uid)):
        cal.add_component(_vevent(event, tz))
    if events:
        cal.add_missing_timezones()
    ical: bytes = cal.to_ical()
    return ical


def _vevent(event: CalendarEvent, tz: ZoneInfo) -> Event:
    if event.status not in STATUSES:
        raise ValueError(f"VEVENT status must be one of {sorted(STATUSES)}, got {event.status!r}")
    start, end = aware_utc(event.start), aware_utc(event.end)
    if end < start:
        raise ValueError(f"event {event.uid} ends before it starts")
    vevent = Event()
    vevent.add("uid", event.uid)
    # DTSTAMP comes from the data, never the clock, so the same schedule gives the same bytes.
    vevent.add("dtstamp", aware_utc(event.last_modified or event.start))
    vevent.add("dtstart", start.astimezone(tz))
    vevent.add("dtend", end.astimezone(tz))
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    if event.location:
        vevent.add("location", event.location)
    if event.url:
        vevent.add("url", event.url)
    vevent.add("status", event.status)
    if event.last_modified is not None:
        vevent.add("last-modified", aware_utc(event.last_modified))
    return vevent
