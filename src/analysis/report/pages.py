"""Whole pages of a run: the index.

The briefs and the synthesis are notebook outputs put into the same shell by
:mod:`analysis.report.export`. The data-quality page lives in :mod:`analysis.report.data_quality`; its names are re-exported
here (``from analysis.report.pages import write_data_report, ingest_inputs`` keeps working).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.district import HEADLINE_METHOD
from analysis.files import write_file_atomically
from analysis.inputs.frame import districts
from analysis.methods.options import method_names
from analysis.report import page, render, words
from analysis.report.data_quality import data_quality_tables, ingest_inputs, write_data_report
from analysis.report.maps import index_map_html

#: The grades in order, each with the catalog entry that says what it requires
#: (the rules of :func:`analysis.district.judge_evidence`).
GRADE_LEGEND = (
    ("strong", "index.legend.strong"),
    ("suggestive", "index.legend.suggestive"),
    ("insufficient", "index.legend.insufficient"),
    ("not_estimable", "index.legend.not_estimable"),
)


def write_index(out: Path, manifest: dict, lang: str) -> Path:
    """Write ``index.html``: the province, every district with its status, estimate and grade.

    Each district's main estimate and 95% range come from its own ``results.csv`` (the
    headline method on the run's outcome, as its brief shows it), beside its grade and a
    legend of the grades. Every name is escaped by the template.

    Parameters
    ----------
    out
        The run's output folder.
    manifest
        The run's manifest (districts with status, brief, grade; synthesis; commit).
    lang
        A language with a catalog.

    Returns
    -------
    pathlib.Path
        ``out / "index.html"``.
    """
    w = words(lang)
    rows = [_index_row(w, out, code, r) for code, r in manifest["districts"].items()]
    outcomes = sorted({r["outcome"] for r in rows if r.get("outcome")})
    body = render(
        "index.html.j2",
        lang,
        rows=rows,
        provinces=province_names(list(manifest["districts"])),
        outcome=w.outcome(outcomes[0]) if len(outcomes) == 1 else "",
        legend=GRADE_LEGEND,
        synthesis=manifest.get("synthesis", {}),
        commit=manifest.get("commit", ""),
        created=manifest.get("created", ""),
        map=index_map_html(manifest["districts"], rows, lang),
    )
    return write_file_atomically(
        out / "index.html",
        page(w.t("index.title"), body, lang, manifest.get("synthetic", False)),
    )


def province_names(codes: list[str]) -> list[str]:
    """The names of the provinces the district codes (``"64.02"``) belong to, in code order."""
    frame = districts()
    names = dict(zip(frame["kode_prov"], frame["nama_provinsi"], strict=True))
    return [names.get(p, p) for p in sorted({str(c)[:2] for c in codes})]


def _index_row(w, out: Path, code: str, r: dict) -> dict:
    """One district's row: its link and grade, or its failure; its headline estimate."""
    row = {"code": code, "name": r.get("name", code), "ok": r["status"] == "ok"}
    if not row["ok"]:
        row["error"] = r.get("error", "")
        row["notebook"] = r.get("error_notebook")
        return row
    row["href"] = r["brief"]
    row["pdf"] = r.get("pdf")
    row["grade"] = (
        w.t("index.na")
        if r.get("applicable") is False
        else w.t(f"grade_short.{r['evidence']}")
        if r.get("evidence")
        else ""
    )
    return row | _headline(w, out / "districts" / code)


def _headline(w, folder: Path) -> dict:
    """The district's headline estimate and range, worded (``-`` when it has none)."""
    none = {"estimate": "-", "ci": "-"}
    f, s = folder / "results.csv", folder / "summary.json"
    if not f.exists() or not s.exists():
        return none
    summary = json.loads(s.read_text(encoding="utf-8"))
    outcome = (summary.get("parameters") or {}).get("outcome", "nilai_idm")
    # the graded result: the staggered headline, or the few-desa comparison that replaced it
    method = (summary.get("evidence") or {}).get("method") or HEADLINE_METHOD
    t = pd.read_csv(f, dtype={"district": str})
    t = t[(t["outcome"] == outcome) & t["method"].isin(method_names(method) or [method])]
    if t.empty or not bool(t["estimable"].iat[0]):
        return none | {"outcome": outcome}
    h = t.iloc[0]
    return {
        "outcome": outcome,
        "estimate": w.num(h["estimate"], 3, signed=True),
        "ci": w.t("synth.range", lo=w.num(h["ci_low"], 3), hi=w.num(h["ci_high"], 3)),
    }


__all__ = [
    "GRADE_LEGEND",
    "data_quality_tables",
    "ingest_inputs",
    "province_names",
    "write_data_report",
    "write_index",
]
