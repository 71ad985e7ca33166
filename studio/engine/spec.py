"""What a render takes, returns and reports, as plain data: the render pipeline's inputs and outputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studio.engine.text.scripts import ScriptLine


class BadScript(ValueError):
    """The script cannot make this product; the message says what the editor should change (never retried)."""


@dataclass(frozen=True)
class RenderSpec:
    """Everything a render needs, as plain data."""

    profile: str
    title: str
    album: str
    artist: str
    lines: Sequence[ScriptLine]
    lexicon: dict[str, str]
    rate: int = 165
    branding_left: str = "Sở Tư pháp"
    branding_right: str = "Trung tâm Truyền thông"
    logo_left: Path | None = None
    logo_right: Path | None = None
    max_duration_s: float | None = None  # a loudspeaker bulletin's limit; longer scripts fail as bad input
    section_cache_mb: int = 2048  # mixed and encoded sections kept for re-renders (least recently used go first)


@dataclass(frozen=True)
class RenderedFile:
    """One file a render produced."""

    kind: str
    path: Path
    extension: str
    duration_s: float | None = None
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None


@dataclass
class Report:
    """What the pipeline tells its caller as it goes."""

    progress: Callable[[float, str], None] = lambda fraction, stage: None
    cancel: Callable[[], bool] = lambda: False
    engines_used: set[str] = field(default_factory=set)
