"""Ingestion: the real-data round trip through the official layouts, and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import registry_row, write_official_idm, write_registry

from analysis.cli import main
from analysis.ingest import ingest
from analysis.inputs.validate import validate_folder


def test_real_values_round_trip_through_official_workbooks(shared_idm, tmp_path):
    files = []
    for year in (2023, 2024):
        rows = shared_idm[shared_idm["tahun"] == year].reset_index(drop=True)
        files.append(write_official_idm(rows, year, tmp_path / f"idm{year}.xlsx"))
    out = tmp_path / "processed"
    rep = ingest(idm=files, out=out)
    w = pd.read_parquet(out / "welfare.parquet")
    assert len(w) == 841 * 2 and w["kode_desa"].nunique() == 841
    real = (
        shared_idm.assign(kode_desa=shared_idm["kode_wilayah"])
        .set_index(["kode_desa", "tahun"])
        .sort_index()
    )
    got = w.set_index(["kode_desa", "tahun"]).sort_index()
    for c in ("iks", "ike", "ikl", "nilai_idm"):
        np.testing.assert_array_equal(got[c].to_numpy(), real[c].to_numpy())
    assert (got["status_idm"].to_numpy() == real["status_idm"].to_numpy()).all()
    counts = w[w["tahun"] == 2024]["status_idm"].value_counts().to_dict()
    assert counts == {"MAJU": 380, "MANDIRI": 262, "BERKEMBANG": 195, "TERTINGGAL": 4}
    assert round(w[w["tahun"] == 2024]["nilai_idm"].mean(), 4) == 0.7686
    # the six Kutai Barat spellings are reported as variants, not errors
    variants = sum(len(e["name_variants"]) for e in rep.inputs)
    assert variants == 12  # 6 desa x 2 files
    q = json.loads((out / "data_quality.json").read_text())
    assert q["tables"]["welfare"] == 1682
    # every folder ingest writes passes validate, and run's check
    assert main(["validate", "--lang", "en", "--data", str(out)]) == 0
    validate_folder(out, purpose="run")


def _small_idm(tmp_path, year=2024, **overrides):
    rows = pd.DataFrame(
        {
            "kode_desa": ["6402022010", "6402022005"],
            "nama_desa": ["LUNG ANAI", "LOH SUMBER"],
            "iks": [0.8, 0.9],
            "ike": [0.7, 0.9],
            "ikl": [0.8, 0.94],
            "nilai_idm": [0.7667, 0.9133],
            "status_idm": ["MAJU", "MANDIRI"],
        }
    )
    for k, v in overrides.items():
        rows[k] = v
    return write_official_idm(
        rows,
        year,
        tmp_path / f"idm{year}.xlsx",
        update_years=pd.Series([2022, year]) if year == 2023 else None,
    )


def test_text_in_score_cell_becomes_missing_with_reason_and_carry_forward_is_flagged(tmp_path):
    f23 = _small_idm(tmp_path, 2023, iks=["tidak aktif", 0.9])
    out = tmp_path / "o"
    rep = ingest(idm=[f23], out=out)
    w = pd.read_parquet(out / "welfare.parquet").set_index("kode_desa")
    assert (
        np.isnan(w.loc["64.02.02.2010", "iks"])
        and "tidak aktif" in w.loc["64.02.02.2010", "catatan"]
    )
    assert bool(w.loc["64.02.02.2010", "dibawa"]) and not bool(w.loc["64.02.02.2005", "dibawa"])
    assert rep.inputs[0]["carried_forward"] == 1 and rep.inputs[0]["missing_with_reason"] == 1


def test_published_status_disagreement_is_reported(tmp_path):
    f = _small_idm(tmp_path, status_idm=["MANDIRI", "MANDIRI"])
    rep = ingest(idm=[f], out=tmp_path / "o")
    d = rep.inputs[0]["status_disagreements"]
    assert len(d) == 1 and d[0]["published"] == "MANDIRI" and d[0]["recomputed"] == "MAJU"


def test_registry_with_preparatory_desa_is_reported_not_dropped(tmp_path):
    reg = write_registry(
        tmp_path / "reg.csv",
        [
            registry_row(),
            registry_row(id_kerjasama="K2", kode_desa="", nama_desa="Loa Duri Seberang"),
        ],
    )
    rep = ingest(partnerships=reg, out=tmp_path / "o")
    e = rep.inputs[0]
    assert e["matched"] == 1 and e["unmatched_no_code"] == 1
    assert e["unmatched_rows"][0]["nama_desa"] == "Loa Duri Seberang"
    assert "Loa Duri Seberang" in (tmp_path / "o" / "data_quality.md").read_text()
    p = pd.read_parquet(tmp_path / "o" / "partnerships.parquet")
    assert len(p) == 2


# ---- bad inputs: message names file, row, column, value, fix; exit 2; nothing written ----


def _run_cli(tmp_path, *args):
    out = tmp_path / "out"
    code = main(["ingest", *map(str, args), "--out", str(out), "--lang", "en"])
    return code, out


BAD_REGISTRY = {
    "wrong_length": (
        dict(kode_desa="640202201"),
        "row 2, column 'kode_desa'",
        "has 10 digits, this one has 9",
    ),
    "not_in_frame": (
        dict(kode_desa="6402999999"),
        "not a village in the 2025 Kemendagri frame",
        "6402999999",
    ),
    "bps_code_declared_kemendagri": (
        dict(kode_desa="6402022005"),
        "does not match the village with this code",
        "BPS",
    ),
    "bps_declared": (
        dict(sistem_kode="bps", kode_desa="6402022010"),
        "BPS (Podes) codes cannot be joined",
        "Kemendagri code",
    ),
    "kelurahan": (dict(kode_desa="6472011001", nama_desa="x"), "is a kelurahan", "desa only"),
    "end_before_start": (
        dict(tanggal_selesai="2023-01-01"),
        "end date is before the start",
        "tanggal_selesai",
    ),
    "future": (
        dict(tanggal_tanda_tangan="2031-01-01", tanggal_mulai="2031-01-01", tanggal_selesai=""),
        "in the future",
        "2031-01-01",
    ),
    "bad_date": (dict(tanggal_tanda_tangan="26 Agustus"), "not a date", "YYYY-MM-DD"),
    "bad_type": (dict(jenis_mitra="alien"), "not an allowed value", "perusahaan, bumn"),
    "bad_number": (dict(nilai_rupiah="seratus juta"), "not a number", "'seratus juta'"),
}


@pytest.mark.parametrize("case", sorted(BAD_REGISTRY))
def test_bad_registry_rows(tmp_path, capsys, case):
    kw, must1, must2 = BAD_REGISTRY[case]
    reg = write_registry(tmp_path / "reg.csv", [registry_row(**kw)])
    code, out = _run_cli(tmp_path, "--partnerships", reg)
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(reg) in err and must1 in err and must2 in err and "Fix:" in err
    assert "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_duplicate_registry_ids(tmp_path, capsys):
    reg = write_registry(tmp_path / "reg.csv", [registry_row(), registry_row()])
    code, out = _run_cli(tmp_path, "--partnerships", reg)
    err = capsys.readouterr().err
    assert code == 2 and "appears more than once (also row 3)" in err and not out.exists()


def test_misspelled_column(tmp_path, capsys):
    rows = pd.DataFrame([registry_row()]).rename(columns={"jenis_mitra": "jenis_mitr"})
    rows.to_csv(tmp_path / "reg.csv", index=False)
    code, out = _run_cli(tmp_path, "--partnerships", tmp_path / "reg.csv")
    err = capsys.readouterr().err
    assert (
        code == 2
        and "required column 'jenis_mitra' is missing" in err
        and "rename column 'jenis_mitr'" in err
    )
    assert not out.exists()


def test_empty_and_header_only_files(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    code, out = _run_cli(tmp_path, "--partnerships", tmp_path / "empty.csv")
    assert code == 2 and "the file is empty" in capsys.readouterr().err and not out.exists()
    (tmp_path / "header.csv").write_text("kode_desa,tahun,iks,ike,ikl\n")
    code, out = _run_cli(tmp_path, "--welfare", tmp_path / "header.csv")
    assert code == 2 and "header but no rows" in capsys.readouterr().err and not out.exists()


def test_non_utf8_csv_that_is_not_windows_1252_either(tmp_path, capsys):
    # a UTF-8 'é' on line 2 and a lone Windows-1252 byte on line 3: neither encoding fits
    (tmp_path / "w.csv").write_bytes(
        "kode_desa,tahun,iks,ike,ikl,nama_desa\n6402022010,2024,0.8,0.7,0.8,Lung Anai é\n".encode()
        + b"6402022005,2024,0.9,0.9,0.9,Loh Sumber \xe9\n"
    )
    code, out = _run_cli(tmp_path, "--welfare", tmp_path / "w.csv")
    err = capsys.readouterr().err
    assert (
        code == 2
        and "not UTF-8" in err
        and "line 3" in err
        and "CSV UTF-8" in err
        and not out.exists()
    )


def test_welfare_problems(tmp_path, capsys):
    pd.DataFrame(
        {
            "kode_desa": ["6402022010", "6402022010", "6402022005", "6402022004"],
            "tahun": [2024, 2024, 2024, 2024],
            "iks": ["0.8", "0.8", "1.3", "abc"],
            "ike": [0.7, 0.7, 0.5, 0.5],
            "ikl": [0.8, 0.8, 0.5, 0.5],
        }
    ).to_csv(tmp_path / "w.csv", index=False)
    code, out = _run_cli(tmp_path, "--welfare", tmp_path / "w.csv")
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "row 4, column 'iks': outside the allowed range 0 to 1 (value: '1.3')" in err
    assert "row 5, column 'iks': not a number (value: 'abc')" in err
    assert "kode_desa + tahun = 64.02.02.2010 / 2024 appears more than once (also row 3)" in err


def test_wrong_sheet_and_unknown_layout(tmp_path, capsys):
    pd.DataFrame({"a": [1], "b": [2]}).to_excel(
        tmp_path / "x.xlsx", sheet_name="Ringkasan", index=False
    )
    code, out = _run_cli(tmp_path, "--idm", tmp_path / "x.xlsx")
    err = capsys.readouterr().err
    assert code == 2 and "Ringkasan" in err and not out.exists()
    f = _small_idm(tmp_path)
    df = pd.read_excel(f, sheet_name="IDM 2024").rename(
        columns={"NILAI_IDM_2024": "NILAI_IMD_2024"}
    )
    df.to_excel(tmp_path / "y.xlsx", sheet_name="IDM 2024", index=False)
    code, out = _run_cli(tmp_path, "--idm", tmp_path / "y.xlsx")
    err = capsys.readouterr().err
    assert (
        code == 2
        and "NILAI_IDM_2024 is missing" in err
        and "rename 'NILAI_IMD_2024'" in err
        and not out.exists()
    )


def test_bps_code_system_for_covariates_is_refused(tmp_path, capsys):
    pd.DataFrame({"kode_desa": ["6403050010"], "penduduk": [1000]}).to_csv(
        tmp_path / "v.csv", index=False
    )
    code = main(
        [
            "ingest",
            "--villages",
            str(tmp_path / "v.csv"),
            "--code-system",
            "bps",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2 and "crosswalk" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_never_overwrites_user_folder_and_replaces_own_output_only_with_force(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    reg = write_registry(tmp_path / "reg.csv", [registry_row()])
    assert (
        main(["ingest", "--lang", "en", "--partnerships", str(reg), "--out", str(mine), "--force"])
        == 2
    )
    assert (mine / "notes.txt").read_text() == "precious"
    assert "did not write" in capsys.readouterr().err
    out = tmp_path / "o"
    assert main(["ingest", "--lang", "en", "--partnerships", str(reg), "--out", str(out)]) == 0
    assert main(["ingest", "--lang", "en", "--partnerships", str(reg), "--out", str(out)]) == 2
    assert (
        main(["ingest", "--lang", "en", "--partnerships", str(reg), "--out", str(out), "--force"])
        == 0
    )


def test_validate_folder(tmp_path, capsys):
    reg = write_registry(tmp_path / "reg.csv", [registry_row()])
    out = tmp_path / "o"
    assert main(["ingest", "--lang", "en", "--partnerships", str(reg), "--out", str(out)]) == 0
    assert main(["validate", "--lang", "en", "--data", str(out)]) == 0
    p = pd.read_parquet(out / "partnerships.parquet")
    p.loc[0, "jenis_mitra"] = "alien"
    p.to_parquet(out / "partnerships.parquet")
    assert main(["validate", "--lang", "en", "--data", str(out)]) == 2
    assert (
        "partnerships.parquet, row 2, column 'jenis_mitra': not an allowed value"
        in capsys.readouterr().err
    )


def test_an_empty_code_system_is_reported_not_a_crash(tmp_path, capsys):
    reg = write_registry(tmp_path / "reg.csv", [registry_row(sistem_kode="")])
    assert (
        main(["ingest", "--lang", "en", "--partnerships", str(reg), "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err
    assert "row 2, column 'sistem_kode': the value is empty" in err and "Traceback" not in err


def test_unknown_district_on_the_command_line(capsys):
    code = main(
        ["run", "--lang", "en", "--district", "Kutai Kartanegra", "--out", "/nonexistent/never"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Closest: Kabupaten Kutai Kartanegara" in err


@pytest.mark.parametrize("cmd", [[], ["ingest"], ["validate"], ["example-data"], ["run"]])
def test_help_explains_itself(cmd):
    res = subprocess.run(
        [sys.executable, "-m", "analysis", *cmd, "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and len(res.stdout) > 300 and "usage:" in res.stdout
