"""Few partnered desa: synthetic control and synthetic difference-in-differences for one cohort.

With one to five partnered desa, clustered and bootstrap inference over-reject (Conley, T. G. and
Taber, C. R. 2011, "Inference with 'difference in differences' with a small number of policy
changes", Review of Economics and Statistics 93(1), 113-125). This module compares one cohort of
partnered desa (same exposure year ``g``) with donor desa that never partnered, on a balanced
panel, by

* synthetic difference-in-differences (``"synthetic_did"``): Arkhangelsky, D., Athey, S.,
  Hirshberg, D. A., Imbens, G. W. and Wager, S. (2021), "Synthetic Difference-in-Differences",
  American Economic Review 111(12), 4088-4118, Algorithm 1: unit weights with an intercept and
  the ridge penalty zeta = (N_tr T_post)^(1/4) sigma, time weights with an intercept, both
  fitted by Frank-Wolfe with exact line search and one sparsifying restart, as R ``synthdid``'s
  ``synthdid_estimate`` (sigma = standard deviation of the donors' first differences before
  the start);
* synthetic control (``"synthetic_control"``): Abadie, A., Diamond, A. and Hainmueller, J.
  (2010), "Synthetic Control Methods for Comparative Case Studies", Journal of the American
  Statistical Association 105(490), 493-505. Weights on the simplex fitted on every pre-period
  outcome as R ``synthdid``'s ``sc_estimate`` (no intercept, no time weights, an
  infinitesimal ridge penalty) or, with ``sc_fit="predictors"``, on predictors weighted by a
  diagonal V chosen to fit the pre-period outcomes (Abadie, A. and Gardeazabal, J. 2003, "The
  Economic Costs of Conflict: A Case Study of the Basque Country", American Economic Review
  93(1), 113-132; R ``Synth``'s nested optimisation);
* difference-in-differences (``"did"``): every donor and every pre-period weighted equally, as R
  ``synthdid``'s ``did_estimate``.

Inference is by placebo in space (Abadie et al. 2010, section 2.4): each set of as many donors as
there are partnered desa is treated in turn, refitted on the other donors (every set when there
are at most ``max_exact``, otherwise ``draws`` distinct sets drawn with a seeded generator). The
p-value is the rank of the observed statistic among the placebos, (1 + #{placebo >= observed}) /
(1 + placebos); the interval collects the effects the test does not reject (the placebo
distribution does not depend on the partnered desa's outcomes, so it inverts in closed form).
The same placebos give the placebo standard error of Arkhangelsky et al. (2021), Algorithm 4
(R ``synthdid``'s ``vcov(method = "placebo")``): the standard deviation of the placebo
estimates, reported with every estimate and, on request, the basis of a normal interval.
Leave-one-out drops each donor with a positive weight in turn (Abadie, A., Diamond, A. and
Hainmueller, J. 2015, "Comparative Politics and the Synthetic Control Method", American Journal
of Political Science 59(2), 495-510). Known answers: California's Proposition 99 and the Basque
Country (``tests/test_synthetic.py``).

Examples
--------
>>> from analysis.methods.synthetic import few_desa
>>> est, detail = few_desa(panel, Design(outcome="nilai_idm"), cohort=2023)  # doctest: +SKIP
>>> detail.fit.unit_weights.head()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.design import Design
from analysis.errors import OptionError, check_option
from analysis.methods.inference import DEFAULT_SEED
from analysis.methods.options import (
    DonorRestriction,
    FewDesaInterval,
    PlaceboStatistic,
    SCFit,
    SyntheticMethod,
)
from analysis.methods.results import Estimate, NotEstimable, Result

#: The column each donor-pool restriction matches on (``"kecamatan"``: ``design.cluster``).
DONOR_COLUMNS: dict[str, str] = {
    "district": "kode_kab",
    "kecamatan": "kode_kec",
    "mining": "tambang_dekat",
    "plantation": "perkebunan_dekat",
}
#: Donors share the partnered desa's district unless asked otherwise.
DEFAULT_DONOR_POOL: tuple[DonorRestriction, ...] = ("district",)
#: Every placebo assignment is computed when there are at most this many.
MAX_EXACT = 2000
#: Placebo assignments drawn when there are more than ``MAX_EXACT``.
DEFAULT_PLACEBOS = 999
#: Fewest pre-period years: the noise level sigma needs a first difference.
MIN_PRE_PERIODS = 2
#: Frank-Wolfe iterations before and after the sparsifying restart (R synthdid's defaults).
FW_ITER_FIRST, FW_ITER = 100, 10_000
#: Placebo problems fitted together (bounds the memory of one batch).
BATCH = 256

ESTIMANDS = {
    "synthetic_did": "ATT, partnered desa-years of one cohort (synthetic DiD)",
    "synthetic_control": "ATT, partnered desa-years of one cohort (synthetic control)",
    "did": "ATT, partnered desa-years of one cohort (DiD, equal weights)",
}
#: How the weights were computed (``Estimate.est_method``), by method and fit.
EST_METHODS = {
    ("synthetic_did", "outcomes"): "frank_wolfe",
    ("synthetic_control", "outcomes"): "frank_wolfe",
    ("synthetic_control", "predictors"): "synth_v",
    ("did", "outcomes"): "equal_weights",
}


@dataclass(frozen=True, kw_only=True)
class Predictor:
    """One predictor of the synthetic control: the mean of a column over some years.

    Parameters
    ----------
    column
        A numeric column of the panel (time-varying or constant within a unit).
    years
        The years averaged (missing values skipped, as R Synth's ``dataprep``); ``None``: every
        pre-period year.
    """

    column: str
    years: tuple[int, ...] | None = None


# -- the Frank-Wolfe solver ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Problems:
    """P weight problems min zeta2 |x|^2 + |A x - b|^2 / rows over the simplex, in Gram form.

    ``G`` = A'A, shared (n x n) or one per problem (P x n x n); ``c`` = A'b (P x n); ``bb`` =
    b'b; ``allowed``: the vertices a problem may use (P x n).
    """

    G: np.ndarray
    c: np.ndarray
    bb: np.ndarray
    zeta2: np.ndarray
    rows: np.ndarray
    allowed: np.ndarray
    min_decrease: np.ndarray


def _frank_wolfe(p: _Problems, x0: np.ndarray, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Frank-Wolfe with exact line search for every problem at once (R synthdid's ``fw.step``).

    Each problem stops, as ``sc.weight.fw`` does, once an iteration lowers its objective by no
    more than ``min_decrease``^2 (or after ``max_iter`` iterations). The half-gradient
    ``G x + eta x`` and the scalars ``x'x``, ``x'G x``, ``c'x`` are updated by each step (a
    rank-one change) and recomputed exactly every ``REFRESH`` iterations; the weights equal R's
    recomputation up to rounding (Proposition 99 to 1e-12).
    """
    out, iters = x0.astype(float).copy(), np.zeros(len(x0), dtype=np.int64)
    st = _FWState.start(p, out)
    for t in range(1, max_iter + 1):
        if t % REFRESH == 1:
            st.refresh()
        val = st.step()
        iters[st.idx] = t
        if t >= 2:
            going = st.prev - val > st.md2
            if not going.all():
                out[st.idx[~going]] = st.x[~going]
                st.keep(going)
                val = val[going]
        st.prev = val
        if not len(st.idx):
            break
    out[st.idx] = st.x
    return out, iters


#: Iterations between exact recomputations of the Frank-Wolfe scalars.
REFRESH = 64


class _FWState:
    """The problems still iterating: their weights, half-gradients and scalars (mutable)."""

    @classmethod
    def start(cls, p: _Problems, x: np.ndarray) -> _FWState:
        s = cls()
        s.shared = p.G.ndim == 2
        s.G, s.idx, s.x = p.G, np.arange(len(x)), x.copy()
        s.c, s.bb, s.zeta2, s.rows = p.c, p.bb, p.zeta2, p.rows
        s.eta, s.md2 = p.rows * p.zeta2, p.min_decrease**2
        # a vertex a problem may not use gets a half-gradient no step can reach
        s.cb = np.where(p.allowed, p.c, -1e200)
        s.diag = np.diag(p.G) if s.shared else np.einsum("pii->pi", p.G)
        gx = x @ p.G if s.shared else np.einsum("pij,pj->pi", p.G, x)
        s.h = gx + s.eta[:, None] * s.x
        s.prev = np.full(len(x), np.nan)
        s.buf = np.empty_like(s.h)  # preallocated: a fresh array per step costs more than the step
        return s

    def refresh(self) -> None:
        x = self.x
        self.xx = np.einsum("pi,pi->p", x, x)
        self.xg = np.einsum("pi,pi->p", x, self.h) - self.eta * self.xx
        self.cx = np.einsum("pi,pi->p", self.c, x)

    def step(self) -> np.ndarray:
        """One exact line-search step of every problem; returns the objectives."""
        x, h, eta, buf = self.x, self.h, self.eta, self.buf
        i = np.argmin(np.subtract(h, self.cb, out=buf), axis=1)
        k = np.arange(len(i))
        xi, hi = x[k, i], h[k, i]
        gi = hi - eta * xi
        Gii = self.diag[i] if self.shared else self.diag[k, i]
        ci = self.c[k, i]
        slope = (hi - ci) - (self.xg - self.cx + eta * self.xx)
        curv = Gii - 2 * gi + self.xg + eta * (1 - 2 * xi + self.xx)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.clip(np.where(curv > 0, -slope / curv, 0.0), 0.0, 1.0)
        om = 1 - s
        self.xx = om**2 * self.xx + 2 * s * om * xi + s**2
        self.xg = om**2 * self.xg + 2 * s * om * gi + s**2 * Gii
        self.cx = om * self.cx + s * ci
        np.multiply(x, om[:, None], out=x)
        x[k, i] += s
        if self.shared:
            np.take(self.G, i, axis=0, out=buf)
        else:
            buf[...] = self.G[self.idx, i]
        np.multiply(buf, s[:, None], out=buf)
        np.multiply(h, om[:, None], out=h)
        np.add(h, buf, out=h)
        h[k, i] += s * eta
        return self.zeta2 * self.xx + (self.xg - 2 * self.cx + self.bb) / self.rows

    def keep(self, going: np.ndarray) -> None:
        """Drop the problems that stopped."""
        for name in ("idx", "x", "h", "buf", "c", "cb", "bb", "zeta2", "rows", "eta", "md2"):
            setattr(self, name, getattr(self, name)[going])
        self.xx, self.xg, self.cx = self.xx[going], self.xg[going], self.cx[going]
        if not self.shared:
            self.diag = self.diag[going]


def _sparsify(x: np.ndarray) -> np.ndarray:
    """R synthdid's ``sparsify_function``: weights up to a quarter of the largest set to zero."""
    x = np.where(x <= x.max(axis=1, keepdims=True) / 4, 0.0, x)
    return x / x.sum(axis=1, keepdims=True)


def _solve(p: _Problems, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two rounds of Frank-Wolfe with a sparsifying restart (``synthdid_estimate``'s default)."""
    x, it1 = _frank_wolfe(p, x0, FW_ITER_FIRST)
    x, it2 = _frank_wolfe(p, _sparsify(x), FW_ITER)
    return x, it1 + it2


def _noise(pre: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Sample standard deviation of the donors' first differences before the start, per problem."""
    d = np.diff(pre, axis=1)
    m = masks.astype(float)
    cnt = m.sum(axis=1) * d.shape[1]
    s1, s2 = m @ d.sum(axis=1), m @ (d**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.maximum(s2 - s1**2 / cnt, 0.0) / (cnt - 1))


def _time_problems(
    pre: np.ndarray, post: np.ndarray, masks: np.ndarray, zeta: np.ndarray, min_decrease: np.ndarray
) -> _Problems:
    """Time weights lambda: pre-periods whose donor average, plus an intercept, fits the post mean.

    Arkhangelsky et al. (2021), eq. (2.3), on the collapsed donor rows ``[pre, mean(post)]``;
    each problem demeans over its own donors (``masks``).
    """
    m = masks.astype(float)
    Yc = np.column_stack([pre, post])
    n = m.sum(axis=1)
    mu = (m @ Yc) / n[:, None]
    C = np.einsum("pi,ij,ik->pjk", m, Yc, Yc) - n[:, None, None] * mu[:, :, None] * mu[:, None, :]
    t0 = pre.shape[1]
    return _Problems(
        G=C[:, :t0, :t0],
        c=C[:, :t0, t0],
        bb=C[:, t0, t0],
        zeta2=zeta**2,
        rows=n,
        allowed=np.ones((len(n), t0), dtype=bool),
        min_decrease=min_decrease,
    )


def _unit_problems(
    pre: np.ndarray,
    target_pre: np.ndarray,
    masks: np.ndarray,
    zeta: np.ndarray,
    min_decrease: np.ndarray,
    intercept: bool,
) -> _Problems:
    """Unit weights omega: donors whose weighted pre-period path fits the partnered desa's.

    Arkhangelsky et al. (2021), eq. (2.2), with an intercept (every path demeaned over time); or
    the synthetic control's fit to every pre-period outcome, without one.
    """
    A, B = pre.T, target_pre
    if intercept:
        A, B = A - A.mean(axis=0), B - B.mean(axis=1, keepdims=True)
    return _Problems(
        G=A.T @ A,
        c=B @ A,
        bb=np.einsum("pi,pi->p", B, B),
        zeta2=zeta**2,
        rows=np.full(len(B), float(A.shape[0])),
        allowed=masks,
        min_decrease=min_decrease,
    )


# -- the synthetic control on predictors (R Synth) ----------------------------------------------


def _simplex_least_squares(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The weights w on the simplex that minimise |A w - b|^2.

    Lawson-Hanson non-negative least squares (``scipy.optimize.nnls``) with the sum-to-one
    constraint appended as a row weighted by ``1e4 * max(1, |A|)``; on the Basque and desa
    problems the constraint then holds to 1e-9 before the weights are rescaled to sum to one,
    and the objective agrees with SLSQP's to 1e-10.
    """
    big = 1e4 * max(1.0, float(np.abs(A).max()))
    w, _ = optimize.nnls(
        np.vstack([A, np.full(A.shape[1], big)]), np.append(b, big), maxiter=50 * A.shape[1]
    )
    return w / w.sum()


def _minimise_restarted(loss, start: np.ndarray, restarts: int = 20) -> optimize.OptimizeResult:
    """Nelder-Mead restarted from its own optimum until it stops improving, then BFGS.

    The loss of V is flat in places and Nelder-Mead's simplex collapses early there; a restart
    builds a new simplex around the point reached (as Synth's users do by hand with several
    optimisers). Stops when a restart improves the loss by less than 1e-12 relative.
    """
    nm = {"maxiter": 20_000, "xatol": 1e-10, "fatol": 1e-14}
    best = optimize.minimize(loss, start, method="Nelder-Mead", options=nm)
    for _ in range(restarts):
        r = optimize.minimize(loss, best.x, method="Nelder-Mead", options=nm)
        improved = r.fun < best.fun * (1 - 1e-12)
        best = r if r.fun < best.fun else best
        if not improved:
            break
    r = optimize.minimize(loss, best.x, method="BFGS", options={"gtol": 1e-12})
    return r if r.fun < best.fun else best


def _synth_v(x1: np.ndarray, X0: np.ndarray, z1: np.ndarray, Z0: np.ndarray):
    """Donor weights and V of R Synth's nested optimisation for one treated unit.

    Abadie and Gardeazabal (2003); Abadie, Diamond and Hainmueller (2011), "Synth: An R Package
    for Synthetic Control Methods in Comparative Case Studies", Journal of Statistical Software
    42(13). Predictors are scaled by their standard deviation over treated and donors (a
    predictor constant over them is left out); V is diagonal on the simplex (|v| / sum |v|) and
    minimises the mean squared error of the outcome over the fit years, searched by Nelder-Mead
    and BFGS from equal weights and from Synth's regression-based start; the best is kept.
    For a given V the weights solve the quadratic programme on the simplex.

    Returns
    -------
    tuple
        Donor weights (len(X0)), V (one value per predictor, zero for a left-out one) and the
        pre-period loss.
    """
    allx = np.vstack([X0, x1])
    sd = allx.std(axis=0, ddof=1)
    keep = sd > 0
    Xs0, xs1 = X0[:, keep] / sd[keep], x1[keep] / sd[keep]

    def weights(par: np.ndarray) -> np.ndarray:
        v = np.abs(par) / np.abs(par).sum()
        r = np.sqrt(v)
        return _simplex_least_squares(r[:, None] * Xs0.T, r * xs1)

    def loss(par: np.ndarray) -> float:
        if not np.isfinite(par).all() or np.abs(par).sum() == 0:
            return np.inf
        return float(np.mean((z1 - Z0.T @ weights(par)) ** 2))

    starts = [np.full(keep.sum(), 1 / keep.sum())]
    Xall = np.column_stack([np.ones(len(allx)), np.vstack([Xs0, xs1])])
    Zall = np.vstack([Z0, z1[None, :]])
    if np.linalg.matrix_rank(Xall) == Xall.shape[1]:
        beta = np.linalg.solve(Xall.T @ Xall, Xall.T @ Zall)[1:]
        sv = np.diag(beta @ beta.T)
        starts.append(sv / sv.sum())
    best = min((_minimise_restarted(loss, s) for s in starts), key=lambda r: r.fun)
    v = np.zeros(len(keep))
    v[keep] = np.abs(best.x) / np.abs(best.x).sum()
    return weights(best.x), v, float(best.fun)


# -- many fits at once: the estimate, its placebos and leave-one-out -----------------------------


@dataclass(frozen=True, kw_only=True)
class _Fits:
    """P fits of one estimator on the same donors: weights, effect paths and their facts."""

    omega: np.ndarray  # P x donors
    lam: np.ndarray  # P x pre-periods
    effects: np.ndarray  # P x periods: partnered minus synthetic, less the lambda-weighted pre gap
    n_pre: int
    noise: np.ndarray
    zeta_omega: np.ndarray
    zeta_lambda: np.ndarray
    iterations: np.ndarray  # Frank-Wolfe iterations of the unit weights (0: not iterated)
    v: np.ndarray | None = None  # predictor weights (synthetic control on predictors)

    @property
    def estimate(self) -> np.ndarray:
        """The average effect over the post-periods, per fit."""
        return self.effects[:, self.n_pre :].mean(axis=1)

    @property
    def pre_rmspe(self) -> np.ndarray:
        """Root mean squared effect before the start (the pre-period fit)."""
        return np.sqrt(np.mean(self.effects[:, : self.n_pre] ** 2, axis=1))

    @property
    def post_rmspe(self) -> np.ndarray:
        """Root mean squared effect from the start on."""
        return np.sqrt(np.mean(self.effects[:, self.n_pre :] ** 2, axis=1))


@dataclass(frozen=True, kw_only=True)
class _Synth:
    """The predictors of a synthetic control on predictors: donors' and each fit's target's."""

    X0: np.ndarray  # donors x predictors
    xt: np.ndarray  # fits x predictors (the mean of the fit's treated units)
    fit_cols: np.ndarray  # the columns (periods) whose outcome fit chooses V


def _fit_many(
    Y0: np.ndarray,
    targets: np.ndarray,
    n_treated: int,
    masks: np.ndarray,
    n_pre: int,
    method: str,
    synth: _Synth | None = None,
) -> _Fits:
    """One estimator fitted P times: target paths ``targets`` (P x periods) on donors ``masks``.

    The weights of each fit use only its donors' outcomes and its target's pre-period path
    (Arkhangelsky et al. 2021, Algorithm 1; ``sc_estimate`` and ``did_estimate`` of R
    synthdid), so a placebo fit is the estimator itself applied to a donor.
    """
    P, t0 = len(targets), n_pre
    t1 = Y0.shape[1] - t0
    pre, post = Y0[:, :t0], Y0[:, t0:].mean(axis=1)
    noise = _noise(pre, masks)
    zeta_l = 1e-6 * noise
    zeta_o = ((n_treated * t1) ** 0.25 if method == "synthetic_did" else 1e-6) * noise
    iters, v = np.zeros(P, dtype=np.int64), None
    start = masks / masks.sum(axis=1, keepdims=True)
    if method == "did":
        omega, lam = start, np.full((P, t0), 1 / t0)
    else:
        lam = np.zeros((P, t0))
        if method == "synthetic_did":
            probs = _time_problems(pre, post, masks, zeta_l, 1e-5 * noise)
            lam, _ = _solve(probs, np.full((P, t0), 1 / t0))
        if synth is None:
            probs = _unit_problems(
                pre, targets[:, :t0], masks, zeta_o, 1e-5 * noise, method == "synthetic_did"
            )
            omega, iters = _solve(probs, start)
        else:
            omega, v = _synth_many(Y0, targets, masks, synth)
    gap = targets - omega @ Y0
    effects = gap - np.sum(gap[:, :t0] * lam, axis=1, keepdims=True)
    return _Fits(
        omega=omega,
        lam=lam,
        effects=effects,
        n_pre=t0,
        noise=noise,
        zeta_omega=zeta_o,
        zeta_lambda=zeta_l,
        iterations=iters,
        v=v,
    )


def _synth_many(
    Y0: np.ndarray, targets: np.ndarray, masks: np.ndarray, synth: _Synth
) -> tuple[np.ndarray, np.ndarray]:
    """R Synth's nested optimisation for each fit (one at a time: V is searched per fit)."""
    omega = np.zeros(masks.shape)
    v = np.zeros((len(targets), synth.X0.shape[1]))
    Z0 = Y0[:, synth.fit_cols]
    for p in range(len(targets)):
        m = masks[p]
        w, v[p], _ = _synth_v(synth.xt[p], synth.X0[m], targets[p, synth.fit_cols], Z0[m])
        omega[p, m] = w
    return omega, v


# -- from a long panel to one cohort and its donors ---------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Block:
    """A balanced cohort: partnered rows ``Y1`` and donor rows ``Y0`` (units x periods)."""

    Y1: np.ndarray
    Y0: np.ndarray
    treated: np.ndarray
    donors: np.ndarray
    periods: np.ndarray
    n_pre: int
    n_dropped: int
    dropped_reason: str
    X1: np.ndarray | None = None
    X0: np.ndarray | None = None
    fit_cols: np.ndarray | None = None


def _check_columns(df: pd.DataFrame, design: Design, donor_pool: tuple[str, ...]) -> dict:
    """The donor-pool columns by restriction; refuses a missing column or restriction."""
    for r in donor_pool:
        check_option("donor_pool", r, DonorRestriction)
    cols = {r: design.cluster if r == "kecamatan" else DONOR_COLUMNS[r] for r in donor_pool}
    needed = [design.unit, design.time, design.outcome, "g", *cols.values()]
    missing = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if missing:
        raise OptionError(
            f"columns not in the data: {', '.join(missing)} (needed by the design and "
            f"donor_pool={tuple(donor_pool)!r}; donor_pool=() uses every never-partnered unit)",
            key="synthetic.columns_missing",
            columns=list(missing),
            donor_pool=repr(tuple(donor_pool)),
        )
    return cols


def _cohort(units: pd.DataFrame, first: int, last: int, cohort: int | None, said: dict):
    """The cohort compared (an exposure year), or why none can be (a ``NotEstimable``)."""
    g = units["g"]
    eligible = sorted(int(x) for x in g[(g > first) & (g <= last)].unique())
    if cohort is None:
        if len(eligible) > 1:
            raise OptionError(
                f"several cohorts of partnered units ({', '.join(map(str, eligible))}); "
                "pass cohort=<exposure year> to compare one",
                key="synthetic.several_cohorts",
                cohorts=list(eligible),
            )
        if not eligible:
            recent, early = bool((g > last).any()), bool(g.between(1, first).any())
            reason = "too_recent" if recent else ("no_pre_period" if early else "too_few_treated")
            return NotEstimable(**said, reason=reason, detail="no cohort with a year before")
        return eligible[0]
    if cohort > last:
        return NotEstimable(**said, reason="too_recent", detail=f"cohort {cohort} > {last}")
    if not (g == cohort).any():
        return NotEstimable(**said, reason="too_few_treated", detail=f"no unit with g={cohort}")
    return int(cohort)


def _pool(units: pd.DataFrame, cohort: int, cols: dict) -> tuple[pd.Series, pd.Series]:
    """Partnered units of the cohort and the donors that share a partnered unit's key.

    A donor is in the pool when its values of every restricted column equal those of at least
    one partnered unit of the cohort (same district, kecamatan, mining or plantation status).
    """
    treated = units[units["g"] == cohort]
    donors = units[units["g"] == 0]
    if cols:
        keys = set(map(tuple, treated[list(cols.values())].astype(str).to_numpy()))
        own = donors[list(cols.values())].astype(str).to_numpy()
        donors = donors[[tuple(k) in keys for k in own]]
    return treated.iloc[:, 0], donors.iloc[:, 0]


def _wide_outcome(df: pd.DataFrame, design: Design, first: int, last: int) -> pd.DataFrame:
    """Units x years of the outcome between ``first`` and ``last`` (NaN where a year is missing)."""
    d = df[df[design.time].between(first, last)]
    if d.duplicated([design.unit, design.time]).any():
        raise OptionError(
            f"more than one row per {design.unit} and {design.time}",
            key="synthetic.rows_twice",
            unit=design.unit,
            time=design.time,
        )
    return d.pivot(index=design.unit, columns=design.time, values=design.outcome).astype(float)


def _predictor_values(
    df: pd.DataFrame, design: Design, predictors: tuple[Predictor, ...], pre_years: list
) -> pd.DataFrame:
    """Units x predictors: each column's mean over its years, missing values skipped."""
    out = {}
    for k, p in enumerate(predictors):
        if p.column not in df.columns:
            raise OptionError(
                f"predictor column {p.column!r} is not in the data",
                key="synthetic.predictor_missing",
                column=repr(p.column),
            )
        years = list(p.years) if p.years is not None else pre_years
        d = df[df[design.time].isin(years)]
        out[f"{k}:{p.column}"] = d.groupby(design.unit)[p.column].mean().astype(float)
    return pd.DataFrame(out)


def _block(
    df: pd.DataFrame,
    design: Design,
    cohort: int | None,
    last_year: int | None,
    cols: dict,
    predictors: tuple[Predictor, ...],
    fit_years: tuple[int, ...] | None,
    said: dict,
) -> _Block | NotEstimable:
    """The balanced cohort and donors; units missing a year (or a predictor) left out, counted."""
    first = int(df[design.time].min())
    last = int(df[design.time].max()) if last_year is None else int(last_year)
    units = df.drop_duplicates(design.unit)[[design.unit, "g", *cols.values()]]
    units = units.assign(g=units["g"].fillna(0).astype(int))
    g = _cohort(units, first, last, cohort, said)
    if isinstance(g, NotEstimable):
        return g
    treated, donors = _pool(units, g, cols)
    wide = _wide_outcome(df, design, first, last).reindex(pd.concat([treated, donors]))
    periods = wide.columns.to_numpy()
    n_pre = int((periods < g).sum())
    complete = wide.notna().all(axis=1)
    n_dropped, reason = int((~complete).sum()), "missing_year" if (~complete).any() else ""
    X = None
    if predictors:
        X = _predictor_values(df, design, predictors, list(periods[:n_pre])).reindex(wide.index)
        has = X.notna().all(axis=1)
        if (complete & ~has).any():
            reason = ",".join(r for r in (reason, "missing_covariate") if r)
        n_dropped += int((complete & ~has).sum())
        complete &= has
    t_ids, d_ids = treated[complete[treated].to_numpy()], donors[complete[donors].to_numpy()]
    n1, n0 = len(t_ids), len(d_ids)
    said = {**said, "n_treated": n1, "n_control": n0}
    if n_pre < MIN_PRE_PERIODS:
        reason = "too_few_pre_periods" if n_pre else "no_pre_period"
        return NotEstimable(**said, reason=reason, detail=f"{n_pre} year(s) before {g}")
    if n1 == 0:
        return NotEstimable(**said, reason="too_few_treated", detail="none with every year")
    if n0 < 2:
        return NotEstimable(**said, reason="no_control", detail=f"{n0} donor(s) with every year")
    if np.nanstd(wide.loc[complete].to_numpy()) == 0:
        return NotEstimable(**said, reason="constant_outcome")
    fit_cols = None
    if predictors:
        years = list(periods[:n_pre]) if fit_years is None else list(fit_years)
        fit_cols = np.flatnonzero(np.isin(periods, years) & (periods < g))
        if len(fit_cols) != len(years):
            raise OptionError(
                f"fit_years must be pre-period years of the panel, before {g}",
                key="synthetic.fit_years",
                g=g,
            )
    return _Block(
        Y1=wide.loc[t_ids].to_numpy(),
        Y0=wide.loc[d_ids].to_numpy(),
        treated=t_ids.to_numpy(),
        donors=d_ids.to_numpy(),
        periods=periods,
        n_pre=n_pre,
        n_dropped=n_dropped,
        dropped_reason=reason,
        X1=None if X is None else X.loc[t_ids].to_numpy(),
        X0=None if X is None else X.loc[d_ids].to_numpy(),
        fit_cols=fit_cols,
    )


# -- the public estimators -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SyntheticFit:
    """One cohort of partnered units against its donors: the estimate, weights and path.

    ``unit_weights`` (one row per donor, largest first: the unit and its ``weight``) and
    ``time_weights`` (one row per pre-period year) are the weights the estimate used (equal for
    ``"did"``; zero time weights for the synthetic control). ``path`` has one row per year:
    the partnered units' mean, the synthetic comparison (the weighted donors plus, for synthetic
    DiD and DiD, the intercept: the time-weighted gap before the start) and their difference,
    the ``effect``. ``pre_rmspe`` and ``post_rmspe`` are the root mean squared effect before and
    from the start; ``rmspe_ratio`` their ratio (Abadie et al. 2010). ``facts`` holds the noise
    level sigma, the penalties zeta, the Frank-Wolfe iterations and, on predictors, V.
    """

    outcome: str
    method: str
    est_method: str
    cohort: int
    estimate: float
    n_treated: int
    n_donors: int
    n_pre: int
    n_post: int
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    unit_weights: pd.DataFrame
    time_weights: pd.DataFrame
    path: pd.DataFrame
    donor_pool: tuple[str, ...]
    n_dropped: int = 0
    dropped_reason: str = ""
    facts: dict = field(default_factory=dict, compare=False, repr=False)
    block: _Block | None = field(default=None, compare=False, repr=False)

    def tidy(self) -> pd.DataFrame:
        """The path, one row per year (``time``, ``post``, ``treated``, ``synthetic``, ``effect``)."""
        return self.path

    def __repr__(self) -> str:
        return (
            f"SyntheticFit({self.method}, {self.outcome}, cohort {self.cohort}: "
            f"{self.estimate:.4g}, {self.n_treated} partnered / {self.n_donors} donors, "
            f"pre RMSPE {self.pre_rmspe:.3g}, ratio {self.rmspe_ratio:.3g})"
        )


def _check_fit_options(method: str, sc_fit: str, predictors: tuple, fit_years) -> None:
    check_option("method", method, SyntheticMethod)
    check_option("sc_fit", sc_fit, SCFit)
    if sc_fit == "predictors" and method != "synthetic_control":
        raise OptionError(
            f"sc_fit='predictors' is the synthetic control's; method={method!r}",
            key="synthetic.predictors_sc_only",
            method=repr(method),
        )
    if sc_fit == "predictors" and not predictors:
        raise OptionError(
            "sc_fit='predictors' needs predictors=(Predictor(column=...), ...)",
            key="synthetic.predictors_needed",
        )
    if sc_fit == "outcomes" and (predictors or fit_years is not None):
        raise OptionError(
            "predictors and fit_years are used only with sc_fit='predictors'",
            key="synthetic.predictors_unused",
        )


def synthetic_cohort(
    df: pd.DataFrame,
    design: Design,
    *,
    method: SyntheticMethod = "synthetic_did",
    cohort: int | None = None,
    last_year: int | None = None,
    donor_pool: tuple[DonorRestriction, ...] = DEFAULT_DONOR_POOL,
    sc_fit: SCFit = "outcomes",
    predictors: tuple[Predictor, ...] = (),
    fit_years: tuple[int, ...] | None = None,
) -> SyntheticFit | NotEstimable:
    """Synthetic DiD, synthetic control or DiD for one cohort of partnered units.

    Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. and Wager, S. (2021),
    "Synthetic Difference-in-Differences", American Economic Review 111(12), 4088-4118 (as R
    synthdid's ``synthdid_estimate``, ``sc_estimate`` and ``did_estimate``); with
    ``sc_fit="predictors"``, Abadie, A., Diamond, A. and Hainmueller, J. (2010), "Synthetic
    Control Methods for Comparative Case Studies", JASA 105(490), 493-505 (as R Synth).

    Parameters
    ----------
    df
        Long panel with ``design.unit``, ``design.time``, ``design.outcome`` and ``g`` (first
        exposure year, 0 = never partnered), plus the donor-pool columns.
    design
        Column roles (unit, time, outcome; ``cluster`` is the kecamatan).
    method
        ``"synthetic_did"``, ``"synthetic_control"`` or ``"did"``.
    cohort
        The exposure year compared; ``None``: the only cohort with a year before its start.
        Units of other cohorts are neither partnered here nor donors.
    last_year
        Last outcome year used (default: the last in ``df``).
    donor_pool
        What a donor (``g == 0``) must share with a partnered unit of the cohort:
        ``"district"`` (``kode_kab``), ``"kecamatan"`` (``design.cluster``), ``"mining"``
        (``tambang_dekat``), ``"plantation"`` (``perkebunan_dekat``); ``()``: nothing.
    sc_fit
        ``"outcomes"`` (every pre-period outcome) or ``"predictors"`` (synthetic control only).
    predictors, fit_years
        With ``sc_fit="predictors"``: the predictors and the outcome years whose fit chooses V
        (default every pre-period year).

    Returns
    -------
    SyntheticFit or NotEstimable
        The fit; or why it cannot be made (no cohort with two years before its start, no
        partnered unit or fewer than two donors observed in every year, a constant outcome).
        Units missing a year are left out and counted (``n_dropped``).

    Raises
    ------
    OptionError
        An option outside its values, a missing column, several cohorts and no ``cohort``.
    """
    _check_fit_options(method, sc_fit, tuple(predictors), fit_years)
    if isinstance(donor_pool, str):
        raise OptionError(
            f"donor_pool={donor_pool!r} must be a tuple, e.g. ({donor_pool!r},)",
            key="synthetic.donor_pool_tuple",
            value=repr(donor_pool),
        )
    cols = _check_columns(df, design, tuple(donor_pool))
    said = {"outcome": design.outcome, "method": method, "estimand": ESTIMANDS[method]}
    b = _block(df, design, cohort, last_year, cols, tuple(predictors), fit_years, said)
    if isinstance(b, NotEstimable):
        return b
    synth = None
    if sc_fit == "predictors":
        synth = _Synth(X0=b.X0, xt=b.X1.mean(axis=0)[None, :], fit_cols=b.fit_cols)
    masks = np.ones((1, len(b.donors)), dtype=bool)
    f = _fit_many(b.Y0, b.Y1.mean(axis=0)[None, :], len(b.treated), masks, b.n_pre, method, synth)
    return _as_fit(f, b, design, method, sc_fit, tuple(donor_pool))


def _as_fit(
    f: _Fits, b: _Block, design: Design, method: str, sc_fit: str, donor_pool: tuple[str, ...]
) -> SyntheticFit:
    """The first fit of ``f`` as a :class:`SyntheticFit` of block ``b``."""
    treated = b.Y1.mean(axis=0)
    effect = f.effects[0]
    pre, post = float(f.pre_rmspe[0]), float(f.post_rmspe[0])
    weights = pd.DataFrame({design.unit: b.donors, "weight": f.omega[0]})
    facts = {
        "noise_level": float(f.noise[0]),
        "zeta_omega": float(f.zeta_omega[0]),
        "zeta_lambda": float(f.zeta_lambda[0]),
        "fw_iterations": int(f.iterations[0]),
        "n_positive_weights": int((f.omega[0] > 0).sum()),
    }
    if f.v is not None:
        facts["v"] = tuple(float(x) for x in f.v[0])
    return SyntheticFit(
        outcome=design.outcome,
        method=method,
        est_method=EST_METHODS[(method, sc_fit)],
        cohort=int(b.periods[b.n_pre]),
        estimate=float(f.estimate[0]),
        n_treated=len(b.treated),
        n_donors=len(b.donors),
        n_pre=b.n_pre,
        n_post=len(b.periods) - b.n_pre,
        pre_rmspe=pre,
        post_rmspe=post,
        rmspe_ratio=_ratio(np.array([post]), np.array([pre]))[0],
        unit_weights=weights.sort_values("weight", ascending=False, kind="stable").reset_index(
            drop=True
        ),
        time_weights=pd.DataFrame({design.time: b.periods[: b.n_pre], "weight": f.lam[0]}),
        path=pd.DataFrame(
            {
                "time": b.periods,
                "post": np.arange(len(b.periods)) >= b.n_pre,
                "treated": treated,
                "synthetic": treated - effect,
                "effect": effect,
            }
        ),
        donor_pool=donor_pool,
        n_dropped=b.n_dropped,
        dropped_reason=b.dropped_reason,
        facts=facts,
        block=b,
    )


def _ratio(post: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """Post/pre RMSPE ratio; infinite for a perfect pre-period fit with any post gap."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pre > 0, post / pre, np.where(post > 0, np.inf, 0.0))


# -- inference for few partnered units ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PlaceboTest:
    """Placebo in space: the observed statistic ranked among donors treated in turn.

    ``placebos`` has one row per assignment (``units``: the donors treated, ``estimate``,
    ``pre_rmspe``, ``post_rmspe``, ``rmspe_ratio``, ``statistic``). ``p_value`` = (1 +
    #{placebo statistic >= observed}) / (1 + ``n_placebos``); ``min_p_value`` is the smallest it
    can be. ``exact``: every one of the ``n_assignments`` sets was computed; otherwise
    ``n_placebos`` distinct sets were drawn with ``seed``. ``ci_low``/``ci_high``: every constant
    effect the test at level ``alpha`` does not reject (infinite when no p-value can reach
    ``alpha``; NaN with ``ci_empty`` when every effect is rejected). ``se``: the placebo
    standard error (Arkhangelsky et al. 2021, Algorithm 4), the standard deviation (divisor
    ``n_placebos``) of the placebo estimates, over every assignment when ``exact``.
    """

    statistic: str
    observed: float
    p_value: float
    min_p_value: float
    n_assignments: int
    n_placebos: int
    exact: bool
    seed: int
    alpha: float
    ci_low: float
    ci_high: float
    ci_empty: bool
    se: float
    placebos: pd.DataFrame
    fingerprint: str = field(default="", compare=False, repr=False)

    def tidy(self) -> pd.DataFrame:
        """One row per placebo assignment."""
        return self.placebos

    def __repr__(self) -> str:
        how = "exact" if self.exact else f"sampled, seed {self.seed}"
        return (
            f"PlaceboTest({self.statistic}, p={self.p_value:.3g} over {self.n_placebos} "
            f"placebos ({how}), interval ({self.ci_low:.4g}, {self.ci_high:.4g}))"
        )


def _assignments(n0: int, k: int, max_exact: int, draws: int, seed: int):
    """Sets of ``k`` donors: all of them, or ``draws`` distinct ones drawn with ``seed``."""
    total = math.comb(n0, k)
    if total <= max_exact:
        return np.array(list(itertools.combinations(range(n0), k)), dtype=np.int64), total, True
    rng = np.random.default_rng(seed)
    seen: dict[tuple, None] = {}
    while len(seen) < draws:
        seen.setdefault(tuple(sorted(rng.choice(n0, size=k, replace=False).tolist())))
    return np.array(list(seen), dtype=np.int64), total, False


def _placebo_fits(fit: SyntheticFit, sets: np.ndarray) -> tuple[np.ndarray, ...]:
    """Estimate, pre and post RMSPE of each placebo (its donors treated, the others donors)."""
    b = fit.block
    est, pre, post = (np.empty(len(sets)) for _ in range(3))
    for lo in range(0, len(sets), BATCH):
        s = sets[lo : lo + BATCH]
        masks = np.ones((len(s), len(b.donors)), dtype=bool)
        np.put_along_axis(masks, s, False, axis=1)
        targets = b.Y0[s].mean(axis=1)
        synth = None
        if fit.est_method == "synth_v":
            synth = _Synth(X0=b.X0, xt=b.X0[s].mean(axis=1), fit_cols=b.fit_cols)
        f = _fit_many(b.Y0, targets, s.shape[1], masks, b.n_pre, fit.method, synth)
        est[lo : lo + len(s)], pre[lo : lo + len(s)] = f.estimate, f.pre_rmspe
        post[lo : lo + len(s)] = f.post_rmspe
    return est, pre, post


def _invert(fit: SyntheticFit, stats: np.ndarray, statistic: str, alpha: float):
    """Every constant effect tau0 whose test is not rejected, in closed form.

    Subtracting tau0 from the partnered units' post-period outcomes moves the estimate and
    every post effect by tau0 and changes neither the weights (fitted on donors and on
    pre-periods) nor the placebos. The test accepts tau0 when at least m placebo statistics are
    at least its statistic, m = floor(alpha (n + 1) - 1) + 1: for ``"effect"``, |estimate -
    tau0| <= q, q the m-th largest |placebo estimate|; for ``"rmspe_ratio"``, (estimate -
    tau0)^2 + var(post effects) <= (q pre_rmspe)^2.
    """
    n = len(stats)
    m = math.floor(alpha * (n + 1) + 1e-9 - 1) + 1
    if m <= 0:
        return -np.inf, np.inf, False
    q = np.sort(stats)[::-1][m - 1]
    if statistic == "effect":
        return fit.estimate - q, fit.estimate + q, False
    post = fit.path.loc[fit.path["post"], "effect"].to_numpy()
    half2 = (q * fit.pre_rmspe) ** 2 - np.var(post)
    if not np.isfinite(half2) or half2 < 0:
        return (np.nan, np.nan, True) if np.isfinite(half2) else (-np.inf, np.inf, False)
    return fit.estimate - np.sqrt(half2), fit.estimate + np.sqrt(half2), False


def placebo_test(
    fit: SyntheticFit,
    *,
    statistic: PlaceboStatistic = "rmspe_ratio",
    max_exact: int = MAX_EXACT,
    draws: int = DEFAULT_PLACEBOS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
    reuse: PlaceboTest | None = None,
) -> PlaceboTest:
    """Placebo-in-space test and its inverted interval (Abadie, Diamond and Hainmueller 2010).

    Abadie, A., Diamond, A. and Hainmueller, J. (2010), JASA 105(490), 493-505, section 2.4:
    each set of ``fit.n_treated`` donors is treated in turn and fitted, by the same estimator,
    on the other donors (the partnered units left out). Firpo, S. and Possebom, V. (2018),
    "Synthetic Control Method: Inference, Sensitivity Analysis and Confidence Sets", Journal of
    Causal Inference 6(2), invert the test into a confidence set, as here for constant effects.

    Parameters
    ----------
    fit
        A :class:`SyntheticFit` from :func:`synthetic_cohort`.
    statistic
        ``"rmspe_ratio"`` (post/pre RMSPE ratio) or ``"effect"`` (absolute estimate).
    max_exact
        Every assignment is computed when there are at most this many (C(donors, treated)).
    draws, seed
        Otherwise, ``draws`` distinct assignments drawn by ``np.random.default_rng(seed)``.
    alpha
        Level of the test whose acceptance region is the interval.
    reuse
        The placebos of an earlier test of the same donors, periods and estimator (another
        statistic, or the partnered units' outcomes changed after the start: neither changes a
        placebo); refused when they differ.

    Returns
    -------
    PlaceboTest
        The p-value, the interval and every placebo's fit.

    Raises
    ------
    OptionError
        A statistic outside its values, fewer than two donors left beside a placebo set, or
        more draws asked than there are assignments.
    """
    check_option("statistic", statistic, PlaceboStatistic)
    est, pre, post, units, total, exact, seed = _placebos(fit, reuse, max_exact, draws, seed)
    ratios = _ratio(post, pre)
    stats = np.abs(est) if statistic == "effect" else ratios
    observed = abs(fit.estimate) if statistic == "effect" else fit.rmspe_ratio
    at_least = stats >= observed - 1e-12 * abs(observed)
    lo, hi, empty = _invert(fit, stats, statistic, alpha)
    table = pd.DataFrame(
        {
            "units": units,
            "estimate": est,
            "pre_rmspe": pre,
            "post_rmspe": post,
            "rmspe_ratio": ratios,
            "statistic": stats,
        }
    )
    return PlaceboTest(
        statistic=statistic,
        observed=float(observed),
        p_value=float((1 + at_least.sum()) / (1 + len(stats))),
        min_p_value=1 / (1 + len(stats)),
        n_assignments=int(total),
        n_placebos=len(stats),
        exact=exact,
        seed=seed,
        alpha=alpha,
        ci_low=float(lo),
        ci_high=float(hi),
        ci_empty=bool(empty),
        se=_placebo_se(est),
        placebos=table,
        fingerprint=_fingerprint(fit),
    )


def _placebo_se(estimates: np.ndarray) -> float:
    """Placebo standard error: Arkhangelsky et al. (2021), AER 111(12), Algorithm 4.

    The square root of the variance (divisor the number of placebos, as R ``synthdid``'s
    ``sqrt((r - 1) / r) * sd(...)``) of the estimates with donors treated in the partnered
    units' place; valid when the errors are alike across units (their section 5).
    """
    return float(np.sqrt(np.mean((estimates - estimates.mean()) ** 2)))


def _placebos(fit: SyntheticFit, reuse: PlaceboTest | None, max_exact: int, draws: int, seed: int):
    """Every placebo's estimate, pre and post RMSPE and units, computed or reused.

    Also the count of assignments, whether all were computed, and the seed of the draws (0 when
    exact).
    """
    if reuse is not None:
        if reuse.fingerprint != _fingerprint(fit):
            raise OptionError(
                "reuse= is a placebo test of other donors, periods or estimator",
                key="synthetic.reuse",
            )
        t = reuse.placebos
        est, pre, post = (t[c].to_numpy() for c in ("estimate", "pre_rmspe", "post_rmspe"))
        return est, pre, post, t["units"].tolist(), reuse.n_assignments, reuse.exact, reuse.seed
    sets, total, exact = _placebo_sets(fit, max_exact, draws, seed)
    est, pre, post = _placebo_fits(fit, sets)
    units = [",".join(map(str, fit.block.donors[s])) for s in sets]
    return est, pre, post, units, total, exact, 0 if exact else int(seed)


def _placebo_sets(fit: SyntheticFit, max_exact: int, draws: int, seed: int):
    """The placebo assignments of a fit (checked: two donors left beside each set)."""
    k, n0 = fit.n_treated, fit.n_donors
    if n0 - k < 2:
        raise OptionError(
            f"{n0} donors leave fewer than 2 beside a placebo set of {k}",
            key="synthetic.few_donors",
            n0=n0,
            k=k,
        )
    if math.comb(n0, k) > max_exact and draws > math.comb(n0, k):
        raise OptionError(
            f"draws={draws} exceeds the {math.comb(n0, k)} assignments",
            key="synthetic.draws_exceed",
            draws=draws,
            total=math.comb(n0, k),
        )
    return _assignments(n0, k, max_exact, draws, seed)


def _fingerprint(fit: SyntheticFit) -> str:
    """What the placebos of a fit depend on: estimator, cohort size, periods and donors' data."""
    b = fit.block
    h = hashlib.sha256(f"{fit.method}|{fit.est_method}|{fit.n_treated}|{b.n_pre}|".encode())
    h.update(np.ascontiguousarray(b.Y0).tobytes())
    h.update(",".join(map(str, b.donors)).encode())
    if b.X0 is not None:
        h.update(np.ascontiguousarray(b.X0).tobytes() + np.asarray(b.fit_cols).tobytes())
    return h.hexdigest()


@dataclass(frozen=True, kw_only=True)
class LeaveOneOut:
    """The estimate with each donor of positive weight left out in turn.

    ``estimates``: one row per donor left out (the unit, its ``weight`` in the fit, the
    ``estimate`` and ``pre_rmspe`` without it); ``low``/``high``: their range.
    """

    estimates: pd.DataFrame
    low: float
    high: float

    def tidy(self) -> pd.DataFrame:
        """One row per donor left out."""
        return self.estimates


def leave_one_out(fit: SyntheticFit, *, min_weight: float = 1e-6) -> LeaveOneOut:
    """Leave-one-out over donors (Abadie, Diamond and Hainmueller 2015, section 4).

    Abadie, A., Diamond, A. and Hainmueller, J. (2015), "Comparative Politics and the Synthetic
    Control Method", American Journal of Political Science 59(2), 495-510: the fit is repeated
    without each donor whose weight exceeds ``min_weight`` (every donor for ``"did"``), the
    weights refitted on the others.

    Parameters
    ----------
    fit
        A :class:`SyntheticFit` from :func:`synthetic_cohort`.
    min_weight
        Donors with a weight up to this are not left out (leaving them out changes little).

    Returns
    -------
    LeaveOneOut
        The estimates without each donor and their range.
    """
    b, unit = fit.block, fit.unit_weights.columns[0]
    w = fit.unit_weights.set_index(unit)["weight"].reindex(b.donors).to_numpy()
    out = np.flatnonzero(w > min_weight)
    if len(b.donors) - 1 < 2 or not len(out):
        empty = pd.DataFrame({unit: [], "weight": [], "estimate": [], "pre_rmspe": []})
        return LeaveOneOut(estimates=empty, low=np.nan, high=np.nan)
    est, pre = np.empty(len(out)), np.empty(len(out))
    for lo in range(0, len(out), BATCH):
        s = out[lo : lo + BATCH]
        masks = np.ones((len(s), len(b.donors)), dtype=bool)
        masks[np.arange(len(s)), s] = False
        targets = np.repeat(b.Y1.mean(axis=0)[None, :], len(s), axis=0)
        synth = None
        if fit.est_method == "synth_v":
            synth = _Synth(
                X0=b.X0, xt=np.repeat(b.X1.mean(axis=0)[None], len(s), 0), fit_cols=b.fit_cols
            )
        f = _fit_many(b.Y0, targets, fit.n_treated, masks, b.n_pre, fit.method, synth)
        est[lo : lo + len(s)], pre[lo : lo + len(s)] = f.estimate, f.pre_rmspe
    table = pd.DataFrame({unit: b.donors[out], "weight": w[out], "estimate": est, "pre_rmspe": pre})
    table = table.sort_values("weight", ascending=False, kind="stable").reset_index(drop=True)
    return LeaveOneOut(estimates=table, low=float(est.min()), high=float(est.max()))


@dataclass(frozen=True, kw_only=True)
class FewDesa:
    """A few-desa comparison: the fit, its placebo test and leave-one-out, and the estimate row."""

    estimate: Estimate
    fit: SyntheticFit
    placebo: PlaceboTest
    leave_one_out: LeaveOneOut | None

    def tidy(self) -> pd.DataFrame:
        """The estimate as one row of the results table (``results.COLUMNS``)."""
        return self.estimate.tidy()


def few_desa(
    df: pd.DataFrame,
    design: Design,
    *,
    method: SyntheticMethod = "synthetic_did",
    cohort: int | None = None,
    last_year: int | None = None,
    donor_pool: tuple[DonorRestriction, ...] = DEFAULT_DONOR_POOL,
    sc_fit: SCFit = "outcomes",
    predictors: tuple[Predictor, ...] = (),
    fit_years: tuple[int, ...] | None = None,
    statistic: PlaceboStatistic = "rmspe_ratio",
    max_exact: int = MAX_EXACT,
    draws: int = DEFAULT_PLACEBOS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
    with_leave_one_out: bool = True,
    interval: FewDesaInterval = "placebo_test_inversion",
    placebo_cache: dict | None = None,
) -> tuple[Result, FewDesa | None]:
    """One cohort of a few partnered desa: estimate, placebo-in-space inference, leave-one-out.

    :func:`synthetic_cohort`, then :func:`placebo_test` and :func:`leave_one_out` (see them for
    the papers). By ``interval``, the estimate row reports either the placebo p-value and the
    inverted interval (``ci_method="placebo_test_inversion"``; no ``se``, the placebo standard
    error in ``facts["placebo_se"]``) or the placebo standard error of Arkhangelsky et al.
    (2021), Algorithm 4, as its ``se`` (``se_type="placebo"``) with the normal p-value and
    interval estimate +- z se (``ci_method="placebo_variance"``, as R synthdid's
    ``vcov(method = "placebo")`` is used); ``facts`` keeps the placebo test's p-value and
    interval either way.

    Parameters
    ----------
    df, design
        The desa-year panel (with ``g``) and its column roles.
    method, cohort, last_year, donor_pool, sc_fit, predictors, fit_years
        As :func:`synthetic_cohort`.
    statistic, max_exact, draws, seed, alpha
        As :func:`placebo_test`.
    with_leave_one_out
        Also refit without each donor of positive weight.
    interval
        ``"placebo_test_inversion"`` (default) or ``"placebo_variance"`` (see above).
    placebo_cache
        A dict kept by the caller across calls: placebos are computed once per donors' data,
        periods, estimator, cohort size, ``max_exact``, ``draws`` and ``seed`` (they do not
        depend on the partnered desa), e.g. for subgroups compared with the same donors.

    Returns
    -------
    tuple
        The :class:`Estimate` and the :class:`FewDesa`; or a ``NotEstimable`` and None (the
        reasons of :func:`synthetic_cohort`, or ``too_few_donors`` for a placebo test).
    """
    check_option("statistic", statistic, PlaceboStatistic)
    check_option("interval", interval, FewDesaInterval)
    fit = synthetic_cohort(
        df, design, method=method, cohort=cohort, last_year=last_year, donor_pool=donor_pool,
        sc_fit=sc_fit, predictors=predictors, fit_years=fit_years,
    )  # fmt: skip
    if isinstance(fit, NotEstimable):
        return fit, None
    if fit.n_donors - fit.n_treated < 2:
        said = {"outcome": design.outcome, "method": method, "estimand": ESTIMANDS[method]}
        detail = f"{fit.n_donors} donors for {fit.n_treated} partnered"
        return NotEstimable(**said, reason="too_few_donors", detail=detail,
                            n_treated=fit.n_treated, n_control=fit.n_donors), None  # fmt: skip
    key = (_fingerprint(fit), max_exact, draws, seed)
    cached = placebo_cache.get(key) if placebo_cache is not None else None
    test = placebo_test(
        fit, statistic=statistic, max_exact=max_exact, draws=draws, seed=seed, alpha=alpha,
        reuse=cached,
    )  # fmt: skip
    if placebo_cache is not None:
        placebo_cache.setdefault(key, test)
    loo = leave_one_out(fit) if with_leave_one_out else None
    est = _few_estimate(fit, test, loo, interval)
    return est, FewDesa(estimate=est, fit=fit, placebo=test, leave_one_out=loo)


def _few_interval(fit: SyntheticFit, test: PlaceboTest, interval: str) -> dict:
    """The interval and p-value fields of the estimate row, by ``interval``."""
    if interval == "placebo_test_inversion":  # no SE on the row: its interval uses none
        return {"ci_low": test.ci_low, "ci_high": test.ci_high, "p_value": test.p_value}
    z = float(stats.norm.ppf(1 - test.alpha / 2))
    half = z * test.se
    p = float(2 * stats.norm.sf(abs(fit.estimate) / test.se)) if test.se > 0 else np.nan
    return {
        "ci_low": fit.estimate - half,
        "ci_high": fit.estimate + half,
        "p_value": p,
        "crit_value": z,
        "se": test.se,
        "se_type": "placebo",
    }


def _few_estimate(
    fit: SyntheticFit, test: PlaceboTest, loo: LeaveOneOut | None, interval: str
) -> Estimate:
    """The few-desa comparison as an :class:`Estimate` with the facts of how it was computed."""
    return Estimate(
        outcome=fit.outcome,
        method=fit.method,
        estimand=ESTIMANDS[fit.method],
        estimate=fit.estimate,
        **{"se": np.nan, **_few_interval(fit, test, interval)},
        n_treated=fit.n_treated,
        n_control=fit.n_donors,
        est_method=fit.est_method,
        control_group="nevertreated",
        ci_method=interval,
        n_dropped=fit.n_dropped,
        dropped_reason=fit.dropped_reason,
        facts={
            "cohort": fit.cohort,
            "donor_pool": ",".join(fit.donor_pool),
            "n_pre": fit.n_pre,
            "n_post": fit.n_post,
            "pre_rmspe": fit.pre_rmspe,
            "rmspe_ratio": fit.rmspe_ratio,
            "placebo_statistic": test.statistic,
            "n_placebos": test.n_placebos,
            "placebo_exact": test.exact,
            "seed": test.seed,
            "min_p_value": test.min_p_value,
            "placebo_p_value": test.p_value,
            "placebo_se": test.se,
            "placebo_ci_low": test.ci_low,
            "placebo_ci_high": test.ci_high,
            "ci_empty": test.ci_empty,
            "loo_low": loo.low if loo is not None else np.nan,
            "loo_high": loo.high if loo is not None else np.nan,
        },
    )
