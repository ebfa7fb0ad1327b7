"""Spillover checks: exclusion radii and the exposure-by-distance test on the example data."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis import district as steps
from analysis import paths
from analysis.errors import OptionError
from analysis.inputs.coordinates import shipped_centroids
from analysis.inputs.dataset import Dataset
from analysis.inputs.example_data import simulate
from analysis.inputs.frame import load_frame
from analysis.methods.results import NotEstimable
from analysis.methods.spillover import (
    check_spillover,
    exclusion_estimate,
    haversine_km,
    nearest_partnered_km,
)
from analysis.report import brief, maps
from analysis.report.claims import SPILLOVER_ALPHA


def _kukar():
    d = steps.prepare(paths.EXAMPLE_DIR, "64.02", agreements="data/real/kukar_mou_2025.csv")
    return d, maps.district_points(d)


def test_exclusion_rows_drop_only_near_comparison_desa_and_test_finds_no_spillover_by_design():
    d, pts = _kukar()
    kw = d.spec.cs_kwargs()
    c = check_spillover(d.panel, pts, d.design, d.spec.control_group, d.last_year, **kw)
    five, ten = c.excluded
    comp = c.comparison_km
    # the estimator counts the comparison desa it used (the headline too uses 153 of 154: one
    # lacks a year it needs), so each row uses at most the desa beyond its radius, and all but one
    for r, km in ((five, 5), (ten, 10)):
        assert int((comp >= km).sum()) - 1 <= r.n_control <= int((comp >= km).sum())
    assert five.n_treated == ten.n_treated == d.counts.n_desa_evaluated
    assert five.method == "cs_did_excl5km" and ten.method == "cs_did_excl10km"
    # the example has no spillovers: leaving out near desa barely moves the estimate
    head = steps.estimate_main(d, variants=False).headline
    assert abs(five.estimate - head.estimate) < 0.005 and abs(ten.estimate - head.estimate) < 0.005
    assert c.exposure.method == "spillover_near" and c.exposure.p_value > 0.05


def test_thin_rings_are_typed_not_estimable():
    d, pts = _kukar()
    from analysis.methods.spillover import _distances

    dist = _distances(d.panel, pts, 5.0)
    far_all = dist.assign(jarak_km=np.where(dist["g"] == 0, 1.0, 0.0))  # every comparison desa near
    r = exclusion_estimate(d.panel, far_all, 5, d.design, "nevertreated", d.last_year)
    assert isinstance(r, NotEstimable) and r.reason == "too_few_far_comparison"
    none = pts.assign(letak="missing")  # no points at all: the exposure test cannot run
    c = check_spillover(d.panel, none, d.design, "nevertreated", d.last_year)
    assert c.exposure.reason == "too_few_near"
    assert all(isinstance(x, NotEstimable) for x in c.excluded)
    assert isinstance(c.tidy(), pd.DataFrame) and len(c.tidy()) == 3


# -- the district step, the brief and simulated spillovers (issue 19) ---------------------------
FAST = steps.Specification(inference="analytic", draws=99)


def _world(seed: int, scale: float = 1.0, km: float = 0.0, share: float = 0.0):
    sim = simulate("64", seed, scale, km, share)
    ds = Dataset(
        folder=paths.EXAMPLE_DIR,
        villages=sim.villages,
        welfare=sim.welfare,
        partnerships=sim.partnerships,
        meta={"synthetic": True},
    )
    return sim, ds


def _checked(ds, code: str):
    d = steps.prepare_dataset(ds, code, spec=FAST)
    return d, steps.estimate_main(d, variants=False).headline, steps.estimate_spillover(d)


def test_simulated_spillovers_reach_only_never_partnered_neighbours_and_truth_records_them():
    off, _ = _world(7)
    on, _ = _world(7, 1.0, 5.0, 0.5)
    sp = on.truth["spillover"]
    assert "spillover" not in off.truth and sp["radius_km"] == 5.0 and sp["effect_share"] == 0.5
    got = pd.DataFrame(sp["desa"])
    partnered = set(on.partnerships["kode_desa"])
    assert len(got) == sp["n_desa"] > 0 and not set(got["kode_desa"]) & partnered
    # every desa within 5 km of a partnered desa (never partnered itself) is listed, no other
    pts = on.villages[["kode_desa"]].merge(shipped_centroids(), on="kode_desa", how="inner")
    km = nearest_partnered_km(pts, pts["kode_desa"].isin(partnered))
    desa = set(on.welfare["kode_desa"])
    near = set(pts.loc[(km < 5.0) & ~pts["kode_desa"].isin(partnered), "kode_desa"]) & desa
    assert set(got["kode_desa"]) == near
    # the partnered desa's outcomes and the registry are the seed's own; only neighbours move
    assert on.partnerships.equals(off.partnerships)
    w = off.welfare.merge(on.welfare, on=["kode_desa", "tahun"], suffixes=("_off", "_on"))
    moved = set(w.loc[w["nilai_idm_off"] != w["nilai_idm_on"], "kode_desa"])
    assert moved and moved <= set(got["kode_desa"]) and sp["att_nilai_idm"] > 0
    assert on.truth["outcomes"] == off.truth["outcomes"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_strong_spillover_is_found_and_leaving_out_near_desa_removes_its_bias(seed):
    _, ds_on = _world(seed, 3.0, 5.0, 1.0)  # strong effects, reaching neighbours fully
    _, ds_off = _world(seed, 3.0)  # the same world without spillovers
    _, h_on, c_on = _checked(ds_on, "64.02")
    _, h_off, c_off = _checked(ds_off, "64.02")
    assert c_on.exposure.p_value < 0.05 and c_on.exposure.estimate > 0
    assert c_off.exposure.p_value > 0.05
    five_on, five_off = c_on.excluded[0].estimate, c_off.excluded[0].estimate
    # the comparison desa that shared the benefit pull the headline down ...
    assert h_on.estimate < h_off.estimate
    # ... and leaving out those within 5 km moves it back up, to the world without spillovers
    assert five_on > h_on.estimate
    assert abs(five_on - h_off.estimate) < abs(h_on.estimate - h_off.estimate)
    assert five_on - h_on.estimate > five_off - h_off.estimate


def test_the_spillover_rows_reach_results_csv_and_summary_json(tmp_path, monkeypatch):
    d = steps.prepare(paths.EXAMPLE_DIR, "64.02", spec=FAST)
    main = steps.estimate_main(d)
    cross, outcomes = steps.estimate_cross_section(d), steps.estimate_outcomes(d)
    ev = steps.judge_evidence(main, outcomes, d)
    table = steps.results_table(main, cross, outcomes, pd.DataFrame())
    steps.save_results(tmp_path, d, table, ev, {})
    rows = pd.read_csv(tmp_path / "results.csv").set_index("method")
    assert {"cs_did_excl5km", "cs_did_excl10km", "spillover_near"} <= set(rows.index)
    s = json.loads((tmp_path / "summary.json").read_text())["spillover"]
    assert s["n_comparison"] == int((main.spillover.distances["g"] == 0).sum())
    assert s["n_within_km"]["5"] == int((main.spillover.comparison_km < 5).sum())
    assert s["rows"]["spillover_near"]["p_value"] == pytest.approx(
        rows.loc["spillover_near", "p_value"]
    )
    # no coordinates at all: three typed rows, with the reason
    orig = steps.desa_points
    monkeypatch.setattr(
        steps, "desa_points", lambda desa, user=None: orig(desa, user).assign(letak="missing")
    )
    c = steps.estimate_spillover(d)
    assert {r.reason for r in (*c.excluded, c.exposure)} == {"no_coordinates"}
    assert all(r.district == "64.02" for r in (*c.excluded, c.exposure))


def _on_page(data, main, ev, cross) -> set[str]:
    seen = set()
    for lang in ("id", "en"):
        html = str(brief.summary_html(data, main, ev, lang, "", cross))
        seen |= set(re.findall(r'data-claim="(spill\.[^"]+)"', html))
    return seen


@pytest.mark.parametrize(("seed", "scale", "km", "share"), [(20250826, 1.0, 0, 0), (3, 3.0, 5, 1)])
def test_the_decision_page_names_a_spillover_only_when_a_check_changes_the_reading(
    tmp_path, seed, scale, km, share
):
    """Shown iff it holds, on the numbers of results.csv (not the objects the page was built from)."""
    _, ds = _world(seed, scale, km, share)
    f = load_frame()
    seen: set[str] = set()
    for code in sorted(f.loc[f["kode_prov"] == "64", "kode_kab"].unique()):
        d = steps.prepare_dataset(ds, code, spec=FAST)
        if not d.applicable:
            continue
        main = steps.estimate_main(d, variants=False)
        main = replace(main, spillover=steps.estimate_spillover(d))
        cross, outcomes = steps.estimate_cross_section(d), steps.estimate_outcomes(d)
        ev = steps.judge_evidence(main, outcomes, d)
        steps.save_results(
            tmp_path / code, d, steps.results_table(main, cross, outcomes, pd.DataFrame()), ev, {}
        )
        t = pd.read_csv(tmp_path / code / "results.csv")
        t = t[t["outcome"] == "nilai_idm"].set_index("method")
        head = t.loc["cs_did"]
        moved = head["estimable"] and any(
            bool(t.loc[m, "estimable"])
            and not head["ci_low"] <= t.loc[m, "estimate"] <= head["ci_high"]
            for m in ("cs_did_excl5km", "cs_did_excl10km")
        )
        near = t.loc["spillover_near"]
        rejects = (
            bool(head["estimable"])
            and bool(near["estimable"])
            and near["p_value"] < SPILLOVER_ALPHA
        )
        shown = _on_page(d, main, ev, cross)
        assert ("spill.excluded" in shown) == moved, code
        assert ("spill.near" in shown) == rejects, code
        seen |= shown
    if share:  # the strong spillover world makes the test reject somewhere
        assert "spill.near" in seen
    else:  # the example has none: the decision page says nothing of it
        assert not seen


def test_distance_covariates_are_measured_from_the_points_and_refused_without_them(monkeypatch):
    covs = ("penduduk_log", "dist_partner_km", "dist_kecamatan_km")
    d = steps.prepare(paths.EXAMPLE_DIR, "64.02", covariates=covs, inference="analytic")
    per = d.panel.groupby("kode_desa").first()
    pts = maps.district_points(d).set_index("kode_desa")
    pts = pts[pts["letak"] == "located"]
    # a partnered desa is measured to its nearest partnered neighbour, never to itself
    partnered = per.index[(per["g"] > 0) & per.index.isin(pts.index)]
    some = partnered[0]
    others = [c for c in partnered if c != some]
    lat, lon = pts.loc[some, "latitude"], pts.loc[some, "longitude"]
    want = haversine_km(lat, lon, pts.loc[others, "latitude"], pts.loc[others, "longitude"]).min()
    assert per.loc[some, "dist_partner_km"] == pytest.approx(want)
    assert (per.loc[partnered, "dist_partner_km"] > 0).all()
    # the kecamatan centre is the mean of its desa's points
    kec = pts.loc[some, "kode_kec"]
    centre = pts[pts["kode_kec"] == kec][["latitude", "longitude"]].mean()
    want = haversine_km(lat, lon, centre["latitude"], centre["longitude"])
    assert per.loc[some, "dist_kecamatan_km"] == pytest.approx(float(want))
    main = steps.estimate_main(d, variants=False)
    assert set(main.covariates_used) == set(covs)
    orig = steps.desa_points
    monkeypatch.setattr(
        steps, "desa_points", lambda desa, user=None: orig(desa, user).assign(letak="missing")
    )
    with pytest.raises(OptionError, match="ingest --coordinates"):
        steps.prepare(paths.EXAMPLE_DIR, "64.02", covariates=covs)
    assert steps.prepare(paths.EXAMPLE_DIR, "64.02", covariates=covs[:1]).applicable


def test_the_near_vs_far_test_uses_t_with_the_exposed_kecamatan_less_one():
    """Known answer: estimate 0.02, SE 0.01, near desa in 5 kecamatan -> t(4): p = 0.1161,
    interval 0.02 +/- 2.7764 x 0.01 (scipy; a normal reference would give p = 0.0455)."""
    from analysis.methods.results import Estimate
    from analysis.methods.spillover import few_exposed_clusters

    r = Estimate(outcome="nilai_idm", method="spillover_near", estimand="ATT", estimate=0.02,
                 se=0.01, n_treated=12, n_control=100, ci_method="multiplier_bootstrap")  # fmt: skip
    t = few_exposed_clusters(r, 5)
    assert t.ci_method == "t_exposed_clusters" and t.facts["df_exposed_clusters"] == 4
    assert t.p_value == pytest.approx(0.11612, abs=1e-5)
    assert t.crit_value == pytest.approx(2.77645, abs=1e-5)
    assert (t.ci_low, t.ci_high) == pytest.approx((0.02 - 0.0277645, 0.02 + 0.0277645), abs=1e-7)
    d, pts = _kukar()  # the district's test carries the label of what was computed
    c = check_spillover(d.panel, pts, d.design, d.spec.control_group, d.last_year,
                        **d.spec.cs_kwargs())  # fmt: skip
    if c.exposure.estimable:
        assert c.exposure.ci_method == "t_exposed_clusters"
