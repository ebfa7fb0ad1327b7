"""Raw files -> validated processed tables (Parquet) and a data-quality report.

Reads the Ministry of Villages' yearly IDM workbooks (2023 and 2024 layouts), tidy welfare
CSV/XLSX, a partnership registry and village covariates; checks each against its contract
(``validate``); writes ``villages.parquet``, ``welfare.parquet``, ``partnerships.parquet``,
``data_quality.json``, ``data_quality.md`` and ``dataset.json`` into a new folder, whole or not
at all.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import frame as frame_mod
from analysis.dataset import DATASET_FILE, file_sha256, write_tables
from analysis.errors import CodeSystemError, InputFileError, InputProblem
from analysis.schema import PARTNERSHIPS, VILLAGES, WELFARE
from analysis.tables import (
    ROW,
    closest,
    excel_sheets,
    read_raw,
    rename_columns,
    write_dir_atomically,
    write_json,
)
from analysis.validate import DECIMAL_CHOICES, CheckOutcome, check_table

#: IDM workbook headers (year suffix removed) -> canonical column; alternatives per concept
#: cover the 2023 and 2024 layouts. Earlier layouts fail with the headers that are missing.
IDM_HEADERS: dict[str, tuple[str, ...]] = {
    "kode_desa": ("KODE_DESA", "KODE_DESA_DAGRI"),
    "nama_desa": ("NAMA_DESA", "DESA"),
    "iks": ("IKS",),
    "ike": ("IKE",),
    "ikl": ("IKL",),
    "nilai_idm": ("NILAI_IDM",),
    "status_idm": ("STATUS_IDM",),
}
IDM_OPTIONAL = {"update": ("UPDATE", "KETERANGAN")}
_YEAR_SUFFIX = re.compile(r"^(IKS|IKE|IKL|NILAI_IDM|STATUS_IDM)_(\d{4})$")

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

    def to_json(self) -> dict:
        return {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "inputs": self.inputs,
            "tables": self.tables,
        }


def _idm_sheet(path: Path) -> tuple[str, pd.DataFrame, int]:
    sheets = excel_sheets(path)
    candidates = []
    for name, df in sheets.items():
        years = {m.group(2) for c in df.columns if (m := _YEAR_SUFFIX.match(c.upper()))}
        if years:
            candidates.append((name, df, years))
    if not candidates:
        raise InputFileError(
            [
                InputProblem(
                    str(path),
                    f"no sheet holds IDM columns (sheets: {', '.join(sheets)}); expected "
                    "headers like IKS_2024, IKE_2024, IKL_2024, NILAI_IDM_2024",
                    "give the official IDM workbook, or export the right sheet",
                )
            ]
        )
    name, df, years = candidates[0]
    if len(years) > 1:
        raise InputFileError(
            [
                InputProblem(
                    str(path),
                    f"sheet '{name}' mixes years {sorted(years)} in its headers",
                    "keep one year per sheet",
                    column=None,
                )
            ]
        )
    return name, df, int(years.pop())


def read_idm_workbook(path: Path) -> tuple[pd.DataFrame, dict]:
    """One official yearly IDM workbook -> canonical welfare columns (unchecked) and facts.

    The year comes from the headers (``IKS_2024``). ``UPDATE`` (2023) or ``Keterangan`` (2024)
    gives the year the values were measured: older than the file year means carried forward.
    """
    path = Path(path)
    sheet, df, year = _idm_sheet(path)
    stripped = {c: re.sub(rf"_{year}$", "", c.upper()) for c in df.columns if c != ROW}
    by_header = {v: k for k, v in stripped.items()}
    out = pd.DataFrame({ROW: df[ROW]})
    problems = []
    for canon, alts in IDM_HEADERS.items():
        hit = next((by_header[a] for a in alts if a in by_header), None)
        if hit is None:
            guess = closest(f"{alts[0]}_{year}", [c for c in df.columns if c != ROW])
            problems.append(
                InputProblem(
                    f"{path} [sheet {sheet}]",
                    f"IDM column {alts[0]}_{year} is missing (layouts of 2023 and 2024 are known)",
                    f"rename '{guess}' to '{alts[0]}_{year}'"
                    if guess
                    else "check that this is an official IDM workbook",
                    column=f"{alts[0]}_{year}",
                )
            )
            continue
        out[canon] = df[hit]
    if problems:
        raise InputFileError(problems)
    out["tahun"] = year
    upd = next((by_header[a] for a in IDM_OPTIONAL["update"] if a in by_header), None)
    tahun_nilai = pd.Series(year, index=df.index, dtype="Int64")
    catatan = pd.Series(pd.NA, index=df.index, dtype="string")
    if upd is not None:
        text = df[upd].astype(str).str.strip()
        yrs = text.str.extract(r"((?:19|20)\d{2})")[0]
        tahun_nilai = pd.to_numeric(yrs, errors="coerce").astype("Int64").fillna(year)
        other = text[(text != "") & yrs.isna()]
        catatan.loc[other.index] = ("keterangan: " + other).astype("string")
    out["tahun_nilai"] = tahun_nilai
    out["catatan"] = catatan
    return out, {"sheet": sheet, "year": year, "layout": f"IDM {year}"}


def read_tidy_welfare(path: Path) -> pd.DataFrame:
    df = read_raw(path)
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
    entry = {"file": str(path), "name": Path(path).name, "kind": kind, "sha256": file_sha256(path)}
    if extra:
        entry.update(extra)
    if oc is not None:
        entry.update(oc.notes)
    report.inputs.append(entry)


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
) -> IngestReport:
    """Read, check and write the processed tables of one data folder.

    Parameters
    ----------
    idm
        Official IDM workbooks (one per year) or tidy welfare files; the kind is recognised from
        the headers.
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
        The code system of the village covariates file: only ``kemendagri`` can be matched.
    decimal
        Decimal mark of numbers written as text: ``"auto"`` decides once per file from the
        cells that can be read only one way and refuses a file that mixes marks or leaves it
        open; ``"dot"`` or ``"comma"`` declares it for every file.

    Raises
    ------
    InputFileError
        Every problem found in every input, so one run shows all that needs fixing.
    """
    if decimal not in DECIMAL_CHOICES:
        raise InputFileError(
            [
                InputProblem(
                    "ingest",
                    f"unknown decimal mark {decimal!r}",
                    f"use one of: {', '.join(DECIMAL_CHOICES)}",
                )
            ]
        )
    if code_system != "kemendagri":
        raise CodeSystemError(
            f"Code system '{code_system}' cannot be matched to the official frame without a "
            "crosswalk: BPS and Kemendagri codes share a shape but not values. Convert the codes to "
            "Kemendagri first."
        )
    report = IngestReport()
    problems: list[InputProblem] = []
    tables: dict[str, pd.DataFrame] = {}

    welfare_parts = []
    for p, official in [(Path(x), True) for x in idm] + [(Path(x), False) for x in welfare]:
        try:
            if official and p.suffix.lower() in (".xlsx", ".xlsm"):
                raw, facts = read_idm_workbook(p)
                oc = check_table(
                    raw, WELFARE, f"{p}", lenient_scores=True, today=today, decimal=decimal
                )
            else:
                raw, facts = read_tidy_welfare(p), {"layout": "tidy"}
                oc = check_table(raw, WELFARE, f"{p}", today=today, decimal=decimal)
        except InputFileError as e:
            problems += e.problems
            continue
        problems += oc.problems
        _record(report, p, "welfare", oc, facts)
        welfare_parts.append(oc.table)
    if welfare_parts:
        allw = pd.concat(welfare_parts, ignore_index=True)
        dup = allw.duplicated(["kode_desa", "tahun"], keep=False) & allw["kode_desa"].notna()
        if dup.any() and len(welfare_parts) > 1:
            d = allw[dup].iloc[0]
            problems.append(
                InputProblem(
                    "welfare inputs",
                    f"village {d.kode_desa} year {d.tahun} appears in more than one file",
                    "give each year once",
                )
            )
        tables["welfare"] = allw.drop(columns=[ROW]).sort_values(
            ["kode_desa", "tahun"], ignore_index=True
        )

    if partnerships is not None:
        p = Path(partnerships)
        try:
            raw = rename_columns(
                read_raw(p),
                p,
                [c.name for c in PARTNERSHIPS.columns],
                PARTNERSHIPS.required,
                REGISTRY_ALIASES,
            )
            oc = check_table(raw, PARTNERSHIPS, str(p), today=today, decimal=decimal)
            problems += oc.problems
            _record(report, p, "partnerships", oc)
            tables["partnerships"] = oc.table.drop(columns=[ROW])
        except InputFileError as e:
            problems += e.problems

    cov = None
    if villages is not None:
        p = Path(villages)
        try:
            raw = rename_columns(
                read_raw(p),
                p,
                [c.name for c in VILLAGES.columns],
                VILLAGES.required,
                {"kode": "kode_desa", "population": "penduduk"},
            )
            oc = check_table(raw, VILLAGES, str(p), today=today, decimal=decimal)
            problems += oc.problems
            _record(report, p, "villages", oc)
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
                    "pass --idm, --welfare, --partnerships and/or --villages",
                )
            ]
        )
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
        (tmp / "data_quality.md").write_text(quality_markdown(report), encoding="utf-8")

    write_dir_atomically(Path(out), write, force=force)
    return report


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


def quality_markdown(report: IngestReport) -> str:
    """The data-quality report as Markdown for people."""
    lines = [
        "# Data-quality report",
        "",
        "| file | kind | rows read | matched | no code | kelurahan | duplicates | name variants | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in report.inputs:
        notes = []
        if e.get("carried_forward"):
            notes.append(f"{e['carried_forward']} carried forward")
        if e.get("missing_with_reason"):
            notes.append(f"{e['missing_with_reason']} set missing (text in score cell)")
        if e.get("status_disagreements"):
            notes.append(
                f"{len(e['status_disagreements'])} published statuses disagree with thresholds"
            )
        if e.get("idm_not_mean_of_components"):
            notes.append(
                f"{e['idm_not_mean_of_components']} IDM values differ from (IKS+IKE+IKL)/3"
            )
        lines.append(
            f"| {e['name']} | {e['kind']} | {e.get('rows_read', '')} | {e.get('matched', '')} | {e.get('unmatched_no_code', '')} | "
            f"{e.get('kelurahan_rows', '')} | {e.get('duplicate_rows', '')} | {len(e.get('name_variants', []))} | {'; '.join(notes)} |"
        )
    lines += [
        "",
        "Checks that stop ingestion, all passed for these files: missing or misspelled columns, empty files, "
        "unrecognised IDM layouts, unparseable numbers and dates, scores outside [0, 1], duplicate village-year or "
        "agreement rows, codes of the wrong length or not in the 2025 frame, BPS codes, names that belong to another "
        "village, kelurahan in desa-only tables, end dates before start dates, signing dates in the future, non-UTF-8 CSV.",
    ]
    lines += ["", "## Tables written", ""] + [
        f"- `{k}`: {v} rows" for k, v in report.tables.items()
    ]
    for e in report.inputs:
        if e.get("unmatched_rows"):
            lines += [
                "",
                f"## Rows without a village code in {e['name']} (not matched, e.g. preparatory desa)",
                "",
            ]
            lines += [f"- row {u['row']}: {u['nama_desa']}" for u in e["unmatched_rows"]]
        if e.get("name_variants"):
            lines += [
                "",
                f"## Spelling differences in {e['name']} (code matched; name differs)",
                "",
            ]
            lines += [
                f"- {v['kode_desa']}: '{v['given']}' in the file, '{v['official']}' in the frame"
                for v in e["name_variants"]
            ]
        if e.get("status_disagreements"):
            lines += ["", f"## Published status vs thresholds in {e['name']}", ""]
            lines += [
                f"- row {s['row']} {s['kode_desa']}: IDM {s['nilai_idm']:.4f} published {s['published']}, thresholds give {s['recomputed']}"
                for s in e["status_disagreements"][:50]
            ]
    return "\n".join(lines) + "\n"


__all__ = ["ingest", "read_idm_workbook", "IngestReport", "DATASET_FILE"]
