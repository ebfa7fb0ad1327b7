"""An evaluation fixed before its outcome exists: weights from the baseline only, applied later.

The synthetic difference-in-differences of Arkhangelsky, D., Athey, S., Hirshberg, D. A.,
Imbens, G. W. and Wager, S. (2021), "Synthetic Difference-in-Differences", American Economic
Review 111(12), 4088-4118, fits its unit weights on pre-period outcomes only (eq. 2.2), but its
time weights regress the donors' post-period outcomes on their pre-period ones (eq. 2.3), so
they cannot be fixed before the follow-up exists. A plan therefore fixes

* the unit weights omega by eq. (2.2) (intercept, ridge penalty zeta = (N_tr T_post)^(1/4)
  sigma, sigma the donors' first differences as R ``synthdid``) on the baseline rows, with
  T_post = 1 (one judged year). The objective is strongly convex, so it has one minimum; it is
  solved to it by accelerated projected gradient (Nesterov, Y. 2004, "Introductory Lectures on
  Convex Optimization", section 2.2; the simplex projection of Duchi, J., Shalev-Shwartz, S.,
  Singer, Y. and Chandra, T. 2008, ICML), for every placebo set at once: Frank-Wolfe, R's
  solver, needs its 10,000 iterations on almost every problem here;
* the time weights as all weight on the outcome's baseline year (the last year before the
  agreements count), a choice made in advance instead of eq. (2.3);
* a placebo in space (Abadie, A., Diamond, A. and Hainmueller, J. 2010, JASA 105(490),
  493-505, section 2.4): for each set of as many donors as there are partnered desa, weights
  fitted the same way on the other donors, also from the baseline only.

The estimate for a follow-up year t is tau = (mean_tr y_t - mean_tr y_base) - sum_j omega_j
(y_jt - y_j,base); the test ranks |tau| among the placebos' |tau| (p = (1 + #{|placebo| >=
|tau|}) / (1 + placebos)); the interval collects the constant effects the test does not reject
(Firpo, S. and Possebom, V. 2018, "Synthetic Control Method: Inference, Sensitivity Analysis
and Confidence Sets", Journal of Causal Inference 6(2)), tau -/+ q with q the m-th largest
|placebo|, m = floor(alpha (placebos + 1)).

The minimum detectable effect is read off a back-test on the baseline: the same procedure one
year earlier (weights on the baseline rows before the last one, the last one as a pretend
follow-up) gives the placebo estimates of one year's change without any effect; the MDE is
the smallest constant effect the test at ``alpha`` would detect with probability ``power``
against that distribution (Bloom, H. S. 1995, "Minimum Detectable Effects", Evaluation Review
19(5), 547-556, with the placebo distribution in place of the normal one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.errors import OptionError
from analysis.methods.synthetic import MAX_EXACT, _assignments, _noise

#: The judged follow-up counts as one post-period in the ridge penalty.
PLANNED_POST_PERIODS = 1
#: Power at which the minimum detectable effect is stated.
DEFAULT_POWER = 0.8
#: What a result reads as (the decision rule's outcomes).
DECISIONS = ("increase", "decrease", "no_detectable_change")


@dataclass(frozen=True, kw_only=True)
class PlannedWeights:
    """Unit weights from the baseline: the main fit's and every placebo set's.

    ``omega``: one weight per donor (sums to 1); ``sets``: placebo sets (rows of donor
    indices); ``placebo_omega``: their weights (sets x donors, zero on the set itself);
    ``noise``: sigma; ``zeta``: the ridge penalty of the main fit; ``pre_rmspe``: the main
    fit's root mean squared gap on the baseline rows after the intercept; ``exact``: every set
    was used; ``n_assignments``: how many sets there are.
    """

    omega: np.ndarray
    sets: np.ndarray
    placebo_omega: np.ndarray
    noise: float
    zeta: float
    pre_rmspe: float
    exact: bool
    n_assignments: int


#: Accelerated projected gradient: stop when no weight moves by more than this.
TOL = 1e-12
MAX_ITER = 20_000


def _project_simplex(v: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Each row of ``v`` projected onto the simplex of its allowed entries (Duchi et al. 2008)."""
    v = np.where(allowed, v, -np.inf)
    u = -np.sort(-v, axis=1)
    css = np.cumsum(np.where(np.isfinite(u), u, 0.0), axis=1) - 1
    j = np.arange(1, v.shape[1] + 1)
    ok = np.isfinite(u) & (u - css / j > 0)
    rho = v.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    theta = css[np.arange(len(v)), rho] / (rho + 1)
    return np.where(allowed, np.maximum(v - theta[:, None], 0.0), 0.0)


def simplex_ridge(A: np.ndarray, B: np.ndarray, eta: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Minimise over the simplex |A x - b_p|^2 + eta_p |x|^2, for every row b_p of ``B``.

    Nesterov's accelerated projected gradient for strongly convex objectives (momentum
    (sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu)), step 1/L), ``allowed`` fixing which entries
    each problem may use; stops when no entry moves by more than :data:`TOL`.
    """
    lmax = float(np.linalg.eigvalsh(A.T @ A)[-1]) if A.size else 0.0
    L, mu = 2 * (lmax + eta), 2 * eta
    beta = ((np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu)))[:, None]
    x = allowed / allowed.sum(axis=1, keepdims=True)
    y, AtB = x.copy(), B @ A
    for _ in range(MAX_ITER):
        grad = 2 * ((y @ A.T) @ A - AtB + eta[:, None] * y)
        new = _project_simplex(y - grad / L[:, None], allowed)
        y = new + beta * (new - x)
        done = np.abs(new - x).max() <= TOL
        x = new
        if done:
            break
    return x


def _unit_weights(
    Y0: np.ndarray, targets: np.ndarray, masks: np.ndarray, diff_block: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. (2.2) of Arkhangelsky et al. (2021) for each target row; sigma from ``diff_block``.

    Every path is demeaned over the baseline rows (the intercept); the penalty is rows x
    zeta^2 |omega|^2, as R synthdid's ``sc.weight.fw`` scales it.
    """
    noise = _noise(diff_block, masks)
    zeta = (k * PLANNED_POST_PERIODS) ** 0.25 * noise
    A = Y0.T - Y0.T.mean(axis=0)
    B = targets - targets.mean(axis=1, keepdims=True)
    omega = simplex_ridge(A, B, A.shape[0] * zeta**2, masks)
    return omega, noise, zeta


def fit_planned_weights(
    Y0: np.ndarray,
    Y1: np.ndarray,
    diff_block: np.ndarray,
    *,
    draws: int,
    seed: int,
    max_exact: int = MAX_EXACT,
    batch: int = 256,
) -> PlannedWeights:
    """Unit weights of the partnered desa and of every placebo set, from baseline rows only.

    Parameters
    ----------
    Y0, Y1
        Donors x baseline rows and partnered desa x baseline rows (no missing values).
    diff_block
        Donors x years of one series whose first differences give sigma (Arkhangelsky et al.
        2021, section 4.1: the standard deviation of the donors' first differences).
    draws, seed, max_exact
        Placebo sets: every set of ``len(Y1)`` donors when there are at most ``max_exact``,
        otherwise ``draws`` distinct sets drawn by ``np.random.default_rng(seed)``.

    Raises
    ------
    OptionError
        Fewer than two baseline rows or a series of fewer than two years (no sigma), or fewer
        than two donors beside a placebo set.
    """
    n0, k = len(Y0), len(Y1)
    if Y0.shape[1] < 2 or diff_block.shape[1] < 2:
        raise OptionError(
            "the weights need at least two baseline rows and a series of two years or more",
            key="plan_too_few_rows",
        )
    if n0 - k < 2:
        raise OptionError(
            f"{n0} comparison desa leave fewer than 2 beside a placebo set of {k}",
            key="plan_too_few_beside_placebo",
            n=n0,
            k=k,
        )
    main_mask = np.ones((1, n0), dtype=bool)
    omega, noise, zeta = _unit_weights(Y0, Y1.mean(axis=0)[None, :], main_mask, diff_block, k)
    sets, total, exact = _assignments(n0, k, max_exact, min(draws, math.comb(n0, k)), seed)
    pw = np.empty((len(sets), n0))
    for lo in range(0, len(sets), batch):
        s = sets[lo : lo + batch]
        masks = np.ones((len(s), n0), dtype=bool)
        np.put_along_axis(masks, s, False, axis=1)
        pw[lo : lo + len(s)], _, _ = _unit_weights(Y0, Y0[s].mean(axis=1), masks, diff_block, k)
    gap = Y1.mean(axis=0) - omega[0] @ Y0
    return PlannedWeights(
        omega=omega[0],
        sets=sets,
        placebo_omega=pw,
        noise=float(noise[0]),
        zeta=float(zeta[0]),
        pre_rmspe=float(np.sqrt(np.mean((gap - gap.mean()) ** 2))),
        exact=bool(exact),
        n_assignments=int(total),
    )


def planned_estimates(
    omega: np.ndarray, sets: np.ndarray, placebo_omega: np.ndarray, change: np.ndarray, k_rows
) -> tuple[float, np.ndarray]:
    """The estimate and the placebo estimates from each desa's change since the baseline.

    ``change``: donors' changes (y_t - y_base); ``k_rows``: the partnered desa's changes. A
    placebo's estimate is the mean change of its set minus its weighted donors' change.
    """
    tau = float(np.mean(k_rows) - omega @ change)
    placebo = change[sets].mean(axis=1) - placebo_omega @ change
    return tau, placebo


def placebo_inference(tau: float, placebo: np.ndarray, alpha: float) -> dict:
    """p-value of |tau| among the placebos' |tau| and the interval the test does not reject.

    Returns ``p_value``, ``min_p_value``, ``ci_low``, ``ci_high`` (infinite when no p-value can
    reach ``alpha``), ``critical`` (q) and ``n_placebos``.
    """
    a = np.abs(placebo)
    n = len(a)
    at_least = int((a >= abs(tau) - 1e-12 * abs(tau)).sum())
    m = math.floor(alpha * (n + 1) + 1e-9 - 1) + 1
    q = float(np.sort(a)[::-1][m - 1]) if m > 0 else math.inf
    return {
        "p_value": (1 + at_least) / (1 + n),
        "min_p_value": 1 / (1 + n),
        "ci_low": tau - q,
        "ci_high": tau + q,
        "critical": q,
        "n_placebos": n,
    }


def minimum_detectable_effect(
    placebo: np.ndarray, alpha: float, power: float = DEFAULT_POWER
) -> dict:
    """The smallest constant effect the placebo test detects with probability ``power``.

    With placebo estimates e of a world without effect and q their critical |e| at ``alpha``,
    an effect delta is detected when |delta + e| > q; the MDE is the smallest delta >= 0 with
    share(|delta + e| > q) >= ``power`` (solved over the breakpoints q -/+ e).

    Returns ``mde``, ``critical`` (q), ``n_placebos``, ``sd`` (of e), ``power``, ``alpha``;
    ``mde`` is infinite when the test can never reject at ``alpha``.
    """
    e = np.asarray(placebo, dtype=float)
    n = len(e)
    m = math.floor(alpha * (n + 1) + 1e-9 - 1) + 1
    out = {"n_placebos": n, "sd": float(np.std(e, ddof=1)) if n > 1 else math.nan}
    out |= {"power": power, "alpha": alpha}
    if m <= 0:
        return out | {"mde": math.inf, "critical": math.inf}
    q = float(np.sort(np.abs(e))[::-1][m - 1])
    candidates = np.unique(np.concatenate([[0.0], q - e, -q - e]))
    candidates = candidates[candidates >= 0]
    for d in candidates:
        for x in (d, np.nextafter(d, np.inf)):
            if np.mean(np.abs(x + e) > q) >= power:
                return out | {"mde": float(x), "critical": q}
    return out | {"mde": math.inf, "critical": q}


def decide(tau: float, p_value: float, alpha: float) -> str:
    """The decision rule: ``increase``/``decrease`` when p <= alpha, else no detectable change."""
    if p_value <= alpha:
        return "increase" if tau > 0 else "decrease"
    return "no_detectable_change"
