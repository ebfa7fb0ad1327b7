"""Every documented IDM layout, the API records and a user's column map give the same tidy panel."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import write_api_records, write_layout_idm, write_official_idm

from analysis.cli import main
from analysis.ingest import ingest
from analysis.inputs.layouts import load_layouts

ROWS = pd.DataFrame(
    {
        "kode_desa": ["6402022010", "6402022005", "6402022004", "6402022011"],
        "nama_desa": ["LUNG ANAI", "LOH SUMBER", "LOA KULU KOTA", "JEMBAYAN TENGAH"],
        "iks": [0.8, 0.9, 0.7543, 0.6],
        "ike": [0.7, 0.9, 0.5333, 0.55],
        "ikl": [0.8, 0.94, 0.7333, 0.6],
        "nilai_idm": [0.7667, 0.9133, 0.6736, 0.5833],
        "status_idm": ["MAJU", "MANDIRI", "BERKEMBANG", "TERTINGGAL"],
    }
)
COLS = ["kode_desa", "tahun", "iks", "ike", "ikl", "nilai_idm", "status_idm"]


def _panel(out) -> pd.DataFrame:
    w = pd.read_parquet(out / "welfare.parquet")
    return w[COLS].sort_values(["kode_desa", "tahun"]).reset_index(drop=True)


def _expected(year: int) -> pd.DataFrame:
    e = ROWS.assign(
        kode_desa=ROWS["kode_desa"].str.replace(
            r"^(\d{2})(\d{2})(\d{2})(\d{4})$", r"\1.\2.\3.\4", regex=True
        ),
        tahun=year,
    )
    return e[COLS].sort_values(["kode_desa", "tahun"]).reset_index(drop=True)


LAYOUTS = [(lay.name, y) for lay in load_layouts().layouts for y in (lay.years[0], lay.years[-1])]


@pytest.mark.parametrize("name, year", LAYOUTS, ids=[f"{n}-{y}" for n, y in LAYOUTS])
def test_every_documented_layout_round_trips_to_the_same_tidy_panel(tmp_path, name, year):
    f = write_layout_idm(ROWS, name, year, tmp_path / "idm.xlsx")
    out = tmp_path / "o"
    rep = ingest(idm=[f], out=out)
    got = _panel(out)
    np.testing.assert_array_equal(
        got[["iks", "ike", "ikl", "nilai_idm"]], _expected(year)[["iks", "ike", "ikl", "nilai_idm"]]
    )
    assert (got["status_idm"] == _expected(year)["status_idm"]).all()
    assert (got["kode_desa"] == _expected(year)["kode_desa"]).all() and (got["tahun"] == year).all()
    e = rep.inputs[0]
    assert e["layout"] == name and e["year"] == year
    assert e["year_from"] == ("title rows" if "rekomendasi" in name else "headers")
    assert main(["validate", "--lang", "en", "--data", str(out)]) == 0


def test_the_official_2023_2024_writers_and_the_registry_agree(tmp_path):
    for year in (2023, 2024):
        f = write_official_idm(ROWS, year, tmp_path / f"idm{year}.xlsx")
        rep = ingest(idm=[f], out=tmp_path / f"o{year}")
        assert (
            rep.inputs[0]["layout"].startswith(f"IDM {year}") and rep.inputs[0]["layout_verified"]
        )
        pd.testing.assert_frame_equal(
            _panel(tmp_path / f"o{year}"), _expected(year), check_dtype=False
        )


def test_api_records_round_trip_with_indicator_scores_and_quirks(tmp_path):
    folder = write_api_records(ROWS, 2021, tmp_path / "api")
    # a record that is not verified gives no values and is listed
    (folder / "6402022099").mkdir()
    (folder / "6402022099" / "2021.json").write_text(
        json.dumps({"status": 200, "error": True, "message": "Data desa belum diverifikasi"})
    )
    out = tmp_path / "o"
    ingest(api=[folder], out=out)
    pd.testing.assert_frame_equal(_panel(out), _expected(2021), check_dtype=False)
    ind = pd.read_parquet(out / "indicators.parquet")
    assert len(ind) == 4 * 50
    assert ind.groupby("dimensi").size().to_dict() == {"IKE": 48, "IKL": 12, "IKS": 140}
    assert ind["salinan"].sum() == 4  # IKS 31 of each desa
    one = ind[(ind.kode_desa == "64.02.02.2010") & (ind.dimensi == "IKS") & (ind.nomor == 5)].iloc[
        0
    ]
    assert one["skor"] == (5 * 7) % 6 and bool(one["csr"]) and "CSR: CSR" in one["pelaksana"]
    q = json.loads((out / "data_quality.json").read_text())
    api = next(e for e in q["inputs"] if e["kind"] == "api_records")
    assert (
        api["not_verified"] == 1
        and "belum diverifikasi" in api["not_verified_records"][0]["reason"]
    )
    assert api["iks31_copies_of_iks30"] == 4
    assert main(["validate", "--lang", "en", "--data", str(out)]) == 0


def test_workbook_wins_over_api_and_differences_are_listed(tmp_path):
    f = write_official_idm(ROWS, 2023, tmp_path / "idm2023.xlsx")
    api_rows = ROWS.copy()
    api_rows.loc[0, "nilai_idm"] = 0.7777  # the API disagrees for one desa
    api_rows.loc[1, "nilai_idm"] = 0.91333333  # rounding only: not a difference
    extra = ROWS.iloc[[2]].assign(kode_desa="6402022007", nama_desa="REMPANGA")
    folder = write_api_records(pd.concat([api_rows, extra]), 2023, tmp_path / "api")
    out = tmp_path / "o"
    rep = ingest(idm=[f], api=[folder], out=out)
    w = pd.read_parquet(out / "welfare.parquet").set_index("kode_desa")
    assert w.loc["64.02.02.2010", "nilai_idm"] == 0.7667  # the workbook's value
    assert w.loc["64.02.02.2007", "sumber"] == "api" and len(w) == 5
    api = next(e for e in rep.inputs if e["kind"] == "api_records")
    assert api["compared"] == 4 and api["differing"] == 1 and api["api_rows_added"] == 1
    d = api["differences"][0]
    assert d["kode_desa"] == "64.02.02.2010" and d["nilai_idm_api"] == 0.7777
    assert d["differs_in"] == ["nilai_idm"] and api["median_idm_difference"] == pytest.approx(0.011)


def test_unknown_layout_writes_a_map_that_once_filled_in_ingests_it(tmp_path, capsys):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Kode Desa Kemendagri 10 digit", "Nama", "Sosial", "Ekonomi", "Ekologi", "Skor"])
    for _, r in ROWS.iterrows():
        ws.append([int(r.kode_desa), r.nama_desa, r.iks, r.ike, r.ikl, r.nilai_idm])
    src = tmp_path / "kiriman_kabupaten.xlsx"
    wb.save(src)
    out = tmp_path / "run" / "o"
    out.parent.mkdir()
    assert main(["ingest", "--lang", "en", "--idm", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "layout is not recognised" in err and "Kode Desa Kemendagri 10 digit" in err
    assert "closest known layout" in err and "Traceback" not in err and not out.exists()
    written = out.parent / "layout-kiriman_kabupaten.toml"
    assert f"written to {written}" in err
    text = written.read_text()
    # the user fills in the blanks (the map as written is valid TOML with the headers listed)
    tomllib.loads(text)
    filled = (
        text.replace('iks = ""', 'iks = "Sosial"')
        .replace('ike = ""', 'ike = "Ekonomi"')
        .replace('ikl = ""', 'ikl = "Ekologi"')
        .replace('kode_desa = ""', 'kode_desa = "Kode Desa Kemendagri 10 digit"')
        .replace('nilai_idm = ""', 'nilai_idm = "Skor"')
        .replace("# year = 2019", "year = 2022")
    )
    for line in filled.splitlines():
        if line.startswith(("kode_desa", "iks ", "ike ", "ikl ", "nilai_idm", "year")):
            assert '""' not in line, line
    written.write_text(filled)
    code = main(
        ["ingest", "--lang", "en", "--idm", str(src), "--layout", str(written), "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    got = _panel(out)
    np.testing.assert_array_equal(got["nilai_idm"], _expected(2022)["nilai_idm"])
    q = json.loads((out / "data_quality.json").read_text())
    assert (
        q["inputs"][0]["layout"] == f"column map {written.name}"
        and q["inputs"][0]["year_from"] == "column map"
    )


def test_a_column_map_that_fits_no_file_is_refused(tmp_path, capsys):
    f = write_official_idm(ROWS, 2024, tmp_path / "idm2024.xlsx")
    m = tmp_path / "map.toml"
    m.write_text('[columns]\nkode_desa = "X"\niks = "A"\nike = "B"\nikl = "C"\n')
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--idm",
                str(f),
                "--layout",
                str(m),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "fits none of the --idm files" in capsys.readouterr().err
    m.write_text('[columns]\nkode = "X"\n')
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--idm",
                str(f),
                "--layout",
                str(m),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown column 'kode'" in err and "does not name the header of 'iks'" in err


def test_a_sheet_with_two_years_in_its_headers_is_refused(tmp_path, capsys):
    f = write_layout_idm(ROWS, "IDM 2015-2022 (year-suffixed scores)", 2019, tmp_path / "x.xlsx")
    wb = openpyxl.load_workbook(f)
    ws = wb.active
    for c in ws[1]:
        if c.value == "IKE_2019":
            c.value = "IKE_2020"
    wb.save(f)
    assert main(["ingest", "--lang", "en", "--idm", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "more than one year" in capsys.readouterr().err


def test_an_indeks_desa_file_given_as_idm_is_refused(tmp_path, capsys):
    pd.DataFrame(
        {"kode_desa": ["6402022010"], "layanan_dasar": [70.0], "sosial": [60.0], "skor": [65.0]}
    ).to_excel(tmp_path / "id2025.xlsx", index=False)
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--idm",
                str(tmp_path / "id2025.xlsx"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "Indeks Desa file" in err and "--indeks-desa" in err and "never spliced" in err


def test_a_year_suffixed_idm_table_saved_as_an_indonesian_csv_reads_the_same(tmp_path):
    f = write_layout_idm(ROWS, "IDM 2015-2022 (year-suffixed scores)", 2018, tmp_path / "x.xlsx")
    df = pd.read_excel(f, dtype=str)
    for c in ("IKS_2018", "IKE_2018", "IKL_2018", "NILAI_IDM_2018"):
        df[c] = df[c].str.replace(".", ",", regex=False)
    (tmp_path / "idm_2018.csv").write_bytes(df.to_csv(index=False, sep=";").encode("cp1252"))
    out = tmp_path / "o"
    rep = ingest(idm=[tmp_path / "idm_2018.csv"], out=out)
    pd.testing.assert_frame_equal(_panel(out), _expected(2018), check_dtype=False)
    e = rep.inputs[0]
    assert e["separator"] == ";" and e["decimal_mark"] == "comma" and e["year_from"] == "headers"


@pytest.mark.parametrize(
    "headers, name, year_from",
    [
        (
            [
                "Kode Desa",
                "Nama Desa",
                "IKS 2019",
                "IKE 2019",
                "IKL 2019",
                "Nilai IDM 2019",
                "Status IDM 2019",
            ],
            "idm.xlsx",
            "headers",
        ),
        (
            ["KD_DESA", "NAMA_DESA", "IKS", "IKE", "IKL", "IDM", "STATUS"],
            "status_idm_2019.xlsx",
            "file name",
        ),
        (
            [
                "KODE_WILAYAH",
                "DESA",
                "IKS2019",
                "IKE2019",
                "IKL2019",
                "IDM2019",
                "KLASIFIKASI_2019",
            ],
            "x.xlsx",
            "headers",
        ),
    ],
)
def test_the_usual_header_variants_are_recognised_generically(tmp_path, headers, name, year_from):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for _, r in ROWS.iterrows():
        ws.append([int(r.kode_desa), r.nama_desa, r.iks, r.ike, r.ikl, r.nilai_idm, r.status_idm])
    wb.save(tmp_path / name)
    out = tmp_path / "o"
    rep = ingest(idm=[tmp_path / name], out=out)
    pd.testing.assert_frame_equal(_panel(out), _expected(2019), check_dtype=False)
    e = rep.inputs[0]
    assert e["layout"] == "generic (headers recognised by name)" and e["year_from"] == year_from
    assert e["status_disagreements"] == []  # the published status was read and agrees


def test_a_two_row_header_with_merged_cells_reads_as_one(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "REKOMENDASI STATUS DESA TAHUN 2021"
    top = ["NO", "KODE DESA", "NAMA DESA", "NILAI", None, None, "NILAI IDM", "STATUS IDM"]
    sub = [None, None, None, "IKS", "IKE", "IKL", None, None]
    for j, (a, b) in enumerate(zip(top, sub, strict=True), start=1):
        ws.cell(4, j, a)
        ws.cell(5, j, b)
    for j in (1, 2, 3, 7, 8):
        ws.merge_cells(start_row=4, end_row=5, start_column=j, end_column=j)
    ws.merge_cells(start_row=4, end_row=4, start_column=4, end_column=6)
    for i, r in ROWS.iterrows():
        ws.append(
            [i + 1, int(r.kode_desa), r.nama_desa, r.iks, r.ike, r.ikl, r.nilai_idm, r.status_idm]
        )
    wb.save(tmp_path / "rekap.xlsx")
    out = tmp_path / "o"
    rep = ingest(idm=[tmp_path / "rekap.xlsx"], out=out)
    pd.testing.assert_frame_equal(_panel(out), _expected(2021), check_dtype=False)
    assert rep.inputs[0]["header_row"] == 5 and rep.inputs[0]["year_from"] == "title rows"


REAL_IDM = __import__("pathlib").Path("/work/shared/data/idm_kaltim_2023_2024.csv")


def _titled_workbook(path, title, headers, rows):
    """A workbook as provincial offices re-publish it: a title row above the header row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "IDM"
    ws.append([title])
    ws.append(headers)
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def _rows_2024(df):
    code = df["kode_desa"].astype("int64")
    return zip(
        code // 10**8,
        code // 10**6,
        code // 10**4,
        code,
        df["nama_desa"],
        df["iks"],
        df["ike"],
        df["ikl"],
        df["nilai_idm"],
        df["status_idm"],
        strict=True,
    )


HEADERS_2024 = [
    "KODE_PROV",
    "KODE_KAB",
    "KODE_KEC",
    "KODE_DESA",
    "NAMA_DESA",
    "IKS_2024",
    "IKE_2024",
    "IKL_2024",
    "NILAI_IDM_2024",
    "STATUS_IDM_2024",
]


def test_a_title_row_naming_the_idm_does_not_make_a_workbook_an_indeks_desa_file(tmp_path):
    f = _titled_workbook(
        tmp_path / "idm.xlsx",
        "INDEKS DESA MEMBANGUN (IDM) TAHUN 2024",
        HEADERS_2024,
        _rows_2024(ROWS),
    )
    out = tmp_path / "o"
    ingest(idm=[f], out=out)
    got = _panel(out)
    np.testing.assert_array_equal(
        got[["iks", "ike", "ikl", "nilai_idm"]], _expected(2024)[["iks", "ike", "ikl", "nilai_idm"]]
    )
    assert (got["tahun"] == 2024).all()


@pytest.mark.skipif(not REAL_IDM.exists(), reason="real IDM values (/work/shared/data) absent")
def test_the_real_2024_values_under_a_title_row_ingest_to_the_published_values(tmp_path):
    real = pd.read_csv(REAL_IDM, dtype={"kode_desa": str})
    real = real[(real["tahun"] == 2024) & (real["kode_kab"] == 6402)].reset_index(drop=True)
    f = _titled_workbook(
        tmp_path / "idm_kukar.xlsx",
        "INDEKS DESA MEMBANGUN (IDM) TAHUN 2024",
        HEADERS_2024,
        _rows_2024(real),
    )
    ingest(idm=[f], out=tmp_path / "o")
    w = pd.read_parquet(tmp_path / "o" / "welfare.parquet").set_index("kode_desa")
    want = real.set_index(real["kode_wilayah"])
    assert len(w) == len(real) == 193
    for c in ("iks", "ike", "ikl", "nilai_idm"):
        np.testing.assert_allclose(w.loc[want.index, c].astype(float), want[c], atol=1e-12)
    assert (w.loc[want.index, "status_idm"] == want["status_idm"]).all()


def test_a_2021_workbook_with_a_title_row_and_spaced_headers_ingests(tmp_path):
    rows = zip(
        ROWS["kode_desa"].astype("int64"),
        ROWS["nama_desa"],
        ROWS["iks"],
        ROWS["ike"],
        ROWS["ikl"],
        ROWS["nilai_idm"],
        ROWS["status_idm"],
        strict=True,
    )
    headers = ["KODE DESA", "NAMA DESA", "IKS 2021", "IKE 2021", "IKL 2021", "NILAI IDM 2021"]
    f = _titled_workbook(
        tmp_path / "idm.xlsx",
        "INDEKS DESA MEMBANGUN (IDM) TAHUN 2021",
        [*headers, "STATUS IDM 2021"],
        rows,
    )
    out = tmp_path / "o"
    ingest(idm=[f], out=out)
    got = _panel(out)
    np.testing.assert_array_equal(
        got[["iks", "ike", "ikl", "nilai_idm"]], _expected(2021)[["iks", "ike", "ikl", "nilai_idm"]]
    )
    assert (got["tahun"] == 2021).all()


def test_an_indeks_desa_file_under_an_idm_title_is_still_refused_by_its_header(tmp_path, capsys):
    f = _titled_workbook(
        tmp_path / "id.xlsx",
        "INDEKS DESA MEMBANGUN (IDM) TAHUN 2024",
        ["kode_desa", "layanan_dasar", "sosial", "skor"],
        [["6402022010", 70.0, 60.0, 65.0]],
    )
    assert main(["ingest", "--lang", "en", "--idm", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Indeks Desa file" in err and "header row 2" in err
