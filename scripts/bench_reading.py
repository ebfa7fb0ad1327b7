"""Benchmark: reading a registry padded with formatted empty rows stays bounded in memory.

A CSV of one agreement followed by 1,000,000 empty rows (what a sheet formatted to its last row
exports) and a workbook of one agreement with 200,000 formatted empty rows (with the
``<dimension>`` element Excel writes), each read in a fresh
process: wall time and peak RSS. Run with ``python scripts/bench_reading.py``; the figures go
into the README.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

READ = """
import resource, sys, time
from analysis.tables import ReadFacts, read_raw
t0 = time.perf_counter()
facts = ReadFacts()
df = read_raw(sys.argv[1], facts=facts)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{len(df)} row(s) kept, {facts.empty_rows_dropped:,} empty rows dropped, {dt:.1f} s, peak RSS {rss:.0f} MB")
"""

HEADER = [
    "id_kerjasama", "kode_desa", "sistem_kode", "nama_desa", "mitra", "jenis_mitra", "bidang",
    "sektor", "instrumen", "tanggal_tanda_tangan", "tanggal_mulai", "tanggal_selesai",
    "nilai_rupiah", "status", "sumber_dokumen",
]  # fmt: skip
ROW = [
    "K1", "6402022010", "kemendagri", "Lung Anai", "PT Contoh", "perusahaan", "pemberdayaan",
    "ekonomi", "mou", "2023-08-26", "2023-09-01", "2026-08-31", "150000000", "aktif", "bench",
]  # fmt: skip


def _add_dimension(path: Path, ref: str) -> None:
    """Excel writes <dimension ref=...> into every sheet; openpyxl's write-only mode does not
    (and a reader then scans the whole sheet to size it), so add it as Excel would."""
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"<sheetViews>", f'<dimension ref="{ref}"/><sheetViews>'.encode(), 1
                )
            dst.writestr(item, data)
    tmp.replace(path)


def main() -> None:
    import openpyxl
    from openpyxl.styles import PatternFill

    with tempfile.TemporaryDirectory() as d:
        csv = Path(d) / "registry.csv"
        with open(csv, "w") as fh:
            fh.write(",".join(HEADER) + "\n" + ",".join(ROW) + "\n")
            fh.write(("," * 14 + "\n") * 1_000_000)
        xlsx = Path(d) / "registry.xlsx"
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("registry")
        ws.append(HEADER)
        ws.append(ROW)
        fill = PatternFill("solid", fgColor="FFF2CC")
        from openpyxl.cell import WriteOnlyCell

        for _ in range(200_000):
            cells = []
            for _ in HEADER:
                c = WriteOnlyCell(ws, value=None)
                c.fill = fill
                cells.append(c)
            ws.append(cells)
        wb.save(xlsx)
        _add_dimension(xlsx, f"A1:O{200_002}")
        for p in (csv, xlsx):
            size = p.stat().st_size / 2**20
            res = subprocess.run(
                [sys.executable, "-c", READ, str(p)], capture_output=True, text=True, check=True
            )
            print(f"{p.name} ({size:.0f} MiB): {res.stdout.strip()}")


if __name__ == "__main__":
    main()
