"""Maps: the district's desa by group (counts in the alt text), legible labels, the index map."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest

from analysis import district as steps
from analysis import paths
from analysis.methods.spillover import desa_groups, haversine_km
from analysis.report import maps
from analysis.report.figures import SMALLEST, WIDTH

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def kukar():
    return steps.prepare(paths.EXAMPLE_DIR, "64.02", agreements="data/real/kukar_mou_2025.csv")


def test_groups_follow_the_one_count_of_desa(kukar):
    pts = maps.district_points(kukar)
    c, n = pts["kelompok"].value_counts(), kukar.counts
    assert c.get("evaluated", 0) == n.n_desa_evaluated
    assert c.get("too_recent", 0) == n.n_desa_too_recent_with_data
    assert c.get("comparison", 0) == n.n_desa_comparison
    assert len(pts) == n.n_desa_frame  # every desa of the frame is on the map or listed
    # the 2025 MoU desa (data/real/kukar_mou_2025.csv) are too recent, not comparison desa
    named = set(pts.loc[pts["kelompok"] == "too_recent", "nama_desa"])
    assert {"Lung Anai", "Loa Kulu Kota", "Jembayan Tengah"} <= named


def test_groups_of_made_up_desa():
    import pandas as pd

    reg = pd.DataFrame(
        {
            "kode_desa": ["a", "b", "c", "e"],
            "status": ["aktif", "aktif", "aktif", "direncanakan"],
            "tanggal_mulai": pd.to_datetime(
                ["2020-02-01", "2025-08-26", "2018-01-01", "2020-01-01"]
            ),
        }
    )
    g = desa_groups(list("abcdef"), {"a", "b", "c", "d", "e"}, reg, 2018, 2024)
    assert g.to_dict() == {
        "a": "evaluated",
        "b": "too_recent",
        "c": "from_start",
        "d": "comparison",
        "e": "comparison",  # a planned agreement does not count
        "f": "no_data",
    }


def test_haversine_against_a_known_distance():
    # Jakarta (-6.2088, 106.8456) to Surabaya (-7.2575, 112.7521): 663 km great-circle
    # (rounded, as published by distance calculators on the same sphere); 1 km tolerance
    assert abs(float(haversine_km(-6.2088, 106.8456, -7.2575, 112.7521)) - 663.0) < 1.5
    assert float(haversine_km(0, 0, 0, 1)) == pytest.approx(111.195, abs=0.01)


def test_projection_keeps_kilometres_square():
    x, y, lat0, _ = maps.project(np.array([-1.0, 1.0, 0.0]), np.array([116.0, 116.0, 117.0]))
    # one degree of longitude at the equator is as long as one of latitude
    assert abs((x[2] - x[0]) - (y[1] - y[0]) / 2) < 0.2 and lat0 == 0.0


def test_district_map_svg_has_counts_in_alt_text_and_legible_text(kukar):
    html = str(maps.district_map_html(kukar, "id"))
    n = kukar.counts
    label = re.search(r'aria-label="([^"]*)"', html).group(1)
    for k in (n.n_desa_evaluated, n.n_desa_too_recent_with_data, n.n_desa_comparison):
        assert f" {k} " in f" {label} "
    sizes = [float(s) for s in re.findall(r"font-size:\s*([0-9.]+)px", html)]
    assert sizes and min(sizes) >= SMALLEST  # points in a WIDTH-inch figure: >= 9 CSS px at 390
    assert "Lung Anai" in html and "km<" in html  # too-recent desa named, a scale bar
    w = float(re.search(r'<svg[^>]*width="([0-9.]+)pt"', html).group(1))
    assert w == pytest.approx(WIDTH * 72)


def test_index_map_places_districts_and_counts_grades():
    districts = {
        "64.02": {"status": "ok", "applicable": True, "evidence": "suggestive"},
        "64.01": {"status": "ok", "applicable": True, "evidence": "insufficient"},
        "64.72": {"status": "ok", "applicable": False},  # Samarinda: only kelurahan, no point
    }
    rows = [
        {"code": "64.02", "name": "Kutai Kartanegara", "estimate": "+0,012"},
        {"code": "64.01", "name": "Paser", "estimate": "-"},
        {"code": "64.72", "name": "Samarinda", "estimate": "-"},
    ]
    html = str(maps.index_map_html(districts, rows, "en"))
    label = re.search(r'aria-label="([^"]*)"', html).group(1)
    assert "2 districts" in label and "suggestive 1" in label and "insufficient 1" in label
    assert "1 districts without desa points" in label
    assert "Kutai Kartanegara +0,012" in html


def test_step_times_are_recorded_only_when_a_benchmark_asks(kukar, tmp_path, monkeypatch):
    """``ANALYSIS_STEP_TIMES`` (set by ``bench_report.py --national``) gets one line per map,
    and nothing is written without it: issue 19's cost is measured inside the timed run."""
    from analysis import timing

    monkeypatch.delenv(timing.ENV, raising=False)
    plain = maps.district_map_html(kukar, "id")
    target = tmp_path / "times.jsonl"
    monkeypatch.setenv(timing.ENV, str(target))
    assert maps.district_map_html(kukar, "id") == plain  # the page does not change
    assert maps.district_map_html(kukar, "en") is not None
    lines = timing.read_times(target)
    assert [(r["step"], r["district"]) for r in lines] == [("map", "64.02")] * 2
    assert all(r["seconds"] > 0 and r["cpu_seconds"] >= 0 for r in lines)
    monkeypatch.delenv(timing.ENV)
    maps.district_map_html(kukar, "id")
    assert len(timing.read_times(target)) == 2
    assert timing.read_times(tmp_path / "absent.jsonl") == []
