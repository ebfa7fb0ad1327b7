"""The synthetic example: deterministic, complete, calibrated, and biased where it should be."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from analysis import paths
from analysis.design import analysis_panel
from analysis.inputs.example_data import (
    TARGET_CHANGE_SD,
    TARGET_MEANS_2024,
    TARGET_STATUS_2024,
    card_numbers,
    simulate,
    write_example,
)
from analysis.inputs.frame import DESA_KINDS, load_frame
from analysis.inputs.validate import validate_folder
from analysis.schema import idm_status

SEED = 20250826


@pytest.fixture(scope="module")
def sim():
    return simulate("64", SEED)


def test_same_seed_same_bytes(tmp_path):
    write_example(tmp_path / "a", seed=7)
    write_example(tmp_path / "b", seed=7)
    for name in (
        "villages.parquet",
        "welfare.parquet",
        "partnerships.parquet",
        "truth.json",
        "calibration.json",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    write_example(tmp_path / "c", seed=8)
    assert (tmp_path / "a" / "welfare.parquet").read_bytes() != (
        tmp_path / "c" / "welfare.parquet"
    ).read_bytes()


def test_committed_example_is_what_the_generator_writes(tmp_path):
    write_example(tmp_path / "x", seed=SEED)
    for name in ("villages.parquet", "welfare.parquet", "partnerships.parquet", "truth.json"):
        assert (paths.EXAMPLE_DIR / name).read_bytes() == (tmp_path / "x" / name).read_bytes(), (
            f"data/example/{name} is stale: run `make example-data`"
        )
    validate_folder(paths.EXAMPLE_DIR)
    assert json.loads((paths.EXAMPLE_DIR / "dataset.json").read_text())["synthetic"] is True
    for name in ("villages.parquet", "welfare.parquet", "partnerships.parquet"):
        md = pq.read_schema(paths.EXAMPLE_DIR / name).metadata
        assert (
            md[b"analysis.synthetic"] == b"true" and b"SYNTHETIC EXAMPLE" in md[b"analysis.label"]
        )


def test_data_card_numbers_are_current():
    card = (paths.EXAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    truth = json.loads((paths.EXAMPLE_DIR / "truth.json").read_text())
    calib = json.loads((paths.EXAMPLE_DIR / "calibration.json").read_text())
    assert card_numbers(truth, calib) in card, (
        "data/example/README.md is stale: run `make example-data`"
    )


def test_every_desa_once_per_year_and_kelurahan_marked(sim):
    f = load_frame()
    f = f[f["kode_prov"] == "64"]
    assert set(sim.villages["kode_desa"]) == set(f["kode_desa"])
    assert (sim.villages["jenis"] == "kelurahan").sum() == 1038 - 841
    w = sim.welfare
    assert set(w["kode_desa"]) == set(f.loc[f["jenis"].isin(DESA_KINDS), "kode_desa"])
    assert not w.duplicated(["kode_desa", "tahun"]).any()
    per_desa = w.groupby("kode_desa").size()
    assert per_desa.max() == 7 and per_desa.min() >= 6  # a few desa miss one year, as in real files
    assert 0 < (per_desa == 6).sum() < 0.05 * 841


def test_values_in_range_and_statuses_consistent(sim):
    w = sim.welfare
    for c in ("iks", "ike", "ikl", "nilai_idm"):
        assert w[c].between(0, 1).all()
    assert np.allclose(w["nilai_idm"], (w["iks"] + w["ike"] + w["ikl"]) / 3, atol=5e-5)
    assert (w["status_idm"] == w["nilai_idm"].map(idm_status)).all()
    assert np.allclose(w["ikl"] * 15, np.round(w["ikl"] * 15), atol=0.002)  # the instrument's grid
    cf = w[w["dibawa"]]
    assert 0.05 < len(cf) / len(w) < 0.2 and (cf["tahun_nilai"] == cf["tahun"] - 1).all()


def test_calibration_targets_met(sim):
    """Tolerances: kabupaten means within 0.015 (the sd of a kabupaten mean of ~100 desa is ~0.01),
    status shares within 0.05, spread of yearly changes within 25%."""
    for row in sim.calibration["means_2024"]:
        for c in ("iks", "ike", "ikl"):
            assert abs(row[f"{c}_achieved"] - row[f"{c}_target"]) < 0.015, (row["kode_kab"], c)
    for s, v in sim.calibration["status_2024"].items():
        assert abs(v["achieved"] - v["target"]) < 0.05, s
    for c, v in sim.calibration["change_sd_2023_2024"].items():
        assert abs(v["achieved"] / v["target"] - 1) < 0.25, c


def test_targets_are_the_real_values(shared_idm):
    r = shared_idm[shared_idm["tahun"] == 2024]
    means = r.groupby("kode_kab")[["iks", "ike", "ikl"]].mean().round(4)
    for k, row in means.iterrows():
        dotted = f"{k[:2]}.{k[2:]}"
        assert TARGET_MEANS_2024[dotted] == tuple(row), dotted
    shares = r["status_idm"].value_counts(normalize=True).round(4)
    for s, v in shares.items():
        assert TARGET_STATUS_2024[s] == v
    wide = shared_idm.pivot(index="kode_desa", columns="tahun", values="iks")
    assert round((wide[2024] - wide[2023]).std(), 4) == TARGET_CHANGE_SD["iks"]


def test_truth_agrees_with_potential_outcomes_and_naive_is_biased(sim):
    po = sim.potential
    d = po[po["exposed"] & po["present"]]
    for o in ("nilai_idm", "iks", "ike", "ikl", "naik_status"):
        direct = float((d[f"y1_{o}"] - d[f"y0_{o}"]).mean())
        assert sim.truth["outcomes"][o]["overall"]["att"] == pytest.approx(direct, abs=1e-6)
    truth24 = sim.truth["outcomes"]["nilai_idm"]["cross_section"]["2024"]["att"]
    assert truth24 > 0
    p = analysis_panel(sim.welfare, sim.villages, sim.partnerships)
    y = p[p["tahun"] == 2024]
    naive = (
        y.loc[(y["g"] > 0) & (y["g"] <= 2024), "nilai_idm"].mean()
        - y.loc[y["g"] == 0, "nilai_idm"].mean()
    )
    assert naive - truth24 > 0.015, (
        naive,
        truth24,
    )  # selection on mines and baseline level inflates it
    # the partnered desa were better off before any partnership started (selection, not effect)
    y18 = p[p["tahun"] == 2018]
    assert (
        y18.loc[y18["g"] > 0, "nilai_idm"].mean() - y18.loc[y18["g"] == 0, "nilai_idm"].mean()
        > 0.015
    )


def test_registry_is_staggered_and_selected_on_observables(sim):
    reg = sim.partnerships
    assert set(reg["tanggal_mulai"].dt.year) == set(range(2019, 2025))
    assert reg["sumber_dokumen"].str.contains("SYNTHETIC").all()
    v = sim.villages.set_index("kode_desa")
    mine_rate = v.loc[reg["kode_desa"], "tambang_dekat"].mean()
    assert mine_rate > v.loc[v["jenis"] == "desa", "tambang_dekat"].mean() + 0.1
