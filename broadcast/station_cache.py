"""Built station answers kept in memory, and the call that writers of schedules make to invalidate them.

A poll within LAWCAST_STATION_REVALIDATE_S of the last check of its answer is served from memory
(broadcast.pull). A service that writes what station answers are made of (airings, plans and their links to
occurrences, occurrences, slots, stations, areas, channels) calls `schedule_changed(session)`; once that
session commits, every cached answer is checked against the database at its next poll. Writes by other
processes (and by code that does not call it) show at the next check, as the revalidation window allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

from assets.answer_cache import AnswerCache
from assets.http import Representation

MAX_ENTRIES = 1024  # about 20 kB each with its gzip form; stations beyond this are rebuilt at their next poll
_CHANGED = "lawcast.station_answers_changed"


@dataclass(frozen=True)
class Pull:
    """A station's built answer, the token hash it was validated with, and when its content leaves the window (epoch s)."""

    rep: Representation
    station_id: int
    token_hash: str
    expires_at: float


pull_cache: AnswerCache[Pull] = AnswerCache(max_entries=MAX_ENTRIES)


def schedule_changed(session: Session) -> None:
    """This session writes what station answers show: when it commits, check every cached answer again."""
    if session.info.get(_CHANGED):
        return
    session.info[_CHANGED] = True
    # On this session only, and after the commit: a poll that reads the rows before the commit may not
    # cache them as current once the commit has invalidated.
    if not event.contains(session, "after_commit", _invalidate):
        event.listen(session, "after_commit", _invalidate)


def _invalidate(session: Session) -> None:
    # A rolled-back change leaves the flag set, and the next commit invalidates for nothing: harmless.
    if session.info.pop(_CHANGED, False):
        pull_cache.invalidate()
