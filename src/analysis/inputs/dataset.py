"""A data folder as one object: the three tables, their metadata, and their fingerprints.

Both ``ingest`` and ``example_data`` write folders through :func:`write_tables`; every analysis
reads them through :func:`load_dataset`, so provenance (file hashes, the synthetic flag) travels
with the data into every output.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.errors import InputFileError, InputProblem
from analysis.paths import PARTNERSHIPS_FILE, VILLAGES_FILE, WELFARE_FILE

DATASET_FILE = "dataset.json"
#: Key of ``dataset.json`` recording the SHA-256 of each table file written (file name -> hash).
TABLE_HASHES = "table_sha256"
#: Key of each Parquet file's metadata saying whether its rows are simulated.
SYNTHETIC_KEY = b"analysis.synthetic"
#: Environment variable naming the folder of a district slice a batch run gave this kernel
#: (written by :mod:`analysis.batch.slices`, read here).
SLICE_ENV = "ANALYSIS_DATA_SLICE"
SLICE_FILE = "slice.json"
_FILES = {
    "villages": VILLAGES_FILE,
    "welfare": WELFARE_FILE,
    "partnerships": PARTNERSHIPS_FILE,
    "indicators": "indicators.parquet",
    "indeks_desa": "indeks_desa.parquet",
    "coordinates": "coordinates.parquet",
}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file; of a folder, over its files' relative paths and contents (sorted)."""
    h = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], meta: dict) -> None:
    """Write tables as Parquet and dataset.json.

    Each Parquet file carries ``analysis.synthetic`` (and ``analysis.label``) in its metadata, so
    a table copied out of its folder still says whether it is simulated. ``dataset.json``
    records the SHA-256 of each table file (:data:`TABLE_HASHES`), so a table edited or lost
    after it was written is reported. Bytes are deterministic for the same data and library
    versions (no index, one row group).
    """
    folder = Path(folder)
    hashes = {}
    for name, df in tables.items():
        table = pa.Table.from_pandas(df, preserve_index=False)
        extra = {SYNTHETIC_KEY: str(bool(meta.get("synthetic", False))).lower().encode()}
        if meta.get("label"):
            extra[b"analysis.label"] = str(meta["label"]).encode()
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        pq.write_table(table, folder / _FILES[name], compression="zstd", row_group_size=1 << 20)
        hashes[_FILES[name]] = file_sha256(folder / _FILES[name])
    meta = {**meta, TABLE_HASHES: dict(sorted(hashes.items()))}
    (folder / DATASET_FILE).write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _problem(path: Path, what: str, fix: str, **kw) -> InputProblem:
    """A problem of a data folder's file; ``kw``: its catalog ``key`` and ``args``."""
    return InputProblem(str(path), what, fix, **kw)


_REWRITE = (
    "write the folder again from the raw files ('python -m analysis ingest ... --force', or "
    "'example-data --force' for the example)"
)


def read_meta(folder: Path) -> tuple[dict, list[InputProblem]]:
    """``dataset.json`` of ``folder`` ({} when absent) and the problems that make it unusable.

    A file cut short, not JSON, not UTF-8 or holding something other than an object is a
    problem, named with the fix; the meta is then ``{}``.
    """
    path = Path(folder) / DATASET_FILE
    if not path.exists() and not path.is_symlink():
        return {}, []
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return {}, [
            _problem(
                path,
                f"dataset.json cannot be read ({e})",
                _REWRITE,
                key="dataset_json_unreadable",
                args={"detail": str(e)},
            )
        ]
    if not isinstance(meta, dict):
        what = f"dataset.json holds a JSON {type(meta).__name__}, not an object"
        return {}, [
            _problem(
                path,
                what,
                _REWRITE,
                key="dataset_json_not_object",
                args={"kind": type(meta).__name__},
            )
        ]
    return meta, []


def table_flags(folder: Path) -> dict[str, bool]:
    """What each table file of ``folder`` says in its metadata about being simulated.

    File name -> flag, for the files that carry ``analysis.synthetic`` (unreadable files and
    files without the key are left out: :func:`folder_problems` reports the former).
    """
    flags = {}
    for fname in _FILES.values():
        path = Path(folder) / fname
        if not path.is_file():
            continue
        try:
            md = pq.read_schema(path).metadata or {}
        except (OSError, pa.ArrowException):
            continue
        if SYNTHETIC_KEY in md:
            flags[fname] = md[SYNTHETIC_KEY].strip().lower() == b"true"
    return flags


def folder_problems(folder: Path) -> list[InputProblem]:
    """What makes a data folder's ``dataset.json`` and table files unusable or untrustworthy.

    Checks ``dataset.json`` (readable, an object), each table it lists (present, unchanged
    since written: :data:`TABLE_HASHES`) and whether the folder's sources agree on being
    simulated (``dataset.json``'s ``synthetic`` and each table's ``analysis.synthetic``).
    Tables that cannot be read at all are reported by the reader (``inputs.reading``).
    """
    folder = Path(folder)
    meta, problems = read_meta(folder)
    listed = meta.get(TABLE_HASHES) or {}
    if not isinstance(listed, dict):
        problems.append(
            _problem(
                folder / DATASET_FILE,
                f"'{TABLE_HASHES}' is not an object",
                _REWRITE,
                key="hashes_not_object",
                args={"name": TABLE_HASHES},
            )
        )
        listed = {}
    for fname, want in sorted(listed.items()):
        path = folder / Path(str(fname)).name
        if not path.is_file():
            problems.append(
                _problem(
                    path,
                    "the table is missing although dataset.json lists it",
                    _REWRITE,
                    key="table_missing_listed",
                )
            )
        elif file_sha256(path) != want:
            problems.append(
                _problem(
                    path,
                    "the table was changed after it was written (its SHA-256 differs from the "
                    "one dataset.json records)",
                    _REWRITE + f"; if the edit is deliberate, delete the '{TABLE_HASHES}' entry "
                    "of dataset.json to accept it",
                    key="table_changed",
                    args={"name": TABLE_HASHES},
                )
            )
    says = {f"{DATASET_FILE} (synthetic)": bool(meta["synthetic"])} if "synthetic" in meta else {}
    says.update({f"{k} (analysis.synthetic)": v for k, v in table_flags(folder).items()})
    if len(set(says.values())) > 1:
        sim = ", ".join(k for k, v in says.items() if v)
        real = ", ".join(k for k, v in says.items() if not v)
        problems.append(
            _problem(
                folder,
                f"the folder contradicts itself on simulated data: {sim} say simulated, "
                f"{real} say real",
                "simulated tables are never shown as real: " + _REWRITE,
                key="synthetic_contradiction",
                args={"simulated": sim, "real": real},
            )
        )
    return problems


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """The tables of one data folder. Treat the frames as read-only."""

    folder: Path
    villages: pd.DataFrame
    welfare: pd.DataFrame
    partnerships: pd.DataFrame
    meta: dict
    #: Indicator scores from the Ministry's per-village records (``None`` when not ingested).
    indicators: pd.DataFrame | None = None
    #: The Indeks Desa series (2025 onwards; never mixed with ``welfare``), ``None`` when absent.
    indeks_desa: pd.DataFrame | None = None
    #: The user's desa points (``ingest --coordinates``), ``None`` when absent (shipped ones used).
    coordinates: pd.DataFrame | None = None

    @property
    def synthetic(self) -> bool:
        """Whether the folder holds simulated data (``dataset.json``'s ``synthetic``).

        :func:`load_dataset` sets it when any source says so (``dataset.json`` or a table's
        ``analysis.synthetic``).
        """
        return bool(self.meta.get("synthetic", False))

    @cached_property
    def hashes(self) -> dict[str, str]:
        """SHA-256 of every file in the folder that analyses read."""
        return {
            p.name: file_sha256(p)
            for p in sorted(self.folder.iterdir())
            if p.is_file()
            and p.suffix in (".parquet", ".json", ".csv", ".xlsx")
            and not p.name.startswith(".")
        }


def load_dataset(folder: Path) -> Dataset:
    """Read a processed data folder (``villages``, ``welfare``, optional ``partnerships``).

    Raises
    ------
    InputFileError
        When the folder or its welfare table is missing.
    """
    folder = Path(folder)
    if not (folder / WELFARE_FILE).exists():
        raise InputFileError(
            [
                InputProblem(
                    str(folder),
                    f"no {WELFARE_FILE} in this folder",
                    "point --data at a folder written by 'python -m analysis ingest' or 'example-data'",
                    key="no_welfare_table",
                    args={"file": WELFARE_FILE},
                )
            ]
        )
    meta, problems = read_meta(folder)
    if problems:
        raise InputFileError(problems)
    if any(table_flags(folder).values()):  # any source saying simulated puts up the banner
        meta = {**meta, "synthetic": True}
    welfare = pd.read_parquet(folder / WELFARE_FILE)
    villages = (
        pd.read_parquet(folder / VILLAGES_FILE)
        if (folder / VILLAGES_FILE).exists()
        else pd.DataFrame()
    )
    if (folder / PARTNERSHIPS_FILE).exists():
        partnerships = pd.read_parquet(folder / PARTNERSHIPS_FILE)
    else:
        partnerships = pd.DataFrame(
            columns=[
                "id_kerjasama",
                "kode_desa",
                "jenis_mitra",
                "sektor",
                "tanggal_mulai",
                "status",
            ]
        )
    optional = {
        name: pd.read_parquet(folder / _FILES[name]) if (folder / _FILES[name]).exists() else None
        for name in ("indicators", "indeks_desa", "coordinates")
    }
    ds = Dataset(
        folder=folder,
        villages=villages,
        welfare=welfare,
        partnerships=partnerships,
        meta=meta,
        **optional,
    )
    source = recorded_hashes(folder)
    if source is not None:  # a run's district slice: provenance names the data it was cut from
        ds.__dict__["hashes"] = source
    return ds


def slice_for(data_dir: str | Path, district: str) -> Path | None:
    """The slice folder this kernel was given for ``district`` cut from ``data_dir``, if any."""
    where = os.environ.get(SLICE_ENV)
    if not where:
        return None
    try:
        info = json.loads((Path(where) / SLICE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = info.get("district") == district and info.get("source") == str(Path(data_dir).resolve())
    return Path(where) if same else None


def recorded_hashes(folder: Path) -> dict[str, str] | None:
    """The source data hashes a slice folder records (None for an ordinary data folder)."""
    p = Path(folder) / SLICE_FILE
    if not p.exists():
        return None
    return json.loads(p.read_text(encoding="utf-8"))["hashes"]
