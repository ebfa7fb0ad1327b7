"""The folder check is done once per unchanged folder, and its column-wise reading keeps the
cell-by-cell results (cells that compare equal but read differently are never confused)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pytest

import analysis.inputs.reading
import analysis.inputs.validate as validate
from analysis import paths
from analysis.errors import InputFileError
from analysis.inputs.reading import ROW
from analysis.schema import PARTNERSHIPS, VILLAGES, WELFARE


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "data"
    shutil.copytree(paths.EXAMPLE_DIR, out)
    return out


@pytest.fixture
def counted(monkeypatch):
    """Counts of read_raw and check_table calls made by validate_folder."""
    calls = {"read_raw": 0, "check_table": 0}
    read_raw, check_table = analysis.inputs.reading.read_raw, validate.check_table

    def counting_read(*a, **kw):
        calls["read_raw"] += 1
        return read_raw(*a, **kw)

    def counting_check(*a, **kw):
        calls["check_table"] += 1
        return check_table(*a, **kw)

    monkeypatch.setattr(analysis.inputs.reading, "read_raw", counting_read)
    monkeypatch.setattr(validate, "check_table", counting_check)
    return calls


def test_an_unchanged_folder_is_read_once(folder, counted):
    first = validate.validate_folder(folder, purpose="run")
    assert counted == {"read_raw": 3, "check_table": 3}
    # select_districts, run and the data-quality page each ask; the same path spelled otherwise
    second = validate.validate_folder(folder / ".." / folder.name, purpose="run")
    third = validate.validate_folder(folder)
    assert counted == {"read_raw": 3, "check_table": 3}
    for name in first:
        pd.testing.assert_frame_equal(first[name].table, second[name].table)
        assert first[name].notes == third[name].notes
        assert first[name].problems == third[name].problems


def test_a_changed_table_is_checked_again(folder, counted):
    validate.validate_folder(folder)
    p = pd.read_parquet(folder / "partnerships.parquet")
    p.loc[0, "jenis_mitra"] = "alien"
    p.to_parquet(folder / "partnerships.parquet")
    with pytest.raises(InputFileError) as e:
        validate.validate_folder(folder)
    assert counted["read_raw"] == 6
    assert "row 2, column 'jenis_mitra': not an allowed value" in str(e.value)
    with pytest.raises(InputFileError):  # the refusal is kept too, and given again
        validate.validate_folder(folder)
    assert counted["read_raw"] == 6


def test_callers_cannot_change_the_kept_outcome(folder):
    first = validate.validate_folder(folder)
    first["welfare"].table.loc[0, "kode_desa"] = "changed"
    first["welfare"].notes["years"].append(1900)
    first["welfare"].problems.append("changed")
    again = validate.validate_folder(folder)
    assert again["welfare"].table.loc[0, "kode_desa"] != "changed"
    assert 1900 not in again["welfare"].notes["years"]
    assert again["welfare"].problems == []


def test_run_needs_welfare_on_a_kept_outcome(folder, counted):
    (folder / "welfare.parquet").unlink()
    meta = json.loads((folder / "dataset.json").read_text())
    del meta["table_sha256"]["welfare.parquet"]  # a folder written without welfare (not lost)
    (folder / "dataset.json").write_text(json.dumps(meta))
    assert set(validate.validate_folder(folder)) == {"villages", "partnerships"}
    with pytest.raises(InputFileError, match="no welfare.parquet"):
        validate.validate_folder(folder, purpose="run")
    assert counted["read_raw"] == 2
    with pytest.raises(ValueError, match="purpose must be"):
        validate.validate_folder(folder, purpose="all")


def test_equal_cells_of_different_types_read_as_themselves():
    """1, 1.0 and True compare equal in Python; each is read as the cell it is."""
    df = pd.DataFrame(
        {
            "kode_desa": ["64.02.02.2010", "6402022010", 6402022010.0, "64.02.02.2010 "],
            "tambang_dekat": pd.Series([True, 1, 1.0, "ya"], dtype=object),
            "perkebunan_dekat": pd.Series([np.nan, None, "", " tidak "], dtype=object),
            "penduduk": pd.Series([1, 1.0, "1", True], dtype=object),
            "topografi": pd.Series(["Dataran", " dataran ", None, 1], dtype=object),
            ROW: [2, 3, 4, 5],
        }
    )
    oc = validate.check_table(df, VILLAGES, "v.csv")
    assert list(oc.table["tambang_dekat"]) == [True, True, pd.NA, True]
    assert list(oc.table["perkebunan_dekat"]) == [pd.NA, pd.NA, pd.NA, False]
    assert [
        (p.row, p.column, p.value) for p in oc.problems if p.message.startswith("not a yes")
    ] == [(4, "tambang_dekat", 1.0)]
    assert list(oc.table["kode_desa"]) == ["64.02.02.2010"] * 4
    bad_population = [p for p in oc.problems if p.column == "penduduk"]
    assert [(p.row, p.value) for p in bad_population] == [(5, True)]  # a yes/no is not a number
    bad_terrain = [(p.row, p.value) for p in oc.problems if p.column == "topografi"]
    assert bad_terrain == [(5, 1)]


def test_evidence_points_at_the_first_cell_of_each_kind():
    df = pd.DataFrame(
        {
            "iks": pd.Series([0.5, "3.125", "0,7", "0.7"], dtype=object),
            "ike": pd.Series(["0.1", "0.2", "0.3", "0.4"], dtype=object),
            ROW: [10, 11, 12, 13],
        }
    )
    first = validate.first_evidence(df, ["iks", "ike"], validate.decimal_evidence)
    assert first == {
        "ambiguous": (11, "iks", "3.125"),
        "comma": (12, "iks", "0,7"),
        "dot": (13, "iks", "0.7"),
    }
    mark, problems = validate.decide_decimal_mark(df, ["iks", "ike"], "w.csv")
    assert mark == "dot" and "mixes decimal marks" in problems[0].message and problems[0].row == 12


def test_partnership_dates_are_checked_row_by_row():
    df = pd.DataFrame(
        {
            "id_kerjasama": ["a", "b"],
            "kode_desa": ["64.02.02.2010", "64.02.02.2010"],
            "nama_desa": ["x", "x"],
            "mitra": ["PT A", "PT B"],
            "jenis_mitra": ["perusahaan", "perusahaan"],
            "sektor": ["ekonomi", "ekonomi"],
            "tanggal_tanda_tangan": ["2030-01-01", "2024-01-01"],
            "tanggal_selesai": ["2020-01-01", "2023-01-01"],
            "status": ["aktif", "aktif"],
            ROW: [2, 3],
        }
    )
    oc = validate.check_table(df, PARTNERSHIPS, "p.csv", today=dt.date(2025, 1, 1))
    dated = [(p.row, p.column) for p in oc.problems if p.column and p.column.startswith("tanggal")]
    assert dated == [(2, "tanggal_tanda_tangan"), (2, "tanggal_selesai"), (3, "tanggal_selesai")]


def test_scores_as_text_keep_their_reasons():
    df = pd.DataFrame(
        {
            "kode_desa": ["64.02.02.2010"] * 3,
            "tahun": ["2023", "2022", "2021"],
            "iks": ["0,5", "tidak aktif", ""],
            "ike": ["0,5", "0,5", "0,5"],
            "ikl": ["0,5", "0,5", "0,5"],
            ROW: [2, 3, 4],
        }
    )
    oc = validate.check_table(df, WELFARE, "w.csv", lenient_scores=True)
    assert oc.notes["decimal_mark"] == "comma"
    assert list(oc.table["catatan"].fillna("")) == [
        "",
        "iks held text 'tidak aktif' in the source; set to missing.",
        "",
    ]
    assert oc.problems == []


def test_a_run_and_its_data_page_check_the_folder_once(folder, counted, tmp_path):
    from analysis.batch.run import _data_report_job, select_districts

    assert select_districts(None, None, True, folder)  # --all validates the folder first
    validate.validate_folder(folder.resolve(), purpose="run")  # run() before the notebooks
    page = _data_report_job(tmp_path / "out", folder.resolve(), "id")
    assert counted == {"read_raw": 3, "check_table": 3}
    assert page.exists()
