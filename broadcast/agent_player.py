"""Run the station's player command for one media file, stopping it at a time limit when the slot ends.

The player command gets the file path appended, or substituted for `{path}`. It may also use
`{seconds}` (how long it may play), `{fade_start}` and `{fade}` (when and how long to fade out) to
honour a slot's overrun policy, for example `ffplay -nodisp -autoexit -t {seconds}
-af afade=t=out:st={fade_start}:d={fade} {path}`.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

FADE_S = 3.0
# A player told to stop at the slot end gets this long to fade and exit before it is terminated.
STOP_GRACE_S = 1.0


def player_command(player: str, path: Path, seconds: float) -> list[str]:
    """The argv of the player command for `path`, with its placeholders filled in."""
    fade = min(FADE_S, seconds)
    values = {
        "path": str(path),
        "seconds": f"{seconds:.3f}",
        "fade": f"{fade:.3f}",
        "fade_start": f"{max(seconds - fade, 0):.3f}",
    }
    parts = [part.format(**values) for part in shlex.split(player)]
    return parts if "{path}" in player else [*parts, str(path)]


def run_player(player: str, path: Path, seconds: float, limit: float | None) -> bool:
    """Play `path` for `seconds`; past `limit` (plus a grace to fade) the player is stopped. False if it failed."""
    process = subprocess.Popen(player_command(player, path, seconds))
    try:
        returncode = process.wait(timeout=None if limit is None else limit + STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        returncode = 0
    return returncode == 0
