"""An evaluation planned before its data: plan on the 2025 Kukar MoUs, evaluate on simulated follow-ups.

The data are the example generator's with its simulated Indeks Desa series (2025 baseline,
2026-2027 follow-ups, a known effect for the MoU desa in ``truth.json``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from analysis import paths
from analysis.cli import main
from analysis.inputs.dataset import file_sha256, load_dataset, write_tables
from analysis.inputs.example_data import write_example
from analysis.methods import plan as pm
from analysis.report import words
from analysis.report.evaluation import evaluate_plan, read_plan
from analysis.report.plan_page import evaluation_html, plan_html
from analysis.report.planning import (
    HASH_KEY,
    ComparisonChangedError,
    FollowUpMissingError,
    PlanHashError,
    canonical_hash,
    make_plan,
)

MOU = paths.REAL_DIR / "kukar_mou_2025.csv"
DRAWS = "199"


def _copy(ds, folder, **tables):
    """A data folder holding ``ds``'s tables, some replaced."""
    folder.mkdir()
    t = {"villages": ds.villages, "welfare": ds.welfare, "partnerships": ds.partnerships,
         "indeks_desa": ds.indeks_desa} | tables  # fmt: skip
    meta = {k: v for k, v in ds.meta.items() if k != "table_sha256"}
    write_tables(folder, t, meta)
    (folder / "truth.json").write_text((ds.folder / "truth.json").read_text())
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The simulated folder (2025-2027) and its baseline-only copy (2025)."""
    root = tmp_path_factory.mktemp("plan")
    write_example(root / "full", indeks_desa=True)
    ds = load_dataset(root / "full")
    base = _copy(ds, root / "base", indeks_desa=ds.indeks_desa[ds.indeks_desa["tahun"] == 2025])
    return {"full": root / "full", "base": base, "root": root}


@pytest.fixture(scope="module")
def planned(folders):
    out = folders["root"] / "plan"
    args = ["plan", "--district", "Kukar", "--agreements", str(MOU), "--data",
            str(folders["base"]), "--out", str(out), "--draws", DRAWS]  # fmt: skip
    assert main(args) == 0
    return out


def test_plan_fixes_cohort_comparison_weights_and_rule(planned):
    plan = read_plan(planned / "plan.json")
    assert plan[HASH_KEY] == canonical_hash(plan)
    assert MOU.read_text().count(",,kemendagri") == 3  # three rows of a desa without a code ...
    assert [r["why"] for r in plan["cohort"]["left_out_rows"]] == ["no_code"] * 3  # ... named
    assert plan["cohort"]["desa"] == [
        "64.02.02.2004",
        "64.02.02.2005",
        "64.02.02.2010",
        "64.02.02.2011",
    ]
    assert plan["cohort"]["exposure_year"] == 2026 and plan["judge"]["year"] == 2026
    assert plan["baseline"] == {"series": "indeks_desa", "idm_years": list(range(2018, 2025)),
                                "indeks_desa_years": [2025], "baseline_year": 2025}  # fmt: skip
    assert plan["outcomes"]["primary"] == "skor_tanpa_ekonomi"
    assert "ekonomi" not in plan["outcomes"]["secondary"]
    w = np.array([u["weight"] for u in plan["weights"]["unit"]])
    assert abs(w.sum() - 1) < 1e-9 and (w >= 0).all()
    assert plan["weights"]["time"] == [{"tahun": 2025, "weight": 1.0}]
    assert not set(plan["comparison"]["desa"]) & set(plan["cohort"]["desa"])
    assert len(plan["placebo"]["sets"]) == int(DRAWS)
    assert 0 < plan["mde"]["mde"] < math.inf
    assert plan["outcome_years_already_in_folder"] == []
    assert plan["data"]["hashes"]["indeks_desa.parquet"] == file_sha256(
        planned.parent / "base" / "indeks_desa.parquet"
    )


def test_a_plan_is_never_written_over(folders, planned, capsys):
    before = (planned / "plan.json").read_bytes()
    args = ["plan", "--district", "Kukar", "--agreements", str(MOU), "--data",
            str(folders["full"]), "--out", str(planned), "--draws", "49"]  # fmt: skip
    assert main(args) == 2
    assert "rencana ditetapkan sekali" in capsys.readouterr().err
    assert (planned / "plan.json").read_bytes() == before


def test_plan_page_is_plain_words_with_banner_and_hash(planned):
    html = (planned / "plan.html").read_text(encoding="utf-8")
    plan = read_plan(planned / "plan.json")
    w = words("id")
    assert w.t("banner.synthetic") in html
    assert f"<code>{plan[HASH_KEY]}</code>" in html
    assert "Loa Duri Seberang (desa persiapan)" in html  # named, escaped by the template
    assert "skor_tanpa_ekonomi" not in html and "kode_desa" not in html
    m = plan["mde"]
    assert w.num(m["mde"], 2) in html
    assert w.t("plan.already", outcome="x", years="y").split("x")[0] not in html
    assert "The plan" not in plan_html(plan, "id") and "This plan" in plan_html(plan, "en")


def test_weights_come_from_the_baseline_only(folders, planned):
    """A plan made on the folder that already holds 2026-2027 has the same weights, and says so."""
    plan = read_plan(planned / "plan.json")
    again = make_plan(folders["full"], "Kukar", [MOU], draws=int(DRAWS), minimum_detectable=False)
    assert again["weights"]["unit"] == plan["weights"]["unit"]
    assert again["placebo"]["weights"] == plan["placebo"]["weights"]
    assert again["outcome_years_already_in_folder"] == [2026, 2027]
    assert words("id").t("plan.already", outcome=words("id").t("plan.outcome.skor_tanpa_ekonomi"),
                         years=words("id").join(["2026", "2027"])) in plan_html(again, "id")  # fmt: skip


def test_evaluate_recovers_the_known_effect(folders, planned):
    out = folders["root"] / "ev"
    args = ["evaluate", "--plan", str(planned / "plan.json"), "--data", str(folders["full"]),
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    ev = json.loads((out / "evaluation.json").read_text())
    truth = json.loads((folders["full"] / "truth.json").read_text())["indeks_desa"]["att"]
    r = next(x for x in ev["results"] if x["role"] == "primary" and x["year"] == 2026)
    assert r["ci_low"] <= truth["skor_tanpa_ekonomi"]["2026"] <= r["ci_high"]
    assert ev["truth"] == {"att": truth["skor_tanpa_ekonomi"]["2026"], "covered": True}
    assert ev["decision"]["code"] == pm.decide(r["estimate"], r["p_value"], 0.05)
    assert ev["years"] == [2026, 2027] and not ev["replanned"]
    plan = read_plan(planned / "plan.json")
    assert ev["plan_sha256"] == plan[HASH_KEY]
    html = (out / "evaluation.html").read_text(encoding="utf-8")
    w = words("id")
    assert w.t("banner.synthetic") in html and w.num(r["estimate"], 2, signed=True) in html
    assert (
        w.t(
            "evaluation.truth_covered",
            att=w.num(truth["skor_tanpa_ekonomi"]["2026"], 2, signed=True),
        )
        in html
    )
    assert "This evaluation" in evaluation_html(ev, plan, "en")


def test_an_edited_plan_is_refused(planned, tmp_path, capsys):
    plan = json.loads((planned / "plan.json").read_text())
    plan["weights"]["unit"][0]["weight"] += 0.01
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(plan))
    with pytest.raises(PlanHashError, match="does not match its SHA-256"):
        read_plan(edited)
    assert main(["evaluate", "--plan", str(edited), "--data", str(paths.EXAMPLE_DIR)]) == 2
    assert "Perbaikan:" in capsys.readouterr().err  # worded in --lang (id by default)


def test_a_missing_follow_up_year_is_refused(folders, planned, capsys):
    plan = read_plan(planned / "plan.json")
    with pytest.raises(FollowUpMissingError, match="Indeks Desa 2026"):
        evaluate_plan(plan, folders["base"])
    args = ["evaluate", "--plan", str(planned / "plan.json"), "--data", str(folders["base"]),
            "--out", str(folders["root"] / "never")]  # fmt: skip
    assert main(args) == 2
    assert "--indeks-desa" in capsys.readouterr().err
    assert not (folders["root"] / "never").exists()


def test_a_changed_comparison_needs_replan_and_the_page_says_so(folders, planned, tmp_path):
    plan = read_plan(planned / "plan.json")
    ds = load_dataset(folders["full"])
    top = max(plan["weights"]["unit"], key=lambda u: u["weight"])["kode_desa"]
    row = ds.partnerships.iloc[[0]].assign(kode_desa=top, id_kerjasama="NEW-1")
    changed = _copy(ds, tmp_path / "changed", partnerships=pd.concat([ds.partnerships, row]))
    with pytest.raises(ComparisonChangedError, match="--replan"):
        evaluate_plan(plan, changed)
    ev = evaluate_plan(plan, changed, replan=True)
    assert ev["replanned"] and ev["changes"]["donors_now_partnered"] == [top]
    assert ev["n_donors"] == plan["weights"]["n_positive"] - 1
    w = words("id")
    how = w.n("evaluation.how.partnered", 1)
    assert how in evaluation_html(ev, plan, "id")
    assert w.t("evaluation.intro", date="x").split("x")[0] not in evaluation_html(ev, plan, "id")


def test_example_data_without_the_series_is_unchanged(folders, tmp_path):
    write_example(tmp_path / "off")
    for name in ("villages.parquet", "welfare.parquet", "partnerships.parquet"):
        assert file_sha256(tmp_path / "off" / name) == file_sha256(folders["full"] / name), name
    assert not (tmp_path / "off" / "indeks_desa.parquet").exists()
    assert "indeks_desa" not in json.loads((tmp_path / "off" / "truth.json").read_text())


def test_simplex_ridge_reaches_the_minimum():
    rng = np.random.default_rng(3)
    A, b = rng.normal(size=(6, 12)), rng.normal(size=6)
    x = pm.simplex_ridge(A, b[None, :], np.array([0.3]), np.ones((1, 12), bool))[0]
    f = lambda v: np.sum((A @ v - b) ** 2) + 0.3 * v @ v  # noqa: E731
    ref = optimize.minimize(f, np.full(12, 1 / 12), method="SLSQP", bounds=[(0, 1)] * 12,
                            constraints={"type": "eq", "fun": lambda v: v.sum() - 1},
                            options={"ftol": 1e-14, "maxiter": 500})  # fmt: skip
    assert abs(x.sum() - 1) < 1e-12 and x.min() >= 0
    assert f(x) <= ref.fun + 1e-9


def test_minimum_detectable_effect_of_a_normal_placebo_distribution():
    e = np.random.default_rng(0).standard_normal(5_000)
    m = pm.minimum_detectable_effect(e, 0.05, 0.8)
    assert abs(m["critical"] - 1.96) < 0.08 and abs(m["mde"] - (1.96 + 0.84)) < 0.1


def test_the_interval_is_the_set_of_effects_not_rejected():
    rng = np.random.default_rng(1)
    placebo, tau = rng.standard_normal(199), 2.5
    inf = pm.placebo_inference(tau, placebo, 0.05)
    for t0, inside in ((inf["ci_low"] + 1e-6, True), (inf["ci_low"] - 1e-6, False),
                       (inf["ci_high"] - 1e-6, True), (inf["ci_high"] + 1e-6, False)):  # fmt: skip
        p = pm.placebo_inference(tau - t0, placebo, 0.05)["p_value"]
        assert (p > 0.05) is inside, (t0, p)


def test_without_the_indeks_desa_the_plan_says_idm_cannot_judge_2025_agreements(tmp_path):
    from analysis.report.planning import PlanError

    plan = make_plan(paths.EXAMPLE_DIR, "Kukar", [MOU], draws=49, minimum_detectable=False)
    assert plan["outcomes"]["series"] == "idm" and plan["outcomes"]["primary"] == "nilai_idm"
    assert plan["judge"]["judgeable"] is False and plan["judge"]["reason"] == "idm_ended_2024"
    w = words("id")
    html = plan_html(plan, "id")
    assert w.t("plan.not_judgeable", year=2026, base=2025) in html
    assert w.t("plan.h.rule") not in html  # no rule for a year IDM will never have
    with pytest.raises(PlanError, match="Indeks Desa 2025"):
        evaluate_plan(plan, paths.EXAMPLE_DIR)


def test_a_donor_pool_restriction_is_honoured_and_stated():
    ds = load_dataset(paths.EXAMPLE_DIR)
    plan = make_plan(ds, "Kukar", [MOU], donor_pool=("district", "kecamatan"), draws=49,
                     minimum_detectable=False)  # fmt: skip
    kec = ds.villages.set_index("kode_desa")["kode_kec"]
    assert set(kec[plan["comparison"]["desa"]]) == set(kec[plan["cohort"]["desa"]]) == {"64.02.02"}
    assert plan["comparison"]["outside_restriction"]
    w = words("id")
    assert w.t("plan.pool.kecamatan") in plan_html(plan, "id")
    with pytest.raises(Exception, match="donor_pool"):
        make_plan(ds, "Kukar", [MOU], donor_pool=("desa",), draws=49)


def test_a_partnered_desa_without_the_follow_up_is_left_out_only_with_replan(
    folders, planned, tmp_path
):
    plan = read_plan(planned / "plan.json")
    ds = load_dataset(folders["full"])
    gone = plan["cohort"]["desa"][0]
    idx = ds.indeks_desa[
        ~((ds.indeks_desa["kode_desa"] == gone) & (ds.indeks_desa["tahun"] == 2026))
    ]
    changed = _copy(ds, tmp_path / "gone", indeks_desa=idx)
    with pytest.raises(ComparisonChangedError, match="partnered desa without the judged outcome"):
        evaluate_plan(plan, changed)
    ev = evaluate_plan(plan, changed, replan=True)
    assert ev["n_treated"] == 3 and ev["changes"]["treated_missing"] == [gone]
    w = words("id")
    html = evaluation_html(ev, plan, "id")
    assert w.n("evaluation.how.treated_missing", 1, year=2026) in html
    assert w.t("evaluation.how.placebo_size", k=w.int(4), n=w.int(3)) in html
