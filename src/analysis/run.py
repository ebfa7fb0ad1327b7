"""Batch runner: district report notebooks through papermill, briefs as HTML, a synthesis, an
index and a manifest.

Failures are isolated (one district's error never stops the others; its error notebook is kept
under ``failed/``), every file is written whole or not at all, and ``--resume`` redoes only what
is missing or failed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
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
from analysis.provenance import stamp
from analysis.tables import OWNER_MARK, write_file_atomically, write_json

MANIFEST = "manifest.json"


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
    tmp = Path(tempfile.mkdtemp(prefix=f".{code}.tmp-", dir=job.out / "districts"))
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
                )
                break
            except Exception as e:
                if attempt == 1 and _is_kernel_start_error(e):
                    time.sleep(1)
                    continue
                raise
        notebook_to_html(nb_out, tmp / "brief.html", job.lang, title=f"{job.district.name}")
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
    from analysis.validate import validate_folder

    validate_folder(data_dir, purpose="run")  # --all reads the data before run() does
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
) -> dict:
    """Run every selected district and build the synthesis, data report, index and manifest.

    Returns the manifest. Raises ``RunFailedError`` (exit status 1) after writing everything
    when any district failed.
    """
    from analysis.dataset import load_dataset
    from analysis.validate import validate_folder

    data_dir = Path(data_dir).resolve()
    validate_folder(data_dir, purpose="run")  # the same check as ingest and validate, first
    ds = load_dataset(data_dir)
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
        )
        notebook_to_html(
            tmp / "synthesis.ipynb",
            tmp / "synthesis.html",
            lang,
            title="Sintesis" if lang == "id" else "Synthesis",
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


_IDX = {
    "id": {
        "code": "Kode",
        "title": "Hasil analisis kerja sama desa",
        "district": "Kabupaten/kota",
        "status": "Status",
        "evidence": "Kekuatan bukti",
        "brief": "Ringkasan",
        "ok": "selesai",
        "failed": "GAGAL",
        "synthesis": "Sintesis antarkabupaten",
        "data": "Laporan mutu data",
        "na": "tidak berlaku (tidak ada desa)",
        "error": "Penyebab",
        "grades": {
            "strong": "kuat",
            "suggestive": "indikatif",
            "insufficient": "belum cukup",
            "not_estimable": "tidak dapat diperkirakan",
        },
    },
    "en": {
        "code": "Code",
        "title": "Village partnership analysis: results",
        "district": "District",
        "status": "Status",
        "evidence": "Strength of evidence",
        "brief": "Brief",
        "ok": "done",
        "failed": "FAILED",
        "synthesis": "Synthesis across districts",
        "data": "Data-quality report",
        "na": "not applicable (no desa)",
        "error": "Cause",
        "grades": {
            "strong": "strong",
            "suggestive": "suggestive",
            "insufficient": "insufficient",
            "not_estimable": "not estimable",
        },
    },
}


def _page(title: str, body: str, lang: str, synthetic: bool) -> str:
    from analysis.brief import CSS
    from analysis.narrate import t

    banner = (
        f'<div class="synthetic-banner">{html.escape(str(t(lang, "synthetic")))}</div>'
        if synthetic
        else ""
    )
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{CSS}</head>'
        f'<body><div class="brief">{banner}<h1>{html.escape(title)}</h1>{body}{banner}</div></body></html>'
    )


def write_index(out: Path, manifest: dict, lang: str) -> Path:
    tx = _IDX.get(lang, _IDX["id"])
    rows = []
    for code, r in manifest["districts"].items():
        name = html.escape(r.get("name", code))
        if r["status"] == "ok":
            grade = (
                tx["na"]
                if r.get("applicable") is False
                else tx["grades"].get(r.get("evidence") or "", "")
            )
            rows.append(
                f'<tr><td>{html.escape(code)}</td><td><a href="{html.escape(r["brief"])}">{name}</a></td><td>{tx["ok"]}</td>'
                f"<td>{html.escape(grade)}</td></tr>"
            )
        else:
            link = (
                f' (<a href="{html.escape(r["error_notebook"])}">notebook</a>)'
                if r.get("error_notebook")
                else ""
            )
            rows.append(
                f"<tr><td>{html.escape(code)}</td><td>{name}</td><td><b>{tx['failed']}</b>{link}</td>"
                f"<td>{tx['error']}: {html.escape(r.get('error', ''))}</td></tr>"
            )
    syn = manifest.get("synthesis", {})
    syn_link = (
        f'<a href="synthesis.html">{tx["synthesis"]}</a>'
        if syn.get("status") == "ok"
        else f"{tx['synthesis']}: {tx['failed']} ({html.escape(syn.get('error', ''))})"
    )
    body = (
        f'<ul><li>{syn_link}</li><li><a href="data_report.html">{tx["data"]}</a></li></ul>'
        f"<table><tr><th>{tx['code']}</th><th>{tx['district']}</th><th>{tx['status']}</th><th>{tx['evidence']}</th></tr>{''.join(rows)}</table>"
        f"<p class='small'>commit {html.escape(manifest.get('commit', ''))}; {html.escape(manifest.get('created', ''))}</p>"
    )
    return write_file_atomically(
        out / "index.html", _page(tx["title"], body, lang, manifest.get("synthetic", False))
    )


def _data_report_job(out: Path, data_dir: Path, lang: str) -> Path:
    from analysis.dataset import load_dataset

    return write_data_report(out, load_dataset(data_dir), lang)


def write_data_report(out: Path, ds, lang: str) -> Path:
    """The data-quality page: contract checks on the data folder, its ingestion report, file hashes."""
    from analysis.errors import InputFileError
    from analysis.validate import validate_folder

    title = "Laporan mutu data" if lang == "id" else "Data-quality report"
    head = ("tabel", "baris", "catatan") if lang == "id" else ("table", "rows", "notes")
    try:
        outcomes = validate_folder(ds.folder)
        checks = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{len(v.table):,}</td><td>{html.escape(json.dumps({kk: vv for kk, vv in v.notes.items() if not isinstance(vv, list)}, ensure_ascii=False))}</td></tr>"
            for k, v in outcomes.items()
        )
        status = (
            "Semua pemeriksaan kontrak data lolos."
            if lang == "id"
            else "All data-contract checks passed."
        )
    except InputFileError as e:
        checks, status = "", html.escape(str(e))
    md = ds.folder / paths.QUALITY_MD
    ingest_part = (
        f"<h2>Ingest</h2><pre>{html.escape(md.read_text(encoding='utf-8'))}</pre>"
        if md.exists()
        else ""
    )
    hashes = "".join(
        f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v)}</code></td></tr>"
        for k, v in ds.hashes.items()
    )
    body = (
        f"<p>{html.escape(ds.meta.get('title', str(ds.folder)))}</p><p>{status}</p><table><tr><th>{head[0]}</th><th>{head[1]}</th><th>{head[2]}</th></tr>{checks}</table>"
        f"{ingest_part}<h2>SHA-256</h2><table>{hashes}</table>"
    )
    return write_file_atomically(out / "data_report.html", _page(title, body, lang, ds.synthetic))


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
        m = run(selected, args.data, out, args.lang, args.jobs, args.resume, extra, notebook)
    except RunFailedError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    ok = sum(v["status"] == "ok" for v in m["districts"].values())
    print(
        f"{ok} of {len(m['districts'])} districts done in {m['seconds']:.0f} s: {out / 'index.html'}"
    )
    return 0
