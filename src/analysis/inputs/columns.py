"""Every column of a village covariates file gets a fate: used, mapped, or listed as ignored.

A header is *used* when it is a ``villages`` column's own name (case and spacing ignored),
*mapped* when it is one of the documented aliases (:data:`analysis.schema.VILLAGE_ALIASES`,
e.g. "Jumlah Penduduk" -> ``penduduk``) or named in a column map (``ingest --columns
map.toml``), and *ignored* otherwise; ignored headers are said on the console and on the
data-quality page. A file none of whose covariate columns is recognised is refused, and a
ready-to-edit column map is written next to the output whenever a header is not recognised.

The column map::

    [columns]                        # villages column = "header exactly as in the file"
    kode_desa = "Kode Desa"
    penduduk = "Jumlah Penduduk"
    luas_km2 = "Luas Wilayah (km2)"
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.errors import InputFileError, InputProblem, Phrase, Term, bounded
from analysis.inputs.reading import ROW, ColumnFates, closest, header_key, read_toml_map
from analysis.schema import VILLAGE_ALIASES, VILLAGES

#: Columns of ``villages`` that are not covariates (identity).
IDENTITY = ("kode_desa", "nama_desa", "jenis")


def read_villages_map(path: Path) -> dict[str, str]:
    """Read a covariates column map (``[columns]``: villages column = header).

    Raises
    ------
    InputFileError
        Missing or invalid TOML, an unknown section or column.
    """
    path = Path(path)
    raw = read_toml_map(path)
    names = [c.name for c in VILLAGES.columns]
    problems = [
        InputProblem(
            str(path),
            f"unknown section [{k}]",
            "use one section, [columns]",
            key="map_unknown_section_one",
            args={"section": k},
        )
        for k in raw
        if k != "columns"
    ]
    cols = {k: str(v) for k, v in raw.get("columns", {}).items() if str(v).strip()}
    problems += [
        InputProblem(
            str(path),
            f"unknown column '{k}' in [columns]",
            f"use: {', '.join(names)}",
            key="map_unknown_column",
            args={"name": k, "allowed": ", ".join(names)},
        )
        for k in cols
        if k not in names
    ]
    if problems:
        raise InputFileError(problems)
    return cols


def _recognise(headers: list[str], given: dict[str, str]) -> tuple[dict, dict, list[str]]:
    """Header -> column and how, from the map first, then names, then aliases."""
    names = {c.name for c in VILLAGES.columns}
    columns = {h: col for col, h in given.items()}
    how = dict.fromkeys(columns, "column map")
    twice = []
    for h in headers:
        if h in columns:
            continue
        key = header_key(h)
        col, kind = (key, "name") if key in names else (VILLAGE_ALIASES.get(key), "alias")
        if col is None:
            continue
        if col in columns.values():
            twice.append(h)
            continue
        columns[h], how[h] = col, kind
    return columns, how, twice


def covariate_columns(
    raw: pd.DataFrame, path: Path, column_map: Path | None = None, map_dir: Path | None = None
) -> tuple[pd.DataFrame, ColumnFates]:
    """A raw covariates table with the ``villages`` column names, and each header's fate.

    Parameters
    ----------
    raw
        Cells as :func:`analysis.inputs.reading.read_raw` gives them, with ``_row``.
    path
        The file, named in messages.
    column_map
        A column map (``ingest --columns``); its headers are read first.
    map_dir
        Where a ready-to-edit column map is written when headers are not recognised
        (``None``: none is written; none either when ``column_map`` was given: the headers it
        leaves out are the user's choice, still listed as ignored).

    Returns
    -------
    table, fates
        The recognised columns renamed (plus ``_row``); what became of every header.

    Raises
    ------
    InputFileError
        A header of the map is not in the file; two headers mean the same column; no village
        code column; or no covariate column recognised while others are not (the map to fill
        is named).
    """
    headers = [c for c in raw.columns if c != ROW]
    given = read_villages_map(column_map) if column_map is not None else {}
    problems = _map_problems(given, headers, path, column_map)
    columns, how, twice = _recognise(headers, {c: h for c, h in given.items() if h in headers})
    ignored = tuple(h for h in headers if h not in columns)
    written = None
    if ignored and map_dir is not None and column_map is None:
        written = str(write_villages_map(path, Path(map_dir), headers, columns))
    problems += _twice_problems(twice, columns, path) + _nothing_read(
        columns, ignored, path, written
    )
    if problems:
        raise InputFileError(problems)
    table = raw[[ROW, *columns]].rename(columns=columns)
    return table, ColumnFates(columns=columns, how=how, ignored=ignored, map_written=written)


def _map_problems(
    given: dict[str, str], headers: list[str], path: Path, column_map: Path | None
) -> list[InputProblem]:
    """Headers a column map names that the file does not have."""
    return [
        InputProblem(
            str(column_map),
            f"the header '{h}' of column '{col}' is not in {Path(path).name}",
            f"write a header exactly as in the file: {', '.join(headers[:30])}",
            key="map_header_not_in_file",
            args={
                "header": h,
                "column": col,
                "file": Path(path).name,
                "headers": ", ".join(headers[:30]),
            },
        )
        for col, h in given.items()
        if h not in headers
    ]


def _twice_problems(twice: list[str], columns: dict, path: Path) -> list[InputProblem]:
    """Headers that mean a column another header already gives: refused, never one dropped."""
    out = []
    for h in twice:
        col = header_key_of(h)
        first = next(k for k, v in columns.items() if v == col)
        out.append(
            InputProblem(
                str(path),
                f"the headers '{h}' and '{first}' both mean column '{col}'",
                "delete one of them, or say which to read with a column map (--columns)",
                column=h,
                key="columns_twice_map",
                args={"header": h, "first": first, "column": col},
            )
        )
    return out


def _nothing_read(
    columns: dict, ignored: tuple[str, ...], path: Path, written: str | None
) -> list[InputProblem]:
    """No village code column, or no covariate recognised while other headers are not."""
    fix = (
        f"fill in the column map written to {written} and run again with --columns {written}"
        if written
        else "write a column map (villages column = header) and pass it with --columns"
    )
    fix_words = (
        Phrase(key="fix.map_written", args={"written": written})
        if written
        else Term("fix.map_write")
    )
    if "kode_desa" not in columns.values():
        guess = closest("kode_desa", list(ignored))
        return [
            InputProblem(
                str(path),
                "required column 'kode_desa' is missing"
                + (f" (the header '{guess}' looks like it)" if guess else ""),
                f"rename column '{guess}' to 'kode_desa', or " + fix if guess else fix,
                column="kode_desa",
                key="villages_code_missing_like" if guess else "villages_code_missing",
                args={"guess": guess or "", "fix": fix_words},
            )
        ]
    if ignored and not [c for c in columns.values() if c not in IDENTITY]:
        return [
            InputProblem(
                str(path),
                "none of the covariate columns is recognised (headers not read: "
                + _bounded(ignored)
                + "); nothing of this file would reach the analysis",
                fix,
                key="no_covariate_recognised",
                args={"headers": [f"'{x}'" for x in ignored], "fix": fix_words},
            )
        ]
    return []


def header_key_of(header: str) -> str:
    """The ``villages`` column a header means by its name or alias (``""`` for none)."""
    key = header_key(header)
    if key in {c.name for c in VILLAGES.columns}:
        return key
    return VILLAGE_ALIASES.get(key, "")


def _bounded(items: tuple[str, ...] | list[str], first: int = 10) -> str:
    """The first items, quoted, then "and N more" (:func:`analysis.errors.bounded`)."""
    return bounded([f"'{x}'" for x in items], first)


def write_villages_map(path: Path, map_dir: Path, headers: list[str], columns: dict) -> Path:
    """Write a ready-to-edit covariates column map, never over an existing file.

    Every ``villages`` column gets a line: the header already recognised for it, or ``""``
    with the file's header that looks most like it in a comment (never filled in: units such
    as hectares must be checked first).
    """
    target = map_dir / f"columns-{re.sub(r'[^A-Za-z0-9_-]+', '-', Path(path).stem)}.toml"
    ignored = [h for h in headers if h not in columns]
    by_col = {v: h for h, v in columns.items()}
    lines = [
        f"# Column map for {Path(path).name}: write, for each column of the villages contract,",
        '# the header exactly as in the file (leave "" for none), then run ingest again with',
        f"#   --villages {path} --columns {target}",
        "# Headers of the file not recognised (ignored unless named below):",
        *(f"#   {h}" for h in ignored),
        "",
        "[columns]",
    ]
    for c in VILLAGES.columns:
        h = by_col.get(c.name, "")
        note = f"  # {'required' if c.required else 'optional'}: {c.meaning}"
        if not h and (g := closest(c.name, ignored)):
            note += f" Looks like: '{g}'?"
        lines.append(f"{c.name} = {_toml_str(h)}{note}")
    out, k = target, 2
    while out.exists():
        out = target.with_name(f"{target.stem}-{k}{target.suffix}")
        k += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = [
    "IDENTITY",
    "ColumnFates",
    "covariate_columns",
    "header_key",
    "header_key_of",
    "read_villages_map",
    "write_villages_map",
]
