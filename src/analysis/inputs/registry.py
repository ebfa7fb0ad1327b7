"""A partnership registry (the registry template's columns) read and checked against its contract.

``ingest --partnerships`` reads the data folder's registry this way, and
:func:`read_agreements` reads further registries of recent agreements (e.g.
``data/real/kukar_mou_2025.csv``) that a brief states as not yet evaluable.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import InputFileError
from analysis.inputs.reading import ROW, read_raw, rename_columns
from analysis.inputs.validate import check_table
from analysis.schema import PARTNERSHIPS

#: Other headers a registry may use for the contract's columns (lower case, spaces as ``_``).
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


def registry_columns(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A raw registry table with the contract's column names (aliases and case resolved).

    Parameters
    ----------
    raw
        Cells as :func:`analysis.inputs.reading.read_raw` gives them, with ``_row``.
    path
        The file, named in messages.

    Returns
    -------
    pandas.DataFrame
        The contract's columns that the file has, plus ``_row``.

    Raises
    ------
    InputFileError
        A required column is missing (naming the header that looks like it).
    """
    return rename_columns(
        raw,
        path,
        [c.name for c in PARTNERSHIPS.columns],
        PARTNERSHIPS.required,
        REGISTRY_ALIASES,
    )


def read_agreements(path: str | Path) -> pd.DataFrame:
    """Read a registry file (CSV/XLSX, registry template columns) checked against its contract.

    Parameters
    ----------
    path
        The registry file; a relative path is taken from the repository root.

    Returns
    -------
    pandas.DataFrame
        The checked registry rows, without ``_row``.

    Raises
    ------
    InputFileError
        With file, row, column and value for bad rows, like ``ingest``.
    """
    p = Path(path)
    if not p.is_absolute():
        p = paths.ROOT / p
    oc = check_table(registry_columns(read_raw(p), p), PARTNERSHIPS, p.name)
    if oc.problems:
        raise InputFileError(oc.problems)
    return oc.table.drop(columns=[ROW])


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


def merge_agreements(
    registry: pd.DataFrame, extra: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The registry's rows plus those of ``extra`` that are not already in it, by meaning.

    Parameters
    ----------
    registry
        The data folder's registry (kept whole: it wins).
    extra
        Further registries of agreements (e.g. ``data/real/kukar_mou_2025.csv``), or ``None``.

    Returns
    -------
    merged, duplicates
        The merged rows; and one row per row of ``extra`` left out because the same desa,
        partner and signing date is already there (:func:`agreement_keys`), whatever its id:
        ``id_kerjasama`` (the row left out), ``sama_dengan`` (the id kept), ``nama_desa``,
        ``mitra``, ``tanggal_tanda_tangan``.
    """
    cols = ["id_kerjasama", "sama_dengan", "nama_desa", "mitra", "tanggal_tanda_tangan"]
    if extra is None or not len(extra):
        return registry, pd.DataFrame(columns=cols)
    seen: dict[tuple, str] = {}
    for k, i in zip(agreement_keys(registry), registry.get("id_kerjasama", []), strict=False):
        if k is not None:
            seen.setdefault(k, str(i))
    keep, dups = [], []
    for (idx, row), k in zip(extra.iterrows(), agreement_keys(extra), strict=True):
        if k is not None and k in seen:
            dups.append(
                [
                    row.get("id_kerjasama"),
                    seen[k],
                    row.get("nama_desa"),
                    row.get("mitra"),
                    row.get("tanggal_tanda_tangan"),
                ]
            )
            continue
        if k is not None:
            seen[k] = str(row.get("id_kerjasama"))
        keep.append(idx)
    frames = [f for f in (registry, extra.loc[keep]) if len(f)]
    merged = pd.concat(frames, ignore_index=True) if frames else registry
    return merged, pd.DataFrame(dups, columns=cols)


__all__ = [
    "REGISTRY_ALIASES",
    "agreement_keys",
    "merge_agreements",
    "read_agreements",
    "registry_columns",
]
