"""The Ministry of Villages' per-village IDM records (JSON), read into welfare rows and scores.

One file per village-year, as ``https://idm.kemendesa.go.id/open/api/desa/rumusan/{kode_desa}/{tahun}``
returns it (shape documented in ``data/README.md``)::

    {"status": 200, "error": false, "mapData": {
        "SUMMARIES": {"SKOR_SAAT_INI": 0.698, "STATUS": "BERKEMBANG", "TAHUN": 2024, ...},
        "ROW": [{"NO": 1, "INDIKATOR": "Skor Akses Sarkes", "SKOR": 5, "PUSAT": null,
                 "PROV": null, "KAB": "Dinkes, PU", "DESA": null, "CSR": null,
                 "LAINNYA": null, ...},
                ...,
                {"NO": null, "INDIKATOR": "IKS 2024", "SKOR": 0.811, ...},   # closes the IKS rows
                ..., {"INDIKATOR": "IKE 2024"}, ..., {"INDIKATOR": "IKL 2024"},
                {"INDIKATOR": "IDM 2024", "SKOR": 0.698}, {"INDIKATOR": "STATUS IDM 2024", "SKOR": "Berkembang"}],
        "IDENTITAS": [{"id_desa": "1101022001", "nama_desa": "FAJAR HARAPAN", ...}]}}

Quirks handled and reported: records that answer "belum diverifikasi" (or carry no indicator
rows) give no values and are listed; IKS 31 equal to IKS 30 (a known copy) is flagged
``salinan``; where a workbook gives the same desa-year, the workbook wins and the differences
are listed (:func:`merge_api`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputFileError, InputProblem, missing_path
from analysis.inputs.reading import MAX_INPUT_BYTES, ROW
from analysis.inputs.validate import check_table
from analysis.schema import INDICATORS, WELFARE

#: Actor columns of a record's indicator rows, in the record's order.
ACTORS = ("PUSAT", "PROV", "KAB", "DESA", "CSR", "LAINNYA")
_TOTAL = re.compile(r"^\s*(IKS|IKE|IKL|IDM|STATUS\s+IDM)\s+((?:19|20)\d{2})\s*$", re.I)
_NOT_VERIFIED = re.compile(r"belum\s+(di)?verifikasi", re.I)
#: Largest difference between an API value and the workbook's 4-decimal value that is rounding.
ROUNDING = 0.00005


def _files(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        if p.is_dir():
            out += sorted(q for q in p.rglob("*.json") if q.is_file())
        else:
            out.append(p)
    return out


def _num(v: object) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(str(v).strip().replace(",", "."))
    except (TypeError, ValueError):
        return np.nan


def parse_record(obj: dict, path: Path) -> tuple[dict | None, list[dict], str | None]:
    """One record -> (welfare row or None, indicator rows, reason it gives no values)."""
    text = json.dumps(obj, ensure_ascii=False)
    md = obj.get("mapData") if isinstance(obj, dict) else None
    if _NOT_VERIFIED.search(text) and not (isinstance(md, dict) and md.get("ROW")):
        return None, [], "belum diverifikasi (not verified)"
    if not isinstance(md, dict) or not md.get("ROW"):
        msg = obj.get("message") if isinstance(obj, dict) else None
        return None, [], f"no indicator rows ({msg or 'empty mapData'})"
    ident = (md.get("IDENTITAS") or [{}])[0] or {}
    summ = md.get("SUMMARIES") or {}
    code = str(ident.get("id_desa") or path.parent.name).strip()
    year = summ.get("TAHUN") or (path.stem if re.fullmatch(r"\d{4}", path.stem) else None)
    try:
        year = int(year)
    except (TypeError, ValueError):
        return None, [], "no year in SUMMARIES.TAHUN or the file name"
    w: dict = {"kode_desa": code, "nama_desa": ident.get("nama_desa"), "tahun": year}
    items, pending = [], []
    for r in md["ROW"]:
        label = str(r.get("INDIKATOR") or "").strip()
        m = _TOTAL.match(label)
        if m:
            kind, y = re.sub(r"\s+", " ", m.group(1).upper()), int(m.group(2))
            if y != year:
                return None, [], f"row '{label}' is for {y}, the record for {year}"
            if kind in ("IKS", "IKE", "IKL"):
                w[kind.lower()] = _num(r.get("SKOR"))
                for k, it in enumerate(pending, start=1):
                    it["dimensi"] = kind
                    it["nomor"] = int(it.pop("no") or k)
                    items.append(it)
                pending = []
            elif kind == "IDM":
                w["nilai_idm"] = _num(r.get("SKOR"))
            else:
                w["status_idm"] = str(r.get("SKOR") or "").strip().upper() or None
            continue
        actors = [(a, r.get(a)) for a in ACTORS if r.get(a) not in (None, "", "-")]
        pending.append(
            {
                "no": r.get("NO"),
                "indikator": label,
                "skor": _num(r.get("SKOR")),
                "pelaksana": "; ".join(f"{a}: {str(v).strip()}" for a, v in actors) or None,
                "csr": any(a == "CSR" for a, _ in actors),
            }
        )
    if not all(k in w for k in ("iks", "ike", "ikl")):
        return None, [], "the record lacks the IKS, IKE or IKL total row"
    iks = {it["nomor"]: it["skor"] for it in items if it["dimensi"] == "IKS"}
    for it in items:
        it["kode_desa"], it["tahun"] = code, year
        it["salinan"] = bool(
            it["dimensi"] == "IKS" and it["nomor"] == 31 and 30 in iks and it["skor"] == iks[30]
        )
    w["tahun_nilai"] = year
    return w, items, None


def read_api_records(
    paths: list[Path], today=None, decimal: str = "auto", dates: str = "auto"
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read folders of per-village JSON records into checked welfare rows and indicator scores.

    Parameters
    ----------
    paths
        Folders (or files) of records, one file per village-year.
    today, decimal, dates
        Accepted for the same call as the other readers; the records' numbers are JSON numbers
        (decimal dot) and hold no dates.

    Returns
    -------
    welfare
        Checked welfare rows (``sumber`` = ``api``).
    indicators
        The long table of indicator scores (contract ``indicators``).
    notes
        Counts for the data-quality report: files read, not verified (listed), IKS 31 copies.

    Raises
    ------
    InputFileError
        Unreadable JSON, records that fail the welfare contract (each named by its file), or a
        folder without records.
    """
    absent = [p for p in paths if not Path(p).exists()]
    if absent:
        raise InputFileError([missing_path(p, "records_folder") for p in absent])
    files = _files(paths)
    if not files:
        raise InputFileError(
            [
                InputProblem(
                    ", ".join(map(str, paths)),
                    "no .json records found",
                    "give the folder the records were downloaded into (one file per village-year)",
                    key="api_no_records",
                )
            ]
        )
    records = _parse_files(files)
    if records.problems:
        raise InputFileError(records.problems)
    if not records.rows:
        raise InputFileError(
            [
                InputProblem(
                    str(paths[0]),
                    f"none of the {len(files)} records holds IDM values "
                    f"({records.skipped[0]['reason']})",
                    "download verified records, or leave --api out",
                    key="api_no_values",
                    args={"n": len(files), "detail": records.skipped[0]["reason"]},
                )
            ]
        )
    problems: list[InputProblem] = []
    welfare = _checked_welfare(records, problems)
    indicators = _checked_indicators(records, problems)
    if problems:
        raise InputFileError(problems)
    return welfare, indicators, _notes(files, records, welfare, indicators)


@dataclass
class _Records:
    """What the record files gave.

    Welfare rows, indicator items, records without values, the file of each welfare row, and
    the files that could not be read.
    """

    rows: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)


def _parse_files(files: list[Path]) -> _Records:
    """Each record file parsed; one that cannot be read is a problem naming the file."""
    out = _Records()
    for f in files:
        obj = _read_json(f, out.problems)
        if obj is None:
            continue
        if not isinstance(obj, dict):
            out.problems.append(
                InputProblem(
                    str(f),
                    "not a record of open/api/desa/rumusan (the file holds no JSON object)",
                    "download the record again, or remove the file from the folder",
                    key="api_not_object",
                )
            )
            continue
        try:
            w, its, why = parse_record(obj, f)
        except (TypeError, AttributeError, ValueError, IndexError, KeyError) as e:
            out.problems.append(
                InputProblem(
                    str(f),
                    f"not a record of open/api/desa/rumusan ({type(e).__name__}: {e})",
                    "download the record again, or remove the file from the folder",
                    key="api_not_a_record",
                    args={"detail": f"{type(e).__name__}: {e}"},
                )
            )
            continue
        if w is None:
            out.skipped.append({"file": str(f), "reason": why})
            continue
        out.rows.append(w)
        out.origin.append(str(f))
        out.items += [dict(it, _file=str(f)) for it in its]
    return out


def _read_json(f: Path, problems: list[InputProblem]) -> object | None:
    """The JSON of one record file; ``None`` (and a problem) when too large or not JSON."""
    if f.stat().st_size > MAX_INPUT_BYTES:
        problems.append(
            InputProblem(
                str(f),
                "the file is too large for one record",
                "check the file",
                key="api_too_large",
            )
        )
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problems.append(
            InputProblem(
                str(f),
                f"not a JSON record ({e})",
                "download the record again",
                key="api_not_json",
                args={"detail": str(e)},
            )
        )
        return None


def _checked_welfare(records: _Records, problems: list[InputProblem]) -> pd.DataFrame:
    """The records' welfare rows checked against the contract, problems named by file."""
    raw = pd.DataFrame(records.rows)
    raw[ROW] = range(len(raw))
    oc = check_table(raw, WELFARE, "api", lenient_scores=True, decimal="dot")
    for p in oc.problems:
        if p.row is not None:
            p.file, p.row = records.origin[int(p.row)], None
    problems += oc.problems
    return oc.table.drop(columns=[ROW]).assign(sumber="api")


def _checked_indicators(records: _Records, problems: list[InputProblem]) -> pd.DataFrame:
    """The records' indicator scores checked against their contract, problems named by file."""
    ind = pd.DataFrame(records.items)
    if not len(ind):
        return pd.DataFrame(columns=[c.name for c in INDICATORS.columns])
    files_of = ind.pop("_file").tolist()
    ind[ROW] = range(len(ind))
    oci = check_table(ind, INDICATORS, "api", decimal="dot")
    for p in oci.problems:
        if p.row is not None:
            p.file, p.row = files_of[int(p.row)], None
    problems += oci.problems
    return oci.table.drop(columns=[ROW])


def _notes(
    files: list[Path], records: _Records, welfare: pd.DataFrame, indicators: pd.DataFrame
) -> dict:
    """Counts for the data-quality report."""
    return {
        "layout": "IDM API records (open/api/desa/rumusan)",
        "files": len(files),
        "records_with_values": len(records.rows),
        "not_verified": len(records.skipped),
        "not_verified_records": records.skipped[:500],
        "indicator_rows": int(len(indicators)),
        "iks31_copies_of_iks30": int(indicators["salinan"].fillna(False).sum())
        if len(indicators)
        else 0,
        "csr_named_rows": int(indicators["csr"].fillna(False).sum()) if len(indicators) else 0,
        "years": sorted(int(y) for y in welfare["tahun"].unique()),
    }


def merge_api(workbook: pd.DataFrame | None, api: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Welfare rows from workbooks and API records: the workbook wins, differences listed.

    A value differs when the API's value rounded to 4 decimals (the workbooks' precision) is not
    the workbook's value.
    """
    if workbook is None or len(workbook) == 0:
        return api.assign(_file="api"), {"api_rows_added": int(len(api)), "compared": 0}
    key = ["kode_desa", "tahun"]
    both = workbook.merge(api, on=key, suffixes=("", "_api"))
    cols = ("iks", "ike", "ikl", "nilai_idm")
    off = {
        c: (both[c].notna() & both[f"{c}_api"].notna())
        & ((both[f"{c}_api"].astype(float).round(4) - both[c].astype(float)).abs() > ROUNDING)
        for c in cols
    }
    any_off = np.logical_or.reduce([off[c].to_numpy(dtype=bool) for c in cols])
    diffs = [
        {
            "kode_desa": both.at[i, "kode_desa"],
            "tahun": int(both.at[i, "tahun"]),
            "file": both.at[i, "sumber"] if "sumber" in both else None,
            **{c: float(both.at[i, c]) for c in cols},
            **{f"{c}_api": float(both.at[i, f"{c}_api"]) for c in cols},
            "differs_in": [c for c in cols if bool(off[c][i])],
        }
        for i in both.index[any_off]
    ]
    seen = set(map(tuple, workbook[key].astype(str).to_numpy()))
    extra = api[[tuple(x) not in seen for x in api[key].astype(str).to_numpy()]]
    gaps = [abs(d["nilai_idm"] - d["nilai_idm_api"]) for d in diffs]
    notes = {
        "compared": int(len(both)),
        "differing": len(diffs),
        "differing_share": round(len(diffs) / len(both), 4) if len(both) else None,
        "median_idm_difference": float(np.median(gaps)) if gaps else None,
        "differences": diffs[:1000],
        "api_rows_added": int(len(extra)),
        "rule": "the workbook value is kept where both give a desa-year",
    }
    merged = pd.concat([workbook, extra.assign(_file="api")], ignore_index=True)
    return merged, notes
