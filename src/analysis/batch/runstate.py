"""State of a batch run on disk.

A lock on the output folder, a journal of finished districts, and temporary folders that can be
proven stale:

- **Lock** (``.run.lock``): one run writes into an output folder at a time. The lock names its
  holder (pid, host, start time, command); a second run is refused with that name. A lock
  whose process is dead (same host, pid gone or reused) is taken over.
- **Journal** (``.journal/``): one small JSON file per district, written atomically the moment
  the district finishes, plus ``run.json`` with what the run was (language, data hashes,
  parameters). After a kill or Ctrl-C, ``--resume`` reads it and skips finished districts; the
  manifest, written at the end, is built from it.
- **Temporary folders** carry their creator's pid in their name (``.NAME.tmp-PID-XXXX``); only
  those whose pid is dead are removed, so nothing another live process owns is touched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from analysis.errors import OutputLockedError
from analysis.files import _process_started, shareable, write_json
from analysis.files import clean_stale_temp as clean_stale_temp  # moved to the core; re-exported
from analysis.files import pid_alive as pid_alive  # moved to the core; re-exported

LOCK = ".run.lock"
#: Names of this workspace's temporary folders in the system temp folder start with this.
SYSTEM_TEMP_PREFIX = ".analysis-"
JOURNAL = ".journal"


def temp_dir(parent: Path, name: str) -> Path:
    """A new temporary folder ``parent/.NAME.tmp-PID-XXXX`` (provably this process's)."""
    parent.mkdir(parents=True, exist_ok=True)
    # mkdtemp makes it 0700: folders moved into place from here must open for colleagues too
    return shareable(Path(tempfile.mkdtemp(prefix=f".{name}.tmp-{os.getpid()}-", dir=parent)), True)


class RunLock:
    """An exclusive lock on an output folder, held by this process while it runs."""

    def __init__(self, out: Path):
        self.path = Path(out) / LOCK
        self.held = False

    def holder(self) -> dict | None:
        """Who holds the lock (None when nobody, or when the lock file is unreadable)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def acquire(self) -> RunLock:
        """Take the lock; take over a stale one; raise :class:`OutputLockedError` when held."""
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "process_started": _process_started(os.getpid()),
            "command": " ".join(sys.argv),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                h = self.holder()
                if h is None or self._stale(h):
                    self.path.unlink(missing_ok=True)  # a dead run's lock: take it over
                    continue
                raise OutputLockedError(
                    f"{self.path.parent} is in use by another run: pid {h.get('pid')} on "
                    f"{h.get('host')}, started {h.get('started')} ({h.get('command', '')}). "
                    "Wait for it to finish or choose another --out; if that process is gone "
                    f"for good (another machine), delete {self.path}.",
                    key="run.locked",
                    path=str(self.path.parent),
                    pid=str(h.get("pid")),
                    host=str(h.get("host")),
                    started=str(h.get("started")),
                    command=str(h.get("command", "")),
                    lock=str(self.path),
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(me, fh)
            self.held = True
            return self
        raise OutputLockedError(
            f"could not take the lock {self.path}; another run took it first.",
            key="run.lock_lost",
            lock=str(self.path),
        )

    @staticmethod
    def _stale(h: dict) -> bool:
        if h.get("host") != socket.gethostname():
            return False  # cannot see processes on another machine
        return not pid_alive(int(h.get("pid", 0)), h.get("process_started"))

    def release(self) -> None:
        """Give the lock up (only a lock this process holds is removed)."""
        if self.held:
            h = self.holder()
            if h and h.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class Journal:
    """Completion records of one run, one atomic file per district (``.journal/CODE.json``)."""

    def __init__(self, out: Path):
        self.dir = Path(out) / JOURNAL

    def start(self, header: dict, keep: bool) -> None:
        """Begin a run: ``header`` says what it computes; ``keep`` keeps earlier records (resume)."""
        if not keep and self.dir.is_symlink():
            self.dir.unlink()  # a link is removed as an entry, never followed
        elif not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        write_json(self.dir / "run.json", header)

    def header(self) -> dict | None:
        """What the journalled run computes (its ``start`` header), or None when none is kept."""
        try:
            return json.loads((self.dir / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def record(self, result: dict) -> None:
        """Record one district's outcome the moment it is known."""
        write_json(self.dir / f"{result['district']}.json", result)

    def records(self) -> dict[str, dict]:
        """The districts' outcomes recorded so far (code -> record; a cut-short file is skipped)."""
        out = {}
        if self.dir.is_dir():
            for p in sorted(self.dir.glob("*.json")):
                if p.name == "run.json":
                    continue
                try:
                    r = json.loads(p.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # a record cut short is no record: the district is redone
                out[r["district"]] = r
        return out
