"""The package's layout along the data's journey: allowed import directions, no circles, short
functions, results built by keyword, old module names still importable.

``docs/architecture.md`` states the rules these tests check.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from analysis import paths

SRC = paths.PACKAGE_DIR
#: Shared by every stage; imports nothing outside itself.
CORE = {"schema", "design", "errors", "paths", "files", "timing", "_moved"}
STAGES = ("inputs", "methods", "report", "batch")
#: What each stage may import besides itself and the core.
ALLOWED = {
    "inputs": set(),
    "methods": set(),
    "report": {"inputs", "methods", "district", "provenance", "parameters"},
    "batch": {"inputs", "methods", "report", "district", "provenance", "parameters"},
}
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)  # "" for the package itself


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """Every module of the package that ``path`` imports, at the top or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("analysis."):
                    out.add(a.name.removeprefix("analysis."))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module != "analysis" and not node.module.startswith("analysis."):
                continue
            base = node.module.removeprefix("analysis").lstrip(".")
            for a in node.names:
                sub = f"{base}.{a.name}".lstrip(".")
                out.add(sub if sub in MODULES else base)
    return {m for m in out if m in MODULES}


GRAPH = {name: imported(p) for name, p in MODULES.items()}


def layer(name: str) -> str:
    head = name.split(".")[0]
    return "core" if head in CORE else head


def test_the_stages_exist():
    for stage in STAGES:
        assert (SRC / stage / "__init__.py").exists(), stage
    flat = {module_name(p) for p in SRC.glob("*.py")} - {""}
    assert flat <= CORE | {"district", "ingest", "cli", "parameters", "provenance", "__main__"}, (
        flat
    )


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) in {"core", *STAGES}))
def test_import_directions(name):
    own = layer(name)
    allowed = {"core", own} | ALLOWED.get(own, set())
    bad = {m for m in GRAPH[name] if layer(m) not in allowed and m != ""}
    assert not bad, f"analysis.{name} ({own}) imports {sorted(bad)}; allowed: {sorted(allowed)}"


def test_the_faces_do_not_import_the_batch_stage():
    for face in ("district", "ingest", "parameters", "provenance"):
        assert not {m for m in GRAPH[face] if layer(m) == "batch"}, face


def test_no_import_circles():
    """Tarjan's strongly connected components over every import, inner ones included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in GRAPH[v]:
                circles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not circles, circles


def test_no_function_runs_over_80_lines():
    long = []
    for name, p in MODULES.items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"analysis.{name}.{node.name}: {n} lines")
    assert not long, long


def test_old_module_names_give_the_same_modules():
    from analysis import _moved

    for old, new in _moved.MOVED.items():
        a = importlib.import_module(f"analysis.{old}")
        assert a is importlib.import_module(f"analysis.{new}"), old
        assert a.__spec__.name == f"analysis.{new}"
    tables = importlib.import_module("analysis.tables")
    for name in ("read_raw", "rename_columns", "write_json", "write_dir_atomically", "OWNER_MARK"):
        assert hasattr(tables, name), name


def test_a_notebook_written_against_the_flat_layout_still_imports():
    from analysis.panel import callaway_santanna  # noqa: F401
    from analysis.results import Estimate, NotEstimable  # noqa: F401
    from analysis.tables import read_raw, write_file_atomically  # noqa: F401

    from analysis import brief, district, paths  # noqa: F401

    assert callable(district.prepare) and callable(brief.show_summary)


def test_the_district_notebook_of_the_flat_layout_still_runs(tmp_path):
    """``tests/fixtures/district_report_flat_layout.ipynb`` is the district notebook as it stood
    before the folders (``from analysis import brief``, ``control_group`` passed to each step):
    a researcher's copy of it keeps running, and its brief keeps its sections."""
    import nbformat
    import papermill

    fixture = paths.ROOT / "tests" / "fixtures" / "district_report_flat_layout.ipynb"
    papermill.execute_notebook(
        str(fixture),
        str(tmp_path / "out.ipynb"),
        parameters={"district": "64.02", "results_dir": str(tmp_path / "results")},
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    html = "".join(
        o.get("data", {}).get("text/html", "")
        for c in out.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert 'class="summary' in html and "Kutai Kartanegara" in html
    assert (tmp_path / "results" / "results.csv").is_file()
