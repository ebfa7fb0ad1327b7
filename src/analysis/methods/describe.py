"""Descriptives of coverage, partnerships, outcomes and statuses.

Descriptives: who is covered, who partnered (when, with whom, in which sector), how outcomes
are distributed, and how statuses moved, by group.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

from analysis.design import (
    COUNTING_STATUSES,
    agreement_exposure,
    merge_agreements,
    rows_in_district,
)
from analysis.schema import IDM_STATUSES


@dataclass(frozen=True, kw_only=True)
class Counts:
    """The one count of a district's desa and agreements that every page, file and step uses.

    Every desa with outcome data is in exactly one of: ``n_desa_evaluated`` (first exposure
    after the first outcome year and by the last), ``n_desa_from_start`` (exposed in or before
    the first outcome year: no year before the start, left out), ``n_desa_too_recent_with_data``
    (first exposure after the last outcome year: "belum dapat dinilai", never counted as never
    partnered and never used as comparison desa) or ``n_desa_comparison`` (no counting agreement
    in the registry nor in the agreements files). Every partnered desa is evaluated, from the
    start, too recent or without outcome data (``n_desa_no_data``, left out).

    Agreements are the district's rows of the data folder's registry plus the rows of the
    agreements files that are not the same agreement as a row already there (the same desa,
    partner and signing date, whatever the ids: :func:`analysis.design.merge_agreements`);
    ``n_agreements_file_duplicates`` rows of the files are such repeats, counted once. ``n_agreements_ended`` /
    ``n_desa_ended``: counting agreements with status ``selesai`` and the evaluated desa whose
    every counting agreement has ended; they stay partnered from their first exposure on (an
    ever-partnered comparison). Rows without a desa code cannot be placed in a district: those of
    the registry are counted for the whole registry, those of an agreements file when the file
    has rows in the district (the rule of :func:`analysis.report.agreements.recent_agreements`).
    """

    first_year: int
    last_year: int
    n_desa_frame: int
    n_desa_with_data: int
    n_desa_partnered: int
    n_desa_evaluated: int
    n_desa_too_recent: int
    n_desa_too_recent_with_data: int
    n_desa_from_start: int
    n_desa_no_data: int
    n_desa_comparison: int
    n_desa_ended: int
    n_agreements: int
    n_agreements_counting: int
    n_agreements_not_counting: int
    n_agreements_ended: int
    n_agreements_too_recent: int
    n_agreements_from_files: int
    n_agreements_file_duplicates: int
    n_rows_without_code_registry: int
    n_rows_without_code_files: int

    @property
    def n_rows_without_code(self) -> int:
        """Rows without a desa code, of the registry and of the agreements files together."""
        return self.n_rows_without_code_registry + self.n_rows_without_code_files

    @property
    def n_registry_rows_without_code(self) -> int:
        """Former name of :attr:`n_rows_without_code` (it counts the agreements files too)."""
        return self.n_rows_without_code

    @property
    def n_desa_left_out(self) -> int:
        """Partnered desa neither evaluated nor too recent (from the start, or without data)."""
        return self.n_desa_from_start + self.n_desa_no_data

    def as_dict(self) -> dict:
        """Every count by name (fields and the two totals).

        The former name ``n_registry_rows_without_code`` stays an attribute only: in a table
        beside ``n_rows_without_code_registry`` it read as a registry count it is not.
        """
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["n_rows_without_code"] = self.n_rows_without_code
        d["n_desa_left_out"] = self.n_desa_left_out
        return d


def merged_registry(
    registry: pd.DataFrame, agreements: pd.DataFrame | None
) -> tuple[pd.DataFrame, int]:
    """The registry with the agreements files' rows it does not hold yet, by meaning.

    The same desa, partner and signing date is one agreement whatever its ids
    (:func:`analysis.design.merge_agreements`, the rule every page and count uses). Returns the
    merged rows and the number of agreements-file rows left out as repeats.
    """
    merged, dups = merge_agreements(registry, agreements)
    return merged, int(len(dups))


def count_desa(
    panel: pd.DataFrame,
    registry: pd.DataFrame,
    district_code: str,
    n_desa_frame: int,
    first_year: int,
    last_year: int,
    agreements: pd.DataFrame | None = None,
) -> Counts:
    """The :class:`Counts` of a district.

    Parameters
    ----------
    panel
        The district's desa-years up to ``last_year`` with ``g`` from the registry alone or
        merged (only which desa have data is read from it).
    registry
        The data folder's registry (every row, with or without a code).
    district_code
        ``"64.02"``.
    n_desa_frame
        Desa of the district in the official frame.
    first_year, last_year
        The outcome years compared.
    agreements
        Rows of the agreements files (registry contract), or None.

    Returns
    -------
    Counts
        The counts; the same for the whole folder and for a district's slice.
    """
    merged, repeats = merged_registry(registry, agreements)
    reg = rows_in_district(merged, district_code)
    counting = reg[reg["status"].isin(COUNTING_STATUSES)].copy()
    counting["g"] = agreement_exposure(counting).to_numpy() if len(counting) else []
    first = counting.groupby("kode_desa")["g"].min() if len(counting) else pd.Series(dtype=float)
    by_last = counting[counting["g"] <= last_year] if len(counting) else counting
    ended = (  # every agreement counting by the last year has ended
        by_last.assign(e=by_last["status"] == "selesai").groupby("kode_desa")["e"].all()
        if len(by_last)
        else pd.Series(dtype=bool)
    )
    with_data = set(panel["kode_desa"].unique()) if len(panel) else set()
    has = first.index.isin(list(with_data))
    evaluated = has & (first > first_year).to_numpy() & (first <= last_year).to_numpy()
    recent = (first > last_year).to_numpy()
    new = merged.iloc[len(registry) :]  # the agreements files' rows kept (merged by meaning)
    file_rows = int(len(rows_in_district(new, district_code)))
    uncoded_files = (
        int(new["kode_desa"].isna().sum()) if len(rows_in_district(new, district_code)) else 0
    )
    return Counts(
        first_year=int(first_year),
        last_year=int(last_year),
        n_desa_frame=int(n_desa_frame),
        n_desa_with_data=len(with_data),
        n_desa_partnered=int(len(first)),
        n_desa_evaluated=int(evaluated.sum()),
        n_desa_too_recent=int(recent.sum()),
        n_desa_too_recent_with_data=int((recent & has).sum()),
        n_desa_from_start=int((has & (first <= first_year).to_numpy()).sum()),
        n_desa_no_data=int((~has & ~recent).sum()),
        n_desa_comparison=len(with_data - set(first.index)),
        n_desa_ended=int(ended.reindex(first.index[evaluated]).fillna(False).sum()),
        n_agreements=int(len(reg)),
        n_agreements_counting=int(len(counting)),
        n_agreements_not_counting=int(len(reg) - len(counting)),
        n_agreements_ended=int((counting["status"] == "selesai").sum()),
        n_agreements_too_recent=int((counting["g"] > last_year).sum()) if len(counting) else 0,
        n_agreements_from_files=file_rows,
        n_agreements_file_duplicates=repeats,
        n_rows_without_code_registry=int(registry["kode_desa"].isna().sum()),
        n_rows_without_code_files=uncoded_files,
    )


def coverage(
    panel: pd.DataFrame,
    partnerships: pd.DataFrame,
    district_code: str,
    n_desa_frame: int,
    last_year: int,
    agreements: pd.DataFrame | None = None,
    counts: Counts | None = None,
) -> dict:
    """Counts a reader needs before any estimate: :func:`count_desa` as a dict, with the years.

    ``n_desa_evaluable`` is the former name of ``n_desa_evaluated``; ``carried_forward_share``
    the share of outcome values carried from the year before.
    """
    years = sorted(int(y) for y in panel["tahun"].unique()) if len(panel) else []
    if counts is None:
        counts = count_desa(
            panel,
            partnerships,
            district_code,
            n_desa_frame,
            years[0] if years else 0,
            last_year,
            agreements,
        )
    out = {"years": years, **counts.as_dict()}
    out["carried_forward_share"] = (
        float(panel["dibawa"].fillna(False).astype(bool).mean())
        if "dibawa" in panel and len(panel)
        else 0.0
    )
    out["n_desa_evaluable"] = out["n_desa_evaluated"]  # former name, kept for readers of it
    out |= unchanged_values(panel)
    return out


#: The scores compared by :func:`unchanged_values` (all of them equal: a value not updated).
UNCHANGED_COLUMNS = ("iks", "ike", "ikl", "nilai_idm")


def unchanged_values(panel: pd.DataFrame) -> dict:
    """Desa-years whose every score equals the desa's previous year, not carried by this workspace.

    The ministry's workbooks sometimes repeat a desa's previous scores (a survey not redone);
    identical IKS, IKE, IKL and IDM to four decimals in consecutive years is counted here, apart
    from the values the workspace itself carried forward (``dibawa``).

    Returns
    -------
    dict
        ``n_desa_unchanged`` (desa with at least one such year), ``n_desa_years_unchanged`` and
        ``unchanged_share`` (of the desa-years that have a previous year).
    """
    cols = [c for c in UNCHANGED_COLUMNS if c in panel]
    if len(cols) < len(UNCHANGED_COLUMNS) or not len(panel):
        return {"n_desa_unchanged": 0, "n_desa_years_unchanged": 0, "unchanged_share": 0.0}
    p = panel.sort_values(["kode_desa", "tahun"])
    prev = p.groupby("kode_desa")[cols].shift(1)
    has_prev = prev.notna().all(axis=1) & (p.groupby("kode_desa")["tahun"].diff() == 1)
    same = (p[cols].round(4).to_numpy() == prev.round(4).to_numpy()).all(axis=1) & has_prev
    if "dibawa" in p:
        same &= ~p["dibawa"].fillna(False).astype(bool)
    n_prev = int(has_prev.sum())
    return {
        "n_desa_unchanged": int(p.loc[same, "kode_desa"].nunique()),
        "n_desa_years_unchanged": int(same.sum()),
        "unchanged_share": float(same.sum() / n_prev) if n_prev else 0.0,
    }


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
