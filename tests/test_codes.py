import pytest

from analysis.inputs.codes import compare_names, normalize_code, normalize_name, village_kind


@pytest.mark.parametrize(
    "raw",
    [
        "64.02.02.2010",
        "6402022010",
        6402022010,
        6402022010.0,
        "6402022010.0",
        " 6402022010 ",
        "6.40202201E9",
        "6402022010.00",
    ],
)
def test_normalize_accepts_the_forms_codes_arrive_in(raw):
    assert normalize_code(raw).code == "64.02.02.2010"


@pytest.mark.parametrize(
    "raw,why",
    [
        ("640202201", "9"),
        ("64020220100", "11"),
        ("64.02.2.2010", "dotted"),
        ("64O2022010", "digits"),
        (6402022010.5, "decimals"),
        ("", "empty"),
        (None, "empty"),
        (True, "true/false"),
    ],
)
def test_normalize_rejects_what_cannot_be_a_code(raw, why):
    res = normalize_code(raw)
    assert res.code is None and why in res.reason


def test_levels():
    assert normalize_code("6402", level=2).code == "64.02"
    assert normalize_code("64", level=1).code == "64"
    assert normalize_code("640202", level=3).code == "64.02.02"


def test_kind_and_names():
    assert village_kind("64.02.02.2010") == "desa"
    assert village_kind("64.72.01.1001") == "kelurahan"
    assert normalize_name("Desa  Lung-Anai") == "lung anai"
    assert compare_names("LUNG ANAI", "Lung Anai") == "same"
    assert compare_names("PEPES ASA", "Pepas Asa") == "variant"
    assert compare_names("SEMBER BANGUN", "Sumber Bangun") == "variant"
    assert compare_names("Loh Sumber", "Lung Anai") == "different"
