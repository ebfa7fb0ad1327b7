"""Spillover checks: exclusion radii and the exposure-by-distance test on the example data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import district as steps
from analysis import paths
from analysis.methods.results import NotEstimable
from analysis.methods.spillover import check_spillover, exclusion_estimate
from analysis.report import maps


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
