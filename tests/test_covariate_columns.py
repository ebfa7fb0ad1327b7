"""Every column of a covariates file has a fate: used, mapped (alias or column map), or ignored
with a line on the console and the data-quality page; a file none of whose covariates is
recognised is refused with the map to fill; the brief names the covariates it used."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from analysis import paths
from analysis.cli import main
from analysis.district import estimate_main, prepare
from analysis.report.brief import _covariate_words
from analysis.report.data_quality import ingest_inputs

# an office's covariates file: its own headers, semicolons and decimal commas
OFFICE = (
    "Kode Desa;Nama Desa;Jumlah Penduduk;Luas Wilayah (km2);Jarak ke Kecamatan (km);Keterangan\n"
    "6402022010;Lung Anai;1200;45,5;12;pemekaran 2019\n"
    "6402022005;Loh Sumber;900;30,1;8;\n"
    "6402022004;Loa Kulu Kota;4100;12,25;1;\n"
)


def _ingest(tmp_path, *args):
    return main(["ingest", *args, "--out", str(tmp_path / "o"), "--lang", "en"])


def test_an_office_covariates_file_maps_through_aliases_and_lists_what_it_ignores(tmp_path, capsys):
    f = tmp_path / "kovariat.csv"
    f.write_text(OFFICE, encoding="utf-8")
    assert _ingest(tmp_path, "--villages", str(f)) == 0
    err = capsys.readouterr().err
    assert "'Keterangan'" in err and "not read" in err and "--columns" in err
    v = pd.read_parquet(tmp_path / "o" / "villages.parquet").set_index("kode_desa")
    assert v.loc["64.02.02.2010", "penduduk"] == 1200
    assert v.loc["64.02.02.2004", "luas_km2"] == pytest.approx(12.25)
    assert v.loc["64.02.02.2005", "jarak_kecamatan_km"] == 8
    (e,) = json.loads((tmp_path / "o" / paths.QUALITY_JSON).read_text())["inputs"]
    assert e["columns_used"] == ["Kode Desa", "Nama Desa"]
    assert e["columns_mapped"] == {
        "Jumlah Penduduk": "penduduk",
        "Luas Wilayah (km2)": "luas_km2",
        "Jarak ke Kecamatan (km)": "jarak_kecamatan_km",
    }
    assert e["columns_ignored"] == ["Keterangan"]
    md = (tmp_path / "o" / paths.QUALITY_MD).read_text()
    assert "## Columns of kovariat.csv not read" in md and "- `Keterangan`" in md
    assert "Jumlah Penduduk → penduduk" in md
    page = {k: v for x in ingest_inputs(tmp_path / "o", "id") for k, v in x["rows"]}
    assert page["Kolom tidak dibaca"] == "Keterangan"
    assert (tmp_path / "columns-kovariat.toml").exists()


def test_a_file_with_no_recognised_covariate_is_refused_with_the_map_to_fill(tmp_path, capsys):
    f = tmp_path / "podes.csv"
    f.write_text("No;Kode Desa;Penduduk (org);Luas (Ha)\n1;6402022010;1200;4550\n")
    assert _ingest(tmp_path, "--villages", str(f)) == 2
    err = capsys.readouterr().err
    m = tmp_path / "columns-podes.toml"
    assert "none of the covariate columns is recognised" in err and str(m) in err
    assert "'Penduduk (org)'" in err and not (tmp_path / "o").exists()
    text = m.read_text()
    assert 'kode_desa = "Kode Desa"' in text and 'penduduk = ""' in text  # never guessed
    m.write_text(text.replace('penduduk = ""', 'penduduk = "Penduduk (org)"'))
    assert _ingest(tmp_path, "--villages", str(f), "--columns", str(m)) == 0
    err = capsys.readouterr().err
    assert "'No', 'Luas (Ha)'" in err
    v = pd.read_parquet(tmp_path / "o" / "villages.parquet").set_index("kode_desa")
    assert v.loc["64.02.02.2010", "penduduk"] == 1200 and "luas_km2" not in v.columns
    assert not (tmp_path / "columns-podes-2.toml").exists()  # the user's map decides now


def test_a_column_map_naming_a_header_the_file_lacks_is_refused(tmp_path, capsys):
    f = tmp_path / "v.csv"
    f.write_text("kode_desa,Pop\n6402022010,5\n")
    m = tmp_path / "m.toml"
    m.write_text('[columns]\npenduduk = "Population 2023"\n')
    assert _ingest(tmp_path, "--villages", str(f), "--columns", str(m)) == 2
    assert "'Population 2023' of column 'penduduk' is not in v.csv" in capsys.readouterr().err
    m.write_text('[columns]\npopulasi = "Pop"\n')
    assert _ingest(tmp_path, "--villages", str(f), "--columns", str(m)) == 2
    assert "unknown column 'populasi'" in capsys.readouterr().err
    assert main(["ingest", "--lang", "en", "--columns", str(m), "--out", str(tmp_path / "x")]) == 2
    assert "no villages file" in capsys.readouterr().err


def test_two_headers_meaning_the_same_column_are_refused_not_one_dropped(tmp_path, capsys):
    f = tmp_path / "v.csv"
    f.write_text("kode_desa,penduduk,Jumlah Penduduk\n6402022010,5,6\n")
    assert _ingest(tmp_path, "--villages", str(f)) == 2
    err = capsys.readouterr().err
    assert "both mean column 'penduduk'" in err and "Jumlah Penduduk" in err


@pytest.fixture(scope="module")
def kukar():
    data = prepare(paths.EXAMPLE_DIR, "64.02")
    return data, estimate_main(data, variants=False)


def test_the_brief_names_the_covariates_used(kukar):
    data, main_ = kukar
    assert main_.covariates_used and set(main_.covariates_used) <= set(data.covariates_available)
    text = _covariate_words(main_, data, "id")
    assert text.startswith("Perbandingan utama disesuaikan dengan ciri desa berikut")
    assert "jumlah penduduk (log)" in text


def test_the_brief_says_when_no_covariate_was_available(kukar):
    data, _ = kukar
    bare = replace(
        data, panel=data.panel.drop(columns=list(data.design.covariates), errors="ignore")
    )
    assert bare.covariates_available == ()
    main_ = estimate_main(bare, variants=False)
    assert main_.covariates_used == () and main_.baseline_used
    assert _covariate_words(main_, bare, "en").startswith("The data hold no village")
    assert "starting value" in _covariate_words(main_, bare, "en")
    chosen = replace(bare, spec=replace(bare.spec, covariates=()))  # none asked: no claim
    assert _covariate_words(estimate_main(chosen, variants=False), chosen, "en") == ""
