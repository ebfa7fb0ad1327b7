"""Sun and Abraham's interaction-weighted event study.

Sun, L. and Abraham, S. (2021), "Estimating dynamic treatment effects in event studies with
heterogeneous treatment effects", Journal of Econometrics 225(2), 175-199. One regression of the
outcome on unit and year fixed effects and a dummy for every treated cohort g and relative
period e = t - g but e = -1 (the "cohort-specific ATTs" CATT(g, e), their eq. 22), with the
never-treated desa, or the last-treated cohort, as the control cohort. The CATTs are then
averaged with the cohorts' shares of the treated desa-years at each relative period (their
eq. 23, the interaction-weighted estimator), and over every post-start cell for one ATT.

This is what R fixest's ``sunab()`` computes (reference period -1, never-treated cohorts as
reference, always-treated units left out; ``summary(agg = "ATT")`` for the ATT), and the
standard errors are fixest's: clustered CRV1 with fixest's small-sample factor, the weights
taken as fixed in the aggregation (``fixest::aggregate``), not the delta method over the cohort
shares of Sun and Abraham's Proposition 6 that Stata ``eventstudyinteract`` adds. The package
reproduces fixest's published ``base_stagg`` example (tests/test_sun_abraham.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.design import Design
from analysis.errors import OptionError, check_option
from analysis.methods.inference import coefficient_estimate, t_critical
from analysis.methods.options import LateExposed, SunAbrahamControl, Vcov
from analysis.methods.panel import MIN_TREATED, apply_late_exposed
from analysis.methods.results import NotEstimable, Result

__all__ = ["SUNAB_ESTIMAND", "InteractionWeighted", "sun_abraham"]

#: What the interaction-weighted ATT estimates, as results name it.
SUNAB_ESTIMAND = "ATT over partnered desa-years, interaction-weighted (Sun-Abraham)"

#: The relative period whose dummy is left out (fixest ``sunab``'s default ``ref.p = -1``).
REFERENCE_PERIOD = -1


@dataclass(frozen=True, kw_only=True)
class InteractionWeighted:
    """The cohort-period effects of Sun and Abraham's regression and their aggregations.

    ``cohort_period``: one row per treated cohort ``g`` and relative period ``e`` (year ``t``),
    with the CATT ``estimate``, its ``se`` and the number of desa-years ``n_obs`` behind it.
    ``event_study``: one row per relative period, the interaction-weighted average over cohorts
    (weights: each cohort's share of the desa-years at that period), with ``se`` and a t(G-1)
    interval. ``att``/``att_se``: the average over every post-start cell, weighted by its
    desa-years. ``vcov``: the covariance of the CATTs (rows of ``cohort_period``, in order).
    """

    cohort_period: pd.DataFrame
    event_study: pd.DataFrame
    att: float
    att_se: float
    vcov: np.ndarray
    control_group: str
    se_type: str
    n_clusters: int
    n_units_always_treated: int = 0
    n_rows_dropped_missing: int = 0

    def tidy(self) -> pd.DataFrame:
        """The event study with the ATT as its last row (``e`` empty)."""
        att = pd.DataFrame([{"e": np.nan, "estimate": self.att, "se": self.att_se}])
        return pd.concat([self.event_study, att], ignore_index=True)

    def __repr__(self) -> str:
        return (
            f"InteractionWeighted({len(self.cohort_period)} CATT(g,e), ATT {self.att:.4g} "
            f"(se {self.att_se:.3g}), {self.control_group})"
        )


def sun_abraham(
    df: pd.DataFrame,
    design: Design,
    control_group: SunAbrahamControl = "nevertreated",
    last_year: int | None = None,
    covariates: tuple[str, ...] = (),
    vcov: Vcov = "cluster",
    min_treated: int = MIN_TREATED,
    late_exposed: LateExposed = "exclude",
) -> tuple[Result, InteractionWeighted | None]:
    """Sun and Abraham's interaction-weighted event study and its ATT.

    Sun, L. and Abraham, S. (2021), "Estimating dynamic treatment effects in event studies with
    heterogeneous treatment effects", Journal of Econometrics 225(2), 175-199; computed as R
    fixest's ``feols(y ~ x + sunab(g, t) | unit + t)`` and ``summary(agg = "ATT")``.

    Parameters
    ----------
    df, design
        The desa-year panel with ``g`` (first partnered year, 0 = never) and its column roles.
    control_group
        ``"nevertreated"``: the never-partnered desa are the control cohort (fixest's default).
        ``"lasttreated"``: the last-partnered cohort joins them, and only the years before it
        started are used (Sun and Abraham, section 4.1).
    last_year
        The last outcome year compared; desa first partnered after it are handled by
        ``late_exposed`` (:func:`analysis.methods.panel.apply_late_exposed`). None: the
        panel's last year.
    covariates
        Time-varying controls entered linearly (time-invariant ones are absorbed by the desa
        effects and refused).
    vcov
        ``"cluster"`` (CRV1 by ``design.cluster``, fixest's small-sample factor
        G/(G-1)·(N-1)/(N-K), fixed effects nested in the clusters not counted in K), ``"HC1"`` or
        ``"iid"``.
    min_treated
        Fewest partnered desa with a post-start year for an estimate.
    late_exposed
        ``"exclude"`` (default) or ``"never_treated"``.

    Returns
    -------
    tuple
        The ATT as an :class:`~analysis.methods.results.Estimate` (method ``"sunab"``) or why it
        is not estimated, and the :class:`InteractionWeighted` detail (None when not estimated).

    Raises
    ------
    OptionError
        An option outside its values, clustering without the cluster column, or a covariate
        that does not vary within desa.
    """
    check_option("control_group", control_group, SunAbrahamControl)
    check_option("vcov", vcov, Vcov)
    check_option("late_exposed", late_exposed, LateExposed)
    d, counts = _sample(df, design, tuple(covariates), vcov, last_year, late_exposed)
    d = _with_control_cohort(d, design, control_group)
    n1 = int(d.loc[(d["g"] > 0) & (d[design.time] >= d["g"]), design.unit].nunique())
    n0 = int(d.loc[d["g"] == 0, design.unit].nunique())
    reason = _refusal(d, design, n1, n0, min_treated)
    if reason:
        said = {"outcome": design.outcome, "method": "sunab", "estimand": SUNAB_ESTIMAND}
        return NotEstimable(**said, reason=reason, detail="", n_treated=n1, n_control=n0), None
    cells, beta, V, G = _regression(d, design, tuple(covariates), vcov)
    iw = _aggregate(cells, beta, V, G, control_group, vcov, counts)
    return _as_estimate(iw, design, tuple(covariates), vcov, (n1, n0)), iw


def _as_estimate(
    iw: InteractionWeighted,
    design: Design,
    covs: tuple[str, ...],
    vcov: str,
    n: tuple[int, int],
) -> Result:
    """The interaction-weighted ATT as an Estimate, with the facts of how it was computed.

    ``n_dropped`` counts the desa partnered in or before the first year (``always_treated``);
    ``facts`` also count the desa-year rows without the outcome or a covariate.
    """
    facts = {
        "covariates": ",".join(covs),
        "vcov": vcov,
        "n_cohort_periods": len(iw.cohort_period),
        "aggregation_weights": "fixed",
        "n_units_always_treated": iw.n_units_always_treated,
        "n_rows_dropped_missing": iw.n_rows_dropped_missing,
    }
    return coefficient_estimate(
        design.outcome,
        "sunab",
        SUNAB_ESTIMAND,
        iw.att,
        iw.att_se,
        *n,
        iw.n_clusters,
        None,
        est_method="ols",
        control_group=iw.control_group,
        se_type=iw.se_type,
        cluster=design.cluster if vcov == "cluster" else "",
        n_dropped=iw.n_units_always_treated,
        dropped_reason="always_treated" if iw.n_units_always_treated else "",
        facts=facts,
    )


def _sample(
    df: pd.DataFrame,
    design: Design,
    covs: tuple[str, ...],
    vcov: str,
    last_year: int | None,
    late_exposed: str,
) -> tuple[pd.DataFrame, tuple[int, int]]:
    """The rows the regression uses, and the always-treated desa and incomplete rows left out.

    Desa partnered in or before the first year have no year before their start: fixest leaves
    them out (their dummies would be collinear with the desa effects), and so does this.
    """
    if vcov == "cluster" and design.cluster not in df:
        raise OptionError(
            f"vcov='cluster' needs the cluster column '{design.cluster}', which the data lack; "
            "use vcov='HC1' or 'iid'",
            key="panel.sunab_cluster_missing",
            cluster=design.cluster,
        )
    needed = [design.unit, design.time, design.outcome, "g", *covs]
    needed += [design.cluster] if vcov == "cluster" else []
    d = df[list(dict.fromkeys(needed))]
    last = int(d[design.time].max()) if last_year is None else int(last_year)
    d, _ = apply_late_exposed(d[d[design.time] <= last], design, last, late_exposed)
    complete = d.dropna(subset=[design.outcome, *covs])
    n_missing = len(d) - len(complete)
    first = complete[design.time].min()
    always = (complete["g"] > 0) & (complete["g"] <= first)
    n_always = int(complete.loc[always, design.unit].nunique())
    d = complete.loc[~always].copy()
    for c in covs:
        if d.groupby(design.unit)[c].nunique().max() <= 1:
            raise OptionError(
                f"covariate '{c}' does not vary within {design.unit}, so the desa effects absorb "
                "it; leave it out of sun_abraham's covariates",
                key="panel.sunab_constant_covariate",
                covariate=c,
                unit=design.unit,
            )
    return d, (n_always, n_missing)


def _with_control_cohort(d: pd.DataFrame, design: Design, control_group: str) -> pd.DataFrame:
    """With ``"lasttreated"``, the last cohort recoded as control and its years from start cut."""
    if control_group != "lasttreated" or not (d["g"] > 0).any():
        return d
    g_last = d.loc[d["g"] > 0, "g"].max()
    d = d[d[design.time] < g_last]
    return d.assign(g=np.where(d["g"].to_numpy() == g_last, 0, d["g"].to_numpy()))


def _refusal(d: pd.DataFrame, design: Design, n1: int, n0: int, min_treated: int) -> str:
    """The reason code when the regression cannot be run, else ``""``."""
    if d[design.time].nunique() < 2:
        return "no_pre_period"
    if n1 < min_treated:
        return "too_few_treated"
    if n0 == 0:
        return "no_control"
    if d[design.outcome].nunique() < 2:
        return "constant_outcome"
    return ""


def _regression(
    d: pd.DataFrame, design: Design, covs: tuple[str, ...], vcov: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    """The saturated regression: CATT(g, e) cells, their coefficients and covariance, clusters.

    Unit and year effects are swept out exactly (:func:`_two_way_residuals`); the dummies of
    cells without a treated desa-year do not exist, so the design has full rank whenever a
    control cohort is present.
    """
    g = d["g"].to_numpy()
    t = d[design.time].to_numpy()
    e = np.where(g > 0, t - g, REFERENCE_PERIOD)
    in_cell = (g > 0) & (e != REFERENCE_PERIOD)
    cells = (
        pd.DataFrame({"g": g[in_cell], "e": e[in_cell]})
        .value_counts()
        .rename("n_obs")
        .reset_index()
        .sort_values(["e", "g"], ignore_index=True)
    )
    cells["t"] = cells["g"] + cells["e"]
    key = pd.MultiIndex.from_frame(cells[["g", "e"]])
    col = key.get_indexer(pd.MultiIndex.from_arrays([g, e]))
    D = np.zeros((len(d), len(cells)))
    rows = np.flatnonzero(col >= 0)
    D[rows, col[rows]] = 1.0
    X = np.column_stack([D, d[list(covs)].to_numpy(float)]) if covs else D
    unit = pd.factorize(d[design.unit])[0]
    time = pd.factorize(d[design.time])[0]
    Z = _two_way_residuals(np.column_stack([d[design.outcome].to_numpy(float), X]), unit, time)
    y, X = Z[:, 0], Z[:, 1:]
    bread = np.linalg.pinv(X.T @ X)
    beta = bread @ (X.T @ y)
    u = y - X @ beta
    V, G = _sandwich(X, u, bread, d, design, vcov)
    k = len(cells)
    return cells, beta[:k], V[:k, :k], G


def _two_way_residuals(M: np.ndarray, unit: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``M`` on unit and year dummies, exactly, balanced or not.

    Frisch-Waugh-Lovell: the columns and the year dummies are demeaned within units, and the
    demeaned columns are regressed on the demeaned year dummies (a few columns), so no
    iteration is needed even when desa miss years.
    """

    def within(A: np.ndarray) -> np.ndarray:
        sums = np.zeros((unit.max() + 1, A.shape[1]))
        np.add.at(sums, unit, A)
        return A - (sums / np.bincount(unit)[:, None])[unit]

    years = np.zeros((len(time), time.max() + 1))
    years[np.arange(len(time)), time] = 1.0
    Mu, Yu = within(M.astype(float)), within(years)
    return Mu - Yu @ np.linalg.lstsq(Yu, Mu, rcond=None)[0]


def _sandwich(
    X: np.ndarray, u: np.ndarray, bread: np.ndarray, d: pd.DataFrame, design: Design, vcov: str
) -> tuple[np.ndarray, int]:
    """The covariance of the coefficients as fixest computes it (default ``ssc``), and G.

    K counts the slopes and the fixed-effect levels (one dropped per effect but the first), the
    levels of an effect nested in the clusters counting once (fixest ``fixef.K = "nested"``).
    """
    n = len(u)
    levels = [int(d[fe].nunique()) for fe in (design.unit, design.time)]
    k_fe = sum(levels) - (len(levels) - 1)
    if vcov == "cluster":
        cl = pd.factorize(d[design.cluster])[0]
        G = int(cl.max()) + 1
        for lv, fe in zip(levels, (design.unit, design.time), strict=True):
            if d.groupby(fe)[design.cluster].nunique().max() == 1:
                k_fe -= lv - 1
        scores = np.zeros((G, X.shape[1]))
        np.add.at(scores, cl, X * u[:, None])
        meat = scores.T @ scores
        c = G / (G - 1) * (n - 1) / (n - X.shape[1] - k_fe)
        return c * bread @ meat @ bread, G
    K = X.shape[1] + k_fe
    if vcov == "HC1":
        meat = (X * u[:, None] ** 2).T @ X
        return n / (n - K) * bread @ meat @ bread, 0
    return float(u @ u) / (n - K) * bread, 0


def _aggregate(
    cells: pd.DataFrame,
    beta: np.ndarray,
    V: np.ndarray,
    G: int,
    control_group: str,
    vcov: str,
    counts: tuple[int, int],
) -> InteractionWeighted:
    """Interaction-weighted averages by relative period and the ATT (fixed weights, as fixest).

    Each period's weights are the cohorts' shares of its desa-years (Sun and Abraham, eq. 23);
    the ATT weighs every post-start cell by its desa-years (fixest ``agg = "ATT"``).
    """
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    cp = cells.assign(estimate=beta, se=se)
    crit = t_critical(G or None)
    e, n_obs = cells["e"].to_numpy(), cells["n_obs"].to_numpy(float)
    periods = np.unique(e)
    W = (e[None, :] == periods[:, None]) * n_obs  # one row of cohort weights per period
    W /= W.sum(axis=1, keepdims=True)
    es_se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", W, V, W), 0, None))
    es = pd.DataFrame(
        {
            "e": periods.astype(int),
            "estimate": W @ beta,
            "se": es_se,
            "n_cohorts": (W > 0).sum(axis=1),
        }
    )
    es["ci_low"], es["ci_high"] = es["estimate"] - crit * es["se"], es["estimate"] + crit * es["se"]
    w = np.where(e >= 0, n_obs, 0.0)
    w /= w.sum()
    return InteractionWeighted(
        cohort_period=cp,
        event_study=es,
        att=float(w @ beta),
        att_se=float(np.sqrt(max(w @ V @ w, 0.0))),
        vcov=V,
        control_group=control_group,
        se_type={"cluster": "CRV1", "HC1": "HC1", "iid": "iid"}[vcov],
        n_clusters=G,
        n_units_always_treated=counts[0],
        n_rows_dropped_missing=counts[1],
    )
