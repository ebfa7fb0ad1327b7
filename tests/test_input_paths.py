"""Every input path a user types is taken from the folder the command runs in, and a missing one
is named by the absolute path tried, with the fix.

``--agreements FILE``, ``--param agreements=FILE`` and ``agreements:`` in a ``--params`` file
resolve against the working directory, never against the repository or the installed package
(``paths.IN_CHECKOUT`` false): the runner writes them out as absolute paths before any kernel
starts in ``notebooks/``. Only the notebooks' default, a file the package ships under
``data/``, is the package's copy when the working directory has none."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis import paths
from analysis.batch import run as run_mod
from analysis.cli import main
from analysis.errors import ParameterError
from analysis.inputs.registry import read_agreements
from analysis.parameters import check_values, resolve_agreements

MOU = paths.REAL_DIR / "kukar_mou_2025.csv"


def test_a_relative_path_is_taken_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.input_path("mine.csv") == tmp_path / "mine.csv"  # even when missing
    # a file of the repository is not found from another folder by its relative name
    assert paths.input_path("pyproject.toml") == tmp_path / "pyproject.toml"
    assert paths.input_path("../x.csv") == tmp_path.parent / "x.csv"
    # the notebooks' default is the package's copy where the working folder has none ...
    assert paths.input_path("data/real/kukar_mou_2025.csv") == MOU
    # ... and the user's own file of that name where it has one
    (tmp_path / "data" / "real").mkdir(parents=True)
    shutil.copy(MOU, tmp_path / "data" / "real" / "kukar_mou_2025.csv")
    assert paths.input_path("data/real/kukar_mou_2025.csv") == tmp_path / MOU.relative_to(
        paths.ROOT
    )
    assert paths.input_paths(" a.csv, ,b.csv") == [tmp_path / "a.csv", tmp_path / "b.csv"]


def test_installed_mode_resolves_the_same_way_from_any_folder(tmp_path, monkeypatch):
    """``paths.ROOT`` is the installed package's ``_shipped`` folder when not in a checkout."""
    shipped = tmp_path / "site" / "analysis" / "_shipped"
    (shipped / "data" / "real").mkdir(parents=True)
    shutil.copy(MOU, shipped / "data" / "real" / MOU.name)
    monkeypatch.setattr(paths, "ROOT", shipped)
    monkeypatch.setattr(paths, "IN_CHECKOUT", False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert paths.input_path("data/real/kukar_mou_2025.csv") == shipped / "data/real" / MOU.name
    assert paths.input_path("mine.csv") == work / "mine.csv"
    assert paths.input_path("data/real/../../../x.csv") == tmp_path / "x.csv"  # never the package
    shutil.copy(MOU, work / "mine.csv")
    assert len(read_agreements("mine.csv")) == 15
    assert check_values({"agreements": "mine.csv"}) == {"agreements": "mine.csv"}


def test_the_agreements_parameter_names_the_absolute_path_it_tried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError) as e:
        check_values({"agreements": "mine.csv"})
    said = str(e.value)
    assert str(tmp_path / "mine.csv") in said and "Fix:" in said and str(paths.ROOT) not in said
    notebook = paths.DISTRICT_NOTEBOOK
    assert resolve_agreements(notebook, {}) == {"agreements": str(MOU)}  # the default, written out
    assert resolve_agreements(notebook, {"agreements": "a.csv,b.csv"}) == {
        "agreements": f"{tmp_path / 'a.csv'},{tmp_path / 'b.csv'}"
    }
    assert resolve_agreements(notebook, {"agreements": ""}) == {"agreements": ""}  # none


@pytest.fixture()
def captured_params(monkeypatch):
    """The parameters the runner would give the notebooks (the run itself is not started)."""
    seen = {}

    def locked(selected, ds, data_dir, out, lang, jobs, resume, params, *rest):
        seen.update(params)
        return {"districts": {}, "seconds": 0, "executor": "embedded", "pdf": ""}

    monkeypatch.setattr(run_mod, "_run_locked", locked)
    return seen


@pytest.mark.parametrize(
    "how",
    [
        ["--agreements", "mine.csv"],
        ["--param", "agreements=mine.csv"],
        ["--params", "p.yaml"],
        ["--params", "p.toml"],
    ],
)
def test_the_runner_reads_agreements_from_where_the_command_was_typed(
    how, tmp_path, monkeypatch, captured_params
):
    monkeypatch.chdir(tmp_path)
    shutil.copy(MOU, tmp_path / "mine.csv")
    (tmp_path / "p.yaml").write_text("agreements: mine.csv\n")
    (tmp_path / "p.toml").write_text('agreements = "mine.csv"\n')
    assert main(["run", "--district", "64.02", *how, "--out", "run"]) == 0
    assert captured_params["agreements"] == str(tmp_path / "mine.csv")
    assert captured_params["data_dir"] == str(paths.EXAMPLE_DIR.resolve())


def test_agreements_given_twice_are_refused(tmp_path, capsys, monkeypatch, captured_params):
    monkeypatch.chdir(tmp_path)
    args = ["--agreements", "a.csv", "--param", "agreements=b.csv", "--out", "run"]
    assert main(["run", "--district", "64.02", *args, "--lang", "en"]) == 2
    assert "give one of them" in capsys.readouterr().err and not captured_params


@pytest.mark.parametrize(
    "args, missing",
    [
        (["validate", "--data", "nodir"], "nodir"),
        (["run", "--district", "64.02", "--data", "nodir", "--out", "r"], "nodir"),
        (["run", "--district", "64.02", "--agreements", "mine.csv", "--out", "r"], "mine.csv"),
        (["run", "--district", "64.02", "--params", "p.yaml", "--out", "r"], "p.yaml"),
        (["run", "--district", "64.02", "--notebook", "nb.ipynb", "--out", "r"], "nb.ipynb"),
        (["ingest", "--villages", "v.csv", "--columns", "map.toml", "--out", "o"], "map.toml"),
        (["ingest", "--villages", "v.csv", "--crosswalk", "xw.csv", "--out", "o"], "xw.csv"),
        (["ingest", "--villages", "nov.csv", "--out", "o"], "nov.csv"),
        (["ingest", "--partnerships", "reg.csv", "--out", "o"], "reg.csv"),
        (["ingest", "--idm", "idm.xlsx", "--out", "o"], "idm.xlsx"),
        (["ingest", "--welfare", "w.csv", "--out", "o"], "w.csv"),
        (["ingest", "--api", "records", "--out", "o"], "records"),
        (["ingest", "--indeks-desa", "id.csv", "--out", "o"], "id.csv"),
        (["ingest", "--idm", "v.csv", "--layout", "l.toml", "--out", "o"], "l.toml"),
    ],
)
def test_a_missing_input_names_the_absolute_path_tried_and_the_fix(
    args, missing, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    Path("v.csv").write_text("kode_desa,penduduk\n6402022010,5\n")
    assert main([*args, "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / missing}" in err and "Fix:" in err, err
    assert "Traceback" not in err and not Path("o").exists() and not Path("r").exists()
    assert main(args) == 2  # the default --lang id: the same path, the fix in Indonesian
    err = capsys.readouterr().err
    assert f"{tmp_path / missing}" in err and "Perbaikan:" in err and "Fix:" not in err, err
    assert "tidak ada" in err and "does not exist" not in err, err
