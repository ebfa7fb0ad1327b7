"""Every path the workspace uses, anchored to the repository (never to the working directory).

Papermill runs notebooks from another directory, so no module or notebook builds a path from
``os.getcwd()``; they import from here.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parents[1]
DATA_DIR = ROOT / "data"
EXAMPLE_DIR = DATA_DIR / "example"
TEMPLATES_DIR = DATA_DIR / "templates"
NOTEBOOKS_DIR = ROOT / "notebooks"
OUTPUTS_DIR = ROOT / "outputs"
#: Rebuildable caches (the official frame as Parquet, test data); ignored by git.
CACHE_DIR = ROOT / ".cache"
#: Shared reference material beside the repository; optional (tests skip without it).
SHARED_DIR = Path(os.environ.get("ANALYSIS_SHARED_DIR", ROOT.parent / "shared"))
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
