"""Batch runner: district notebooks through papermill, HTML briefs, synthesis, index, manifest.

District report notebooks run through papermill, their briefs are exported as HTML, and a
synthesis, an index and a manifest are written.

Failures are isolated (one district's error never stops the others; its error notebook is kept
under ``failed/``), every file is written whole or not at all, and ``--resume`` redoes only what
is missing or failed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from analysis import paths
from analysis.batch.executors import check_executor, open_executor
from analysis.batch.forkserver import ForkServer
from analysis.batch.kernels import KERNEL_MEMORY_MB, PRELOAD_DEFAULT, execute_notebook
from analysis.batch.runstate import SYSTEM_TEMP_PREFIX, Journal, RunLock, clean_stale_temp, temp_dir
from analysis.batch.slices import Slicer, write_slice
from analysis.errors import (
    OutputExistsError,
    ParameterError,
    RunFailedError,
    Term,
    UnknownDistrictError,
)
from analysis.files import (
    FOLDER_KINDS,
    check_no_links,
    folder_kind,
    remove_owned,
    write_file_atomically,
    write_json,
    write_mark,
)
from analysis.inputs.dataset import SLICE_ENV, load_dataset
from analysis.inputs.frame import District, districts, districts_of_province, resolve_district
from analysis.inputs.validate import validate_folder
from analysis.parameters import check_parameters, check_values, data_years, resolve_agreements
from analysis.parameters import declared_parameters as declared_parameters  # moved; re-exported
from analysis.provenance import stamp
from analysis.report.messages import say
from analysis.report.pages import write_data_report, write_index
from analysis.report.pdf import print_briefs

MANIFEST = "manifest.json"


@dataclass(frozen=True, kw_only=True)
class Job:
    """One district to run: everything a worker needs, with no shared filesystem.

    ``notebook_source`` is the notebook's bytes and ``data`` the district's slice of the data
    (file name -> bytes); a worker writes both into its own temporary folder.
    """

    district: District
    params: dict
    notebook: Path
    out: Path
    lang: str
    notebook_source: bytes = b""
    data: dict | None = None
    mem_mb: int = 0
    preload: bool = False


#: Prefix of a worker's temporary folder (in the system temp folder of the worker's machine).
WORK_PREFIX = "analysis-district"


def execute_district(job: Job) -> dict:
    """Run one district in a temporary folder of the worker and return its files as bytes.

    Runs in a worker process (embedded pool or Dask worker). Nothing is written into the output
    folder here: the client stores the returned files (``files``: name -> bytes, or
    ``error_notebook_bytes`` for a failure). A failure of the district is returned, not raised.
    """
    # lazy: nbconvert and the brief's libraries (about 3 s), which a parameter typo, refused
    # before any district runs, never needs
    from analysis.report.export import notebook_to_html

    code = job.district.code
    t0 = time.perf_counter()
    scratch = Path(tempfile.gettempdir())
    clean_stale_temp(scratch, SYSTEM_TEMP_PREFIX)  # left by this workspace's killed workers
    tmp = temp_dir(scratch, f"{WORK_PREFIX}-{code}")
    res = tmp / "results"
    nb_in, nb_out = tmp / "notebook.ipynb", res / "report.ipynb"
    res.mkdir()
    try:
        nb_in.write_bytes(job.notebook_source or Path(job.notebook).read_bytes())
        env = {}
        if job.data:
            env[SLICE_ENV] = str(write_slice(job.data, tmp / "data"))
        params = {**job.params, "district": code, "results_dir": str(res), "lang": job.lang}
        cwd = paths.NOTEBOOKS_DIR if paths.NOTEBOOKS_DIR.is_dir() else tmp
        execute_notebook(
            nb_in, nb_out, params, cwd, mem_mb=job.mem_mb, env=env, preload=job.preload
        )
        t_exec = time.perf_counter() - t0
        notebook_to_html(nb_out, res / "brief.html", job.lang, index_href="../../index.html")
        summary = json.loads((res / "summary.json").read_text(encoding="utf-8"))
        return {
            "district": code,
            "name": job.district.name,
            "status": "ok",
            "seconds": round(time.perf_counter() - t0, 2),
            "notebook_seconds": round(t_exec, 2),
            "evidence": (summary.get("evidence") or {}).get("grade"),
            "applicable": summary.get("applicable"),
            "files": {p.name: p.read_bytes() for p in sorted(res.iterdir()) if p.is_file()},
        }
    except Exception as e:  # isolate: any failure of one district is recorded, the batch goes on
        msg = getattr(e, "evalue", None) or str(e)
        ename = getattr(e, "ename", None) or type(e).__name__
        return {
            "district": code,
            "name": job.district.name,
            "status": "failed",
            "seconds": round(time.perf_counter() - t0, 2),
            "error": f"{ename}: {msg}".strip()[:2000],
            "error_notebook_bytes": nb_out.read_bytes() if nb_out.exists() else None,
            "traceback": traceback.format_exc()[-4000:],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def store_result(out: Path, r: dict) -> dict:
    """Write a district's returned files into ``out`` (client side).

    Parameters
    ----------
    out
        The run's folder: ``districts/CODE/`` is replaced whole or not at all; a failure's
        error notebook goes to ``failed/CODE.error.ipynb``.
    r
        The record :func:`execute_district` returned, with the files as bytes.

    Returns
    -------
    dict
        The record without the bytes, with the path of the brief (or of the error notebook).
    """
    code = r["district"]
    r = dict(r)
    files = r.pop("files", None)
    err_nb = r.pop("error_notebook_bytes", None)
    if r["status"] == "ok":
        final = check_no_links(out, out / "districts") / code  # replaced as an entry
        tmp = temp_dir(out / "districts", code)
        try:
            for name, data in files.items():
                (tmp / Path(name).name).write_bytes(data)
        except BaseException:  # a full disk: no cut-short brief is left behind
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = None
        if final.exists() or final.is_symlink():
            old = temp_dir(out / "districts", f"{code}-old")
            os.replace(final, old / code)  # a link is moved as an entry, never followed
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        remove_owned(out / "failed" / f"{code}.error.ipynb", out)
        r["brief"] = f"districts/{code}/brief.html"
    else:
        r["error_notebook"] = None
        if err_nb:
            write_file_atomically(
                check_no_links(out, out / "failed" / f"{code}.error.ipynb"), err_nb
            )
            r["error_notebook"] = f"failed/{code}.error.ipynb"
    return r


def _lost(job: Job, why: str, seconds: float = 0.0) -> dict:
    return {
        "district": job.district.code,
        "name": job.district.name,
        "status": "failed",
        "seconds": round(seconds, 2),
        "error": why[:2000],
        "error_notebook_bytes": None,
        "traceback": "",
    }


def select_districts(
    district: list[str] | None, province: str | None, all_: bool, data_dir: Path
) -> list[District]:
    """The districts a run covers: those named, those of a province, or every one with data.

    Parameters
    ----------
    district
        District codes or names (``--district``, repeatable).
    province
        A province code or name (``--province``).
    all_
        Every district with welfare data in ``data_dir`` (``--all``; the folder is checked
        first, as ``run`` checks it).
    data_dir
        The data folder.

    Returns
    -------
    list of District
        The districts, as the official frame names them.

    Raises
    ------
    UnknownDistrictError
        A name or code that is no district, or no district with data in ``data_dir``.
    """
    if district:
        return [resolve_district(d) for d in district]
    if province:
        return districts_of_province(province)
    validate_folder(data_dir, purpose="run")  # --all reads the data before run() does
    ds = load_dataset(data_dir)
    codes = sorted(set(ds.welfare["kode_desa"].str.slice(0, 5)))
    if not codes:
        raise UnknownDistrictError(
            f"no district has data in {data_dir}", key="run.no_district_data", data=str(data_dir)
        )
    d = districts()
    return [resolve_district(c) for c in codes if c in set(d["kode_kab"])]


def run(
    selected: list[District],
    data_dir: Path,
    out: Path,
    lang: str = "id",
    jobs: int = 2,
    resume: bool = False,
    extra: dict | None = None,
    notebook: Path = paths.DISTRICT_NOTEBOOK,
    progress: bool = True,
    executor: str = "embedded",
    scheduler: str | None = None,
    kernel_memory_mb: int = KERNEL_MEMORY_MB,
    preload: bool = PRELOAD_DEFAULT,
    pdf: bool = False,
) -> dict:
    """Run every selected district and build the synthesis, data report, index and manifest.

    The output folder is locked for the run; each district's outcome is journalled the moment
    it is known, so ``resume`` after a kill redoes only unfinished or failed districts.

    Parameters
    ----------
    selected
        The districts to run (see :func:`select_districts`).
    data_dir
        The processed data folder (checked as ``validate`` checks it, first).
    out
        The run's folder (created; a folder this workspace did not write is refused).
    lang
        Language of the briefs and pages.
    jobs
        Districts run at once (embedded workers, or the LocalCluster's workers).
    resume
        Keep the districts a run with the same data, language and parameters finished in ``out``.
    extra
        Extra notebook parameters (name -> value), checked before any kernel starts.
    notebook
        The district notebook.
    progress
        Show a progress bar on stderr.
    executor, scheduler
        Where districts run (see :mod:`analysis.batch.executors`): ``embedded`` worker
        processes, or Dask (at the ``scheduler`` address, else a LocalCluster of ``jobs``
        workers).
    kernel_memory_mb
        Cap on each kernel's address space in MiB (0: none).
    preload
        Fork kernels from a per-worker template that has imported the libraries (default where
        ``fork`` exists; :mod:`analysis.batch.forkserver`).
    pdf
        Also print each brief to ``brief.pdf`` (headless Chromium; skipped when none is there).

    Returns
    -------
    dict
        The manifest (also written to ``manifest.json``).

    Raises
    ------
    ParameterError
        A parameter that is not allowed, before anything is written.
    OutputExistsError
        ``out`` holds files this workspace did not write.
    RunFailedError
        Any district or the synthesis failed (exit status 1), after everything is written.
    OutputLockedError
        Another run writes into ``out``.
    """
    check_executor(executor)
    if scheduler and executor != "dask":
        raise ParameterError("--scheduler needs --executor dask.", key="run.scheduler_needs_dask")
    data_dir = Path(data_dir).resolve()
    ds, params = _checked_inputs(data_dir, lang, extra or {}, notebook)
    out = _claim_folder(Path(os.path.abspath(out)))  # kernels run elsewhere: never relative
    with RunLock(out):
        return _run_locked(
            selected, ds, data_dir, out, lang, jobs, resume, params, Path(notebook), progress,
            executor, scheduler, kernel_memory_mb, Journal(out), preload, pdf,
        )  # fmt: skip


def _checked_inputs(data_dir: Path, lang: str, extra: dict, notebook: Path) -> tuple:
    """The data (validated) and the notebook's parameters (checked), or the error that stops.

    Parameter values come first: a typo fails in about a second, before papermill is even
    imported (the years from the welfare table's year column).
    """
    own = {"district": "--district", "lang": "--lang", "data_dir": "--data", "results_dir": "--out"}
    for k in set(extra) & set(own):
        raise ParameterError(
            f"--param {k}=... is set by the runner; use {own[k]} instead.",
            key="run.param_set_by_runner",
            name=k,
            flag=own[k],
        )
    years = data_years(data_dir)
    check_values({**extra, "lang": lang}, years=years)
    validate_folder(data_dir, purpose="run")  # the same check as ingest and validate, first
    ds = load_dataset(data_dir)
    if years is None:
        check_values({**extra, "lang": lang}, years=sorted(map(int, ds.welfare["tahun"])))
    extra = resolve_agreements(notebook, extra)  # absolute, from where the command was typed
    if extra.get("agreements"):
        check_values({"agreements": extra["agreements"]})
    params = check_parameters(notebook, {"data_dir": str(data_dir), **extra})
    return ds, params


def _claim_folder(out: Path) -> Path:
    """``out``, created and marked as this workspace's run folder (any other folder is refused)."""
    if out.exists() and any(out.iterdir()):
        kind = folder_kind(out)
        if kind is None:
            raise OutputExistsError(
                f"{out} holds files this workspace did not write; choose another --out.",
                key="run.folder_foreign",
                path=str(out),
            )
        if kind not in ("run", "output"):
            raise OutputExistsError(
                f"{out} is {FOLDER_KINDS[kind]}, not a run folder; a run never writes into it. "
                "Choose another --out.",
                key="run.folder_other_kind",
                path=str(out),
                have=Term(f"folder.{kind}"),
            )
    out.mkdir(parents=True, exist_ok=True)
    write_mark(out, "run")
    return out


def _run_locked(
    selected, ds, data_dir, out, lang, jobs, resume, params, notebook, progress,
    executor, scheduler, kernel_memory_mb, journal, preload, pdf=False,
) -> dict:  # fmt: skip
    """The run, inside the output folder's lock: districts, PDFs, synthesis, manifest, index."""
    header = {"lang": lang, "data_hashes": ds.hashes, "parameters": params}
    agreements = agreements_counted(ds, params, lang)
    if agreements:
        print(agreements["note"], file=sys.stderr)  # before the districts: the numbers they use
    done = _prepare_folder(out, header, journal, resume)
    todo = [d for d in selected if d.code not in done]
    t0 = time.perf_counter()
    new_job = _job_maker(ds, params, notebook, out, lang, kernel_memory_mb, preload)
    if preload:  # the synthesis kernel, at the end, is forked from a template started now
        threading.Thread(target=ForkServer.get, daemon=True).start()
    engine = open_executor(executor, jobs, scheduler)
    ran, info = _run_on(
        engine, todo, new_job, journal, out, data_dir, lang, progress, params.get("agreements", "")
    )
    results = {**done, **ran}
    pdf_note = print_briefs(out, results, lang) if pdf else ""
    synth = build_synthesis(out, lang, data_dir, results, preload)
    if preload:
        ForkServer.close()  # the client's template served the synthesis: free its memory
    manifest = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "lang": lang,
        "data_dir": str(data_dir),
        "synthetic": ds.synthetic,
        "data_hashes": ds.hashes,
        "parameters": params,
        "notebook": str(notebook),
        **stamp(),
        **info,
        "kernel_memory_mb": kernel_memory_mb,
        "preloaded_kernels": preload,
        "seconds": round(time.perf_counter() - t0, 2),
        "resumed": sorted(done),
        "synthesis": synth,
        "pdf": pdf_note,
        "agreements": agreements,
        "districts": {d.code: results[d.code] for d in selected if d.code in results},
    }
    write_json(out / MANIFEST, manifest)
    write_index(out, manifest, lang)
    _raise_if_failed(manifest, len(selected), out)
    return manifest


def _prepare_folder(out: Path, header: dict, journal: Journal, resume: bool) -> dict:
    """Make ``out`` ready for the run; return the districts kept from the run resumed.

    Without ``resume`` the districts of an earlier run are removed; with it, those that finished
    under the same ``header`` (data, language, parameters) are kept and journalled again.
    """
    previous = _previous_run(out, header, journal) if resume else {}
    for name in ("districts", "failed", ".journal"):
        if not resume:
            remove_owned(out / name, out)  # a link is removed as an entry, never followed
        check_no_links(out, out / name)  # kept by --resume: never written through a link
    for folder in (out, out / "districts"):
        clean_stale_temp(folder)  # left by a run that was killed
    clean_stale_temp(Path(tempfile.gettempdir()), SYSTEM_TEMP_PREFIX)  # its local workers'
    (out / "districts").mkdir(parents=True, exist_ok=True)
    journal.start(header, keep=resume)
    done = {
        k: v
        for k, v in previous.get("districts", {}).items()
        if v.get("status") == "ok" and (out / v.get("brief", "")).exists()
    }
    for r in done.values():
        journal.record(r)  # a run resumed from an older manifest journals what it keeps
    return done


def _previous_run(out: Path, header: dict, journal: Journal) -> dict:
    """The run to resume in ``out`` (its journal, else its manifest), if it ran as this one will."""
    previous: dict = {}
    jh = journal.header()
    if jh is not None:
        previous = {**jh, "districts": journal.records()}
    elif (out / MANIFEST).exists():
        previous = json.loads((out / MANIFEST).read_text())
    if previous and any(previous.get(k) != v for k, v in header.items()):
        raise ParameterError(
            f"--resume needs the same data, language and parameters as the run in {out}; "
            "run without --resume or choose another --out.",
            key="run.resume_mismatch",
            path=str(out),
        )
    return previous


def _job_maker(ds, params, notebook, out, lang, kernel_memory_mb, preload):
    """A function making a district's :class:`Job` (the notebook read once, the data sliced)."""
    source = notebook.read_bytes()
    slicer = Slicer(ds)

    def new_job(d: District) -> Job:
        return Job(district=d, params=params, notebook=notebook, out=out, lang=lang,
                   notebook_source=source, data=slicer.files(d.code),
                   mem_mb=kernel_memory_mb, preload=preload)  # fmt: skip

    return new_job


def _run_on(
    engine, todo, new_job, journal, out, data_dir, lang, progress, agreements=""
) -> tuple[dict, dict]:
    """Run the districts ``todo`` on ``engine`` (closed after) and the data page beside them.

    ``agreements``: the agreements files the briefs read (the data page lists and counts them).

    Returns the districts' records (code -> record, in the order they finished) and what the
    manifest says about the engine.
    """
    bar = None
    if progress and todo:
        desc, unit = say("cli.progress", lang), say("cli.progress_unit", lang)
        bar = tqdm(total=len(todo), desc=desc, unit=unit, file=sys.stderr)
    report_pool = ThreadPoolExecutor(1)
    cancelled = True
    try:
        # the data-quality page is built alongside the districts (from the folder check kept
        # by validate_folder: the folder is not checked again)
        report = report_pool.submit(_data_report_job, out, data_dir, lang, agreements)
        results = _run_districts(engine, todo, new_job, journal, out, bar)
        report.result()
        cancelled = False
    finally:
        info = {"executor": engine.name, "scheduler": engine.scheduler, "workers": engine.workers,
                "worker_death_retries": engine.worker_death_retries}  # fmt: skip
        engine.close(cancel=cancelled)
        report_pool.shutdown(wait=not cancelled, cancel_futures=cancelled)
        if bar:
            bar.close()
    return results, info


def _run_districts(engine, todo, new_job, journal, out, bar) -> dict:
    """Keep ``engine``'s slots full until every district has an outcome, stored as it comes."""
    results: dict = {}
    pending = deque(todo)
    inflight: dict = {}
    deaths: Counter = Counter()
    slots = max(1, engine.slots)
    retry: deque[Job] = deque()  # districts whose worker died, to run again
    while pending or retry or inflight:
        while (retry or pending) and len(inflight) < slots:
            job = retry.popleft() if retry else new_job(pending.popleft())
            inflight[engine.submit(execute_district, job)] = job
        finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        for f in finished:
            job = inflight.pop(f)
            code = job.district.code
            r = _outcome(f, job, engine, deaths)
            if r is None:
                retry.append(job)
                continue
            r = store_result(out, r)
            journal.record(r)
            results[code] = r
            if bar:
                bar.set_postfix_str(f"{code} {r['status']}")
                bar.update(1)
    return results


def _outcome(f, job: Job, engine, deaths: Counter) -> dict | None:
    """A finished district's record, or None when its worker died and it is to run again."""
    try:
        return f.result()
    except Exception as e:
        if not engine.is_worker_death(e):
            return _lost(job, f"{type(e).__name__}: {e}")
        code = job.district.code
        deaths[code] += 1
        engine.after_worker_death(f)
        if engine.resubmits_after_death() and deaths[code] <= engine.worker_death_retries:
            return None
        return _lost(
            job,
            f"the worker running this district died ({type(e).__name__}: {e}); "
            f"it was retried {engine.worker_death_retries} time(s)",
        )


def _raise_if_failed(manifest: dict, selected: int, out: Path) -> None:
    """:class:`RunFailedError` naming every failed district (and the synthesis), if any."""
    synth = manifest["synthesis"]
    failed = [k for k, v in manifest["districts"].items() if v["status"] != "ok"]
    problems = [f"{k} ({manifest['districts'][k]['error'][:200]})" for k in failed]
    if synth.get("status") != "ok":
        problems.append(f"synthesis ({synth.get('error', '')[:200]})")
    if problems:
        raise RunFailedError(
            f"{len(failed)} of {selected} districts failed: "
            + "; ".join(problems)
            + f". See {out / 'index.html'}; "
            "fix the cause and rerun with --resume to redo only what failed.",
            key="run.failed",
            n_failed=len(failed),
            n_selected=selected,
            problems=problems,
            index=str(out / "index.html"),
        )


def build_synthesis(
    out: Path, lang: str, data_dir: Path, results: dict, preload: bool = False
) -> dict:
    """Run the synthesis notebook over the run folder and export it (failures recorded, not raised).

    ``preload``: fork its kernel from this process's template (started when the run began).
    """
    from analysis.report.export import notebook_to_html  # lazy: see execute_district

    write_json(
        out / MANIFEST, {"lang": lang, "districts": results}
    )  # lets the synthesis list failed districts
    tmp = temp_dir(out, "synthesis")
    t0 = time.perf_counter()
    try:
        execute_notebook(
            paths.SYNTHESIS_NOTEBOOK,
            tmp / "synthesis.ipynb",
            {"run_dir": str(out), "lang": lang},
            paths.NOTEBOOKS_DIR,
            preload=preload,
        )
        notebook_to_html(
            tmp / "synthesis.ipynb", tmp / "synthesis.html", lang, index_href="index.html"
        )
        for name in ("synthesis.ipynb", "synthesis.html"):
            os.replace(tmp / name, out / name)
        return {
            "status": "ok",
            "html": "synthesis.html",
            "seconds": round(time.perf_counter() - t0, 2),
        }
    except Exception as e:
        return {
            "status": "failed",
            "error": f"{type(e).__name__}: {getattr(e, 'evalue', e)}"[:1000],
            "seconds": round(time.perf_counter() - t0, 2),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _data_report_job(out: Path, data_dir: Path, lang: str, agreements: str = "") -> Path:
    """The data-quality page, built while the districts run.

    Its folder check is the one ``run`` made (kept by ``validate_folder`` while the table files
    are unchanged). ``agreements``: the agreements files the briefs read (the notebook's
    ``agreements`` parameter as the run passes it), listed row by row and counted with the
    registry, each agreement once.
    """
    return write_data_report(out, load_dataset(data_dir), lang, agreements or None)


def agreements_counted(ds, params: dict, lang: str) -> dict | None:
    """The registry's and the agreements files' agreements counted once, with the console's line.

    Parameters
    ----------
    ds
        The data folder.
    params
        The run's notebook parameters (``agreements``: absolute paths, comma-separated).
    lang
        The run's language.

    Returns
    -------
    dict or None
        :func:`analysis.report.data_quality.agreements_merge` (the numbers the data page
        states) with ``note``: the data page's sentence
        (:func:`analysis.report.data_quality.merged_note`); ``None`` without an agreements
        file.
    """
    from analysis.report import words  # lazy: the catalogs, which a parameter typo never needs
    from analysis.report.data_quality import agreements_merge, merged_note

    m = agreements_merge(ds, params.get("agreements"))
    if m is None:
        return None
    return {**m, "note": merged_note(words(lang), m)}
