"""Calibration study of the spillover checks (README, "Spillover checks").

For each seed, the example generator simulates East Kalimantan twice, draw for draw the same
but for the spillover: without (``spillover_km=0``) and with spillovers onto never-partnered
desa within 5 km of a partnered desa (``--share`` of the partner's effect, default 1, at
``--scale`` times the default effects). Each district with desa goes through ``prepare``, the
headline (``estimate_main(variants=False)``) and ``estimate_spillover`` with the default
specification (multiplier bootstrap, 999 draws). Measured, over the estimable districts:

* without spillovers: how often the near-vs-far test rejects at 5% (its false-positive rate);
* with spillovers: how often it rejects (its power), and the mean of headline, 5 km and 10 km
  exclusion estimates minus the district's true ATT, next to the same without spillovers.

Usage: ``python scripts/study_spillover.py --seeds 40 --jobs 2 [--out study.json]``.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

FIRST_SEED = 2000
RADIUS_KM = 5.0


def one_seed(seed: int, share: float = 1.0, scale: float = 1.0) -> dict:
    """Both worlds of one seed: per estimable district, the headline, the rows and the truth."""
    from analysis import district as dist
    from analysis.inputs.dataset import Dataset
    from analysis.inputs.example_data import simulate
    from analysis.inputs.frame import load_frame

    f = load_frame()
    kab = sorted(f.loc[f["kode_prov"] == "64", "kode_kab"].unique())
    out: dict = {"seed": seed}
    for key, km, e in (("none", 0.0, 0.0), ("spill", RADIUS_KM, share)):
        sim = simulate("64", seed, scale, km, e)
        ds = Dataset(
            folder=Path("."),
            villages=sim.villages,
            welfare=sim.welfare,
            partnerships=sim.partnerships,
            meta={"synthetic": True},
        )
        rows = []
        for code in kab:
            data = dist.prepare_dataset(ds, code)
            if not data.applicable:
                continue
            h = dist.estimate_main(data, variants=False).headline
            c = dist.estimate_spillover(data)
            t = c.exposure
            rows.append(
                {
                    "district": code,
                    "true": sim.truth["outcomes"]["nilai_idm"]["by_district"]
                    .get(code, {})
                    .get("att"),
                    "headline": float(getattr(h, "estimate", np.nan)),
                    "excl5": float(getattr(c.excluded[0], "estimate", np.nan)),
                    "excl10": float(getattr(c.excluded[1], "estimate", np.nan)),
                    "test_estimable": bool(t.estimable),
                    "test_p": float(getattr(t, "p_value", np.nan)),
                    "n_near": int(t.n_treated),
                }
            )
        out[key] = rows
    return out


def summarise(runs: list[dict]) -> dict:
    """Rejection rates of the near-vs-far test and the mean errors of the three estimates."""

    def rate(key: str, alpha: float = 0.05) -> tuple[float, int]:
        ps = [d["test_p"] for r in runs for d in r[key] if d["test_estimable"]]
        return round(float(np.mean([p < alpha for p in ps])), 4), len(ps)

    def bias(key: str, col: str) -> float:
        e = [
            d[col] - d["true"]
            for r in runs
            for d in r[key]
            if d["true"] is not None and np.isfinite(d[col]) and np.isfinite(d["headline"])
        ]
        return round(float(np.mean(e)), 5)

    (fp, n0), (power, n1) = rate("none"), rate("spill")
    return {
        "seeds": len(runs),
        "tests_without_spillover": n0,
        "false_positive_rate": fp,
        "tests_with_spillover": n1,
        "detection_rate": power,
        "false_positive_rate_at_1pct": rate("none", 0.01)[0],
        "detection_rate_at_1pct": rate("spill", 0.01)[0],
        "mean_error": {
            k: {c: bias(k, c) for c in ("headline", "excl5", "excl10")} for k in ("none", "spill")
        },
    }


def main() -> None:
    """Run the seeds (in parallel with ``--jobs``) and print the summary as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--share", type=float, default=1.0, help="spillover share of the effect")
    ap.add_argument("--scale", type=float, default=1.0, help="effect scale of both worlds")
    ap.add_argument("--out", type=Path, default=None, help="write runs and summary as JSON")
    a = ap.parse_args()
    t0 = time.perf_counter()
    seeds = list(range(FIRST_SEED, FIRST_SEED + a.seeds))
    shares, scales = [a.share] * len(seeds), [a.scale] * len(seeds)
    runs: list[dict] = []
    with ProcessPoolExecutor(a.jobs) as ex:
        for r in ex.map(one_seed, seeds, shares, scales):
            runs.append(r)  # the summary so far after every seed, so a long study shows progress
            print(json.dumps({"seed": r["seed"], **summarise(runs)}), flush=True)
    summary = summarise(runs)
    summary |= {"share": a.share, "scale": a.scale, "radius_km": RADIUS_KM}
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(summary, indent=2))
    if a.out:
        a.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1, default=float))


if __name__ == "__main__":
    main()
