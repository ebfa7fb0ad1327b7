"""IDM workbook layouts as data: recognised by their headers, or read through a column map.

The known layouts and the header variants of each concept (village code, name, IKS, IKE, IKL,
IDM, status, update year) live in ``data/idm_layouts.toml``; a year-suffixed header
(``IKS_2019``, ``NILAI_IDM_2019``) is recognised for any year. A workbook whose headers are not
recognised fails with the headers found, the closest known layout and a ready-to-edit column
map (TOML) which, once filled in, reads it (``ingest --layout map.toml``)::

    [layout]
    sheet = "Sheet1"      # optional: the sheet to read
    header_row = 4        # spreadsheet row of the header
    year = 2019           # when neither headers, title rows nor file name give it

    [columns]             # concept = "header as written in the file"
    kode_desa = "KODE DESA"
    iks = "SKOR IKS"
    ...
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import InputFileError, InputProblem, Term
from analysis.inputs.reading import (
    ROW,
    ReadFacts,
    SheetRows,
    closest,
    read_csv,
    read_toml_map,
    sheet_table,
    workbook_sheets,
)

LAYOUTS_FILE = Path(__file__).parent / "idm_layouts.toml"
#: Concepts a column map may name, in the order of the welfare contract.
CONCEPTS = ("kode_desa", "nama_desa", "iks", "ike", "ikl", "nilai_idm", "status_idm", "keterangan")
#: IDM years (the index was replaced by the Indeks Desa in 2025).
IDM_YEARS = range(2015, 2025)
_YEAR = r"(?P<y>(?:19|20)\d{2})"
#: Headers that mark an Indeks Desa (2025+) file: never read as IDM. A header *cell* must begin
#: with one of them; a title row ("INDEKS DESA MEMBANGUN (IDM) TAHUN 2024") is not a header row
#: (see :func:`indeks_desa_header`).
INDEKS_DESA_MARKS = ("LAYANAN_DASAR", "TATA_KELOLA", "AKSESIBILITAS", "INDEKS_DESA", "SKOR_ID")
#: Beginnings that belong to the IDM, not to the Indeks Desa ("INDEKS DESA MEMBANGUN").
_IDM_NAMES = ("INDEKS_DESA_MEMBANGUN", "IDM")
_SCAN_ROWS = 15


def norm(header: object) -> str:
    """A header as the layouts compare it: upper case, runs of spaces/dots/hyphens as ``_``."""
    return re.sub(r"[\s.\-/()]+", "_", str(header).strip().upper()).strip("_")


@dataclass(frozen=True, kw_only=True)
class Layout:
    """One documented workbook layout."""

    name: str
    years: tuple[int, ...]
    verified: bool
    headers: tuple[str, ...]
    header_row: int = 1
    sheet: str | None = None
    fill_down: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class Registry:
    """The layouts file: concept header patterns and the documented layouts."""

    patterns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    layouts: tuple[Layout, ...]


@functools.cache
def load_layouts(path: Path = LAYOUTS_FILE) -> Registry:
    """The registry of known IDM layouts (``data/idm_layouts.toml``)."""
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    con = dict(raw["concepts"])
    required = tuple(con.pop("required"))
    layouts = tuple(
        Layout(
            name=lay["name"],
            years=tuple(lay["years"]),
            verified=bool(lay["verified"]),
            headers=tuple(lay["headers"]),
            header_row=int(lay.get("header_row", 1)),
            sheet=lay.get("sheet"),
            fill_down=tuple(lay.get("fill_down", ())),
            source=lay.get("source", ""),
        )
        for lay in raw["layout"]
    )
    return Registry(
        patterns={k: tuple(v) for k, v in con.items()}, required=required, layouts=layouts
    )


def match_concepts(headers: list[str]) -> dict[str, tuple[str, int | None]]:
    """Which header holds each concept (and the year its name carries, if any)."""
    reg = load_layouts()
    found: dict[str, tuple[str, int | None]] = {}
    used: set[str] = set()
    normed = [(h, norm(h)) for h in headers if h != ROW]
    for concept, pats in reg.patterns.items():
        for p in pats:
            rx = re.compile(norm(p).replace("{Y}", _YEAR))
            hit = next(
                ((h, m) for h, n in normed if h not in used and (m := rx.fullmatch(n))), None
            )
            if hit:
                h, m = hit
                y = int(m.group("y")) if "y" in m.groupdict() else None
                found[concept] = (h, y)
                used.add(h)
                break
    return found


@dataclass
class ColumnMap:
    """A user-written column map (``ingest --layout map.toml``)."""

    path: Path
    columns: dict[str, str]
    sheet: str | None = None
    header_row: int | None = None
    year: int | None = None
    used_by: list[str] = field(default_factory=list)


def read_column_map(path: Path) -> ColumnMap:
    """Read and check a column map file.

    Raises
    ------
    InputFileError
        Unreadable TOML, unknown sections or keys, missing required concepts, a bad year.
    """
    path = Path(path)
    raw = read_toml_map(path)
    problems = []
    for key in raw:
        if key not in ("layout", "columns"):
            problems.append(
                InputProblem(
                    str(path),
                    f"unknown section [{key}]",
                    "use [layout] and [columns]",
                    key="map_unknown_section",
                    args={"section": key},
                )
            )
    lay = raw.get("layout", {})
    for key in lay:
        if key not in ("sheet", "header_row", "year"):
            problems.append(
                InputProblem(
                    str(path),
                    f"unknown key '{key}' in [layout]",
                    "use sheet, header_row and year",
                    key="map_unknown_layout_key",
                    args={"name": key},
                )
            )
    cols = {k: str(v) for k, v in raw.get("columns", {}).items() if str(v).strip()}
    for key in cols:
        if key not in CONCEPTS:
            problems.append(
                InputProblem(
                    str(path),
                    f"unknown column '{key}' in [columns]",
                    f"use: {', '.join(CONCEPTS)}",
                    key="map_unknown_column",
                    args={"name": key, "allowed": ", ".join(CONCEPTS)},
                )
            )
    for req in load_layouts().required:
        if req not in cols:
            problems.append(
                InputProblem(
                    str(path),
                    f"[columns] does not name the header of '{req}'",
                    f'write {req} = "<header as in the file>"',
                    key="map_column_unnamed",
                    args={"name": req},
                )
            )
    problems += _layout_value_problems(path, lay)
    if problems:
        raise InputFileError(problems)
    return ColumnMap(path, cols, lay.get("sheet"), lay.get("header_row"), lay.get("year"))


def _layout_value_problems(path: Path, lay: dict) -> list[InputProblem]:
    """A ``[layout]`` year that is not an IDM year, a header row that is not a row number."""
    problems = []
    year = lay.get("year")
    if year is not None and (not isinstance(year, int) or year not in IDM_YEARS):
        problems.append(
            InputProblem(
                str(path),
                f"year {year!r} is not an IDM year",
                "write a year from 2015 to 2024",
                key="map_bad_year",
                args={"year": repr(year)},
            )
        )
    hr = lay.get("header_row")
    if hr is not None and (not isinstance(hr, int) or hr < 1):
        problems.append(
            InputProblem(
                str(path),
                f"header_row {hr!r} is not a row number",
                "write e.g. 1 or 4",
                key="map_bad_header_row",
                args={"row": repr(hr)},
            )
        )
    return problems


@dataclass
class Recognised:
    """Where an IDM table is in a file and what its columns mean."""

    sheet: SheetRows
    header_row: int
    columns: dict[str, str]  # concept -> header
    layout: str
    verified: bool
    year: int | None = None
    year_source: str | None = None
    fill_down: tuple[str, ...] = ()
    header: tuple | None = None


def _blank(v: object) -> bool:
    return v is None or not str(v).strip()


def _header_cells(sheet: SheetRows) -> list[tuple[int, tuple]]:
    """The first rows as header candidates.

    A row directly below another takes that row's text where its own cells are empty: a two-row
    header whose top cells are merged (``NO`` over two rows, ``NILAI`` over IKS, IKE and IKL)
    reads as one row of names.
    """
    out = []
    prev_n, prev = None, ()
    for n, row in sheet.head(_SCAN_ROWS):
        cells = tuple(row)
        if prev_n == n - 1 and (
            any(_blank(v) for v in cells[: len(prev)]) or len(prev) > len(cells)
        ):
            padded = cells + (None,) * (len(prev) - len(cells))
            cells = tuple(
                v if not _blank(v) or j >= len(prev) else prev[j] for j, v in enumerate(padded)
            )
        out.append((n, cells))
        prev_n, prev = n, tuple(row)
    return out


def _header_rows(sheet: SheetRows) -> list[tuple[int, list[str]]]:
    return [(n, [str(v).strip() for v in row if not _blank(v)]) for n, row in _header_cells(sheet)]


def _generic(headers: list[str]) -> set[str]:
    return {re.sub(r"(?:19|20)\d{2}", "{Y}", norm(h)) for h in headers}


def closest_layout(headers: list[str]) -> tuple[Layout, float]:
    """The documented layout sharing most headers with ``headers`` and the share it covers."""
    have = _generic(headers)
    best, share = None, -1.0
    for lay in load_layouts().layouts:
        want = {norm(h) for h in lay.headers}
        s = len(want & have) / len(want)
        if s > share:
            best, share = lay, s
    return best, share  # type: ignore[return-value]


def _named_layout(headers: list[str], header_row: int) -> Layout | None:
    have = _generic(headers)
    for lay in load_layouts().layouts:
        want = {norm(h) for h in lay.headers}
        if want <= have and lay.header_row == header_row:
            return lay
    return None


def _title_year(sheet: SheetRows, header_row: int) -> int | None:
    years = set()
    for n, row in sheet.head(_SCAN_ROWS):
        if n >= header_row:
            break
        for v in row:
            years |= {int(y) for y in re.findall(r"(?<!\d)(20[12]\d)(?!\d)", str(v or ""))}
    years &= set(IDM_YEARS)
    return years.pop() if len(years) == 1 else None


def _file_year(path: Path) -> int | None:
    years = {int(y) for y in re.findall(r"(?<!\d)(20[12]\d)(?!\d)", path.name)} & set(IDM_YEARS)
    return years.pop() if len(years) == 1 else None


def recognise(path: Path, sheets: list[SheetRows], maps: list[ColumnMap]) -> list[Recognised]:
    """The IDM tables of a file: through a column map that fits, else by their headers.

    Returns an empty list when no visible sheet holds a recognisable IDM header.
    """
    found: list[Recognised] = []
    for m in maps:
        for s in sheets:
            if m.sheet is not None and s.name != m.sheet:
                continue
            for n, cells in _header_rows(s):
                if m.header_row is not None and n != m.header_row:
                    continue
                if all(h in cells for h in m.columns.values()):
                    m.used_by.append(str(path))
                    return [Recognised(s, n, dict(m.columns), f"column map {m.path.name}", False)]
    for s in sheets:
        for n, cells in _header_rows(s):
            cols = match_concepts(cells)
            if not all(c in cols for c in ("iks", "ike", "ikl")):
                continue
            lay = _named_layout(cells, n)
            found.append(
                Recognised(
                    s,
                    n,
                    {k: v[0] for k, v in cols.items()},
                    lay.name if lay else "generic (headers recognised by name)",
                    bool(lay and lay.verified),
                    fill_down=lay.fill_down if lay else (),
                )
            )
            years = {v[1] for v in cols.values() if v[1] is not None}
            if years:
                found[-1].year = years.pop() if len(years) == 1 else -1
                found[-1].year_source = "headers"
            break
    return found


def write_map_template(
    path: Path, target: Path, sheets: list[SheetRows], year: int | None
) -> tuple[Path, str, str]:
    """Write a ready-to-edit column map for an unrecognised file next to ``target``.

    Never overwrites: ``target`` gets a numbered name when taken. Returns the path written, the
    headers found and the closest known layout (as text for the message).
    """
    best_sheet, best_row, best_cells = sheets[0], 1, []
    for s in sheets:
        for n, cells in _header_rows(s):
            if len(cells) > len(best_cells):
                best_sheet, best_row, best_cells = s, n, cells
    lay, share = closest_layout(best_cells)
    guesses = match_concepts(best_cells)
    lines = [
        f"# Column map for {path.name}: fill in the headers as written in the file, then run",
        f"#   python -m analysis ingest --idm {path} --layout {target} ...",
        f"# Headers found on row {best_row} of sheet '{best_sheet.name}':",
        *(f"#   {h}" for h in best_cells),
        f"# Closest known layout: {lay.name} ({share:.0%} of its headers found).",
        "",
        "[layout]",
        f'sheet = "{best_sheet.name}"',
        f"header_row = {best_row}",
        (
            f"year = {year}"
            if year
            else "# year = 2019  # needed: no year in the headers, title or file name"
        ),
        "",
        "[columns]",
    ]
    for concept in CONCEPTS:
        guess = guesses.get(concept, (None,))[0] or closest(concept, best_cells) or ""
        need = concept in load_layouts().required
        lines.append(f'{concept} = "{guess}"' + ("  # required" if need else "  # optional"))
    text = "\n".join(lines) + "\n"
    out, k = Path(target), 2
    while out.exists():
        out = target.with_name(f"{target.stem}-{k}{target.suffix}")
        k += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out, ", ".join(best_cells), f"{lay.name} ({share:.0%} of its headers found)"


def _near_misses(rec: Recognised, year: int, src: str) -> list[InputProblem]:
    """Headers that look like a concept the table lacks (``NILAI_IMD_2024``).

    They are refused, not ignored, so a misspelt published value is never silently replaced by a
    computed one.
    """
    cells = [c for n, row in _header_rows(rec.sheet) if n == rec.header_row for c in row]
    spare = {norm(c): c for c in cells if c not in rec.columns.values()}
    out = []
    for concept, pats in load_layouts().patterns.items():
        if concept in rec.columns:
            continue
        names = [norm(p).replace("{Y}", str(year)) for p in pats if len(norm(p)) > 4]
        for name in names:
            hit = difflib.get_close_matches(name, list(spare), n=1, cutoff=0.85)
            if hit:
                out.append(
                    InputProblem(
                        src,
                        f"IDM column {name} is missing; header '{spare[hit[0]]}' looks like it",
                        f"rename '{spare[hit[0]]}' to '{name}'",
                        column=name,
                        key="idm_column_like",
                        args={"name": name, "header": spare[hit[0]]},
                    )
                )
                break
    return out


def _sheets(path: Path, facts: ReadFacts) -> list[SheetRows]:
    if path.suffix.lower() == ".csv":
        df = read_csv(path, facts=facts)
        cols = [c for c in df.columns if c != ROW]
        rows = [tuple(cols)] + [tuple(r) for r in df[cols].itertuples(index=False, name=None)]
        return [SheetRows(path.name, [1, *df[ROW].tolist()], rows)]
    return workbook_sheets(path, facts)


def read_idm_file(
    path: Path, maps: list[ColumnMap] = (), map_dir: Path | None = None
) -> tuple[list[pd.DataFrame], dict]:
    """One IDM file (workbook or CSV) -> canonical welfare columns per table, and facts.

    Parameters
    ----------
    path
        The file.
    maps
        Column maps (``--layout``); one that fits the file takes precedence over recognition.
    map_dir
        Where a ready-to-edit map is written when the layout is not recognised (e.g. the
        ``--out`` folder's parent); ``None`` writes none.

    Raises
    ------
    InputFileError
        Unrecognised layout (with the headers found, the closest layout and the map written),
        an Indeks Desa file, mixed or missing years.
    """
    path = Path(path)
    facts = ReadFacts()
    sheets = _sheets(path, facts)
    heads = [c for s in sheets for _, cells in _header_rows(s) for c in cells]
    _refuse_indeks_desa(path, [r for s in sheets for r in _header_rows(s)])
    found = recognise(path, sheets, list(maps))
    if not found:
        raise _unrecognised(path, sheets, heads, map_dir)
    tables, infos = [], []
    problems = []
    for rec in found:
        src = f"{path} [sheet {rec.sheet.name}]"
        year, how = _table_year(rec, path, maps, src, problems)
        if year is None:
            continue
        problems += _near_misses(rec, year, src)
        rows, ignored = _idm_rows(rec, year)
        tables.append(rows)
        infos.append(
            {
                "sheet": rec.sheet.name,
                "header_row": rec.header_row,
                "year": year,
                "year_from": how,
                "layout": rec.layout,
                "layout_verified": rec.verified,
                "columns": rec.columns,
                "columns_ignored": ignored,
            }
        )
    if problems:
        raise InputFileError(problems)
    facts_d = facts.to_dict()
    facts_d.update(infos[0] if len(infos) == 1 else {"tables": infos})
    if len(infos) > 1:
        facts_d["layout"] = "; ".join(sorted({i["layout"] for i in infos}))
        facts_d["year"] = sorted({i["year"] for i in infos})
        facts_d["columns_ignored"] = [
            f"{i['sheet']}: {h}" for i in infos for h in i["columns_ignored"]
        ]
    return tables, facts_d


def indeks_desa_header(cells: list[str]) -> bool:
    """Whether one row's cells are an Indeks Desa header (decided by its concepts).

    A row is an Indeks Desa header when it is a header row (at least two non-empty cells), holds
    no IDM concepts (IKS, IKE and IKL) and one of its cells names an Indeks Desa concept
    (:data:`INDEKS_DESA_MARKS`: a dimension only the Indeks Desa has, or its total). A title
    cell such as "INDEKS DESA MEMBANGUN (IDM) TAHUN 2024" never decides it.
    """
    names = [norm(c) for c in cells if not _blank(c)]
    if len(names) < 2:
        return False
    if all(k in match_concepts(list(cells)) for k in ("iks", "ike", "ikl")):
        return False
    return any(n.startswith(INDEKS_DESA_MARKS) and not n.startswith(_IDM_NAMES) for n in names)


def _refuse_indeks_desa(path: Path, rows: list[tuple[int, list[str]]]) -> None:
    """An Indeks Desa file given as IDM is refused: the two indices are never spliced."""
    hit = next(((n, cells) for n, cells in rows if indeks_desa_header(cells)), None)
    if hit is not None:
        raise InputFileError(
            [
                InputProblem(
                    str(path),
                    "this is an Indeks Desa file (2025 onwards: 0-100 scores in six dimensions), "
                    f"not an IDM file: its header row {hit[0]} holds "
                    + ", ".join(hit[1][:12])
                    + "; the two indices are never spliced into one series",
                    "give it with --indeks-desa",
                    key="indeks_desa_as_idm",
                    args={"row": hit[0], "headers": ", ".join(hit[1][:12])},
                )
            ]
        )


def _unrecognised(
    path: Path, sheets: list[SheetRows], heads: list[str], map_dir: Path | None
) -> InputFileError:
    """The headers found, the closest layout, and a column map to fill in (under ``map_dir``)."""
    year = _file_year(path)
    where, written = "", ""
    if map_dir is not None:
        target = Path(map_dir) / f"layout-{re.sub(r'[^A-Za-z0-9_-]+', '-', path.stem)}.toml"
        written, headers, near = write_map_template(path, target, sheets, year)
        where = f"; a column map to fill in was written to {written}"
    else:
        _, headers, near = "", ", ".join(heads[:40]), closest_layout(heads)[0].name
    return InputFileError(
        [
            InputProblem(
                str(path),
                "the IDM layout is not recognised: no visible sheet "
                f"({', '.join(s.name for s in sheets)}) has IKS, IKE and IKL "
                f"headers in its first rows (headers found: {headers or 'none'}; closest known "
                f"layout: {near})",
                "fill in the column map and run again with --layout <map>" + where
                if where
                else "write a column map (see data/README.md) and pass it with --layout",
                key="layout_unrecognised_map" if where else "layout_unrecognised",
                args={
                    "sheets": ", ".join(s.name for s in sheets),
                    "headers": headers or Term("word.none"),
                    "near": near,
                    "written": str(written),
                },
            )
        ]
    )


def _table_year(
    rec: Recognised, path: Path, maps: list[ColumnMap], src: str, problems: list[InputProblem]
) -> tuple[int | None, str | None]:
    """The year of a table's values and where it was read.

    From the headers, the column map, the title rows or the file name; ``None`` (and a problem)
    when none or several tell it.
    """
    year, how = rec.year, rec.year_source
    if year == -1:
        problems.append(
            InputProblem(
                src,
                "the headers carry more than one year (" + ", ".join(rec.columns.values()) + ")",
                "keep one year per sheet",
                key="headers_several_years",
                args={"headers": ", ".join(rec.columns.values())},
            )
        )
        return None, None
    cmap = next((m for m in maps if rec.layout == f"column map {m.path.name}"), None)
    if year is None and cmap is not None and cmap.year is not None:
        year, how = cmap.year, "column map"
    if year is None and (y := _title_year(rec.sheet, rec.header_row)):
        year, how = y, "title rows"
    if year is None and (y := _file_year(path)):
        year, how = y, "file name"
    if year is None:
        problems.append(
            InputProblem(
                src,
                "the year of the values cannot be told: not in the headers (IKS_2019), the "
                "title rows or the file name",
                "put the year in the file name (idm-2019.xlsx) or write year = 2019 in a "
                "column map given with --layout",
                key="year_unknown",
            )
        )
    return year, how


def _idm_rows(rec: Recognised, year: int) -> tuple[pd.DataFrame, list[str]]:
    """A recognised table's rows in canonical welfare columns, and the headers not read.

    With the year the values were measured (``UPDATE``/``Keterangan``); other remarks are kept
    in ``catatan``. The headers not read are every column the layout does not name (region
    codes and names, row numbers, the user's own columns), a column without a header only
    when it holds a value: ``ingest`` lists them on the console and the data-quality page.
    """
    header = dict(_header_cells(rec.sheet)).get(rec.header_row)
    df = sheet_table(rec.sheet, rec.header_row, rec.fill_down, header)
    read = set(rec.columns.values())
    ignored = [
        c
        for c in df.columns
        if c != ROW
        and c not in read
        and not (c.startswith("Unnamed: ") and (df[c].astype(str).str.strip() == "").all())
    ]
    out = pd.DataFrame({ROW: df[ROW]})
    for concept, header in rec.columns.items():
        if concept != "keterangan" and header in df:
            out[concept] = df[header]
    out["tahun"] = year
    tahun_nilai = pd.Series(year, index=df.index, dtype="Int64")
    catatan = pd.Series(pd.NA, index=df.index, dtype="string")
    upd = rec.columns.get("keterangan")
    if upd is not None and upd in df:
        text = df[upd].astype(str).str.strip()
        yrs = text.str.extract(r"((?:19|20)\d{2})")[0]
        tahun_nilai = pd.to_numeric(yrs, errors="coerce").astype("Int64").fillna(year)
        other = text[(text != "") & yrs.isna()]
        catatan.loc[other.index] = ("keterangan: " + other).astype("string")
    out["tahun_nilai"] = tahun_nilai
    out["catatan"] = catatan
    return out, ignored


def layouts_markdown() -> str:
    """The documented layouts as a Markdown table (``data/README.md`` holds it; a test compares)."""
    out = [
        "| layout | years | header row | headers (`{Y}` = the year) | checked against a published file | source |",
        "|---|---|---|---|---|---|",
    ]
    for lay in load_layouts().layouts:
        years = f"{lay.years[0]}-{lay.years[-1]}" if len(lay.years) > 1 else str(lay.years[0])
        out.append(
            f"| {lay.name} | {years} | {lay.header_row} | {', '.join(lay.headers)} | "
            f"{'yes' if lay.verified else 'no (unverified)'} | {lay.source} |"
        )
    return "\n".join(out) + "\n"
