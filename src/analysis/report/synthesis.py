"""Across districts: read every district's results of a run, pool them, show the forest plot.

The page names the pooling actually computed (the tau^2 estimator and the interval:
Hartung-Knapp-Sidik-Jonkman with t(k-1) when districts are few, else normal), shows tau and a
prediction interval (Higgins, Thompson and Spiegelhalter 2009), leave-one-out estimates, each
district's grade with a flag when its pre-period test failed, and IKS, IKE and IKL pooled the
same way. Every sentence is a catalog entry of :data:`SENTENCES`, shown only when its
condition, computed from :func:`synthesis_facts`, holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import HTML, display

from analysis.district import HEADLINE_METHOD
from analysis.errors import InputFileError, InputProblem
from analysis.methods.options import method_names
from analysis.methods.pooling import MIN_DISTRICTS as MIN_POOLED
from analysis.methods.pooling import Pooled, pool_districts
from analysis.methods.results import COLUMNS, Estimate
from analysis.provenance import stamp
from analysis.report import figure_html, render, result_row, words
from analysis.report import figures as plots
from analysis.report.brief import META
from analysis.report.pages import GRADE_LEGEND


@dataclass(frozen=True, kw_only=True)
class RunResults:
    """Every district's ``results.csv`` rows and ``summary.json`` of one run, read together."""

    results: pd.DataFrame
    summaries: list[dict]
    synthetic: bool
    failed: list[str]
    manifest: dict


def load_run(run_dir: str | Path) -> RunResults:
    """Every ``districts/*/results.csv`` and ``summary.json`` of a run folder.

    Raises
    ------
    InputFileError
        ``run_dir`` does not exist, or is no run folder (neither ``manifest.json`` nor
        ``districts/``): a synthesis of nothing is never shown as "0 of 0 districts failed".
    """
    run = Path(run_dir)
    if not run.is_dir() or not ((run / "manifest.json").is_file() or (run / "districts").is_dir()):
        what = "does not exist" if not run.exists() else "is not a run folder"
        raise InputFileError(
            [
                InputProblem(
                    str(run),
                    f"the run folder {what} (no manifest.json, no districts/)",
                    "give run_dir = a folder written by 'python -m analysis run'",
                    key="run_dir_missing" if not run.exists() else "run_dir_not_run",
                )
            ]
        )
    frames, sums = [], []
    for d in sorted((run / "districts").glob("*/")):
        if (d / "results.csv").exists():
            frames.append(pd.read_csv(d / "results.csv", dtype={"district": str}))
            sums.append(json.loads((d / "summary.json").read_text(encoding="utf-8")))
    manifest = (
        json.loads((run / "manifest.json").read_text()) if (run / "manifest.json").exists() else {}
    )
    failed = [k for k, v in manifest.get("districts", {}).items() if v.get("status") == "failed"]
    res = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if len(res):
        res["estimable"] = res["estimable"].astype(bool)
    return RunResults(
        results=res,
        summaries=sums,
        synthetic=any(s.get("synthetic") for s in sums),
        failed=failed,
        manifest=manifest,
    )


def pool(run: RunResults, outcome: str = "nilai_idm", lang: str = "id") -> Pooled:
    """Random-effects pooling of the districts' headline estimates of ``outcome``."""
    names = {s["district"]: s["name"] for s in run.summaries}
    applicable = {s["district"] for s in run.summaries if s["applicable"]}
    t_ = run.results[run.results["district"].isin(applicable)].copy()
    t_["district"] = t_["district"].map(lambda c: names.get(c, c))
    return pool_districts(t_, outcome, HEADLINE_METHOD, pooled_label=words(lang).t("plot.pooled"))


#: The outcomes pooled as rows of the components table (the headline outcome first).
POOLED_OUTCOMES = ("nilai_idm", "iks", "ike", "ikl")
#: The tau^2 estimators and intervals, worded.
RE_NAMES = {"dl": "synth.re.dl", "pm": "synth.re.pm", "reml": "synth.re.reml"}
INTERVAL_NAMES = {"hksj": "synth.interval.hksj", "normal": "synth.interval.normal"}
#: The evidence reason code of a district whose pre-period test failed (``district._grade``).
PRETREND_FAILED = "pretrend"
#: The reason codes of a district whose gap after the start may continue a gap before it:
#: the pre-period test failed, or a pre-period gap is larger than the estimate.
EARLIER_GAP = (PRETREND_FAILED, "pre_gap_exceeds_estimate")


def _evidence(run: RunResults) -> dict[str, dict]:
    """Each district's evidence (grade, reasons, pre-period p) by district code."""
    return {s["district"]: s.get("evidence") or {} for s in run.summaries}


def pretrend_failed(run: RunResults) -> dict[str, float]:
    """District names whose gap may continue an earlier one, with the pre-period test's p.

    Reasons :data:`EARLIER_GAP`: the pre-period test failed (``pretrend``) or a pre-period gap
    is larger than the estimate (``pre_gap_exceeds_estimate``). The p is given only when the
    test failed (NaN otherwise): a p that passes would read as a failed test beside the rule.
    """
    names = {s["district"]: s["name"] for s in run.summaries}
    return {
        names[c]: float(e.get("pretrend_p", np.nan))
        if PRETREND_FAILED in (e.get("reasons") or [])
        else np.nan
        for c, e in _evidence(run).items()
        if set(EARLIER_GAP) & set(e.get("reasons") or [])
    }


def _pre_check(w, e: dict) -> str:
    """A district's check of the years before the start, worded for the districts table.

    The test's own result (failed, passed but weak, passed, none) and, when the largest
    pre-period gap exceeds the estimate, that too: a test that passes does not hide the gap.
    """
    reasons = set(e.get("reasons") or [])
    p = e.get("pretrend_p")
    tested = p is not None and np.isfinite(float(p))
    if PRETREND_FAILED in reasons:
        test = w.t("synth.pretrend_failed", p=w.p(p))
    elif tested and "pre_period_underpowered" in reasons:
        # not rejecting says little when the test could only see gaps larger than the estimate
        test = w.t("synth.pretrend_weak", p=w.p(p))
    elif tested:
        test = w.t("synth.pretrend_passed", p=w.p(p))
    else:
        test = w.t("synth.pretrend_none")
    if "pre_gap_exceeds_estimate" in reasons:
        return f"{test}; {w.t('synth.pre_gap')}"
    return test


def _grade_cell(w, e: dict, applicable: bool) -> str:
    """The grade, with every reason it is not *strong* (the brief's ``why.*`` words)."""
    if not applicable:
        return w.t("index.na")
    if not e.get("grade"):
        return ""
    grade = w.t(f"grade_short.{e['grade']}")
    why = [w.t(f"why.{r}") for r in e.get("reasons") or [] if w.has(f"why.{r}")]
    if e["grade"] in ("suggestive", "insufficient") and why:
        return w.t("synth.grade_why", grade=grade, why=w.join(why))
    return grade


def _rows(run: RunResults, outcome: str, lang: str) -> list[dict]:
    w = words(lang)
    head = run.results[
        run.results["method"].isin(method_names(HEADLINE_METHOD))
        & (run.results["outcome"] == outcome)
    ]
    names = {s["district"]: s["name"] for s in run.summaries}
    evidence = _evidence(run)
    applies = {s["district"]: s["applicable"] for s in run.summaries}
    rows = []
    for r in head.to_dict("records"):
        row = result_row(w, r, names.get(r["district"], r["district"]), facts={})
        row["href"] = f"districts/{r['district']}/brief.html"
        e = evidence.get(r["district"], {})
        applicable = applies.get(r["district"], True)
        row["grade"] = _grade_cell(w, e, applicable)
        row["pretrend"] = _pre_check(w, e) if e.get("grade") not in (None, "not_estimable") else ""
        rows.append(row)
    return rows


def synthesis_facts(run: RunResults, pooled: Pooled) -> dict:
    """The numbers the page's sentences are conditioned on.

    Parameters
    ----------
    run
        The run's results.
    pooled
        The pooled headline outcome (:func:`pool`).

    Returns
    -------
    dict
        ``pooled`` (bool), ``k``, ``interval`` and ``method_re`` codes, ``est``, ``lo``,
        ``hi``, ``crit``, ``df``, ``tau``, ``i2``, ``pi_lo``, ``pi_hi``, ``n_excl_zero``
        (pooled districts whose own range excludes zero), ``pretrend_failed`` (name: p) and
        ``loo_flips`` (districts whose omission changes whether the range includes zero).
    """
    re = pooled.random_effects
    facts = {"pooled": isinstance(re, Estimate), "pretrend_failed": pretrend_failed(run)}
    if not facts["pooled"]:
        return facts
    d = pooled.forest[(pooled.forest["kind"] == "district") & pooled.forest["estimable"]]
    loo = pooled.leave_one_out if pooled.leave_one_out is not None else pd.DataFrame()
    full_zero = _includes_zero(re.ci_low, re.ci_high)
    flips = [
        r["omitted"]
        for r in loo.to_dict("records")
        if np.isfinite(r["estimate"]) and _includes_zero(r["ci_low"], r["ci_high"]) != full_zero
    ]
    facts.update(
        k=pooled.n_districts,
        interval=pooled.interval,
        method_re=pooled.method_re,
        est=re.estimate,
        lo=re.ci_low,
        hi=re.ci_high,
        crit=re.crit_value,
        df=(re.facts or {}).get("df"),
        tau=pooled.tau,
        i2=pooled.i2,
        pi_lo=pooled.prediction_low,
        pi_hi=pooled.prediction_high,
        n_excl_zero=int((~d.apply(lambda r: _includes_zero(r.ci_low, r.ci_high), axis=1)).sum()),
        loo_flips=flips,
    )
    return facts


def _includes_zero(lo: float, hi: float) -> bool:
    return bool(lo <= 0 <= hi)


def _why_zero(f: dict) -> bool:
    """The pooled range includes zero while some pooled district's own range does not."""
    return f["pooled"] and _includes_zero(f["lo"], f["hi"]) and f["n_excl_zero"] > 0


#: Each sentence of the page, in page order (what it means first, then how it was computed),
#: and the condition, on :func:`synthesis_facts`, under which it holds.
SENTENCES: dict[str, Callable[[dict], bool]] = {
    "synth.meaning.higher": lambda f: f["pooled"] and f["lo"] > 0,
    "synth.meaning.lower": lambda f: f["pooled"] and f["hi"] < 0,
    "synth.meaning.includes_zero": lambda f: f["pooled"] and _includes_zero(f["lo"], f["hi"]),
    "synth.why_zero": lambda f: _why_zero(f) and f["tau"] > 0,
    "synth.why_zero.few": lambda f: _why_zero(f) and f["tau"] == 0 and f["interval"] == "hksj",
    "synth.pretrend": lambda f: bool(f["pretrend_failed"]),
    "synth.method.hksj": lambda f: f["pooled"] and f["interval"] == "hksj",
    "synth.method.normal": lambda f: f["pooled"] and f["interval"] == "normal",
    "synth.tau": lambda f: f["pooled"],
    "synth.prediction": lambda f: f["pooled"] and bool(np.isfinite(f["pi_lo"])),
    "synth.no_prediction": lambda f: f["pooled"] and not np.isfinite(f["pi_lo"]),
    "synth.loo.stable": lambda f: f["pooled"] and f["k"] > 2 and not f["loo_flips"],
    "synth.loo.flips": lambda f: f["pooled"] and bool(f["loo_flips"]),
}


def claims(facts: dict) -> list[str]:
    """The keys of :data:`SENTENCES` whose condition holds, in page order."""
    return [k for k, holds in SENTENCES.items() if holds(facts)]


def sentence_fields(facts: dict, lang: str) -> dict[str, str]:
    """The facts worded for the ``{name}`` fields of the page's sentences."""
    w = words(lang)
    f = facts
    num = {}
    if f["pooled"]:
        num = {
            "k": w.int(f["k"]),
            "est": w.num(f["est"], 3, signed=True),
            "abs": w.num(abs(f["est"]), 3),
            "lo": w.num(f["lo"], 3),
            "hi": w.num(f["hi"], 3),
            "crit": w.num(f["crit"], 2),
            "df": w.int(f["df"]) if f["df"] is not None else "",
            "re": w.t(RE_NAMES[f["method_re"]]),
            "tau": w.num(f["tau"], 3),
            "i2": w.pct(f["i2"]),
            "pi_lo": w.num(f["pi_lo"], 3),
            "pi_hi": w.num(f["pi_hi"], 3),
            "n_excl": w.int(f["n_excl_zero"]),
            "flips": w.join(list(f["loo_flips"])),
        }
    pre = f["pretrend_failed"]
    num["pretrend"] = w.join(
        [
            f"{n} ({f'p = {w.p(p)}' if np.isfinite(p) else w.t('synth.pre_gap')})"
            for n, p in pre.items()
        ]
    )
    num["n_pre"] = w.int(len(pre))
    return num


def sentences(facts: dict, lang: str) -> list[str]:
    """The page's sentences (:func:`claims`) worded in ``lang``."""
    w, fields = words(lang), sentence_fields(facts, lang)
    return [w.t(k, **fields) for k in claims(facts)]


def components(run: RunResults, lang: str) -> list[dict]:
    """IDM and its IKS, IKE and IKL pooled the same way, as worded table rows."""
    w = words(lang)
    rows = []
    for o in POOLED_OUTCOMES:
        p = pool(run, o, lang)
        re = p.random_effects
        row = {"outcome": w.outcome(o), "k": w.int(p.n_districts)}
        if isinstance(re, Estimate):
            row.update(
                est=w.num(re.estimate, 3, signed=True),
                ci=w.t("synth.range", lo=w.num(re.ci_low, 3), hi=w.num(re.ci_high, 3)),
                tau=w.num(p.tau, 3),
                pi=w.t("synth.range", lo=w.num(p.prediction_low, 3), hi=w.num(p.prediction_high, 3))
                if np.isfinite(p.prediction_low)
                else "-",
                i2=w.pct(p.i2),
                interval=w.t(INTERVAL_NAMES[p.interval]),
            )
        else:
            row.update(est="-", ci="-", tau="-", pi="-", i2="-", interval=w.reason(re.reason))
        rows.append(row)
    return rows


def leave_one_out_rows(pooled: Pooled, lang: str) -> list[dict]:
    """The leave-one-out table worded: the district left out and the pooled result without it."""
    w = words(lang)
    loo = pooled.leave_one_out
    if loo is None:
        return []
    return [
        {
            "omitted": r["omitted"],
            "k": w.int(r["n_districts"]),
            "est": w.num(r["estimate"], 3, signed=True) if np.isfinite(r["estimate"]) else "-",
            "ci": w.t("synth.range", lo=w.num(r["ci_low"], 3), hi=w.num(r["ci_high"], 3))
            if np.isfinite(r["estimate"])
            else w.reason("too_few_districts"),
        }
        for r in loo.to_dict("records")
    ]


def state(run: RunResults, pooled: Pooled) -> str:
    """What the synthesis can say, as a code (the page words it).

    ``"pooled"``: at least :data:`MIN_POOLED` districts have an estimate and they were pooled;
    ``"no_results"``: no district of the run produced results (all failed, or none ran);
    ``"no_estimates"``: districts produced results but none has an estimate to pool;
    ``"too_few"``: fewer than :data:`MIN_POOLED` districts have an estimate.
    """
    if isinstance(pooled.random_effects, Estimate):
        return "pooled"
    if not run.summaries:
        return "no_results"
    return "no_estimates" if pooled.n_districts == 0 else "too_few"


def page_html(run: RunResults, pooled: Pooled, outcome: str = "nilai_idm", lang: str = "id"):
    """The synthesis page body.

    It holds the pooled estimate in words (or why there is none), the forest plot, the district
    table with links, and provenance.
    """
    w = words(lang)
    re = pooled.random_effects
    fig = None
    if isinstance(re, Estimate):
        fig = figure_html(
            plots.forest(pooled.forest, lang, w.outcome(outcome)),
            w.t("alt.forest", k=w.int(pooled.n_districts), est=w.num(re.estimate, 3, signed=True)),
            w.t("fig.forest"),
            lang,
        )
    m = run.manifest
    s = stamp()
    return render(
        "synthesis.html.j2",
        lang,
        outcome=outcome,
        re=re if isinstance(re, Estimate) else None,
        state=state(run, pooled),
        pooled=pooled,
        min_pooled=MIN_POOLED,
        n_run=max(len(m.get("districts", {})), len(run.summaries) + len(run.failed)),
        failed=[m.get("districts", {}).get(c, {}).get("name", c) for c in run.failed],
        figure=fig,
        rows=_rows(run, outcome, lang),
        said=sentences(synthesis_facts(run, pooled), lang),
        components=components(run, lang) if isinstance(re, Estimate) else [],
        loo=leave_one_out_rows(pooled, lang),
        legend=GRADE_LEGEND,
        n_sources=len(run.summaries),
        hashes=sorted(
            (
                m.get("data_hashes")
                or (run.summaries[0].get("data_hashes") if run.summaries else {})
                or {}
            ).items()
        ),
        commit=m.get("commit") or s["commit"],
        created=s["created"],
    )


def show(run: RunResults, pooled: Pooled, outcome: str = "nilai_idm", lang: str = "id") -> None:
    """Display :func:`page_html` with the page metadata the exporter reads."""
    w = words(lang)
    display(
        HTML(str(page_html(run, pooled, outcome, lang))),
        metadata={
            META: {
                "role": "header",
                "title": w.t("synthesis.title"),
                "lang": lang,
                "synthetic": bool(run.synthetic),
            }
        },
    )
