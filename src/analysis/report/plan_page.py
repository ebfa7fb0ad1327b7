"""The pages of an evaluation plan and of its evaluation, in plain words for a district official.

Every sentence is shown only when the plan's or the evaluation's facts make it true (a left-out
row, a restriction of the comparison, a plan changed after the baseline); numbers are formatted
by :mod:`analysis.report.words`, text from the data is escaped by the template, and the page
shell (:func:`analysis.report.render.page`) carries the synthetic-data banner.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from analysis import paths
from analysis.errors import OutputExistsError
from analysis.files import write_file_atomically, write_json
from analysis.inputs.frame import resolve_district
from analysis.report.evaluation import evaluate_plan, read_plan
from analysis.report.planning import make_plan
from analysis.report.render import page, render
from analysis.report.words import Words, words

#: Why an agreements row is not used, worded.
LEFT_OUT = {"no_code": "plan.left.no_code", "other_district": "plan.left.other_district",
            "status": "plan.left.status"}  # fmt: skip
#: The comparison's restrictions beyond the district, worded.
POOL = {"kecamatan": "plan.pool.kecamatan", "mining": "plan.pool.mining",
        "plantation": "plan.pool.plantation"}  # fmt: skip
DECISION = {"increase": "evaluation.decision.increase", "decrease": "evaluation.decision.decrease",
            "no_detectable_change": "evaluation.decision.no_detectable_change"}  # fmt: skip
OUTCOME = {"skor_tanpa_ekonomi": "plan.outcome.skor_tanpa_ekonomi",
           "layanan_dasar": "plan.outcome.layanan_dasar", "sosial": "plan.outcome.sosial",
           "lingkungan": "plan.outcome.lingkungan", "aksesibilitas": "plan.outcome.aksesibilitas",
           "tata_kelola": "plan.outcome.tata_kelola", "nilai_idm": "outcome.nilai_idm",
           "iks": "outcome.iks", "ike": "outcome.ike", "ikl": "outcome.ikl"}  # fmt: skip
#: Weights listed on the plan page (the largest).
TOP_WEIGHTS = 10


def digits(plan: dict) -> int:
    """Decimals of the plan's effects: 3 on IDM's 0-1 scale, 2 on the Indeks Desa's 0-100."""
    return 2 if plan["outcomes"]["series"] == "indeks_desa" else 3


def outcome_name(w: Words, code: str) -> str:
    """An outcome of a plan in words."""
    return w.t(OUTCOME[code])


def _names(plan: dict, codes: list[str]) -> str:
    return ", ".join(plan["names"].get(c, c) for c in codes)


def _when(w: Words, iso: str) -> str:
    return w.date(dt.datetime.fromisoformat(iso).date())


def _cohort_section(w: Words, plan: dict) -> dict:
    c, comp = plan["cohort"], plan["comparison"]
    ps = [w.t("plan.cohort", n=w.int(len(c["desa"])), year=c["exposure_year"],
              names=_names(plan, c["desa"]))]  # fmt: skip
    for r in c["left_out_rows"]:
        ps.append(w.t("plan.left_row", row=w.int(r["row"]), name=r["nama_desa"] or r["id"],
                      why=w.t(LEFT_OUT[r["why"]])))  # fmt: skip
    if c["missing_baseline"]:
        ps.append(w.n("plan.cohort_missing", len(c["missing_baseline"])))
    if comp["cohort_partnered_before"]:
        ps.append(w.t("plan.cohort_before", n=w.int(len(comp["cohort_partnered_before"])),
                      names=_names(plan, comp["cohort_partnered_before"])))  # fmt: skip
    pool = [w.t(POOL[p]) for p in comp["donor_pool"] if p in POOL]
    ps.append(
        w.t("plan.comparison_pool", n=w.int(len(comp["desa"])), how=w.join(pool))
        if pool
        else w.t("plan.comparison", n=w.int(len(comp["desa"])))
    )
    if comp["partnered_excluded"]:
        ps.append(w.n("plan.comparison_partnered", comp["partnered_excluded"]))
    if comp["outside_restriction"]:
        ps.append(w.n("plan.comparison_outside", len(comp["outside_restriction"])))
    if comp["missing_baseline"]:
        ps.append(w.n("plan.comparison_missing", len(comp["missing_baseline"])))
    return {"kind": "cohort", "heading": w.t("plan.h.who"), "paragraphs": ps}


def _weights_section(w: Words, plan: dict) -> dict:
    b, wt = plan["baseline"], plan["weights"]
    ps = [w.n("plan.weights", wt["n_positive"], first=b["idm_years"][0],
              last=b["idm_years"][-1], gap=w.num(wt["pre_rmspe"], 2))]  # fmt: skip
    if b["indeks_desa_years"]:
        ps.append(w.t("plan.weights_id", year=b["baseline_year"]))
        ps.append(w.t("plan.no_splice"))
    ps.append(w.t("plan.time_weight", year=b["baseline_year"]))
    top = sorted(wt["unit"], key=lambda u: -u["weight"])[:TOP_WEIGHTS]
    rows = [[plan["names"].get(u["kode_desa"], u["kode_desa"]), w.pct(u["weight"], 1)]
            for u in top if u["weight"] > 0]  # fmt: skip
    table = {"head": [w.t("plan.col.desa"), w.t("plan.col.weight")], "rows": rows}
    return {"kind": "weights", "heading": w.t("plan.h.weights"), "paragraphs": ps, "table": table}


def _outcome_section(w: Words, plan: dict) -> dict:
    o, j = plan["outcomes"], plan["judge"]
    if o["series"] == "indeks_desa":
        ps = [w.t("plan.outcome_id"), w.t("plan.outcome_secondary")]
    else:
        ps = [w.t("plan.outcome_idm")]
    if not j["judgeable"]:
        ps.append(w.t("plan.not_judgeable", year=j["year"], base=j["year"] - 1))
    return {"kind": "outcome", "heading": w.t("plan.h.outcome"), "paragraphs": ps}


def _mde_sentences(w: Words, plan: dict) -> list[str]:
    m, name = plan["mde"], outcome_name(w, plan["outcomes"]["primary"])
    if m.get("reason") == "not_computed":
        return [w.t("plan.mde_skipped")]
    if not m.get("available") or m.get("mde") is None:
        return [w.t("plan.mde_none")]
    ps = [w.t("plan.mde", n=w.int(len(plan["cohort"]["desa"])), power=w.pct(m["power"]),
              mde=w.num(m["mde"], digits(plan)), outcome=name)]  # fmt: skip
    y0, y1 = m["idm_years"]
    key = "plan.mde_how_rescaled" if plan["outcomes"]["series"] == "indeks_desa" else "plan.mde_how"
    ps.append(w.t(key, first=y0, last=y1, n=w.int(m["n_placebos"])))
    return ps


def _rule_section(w: Words, plan: dict) -> dict:
    j, b = plan["judge"], plan["baseline"]
    name = outcome_name(w, plan["outcomes"]["primary"])
    ps = [w.t("plan.judge", year=j["year"], outcome=name)] if j["judgeable"] else []
    ps.append(w.t("plan.rule", base=b["baseline_year"], year=j["year"],
                  n=w.int(len(plan["placebo"]["sets"]))))  # fmt: skip
    ps.append(w.t("plan.rule_increase", alpha=w.pct(j["alpha"]), outcome=name))
    ps.append(w.t("plan.rule_decrease", alpha=w.pct(j["alpha"]), outcome=name))
    ps.append(w.t("plan.rule_none"))
    ps += _mde_sentences(w, plan)
    return {"kind": "rule", "heading": w.t("plan.h.rule"), "paragraphs": ps}


def _already_sentence(w: Words, plan: dict) -> list[str]:
    years = plan["outcome_years_already_in_folder"]
    if not years:
        return []
    name = outcome_name(w, plan["outcomes"]["primary"])
    return [w.t("plan.already", outcome=name, years=w.join([str(y) for y in years]))]


def plan_html(plan: dict, lang: str) -> str:
    """The plan's page."""
    w = words(lang)
    title = w.t("plan.title", district=plan["district"]["name"])
    intro = {"kind": "intro", "heading": w.t("plan.h.fixed"),
             "paragraphs": [w.t("plan.intro", date=_when(w, plan["provenance"]["created"]))]
             + _already_sentence(w, plan),
             "code_label": w.t("plan.hash"), "code": plan["content_sha256"]}  # fmt: skip
    sections = [intro, _cohort_section(w, plan), _outcome_section(w, plan),
                _weights_section(w, plan)]  # fmt: skip
    if plan["judge"]["judgeable"]:  # otherwise the outcome section says why it cannot be judged
        sections.append(_rule_section(w, plan))
    body = render("plan.html.j2", lang, title=title, sections=sections)
    return page(title, body, lang, plan["data"]["synthetic"])


# -- the evaluation page ------------------------------------------------------------------------


def _replan_sentences(w: Words, ev: dict) -> list[str]:
    ch, y = ev["changes"], ev["decision"]["year"]
    how = []
    if ch["donors_now_partnered"]:
        how.append(w.n("evaluation.how.partnered", len(ch["donors_now_partnered"])))
    if ch["donors_missing"]:
        how.append(w.n("evaluation.how.donors_missing", len(ch["donors_missing"]), year=y))
    if ch["treated_missing"]:
        how.append(w.n("evaluation.how.treated_missing", len(ch["treated_missing"]), year=y))
    if ch["treated_missing"]:
        k = ev["n_treated"] + len(ch["treated_missing"])
        how.append(w.t("evaluation.how.placebo_size", k=w.int(k), n=w.int(ev["n_treated"])))
    if ch["placebo_sets_dropped"]:
        how.append(w.t("evaluation.how.placebos", n=w.int(ch["placebo_sets_dropped"])))
    return [w.t("evaluation.replanned", how=w.join(how))]


def _result_sentences(w: Words, ev: dict, plan: dict) -> list[str]:
    r = next(
        x for x in ev["results"] if x["role"] == "primary" and x["year"] == ev["decision"]["year"]
    )
    name, d = outcome_name(w, r["outcome"]), ev["decision"]
    ps = [w.t("evaluation.result", year=r["year"], base=plan["baseline"]["baseline_year"],
              outcome=name, treated=w.num(r["treated_mean_change"], digits(plan), signed=True),
              synthetic=w.num(r["synthetic_change"], digits(plan), signed=True),
              estimate=w.num(r["estimate"], digits(plan), signed=True), lo=w.num(r["ci_low"], digits(plan)),
              hi=w.num(r["ci_high"], digits(plan)), level=w.pct(1 - d["alpha"]))]  # fmt: skip
    ps.append(
        w.t(DECISION[d["code"]], outcome=name, p=w.pct(r["p_value"], 1), alpha=w.pct(d["alpha"]))
    )
    m = plan["mde"]
    if d["code"] == "no_detectable_change" and m.get("available") and m.get("mde") is not None:
        ps.append(
            w.t(
                "evaluation.small_effects",
                mde=w.num(m["mde"], digits(plan)),
                n=w.int(ev["n_treated"]),
            )
        )
    if ev["changes"]["baseline_revised"]:
        ps.append(w.n("evaluation.baseline_revised", ev["changes"]["baseline_revised"],
                      year=plan["baseline"]["baseline_year"]))  # fmt: skip
    t = ev.get("truth")
    if ev["data"]["synthetic"] and t is not None:
        key = "evaluation.truth_covered" if t["covered"] else "evaluation.truth_missed"
        ps.append(w.t(key, att=w.num(t["att"], digits(plan), signed=True)))
    return ps


def _others_table(w: Words, ev: dict, plan: dict) -> dict:
    main_year = ev["decision"]["year"]
    rows = [[outcome_name(w, r["outcome"]), str(r["year"]), w.num(r["estimate"], digits(plan), signed=True),
             w.t("range.pair", lo=w.num(r["ci_low"], digits(plan)), hi=w.num(r["ci_high"], digits(plan))), w.p(r["p_value"])]
            for r in ev["results"] if not (r["role"] == "primary" and r["year"] == main_year)]  # fmt: skip
    level = w.pct(1 - ev["decision"]["alpha"])
    head = [w.t("plan.col.outcome"), w.t("plan.col.year"), w.t("col.estimate"),
            w.t("plan.col.ci", level=level), w.t("plan.col.p")]  # fmt: skip
    return {"head": head, "rows": rows}


def evaluation_html(ev: dict, plan: dict, lang: str) -> str:
    """The evaluation's page."""
    w = words(lang)
    title = w.t("evaluation.title", district=plan["district"]["name"])
    first = (
        _replan_sentences(w, ev)
        if ev["replanned"]
        else [w.t("evaluation.intro", date=_when(w, plan["provenance"]["created"]))]
    )
    sections = [
        {"kind": "intro", "heading": w.t("evaluation.h.plan"), "paragraphs": first,
         "code_label": w.t("plan.hash"), "code": plan["content_sha256"]},
        {"kind": "result", "heading": w.t("evaluation.h.result"),
         "paragraphs": _result_sentences(w, ev, plan)},
    ]  # fmt: skip
    others = _others_table(w, ev, plan)
    if others["rows"]:
        sections.append({"kind": "others", "heading": w.t("evaluation.h.others"),
                         "paragraphs": [w.t("evaluation.others")], "table": others})  # fmt: skip
    body = render("plan.html.j2", lang, title=title, sections=sections)
    return page(title, body, lang, ev["data"]["synthetic"])


# -- the commands -------------------------------------------------------------------------------


def plan_json(plan: dict) -> str:
    """The plan as indented JSON, each placebo set's weights on one line (the file stays readable)."""
    mark = "__placebo_weights__"
    text = json.dumps({**plan, "placebo": {**plan["placebo"], "weights": mark, "sets": mark + "s"}},
                      indent=1, ensure_ascii=False)  # fmt: skip
    rows = ",\n  ".join(json.dumps(x, separators=(",", ":")) for x in plan["placebo"]["weights"])
    sets = json.dumps(plan["placebo"]["sets"], separators=(",", ":"))
    text = text.replace(f'"{mark}s"', sets).replace(f'"{mark}"', "[\n  " + rows + "\n  ]")
    return text + "\n"


def plan_command(data: Path, district: str, agreements: list[Path], *, out: Path | None = None,
                 lang: str = "id", **options) -> Path:  # fmt: skip
    """``python -m analysis plan``: write ``plan.json`` and ``plan.html``; returns the folder."""
    out = Path(out) if out else paths.OUTPUTS_DIR / f"plan-{resolve_district(district).code}"
    if (out / "plan.json").exists():
        raise OutputExistsError(
            f"{out / 'plan.json'} exists: a plan is fixed once, and writing another over it "
            "would hide the first. Fix: give another --out, or move the old plan away yourself",
            key="plan_exists",
            path=str(out / "plan.json"),
        )
    plan = make_plan(Path(data), district, [paths.input_path(a) for a in agreements], **options)
    out.mkdir(parents=True, exist_ok=True)
    write_file_atomically(out / "plan.json", plan_json(plan))
    write_file_atomically(out / "plan.html", plan_html(plan, lang))
    return out


def evaluate_command(plan_file: Path, data: Path, *, out: Path | None = None, lang: str = "id",
                     replan: bool = False) -> Path:  # fmt: skip
    """``python -m analysis evaluate``: write ``evaluation.json`` and ``evaluation.html``."""
    plan = read_plan(paths.input_path(plan_file))
    ev = evaluate_plan(plan, Path(data), replan=replan)
    out = Path(out) if out else paths.OUTPUTS_DIR / f"evaluation-{plan['district']['code']}"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "evaluation.json", ev)
    write_file_atomically(out / "evaluation.html", evaluation_html(ev, plan, lang))
    return out
