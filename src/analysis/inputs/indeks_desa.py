"""The Indeks Desa (2025 onwards, Permendesa 9/2024): its own series, never spliced onto IDM.

The Indeks Desa scores villages 0-100 in six dimensions (layanan dasar, sosial, ekonomi,
lingkungan, aksesibilitas, tata kelola pemerintahan desa). Its Ekonomi dimension contains the
indicator "Kerjasama Desa" whose aspect "with third parties" is the very treatment this
workspace studies, so the published total and the Ekonomi dimension carry the treatment into
the outcome.

Removing only that item needs the item scores and the instrument's weights; the weights are not
published where we looked (``data/README.md`` lists what was found). The outcome offered instead
is :data:`OUTCOME_WITHOUT_ITEM` = the unweighted mean of the five dimensions that do not contain
the item, labelled as such everywhere (it is not an official score). The engine's hook is
:data:`OUTCOMES` and :func:`facts`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.design import COUNTING_STATUSES, agreement_exposure, rows_in_district
from analysis.errors import InputFileError, InputProblem
from analysis.inputs.layouts import norm
from analysis.inputs.reading import ROW, ColumnFates, read_raw
from analysis.inputs.validate import check_table
from analysis.schema import (
    INDEKS_DESA,
    INDEKS_DESA_DIMENSIONS,
    INDEKS_DESA_THRESHOLDS,
    INDEKS_DESA_TREATED_DIMENSION,
)

#: The outcome without the partnership item (five dimensions, unweighted mean; not official).
OUTCOME_WITHOUT_ITEM = "skor_tanpa_ekonomi"
#: Outcomes an analysis of the Indeks Desa may use: none of them contains the partnership item.
OUTCOMES = (OUTCOME_WITHOUT_ITEM,) + tuple(
    d for d in INDEKS_DESA_DIMENSIONS if d != INDEKS_DESA_TREATED_DIMENSION
)
#: Columns that contain the partnership item: never an outcome.
CONTAMINATED = ("skor", INDEKS_DESA_TREATED_DIMENSION)
REMOVED_ITEM = {
    "indicator": "Kerjasama Desa (indicator 25 in public implementations; verify)",
    "dimension": "Ekonomi",
    "aspect": "cooperation with third parties",
    "treatment": (
        "the Ekonomi dimension and the total are left out; the outcome is the unweighted mean of "
        "the other five dimensions, because the item weights needed to drop only this item are "
        "not published"
    ),
}

_ALIASES = {
    "KODE": "kode_desa",
    "KODE_DESA": "kode_desa",
    "KODE_DESA_DAGRI": "kode_desa",
    "ID_DESA": "kode_desa",
    "DESA": "nama_desa",
    "NAMA_DESA": "nama_desa",
    "TAHUN": "tahun",
    "SKOR": "skor",
    "SKOR_ID": "skor",
    "NILAI_ID": "skor",
    "INDEKS_DESA": "skor",
    "SKOR_INDEKS_DESA": "skor",
    "STATUS": "status",
    "STATUS_ID": "status",
    "STATUS_DESA": "status",
    "LAYANAN_DASAR": "layanan_dasar",
    "DIMENSI_LAYANAN_DASAR": "layanan_dasar",
    "DLD": "layanan_dasar",
    "SOSIAL": "sosial",
    "DIMENSI_SOSIAL": "sosial",
    "DS": "sosial",
    "EKONOMI": "ekonomi",
    "DIMENSI_EKONOMI": "ekonomi",
    "DE": "ekonomi",
    "LINGKUNGAN": "lingkungan",
    "DIMENSI_LINGKUNGAN": "lingkungan",
    "DL": "lingkungan",
    "AKSESIBILITAS": "aksesibilitas",
    "DIMENSI_AKSESIBILITAS": "aksesibilitas",
    "DA": "aksesibilitas",
    "TATA_KELOLA": "tata_kelola",
    "TATA_KELOLA_PEMERINTAHAN_DESA": "tata_kelola",
    "DIMENSI_TATA_KELOLA_PEMERINTAHAN_DESA": "tata_kelola",
    "DTKPD": "tata_kelola",
}


def score_without_item(df: pd.DataFrame) -> pd.Series:
    """The unweighted mean of the five dimensions without Ekonomi; missing if any is missing."""
    dims = [d for d in INDEKS_DESA_DIMENSIONS if d != INDEKS_DESA_TREATED_DIMENSION]
    return df[dims].astype(float).mean(axis=1, skipna=False)


def status_from_score(score: float) -> str | None:
    """Status from :data:`analysis.schema.INDEKS_DESA_THRESHOLDS` (``None`` when not set)."""
    if INDEKS_DESA_THRESHOLDS is None or score is None or np.isnan(score):
        return None
    return next(label for label, upper in INDEKS_DESA_THRESHOLDS if score <= upper)


def _recognise(raw: pd.DataFrame, path: Path) -> tuple[dict[str, str], list[InputProblem]]:
    """Header -> Indeks Desa column by :data:`_ALIASES`; two headers for one column are refused."""
    ren: dict[str, str] = {}
    problems = []
    for c in raw.columns:
        canon = _ALIASES.get(norm(c)) if c != ROW else None
        if not canon:
            continue
        if canon in ren.values():
            first = next(h for h, v in ren.items() if v == canon)
            problems.append(
                InputProblem(
                    str(path),
                    f"the headers '{c}' and '{first}' both mean column '{canon}'",
                    "delete or rename one of them, so that one column is read as it",
                    column=c,
                    key="columns_twice",
                    args={"header": c, "first": first, "column": canon},
                )
            )
            continue
        ren[c] = canon
    return ren, problems


def _year_from_name(df: pd.DataFrame, path: Path) -> list[InputProblem]:
    """Without a ``tahun`` column, the year (2025 or later) from the file name, set in ``df``."""
    if "tahun" in df:
        return []
    years = {int(y) for y in re.findall(r"(?<!\d)(20[2-4]\d)(?!\d)", path.name)}
    years = {y for y in years if y >= 2025}
    if len(years) == 1:
        df["tahun"] = years.pop()
        return []
    return [
        InputProblem(
            str(path),
            "the year cannot be told (no 'tahun' column, no single year from 2025 in the file name)",
            "add a column 'tahun' or put the year in the file name (indeks-desa-2025.xlsx)",
            key="indeks_desa_year_unknown",
        )
    ]


def read_indeks_desa(
    path: Path, encoding: str = "auto", today=None, decimal: str = "auto", dates: str = "auto"
) -> tuple[pd.DataFrame, dict]:
    """An Indeks Desa file (one row per desa, the score, six dimensions, status) -> checked table.

    The year comes from a ``tahun`` column or, failing that, the file name (2025 or later).

    Raises
    ------
    InputFileError
        Missing columns or year, values outside 0-100, an IDM-scale (0-1) file.
    """
    path = Path(path)
    raw = read_raw(path, prefer=list(_ALIASES), encoding=encoding)
    ren, problems = _recognise(raw, path)
    df = raw[[c for c in raw.columns if c in ren or c == ROW]].rename(columns=ren)
    problems += _year_from_name(df, path)
    missing = [d for d in ("kode_desa", *INDEKS_DESA_DIMENSIONS) if d not in df]
    if missing:
        problems.append(
            InputProblem(
                str(path),
                "the Indeks Desa file lacks " + ", ".join(missing),
                "give the six dimension scores (layanan_dasar, sosial, ekonomi, lingkungan, "
                "aksesibilitas, tata_kelola) and kode_desa; the score without the partnership "
                "item is computed from the five dimensions without Ekonomi",
                column=missing[0],
                key="indeks_desa_lacks",
                args={"columns": list(missing)},
            )
        )
    if problems:
        raise InputFileError(problems)
    oc = check_table(df, INDEKS_DESA, str(path), today=today, decimal=decimal, dates=dates)
    if oc.problems:
        raise InputFileError(oc.problems)
    t = oc.table.drop(columns=[ROW])
    if t[list(INDEKS_DESA_DIMENSIONS)].max().max() <= 1:
        raise InputFileError(
            [
                InputProblem(
                    str(path),
                    "every dimension score is at most 1: these look like 0-1 (IDM-style) values, "
                    "while the Indeks Desa is published on 0-100",
                    "give the published 0-100 scores",
                    key="indeks_desa_0_1",
                )
            ]
        )
    t[OUTCOME_WITHOUT_ITEM] = score_without_item(t)
    recomputed = None
    if INDEKS_DESA_THRESHOLDS is not None and "skor" in t:
        own = t["skor"].map(status_from_score)
        recomputed = int((t["status"].notna() & own.notna() & (own != t["status"])).sum())
    t["sumber"] = path.name
    notes = {
        **ColumnFates(
            columns=ren,
            how={h: "name" if norm(h).lower() == c else "alias" for h, c in ren.items()},
            ignored=tuple(c for c in raw.columns if c != ROW and c not in ren),
        ).to_dict(),
        "layout": "Indeks Desa (tidy)",
        "rows_read": int(len(t)),
        "years": sorted(int(y) for y in t["tahun"].unique()),
        "removed_item": REMOVED_ITEM,
        "matched": oc.notes.get("matched"),
        "status_disagreements": recomputed,
    }
    return t, notes


def facts(idx: pd.DataFrame) -> dict:
    """What the engine and the pages need to know about the Indeks Desa series.

    ``follow_up_year`` is false while only one year exists: agreements starting in 2025 have a
    baseline (2025) but nothing to compare it with yet.
    """
    years = sorted(int(y) for y in idx["tahun"].unique())
    return {
        "years": years,
        "baseline_year": years[0] if years else None,
        "follow_up_year": len(years) >= 2,
        "statement": (
            "Indeks Desa has one year only: there is no follow-up year yet"
            if len(years) < 2
            else f"Indeks Desa years {years[0]}-{years[-1]}"
        ),
        "outcomes": list(OUTCOMES),
        "never_outcomes": list(CONTAMINATED),
        "removed_item": REMOVED_ITEM,
        "never_mixed_with_idm": True,
        "status_thresholds": "as published (no cut-offs configured)"
        if INDEKS_DESA_THRESHOLDS is None
        else [list(x) for x in INDEKS_DESA_THRESHOLDS],
    }


#: First year of the Indeks Desa; agreements that count from this year on cannot show in IDM.
FIRST_YEAR = 2025


def plan(
    partnerships: pd.DataFrame,
    indeks_desa: pd.DataFrame | None,
    district: str | None = None,
) -> dict:
    """Which series can judge a registry's agreements: the engine's and the brief's hook.

    Agreements that count from 2025 or later (start year, or the next year for starts from
    July) can only be judged on the Indeks Desa: the last year before they count is their
    baseline, the years from then on their follow-up. Returns facts, never prose.

    Parameters
    ----------
    partnerships
        Registry rows (``tanggal_mulai``/``tanggal_tanda_tangan``, ``status``, ``kode_desa``).
    indeks_desa
        The ``indeks_desa`` table, or ``None`` when the folder has none.
    district
        Kabupaten code (``"64.02"``) to restrict both tables to; ``None`` for all rows.

    Returns
    -------
    dict
        ``agreements_idm_era`` and ``agreements_indeks_desa_era`` (counted agreements by the
        year they count from), ``first_exposure_year`` (earliest such year from 2025),
        ``indeks_desa_years``, ``baseline_year`` (last year before it), ``follow_up_years``
        (years from it on), ``estimable``, ``reason`` (a code: ``no_agreements_2025_on``,
        ``no_indeks_desa_data``, ``no_baseline_year``, ``no_follow_up_year``, ``ok``) and
        ``outcomes`` (:data:`OUTCOMES`).
    """
    p = partnerships
    if district is not None and len(p):
        p = rows_in_district(p, district)
    counted = p[p["status"].isin(COUNTING_STATUSES) & p["kode_desa"].notna()] if len(p) else p
    exp = agreement_exposure(counted) if len(counted) else pd.Series(dtype="Int64")
    late = int((exp >= FIRST_YEAR).sum())
    idx = indeks_desa
    if idx is not None and district is not None:
        idx = rows_in_district(idx, district)
    years = sorted(int(y) for y in idx["tahun"].unique()) if idx is not None and len(idx) else []
    first = int(exp[exp >= FIRST_YEAR].min()) if late else None
    before = [y for y in years if first is not None and y < first]
    baseline = before[-1] if before else None
    follow = [y for y in years if first is not None and y >= first]
    if late == 0:
        reason = "no_agreements_2025_on"
    elif not years:
        reason = "no_indeks_desa_data"
    elif baseline is None:
        reason = "no_baseline_year"
    elif not follow:
        reason = "no_follow_up_year"
    else:
        reason = "ok"
    return {
        "agreements_idm_era": int((exp < FIRST_YEAR).sum()),
        "agreements_indeks_desa_era": late,
        "first_exposure_year": first,
        "indeks_desa_years": years,
        "baseline_year": baseline,
        "follow_up_years": follow,
        "estimable": reason == "ok",
        "reason": reason,
        "outcomes": list(OUTCOMES),
        "removed_item": REMOVED_ITEM,
    }
