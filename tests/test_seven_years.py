"""A seven-year panel assembled from workbooks of mixed layouts plus API records runs the province.

The values are the synthetic example's (2018-2024), written as an office would hold them: 2018
and 2019 as the Ministry's per-village JSON records, 2020 as a provincial rekomendasi workbook,
2021 and 2022 in the year-suffixed layout, 2023 and 2024 in the official workbooks.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
from conftest import write_api_records, write_layout_idm, write_official_idm

from analysis import paths
from analysis.ingest import ingest
from analysis.inputs.validate import validate_folder


def _undotted(w: pd.DataFrame) -> pd.DataFrame:
    return w.assign(kode_desa=w["kode_desa"].str.replace(".", "", regex=False)).reset_index(
        drop=True
    )


def test_seven_years_of_mixed_layouts_and_api_records_run_the_province_report(tmp_path):
    ex = paths.EXAMPLE_DIR
    w = pd.read_parquet(ex / "welfare.parquet")
    raw = tmp_path / "raw"
    raw.mkdir()
    api = tmp_path / "api"
    for y in (2018, 2019):
        write_api_records(w[w.tahun == y], y, api)
    files = [
        write_layout_idm(
            _undotted(w[w.tahun == 2020]),
            "IDM rekomendasi (provinsi)",
            2020,
            raw / "rekomendasi_kaltim.xlsx",
        ),
        write_layout_idm(
            _undotted(w[w.tahun == 2021]),
            "IDM 2015-2022 (year-suffixed scores)",
            2021,
            raw / "idm2021.xlsx",
        ),
        write_layout_idm(
            _undotted(w[w.tahun == 2022]),
            "IDM 2015-2022 (year-suffixed scores)",
            2022,
            raw / "idm2022.xlsx",
        ),
        write_official_idm(_undotted(w[w.tahun == 2023]), 2023, raw / "idm2023.xlsx"),
        write_official_idm(_undotted(w[w.tahun == 2024]), 2024, raw / "idm2024.xlsx"),
    ]
    reg = pd.read_parquet(ex / "partnerships.parquet")
    for c in ("tanggal_tanda_tangan", "tanggal_mulai", "tanggal_selesai"):
        reg[c] = reg[c].dt.strftime("%Y-%m-%d")
    reg.to_csv(raw / "registry.csv", index=False)
    v = pd.read_parquet(ex / "villages.parquet")
    cov = ["kode_desa", "penduduk", "luas_km2", "jarak_kecamatan_km", "jarak_kabupaten_km"]
    cov += ["topografi", "tambang_dekat", "perkebunan_dekat", "dana_desa_juta"]
    v[cov].to_csv(raw / "covariates.csv", index=False)

    data = tmp_path / "kaltim"
    rep = ingest(
        idm=files,
        api=[api],
        partnerships=raw / "registry.csv",
        villages=raw / "covariates.csv",
        out=data,
    )
    validate_folder(data, purpose="run")
    got = pd.read_parquet(data / "welfare.parquet").set_index(["kode_desa", "tahun"]).sort_index()
    want = w.set_index(["kode_desa", "tahun"]).sort_index()
    assert got.index.equals(want.index)
    for c in ("iks", "ike", "ikl", "nilai_idm"):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), atol=0)
    layouts = {e.get("layout") for e in rep.inputs}
    assert {"IDM rekomendasi (provinsi)", "IDM 2015-2022 (year-suffixed scores)"} <= layouts
    assert "IDM API records (open/api/desa/rumusan)" in layouts
    q = json.loads((data / "data_quality.json").read_text())
    assert q["registry_rows"]["counts"]["used"] > 0

    out = tmp_path / "briefs"
    res = subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--province", "64", "--data", str(data)]
        + ["--out", str(out), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(d["status"] == "ok" for d in manifest["districts"].values())
    assert (out / "index.html").exists()
