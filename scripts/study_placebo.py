"""Calibration study of the evidence grade and of the intervals (README, "Evidence grade").

For each seed, the example generator simulates East Kalimantan twice: with every true effect set
to zero (``effect_scale=0``, placebo) and with the default effects (``effect_scale=1``). Each
district with desa goes through the district steps (prepare -> estimate_main -> estimate_outcomes
-> judge_evidence, default specification); the province panel gives the province estimate of
every outcome. Measured:

* placebo: share of estimable district briefs graded "strong" and "suggestive", share of district
  95% intervals (headline outcome) that cover zero;
* default effects: share of province 95% intervals covering the true ATT, per outcome, and the
  share of seeds in which the province IDM interval excludes zero (the headline is found).

Usage: ``python scripts/study_placebo.py --seeds 40 --jobs 2 [--out study.json]``.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

FIRST_SEED = 1000


def one_seed(seed: int) -> dict:
    from analysis import district as dist
    from analysis.design import OUTCOMES, Design, analysis_panel
    from analysis.inputs.dataset import Dataset
    from analysis.inputs.example_data import simulate
    from analysis.inputs.frame import load_frame
    from analysis.methods.panel import callaway_santanna

    f = load_frame()
    kab = sorted(f.loc[f["kode_prov"] == "64", "kode_kab"].unique())
    out: dict = {"seed": seed, "placebo": [], "default": [], "province": {}}
    for scale, key in ((0.0, "placebo"), (1.0, "default")):
        sim = simulate("64", seed, scale)
        ds = Dataset(
            folder=Path("."),
            villages=sim.villages,
            welfare=sim.welfare,
            partnerships=sim.partnerships,
            meta={"synthetic": True},
        )
        for code in kab:
            data = dist.prepare_dataset(ds, code)
            if not data.applicable:
                continue
            main = dist.estimate_main(data, variants=False)
            outcomes = dist.estimate_outcomes(data)
            ev = dist.judge_evidence(main, outcomes, data)
            h = main.headline
            true = (
                sim.truth["outcomes"]["nilai_idm"]["by_district"].get(code, {}).get("att", np.nan)
                if "by_district" in sim.truth["outcomes"]["nilai_idm"]
                else np.nan
            )
            out[key].append(
                {
                    "district": code,
                    "grade": ev.grade,
                    "reasons": list(ev.reasons),
                    "caveats": list(ev.caveats),
                    "breakdown_mbar": float(ev.breakdown_mbar),
                    "pretrend_p": float(ev.pretrend_p),
                    "estimable": bool(h.estimable),
                    "estimate": float(getattr(h, "estimate", np.nan)),
                    "ci_low": float(getattr(h, "ci_low", np.nan)),
                    "ci_high": float(getattr(h, "ci_high", np.nan)),
                    "ci_low_analytic": float(getattr(h, "ci_low_analytic", np.nan)),
                    "ci_high_analytic": float(getattr(h, "ci_high_analytic", np.nan)),
                    "n_clusters": int(getattr(h, "n_clusters", 0)),
                    "true": float(true) if true == true else None,
                }
            )
        if key == "default":
            panel = analysis_panel(sim.welfare, sim.villages, sim.partnerships)
            for o in OUTCOMES:
                r, _ = callaway_santanna(
                    panel, Design(outcome=o), **dist.Specification().cs_kwargs()
                )
                t = sim.truth["outcomes"][o]["overall"]["att"]
                out["province"][o] = {
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "true": t,
                }
    return out


def summarise(runs: list[dict]) -> dict:
    pl = [d for r in runs for d in r["placebo"] if d["estimable"]]
    de = [d for r in runs for d in r["default"] if d["estimable"]]
    n = len(pl)

    def share(rows, pred):
        return round(sum(bool(pred(d)) for d in rows) / max(len(rows), 1), 4)

    s = {
        "seeds": len(runs),
        "placebo_estimable_district_briefs": n,
        "placebo_strong": share(pl, lambda d: d["grade"] == "strong"),
        "placebo_suggestive": share(pl, lambda d: d["grade"] == "suggestive"),
        "placebo_district_ci_covers_zero": share(pl, lambda d: d["ci_low"] <= 0 <= d["ci_high"]),
        "placebo_district_analytic_ci_covers_zero": share(
            pl, lambda d: d["ci_low_analytic"] <= 0 <= d["ci_high_analytic"]
        ),
        "placebo_province_runs_with_a_strong": round(
            np.mean([any(d["grade"] == "strong" for d in r["placebo"]) for r in runs]), 4
        ),
        "default_estimable_district_briefs": len(de),
        "default_strong": share(de, lambda d: d["grade"] == "strong"),
        "default_suggestive": share(de, lambda d: d["grade"] == "suggestive"),
        "default_district_ci_covers_truth": share(
            [d for d in de if d["true"] is not None],
            lambda d: d["ci_low"] <= d["true"] <= d["ci_high"],
        ),
        "province_coverage": {
            o: round(
                np.mean(
                    [
                        r["province"][o]["ci_low"]
                        <= r["province"][o]["true"]
                        <= r["province"][o]["ci_high"]
                        for r in runs
                    ]
                ),
                4,
            )
            for o in runs[0]["province"]
        },
        "province_idm_found": round(
            np.mean([r["province"]["nilai_idm"]["ci_low"] > 0 for r in runs]), 4
        ),
    }
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="write runs and summary as JSON")
    a = ap.parse_args()
    t0 = time.perf_counter()
    seeds = list(range(FIRST_SEED, FIRST_SEED + a.seeds))
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as ex:
            runs = list(ex.map(one_seed, seeds))
    else:
        runs = [one_seed(s) for s in seeds]
    summary = summarise(runs)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(summary, indent=2))
    if a.out:
        a.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1, default=float))


if __name__ == "__main__":
    main()
