"""A station's upcoming airings as RSS 2.0, for players that take podcasts (pure; served by broadcast.pull)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedgen.feed import FeedGenerator

from assets.http import FEEDGEN_LOCK
from broadcast.station_wire import ScheduleItem
from textclean import clean_name

EPOCH = datetime.fromisoformat("2024-01-01T00:00:00+00:00")


def _line(value: object) -> str:
    """One line of XML-safe text: a control character in a stored title would make lxml refuse the whole feed."""
    return clean_name(str(value).replace("\x00", ""))


def build_station_rss(station_id: int, station_name: str, items: Sequence[ScheduleItem]) -> bytes:
    """RSS 2.0 with one item per scheduled airing; deterministic for the same items."""
    station_name = _line(station_name)
    fg = FeedGenerator()
    fg.title(f"Lịch phát - {station_name}")
    fg.link(href=f"/stations/{station_id}/schedule.json", rel="alternate")
    fg.description(f"Lịch phát thanh của trạm {station_name}")
    fg.language("vi")
    starts = [datetime.fromisoformat(str(item["start"])) for item in items]
    fg.lastBuildDate(max(starts) if starts else EPOCH)
    for item, start in zip(reversed(items), reversed(starts), strict=True):
        entry = fg.add_entry(order="append")
        entry.guid(f"lawcast-airing-{item['airing_id']}", permalink=False)
        entry.title(f"{start.isoformat()} {_line(item['title'])}")
        entry.description(f"Ưu tiên: {item['priority']}. {_line(item['reason'])}")
        entry.pubDate(start)
        entry.enclosure(str(item["media_url"]), str(item["bytes"]), "audio/mpeg")
    with FEEDGEN_LOCK:  # feedgen flips the process-wide locale while formatting dates
        return fg.rss_str(pretty=True)
