"""Every path the workspace uses, from one place (never from the working directory at random).

Papermill runs notebooks from another directory, so no module or notebook builds a path from
``os.getcwd()``; they import from here.

Two ways the package runs, told apart by :data:`IN_CHECKOUT`:

- **From a checkout** (the repository, or ``pip install -e .``): the notebooks, the example data
  and the templates are the repository's own (``notebooks/``, ``data/``); outputs go to
  ``outputs/`` and caches to ``.cache/`` beside them.
- **Installed** (``pip install .``, a wheel): the same files ship inside the package under
  ``analysis/_shipped/`` (laid out as in the repository, so ``data/real/...`` names the same
  file) and are found with :mod:`importlib.resources`. Nothing is ever written there: outputs go
  to ``outputs/`` in the working directory and caches to the user's cache folder
  (``$XDG_CACHE_HOME/analysis``, by default ``~/.cache/analysis``; ``ANALYSIS_CACHE_DIR``
  overrides).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parents[1]
#: Running from a repository checkout (or an editable install of one), not an installed wheel.
IN_CHECKOUT = (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "notebooks").is_dir()
#: Where the shipped files sit in an installed package (the build copies them there).
SHIPPED_DIR = Path(str(resources.files("analysis") / "_shipped"))
#: Root of the notebooks and data the workspace ships: the checkout, or the installed copy.
ROOT = _CHECKOUT if IN_CHECKOUT else SHIPPED_DIR
DATA_DIR = ROOT / "data"
EXAMPLE_DIR = DATA_DIR / "example"
TEMPLATES_DIR = DATA_DIR / "templates"
REAL_DIR = DATA_DIR / "real"
NOTEBOOKS_DIR = ROOT / "notebooks"
#: Default parent of run folders (``outputs/<province>-<lang>``).
OUTPUTS_DIR = _CHECKOUT / "outputs" if IN_CHECKOUT else Path.cwd() / "outputs"
#: Rebuildable caches (the official frame as Parquet, test data); ignored by git, never inside
#: an installed package.
CACHE_DIR = Path(
    os.environ.get("ANALYSIS_CACHE_DIR")
    or (
        _CHECKOUT / ".cache"
        if IN_CHECKOUT
        else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "analysis"
    )
)
#: Shared reference material beside the repository; optional (tests skip without it).
SHARED_DIR = Path(os.environ.get("ANALYSIS_SHARED_DIR", _CHECKOUT.parent / "shared"))
SHARED_IDM_CSV = SHARED_DIR / "data" / "idm_kaltim_2023_2024.csv"

DISTRICT_NOTEBOOK = NOTEBOOKS_DIR / "district_report.ipynb"
SYNTHESIS_NOTEBOOK = NOTEBOOKS_DIR / "synthesis.ipynb"
EXPLORE_NOTEBOOK = NOTEBOOKS_DIR / "explore.ipynb"

#: Names of the processed tables inside a data folder.
VILLAGES_FILE = "villages.parquet"
WELFARE_FILE = "welfare.parquet"
PARTNERSHIPS_FILE = "partnerships.parquet"
QUALITY_JSON = "data_quality.json"
QUALITY_MD = "data_quality.md"


def input_path(value: str | os.PathLike) -> Path:
    """Where an input path the user gave points: a relative path is taken from the working directory.

    The working directory is where the command was typed (or the notebook's kernel runs), never
    the repository or the installed package, so ``--agreements mine.csv`` or ``agreements:
    mine.csv`` in a ``--params`` file reads ``./mine.csv``. One exception keeps the notebooks'
    defaults working from any folder: a relative name under ``data/`` that is not in the
    working directory but is a file the package ships (``data/real/kukar_mou_2025.csv``) is the
    package's copy.

    Parameters
    ----------
    value
        The path as given (``~`` is expanded).

    Returns
    -------
    pathlib.Path
        An absolute path (it may not exist: callers name it when it does not).

    Examples
    --------
    >>> input_path("/tmp/x.csv").as_posix()
    '/tmp/x.csv'
    """
    p = Path(os.path.expanduser(str(value).strip()))
    if p.is_absolute():
        return p
    here = Path(os.path.abspath(p))
    if here.exists():
        return here
    shipped = ROOT / p
    if p.parts[:1] == ("data",) and ".." not in p.parts and shipped.is_file():
        return shipped
    return here


def input_paths(value: str | None) -> list[Path]:
    """Comma-separated input paths (a notebook parameter such as ``agreements``), each resolved.

    See :func:`input_path`; empty parts are skipped, so ``""`` gives ``[]``.
    """
    return [input_path(x) for x in str(value or "").split(",") if x.strip()]
