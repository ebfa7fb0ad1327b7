"""Results name their estimator by a code (``methods.options.Method``); pages word the codes from
the catalogs, and the old English labels still work wherever a method is taken."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.methods.options import OLD_METHOD_LABELS, Method, allowed, method_code, method_names
from analysis.methods.pooling import pool_districts
from analysis.methods.results import Estimate, to_frame
from analysis.report import words
from analysis.report.catalog import languages, load


def test_every_method_code_has_words_in_every_language():
    for lang in languages():
        missing = [m for m in allowed(Method) if not load(lang).has(f"method.{m}")]
        assert not missing, (lang, missing)
    assert set(OLD_METHOD_LABELS.values()) <= set(allowed(Method))


def test_old_labels_read_as_their_codes():
    we = words("en")
    for label, code in OLD_METHOD_LABELS.items():
        assert method_code(label) == code and we.method(label) == we.method(code)
    assert method_code("cs_did") == "cs_did" and method_code("other") == "other"
    assert we.method("Callaway-Sant'Anna DiD [jenis_mitra=lsm]") == we.method(
        "cs_did [jenis_mitra=lsm]"
    )
    assert method_names("cs_did") == ("cs_did", "Callaway-Sant'Anna DiD")


def _table(method: str):
    rows = [
        Estimate(
            outcome="nilai_idm",
            method=method,
            estimand="ATT",
            estimate=e,
            se=0.01,
            n_treated=10,
            n_control=30,
            district=d,
        )
        for d, e in (("a", 0.01), ("b", 0.03), ("c", 0.02))
    ]
    return to_frame(rows)


@pytest.mark.parametrize("given", ["cs_did", "Callaway-Sant'Anna DiD"])
@pytest.mark.parametrize("stored", ["cs_did", "Callaway-Sant'Anna DiD"])
def test_pooling_takes_a_code_or_an_old_label_for_tables_of_either(given, stored):
    pooled = pool_districts(_table(stored), "nilai_idm", given)
    assert pooled.n_districts == 3 and pooled.random_effects.method == "random_effects"
    assert np.isclose(pooled.random_effects.estimate, 0.02)
