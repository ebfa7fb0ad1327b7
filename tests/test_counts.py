"""One count of partnered desa: the same from every consumer, on simulated worlds and real files."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis import district as dist
from analysis import paths
from analysis.batch.slices import Slicer, write_slice
from analysis.inputs.dataset import Dataset, load_dataset
from analysis.inputs.example_data import simulate
from analysis.methods.describe import comparison_group
from analysis.report import brief

MOU = "data/real/kukar_mou_2025.csv"


def _identities(data: dist.DistrictData) -> None:
    k = data.counts
    assert k.n_desa_partnered == (
        k.n_desa_evaluated + k.n_desa_from_start + k.n_desa_too_recent + k.n_desa_no_data
    )
    assert (
        k.n_desa_with_data
        == (k.n_desa_evaluated + k.n_desa_from_start + k.n_desa_too_recent_with_data)
        + k.n_desa_comparison
    )
    assert k.n_desa_ended <= k.n_desa_evaluated
    # the panel holds no too-recent desa; every consumer splits the panel the same way
    units = data.panel.drop_duplicates("kode_desa")
    assert not (units["g"] > data.last_year).any()
    group = comparison_group(units["g"], data.first_year, data.last_year)
    assert int((group == "bermitra").sum()) == k.n_desa_evaluated
    assert int((group == "lainnya").sum()) == k.n_desa_comparison
    assert data.coverage["n_desa_evaluated"] == k.n_desa_evaluated
    assert data.coverage["n_desa_comparison"] == k.n_desa_comparison


def _dataset(sim) -> Dataset:
    return Dataset(
        folder=paths.EXAMPLE_DIR,
        villages=sim.villages,
        welfare=sim.welfare,
        partnerships=sim.partnerships,
        meta={"synthetic": True},
    )


@pytest.mark.parametrize("seed,scale", [(1, 1.0), (2, 0.0), (3, 1.0), (4, 0.5), (5, 0.0)])
def test_counts_partition_every_district_of_simulated_worlds(seed, scale):
    ds = _dataset(simulate("64", seed, effect_scale=scale))
    for code in ("64.01", "64.02", "64.03", "64.07", "64.08", "64.09", "64.11"):
        for last in (None, 2021):
            data = dist.prepare_dataset(ds, code, last_year=last)
            if data.applicable:
                _identities(data)


def test_desa_of_the_2025_mous_are_too_recent_not_comparison():
    plain = dist.prepare(paths.EXAMPLE_DIR, "64.02")
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02", agreements=MOU)
    _identities(data)
    mou = pd.read_csv(paths.ROOT / MOU, dtype=str)
    coded = set(mou["kode_desa"].dropna())
    assert not data.panel["kode_desa"].isin(coded - set(plain.registry["kode_desa"])).any()
    new = len(coded - set(plain.registry["kode_desa"]))
    assert data.counts.n_desa_too_recent == plain.counts.n_desa_too_recent + new
    assert data.counts.n_desa_comparison == plain.counts.n_desa_comparison - new
    assert data.counts.n_agreements_from_files == int(mou["kode_desa"].notna().sum())
    # the file's rows without a code are the ones the too-recent section names
    rec = brief.recent(data, MOU)
    assert data.counts.n_rows_without_code_files == rec.uncoded_rows > 0
    assert data.counts.n_agreements_too_recent == rec.n_agreements
    # an agreements file repeating registry ids adds nothing
    again = dist.prepare_dataset(
        load_dataset(paths.EXAMPLE_DIR), "64.02", agreements=plain.dataset.partnerships
    )
    assert again.counts.n_desa_partnered == plain.counts.n_desa_partnered
    assert again.counts.n_agreements_file_duplicates == len(plain.dataset.partnerships)


def test_ended_agreements_are_counted_and_disclosed():
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02")
    reg = data.registry
    assert data.counts.n_agreements_ended == int((reg["status"] == "selesai").sum()) > 0
    assert 0 < data.counts.n_desa_ended <= data.counts.n_desa_evaluated


def test_every_consumer_gives_the_same_counts(tmp_path, monkeypatch):
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02", agreements=MOU, draws=199)
    main, cross = dist.estimate_main(data), dist.estimate_cross_section(data)
    outcomes, het = dist.estimate_outcomes(data), dist.estimate_heterogeneity(data)
    ev = dist.judge_evidence(main, outcomes, data)
    k = data.counts
    assert (ev.n_evaluated, ev.n_too_recent) == (k.n_desa_evaluated, k.n_desa_too_recent)
    assert main.headline.n_treated == k.n_desa_evaluated
    dist.save_results(tmp_path, data, dist.results_table(main, cross, outcomes, het), ev, {})
    summary = json.loads((tmp_path / "summary.json").read_text())
    for name, value in k.as_dict().items():
        assert summary["coverage"][name] == value, name
    shown = []
    monkeypatch.setattr(brief, "_show", lambda html, **meta: shown.append(str(html)))
    for lang, never in (("id", "tidak pernah bermitra"), ("en", "never partnered")):
        shown.clear()
        brief.show_details(data, main, cross, outcomes, het, ev, lang)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shown[0]))
        m = re.search(rf"\({never}\) (\d+)", text)
        assert m and int(m.group(1)) == k.n_desa_comparison, text[:600]
        assert str(k.n_agreements_ended) in text and str(k.n_desa_too_recent) in text


def test_slice_and_whole_folder_count_rows_without_code_alike(tmp_path):
    ds = load_dataset(paths.EXAMPLE_DIR)
    extra = ds.partnerships.iloc[:2].copy()
    extra["kode_desa"] = pd.NA
    extra["id_kerjasama"] = ["X-1", "X-2"]
    ds = replace(ds, partnerships=pd.concat([ds.partnerships, extra], ignore_index=True))
    whole = dist.prepare_dataset(ds, "64.02")
    folder = write_slice(Slicer(ds).files("64.02"), tmp_path / "slice")
    cut = dist.prepare_dataset(load_dataset(folder), "64.02")
    assert whole.counts.n_rows_without_code_registry == 2
    assert cut.counts == whole.counts


# -- what the data cannot support is not printed (issue 16, item 7) ----------------------------


def _two_years(ds: Dataset) -> Dataset:
    return replace(ds, welfare=ds.welfare[ds.welfare["tahun"] >= 2023])


def test_status_upgrade_below_its_minimum_is_a_typed_row():
    from analysis.methods.results import MIN_CAN_MOVE_UP, REASONS

    assert "too_few_can_move_up" in REASONS and MIN_CAN_MOVE_UP >= 2
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02", draws=199)
    n, movable = dist.can_move_up(data)
    top = data.panel.sort_values("tahun").drop_duplicates("kode_desa")
    assert n == data.counts.n_desa_evaluated and 0 < movable <= n
    assert movable == int(
        (
            top.loc[top["g"].between(data.first_year + 1, data.last_year), "status_idm"]
            != "MANDIRI"
        ).sum()
    )
    strict = dist.prepare(paths.EXAMPLE_DIR, "64.02", draws=199, min_can_move_up=movable + 1)
    row = dist.estimate_outcomes(strict).set_index("outcome").loc["naik_status"]
    assert not row["estimable"] and row["reason"] == "too_few_can_move_up"
    assert row["n_treated"] == n and str(movable) in row["detail"]
    lenient = dist.prepare(paths.EXAMPLE_DIR, "64.02", draws=199, min_can_move_up=movable)
    assert dist.estimate_outcomes(lenient).set_index("outcome").loc["naik_status", "estimable"]
    head = dist.estimate_main(
        dist.prepare(paths.EXAMPLE_DIR, "64.02", "naik_status", min_can_move_up=movable + 1),
        variants=False,
    ).headline
    assert head.reason == "too_few_can_move_up"


def test_event_study_without_pre_period_says_so(monkeypatch):
    from types import SimpleNamespace

    from analysis.report import words

    data = dist.prepare(paths.EXAMPLE_DIR, "64.02", draws=199)
    full = dist.estimate_main(data, variants=False)
    assert full.event_study_refusal is None
    es = full.staggered.event_study
    post_only = SimpleNamespace(event_study=es[es["e"] >= 0])
    refusal = dist._event_study_refusal(full.headline, post_only, data)
    assert refusal.reason == "no_event_pre_period" and refusal.n_treated == full.headline.n_treated
    # a universal base period's reference point (no standard error) is nothing to check
    base_only = SimpleNamespace(
        event_study=es[es["e"] >= -1].assign(se=lambda d: d["se"].where(d["e"] >= 0))
    )
    assert dist._event_study_refusal(full.headline, base_only, data) is not None
    # the figure says so exactly when there is no pre-period point
    cross, desc = dist.estimate_cross_section(data), dist.describe_district(data)
    shown = []
    monkeypatch.setattr(brief, "_show", lambda html, **meta: shown.append(str(html)))
    for m, said in ((replace(full, event_study_refusal=refusal), True), (full, False)):
        for lang in ("id", "en"):
            shown.clear()
            brief.show_figures(data, m, cross, desc, lang)
            assert (words(lang).t("fig.event_no_pre") in shown[0]) == said


# -- subgroups: own pre-period check, adjusted test of the difference (issue 16, item 6) -------


def test_subgroup_differences_known_answer():
    from statsmodels.stats.multitest import multipletests

    from analysis.methods.subgroups import compare_subgroups

    het = pd.DataFrame(
        {
            "dimension": ["jenis_mitra"] * 3 + ["sektor"],
            "group": ["a", "b", "c", "x"],
            "estimate": [0.03, 0.0, -0.01, 0.01],
            "se": [0.01, 0.01, 0.02, 0.01],
            "estimable": [True, True, True, True],
        }
    )
    c = compare_subgroups(het)
    pairs = c.pairs.set_index(["group_a", "group_b"])
    assert pairs.loc[("a", "b"), "difference"] == pytest.approx(0.03)
    assert pairs.loc[("a", "b"), "se"] == pytest.approx(0.01 * 2**0.5)
    from scipy import stats

    p = [
        2 * stats.norm.sf(abs(d / s))
        for d, s in zip(c.pairs["difference"], c.pairs["se"], strict=True)
    ]
    assert c.pairs["p_adjusted"].tolist() == pytest.approx(multipletests(p, method="holm")[1])
    # a - b: z = 2.12, p = 0.034, Holm 3 x 0.034 = 0.10: not established at 5%
    assert c.established == {"jenis_mitra": False}
    # a wide gap between groups whose own pre-period tests ran and passed is established ...
    checked = het.assign(n_pre_points=3, pretrend_p=0.6, pretrend_rejects=False)
    wide = compare_subgroups(checked.assign(estimate=[0.06, 0.0, -0.01, 0.01]))
    assert wide.established == {"jenis_mitra": True} and not wide.not_established("jenis_mitra")
    # worded: with the difference and its p; named only (no number) when the headline's own
    # gap may continue an earlier one, since then no subgroup difference is established either
    named_groups = {"a": "perusahaan", "b": "bumn", "c": "baznas", "d": "yayasan"}
    wide.pairs[["group_a", "group_b"]] = wide.pairs[["group_a", "group_b"]].replace(named_groups)
    said = brief._established_pairs(wide, "id")["jenis_mitra"]
    assert len(said) >= 1 and all("p disesuaikan" in t for t in said)
    assert brief._established_pairs(wide, "id", headline_gap=True) == {}
    named = brief._established_pairs(wide, "id", False, headline_gap=True)["jenis_mitra"]
    assert len(named) == len(said) and not any("p disesuaikan" in t for t in named)
    # ... and not when a group has no pre-period test of its own, or its test rejects
    for untested in (
        checked.assign(n_pre_points=[0, 3, 3, 3]),
        checked.assign(pretrend_p=[np.nan, 0.6, 0.6, 0.6]),
        checked.assign(
            pretrend_p=[0.04, 0.6, 0.6, 0.6], pretrend_rejects=[True, False, False, False]
        ),
        het,  # no pre-period columns at all
    ):
        c2 = compare_subgroups(untested.assign(estimate=[0.06, 0.0, -0.01, 0.01]))
        assert c2.established == {"jenis_mitra": False} and c2.unchecked == {"jenis_mitra": True}
        assert not c2.not_established("jenis_mitra")  # "no difference" would be false too
    assert not c.tested("sektor") and c.n_estimated == {"jenis_mitra": 3, "sektor": 1}
    same = het.assign(estimate=0.01)
    assert compare_subgroups(same).not_established("jenis_mitra")


@pytest.mark.parametrize("seed,scale", [(11, 1.0), (12, 0.0), (13, 1.0)])
def test_subgroup_sentences_hold_their_conditions(seed, scale, monkeypatch):
    from analysis.methods.subgroups import compare_subgroups
    from analysis.report import words

    ds = _dataset(simulate("64", seed, effect_scale=scale))
    data = dist.prepare_dataset(ds, "64.02", spec=dist.Specification(draws=199))
    main, cross = dist.estimate_main(data), dist.estimate_cross_section(data)
    outcomes, het = dist.estimate_outcomes(data), dist.estimate_heterogeneity(data)
    ev = dist.judge_evidence(main, outcomes, data)
    # each estimated subgroup carries the headline's pre-period test on its own cohorts
    est = het[het["estimable"].astype(bool)]
    assert est["n_pre_points"].ge(0).all() and "pretrend_p" in het
    assert (est["pretrend_rejects"] == (est["pretrend_p"] < dist.PRETREND_ALPHA)).all()
    c = compare_subgroups(het)
    gap = brief.brief_facts(data, ev).earlier_gap  # the headline's gap may continue an old one
    shown = []
    monkeypatch.setattr(brief, "_show", lambda html, **meta: shown.append(str(html)))
    for lang in ("id", "en"):
        w = words(lang)
        shown.clear()
        brief.show_details(data, main, cross, outcomes, het, ev, lang)
        page = shown[0]
        for dim in ("jenis_mitra", "sektor"):
            assert (w.t(f"subgroup.not_established.{dim}") in page) == c.not_established(dim)
            said = w.t(f"subgroup.established.{dim}", pairs="")[:30] in page
            assert said == (c.tested(dim) and c.established[dim] and not gap)
        named = any(c.unchecked.values()) or (gap and any(c.established.values()))
        assert ('data-subgroup="unchecked"' in page) == named
        for r in c.pairs[c.pairs["pre_checked"].astype(bool)].to_dict("records"):
            groups = est[est["dimension"] == r["dimension"]].set_index("group")
            for g in (r["group_a"], r["group_b"]):  # established only on passed own pre-tests
                assert groups.loc[g, "n_pre_points"] > 0 and not groups.loc[g, "pretrend_rejects"]
                assert groups.loc[g, "pre_max_abs"] <= abs(groups.loc[g, "estimate"])


def test_the_recommendation_counts_rows_without_a_code_once():
    """The decision page's "record the desa code for N rows" uses the one count: the registry's
    rows and the agreements file's rows together, as the coverage table and summary.json."""
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02", agreements=MOU)
    rec = brief.recent(data, MOU)
    facts = brief.brief_facts(data, None, None, rec)
    assert facts.n_no_code == data.counts.n_registry_rows_without_code
    assert facts.n_no_code == (
        data.counts.n_rows_without_code_registry + data.counts.n_rows_without_code_files
    )
    assert data.counts.n_rows_without_code_files == rec.uncoded_rows > 0
