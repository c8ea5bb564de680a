"""The house: no import cycle inside the govnet package, and each package imports only what docs/design.md allows.

The graph is read from the source with ast (every ``import govnet…`` and ``from govnet… import``, those inside
functions included: a lazy import that closes a cycle is still a cycle), so nothing is imported to draw it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Which package (or top-level module) of govnet may import which; docs/design.md, "The house", draws the same.
ALLOWED: dict[str, set[str]] = {
    "cli": {"model", "ipam", "render", "policy", "deploy", "lab", "verify", "analyze", "junit", "vault"},
    "deploy": {"model", "render", "iosfmt"},
    "verify": {"model", "lab", "analyze", "deploy"},
    "lab": {"model", "render"},
    "render": {"model", "iosfmt", "vault"},
    "iosfmt": {"model", "stateless", "edge"},
    "edge": {"model"},
    "stateless": {"model"},
    "policy": {"model", "edge"},
    "analyze": {"model", "render", "policy", "edge", "junit"},
    "junit": set(),
    "vault": set(),
    "model": {"ipam", "ipfast"},
    "ipam": {"ipfast"},
    "ipfast": set(),
    "__main__": {"cli"},
}


def modules(root: Path, package: str = "govnet") -> dict[str, Path]:
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


@cache
def import_graph(root: Path, package: str = "govnet") -> nx.DiGraph:
    """Module → module it imports, within the package. ``from a.b import c`` is an edge to ``a.b.c`` when that is a
    module, else to ``a.b``; the parents Python initialises on the way are not edges (a package's ``__init__``
    re-exporting its submodules is no cycle)."""
    mods = modules(root, package)
    graph = nx.DiGraph()
    graph.add_nodes_from(mods)
    for name, path in mods.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            graph.add_edges_from((name, t) for t in targets if t in mods and t != name)
    return graph


def area(module: str) -> str:
    """``govnet.cli.deploy`` → ``cli``; ``govnet.render`` → ``render``; ``govnet`` itself → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_govnet_package_has_no_import_cycle() -> None:
    graph = import_graph(ROOT)
    assert graph.number_of_edges() > 100  # the graph is really read
    cycles = [" -> ".join([*c, c[0]]) for c in nx.simple_cycles(graph)]
    assert cycles == []


def test_each_package_imports_only_what_the_design_allows() -> None:
    graph = import_graph(ROOT)
    found = {(area(a), area(b)) for a, b in graph.edges if area(a) != area(b) and area(b)}
    assert {a for a, _ in found} <= set(ALLOWED), "a new package: add it to ALLOWED and docs/design.md"
    assert sorted(e for e in found if e[1] not in ALLOWED[e[0]]) == []


def test_the_cycle_test_can_fail(tmp_path: Path) -> None:
    """A package whose two modules import each other, one of them lazily, is found."""
    pkg = tmp_path / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from pkg.sub import a\n")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.sub.a import g\n")
    cycles = list(nx.simple_cycles(import_graph(tmp_path, "pkg")))
    assert cycles == [["pkg.sub.a", "pkg.sub.b"]] or cycles == [["pkg.sub.b", "pkg.sub.a"]]


@pytest.mark.parametrize("module", ["govnet.cli.deploy", "govnet.lab.internet", "govnet.verify.run"])
def test_known_edges_are_seen(module: str) -> None:
    """Sanity of the reader: top-level, lazy and ``from package import module`` imports all make edges."""
    expected = {
        "govnet.cli.deploy": "govnet.cli.verify",  # from govnet.cli import verify as verifying, inside a function
        "govnet.lab.internet": "govnet.render",  # inside a function
        "govnet.verify.run": "govnet.verify.control",  # from govnet.verify import control, ...
    }[module]
    assert expected in set(import_graph(ROOT).successors(module))
