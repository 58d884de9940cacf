"""The package's layers run one way, with no import cycle and no oversized module.

Every ``import`` statement counts, including those inside functions; only imports under
``if TYPE_CHECKING:`` are exempt (they never run). The intended layers are written down in
``docs/architecture.md``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "dwa_rater"

#: The layers, lowest first (docs/architecture.md explains each). A module may import from its own
#: layer and the layers below; a new top-level module or package must be placed here.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "errors", "paths", "schemas", "embedded_model", "provenance", "rubric",
     "cache", "store", "resources", "prompts", "providers", "config", "catalog", "items",
     "embedding", "data"),
    ("llm",),
    ("rating", "runs", "batch_api", "testing", "reference"),
    ("agreement", "calibration", "review", "export", "inference", "benchmark"),
    ("indices", "demo"),
    ("report",),
    ("study",),
    ("api",),
    ("cli", "__main__"),
)  # fmt: skip

#: Packages that hold pure data work and must never reach up into presentation or orchestration.
LOWER = ("agreement", "calibration", "indices")
UPPER = ("report", "study", "cli")
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if _type_checking_block(child):
            continue
        yield child
        yield from _walk(child)


def imports_of(path: Path, modules: set[str], name: str | None = None) -> set[str]:
    """Project modules imported by ``path`` (resolved to the longest known module name)."""
    name = name or module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # ``from package import module`` imports that module; ``from module import name``
            # imports the module.
            targets = [
                f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix
                for alias in node.names
            ]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: imports_of(path, modules) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (iterative depth-first search)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            if state.get(child) == 1:
                return [*path[path.index(child) :], child]
            if not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_imports_run_down_the_layers_only() -> None:
    rank = {name: level for level, names in enumerate(LAYERS) for name in names}
    graph = import_graph()
    unplaced = sorted({_package_of(m) for m in graph} - set(rank))
    assert not unplaced, f"place these in LAYERS and docs/architecture.md: {unplaced}"
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if rank[_package_of(target)] > rank[_package_of(module)]
    )
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_lower_layers_never_import_report_study_or_cli() -> None:
    offending = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if _package_of(module) in LOWER
        for target in targets
        if _package_of(target) in UPPER
    )
    assert not offending, "\n".join(offending)


def test_no_module_over_the_size_limit() -> None:
    large = sorted(
        f"{path.relative_to(PACKAGE)}: {n} lines"
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    )
    assert not large, "\n".join(large)


def test_the_checker_sees_cycles_and_function_level_imports(tmp_path: Path) -> None:
    # The checker itself: a cycle through a function-level import is found, TYPE_CHECKING is not.
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}}
    assert find_cycle(graph) == ["p.a", "p.b", "p.c", "p.a"]
    assert find_cycle({"p.a": {"p.b"}, "p.b": set()}) is None
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import dwa_rater.report\n"
        "def f():\n    from dwa_rater import cli\n",
        encoding="utf-8",
    )
    known = {"dwa_rater.report", "dwa_rater.cli"}
    assert imports_of(source, known, name="dwa_rater.m") == {"dwa_rater.cli"}
