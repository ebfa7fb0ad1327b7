"""Numbers written as text: one decimal mark per file, decided from evidence, never per cell.

A dot followed by exactly three digits (``3.125``) is a decimal in an English-locale file and
a thousands mark in an Indonesian one; only the file as a whole can tell which.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.cli import main
from analysis.ingest import ingest
from analysis.inputs.validate import decimal_evidence, parse_float

WELFARE_DOT = {
    "kode_desa": ["6402022010", "6402022005"],
    "tahun": ["2024", "2024"],
    "iks": ["0.721", "0.9"],
    "ike": ["0.7", "0.875"],
    "ikl": ["0.8", "0.94"],
}
VILLAGES_DOT = {
    "kode_desa": ["6402022010", "6402022005"],
    "penduduk": ["1234", "2345"],
    "luas_km2": ["12.345", "7.5"],
    "jarak_kecamatan_km": ["3.125", "10"],
    "dana_desa_juta": ["1,234.5", "980.25"],
}


def _to_comma(values: dict[str, list[str]]) -> dict[str, list[str]]:
    """The same numbers as Excel writes them in an Indonesian locale (1.234,5)."""
    swap = str.maketrans({".": ",", ",": "."})
    return {
        k: [v.translate(swap) if k != "kode_desa" else v for v in vs] for k, vs in values.items()
    }


@pytest.mark.parametrize(
    "cell, kind",
    [
        ("0.721", "dot"),  # a thousands group never starts with 0
        ("0,721", "comma"),
        ("3.1", "dot"),
        ("2,50", "comma"),
        ("3.125", "ambiguous"),
        ("1,234", "ambiguous"),
        ("1.234,5", "comma"),
        ("1,234.5", "dot"),
        ("1.234.567", "comma"),
        ("1,234,567", "dot"),
        ("1234.567", "dot"),  # four digits before the mark: not a thousands group
        ("1.5e-3", "dot"),
        ("42", None),
        (0.721, None),  # a numeric cell says nothing about text
        ("tidak aktif", None),
    ],
)
def test_what_one_cell_says_about_the_decimal_mark(cell, kind):
    assert decimal_evidence(cell) == kind


def test_an_ambiguous_cell_is_never_read_without_a_decided_mark():
    assert parse_float("3.125") is None
    assert parse_float("3.125", "dot") == 3.125
    assert parse_float("3.125", "comma") == 3125.0
    assert parse_float("0.721") == 0.721
    assert parse_float("0,7714") == 0.7714
    assert parse_float("1.234,5", "comma") == 1234.5
    assert parse_float("0,5", "dot") is None  # a comma decimal in a dot file is not a number


def _write(tmp_path, name, values, sep=",", encoding="utf-8"):
    path = tmp_path / name
    pd.DataFrame(values).to_csv(path, index=False, sep=sep, encoding=encoding)
    return path


def _ingest(tmp_path, tag, welfare, villages, **kw):
    out = tmp_path / f"out-{tag}"
    ingest(welfare=[welfare], villages=villages, out=out, **kw)
    return (
        pd.read_parquet(out / "welfare.parquet"),
        pd.read_parquet(out / "villages.parquet"),
    )


def test_dot_and_comma_files_ingest_to_identical_tables(tmp_path):
    w_dot = _write(tmp_path, "w_dot.csv", WELFARE_DOT)
    v_dot = _write(tmp_path, "v_dot.csv", VILLAGES_DOT)
    # Indonesian Excel: semicolon separator, decimal comma, UTF-8 with BOM
    w_com = _write(tmp_path, "w_com.csv", _to_comma(WELFARE_DOT), ";", "utf-8-sig")
    v_com = _write(tmp_path, "v_com.csv", _to_comma(VILLAGES_DOT), ";", "utf-8-sig")
    wd, vd = _ingest(tmp_path, "dot", w_dot, v_dot)
    wc, vc = _ingest(tmp_path, "comma", w_com, v_com)
    # `sumber` names the source file, the one column that may differ
    pd.testing.assert_frame_equal(wd.drop(columns="sumber"), wc.drop(columns="sumber"))
    pd.testing.assert_frame_equal(vd, vc)
    got = vd.set_index("kode_desa")
    assert got.loc["64.02.02.2010", "jarak_kecamatan_km"] == 3.125  # not 3,125 km
    assert got.loc["64.02.02.2010", "luas_km2"] == 12.345
    assert got.loc["64.02.02.2010", "dana_desa_juta"] == 1234.5
    assert wd.set_index("kode_desa").loc["64.02.02.2010", "iks"] == 0.721  # not 721


def _cli(tmp_path, *args):
    out = tmp_path / "out-cli"
    code = main(["ingest", "--lang", "en", *map(str, args), "--out", str(out)])
    return code, out


def test_a_file_that_mixes_decimal_marks_is_refused_naming_both_cells(tmp_path, capsys):
    mixed = dict(VILLAGES_DOT, luas_km2=["12,5", "7.5"])
    code, out = _cli(tmp_path, "--villages", _write(tmp_path, "v.csv", mixed))
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "mixes decimal marks" in err
    assert "'12,5' (row 2" in err and "'7.5'" in err and "row 3" in err
    assert "Traceback" not in err


def test_a_file_with_only_ambiguous_numbers_is_refused_until_the_mark_is_declared(tmp_path, capsys):
    only = {"kode_desa": ["6402022010"], "luas_km2": ["12.345"], "jarak_kecamatan_km": ["3.125"]}
    path = _write(tmp_path, "v.csv", only)
    code, out = _cli(tmp_path, "--villages", path)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "column 'luas_km2'" in err and "'12.345'" in err
    assert "--decimal dot or --decimal comma" in err
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--villages",
                str(path),
                "--decimal",
                "comma",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    got = pd.read_parquet(out / "villages.parquet").set_index("kode_desa")
    assert got.loc["64.02.02.2010", "luas_km2"] == 12345.0  # declared: thousands dot
    out2 = tmp_path / "declared-dot"
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--villages",
                str(path),
                "--decimal",
                "dot",
                "--out",
                str(out2),
            ]
        )
        == 0
    )
    got = pd.read_parquet(out2 / "villages.parquet").set_index("kode_desa")
    assert got.loc["64.02.02.2010", "jarak_kecamatan_km"] == 3.125


def test_an_unknown_decimal_mark_is_refused(tmp_path):
    from analysis.errors import InputFileError

    with pytest.raises(InputFileError, match="unknown decimal mark"):
        ingest(villages=_write(tmp_path, "v.csv", VILLAGES_DOT), out=tmp_path / "o", decimal="x")
