"""Figures as the reader sees them: every label inside the canvas with the layout's padding, the
transitions heatmap showing what seaborn's heatmap showed, and the embedded PNG being the whole
figure at the resolution asked for."""

from __future__ import annotations

import base64
import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import seaborn as sns  # noqa: E402
from PIL import Image  # noqa: E402

from analysis.report import figures as plots  # noqa: E402
from analysis.report import png_data_uri, words  # noqa: E402
from analysis.schema import IDM_STATUSES  # noqa: E402

COVARIATES = [
    "penduduk_log",
    "jarak_kabupaten_km",
    "jarak_kecamatan_km",
    "tambang_dekat",
    "perkebunan_dekat",
    "dana_desa_juta",
    "baseline",
]


def _transitions_frame(rng) -> pd.DataFrame:
    rows = []
    for group in ("bermitra", "lainnya"):
        for a in IDM_STATUSES:
            for b in IDM_STATUSES:
                # the partnered group has no desa starting SANGAT TERTINGGAL: a blank row
                empty = group == "bermitra" and a == IDM_STATUSES[0]
                rows.append((group, a, b, 0 if empty else int(rng.integers(0, 1500))))
    tr = pd.DataFrame(rows, columns=["kelompok", "status_idm_awal", "status_idm_akhir", "n"])
    # a status outside the five (left out of the matrix, as pivot_table + reindex did)
    return pd.concat(
        [tr, pd.DataFrame([("lainnya", "TIDAK ADA", "MAJU", 7)], columns=tr.columns)],
        ignore_index=True,
    )


def _figures(lang: str) -> dict[str, plt.Figure]:
    rng = np.random.default_rng(3)
    e = np.arange(-6, 7)
    att = rng.normal(0, 1234.5, len(e))  # wide tick labels: "-2.000,000"
    es = pd.DataFrame(
        {
            "e": e,
            "att": att,
            "ci_low": att - 900,
            "ci_high": att + 900,
            "reliable": np.abs(e) < 5,
        }
    )
    balance = pd.DataFrame(
        {
            "covariate": COVARIATES,
            "smd": rng.normal(0, 0.5, len(COVARIATES)),
            "smd_weighted": rng.normal(0, 0.05, len(COVARIATES)),
        }
    )
    forest = pd.DataFrame(
        {
            "label": [
                "Kabupaten Kepulauan Siau Tagulandang Biaro",
                "Kabupaten Penukal Abab Lematang Ilir",
                "Kota Samarinda",
                "Gabungan (efek acak, HKSJ)",
            ],
            "estimate": [0.01, -0.02, 0.005, 0.001],
            "ci_low": [-0.01, -0.05, -0.01, -0.005],
            "ci_high": [0.03, 0.01, 0.02, 0.007],
            "kind": ["district", "district", "district", "pooled"],
            "estimable": True,
        }
    )
    score = rng.uniform(0, 1, 400)
    treated = (rng.uniform(0, 1, 400) < score).astype(int)
    return {
        "event_study": plots.event_study(es, lang, "Indeks Ketahanan Lingkungan (IKL), 2018-2024"),
        "love_plot": plots.love_plot(balance, lang),
        "overlap": plots.overlap(score, treated, lang),
        "transitions": plots.transitions(_transitions_frame(rng), lang),
        "forest": plots.forest(forest, lang, "Indeks Desa Membangun (IDM)"),
    }


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_label_is_inside_the_canvas_with_the_padding(lang):
    """The layout is computed from the labels without drawing; drawn, the figure's ink (tick
    labels, axis labels, titles, legends) must lie inside the canvas, and no side may carry
    more than the padding of empty space (a margin reserved for nothing)."""
    pad = plots.PAD * matplotlib.rcParams["font.size"] / 72
    px = 1.5 / plots.DPI  # rounding of text extents to whole pixels
    for name, fig in _figures(lang).items():
        fig.canvas.draw()
        ink = fig.get_tightbbox(fig.canvas.get_renderer())
        w, h = fig.get_size_inches()
        gaps = {"left": ink.x0, "bottom": ink.y0, "right": w - ink.x1, "top": h - ink.y1}
        for side, gap in gaps.items():
            assert pad - px <= gap <= pad + px, (name, side, gap, pad)
        plt.close(fig)


def test_fit_margins_fits_long_rotated_labels_on_panels_side_by_side():
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=plots.DPI, sharey=True)
    for i, ax in enumerate(axes):
        ax.set_yticks([0, 1, 2], ["a long category label", "b", "c"])
        ax.set_xticks([0, 1], ["another long label, rotated", "x"], rotation=30, ha="right")
        ax.set_xlim(0, 1)
        ax.set_ylabel("status at the start")
        ax.set_xlabel("status at the end")
        ax.set_title(f"panel {i}")
        ax.tick_params(axis="y", labelleft=True)
    plots.fit_margins(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ink = fig.get_tightbbox(r)
    w, h = fig.get_size_inches()
    assert ink.x0 >= 0 and ink.y0 >= 0 and ink.x1 <= w and ink.y1 <= h
    # the second panel's tick labels and axis label stay clear of the first panel
    first = axes[0].get_window_extent(r)
    second = [t.get_window_extent(r) for t in axes[1].get_yticklabels()]
    second.append(axes[1].yaxis.label.get_window_extent(r))
    second += [t.get_window_extent(r) for t in axes[1].get_xticklabels()]
    assert min(b.x0 for b in second if b.width) > first.x1
    plt.close(fig)


def test_transitions_heatmap_shows_what_seaborn_showed():
    """Same cell colours, same counts written in the same text colours, same blank rows, same
    tick labels as ``seaborn.heatmap(share, cmap="Blues", vmin=0, vmax=1, annot=counts)`` with
    the counts written in the brief's notation (1.234 in Bahasa Indonesia)."""
    tr = _transitions_frame(np.random.default_rng(5))
    fig = plots.transitions(tr, "id")
    short = [s.replace("SANGAT ", "S. ") for s in IDM_STATUSES]
    for ax, group in zip(fig.axes, ("bermitra", "lainnya"), strict=True):
        m = (
            tr[tr["kelompok"] == group]
            .pivot_table(
                index="status_idm_awal",
                columns="status_idm_akhir",
                values="n",
                aggfunc="sum",
                observed=False,
            )
            .reindex(index=list(IDM_STATUSES), columns=list(IDM_STATUSES))
            .fillna(0)
        )
        share = m.div(m.sum(axis=1).replace(0, np.nan), axis=0)
        ref_fig, ref = plt.subplots()
        sns.heatmap(
            share,
            ax=ref,
            vmin=0,
            vmax=1,
            cmap="Blues",
            cbar=False,
            annot=m.astype(int).map(lambda v: words("id").int(int(v))),
            fmt="",
            annot_kws={"size": plots.SMALLEST},
        )
        ours, theirs = ax.collections[0], ref.collections[0]
        ours.update_scalarmappable()
        theirs.update_scalarmappable()
        np.testing.assert_allclose(
            np.ma.filled(ours.get_array(), -1), np.ma.filled(theirs.get_array(), -1)
        )
        np.testing.assert_allclose(ours.get_facecolors(), theirs.get_facecolors())

        def cells(a):
            return sorted(
                (round(t.get_position()[1], 1), round(t.get_position()[0], 1), t.get_text())
                + (t.get_fontsize(), t.get_ha(), t.get_va())
                + tuple(matplotlib.colors.to_rgba(t.get_color()))
                for t in a.texts
            )

        assert cells(ax) == cells(ref)
        assert ax.get_ylim() == ref.get_ylim() and ax.get_xlim() == ref.get_xlim()
        assert [t.get_text() for t in ax.get_xticklabels()] == short
        assert [t.get_text() for t in ax.get_yticklabels()] == short
        plt.close(ref_fig)
    n = words("id").int(int(tr.loc[tr["kelompok"] == "bermitra", "n"].sum()))
    assert fig.axes[0].get_title() == f"bermitra (n = {n})"
    plt.close(fig)


def test_png_is_the_whole_figure_at_the_resolution_asked_for():
    fig = _figures("id")["love_plot"]
    w, h = fig.get_size_inches()
    for dpi in (96, 72):
        with matplotlib.rc_context({"savefig.bbox": "tight"}):
            uri = png_data_uri(fig, dpi=dpi)
        img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert img.mode == "P" and img.size == (int(w * dpi), int(h * dpi))
        rgb = np.asarray(img.convert("RGB"))
        assert len(np.unique(rgb.reshape(-1, 3), axis=0)) <= 96
        assert (rgb[0, 0] == 255).all()  # the background stays white, not a near-white
    plt.close(fig)


def test_labels_too_long_for_the_canvas_fall_back_instead_of_failing():
    fig, ax = plt.subplots(figsize=(4, 2), dpi=plots.DPI)
    ax.set_yticks([0, 1], ["a label far longer than the whole figure is wide, " * 2, "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tight_layout says it cannot fit them either
        plots.fit_margins(fig)
    fig.canvas.draw()
    plt.close(fig)


def test_overlap_axes_and_transition_counts_follow_the_briefs_notation():
    rng = np.random.default_rng(1)
    score, treated = rng.uniform(0.05, 0.9, 300), (rng.uniform(size=300) < 0.2).astype(int)
    for lang, mark in (("id", "0,4"), ("en", "0.4")):
        fig = plots.overlap(score, treated, lang)
        fig.canvas.draw()
        assert mark in [t.get_text() for t in fig.axes[0].get_xticklabels()]
        plt.close(fig)
    tr = pd.DataFrame(
        {
            "kelompok": ["lainnya", "bermitra"],
            "status_idm_awal": ["MAJU", "MAJU"],
            "status_idm_akhir": ["MANDIRI", "MAJU"],
            "n": [1234, 3],
        }
    )
    for lang, count in (("id", "1.234"), ("en", "1,234")):
        fig = plots.transitions(tr, lang)
        assert count in [t.get_text() for t in fig.axes[1].texts]
        plt.close(fig)
