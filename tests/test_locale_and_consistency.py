"""Files as offices save them (Indonesian or English Excel, CSV or workbook) read to the same
values or are refused with the fix; ingest, validate and run decide alike on a folder."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from conftest import registry_row, write_official_idm

from analysis.cli import main
from analysis.files import OWNER_MARK, neutralise_cell, neutralise_frame
from analysis.ingest import ingest
from analysis.inputs import reading as tables
from analysis.inputs.dataset import write_tables
from analysis.inputs.reading import read_raw
from analysis.inputs.validate import validate_folder

REGISTRY = [
    registry_row(
        id_kerjasama="K1",
        tanggal_tanda_tangan="2023-08-26",
        tanggal_mulai="2023-09-01",
        tanggal_selesai="2026-08-31",
        nilai_rupiah="150000000.5",
        mitra="PT Contoh Sejahtera",
    ),
    registry_row(
        id_kerjasama="K2",
        kode_desa="6402022005",
        nama_desa="Loh Sumber",
        tanggal_tanda_tangan="2022-05-08",
        tanggal_mulai="2022-05-08",
        tanggal_selesai="",
        nilai_rupiah="2500.75",
        mitra="Yayasan Peduli Désa",
        jenis_mitra="yayasan",
    ),
]


def _english(rows: list[dict]) -> str:
    """As Excel writes 'CSV UTF-8 (Comma delimited)' in an English (US) locale."""
    df = pd.DataFrame(rows)
    for c in ("tanggal_tanda_tangan", "tanggal_mulai", "tanggal_selesai"):
        df[c] = [pd.Timestamp(v).strftime("%m/%d/%Y") if v else "" for v in df[c]]
    return df.to_csv(index=False)


def _indonesian(rows: list[dict]) -> str:
    """As Excel writes 'CSV (Comma delimited)' in an Indonesian locale: ';', decimal comma,
    dates day first."""
    df = pd.DataFrame(rows)
    for c in ("tanggal_tanda_tangan", "tanggal_mulai", "tanggal_selesai"):
        df[c] = [pd.Timestamp(v).strftime("%d/%m/%Y") if v else "" for v in df[c]]
    df["nilai_rupiah"] = [v.replace(".", ",") for v in df["nilai_rupiah"]]
    return df.to_csv(index=False, sep=";")


def _ingest_registry(tmp_path, name: str, data: bytes, *extra: str):
    p = tmp_path / name
    p.write_bytes(data)
    out = tmp_path / f"out-{name}"
    code = main(["ingest", "--lang", "en", "--partnerships", str(p), "--out", str(out), *extra])
    return code, out


@pytest.mark.parametrize(
    "name, encode",
    [
        ("utf8-bom.csv", lambda t: b"\xef\xbb\xbf" + t.encode()),
        ("cp1252.csv", lambda t: t.encode("cp1252")),
        ("utf8.csv", lambda t: t.encode()),
        # Excel's "Unicode Text" export (UTF-16, tab-separated) renamed to .csv
        ("utf16.csv", lambda t: t.replace(";", "\t").encode("utf-16")),
    ],
)
def test_indonesian_and_english_excel_csvs_read_to_identical_tables(tmp_path, name, encode):
    code_en, out_en = _ingest_registry(tmp_path, "en.csv", _english(REGISTRY).encode())
    code_id, out_id = _ingest_registry(tmp_path, name, encode(_indonesian(REGISTRY)))
    assert code_en == 0 and code_id == 0
    en = pd.read_parquet(out_en / "partnerships.parquet")
    idn = pd.read_parquet(out_id / "partnerships.parquet")
    pd.testing.assert_frame_equal(en, idn)
    assert idn.loc[1, "tanggal_mulai"] == pd.Timestamp("2022-05-08")  # 8 May, not 5 August
    assert (
        idn.loc[0, "nilai_rupiah"] == 150000000.5 and idn.loc[1, "mitra"] == "Yayasan Peduli Désa"
    )
    q = json.loads((out_id / "data_quality.json").read_text())["inputs"][0]
    sep = "tab" if name == "utf16.csv" else ";"
    assert q["separator"] == sep and q["date_order"] == "dmy" and q["decimal_mark"] == "comma"
    if name == "cp1252.csv":
        assert q["encoding"] == "cp1252 (detected)"


def test_an_ambiguous_date_without_evidence_is_refused_until_declared(tmp_path, capsys):
    rows = [dict(r, nilai_rupiah="") for r in REGISTRY]
    rows[0].update(
        tanggal_tanda_tangan="2023-08-26", tanggal_mulai="2023-08-26", tanggal_selesai=""
    )
    df = pd.DataFrame(rows)
    df["tanggal_tanda_tangan"] = ["2023-08-26", "05/08/2022"]
    text = df.to_csv(index=False).encode()
    code, out = _ingest_registry(tmp_path, "r.csv", text)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "'05/08/2022'" in err and "--dates dmy" in err and "row 3" in err
    code, out = _ingest_registry(tmp_path, "r.csv", text, "--dates", "mdy")
    assert code == 0
    p = pd.read_parquet(out / "partnerships.parquet")
    assert p.loc[1, "tanggal_tanda_tangan"] == pd.Timestamp("2022-05-08")


def test_dates_that_read_one_way_settle_the_order_and_mixed_orders_are_refused(tmp_path, capsys):
    df = pd.DataFrame(REGISTRY)
    df["tanggal_tanda_tangan"] = ["08/26/2023", "05/08/2022"]  # month first: 26 is no month
    df["nilai_rupiah"] = ""
    code, out = _ingest_registry(tmp_path, "r.csv", df.to_csv(index=False).encode())
    assert code == 0
    p = pd.read_parquet(out / "partnerships.parquet")
    assert p.loc[1, "tanggal_tanda_tangan"] == pd.Timestamp("2022-05-08")
    df["tanggal_mulai"] = ["26/08/2023", ""]
    code, out = _ingest_registry(tmp_path, "r2.csv", df.to_csv(index=False).encode())
    err = capsys.readouterr().err
    assert code == 2 and "mixes date orders" in err and "'08/26/2023'" in err


def test_excel_serial_dates_are_read_as_dates_or_refused_with_the_explanation(tmp_path, capsys):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "registry"
    ws.append(list(REGISTRY[0]))
    r = dict(REGISTRY[0], tanggal_tanda_tangan=45164, tanggal_mulai=45170, tanggal_selesai="")
    ws.append(list(r.values()))
    wb.save(tmp_path / "r.xlsx")
    out = tmp_path / "o"
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--partnerships",
                str(tmp_path / "r.xlsx"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    p = pd.read_parquet(out / "partnerships.parquet")
    assert p.loc[0, "tanggal_tanda_tangan"] == pd.Timestamp("2023-08-26")
    q = json.loads((out / "data_quality.json").read_text())["inputs"][0]
    assert q["excel_serial_dates"] == 2
    ws.cell(2, 10, 123)
    wb.save(tmp_path / "r.xlsx")
    assert (
        main(
            [
                "ingest",
                "--lang",
                "en",
                "--partnerships",
                str(tmp_path / "r.xlsx"),
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        "a number in a date column" in err and "Excel date serial" in err and "(value: 123)" in err
    )


def test_text_that_looks_like_a_formula_is_kept_as_text_and_neutralised_on_output(tmp_path):
    rows = [dict(REGISTRY[0], mitra='=HYPERLINK("http://x";"klik")', sumber_dokumen="@SUM(A1)")]
    code, out = _ingest_registry(tmp_path, "r.csv", pd.DataFrame(rows).to_csv(index=False).encode())
    assert code == 0
    p = pd.read_parquet(out / "partnerships.parquet")
    assert p.loc[0, "mitra"] == '=HYPERLINK("http://x";"klik")'  # the data, unchanged
    safe = neutralise_frame(p)
    assert safe.loc[0, "mitra"].startswith("'=") and safe.loc[0, "sumber_dokumen"] == "'@SUM(A1)"
    assert [neutralise_cell(v) for v in ("-1+2", "+62 812", "PT A", 3.5)] == [
        "'-1+2",
        "'+62 812",
        "PT A",
        3.5,
    ]


def test_a_hidden_sheet_never_stands_in_for_the_visible_one(tmp_path):
    rows = pd.DataFrame(
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
    old = write_official_idm(rows.assign(iks=0.5, nilai_idm=0.6667), 2023, tmp_path / "old.xlsx")
    new = write_official_idm(rows, 2024, tmp_path / "new.xlsx")
    wb = openpyxl.load_workbook(new)
    hidden = wb.create_sheet("IDM 2023", 0)  # first in the workbook, and hidden
    for r in openpyxl.load_workbook(old).active.iter_rows(values_only=True):
        hidden.append(r)
    hidden.sheet_state = "hidden"
    wb.save(tmp_path / "both.xlsx")
    out = tmp_path / "o"
    rep = ingest(idm=[tmp_path / "both.xlsx"], out=out)
    w = pd.read_parquet(out / "welfare.parquet")
    assert w["tahun"].tolist() == [2024] and w["iks"].tolist() == [0.8]
    assert rep.inputs[0]["hidden_sheets"] == ["IDM 2023"]
    # the same for a tidy table: read_raw never returns a hidden sheet
    with pytest.raises(Exception, match="hidden"):
        read_raw(tmp_path / "both.xlsx", sheet="IDM 2023")


def test_formula_cells_without_stored_values_are_refused_with_the_fix(tmp_path, capsys):
    f = write_official_idm(
        pd.DataFrame(
            {
                "kode_desa": ["6402022010"],
                "nama_desa": ["LUNG ANAI"],
                "iks": [0.8],
                "ike": [0.7],
                "ikl": [0.8],
                "nilai_idm": [0.7667],
                "status_idm": ["MAJU"],
            }
        ),
        2024,
        tmp_path / "f.xlsx",
    )
    wb = openpyxl.load_workbook(f)
    wb.active["L2"] = "=AVERAGE(I2:K2)"  # openpyxl stores no computed value
    wb.save(f)
    assert main(["ingest", "--lang", "en", "--idm", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert (
        "without a stored value in column 'NILAI_IDM_2024' (cells L2)" in err and "save it" in err
    )


def test_the_same_desa_year_in_two_files_names_both_files(tmp_path, capsys):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    pd.DataFrame(
        {"kode_desa": ["6402022010"], "tahun": [2024], "iks": [0.8], "ike": [0.7], "ikl": [0.8]}
    ).to_csv(a, index=False)
    pd.DataFrame(
        {
            "kode_desa": ["6402022005", "6402022010"],
            "tahun": [2024, 2024],
            "iks": [0.9, 0.8],
            "ike": [0.7, 0.7],
            "ikl": [0.8, 0.8],
        }
    ).to_csv(b, index=False)
    assert (
        main(["ingest", "--lang", "en", "--welfare", str(a), str(b), "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err
    assert "64.02.02.2010 year 2024 appears in more than one file" in err
    assert f"{a} (row 2) and {b} (row 3)" in err


def test_reading_is_bounded_empty_rows_dropped_and_oversized_files_refused(
    tmp_path, monkeypatch, capsys
):
    p = tmp_path / "reg.csv"
    body = pd.DataFrame([REGISTRY[0]]).to_csv(index=False)
    with open(p, "w") as fh:
        fh.write(body)
        fh.write("," * 14 + "\n" * 1)
        fh.write(("," * 14 + "\n") * 200_000)  # what a formatted-but-empty sheet exports
    facts = tables.ReadFacts()
    df = read_raw(p, facts=facts)
    assert len(df) == 1 and facts.empty_rows_dropped == 200_001 and df["_row"].tolist() == [2]
    monkeypatch.setattr(tables, "MAX_INPUT_BYTES", 1000)
    assert (
        main(["ingest", "--lang", "en", "--partnerships", str(p), "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err
    assert "MiB" in err and "empty rows" in err
    monkeypatch.setattr(tables, "MAX_INPUT_BYTES", 2**30)
    monkeypatch.setattr(tables, "MAX_ROWS", 1)
    two = tmp_path / "two.csv"
    pd.DataFrame(REGISTRY).to_csv(two, index=False)
    assert (
        main(["ingest", "--lang", "en", "--partnerships", str(two), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "more than 1 rows" in capsys.readouterr().err


def test_an_empty_idm_workbook_is_refused_alike_by_ingest_validate_and_run(tmp_path, capsys):
    f = write_official_idm(
        pd.DataFrame(
            columns=["kode_desa", "nama_desa", "iks", "ike", "ikl", "nilai_idm", "status_idm"]
        ),
        2024,
        tmp_path / "empty.xlsx",
    )
    assert main(["ingest", "--lang", "en", "--idm", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "header but no rows" in capsys.readouterr().err and not (tmp_path / "o").exists()
    # a folder with an empty welfare table (as the old ingest wrote it)
    folder = tmp_path / "folder"
    folder.mkdir()
    empty = pd.read_parquet(
        tables.Path(__file__).parents[1] / "data" / "example" / "welfare.parquet"
    ).iloc[:0]
    write_tables(folder, {"welfare": empty}, {"title": "t"})
    (folder / OWNER_MARK).write_text("x")
    assert main(["validate", "--lang", "en", "--data", str(folder)]) == 2
    v_err = capsys.readouterr().err
    code = main(
        [
            "run",
            "--lang",
            "en",
            "--province",
            "64",
            "--data",
            str(folder),
            "--out",
            str(tmp_path / "r"),
        ]
    )
    r_err = capsys.readouterr().err
    assert code == 2 and "header but no rows" in v_err and r_err == v_err
    assert not (tmp_path / "r").exists()  # refused before any notebook started


def test_an_indonesian_locale_csv_is_decided_alike_by_ingest_and_validate(tmp_path):
    text = _indonesian(REGISTRY).encode("cp1252")
    code, out = _ingest_registry(tmp_path, "r.csv", text)
    assert code == 0
    outcomes = validate_folder(out)
    assert len(outcomes["partnerships"].table) == 2


@pytest.mark.parametrize(
    "kind, name, data",
    [
        ("--partnerships", "bin.csv", bytes(range(256)) * 4),
        ("--partnerships", "zip.xlsx", b"PK\x03\x04 not really a workbook"),
        ("--idm", "text.xlsx", b"kode;tahun\n"),
        ("--welfare", "nul.csv", b"kode_desa,tahun,iks,ike,ikl\n\x00\x00\x00\n"),
        ("--partnerships", "quote.csv", b'id_kerjasama,"kode_desa\n1,"2'),
        ("--villages", "semicolons.csv", b"kode_desa;penduduk\n6402022010;12;3\n"),
        ("--indeks-desa", "x.csv", b"a,b\n1,2\n"),
        ("--crosswalk", "x.csv", b"a,b\n1,2\n"),
        ("--api", "api.json", b"{not json"),
        ("--api", "list.json", b"[1, 2]"),
        ("--api", "rows.json", b'{"mapData": {"ROW": [1, 2], "SUMMARIES": {"TAHUN": 2024}}}'),
        ("--layout", "map.toml", b"[columns\n"),
        ("--idm", "dir", None),
        ("--layout", "mapdir", None),
        ("--partnerships", "regdir.csv", None),
    ],
)
def test_no_input_of_any_kind_produces_a_traceback(tmp_path, capsys, kind, name, data):
    p = tmp_path / name
    if data is None:
        p.mkdir()
    else:
        p.write_bytes(data)
    args = ["ingest", kind, str(p), "--out", str(tmp_path / "o")]
    if kind in ("--crosswalk", "--layout"):
        w = tmp_path / "w.csv"
        pd.DataFrame({"kode_desa": ["6402022010"], "penduduk": [1]}).to_csv(w, index=False)
        args += ["--villages" if kind == "--crosswalk" else "--welfare", str(w)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("galat:") and "Traceback" not in err  # --lang id
    assert not (tmp_path / "o").exists()


def test_formatted_empty_rows_below_a_workbook_table_are_not_parsed(tmp_path):
    from openpyxl.styles import PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(REGISTRY[0]))
    ws.append(list(REGISTRY[0].values()))
    fill = PatternFill("solid", fgColor="FFF2CC")
    for r in range(3, 5003):  # formatted, never filled
        for c in range(1, 16):
            ws.cell(r, c).fill = fill
    wb.save(tmp_path / "r.xlsx")
    ro = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)
    assert tables._last_value_row(tmp_path / "r.xlsx", ro.worksheets[0]._worksheet_path) == 2
    (sheet,) = tables.workbook_sheets(tmp_path / "r.xlsx")
    assert sheet.numbers == [1, 2]
