"""BPS (Podes) village codes to Kemendagri codes through a crosswalk: placed or reported, never guessed.

BPS and Kemendagri codes share a shape but not values (Kutai Kartanegara is 6403 in BPS, 64.02
in Kemendagri), and splits and new villages break a one-to-one correspondence. A crosswalk file
has one row per pair:

=================  ==============================================================
``kode_bps``       BPS village code (10 digits, dotted or not)
``kode_kemendagri`` Kemendagri village code (dotted or not)
=================  ==============================================================

(aliases: ``bps``, ``kode_desa_bps``; ``kemendagri``, ``kode_desa_kemendagri``, ``kode_dagri``).
A row of the covariates file is placed only when its BPS code maps to exactly one Kemendagri
code that no other BPS code maps to. Everything else is counted and listed: ``unmatched`` (not
in the crosswalk), ``one_to_many`` (a split: one BPS code, several Kemendagri villages),
``many_to_one`` (a merge: several BPS codes, one Kemendagri village), ``bad_code``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.errors import AndList, InputFileError, InputProblem, Phrase
from analysis.inputs.codes import normalize_code
from analysis.inputs.reading import ROW, ColumnFates, contract_columns, read_raw

CROSSWALK_ALIASES = {
    "bps": "kode_bps",
    "kode_desa_bps": "kode_bps",
    "kemendagri": "kode_kemendagri",
    "kode_desa_kemendagri": "kode_kemendagri",
    "kode_dagri": "kode_kemendagri",
}
#: Fates of covariate rows that are not placed, in report order.
NOT_PLACED = ("unmatched", "one_to_many", "many_to_one", "bad_code")


def _digits(v: object) -> str | None:
    s = re.sub(r"[.\s]", "", str(v or "").strip())
    s = re.sub(r"\.0+$", "", s)
    return s if re.fullmatch(r"\d{10}", s) else None


def read_crosswalk(path: Path, encoding: str = "auto") -> pd.DataFrame:
    """The crosswalk as ``kode_bps`` (10 digits) and ``kode_kemendagri`` (dotted) columns.

    Raises
    ------
    InputFileError
        Missing columns, or codes that are not village codes (file, row and value named).
    """
    return read_crosswalk_and_fates(path, encoding)[0]


def read_crosswalk_and_fates(
    path: Path, encoding: str = "auto"
) -> tuple[pd.DataFrame, ColumnFates]:
    """:func:`read_crosswalk`, and what became of each of its headers (used, mapped, ignored).

    Raises
    ------
    InputFileError
        As :func:`read_crosswalk`.
    """
    raw, fates = contract_columns(
        read_raw(path, encoding=encoding),
        path,
        ["kode_bps", "kode_kemendagri"],
        ["kode_bps", "kode_kemendagri"],
        CROSSWALK_ALIASES,
    )
    problems = []
    bps, dagri = [], []
    for _, r in raw.iterrows():
        b = _digits(r["kode_bps"])
        k = normalize_code(r["kode_kemendagri"]).code
        if b is None:
            problems.append(
                InputProblem(
                    str(path),
                    "not a 10-digit BPS village code",
                    "correct the code",
                    int(r[ROW]),
                    "kode_bps",
                    r["kode_bps"],
                    key="not_bps_code",
                )
            )
        if k is None:
            problems.append(
                InputProblem(
                    str(path),
                    "not a Kemendagri village code",
                    "correct the code",
                    int(r[ROW]),
                    "kode_kemendagri",
                    r["kode_kemendagri"],
                    key="not_kemendagri_code",
                )
            )
        bps.append(b)
        dagri.append(k)
    if problems:
        raise InputFileError(problems)
    return pd.DataFrame({"kode_bps": bps, "kode_kemendagri": dagri}).drop_duplicates(), fates


def _fate(b: str | None, per_bps: dict, per_dagri: dict) -> tuple[str, object]:
    """The fate of one BPS code and its Kemendagri target (or candidates): placed only one-to-one."""
    if b is None:
        return "bad_code", None
    if b not in per_bps:
        return "unmatched", None
    if len(per_bps[b]) > 1:
        return "one_to_many", per_bps[b]
    if len(per_dagri[per_bps[b][0]]) > 1:
        return "many_to_one", per_dagri[per_bps[b][0]]
    return "placed", per_bps[b][0]


def _placed_none(source, crosswalk, n: int, by_fate: dict[str, int]) -> InputFileError:
    """The refusal of a villages file none of whose rows the crosswalk places."""
    return InputFileError(
        [
            InputProblem(
                str(source),
                f"none of the {n} rows could be placed through {crosswalk} "
                f"({', '.join(f'{k} {v}' for k, v in by_fate.items() if v)})",
                "check that the file holds BPS codes and the crosswalk covers its villages",
                key="crosswalk_placed_none",
                args={
                    "n": n,
                    "crosswalk": str(crosswalk),
                    "fates": AndList(
                        Phrase(key=f"xfate.{k}", args={"n": v}) for k, v in by_fate.items() if v
                    ),
                },
            )
        ]
    )


def apply_crosswalk(
    villages: pd.DataFrame, crosswalk: Path, source: Path, encoding: str = "auto"
) -> tuple[pd.DataFrame, dict]:
    """Replace the BPS codes of a covariates table by Kemendagri codes.

    A code is replaced where the crosswalk is one-to-one; the rows it cannot place are dropped
    (and reported).

    Parameters
    ----------
    villages
        The covariates table with BPS codes in ``kode_desa``.
    crosswalk
        The BPS -> Kemendagri crosswalk file.
    source
        The covariates file, named in messages.
    encoding
        CSV text encoding of the crosswalk.

    Returns
    -------
    tuple of pandas.DataFrame and dict
        The placed rows (``kode_desa`` now Kemendagri) and the facts for
        ``data_quality.json``: counts per fate and the rows not placed.
    """
    xw, columns = read_crosswalk_and_fates(Path(crosswalk), encoding)
    per_bps = xw.groupby("kode_bps")["kode_kemendagri"].agg(list)
    per_dagri = xw.groupby("kode_kemendagri")["kode_bps"].agg(list)
    per_bps_d, per_dagri_d = per_bps.to_dict(), per_dagri.to_dict()
    placed_codes, fates, lost = [], [], []
    for row, raw_code, name in zip(
        villages[ROW].tolist(),
        villages["kode_desa"].tolist(),
        villages["nama_desa"].tolist() if "nama_desa" in villages else [None] * len(villages),
        strict=True,
    ):
        fate, target = _fate(_digits(raw_code), per_bps_d, per_dagri_d)
        fates.append(fate)
        placed_codes.append(target if fate == "placed" else None)
        if fate != "placed":
            lost.append(
                {
                    "row": int(row),
                    "kode_bps": str(raw_code),
                    "nama_desa": name,
                    "fate": fate,
                    "candidates": target,
                }
            )
    fates_s = pd.Series(fates, index=villages.index)
    out = villages[fates_s == "placed"].copy()
    out["kode_desa"] = [c for c, f in zip(placed_codes, fates, strict=True) if f == "placed"]
    notes = {
        "crosswalk": str(crosswalk),
        "rows": int(len(villages)),
        "placed": int((fates_s == "placed").sum()),
        "not_placed": int((fates_s != "placed").sum()),
        "by_fate": {f: int((fates_s == f).sum()) for f in NOT_PLACED},
        "not_placed_rows": lost[:2000],
        "rule": "placed only when one BPS code maps to one Kemendagri code and back; never guessed",
        "column_fates": columns.to_dict(),  # the crosswalk's own entry (ingest takes it out)
    }
    if len(out) == 0:
        raise _placed_none(source, crosswalk, len(villages), notes["by_fate"])
    return out.reset_index(drop=True), notes
