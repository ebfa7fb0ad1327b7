"""Seconds spent in named steps of a run, recorded only when a benchmark asks for them.

``scripts/bench_report.py --national`` sets :data:`ENV` to a file before the run starts; every
worker and kernel inherits it, and each :func:`timed` block appends one JSON line (step,
district, wall and CPU seconds) to that file. Without the variable nothing is written and the
run's outputs are the same bytes as ever, so the cost of a feature (the spillover checks and the
map of issue 19) is measured inside the very run whose wall time it is compared with.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Environment variable naming the file the step times are appended to (unset: none written).
ENV = "ANALYSIS_STEP_TIMES"


@contextmanager
def timed(step: str, district: str = "") -> Iterator[None]:
    """Append the wall and CPU seconds of the block to the file named by :data:`ENV`, if set.

    Parameters
    ----------
    step
        The step's name (``"spillover"``, ``"map"``).
    district
        The district code, to tell the lines apart.
    """
    path = os.environ.get(ENV)
    if not path:
        yield
        return
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        line = {
            "step": step,
            "district": district,
            "seconds": round(time.perf_counter() - t0, 6),
            "cpu_seconds": round(time.process_time() - c0, 6),
        }
        # one short line per write, opened in append mode: lines of parallel kernels interleave
        # whole (POSIX appends of a few hundred bytes are not split)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


def read_times(path: str | os.PathLike) -> list[dict]:
    """The lines :func:`timed` wrote to ``path`` (none if the file does not exist)."""
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(s) for s in f if s.strip()]
    except FileNotFoundError:
        return []
