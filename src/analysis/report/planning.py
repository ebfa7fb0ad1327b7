"""``plan`` and ``evaluate``: an evaluation fixed on baseline data, applied once the follow-up exists.

:func:`make_plan` reads a data folder and the agreements files, and fixes from the years before
the agreements count: the partnered desa (one cohort), the comparison desa (never partnered,
restricted as :data:`analysis.methods.synthetic.DONOR_COLUMNS` allows), the outcome, the unit
and time weights and every placebo set's weights (:mod:`analysis.methods.plan`), the minimum
detectable effect, the year it can first be judged and the decision rule. The plan is a JSON
object whose ``content_sha256`` is the SHA-256 of its canonical form (sorted keys, compact, no
hash field). :func:`evaluate_plan` checks that hash, that the follow-up year exists and that the
comparison is still the planned one, then applies the plan without refitting anything.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.design import COUNTING_STATUSES, agreement_exposure, rows_in_district
from analysis.district import read_agreement_files
from analysis.errors import AnalysisError, OptionError, check_option
from analysis.inputs.dataset import Dataset, file_sha256, load_dataset
from analysis.inputs.frame import DESA_KINDS, resolve_district
from analysis.inputs.indeks_desa import FIRST_YEAR, OUTCOME_WITHOUT_ITEM, OUTCOMES, REMOVED_ITEM
from analysis.methods import plan as pm
from analysis.methods.describe import merged_registry
from analysis.methods.inference import DEFAULT_SEED
from analysis.methods.options import DonorRestriction
from analysis.methods.synthetic import DEFAULT_DONOR_POOL, DEFAULT_PLACEBOS, DONOR_COLUMNS
from analysis.provenance import stamp

PLAN_KIND = "analysis.evaluation_plan"
PLAN_VERSION = 1
HASH_KEY = "content_sha256"
#: The IDM rows enter the weights on the Indeks Desa's 0-100 scale.
IDM_SCALE = 100.0
DEFAULT_ALPHA = 0.05


class PlanError(AnalysisError):
    """A plan cannot be made from these data (the message says what is missing)."""


class PlanHashError(AnalysisError):
    """A plan whose content does not match its recorded hash: it was edited after it was made."""


class FollowUpMissingError(AnalysisError):
    """The data folder lacks the year the plan is judged on."""


class ComparisonChangedError(AnalysisError):
    """The partnered or comparison desa in the data differ from the plan's (``--replan`` allows it)."""


def canonical_hash(obj: dict) -> str:
    """SHA-256 of ``obj`` without :data:`HASH_KEY`, as sorted compact UTF-8 JSON."""
    body = {k: v for k, v in obj.items() if k != HASH_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- who is compared ----------------------------------------------------------------------------


def _cohort(agreements: pd.DataFrame, code: str) -> dict:
    """The partnered desa of the earliest exposure year from 2025, and every row left out."""
    rows, left = agreements.reset_index(drop=True), []
    for i, r in rows.iterrows():
        why = (
            "no_code"
            if pd.isna(r["kode_desa"])
            else "other_district"
            if not str(r["kode_desa"]).startswith(code + ".")
            else "status"
            if r["status"] not in COUNTING_STATUSES
            else None
        )
        if why:
            left.append({"row": int(i) + 2, "id": str(r.get("id_kerjasama")), "why": why,
                         "nama_desa": str(r.get("nama_desa") or "")})  # fmt: skip
    ok = rows[rows["kode_desa"].notna() & rows["kode_desa"].astype(str).str.startswith(code + ".")]
    ok = ok[ok["status"].isin(COUNTING_STATUSES)]
    exp = agreement_exposure(ok)
    if not (exp >= FIRST_YEAR).any():
        raise PlanError(
            "the agreements files hold no agreement of this district that counts from "
            f"{FIRST_YEAR} on; fix: give the file of the new agreements (--agreements FILE)",
            key="plan_no_new_agreement",
            year=FIRST_YEAR,
        )
    g = int(exp[exp >= FIRST_YEAR].min())
    desa = sorted(set(ok.loc[exp == g, "kode_desa"].astype(str)))
    later = sorted(set(ok.loc[exp != g, "kode_desa"].astype(str)) - set(desa))
    return {"exposure_year": g, "desa": desa, "later": later, "left_out_rows": left}


def _comparison(ds, registry: pd.DataFrame, code: str, cohort: dict, pool: tuple) -> dict:
    """Never-partnered desa of the district that share the restricted columns with the cohort."""
    v = ds.villages
    v = v[(v["kode_kab"] == code) & v["jenis"].isin(DESA_KINDS)].set_index("kode_desa")
    partnered = set(registry.loc[registry["status"].isin(COUNTING_STATUSES), "kode_desa"].dropna())
    treated = set(cohort["desa"]) | set(cohort["later"])
    never = [c for c in v.index if c not in partnered and c not in treated]
    cols = [DONOR_COLUMNS[r] if r != "kecamatan" else "kode_kec" for r in pool if r != "district"]
    keep, outside = never, []
    if cols:
        keys = {tuple(map(str, v.loc[c, cols])) for c in cohort["desa"] if c in v.index}
        keep = [c for c in never if tuple(map(str, v.loc[c, cols])) in keys]
        outside = sorted(set(never) - set(keep))
    earlier = registry[registry["kode_desa"].isin(cohort["desa"])]
    earlier = earlier[earlier["status"].isin(COUNTING_STATUSES)]
    earlier = earlier[agreement_exposure(earlier) < cohort["exposure_year"]]
    return {
        "desa": sorted(keep),
        "partnered_excluded": len(partnered & set(v.index) - treated),
        "outside_restriction": outside,
        "cohort_partnered_before": sorted(set(earlier["kode_desa"])),
    }


# -- the baseline -------------------------------------------------------------------------------


def _series(ds, g: int) -> dict:
    """Baseline years of IDM and of the Indeks Desa, and the outcomes that follow from them."""
    idm_years = sorted(int(y) for y in ds.welfare["tahun"].unique() if y < g)
    idx = ds.indeks_desa
    id_years = sorted(int(y) for y in idx["tahun"].unique() if y < g) if idx is not None else []
    if id_years:
        return {"series": "indeks_desa", "idm_years": idm_years, "indeks_desa_years": id_years,
                "primary": OUTCOME_WITHOUT_ITEM, "secondary": list(OUTCOMES[1:]),
                "baseline_year": id_years[-1]}  # fmt: skip
    if not idm_years:
        raise PlanError(
            f"no IDM or Indeks Desa year before {g} in the data folder",
            key="plan_no_baseline",
            year=g,
        )
    return {"series": "idm", "idm_years": idm_years, "indeks_desa_years": [],
            "primary": "nilai_idm", "secondary": ["iks", "ike", "ikl"],
            "baseline_year": idm_years[-1]}  # fmt: skip


def _wide(ds, s: dict, units: list[str]) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """IDM x 100 by baseline year, and each outcome's baseline-year value, for ``units``."""
    w = ds.welfare[ds.welfare["kode_desa"].isin(units)]
    idm = w.pivot_table(index="kode_desa", columns="tahun", values="nilai_idm", aggfunc="first")
    idm = (idm.reindex(index=units, columns=s["idm_years"]) * IDM_SCALE).astype(float)
    if s["series"] == "indeks_desa":
        t = ds.indeks_desa
        t = t[(t["tahun"] == s["baseline_year"]) & t["kode_desa"].isin(units)]
        t = t.drop_duplicates("kode_desa").set_index("kode_desa")
    else:
        t = w[w["tahun"] == s["baseline_year"]].drop_duplicates("kode_desa").set_index("kode_desa")
    base = {o: t[o].reindex(units).astype(float) for o in [s["primary"], *s["secondary"]]}
    return idm, base


def _complete(idm: pd.DataFrame, base: dict, units: list[str], s: dict) -> tuple[list, list]:
    """The units with every baseline row, and those left out (with the rows they lack)."""
    rows = idm.copy()
    rows["__primary"] = base[s["primary"]]
    ok = rows.notna().all(axis=1)
    left = [{"kode_desa": u, "missing": [str(c) for c in rows.columns[rows.loc[u].isna()]]}
            for u in units if not ok[u]]  # fmt: skip
    return [u for u in units if ok[u]], left


def _matrix(idm: pd.DataFrame, base: dict, s: dict, units: list[str]) -> np.ndarray:
    """Fit rows: IDM x 100 of every baseline year, then the outcome's baseline year (Indeks Desa)."""
    m = idm.loc[units].to_numpy()
    if s["series"] == "indeks_desa":
        m = np.column_stack([m, base[s["primary"]].loc[units].to_numpy()])
    return m


def _fit_rows(s: dict) -> list[str]:
    rows = [f"nilai_idm:{y}" for y in s["idm_years"]]
    return rows + ([f"{s['primary']}:{s['baseline_year']}"] if s["series"] == "indeks_desa" else [])


# -- the plan -----------------------------------------------------------------------------------


def _sparse(w: np.ndarray) -> list:
    """A weight vector as [[donor indices], [weights]] (zeros left out)."""
    nz = np.flatnonzero(w > 0)
    return [nz.tolist(), [float(x) for x in w[nz]]]


def _mde(idm_donors: np.ndarray, idm_treated: np.ndarray, pw: pm.PlannedWeights, scale: float,
         alpha: float, seed: int) -> dict:  # fmt: skip
    """Back-test one year earlier on IDM: the placebo estimates of one year's change, no effect."""
    if idm_donors.shape[1] < 3:
        return {"available": False, "reason": "fewer_than_three_idm_years"}
    fit0, fit1 = idm_donors[:, :-1], idm_treated[:, :-1]
    back = pm.fit_planned_weights(fit0, fit1, fit0, draws=len(pw.sets), seed=seed)
    change = idm_donors[:, -1] - idm_donors[:, -2]
    _, placebo = pm.planned_estimates(back.omega, back.sets, back.placebo_omega, change, [0.0])
    m = pm.minimum_detectable_effect(placebo * scale, alpha)
    return {"available": True, "mde": _finite(m["mde"]), "critical": _finite(m["critical"]),
            "sd": _finite(m["sd"]), "n_placebos": m["n_placebos"], "power": m["power"],
            "alpha": alpha, "scale": scale, "idm_years": None}  # fmt: skip


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def make_plan(
    data: Path | Dataset,
    district: str,
    agreements: list[Path],
    *,
    donor_pool: tuple[DonorRestriction, ...] = DEFAULT_DONOR_POOL,
    alpha: float = DEFAULT_ALPHA,
    draws: int = DEFAULT_PLACEBOS,
    seed: int = DEFAULT_SEED,
    minimum_detectable: bool = True,
) -> dict:
    """The evaluation plan of one cohort of partnered desa, from baseline data only.

    Parameters
    ----------
    data
        A data folder (:func:`analysis.inputs.dataset.load_dataset`) or its tables.
    district
        Code or name (``"64.02"``, ``"Kukar"``).
    agreements
        Registry files holding the new agreements (:func:`analysis.district.read_agreement_files`).
    donor_pool
        Restrictions of the comparison desa beyond the district (``"kecamatan"``, ``"mining"``,
        ``"plantation"``), as :func:`analysis.methods.synthetic.synthetic_cohort`.
    alpha, draws, seed
        Level of the test; placebo sets drawn when there are more than
        :data:`analysis.methods.synthetic.MAX_EXACT` (seeded).
    minimum_detectable
        Compute the minimum detectable effect (a second set of fits; a simulation study that
        needs only the interval may skip it, and the plan then says it was not computed).

    Returns
    -------
    dict
        The plan, hashed (:data:`HASH_KEY`).

    Raises
    ------
    PlanError
        No new agreement, no baseline, too few comparison desa.
    """
    for r in donor_pool:
        check_option("donor_pool", r, DonorRestriction)
    if not 0 < alpha < 1:
        raise OptionError(f"alpha={alpha} must lie between 0 and 1", key="plan_alpha", alpha=alpha)
    ds = data if isinstance(data, Dataset) else load_dataset(Path(data))
    d = resolve_district(district)
    files = [Path(p) for p in agreements]
    rows = read_agreement_files(",".join(map(str, files)))
    if rows is None:
        raise PlanError(
            "no agreements file given; fix: --agreements FILE", key="plan_no_agreements"
        )
    cohort = _cohort(rows, d.code)
    merged, _ = merged_registry(ds.partnerships, rows)
    comp = _comparison(ds, rows_in_district(merged, d.code), d.code, cohort, tuple(donor_pool))
    s = _series(ds, cohort["exposure_year"])
    fit = _fit(ds, s, cohort, comp, (alpha, draws, seed, minimum_detectable))
    plan = _assemble(ds, d, files, cohort, comp, s, fit, tuple(donor_pool), alpha)
    plan[HASH_KEY] = canonical_hash(plan)
    return plan


def _assemble(ds, d, files, cohort, comp, s, fit, donor_pool, alpha) -> dict:
    """The plan's fields, unhashed."""
    return {
        "kind": PLAN_KIND,
        "version": PLAN_VERSION,
        "district": {"code": d.code, "name": d.name},
        "provenance": stamp(),
        "data": _data_facts(ds, files),
        "cohort": cohort | {"desa": fit["treated"], "missing_baseline": fit["left_treated"]},
        "comparison": comp
        | {
            "desa": fit["donors"],
            "missing_baseline": fit["left_donors"],
            "donor_pool": list(donor_pool),
        },  # fmt: skip
        "baseline": {
            k: s[k] for k in ("series", "idm_years", "indeks_desa_years", "baseline_year")
        },
        "outcomes": {
            "primary": s["primary"],
            "secondary": s["secondary"],
            "series": s["series"],
            "removed_item": REMOVED_ITEM if s["series"] == "indeks_desa" else None,
        },  # fmt: skip
        "names": fit["names"],
        "weights": fit["weights"],
        "baseline_values": fit["baseline_values"],
        "placebo": fit["placebo"],
        "mde": fit["mde"],
        "judge": _judge(s, cohort["exposure_year"], alpha),
        "outcome_years_already_in_folder": _already(ds, s, cohort["exposure_year"]),
    }


def _judge(s: dict, g: int, alpha: float) -> dict:
    """The first year that can judge the agreements and the decision rule."""
    judgeable = s["series"] == "indeks_desa" or g < FIRST_YEAR
    return {
        "year": g,
        "judgeable": judgeable,
        "reason": None if judgeable else "idm_ended_2024",
        "estimator": "synthetic_did_fixed_weights",
        "test": "placebo_in_space_abs_effect",
        "alpha": alpha,
        "two_sided": True,
        "decisions": {
            "increase": "p <= alpha and estimate > 0",
            "decrease": "p <= alpha and estimate < 0",
            "no_detectable_change": "p > alpha",
        },
    }


def _already(ds, s: dict, g: int) -> list[int]:
    """Outcome years from the exposure year on that the folder already holds (not used)."""
    t = ds.indeks_desa if s["series"] == "indeks_desa" else ds.welfare
    return sorted(int(y) for y in t["tahun"].unique() if y >= g)


def _data_facts(ds, files: list[Path]) -> dict:
    return {
        "folder": str(ds.folder.resolve()),
        "synthetic": ds.synthetic,
        "hashes": ds.hashes,
        "agreements": [{"file": str(f.resolve()), "sha256": file_sha256(f)} for f in files],
    }


def _fit(ds, s: dict, cohort: dict, comp: dict, how: tuple) -> dict:
    """Balanced baseline, weights, placebo sets and the MDE (``how``: alpha, draws, seed, MDE)."""
    alpha, draws, seed, with_mde = how
    treated0, donors0 = cohort["desa"], comp["desa"]
    idm, base = _wide(ds, s, treated0 + donors0)
    treated, left_t = _complete(idm, base, treated0, s)
    donors, left_d = _complete(idm, base, donors0, s)
    if not treated:
        raise PlanError(
            "no partnered desa of the cohort has every baseline year; see the data",
            key="plan_no_treated_baseline",
        )
    if len(donors) - len(treated) < 2:
        raise PlanError(
            f"{len(donors)} comparison desa with every baseline year: too few",
            key="plan_too_few_donors",
            n=len(donors),
        )
    Y0, Y1 = _matrix(idm, base, s, donors), _matrix(idm, base, s, treated)
    diff = idm.loc[donors].to_numpy()
    pw = pm.fit_planned_weights(Y0, Y1, diff, draws=draws, seed=seed)
    o0 = base[s["primary"]].loc[donors].to_numpy()
    scale = float(np.std(o0, ddof=1) / np.std(diff[:, -1], ddof=1))
    if s["series"] == "idm":
        scale = 1 / IDM_SCALE
    mde = {"available": False, "reason": "not_computed"}
    if with_mde:
        mde = _mde(diff, idm.loc[treated].to_numpy(), pw, scale, alpha, seed)
        mde["idm_years"] = s["idm_years"][-2:]
    names = ds.villages.set_index("kode_desa")["nama_desa"].reindex(treated + donors)
    return {
        "treated": treated,
        "donors": donors,
        "left_treated": left_t,
        "left_donors": left_d,
        "names": {k: str(v) for k, v in names.items() if pd.notna(v)},
        "weights": {
            "unit": [
                {"kode_desa": c, "weight": float(w)} for c, w in zip(donors, pw.omega, strict=True)
            ],
            "time": [{"tahun": s["baseline_year"], "weight": 1.0}],
            "fit_rows": _fit_rows(s),
            "noise": pw.noise,
            "zeta": pw.zeta,
            "pre_rmspe": pw.pre_rmspe,
            "n_positive": int((pw.omega > 0).sum()),
        },
        "baseline_values": {
            o: {c: float(v) for c, v in base[o].loc[treated + donors].items() if pd.notna(v)}
            for o in base
        },  # fmt: skip
        "placebo": {
            "sets": pw.sets.tolist(),
            "weights": [_sparse(w) for w in pw.placebo_omega],
            "exact": pw.exact,
            "n_assignments": pw.n_assignments,
            "seed": seed if not pw.exact else 0,
        },
        "mde": mde,
    }
