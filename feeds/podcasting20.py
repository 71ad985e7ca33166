"""feedgen extension for the Podcasting 2.0 namespace (https://podcastindex.org/namespace/1.0).

feedgen 1.0.0 knows only the iTunes tags. Register this with
`fg.register_extension(EXTENSION_NAME, Podcasting20Extension, Podcasting20EntryExtension)`;
the name is not "podcast" because feedgen's own iTunes extension already uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.util import xml_elem
from lxml import etree

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
EXTENSION_NAME = "podcast20"
CHAPTERS_MIME = "application/json+chapters"
MEDIUMS = frozenset(
    {"podcast", "music", "video", "film", "audiobook", "newsletter", "blog", "publisher", "course"}
    | {f"{m}L" for m in ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog", "publisher", "course")}
    | {"mixed"}
)


def _tag(name: str) -> str:
    return f"{{{PODCAST_NS}}}{name}"


def _add(parent: etree._Element, name: str, text: str | None = None, **attrs: str | None) -> etree._Element:
    # Attributes are written in the order given and None is skipped, so output stays byte-stable.
    elem = xml_elem(_tag(name), parent)
    for key, value in attrs.items():
        if value is not None:
            elem.set(key, value)
    if text is not None:
        elem.text = text
    return elem


@dataclass(frozen=True)
class _Person:
    name: str
    role: str
    group: str
    href: str | None


class Podcasting20Extension(BaseExtension):
    """Channel-level podcast:guid, podcast:locked, podcast:person and podcast:medium."""

    def __init__(self) -> None:
        self._guid: str | None = None
        self._locked: tuple[bool, str | None] | None = None
        self._persons: list[_Person] = []
        self._medium: str | None = None

    def extend_ns(self) -> dict[str, str]:
        """Namespace prefix for the feed root."""
        return {"podcast": PODCAST_NS}

    def guid(self, value: str) -> None:
        """Set podcast:guid (a UUIDv5 of the feed URL)."""
        self._guid = value

    def locked(self, value: bool, owner: str | None = None) -> None:
        """Set podcast:locked: whether other hosting platforms may import this feed."""
        self._locked = (value, owner)

    def person(self, name: str, role: str = "host", group: str = "cast", href: str | None = None) -> None:
        """Add one podcast:person credit."""
        self._persons.append(_Person(name, role, group, href))

    def medium(self, value: str) -> None:
        """Set podcast:medium."""
        if value not in MEDIUMS:
            raise ValueError(f"unknown podcast:medium {value!r}")
        self._medium = value

    def extend_rss(self, rss_feed: etree._Element) -> etree._Element:
        """Append the podcast:* channel elements."""
        channel = rss_feed[0]
        if self._guid:
            _add(channel, "guid", self._guid)
        if self._locked is not None:
            value, owner = self._locked
            _add(channel, "locked", "yes" if value else "no", owner=owner)
        for p in self._persons:
            _add(channel, "person", p.name, role=p.role, group=p.group, href=p.href)
        if self._medium:
            _add(channel, "medium", self._medium)
        return rss_feed


@dataclass(frozen=True)
class _Alternate:
    url: str
    mime: str
    length: int
    bitrate: int | None
    title: str | None
    default: bool


class Podcasting20EntryExtension(BaseEntryExtension):
    """Item-level podcast:transcript, chapters, season, episode and alternateEnclosure."""

    def __init__(self) -> None:
        self._transcripts: list[dict[str, str | None]] = []
        self._chapters: str | None = None
        self._season: int | None = None
        self._episode: int | None = None
        self._alternates: list[_Alternate] = []

    def transcript(self, url: str, mime: str, language: str | None = None, rel: str | None = None) -> None:
        """Add a podcast:transcript; rel="captions" marks timed captions (VTT, SRT)."""
        self._transcripts.append({"url": url, "type": mime, "language": language, "rel": rel})

    def chapters(self, url: str) -> None:
        """Set podcast:chapters (JSON chapters file)."""
        self._chapters = url

    def season(self, number: int) -> None:
        """Set podcast:season."""
        self._season = int(number)

    def episode(self, number: int) -> None:
        """Set podcast:episode."""
        self._episode = int(number)

    def alternate_enclosure(
        self, url: str, mime: str, length: int, *, bitrate: int | None = None, title: str | None = None, default: bool = False
    ) -> None:
        """Add a podcast:alternateEnclosure with one podcast:source."""
        self._alternates.append(_Alternate(url, mime, int(length), bitrate, title, default))

    def extend_rss(self, entry: etree._Element) -> etree._Element:
        """Append the podcast:* item elements."""
        for t in self._transcripts:
            _add(entry, "transcript", **t)
        if self._chapters:
            _add(entry, "chapters", url=self._chapters, type=CHAPTERS_MIME)
        if self._season is not None:
            _add(entry, "season", str(self._season))
        if self._episode is not None:
            _add(entry, "episode", str(self._episode))
        for a in self._alternates:
            alt = _add(
                entry,
                "alternateEnclosure",
                type=a.mime,
                length=str(a.length),
                bitrate=None if a.bitrate is None else str(a.bitrate),
                title=a.title,
                default="true" if a.default else None,
            )
            _add(alt, "source", uri=a.url)
        return entry
