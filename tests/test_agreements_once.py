"""The same MoU in the registry and in the agreements file is one agreement everywhere: in the
district's counts (summary.json), in the brief, on the run's data page and on the run console.

The user's registry holds four of the MoUs of ``data/real/kukar_mou_2025.csv`` (which the
runner adds by default) under the registry template's ids, with the partner's name spelled its
own way. Merged by id, the brief said "16 perjanjian" and the counts held the four twice."""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import replace

import pandas as pd
import pytest

from analysis import district as dist
from analysis import paths
from analysis.cli import main
from analysis.design import merge_agreements
from analysis.inputs.dataset import load_dataset
from analysis.inputs.registry import agreement_sources, read_agreements

MOU = paths.REAL_DIR / "kukar_mou_2025.csv"
TEMPLATE_IDS = ["KSD-2025-001-a", "KSD-2025-001-b", "KSD-2025-001-c", "KSD-2025-002-a"]


def _four_mous() -> pd.DataFrame:
    """Four MoUs of the agreements file as a district office records them in the template."""
    mou = pd.read_csv(MOU, dtype=str)
    four = mou[mou["kode_desa"].isin(["64.02.02.2010", "64.02.02.2005"])].head(4).copy()
    four["id_kerjasama"] = TEMPLATE_IDS
    four["mitra"] = four["mitra"].str.upper() + "."
    return four


def _example_registry() -> pd.DataFrame:
    p = pd.read_parquet(paths.EXAMPLE_DIR / paths.PARTNERSHIPS_FILE)
    return p[p["kode_desa"].str.startswith("64.02.")]


def test_the_merge_says_where_the_kept_agreement_is():
    reg = read_agreements(MOU).head(2)
    extra = pd.concat([read_agreements(MOU), read_agreements(MOU).tail(1)], ignore_index=True)
    extra.loc[len(extra) - 1, "id_kerjasama"] = "COPY"
    merged, dups = merge_agreements(reg, extra)
    assert len(merged) == 15  # 2 of the registry + the 13 others, the copy of the last once
    assert dict(zip(dups["id_kerjasama"], dups["kept_in"], strict=True)) == {
        "KUKAR-2025-01": "registry",
        "KUKAR-2025-02": "registry",
        "COPY": "agreements_file",
    }
    facts = agreement_sources(reg, [extra])
    assert (facts["registry"], facts["files"], facts["counted"]) == (2, 16, 15)
    assert (facts["same_in_both"], facts["repeated_in_files"]) == (2, 1)


def test_the_district_counts_merge_by_meaning_not_by_id():
    ds = load_dataset(paths.EXAMPLE_DIR)
    mou = read_agreements(MOU)
    four = mou[mou["kode_desa"].isin(["64.02.02.2010", "64.02.02.2005"])].head(4).copy()
    four["id_kerjasama"] = TEMPLATE_IDS
    four["mitra"] = four["mitra"].str.upper() + "."
    ds_four = replace(ds, partnerships=pd.concat([ds.partnerships, four], ignore_index=True))
    plain = dist.prepare_dataset(ds, "64.02", agreements=read_agreements(MOU))
    data = dist.prepare_dataset(ds_four, "64.02", agreements=read_agreements(MOU))
    # the four are the registry's now, and the file's copies of them are counted once
    assert data.counts.n_agreements == plain.counts.n_agreements
    assert data.counts.n_agreements_file_duplicates == 4
    assert data.counts.n_agreements_from_files == plain.counts.n_agreements_from_files - 4
    assert data.counts.n_agreements_too_recent == plain.counts.n_agreements_too_recent == 15


@pytest.fixture(scope="module")
def run_with_the_same_mous(tmp_path_factory):
    """Ingest a registry holding the four MoUs under template ids, then run Kutai Kartanegara
    with the runner's default agreements file (the data page and the console included)."""
    tmp = tmp_path_factory.mktemp("once")
    w = pd.read_parquet(paths.EXAMPLE_DIR / paths.WELFARE_FILE)
    w = w[w["kode_desa"].str.startswith("64.02.")]
    cols = ["kode_desa", "nama_desa", "tahun", "iks", "ike", "ikl", "nilai_idm", "status_idm"]
    w[cols].to_csv(tmp / "welfare.csv", index=False)
    reg = pd.concat([_example_registry().astype(str).replace({"<NA>": ""}), _four_mous()])
    reg.fillna("").to_csv(tmp / "registry.csv", index=False)
    args = ["--welfare", str(tmp / "welfare.csv"), "--partnerships", str(tmp / "registry.csv")]
    assert main(["ingest", *args, "--out", str(tmp / "data")]) == 0
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", "--district", "64.02", "--data", str(tmp / "data"),
                     "--out", str(tmp / "run"), "--param", "draws=99", "--jobs", "1"])  # fmt: skip
    assert code == 0, err.getvalue()[-3000:]
    return tmp / "run", err.getvalue()


def test_the_brief_summary_data_page_and_console_count_the_same_mou_once(run_with_the_same_mous):
    out, console = run_with_the_same_mous
    n_registry = len(_example_registry()) + 4
    file_rows = pd.read_csv(MOU, dtype=str)
    coded = int(file_rows["kode_desa"].notna().sum())
    summary = json.loads((out / "districts" / "64.02" / "summary.json").read_text("utf-8"))
    cov = summary["coverage"]
    assert cov["n_agreements_file_duplicates"] == 4
    assert cov["n_agreements_from_files"] == coded - 4
    assert cov["n_agreements"] == n_registry + coded - 4  # by id: 4 more
    brief = re.sub(r"<[^>]+>", " ", (out / "districts" / "64.02" / "brief.html").read_text("utf-8"))
    brief = " ".join(brief.split())
    # the 12 MoUs counted once (not 16); the recommendation judges the 9 at desa new to
    # partnering, Loh Sumber's 3 being a repeat partnership
    assert "12 perjanjian di kabupaten ini" in brief and "16 perjanjian" not in brief
    assert "9 perjanjian di 3 desa baru (dihitung mulai 2026)" in brief
    assert "4 perjanjian dalam berkas perjanjian sudah tercatat di registri desa" in brief
    page = (out / "data_report.html").read_text("utf-8")
    said = re.search(r'<p class="agreements-merged"([^>]*)>(.*?)</p>', page, flags=re.S)
    facts = dict(re.findall(r'data-(\w+)="(\d+)"', said.group(1)))
    assert facts == {
        "registry": str(n_registry),
        "files": str(len(file_rows)),
        "same": "4",
        "counted": str(n_registry + len(file_rows) - 4),
        # the file's rows without a code are counted and said to be uncomparable
        "uncoded": str(len(file_rows) - coded),
    }
    assert len(file_rows) > coded and "tidak punya kode desa resmi" in said.group(2)
    table = re.search(
        r'<table class="[^"]*fix-agreements[^"]*">.*?</table>', page, flags=re.S
    ).group(0)
    for kept in TEMPLATE_IDS:
        assert re.search(rf"<td[^>]*>{re.escape(kept)}</td>", table)  # the row it repeats names it
    # the console says the same sentence before the districts run
    assert said.group(2) in console
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["agreements"]["same_in_both"] == 4
    assert manifest["parameters"]["agreements"] == str(MOU)  # the default, written out
