"""``ingest``: raw files -> a data folder with its data-quality page (the public face).

:mod:`analysis.inputs.ingest` reads and checks the inputs and writes the folder;
:mod:`analysis.report.data_quality` words ``data_quality.md``, written inside the same
whole-or-nothing folder write. ``from analysis.ingest import ingest`` and
``python -m analysis ingest`` call :func:`ingest`. The names of
:mod:`analysis.inputs.ingest` that this module's old flat self held are re-exported.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

from analysis.errors import check_option
from analysis.inputs.ingest import (
    DATASET_FILE,
    FATES,
    REGISTRY_ALIASES,
    IngestReport,
    build_villages,
    console_notes,
    indeks_desa_facts,
    read_idm_workbook,
    read_inputs,
    read_tidy_welfare,
    registry_fates,
    write_folder,
)
from analysis.report.catalog import languages
from analysis.report.data_quality import (
    quality_markdown,
    write_quality_markdown,
)

#: Parameters of :func:`ingest` that are not :func:`~analysis.inputs.ingest.read_inputs`'s.
_NOT_READING = ("out", "force", "lang")


def ingest(
    *,
    idm: list[Path] = (),
    welfare: list[Path] = (),
    partnerships: Path | None = None,
    villages: Path | None = None,
    out: Path,
    code_system: str = "kemendagri",
    force: bool = False,
    today: dt.date | None = None,
    title: str | None = None,
    decimal: str = "auto",
    dates: str = "auto",
    encoding: str = "auto",
    layout: list[Path] = (),
    api: list[Path] = (),
    crosswalk: Path | None = None,
    indeks_desa: list[Path] = (),
    map_dir: Path | None = None,
    lang: str = "id",
    columns: Path | None = None,
    coordinates: Path | None = None,
) -> IngestReport:
    """Read, check and write the processed tables of one data folder.

    Parameters
    ----------
    idm
        IDM workbooks (any layout of ``src/analysis/data/idm_layouts.toml``, or read through a
        ``layout`` column map) or tidy welfare files; the kind is recognised from the headers.
    welfare, partnerships
        Tidy welfare files (columns as in ``data/README.md``); the partnership registry (CSV
        or XLSX, template in ``data/templates``).
    villages, columns, coordinates
        Village covariates (CSV or XLSX), a column map for its headers
        (:mod:`analysis.inputs.columns`), and desa points replacing the shipped ones.
    out
        Folder to create; an existing folder is replaced only if written by this package and
        ``force`` is set.
    code_system
        The covariates' code system: ``kemendagri``, or ``bps`` with a ``crosswalk``.
    decimal
        Decimal mark of numbers written as text: ``"auto"`` decides once per file from the
        cells that can be read only one way and refuses a file that mixes marks or leaves it
        open; ``"dot"`` or ``"comma"`` declares it for every file.
    dates
        Order of day and month in dates like ``05/08/2025``: ``"auto"`` decides per file from
        its evidence and refuses a file that leaves it open; ``"dmy"`` or ``"mdy"`` declares it.
    encoding
        CSV encoding: ``"auto"`` (UTF-8, else Windows-1252 when certain), ``"utf-8"``, ``"cp1252"``.
    layout, api
        Column maps (TOML) for IDM workbooks of unrecognised layout; folders (or files) of the
        Ministry's per-village JSON records (``open/api/desa/rumusan``).
    crosswalk, indeks_desa
        A BPS -> Kemendagri crosswalk for a ``villages`` file in BPS (Podes) codes; Indeks
        Desa (2025 onwards) files, a separate series never spliced onto IDM.
    map_dir
        Where ready-to-edit column maps are written (default: the folder that holds ``out``).
    lang
        Language of ``data_quality.md`` (a language with a catalog in
        ``analysis/report/locale``: ``id``, the default, or ``en``).

    Raises
    ------
    InputFileError
        Every problem found in every input, so one run shows all that needs fixing.
    OptionError
        ``lang`` has no catalog (the message lists the languages there are).
    """
    reading = {k: v for k, v in locals().items() if k not in _NOT_READING}  # the parameters
    check_option("lang", lang, languages())
    out = Path(out)
    reading["map_dir"] = Path(map_dir) if map_dir is not None else out.resolve().parent
    # problems keep their English text and their catalog keys: the command line words them in
    # --lang (analysis.report.messages.render)
    ingested = read_inputs(**reading)
    write_folder(out, ingested, force=force, pages=[partial(write_quality_markdown, lang=lang)])
    return ingested.report


__all__ = [
    "DATASET_FILE",
    "FATES",
    "REGISTRY_ALIASES",
    "IngestReport",
    "build_villages",
    "console_notes",
    "indeks_desa_facts",
    "ingest",
    "quality_markdown",
    "read_idm_workbook",
    "read_tidy_welfare",
    "registry_fates",
]
