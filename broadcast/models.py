"""Broadcast rows: channels (shows) that productions are published on."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, utcnow


class ChannelKind(enum.StrEnum):
    """Where a channel's content goes."""

    radio = "radio"
    tv = "tv"
    loudspeaker = "loudspeaker"
    podcast = "podcast"
    web = "web"


class Channel(Base):
    """A radio or TV channel, the loudspeaker network, or a podcast show."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
