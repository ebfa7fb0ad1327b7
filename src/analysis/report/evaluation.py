"""``evaluate``: a plan of :mod:`analysis.report.planning` applied, unchanged, to the follow-up.

The plan's hash is checked first (an edited plan is refused), then that the data folder holds
the judged year, then that the partnered and comparison desa are still those planned (a
comparison desa partnered since, a desa without the outcome): a difference is refused unless
``replan`` is set, and the evaluation then records how the plan was changed after the baseline
(desa left out, weights of the others rescaled to sum to one, placebo sets holding a desa left
out dropped). Nothing is refitted: the weights, placebo sets and baseline values are the plan's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.design import COUNTING_STATUSES
from analysis.inputs.dataset import Dataset, load_dataset
from analysis.methods import plan as pm
from analysis.provenance import stamp
from analysis.report.planning import (
    HASH_KEY,
    PLAN_KIND,
    ComparisonChangedError,
    FollowUpMissingError,
    PlanError,
    PlanHashError,
    canonical_hash,
)

EVALUATION_KIND = "analysis.evaluation"


def read_plan(path: Path) -> dict:
    """A plan file, its hash checked.

    Raises
    ------
    PlanHashError
        The content does not match ``content_sha256`` (edited after it was made), or no hash.
    PlanError
        Not a plan file.
    """
    path = Path(path)
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise PlanError(
            f"{path}: not a plan file ({e}); fix: give the plan.json that 'plan' wrote",
            key="plan_not_a_plan",
            path=str(path),
        ) from e
    if not isinstance(plan, dict) or plan.get("kind") != PLAN_KIND:
        raise PlanError(
            f"{path}: not a plan file; fix: give the plan.json that 'plan' wrote",
            key="plan_not_a_plan",
            path=str(path),
        )
    recorded, actual = plan.get(HASH_KEY), canonical_hash(plan)
    if recorded != actual:
        raise PlanHashError(
            f"{path}: the plan's content does not match its SHA-256 (recorded {recorded}, "
            f"content {actual}): it was changed after it was made. Fix: evaluate the plan as "
            "it was written, or make a new plan with 'python -m analysis plan' (a new plan made "
            "after the follow-up exists is no longer a plan fixed before the data)",
            key="plan_hash",
            path=str(path),
            recorded=str(recorded),
            actual=actual,
        )
    return plan


def _outcome_table(ds, plan: dict) -> pd.DataFrame | None:
    return ds.indeks_desa if plan["outcomes"]["series"] == "indeks_desa" else ds.welfare


def _check_follow_up(ds, plan: dict, data: Path) -> list[int]:
    """The follow-up years present from the judged year on (refuses when it is absent)."""
    j = plan["judge"]
    if not j["judgeable"]:
        raise PlanError(
            "this plan's outcome is IDM, which ended with 2024: agreements counting from "
            f"{j['year']} cannot be judged on it. Fix: add the Indeks Desa {j['year'] - 1} "
            "(the baseline) to the data folder and make a new plan",
            key="plan_idm_cannot_judge",
            year=j["year"],
            base=j["year"] - 1,
        )
    t = _outcome_table(ds, plan)
    years = sorted(int(y) for y in t["tahun"].unique()) if t is not None else []
    if j["year"] not in years:
        what = "Indeks Desa" if plan["outcomes"]["series"] == "indeks_desa" else "IDM"
        raise FollowUpMissingError(
            f"{data}: the plan is judged on the {what} {j['year']}, which the folder lacks "
            f"(years there: {', '.join(map(str, years)) or 'none'}). Fix: ingest the {what} "
            f"{j['year']} file into the folder ('python -m analysis ingest ... --indeks-desa "
            "FILE') and evaluate again; until then the plan waits",
            key="plan_follow_up_missing",
            data=str(data),
            what=what,
            year=j["year"],
            years=", ".join(map(str, years)) or "-",
        )
    return [y for y in years if y >= j["year"]]


def comparison_changes(ds, plan: dict) -> dict:
    """Comparison desa partnered since the plan, and planned desa without the judged outcome."""
    reg = ds.partnerships
    donors, treated = plan["comparison"]["desa"], plan["cohort"]["desa"]
    counted = reg[reg["status"].isin(COUNTING_STATUSES)] if len(reg) else reg
    now = sorted(set(counted["kode_desa"].dropna()) & set(donors)) if len(reg) else []
    t = _outcome_table(ds, plan)
    o, y = plan["outcomes"]["primary"], plan["judge"]["year"]
    have = set(t.loc[(t["tahun"] == y) & t[o].notna(), "kode_desa"])
    return {
        "donors_now_partnered": now,
        "donors_missing": sorted(set(donors) - have - set(now)),
        "treated_missing": sorted(set(treated) - have),
    }


def _changed(ch: dict) -> bool:
    return any(ch[k] for k in ("donors_now_partnered", "donors_missing", "treated_missing"))


def _refuse(ch: dict) -> None:
    parts = [
        f"{len(ch[k])} {what} ({', '.join(ch[k][:5])}{' ...' if len(ch[k]) > 5 else ''})"
        for k, what in (
            ("donors_now_partnered", "comparison desa partnered since the plan"),
            ("donors_missing", "comparison desa without the judged outcome"),
            ("treated_missing", "partnered desa without the judged outcome"),
        )
        if ch[k]
    ]
    raise ComparisonChangedError(
        "the comparison in the data differs from the plan: " + "; ".join(parts) + ". Fix: "
        "check the registry and the outcome file; to evaluate anyway without those desa, pass "
        "--replan (the page then says the plan was changed after the baseline, and how)",
        key="plan_comparison_changed",
        partnered=len(ch["donors_now_partnered"]),
        donors_missing=len(ch["donors_missing"]),
        treated_missing=len(ch["treated_missing"]),
    )


def _kept(plan: dict, ch: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list]:
    """Planned weights with the changed desa left out, rescaled; the placebo sets still usable."""
    donors = plan["comparison"]["desa"]
    out = set(ch["donors_now_partnered"]) | set(ch["donors_missing"])
    keep = np.array([d not in out for d in donors])
    omega = np.array([u["weight"] for u in plan["weights"]["unit"]]) * keep
    if omega.sum() <= 0:
        raise PlanError(
            "every comparison desa with a weight was left out; fix: make a new plan",
            key="plan_no_weight_left",
        )
    sets = np.array(plan["placebo"]["sets"], dtype=np.int64)
    pw = np.zeros((len(sets), len(donors)))
    for i, (idx, w) in enumerate(plan["placebo"]["weights"]):
        pw[i, idx] = w
    pw *= keep
    usable = keep[sets].all(axis=1) & (pw.sum(axis=1) > 0)
    pw = pw[usable] / pw[usable].sum(axis=1, keepdims=True)
    treated = [t for t in plan["cohort"]["desa"] if t not in set(ch["treated_missing"])]
    return omega / omega.sum(), sets[usable], pw, treated, [int(x) for x in np.flatnonzero(~usable)]


def _one(plan: dict, t: pd.DataFrame, o: str, y: int, w: tuple) -> dict:
    """The planned estimate, placebo test and interval of outcome ``o`` in year ``y``."""
    omega, sets, pw, treated, _ = w
    donors, base = plan["comparison"]["desa"], plan["baseline_values"][o]
    now = t[t["tahun"] == y].drop_duplicates("kode_desa").set_index("kode_desa")[o].astype(float)
    d_change = np.array([now.get(c, np.nan) - base.get(c, np.nan) for c in donors])
    d_change = np.nan_to_num(d_change, nan=0.0)  # left-out desa: weight 0 in every fit
    t_change = np.array([now[c] - base[c] for c in treated])
    tau, placebo = pm.planned_estimates(omega, sets, pw, d_change, t_change)
    inf = pm.placebo_inference(tau, placebo, plan["judge"]["alpha"])
    return {"outcome": o, "year": int(y), "estimate": tau, **inf,
            "treated_mean_change": float(t_change.mean()),
            "synthetic_change": float(omega @ d_change)}  # fmt: skip


def _baseline_revised(plan: dict, t: pd.DataFrame) -> int:
    """Planned desa whose baseline value in the data differs from the plan's."""
    o, y = plan["outcomes"]["primary"], plan["baseline"]["baseline_year"]
    now = t[t["tahun"] == y].drop_duplicates("kode_desa").set_index("kode_desa")[o]
    base = plan["baseline_values"][o]
    return int(sum(1 for c, v in base.items() if c in now and abs(float(now[c]) - v) > 1e-9))


def evaluate_plan(plan: dict, data: Path | Dataset, *, replan: bool = False) -> dict:
    """Apply a (hash-checked) plan to a data folder holding the judged year.

    Parameters
    ----------
    plan
        From :func:`read_plan`.
    data
        The data folder with the follow-up year, or its tables (then no ``truth``).
    replan
        Evaluate even when the comparison changed (the desa concerned left out and said so).

    Returns
    -------
    dict
        The evaluation: ``results`` (each outcome and follow-up year), ``decision`` (the
        primary outcome in the judged year by the plan's rule), ``changes``, ``replanned``.

    Raises
    ------
    FollowUpMissingError, ComparisonChangedError, PlanError
    """
    ds = data if isinstance(data, Dataset) else load_dataset(Path(data))
    years = _check_follow_up(ds, plan, ds.folder)
    ch = comparison_changes(ds, plan)
    if _changed(ch) and not replan:
        _refuse(ch)
    w = _kept(plan, ch)
    if not w[3]:
        raise PlanError(
            "no partnered desa has the judged outcome; nothing to evaluate",
            key="plan_no_treated_left",
        )
    t = _outcome_table(ds, plan)
    outs = [plan["outcomes"]["primary"], *plan["outcomes"]["secondary"]]
    results = [_one(plan, t, o, y, w) | {"role": "primary" if o == outs[0] else "secondary"}
               for o in outs for y in years if o in t.columns]  # fmt: skip
    main = next(r for r in results if r["role"] == "primary" and r["year"] == plan["judge"]["year"])
    alpha = plan["judge"]["alpha"]
    return {
        "kind": EVALUATION_KIND,
        "plan_sha256": plan[HASH_KEY],
        "district": plan["district"],
        "provenance": stamp(),
        "data": {
            "folder": str(ds.folder.resolve()),
            "synthetic": ds.synthetic,
            "hashes": ds.hashes,
        },
        "years": years,
        "changes": ch
        | {"placebo_sets_dropped": len(w[4]), "baseline_revised": _baseline_revised(plan, t)},
        "replanned": bool(replan and _changed(ch)),
        "n_treated": len(w[3]),
        "n_donors": int((w[0] > 0).sum()),
        "results": results,
        "decision": {
            "code": pm.decide(main["estimate"], main["p_value"], alpha),
            "alpha": alpha,
            "year": main["year"],
            "outcome": main["outcome"],
        },  # fmt: skip
        "truth": None if isinstance(data, Dataset) else _truth(Path(data), main),
    }


def _truth(data: Path, main: dict) -> dict | None:
    """The known effect when the folder is simulated with one (``truth.json``'s ``indeks_desa``)."""
    p = data / "truth.json"
    if not p.is_file():
        return None
    tr = (json.loads(p.read_text(encoding="utf-8")).get("indeks_desa") or {}).get("att") or {}
    v = (tr.get(main["outcome"]) or {}).get(str(main["year"]))
    if v is None:
        return None
    return {"att": v, "covered": bool(main["ci_low"] <= v <= main["ci_high"])}
