"""Figures for briefs and notebooks (matplotlib/seaborn), labelled in the brief's language.

Figures are drawn :data:`WIDTH` inches wide, with no text under :data:`SMALLEST` points, so
that pages (which inline them as SVG, :func:`analysis.report.figure_html`) show every label at
9 CSS px or more on a 390 px phone; :data:`DPI` is the resolution of a raster copy
(:func:`analysis.report.png_data_uri`) and of the layout's measurements. They are laid out by :func:`fit_margins`: margins
computed from the extents of the labels each side carries, measured once per process, instead
of ``tight_layout`` (which renders every text of the figure once more to measure it).
"""

from __future__ import annotations

import functools
import textwrap

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

from analysis.report import words
from analysis.schema import IDM_STATUSES

PALETTE = {"partnered": "#1b6ca8", "other": "#a0a0a0"}

#: Resolution figures are built and embedded at (pixels per inch).
DPI = 96

#: Width every figure is drawn at (inches). Pages show figures at most this wide on a phone
#: (a 390 px screen leaves about 370 CSS px, 0.8 of it), so with :data:`SMALLEST` point text
#: the smallest label stays above 9 CSS px there.
WIDTH = 4.8

#: Smallest font size of any text in a figure (points; legends, heatmap cells, ticks).
SMALLEST = 9

#: Space kept around the outermost labels and between panels, in font sizes (as
#: ``tight_layout``'s default ``pad``).
PAD = 1.08


def _wrap(text: str, width: int = 30) -> str:
    """``text`` broken into lines of at most ``width`` characters (at spaces).

    Long legends and district names would otherwise take the width of a phone-sized figure.
    """
    return textwrap.fill(str(text), width, break_long_words=False)


def _figure(height: float, nrows: int = 1, **kw):
    return plt.subplots(nrows, 1, figsize=(WIDTH, height), dpi=DPI, **kw)


@functools.cache
def _measuring_figure() -> Figure:
    fig = Figure(figsize=(1, 1), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


@functools.lru_cache(maxsize=4096)
def _text_box(
    text: str, font: FontProperties, rotation: float, ha: str, va: str, mode: str, dpi: float
) -> tuple[float, float, float, float]:
    """Box (x0, y0, x1, y1; inches from the anchor) of a text as Agg draws it at ``dpi``.

    Hinting makes the size in inches depend a little on the resolution. The result is cached.
    """
    fig = _measuring_figure()
    t = Text(0, 0, text, fontproperties=font, rotation=rotation, ha=ha, va=va, rotation_mode=mode)
    t.set_figure(fig)
    bb = t.get_window_extent(fig.canvas.get_renderer(), dpi=dpi)
    return bb.x0 / dpi, bb.y0 / dpi, bb.x1 / dpi, bb.y1 / dpi


def _box(t: Text) -> tuple[float, float, float, float]:
    if not t.get_visible() or not t.get_text():
        return 0.0, 0.0, 0.0, 0.0
    return _text_box(
        t.get_text(),
        t.get_fontproperties().copy(),
        t.get_rotation(),
        t.get_horizontalalignment(),
        t.get_verticalalignment(),
        t.get_rotation_mode(),
        t.get_figure(root=True).dpi,
    )


def _tick_labels(axis) -> list[tuple[float, Text]]:
    """(position along the axis as a fraction of its length, label) of the labels drawn."""
    locs = axis.get_majorticklocs()
    labels = axis.get_major_formatter().format_ticks(locs)
    lo, hi = axis.get_view_interval()
    out = []
    for tick, loc, label in zip(axis.get_major_ticks(len(locs)), locs, labels, strict=True):
        if min(lo, hi) <= loc <= max(lo, hi) and tick.label1.get_visible():
            tick.label1.set_text(label)
            out.append(((loc - lo) / (hi - lo), tick.label1))
    return out


def _needs(ax, axw: float, axh: float) -> dict[str, float]:
    """Inches each side of an axes (``axw`` x ``axh``) its labels and titles reach out."""
    pt = 1 / 72
    need = dict.fromkeys(("left", "right", "bottom", "top"), 0.0)

    def reach(side: str, inches: float) -> None:
        need[side] = max(need[side], inches)

    xt, yt = _tick_labels(ax.xaxis), _tick_labels(ax.yaxis)
    if xt:  # anchored below the axes at each tick
        tick = ax.xaxis.get_major_ticks()[0]
        off = (tick.get_tick_padding() + tick.get_pad()) * pt
        for f, t in xt:
            x0, y0, x1, _ = _box(t)
            reach("bottom", off - y0)
            reach("left", -x0 - f * axw)
            reach("right", x1 - (1 - f) * axw)
    if ax.xaxis.label.get_text():  # below the tick labels, centred on the axes
        x0, y0, x1, y1 = _box(ax.xaxis.label)
        need["bottom"] += ax.xaxis.labelpad * pt + (y1 - y0)
        reach("left", -(axw / 2 + x0))
        reach("right", axw / 2 + x1 - axw)
    if yt:  # anchored left of the axes at each tick
        tick = ax.yaxis.get_major_ticks()[0]
        off = (tick.get_tick_padding() + tick.get_pad()) * pt
        for f, t in yt:
            x0, y0, _, y1 = _box(t)
            reach("left", off - x0)
            reach("top", y1 - (1 - f) * axh)
            reach("bottom", -y0 - f * axh)
    if ax.yaxis.label.get_text():  # left of the tick labels
        x0, _, x1, _ = _box(ax.yaxis.label)
        need["left"] += ax.yaxis.labelpad * pt + (x1 - x0)
    # titles: anchored above the axes (left, centre or right) at the title pad
    titles = [c for c in ax.get_children() if isinstance(c, Text) and c not in ax.texts]
    for t in titles:
        if t.get_text():
            x0, _, x1, y1 = _box(t)
            at = {"left": 0.0, "center": axw / 2, "right": axw}[t.get_horizontalalignment()]
            reach("top", matplotlib.rcParams["axes.titlepad"] * pt + y1)
            reach("left", -(at + x0))
            reach("right", at + x1 - axw)
    return need


def fit_margins(fig: Figure) -> None:
    """Place a figure's row (or column) of axes so every label fits inside the canvas.

    The margins are the extents of the labels each side carries (tick labels, axis labels,
    titles; legends are drawn inside the axes) plus :data:`PAD` font sizes, as
    ``Figure.tight_layout`` leaves them, but measured per text with the renderer the figure is
    drawn with and cached for the process, so the figure is laid out without being drawn
    (``tight_layout`` renders every text once more to measure it). For a single row or a
    single column of axes on linear scales, as the figures of this module; labels too long to
    leave the axes any room fall back to ``tight_layout``.
    """
    axes = [ax for ax in fig.axes if ax.get_visible()]
    if not axes:
        return
    column = len(axes) > 1 and axes[0].get_gridspec().get_geometry()[1] == 1
    figw, figh = fig.get_size_inches()
    pad = PAD * matplotlib.rcParams["font.size"] / 72
    n = len(axes)
    last = None
    # The tick locator picks its ticks for the axes' size, and labels overhanging an axis end
    # depend on it: place, re-measure, until the margins stop moving (two passes as a rule).
    for _ in range(4):
        box = axes[0].get_position()
        needs = [_needs(ax, box.width * figw, box.height * figh) for ax in axes]
        margins = _margins(needs, pad, column)
        left, right, bottom, top, gap = margins
        along = (figh - bottom - top) if column else (figw - left - right)
        size = (along - (n - 1) * gap) / n
        if (
            size < 0.1 * (figh if column else figw)
            or figw - left - right < 0.1 * figw
            or figh - bottom - top < 0.1 * figh
        ):
            fig.tight_layout()
            return
        spacing = {"hspace": gap / size} if column else {"wspace": gap / size}
        fig.subplots_adjust(
            left=left / figw,
            right=1 - right / figw,
            bottom=bottom / figh,
            top=1 - top / figh,
            **spacing,
        )
        if last is not None and np.abs(margins - last).max() < 0.5 / fig.dpi:
            break
        last = margins


def _margins(needs: list[dict[str, float]], pad: float, column: bool) -> np.ndarray:
    """Left, right, bottom, top margins and the gap between panels (inches).

    They are computed for a row of axes, or a column (``column``), from what each side of each
    axes needs.
    """
    n = len(needs)
    if column:
        gap = max((needs[i]["bottom"] + pad + needs[i + 1]["top"] for i in range(n - 1)), default=0)
        left = pad + max(nd["left"] for nd in needs)
        right = pad + max(nd["right"] for nd in needs)
        bottom, top = pad + needs[-1]["bottom"], pad + needs[0]["top"]
    else:
        gap = max((needs[i]["right"] + pad + needs[i + 1]["left"] for i in range(n - 1)), default=0)
        left, right = pad + needs[0]["left"], pad + needs[-1]["right"]
        bottom = pad + max(nd["bottom"] for nd in needs)
        top = pad + max(nd["top"] for nd in needs)
    return np.array([left, right, bottom, top, gap])


def event_study(es: pd.DataFrame, lang: str = "id", outcome_label: str = "") -> plt.Figure:
    """Event-study coefficients with 95% intervals; thin event times drawn hollow."""
    w = words(lang)
    fig, ax = _figure(3.3)
    ok, thin = es[es["reliable"]], es[~es["reliable"]]
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(-0.5, color="grey", ls="--", lw=0.8)
    ax.errorbar(
        ok["e"],
        ok["att"],
        yerr=[ok["att"] - ok["ci_low"], ok["ci_high"] - ok["att"]],
        fmt="o",
        color=PALETTE["partnered"],
        capsize=3,
    )
    if len(thin):
        ax.errorbar(
            thin["e"],
            thin["att"],
            yerr=[thin["att"] - thin["ci_low"], thin["ci_high"] - thin["att"]],
            fmt="o",
            mfc="white",
            color="#7fa7c9",
            capsize=3,
            label=_wrap(w.t("plot.thin")),
        )
        ax.legend(loc="upper left", fontsize=SMALLEST, frameon=False)
    ax.set_xlabel(w.t("plot.years_since"))
    ax.set_ylabel(w.t("plot.difference"))
    # years since the start are whole numbers, in the page's notation (one point alone would
    # otherwise get ticks such as -0.5 in English decimals)
    if len(es):
        e = es["e"].astype(int)
        lo, hi = min(int(e.min()), -1), int(e.max())
        ax.set_xlim(lo - 0.5, hi + 0.5)
        ax.set_xticks(range(lo, hi + 1))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: w.int(int(round(v)))))
    if outcome_label:
        ax.set_title(outcome_label, fontsize=10, loc="left")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: w.num(v, 3)))
    sns.despine(fig)
    fit_margins(fig)
    return fig


def love_plot(balance: pd.DataFrame, lang: str = "id") -> plt.Figure:
    """|SMD| per covariate before and after weighting, with the 0.1 threshold."""
    w = words(lang)
    b = balance.sort_values("smd", key=np.abs)
    fig, ax = _figure(0.26 * len(b) + 1.05)
    y = np.arange(len(b))
    ax.scatter(b["smd"].abs(), y, color=PALETTE["other"], label=w.t("plot.before"), zorder=3)
    if "smd_weighted" in b:
        ax.scatter(
            b["smd_weighted"].abs(),
            y,
            color=PALETTE["partnered"],
            label=w.t("plot.after"),
            zorder=3,
        )
    ax.axvline(0.1, color="grey", ls="--", lw=0.8)
    ax.set_yticks(y, [w.code("covariate", c) for c in b["covariate"]])
    ax.set_xlabel(w.t("plot.smd"))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: w.num(v, 2)))
    ax.legend(frameon=False, fontsize=SMALLEST)
    sns.despine(fig)
    fit_margins(fig)
    return fig


def _transition_counts(tr: pd.DataFrame, group: str) -> np.ndarray:
    """Desa per (status at start, status at end) of one group, in the order of IDM_STATUSES."""
    pos = {status: i for i, status in enumerate(IDM_STATUSES)}
    g = tr[tr["kelompok"] == group]
    rows = np.array([pos.get(v, -1) for v in g["status_idm_awal"]], dtype=int)
    cols = np.array([pos.get(v, -1) for v in g["status_idm_akhir"]], dtype=int)
    n = np.nan_to_num(g["n"].to_numpy(dtype=float))
    keep = (rows >= 0) & (cols >= 0)
    m = np.zeros((len(IDM_STATUSES), len(IDM_STATUSES)))
    np.add.at(m, (rows[keep], cols[keep]), n[keep])
    return m


def _heatmap(ax, counts: np.ndarray, labels: list[str], w=None) -> None:
    """Row shares coloured (Blues, 0 to 1), counts written in the cells, as seaborn's heatmap.

    Drawn with matplotlib directly: ``seaborn.heatmap`` renders the whole figure once to
    decide whether its tick labels overlap, which these labels, set explicitly, never need.
    Rows without desa are left blank, the text colour follows the cell's luminance (W3C), as
    seaborn does. Counts are written in the notation of ``w`` (thousands grouped).
    """
    w = w or words("id")
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.ma.masked_invalid(np.where(totals > 0, counts / totals, np.nan))
    mesh = ax.pcolormesh(share, cmap="Blues", vmin=0, vmax=1)
    ax.set(xlim=(0, share.shape[1]), ylim=(0, share.shape[0]))
    ax.invert_yaxis()
    for spine in ax.spines.values():
        spine.set_visible(False)
    ticks = np.arange(len(labels)) + 0.5
    ax.set_xticks(ticks, labels, rotation=30, ha="right", fontsize=SMALLEST)
    ax.set_yticks(ticks, labels, rotation=0, va="center", fontsize=SMALLEST)
    rgb = mesh.cmap(mesh.norm(share.filled(0)))[..., :3]
    lum = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4) @ [
        0.2126,
        0.7152,
        0.0722,
    ]
    masked = np.ma.getmaskarray(share)
    for (i, j), n in np.ndenumerate(counts):
        if not masked[i, j]:
            color = ".15" if lum[i, j] > 0.408 else "w"
            ax.text(
                j + 0.5,
                i + 0.5,
                w.int(int(n)),
                ha="center",
                va="center",
                size=SMALLEST,
                color=color,
            )


def transitions(tr: pd.DataFrame, lang: str = "id") -> plt.Figure:
    """Status at start x status at end, as row shares, one above the other for the two groups.

    Side by side, the two panels would not fit the width of a phone.
    """
    w = words(lang)
    fig, axes = _figure(4.4, 2)
    short = [s.replace("SANGAT ", "S. ") for s in IDM_STATUSES]
    for ax, group, key in zip(
        axes, ("bermitra", "lainnya"), ("plot.partnered", "plot.other"), strict=True
    ):
        m = _transition_counts(tr, group)
        _heatmap(ax, m, short, w)
        ax.set_title(f"{w.t(key)} (n = {w.int(int(m.sum()))})", fontsize=10)
        ax.set_xlabel(w.t("plot.status_end"))
        ax.set_ylabel(w.t("plot.status_start"))
    fit_margins(fig)
    return fig


def overlap(score: np.ndarray, treated: np.ndarray, lang: str = "id") -> plt.Figure:
    """Propensity-score histograms of partnered and other desa (density scale)."""
    w = words(lang)
    fig, ax = _figure(2.2)
    bins = np.linspace(0, 1, 26)
    for group, key in ((0, "other"), (1, "partnered")):
        heights, _ = np.histogram(score[treated == group], bins=bins, density=True)
        ax.stairs(heights, bins, fill=True, alpha=0.6, color=PALETTE[key], label=w.t(f"plot.{key}"))
    ax.set_xlabel(w.t("plot.score"))
    ax.set_ylabel(w.t("plot.density"))
    # numbers in the brief's notation (0,2 in Bahasa Indonesia), as the other figures
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: w.num(v, 1)))
    ax.yaxis.set_major_formatter(
        matplotlib.ticker.FuncFormatter(lambda v, _: w.num(v, 1) if v % 1 else w.int(int(v)))
    )
    ax.legend(frameon=False)
    sns.despine(fig)
    fit_margins(fig)
    return fig


def forest(forest_df: pd.DataFrame, lang: str = "id", xlabel: str = "") -> plt.Figure:
    """District estimates and the pooled estimate with 95% intervals."""
    w = words(lang)
    f = forest_df[forest_df["estimable"]].reset_index(drop=True)
    fig, ax = _figure(0.4 * len(f) + 1.2)
    y = np.arange(len(f))[::-1]
    for yi, r in zip(y, f.itertuples(), strict=True):
        color = PALETTE["partnered"] if r.kind == "district" else "black"
        ax.errorbar(
            [r.estimate],
            [yi],
            xerr=[[r.estimate - r.ci_low], [r.ci_high - r.estimate]],
            fmt="s",
            color=color,
            capsize=3,
            ms=7 if r.kind == "pooled" else 5,
        )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [_wrap(label, 24) for label in f["label"]])
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: w.num(v, 3)))
    sns.despine(fig)
    fit_margins(fig)
    return fig
