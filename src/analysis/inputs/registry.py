"""A partnership registry (the registry template's columns) read and checked against its contract.

``ingest --partnerships`` reads the data folder's registry this way, and
:func:`read_agreements` reads further registries of recent agreements (e.g.
``data/real/kukar_mou_2025.csv``) that a brief states as not yet evaluable.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.design import agreement_keys, merge_agreements
from analysis.errors import InputFileError
from analysis.inputs.reading import ROW, ColumnFates, contract_columns, read_raw
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
        A required column is missing (naming the header that looks like it), or two headers
        mean the same column.
    """
    return registry_columns_and_fates(raw, path)[0]


def registry_columns_and_fates(raw: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, ColumnFates]:
    """:func:`registry_columns`, and what became of each header (used, mapped or ignored).

    A registry's own columns ("Catatan", "PIC") are ignored and listed as such by ``ingest``
    (:func:`analysis.inputs.reading.contract_columns`).
    """
    return contract_columns(
        raw,
        path,
        [c.name for c in PARTNERSHIPS.columns],
        PARTNERSHIPS.required,
        REGISTRY_ALIASES,
    )


def check_agreements_file(path: str | Path) -> pd.DataFrame:
    """An agreements file (CSV/XLSX, registry template columns) checked, rows with ``_row``.

    Parameters
    ----------
    path
        The file; a relative path is taken from the working directory
        (:func:`analysis.paths.input_path`).

    Returns
    -------
    pandas.DataFrame
        The checked rows, with ``_row`` (the file's row number).

    Raises
    ------
    InputFileError
        With file, row, column and value for bad rows, like ``ingest``; a missing file is
        named by its absolute path.
    """
    p = paths.input_path(path)
    oc = check_table(registry_columns(read_raw(p), p), PARTNERSHIPS, p.name)
    if oc.problems:
        raise InputFileError(oc.problems)
    return oc.table


def read_agreements(path: str | Path) -> pd.DataFrame:
    """Read a registry file (CSV/XLSX, registry template columns) checked against its contract.

    Parameters
    ----------
    path
        The registry file; a relative path is taken from the working directory, where the
        command was typed (:func:`analysis.paths.input_path`).

    Returns
    -------
    pandas.DataFrame
        The checked registry rows, without ``_row``.

    Raises
    ------
    InputFileError
        With file, row, column and value for bad rows, like ``ingest``.
    """
    return check_agreements_file(path).drop(columns=[ROW])


def agreement_sources(registry: pd.DataFrame, files: list[pd.DataFrame]) -> dict:
    """How many agreements the registry and the agreements files hold, and how many are the same.

    The whole data folder's counts, merged by meaning as every district's counts are
    (:func:`analysis.design.merge_agreements`).

    Parameters
    ----------
    registry
        The data folder's registry.
    files
        The rows of each agreements file (:func:`read_agreements`).

    Returns
    -------
    dict
        ``registry`` (rows), ``files`` (rows of the agreements files), ``same_in_both`` (rows of
        the files that are an agreement of the registry), ``repeated_in_files`` (rows repeating
        an earlier row of the files), ``counted`` (agreements counted once each) and
        ``duplicates`` (pairs: the id left out, the id kept) and ``uncoded`` (agreements
        counted that have no desa code, so no desa to compare).
    """
    extra = pd.concat(files, ignore_index=True) if files else None
    merged, dups = merge_agreements(registry, extra)
    return {
        "registry": int(len(registry)),
        "files": int(len(extra)) if extra is not None else 0,
        "same_in_both": int((dups["kept_in"] == "registry").sum()),
        "repeated_in_files": int((dups["kept_in"] != "registry").sum()),
        "counted": int(len(merged)),
        "uncoded": int(merged["kode_desa"].isna().sum()) if "kode_desa" in merged else 0,
        "duplicates": [
            [str(a), str(b)] for a, b in zip(dups["id_kerjasama"], dups["sama_dengan"], strict=True)
        ],
    }


__all__ = [
    "REGISTRY_ALIASES",
    "agreement_keys",
    "agreement_sources",
    "check_agreements_file",
    "merge_agreements",
    "read_agreements",
    "registry_columns",
    "registry_columns_and_fates",
]
