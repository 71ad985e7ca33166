"""An in-process cache of built answers (public feeds, station pulls), checked against the caller's data version.

Below every domain with the HTTP helpers: feeds.service and broadcast.station_cache each keep one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
REFRESH_TIMEOUT_S = 10.0  # a version check that takes longer than this is presumed lost


class AnswerCache(Generic[T]):
    """Built answers (feeds, station pulls) keyed by name, reused while the caller's data version is unchanged.

    Thread-safe and bounded (least recently used entries go first). Different keys build in
    parallel; concurrent requests for the same key build once. `recent` answers without asking
    for the version at all when the entry was validated less than `max_age_s` ago and nothing in
    this process has called `invalidate` since: changes made here show at once, changes made by
    other processes within `max_age_s`.
    """

    def __init__(self, max_entries: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._refreshing: dict[str, float] = {}

    @property
    def generation(self) -> int:
        """Bumped by every `invalidate`; read it before reading the version a later call passes."""
        return self._generation

    def get_or_build(self, key: str, version: str, build: Callable[[], T], *, generation: int | None = None) -> T:
        """The cached value for (key, version), calling build() only on a miss.

        `generation` is `self.generation` as read before the version was, so an invalidation that
        raced with reading the version still makes the next `recent` ask again.
        """
        with self._lock:
            generation = self._generation if generation is None else generation
            hit = self._lookup(key, version, generation)
            if hit is not None:
                return hit
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                hit = self._lookup(key, version, generation)
            if hit is not None:
                return hit
            value = build()
            with self._lock:
                self._store(key, _Entry(version, value, self.clock(), generation))
            return value

    def recent(self, key: str, max_age_s: float) -> T | None:
        """The cached value if it was validated within max_age_s and nothing was invalidated since.

        When it is due, one caller gets None and asks for the version; callers arriving meanwhile
        get the value they would have got a moment ago instead of all asking at once.
        """
        if max_age_s <= 0:
            return None
        entry = self._entries.get(key)  # a dict read is atomic; no lock on the hot path
        if entry is None:
            return None
        now = self.clock()
        if entry.generation == self._generation and now - entry.checked_at < max_age_s:
            return entry.value
        with self._lock:
            started = self._refreshing.get(key)
            if started is not None and now - started < REFRESH_TIMEOUT_S:
                return entry.value
            self._refreshing[key] = now
        return None

    def stale(self, key: str, max_stale_s: float) -> Stale[T] | None:
        """The last value built or validated for key, if that was at most max_stale_s ago (for answering during outages)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = max(0.0, self.clock() - entry.checked_at)
        return Stale(entry.value, age) if age <= max_stale_s else None

    def release(self, key: str) -> None:
        """The caller that `recent` sent to ask for the version is done (or failed)."""
        with self._lock:
            self._refreshing.pop(key, None)

    def invalidate(self) -> None:
        """Make every entry ask for its version again (content changed in this process)."""
        with self._lock:
            self._generation += 1

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()
            self._refreshing.clear()
            self._generation += 1

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, key: str, version: str, generation: int) -> T | None:
        entry = self._entries.get(key)
        if entry is None or entry.version != version:
            return None
        # Validated just now: refresh the stamp so `recent` may answer without asking again.
        self._entries[key] = _Entry(version, entry.value, self.clock(), generation)
        self._entries.move_to_end(key)
        return entry.value

    def _store(self, key: str, entry: _Entry[T]) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            evicted, _ = self._entries.popitem(last=False)
            self._key_locks.pop(evicted, None)


@dataclass(frozen=True)
class Stale(Generic[T]):
    """A cached value served although it could not be validated, and seconds since it last was."""

    value: T
    age_s: float


@dataclass(frozen=True)
class _Entry(Generic[T]):
    version: str
    value: T
    checked_at: float
    generation: int
