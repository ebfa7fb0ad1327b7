"""A district with too few partnered desa for the staggered estimator gets the few-desa comparison.

Issue 18, item 2: where Callaway-Sant'Anna refuses (fewer than ``min_treated`` evaluated
partnered desa), the district step runs synthetic DiD for its largest cohort with a pre-period
fit, grades it by its own rule (never "strong"), and the brief, results.csv, summary.json and
the index say which method was graded. Where it cannot run, the page says why.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis import district as steps
from analysis import paths
from analysis.report import brief

FAST = {"few_desa_placebos": 19, "inference": "analytic"}


def _claims(html: str) -> set[str]:
    return set(re.findall(r'data-claim="([^"]+)"', html))


@pytest.fixture(scope="module")
def two_desa():
    """Kutai Kartanegara with only two partnered desa left (cohort 2021) and its results."""
    data = steps.prepare(paths.EXAMPLE_DIR, "64.02", **FAST)
    first = data.panel.groupby("kode_desa")["g"].first()
    keep = set(first[first == 0].index) | set(first[first == 2021].index[:2])
    data = replace(data, panel=data.panel[data.panel["kode_desa"].isin(keep)])
    main = steps.estimate_main(data)
    outcomes = steps.estimate_outcomes(data)
    return SimpleNamespace(
        data=data, main=main, outcomes=outcomes, ev=steps.judge_evidence(main, outcomes, data)
    )


def test_too_few_partnered_desa_get_the_synthetic_did_comparison(two_desa, tmp_path):
    d = two_desa
    assert d.main.headline.reason == "too_few_treated"
    few = d.main.few_desa
    assert few.estimable and few.method == "synthetic_did" and few.n_treated == 2
    assert few.facts["cohort"] == 2021 and few.facts["n_placebos"] == 19
    assert d.ev.method == "synthetic_did" and d.ev.grade in ("suggestive", "insufficient")
    assert "few_desa" in d.ev.reasons  # never "strong" with so few desa
    cross = steps.estimate_cross_section(d.data)
    table = steps.results_table(d.main, cross, d.outcomes, pd.DataFrame())
    assert "synthetic_did" in set(table["method"])
    steps.save_results(tmp_path, d.data, table, d.ev, {"district": "64.02"})
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["evidence"]["method"] == "synthetic_did"
    for lang in ("id", "en"):
        html = brief.summary_html(d.data, d.main, d.ev, lang, "", cross)
        html += brief.caveats_html(d.data, d.ev, lang, cross)
        said = _claims(html)
        assert {"few.used", "method_text.few"} <= said
        assert "method_text" not in said and "key.not_estimable" not in said


def test_the_few_desa_grade_rule():
    data = SimpleNamespace(
        panel=pd.DataFrame({"tahun": [2024, 2024], "nilai_idm": [0.7, 0.8]}), last_year=2024
    )
    counts = {"n_evaluated": 2, "n_too_recent": 0, "min_evaluated": 10}

    def est(**kw):
        base = dict(estimate=0.03, ci_low=0.01, ci_high=0.05, p_value=0.02, n_treated=2)
        base |= kw
        facts = {"pre_rmspe": kw.pop("pre", 0.01), "min_p_value": kw.pop("min_p", 0.005)}
        return SimpleNamespace(
            **{k: v for k, v in base.items() if k not in ("pre", "min_p")},
            facts=facts,
            outcome="nilai_idm",
            method="synthetic_did",
            ci_method="placebo_test_inversion",
        )

    assert steps._judge_few(est(), data, counts).grade == "suggestive"
    for bad, why in (
        (est(p_value=0.2), "placebo_not_rejected"),
        (est(min_p=0.1), "placebo_not_rejected"),  # a test that cannot reject at 5%
        (est(pre=0.04), "pre_fit_exceeds_estimate"),
    ):
        ev = steps._judge_few(bad, data, counts)
        assert ev.grade == "insufficient" and why in ev.reasons, (why, ev.reasons)


def test_a_district_where_it_cannot_run_says_why():
    data = steps.prepare(paths.EXAMPLE_DIR, "64.11", **FAST)  # one desa, one year before
    main = steps.estimate_main(data, variants=False)
    ev = steps.judge_evidence(main, steps.estimate_outcomes(data), data)
    assert ev.grade == "not_estimable" and ev.few_reason == "too_few_pre_periods"
    said = _claims(brief.summary_html(data, main, ev, "id", ""))
    assert {"key.not_estimable", "few.not_estimable"} <= said
    off = steps.prepare(paths.EXAMPLE_DIR, "64.11", **{**FAST, "few_desa_placebos": 0})
    main = steps.estimate_main(off, variants=False)
    assert main.few_desa is None  # switched off: not tried, and not said to be tried
    ev = steps.judge_evidence(main, steps.estimate_outcomes(off), off)
    assert "few.not_estimable" not in _claims(brief.summary_html(off, main, ev, "id", ""))


def test_few_desa_placebos_is_checked():
    with pytest.raises(steps.OptionError, match="few_desa_placebos"):
        steps.Specification(few_desa_placebos=5)


def test_an_unbounded_few_desa_interval_is_not_graded(two_desa):
    d = two_desa
    unbounded = replace(d.main.few_desa, ci_low=float("nan"), ci_high=float("nan"))
    ev = steps.judge_evidence(replace(d.main, few_desa=unbounded), d.outcomes, d.data)
    assert ev.grade == "not_estimable" and ev.few_reason == "ci_unbounded"
    assert "few.not_estimable" in _claims(brief.summary_html(d.data, d.main, ev, "id", ""))


# -- subgroups of 1-4 desa (issue 18, item 2) ---------------------------------------------------


@pytest.fixture(scope="module")
def kukar_het():
    data = steps.prepare(paths.EXAMPLE_DIR, "64.02", **FAST, few_desa_subgroups=True)
    return data, steps.estimate_heterogeneity(data)


def test_subgroups_of_one_to_four_desa_get_the_few_desa_comparison(kukar_het):
    data, het = kukar_het
    few = het["n_desa_subgroup"].between(1, steps.FEW_SUBGROUP_MAX)
    assert few.sum() >= 3  # BUMN, BAZNAS, university ... (README: 1-3 desa each)
    assert (het.loc[few, "method"] == "synthetic_did").all() and het.loc[few, "few_desa"].all()
    assert not het.loc[~few, "few_desa"].any() and (het.loc[~few, "method"] == "cs_did").all()
    got = het[few & het["estimable"].astype(bool)]
    assert len(got) and (got["ci_method"] == "placebo_test_inversion").all()
    assert got["se"].isna().all()  # its interval is the inverted placebo test, not +- z se
    assert (got["n_treated"] <= got["n_desa_subgroup"]).all()  # its largest cohort
    # no pre-period test: never "pre-checked"; its own grade, by the district fallback's rule
    assert (got["n_pre_points"] == 0).all() and got["pretrend_p"].isna().all()
    for r in got.to_dict("records"):
        reasons = r["few_reasons"].split(",")
        assert reasons[0] == "few_desa"
        assert r["few_grade"] == ("suggestive" if reasons == ["few_desa"] else "insufficient")
        misses = r["pre_max_abs"] > abs(r["estimate"])
        assert ("pre_fit_exceeds_estimate" in reasons) == misses
        assert r["pre_message"] == steps.FEW_PRE_MESSAGES[not misses]
        assert ("placebo_not_rejected" in reasons) == (not r["p_value"] < 0.05)
    # not asked (the default) or switched off: not estimated, and it says why
    for kw in ({}, {"few_desa_subgroups": True, "few_desa_placebos": 0}):
        off = steps.estimate_heterogeneity(
            steps.prepare(paths.EXAMPLE_DIR, "64.02", **{**FAST, **kw})
        )
        assert set(off.loc[few.to_numpy(), "reason"]) == {"too_few_treated"}, kw
        assert not off["few_desa"].any()


def test_few_desa_subgroups_are_not_in_the_pairwise_differences(kukar_het):
    from analysis.methods.subgroups import compare_subgroups

    _, het = kukar_het
    c = compare_subgroups(het)
    few = set(het.loc[het["few_desa"].astype(bool), "group"])
    assert few and not (set(c.pairs["group_a"]) | set(c.pairs["group_b"])) & few
    for dim in c.n_few_desa:
        rows = het[(het["dimension"] == dim) & het["estimable"].astype(bool)]
        assert c.n_few_desa[dim] == int(rows["few_desa"].sum())
    # a few-desa row far from the others would be "different" if it were compared
    far = het.assign(estimate=het["estimate"].where(~het["few_desa"].astype(bool), 5.0))
    assert compare_subgroups(far).pairs.equals(c.pairs)
    # (their se is empty: the placebo SE is a fact, so give them one to show the rule acts)
    compared = far.assign(few_desa=False, se=far["se"].fillna(0.01))
    assert len(compare_subgroups(compared).pairs) > len(c.pairs)
    assert len(compare_subgroups(compared.assign(few_desa=het["few_desa"])).pairs) == len(c.pairs)
