"""Every column of every table ingest reads has a fate: used, mapped (an alias) or ignored.

Covariates had it first (test_covariate_columns.py); here the registry, a tidy welfare file,
an IDM workbook, a BPS crosswalk and an Indeks Desa file: their own columns ("Catatan", "PIC")
ingest with exit 0 and are named as not read on the console, on data_quality.md, on the run's
data page and in data_quality.json. Two headers meaning the same column are refused, never one
of them dropped unseen."""

from __future__ import annotations

import json
import re
from html import unescape

import pandas as pd
from conftest import registry_row, write_official_idm, write_registry

from analysis import paths
from analysis.cli import main
from analysis.inputs.dataset import load_dataset
from analysis.report.data_quality import ingest_inputs, write_data_report
from analysis.report.words import words

CODES = ["64.02.02.2010", "64.02.02.2005", "64.02.02.2004"]


def _welfare(tmp_path, **extra) -> pd.DataFrame:
    w = pd.read_parquet(paths.EXAMPLE_DIR / paths.WELFARE_FILE)
    w = w[w["kode_desa"].isin(CODES)]
    cols = ["kode_desa", "nama_desa", "tahun", "iks", "ike", "ikl", "nilai_idm", "status_idm"]
    w = w[cols].reset_index(drop=True)
    for k, v in extra.items():
        w[k] = v
    return w


def _entries(out) -> dict:
    return {e["name"]: e for e in json.loads((out / paths.QUALITY_JSON).read_text())["inputs"]}


def _registry_with_own_columns(tmp_path):
    rows = [registry_row(), registry_row(id_kerjasama="K2", kode_desa="6402022005",
                                         nama_desa="Loh Sumber")]  # fmt: skip
    f = write_registry(tmp_path / "registri.csv", rows)
    reg = pd.read_csv(f, dtype=str)
    reg["Catatan"] = ["MoU asli di lemari 3", ""]
    reg["PIC"] = ["Bu Sari", "Pak Andi"]
    reg = reg.rename(columns={"mitra": "Nama Mitra"})  # an alias: mapped
    reg.to_csv(f, index=False)
    return f


def test_a_registry_and_a_tidy_file_with_their_own_columns_ingest_and_name_them(tmp_path, capsys):
    reg = _registry_with_own_columns(tmp_path)
    tidy = tmp_path / "idm_long.csv"
    _welfare(tmp_path, **{"Sumber Data": "DPMD"}).rename(columns={"tahun": "Year"}).to_csv(
        tidy, index=False
    )
    out = tmp_path / "o"
    args = ["ingest", "--welfare", str(tidy), "--partnerships", str(reg), "--lang", "en"]
    assert main([*args, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "registri.csv: 2 column(s) not read (ignored): 'Catatan', 'PIC'" in err
    assert "idm_long.csv: 1 column(s) not read (ignored): 'Sumber Data'" in err
    e = _entries(out)
    assert e["registri.csv"]["columns_ignored"] == ["Catatan", "PIC"]
    assert e["registri.csv"]["columns_mapped"] == {"Nama Mitra": "mitra"}
    assert "id_kerjasama" in e["registri.csv"]["columns_used"]
    assert e["idm_long.csv"]["columns_ignored"] == ["Sumber Data"]
    assert e["idm_long.csv"]["columns_mapped"] == {"Year": "tahun"}
    assert pd.read_parquet(out / "partnerships.parquet")["mitra"].eq("PT Contoh").all()
    md = (out / paths.QUALITY_MD).read_text("utf-8")
    w = words("en")
    for name, cols in (("registri.csv", ["Catatan", "PIC"]), ("idm_long.csv", ["Sumber Data"])):
        section = md.split(f"## {w.t('dq.md.columns_ignored_title', file=name)}")[1]
        section = section.split("\n## ")[0]
        assert all(f"- `{c}`" in section for c in cols), section
        assert w.t("dq.md.columns_not_in_contract") in section
    # the covariates' list of what to fix does not claim them
    assert w.t("dq.fix.unrecognised_col", file="registri.csv", column="PIC") not in md
    # the run's data page, in both languages
    for lang in ("id", "en"):
        rows = {x["name"]: dict(x["rows"]) for x in ingest_inputs(out, lang)}
        key = words(lang).t("dq.note.columns_ignored")
        assert rows["registri.csv"][key] == "Catatan, PIC"
        assert rows["idm_long.csv"][key] == "Sumber Data"
        page = write_data_report(tmp_path / lang, load_dataset(out), lang).read_text("utf-8")
        text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))
        assert f"{key} Catatan, PIC" in text and f"{key} Sumber Data" in text


def test_two_headers_meaning_one_column_are_refused_naming_both(tmp_path, capsys):
    f = write_registry(tmp_path / "r.csv", [registry_row()])
    reg = pd.read_csv(f, dtype=str)
    reg["Kode"] = "6402022005"  # an alias of kode_desa, beside kode_desa itself
    reg.to_csv(f, index=False)
    assert main(["ingest", "--partnerships", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'Kode' dan 'kode_desa' sama-sama berarti kolom 'kode_desa'" in err  # --lang id
    assert not (tmp_path / "o").exists()


def test_an_idm_workbook_names_the_columns_its_layout_does_not_read(tmp_path, capsys):
    w = _welfare(tmp_path)
    w = w[w["tahun"] == 2024].assign(kode_desa=lambda d: d["kode_desa"].str.replace(".", ""))
    book = write_official_idm(w, 2024, tmp_path / "idm2024.xlsx")
    out = tmp_path / "o"
    assert main(["ingest", "--idm", str(book), "--out", str(out), "--lang", "en"]) == 0
    e = _entries(out)["idm2024.xlsx"]
    region = ["KODE_PROV", "NAMA_PROVINSI", "KODE_KAB", "NAMA_KABUPATEN", "KODE_KEC"]
    assert e["columns_ignored"] == [
        *region,
        "NAMA_KECAMATAN",
    ]  # the empty 'Unnamed: 14' is no column
    assert "idm2024.xlsx: 6 column(s) not read (ignored): 'KODE_PROV'" in capsys.readouterr().err


def test_a_crosswalk_and_an_indeks_desa_file_record_their_columns(tmp_path, capsys):
    podes = tmp_path / "podes.csv"
    pd.DataFrame({"kode_desa": ["6403050010"], "penduduk": [1200]}).to_csv(podes, index=False)
    xw = tmp_path / "bps_kemendagri.csv"
    pd.DataFrame(
        {"BPS": ["6403050010"], "kode_kemendagri": ["64.02.02.2010"], "Nama": ["Lung Anai"]}
    ).to_csv(xw, index=False)
    indeks = tmp_path / "indeks-desa-2025.csv"
    pd.DataFrame(
        {
            "Kode Desa": ["6402022010"],
            "Layanan Dasar": [70.0], "Sosial": [60.0], "Ekonomi": [55.0], "Lingkungan": [80.0],
            "Aksesibilitas": [50.0], "Tata Kelola": [90.0], "Verifikator": ["Pak Budi"],
        }
    ).to_csv(indeks, index=False)  # fmt: skip
    out = tmp_path / "o"
    args = ["--villages", str(podes), "--crosswalk", str(xw), "--indeks-desa", str(indeks)]
    assert main(["ingest", *args, "--out", str(out), "--lang", "en"]) == 0
    err = capsys.readouterr().err
    e = _entries(out)
    assert e["bps_kemendagri.csv"]["kind"] == "crosswalk" and e["bps_kemendagri.csv"]["sha256"]
    assert e["bps_kemendagri.csv"]["columns_mapped"] == {"BPS": "kode_bps"}
    assert e["bps_kemendagri.csv"]["columns_ignored"] == ["Nama"]
    assert e["indeks-desa-2025.csv"]["columns_ignored"] == ["Verifikator"]
    assert "'Nama'" in err and "'Verifikator'" in err
    md = (out / paths.QUALITY_MD).read_text("utf-8")
    assert "| bps_kemendagri.csv | BPS code crosswalk |" in md
