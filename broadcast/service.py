"""Broadcast service: channels (flushes, never commits)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.models import Channel
from errors import Conflict, NotFound


def create_channel(session: Session, *, slug: str, name: str, kind: str, description: str = "", owner_email: str = "") -> Channel:
    """Create a channel; slugs are unique."""
    if session.scalar(select(Channel).where(Channel.slug == slug)) is not None:
        raise Conflict(f"Kênh '{slug}' đã tồn tại (channel exists)")
    channel = Channel(slug=slug, name=name, kind=kind, description=description, owner_email=owner_email)
    session.add(channel)
    session.flush()
    return channel


def channel_by_slug(session: Session, slug: str) -> Channel:
    """A channel by slug, or 404."""
    channel = session.scalar(select(Channel).where(Channel.slug == slug))
    if channel is None:
        raise NotFound(f"Không có kênh '{slug}' (channel not found)")
    return channel


def ensure_channel(session: Session, *, slug: str, name: str, kind: str, description: str = "", owner_email: str = "") -> Channel:
    """The channel with this slug, created if missing."""
    channel = session.scalar(select(Channel).where(Channel.slug == slug))
    return channel or create_channel(session, slug=slug, name=name, kind=kind, description=description, owner_email=owner_email)
