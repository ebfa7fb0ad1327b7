"""Whole pages of a run: the index.

The briefs and the synthesis are notebook outputs put into the same shell by
:mod:`analysis.report.export`. The data-quality page lives in :mod:`analysis.report.data_quality`; its names are re-exported
here (``from analysis.report.pages import write_data_report, ingest_inputs`` keeps working).
"""

from __future__ import annotations

from pathlib import Path

from analysis.files import write_file_atomically
from analysis.report import page, render, words
from analysis.report.data_quality import data_quality_tables, ingest_inputs, write_data_report


def write_index(out: Path, manifest: dict, lang: str) -> Path:
    """Write ``index.html``: every district with its status and grade, the synthesis and data pages.

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
    rows = []
    for code, r in manifest["districts"].items():
        row = {"code": code, "name": r.get("name", code), "ok": r["status"] == "ok"}
        if row["ok"]:
            row["href"] = r["brief"]
            row["pdf"] = r.get("pdf")
            row["grade"] = (
                w.t("index.na")
                if r.get("applicable") is False
                else w.t(f"grade_short.{r['evidence']}")
                if r.get("evidence")
                else ""
            )
        else:
            row["error"] = r.get("error", "")
            row["notebook"] = r.get("error_notebook")
        rows.append(row)
    body = render(
        "index.html.j2",
        lang,
        rows=rows,
        synthesis=manifest.get("synthesis", {}),
        commit=manifest.get("commit", ""),
        created=manifest.get("created", ""),
    )
    return write_file_atomically(
        out / "index.html",
        page(w.t("index.title"), body, lang, manifest.get("synthetic", False)),
    )


__all__ = ["data_quality_tables", "ingest_inputs", "write_data_report", "write_index"]
