import pytest

from analysis.errors import UnknownDistrictError
from analysis.inputs.frame import (
    districts,
    districts_of_province,
    load_frame,
    resolve_district,
    villages_of,
)


def test_frame_counts_match_the_2025_decree():
    f = load_frame()
    assert len(f) == 83_762
    assert (f["jenis"] == "desa").sum() == 75_252
    d = districts()
    assert len(d) == 514 and d["kode_prov"].nunique() == 38
    assert f["kode_kec"].nunique() <= 7_285


def test_east_kalimantan():
    ds = districts_of_province("64")
    assert len(ds) == 10
    assert sum(d.n_villages for d in ds) == 1_038
    assert sum(d.n_desa for d in ds) == 841
    kota = {d.name for d in ds if not d.has_desa}
    assert kota == {"Kota Balikpapan", "Kota Samarinda", "Kota Bontang"}
    kukar = resolve_district("64.02")
    assert (kukar.n_villages, kukar.n_desa) == (237, 193)
    assert villages_of(kukar)["kode_kec"].nunique() == 18


@pytest.mark.parametrize(
    "q",
    [
        "64.02",
        "6402",
        "Kutai Kartanegara",
        "Kab. Kutai Kartanegara",
        "kutai kartanegara",
        "Kabupaten Kutai Kartanegara",
        " KUTAI KARTANEGARA ",
    ],
)
def test_district_spellings(q):
    assert resolve_district(q).code == "64.02"


def test_unknown_district_suggests_closest():
    with pytest.raises(UnknownDistrictError, match="Closest: Kabupaten Kutai Kartanegara"):
        resolve_district("Kutai Kartanegra")
    with pytest.raises(UnknownDistrictError, match="not in the 2025 Kemendagri frame"):
        resolve_district("64.99")
    with pytest.raises(UnknownDistrictError, match="Kabupaten Bogor.*Kota Bogor"):
        resolve_district("Bogor")
    assert resolve_district("Kota Bogor").code == "32.71"
