"""Plain feed data: what the pure builders in feeds/ take. No ORM, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Person:
    """A podcast:person credit (role and group from the Podcasting 2.0 taxonomy)."""

    name: str
    role: str = "host"
    group: str = "cast"
    href: str | None = None


@dataclass(frozen=True)
class ShowInfo:
    """Channel-level podcast data."""

    slug: str
    title: str
    description: str
    link: str
    feed_url: str
    image_url: str
    author: str
    owner_name: str
    owner_email: str
    category: str = "Government"
    subcategory: str | None = None
    explicit: bool = False
    show_type: str = "episodic"
    locked: bool = True
    persons: tuple[Person, ...] = ()
    medium: str = "podcast"
    language: str = "vi"


@dataclass(frozen=True)
class Transcript:
    """A transcript or captions file: mime is text/vtt, application/x-subrip or text/plain."""

    url: str
    mime: str


@dataclass(frozen=True)
class AlternateEnclosure:
    """Another rendition of an episode's media (e.g. the loudspeaker or radio cut)."""

    url: str
    mime: str
    length: int
    bitrate: int | None = None
    title: str | None = None
    default: bool = False


@dataclass(frozen=True)
class Episode:
    """One feed item; datetimes should be timezone-aware (naive ones are read as UTC)."""

    guid: str
    title: str
    description: str
    link: str
    published_at: datetime
    updated_at: datetime
    enclosure_url: str
    enclosure_length: int
    enclosure_type: str
    duration_s: float
    transcripts: tuple[Transcript, ...] = ()
    chapters_url: str | None = None
    alternates: tuple[AlternateEnclosure, ...] = ()
    season: int | None = None
    episode: int | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class CalendarEvent:
    """One scheduled airing as a calendar event; naive datetimes are read as UTC."""

    uid: str
    summary: str
    description: str
    start: datetime
    end: datetime
    location: str | None = None
    url: str | None = None
    status: str = "CONFIRMED"
    last_modified: datetime | None = None
