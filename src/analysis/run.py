"""Batch runner: district report notebooks through papermill, briefs as HTML, a synthesis, an
index and a manifest.

Failures are isolated (one district's error never stops the others; its error notebook is kept
under ``failed/``), every file is written whole or not at all, and ``--resume`` redoes only what
is missing or failed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from analysis import paths
from analysis.errors import OutputExistsError, ParameterError, RunFailedError, UnknownDistrictError
from analysis.frame import District, districts, districts_of_province, resolve_district
from analysis.parameters import check_values
from analysis.provenance import stamp
from analysis.report.pdf import print_briefs
from analysis.tables import OWNER_MARK, shareable, write_json

MANIFEST = "manifest.json"
#: Kernel options for every run: ipykernel warns on each start that its local TCP transport is
#: unencrypted, and logs an interrupt at shutdown: noise to the user of a batch run (kernels
#: listen on localhost only; errors of the notebook itself still reach the run and its index).
KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]


def declared_parameters(notebook: Path) -> dict[str, dict]:
    """The notebook's ``parameters`` cell as papermill reads it (name -> type, default, help)."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def check_parameters(notebook: Path, params: dict) -> dict:
    """Reject unknown parameters (with the closest declared name) and coerce values to the declared type.

    papermill itself only logs a warning for an unknown parameter and runs with the default: a
    typo would silently change the analysis.
    """
    declared = declared_parameters(notebook)
    out = {}
    for k, v in params.items():
        if k not in declared:
            close = difflib.get_close_matches(k, list(declared), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ParameterError(
                f"'{k}' is not a parameter of {notebook.name}.{hint} Declared: {', '.join(declared)}."
            )
        typ = declared[k].get("inferred_type_name", "None")
        try:
            out[k] = int(v) if typ == "int" else float(v) if typ == "float" else str(v)
        except (TypeError, ValueError):
            raise ParameterError(
                f"parameter '{k}' of {notebook.name} must be {typ}, got {v!r}."
            ) from None
    return out


@dataclass(frozen=True)
class Job:
    district: District
    params: dict
    notebook: Path
    out: Path
    lang: str


def _is_kernel_start_error(e: BaseException) -> bool:
    from papermill.exceptions import PapermillExecutionError

    return (
        not isinstance(e, PapermillExecutionError) and "kernel" in f"{type(e).__name__} {e}".lower()
    )


def execute_district(job: Job) -> dict:
    """Run one district in a temporary folder, then move its outputs into place (worker process)."""
    import papermill

    from analysis.export import notebook_to_html

    code = job.district.code
    t0 = time.perf_counter()
    final = job.out / "districts" / code
    tmp = shareable(Path(tempfile.mkdtemp(prefix=f".{code}.tmp-", dir=job.out / "districts")), True)
    params = {**job.params, "district": code, "results_dir": str(tmp), "lang": job.lang}
    nb_out = tmp / "report.ipynb"
    try:
        for attempt in (
            1,
            2,
        ):  # one retry when a kernel fails to start (port races under parallel runs)
            try:
                papermill.execute_notebook(
                    str(job.notebook),
                    str(nb_out),
                    parameters=params,
                    cwd=str(paths.NOTEBOOKS_DIR),
                    progress_bar=False,
                    log_output=False,
                    kernel_name="python3",
                    extra_arguments=KERNEL_ARGS,
                )
                break
            except Exception as e:
                if attempt == 1 and _is_kernel_start_error(e):
                    time.sleep(1)
                    continue
                raise
        notebook_to_html(nb_out, tmp / "brief.html", job.lang, index_href="../../index.html")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        (job.out / "failed" / f"{code}.error.ipynb").unlink(missing_ok=True)
        summary = json.loads((final / "summary.json").read_text(encoding="utf-8"))
        return {
            "district": code,
            "name": job.district.name,
            "status": "ok",
            "seconds": round(time.perf_counter() - t0, 2),
            "brief": f"districts/{code}/brief.html",
            "evidence": (summary.get("evidence") or {}).get("grade"),
            "applicable": summary.get("applicable"),
        }
    except Exception as e:  # isolate: any failure of one district is recorded, the batch goes on
        failed_dir = job.out / "failed"
        failed_dir.mkdir(exist_ok=True)
        kept = None
        if nb_out.exists():
            kept = failed_dir / f"{code}.error.ipynb"
            os.replace(nb_out, kept)
        msg = getattr(e, "evalue", None) or str(e)
        ename = getattr(e, "ename", None) or type(e).__name__
        return {
            "district": code,
            "name": job.district.name,
            "status": "failed",
            "seconds": round(time.perf_counter() - t0, 2),
            "error": f"{ename}: {msg}".strip()[:2000],
            "error_notebook": f"failed/{code}.error.ipynb" if kept else None,
            "traceback": traceback.format_exc()[-4000:],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def select_districts(
    district: list[str] | None, province: str | None, all_: bool, data_dir: Path
) -> list[District]:
    if district:
        return [resolve_district(d) for d in district]
    if province:
        return districts_of_province(province)
    from analysis.dataset import load_dataset

    ds = load_dataset(data_dir)
    codes = sorted(set(ds.welfare["kode_desa"].str.slice(0, 5)))
    if not codes:
        raise UnknownDistrictError(f"no district has data in {data_dir}")
    d = districts()
    return [resolve_district(c) for c in codes if c in set(d["kode_kab"])]


def _default_out(province: str | None, district: list[str] | None, lang: str) -> Path:
    tag = (
        f"provinsi-{province}"
        if province
        else (
            "kabupaten-" + "-".join(resolve_district(x).code for x in district)
            if district
            else "semua"
        )
    )
    return paths.OUTPUTS_DIR / f"{tag}-{lang}"


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
    pdf: bool = False,
) -> dict:
    """Run every selected district and build the synthesis, data report, index and manifest.

    Returns the manifest. Raises ``RunFailedError`` (exit status 1) after writing everything
    when any district failed.
    """
    from analysis.dataset import load_dataset

    data_dir = Path(data_dir).resolve()
    ds = load_dataset(data_dir)
    # parameter values against the data first: a typo fails in well under 2 s (before papermill,
    # whose import alone takes over a second)
    years = sorted(int(y) for y in ds.welfare["tahun"].unique())
    check_values({**(extra or {}), "lang": lang}, years=years)
    params = check_parameters(notebook, {"data_dir": str(data_dir), **(extra or {})})
    out = Path(out)
    manifest_path = out / MANIFEST
    previous = {}
    if out.exists() and any(out.iterdir()):
        if not (out / OWNER_MARK).exists():
            raise OutputExistsError(
                f"{out} holds files this workspace did not write; choose another --out."
            )
        if resume and manifest_path.exists():
            previous = json.loads(manifest_path.read_text())
            if (
                previous.get("lang") != lang
                or previous.get("data_hashes") != ds.hashes
                or previous.get("parameters") != params
            ):
                raise ParameterError(
                    f"--resume needs the same data, language and parameters as the run in {out}; "
                    "run without --resume or choose another --out."
                )
        elif not resume:
            shutil.rmtree(out / "districts", ignore_errors=True)
            shutil.rmtree(out / "failed", ignore_errors=True)
    (out / "districts").mkdir(parents=True, exist_ok=True)
    (out / OWNER_MARK).write_text("written by the analysis package; safe to replace\n")
    done = (
        {
            k: v
            for k, v in previous.get("districts", {}).items()
            if v.get("status") == "ok" and (out / v.get("brief", "")).exists()
        }
        if resume
        else {}
    )
    todo = [d for d in selected if d.code not in done]
    t0 = time.perf_counter()
    results = dict(done)
    jobs_list = [Job(d, params, Path(notebook), out, lang) for d in todo]
    bar = None
    if progress and jobs_list:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs_list), desc="districts", unit="district", file=sys.stderr)
    # spawn, not fork: forking a process that already runs Arrow/BLAS thread pools can deadlock
    with ProcessPoolExecutor(
        max_workers=max(1, jobs), mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        # the data-quality page is built alongside the districts (it validates the whole folder)
        report = pool.submit(_data_report_job, out, data_dir, lang)
        futures = [pool.submit(execute_district, j) for j in jobs_list]
        for f in as_completed(futures):
            r = f.result()
            results[r["district"]] = r
            if bar:
                bar.set_postfix_str(f"{r['district']} {r['status']}")
                bar.update(1)
        report.result()
    if bar:
        bar.close()
    pdf_note = print_briefs(out, results) if pdf else ""
    synth = build_synthesis(out, lang, data_dir, results)
    manifest = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "lang": lang,
        "data_dir": str(data_dir),
        "synthetic": ds.synthetic,
        "data_hashes": ds.hashes,
        "parameters": params,
        "notebook": str(notebook),
        **stamp(),
        "seconds": round(time.perf_counter() - t0, 2),
        "resumed": sorted(done),
        "synthesis": synth,
        "pdf": pdf_note,
        "districts": {d.code: results[d.code] for d in selected if d.code in results},
    }
    write_json(manifest_path, manifest)
    write_index(out, manifest, lang)
    failed = [k for k, v in manifest["districts"].items() if v["status"] != "ok"]
    problems = [f"{k} ({manifest['districts'][k]['error'][:200]})" for k in failed]
    if synth.get("status") != "ok":
        problems.append(f"synthesis ({synth.get('error', '')[:200]})")
    if problems:
        raise RunFailedError(
            f"{len(failed)} of {len(selected)} districts failed: "
            + "; ".join(problems)
            + f". See {out / 'index.html'}; "
            "fix the cause and rerun with --resume to redo only what failed."
        )
    return manifest


def build_synthesis(out: Path, lang: str, data_dir: Path, results: dict) -> dict:
    """Run the synthesis notebook over the run folder and export it (failures recorded, not raised)."""
    import papermill

    from analysis.export import notebook_to_html

    write_json(
        out / MANIFEST, {"lang": lang, "districts": results}
    )  # lets the synthesis list failed districts
    tmp = Path(tempfile.mkdtemp(prefix=".synthesis.tmp-", dir=out))
    try:
        papermill.execute_notebook(
            str(paths.SYNTHESIS_NOTEBOOK),
            str(tmp / "synthesis.ipynb"),
            parameters={"run_dir": str(out), "lang": lang},
            cwd=str(paths.NOTEBOOKS_DIR),
            progress_bar=False,
            kernel_name="python3",
            extra_arguments=KERNEL_ARGS,
        )
        notebook_to_html(
            tmp / "synthesis.ipynb", tmp / "synthesis.html", lang, index_href="index.html"
        )
        for name in ("synthesis.ipynb", "synthesis.html"):
            os.replace(tmp / name, out / name)
        return {"status": "ok", "html": "synthesis.html"}
    except Exception as e:
        return {
            "status": "failed",
            "error": f"{type(e).__name__}: {getattr(e, 'evalue', e)}"[:1000],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_index(out: Path, manifest: dict, lang: str) -> Path:
    """``index.html`` of a run (see :func:`analysis.report.pages.write_index`)."""
    from analysis.report.pages import write_index as _write

    return _write(out, manifest, lang)


def _data_report_job(out: Path, data_dir: Path, lang: str) -> Path:
    from analysis.dataset import load_dataset

    return write_data_report(out, load_dataset(data_dir), lang)


def write_data_report(out: Path, ds, lang: str) -> Path:
    """The data-quality page (see :func:`analysis.report.pages.write_data_report`)."""
    from analysis.report.pages import write_data_report as _write

    return _write(out, ds, lang)


def run_from_args(args) -> int:
    selected = select_districts(args.district, args.province, args.all, args.data)
    out = args.out or _default_out(args.province, args.district, args.lang)
    extra = {}
    for p in args.param:
        if "=" not in p:
            raise ParameterError(f"--param needs NAME=VALUE, got {p!r}")
        k, v = p.split("=", 1)
        extra[k.strip()] = v
    notebook = Path(args.notebook) if getattr(args, "notebook", None) else paths.DISTRICT_NOTEBOOK
    try:
        m = run(
            selected,
            args.data,
            out,
            args.lang,
            args.jobs,
            args.resume,
            extra,
            notebook,
            pdf=getattr(args, "pdf", False),
        )
    except RunFailedError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    if m.get("pdf"):
        print(m["pdf"], file=sys.stderr)
    ok = sum(v["status"] == "ok" for v in m["districts"].values())
    print(
        f"{ok} of {len(m['districts'])} districts done in {m['seconds']:.0f} s: {out / 'index.html'}"
    )
    return 0
