"""Shared fixtures: the shared real-data folder (optional), workbook writers in official layouts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import paths
from analysis.frame import load_frame
from analysis.schema import PARTNERSHIPS


@pytest.fixture(scope="session")
def shared_idm() -> pd.DataFrame:
    """Real IDM values for East Kalimantan 2023-2024 (skips when ../shared is absent)."""
    if not paths.SHARED_IDM_CSV.exists():
        pytest.skip(f"real data not available at {paths.SHARED_IDM_CSV}")
    return pd.read_csv(
        paths.SHARED_IDM_CSV, dtype={"kode_desa": str, "kode_kec": str, "kode_kab": str}
    )


def write_official_idm(
    df: pd.DataFrame, year: int, path: Path, update_years: pd.Series | None = None
) -> Path:
    """Write tidy IDM rows (kode_desa undotted, names, iks, ike, ikl, nilai_idm, status_idm) in the
    official workbook layout of ``year`` (2023: sheet 'Sheet1'; 2024: sheet 'IDM 2024'),
    with KODE_DESA stored as a number as the ministry's files do."""
    f = load_frame().set_index("kode_desa")
    dotted = df["kode_desa"].str.replace(
        r"^(\d{2})(\d{2})(\d{2})(\d{4})$", r"\1.\2.\3.\4", regex=True
    )
    kab = f.loc[dotted, "nama_kabupaten"].str.upper().to_numpy()
    kec = f.loc[dotted, "nama_kecamatan"].str.upper().to_numpy()
    prov = f.loc[dotted, "nama_provinsi"].str.upper().to_numpy()
    code = df["kode_desa"].astype("int64").to_numpy()
    y = year
    if year == 2024:
        out = pd.DataFrame(
            {
                "KODE_PROV": code // 10**8,
                "NAMA_PROVINSI": prov,
                "KODE_KAB": code // 10**6,
                "NAMA_KABUPATEN": kab,
                "KODE_KEC": code // 10**4,
                "NAMA_KECAMATAN": kec,
                "KODE_DESA": code,
                "NAMA_DESA": df["nama_desa"].to_numpy(),
                f"IKS_{y}": df["iks"].to_numpy(dtype=object),
                f"IKE_{y}": df["ike"].to_numpy(),
                f"IKL_{y}": df["ikl"].to_numpy(),
                f"NILAI_IDM_{y}": df["nilai_idm"].to_numpy(),
                f"STATUS_IDM_{y}": df["status_idm"].to_numpy(),
                "Keterangan": (
                    update_years.map(lambda v: f"Update {v}" if v and v < y else "").to_numpy()
                    if update_years is not None
                    else ""
                ),
                "Unnamed: 14": None,
            }
        )
        sheet = "IDM 2024"
    elif year == 2023:
        out = pd.DataFrame(
            {
                "KODE_PROV": code // 10**8,
                "PROVINSI": prov,
                "KODE_KAB_KOT": code // 10**6,
                "KABUPATEN_KOTA": kab,
                "KODE_KEC": code // 10**4,
                "KECAMATAN": kec,
                "KODE_DESA_DAGRI": code,
                "DESA": df["nama_desa"].to_numpy(),
                f"IKS_{y}": df["iks"].to_numpy(dtype=object),
                f"IKE_{y}": df["ike"].to_numpy(),
                f"IKL_{y}": df["ikl"].to_numpy(),
                f"NILAI_IDM_{y}": df["nilai_idm"].to_numpy(),
                f"STATUS_IDM_{y}": df["status_idm"].to_numpy(),
                "UPDATE": update_years.to_numpy() if update_years is not None else y,
            }
        )
        sheet = "Sheet1"
    else:
        raise ValueError(year)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        out.to_excel(xw, sheet_name=sheet, index=False)
    return path


REGISTRY_HEADER = [c.name for c in PARTNERSHIPS.columns]


def registry_row(**kw) -> dict:
    row = {
        "id_kerjasama": "K1",
        "kode_desa": "6402022010",
        "sistem_kode": "kemendagri",
        "nama_desa": "Lung Anai",
        "mitra": "PT Contoh",
        "jenis_mitra": "perusahaan",
        "bidang": "pemberdayaan",
        "sektor": "ekonomi",
        "instrumen": "mou",
        "tanggal_tanda_tangan": "2023-08-26",
        "tanggal_mulai": "2023-09-01",
        "tanggal_selesai": "2026-08-31",
        "nilai_rupiah": "150000000",
        "status": "aktif",
        "sumber_dokumen": "test",
    }
    row.update(kw)
    return row


def write_registry(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows, columns=REGISTRY_HEADER).to_csv(path, index=False)
    return path
