"""Covariate balance between partnered and other desa, before and after weighting.

Standardized mean difference uses the **treated group's standard deviation** as denominator
(the ATT convention of R ``cobalt``): SMD = (mean_T - mean_C) / sd_T. Variance ratio =
var_T / var_C. The usual rule of thumb flags |SMD| > 0.1 and variance ratios outside 0.5-2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SMD_THRESHOLD = 0.1


def _wmean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    m = np.average(x, weights=w)
    v = np.average((x - m) ** 2, weights=w) * (w.sum() ** 2 / (w.sum() ** 2 - (w**2).sum()))
    return float(m), float(v)


def balance_table(
    df: pd.DataFrame, covariates: list[str], treated: str = "_d", weights: np.ndarray | None = None
) -> pd.DataFrame:
    """SMD and variance ratio per covariate, unweighted and (if given) weighted.

    Parameters
    ----------
    df
        One row per desa with ``treated`` (0/1) and the covariates.
    weights
        ATT weights (1 for treated, odds of the propensity score for controls), aligned to df.
    """
    d = df[treated].to_numpy(dtype=bool)
    rows = []
    for c in covariates:
        x = df[c].to_numpy(dtype=float)
        ok = ~np.isnan(x)
        xt, xc = x[d & ok], x[~d & ok]
        sd_t = xt.std(ddof=1) if len(xt) > 1 else np.nan
        denom = sd_t if sd_t and sd_t > 0 else np.sqrt((xt.var(ddof=1) + xc.var(ddof=1)) / 2)
        row = {
            "covariate": c,
            "mean_treated": xt.mean(),
            "mean_control": xc.mean(),
            "smd": (xt.mean() - xc.mean()) / denom if denom and denom > 0 else 0.0,
            "var_ratio": xt.var(ddof=1) / xc.var(ddof=1) if xc.var(ddof=1) > 0 else np.nan,
        }
        if weights is not None:
            wc = weights[~d & ok]
            mc, vc = _wmean_var(xc, wc)
            row["mean_control_weighted"] = mc
            row["smd_weighted"] = (xt.mean() - mc) / denom if denom and denom > 0 else 0.0
            row["var_ratio_weighted"] = xt.var(ddof=1) / vc if vc > 0 else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    out["imbalanced"] = out["smd"].abs() > SMD_THRESHOLD
    if weights is not None:
        out["imbalanced_weighted"] = out["smd_weighted"].abs() > SMD_THRESHOLD
    return out


def love_plot_data(table: pd.DataFrame) -> pd.DataFrame:
    """Long table (covariate, stage, |SMD|) for a love plot."""
    parts = [
        table.assign(stage="before", abs_smd=table["smd"].abs())[["covariate", "stage", "abs_smd"]]
    ]
    if "smd_weighted" in table:
        parts.append(
            table.assign(stage="after weighting", abs_smd=table["smd_weighted"].abs())[
                ["covariate", "stage", "abs_smd"]
            ]
        )
    return pd.concat(parts, ignore_index=True)
