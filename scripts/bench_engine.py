"""Benchmark: the whole engine for one outcome on the national example (about 75,000 desa x 7
years), and on 1/4 and 1/2 of it, to show how time grows with the number of desa.

Engine = build the desa-year panel, Callaway-Sant'Anna with event study and pre-trend test,
two-way fixed effects (pyfixest), and the cross-section (naive, regression, propensity score,
IPW, AIPW, matching, balance). Run with `make bench`; the figures go into the README.
"""

from __future__ import annotations

import time

import numpy as np

from analysis.crosssection import compare_year
from analysis.design import Design, analysis_panel
from analysis.example_data import simulate
from analysis.panel import callaway_santanna, twfe


def engine(sim, share: float) -> tuple[int, float]:
    desa = np.sort(sim.welfare["kode_desa"].unique())
    keep = set(desa[: int(len(desa) * share)])
    w = sim.welfare[sim.welfare["kode_desa"].isin(keep)]
    t0 = time.perf_counter()
    panel = analysis_panel(w, sim.villages, sim.partnerships)
    design = Design()
    callaway_santanna(panel, design)
    twfe(panel, design)
    compare_year(panel, design, 2024)
    return len(keep), time.perf_counter() - t0


def main() -> None:
    sim = simulate("all", 1)
    engine(simulate("64", 1), 1.0)  # warm-up: imports and first-call costs
    rows = [engine(sim, s) for s in (0.25, 0.5, 1.0)]
    base = rows[0][1]
    for n, sec in rows:
        print(
            f"engine, one outcome: {n:>6,} desa x 7 years: {sec:6.1f} s  (x{sec / base:.2f} of the 1/4 run)"
        )


if __name__ == "__main__":
    main()
