"""Few partnered desa (methods/synthetic.py): published answers, the placebo test, its inverted
interval, leave-one-out, donor pools and refusals.

Known answers, through the public functions on data this folder ships (tests/fixtures/README.md):

* California's Proposition 99 (R synthdid's panel, 38 donors, T0 = 19): synthetic DiD
  -15.60383, synthetic control -19.61966, DiD -27.34911 (R synthdid's README and
  ``sc_estimate``/``did_estimate``; synthdid-py reproduces them), to the 4 decimals asked. The
  weights are R's Frank-Wolfe with its stopping rule: the exact minimiser of the same objective
  gives -15.6054, so the tolerance tests the solver, not only the objective.
* The Basque Country (Abadie and Gardeazabal 2003; R Synth's ``basque`` example): weights
  Cataluna 0.851 and Madrid 0.149, to the 3 decimals published, with the pre-period MSPE
  0.008864545 that pysyncon's test reports (to 1e-8).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import paths
from analysis.design import Design, analysis_panel
from analysis.errors import OptionError
from analysis.methods.options import PlaceboStatistic, allowed
from analysis.methods.results import Estimate, NotEstimable
from analysis.methods.synthetic import (
    FewDesa,
    Predictor,
    few_desa,
    leave_one_out,
    placebo_test,
    synthetic_cohort,
)

HERE = Path(__file__).parent / "fixtures"
PROP99 = Design(unit="State", time="Year", outcome="PacksPerCapita")
BASQUE = Design(unit="regionname", time="year", outcome="gdpcap")
BASQUE_UNIT = "Basque Country (Pais Vasco)"


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    d = pd.read_csv(HERE / "california_prop99.csv", sep=";")
    assert d.shape == (39 * 31, 4)
    return d.assign(g=np.where(d["State"] == "California", 1989, 0))


@pytest.fixture(scope="module")
def basque() -> pd.DataFrame:
    d = pd.read_csv(HERE / "basque.csv")
    return d.assign(g=np.where(d["regionname"] == BASQUE_UNIT, 1970, 0))


@pytest.fixture(scope="module")
def kukar() -> pd.DataFrame:
    read = lambda name: pd.read_parquet(paths.EXAMPLE_DIR / f"{name}.parquet")  # noqa: E731
    return analysis_panel(read("welfare"), read("villages"), read("partnerships"), district="64.02")


@pytest.mark.parametrize(
    ("method", "published"),
    [("synthetic_did", -15.60383), ("synthetic_control", -19.61966), ("did", -27.34911)],
)
def test_proposition_99_as_r_synthdid(prop99, method, published):
    fit = synthetic_cohort(prop99, PROP99, method=method, donor_pool=())
    assert round(fit.estimate, 4) == round(published, 4)
    assert (fit.n_treated, fit.n_donors, fit.n_pre, fit.n_post, fit.cohort) == (1, 38, 19, 12, 1989)
    w = fit.unit_weights
    assert list(w.columns) == ["State", "weight"] and np.isclose(w["weight"].sum(), 1)
    assert (w["weight"] >= 0).all()
    # the synthetic control has no time weights (no intercept); the others' sum to one
    assert np.isclose(fit.time_weights["weight"].sum(), 0 if method == "synthetic_control" else 1)
    # the path: partnered minus synthetic, averaging to the estimate after the start
    p = fit.tidy()
    assert np.isclose(p.loc[p["post"], "effect"].mean(), fit.estimate)
    assert np.allclose(p["treated"] - p["synthetic"], p["effect"])


def test_proposition_99_weights_are_those_of_the_synthdid_paper(prop99):
    """Arkhangelsky et al. (2021), figure 1 and R synthdid's ``synthdid_controls``: Nevada,
    New Hampshire, Connecticut, Delaware, Colorado; time weights on 1986-1988 only."""
    fit = synthetic_cohort(prop99, PROP99, method="synthetic_did", donor_pool=())
    top = fit.unit_weights.head(5)
    assert top["State"].tolist() == [
        "Nevada", "New Hampshire", "Connecticut", "Delaware", "Colorado"
    ]  # fmt: skip
    assert np.allclose(top["weight"], [0.124, 0.105, 0.078, 0.070, 0.058], atol=5e-4)
    lam = fit.time_weights.set_index("Year")["weight"]
    assert set(lam[lam > 0].index) == {1986, 1987, 1988}
    assert np.isclose(fit.facts["zeta_omega"], 12**0.25 * fit.facts["noise_level"])


def _basque_predictors() -> tuple[Predictor, ...]:
    """R Synth's ``basque`` example (``?synth``): school and investment over 1964-1969, GDP per
    capita 1960-1969, sector shares in the odd years 1961-1969, population density 1969."""
    school = ("school.illit", "school.prim", "school.med", "school.high", "school.post.high")
    sectors = ("agriculture", "energy", "industry", "construction", "services.venta")
    preds = [Predictor(column=c, years=tuple(range(1964, 1970))) for c in (*school, "invest")]
    preds.append(Predictor(column="gdpcap", years=tuple(range(1960, 1970))))
    preds += [
        Predictor(column=f"sec.{s}", years=tuple(range(1961, 1970, 2)))
        for s in (*sectors, "services.nonventa")
    ]
    preds.append(Predictor(column="popdens", years=(1969,)))
    return tuple(preds)


@pytest.mark.parametrize("with_spain", [False, True], ids=["r_synth_donors", "pysyncon_donors"])
def test_basque_country_weights_as_r_synth(basque, with_spain):
    """R Synth's example uses regions 2-16 and 18 as donors; pysyncon's test adds Spain as a whole
    (it gets no weight). V is searched by Nelder-Mead, restarted, then BFGS, from equal weights
    and from Synth's regression-based start; the weights solve the simplex problem for each V."""
    d = basque if with_spain else basque[basque["regionno"] != 1]
    fit = synthetic_cohort(
        d,
        BASQUE,
        method="synthetic_control",
        sc_fit="predictors",
        predictors=_basque_predictors(),
        fit_years=tuple(range(1960, 1970)),
        donor_pool=(),
    )
    w = fit.unit_weights.set_index("regionname")["weight"]
    assert round(w["Cataluna"], 3) == 0.851 and round(w["Madrid (Comunidad De)"], 3) == 0.149
    assert w.drop(["Cataluna", "Madrid (Comunidad De)"]).max() < 1e-4
    gaps = fit.path.set_index("time").loc[1960:1969, "effect"]
    assert abs(np.mean(gaps**2) - 0.008864544955) < 1e-8
    assert fit.est_method == "synth_v" and len(fit.facts["v"]) == 14
    assert np.isclose(sum(fit.facts["v"]), 1)


def test_placebo_in_space_is_exact_for_one_unit_and_its_p_value_is_the_rank(prop99):
    fit = synthetic_cohort(prop99, PROP99, method="synthetic_control", donor_pool=())
    test = placebo_test(fit)
    assert test.exact and test.n_placebos == test.n_assignments == 38 and test.seed == 0
    assert set(test.placebos["units"]) == set(fit.unit_weights["State"])
    rank = 1 + (test.placebos["rmspe_ratio"] >= fit.rmspe_ratio).sum()
    assert np.isclose(test.p_value, rank / 39) and np.isclose(test.min_p_value, 1 / 39)
    # each placebo is the estimator itself with that state treated and California left out
    nv = prop99[prop99["State"] != "California"].assign(
        g=lambda d: np.where(d["State"] == "Nevada", 1989, 0)
    )
    own = synthetic_cohort(nv, PROP99, method="synthetic_control", donor_pool=())
    row = test.placebos.set_index("units").loc["Nevada"]
    assert np.isclose(row["estimate"], own.estimate, atol=1e-9)
    assert np.isclose(row["rmspe_ratio"], own.rmspe_ratio, atol=1e-9)


@pytest.mark.parametrize("statistic", allowed(PlaceboStatistic))
def test_the_interval_is_the_set_of_effects_the_test_does_not_reject(prop99, statistic):
    """Brute force: subtract tau0 from California's post-period outcomes and test again."""
    fit = synthetic_cohort(prop99, PROP99, method="did", donor_pool=())
    test = placebo_test(fit, statistic=statistic, alpha=0.1)
    assert np.isfinite(test.ci_low) and test.ci_low < fit.estimate < test.ci_high

    def p(tau0: float) -> float:
        cell = (prop99["State"] == "California") & (prop99["Year"] >= 1989)
        d = prop99.assign(PacksPerCapita=prop99["PacksPerCapita"] - np.where(cell, tau0, 0))
        f = synthetic_cohort(d, PROP99, method="did", donor_pool=())
        return placebo_test(f, statistic=statistic, alpha=0.1, reuse=test).p_value

    eps = 1e-6 * (test.ci_high - test.ci_low)
    for end, inward in ((test.ci_low, eps), (test.ci_high, -eps)):
        assert p(end + inward) > 0.1 >= p(end - inward)


def test_sampled_placebos_are_seeded_distinct_and_reusable(kukar):
    fit = synthetic_cohort(kukar, Design(), method="did", cohort=2022)
    assert fit.n_treated == 7 and math.comb(fit.n_donors, 7) > 2000
    a = placebo_test(fit, draws=150, seed=1)
    b = placebo_test(fit, draws=150, seed=1)
    c = placebo_test(fit, draws=150, seed=2)
    assert not a.exact and a.n_placebos == 150 and a.seed == 1
    assert a.placebos["units"].is_unique and a.placebos.equals(b.placebos)
    assert set(a.placebos["units"]) != set(c.placebos["units"])
    ours = set(fit.block.treated.tolist())
    assert all(not (set(u.split(",")) & ours) for u in a.placebos["units"])
    e = placebo_test(fit, statistic="effect", reuse=a)
    assert e.placebos["estimate"].equals(a.placebos["estimate"]) and e.statistic == "effect"
    other = synthetic_cohort(kukar, Design(), method="did", cohort=2021)
    with pytest.raises(OptionError, match="other donors"):
        placebo_test(other, reuse=a)


def test_leave_one_out_refits_without_each_donor_of_positive_weight(prop99):
    fit = synthetic_cohort(prop99, PROP99, method="synthetic_control", donor_pool=())
    loo = leave_one_out(fit)
    positive = fit.unit_weights.loc[fit.unit_weights["weight"] > 1e-6, "State"]
    assert set(loo.tidy()["State"]) == set(positive)
    first = loo.tidy().iloc[0]
    own = synthetic_cohort(
        prop99[prop99["State"] != first["State"]], PROP99, method="synthetic_control", donor_pool=()
    )
    assert np.isclose(first["estimate"], own.estimate, atol=1e-9)
    assert (loo.low, loo.high) == (loo.tidy()["estimate"].min(), loo.tidy()["estimate"].max())
    everyone = leave_one_out(synthetic_cohort(prop99, PROP99, method="did", donor_pool=()))
    assert len(everyone.tidy()) == 38


def test_donor_pools_are_restricted_as_asked(kukar):
    design = Design()
    treated = kukar.loc[kukar["g"] == 2022, ["kode_desa", "kode_kec", "tambang_dekat"]]
    treated = treated.drop_duplicates("kode_desa")
    donors = kukar[kukar["g"] == 0].drop_duplicates("kode_desa").set_index("kode_desa")
    for pool, check in (
        (("district",), lambda d: (d["kode_kab"] == "64.02").all()),
        (("kecamatan",), lambda d: d["kode_kec"].isin(treated["kode_kec"]).all()),
        (("mining",), lambda d: d["tambang_dekat"].isin(treated["tambang_dekat"]).all()),
    ):
        fit = synthetic_cohort(kukar, design, method="did", cohort=2022, donor_pool=pool)
        assert check(donors.loc[fit.unit_weights["kode_desa"]]), pool
        assert fit.donor_pool == pool
    both = synthetic_cohort(
        kukar, design, method="did", cohort=2022, donor_pool=("kecamatan", "mining")
    )
    keys = set(map(tuple, treated[["kode_kec", "tambang_dekat"]].astype(str).to_numpy()))
    got = donors.loc[both.unit_weights["kode_desa"], ["kode_kec", "tambang_dekat"]].astype(str)
    assert set(map(tuple, got.to_numpy())) <= keys
    with pytest.raises(OptionError, match="columns not in the data: kode_kab"):
        synthetic_cohort(kukar.drop(columns="kode_kab"), design, cohort=2022)
    with pytest.raises(OptionError, match="must be a tuple"):
        synthetic_cohort(kukar, design, cohort=2022, donor_pool="district")
    with pytest.raises(OptionError, match="'kecamatan'"):
        synthetic_cohort(kukar, design, cohort=2022, donor_pool=("kecamatn",))


def test_options_are_honoured_or_refused(kukar, prop99):
    with pytest.raises(OptionError, match="method='sdid'"):
        synthetic_cohort(prop99, PROP99, method="sdid", donor_pool=())
    with pytest.raises(OptionError, match="needs predictors"):
        synthetic_cohort(
            prop99, PROP99, method="synthetic_control", sc_fit="predictors", donor_pool=()
        )
    with pytest.raises(OptionError, match="only with sc_fit='predictors'"):
        synthetic_cohort(prop99, PROP99, predictors=(Predictor(column="Year"),), donor_pool=())
    with pytest.raises(OptionError, match="synthetic control's"):
        synthetic_cohort(
            prop99, PROP99, sc_fit="predictors", predictors=(Predictor(column="Year"),),
            donor_pool=(),
        )  # fmt: skip
    with pytest.raises(OptionError, match="several cohorts"):
        synthetic_cohort(kukar, Design())
    fit = synthetic_cohort(prop99, PROP99, method="did", donor_pool=())
    with pytest.raises(OptionError, match="statistic='ratio'"):
        placebo_test(fit, statistic="ratio")


def test_what_cannot_be_compared_says_why(kukar, prop99):
    assert synthetic_cohort(kukar, Design(), cohort=2025).reason == "too_recent"
    assert synthetic_cohort(kukar, Design(), cohort=2019).reason == "too_few_pre_periods"
    assert synthetic_cohort(kukar, Design(), cohort=2017).reason == "too_few_treated"
    few = prop99[prop99["State"].isin(["California", "Nevada", "Utah"])]
    r, detail = few_desa(few, PROP99, donor_pool=())
    assert isinstance(r, NotEstimable) and r.reason == "too_few_donors" and detail is None
    flat = prop99.assign(PacksPerCapita=1.0)
    assert synthetic_cohort(flat, PROP99, donor_pool=()).reason == "constant_outcome"


def test_desa_missing_a_year_are_left_out_and_counted(kukar):
    full = synthetic_cohort(kukar, Design(), method="did", cohort=2022)
    gone = full.unit_weights["kode_desa"].iloc[0]
    holed = kukar[~((kukar["kode_desa"] == gone) & (kukar["tahun"] == 2020))]
    fit = synthetic_cohort(holed, Design(), method="did", cohort=2022)
    assert fit.n_dropped == full.n_dropped + 1 and fit.dropped_reason == "missing_year"
    assert fit.n_donors == full.n_donors - 1 and gone not in set(fit.unit_weights["kode_desa"])


def test_few_desa_gives_a_results_row_with_the_placebo_inference(kukar):
    est, detail = few_desa(kukar, Design(), method="synthetic_control", cohort=2022, draws=99)
    assert isinstance(est, Estimate) and isinstance(detail, FewDesa)
    row = detail.tidy().iloc[0]
    assert row["method"] == "synthetic_control" and row["ci_method"] == "placebo_test_inversion"
    assert np.isnan(row["se"]) and row["p_value"] == detail.placebo.p_value
    assert est.facts["placebo_se"] == detail.placebo.se > 0
    assert (row["ci_low"], row["ci_high"]) == (detail.placebo.ci_low, detail.placebo.ci_high)
    assert row["n_treated"] == 7 and "placebo_statistic=rmspe_ratio" in row["facts"]
    assert detail.leave_one_out is not None and len(detail.leave_one_out.tidy()) > 0
    # the placebo-variance interval is asked for, and labelled as what it is
    est2, _ = few_desa(
        kukar, Design(), method="synthetic_control", cohort=2022, draws=99,
        with_leave_one_out=False, interval="placebo_variance",
    )  # fmt: skip
    assert est2.ci_method == "placebo_variance" and est2.se == detail.placebo.se
    assert est2.se_type == "placebo" and est.se_type == ""
    assert np.isclose(est2.ci_high - est2.estimate, 1.959964 * est2.se, rtol=1e-6)
    assert np.isclose(est2.p_value, 2 * stats.norm.sf(abs(est2.estimate) / est2.se))
    assert est2.facts["placebo_p_value"] == detail.placebo.p_value
    with pytest.raises(OptionError, match="interval='normal'"):
        few_desa(kukar, Design(), cohort=2022, interval="normal")


#: R synthdid's published placebo standard errors on Proposition 99 (``vcov(method =
#: "placebo")``, 200 replications after ``set.seed(12345)``; the "paper results" vignette's
#: Table 1 of Arkhangelsky et al. 2021): DID 17.7, SC 9.9, SDID 8.4.
PROP99_PLACEBO_SE = {"did": 17.7, "synthetic_control": 9.9, "synthetic_did": 8.4}


@pytest.mark.parametrize("method", list(PROP99_PLACEBO_SE))
def test_placebo_standard_error_is_algorithm_4_as_r_synthdid(prop99, method):
    """Every placebo here (38, exact); R draws 200 with replacement, so its figure is one draw
    of a Monte Carlo estimate of ours: it must lie within that draw's central 95%."""
    fit = synthetic_cohort(prop99, PROP99, method=method, donor_pool=())
    test = placebo_test(fit)
    e = test.placebos["estimate"].to_numpy()
    assert test.exact and np.isclose(test.se, np.sqrt(np.mean((e - e.mean()) ** 2)))
    rng = np.random.default_rng(12345)
    r_style = np.array([np.std(rng.choice(e, 200)) for _ in range(4000)])
    lo, hi = np.percentile(r_style, [2.5, 97.5])
    assert lo < PROP99_PLACEBO_SE[method] < hi, (method, test.se, lo, hi)
    if method == "did":  # by hand: each state's DiD against the 37 others, equal weights
        wide = prop99[prop99["State"] != "California"].pivot(
            index="State", columns="Year", values="PacksPerCapita"
        )
        change = wide.loc[:, 1989:].mean(axis=1) - wide.loc[:, :1988].mean(axis=1)
        own = change - (change.sum() - change) / (len(change) - 1)
        assert np.isclose(test.se, own.std(ddof=0), atol=1e-9)


def test_synthetic_did_recovers_a_known_effect_on_a_factor_model():
    """Simulation truth: Y = unit effect + time effect + loading x factor + noise, 3 treated units
    loaded like a subset of the donors, effect 1.0 from period 8 on. Synthetic DiD's estimate
    lies within 0.15 of it (three times the noise sd / sqrt(3 x 4)), DiD's does not: the factor
    loads the treated units more than the donors' average."""
    rng = np.random.default_rng(7)
    n, t, t0 = 40, 12, 8
    load = np.r_[rng.uniform(1.5, 2.5, 3), rng.uniform(0, 2.5, n - 3)]
    factor = np.linspace(0, 3, t)
    Y = rng.normal(0, 1, n)[:, None] + np.arange(t)[None] * 0.2 + load[:, None] * factor
    Y = Y + rng.normal(0, 0.1, (n, t))
    Y[:3, t0:] += 1.0
    df = pd.DataFrame(
        {"u": np.repeat(np.arange(n), t), "year": np.tile(np.arange(t), n), "y": Y.ravel()}
    ).assign(g=lambda d: np.where(d["u"] < 3, t0, 0))
    design = Design(unit="u", time="year", outcome="y")
    sdid = synthetic_cohort(df, design, donor_pool=())
    did = synthetic_cohort(df, design, method="did", donor_pool=())
    assert abs(sdid.estimate - 1.0) < 0.15 < abs(did.estimate - 1.0)


def test_a_placebo_cache_reuses_placebos_only_for_the_same_donors(kukar, monkeypatch):
    from analysis.methods import synthetic

    calls, fits = [], synthetic._placebo_fits
    monkeypatch.setattr(synthetic, "_placebo_fits", lambda *a: calls.append(1) or fits(*a))
    cache: dict = {}
    kw = {"cohort": 2022, "draws": 49, "with_leave_one_out": False}
    a, da = few_desa(kukar, Design(), placebo_cache=cache, **kw)
    _, db = few_desa(kukar, Design(), placebo_cache=cache, **kw)
    fresh, _ = few_desa(kukar, Design(), **kw)
    assert len(cache) == 1 and len(calls) == 2  # the second call reused the first's
    assert db.placebo.placebos.equals(da.placebo.placebos)
    assert (a.p_value, a.ci_low) == (fresh.p_value, fresh.ci_low)
    assert a.facts["placebo_se"] == fresh.facts["placebo_se"]
    few_donors = kukar[kukar["kode_desa"] != kukar.loc[kukar["g"] == 0, "kode_desa"].iloc[0]]
    few_desa(few_donors, Design(), placebo_cache=cache, **kw)
    assert len(cache) == 2 and len(calls) == 3  # other donors: computed, not reused
