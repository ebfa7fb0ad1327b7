"""Whole pages of a run: the index and the data-quality page (the briefs and the synthesis are
notebook outputs put into the same shell by :mod:`analysis.report.export`)."""

from __future__ import annotations

from pathlib import Path

from analysis import paths
from analysis.files import write_file_atomically
from analysis.report import dataset_title, page, render, words


def write_index(out: Path, manifest: dict, lang: str) -> Path:
    """``index.html``: every district with its status and grade, the synthesis and data pages."""
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


def _note_value(w, key: str, value: object) -> str:
    if isinstance(value, list):
        if key == "years":
            return ", ".join(str(v) for v in value)
        return w.int(len(value))
    if isinstance(value, dict):
        kind = "registry_status" if key == "by_status" else None
        return "; ".join(
            f"{w.code(kind, k) if kind and w.has(f'{kind}.{k}') else k}: {w.int(v)}"
            for k, v in value.items()
        )
    if isinstance(value, bool):
        return w.t("word.yes" if value else "word.no")
    if isinstance(value, int):
        return w.int(value)
    if isinstance(value, float):
        return w.num(value, 3)
    return str(value)


def data_quality_tables(outcomes: dict, lang: str) -> list[dict]:
    """Each table's checks as rows (check, result) worded from the catalog; unknown checks are
    left out rather than shown as raw keys."""
    w = words(lang)
    tables = []
    for name, oc in outcomes.items():
        rows = [
            (w.t(f"dq.note.{k}"), _note_value(w, k, v))
            for k, v in oc.notes.items()
            if w.has(f"dq.note.{k}")
        ]
        title = w.t(f"dq.table.{name}") if w.has(f"dq.table.{name}") else name
        tables.append({"title": title, "rows_n": w.n("dq.rows", len(oc.table)), "rows": rows})
    return tables


def ingest_inputs(folder: Path, lang: str) -> list[dict]:
    """The files ``ingest`` read (``data_quality.json``), each with its checks worded."""
    import json

    f = Path(folder) / paths.QUALITY_JSON
    if not f.exists():
        return []
    w = words(lang)
    out = []
    for e in json.loads(f.read_text(encoding="utf-8")).get("inputs", []):
        rows = [
            (w.t(f"dq.note.{k}"), _note_value(w, k, v))
            for k, v in e.items()
            if w.has(f"dq.note.{k}")
        ]
        kind = e.get("kind", "")
        out.append(
            {
                "name": e.get("name", ""),
                "kind": w.t(f"dq.table.{kind}") if w.has(f"dq.table.{kind}") else kind,
                "rows": rows,
                "unmatched": [
                    (u.get("row"), u.get("nama_desa")) for u in e.get("unmatched_rows", [])
                ],
            }
        )
    return out


def write_data_report(out: Path, ds, lang: str) -> Path:
    """The data-quality page: contract checks on the data folder as tables, file fingerprints."""
    from analysis.errors import InputFileError
    from analysis.inputs.validate import validate_folder

    w = words(lang)
    try:
        tables, problems = data_quality_tables(validate_folder(ds.folder), lang), []
    except InputFileError as e:
        tables, problems = [], [str(p) for p in e.problems]
    body = render(
        "data_report.html.j2",
        lang,
        title=dataset_title(w, ds.meta, ds.folder.name),
        tables=tables,
        problems=problems,
        inputs=ingest_inputs(ds.folder, lang),
        hashes=sorted(ds.hashes.items()),
    )
    return write_file_atomically(
        out / "data_report.html", page(w.t("dq.title"), body, lang, ds.synthetic, "index.html")
    )
