"""One-way layers: every import between playground modules, read with ``ast``, goes down.

Every module under playground/ is parsed (nothing is imported), and every import in it
counts, at module level or inside a function, ``import x`` and ``from x import y``,
relative ones resolved. The checks: no import cycle between modules; no import from a
lower layer to a higher one (:data:`LAYERS`); gradio only in the UI; and the UI imports
no command-line module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "playground"

# The layers, low to high, declared once: a module may import its own layer and those below
# it, never one above. "playground" stands for the foundation, the modules directly in
# playground/ (errors, messages, config checks, settings, network). Every package under
# playground/ must be named here (docs/architecture.md draws the same picture).
LAYERS = (
    "playground",  # the foundation: errors, messages, config checks, settings, network, allocator
    "playground.models",  # registry, prompt styles, sources, pinning, safety, loading
    "playground.serving",  # backends (local batching, remote server), token choice, records; the vLLM launcher
    "playground.engine",  # the door: one validated request, the stream of its text
    "playground.lessons",  # few-shot prompts, presets, deep links, answers side by side
    "playground.adapters",  # an adapter folder's files: its recipe and its model card
    "playground.data",  # corpora, and the examples (token ids, labels) cut from them
    "playground.evaluation",  # metrics, scoring, comparisons, the lessons scoreboard
    "playground.training",  # the LoRA trainer
    "playground.classroom",  # rooms, runs, the teacher's board and blind votes, kept in a database
    "playground.ui",  # the Gradio layer
)
# Imports from a lower layer to a higher one that are allowed anyway, as (importer, imported)
# module names, each with the reason. None today.
EXCEPTIONS: frozenset[tuple[str, str]] = frozenset()
GRADIO = ("gradio", "gradio_client")  # top-level packages only the UI layer may import
UI = "playground.ui"


@dataclass(frozen=True)
class Import:
    """One import statement's target, as a playground module or an outside package."""

    importer: str  # dotted name of the importing module
    target: str  # dotted name of the imported module (a playground module when internal)
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``: names types, never runs

    def __str__(self) -> str:
        kind = " (type only)" if self.type_only else ""
        return f"{self.importer}:{self.line} imports {self.target}{kind}"


def module_names(package: Path) -> dict[str, Path]:
    """Dotted name of every module under ``package`` (a package is its ``__init__``)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, type_only: bool = False):
    """Every import node under ``node`` (in functions and classes too), with whether it is type-only."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, type_only
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), True)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), type_only)
        else:
            yield from _walk(child, type_only)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The imports of module ``name`` (file ``path``); playground targets resolved to modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, type_only in _walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import module`` imports the module; ``from module import name`` the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for target in dict.fromkeys(targets):
            if target.split(".")[0] == "playground":
                while target not in modules and "." in target:  # ``import a.b.c`` of a name: its module
                    target = target.rpartition(".")[0]
            found.append(Import(name, target, node.lineno, type_only))
    return found


@cache
def all_imports(package: Path = PACKAGE) -> tuple[Import, ...]:
    """Every import of every module under ``package`` (read once per test session)."""
    modules = module_names(package)
    return tuple(i for name, path in modules.items() for i in imports_of(name, path, modules))


def internal(imports: tuple[Import, ...], package: Path = PACKAGE) -> list[Import]:
    """The imports of one playground module by another."""
    modules = module_names(package)
    return [i for i in imports if i.target in modules and i.target != i.importer]


def layer_of(module: str, package: Path = PACKAGE) -> str:
    """The declared layer of ``module``: the package under playground/ it is in, or the core."""
    parts = module.split(".")
    if len(parts) == 1 or (package / f"{parts[1]}.py").exists():
        return LAYERS[0]
    layer = ".".join(parts[:2])
    assert layer in LAYERS, f"{layer}: a package with no declared layer; add it to LAYERS in {__file__}"
    return layer


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph ``edges`` as [a, b, ..., a], or None (a depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def import_cycle(package: Path = PACKAGE, by_layer: bool = False) -> list[str] | None:
    """A cycle of run-time imports between playground modules (or their layers), or None.

    Imports under ``if TYPE_CHECKING:`` never run, so they make no cycle (they still count
    for the layers): serving/batching.py names models/loader.py's ``LoadedModel`` in its annotations only.
    """
    edges: dict[str, set[str]] = {}
    for i in internal(all_imports(package), package):
        if by_layer:
            edges.setdefault(layer_of(i.importer, package), set()).add(layer_of(i.target, package))
        elif not i.type_only:
            edges.setdefault(i.importer, set()).add(i.target)
    for node, targets in edges.items():
        targets.discard(node)
    return find_cycle(edges)


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """Imports from a lower layer to a higher one (not declared in :data:`EXCEPTIONS`)."""
    return [
        f"{i}: layer {layer_of(i.importer, package)} imports the higher layer {layer_of(i.target, package)}"
        for i in internal(all_imports(package), package)
        if LAYERS.index(layer_of(i.target, package)) > LAYERS.index(layer_of(i.importer, package))
        and (i.importer, i.target) not in EXCEPTIONS
    ]


def gradio_outside_ui(package: Path = PACKAGE) -> list[str]:
    """Imports of gradio by modules outside the UI layer."""
    return [
        str(i) for i in all_imports(package) if i.target.split(".")[0] in GRADIO and layer_of(i.importer, package) != UI
    ]


def is_command_line(path: Path) -> bool:
    """Whether the module has an ``if __name__ == "__main__":`` block."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            names = [node.test.left, *node.test.comparators]
            if any(isinstance(n, ast.Name) and n.id == "__name__" for n in names):
                return True
    return False


def ui_imports_of_command_lines(package: Path = PACKAGE) -> list[str]:
    """Imports by the UI of a module that is a command line (its job is a terminal's, not a page's)."""
    modules = module_names(package)
    return [
        str(i)
        for i in internal(all_imports(package), package)
        if layer_of(i.importer, package) == UI and is_command_line(modules[i.target])
    ]


def test_the_reader_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "playground"
    (pkg / "low").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("def f():\n    from ..high import b\n")
    (pkg / "high.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .low.a import f\n")
    (pkg / "low" / "c.py").write_text("import playground.low.a\nfrom . import a\nimport gradio as gr\n")
    found = {(i.importer, i.target, i.type_only) for i in all_imports(pkg)}
    assert ("playground.low.a", "playground.high", False) in found
    assert ("playground.high", "playground.low.a", True) in found
    assert ("playground.low.c", "playground.low.a", False) in found
    assert ("playground.low.c", "gradio", False) in found
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_import_cycle_between_modules() -> None:
    cycle = import_cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_between_layers() -> None:
    cycle = import_cycle(by_layer=True)
    assert cycle is None, "the layers import each other: " + " -> ".join(cycle or [])


def test_imports_go_down_the_layers() -> None:
    upward = upward_imports()
    assert not upward, "\n".join(upward)


def test_only_the_ui_imports_gradio() -> None:
    found = gradio_outside_ui()
    assert not found, "\n".join(found)


def test_the_ui_imports_no_command_line() -> None:
    found = ui_imports_of_command_lines()
    assert not found, "\n".join(found)


def test_every_package_has_a_layer() -> None:
    modules = module_names(PACKAGE)
    assert {layer_of(m) for m in modules} == set(LAYERS)
