"""The synthesis page: the pooling it names is the pooling computed (checked against statsmodels
and a hand computation), and every sentence on it holds, over several simulated worlds (one of
them a placebo with every true effect zero) and in both languages."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from analysis.design import Design, analysis_panel
from analysis.inputs.example_data import simulate
from analysis.methods.panel import callaway_santanna
from analysis.methods.pooling import pool_districts, prediction_interval
from analysis.methods.results import Estimate, to_frame
from analysis.report import words
from analysis.report.synthesis import (
    POOLED_OUTCOMES,
    SENTENCES,
    claims,
    load_run,
    page_html,
    pool,
    sentence_fields,
    sentences,
    synthesis_facts,
)

#: (seed, effect_scale) of the simulated worlds; the last is the placebo.
WORLDS = ((1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0), (5, 0.0))


def _table(effects, ses) -> pd.DataFrame:
    rows = [
        Estimate(
            outcome="y",
            method="m",
            estimand="ATT",
            estimate=e,
            se=s,
            n_treated=10,
            n_control=40,
            district=f"d{i}",
        )
        for i, (e, s) in enumerate(zip(effects, ses, strict=True))
    ]
    return to_frame(rows)


EFFECTS = np.array([0.01, 0.03, -0.005, 0.02, 0.04, 0.0])
SES = np.sqrt([1e-4, 2e-4, 1.5e-4, 1e-4, 3e-4, 2e-4])


def test_hksj_interval_tau_and_prediction_interval_match_statsmodels_and_hand():
    """HKSJ equals statsmodels' "random effect wls" row with t(k-1) (tolerance 1e-10: the
    same closed form in floating point); the prediction interval is Higgins et al. (2009) eq.
    12 computed by hand with t(k-2) and the HKSJ standard error; tau is sqrt(tau^2)."""
    p = pool_districts(_table(EFFECTS, SES), "y", "m", interval="hksj")
    sm = combine_effects(EFFECTS, SES**2, method_re="dl", use_t=True)
    row = sm.summary_frame().loc["random effect wls"]
    re = p.random_effects
    assert p.interval == "hksj" and p.method_re == "dl" and re.ci_method == "t"
    assert re.estimate == pytest.approx(row["eff"], abs=1e-10)
    assert re.ci_low == pytest.approx(row["ci_low"], abs=1e-10)
    assert re.ci_high == pytest.approx(row["ci_upp"], abs=1e-10)
    assert p.tau2 == pytest.approx(sm.tau2, abs=1e-12) and p.tau == pytest.approx(np.sqrt(p.tau2))
    k = len(EFFECTS)
    half = stats.t.ppf(0.975, k - 2) * np.sqrt(p.tau2 + re.se**2)
    assert p.prediction_low == pytest.approx(re.estimate - half, abs=1e-12)
    assert p.prediction_high == pytest.approx(re.estimate + half, abs=1e-12)
    assert p.prediction_high - p.prediction_low > re.ci_high - re.ci_low
    normal = pool_districts(_table(EFFECTS, SES), "y", "m", interval="normal")
    assert normal.interval == "normal" and normal.random_effects.ci_method == "normal"
    assert np.isnan(prediction_interval(0.1, 0.01, 0.0, 2)[0])


def test_leave_one_out_is_the_same_pooling_without_that_district():
    t = _table(EFFECTS, SES)
    p = pool_districts(t, "y", "m", method_re="pm")
    assert list(p.leave_one_out["omitted"]) == list(t["district"])
    for r in p.leave_one_out.to_dict("records"):
        rest = pool_districts(t[t["district"] != r["omitted"]], "y", "m", method_re="pm")
        assert r["estimate"] == pytest.approx(rest.random_effects.estimate, abs=1e-12)
        assert r["ci_low"] == pytest.approx(rest.random_effects.ci_low, abs=1e-12)
        assert r["n_districts"] == len(t) - 1
    two = pool_districts(_table(EFFECTS[:2], SES[:2]), "y", "m")
    assert two.leave_one_out["estimate"].isna().all()  # one left: nothing to pool
    assert np.isnan(two.prediction_low)


def _world(run: Path, seed: int, scale: float) -> None:
    """A run folder of one simulated world: each district's headline and components (analytic
    inference, for speed) and a summary whose reasons carry ``pretrend`` when p < 0.10."""
    sim = simulate("64", seed, effect_scale=scale)
    panel = analysis_panel(sim.welfare, sim.villages, sim.partnerships)
    manifest = {}
    for kab, g in panel.groupby("kode_kab"):
        results, pre_p = [], np.nan
        for o in POOLED_OUTCOMES:
            r, agg = callaway_santanna(g, Design(outcome=o), inference="analytic")
            results.append(r)
            if o == "nilai_idm" and agg is not None:
                pre_p = agg.pretrend_p
        d = run / "districts" / kab
        d.mkdir(parents=True)
        to_frame(results).assign(district=kab).to_csv(d / "results.csv", index=False)
        reasons = ["pretrend"] if pre_p < 0.10 else []
        grade = "not_estimable" if not isinstance(results[0], Estimate) else "insufficient"
        summary = {
            "district": kab,
            "name": f"Kab <{kab}>",
            "applicable": True,
            "synthetic": True,
            "evidence": {"grade": grade, "reasons": reasons, "pretrend_p": pre_p},
        }
        (d / "summary.json").write_text(json.dumps(summary))
        manifest[kab] = {"name": summary["name"], "status": "ok"}
    (run / "manifest.json").write_text(json.dumps({"districts": manifest}))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", str(html))))


def _expected(run, pooled, table: pd.DataFrame) -> set[str]:
    """The sentences that must show, computed here from the results without the page's facts."""
    re_ = pooled.random_effects
    if not isinstance(re_, Estimate):
        return {"synth.pretrend"} & ({"synth.pretrend"} if _pre(run) else set())
    k = pooled.n_districts
    lo, hi = re_.ci_low, re_.ci_high
    ok = table[table["estimable"] & table["se"].gt(0)]
    excl = int(((ok["ci_low"] > 0) | (ok["ci_high"] < 0)).sum())
    zero = lo <= 0 <= hi
    flips = []
    for c in ok["district"]:
        rest = pool_districts(ok[ok["district"] != c], ok["outcome"].iat[0], "cs_did")
        r = rest.random_effects
        if isinstance(r, Estimate) and (r.ci_low <= 0 <= r.ci_high) != zero:
            flips.append(c)
    out = {"synth.method.hksj" if k < 20 else "synth.method.normal", "synth.tau"}
    out |= {"synth.prediction" if k >= 3 else "synth.no_prediction"}
    out |= {"synth.meaning.higher"} if lo > 0 else {"synth.meaning.lower"} if hi < 0 else set()
    out |= {"synth.meaning.includes_zero"} if zero else set()
    if zero and excl and pooled.tau2 > 0:
        out.add("synth.why_zero")
    elif zero and excl and pooled.interval == "hksj":
        out.add("synth.why_zero.few")
    out |= {"synth.loo.flips"} if flips else ({"synth.loo.stable"} if k > 2 else set())
    return out | ({"synth.pretrend"} if _pre(run) else set())


def _pre(run) -> bool:
    return any(s["evidence"]["pretrend_p"] < 0.10 for s in run.summaries)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> list:
    out = []
    for seed, scale in WORLDS:
        run = tmp_path_factory.mktemp(f"world{seed}")
        _world(run, seed, scale)
        out.append(load_run(run))
    return out


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_sentence_holds_in_every_simulated_world(worlds, lang):
    """Per world and pooled outcome: the sentences shown are exactly those whose condition,
    recomputed here from the results table, holds; each is on the page (IDM and IKL pages);
    district names are escaped. Over the worlds both sides of the zero condition occur."""
    seen = set()
    for run in worlds:
        for outcome in POOLED_OUTCOMES:
            pooled = pool(run, outcome, lang)
            table = run.results[run.results["outcome"] == outcome].copy()
            table["district"] = table["district"].map(
                {s["district"]: s["name"] for s in run.summaries}
            )
            facts = synthesis_facts(run, pooled)
            shown = set(claims(facts))
            assert shown == _expected(run, pooled, table), (outcome, shown)
            seen |= shown
            if outcome not in ("nilai_idm", "ikl"):
                continue  # the page (its figure takes time) for the headline and one component
            html = str(page_html(run, pooled, outcome, lang))
            text = _text(html)
            for s in sentences(facts, lang):
                assert s in text
            assert "<6" not in html and "Kab &lt;6" in html
    assert {"synth.meaning.includes_zero", "synth.meaning.higher", "synth.why_zero"} <= seen
    assert "synth.pretrend" in seen


def test_sentences_not_claimed_are_not_on_the_page(worlds):
    """Each catalog sentence that is not claimed is absent, worded with the page's facts."""
    w = words("en")
    run = worlds[-1]  # the placebo
    pooled = pool(run, "nilai_idm", "en")
    facts = synthesis_facts(run, pooled)
    text = _text(page_html(run, pooled, "nilai_idm", "en"))
    fields = sentence_fields(facts, "en")
    assert set(SENTENCES) - set(claims(facts))
    for key in set(SENTENCES) - set(claims(facts)):
        assert w.t(key, **fields) not in text, key


def test_the_placebo_world_shows_no_benefit_sentence(worlds):
    run = worlds[-1]
    shown = set(claims(synthesis_facts(run, pool(run, "nilai_idm", "id"))))
    assert "synth.meaning.higher" not in shown and "synth.meaning.includes_zero" in shown


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_districts_table_does_not_call_an_underpowered_pre_test_a_pass(lang):
    from analysis.report.synthesis import _pre_check

    w = words(lang)
    passed = _pre_check(w, {"reasons": ["few_treated"], "pretrend_p": 0.23})
    weak = _pre_check(w, {"reasons": ["pre_period_underpowered"], "pretrend_p": 0.23})
    assert passed == w.t("synth.pretrend_passed", p=w.p(0.23))
    assert weak == w.t("synth.pretrend_weak", p=w.p(0.23)) and weak != passed
    failed = _pre_check(w, {"reasons": ["pretrend", "pre_period_underpowered"], "pretrend_p": 0.01})
    assert failed == w.t("synth.pretrend_failed", p=w.p(0.01))
