"""Reading CSV/XLSX/Parquet files into raw tables (writing outputs is :mod:`analysis.files`).

Every raw table keeps ``_row``: the row number a spreadsheet shows (header = row 1), so any
message can point at the cell to fix.

Reading is locale-proof and bounded:

- CSV: UTF-8 (with or without BOM) or Windows-1252 (declared, or detected when the file is not
  UTF-8 and every byte is a Windows-1252 character); the separator (``,`` ``;`` tab ``|``) is
  decided from the header line; rows are read in chunks and rows with no value are dropped
  (their row numbers are kept), so a file of mostly empty rows does not fill memory.
- XLSX: openpyxl in read-only mode; only visible sheets are read (a hidden sheet never stands
  in for the visible one); formula cells without a stored value are refused; only non-empty
  rows are kept.
- Both: files over :data:`MAX_INPUT_BYTES` or with more than :data:`MAX_ROWS` non-empty rows
  are refused with their size.
- Workbooks are also refused by what they inflate to (a zip bomb is a few MiB on disk): the
  sum of the zip members' sizes (:data:`MAX_INFLATED_BYTES`), each sheet
  (:data:`MAX_SHEET_BYTES`) and the shared strings (:data:`MAX_STRINGS_BYTES`), read from the
  zip's directory before any XML is parsed. Each sheet's XML is streamed once for its last row
  and its formulas, and parsed once.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import re
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from analysis.errors import AndList, InputFileError, InputProblem, Phrase, Term, missing_path

ROW = "_row"
#: Largest input file read (bytes); bigger files are refused with their size.
MAX_INPUT_BYTES = 512 * 2**20
#: Most non-empty rows read from one file or sheet.
MAX_ROWS = 1_000_000
#: Largest sum of a workbook's members once inflated (bytes). A national IDM workbook (75,000
#: desa, a few dozen columns) inflates to about 100 MiB.
MAX_INFLATED_BYTES = 512 * 2**20
#: Largest inflated worksheet XML (bytes).
MAX_SHEET_BYTES = 256 * 2**20
#: Largest inflated shared-strings XML (bytes): every distinct text of the workbook.
MAX_STRINGS_BYTES = 128 * 2**20
Encoding = Literal["auto", "utf-8", "cp1252"]
#: Values accepted for a declared CSV encoding (``auto``: UTF-8, else Windows-1252 if certain).
ENCODING_CHOICES = ("auto", "utf-8", "cp1252")
_SEPARATORS = (",", ";", "\t", "|")
#: Bytes that Windows-1252 leaves undefined: a file holding one is not Windows-1252 text.
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def _fail(path: Path, message: str, fix: str, **kw) -> InputFileError:
    return InputFileError([InputProblem(str(path), message, fix, **kw)])


@dataclass
class ReadFacts:
    """How a file was read: reported in the data-quality report."""

    encoding: str | None = None
    separator: str | None = None
    sheet: str | None = None
    hidden_sheets: list[str] = field(default_factory=list)
    empty_rows_dropped: int = 0

    def to_dict(self) -> dict:
        """The facts that say something (empty ones left out), the separator named."""
        out = {k: v for k, v in self.__dict__.items() if v not in (None, [], 0)}
        if self.separator:
            out["separator"] = {"\t": "tab"}.get(self.separator, self.separator)
        return out


def check_size(path: Path) -> int:
    """The size of an input file, refusing one over :data:`MAX_INPUT_BYTES`."""
    size = path.stat().st_size
    if size > MAX_INPUT_BYTES:
        raise _fail(
            path,
            f"the file is {size / 2**20:,.0f} MiB, more than the {MAX_INPUT_BYTES / 2**20:,.0f} MiB "
            "this workspace reads (a registry or covariates table is a few MiB; a large size "
            "usually means formatted empty rows or columns)",
            "delete the empty rows and columns below and right of the table (or copy the table "
            "into a new file) and save again",
            key="file_too_large",
            args={"size": round(size / 2**20), "limit": round(MAX_INPUT_BYTES / 2**20)},
        )
    return size


#: Why a file that is not UTF-8 is not read as Windows-1252 either (``input.encoding.<code>``).
_NOT_CP1252 = {
    "mixed": "it mixes UTF-8 characters with other bytes",
    "not_cp1252": "it is not Windows-1252 either",
    "declared": "it was declared UTF-8",
}


def _not_utf8(path: Path, byte: int, at: int, why: str, cp1252_hint: bool) -> InputFileError:
    """The refusal of a file that is not UTF-8 text, with why it is not read as Windows-1252."""
    return _fail(
        path,
        f"the file is not UTF-8 text (byte {byte:#x} on line {at}) and {_NOT_CP1252[why]}",
        "save it as 'CSV UTF-8 (Comma delimited)' in Excel, or re-encode it to UTF-8"
        + ("; or declare --encoding cp1252" if cp1252_hint else ""),
        row=at,
        key="not_utf8_or_cp1252" if cp1252_hint else "not_utf8",
        args={"byte": f"{byte:#x}", "line": at, "why": Term(f"encoding.{why}")},
    )


def detect_encoding(path: Path, declared: str = "auto") -> tuple[str, str]:
    """The text encoding of a CSV file and how it was decided.

    UTF-8 (a BOM is fine) is read as such. A file that is not UTF-8 is read as Windows-1252
    (what Excel's plain "CSV (Comma delimited)" writes on an Indonesian or English Windows)
    when that is declared, or when it holds no UTF-8 multi-byte sequence at all and no byte
    that Windows-1252 leaves undefined; anything else is refused with the fix.

    Returns
    -------
    The codec name for :func:`open` (``utf-8-sig`` or ``cp1252``) and ``"declared"``,
    ``"utf-8"`` or ``"detected"``.
    """
    if declared not in ENCODING_CHOICES:
        raise _fail(
            path,
            f"unknown encoding {declared!r}",
            f"use one of: {', '.join(ENCODING_CHOICES)}",
            key="unknown_encoding",
            args={"value": repr(declared), "allowed": ", ".join(ENCODING_CHOICES)},
        )
    with open(path, "rb") as fh:
        start = fh.read(4)
    if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16", "detected"  # Excel's "Unicode Text" export, renamed .csv
    if declared == "cp1252":
        return "cp1252", "declared"
    dec = codecs.getincrementaldecoder("utf-8")()
    utf8_multibyte = False
    bad: tuple[int, int] | None = None  # (byte, line)
    undefined = False
    line = 1
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            if bad is None:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as e:
                    bad = (chunk[e.start], line + chunk[: e.start].count(b"\n"))
            if b"\x00" in chunk:
                line_at = line + chunk[: chunk.index(b"\x00")].count(b"\n")
                raise _fail(
                    path,
                    f"the file holds a NUL byte on line {line_at}: it is not a text table",
                    "export the table again as 'CSV UTF-8 (Comma delimited)'",
                    row=line_at,
                    key="nul_byte",
                    args={"line": line_at},
                )
            if any(b >= 0x80 for b in chunk):
                utf8_multibyte = utf8_multibyte or bool(
                    re.search(rb"[\xc2-\xf4][\x80-\xbf]+", chunk)
                )
                undefined = undefined or any(b in _CP1252_UNDEFINED for b in chunk)
            line += chunk.count(b"\n")
    if bad is None:
        try:
            dec.decode(b"", final=True)
            return "utf-8-sig", "utf-8"
        except UnicodeDecodeError:
            bad = (0, line)
    byte, at = bad
    if declared == "utf-8" or utf8_multibyte or undefined:
        why = "mixed" if utf8_multibyte else "not_cp1252" if undefined else "declared"
        raise _not_utf8(path, byte, at, why, cp1252_hint=not (declared == "utf-8" or undefined))
    return "cp1252", "detected"


def _separator(header: str, path: Path) -> str:
    counts = {}
    for sep in _SEPARATORS:
        try:
            counts[sep] = len(next(csv.reader([header], delimiter=sep))) - 1
        except (csv.Error, StopIteration):
            counts[sep] = 0
    best = max(counts.values())
    if best == 0:
        return ","
    winners = [s for s, n in counts.items() if n == best]
    if len(winners) > 1:
        raise _fail(
            path,
            "the header line separates its columns with both "
            + " and ".join(repr(s) for s in winners)
            + " equally often, so the separator cannot be told",
            "save the file again from Excel (CSV UTF-8) so one separator is used",
            row=1,
            key="two_separators",
            args={"separators": AndList(repr(s) for s in winners)},
        )
    return winners[0]


def read_csv_text(path: Path) -> str:
    """The text of a small CSV file, UTF-8 or Windows-1252 as :func:`detect_encoding` decides."""
    raw = Path(path).read_bytes()
    if not raw.strip():
        raise _fail(
            path,
            "the file is empty",
            "export the table again, with its header row",
            key="file_empty",
        )
    codec, _ = detect_encoding(Path(path))
    return raw.decode(codec)


def _drop_empty(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    cols = [c for c in df.columns if c != ROW]
    if not cols or len(df) == 0:
        return df, 0
    empty = pd.Series(True, index=df.index)
    for c in cols:
        v = df[c]
        empty &= v.isna() | (v.astype(str).str.strip() == "")
        if not empty.any():
            break
    return df[~empty], int(empty.sum())


def _too_many_rows(path: Path, where: str = "") -> InputFileError:
    return _fail(
        path,
        f"the {where or 'file'} has more than {MAX_ROWS:,} rows with values; this workspace "
        "reads tables up to that size",
        "split the file (one province or year per file) or remove rows that are not data",
        key="too_many_rows",
        args={
            "where": Phrase(
                key="where.sheet", args={"sheet": where.removeprefix("sheet '").removesuffix("'")}
            )
            if where
            else Term("what.file"),
            "n_rows": MAX_ROWS,
        },
    )


def read_csv(path: Path, encoding: str = "auto", facts: ReadFacts | None = None) -> pd.DataFrame:
    """Read a CSV as text cells with ``_row``, in chunks (bounded memory), empty rows dropped.

    Parameters
    ----------
    path
        The file.
    encoding
        ``auto`` (UTF-8, else Windows-1252 when certain), ``utf-8`` or ``cp1252``.
    facts
        Filled with the encoding, the separator and the empty rows dropped.

    Returns
    -------
    pandas.DataFrame
        One text column per header cell (duplicates made unique) and ``_row``.

    Raises
    ------
    InputFileError
        An empty file, no header, an unreadable encoding or separator, a row with more fields
        than the header, or more than ``MAX_ROWS`` rows.
    """
    path = Path(path)
    facts = facts if facts is not None else ReadFacts()
    check_size(path)
    codec, how = detect_encoding(path, encoding)
    facts.encoding = {"utf-8-sig": "utf-8"}.get(codec, codec) + (
        f" ({how})" if how != "utf-8" else ""
    )
    with open(path, encoding=codec, newline="") as fh:
        header = fh.readline()
        if not header.strip():
            raise _no_header(path, fh)
        sep = _separator(header.rstrip("\r\n"), path)
        facts.separator = sep
        cols = next(csv.reader([header.rstrip("\r\n")], delimiter=sep))
        fh.seek(0)
        parts = _read_chunks(fh, path, sep, cols, facts)
    if parts:
        df = pd.concat(parts) if len(parts) > 1 else parts[0]
    else:
        df = pd.DataFrame(columns=[*_unique_headers(tuple(cols)), ROW])
    return df.reset_index(drop=True)


def _no_header(path: Path, fh) -> InputFileError:
    """An empty file, or empty lines above the header."""
    if not fh.read(1 << 16).strip():
        return _fail(
            path,
            "the file is empty",
            "export the table again, with its header row",
            key="file_empty",
        )
    return _fail(
        path,
        "the first line is empty, so there is no header",
        "delete the empty lines above the header",
        row=1,
        key="first_line_empty",
    )


def _read_chunks(fh, path: Path, sep: str, cols: list[str], facts: ReadFacts) -> list[pd.DataFrame]:
    """The rows below the header, 100,000 at a time, empty rows dropped and counted."""
    parts = []
    kept = 0
    try:
        # header=None: the header line fixes the field count, so a row with an extra field
        # is an error instead of pandas silently taking its first field as an index
        reader = pd.read_csv(
            fh,
            sep=sep,
            dtype=str,
            header=None,
            keep_default_na=False,
            chunksize=100_000,
            engine="c",
            skip_blank_lines=False,
        )
        names = _unique_headers(tuple(cols))
        for chunk in reader:
            chunk[ROW] = chunk.index + 1
            chunk = chunk[chunk[ROW] > 1]
            chunk.columns = [*names, ROW]
            chunk, dropped = _drop_empty(chunk)
            facts.empty_rows_dropped += dropped
            kept += len(chunk)
            if kept > MAX_ROWS:
                raise _too_many_rows(path)
            if len(chunk):
                parts.append(chunk)
    except pd.errors.ParserError as e:
        raise _parser_error(e, path, sep) from None
    except pd.errors.EmptyDataError:
        raise _fail(
            path,
            "the file is empty",
            "export the table again, with its header row",
            key="file_empty",
        ) from None
    return parts


def _parser_error(e: pd.errors.ParserError, path: Path, sep: str) -> InputFileError:
    """What pandas could not parse, said with the line, the fields and the likely cause."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
    if not m:
        return _fail(
            path,
            f"the CSV cannot be parsed ({e})",
            "check separators and quotes",
            key="csv_unparsed",
            args={"detail": str(e)},
        )
    n, line, saw = m.groups()
    return _fail(
        path,
        f"line {line} has {saw} fields where the header has {n}"
        + (
            "; with ',' as separator a decimal comma (0,75) splits a number in two"
            if sep == ","
            else ""
        ),
        "save the file from Excel again (an Indonesian-locale Excel separates with ';'), "
        "or put quotes around values that contain the separator",
        row=int(line),
        key="csv_fields_comma" if sep == "," else "csv_fields",
        args={"line": line, "saw": saw, "n": int(n)},
    )


# ---- workbooks ----------------------------------------------------------------------------


def check_inflated(path: Path) -> int:
    """What a workbook inflates to, refusing a zip bomb before any of its XML is parsed.

    The members' sizes come from the zip's central directory (Python's zip reader never gives
    more bytes than a member declares, so the declared size bounds what a parser is fed).

    Raises
    ------
    InputFileError
        The sum of the members, a worksheet or the shared strings inflate beyond
        :data:`MAX_INFLATED_BYTES`, :data:`MAX_SHEET_BYTES` or :data:`MAX_STRINGS_BYTES`
        (size and limit named); a file that is not a zip is left to the workbook reader.
    """
    try:
        with zipfile.ZipFile(path) as z:
            members = [(i.filename, i.file_size) for i in z.infolist()]
    except (zipfile.BadZipFile, OSError):
        return 0
    mib = 2**20
    fix = (
        "a workbook this large once unpacked is not a registry or an IDM table: check that the "
        "right file was given; else save the table alone as a new .xlsx (or as CSV)"
    )
    for name, size in members:
        low = name.lower()
        if low.startswith("xl/worksheets/") and size > MAX_SHEET_BYTES:
            kind, limit = f"its sheet {name}", MAX_SHEET_BYTES
        elif low.endswith("sharedstrings.xml") and size > MAX_STRINGS_BYTES:
            kind, limit = f"its shared-strings part {name}", MAX_STRINGS_BYTES
        else:
            continue
        raise _fail(
            path,
            f"{kind} unpacks to {size / mib:,.0f} MiB, more than the {limit / mib:,.0f} MiB "
            "this workspace reads",
            fix,
            key="inflated_part",
            args={
                "part": Phrase(
                    key="part.sheet" if kind.startswith("its sheet") else "part.strings",
                    args={"name": name},
                ),
                "size": round(size / mib),
                "limit": round(limit / mib),
            },
        )
    total = sum(size for _, size in members)
    if total > MAX_INFLATED_BYTES:
        raise _fail(
            path,
            f"the workbook unpacks to {total / mib:,.0f} MiB, more than the "
            f"{MAX_INFLATED_BYTES / mib:,.0f} MiB this workspace reads",
            fix,
            key="inflated_workbook",
            args={"size": round(total / mib), "limit": round(MAX_INFLATED_BYTES / mib)},
        )
    return total


def _open_workbook(path: Path, data_only: bool = True):
    import openpyxl  # lazy: openpyxl takes 0.25 s to import; CSV and Parquet need none

    check_inflated(path)  # a zip bomb is refused before openpyxl parses anything
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except Exception as e:  # openpyxl raises several types for a broken workbook
        raise _fail(
            path,
            f"the workbook cannot be opened ({type(e).__name__}: {e})",
            "save it again as .xlsx from Excel or LibreOffice",
            key="workbook_unopened",
            args={"detail": f"{type(e).__name__}: {e}"},
        ) from None


#: Rows scanned for a sheet's header (and width).
_HEAD_ROWS = 20


def _blank_cell(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


@dataclass
class SheetRows:
    """The non-empty rows of one visible sheet, read in read-only mode.

    ``rows[i]`` is the cells of spreadsheet row ``numbers[i]`` (1-based).
    """

    name: str
    numbers: list[int]
    rows: list[tuple]

    def head(self, n: int = 12) -> list[tuple[int, tuple]]:
        """The first ``n`` rows as (row number, cells)."""
        return list(zip(self.numbers[:n], self.rows[:n], strict=True))


_VALUE_CELL = re.compile(
    rb'<(?:\w+:)?c\b[^>]*?\br="[A-Z]{1,3}(\d+)"[^>]*?(?<!/)>\s*<(?:\w+:)?(?:v|is|f)\b'
)
_ANY_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")


def _last_value_row(path: Path, member: str | None) -> int | None:
    """The last row of a sheet with a cell that holds something (see :func:`_scan_sheet`)."""
    return _scan_sheet(path, member)[0]


_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")


def _scan_sheet(path: Path, member: str | None) -> tuple[int | None, bool]:
    """A sheet's last row with a value, and whether it holds a formula: its XML streamed once.

    Formatted empty cells are written as ``<c r="A9" s="3"/>`` or ``<c r="A9" s="3"></c>``; a
    cell with a value, inline text or a formula holds ``<v>``, ``<is>`` or ``<f>``. Reading
    stops there, so a sheet formatted down to row 1,048,576 is not parsed cell by cell. The
    row is ``None`` (read everything) when the sheet's cells do not carry their references;
    without a member to stream, formulas are assumed (and looked for by the parser).
    """
    if not member:
        return None, True
    last, tail, unreferenced, formulas = 0, b"", False, False
    try:
        with zipfile.ZipFile(path) as z, z.open(member.lstrip("/")) as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                buf = tail + chunk
                for m in _VALUE_CELL.finditer(buf):
                    last = max(last, int(m.group(1)))
                if not unreferenced and _ANY_CELL.search(buf) and b' r="' not in buf:
                    unreferenced = True
                formulas = formulas or _FORMULA.search(buf) is not None
                tail = buf[-256:]
    except (KeyError, zipfile.BadZipFile, OSError):
        return None, True
    return (None if unreferenced or last == 0 else last), formulas


def _uncached_formulas(path: Path, sheet: str, numbers: list[int], rows: list[tuple]) -> list[str]:
    """Cells of ``sheet`` holding a formula whose value the file does not store."""
    from openpyxl.utils import get_column_letter  # lazy: see _open_workbook

    wanted = dict(zip(numbers, rows, strict=True))
    wb = _open_workbook(path, data_only=False)
    found = []
    try:
        for r, cells in enumerate(wb[sheet].iter_rows(values_only=True), start=1):
            for c, v in enumerate(cells, start=1):
                is_formula = (isinstance(v, str) and v.startswith("=")) or type(v).__name__ in (
                    "ArrayFormula",
                    "DataTableFormula",
                )
                if not is_formula:
                    continue
                have = wanted.get(r)
                if have is None or c > len(have) or have[c - 1] is None:
                    found.append(f"{get_column_letter(c)}{r}")
                    if len(found) >= 5:
                        return found
    finally:
        wb.close()
    return found


def _formula_columns(cells: list[str], rows: list[tuple]) -> list[tuple[str | None, str, list]]:
    """Formula cells grouped by column: (header or None, column letters, cells).

    The header is the column's cell in the widest text row among the first rows (the header
    row, whatever title rows stand above it).
    """
    from openpyxl.utils import column_index_from_string  # lazy: see _open_workbook

    head = max(
        rows[:15] or [()],
        key=lambda r: sum(isinstance(v, str) and bool(v.strip()) for v in r),
    )
    groups: dict[str, list[str]] = {}
    for cell in cells:
        letters = cell.rstrip("0123456789")
        groups.setdefault(letters, []).append(cell)
    out = []
    for letters, group in groups.items():
        i = column_index_from_string(letters) - 1
        name = head[i] if i < len(head) and isinstance(head[i], str) else None
        out.append((name.strip() if name and name.strip() else None, letters, group))
    return out


def _by_column(cells: list[str], rows: list[tuple]) -> list[str]:
    """Formula cells grouped by column, each named by its header: ``column 'IDM' (L5, L6)``."""
    return [
        (f"column '{name}'" if name else f"column {letters}") + f" (cells {', '.join(group)})"
        for name, letters, group in _formula_columns(cells, rows)
    ]


def _by_column_phrases(cells: list[str], rows: list[tuple]) -> AndList:
    """:func:`_by_column` as phrases the catalogs word (``input.formula_column[_letters]``)."""
    return AndList(
        Phrase(key="formula_column", args={"column": name, "cells": group})
        if name
        else Phrase(key="formula_column_letters", args={"column": letters, "cells": group})
        for name, letters, group in _formula_columns(cells, rows)
    )


def workbook_sheets(
    path: Path, facts: ReadFacts | None = None, max_rows: int = MAX_ROWS
) -> list[SheetRows]:
    """The visible sheets of a workbook, each as its non-empty rows (read-only, bounded).

    Hidden and very hidden sheets are never read (their names go to ``facts.hidden_sheets``).
    Formula cells without a stored value (a file written by a program that does not compute
    formulas) are refused: they would otherwise read as empty.

    Raises
    ------
    InputFileError
        Missing, empty, oversized or broken workbook; no visible sheet; uncomputed formulas.
    """
    path = Path(path)
    facts = facts if facts is not None else ReadFacts()
    if not path.exists():
        raise InputFileError([missing_path(path)])
    if check_size(path) == 0:
        raise _fail(path, "the file is empty", "export the workbook again", key="workbook_empty")
    wb = _open_workbook(path)
    out: list[SheetRows] = []
    with_formulas: list[str] = []  # sheets whose XML holds a formula (found by the one stream)
    try:
        for ws in wb.worksheets:
            if getattr(ws, "sheet_state", "visible") != "visible":
                facts.hidden_sheets.append(ws.title)
                continue
            if not hasattr(ws, "iter_rows"):
                continue  # a chart sheet
            # the table is as wide as its first rows: formatted empty columns to XFD are not read
            width = 0
            for cells in ws.iter_rows(max_row=_HEAD_ROWS, values_only=True):
                filled = [i for i, v in enumerate(cells) if not _blank_cell(v)]
                width = max(width, filled[-1] + 1 if filled else 0)
            last, formulas = _scan_sheet(path, getattr(ws, "_worksheet_path", None))
            numbers, rows = [], []
            for r, cells in enumerate(
                ws.iter_rows(values_only=True, max_col=max(width, 1), max_row=last), start=1
            ):
                if all(_blank_cell(v) for v in cells):
                    continue
                # trailing empty cells are dropped so formatted columns do not widen the table
                last = max(i for i, v in enumerate(cells) if not _blank_cell(v))
                numbers.append(r)
                rows.append(tuple(cells[: last + 1]))
                if len(rows) > max_rows:
                    raise _too_many_rows(path, f"sheet '{ws.title}'")
            out.append(SheetRows(ws.title, numbers, rows))
            if formulas:
                with_formulas.append(ws.title)
    finally:
        wb.close()
    if not out:
        raise _fail(
            path,
            "the workbook has no visible sheet"
            + (f" (hidden: {', '.join(facts.hidden_sheets)})" if facts.hidden_sheets else ""),
            "unhide the sheet that holds the table (right-click a sheet tab, Unhide) and save",
            key="no_visible_sheet_hidden" if facts.hidden_sheets else "no_visible_sheet",
            args={"hidden": ", ".join(facts.hidden_sheets)},
        )
    _refuse_uncached_formulas(path, [s for s in out if s.name in with_formulas])
    return out


def _refuse_uncached_formulas(path: Path, sheets: list[SheetRows]) -> None:
    """Formula cells without a stored value (they would read as empty), named by column."""
    for s in sheets:
        cells = _uncached_formulas(path, s.name, s.numbers, s.rows)
        if cells:
            raise _fail(
                path,
                f"sheet '{s.name}' has formula cells without a stored value in "
                + "; ".join(_by_column(cells, s.rows))
                + (" and perhaps more" if len(cells) >= 5 else "")
                + ": the file was written by a program that does not compute formulas, so "
                "these cells would read as empty",
                "open the workbook in Excel or LibreOffice and save it (that stores the "
                "computed values), or replace the formulas by their values",
                key="formula_without_cache_more" if len(cells) >= 5 else "formula_without_cache",
                args={"sheet": s.name, "cells": _by_column_phrases(cells, s.rows)},
            )


def _unique_headers(cells: tuple) -> list[str]:
    names, seen = [], {}
    for i, v in enumerate(cells):
        name = f"Unnamed: {i}" if _blank_cell(v) else str(v).strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def sheet_table(
    sheet: SheetRows,
    header_row: int | None = None,
    fill_down: tuple[str, ...] = (),
    header: tuple | None = None,
) -> pd.DataFrame:
    """The table of a sheet below its header row (default: the first non-empty row).

    Cells stay as read (numbers, dates, text); empty cells become ``""``. ``fill_down`` names
    columns whose empty cells take the value above (merged identity cells of the provincial
    workbooks); it is never used for scores. ``header`` gives the column names when they are
    not the header row's own cells (a two-row header with merged cells).
    """
    if not sheet.rows:
        return pd.DataFrame(columns=[ROW])
    idx = 0 if header_row is None else sheet.numbers.index(header_row)
    cols = _unique_headers(header if header is not None else sheet.rows[idx])
    body = [tuple(r[: len(cols)]) + ("",) * (len(cols) - len(r)) for r in sheet.rows[idx + 1 :]]
    df = pd.DataFrame(body, columns=cols, dtype=object)
    df = df.astype(object).where(df.notna(), "")
    df[ROW] = sheet.numbers[idx + 1 :]
    for c in fill_down:
        if c in df:
            col = df[c].replace("", None)
            df[c] = col.ffill().fillna("")
    df, _ = _drop_empty(df)
    return df.reset_index(drop=True)


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a frame; one cut short, empty or of another format is refused by name."""
    import pyarrow as pa  # lazy: as pandas' own Parquet reader loads it

    try:
        return pd.read_parquet(path)
    except (OSError, pa.ArrowException, ValueError) as e:
        raise _fail(
            path,
            f"not a readable Parquet file: it is cut short, empty or of another format ({e})",
            "write the folder again from the raw files ('python -m analysis ingest ... --force', "
            "or 'example-data --force' for the example)",
            key="parquet_unreadable",
            args={"detail": str(e)},
        ) from None


def _chosen_sheet(
    path: Path, sheets: list[SheetRows], sheet: str | None, prefer, facts: ReadFacts
) -> SheetRows:
    """The sheet named (refused when hidden or absent), else the one that best fits ``prefer``."""
    by_name = {s.name: s for s in sheets}
    if sheet is not None:
        if sheet in facts.hidden_sheets:
            raise _fail(
                path,
                f"sheet '{sheet}' is hidden; hidden sheets are never read",
                "unhide it in Excel if it is the table to read, and save",
                key="sheet_hidden",
                args={"sheet": sheet},
            )
        if sheet not in by_name:
            raise _fail(
                path,
                f"there is no sheet '{sheet}' (sheets: {', '.join(by_name)})",
                "name one of the sheets listed",
                key="no_such_sheet",
                args={"sheet": sheet, "sheets": ", ".join(by_name)},
            )
        chosen = by_name[sheet]
    else:
        wanted = {p.lower() for p in prefer}

        def score(s: SheetRows) -> int:
            head = s.rows[0] if s.rows else ()
            return sum(str(v).strip().lower() in wanted for v in head if v is not None)

        chosen = max(sheets, key=score) if wanted else sheets[0]
    return chosen


def read_raw(
    path: Path,
    sheet: str | None = None,
    *,
    prefer: list[str] | tuple[str, ...] = (),
    encoding: str = "auto",
    facts: ReadFacts | None = None,
) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet file as cells (no type guessing), with ``_row``.

    Parameters
    ----------
    path
        The file.
    sheet
        The workbook sheet to read; by default the only visible sheet, or among several the
        visible one whose header holds most of ``prefer``. Hidden sheets are never read.
    prefer
        Column names that identify the wanted sheet of a workbook.
    encoding
        CSV text encoding: ``auto`` (UTF-8, else Windows-1252 when certain), ``utf-8`` or
        ``cp1252``.
    facts
        Filled with how the file was read (encoding, separator, sheet, hidden sheets).

    Raises
    ------
    InputFileError
        Missing, empty, oversized or undecodable file, an unknown or hidden sheet, or a table
        with a header and no rows.
    """
    path = Path(path)
    facts = facts if facts is not None else ReadFacts()
    if not path.exists():
        raise InputFileError([missing_path(path)])
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df = read_csv(path, encoding, facts)
    elif suffix in (".xlsx", ".xlsm"):
        chosen = _chosen_sheet(path, workbook_sheets(path, facts), sheet, prefer, facts)
        facts.sheet = chosen.name
        df = sheet_table(chosen)
    elif suffix == ".parquet":
        check_size(path)
        df = _read_parquet(path)
        df[ROW] = range(2, len(df) + 2)
    else:
        raise _fail(
            path,
            f"unknown file type '{suffix}'",
            "give a .csv, .xlsx or .parquet file",
            key="unknown_file_type",
            args={"suffix": suffix},
        )
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise _fail(
            path,
            "the table has a header but no rows",
            "check that the right file and sheet were exported",
            key="no_rows",
        )
    return df.reset_index(drop=True)


def peek_headers(path: Path, encoding: str = "auto") -> list[str]:
    """The header cells of a file, read without loading the table.

    A CSV's first line, or the first non-empty row of each visible sheet of a workbook;
    ``[]`` when the file cannot be read.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            codec, _ = detect_encoding(path, encoding)
            with open(path, encoding=codec, newline="") as fh:
                line = fh.readline().rstrip("\r\n")
            return [c.strip() for c in next(csv.reader([line], delimiter=_separator(line, path)))]
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            wb = _open_workbook(path)
            out = []
            try:
                for ws in wb.worksheets:
                    if getattr(ws, "sheet_state", "visible") != "visible":
                        continue
                    for cells in ws.iter_rows(values_only=True, max_row=20):
                        if not all(_blank_cell(v) for v in cells):
                            out += [str(v).strip() for v in cells if not _blank_cell(v)]
                            break
            finally:
                wb.close()
            return out
    except (InputFileError, StopIteration, OSError):
        return []
    return []


def excel_sheets(path: Path) -> dict[str, pd.DataFrame]:
    """All visible sheets of a workbook as cells, each with ``_row`` (header = first row)."""
    return {s.name: sheet_table(s) for s in workbook_sheets(Path(path))}


def read_toml_map(path: Path) -> dict:
    """A column map file (TOML) as a dict, or a refusal naming the file and the fix.

    Both kinds of column map (an IDM workbook's, ``ingest --layout``; a covariates file's,
    ``ingest --columns``) are read through here; each checks its own sections afterwards.

    Raises
    ------
    InputFileError
        When the file does not exist or is not valid TOML (the parser's message names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError([missing_path(path, "column_map")])
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputFileError(
            [
                InputProblem(
                    str(path),
                    f"the column map is not valid TOML ({e})",
                    "fix the line named",
                    key="map_not_toml",
                    args={"detail": str(e)},
                )
            ]
        ) from None


def closest(name: str, candidates: list[str]) -> str | None:
    """The most similar candidate (case-insensitive), or None."""
    low = {c.lower(): c for c in candidates}
    hit = difflib.get_close_matches(name.lower(), list(low), n=1, cutoff=0.6)
    return low[hit[0]] if hit else None


def header_key(header: object) -> str:
    """A header as names and aliases are compared: lower case, runs of spaces and punctuation as ``_``.

    Examples
    --------
    >>> header_key("Luas Wilayah (km2)")
    'luas_wilayah_km2'
    """
    return re.sub(r"[^0-9a-z]+", "_", str(header).strip().lower()).strip("_")


@dataclass(frozen=True, kw_only=True)
class ColumnFates:
    """What became of each header of one input table: used, mapped, or ignored.

    Attributes
    ----------
    columns
        Header -> contract column, for every header read.
    how
        Header -> ``name`` (the column's own name), ``alias`` or ``column map``.
    ignored
        Headers not read, in file order.
    map_written
        The ready-to-edit column map written for the ignored headers, if any.
    """

    columns: dict[str, str]
    how: dict[str, str]
    ignored: tuple[str, ...]
    map_written: str | None = None

    def to_dict(self) -> dict:
        """The fates as ``data_quality.json`` records them (in the file's entry)."""
        out = {
            "columns_used": [h for h, k in self.how.items() if k == "name"],
            "columns_mapped": {h: self.columns[h] for h, k in self.how.items() if k != "name"},
            "columns_ignored": list(self.ignored),
        }
        if self.map_written:
            out["column_map_written"] = self.map_written
        return out


def contract_columns(
    df: pd.DataFrame,
    path: Path,
    wanted: list[str],
    required: list[str],
    aliases: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, ColumnFates]:
    """A raw table's headers mapped to a contract's names, and the fate of every header.

    A header is *used* when it is a contract column's own name (case, spacing and punctuation
    ignored: :func:`header_key`), *mapped* when it is one of ``aliases``, and *ignored*
    otherwise; the caller records the fates (``data_quality.json``, the console and the
    data-quality page list the ignored ones), so no column is dropped without a word.

    Parameters
    ----------
    df
        Cells with ``_row``.
    path
        The file, named in messages.
    wanted
        The contract's columns.
    required
        Those the file must have.
    aliases
        Other headers (as :func:`header_key` gives them) -> contract column.

    Returns
    -------
    table, fates
        The contract's columns the file has (plus ``_row``), and what became of each header.

    Raises
    ------
    InputFileError
        Naming each missing required column and the header that looks like it, and each pair
        of headers that mean the same column (one would otherwise be dropped unseen).
    """
    aliases = aliases or {}
    mapping: dict[str, str] = {}
    how: dict[str, str] = {}
    problems = []
    for col in df.columns:
        if col == ROW:
            continue
        key = header_key(col)
        canon, kind = (key, "name") if key in wanted else (aliases.get(key), "alias")
        if not canon:
            continue
        if canon in mapping.values():
            first = next(h for h, c in mapping.items() if c == canon)
            problems.append(_same_column(path, col, first, canon))
            continue
        mapping[col], how[col] = canon, kind
    problems += _missing_required(df, path, mapping, required)
    if problems:
        raise InputFileError(problems)
    ignored = tuple(c for c in df.columns if c != ROW and c not in mapping)
    out = df[[c for c in df.columns if c in mapping or c == ROW]].rename(columns=mapping)
    return out, ColumnFates(columns=mapping, how=how, ignored=ignored)


def _same_column(path: Path, header: str, first: str, column: str) -> InputProblem:
    """Two headers that mean one contract column: refused, never one of them dropped."""
    return InputProblem(
        str(path),
        f"the headers '{header}' and '{first}' both mean column '{column}'",
        "delete or rename one of them, so that one column is read as it",
        column=header,
        key="columns_twice",
        args={"header": header, "first": first, "column": column},
    )


def _missing_required(
    df: pd.DataFrame, path: Path, mapping: dict[str, str], required: list[str]
) -> list[InputProblem]:
    """Each required column the headers do not give, with the header that looks like it."""
    missing = [c for c in required if c not in mapping.values()]
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
            InputProblem(
                str(path),
                f"required column '{m}' is missing",
                fix,
                column=m,
                key="column_missing_like" if guess else "column_missing_add",
                args={"column": m, "guess": guess or ""},
            )
        )
    return problems


def rename_columns(
    df: pd.DataFrame,
    path: Path,
    wanted: list[str],
    required: list[str],
    aliases: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Map a raw table's headers to canonical names (case-insensitive, plus aliases).

    The table of :func:`contract_columns`, without the fates (kept for callers that record
    none; every reader of ``ingest`` records them).

    Raises
    ------
    InputFileError
        Naming each missing required column and the header that looks like it, and headers
        that mean the same column.
    """
    return contract_columns(df, path, wanted, required, aliases)[0]
