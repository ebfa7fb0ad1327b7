"""What the reader gets: notebooks run end to end on the example data; briefs are self-contained,
code-free, escaped, in the right language, and render with their figures in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from html import unescape
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
from PIL import Image

from analysis import paths
from analysis.batch.run import check_parameters
from analysis.cli import main
from analysis.errors import ParameterError

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def run_id(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "id"
    code = main(
        [
            "run",
            "--district",
            "64.02",
            "--district",
            "Mahakam Ulu",
            "--district",
            "Kota Samarinda",
            "--out",
            str(out),
            "--jobs",
            "2",
        ]
    )
    assert code == 0
    return out


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _visible(page: str) -> str:
    """The page without its style sheets (the lab CSS names highlight classes like 'Error')."""
    return re.sub(r"<style.*?</style>", "", page, flags=re.S)


def test_run_writes_briefs_index_manifest_synthesis_and_data_report(run_id):
    for f in ("index.html", "manifest.json", "synthesis.html", "data_report.html"):
        assert (run_id / f).exists(), f
    m = json.loads((run_id / "manifest.json").read_text())
    assert set(m["districts"]) == {"64.02", "64.11", "64.72"} and all(
        v["status"] == "ok" for v in m["districts"].values()
    )
    assert (
        m["synthetic"] is True
        and m["commit"]
        and m["versions"]["pandas"]
        and m["data_hashes"]["welfare.parquet"]
    )
    assert m["parameters"]["data_dir"] == str(paths.EXAMPLE_DIR.resolve())
    assert m["synthesis"]["status"] == "ok", m["synthesis"]
    idx = _html(run_id / "index.html")
    for code in ("64.02", "64.11", "64.72"):
        assert f"districts/{code}/brief.html" in idx
    assert not list(run_id.rglob("*.tmp-*"))


def test_brief_has_no_code_no_traceback_nothing_external(run_id):
    for code in ("64.02", "64.11", "64.72"):
        page = _html(run_id / "districts" / code / "brief.html")
        text = _visible(page)
        for bad in (
            "steps.prepare",
            "import ",
            "brief.show",
            "Traceback",
            "Error",
            "data_dir: str",
            'district = "',
            "vnd.jupyter.stderr",
            "jp-InputArea",
        ):
            assert bad not in text, (code, bad)
        assert not re.findall(r'(?:src|href)=["\']https?://', page), code
        assert "CONTOH DATA SINTETIS" in page and '<html lang="id"' in page


def test_brief_content_by_kind_of_district(run_id):
    kukar = _html(run_id / "districts" / "64.02" / "brief.html")
    assert "Ringkasan" in kukar and 'data-claim="headline.' in kukar and "26 Agustus 2025" in kukar
    assert (
        len(re.findall(r'<figure class="svg"><svg role="img"', kukar)) >= 4
    )  # event study, balance, overlap, transitions
    mahulu = _html(run_id / "districts" / "64.11" / "brief.html")
    assert "TIDAK DAPAT DIPERKIRAKAN" in mahulu and "terlalu sedikit desa bermitra" in mahulu
    kota = _html(run_id / "districts" / "64.72" / "brief.html")
    assert "hanya terdiri dari kelurahan" in kota


def test_figures_are_real_images(run_id):
    """Inline SVG figures: drawn (marks and labels), scalable (a viewBox), no id shared between
    figures of a page, and no style rule that would reach outside the figure."""
    page = _html(run_id / "districts" / "64.02" / "brief.html")
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert len(svgs) >= 4
    ids = []
    for svg in svgs:
        assert re.search(r'viewBox="0 0 [\d.]+ [\d.]+"', svg)
        assert len(re.findall(r"<path\b", svg)) > 5 and len(re.findall(r"<text\b", svg)) > 4
        assert "<style" not in svg and "<script" not in svg
        ids += re.findall(r'\bid="([^"]+)"', svg)
    assert len(ids) == len(set(ids))


@pytest.mark.browser
def test_brief_renders_in_headless_chromium(run_id, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    page = run_id / "districts" / "64.02" / "brief.html"
    dom = subprocess.run(
        [
            CHROMIUM,
            *CHROME_FLAGS,
            f"--user-data-dir={tmp_path / 'u1'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "Ringkasan kebijakan" in dom and dom.count('<svg role="img"') >= 4
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            *CHROME_FLAGS,
            f"--user-data-dir={tmp_path / 'u2'}",
            "--window-size=1000,3000",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    img = Image.open(shot).convert("RGB")
    colors = img.getcolors(maxcolors=1_000_000)
    assert colors is not None and len(colors) > 200  # text, banner and figures, not an empty page
    assert (176, 0, 32) in {c for _, c in colors}  # the red synthetic banner is on screen


def test_english_brief(tmp_path):
    out = tmp_path / "en"
    assert (
        main(["run", "--district", "64.01", "--lang", "en", "--out", str(out), "--jobs", "1"]) == 0
    )
    page = _html(out / "districts" / "64.01" / "brief.html")
    assert "Policy brief" in page and "SYNTHETIC EXAMPLE" in page and '<html lang="en"' in page
    assert "Ringkasan" not in page and "desa bermitra" not in page
    assert "Synthesis across districts" in _html(out / "synthesis.html")


def test_text_from_data_is_escaped(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(paths.EXAMPLE_DIR, data)
    p = pd.read_parquet(data / "partnerships.parquet")
    i = p.index[p["kode_desa"].str.startswith("64.09.")][0]
    p.loc[i, "mitra"] = "<script>alert('x')</script> PT <b>Jahat</b>"
    p.loc[i, "tanggal_mulai"] = pd.Timestamp(
        "2024-11-01"
    )  # too recent: its name is printed in the brief
    p.to_parquet(data / "partnerships.parquet", index=False)
    meta = json.loads((data / "dataset.json").read_text())
    del meta["table_sha256"]  # a deliberate edit, accepted (an edited table is refused otherwise)
    (data / "dataset.json").write_text(json.dumps(meta))
    out = tmp_path / "run"
    assert (
        main(["run", "--district", "64.09", "--data", str(data), "--out", str(out), "--jobs", "1"])
        == 0
    )
    page = _html(out / "districts" / "64.09" / "brief.html")
    assert "&lt;script&gt;alert(" in page and "&lt;/script&gt; PT &lt;b&gt;Jahat&lt;/b&gt;" in page
    assert "<script>alert" not in page


def test_unknown_or_mistyped_parameter_is_an_error(tmp_path, capsys):
    with pytest.raises(ParameterError, match="Did you mean 'outcome'"):
        check_parameters(paths.DISTRICT_NOTEBOOK, {"outcom": "iks"})
    with pytest.raises(ParameterError, match="must be int"):
        check_parameters(paths.DISTRICT_NOTEBOOK, {"last_year": "last"})
    # a yes/no parameter given as text arrives as a bool ("false" would be true as text)
    for text, value in (("false", False), ("True", True), ("0", False), ("tidak", False)):
        got = check_parameters(paths.DISTRICT_NOTEBOOK, {"baseline_outcome": text})
        assert got == {"baseline_outcome": value}
    with pytest.raises(ParameterError, match="must be true or false, got 'maybe'"):
        check_parameters(paths.DISTRICT_NOTEBOOK, {"baseline_outcome": "maybe"})
    code = main(
        [
            "run",
            "--lang",
            "en",
            "--district",
            "64.02",
            "--param",
            "outcom=iks",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert (
        code == 2
        and "Did you mean 'outcome'" in capsys.readouterr().err
        and not (tmp_path / "o").exists()
    )


def test_injected_failure_is_isolated_and_resume_redoes_only_it(tmp_path, capsys):
    nb = nbformat.read(paths.DISTRICT_NOTEBOOK, as_version=4)
    nb.cells.insert(
        5, nbformat.v4.new_code_cell('assert district != "64.03", "injected failure for the test"')
    )
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    out = tmp_path / "run"
    args = [
        "run",
        "--district",
        "64.03",
        "--district",
        "64.09",
        "--district",
        "64.74",
        "--out",
        str(out),
        "--jobs",
        "2",
    ]
    assert main([*args, "--notebook", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "1 dari 3 kabupaten/kota gagal" in err and "injected failure" in err  # --lang id
    m = json.loads((out / "manifest.json").read_text())
    assert (
        m["districts"]["64.03"]["status"] == "failed" and m["districts"]["64.09"]["status"] == "ok"
    )
    assert (out / "failed" / "64.03.error.ipynb").exists() and not (
        out / "districts" / "64.03"
    ).exists()
    assert (
        "injected failure" in (out / "index.html").read_text()
        and "GAGAL" in (out / "index.html").read_text()
    )
    assert not list(out.rglob("*.tmp-*"))
    before = (out / "districts" / "64.09" / "brief.html").stat().st_mtime_ns
    assert (
        main([*args, "--notebook", str(broken), "--resume"]) == 1
    )  # the cause is still there: fails again
    nbformat.write(
        nbformat.read(paths.DISTRICT_NOTEBOOK, as_version=4), broken
    )  # the cause is fixed
    assert main([*args, "--notebook", str(broken), "--resume"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert sorted(m["resumed"]) == ["64.09", "64.74"] and m["districts"]["64.03"]["status"] == "ok"
    assert (out / "districts" / "64.09" / "brief.html").stat().st_mtime_ns == before
    assert not (out / "failed" / "64.03.error.ipynb").exists()


def test_output_folder_of_the_user_is_never_overwritten(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("x")
    assert (
        main(["run", "--lang", "en", "--district", "64.72", "--out", str(tmp_path / "mine")]) == 2
    )
    assert (
        tmp_path / "mine" / "thesis.docx"
    ).read_text() == "x" and "did not write" in capsys.readouterr().err


def test_explore_notebook_runs_top_to_bottom(tmp_path):
    papermill.execute_notebook(
        str(paths.EXPLORE_NOTEBOOK),
        str(tmp_path / "explore.ipynb"),
        cwd=str(paths.NOTEBOOKS_DIR),
        progress_bar=False,
        kernel_name="python3",
    )


@pytest.mark.parametrize("nb", sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_thin_and_committed_clean(nb):
    book = nbformat.read(nb, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for line in params[0].source.splitlines():
        assert re.match(r"^\w+: (str|int|float|bool) = .+  # .+", line), line
    for c in code:
        assert not re.search(r"^\s*(def |class |for |while |try:)", c.source, re.M), c.source
    assert papermill.inspect_notebook(str(nb))  # papermill --help-notebook documents it


# --- one language, true sentences, pages that share and print ------------------------------------


def _pages(run: Path) -> list[Path]:
    return sorted(run.glob("*.html")) + sorted(run.glob("districts/*/brief.html"))


def _text(page: str) -> str:
    """What a reader reads: no style sheets, images, tags, or identifiers (file names, commits) in <code>."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)
    page = re.sub(r'src="data:[^"]*"', " ", page)
    page = re.sub(r"<[^>]+>", " ", page)
    import html as _h

    return re.sub(r"\s+", " ", _h.unescape(page))


def _english_vocabulary() -> set[str]:
    """Words of the English catalog and engine labels that Indonesian never uses."""
    from analysis.methods.results import REASONS
    from analysis.report import METHOD_CODES
    from analysis.report.catalog import load

    def vocab(texts):  # {placeholders} are field names, not words of the language
        return {w for t in texts for w in re.findall(r"[A-Za-z]{4,}", re.sub(r"\{[^}]*\}", "", t))}

    en, idn = load("en"), load("id")
    en_words = vocab(en.translations.gettext(k) for k in en if not en.is_plural(k))
    en_words |= vocab(list(METHOD_CODES) + list(REASONS.values()))
    en_words |= {"nevertreated", "notyettreated", "clustered", "controls", "description"}
    id_words = vocab(idn.translations.gettext(k) for k in idn if not idn.is_plural(k))
    return {w for w in en_words - id_words if w.lower() not in {"analysis"}}


RAW_CODES = re.compile(
    r"\b(perguruan_tinggi|naik_status|nilai_idm|not_estimable|ci_includes_zero|too_few_treated|"
    r"no_overlap|kode_kec|kode_desa|jenis_mitra|nevertreated|notyettreated|lsm|bumn|baznas|"
    r"pemberdayaan|pembinaan_kemasyarakatan|dibatalkan|direncanakan)\b"
)


def test_no_english_and_no_raw_codes_in_the_indonesian_pages(run_id):
    vocab = _english_vocabulary()
    assert {"Naive", "weighting", "matching", "partnered"} <= vocab
    for p in _pages(run_id):
        text = _text(_html(p))
        english = sorted({w for w in re.findall(r"[A-Za-z]{4,}", text) if w in vocab})
        assert not english, (p.relative_to(run_id), english)
        assert not RAW_CODES.findall(text), (p.relative_to(run_id), RAW_CODES.findall(text))
        assert "No description has been provided" not in _html(p)


def test_pages_share_link_back_and_hold_no_machine_path(run_id):
    umask = os.umask(0)
    os.umask(umask)
    for f in run_id.rglob("*"):
        mode = stat.S_IMODE(f.stat().st_mode)
        assert mode == (0o777 if f.is_dir() else 0o666) & ~umask, (f, oct(mode))
    for p in _pages(run_id):
        page = _html(p)
        for path in {str(paths.ROOT), str(paths.EXAMPLE_DIR.resolve()), str(run_id)}:
            assert path not in page, (p, path)
        assert '<meta name="viewport"' in page and page.count('class="banner"') == 1
        if p.name != "index.html":
            assert re.search(r'href="(\.\./\.\./)?index\.html"', page), p
    figures = re.findall(r"<svg[^>]*>", _html(run_id / "districts" / "64.02" / "brief.html"))
    assert len(figures) >= 4
    for svg in figures:
        alt = re.search(r'role="img" aria-label="([^"]*)"', svg)
        assert alt and len(alt.group(1)) > 20, svg


def test_page_sizes(run_id):
    kukar = (run_id / "districts" / "64.02" / "brief.html").stat().st_size
    kota = (run_id / "districts" / "64.72" / "brief.html").stat().st_size
    assert kukar < 250_000 and kota < 30_000, (kukar, kota)


def test_too_recent_sentences_match_the_registry_rows(run_id):
    from analysis.design import COUNTING_STATUSES, agreement_exposure, rows_in_district
    from analysis.inputs.dataset import load_dataset
    from analysis.report import words

    w = words("id")
    page = _text(_html(run_id / "districts" / "64.02" / "brief.html"))
    reg = rows_in_district(load_dataset(paths.EXAMPLE_DIR).partnerships, "64.02")
    reg = reg[reg["status"].isin(COUNTING_STATUSES)]
    late = reg[(agreement_exposure(reg) > 2024).to_numpy()]
    start = pd.to_datetime(late["tanggal_mulai"])
    assert (start.dt.year == 2024).all() and (start.dt.month >= 7).all()  # the July rule at work
    first, last = w.date(start.min()), w.date(start.max())
    assert f"{len(late)} perjanjian di kabupaten ini dimulai antara {first} dan {last}." in page
    assert "dimulai setelah 2024" not in page
    for r in late.itertuples():
        assert re.search(re.escape(r.nama_desa) + r"\s*:", page) and r.mitra in page
    kukar = pd.read_csv(paths.DATA_DIR / "real" / "kukar_mou_2025.csv").dropna(subset=["kode_desa"])
    assert f"{len(kukar)} perjanjian di kabupaten ini ditandatangani pada 26 Agustus 2025." in page
    assert "dihitung mulai 2025" in page and "dihitung mulai 2026" in page
    assert (
        page.count("Desa dan mitranya") == 2
        and page.count("Perjanjian yang belum dapat dinilai") == 1
    )
    assert page.count("IDM terakhir diterbitkan untuk tahun 2024") == 1
    assert "Indeks Desa 2026" in page


def test_naive_caveat_follows_the_page_numbers(run_id):
    """ "Overstates" only when naive - headline exceeds 1.96 x the naive SE (analysis.report.claims)."""
    res = pd.read_csv(run_id / "districts" / "64.02" / "results.csv")
    head = res.loc[(res["method"] == "cs_did") & (res["outcome"] == "nilai_idm")]
    naive = res.loc[(res["method"] == "naive") & (res["outcome"] == "nilai_idm")]
    gap = float(naive["estimate"].iloc[0]) - float(head["estimate"].iloc[0])
    noise = 1.96 * float(naive["se"].iloc[0])
    page = _html(run_id / "districts" / "64.02" / "brief.html")
    # "overstates" needs a result to overstate: an interval excluding zero, no earlier gap
    ev = json.loads((run_id / "districts" / "64.02" / "summary.json").read_text())["evidence"]
    lo, hi = float(head["ci_low"].iloc[0]), float(head["ci_high"].iloc[0])
    gap_before = {"pretrend", "pre_gap_exceeds_estimate"} & set(ev["reasons"])
    result = (lo > 0 or hi < 0) and not gap_before
    assert ('data-claim="caveat.naive_larger"' in page) == (gap > noise and result)
    assert ('data-claim="caveat.naive_smaller"' in page) == (gap < -noise and result)
    assert ('data-claim="caveat.naive_close"' in page) == (abs(gap) <= noise)


def test_data_quality_page_is_tables_not_json(run_id):
    page = _html(run_id / "data_report.html")
    assert "{&#34;" not in page and '{"' not in _text(page)
    tables = len(re.findall(r"<table[\s>]", page))  # reflowing tables carry a class
    assert "Baris dibaca" in page and "Registri kemitraan" in page and tables >= 4


def test_plain_papermill_with_a_numeric_district_code(tmp_path):
    """``papermill ... -p district 32.10`` passes the float 32.1: read as 32.10 (Majalengka)."""
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(paths.DISTRICT_NOTEBOOK),
        str(out),
        parameters={"district": 32.1},
        cwd=str(paths.NOTEBOOKS_DIR),
        progress_bar=False,
        kernel_name="python3",
    )
    html = json.dumps(nbformat.read(out, as_version=4).cells[-1].outputs)
    shown = " ".join(
        "".join(o.get("data", {}).get("text/html", ""))
        for c in nbformat.read(out, as_version=4).cells
        for o in c.get("outputs", [])
    )
    assert "Kabupaten Majalengka" in shown and "(32.10)" in shown
    assert "Tidak ada data indeks untuk desa di Kabupaten Majalengka" in shown
    assert "Majalengka (32.10)" in html


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.browser
def test_printed_brief_summary_on_one_a4_page_banner_on_every_page(run_id, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    from pypdf import PdfReader

    from analysis.report.pdf import html_to_pdf

    pdf = html_to_pdf(run_id / "districts" / "64.02" / "brief.html", tmp_path / "kukar.pdf")
    reader = PdfReader(pdf)
    pages = [p.extract_text() for p in reader.pages]
    w, h = (float(x) for x in reader.pages[0].mediabox[2:])
    assert abs(w - 595.3) < 2 and abs(h - 841.9) < 2  # A4 in points
    assert all("CONTOH DATA SINTETIS" in t for t in pages), [i for i, t in enumerate(pages)]
    one = " ".join(pages[0].split())
    assert "Ringkasan untuk keputusan" in one and "Yang tidak dapat disimpulkan di Kutai" in one
    # the decision page (key message, recommendations, legend of the grades) is page 1
    assert "Rekomendasi dari data ini" in one and "Tingkat bukti, dari kuat ke lemah" in one
    assert "terhadap Indeks Desa 2025, tanpa butir" in one
    assert "Lampiran teknis" not in one
    assert "Perjanjian yang belum dapat dinilai" not in one and "Gambar" not in one
    assert len(pages) <= 12
    assert stat.S_IMODE(pdf.stat().st_mode) & 0o044 == 0o044


#: Measured in a page shown 390 px wide: how far it scrolls sideways, the smallest text of each
#: figure in CSS px (an SVG text's computed font size times its scale on screen), and every
#: element that scrolls inside itself (its content wider than its box: a table in an
#: ``overflow:auto`` wrapper, a long word in a cell), named ``tag.class``. Content cut off on
#: purpose (``overflow: hidden``, as the visually hidden header of a reflowed table) is not
#: counted.
PHONE_PROBE = (
    "const d=f.contentDocument;"
    "const sizes=[...d.querySelectorAll('figure svg, .index-map svg')].map(s=>Math.min(...[..."
    "s.querySelectorAll('text')].map(t=>{const m=t.getScreenCTM();return parseFloat(f."
    "contentWindow.getComputedStyle(t).fontSize)*Math.hypot(m.a,m.b);})).toFixed(2));"
    "const cut=e=>{for(let a=e;a&&a!==d.body;a=a.parentElement){const o=f.contentWindow."
    "getComputedStyle(a).overflowX;if(o==='hidden'||o==='clip')return true;}return false;};"
    "const wide=[...d.body.querySelectorAll('*')].filter(e=>!(e instanceof f.contentWindow."
    "SVGElement)&&e.clientWidth>0&&e.scrollWidth>e.clientWidth+1&&!cut(e))"
    ".map(e=>e.tagName.toLowerCase()"
    "+'.'+(e.className||'').toString().replace(/[^\\w-]+/g,'.')+'='+e.scrollWidth+'/'+e.clientWidth);"
    "document.body.setAttribute('data-probe',d.documentElement.scrollWidth+'x'"
    "+f.contentWindow.innerWidth+'x'+sizes.join(',')+'x'+wide.join(' '));"
)


def _on_a_phone(tmp_path: Path, page: Path) -> tuple[int, int, list[float], list[str]]:
    """(scroll width, window width, smallest text of each figure, elements scrolling inside)
    of ``page`` in a 390 px frame (headless windows are at least 500 px wide)."""
    frame = tmp_path / f"frame-{page.parent.name}-{page.name}"
    frame.write_text(
        f'<html><body><iframe id="f" src="{page.as_uri()}" width="390" height="844"></iframe>'
        "<script>window.addEventListener('load',()=>{const f=document.getElementById('f');"
        + PHONE_PROBE
        + "});</script></body></html>",
        encoding="utf-8",
    )
    dom = _chromium(
        tmp_path,
        "--allow-file-access-from-files",
        "--virtual-time-budget=3000",
        "--dump-dom",
        frame.as_uri(),
    ).stdout
    m = re.search(r'data-probe="(\d+)x(\d+)x([\d.,]*)x([^"]*)"', dom)
    assert m, (page, dom[:300])
    sizes = [float(v) for v in m.group(3).split(",") if v]
    return int(m.group(1)), int(m.group(2)), sizes, unescape(m.group(4)).split()


@pytest.mark.browser
def test_no_horizontal_scroll_and_legible_figures_on_a_phone(run_id, tmp_path):
    """At 390 px no page (briefs, index, synthesis, data page) scrolls sideways, no box in it
    scrolls sideways inside (tables reflow instead), and no text of any figure, the maps
    included, is under 9 CSS px."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    pages = _pages(run_id)
    assert {p.name for p in pages} >= {"index.html", "synthesis.html", "data_report.html"}
    measured = {}
    for p in pages:
        scroll, width, sizes, wide = _on_a_phone(tmp_path, p)
        where = p.relative_to(run_id)
        assert width == 390 and scroll <= width, (where, scroll, width)
        assert not wide, (where, wide)
        assert all(s >= 9 for s in sizes), (where, sizes)
        measured[str(where)] = sizes
    assert len(measured["districts/64.02/brief.html"]) >= 5  # the map and the four figures
    assert measured["index.html"]  # the province map
    print("smallest figure text at 390 px (CSS px):", min(min(v) for v in measured.values() if v))


def _row_pages(html: str, texts: list[str]) -> list[list[int]]:
    """For each table of ``html`` (in page order), the printed page of each of its rows.

    A row is found by the first two words of its first cell, searched from the page of the
    row before it onwards (tables print in the order of the page), in the text of each PDF
    page; both are reduced to letters and digits separated by single spaces.
    """
    from bs4 import BeautifulSoup

    def fold(text: str) -> str:
        return " ".join(re.findall(r"[^\W_]+", text.lower()))

    texts = [fold(t) for t in texts]

    soup = BeautifulSoup(html, "html.parser")
    for t in soup(["style", "svg"]):
        t.decompose()
    found, cursor = [], 0
    for table in soup.find_all("table"):
        pages = []
        for tr in table.find_all("tr"):
            cell = tr.find("td")
            label = " ".join(fold(cell.get_text(" ")).split()[:2]) if cell else ""
            if not label:
                continue
            hit = next((i for i in range(cursor, len(texts)) if label in texts[i]), None)
            assert hit is not None, (label, cursor)
            pages.append(hit)
            cursor = hit
        found.append(pages)
    return found


@pytest.mark.browser
def test_printed_kutai_kartanegara_brief_fits_five_a4_pages(run_id, tmp_path):
    """Printed, the Kutai Kartanegara brief (decision page, too-recent agreements, technical
    appendix with its figures) takes at most 5 A4 pages, and no table leaves a single row alone
    on a page: a table of a few rows prints whole, a longer one breaks with two rows or more
    on each side."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    from pypdf import PdfReader

    from analysis.report.pdf import html_to_pdf

    html = run_id / "districts" / "64.02" / "brief.html"
    reader = PdfReader(html_to_pdf(html, tmp_path / "kukar.pdf"))
    assert len(reader.pages) <= 5
    texts = [" ".join(p.extract_text().split()) for p in reader.pages]
    tables = _row_pages(_html(html), texts)
    assert len(tables) >= 4 and sum(map(len, tables)) >= 30  # the appendix's tables were found
    for pages in tables:
        per_page = [pages.count(i) for i in sorted(set(pages))]
        assert len(pages) < 2 or min(per_page) >= 2, (pages, per_page)
        if len(pages) <= 6:  # table.html.j2 keeps such a table on one page
            assert len(set(pages)) == 1, pages


@pytest.mark.browser
def test_print_opens_the_appendix_and_keeps_rows_whole(tmp_path):
    """Printed, a collapsed ``<details class="appendix">`` is open (its text is in the PDF), on
    A4 with the banner, and a table of many rows breaks between rows, never inside one."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    from pypdf import PdfReader

    from analysis.report import page
    from analysis.report.pdf import html_to_pdf

    rows = "".join(f"<tr><td>baris {i}</td><td>{'kata ' * 30}akhir{i}</td></tr>" for i in range(60))
    body = (
        "<h1>Judul</h1><p>Halaman satu.</p>"
        '<details class="appendix"><summary>Lampiran teknis</summary>'
        f"<p>ISI LAMPIRAN</p><table>{rows}</table></details>"
    )
    html = tmp_path / "p.html"
    html.write_text(page("t", body, "id", synthetic=True), encoding="utf-8")
    reader = PdfReader(html_to_pdf(html, tmp_path / "p.pdf"))
    texts = [" ".join(p.extract_text().split()) for p in reader.pages]
    assert len(texts) >= 2 and "ISI LAMPIRAN" in " ".join(texts)
    assert all("CONTOH DATA SINTETIS" in t for t in texts)
    for i in range(60):  # a row's first and last words on the same page
        assert any(f"baris {i} " in t and f"akhir{i}" in t for t in texts), i


def test_brief_links_its_pdf_when_one_was_made(tmp_path):
    from analysis.report import page
    from analysis.report.pdf import link_pdf

    html = tmp_path / "brief.html"
    html.write_text(page("t", "<p>x</p>", "en", synthetic=False, index_href="i.html"), "utf-8")
    assert 'class="pdf-link"' not in html.read_text(encoding="utf-8")
    assert link_pdf(html, tmp_path / "brief.pdf")
    text = html.read_text(encoding="utf-8")
    assert '<a class="pdf-link" href="brief.pdf">PDF</a>' in text
    assert not link_pdf(html, tmp_path / "brief.pdf")  # linked once


#: The map figure's alt text and its smallest text in CSS px, in a page shown 390 px wide.
MAP_PROBE = (
    "const d=f.contentDocument;"
    "const s=[...d.querySelectorAll('figure svg')].find(s=>/^(Peta|Map) /.test(s.getAttribute"
    "('aria-label')||''));"
    "const px=s?Math.min(...[...s.querySelectorAll('text')].map(t=>{const m=t.getScreenCTM();"
    "return parseFloat(f.contentWindow.getComputedStyle(t).fontSize)*Math.hypot(m.a,m.b);})):0;"
    "const r=s?s.getBoundingClientRect():{width:0};"
    "document.body.setAttribute('data-map',(s?s.getAttribute('aria-label'):'none')+'|'"
    "+px.toFixed(2)+'|'+r.width.toFixed(0));"
)


@pytest.mark.browser
@pytest.mark.parametrize("page", ["districts/64.02/brief.html", "index.html"])
def test_maps_are_present_legible_at_390px_and_their_alt_text_counts(run_id, tmp_path, page):
    """The district brief and the index show a map; at 390 px its smallest text is >= 9 CSS px
    and its alt text gives the counts by group (brief) or by grade (index)."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    target = run_id / page
    frame = tmp_path / "frame-map.html"
    frame.write_text(
        f'<html><body><iframe id="f" src="{target.as_uri()}" width="390" height="844"></iframe>'
        "<script>window.addEventListener('load',()=>{const f=document.getElementById('f');"
        + MAP_PROBE
        + "});</script></body></html>",
        encoding="utf-8",
    )
    dom = _chromium(
        tmp_path,
        "--allow-file-access-from-files",
        "--virtual-time-budget=3000",
        "--dump-dom",
        frame.as_uri(),
    ).stdout
    m = re.search(r'data-map="([^"|]*)\|([\d.]+)\|(\d+)"', dom)
    assert m, dom[:300]
    alt, px, width = unescape(m.group(1)), float(m.group(2)), int(m.group(3))
    assert alt != "none" and px >= 9 and 200 <= width <= 390, (alt, px, width)
    if page == "index.html":
        assert re.search(r"Peta \d+ kabupaten menurut kekuatan bukti: .+ \d", alt), alt
    else:
        # the example's counts for Kutai Kartanegara (Counts: 33 evaluated, 6 too recent, 154)
        assert "33 desa bermitra dalam tahun data" in alt and "154 desa pembanding" in alt, alt
        assert "6 desa yang bermitra terlalu baru" in alt, alt
