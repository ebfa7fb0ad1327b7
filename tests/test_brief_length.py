"""The brief is short enough for an official to read: before its technical appendix it holds at
most about 600 words, and its decision page at most about 350, in every district of the example
province, in Bahasa Indonesia and in English (issue 16).

How words are counted (:func:`words_of`), on the page as a reader sees it with the appendix
collapsed:

- a word is a run of characters without white space that holds at least one letter or digit
  (``0,011`` and ``s.d.`` are words; a lone ``-``, ``|`` or ``:`` is not);
- text is taken from ``<main>``, and only before ``<details class="appendix">``;
- not counted: style sheets and scripts, figures (``<svg>`` labels), identifiers in ``<code>``,
  the synthetic-data banner (``.banner``: it says the numbers are simulated, not what they
  mean), and the navigation and footer outside ``<main>``.

The issue's "about" is read strictly: 600 and 350 words are the limits. Measured on the example
province before the layout change: Kutai Kartanegara 608 and 339 words (id), 657 and 385 (en),
Kutai Barat 506 and 370 (en).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from analysis.cli import main

#: Limits from the issue (words): before the technical appendix, and on the decision page.
BEFORE_APPENDIX, DECISION_PAGE = 600, 350

WORD = re.compile(r"\S*[^\W_]\S*")


def words_of(html: str) -> tuple[int, int]:
    """(words before the technical appendix, words of the decision page) of a brief."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["style", "script", "svg", "code"]):
        tag.decompose()
    for tag in soup.select(".banner"):
        tag.decompose()
    main_ = soup.find("main")
    appendix = main_.find("details", class_="appendix")
    if appendix is not None:
        appendix.decompose()
    decision = main_.find("section", class_="decision")
    count = lambda el: len(WORD.findall(el.get_text(" "))) if el is not None else 0  # noqa: E731
    return count(main_), count(decision)


def test_word_rule():
    html = (
        '<div class="banner">CONTOH DATA SINTETIS: bukan temuan</div><main><h1>Judul</h1>'
        '<section class="decision"><p>Naik 0,011 (0,003 s.d. 0,020) - ya</p>'
        "<style>p{}</style><svg><text>99</text></svg></section>"
        '<p>lagi <code>kode_desa</code></p><details class="appendix"><p>satu dua</p></details>'
        "</main><footer>kaki</footer>"
    )
    assert words_of(html) == (8, 6)  # "-", the banner, style, svg, code, appendix, footer not


@pytest.fixture(scope="module", params=["id", "en"])
def province(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("province") / request.param
    assert main(["run", "--province", "64", "--lang", request.param, "--out", str(out)]) == 0
    return out


def test_every_brief_of_the_province_is_short(province):
    briefs = sorted(province.glob("districts/*/brief.html"))
    assert len(briefs) >= 10
    measured = {p.parent.name: words_of(p.read_text(encoding="utf-8")) for p in briefs}
    print({"lang": province.name, **measured})
    too_long = {
        code: (before, decision)
        for code, (before, decision) in measured.items()
        if before > BEFORE_APPENDIX or decision > DECISION_PAGE
    }
    assert not too_long, too_long
    # the decision page was found and counted in every brief
    assert all(decision > 0 for _, decision in measured.values())
