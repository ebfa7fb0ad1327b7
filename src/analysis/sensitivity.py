"""How fragile is an estimate? E-values for unmeasured confounding, and the minimum detectable
effect for the numbers of partnered and comparison desa at hand.

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


@dataclass(frozen=True)
class EValue:
    point: float
    ci_bound: float  # E-value for the confidence limit nearest the null (1 if it crosses 0)


def e_value(estimate: float, ci_low: float, ci_high: float, sd_outcome: float) -> EValue:
    """E-value of a difference in a continuous outcome, via the standardized difference."""
    if not (np.isfinite(estimate) and sd_outcome > 0):
        return EValue(np.nan, np.nan)
    point = _evalue_rr(np.exp(0.91 * estimate / sd_outcome))
    if ci_low <= 0 <= ci_high:
        bound = 1.0
    else:
        near = ci_low if estimate > 0 else ci_high
        bound = _evalue_rr(np.exp(0.91 * near / sd_outcome))
    return EValue(point, bound)


def mde_from_se(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true effect the design detects with the given power (two-sided test)."""
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
