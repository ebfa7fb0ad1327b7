"""Descriptives of coverage, partnerships, outcomes and statuses.

Descriptives: who is covered, who partnered (when, with whom, in which sector), how outcomes
are distributed, and how statuses moved, by group.
"""

from __future__ import annotations

import pandas as pd

from analysis.design import COUNTING_STATUSES, agreement_exposure, rows_in_district
from analysis.schema import IDM_STATUSES


def coverage(
    panel: pd.DataFrame,
    partnerships: pd.DataFrame,
    district_code: str,
    n_desa_frame: int,
    last_year: int,
) -> dict:
    """Counts a reader needs before any estimate."""
    reg = rows_in_district(partnerships, district_code)
    # rows without a code (preparatory desa) cannot be placed in a district: counted for the whole folder
    no_code = partnerships[partnerships["kode_desa"].isna()]
    counting = reg[reg["status"].isin(COUNTING_STATUSES)]
    g = agreement_exposure(counting) if len(counting) else pd.Series(dtype="Int64")
    units = panel.drop_duplicates("kode_desa")
    years = sorted(int(y) for y in panel["tahun"].unique()) if len(panel) else []
    out = {
        "n_desa_frame": int(n_desa_frame),
        "n_desa_with_data": int(units["kode_desa"].nunique()),
        "years": years,
        "n_agreements": int(len(reg)),
        "n_agreements_counting": int(len(counting)),
        "n_agreements_not_counting": int(len(reg) - len(counting)),
        "n_desa_partnered": int(counting["kode_desa"].nunique()),
        # evaluated: exposed after the first year (a pre-period exists) and by the last year
        "n_desa_evaluated": int(
            ((units["g"] > (years[0] if years else 0)) & (units["g"] <= last_year)).sum()
        ),
        "n_desa_too_recent": int(counting.loc[(g > last_year).to_numpy(), "kode_desa"].nunique())
        if len(counting)
        else 0,
        "n_desa_comparison": int((units["g"] == 0).sum()),
        "n_registry_rows_without_code": int(len(no_code)),
        "carried_forward_share": float(panel["dibawa"].fillna(False).astype(bool).mean())
        if "dibawa" in panel and len(panel)
        else 0.0,
    }
    out["n_desa_evaluable"] = out["n_desa_evaluated"]  # former name, kept for readers of it
    return out


def partnership_counts(
    partnerships: pd.DataFrame, district_code: str, villages: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Agreements by kecamatan, partner type, sector and start year."""
    reg = rows_in_district(partnerships, district_code).copy()
    reg = reg.merge(villages[["kode_desa", "nama_kecamatan"]], on="kode_desa", how="left")
    reg["tahun_mulai"] = pd.to_datetime(reg["tanggal_mulai"]).dt.year
    out = {}
    for key in ("nama_kecamatan", "jenis_mitra", "sektor", "tahun_mulai"):
        out[key] = (
            reg.groupby(key)
            .agg(perjanjian=("id_kerjasama", "size"), desa=("kode_desa", "nunique"))
            .reset_index()
        )
    return out


def comparison_group(g: pd.Series, first_year: int, last_year: int) -> pd.Series:
    """The comparison group of each desa.

    ``bermitra`` (evaluated: exposed after ``first_year`` and by ``last_year``), ``lainnya``
    (never partnered) or missing (exposed from the first year, or too recent to evaluate).

    The same split as :func:`coverage`'s ``n_desa_evaluated`` and ``n_desa_comparison``, so every
    table and figure of a page counts the same desa.
    """
    evaluated = (g > first_year) & (g <= last_year)
    out = pd.Series(pd.NA, index=g.index, dtype="string")
    out[evaluated.fillna(False).to_numpy(dtype=bool)] = "bermitra"
    out[(g == 0).fillna(False).to_numpy(dtype=bool)] = "lainnya"
    return out


def outcome_summary(
    panel: pd.DataFrame,
    outcome: str,
    first_year: int | None = None,
    last_year: int | None = None,
) -> pd.DataFrame:
    """Mean, sd and quartiles of the outcome per year for evaluated partnered and other desa.

    ``first_year``/``last_year`` default to the panel's; desa that are neither evaluated nor
    comparison desa (see :func:`comparison_group`) are left out.
    """
    first_year = int(panel["tahun"].min()) if first_year is None else first_year
    last_year = int(panel["tahun"].max()) if last_year is None else last_year
    p = panel.assign(kelompok=comparison_group(panel["g"], first_year, last_year))
    p = p[p["kelompok"].notna()]
    return (
        p.groupby(["tahun", "kelompok"])[outcome]
        .agg(
            n="count",
            mean="mean",
            sd="std",
            q25=lambda s: s.quantile(0.25),
            median="median",
            q75=lambda s: s.quantile(0.75),
        )
        .reset_index()
    )


def status_transitions(panel: pd.DataFrame, first_year: int, last_year: int) -> pd.DataFrame:
    """IDM status moves between two years, by group.

    Status in ``first_year`` x status in ``last_year``, counts per group (evaluated partnered /
    never partnered, as :func:`comparison_group`).
    """
    a = panel[panel["tahun"] == first_year][["kode_desa", "status_idm", "g"]]
    b = panel[panel["tahun"] == last_year][["kode_desa", "status_idm"]]
    m = a.merge(b, on="kode_desa", suffixes=("_awal", "_akhir"))
    m["kelompok"] = comparison_group(m["g"], first_year, last_year)
    m = m[m["kelompok"].notna()]
    cats = [s for s in IDM_STATUSES]
    m["status_idm_awal"] = pd.Categorical(m["status_idm_awal"], cats)
    m["status_idm_akhir"] = pd.Categorical(m["status_idm_akhir"], cats)
    return (
        m.groupby(["kelompok", "status_idm_awal", "status_idm_akhir"], observed=False)
        .size()
        .rename("n")
        .reset_index()
    )
