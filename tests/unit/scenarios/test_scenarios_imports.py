"""The scenarios package's modules import each other in one direction: no cycle, lazy
imports inside functions included (read from the source with :mod:`ast`). The build
knows no catalog; the catalog uses the build; ``simulate`` sits above both."""

from __future__ import annotations

import ast
from pathlib import Path

import firesight.scenarios

PACKAGE = Path(firesight.scenarios.__file__).resolve().parent
PREFIX = "firesight.scenarios"


def _module_name(path: Path) -> str:
    return PREFIX if path.stem == "__init__" else f"{PREFIX}.{path.stem}"


def _edges(path: Path, modules: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found.update(n for n in names if n in modules)
    return found - {_module_name(path)}


def _graph(folder: Path) -> dict[str, set[str]]:
    paths = sorted(folder.glob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _edges(p, modules) for p in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as a path that returns to its start, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_scenarios_modules_import_without_a_cycle():
    graph = _graph(PACKAGE)
    assert f"{PREFIX}.build" in graph[f"{PREFIX}.families"]  # the catalog uses the build
    assert f"{PREFIX}.families" not in graph[f"{PREFIX}.build"]
    assert _cycle(graph) == [], " -> ".join(_cycle(graph))


def test_the_checker_finds_a_lazy_cycle(tmp_path):
    """Positive control: two modules importing each other, one inside a function."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "a.py").write_text("from firesight.scenarios.b import g\n")
    (folder / "b.py").write_text("def g():\n    from firesight.scenarios import a\n")
    graph = _graph(folder)
    assert graph == {f"{PREFIX}.a": {f"{PREFIX}.b"}, f"{PREFIX}.b": {f"{PREFIX}.a"}}
    assert _cycle(graph) in ([f"{PREFIX}.a", f"{PREFIX}.b", f"{PREFIX}.a"],
                             [f"{PREFIX}.b", f"{PREFIX}.a", f"{PREFIX}.b"])
