"""One district, step by step: the calls a report notebook makes, in order.

Each function takes and returns frozen objects, so a notebook is one call per step:
``prepare`` -> ``describe_district`` -> ``estimate_main`` -> ``estimate_cross_section`` ->
``estimate_outcomes`` -> ``estimate_heterogeneity`` -> ``judge_evidence`` -> ``save_results``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from analysis import __version__
from analysis.crosssection import CrossSection, compare_year
from analysis.dataset import Dataset, load_dataset
from analysis.describe import coverage, outcome_summary, partnership_counts, status_transitions
from analysis.design import OUTCOMES, Design, agreement_exposure, analysis_panel, rows_in_district
from analysis.frame import District, resolve_district, villages_of
from analysis.panel import MIN_TREATED, Staggered, callaway_santanna, twfe
from analysis.results import Estimate, NotEstimable, Result, to_frame
from analysis.schema import PARTNER_TYPES, SECTORS
from analysis.sensitivity import EValue, e_value, mde_from_se
from analysis.slices import slice_for
from analysis.tables import write_file_atomically

#: The headline method: robust to staggered starts and effects that change over time.
HEADLINE_METHOD = "Callaway-Sant'Anna DiD"


@dataclass(frozen=True)
class DistrictData:
    """A district's panel, ready for every step."""

    district: District
    dataset: Dataset
    panel: pd.DataFrame
    design: Design
    first_year: int
    last_year: int
    coverage: dict
    applicable: bool
    reason: str = ""
    recent: pd.DataFrame = field(default_factory=pd.DataFrame)


def prepare(
    data_dir: str | Path, district: str, outcome: str = "nilai_idm", last_year: int | None = None
) -> DistrictData:
    """Load the data folder, resolve the district and build its desa-year panel.

    In a batch run the kernel is given the district's slice of the folder (read once per run,
    see :mod:`analysis.slices`) and reads that instead; the results are the same.
    """
    d = resolve_district(district)
    ds = load_dataset(slice_for(data_dir, d.code) or Path(data_dir))
    design = Design(outcome=outcome)
    frame_desa = villages_of(d)
    if not d.has_desa:
        return DistrictData(
            d, ds, pd.DataFrame(), design, 0, 0, {"n_desa_frame": 0}, False, "no_desa"
        )
    panel = analysis_panel(ds.welfare, ds.villages, ds.partnerships, district=d.code)
    if panel.empty:
        return DistrictData(
            d, ds, panel, design, 0, 0, {"n_desa_frame": len(frame_desa)}, False, "no_data"
        )
    first = int(panel["tahun"].min())
    last = int(panel["tahun"].max()) if last_year is None else int(last_year)
    panel = panel[panel["tahun"] <= last]
    cov = coverage(panel, ds.partnerships, d.code, len(frame_desa), last)
    reg = rows_in_district(ds.partnerships, d.code)
    recent = reg[(agreement_exposure(reg) > last).to_numpy()]
    recent = recent[
        ["kode_desa", "nama_desa", "mitra", "jenis_mitra", "tanggal_tanda_tangan"]
    ].reset_index(drop=True)
    return DistrictData(d, ds, panel, design, first, last, cov, True, "", recent)


@dataclass(frozen=True)
class Description:
    counts: dict
    outcome_summary: pd.DataFrame
    transitions: pd.DataFrame


def describe_district(data: DistrictData) -> Description:
    """Counts by kecamatan, partner type, sector and start year; outcome summary; status moves."""
    if not data.applicable:
        return Description({}, pd.DataFrame(), pd.DataFrame())
    return Description(
        partnership_counts(data.dataset.partnerships, data.district.code, data.dataset.villages),
        outcome_summary(data.panel, data.design.outcome),
        status_transitions(data.panel, data.first_year, data.last_year),
    )


@dataclass(frozen=True)
class MainEstimate:
    """The staggered DiD (headline) and the TWFE benchmark for one outcome."""

    headline: Result
    staggered: Staggered | None
    twfe: Result
    not_yet_treated: Result


def _tag(r: Result, district: str) -> Result:
    return replace(r, district=district)


def estimate_main(data: DistrictData, control_group: str = "nevertreated") -> MainEstimate:
    """Callaway-Sant'Anna (headline; never-treated controls by default), the not-yet-treated
    variant as a check, and two-way fixed effects as the conventional benchmark."""
    y, code = data.design.outcome, data.district.code
    other = "notyettreated" if control_group == "nevertreated" else "nevertreated"
    if not data.applicable:
        return MainEstimate(
            NotEstimable(y, HEADLINE_METHOD, "ATT", data.reason, district=code),
            None,
            NotEstimable(y, "Two-way fixed effects", "ATT", data.reason, district=code),
            NotEstimable(y, f"{HEADLINE_METHOD} ({other})", "ATT", data.reason, district=code),
        )
    head, agg = callaway_santanna(data.panel, data.design, control_group, data.last_year)
    alt, _ = callaway_santanna(data.panel, data.design, other, data.last_year)
    alt = replace(alt, method=f"{HEADLINE_METHOD} ({other})")
    tw = twfe(data.panel, data.design)
    return MainEstimate(_tag(head, code), agg, _tag(tw, code), _tag(alt, code))


def estimate_cross_section(data: DistrictData, year: int | None = None) -> CrossSection:
    """Naive, regression, IPW, AIPW and matching comparisons in one year (default: the last)."""
    if not data.applicable:
        return CrossSection([], None, None, None)
    cs = compare_year(data.panel, data.design, year or data.last_year)
    return CrossSection(
        [_tag(r, data.district.code) for r in cs.results], cs.balance, cs.propensity, cs.data
    )


def estimate_outcomes(
    data: DistrictData, control_group: str = "nevertreated", outcomes: tuple[str, ...] = OUTCOMES
) -> pd.DataFrame:
    """The headline estimator on every outcome, with Benjamini-Hochberg adjusted p-values."""
    rows: list[Result] = []
    for o in outcomes:
        if not data.applicable:
            rows.append(
                NotEstimable(o, HEADLINE_METHOD, "ATT", data.reason, district=data.district.code)
            )
            continue
        r, _ = callaway_santanna(
            data.panel, data.design.with_outcome(o), control_group, data.last_year
        )
        rows.append(_tag(r, data.district.code))
    t = to_frame(rows)
    ok = t["estimable"] & t["p_value"].notna()
    t["q_value_bh"] = np.nan
    if ok.any():
        t.loc[ok, "q_value_bh"] = multipletests(t.loc[ok, "p_value"], method="fdr_bh")[1]
    return t


def estimate_heterogeneity(data: DistrictData, control_group: str = "nevertreated") -> pd.DataFrame:
    """The headline estimator by partner type and by sector (groups with enough desa only)."""
    rows = []
    if not data.applicable:
        return pd.DataFrame(columns=["dimension", "group", *to_frame([]).columns])
    for dim, values in (("jenis_mitra", PARTNER_TYPES), ("sektor", SECTORS)):
        present = set(data.panel.loc[data.panel["g"] > 0, dim].dropna())
        for v in values:
            if v not in present:
                continue
            treat = f"{'type' if dim == 'jenis_mitra' else 'sector'}:{v}"
            panel = analysis_panel(
                data.dataset.welfare,
                data.dataset.villages,
                data.dataset.partnerships,
                treat,
                data.district.code,
            )
            panel = panel[panel["tahun"] <= data.last_year]
            r, _ = callaway_santanna(
                panel, data.design.with_treatment(treat), control_group, data.last_year
            )
            row = to_frame([_tag(r, data.district.code)]).iloc[0].to_dict()
            rows.append({"dimension": dim, "group": v, **row})
    t = pd.DataFrame(rows)
    if len(t):
        ok = t["estimable"] & t["p_value"].notna()
        t["q_value_bh"] = np.nan
        if ok.any():
            t.loc[ok, "q_value_bh"] = multipletests(t.loc[ok, "p_value"], method="fdr_bh")[1]
    return t


@dataclass(frozen=True)
class Evidence:
    """How strong the headline is, in one word, with the numbers behind the judgement."""

    grade: str  # "strong", "suggestive", "insufficient", "not_estimable"
    reasons: tuple[str, ...]
    mde: float
    e_value: EValue
    pretrend_p: float
    n_treated: int
    headline: Result


def judge_evidence(main: MainEstimate, outcomes: pd.DataFrame, data: DistrictData) -> Evidence:
    """Grade the headline.

    strong: 95% CI excludes zero, BH-adjusted q < 0.05 across the outcomes, no sign of
    diverging pre-trends (joint test p >= 0.10) and at least 10 partnered desa.
    suggestive: p < 0.10 but one of those conditions fails. insufficient: otherwise.
    """
    h = main.headline
    if not isinstance(h, Estimate):
        return Evidence(
            "not_estimable", (h.reason,), np.nan, EValue(np.nan, np.nan), np.nan, h.n_treated, h
        )
    pre_p = main.staggered.pretrend_p if main.staggered is not None else np.nan
    row = outcomes[outcomes["outcome"] == h.outcome]
    q = float(row["q_value_bh"].iloc[0]) if len(row) else h.p_value
    sd = float(data.panel.loc[data.panel["tahun"] == data.last_year, h.outcome].std())
    ev = e_value(h.estimate, h.ci_low, h.ci_high, sd)
    reasons = []
    ci_excludes = h.ci_low > 0 or h.ci_high < 0
    if not ci_excludes:
        reasons.append("ci_includes_zero")
    if not (q < 0.05):
        reasons.append("not_significant_after_adjustment")
    if np.isfinite(pre_p) and pre_p < 0.10:
        reasons.append("pretrend")
    if h.n_treated < 10:
        reasons.append("few_treated")
    if not reasons:
        grade = "strong"
    elif h.p_value < 0.10:
        grade = "suggestive"
    else:
        grade = "insufficient"
    return Evidence(grade, tuple(reasons), mde_from_se(h.se), ev, pre_p, h.n_treated, h)


def results_table(
    main: MainEstimate, cross: CrossSection, outcomes: pd.DataFrame, het: pd.DataFrame
) -> pd.DataFrame:
    """Every estimate of the district in the tidy shape the synthesis reads."""
    parts = [
        to_frame([main.headline, main.not_yet_treated, main.twfe]),
        to_frame(cross.results),
        outcomes[outcomes["outcome"] != main.headline.outcome].drop(
            columns=["q_value_bh"], errors="ignore"
        ),
    ]
    if len(het):
        h = het.copy()
        h["method"] = h["method"] + " [" + h["dimension"] + "=" + h["group"] + "]"
        parts.append(h.drop(columns=["dimension", "group", "q_value_bh"], errors="ignore"))
    t = pd.concat([p for p in parts if len(p)], ignore_index=True)
    t["district"] = main.headline.district
    return t


def save_results(
    out_dir: str | Path,
    data: DistrictData,
    table: pd.DataFrame,
    evidence: Evidence | None,
    parameters: dict,
) -> Path:
    """Write ``results.csv`` and ``summary.json`` for the synthesis (each file whole or not at all)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_file_atomically(out / "results.csv", table.to_csv(index=False))
    summary = {
        "district": data.district.code,
        "name": data.district.name,
        "applicable": data.applicable,
        "reason": data.reason,
        "synthetic": data.dataset.synthetic,
        "coverage": data.coverage,
        "last_year": data.last_year,
        "evidence": None
        if evidence is None
        else {
            "grade": evidence.grade,
            "reasons": list(evidence.reasons),
            "mde": evidence.mde,
            "pretrend_p": evidence.pretrend_p,
        },
        "parameters": parameters,
        "data_hashes": data.dataset.hashes,
        "package_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_file_atomically(
        out / "summary.json", json.dumps(summary, indent=2, default=str, ensure_ascii=False)
    )
    return out


__all__ = [
    "prepare",
    "describe_district",
    "estimate_main",
    "estimate_cross_section",
    "estimate_outcomes",
    "estimate_heterogeneity",
    "judge_evidence",
    "results_table",
    "save_results",
    "MIN_TREATED",
]
