"""The package's layering (DESIGN §1), read from the source with ``ast``.

Every ``import`` and ``from ... import`` of every module counts: at module level, inside
functions, and under ``if TYPE_CHECKING:`` (a type-only import is still a dependency, and the
cycle it hides comes back the first time someone needs the name at run time).

* The engine imports only the engine: never the clients, views, course mechanics, or the
  future stream processing, connectors and wire server — nor the lab-facing top of the package
  (``kafkalab/__init__``, ``lab``, ``admin``, ``reliability``, ``cli``).
* No module imports itself through others: the import graph has no cycle.

Edges: ``import a.b.c`` depends on ``a.b.c``; ``from a.b import c`` on ``a.b.c`` when that is a
module, else on ``a.b``. Importing a submodule also runs its parents' ``__init__``, but that is
not counted as an edge (or every module would sit in a cycle with ``kafkalab/__init__``); what
those ``__init__`` files import is checked like any other module's imports.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "kafkalab"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

#: the engine (DESIGN §1): modules and packages that must not import upward
ENGINE_MODULES = {"clock", "scheduler", "driver", "errors", "structs", "config", "timefmt"}
ENGINE_PACKAGES = {"record", "storage", "api", "cluster", "coordinator", "metrics"}
#: layers above the engine, named for the failure message (anything not engine is above it)
ABOVE = {"client", "viz", "course", "streams", "connect", "server"}

def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))
            if "__pycache__" not in p.parts}


def is_engine(module: str) -> bool:
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return False
    return parts[1] in ENGINE_PACKAGES or (len(parts) == 2 and parts[1] in ENGINE_MODULES)


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """The package modules ``module`` imports, with the line of each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in modules else target, node.lineno))
    return [(name, line) for name, line in found
            if name == PACKAGE or name.startswith(PACKAGE + ".")]


@pytest.fixture(scope="module")
def graph() -> dict[str, list[tuple[str, int]]]:
    modules = all_modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def test_the_package_is_parsed(graph):
    assert {"kafkalab.cluster.cluster", "kafkalab.client.consumer",
            "kafkalab.viz.html"} <= set(graph)
    assert is_engine("kafkalab.cluster.broker") and is_engine("kafkalab.clock")
    assert not is_engine("kafkalab") and not is_engine("kafkalab.client.consumer")


def test_the_engine_imports_nothing_above_it(graph):
    upward = [f"{m} (line {line}) imports {target}"
              for m, targets in sorted(graph.items()) if is_engine(m)
              for target, line in targets if not is_engine(target)]
    assert not upward, ("the engine must not import the layers above it "
                        f"({', '.join(sorted(ABOVE))}, the package's top):\n  "
                        + "\n  ".join(upward))


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth is bounded by the module count
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return components


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path per strongly connected component."""
    return [cycle_through(c, edges) for c in strongly_connected(edges)]


def cycle_through(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle from the component's first module back to itself (breadth first)."""
    start, members = component[0], set(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges.get(v, ())):
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return path[::-1] + [start]
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    return component


def test_find_cycles_reports_a_path():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles(graph):
    edges = {m: {t for t, _ in targets if t != m}
             for m, targets in graph.items()}
    lines = {(m, t): line for m, targets in graph.items() for t, line in targets}
    components = strongly_connected(edges)
    described = []
    for component in components:
        c = cycle_through(component, edges)
        described.append(" -> ".join(f"{a} (line {lines[a, b]})" for a, b in zip(c, c[1:]))
                         + f" -> {c[-1]}" + (f"\n    (one of the cycles among {', '.join(component)})"
                                              if len(component) > len(c) - 1 else ""))
    assert not components, ("import cycles (TYPE_CHECKING imports count):\n  "
                            + "\n  ".join(described))


def test_engine_objects_show_through_the_views_kafkalab_registers():
    """The engine never imports a view: ``_repr_html_`` renders a snapshot with the view that
    ``kafkalab/__init__`` registered for its type (DESIGN §1)."""
    import kafkalab
    from kafkalab.cluster import snapshots
    from kafkalab.viz import html as views

    cluster = kafkalab.Cluster(brokers=1)
    try:
        topic = cluster.create_topic("layering", 2)
        assert isinstance(cluster, kafkalab.Cluster)
        assert cluster._repr_html_() == views.cluster_html(cluster.snapshot())
        assert topic._repr_html_() == views.topic_html(topic.snapshot())
        assert "kafkalab-partition-log" in topic.partitions[0]._repr_html_()
        assert "cluster events" in cluster.events._repr_html_()
        assert snapshots.render_html(object()).startswith("<pre>")  # no view: its repr
    finally:
        kafkalab.cluster.registry.unregister(cluster)
