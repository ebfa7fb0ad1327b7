"""Calibration study of the few-desa estimators and of the staggered estimator with few desa.

Issue 18, item 5. From the example data (``analysis.paths.EXAMPLE_DIR``), the desa of one district
that never partnered and are observed every year (2018-2024) form the population. Each draw
(seed ``FIRST_SEED + i``) picks ``k`` = 1, 3 or 5 of them as a cohort partnered from
``COHORT`` (2022: four years before, three after), either uniformly (``--assignment random``) or
with a probability rising with the desa's 2018 IDM (``--assignment selected``: partners choose
better-off desa, as the example generator does, odds x e^8 per IDM point). Two panels per draw:

* zero effect: the outcomes as they are;
* known effect: the cohort's IDM raised from the start by ``EFFECT`` x (1 + 0.5 u_i) x min(1,
  (t - g + 1) / 3), u_i standard normal (effects differ between desa and build up over three
  years); the truth is their mean over the cohort's desa-years from the start, the estimand of
  every estimator here.

Each panel goes through ``methods.synthetic``'s public functions: ``synthetic_cohort`` (synthetic
DiD, synthetic control, DiD; donors: the same district) and ``placebo_test`` (every placebo when
there are at most 2000 assignments, otherwise ``--placebos`` drawn with the draw's seed; both
statistics, the post/pre RMSPE ratio and the absolute effect). The 95% interval is the set of
constant effects the 5% placebo test does not reject (``placebo_test``'s inversion). The same
panels go through ``methods.panel.callaway_santanna`` with the district specification's options
(``district.Specification().cs_kwargs()``: doubly robust, baseline outcome, clustered multiplier
bootstrap by kecamatan), its minimum of partnered desa lowered to 1 so that its inference can be
seen where the workspace refuses it.

Measured per size and estimator: the share of 5% tests rejecting zero effect (target <= 5%), the
share of 95% intervals covering the truth (target >= 90%), the median interval width, and the
share of empty intervals (RMSPE-ratio test only). Rows ``<method>:placebo_variance`` use the
same placebos' standard error (Arkhangelsky et al. 2021, Algorithm 4; ``few_desa(...,
interval="placebo_variance")``): reject when |estimate| > 1.96 se, interval estimate +- 1.96
se. With 200 draws a true 5% rejection rate is observed within 2.0-8.0% (binomial 95%).

``--all-units-check`` adds, for the zero-effect panel, the placebo test in the form that is exact
under random assignment (Abadie et al. 2010, section 4: "shifting California to the donor
pool"): the placebo sets are drawn from every unit (the partnered ones too) and each set, like
the real cohort, is fitted on all the other units, so every assignment has the same number of
donors (rows ``<method>:all_units``, rejection only: its inversion has no closed form). Where
it and the package's test (placebos among the donors only) reject alike on the same draws, an
excess over 5% is the draws', not the test's.

Usage: ``python scripts/study_few_desa.py --draws 200 --jobs 2 [--district 64.02]
[--assignment random] [--placebos 199] [--sizes 1,3,5] [--first-seed 18000] [--out study.json]``
(another ``--first-seed`` draws a fresh block: seeds ``first + 1000 k + i``).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

FIRST_SEED = 18_000
COHORT = 2022
EFFECT = 0.02
SIZES = (1, 3, 5)
METHODS = ("synthetic_did", "synthetic_control", "did")
STATISTICS = ("rmspe_ratio", "effect")
ALPHA = 0.05


@lru_cache(maxsize=4)
def population(district: str) -> pd.DataFrame:
    """The district's never-partnered desa observed in every year, with ``g = 0``."""
    from analysis import paths
    from analysis.design import analysis_panel

    read = lambda name: pd.read_parquet(paths.EXAMPLE_DIR / f"{name}.parquet")  # noqa: E731
    panel = analysis_panel(
        read("welfare"), read("villages"), read("partnerships"), district=district
    )
    never = panel[panel["g"] == 0]
    years = never["tahun"].nunique()
    complete = never.dropna(subset=["nilai_idm"]).groupby("kode_desa")["tahun"].nunique() == years
    return never[never["kode_desa"].isin(complete[complete].index)].reset_index(drop=True)


def assign(pop: pd.DataFrame, k: int, rng: np.random.Generator, assignment: str) -> np.ndarray:
    """The ``k`` desa of the cohort: uniformly, or more likely the higher their 2018 IDM."""
    base = pop[pop["tahun"] == pop["tahun"].min()].set_index("kode_desa")["nilai_idm"].sort_index()
    if assignment == "random":
        p = None
    else:
        odds = np.exp(8 * (base.to_numpy() - base.mean()))
        p = odds / odds.sum()
    return rng.choice(base.index.to_numpy(), size=k, replace=False, p=p)


def with_effect(null: pd.DataFrame, treated: np.ndarray, rng: np.random.Generator):
    """The panel with the known effect added to the cohort from its start, and the true ATT."""
    u = dict(zip(np.sort(treated), rng.standard_normal(len(treated)), strict=True))
    cell = null["kode_desa"].isin(treated) & (null["tahun"] >= COHORT)
    ramp = np.minimum(1.0, (null["tahun"] - COHORT + 1) / 3)
    tau = EFFECT * (1 + 0.5 * null["kode_desa"].map(u).fillna(0.0)) * ramp
    tau = tau.where(cell, 0.0)
    return null.assign(nilai_idm=null["nilai_idm"] + tau), float(tau[cell].mean())


def _synthetic_rows(
    null, effect, truth, seed: int, placebos: int, methods=METHODS, all_units: bool = False
) -> dict:
    """Every few-desa estimator on both panels: p-value under zero effect, interval under the effect."""
    from analysis.design import Design
    from analysis.methods.synthetic import placebo_test, synthetic_cohort

    out = {}
    for m in methods:
        f0 = synthetic_cohort(null, Design(), method=m)
        f1 = synthetic_cohort(effect, Design(), method=m)
        first = None
        for stat in STATISTICS:
            t0 = placebo_test(f0, statistic=stat, draws=placebos, seed=seed, reuse=first)
            first = first or t0
            t1 = placebo_test(f1, statistic=stat, reuse=first)
            out[f"{m}:{stat}"] = {
                "estimate_null": f0.estimate,
                "p_null": t0.p_value,
                "reject_null": bool(t0.p_value <= ALPHA + 1e-12),
                "estimate": f1.estimate,
                "ci_low": t1.ci_low,
                "ci_high": t1.ci_high,
                "ci_empty": t1.ci_empty,
                "covers": bool(t1.ci_low <= truth <= t1.ci_high),
                "n_placebos": t0.n_placebos,
                "exact": t0.exact,
            }
        out[f"{m}:placebo_variance"] = _variance_row(f0, f1, first, truth)
        if all_units:
            out[f"{m}:all_units"] = _all_units_row(f0, placebos, seed)
    return out


def _all_units_row(fit, placebos: int, seed: int) -> dict:
    """The zero-effect placebo test with the partnered units in every placebo's donor pool."""
    from analysis.methods.synthetic import _fit_many, _ratio

    b = fit.block
    Y = np.vstack([b.Y0, b.Y1])
    n, k = len(Y), len(b.Y1)
    real = tuple(range(n - k, n))
    rng, seen = np.random.default_rng(seed), {}
    while len(seen) < placebos:
        s = tuple(sorted(rng.choice(n, size=k, replace=False).tolist()))
        if s != real:
            seen.setdefault(s)
    sets = np.array(list(seen))
    masks = np.ones((len(sets), n), dtype=bool)
    np.put_along_axis(masks, sets, False, axis=1)
    f = _fit_many(Y, Y[sets].mean(axis=1), k, masks, b.n_pre, fit.method)
    stats_ = {
        "rmspe_ratio": (_ratio(f.post_rmspe, f.pre_rmspe), fit.rmspe_ratio),
        "effect": (np.abs(f.estimate), abs(fit.estimate)),
    }
    out = {}
    for name, (placebo, observed) in stats_.items():
        p = float((1 + (placebo >= observed * (1 - 1e-12)).sum()) / (1 + len(sets)))
        out[f"p_{name}"], out[f"reject_{name}"] = p, bool(p <= ALPHA + 1e-12)
    return out


def _variance_row(f0, f1, placebos, truth: float) -> dict:
    """Normal test and interval from the placebo standard error (the same placebos)."""
    z = 1.959963984540054
    lo, hi = f1.estimate - z * placebos.se, f1.estimate + z * placebos.se
    return {
        "estimate_null": f0.estimate,
        "p_null": float(2 * stats.norm.sf(abs(f0.estimate) / placebos.se)),
        "reject_null": bool(abs(f0.estimate) > z * placebos.se),
        "estimate": f1.estimate,
        "ci_low": lo,
        "ci_high": hi,
        "ci_empty": False,
        "covers": bool(lo <= truth <= hi),
        "n_placebos": placebos.n_placebos,
        "exact": placebos.exact,
        "se": placebos.se,
    }


def _staggered_rows(null, effect, truth) -> dict:
    """The staggered estimator with the district's options, forced to estimate with few desa."""
    from analysis.design import Design
    from analysis.district import Specification
    from analysis.methods.panel import callaway_santanna

    kw = {**Specification().cs_kwargs(), "min_treated": 1}
    r0, _ = callaway_santanna(null, Design(), **kw)
    r1, _ = callaway_santanna(effect, Design(), **kw)
    if not (r0.estimable and r1.estimable):
        return {"cs_did": {"estimable": False}}
    return {
        "cs_did": {
            "estimable": True,
            "estimate_null": r0.estimate,
            "p_null": r0.p_value,
            "reject_null": bool(r0.p_value <= ALPHA),
            "estimate": r1.estimate,
            "ci_low": r1.ci_low,
            "ci_high": r1.ci_high,
            "ci_empty": False,
            "covers": bool(r1.ci_low <= truth <= r1.ci_high),
            "n_clusters": r0.n_clusters,
        }
    }


def one_draw(task: tuple) -> dict:
    """One draw: ``(district, k, seed, placebos, assignment, methods, staggered[, all_units])``."""
    district, k, seed, placebos, assignment, methods, staggered, *rest = task
    all_units = bool(rest and rest[0])
    pop = population(district)
    rng = np.random.default_rng(seed)
    treated = assign(pop, k, rng, assignment)
    null = pop.assign(g=np.where(pop["kode_desa"].isin(treated), COHORT, 0))
    effect, truth = with_effect(null, treated, rng)
    row = {"k": k, "seed": seed, "truth": truth, "treated": sorted(map(str, treated))}
    row.update(_synthetic_rows(null, effect, truth, seed, placebos, methods, all_units))
    if staggered:
        row.update(_staggered_rows(null, effect, truth))
    return row


def summarise(rows: list[dict]) -> dict:
    """Rejection, coverage, median width and empty intervals per size and estimator."""
    out: dict = {}
    for k in sorted({r["k"] for r in rows}):
        rk = [r for r in rows if r["k"] == k]
        per: dict = {}
        keys = [
            *(f"{m}:{s}" for m in METHODS for s in (*STATISTICS, "placebo_variance")),
            "cs_did",
        ]
        for key in [k for k in keys if k in rk[0]]:
            got = [r[key] for r in rk if r[key].get("estimable", True)]
            width = [g["ci_high"] - g["ci_low"] for g in got if not g["ci_empty"]]
            per[key] = {
                "draws": len(got),
                "reject_zero_effect": _share(g["reject_null"] for g in got),
                "coverage": _share(g["covers"] for g in got),
                "median_width": float(np.median(width)) if width else None,
                "empty_interval": _share(g["ci_empty"] for g in got),
            }
        for m in METHODS:
            got = [r[f"{m}:all_units"] for r in rk if f"{m}:all_units" in r]
            if got:
                per[f"{m}:all_units"] = {
                    "draws": len(got),
                    **{f"reject_zero_effect_{s}": _share(g[f"reject_{s}"] for g in got)
                       for s in STATISTICS},
                }  # fmt: skip
        out[str(k)] = per
    return out


def _share(flags) -> float | None:
    flags = [bool(f) for f in flags]
    return round(sum(flags) / len(flags), 4) if flags else None


def run(
    draws: int,
    jobs: int,
    district: str,
    placebos: int,
    assignment: str,
    methods: tuple[str, ...] = METHODS,
    staggered: bool = True,
    sizes: tuple[int, ...] = SIZES,
    first_seed: int = FIRST_SEED,
    all_units: bool = False,
) -> list[dict]:
    """Every draw of every size, in ``jobs`` processes."""
    tasks = [
        (
            district, k, first_seed + 1000 * k + i, placebos, assignment, methods, staggered,
            all_units,
        )
        for k in sizes
        for i in range(draws)
    ]  # fmt: skip
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as ex:
            return list(ex.map(one_draw, tasks, chunksize=4))
    return [one_draw(t) for t in tasks]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200, help="draws per cohort size")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--district", default="64.02", help="example district (default Kukar)")
    ap.add_argument("--placebos", type=int, default=199, help="placebos drawn when not exact")
    ap.add_argument("--assignment", choices=("random", "selected"), default="random")
    ap.add_argument("--out", default=None, help="write the draws and the summary as JSON")
    ap.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="few-desa estimators, comma-separated (the district step uses synthetic_did)",
    )
    ap.add_argument(
        "--no-staggered", action="store_true", help="leave out the staggered estimator's rows"
    )
    ap.add_argument("--sizes", default="1,3,5", help="cohort sizes, comma-separated")
    ap.add_argument("--first-seed", type=int, default=FIRST_SEED, help="seed of the first draw")
    ap.add_argument(
        "--all-units-check",
        action="store_true",
        help="also the zero-effect test with the partnered desa in every placebo's donor pool",
    )
    a = ap.parse_args()
    sizes = tuple(int(k) for k in a.sizes.split(",") if k)
    methods = tuple(m for m in a.methods.split(",") if m)
    if unknown := set(methods) - set(METHODS):
        ap.error(f"--methods: unknown {sorted(unknown)}; use {', '.join(METHODS)}")
    t0 = time.perf_counter()
    rows = run(
        a.draws, a.jobs, a.district, a.placebos, a.assignment, methods, not a.no_staggered,
        sizes, a.first_seed, a.all_units_check,
    )  # fmt: skip
    summary = {
        "district": a.district,
        "first_seed": a.first_seed,
        "assignment": a.assignment,
        "cohort": COHORT,
        "effect": EFFECT,
        "placebos": a.placebos,
        "by_size": summarise(rows),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(summary, indent=2))
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"summary": summary, "draws": rows}, f, indent=1, default=float)


if __name__ == "__main__":
    main()
