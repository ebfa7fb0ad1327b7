"""Command line: ``python -m analysis {ingest,validate,example-data,run}``.

Errors the user can fix are printed as plain messages (exit status 2), never as tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import paths
from analysis.batch.executors import EXECUTORS, SCHEDULER_ENV
from analysis.batch.kernels import KERNEL_MEMORY_MB
from analysis.errors import AnalysisError
from analysis.report.catalog import languages

DESCRIPTION = """\
Compare desa that signed third-party partnerships (Kerja Sama Desa) with comparable desa that
did not, on welfare indicators (IDM and its components), district by district.

Typical use:
  python -m analysis ingest --idm idm2023.xlsx idm2024.xlsx --partnerships registry.xlsx --out data/kaltim
  python -m analysis validate --data data/kaltim
  python -m analysis run --province 64 --data data/kaltim
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analysis",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser(
        "ingest",
        help="read raw IDM workbooks, registry and covariates; write checked tables",
        description="Read the Ministry's yearly IDM workbooks (2015-2024 layouts recognised by their "
        "headers, or any layout through a column map), its per-village JSON records, tidy welfare "
        "files, Indeks Desa files (a separate series), a partnership registry and village covariates "
        "(Kemendagri codes, or BPS codes through a crosswalk); check them against the data contracts "
        "(data/README.md); write Parquet tables and a data-quality report into --out, whole or not at "
        "all, after the folder passes the same check as 'validate' and 'run'.",
    )
    g.add_argument(
        "--lang",
        default="id",
        choices=languages(),
        help="language of data_quality.md (default id; one per catalog in "
        "src/analysis/report/locale)",
    )
    g.add_argument(
        "--idm",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="IDM workbooks (one per year) or tidy welfare CSV/XLSX",
    )
    g.add_argument(
        "--welfare",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="tidy welfare CSV/XLSX (kode_desa, tahun, iks, ike, ikl)",
    )
    g.add_argument(
        "--partnerships",
        type=Path,
        metavar="FILE",
        help="partnership registry (template: data/templates/)",
    )
    g.add_argument("--villages", type=Path, metavar="FILE", help="village covariates CSV/XLSX")
    g.add_argument(
        "--code-system",
        default="kemendagri",
        choices=["kemendagri", "bps"],
        help="code system of the covariates file (declared, never guessed; bps needs --crosswalk)",
    )
    g.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder to create for the processed tables",
    )
    g.add_argument(
        "--force",
        action="store_true",
        help="replace DIR if an earlier ingest wrote it (never a folder of yours)",
    )
    g.add_argument(
        "--decimal",
        default="auto",
        choices=["auto", "dot", "comma"],
        help="decimal mark of numbers stored as text: auto (default) decides per file from cells "
        "that read only one way and refuses a file that mixes marks or leaves it open",
    )
    g.add_argument(
        "--dates",
        default="auto",
        choices=["auto", "dmy", "mdy"],
        help="order of day and month in dates like 05/08/2025: auto (default) decides per file from "
        "dates that read one way (26/08/2025) or a decimal comma, and refuses a file that leaves it open",
    )
    g.add_argument(
        "--encoding",
        default="auto",
        choices=["auto", "utf-8", "cp1252"],
        help="text encoding of CSV files: auto (default) reads UTF-8, or Windows-1252 when the file "
        "cannot be anything else",
    )
    g.add_argument(
        "--layout",
        nargs="+",
        type=Path,
        default=[],
        metavar="MAP.toml",
        help="column map(s) for IDM workbooks whose layout is not recognised (an unrecognised "
        "workbook makes ingest write one to fill in)",
    )
    g.add_argument(
        "--api",
        nargs="+",
        type=Path,
        default=[],
        metavar="DIR",
        help="folder(s) of the Ministry's per-village JSON records (open/api/desa/rumusan/KODE/TAHUN)",
    )
    g.add_argument(
        "--indeks-desa",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="Indeks Desa (2025+) files: kept as a separate series, never spliced onto IDM",
    )
    g.add_argument(
        "--crosswalk",
        type=Path,
        metavar="FILE",
        help="BPS -> Kemendagri code crosswalk (columns kode_bps, kode_kemendagri) for a --villages "
        "file with BPS (Podes) codes; rows it cannot place are counted, never guessed",
    )
    g.add_argument(
        "--map-dir",
        type=Path,
        metavar="DIR",
        help="where to write a column map for an unrecognised layout (default: the folder holding --out)",
    )
    g.add_argument("--title", help="title recorded in dataset.json")

    v = sub.add_parser(
        "validate",
        help="check a processed data folder against the data contracts",
        description="Check every table in a data folder against the contracts in data/README.md. "
        "Prints each problem with file, row, column, value and the fix; exit status 2 when any.",
    )
    v.add_argument(
        "--data",
        type=Path,
        default=paths.EXAMPLE_DIR,
        metavar="DIR",
        help="data folder (default: the example data)",
    )

    e = sub.add_parser(
        "example-data",
        help="write the synthetic example panel with its known true effects",
        description="Simulate villages, a 2018-2024 IDM panel and a partnership registry on the official "
        "frame, calibrated to real East Kalimantan IDM values, with the true effects in truth.json. "
        "Same seed, same bytes. Every table is flagged SYNTHETIC.",
    )
    e.add_argument(
        "--province",
        default="64",
        help="province code (64 = East Kalimantan) or 'all' for the nation",
    )
    e.add_argument(
        "--out", type=Path, default=paths.EXAMPLE_DIR, metavar="DIR", help="folder to write"
    )
    e.add_argument("--seed", type=int, default=20250826, help="random seed (default 20250826)")
    e.add_argument(
        "--force", action="store_true", help="replace DIR if example-data wrote it before"
    )
    e.add_argument(
        "--effect-scale",
        type=float,
        default=1.0,
        metavar="S",
        help="multiply every true effect by S (0 = placebo: every true effect zero; default 1)",
    )

    r = sub.add_parser(
        "run",
        help="run the district report notebooks and build the HTML briefs",
        description="Execute notebooks/district_report.ipynb for each district with papermill, export "
        "policy briefs as self-contained HTML, pool the districts in a synthesis, and write "
        "index.html and manifest.json into --out.",
    )
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--district",
        action="append",
        metavar="D",
        help="district code or name (repeatable), e.g. 64.02 or 'Kutai Kartanegara'",
    )
    where.add_argument("--province", metavar="P", help="every district of a province, e.g. 64")
    where.add_argument("--all", action="store_true", help="every district with data in --data")
    r.add_argument(
        "--data",
        type=Path,
        default=paths.EXAMPLE_DIR,
        metavar="DIR",
        help="data folder (default: the example data)",
    )
    r.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: outputs/<province or run>-<lang>)",
    )
    r.add_argument(
        "--lang",
        default="id",
        choices=languages(),
        help="language of the briefs (default id; one per catalog in src/analysis/report/locale)",
    )
    r.add_argument(
        "--pdf",
        action="store_true",
        help="also print each brief to brief.pdf (A4) with headless Chromium; skipped with a "
        "message when no Chromium is installed",
    )
    r.add_argument("--jobs", type=int, default=2, help="districts run in parallel (default 2)")
    r.add_argument(
        "--resume",
        action="store_true",
        help="redo only districts that are missing or failed in --out",
    )
    r.add_argument(
        "--executor",
        default="embedded",
        choices=list(EXECUTORS),
        help="where districts run: embedded (local worker processes, default) or dask "
        "(a LocalCluster of --jobs workers, or the cluster at --scheduler)",
    )
    r.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler, e.g. tcp://host:8786 (with --executor dask; "
        f"default: ${SCHEDULER_ENV} if set, else a LocalCluster)",
    )
    r.add_argument(
        "--kernel-memory",
        type=int,
        default=KERNEL_MEMORY_MB,
        metavar="MB",
        help=f"cap on each notebook kernel's memory in MiB (default {KERNEL_MEMORY_MB}; 0: no cap)",
    )
    r.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="start every notebook kernel from scratch instead of forking it from a worker's "
        "template process that has the libraries imported already (slower; same results)",
    )
    r.add_argument(
        "--notebook",
        type=Path,
        default=None,
        metavar="FILE",
        help="district notebook to run (default: notebooks/district_report.ipynb)",
    )
    r.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra notebook parameter (checked against the notebook's parameters cell)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "ingest":
            from analysis.ingest import ingest

            rep = ingest(
                idm=args.idm,
                welfare=args.welfare,
                partnerships=args.partnerships,
                villages=args.villages,
                out=args.out,
                code_system=args.code_system,
                force=args.force,
                title=args.title,
                decimal=args.decimal,
                dates=args.dates,
                encoding=args.encoding,
                layout=args.layout,
                api=args.api,
                crosswalk=args.crosswalk,
                indeks_desa=args.indeks_desa,
                map_dir=args.map_dir,
                lang=args.lang,
            )
            print(f"Wrote {args.out}: " + ", ".join(f"{k} {v} rows" for k, v in rep.tables.items()))
            print(f"Data-quality report: {args.out / paths.QUALITY_MD}")
        elif args.command == "validate":
            from analysis.inputs.validate import validate_folder

            res = validate_folder(args.data)
            print(
                f"{args.data}: "
                + ", ".join(f"{k} {len(v.table)} rows" for k, v in res.items())
                + " - all checks passed"
            )
        elif args.command == "example-data":
            from analysis.inputs.example_data import write_example

            info = write_example(
                args.out,
                province=args.province,
                seed=args.seed,
                force=args.force,
                effect_scale=args.effect_scale,
            )
            print(f"Wrote synthetic example data to {args.out} ({info})")
        elif args.command == "run":
            from analysis.inputs.frame import resolve_district

            for d in args.district or []:
                resolve_district(d)  # an unknown district fails before any work starts
            from analysis.batch.run import run_from_args

            return run_from_args(args)
    except AnalysisError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # a path that is a folder, unreadable, or on a full disk
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(
            f"error: {where}{e.strerror or e}. Fix: check the path and its permissions",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    return 0
