"""Podcast RSS and Atom builders, checked by parsing the real output with feedparser, podcastparser and lxml."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from io import BytesIO
from typing import Any

import feedparser
import podcastparser
import pytest
from lxml import etree

from feeds.items import AlternateEnclosure, Episode, Person, ShowInfo, Transcript
from feeds.podcast import EMPTY_FEED_DATE, build_atom, build_podcast_rss, last_build, podcast_guid
from tests.helpers import present

ICT = timezone(timedelta(hours=7))
NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
}
BASE = "https://lawcast.example.vn"
FEED_URL = f"{BASE}/feeds/tim-hieu-phap-luat.rss"


def make_show(**changes: Any) -> ShowInfo:
    show = ShowInfo(
        slug="tim-hieu-phap-luat",
        title="Tìm hiểu pháp luật",
        description="Chuyên mục phổ biến, giáo dục pháp luật hằng tuần.",
        link=f"{BASE}/kenh/tim-hieu-phap-luat",
        feed_url=FEED_URL,
        image_url=f"{BASE}/static/cover.jpeg",
        author="Sở Tư pháp tỉnh Quảng Ninh",
        owner_name="Trung tâm Truyền thông tỉnh",
        owner_email="lienhe@example.vn",
        subcategory=None,
        persons=(
            Person("Sở Tư pháp tỉnh Quảng Ninh", role="writer", group="writing"),
            Person("Nguyễn Thị Lan", role="host", group="cast", href=f"{BASE}/nguoi/lan"),
        ),
    )
    return dataclasses.replace(show, **changes)


def make_episodes() -> list[Episode]:
    full = Episode(
        guid="lawcast-production-3",
        title="Luật Đất đai 2024: quyền của người sử dụng đất",
        description="Điều 26, khoản 1 và 2.",
        link=f"{BASE}/episodes/3",
        published_at=datetime(2024, 6, 3, 7, 0, tzinfo=ICT),
        updated_at=datetime(2024, 6, 4, 9, 30, 15, tzinfo=ICT),
        enclosure_url=f"{BASE}/media/p3/podcast.mp3",
        enclosure_length=1_234_567,
        enclosure_type="audio/mpeg",
        duration_s=754.6,
        transcripts=(
            Transcript(f"{BASE}/media/p3/podcast.vtt", "text/vtt"),
            Transcript(f"{BASE}/media/p3/podcast.srt", "application/x-subrip"),
            Transcript(f"{BASE}/media/p3/transcript.txt", "text/plain"),
        ),
        chapters_url=f"{BASE}/media/p3/chapters.json",
        alternates=(
            AlternateEnclosure(f"{BASE}/media/p3/loudspeaker.mp3", "audio/mpeg", 345_678, bitrate=48000, title="loudspeaker"),
            AlternateEnclosure(
                f"{BASE}/media/p3/radio.mp3", "audio/mpeg", 9_876_543, bitrate=320000, title="radio", default=True
            ),
        ),
        season=2,
        episode=7,
        image_url=f"{BASE}/media/p3/cover.jpeg",
    )
    plain = [
        Episode(
            guid=f"lawcast-production-{n}",
            title=f"Bản tin pháp luật số {n}",
            description="Nghị định 15/2020/NĐ-CP.",
            link=f"{BASE}/episodes/{n}",
            published_at=datetime(2024, 5, n, 6, 0, tzinfo=ICT),
            updated_at=datetime(2024, 5, n, 6, 5, tzinfo=ICT),
            enclosure_url=f"{BASE}/media/p{n}/loudspeaker.mp3",
            enclosure_length=100_000 * n,
            enclosure_type="audio/mpeg",
            duration_s=60.0 * n,
        )
        for n in (1, 2)
    ]
    return [plain[0], full, plain[1]]


@pytest.fixture(scope="module")
def rss() -> bytes:
    return build_podcast_rss(make_show(), make_episodes())


@pytest.fixture(scope="module")
def tree(rss: bytes) -> etree._Element:
    return etree.fromstring(rss)


def item(tree: etree._Element, guid: str) -> etree._Element:
    (found,) = tree.xpath("/rss/channel/item[guid=$g]", g=guid)
    return found


def test_podcast_guid_test_vector() -> None:
    assert podcast_guid("https://podnews.net/rss") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert podcast_guid("http://podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"


def test_feedparser_reads_channel_and_items(rss: bytes) -> None:
    parsed = feedparser.parse(rss)
    assert not parsed.bozo, parsed.get("bozo_exception")
    feed = parsed.feed
    assert feed.title == "Tìm hiểu pháp luật"
    assert feed.language == "vi"
    # feedparser 6 maps only "yes" to True ("false" gives None); the exact text is checked with lxml below.
    assert "itunes_explicit" in feed and not feed.itunes_explicit
    assert feed.image.href == f"{BASE}/static/cover.jpeg"
    assert feed.publisher_detail.email == "lienhe@example.vn"  # from itunes:owner
    assert [e.id for e in parsed.entries] == ["lawcast-production-3", "lawcast-production-2", "lawcast-production-1"]
    first = parsed.entries[0]
    assert first.enclosures[0].href == f"{BASE}/media/p3/podcast.mp3"
    assert first.enclosures[0].length == "1234567"
    assert first.enclosures[0].type == "audio/mpeg"
    assert first.itunes_duration == "755"
    assert parsed.entries[1].itunes_duration == "120"
    assert first.image.href == f"{BASE}/media/p3/cover.jpeg"


def test_podcastparser_reads_episodes(rss: bytes) -> None:
    parsed = podcastparser.parse(FEED_URL, BytesIO(rss))
    assert parsed["title"] == "Tìm hiểu pháp luật"
    assert parsed["cover_url"] == f"{BASE}/static/cover.jpeg"
    episodes = {e["guid"]: e for e in parsed["episodes"]}
    assert set(episodes) == {"lawcast-production-1", "lawcast-production-2", "lawcast-production-3"}
    full = episodes["lawcast-production-3"]
    assert full["total_time"] == 755
    assert full["number"] == 7
    assert [(e["url"], e["file_size"], e["mime_type"]) for e in full["enclosures"]] == [
        (f"{BASE}/media/p3/podcast.mp3", 1_234_567, "audio/mpeg")
    ]
    assert episodes["lawcast-production-1"]["enclosures"][0]["file_size"] == 100_000
    assert episodes["lawcast-production-1"]["total_time"] == 60
    assert full["published"] == int(datetime(2024, 6, 3, 0, 0, tzinfo=UTC).timestamp())


def test_itunes_tags(tree: etree._Element) -> None:
    channel = tree.find("channel")
    assert channel.findtext("itunes:explicit", namespaces=NS) == "false"
    assert channel.find("itunes:image", NS).get("href") == f"{BASE}/static/cover.jpeg"
    assert channel.find("image/url").text == f"{BASE}/static/cover.jpeg"
    assert channel.find("itunes:category", NS).get("text") == "Government"
    assert channel.findtext("itunes:owner/itunes:name", namespaces=NS) == "Trung tâm Truyền thông tỉnh"
    assert channel.findtext("itunes:owner/itunes:email", namespaces=NS) == "lienhe@example.vn"
    assert channel.findtext("itunes:type", namespaces=NS) == "episodic"
    assert channel.find("atom:link[@rel='self']", NS).get("href") == FEED_URL
    assert channel.findtext("link") == f"{BASE}/kenh/tim-hieu-phap-luat"
    full = item(tree, "lawcast-production-3")
    assert full.find("guid").get("isPermaLink") == "false"
    assert full.findtext("itunes:season", namespaces=NS) == "2"
    assert full.findtext("itunes:episode", namespaces=NS) == "7"
    assert full.find("itunes:image", NS).get("href") == f"{BASE}/media/p3/cover.jpeg"


def test_explicit_true_and_subcategory() -> None:
    show = make_show(explicit=True, category="Education", subcategory="Courses")
    channel = etree.fromstring(build_podcast_rss(show, [])).find("channel")
    assert channel.findtext("itunes:explicit", namespaces=NS) == "true"
    category = channel.find("itunes:category", NS)
    assert category.get("text") == "Education"
    assert category.find("itunes:category", NS).get("text") == "Courses"


def test_podcasting20_channel_tags(tree: etree._Element) -> None:
    channel = tree.find("channel")
    assert channel.findtext("podcast:guid", namespaces=NS) == podcast_guid(FEED_URL)
    locked = channel.find("podcast:locked", NS)
    assert (locked.text, locked.get("owner")) == ("yes", "lienhe@example.vn")
    persons = [(p.text, p.get("role"), p.get("group"), p.get("href")) for p in channel.findall("podcast:person", NS)]
    assert persons == [
        ("Sở Tư pháp tỉnh Quảng Ninh", "writer", "writing", None),
        ("Nguyễn Thị Lan", "host", "cast", f"{BASE}/nguoi/lan"),
    ]
    assert channel.findtext("podcast:medium", namespaces=NS) == "podcast"


def test_podcasting20_item_tags(tree: etree._Element) -> None:
    full = item(tree, "lawcast-production-3")
    transcripts = [(t.get("url"), t.get("type"), t.get("language"), t.get("rel")) for t in full.findall("podcast:transcript", NS)]
    assert transcripts == [
        (f"{BASE}/media/p3/podcast.vtt", "text/vtt", "vi", "captions"),
        (f"{BASE}/media/p3/podcast.srt", "application/x-subrip", "vi", "captions"),
        (f"{BASE}/media/p3/transcript.txt", "text/plain", "vi", None),
    ]
    chapters = full.find("podcast:chapters", NS)
    assert (chapters.get("url"), chapters.get("type")) == (f"{BASE}/media/p3/chapters.json", "application/json+chapters")
    assert full.findtext("podcast:season", namespaces=NS) == "2"
    assert full.findtext("podcast:episode", namespaces=NS) == "7"
    alternates = full.findall("podcast:alternateEnclosure", NS)
    assert [dict(a.attrib) for a in alternates] == [
        {"type": "audio/mpeg", "length": "345678", "bitrate": "48000", "title": "loudspeaker"},
        {"type": "audio/mpeg", "length": "9876543", "bitrate": "320000", "title": "radio", "default": "true"},
    ]
    assert [a.find("podcast:source", NS).get("uri") for a in alternates] == [
        f"{BASE}/media/p3/loudspeaker.mp3",
        f"{BASE}/media/p3/radio.mp3",
    ]
    plain = item(tree, "lawcast-production-1")
    assert plain.find("podcast:season", NS) is None
    assert plain.find("podcast:transcript", NS) is None
    assert plain.find("itunes:season", NS) is None


def test_last_build_date_is_newest_update(tree: etree._Element) -> None:
    episodes = make_episodes()
    assert last_build(episodes) == datetime(2024, 6, 4, 9, 30, 15, tzinfo=ICT)
    stamp = parsedate_to_datetime(present(tree.findtext("channel/lastBuildDate")))
    assert stamp == last_build(episodes)
    assert last_build([]) is None
    empty = etree.fromstring(build_podcast_rss(make_show(), []))
    assert parsedate_to_datetime(present(empty.findtext("channel/lastBuildDate"))) == EMPTY_FEED_DATE
    assert empty.find("channel/item") is None


def test_output_is_deterministic(rss: bytes) -> None:
    episodes = make_episodes()
    assert build_podcast_rss(make_show(), episodes) == rss
    assert build_podcast_rss(make_show(), list(reversed(episodes))) == rss
    assert build_atom(make_show(), episodes) == build_atom(make_show(), list(reversed(episodes)))


def test_non_ascii_enclosure_url_is_refused() -> None:
    bad = dataclasses.replace(make_episodes()[0], enclosure_url=f"{BASE}/media/bản tin.mp3")
    with pytest.raises(ValueError, match="ASCII"):
        build_podcast_rss(make_show(), [bad])
    alt = AlternateEnclosure(f"{BASE}/media/loa-phát.mp3", "audio/mpeg", 10)
    with pytest.raises(ValueError, match="ASCII"):
        build_podcast_rss(make_show(), [dataclasses.replace(make_episodes()[0], alternates=(alt,))])
    ok = dataclasses.replace(make_episodes()[0], enclosure_url=f"{BASE}/media/b%E1%BA%A3n%20tin.mp3")
    assert b"b%E1%BA%A3n%20tin.mp3" in build_podcast_rss(make_show(), [ok])


def test_naive_datetimes_are_utc() -> None:
    aware = make_episodes()[0]
    naive = dataclasses.replace(aware, published_at=datetime(2024, 4, 30, 23, 0), updated_at=datetime(2024, 4, 30, 23, 5))
    assert build_podcast_rss(make_show(), [naive]) == build_podcast_rss(make_show(), [aware])


def test_atom_feed() -> None:
    atom = build_atom(make_show(), make_episodes())
    parsed = feedparser.parse(atom)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Tìm hiểu pháp luật"
    assert parsed.feed.id == f"urn:uuid:{podcast_guid(FEED_URL)}"
    assert parsed.feed.updated_parsed[:6] == (2024, 6, 4, 2, 30, 15)
    self_link = next(link for link in parsed.feed.links if link.rel == "self")
    assert self_link.href == f"{BASE}/feeds/tim-hieu-phap-luat.atom"
    assert len(parsed.entries) == 3
    full = parsed.entries[0]
    assert full.title == "Luật Đất đai 2024: quyền của người sử dụng đất"
    assert full.link == f"{BASE}/episodes/3"
    assert full.id.startswith("urn:uuid:")
    assert len({e.id for e in parsed.entries}) == 3
    assert full.updated_parsed[:6] == (2024, 6, 4, 2, 30, 15)
    enclosures = [(e.href, e.type, e.length) for e in full.enclosures]
    assert enclosures == [
        (f"{BASE}/media/p3/podcast.mp3", "audio/mpeg", "1234567"),
        (f"{BASE}/media/p3/loudspeaker.mp3", "audio/mpeg", "345678"),
        (f"{BASE}/media/p3/radio.mp3", "audio/mpeg", "9876543"),
    ]
