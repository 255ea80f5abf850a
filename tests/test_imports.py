"""The import graph of playground/: no circle, and the UI layer reaches models only through the engine.

The imports are those tests/test_layers.py reads from the source (every ``import`` and
``from ... import``, at any depth of a module). Here those under ``if TYPE_CHECKING:``
count too, so a circle that only shows at type-checking time is one.
"""

from __future__ import annotations

from tests.test_layers import all_imports, find_cycle, internal

UI_FORBIDDEN = (
    "playground.models.loader",
    "playground.serving.batching",
    "playground.serving.local_backend",
    "playground.models.sources",
)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for i in internal(all_imports()):
        graph.setdefault(i.importer, set()).add(i.target)
    return graph


def test_the_graph_is_read():
    graph = _graph()
    assert "playground.serving.batching" in graph["playground.serving.local_backend"]
    assert "playground.serving.backend" in graph["playground.engine.engine"]


def test_playground_has_no_import_circle_even_at_type_checking_time():
    cycle = find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_ui_does_not_import_the_loader_the_batcher_or_the_sources():
    graph = _graph()
    ui = {name: targets for name, targets in graph.items() if name.startswith("playground.ui")}
    assert ui, "no UI module found"
    reached = {(name, t) for name, targets in ui.items() for t in targets if t.startswith(UI_FORBIDDEN)}
    assert reached == set()
