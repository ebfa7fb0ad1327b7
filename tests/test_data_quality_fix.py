"""The data-quality page lists what to fix, by district and file row: desa-years without a
value, rows without a code, unrecognised covariate columns (when ingest recorded them), ended
agreements (and that they still count), and the agreements file row by row."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape

import pandas as pd
import pytest

from analysis import paths
from analysis.inputs.dataset import load_dataset
from analysis.report.data_quality import (
    UNRECOGNISED_KEY,
    agreements_rows,
    fix_list,
    write_data_report,
)
from analysis.report.words import words


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture()
def folder(tmp_path):
    """The example folder with three more desa-years removed in Kutai Kartanegara and an
    ingest record naming a row without a code and an unrecognised column."""
    d = tmp_path / "data"
    shutil.copytree(paths.EXAMPLE_DIR, d)
    w = pd.read_parquet(d / "welfare.parquet")
    kukar = w[w["kode_desa"].str.startswith("64.02.") & (w["tahun"] == 2021)].head(3)
    w.drop(index=kukar.index).to_parquet(d / "welfare.parquet", index=False)
    record = {
        "inputs": [
            {
                "name": "registri <x>.csv",
                "kind": "partnerships",
                "unmatched_rows": [{"row": 7, "nama_desa": "Desa <b>Baru</b>"}],
                UNRECOGNISED_KEY: ["Catatan"],  # a registry's own column: not a covariate
            },
            {"name": "registri <x>.csv", "kind": "villages", UNRECOGNISED_KEY: ["luas_sawah"]},
        ]
    }
    (d / paths.QUALITY_JSON).write_text(json.dumps(record), encoding="utf-8")
    return d, set(kukar["kode_desa"])


def test_fix_list_counts_missing_desa_years_and_ended_agreements(folder):
    d, removed = folder
    ds = load_dataset(d)
    fix = fix_list(ds)
    desa = ds.villages[ds.villages["jenis"].isin(["desa", "desa_adat"])]
    years = ds.welfare["tahun"].nunique()
    have = ds.welfare[ds.welfare["nilai_idm"].notna()].merge(desa[["kode_desa", "kode_kab"]])
    for m in fix["missing"]:
        n_desa = (desa["kode_kab"] == m["code"]).sum()
        assert m["missing"] == n_desa * years - (have["kode_kab"] == m["code"]).sum()
    kukar = next(m for m in fix["missing"] if m["code"] == "64.02")
    assert 2021 in kukar["years"] and kukar["missing"] >= len(removed) == 3
    ended = ds.partnerships["status"].eq("selesai").sum()
    assert fix["ended"]["total"] == ended == sum(fix["ended"]["by_district"].values()) > 0
    assert fix["ended"]["still_counted"]
    assert fix["uncoded"] == [{"file": "registri <x>.csv", "row": 7, "name": "Desa <b>Baru</b>"}]
    assert fix["unrecognised"] == {
        "recorded": True,
        "columns": [("registri <x>.csv", "luas_sawah")],
    }


@pytest.mark.parametrize("lang", ["id", "en"])
def test_data_quality_page_lists_what_to_fix(folder, tmp_path, lang):
    d, _ = folder
    w = words(lang)
    agreements = paths.DATA_DIR / "real" / "kukar_mou_2025.csv"
    html = write_data_report(tmp_path, load_dataset(d), lang, agreements).read_text("utf-8")
    text = _text(html)
    assert w.t("dq.fix.title") in text and w.t("dq.fix.missing_do") in text
    row = w.t("dq.fix.uncoded_row", file="registri <x>.csv", row=7, name="Desa <b>Baru</b>")
    assert row in text and "<b>Baru" not in html and "<x>" not in html
    assert w.t("dq.fix.unrecognised_col", file="registri <x>.csv", column="luas_sawah") in text
    assert w.t("dq.fix.unrecognised_col", file="registri <x>.csv", column="Catatan") not in text
    assert w.t("dq.fix.ended_counted") in text
    rows = agreements_rows(agreements)
    table = re.search(
        r'<table class="[^"]*fix-agreements[^"]*">.*?</table>', html, flags=re.S
    ).group(0)
    assert table.count("<tr>") == len(rows) + 1
    uncoded = [r for r in rows if r["code"] is None]
    assert [r["row"] for r in uncoded] == [14, 15, 16]
    assert table.count(w.t("dq.fix.no_code")) == len(uncoded)


def test_without_gaps_or_records_the_page_says_so_and_lists_nothing(tmp_path):
    """The example folder has no ingest record: the page says it cannot list unrecognised
    columns and that no row lacks a code, and no agreements table without a file."""
    w = words("en")
    html = write_data_report(tmp_path, load_dataset(paths.EXAMPLE_DIR), "en").read_text("utf-8")
    text = _text(html)
    assert w.t("dq.fix.unrecognised_unknown") in text and w.t("dq.fix.uncoded_none") in text
    assert "fix-agreements" not in html and w.t("dq.fix.unrecognised_none") not in text


def test_markdown_lists_rows_without_a_code_by_file_and_row(tmp_path):
    from analysis.ingest import ingest

    ingest(partnerships=paths.DATA_DIR / "real" / "kukar_mou_2025.csv", out=tmp_path / "d")
    md = (tmp_path / "d" / paths.QUALITY_MD).read_text(encoding="utf-8")
    w = words("id")
    fix = md.split(f"## {w.t('dq.fix.title')}")[1]
    for r in (14, 15, 16):
        assert f"kukar_mou_2025.csv, baris {r}:" in fix
    assert w.t("dq.fix.unrecognised_unknown") in fix and w.t("dq.fix.uncoded_do") in fix
    assert fix.count(", baris ") == 3  # each row once (the file's and the registry's merged)
