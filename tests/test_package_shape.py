"""The shape of the package: no import cycles, no module too long to read.

A cycle (``config`` importing ``checks`` importing ``config``) means neither module can be
understood, tested or loaded without the other, and it hides in function-level and
``TYPE_CHECKING`` imports, so every ``import`` statement counts here, wherever it is.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "broadcaster"
MAX_LINES = 400
Graph = dict[str, dict[str, int]]  # module -> {module it imports: line of that import}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """Each package module that ``module`` imports, with the line, at any level of the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, known, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield from _known(submodule if submodule in known else base, known, node.lineno)


def _known(name: str, known: set[str], line: int) -> Iterator[tuple[str, int]]:
    """``name`` or its nearest enclosing module, if it is one of the package's."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    if name:
        yield name, line


def import_graph() -> Graph:
    found = modules()
    known = set(found)
    graph: Graph = {}
    for module, path in found.items():
        edges = graph.setdefault(module, {})
        for target, line in imported(module, path, known):
            if target != module:
                edges.setdefault(target, line)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The groups of modules that reach each other through imports (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while (member := stack.pop()) != module:
                group.append(member)
            group.append(module)
            if len(group) > 1:
                groups.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return groups


def described(group: list[str], graph: Graph) -> str:
    """Each import within the group, as ``a imports b (line n)``."""
    members = set(group)
    return "; ".join(
        f"{a} imports {b} (line {line})"
        for a in group
        for b, line in graph[a].items()
        if b in members
    )


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    """Nor through others: ``config`` -> ``checks`` -> ``channels`` -> ``render`` -> ``config``
    is a cycle too. (Code that only needs the config's models imports them from
    ``config_model`` or ``config_sections``; ``broadcaster.config`` is the loader.)"""
    graph = import_graph()
    found = [described(group, graph) for group in cycles(graph)]
    assert found == [], "import cycles:\n" + "\n".join(found)


def test_the_cycle_finder_sees_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    """The guard above would pass vacuously if it missed the imports cycles hide in."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from broadcaster.checks import Finding\n"
        "def load():\n"
        "    from . import checks\n"
    )
    (tmp_path / "config.py").write_text(source)
    known = {"broadcaster", "broadcaster.checks", "broadcaster.config"}
    edges = list(imported("broadcaster.config", tmp_path / "config.py", known))
    assert edges == [("broadcaster.checks", 3), ("broadcaster.checks", 5)]
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_module_is_over_400_lines() -> None:
    """Past a few hundred lines a module holds more than one job: split it by job."""
    root = PACKAGE.parent
    over = {
        str(path.relative_to(root)): lines
        for path in modules().values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert over == {}
