"""Across districts: read every district's results of a run, pool them, show the forest plot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import plots
from analysis.brief import CSS, _e, _fig, _results_rows, _show
from analysis.district import HEADLINE_METHOD
from analysis.narrate import fmt, outcome_label, t
from analysis.pooling import Pooled, pool_districts
from analysis.results import Estimate

TEXT = {
    "id": {
        "title": "Sintesis antarkabupaten",
        "intro": "Perkiraan utama setiap kabupaten/kota digabung dengan meta-analisis efek acak "
        "(DerSimonian-Laird). I2 menunjukkan berapa bagian perbedaan antarkabupaten yang lebih dari sekadar kebetulan.",
        "pooled": "Gabungan {k} kabupaten: {est} (rentang 95%: {lo} sampai {hi}); I2 = {i2}.",
        "none": "Belum ada cukup kabupaten dengan perkiraan untuk digabung.",
        "table": "Perkiraan per kabupaten/kota",
        "failed": "Kabupaten/kota yang gagal dijalankan: {names}.",
    },
    "en": {
        "title": "Synthesis across districts",
        "intro": "Each district's main estimate is pooled with a random-effects meta-analysis "
        "(DerSimonian-Laird). I2 says how much of the spread between districts is more than chance.",
        "pooled": "Pooled over {k} districts: {est} (95% range: {lo} to {hi}); I2 = {i2}.",
        "none": "Not enough districts with an estimate to pool yet.",
        "table": "Estimates by district",
        "failed": "Districts that failed to run: {names}.",
    },
}


@dataclass(frozen=True)
class RunResults:
    results: pd.DataFrame
    summaries: list[dict]
    synthetic: bool
    failed: list[str]


def load_run(run_dir: str | Path) -> RunResults:
    """Every ``districts/*/results.csv`` and ``summary.json`` of a run folder."""
    run = Path(run_dir)
    frames, sums = [], []
    for d in sorted((run / "districts").glob("*/")):
        if (d / "results.csv").exists():
            frames.append(pd.read_csv(d / "results.csv", dtype={"district": str}))
            sums.append(json.loads((d / "summary.json").read_text(encoding="utf-8")))
    manifest = (
        json.loads((run / "manifest.json").read_text()) if (run / "manifest.json").exists() else {}
    )
    failed = [k for k, v in manifest.get("districts", {}).items() if v.get("status") == "failed"]
    res = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["district", "outcome", "method", "estimable"])
    )
    if len(res):
        res["estimable"] = res["estimable"].astype(bool)
    return RunResults(res, sums, any(s.get("synthetic") for s in sums), failed)


def pool(run: RunResults, outcome: str = "nilai_idm", lang: str = "id") -> Pooled:
    names = {s["district"]: s["name"] for s in run.summaries}
    t_ = run.results.copy()
    t_ = t_[
        t_["district"].map(
            lambda c: any(s["district"] == c and s["applicable"] for s in run.summaries)
        )
    ]
    t_["district"] = t_["district"].map(lambda c: f"{names.get(c, c)}")
    label = "gabungan (efek acak)" if lang == "id" else "pooled (random effects)"
    return pool_districts(t_, outcome, HEADLINE_METHOD, pooled_label=label)


def show(run: RunResults, pooled: Pooled, outcome: str = "nilai_idm", lang: str = "id") -> None:
    """Banner, pooled estimate in words, forest plot and the district table."""
    tx = TEXT.get(lang, TEXT["id"])
    banner = (
        f'<div class="synthetic-banner">{_e(t(lang, "synthetic"))}</div>' if run.synthetic else ""
    )
    parts = [
        CSS + banner,
        f"<h1>{_e(tx['title'])}</h1><p>{_e(outcome_label(outcome, lang))}</p><p>{_e(tx['intro'])}</p>",
    ]
    re = pooled.random_effects
    if isinstance(re, Estimate):
        parts.append(
            f"<p><b>{_e(tx['pooled'].format(k=pooled.n_districts, est=fmt(re.estimate, lang, 3, signed=True), lo=fmt(re.ci_low, lang, 3), hi=fmt(re.ci_high, lang, 3), i2=fmt(100 * pooled.i2, lang, 0) + '%'))}</b></p>"
        )
    else:
        parts.append(f"<p>{_e(tx['none'])}</p>")
    if run.failed:
        parts.append(
            f'<p class="notice">{_e(tx["failed"].format(names=", ".join(run.failed)))}</p>'
        )
    _show("".join(parts))
    if isinstance(re, Estimate):
        _fig(plots.forest(pooled.forest, lang, outcome_label(outcome, lang)), tx["intro"])
    head = run.results[
        (run.results["method"] == HEADLINE_METHOD) & (run.results["outcome"] == outcome)
    ].copy()
    names = {s["district"]: s["name"] for s in run.summaries}
    head["method"] = head["district"].map(names)
    _show(f"<h2>{_e(tx['table'])}</h2>{_results_rows(head, lang)}{banner}")
