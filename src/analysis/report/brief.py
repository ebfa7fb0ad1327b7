"""The policy brief, section by section, as notebook output.

Each ``show_*`` function renders one section from the report package's templates (every word from
the language catalog, every number formatted by Babel) and displays it; the district report
notebook calls them in order and :mod:`analysis.report.export` puts the outputs into the shared page
shell. Text from data (names of villages, partners, districts) is escaped by the templates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import HTML, display

from analysis import paths
from analysis.district import (
    Description,
    DistrictData,
    Evidence,
    MainEstimate,
    results_table,
    save_results,
    spillover_summary,
)
from analysis.methods.crosssection import CrossSection
from analysis.methods.results import FACT_FIELDS, Estimate, Result, parse_facts
from analysis.methods.spillover import EXCLUSION_RADII_KM, SpilloverCheck
from analysis.methods.subgroups import DIFFERENCE_ALPHA, SubgroupComparison, compare_subgroups
from analysis.provenance import stamp
from analysis.report import (
    METHOD_CODES,
    dataset_title,
    figure_html,
    maps,
    not_estimated,
    render,
    result_row,
    shared_notes,
    words,
)
from analysis.report import figures as plots
from analysis.report.agreements import IDM_LAST_EDITION, Recent, read_agreements, recent_agreements
from analysis.report.claims import (
    UNCHANGED_MIN_SHARE,
    Facts,
    glossary_terms,
    panel_facts,
    shown,
)

#: Output metadata key the exporter reads (page title, language, synthetic flag, role).
META = "analysis_page"


def _show(html: str, **meta: object) -> None:
    display(HTML(str(html)), metadata={META: meta} if meta else None)


def header(data: DistrictData, lang: str = "id") -> None:
    """Banner (in the notebook; the exported page has its own), title and district."""
    w = words(lang)
    if data.dataset.synthetic:
        _show(render("brief/banner.html.j2", lang), role="banner")
    _show(
        render("brief/header.html.j2", lang, district=data.district),
        role="header",
        title=f"{data.district.name}: {w.t('brief.title')}",
        lang=lang,
        synthetic=bool(data.dataset.synthetic),
    )


def recent(data: DistrictData, agreements: str = "") -> Recent:
    """Agreements of the district too recent for its last outcome year (data registry + ``agreements``).

    ``agreements``: further registry files, separated by commas (a relative path is taken from
    the working directory: :func:`analysis.paths.input_path`).
    """
    files = paths.input_paths(agreements)
    extra = [read_agreements(p) for p in files]
    last = data.last_year or IDM_LAST_EDITION
    return recent_agreements(
        data.dataset.partnerships,
        data.district.code,
        last,
        pd.concat(extra, ignore_index=True) if extra else None,
        files=tuple(Path(p).name for p in files),  # the file name an official recognises
    )


def _recent_by_year(
    rec: Recent | None, first_year: int
) -> tuple[tuple[int, str, int, int, int, int], ...]:
    """The too-recent agreements at desa new to partnering, by exposure year.

    Each tuple is (exposure year, how judged, agreements, desa, kecamatan, years before). One tuple per exposure year: the groups of one year joined, each desa counted once, repeat
    partnerships left out (they are named apart) and years with no new desa dropped. "Years
    before" counts the outcome years of the same instrument before the exposure year: IDM years
    from ``first_year`` for an IDM year, Indeks Desa years from 2025 for a later one, none for
    the first Indeks Desa (the IDM must not be spliced onto it).
    """
    years: dict[int, list] = {}
    for g in rec.groups if rec is not None else ():
        y = years.setdefault(g.exposure_year, [g.settle, 0, set()])
        y[1] += g.n_new
        y[2] |= set(g.desa_codes)

    def before(year: int, settle: str) -> int:
        if settle == "idm":
            return max(year - first_year, 0)
        return 0 if settle == "first_indeks_desa" else year - (IDM_LAST_EDITION + 1)

    return tuple(
        (y, s, n, len(d), len({c[:6] for c in d}), before(y, s))
        for y, (s, n, d) in sorted(years.items())
        if n > 0
    )


def _recent_facts(rec: Recent | None, synthetic: bool, first_year: int) -> dict:
    """Facts of the too-recent agreements: by year, and how many came from agreements files."""
    groups = rec.groups if rec is not None else ()
    return {
        "recent": _recent_by_year(rec, first_year),
        "synthetic": bool(synthetic),
        "n_recent_from_files": sum(g.n_from_files for g in groups),
        "recent_files": tuple(rec.files) if rec is not None else (),
        "no_code_names": tuple(rec.uncoded_names) if rec is not None else (),
        "recent_repeat": tuple(sorted({n for g in groups for n in g.repeat})),
    }


def _cross_facts(cross: CrossSection | None, trim: float) -> dict:
    """The naive comparison's interval and the weighting's trimming counts, when computed."""
    out: dict = {"trim": float(trim)}
    naive = _naive(cross) if cross is not None else None
    if isinstance(naive, Estimate):
        out |= {
            "naive_estimate": float(naive.estimate),
            "naive_se": float(naive.se),
            "naive_ci_low": float(naive.ci_low),
            "naive_ci_high": float(naive.ci_high),
        }
    ps = cross.propensity if cross is not None else None
    if ps is not None and cross.data is not None:
        d = cross.data["_d"].to_numpy()
        out |= {
            "has_propensity": True,
            "n_trimmed_treated": int(ps.n_trimmed_treated),
            "n_trimmed_control": int(ps.n_trimmed_control),
            "n_cross_treated": int((d == 1).sum()),
            "n_cross_control": int((d == 0).sum()),
        }
    # the adjusted comparisons that can confirm the headline (the unadjusted one cannot)
    others = [
        r
        for r in (cross.results if cross is not None else [])
        if isinstance(r, Estimate) and r is not naive
    ]
    out["n_cross_methods"] = len(others)
    out["cross_sure_pos"] = sum(bool(r.ci_low > 0) for r in others)
    out["cross_sure_neg"] = sum(bool(r.ci_high < 0) for r in others)
    if cross is not None and cross.data is not None and "tahun" in cross.data and len(cross.data):
        out["cross_year"] = int(cross.data["tahun"].iloc[0])
    return out


def _coverage_facts(data: DistrictData, rec: Recent | None) -> dict:
    """The facts of a brief that come from its coverage counts and too-recent agreements."""
    cov = data.coverage
    return {
        "first_year": int(data.first_year or 0),
        "last_year": int(data.last_year or 0),
        "carried_share": float(cov.get("carried_forward_share", 0.0)),
        "n_desa_unchanged": int(cov.get("n_desa_unchanged", 0)),
        "unchanged_share": float(cov.get("unchanged_share", 0.0)),
        "n_evaluated": int(cov.get("n_desa_evaluated", cov.get("n_desa_evaluable", 0))),
        "n_too_recent": int(cov.get("n_desa_too_recent", 0)),
        "n_desa_ended": int(cov.get("n_desa_ended", 0)),
        "n_from_start": int(cov.get("n_desa_from_start", 0)),
        "min_treated": int(data.spec.min_treated),
        # the registry's and the agreements files' rows together (Counts): counted once
        "n_no_code": int(
            cov.get("n_rows_without_code", cov.get("n_registry_rows_without_code", 0))
        ),
        **_recent_facts(rec, data.dataset.synthetic, int(data.first_year or 0)),
    }


def brief_facts(
    data: DistrictData,
    evidence: Evidence | None,
    cross: CrossSection | None = None,
    rec: Recent | None = None,
    heterogeneity: pd.DataFrame | None = None,
) -> Facts:
    """The facts of one brief, computed once (:class:`analysis.report.claims.Facts`).

    Every sentence the brief shows is a claim on these facts (:mod:`analysis.report.claims`).
    """
    base = {"name": data.district.name, "short_name": data.district.short_name}
    if heterogeneity is not None:  # partner types with an estimate (-1: not known here)
        het = heterogeneity
        est = (
            het[(het["dimension"] == "jenis_mitra") & het["estimable"].astype(bool)]
            if len(het)
            else het
        )
        base["n_partner_types_estimated"] = int(len(est))
    if not data.applicable:
        return Facts(**base, applicable=False, reason=data.reason)
    base |= _coverage_facts(data, rec)
    h = evidence.headline if evidence is not None else None
    if not isinstance(h, Estimate) or evidence is None:
        reason = getattr(h, "reason", "") or data.reason
        few = getattr(evidence, "few_reason", "")
        return Facts(**base, reason=reason, outcome=data.design.outcome, few_reason=few)
    hf = h.facts or {}
    return Facts(
        **base,
        estimable=True,
        grade=evidence.grade,
        reasons=tuple(evidence.reasons),
        caveats=tuple(evidence.caveats),
        outcome=h.outcome,
        estimate=float(h.estimate),
        ci_low=float(h.ci_low),
        ci_high=float(h.ci_high),
        n_treated=int(h.n_treated),
        n_control=int(h.n_control),
        pretrend_p=float(evidence.pretrend_p),
        pre_max_abs=float(evidence.pre_max_abs),
        pre_detectable=float(evidence.pre_detectable),
        breakdown_mbar=float(evidence.breakdown_mbar),
        mde=float(evidence.mde),
        e_value=float(evidence.e_value.point),
        e_value_bound=float(evidence.e_value.ci_bound),
        headline_method=str(evidence.method),
        cohort=int(hf.get("cohort", 0) or 0),
        n_placebos=int(hf.get("n_placebos", 0) or 0),
        est_method_requested=str(hf.get("est_method_requested", h.est_method)),
        est_method_used=str(h.est_method),
        n_cells=int(hf.get("n_cells", 0) or 0),
        n_cells_reg_fallback=int(hf.get("n_cells_reg_fallback", 0) or 0),
        late_exposed=str(hf.get("late_exposed", "exclude")),
        ps_model=str(hf.get("ps_model", "")),
        n_late_exposed=int(hf.get("n_late_exposed", 0) or 0),
        n_dropped_missing_year=int(hf.get("n_dropped_missing_year", 0) or 0),
        **_cross_facts(cross, data.spec.trim),
        min_evaluated=int(evidence.min_evaluated),
        **panel_facts(data.panel, h.outcome, int(data.last_year), float(h.estimate)),
        **spillover_facts(evidence.spillover),
    )


def spillover_facts(check: SpilloverCheck | None) -> dict:
    """The distance checks' facts (``Facts.spill_*``): each radius's estimate, the near test.

    Empty when the checks were not run (``estimate_main(variants=False)``); a row not
    estimated gives NaN, so no claim on it holds (:func:`analysis.report.claims.spill_moved`).
    """
    if check is None:
        return {}
    radius = {m: km for km, m in EXCLUSION_RADII_KM.items()}
    t = check.exposure
    est = isinstance(t, Estimate)
    return {
        "spill_excl_km": tuple(radius[r.method] for r in check.excluded),
        "spill_excl_estimate": tuple(
            float(r.estimate) if isinstance(r, Estimate) else np.nan for r in check.excluded
        ),
        "spill_near_km": float(check.near_km),
        "spill_near_estimate": float(t.estimate) if est else np.nan,
        "spill_near_p": float(t.p_value) if est else np.nan,
    }


def spillover_rows(check: SpilloverCheck | None, lang: str, control_group: str) -> dict | None:
    """The appendix's distance checks worded: the distances summary and the robustness rows.

    None when the checks were not run. ``pairs``: the comparison desa, those with a point, the
    median and quartiles of their distance to the nearest partnered desa and how many lie
    within each radius; ``rows``: the headline without the comparison desa within 5 and 10 km
    and the near-vs-far test (a row not estimated says why).
    """
    if check is None:
        return None
    w, s = words(lang), spillover_summary(check)
    q = s["comparison_km_quartiles"]
    km = w.t("spill.km_quartiles", med=w.num(q[1], 1), lo=w.num(q[0], 1), hi=w.num(q[2], 1))
    pairs = [
        (w.t("spill.n_comparison"), w.int(s["n_comparison"])),
        (w.t("spill.n_located"), w.int(s["n_comparison_located"])),
        (w.t("spill.distance"), km if np.isfinite(q[1]) else "-"),
    ] + [(w.t("spill.within", km=w.int(r)), w.int(n)) for r, n in s["n_within_km"].items()]
    rows, shared = _factored(w, (*check.excluded, check.exposure), control_group)
    return {"pairs": pairs, "rows": rows, "shared": shared, "near_km": w.int(int(check.near_km))}


def _factored(w, results, control_group: str, cross: CrossSection | None = None):
    """Worded rows of ``results`` and the lines of the facts they share (:func:`shared_notes`)."""
    facts = [_facts(r, control_group, cross) if r.estimable else None for r in results]
    rows = [
        result_row(w, r, w.method(r.method), facts=f) for r, f in zip(results, facts, strict=True)
    ]
    return rows, shared_notes(w, rows, facts)


def summary_html(
    data: DistrictData,
    main: MainEstimate,
    evidence: Evidence,
    lang: str = "id",
    agreements: str = "",
    cross: CrossSection | None = None,
    heterogeneity: pd.DataFrame | None = None,
) -> str:
    """The decision page (key message, units, conclusions, recommendations, legend) as HTML."""
    rec = recent(data, agreements) if data.applicable else None
    facts = brief_facts(data, evidence, cross, rec, heterogeneity)
    w = words(lang)
    return render(
        "brief/summary.html.j2",
        lang,
        data=data,
        f=facts,
        say=lambda section: shown(facts, section, w),
        recent=rec,
        last_idm=IDM_LAST_EDITION,
    )


def show_summary(
    data: DistrictData,
    main: MainEstimate,
    evidence: Evidence,
    lang: str = "id",
    agreements: str = "",
    cross: CrossSection | None = None,
    heterogeneity: pd.DataFrame | None = None,
) -> None:
    """The decision page, page 1 of the brief.

    It holds the key message, the effect in plain units, what can and cannot be concluded,
    recommendations computed from the evidence and the registry, and a legend of the grades.

    ``cross`` (from ``estimate_cross_section``) lets the page compare the headline with the naive
    comparison; every later output of the notebook goes into the collapsed technical appendix.
    ``heterogeneity`` (from ``estimate_heterogeneity``) lets it say when no partner type had
    desa enough for an estimate.
    """
    html = summary_html(data, main, evidence, lang, agreements, cross, heterogeneity)
    _show(html, role="decision")


def _alt_event(es: pd.DataFrame, w) -> str:
    pre, post = es[es["e"] < 0], es[es["e"] >= 0]
    if len(post) == 1:  # one point after: its value, not a range from it to itself
        return w.t(
            "alt.event_one",
            n_pre=w.int(len(pre)),
            value=w.num(float(post["att"].iloc[0])),
        )
    return w.t(
        "alt.event",
        n_pre=w.int(len(pre)),
        n_post=w.int(len(post)),
        lo=w.num(float(post["att"].min()) if len(post) else np.nan),
        hi=w.num(float(post["att"].max()) if len(post) else np.nan),
    )


def show_figures(
    data: DistrictData, main: MainEstimate, cross: CrossSection, desc: Description, lang: str = "id"
) -> None:
    """The district map, event study, balance (love plot), overlap and transitions, with alt text."""
    if not data.applicable:
        return
    w = words(lang)
    figs = [m] if (m := maps.district_map_html(data, lang)) else []  # where the desa are
    olabel = w.outcome(data.design.outcome)
    if main.staggered is not None and len(main.staggered.event_study):
        es = main.staggered.event_study
        caption = w.t("fig.event")
        if getattr(main, "event_study_refusal", None) is not None:  # no pre-period point:
            # the caption does not ask the reader to check points that are not drawn
            caption = f"{w.t('fig.event_post_only')} {w.t('fig.event_no_pre')}"
        figs.append(
            figure_html(plots.event_study(es, lang, olabel), _alt_event(es, w), caption, lang)
        )
    # the balance and overlap figures belong to the single-year comparison, not the headline
    cy = (
        int(cross.data["tahun"].iloc[0])
        if cross.data is not None and "tahun" in cross.data and len(cross.data)
        else data.last_year
    )
    if cross.balance is not None and len(cross.balance):
        b = cross.balance
        after = b["smd_weighted"].abs() if "smd_weighted" in b else b["smd"].abs()
        alt = w.t(
            "alt.balance",
            n=w.int(len(b)),
            before=w.int(int((b["smd"].abs() > 0.1).sum())),
            after=w.int(int((after > 0.1).sum())),
        )
        cap = w.t(
            "fig.balance",
            year=cy,
            after=w.int(int((after > 0.1).sum())),
            n=w.int(len(b)),
        )
        figs.append(figure_html(plots.love_plot(b, lang), alt, cap, lang))
    if cross.propensity is not None and cross.data is not None:
        d = cross.data["_d"].to_numpy()
        s = cross.propensity.score
        alt = w.t(
            "alt.overlap",
            med1=w.num(float(np.median(s[d == 1])), 2),
            med0=w.num(float(np.median(s[d == 0])), 2),
        )
        cap = w.t("fig.overlap", year=cy)
        figs.append(figure_html(plots.overlap(s, d, lang), alt, cap, lang))
    if len(desc.transitions):
        tr = desc.transitions
        alt = w.t(
            "alt.transitions",
            n1=w.int(int(tr.loc[tr["kelompok"] == "bermitra", "n"].sum())),
            n0=w.int(int(tr.loc[tr["kelompok"] == "lainnya", "n"].sum())),
            first=data.first_year,
            last=data.last_year,
        )
        figs.append(figure_html(plots.transitions(tr, lang), alt, w.t("fig.transitions"), lang))
    _show(render("brief/figures.html.j2", lang, figures=figs))


def _present(v: object) -> bool:
    if v is None or v == "" or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0):
        return False
    return not (isinstance(v, float) and np.isnan(v))


def _facts(r: Result, control_group: str, cross: CrossSection | None = None) -> dict:
    """The facts of a result the page can word.

    These are its typed fields, its ``facts`` and ``details`` (never its English notes), the
    comparison group of the staggered rows and the propensity-score diagnostics of the weighted
    rows. Pairs (trimming bounds, weight range) are joined so they read as one fact.
    """
    get = r.get if isinstance(r, dict) else (lambda k: getattr(r, k, None))
    facts = {k: get(k) for k in FACT_FIELDS if _present(get(k))}
    for extra in (get("facts"), get("details")):
        facts.update({k: v for k, v in (extra or {}).items() if k not in facts and _present(v)})
    code = METHOD_CODES.get(str(get("method")), str(get("method")))
    if code == "cs_did":
        facts.setdefault("control_group", control_group)
    elif code in ("cs_did_notyettreated", "cs_did_nevertreated"):
        facts.setdefault("control_group", code.removeprefix("cs_did_"))
    ps = cross.propensity if cross is not None else None
    if ps is not None and code in ("ipw", "aipw", "matching") and get("estimable"):
        facts.setdefault("n_trimmed_treated", int(ps.n_trimmed_treated))
        facts.setdefault("n_trimmed_control", int(ps.n_trimmed_control))
        if code == "ipw":
            facts.setdefault("weight_min", float(ps.weight_min))
            facts.setdefault("weight_max", float(ps.weight_max))
            facts.setdefault("ess_control", float(ps.ess_control))
    for lo, hi, joined in (
        ("trim_low", "trim_high", "trim"),
        ("weight_min", "weight_max", "weight_range"),
    ):
        if lo in facts and hi in facts:
            facts[joined] = (facts.pop(lo), facts.pop(hi))
    return facts


def method_rows(
    main: MainEstimate, cross: CrossSection, lang: str, control_group: str
) -> tuple[list[dict], list[str]]:
    """Every method of the headline outcome, worded (method names and facts from the catalog).

    Returns the rows and the lines of the facts shared by families of rows (said once above
    the table; :func:`analysis.report.words.shared_notes`).
    """
    staggered = [
        main.headline,
        main.unconditional,
        main.not_yet_treated,
        main.twfe,
        main.sunab,
        main.few_desa,
    ]
    results = [r for r in staggered if r is not None] + list(cross.results)
    return _factored(words(lang), results, control_group, cross)


def frame_rows(table: pd.DataFrame, lang: str, label: str) -> list[dict]:
    """Rows of a results frame (outcomes or subgroups) worded for a table."""
    w = words(lang)
    out = []
    for r in table.to_dict("records"):
        if label == "outcome":
            text = w.outcome(r["outcome"])
        elif label == "group":
            text = w.group(r["dimension"], r["group"])
        else:
            text = str(r[label])
        row = result_row(w, r, text, with_q=True, facts=_fallback_fact(w, r))
        if bool(r.get("few_desa")) and bool(r.get("estimable")):  # not the headline's method
            row["note"] = "; ".join(x for x in (w.method(str(r["method"])), row["note"]) if x)
        out.append(row)
    return out


def _fallback_fact(w, r: dict) -> dict:
    """The estimator of a row when some of its cells fell back to outcome regression, else {}.

    Rows of the outcomes and subgroups tables name nothing else (their methods are the
    headline's); a fallback changes what was computed, so it is said (:func:`method_label`).
    """
    fell = _fallback(r.get("facts"))
    if not fell or not bool(r.get("estimable")):
        return {}
    return {"est_method": method_label(w, fell[0], str(r.get("est_method", "")), *fell[1:])}


def show_details(
    data: DistrictData,
    main: MainEstimate,
    cross: CrossSection,
    outcomes: pd.DataFrame,
    het: pd.DataFrame,
    evidence: Evidence,
    lang: str = "id",
    control_group: str | None = None,
) -> None:
    """Coverage, every method side by side, all outcomes (BH), subgroups, sensitivity.

    ``control_group``: the headline's comparison group as the page states it; ``None`` (the
    default) reads it from ``data.spec``.
    """
    if not data.applicable:
        return
    if control_group is None:
        control_group = data.spec.control_group
    comparison = compare_subgroups(het)
    # a headline whose gap may continue an earlier one establishes no subgroup difference either
    earlier = brief_facts(data, evidence).earlier_gap
    methods, methods_shared = method_rows(main, cross, lang, control_group)
    _show(
        render(
            "brief/details.html.j2",
            lang,
            data=data,
            c=data.coverage,
            methods=methods,
            methods_shared=methods_shared,
            outcomes=frame_rows(outcomes, lang, "outcome"),
            unchanged_min=UNCHANGED_MIN_SHARE,  # the coverage row follows caveat.unchanged's rule
            # the ungraded-indicators sentence only beside another indicator's estimate
            others_estimated=bool(
                len(outcomes)
                and (
                    outcomes["estimable"].astype(bool)
                    & (outcomes["outcome"] != data.design.outcome)
                ).any()
            ),
            het=frame_rows(het, lang, "group") if len(het) else [],
            het_pre=subgroup_pre_rows(het, lang),
            subgroups=comparison,
            established=_established_pairs(comparison, lang, headline_gap=earlier),
            unchecked=_established_pairs(comparison, lang, False, headline_gap=earlier),
            ev=evidence,
            h=main.headline if isinstance(main.headline, Estimate) else None,
            covariates=_covariate_words(main, data, lang),
            # the distance checks re-estimate the headline: without one they have nothing to say
            spill=spillover_rows(main.spillover, lang, control_group)
            if isinstance(main.headline, Estimate)
            else None,
        )
    )


def _covariate_words(main: MainEstimate, data: DistrictData, lang: str) -> str:
    """The sentence on what the headline adjusted for: the covariates named, or none there.

    Shown only when the headline is estimated. ``details.covariates_used`` names the covariates
    of the headline's own facts; ``details.covariates_none`` holds when the default covariates
    were asked for (``spec.covariates`` is ``None``) and the data hold none of them.
    """
    if not isinstance(main.headline, Estimate):
        return ""
    w = words(lang)
    used = main.covariates_used
    if used:
        names = [w.code("covariate", c) if w.has(f"covariate.{c}") else c for c in used]
        if main.baseline_used:  # the starting value of the indicator is adjusted for too
            names.append(w.t("details.baseline_name", outcome=w.outcome(data.design.outcome)))
        return w.t("details.covariates_used", names=w.join(names))
    if data.spec.covariates is None and not data.covariates_available:
        key = (
            "details.covariates_none_baseline" if main.baseline_used else "details.covariates_none"
        )
        return w.t(key)
    return ""


def subgroup_pre_rows(het: pd.DataFrame, lang: str) -> list[tuple[str, str]]:
    """Each estimated subgroup's own pre-period check, worded: (subgroup, check)."""
    w = words(lang)
    rows = []
    if not len(het) or "pretrend_p" not in het:
        return rows
    for r in het[het["estimable"].astype(bool)].to_dict("records"):
        if r.get("pre_message"):  # a few-desa subgroup: its synthetic twin's pre-period miss
            check = w.t(r["pre_message"], rmspe=w.num(r.get("pre_max_abs"), 3))
        elif not r.get("n_pre_points"):
            check = w.reason("no_event_pre_period")
        elif not np.isfinite(float(r.get("pretrend_p", np.nan))):
            check = w.t("subgroup.pre_none")
        elif r.get("pretrend_rejects"):
            check = w.t("subgroup.pre_rejects", p=w.p(r["pretrend_p"]))
        elif float(r.get("pre_max_abs", np.nan)) > abs(float(r["estimate"])):
            check = w.t("subgroup.pre_gap", p=w.p(r["pretrend_p"]))
        else:
            check = w.t("subgroup.pre_passes", p=w.p(r["pretrend_p"]))
        rows.append((w.group(r["dimension"], r["group"]), check))
    return rows


def _established_pairs(
    comparison: SubgroupComparison, lang: str, checked: bool = True, headline_gap: bool = False
) -> dict[str, list[str]]:
    """Per dimension, the pairs whose difference holds after adjustment, worded.

    ``checked``: the pairs whose two groups passed their own pre-period test (established,
    worded with the difference and its adjusted p), or with ``False`` the pairs that pass the
    adjusted test without that check (not established: named only, no number to act on).
    ``headline_gap``: the headline's own gap may continue an earlier one (the pre-period test
    rejects or a pre-period gap exceeds it); then no pair is established, and every pair that
    passes the adjusted test is named as not established.
    """
    w = words(lang)
    out: dict[str, list[str]] = {}
    pairs = comparison.pairs
    pre = pairs["pre_checked"].astype(bool) & (not headline_gap)
    keep = (pairs["p_adjusted"] < DIFFERENCE_ALPHA) & (pre == checked)
    for r in pairs[keep].to_dict("records"):
        a, b = w.group(r["dimension"], r["group_a"]), w.group(r["dimension"], r["group_b"])
        text = (
            w.t(
                "subgroup.pair",
                a=a,
                b=b,
                diff=w.num(r["difference"], 3, signed=True),
                p=w.p(r["p_adjusted"]),
            )
            if checked
            else w.t("subgroup.pair_named", a=a, b=b)
        )
        out.setdefault(r["dimension"], []).append(text)
    return out


def _naive(cross: CrossSection) -> Result | None:
    """The naive (unadjusted) comparison of the cross-section, if it was computed."""
    return next((r for r in cross.results if METHOD_CODES.get(r.method, r.method) == "naive"), None)


def caveats_html(
    data: DistrictData,
    evidence: Evidence,
    lang: str = "id",
    cross: CrossSection | None = None,
) -> str:
    """The appendix's methods section: each sentence a claim.

    It gives the methods in plain words, the estimator actually computed, the limits and the
    sensitivity of this page's own numbers, and a short glossary.
    """
    facts = brief_facts(data, evidence, cross)
    w = words(lang)
    return render(
        "brief/caveats.html.j2",
        lang,
        f=facts,
        say=lambda section: shown(facts, section, w),
        glossary=glossary_terms(facts),
    )


def show_caveats(
    data: DistrictData,
    evidence: Evidence,
    lang: str = "id",
    cross: CrossSection | None = None,
) -> None:
    """Methods in plain words and the limits that apply to this page's own numbers."""
    if not data.applicable:
        return
    _show(caveats_html(data, evidence, lang, cross), role="appendix")


def _shown_path(value: object) -> str:
    """A path as a reader may see it: relative to the repository, or just its last part."""
    if not value:
        return ""
    p = Path(str(value))
    p = p if p.is_absolute() else paths.ROOT / p
    try:
        return str(p.resolve().relative_to(paths.ROOT))
    except ValueError:
        return p.name


def method_label(w, requested: str, used: str, k: int, n: int) -> str:
    """The estimator as computed: the one asked for, or what its cells fell back to, counted.

    ``requested``/``used``: method codes (``used`` may be ``"dr,reg"`` when some cells fell
    back to outcome regression); ``k`` of ``n`` group-time cells fell back.
    """
    asked = w.t(f"est_method.{requested}") if w.has(f"est_method.{requested}") else requested
    if not k:
        return asked
    return w.t(
        "method_fallback_label",
        asked=asked,
        used=w.t("est_method.reg"),
        k=w.int(k),
        n=w.int(n),
    )


def _headline_method(w, main: MainEstimate | None) -> str | None:
    """The headline's estimator as computed (:func:`method_label`), or None without a headline."""
    h = getattr(main, "headline", None)
    if not isinstance(h, Estimate):
        return None
    hf = h.facts or {}
    return method_label(
        w,
        str(hf.get("est_method_requested", h.est_method)),
        str(h.est_method),
        int(hf.get("n_cells_reg_fallback", 0) or 0),
        int(hf.get("n_cells", 0) or 0),
    )


def _setting(w, data: DistrictData, k: str, v: object, main: MainEstimate | None = None) -> str:
    """One setting of the analysis as a reader may see it (codes worded, paths shortened).

    The estimator is the one computed for the headline, with its fallback count (``main``);
    without a staggered headline estimate, the estimator and its propensity model are said to be
    asked for and not run.
    """
    if k in ("est_method", "ps_model") and _not_run(main):
        asked = w.t(f"{k}.{v}") if isinstance(v, str) and w.has(f"{k}.{v}") else str(v)
        return w.t("param.not_run", asked=asked)
    if k == "est_method" and (label := _headline_method(w, main)) is not None:
        return label
    if k == "ps_model" and (unused := _ps_unused(w, main)):
        return unused
    if k == "ps_model" and (used := _headline_ps_model(main)) and used != v:
        # the district model could not be fitted: the cells' own models were used
        return w.t("param.ps_model_used", used=w.t(f"ps_model.{used}"), asked=w.t(f"ps_model.{v}"))
    if k == "data_dir":
        return dataset_title(w, data.dataset.meta, _shown_path(v or paths.EXAMPLE_DIR))
    if k in ("last_year", "cross_section_year"):
        return str((v or data.last_year) or "-")
    if k == "outcome":
        return w.outcome(v)
    if k == "district":
        return f"{data.district.name} ({data.district.code})"
    if k == "agreements":
        return ", ".join(Path(x).name for x in paths.input_paths(v)) or "-"  # names, as on page 1
    if k == "covariates":
        if v is None and not data.covariates_available:  # the default found none in the data
            baseline = main is not None and main.baseline_used
            return w.t("param.default_baseline" if baseline else "param.default_none")
        if v is None:
            return w.t("param.default")
        return w.join([w.code("covariate", c) if w.has(f"covariate.{c}") else c for c in v]) or "-"
    if isinstance(v, bool):
        return w.t("word.yes" if v else "word.no")
    if isinstance(v, float):
        return w.num(v, 2)
    if isinstance(v, str) and w.has(f"{k}.{v}"):
        return w.t(f"{k}.{v}")
    return str(v)


def _not_run(main: MainEstimate | None) -> bool:
    """The staggered headline was asked for and not estimated (``main`` given, no estimate)."""
    return main is not None and not isinstance(getattr(main, "headline", None), Estimate)


def _ps_unused(w, main: MainEstimate | None) -> str:
    """The propensity-model setting worded as unused when the headline used no propensity score.

    That is when its estimator is outcome regression, or when every cell of a doubly robust or
    weighting estimator fell back to outcome regression; "" otherwise (or without a headline).
    """
    h = main.headline if main is not None else None
    if not isinstance(h, Estimate):
        return ""
    hf = h.facts or {}
    n, k = int(hf.get("n_cells", 0) or 0), int(hf.get("n_cells_reg_fallback", 0) or 0)
    if str(h.est_method) == "reg" and not k:
        return w.t("param.ps_model_unused_reg")
    if n and k == n:
        return w.t("param.ps_model_unused", n=w.int(n))
    return ""


def _headline_ps_model(main: MainEstimate | None) -> str:
    """The propensity model the headline used (``facts["ps_model"]``), "" if none or unknown."""
    h = main.headline if main is not None else None
    return str(h.facts.get("ps_model") or "") if isinstance(h, Estimate) else ""


def show_provenance(
    data: DistrictData, parameters: dict, lang: str = "id", main: MainEstimate | None = None
) -> None:
    """Footer: dataset title and file fingerprints, the parameters in effect, versions, commit.

    ``main`` (from ``estimate_main``) makes the estimator setting say what was computed,
    including cells that fell back to outcome regression; without it the setting is the one
    asked for.
    """
    w = words(lang)
    s = stamp()
    shown = []
    spec = getattr(data, "spec", None)
    settings = {**parameters, **(spec.as_dict() if spec is not None else {})}
    for k, v in settings.items():
        key = f"param.{k}"
        if not w.has(key):
            continue
        shown.append((w.t(key), _setting(w, data, k, v, main)))
    _show(
        render(
            "brief/provenance.html.j2",
            lang,
            title=dataset_title(w, data.dataset.meta, _shown_path(data.dataset.folder)),
            hashes=sorted(data.dataset.hashes.items()),
            params=shown,
            versions=sorted(s["versions"].items()),
            commit=s["commit"],
            created=s["created"],
        )
    )


def word_notes(table: pd.DataFrame, lang: str = "id") -> pd.DataFrame:
    """``table`` with its ``notes`` column worded in ``lang`` from the catalogs.

    An estimate's note words its fact columns (:data:`FACT_FIELDS`); a result that was not
    estimated reads "not estimated: <reason>" from its ``reason`` code. The machine-readable
    columns (``reason``, ``facts``, ``detail`` and the fact columns) are left as they are.
    """
    w = words(lang)
    notes = []
    for r in table.to_dict("records"):
        if bool(r.get("estimable")):
            facts = {k: r.get(k) for k in FACT_FIELDS if _present(r.get(k))}
            fell = _fallback(r.get("facts"))
            if fell and "est_method" in facts:
                facts["est_method"] = method_label(w, fell[0], str(facts["est_method"]), *fell[1:])
            notes.append(w.facts(facts))
        else:
            notes.append(not_estimated(w, r))
    return table.assign(notes=notes)


def _fallback(facts: object) -> tuple[str, int, int] | None:
    """(requested method, cells fallen back, cells) from a row's ``facts`` (text or dict), if any."""
    said = parse_facts(facts)
    try:
        k, n = int(said.get("n_cells_reg_fallback", 0)), int(said.get("n_cells", 0))
    except ValueError:
        return None
    return (said.get("est_method_requested", ""), k, n) if k > 0 else None


def save(
    results_dir: str,
    data: DistrictData,
    main: MainEstimate,
    cross: CrossSection,
    outcomes: pd.DataFrame,
    het: pd.DataFrame,
    evidence: Evidence,
    parameters: dict,
    lang: str | None = None,
) -> Path | None:
    """Write results.csv and summary.json for the synthesis (nothing when ``results_dir`` is empty).

    The ``notes`` column of results.csv is worded in ``lang`` (default: ``parameters["lang"]``,
    else Indonesian) by :func:`word_notes`; its ``reason`` column keeps the code.
    """
    if not results_dir:
        return None
    lang = lang or str(parameters.get("lang") or "id")
    return save_results(
        results_dir,
        data,
        word_notes(results_table(main, cross, outcomes, het), lang),
        evidence,
        {**parameters, **stamp()},
    )
