"""Panel comparisons: staggered difference-in-differences and TWFE.

Panel comparisons: the Callaway-Sant'Anna staggered difference-in-differences (with covariates,
its aggregations, event study and pre-period facts) and two-way fixed effects (pyfixest).

Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with multiple time
periods", Journal of Econometrics 225(2), 200-230. Each ATT(g, t) is a two-period, two-group
DiD estimated, as R ``did``'s ``att_gt`` does, with

* ``est_method="reg"``: outcome regression (Heckman, Ichimura and Todd 1997; DRDID's
  ``reg_did_panel``),
* ``est_method="ipw"``: normalised inverse probability weighting (Abadie 2005; DRDID's
  ``std_ipw_did_panel``),
* ``est_method="dr"``: the doubly robust estimator of Sant'Anna, P. H. C. and Zhao, J. (2020),
  "Doubly robust difference-in-differences estimators", Journal of Econometrics 219(1), 101-122
  (DRDID's ``drdid_panel``, R ``did``'s default),

on baseline covariates (values in the base period), a logit propensity score and a linear
outcome model for the comparison group; their influence functions include the estimation
effect of both nuisance models. Aggregations (simple, dynamic = event study, group, calendar)
follow ``did::aggte`` including the influence of estimating the weights. ``base_period``
("varying"/"universal"), ``anticipation`` and ``control_group`` ("nevertreated"/
"notyettreated") are those of ``att_gt``. Inference: analytic (influence function, clustered,
t(G-1) critical values) or the clustered multiplier bootstrap with uniform event-study bands
(:mod:`analysis.methods.inference`). The package reproduces R ``did``'s mpdta results, unconditional and
with ``xformla = ~lpop`` (tests/test_known_answers.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.design import Design
from analysis.errors import OptionError, PanelShapeError, check_option
from analysis.methods.inference import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    WildBootstrap,
    coefficient_estimate,
    multiplier_bootstrap,
    t_critical,
    t_p_values,
    wild_cluster_bootstrap,
)
from analysis.methods.options import (
    Aggregation,
    BasePeriod,
    BootWeights,
    ControlGroup,
    EstMethod,
    Inference,
    LateExposed,
    PreTest,
    PropensityModel,
    Vcov,
)
from analysis.methods.results import Estimate, NotEstimable, Result

#: Minimum number of partnered desa for any comparison; below it the result is "not estimable".
MIN_TREATED = 3
#: Event-study coefficients resting on fewer partnered desa are shown as too thin and left out of
#: the pre-trend test: with one or two desa the influence-function variance understates the noise.
MIN_EVENT_DESA = 5

#: Propensity scores of comparison units above this are trimmed (DRDID's ``trim.level``).
PS_TRIM = 0.995


@dataclass(frozen=True, kw_only=True)
class GroupTime:
    """ATT(g, t) estimates with their influence functions (n_units x n_gt)."""

    table: pd.DataFrame  # g, t, base, att, se, post, n_treated, n_control
    inf: np.ndarray
    pg: np.ndarray  # P(G = g) per column
    groups: np.ndarray  # G per unit (0 = never treated)
    clusters: np.ndarray | None
    n_dropped_unbalanced: int
    control_group: str
    est_method: str = "reg"
    covariates: tuple[str, ...] = ()
    base_period: str = "varying"
    anticipation: int = 0
    n_dropped_covariates: int = 0
    n_cells_reg_fallback: int = 0  # ipw/dr cells estimated by outcome regression (no usable score)
    ps_model: str = ""  # the propensity model used: "cell", "pooled" ("" without weighting)

    def tidy(self) -> pd.DataFrame:
        """The ATT(g, t) table."""
        return self.table

    def __repr__(self) -> str:
        return (
            f"GroupTime({len(self.table)} ATT(g,t), {self.inf.shape[0]} units, "
            f"{self.est_method}, {self.control_group})"
        )


def _se(inf: np.ndarray, clusters: np.ndarray | None) -> float:
    """Clustered (CRV1-scaled) or unclustered SE of a mean of influence functions.

    Clusters of one unit each (clustering by the unit, R ``did``'s default) give the
    unclustered SE, as in R ``did``: the factor G / (G - 1) is for clusters of several units.
    """
    n = inf.shape[0]
    if clusters is None:
        return float(np.sqrt(np.mean(inf**2) / n))
    codes = clusters if clusters.dtype.kind in "iu" else pd.factorize(clusters)[0]
    s = np.bincount(codes, weights=inf)
    g = len(s)
    if g < 2:
        return np.nan
    return float(np.sqrt((g / (g - 1) if g < n else 1.0) * np.sum(s**2)) / n)


def _logit(X: np.ndarray, d: np.ndarray, iters: int = 50) -> tuple[np.ndarray, np.ndarray, bool]:
    """Logit by Newton-Raphson.

    Logit by Newton-Raphson: fitted probabilities, n x (X'WX)^-1 (DRDID's Hessian.ps) and
    whether it converged to an interior solution (no perfect separation).
    """
    b = np.zeros(X.shape[1])
    converged = False
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(X @ b, -35, 35)))
        W = p * (1 - p)
        H = (X * W[:, None]).T @ X
        step = np.linalg.lstsq(H, X.T @ (d - p), rcond=None)[0]
        b = b + step
        if np.max(np.abs(step)) < 1e-8:
            converged = True
            break
    p = 1 / (1 + np.exp(-np.clip(X @ b, -35, 35)))
    W = p * (1 - p)
    H = (X * W[:, None]).T @ X
    separated = bool(np.any(p[d == 1] > 1 - 1e-6))
    return p, len(d) * np.linalg.pinv(H), converged and not separated


def did_2x2(
    dy: np.ndarray, D: np.ndarray, X: np.ndarray, method: EstMethod
) -> tuple[float, np.ndarray, str]:
    """Two-group, two-period DiD on a panel with covariates ``X`` (first column the intercept).

    Returns the ATT, its influence function (one value per unit, DRDID's scaling) and the
    method used, for ``method`` "reg" (``reg_did_panel``), "ipw" (``std_ipw_did_panel``) or "dr"
    (``drdid_panel``). A propensity score cannot be estimated with no more partnered units than
    parameters, or under perfect separation; such a cell is estimated by outcome regression
    ("reg") and the returned method says so.
    """
    return _did_2x2(dy, D, X, method)[:3]


def _did_2x2(
    dy: np.ndarray,
    D: np.ndarray,
    X: np.ndarray,
    method: EstMethod,
    score: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray, str, np.ndarray | None]:
    """:func:`did_2x2`, with a propensity score estimated elsewhere if ``score`` is given.

    ``score``: (the cell's scores, the cell's rows of that model's design matrix), from
    :class:`_PooledScore`. The cell then fits no logit, its influence function leaves out the
    score's estimation effect, and the fourth value is the gradient of the ATT in that model's
    coefficients from which the caller adds it (None without ``score``).
    """
    n = len(dy)
    D = D.astype(float)
    if score is not None and method in ("ipw", "dr"):
        ps, hess = score[0], None
    elif method in ("ipw", "dr"):
        if D.sum() <= X.shape[1]:
            method = "reg"
        else:
            ps, hess, ok = _logit(X, D)
            if not ok:
                method = "reg"
    if method in ("reg", "dr"):
        c = D == 0
        beta = np.linalg.lstsq(X[c], dy[c], rcond=None)[0]
        out = X @ beta
        wols_x = (1 - D)[:, None] * X
        XpX_inv = np.linalg.pinv(wols_x.T @ X / n)
        lin_ols = ((1 - D) * (dy - out))[:, None] * X @ XpX_inv
    if method in ("ipw", "dr"):
        ps = np.minimum(ps, 1 - 1e-6)
        trim = np.where(D == 0, ps < PS_TRIM, True).astype(float)
        lin_ps = ((D - ps)[:, None] * X) @ hess if hess is not None else np.zeros_like(X)
    if method == "reg":
        w_t = D
        eta_t = np.mean(w_t * dy) / np.mean(w_t)
        eta_c = np.mean(w_t * out) / np.mean(w_t)
        inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
        inf_c = (w_t * out - w_t * eta_c + lin_ols @ np.mean(w_t[:, None] * X, axis=0)) / np.mean(
            w_t
        )
        return float(eta_t - eta_c), inf_t - inf_c, method, None
    w_t = trim * D
    w_c = trim * ps * (1 - D) / (1 - ps)
    if method == "ipw":
        eta_t = np.mean(w_t * dy) / np.mean(w_t)
        eta_c = np.mean(w_c * dy) / np.mean(w_c)
        inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
        m2 = np.mean((w_c * (dy - eta_c))[:, None] * X, axis=0)
        inf_c = (w_c * dy - w_c * eta_c + lin_ps @ m2) / np.mean(w_c)
        return float(eta_t - eta_c), inf_t - inf_c, method, _gradient(score, w_c, dy - eta_c)
    r = dy - out
    eta_t = np.mean(w_t * r) / np.mean(w_t)
    eta_c = np.mean(w_c * r) / np.mean(w_c)
    inf_t = (w_t * r - w_t * eta_t - lin_ols @ np.mean(w_t[:, None] * X, axis=0)) / np.mean(w_t)
    m2 = np.mean((w_c * (r - eta_c))[:, None] * X, axis=0)
    m3 = np.mean(w_c[:, None] * X, axis=0)
    inf_c = (w_c * r - w_c * eta_c + lin_ps @ m2 - lin_ols @ m3) / np.mean(w_c)
    return float(eta_t - eta_c), inf_t - inf_c, method, _gradient(score, w_c, r - eta_c)


def _gradient(
    score: tuple[np.ndarray, np.ndarray] | None, w_c: np.ndarray, resid: np.ndarray
) -> np.ndarray | None:
    """Gradient of the ATT in the pooled logit's coefficients: -E[w_c (r - eta_c) X_ps] / E[w_c].

    The comparison weights are ps / (1 - ps), whose derivative in the logit's coefficients is
    w_c X_ps; the treated mean does not depend on them.
    """
    if score is None:
        return None
    return -np.mean((w_c * resid)[:, None] * score[1], axis=0) / np.mean(w_c)


@dataclass(frozen=True, kw_only=True)
class _PooledScore:
    """One logit of being an evaluated partnered unit against a never-treated one.

    Fitted once on baseline covariates (the first period's values) and shared by every cell:
    ``score`` per unit, ``X`` its design matrix, ``lin`` the per-unit influence of its
    coefficients (zero outside the fit), ``n_fit`` the units it was fitted on.
    """

    score: np.ndarray
    X: np.ndarray
    lin: np.ndarray
    n_fit: int


def _pooled_score(w: _Wide) -> _PooledScore | None:
    """The shared propensity model (None when it cannot be fitted: too few units, separation).

    Sant'Anna and Zhao (2020)'s doubly robust estimator stays consistent when either the outcome
    model or the propensity model is right; a model shared by the cohorts (the odds of cohort g
    against the comparison desa taken proportional to those of any evaluated cohort) is a
    working model that cohorts of a few desa can support, where a logit per cell cannot (its
    parameters outnumber the cell's partnered desa). Cohort-specific selection on the
    covariates is then left to the outcome model, which the doubly robust form still uses.
    """
    cohorts = (w.G > 0) & (w.periods[-1] >= w.G)
    fit = cohorts | (w.G == 0)
    X = w.X_by_period[0]
    varying = np.concatenate([[True], X[fit, 1:].std(axis=0) > 0])
    X = X[:, varying]
    D = cohorts[fit].astype(float)
    if D.sum() <= X.shape[1] or (1 - D).sum() <= X.shape[1]:
        return None
    ps, hess, ok = _logit(X[fit], D)
    if not ok:
        return None
    # the coefficients, to score every unit (later cohorts too, as not-yet-treated comparisons)
    beta = np.linalg.lstsq(X[fit], np.log(ps / (1 - ps)), rcond=None)[0]
    score = 1 / (1 + np.exp(-np.clip(X @ beta, -35, 35)))
    lin = np.zeros_like(X)
    lin[fit] = ((D - ps)[:, None] * X[fit]) @ hess
    return _PooledScore(score=score, X=X, lin=lin, n_fit=int(fit.sum()))


def _check_options(
    control_group: str, est_method: str, base_period: str, anticipation: int
) -> None:
    check_option("control_group", control_group, ControlGroup)
    check_option("est_method", est_method, EstMethod)
    check_option("base_period", base_period, BasePeriod)
    if int(anticipation) != anticipation or anticipation < 0:
        raise OptionError(
            f"anticipation={anticipation!r} must be a whole number of periods >= 0",
            key="option.whole_nonneg",
            name="anticipation",
            value=repr(anticipation),
        )


def group_time_att(
    df: pd.DataFrame,
    design: Design,
    control_group: ControlGroup = "nevertreated",
    cluster: bool = True,
    est_method: EstMethod = "reg",
    covariates: tuple[str, ...] | None = None,
    base_period: BasePeriod = "varying",
    anticipation: int = 0,
    ps_model: PropensityModel = "cell",
) -> GroupTime:
    """ATT(g, t) for every treated cohort g and period t (Callaway & Sant'Anna 2021, eq. 2.8).

    Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with multiple time
    periods", Journal of Econometrics 225(2), 200-230; as R ``did``'s ``att_gt``.

    Parameters
    ----------
    df
        Long panel with ``design.unit``, ``design.time``, ``design.outcome`` and ``g`` (first
        exposure year; 0 = never). Units not observed in every period are dropped (counted).
    design, control_group
        Column roles (unit, time, outcome, cluster); ``"nevertreated"`` or ``"notyettreated"``.
    cluster
        Cluster the standard errors by ``design.cluster`` (if the column exists).
    est_method
        ``"dr"``, ``"reg"`` or ``"ipw"`` (R ``did``'s ``est_method``). Without covariates the
        three coincide (the unconditional DiD).
    covariates
        Baseline covariates (taken in each comparison's base period); ``None`` or ``()``: none.
        Units with a missing covariate are dropped (counted in ``n_dropped_covariates``).
    base_period, anticipation
        ``"varying"`` (pre-periods compare consecutive years) or ``"universal"`` (every period
        against g - 1 - anticipation), as in R ``did``; periods before g in which partnered
        desa may already react (the base period moves back).
    ps_model
        ``"cell"``: a logit per cell, as R ``did``; ``"pooled"``: one logit shared by every
        cell (:func:`_pooled_score`; per-cell logits if it cannot be fitted). The result's
        ``ps_model`` says which was used.

    Returns
    -------
    GroupTime
        The ATT(g, t) table with the influence functions of every cell.

    Raises
    ------
    OptionError
        An option outside its values, or a covariate that is not in ``df``.
    """
    _check_options(control_group, est_method, base_period, anticipation)
    check_option("ps_model", ps_model, PropensityModel)
    covs = tuple(covariates or ())
    _check_covariates(df, covs)
    w = _balanced_panel(df, design, covs, cluster and design.cluster in df, anticipation)
    weighting = bool(covs) and est_method in ("ipw", "dr")
    pooled = _pooled_score(w) if weighting and ps_model == "pooled" else None
    rows, infs, pgs, n_fallback = _cells(
        w, control_group, est_method, base_period, anticipation, pooled
    )
    table = pd.DataFrame(
        rows, columns=["g", "t", "base", "att", "post", "n_treated", "n_control", "se"]
    )
    n = len(w.G)
    return GroupTime(
        table=table,
        inf=np.column_stack(infs) if infs else np.zeros((n, 0)),
        pg=np.array(pgs),
        groups=w.G,
        clusters=w.cl,
        n_dropped_unbalanced=w.n_dropped,
        control_group=control_group,
        est_method=est_method if covs else "difference_in_means",
        covariates=covs,
        base_period=base_period,
        anticipation=int(anticipation),
        n_dropped_covariates=w.n_dropped_covariates,
        n_cells_reg_fallback=n_fallback,
        ps_model=("pooled" if pooled is not None else "cell") if weighting else "",
    )


def _check_covariates(df: pd.DataFrame, covs: tuple[str, ...]) -> None:
    missing = [c for c in covs if c not in df.columns]
    if missing:
        numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
        raise OptionError(
            f"covariates not in the data: {', '.join(missing)}; numeric columns available: "
            + ", ".join(numeric),
            key="panel.covariates_missing",
            missing=list(missing),
            numeric=list(numeric),
        )


@dataclass(frozen=True, kw_only=True)
class _Wide:
    """The balanced panel as arrays.

    The balanced panel as arrays: outcome (units x periods), design matrices per base period,
    cohorts, cluster codes and the counts of units left out.
    """

    Y: np.ndarray
    X_by_period: list[np.ndarray]
    G: np.ndarray
    cl: np.ndarray | None
    periods: np.ndarray
    n_covariates: int
    n_dropped: int
    n_dropped_covariates: int


def _wide(d: pd.DataFrame, col: str, cell: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """One column as a unit x period matrix (NaN where a unit has no row in a period)."""
    m = np.full(shape[0] * shape[1], np.nan)
    m[cell] = d[col].to_numpy(dtype=float, na_value=np.nan)
    return m.reshape(shape)


def _balanced_panel(
    df: pd.DataFrame, design: Design, covs: tuple[str, ...], use_cl: bool, anticipation: int
) -> _Wide:
    """Units observed in every period with every covariate, whose cohort has a pre-period."""
    u, t, y = design.unit, design.time, design.outcome
    # each column once: the cluster may be the unit itself (R did's default), or a covariate
    cols = dict.fromkeys([u, t, y, "g", *covs] + ([design.cluster] if use_cl else []))
    d = df[list(cols)].dropna(subset=[y])
    periods = np.sort(d[t].unique())
    # one unit x period matrix per column, built once (the unit and period order of a pivot)
    ucodes, units = pd.factorize(d[u], sort=True)
    tcodes, _ = pd.factorize(d[t], sort=True)
    shape = (len(units), len(periods))
    cell = ucodes.astype(np.int64) * shape[1] + tcodes
    if len(np.unique(cell)) < len(cell):
        raise ValueError("Index contains duplicate entries, cannot reshape")
    Y = _wide(d, y, cell, shape)
    complete = ~np.isnan(Y).any(axis=1)
    n_dropped = int((~complete).sum())
    rows_kept = np.flatnonzero(complete)
    n_drop_cov = 0
    Xc = np.empty((len(rows_kept), 0, shape[1]))
    if covs:
        Xc = np.stack([_wide(d, c, cell, shape)[rows_kept] for c in covs], axis=1)  # u x cov x t
        okx = ~np.isnan(Xc).any(axis=(1, 2))
        n_drop_cov = int((~okx).sum())
        rows_kept, Xc = rows_kept[okx], Xc[okx]
    first_row = np.unique(ucodes, return_index=True)[1]  # each unit's first row, as drop_duplicates
    G = d["g"].to_numpy()[first_row][rows_kept].astype(int)
    # cohorts exposed (or anticipating) in the first period have no pre-period: left out, as R did
    G = np.where((G > 0) & (periods[0] + anticipation >= G), -1, G)
    keep_units = G >= 0
    rows_kept, G, Xc = rows_kept[keep_units], G[keep_units], Xc[keep_units]
    cl = pd.factorize(d[design.cluster].to_numpy()[first_row][rows_kept])[0] if use_cl else None
    n = len(G)
    return _Wide(
        Y=Y[rows_kept],
        # design matrix (intercept, covariates in the period) for each possible base period
        X_by_period=[np.column_stack([np.ones(n), Xc[:, :, bi]]) for bi in range(shape[1])],
        G=G,
        cl=cl,
        periods=periods,
        n_covariates=len(covs),
        n_dropped=n_dropped,
        n_dropped_covariates=n_drop_cov,
    )


def _cells(
    w: _Wide,
    control_group: str,
    est_method: str,
    base_period: str,
    anticipation: int,
    pooled: _PooledScore | None = None,
) -> tuple[list[dict], list[np.ndarray], list[float], int]:
    """Every ATT(g, t) cell.

    Every ATT(g, t) cell: table rows, influence functions, P(G = g) and the number of cells
    estimated by outcome regression because no propensity score could be estimated (with
    ``pooled``, every cell weights by that shared score).
    """
    periods, G = w.periods, w.G
    rows, infs, pgs = [], [], []
    n_fallback = 0
    cohorts = [g for g in np.sort(np.unique(G)) if g > 0 and g <= periods[-1]]
    t_idx = range(len(periods)) if base_period == "universal" else range(1, len(periods))
    for g in cohorts:
        before = np.flatnonzero(periods + anticipation < g)
        if len(before) == 0:
            continue
        pre_g = int(before[-1])  # base period of the post cells (and of every cell if universal)
        for ti in t_idx:
            post = periods[ti] >= g
            bi = pre_g if (base_period == "universal" or post) else ti - 1
            cell = _cell(w, g, ti, bi, control_group, est_method, anticipation, pooled)
            if cell is None:
                continue
            row, inf, fell_back = cell
            rows.append(row)
            infs.append(inf)
            pgs.append(np.mean(g == G))
            n_fallback += fell_back
    return rows, infs, pgs, n_fallback


def _cell(
    w: _Wide,
    g: int,
    ti: int,
    bi: int,
    control_group: str,
    est_method: str,
    anticipation: int,
    pooled: _PooledScore | None = None,
) -> tuple[dict, np.ndarray, bool] | None:
    """One ATT(g, t) with its influence function (None when a group is empty).

    With ``pooled``, the weighting uses the shared score, and the influence of estimating it
    (on every unit it was fitted on) is added: (n / n_fit) x its per-unit influence times the
    gradient of the ATT in its coefficients.
    """
    G, n = w.G, len(w.G)
    tt, base = w.periods[ti], w.periods[bi]
    treat = g == G
    row = {"g": int(g), "t": int(tt), "base": int(base)}
    if bi == ti:  # the base period itself (universal base): zero by construction
        row.update(att=0.0, post=False, n_treated=int(treat.sum()), n_control=0, se=np.nan)
        return row, np.zeros(n), False
    if control_group == "nevertreated":
        ctrl = G == 0
    else:
        ctrl = (G == 0) | ((max(tt, base) + anticipation < G) & (g != G))
    n1, n0 = int(treat.sum()), int(ctrl.sum())
    if n1 == 0 or n0 == 0:
        return None
    dy = w.Y[:, ti] - w.Y[:, bi]
    inf = np.zeros(n)
    sub = treat | ctrl
    fell_back = False
    if w.n_covariates and n1 + n0 > w.n_covariates + 2:
        X = w.X_by_period[bi][sub]
        Xs = X[:, 1:]
        varying = np.concatenate([[True], Xs.std(axis=0) > 0])
        score = None if pooled is None else (pooled.score[sub], pooled.X[sub])
        att, inf_sub, used, grad = _did_2x2(dy[sub], treat[sub], X[:, varying], est_method, score)
        inf[sub] = inf_sub * n / sub.sum()
        if grad is not None:
            inf += (n / pooled.n_fit) * (pooled.lin @ grad)
        fell_back = used != est_method
    else:
        m1, m0 = dy[treat].mean(), dy[ctrl].mean()
        att = m1 - m0
        inf[treat] = (dy[treat] - m1) / (n1 / n)
        inf[ctrl] = -(dy[ctrl] - m0) / (n0 / n)
    row.update(att=float(att), post=bool(tt >= g), n_treated=n1, n_control=n0, se=_se(inf, w.cl))
    return row, inf, fell_back


def _wif(keepers: np.ndarray, pg: np.ndarray, G: np.ndarray, gcol: np.ndarray) -> np.ndarray:
    """Influence of estimating the aggregation weights (R did's ``wif``)."""
    s = pg[keepers].sum()
    ind = (G[:, None] == gcol[keepers][None, :]).astype(float) - pg[keepers][None, :]
    if1 = ind / s
    if2 = ind.sum(axis=1, keepdims=True) * (pg[keepers] / s**2)[None, :]
    return if1 - if2


def _aggregate(
    gt: GroupTime, keepers: np.ndarray, atts: np.ndarray, gcol: np.ndarray
) -> tuple[float, np.ndarray]:
    """Cells ``keepers`` weighted by cohort size; ``atts``/``gcol``: the table's att and g."""
    pg = gt.pg
    w = pg[keepers] / pg[keepers].sum()
    est = float(w @ atts[keepers])
    inf = gt.inf[:, keepers] @ w + _wif(keepers, pg, gt.groups, gcol) @ atts[keepers]
    return est, inf


@dataclass(frozen=True, kw_only=True)
class Staggered:
    """Aggregations of ATT(g, t) with analytic and (optionally) bootstrap inference.

    ``simple``, ``group``, ``dynamic``, ``calendar``: (estimate, analytic SE) as R ``aggte``.
    ``overall``: one row per aggregation with both inferences (columns ``estimate``,
    ``se_analytic``, ``ci_low_analytic``, ``ci_high_analytic``, ``p_value_analytic``, ``se``,
    ``crit_value``, ``ci_low``, ``ci_high``, ``p_value``, ``ci_method``).
    ``event_study``: e, att, se, pointwise interval (``ci_low_pointwise``/``ci_high_pointwise``)
    and the interval drawn (``ci_low``/``ci_high``: uniform band when bootstrapped, ``band``).
    Pre-period facts: ``pretrend_p`` (the test named by ``pretest``: ``"bonferroni"`` over
    reliable pre-period coefficients, or R ``did``'s ``"wald"`` test on the pre-period
    ATT(g, t); both are kept, ``pretrend_p_bonferroni`` and ``pretrend_p_wald``), ``pre_max_abs``
    (largest |pre-period coefficient|), ``pre_detectable`` (smallest pre-period gap the
    Bonferroni test would detect with 80% power).
    ``event_levels``: the event study as levels relative to the reference period
    e = -1 - anticipation (left out), as HonestDiD takes it: e, att, se, n_desa, reliable, post;
    with a varying base period each cohort's earlier levels are minus the sum of its consecutive
    pre-period changes up to the reference period (exact for the estimates and their influence
    functions). ``event_levels_vcov``: their covariance (influence functions, clustered as the
    standard errors). ``balance_e``: R ``aggte``'s ``balance_e`` of the event study (None: all
    cohorts).
    """

    simple: tuple[float, float]
    group: tuple[float, float]
    dynamic: tuple[float, float]
    event_study: pd.DataFrame
    by_group: pd.DataFrame  # g, att, se
    pretrend_chi2: float  # sum of squared pre-period t statistics (descriptive)
    pretrend_df: int
    pretrend_p: float
    group_time: pd.DataFrame
    n_treated: int
    n_control: int
    n_dropped_unbalanced: int
    calendar: tuple[float, float] = (np.nan, np.nan)
    by_calendar: pd.DataFrame = field(default_factory=pd.DataFrame)
    overall: pd.DataFrame = field(default_factory=pd.DataFrame)
    pre_max_abs: float = np.nan
    pre_detectable: float = np.nan
    n_clusters: int = 0
    inference: str = "analytic"
    draws: int = 0
    seed: int = 0
    boot_weights: str = ""
    est_method: str = ""
    control_group: str = ""
    covariates: tuple[str, ...] = ()
    base_period: str = "varying"
    anticipation: int = 0
    n_dropped_covariates: int = 0
    n_cells_reg_fallback: int = 0
    pretest: str = "bonferroni"
    pretrend_p_bonferroni: float = np.nan
    pretrend_p_wald: float = np.nan
    pretrend_wald_df: int = 0
    event_levels: pd.DataFrame = field(default_factory=pd.DataFrame)
    event_levels_vcov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    balance_e: int | None = None

    def tidy(self) -> pd.DataFrame:
        """Aggregations (``overall``) followed by the event study, one row each."""
        es = self.event_study.assign(type="event_time").rename(columns={"att": "estimate"})
        return pd.concat([self.overall.assign(e=np.nan), es], ignore_index=True)

    def __repr__(self) -> str:
        return (
            f"Staggered({self.est_method}, {self.control_group}, simple ATT {self.simple[0]:.4g} "
            f"(SE {self.simple[1]:.3g}), {len(self.group_time)} ATT(g,t), "
            f"{self.n_treated} treated / {self.n_control} comparison units, {self.inference})"
        )

    def _repr_html_(self) -> str:
        return self.overall.to_html(index=False, na_rep="")


def _check_balance_e(balance_e: int | None) -> None:
    """Refuse a ``balance_e`` that is neither None nor a whole number >= 0."""
    if balance_e is not None and (int(balance_e) != balance_e or balance_e < 0):
        raise OptionError(
            f"balance_e={balance_e!r} must be None or a whole number >= 0",
            key="option.whole_nonneg",
            name="balance_e",
            value=repr(balance_e),
        )


def aggregate(
    gt: GroupTime,
    inference: Inference = "analytic",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    boot_weights: BootWeights = "mammen",
    alpha: float = 0.05,
    pretest: PreTest = "bonferroni",
    balance_e: int | None = None,
) -> Staggered:
    """Simple, group, dynamic and calendar aggregations of ATT(g, t) (R ``did::aggte``).

    Analytic standard errors always (influence functions including the estimation of the
    weights, Callaway & Sant'Anna 2021, section 4), and with ``inference="bootstrap"`` the
    clustered multiplier bootstrap: pointwise intervals for the aggregates, a uniform sup-t band
    for the event study (:func:`analysis.methods.inference.multiplier_bootstrap`).

    Parameters
    ----------
    gt
        The cells, from :func:`group_time_att`.
    inference
        ``"analytic"`` or ``"bootstrap"``.
    draws, seed, boot_weights
        The bootstrap's number of draws, seed and multiplier distribution.
    alpha
        One minus the coverage of the intervals.
    pretest
        Which pre-period test ``pretrend_p`` reports: ``"bonferroni"`` (default) or
        ``"wald"`` (:func:`wald_pretest`); both are computed.
    balance_e
        R ``aggte(type="dynamic", balance_e=)``: the event study and the dynamic aggregation use
        only cohorts observed at least ``balance_e`` years after their start, and event times
        up to ``balance_e``. None: every cohort.

    Returns
    -------
    Staggered
        Every aggregation, the event study and the pre-period facts.
    """
    check_option("inference", inference, Inference)
    check_option("pretest", pretest, PreTest)
    _check_balance_e(balance_e)
    G_cl = len(np.unique(gt.clusters)) if gt.clusters is not None else None
    crit_a = t_critical(G_cl, alpha)
    c = {k: gt.table[k].to_numpy() for k in ("att", "g", "t", "post", "n_treated")}
    simple, inf_s = _aggregate(gt, np.flatnonzero(c["post"]), c["att"], c["g"])
    ev = _event_time(gt, c, balance_e)
    bg, grp, grp_inf = _by_group(gt, c, crit_a)
    bc, cal, cal_inf = _by_calendar(gt, c, crit_a)
    ests = np.array([simple, ev["dyn"], grp, cal])
    infs = np.column_stack([inf_s, ev["dyn_inf"], grp_inf, cal_inf])
    ov, es, n_cl = _overall_and_event_study(
        gt, ests, infs, ev, G_cl, crit_a, (inference, draws, seed, boot_weights, alpha)
    )
    pre = _pre_period_facts(es, G_cl, alpha)
    se = lambda inf: _se(inf, gt.clusters)  # noqa: E731
    boot = inference == "bootstrap"
    return _staggered(
        gt,
        pre,
        pretest,
        simple=(simple, se(inf_s)),
        group=(grp, se(grp_inf)),
        dynamic=(ev["dyn"], se(ev["dyn_inf"])),
        event_study=es,
        by_group=bg,
        calendar=(cal, se(cal_inf)),
        by_calendar=bc,
        overall=ov,
        n_clusters=n_cl,
        inference=inference,
        draws=draws if boot else 0,
        seed=seed if boot else 0,
        boot_weights=boot_weights if boot else "",
        balance_e=None if balance_e is None else int(balance_e),
    )


def _staggered(gt: GroupTime, pre: dict, pretest: str, **parts) -> Staggered:
    """The :class:`Staggered` from the aggregations, with the pre-period tests and levels."""
    wald = wald_pretest(gt)
    levels, levels_vcov = event_levels(gt)
    return Staggered(
        **parts,
        pretrend_chi2=pre["chi2"],
        pretrend_df=pre["df"],
        pretrend_p=pre["p"] if pretest == "bonferroni" else wald[2],
        group_time=gt.table,
        n_treated=int(np.isin(gt.groups, gt.table["g"].unique()).sum()),
        n_control=int((gt.groups == 0).sum()),
        n_dropped_unbalanced=gt.n_dropped_unbalanced,
        pre_max_abs=pre["max"],
        pre_detectable=pre["detectable"],
        **_described_by(gt),
        pretest=pretest,
        pretrend_p_bonferroni=pre["p"],
        pretrend_p_wald=wald[2],
        pretrend_wald_df=wald[1],
        event_levels=levels,
        event_levels_vcov=levels_vcov,
    )


def _described_by(gt: GroupTime) -> dict:
    """The facts of the cells that a :class:`Staggered` repeats."""
    return {
        "est_method": gt.est_method,
        "control_group": gt.control_group,
        "covariates": gt.covariates,
        "base_period": gt.base_period,
        "anticipation": gt.anticipation,
        "n_dropped_covariates": gt.n_dropped_covariates,
        "n_cells_reg_fallback": gt.n_cells_reg_fallback,
    }


def _vcov(inf: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    """Covariance of means of influence functions, clustered and scaled as :func:`_se`."""
    n = inf.shape[0]
    if clusters is None:
        return inf.T @ inf / n**2
    codes = clusters if clusters.dtype.kind in "iu" else pd.factorize(clusters)[0]
    S = np.zeros((codes.max() + 1, inf.shape[1]))
    np.add.at(S, codes, inf)
    g = len(S)
    return g / (g - 1) * (S.T @ S) / n**2 if g > 1 else np.full((inf.shape[1],) * 2, np.nan)


def wald_pretest(gt: GroupTime) -> tuple[float, int, float]:
    """R ``did``'s Wald pre-test of parallel trends: chi-square on the pre-period ATT(g, t).

    As ``att_gt``'s "P-value for pre-test of parallel trends assumption" (Callaway and
    Sant'Anna 2021, section 4.1): W = a' V^-1 a over the cells with t < g whose standard error
    is not zero, V their influence-function covariance (clustered like the standard errors:
    with fewer clusters than cells it is singular and the test is not reported, as R reports
    none when ``rcond(V)`` is at machine precision). R rounds the p-value to 5 decimals; it is
    not rounded here.

    Returns
    -------
    tuple
        W, its degrees of freedom and the p-value (NaN, 0, NaN when not reported).
    """
    t = gt.table
    pre = np.flatnonzero((t["t"] < t["g"]).to_numpy())
    se = t["se"].to_numpy(dtype=float)[pre]
    pre = pre[np.isfinite(se) & (se > np.sqrt(np.finfo(float).eps) * 10)]
    if not len(pre):
        return np.nan, 0, np.nan
    V = _vcov(gt.inf[:, pre], gt.clusters)
    if not np.all(np.isfinite(V)) or 1 / np.linalg.cond(V, 1) <= np.finfo(float).eps:
        return np.nan, 0, np.nan
    a = t["att"].to_numpy(dtype=float)[pre]
    W = float(a @ np.linalg.solve(V, a))
    return W, len(pre), float(stats.chi2.sf(W, len(pre)))


def _event_time(gt: GroupTime, c: dict, balance_e: int | None = None) -> dict:
    """Aggregation by event time e = t - g, and the dynamic average over e >= 0.

    With ``balance_e`` (R ``aggte``): only cohorts with last period - g >= balance_e, and event
    times balance_e - (last - first period) <= e <= balance_e.
    """
    e_all = c["t"] - c["g"]
    kept = np.ones(len(e_all), dtype=bool)
    if balance_e is not None:
        last = int(c["t"].max())
        first = int(min(c["t"].min(), gt.table["base"].min()))
        kept = (last - c["g"]) >= balance_e
    e_vals = np.sort(np.unique(e_all[kept]))
    if balance_e is not None:
        e_vals = e_vals[(e_vals <= balance_e) & (e_vals >= balance_e - last + first)]
    if not len(e_vals) or not (e_vals >= 0).any():
        raise OptionError(
            f"balance_e={balance_e}: no cohort is observed that long after its start",
            key="panel.balance_e_long",
            value=str(balance_e),
        )
    es_att, es_se, es_ng, es_nd, es_inf = [], [], [], [], []
    for e in e_vals:
        k = np.flatnonzero((e_all == e) & kept)
        est, inf = _aggregate(gt, k, c["att"], c["g"])
        es_inf.append(inf)
        s_e = _se(inf, gt.clusters)
        es_att.append(est)
        es_se.append(s_e if s_e > 0 else np.nan)
        es_ng.append(len(k))
        es_nd.append(int(c["n_treated"][k].sum()))
    es_att, es_se = np.array(es_att, dtype=float), np.array(es_se, dtype=float)
    epos = np.flatnonzero(e_vals >= 0)
    return {
        "e": e_vals,
        "att": es_att,
        "se": es_se,
        "n_groups": es_ng,
        "n_desa": np.array(es_nd, dtype=np.int64),
        "inf": es_inf,
        "dyn": float(np.mean([es_att[i] for i in epos])),
        "dyn_inf": np.mean([es_inf[i] for i in epos], axis=0),
    }


def _level_weights(gt: GroupTime, g: int, cell: dict) -> dict[int, np.ndarray]:
    """Each period's level of cohort g relative to its reference period, as cell weights.

    ``cell``: (g, t) -> column. Universal base: the cell itself. Varying base: before the
    reference period, minus the sum of the consecutive changes up to it; between it and g
    (anticipation), the sum from it; from g on, the post-period cell (already against it).
    A level whose chain misses a cell is left out.
    """
    n = len(gt.table)
    periods = np.sort(np.unique(np.concatenate([gt.table["t"], gt.table["base"]])))
    before = periods[periods + gt.anticipation < g]
    if not len(before):
        return {}
    ref = before[-1]
    out = {}
    for t in periods[periods != ref]:
        if t >= g or gt.base_period == "universal":
            chain, sign = [t], 1.0
        elif t < ref:
            chain, sign = periods[(periods > t) & (periods <= ref)], -1.0
        else:
            chain, sign = periods[(periods > ref) & (periods <= t)], 1.0
        if all((g, int(s)) in cell for s in chain):
            w = np.zeros(n)
            w[[cell[(g, int(s))] for s in chain]] = sign
            out[int(t)] = w
    return out


def event_levels(gt: GroupTime) -> tuple[pd.DataFrame, np.ndarray]:
    """The event study as levels relative to the reference period, with their covariance.

    The input HonestDiD takes (Rambachan and Roth 2023; R ``did``'s ``honest_did`` needs a
    universal base period, which this makes from either): for each e = t - g but the reference
    e = -1 - anticipation, the cohort-size-weighted average of the cohorts' levels at e
    (:func:`_level_weights`), with the influence of estimating the weights as in ``aggte``.

    Returns
    -------
    tuple
        Rows e, att, se, n_desa, reliable (n_desa >= :data:`MIN_EVENT_DESA`) and post
        (e > reference), and their covariance (clustered as the standard errors).
    """
    t = gt.table
    cell = {(int(g), int(tt)): i for i, (g, tt) in enumerate(zip(t["g"], t["t"], strict=True))}
    att, size = t["att"].to_numpy(dtype=float), t["n_treated"].to_numpy()
    pg_of = dict(zip(t["g"].astype(int), gt.pg, strict=False))
    by_e: dict[int, list] = {}
    for g in np.unique(t["g"].astype(int)):
        for tt, w in _level_weights(gt, int(g), cell).items():
            by_e.setdefault(tt - int(g), []).append((int(g), w))
    rows, infs = [], []
    for e in sorted(by_e):
        gs = np.array([g for g, _ in by_e[e]])
        W = np.array([w for _, w in by_e[e]])
        pg = np.array([pg_of[g] for g in gs])
        lv, inf_l = W @ att, gt.inf @ W.T
        share = pg / pg.sum()
        inf = inf_l @ share + _wif(np.arange(len(gs)), pg, gt.groups, gs) @ lv
        n_desa = int(sum(size[np.flatnonzero(t["g"].to_numpy() == g)[0]] for g in gs))
        rows.append({"e": e, "att": float(share @ lv), "n_desa": n_desa})
        infs.append(inf)
    ref = -1 - gt.anticipation
    out = pd.DataFrame(rows, columns=["e", "att", "n_desa"])
    V = _vcov(np.column_stack(infs), gt.clusters) if infs else np.zeros((0, 0))
    out["se"] = np.sqrt(np.clip(np.diag(V), 0, None)) if len(V) else []
    out["reliable"] = out["n_desa"] >= MIN_EVENT_DESA
    out["post"] = out["e"] > ref
    return out[["e", "att", "se", "n_desa", "reliable", "post"]], V


def _by_group(gt: GroupTime, c: dict, crit: float) -> tuple[pd.DataFrame, float, np.ndarray]:
    """Aggregation by cohort.

    Aggregation by cohort (intervals with critical value ``crit``), then overall weighted by
    cohort size among the treated.
    """
    g_c, post_c = c["g"], c["post"]
    g_rows, g_inf = [], []
    gl = np.sort(np.unique(g_c[post_c]))
    for g in gl:
        k = np.flatnonzero((g_c == g) & post_c)
        att_k = c["att"][k]
        inf = gt.inf[:, k].mean(axis=1)
        g_rows.append({"g": int(g), "att": float(att_k.mean()), "se": _se(inf, gt.clusters)})
        g_inf.append(inf)
    bg = pd.DataFrame(g_rows, columns=["g", "att", "se"])
    pg_g = np.array([np.mean(gt.groups == g) for g in gl])
    wg = pg_g / pg_g.sum()
    grp = float(wg @ bg["att"].to_numpy())
    ind = np.column_stack(
        [(gt.groups == g).astype(float) - p for g, p in zip(gl, pg_g, strict=True)]
    )
    wif_g = ind / pg_g.sum() - ind.sum(axis=1, keepdims=True) * (pg_g / pg_g.sum() ** 2)[None, :]
    grp_inf = np.column_stack(g_inf) @ wg + wif_g @ bg["att"].to_numpy()
    return _with_interval(bg, crit), grp, grp_inf


def _by_calendar(gt: GroupTime, c: dict, crit: float) -> tuple[pd.DataFrame, float, np.ndarray]:
    """Aggregation by calendar year.

    By calendar year (R aggte type = "calendar": post cells of year t, weighted by cohort
    size), intervals with critical value ``crit``.
    """
    c_rows, c_inf = [], []
    for tt in np.sort(np.unique(c["t"])):
        k = np.flatnonzero(c["post"] & (c["t"] == tt))
        if len(k) == 0:
            continue
        est, inf = _aggregate(gt, k, c["att"], c["g"])
        c_rows.append({"t": int(tt), "att": est, "se": _se(inf, gt.clusters)})
        c_inf.append(inf)
    bc = pd.DataFrame(c_rows, columns=["t", "att", "se"])
    cal = float(bc["att"].mean())
    return _with_interval(bc, crit), cal, np.mean(c_inf, axis=0)


def _with_interval(t: pd.DataFrame, crit: float) -> pd.DataFrame:
    t["ci_low"] = t["att"] - crit * t["se"]
    t["ci_high"] = t["att"] + crit * t["se"]
    return t


def _overall_and_event_study(
    gt: GroupTime,
    ests: np.ndarray,
    infs: np.ndarray,
    ev: dict,
    G_cl: int | None,
    crit_a: float,
    how: tuple[str, int, int, str, float],
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The overall and event-study tables.

    The overall table (analytic beside bootstrap) and the event-study table, with the
    number of clusters the headline inference used; ``how``: inference, draws, seed, weights
    and alpha.
    """
    es_att, es_se = ev["att"], ev["se"]
    se_a = np.array([_se(infs[:, i], gt.clusters) for i in range(4)])
    with np.errstate(invalid="ignore", divide="ignore"):
        p_a = np.where(se_a > 0, t_p_values(ests / se_a, G_cl), np.nan)
        p_es = np.where(es_se > 0, t_p_values(es_att / es_se, G_cl), np.nan)
    ov = {
        "type": ["simple", "dynamic", "group", "calendar"],
        "estimate": ests,
        "se_analytic": se_a,
        "ci_low_analytic": ests - crit_a * se_a,
        "ci_high_analytic": ests + crit_a * se_a,
        "p_value_analytic": p_a,
    }
    es = {
        "e": ev["e"].astype(np.int64),
        "att": es_att,
        "se": es_se,
        "n_groups": np.array(ev["n_groups"], dtype=np.int64),
        "n_desa": ev["n_desa"],
        "reliable": ev["n_desa"] >= MIN_EVENT_DESA,
        "se_analytic": es_se.copy(),
        "ci_low_pointwise": es_att - crit_a * es_se,
        "ci_high_pointwise": es_att + crit_a * es_se,
        "p_value": p_es,
        "band": "pointwise",
    }
    if how[0] == "bootstrap":
        n_cl = _bootstrap_intervals(ov, es, ests, infs, se_a, ev, gt.clusters, how[1:])
    else:
        ov["se"], ov["crit_value"] = se_a, crit_a
        ov["p_value"] = p_a.copy()
        ov["ci_method"] = "t" if G_cl else "normal"
        es["ci_low"], es["ci_high"] = es["ci_low_pointwise"], es["ci_high_pointwise"]
        n_cl = G_cl or 0
    ov["ci_low"] = ests - ov["crit_value"] * se_a
    ov["ci_high"] = ests + ov["crit_value"] * se_a
    return pd.DataFrame(ov), pd.DataFrame(es), n_cl


#: ``ci_method`` of a multiplier-bootstrap estimate whose interval is the t(G-1) floor's
#: (the bootstrap's own critical value was smaller; :func:`analysis.methods.inference.multiplier_bootstrap`).
BOOTSTRAP_T_FLOOR = "multiplier_bootstrap_t_floor"


def _bootstrap_intervals(
    ov: dict,
    es: dict,
    ests: np.ndarray,
    infs: np.ndarray,
    se_a: np.ndarray,
    ev: dict,
    clusters: np.ndarray | None,
    how: tuple[int, int, str, float],
) -> int:
    """The multiplier bootstrap's inference.

    Fill in the bootstrap's inference (critical values for the estimates studentised by
    their analytic CRV1 SE; a uniform band for the event study); return its clusters.
    """
    draws, seed, boot_weights, alpha = how
    es_att, es_se = ev["att"], ev["se"]
    bo = multiplier_bootstrap(
        ests, infs, clusters, draws, seed, boot_weights, alpha, studentize=se_a
    )
    ov["se"], ov["crit_value"] = se_a, bo.crit_pointwise
    ov["se_bootstrap"] = bo.se
    ov["p_value"] = bo.p_value
    # the label says which bound made the interval: the bootstrap's, or the t(G-1) floor
    ov["ci_method"] = np.where(bo.t_floor_applied, BOOTSTRAP_T_FLOOR, "multiplier_bootstrap")
    okes = ~np.isnan(es_se)
    es_cols = np.column_stack(ev["inf"])
    se_es = es_se[okes]
    be = multiplier_bootstrap(
        es_att[okes],
        es_cols[:, okes],
        clusters,
        draws,
        seed,
        boot_weights,
        alpha,
        studentize=se_es,
    )
    es["se_bootstrap"] = np.full(len(es_se), np.nan)
    es["se_bootstrap"][okes] = be.se
    es["p_value"][okes] = be.p_value
    es["ci_low_pointwise"][okes] = es_att[okes] - be.crit_pointwise * se_es
    es["ci_high_pointwise"][okes] = es_att[okes] + be.crit_pointwise * se_es
    es["crit_uniform"] = be.crit_uniform
    es["ci_low"] = es_att - be.crit_uniform * es_se
    es["ci_high"] = es_att + be.crit_uniform * es_se
    es["band"] = "uniform"
    return bo.n_clusters


def _pre_period_facts(es: pd.DataFrame, G_cl: int | None, alpha: float) -> dict:
    """Pre-period facts of the event study.

    Bonferroni over reliable pre-period coefficients (valid under any dependence; a Wald test
    needs a covariance that 10-20 clusters estimate too poorly), the largest pre-period
    deviation and the smallest pre-period gap the test could detect (80% power).
    """
    pre = es[(es["e"] < 0) & es["reliable"] & (es["se"] > 0)]
    if not len(pre):
        return {"chi2": np.nan, "df": 0, "p": np.nan, "detectable": np.nan, "max": np.nan}
    z_pre = (pre["att"] / pre["se"]).to_numpy()
    dfree = len(pre)
    crit_b = t_critical(G_cl, alpha / dfree)
    return {
        "chi2": float(np.sum(z_pre**2)),
        "df": dfree,
        "p": float(min(1.0, dfree * pre["p_value"].min())),
        "detectable": float((crit_b + stats.norm.ppf(0.8)) * pre["se"].min()),
        "max": float(pre["att"].abs().max()),
    }


#: The code of the staggered estimator's results (``Estimate.method``).
CS_NAME = "cs_did"
ESTIMANDS = {
    "simple": "ATT, partnered desa-years (simple aggregation)",
    "dynamic": "ATT, average over years since partnering (dynamic aggregation)",
    "group": "ATT, average over start cohorts (group aggregation)",
    "calendar": "ATT, average over calendar years (calendar aggregation)",
}


def apply_late_exposed(
    df: pd.DataFrame, design: Design, last_year: int, late_exposed: LateExposed = "exclude"
) -> tuple[pd.DataFrame, int]:
    """Desa first exposed after ``last_year``: left out, or counted as never treated.

    ``"exclude"``: their rows are left out (neither partnered nor comparison desa, with either
    comparison group); ``"never_treated"``: their ``g`` becomes 0, as R ``did``'s ``att_gt``
    recodes units first treated after the last period (csdid and moderndid likewise).

    Parameters
    ----------
    df, design
        A desa-year panel with ``g`` and its column roles.
    last_year
        The last outcome year compared.
    late_exposed
        ``"exclude"`` or ``"never_treated"`` (:data:`analysis.methods.options.LateExposed`).

    Returns
    -------
    tuple
        The panel and the number of such desa.
    """
    check_option("late_exposed", late_exposed, LateExposed)
    late = df["g"].to_numpy() > last_year
    n = int(df.loc[late, design.unit].nunique()) if late.any() else 0
    if not n:
        return df, 0
    if late_exposed == "exclude":
        return df[~late], n
    return df.assign(g=np.where(late, 0, df["g"].to_numpy())), n


def callaway_santanna(
    df: pd.DataFrame,
    design: Design,
    control_group: ControlGroup = "nevertreated",
    last_year: int | None = None,
    cluster: bool = True,
    est_method: EstMethod = "dr",
    covariates: tuple[str, ...] | None = None,
    base_period: BasePeriod = "varying",
    anticipation: int = 0,
    aggregation: Aggregation = "simple",
    inference: Inference = "bootstrap",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    boot_weights: BootWeights = "mammen",
    min_treated: int = MIN_TREATED,
    baseline_outcome: bool = False,
    pretest: PreTest = "bonferroni",
    balance_e: int | None = None,
    late_exposed: LateExposed = "exclude",
    ps_model: PropensityModel = "cell",
) -> tuple[Result, Staggered | None]:
    """Staggered DiD for a design: one aggregation as a tidy result, plus all aggregations.

    Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with multiple time
    periods", Journal of Econometrics 225(2), 200-230 (doubly robust cells: Sant'Anna and Zhao
    2020); :func:`group_time_att` then :func:`aggregate`.

    Parameters
    ----------
    df, design
        The desa-year panel (with ``g``) and its column roles.
    control_group, est_method, base_period, anticipation, cluster, pretest, balance_e
        As :func:`group_time_att` and :func:`aggregate` (the grade uses the default pre-test).
    last_year, min_treated
        Last outcome year used (default: the last in ``df``); fewest partnered desa with a
        pre-period for an estimate.
    covariates
        ``None``: the design's covariates present in ``df``; ``()``: unconditional.
    aggregation
        Which aggregation the returned :class:`Estimate` reports (all are in the ``Staggered``).
    inference, draws, seed, boot_weights
        ``"bootstrap"`` (clustered multiplier bootstrap, ``draws`` draws from
        ``np.random.default_rng(seed)`` with ``boot_weights``) or ``"analytic"`` (influence
        function SE, t(G-1)); the other one is reported beside it (``*_analytic`` fields).
    baseline_outcome
        Add the outcome's first-year level to the covariates: parallel trends only among desa
        that started at the same level (README "Evidence grade": the index's ceiling).
    late_exposed, ps_model
        Desa first exposed after ``last_year``: ``"exclude"`` or ``"never_treated"`` (as R
        ``did``; :func:`apply_late_exposed`, ``facts["n_late_exposed"]``); ``ps_model`` as
        :func:`group_time_att` (``facts["ps_model"]``: the one used).

    Returns
    -------
    tuple
        The :class:`Estimate` of ``aggregation`` and the :class:`Staggered`; or a
        ``NotEstimable`` (with the reason) and None when there are too few partnered desa with
        a pre-period, no comparison desa, or the outcome is constant. Desa without every year
        are left out as R ``did`` does with a panel (``facts["n_dropped_missing_year"]``).
    """
    _check_options(control_group, est_method, base_period, anticipation)
    _check_cs_options(aggregation, inference, boot_weights, pretest)
    df, covs, first, last = _staggered_sample(df, design, covariates, last_year, baseline_outcome)
    df, n_late = apply_late_exposed(df, design, last, late_exposed)  # partnered, too recent
    estimand = ESTIMANDS[aggregation]
    how = (anticipation, min_treated, control_group, estimand, n_late)
    if (refused := _refusal(df, design, (first, last), *how)) is not None:
        return refused, None
    gt = group_time_att(
        df[df[design.time] <= last], design, control_group, cluster, est_method, covs,
        base_period, anticipation, ps_model,
    )  # fmt: skip
    if gt.table["post"].sum() == 0:
        return _no_post_cohort(design, estimand), None
    agg = aggregate(gt, inference, draws, seed, boot_weights, 0.05, pretest, balance_e)
    asked = {"est_method_requested": est_method, "aggregation": aggregation,
             "base_period": base_period, "anticipation": anticipation,
             "late_exposed": late_exposed, "n_late_exposed": n_late}  # fmt: skip
    return _cs_estimate(design, gt, agg, control_group, asked, baseline_outcome), agg


def _no_post_cohort(design: Design, estimand: str) -> NotEstimable:
    said = {"outcome": design.outcome, "method": CS_NAME, "estimand": estimand}
    detail = "no post-period cohort with comparison desa"
    return NotEstimable(**said, reason="too_few_treated", detail=detail)


def _check_cs_options(aggregation: str, inference: str, boot_weights: str, pretest: str) -> None:
    check_option("aggregation", aggregation, Aggregation)
    check_option("pretest", pretest, PreTest)
    check_option("inference", inference, Inference)
    check_option("boot_weights", boot_weights, BootWeights)


def _staggered_sample(
    df: pd.DataFrame,
    design: Design,
    covariates: tuple[str, ...] | None,
    last_year: int | None,
    baseline_outcome: bool,
) -> tuple[pd.DataFrame, tuple[str, ...], int, int]:
    """The sample of the staggered estimator.

    The columns the estimator reads, the covariates (with the baseline outcome if asked),
    and the first and last years.
    """
    covs = (
        tuple(c for c in design.covariates if c in df.columns)
        if covariates is None
        else tuple(covariates)
    )
    y = design.outcome
    if all(c in df.columns for c in covs):
        # only the columns the estimator reads: every later copy and filter is then cheap
        needed = [design.unit, design.time, y, "g", *covs, design.cluster]
        df = df[[c for c in dict.fromkeys(needed) if c in df.columns]]
    last = int(df[design.time].max()) if last_year is None else last_year
    first = int(df[design.time].min())
    if baseline_outcome:
        base_col = f"baseline_{y}"
        level = df[df[design.time] == first].set_index(design.unit)[y].astype(float)
        df = df.assign(**{base_col: df[design.unit].map(level).astype(float)})
        covs = (*covs, base_col)
    return df, covs, first, last


def _refusal(
    df: pd.DataFrame,
    design: Design,
    years: tuple[int, int],
    anticipation: int,
    min_treated: int,
    control_group: str,
    estimand: str,
    recent: int,
) -> NotEstimable | None:
    """Why the staggered comparison cannot be made here (None when it can).

    ``years``: the first and last years; ``recent``: desa first exposed after the last year
    (before :func:`apply_late_exposed`), which make a comparison without evaluated desa
    ``too_recent``.
    """
    y, (first, last) = design.outcome, years
    units = df.drop_duplicates(design.unit)
    eligible = units[(units["g"] > first + anticipation) & (units["g"] <= last)]
    n1, n_ctrl = len(eligible), int((units["g"] == 0).sum())
    said = {"outcome": y, "method": CS_NAME, "estimand": estimand}
    if n1 < min_treated:
        reason = (
            "too_recent"
            if recent and n1 == 0
            else (
                "no_pre_period"
                if (units["g"].between(1, first)).any() and n1 == 0
                else "too_few_treated"
            )
        )
        detail = f"{n1} partnered desa with a year before the start"
        return NotEstimable(**said, reason=reason, detail=detail, n_treated=n1, n_control=n_ctrl)
    if n_ctrl == 0 and control_group == "nevertreated":
        return NotEstimable(**said, reason="no_control", detail="", n_treated=n1, n_control=0)
    if df[y].nunique(dropna=True) < 2:
        return NotEstimable(
            **said, reason="constant_outcome", detail="", n_treated=n1, n_control=n_ctrl
        )
    return None


def _cs_estimate(
    design: Design,
    gt: GroupTime,
    agg: Staggered,
    control_group: str,
    asked: dict,
    baseline_outcome: bool,
) -> Estimate:
    """The requested aggregation as an Estimate.

    The requested aggregation (``asked["aggregation"]``) as an :class:`Estimate` with the facts
    of how it was computed.
    """
    row = agg.overall.set_index("type").loc[asked["aggregation"]]
    dropped = (("missing_year", agg.n_dropped_unbalanced),
               ("missing_covariate", agg.n_dropped_covariates))  # fmt: skip
    said = {f"n_dropped_{r}": k for r, k in dropped}
    used = gt.est_method
    if gt.n_cells_reg_fallback and used in ("dr", "ipw"):
        used = "reg" if gt.n_cells_reg_fallback == len(gt.table) else f"{used},reg"
    return Estimate(
        outcome=design.outcome,
        method=CS_NAME,
        estimand=ESTIMANDS[asked["aggregation"]],
        estimate=float(row["estimate"]),
        se=float(row["se"]),
        n_treated=agg.n_treated,
        n_control=agg.n_control,
        ci_low=float(row["ci_low"]),
        ci_high=float(row["ci_high"]),
        p_value=float(row["p_value"]),
        est_method=used,
        control_group=control_group,
        se_type="influence_function",
        cluster=design.cluster if gt.clusters is not None else "",
        n_clusters=agg.n_clusters,
        ci_method=str(row["ci_method"]),
        crit_value=float(row["crit_value"]),
        se_analytic=float(row["se_analytic"]),
        ci_low_analytic=float(row["ci_low_analytic"]),
        ci_high_analytic=float(row["ci_high_analytic"]),
        p_value_analytic=float(row["p_value_analytic"]),
        n_dropped=agg.n_dropped_unbalanced + agg.n_dropped_covariates,
        dropped_reason=",".join(r for r, k in dropped if k),
        facts={
            "covariates": ",".join(agg.covariates),
            **asked,
            "draws": agg.draws,
            "seed": agg.seed,
            "boot_weights": agg.boot_weights,
            "n_cells": len(agg.group_time),
            "n_cells_reg_fallback": agg.n_cells_reg_fallback,
            "ps_model": gt.ps_model,
            "baseline_outcome": baseline_outcome,
            "se_bootstrap": float(row.get("se_bootstrap", np.nan)),
            **said,
        },
        details={"pretrend_p": agg.pretrend_p, "pretest": agg.pretest},
    )


def _demean_two_way(M: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float = 1e-11) -> np.ndarray:
    """Residuals of the columns of ``M`` on two sets of fixed effects (alternating projections)."""
    M = M.astype(float).copy()
    na, nb = a.max() + 1, b.max() + 1
    ca, cb = np.bincount(a, minlength=na), np.bincount(b, minlength=nb)
    for _ in range(10_000):
        prev = M.copy()
        for codes, cnt, k in ((a, ca, na), (b, cb, nb)):
            means = np.column_stack(
                [
                    np.bincount(codes, M[:, j], minlength=k) / np.maximum(cnt, 1)
                    for j in range(M.shape[1])
                ]
            )
            M -= means[codes]
        if np.max(np.abs(M - prev)) < tol:
            break
    return M


#: What two-way fixed effects estimates, as results name it.
TWFE_ESTIMAND = "weighted average of partnered desa-year effects (TWFE)"


def twfe(
    df: pd.DataFrame,
    design: Design,
    min_treated: int = MIN_TREATED,
    covariates: tuple[str, ...] = (),
    vcov: Vcov = "cluster",
    inference: Inference = "analytic",
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    boot_weights: BootWeights = "webb",
) -> Result:
    """Two-way fixed effects (desa and year) via pyfixest ``feols``.

    Biased under staggered adoption with heterogeneous effects (Goodman-Bacon, A. 2021,
    "Difference-in-differences with variation in treatment timing", Journal of Econometrics
    225(2), 254-277); shown as the conventional benchmark next to :func:`callaway_santanna`.

    Parameters
    ----------
    df, design
        The desa-year panel (with ``g``) and its column roles.
    min_treated
        Fewest partnered desa for an estimate.
    covariates
        Time-invariant baseline covariates enter interacted with year dummies (a time-invariant
        covariate alone is absorbed by the desa effects).
    vcov
        ``"cluster"`` (CRV1 by ``design.cluster``; refused if that column is missing), ``"HC1"``
        or ``"iid"``. The label ``se_type`` is what pyfixest computed.
    inference, draws, seed, boot_weights
        ``"analytic"`` (t(G-1) critical value when clustered) or ``"bootstrap"``: wild cluster
        restricted bootstrap (Webb weights by default) for the p-value and interval.

    Returns
    -------
    Estimate or NotEstimable
        The coefficient of being partnered, or why it was not estimated.
    """
    check_option("vcov", vcov, Vcov)
    check_option("inference", inference, Inference)
    check_option("boot_weights", boot_weights, BootWeights)
    y, covs = design.outcome, tuple(covariates)
    d, n1, n0 = _twfe_sample(df, design, covs)
    n_always = int(d.attrs.get("n_always_treated", 0))
    _check_twfe_inference(design, d, vcov, inference)
    _check_panel_rows(d, design)
    refused = (
        "too_few_treated"
        if n1 < min_treated
        else ("constant_outcome" if d[y].nunique() < 2 else "")
    )
    if refused:
        said = {"outcome": y, "method": "twfe", "estimand": TWFE_ESTIMAND, "reason": refused}
        return NotEstimable(**said, detail="", n_treated=n1, n_control=n0)
    d, inter = _with_year_interactions(d, design, covs)
    est, se = _feols(d, design, inter, vcov)
    G = int(d[design.cluster].nunique()) if vcov == "cluster" else 0
    kw = dict(
        est_method="ols",
        se_type={"cluster": "CRV1", "HC1": "HC1", "iid": "iid"}[vcov],
        cluster=design.cluster if vcov == "cluster" else "",
        facts={
            "covariates": ",".join(covs),
            "vcov": vcov,
            "n_always_treated": n_always,
        },
    )
    wb = None
    if inference != "analytic":
        k = _twfe_n_params(d, design, inter)
        wb = _twfe_wild_bootstrap(d, design, inter, (draws, seed, boot_weights), k)
    return coefficient_estimate(y, "twfe", TWFE_ESTIMAND, est, se, n1, n0, G, wb, **kw)


def _twfe_sample(
    df: pd.DataFrame, design: Design, covs: tuple[str, ...]
) -> tuple[pd.DataFrame, int, int]:
    """The sample of two-way fixed effects.

    The columns TWFE reads, complete rows, the ``_treated`` indicator and the numbers of
    partnered and never-partnered desa. Desa partnered in every year of the sample (started
    in or before its first year) are left out, as the staggered estimator leaves them out:
    they have no year before partnering, so they could only serve as comparison desa for
    the year effects, the "forbidden comparison" of Goodman-Bacon (2021). Their number is
    ``d.attrs["n_always_treated"]``.
    """
    y = design.outcome
    needed = [design.unit, design.time, y, "g", *covs, design.cluster]
    d = df[[c for c in dict.fromkeys(needed) if c in df.columns]]
    d = d.dropna(subset=[y, *covs]).copy()
    always = (d["g"] > 0) & (d["g"] <= d[design.time].min()) if len(d) else d["g"] > 0
    n_always = int(d.loc[always, design.unit].nunique())
    d = d[~always].copy()
    d.attrs["n_always_treated"] = n_always
    d["_treated"] = ((d["g"] > 0) & (d[design.time] >= d["g"])).astype(float)
    n1 = int(d.loc[d["_treated"] == 1, design.unit].nunique())
    n0 = int(d.loc[d["g"] == 0, design.unit].nunique())
    return d, n1, n0


def _check_panel_rows(d: pd.DataFrame, design: Design) -> None:
    """Refuse a table with one row per unit before pyfixest sees it.

    Unit effects then absorb every row; pyfixest 0.60 aborts the whole process on such data
    (SIGABRT, which in a notebook kills the kernel).
    """
    n_units = int(d[design.unit].nunique())
    if len(d) and len(d) == n_units:
        raise PanelShapeError(
            f"twfe needs a panel: each of the {n_units} units of '{design.unit}' has one row "
            f"(with outcome and covariates), so desa effects absorb them all. Pass the desa-year "
            f"panel (one row per {design.unit} and {design.time}), or compare one year with "
            "compare_year.",
            key="panel.twfe_one_row",
            n_units=n_units,
            unit=design.unit,
            time=design.time,
        )


def _check_twfe_inference(design: Design, d: pd.DataFrame, vcov: str, inference: str) -> None:
    if inference == "bootstrap" and vcov != "cluster":
        raise OptionError(
            "inference='bootstrap' for TWFE is the wild cluster bootstrap; it needs vcov='cluster'",
            key="panel.bootstrap_needs_cluster",
        )
    if vcov == "cluster" and design.cluster not in d:
        raise OptionError(
            f"vcov='cluster' or inference='bootstrap' needs the cluster column "
            f"'{design.cluster}', which the data lack; use vcov='HC1' or 'iid'",
            key="panel.cluster_missing",
            cluster=design.cluster,
        )


def _with_year_interactions(
    d: pd.DataFrame, design: Design, covs: tuple[str, ...]
) -> tuple[pd.DataFrame, list[str]]:
    """Each varying covariate times each year dummy (but the first), as columns ``_x_<k>``."""
    years = sorted(d[design.time].unique())
    inter = {}
    for c in covs:
        if d[c].std() == 0:
            continue
        for yr in years[1:]:
            inter[f"_x_{len(inter)}"] = d[c].astype(float) * (d[design.time] == yr)
    if inter:
        d = pd.concat([d, pd.DataFrame(inter, index=d.index)], axis=1)
    return d, list(inter)


def _feols(d: pd.DataFrame, design: Design, inter: list[str], vcov: str) -> tuple[float, float]:
    """The ``_treated`` coefficient and its SE from pyfixest ``feols`` with desa and year effects."""
    import pyfixest as pf

    y = design.outcome
    rhs = " + ".join(["_treated", *inter])
    pf_vcov = {"cluster": {"CRV1": design.cluster}, "HC1": "hetero", "iid": "iid"}[vcov]
    fit = pf.feols(f"{y} ~ {rhs} | {design.unit} + {design.time}", data=d, vcov=pf_vcov)
    return float(fit.coef()["_treated"]), float(fit.se()["_treated"])


def _twfe_n_params(d: pd.DataFrame, design: Design, inter: list[str]) -> int:
    """The k of pyfixest's CRV1 factor (N - 1) / (N - k) for TWFE (its ``k_fixef="nonnested"``).

    The slopes, plus every level of the two fixed effects but one, less the levels of an effect
    nested in the clusters (a desa lies in one kecamatan), which counts once (fixest issue 554;
    pyfixest ``get_ssc``).
    """
    X = d[["_treated", *inter]].to_numpy(float)
    k = int(np.linalg.matrix_rank(X - X.mean(axis=0))) if inter else 1
    levels, nested = [], []
    for fe in (design.unit, design.time):
        levels.append(int(d[fe].nunique()))
        nested.append(bool(d.groupby(fe)[design.cluster].nunique().max() == 1))
    k_fe = sum(levels) - (len(levels) - 1)
    return k + k_fe - sum(n for n, ok in zip(levels, nested, strict=True) if ok) + sum(nested)


def _twfe_wild_bootstrap(
    d: pd.DataFrame, design: Design, inter: list[str], how: tuple[int, int, str], k: int
) -> WildBootstrap:
    """Wild cluster restricted bootstrap of the TWFE coefficient.

    Wild cluster restricted bootstrap of the ``_treated`` coefficient
    (:func:`analysis.methods.inference.wild_cluster_bootstrap`): the desa and year effects and
    the interactions are the other regressors, projected out of every bootstrap sample
    (Frisch-Waugh-Lovell); ``how``: draws, seed and weights; ``k``: the number of parameters
    pyfixest's CRV1 factor counts, so that the bootstrap's t statistic is pyfixest's.
    """
    unit = pd.factorize(d[design.unit])[0]
    time = pd.factorize(d[design.time])[0]
    Z = _demean_two_way(d[inter].to_numpy(float), unit, time) if inter else None

    def residualise(a: np.ndarray) -> np.ndarray:
        r = _demean_two_way(a, unit, time)
        return r if Z is None else r - Z @ np.linalg.lstsq(Z, r, rcond=None)[0]

    y, x = d[design.outcome].to_numpy(float), d["_treated"].to_numpy(float)
    cl = d[design.cluster].to_numpy()
    return wild_cluster_bootstrap(y, x, cl, *how, residualise=residualise, n_params=k)
