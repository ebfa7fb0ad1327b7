"""The real-IDM world: the real 2023-2024 East Kalimantan IDM values (``paths.SHARED_IDM_CSV``,
skipped when absent) with a 12-row registry filled from the template's columns
(``tests/fixtures/registry_real_idm_12.csv``: real desa codes of Kutai Kartanegara and Kutai
Barat, starts in 2023-2024, six partner types, active, ended and only-signed agreements).

A two-year panel has one pre-period year at most: desa partnered from 2023 have none and cannot
be evaluated, desa counted from 2025 are too recent, and the event study has no pre-period
point. No brief may show an estimate (headline, outcome, subgroup, figure) resting on fewer desa
than the documented minimum (:class:`analysis.district.Specification`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_official_idm

from analysis.cli import main
from analysis.design import agreement_exposure
from analysis.district import Specification
from analysis.ingest import ingest
from analysis.report import words

REGISTRY = Path(__file__).parent / "fixtures" / "registry_real_idm_12.csv"
DISTRICTS = ("64.02", "64.07")


@pytest.fixture(scope="module")
def real_run(shared_idm, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("real_idm")
    files = [
        write_official_idm(
            shared_idm[shared_idm["tahun"] == y].reset_index(drop=True), y, tmp / f"idm{y}.xlsx"
        )
        for y in (2023, 2024)
    ]
    ingest(idm=files, partnerships=REGISTRY, out=tmp / "data")
    args = ["run", "--data", str(tmp / "data"), "--out", str(tmp / "out"), "--jobs", "1"]
    for d in DISTRICTS:
        args += ["--district", d]
    assert main(args) == 0
    return tmp / "out"


def _expected(district: str) -> dict[str, int]:
    """Desa of the fixture in ``district`` by what a 2023-2024 panel can do with them."""
    reg = pd.read_csv(REGISTRY, dtype=str)
    reg = reg[reg["kode_desa"].str.startswith(district + ".")]
    g = agreement_exposure(reg)
    return {
        "from_start": int((g <= 2023).sum()),
        "evaluated": int(((g > 2023) & (g <= 2024)).sum()),
        "too_recent": int((g > 2024).sum()),
    }


def test_the_fixture_is_twelve_template_rows_of_every_kind():
    from analysis.schema import PARTNERSHIPS

    reg = pd.read_csv(REGISTRY, dtype=str)
    assert len(reg) == 12 and list(reg.columns) == [c.name for c in PARTNERSHIPS.columns]
    assert reg["tanggal_mulai"].str[:4].isin(["2023", "2024"]).all()
    assert reg["jenis_mitra"].nunique() >= 5 and reg["status"].nunique() >= 3
    for d in DISTRICTS:  # each district has desa of the three kinds
        assert all(_expected(d).values()), d


@pytest.mark.parametrize("district", DISTRICTS)
def test_no_estimate_rests_on_fewer_desa_than_the_minimum(real_run, district):
    spec = Specification()
    folder = real_run / "districts" / district
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    res = pd.read_csv(folder / "results.csv", dtype={"district": str})
    exp = _expected(district)
    ev = summary["evidence"]
    # desa partnered from the first year are not counted as evaluated (no pre-period year)
    assert ev["n_evaluated"] == exp["evaluated"], (ev, exp)
    # the run's default agreements file adds the 26 Aug 2025 MoUs of Kutai Kartanegara
    assert ev["n_too_recent"] >= exp["too_recent"]
    shown = res[res["estimable"].astype(bool)]
    assert (shown["n_treated"] >= spec.min_treated).all(), shown[["method", "n_treated"]]
    sub = shown[shown["method"].str.contains(r"\[", regex=True)]
    assert (sub["n_treated"] >= spec.min_subgroup_desa).all(), sub[["method", "n_treated"]]
    if ev["n_evaluated"] < spec.min_evaluated:
        assert ev["grade"] != "strong"
    # the status-change outcome is estimated only with enough partnered desa that can move up
    assert not shown["outcome"].eq("naik_status").any() or exp["evaluated"] >= spec.min_can_move_up
    html = (folder / "brief.html").read_text(encoding="utf-8")
    w = words("id")
    if exp["evaluated"] >= spec.min_treated:  # estimated: the event study is drawn
        assert w.t("fig.event_no_pre") in html
    if exp["evaluated"] < spec.min_treated:
        assert ev["grade"] == "not_estimable" and not shown["method"].eq("cs_did").any()
    # the units sentence ("k dari m desa bermitra yang dinilai") counts evaluated desa only; it is
    # on the page exactly when the grade lets the page give sizes
    m = re.search(r"dari (\d+) desa bermitra yang dinilai (?:akan berstatus|berpindah)", html)
    assert (m is not None) == (ev["grade"] in ("strong", "suggestive")), ev["grade"]
    assert m is None or 1 <= int(m.group(1)) <= exp["evaluated"], m.group(0)
    # the event study has no pre-period point: its caption says so, and does not ask the reader
    # to check the points left of the start line
    if w.t("fig.event_post_only") in html or w.t("fig.event") in html:
        assert w.t("fig.event_no_pre") in html and w.t("fig.event") not in html


def test_desa_partnered_from_the_first_year_are_not_counted_as_evaluated():
    """``claims.panel_facts`` counts as evaluated only desa first exposed after the panel's
    first year (a 2023-2024 panel: those counted from 2024), not those partnered from 2023
    (no pre-period year), never partnered (g = 0) or too recent (after the last year)."""
    from analysis.report.claims import panel_facts

    g = {"a": 2023, "b": 2024, "c": 0, "d": 2025, "e": 2024}
    panel = pd.DataFrame(
        [
            {"kode_desa": k, "tahun": y, "g": v, "nilai_idm": 0.70, "status_idm": "MAJU"}
            for k, v in g.items()
            for y in (2023, 2024)
        ]
    )
    facts = panel_facts(panel, "nilai_idm", 2024, 0.01)
    assert facts["n_evaluated_last"] == 2  # b and e
    # a longer panel: a desa first exposed in its second year is evaluated
    longer = pd.concat([panel.assign(tahun=panel["tahun"] - 1), panel]).drop_duplicates(
        ["kode_desa", "tahun"]
    )
    assert panel_facts(longer, "nilai_idm", 2024, 0.01)["n_evaluated_last"] == 3  # a, b, e


@pytest.mark.parametrize("district", DISTRICTS)
def test_the_real_data_briefs_keep_the_word_limits(real_run, district):
    """The word limits of the example province (tests/test_brief_length.py) hold on real data."""
    from test_brief_length import BEFORE_APPENDIX, DECISION_PAGE, words_of

    html = (real_run / "districts" / district / "brief.html").read_text(encoding="utf-8")
    before, decision = words_of(html)
    assert before <= BEFORE_APPENDIX and decision <= DECISION_PAGE, (before, decision)
