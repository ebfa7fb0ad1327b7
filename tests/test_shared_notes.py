"""Facts shared by a family of rows are said once above a table, and the line is true of every
row that carries its mark (:func:`analysis.report.words.shared_notes`)."""

from __future__ import annotations

import pytest

from analysis.report import words
from analysis.report.words import SHARED_MARKS, shared_notes

STAGGERED = {
    "est_method": "dr",
    "control_group": "nevertreated",
    "se_type": "influence_function",
    "cluster": "kode_kec",
    "n_clusters": 18,
    "draws": 999,
}


def _rows(facts):
    return [{"note": "n/a" if f is None else "original"} for f in facts]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_shared_line_holds_for_every_marked_row(lang):
    w = words(lang)
    facts = [
        STAGGERED,
        {**STAGGERED, "est_method": "reg"},
        {**STAGGERED, "control_group": "notyettreated"},
        None,  # not estimated: never marked
        {"est_method": "ols", "se_type": "HC1"},  # shares too little with the first row
    ]
    rows = _rows(facts)
    lines = shared_notes(w, rows, facts)
    assert len(lines) == 1
    mark = w.t(SHARED_MARKS[0])
    marked = [i for i, r in enumerate(rows) if r["note"].startswith(mark)]
    assert marked == [0, 1, 2]
    assert rows[3]["note"] == "n/a" and rows[4]["note"] == "original"
    for i in marked:  # every fact in the line is a fact of each marked row
        own = w.fact_parts(facts[i])
        shared = [p for p in w.fact_parts(facts[0]) if p in lines[0]]
        assert shared and all(p in own for p in shared)
        # and the row keeps what it does not share (its estimator, its comparison)
        assert all(p in rows[i]["note"] or p in lines[0] for p in own)
    assert w.fact_parts({"est_method": "reg"})[0] in rows[1]["note"]


def test_nothing_is_factored_when_rows_share_under_two_facts():
    w = words("id")
    facts = [{"est_method": "dr", "draws": 999}, {"est_method": "ols", "se_type": "HC1"}]
    rows = _rows(facts)
    assert shared_notes(w, rows, facts) == []
    assert [r["note"] for r in rows] == ["original", "original"]


def test_a_second_family_gets_its_own_mark():
    w = words("en")
    other = {"est_method": "ipw", "se_type": "CRV1", "cluster": "kode_kec", "n_clusters": 17}
    facts = [STAGGERED, {**STAGGERED, "est_method": "reg"}, other, {**other, "est_method": "aipw"}]
    rows = _rows(facts)
    lines = shared_notes(w, rows, facts)
    assert len(lines) == 2
    one, two = (w.t(k) for k in SHARED_MARKS[:2])
    assert [r["note"][: len(one)] for r in rows[:2]] == [one, one]
    assert all(r["note"].startswith(two) for r in rows[2:])
    assert "17" in lines[1] and "18" in lines[0]
