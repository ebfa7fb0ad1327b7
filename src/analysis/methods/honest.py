"""Robust confidence sets when parallel trends may fail: HonestDiD in Python.

Rambachan, A. and Roth, J. (2023), "A more credible approach to parallel trends", Review of
Economic Studies 90(5), 2555-2591. Given event-study coefficients ``betahat`` (``num_pre``
coefficients before the reference period, which is normalised to zero and left out, then
``num_post`` after it) with covariance ``sigma``, the parameter is theta = l'tau_post and the
trend difference delta may lie in a set Delta:

* relative magnitudes Delta^RM(Mbar): every post-period change of delta is at most Mbar times
  the largest pre-period change (:func:`relative_magnitudes`);
* smoothness Delta^SD(M): the slope of delta changes by at most M between consecutive periods
  (:func:`smoothness`).

A robust set holds every theta that a test of "delta in Delta" does not reject. The tests are
those of Andrews, I., Roth, J. and Pakes, A. (2023), "Inference for linear conditional moment
inequalities", Review of Economic Studies 90(6), 2763-2791 (ARP): the conditional test
("Conditional") and its hybrid with a least-favourable first stage of size kappa = alpha / 10
("C-LF", HonestDiD's default for Delta^RM). For Delta^SD the default is the fixed-length
interval ("FLCI") of Armstrong, T. B. and Kolesar, M. (2018), "Optimal inference in a class of
regression models", Econometrica 86(2), 655-683, as Rambachan and Roth apply it.

This is a port of the R package HonestDiD 0.2.8 (MIT licence; ``R/deltarm.R``,
``R/deltasd.R``, ``R/arp-nuisance.R``, ``R/arp-nonuisance.R``, ``R/flci.R``,
``R/sensitivityresults.R``) with the same moments, grids, defaults and output (the smallest and
largest accepted grid point). It differs in how the numbers are reached, not in what they are:

* the ARP test's linear programme is solved through the vertices of its dual polytope, found
  once per event study (ARP, Appendix: the statistic is the largest value of a dual vertex, and
  the conditioning event is the set of moments for which that vertex stays the largest). This
  gives the statistic and its truncation points without R's bisection, and evaluates a whole
  grid, and the 1,000 least-favourable draws, at once. With more than
  :data:`MAX_SUPPORTS` candidate vertices (about 10 post-periods) the problem is refused;
* the least-favourable critical value uses 1,000 draws from ``np.random.default_rng(seed)``
  (R: ``set.seed(0)`` and mvtnorm), so it is a different simulation of the same quantile;
* the folded-normal quantile of the FLCI is solved exactly (R simulates 10^6 draws), and the
  FLCI's weights are found by one convex programme over (U, w) (scipy SLSQP) rather than R's
  bisection over the standard deviation h.

``tests/test_known_answers.py`` reproduces the Medicaid example of the HonestDiD README.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import linalg, optimize, special, stats

from analysis.errors import OptionError, check_option
from analysis.methods.options import RMMethod, SDMethod, SensitivityTarget
from analysis.methods.sensitivity import Breakdown

#: Most candidate dual vertices enumerated (C(rows, post-periods)); beyond it the set is refused.
MAX_SUPPORTS = 400_000
#: Draws of the least-favourable critical value (HonestDiD's ``sims``).
LF_SIMS = 1000
#: Points of the theta grid (HonestDiD's ``gridPoints``).
GRID_POINTS = 1000


# -- inputs ------------------------------------------------------------------------------------


def _inputs(
    betahat, sigma, num_pre: int, num_post: int, l_vec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coefficients, covariance and weights as arrays, checked (HonestDiD's conformability)."""
    b = np.asarray(betahat, dtype=float).ravel()
    s = np.asarray(sigma, dtype=float)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise OptionError(
            f"sigma must be a square matrix; it is {s.shape}",
            key="honest.sigma_square",
            shape=str(s.shape),
        )
    if s.shape[0] != len(b):
        raise OptionError(
            f"betahat ({len(b)}) and sigma {s.shape} are not conformable",
            key="honest.not_conformable",
            n_b=len(b),
            shape=str(s.shape),
        )
    if num_pre < 1 or num_post < 1 or num_pre + num_post != len(b):
        raise OptionError(
            f"num_pre ({num_pre}) + num_post ({num_post}) must equal len(betahat) ({len(b)}), "
            "each at least 1",
            key="honest.pre_post",
            num_pre=num_pre,
            num_post=num_post,
            n_b=len(b),
        )
    lv = np.zeros(num_post) if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
    if l_vec is None:
        lv[0] = 1.0
    if len(lv) != num_post or not np.any(lv):
        raise OptionError(
            f"l_vec must have {num_post} weights, not all zero; got {lv.tolist()}",
            key="honest.l_vec",
            num_post=num_post,
            got=str(lv.tolist()),
        )
    if not np.all(np.isfinite(b)) or not np.all(np.isfinite(s)):
        raise OptionError("betahat and sigma must be finite", key="honest.not_finite")
    return b, (s + s.T) / 2, lv


def original_interval(
    betahat, sigma, num_pre: int, num_post: int, l_vec=None, alpha: float = 0.05
) -> tuple[float, float]:
    """The conventional interval of l'beta_post (HonestDiD's ``constructOriginalCS``)."""
    b, s, lv = _inputs(betahat, sigma, num_pre, num_post, l_vec)
    post = slice(num_pre, num_pre + num_post)
    est, se = float(lv @ b[post]), float(np.sqrt(lv @ s[post, post] @ lv))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return est - z * se, est + z * se


# -- the restrictions as moment inequalities A delta <= d --------------------------------------


def rm_constraints(
    num_pre: int, num_post: int, mbar: float, s: int, max_positive: bool
) -> np.ndarray:
    """A of Delta^RM_{s,+/-}(Mbar): every change at most Mbar times the pre-period change at s.

    HonestDiD's ``.create_A_RM``: the largest pre-period change is the one ending at period s
    (s = -(num_pre - 1), ..., 0; positive if ``max_positive``); d = 0. Columns are
    delta_{-num_pre}, ..., delta_{-1}, delta_1, ..., delta_{num_post} (delta_0 = 0 dropped).
    """
    n = num_pre + num_post
    diff = np.zeros((n, n + 1))
    for r in range(n):
        diff[r, r : r + 2] = (-1.0, 1.0)
    vmax = np.zeros(n + 1)
    vmax[num_pre + s - 1 : num_pre + s + 1] = (-1.0, 1.0)
    if not max_positive:
        vmax = -vmax
    ub = np.vstack([np.tile(vmax, (num_pre, 1)), np.tile(mbar * vmax, (num_post, 1))])
    A = np.vstack([diff - ub, -diff - ub])
    A = A[(A**2).sum(axis=1) > 1e-10]
    return np.delete(A, num_pre, axis=1)


def sd_constraints(num_pre: int, num_post: int) -> np.ndarray:
    """A of Delta^SD(M): |second differences of delta| <= M (HonestDiD's ``.create_A_SD``)."""
    n = num_pre + num_post
    second = np.zeros((n - 1, n + 1))
    for r in range(n - 1):
        second[r, r : r + 3] = (1.0, -2.0, 1.0)
    second = np.delete(second, num_pre, axis=1)
    return np.vstack([second, -second])


def _post_rows(A: np.ndarray, num_pre: int) -> np.ndarray:
    """Rows of A that involve a post-period coefficient (``postPeriodMomentsOnly``)."""
    return np.flatnonzero(np.any(A[:, num_pre:] != 0, axis=1))


# -- the ARP conditional test through the dual vertices ----------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Moments:
    """Moments y(theta) - X nu <= 0 with y(theta) = y0 - a theta, scaled to unit variances.

    ``vertices``: the vertices of {lambda >= 0, sum lambda = 1, X'lambda = 0} (scaled units);
    ``floor``: the lower bound of the critical value per vertex (0, or -d_B / sd_B in R's
    one-post-period path); ``bounded``: False when the programme is unbounded (never rejects).
    """

    y0: np.ndarray
    a: np.ndarray
    sigma: np.ndarray
    sd: np.ndarray
    vertices: np.ndarray
    floor: np.ndarray
    bounded: bool


def _moments(
    A: np.ndarray, d: np.ndarray, b: np.ndarray, s: np.ndarray, lv: np.ndarray, num_pre: int
) -> _Moments:
    """The moments of A delta <= d for theta = l'tau, with tau's other directions as nuisance.

    delta = beta - (0, tau): A beta - d - A_post tau <= 0, tau = l theta / l'l + N nu with N a
    basis of l's orthogonal complement (any complement gives the same test, ARP section 4).
    """
    post = A[:, num_pre:]
    sd = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", A, s, A), 0, None))
    if np.any(sd <= 1e-12 * max(1.0, float(np.sqrt(np.abs(np.diag(s)).max())))):
        raise OptionError(
            "a moment of the restriction has zero variance: sigma is degenerate",
            key="honest.degenerate",
        )
    y0 = (A @ b - d) / sd
    a = post @ (lv / (lv @ lv)) / sd
    sig = (A @ s @ A.T) / np.outer(sd, sd)
    if len(lv) == 1:  # one post-period: R's no-nuisance path, vertices are the moments themselves
        floor = -(d / sd)
        eye = np.eye(len(sd))
        return _Moments(y0=y0, a=a, sigma=sig, sd=sd, vertices=eye, floor=floor, bounded=True)
    X = post @ linalg.null_space(lv[None, :])
    rays = _cone_rays(X.tobytes(), X.shape)
    verts = rays * sd / (rays @ sd)[:, None]  # the vertices in units of the moments' SDs
    floor = np.zeros(len(verts))
    return _Moments(
        y0=y0, a=a, sigma=sig, sd=sd, vertices=verts, floor=floor, bounded=len(verts) > 0
    )


@lru_cache(maxsize=64)
def _cone_rays(X_bytes: bytes, shape: tuple[int, int]) -> np.ndarray:
    """Extreme rays of the cone {lambda >= 0, X'lambda = 0}, each scaled to sum 1.

    The dual polytope of the ARP programme, {lambda >= 0, sd'lambda = 1, X'lambda = 0}, has the
    vertices ray / (sd'ray): the rays depend on X alone, which for Delta^RM does not change with
    s, the sign or Mbar, so they are found once (cached). Each ray is the basic solution on a
    support of rank(X) + 1 moments; enumerated in chunks. No ray: the programme is unbounded.
    """
    X = np.frombuffer(X_bytes).reshape(shape)
    u, sv, _ = np.linalg.svd(X, full_matrices=False)
    Xb = u[:, sv > 1e-10 * max(1.0, sv.max(initial=0.0))]
    W = np.column_stack([np.ones(len(X)), Xb])
    m, k = W.shape
    if np.linalg.matrix_rank(W) < k:
        return np.zeros((0, m))
    n_sup = math.comb(m, k)
    if n_sup > MAX_SUPPORTS:
        raise OptionError(
            f"{n_sup} candidate vertices ({m} moments, {k - 1} nuisance directions) exceed "
            f"MAX_SUPPORTS={MAX_SUPPORTS}: use fewer post-periods (aggregate or trim the event "
            "study)",
            key="honest.too_many_vertices",
            n_sup=n_sup,
            m=m,
            k=k - 1,
            max=MAX_SUPPORTS,
        )
    e1 = np.zeros(k)
    e1[0] = 1.0
    found = []
    supports = combinations(range(m), k)
    while chunk := list(_take(supports, 50_000)):
        idx = np.array(chunk)
        B = np.transpose(W[idx], (0, 2, 1))  # B lam_S = e1 with B = W_S'
        ok = np.abs(np.linalg.det(B)) > 1e-10
        lam = np.linalg.solve(B[ok], np.broadcast_to(e1, (int(ok.sum()), k))[..., None])[..., 0]
        feas = np.all(lam >= -1e-10, axis=1)
        V = np.zeros((int(feas.sum()), m))
        np.put_along_axis(V, idx[ok][feas], np.clip(lam[feas], 0, None), axis=1)
        found.append(V)
    rays = np.unique(np.round(np.vstack(found), 12), axis=0)
    rays.setflags(write=False)
    return rays


def _take(it, n: int):
    for _, x in zip(range(n), it, strict=False):
        yield x


def least_favourable_cv(
    mom: _Moments, kappa: float, sims: int = LF_SIMS, seed: int = 0, draws=None
) -> float:
    """The 1 - kappa quantile of the test statistic at the least-favourable null (ARP 6.2).

    HonestDiD's ``.compute_least_favorable_cv``: the statistic of ``sims`` draws of
    N(0, Sigma_moments), made as mvtnorm's ``rmvnorm`` makes them (standard normals, filled
    row by row, times the symmetric square root of the moments' covariance), then R's type-7
    quantile. ``draws(rows, cols)`` gives the standard normals; ``None``:
    ``np.random.default_rng(seed).standard_normal``.
    """
    if not mom.bounded:
        return np.inf
    raw = mom.sigma * np.outer(mom.sd, mom.sd)
    w, U = np.linalg.eigh(raw)
    root = (U * np.sqrt(np.clip(w, 0, None))) @ U.T
    m = len(w)
    z = np.random.default_rng(seed).standard_normal((sims, m)) if draws is None else draws(sims, m)
    xi = (np.asarray(z, dtype=float).reshape(sims, m) @ root) / mom.sd
    return float(np.quantile((xi @ mom.vertices.T).max(axis=1), 1 - kappa))


def _arp_accepts(
    mom: _Moments, thetas: np.ndarray, alpha: float, lf_cv: float | None, kappa: float
) -> np.ndarray:
    """Which thetas the ARP test (hybrid with the least-favourable value ``lf_cv``) accepts.

    The statistic eta is the largest dual-vertex value of y(theta); conditional on that vertex
    staying the largest, eta / sigma_B is normal truncated to [vlo, vup] / sigma_B (ARP, eq. 15;
    HonestDiD's ``.lp_conditional_test_fn``). The hybrid rejects when eta > ``lf_cv`` and
    otherwise truncates at it, with size (alpha - kappa) / (1 - kappa).
    """
    if not mom.bounded:
        return np.ones(len(thetas), dtype=bool)
    Y = mom.y0[None, :] - thetas[:, None] * mom.a[None, :]
    vals = Y @ mom.vertices.T
    best = vals.argmax(axis=1)
    eta = vals[np.arange(len(thetas)), best]
    G = mom.vertices[best]
    SG = G @ mom.sigma
    s2 = np.einsum("ij,ij->i", SG, G)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = SG / s2[:, None]
        S = Y - c * eta[:, None]
        den = 1.0 - c @ mom.vertices.T
        bound = (S @ mom.vertices.T) / den
    vlo = np.where(den > 1e-10, bound, -np.inf).max(axis=1)
    vup = np.where(den < -1e-10, bound, np.inf).min(axis=1)
    size = alpha if lf_cv is None else (alpha - kappa) / (1 - kappa)
    if lf_cv is not None:
        vup = np.minimum(vup, lf_cv)
    sig = np.sqrt(np.clip(s2, 0, None))
    reject = _truncated_reject(eta, sig, vlo, vup, size, mom.floor[best])
    if lf_cv is not None:
        reject |= eta > lf_cv
    degenerate = sig < 1e-12
    reject = np.where(degenerate, eta > 0, reject)
    return ~reject


def _truncated_reject(eta, sig, vlo, vup, size, floor) -> np.ndarray:
    """Whether eta / sig exceeds max(floor, the 1 - size quantile of N(0,1) on [vlo, vup] / sig)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z, zlo, zup = eta / sig, vlo / sig, vup / sig
    inside = (zlo <= z + 1e-9) & (z <= zup + 1e-9) & (zlo < zup)
    q = np.full(len(z), np.inf)
    q[inside] = stats.truncnorm.ppf(1 - size, zlo[inside], zup[inside])
    return inside & (z > np.maximum(floor, q))


# -- robust sets -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RobustSets:
    """Robust confidence sets of theta = l'tau_post over a grid of Mbar or M (HonestDiD's tibble).

    ``table``: one row per value, columns ``lb``, ``ub`` (smallest and largest accepted theta;
    NaN when none is accepted), ``method``, ``delta`` ("DeltaRM" or "DeltaSD") and ``mbar`` or
    ``m``. ``original``: the conventional interval; ``estimate``: l'beta_post.
    """

    table: pd.DataFrame
    original: tuple[float, float]
    estimate: float
    delta: str
    method: str
    l_vec: tuple[float, ...]
    alpha: float
    num_pre: int
    num_post: int
    grid_points: int = 0
    seed: int = 0

    def tidy(self) -> pd.DataFrame:
        """The robust sets, one row per Mbar (or M)."""
        return self.table

    def __repr__(self) -> str:
        return f"RobustSets({self.delta}, {self.method}, {len(self.table)} values)"

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, na_rep="")


def _rm_moments(b, s, lv, num_pre, num_post, mbar):
    """The 2 x num_pre moment sets of Delta^RM(Mbar) (each s, each sign), post rows only."""
    out = []
    for s_ in range(-(num_pre - 1), 1):
        for positive in (True, False):
            A = rm_constraints(num_pre, num_post, mbar, s_, positive)
            A = A[_post_rows(A, num_pre)]
            out.append(_moments(A, np.zeros(len(A)), b, s, lv, num_pre))
    return out


def _accepts_rm(b, s, lv, shape, mbar, thetas, alpha, method, rng) -> np.ndarray:
    """Union over the sets Delta^RM_{s,+/-}(Mbar) of the accepted thetas.

    ``shape``: (num_pre, num_post); ``rng``: (seed, draws) of the least-favourable values.
    """
    num_pre, num_post = shape
    kappa = alpha / 10
    acc = np.zeros(len(thetas), dtype=bool)
    for mom in _rm_moments(b, s, lv, num_pre, num_post, mbar):
        lf = least_favourable_cv(mom, kappa, LF_SIMS, *rng) if method == "C-LF" else None
        acc |= _arp_accepts(mom, thetas, alpha, lf, kappa)
    return acc


def _grid_row(thetas: np.ndarray, acc: np.ndarray) -> tuple[float, float]:
    if not acc.any():
        return np.nan, np.nan
    return float(thetas[acc].min()), float(thetas[acc].max())


def relative_magnitudes(
    betahat,
    sigma,
    num_pre: int,
    num_post: int,
    l_vec=None,
    mbar=(0.5, 1.0, 1.5, 2.0),
    alpha: float = 0.05,
    method: RMMethod = "C-LF",
    grid_points: int = GRID_POINTS,
    grid_lb: float | None = None,
    grid_ub: float | None = None,
    seed: int = 0,
    draws=None,
) -> RobustSets:
    """Robust sets under relative magnitudes Delta^RM(Mbar) (Rambachan and Roth 2023, 2.4.1).

    As HonestDiD's ``createSensitivityResults_relativeMagnitudes``: for each Mbar the union over
    s and sign of the ARP sets (post-period moments only), tested on ``grid_points`` values of
    theta in [-20, 20] x SD(l'betahat_post) unless ``grid_lb``/``grid_ub`` are given.

    Parameters
    ----------
    betahat, sigma
        Event-study coefficients (``num_pre`` before the reference period, then ``num_post``;
        the reference period itself is left out) and their covariance.
    l_vec
        Weights of theta = l'tau_post; ``None``: the first post-period effect.
    mbar
        Values of Mbar.
    alpha
        One minus the coverage.
    method
        ``"C-LF"`` (conditional-least-favourable hybrid, kappa = alpha / 10) or
        ``"Conditional"``.
    seed, draws
        Seed of the least-favourable draws, or ``draws(rows, cols)`` giving their standard
        normals (to repeat another implementation's simulation; ``tests/test_known_answers.py``
        repeats R's).

    Returns
    -------
    RobustSets
        One row per Mbar.
    """
    check_option("method", method, RMMethod)
    b, s, lv = _inputs(betahat, sigma, num_pre, num_post, l_vec)
    post = slice(num_pre, num_pre + num_post)
    sd_theta = float(np.sqrt(lv @ s[post, post] @ lv))
    lo = -20 * sd_theta if grid_lb is None else grid_lb
    hi = 20 * sd_theta if grid_ub is None else grid_ub
    thetas = np.linspace(lo, hi, grid_points)
    rows = []
    for mb in np.atleast_1d(np.asarray(mbar, dtype=float)):
        shape = (num_pre, num_post)
        acc = _accepts_rm(b, s, lv, shape, float(mb), thetas, alpha, method, (seed, draws))
        lb, ub = _grid_row(thetas, acc)
        rows.append({"lb": lb, "ub": ub, "method": method, "delta": "DeltaRM", "mbar": mb})
    return RobustSets(
        table=pd.DataFrame(rows, columns=["lb", "ub", "method", "delta", "mbar"]),
        original=original_interval(b, s, num_pre, num_post, lv, alpha),
        estimate=float(lv @ b[post]),
        delta="DeltaRM",
        method=method,
        l_vec=tuple(float(x) for x in lv),
        alpha=alpha,
        num_pre=num_pre,
        num_post=num_post,
        grid_points=grid_points,
        seed=seed,
    )


# -- smoothness: the fixed-length interval -----------------------------------------------------


def folded_normal_quantile(p: float, mu: float, draws: np.ndarray | None = None) -> float:
    """The p quantile of |N(mu, 1)|: solved exactly, or as HonestDiD's ``.qfoldednormal`` does.

    With ``draws`` (standard normals; R uses 10^6), the type-7 quantile of |draws + mu|.
    """
    mu = abs(float(mu))
    if draws is not None:
        return float(np.quantile(np.abs(draws + mu), p))
    f = lambda c: special.ndtr(c - mu) - special.ndtr(-c - mu) - p  # noqa: E731
    return float(optimize.brentq(f, 0.0, mu + special.ndtri(1 - (1 - p) / 2) + 1, xtol=1e-14))


def _flci_parts(s: np.ndarray, lv: np.ndarray, num_pre: int) -> dict:
    """Matrices of the FLCI programme in (U, w) (HonestDiD's ``R/flci.R``).

    w are the pre-period weights in "slope" form (l_pre = D w, D with -1 below the diagonal);
    the worst-case bias over Delta^SD(1) is ``const + sum(U)`` with U >= |cumsum(w)|, and
    sum(w) = sum_t t l_t makes the estimator unbiased for linear trends.
    """
    T = len(lv)
    t = np.arange(1, T + 1)
    const = sum(abs(float(t[:k] @ lv[T - k :])) for k in range(1, T + 1)) - float(t @ lv)
    D = np.eye(num_pre) - np.eye(num_pre, k=-1)
    pre, post = slice(0, num_pre), slice(num_pre, num_pre + T)
    Q = D.T @ s[pre, pre] @ D
    q = D.T @ s[pre, post] @ lv
    r = float(lv @ s[post, post] @ lv)
    return {"const": const, "D": D, "Q": Q, "q": q, "r": r, "target": float(t @ lv)}


def _variance(w: np.ndarray, P: dict) -> float:
    return float(w @ P["Q"] @ w + 2 * P["q"] @ w + P["r"])


def _least_variance_w(P: dict) -> np.ndarray:
    """The weights w of least variance with sum(w) = target (HonestDiD's ``.findLowestH``)."""
    K = len(P["q"])
    kkt = np.block([[2 * P["Q"], np.ones((K, 1))], [np.ones((1, K)), np.zeros((1, 1))]])
    rhs = np.concatenate([-2 * P["q"], [P["target"]]])
    return np.linalg.lstsq(kkt, rhs, rcond=None)[0][:K]


def _bias_given_h(h: float, P: dict, w_min: np.ndarray) -> tuple[float, np.ndarray]:
    """Least worst-case bias (per unit of M) with SD <= h, and its w (``.findWorstCaseBiasGivenH``).

    A linear objective over (U, w) with |cumsum(w)| <= U, sum(w) = target and the variance
    constraint, solved with SLSQP from the least-variance weights.
    """
    K = len(w_min)
    L = np.tril(np.ones((K, K)))
    bias = lambda w: P["const"] + np.abs(L @ w).sum()  # noqa: E731
    if h**2 <= _variance(w_min, P) * (1 + 1e-10):
        return float(bias(w_min)), w_min
    eye, ones = np.eye(K), np.ones(K)
    cons = [
        {"type": "ineq", "fun": lambda x: x[:K] - L @ x[K:], "jac": lambda x: np.hstack([eye, -L])},
        {"type": "ineq", "fun": lambda x: x[:K] + L @ x[K:], "jac": lambda x: np.hstack([eye, L])},
        {"type": "eq", "fun": lambda x: x[K:].sum() - P["target"],
         "jac": lambda x: np.concatenate([np.zeros(K), ones])},
        {"type": "ineq", "fun": lambda x: h**2 - _variance(x[K:], P),
         "jac": lambda x: np.concatenate([np.zeros(K), -2 * (P["Q"] @ x[K:] + P["q"])])},
    ]  # fmt: skip
    x0 = np.concatenate([np.abs(L @ w_min) + 1e-12, w_min])
    res = optimize.minimize(
        lambda x: (P["const"] + x[:K].sum(), np.concatenate([ones, np.zeros(K)])),
        x0, jac=True, method="SLSQP", constraints=cons,
        options={"ftol": 1e-14, "maxiter": 500},
    )  # fmt: skip
    w = res.x[K:]
    return float(bias(w)), w


def _optimal_h(a: float, b: float, f, num_points: int = 100) -> float:
    """HonestDiD's ``.findOptimalCIDerivativeBisection``: the h in [a, b] minimising f (convex).

    Bisection on the numerical derivative; NaN when it fails (then a grid of ``num_points``).
    """
    failtol = np.finfo(float).eps ** 0.5
    dif = min((b - a) / num_points, abs(b) * np.finfo(float).eps ** (1 / 3))
    if dif <= 0:
        return a
    fa, fb = f(a), f(b)
    fpa, fpb = (f(a + dif) - fa) / dif, (f(b - dif) - fb) / -dif
    maxiter = 10 * math.ceil(math.log(abs(b - a) / dif) / math.log(2))
    if fpa > fpb or not (np.isfinite(fa) and np.isfinite(fb)):
        return np.nan
    if fpb < 0:
        return b
    if fpa > 0:
        return a
    it = 1
    while abs(b - a) > dif:
        it += 1
        x = (a + b) / 2
        fpx = (f(x + dif) - f(x - dif)) / (2 * dif)
        if fpx > fpb + failtol or fpx + failtol < fpa or it > maxiter:
            return np.nan
        a, b = (a, x) if fpx > 0 else (x, b)
    return (a + b) / 2


def flci(
    betahat,
    sigma,
    num_pre: int,
    num_post: int,
    l_vec=None,
    m: float = 0.0,
    alpha: float = 0.05,
    draws=None,
) -> tuple[float, float, np.ndarray]:
    """The fixed-length interval under Delta^SD(M) (HonestDiD's ``findOptimalFLCI``).

    The affine estimator l_pre'beta_pre + l'beta_post whose interval, estimate +/- h x
    cv_alpha(M bias(h) / h) with cv the folded-normal quantile and bias(h) the least
    worst-case bias at SD h, is shortest (Armstrong and Kolesar 2018; Rambachan and Roth 2023,
    section 3.3): h between the least-variance and the least-bias estimators, found as R does.

    Parameters
    ----------
    betahat, sigma, num_pre, num_post, l_vec, alpha
        As :func:`relative_magnitudes`.
    m
        M of Delta^SD(M).
    draws
        ``None``: the exact folded-normal quantile; ``draws(rows, cols)``: R's simulated one
        with 10^6 of its standard normals.

    Returns
    -------
    tuple
        Lower and upper bound, and the weights (l_pre, l).
    """
    b, s, lv = _inputs(betahat, sigma, num_pre, num_post, l_vec)
    P = _flci_parts(s, lv, num_pre)
    z = None if draws is None else np.asarray(draws(1_000_000, 1), dtype=float).ravel()
    w_min = _least_variance_w(P)
    w0 = np.zeros(num_pre)
    w0[-1] = P["target"]
    h_min, h0 = np.sqrt(_variance(w_min, P)), np.sqrt(_variance(w0, P))

    def half(h: float) -> float:
        bias, _ = _bias_given_h(h, P, w_min)
        return folded_normal_quantile(1 - alpha, m * bias / h, z) * h

    hstar = _optimal_h(h_min, h0, half)
    if not np.isfinite(hstar):
        grid = np.linspace(h_min, h0, 100)
        hstar = float(grid[np.argmin([half(h) for h in grid])])
    bias, w = _bias_given_h(hstar, P, w_min)
    halflength = folded_normal_quantile(1 - alpha, m * bias / hstar, z) * hstar
    vec = np.concatenate([P["D"] @ w, lv])
    est = float(vec @ b)
    return est - halflength, est + halflength, vec


def _sd_moments(b, s, lv, num_pre, num_post, M):
    """The moment set of Delta^SD(M): post rows with several post-periods, all rows with one."""
    A = sd_constraints(num_pre, num_post)
    if num_post > 1:
        A = A[_post_rows(A, num_pre)]
    return _moments(A, np.full(len(A), float(M)), b, s, lv, num_pre)


def _sd_identified_set(
    M: float, lv: np.ndarray, num_pre: int, num_post: int
) -> tuple[float, float]:
    """The identified set of theta when betahat = 0 (HonestDiD's ``.compute_IDset_DeltaSD``)."""
    A = sd_constraints(num_pre, num_post)
    n = num_pre + num_post
    f = np.concatenate([np.zeros(num_pre), lv])
    eq = np.hstack([np.eye(num_pre), np.zeros((num_pre, num_post))])
    kw = dict(A_ub=A, b_ub=np.full(len(A), M), A_eq=eq, b_eq=np.zeros(num_pre),
              bounds=[(None, None)] * n, method="highs")  # fmt: skip
    low = optimize.linprog(f, **kw)  # min l'delta
    high = optimize.linprog(-f, **kw)  # -max l'delta
    if low.status or high.status:
        return 0.0, 0.0
    return float(high.fun), float(-low.fun)  # theta = -l'delta when betahat = 0


def smoothness(
    betahat,
    sigma,
    num_pre: int,
    num_post: int,
    l_vec=None,
    m=(0.0, 0.01, 0.02, 0.03, 0.04, 0.05),
    alpha: float = 0.05,
    method: SDMethod = "FLCI",
    grid_points: int = GRID_POINTS,
    seed: int = 0,
    draws=None,
) -> RobustSets:
    """Robust sets under smoothness Delta^SD(M) (Rambachan and Roth 2023, 2.4.2).

    As HonestDiD's ``createSensitivityResults``: ``"FLCI"`` (its default), or the ARP tests
    ``"C-LF"`` / ``"Conditional"`` on a grid of ``grid_points`` thetas around the identified
    set at betahat = 0, widened by 20 x SD(l'betahat_post).

    Parameters
    ----------
    betahat, sigma, num_pre, num_post, l_vec, alpha, seed, draws
        As :func:`relative_magnitudes`.
    m
        Values of M (in the outcome's units per period squared).
    method
        ``"FLCI"``, ``"C-LF"`` or ``"Conditional"``.

    Returns
    -------
    RobustSets
        One row per M.
    """
    check_option("method", method, SDMethod)
    b, s, lv = _inputs(betahat, sigma, num_pre, num_post, l_vec)
    post = slice(num_pre, num_pre + num_post)
    sd_theta = float(np.sqrt(lv @ s[post, post] @ lv))
    rows = []
    for M in np.atleast_1d(np.asarray(m, dtype=float)):
        if method == "FLCI":
            lb, ub, _ = flci(b, s, num_pre, num_post, lv, float(M), alpha, draws)
        else:
            id_lo, id_hi = _sd_identified_set(float(M), lv, num_pre, num_post)
            thetas = np.linspace(id_lo - 20 * sd_theta, id_hi + 20 * sd_theta, grid_points)
            mom = _sd_moments(b, s, lv, num_pre, num_post, M)
            kappa = alpha / 10
            lf = least_favourable_cv(mom, kappa, LF_SIMS, seed, draws) if method == "C-LF" else None
            lb, ub = _grid_row(thetas, _arp_accepts(mom, thetas, alpha, lf, kappa))
        rows.append({"lb": lb, "ub": ub, "method": method, "delta": "DeltaSD", "m": M})
    return RobustSets(
        table=pd.DataFrame(rows, columns=["lb", "ub", "method", "delta", "m"]),
        original=original_interval(b, s, num_pre, num_post, lv, alpha),
        estimate=float(lv @ b[post]),
        delta="DeltaSD",
        method=method,
        l_vec=tuple(float(x) for x in lv),
        alpha=alpha,
        num_pre=num_pre,
        num_post=num_post,
        grid_points=0 if method == "FLCI" else grid_points,
        seed=seed,
    )


def rm_identified_set(
    betahat, num_pre: int, num_post: int, l_vec=None, mbar: float = 1.0
) -> tuple[float, float]:
    """Identified set of theta under Delta^RM(Mbar) if betahat were the truth.

    HonestDiD's ``.compute_IDset_DeltaRM``: the union over s and sign of the linear programmes
    max/min l'delta_post with delta_pre = beta_pre (scipy HiGHS).
    """
    b = np.asarray(betahat, dtype=float).ravel()
    _, _, lv = _inputs(b, np.eye(len(b)), num_pre, num_post, l_vec)
    f = np.concatenate([np.zeros(num_pre), lv])
    eq = np.hstack([np.eye(num_pre), np.zeros((num_pre, num_post))])
    theta = float(lv @ b[num_pre:])
    lo, hi = np.inf, -np.inf
    for s_ in range(-(num_pre - 1), 1):
        for positive in (True, False):
            A = rm_constraints(num_pre, num_post, mbar, s_, positive)
            kw = dict(A_ub=A, b_ub=np.zeros(len(A)), A_eq=eq, b_eq=b[:num_pre],
                      bounds=[(None, None)] * len(b), method="highs")  # fmt: skip
            mx, mn = optimize.linprog(-f, **kw), optimize.linprog(f, **kw)
            if mx.status == 0 and mn.status == 0:
                lo, hi = min(lo, theta + mx.fun), max(hi, theta - mn.fun)
    return (theta, theta) if lo > hi else (lo, hi)


# -- breakdown values --------------------------------------------------------------------------

#: Mbar values tried before bisection (the first that does not exclude zero brackets it).
MBAR_GRID = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0, 16.0, 32.0)


def _bisect_breakdown(excludes, grid, tol: float) -> tuple[float, bool]:
    """Largest value whose robust set excludes zero: grid, then bisection.

    ``excludes(v)``: whether the robust set at v excludes zero. 0 when it does not at 0; the last
    grid value and True (censored) when it excludes zero all along the grid.
    """
    if not excludes(0.0):
        return 0.0, False
    lo = 0.0
    for v in grid:
        if not excludes(v):
            hi = v
            break
        lo = v
    else:
        return lo, True
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excludes(mid) else (lo, mid)
    return lo, False


@dataclass(frozen=True, kw_only=True)
class BreakdownValue:
    """The largest Mbar (or M) whose robust set still excludes zero.

    ``censored``: the set excludes zero at every value tried (the value is a lower bound).
    """

    value: float
    delta: str
    method: str
    l_vec: tuple[float, ...]
    estimate: float
    alpha: float
    censored: bool = False
    tol: float = 0.0


def breakdown_relative_magnitudes(
    betahat,
    sigma,
    num_pre: int,
    num_post: int,
    l_vec=None,
    alpha: float = 0.05,
    method: RMMethod = "C-LF",
    tol: float = 0.005,
    seed: int = 0,
    draws=None,
) -> BreakdownValue:
    """Breakdown Mbar of Delta^RM: the largest Mbar whose robust set excludes zero.

    The robust set excludes zero when the test of theta = 0 rejects for every s and sign (as
    in :func:`relative_magnitudes`, without a theta grid). Mbar runs over :data:`MBAR_GRID`
    until zero is first accepted, then bisection to ``tol``; the value returned excludes zero.

    Returns
    -------
    BreakdownValue
        0 when the set already includes zero at Mbar = 0.
    """
    check_option("method", method, RMMethod)
    b, s, lv = _inputs(betahat, sigma, num_pre, num_post, l_vec)
    zero = np.zeros(1)
    shape = (num_pre, num_post)

    def excludes(mb: float) -> bool:
        return not _accepts_rm(b, s, lv, shape, mb, zero, alpha, method, (seed, draws))[0]

    value, censored = _bisect_breakdown(excludes, MBAR_GRID, tol)
    return BreakdownValue(
        value=value,
        delta="DeltaRM",
        method=method,
        l_vec=tuple(float(x) for x in lv),
        estimate=float(lv @ b[num_pre:]),
        alpha=alpha,
        censored=censored,
        tol=tol,
    )


def breakdown_smoothness(
    betahat,
    sigma,
    num_pre: int,
    num_post: int,
    l_vec=None,
    alpha: float = 0.05,
    rel_tol: float = 1e-3,
    draws=None,
) -> BreakdownValue:
    """Breakdown M of Delta^SD with the FLCI: the largest M whose interval excludes zero.

    M runs over (0.25, 0.5, 1, 2, ...) x SD(l'betahat_post) until the FLCI first includes
    zero, then bisection to ``rel_tol`` x that SD.
    """
    b, s, lv = _inputs(betahat, sigma, num_pre, num_post, l_vec)
    post = slice(num_pre, num_pre + num_post)
    unit = float(np.sqrt(lv @ s[post, post] @ lv))

    def excludes(M: float) -> bool:
        lo, hi, _ = flci(b, s, num_pre, num_post, lv, M, alpha, draws)
        return lo > 0 or hi < 0

    grid = tuple(unit * 2.0**k for k in range(-2, 8))
    value, censored = _bisect_breakdown(excludes, grid, rel_tol * unit)
    return BreakdownValue(
        value=value,
        delta="DeltaSD",
        method="FLCI",
        l_vec=tuple(float(x) for x in lv),
        estimate=float(lv @ b[num_pre:]),
        alpha=alpha,
        censored=censored,
        tol=rel_tol * unit,
    )


# -- from the package's event study ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EventStudyInput:
    """An event study as HonestDiD takes it, from a :class:`~analysis.methods.panel.Staggered`.

    ``e``: the event times of ``betahat`` (``num_pre`` before the reference period, then
    ``num_post``); ``l_vec``: the weights of the ``target``; ``reason``: why it cannot be used
    (``no_event_study``, ``no_pre_period``, ``gaps_in_event_time``, ``post_without_se``), empty
    when it can.
    """

    betahat: np.ndarray
    sigma: np.ndarray
    num_pre: int
    num_post: int
    l_vec: np.ndarray
    e: tuple[int, ...]
    target: str
    reason: str = ""

    @property
    def estimate(self) -> float:
        """l'betahat_post: the target's estimate."""
        return float(self.l_vec @ self.betahat[self.num_pre :]) if not self.reason else np.nan


def _target_weights(staggered, post_e: np.ndarray, target: str) -> np.ndarray:
    """Weights over the post-period event times: simple (desa-years), dynamic (equal), first."""
    lv = np.zeros(len(post_e))
    after = post_e >= 0
    if target == "first":
        lv[np.flatnonzero(post_e == 0)] = 1.0
    elif target == "dynamic":
        lv[after] = 1.0 / after.sum()
    else:  # simple: each post cell weighted by its cohort's size, as the simple aggregation
        gt = staggered.group_time[staggered.group_time["post"].astype(bool)]
        per_e = gt.assign(e=gt["t"] - gt["g"]).groupby("e")["n_treated"].sum()
        lv = np.array([float(per_e.get(e, 0.0)) for e in post_e])
        lv = lv / lv.sum()
    return lv


def event_study_input(staggered, target: SensitivityTarget = "simple") -> EventStudyInput:
    """The event study of a staggered DiD as HonestDiD's betahat, sigma and l_vec.

    From :attr:`~analysis.methods.panel.Staggered.event_levels` (levels relative to the
    reference period, whatever the base period) and their influence-function covariance. The
    pre-periods used are those next to the reference period that rest on enough desa
    (``reliable``), back to the first that does not; every post-period is kept. ``target``:
    ``"simple"`` weights each post event time by its partnered desa-years, which makes
    l'betahat_post the simple aggregation (the headline); ``"dynamic"`` the plain average over
    e >= 0 (the dynamic aggregation without ``balance_e``); ``"first"`` e = 0 (HonestDiD's
    default).
    """
    check_option("target", target, SensitivityTarget)
    lv = staggered.event_levels
    empty = dict(betahat=np.zeros(0), sigma=np.zeros((0, 0)), num_pre=0, num_post=0,
                 l_vec=np.zeros(0), e=(), target=target)  # fmt: skip
    if not len(lv):
        return EventStudyInput(**empty, reason="no_event_study")
    ref = -1 - int(staggered.anticipation)
    e = lv["e"].to_numpy()
    ok = lv["reliable"].to_numpy() & (lv["se"].to_numpy() > 0)
    pre = []
    for want in range(ref - 1, int(e.min()) - 1, -1):
        i = np.flatnonzero(e == want)
        if not len(i) or not ok[i[0]]:
            break
        pre.insert(0, int(i[0]))
    post = np.flatnonzero(e > ref)
    if not pre:
        return EventStudyInput(**empty, reason="no_pre_period")
    if not np.array_equal(e[post], np.arange(ref + 1, ref + 1 + len(post))):
        return EventStudyInput(**empty, reason="gaps_in_event_time")
    if not np.all(lv["se"].to_numpy()[post] > 0):
        return EventStudyInput(**empty, reason="post_without_se")
    idx = np.array(pre + post.tolist())
    return EventStudyInput(
        betahat=lv["att"].to_numpy(dtype=float)[idx],
        sigma=np.asarray(staggered.event_levels_vcov, dtype=float)[np.ix_(idx, idx)],
        num_pre=len(pre),
        num_post=len(post),
        l_vec=_target_weights(staggered, e[post], target),
        e=tuple(int(x) for x in e[idx]),
        target=target,
    )


def event_study_breakdown(
    staggered,
    target: SensitivityTarget = "simple",
    alpha: float = 0.05,
    method: RMMethod = "C-LF",
    sigma_scale: float = 1.0,
    seed: int = 0,
    tol: float = 0.005,
):
    """HonestDiD's relative-magnitudes breakdown value of a staggered DiD's effect.

    :func:`event_study_input` then :func:`breakdown_relative_magnitudes`. ``sigma_scale``
    multiplies the covariance: the district steps pass (c / z)^2 with c the headline's
    critical value (bootstrap or t(G-1)) and z the normal one, so that at Mbar = 0 the robust
    set is as wide as the headline's interval; HonestDiD itself uses normal critical values.

    Returns
    -------
    Breakdown
        ``mbar`` with ``method``, ``target``, ``n_pre``, ``n_post``, the largest pre-period
        change (``pre_max_change``) and, when it could not be computed, NaN and ``reason``.
    """
    inp = event_study_input(staggered, target)
    said = {"method": method, "target": target, "sigma_scale": float(sigma_scale)}
    if inp.reason:
        return Breakdown(mbar=np.nan, reason=inp.reason, **said)
    levels = np.concatenate([inp.betahat[: inp.num_pre], [0.0]])
    said.update(n_pre=inp.num_pre, n_post=inp.num_post,
                pre_max_change=float(np.abs(np.diff(levels)).max()))  # fmt: skip
    try:
        b = breakdown_relative_magnitudes(
            inp.betahat, inp.sigma * sigma_scale, inp.num_pre, inp.num_post, inp.l_vec,
            alpha, method, tol, seed,
        )  # fmt: skip
    except OptionError as err:  # too many post-periods, or a degenerate covariance
        reason = "too_many_post_periods" if "MAX_SUPPORTS" in str(err) else "degenerate_covariance"
        return Breakdown(mbar=np.nan, reason=reason, **said)
    return Breakdown(mbar=b.value, censored=b.censored, **said)
