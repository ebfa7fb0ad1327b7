"""A run's data, loaded once and cut into one small slice per district.

A batch run reads the data folder once, cuts it by district (the rows
:func:`analysis.design.rows_in_district` would select) and hands each district job its slice as
Parquet bytes. The worker writes the slice into its own temporary folder and tells the kernel
where it is (environment variable :data:`SLICE_ENV`); :func:`analysis.district.prepare` reads
the slice instead of the whole folder when the slice says it was cut from that folder, with the
same data hashes, for that district. Opened alone (JupyterLab, plain papermill) the notebook
has no slice and reads the folder itself: the results are the same (tested), only faster.

The slice records the source folder's hashes, so provenance in the brief names the data the
run was given, not the slice.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from analysis.inputs.dataset import DATASET_FILE, SLICE_FILE, Dataset
from analysis.paths import PARTNERSHIPS_FILE, VILLAGES_FILE, WELFARE_FILE

_TABLES = {
    "villages": VILLAGES_FILE,
    "welfare": WELFARE_FILE,
    "partnerships": PARTNERSHIPS_FILE,
    "coordinates": "coordinates.parquet",  # optional: only when the folder has it
}


def _key(df: pd.DataFrame) -> pd.Series:
    # "64.02." for every code of kabupaten 64.02: the prefix rows_in_district matches on
    return df["kode_desa"].fillna("").astype(str).str.slice(0, 6)


class Slicer:
    """Cuts a loaded :class:`Dataset` into per-district slices (grouping done once)."""

    def __init__(self, ds: Dataset):
        self.ds = ds
        self._groups = {
            name: getattr(ds, name).groupby(_key(getattr(ds, name)), sort=False).indices
            for name in _TABLES
            if getattr(ds, name) is not None
            and len(getattr(ds, name).columns)
            and "kode_desa" in getattr(ds, name).columns
        }
        self._meta = {**ds.meta, "title": ds.meta.get("title", ds.folder.name)}

    def files(self, district: str) -> dict[str, bytes]:
        """The slice of ``district`` (code like ``"64.02"``) as file name -> bytes."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        out = {}
        for name, fname in _TABLES.items():
            df = getattr(self.ds, name)
            if df is None:
                continue
            if name in self._groups:
                rows = self._groups[name].get(district + ".")
                if name == "partnerships" and "" in self._groups[name]:
                    # rows without a code belong to no district: every slice keeps them, so
                    # the count of them is the whole folder's, as without a slice
                    rows = sorted([*(rows if rows is not None else []), *self._groups[name][""]])
                df = df.iloc[rows] if rows is not None else df.iloc[0:0]
            buf = io.BytesIO()
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
            out[fname] = buf.getvalue()
        out[DATASET_FILE] = json.dumps(self._meta, ensure_ascii=False).encode()
        out[SLICE_FILE] = json.dumps(
            {
                "district": district,
                "source": str(self.ds.folder.resolve()),
                "hashes": self.ds.hashes,
            }
        ).encode()
        return out


def write_slice(files: dict[str, bytes], folder: Path) -> Path:
    """Write a slice's files into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder
