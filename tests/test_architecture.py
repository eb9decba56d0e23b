"""The package's structure (docs/ARCHITECTURE.md): layers, no import circles, no private names across modules.

Imports inside functions count as imports here (they are how circles used to hide); imports only
for type checking do not. ``lint-imports`` (run by ``make test``) checks the layer contracts in
``pyproject.toml``; this file checks the rest and runs the contracts once more from pytest.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sim"
PARTS = ("rules", "protocols", "scenario", "engine", "output", "experiments", "cli")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids.update(id(n) for n in ast.walk(node))
    return ids


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("sim", exclude_type_checking_imports=True)


def test_the_folder_tree_shows_the_parts():
    for part in PARTS:
        assert (PACKAGE / part / "__init__.py").is_file(), part
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "api.py", "errors.py", "fileio.py", "version.py"]


def test_no_import_circles_among_modules(graph):
    g = nx.DiGraph()
    for m in graph.modules:
        for d in graph.find_modules_directly_imported_by(m):
            g.add_edge(m, d)
    cycles = [c for c in nx.simple_cycles(g) if len(c) > 1]
    assert not cycles, f"import circles: {cycles[:5]}"


def test_the_circle_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    pkg = tmp_path / "circ"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import circ.b\n")
    (pkg / "b.py").write_text("def f():\n    import circ.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    g = grimp.build_graph("circ", cache_dir=None)
    assert g.find_shortest_chain("circ.b", "circ.a") == ("circ.b", "circ.a")


def test_no_module_imports_another_modules_private_names():
    mods = _modules()
    bad = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}  # local name -> sim module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        bad.append(f"{name}: from {node.module} import {a.name}")
                    if full in mods:
                        aliases[a.asname or a.name] = full
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in mods and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                bad.append(f"{name}: {node.value.id}.{node.attr}")
    assert not bad, bad


def test_imports_inside_functions_only_defer_heavy_dependencies_and_say_so():
    """An import inside a function must carry a ``# deferred: why`` comment (on it or the line above)."""
    bad = []
    for path in _modules().values():
        src = path.read_text().splitlines()
        tree = ast.parse("\n".join(src))
        skip = _type_checking_nodes(tree)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skip:
                    lines = src[node.lineno - 2 : node.end_lineno]
                    if not any("# deferred:" in line for line in lines):
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {src[node.lineno - 1].strip()}")
    assert not bad, "\n".join(bad)


def test_the_layer_contracts_hold():
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_the_rules_import_nothing_of_the_model_but_themselves(graph):
    for m in graph.find_children("sim.rules"):
        for d in graph.find_modules_directly_imported_by(m):
            if d.startswith("sim"):
                assert d.startswith("sim.rules") or d == "sim.errors", (m, d)


def test_negsim_help_does_not_load_the_model():
    import subprocess

    code = "import sys; from sim.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
    code += "print(sorted(m for m in ('numpy', 'mesa', 'matplotlib', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]"
