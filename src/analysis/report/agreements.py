"""Agreements too recent for the outcome data, as facts a sentence can state exactly.

A partnership counts from the first IDM year that can reflect it: its start year, or the next
year for starts from July (:func:`analysis.design.exposure_year`). Agreements whose exposure year
is after the last outcome year cannot be evaluated yet. They come from the data folder's
registry and, optionally, from further registries of recent agreements (e.g.
``data/real/kukar_mou_2025.csv``) read with the same contract as any registry
(:func:`analysis.inputs.registry.read_agreements`, re-exported here).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from analysis.design import (
    COUNTING_STATUSES,
    EXPOSURE_CUTOFF_MONTH,
    agreement_exposure,
    rows_in_district,
)
from analysis.inputs.registry import merge_agreements, read_agreements

#: The IDM was last published for 2024; from 2025 the Indeks Desa (Permendesa 9/2024) replaces it
#: and scores village cooperation itself, so the two series must not be spliced.
IDM_LAST_EDITION = 2024


@dataclass(frozen=True, kw_only=True)
class RecentGroup:
    """Agreements of one district that count from the same IDM year for the same reason."""

    exposure_year: int
    july_rule: bool  # started in July or later: counted from the next year
    signed_only: bool  # the start date is the signing date (no separate start recorded)
    first: pd.Timestamp
    last: pd.Timestamp
    n_agreements: int
    desa: tuple[tuple[str, tuple[str, ...]], ...]  # (desa name, partners)
    new_instrument: bool  # the exposure year is after the last IDM edition
    n_from_files: int = 0  # agreements read from the agreements files (not the data's registry)
    from_files: tuple[str, ...] = ()  # desa names of those agreements
    n_kecamatan: int = 0  # kecamatan of the group's desa (by desa code)
    desa_codes: tuple[str, ...] = ()  # the group's desa codes, 10 digits
    #: desa of the group that already partnered in the outcome years (a repeat partnership):
    #: their new agreements cannot be judged against never-partnered desa
    repeat: tuple[str, ...] = ()
    n_repeat: int = 0  # agreements of the group at those repeat desa

    @property
    def n_new(self) -> int:
        """Agreements of the group at desa new to partnering (the ones a comparison can judge)."""
        return self.n_agreements - self.n_repeat

    @property
    def settle(self) -> str:
        """Which data would evaluate these agreements.

        ``idm`` (a later IDM year in the data), ``first_indeks_desa`` (the first Indeks Desa,
        with the last IDM as the starting point) or ``indeks_desa`` (a later Indeks Desa year
        against the year before).
        """
        if self.exposure_year <= IDM_LAST_EDITION:
            return "idm"
        return "first_indeks_desa" if self.exposure_year == IDM_LAST_EDITION + 1 else "indeks_desa"


@dataclass(frozen=True, kw_only=True)
class Recent:
    """The counting agreements of a district too recent for the outcome data, grouped.

    Attributes
    ----------
    groups
        One group per exposure year and July rule (:class:`RecentGroup`).
    last_year
        The last outcome year in the data.
    uncoded_rows, uncoded_names
        Rows of the extra registries without a desa code (e.g. desa persiapan), and their names.
    """

    groups: tuple[RecentGroup, ...]
    last_year: int
    uncoded_rows: int  # rows of the extra registries without a desa code (e.g. desa persiapan)
    uncoded_names: tuple[str, ...]
    #: Rows of the extra registries already in the registry (same desa, partner and signing
    #: date, whatever the id), counted once: (id left out, id kept) pairs, in this district.
    duplicates: tuple[tuple[str, str], ...] = ()
    #: The agreements files read (names as the reader gave them).
    files: tuple[str, ...] = ()

    @property
    def n_agreements(self) -> int:
        """Agreements in all groups."""
        return sum(g.n_agreements for g in self.groups)


def recent_agreements(
    registry: pd.DataFrame,
    district: str,
    last_year: int,
    extra: pd.DataFrame | None = None,
    files: tuple[str, ...] = (),
) -> Recent:
    """Counting agreements of ``district`` whose exposure year is after ``last_year``, grouped.

    ``files`` names the files ``extra`` was read from; each group counts its agreements (and
    names its desa) that came from them, so a page on simulated data can say which are real.

    Rows of ``extra`` that repeat an agreement of ``registry`` (or of ``extra`` itself) by
    meaning, the same desa, partner and signing date whatever their ids
    (:func:`analysis.inputs.registry.merge_agreements`), are counted once and listed in
    ``duplicates`` (and warned about, so the console says so too).
    """
    uncoded = pd.DataFrame(columns=["nama_desa"])
    reg, dups = merge_agreements(registry, extra)
    reg = reg.assign(_from_file=[False] * len(registry) + [True] * (len(reg) - len(registry)))
    kept = reg.iloc[len(registry) :]  # the extra rows that are new agreements
    if len(rows_in_district(kept, district)):
        uncoded = kept[kept["kode_desa"].isna()]
    kept_here = set(map(str, rows_in_district(reg, district)["id_kerjasama"]))
    dups = dups[dups["sama_dengan"].astype(str).isin(kept_here)]
    pairs = tuple(zip(map(str, dups["id_kerjasama"]), map(str, dups["sama_dengan"]), strict=True))
    if pairs:
        shown = ", ".join(f"{a} = {b}" for a, b in pairs[:10])
        more = f" and {len(pairs) - 10} more" if len(pairs) > 10 else ""
        warnings.warn(
            f"{len(pairs)} row(s) of the agreements file repeat registry rows (same desa, partner "
            f"and signing date) and are counted once: {shown}{more}",
            stacklevel=2,
        )
    reg = rows_in_district(reg, district)
    reg = reg[reg["status"].isin(COUNTING_STATUSES)].copy()
    groups: list[RecentGroup] = []
    if len(reg):
        reg["g"] = agreement_exposure(reg).to_numpy()
        reg["start"] = pd.to_datetime(reg["tanggal_mulai"].fillna(reg["tanggal_tanda_tangan"]))
        reg["sign"] = pd.to_datetime(reg["tanggal_tanda_tangan"])
        earlier = set(reg.loc[reg["g"] <= last_year, "kode_desa"].dropna().astype(str))
        reg = reg[reg["g"] > last_year]
        reg["july"] = reg["start"].dt.month >= EXPOSURE_CUTOFF_MONTH
        for (g, july), rows in reg.groupby(["g", "july"], sort=True):
            desa = tuple(
                (str(name), tuple(sorted(set(map(str, r["mitra"])))))
                for name, r in rows.groupby("nama_desa", sort=True)
            )
            again = rows[rows["kode_desa"].astype(str).isin(earlier)]
            new = rows[~rows.index.isin(again.index)]
            codes = new["kode_desa"].dropna().astype(str).str.replace(".", "", regex=False)
            real = rows[rows["_from_file"]]
            groups.append(
                RecentGroup(
                    exposure_year=int(g),
                    july_rule=bool(july),
                    signed_only=bool((rows["start"] == rows["sign"]).all()),
                    first=rows["start"].min(),
                    last=rows["start"].max(),
                    n_agreements=len(rows),
                    desa=desa,
                    new_instrument=int(g) > IDM_LAST_EDITION,
                    n_from_files=len(real),
                    from_files=tuple(sorted(set(map(str, real["nama_desa"].dropna())))),
                    n_kecamatan=int(codes.str[:6].nunique()),
                    desa_codes=tuple(sorted(set(codes))),
                    repeat=tuple(sorted(set(map(str, again["nama_desa"].dropna())))),
                    n_repeat=len(again),
                )
            )
    names = tuple(sorted(set(map(str, uncoded["nama_desa"].dropna()))))
    return Recent(
        groups=tuple(groups),
        last_year=int(last_year),
        uncoded_rows=int(len(uncoded)),
        uncoded_names=names,
        duplicates=pairs,
        files=tuple(files),
    )


__all__ = ["IDM_LAST_EDITION", "Recent", "RecentGroup", "read_agreements", "recent_agreements"]
