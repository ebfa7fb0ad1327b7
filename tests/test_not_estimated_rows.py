"""Rows of a brief's tables that were not estimated read "not estimated: <reason>" (the reason a
code from the estimator, worded by the catalog) and show no counts of desa that were not compared."""

from __future__ import annotations

import re

import pytest

from analysis import district as dist
from analysis import paths
from analysis.methods.results import NotEstimable, to_frame
from analysis.report import brief, environment, result_row, words

TABLE = '{% import "table.html.j2" as tb with context %}{{ tb.results(rows, "g", True) }}'


def _cells(rows: list[dict], lang: str) -> list[list[str]]:
    html = environment().from_string(TABLE).render(w=words(lang), rows=rows)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
        for tr in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
        if "<td" in tr
    ]


@pytest.fixture(scope="module")
def het_small():
    """Subgroups of 64.02 with thresholds no subgroup reaches (no estimation runs)."""
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02", min_subgroup_desa=50, min_subgroup_clusters=3)
    return dist.estimate_heterogeneity(data)


@pytest.mark.parametrize(
    "lang, says",
    [
        (
            "id",
            r"tidak diperkirakan: terlalu sedikit desa bermitra untuk dibandingkan "
            r"\(\d+ desa bermitra di \d+ kecamatan; perlu paling sedikit 50 desa di 3 kecamatan\)",
        ),
        (
            "en",
            r"not estimated: too few partnered villages to compare \(\d+ partnered villages in "
            r"\d+ kecamatan; at least 50 villages in 3 kecamatan are needed\)",
        ),
    ],
)
def test_subgroup_below_the_thresholds_says_not_estimated_and_why(het_small, lang, says):
    assert len(het_small) and not het_small["estimable"].any()
    assert set(het_small["reason"]) == {"too_few_treated"}  # a code, not prose
    cells = _cells(brief.frame_rows(het_small, lang, "group"), lang)
    assert len(cells) == len(het_small)
    for _label, est, ci, n, q, note in cells:
        assert (est, ci, n, q) == ("-", "-", "-", "-")  # never "2 / 0"
        assert re.fullmatch(says, note), note


def test_subgroup_in_too_few_kecamatan_has_its_own_reason():
    data = dist.prepare(paths.EXAMPLE_DIR, "64.02", min_subgroup_desa=1, min_subgroup_clusters=50)
    het = dist.estimate_heterogeneity(data)
    few_kec = het[het["reason"] == "too_few_clusters"]
    assert len(few_kec) and (few_kec["n_desa_subgroup"] >= 1).all()
    assert (het.loc[het["n_desa_subgroup"] >= 1, "reason"] == "too_few_clusters").all()
    note = _cells(brief.frame_rows(few_kec, "id", "group"), "id")[0][-1]
    assert note.startswith(
        "tidak diperkirakan: desa bermitra tersebar di terlalu sedikit kecamatan"
    )


@pytest.mark.parametrize(
    "lang, note",
    [
        ("id", "tidak diperkirakan: tidak ada desa pembanding"),
        ("en", "not estimated: no comparison villages"),
    ],
)
def test_no_comparison_desa_reads_not_estimated(lang, note):
    ne = NotEstimable(
        outcome="nilai_idm",
        method="cs_did",
        estimand="ATT",
        reason="no_control",
        detail="",
        n_treated=2,
        n_control=0,
    )
    rec = to_frame([ne]).iloc[0].to_dict() | {"dimension": "sektor", "group": "kesehatan"}
    for r in (ne, rec):
        row = result_row(words(lang), r, "x", with_q=True, facts={})
        assert (row["n"], row["note"]) == ("-", note)


def test_engine_prose_never_reaches_a_reader():
    """``results.REASONS`` / ``NotEstimable.message`` and ``design.OUTCOME_LABELS`` are English
    glosses for researchers: the modules that write pages and reader files word codes from the
    catalogs instead."""
    readers = [paths.PACKAGE_DIR / "inputs" / "ingest.py"]
    readers += list((paths.PACKAGE_DIR / "report").rglob("*.py"))
    readers += list((paths.PACKAGE_DIR / "report" / "templates").rglob("*.j2"))
    for f in readers:
        if f.name == "messages.py":  # words InputProblem, whose .message is kept only for a
            continue  # problem built outside the package without a catalog key
        text = f.read_text(encoding="utf-8")
        for name in (r"\bREASONS\b", r"\bOUTCOME_LABELS\b", r"\.message\b(?!s)"):
            assert not re.search(name, text), (f.name, name)
