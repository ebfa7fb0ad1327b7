"""``run --params FILE``: notebook parameters from a YAML or TOML file, as papermill's ``-f``."""

from __future__ import annotations

import pytest

from analysis.batch import run as run_mod
from analysis.cli import _params_file, main
from analysis.errors import ParameterError


def test_yaml_and_toml_give_the_same_text_values(tmp_path):
    y = tmp_path / "p.yaml"
    y.write_text(
        "outcome: iks\nbaseline_outcome: false\ndraws: 499\ncovariates: [penduduk, luas_km2]\n"
    )
    t = tmp_path / "p.toml"
    t.write_text(
        'outcome = "iks"\nbaseline_outcome = false\ndraws = 499\ncovariates = ["penduduk", "luas_km2"]\n'
    )
    want = {
        "outcome": "iks",
        "baseline_outcome": "false",
        "draws": "499",
        "covariates": "penduduk,luas_km2",
    }
    assert _params_file(y) == want == _params_file(t)
    assert _params_file(None) == {}


@pytest.mark.parametrize(
    "name, text, said",
    [
        ("p.json", "{}", "name a .yaml, .yml or .toml file"),
        ("p.toml", "outcome = ", "not valid TOML"),
        ("p.yaml", "- a\n- b\n", "must hold NAME: VALUE pairs, not a list"),
        ("p.yaml", "outcome: {a: 1}\n", "parameter 'outcome' holds dict"),
        ("missing.yaml", None, "the file does not exist"),
    ],
)
def test_a_file_that_cannot_be_read_as_parameters_is_refused_naming_it(tmp_path, name, text, said):
    f = tmp_path / name
    if text is not None:
        f.write_text(text)
    with pytest.raises(ParameterError, match=said) as e:
        _params_file(f)
    assert str(f) in str(e.value)


def test_file_values_are_checked_and_a_param_given_too_wins(tmp_path, capsys, monkeypatch):
    def no_kernel(*a, **k):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(run_mod, "execute_district", no_kernel)
    f = tmp_path / "p.toml"
    f.write_text('outcome = "iks_typo"\n')
    out = tmp_path / "o"
    assert (
        main(["run", "--lang", "en", "--district", "Kukar", "--params", str(f), "--out", str(out)])
        == 2
    )
    assert "Did you mean 'iks'" in capsys.readouterr().err and not out.exists()
    f.write_text('outcome = "iks"\n')
    args = ["run", "--lang", "en", "--district", "Kukar", "--params", str(f)]
    args += ["--param", "outcome=ike_typo"]
    assert main([*args, "--out", str(out)]) == 2
    assert "Did you mean 'ike'" in capsys.readouterr().err and not out.exists()
