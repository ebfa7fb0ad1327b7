"""Writing outputs: whole or not at all, readable by colleagues, safe to open in a spreadsheet.

Every output of the workspace (processed tables, briefs, run folders, ``results.csv``) is written
through here: a file via a temporary sibling and ``os.replace``, a folder built beside its target
and moved into place, an existing folder replaced only when this workspace wrote it as the same kind of folder
(:data:`OWNER_MARK`, :func:`folder_kind`), and nothing removed or written through a symbolic link
(:func:`remove_owned`, :func:`check_no_links`). Text cells that a spreadsheet would run as formulas are made inert.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.errors import OutputExistsError, Term

#: File written into every output folder this package creates: it may replace such a folder.
#: Its second line names the kind of folder (:data:`FOLDER_KINDS`).
OWNER_MARK = ".analysis-output"
_MARK_FIRST_LINE = "written by the analysis package; safe to replace"
#: The kinds of folder this workspace writes, each with what it is called in messages. ``--force``
#: replaces a folder of its own kind only.
FOLDER_KINDS = {
    "ingest": "a data folder written by 'ingest'",
    "example-data": "an example data folder written by 'example-data'",
    "run": "a run folder written by 'run'",
    "output": "an output folder of this workspace",
}

#: Name of a temporary entry of this workspace: ``.NAME.tmp-PID-XXXX`` (its creator's pid).
_TMP = re.compile(r"^\..+\.tmp-(\d+)-[^/]+$")

#: First characters that make a spreadsheet program run a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(v: object) -> object:
    """Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``), made inert.

    A leading apostrophe makes Excel and LibreOffice show the text as typed (OWASP's advice on
    CSV injection). Numbers and other values are returned unchanged.
    """
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are safe to open in a spreadsheet (:func:`neutralise_cell`)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(neutralise_cell)
    return out


def _umask() -> int:
    """The process umask (read without changing it for longer than the call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def shareable(path: Path, directory: bool = False) -> Path:
    """Give a file 0666 or a folder 0777 less the umask (usually 0644 / 0755).

    ``tempfile.mkstemp`` and ``mkdtemp`` create private entries (0600 / 0700) whatever the
    umask; outputs moved into place from them must be readable by colleagues and web servers
    like any file the user writes.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())
    return Path(path)


def write_mark(folder: Path, kind: str) -> Path:
    """Mark ``folder`` as this workspace's folder of ``kind`` (a key of :data:`FOLDER_KINDS`)."""
    if kind not in FOLDER_KINDS:
        raise ValueError(f"kind must be one of {sorted(FOLDER_KINDS)}, not {kind!r}")
    mark = Path(folder) / OWNER_MARK
    if mark.is_symlink():
        mark.unlink()  # a link in the mark's place is never written through
    mark.write_text(f"{_MARK_FIRST_LINE}\nkind: {kind}\n", encoding="utf-8")
    return mark


def folder_kind(folder: Path) -> str | None:
    """The kind of folder this workspace wrote at ``folder``; None when it holds no mark.

    A mark written before kinds were recorded (its first line only) is read from the folder's
    content: ``manifest.json``, ``districts/`` or ``.journal/`` make a run folder, a
    ``dataset.json`` saying ``"synthetic": true`` an example data folder, any other
    ``dataset.json`` an ingested one; anything else is a generic ``output``.
    """
    folder = Path(folder)
    mark = folder / OWNER_MARK
    if mark.is_symlink() or not mark.is_file():
        return None
    try:
        lines = mark.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key.strip() == "kind" and value.strip() in FOLDER_KINDS:
            return value.strip()
    if any((folder / n).exists() for n in ("manifest.json", "districts", ".journal")):
        return "run"
    try:
        meta = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "output"
    if isinstance(meta, dict) and meta.get("synthetic") is True:
        return "example-data"
    return "ingest"


def check_replaceable(out: Path, kind: str, force: bool) -> None:
    """Refuse to replace ``out`` unless it is empty, or this workspace's ``kind`` of folder and ``force``.

    Raises
    ------
    OutputExistsError
        ``out`` is a symbolic link, holds files this workspace did not write, is another kind
        of folder of this workspace (named), or is an earlier output and ``force`` is false.
    """
    out = Path(out)
    if out.is_symlink():
        raise OutputExistsError(
            f"{out} is a symbolic link (to {os.readlink(out)}); this workspace never replaces "
            "a folder through a link. Give the real folder's path with --out, or a new folder.",
            key="output.symlink",
            path=str(out),
            target=os.readlink(out),
        )
    if not (out.exists() and any(out.iterdir())):
        return
    have = folder_kind(out)
    if have is None:
        raise OutputExistsError(
            f"{out} already holds files that this workspace did not write; "
            "choose an empty or new folder with --out.",
            key="output.foreign",
            path=str(out),
        )
    if have != kind and "output" not in (have, kind):
        raise OutputExistsError(
            f"{out} is {FOLDER_KINDS[have]}, not {FOLDER_KINDS[kind]}; --force replaces only "
            "its own kind of folder. Choose another folder with --out.",
            key="output.other_kind",
            path=str(out),
            have=Term(f"folder.{have}"),
            want=Term(f"folder.{kind}"),
        )
    if not force:
        raise OutputExistsError(
            f"{out} already holds an earlier output; pass --force to replace it "
            "or choose another folder with --out.",
            key="output.exists",
            path=str(out),
        )


def remove_owned(path: Path, owner: Path) -> None:
    """Remove ``path`` (a file or folder inside ``owner``) without following any symbolic link.

    A link at ``path`` is removed as an entry, its target untouched; links inside a removed
    folder are removed the same way (:func:`shutil.rmtree` never follows them).

    Raises
    ------
    OutputExistsError
        ``path`` is not inside ``owner``, or reaching it goes through a link.
    """
    check_no_links(owner, Path(path).parent)
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)


def check_no_links(owner: Path, path: Path) -> Path:
    """``path``, after checking that it lies in ``owner`` and no folder between them is a link.

    Raises
    ------
    OutputExistsError
        A folder on the way is a symbolic link (named with its target), or ``path`` is
        outside ``owner``.
    """
    owner, path = Path(owner), Path(path)
    try:
        rel = path.relative_to(owner)
    except ValueError:
        raise OutputExistsError(
            f"{path} is outside {owner}; nothing there is replaced.",
            key="output.outside",
            path=str(path),
            owner=str(owner),
        ) from None
    here = owner
    for part in rel.parts:
        if part in ("", ".", ".."):
            raise OutputExistsError(
                f"{path} is not a plain path inside {owner}.",
                key="output.not_plain",
                path=str(path),
                owner=str(owner),
            )
        here = here / part
        if here.is_symlink():
            raise OutputExistsError(
                f"{here} is a symbolic link (to {os.readlink(here)}); this workspace never "
                "deletes, moves or writes through a link. Remove the link, or choose a new "
                "folder with --out.",
                key="output.link_on_way",
                path=str(here),
                target=os.readlink(here),
            )
    return path


def _process_started(pid: int) -> float | None:
    try:
        import psutil  # lazy: optional (without it a reused pid is not told from its first owner)

        return psutil.Process(pid).create_time()
    except Exception:
        return None


def pid_alive(pid: int, started: float | None = None) -> bool:
    """Whether process ``pid`` runs on this host (and, given its start time, is the same process)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if started is not None:
        now = _process_started(pid)
        if now is not None and abs(now - started) > 1.0:
            return False  # the pid was reused by another process
    return True


def clean_stale_temp(parent: Path, prefix: str = ".") -> list[Path]:
    """Remove the temporary folders and files in ``parent`` made by dead processes of this machine.

    Parameters
    ----------
    parent
        The folder to clean (nothing happens when it does not exist).
    prefix
        Only names starting with it are considered.

    Returns
    -------
    list of Path
        What was removed.
    """
    removed = []
    if not parent.is_dir():
        return removed
    for p in parent.iterdir():
        m = _TMP.match(p.name) if p.name.startswith(prefix) else None
        if m and not pid_alive(int(m.group(1))):
            if p.is_symlink():
                p.unlink(missing_ok=True)  # a link is removed as an entry, never followed
            elif p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def write_dir_atomically(
    out: Path, write: Callable[[Path], None], force: bool = False, kind: str = "output"
) -> Path:
    """Build a folder completely in a temporary sibling, then move it into place.

    ``write(tmp)`` fills the temporary folder. If it raises, nothing at ``out`` changes. An
    existing ``out`` is replaced only if this package created it as the same ``kind`` of
    folder (its ``OWNER_MARK``, :func:`check_replaceable`) and ``force`` is true; a folder of
    the user's, another kind of folder, or a symbolic link is never replaced. The temporary
    and old folders carry the pid (``.NAME.tmp-PID-XXXX``), so a killed process's leftovers are
    provably stale.
    """
    out = Path(out)
    check_replaceable(out, kind, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temp(out.parent, f".{out.name}.")  # left by a killed earlier write of ``out``
    pid = os.getpid()
    tmp = shareable(Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{pid}-", dir=out.parent)), True)
    try:
        write(tmp)
        write_mark(tmp, kind)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.tmp-{pid}-", dir=out.parent))
            out.rename(old / out.name)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_file_atomically(path: Path, data: bytes | str) -> Path:
    """Write one file via a temporary sibling and ``os.replace`` (whole or not at all)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        shareable(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, obj: object) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, whole or not at all (see :func:`write_file_atomically`).

    Values JSON cannot hold (dates, paths) are written as their text.
    """
    return write_file_atomically(
        path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    )
