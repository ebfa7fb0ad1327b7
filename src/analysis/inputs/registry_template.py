"""The partnership registry template a district office fills in (Bahasa Indonesia).

``data/templates/registry_template.xlsx`` has an instructions sheet (``petunjuk``), the sheet to
fill (``registry``: the contract's columns, drop-down lists for every category, dates and codes
formatted so Excel keeps them) and ``registry_template.csv`` the same header. Regenerate with
``python -m analysis.inputs.registry_template``.
"""

from __future__ import annotations

from pathlib import Path

from analysis import paths
from analysis.design import EXPOSURE_CUTOFF_MONTH
from analysis.schema import PARTNERSHIPS

#: Rows prepared with drop-down lists and formats.
TEMPLATE_ROWS = 1000
_MONTHS = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]

#: What each column asks for, in Bahasa Indonesia (the template's own words).
PETUNJUK_KOLOM = {
    "id_kerjasama": "Nomor unik baris ini (misalnya KSD-2025-001-a). Satu MoU dengan tiga desa = tiga baris.",
    "kode_desa": "Kode desa Kemendagri, 10 angka (64.02.02.2010 atau 6402022010). Kosongkan untuk desa persiapan yang belum punya kode.",
    "sistem_kode": "kemendagri (biasanya) atau bps bila kode berasal dari Podes/BPS.",
    "nama_desa": "Nama desa seperti dalam dokumen; dicocokkan dengan daftar resmi.",
    "mitra": "Nama mitra (PT ..., BAZNAS ..., Yayasan ..., Universitas ...).",
    "jenis_mitra": "Jenis mitra: pilih dari daftar.",
    "bidang": "Bidang kerja sama (Permendagri 96/2017): pilih dari daftar; boleh kosong.",
    "sektor": "Sektor kegiatan: pilih dari daftar.",
    "instrumen": "mou (nota kesepahaman) atau perjanjian_bersama; boleh kosong.",
    "tanggal_tanda_tangan": "Tanggal penandatanganan (TTTT-BB-HH, misalnya 2025-08-26); tidak boleh di masa depan.",
    "tanggal_mulai": "Tanggal mulai kegiatan; bila kosong dipakai tanggal tanda tangan.",
    "tanggal_selesai": "Tanggal berakhir; tidak boleh sebelum tanggal mulai; boleh kosong.",
    "nilai_rupiah": "Nilai kerja sama dalam rupiah, angka saja (150000000); boleh kosong.",
    "status": "Keadaan kerja sama: pilih dari daftar (dibatalkan = tidak dihitung).",
    "sumber_dokumen": "Asal data: nomor dokumen MoU, SK, atau berita (judul dan tanggal).",
}


def instructions() -> list[str]:
    """The lines of the instructions sheet."""
    cutoff = _MONTHS[EXPOSURE_CUTOFF_MONTH - 1]
    lines = [
        "PETUNJUK PENGISIAN REGISTER KERJA SAMA DESA DENGAN PIHAK KETIGA",
        "",
        "Isi lembar 'registry': satu baris untuk setiap desa dalam setiap perjanjian.",
        "Jangan mengubah judul kolom di baris 1. Kolom berwarna daftar pilihan: klik sel, pilih dari panah.",
        "Simpan sebagai .xlsx, atau sebagai 'CSV UTF-8' bila perlu CSV.",
        "",
        "KAPAN KERJA SAMA MULAI DIHITUNG (aturan Juli)",
        "IDM diukur pada pertengahan tahun. Kerja sama dihitung mulai IDM tahun mulainya;",
        f"bila dimulai pada 1 {cutoff} atau sesudahnya, dihitung mulai IDM tahun berikutnya.",
        f"Contoh: mulai 15 Maret 2023 -> IDM 2023; mulai 1 {cutoff} 2023 -> IDM 2024.",
        "Kerja sama yang mulai sesudah tahun IDM terakhir tercatat 'terlalu baru' dalam laporan mutu data.",
        "",
        "YANG DILAPORKAN UNTUK SETIAP BARIS (laporan mutu data)",
        "dipakai (used), terlalu baru (too_recent), tidak cocok (unmatched: tanpa kode atau tanpa data IDM),",
        "dibatalkan (cancelled), direncanakan (planned: belum ditandatangani).",
        "",
        "KOLOM",
    ]
    for c in PARTNERSHIPS.columns:
        need = "wajib" if c.required else "boleh kosong"
        allowed = f" Pilihan: {', '.join(c.allowed)}." if c.allowed else ""
        lines.append(f"{c.name} ({need}): {PETUNJUK_KOLOM[c.name]}{allowed}")
    return lines


def write_registry_template(folder: Path = paths.TEMPLATES_DIR) -> tuple[Path, Path]:
    """Write ``registry_template.xlsx`` and ``registry_template.csv`` into ``folder``."""
    import openpyxl  # lazy: openpyxl takes 0.25 s to import; only this writer needs it here
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    info = wb.active
    info.title = "petunjuk"
    for i, line in enumerate(instructions(), start=1):
        cell = info.cell(i, 1, line)
        if line.isupper():
            cell.font = Font(bold=True)
    info.column_dimensions["A"].width = 120
    ws = wb.create_sheet("registry")
    fill = PatternFill("solid", fgColor="FFF2CC")
    for j, col in enumerate(PARTNERSHIPS.columns, start=1):
        head = ws.cell(1, j, col.name)
        head.font = Font(bold=True)
        head.alignment = Alignment(wrap_text=True)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(14, len(col.name) + 4)
        rng = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
        if col.allowed:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(col.allowed) + '"',
                allow_blank=not col.required,
                showErrorMessage=True,
                errorTitle="Pilihan tidak dikenal",
                error=f"Pilih salah satu: {', '.join(col.allowed)}",
                promptTitle=col.name,
                prompt=PETUNJUK_KOLOM[col.name][:250],
                showInputMessage=True,
            )
            dv.add(rng)
            ws.add_data_validation(dv)
            head.fill = fill
        elif col.dtype == "date":
            dv = DataValidation(
                type="date",
                operator="greaterThan",
                formula1="36526",  # 2000-01-01
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="Bukan tanggal",
                error="Tulis tanggal, misalnya 2025-08-26",
            )
            dv.add(rng)
            ws.add_data_validation(dv)
        for r in range(2, TEMPLATE_ROWS + 2):
            if col.dtype == "date":
                ws.cell(r, j).number_format = "yyyy-mm-dd"
            elif col.dtype in ("code", "string", "category"):
                ws.cell(r, j).number_format = "@"  # text: codes keep their dots and zeros
    ws.freeze_panes = "A2"
    wb.active = 1
    xlsx = folder / "registry_template.xlsx"
    wb.save(xlsx)
    csv_path = folder / "registry_template.csv"
    csv_path.write_text(",".join(c.name for c in PARTNERSHIPS.columns) + "\n", encoding="utf-8")
    return xlsx, csv_path


if __name__ == "__main__":
    for p in write_registry_template():
        print(f"Wrote {p}")
