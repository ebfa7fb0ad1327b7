"""ingest's data_quality.md in the language of ``--lang`` (catalogs), refused for a language
without a catalog with the supported values listed."""

from __future__ import annotations

import re

import pytest
from conftest import registry_row, write_official_idm, write_registry

from analysis.cli import main
from analysis.errors import OptionError
from analysis.ingest import IngestReport, ingest
from analysis.report.data_quality import quality_markdown

#: Words of the English report that Indonesian never uses (engine prose leaking would show them).
ENGLISH = re.compile(
    r"\b(?:rows?|read|matched|carried|forward|missing|published|statuses|thresholds|layout|"
    r"unverified|hidden|sheets|dropped|dates|records|verified|equals|Checks|written|"
    r"Spelling|differences|workbooks?|differ|rounding|added|placed|happens|registry|"
    r"recent|cancelled|planned|signed|counts|Outcomes|used|never|contain|file|frame)\b"
)


def _rich_report() -> IngestReport:
    welfare = {
        "name": "idm2024.xlsx", "kind": "welfare", "rows_read": 1234, "matched": 1200,
        "unmatched_no_code": 2, "kelurahan_rows": 30, "duplicate_rows": 0,
        "carried_forward": 5, "missing_with_reason": 3, "idm_not_mean_of_components": 4,
        "layout": "idm_2024", "layout_verified": False, "year_from": "file name",
        "encoding": "cp1252", "hidden_sheets": ["lama"], "empty_rows_dropped": 6,
        "excel_serial_dates": 7, "not_verified": 8, "iks31_copies_of_iks30": 9,
        "unmatched_rows": [{"row": 12, "nama_desa": "Loa Duri Seberang"}],
        "name_variants": [{"kode_desa": "6402022010", "given": "Lung Anay", "official": "Lung Anai"}],
        "status_disagreements": [{"row": 3, "kode_desa": "6402022010", "nilai_idm": 0.7667,
                                  "published": "MANDIRI", "recomputed": "MAJU"}],
        "compared": 100, "differing": 2, "median_idm_difference": 0.0123, "api_rows_added": 1,
        "differences": [{"kode_desa": "6402022010", "tahun": 2024, "nilai_idm": 0.7,
                         "nilai_idm_api": 0.71}],
        "crosswalk": {"placed": 90, "rows": 100, "by_fate": {"unmatched": 6, "bad_code": 4}},
    }  # fmt: skip
    registry = {
        "last_idm_year": 2024,
        "counts": {"used": 1, "too_recent": 1, "unmatched": 2, "cancelled": 1, "planned": 1},
        "rows": [
            {"row": 2, "id_kerjasama": "K2", "kode_desa": "6402022010", "nama_desa": "A",
             "exposure_year": 2026, "fate": "too_recent"},
            {"row": 3, "id_kerjasama": "K3", "kode_desa": None, "nama_desa": "B",
             "exposure_year": None, "fate": "unmatched"},
            {"row": 4, "id_kerjasama": "K4", "kode_desa": "6402022005", "nama_desa": "C",
             "exposure_year": 2023, "fate": "unmatched"},
            {"row": 5, "id_kerjasama": "K5", "kode_desa": "6402022005", "nama_desa": "D",
             "exposure_year": 2023, "fate": "cancelled"},
            {"row": 6, "id_kerjasama": "K6", "kode_desa": "6402022005", "nama_desa": "E",
             "exposure_year": 2023, "fate": "planned"},
        ],
    }  # fmt: skip
    indeks = {"years": [2025], "outcomes": ["skor_tanpa_ekonomi"], "never_outcomes": ["skor"]}
    return IngestReport([welfare], {"welfare": 1200, "partnerships": 6}, registry, indeks)


def test_every_section_of_the_report_is_worded_in_indonesian():
    md = quality_markdown(_rich_report(), "id")
    assert md.startswith("# Laporan mutu data\n")
    for said in (
        "baris dibaca",
        "5 nilai dibawa dari tahun sebelumnya",
        "1.234",  # Indonesian digit grouping
        "IDM 0,7667",
        "(median selisih IDM 0,0123)",
        "dihitung mulai 2026; tahun IDM terakhir 2024",
        "tidak ada kode desa",
        "perjanjian dibatalkan",
        "tata letak: idm_2024 (belum diverifikasi), tahun diambil dari nama berkas",
        "Indeks Desa baru memiliki satu tahun (2025)",
        "- `welfare`: 1.200 baris",
    ):
        assert said in md, said
    assert not ENGLISH.findall(md), sorted(set(ENGLISH.findall(md)))


def test_the_english_report_keeps_its_wording():
    md = quality_markdown(_rich_report(), "en")
    assert md.startswith("# Data-quality report\n")
    assert "5 carried forward" in md and "1,234" in md
    assert "counts from 2026; the last IDM year is 2024" in md


def test_ingest_writes_the_report_in_the_language_asked(tmp_path):
    rows = {"kode_desa": ["6402022010"], "nama_desa": ["LUNG ANAI"], "iks": [0.8], "ike": [0.7],
            "ikl": [0.8], "nilai_idm": [0.7667], "status_idm": ["MAJU"]}  # fmt: skip
    import pandas as pd

    idm = write_official_idm(pd.DataFrame(rows), 2024, tmp_path / "idm2024.xlsx")
    reg = write_registry(tmp_path / "reg.csv", [registry_row(kode_desa="", nama_desa="Loa Duri")])
    args = ["ingest", "--idm", str(idm), "--partnerships", str(reg)]
    assert main([*args, "--out", str(tmp_path / "id")]) == 0  # default: Indonesian
    assert main([*args, "--out", str(tmp_path / "en"), "--lang", "en"]) == 0
    md_id = (tmp_path / "id" / "data_quality.md").read_text(encoding="utf-8")
    md_en = (tmp_path / "en" / "data_quality.md").read_text(encoding="utf-8")
    assert md_id.startswith("# Laporan mutu data") and "Loa Duri" in md_id
    assert not ENGLISH.findall(md_id), sorted(set(ENGLISH.findall(md_id)))
    assert md_en.startswith("# Data-quality report") and "Rows without a village code" in md_en


def test_a_language_without_catalog_is_refused(tmp_path, capsys):
    with pytest.raises(OptionError, match=r"lang='fr' is not supported; use one of: 'en', 'id'"):
        ingest(welfare=[tmp_path / "none.csv"], out=tmp_path / "o", lang="fr")
    with pytest.raises(SystemExit) as e:
        main(["ingest", "--welfare", "x.csv", "--out", str(tmp_path / "o"), "--lang", "fr"])
    assert e.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_a_file_name_with_a_bar_keeps_its_table_row():
    report = _rich_report()
    report.inputs[0]["name"] = "IDM 2024 | hasil\npemutakhiran.xlsx"
    md = quality_markdown(report, "id")
    row = next(line for line in md.splitlines() if line.startswith("| IDM 2024"))
    header = next(line for line in md.splitlines() if line.startswith("| "))
    # as many unescaped cell separators as the header has
    assert row.replace("\\|", "").count("|") == header.count("|")
    assert "IDM 2024 \\| hasil pemutakhiran.xlsx" in row
