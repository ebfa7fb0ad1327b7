"""The wild cluster restricted bootstrap against WildBootTests.jl and the other references.

Published case: WildBootTests.jl's ``test/unittests.log`` on its ``collapsed.dta`` (the
fixture ``wildboottests_collapsed.csv``, source in tests/fixtures/README.md):
``regress hasinsurance selfemployed post post_self, cluster(year)`` (8 clusters) and
``boottest post_self=.04, weight(webb) reps(9999999)``: t(7) = 2.0194, p = 0.0757.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis import district as dist
from analysis import paths
from analysis.errors import OptionError
from analysis.methods import inference, panel
from analysis.methods.crosssection import compare_year
from analysis.methods.inference import wild_cluster_bootstrap
from analysis.methods.panel import twfe

FIXTURE = paths.ROOT / "tests" / "fixtures" / "wildboottests_collapsed.csv"


@pytest.fixture(scope="module")
def collapsed():
    d = pd.read_csv(FIXTURE)
    other = sm.add_constant(d[["selfemployed", "post"]]).to_numpy(float)
    return d["hasinsurance"].to_numpy(float), d["post_self"].to_numpy(float), d["year"], other


def test_webb_enumeration_reproduces_the_published_8_cluster_example(collapsed):
    """6^8 = 1,679,616 Webb patterns, each once: exact, so the published 4 decimals must hold
    (WildBootTests' 9,999,999 random draws have a Monte Carlo SE of 0.0001)."""
    y, x, year, other = collapsed
    wb = wild_cluster_bootstrap(
        y, x, year, draws=6**8, weights="webb", other=other, null=0.04, interval=False
    )
    assert wb.enumerated and wb.draws == 6**8 and wb.n_clusters == 8 and wb.n_params == 4
    assert round(wb.t_stat, 4) == 2.0194
    assert round(wb.p_value_bootstrap, 4) == 0.0757
    # CRV1 with (G/(G-1))(N-1)/(N-k): the SE of Stata's regress, cluster() (and statsmodels)
    fit = sm.OLS(y, np.column_stack([other, x])).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(year)[0]}
    )
    assert wb.se == pytest.approx(float(fit.bse[-1]), rel=1e-10)
    assert wb.estimate == pytest.approx(float(fit.params[-1]), rel=1e-12)
    # the headline p-value is never below the t(G-1) one
    assert wb.p_value == pytest.approx(max(0.0757423, inference.t_p_value(wb.t_stat, 8)), abs=1e-6)


def test_rademacher_enumeration_matches_the_wildboottest_package(collapsed):
    """2^8 = 256 <= 999 draws: enumerated as WildBootTests.jl does. The ``wildboottest`` 0.3.2
    package (full enumeration, null shifted into the outcome) gives 18/256 = 0.0703125 here;
    exact, so equality."""
    y, x, year, other = collapsed
    wb = wild_cluster_bootstrap(y, x, year, weights="rademacher", other=other, null=0.04)
    assert wb.enumerated and wb.draws == 256
    assert wb.p_value_bootstrap == 18 / 256


def test_the_null_is_imposed_with_the_other_regressors_re_estimated(collapsed):
    """Only the restricted bootstrap with re-estimated regressors gives the published p; the
    former shortcut (residualised y flipped, never re-residualised) gave 0.0734 and a CRV1
    factor without k gave t 2.1812 (issue 20)."""
    y, x, year, other = collapsed
    wb = wild_cluster_bootstrap(y, x, year, draws=6**8, other=other, null=0.04, interval=False)
    shortcut = wild_cluster_bootstrap(
        y - other @ np.linalg.lstsq(other, y, rcond=None)[0],
        x - other @ np.linalg.lstsq(other, x, rcond=None)[0],
        year,
        draws=6**8,
        null=0.04,
        interval=False,
    )
    assert abs(shortcut.t_stat - wb.t_stat) > 0.1  # k = 1 instead of 4 in (N - 1) / (N - k)
    assert abs(shortcut.p_value_bootstrap - wb.p_value_bootstrap) > 0.001


def test_interval_inverts_the_bootstrap_test(collapsed):
    """Every null inside the interval is not rejected at 5%, just outside it is (same draws).

    Enumerated Webb weights give [0.03850, 0.07106]: narrower than estimate +- t(7) SE, so the
    reported interval is the t(7) one (the floor), and the inversion is checked on its own.
    """
    y, x, year, other = collapsed
    cl = pd.factorize(year)[0]
    res, rank = inference._projection(other)
    parts = inference._wcr_parts(y, x, cl, 8, res, 1 + rank)
    blocks, _, _ = inference._weight_blocks("webb", 8, 9999, np.random.default_rng(3))
    lo, hi = inference._inverted_interval(parts, blocks, 0.05, 2 * parts.se)
    eps = 1e-6 * parts.se
    for end, inward in ((lo, 1), (hi, -1)):
        assert inference._p_at(parts, end + inward * eps, blocks) > 0.05
        assert inference._p_at(parts, end - inward * eps, blocks) <= 0.05
    wb = wild_cluster_bootstrap(y, x, year, draws=9999, seed=3, other=other)
    tc = inference.t_critical(8)
    assert (wb.ci_low, wb.ci_high) == pytest.approx(
        (wb.estimate - tc * wb.se, wb.estimate + tc * wb.se)
    )
    assert lo > wb.ci_low and hi < wb.ci_high


def test_wild_bootstrap_refuses_what_it_cannot_do(collapsed):
    y, x, year, other = collapsed
    with pytest.raises(OptionError, match="two clusters"):
        wild_cluster_bootstrap(y, x, np.zeros(len(y)), other=other)
    with pytest.raises(OptionError, match="n_params"):
        wild_cluster_bootstrap(y, x, year, residualise=lambda a: a)
    with pytest.raises(OptionError, match="mammen"):
        wild_cluster_bootstrap(y, x, year, weights="normal", other=other)


@pytest.fixture(scope="module")
def kukar():
    return dist.prepare(paths.EXAMPLE_DIR, "64.02")


@pytest.mark.parametrize("covs", [(), ("dana_desa_juta", "penduduk_log")])
def test_twfe_bootstrap_t_is_pyfixest_t(kukar, covs):
    """The bootstrap's CRV1 SE with fixed effects projected out and pyfixest's k (desa effects
    nested in kecamatan not counted) equals pyfixest's (1e-8: alternating projections)."""
    d, _, _ = panel._twfe_sample(kukar.panel, kukar.design, covs)
    d, inter = panel._with_year_interactions(d, kukar.design, covs)
    k = panel._twfe_n_params(d, kukar.design, inter)
    wb = panel._twfe_wild_bootstrap(d, kukar.design, inter, (999, 1, "webb"), k)
    a = twfe(kukar.panel, kukar.design, covariates=covs)
    assert wb.se == pytest.approx(a.se, rel=1e-8)
    assert wb.estimate == pytest.approx(a.estimate, rel=1e-10)
    b = twfe(kukar.panel, kukar.design, covariates=covs, inference="bootstrap")
    assert b.ci_method == "wild_cluster_bootstrap" and b.facts["boot_weights"] == "webb"
    assert b.ci_low <= b.estimate - inference.t_critical(b.n_clusters) * b.se + 1e-12


def test_regression_adjustment_uses_the_same_bootstrap(kukar):
    """The cross-section's regression adjustment: the same function, with the covariates as
    the other regressors; its interval is the bootstrap's and contains the t(G-1) one."""
    cs = compare_year(kukar.panel, kukar.design, kukar.last_year)
    ra = next(r for r in cs.results if r.method == "regression")
    assert ra.ci_method == "wild_cluster_bootstrap" and ra.facts["draws"] == 999
    assert ra.ci_low <= ra.ci_low_analytic + 1e-12 and ra.ci_high >= ra.ci_high_analytic - 1e-12
    assert ra.p_value >= ra.p_value_analytic
