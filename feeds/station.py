"""Station feed: a station's upcoming airings as RSS, for players that take podcasts (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedgen.feed import FeedGenerator

from feeds.podcast import FEEDGEN_LOCK

EPOCH = datetime.fromisoformat("2024-01-01T00:00:00+00:00")


def build_station_rss(station_id: int, station_name: str, items: Sequence[dict[str, object]]) -> bytes:
    """RSS 2.0 with one item per scheduled airing; deterministic for the same items."""
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
        entry.title(f"{start.isoformat()} {item['title']}")
        entry.description(f"Ưu tiên: {item['priority']}. {item['reason']}")
        entry.pubDate(start)
        entry.enclosure(str(item["media_url"]), str(item["bytes"]), "audio/mpeg")
    with FEEDGEN_LOCK:  # feedgen flips the process locale while formatting dates
        return fg.rss_str(pretty=True)
