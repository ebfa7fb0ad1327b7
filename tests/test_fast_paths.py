"""The array paths of the estimators give what the straightforward pandas construction gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import district as dist
from analysis import paths
from analysis.design import Design, desa_years, rows_in_district, with_exposure
from analysis.methods.inference import (
    WildBootstrap,
    coefficient_estimate,
    t_critical,
    t_p_value,
    t_p_values,
)
from analysis.methods.panel import group_time_att


@pytest.fixture(scope="module")
def kukar():
    return dist.prepare(paths.EXAMPLE_DIR, "64.02")


def test_group_time_att_matches_a_pivot_whatever_the_row_order(kukar):
    panel = kukar.panel.sample(frac=1.0, random_state=3)  # rows shuffled
    gt = group_time_att(panel, Design(), covariates=())
    wide = panel.pivot(index="kode_desa", columns="tahun", values="nilai_idm").dropna()
    g = panel.drop_duplicates("kode_desa").set_index("kode_desa").loc[wide.index, "g"]
    years = list(wide.columns)
    for row in gt.table.itertuples():
        dy = wide[row.t] - wide[row.base]
        want = dy[g == row.g].mean() - dy[g == 0].mean()
        assert row.att == pytest.approx(want, abs=1e-12), (row.g, row.t)
        assert row.n_treated == int((g == row.g).sum())
    assert len(gt.table) and gt.table["t"].isin(years).all()


def test_group_time_att_refuses_duplicate_desa_years(kukar):
    panel = pd.concat([kukar.panel, kukar.panel.iloc[:1]])
    with pytest.raises(ValueError, match="duplicate"):
        group_time_att(panel, Design(), covariates=())


def test_subgroup_panels_from_the_district_registry_equal_those_from_the_whole(kukar):
    ds, code = kukar.dataset, kukar.district.code
    base = desa_years(ds.welfare, ds.villages, code)
    kinds = ds.partnerships["jenis_mitra"].dropna().unique()
    assert len(kinds)
    for treat in ("any", *(f"type:{k}" for k in kinds)):
        whole = with_exposure(base, ds.partnerships, treat)
        local = with_exposure(base, rows_in_district(ds.partnerships, code), treat)
        pd.testing.assert_frame_equal(whole, local)
        if treat != "any":  # desa partnered under another type leave the comparison group
            assert len(whole) < len(base)


def test_t_p_values_are_t_p_value_elementwise():
    t = np.array([0.0, 0.3, -1.7, 2.5, 40.0, np.nan, np.inf])
    for G in (None, 1, 5, 30):
        got = t_p_values(t, G)
        want = np.array([t_p_value(x, G) for x in t])
        np.testing.assert_array_equal(got, want)


def test_coefficient_estimate_labels_what_was_computed():
    a = coefficient_estimate("y", "m", "ATT", 0.5, 0.2, 10, 20, 8, est_method="ols")
    crit = t_critical(8)
    assert a.ci_method == "t" and a.crit_value == crit and a.n_clusters == 8
    assert (a.ci_low, a.ci_high) == (0.5 - crit * 0.2, 0.5 + crit * 0.2)
    assert a.p_value == a.p_value_analytic == t_p_value(2.5, 8)
    n = coefficient_estimate("y", "m", "ATT", 0.5, 0.2, 10, 20, 0)
    assert n.ci_method == "normal" and n.crit_value == pytest.approx(1.959964, abs=1e-6)
    wb = WildBootstrap(
        t_stat=2.5,
        p_value=0.04,
        crit=3.1,
        ci_low=0.0,
        ci_high=1.0,
        draws=999,
        weights="webb",
        seed=7,
        n_clusters=8,
    )
    b = coefficient_estimate("y", "m", "ATT", 0.5, 0.2, 10, 20, 8, wb, facts={"covariates": "x"})
    assert b.ci_method == "wild_cluster_bootstrap" and b.crit_value == 3.1
    assert (b.ci_low, b.ci_high) == (0.0, 1.0) and b.p_value == 0.04  # the inverted interval
    assert (b.ci_low_analytic, b.p_value_analytic) == (a.ci_low, a.p_value)
    assert b.facts == {
        "covariates": "x",
        "draws": 999,
        "seed": 7,
        "boot_weights": "webb",
        "boot_enumerated": False,
    }
