"""ffmpeg-python glue shared by the builders: inputs, lavfi sources and compiled argument lists.

Builders describe their graphs with ffmpeg-python (0.2.0) and compile them to the argument list that
follows the executable. Three habits of that version are worked around here:
- equal nodes are merged, so a file opened twice would become one input: `open_input` keeps each its own;
- positional filter arguments are escaped twice: builders pass options by name only (ints excepted);
- it has no source filters, so lavfi inputs get their graph text from `source`, escaped the same way.
Filter options are escaped at both levels (option: \\ ' = :, graph: \\ ' [ ] , ;), which is what ffmpeg
unescapes; the equivalence tests in tests/studio/test_ffmpeg_graphs.py run the results through ffmpeg.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TypeAlias

import ffmpeg
from ffmpeg.nodes import FilterableStream, InputNode, OutputStream

# ffmpeg-python 0.2.0 has no type information; typings/ffmpeg declares the parts the builders use.
Stream: TypeAlias = FilterableStream
Output: TypeAlias = OutputStream

_OPTION_SPECIALS = "\\'=:"  # escaped inside an option value
_GRAPH_SPECIALS = "\\'[],;"  # escaped inside a filtergraph
_SERIAL = itertools.count()  # makes each input node distinct; ffmpeg-python never prints InputNode.args


def open_input(path: Path | str, **options: object) -> Stream:
    """One ffmpeg input (`-i`), with input options such as f= or framerate=; never merged with another."""
    kwargs = {"filename": str(path), **options}
    if "f" in kwargs:
        kwargs["format"] = kwargs.pop("f")
    return InputNode(ffmpeg.input.__name__, args=[next(_SERIAL)], kwargs=kwargs).stream()


def open_audio(path: Path | str, selector: str = "a") -> Stream:
    """A file's audio as a filter input; our own WAVs are named as such (the prober can take a float WAV of a steady tone for MPEG-TS)."""
    return (open_input(path, f="wav") if Path(path).suffix.lower() == ".wav" else open_input(path))[selector]


def _escape(text: object, specials: str) -> str:
    """Backslash before each special character (what ffmpeg-python does to filter options)."""
    escaped = str(text)
    for char in dict.fromkeys(specials):  # the backslash comes first in both sets, so it is not escaped twice
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def source(name: str, **options: object) -> str:
    """A source filter as lavfi graph text (the input of `-f lavfi -i`), escaped like ffmpeg-python's filters."""
    if not options:
        return name
    params = ":".join(f"{key}={_escape(value, _OPTION_SPECIALS)}" for key, value in options.items())
    return _escape(f"{name}={params}", _GRAPH_SPECIALS)


def null_output(stream: Stream) -> Output:
    """An output that only runs the stream (`-f null -`): for meters whose summary is in the log."""
    return ffmpeg.output(stream, "-", f="null")


def compile_args(*outputs: Output, before: tuple[str, ...] = ()) -> list[str]:
    """The argument list of these outputs (after the executable), global options in `before` first."""
    spec = outputs[0] if len(outputs) == 1 else ffmpeg.merge_outputs(*outputs)
    return [*before, *spec.get_args()]
