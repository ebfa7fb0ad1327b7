"""Messages that say the cause: BPS codes, money in a number column (in the run's language),
"also row(s)", score cells set to missing, month-first dates, formulas without values, and
bounded lists."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd

from analysis import paths
from analysis.cli import main
from analysis.inputs.validate import also_rows
from analysis.report.data_quality import ingest_inputs

REG_HEAD = (
    "id_kerjasama,kode_desa,sistem_kode,nama_desa,mitra,jenis_mitra,bidang,sektor,instrumen,"
    "tanggal_tanda_tangan,tanggal_mulai,nilai_rupiah,status\n"
)


def _reg(tmp_path, *rows):
    f = tmp_path / "registry.csv"
    f.write_text(REG_HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    return f


def _row(i, code, name, sign, start, value=""):
    return (
        f"K{i},{code},kemendagri,{name},PT A{i},perusahaan,pemberdayaan,ekonomi,mou,"
        f"{sign},{start},{value},aktif"
    )


def test_bps_style_codes_in_covariates_point_at_the_crosswalk_option(tmp_path, capsys):
    f = tmp_path / "podes.csv"
    f.write_text("kode_desa,penduduk\n6403050099,1000\n")  # Kukar in BPS: no such Kemendagri desa
    args = ["ingest", "--villages", str(f), "--out", str(tmp_path / "o")]
    assert main([*args, "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "not a village in the 2025 Kemendagri frame" in err
    assert "--code-system bps --crosswalk FILE" in err
    assert main(args) == 2  # the default --lang id
    err = capsys.readouterr().err
    assert "bukan desa dalam daftar resmi Kemendagri 2025" in err
    assert "--code-system bps --crosswalk BERKAS" in err


def test_money_in_a_number_column_is_worded_in_the_runs_language(tmp_path, capsys):
    f = _reg(
        tmp_path,
        _row(1, "64.02.02.2010", "Lung Anai", "2023-08-26", "2023-08-26", "Rp 150.000.000"),
        _row(2, "64.02.02.2005", "Loh Sumber", "2023-08-26", "2023-08-26", "abc"),
    )
    assert main(["ingest", "--partnerships", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "jumlah uang ditulis dengan lambang mata uang" in err and "tanpa 'Rp'" in err
    assert "bukan angka" in err and "desimal titik" in err
    args = ["ingest", "--partnerships", str(f), "--out", str(tmp_path / "o"), "--lang", "en"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "an amount written with its currency sign" in err and "without 'Rp'" in err


def test_also_rows_reads_right_and_is_bounded(tmp_path, capsys):
    assert also_rows([6]) == "also row 6" and also_rows([6, 9]) == "also rows 6, 9"
    assert also_rows(list(range(3, 40))).endswith("and 27 more")
    row = _row(1, "64.02.02.2010", "Lung Anai", "2023-08-26", "2023-08-26")
    f = _reg(tmp_path, row, row, row)
    args = ["ingest", "--partnerships", str(f), "--out", str(tmp_path / "o")]
    assert main([*args, "--lang", "en"]) == 2
    assert "(also rows 3, 4)" in capsys.readouterr().err
    assert main(args) == 2
    assert "(juga di baris 3, 4)" in capsys.readouterr().err


def _idm_with_text_scores(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["KODE_DESA", "NAMA_DESA", "IKS_2024", "IKE_2024", "IKL_2024", "NILAI_IDM_2024"])
    ws.append([6402022010, "LUNG ANAI", 0.8, 0.7, 0.8, 0.7667])
    ws.append([6402022005, "LOH SUMBER", "-", 0.9, 0.94, 0.9133])
    ws.append([6402022004, "LOA KULU KOTA", "#N/A", 0.5333, 0.7333, 0.6736])
    ws.append([6402022011, "JEMBAYAN TENGAH", "NaN", 0.55, 0.6, 0.5833])
    wb.save(path)
    return path


def test_score_cells_set_to_missing_are_counted_and_listed_by_row(tmp_path, capsys):
    f = _idm_with_text_scores(tmp_path / "idm.xlsx")
    out = tmp_path / "o"
    assert main(["ingest", "--idm", str(f), "--out", str(out), "--lang", "en"]) == 0
    err = capsys.readouterr().err
    assert "3 score cell(s) held text" in err and "rows 3, 4, 5" in err
    (e,) = [x for x in json.loads((out / paths.QUALITY_JSON).read_text())["inputs"]]
    assert [(c["row"], c["value"]) for c in e["missing_cells"]] == [
        (3, "-"),
        (4, "#N/A"),
        (5, "NaN"),
    ]
    md = (out / paths.QUALITY_MD).read_text()
    assert "## Score cells of idm.xlsx set to missing" in md
    assert "3 score cells held text" in md and "- row 4, column iks: `#N/A`" in md
    page = {k: v for x in ingest_inputs(out, "id") for k, v in x["rows"]}
    assert page["Baris dengan sel skor yang dijadikan kosong"] == "3, 4, 5"
    w = pd.read_parquet(out / "welfare.parquet")
    assert w["iks"].isna().sum() == 3


def test_a_month_first_registry_says_so_on_the_console_and_the_data_page(tmp_path, capsys):
    f = _reg(
        tmp_path,
        _row(1, "64.02.02.2010", "Lung Anai", "08/26/2023", "08/26/2023"),
        _row(2, "64.02.02.2005", "Loh Sumber", "05/08/2023", "05/08/2023"),
    )
    out = tmp_path / "o"
    assert main(["ingest", "--partnerships", str(f), "--out", str(out), "--lang", "en"]) == 0
    err = capsys.readouterr().err
    assert "dates read as month/day because '08/26/2023' (row 2" in err
    p = pd.read_parquet(out / "partnerships.parquet").set_index("id_kerjasama")
    assert p.loc["K2", "tanggal_mulai"] == pd.Timestamp("2023-05-08")  # May 8: counts from 2023
    md = (out / paths.QUALITY_MD).read_text()
    assert "dates read as month/day because 08/26/2023 (row 2" in md
    page = {k: v for x in ingest_inputs(out, "id") for k, v in x["rows"]}
    assert page["Tanggal dibaca sebagai bulan/hari"].startswith("tanggal dibaca sebagai bulan/hari")
    # day first: nothing said
    g = _reg(tmp_path, _row(1, "64.02.02.2010", "Lung Anai", "26/08/2023", "26/08/2023"))
    assert (
        main(["ingest", "--partnerships", str(g), "--out", str(tmp_path / "d"), "--lang", "en"])
        == 0
    )
    assert "month/day" not in capsys.readouterr().err
    assert "month/day" not in (tmp_path / "d" / paths.QUALITY_MD).read_text()
