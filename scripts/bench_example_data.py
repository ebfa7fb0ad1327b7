"""Benchmark: national example generation (about 75,000 desa x 7 years): wall time and peak memory.

Run with `make bench`; the figures go into the README and data/example/README.md.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from analysis.inputs.example_data import simulate, write_example


def main() -> None:
    t0 = time.perf_counter()
    sim = simulate("64", 1)
    t_prov = time.perf_counter() - t0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        info = write_example(Path(d) / "nation", province="all", seed=1)
    t_nat = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"example-data province 64: {len(sim.welfare):,} desa-years in {t_prov:.2f} s")
    print(
        f"example-data nation: {info}; wall {t_nat:.1f} s; peak RSS of this process {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
