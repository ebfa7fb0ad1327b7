"""What is compared, and the treatment definitions.

What is compared: the ``Design`` (outcomes, treatment, unit, time, cluster, covariates) and the
treatment definitions built from the partnership registry.

A partnership signed in year Y cannot show in the IDM of year Y unless it started early enough:
IDM is measured once a year, so a start in the second half of the year counts from the next year
(:func:`exposure_year`). Partnerships whose exposure year is after the last outcome year are
*too recent to evaluate* and are reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

#: Outcomes of the IDM instrument; ``naik_status`` = status above its first observed status.
OUTCOMES = ("nilai_idm", "iks", "ike", "ikl", "naik_status")
DEFAULT_COVARIATES = (
    "penduduk_log",
    "jarak_kabupaten_km",
    "jarak_kecamatan_km",
    "tambang_dekat",
    "perkebunan_dekat",
    "dana_desa_juta",
)
#: Month from which a start counts towards the next year's IDM (July: IDM is measured mid-year).
EXPOSURE_CUTOFF_MONTH = 7
#: Registry states that count as a partnership having happened.
COUNTING_STATUSES = ("ditandatangani", "aktif", "selesai")


def exposure_year(start: pd.Series, cutoff_month: int = EXPOSURE_CUTOFF_MONTH) -> pd.Series:
    """First IDM year that can reflect a partnership starting on ``start``."""
    s = pd.to_datetime(start)
    return (s.dt.year + (s.dt.month >= cutoff_month).astype(int)).astype("Int64")


def rows_in_district(df: pd.DataFrame, district: str) -> pd.DataFrame:
    """Rows whose ``kode_desa`` lies in a kabupaten/kota (``"64.02"``); rows without a code drop out."""
    return df[df["kode_desa"].fillna("").str.startswith(district + ".")]


def agreement_exposure(partnerships: pd.DataFrame) -> pd.Series:
    """Exposure year of each registry row: from the start date, or the signing date when empty."""
    p = partnerships
    start = (
        p["tanggal_mulai"].fillna(p["tanggal_tanda_tangan"])
        if "tanggal_tanda_tangan" in p
        else p["tanggal_mulai"]
    )
    return exposure_year(start)


def agreement_keys(reg: pd.DataFrame) -> pd.Series:
    """What makes two registry rows the same agreement: desa, partner and signing date.

    The desa is its code, or its name (case and spacing ignored) when the row has no code; the
    partner's name ignores case, spacing and punctuation. Ids play no part. Rows without a
    signing date get no key (``None``): they are never merged.
    """
    if not len(reg):
        return pd.Series([], dtype=object, index=reg.index)

    def _text(col: str) -> pd.Series:
        v = reg[col] if col in reg else pd.Series(pd.NA, index=reg.index)
        return v.astype("string").str.casefold().str.replace(r"[\W_]+", " ", regex=True).str.strip()

    code = reg["kode_desa"].astype("string") if "kode_desa" in reg else _text("kode_desa")
    desa = code.fillna("name:" + _text("nama_desa").fillna(""))
    sign = pd.to_datetime(reg.get("tanggal_tanda_tangan"), errors="coerce")
    mitra = _text("mitra").fillna("")
    keys = [
        None if pd.isna(t) else (d, m, t.date().isoformat())
        for d, m, t in zip(desa, mitra, sign, strict=True)
    ]
    return pd.Series(keys, index=reg.index, dtype=object)


#: Columns of the rows :func:`merge_agreements` leaves out (one per repeat).
DUPLICATE_COLUMNS = (
    "id_kerjasama",
    "sama_dengan",
    "kept_in",
    "nama_desa",
    "mitra",
    "tanggal_tanda_tangan",
)


def merge_agreements(
    registry: pd.DataFrame, extra: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registry's rows plus those of ``extra`` that are not already in it, by meaning.

    The one rule by which every page, file and count merges the data folder's registry with
    the agreements files: the same desa, partner and signing date is one agreement, whatever
    its ids (:func:`agreement_keys`).

    Parameters
    ----------
    registry
        The data folder's registry (kept whole: it wins).
    extra
        Further registries of agreements (e.g. ``data/real/kukar_mou_2025.csv``), or ``None``.

    Returns
    -------
    merged, duplicates
        The merged rows (the registry's first, then the rows of ``extra`` kept, in order); and
        one row per row of ``extra`` left out because the same agreement is already there:
        ``id_kerjasama`` (the row left out), ``sama_dengan`` (the id kept), ``kept_in``
        (``registry``, or ``agreements_file`` for a row repeating an earlier row of ``extra``),
        ``nama_desa``, ``mitra``, ``tanggal_tanda_tangan``.
    """
    cols = list(DUPLICATE_COLUMNS)
    if extra is None or not len(extra):
        return registry, pd.DataFrame(columns=cols)
    seen: dict[tuple, tuple[str, str]] = {}
    for k, i in zip(agreement_keys(registry), registry.get("id_kerjasama", []), strict=False):
        if k is not None:
            seen.setdefault(k, (str(i), "registry"))
    keep, dups = [], []
    for (idx, row), k in zip(extra.iterrows(), agreement_keys(extra), strict=True):
        if k is not None and k in seen:
            dups.append([row.get("id_kerjasama"), *seen[k]] + [row.get(c) for c in cols[3:]])
            continue
        if k is not None:
            seen[k] = (str(row.get("id_kerjasama")), "agreements_file")
        keep.append(idx)
    frames = [f for f in (registry, extra.loc[keep]) if len(f)]
    merged = pd.concat(frames, ignore_index=True) if frames else registry
    return merged, pd.DataFrame(dups, columns=cols)


@dataclass(frozen=True, kw_only=True)
class Design:
    """Column roles for one comparison, passed to every estimator.

    Parameters
    ----------
    outcome
        Outcome column (one of :data:`OUTCOMES`).
    treatment
        ``"any"``, ``"type:<jenis_mitra>"``, ``"sector:<sektor>"`` or ``"by:<year>"``
        (partnerships counted only if exposed by that year).
    unit, time, cluster
        Column names: desa code, year, kecamatan code (for cluster-robust errors).
    covariates
        Baseline covariates used for adjustment and propensity scores.
    """

    outcome: str = "nilai_idm"
    treatment: str = "any"
    unit: str = "kode_desa"
    time: str = "tahun"
    cluster: str = "kode_kec"
    covariates: tuple[str, ...] = DEFAULT_COVARIATES
    baseline_outcome: bool = True

    def with_outcome(self, outcome: str) -> Design:
        """The same design for another outcome."""
        return replace(self, outcome=outcome)

    def with_treatment(self, treatment: str) -> Design:
        """The same design for another treatment definition."""
        return replace(self, treatment=treatment)


def first_exposure(partnerships: pd.DataFrame, treatment: str = "any") -> pd.DataFrame:
    """One row per desa: first exposure year ``g`` and the type/sector of that first partnership.

    Rows without a code (preparatory desa) and cancelled or merely planned agreements are left
    out; :func:`analysis.methods.describe.coverage` reports them.
    """
    p = partnerships
    if len(p) == 0:
        return pd.DataFrame(columns=["kode_desa", "g", "jenis_mitra", "sektor", "tanggal_mulai"])
    p = p[p["kode_desa"].notna() & p["status"].isin(COUNTING_STATUSES)].copy()
    p["g"] = agreement_exposure(p)
    kind, _, value = treatment.partition(":")
    if kind == "type":
        p = p[p["jenis_mitra"] == value]
    elif kind == "sector":
        p = p[p["sektor"] == value]
    elif kind == "by":
        p = p[p["g"] <= int(value)]
    elif kind != "any":
        raise ValueError(
            f"unknown treatment definition '{treatment}' (any, type:X, sector:X, by:YEAR)"
        )
    p = p.sort_values(["kode_desa", "g", "id_kerjasama"])
    return p.drop_duplicates("kode_desa")[
        ["kode_desa", "g", "jenis_mitra", "sektor", "tanggal_mulai"]
    ].reset_index(drop=True)


def analysis_panel(
    welfare: pd.DataFrame,
    villages: pd.DataFrame,
    partnerships: pd.DataFrame,
    treatment: str = "any",
    district: str | None = None,
) -> pd.DataFrame:
    """Desa-year panel with covariates, ``g`` (exposure year, 0 = never) and ``naik_status``.

    Desa partnered under another definition than ``treatment`` (e.g. other partner types) are
    dropped from the comparison group rather than counted as untreated. The same as
    ``with_exposure(desa_years(welfare, villages, district), partnerships, treatment)``: build
    :func:`desa_years` once to compare several treatment definitions.
    """
    return with_exposure(desa_years(welfare, villages, district), partnerships, treatment)


def desa_years(
    welfare: pd.DataFrame, villages: pd.DataFrame, district: str | None = None
) -> pd.DataFrame:
    """Desa-years of a district, before any treatment definition.

    The part of :func:`analysis_panel` that does not depend on the treatment definition:
    desa-years (of a district) with ``status_rank``, ``naik_status`` and the covariates.
    """
    w = rows_in_district(welfare, district).copy() if district is not None else welfare.copy()
    rank = {
        s: i
        for i, s in enumerate(["SANGAT TERTINGGAL", "TERTINGGAL", "BERKEMBANG", "MAJU", "MANDIRI"])
    }
    w["status_rank"] = w["status_idm"].map(rank).astype(float)
    w = w.sort_values(["kode_desa", "tahun"])
    first_rank = w.groupby("kode_desa")["status_rank"].transform("first")
    w["naik_status"] = (w["status_rank"] > first_rank).astype(float).where(w["status_rank"].notna())
    cov_cols = [c for c in villages.columns if c not in ("nama_desa",)]
    v = villages[cov_cols]
    if district is not None:
        v = rows_in_district(v, district)
    v = v.copy()
    if "penduduk" in v:
        v["penduduk_log"] = np.log(v["penduduk"].astype(float).clip(lower=1))
    for b in ("tambang_dekat", "perkebunan_dekat"):
        if b in v:
            v[b] = v[b].astype(float)
    return w.merge(v, on="kode_desa", how="left", suffixes=("", "_v"))


def with_exposure(
    base: pd.DataFrame, partnerships: pd.DataFrame, treatment: str = "any"
) -> pd.DataFrame:
    """Exposure of one treatment definition added to desa-years.

    Add ``g``, ``jenis_mitra`` and ``sektor`` of ``treatment`` to :func:`desa_years` (the rest
    of :func:`analysis_panel`; the input is not changed).
    """
    exp = first_exposure(partnerships, treatment)
    panel = base.merge(exp[["kode_desa", "g", "jenis_mitra", "sektor"]], on="kode_desa", how="left")
    if treatment != "any":
        exp_all = first_exposure(partnerships, "any")
        other = exp_all.loc[~exp_all["kode_desa"].isin(exp["kode_desa"]), "kode_desa"]
        panel = panel[~panel["kode_desa"].isin(other)]
    panel["g"] = panel["g"].fillna(0).astype(int)
    return panel.reset_index(drop=True)
