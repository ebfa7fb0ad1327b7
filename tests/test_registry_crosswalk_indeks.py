"""The registry template and each row's fate; Podes through a crosswalk; the Indeks Desa series."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from conftest import registry_row, write_official_idm, write_registry

from analysis import paths
from analysis.cli import main
from analysis.ingest import ingest
from analysis.inputs.registry_template import instructions, write_registry_template
from analysis.schema import PARTNERSHIPS

ROWS = pd.DataFrame(
    {
        "kode_desa": ["6402022010", "6402022005", "6402022004"],
        "nama_desa": ["LUNG ANAI", "LOH SUMBER", "LOA KULU KOTA"],
        "iks": [0.8, 0.9, 0.75],
        "ike": [0.7, 0.9, 0.55],
        "ikl": [0.8, 0.94, 0.7],
        "nilai_idm": [0.7667, 0.9133, 0.6667],
        "status_idm": ["MAJU", "MANDIRI", "BERKEMBANG"],
    }
)


def test_the_committed_template_is_the_generated_one_with_drop_downs_and_the_july_rule(tmp_path):
    xlsx, csv = write_registry_template(tmp_path)
    for path in (xlsx, paths.TEMPLATES_DIR / "registry_template.xlsx"):
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["petunjuk", "registry"]
        text = "\n".join(str(c.value) for c in wb["petunjuk"]["A"] if c.value)
        assert "1 Juli" in text and "IDM tahun berikutnya" in text and "terlalu baru" in text
        assert text.splitlines() == [x for x in instructions() if x]
        ws = wb["registry"]
        lists = {
            ws.cell(
                1, openpyxl.utils.column_index_from_string(str(dv.sqref).split(":")[0][:-1])
            ).value: dv.formula1
            for dv in ws.data_validations.dataValidation
            if dv.type == "list"
        }
        for c in PARTNERSHIPS.columns:
            if c.allowed:
                assert lists[c.name] == '"' + ",".join(c.allowed) + '"'
    assert csv.read_text() == (paths.TEMPLATES_DIR / "registry_template.csv").read_text()


def test_a_filled_template_ingests(tmp_path):
    xlsx, _ = write_registry_template(tmp_path)
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["registry"]
    row = registry_row()
    for j, c in enumerate(PARTNERSHIPS.columns, start=1):
        ws.cell(2, j, row[c.name])
    wb.save(xlsx)
    out = tmp_path / "o"
    assert main(["ingest", "--lang", "en", "--partnerships", str(xlsx), "--out", str(out)]) == 0
    q = json.loads((out / "data_quality.json").read_text())
    assert q["inputs"][0]["sheet"] == "registry" and q["tables"]["partnerships"] == 1


def test_each_registry_row_has_its_fate_in_the_data_quality_report(tmp_path):
    files = [write_official_idm(ROWS, y, tmp_path / f"idm{y}.xlsx") for y in (2023, 2024)]
    reg = write_registry(
        tmp_path / "reg.csv",
        [
            registry_row(
                id_kerjasama="used", tanggal_tanda_tangan="2023-03-01", tanggal_mulai="2023-03-15"
            ),
            registry_row(
                id_kerjasama="july",
                kode_desa="6402022005",
                nama_desa="Loh Sumber",
                tanggal_tanda_tangan="2024-07-01",
                tanggal_mulai="2024-07-01",
            ),
            registry_row(id_kerjasama="nocode", kode_desa="", nama_desa="Loa Duri Seberang"),
            registry_row(id_kerjasama="noidm", kode_desa="6402022011", nama_desa="Jembayan Tengah"),
            registry_row(id_kerjasama="batal", status="dibatalkan"),
            registry_row(id_kerjasama="rencana", status="direncanakan"),
        ],
    )
    out = tmp_path / "o"
    ingest(idm=files, partnerships=reg, out=out)
    r = json.loads((out / "data_quality.json").read_text())["registry_rows"]
    fates = {x["id_kerjasama"]: x["fate"] for x in r["rows"]}
    assert fates == {
        "used": "used",
        "july": "too_recent",  # from 1 July: counts from IDM 2025, after the last year 2024
        "nocode": "unmatched",
        "noidm": "unmatched",
        "batal": "cancelled",
        "rencana": "planned",
    }
    assert r["last_idm_year"] == 2024
    assert r["counts"] == {"used": 1, "too_recent": 1, "unmatched": 2, "cancelled": 1, "planned": 1}
    july = next(x for x in r["rows"] if x["id_kerjasama"] == "july")
    assert july["exposure_year"] == 2025 and "last IDM year is 2024" in july["reason"]


def test_podes_covariates_through_a_crosswalk_never_guess(tmp_path):
    podes = tmp_path / "podes.csv"
    pd.DataFrame(
        {
            "kode_desa": ["6403050010", "6403050020", "6403050030", "6403050031", "6403050040"],
            "penduduk": [1200, 800, 300, 400, 999],
        }
    ).to_csv(podes, index=False)
    xw = tmp_path / "bps_kemendagri.csv"
    pd.DataFrame(
        {
            "kode_bps": ["6403050010", "6403050020", "6403050020", "6403050030", "6403050031"],
            "kode_kemendagri": [
                "64.02.02.2010",
                "64.02.02.2005",
                "64.02.02.2004",  # a split: one BPS village, two Kemendagri villages
                "64.02.02.2011",
                "64.02.02.2011",  # a merge: two BPS villages, one Kemendagri village
            ],
        }
    ).to_csv(xw, index=False)
    out = tmp_path / "o"
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--villages",
                str(podes),
                "--crosswalk",
                str(xw),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    v = pd.read_parquet(out / "villages.parquet").set_index("kode_desa")
    assert v.loc["64.02.02.2010", "penduduk"] == 1200
    assert v.loc[["64.02.02.2005", "64.02.02.2004", "64.02.02.2011"], "penduduk"].isna().all()
    x = json.loads((out / "data_quality.json").read_text())["inputs"][0]["crosswalk"]
    assert x["rows"] == 5 and x["placed"] == 1 and x["not_placed"] == 4
    assert x["by_fate"] == {"unmatched": 1, "one_to_many": 1, "many_to_one": 2, "bad_code": 0}
    split = next(r for r in x["not_placed_rows"] if r["fate"] == "one_to_many")
    assert split["kode_bps"] == "6403050020" and split["candidates"] == [
        "64.02.02.2005",
        "64.02.02.2004",
    ]


def test_bps_codes_without_a_crosswalk_are_refused(tmp_path, capsys):
    podes = tmp_path / "podes.csv"
    pd.DataFrame({"kode_desa": ["6403050010"], "penduduk": [1]}).to_csv(podes, index=False)
    code = main(
        ["ingest", "--villages", str(podes), "--code-system", "bps", "--out", str(tmp_path / "o")]
    )
    assert code == 2 and "--crosswalk" in capsys.readouterr().err


def _indeks(tmp_path, name="indeks-desa-2025.xlsx", **over):
    df = pd.DataFrame(
        {
            "Kode Desa": ["6402022010", "6402022005"],
            "Nama Desa": ["LUNG ANAI", "LOH SUMBER"],
            "Skor ID": [71.5, 80.25],
            "Layanan Dasar": [70.0, 82.0],
            "Sosial": [60.0, 75.5],
            "Ekonomi": [55.0, 90.0],
            "Lingkungan": [80.0, 66.0],
            "Aksesibilitas": [50.0, 91.0],
            "Tata Kelola Pemerintahan Desa": [90.0, 70.0],
            "Status": ["Maju", "Mandiri"],
        }
    )
    for k, v in over.items():
        df[k] = v
    df.to_excel(tmp_path / name, index=False)
    return tmp_path / name


def test_indeks_desa_is_its_own_series_without_the_partnership_item(tmp_path):
    out = tmp_path / "o"
    rep = ingest(indeks_desa=[_indeks(tmp_path)], out=out)
    t = pd.read_parquet(out / "indeks_desa.parquet").set_index("kode_desa")
    # hand-computed: the five dimensions without Ekonomi, unweighted
    assert t.loc["64.02.02.2010", "skor_tanpa_ekonomi"] == pytest.approx(
        (70 + 60 + 80 + 50 + 90) / 5
    )
    assert t.loc["64.02.02.2005", "skor_tanpa_ekonomi"] == pytest.approx(
        (82 + 75.5 + 66 + 91 + 70) / 5
    )
    assert (t["tahun"] == 2025).all() and t.loc["64.02.02.2005", "status"] == "MANDIRI"
    assert not (out / "welfare.parquet").exists()  # never spliced onto IDM
    facts = json.loads((out / "data_quality.json").read_text())["indeks_desa"]
    assert facts["follow_up_year"] is False and "no follow-up year yet" in facts["statement"]
    assert facts["outcomes"][0] == "skor_tanpa_ekonomi" and "ekonomi" in facts["never_outcomes"]
    assert "skor" in facts["never_outcomes"] and facts["never_mixed_with_idm"]
    assert rep.indeks_desa["removed_item"]["dimension"] == "Ekonomi"
    assert main(["validate", "--lang", "en", "--data", str(out)]) == 0


def test_indeks_desa_years_never_enter_the_idm_table(tmp_path, capsys):
    w = tmp_path / "w.csv"
    pd.DataFrame(
        {"kode_desa": ["6402022010"], "tahun": [2025], "iks": [0.8], "ike": [0.7], "ikl": [0.8]}
    ).to_csv(w, index=False)
    assert main(["ingest", "--lang", "en", "--welfare", str(w), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "outside the allowed range 2015 to 2024" in err and "--indeks-desa" in err
    small = _indeks(tmp_path, "indeks-desa-2025-skala-1.xlsx")
    dims = ["Layanan Dasar", "Sosial", "Ekonomi", "Lingkungan", "Aksesibilitas"]
    pd.read_excel(small).assign(
        **{c: 0.5 for c in [*dims, "Tata Kelola Pemerintahan Desa"]}
    ).to_excel(small, index=False)
    assert (
        main(["ingest", "--lang", "en", "--indeks-desa", str(small), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "0-1 (IDM-style)" in capsys.readouterr().err
    noyear = _indeks(tmp_path, "indeks.xlsx")
    assert (
        main(["ingest", "--lang", "en", "--indeks-desa", str(noyear), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "year cannot be told" in capsys.readouterr().err


def test_the_kukar_2025_agreements_can_only_be_judged_on_indeks_desa_with_a_follow_up(tmp_path):
    from analysis.inputs.dataset import load_dataset
    from analysis.inputs.indeks_desa import plan

    idm = [write_official_idm(ROWS, y, tmp_path / f"idm{y}.xlsx") for y in (2023, 2024)]
    kukar = paths.DATA_DIR / "real" / "kukar_mou_2025.csv"
    f = _indeks(tmp_path)
    out = tmp_path / "o"
    ingest(idm=idm, indeks_desa=[f], partnerships=kukar, out=out)
    ds = load_dataset(out)
    p = plan(ds.partnerships, ds.indeks_desa, district="64.02")
    # signed 26 August 2025: they count from 2026, after the last IDM year
    assert p["agreements_idm_era"] == 0 and p["agreements_indeks_desa_era"] == 12
    assert p["first_exposure_year"] == 2026 and p["baseline_year"] == 2025
    assert p["follow_up_years"] == [] and not p["estimable"] and p["reason"] == "no_follow_up_year"
    later = pd.read_excel(f).assign(**{"Layanan Dasar": [72.0, 83.0]})
    later.to_excel(tmp_path / "indeks-desa-2026.xlsx", index=False)
    out2 = tmp_path / "o2"
    ingest(idm=idm, indeks_desa=[f, tmp_path / "indeks-desa-2026.xlsx"], out=out2)
    p2 = plan(ds.partnerships, load_dataset(out2).indeks_desa, district="64.02")
    assert p2["follow_up_years"] == [2026] and p2["estimable"] and p2["reason"] == "ok"
    assert plan(ds.partnerships, None)["reason"] == "no_indeks_desa_data"
    rows = json.loads((out / "data_quality.json").read_text())["registry_rows"]["rows"]
    fates = {(r["nama_desa"], r["fate"]) for r in rows}
    assert ("Lung Anai", "too_recent") in fates and ("Jembayan Tengah", "unmatched") in fates
    too_recent = next(r for r in rows if r["fate"] == "too_recent")
    assert "Indeks Desa years present: 2025" in too_recent["reason"]


def test_the_same_indeks_desa_year_in_two_files_names_both(tmp_path, capsys):
    a = _indeks(tmp_path, "indeks-desa-2025.xlsx")
    b = _indeks(tmp_path, "indeks-desa-2025-revisi.xlsx")
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--indeks-desa",
                str(a),
                str(b),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "64.02.02.2010 year 2025 appears in more than one Indeks Desa row" in err
    assert "indeks-desa-2025.xlsx, indeks-desa-2025-revisi.xlsx" in err
