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


def test_environment_yml_matches_pyproject():
    deps = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = (paths.ROOT / "environment.yml").read_text()
    body = env.split("dependencies:", 1)[1]
    listed = {m.group(1).lower() for m in re.finditer(r"^\s+- ([A-Za-z0-9_.\-]+)", body, re.M)} - {
        "pip",
        "python",
        "-e",
    }
    assert _names(deps) == listed
    assert env.rstrip().endswith("- -e .")


def test_constraints_pin_every_dependency():
    deps = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
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
