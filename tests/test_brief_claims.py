"""Every sentence of a district brief is a claim whose condition holds on the page's own numbers.

The district steps run over every district of six simulated worlds (the example data's seed, one a placebo,
``effect_scale=0``) with analytic inference; each brief is rendered in both languages and its
``summary.json`` / ``results.csv`` written. The facts are then recomputed from those files and
the simulated tables (not from the objects the page was built from), and the test checks that the
page shows exactly the claims whose conditions hold, plus the rules of issue 16 stated directly
(breakdown only when the interval excludes zero, "overstates" only beyond the noise, the
estimator named is the one computed, no result boilerplate without a result, no benefit read
into a failed pre-period test). The conditions are tested, never the wording.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import district as steps
from analysis.design import COUNTING_STATUSES, agreement_exposure, rows_in_district
from analysis.inputs.dataset import Dataset
from analysis.inputs.example_data import simulate
from analysis.inputs.frame import load_frame
from analysis.methods.results import parse_facts
from analysis.methods.sensitivity import e_value
from analysis.report import brief, claims
from analysis.schema import IDM_THRESHOLDS

WORLDS = ((20250826, 1.0), (1001, 1.0), (1002, 1.0), (1003, 1.0), (1004, 1.0), (1001, 0.0))
SPEC = steps.Specification(inference="analytic", draws=99, few_desa_placebos=19)
LANGS = ("id", "en")


def _districts() -> list[str]:
    f = load_frame()
    return sorted(f.loc[f["kode_prov"] == "64", "kode_kab"].unique())


def _claims_on(html: str) -> list[str]:
    return re.findall(r'data-claim="([^"]+)"', html)


_facts_column = parse_facts  # results.csv's ``facts`` column, read as the brief reads it


def _band(mean: float) -> tuple[str, float, float]:
    lo = 0.0
    for label, upper in IDM_THRESHOLDS:
        if mean <= upper:
            return label, lo, min(upper, 1.0)
        lo = upper
    raise AssertionError(mean)


def _rank(v: float) -> int:
    return sum(v > u for _, u in IDM_THRESHOLDS[:-1])


def _codes(reg: pd.DataFrame, g: pd.Series, year: int, last: int) -> set[str]:
    """Desa codes (10 digits) of the registry rows counted from ``year``, repeat partners out."""
    earlier = set(reg.loc[(g <= last).to_numpy(), "kode_desa"])
    rows = reg[(g == year).to_numpy() & ~reg["kode_desa"].isin(earlier).to_numpy()]
    return set(rows["kode_desa"].dropna().astype(str).str.replace(".", "", regex=False))


def _n_new(reg: pd.DataFrame, g: pd.Series, year: int, last: int) -> int:
    """Registry rows counted from ``year`` at desa that had not partnered by ``last``."""
    earlier = set(reg.loc[(g <= last).to_numpy(), "kode_desa"].dropna())
    return int(((g == year).to_numpy() & ~reg["kode_desa"].isin(earlier).to_numpy()).sum())


def _repeat(reg: pd.DataFrame, g: pd.Series, last: int) -> tuple[str, ...]:
    """Names of desa counted after ``last`` that already partnered by ``last``."""
    earlier = set(reg.loc[(g <= last).to_numpy(), "kode_desa"])
    again = reg[(g > last).to_numpy() & reg["kode_desa"].isin(earlier).to_numpy()]
    return tuple(sorted(set(map(str, again["nama_desa"].dropna()))))


def _recomputed(out: Path, ds: Dataset, code: str, cross_facts: dict) -> claims.Facts:
    """The facts of a brief from its summary.json and results.csv and the simulated tables."""
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cov, ev, last = s["coverage"], s["evidence"], int(s["last_year"])
    first = int(min(cov["years"]))
    reg = rows_in_district(ds.partnerships, code)
    reg = reg[reg["status"].isin(COUNTING_STATUSES)]
    g = agreement_exposure(reg) if len(reg) else pd.Series(dtype=float)
    later = sorted(int(x) for x in set(g[g > last]))
    settle = {y: "idm" if y <= 2024 else "first_indeks_desa" if y == 2025 else "indeks_desa"
              for y in later}  # fmt: skip
    base = {
        "name": s["name"],
        "applicable": True,
        "first_year": int(min(cov["years"])),
        "last_year": last,
        "carried_share": float(cov["carried_forward_share"]),
        "n_desa_unchanged": int(cov["n_desa_unchanged"]),
        "unchanged_share": float(cov["unchanged_share"]),
        "n_evaluated": int(cov["n_desa_evaluated"]),
        "n_desa_ended": int(cov.get("n_desa_ended", 0)),
        "n_from_start": int(cov["n_desa_from_start"]),
        "min_treated": int(s["specification"]["min_treated"]),
        "n_no_code": int(cov["n_rows_without_code"]),
        "recent": tuple(
            (
                y,
                settle[y],
                _n_new(reg, g, y, last),
                len(codes := _codes(reg, g, y, last)),
                len({c[:6] for c in codes}),
                y - first if y <= 2024 else 0 if y == 2025 else y - 2025,
            )
            for y in later
            if _n_new(reg, g, y, last)
        ),  # fmt: skip
        "synthetic": bool(ds.synthetic),
        "recent_repeat": _repeat(reg, g, last) if len(reg) else (),
    }
    welfare = rows_in_district(ds.welfare, code)
    wl = welfare[welfare["tahun"] == last]
    base["mandiri_share"] = float((wl["status_idm"] == "MANDIRI").mean())
    table = pd.read_csv(out / "results.csv")
    method = ev.get("method") or "cs_did"  # the few-desa comparison when it replaced cs_did
    head = table[(table["method"] == method) & (table["outcome"] == "nilai_idm")].iloc[0]
    if ev["grade"] == "not_estimable" or not bool(head["estimable"]):
        return claims.Facts(**base, reason=str(head["reason"]), few_reason=ev.get("few_reason", ""))
    est = float(head["estimate"])
    hf = _facts_column(head["facts"])
    naive = table[(table["method"] == "naive") & (table["outcome"] == "nilai_idm")]
    naive_ok = len(naive) and bool(naive["estimable"].iloc[0])
    mean = float(wl["nilai_idm"].mean())
    band, lo, hi = _band(mean)
    first = reg.assign(g=g).groupby("kode_desa")["g"].min() if len(reg) else pd.Series()
    # partnered from the panel's first year: no year before, so not evaluated
    evaluated = set(first[(first > int(min(cov["years"]))) & (first <= last)].index)
    late = set(first[first > last].index) & set(welfare.loc[welfare["tahun"] <= last, "kode_desa"])
    vals = wl.loc[wl["kode_desa"].isin(evaluated), "nilai_idm"].dropna()
    changed = sum(_rank(v) != _rank(v - est) for v in vals)
    ci = (float(head["ci_low"]), float(head["ci_high"]))
    evs = e_value(est, *ci, float(wl["nilai_idm"].std()))
    return claims.Facts(
        **base,
        estimable=True,
        grade=ev["grade"],
        reasons=tuple(ev["reasons"]),
        caveats=tuple(ev["caveats"]),
        estimate=est,
        ci_low=ci[0],
        ci_high=ci[1],
        n_treated=int(head["n_treated"]),
        n_control=int(head["n_control"]),
        pretrend_p=float(ev["pretrend_p"]),
        pre_max_abs=float(ev["pre_max_abs"]),
        pre_detectable=float(ev["pre_detectable"]),
        breakdown_mbar=float(ev["breakdown_mbar"]),
        mde=float(ev["mde"]),
        e_value=float(evs.point),
        e_value_bound=float(evs.ci_bound),
        headline_method=method,
        cohort=int(hf.get("cohort", 0)),
        n_placebos=int(hf.get("n_placebos", 0)),
        est_method_requested=hf.get("est_method_requested", ""),
        est_method_used=str(head["est_method"]),
        n_cells=int(hf.get("n_cells", 0)),
        n_cells_reg_fallback=int(hf.get("n_cells_reg_fallback", 0)),
        late_exposed=hf.get("late_exposed", ""),
        ps_model=hf.get("ps_model", ""),
        n_late_exposed=len(late),
        n_dropped_missing_year=int(hf.get("n_dropped_missing_year", 0)),
        naive_estimate=float(naive["estimate"].iloc[0]) if naive_ok else math.nan,
        naive_se=float(naive["se"].iloc[0]) if naive_ok else math.nan,
        naive_ci_low=float(naive["ci_low"].iloc[0]) if naive_ok else math.nan,
        naive_ci_high=float(naive["ci_high"].iloc[0]) if naive_ok else math.nan,
        **cross_facts,
        mean_last=mean,
        band=band,
        band_low=lo,
        band_high=hi,
        n_evaluated_last=len(vals),
        n_status_change=int(changed),
        first_cohort=int(min((first[d] for d in evaluated & set(wl["kode_desa"])), default=0)),
    )


def _trim_facts(cross, trim: float) -> dict:
    """The weighting's trimming facts (the naive comparison's are read from results.csv)."""
    facts = brief._cross_facts(cross, trim)
    return {k: v for k, v in facts.items() if not k.startswith("naive_")}


def _direct_rules(f: claims.Facts, shown: set[str]) -> None:
    """Issue 16's rules, stated here from the recomputed numbers, not through the claims."""
    excludes = f.estimable and (f.ci_low > 0 or f.ci_high < 0)
    assert ("sens.breakdown" in shown) == (excludes and f.breakdown_mbar > 0)
    if "caveat.naive_larger" in shown:
        assert f.naive_estimate - f.estimate > 1.96 * f.naive_se
    assert ("est.fallback" in shown) == (f.estimable and f.n_cells_reg_fallback > 0)
    if "est.ps_pooled" in shown:  # the weighting was computed, with the district's one model
        assert f.ps_model == "pooled" and f.n_cells_reg_fallback < f.n_cells
    if not f.estimable:
        assert not shown & {"evalue.point", "caveat.causal", "method_text", "means.cannot"}
    rejects = f.estimable and f.pretrend_p < 0.10
    if rejects:
        assert "key.pretrend" in shown
        assert not any(k.endswith(".up") for k in shown)
    gap_before = f.estimable and math.isfinite(f.pre_max_abs) and f.pre_max_abs > abs(f.estimate)
    if rejects or gap_before:  # never a benefit, never a size
        assert f.grade == "insufficient", (f.grade, f.pretrend_p, f.pre_max_abs, f.estimate)
        assert not any(k.endswith((".up", ".down")) or k.startswith("units.") for k in shown)
    if any(k.startswith("units.") for k in shown):
        assert f.grade in ("strong", "suggestive")
    if "caveat.naive_close" in shown:  # "adjustment did not change it" only when both agree on zero
        assert not ((f.naive_ci_low > 0 or f.naive_ci_high < 0) and not excludes)
    for year, settle, _, n_desa, _, before in f.recent:
        if settle == "first_indeks_desa":  # its own sentence says "at best an indication"
            continue
        few = f.min_treated <= n_desa < f.min_evaluated
        assert ("rec.settle_few" in shown) >= few, year
        tiny = 0 < n_desa < f.min_treated
        assert ("rec.settle_tiny" in shown) >= (tiny and before >= 2), year
        assert ("rec.settle_tiny.no_twin" in shown) >= (tiny and before < 2), year
    if not any(0 < r[3] < f.min_treated and r[1] != "first_indeks_desa" for r in f.recent):
        assert not shown & {"rec.settle_tiny", "rec.settle_tiny.no_twin"}
    result = excludes and not (rejects or gap_before)  # a difference the page stands by
    if result and "fragile_to_trend_violation" in f.caveats:
        assert "caveat.fragile" in shown
    if not result:  # nothing to explain away, survive or overstate
        assert not shown & {
            "caveat.fragile",
            "evalue.point",
            "caveat.causal",
            "caveat.naive_larger",
        }
    assert len([k for k in shown if k.startswith("key.")]) == 1


def _check_world(ds: Dataset, tmp_path: Path) -> set[str]:
    """Every district of ``ds``: the page shows exactly the claims that hold; the keys seen."""
    seen: set[str] = set()
    for code in _districts():
        data = steps.prepare_dataset(ds, code, spec=SPEC)
        if not data.applicable:
            continue
        main = steps.estimate_main(data, variants=False)
        cross = steps.estimate_cross_section(data)
        outcomes = steps.estimate_outcomes(data)
        evidence = steps.judge_evidence(main, outcomes, data)
        out = tmp_path / code
        table = steps.results_table(main, cross, outcomes, pd.DataFrame())
        steps.save_results(out, data, table, evidence, {"district": code})
        # the trimming counts come from the propensity fit itself (not written to results.csv)
        f = _recomputed(out, ds, code, _trim_facts(cross, data.spec.trim))
        expected = claims.holds(f)
        for lang in LANGS:
            html = str(brief.summary_html(data, main, evidence, lang, "", cross))
            html += str(brief.caveats_html(data, evidence, lang, cross))
            on_page = _claims_on(html)
            assert set(on_page) <= set(claims.BY_KEY), set(on_page) - set(claims.BY_KEY)
            assert set(on_page) == expected, (code, lang, set(on_page) ^ expected)
            _direct_rules(f, set(on_page))
        seen |= expected
    return seen


@pytest.mark.parametrize(("seed", "scale"), WORLDS)
def test_every_shown_claim_holds_and_every_false_one_is_absent(tmp_path, seed, scale):
    sim = simulate("64", seed, scale)
    ds = Dataset(
        folder=tmp_path,
        villages=sim.villages,
        welfare=sim.welfare,
        partnerships=sim.partnerships,
        meta={"synthetic": True},
    )
    seen = _check_world(ds, tmp_path)
    # the worlds exercise both sides of the conditions that matter most
    assert {"est.fallback", "late.exclude", "est.ps_pooled"} <= seen, seen


def test_every_shown_claim_holds_on_the_real_idm_world(shared_idm, tmp_path):
    """The real 2023-2024 IDM values with the 12-row registry of ``test_real_idm_world``."""
    from conftest import write_official_idm

    from analysis.ingest import ingest
    from analysis.inputs.dataset import load_dataset

    files = [
        write_official_idm(
            shared_idm[shared_idm["tahun"] == y].reset_index(drop=True), y, tmp_path / f"{y}.xlsx"
        )
        for y in (2023, 2024)
    ]
    registry = Path(__file__).parent / "fixtures" / "registry_real_idm_12.csv"
    ingest(idm=files, partnerships=registry, out=tmp_path / "data")
    ds = load_dataset(tmp_path / "data")
    assert not ds.synthetic
    seen = _check_world(ds, tmp_path / "out")
    assert "key.not_estimable" in seen  # Kutai Barat's desa are too few or too recent


def test_status_changes_and_bands_are_counted_at_the_thresholds():
    assert claims.status_band(0.80) == ("MAJU", 0.7072, 0.8155)
    assert claims.status_band(0.95)[2] == 1.0
    # 0.710 moves to BERKEMBANG without +0.005; 0.750 and 0.800 stay MAJU
    assert claims.status_changes(np.array([0.710, 0.750, 0.800, np.nan]), 0.005) == 1
    assert claims.status_changes(np.array([0.710]), -0.005) == 0


def test_a_rejected_pre_period_test_never_reads_as_a_benefit():
    f = claims.Facts(
        estimable=True,
        grade="suggestive",
        reasons=("pretrend",),
        estimate=0.02,
        ci_low=0.01,
        ci_high=0.03,
        pretrend_p=0.048,
    )
    keys = claims.holds(f)
    assert "key.pretrend" in keys and "means.can.pretrend" in keys
    assert not {k for k in keys if k.endswith(".up")}
    assert "key.suggestive.up" in claims.holds(claims.Facts(**{**f.__dict__, "pretrend_p": 0.5}))


def test_overstates_only_beyond_the_noise_of_the_naive_comparison():
    base = {"estimable": True, "estimate": 0.012, "ci_low": 0.002, "ci_high": 0.03}
    close = claims.Facts(**base, naive_estimate=0.014, naive_se=0.013)
    assert "caveat.naive_close" in claims.holds(close)
    assert "caveat.naive_larger" not in claims.holds(close)
    far = claims.Facts(**base, naive_estimate=0.05, naive_se=0.013)
    assert "caveat.naive_larger" in claims.holds(far)
    # no result (the interval includes zero): nothing for the naive comparison to overstate
    assert "caveat.naive_larger" not in claims.holds(claims.Facts(**{**base, "ci_low": -0.01},
                                                                   naive_estimate=0.05,
                                                                   naive_se=0.013))  # fmt: skip
