"""Progress and cancellation of an audio render whose ffmpeg steps run side by side."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from studio.engine.render import _ffmpeg as ff

# Stage weights in the overall progress, roughly their share of wall time.
STAGES = {"mix": (0.0, 0.45), "encode": (0.45, 0.97)}

T = TypeVar("T")


class Progress:
    """Monotone 0..1 progress over stages whose parts run side by side; thread-safe."""

    def __init__(self, sink: Callable[[float], None] | None):
        self.sink = sink
        self.value = 0.0
        self.lock = threading.Lock()

    def set(self, value: float) -> None:
        """Report `value` unless progress is already past it (1.0 is always reported)."""
        with self.lock:
            value = max(self.value, min(1.0, value))
            if value > self.value or value == 1.0:
                self.value = value
                if self.sink is not None:
                    self.sink(value)

    def stage(self, name: str, weights: Sequence[float]) -> list[Callable[[float], None]]:
        """One progress callback per part of a stage; each part counts by its weight."""
        low, high = STAGES[name]
        total = sum(weights) or 1.0
        done = [0.0] * len(weights)

        def part(index: int) -> Callable[[float], None]:
            def report(fraction: float) -> None:
                done[index] = max(done[index], fraction)
                self.set(low + (high - low) * sum(d * w for d, w in zip(done, weights, strict=True)) / total)

            return report

        return [part(i) for i in range(len(weights))]


class MixProgress:
    """Progress of section mixes that start while lines still arrive: reported once the last section is known."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.done: dict[int, float] = {}
        self.weights: dict[int, int] = {}
        self.known = False
        self.lock = threading.Lock()

    def part(self, number: int, samples: int) -> Callable[[float], None]:
        """The progress callback of one section's mix."""
        with self.lock:
            self.weights[number] = max(1, samples)
            self.done[number] = 0.0

        def report(fraction: float) -> None:
            with self.lock:
                self.done[number] = max(self.done[number], fraction)
            self._send()

        return report

    def complete(self) -> None:
        """Every section is known; progress now counts."""
        self.known = True
        self._send()

    def _send(self) -> None:
        if not self.known:
            return
        with self.lock:
            total = sum(self.weights.values())
            share = sum(self.done[n] * w for n, w in self.weights.items()) / total if total else 1.0
        low, high = STAGES["mix"]
        self.progress.set(low + (high - low) * share)


@dataclass
class Crew:
    """The threads a render's ffmpeg steps run on (one per core); one failure or a cancel stops them all."""

    workers: ThreadPoolExecutor
    cancel: Callable[[], bool] | None = None
    failed: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> bool:
        """Whether running steps should stop: a sibling failed or the caller cancelled."""
        return self.failed.is_set() or (self.cancel is not None and self.cancel())

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Run a step side by side; its failure stops its siblings."""
        return self.workers.submit(_guarded, self.failed, function, *args)


def _guarded(failed: threading.Event, function: Callable[..., T], *args: Any) -> T:
    try:
        return function(*args)
    except BaseException:
        failed.set()
        raise


def step(args: list[str], cancel: Callable[[], bool] | None, on_progress: Callable[[float], None], total_s: float) -> str:
    """Run one ffmpeg step unless cancelled already; its progress ends at 1.0."""
    check_cancel(cancel)
    log = ff.run(args, cancel=cancel, on_progress=on_progress, total_s=total_s)
    on_progress(1.0)
    return log


def check_cancel(cancel: Callable[[], bool] | None) -> None:
    """Raise Cancelled if the caller asked to stop."""
    if cancel is not None and cancel():
        raise ff.Cancelled("audio render cancelled")


def no_progress(fraction: float) -> None:
    """A progress callback that reports nowhere."""
