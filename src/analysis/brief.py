"""The policy brief, section by section, as notebook output (HTML and figures).

Each ``show_*`` function displays one section; the district report notebook calls them in
order, and nbconvert (inputs removed) turns the outputs into the brief. Every text that comes
from data (names of villages, partners, districts) is escaped.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, display

from analysis import plots
from analysis.crosssection import CrossSection
from analysis.district import (
    Description,
    DistrictData,
    Evidence,
    MainEstimate,
    results_table,
    save_results,
)
from analysis.narrate import fmt, fmt_effect, fmt_int, fmt_range, outcome_label, pct, t
from analysis.provenance import stamp
from analysis.results import Estimate

CSS = """
<style>
.brief { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 860px; line-height: 1.5; color: #1a1a1a; }
.brief h1 { font-size: 1.6em; margin-bottom: 0.1em; } .brief h2 { font-size: 1.25em; border-bottom: 2px solid #1b6ca8; padding-bottom: 2px; }
.synthetic-banner { position: sticky; top: 0; z-index: 10; background: #b00020; color: white; font-weight: bold; padding: 8px 12px;
  text-align: center; letter-spacing: 0.03em; }
.grade { display: inline-block; padding: 4px 10px; border-radius: 4px; font-weight: bold; color: white; }
.grade-strong { background: #1b7f3b; } .grade-suggestive { background: #c77700; } .grade-insufficient { background: #666; }
.grade-not_estimable { background: #444; }
.brief table { border-collapse: collapse; font-size: 0.9em; } .brief td, .brief th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left !important; }
.brief .small { font-size: 0.85em; color: #444; } .brief .notice { background: #fff4d6; padding: 8px 12px; border-left: 4px solid #c77700; }
</style>
"""


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _show(body: str) -> None:
    display(HTML(f'<div class="brief">{body}</div>'))


def _fig(fig: plt.Figure, caption: str) -> None:
    display(fig)
    plt.close(fig)
    _show(f'<p class="small">{_e(caption)}</p>')


def banner(data: DistrictData, lang: str) -> str:
    return (
        f'<div class="synthetic-banner">{_e(t(lang, "synthetic"))}</div>'
        if data.dataset.synthetic
        else ""
    )


def header(data: DistrictData, lang: str = "id") -> None:
    """Style, synthetic banner, title and district."""
    _show(
        f"{CSS}{banner(data, lang)}<h1>{_e(t(lang, 'title'))}</h1><p><b>{_e(data.district.name)}</b>, {_e(data.district.province)} "
        f"({_e(data.district.code)})</p><p>{_e(t(lang, 'subtitle'))}</p>"
    )


def show_summary(
    data: DistrictData, main: MainEstimate, evidence: Evidence, lang: str = "id"
) -> None:
    """What was compared, the headline with its range in plain words, and the strength of evidence."""
    name = data.district.name
    parts = [f"<h2>{_e(t(lang, 'summary'))}</h2>"]
    if not data.applicable:
        key = "no_desa" if data.reason == "no_desa" else "no_data"
        parts.append(f'<p class="notice">{_e(t(lang, key).format(name=name))}</p>')
        _show("".join(parts))
        return
    grade = evidence.grade
    parts.append(f'<p><span class="grade grade-{grade}">{_e(t(lang, "grade")[grade])}</span></p>')
    h = main.headline
    olabel = outcome_label(h.outcome, lang)
    if isinstance(h, Estimate):
        parts.append(
            f"<p>{_e(t(lang, 'compared').format(n1=fmt_int(h.n_treated, lang), n0=fmt_int(h.n_control, lang), name=name, outcome=olabel, first=data.first_year, last=data.last_year))}</p>"
        )
        lo, hi = fmt_range(h.ci_low, h.ci_high, h.outcome, lang)
        key = "headline_pos" if h.estimate >= 0 else "headline_neg"
        parts.append(
            f"<p><b>{_e(t(lang, key).format(outcome=olabel, est=fmt_effect(h.estimate, h.outcome, lang), lo=lo, hi=hi))}</b></p>"
        )
        mean = data.panel.loc[data.panel["tahun"] == data.last_year, h.outcome].mean()
        if h.outcome != "naik_status":
            parts.append(
                f"<p>{_e(t(lang, 'scale').format(outcome=olabel, last=data.last_year, mean=fmt(mean, lang, 3)))}</p>"
            )
        why = "; ".join(t(lang, "why")[r] for r in evidence.reasons if r in t(lang, "why"))
        parts.append(f"<p>{_e(t(lang, 'grade_text')[grade].format(why=why))}</p>")
        parts.append(
            f"<p>{_e(t(lang, 'mde').format(mde=fmt_effect(evidence.mde, h.outcome, lang)))}</p>"
        )
    else:
        why = t(lang, "reasons").get(h.reason, h.reason)
        parts.append(f"<p>{_e(t(lang, 'grade_text')['not_estimable'].format(why=why))}</p>")
    parts.append(_recent_html(data, lang))
    _show("".join(parts))


def _recent_html(data: DistrictData, lang: str) -> str:
    out = []
    if len(data.recent):
        names = ", ".join(sorted({f"{r.nama_desa} ({r.mitra})" for r in data.recent.itertuples()}))
        out.append(
            f'<p class="notice">{_e(t(lang, "recent").format(n=len(data.recent), last=data.last_year, names=names))}</p>'
        )
    if data.district.code == "64.02":
        out.append(f'<p class="notice">{_e(t(lang, "kukar_2025"))}</p>')
    return "".join(out)


def show_figures(
    data: DistrictData, main: MainEstimate, cross: CrossSection, desc: Description, lang: str = "id"
) -> None:
    """Event study, balance (love plot), overlap and status transitions."""
    if not data.applicable:
        return
    _show(f"<h2>{_e(t(lang, 'figures'))}</h2>")
    if main.staggered is not None and len(main.staggered.event_study):
        _fig(
            plots.event_study(
                main.staggered.event_study, lang, outcome_label(data.design.outcome, lang)
            ),
            t(lang, "fig_event"),
        )
    if cross.balance is not None and len(cross.balance):
        _fig(plots.love_plot(cross.balance, lang), t(lang, "fig_balance"))
    if cross.propensity is not None and cross.data is not None:
        _fig(
            plots.overlap(cross.propensity.score, cross.data["_d"].to_numpy(), lang),
            t(lang, "fig_overlap"),
        )
    if len(desc.transitions):
        _fig(plots.transitions(desc.transitions, lang), t(lang, "fig_transitions"))


def _results_rows(
    rows: pd.DataFrame, lang: str, with_q: bool = False, label_col: str = "method"
) -> str:
    head = [
        t(lang, "col_method") if label_col == "method" else t(lang, "col_outcome"),
        t(lang, "col_est"),
        t(lang, "col_ci"),
        t(lang, "col_n"),
    ]
    if with_q:
        head.append(t(lang, "col_q"))
    head.append(t(lang, "col_note"))
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    reasons = t(lang, "reasons")
    for r in rows.itertuples():
        label = outcome_label(r.outcome, lang) if label_col == "outcome" else getattr(r, label_col)
        if r.estimable:
            cells = [
                label,
                fmt(r.estimate, lang, 3, signed=True),
                f"{fmt(r.ci_low, lang, 3)} ; {fmt(r.ci_high, lang, 3)}",
                f"{fmt_int(r.n_treated, lang)} / {fmt_int(r.n_control, lang)}",
            ]
            if with_q:
                cells.append(fmt(getattr(r, "q_value_bh", np.nan), lang, 3))
            cells.append(r.notes)
        else:
            cells = [
                label,
                "-",
                "-",
                f"{fmt_int(r.n_treated, lang)} / {fmt_int(r.n_control, lang)}",
            ]
            if with_q:
                cells.append("-")
            cells.append(reasons.get(r.reason, r.reason))
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return "".join(out) + "</table>"


def show_details(
    data: DistrictData,
    main: MainEstimate,
    cross: CrossSection,
    outcomes: pd.DataFrame,
    het: pd.DataFrame,
    evidence: Evidence,
    lang: str = "id",
) -> None:
    """Coverage, every method side by side, all outcomes (BH), heterogeneity, sensitivity."""
    if not data.applicable:
        return
    c = data.coverage
    cov_rows = [
        ("desa_frame", fmt_int(c["n_desa_frame"], lang)),
        ("desa_data", fmt_int(c["n_desa_with_data"], lang)),
        ("partnered", fmt_int(c["n_desa_partnered"], lang)),
        ("evaluable", fmt_int(c["n_desa_evaluable"], lang)),
        ("too_recent_n", fmt_int(c["n_desa_too_recent"], lang)),
        ("comparison", fmt_int(c["n_desa_comparison"], lang)),
        ("no_code", fmt_int(c["n_registry_rows_without_code"], lang)),
        ("carried", pct(c["carried_forward_share"], lang)),
    ]
    parts = [f"<h2>{_e(t(lang, 'details'))}</h2><h3>{_e(t(lang, 'coverage'))}</h3><table>"]
    parts += [f"<tr><td>{_e(t(lang, k))}</td><td>{_e(v)}</td></tr>" for k, v in cov_rows]
    parts.append("</table>")
    from analysis.results import to_frame

    table = to_frame([main.headline, main.not_yet_treated, main.twfe] + list(cross.results))
    parts.append(
        f"<h3>{_e(outcome_label(data.design.outcome, lang))}</h3>{_results_rows(table, lang)}"
    )
    parts.append(f"<p class='small'>{_e(t(lang, 'trim'))}</p>")
    parts.append(
        f"<h3>{_e(t(lang, 'outcomes_title'))}</h3>{_results_rows(outcomes, lang, with_q=True, label_col='outcome')}"
    )
    if len(het):
        h = het.assign(
            method=het["dimension"].map({"jenis_mitra": "mitra", "sektor": "sektor"})
            + ": "
            + het["group"]
        )
        parts.append(f"<h3>{_e(t(lang, 'het_title'))}</h3>{_results_rows(h, lang, with_q=True)}")
    if isinstance(main.headline, Estimate):
        parts.append(f"<h3>{_e(t(lang, 'sens_title'))}</h3>")
        parts.append(
            f"<p>{_e(t(lang, 'evalue').format(ev=fmt(evidence.e_value.point, lang, 2), evb=fmt(evidence.e_value.ci_bound, lang, 2)))}</p>"
        )
        parts.append(
            f"<p>{_e(t(lang, 'pretrend').format(p=fmt(evidence.pretrend_p, lang, 3)))}</p>"
        )
        parts.append(
            f"<p>{_e(t(lang, 'mde').format(mde=fmt_effect(evidence.mde, main.headline.outcome, lang)))}</p>"
        )
    _show("".join(parts))


def show_caveats(data: DistrictData, evidence: Evidence, lang: str = "id") -> None:
    """Methods in plain words and the limits a reader must keep in mind."""
    if not data.applicable:
        return
    items = "".join(f"<li>{_e(c)}</li>" for c in t(lang, "caveat_list"))
    _show(
        f"<h2>{_e(t(lang, 'caveats'))}</h2><p>{_e(t(lang, 'method_text'))}</p><ul>{items}</ul>{_recent_html(data, lang)}"
    )


def show_provenance(data: DistrictData, parameters: dict, lang: str = "id") -> None:
    """Footer: data folder and file hashes, parameters, package versions, code commit."""
    s = stamp()
    hashes = "".join(
        f"<tr><td>{_e(k)}</td><td><code>{_e(v[:16])}...</code></td></tr>"
        for k, v in data.dataset.hashes.items()
    )
    params = ", ".join(f"{_e(k)} = {_e(v)}" for k, v in parameters.items())
    vers = ", ".join(f"{_e(k)} {_e(v)}" for k, v in s["versions"].items())
    _show(
        f"<h2>{_e(t(lang, 'provenance'))}</h2><p class='small'>{_e(t(lang, 'prov_data'))}: {_e(data.dataset.meta.get('title', data.dataset.folder.name))}"
        f"</p><table class='small'>{hashes}</table><p class='small'>{_e(t(lang, 'prov_params'))}: {params}</p>"
        f"<p class='small'>{_e(t(lang, 'prov_versions'))}: {vers}</p><p class='small'>{_e(t(lang, 'prov_commit'))}: {_e(s['commit'])}; "
        f"{_e(t(lang, 'prov_created'))}: {_e(s['created'])}</p>{banner(data, lang)}"
    )


def save(
    results_dir: str,
    data: DistrictData,
    main: MainEstimate,
    cross: CrossSection,
    outcomes: pd.DataFrame,
    het: pd.DataFrame,
    evidence: Evidence,
    parameters: dict,
) -> Path | None:
    """Write results.csv and summary.json for the synthesis (nothing when ``results_dir`` is empty)."""
    if not results_dir:
        return None
    return save_results(
        results_dir,
        data,
        results_table(main, cross, outcomes, het),
        evidence,
        {**parameters, **stamp()},
    )
