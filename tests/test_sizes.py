"""Sizes of the product code: no file over 400 lines and no function over 60, outside the bench and the migrations.

A file counts every line; a function counts from its `def` to its last line (docstring and comments
included, decorators not), nested functions and methods each on their own as well as inside their parent.
The product is what pyproject.toml declares, as for the import checks (the bench and the migrations are not).

Run on its own to list every offender: `.venv/bin/python -m tests.test_sizes`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_imports import ROOT, product_modules

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60

# What other work still has to split (issue 13), with its size when this check was written. These may only
# shrink: a new offender fails, so does a known one that grew, and so does an entry that is no longer over the
# limit, until it is removed here.
KNOWN_FILES: dict[str, int] = {}
KNOWN_FUNCTIONS: dict[str, int] = {}


def product_files() -> list[Path]:
    """Every product file, sorted."""
    return sorted(set(product_modules().values()))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def file_sizes() -> dict[str, int]:
    """Lines of every product file, by its path from the repository root."""
    return {_name(path): len(path.read_text(encoding="utf-8").splitlines()) for path in product_files()}


def _functions(node: ast.AST, prefix: str) -> list[tuple[str, int]]:
    """(qualified name, lines) of every function defined under `node`, nested ones included."""
    found: list[tuple[str, int]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            found.append((name, (child.end_lineno or child.lineno) - child.lineno + 1))
            found += _functions(child, f"{name}.")
        elif isinstance(child, ast.ClassDef):
            found += _functions(child, f"{prefix}{child.name}.")
        else:
            found += _functions(child, prefix)
    return found


def function_sizes() -> dict[str, int]:
    """Lines of every product function, keyed `path::Class.function` (the longest, where a name repeats)."""
    sizes: dict[str, int] = {}
    for path in product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, lines in _functions(tree, ""):
            key = f"{_name(path)}::{name}"
            sizes[key] = max(lines, sizes.get(key, 0))
    return sizes


def problems(sizes: dict[str, int], limit: int, known: dict[str, int], what: str) -> list[str]:
    """New offenders, known ones that grew, and known ones that no longer offend."""
    found = []
    for name, lines in sorted(sizes.items()):
        if lines <= limit:
            continue
        if name not in known:
            found.append(f"{name}: {lines} lines, over the limit of {limit} for a {what}: split it along its seams")
        elif lines > known[name]:
            found.append(f"{name}: {lines} lines, grew from the {known[name]} it had (known offenders may only shrink)")
    for name in sorted(known):
        if sizes.get(name, 0) <= limit:
            found.append(f"{name}: no longer over {limit} lines; remove it from the known offenders in tests/test_sizes.py")
    return found


def test_no_product_file_is_over_400_lines() -> None:
    assert problems(file_sizes(), MAX_FILE_LINES, KNOWN_FILES, "file") == []


def test_no_product_function_is_over_60_lines() -> None:
    assert problems(function_sizes(), MAX_FUNCTION_LINES, KNOWN_FUNCTIONS, "function") == []


def test_the_measures_count_what_they_say() -> None:
    source = "def outer():\n    '''Doc.'''\n\n    def inner():\n        return 1\n\n    return inner\n\n\nclass A:\n    def method(self):\n        pass\n"
    assert _functions(ast.parse(source), "") == [("outer", 7), ("outer.inner", 2), ("A.method", 2)]
    files = file_sizes()
    assert "broadcast/service.py" in files and "cli.py" in files and "studio/engine/render/audio.py" in files
    assert not any(name.startswith(("bench/", "migrations/", "tests/")) for name in files)
    assert "worker.py::ResendOnConnect.start" in function_sizes()


def test_known_offenders_may_only_shrink() -> None:
    known = {"a.py": 500, "b.py": 450}
    assert problems({"a.py": 480, "b.py": 450, "c.py": 100}, 400, known, "file") == []
    assert problems({"a.py": 501, "b.py": 399, "c.py": 401}, 400, known, "file") == [
        "a.py: 501 lines, grew from the 500 it had (known offenders may only shrink)",
        "c.py: 401 lines, over the limit of 400 for a file: split it along its seams",
        "b.py: no longer over 400 lines; remove it from the known offenders in tests/test_sizes.py",
    ]


def main() -> int:
    """Print every file and function over the limits, known or not; the exit status counts the problems."""
    for sizes, limit in ((file_sizes(), MAX_FILE_LINES), (function_sizes(), MAX_FUNCTION_LINES)):
        for name, lines in sorted(sizes.items(), key=lambda item: -item[1]):
            if lines > limit:
                print(f"{lines:5d}  {name}")
    found = problems(file_sizes(), MAX_FILE_LINES, KNOWN_FILES, "file")
    found += problems(function_sizes(), MAX_FUNCTION_LINES, KNOWN_FUNCTIONS, "function")
    for line in found:
        print(line)
    return len(found)


if __name__ == "__main__":
    raise SystemExit(main())
