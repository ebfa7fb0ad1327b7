"""Benchmark: batch runs against a floor measured in the same run, where a district's time goes,
and the national run on both executors.

Floor = as many minimal notebooks as the province run executes (10 districts + the synthesis),
each only importing the libraries the report imports, executed by papermill and exported by the
same HTML exporter, with the same number of parallel workers (spawned processes, as the runner).
It is measured twice: with kernels started from scratch (the floor as first defined, what any
papermill batch pays) and with kernels forked from a template that has the libraries imported
(what the runner does by default), so the ratio is shown against both.

``--national`` adds the national run (every kabupaten/kota of the national example data,
generated into a temporary folder) on the embedded executor and on a Dask LocalCluster with the
same number of workers, each with its wall time and the peak memory of each worker's process
tree (worker, kernel template, kernels; proportional set size, sampled every second).

Usage: python scripts/bench_report.py [--jobs 2] [--national] [--skip-province]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from analysis import paths, timing
from analysis.batch.run import run
from analysis.inputs.frame import districts_of_province

IMPORTS = """import numpy, pandas, scipy, statsmodels.api, matplotlib.pyplot, seaborn, pyfixest
pyfixest.feols  # pyfixest imports lazily: touch it so the floor loads what the report loads
from analysis.report import brief, figures as plots, synthesis
from analysis import district, paths
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


def _floor_one(args: tuple[str, str, str, bool]) -> None:
    from analysis.batch.kernels import execute_notebook
    from analysis.report.export import notebook_to_html

    nb, code, out, preload = args
    execute_notebook(
        Path(nb),
        Path(f"{out}/{code}.ipynb"),
        {"district": code},
        paths.NOTEBOOKS_DIR,
        preload=preload,
    )
    notebook_to_html(Path(f"{out}/{code}.ipynb"), Path(f"{out}/{code}.html"), "id")


def floor(n: int, jobs: int, preload: bool) -> float:
    with tempfile.TemporaryDirectory() as d:
        nb = str(_minimal_notebook(Path(d) / "minimal.ipynb"))
        t0 = time.perf_counter()
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
        ) as pool:  # as the runner
            list(pool.map(_floor_one, [(nb, f"n{i}", d, preload) for i in range(n)]))
        return time.perf_counter() - t0


def breakdown(out: Path) -> dict[str, float]:
    """Median seconds per district by step, from the executed notebooks and the journal."""
    m = json.loads((out / "manifest.json").read_text())
    steps: dict[str, list[float]] = {}
    for code, r in m["districts"].items():
        if r["status"] != "ok":
            continue
        nb = nbformat.read(out / "districts" / code / "report.ipynb", as_version=4)
        cells = {}
        for c in nb.cells:
            if c.cell_type != "code":
                continue
            src = c.source
            key = (
                "imports"
                if "import" in src
                else "data"
                if "steps.prepare" in src
                else "figures"
                if "show_figures" in src
                else "estimation"
                if "steps." in src
                else "brief text, provenance, saving"
            )
            cells[key] = cells.get(key, 0.0) + float(c.metadata.papermill.get("duration") or 0)
        cells["kernel start and papermill"] = r["notebook_seconds"] - sum(cells.values())
        cells["export to HTML"] = r["seconds"] - r["notebook_seconds"]
        for k, v in cells.items():
            steps.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in steps.items()}


class PeakMemory:
    """Peak proportional set size of each child process tree of this process (sampled)."""

    def __init__(self, every: float = 1.0):
        import psutil

        self.me = psutil.Process()
        self.every, self.peak_tree, self.peak_total = every, 0, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _pss(self, p) -> int:
        try:
            return p.memory_full_info().pss
        except Exception:
            return 0

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            total = 0
            for child in self.me.children():
                try:
                    if "resource_tracker" in " ".join(child.cmdline()):
                        continue
                    tree = self._pss(child) + sum(
                        self._pss(g) for g in child.children(recursive=True)
                    )
                except Exception:
                    continue
                self.peak_tree = max(self.peak_tree, tree)
                total += tree
            self.peak_total = max(self.peak_total, total)

    def __enter__(self) -> PeakMemory:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def province(jobs: int, out: Path, preload: bool = True) -> tuple[float, int]:
    sel = districts_of_province("64")
    t0 = time.perf_counter()
    run(sel, paths.EXAMPLE_DIR, out, "id", jobs, progress=False, preload=preload)
    return time.perf_counter() - t0, len(sel)


def national(jobs: int, executor: str, folder: Path) -> str:
    from analysis.batch.run import select_districts
    from analysis.inputs.example_data import write_example

    data = folder / "nation"
    if not data.exists():
        write_example(data, province="all", seed=1)
    out = folder / f"run-{executor}"
    times_file = folder / f"step-times-{executor}.jsonl"
    os.environ[timing.ENV] = str(times_file)  # workers and kernels inherit it
    t0 = time.perf_counter()
    note = ""
    with PeakMemory() as mem:
        sel = select_districts(None, None, True, data)  # as `run --all` (it reads the data)
        try:
            run(sel, data, out, "id", jobs, progress=True, executor=executor)
        except Exception as e:  # report the time even if some district fails
            note = f" ({type(e).__name__}: {str(e)[:300]})"
    t = time.perf_counter() - t0
    del os.environ[timing.ENV]
    m = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else {}
    ok = sum(v["status"] == "ok" for v in m.get("districts", {}).values())
    steps = breakdown(out) if m else {}
    synth = (m.get("synthesis") or {}).get("seconds")
    lines = [
        f"national run, {executor} ({m.get('workers')} workers): {ok} of {len(sel)} districts in "
        f"{t / 60:.1f} min ({t:.0f} s); peak memory of one worker's process tree {mem.peak_tree / 2**20:.0f} MB, "
        f"of all workers together {mem.peak_total / 2**20:.0f} MB{note}",
        f"  before the first district (selection, data check, reading): "
        f"{t - m.get('seconds', t):.1f} s; synthesis of {ok} districts: {synth} s",
        "  a district's time, median seconds: "
        + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()),
        feature_cost(timing.read_times(times_file), t, m.get("workers") or jobs),
    ]
    return "\n".join(lines)


def feature_cost(times: list[dict], wall: float, workers: int) -> str:
    """What the spillover checks and the maps (issue 19) add to the run they were timed in.

    Each step's seconds are summed over the districts; spread over the workers they are the wall
    time the run would save without them (the districts run in parallel), so the share is that
    saving against the rest of the run: ``(sum / workers) / (wall - sum / workers)``.
    """
    by: dict[str, list[float]] = {}
    for r in times:
        by.setdefault(r["step"], []).append(r["seconds"])
    if not by:
        return "  spillover checks and maps: no step times recorded"
    total = sum(sum(v) for v in by.values())
    saved = total / workers
    parts = "; ".join(
        f"{k} {sum(v):.1f} s over {len(v)} calls (median {statistics.median(v):.3f} s)"
        for k, v in sorted(by.items())
    )
    return (
        f"  spillover checks and maps (timed inside this run): {parts}; together {total:.1f} s "
        f"of work, {saved:.1f} s of wall time over {workers} workers: "
        f"+{100 * saved / (wall - saved):.1f}% on the run without them"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--national", action="store_true")
    ap.add_argument("--skip-province", action="store_true")
    a = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    if not a.skip_province:
        floor(2, a.jobs, True)  # warm caches (imports, font cache) before any measurement
        with tempfile.TemporaryDirectory() as d:
            t_run, n = province(a.jobs, Path(d) / "run")
            steps = breakdown(Path(d) / "run")
            t_run_fresh, _ = province(a.jobs, Path(d) / "fresh", preload=False)
            steps_fresh = breakdown(Path(d) / "fresh")
        t_fresh = floor(n + 1, a.jobs, preload=False)
        t_fork = floor(n + 1, a.jobs, preload=True)
        print(
            f"province 64 run: {t_run:.1f} s ({t_run_fresh:.1f} s with --fresh-kernels); floor "
            f"({n + 1} minimal notebooks, same execution and export): {t_fresh:.1f} s with "
            f"kernels started from scratch (ratio {t_run / t_fresh:.2f}), {t_fork:.1f} s with "
            f"kernels forked from the template (ratio {t_run / t_fork:.2f})"
        )
        print("a district's time, median seconds (province run): forked kernel / fresh kernel")
        for k, v in steps.items():
            print(f"  {k:32s} {v:5.2f} / {steps_fresh.get(k, float('nan')):5.2f}")
    if a.national:
        with tempfile.TemporaryDirectory() as d:
            print(national(a.jobs, "embedded", Path(d)), flush=True)
            print(national(a.jobs, "dask", Path(d)), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
