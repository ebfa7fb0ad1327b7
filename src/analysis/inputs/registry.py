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


__all__ = ["REGISTRY_ALIASES", "read_agreements", "registry_columns"]
