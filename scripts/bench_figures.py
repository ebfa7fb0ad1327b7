"""Benchmark: the four figures of a district brief, built and embedded as in the brief.

For a few districts of a national example folder (written into a temporary folder from seed 1
when ``--data`` is not given), each district is prepared and estimated once (not timed), then
its figures (event study, love plot, overlap, status transitions) are built by
:mod:`analysis.report.figures` and embedded by :func:`analysis.report.figure_html`, as
:func:`analysis.report.brief.show_figures` does, ``--repeat`` times. Printed: the median milliseconds
per figure and per district (the sum of a district's four figures), and the bytes the images
add to a page (the ``<figure>`` blocks with their inline SVG). ``--save DIR`` writes the SVGs
to look at. Run with `make bench`; the figures go into the README.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # what the notebook's inline backend renders with

import numpy as np  # noqa: E402

from analysis import district as steps  # noqa: E402
from analysis.inputs.dataset import load_dataset  # noqa: E402
from analysis.inputs.example_data import write_example  # noqa: E402
from analysis.report import brief, figure_html, words  # noqa: E402  # noqa: E402
from analysis.report import figures as plots

DISTRICTS = ("64.02", "14.05", "35.12", "32.04", "73.13")
KINDS = ("event_study", "love_plot", "overlap", "transitions")


def builders(data, main, cross, desc, lang: str) -> dict:
    """The figures of :func:`analysis.report.brief.show_figures`, as (build, alt, caption) per kind."""
    w = words(lang)
    out = {}
    if main.staggered is not None and len(main.staggered.event_study):
        es = main.staggered.event_study
        out["event_study"] = (
            lambda: plots.event_study(es, lang, w.outcome(data.design.outcome)),
            brief._alt_event(es, w),
            w.t("fig.event"),
        )
    if cross.balance is not None and len(cross.balance):
        b = cross.balance
        out["love_plot"] = (lambda: plots.love_plot(b, lang), "balance", w.t("fig.balance"))
    if cross.propensity is not None and cross.data is not None:
        d = cross.data["_d"].to_numpy()
        s = cross.propensity.score
        out["overlap"] = (lambda: plots.overlap(s, d, lang), "overlap", w.t("fig.overlap"))
    if len(desc.transitions):
        tr = desc.transitions
        out["transitions"] = (
            lambda: plots.transitions(tr, lang),
            "transitions",
            w.t("fig.transitions"),
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="national example folder (default: write one)")
    ap.add_argument("--districts", default=",".join(DISTRICTS), help="comma-separated codes")
    ap.add_argument("--repeat", type=int, default=5, help="renders per figure (median taken)")
    ap.add_argument("--lang", default="id", choices=("id", "en"))
    ap.add_argument("--save", type=Path, help="folder for the SVGs (<district>_<figure>.svg)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data
        if folder is None:
            folder = Path(tmp) / "nation"
            write_example(folder, province="all", seed=1)
        ds = load_dataset(folder)
        spec = steps.Specification(inference="analytic")  # figures only: skip the bootstrap
        cases = []
        for code in args.districts.split(","):
            data = steps.prepare_dataset(ds, code.strip(), spec=spec)
            if not data.applicable:
                print(f"{code}: skipped ({data.reason})")
                continue
            desc = steps.describe_district(data)
            est = steps.estimate_main(data)
            cross = steps.estimate_cross_section(data)
            cases.append((data, builders(data, est, cross, desc, args.lang)))

    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    # as in a report kernel (analysis.batch.forkserver): what is loaded before the figures is kept out
    # of the collector's reach, so its collections walk only what the figures allocate
    gc.collect()
    gc.freeze()
    # warm-up: first-call costs (font cache, catalogs) are paid once per worker, not per district
    for build, alt, cap in cases[0][1].values():
        figure_html(build(), alt, cap, args.lang)

    per_kind: dict[str, list[float]] = {k: [] for k in KINDS}
    per_district, per_district_cpu, page_bytes = [], [], []
    for data, figs in cases:
        times = {k: [] for k in figs}
        cpu = []
        for _ in range(args.repeat):
            c0 = time.process_time()
            for kind, (build, alt, cap) in figs.items():
                t0 = time.perf_counter()
                figure_html(build(), alt, cap, args.lang)
                times[kind].append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        for k, v in med.items():
            per_kind[k].append(v)
        per_district_cpu.append(statistics.median(cpu) * 1000)
        uris = {}
        for kind, (build, alt, cap) in figs.items():
            html = str(figure_html(build(), alt, cap, args.lang))
            uris[kind] = html
        size = sum(len(h) for h in uris.values())
        per_district.append(sum(med.values()))
        page_bytes.append(size)
        code = data.district.code
        print(
            f"{code} {data.district.name[:22]:<22} "
            + "  ".join(f"{k} {v:5.0f} ms" for k, v in med.items())
            + f"  | district {sum(med.values()):5.0f} ms (CPU {per_district_cpu[-1]:4.0f} ms),"
            + f" images {size / 1024:5.1f} KB"
        )
        if args.save:
            for kind, html in uris.items():
                svg = re.search(r"<svg\b.*?</svg>", html, flags=re.S).group(0)
                (args.save / f"{code}_{kind}.svg").write_text(svg, encoding="utf-8")

    print(
        "median per figure: "
        + ", ".join(f"{k} {statistics.median(v):.0f} ms" for k, v in per_kind.items() if v)
    )
    print(
        f"median per district (4 figures, built and embedded): "
        f"{statistics.median(per_district):.0f} ms (CPU time of this process "
        f"{statistics.median(per_district_cpu):.0f} ms) over {len(per_district)} districts; "
        f"images per page: median {np.median(page_bytes) / 1024:.1f} KB"
    )


if __name__ == "__main__":
    main()
