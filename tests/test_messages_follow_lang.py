"""Real refusals printed by the command line follow ``--lang``: no English sentence under ``id``.

Each case is a refusal an official can meet (a BPS-code file, a month-first registry date, a
missing column, a money value, a formula without its value, a title-row workbook, a missing
path, a symbolic link, ``--force`` on another kind of folder), run through
:func:`analysis.cli.main` in both languages. Under ``--lang id`` what is left once paths,
quoted values, flags and column identifiers are taken out holds no English word; under
``--lang en`` the same refusal does (so the check can fail). One case goes through
``python -m analysis`` in a subprocess, as officials run it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest
from conftest import registry_row, write_official_idm, write_registry

from analysis.cli import main

#: Words of English sentences that Indonesian messages never use ("folder", "data" are both).
ENGLISH = {
    "the", "is", "are", "not", "of", "and", "or", "with", "from", "file", "row", "rows",
    "column", "value", "fix", "does", "exist", "must", "give", "write", "written", "check",
    "this", "that", "has", "have", "cannot", "be", "read", "error", "warning",
    "missing", "more", "than", "only", "never", "already", "holds", "choose", "another",
    "link", "because", "dates", "first", "month", "sheet", "without", "stored", "number",
    "amount", "required", "village", "codes", "frame", "replace", "kind", "its", "own",
}  # fmt: skip


def _left_words(text: str, tmp_path) -> set[str]:
    """The words of ``text`` once paths, quoted values, flags and identifiers are taken out."""
    text = text.replace(str(tmp_path), " ")
    text = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)  # quoted values and headers
    text = re.sub(r"\S*/\S*", " ", text)  # paths and "a/b"
    text = re.sub(r"--[\w-]+", " ", text)  # flags
    words = re.findall(r"[A-Za-z][A-Za-z-]*", text)
    return {w.lower() for w in words if "_" not in w}


def _refusal(capsys, args: list[str], lang: str) -> tuple[int, str]:
    code = main([*args, "--lang", lang])
    return code, capsys.readouterr().err


def _registry(tmp_path, **kw):
    return write_registry(tmp_path / "reg.csv", [registry_row(**kw)])


def _idm_rows():
    return pd.DataFrame(
        {
            "kode_desa": ["6402022010"],
            "nama_desa": ["LUNG ANAI"],
            "iks": [0.8],
            "ike": [0.7],
            "ikl": [0.8],
            "nilai_idm": [0.7667],
            "status_idm": ["MAJU"],
        }
    )


def _bps(tmp_path):
    f = tmp_path / "podes.csv"
    f.write_text("kode_desa,penduduk\n6403050099,1000\n")
    return ["ingest", "--villages", str(f), "--out", str(tmp_path / "o")]


def _missing_column(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("kode_desa,tahun,iks,ike\n6402022010,2024,0.8,0.7\n")
    return ["ingest", "--welfare", str(f), "--out", str(tmp_path / "o")]


def _money(tmp_path):
    reg = _registry(tmp_path, nilai_rupiah="Rp 150.000.000")
    return ["ingest", "--partnerships", str(reg), "--out", str(tmp_path / "o")]


def _formula(tmp_path):
    f = write_official_idm(_idm_rows(), 2024, tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(f)
    wb.active["L2"] = "=AVERAGE(I2:K2)"  # openpyxl stores no computed value
    wb.save(f)
    return ["ingest", "--idm", str(f), "--out", str(tmp_path / "o")]


def _title_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["INDEKS DESA MEMBANGUN (IDM) TAHUN 2024"])
    ws.append(["kode_desa", "layanan_dasar", "sosial", "skor"])
    ws.append(["6402022010", 70.0, 60.0, 65.0])
    wb.save(tmp_path / "id.xlsx")
    return ["ingest", "--idm", str(tmp_path / "id.xlsx"), "--out", str(tmp_path / "o")]


def _missing_path(tmp_path):
    return ["ingest", "--partnerships", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]


def _symlink(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    reg = _registry(tmp_path)
    return ["ingest", "--partnerships", str(reg), "--out", str(tmp_path / "link"), "--force"]


def _force_other_kind(tmp_path):
    reg = _registry(tmp_path)
    assert main(["ingest", "--partnerships", str(reg), "--out", str(tmp_path / "d")]) == 0
    return ["example-data", "--out", str(tmp_path / "d"), "--force"]


def _unknown_district(tmp_path):
    return ["run", "--district", "Kutai Kartanegra", "--out", str(tmp_path / "r")]


CASES = {
    "bps_codes": (_bps, "Kemendagri"),
    "missing_column": (_missing_column, "ikl"),
    "money": (_money, "Rp"),
    "formula_without_cache": (_formula, "NILAI_IDM_2024"),
    "title_row_workbook": (_title_row, "Indeks Desa"),
    "missing_path": (_missing_path, "nope.csv"),
    "symlink": (_symlink, "link"),
    "force_other_kind": (_force_other_kind, "ingest"),
    "unknown_district": (_unknown_district, "Kutai Kartanegara"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_refusal_has_no_english_sentence_under_lang_id(tmp_path, capsys, case):
    make, named = CASES[case]
    args = make(tmp_path)
    code_id, err_id = _refusal(capsys, args, "id")
    code_en, err_en = _refusal(capsys, args, "en")
    assert code_id == code_en == 2, (err_id, err_en)
    assert err_id.startswith("galat: ") and err_en.startswith("error: ")
    assert named in err_id and named in err_en  # the structured part is the same
    assert "Traceback" not in err_id + err_en
    english = _left_words(err_id, tmp_path) & ENGLISH
    assert not english, (sorted(english), err_id)
    assert _left_words(err_en, tmp_path) & ENGLISH, err_en  # the check can fail


def test_a_month_first_registry_is_said_in_the_runs_language(tmp_path, capsys):
    reg = _registry(
        tmp_path, tanggal_tanda_tangan="08/26/2023", tanggal_mulai="", tanggal_selesai=""
    )
    args = ["ingest", "--partnerships", str(reg)]
    assert main([*args, "--out", str(tmp_path / "a"), "--lang", "id"]) == 0
    err = capsys.readouterr().err
    assert "peringatan: " in err and "bulan/hari" in err and "--dates dmy" in err
    assert not _left_words(err, tmp_path) & ENGLISH, err
    assert main([*args, "--out", str(tmp_path / "b"), "--lang", "en"]) == 0
    assert "dates read as month/day" in capsys.readouterr().err


def test_lists_and_numbers_inside_a_message_take_the_language(tmp_path, capsys):
    """Duplicate rows beyond ten: 'dan N lainnya'; a decimal read two ways: decimal comma."""
    rows = [registry_row() for _ in range(14)]
    reg = write_registry(tmp_path / "dup.csv", rows)
    code, err = _refusal(capsys, ["ingest", "--partnerships", str(reg), "--out", "o"], "id")
    assert code == 2 and "dan 3 lainnya" in err and "and 3 more" not in err
    f = tmp_path / "w.csv"
    f.write_text("kode_desa;tahun;iks;ike;ikl\n6402022010;2024;1.234;0;0\n")
    code, err = _refusal(capsys, ["ingest", "--welfare", str(f), "--out", "o"], "id")
    assert code == 2 and "1,234" in err and "1.234" in err, err  # the cell, then its reading


def test_python_m_analysis_validate_refuses_in_indonesian(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(__import__("analysis").__path__[0].rsplit("/", 1)[0])}
    run = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", "--data", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("galat: ") and "folder data ini tidak ada" in run.stderr
    assert not _left_words(run.stderr, tmp_path) & ENGLISH, run.stderr


@pytest.mark.parametrize(
    ("lang", "said"), [("id", "tabel ini diubah"), ("en", "table was changed")]
)
def test_the_data_page_words_the_problems_with_the_same_renderer(tmp_path, lang, said):
    from analysis.inputs.dataset import load_dataset
    from analysis.report.data_quality import write_data_report

    f = tmp_path / "w.csv"
    f.write_text("kode_desa,tahun,iks,ike,ikl\n6402022010,2024,0.8,0.7,0.8\n")
    data = tmp_path / "d"
    assert main(["ingest", "--welfare", str(f), "--out", str(data)]) == 0
    w = pd.read_parquet(data / "welfare.parquet")
    w.assign(iks=0.9).to_parquet(data / "welfare.parquet")  # edited after ingest
    page = write_data_report(tmp_path / "run", load_dataset(data), lang).read_text()
    assert said in page and "InputProblem(" not in page


def test_registry_template_writes_once_and_refuses_to_replace_in_the_runs_language(
    tmp_path, capsys
):
    assert main(["registry-template", "--out", str(tmp_path)]) == 0
    assert "Ditulis: " in capsys.readouterr().out
    assert (tmp_path / "registry_template.xlsx").exists()
    (tmp_path / "registry_template.csv").write_text("mine")
    code, err = _refusal(capsys, ["registry-template", "--out", str(tmp_path)], "id")
    assert code == 2 and "sudah ada" in err and "--force" in err
    assert not _left_words(err, tmp_path) & ENGLISH, err
    assert (tmp_path / "registry_template.csv").read_text() == "mine"
    assert main(["registry-template", "--out", str(tmp_path), "--force", "--lang", "en"]) == 0
    assert "Wrote " in capsys.readouterr().out
    assert (tmp_path / "registry_template.csv").read_text() != "mine"


def test_the_renderer_words_lists_numbers_dates_and_terms_in_each_language():
    import datetime as dt

    from analysis.errors import AndList, InputFileError, InputProblem, Phrase, Term
    from analysis.report.messages import render

    p = InputProblem(
        "r.csv",
        "English",
        "fix",
        row=3,
        column="kode_desa",
        value="x" * 300,
        key="duplicate_many",
        args={
            "columns": "id",
            "values": "K1",
            "rows": list(range(4, 18)),
            "per": AndList(["a", "b"]),
        },
    )
    id_, en = render(p, "id"), render(p, "en")
    assert id_.startswith("r.csv, baris 3, kolom 'kode_desa': ") and "dan 4 lainnya" in id_
    assert "untuk setiap a dan b" in id_ and "(302 karakter)" in id_ and "Perbaikan:" in id_
    assert en.startswith("r.csv, row 3, column 'kode_desa': ") and "and 4 more" in en
    assert "per a and b" in en and "Fix:" in en
    future = InputProblem(
        "r.csv", "m", "f", key="future_signing", args={"today": dt.date(2026, 12, 2)}
    )
    assert "2 Desember 2026" in render(future, "id") and "December 2, 2026" in render(future, "en")
    mark = InputProblem(
        "w.csv",
        "m",
        "f",
        key="ambiguous_mark",
        args={"v": "'1.5'", "as_dot": 1.5, "as_comma": 15.0},
    )
    assert "terbaca 1,5 bila" in render(mark, "id") and "read as 1.5 with" in render(mark, "en")
    term = InputProblem("w.csv", "m", "f", key="not_a_number", args={"mark": Term("mark.comma")})
    assert "tanda desimal koma" in render(term, "id")
    many = InputFileError([p] * 25)
    assert render(many, "id").endswith("... dan 5 masalah lain yang sejenis")
    note = Phrase(key="note.ignored", args={"file": "v.csv", "n": 1234, "columns": ["'A'"]})
    assert render(note, "id") == "v.csv: 1.234 kolom tidak dibaca (diabaikan): 'A'"
    assert render(note, "en") == "v.csv: 1,234 column(s) not read (ignored): 'A'"
