"""How fragile is an estimate: E-values, minimum detectable effects and sensitivity bounds.

E-values for unmeasured confounding, and the minimum detectable effect for the numbers of
partnered and comparison desa at hand.

E-value: VanderWeele, T. J. and Ding, P. (2017), "Sensitivity analysis in observational
research: introducing the E-value", Annals of Internal Medicine 167(4), 268-274; continuous
outcomes through the standardized difference d with RR ~ exp(0.91 d) (VanderWeele 2017).
MDE: Bloom, H. S. (1995), "Minimum detectable effects", Evaluation Review 19(5):
MDE = (z_{1-alpha/2} + z_{power}) x SE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def _evalue_rr(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return float(rr + np.sqrt(rr * (rr - 1)))


@dataclass(frozen=True, kw_only=True)
class EValue:
    """E-values of an estimate (VanderWeele and Ding 2017)."""

    point: float
    ci_bound: float  # E-value for the confidence limit nearest the null (1 if it crosses 0)


def e_value(estimate: float, ci_low: float, ci_high: float, sd_outcome: float) -> EValue:
    """E-value of a difference in a continuous outcome, via the standardized difference.

    VanderWeele, T. J. and Ding, P. (2017), Annals of Internal Medicine 167(4), 268-274.
    """
    if not (np.isfinite(estimate) and sd_outcome > 0):
        return EValue(point=np.nan, ci_bound=np.nan)
    point = _evalue_rr(np.exp(0.91 * estimate / sd_outcome))
    if ci_low <= 0 <= ci_high:
        bound = 1.0
    else:
        near = ci_low if estimate > 0 else ci_high
        bound = _evalue_rr(np.exp(0.91 * near / sd_outcome))
    return EValue(point=point, ci_bound=bound)


def mde_from_se(
    se: float, alpha: float = 0.05, power: float = 0.8, df: float | None = None
) -> float:
    """Minimum detectable effect from a standard error (Bloom 1995).

    Smallest true effect the design detects with the given power (two-sided test); with
    ``df`` (e.g. clusters - 1) Student t quantiles replace the normal ones.
    """
    if df is not None and df > 0:
        return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * se)
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def mde_two_groups(
    n_treated: int,
    n_control: int,
    sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    design_effect: float = 1.0,
) -> float:
    """MDE for a difference in means between two groups of the given sizes."""
    if n_treated < 1 or n_control < 1:
        return np.inf
    se = sd * np.sqrt(1 / n_treated + 1 / n_control) * np.sqrt(design_effect)
    return mde_from_se(se, alpha, power)


# --- Cinelli & Hazlett (2020) -------------------------------------------------------------
# Cinelli, C. and Hazlett, C. (2020), "Making sense of sensitivity: extending omitted variable
# bias", Journal of the Royal Statistical Society B 82(1), 39-67; formulas as in R/Python
# ``sensemakr`` (robustness_value, partial_r2, ovb_partial_r2_bound, adjusted_estimate).


def partial_r2(t_stat: float, dof: float) -> float:
    """Partial R2 of a regressor with the outcome, from its t statistic: t^2 / (t^2 + dof)."""
    return float(t_stat**2 / (t_stat**2 + dof))


def _rv(f: float) -> float:
    return float(0.5 * (np.sqrt(f**4 + 4 * f**2) - f**2))


def rv_q(t_stat: float, dof: float, q: float = 1.0, alpha: float | None = None) -> float:
    """Robustness value RV_q (Cinelli and Hazlett 2020).

    Robustness value: the partial R2 that confounders would need with both treatment and
    outcome to reduce the estimate by 100q% (``alpha``: to make it not significant at alpha).
    """
    fq = q * abs(t_stat) / np.sqrt(dof)
    if alpha is None:
        return _rv(fq)
    f_crit = abs(stats.t.ppf(alpha / 2, dof - 1)) / np.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa < 0:
        return 0.0
    if fq > 1 / f_crit:
        return float((fq**2 - f_crit**2) / (1 + fq**2))
    return _rv(fqa)


@dataclass(frozen=True, kw_only=True)
class OVBBound:
    """Confounders as strong as ``kd``/``ky`` times an observed benchmark covariate."""

    r2dz_x: float
    r2yz_dx: float
    adjusted_estimate: float
    adjusted_se: float
    adjusted_t: float
    adjusted_ci_low: float
    adjusted_ci_high: float
    kd: float = 1.0
    ky: float = 1.0


def bound_from_benchmark(
    r2dxj_x: float, r2yxj_dx: float, kd: float = 1.0, ky: float = 1.0
) -> tuple[float, float]:
    """Partial R2 bounds from a benchmark covariate.

    Partial R2 bounds of a confounder ``kd``/``ky`` times as strong as a benchmark covariate
    (sensemakr's ``ovb_partial_r2_bound``): returns (r2dz_x, r2yz_dx).
    """
    r2dz_x = kd * r2dxj_x / (1 - r2dxj_x)
    if r2dz_x >= 1:
        return np.nan, np.nan
    r2zxj_xd = kd * r2dxj_x**2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    r2yz_dx = ((np.sqrt(ky) + np.sqrt(r2zxj_xd)) / np.sqrt(1 - r2zxj_xd)) ** 2 * (
        r2yxj_dx / (1 - r2yxj_dx)
    )
    return float(r2dz_x), float(min(r2yz_dx, 1.0))


def adjusted_estimate(
    estimate: float, se: float, dof: float, r2dz_x: float, r2yz_dx: float, alpha: float = 0.05
) -> OVBBound:
    """An estimate adjusted for a confounder of given strength.

    Estimate, SE, t and interval after removing the bias of a confounder with the given
    partial R2s (moved towards zero, sensemakr's ``reduce = TRUE``).
    """
    if not (np.isfinite(r2dz_x) and np.isfinite(r2yz_dx)) or r2dz_x >= 1:
        return OVBBound(
            r2dz_x=r2dz_x,
            r2yz_dx=r2yz_dx,
            adjusted_estimate=np.nan,
            adjusted_se=np.nan,
            adjusted_t=np.nan,
            adjusted_ci_low=np.nan,
            adjusted_ci_high=np.nan,
        )
    bias = se * np.sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x)) * np.sqrt(dof)
    adj = float(np.sign(estimate) * (abs(estimate) - bias))
    adj_se = float(se * np.sqrt((1 - r2yz_dx) / (1 - r2dz_x)) * np.sqrt(dof / (dof - 1)))
    crit = stats.t.ppf(1 - alpha / 2, dof - 1)
    t_adj = adj / adj_se if adj_se > 0 else np.nan
    return OVBBound(
        r2dz_x=r2dz_x,
        r2yz_dx=r2yz_dx,
        adjusted_estimate=adj,
        adjusted_se=adj_se,
        adjusted_t=t_adj,
        adjusted_ci_low=adj - crit * adj_se,
        adjusted_ci_high=adj + crit * adj_se,
    )


def ovb_bound(
    estimate: float, se: float, dof: float, r2dxj_x: float, r2yxj_dx: float, kd: float = 1.0
) -> OVBBound:
    """Adjusted estimate for a confounder as strong as a benchmark.

    Adjusted estimate if a confounder were ``kd`` times as strong as the benchmark covariate
    (partial R2 ``r2dxj_x`` with treatment, ``r2yxj_dx`` with the outcome).
    """
    r2dz, r2yz = bound_from_benchmark(r2dxj_x, r2yxj_dx, kd, kd)
    b = adjusted_estimate(estimate, se, dof, r2dz, r2yz)
    return OVBBound(**{**b.__dict__, "kd": kd, "ky": kd})


@dataclass(frozen=True, kw_only=True)
class Robustness:
    """Cinelli-Hazlett facts for one regression coefficient."""

    estimate: float
    se: float
    t_stat: float
    dof: float
    partial_r2: float  # of the treatment with the outcome
    rv: float  # RV_{q=1}
    rv_alpha: float  # RV_{q=1, alpha=0.05}
    benchmark: str = ""
    bound: OVBBound | None = None


def robustness_value(
    t_stat: float, dof: float, estimate: float = np.nan, se: float = np.nan, alpha: float = 0.05
) -> Robustness:
    """Partial R2, RV_q=1 and RV_{q=1,alpha} of a coefficient (Cinelli & Hazlett 2020)."""
    return Robustness(
        estimate=estimate,
        se=se,
        t_stat=t_stat,
        dof=dof,
        partial_r2=partial_r2(t_stat, dof),
        rv=rv_q(t_stat, dof),
        rv_alpha=rv_q(t_stat, dof, 1.0, alpha),
    )


# --- Rambachan & Roth (2023), relative magnitudes ------------------------------------------
# Rambachan, A. and Roth, J. (2023), "A more credible approach to parallel trends", Review of
# Economic Studies 90(5), 2555-2591. The breakdown value the district steps use comes from
# HonestDiD's robust sets (:mod:`analysis.methods.honest`,
# :func:`analysis.methods.honest.event_study_breakdown`). :func:`relative_magnitudes_breakdown`
# below is the earlier shortcut, kept for existing callers: it widens the estimate's interval by
# Mbar x (largest pre-period change) x sum_k w_k (e_k + 1) treating that largest change as known,
# and so ignores its sampling error; on HonestDiD's Medicaid example it gives 3.31 where the
# robust sets give 1.96 (tests/test_known_answers.py).


@dataclass(frozen=True, kw_only=True)
class Breakdown:
    """Relative-magnitudes breakdown value of a post-period effect.

    ``mbar``: the largest Mbar whose robust set excludes zero (0 when it never does; NaN when it
    could not be computed). ``method`` says what computed it: ``"C-LF"`` or ``"Conditional"``
    (HonestDiD's robust sets, :func:`analysis.methods.honest.event_study_breakdown`) or
    ``"known_max_bound"`` (:func:`relative_magnitudes_breakdown`). ``target``: the effect it is
    for (``"simple"``, ``"dynamic"`` or ``"first"``); ``sigma_scale``: the factor applied to the
    event study's covariance (the headline's few-cluster critical value over the normal one,
    squared); ``censored``: zero stayed excluded at every Mbar tried (the value is a lower
    bound); ``reason``: why it is NaN.
    """

    mbar: float
    pre_max_change: float = np.nan  # largest |change| between consecutive pre-period coefficients
    horizon_factor: float = np.nan  # sum_k w_k (e_k + 1) (known_max_bound only)
    n_pre: int = 0
    n_post: int = 0
    method: str = "known_max_bound"
    target: str = ""
    sigma_scale: float = 1.0
    censored: bool = False
    reason: str = ""


def relative_magnitudes_breakdown(
    event_study, post_cells, ci_low: float, ci_high: float, base_period: str = "varying"
) -> Breakdown:
    """Breakdown Mbar for an aggregated effect with interval (ci_low, ci_high), known maximum.

    Rambachan, A. and Roth, J. (2023), "A more credible approach to parallel trends", Review of
    Economic Studies 90(5), 2555-2591 (relative magnitudes, in the shortcut described above: the
    largest pre-period change is treated as known, so the value is larger than HonestDiD's;
    :func:`analysis.methods.honest.event_study_breakdown` computes HonestDiD's).

    Parameters
    ----------
    event_study
        Rows with ``e``, ``att`` and ``reliable`` (pre-period coefficients with too few desa are
        left out).
    post_cells
        ATT(g, t) rows entering the aggregate, with ``g``, ``t`` and ``n_treated`` (weights).
    base_period
        "varying": pre-period coefficients are already consecutive changes; "universal": they
        are levels relative to e = -1, so consecutive differences are taken.
    """
    pre = event_study[(event_study["e"] < 0) & event_study["reliable"]].sort_values("e")
    if base_period == "universal":
        lv = pre.set_index("e")["att"]
        lv.loc[-1] = 0.0
        lv = lv.sort_index()
        changes = np.abs(np.diff(lv.to_numpy()))
    else:
        changes = pre["att"].abs().to_numpy()
    if len(changes) == 0 or len(post_cells) == 0:
        return Breakdown(mbar=np.nan, pre_max_change=np.nan, horizon_factor=np.nan, n_pre=0)
    m0 = float(changes.max())
    w = post_cells["n_treated"].to_numpy(dtype=float)
    e = (post_cells["t"] - post_cells["g"]).to_numpy(dtype=float)
    factor = float((w * (e + 1)).sum() / w.sum())
    if ci_low <= 0 <= ci_high:
        return Breakdown(mbar=0.0, pre_max_change=m0, horizon_factor=factor, n_pre=len(changes))
    dist = min(abs(ci_low), abs(ci_high))
    return Breakdown(
        mbar=float(dist / (m0 * factor)) if m0 > 0 else np.inf,
        pre_max_change=m0,
        horizon_factor=factor,
        n_pre=len(changes),
    )
