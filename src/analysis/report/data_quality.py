"""The data-quality page, in both of its formats.

- ``data_quality.md`` (:func:`quality_markdown`): what ``ingest`` read, kept and flagged, for
  people, written into the data folder by :func:`analysis.ingest.ingest`
  (:func:`write_quality_markdown`);
- ``data_report.html`` (:func:`write_data_report`): the contract checks of a run's data folder
  as tables and the files' fingerprints, beside the run's index (:mod:`analysis.report.pages`).

Both are worded from the catalogs (``dq.*`` in ``analysis/report/locale``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.design import COUNTING_STATUSES, agreement_exposure
from analysis.errors import InputFileError, InputProblem
from analysis.files import write_file_atomically
from analysis.inputs.coordinates import coverage_facts
from analysis.inputs.frame import DESA_KINDS
from analysis.inputs.ingest import IngestReport
from analysis.inputs.reading import ROW
from analysis.inputs.registry import agreement_sources, check_agreements_file, read_agreements
from analysis.inputs.validate import validate_folder
from analysis.report import dataset_title, page, render, words
from analysis.report.messages import message_and_fix
from analysis.report.messages import render as render_message
from analysis.report.words import Words

#: Catalog keys of data_quality.md (written out so the catalog tests see every one in use).
MD_COLUMNS = (
    "dq.md.col.file",
    "dq.md.col.kind",
    "dq.md.col.rows_read",
    "dq.md.col.matched",
    "dq.md.col.no_code",
    "dq.md.col.kelurahan",
    "dq.md.col.duplicates",
    "dq.md.col.name_variants",
    "dq.md.col.notes",
)
MD_COUNTS = {
    "carried_forward": "dq.md.carried_forward",
    "missing_with_reason": "dq.md.missing_with_reason",
    "idm_not_mean_of_components": "dq.md.idm_not_mean_of_components",
    "empty_rows_dropped": "dq.md.empty_rows_dropped",
    "excel_serial_dates": "dq.md.excel_serial_dates",
    "not_verified": "dq.md.not_verified",
}
MD_FATES = {
    "used": "dq.md.fate.used",
    "too_recent": "dq.md.fate.too_recent",
    "unmatched": "dq.md.fate.unmatched",
    "cancelled": "dq.md.fate.cancelled",
    "planned": "dq.md.fate.planned",
}
#: Where a workbook's year was read (``layouts``: ``year_from``).
MD_YEAR_FROM = {
    "headers": "dq.md.year_from.headers",
    "column map": "dq.md.year_from.column_map",
    "title rows": "dq.md.year_from.title_rows",
    "file name": "dq.md.year_from.file_name",
}
MD_WHY = {"cancelled": "dq.md.why.cancelled", "planned": "dq.md.why.planned"}
MD_CROSSWALK_FATES = {
    "unmatched": "dq.md.xfate.unmatched",
    "one_to_many": "dq.md.xfate.one_to_many",
    "many_to_one": "dq.md.xfate.many_to_one",
    "bad_code": "dq.md.xfate.bad_code",
}


def _md_cell(v: object) -> str:
    """A Markdown table cell: a file name or sheet with ``|`` or a line break keeps its row."""
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _num(w: Words, v: object) -> str:
    """A count in the language's notation; empty when the file has none."""
    return "" if v is None or v == "" else w.int(v)


def localise_problems(problems: list[InputProblem], lang: str) -> list[InputProblem]:
    """Input problems with message and fix worded in ``lang`` (``input.<key>``).

    For Python callers who keep :class:`~analysis.errors.InputProblem` objects; the words
    come from :func:`analysis.report.messages.message_and_fix`, the renderer the command line
    and the data pages use.

    Parameters
    ----------
    problems
        As an :class:`~analysis.errors.InputFileError` holds them.
    lang
        A language with a catalog.

    Returns
    -------
    list of InputProblem
        The same problems, message and fix in ``lang``.
    """
    out = []
    for p in problems:
        message, fix = message_and_fix(p, lang)
        out.append(replace(p, message=message, fix=fix))
    return out


def quality_markdown(report: IngestReport, lang: str = "id") -> str:
    """The data-quality report as Markdown for people.

    Worded in ``lang`` from the catalogs (``dq.md.*`` in ``analysis/report/locale``); numbers
    in the language's notation.

    Parameters
    ----------
    report
        What ``ingest`` read, kept and flagged.
    lang
        A language with a catalog (``id`` or ``en``).

    Returns
    -------
    str
        The page, ending with a newline.
    """
    w = words(lang)
    lines = _files_table(report, w)
    lines += _fix_section(report.to_json(), w)
    lines += _tables_list(report, w)
    for e in report.inputs:
        lines += _file_details(e, w)
    lines += _extra_sections(report, w)
    return "\n".join(lines) + "\n"


def write_quality_markdown(folder: Path, report: IngestReport, lang: str = "id") -> Path:
    """Write ``data_quality.md`` (:func:`quality_markdown`) into a data folder.

    Its signature fits :data:`analysis.inputs.ingest.PageWriter` once ``lang`` is bound, so
    ``ingest`` writes it inside the folder's whole-or-nothing write.

    Parameters
    ----------
    folder
        The (temporary) data folder.
    report
        What ``ingest`` read, kept and flagged.
    lang
        A language with a catalog.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(folder) / paths.QUALITY_MD
    path.write_text(quality_markdown(report, lang), encoding="utf-8")
    return path


def _files_table(report: IngestReport, w: Words) -> list[str]:
    """The title and one table row per file read, then the sentence on the checks."""
    cols = MD_COLUMNS
    lines = [
        f"# {w.t('dq.title')}",
        "",
        "| " + " | ".join(w.t(c) for c in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    lines += [_file_row(e, w) for e in report.inputs]
    return lines + ["", w.t("dq.md.checks")]


def _file_row(e: dict, w: Words) -> str:
    """One file's row: what it held, what was matched and flagged, and its notes."""
    kind = e["kind"]
    cells = [
        e["name"],
        w.t(f"dq.table.{kind}") if w.has(f"dq.table.{kind}") else kind,
        _num(w, e.get("rows_read")),
        _num(w, e.get("matched")),
        _num(w, e.get("unmatched_no_code")),
        _num(w, e.get("kelurahan_rows")),
        _num(w, e.get("duplicate_rows")),
        w.int(len(e.get("name_variants", []))),
        "; ".join(_file_notes(e, w)),
    ]
    return "| " + " | ".join(_md_cell(c) for c in cells) + " |"


def _file_notes(e: dict, w: Words) -> list[str]:
    """The notes cell of one file's row, in a fixed order."""
    notes = []
    for key in ("carried_forward", "missing_with_reason", "idm_not_mean_of_components"):
        if e.get(key):
            notes.append(w.t(MD_COUNTS[key], n=w.int(e[key])))
    if e.get("status_disagreements"):
        notes.append(w.t("dq.md.status_disagreements", n=w.int(len(e["status_disagreements"]))))
    if e.get("layout") and e["kind"] == "welfare":
        notes.append(_layout_note(e, w))
    if e.get("encoding") and e["encoding"] != "utf-8":
        notes.append(w.t("dq.md.encoding", encoding=e["encoding"]))
    if e.get("hidden_sheets"):
        notes.append(w.t("dq.md.hidden_sheets", sheets=", ".join(e["hidden_sheets"])))
    for key in ("empty_rows_dropped", "excel_serial_dates", "not_verified"):
        if e.get(key):
            notes.append(w.t(MD_COUNTS[key], n=w.int(e[key])))
    if e.get("iks31_copies_of_iks30"):
        notes.append(w.t("dq.md.iks31_copies_of_iks30", n=w.int(e["iks31_copies_of_iks30"])))
    if e.get("month_first"):
        notes.append(_month_first(w, e["month_first"]))
    if e.get("columns_mapped"):
        notes.append(w.t("dq.md.columns_mapped", pairs=_pairs(e["columns_mapped"])))
    if e.get("columns_ignored"):
        notes.append(w.n("dq.md.columns_ignored", len(e["columns_ignored"])))
    return notes


def _month_first(w: Words, why: dict) -> str:
    """Why the file's dates were read month first (it moves the years agreements count from)."""
    if why.get("declared"):
        return w.t("dq.md.month_first_declared")
    return w.t("dq.md.month_first", value=why["value"], row=w.int(why["row"]), column=why["column"])


def _pairs(mapped: dict) -> str:
    """Headers read under a contract column's name: ``Jumlah Penduduk → penduduk``."""
    return "; ".join(f"{h} → {c}" for h, c in mapped.items())


def _names(items: list, first: int = 50) -> list[str]:
    """The first ``first`` names, then how many more."""
    return [str(x) for x in items[:first]] + (
        [f"+{len(items) - first}"] if len(items) > first else []
    )


def _missing_cells(e: dict, w: Words) -> list[str]:
    """The section listing score cells set to missing ("-", "#N/A", "NaN"): count and rows."""
    cells = e.get("missing_cells") or []
    if not cells:
        return []
    total = int(e.get("missing_with_reason") or len(cells))
    lines = ["", f"## {w.t('dq.md.missing_cells_title', file=e['name'])}", ""]
    lines.append(w.n("dq.md.missing_cells", total))
    lines.append("")
    lines += [
        "- "
        + w.t(
            "dq.md.missing_cell",
            row=w.int(c["row"]),
            column=_md_cell(c["column"]),
            value=_md_cell(c["value"]),
        )
        for c in cells[:50]
    ]
    if total > 50:
        lines.append("- " + w.n("dq.md.and_more", total - 50))
    return lines


def _ignored_columns(e: dict, w: Words) -> list[str]:
    """The section listing a file's columns that were not read, and the map to read them."""
    ignored = e.get("columns_ignored") or []
    if not ignored:
        return []
    lines = ["", f"## {w.t('dq.md.columns_ignored_title', file=e['name'])}", ""]
    lines += [f"- `{_md_cell(h)}`" for h in _names(ignored)]
    if e.get("column_map_written"):
        lines += ["", w.t("dq.md.column_map_written", path=_md_cell(e["column_map_written"]))]
    elif e.get("kind") != "villages":  # a registry's, a welfare or IDM file's own columns
        lines += ["", w.t("dq.md.columns_not_in_contract")]
    return lines


def _layout_note(e: dict, w: Words) -> str:
    """The layout a welfare file was read with, whether it is verified, and where its year was."""
    return (
        w.t("dq.md.layout", layout=e["layout"])
        + ("" if e.get("layout_verified", True) else " " + w.t("dq.md.unverified"))
        + (
            w.t("dq.md.year_from", where=w.t(MD_YEAR_FROM.get(e["year_from"], "")))
            if e.get("year_from") in MD_YEAR_FROM
            else ""
        )
    )


def _fix_section(d: dict, w: Words) -> list[str]:
    """What to fix, from what ingest recorded: rows without a code, unrecognised columns."""
    uncoded = _uncoded(d)
    lines = ["", f"## {w.t('dq.fix.title')}", "", f"### {w.t('dq.fix.uncoded')}", ""]
    if uncoded:
        lines += [
            "- " + _md_cell(w.t("dq.fix.uncoded_row", file=u["file"], row=u["row"], name=u["name"]))
            for u in uncoded
        ]
        lines += ["", w.t("dq.fix.uncoded_do")]
    else:
        lines.append(w.t("dq.fix.uncoded_none"))
    un = _unrecognised(d.get("inputs", []))
    lines += ["", f"### {w.t('dq.fix.unrecognised')}", ""]
    if un["columns"]:
        lines += [
            "- " + _md_cell(w.t("dq.fix.unrecognised_col", file=f, column=c))
            for f, c in un["columns"]
        ]
    else:
        key = "dq.fix.unrecognised_none" if un["recorded"] else "dq.fix.unrecognised_unknown"
        lines.append(w.t(key))
    return lines


def _tables_list(report: IngestReport, w: Words) -> list[str]:
    """The tables written, with their rows."""
    return ["", f"## {w.t('dq.md.tables')}", ""] + [
        f"- `{k}`: {w.n('dq.rows', v)}" for k, v in report.tables.items()
    ]


def _file_details(e: dict, w: Words) -> list[str]:
    """One file's sections: rows without a code, name variants, statuses against thresholds."""
    lines: list[str] = _ignored_columns(e, w) + _missing_cells(e, w)
    if e.get("unmatched_rows"):
        lines += ["", f"## {w.t('dq.md.unmatched', file=e['name'])}", ""]
        lines += [
            "- " + w.t("dq.row", row=u["row"], name=u["nama_desa"]) for u in e["unmatched_rows"]
        ]
    if e.get("name_variants"):
        lines += ["", f"## {w.t('dq.md.name_variants', file=e['name'])}", ""]
        lines += [
            "- "
            + w.t(
                "dq.md.name_variant",
                code=v["kode_desa"],
                given=v["given"],
                official=v["official"],
            )  # fmt: skip
            for v in e["name_variants"]
        ]
    if e.get("status_disagreements"):
        lines += ["", f"## {w.t('dq.md.status_vs_thresholds', file=e['name'])}", ""]
        lines += [
            "- "
            + w.t(
                "dq.md.status_row",
                row=x["row"],
                code=x["kode_desa"],
                idm=w.num(x["nilai_idm"], 4),
                published=x["published"],
                recomputed=x["recomputed"],
            )  # fmt: skip
            for x in e["status_disagreements"][:50]
        ]
    return lines


def _extra_sections(report: IngestReport, w: Words) -> list[str]:
    """The API and crosswalk sections of each file, then the registry and Indeks Desa ones."""
    lines: list[str] = []
    for e in report.inputs:
        if "differing" in e:
            lines += _api_comparison(e, w)
        if e.get("crosswalk"):
            lines += _crosswalk_section(e, w)
    if report.registry:
        lines += _registry_section(report.registry, w)
    if report.indeks_desa:
        lines += _indeks_desa_section(report.indeks_desa, w)
    if report.coordinates:
        lines += coordinates_section(report.coordinates, w)
    return lines


def coordinates_section(d: dict, w: Words) -> list[str]:
    """Markdown: how many desa have a point, then the desa with none or with one outside the box."""
    lines = ["", f"## {w.t('dq.coord.title')}", ""]
    lines.append(
        w.t(
            "dq.coord.counts",
            located=w.int(d["located"]),
            desa=w.int(d["desa"]),
            sources=", ".join(f"{k} ({w.int(v)})" for k, v in d["sources"].items()) or "-",
        )
    )
    if d["missing"]:
        lines += ["", w.n("dq.coord.missing", len(d["missing"])), ""]
        lines += [f"- {_md_cell(x)}" for x in _names([f"{k} {n}" for k, n in d["missing"]])]
    if d["outside"]:
        lines += ["", w.n("dq.coord.outside", len(d["outside"])), ""]
        lines += [
            f"- {_md_cell(x)}"
            for x in _names([f"{k} {n} ({la:.4f}, {lo:.4f})" for k, n, la, lo in d["outside"]])
        ]
    if d["missing"] or d["outside"]:
        lines += ["", w.t("dq.coord.fix")]
    return lines


def _api_comparison(e: dict, w: Words) -> list[str]:
    """The API records against the workbooks: how many differ, by how much, which ones."""
    median = e.get("median_idm_difference")
    lines = [
        "",
        f"## {w.t('dq.md.api_vs_workbook')}",
        "",
        w.t(
            "dq.md.api_compared",
            compared=w.int(e["compared"]),
            differing=w.int(e["differing"]),
        )
        + ("" if median is None else " " + w.t("dq.md.api_median", value=w.num(median, 4)))
        + w.t("dq.md.api_added", n=w.int(e.get("api_rows_added", 0))),
        "",
    ]
    return (
        lines
        + [
            "- "
            + w.t(
                "dq.md.api_row",
                code=d["kode_desa"],
                year=d["tahun"],
                workbook=w.num(d["nilai_idm"], 4),
                api=w.num(d["nilai_idm_api"], 4),
            )  # fmt: skip
            for d in e["differences"][:50]
        ]
    )


def _crosswalk_section(e: dict, w: Words) -> list[str]:
    """How the crosswalk placed a BPS-coded file's rows, by fate."""
    x = e["crosswalk"]
    return [
        "",
        f"## {w.t('dq.md.crosswalk', file=e['name'])}",
        "",
        w.t("dq.md.crosswalk_placed", placed=w.int(x["placed"]), rows=w.int(x["rows"]))
        + ", ".join(
            f"{w.t(MD_CROSSWALK_FATES[k]) if k in MD_CROSSWALK_FATES else k} {w.int(v)}"
            for k, v in x["by_fate"].items()
        ),
    ]


def _registry_section(r: dict, w: Words) -> list[str]:
    """The registry rows' fates counted, and each row not used with why (200 at most)."""
    last = r["last_idm_year"]
    lines = [
        "",
        f"## {w.t('dq.md.registry')}",
        "",
        w.t("dq.md.last_idm_year", year=last if last is not None else "-")
        + " "
        + ", ".join(f"{w.t(MD_FATES[k])} {w.int(v)}" for k, v in r["counts"].items()),
        "",
    ]
    return (
        lines
        + [
            "- "
            + w.t(
                "dq.md.registry_row",
                row=x["row"],
                id=x["id_kerjasama"],
                name=x["nama_desa"],
                fate=w.t(MD_FATES[x["fate"]]),
                why=_fate_reason(w, x, last),
            )  # fmt: skip
            for x in r["rows"]
            if x["fate"] != "used"
        ][:200]
    )


def _indeks_desa_section(d: dict, w: Words) -> list[str]:
    """The Indeks Desa years present, the outcomes used and those never used."""
    years = d.get("years") or []
    return [
        "",
        "## Indeks Desa",
        "",
        (
            w.t("dq.md.indeks_one_year", year=years[0] if years else "-")
            if len(years) < 2
            else w.t("dq.md.indeks_years", first=years[0], last=years[-1])
        )
        + " "
        + w.t(
            "dq.md.indeks_outcomes",
            used=", ".join(f"`{o}`" for o in d["outcomes"]),
            never=", ".join(f"`{o}`" for o in d["never_outcomes"]),
        ),
    ]


def _fate_reason(w: Words, x: dict, last: int | None) -> str:
    """Why a registry row is not used, worded from its fate and numbers."""
    fate = x["fate"]
    if fate == "unmatched":
        return w.t("dq.md.why.no_code" if x.get("kode_desa") is None else "dq.md.why.no_idm")
    if fate == "too_recent":
        e = x.get("exposure_year")
        return w.t("dq.md.why.too_recent", year=e if e is not None else "-", last=last or "-")
    return w.t(MD_WHY[fate])


# ---- the HTML page of a run -----------------------------------------------------------------


def _note_value(w, key: str, value: object) -> str:
    if key in ("columns_used", "columns_ignored"):
        return ", ".join(_names(list(value)))
    if key == "columns_mapped":
        return _pairs(value)
    if key == "month_first":
        return _month_first(w, value)
    if key == "missing_cells":
        rows = sorted({c["row"] for c in value})
        return ", ".join(w.int(r) for r in rows[:50]) + (
            " " + w.n("dq.md.and_more", len(rows) - 50) if len(rows) > 50 else ""
        )
    if key == "name_variants" and isinstance(value, list) and value:
        shown = [  # the code governs; the names an official may want to correct at the source
            w.t("dq.md.name_variant", code=v["kode_desa"], given=v["given"], official=v["official"])
            for v in value[:20]
        ]
        more = " " + w.n("dq.md.and_more", len(value) - 20) if len(value) > 20 else ""
        return f"{w.int(len(value))}: " + "; ".join(shown) + more
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
    """Each table's checks as rows (check, result) worded from the catalog.

    Unknown checks are left out rather than shown as raw keys.

    Parameters
    ----------
    outcomes
        The check outcomes by table name (:func:`analysis.inputs.validate.validate_folder`).
    lang
        A language with a catalog.

    Returns
    -------
    list of dict
        Per table: ``title``, ``rows_n`` (worded) and ``rows`` (check, result).
    """
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
    """The files ``ingest`` read (``data_quality.json``), each with its checks worded.

    Parameters
    ----------
    folder
        The data folder.
    lang
        A language with a catalog.

    Returns
    -------
    list of dict
        Per file: ``name``, ``kind`` (worded), ``rows`` (check, result) and ``unmatched``
        (row, name); empty when the folder has no ``data_quality.json``.
    """
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


#: The key an ingest entry carries for the columns it did not read (a list of column names, or
#: of dicts with ``column``): every file's; the list of what to fix names the covariates'.
UNRECOGNISED_KEY = "columns_ignored"  # what ingest records per file (inputs.reading.ColumnFates)


def missing_desa_years(ds) -> list[dict]:
    """Desa-years without an IDM value, per district (desa of the frame x years of the data).

    Parameters
    ----------
    ds
        The data folder (:func:`analysis.inputs.dataset.load_dataset`).

    Returns
    -------
    list of dict
        Per district with a gap, in code order: ``code``, ``name``, ``missing`` (desa-years),
        ``desa`` (desa with a gap), ``years`` (years with a gap).
    """
    desa = ds.villages[ds.villages["jenis"].isin(DESA_KINDS)]
    years = sorted(int(y) for y in ds.welfare["tahun"].dropna().unique())
    have = ds.welfare[ds.welfare["nilai_idm"].notna()][["kode_desa", "tahun"]]
    grid = pd.MultiIndex.from_product([desa["kode_desa"], years], names=["kode_desa", "tahun"])
    gaps = grid.difference(pd.MultiIndex.from_frame(have.astype({"tahun": int})))
    g = gaps.to_frame(index=False).merge(desa[["kode_desa", "kode_kab", "nama_kabupaten"]])
    return [
        {
            "code": code,
            "name": str(rows["nama_kabupaten"].iat[0]),
            "missing": len(rows),
            "desa": int(rows["kode_desa"].nunique()),
            "years": sorted(int(y) for y in rows["tahun"].unique()),
        }
        for code, rows in g.groupby("kode_kab", sort=True)
    ]


def ended_agreements(ds) -> dict:
    """Agreements recorded as ended (``selesai``), per district, and whether they still count.

    Returns
    -------
    dict
        ``total``, ``by_district`` (name -> count) and ``still_counted`` (``selesai`` is one of
        :data:`analysis.design.COUNTING_STATUSES`: an ended agreement keeps its desa partnered).
    """
    p = ds.partnerships
    ended = p[p["status"] == "selesai"]
    kab = ds.villages.set_index("kode_desa")["nama_kabupaten"]
    names = ended["kode_desa"].map(kab).fillna("-")
    return {
        "total": len(ended),
        "by_district": {str(k): int(v) for k, v in names.value_counts().sort_index().items()},
        "still_counted": "selesai" in COUNTING_STATUSES,
    }


def _quality_json(folder: Path) -> dict:
    f = Path(folder) / paths.QUALITY_JSON
    return json.loads(f.read_text(encoding="utf-8")) if f.exists() else {}


def uncoded_rows(folder: Path) -> list[dict]:
    """Rows without a desa code, by file and row, from ``data_quality.json`` (what ingest saw)."""
    return _uncoded(_quality_json(folder))


def _uncoded(d: dict) -> list[dict]:
    """The rows without a code in an ingest record: each file's, then the registry's others."""
    rows = [
        {"file": e.get("name", ""), "row": u.get("row"), "name": u.get("nama_desa", "")}
        for e in d.get("inputs", [])
        for u in e.get("unmatched_rows", [])
    ]
    seen = {(r["row"], r["name"]) for r in rows}
    reg = d.get("registry_rows") or {}
    file = next(
        (e.get("name", "") for e in d.get("inputs", []) if e.get("kind") == "partnerships"), ""
    )
    rows += [
        {"file": file, "row": x["row"], "name": x.get("nama_desa", "")}
        for x in reg.get("rows", [])
        if x.get("fate") == "unmatched" and x.get("kode_desa") is None
        and (x["row"], x.get("nama_desa", "")) not in seen
    ]  # fmt: skip
    return rows


def unrecognised_columns(folder: Path) -> dict:
    """Covariate columns ingest did not recognise, by file, if ingest recorded them.

    Returns
    -------
    dict
        ``recorded`` (whether any ingest entry carries :data:`UNRECOGNISED_KEY`) and
        ``columns`` (file, column) pairs.
    """
    return _unrecognised(_quality_json(folder).get("inputs", []))


def _unrecognised(inputs: list[dict]) -> dict:
    """The covariates files' columns not read (other files' are listed with each file)."""
    inputs = [e for e in inputs if e.get("kind", "villages") == "villages"]
    cols = [
        (e.get("name", ""), c.get("column", "") if isinstance(c, dict) else str(c))
        for e in inputs
        for c in e.get(UNRECOGNISED_KEY, [])
    ]
    return {"recorded": any(UNRECOGNISED_KEY in e for e in inputs), "columns": cols}


def agreements_rows(path: str | Path, same_as: dict[str, str] | None = None) -> list[dict]:
    """Each row of an agreements file: its file row, id, desa, code, status and year counted.

    The file is checked like a registry (:func:`analysis.inputs.registry.read_agreements`; a
    relative path is taken from the working directory); a file that fails its checks raises
    :class:`analysis.errors.InputFileError`. ``same_as`` (id left out -> id kept, from
    :func:`analysis.inputs.registry.agreement_sources`) fills each row's ``same_as``: the
    agreement it repeats, counted once.
    """
    t = check_agreements_file(path)
    name = paths.input_path(path).name
    counted = t["status"].isin(COUNTING_STATUSES)
    g = pd.Series(pd.NA, index=t.index, dtype="Int64")
    if counted.any():
        g[counted] = agreement_exposure(t[counted]).to_numpy()
    same_as = same_as or {}
    return [
        {
            "file": name,
            "row": int(r[ROW]),
            "id": str(r["id_kerjasama"]),
            "name": str(r["nama_desa"]),
            "code": None if pd.isna(r["kode_desa"]) else str(r["kode_desa"]),
            "status": str(r["status"]),
            "year": None if pd.isna(gy) else int(gy),
            "same_as": same_as.get(str(r["id_kerjasama"])),
        }
        for (_, r), gy in zip(t.iterrows(), g, strict=True)
    ]


def agreements_merge(ds, agreements: str | Path | None) -> dict | None:
    """The registry and the agreements files counted, and the agreements they share.

    ``None`` without an agreements file; else :func:`analysis.inputs.registry.agreement_sources`
    over the data folder's registry (the run console says the same numbers).
    """
    files = paths.input_paths(str(agreements) if agreements else "")
    if not files:
        return None
    return agreement_sources(ds.partnerships, [read_agreements(f) for f in files])


def merged_note(w, m: dict) -> str:
    """The sentence that counts the registry's and the files' agreements (:func:`agreements_merge`).

    The run's console and the data page say it alike: how many in each, how many the same,
    how many counted; then, when they occur, the rows a file repeats and the counted
    agreements without a desa code (which no comparison can use).
    """
    line = w.t(
        "dq.fix.agreements_merged",
        registry=w.int(m["registry"]),
        files=w.int(m["files"]),
        both=w.int(m["same_in_both"]),
        counted=w.int(m["counted"]),
    )
    if m.get("repeated_in_files"):
        line += " " + w.n("dq.fix.agreements_repeated", m["repeated_in_files"])
    if m.get("uncoded"):
        line += " " + w.n("dq.fix.agreements_uncoded", m["uncoded"])
    return line


def fix_list(ds, agreements: str | Path | None = None) -> dict:
    """What to fix, as facts: each part of the data-quality page's list.

    Parameters
    ----------
    ds
        The data folder (:func:`analysis.inputs.dataset.load_dataset`).
    agreements
        The agreements file(s) the briefs read: a path, or paths separated by commas as the
        notebook parameter takes them (relative ones from the working directory); ``None``
        lists none.

    Returns
    -------
    dict
        ``missing`` (:func:`missing_desa_years`), ``uncoded`` (:func:`uncoded_rows`, then
        the agreements files' rows without a code that repeat no counted agreement),
        ``unrecognised`` (:func:`unrecognised_columns`), ``ended``
        (:func:`ended_agreements`), ``agreements`` (:func:`agreements_rows` of each file, or
        ``None``), ``merged`` (:func:`agreements_merge`: the registry's and the files'
        agreements counted once, or ``None``) and ``coordinates`` (the desa without a usable
        point, :func:`analysis.inputs.coordinates.coverage_facts`).
    """
    files = paths.input_paths(str(agreements) if agreements else "")
    merged = agreements_merge(ds, agreements)
    same = {a: b for a, b in merged["duplicates"]} if merged else {}
    rows = [r for f in files for r in agreements_rows(f, same)] if files else None
    # the agreements files' rows without a code (not repeats) join the ingest files' rows
    uncoded = uncoded_rows(ds.folder) + [
        {"file": r["file"], "row": r["row"], "name": r["name"]}
        for r in rows or ()
        if r["code"] is None and not r.get("same_as")
    ]
    return {
        "missing": missing_desa_years(ds),
        "uncoded": uncoded,
        "unrecognised": unrecognised_columns(ds.folder),
        "ended": ended_agreements(ds),
        "agreements": rows,
        "merged": merged,
        "coordinates": coverage_facts(ds.welfare, ds.villages, ds.coordinates),
    }


def write_data_report(out: Path, ds, lang: str, agreements: str | Path | None = None) -> Path:
    """Write the data-quality page: what to fix, contract checks as tables, fingerprints.

    The list of what to fix (:func:`fix_list`) comes first: desa-years without a value per
    district, rows without a desa code (file and row), unrecognised covariate columns (when
    ingest recorded them), ended agreements and, when given, every row of the agreements file.

    Parameters
    ----------
    out
        The run's output folder.
    ds
        The data folder as :func:`analysis.inputs.dataset.load_dataset` gives it.
    lang
        A language with a catalog.
    agreements
        The agreements file the run's briefs read (``None``: none).

    Returns
    -------
    pathlib.Path
        ``out / "data_report.html"``.
    """
    w = words(lang)
    try:
        tables, problems = data_quality_tables(validate_folder(ds.folder), lang), []
    except InputFileError as e:
        tables, problems = [], [render_message(p, lang) for p in e.problems]
    body = render(
        "data_report.html.j2",
        lang,
        title=dataset_title(w, ds.meta, ds.folder.name),
        fix=fix_list(ds, agreements),
        merged_note=merged_note,
        tables=tables,
        problems=problems,
        inputs=ingest_inputs(ds.folder, lang),
        hashes=sorted(ds.hashes.items()),
    )
    return write_file_atomically(
        out / "data_report.html", page(w.t("dq.title"), body, lang, ds.synthetic, "index.html")
    )


__all__ = [
    "UNRECOGNISED_KEY",
    "merged_note",
    "agreements_rows",
    "ended_agreements",
    "fix_list",
    "missing_desa_years",
    "uncoded_rows",
    "unrecognised_columns",
    "MD_COLUMNS",
    "MD_COUNTS",
    "MD_CROSSWALK_FATES",
    "MD_FATES",
    "MD_WHY",
    "MD_YEAR_FROM",
    "data_quality_tables",
    "ingest_inputs",
    "localise_problems",
    "quality_markdown",
    "write_data_report",
    "write_quality_markdown",
]
