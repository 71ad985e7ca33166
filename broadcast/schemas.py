"""Request and response bodies of the broadcast API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from broadcast.models import ChannelKind


class ChannelIn(BaseModel):
    """A new channel or show."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,78}$")
    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    description: str = ""
    owner_email: str = ""


class ChannelOut(ChannelIn):
    """A stored channel."""

    model_config = ConfigDict(from_attributes=True)

    id: int
