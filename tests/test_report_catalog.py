"""The presentation layer: every key in every language, numbers in the language's notation, engine
codes worded, too-recent sentences true to the registry rows, shareable files, parameter values
checked before any kernel starts."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pandas as pd
import papermill
import pytest

from analysis import paths
from analysis.design import DEFAULT_COVARIATES, OUTCOMES
from analysis.district import GRADE_REASONS, Specification
from analysis.errors import ParameterError, UnknownDistrictError
from analysis.files import write_dir_atomically, write_file_atomically
from analysis.inputs.frame import DISTRICT_ALIASES, districts_of_province, resolve_district
from analysis.methods.options import Method, allowed
from analysis.methods.results import REASONS
from analysis.parameters import CONTROL_GROUPS, check_values, choices
from analysis.report import METHOD_CODES, claims, render, words
from analysis.report.agreements import IDM_LAST_EDITION, read_agreements, recent_agreements
from analysis.report.catalog import MissingTextError, languages, load
from analysis.schema import IDM_STATUSES, PARTNER_TYPES, PARTNERSHIP_STATUSES, SECTORS

SRC = paths.PACKAGE_DIR
GRADES = ("strong", "suggestive", "insufficient", "not_estimable")
WHY = (*GRADE_REASONS, "fragile_to_trend_violation")  # reasons, and the caveat worded as one


def _literal_keys() -> set[str]:
    """Keys used literally in the code and templates: ``.t("key"`` and ``.n("key"``."""
    keys = set()
    files = list(SRC.rglob("*.py")) + list((SRC / "report" / "templates").rglob("*.j2"))
    for f in files:
        for m in re.finditer(
            r"""\.(?:t|n)\(\s*["']([a-z_]+(?:\.[a-z_0-9]+)+)["']\s*[,)]""", f.read_text()
        ):
            keys.add(m.group(1))
    return keys


def _coded_keys() -> set[str]:
    """Keys built from engine codes: every code the engine can produce needs an entry."""
    keys = {f"grade.{g}" for g in GRADES} | {f"grade_short.{g}" for g in GRADES}
    keys |= {f"grade_text.{g}" for g in GRADES} | {f"legend.{g}" for g in GRADES}
    keys |= set(claims.BY_KEY)  # every sentence the brief can show (analysis.report.claims)
    keys |= {f"status.{s.replace(' ', '_').lower()}" for s in IDM_STATUSES}
    keys |= {f"glossary.{t}{d}" for t in claims.GLOSSARY for d in ("", ".def")}
    keys |= {f"why.{r}" for r in WHY} | {f"reason.{r}" for r in REASONS}
    keys |= {f"outcome.{o}" for o in OUTCOMES} | {f"method.{m}" for m in METHOD_CODES.values()}
    keys |= {f"method.{m}" for m in allowed(Method)}  # every estimator's code, old label or not
    keys |= {f"partner_type.{p}" for p in PARTNER_TYPES} | {f"sector.{s}" for s in SECTORS}
    keys |= {f"covariate.{c}" for c in (*DEFAULT_COVARIATES, "baseline")}
    keys |= {f"control_group.{c}" for c in CONTROL_GROUPS} | {f"lang.{x}" for x in languages()}
    keys |= {f"registry_status.{s}" for s in PARTNERSHIP_STATUSES}
    keys |= {f"na.{r}" for r in ("no_desa", "no_data")}
    keys |= {f"dimension.{d}" for d in ("partner_type", "sector")}
    keys |= {f"param.{k}" for k in Specification().as_dict()}
    keys |= {f"{k}.{v}" for k, vs in choices().items() if k not in ("outcome", "lang") for v in vs}
    keys |= {f"param.{p}" for p in papermill.inspect_notebook(str(paths.DISTRICT_NOTEBOOK))} - {
        "param.results_dir"
    }
    return keys


def test_no_catalog_entry_is_left_unused():
    """Every key is quoted somewhere in the code or templates, or belongs to a family of codes."""
    quoted = set()
    for f in [*SRC.rglob("*.py"), *(SRC / "report" / "templates").rglob("*.j2")]:
        quoted |= set(re.findall(r"""["']([a-z_]+(?:\.[a-zA-Z_0-9]+)*)["']""", f.read_text()))
    families = ("fact.", "est_method.", "se_type.", "ci_method.", "dropped_reason.", "value.")
    families += tuple(f"{k}." for k in choices())
    families += ("dq.note.", "dq.table.", "plot.", "covariate.", "input.")
    families += ("error.", "cli.")  # each checked by tests/test_message_catalog.py
    coded = _coded_keys()
    unused = sorted(k for k in load("id") if k not in quoted | coded and not k.startswith(families))
    assert not unused, unused


def test_every_language_has_every_key_and_the_same_plural_entries():
    langs = languages()
    assert set(langs) >= {"id", "en"}
    cats = {lang: load(lang) for lang in langs}
    ref = cats["id"].keys()
    for lang, cat in cats.items():
        assert cat.keys() == ref, (lang, sorted(cat.keys() ^ ref))
        missing = [k for k in ref if not cat.has(k)]
        assert not missing, (lang, missing)
        assert {k for k in ref if cat.is_plural(k)} == {k for k in ref if cats["id"].is_plural(k)}


def test_every_key_the_code_uses_exists_in_every_language():
    used = _literal_keys() | _coded_keys()
    assert len(used) > 150
    for lang in languages():
        missing = sorted(k for k in used if not load(lang).has(k))
        assert not missing, (lang, missing)


def test_a_missing_key_is_an_error_not_a_fallback():
    with pytest.raises(MissingTextError, match="no text in the 'id' catalog"):
        words("id").t("no.such.key")
    with pytest.raises(MissingTextError, match="no plural entry"):
        words("en").n("brief.title", 2)
    with pytest.raises(ValueError, match="available: en, id"):
        words("fr")


def test_numbers_dates_and_plurals_follow_the_language():
    wi, we = words("id"), words("en")
    assert (wi.num(0.1234), we.num(0.1234)) == ("0,123", "0.123")
    assert (wi.num(1234.5, 1), we.num(1234.5, 1)) == ("1.234,5", "1,234.5")
    assert (
        wi.num(-0.012, 3, signed=True) == "\u22120,012" and we.num(0.012, signed=True) == "+0.012"
    )
    assert wi.pct(0.125, 1) == "12,5%" and we.pct(0.125, 1) == "12.5%"
    assert wi.date(pd.Timestamp("2025-08-26")) == "26 Agustus 2025"
    assert we.date(pd.Timestamp("2025-08-26")) == "August 26, 2025"
    assert we.n("recent.signed", 1, when="x").startswith("1 agreement in this district was")
    assert we.n("recent.signed", 3, when="x").startswith("3 agreements in this district were")
    assert wi.n("recent.signed", 3, when="x").startswith("3 perjanjian")
    assert wi.effect(0.0321, "naik_status") == "3,2 poin persen"


def test_engine_codes_are_worded_never_shown_raw():
    wi = words("id")
    assert wi.method("aipw") == "Metode kokoh ganda (AIPW)"
    assert wi.method("naive") == "Perbandingan langsung (tanpa penyesuaian)"
    assert wi.group("jenis_mitra", "perguruan_tinggi") == "mitra: perguruan tinggi"
    assert wi.method("cs_did [jenis_mitra=lsm]").endswith("(mitra: LSM)")
    with pytest.raises(MissingTextError):
        wi.method("Some new estimator")
    # facts without a catalog entry are left out, never printed as English
    assert wi.facts({"pretrend_p": 0.5, "note_in_english": "SE clustered by kode_kec"}) == (
        "uji tren sebelum kemitraan: p = 0,50"
    )


def test_templates_escape_text_from_data():
    html = str(render("table.html.j2", "id"))  # macros only: renders nothing, loads fine
    assert html.strip() == ""
    page = str(render("figure.html.j2", "id", src="data:x", alt="<b>", caption="a & b"))
    assert "&lt;b&gt;" in page and "a &amp; b" in page


def _registry(rows):
    cols = ["id_kerjasama", "kode_desa", "nama_desa", "mitra", "status"]
    df = pd.DataFrame(
        [dict(zip([*cols, "tanggal_tanda_tangan", "tanggal_mulai"], r, strict=True)) for r in rows]
    )
    for c in ("tanggal_tanda_tangan", "tanggal_mulai"):
        df[c] = pd.to_datetime(df[c])
    return df


def test_too_recent_groups_state_the_dates_the_july_rule_and_the_year_counted_from():
    reg = _registry(
        [
            ("a", "64.02.01.2001", "Desa A", "PT Satu", "aktif", "2024-03-01", "2024-03-01"),
            ("b", "64.02.01.2002", "Desa B", "PT Dua", "aktif", "2024-06-20", "2024-07-31"),
            (
                "c",
                "64.02.01.2003",
                "Desa C",
                "BAZNAS",
                "ditandatangani",
                "2024-12-27",
                "2024-12-27",
            ),
            (
                "d",
                "64.02.01.2004",
                "Desa D",
                "PT Tiga",
                "ditandatangani",
                "2025-02-01",
                "2025-02-01",
            ),
            (
                "e",
                "64.02.01.2005",
                "Desa E",
                "PT Empat",
                "direncanakan",
                "2025-02-01",
                "2025-02-01",
            ),
            ("f", "64.03.01.2001", "Desa F", "PT Lima", "aktif", "2024-09-01", "2024-09-01"),
        ]
    )
    rec = recent_agreements(reg, "64.02", 2024)
    assert [(g.exposure_year, g.july_rule, g.n_agreements) for g in rec.groups] == [
        (2025, False, 1),
        (2025, True, 2),
    ]
    july = rec.groups[1]
    assert (july.first, july.last) == (pd.Timestamp("2024-07-31"), pd.Timestamp("2024-12-27"))
    assert not july.signed_only and rec.groups[0].signed_only
    assert [d for d, _ in july.desa] == ["Desa B", "Desa C"]
    assert july.new_instrument == (IDM_LAST_EDITION < 2025) and july.settle == "first_indeks_desa"
    html = str(
        render("brief/recent_group.html.j2", "id", g=july, recent=rec, last_idm=IDM_LAST_EDITION)
    )
    assert "2 perjanjian di kabupaten ini dimulai antara 31 Juli 2024 dan 27 Desember 2024" in html
    assert "bulan Juli atau sesudahnya" in html and "dihitung mulai 2025" in html
    assert "(2024)" in html and "Desa B" in html and "PT Dua" in html and "BAZNAS" in html
    assert "Desa A" not in html and "Desa F" not in html and "PT Empat" not in html
    same = str(
        render("brief/recent_group.html.j2", "en", g=rec.groups[0], recent=rec, last_idm=2024)
    )
    assert "1 agreement in this district was signed on February 1, 2025." in same
    assert "July" not in same and "It counts from 2025" in same  # one agreement: singular


def test_recent_agreements_of_the_real_kukar_registry():
    extra = read_agreements("data/real/kukar_mou_2025.csv")
    assert len(extra) == 15
    empty = extra.iloc[0:0]
    rec = recent_agreements(empty, "64.02", 2024, extra)
    (g,) = rec.groups
    assert g.n_agreements == 12 and g.july_rule and g.exposure_year == 2026 and g.signed_only
    assert g.first == g.last == pd.Timestamp("2025-08-26")
    assert {d for d, _ in g.desa} == {"Lung Anai", "Loh Sumber", "Loa Kulu Kota", "Jembayan Tengah"}
    assert all(
        p == ("BAZNAS Kutai Kartanegara", "PT Multi Harapan Utama", "Yayasan Pede Nusantara Madani")
        for _, p in g.desa
    )
    assert rec.uncoded_rows == 3 and rec.uncoded_names == ("Loa Duri Seberang (desa persiapan)",)
    other = recent_agreements(empty, "64.03", 2024, extra)  # another district: nothing, not even
    assert other.groups == () and other.uncoded_rows == 0  # the uncoded Kukar rows


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_outputs_are_shareable_and_respect_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        f = write_file_atomically(tmp_path / "a" / "brief.html", "x")
        d = write_dir_atomically(tmp_path / "folder", lambda p: (p / "t.txt").write_text("y"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~umask


def test_district_short_names_numbers_and_province_aliases():
    assert resolve_district("Kukar").code == "64.02" and resolve_district("kutim").code == "64.08"
    assert resolve_district("Kubar").code == "64.07" and resolve_district("PPU").code == "64.09"
    assert {d.code for d in districts_of_province("Kaltim")} == {
        d.code for d in districts_of_province("64")
    }
    for alias, name in DISTRICT_ALIASES.items():
        assert resolve_district(alias).name == name
    assert resolve_district(32.1).name == "Kabupaten Majalengka"  # papermill -p district 32.10
    assert resolve_district(64.02).code == "64.02" and resolve_district(3210).code == "32.10"
    with pytest.raises(UnknownDistrictError, match="-r district 32.10"):
        resolve_district(32.125)
    with pytest.raises(UnknownDistrictError, match=r"Kukar \(Kabupaten Kutai Kartanegara\)"):
        resolve_district("Kukr")


def test_parameter_values_are_checked_with_the_closest_valid_value():
    years = [2018, 2019, 2020, 2021, 2022, 2023, 2024]
    with pytest.raises(ParameterError, match="Did you mean 'iks'"):
        check_values({"outcome": "iks_typo"}, years=years)
    with pytest.raises(ParameterError, match="Did you mean 'notyettreated'"):
        check_values({"control_group": "notyettreatd"}, years=years)
    with pytest.raises(ParameterError, match="Did you mean 'id'"):
        check_values({"lang": "ind"}, years=years)
    with pytest.raises(ParameterError, match="Closest: 2024"):
        check_values({"last_year": 2030}, years=years)
    with pytest.raises(ParameterError, match="must be a year"):
        check_values({"cross_section_year": "2019x"}, years=years)
    with pytest.raises(ParameterError, match="not found"):
        check_values({"agreements": "data/real/nope.csv"}, years=years)
    ok = check_values({"district": 32.1, "outcome": "ike", "last_year": "2023"}, years=years)
    assert ok == {"district": "32.10", "outcome": "ike", "last_year": 2023}


def test_a_value_typo_stops_the_runner_before_any_kernel(tmp_path, capsys, monkeypatch):
    from analysis.batch import run as run_mod
    from analysis.cli import main

    def no_kernel(*a, **k):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(run_mod, "check_parameters", no_kernel)  # papermill is not even asked
    monkeypatch.setattr(run_mod, "execute_district", no_kernel)
    out = tmp_path / "o"
    assert (
        main(
            [
                "run",
                "--lang",
                "en",
                "--district",
                "Kukar",
                "--param",
                "outcome=iks_typo",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "Did you mean 'iks'" in err and "Traceback" not in err and not out.exists()
    for args, said in ((["--param", "est_method=drr"], "Did you mean 'dr'"),
                       (["--param", "last_year=2030"], "Closest: 2024"),
                       (["--param", "lang=en"], "use --lang")):  # fmt: skip
        assert main(["run", "--lang", "en", "--district", "Kukar", *args, "--out", str(out)]) == 2
        assert said in capsys.readouterr().err and not out.exists()


def test_no_language_branches_in_the_source():
    hits = [
        f"{f.relative_to(SRC)}:{i}"
        for f in SRC.rglob("*.py")
        for i, line in enumerate(f.read_text().splitlines(), 1)
        if re.search(r"lang\s*(==|!=)\s*['\"](id|en)['\"]", line)
    ]
    assert not hits, hits


def test_catalogs_ship_with_the_package():
    pyproject = (paths.ROOT / "pyproject.toml").read_text()
    assert "report/locale/*/LC_MESSAGES/*.po" in pyproject and "report/templates/*" in pyproject
    assert all(
        Path(SRC / "report" / "locale" / x / "LC_MESSAGES" / "messages.po").exists()
        for x in ("id", "en")
    )


def test_data_quality_page_words_the_ingest_report(tmp_path):
    from analysis.ingest import ingest
    from analysis.report.pages import ingest_inputs

    ingest(partnerships=paths.DATA_DIR / "real" / "kukar_mou_2025.csv", out=tmp_path / "d")
    (f,) = ingest_inputs(tmp_path / "d", "id")
    assert f["name"] == "kukar_mou_2025.csv" and f["kind"] == "Registri kemitraan"
    assert ("Tanpa kode desa", "3") in f["rows"] and (
        "Jumlah per status perjanjian",
        "ditandatangani: 15",
    ) in f["rows"]
    assert [r for r, _ in f["unmatched"]] == [14, 15, 16]
    page = str(
        render(
            "data_report.html.j2", "id", title="t", tables=[], problems=[], inputs=[f], hashes=[]
        )
    )
    assert "baris 14: Loa Duri Seberang (desa persiapan)" in page and str(tmp_path) not in page


def test_parameter_choices_read_from_source_match_the_engine_types():
    from typing import Literal, get_args, get_origin, get_type_hints

    typed = {
        k: tuple(str(a) for a in get_args(t))
        for k, t in get_type_hints(Specification).items()
        if get_origin(t) is Literal
    }
    got = choices()
    assert typed and all(got[k] == v for k, v in typed.items()), (typed, got)


def test_no_catalog_key_is_defined_twice():
    # a second definition would silently replace the first (merges of two branches did this)
    for po in sorted((SRC / "report" / "locale").glob("*/LC_MESSAGES/messages.po")):
        ids = re.findall(r'^msgid "(.+)"$', po.read_text(encoding="utf-8"), flags=re.M)
        twice = sorted({k for k in ids if ids.count(k) > 1})
        assert not twice, (po.parent.parent.name, twice)


def test_the_same_mou_in_the_registry_and_the_agreements_file_is_counted_once(recwarn):
    extra = read_agreements("data/real/kukar_mou_2025.csv")
    # the user's registry holds four of the same MoUs under the template's ids, spelled its way
    reg = extra[extra["kode_desa"].isin(["64.02.02.2010", "64.02.02.2005"])].head(4).copy()
    reg["id_kerjasama"] = [f"KRJ-{i:04d}" for i in range(1, 5)]
    reg["mitra"] = reg["mitra"].str.upper().str.replace(" ", "  ")
    rec = recent_agreements(reg.reset_index(drop=True), "64.02", 2024, extra)
    assert rec.n_agreements == 12  # 16 when merged by id
    assert len(rec.duplicates) == 4 and {b for _, b in rec.duplicates} == {
        "KRJ-0001",
        "KRJ-0002",
        "KRJ-0003",
        "KRJ-0004",
    }
    assert any("counted once" in str(x.message) for x in recwarn.list)
    html = str(render("brief/recent_notes.html.j2", "id", recent=rec, last_idm=2024))
    assert "4 perjanjian dalam berkas perjanjian sudah tercatat" in html
    # another signing date is another agreement
    later = reg.assign(tanggal_tanda_tangan=pd.Timestamp("2025-09-01"))
    rec2 = recent_agreements(later.reset_index(drop=True), "64.02", 2024, extra)
    assert rec2.n_agreements == 16 and rec2.duplicates == ()
    html2 = str(render("brief/recent_notes.html.j2", "id", recent=rec2, last_idm=2024))
    assert "sudah tercatat di registri" not in html2
