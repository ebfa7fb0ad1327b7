"""Benchmarks of reading input: padded registries, and the check of a national data folder.

A CSV of one agreement followed by 1,000,000 empty rows (what a sheet formatted to its last row
exports) and a workbook of one agreement with 200,000 formatted empty rows (with the
``<dimension>`` element Excel writes), each read in a fresh
process: wall time and peak RSS. Then the national example folder (every province, seed 1) is
checked by ``validate_folder`` in a fresh process: the frame lookup it builds once, the first
check, and the same check asked again with the folder unchanged (a national run asks three
times). Run with ``python scripts/bench_reading.py`` (``--only folder-check`` for the second
part); the figures go into the README.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

READ = """
import resource, sys, time
from analysis.inputs.reading import ReadFacts, read_raw
t0 = time.perf_counter()
facts = ReadFacts()
df = read_raw(sys.argv[1], facts=facts)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{len(df)} row(s) kept, {facts.empty_rows_dropped:,} empty rows dropped, {dt:.1f} s, peak RSS {rss:.0f} MB")
"""

CHECK = """
import sys, time
from analysis.inputs.validate import _frame_lookup, validate_folder
t0 = time.perf_counter()
_frame_lookup()
t1 = time.perf_counter()
outcomes = validate_folder(sys.argv[1], purpose="run")
t2 = time.perf_counter()
validate_folder(sys.argv[1], purpose="run")
t3 = time.perf_counter()
rows = " / ".join(f"{len(oc.table):,}" for oc in outcomes.values())
print(f"{rows} rows ({', '.join(outcomes)}): frame lookup {t1 - t0:.2f} s, "
      f"first check {t2 - t1:.2f} s, asked again unchanged {t3 - t2:.3f} s")
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


def folder_check() -> None:
    """The national example folder checked once, then asked again unchanged."""
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "nation"
        subprocess.run(
            [sys.executable, "-m", "analysis", "example-data", "--province", "all"]
            + ["--out", str(folder), "--seed", "1"],
            check=True,
            capture_output=True,
        )
        res = subprocess.run(
            [sys.executable, "-c", CHECK, str(folder)], capture_output=True, text=True, check=True
        )
        print(f"national folder check: {res.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=("padded", "folder-check"), help="run one of the two benchmarks"
    )
    args = parser.parse_args()
    if args.only != "folder-check":
        padded()
    if args.only != "padded":
        folder_check()


def padded() -> None:
    """Registries padded with formatted empty rows, read in fresh processes."""
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
