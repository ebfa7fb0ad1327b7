"""Raw files -> validated processed tables (Parquet) and the data-quality facts.

Reads the Ministry of Villages' yearly IDM workbooks (the layouts of
``data/idm_layouts.toml`` or a user's column map), its per-village JSON records, tidy welfare
CSV/XLSX, Indeks Desa files, a partnership registry and village covariates (Kemendagri codes,
or BPS codes through a crosswalk); checks each against its contract (``validate``)
(:func:`read_inputs`); writes the Parquet tables, ``data_quality.json``, ``dataset.json`` and
the pages a caller adds into a new folder, whole or not at all, after the folder passes the same
check as ``validate`` and ``run`` (:func:`write_folder`). The public ``ingest``
(:func:`analysis.ingest.ingest`) runs both and adds the report's ``data_quality.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.design import COUNTING_STATUSES, agreement_exposure
from analysis.errors import (
    AndList,
    CodeSystemError,
    InputFileError,
    InputProblem,
    Phrase,
    Term,
    missing_path,
)
from analysis.files import write_dir_atomically, write_json
from analysis.inputs import frame as frame_mod
from analysis.inputs.api_records import merge_api, read_api_records
from analysis.inputs.columns import covariate_columns
from analysis.inputs.coordinates import coverage_facts
from analysis.inputs.crosswalk import apply_crosswalk
from analysis.inputs.dataset import DATASET_FILE, file_sha256, write_tables
from analysis.inputs.indeks_desa import facts as _indeks_desa_facts
from analysis.inputs.indeks_desa import read_indeks_desa
from analysis.inputs.layouts import ColumnMap, read_column_map, read_idm_file
from analysis.inputs.reading import (
    ENCODING_CHOICES,
    ROW,
    ColumnFates,
    ReadFacts,
    contract_columns,
    peek_headers,
    read_raw,
)
from analysis.inputs.registry import REGISTRY_ALIASES, registry_columns_and_fates
from analysis.inputs.validate import (
    DATE_CHOICES,
    DECIMAL_CHOICES,
    CheckOutcome,
    check_table,
    validate_folder,
)
from analysis.schema import (
    COORDINATE_ALIASES,
    COORDINATES,
    DEFAULT_TITLE,
    PARTNERSHIPS,
    VILLAGES,
    WELFARE,
)


@dataclass
class IngestReport:
    """What ingestion read, kept, flagged and wrote.

    Attributes
    ----------
    inputs
        One entry per file read: name, kind, fingerprint and the facts its check counted.
    tables
        Rows of each table written.
    registry
        What happens to each registry row (:func:`registry_fates`), when a registry was given.
    indeks_desa
        Facts on the Indeks Desa series (:func:`indeks_desa_facts`), when one was given.
    coordinates
        Which desa of the welfare table have a usable point (:func:`coordinate_facts`).
    """

    inputs: list[dict] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    registry: dict | None = None
    indeks_desa: dict | None = None
    coordinates: dict | None = None

    def to_json(self) -> dict:
        """The report as ``data_quality.json`` holds it, stamped with the time of writing.

        Returns
        -------
        dict
            ``created``, ``inputs``, ``tables`` and, when present, ``registry_rows`` and
            ``indeks_desa``.
        """
        out = {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "inputs": self.inputs,
            "tables": self.tables,
        }
        if self.registry is not None:
            out["registry_rows"] = self.registry
        if self.indeks_desa is not None:
            out["indeks_desa"] = self.indeks_desa
        if self.coordinates is not None:
            out["coordinates"] = self.coordinates
        return out


@dataclass
class Ingested:
    """The checked tables of one data folder, ready to write (:func:`write_folder`).

    Attributes
    ----------
    tables
        Processed tables by name (``welfare``, ``partnerships``, ``villages``, ...).
    report
        What was read, kept and flagged (``data_quality.json``).
    meta
        The folder's ``dataset.json``.
    """

    tables: dict[str, pd.DataFrame]
    report: IngestReport
    meta: dict


#: A page written into the folder before it is checked and moved into place: ``page(tmp, report)``.
PageWriter = Callable[[Path, IngestReport], None]


@dataclass
class _Gathered:
    """What the reading steps collect: the report, every problem, and the tables kept."""

    report: IngestReport = field(default_factory=IngestReport)
    problems: list[InputProblem] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def read_idm_workbook(
    path: Path, maps: list[ColumnMap] = (), map_dir: Path | None = None
) -> tuple[pd.DataFrame, dict]:
    """Read one IDM workbook into canonical welfare columns (unchecked) and facts.

    Any layout of ``data/idm_layouts.toml`` is recognised, or the file is read through a column
    map. The year comes from the headers (``IKS_2024``), else the title rows, the file name or
    the column map. ``UPDATE`` (2023) or ``Keterangan`` (2024) gives the year the values were
    measured: older than the file year means carried forward. A workbook with one IDM table per
    visible sheet gives them all.

    Parameters
    ----------
    path
        The workbook (or CSV).
    maps
        Column maps (``--layout``); one that fits the file takes precedence.
    map_dir
        Where a ready-to-edit map is written for an unrecognised layout; ``None`` writes none.

    Returns
    -------
    tuple of pandas.DataFrame and dict
        The rows of every table in the file, and how the file was read.
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
    """Read a tidy welfare file (columns of the welfare contract) with canonical names.

    Parameters
    ----------
    path
        The CSV or XLSX file.
    encoding
        CSV text encoding (see :func:`analysis.inputs.reading.read_raw`).
    facts
        Filled with how the file was read.

    Returns
    -------
    pandas.DataFrame
        The welfare contract's columns the file has, plus ``_row`` (unchecked).
    """
    return _tidy_welfare(path, encoding, facts)[0]


#: Other headers a tidy welfare file may use for the contract's columns.
WELFARE_ALIASES = {"kode": "kode_desa", "year": "tahun", "idm": "nilai_idm", "status": "status_idm"}


def _tidy_welfare(
    path: Path, encoding: str = "auto", facts: ReadFacts | None = None
) -> tuple[pd.DataFrame, ColumnFates]:
    """:func:`read_tidy_welfare`, and what became of each header (used, mapped or ignored)."""
    df = read_raw(path, prefer=WELFARE.required, encoding=encoding, facts=facts)
    wanted = [c.name for c in WELFARE.columns]
    return contract_columns(df, path, wanted, WELFARE.required, WELFARE_ALIASES)


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
            "ingest",
            f"unknown {name} {value!r}",
            f"use {flag} with one of: {', '.join(allowed)}",
            key="unknown_choice",
            args={
                "what": Term(f"choice.{name.replace(' ', '_')}"),
                "value": repr(value),
                "flag": flag,
                "allowed": ", ".join(allowed),
            },
        )
    ]


def _check_code_system(code_system: str, crosswalk: Path | None) -> None:
    """Refuse an unknown code system, or BPS codes without a crosswalk (:class:`CodeSystemError`)."""
    if code_system not in ("kemendagri", "bps"):
        raise CodeSystemError(
            f"unknown code system {code_system!r}: use kemendagri or bps",
            key="code_system.unknown",
            value=repr(code_system),
        )
    if code_system == "bps" and crosswalk is None:
        raise CodeSystemError(
            f"Code system '{code_system}' cannot be matched to the official frame without a "
            "crosswalk: BPS and Kemendagri codes share a shape but not values. Give the BPS -> "
            "Kemendagri crosswalk with --crosswalk, or convert the codes to Kemendagri first.",
            key="code_system.bps_needs_crosswalk",
            system=code_system,
        )


def check_choices(
    *,
    decimal: str = "auto",
    dates: str = "auto",
    encoding: str = "auto",
    code_system: str = "kemendagri",
    crosswalk: Path | None = None,
    villages: Path | None = None,
    columns: Path | None = None,
) -> str:
    """Refuse option values ingestion cannot work with, before any file is read.

    Parameters
    ----------
    decimal, dates, encoding
        As for :func:`read_inputs`.
    code_system
        The code system of the village covariates file.
    crosswalk
        A BPS -> Kemendagri crosswalk; giving one declares the covariates' codes BPS codes.
    villages
        The village covariates file a crosswalk translates.
    columns
        A column map for the covariates file (``--columns``): refused without ``villages``.

    Returns
    -------
    str
        The code system of the covariates: ``kemendagri`` or ``bps``.

    Raises
    ------
    InputFileError
        An unknown decimal mark, date order or encoding (all named at once), or a crosswalk
        without a villages file.
    CodeSystemError
        An unknown code system, or BPS codes without a crosswalk.
    """
    bad = (
        _choice("decimal mark", decimal, DECIMAL_CHOICES, "--decimal")
        + _choice("date order", dates, DATE_CHOICES, "--dates")
        + _choice("encoding", encoding, ENCODING_CHOICES, "--encoding")
    )
    if bad:
        raise InputFileError(bad)
    if crosswalk is not None:
        code_system = "bps"  # giving a crosswalk declares the covariates' codes BPS codes
    _check_code_system(code_system, crosswalk)
    if crosswalk is not None and villages is None:
        raise InputFileError(
            [
                InputProblem(
                    str(crosswalk),
                    "a crosswalk was given but no villages file to translate",
                    "give the BPS-coded covariates with --villages",
                    key="crosswalk_without_villages",
                )
            ]
        )
    if columns is not None and villages is None:
        raise InputFileError(
            [
                InputProblem(
                    str(columns),
                    "a column map for covariates (--columns) was given but no villages file",
                    "give the covariates file with --villages, or leave --columns out",
                    key="columns_without_villages",
                )
            ]
        )
    return code_system


def read_inputs(
    *,
    idm: Sequence[Path] = (),
    welfare: Sequence[Path] = (),
    partnerships: Path | None = None,
    villages: Path | None = None,
    code_system: str = "kemendagri",
    today: dt.date | None = None,
    title: str | None = None,
    decimal: str = "auto",
    dates: str = "auto",
    encoding: str = "auto",
    layout: Sequence[Path] = (),
    api: Sequence[Path] = (),
    crosswalk: Path | None = None,
    indeks_desa: Sequence[Path] = (),
    map_dir: Path | None = None,
    columns: Path | None = None,
    coordinates: Path | None = None,
) -> Ingested:
    """Read and check every input of one data folder, and gather the data-quality facts.

    The parameters are those of :func:`analysis.ingest.ingest` (which documents each), less
    the folder to write; ``map_dir`` ``None`` writes no column map for an unrecognised layout.

    Returns
    -------
    Ingested
        The processed tables, the report and the folder's ``dataset.json``.

    Raises
    ------
    InputFileError
        Every problem found in every input, so one run shows all that needs fixing; or no
        input at all.
    CodeSystemError
        See :func:`check_choices`.
    """
    check_choices(
        decimal=decimal,
        dates=dates,
        encoding=encoding,
        code_system=code_system,
        crosswalk=crosswalk,
        villages=villages,
        columns=columns,
    )
    kw = {"today": today, "decimal": decimal, "dates": dates}
    got = _Gathered()
    maps = _read_column_maps(layout, got)
    allw = _read_welfare_files(idm, welfare, maps, map_dir, encoding, kw, got)
    _check_maps_used(maps, got)
    _read_api_and_keep_welfare(api, allw, kw, got)
    _read_indeks_desa_files(indeks_desa, encoding, kw, got)
    registry_rows = _read_registry(partnerships, encoding, kw, got)
    cov = _read_villages(villages, crosswalk, encoding, kw, got, columns, map_dir)
    _read_coordinates(coordinates, encoding, kw, got)
    _refuse_problems_or_nothing(got, cov)
    return _complete(got, registry_rows, cov, title)


def _read_column_maps(layout: Sequence[Path], got: _Gathered) -> list[ColumnMap]:
    """The ``--layout`` column maps that can be read; the others' problems are gathered."""
    maps = []
    for m in layout:
        try:
            maps.append(read_column_map(Path(m)))
        except InputFileError as e:
            got.problems += e.problems
    return maps


def _read_welfare_files(
    idm: Sequence[Path],
    welfare: Sequence[Path],
    maps: list[ColumnMap],
    map_dir: Path | None,
    encoding: str,
    kw: dict,
    got: _Gathered,
) -> pd.DataFrame | None:
    """The IDM workbooks and tidy welfare files, checked and stacked (``None`` without any)."""
    parts = []
    for p, official in [(Path(x), True) for x in idm] + [(Path(x), False) for x in welfare]:
        try:
            oc, info = _read_welfare_file(p, official, maps, map_dir, encoding, kw)
        except InputFileError as e:
            got.problems += e.problems
            continue
        got.problems += oc.problems
        _record(got.report, p, "welfare", oc, info)
        parts.append(oc.table.assign(sumber=p.name, _file=str(p)))
    if not parts:
        return None
    allw = pd.concat(parts, ignore_index=True)
    got.problems += _cross_file_duplicates(allw)
    return allw


def _read_welfare_file(
    p: Path, official: bool, maps: list[ColumnMap], map_dir: Path | None, encoding: str, kw: dict
) -> tuple[CheckOutcome, dict]:
    """One welfare file checked: an IDM workbook (``official``, unless tidy) or a tidy file."""
    if not p.exists():
        raise InputFileError([missing_path(p)])
    facts = ReadFacts()
    if official and not _is_tidy_welfare(p, encoding):
        raw, info = read_idm_workbook(p, maps, map_dir)
        return check_table(raw, WELFARE, f"{p}", lenient_scores=True, **kw), info
    raw, fates = _tidy_welfare(p, encoding, facts)
    info = {"layout": "tidy", **facts.to_dict(), **fates.to_dict()}
    return check_table(raw, WELFARE, f"{p}", **kw), info


def _check_maps_used(maps: list[ColumnMap], got: _Gathered) -> None:
    """A column map that fits none of the IDM files is a problem, not silently unused."""
    for m in maps:
        if not m.used_by:
            got.problems.append(
                InputProblem(
                    str(m.path),
                    "the column map fits none of the --idm files (its headers were not found "
                    + (f"on row {m.header_row} " if m.header_row else "")
                    + (f"of sheet '{m.sheet}'" if m.sheet else "")
                    + ")",
                    "write the headers exactly as in the file, or leave --layout out",
                    key="layout_unused_sheet_row"
                    if m.header_row and m.sheet
                    else (
                        "layout_unused_row"
                        if m.header_row
                        else ("layout_unused_sheet" if m.sheet else "layout_unused")
                    ),
                    args={"row": m.header_row, "sheet": m.sheet},
                )
            )


def _read_api_and_keep_welfare(
    api: Sequence[Path], allw: pd.DataFrame | None, kw: dict, got: _Gathered
) -> None:
    """The API records merged into the welfare rows; the ``welfare`` and ``indicators`` tables."""
    indicators = None
    if api:
        try:
            api_w, indicators, api_notes = read_api_records([Path(a) for a in api], **kw)
        except InputFileError as e:
            got.problems += e.problems
        else:
            allw, merge_notes = merge_api(allw, api_w)
            api_notes.update(merge_notes)
            _record(got.report, Path(api[0]), "api_records", None, api_notes)
    if allw is not None and len(allw):
        got.tables["welfare"] = allw.drop(columns=[ROW, "_file"], errors="ignore").sort_values(
            ["kode_desa", "tahun"], ignore_index=True
        )
    if indicators is not None and len(indicators):
        got.tables["indicators"] = indicators


def _read_indeks_desa_files(files: Sequence[Path], encoding: str, kw: dict, got: _Gathered) -> None:
    """The Indeks Desa files as one ``indeks_desa`` table, each desa-year given once."""
    for p in files:
        try:
            idx, notes = read_indeks_desa(Path(p), encoding=encoding, **kw)
        except InputFileError as e:
            got.problems += e.problems
            continue
        _record(got.report, Path(p), "indeks_desa", None, notes)
        prev = got.tables.get("indeks_desa")
        got.tables["indeks_desa"] = (
            idx if prev is None else pd.concat([prev, idx], ignore_index=True)
        )
    if "indeks_desa" not in got.tables:
        return
    idx = got.tables["indeks_desa"]
    dup = idx[idx.duplicated(["kode_desa", "tahun"], keep=False)]
    for (code, year), grp in dup.groupby(["kode_desa", "tahun"], sort=True):
        got.problems.append(
            InputProblem(
                " and ".join(grp["sumber"].unique()),
                f"village {code} year {int(year)} appears in more than one Indeks Desa row "
                f"({', '.join(grp['sumber'])})",
                "give each desa-year once",
                column="kode_desa",
                value=code,
                key="indeks_desa_twice",
                args={"code": code, "year": int(year), "sources": list(grp["sumber"])},
            )
        )


def _read_registry(
    partnerships: Path | None, encoding: str, kw: dict, got: _Gathered
) -> pd.DataFrame | None:
    """The partnership registry checked; its rows with ``_row`` (for the rows' fates)."""
    if partnerships is None:
        return None
    p = Path(partnerships)
    try:
        facts = ReadFacts()
        raw = read_raw(p, prefer=PARTNERSHIPS.required, encoding=encoding, facts=facts)
        table, fates = registry_columns_and_fates(raw, p)
        oc = check_table(table, PARTNERSHIPS, str(p), **kw)
    except InputFileError as e:
        got.problems += e.problems
        return None
    got.problems += oc.problems
    _record(got.report, p, "partnerships", oc, {**facts.to_dict(), **fates.to_dict()})
    got.tables["partnerships"] = oc.table.drop(columns=[ROW])
    return oc.table


def _read_villages(
    villages: Path | None,
    crosswalk: Path | None,
    encoding: str,
    kw: dict,
    got: _Gathered,
    columns: Path | None = None,
    map_dir: Path | None = None,
) -> pd.DataFrame | None:
    """The village covariates checked (BPS codes translated through the crosswalk first).

    Every header gets a fate (:func:`analysis.inputs.columns.covariate_columns`): used, mapped
    (alias or ``columns`` map) or ignored, recorded in the file's entry of the report.
    """
    if villages is None:
        return None
    p = Path(villages)
    try:
        facts = ReadFacts()
        raw, fates = covariate_columns(
            read_raw(p, prefer=VILLAGES.required, encoding=encoding, facts=facts),
            p,
            columns,
            map_dir,
        )
        extra = {**facts.to_dict(), **fates.to_dict()}
        xw_fates = None
        if crosswalk is not None:
            raw, xw_notes = apply_crosswalk(raw, Path(crosswalk), p, encoding=encoding)
            xw_fates = xw_notes.pop("column_fates", None)
            extra["crosswalk"] = xw_notes
        oc = check_table(raw, VILLAGES, str(p), **kw)
    except InputFileError as e:
        got.problems += e.problems
        return None
    got.problems += oc.problems
    _record(got.report, p, "villages", oc, extra)
    if crosswalk is not None:  # a file of its own: its fingerprint and its columns' fates
        _record(got.report, Path(crosswalk), "crosswalk", None, xw_fates)
    return oc.table.drop(columns=[ROW])


def _read_coordinates(path: Path | None, encoding: str, kw: dict, got: _Gathered) -> None:
    """The user's desa points checked against ``schema.COORDINATES``; every column's fate recorded.

    Headers are matched case-insensitively and through ``schema.COORDINATE_ALIASES``
    (``lintang``, ``bujur``, ``lat``, ``lon`` ...); the other columns are listed as ignored.
    """
    if path is None:
        return
    p = Path(path)
    wanted = [c.name for c in COORDINATES.columns]
    try:
        facts = ReadFacts()
        raw = read_raw(p, prefer=COORDINATES.required, encoding=encoding, facts=facts)
        named, fates = contract_columns(raw, p, wanted, COORDINATES.required, COORDINATE_ALIASES)
        oc = check_table(named, COORDINATES, str(p), **kw)
    except InputFileError as e:
        got.problems += e.problems
        return
    got.problems += oc.problems
    _record(got.report, p, "coordinates", oc, {**facts.to_dict(), **fates.to_dict()})
    got.tables["coordinates"] = oc.table.drop(columns=[ROW])


def coordinate_facts(tables: dict[str, pd.DataFrame]) -> dict | None:
    """Which desa of the welfare table have a usable point (:func:`coordinates.coverage_facts`)."""
    return coverage_facts(tables.get("welfare"), tables.get("villages"), tables.get("coordinates"))


def console_notes(report: IngestReport) -> list[Phrase]:
    """What the console says besides the tables written: readings a reader must know of.

    Parameters
    ----------
    report
        What ``ingest`` read.

    Returns
    -------
    list of Phrase
        Per file: dates read month first and why; score cells held as text set to missing;
        ignored columns, naming them (the first ten, then how many more) and the column map
        written for them; desa without a usable point. Each is a catalog entry
        (``input.note.*``) with its fields, worded in ``--lang`` by
        :func:`analysis.report.messages.render`.
    """
    out = []
    for e in report.inputs:
        why = e.get("month_first")
        if why and why.get("declared"):
            out.append(Phrase(key="note.month_first_declared", args={"file": e["name"]}))
        elif why:
            out.append(
                Phrase(
                    key="note.month_first",
                    args={
                        "file": e["name"],
                        "value": repr(why["value"]),
                        "row": why["row"],
                        "column": why["column"],
                    },
                )
            )
        if e.get("missing_cells"):
            rows = sorted({c["row"] for c in e["missing_cells"]})
            n = e.get("missing_with_reason", len(rows))
            out.append(
                Phrase(key="note.score_text", args={"file": e["name"], "n": n, "rows": rows})
            )
        ignored = e.get("columns_ignored") or []
        if not ignored:
            continue
        args = {"file": e["name"], "n": len(ignored), "columns": [f"'{h}'" for h in ignored]}
        if e.get("column_map_written"):
            args["map"] = str(e["column_map_written"])
            out.append(Phrase(key="note.ignored_map", args=args))
        else:
            out.append(Phrase(key="note.ignored", args=args))
    return out + _coordinate_notes(report.coordinates)


def _coordinate_notes(facts: dict | None) -> list[Phrase]:
    """The console line on desa with no usable point (listed on the data-quality page)."""
    if not facts or not (facts["missing"] or facts["outside"]):
        return []
    return [
        Phrase(
            key="note.coordinates",
            args={"n_missing": len(facts["missing"]), "n_outside": len(facts["outside"])},
        )
    ]


def _refuse_problems_or_nothing(got: _Gathered, cov: pd.DataFrame | None) -> None:
    """Every problem of every input at once; or, with none, no input at all."""
    if got.problems:
        raise InputFileError(got.problems)
    if not got.tables and cov is None:
        raise InputFileError(
            [
                InputProblem(
                    "ingest",
                    "no input files were given",
                    "pass --idm, --welfare, --api, --indeks-desa, --partnerships and/or --villages",
                    key="no_inputs",
                )
            ]
        )


def _complete(
    got: _Gathered, registry_rows: pd.DataFrame | None, cov: pd.DataFrame | None, title: str | None
) -> Ingested:
    """The registry's fates, the Indeks Desa facts, the villages table and ``dataset.json``."""
    tables, report = got.tables, got.report
    if "partnerships" in tables:
        report.registry = registry_fates(
            registry_rows, tables.get("welfare"), tables.get("indeks_desa")
        )
    if "indeks_desa" in tables:
        report.indeks_desa = indeks_desa_facts(tables["indeks_desa"])
    tables["villages"] = build_villages(cov, tables)
    report.coordinates = coordinate_facts(tables)
    report.tables = {k: int(len(v)) for k, v in tables.items()}
    meta = {
        "title": title or DEFAULT_TITLE,
        "synthetic": False,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": [{k: e[k] for k in ("name", "sha256", "kind")} for e in report.inputs],
    }
    return Ingested(tables, report, meta)


def write_folder(
    out: Path, ingested: Ingested, *, force: bool = False, pages: Sequence[PageWriter] = ()
) -> Path:
    """Write a data folder whole or not at all, after it passes ``validate``'s check.

    Parameters
    ----------
    out
        Folder to create; an existing folder is replaced only if written by this package and
        ``force`` is set.
    ingested
        What :func:`read_inputs` gave.
    force
        Replace an earlier output of this package at ``out``.
    pages
        Further pages written into the temporary folder, after the tables and
        ``data_quality.json`` and before the check (e.g. the report's ``data_quality.md``).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    InputFileError
        The written folder fails the check ``validate`` and ``run`` make (files named at
        ``out``); nothing at ``out`` changes.
    OutputExistsError
        ``out`` holds files this package did not write, or an earlier output without ``force``.
    """
    out = Path(out)

    def write(tmp: Path) -> None:
        write_tables(tmp, ingested.tables, ingested.meta)
        write_json(tmp / paths.QUALITY_JSON, ingested.report.to_json())
        for page in pages:
            page(tmp, ingested.report)
        _check_written(tmp, out)

    return write_dir_atomically(out, write, force=force, kind="ingest")


def _check_written(tmp: Path, out: Path) -> None:
    """The folder must pass the same check as ``validate`` and ``run`` (files named at ``out``)."""
    try:
        validate_folder(tmp)
    except InputFileError as e:
        for pr in e.problems:
            pr.file = pr.file.replace(str(tmp), str(out))
        raise InputFileError(e.problems) from None


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
                key="desa_year_in_two_files",
                args={
                    "code": code,
                    "year": int(year),
                    "places": AndList(
                        Phrase(key="where.file_row", args={"file": str(f), "row": int(r)})
                        for f, r in zip(grp["_file"], grp[ROW], strict=True)
                    ),
                },
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

    Parameters
    ----------
    registry
        The checked registry rows, with ``_row``.
    welfare
        The welfare table (its last year and its desa), or ``None``.
    indeks_desa
        The Indeks Desa table (its years are named for too recent rows), or ``None``.

    Returns
    -------
    dict
        ``last_idm_year``, ``counts`` per fate (:data:`FATES`) and ``rows`` (row, agreement,
        desa, exposure year, fate, reason).
    """
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
    """Facts on the Indeks Desa series for the data-quality report and the engine's hook.

    See :func:`analysis.inputs.indeks_desa.facts`.
    """
    return _indeks_desa_facts(idx)


def build_villages(cov: pd.DataFrame | None, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Frame rows of every province the inputs touch, with covariates joined where given.

    Parameters
    ----------
    cov
        The checked village covariates, or ``None``.
    tables
        The other processed tables (their ``kode_desa`` say which provinces are touched).

    Returns
    -------
    pandas.DataFrame
        The ``villages`` table.
    """
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


__all__ = [
    "DATASET_FILE",
    "FATES",
    "REGISTRY_ALIASES",
    "IngestReport",
    "Ingested",
    "PageWriter",
    "build_villages",
    "console_notes",
    "check_choices",
    "indeks_desa_facts",
    "read_idm_workbook",
    "read_inputs",
    "read_tidy_welfare",
    "registry_fates",
    "write_folder",
]
