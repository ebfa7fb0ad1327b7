"""A run's results.csv: the reader-facing ``notes`` column in the run's language (catalogs), the
machine-readable ``reason``, ``facts`` and ``detail`` columns beside it, column names stable."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis import district as steps
from analysis import paths
from analysis.methods.results import COLUMNS
from analysis.report import brief

#: results.csv columns researchers' code reads (renaming one breaks it; adding is fine).
STABLE = ["outcome", "method", "estimand", "estimate", "se", "ci_low", "ci_high", "p_value",
          "n_treated", "n_control", "estimable", "reason", "notes", "district"]  # fmt: skip


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    spec = steps.Specification(inference="analytic")
    data = steps.prepare(paths.EXAMPLE_DIR, "64.02", "nilai_idm", None, spec)
    main = steps.estimate_main(data, "nevertreated")
    cross = steps.estimate_cross_section(data)
    outcomes, het = steps.estimate_outcomes(data), steps.estimate_heterogeneity(data)
    evidence = steps.judge_evidence(main, outcomes, data)
    out = {}
    for lang in ("id", "en"):
        d = tmp_path_factory.mktemp(lang)
        brief.save(str(d), data, main, cross, outcomes, het, evidence, {"lang": lang})
        out[lang] = pd.read_csv(d / "results.csv", keep_default_na=False)
    return out


def test_columns_are_kept_and_codes_sit_beside_the_notes(saved):
    for t in saved.values():
        assert list(t.columns[: len(STABLE)]) == STABLE
        assert {"facts", "detail"} <= set(t.columns) and set(COLUMNS) <= set(t.columns)
        ne = t[t["estimable"].astype(str) == "False"]
        assert len(ne) and ne["reason"].str.fullmatch(r"[a-z_]+").all()
    id_, en = saved["id"], saved["en"]
    assert (id_["reason"] == en["reason"]).all() and (id_["facts"] == en["facts"]).all()
    est = id_[id_["estimable"].astype(str) == "True"]
    assert est["facts"].str.contains("est_method=").all()


def test_notes_follow_the_language_of_the_run(saved):
    id_, en = saved["id"], saved["en"]
    ne_id = id_.loc[id_["estimable"].astype(str) == "False", "notes"]
    ne_en = en.loc[en["estimable"].astype(str) == "False", "notes"]
    assert ne_id.str.startswith("tidak diperkirakan: ").all()
    assert ne_en.str.startswith("not estimated: ").all()
    english = re.compile(r"\b(?:too few|partnered|comparison|estimated|clusters?|method)\b", re.I)
    assert not id_["notes"].str.contains(english).any(), id_["notes"].tolist()
    assert not id_["notes"].str.contains(r"\w=\w").any()  # no key=value in the reader's column
    est_id = id_.loc[id_["estimable"].astype(str) == "True", "notes"]
    assert est_id.str.contains("kecamatan").any() and (est_id != "").all()
