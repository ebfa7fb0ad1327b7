"""Pooling district estimates by meta-analysis.

Pooling district estimates: fixed- and random-effects meta-analysis with I^2 and forest-plot
data.

statsmodels 0.15 ``combine_effects(method_re="dl")`` does not truncate the DerSimonian-Laird
between-district variance at zero: with homogeneous districts it returns a negative tau^2 and a
meaningless pooled effect (tests/test_engine.py shows it). The fixed-effect part and Q come from
statsmodels; tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)) is applied here, and the
result equals statsmodels' whenever its tau^2 is positive (tested).

Paule-Mandel (``method_re="pm"``; Paule, R. C. and Mandel, J. 1982, "Consensus values and
weighting factors", J. Res. Natl. Bur. Stand. 87(5), 377-385): the root of the generalised Q
statistic equal to k - 1, solved here to 1e-12 by Brent's method (statsmodels' iteration stops
when its last change is below atol=1e-5, which promises no more than that; on dat.bcg it lands
within 1e-12). REML (``method_re="reml"``; Viechtbauer, W. 2005,
"Bias and efficiency of meta-analytic variance estimators in the random-effects model", J.
Educ. Behav. Stat. 30(3), 261-293): Fisher scoring from the Hedges estimate as metafor's
``rma(method="REML")``, to a change below 1e-12. Both are checked on metafor's dat.bcg
(tests/test_known_answers.py). I^2 is Higgins and Thompson's (Q - (k - 1)) / Q for every
estimator (metafor's REML output uses tau^2 / (tau^2 + typical v) instead).
Hartung-Knapp-Sidik-Jonkman intervals (Hartung and Knapp 2001; Sidik and Jonkman 2002): the
variance of the pooled effect scaled by the weighted residual dispersion, with t(k - 1)
critical values; used by default when fewer than :data:`HKSJ_BELOW` districts are pooled.
The interval shown always names what was computed: :attr:`Pooled.interval` is ``"hksj"`` or
``"normal"`` and :attr:`Pooled.method_re` the tau^2 estimator.

Prediction interval (Higgins, J. P. T., Thompson, S. G. and Spiegelhalter, D. J. 2009, "A
re-evaluation of random-effects meta-analysis", J. R. Stat. Soc. A 172(1), 137-159, eq. 12):
mu +/- t(k - 2) sqrt(tau^2 + SE(mu)^2), where SE(mu) is the standard error of the pooled
estimate shown (Hartung-Knapp-Sidik-Jonkman when that interval is used); it needs k >= 3.
Leave-one-out: the same pooling (estimator and interval rule) with each district left out.

DerSimonian, R. and Laird, N. (1986), "Meta-analysis in clinical trials", Controlled Clinical
Trials 7(3), 177-188; Higgins, J. P. T. and Thompson, S. G. (2002) for I^2.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from analysis.errors import ConvergenceError, check_option
from analysis.methods.options import MethodRE, PoolInterval, method_names
from analysis.methods.results import Estimate, NotEstimable, Result

#: With fewer districts than this, ``interval="auto"`` uses Hartung-Knapp-Sidik-Jonkman.
HKSJ_BELOW = 20
#: Fewest districts with an estimate that are pooled; with fewer the pooled result is refused.
MIN_DISTRICTS = 2


@dataclass(frozen=True, kw_only=True)
class Pooled:
    """Forest-plot rows (districts and pooled lines) and heterogeneity."""

    forest: pd.DataFrame  # label, estimate, ci_low, ci_high, weight_re, kind
    random_effects: Result
    fixed_effects: Result
    i2: float
    tau2: float
    q_p_value: float
    n_districts: int
    method_re: str = "dl"
    interval: str = ""  # "hksj" or "normal" when pooled, "" when not
    tau: float = np.nan
    prediction_low: float = np.nan
    prediction_high: float = np.nan
    leave_one_out: pd.DataFrame | None = None  # omitted, estimate, ci_low, ci_high, tau2, ...

    def tidy(self) -> pd.DataFrame:
        """The forest rows (districts and the pooled line)."""
        return self.forest

    def __repr__(self) -> str:
        return (
            f"Pooled({self.n_districts} districts, random effects {self.random_effects!r}, "
            f"I2={self.i2:.2f}, tau2={self.tau2:.3g})"
        )

    def _repr_html_(self) -> str:
        return self.forest.to_html(index=False, na_rep="")


def pool_districts(
    table: pd.DataFrame,
    outcome: str,
    method: str,
    method_re: MethodRE = "dl",
    pooled_label: str = "pooled (random effects)",
    interval: PoolInterval = "auto",
) -> Pooled:
    """Pool one outcome/method across districts from the tidy results table.

    Random-effects meta-analysis (DerSimonian and Laird 1986, or Paule and Mandel 1982) with
    I^2 (Higgins and Thompson 2002) and, with few districts, Hartung-Knapp-Sidik-Jonkman
    intervals. Districts that are not estimable are listed in the forest data but not pooled.

    Parameters
    ----------
    table
        Tidy results with columns district, outcome, method, estimate, se, ci_low, ci_high,
        estimable, n_treated, n_control (e.g. the ``results.csv`` of a run's districts).
    outcome
        The outcome pooled.
    method
        The method pooled: a code (``"cs_did"``) or its old English label
        (``"Callaway-Sant'Anna DiD"``, :data:`analysis.methods.options.OLD_METHOD_LABELS`);
        rows carrying either are pooled.
    method_re
        Between-district variance: ``"dl"`` (DerSimonian-Laird, truncated at 0), ``"pm"``
        (Paule-Mandel) or ``"reml"`` (restricted maximum likelihood).
    pooled_label
        The label of the pooled row of the forest data.
    interval
        ``"hksj"`` (Hartung-Knapp-Sidik-Jonkman, t(k-1)), ``"normal"``, or ``"auto"``: HKSJ
        with fewer than :data:`HKSJ_BELOW` districts.

    Returns
    -------
    Pooled
        Forest rows, the random- and fixed-effect results and the heterogeneity; with fewer
        than :data:`MIN_DISTRICTS` estimates both results are ``NotEstimable``.
    """
    check_option("method_re", method_re, MethodRE)
    check_option("interval", interval, PoolInterval)
    t = table[(table["outcome"] == outcome) & table["method"].isin(method_names(method))].copy()
    ok = t[t["estimable"] & t["se"].gt(0)]
    if len(ok) < MIN_DISTRICTS:
        return replace(_too_few(t, outcome, len(ok)), method_re=method_re)
    pooled = _pool(t, ok, outcome, method_re, interval, pooled_label)
    return replace(pooled, leave_one_out=_leave_one_out(ok, outcome, method_re, interval))


def _pool(
    t: pd.DataFrame,
    ok: pd.DataFrame,
    outcome: str,
    method_re: str,
    interval: str,
    pooled_label: str,
) -> Pooled:
    """Pool the rows ``ok`` (at least :data:`MIN_DISTRICTS`); ``t`` adds the unpooled ones."""
    effects, variances = ok["estimate"].to_numpy(), ok["se"].to_numpy() ** 2
    dl = RANDOM_EFFECTS[method_re](effects, variances)
    use_hksj = interval == "hksj" or (interval == "auto" and len(ok) < HKSJ_BELOW)
    re, fe = _pooled_estimates(outcome, ok, dl, method_re, use_hksj)
    lo, hi = prediction_interval(re.estimate, re.se, dl["tau2"], len(ok))
    return Pooled(
        forest=_forest(t, ok, dl["weights_re"], re, pooled_label),
        random_effects=re,
        fixed_effects=fe,
        i2=dl["i2"],
        tau2=dl["tau2"],
        q_p_value=dl["q_p"],
        n_districts=len(ok),
        method_re=method_re,
        interval="hksj" if use_hksj else "normal",
        tau=float(np.sqrt(dl["tau2"])),
        prediction_low=lo,
        prediction_high=hi,
    )


def prediction_interval(mu: float, se: float, tau2: float, k: int) -> tuple[float, float]:
    """The 95% prediction interval of a new district's effect (Higgins et al. 2009).

    Parameters
    ----------
    mu, se
        The pooled estimate and its standard error (the one its interval uses).
    tau2
        The between-district variance.
    k
        The number of districts pooled.

    Returns
    -------
    tuple of float
        ``mu -/+ t(k - 2) * sqrt(tau2 + se**2)``; NaN, NaN with fewer than 3 districts.
    """
    if k < 3 or not np.isfinite(se):
        return np.nan, np.nan
    half = float(stats.t.ppf(0.975, k - 2)) * float(np.sqrt(tau2 + se**2))
    return mu - half, mu + half


def _leave_one_out(ok: pd.DataFrame, outcome: str, method_re: str, interval: str) -> pd.DataFrame:
    """The pooled estimate with each pooled district left out (same estimator and rule).

    With only :data:`MIN_DISTRICTS` districts, leaving one out leaves nothing to pool: the
    row has NaN numbers and an empty ``interval``.
    """
    rows = []
    for i, label in zip(ok.index, ok["district"], strict=True):
        rest = ok.drop(index=i)
        p = (
            _pool(rest, rest, outcome, method_re, interval, "")
            if len(rest) >= MIN_DISTRICTS
            else None
        )
        rows.append(
            {
                "omitted": label,
                "estimate": p.random_effects.estimate if p else np.nan,
                "ci_low": p.random_effects.ci_low if p else np.nan,
                "ci_high": p.random_effects.ci_high if p else np.nan,
                "tau2": p.tau2 if p else np.nan,
                "n_districts": len(rest),
                "interval": p.interval if p else "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=["omitted", "estimate", "ci_low", "ci_high", "tau2", "n_districts", "interval"],
    )


#: What a pooled result estimates.
POOLED_ESTIMAND = "ATT, pooled across districts"


def _too_few(t: pd.DataFrame, outcome: str, k: int) -> Pooled:
    """Fewer than :data:`MIN_DISTRICTS` estimates: the districts listed, nothing pooled."""
    ne = NotEstimable(
        outcome=outcome,
        method="random_effects",
        estimand=POOLED_ESTIMAND,
        reason="too_few_districts",
        detail=f"{k} district(s) with an estimate; pooling needs at least {MIN_DISTRICTS}",
    )
    forest = t.assign(kind="district", weight_re=np.nan)[
        ["district", "estimate", "ci_low", "ci_high", "weight_re", "kind", "estimable"]
    ]
    return Pooled(
        forest=forest.rename(columns={"district": "label"}),
        random_effects=ne,
        fixed_effects=ne,
        i2=np.nan,
        tau2=np.nan,
        q_p_value=np.nan,
        n_districts=k,
    )


def _pooled_estimates(
    outcome: str, ok: pd.DataFrame, dl: dict, method_re: str, use_hksj: bool
) -> tuple[Estimate, Estimate]:
    """The random-effects result (HKSJ with t(k-1), or normal) and the fixed-effect one."""
    k = len(ok)
    said = {"outcome": outcome, "estimand": POOLED_ESTIMAND}
    said.update(n_treated=int(ok["n_treated"].sum()), n_control=int(ok["n_control"].sum()))
    fe = Estimate(**said, method="fixed_effect", estimate=dl["fe"], se=dl["fe_se"])
    facts = {"i2": dl["i2"], "tau2": dl["tau2"], "q_p_value": dl["q_p"], "n_districts": k}
    said.update(method="random_effects", estimate=dl["re"], est_method=method_re)
    if not use_hksj:
        re = Estimate(
            **said,
            se=dl["re_se"],
            se_type="inverse_variance",
            ci_method="normal",
            se_analytic=dl["re_se"],
            facts=facts,
        )
        return re, fe
    se_h = float(np.sqrt(dl["var_hksj"]))
    crit = float(stats.t.ppf(0.975, k - 1))
    p = float(2 * stats.t.sf(abs(dl["re"] / se_h), k - 1)) if se_h > 0 else np.nan
    re = Estimate(
        **said,
        se=se_h,
        ci_low=dl["re"] - crit * se_h,
        ci_high=dl["re"] + crit * se_h,
        p_value=p,
        se_type="hksj",
        ci_method="t",
        crit_value=crit,
        se_analytic=dl["re_se"],
        facts={**facts, "df": k - 1},
    )
    return re, fe


def _forest(
    t: pd.DataFrame, ok: pd.DataFrame, weights: np.ndarray, re: Estimate, pooled_label: str
) -> pd.DataFrame:
    """Forest rows: the pooled districts with their weights, the others, the pooled line."""
    forest = pd.DataFrame(
        {
            "label": list(ok["district"]),
            "estimate": ok["estimate"].to_numpy(),
            "ci_low": ok["ci_low"].to_numpy(),
            "ci_high": ok["ci_high"].to_numpy(),
            "weight_re": weights,
            "kind": "district",
            "estimable": True,
        }
    )
    skipped = t[~t.index.isin(ok.index)]
    return pd.concat(
        [
            forest,
            pd.DataFrame(
                {
                    "label": list(skipped["district"]),
                    "estimate": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "weight_re": np.nan,
                    "kind": "district",
                    "estimable": False,
                }
            ),
            pd.DataFrame(
                [
                    {
                        "label": pooled_label,
                        "estimate": re.estimate,
                        "ci_low": re.ci_low,
                        "ci_high": re.ci_high,
                        "weight_re": 1.0,
                        "kind": "pooled",
                        "estimable": True,
                    }
                ]
            ),
        ],
        ignore_index=True,
    )


def random_effects_dl(effects: np.ndarray, variances: np.ndarray) -> dict:
    """DerSimonian-Laird random effects with tau^2 truncated at zero (FE and Q from statsmodels).

    DerSimonian, R. and Laird, N. (1986), "Meta-analysis in clinical trials", Controlled
    Clinical Trials 7(3), 177-188.
    """
    res = combine_effects(effects, variances, method_re="dl")
    w = 1 / variances
    k = len(effects)
    q = float(res.q)
    tau2 = max(0.0, (q - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    wr = 1 / (variances + tau2)
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    return {
        "fe": float(res.mean_effect_fe),
        "fe_se": float(res.sd_eff_w_fe),
        "re": float((wr * effects).sum() / wr.sum()),
        "re_se": float(np.sqrt(1 / wr.sum())),
        "tau2": tau2,
        "i2": i2,
        "q": q,
        "q_p": float(stats.chi2.sf(q, k - 1)),
        "weights_re": wr / wr.sum(),
        "var_hksj": _hksj_var(effects, variances, tau2),
    }


def _hksj_var(effects: np.ndarray, variances: np.ndarray, tau2: float) -> float:
    """Hartung-Knapp-Sidik-Jonkman variance of the random-effects mean."""
    wr = 1 / (variances + tau2)
    mu = (wr * effects).sum() / wr.sum()
    k = len(effects)
    return float((wr * (effects - mu) ** 2).sum() / (k - 1) / wr.sum())


def _q_gen(effects: np.ndarray, variances: np.ndarray, tau2: float) -> float:
    """The generalised Q statistic sum w (y - mu)^2 with w = 1 / (v + tau^2)."""
    w = 1 / (variances + tau2)
    mu = (w * effects).sum() / w.sum()
    return float((w * (effects - mu) ** 2).sum())


def tau2_paule_mandel(effects: np.ndarray, variances: np.ndarray, tol: float = 1e-12) -> float:
    """Paule-Mandel tau^2: the root of Q_gen(tau^2) = k - 1 (0 when Q_gen(0) <= k - 1).

    Q_gen decreases in tau^2, so the root is bracketed by doubling and found by Brent's method
    to ``tol`` (Paule and Mandel 1982; DerSimonian and Kacker 2007).
    """
    k = len(effects)
    target = k - 1
    if _q_gen(effects, variances, 0.0) <= target:
        return 0.0
    hi = max(float(np.var(effects)), 1e-8)
    while _q_gen(effects, variances, hi) > target:
        hi *= 2
    f = lambda t: _q_gen(effects, variances, t) - target  # noqa: E731
    return float(optimize.brentq(f, 0.0, hi, xtol=tol, rtol=4 * np.finfo(float).eps))


def tau2_reml(
    effects: np.ndarray, variances: np.ndarray, tol: float = 1e-12, maxiter: int = 1000
) -> float:
    """REML tau^2 by Fisher scoring (Viechtbauer 2005; metafor ``rma(method="REML")``).

    tau^2 += (y'PPy - tr P) / tr(PP) with P = W - W 1 (1'W 1)^-1 1'W, from the Hedges estimate,
    halving a step that would go below 0, until the change is below ``tol``.
    """
    y, v = np.asarray(effects, float), np.asarray(variances, float)
    k = len(y)
    tau2 = max(0.0, float(((y - y.mean()) ** 2).sum() / (k - 1) - v.mean()))  # Hedges (HE)
    for _ in range(maxiter):
        w = 1 / (v + tau2)
        sw = w.sum()
        Py = w * (y - (w * y).sum() / sw)
        tr_p = sw - (w**2).sum() / sw
        tr_pp = (w**2).sum() - 2 * (w**3).sum() / sw + ((w**2).sum() / sw) ** 2
        adj = (float(Py @ Py) - tr_p) / tr_pp
        while tau2 + adj < 0:
            adj /= 2
        tau2 += adj
        if abs(adj) < tol:
            return float(tau2)
    raise ConvergenceError(
        f"REML did not converge in {maxiter} Fisher-scoring steps",
        key="pooling.reml",
        maxiter=maxiter,
    )


def _random_effects(effects: np.ndarray, variances: np.ndarray, tau2: float, method: str) -> dict:
    """The pooled results for a given tau^2 (fixed effect and Q from statsmodels)."""
    res = combine_effects(effects, variances, method_re="dl")
    k = len(effects)
    q = float(res.q)
    wr = 1 / (variances + tau2)
    return {
        "fe": float(res.mean_effect_fe),
        "fe_se": float(res.sd_eff_w_fe),
        "re": float((wr * effects).sum() / wr.sum()),
        "re_se": float(np.sqrt(1 / wr.sum())),
        "tau2": float(tau2),
        "i2": max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0,
        "q": q,
        "q_p": float(stats.chi2.sf(q, k - 1)),
        "weights_re": wr / wr.sum(),
        "var_hksj": _hksj_var(effects, variances, tau2),
        "method_re": method,
    }


def random_effects_pm(effects: np.ndarray, variances: np.ndarray) -> dict:
    """Paule-Mandel random effects (:func:`tau2_paule_mandel`, solved to 1e-12).

    Paule, R. C. and Mandel, J. (1982), "Consensus values and weighting factors", Journal of
    Research of the National Bureau of Standards 87(5), 377-385.
    """
    return _random_effects(effects, variances, tau2_paule_mandel(effects, variances), "pm")


def random_effects_reml(effects: np.ndarray, variances: np.ndarray) -> dict:
    """REML random effects (:func:`tau2_reml`).

    Viechtbauer, W. (2005), "Bias and efficiency of meta-analytic variance estimators in the
    random-effects model", Journal of Educational and Behavioral Statistics 30(3), 261-293.
    """
    return _random_effects(effects, variances, tau2_reml(effects, variances), "reml")


#: The tau^2 estimator of each ``method_re``.
RANDOM_EFFECTS = {"dl": random_effects_dl, "pm": random_effects_pm, "reml": random_effects_reml}
