"""A simulated Indeks Desa series (2025 baseline, 2026-2027 follow-ups) with a known effect.

For the example data only (``python -m analysis example-data --indeks-desa``): every desa of the
simulated IDM panel gets six dimension scores (0-100) per year,

``Y0[d,i,t] = clip(c_d + 60 (L_i - 0.75) + u[d,i] + 0.8 (t - 2025) + e[d,i,t], 0, 100)``

with L_i the desa's mean observed IDM 2022-2024 (the series' level follows IDM's, so the IDM
years help choose comparison desa), desa effects u (sd :data:`DESA_SD`) and yearly noise e (sd
:data:`NOISE_SD`). The desa of the 2025 MoUs (``data/real/kukar_mou_2025.csv``) gain
:data:`EFFECT` points per follow-up year on every dimension, and the Ekonomi dimension
:data:`ITEM_POINTS` more, the partnership item scoring the agreement itself. The draws come
from their own generator (seeded by the example's seed and :data:`STREAM`), so the rest of the
example is the same byte for byte with or without this series. ``truth.json`` records the
effects as means of Y1 - Y0 over the MoU desa (after clipping and rounding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.inputs.indeks_desa import OUTCOME_WITHOUT_ITEM, score_without_item
from analysis.paths import REAL_DIR
from analysis.schema import INDEKS_DESA_DIMENSIONS, INDEKS_DESA_TREATED_DIMENSION

YEARS = (2025, 2026, 2027)
#: Mean score of each dimension in 2025 at L = 0.75.
CENTRE = {"layanan_dasar": 72.0, "sosial": 68.0, "ekonomi": 55.0, "lingkungan": 70.0,
          "aksesibilitas": 60.0, "tata_kelola": 75.0}  # fmt: skip
DESA_SD = 4.0
NOISE_SD = 2.5
TREND = 0.8
#: The true effect on every dimension, per follow-up year (points, before ``effect_scale``).
EFFECT = {2026: 1.5, 2027: 3.0}
#: What the partnership item adds to the Ekonomi dimension from the first follow-up on.
ITEM_POINTS = 6.0
#: Third-party dimension weights (UNVERIFIED, ``shared/reference/domain.md``) for ``skor``.
WEIGHTS = {"layanan_dasar": 26.77, "sosial": 13.39, "ekonomi": 25.20, "lingkungan": 14.17,
           "aksesibilitas": 7.87, "tata_kelola": 12.60}  # fmt: skip
#: Second word of this series' generator seed (the first is the example's seed).
STREAM = 2025


def mou_desa() -> list[str]:
    """Codes of the desa of the 2025 Kukar MoUs (``data/real/kukar_mou_2025.csv``)."""
    from analysis.inputs.registry import read_agreements

    rows = read_agreements(REAL_DIR / "kukar_mou_2025.csv")
    return sorted(set(rows["kode_desa"].dropna().astype(str)))


def _levels(welfare: pd.DataFrame) -> pd.Series:
    """Each desa's mean observed IDM 2022-2024 (the series' persistent level)."""
    w = welfare[welfare["tahun"].between(2022, 2024)]
    return w.groupby("kode_desa")["nilai_idm"].mean().sort_index()


def simulate_indeks_desa(
    welfare: pd.DataFrame, treated: list[str], seed: int, effect_scale: float = 1.0
) -> tuple[pd.DataFrame, dict]:
    """The Indeks Desa table 2025-2027 and its truth.

    Parameters
    ----------
    welfare
        The simulated IDM panel (``kode_desa``, ``tahun``, ``nilai_idm``).
    treated
        Codes of the desa with the 2025 MoUs (exposure year 2026).
    seed
        The example's seed; the draws use ``np.random.default_rng([seed, STREAM])``.
    effect_scale
        Multiplies :data:`EFFECT` (0: no effect on the five dimensions; the item still scores).

    Returns
    -------
    tuple
        The table (``indeks_desa`` contract, rounded to 2 decimals) and the truth
        (``att`` by outcome and year over the MoU desa present).
    """
    lv = _levels(welfare)
    codes, n = lv.index.to_numpy(), len(lv)
    rng = np.random.default_rng([int(seed), STREAM])
    on = np.isin(codes, list(treated))
    y0, y1 = {}, {}
    for d in INDEKS_DESA_DIMENSIONS:
        u = DESA_SD * rng.standard_normal(n)
        e = NOISE_SD * rng.standard_normal((n, len(YEARS)))
        t = np.array(YEARS) - 2025
        base = CENTRE[d] + 60 * (lv.to_numpy() - 0.75) + u
        y0[d] = np.round(np.clip(base[:, None] + TREND * t + e, 0, 100), 2)
        add = np.array([effect_scale * EFFECT.get(y, 0.0) for y in YEARS])
        if d == INDEKS_DESA_TREATED_DIMENSION:
            add = add + np.array([ITEM_POINTS if y in EFFECT else 0.0 for y in YEARS])
        y1[d] = np.round(np.clip(y0[d] + on[:, None] * add[None, :], 0, 100), 2)
    table = _table(codes, y1)
    truth = _truth(codes[on], y0, y1, on, effect_scale)
    return table, truth


def _table(codes: np.ndarray, y: dict) -> pd.DataFrame:
    """Long table, one row per desa and year, with the published score and the score without Ekonomi."""
    rows = pd.DataFrame(
        {"kode_desa": np.repeat(codes, len(YEARS)), "tahun": np.tile(YEARS, len(codes))}
    )
    for d in INDEKS_DESA_DIMENSIONS:
        rows[d] = y[d].ravel()
    rows["skor"] = np.round(sum(WEIGHTS[d] * rows[d] for d in WEIGHTS) / 100, 2)
    rows[OUTCOME_WITHOUT_ITEM] = score_without_item(rows)
    rows["sumber"] = "simulated"
    return rows


def _truth(treated: np.ndarray, y0: dict, y1: dict, on: np.ndarray, effect_scale: float) -> dict:
    """Means of Y1 - Y0 over the MoU desa, per outcome and follow-up year."""

    def frame(y: dict) -> pd.DataFrame:
        return pd.DataFrame({d: y[d][on].ravel() for d in INDEKS_DESA_DIMENSIONS})

    f0, f1 = frame(y0), frame(y1)
    f0[OUTCOME_WITHOUT_ITEM], f1[OUTCOME_WITHOUT_ITEM] = (
        score_without_item(f0),
        score_without_item(f1),
    )
    year = np.tile(YEARS, int(on.sum()))
    att = {
        o: {
            str(y): round(float((f1[o] - f0[o])[year == y].mean()), 6) for y in YEARS if y in EFFECT
        }
        for o in [OUTCOME_WITHOUT_ITEM, *INDEKS_DESA_DIMENSIONS]
    }
    return {
        "estimand": "mean of Y1 - Y0 over the 2025 MoU desa, per follow-up year (Indeks Desa points)",
        "baseline_year": YEARS[0],
        "exposure_year": min(EFFECT),
        "treated": sorted(map(str, treated)),
        "effect_per_dimension": {str(y): effect_scale * v for y, v in EFFECT.items()},
        "item_points_on_ekonomi": ITEM_POINTS,
        "att": att,
    }
