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
]

#: Reasons a comparison is not estimable, in plain words (English; ``narrate`` translates).
REASONS = {
    "too_few_treated": "too few partnered desa to compare",
    "no_control": "no comparison desa",
    "no_overlap": "partnered and other desa are too different to compare (no overlap)",
    "no_pre_period": "no outcome year before the partnerships started",
    "constant_outcome": "the outcome does not vary",
    "too_recent": "the partnerships started after the last outcome year",
    "no_desa": "the district has no desa (only kelurahan)",
    "no_data": "no outcome data for this district",
}


@dataclass(frozen=True)
class Estimate:
    """One estimate with its uncertainty."""

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
    notes: str = ""
    district: str = ""
    details: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if np.isnan(self.ci_low) and np.isfinite(self.se):
            z = stats.norm.ppf(0.975)
            object.__setattr__(self, "ci_low", self.estimate - z * self.se)
            object.__setattr__(self, "ci_high", self.estimate + z * self.se)
        if np.isnan(self.p_value) and np.isfinite(self.se) and self.se > 0:
            object.__setattr__(
                self, "p_value", float(2 * stats.norm.sf(abs(self.estimate / self.se)))
            )

    estimable = True
    reason = ""


@dataclass(frozen=True)
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
        return REASONS.get(self.reason, self.reason) + (f" ({self.detail})" if self.detail else "")


Result = Estimate | NotEstimable


def to_frame(results: list[Result]) -> pd.DataFrame:
    """Tidy table: one row per estimate (``COLUMNS``)."""
    rows = []
    for r in results:
        d = {k: v for k, v in asdict(r).items() if k in COLUMNS}
        d["estimable"] = r.estimable
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
