"""Write the data frames of an R ``.RData`` file as CSV (the test fixtures' generating script).

A minimal reader of R's XDR serialisation (R Internals, "Serialization Formats"), enough for
data frames of numeric, integer, logical, character and factor columns: it made
``tests/fixtures/base_stagg.csv`` from fixest's ``data/base_stagg.RData``.

Usage: ``python scripts/rdata_to_csv.py FILE.RData OUTDIR``.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import sys
from pathlib import Path

import numpy as np
import pandas as pd

NA_INTEGER = -(2**31)


class _Reader:
    """Reads one serialised R object tree (version 2 or 3, XDR)."""

    def __init__(self, raw: bytes) -> None:
        self.b, self.i, self.refs = raw, 0, []

    def int(self) -> int:
        (v,) = struct.unpack(">i", self.b[self.i : self.i + 4])
        self.i += 4
        return v

    def take(self, n: int) -> bytes:
        out = self.b[self.i : self.i + n]
        self.i += n
        return out

    def item(self):  # noqa: C901, PLR0911, PLR0912 - one branch per SEXP type
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, bool(flags & 512), bool(flags & 1024)
        if kind == 254:  # NILVALUE
            return None
        if kind in (242, 251, 253):  # EMPTYENV, BASEENV, GLOBALENV
            return None
        if kind == 255:  # REFSXP
            return self.refs[(flags >> 8) - 1]
        if kind == 1:  # SYMSXP
            sym = self.item()
            self.refs.append(sym)
            return sym
        if kind == 2:  # LISTSXP (pairlist)
            out = {}
            while kind == 2:
                attr = self.item() if has_attr else None
                tag = self.item() if has_tag else None
                out[tag] = self.item()
                del attr
                flags = self.int()
                kind, has_attr, has_tag = flags & 0xFF, bool(flags & 512), bool(flags & 1024)
            return out
        if kind == 9:  # CHARSXP
            n = self.int()
            return None if n == -1 else self.take(n).decode("utf-8")
        if kind in (10, 13):  # LGLSXP, INTSXP
            n = self.int()
            v = np.array(struct.unpack(f">{n}i", self.take(4 * n)), dtype=float)
            v[v == NA_INTEGER] = np.nan
            value = v
        elif kind == 14:  # REALSXP
            n = self.int()
            value = np.array(struct.unpack(f">{n}d", self.take(8 * n)))
        elif kind in (16, 19):  # STRSXP, VECSXP
            n = self.int()
            value = [self.item() for _ in range(n)]
        else:
            raise ValueError(f"R object type {kind} is not read by this script")
        attrs = self.item() if has_attr else {}
        return (value, attrs or {})


def read_rdata(path: Path) -> dict[str, pd.DataFrame]:
    """The data frames of an ``.RData`` file, by name."""
    raw = path.read_bytes()
    for unpack in (lzma.decompress, gzip.decompress, bz2.decompress):
        try:
            raw = unpack(raw)
            break
        except (lzma.LZMAError, OSError, ValueError):
            continue
    if raw[:5] not in (b"RDX2\n", b"RDX3\n") or raw[5:7] != b"X\n":
        raise ValueError(f"{path} is not an XDR RData file")
    r = _Reader(raw[7:])
    version = [r.int() for _ in range(3)][0]
    if version == 3:
        r.take(r.int())  # native encoding
    frames = {}
    for name, (cols, attrs) in r.item().items():
        levels = [a for a in (attrs.get("names"),)][0][0]
        data = {}
        for col, (values, col_attrs) in zip(levels, cols, strict=True):
            if "levels" in col_attrs:
                lab = col_attrs["levels"][0]
                values = [lab[int(k) - 1] if k == k else None for k in values]
            data[col] = values
        frames[name] = pd.DataFrame(data)
    return frames


if __name__ == "__main__":
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    for name, frame in read_rdata(src).items():
        frame.to_csv(out / f"{name}.csv", index=False, float_format="%.17g")
