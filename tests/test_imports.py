"""The import structure: no cycles between files or packages, and the media engine never reaches into the app.

Every `import` in every product file counts, wherever it stands: at module level, inside a function,
or under `if TYPE_CHECKING:`. A deferred import hides a cycle from Python but not from the reader.

Run on its own to print the graph's problems: `.venv/bin/python -m tests.test_imports`.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PRODUCT = {"migrations"}  # Alembic scripts run on their own and import the models on purpose

# The pure media engine: text, speech, rendering.
ENGINE = "studio.engine"
ENGINE_PREFIXES = ("studio.engine",)
# Plain helpers any layer may use: they import nothing of the app and nothing of a web framework.
BASE_MODULES = {"textclean", "timeutil", "errors"}
# Third-party packages of the web app and the database: the engine takes plain data and files instead.
APP_LIBRARIES = {"fastapi", "starlette", "sqlalchemy", "celery", "kombu", "alembic", "pydantic_settings"}

# What other work still has to break (issue 13). These lists may only shrink: a new cycle, or a known one
# that grew, fails; so does an entry that is gone, until it is removed here.
KNOWN_FILE_CYCLES: list[set[str]] = []
KNOWN_PACKAGE_CYCLES: list[set[str]] = []
KNOWN_ENGINE_IMPORTS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Edge:
    """One import statement from one product module to another (or to a third-party top-level name)."""

    source: str
    target: str
    line: int


def product_modules() -> dict[str, Path]:
    """Dotted name -> file of every product module, as pyproject.toml declares them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    modules = {name: ROOT / f"{name}.py" for name in config["py-modules"]}
    tops = {name.split(".")[0] for name in config["packages"]} - NOT_PRODUCT
    for top in sorted(tops):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if not level:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The deepest product module a dotted name lies in, if any."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterable[Edge]:
    """Every import in one file, product targets resolved to modules, others as their top-level name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            # `from pkg import sub` imports the submodule when there is one, else a name of pkg itself.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            target = _known(name, modules) or name.split(".")[0]
            if target != module:
                yield Edge(module, target, node.lineno)


def package_of(module: str, modules: dict[str, Path]) -> str:
    """A module's package: its top-level directory (the engine counts as its own), or itself when a top-level file."""
    if is_engine(module):
        return ENGINE
    top = module.split(".")[0]
    return top if modules[top].name == "__init__.py" else module


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def is_engine(module: str) -> bool:
    """Whether a module belongs to the pure media engine."""
    return module.startswith(ENGINE_PREFIXES)


@lru_cache(maxsize=1)
def all_edges() -> tuple[dict[str, Path], list[Edge]]:
    """The product modules and every import between them or out of them (read once per run)."""
    modules = product_modules()
    edges = [edge for module, path in modules.items() for edge in imports_of(module, path, modules)]
    return modules, edges


def file_graph(modules: dict[str, Path], edges: list[Edge]) -> dict[str, set[str]]:
    """Module -> product modules it imports."""
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for edge in edges:
        if edge.target in modules:
            graph[edge.source].add(edge.target)
    return graph


def package_graph(modules: dict[str, Path], edges: list[Edge]) -> dict[str, set[str]]:
    """Package -> packages it imports (a top-level file is a package of its own)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module in modules:
        graph[package_of(module, modules)]
    for edge in edges:
        if edge.target in modules:
            source, target = package_of(edge.source, modules), package_of(edge.target, modules)
            if source != target:
                graph[source].add(target)
    return graph


def engine_violations(modules: dict[str, Path], edges: list[Edge]) -> list[Edge]:
    """Imports from the engine into the app: any product module outside the engine and the base, or a web/DB library."""
    bad = []
    for edge in edges:
        if not is_engine(edge.source):
            continue
        if edge.target in modules:
            if not is_engine(edge.target) and edge.target not in BASE_MODULES and edge.target != "studio":
                bad.append(edge)
        elif edge.target in APP_LIBRARIES:
            bad.append(edge)
    return bad


def _show(found: list[set[str]], edges: list[Edge], modules: dict[str, Path], by_package: bool = False) -> str:
    """Each cycle, and the import statements that make it (file:line -> target)."""
    lines = []
    for component in found:
        lines.append("cycle: " + " <-> ".join(sorted(component)))
        shown = set()
        for edge in edges:
            if edge.target not in modules:
                continue
            ends = (
                (package_of(edge.source, modules), package_of(edge.target, modules)) if by_package else (edge.source, edge.target)
            )
            if ends[0] != ends[1] and ends[0] in component and ends[1] in component and edge not in shown:
                shown.add(edge)
                lines.append(f"    {edge.source}:{edge.line} -> {edge.target}")
    return "\n".join(lines)


def _new(found: list[set[str]], known: list[set[str]]) -> list[set[str]]:
    """Cycles not inside one of the known ones (a known cycle may shrink or split, never grow)."""
    return [component for component in found if not any(component <= allowed for allowed in known)]


def test_no_import_cycles_between_files() -> None:
    modules, edges = all_edges()
    found = cycles(file_graph(modules, edges))
    print(_show(found, edges, modules) or "no cycles between files")
    new = _new(found, KNOWN_FILE_CYCLES)
    assert not new, "new import cycles between files:\n" + _show(new, edges, modules)


def test_no_import_cycles_between_packages() -> None:
    modules, edges = all_edges()
    found = cycles(package_graph(modules, edges))
    print(_show(found, edges, modules, by_package=True) or "no cycles between packages")
    new = _new(found, KNOWN_PACKAGE_CYCLES)
    assert not new, "new import cycles between packages:\n" + _show(new, edges, modules, by_package=True)


def test_known_cycles_are_still_there() -> None:
    """A known cycle that is gone must leave the list, so the list only ever shrinks."""
    modules, edges = all_edges()
    files, packages = cycles(file_graph(modules, edges)), cycles(package_graph(modules, edges))
    stale: list[object] = [c for c in KNOWN_FILE_CYCLES if not any(len(c & found) > 1 for found in files)]
    stale += [c for c in KNOWN_PACKAGE_CYCLES if not any(len(c & found) > 1 for found in packages)]
    stale += sorted(KNOWN_ENGINE_IMPORTS - {(e.source, e.target) for e in engine_violations(modules, edges)})
    assert not stale, f"these known problems are gone; remove them from the lists in this file: {stale}"


def test_engine_imports_nothing_of_the_app() -> None:
    modules, edges = all_edges()
    assert any(is_engine(module) for module in modules), "no engine modules found: update ENGINE_PREFIXES"
    bad = [e for e in engine_violations(modules, edges) if (e.source, e.target) not in KNOWN_ENGINE_IMPORTS]
    assert not bad, "the engine imports the app:\n" + "\n".join(f"    {e.source}:{e.line} -> {e.target}" for e in bad)


def test_the_walker_sees_deferred_and_type_checking_imports(tmp_path: Path) -> None:
    """A function-level import and a TYPE_CHECKING import both make an edge, and a two-file cycle is found."""
    (tmp_path / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from . import c\n")
    (tmp_path / "pkg" / "c.py").write_text("import a\n")
    modules = {"a": tmp_path / "a.py", "pkg": tmp_path / "pkg" / "__init__.py"}
    modules |= {"pkg.b": tmp_path / "pkg" / "b.py", "pkg.c": tmp_path / "pkg" / "c.py"}
    edges = [edge for module, path in modules.items() for edge in imports_of(module, path, modules)]
    assert {(e.source, e.target) for e in edges if e.target in modules} == {("a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "a")}
    assert cycles(file_graph(modules, edges)) == [{"a", "pkg.b", "pkg.c"}]
    assert cycles(package_graph(modules, edges)) == [{"a", "pkg"}]


def main() -> int:
    """Print every cycle and every engine -> app import; exit 1 when there is any."""
    modules, edges = all_edges()
    files, packages = cycles(file_graph(modules, edges)), cycles(package_graph(modules, edges))
    bad = engine_violations(modules, edges)
    print("== cycles between files\n" + (_show(files, edges, modules) or "none"))
    print("== cycles between packages\n" + (_show(packages, edges, modules, by_package=True) or "none"))
    print("== engine -> app\n" + ("\n".join(f"    {e.source}:{e.line} -> {e.target}" for e in bad) or "none"))
    return 1 if files or packages or bad else 0


if __name__ == "__main__":
    sys.exit(main())
