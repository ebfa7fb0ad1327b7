"""Command line: ``python -m analysis {ingest,validate,example-data,run,registry-template}``.

Errors the user can fix are printed as plain messages (exit status 2), never as tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import get_args

from analysis import __version__, paths
from analysis.batch.executors import EXECUTORS, SCHEDULER_ENV
from analysis.batch.kernels import KERNEL_MEMORY_MB, PRELOAD_DEFAULT
from analysis.errors import (
    AnalysisError,
    OutputExistsError,
    ParameterError,
    RunFailedError,
    missing_path,
)
from analysis.provenance import git_commit
from analysis.report.catalog import languages
from analysis.report.messages import render, say

DESCRIPTION = """\
Compare desa that signed third-party partnerships (Kerja Sama Desa) with comparable desa that
did not, on welfare indicators (IDM and its components), district by district.

Typical use:
  python -m analysis ingest --idm idm2023.xlsx idm2024.xlsx --partnerships registry.xlsx --out data/kaltim
  python -m analysis validate --data data/kaltim
  python -m analysis run --province 64 --data data/kaltim
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m analysis``: one sub-command per step of the data's journey.

    Returns
    -------
    argparse.ArgumentParser
        The parser with the sub-commands ``ingest``, ``validate``, ``example-data`` and ``run``.
    """
    p = argparse.ArgumentParser(
        prog="python -m analysis",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action=_Version, help="print the version and the commit, then exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_ingest(sub)
    _add_validate(sub)
    _add_example_data(sub)
    _add_run(sub)
    _add_registry_template(sub)
    _add_plan(sub)
    _add_evaluate(sub)
    return p


def version_text() -> str:
    """``analysis <version> (commit <hash>)``, or without the commit when it is not known.

    Returns
    -------
    str
        The package version and the commit the code comes from (:func:`provenance.git_commit`:
        the checkout's ``HEAD``, or the commit an installed wheel was built from).
    """
    commit = git_commit()
    return f"analysis {__version__}" + ("" if commit == "unknown" else f" (commit {commit})")


class _Version(argparse.Action):
    """``--version``, worked out only when asked (the commit costs a call to git)."""

    def __init__(self, option_strings, dest, **kw):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def _lang_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--lang``: the language of ``what`` and of every message a command prints (default id)."""
    parser.add_argument(
        "--lang",
        default="id",
        choices=languages(),
        help=f"language of {what} (default id; one per catalog in src/analysis/report/locale)",
    )


def _data_option(parser: argparse.ArgumentParser) -> None:
    """``--data``: the processed data folder (validate and run)."""
    parser.add_argument(
        "--data",
        type=Path,
        default=paths.EXAMPLE_DIR,
        metavar="DIR",
        help="data folder (default: the example data)",
    )


def _files_option(
    parser: argparse.ArgumentParser, flag: str, help: str, metavar: str = "FILE"
) -> None:
    """An option taking one or more paths (``--idm a.xlsx b.xlsx``), none by default."""
    parser.add_argument(flag, nargs="+", type=Path, default=[], metavar=metavar, help=help)


def _add_ingest(sub: argparse._SubParsersAction) -> None:
    """The ``ingest`` sub-command: raw files in, checked tables out."""
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
    _lang_option(g, "data_quality.md")
    _files_option(g, "--idm", "IDM workbooks (one per year) or tidy welfare CSV/XLSX")
    _files_option(g, "--welfare", "tidy welfare CSV/XLSX (kode_desa, tahun, iks, ike, ikl)")
    g.add_argument(
        "--partnerships",
        type=Path,
        metavar="FILE",
        help="partnership registry (template: data/templates/)",
    )
    g.add_argument("--villages", type=Path, metavar="FILE", help="village covariates CSV/XLSX")
    g.add_argument(
        "--columns",
        type=Path,
        metavar="MAP.toml",
        help="column map for a --villages file whose headers are not recognised ([columns]: "
        'villages column = "header as in the file"; ingest writes one to fill in)',
    )
    g.add_argument(
        "--coordinates",
        type=Path,
        metavar="FILE",
        help="desa points CSV/XLSX (kode_desa, latitude, longitude, optional sumber; Kemendagri "
        "codes) replacing the shipped centroids of those desa (data/README.md)",
    )
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
    _ingest_reading_options(g)
    _ingest_more_sources(g)
    g.add_argument("--title", help="title recorded in dataset.json")


def _ingest_reading_options(g: argparse.ArgumentParser) -> None:
    """How ingest reads text: decimal mark, date order, encoding, column maps."""
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
    _files_option(
        g,
        "--layout",
        "column map(s) for IDM workbooks whose layout is not recognised (an unrecognised "
        "workbook makes ingest write one to fill in)",
        metavar="MAP.toml",
    )


def _ingest_more_sources(g: argparse.ArgumentParser) -> None:
    """Ingest's other sources: JSON records, Indeks Desa, a code crosswalk, where maps go."""
    _files_option(
        g,
        "--api",
        "folder(s) of the Ministry's per-village JSON records (open/api/desa/rumusan/KODE/TAHUN)",
        metavar="DIR",
    )
    _files_option(
        g,
        "--indeks-desa",
        "Indeks Desa (2025+) files: kept as a separate series, never spliced onto IDM",
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


def _add_validate(sub: argparse._SubParsersAction) -> None:
    """The ``validate`` sub-command: check a processed data folder."""
    v = sub.add_parser(
        "validate",
        help="check a processed data folder against the data contracts",
        description="Check every table in a data folder against the contracts in data/README.md. "
        "Prints each problem with file, row, column, value and the fix; exit status 2 when any.",
    )
    _data_option(v)
    _lang_option(v, "the messages")


#: The ``example-data`` options passed on to :func:`analysis.inputs.example_data.write_example`.
EXAMPLE_OPTIONS = (
    "province",
    "seed",
    "force",
    "effect_scale",
    "spillover_km",
    "spillover_effect",
    "indeks_desa",
)


def _add_example_data(sub: argparse._SubParsersAction) -> None:
    """The ``example-data`` sub-command: the synthetic panel with known effects."""
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
    _lang_option(e, "the messages")
    e.add_argument(
        "--effect-scale",
        type=float,
        default=1.0,
        metavar="S",
        help="multiply every true effect by S (0 = placebo: every true effect zero; default 1)",
    )
    e.add_argument(
        "--spillover-km",
        type=float,
        default=0.0,
        metavar="R",
        help="simulate spillovers onto never-partnered desa within R km of a partnered desa "
        "(default 0: none; needs --spillover-effect)",
    )
    e.add_argument(
        "--spillover-effect",
        type=float,
        default=0.0,
        metavar="E",
        help="the spillover as a share of the partner's effect, from the partner's start "
        "(e.g. 0.5; negative: neighbours lose; default 0: none); truth.json records it",
    )
    e.add_argument(
        "--indeks-desa",
        action="store_true",
        help="also simulate an Indeks Desa series 2025-2027 with a known effect for the 2025 "
        "MoU desa (truth.json's indeks_desa; default off)",
    )


def _add_plan(sub: argparse._SubParsersAction) -> None:
    """The ``plan`` sub-command: an evaluation fixed on baseline data (plan.json, plan.html)."""
    from analysis.methods.options import DonorRestriction
    from analysis.methods.synthetic import DEFAULT_PLACEBOS

    e = sub.add_parser(
        "plan",
        help="fix an evaluation of new agreements before their outcome exists",
        description="Fix, from the years before the agreements count, the partnered and "
        "comparison desa, the weights, the outcome, the minimum detectable effect, the first "
        "year that can judge them and the decision rule; write plan.json (hashed) and plan.html.",
    )
    e.add_argument("--district", required=True, metavar="D", help="code or name, e.g. Kukar")
    _files_option(e, "--agreements", "registry files holding the new agreements")
    _data_option(e)
    e.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default outputs/plan-<code>)"
    )
    e.add_argument(
        "--donor-pool",
        nargs="*",
        default=["district"],
        choices=list(get_args(DonorRestriction)),
        help="what a comparison desa shares with a partnered one (default: district)",
    )
    e.add_argument("--alpha", type=float, default=0.05, help="level of the test (default 0.05)")
    e.add_argument("--draws", type=int, default=DEFAULT_PLACEBOS, help="placebo sets drawn")
    e.add_argument("--seed", type=int, default=20250826, help="seed of the placebo draws")
    _lang_option(e, "the page")


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    """The ``evaluate`` sub-command: a plan applied to the follow-up year."""
    e = sub.add_parser(
        "evaluate",
        help="apply a plan once its follow-up year exists",
        description="Apply plan.json unchanged (same desa, weights, outcome and test) to a "
        "data folder holding the follow-up year; write evaluation.json and evaluation.html.",
    )
    e.add_argument("--plan", type=Path, required=True, metavar="FILE", help="plan.json")
    _data_option(e)
    e.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default outputs/evaluation-<code>)"
    )
    e.add_argument(
        "--replan",
        action="store_true",
        help="evaluate even if comparison desa changed (the page says the plan was changed)",
    )
    _lang_option(e, "the page")


def _add_registry_template(sub: argparse._SubParsersAction) -> None:
    """The ``registry-template`` sub-command: the partnership registry to fill in."""
    t = sub.add_parser(
        "registry-template",
        help="write the partnership registry template (XLSX with instructions, and CSV)",
        description="Write registry_template.xlsx (a sheet of instructions, one of columns with "
        "drop-down lists and date checks) and registry_template.csv into DIR, for a district office "
        "to fill in and give to 'ingest --partnerships'. Files already there are kept unless --force.",
    )
    t.add_argument(
        "--out", type=Path, default=Path("."), metavar="DIR", help="folder (default: this one)"
    )
    t.add_argument("--force", action="store_true", help="replace template files already in DIR")
    _lang_option(t, "the messages")


def _write_registry_template(out: Path, force: bool, lang: str) -> None:
    """Write the registry template into ``out``; refuse to replace files there without ``force``."""
    from analysis.inputs.registry_template import write_registry_template  # lazy: openpyxl

    names = ("registry_template.xlsx", "registry_template.csv")
    there = [str(out / n) for n in names if (out / n).exists()]
    if there and not force:
        raise OutputExistsError(
            f"{', '.join(there)} already exist; pass --force to replace them or choose another "
            "folder with --out.",
            key="output.template_exists",
            files=there,
        )
    for path in write_registry_template(out):
        print(say("cli.wrote_file", lang, path=str(path)))


def _add_run(sub: argparse._SubParsersAction) -> None:
    """The ``run`` sub-command: district notebooks, briefs, synthesis, index."""
    r = sub.add_parser(
        "run",
        help="run the district report notebooks and build the HTML briefs",
        description="Execute notebooks/district_report.ipynb for each district with papermill, export "
        "policy briefs as self-contained HTML, pool the districts in a synthesis, and write "
        "index.html and manifest.json into --out.",
    )
    _run_selection(r)
    _data_option(r)
    r.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: outputs/<province or run>-<lang>)",
    )
    _lang_option(r, "the briefs")
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
    _run_engine_options(r)
    _run_notebook_options(r)


def _run_selection(r: argparse.ArgumentParser) -> None:
    """Which districts a run covers: ``--district``, ``--province`` or ``--all`` (one of them)."""
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--district",
        action="append",
        metavar="D",
        help="district code or name (repeatable), e.g. 64.02 or 'Kutai Kartanegara'",
    )
    where.add_argument("--province", metavar="P", help="every district of a province, e.g. 64")
    where.add_argument("--all", action="store_true", help="every district with data in --data")


def _run_engine_options(r: argparse.ArgumentParser) -> None:
    """Where and how a run's notebooks execute: executor, scheduler, kernel memory, templates."""
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


def _run_notebook_options(r: argparse.ArgumentParser) -> None:
    """The district notebook a run executes and its extra parameters."""
    r.add_argument(
        "--notebook",
        type=Path,
        default=None,
        metavar="FILE",
        help="district notebook to run (default: notebooks/district_report.ipynb)",
    )
    r.add_argument(
        "--params",
        type=Path,
        metavar="FILE",
        help="notebook parameters from a YAML or TOML file of NAME: VALUE pairs, as papermill's -f "
        "(a --param given too wins)",
    )
    r.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra notebook parameter (checked against the notebook's parameters cell)",
    )
    r.add_argument(
        "--agreements",
        nargs="+",
        metavar="FILE",
        help="agreements files (registry template columns) whose too-recent agreements the "
        "briefs list, merged with the registry by meaning; a relative path is taken from this "
        "folder (default: the package's data/real/kukar_mou_2025.csv; --param agreements= for none)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the sub-command of ``python -m analysis``; errors the user can fix become messages.

    Parameters
    ----------
    argv
        The arguments (default: the process's own).

    Returns
    -------
    int
        The exit status: 0, 2 for an error the user can fix (or a path that cannot be used),
        1 when districts failed in a run, 130 when interrupted.
    """
    args = build_parser().parse_args(argv)
    lang = getattr(args, "lang", "id")
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
                columns=args.columns,
                coordinates=args.coordinates,
            )
            _say_ingested(args, rep)
        elif args.command == "validate":
            from analysis.inputs.validate import validate_folder

            res = validate_folder(args.data)
            tables = [say("cli.rows", args.lang, table=k, n=len(v.table)) for k, v in res.items()]
            print(say("cli.validated", args.lang, data=str(args.data), tables=", ".join(tables)))
        elif args.command == "example-data":
            from analysis.inputs.example_data import write_example

            info = write_example(args.out, **{k: getattr(args, k) for k in EXAMPLE_OPTIONS})
            print(say("cli.example_written", args.lang, out=str(args.out), info=info))
        elif args.command == "registry-template":
            _write_registry_template(args.out, args.force, lang)
        elif args.command in COMMANDS:
            return COMMANDS[args.command](args)
    except (AnalysisError, OSError) as e:  # an OSError: a path that is a folder, unreadable, ...
        print(say("cli.error", lang, text=render(e, lang)), file=sys.stderr)
        return e.exit_code if isinstance(e, AnalysisError) else 2
    except KeyboardInterrupt:
        print(say("error.interrupted", lang), file=sys.stderr)
        return 130
    return 0


def plan_from_args(args: argparse.Namespace) -> int:
    """Write the plan that the ``plan`` sub-command's arguments ask for."""
    from analysis.report.plan_page import plan_command

    out = plan_command(
        args.data, args.district, args.agreements, out=args.out, lang=args.lang,
        donor_pool=tuple(args.donor_pool), alpha=args.alpha, draws=args.draws, seed=args.seed,
    )  # fmt: skip
    print(
        say("cli.plan_written", args.lang, json=str(out / "plan.json"), html=str(out / "plan.html"))
    )
    return 0


def evaluate_from_args(args: argparse.Namespace) -> int:
    """Apply the plan that the ``evaluate`` sub-command's arguments name."""
    from analysis.report.plan_page import evaluate_command

    out = evaluate_command(args.plan, args.data, out=args.out, lang=args.lang, replan=args.replan)
    j, h = str(out / "evaluation.json"), str(out / "evaluation.html")
    print(say("cli.evaluation_written", args.lang, json=j, html=h))
    return 0


def run_from_args(args: argparse.Namespace) -> int:
    """Run the batch that the ``run`` sub-command's arguments ask for and say where it is.

    Parameters
    ----------
    args
        The parsed arguments of ``python -m analysis run``.

    Returns
    -------
    int
        The exit status: 0, or that of :class:`RunFailedError` when a district failed (the
        run's pages are written either way).
    """
    # lazy: pandas and the official frame, which --help and the other sub-commands do without
    from analysis.inputs.frame import resolve_district

    for d in args.district or []:
        resolve_district(d)  # an unknown district fails before any work starts
    from analysis.batch.run import run, select_districts  # lazy: as above

    selected = select_districts(args.district, args.province, args.all, args.data)
    out = args.out or _default_out(args.province, args.district, args.lang)
    notebook = Path(args.notebook) if getattr(args, "notebook", None) else paths.DISTRICT_NOTEBOOK
    if not notebook.is_file():
        raise _no_such("--notebook", notebook, "notebook")
    try:
        m = run(
            selected,
            args.data,
            out,
            args.lang,
            args.jobs,
            args.resume,
            _run_params(args),
            notebook,
            executor=getattr(args, "executor", "embedded"),
            scheduler=getattr(args, "scheduler", None),
            kernel_memory_mb=getattr(args, "kernel_memory", KERNEL_MEMORY_MB),
            preload=not getattr(args, "fresh_kernels", not PRELOAD_DEFAULT),
            pdf=getattr(args, "pdf", False),
        )
    except RunFailedError as e:
        print(say("cli.error", args.lang, text=render(e, args.lang)), file=sys.stderr)
        return e.exit_code
    _say_done(m, out, args.lang)
    return 0


def _say_ingested(args: argparse.Namespace, rep) -> None:
    """Print what ingest wrote, its notes (stderr, in ``--lang``) and the data-quality page."""
    from analysis.ingest import console_notes  # lazy: as the ingest itself

    tables = [say("cli.rows", args.lang, table=k, n=v) for k, v in rep.tables.items()]
    print(say("cli.ingested", args.lang, out=str(args.out), tables=", ".join(tables)))
    for note in console_notes(rep):
        print(say("cli.warning", args.lang, text=render(note, args.lang)), file=sys.stderr)
    print(say("cli.quality_page", args.lang, path=str(args.out / paths.QUALITY_MD)))


def _run_params(args: argparse.Namespace) -> dict[str, str]:
    """The notebook parameters of a run: ``--params FILE``, then ``--param``, then ``--agreements``.

    Raises
    ------
    ParameterError
        ``--agreements`` together with ``--param agreements=...``.
    """
    given = _params(args.param)
    params = {**_params_file(args.params), **given}
    files = getattr(args, "agreements", None)
    if files:
        if "agreements" in given:
            raise ParameterError(
                "--agreements and --param agreements=... both name the agreements files; "
                "give one of them.",
                key="cli.agreements_twice",
            )
        params["agreements"] = ",".join(str(f) for f in files)
    return params


def _params(pairs: list[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` arguments as a dict (values as text, checked later)."""
    extra = {}
    for p in pairs:
        if "=" not in p:
            raise ParameterError(
                f"--param needs NAME=VALUE, got {p!r}", key="cli.param_pair", value=repr(p)
            )
        k, v = p.split("=", 1)
        extra[k.strip()] = v
    return extra


def _as_text(name: str, value: object, path: Path) -> str:
    """A parameter value from a file as the text ``--param`` would carry."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, int | float | str) for v in value):
        return ",".join(str(v) for v in value)
    raise ParameterError(
        f"{path}: parameter {name!r} holds {type(value).__name__} {value!r}; "
        "give a number, true/false, text, or a list of texts (e.g. covariates)",
        key="cli.params_value",
        path=str(path),
        name=repr(name),
        kind=type(value).__name__,
        value=repr(value),
    )


def _params_file(path: Path | None) -> dict[str, str]:
    """``--params FILE``: the parameters of a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file.

    Parameters
    ----------
    path
        The file, or None when ``--params`` was not given.

    Returns
    -------
    dict
        Parameter name -> value as text, checked later like ``--param`` values.

    Raises
    ------
    ParameterError
        When the file is missing or unreadable, is neither YAML nor TOML, or does not hold one
        mapping of names to plain values.
    """
    if path is None:
        return {}
    if not path.is_file():
        raise _no_such("--params", path, "params_file")
    kind = path.suffix.lower()
    if kind not in (".yaml", ".yml", ".toml"):
        raise ParameterError(
            f"--params {path}: name a .yaml, .yml or .toml file",
            key="cli.params_suffix",
            path=str(path),
        )
    try:
        text = path.read_text(encoding="utf-8")
        if kind == ".toml":
            import tomllib

            values = tomllib.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text) or {}
    except OSError as e:
        raise ParameterError(
            f"--params {path}: cannot be read ({e.strerror})",
            key="cli.params_unreadable",
            path=str(path),
            what=OSError(e.errno, e.strerror),
        ) from None
    except Exception as e:  # the parsers' own errors name the line
        raise ParameterError(
            f"--params {path}: not valid {kind[1:].upper()}: {e}",
            key="cli.params_invalid",
            path=str(path),
            format=kind[1:].upper(),
            detail=str(e),
        ) from None
    if not isinstance(values, dict):
        raise ParameterError(
            f"--params {path}: must hold NAME: VALUE pairs, not a {type(values).__name__}",
            key="cli.params_not_mapping",
            path=str(path),
            kind=type(values).__name__,
        )
    return {str(k): _as_text(str(k), v, path) for k, v in values.items()}


def _no_such(flag: str, path: Path, fix: str) -> ParameterError:
    """The error for a path that does not exist: the absolute path tried, and the fix.

    Worded as :func:`analysis.errors.missing_path` words it (where relative paths are taken
    from); ``fix`` is a code of :data:`analysis.errors.FIXES`.
    """
    problem = missing_path(path, "file", fix)
    return ParameterError(
        f"{flag} {problem.file}: {problem.message}. Fix: {problem.fix}",
        key="cli.no_such",
        flag=flag,
        problem=problem,
    )


def _default_out(province: str | None, district: list[str] | None, lang: str) -> Path:
    """``outputs/<province, districts or 'semua'>-<lang>``: the run's folder when no --out."""
    from analysis.inputs.frame import resolve_district  # lazy: imported by run_from_args already

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


def _say_done(manifest: dict, out: Path, lang: str = "id") -> None:
    """Print the run's outcome: the PDF note (stderr), then how many districts and where."""
    m = manifest
    if m.get("pdf"):
        print(m["pdf"], file=sys.stderr)
    ok = sum(v["status"] == "ok" for v in m["districts"].values())
    print(
        say(
            "cli.run_done_scheduler" if m.get("scheduler") else "cli.run_done",
            lang,
            n_ok=ok,
            n_all=len(m["districts"]),
            seconds=round(m["seconds"]),
            executor=m["executor"],
            scheduler=str(m.get("scheduler") or ""),
            index=str(out / "index.html"),
        )
    )


#: Sub-commands whose work is one function of the parsed arguments (returns the exit status).
COMMANDS = {"run": run_from_args, "plan": plan_from_args, "evaluate": evaluate_from_args}
