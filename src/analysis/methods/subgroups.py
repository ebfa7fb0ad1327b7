"""Differences between subgroups (partner types, sectors), tested and adjusted together.

A subgroup's estimate beside another's is not a test of their difference (Gelman & Stern 2006,
"The difference between 'significant' and 'not significant' is not itself statistically
significant"). Each pair of estimated subgroups of one dimension is compared by the difference of
their ATTs with the standard error ``sqrt(se_a**2 + se_b**2)`` (Altman & Bland 2003, "Interaction
revisited: the difference between two estimates", BMJ 326:219), and the p-values of all pairs of
the dimension are adjusted by Holm's (1979) step-down method (statsmodels ``multipletests``), which
holds the chance of any false "difference" at 5% under any dependence between the pairs. The
subgroups are compared with the same never- (or not-yet-) partnered desa, so their estimates are
positively correlated; ignoring that covariance overstates the standard error of a difference,
which makes the test conservative (it finds a difference less often, never more).

Subgroups of a few desa estimated by the few-desa comparison (column ``few_desa``, synthetic DiD
with placebo inference) are left out of the pairs: their standard error is the placebo one
(Arkhangelsky et al. 2021, Algorithm 4), whose normal approximation is not calibrated for a
difference, and they have no pre-period test, so no difference with them could be
"pre-checked" (``n_few_desa`` counts them per dimension).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

#: The adjustment of the pairwise differences (statsmodels ``multipletests`` method).
DIFFERENCE_ADJUSTMENT = "holm"
#: Level at which a difference counts as established.
DIFFERENCE_ALPHA = 0.05
PAIR_COLUMNS = [
    "dimension",
    "group_a",
    "group_b",
    "difference",
    "se",
    "p_value",
    "p_adjusted",
    "pre_checked",
]


@dataclass(frozen=True, kw_only=True)
class SubgroupComparison:
    """Pairwise differences of the estimated subgroups of each dimension, Holm-adjusted.

    Attributes
    ----------
    pairs
        One row per pair (:data:`PAIR_COLUMNS`): ``difference`` = ATT of ``group_a`` minus ATT
        of ``group_b``, its ``se``, ``p_value`` (normal), ``p_adjusted`` (Holm, within the
        dimension) and ``pre_checked``: both groups had their own pre-period test, neither
        rejected, and neither has a pre-period gap larger than its estimate (columns ``n_pre_points``, ``pretrend_p``, ``pretrend_rejects`` of ``het``).
    n_estimated
        Subgroups per dimension (``jenis_mitra``, ``sektor``) estimated by the headline
        estimator, the ones compared.
    established
        Per dimension with at least two estimated subgroups: whether some pair's adjusted
        p-value is below :data:`DIFFERENCE_ALPHA` *and* the pair is ``pre_checked``. A
        difference between two groups whose own earlier trends were not checked (or differed)
        may continue a difference from before the partnerships, so it is not established.
    unchecked
        Per dimension: whether some pair passes the adjusted test but is not ``pre_checked``.
    adjustment
        The adjustment used (``"holm"``).
    n_few_desa
        Per dimension: subgroups with a few-desa estimate, not compared (module docstring).
    """

    pairs: pd.DataFrame
    n_estimated: dict
    established: dict
    unchecked: dict = field(default_factory=dict)
    adjustment: str = DIFFERENCE_ADJUSTMENT
    n_few_desa: dict = field(default_factory=dict)

    def tested(self, dimension: str) -> bool:
        """Whether the dimension had at least two estimated subgroups to compare."""
        return dimension in self.established

    def not_established(self, dimension: str) -> bool:
        """True when the subgroups of ``dimension`` were compared and no pair passes the test."""
        return (
            self.tested(dimension)
            and not self.established[dimension]
            and not self.unchecked.get(dimension, False)
        )

    def tidy(self) -> pd.DataFrame:
        """The pairs."""
        return self.pairs


def compare_subgroups(het: pd.DataFrame) -> SubgroupComparison:
    """Test the differences between the estimated subgroups of each dimension.

    Parameters
    ----------
    het
        From :func:`analysis.district.estimate_heterogeneity` (columns ``dimension``,
        ``group``, ``estimate``, ``se``, ``estimable``).

    Returns
    -------
    SubgroupComparison
        The pairs with Holm-adjusted p-values and, per dimension, whether a difference is
        established.

    Examples
    --------
    >>> het = pd.DataFrame({"dimension": ["jenis_mitra"] * 2, "group": ["a", "b"],
    ...                     "estimate": [0.02, -0.01], "se": [0.01, 0.012], "estimable": True})
    >>> c = compare_subgroups(het)
    >>> round(float(c.pairs["difference"].iloc[0]), 3), c.established["jenis_mitra"]
    (0.03, False)
    """
    rows, n_est, established, unchecked, n_few = [], {}, {}, {}, {}
    few = _few_desa_rows(het)
    if len(het):
        ok = het[het["estimable"].astype(bool) & np.isfinite(het["se"].astype(float)) & ~few]
    else:
        ok = het
    for dim in dict.fromkeys(het["dimension"]) if len(het) else ():
        sub = ok[ok["dimension"] == dim]
        n_est[dim] = int(len(sub))
        n_few[dim] = int((few & (het["dimension"] == dim) & het["estimable"].astype(bool)).sum())
        pairs = []
        for (_, a), (_, b) in combinations(sub.iterrows(), 2):
            diff = float(a["estimate"]) - float(b["estimate"])
            se = float(np.hypot(float(a["se"]), float(b["se"])))
            p = float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else 1.0
            pairs.append([dim, a["group"], b["group"], diff, se, p, _pre_ok(a) and _pre_ok(b)])
        if not pairs:
            continue
        p_adj = multipletests([r[5] for r in pairs], method=DIFFERENCE_ADJUSTMENT)[1]
        rows += [[*r[:6], float(q), r[6]] for r, q in zip(pairs, p_adj, strict=True)]
        passed = p_adj < DIFFERENCE_ALPHA
        checked = np.array([r[6] for r in pairs], dtype=bool)
        established[dim] = bool((passed & checked).any())
        unchecked[dim] = bool((passed & ~checked).any())
    return SubgroupComparison(
        pairs=pd.DataFrame(rows, columns=PAIR_COLUMNS),
        n_estimated=n_est,
        established=established,
        unchecked=unchecked,
        n_few_desa=n_few,
    )


def _few_desa_rows(het: pd.DataFrame) -> pd.Series:
    """Rows estimated by the few-desa comparison (False where the column is absent)."""
    if "few_desa" not in het:
        return pd.Series(False, index=het.index)
    return het["few_desa"].fillna(False).astype(bool)


def _pre_ok(row: pd.Series) -> bool:
    """Whether the subgroup passed its own pre-period check, as the headline must.

    It had a pre-period test, the test did not reject, and no pre-period gap is larger than
    the subgroup's estimate.
    """
    try:
        p = float(row.get("pretrend_p", np.nan))
    except (TypeError, ValueError):
        return False
    points = row.get("n_pre_points", 0)
    gap = float(row.get("pre_max_abs", np.nan))
    larger = bool(np.isfinite(gap)) and gap > abs(float(row.get("estimate", np.nan)))
    passed = bool(np.isfinite(p)) and not bool(row.get("pretrend_rejects", True))
    return bool(points) and passed and not larger  # the headline's rule, district._grade


__all__ = ["DIFFERENCE_ADJUSTMENT", "DIFFERENCE_ALPHA", "SubgroupComparison", "compare_subgroups"]
