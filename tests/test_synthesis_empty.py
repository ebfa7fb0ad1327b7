"""The synthesis when a run has nothing (or too little) to pool: an honest page, never a crash
and never a pooled number computed on nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from analysis import paths
from analysis.batch.run import build_synthesis
from analysis.cli import main
from analysis.methods.results import Estimate, NotEstimable, to_frame
from analysis.report.synthesis import load_run, page_html, pool, state


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(html)))


def _district(run: Path, code: str, results: list, applicable: bool = True) -> None:
    d = run / "districts" / code
    d.mkdir(parents=True)
    to_frame([*results]).assign(district=code).to_csv(d / "results.csv", index=False)
    summary = {"district": code, "name": f"Kab {code}", "applicable": applicable}
    (d / "summary.json").write_text(json.dumps({**summary, "synthetic": True}))


def _manifest(run: Path, ok: list[str], failed: list[str]) -> None:
    districts = {c: {"name": f"Kab {c}", "status": "ok"} for c in ok}
    districts |= {c: {"name": f"Kab {c}", "status": "failed", "error": "x"} for c in failed}
    run.mkdir(parents=True, exist_ok=True)
    (run / "manifest.json").write_text(json.dumps({"lang": "id", "districts": districts}))


def _est(code: str, est: float) -> Estimate:
    return Estimate(
        outcome="nilai_idm",
        method="cs_did",
        estimand="ATT",
        estimate=est,
        se=0.01,
        n_treated=12,
        n_control=40,
        district=code,
    )


def _none(code: str) -> NotEstimable:
    return NotEstimable(
        outcome="nilai_idm",
        method="cs_did",
        estimand="ATT",
        reason="no_control",
        detail="",
        n_treated=4,
        n_control=0,
        district=code,
    )


def _all_failed(tmp_path: Path, n: int = 30) -> Path:
    run = tmp_path / "run"
    _manifest(run, [], [f"64.{i:02d}" for i in range(1, n + 1)])
    return run


@pytest.mark.parametrize(
    "lang, says",
    [
        ("id", "Tidak ada kabupaten/kota yang menghasilkan hasil: 30 dari 30"),
        ("en", "No district produced results: 30 of 30 districts failed"),
    ],
)
def test_no_district_with_results_gives_an_honest_page(tmp_path, lang, says):
    run = load_run(_all_failed(tmp_path))
    pooled = pool(run, "nilai_idm", lang)
    assert state(run, pooled) == "no_results"
    assert pooled.random_effects.reason == "too_few_districts" and pooled.n_districts == 0
    html = str(page_html(run, pooled, "nilai_idm", lang))
    assert says in _text(html)
    assert 'href="index.html"' in html and "Kab 64.30" in html
    assert "<table>" not in html.split("provenance")[0]  # no empty district table


def test_synthesis_notebook_runs_when_every_district_failed(tmp_path):
    """The defect: PapermillExecutionError 'se' on an empty results table."""
    out = _all_failed(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    synth = build_synthesis(out, "id", paths.EXAMPLE_DIR, manifest["districts"])
    assert synth["status"] == "ok", synth
    page = _text((out / "synthesis.html").read_text(encoding="utf-8"))
    assert "Tidak ada kabupaten/kota yang menghasilkan hasil: 30 dari 30" in page


@pytest.mark.parametrize(
    "lang, says",
    [
        ("id", "Perkiraan gabungan tidak dihitung: hanya 1 dari 2 kabupaten/kota"),
        ("en", "No pooled estimate: only 1 of the 2 districts with results has an estimate"),
    ],
)
def test_one_district_with_an_estimate_is_not_pooled(tmp_path, lang, says):
    run_dir = tmp_path / "run"
    _manifest(run_dir, ["64.01", "64.02"], ["64.03"])
    _district(run_dir, "64.01", [_est("64.01", 0.02)])
    _district(run_dir, "64.02", [_none("64.02")])
    run = load_run(run_dir)
    pooled = pool(run, "nilai_idm", lang)
    assert state(run, pooled) == "too_few" and pooled.n_districts == 1
    assert isinstance(pooled.random_effects, NotEstimable)
    html = str(page_html(run, pooled, "nilai_idm", lang))
    assert says in _text(html) and "<svg" not in html  # no forest plot of a pooled nothing
    assert ("+0,020" if lang == "id" else "+0.020") in html  # the district's own row stays


@pytest.mark.parametrize(
    "lang, says, reason",
    [
        ("id", "tidak satu pun dari 3 kabupaten/kota", "tidak ada desa pembanding"),
        ("en", "none of the 3 districts with results has an estimate", "no comparison villages"),
    ],
)
def test_no_estimable_district_refuses_the_pooled_number(tmp_path, lang, says, reason):
    run_dir = tmp_path / "run"
    _manifest(run_dir, ["64.01", "64.02", "64.03"], [])
    for c in ("64.01", "64.02", "64.03"):
        _district(run_dir, c, [_none(c)])
    run = load_run(run_dir)
    pooled = pool(run, "nilai_idm", lang)
    assert state(run, pooled) == "no_estimates" and pooled.n_districts == 0
    text = _text(page_html(run, pooled, "nilai_idm", lang))
    assert says in text and text.count(reason) == 3
    assert "I²" not in text


def test_two_districts_are_pooled(tmp_path):
    run_dir = tmp_path / "run"
    _manifest(run_dir, ["64.01", "64.02"], [])
    _district(run_dir, "64.01", [_est("64.01", 0.02)])
    _district(run_dir, "64.02", [_est("64.02", 0.04)])
    run = load_run(run_dir)
    pooled = pool(run, "nilai_idm", "en")
    assert state(run, pooled) == "pooled"
    assert pooled.random_effects.estimate == pytest.approx(0.03)  # equal SEs: the plain mean
    assert "Pooled over 2 districts" in _text(page_html(run, pooled, "nilai_idm", "en"))


def test_run_where_every_district_fails_reports_them_without_a_synthesis_error(tmp_path, capsys):
    nb = nbformat.read(paths.DISTRICT_NOTEBOOK, as_version=4)
    nb.cells.insert(5, nbformat.v4.new_code_cell('assert False, "injected failure for the test"'))
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    out = tmp_path / "run"
    args = ["run", "--district", "64.03", "--district", "64.09", "--out", str(out)]
    assert main([*args, "--jobs", "2", "--notebook", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "2 dari 2 kabupaten/kota gagal" in err and "injected failure" in err  # --lang id
    assert "synthesis (" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["synthesis"]["status"] == "ok"
    page = _text((out / "synthesis.html").read_text(encoding="utf-8"))
    assert "Tidak ada kabupaten/kota yang menghasilkan hasil: 2 dari 2" in page
