"""Panel comparisons: two-way fixed effects (pyfixest) and the Callaway-Sant'Anna staggered
difference-in-differences with its event study and pre-trend test.

Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with multiple time
periods", Journal of Econometrics 225(2), 200-230. The implementation here is the unconditional
(no covariates) outcome-regression case on a balanced panel with analytic, influence-function
standard errors, following the R package ``did`` (``att_gt`` with ``base_period = "varying"``,
``aggte`` with the weight-estimation correction). It reproduces the published mpdta numbers
(tests/test_known_answers.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.design import Design
from analysis.results import Estimate, NotEstimable, Result

#: Minimum number of partnered desa for any comparison; below it the result is "not estimable".
MIN_TREATED = 3
#: Event-study coefficients resting on fewer partnered desa are shown as too thin and left out of
#: the pre-trend test: with one or two desa the influence-function variance understates the noise.
MIN_EVENT_DESA = 5


@dataclass(frozen=True)
class GroupTime:
    """ATT(g, t) estimates with their influence functions (n_units x n_gt)."""

    table: pd.DataFrame  # g, t, base, att, se, post, n_treated, n_control
    inf: np.ndarray
    pg: np.ndarray  # P(G = g) per column
    groups: np.ndarray  # G per unit (0 = never treated)
    clusters: np.ndarray | None
    n_dropped_unbalanced: int
    control_group: str


def _se(inf: np.ndarray, clusters: np.ndarray | None) -> float:
    n = inf.shape[0]
    if clusters is None:
        return float(np.sqrt(np.mean(inf**2) / n))
    s = pd.Series(inf).groupby(clusters).sum().to_numpy()
    g = len(s)
    return float(np.sqrt(g / (g - 1) * np.sum(s**2)) / n)


def group_time_att(
    df: pd.DataFrame, design: Design, control_group: str = "nevertreated", cluster: bool = True
) -> GroupTime:
    """ATT(g, t) for every treated cohort g and period t (Callaway & Sant'Anna 2021, eq. 2.8).

    Parameters
    ----------
    df
        Long panel with ``design.unit``, ``design.time``, ``design.outcome`` and ``g`` (first
        exposure year; 0 = never). Units not observed in every period are dropped (counted).
    control_group
        ``"nevertreated"`` or ``"notyettreated"``.
    cluster
        Cluster the standard errors by ``design.cluster`` (if the column exists).
    """
    u, t, y = design.unit, design.time, design.outcome
    d = df[[u, t, y, "g"] + ([design.cluster] if cluster and design.cluster in df else [])].dropna(
        subset=[y]
    )
    periods = np.sort(d[t].unique())
    wide = d.pivot(index=u, columns=t, values=y)
    complete = wide.notna().all(axis=1)
    n_dropped = int((~complete).sum())
    wide = wide[complete]
    first = d.drop_duplicates(u).set_index(u)
    G = first.loc[wide.index, "g"].to_numpy(dtype=int)
    # cohorts exposed in or before the first period have no pre-period: left out, as in R did
    G = np.where((G > 0) & (periods[0] >= G), -1, G)
    keep_units = G >= 0
    wide, G = wide[keep_units], G[keep_units]
    cl = (
        first.loc[wide.index, design.cluster].to_numpy()
        if cluster and design.cluster in first
        else None
    )
    Y = wide.to_numpy(dtype=float)
    n = len(G)
    col = {p: i for i, p in enumerate(periods)}
    rows, infs, pgs = [], [], []
    cohorts = [g for g in np.sort(np.unique(G)) if g > 0 and g <= periods[-1]]
    for g in cohorts:
        for tt in periods[1:]:
            base = g - 1 if tt >= g else tt - 1
            if base not in col:
                continue
            treat = g == G
            if control_group == "nevertreated":
                ctrl = G == 0
            else:
                ctrl = (G == 0) | ((max(tt, base) < G) & (g != G))
            n1, n0 = int(treat.sum()), int(ctrl.sum())
            if n1 == 0 or n0 == 0:
                continue
            dy = Y[:, col[tt]] - Y[:, col[base]]
            m1, m0 = dy[treat].mean(), dy[ctrl].mean()
            att = m1 - m0
            inf = np.zeros(n)
            inf[treat] = (dy[treat] - m1) / (n1 / n)
            inf[ctrl] = -(dy[ctrl] - m0) / (n0 / n)
            rows.append(
                {
                    "g": int(g),
                    "t": int(tt),
                    "base": int(base),
                    "att": att,
                    "post": bool(tt >= g),
                    "n_treated": n1,
                    "n_control": n0,
                    "se": _se(inf, cl),
                }
            )
            infs.append(inf)
            pgs.append(np.mean(g == G))
    table = pd.DataFrame(
        rows, columns=["g", "t", "base", "att", "post", "n_treated", "n_control", "se"]
    )
    inf = np.column_stack(infs) if infs else np.zeros((n, 0))
    return GroupTime(table, inf, np.array(pgs), G, cl, n_dropped, control_group)


def _wif(keepers: np.ndarray, pg: np.ndarray, G: np.ndarray, gcol: np.ndarray) -> np.ndarray:
    """Influence of estimating the aggregation weights (R did's ``wif``)."""
    s = pg[keepers].sum()
    ind = np.column_stack([(gcol[k] == G).astype(float) - pg[k] for k in keepers])
    if1 = ind / s
    if2 = ind.sum(axis=1, keepdims=True) * (pg[keepers] / s**2)[None, :]
    return if1 - if2


def _aggregate(gt: GroupTime, keepers: np.ndarray) -> tuple[float, np.ndarray]:
    atts = gt.table["att"].to_numpy()
    pg = gt.pg
    w = pg[keepers] / pg[keepers].sum()
    est = float(w @ atts[keepers])
    inf = (
        gt.inf[:, keepers] @ w
        + _wif(keepers, pg, gt.groups, gt.table["g"].to_numpy()) @ atts[keepers]
    )
    return est, inf


@dataclass(frozen=True)
class Staggered:
    """Aggregations of ATT(g, t): simple, by cohort, by event time, and the pre-trend test."""

    simple: tuple[float, float]
    group: tuple[float, float]
    dynamic: tuple[float, float]
    event_study: pd.DataFrame  # e, att, se, ci_low, ci_high, n_groups
    by_group: pd.DataFrame  # g, att, se
    pretrend_chi2: float  # sum of squared pre-period t statistics (descriptive)
    pretrend_df: int
    pretrend_p: float
    group_time: pd.DataFrame
    n_treated: int
    n_control: int
    n_dropped_unbalanced: int


def aggregate(gt: GroupTime) -> Staggered:
    """Simple, group and dynamic aggregation with analytic standard errors (R ``did::aggte``)."""
    tab = gt.table
    se = lambda inf: _se(inf, gt.clusters)  # noqa: E731
    post = np.flatnonzero(tab["post"].to_numpy())
    simple, inf_s = _aggregate(gt, post)
    # by event time e = t - g
    e_all = (tab["t"] - tab["g"]).to_numpy()
    es_rows, es_inf = [], {}
    for e in np.sort(np.unique(e_all)):
        k = np.flatnonzero(e_all == e)
        est, inf = _aggregate(gt, k)
        es_inf[e] = inf
        n_e = int(tab["n_treated"].to_numpy()[k].sum())
        es_rows.append(
            {
                "e": int(e),
                "att": est,
                "se": se(inf),
                "n_groups": len(k),
                "n_desa": n_e,
                "reliable": n_e >= MIN_EVENT_DESA,
            }
        )
    es = pd.DataFrame(es_rows)
    z = stats.norm.ppf(0.975)
    es["ci_low"], es["ci_high"] = es["att"] - z * es["se"], es["att"] + z * es["se"]
    epos = [e for e in es_inf if e >= 0]
    dyn = float(np.mean([es.loc[es["e"] == e, "att"].iloc[0] for e in epos]))
    dyn_inf = np.mean([es_inf[e] for e in epos], axis=0)
    # by cohort, then overall weighted by cohort size among the treated
    g_rows, g_inf = [], []
    gl = np.sort(tab["g"].unique())
    for g in gl:
        k = np.flatnonzero((tab["g"] == g).to_numpy() & tab["post"].to_numpy())
        att_k = tab["att"].to_numpy()[k]
        inf = gt.inf[:, k].mean(axis=1)
        g_rows.append({"g": int(g), "att": float(att_k.mean()), "se": se(inf)})
        g_inf.append(inf)
    bg = pd.DataFrame(g_rows)
    pg_g = np.array([np.mean(gt.groups == g) for g in gl])
    wg = pg_g / pg_g.sum()
    grp = float(wg @ bg["att"].to_numpy())
    ind = np.column_stack(
        [(gt.groups == g).astype(float) - p for g, p in zip(gl, pg_g, strict=True)]
    )
    wif_g = ind / pg_g.sum() - ind.sum(axis=1, keepdims=True) * (pg_g / pg_g.sum() ** 2)[None, :]
    grp_inf = np.column_stack(g_inf) @ wg + wif_g @ bg["att"].to_numpy()
    # joint test that the pre-period event-study coefficients (e < 0) are all zero. A Wald test
    # needs their full covariance, which a district's 10-20 kecamatan clusters estimate too
    # poorly (it over-rejects); the Bonferroni test on the individual t statistics is valid
    # with any dependence: p = min(1, k x smallest p).
    pre = es[(es["e"] < 0) & es["reliable"] & (es["se"] > 0)]
    if len(pre):
        z_pre = (pre["att"] / pre["se"]).to_numpy()
        chi2 = float(np.sum(z_pre**2))
        dfree = len(pre)
        p = float(min(1.0, dfree * 2 * stats.norm.sf(np.abs(z_pre).max())))
    else:
        chi2, dfree, p = np.nan, 0, np.nan
    return Staggered(
        (simple, se(inf_s)),
        (grp, se(grp_inf)),
        (dyn, se(dyn_inf)),
        es,
        bg,
        chi2,
        dfree,
        p,
        tab,
        int((gt.groups > 0).sum()),
        int((gt.groups == 0).sum()),
        gt.n_dropped_unbalanced,
    )


def callaway_santanna(
    df: pd.DataFrame,
    design: Design,
    control_group: str = "nevertreated",
    last_year: int | None = None,
    cluster: bool = True,
) -> tuple[Result, Staggered | None]:
    """Staggered DiD for a design: the simple ATT as a tidy result, plus all aggregations.

    Returns ``NotEstimable`` (with the reason) when there are too few partnered desa with a
    pre-period, no comparison desa, or the outcome is constant.
    """
    y = design.outcome
    last = int(df[design.time].max()) if last_year is None else last_year
    first = int(df[design.time].min())
    units = df.drop_duplicates(design.unit)
    eligible = units[(units["g"] > first) & (units["g"] <= last)]
    n_ctrl = int((units["g"] == 0).sum())
    name, estimand = "Callaway-Sant'Anna DiD", "ATT, partnered desa-years (simple aggregation)"
    if len(eligible) < MIN_TREATED:
        recent = int((units["g"] > last).sum())
        reason = (
            "too_recent"
            if recent and len(eligible) == 0
            else (
                "no_pre_period"
                if (units["g"].between(1, first)).any() and len(eligible) == 0
                else "too_few_treated"
            )
        )
        return NotEstimable(
            y,
            name,
            estimand,
            reason,
            f"{len(eligible)} partnered desa with a year before the start",
            len(eligible),
            n_ctrl,
        ), None
    if n_ctrl == 0 and control_group == "nevertreated":
        return NotEstimable(y, name, estimand, "no_control", "", len(eligible), 0), None
    if df[y].nunique(dropna=True) < 2:
        return NotEstimable(y, name, estimand, "constant_outcome", "", len(eligible), n_ctrl), None
    gt = group_time_att(df[df[design.time] <= last], design, control_group, cluster)
    if gt.table["post"].sum() == 0:
        return NotEstimable(
            y, name, estimand, "too_few_treated", "no post-period cohort with comparison desa"
        ), None
    agg = aggregate(gt)
    att, se = agg.simple
    notes = (
        f"{control_group} controls; SE clustered by {design.cluster}"
        if gt.clusters is not None
        else f"{control_group} controls"
    )
    if agg.n_dropped_unbalanced:
        notes += f"; {agg.n_dropped_unbalanced} desa with a missing year left out"
    return Estimate(
        y,
        name,
        estimand,
        att,
        se,
        agg.n_treated,
        agg.n_control,
        notes=notes,
        details={"pretrend_p": agg.pretrend_p},
    ), agg


def twfe(df: pd.DataFrame, design: Design, min_treated: int = MIN_TREATED) -> Result:
    """Two-way fixed effects (desa and year) with cluster-robust errors, via pyfixest ``feols``.

    Biased under staggered adoption with heterogeneous effects (Goodman-Bacon 2021); shown as
    the conventional benchmark next to :func:`callaway_santanna`.
    """
    import pyfixest as pf

    y = design.outcome
    d = df.dropna(subset=[y]).copy()
    d["_treated"] = ((d["g"] > 0) & (d[design.time] >= d["g"])).astype(float)
    n1 = int(d.loc[d["_treated"] == 1, design.unit].nunique())
    n0 = int(d.loc[d["g"] == 0, design.unit].nunique())
    name, estimand = (
        "Two-way fixed effects",
        "weighted average of partnered desa-year effects (TWFE)",
    )
    if n1 < min_treated:
        return NotEstimable(y, name, estimand, "too_few_treated", "", n1, n0)
    if d[y].nunique() < 2:
        return NotEstimable(y, name, estimand, "constant_outcome", "", n1, n0)
    vcov = {"CRV1": design.cluster} if design.cluster in d else "hetero"
    fit = pf.feols(f"{y} ~ _treated | {design.unit} + {design.time}", data=d, vcov=vcov)
    est, se = float(fit.coef()["_treated"]), float(fit.se()["_treated"])
    return Estimate(y, name, estimand, est, se, n1, n0, notes=f"SE clustered by {design.cluster}")
