"""Result types shared by every estimator: one tidy row per estimate, or a typed "not estimable".

Every estimator returns :class:`Estimate` or :class:`NotEstimable`; :func:`to_frame` turns a list
of them into the one table shape that notebooks, briefs and the cross-district synthesis read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

COLUMNS = [
    "outcome",
    "method",
    "estimand",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n_treated",
    "n_control",
    "estimable",
    "reason",
    "notes",
    "district",
    # facts about how the estimate was computed (no prose: the report layer words them)
    "est_method",
    "control_group",
    "se_type",
    "cluster",
    "n_clusters",
    "ci_method",
    "crit_value",
    "se_analytic",
    "ci_low_analytic",
    "ci_high_analytic",
    "p_value_analytic",
    "n_dropped",
    "dropped_reason",
    # for researchers (English identifiers, stable): the facts of an estimate as key=value, and
    # the estimator's detail of a result that was not estimated
    "facts",
    "detail",
]

#: The fact columns of :data:`COLUMNS` that a result's note words (typed, never prose), in
#: the order the note gives them.
FACT_FIELDS = (
    "est_method",
    "control_group",
    "se_type",
    "cluster",
    "n_clusters",
    "ci_method",
    "n_dropped",
    "dropped_reason",
)

#: Reasons a comparison is not estimable: the codes (``reason`` column, ``NotEstimable.reason``)
#: with an English gloss for researchers' logs and ``NotEstimable.message``. Pages and the
#: ``notes`` column of a run's ``results.csv`` word the codes from the language catalogs
#: (``reason.<code>`` in ``analysis/report/locale``), never from this dict.
REASONS = {
    "too_few_treated": "too few partnered desa to compare",
    "no_evaluated_cohort": "no partnered desa started within the outcome years",
    "too_few_pre_periods": "fewer than two years of data before the partnerships started",
    "ci_unbounded": "the placebo test cannot bound the size of the difference",
    "no_control": "no comparison desa",
    "no_overlap": "partnered and other desa are too different to compare (no overlap)",
    "no_pre_period": "no outcome year before the partnerships started",
    "constant_outcome": "the outcome does not vary",
    "too_recent": "the partnerships started after the last outcome year",
    "no_desa": "the district has no desa (only kelurahan)",
    "no_data": "no outcome data for this district",
    "too_few_districts": "too few districts with an estimate to pool",
    "too_few_clusters": "the partnered desa lie in too few kecamatan to compare",
    "too_few_can_move_up": "too few evaluated partnered desa can still move up a status band",
    "no_event_pre_period": "no event-study point before the start to check earlier trends",
    "too_few_far_comparison": "too few comparison desa lie beyond the radius to compare",
    "too_few_near": "too few never-partnered desa lie near partnered ones to test for spillovers",
    "no_coordinates": "no desa of the district has a usable point, so distances cannot be measured",
    "too_few_donors": "too few comparison desa for a placebo test of the partnered desa",
}

# -- minimums below which a result is not printed, declared once ------------------------------
#: Fewest evaluated partnered desa for a "strong" grade (``Specification.min_evaluated``).
MIN_EVALUATED = 10
#: Fewest evaluated partnered desa in a subgroup (partner type, sector) for its estimate, and
#: fewest kecamatan they lie in (``Specification.min_subgroup_desa`` / ``min_subgroup_clusters``);
#: below either the row reads ``too_few_treated`` / ``too_few_clusters``.
MIN_SUBGROUP_DESA = 5
MIN_SUBGROUP_CLUSTERS = 5
#: Fewest evaluated partnered desa that can still move up a status band (not Mandiri in their
#: first year) for the status-upgrade outcome ``naik_status`` (``Specification.min_can_move_up``);
#: below it the row reads ``too_few_can_move_up``. With fewer than 10 desa one desa moves the
#: share by more than 10 points, and the minimum is the one of a "strong" grade.
MIN_CAN_MOVE_UP = 10
#: Fewest event-study points before the start (event time < 0) for the pre-period check of the
#: event study; without one the figure and the check read ``no_event_pre_period``.
MIN_PRE_PERIODS = 1


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """One estimate with its uncertainty and the facts of how it was computed.

    Fact fields (typed, never prose): ``est_method`` (e.g. ``"dr"``, ``"reg"``, ``"ipw"``,
    ``"ols"``), ``control_group``, ``se_type`` (``"influence_function"``, ``"CRV1"``, ``"HC1"``,
    ``"iid"``, ``"abadie_imbens"``), ``cluster`` and ``n_clusters``, ``ci_method``
    (``"normal"``, ``"t"`` = Student t with G - 1 df, ``"multiplier_bootstrap"``,
    ``"multiplier_bootstrap_t_floor"`` = the bootstrap asked for, the wider t(G - 1) bound used,
    ``"wild_cluster_bootstrap"``), ``crit_value`` (the critical value the interval used),
    the analytic results beside a bootstrap headline (``*_analytic``), ``n_dropped`` /
    ``dropped_reason`` and ``facts`` (estimator-specific numbers: trimming bounds, weight range,
    effective sample size, bootstrap draws and seed, ...).
    """

    outcome: str
    method: str
    estimand: str
    estimate: float
    se: float
    n_treated: int
    n_control: int
    ci_low: float = np.nan
    ci_high: float = np.nan
    p_value: float = np.nan
    district: str = ""
    est_method: str = ""
    control_group: str = ""
    se_type: str = ""
    cluster: str = ""
    n_clusters: int = 0
    ci_method: str = "normal"
    crit_value: float = np.nan
    se_analytic: float = np.nan
    ci_low_analytic: float = np.nan
    ci_high_analytic: float = np.nan
    p_value_analytic: float = np.nan
    n_dropped: int = 0
    dropped_reason: str = ""
    facts: dict = field(default_factory=dict, compare=False, repr=False)
    details: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if np.isnan(self.crit_value):
            if self.ci_method == "t" and self.n_clusters > 1:
                crit = float(stats.t.ppf(0.975, self.n_clusters - 1))
            else:
                crit = float(stats.norm.ppf(0.975))
            if np.isnan(self.ci_low):
                object.__setattr__(self, "crit_value", crit)
        if np.isnan(self.ci_low) and np.isfinite(self.se):
            object.__setattr__(self, "ci_low", self.estimate - self.crit_value * self.se)
            object.__setattr__(self, "ci_high", self.estimate + self.crit_value * self.se)
        if np.isnan(self.p_value) and np.isfinite(self.se) and self.se > 0:
            z = abs(self.estimate / self.se)
            p = (
                2 * stats.t.sf(z, self.n_clusters - 1)
                if self.ci_method == "t" and self.n_clusters > 1
                else 2 * stats.norm.sf(z)
            )
            object.__setattr__(self, "p_value", float(p))

    estimable = True
    reason = ""

    @property
    def notes(self) -> str:
        """Compact ``key=value`` rendering of the fact fields (for tables; not prose)."""
        parts = [
            f"{k}={getattr(self, k)}"
            for k in ("est_method", "control_group", "se_type", "cluster", "ci_method")
            if getattr(self, k)
        ]
        if self.n_clusters:
            parts.append(f"n_clusters={self.n_clusters}")
        if self.n_dropped:
            parts.append(f"n_dropped={self.n_dropped} ({self.dropped_reason})")
        parts += [f"{k}={_short(v)}" for k, v in self.facts.items()]
        return "; ".join(parts)

    def tidy(self) -> pd.DataFrame:
        """One-row table (``COLUMNS``)."""
        return to_frame([self])

    def __repr__(self) -> str:
        return (
            f"Estimate({self.method} [{self.est_method or '-'}], {self.outcome}: "
            f"{self.estimate:.4g} ({self.ci_low:.4g}, {self.ci_high:.4g}), p={self.p_value:.3g}, "
            f"{self.ci_method}, n_treated={self.n_treated}, n_control={self.n_control})"
        )

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, na_rep="")


def _short(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@dataclass(frozen=True, kw_only=True)
class NotEstimable:
    """A deliberate result: this comparison cannot be made here, and why."""

    outcome: str
    method: str
    estimand: str
    reason: str  # a key of REASONS
    detail: str = ""
    n_treated: int = 0
    n_control: int = 0
    district: str = ""

    estimable = False

    @property
    def message(self) -> str:
        """The reason in English with the detail (for researchers' logs, never for pages)."""
        return REASONS.get(self.reason, self.reason) + (f" ({self.detail})" if self.detail else "")

    def tidy(self) -> pd.DataFrame:
        """One-row table (``COLUMNS``)."""
        return to_frame([self])

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, na_rep="")


Result = Estimate | NotEstimable


def parse_facts(facts: object) -> dict[str, str]:
    """The ``facts`` column of a results table (``k=v; k=v``, :attr:`Estimate.notes`) as a dict.

    A dict (an estimate's own ``facts``) is returned with its values as text, so a reader of
    either form gets the same answer. Values are text: ``n_cells=30`` gives ``{"n_cells": "30"}``.
    """
    if isinstance(facts, dict):
        return {str(k): str(v) for k, v in facts.items()}
    out = {}
    for part in str(facts or "").split("; "):
        k, sep, v = part.partition("=")
        if sep:
            out[k.strip()] = v.strip()
    return out


def to_frame(results: list[Result]) -> pd.DataFrame:
    """Tidy table: one row per estimate (``COLUMNS``)."""
    rows = []
    for r in results:
        d = {k: v for k, v in asdict(r).items() if k in COLUMNS}
        d["estimable"] = r.estimable
        d["notes"] = r.notes if isinstance(r, Estimate) else ""
        d["facts"] = r.notes if isinstance(r, Estimate) else ""
        d["detail"] = r.detail if isinstance(r, NotEstimable) else ""
        if isinstance(r, NotEstimable):
            d.update(
                estimate=np.nan,
                se=np.nan,
                ci_low=np.nan,
                ci_high=np.nan,
                p_value=np.nan,
                reason=r.reason,
                notes=r.message,
            )
        else:
            d["reason"] = ""
        rows.append(d)
    return pd.DataFrame(rows, columns=COLUMNS)
