"""Feeds, episode pages and media over HTTP, from a real render through the real worker, on each tier.

Every feed is read with feedparser, podcastparser and lxml (podcastparser knows only the old
Podcasting 2.0 namespace URI, so podcast:* tags are read with lxml), and every URL a feed or a page
names is fetched.
"""

from __future__ import annotations

import io
import json
import re
import struct
import uuid
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import podcastparser
import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from lxml import etree, html

from tests.conftest import Stack
from tests.feeds.conftest import Show
from tests.helpers import Json, mp3_info, present

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
}
# The namespace UUID the Podcasting 2.0 guid spec publishes (its test vector is checked in test_podcast.py).
PODCAST_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def path_of(url: str | None) -> str:
    """The path (and query) of an absolute URL (which the test needs: None fails it), for the test client."""
    parts = urlsplit(present(url))
    assert parts.netloc in ("", "testserver"), url
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture(scope="module")
def rss(api: TestClient, show: Show) -> bytes:
    response = api.get(f"/feeds/{show.slug}.rss")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    return response.content


@pytest.fixture(scope="module")
def channel(rss: bytes) -> etree._Element:
    return present(etree.fromstring(rss).find("channel"))


@pytest.fixture(scope="module")
def item(channel: etree._Element, show: Show) -> etree._Element:
    (found,) = channel.xpath("item[guid=$g]", g=f"lawcast-production-{show.production_id}")
    return found


def test_rss_channel_with_feedparser_and_podcastparser(rss: bytes, show: Show) -> None:
    parsed = feedparser.parse(rss)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Tìm hiểu pháp luật"
    assert parsed.feed.subtitle == "Chuyên mục pháp luật hằng tuần."
    assert parsed.feed.language == "vi"
    assert parsed.feed.publisher_detail.email == "podcast@example.vn"
    assert parsed.feed.link == f"http://testserver/channels/{show.slug}"
    assert [e.id for e in parsed.entries] == [f"lawcast-production-{show.production_id}"]

    podcast = podcastparser.parse(f"http://testserver/feeds/{show.slug}.rss", io.BytesIO(rss))
    assert podcast["title"] == "Tìm hiểu pháp luật"
    assert podcast["description"] == "Chuyên mục pháp luật hằng tuần."
    assert podcast["cover_url"].startswith("http://testserver/covers/")
    assert podcast["type"] == "episodic"


def test_rss_channel_tags(channel: etree._Element, show: Show) -> None:
    from settings import get_settings

    settings = get_settings()
    assert channel.findtext("itunes:explicit", namespaces=NS) == "false"
    assert channel.find("itunes:image", NS).get("href") == channel.findtext("image/url")
    assert channel.find("itunes:category", NS).get("text") == "Government"
    assert channel.findtext("itunes:owner/itunes:email", namespaces=NS) == "podcast@example.vn"
    assert channel.findtext("itunes:owner/itunes:name", namespaces=NS) == settings.org_media
    assert channel.findtext("itunes:author", namespaces=NS) == f"{settings.org_legal}, {settings.org_media}"
    assert channel.findtext("itunes:type", namespaces=NS) == "episodic"
    expected_guid = str(uuid.uuid5(PODCAST_NAMESPACE, f"testserver/feeds/{show.slug}.rss"))
    assert channel.findtext("podcast:guid", namespaces=NS) == expected_guid
    locked = channel.find("podcast:locked", NS)
    assert (locked.text, locked.get("owner")) == ("yes", "podcast@example.vn")
    persons = {p.text: p.get("role") for p in channel.findall("podcast:person", NS)}
    assert persons == {settings.org_legal: "writer", settings.org_media: "producer"}
    assert channel.findtext("podcast:medium", namespaces=NS) == "podcast"
    built = parsedate_to_datetime(present(channel.findtext("lastBuildDate")))
    assert built <= datetime.now(built.tzinfo)


def png_size(data: bytes) -> tuple[int, int, int]:
    """(width, height, colour type) from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height, _depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, colour


def test_cover_is_a_served_square_rgb_png(api: TestClient, channel: etree._Element) -> None:
    url = present(channel.find("itunes:image", NS).get("href"))
    assert url.isascii() and url.endswith(".png")
    response = api.get(path_of(url))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert int(response.headers["content-length"]) == len(response.content)
    width, height, colour = png_size(response.content)
    assert width == height and 1400 <= width <= 3000
    assert colour == 2  # truecolour RGB, as Apple asks
    assert "immutable" in response.headers["cache-control"]
    assert api.head(path_of(url)).headers["content-length"] == response.headers["content-length"]
    assert api.get("/covers/0000000000000000000f.png").status_code == 404


def test_rss_item_enclosure_and_duration(api: TestClient, rss: bytes, item: etree._Element, show: Show, tmp_path: Path) -> None:
    enclosure = item.find("enclosure")
    url, length = present(enclosure.get("url")), int(present(enclosure.get("length")))
    assert url.isascii() and " " not in url
    assert enclosure.get("type") == "audio/mpeg"
    media = api.get(path_of(url))
    assert media.status_code == 200
    assert len(media.content) == length
    assert media.content == Path(_stored(show.output("podcast", "audio")["media_key"])).read_bytes()
    (tmp_path / "episode.mp3").write_bytes(media.content)
    measured = mp3_info(tmp_path / "episode.mp3").length
    duration = int(present(item.findtext("itunes:duration", namespaces=NS)))
    assert abs(duration - measured) <= 1.0
    assert item.find("guid").get("isPermaLink") == "false"
    assert item.findtext("link") == f"http://testserver/episodes/{show.production_id}"
    assert item.findtext("itunes:season", namespaces=NS) == "1"
    assert item.findtext("itunes:episode", namespaces=NS) == "2"
    assert item.findtext("podcast:season", namespaces=NS) == "1"
    assert item.findtext("podcast:episode", namespaces=NS) == "2"

    episode = podcastparser.parse("http://testserver/feed", io.BytesIO(rss))["episodes"][0]
    assert episode["guid"] == f"lawcast-production-{show.production_id}"
    assert episode["total_time"] == duration
    assert episode["number"] == 2
    assert [(e["url"], e["file_size"], e["mime_type"]) for e in episode["enclosures"]] == [(url, length, "audio/mpeg")]
    entry = feedparser.parse(rss).entries[0]
    assert entry.itunes_duration == str(duration)
    assert entry.enclosures[0].length == str(length)


def _stored(key: str) -> Path:
    from assets import storage

    return storage.path_for(key)


def test_transcripts_and_chapters_resolve(api: TestClient, item: etree._Element) -> None:
    transcripts = {t.get("type"): t for t in item.findall("podcast:transcript", NS)}
    assert set(transcripts) == {"text/vtt", "application/x-subrip", "text/plain"}
    assert {t.get("language") for t in transcripts.values()} == {"vi"}
    assert transcripts["text/vtt"].get("rel") == "captions"

    vtt = api.get(path_of(transcripts["text/vtt"].get("url")))
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT")
    cues = re.findall(r"^(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)", vtt.text, re.M)
    assert cues and all(start < end for start, end in cues)
    assert "miễn phí" in vtt.text

    srt = api.get(path_of(transcripts["application/x-subrip"].get("url")))
    assert srt.status_code == 200 and srt.headers["content-type"].startswith("application/x-subrip")
    assert srt.text.lstrip("\ufeff").startswith("1\n")
    assert len(re.findall(r"^\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d$", srt.text, re.M)) == len(cues)

    text = api.get(path_of(transcripts["text/plain"].get("url")))
    assert text.status_code == 200 and "Điều 2" in text.text

    chapters_tag = item.find("podcast:chapters", NS)
    assert chapters_tag.get("type") == "application/json+chapters"
    chapters = api.get(path_of(chapters_tag.get("url")))
    assert chapters.status_code == 200
    assert chapters.headers["content-type"].startswith("application/json+chapters")
    body = json.loads(chapters.content)
    assert body["version"].startswith("1.")
    starts = [c["startTime"] for c in body["chapters"]]
    assert len(starts) == 2 and starts == sorted(starts) and starts[0] >= 0
    assert all(isinstance(c["title"], str) and c["title"] for c in body["chapters"])


def test_loudspeaker_variant_is_an_alternate_enclosure(api: TestClient, item: etree._Element, show: Show) -> None:
    alternates = {present(a.get("title")): a for a in item.findall("podcast:alternateEnclosure", NS)}
    assert sorted(alternates) == ["loudspeaker", "radio"]
    alternate = alternates["loudspeaker"]
    assert alternate.get("type") == "audio/mpeg"
    source = present(alternate.find("podcast:source", NS).get("uri"))
    assert source.isascii()
    media = api.get(path_of(source))
    assert media.status_code == 200
    assert len(media.content) == int(present(alternate.get("length"))) == show.output("loudspeaker", "audio")["bytes"]
    assert 40_000 <= int(present(alternate.get("bitrate"))) <= 60_000  # 48 kbps CBR plus tags
    assert source != item.find("enclosure").get("url")


def test_atom_feed(api: TestClient, show: Show) -> None:
    response = api.get(f"/feeds/{show.slug}.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Tìm hiểu pháp luật"
    (entry,) = parsed.entries
    assert entry.link == f"http://testserver/episodes/{show.production_id}"
    hrefs = {(e.href, int(e.length)) for e in entry.enclosures}
    assert hrefs == {
        (f"http://testserver/media/{out['media_key']}", out["bytes"])
        for out in (show.output(profile, "audio") for profile in ("podcast", "radio", "loudspeaker"))
    }


def test_calendar_has_one_event_per_airing(api: TestClient, stack: Stack, show: Show, aired: list[Json]) -> None:
    airings = aired
    response = api.get(f"/feeds/{show.slug}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert sorted(str(e["UID"]) for e in events) == sorted(f"airing-{a['id']}@lawcast" for a in airings)
    by_uid = {str(e["UID"]): e for e in events}
    for airing in airings:
        event = by_uid[f"airing-{airing['id']}@lawcast"]
        # iCalendar times have whole seconds.
        assert event.decoded("DTSTART") == datetime.fromisoformat(airing["start"]).replace(microsecond=0)
        assert event.decoded("DTEND") == datetime.fromisoformat(airing["end"]).replace(microsecond=0)
        # The scheduler may place any approved podcast in the slot, not only this channel's own episodes.
        assert str(event["URL"]) == f"http://testserver/episodes/{airing['production_id']}"
        production = api.get(f"/api/productions/{airing['production_id']}", headers=stack.headers("producer")).json()
        assert str(event["SUMMARY"]) == production["title"]


def test_feed_http_validators_gzip_head_and_304(api: TestClient, show: Show) -> None:
    url = f"/feeds/{show.slug}.rss"
    plain = api.get(url, headers={"Accept-Encoding": "identity"})
    packed = api.get(url, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content)
    assert packed.content == plain.content
    etag = plain.headers["etag"]
    assert packed.headers["etag"] == etag and not etag.startswith("W/")
    assert plain.headers["cache-control"] == "public, max-age=60"
    assert plain.headers["vary"] == "Accept-Encoding"
    last_modified = plain.headers["last-modified"]

    head = api.head(url, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(plain.content)) and head.headers["etag"] == etag
    for conditional in ({"If-None-Match": etag}, {"If-Modified-Since": last_modified}, {"If-None-Match": f'"x", W/{etag}'}):
        again = api.get(url, headers=conditional)
        assert again.status_code == 304, conditional
        assert again.content == b"" and again.headers["etag"] == etag
    assert api.head(url, headers={"If-None-Match": etag}).status_code == 304
    assert api.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
    missing = api.get("/feeds/khong-co-kenh-nay.rss")
    assert missing.status_code == 404 and "kênh" in missing.json()["detail"]
    assert api.get(f"/feeds/{show.slug}.json").status_code == 404


def test_feed_bytes_come_from_data_not_the_clock(api: TestClient, show: Show) -> None:
    from feeds import service

    first = api.get(f"/feeds/{show.slug}.rss").content
    first_atom = api.get(f"/feeds/{show.slug}.atom").content
    service.feed_cache.clear()  # the next poll builds again, later
    assert api.get(f"/feeds/{show.slug}.rss").content == first
    assert api.get(f"/feeds/{show.slug}.atom").content == first_atom


def test_media_http(api: TestClient, show: Show) -> None:
    out = show.output("podcast", "audio")
    url, size = f"/media/{out['media_key']}", int(out["bytes"])
    full = api.get(url)
    assert full.status_code == 200 and len(full.content) == size
    assert full.headers["content-type"] == "audio/mpeg"
    assert full.headers["accept-ranges"] == "bytes"
    etag = full.headers["etag"]
    assert etag == f'"{out["sha256"][:32]}"'
    disposition = full.headers["content-disposition"]
    assert disposition.isascii() and disposition.startswith('inline; filename="') and disposition.endswith('.mp3"')

    head = api.head(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(size)

    probe = api.get(url, headers={"Range": "bytes=0-1"})  # Apple's probe
    assert probe.status_code == 206
    assert probe.headers["content-range"] == f"bytes 0-1/{size}"
    assert probe.content == full.content[:2] and probe.headers["content-length"] == "2"
    tail = api.get(url, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == full.content[-100:]

    multi = api.get(url, headers={"Range": "bytes=0-9,100-119"})
    assert multi.status_code == 206
    kind, _, boundary = multi.headers["content-type"].partition("; boundary=")
    assert kind == "multipart/byteranges" and boundary
    parts = [p for p in multi.content.split(b"--" + boundary.encode()) if p.strip(b"-\r\n")]
    assert len(parts) == 2
    for part, (start, end) in zip(parts, [(0, 9), (100, 119)], strict=True):
        head_block, _, payload = part.partition(b"\r\n\r\n")
        assert f"Content-Range: bytes {start}-{end}/{size}".encode() in head_block
        assert payload.removesuffix(b"\r\n") == full.content[start : end + 1]

    beyond = api.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    one_good = api.get(url, headers={"Range": f"bytes=0-1,{size + 10}-"})
    assert one_good.status_code == 206 and one_good.content == full.content[:2]
    for ignored in ("items=0-1", "bytes=5-2", "bytes=abc", "bytes=0-1,x-y"):
        answer = api.get(url, headers={"Range": ignored})
        assert answer.status_code == 200 and len(answer.content) == size, ignored
    assert api.get(url, headers={"Range": "bytes=0-1", "If-Range": '"other"'}).status_code == 200
    assert api.get(url, headers={"Range": "bytes=0-1", "If-Range": etag}).status_code == 206
    not_modified = api.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert api.get("/media/podcast/none/missing.mp3").status_code == 404


def test_episode_page(api: TestClient, show: Show) -> None:
    response = api.get(f"/episodes/{show.production_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = html.fromstring(response.content)
    assert page.get("lang") == "vi"
    assert page.xpath("//script") == []  # readable without JavaScript
    for landmark in ("header", "nav", "main", "footer"):
        assert page.xpath(f"//{landmark}"), landmark
    assert page.xpath("//a[@class='skip']/@href") == ["#noi-dung"] and page.xpath("//main/@id") == ["noi-dung"]
    assert [h.text_content() for h in page.xpath("//h1")] == ["Quyền được thông tin về pháp luật"]
    headings = [h.text_content() for h in page.xpath("//h2")]
    assert {"Nghe chương trình", "Văn bản nguồn", "Bản ghi đầy đủ", "Mục lục"} <= set(headings)

    (audio,) = page.xpath("//audio")
    assert audio.get("controls") is not None
    described = audio.get("aria-describedby")
    assert page.xpath(f"//figcaption[@id='{described}']")
    # libxml2 does not know <source> and <track> are void elements and nests them; search descendants.
    (source,) = audio.xpath(".//source")
    assert source.get("type") == "audio/mpeg"
    probe = api.get(source.get("src"), headers={"Range": "bytes=0-1"})
    assert probe.status_code == 206 and len(probe.content) == 2
    (track,) = audio.xpath(".//track")
    assert (track.get("kind"), track.get("srclang"), track.get("label")) == ("subtitles", "vi", "Tiếng Việt")
    captions = api.get(track.get("src"))
    assert captions.status_code == 200 and captions.text.startswith("WEBVTT")

    transcript = " ".join(page.xpath("//section[h2='Bản ghi đầy đủ']//p//text()"))
    assert "người dân được nghe bản tin pháp luật miễn phí" in transcript.lower()
    assert page.xpath("//section[h2='Bản ghi đầy đủ']//strong[text()='Chuyên gia pháp lý:']")

    law_links = page.xpath("//section[h2='Văn bản nguồn']//a/@href")
    assert f"/documents/{show.document_id}" in law_links
    anchor = f"/documents/{show.document_id}#dieu-khoan-{show.provision_id}"
    assert anchor in law_links
    law = api.get(f"/documents/{show.document_id}")
    assert law.status_code == 200
    law_page = html.fromstring(law.content)
    (provision,) = law_page.xpath(f"//*[@id='dieu-khoan-{show.provision_id}']")
    assert "Quyền được thông tin" in provision.text_content()
    assert law_page.xpath(f"//a[@href='/episodes/{show.production_id}']")
    assert api.get("/static/site.css").status_code == 200

    listing = html.fromstring(api.get(f"/channels/{show.slug}").content)
    assert listing.xpath(f"//main//a[@href='/episodes/{show.production_id}']")
    assert listing.xpath(f"//link[@rel='alternate' and @href='/feeds/{show.slug}.rss']")


def test_unpublished_pages_are_not_found(api: TestClient, stack: Stack) -> None:
    from tests.feeds.conftest import make_production

    document_id, production_id, _ = make_production(api, stack, "tim-hieu-phap-luat-h6")
    page = api.get(f"/episodes/{production_id}")
    assert page.status_code == 404
    assert html.fromstring(page.content).get("lang") == "vi"
    assert api.get("/episodes/999999").status_code == 404
    assert api.get(f"/documents/{document_id}").status_code == 404
