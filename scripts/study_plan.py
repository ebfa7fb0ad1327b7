"""Coverage of ``evaluate``'s interval on simulated follow-ups with a known effect (issue 18, item 4).

For each seed ``FIRST_SEED + i``, the Indeks Desa series 2025-2027 is simulated on the example
data (``analysis.inputs.indeks_desa_sim.simulate_indeks_desa``: the desa of the 2025 Kukar MoUs
gain ``EFFECT`` points in 2026, ``--effect-scale`` times that), a plan is made from the 2025
baseline only (``analysis.report.planning.make_plan``: weights fitted on IDM 2018-2024 and the
Indeks Desa 2025, placebo sets drawn with the seed, ``--placebos`` of them; the minimum
detectable effect is skipped, it does not enter the interval), and ``evaluate_plan`` applies it
to the 2026 follow-up. Measured: the share of 95% intervals covering the true effect (the mean
of Y1 - Y0 over the MoU desa in 2026; target >= 90%), the share of 5% tests rejecting, the
median interval width and the mean estimate.

Usage: ``python scripts/study_plan.py --seeds 200 [--placebos 199] [--effect-scale 1]
[--jobs 2] [--out study_plan.json]``; ``--effect-scale 0`` measures the rejection rate under no
effect (target <= 5%).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import numpy as np

FIRST_SEED = 40_000
ALPHA = 0.05


@lru_cache(maxsize=1)
def base():
    """The example data folder and the MoU agreements file."""
    from analysis import paths
    from analysis.inputs.dataset import load_dataset

    return load_dataset(paths.EXAMPLE_DIR), paths.REAL_DIR / "kukar_mou_2025.csv"


def one(seed: int, placebos: int, effect_scale: float) -> dict:
    """One simulated world: plan on 2025, evaluate on 2026, compare with the truth."""
    from analysis.inputs.indeks_desa_sim import mou_desa, simulate_indeks_desa
    from analysis.report.evaluation import evaluate_plan
    from analysis.report.planning import make_plan

    ds, mou = base()
    idx, truth = simulate_indeks_desa(ds.welfare, mou_desa(), seed, effect_scale)
    at_base = dataclasses.replace(ds, indeks_desa=idx[idx["tahun"] == 2025])
    plan = make_plan(at_base, "64.02", [mou], draws=placebos, seed=seed, minimum_detectable=False)
    ev = evaluate_plan(plan, dataclasses.replace(ds, indeks_desa=idx[idx["tahun"] <= 2026]))
    r = next(x for x in ev["results"] if x["role"] == "primary" and x["year"] == 2026)
    att = truth["att"]["skor_tanpa_ekonomi"]["2026"]
    return {
        "seed": seed,
        "truth": att,
        "estimate": r["estimate"],
        "ci_low": r["ci_low"],
        "ci_high": r["ci_high"],
        "p_value": r["p_value"],
        "covered": bool(r["ci_low"] <= att <= r["ci_high"]),
        "rejected": bool(r["p_value"] <= ALPHA),
    }


def summarise(rows: list[dict]) -> dict:
    """Coverage, rejection rate, median width and mean estimate over the seeds."""
    cov = np.array([r["covered"] for r in rows])
    n = len(rows)
    se = float(np.sqrt(cov.mean() * (1 - cov.mean()) / n)) if n else float("nan")
    return {
        "seeds": n,
        "coverage": float(cov.mean()),
        "coverage_se": se,
        "rejection_rate": float(np.mean([r["rejected"] for r in rows])),
        "median_width": float(np.median([r["ci_high"] - r["ci_low"] for r in rows])),
        "mean_estimate": float(np.mean([r["estimate"] for r in rows])),
        "mean_truth": float(np.mean([r["truth"] for r in rows])),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--placebos", type=int, default=199)
    ap.add_argument("--effect-scale", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    t0 = time.perf_counter()
    seeds = [FIRST_SEED + i for i in range(a.seeds)]
    args = [(s, a.placebos, a.effect_scale) for s in seeds]
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as ex:
            rows = list(ex.map(one, *zip(*args, strict=True)))
    else:
        rows = [one(*x) for x in args]
    out = summarise(rows) | {"placebos": a.placebos, "effect_scale": a.effect_scale,
                             "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    print(json.dumps(out, indent=1))
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump(out | {"draws": rows}, f, indent=1)


if __name__ == "__main__":
    main()
