"""The engine on the example data: recovers the truth where the design allows, says "not
estimable" where it does not, and its helpers (balance, E-value, MDE, pooling) are right."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from analysis import district as dist
from analysis import paths
from analysis.design import OUTCOMES, Design, analysis_panel, exposure_year, first_exposure
from analysis.inputs.dataset import load_dataset
from analysis.inputs.example_data import simulate
from analysis.methods.balance import balance_table
from analysis.methods.panel import callaway_santanna
from analysis.methods.pooling import pool_districts, random_effects_dl
from analysis.methods.results import NotEstimable, to_frame
from analysis.methods.sensitivity import e_value, mde_from_se, mde_two_groups


@pytest.fixture(scope="module")
def example():
    ds = load_dataset(paths.EXAMPLE_DIR)
    truth = json.loads((paths.EXAMPLE_DIR / "truth.json").read_text())
    return ds, analysis_panel(ds.welfare, ds.villages, ds.partnerships), truth


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_province_staggered_estimate_covers_the_truth(example, outcome):
    ds, panel, truth = example
    r, agg = callaway_santanna(panel, Design(outcome=outcome))
    true = truth["outcomes"][outcome]["overall"]["att"]
    assert r.ci_low <= true <= r.ci_high, (outcome, r.estimate, r.se, true)


def test_naive_comparison_misses_the_truth_adjusted_ones_do_not(example):
    ds, panel, truth = example
    from analysis.methods.crosssection import compare_year

    cs = compare_year(panel, Design(), 2024)
    res = {r.method: r for r in cs.results}
    true = truth["outcomes"]["nilai_idm"]["cross_section"]["2024"]["att"]
    naive = res["naive"]
    assert not (naive.ci_low <= true <= naive.ci_high) and naive.estimate > 2 * true
    for m in ("regression", "aipw"):
        assert abs(res[m].estimate - true) < abs(naive.estimate - true) / 2, m
    assert cs.balance["smd"].abs().max() > 0.1  # imbalanced before weighting
    assert cs.balance["smd_weighted"].abs().max() < cs.balance["smd"].abs().max()


def test_kota_without_desa_is_not_applicable():
    data = dist.prepare(paths.EXAMPLE_DIR, "Kota Samarinda")
    assert not data.applicable and data.reason == "no_desa"
    main = dist.estimate_main(data)
    assert isinstance(main.headline, NotEstimable) and "no desa" in main.headline.message


def test_few_partnered_desa_is_not_estimable_with_a_reason():
    data = dist.prepare(paths.EXAMPLE_DIR, "Mahakam Ulu")
    main = dist.estimate_main(data)
    assert isinstance(main.headline, NotEstimable) and main.headline.reason == "too_few_treated"
    ev = dist.judge_evidence(main, dist.estimate_outcomes(data), data)
    assert ev.grade == "not_estimable"


def test_partnerships_after_the_last_outcome_year_are_too_recent():
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02", last_year=2018)
    main = dist.estimate_main(data)
    assert isinstance(main.headline, NotEstimable) and main.headline.reason == "too_recent"
    assert data.coverage["n_desa_too_recent"] == data.coverage["n_desa_partnered"]
    assert len(data.recent) > 0


def test_description_counts_the_same_desa_as_the_coverage_table():
    # Kutai Kartanegara's example registry has 3 desa first exposed after the last IDM year:
    # they are neither "partnered" nor "other" in any table or figure of the page
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02")
    desc = dist.describe_district(data)
    cov = data.coverage
    assert cov["n_desa_too_recent"] > 0
    moved = desc.transitions.groupby("kelompok")["n"].sum()
    assert moved["bermitra"] == cov["n_desa_evaluated"]
    assert moved["lainnya"] == cov["n_desa_comparison"]
    last = desc.outcome_summary[desc.outcome_summary["tahun"] == data.last_year]
    assert last.set_index("kelompok")["n"].to_dict() == {
        "bermitra": cov["n_desa_evaluated"],
        "lainnya": cov["n_desa_comparison"],
    }


def test_exposure_year_rule():
    s = pd.Series(pd.to_datetime(["2025-08-26", "2024-03-01", "2024-07-01"]))
    assert list(exposure_year(s)) == [2026, 2024, 2025]


def test_treatment_definitions(example):
    ds, _, _ = example
    any_ = first_exposure(ds.partnerships, "any")
    comp = first_exposure(ds.partnerships, "type:perusahaan")
    assert (
        set(comp["kode_desa"]) <= set(any_["kode_desa"])
        and (comp["jenis_mitra"] == "perusahaan").all()
    )
    assert (first_exposure(ds.partnerships, "by:2021")["g"] <= 2021).all()
    with pytest.raises(ValueError, match="unknown treatment"):
        first_exposure(ds.partnerships, "bogus")
    p = analysis_panel(ds.welfare, ds.villages, ds.partnerships, "type:baznas")
    others = set(any_["kode_desa"]) - set(
        first_exposure(ds.partnerships, "type:baznas")["kode_desa"]
    )
    assert not set(p["kode_desa"]) & others  # other partnered desa are not counted as comparisons


def test_outcomes_are_bh_adjusted():
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02")
    t = dist.estimate_outcomes(data)
    assert list(t["outcome"]) == list(OUTCOMES)
    ok = t[t["estimable"]]
    assert (ok["q_value_bh"] >= ok["p_value"] - 1e-12).all()


def test_balance_uses_treated_sd():
    df = pd.DataFrame({"_d": [1, 1, 1, 0, 0, 0, 0], "x": [1.0, 2.0, 3.0, 0.0, 0.0, 1.0, 1.0]})
    b = balance_table(df, ["x"]).iloc[0]
    assert b["smd"] == pytest.approx((2.0 - 0.5) / 1.0)
    assert b["var_ratio"] == pytest.approx(1.0 / np.var([0, 0, 1, 1], ddof=1))


def test_e_value_matches_vanderweele_ding():
    # RR 3.9 gives E-value 7.26 (VanderWeele & Ding 2017, worked example); d = log(3.9)/0.91
    d = np.log(3.9) / 0.91
    ev = e_value(d, d - 0.1, d + 0.1, 1.0)
    assert round(ev.point, 2) == 7.26
    assert e_value(0.1, -0.1, 0.3, 1.0).ci_bound == 1.0


def test_mde():
    assert mde_from_se(1.0) == pytest.approx(2.8016, abs=1e-4)
    assert mde_two_groups(50, 50, 1.0) == pytest.approx(2.8016 * np.sqrt(0.04), abs=1e-4)
    assert mde_two_groups(0, 50, 1.0) == np.inf


def test_random_effects_truncates_tau2_where_statsmodels_does_not():
    eff, var = np.array([0.1, 0.2, 0.15]), np.array([0.01, 0.02, 0.015])
    sm = combine_effects(eff, var, method_re="dl")
    assert sm.tau2 < 0  # the library trap
    ours = random_effects_dl(eff, var)
    assert ours["tau2"] == 0 and ours["re"] == pytest.approx(ours["fe"])
    eff2 = np.array([0.1, 0.5, -0.2, 0.3])
    var2 = np.array([0.01, 0.02, 0.015, 0.01])
    sm2 = combine_effects(eff2, var2, method_re="dl")
    ours2 = random_effects_dl(eff2, var2)
    assert ours2["re"] == pytest.approx(sm2.mean_effect_re) and ours2["re_se"] == pytest.approx(
        sm2.sd_eff_w_re
    )
    assert ours2["i2"] == pytest.approx(sm2.i2)


def test_pooling_across_districts(example):
    rows = []
    for code in ("64.01", "64.02", "64.03", "64.07", "64.08", "64.11"):
        data = dist.prepare(paths.EXAMPLE_DIR, code)
        rows.append(dist.estimate_main(data).headline)
    t = to_frame(rows)
    pooled = pool_districts(t, "nilai_idm", "cs_did")
    assert pooled.n_districts == 5  # Mahakam Ulu is listed but not pooled
    assert (~pooled.forest["estimable"]).sum() == 1
    truth = json.loads((paths.EXAMPLE_DIR / "truth.json").read_text())["outcomes"]["nilai_idm"][
        "overall"
    ]["att"]
    re = pooled.random_effects
    assert re.ci_low <= truth <= re.ci_high


@pytest.mark.slow
def test_coverage_of_the_staggered_estimator_over_seeds():
    """Across 200 simulated provinces the 95% CI of the simple ATT covers the truth about 95% of
    the time (binomial sd at 200 draws is 1.5 points: accept 90-99%)."""
    hits, n = 0, 200
    kw = dist.Specification().cs_kwargs()  # the headline's specification
    for seed in range(n):
        sim = simulate("64", seed)
        panel = analysis_panel(sim.welfare, sim.villages, sim.partnerships)
        r, _ = callaway_santanna(panel, Design(), **kw)
        true = sim.truth["outcomes"]["nilai_idm"]["overall"]["att"]
        hits += r.ci_low <= true <= r.ci_high
    assert 0.90 <= hits / n <= 0.99, hits / n


def test_forest_plot_draws_districts_and_pooled_line(example):
    from analysis.report.figures import forest

    rows = [
        dist.estimate_main(dist.prepare(paths.EXAMPLE_DIR, c)).headline
        for c in ("64.01", "64.02", "64.03")
    ]
    pooled = pool_districts(to_frame(rows), "nilai_idm", "cs_did")
    fig = forest(pooled.forest, "id", "IDM")
    assert len(fig.axes[0].get_yticklabels()) == 4


def test_cross_section_estimators_recover_a_simulated_att():
    """Selection on one observed confounder, constant effect 2: naive is biased; regression,
    IPW, AIPW and matching land within 4 standard errors of the truth (seeded, 4,000 desa)."""
    from analysis.methods.crosssection import aipw_att, ipw, naive_difference, nn_match, propensity

    rng = np.random.default_rng(11)
    n = 4000
    x = rng.normal(size=n)
    d = (rng.random(n) < 1 / (1 + np.exp(-(x - 1)))).astype(float)
    y = 1.5 * x + 2.0 * d + rng.normal(size=n)
    df = pd.DataFrame({"x": x, "_d": d})
    naive = naive_difference(y, d, "y")
    assert naive.estimate - 2.0 > 10 * naive.se
    ps = propensity(df, ["x"])
    for r in (
        ipw(y, d, ps.weights, "y"),
        aipw_att(y, d, df[["x"]], ps, "y"),
        nn_match(y[ps.kept], d[ps.kept], ps.score[ps.kept], "y"),
    ):
        assert abs(r.estimate - 2.0) < 4 * r.se, (r.method, r.estimate, r.se)
    assert ps.ess_control > 100 and ps.weight_max < 60


@pytest.mark.slow
def test_grade_and_intervals_calibrated_on_placebo_simulations():
    """scripts/study_placebo.py over 40 seeds (the README's figures): with every true effect
    zero, "strong" in at most 1% and "suggestive" in at most 10% of estimable district briefs,
    district 95% intervals cover zero in at least 92%; with the default effects the province
    intervals cover the truth in at least 90% of seeds for every outcome and the IDM headline
    is found (interval above zero) in at least 90%."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "study_placebo", paths.ROOT / "scripts" / "study_placebo.py"
    )
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    runs = [study.one_seed(s) for s in range(study.FIRST_SEED, study.FIRST_SEED + 40)]
    s = study.summarise(runs)
    assert s["placebo_strong"] <= 0.01, s
    assert s["placebo_suggestive"] <= 0.10, s
    assert s["placebo_district_ci_covers_zero"] >= 0.92, s
    assert min(s["province_coverage"].values()) >= 0.90, s
    assert s["province_idm_found"] >= 0.90, s
