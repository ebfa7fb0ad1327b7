"""Faults and attacks: nothing lost, nothing misread (issue 17, part 5).

Symbolic links are never followed to delete, move or write; ``--force`` replaces only its own
kind of folder; temporary folders carry the pid and are cleaned when provably stale.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import registry_row, write_registry

from analysis.batch.run import _claim_folder, _prepare_folder, store_result
from analysis.batch.runstate import Journal
from analysis.cli import main
from analysis.errors import OutputExistsError
from analysis.files import OWNER_MARK, folder_kind, write_dir_atomically, write_mark

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "data" / "example"


def _user_folder(tmp_path: Path) -> Path:
    user = tmp_path / "user"
    (user / "64.02").mkdir(parents=True)
    (user / "64.02" / "notes.txt").write_text("precious")
    return user


def _run_folder_with_linked_districts(tmp_path: Path, user: Path) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    write_mark(out, "run")
    (out / "districts").symlink_to(user, target_is_directory=True)
    return out


def _ok_record(code: str = "64.02") -> dict:
    return {"district": code, "name": "X", "status": "ok", "files": {"brief.html": b"<p>new</p>"}}


def test_a_new_run_never_deletes_through_a_linked_districts_folder(tmp_path):
    user = _user_folder(tmp_path)
    out = _run_folder_with_linked_districts(tmp_path, user)
    _prepare_folder(out, {"lang": "id"}, Journal(out), resume=False)
    assert (user / "64.02" / "notes.txt").read_text() == "precious"
    assert not (out / "districts").is_symlink() and (out / "districts").is_dir()
    store_result(out, _ok_record())
    assert (out / "districts" / "64.02" / "brief.html").read_bytes() == b"<p>new</p>"
    assert sorted(p.name for p in user.rglob("*")) == ["64.02", "notes.txt"]


def test_a_resumed_run_refuses_to_write_through_a_linked_folder(tmp_path):
    user = _user_folder(tmp_path)
    out = _run_folder_with_linked_districts(tmp_path, user)
    with pytest.raises(OutputExistsError, match="symbolic link"):
        _prepare_folder(out, {"lang": "id"}, Journal(out), resume=True)
    with pytest.raises(OutputExistsError, match="symbolic link"):
        store_result(out, _ok_record())
    assert sorted(p.name for p in user.rglob("*")) == ["64.02", "notes.txt"]


def test_a_linked_district_folder_is_replaced_as_an_entry_not_followed(tmp_path):
    user = _user_folder(tmp_path)
    out = tmp_path / "run"
    (out / "districts").mkdir(parents=True)
    write_mark(out, "run")
    (out / "districts" / "64.02").symlink_to(user / "64.02", target_is_directory=True)
    (out / "failed").mkdir()
    (out / "failed" / "64.02.error.ipynb").symlink_to(user / "64.02" / "notes.txt")
    store_result(out, _ok_record())
    assert (user / "64.02" / "notes.txt").read_text() == "precious"
    assert not (out / "districts" / "64.02").is_symlink()
    assert not (out / "failed" / "64.02.error.ipynb").exists()
    assert [p.name for p in (out / "districts").iterdir()] == ["64.02"]  # no debris


def test_a_full_disk_leaves_no_cut_short_brief(tmp_path, monkeypatch):
    out = tmp_path / "run"
    (out / "districts").mkdir(parents=True)

    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError, match="No space"):
        store_result(out, _ok_record())
    assert list((out / "districts").iterdir()) == []


def _ingest_registry(tmp_path: Path, out: Path, *extra: str) -> int:
    reg = write_registry(tmp_path / "reg.csv", [registry_row()])
    return main(["ingest", "--lang", "en", "--partnerships", str(reg), "--out", str(out), *extra])


def test_force_replaces_only_its_own_kind_of_folder(tmp_path, capsys):
    run = tmp_path / "run"
    _claim_folder(run)
    (run / "districts" / "64.02").mkdir(parents=True)
    (run / "districts" / "64.02" / "brief.html").write_text("brief")
    assert _ingest_registry(tmp_path, run, "--force") == 2
    assert "a run folder written by 'run'" in capsys.readouterr().err
    assert (run / "districts" / "64.02" / "brief.html").read_text() == "brief"
    real = tmp_path / "real"
    assert _ingest_registry(tmp_path, real) == 0 and folder_kind(real) == "ingest"
    assert main(["example-data", "--lang", "en", "--out", str(real), "--force"]) == 2
    err = capsys.readouterr().err
    assert "a data folder written by 'ingest'" in err and "own kind" in err
    assert (real / "partnerships.parquet").exists() and not (real / "welfare.parquet").exists()
    with pytest.raises(OutputExistsError, match="not a run folder"):
        _claim_folder(real)
    assert _ingest_registry(tmp_path, real, "--force") == 0  # its own kind: replaced


@pytest.mark.parametrize(
    ("content", "extra", "kind"),
    [
        ({"manifest.json": "{}"}, None, "run"),
        ({"dataset.json": '{"synthetic": true}'}, None, "example-data"),
        ({"dataset.json": '{"synthetic": false}'}, None, "ingest"),
        ({"notes.txt": "x"}, None, "output"),
        ({"notes.txt": "x"}, "symlink", None),
    ],
)
def test_an_old_mark_is_read_from_the_folder_content(tmp_path, content, extra, kind):
    folder = tmp_path / "f"
    folder.mkdir()
    for name, text in content.items():
        (folder / name).write_text(text)
    if extra == "symlink":
        (tmp_path / "elsewhere").write_text("written by the analysis package; safe to replace\n")
        (folder / OWNER_MARK).symlink_to(tmp_path / "elsewhere")
    else:
        (folder / OWNER_MARK).write_text("written by the analysis package; safe to replace\n")
    assert folder_kind(folder) == kind


def test_force_over_a_linked_folder_refuses_and_leaves_no_debris(tmp_path, capsys):
    real = tmp_path / "real"
    assert _ingest_registry(tmp_path, real) == 0
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert _ingest_registry(tmp_path, link, "--force") == 2
    assert "symbolic link" in capsys.readouterr().err
    assert link.is_symlink() and (real / "partnerships.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_killed_write_leaves_a_pid_named_folder_cleaned_next_time(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    stale = tmp_path / f".o.tmp-{pid}-abcd"
    stale.mkdir()
    (stale / "welfare.parquet").write_bytes(b"half")
    live = tmp_path / f".o.tmp-{os.getpid()}-live"
    live.mkdir()
    seen = []

    def write(tmp: Path) -> None:
        seen.append(tmp.name)
        (tmp / "x.txt").write_text("x")

    write_dir_atomically(tmp_path / "o", write, kind="ingest")
    assert seen[0].startswith(f".o.tmp-{os.getpid()}-")
    assert not stale.exists() and live.exists()  # a live process's folder is never touched
    live.rmdir()
    write_dir_atomically(tmp_path / "o", write, force=True, kind="ingest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]  # no .old debris


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (lambda f: f.write_bytes(f.read_bytes()[:300]), "not a readable Parquet"),
        (lambda f: f.write_bytes(b""), "welfare.parquet"),
        (lambda f: f.write_text("kode_desa,tahun\n1,2\n"), "not a readable Parquet"),
        (lambda f: f.unlink(), "missing although dataset.json lists it"),
    ],
    ids=["cut-short", "empty", "not-parquet", "missing"],
)
def test_a_damaged_table_is_refused_by_validate_and_run(tmp_path, capsys, damage, what):
    folder = tmp_path / "d"
    assert _ingest_registry(tmp_path, folder) == 0
    target = folder / "partnerships.parquet"
    damage(target)
    capsys.readouterr()
    assert main(["validate", "--lang", "en", "--data", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "partnerships.parquet" in err and what.replace("welfare", "partnerships") in err
    assert "Traceback" not in err and "ingest" in err


@pytest.mark.parametrize(
    ("text", "what"),
    [('{"title": "x", "synth', "cannot be read"), ("[1, 2]", "holds a JSON list")],
)
def test_a_broken_dataset_json_is_refused_with_the_file_named(tmp_path, capsys, text, what):
    folder = tmp_path / "d"
    assert _ingest_registry(tmp_path, folder) == 0
    (folder / "dataset.json").write_text(text)
    capsys.readouterr()
    assert main(["validate", "--lang", "en", "--data", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "dataset.json" in err and what in err and "Traceback" not in err


def test_a_table_edited_after_ingest_is_reported_until_accepted(tmp_path, capsys):
    import json

    import pandas as pd

    folder = tmp_path / "d"
    assert _ingest_registry(tmp_path, folder) == 0
    p = pd.read_parquet(folder / "partnerships.parquet")
    p.loc[0, "nama_mitra"] = "PT Lain"
    p.to_parquet(folder / "partnerships.parquet")
    capsys.readouterr()
    assert main(["validate", "--lang", "en", "--data", str(folder)]) == 2
    assert "changed after it was written" in capsys.readouterr().err
    meta = json.loads((folder / "dataset.json").read_text())
    del meta["table_sha256"]
    (folder / "dataset.json").write_text(json.dumps(meta))
    assert main(["validate", "--lang", "en", "--data", str(folder)]) == 0


def test_simulated_tables_carry_the_banner_whatever_dataset_json_says(tmp_path, capsys):
    import json

    from analysis.inputs.dataset import load_dataset

    folder = tmp_path / "x"
    assert main(["example-data", "--lang", "en", "--out", str(folder)]) == 0
    meta = json.loads((folder / "dataset.json").read_text())
    (folder / "dataset.json").write_text(json.dumps({**meta, "synthetic": False}))
    capsys.readouterr()
    assert main(["validate", "--lang", "en", "--data", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "contradicts itself" in err and "welfare.parquet (analysis.synthetic)" in err
    (folder / "dataset.json").unlink()  # tables copied without their dataset.json
    assert main(["validate", "--lang", "en", "--data", str(folder)]) == 0
    assert load_dataset(folder).synthetic is True


def test_run_refuses_a_cut_short_table_before_any_kernel(tmp_path, capsys):
    folder = tmp_path / "x"
    assert main(["example-data", "--lang", "en", "--out", str(folder)]) == 0
    w = folder / "welfare.parquet"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    capsys.readouterr()
    out = tmp_path / "run"
    code = main(
        ["run", "--lang", "en", "--district", "64.02", "--data", str(folder), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "welfare.parquet" in err and "not a readable Parquet" in err
    assert "Traceback" not in err and not out.exists()


def test_a_refusal_listing_many_duplicate_rows_is_bounded():
    import pandas as pd

    from analysis.errors import InputFileError
    from analysis.inputs.validate import _check_duplicates
    from analysis.schema import TABLES

    df = pd.DataFrame({"kode_desa": ["64.02.02.2010"] * 50_000, "_row": range(2, 50_002)})
    problems: list = []
    _check_duplicates(df, TABLES["villages"], "villages.csv", problems, {})
    text = str(InputFileError(problems))
    assert "also rows 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 49989 more" in text
    assert len(text) < 1_000


def test_a_huge_cell_value_is_named_not_printed():
    from analysis.errors import InputProblem

    line = InputProblem("r.xlsx", "too long", "shorten it", 2, "nama_mitra", "x" * 10_000_000)
    assert len(line.render()) < 400 and "10000002 characters" in line.render()


def test_a_missing_notebook_is_named_without_retries(tmp_path):
    from analysis.batch import kernels

    t0 = __import__("time").perf_counter()
    with pytest.raises(FileNotFoundError, match="the notebook .*nope.ipynb does not exist"):
        kernels.execute_notebook(tmp_path / "nope.ipynb", tmp_path / "o.ipynb", {}, tmp_path)
    nb = tmp_path / "n.ipynb"
    nb.write_text("{}")
    with pytest.raises(FileNotFoundError, match="the working folder .*gone does not exist"):
        kernels.execute_notebook(nb, tmp_path / "o.ipynb", {}, tmp_path / "gone")
    assert __import__("time").perf_counter() - t0 < 1.0  # no waits between attempts


@pytest.mark.parametrize(
    ("cause", "mem_mb", "curable"),
    [
        (FileNotFoundError("x"), 0, False),
        (PermissionError("x"), 0, False),
        (ModuleNotFoundError("ipykernel"), 0, False),
        (RuntimeError("Kernel died before replying to kernel_info"), 64, False),
        (RuntimeError("Kernel died before replying to kernel_info"), 0, True),
        (RuntimeError("Kernel didn't respond in 60 seconds"), 0, True),
        (TimeoutError("x"), 0, True),
        (type("ZMQError", (Exception,), {})("Address already in use"), 0, True),
    ],
)
def test_a_kernel_start_is_retried_only_on_errors_a_retry_can_cure(cause, mem_mb, curable):
    from analysis.batch import kernels

    try:
        raise kernels._NotStartedError() from cause
    except kernels._NotStartedError as e:
        assert kernels._curable(e, mem_mb) is curable


def test_a_memory_cap_too_small_to_start_names_kernel_memory(tmp_path):
    import nbformat

    from analysis.batch import kernels

    nb = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), nb)
    with pytest.raises(kernels.KernelStartError) as e:
        kernels.execute_notebook(nb, tmp_path / "o.ipynb", {}, tmp_path, mem_mb=40)
    assert "memory cap of 40 MiB" in str(e.value) and "--kernel-memory" in str(e.value)
    assert "attempts" not in str(e.value)


def test_the_synthesis_of_a_missing_run_folder_fails_with_the_path(tmp_path):
    from analysis.errors import InputFileError
    from analysis.report.synthesis import load_run

    with pytest.raises(InputFileError, match="gone: the run folder does not exist"):
        load_run(tmp_path / "gone")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="is not a run folder"):
        load_run(tmp_path / "empty")


def test_ctrl_c_leaves_the_kernel_template_quiet():
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.batch.forkserver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)  # while it imports the libraries
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGINT)  # while it waits for requests
    time.sleep(0.2)
    proc.stdin.close()  # how the run stops it
    assert proc.wait(timeout=30) == 0
    assert "Traceback" not in proc.stderr.read()


def _padded_workbook(path: Path, member: str, pad_mib: int) -> Path:
    """A real one-sheet workbook whose ``member`` carries ``pad_mib`` MiB of blanks (a zip bomb).

    The blanks compress about a thousandfold: the file stays a few hundred KiB on disk.
    """
    import zipfile

    import openpyxl

    src = path.with_suffix(".src.xlsx")
    wb = openpyxl.Workbook()
    wb.active.append(["kode_desa", "nama_mitra"])
    wb.active.append(["6402022010", "PT A"])
    wb.save(src)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        members = {i.filename: zin.read(i.filename) for i in zin.infolist()}
        members.setdefault(member, b'<sst xmlns="x" count="0" uniqueCount="0"></sst>')
        for name, data in members.items():
            if name != member:
                zout.writestr(name, data)
                continue
            head, close, tail = data.rpartition(b"</")  # blanks before the root's end tag
            with zout.open(member, "w", force_zip64=True) as fh:
                fh.write(head)
                block = b" " * 2**20
                for _ in range(pad_mib):
                    fh.write(block)
                fh.write(close + tail)
    src.unlink()
    return path


def test_a_workbook_is_refused_by_its_inflated_sheet_before_parsing(tmp_path, capsys):
    import time

    bomb = _padded_workbook(tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml", 300)
    assert bomb.stat().st_size < 2 * 2**20  # small on disk
    t0 = time.perf_counter()
    code = main(
        ["ingest", "--lang", "en", "--partnerships", str(bomb), "--out", str(tmp_path / "o")]
    )
    took = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code == 2 and "sheet xl/worksheets/sheet1.xml unpacks to 300 MiB" in err
    assert "more than the 256 MiB" in err and "bomb.xlsx" in err and took < 5
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("member", "limit", "said"),
    [
        (
            "xl/sharedStrings.xml",
            "MAX_STRINGS_BYTES",
            "its shared-strings part xl/sharedStrings.xml",
        ),
        ("xl/styles.xml", "MAX_INFLATED_BYTES", "the workbook unpacks to 3 MiB"),
        ("xl/worksheets/sheet1.xml", "MAX_SHEET_BYTES", "its sheet xl/worksheets/sheet1.xml"),
    ],
)
def test_each_inflated_limit_is_named(tmp_path, monkeypatch, member, limit, said):
    from analysis.errors import InputFileError
    from analysis.inputs import reading

    monkeypatch.setattr(reading, limit, 2 * 2**20)
    wb = _padded_workbook(tmp_path / "w.xlsx", member, 3)
    with pytest.raises(InputFileError, match=said):
        reading.read_raw(wb)
    monkeypatch.undo()
    assert list(reading.read_raw(wb)["kode_desa"]) == ["6402022010"]  # within the limits: read


def test_each_sheet_xml_is_streamed_once(tmp_path, monkeypatch):
    import zipfile

    import openpyxl

    from analysis.inputs import reading

    path = tmp_path / "one.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["kode_desa", "x"])
    wb.active.append(["6402022010", 1])
    wb.save(path)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def counting(self, name, *a, **kw):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting)
    assert reading.workbook_sheets(path)[0].rows[1] == ("6402022010", 1)
    # openpyxl's size probe and the 20-row head scan read the start only; then one stream for
    # the last row and the formulas together, and one parse (there were two streams before)
    assert opened.count("xl/worksheets/sheet1.xml") == 4
