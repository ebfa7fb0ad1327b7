"""Inference that holds with few clusters.

Inference that holds with few clusters: a clustered multiplier bootstrap of influence functions
(with uniform bands), a wild cluster bootstrap for regression coefficients, and critical values
that never fall back to the normal with a handful of clusters.

Multiplier bootstrap: Callaway, B. and Sant'Anna, P. H. C. (2021), section 4 and R ``did``'s
``mboot``: cluster sums of the influence functions are multiplied by i.i.d. weights with mean 0
and variance 1 (Mammen 1993 two-point weights by default, as R ``did``; Rademacher or Webb 2014
six-point weights on request); the bootstrap standard error is the interquartile range of the
draws divided by that of the standard normal; the uniform (sup-t) critical value is the
1 - alpha quantile of max_k |theta*_k / se_k| (R ``did``'s ``cband = TRUE``).

Wild cluster bootstrap: Cameron, Gelbach and Miller (2008), restricted (WCR, null imposed) with
Webb (2014) weights, the recommendation of MacKinnon, Nielsen and Webb (2023) for few clusters;
the bootstrap-t p-value compares |t| with the draws of the CRV1 t statistic.

Few clusters: with G clusters the reference distribution of a clustered t statistic is taken as
Student t with G - 1 degrees of freedom (Bester, Conley and Hansen 2011; Stata's default), and a
bootstrap critical value is never allowed below it: the interval uses max(bootstrap, t(G-1)).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import OptionError, check_option
from analysis.methods.options import BootWeights, Inference
from analysis.methods.results import Estimate

#: Default number of bootstrap draws (R ``did`` uses 999).
DEFAULT_DRAWS = 999
DEFAULT_SEED = 20250826


def draw_weights(kind: BootWeights, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Bootstrap multipliers with mean 0 and variance 1."""
    check_option("boot_weights", kind, BootWeights)
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=size)
    if kind == "webb":
        v = np.sqrt(np.array([0.5, 1.0, 1.5]))
        return rng.choice(np.concatenate([-v, v]), size=size)
    s5 = np.sqrt(5.0)
    k1, k2 = 0.5 * (1 - s5), 0.5 * (1 + s5)
    p1 = (s5 + 1) / (2 * s5)  # P(k1)
    return np.where(rng.random(size) < p1, k1, k2)


def cluster_sums(inf: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    """Influence functions (n x k) summed within clusters (G x k); each unit its own cluster if None."""
    inf = np.atleast_2d(inf.T).T if inf.ndim == 1 else inf
    if clusters is None:
        return inf
    codes = clusters if clusters.dtype.kind in "iu" else pd.factorize(clusters)[0]
    S = np.zeros((int(codes.max()) + 1, inf.shape[1]))
    np.add.at(S, codes, inf)
    return S


@functools.lru_cache(maxsize=256)
def _t_critical(n_clusters: int | None, alpha: float) -> float:
    if n_clusters is None or n_clusters <= 1:
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, n_clusters - 1))


def t_critical(n_clusters: int | None, alpha: float = 0.05) -> float:
    """Two-sided critical value, t(G-1) with G clusters.

    Two-sided critical value: t(G-1) with G clusters, the normal without clustering
    (remembered per (G, alpha): a district asks for the same few values many times).
    """
    return _t_critical(None if n_clusters is None else int(n_clusters), float(alpha))


def t_p_value(tstat: float, n_clusters: int | None) -> float:
    """Two-sided p-value of a t statistic: t(G-1) with G clusters, the normal without."""
    if not np.isfinite(tstat):
        return np.nan
    if n_clusters is None or n_clusters <= 1:
        return float(2 * stats.norm.sf(abs(tstat)))
    return float(2 * stats.t.sf(abs(tstat), n_clusters - 1))


def t_p_values(tstats: np.ndarray, n_clusters: int | None) -> np.ndarray:
    """:func:`t_p_value` for an array of t statistics (NaN where a statistic is not finite)."""
    t = np.abs(np.asarray(tstats, dtype=float))
    out = np.full(t.shape, np.nan)
    ok = np.isfinite(t)
    if ok.any():
        if n_clusters is None or n_clusters <= 1:
            out[ok] = 2 * stats.norm.sf(t[ok])
        else:
            out[ok] = 2 * stats.t.sf(t[ok], n_clusters - 1)
    return out


@dataclass(frozen=True, kw_only=True)
class MultiplierBootstrap:
    """Bootstrap summary for k parameters estimated from the same influence functions."""

    se: np.ndarray  # bootstrap standard errors (IQR / 1.349)
    crit_pointwise: np.ndarray  # per-parameter critical value, never below t(G-1)
    crit_uniform: float  # sup-t critical value over all k, never below t(G-1)
    p_value: np.ndarray  # max(bootstrap p, t(G-1) p)
    draws: int
    weights: str
    seed: int
    n_clusters: int


def multiplier_bootstrap(
    estimates: np.ndarray,
    inf: np.ndarray,
    clusters: np.ndarray | None,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    weights: BootWeights = "mammen",
    alpha: float = 0.05,
    studentize: np.ndarray | None = None,
) -> MultiplierBootstrap:
    """Clustered multiplier bootstrap of influence functions (Callaway & Sant'Anna 2021, R ``did``).

    With ``studentize`` (e.g. the analytic CRV1 standard errors), critical values are quantiles
    of |theta*| / studentize instead of |theta*| / bootstrap SE, so that an interval
    estimate +- crit x studentize has the bootstrap's coverage with the analytic SE's
    small-cluster factor G / (G - 1).

    Parameters
    ----------
    estimates
        The k point estimates.
    inf
        Their influence functions, n x k (as in R ``did``: estimate - truth ~ mean of inf).
    clusters
        Cluster label per unit (None: each unit is its own cluster).
    draws, seed, weights
        Number of draws, seed of ``np.random.default_rng`` and the multiplier distribution.
    """
    if draws < 99:
        raise OptionError(f"bootstrap draws must be at least 99 (got {draws})")
    est = np.atleast_1d(np.asarray(estimates, dtype=float))
    inf = inf.reshape(-1, 1) if inf.ndim == 1 else inf
    n = inf.shape[0]
    S = cluster_sums(inf, clusters)
    G = S.shape[0]
    rng = np.random.default_rng(seed)
    W = draw_weights(weights, (draws, G), rng)
    dev = W @ S / n  # draws x k: theta* - theta
    q75, q25 = np.quantile(dev, [0.75, 0.25], axis=0)
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    se = np.where(se > 0, se, np.nan)
    floor = t_critical(G if clusters is not None else None, alpha)
    denom = se if studentize is None else np.where(np.asarray(studentize) > 0, studentize, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        tstar = np.abs(dev / denom)
        crit = np.nanquantile(tstar, 1 - alpha, axis=0) if np.isfinite(se).any() else np.nan
        ok = np.isfinite(denom)
        sup = np.nanmax(tstar[:, ok], axis=1) if ok.any() else np.full(draws, np.nan)
        crit_u = float(np.quantile(sup, 1 - alpha)) if ok.any() else np.nan
        p_boot = np.mean(np.abs(dev) >= np.abs(est)[None, :], axis=0)
        p_t = t_p_values(est / denom, G if clusters is not None else None)
    return MultiplierBootstrap(
        se=se,
        crit_pointwise=np.maximum(np.atleast_1d(crit), floor),
        crit_uniform=max(crit_u, floor) if np.isfinite(crit_u) else np.nan,
        p_value=np.maximum(p_boot, p_t),
        draws=draws,
        weights=weights,
        seed=seed,
        n_clusters=G,
    )


@dataclass(frozen=True, kw_only=True)
class WildBootstrap:
    """Wild cluster restricted bootstrap of one coefficient."""

    t_stat: float
    p_value: float
    crit: float  # bootstrap critical value of |t| (never below t(G-1))
    ci_low: float
    ci_high: float
    draws: int
    weights: str
    seed: int
    n_clusters: int


def _crv1_t(x: np.ndarray, y: np.ndarray, cl: np.ndarray, G: int) -> np.ndarray:
    """T statistics of the slope of y (n x B) on the residualised regressor x (no intercept), CRV1."""
    xx = x @ x
    b = (x @ y) / xx
    u = y - np.outer(x, b)
    n = len(x)
    sc = pd.DataFrame(x[:, None] * u).groupby(cl).sum().to_numpy()  # G x B
    adj = G / (G - 1) * (n - 1) / (n - 2)
    se = np.sqrt(adj * (sc**2).sum(axis=0)) / xx
    return b / se


def wild_cluster_bootstrap(
    y: np.ndarray,
    x: np.ndarray,
    clusters: np.ndarray,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    weights: BootWeights = "webb",
    alpha: float = 0.05,
) -> WildBootstrap:
    """Wild cluster restricted (WCR) bootstrap-t of one coefficient.

    Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008), "Bootstrap-based improvements for
    inference with clustered errors", Review of Economics and Statistics 90(3), 414-427, with
    Webb (2014) six-point weights by default.

    WCR bootstrap-t for the coefficient of ``x`` in ``y ~ x`` after both are residualised on
    every other regressor (Frisch-Waugh-Lovell; fixed effects and covariates projected out).

    Under the null the restricted residuals are ``y`` itself; each draw flips cluster blocks of
    them with the chosen weights, re-estimates the coefficient and its CRV1 t statistic.
    The interval is estimate +- crit x CRV1 SE with crit the bootstrap 1 - alpha quantile of |t*|
    (never below t(G-1)).
    """
    if draws < 99:
        raise OptionError(f"bootstrap draws must be at least 99 (got {draws})")
    cl = pd.factorize(clusters)[0]
    G = int(cl.max()) + 1
    t0 = float(_crv1_t(x, y[:, None], cl, G)[0])
    rng = np.random.default_rng(seed)
    W = draw_weights(weights, (G, draws), rng)
    ystar = y[:, None] * W[cl, :]
    tstar = np.abs(_crv1_t(x, ystar, cl, G))
    p = float(np.mean(tstar >= abs(t0)))
    crit = max(float(np.quantile(tstar, 1 - alpha)), t_critical(G, alpha))
    b = float((x @ y) / (x @ x))
    se = b / t0 if t0 != 0 else np.nan
    return WildBootstrap(
        t_stat=t0,
        p_value=max(p, t_p_value(t0, G)),
        crit=crit,
        ci_low=b - crit * abs(se),
        ci_high=b + crit * abs(se),
        draws=draws,
        weights=weights,
        seed=seed,
        n_clusters=G,
    )


def coefficient_estimate(
    outcome: str,
    method: str,
    estimand: str,
    estimate: float,
    se: float,
    n_treated: int,
    n_control: int,
    n_clusters: int,
    wild: WildBootstrap | None = None,
    facts: dict | None = None,
    **fields,
) -> Estimate:
    """A regression coefficient as an Estimate.

    A regression coefficient as an :class:`~analysis.methods.results.Estimate`, with the analytic
    inference (t(G-1) with ``n_clusters`` clusters, the normal without) always beside it.

    ``wild=None``: the headline interval and p-value are the analytic ones (``ci_method`` "t" or
    "normal"). With a :class:`WildBootstrap` of the same coefficient they are the bootstrap's
    (``ci_method`` "wild_cluster_bootstrap", estimate +- bootstrap critical value x ``se``),
    ``n_clusters`` is the bootstrap's and its draws, seed and weights are added to ``facts``.
    Other :class:`Estimate` fields (``est_method``, ``se_type``, ``cluster``, ...) pass through.
    """
    crit = t_critical(n_clusters or None)
    p_a = t_p_value(estimate / se, n_clusters or None) if se > 0 else np.nan
    analytic = dict(
        se_analytic=se,
        ci_low_analytic=estimate - crit * se,
        ci_high_analytic=estimate + crit * se,
        p_value_analytic=p_a,
    )
    facts = dict(facts or {})
    if wild is None:
        ci_method, c, p, G = "t" if n_clusters else "normal", crit, p_a, n_clusters
    else:
        ci_method, c, p, G = "wild_cluster_bootstrap", wild.crit, wild.p_value, wild.n_clusters
        facts.update(draws=wild.draws, seed=wild.seed, boot_weights=wild.weights)
    return Estimate(
        outcome=outcome,
        method=method,
        estimand=estimand,
        estimate=estimate,
        se=se,
        n_treated=n_treated,
        n_control=n_control,
        ci_low=estimate - c * se,
        ci_high=estimate + c * se,
        p_value=p,
        ci_method=ci_method,
        crit_value=c,
        n_clusters=G,
        facts=facts,
        **analytic,
        **fields,
    )


__all__ = [
    "coefficient_estimate",
    "BootWeights",
    "Inference",
    "multiplier_bootstrap",
    "wild_cluster_bootstrap",
    "t_critical",
    "t_p_value",
    "t_p_values",
    "draw_weights",
]
