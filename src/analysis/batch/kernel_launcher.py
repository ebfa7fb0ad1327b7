"""Start an IPython kernel under a memory cap: ``python -m analysis.batch.kernel_launcher -f CONN``.

The runner starts report kernels through this module instead of ``ipykernel_launcher``. When
``ANALYSIS_KERNEL_MEM_MB`` is set, the kernel's address space is capped with
``resource.setrlimit(RLIMIT_AS)`` before anything is imported: a district that outgrows the cap
fails with a ``MemoryError`` (or a dead kernel, which the runner reports as such) instead of
taking the worker or the machine down. A Dask worker's memory limit cannot see a kernel, which
is a separate child process, so the cap is set here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MEM_ENV = "ANALYSIS_KERNEL_MEM_MB"
#: Environment of every report kernel (and of the template the kernels are forked from):
#: Python's string hashing with a fixed seed, so that set and dict orders inside libraries are
#: the same in every run (pyfixest's standard errors moved in the 8th significant digit from
#: one process to the next without it).
REPRODUCIBLE_ENV = {"PYTHONHASHSEED": "0"}


def apply_memory_cap(env: dict | None = None) -> int:
    """Cap this process's address space at ``ANALYSIS_KERNEL_MEM_MB`` MiB; returns the cap (0: none)."""
    value = (env if env is not None else os.environ).get(MEM_ENV, "")
    mb = int(value) if value.strip().isdigit() else 0
    if mb > 0:
        import resource  # lazy: POSIX only, and only a cap needs it

        limit = mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return mb


def main() -> None:
    """Start the kernel as ``ipykernel_launcher`` does, under the memory cap."""
    apply_memory_cap()
    # as ipykernel_launcher: keep the working directory off sys.path while importing
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    from ipykernel import kernelapp  # lazy: imported under the cap, without the cwd on sys.path

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
