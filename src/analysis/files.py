"""Writing outputs: whole or not at all, readable by colleagues, safe to open in a spreadsheet.

Every output of the workspace (processed tables, briefs, run folders, ``results.csv``) is written
through here: a file via a temporary sibling and ``os.replace``, a folder built beside its target
and moved into place, an existing folder replaced only when this workspace wrote it
(:data:`OWNER_MARK`). Text cells that a spreadsheet would run as formulas are made inert.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.errors import OutputExistsError

#: File written into every output folder this package creates: it may replace such a folder.
OWNER_MARK = ".analysis-output"

#: First characters that make a spreadsheet program run a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(v: object) -> object:
    """Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``), made inert.

    A leading apostrophe makes Excel and LibreOffice show the text as typed (OWASP's advice on
    CSV injection). Numbers and other values are returned unchanged.
    """
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are safe to open in a spreadsheet (:func:`neutralise_cell`)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(neutralise_cell)
    return out


def _umask() -> int:
    """The process umask (read without changing it for longer than the call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def shareable(path: Path, directory: bool = False) -> Path:
    """Give a file 0666 or a folder 0777 less the umask (usually 0644 / 0755).

    ``tempfile.mkstemp`` and ``mkdtemp`` create private entries (0600 / 0700) whatever the
    umask; outputs moved into place from them must be readable by colleagues and web servers
    like any file the user writes.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())
    return Path(path)


def write_dir_atomically(out: Path, write: Callable[[Path], None], force: bool = False) -> Path:
    """Build a folder completely in a temporary sibling, then move it into place.

    ``write(tmp)`` fills the temporary folder. If it raises, nothing at ``out`` changes. An
    existing ``out`` is replaced only if this package created it (it holds ``OWNER_MARK``) and
    ``force`` is true; a folder of the user's is never overwritten.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (out / OWNER_MARK).exists():
            raise OutputExistsError(
                f"{out} already holds files that this workspace did not write; "
                "choose an empty or new folder with --out."
            )
        if not force:
            raise OutputExistsError(
                f"{out} already holds an earlier output; pass --force to replace it "
                "or choose another folder with --out."
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = shareable(Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent)), True)
    try:
        write(tmp)
        (tmp / OWNER_MARK).write_text("written by the analysis package; safe to replace\n")
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_file_atomically(path: Path, data: bytes | str) -> Path:
    """Write one file via a temporary sibling and ``os.replace`` (whole or not at all)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        shareable(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, obj: object) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, whole or not at all (see :func:`write_file_atomically`).

    Values JSON cannot hold (dates, paths) are written as their text.
    """
    return write_file_atomically(
        path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    )
