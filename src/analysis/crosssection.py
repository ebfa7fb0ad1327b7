"""Cross-sectional comparisons for one outcome year: naive difference, regression adjustment,
propensity-score weighting (IPW), doubly robust AIPW and nearest-neighbour matching.

Estimators wrap statsmodels. Methods follow Imbens & Rubin (2015, ch. 12-19); the ATT
weights are those of Hirano, Imbens & Ridder (2003); AIPW is the doubly robust ATT of
Sant'Anna & Zhao (2020, cross-section case, nuisance estimation ignored in the variance);
matching is 1:1 nearest neighbour on the logit of the propensity score with replacement
(Abadie & Imbens 2006 variance without bias correction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.balance import balance_table
from analysis.design import Design
from analysis.panel import MIN_TREATED
from analysis.results import Estimate, NotEstimable, Result

#: Trimming rule for the propensity score (stated in every brief): desa with a score outside
#: [TRIM, 1 - TRIM] are left out, because their weights would be extreme.
TRIM = 0.02


def naive_difference(
    y: np.ndarray, d: np.ndarray, outcome: str = "y", se_type: str = "classical"
) -> Result:
    """Difference in means with a classical (equal-variance OLS) or HC1 standard error."""
    n1, n0 = int(d.sum()), int((1 - d).sum())
    if n1 < 1 or n0 < 1:
        return NotEstimable(
            outcome,
            "Naive difference",
            "difference in means",
            "too_few_treated" if n1 < 1 else "no_control",
            n_treated=n1,
            n_control=n0,
        )
    X = sm.add_constant(d.astype(float))
    fit = sm.OLS(y, X).fit(cov_type="nonrobust" if se_type == "classical" else "HC1")
    return Estimate(
        outcome,
        "Naive difference",
        "difference in means",
        float(fit.params[1]),
        float(fit.bse[1]),
        n1,
        n0,
        notes=f"{se_type} SE",
    )


@dataclass(frozen=True)
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
    estimand: str = "ATT",
) -> PropensityFit:
    """Logit propensity score, trimming, and IPW weights (ATT: 1 and e/(1-e); ATE: 1/e and 1/(1-e))."""
    d = df[treated].to_numpy(dtype=float)
    X = _design_matrix(df, covariates)
    try:
        fit = sm.Logit(d, X).fit(disp=0, maxiter=200)
        score, ok = fit.predict(X).to_numpy(), bool(fit.mle_retvals.get("converged", True))
    except np.linalg.LinAlgError:  # perfect separation: regularise lightly
        fit = sm.Logit(d, X).fit_regularized(disp=0, alpha=1e-3)
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
        score,
        kept,
        w,
        int(((d == 1) & ~kept).sum()),
        int(((d == 0) & ~kept).sum()),
        float(wk.min()) if len(wk) else np.nan,
        float(wk.max()) if len(wk) else np.nan,
        ess,
        ok,
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
    """Weighted regression of the outcome on treatment (robust or cluster-robust SE)."""
    keep = weights > 0
    X = sm.add_constant(d[keep].astype(float))
    kw = (
        {"cov_type": cov_type}
        if cov_type
        else _cov_kwargs(None if groups is None else groups[keep])
    )
    fit = sm.WLS(y[keep], X, weights=weights[keep]).fit(**kw)
    return Estimate(
        outcome,
        "Propensity weighting (IPW)",
        estimand,
        float(fit.params[1]),
        float(fit.bse[1]),
        int(d[keep].sum()),
        int((1 - d[keep]).sum()),
        notes="weights from a logit propensity score",
    )


def aipw_att(
    y: np.ndarray,
    d: np.ndarray,
    X: pd.DataFrame,
    fit: PropensityFit,
    outcome: str,
    groups: np.ndarray | None = None,
) -> Result:
    """Doubly robust ATT: outcome regression on comparison desa plus propensity weighting."""
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
        outcome,
        "Doubly robust (AIPW)",
        "ATT",
        float(tau),
        se,
        int(d.sum()),
        int(ctrl.sum()),
        notes="outcome model + propensity weights; SE clustered"
        if groups is not None
        else "outcome model + propensity weights",
    )


def nn_match(
    y: np.ndarray, d: np.ndarray, score: np.ndarray, outcome: str, caliper_sd: float = 0.2
) -> Result:
    """1:1 nearest neighbour on the logit propensity score, with replacement and a caliper."""
    lp = np.log(score / (1 - score))
    t_idx, c_idx = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    if len(c_idx) == 0:
        return NotEstimable(outcome, "Matching (nearest neighbour)", "ATT", "no_control")
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
    if ok.sum() < MIN_TREATED:
        return NotEstimable(
            outcome,
            "Matching (nearest neighbour)",
            "ATT",
            "no_overlap",
            f"{int(ok.sum())} matched within the caliper",
        )
    diff = y[t_idx[ok]] - y[match[ok]]
    tau = float(diff.mean())
    n1 = int(ok.sum())
    K = pd.Series(match[ok]).value_counts().to_numpy()
    s0 = np.var(y[np.unique(match[ok])], ddof=1) if len(np.unique(match[ok])) > 1 else 0.0
    var = (np.sum((diff - tau) ** 2) + np.sum(K * (K - 1)) * s0) / n1**2
    return Estimate(
        outcome,
        "Matching (nearest neighbour)",
        "ATT",
        tau,
        float(np.sqrt(var)),
        n1,
        int(len(np.unique(match[ok]))),
        notes=f"caliper {caliper_sd} sd of logit score; {len(t_idx) - n1} partnered desa unmatched",
    )


@dataclass(frozen=True)
class CrossSection:
    """All cross-sectional results for one outcome and year."""

    results: list[Result]
    balance: pd.DataFrame | None
    propensity: PropensityFit | None
    data: pd.DataFrame | None


def compare_year(panel: pd.DataFrame, design: Design, year: int) -> CrossSection:
    """Compare desa exposed by ``year`` with never-partnered desa, in ``year``.

    Covariates are the design's plus the outcome in the first panel year (before any start).
    Desa whose partnership starts after ``year`` are left out of both groups.
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
    d = d.dropna(subset=[y, *covs])
    d["_d"] = (d["g"] > 0).astype(int)
    n1, n0 = int(d["_d"].sum()), int((1 - d["_d"]).sum())
    est = f"ATT in {year}"
    res: list[Result] = []
    if n1 < MIN_TREATED or n0 < MIN_TREATED:
        reason = "no_control" if n0 < MIN_TREATED else "too_few_treated"
        for m in (
            "Naive difference",
            "Regression adjustment",
            "Propensity weighting (IPW)",
            "Doubly robust (AIPW)",
        ):
            res.append(NotEstimable(y, m, est, reason, f"{n1} partnered, {n0} other desa", n1, n0))
        return CrossSection(res, None, None, None)
    if d[y].nunique() < 2:
        return CrossSection(
            [
                NotEstimable(
                    y, "Naive difference", est, "constant_outcome", n_treated=n1, n_control=n0
                )
            ],
            None,
            None,
            None,
        )
    yv, dv = d[y].to_numpy(dtype=float), d["_d"].to_numpy(dtype=float)
    groups = d[design.cluster].to_numpy() if design.cluster in d else None
    naive = naive_difference(yv, dv, y, se_type="HC1")
    res.append(
        Estimate(
            y, naive.method, est, naive.estimate, naive.se, n1, n0, notes="no adjustment; HC1 SE"
        )
    )
    X = _design_matrix(d, covs)
    X.insert(1, "_d", dv)
    ols = sm.OLS(yv, X).fit(**_cov_kwargs(groups))
    res.append(
        Estimate(
            y,
            "Regression adjustment",
            est,
            float(ols.params["_d"]),
            float(ols.bse["_d"]),
            n1,
            n0,
            notes=f"OLS on {len(covs)} covariates incl. baseline; SE clustered by {design.cluster}",
        )
    )
    ps = propensity(d, covs)
    if int((dv[ps.kept] == 1).sum()) < MIN_TREATED or int((dv[ps.kept] == 0).sum()) < MIN_TREATED:
        for m in (
            "Propensity weighting (IPW)",
            "Doubly robust (AIPW)",
            "Matching (nearest neighbour)",
        ):
            res.append(
                NotEstimable(
                    y,
                    m,
                    est,
                    "no_overlap",
                    f"{ps.n_trimmed_treated} partnered desa outside [{TRIM}, {1 - TRIM}]",
                    n1,
                    n0,
                )
            )
        bal = balance_table(d, covs)
        return CrossSection(res, bal, ps, d)
    ipw_res = ipw(yv, dv, ps.weights, y, groups)
    res.append(
        Estimate(
            y,
            ipw_res.method,
            est,
            ipw_res.estimate,
            ipw_res.se,
            ipw_res.n_treated,
            ipw_res.n_control,
            notes=f"trimmed outside [{TRIM}, {1 - TRIM}]: {ps.n_trimmed_treated} partnered, {ps.n_trimmed_control} other; "
            f"weights {ps.weight_min:.2f}-{ps.weight_max:.2f}; effective comparison n {ps.ess_control:.0f}",
        )
    )
    dr = aipw_att(yv, dv, d[covs], ps, y, groups)
    res.append(
        Estimate(y, dr.method, est, dr.estimate, dr.se, dr.n_treated, dr.n_control, notes=dr.notes)
    )
    keep = ps.kept
    m = nn_match(yv[keep], dv[keep], ps.score[keep], y)
    if isinstance(m, Estimate):
        m = Estimate(y, m.method, est, m.estimate, m.se, m.n_treated, m.n_control, notes=m.notes)
    res.append(m)
    bal = balance_table(d, covs, weights=ps.weights)
    return CrossSection(res, bal, ps, d)
