"""Across districts: read every district's results of a run, pool them, show the forest plot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True, kw_only=True)
class RunResults:
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


def _rows(run: RunResults, outcome: str, lang: str) -> list[dict]:
    w = words(lang)
    head = run.results[
        run.results["method"].isin(method_names(HEADLINE_METHOD))
        & (run.results["outcome"] == outcome)
    ]
    names = {s["district"]: s["name"] for s in run.summaries}
    rows = []
    for r in head.to_dict("records"):
        row = result_row(w, r, names.get(r["district"], r["district"]), facts={})
        row["href"] = f"districts/{r['district']}/brief.html"
        rows.append(row)
    return rows


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
    """The synthesis page body: the pooled estimate in words (or why there is none), forest plot,
    the district table with links, and provenance."""
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
