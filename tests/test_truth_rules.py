"""The rules that keep a brief's words true to its numbers, each tested on its condition.

- A pre-period gap larger than the estimate, or a rejected pre-period test, makes the grade
  "insufficient" and removes every sentence that reads the gap as a benefit or gives its size.
- The estimator named (settings, results.csv notes) is the one computed, with the fallback count.
- "Adjustment did not change the result" is not said when only the unadjusted interval excludes
  zero; trimming is counted in words.
- Real agreements on a page of simulated data are marked real; too-recent years with fewer desa
  than the strong minimum say so; rows without a code are named, desa persiapan included.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis import district as steps
from analysis import paths
from analysis.report import brief, claims, words
from analysis.report.agreements import recent_agreements

MOU = paths.ROOT / "data" / "real" / "kukar_mou_2025.csv"


def _estimate(est: float, lo: float, hi: float, p: float) -> SimpleNamespace:
    return SimpleNamespace(estimate=est, ci_low=lo, ci_high=hi, p_value=p)


PRE_OK = {"pretrend_p": 0.6, "pre_detectable": 0.005, "pre_max_abs": 0.004}
COUNTS = {"n_evaluated": 30, "min_evaluated": 10}


def test_the_grade_is_insufficient_when_the_gap_before_is_as_large():
    h = _estimate(0.02, 0.01, 0.03, 0.001)
    assert steps._grade(h, 0.001, PRE_OK, COUNTS) == ("strong", ())
    grade, why = steps._grade(h, 0.001, {**PRE_OK, "pre_max_abs": 0.021}, COUNTS)
    assert grade == "insufficient" and "pre_gap_exceeds_estimate" in why
    grade, why = steps._grade(h, 0.001, {**PRE_OK, "pretrend_p": 0.048}, COUNTS)
    assert grade == "insufficient" and why == ("pretrend",)  # p < 0.05 is no longer suggestive
    grade, _ = steps._grade(h, 0.001, PRE_OK, {**COUNTS, "n_evaluated": 4})
    assert grade == "suggestive"  # other failed conditions keep the old rule
    assert set(steps.GRADE_REASONS) >= {"pre_gap_exceeds_estimate", "pretrend", "few_treated"}


BASE = claims.Facts(
    estimable=True,
    grade="suggestive",
    reasons=("few_treated",),
    estimate=0.02,
    ci_low=0.005,
    ci_high=0.035,
    pretrend_p=0.6,
    pre_max_abs=0.004,
    mean_last=0.75,
    band="MAJU",
    band_low=0.7072,
    band_high=0.8155,
    n_evaluated_last=8,
    n_status_change=2,
)


def test_sizes_are_given_only_for_strong_or_suggestive_evidence_without_an_earlier_gap():
    assert {"units.mean", "units.band", "units.status_change"} <= claims.holds(BASE)
    assert "key.suggestive.up" in claims.holds(BASE)
    for f in (
        replace(BASE, pre_max_abs=0.03, grade="insufficient"),
        replace(BASE, pretrend_p=0.04, grade="insufficient"),
        replace(BASE, grade="insufficient", ci_low=-0.01),
    ):
        said = claims.holds(f)
        assert not {k for k in said if k.startswith("units.") or k.endswith((".up", ".down"))}
    gap = claims.holds(replace(BASE, pre_max_abs=0.03, grade="insufficient"))
    assert {"key.pre_gap", "headline.gap_pre"} <= gap
    assert "key.insufficient" not in gap and "grade_text.insufficient" not in gap
    assert "grade_text.unattributed" not in gap  # the key message already gives the reason
    # an interval that excludes zero, unattributed for another reason, says so once
    other = replace(BASE, grade="insufficient", reasons=("not_significant_after_adjustment",))
    assert "grade_text.unattributed" in claims.holds(other)


def test_below_the_mde_is_said_only_when_the_interval_excludes_zero():
    f = replace(BASE, caveats=("below_mde",), mde=0.03)
    assert "caveat.below_mde" in claims.holds(f)
    assert "caveat.below_mde" not in claims.holds(replace(f, ci_low=-0.001))


def test_adjustment_is_not_said_to_change_nothing_when_only_the_naive_interval_excludes_zero():
    f = replace(BASE, ci_low=-0.004, naive_estimate=0.024, naive_se=0.006)
    sure = replace(f, naive_ci_low=0.012, naive_ci_high=0.036)
    assert "caveat.naive_close_sure" in claims.holds(sure)
    assert "caveat.naive_close" not in claims.holds(sure)
    both = replace(f, naive_ci_low=-0.001, naive_ci_high=0.05)
    assert "caveat.naive_close" in claims.holds(both)
    assert "caveat.naive_close_sure" not in claims.holds(both)


def test_trimming_is_counted_in_words():
    f = replace(BASE, has_propensity=True, trim=0.02, n_trimmed_control=57, n_cross_control=125)
    assert "trim.count" in claims.holds(f) and "trim.none" not in claims.holds(f)
    none = replace(f, n_trimmed_control=0)
    assert "trim.none" in claims.holds(none) and "trim.count" not in claims.holds(none)
    assert not {"trim.count", "trim.none"} & claims.holds(replace(f, has_propensity=False))
    text = {s.key: s.text for s in claims.shown(f, "method", words("id"))}["trim.count"]
    assert "57 dari 125" in text


def test_the_estimator_named_is_the_one_computed_with_its_fallback_count():
    w = words("id")
    assert brief.method_label(w, "dr", "dr", 0, 36) == w.t("est_method.dr")
    label = brief.method_label(w, "dr", "reg", 36, 36)
    assert "36 dari 36" in label and w.t("est_method.reg") in label
    table = pd.DataFrame(
        {
            "estimable": [True, True],
            "est_method": ["reg", "dr"],
            "reason": ["", ""],
            "facts": [
                "est_method_requested=dr; n_cells=30; n_cells_reg_fallback=30",
                "est_method_requested=dr; n_cells=30; n_cells_reg_fallback=0",
            ],
        }
    )
    notes = brief.word_notes(table, "id")["notes"].tolist()
    assert "30 dari 30" in notes[0] and "dari" not in notes[1]


def test_real_agreements_on_simulated_data_are_marked_and_few_desa_are_said():
    if not MOU.exists():
        pytest.skip("the Kukar MoU file is not in this checkout")
    data = steps.prepare(paths.EXAMPLE_DIR, "64.02", agreements=str(MOU), inference="analytic")
    main = steps.estimate_main(data, variants=False)
    evidence = steps.judge_evidence(main, steps.estimate_outcomes(data), data)
    rec = brief.recent(data, str(MOU))
    f = brief.brief_facts(data, evidence, None, rec)
    assert f.synthetic and f.n_recent_from_files == 12 and f.recent_files
    assert "recent.real" in claims.holds(f)
    assert "recent.real" not in claims.holds(replace(f, synthetic=False))
    by_year = {y: (n, d, k, pre) for y, _, n, d, k, pre in f.recent}
    # the MoU desa new to partnering, all in one kecamatan, one Indeks Desa year before; the
    # agreements at the repeat desa are not counted among them
    assert by_year[2026][1:] == (3, 1, 1)
    assert by_year[2026][0] == 9
    assert "rec.settle_tiny" not in claims.holds(replace(f, min_treated=4))
    assert "rec.settle_tiny.no_twin" in claims.holds(replace(f, min_treated=4))
    assert f.recent_repeat == ("Loh Sumber",)  # partnered before: a repeat partnership
    assert "rec.settle_few" in claims.holds(f)
    assert "rec.settle_few" not in claims.holds(replace(f, min_evaluated=3))
    # rows without a code are named (the file calls it a desa persiapan)
    assert f.n_no_code == 3 and any("persiapan" in n for n in f.no_code_names)
    text = {s.key: s.text for s in claims.shown(f, "rec", words("id"))}["rec.record_codes"]
    assert "persiapan" in text
    html = brief.summary_html(data, main, evidence, "id", str(MOU))
    assert 'data-claim="recent.real"' in html and "perjanjian nyata" in html


def test_groups_count_their_agreements_from_files():
    reg = pd.DataFrame(
        {
            "id_kerjasama": ["a"],
            "kode_desa": ["64.02.02.2010"],
            "nama_desa": ["A"],
            "mitra": ["PT X"],
            "tanggal_tanda_tangan": [pd.Timestamp("2025-08-26")],
            "tanggal_mulai": [pd.NaT],
            "status": ["aktif"],
        }
    )
    extra = reg.assign(id_kerjasama="b", kode_desa="64.02.03.2011", nama_desa="B", mitra="PT Y")
    rec = recent_agreements(reg, "64.02", 2024, extra, files=("mou.csv",))
    (g,) = rec.groups
    assert g.n_agreements == 2 and g.n_from_files == 1 and g.from_files == ("B",)
    assert g.n_kecamatan == 2 and rec.files == ("mou.csv",)


def test_fragility_and_e_values_are_said_only_of_a_result():
    f = replace(BASE, caveats=("fragile_to_trend_violation",), e_value=1.6, e_value_bound=1.2)
    said = claims.holds(f)
    assert {"caveat.fragile", "evalue.point", "caveat.causal"} <= said
    for none in (replace(f, ci_low=-0.01), replace(f, pre_max_abs=0.03, grade="insufficient")):
        assert not {"caveat.fragile", "evalue.point", "caveat.causal"} & claims.holds(none)


def test_a_result_no_other_method_confirms_says_so():
    f = replace(BASE, n_cross_methods=4, cross_sure_pos=0, cross_year=2024)
    assert "caveat.methods_disagree" in claims.holds(f)
    assert "caveat.methods_disagree" not in claims.holds(replace(f, cross_sure_pos=1))
    assert "caveat.methods_disagree" not in claims.holds(replace(f, grade="insufficient"))


def test_ended_agreements_reach_page_one_with_or_without_a_result():
    with_result = replace(BASE, n_desa_ended=2)
    assert "means.ended" in claims.holds(with_result)
    assert "rec.ended_only" not in claims.holds(with_result)
    without = replace(with_result, estimable=False, reason="too_few_treated")
    assert "rec.ended_only" in claims.holds(without) and "means.ended" not in claims.holds(without)
    assert "rec.ended_only" not in claims.holds(replace(without, n_desa_ended=0))


def test_the_detectable_size_caveat_is_said_wherever_the_interval_excludes_zero():
    f = replace(BASE, caveats=("below_mde",), mde=0.02)
    assert "caveat.below_mde" in claims.holds(f)
    gap = replace(f, pre_max_abs=0.03, grade="insufficient")  # no size on the page
    assert "caveat.below_mde" in claims.holds(gap)
    assert "caveat.below_mde" not in claims.holds(replace(gap, ci_low=-0.01))
    assert "caveat.below_mde" not in claims.holds(replace(f, caveats=()))


def test_partner_types_are_said_to_lack_desa_when_none_was_estimated():
    """ "The appendix's figures by partner type are no basis" needs such figures: with no partner
    type estimated the page says none had desa enough; unknown (-1) keeps the general sentence."""
    for n, general, none in ((-1, True, False), (2, True, False), (0, False, True)):
        got = claims.holds(replace(BASE, n_partner_types_estimated=n))
        assert ("means.cannot_subgroups" in got, "means.cannot_subgroups_none" in got) == (
            general,
            none,
        ), n
    het = pd.DataFrame({"dimension": ["jenis_mitra", "sektor"], "estimable": [False, True]})
    data = steps.prepare(paths.EXAMPLE_DIR, "64.02", inference="analytic")
    assert brief.brief_facts(data, None, None, None, het).n_partner_types_estimated == 0


def test_waiting_is_not_advised_once_the_idm_has_ended():
    """With the IDM's last edition in the data, no later IDM year can add desa or years: the
    recommendations say that only agreements up to that year not yet recorded can help."""
    from analysis.report.agreements import IDM_LAST_EDITION as LAST

    few = replace(BASE, n_evaluated=8, grade="insufficient", ci_low=-0.01, mde=0.05)
    for last, final in ((LAST - 1, False), (LAST, True)):
        said = claims.holds(replace(few, last_year=last))
        assert ("rec.more_desa" in said, "rec.more_desa.final" in said) == (not final, final)
        assert ("rec.mde_smaller" in said, "rec.mde_smaller.final" in said) == (not final, final)
    near = replace(few, last_year=LAST, mde=0.01)
    assert {"rec.mde_near.final"} <= claims.holds(near)
    assert "rec.mde_near" not in claims.holds(near)
    # an Indeks Desa outcome is not the IDM: later years can come
    assert "rec.more_desa" in claims.holds(replace(few, last_year=LAST + 2, outcome="indeks_desa"))


def test_only_the_start_year_after_partnering_is_said():
    said = claims.holds(replace(BASE, last_year=2024, first_cohort=2024))
    assert {"means.only_start_year", "method.same_comparison"} <= said
    for f in (
        replace(BASE, last_year=2024, first_cohort=2022),
        replace(BASE, last_year=2024, first_cohort=0),
        replace(BASE, last_year=2024, first_cohort=2024, estimable=False),
        replace(BASE, last_year=2024, first_cohort=2024, headline_method="synthetic_did"),
    ):
        assert "means.only_start_year" not in claims.holds(f)
    panel = pd.DataFrame(
        {"tahun": [2023, 2024] * 3, "g": [2024, 2024, 0, 0, 2023, 2023], "nilai_idm": 0.7}
    )
    assert claims.panel_facts(panel, "nilai_idm", 2024, 0.01)["first_cohort"] == 2024


def test_regression_alone_is_said_on_page_one_when_every_cell_fell_back():
    f = replace(BASE, est_method_requested="dr", n_cells=30, n_cells_reg_fallback=30)
    assert "caveat.regression_only" in claims.holds(f)
    for g in (
        replace(f, n_cells_reg_fallback=29),
        replace(f, est_method_requested="reg"),
        replace(f, n_cells=0, n_cells_reg_fallback=0),
        replace(f, estimable=False),
    ):
        assert "caveat.regression_only" not in claims.holds(g)
    text = {s.key: s.text for s in claims.shown(f, "headline", words("en"))}
    assert "caveat.regression_only" in text


def test_the_glossary_defines_only_terms_the_page_uses():
    none = claims.glossary_terms(replace(BASE, estimable=False, reason="too_few_treated"))
    assert not {"evalue", "breakdown", "pretrend", "mde", "naive"} & set(none)
    bare = claims.glossary_terms(replace(BASE, pretrend_p=float("nan")))
    assert "pretrend" not in bare and "evalue" not in bare and "breakdown" not in bare
    full = replace(
        BASE,
        caveats=("fragile_to_trend_violation",),
        breakdown_mbar=0.5,
        e_value=1.6,
        mde=0.02,
        naive_estimate=0.03,
    )
    assert {"pretrend", "mde", "evalue", "breakdown", "naive", "did"} <= set(
        claims.glossary_terms(full)
    )
    assert "evalue" not in claims.glossary_terms(replace(full, ci_low=-0.01))


def test_the_fragile_warning_gives_how_small_a_departure_breaks_the_result():
    f = replace(BASE, caveats=("fragile_to_trend_violation",), breakdown_mbar=0.109375)
    text = {s.key: s.text for s in claims.shown(f, "headline", words("id"))}["caveat.fragile"]
    assert words("id").num(0.109375, 2) in text


def test_settings_say_the_estimator_did_not_run_without_a_main_estimate():
    w = words("id")
    none = SimpleNamespace(headline=None)
    for k, v in (("est_method", "dr"), ("ps_model", "pooled")):
        said = brief._setting(w, None, k, v, none)
        assert said == w.t("param.not_run", asked=w.t(f"{k}.{v}"))
    assert brief._setting(w, None, "est_method", "dr", None) == w.t("est_method.dr")  # asked


def test_the_synthesis_gives_every_reason_and_the_test_beside_a_larger_gap():
    from analysis.report import synthesis

    w = words("id")
    e = {"grade": "suggestive", "reasons": ["pre_period_underpowered", "few_treated"]}
    cell = synthesis._grade_cell(w, {**e, "pretrend_p": 0.23}, True)
    assert w.t("why.few_treated") in cell and w.t("why.pre_period_underpowered") in cell
    assert synthesis._grade_cell(w, {"grade": "strong", "reasons": []}, True) == w.t(
        "grade_short.strong"
    )
    gap = {"grade": "insufficient", "reasons": ["pre_gap_exceeds_estimate"], "pretrend_p": 0.765}
    pre = synthesis._pre_check(w, gap)
    assert w.p(0.765) in pre and w.t("synth.pre_gap") in pre


def test_an_event_study_with_one_point_after_gives_its_value():
    w = words("id")
    es = pd.DataFrame({"e": [0], "att": [0.003]})
    assert brief._alt_event(es, w) == w.t("alt.event_one", n_pre=w.int(0), value=w.num(0.003))


def test_a_sure_unadjusted_difference_that_adjustment_removes_is_said():
    """No result to overstate, yet the unadjusted comparison alone excludes zero and lies
    beyond its own noise from the headline: the page says adjustment removed it."""
    f = replace(
        BASE,
        grade="insufficient",
        ci_low=-0.013,
        ci_high=0.021,
        estimate=0.004,
        naive_estimate=0.043,
        naive_se=0.0143,
        naive_ci_low=0.015,
        naive_ci_high=0.071,
    )
    assert "caveat.naive_gone" in claims.holds(f)
    assert not {"caveat.naive_larger", "caveat.naive_close_sure"} & claims.holds(f)
    assert "caveat.naive_gone" not in claims.holds(replace(f, naive_estimate=0.01))  # close
    assert "caveat.naive_gone" not in claims.holds(replace(f, naive_ci_low=-0.001))  # not sure


def test_a_2025_group_below_the_minimum_is_said_not_comparable():
    """Agreements counted from 2025 have no Indeks Desa year before them: a group of fewer desa
    than the comparison's minimum cannot be compared at all (not even as an indication)."""
    one = replace(BASE, recent=((2025, "first_indeks_desa", 1, 1, 1, 0),), min_treated=3)
    said = claims.holds(one)
    assert "rec.settle_first_indeks_desa.tiny" in said
    assert "rec.settle_first_indeks_desa" not in said
    four = replace(one, recent=((2025, "first_indeks_desa", 6, 4, 2, 0),))
    assert "rec.settle_first_indeks_desa" in claims.holds(four)
    assert "rec.settle_first_indeks_desa.tiny" not in claims.holds(four)


def test_the_compared_desa_are_those_counted_after_the_first_year():
    w = words("en")
    f = replace(BASE, first_year=2023, last_year=2024, n_treated=5, n_control=155)
    text = {s.key: s.text for s in claims.shown(f, "method", w)}["compared"]
    assert "counts from 2024 with" in text
    g = replace(f, first_year=2018)
    assert (
        "counts from 2019-2024 with"
        in {s.key: s.text for s in claims.shown(g, "method", w)}["compared"]
    )


def test_scores_repeated_from_the_year_before_are_said_from_one_percent():
    from analysis.methods.describe import unchanged_values

    panel = pd.DataFrame(
        {
            "kode_desa": ["a", "a", "b", "b", "c", "c"],
            "tahun": [2023, 2024] * 3,
            "iks": [0.7, 0.7, 0.6, 0.61, 0.5, 0.5],
            "ike": [0.6, 0.6, 0.5, 0.5, 0.4, 0.4],
            "ikl": [0.8, 0.8, 0.7, 0.7, 0.6, 0.6],
            "nilai_idm": [0.7, 0.7, 0.6, 0.603, 0.5, 0.5],
            "dibawa": [False, False, False, False, False, True],  # c's 2024 carried by the tool
        }
    )
    got = unchanged_values(panel)
    assert got["n_desa_unchanged"] == 1 and got["n_desa_years_unchanged"] == 1
    assert got["unchanged_share"] == pytest.approx(1 / 3)
    f = replace(BASE, n_desa_unchanged=54, unchanged_share=0.28)
    assert "caveat.unchanged" in claims.holds(f)
    assert "caveat.unchanged" not in claims.holds(replace(f, unchanged_share=0.0009))


def test_repeated_scores_reach_the_recommendations_and_simulated_repeats_say_so():
    f = replace(BASE, n_desa_unchanged=54, unchanged_share=0.28)
    assert "rec.unchanged" in claims.holds(f)
    assert "rec.unchanged" not in claims.holds(replace(f, unchanged_share=0.001))
    rep = replace(BASE, recent_repeat=("Loh Sumber",), synthetic=True)
    assert "recent.repeat.simulated" in claims.holds(rep)
    assert "recent.repeat" not in claims.holds(rep)
    real = replace(rep, synthetic=False)
    assert "recent.repeat" in claims.holds(real)
    assert "recent.repeat.simulated" not in claims.holds(real)


def test_the_breakdown_sentence_says_which_case_holds():
    wide = replace(BASE, ci_low=-0.01, breakdown_mbar=0.0)
    assert "sens.no_breakdown" in claims.holds(wide)
    assert "sens.no_breakdown.zero" not in claims.holds(wide)
    zero = replace(BASE, breakdown_mbar=0.0)  # the range excludes zero, breakdown 0
    assert "sens.no_breakdown.zero" in claims.holds(zero)
    assert "sens.no_breakdown" not in claims.holds(zero)
    assert not {"sens.no_breakdown", "sens.no_breakdown.zero"} & claims.holds(
        replace(BASE, breakdown_mbar=0.5)
    )
