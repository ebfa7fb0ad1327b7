"""Figures for briefs and notebooks (matplotlib/seaborn), labelled in the brief's language."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.report import words
from analysis.schema import IDM_STATUSES

PALETTE = {"partnered": "#1b6ca8", "other": "#a0a0a0"}


def event_study(es: pd.DataFrame, lang: str = "id", outcome_label: str = "") -> plt.Figure:
    """Event-study coefficients with 95% intervals; thin event times drawn hollow."""
    w = words(lang)
    fig, ax = plt.subplots(figsize=(7, 3.6))
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
            label=w.t("plot.thin"),
        )
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_xlabel(w.t("plot.years_since"))
    ax.set_ylabel(w.t("plot.difference"))
    if outcome_label:
        ax.set_title(outcome_label, fontsize=10, loc="left")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: w.num(v, 3)))
    sns.despine(fig)
    fig.tight_layout()
    return fig


def love_plot(balance: pd.DataFrame, lang: str = "id") -> plt.Figure:
    """|SMD| per covariate before and after weighting, with the 0.1 threshold."""
    w = words(lang)
    b = balance.sort_values("smd", key=np.abs)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(b) + 1.2))
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
    ax.legend(frameon=False, fontsize=8)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def transitions(tr: pd.DataFrame, lang: str = "id") -> plt.Figure:
    """Status at start x status at end, as row shares, side by side for the two groups."""
    w = words(lang)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    short = [s.replace("SANGAT ", "S. ") for s in IDM_STATUSES]
    for ax, group, key in zip(
        axes, ("bermitra", "lainnya"), ("plot.partnered", "plot.other"), strict=True
    ):
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
        sns.heatmap(
            share,
            ax=ax,
            vmin=0,
            vmax=1,
            cmap="Blues",
            cbar=False,
            annot=m.astype(int),
            fmt="d",
            annot_kws={"size": 8},
        )
        ax.set_title(f"{w.t(key)} (n = {w.int(int(m.to_numpy().sum()))})", fontsize=10)
        ax.set_xlabel(w.t("plot.status_end"))
        ax.set_ylabel(w.t("plot.status_start"))
        ax.set_xticklabels(short, rotation=30, ha="right", fontsize=8)
        ax.set_yticklabels(short, rotation=0, fontsize=8)
        ax.tick_params(axis="y", labelleft=True)
    fig.tight_layout()
    return fig


def overlap(score: np.ndarray, treated: np.ndarray, lang: str = "id") -> plt.Figure:
    """Propensity-score histograms of partnered and other desa (density scale)."""
    w = words(lang)
    fig, ax = plt.subplots(figsize=(7, 3))
    bins = np.linspace(0, 1, 26)
    ax.hist(
        score[treated == 0],
        bins=bins,
        alpha=0.6,
        density=True,
        color=PALETTE["other"],
        label=w.t("plot.other"),
    )
    ax.hist(
        score[treated == 1],
        bins=bins,
        alpha=0.6,
        density=True,
        color=PALETTE["partnered"],
        label=w.t("plot.partnered"),
    )
    ax.set_xlabel(w.t("plot.score"))
    ax.set_ylabel(w.t("plot.density"))
    ax.legend(frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def forest(forest_df: pd.DataFrame, lang: str = "id", xlabel: str = "") -> plt.Figure:
    """District estimates and the pooled estimate with 95% intervals."""
    w = words(lang)
    f = forest_df[forest_df["estimable"]].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(f) + 1.2))
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
    ax.set_yticks(y, f["label"])
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: w.num(v, 3)))
    sns.despine(fig)
    fig.tight_layout()
    return fig
