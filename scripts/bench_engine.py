"""Benchmark: the whole engine for one outcome on the national example (about 75,000 desa x 7
years), and on 1/4 and 1/2 of it, to show how time grows with the number of desa.

Engine = build the desa-year panel, Callaway-Sant'Anna with event study and pre-trend test,
two-way fixed effects (pyfixest), and the cross-section (naive, regression, propensity score,
IPW, AIPW, matching, balance). Run with `make bench`; the figures go into the README.

Then the estimation of one district as its report notebook runs it (``estimate_main``,
``estimate_cross_section``, ``estimate_outcomes``, ``estimate_heterogeneity`` with the default
specification: doubly robust with covariates, 999 bootstrap draws) on the national example
written and read as a data folder, median over a few districts of different sizes. BLAS runs
single-threaded, as in the report kernels (analysis/forkserver.py).
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from analysis import district as steps  # noqa: E402
from analysis.design import Design, analysis_panel  # noqa: E402
from analysis.inputs.dataset import load_dataset  # noqa: E402
from analysis.inputs.example_data import simulate, write_example  # noqa: E402
from analysis.methods.crosssection import compare_year  # noqa: E402
from analysis.methods.panel import callaway_santanna, twfe  # noqa: E402

#: Districts of the national example timed for the per-district figure (small to large).
DISTRICTS = ("14.05", "35.12", "64.02", "33.06", "11.08", "32.05", "36.01")


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


def district_estimation(folder: Path) -> list[float]:
    """Seconds of a district notebook's estimation steps for each of :data:`DISTRICTS`."""
    ds = load_dataset(folder)
    out = []
    for i, code in enumerate((DISTRICTS[0], *DISTRICTS)):
        data = steps.prepare_dataset(ds, code)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            steps.estimate_main(data)
            steps.estimate_cross_section(data)
            steps.estimate_outcomes(data)
            steps.estimate_heterogeneity(data)
            if i:  # the first pass warms up first-call costs
                out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_example(Path(tmp) / "nation", "all")
        sec = district_estimation(Path(tmp) / "nation")
    print(
        f"district estimation (main, cross-section, outcomes, subgroups), national example: "
        f"median {statistics.median(sec):.2f} s over {len(sec)} districts "
        f"(range {min(sec):.2f}-{max(sec):.2f} s)"
    )
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
