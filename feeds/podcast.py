"""Pure podcast feed builders: plain show/episode data in, RSS 2.0 (iTunes + Podcasting 2.0) or Atom bytes out.

Output depends only on the input (no clock), so the same data always gives the same bytes and
HTTP ETags stay put. Episodes are ordered newest first whatever order they are passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from assets.http import FEEDGEN_LOCK
from feeds.items import Episode, ShowInfo
from feeds.podcasting20 import EXTENSION_NAME, Podcasting20EntryExtension, Podcasting20Extension
from timeutil import aware_utc

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
# lastBuildDate / atom:updated of a feed with no episodes: fixed, so an empty feed is stable too.
EMPTY_FEED_DATE = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "lawcast"
CAPTION_MIMES = frozenset({"text/vtt", "application/x-subrip", "application/srt"})


def podcast_guid(feed_url: str) -> str:
    """podcast:guid of a feed: UUIDv5 of the URL without its scheme and trailing slashes."""
    url = feed_url.strip()
    if "://" in url:
        url = url.split("://", 1)[1]
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, url.rstrip("/")))


def last_build(episodes: Sequence[Episode]) -> datetime | None:
    """When the feed's content last changed: the newest updated_at, or None for no episodes."""
    return max((aware_utc(e.updated_at) for e in episodes), default=None)


def build_podcast_rss(show: ShowInfo, episodes: Sequence[Episode]) -> bytes:
    """RSS 2.0 podcast feed with iTunes and Podcasting 2.0 tags."""
    for ep in episodes:
        _check_media_urls(ep)
    fg = _rss_channel(show, last_build(episodes) or EMPTY_FEED_DATE)
    for ep in _newest_first(episodes):
        _rss_item(fg.add_entry(order="append"), ep, show.language)
    with FEEDGEN_LOCK:
        return fg.rss_str(pretty=True)


def build_atom(show: ShowInfo, episodes: Sequence[Episode]) -> bytes:
    """Atom feed of the same episodes, each with rel=enclosure links."""
    for ep in episodes:
        _check_media_urls(ep)
    feed_id = podcast_guid(show.feed_url)
    fg = FeedGenerator()
    fg.register_extension("atom_enclosures", BaseExtension, AtomEnclosuresEntryExtension, rss=False)
    fg.id(f"urn:uuid:{feed_id}")
    fg.title(show.title)
    fg.subtitle(show.description)
    fg.author(name=show.author)
    fg.link(href=show.link, rel="alternate")
    if show.feed_url != show.link:
        fg.link(href=show.feed_url, rel="alternate", type="application/rss+xml")
    if atom_url := _atom_url(show.feed_url):
        fg.link(href=atom_url, rel="self", type="application/atom+xml")
    fg.logo(show.image_url)
    fg.language(show.language)
    fg.generator(GENERATOR)
    fg.updated(aware_utc(last_build(episodes) or EMPTY_FEED_DATE))
    for ep in _newest_first(episodes):
        _atom_entry(fg.add_entry(order="append"), ep, feed_id)
    return fg.atom_str(pretty=True)


class ItunesFixesExtension(BaseExtension):
    """Channel itunes:image and itunes:explicit as Apple wants them.

    feedgen's own setters drop .jpeg artwork and only write explicit as yes/no/clean.
    """

    def __init__(self) -> None:
        self.image_url: str | None = None
        self.explicit: bool | None = None

    def extend_ns(self) -> dict[str, str]:
        """Namespace prefix for the feed root."""
        return {"itunes": ITUNES_NS}

    def extend_rss(self, rss_feed: etree._Element) -> etree._Element:
        """Append itunes:image and itunes:explicit to the channel."""
        channel = rss_feed[0]
        if self.image_url:
            xml_elem(f"{{{ITUNES_NS}}}image", channel, href=self.image_url)
        if self.explicit is not None:
            xml_elem(f"{{{ITUNES_NS}}}explicit", channel).text = "true" if self.explicit else "false"
        return rss_feed


class ItunesFixesEntryExtension(BaseEntryExtension):
    """Item itunes:image that accepts .jpeg (feedgen raises on it)."""

    def __init__(self) -> None:
        self.image_url: str | None = None

    def extend_rss(self, entry: etree._Element) -> etree._Element:
        """Append itunes:image to the item."""
        if self.image_url:
            xml_elem(f"{{{ITUNES_NS}}}image", entry, href=self.image_url)
        return entry


class AtomEnclosuresEntryExtension(BaseEntryExtension):
    """Atom rel=enclosure links; feedgen 1.0.0 writes entry links without rel, type or length."""

    def __init__(self) -> None:
        self._links: list[dict[str, str]] = []

    def add(self, href: str, mime: str, length: int, title: str | None = None) -> None:
        """Add one enclosure link."""
        link = {"href": href, "rel": "enclosure", "type": mime, "length": str(length)}
        self._links.append(link | ({"title": title} if title else {}))

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        """Append the enclosure links to the entry."""
        for link in self._links:
            # feedgen builds Atom elements without a namespace (the root carries xmlns), so match it.
            xml_elem("link", entry, **link)
        return entry


def _rss_channel(show: ShowInfo, built: datetime) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("podcast", atom=False)
    fg.register_extension("itunes_fixes", ItunesFixesExtension, ItunesFixesEntryExtension, atom=False)
    fg.register_extension(EXTENSION_NAME, Podcasting20Extension, Podcasting20EntryExtension, atom=False)
    fg.title(show.title)
    fg.description(show.description)
    # feedgen takes the channel <link> from the last link added, so the self link goes first.
    fg.link(href=show.feed_url, rel="self", type="application/rss+xml")
    fg.link(href=show.link, rel="alternate")
    fg.language(show.language)
    fg.image(url=show.image_url, title=show.title, link=show.link)
    fg.generator(GENERATOR)
    fg.lastBuildDate(aware_utc(built))

    fg.podcast.itunes_author(show.author)
    fg.podcast.itunes_owner(name=show.owner_name, email=show.owner_email)
    fg.podcast.itunes_category(cat=show.category, **({"sub": show.subcategory} if show.subcategory else {}))
    fg.podcast.itunes_type(show.show_type)
    fg.itunes_fixes.image_url = show.image_url
    fg.itunes_fixes.explicit = show.explicit

    p20: Podcasting20Extension = getattr(fg, EXTENSION_NAME)
    p20.guid(podcast_guid(show.feed_url))
    p20.locked(show.locked, owner=show.owner_email)
    for person in show.persons:
        p20.person(person.name, role=person.role, group=person.group, href=person.href)
    p20.medium(show.medium)
    return fg


def _rss_item(fe: FeedEntry, ep: Episode, language: str) -> None:
    fe.guid(ep.guid, permalink=False)
    fe.title(ep.title)
    fe.description(ep.description)
    fe.link(href=ep.link, rel="alternate")
    fe.published(aware_utc(ep.published_at))
    fe.updated(aware_utc(ep.updated_at))
    fe.enclosure(url=ep.enclosure_url, length=str(ep.enclosure_length), type=ep.enclosure_type)
    fe.podcast.itunes_duration(str(round(ep.duration_s)))
    if ep.season is not None:
        fe.podcast.itunes_season(ep.season)
    if ep.episode is not None:
        fe.podcast.itunes_episode(ep.episode)
    fe.itunes_fixes.image_url = ep.image_url

    p20: Podcasting20EntryExtension = getattr(fe, EXTENSION_NAME)
    for t in ep.transcripts:
        p20.transcript(t.url, t.mime, language=language, rel="captions" if t.mime in CAPTION_MIMES else None)
    if ep.chapters_url:
        p20.chapters(ep.chapters_url)
    if ep.season is not None:
        p20.season(ep.season)
    if ep.episode is not None:
        p20.episode(ep.episode)
    for alt in ep.alternates:
        p20.alternate_enclosure(alt.url, alt.mime, alt.length, bitrate=alt.bitrate, title=alt.title, default=alt.default)


def _atom_entry(fe: FeedEntry, ep: Episode, feed_id: str) -> None:
    # Atom ids must be URIs; our guids are bare strings, so derive a stable URN per (feed, episode).
    fe.id(f"urn:uuid:{uuid.uuid5(uuid.UUID(feed_id), ep.guid)}")
    fe.title(ep.title)
    fe.summary(ep.description)
    fe.published(aware_utc(ep.published_at))
    fe.updated(aware_utc(ep.updated_at))
    fe.link(href=ep.link, rel="alternate")
    enclosures: AtomEnclosuresEntryExtension = fe.atom_enclosures
    enclosures.add(ep.enclosure_url, ep.enclosure_type, ep.enclosure_length)
    for alt in ep.alternates:
        enclosures.add(alt.url, alt.mime, alt.length, title=alt.title)


def _newest_first(episodes: Sequence[Episode]) -> list[Episode]:
    return sorted(episodes, key=lambda e: (aware_utc(e.published_at), e.guid), reverse=True)


def _atom_url(feed_url: str) -> str | None:
    return feed_url[: -len(".rss")] + ".atom" if feed_url.endswith(".rss") else None


def _check_media_urls(ep: Episode) -> None:
    urls = [ep.enclosure_url, *(a.url for a in ep.alternates), *(t.url for t in ep.transcripts)]
    urls += [u for u in (ep.chapters_url, ep.image_url) if u]
    for url in urls:
        if not url.isascii() or any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in url):
            raise ValueError(f"media URLs in feeds must be ASCII without spaces (percent-encode them): {url!r}")
