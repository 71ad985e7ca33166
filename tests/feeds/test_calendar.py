"""iCalendar builder, checked by parsing the output back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from feeds.calendar import build_calendar
from feeds.items import CalendarEvent

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def make_events() -> list[CalendarEvent]:
    return [
        CalendarEvent(
            uid="airing-2@lawcast",
            summary="Bản tin pháp luật: Luật Đất đai 2024, Điều 26",
            description="Phát trên loa truyền thanh cơ sở xã Đầm Hà; nội dung do Sở Tư pháp thẩm định.",
            start=datetime(2024, 6, 3, 6, 0, tzinfo=HCM),
            end=datetime(2024, 6, 3, 6, 5, tzinfo=HCM),
            location="Xã Đầm Hà, cụm loa 3",
            url="https://lawcast.example.vn/episodes/2",
            last_modified=datetime(2024, 6, 1, 8, 0, tzinfo=UTC),
        ),
        CalendarEvent(
            uid="airing-1@lawcast",
            summary="Tìm hiểu pháp luật: Nghị định 15/2020/NĐ-CP",
            description="Chuyên mục hằng tuần trên QNR1 97,8 MHz.",
            # Given in UTC on purpose: the calendar shows it in the calendar's zone.
            start=datetime(2024, 6, 2, 12, 30, tzinfo=UTC),
            end=datetime(2024, 6, 2, 12, 45, tzinfo=UTC),
            status="TENTATIVE",
        ),
    ]


@pytest.fixture(scope="module")
def ics() -> bytes:
    return build_calendar("Lịch phát sóng QNR1", make_events())


def test_calendar_header(ics: bytes) -> None:
    cal = Calendar.from_ical(ics)
    assert cal["VERSION"] == "2.0"
    assert "lawcast" in str(cal["PRODID"])
    assert str(cal["X-WR-CALNAME"]) == "Lịch phát sóng QNR1"
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Ho_Chi_Minh"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]


def test_events_round_trip(ics: bytes) -> None:
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert len(events) == 2
    first, second = events  # ordered by start
    assert str(first["UID"]) == "airing-1@lawcast"
    assert str(first["SUMMARY"]) == "Tìm hiểu pháp luật: Nghị định 15/2020/NĐ-CP"
    start = first.decoded("DTSTART")
    assert start == datetime(2024, 6, 2, 19, 30, tzinfo=HCM)
    assert start.utcoffset() == timedelta(hours=7)
    assert first["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert first.decoded("DTEND") - start == timedelta(minutes=15)
    assert str(first["STATUS"]) == "TENTATIVE"
    assert first.decoded("DTSTAMP") == datetime(2024, 6, 2, 12, 30, tzinfo=UTC)  # start when never modified

    assert str(second["UID"]) == "airing-2@lawcast"
    assert str(second["SUMMARY"]) == "Bản tin pháp luật: Luật Đất đai 2024, Điều 26"
    assert str(second["DESCRIPTION"]).startswith("Phát trên loa truyền thanh cơ sở xã Đầm Hà;")
    assert str(second["LOCATION"]) == "Xã Đầm Hà, cụm loa 3"
    assert str(second["URL"]) == "https://lawcast.example.vn/episodes/2"
    assert second.decoded("DTSTART") == datetime(2024, 6, 3, 6, 0, tzinfo=HCM)
    assert second.decoded("DTSTAMP") == datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    assert second.decoded("LAST-MODIFIED") == datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def test_deterministic(ics: bytes) -> None:
    assert build_calendar("Lịch phát sóng QNR1", make_events()) == ics
    assert build_calendar("Lịch phát sóng QNR1", list(reversed(make_events()))) == ics
    assert b"\r\n" in ics


def test_other_timezone_and_empty() -> None:
    cal = Calendar.from_ical(build_calendar("UTC", make_events(), timezone="UTC"))
    assert cal.walk("VEVENT")[0].decoded("DTSTART") == datetime(2024, 6, 2, 12, 30, tzinfo=UTC)
    empty = Calendar.from_ical(build_calendar("Trống", []))
    assert empty.walk("VEVENT") == []
    assert str(empty["X-WR-CALNAME"]) == "Trống"


def test_rejects_bad_events() -> None:
    event = make_events()[0]
    with pytest.raises(ValueError, match="status"):
        build_calendar("x", [CalendarEvent(**{**event.__dict__, "status": "DONE"})])
    with pytest.raises(ValueError, match="ends before"):
        build_calendar("x", [CalendarEvent(**{**event.__dict__, "end": event.start - timedelta(minutes=1)})])
