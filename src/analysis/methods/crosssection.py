"""Cross-sectional comparisons for one outcome year.

Cross-sectional comparisons for one outcome year: naive difference, regression adjustment,
propensity-score weighting (IPW), doubly robust AIPW and nearest-neighbour matching.

Estimators wrap statsmodels. Methods follow Imbens & Rubin (2015, ch. 12-19); the ATT
weights are those of Hirano, Imbens & Ridder (2003); AIPW is the doubly robust ATT of
Sant'Anna & Zhao (2020, cross-section case, nuisance estimation ignored in the variance);
matching is 1:1 nearest neighbour on the logit of the propensity score with replacement
(Abadie & Imbens 2006 variance without bias correction).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.design import Design
from analysis.errors import OptionError, check_option
from analysis.methods.balance import balance_table
from analysis.methods.inference import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    coefficient_estimate,
    wild_cluster_bootstrap,
)
from analysis.methods.options import (
    CrossSectionEstimator,
    Inference,
    NaiveSE,
    PropensityEstimand,
    allowed,
)
from analysis.methods.panel import MIN_TREATED
from analysis.methods.results import Estimate, NotEstimable, Result, to_frame
from analysis.methods.sensitivity import Robustness, ovb_bound, partial_r2, robustness_value

#: Trimming rule for the propensity score (stated in every brief): desa with a score outside
#: [TRIM, 1 - TRIM] are left out, because their weights would be extreme.
TRIM = 0.02
#: Newton iterations of the propensity logit. A logit that converges does so in well under 25
#: (quadratic convergence); one that has not by then is separating or has too many covariates
#: for its desa, and more iterations only cost time (about 100 s with a few hundred
#: covariates at statsmodels' former 200): it is reported as not converged.
PS_MAX_ITER = 35
#: The estimators :func:`compare_year` computes unless told otherwise.
ALL_ESTIMATORS: tuple[str, ...] = allowed(CrossSectionEstimator)
_WEIGHTING = ("ipw", "aipw", "matching")


def naive_difference(
    y: np.ndarray, d: np.ndarray, outcome: str = "y", se_type: NaiveSE = "classical"
) -> Result:
    """Difference in means with a classical (equal-variance OLS) or HC1 standard error.

    The unadjusted comparison (Imbens and Rubin 2015, ch. 6), shown beside the adjusted ones.
    """
    n1, n0 = int(d.sum()), int((1 - d).sum())
    if n1 < 1 or n0 < 1:
        return NotEstimable(
            outcome=outcome,
            method="naive",
            estimand="difference in means",
            reason="too_few_treated" if n1 < 1 else "no_control",
            n_treated=n1,
            n_control=n0,
        )
    X = sm.add_constant(d.astype(float))
    fit = sm.OLS(y, X).fit(cov_type="nonrobust" if se_type == "classical" else "HC1")
    return Estimate(
        outcome=outcome,
        method="naive",
        estimand="difference in means",
        estimate=float(fit.params[1]),
        se=float(fit.bse[1]),
        n_treated=n1,
        n_control=n0,
        est_method="difference_in_means",
        se_type="iid" if se_type == "classical" else "HC1",
    )


@dataclass(frozen=True, kw_only=True)
class PropensityFit:
    """Propensity scores with their overlap and weight diagnostics."""

    score: np.ndarray
    kept: np.ndarray  # inside the trimming bounds
    weights: np.ndarray  # ATT weights on kept units (0 elsewhere)
    n_trimmed_treated: int
    n_trimmed_control: int
    weight_min: float
    weight_max: float
    ess_control: float  # Kish effective sample size of the weighted comparison group
    converged: bool


def _design_matrix(df: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    X = df[covariates].astype(float)
    X = X.loc[:, X.std() > 0]
    return sm.add_constant(X, has_constant="add")


def propensity(
    df: pd.DataFrame,
    covariates: list[str],
    treated: str = "_d",
    trim: float = TRIM,
    estimand: PropensityEstimand = "ATT",
) -> PropensityFit:
    """Logit propensity score, trimming, and IPW weights.

    Rosenbaum, P. R. and Rubin, D. B. (1983), "The central role of the propensity score in
    observational studies for causal effects", Biometrika 70(1), 41-55. Weights: ATT 1 and
    e/(1-e), ATE 1/e and 1/(1-e) (Hirano, Imbens and Ridder 2003); scores outside
    [trim, 1 - trim] are left out. At most :data:`PS_MAX_ITER` Newton iterations.
    """
    d = df[treated].to_numpy(dtype=float)
    X = _design_matrix(df, covariates)
    with warnings.catch_warnings():  # separation and non-convergence: reported as converged=False
        warnings.simplefilter("ignore")
        try:
            fit = sm.Logit(d, X).fit(disp=0, maxiter=PS_MAX_ITER)
            score, ok = fit.predict(X).to_numpy(), bool(fit.mle_retvals.get("converged", True))
        except np.linalg.LinAlgError:  # perfect separation: regularise lightly
            fit = sm.Logit(d, X).fit_regularized(disp=0, alpha=1e-3, maxiter=PS_MAX_ITER)
            score, ok = fit.predict(X).to_numpy(), False
    kept = (score >= trim) & (score <= 1 - trim) if trim > 0 else np.ones(len(d), dtype=bool)
    if estimand == "ATT":
        w = np.where(d == 1, 1.0, score / (1 - score))
    else:
        w = np.where(d == 1, 1 / score, 1 / (1 - score))
    w = np.where(kept, w, 0.0)
    wc = w[(d == 0) & kept]
    ess = float(wc.sum() ** 2 / (wc**2).sum()) if len(wc) else 0.0
    wk = w[kept]
    return PropensityFit(
        score=score,
        kept=kept,
        weights=w,
        n_trimmed_treated=int(((d == 1) & ~kept).sum()),
        n_trimmed_control=int(((d == 0) & ~kept).sum()),
        weight_min=float(wk.min()) if len(wk) else np.nan,
        weight_max=float(wk.max()) if len(wk) else np.nan,
        ess_control=ess,
        converged=ok,
    )


def _cov_kwargs(groups: np.ndarray | None) -> dict:
    if groups is None:
        return {"cov_type": "HC1"}
    return {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(groups)[0]}}


def ipw(
    y: np.ndarray,
    d: np.ndarray,
    weights: np.ndarray,
    outcome: str,
    groups: np.ndarray | None = None,
    estimand: str = "ATT",
    cov_type: str | None = None,
) -> Result:
    """Weighted regression of the outcome on treatment (robust or cluster-robust SE).

    Inverse probability weighting: Hirano, K., Imbens, G. W. and Ridder, G. (2003), "Efficient
    estimation of average treatment effects using the estimated propensity score",
    Econometrica 71(4), 1161-1189.
    """
    keep = weights > 0
    X = sm.add_constant(d[keep].astype(float))
    kw = (
        {"cov_type": cov_type}
        if cov_type
        else _cov_kwargs(None if groups is None else groups[keep])
    )
    fit = sm.WLS(y[keep], X, weights=weights[keep]).fit(**kw)
    return Estimate(
        outcome=outcome,
        method="ipw",
        estimand=estimand,
        estimate=float(fit.params[1]),
        se=float(fit.bse[1]),
        n_treated=int(d[keep].sum()),
        n_control=int((1 - d[keep]).sum()),
        est_method="ipw",
        se_type=kw["cov_type"] if kw["cov_type"] != "cluster" else "CRV1",
        n_clusters=0 if groups is None else int(len(np.unique(groups[keep]))),
    )


def aipw_att(
    y: np.ndarray,
    d: np.ndarray,
    X: pd.DataFrame,
    fit: PropensityFit,
    outcome: str,
    groups: np.ndarray | None = None,
) -> Result:
    """Doubly robust ATT: outcome regression on comparison desa plus propensity weighting.

    Sant'Anna, P. H. C. and Zhao, J. (2020), "Doubly robust difference-in-differences
    estimators", Journal of Econometrics 219(1), 101-122 (cross-section case; the variance
    ignores the estimation of the nuisance models).
    """
    keep = fit.kept
    y, d, Xk, e = y[keep], d[keep], X[keep], fit.score[keep]
    Xm = _design_matrix(Xk, list(Xk.columns))
    ctrl = d == 0
    m0 = sm.OLS(y[ctrl], Xm[ctrl]).fit().predict(Xm).to_numpy()
    r = y - m0
    w0 = np.where(ctrl, e / (1 - e), 0.0)
    p1 = d.mean()
    mu_w = (w0 * r).sum() / w0.sum()
    tau = r[d == 1].mean() - mu_w
    n = len(y)
    psi = d * (r - r[d == 1].mean()) / p1 - w0 * (r - mu_w) / w0.mean()
    if groups is None:
        se = float(np.sqrt(np.sum(psi**2)) / n)
    else:
        s = pd.Series(psi).groupby(groups[keep]).sum().to_numpy()
        se = float(np.sqrt(len(s) / (len(s) - 1) * np.sum(s**2)) / n)
    return Estimate(
        outcome=outcome,
        method="aipw",
        estimand="ATT",
        estimate=float(tau),
        se=se,
        n_treated=int(d.sum()),
        n_control=int(ctrl.sum()),
        est_method="aipw",
        se_type="influence_function",
        n_clusters=0 if groups is None else int(len(np.unique(groups[keep]))),
    )


def nn_match(
    y: np.ndarray,
    d: np.ndarray,
    score: np.ndarray,
    outcome: str,
    caliper_sd: float = 0.2,
    min_treated: int = MIN_TREATED,
) -> Result:
    """1:1 nearest neighbour on the logit propensity score, with replacement and a caliper.

    Abadie, A. and Imbens, G. W. (2006), "Large sample properties of matching estimators for
    average treatment effects", Econometrica 74(1), 235-267 (variance without bias correction).
    """
    lp = np.log(score / (1 - score))
    t_idx, c_idx = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    if len(c_idx) == 0:
        return NotEstimable(outcome=outcome, method="matching", estimand="ATT", reason="no_control")
    caliper = caliper_sd * lp.std()
    order = np.argsort(lp[c_idx])
    cs = lp[c_idx][order]
    pos = (
        np.clip(np.searchsorted(cs, lp[t_idx]), 1, len(cs) - 1)
        if len(cs) > 1
        else np.zeros(len(t_idx), dtype=int)
    )
    left, right = pos - 1, pos
    if len(cs) > 1:
        pick = np.where(np.abs(cs[left] - lp[t_idx]) <= np.abs(cs[right] - lp[t_idx]), left, right)
    else:
        pick = pos
    match = c_idx[order][pick]
    ok = np.abs(lp[match] - lp[t_idx]) <= caliper
    if ok.sum() < min_treated:
        return NotEstimable(
            outcome=outcome,
            method="matching",
            estimand="ATT",
            reason="no_overlap",
            detail=f"{int(ok.sum())} matched within the caliper",
        )
    diff = y[t_idx[ok]] - y[match[ok]]
    tau = float(diff.mean())
    n1 = int(ok.sum())
    K = pd.Series(match[ok]).value_counts().to_numpy()
    s0 = np.var(y[np.unique(match[ok])], ddof=1) if len(np.unique(match[ok])) > 1 else 0.0
    var = (np.sum((diff - tau) ** 2) + np.sum(K * (K - 1)) * s0) / n1**2
    return Estimate(
        outcome=outcome,
        method="matching",
        estimand="ATT",
        estimate=tau,
        se=float(np.sqrt(var)),
        n_treated=n1,
        n_control=int(len(np.unique(match[ok]))),
        est_method="nearest_neighbour",
        se_type="abadie_imbens",
        n_dropped=len(t_idx) - n1,
        dropped_reason="outside_caliper" if len(t_idx) > n1 else "",
        facts={"caliper_sd": caliper_sd},
    )


@dataclass(frozen=True, kw_only=True)
class CrossSection:
    """All cross-sectional results for one outcome and year.

    ``sensitivity``: Cinelli-Hazlett robustness facts of the regression adjustment
    (:class:`analysis.methods.sensitivity.Robustness`), or None.
    """

    results: list[Result]
    balance: pd.DataFrame | None
    propensity: PropensityFit | None
    data: pd.DataFrame | None
    sensitivity: object = None

    def tidy(self) -> pd.DataFrame:
        """The results as one table (:data:`analysis.methods.results.COLUMNS`)."""
        return to_frame(self.results)

    def __repr__(self) -> str:
        return f"CrossSection({len(self.results)} results)"

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, na_rep="")


def compare_year(
    panel: pd.DataFrame,
    design: Design,
    year: int,
    trim: float = TRIM,
    caliper_sd: float = 0.2,
    min_treated: int = MIN_TREATED,
    inference: Inference = "bootstrap",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    benchmark: str | None = None,
    estimators: tuple[CrossSectionEstimator, ...] = ALL_ESTIMATORS,
) -> CrossSection:
    """Compare desa exposed by ``year`` with never-partnered desa, in ``year``.

    Covariates are the design's plus the outcome in the first panel year (before any start).
    Desa whose partnership starts after ``year`` are left out of both groups. The estimators
    follow Imbens and Rubin (2015); AIPW is the doubly robust ATT of Sant'Anna and Zhao (2020),
    matching Abadie and Imbens (2006), the robustness facts Cinelli and Hazlett (2020).

    Parameters
    ----------
    panel, design
        The desa-year panel (with ``g``) and its column roles.
    year
        The outcome year compared.
    trim
        Propensity scores outside [trim, 1 - trim] are left out (0 <= trim < 0.5).
    caliper_sd
        Matching caliper in SDs of the logit score (> 0).
    min_treated
        Fewest partnered (and comparison) desa for an estimate.
    inference, draws, seed
        Regression adjustment: ``"bootstrap"`` = wild cluster restricted bootstrap (Webb
        weights) or ``"analytic"`` = CRV1 with t(G-1); other estimators: analytic, clustered.
    benchmark
        Observed covariate for the Cinelli-Hazlett bounds (default: the baseline outcome).
    estimators
        The estimators computed, in this order (default: all); the propensity score is fitted
        only when "ipw", "aipw" or "matching" is among them.

    Returns
    -------
    CrossSection
        Every estimator's result, the balance table, the propensity fit and the robustness facts.
    """
    _check_cross_section_options(inference, trim, caliper_sd, min_treated, estimators)
    y, est = design.outcome, f"ATT in {year}"
    d, covs, n_missing = _year_sample(panel, design, year)
    n1, n0 = int(d["_d"].sum()), int((1 - d["_d"]).sum())
    refused = _refused_year(d, y, est, n1, n0, min_treated)
    if refused is not None:
        kept = [r for r in refused.results if r.method in estimators]
        return replace(refused, results=kept)
    yv, dv = d[y].to_numpy(dtype=float), d["_d"].to_numpy(dtype=float)
    groups = d[design.cluster].to_numpy() if design.cluster in d else None
    drop = {"n_dropped": n_missing, "dropped_reason": "missing_covariate" if n_missing else ""}
    res: list[Result] = []
    if "naive" in estimators:
        res.append(replace(naive_difference(yv, dv, y, se_type="HC1"), estimand=est, **drop))
    X = _design_matrix(d, covs)
    X.insert(1, "_d", dv)
    robust = None
    if "regression" in estimators:
        how = (inference, draws, seed)
        ra = _regression_adjustment(yv, dv, X, groups, design, est, covs, drop, how)
        res.append(ra)
        robust = _robustness(yv, dv, X, d, ra.estimate, benchmark or _benchmark(covs))
    if not set(estimators) & set(_WEIGHTING):
        bal = balance_table(d, covs)
        return CrossSection(results=res, balance=bal, propensity=None, data=d, sensitivity=robust)
    ps = propensity(d, covs, trim=trim)
    res += _propensity_results(yv, dv, d, covs, ps, groups, design, est, drop,
                               (trim, caliper_sd, min_treated), estimators)  # fmt: skip
    overlap = not any(getattr(r, "reason", "") == "no_overlap" for r in res)
    bal = balance_table(d, covs, weights=ps.weights) if overlap else balance_table(d, covs)
    res = sorted(res, key=lambda r: ALL_ESTIMATORS.index(r.method))
    return CrossSection(results=res, balance=bal, propensity=ps, data=d, sensitivity=robust)


def _propensity_results(
    yv: np.ndarray,
    dv: np.ndarray,
    d: pd.DataFrame,
    covs: list[str],
    ps: PropensityFit,
    groups: np.ndarray | None,
    design: Design,
    est: str,
    drop: dict,
    rules: tuple[float, float, int],
    estimators: tuple[str, ...],
) -> list[Result]:
    """IPW, AIPW and matching as asked (``rules``: trim, caliper, minimum), or why not."""
    trim, caliper_sd, min_treated = rules
    kept = dv[ps.kept]
    if int((kept == 1).sum()) < min_treated or int((kept == 0).sum()) < min_treated:
        detail = f"{ps.n_trimmed_treated} partnered desa outside [{trim}, {1 - trim}]"
        n1, n0 = int(dv.sum()), int((1 - dv).sum())
        said = {"outcome": design.outcome, "estimand": est, "n_treated": n1, "n_control": n0}
        return [
            NotEstimable(**said, method=m, reason="no_overlap", detail=detail)
            for m in _WEIGHTING
            if m in estimators
        ]
    out: list[Result] = []
    if {"ipw", "aipw"} & set(estimators):
        w = _weighted(yv, dv, d, covs, ps, groups, design, est, drop, trim)
        out += [r for r in w if r.method in estimators]
    if "matching" in estimators:
        out.append(_matched(yv, dv, ps, design.outcome, est, caliper_sd, min_treated, trim))
    return out


def _check_cross_section_options(
    inference: str, trim: float, caliper_sd: float, min_treated: int, estimators: tuple
) -> None:
    check_option("inference", inference, Inference)
    if isinstance(estimators, str) or not estimators:
        raise OptionError(
            f"estimators={estimators!r} must be a non-empty tuple of names",
            key="option.estimators",
            value=repr(estimators),
        )
    for e in estimators:
        check_option("estimators", e, CrossSectionEstimator)
    if not 0 <= trim < 0.5:
        raise OptionError(
            f"trim={trim!r} must be in [0, 0.5)", key="option.trim", name="trim", value=repr(trim)
        )
    if not caliper_sd > 0:
        raise OptionError(
            f"caliper_sd={caliper_sd!r} must be positive",
            key="option.positive",
            name="caliper_sd",
            value=repr(caliper_sd),
        )
    if min_treated < 1:
        raise OptionError(
            f"min_treated={min_treated!r} must be at least 1",
            key="option.at_least",
            name="min_treated",
            value=repr(min_treated),
            min=1,
        )


def _year_sample(
    panel: pd.DataFrame, design: Design, year: int
) -> tuple[pd.DataFrame, list[str], int]:
    """The sample of one year's comparison.

    The desa of ``year`` exposed by then or never, with a baseline year before any start:
    complete rows, the covariates used and the number of rows left out for a missing value.
    """
    y = design.outcome
    first_year = int(panel[design.time].min())
    d = panel[panel[design.time] == year].copy()
    d = d[(d["g"] == 0) | (d["g"] <= year)]
    d = d[~((d["g"] > 0) & (d["g"] <= first_year))]  # no baseline before the start
    covs = [c for c in design.covariates if c in d.columns]
    if design.baseline_outcome:
        base = panel[panel[design.time] == first_year].set_index(design.unit)[y]
        d["baseline"] = d[design.unit].map(base)
        covs = covs + ["baseline"]
    n_all = len(d)
    d = d.dropna(subset=[y, *covs])
    d["_d"] = (d["g"] > 0).astype(int)
    return d, covs, n_all - len(d)


def _refused_year(
    d: pd.DataFrame, y: str, est: str, n1: int, n0: int, min_treated: int
) -> CrossSection | None:
    """The results of a year that cannot be compared (too few desa, constant outcome), or None."""
    said = {"outcome": y, "estimand": est, "n_treated": n1, "n_control": n0}
    if n1 < min_treated or n0 < min_treated:
        reason = "no_control" if n0 < min_treated else "too_few_treated"
        detail = f"{n1} partnered, {n0} other desa"
        res = [
            NotEstimable(**said, method=m, reason=reason, detail=detail)
            for m in ("naive", "regression", "ipw", "aipw")
        ]
        return CrossSection(results=res, balance=None, propensity=None, data=None)
    if d[y].nunique() < 2:
        ne = NotEstimable(**said, method="naive", reason="constant_outcome")
        return CrossSection(results=[ne], balance=None, propensity=None, data=None)
    return None


def _regression_adjustment(
    yv: np.ndarray,
    dv: np.ndarray,
    X: pd.DataFrame,
    groups: np.ndarray | None,
    design: Design,
    est: str,
    covs: list[str],
    drop: dict,
    how: tuple[str, int, int],
) -> Estimate:
    """Regression adjustment: OLS with the covariates.

    OLS of the outcome on partnering and the covariates (cluster-robust), with the wild
    cluster bootstrap when ``how`` (inference, draws, seed) asks for it and there are clusters.
    """
    inference, draws, seed = how
    G = int(len(np.unique(groups))) if groups is not None else 0
    ols = sm.OLS(yv, X).fit(**_cov_kwargs(groups))
    b, se = float(ols.params["_d"]), float(ols.bse["_d"])
    wb = None
    if inference == "bootstrap" and groups is not None:
        other = X.drop(columns="_d").to_numpy(float)  # the null imposed with them re-estimated
        wb = wild_cluster_bootstrap(yv, dv, groups, draws, seed, "webb", other=other)
    n1, n0 = int(dv.sum()), int((1 - dv).sum())
    clustered = groups is not None
    return coefficient_estimate(
        design.outcome,
        "regression",
        est,
        b,
        se,
        n1,
        n0,
        G,
        wb,
        est_method="ols",
        se_type="CRV1" if clustered else "HC1",
        cluster=design.cluster if clustered else "",
        facts={"covariates": ",".join(covs)},
        **drop,
    )


def _benchmark(covs: list[str]) -> str | None:
    """The default benchmark covariate: the baseline outcome, else the first covariate."""
    return "baseline" if "baseline" in covs else (covs[0] if covs else None)


def _robustness(
    yv: np.ndarray,
    dv: np.ndarray,
    X: pd.DataFrame,
    d: pd.DataFrame,
    b: float,
    bench: str | None,
) -> Robustness:
    """Cinelli-Hazlett robustness facts of the regression adjustment.

    Cinelli-Hazlett robustness of the regression adjustment (classical OLS t, as sensemakr),
    bounded by a confounder as strong as ``bench``.
    """
    ols_iid = sm.OLS(yv, X).fit()
    dof, se_iid = float(ols_iid.df_resid), float(ols_iid.bse["_d"])
    robust = robustness_value(float(ols_iid.tvalues["_d"]), dof, estimate=b, se=se_iid)
    if bench is None or bench not in X.columns:
        return robust
    Xb = X.drop(columns=bench)
    r2dz_x = _partial_r2_of(dv, Xb.drop(columns="_d"), d[bench].to_numpy(float))
    r2yz_dx = partial_r2(float(ols_iid.tvalues[bench]), dof)
    return replace(robust, benchmark=bench, bound=ovb_bound(b, se_iid, dof, r2dz_x, r2yz_dx))


def _weighted(
    yv: np.ndarray,
    dv: np.ndarray,
    d: pd.DataFrame,
    covs: list[str],
    ps: PropensityFit,
    groups: np.ndarray | None,
    design: Design,
    est: str,
    drop: dict,
    trim: float,
) -> list[Result]:
    """Propensity weighting (IPW) and the doubly robust AIPW, with the score's diagnostics."""
    facts = {
        "trim_low": trim,
        "trim_high": 1 - trim,
        "n_trimmed_treated": ps.n_trimmed_treated,
        "n_trimmed_control": ps.n_trimmed_control,
        "weight_min": ps.weight_min,
        "weight_max": ps.weight_max,
        "ess_control": ps.ess_control,
        "ps_converged": ps.converged,
        "covariates": ",".join(covs),
    }
    cluster = design.cluster if groups is not None else ""
    y = design.outcome
    out = [ipw(yv, dv, ps.weights, y, groups), aipw_att(yv, dv, d[covs], ps, y, groups)]
    return [replace(r, estimand=est, cluster=cluster, facts=dict(facts), **drop) for r in out]


def _matched(
    yv: np.ndarray,
    dv: np.ndarray,
    ps: PropensityFit,
    y: str,
    est: str,
    caliper_sd: float,
    min_treated: int,
    trim: float,
) -> Result:
    """Nearest-neighbour matching among the desa inside the trimming bounds."""
    keep = ps.kept
    m = nn_match(yv[keep], dv[keep], ps.score[keep], y, caliper_sd, min_treated)
    if isinstance(m, Estimate):
        m = replace(m, estimand=est, facts={**m.facts, "trim_low": trim, "trim_high": 1 - trim})
    return m


def _partial_r2_of(dv: np.ndarray, Z: pd.DataFrame, x: np.ndarray) -> float:
    """Partial R2 of ``x`` in the regression of ``dv`` on ``Z`` and ``x`` (Z without x)."""
    fit = sm.OLS(dv, pd.concat([Z, pd.Series(x, index=Z.index, name="_bench")], axis=1)).fit()
    return partial_r2(float(fit.tvalues["_bench"]), float(fit.df_resid))
