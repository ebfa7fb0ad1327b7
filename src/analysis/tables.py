"""Reading CSV/XLSX/Parquet files into raw tables, and writing outputs whole or not at all.

Every raw table keeps ``_row``: the row number a spreadsheet shows (header = row 1), so any
message can point at the cell to fix.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.errors import InputFileError, InputProblem, OutputExistsError

ROW = "_row"
#: File written into every output folder this package creates: it may replace such a folder.
OWNER_MARK = ".analysis-output"


def _fail(path: Path, message: str, fix: str, **kw) -> InputFileError:
    return InputFileError([InputProblem(str(path), message, fix, **kw)])


def read_csv_text(path: Path) -> str:
    """The text of a CSV file, insisting on UTF-8 (a BOM is fine)."""
    raw = path.read_bytes()
    if not raw.strip():
        raise _fail(path, "the file is empty", "export the table again, with its header row")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise _fail(
            path,
            f"the file is not UTF-8 text (byte {raw[e.start]:#x} on line {line})",
            "save it as 'CSV UTF-8 (Comma delimited)' in Excel, or re-encode it to UTF-8",
            row=line,
        ) from None


def read_raw(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet file as text cells (no type guessing), with ``_row``.

    Raises
    ------
    InputFileError
        Missing, empty or undecodable file, or an unknown sheet.
    """
    path = Path(path)
    if not path.exists():
        raise _fail(path, "the file does not exist", "check the path")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import io

        text = read_csv_text(path)
        try:
            df = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, sep=None, engine="python"
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise _fail(
                path, f"the CSV cannot be parsed ({e})", "check delimiters and quotes"
            ) from None
    elif suffix in (".xlsx", ".xlsm"):
        if path.stat().st_size == 0:
            raise _fail(path, "the file is empty", "export the workbook again")
        try:
            sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
        except Exception as e:  # openpyxl raises several types for a broken workbook
            raise _fail(
                path,
                f"the workbook cannot be opened ({type(e).__name__}: {e})",
                "save it again as .xlsx from Excel or LibreOffice",
            ) from None
        if sheet is not None:
            if sheet not in sheets:
                raise _fail(
                    path,
                    f"there is no sheet '{sheet}' (sheets: {', '.join(sheets)})",
                    "name one of the sheets listed",
                )
            df = sheets[sheet]
        else:
            df = next(iter(sheets.values()))
        df = df.astype(object).where(df.notna(), "")
    elif suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        raise _fail(path, f"unknown file type '{suffix}'", "give a .csv, .xlsx or .parquet file")
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise _fail(
            path,
            "the table has a header but no rows",
            "check that the right file and sheet were exported",
        )
    df = df.reset_index(drop=True)
    df[ROW] = range(2, len(df) + 2)
    return df


def excel_sheets(path: Path) -> dict[str, pd.DataFrame]:
    """All sheets of a workbook as text cells, each with ``_row``."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as e:
        raise _fail(
            path,
            f"the workbook cannot be opened ({type(e).__name__}: {e})",
            "save it again as .xlsx",
        ) from None
    out = {}
    for name, df in sheets.items():
        df = df.astype(object).where(df.notna(), "")
        df.columns = [str(c).strip() for c in df.columns]
        df = df.reset_index(drop=True)
        df[ROW] = range(2, len(df) + 2)
        out[name] = df
    return out


def closest(name: str, candidates: list[str]) -> str | None:
    """The most similar candidate (case-insensitive), or None."""
    low = {c.lower(): c for c in candidates}
    hit = difflib.get_close_matches(name.lower(), list(low), n=1, cutoff=0.6)
    return low[hit[0]] if hit else None


def rename_columns(
    df: pd.DataFrame,
    path: Path,
    wanted: list[str],
    required: list[str],
    aliases: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Map a raw table's headers to canonical names (case-insensitive, plus aliases).

    Raises
    ------
    InputFileError
        Naming each missing required column and the header that looks like it.
    """
    aliases = aliases or {}
    mapping: dict[str, str] = {}
    for col in df.columns:
        if col == ROW:
            continue
        key = col.strip().lower().replace(" ", "_")
        canon = key if key in wanted else aliases.get(key)
        if canon and canon not in mapping.values():
            mapping[col] = canon
    missing = [c for c in required if c not in mapping.values()]
    if missing:
        extra = [c for c in df.columns if c not in mapping and c != ROW]
        problems = []
        for m in missing:
            guess = closest(m, extra)
            fix = (
                f"rename column '{guess}' to '{m}'"
                if guess
                else f"add a column '{m}' (see data/README.md)"
            )
            problems.append(
                InputProblem(str(path), f"required column '{m}' is missing", fix, column=m)
            )
        raise InputFileError(problems)
    out = df.rename(columns=mapping)
    keep = [c for c in out.columns if c in wanted or c == ROW]
    return out[keep]


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
    return write_file_atomically(
        path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    )
