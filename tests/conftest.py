"""Shared fixtures: the shared real-data folder (optional), workbook writers in official layouts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import paths
from analysis.inputs.frame import load_frame
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


# ---- every documented layout, written from the layouts registry -------------------------


def _identity(df: pd.DataFrame) -> pd.DataFrame:
    f = load_frame().set_index("kode_desa")
    dotted = df["kode_desa"].str.replace(
        r"^(\d{2})(\d{2})(\d{2})(\d{4})$", r"\1.\2.\3.\4", regex=True
    )
    return pd.DataFrame(
        {
            "prov": f.loc[dotted, "nama_provinsi"].str.upper().to_numpy(),
            "kab": f.loc[dotted, "nama_kabupaten"].str.upper().to_numpy(),
            "kec": f.loc[dotted, "nama_kecamatan"].str.upper().to_numpy(),
        }
    )


def write_layout_idm(df: pd.DataFrame, layout_name: str, year: int, path: Path) -> Path:
    """Write tidy IDM rows (kode_desa undotted, nama_desa, iks, ike, ikl, nilai_idm, status_idm)
    in a documented layout of ``src/analysis/data/idm_layouts.toml``: its headers in its order,
    title rows above a header on row 4 with the year in the title, identity cells merged down
    where the layout says so, codes stored as numbers."""
    import openpyxl

    from analysis.inputs.layouts import load_layouts, match_concepts

    lay = next(x for x in load_layouts().layouts if x.name == layout_name)
    headers = [h.replace("{Y}", str(year)) for h in lay.headers]
    concepts = {h: c for c, (h, _) in match_concepts(headers).items()}
    ident = _identity(df)
    code = df["kode_desa"].astype("int64").to_numpy()
    cols = []
    for h in headers:
        c = concepts.get(h)
        u = h.upper()
        if c == "kode_desa":
            cols.append(list(code))
        elif c in ("nama_desa", "iks", "ike", "ikl", "nilai_idm", "status_idm"):
            cols.append(list(df[c]))
        elif c == "keterangan":
            cols.append([""] * len(df))
        elif u == "NO":
            cols.append(list(range(1, len(df) + 1)))
        elif "PROV" in u:
            cols.append(list(code // 10**8) if u.startswith("KODE") else list(ident["prov"]))
        elif "KAB" in u:
            cols.append(list(code // 10**6) if u.startswith("KODE") else list(ident["kab"]))
        elif "KEC" in u:
            cols.append(list(code // 10**4) if u.startswith("KODE") else list(ident["kec"]))
        else:
            cols.append([""] * len(df))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = lay.sheet or "Sheet1"
    top = lay.header_row
    if top > 1:
        ws.cell(1, 1, f"REKOMENDASI STATUS IDM TAHUN {year}")
        ws.cell(2, 1, str(ident["prov"].iloc[0]))
    for j, h in enumerate(headers, start=1):
        ws.cell(top, j, h)
    for i in range(len(df)):
        for j, col in enumerate(cols, start=1):
            v = col[i]
            ws.cell(top + 1 + i, j, None if v == "" else (v.item() if hasattr(v, "item") else v))
    for name in lay.fill_down:  # merge runs of equal identity cells, as the provinces do
        j = headers.index(name) + 1
        start = 0
        vals = cols[j - 1]
        for i in range(1, len(vals) + 1):
            if i == len(vals) or vals[i] != vals[start]:
                if i - start > 1:
                    ws.merge_cells(
                        start_row=top + 1 + start, end_row=top + i, start_column=j, end_column=j
                    )
                start = i
    wb.save(path)
    return path


def api_record(row: pd.Series, year: int) -> dict:
    """The JSON record the Ministry's API returns for one desa-year (shape of
    open/api/desa/rumusan/{kode_desa}/{tahun}): 35 IKS, 12 IKE and 3 IKL indicator rows, each
    block closed by its total row, then IDM and STATUS IDM; IKS 31 copies IKS 30."""

    def item(no: int, name: str, score: int, csr: bool = False) -> dict:
        return {
            "NO": no,
            "INDIKATOR": name,
            "SKOR": score,
            "KETERANGAN": "-",
            "KEGIATAN": "-",
            "NILAI": "0",
            "PUSAT": None,
            "PROV": None,
            "KAB": "DINKES",
            "DESA": "DD",
            "CSR": "CSR" if csr else None,
            "LAINNYA": None,
            "ROW_CELL": 10 + no,
        }

    def total(label: str, v: object) -> dict:
        return {"NO": None, "INDIKATOR": f"{label} {year}", "SKOR": v, "KAB": None, "CSR": None}

    rows = [item(k, f"Skor IKS {k}", (k * 7) % 6, csr=k % 5 == 0) for k in range(1, 36)]
    rows[30]["SKOR"] = rows[29]["SKOR"]  # the known copy: IKS 31 = IKS 30
    rows.append(total("IKS", row["iks"]))
    rows += [item(k, f"Skor IKE {k}", (k * 5) % 6) for k in range(1, 13)]
    rows.append(total("IKE", row["ike"]))
    rows += [item(k, f"Skor IKL {k}", k + 1) for k in range(1, 4)]
    rows.append(total("IKL", row["ikl"]))
    rows.append(total("IDM", row["nilai_idm"]))
    rows.append(total("STATUS IDM", str(row["status_idm"]).title()))
    code = str(row["kode_desa"]).replace(".", "")
    return {
        "status": 200,
        "error": False,
        "mapData": {
            "SUMMARIES": {
                "SKOR_SAAT_INI": row["nilai_idm"],
                "STATUS": row["status_idm"],
                "TAHUN": year,
            },
            "ROW": rows,
            "IDENTITAS": [
                {"id_prov": code[:2], "id_desa": code, "nama_desa": str(row["nama_desa"]).upper()}
            ],
        },
    }


def write_api_records(df: pd.DataFrame, year: int, folder: Path) -> Path:
    """One JSON file per desa-year, in the folder layout KODE/TAHUN.json."""
    import json

    for _, r in df.iterrows():
        code = str(r["kode_desa"]).replace(".", "")
        d = folder / code
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{year}.json").write_text(json.dumps(api_record(r, year)), encoding="utf-8")
    return folder
