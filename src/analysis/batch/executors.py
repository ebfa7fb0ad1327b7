"""Where districts run: local worker processes (``embedded``) or a Dask cluster (``dask``).

Both engines hand out ``concurrent.futures`` futures, so the runner has one loop for both:

- ``embedded`` (default): a process pool on this machine (spawned, not forked: forking a process
  that already runs Arrow/BLAS thread pools can deadlock). Nothing to install or start.
- ``dask``: Dask distributed through ``Client.get_executor()``. With a scheduler address
  (``--scheduler tcp://host:8786`` or ``DASK_SCHEDULER_ADDRESS``) the districts go to an
  existing cluster; without one a ``LocalCluster`` with ``jobs`` single-threaded worker
  processes is started for the run and closed after it. Workers send the executed notebook and
  the brief back as bytes and the client writes them, so workers need no shared filesystem
  (each task carries its district's slice of the data).

A worker that dies mid-district: Dask's scheduler moves the task to another worker and gives
up after ``distributed.scheduler.allowed-failures`` deaths (the runner's own ``LocalCluster``
sets it to 1: one retry; for a cluster started by hand, start the scheduler with
``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1``; the manifest records the value in force).
The embedded executor replaces a worker that died and retries its district once the same way.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Literal, get_args

from analysis.errors import ParameterError

ExecutorName = Literal["embedded", "dask"]
#: Supported executors (declared once).
EXECUTORS: tuple[str, ...] = get_args(ExecutorName)
#: Environment variable naming an existing Dask scheduler (as Dask itself reads it).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
#: Deaths of a worker running a task before the task fails (embedded and own LocalCluster).
WORKER_DEATH_RETRIES = 1
#: Dask settings of the runner's own LocalCluster: the retry count; a worker-saturation of 1,
#: so the scheduler hands a worker one district at a time and keeps the waiting ones (a worker
#: that dies is charged only with the district it ran: Dask counts a death against every task
#: assigned to the worker); and no statistical profiler, which samples every thread's stack
#: every 10 ms, of no use for a district (a notebook run by a kernel in a child process) and
#: CPU taken from it on a small machine. For a cluster started by hand, the same as
#: environment variables: ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1`` and
#: ``DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION=1.0`` (scheduler),
#: ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` (workers).
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": WORKER_DEATH_RETRIES,
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.worker.profile.enabled": False,
    # Dask's own health checks, sized for tasks of milliseconds, run in every worker and the
    # scheduler: an event-loop check every 20 ms, system and memory readings every 0.1-0.5 s.
    # A district takes seconds and its kernel (a child process) is invisible to them anyway.
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


class WorkerLostError(RuntimeError):
    """A worker process died while it ran a district (the district is retried once)."""


def check_executor(name: str) -> ExecutorName:
    """``name`` if it is a supported executor, else :class:`ParameterError` listing them."""
    if name not in EXECUTORS:
        raise ParameterError(
            f"unknown executor {name!r}; supported: {', '.join(EXECUTORS)} (--executor).",
            key="run.unknown_executor",
            value=repr(name),
            allowed=", ".join(EXECUTORS),
        )
    return name  # type: ignore[return-value]


class Embedded:
    """Local worker processes (``jobs`` of them), one single-process pool per slot.

    One pool per worker, not one shared pool: a worker that dies breaks only its own pool, so
    only the district it ran is charged with the death (a shared ``ProcessPoolExecutor`` fails
    every district in flight), and only that worker is replaced.
    """

    name = "embedded"
    scheduler = None
    worker_death_retries = WORKER_DEATH_RETRIES

    def __init__(self, jobs: int):
        self.workers = self.threads = max(1, int(jobs))
        #: districts handed out at once: one per worker (each pool runs one at a time)
        self.slots = self.workers
        self._pools = [self._new_pool() for _ in range(self.workers)]
        self._running: list[Future | None] = [None] * self.workers

    @staticmethod
    def _new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` on a free worker (the caller keeps at most ``threads`` in flight)."""
        for i, f in enumerate(self._running):
            if f is None or f.done():
                f = self._running[i] = self._pools[i].submit(fn, *args)
                return f
        raise RuntimeError("every worker is busy: wait for a district to finish first")

    @staticmethod
    def is_worker_death(exc: BaseException) -> bool:
        """Whether ``exc``, raised by a future, says its worker process died."""
        return isinstance(exc, BrokenProcessPool)

    def after_worker_death(self, future: Future) -> None:
        """Replace the worker that died running ``future``."""
        for i, f in enumerate(self._running):
            if f is future:
                self._pools[i].shutdown(wait=False, cancel_futures=True)
                self._pools[i], self._running[i] = self._new_pool(), None

    def resubmits_after_death(self) -> bool:
        """Whether the runner submits a district again after its worker died (here: yes)."""
        return True

    def close(self, cancel: bool = False) -> None:
        """Shut the workers down (``cancel``: drop the districts not started yet)."""
        for p in self._pools:
            p.shutdown(wait=not cancel, cancel_futures=cancel)


class Dask:
    """Dask distributed: an existing scheduler, or a LocalCluster started for the run."""

    name = "dask"

    def __init__(self, jobs: int, scheduler: str | None = None, connect_timeout: float = 30):
        try:  # lazy: Dask only for --executor dask (the embedded executor never imports it)
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise ParameterError(
                "--executor dask needs Dask distributed, which is not installed here: "
                "pip install 'analysis[dask]' (make setup installs it), or use --executor embedded.",
                key="run.no_dask",
            ) from None

        address = scheduler or os.environ.get(SCHEDULER_ENV) or None
        self.cluster = None
        if address:
            try:
                self.client = Client(address, timeout=connect_timeout)
            except OSError as e:
                raise ParameterError(
                    f"cannot reach the Dask scheduler at {address}: {e}. Start one with "
                    "'dask scheduler' (and workers with 'dask worker ADDRESS') or leave out "
                    f"--scheduler and {SCHEDULER_ENV} to run on a LocalCluster.",
                    key="run.scheduler_unreachable",
                    address=address,
                    detail=str(e),
                    env=SCHEDULER_ENV,
                ) from None
        else:
            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self.cluster = LocalCluster(
                    n_workers=max(1, int(jobs)),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            self.client = Client(self.cluster)
        self.client.wait_for_workers(1, timeout=max(connect_timeout, 60))
        self.scheduler = self.client.scheduler.address
        info = self.client.scheduler_info()
        self.workers = len(info["workers"])
        self.threads = sum(w.get("nthreads", 1) for w in info["workers"].values())
        #: districts handed out at once: one running and one waiting per thread, so a worker
        #: that finishes starts its next district without waiting for the client's round trip
        #: (the scheduler keeps the waiting ones: see LOCAL_CLUSTER_CONFIG)
        self.slots = 2 * self.threads
        self.worker_death_retries = self.client.run_on_scheduler(_allowed_failures)
        self._executor = self.client.get_executor(pure=False)

    def submit(self, fn, *args) -> Future:
        """Send ``fn(*args)`` to the cluster (the scheduler picks the worker)."""
        return self._executor.submit(fn, *args)

    @staticmethod
    def is_worker_death(exc: BaseException) -> bool:
        """Whether ``exc`` is Dask's ``KilledWorker`` (the task's workers died too often)."""
        return type(exc).__name__ == "KilledWorker"

    def after_worker_death(self, future: Future) -> None:
        """The scheduler already retried the task on another worker: nothing to restart."""

    def resubmits_after_death(self) -> bool:
        """Whether the runner submits a district again after its worker died (no: Dask does)."""
        return False

    def close(self, cancel: bool = False) -> None:
        """Close the client, and the LocalCluster when the run started one."""
        self._executor.shutdown(wait=False)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _allowed_failures(dask_scheduler=None) -> int:
    return int(getattr(dask_scheduler, "allowed_failures", -1))


def open_executor(name: str, jobs: int = 2, scheduler: str | None = None) -> Embedded | Dask:
    """Start the executor ``name`` (``embedded`` or ``dask``); close it with ``.close()``."""
    kind = check_executor(name)
    if scheduler and kind != "dask":
        raise ParameterError("--scheduler needs --executor dask.", key="run.scheduler_needs_dask")
    return Dask(jobs, scheduler) if kind == "dask" else Embedded(jobs)
