"""Two-way fixed effects leaves out desa partnered in every year of the sample, as the staggered
estimator does, and says how many (Goodman-Bacon 2021: such desa could only serve as comparison
desa for the year effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.design import Design
from analysis.methods.panel import twfe


def _panel(n_always: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(40):
        g = 2021 if i < 8 else (2019 if i < 8 + n_always else 0)  # 2019 = the first year
        for t in range(2019, 2023):
            y = 0.5 + 0.01 * (t - 2019) + 0.02 * (g > 0 and t >= g) + rng.normal(0, 0.01)
            rows.append({"kode_desa": f"d{i}", "tahun": t, "g": g, "y": y, "kode_kec": f"k{i % 8}"})
    return pd.DataFrame(rows)


def test_desa_partnered_from_the_first_year_are_left_out_and_counted():
    design = Design(outcome="y", unit="kode_desa", time="tahun", cluster="kode_kec")
    with_always = twfe(_panel(3), design)
    without = twfe(_panel(3).query("g != 2019"), design)
    assert with_always.n_treated == 8 == without.n_treated
    assert with_always.facts["n_always_treated"] == 3 and without.facts["n_always_treated"] == 0
    assert with_always.estimate == without.estimate and with_always.se == without.se
