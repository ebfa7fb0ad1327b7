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

Wild cluster bootstrap: Cameron, Gelbach and Miller (2008), restricted (WCR) as WildBootTests.jl,
fwildclusterboot and ``wildboottest`` compute it (Roodman et al. 2019): the null imposed, the
restricted model estimated with the other regressors, its residuals flipped by cluster, every
bootstrap sample re-estimated with every regressor, CRV1 factor (G/(G-1))((N-1)/(N-k)); Webb
(2014) weights by default, the recommendation of MacKinnon, Nielsen and Webb (2023) for few
clusters; every sign pattern used once when there are few (:data:`ENUMERABLE_POINTS`); the
interval inverts the test. Own code rather than the ``wildboottest`` package (MIT, which
reproduces the published example too): that package needs numba, fixes the null at zero, has
no interval and no fixed effects, and enumerates Rademacher weights only.

Few clusters: with G clusters the reference distribution of a clustered t statistic is taken as
Student t with G - 1 degrees of freedom (Bester, Conley and Hansen 2011; Stata's default), and a
bootstrap critical value is never allowed below it: the interval uses max(bootstrap, t(G-1)).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
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
    #: per parameter: the t(G-1) bound was wider than the bootstrap's own critical value, so the
    #: interval (and p-value) is the t one: its label says so (``ci_method``)
    t_floor_applied: np.ndarray
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
    _check_draws(draws)
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
        t_floor_applied=~(np.atleast_1d(crit) > floor),
        crit_uniform=max(crit_u, floor) if np.isfinite(crit_u) else np.nan,
        p_value=np.maximum(p_boot, p_t),
        draws=draws,
        weights=weights,
        seed=seed,
        n_clusters=G,
    )


#: Full enumeration: every sign pattern of the weights is used, each once, instead of random
#: draws when there are no more patterns than the draws asked for. WildBootTests.jl does so for
#: Rademacher weights (2^G <= draws); here Webb's six points are enumerated too (6^G <= draws).
#: With the default 999 draws: Rademacher up to G = 9 clusters, Webb up to G = 3; asking for
#: 6^8 = 1,679,616 draws enumerates Webb's weights on 8 clusters (the published example of
#: tests/test_wild_bootstrap.py). Mammen's two unequally likely points are always drawn.
ENUMERABLE_POINTS: dict[str, tuple[float, ...]] = {
    "rademacher": (-1.0, 1.0),
    "webb": tuple(float(v) for v in np.sqrt([1.5, 1.0, 0.5]) * -1)
    + tuple(float(v) for v in np.sqrt([0.5, 1.0, 1.5])),
}
#: Bootstrap draws handled at once (memory of about G x 65,536 x 8 bytes per array).
_BLOCK = 2**16
#: Relative tolerance for a bootstrap statistic equal to the observed one (the all-ones
#: pattern reproduces it up to rounding): not counted as more extreme, as WildBootTests.jl
#: (``countlessabs``) and the ``wildboottest`` package count only |t*| > |t|.
_TIE = 1e-10


@dataclass(frozen=True, kw_only=True)
class WildBootstrap:
    """Wild cluster restricted bootstrap of one coefficient.

    ``t_stat``: CRV1 t statistic of estimate - ``null``; ``p_value``: the larger of the
    bootstrap p-value (``p_value_bootstrap``) and the t(G-1) one; ``ci_low``/``ci_high``: the
    bootstrap test inverted (every null value not rejected at ``alpha``), widened where needed to
    contain estimate +- t(G-1) x ``se``; ``crit``: the interval's larger half-width over ``se``
    (the critical value it amounts to). ``draws`` counts the sign patterns when ``enumerated``.
    """

    t_stat: float
    p_value: float
    crit: float
    ci_low: float
    ci_high: float
    draws: int
    weights: str
    seed: int
    n_clusters: int
    estimate: float = np.nan
    se: float = np.nan
    p_value_bootstrap: float = np.nan
    null: float = 0.0
    n_params: int = 0
    enumerated: bool = False


@dataclass(frozen=True, kw_only=True)
class _WCRParts:
    """The cluster-level pieces from which every bootstrap t statistic follows.

    For a null r the restricted residuals are u(r) = M(y) - r M(x) (M projects out the other
    regressors); with s_g(r) = x~_g' u_g(r), q_g = x~_g' x~_g and C_gh(r) = x~_g' M(u(r) 1_h)_g
    (C = C_y - r C_x), a draw v gives t* = s'v / sqrt(ssc |A v|^2), A = C - q s' / x~'x~: the
    numerator and CRV1 scores of the re-estimated full model (Roodman, MacKinnon, Nielsen and
    Webb 2019, "Fast and wild", section 3).
    """

    b: float
    se: float
    xx: float
    ssc: float
    q: np.ndarray
    s_y: np.ndarray
    C_y: np.ndarray
    C_x: np.ndarray


def _cluster_sum(a: np.ndarray, cl: np.ndarray, G: int) -> np.ndarray:
    out = np.zeros((G, *a.shape[1:]))
    np.add.at(out, cl, a)
    return out


def _projection(other: np.ndarray | None) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """Residualiser on the columns of ``other`` (an orthonormal basis of them) and their rank."""
    if other is None or other.shape[1] == 0:
        return (lambda a: a), 0
    U, sv, _ = np.linalg.svd(np.asarray(other, dtype=float), full_matrices=False)
    U = U[:, sv > sv[0] * max(other.shape) * np.finfo(float).eps]
    return (lambda a: a - U @ (U.T @ a)), U.shape[1]


def _wcr_parts(
    y: np.ndarray,
    x: np.ndarray,
    cl: np.ndarray,
    G: int,
    residualise: Callable[[np.ndarray], np.ndarray],
    k: int,
) -> _WCRParts:
    n = len(y)
    both = residualise(np.column_stack([y, x]))
    My, xt = both[:, 0], both[:, 1]
    xx = float(xt @ xt)
    b = float(xt @ My) / xx
    ssc = G / (G - 1) * (n - 1) / (n - k)
    score = _cluster_sum(xt * (My - b * xt), cl, G)
    E = np.zeros((n, 2 * G))
    E[np.arange(n), cl] = My
    E[np.arange(n), G + cl] = xt
    CE = _cluster_sum(xt[:, None] * residualise(E), cl, G)
    return _WCRParts(
        b=b,
        se=float(np.sqrt(ssc * np.sum(score**2)) / xx),
        xx=xx,
        ssc=ssc,
        q=_cluster_sum(xt * xt, cl, G),
        s_y=_cluster_sum(xt * My, cl, G),
        C_y=CE[:, :G],
        C_x=CE[:, G:],
    )


def _weight_blocks(
    kind: str, G: int, draws: int, rng: np.random.Generator
) -> tuple[Callable[[], Iterator[np.ndarray]], int, bool]:
    """The draws (G x B blocks, made again on each call), their number, whether enumerated."""
    pts = ENUMERABLE_POINTS.get(kind)
    if pts is not None and len(pts) ** G <= draws:
        m, total = len(pts), len(pts) ** G
        values = np.array(pts)

        def enumerated() -> Iterator[np.ndarray]:
            powers = m ** np.arange(G)[:, None]
            for start in range(0, total, _BLOCK):
                idx = np.arange(start, min(start + _BLOCK, total))[None, :]
                yield values[(idx // powers) % m]

        return enumerated, total, True
    W = draw_weights(kind, (G, draws), rng)  # type: ignore[arg-type]
    return (lambda: iter([W])), draws, False


def _p_at(parts: _WCRParts, r: float, blocks: Callable[[], Iterator[np.ndarray]]) -> float:
    """Bootstrap p-value of the null ``coefficient = r`` (symmetric: share of |t*| > |t|)."""
    t0 = abs(parts.b - r) / parts.se
    s = parts.s_y - r * parts.q
    A = (parts.C_y - r * parts.C_x) - np.outer(parts.q, s) / parts.xx
    hits = total = 0
    for V in blocks():
        with np.errstate(invalid="ignore", divide="ignore"):
            tstar = np.abs(s @ V) / np.sqrt(parts.ssc * np.sum((A @ V) ** 2, axis=0))
        hits += int(np.sum(tstar > t0 * (1 + _TIE)))
        total += V.shape[1]
    return hits / total


def _inverted_interval(
    parts: _WCRParts, blocks: Callable[[], Iterator[np.ndarray]], alpha: float, step: float
) -> tuple[float, float]:
    """The null values the bootstrap test does not reject at ``alpha``, bounded by bisection.

    ``step`` (a first guess of the half-width) doubles until the test rejects, at most 2^12
    times; a side on which it never does is unbounded (as with few Rademacher patterns).
    """
    ends = []
    for side in (-1.0, 1.0):
        inner, outer = parts.b, None
        for k in range(13):
            r = parts.b + side * step * 2.0**k
            if _p_at(parts, r, blocks) <= alpha:
                outer = r
                break
            inner = r
        if outer is None:
            ends.append(side * np.inf)
            continue
        for _ in range(60):
            if abs(outer - inner) <= 1e-9 * max(parts.se, abs(parts.b)):
                break
            mid = 0.5 * (inner + outer)
            inner, outer = (mid, outer) if _p_at(parts, mid, blocks) > alpha else (inner, mid)
        ends.append(0.5 * (inner + outer))
    return ends[0], ends[1]


def _wcr_setup(
    y: np.ndarray,
    x: np.ndarray,
    clusters: np.ndarray,
    other: np.ndarray | None,
    residualise: Callable[[np.ndarray], np.ndarray] | None,
    n_params: int | None,
) -> tuple[_WCRParts, int, int]:
    """The bootstrap's pieces, the number of clusters and k, the model's arguments checked."""
    if residualise is not None and (other is not None or n_params is None):
        raise OptionError(
            "wild_cluster_bootstrap: residualise needs n_params and no other",
            key="inference.residualise",
        )
    cl = pd.factorize(np.asarray(clusters))[0]
    G = int(cl.max()) + 1
    if G < 2:
        raise OptionError(
            "the wild cluster bootstrap needs at least two clusters", key="inference.two_clusters"
        )
    if residualise is None:
        residualise, rank = _projection(other)
        n_params = 1 + rank if n_params is None else n_params
    parts = _wcr_parts(np.asarray(y, float), np.asarray(x, float), cl, G, residualise, n_params)
    return parts, G, int(n_params)


def _floored_interval(
    parts: _WCRParts, blocks: Callable[[], Iterator[np.ndarray]], alpha: float, G: int
) -> tuple[float, float]:
    """The inverted interval, widened where needed to contain estimate +- t(G-1) x SE."""
    tc = t_critical(G, alpha)
    lo, hi = _inverted_interval(parts, blocks, alpha, tc * parts.se)
    return min(lo, parts.b - tc * parts.se), max(hi, parts.b + tc * parts.se)


def _check_draws(draws: int) -> None:
    """Refuse fewer than 99 bootstrap draws (:class:`OptionError`)."""
    if draws < 99:
        raise OptionError(
            f"bootstrap draws must be at least 99 (got {draws})",
            key="option.at_least",
            name="draws",
            value=repr(draws),
            min=99,
        )


def wild_cluster_bootstrap(
    y: np.ndarray,
    x: np.ndarray,
    clusters: np.ndarray,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    weights: BootWeights = "webb",
    alpha: float = 0.05,
    *,
    other: np.ndarray | None = None,
    residualise: Callable[[np.ndarray], np.ndarray] | None = None,
    n_params: int | None = None,
    null: float = 0.0,
    interval: bool = True,
) -> WildBootstrap:
    """Wild cluster restricted (WCR) bootstrap-t of one coefficient, as WildBootTests.jl.

    Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008), "Bootstrap-based improvements for
    inference with clustered errors", Review of Economics and Statistics 90(3), 414-427;
    computed as Roodman, D., MacKinnon, J. G., Nielsen, M. O. and Webb, M. D. (2019), "Fast and
    wild: Bootstrap inference in Stata using boottest", Stata Journal 19(1), 4-60 (the
    algorithm of WildBootTests.jl and fwildclusterboot). Webb (2014) six-point weights by
    default, as MacKinnon, Nielsen and Webb (2023) recommend for few clusters.

    Model ``y = x b + other c + e``. The null ``b = null`` is imposed (``y - null x`` on the
    other regressors), the restricted residuals are multiplied cluster by cluster by the
    weights and each bootstrap sample is re-estimated with every regressor: CRV1 t statistics
    with (G / (G - 1)) (N - 1) / (N - k). p-value: the share of |t*| > |t| (WildBootTests'
    symmetric default); sign patterns enumerated when few (:data:`ENUMERABLE_POINTS`).
    Reproduces WildBootTests.jl's 8-cluster example (t 2.0194, p 0.0757,
    tests/test_wild_bootstrap.py).

    Parameters
    ----------
    y, x, clusters
        Outcome, the regressor tested and the cluster of each of the N observations.
    draws, seed, weights, alpha
        Number of draws, seed of ``np.random.default_rng``, weights, one minus the coverage.
    other
        The other regressors (N x m, the intercept included when the model has one); ``None``
        with ``residualise=None``: ``y`` on ``x`` alone.
    residualise
        Instead of ``other``: a function projecting the other regressors out of the columns of
        an N x m array (e.g. absorbed fixed effects, Frisch-Waugh-Lovell); needs ``n_params``.
    n_params
        k of the CRV1 factor (``x`` included); default 1 + the rank of ``other``.
    null, interval
        The coefficient under the null; False: the test only (``ci_low``/``ci_high`` NaN).

    Returns
    -------
    WildBootstrap
        The t statistic, p-values, the inverted interval and how they were computed.
    """
    _check_draws(draws)
    check_option("boot_weights", weights, BootWeights)
    parts, G, n_params = _wcr_setup(y, x, clusters, other, residualise, n_params)
    blocks, n_draws, enumerated = _weight_blocks(weights, G, draws, np.random.default_rng(seed))
    t0 = (parts.b - null) / parts.se
    p_boot = _p_at(parts, null, blocks)
    lo, hi = _floored_interval(parts, blocks, alpha, G) if interval else (np.nan, np.nan)
    return WildBootstrap(
        t_stat=float(t0),
        p_value=max(p_boot, t_p_value(t0, G)),
        crit=max(parts.b - lo, hi - parts.b) / parts.se if interval else np.nan,
        ci_low=lo,
        ci_high=hi,
        draws=n_draws,
        weights=weights,
        seed=seed,
        n_clusters=G,
        estimate=parts.b,
        se=parts.se,
        p_value_bootstrap=p_boot,
        null=float(null),
        n_params=n_params,
        enumerated=enumerated,
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
    (``ci_method`` "wild_cluster_bootstrap": its inverted interval, ``crit_value`` its larger
    half-width over ``se``), ``n_clusters`` is the bootstrap's and its draws, seed, weights and
    whether the draws were enumerated are added to ``facts``.
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
        ci = (estimate - c * se, estimate + c * se)
    else:
        ci_method, c, p, G = "wild_cluster_bootstrap", wild.crit, wild.p_value, wild.n_clusters
        ci = (wild.ci_low, wild.ci_high)
        facts.update(draws=wild.draws, seed=wild.seed, boot_weights=wild.weights)
        facts.update(boot_enumerated=wild.enumerated)
    return Estimate(
        outcome=outcome,
        method=method,
        estimand=estimand,
        estimate=estimate,
        se=se,
        n_treated=n_treated,
        n_control=n_control,
        ci_low=ci[0],
        ci_high=ci[1],
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
