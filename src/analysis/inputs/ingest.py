"""Raw files -> validated processed tables (Parquet) and a data-quality report.

Reads the Ministry of Villages' yearly IDM workbooks (the layouts of
``data/idm_layouts.toml`` or a user's column map), its per-village JSON records, tidy welfare
CSV/XLSX, Indeks Desa files, a partnership registry and village covariates (Kemendagri codes,
or BPS codes through a crosswalk); checks each against its contract (``validate``); writes the
Parquet tables, ``data_quality.json``, ``data_quality.md`` and ``dataset.json`` into a new
folder, whole or not at all, after the folder passes the same check as ``validate`` and ``run``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import CodeSystemError, InputFileError, InputProblem
from analysis.files import write_dir_atomically, write_json
from analysis.inputs import frame as frame_mod
from analysis.inputs.dataset import DATASET_FILE, file_sha256, write_tables
from analysis.inputs.layouts import ColumnMap, read_column_map, read_idm_file
from analysis.inputs.reading import (
    ENCODING_CHOICES,
    ROW,
    ReadFacts,
    peek_headers,
    read_raw,
    rename_columns,
)
from analysis.inputs.validate import DECIMAL_CHOICES, CheckOutcome, check_table
from analysis.schema import PARTNERSHIPS, VILLAGES, WELFARE

REGISTRY_ALIASES = {
    "kode": "kode_desa",
    "village_code": "kode_desa",
    "desa": "nama_desa",
    "village": "nama_desa",
    "partner": "mitra",
    "nama_mitra": "mitra",
    "partner_type": "jenis_mitra",
    "sector": "sektor",
    "code_system": "sistem_kode",
    "tanggal_ttd": "tanggal_tanda_tangan",
    "signed": "tanggal_tanda_tangan",
    "start": "tanggal_mulai",
    "end": "tanggal_selesai",
    "nilai": "nilai_rupiah",
    "id": "id_kerjasama",
    "sumber": "sumber_dokumen",
}


@dataclass
class IngestReport:
    """What ingestion read, kept, flagged and wrote."""

    inputs: list[dict] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    registry: dict | None = None
    indeks_desa: dict | None = None

    def to_json(self) -> dict:
        out = {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "inputs": self.inputs,
            "tables": self.tables,
        }
        if self.registry is not None:
            out["registry_rows"] = self.registry
        if self.indeks_desa is not None:
            out["indeks_desa"] = self.indeks_desa
        return out


def read_idm_workbook(
    path: Path, maps: list[ColumnMap] = (), map_dir: Path | None = None
) -> tuple[pd.DataFrame, dict]:
    """One IDM workbook (any layout of ``data/idm_layouts.toml``, or through a column map)
    -> canonical welfare columns (unchecked) and facts.

    The year comes from the headers (``IKS_2024``), else the title rows, the file name or the
    column map. ``UPDATE`` (2023) or ``Keterangan`` (2024) gives the year the values were
    measured: older than the file year means carried forward. A workbook with one IDM table per
    visible sheet gives them all.
    """
    tables, facts = read_idm_file(Path(path), maps, map_dir)
    return pd.concat(tables, ignore_index=True), facts


def _is_tidy_welfare(path: Path, encoding: str = "auto") -> bool:
    """Whether a file has the tidy welfare columns (kode_desa, tahun, iks, ike, ikl)."""
    low = {h.lower().replace(" ", "_") for h in peek_headers(path, encoding)}
    return {"iks", "ike", "ikl"} <= low and bool({"tahun", "year"} & low)


def read_tidy_welfare(
    path: Path, encoding: str = "auto", facts: ReadFacts | None = None
) -> pd.DataFrame:
    """A tidy welfare file (columns of the welfare contract) with canonical names."""
    df = read_raw(path, prefer=WELFARE.required, encoding=encoding, facts=facts)
    wanted = [c.name for c in WELFARE.columns]
    return rename_columns(
        df,
        path,
        wanted,
        WELFARE.required,
        {"kode": "kode_desa", "year": "tahun", "idm": "nilai_idm", "status": "status_idm"},
    )


def _record(
    report: IngestReport, path: Path, kind: str, oc: CheckOutcome | None, extra: dict | None = None
) -> None:
    path = Path(path)
    entry = {
        "file": str(path),
        "name": path.name,
        "kind": kind,
        "sha256": file_sha256(path) if path.exists() else None,
    }
    if extra:
        entry.update(extra)
    if oc is not None:
        entry.update(oc.notes)
    report.inputs.append(entry)


def _choice(name: str, value: str, allowed: tuple[str, ...], flag: str) -> list[InputProblem]:
    if value in allowed:
        return []
    return [
        InputProblem(
            "ingest", f"unknown {name} {value!r}", f"use {flag} with one of: {', '.join(allowed)}"
        )
    ]


def ingest(
    *,
    idm: list[Path] = (),
    welfare: list[Path] = (),
    partnerships: Path | None = None,
    villages: Path | None = None,
    out: Path,
    code_system: str = "kemendagri",
    force: bool = False,
    today: dt.date | None = None,
    title: str | None = None,
    decimal: str = "auto",
    dates: str = "auto",
    encoding: str = "auto",
    layout: list[Path] = (),
    api: list[Path] = (),
    crosswalk: Path | None = None,
    indeks_desa: list[Path] = (),
    map_dir: Path | None = None,
    lang: str = "id",
) -> IngestReport:
    """Read, check and write the processed tables of one data folder.

    Parameters
    ----------
    idm
        IDM workbooks (any layout of ``src/analysis/data/idm_layouts.toml``, or read through a
        ``layout`` column map) or tidy welfare files; the kind is recognised from the headers.
    welfare
        Tidy welfare files (columns as in ``data/README.md``).
    partnerships
        The partnership registry (CSV or XLSX, template in ``data/templates``).
    villages
        Village covariates (CSV or XLSX).
    out
        Folder to create; an existing folder is replaced only if written by this package and
        ``force`` is set.
    code_system
        The code system of the village covariates file: ``kemendagri``, or ``bps`` with a
        ``crosswalk``.
    decimal
        Decimal mark of numbers written as text: ``"auto"`` decides once per file from the
        cells that can be read only one way and refuses a file that mixes marks or leaves it
        open; ``"dot"`` or ``"comma"`` declares it for every file.
    dates
        Order of day and month in dates like ``05/08/2025``: ``"auto"`` decides per file from
        its evidence and refuses a file that leaves it open; ``"dmy"`` or ``"mdy"`` declares it.
    encoding
        Encoding of CSV files: ``"auto"`` (UTF-8, else Windows-1252 when certain), ``"utf-8"``
        or ``"cp1252"``.
    layout
        Column maps (TOML) for IDM workbooks whose layout is not recognised.
    api
        Folders (or files) of the Ministry's per-village JSON records
        (``open/api/desa/rumusan/{kode_desa}/{tahun}``).
    crosswalk
        A BPS -> Kemendagri code crosswalk for a ``villages`` file with BPS (Podes) codes.
    indeks_desa
        Indeks Desa (2025 onwards) files: a separate series, never spliced onto IDM.
    map_dir
        Where a ready-to-edit column map is written for an unrecognised layout (default: the
        folder that holds ``out``).
    lang
        Language of ``data_quality.md`` (a language with a catalog in
        ``analysis/report/locale``: ``id``, the default, or ``en``).

    Raises
    ------
    InputFileError
        Every problem found in every input, so one run shows all that needs fixing.
    OptionError
        ``lang`` has no catalog (the message lists the languages there are).
    """
    from analysis.errors import check_option
    from analysis.inputs.api_records import merge_api, read_api_records
    from analysis.inputs.crosswalk import apply_crosswalk
    from analysis.inputs.indeks_desa import read_indeks_desa
    from analysis.inputs.validate import DATE_CHOICES, validate_folder
    from analysis.report.catalog import languages

    check_option("lang", lang, languages())
    out = Path(out)
    map_dir = Path(map_dir) if map_dir is not None else out.resolve().parent
    bad = (
        _choice("decimal mark", decimal, DECIMAL_CHOICES, "--decimal")
        + _choice("date order", dates, DATE_CHOICES, "--dates")
        + _choice("encoding", encoding, ENCODING_CHOICES, "--encoding")
    )
    if bad:
        raise InputFileError(bad)
    if crosswalk is not None:
        code_system = "bps"  # giving a crosswalk declares the covariates' codes BPS codes
    if code_system not in ("kemendagri", "bps"):
        raise CodeSystemError(f"unknown code system {code_system!r}: use kemendagri or bps")
    if code_system == "bps" and crosswalk is None:
        raise CodeSystemError(
            f"Code system '{code_system}' cannot be matched to the official frame without a "
            "crosswalk: BPS and Kemendagri codes share a shape but not values. Give the BPS -> "
            "Kemendagri crosswalk with --crosswalk, or convert the codes to Kemendagri first."
        )
    if crosswalk is not None and villages is None:
        raise InputFileError(
            [
                InputProblem(
                    str(crosswalk),
                    "a crosswalk was given but no villages file to translate",
                    "give the BPS-coded covariates with --villages",
                )
            ]
        )
    kw = {"today": today, "decimal": decimal, "dates": dates}
    report = IngestReport()
    problems: list[InputProblem] = []
    tables: dict[str, pd.DataFrame] = {}
    maps = []
    for m in layout:
        try:
            maps.append(read_column_map(Path(m)))
        except InputFileError as e:
            problems += e.problems

    welfare_parts = []
    for p, official in [(Path(x), True) for x in idm] + [(Path(x), False) for x in welfare]:
        try:
            if not p.exists():
                raise InputFileError(
                    [InputProblem(str(p), "the file does not exist", "check the path")]
                )
            facts = ReadFacts()
            if official and not _is_tidy_welfare(p, encoding):
                raw, info = read_idm_workbook(p, maps, map_dir)
                oc = check_table(raw, WELFARE, f"{p}", lenient_scores=True, **kw)
            else:
                raw = read_tidy_welfare(p, encoding, facts)
                info = {"layout": "tidy", **facts.to_dict()}
                oc = check_table(raw, WELFARE, f"{p}", **kw)
        except InputFileError as e:
            problems += e.problems
            continue
        problems += oc.problems
        _record(report, p, "welfare", oc, info)
        welfare_parts.append(oc.table.assign(sumber=p.name, _file=str(p)))
    for m in maps:
        if not m.used_by:
            problems.append(
                InputProblem(
                    str(m.path),
                    "the column map fits none of the --idm files (its headers were not found "
                    + (f"on row {m.header_row} " if m.header_row else "")
                    + (f"of sheet '{m.sheet}'" if m.sheet else "")
                    + ")",
                    "write the headers exactly as in the file, or leave --layout out",
                )
            )
    if welfare_parts:
        allw = pd.concat(welfare_parts, ignore_index=True)
        problems += _cross_file_duplicates(allw)
    else:
        allw = None

    indicators = None
    if api:
        try:
            api_w, indicators, api_notes = read_api_records([Path(a) for a in api], **kw)
        except InputFileError as e:
            problems += e.problems
        else:
            allw, merge_notes = merge_api(allw, api_w)
            api_notes.update(merge_notes)
            _record(report, Path(api[0]), "api_records", None, api_notes)
    if allw is not None and len(allw):
        tables["welfare"] = allw.drop(columns=[ROW, "_file"], errors="ignore").sort_values(
            ["kode_desa", "tahun"], ignore_index=True
        )
    if indicators is not None and len(indicators):
        tables["indicators"] = indicators

    for p in indeks_desa:
        try:
            idx, notes = read_indeks_desa(Path(p), encoding=encoding, **kw)
        except InputFileError as e:
            problems += e.problems
            continue
        _record(report, Path(p), "indeks_desa", None, notes)
        prev = tables.get("indeks_desa")
        tables["indeks_desa"] = idx if prev is None else pd.concat([prev, idx], ignore_index=True)
    if "indeks_desa" in tables:
        idx = tables["indeks_desa"]
        dup = idx[idx.duplicated(["kode_desa", "tahun"], keep=False)]
        for (code, year), grp in dup.groupby(["kode_desa", "tahun"], sort=True):
            problems.append(
                InputProblem(
                    " and ".join(grp["sumber"].unique()),
                    f"village {code} year {int(year)} appears in more than one Indeks Desa row "
                    f"({', '.join(grp['sumber'])})",
                    "give each desa-year once",
                    column="kode_desa",
                    value=code,
                )
            )

    if partnerships is not None:
        p = Path(partnerships)
        try:
            facts = ReadFacts()
            raw = rename_columns(
                read_raw(p, prefer=PARTNERSHIPS.required, encoding=encoding, facts=facts),
                p,
                [c.name for c in PARTNERSHIPS.columns],
                PARTNERSHIPS.required,
                REGISTRY_ALIASES,
            )
            oc = check_table(raw, PARTNERSHIPS, str(p), **kw)
            problems += oc.problems
            _record(report, p, "partnerships", oc, facts.to_dict())
            tables["partnerships"] = oc.table.drop(columns=[ROW])
            registry_rows = oc.table
        except InputFileError as e:
            problems += e.problems

    cov = None
    if villages is not None:
        p = Path(villages)
        try:
            facts = ReadFacts()
            raw = rename_columns(
                read_raw(p, prefer=VILLAGES.required, encoding=encoding, facts=facts),
                p,
                [c.name for c in VILLAGES.columns],
                VILLAGES.required,
                {"kode": "kode_desa", "population": "penduduk", "kode_bps": "kode_desa"},
            )
            extra = facts.to_dict()
            if crosswalk is not None:
                raw, xw_notes = apply_crosswalk(raw, Path(crosswalk), p, encoding=encoding)
                extra["crosswalk"] = xw_notes
            oc = check_table(raw, VILLAGES, str(p), **kw)
            problems += oc.problems
            _record(report, p, "villages", oc, extra)
            cov = oc.table.drop(columns=[ROW])
        except InputFileError as e:
            problems += e.problems

    if problems:
        raise InputFileError(problems)
    if not tables and cov is None:
        raise InputFileError(
            [
                InputProblem(
                    "ingest",
                    "no input files were given",
                    "pass --idm, --welfare, --api, --indeks-desa, --partnerships and/or --villages",
                )
            ]
        )
    if "partnerships" in tables:
        report.registry = registry_fates(
            registry_rows, tables.get("welfare"), tables.get("indeks_desa")
        )
    if "indeks_desa" in tables:
        report.indeks_desa = indeks_desa_facts(tables["indeks_desa"])
    tables["villages"] = build_villages(cov, tables)
    report.tables = {k: int(len(v)) for k, v in tables.items()}
    meta = {
        "title": title or "Ingested data",
        "synthetic": False,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": [{k: e[k] for k in ("name", "sha256", "kind")} for e in report.inputs],
    }

    def write(tmp: Path) -> None:
        write_tables(tmp, tables, meta)
        write_json(tmp / "data_quality.json", report.to_json())
        (tmp / "data_quality.md").write_text(quality_markdown(report, lang), encoding="utf-8")
        try:  # the folder must pass the same check as validate and run
            validate_folder(tmp)
        except InputFileError as e:
            for pr in e.problems:
                pr.file = pr.file.replace(str(tmp), str(out))
            raise InputFileError(e.problems) from None

    write_dir_atomically(out, write, force=force)
    return report


def _cross_file_duplicates(allw: pd.DataFrame) -> list[InputProblem]:
    """The same desa-year in two files: one problem naming both files and rows."""
    has = allw["kode_desa"].notna()
    dup = allw[has & allw.duplicated(["kode_desa", "tahun"], keep=False)]
    problems = []
    for (code, year), grp in dup.groupby(["kode_desa", "tahun"], sort=True):
        files = grp["_file"].unique()
        if len(files) < 2:
            continue  # within one file: reported by that file's own check
        where = " and ".join(f"{f} (row {r})" for f, r in zip(grp["_file"], grp[ROW], strict=True))
        problems.append(
            InputProblem(
                str(files[1]),
                f"village {code} year {int(year)} appears in more than one file: {where}",
                "give each desa-year once (drop the year from one of the files)",
                int(grp[ROW].iloc[1]),
                "kode_desa",
                code,
            )
        )
    return problems


def registry_fates(
    registry: pd.DataFrame,
    welfare: pd.DataFrame | None,
    indeks_desa: pd.DataFrame | None = None,
) -> dict:
    """What happens to each registry row in the analysis, for the data-quality report.

    Fates: ``used`` (a signed, active or ended agreement of a desa with IDM values, exposed by
    the last IDM year), ``too_recent`` (exposed after the last IDM year: a partnership counts
    from its start year's IDM, or the next year's for starts from July), ``unmatched`` (no
    village code, or no IDM values for the desa), ``cancelled``, ``planned`` (not signed).
    """
    from analysis.design import COUNTING_STATUSES, agreement_exposure

    exp = agreement_exposure(registry)
    last = int(welfare["tahun"].max()) if welfare is not None and len(welfare) else None
    with_idm = set(welfare["kode_desa"]) if welfare is not None else set()
    id_years = (
        sorted(int(y) for y in indeks_desa["tahun"].unique()) if indeks_desa is not None else []
    )
    rows = []
    for i in registry.index:
        r = registry.loc[i]
        code = r.get("kode_desa")
        status = r.get("status")
        e = exp.get(i)
        e = None if pd.isna(e) else int(e)
        if status == "dibatalkan":
            fate, why = "cancelled", "agreement cancelled"
        elif status not in COUNTING_STATUSES:
            fate, why = "planned", f"status '{status}': not signed yet"
        elif pd.isna(code):
            fate, why = "unmatched", "no village code (e.g. desa persiapan)"
        elif code not in with_idm:
            fate, why = "unmatched", "no IDM values for this desa in the data"
        elif last is None or e is None or e > last:
            fate = "too_recent"
            why = f"counts from {e}; the last IDM year is {last}" + (
                f"; Indeks Desa years present: {', '.join(map(str, id_years))}" if id_years else ""
            )
        else:
            fate, why = "used", f"counts from IDM {e}"
        rows.append(
            {
                "row": int(r[ROW]),
                "id_kerjasama": r.get("id_kerjasama"),
                "kode_desa": None if pd.isna(code) else code,
                "nama_desa": r.get("nama_desa"),
                "exposure_year": e,
                "fate": fate,
                "reason": why,
            }
        )
    counts = {f: sum(x["fate"] == f for x in rows) for f in FATES}
    return {"last_idm_year": last, "counts": counts, "rows": rows}


#: Fates of registry rows, in report order.
FATES = ("used", "too_recent", "unmatched", "cancelled", "planned")


def indeks_desa_facts(idx: pd.DataFrame) -> dict:
    """Facts on the Indeks Desa series for the data-quality report and the engine's hook."""
    from analysis.inputs.indeks_desa import facts

    return facts(idx)


def build_villages(cov: pd.DataFrame | None, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Frame rows of every province the inputs touch, with covariates joined where given."""
    f = frame_mod.load_frame()
    codes = pd.concat(
        [
            t["kode_desa"].dropna()
            for t in (*tables.values(), *([cov] if cov is not None else []))
            if "kode_desa" in t
        ],
        ignore_index=True,
    )
    provinces = set(codes.str.slice(0, 2))
    base = f[f["kode_prov"].isin(provinces)].copy()
    if cov is not None:
        extra = cov.drop(columns=[c for c in ("nama_desa", "jenis") if c in cov.columns])
        base = base.merge(extra, on="kode_desa", how="left")
    return base.reset_index(drop=True)


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


def quality_markdown(report: IngestReport, lang: str = "id") -> str:
    """The data-quality report as Markdown for people, worded in ``lang`` from the catalogs
    (``dq.md.*`` in ``analysis/report/locale``); numbers in the language's notation."""
    from analysis.report import words

    w = words(lang)
    cols = MD_COLUMNS
    lines = [
        f"# {w.t('dq.title')}",
        "",
        "| " + " | ".join(w.t(c) for c in cols) + " |",
        "|" + "---|" * len(cols),
    ]

    def num(v: object) -> str:
        return "" if v is None or v == "" else w.int(v)

    for e in report.inputs:
        notes = []
        for key in ("carried_forward", "missing_with_reason", "idm_not_mean_of_components"):
            if e.get(key):
                notes.append(w.t(MD_COUNTS[key], n=w.int(e[key])))
        if e.get("status_disagreements"):
            notes.append(w.t("dq.md.status_disagreements", n=w.int(len(e["status_disagreements"]))))
        if e.get("layout") and e["kind"] == "welfare":
            notes.append(
                w.t("dq.md.layout", layout=e["layout"])
                + ("" if e.get("layout_verified", True) else " " + w.t("dq.md.unverified"))
                + (
                    w.t("dq.md.year_from", where=w.t(MD_YEAR_FROM.get(e["year_from"], "")))
                    if e.get("year_from") in MD_YEAR_FROM
                    else ""
                )
            )
        if e.get("encoding") and e["encoding"] != "utf-8":
            notes.append(w.t("dq.md.encoding", encoding=e["encoding"]))
        if e.get("hidden_sheets"):
            notes.append(w.t("dq.md.hidden_sheets", sheets=", ".join(e["hidden_sheets"])))
        for key in ("empty_rows_dropped", "excel_serial_dates", "not_verified"):
            if e.get(key):
                notes.append(w.t(MD_COUNTS[key], n=w.int(e[key])))
        if e.get("iks31_copies_of_iks30"):
            notes.append(w.t("dq.md.iks31_copies_of_iks30", n=w.int(e["iks31_copies_of_iks30"])))
        kind = e["kind"]
        cells = [
            e["name"],
            w.t(f"dq.table.{kind}") if w.has(f"dq.table.{kind}") else kind,
            num(e.get("rows_read")),
            num(e.get("matched")),
            num(e.get("unmatched_no_code")),
            num(e.get("kelurahan_rows")),
            num(e.get("duplicate_rows")),
            w.int(len(e.get("name_variants", []))),
            "; ".join(notes),
        ]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    lines += ["", w.t("dq.md.checks")]
    lines += ["", f"## {w.t('dq.md.tables')}", ""] + [
        f"- `{k}`: {w.n('dq.rows', v)}" for k, v in report.tables.items()
    ]
    for e in report.inputs:
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
    lines += _extra_sections(report, w)
    return "\n".join(lines) + "\n"


def _extra_sections(report: IngestReport, w) -> list[str]:
    lines: list[str] = []
    for e in report.inputs:
        if "differing" in e:
            median = e.get("median_idm_difference")
            lines += [
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
            lines += [
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
        x = e.get("crosswalk")
        if x:
            lines += [
                "",
                f"## {w.t('dq.md.crosswalk', file=e['name'])}",
                "",
                w.t("dq.md.crosswalk_placed", placed=w.int(x["placed"]), rows=w.int(x["rows"]))
                + ", ".join(
                    f"{w.t(MD_CROSSWALK_FATES[k]) if k in MD_CROSSWALK_FATES else k} {w.int(v)}"
                    for k, v in x["by_fate"].items()
                ),
            ]
    if report.registry:
        r = report.registry
        last = r["last_idm_year"]
        lines += [
            "",
            f"## {w.t('dq.md.registry')}",
            "",
            w.t("dq.md.last_idm_year", year=last if last is not None else "-")
            + " "
            + ", ".join(f"{w.t(MD_FATES[k])} {w.int(v)}" for k, v in r["counts"].items()),
            "",
        ]
        lines += [
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
    if report.indeks_desa:
        d = report.indeks_desa
        years = d.get("years") or []
        lines += [
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
    return lines


def _fate_reason(w, x: dict, last: int | None) -> str:
    """Why a registry row is not used, worded from its fate and numbers."""
    fate = x["fate"]
    if fate == "unmatched":
        return w.t("dq.md.why.no_code" if x.get("kode_desa") is None else "dq.md.why.no_idm")
    if fate == "too_recent":
        e = x.get("exposure_year")
        return w.t("dq.md.why.too_recent", year=e if e is not None else "-", last=last or "-")
    return w.t(MD_WHY[fate])


__all__ = ["ingest", "read_idm_workbook", "IngestReport", "DATASET_FILE"]
