"""Broadcast API: channels."""

from __future__ import annotations

from fastapi import APIRouter, status

from auth import Scheduler
from broadcast import service
from broadcast.schemas import ChannelIn, ChannelOut
from db import SessionDep

router = APIRouter(prefix="/api", tags=["broadcast"])


@router.post("/channels", status_code=status.HTTP_201_CREATED, response_model=ChannelOut)
def create_channel(body: ChannelIn, session: SessionDep, user: Scheduler) -> ChannelOut:
    """Create a channel or podcast show."""
    channel = service.create_channel(session, **body.model_dump())
    session.commit()
    return ChannelOut.model_validate(channel)
