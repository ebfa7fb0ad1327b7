"""Notebook kernels for batch runs: no port races, a memory cap, start retried, deaths named.

Two hazards of running many papermill kernels side by side, on one machine or on a cluster:

- **Port races.** jupyter_client picks free TCP ports by binding and releasing them, so kernels
  started at the same moment can pick the same port (``ZMQError: Address already in use``, a
  long-standing jupyter_client issue). Report kernels here talk over IPC (Unix sockets in the
  kernel's own runtime files), so there are no ports to race for, and a kernel that still fails
  to start is started again (up to :data:`START_ATTEMPTS` times).
- **Memory.** A kernel is a child process of the worker, invisible to a Dask worker's memory
  limit. Each kernel is started through :mod:`analysis.batch.kernel_launcher`, which caps its address
  space (``mem_mb``); a kernel that dies while a cell runs is reported as a dead kernel, with
  the cap, not as an opaque error.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from queue import Empty

from analysis.batch.forkserver import ForkedKernel, ForkServer
from analysis.batch.kernel_launcher import MEM_ENV, REPRODUCIBLE_ENV

#: Default cap on each kernel's address space, MiB (``--kernel-memory``; 0 means no cap). A
#: district kernel on the national example peaks at about 2.9 GB of address space (0.5 GB resident).
KERNEL_MEMORY_MB = 6144
#: Fork report kernels from a template with the libraries imported (where ``fork`` exists).
PRELOAD_DEFAULT = hasattr(os, "fork")
#: How many times a kernel is started before the district is given up (start failures only).
START_ATTEMPTS = 3


#: papermill engine of the report notebooks (see :func:`_register_engine`).
ENGINE = "analysis-report"


class KernelStartError(RuntimeError):
    """The kernel could not be started (after :data:`START_ATTEMPTS` attempts)."""


class DeadKernelError(RuntimeError):
    """The kernel died while the notebook ran (out of memory under the cap, or killed)."""


def kernel_client_class():
    """An ``AsyncKernelClient`` that is ready as soon as the kernel has answered, not 0.2 s later.

    jupyter_client's ``wait_for_ready`` ends by reading IOPub until it has been silent for
    0.2 s (and checks IOPub with another 0.2 s wait): nearly half a second per notebook in which
    the worker does nothing, which over a national run of 434 districts on two workers adds up
    to more than a minute. This client waits for what that silence stands for: the kernel's
    ``idle`` status for the ``kernel_info`` request on IOPub, which also shows that IOPub is
    connected. (nbclient reads only the IOPub messages of the cell it runs, so an earlier
    message still in the queue is not mistaken for a cell's output.)
    """
    # lazy: jupyter_client (with papermill, about a second) is not needed by --help, which
    # imports this module for KERNEL_MEMORY_MB, nor by a parameter typo
    from jupyter_client.asynchronous import AsyncKernelClient

    class ReportKernelClient(AsyncKernelClient):
        async def _idle_after(self, msg_id: str, timeout: float) -> bool:
            while True:
                try:
                    m = await self.iopub_channel.get_msg(timeout=timeout)
                except Empty:
                    return False
                if (
                    m["msg_type"] == "status"
                    and m["content"].get("execution_state") == "idle"
                    and m["parent_header"].get("msg_id") == msg_id
                ):
                    return True

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.time() + (float("inf") if timeout is None else timeout)
            while True:
                msg_id = self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if (
                    reply is not None
                    and reply["msg_type"] == "kernel_info_reply"
                    and await self._idle_after(reply["parent_header"].get("msg_id", msg_id), 0.05)
                ):
                    self._handle_kernel_info_reply(reply)
                    return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.time() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    return ReportKernelClient


def kernel_manager_class(mem_mb: int = 0, env: dict[str, str] | None = None, preload: bool = False):
    """An ``AsyncKernelManager`` that launches through :mod:`analysis.batch.kernel_launcher` over IPC.

    ``env`` is added to the kernel's environment and its memory is capped at ``mem_mb`` MiB.
    With ``preload`` the kernel is forked from this process's template that has the libraries
    imported already (:mod:`analysis.batch.forkserver`) instead of starting Python from scratch.
    """
    from jupyter_client import AsyncKernelManager  # lazy: see kernel_client_class

    extra = {**REPRODUCIBLE_ENV, **(env or {})}
    if mem_mb:
        extra[MEM_ENV] = str(int(mem_mb))

    client = kernel_client_class()

    class ReportKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.client_factory = client
            # Unix sockets named after this process and a fresh id: no two kernels can collide
            self.transport = "ipc"
            self.ip = os.path.join(
                tempfile.gettempdir(), f".analysis-kernel.tmp-{os.getpid()}-{uuid.uuid4().hex}"
            )

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if "ipykernel_launcher" in cmd:
                i = cmd.index("ipykernel_launcher")
                if i > 0 and cmd[i - 1] == "-m":
                    cmd[i] = "analysis.batch.kernel_launcher"
                    cmd[0] = sys.executable if cmd[0] in ("python", "python3") else cmd[0]
            # a batch kernel has no use for IPython's input history: without this every cell
            # is also written to one SQLite file that all the run's kernels share (and lock)
            return [*cmd, "--HistoryManager.enabled=False"]

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            if not preload:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            argv = kernel_cmd[kernel_cmd.index("analysis.batch.kernel_launcher") + 1 :]
            cwd = str(kw.get("cwd") or os.getcwd())
            pid = ForkServer.get().spawn(argv, dict(kw["env"]), cwd)
            prov = self.provisioner
            prov.process, prov.pid, prov.pgid, prov.cwd = ForkedKernel(pid), pid, pid, cwd
            self._reconcile_connection_info(prov.connection_info)

        async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
            # jupyter_client polls every 0.1 s for the kernel's exit, which takes a few ms
            # after the shutdown request: 0.1 s of an idle worker per notebook
            return await super()._async_finish_shutdown(waittime, min(pollinterval, 0.01), restart)

        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **extra}
            return await super()._async_pre_start_kernel(**kw)

    return ReportKernelManager


def _register_engine() -> None:
    """Register papermill's nbclient engine without a save per cell, as :data:`ENGINE`.

    papermill writes the whole output notebook (validated, with its figures) when each cell
    starts and ends: 40-odd writes for a district notebook, about a tenth of the client's time
    per district. A batch needs the notebook once, at the end (papermill writes it then, and on
    a cell error before raising). The only time the intermediate saves help is when the kernel
    dies or the run is stopped mid-notebook, so this engine writes the partly executed notebook
    to ``partial_output`` then, before the error propagates.
    """
    from papermill.engines import NBClientEngine, papermill_engines  # lazy: see kernel_client_class

    if ENGINE in papermill_engines._engines:
        return

    class ReportEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, partial_output=None, **kwargs):
            try:
                return super().execute_notebook(nb, kernel_name, **kwargs)
            except BaseException:
                if partial_output:
                    import nbformat  # lazy: see kernel_client_class (loaded by papermill here)

                    # what ran, for the failed/ folder; the run's own error is what propagates
                    with contextlib.suppress(Exception):
                        nbformat.write(nb, partial_output)
                raise

    papermill_engines.register(ENGINE, ReportEngine)


def execute_notebook(
    notebook: Path,
    output: Path,
    parameters: dict,
    cwd: Path,
    mem_mb: int = 0,
    env: dict[str, str] | None = None,
    log_output: bool = False,
    preload: bool = False,
) -> None:
    """Run ``notebook`` with papermill into ``output``.

    ``preload``: fork the kernel from a template with the libraries imported (see
    :mod:`analysis.batch.forkserver`). A kernel that fails to start (before the first cell) on
    an error a retry can cure (a port or socket race, a time-out, a death with no memory cap:
    :func:`_curable`) is started again, up to :data:`START_ATTEMPTS` times with a short random
    wait; a missing notebook or folder, or a memory cap too small to start under, is reported
    at once as what it is. Errors in cells are raised as papermill raises them; a kernel that
    dies while a cell runs raises :class:`DeadKernelError`. ``output`` is written once, at the
    end (or with what ran, when a cell fails or the kernel dies): see :func:`_register_engine`.
    """
    import tenacity  # lazy: see kernel_client_class

    for what, path in (("notebook", Path(notebook)), ("working folder", Path(cwd))):
        if not (path.is_file() if what == "notebook" else path.is_dir()):
            raise FileNotFoundError(
                f"the {what} {path} does not exist; give an existing one (--notebook), or "
                "reinstall the package if it is one of its notebooks"
            )
    _register_engine()
    km_class = kernel_manager_class(mem_mb, env, preload)
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(START_ATTEMPTS),
        wait=tenacity.wait_incrementing(0.5, 0.5) + tenacity.wait_random(0, 1),
        retry=tenacity.retry_if_exception(lambda e: _curable(e, mem_mb)),
        reraise=True,
    )
    try:
        retrying(_run_once, notebook, output, parameters, cwd, km_class, log_output, mem_mb)
    except _NotStartedError as e:
        raise _start_error(
            e.__cause__, mem_mb, retrying.statistics.get("attempt_number", 1)
        ) from e.__cause__


class _NotStartedError(Exception):
    """The kernel failed before the notebook's first cell (the cause is ``__cause__``)."""


def _run_once(notebook, output, parameters, cwd, km_class, log_output, mem_mb) -> None:
    """One papermill run; a failure before the first cell raised as :class:`_NotStartedError`."""
    import papermill  # lazy: see kernel_client_class

    started = []
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            cwd=str(cwd),
            progress_bar=False,
            log_output=log_output,
            kernel_name="python3",
            kernel_manager_class=km_class,
            engine_name=ENGINE,
            request_save_on_cell_execute=False,
            partial_output=str(output),
            on_notebook_start=lambda started=started, **_: started.append(True),
        )
    except Exception as e:
        if not started:
            raise _NotStartedError() from e
        if _is_dead_kernel(e):
            cap = f" (memory cap {mem_mb} MiB, --kernel-memory)" if mem_mb else ""
            raise DeadKernelError(
                f"the kernel died while the notebook ran{cap}: {type(e).__name__}: {e}"
            ) from e
        raise


def _curable(e: BaseException, mem_mb: int) -> bool:
    """Whether a kernel that failed to start may start when tried again.

    Curable: a port or socket race (``ZMQError``), a time-out, a kernel that died before
    replying with no memory cap. Not curable: a missing file or folder, a permission, an import
    error, a kernel that died under a memory cap (it dies again under the same cap).
    """
    if not isinstance(e, _NotStartedError):
        return False
    cause = e.__cause__
    if isinstance(cause, (FileNotFoundError, NotADirectoryError, PermissionError, ImportError)):
        return False
    if type(cause).__name__ == "ZMQError" or isinstance(cause, TimeoutError):
        return True
    text = str(cause).lower()
    if "died before replying" in text:
        return not mem_mb
    return "didn't respond" in text or "address already in use" in text


def _start_error(cause: BaseException | None, mem_mb: int, attempts: int) -> Exception:
    """The error to raise for a kernel that did not start, saying why in the user's terms."""
    text = f"{type(cause).__name__}: {cause}"
    if mem_mb and "died before replying" in str(cause).lower():
        return KernelStartError(
            f"the kernel could not start under its memory cap of {mem_mb} MiB (--kernel-memory): "
            f"{text}. Raise --kernel-memory (a district kernel needs about 3000 MiB of address "
            "space) or give --kernel-memory 0 for no cap."
        )
    if isinstance(cause, (FileNotFoundError, NotADirectoryError, PermissionError)):
        return KernelStartError(f"the kernel could not start: {text}")
    tries = f"in {attempts} attempts" if attempts > 1 else "(an error a retry cannot cure)"
    return KernelStartError(f"the kernel did not start {tries}: {text}")


def _is_dead_kernel(e: BaseException) -> bool:
    return type(e).__name__ == "DeadKernelError" or "kernel died" in str(e).lower()
