"""The run's index: it names the province and shows each district's estimate and range beside
its grade, with a legend of the grades; every name from the data is escaped."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from analysis.methods.results import Estimate, NotEstimable, to_frame
from analysis.report.pages import GRADE_LEGEND, province_names, write_index
from analysis.report.words import words


def _district(out, code, result, name):
    d = out / "districts" / code
    d.mkdir(parents=True)
    to_frame([result]).assign(district=code).to_csv(d / "results.csv", index=False)
    (d / "summary.json").write_text(json.dumps({"district": code, "name": name}))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_index_names_the_province_and_shows_estimates_beside_grades(tmp_path, lang):
    w = words(lang)
    est = Estimate(
        outcome="nilai_idm",
        method="cs_did",
        estimand="ATT",
        estimate=0.0123,
        se=0.004,
        ci_low=0.0045,
        ci_high=0.0201,
        n_treated=30,
        n_control=150,
    )
    none = NotEstimable(
        outcome="nilai_idm", method="cs_did", estimand="ATT", reason="too_few_treated", detail=""
    )
    _district(tmp_path, "64.02", est, "Kab <b>Kutai</b>")
    _district(tmp_path, "64.11", none, "Kab Mahakam Ulu")
    manifest = {
        "districts": {
            "64.02": {
                "name": "Kab <b>Kutai</b>",
                "status": "ok",
                "brief": "districts/64.02/brief.html",
                "evidence": "suggestive",
                "applicable": True,
            },  # noqa: E501
            "64.11": {
                "name": "Kab Mahakam Ulu",
                "status": "ok",
                "brief": "districts/64.11/brief.html",
                "evidence": "not_estimable",
                "applicable": True,
            },  # noqa: E501
            "64.09": {"name": "Kab <i>x</i>", "status": "failed", "error": "<script>boom</script>"},  # noqa: E501
        },
        "synthesis": {"status": "ok"},
    }
    html = write_index(tmp_path, manifest, lang).read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))
    assert w.t("index.province", name="Kalimantan Timur") in text
    row = re.search(r"<tr><td[^>]*>64\.02</td>.*?</tr>", html, flags=re.S).group(0)
    cells = [
        unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    ]  # noqa: E501
    assert cells[3:] == [
        w.num(0.0123, 3, signed=True),
        w.t("synth.range", lo=w.num(0.0045, 3), hi=w.num(0.0201, 3)),
        w.t("grade_short.suggestive"),
    ]
    row = re.search(r"<tr><td[^>]*>64\.11</td>.*?</tr>", html, flags=re.S).group(0)
    assert (
        re.search(r'<td class="num"[^>]*>-</td>', row) and w.t("grade_short.not_estimable") in row
    )
    for _, key in GRADE_LEGEND:
        assert w.t(key) in text
    assert "<b>Kutai" not in html and "&lt;b&gt;Kutai" in html
    assert "<script>" not in html and "<i>x" not in html


def test_province_names_of_several_provinces():
    assert province_names(["64.02", "63.01", "64.11"]) == ["Kalimantan Selatan", "Kalimantan Timur"]
