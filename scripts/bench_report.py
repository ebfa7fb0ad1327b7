"""Benchmark: the province run against a floor measured in the same run.

Floor = as many minimal notebooks as the province run executes (10 districts + the synthesis),
each only importing the same libraries, executed by papermill and exported by the same HTML
exporter, with the same number of parallel workers. The ratio of the two wall times is what the
README reports (target: within 1.5x). With --national, also times the national run (all
kabupaten/kota of the national example data; long).

Usage: python scripts/bench_report.py [--jobs 2] [--national]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from analysis import paths
from analysis.frame import districts_of_province
from analysis.run import run

IMPORTS = """import numpy, pandas, scipy, statsmodels.api, matplotlib.pyplot, seaborn, pyfixest
pyfixest.feols  # pyfixest imports lazily: touch it so the floor loads what the report loads
from analysis import brief, district, paths, plots, synthesis
%matplotlib inline"""


def _minimal_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    p = nbformat.v4.new_code_cell('district: str = "64.02"  # district')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(IMPORTS)]
    nbformat.write(nb, path)
    return path


def _floor_one(args: tuple[str, str, str]) -> None:
    import papermill

    from analysis.export import notebook_to_html

    nb, code, out = args
    papermill.execute_notebook(
        nb,
        f"{out}/{code}.ipynb",
        parameters={"district": code},
        cwd=str(paths.NOTEBOOKS_DIR),
        progress_bar=False,
        kernel_name="python3",
    )
    notebook_to_html(Path(f"{out}/{code}.ipynb"), Path(f"{out}/{code}.html"), "id")


def floor(n: int, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        nb = str(_minimal_notebook(Path(d) / "minimal.ipynb"))
        t0 = time.perf_counter()
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
        ) as pool:  # as the runner
            list(pool.map(_floor_one, [(nb, f"n{i}", d) for i in range(n)]))
        return time.perf_counter() - t0


def province(jobs: int) -> tuple[float, int]:
    sel = districts_of_province("64")
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        run(sel, paths.EXAMPLE_DIR, Path(d) / "run", "id", jobs, progress=False)
        return time.perf_counter() - t0, len(sel)


def national(jobs: int) -> tuple[float, int]:
    from analysis.example_data import write_example
    from analysis.run import select_districts

    with tempfile.TemporaryDirectory() as d:
        write_example(Path(d) / "nation", province="all", seed=1)
        sel = select_districts(None, None, True, Path(d) / "nation")
        t0 = time.perf_counter()
        try:
            run(sel, Path(d) / "nation", Path(d) / "run", "id", jobs, progress=True)
        except Exception as e:  # report the time even if some district fails
            print(f"national run: {e}")
        return time.perf_counter() - t0, len(sel)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--national", action="store_true")
    a = ap.parse_args()
    floor(2, a.jobs)  # warm caches (imports, font cache) before either measurement
    t_run, n = province(a.jobs)
    t_floor = floor(n + 1, a.jobs)
    print(
        f"province 64 run: {t_run:.1f} s; floor ({n + 1} minimal notebooks, same execution and export): {t_floor:.1f} s; "
        f"ratio {t_run / t_floor:.2f}"
    )
    if a.national:
        t_nat, k = national(a.jobs)
        print(f"national run: {k} districts in {t_nat / 60:.1f} min")


if __name__ == "__main__":
    main()
