"""Data contracts: the three tables every analysis reads, with types, allowed values and meaning.

``data/README.md`` documents the same contracts for people; :func:`contract_markdown` renders
this module so the two cannot drift (a test compares them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: IDM status thresholds (Permendesa 2/2016): upper bounds, inclusive.
IDM_THRESHOLDS: tuple[tuple[str, float], ...] = (
    ("SANGAT TERTINGGAL", 0.4907),
    ("TERTINGGAL", 0.5989),
    ("BERKEMBANG", 0.7072),
    ("MAJU", 0.8155),
    ("MANDIRI", float("inf")),
)
IDM_STATUSES = tuple(s for s, _ in IDM_THRESHOLDS)

PARTNER_TYPES = (
    "perusahaan",
    "bumn",
    "baznas",
    "yayasan",
    "perguruan_tinggi",
    "lsm",
    "bank",
    "lainnya",
)
FIELDS = ("pemerintahan", "pembangunan", "pembinaan_kemasyarakatan", "pemberdayaan")
SECTORS = ("ekonomi", "infrastruktur", "pendidikan", "kesehatan", "lingkungan", "sosial")
INSTRUMENTS = ("mou", "perjanjian_bersama")
PARTNERSHIP_STATUSES = ("direncanakan", "ditandatangani", "aktif", "selesai", "dibatalkan")
TERRAINS = ("dataran", "perbukitan", "pesisir", "tepi_sungai")

#: Accepted spellings -> canonical value (keys are lower case, spaces/hyphens as underscores).
ALIASES: dict[str, dict[str, str]] = {
    "jenis_mitra": {
        "company": "perusahaan",
        "csr": "perusahaan",
        "swasta": "perusahaan",
        "pt": "perusahaan",
        "perusahaan_swasta": "perusahaan",
        "soe": "bumn",
        "bumd": "bumn",
        "zakat": "baznas",
        "foundation": "yayasan",
        "university": "perguruan_tinggi",
        "universitas": "perguruan_tinggi",
        "kampus": "perguruan_tinggi",
        "ngo": "lsm",
        "other": "lainnya",
    },
    "sektor": {
        "economy": "ekonomi",
        "infrastructure": "infrastruktur",
        "education": "pendidikan",
        "health": "kesehatan",
        "environment": "lingkungan",
        "social": "sosial",
    },
    "bidang": {
        "government": "pemerintahan",
        "penyelenggaraan_pemerintahan": "pemerintahan",
        "development": "pembangunan",
        "community_guidance": "pembinaan_kemasyarakatan",
        "empowerment": "pemberdayaan",
        "pemberdayaan_masyarakat": "pemberdayaan",
    },
    "instrumen": {
        "nota_kesepahaman": "mou",
        "memorandum_of_understanding": "mou",
        "pks": "perjanjian_bersama",
        "perjanjian_kerja_sama": "perjanjian_bersama",
        "agreement": "perjanjian_bersama",
    },
    "status": {
        "planned": "direncanakan",
        "signed": "ditandatangani",
        "active": "aktif",
        "berjalan": "aktif",
        "ended": "selesai",
        "cancelled": "dibatalkan",
        "batal": "dibatalkan",
    },
    "topografi": {
        "plain": "dataran",
        "hills": "perbukitan",
        "coastal": "pesisir",
        "riverside": "tepi_sungai",
    },
}

#: Words read as yes and as no: in a yes/no column of the data and in a yes/no notebook
#: parameter given as text (``--param baseline_outcome=tidak``, papermill's ``-r``) alike.
#: Any case; a run of spaces between words reads as ``_`` (``tidak ada``).
YES_WORDS: tuple[str, ...] = ("ya", "yes", "y", "true", "t", "1", "benar", "ada")
NO_WORDS: tuple[str, ...] = ("tidak", "no", "n", "false", "f", "0", "salah", "tidak_ada")


def bool_from_text(value: object) -> bool | None:
    """``value`` read as yes/no.

    Parameters
    ----------
    value
        A bool (returned as it is) or text (read against :data:`YES_WORDS` and
        :data:`NO_WORDS`).

    Returns
    -------
    bool or None
        None for anything else, empty text included: the caller decides what a blank means
        (a blank data cell is missing, a blank parameter an error).
    """
    if isinstance(value, bool):
        return value
    key = re.sub(r"\s+", "_", str(value).strip().lower())
    if key in YES_WORDS:
        return True
    if key in NO_WORDS:
        return False
    return None


@dataclass(frozen=True, kw_only=True)
class Column:
    """One column of a data contract: name, type, whether required, meaning, allowed values.

    ``dtype`` is one of ``code``, ``string``, ``int``, ``float``, ``bool``, ``date``,
    ``category``; ``allowed`` lists a category's values and ``low``/``high`` bound a number.
    """

    name: str
    dtype: str  # "code", "string", "int", "float", "bool", "date", "category"
    required: bool
    meaning: str
    allowed: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, kw_only=True)
class Table:
    """One table of the data contracts: its file, key, meaning and columns."""

    name: str
    file: str
    key: tuple[str, ...]
    desa_only: bool
    meaning: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        """The names of the required columns."""
        return [c.name for c in self.columns if c.required]


VILLAGES = Table(
    name="villages",
    file="villages.parquet",
    key=("kode_desa",),
    desa_only=False,
    meaning="One row per village with covariates. Kelurahan may appear (marked in `jenis`); analyses use desa.",
    columns=(
        Column(
            name="kode_desa",
            dtype="code",
            required=True,
            meaning="Kemendagri village code, dotted (64.02.02.2010).",
        ),
        Column(
            name="nama_desa",
            dtype="string",
            required=False,
            meaning="Village name as the source spells it.",
        ),
        Column(
            name="jenis",
            dtype="category",
            required=False,
            meaning="desa, desa_adat or kelurahan (from the code).",
            allowed=("desa", "desa_adat", "kelurahan"),
        ),
        Column(
            name="penduduk", dtype="int", required=False, meaning="Population (persons).", low=0
        ),
        Column(name="luas_km2", dtype="float", required=False, meaning="Area in km2.", low=0),
        Column(
            name="jarak_kecamatan_km",
            dtype="float",
            required=False,
            meaning="Distance to the kecamatan office, km.",
            low=0,
        ),
        Column(
            name="jarak_kabupaten_km",
            dtype="float",
            required=False,
            meaning="Distance to the kabupaten office, km.",
            low=0,
        ),
        Column(
            name="topografi", dtype="category", required=False, meaning="Terrain.", allowed=TERRAINS
        ),
        Column(
            name="tambang_dekat",
            dtype="bool",
            required=False,
            meaning="A mine (coal, minerals) within or next to the village.",
        ),
        Column(
            name="perkebunan_dekat",
            dtype="bool",
            required=False,
            meaning="A large plantation (oil palm) within or next to the village.",
        ),
        Column(
            name="dana_desa_juta",
            dtype="float",
            required=False,
            meaning="Dana Desa allocation, million IDR per year.",
            low=0,
        ),
    ),
)

#: Headers a district office's covariates file uses for the ``villages`` columns, as
#: :func:`analysis.inputs.columns.header_key` writes them (lower case, every run of spaces and
#: punctuation as one ``_``). Only names whose unit is the contract's are listed: "Luas Wilayah
#: (Ha)" or "Dana Desa (Rp)" are not the contract's km2 or million rupiah, and stay for a column
#: map (``ingest --columns``) with the unit converted first.
VILLAGE_ALIASES: dict[str, str] = {
    "kode": "kode_desa",
    "kode_bps": "kode_desa",
    "kode_wilayah": "kode_desa",
    "kode_kemendagri": "kode_desa",
    "kode_desa_kemendagri": "kode_desa",
    "kode_desa_dagri": "kode_desa",
    "desa": "nama_desa",
    "nama": "nama_desa",
    "nama_desa_kelurahan": "nama_desa",
    "desa_kelurahan": "nama_desa",
    "population": "penduduk",
    "jumlah_penduduk": "penduduk",
    "jumlah_penduduk_jiwa": "penduduk",
    "penduduk_jiwa": "penduduk",
    "luas_wilayah_km2": "luas_km2",
    "luas_km2": "luas_km2",
    "luas_desa_km2": "luas_km2",
    "luas_wilayah_km_2": "luas_km2",
    "area_km2": "luas_km2",
    "jarak_ke_kecamatan_km": "jarak_kecamatan_km",
    "jarak_ke_kantor_kecamatan_km": "jarak_kecamatan_km",
    "jarak_ke_ibukota_kecamatan_km": "jarak_kecamatan_km",
    "jarak_kecamatan": "jarak_kecamatan_km",
    "jarak_ke_kabupaten_km": "jarak_kabupaten_km",
    "jarak_ke_kantor_kabupaten_km": "jarak_kabupaten_km",
    "jarak_ke_ibukota_kabupaten_km": "jarak_kabupaten_km",
    "jarak_kabupaten": "jarak_kabupaten_km",
    "topografi_wilayah": "topografi",
    "tambang": "tambang_dekat",
    "ada_tambang": "tambang_dekat",
    "perkebunan": "perkebunan_dekat",
    "ada_perkebunan": "perkebunan_dekat",
    "dana_desa_juta_rp": "dana_desa_juta",
    "dana_desa_rp_juta": "dana_desa_juta",
    "dana_desa_juta_rupiah": "dana_desa_juta",
}

WELFARE = Table(
    name="welfare",
    file="welfare.parquet",
    key=("kode_desa", "tahun"),
    desa_only=True,
    meaning="One row per desa per year: the IDM and its three component indices.",
    columns=(
        Column(
            name="kode_desa",
            dtype="code",
            required=True,
            meaning="Kemendagri village code, dotted.",
        ),
        Column(
            name="nama_desa",
            dtype="string",
            required=False,
            meaning="Village name as the source spells it (cross-checked against the frame).",
        ),
        Column(
            name="tahun",
            dtype="int",
            required=True,
            meaning="Year the index refers to (2015-2024 for IDM).",
            low=2015,
            high=2024,
        ),
        Column(
            name="iks",
            dtype="float",
            required=True,
            meaning="Social resilience index (Indeks Ketahanan Sosial), 0-1.",
            low=0,
            high=1,
        ),
        Column(
            name="ike",
            dtype="float",
            required=True,
            meaning="Economic resilience index (Indeks Ketahanan Ekonomi), 0-1.",
            low=0,
            high=1,
        ),
        Column(
            name="ikl",
            dtype="float",
            required=True,
            meaning="Ecological resilience index (Indeks Ketahanan Lingkungan), 0-1.",
            low=0,
            high=1,
        ),
        Column(
            name="nilai_idm",
            dtype="float",
            required=False,
            meaning="IDM = (IKS+IKE+IKL)/3; computed when absent.",
            low=0,
            high=1,
        ),
        Column(
            name="status_idm",
            dtype="category",
            required=False,
            meaning="Status from the official thresholds (recomputed).",
            allowed=IDM_STATUSES,
        ),
        Column(
            name="status_terbitan",
            dtype="category",
            required=False,
            meaning="Status as published in the source file, if any.",
            allowed=IDM_STATUSES,
        ),
        Column(
            name="tahun_nilai",
            dtype="int",
            required=False,
            meaning="Year the values were measured; earlier than `tahun` = carried forward.",
            low=2010,
            high=2030,
        ),
        Column(
            name="dibawa",
            dtype="bool",
            required=False,
            meaning="True when the values are carried forward from an earlier year (not a new measurement).",
        ),
        Column(
            name="catatan",
            dtype="string",
            required=False,
            meaning="Why a value is missing, or other remarks from ingestion.",
        ),
        Column(
            name="sumber",
            dtype="string",
            required=False,
            meaning="Source of the row: the file name, or `api` for the Ministry's per-village records.",
        ),
    ),
)

PARTNERSHIPS = Table(
    name="partnerships",
    file="partnerships.parquet",
    key=("id_kerjasama",),
    desa_only=True,
    meaning="One row per village per agreement (an MoU with three villages is three rows).",
    columns=(
        Column(
            name="id_kerjasama",
            dtype="string",
            required=True,
            meaning="Identifier of the agreement row (unique).",
        ),
        Column(
            name="kode_desa",
            dtype="code",
            required=False,
            meaning="Village code; empty for preparatory desa (desa persiapan) without one.",
        ),
        Column(
            name="sistem_kode",
            dtype="category",
            required=True,
            meaning="Code system of `kode_desa`: kemendagri or bps.",
            allowed=("kemendagri", "bps"),
        ),
        Column(
            name="nama_desa",
            dtype="string",
            required=True,
            meaning="Village name, cross-checked against the frame.",
        ),
        Column(
            name="mitra",
            dtype="string",
            required=True,
            meaning="Partner name (PT ..., BAZNAS ..., Yayasan ...).",
        ),
        Column(
            name="jenis_mitra",
            dtype="category",
            required=True,
            meaning="Partner type.",
            allowed=PARTNER_TYPES,
        ),
        Column(
            name="bidang",
            dtype="category",
            required=False,
            meaning="Field of cooperation (Permendagri 96/2017).",
            allowed=FIELDS,
        ),
        Column(name="sektor", dtype="category", required=True, meaning="Sector.", allowed=SECTORS),
        Column(
            name="instrumen",
            dtype="category",
            required=False,
            meaning="MoU or perjanjian bersama.",
            allowed=INSTRUMENTS,
        ),
        Column(
            name="tanggal_tanda_tangan",
            dtype="date",
            required=True,
            meaning="Signing date (YYYY-MM-DD); not in the future.",
        ),
        Column(
            name="tanggal_mulai",
            dtype="date",
            required=False,
            meaning="Start date; the signing date when empty.",
        ),
        Column(
            name="tanggal_selesai",
            dtype="date",
            required=False,
            meaning="End date; not before the start.",
        ),
        Column(name="nilai_rupiah", dtype="float", required=False, meaning="Value in IDR.", low=0),
        Column(
            name="status",
            dtype="category",
            required=True,
            meaning="State of the agreement.",
            allowed=PARTNERSHIP_STATUSES,
        ),
        Column(
            name="sumber_dokumen",
            dtype="string",
            required=False,
            meaning="Where the record comes from (document number, news report).",
        ),
    ),
)

#: Dimensions of the Indeks Desa (Permendesa 9/2024), in the regulation's order.
INDEKS_DESA_DIMENSIONS = (
    "layanan_dasar",
    "sosial",
    "ekonomi",
    "lingkungan",
    "aksesibilitas",
    "tata_kelola",
)
#: The dimension that holds the partnership item (indicator "Kerjasama Desa", aspect "with
#: third parties"): the treatment leaks into it, so it and the total score are never outcomes.
INDEKS_DESA_TREATED_DIMENSION = "ekonomi"
#: Indeks Desa status labels (Kepmendesa 343/2025 counts desa in these five classes).
INDEKS_DESA_STATUSES = IDM_STATUSES
#: Status cut-offs of the 0-100 Indeks Desa score: not published where we looked (see
#: data/README.md); ``None`` keeps the published status and recomputes none. Set to a tuple
#: like :data:`IDM_THRESHOLDS` (upper bounds, inclusive) with its source to recompute.
INDEKS_DESA_THRESHOLDS: tuple[tuple[str, float], ...] | None = None

INDICATORS = Table(
    name="indicators",
    file="indicators.parquet",
    key=("kode_desa", "tahun", "dimensi", "nomor"),
    desa_only=True,
    meaning="One row per desa, year and IDM indicator, from the Ministry's per-village records "
    "(open/api/desa/rumusan): 50 scores 0-5 with the actors expected to act.",
    columns=(
        Column(
            name="kode_desa",
            dtype="code",
            required=True,
            meaning="Kemendagri village code, dotted.",
        ),
        Column(name="tahun", dtype="int", required=True, meaning="IDM year.", low=2015, high=2024),
        Column(
            name="dimensi",
            dtype="category",
            required=True,
            meaning="Index the indicator feeds.",
            allowed=("IKS", "IKE", "IKL"),
        ),
        Column(
            name="nomor",
            dtype="int",
            required=True,
            meaning="Indicator number within its index (IKS 1-35 ...).",
            low=1,
        ),
        Column(
            name="indikator",
            dtype="string",
            required=True,
            meaning="Indicator name as the record gives it.",
        ),
        Column(
            name="skor",
            dtype="float",
            required=False,
            meaning="Score 0-5; empty when the record has none.",
            low=0,
            high=5,
        ),
        Column(
            name="pelaksana",
            dtype="string",
            required=False,
            meaning="Actors expected to act, as `level: actor` joined by `; ` (PUSAT, PROV, KAB, DESA, CSR, LAINNYA).",
        ),
        Column(
            name="csr",
            dtype="bool",
            required=False,
            meaning="The record names company CSR among the actors.",
        ),
        Column(
            name="salinan",
            dtype="bool",
            required=False,
            meaning="True for IKS 31 when it equals IKS 30 (a known copy in the records): not an independent score.",
        ),
    ),
)

INDEKS_DESA = Table(
    name="indeks_desa",
    file="indeks_desa.parquet",
    key=("kode_desa", "tahun"),
    desa_only=True,
    meaning="One row per desa per year of the Indeks Desa (2025 onwards, Permendesa 9/2024): a separate "
    "outcome series, never spliced onto IDM. Its Ekonomi dimension scores cooperation with third "
    "parties, so `skor` and `ekonomi` contain the treatment; `skor_tanpa_ekonomi` does not.",
    columns=(
        Column(
            name="kode_desa",
            dtype="code",
            required=True,
            meaning="Kemendagri village code, dotted.",
        ),
        Column(
            name="nama_desa",
            dtype="string",
            required=False,
            meaning="Village name as the source spells it.",
        ),
        Column(
            name="tahun",
            dtype="int",
            required=True,
            meaning="Year of the Indeks Desa.",
            low=2025,
            high=2045,
        ),
        Column(
            name="skor",
            dtype="float",
            required=False,
            meaning="Indeks Desa score as published, 0-100 (contains the partnership item).",
            low=0,
            high=100,
        ),
        Column(
            name="layanan_dasar",
            dtype="float",
            required=False,
            meaning="Dimension score: basic services, 0-100.",
            low=0,
            high=100,
        ),
        Column(
            name="sosial",
            dtype="float",
            required=False,
            meaning="Dimension score: social, 0-100.",
            low=0,
            high=100,
        ),
        Column(
            name="ekonomi",
            dtype="float",
            required=False,
            meaning="Dimension score: economy, 0-100 (contains the partnership item).",
            low=0,
            high=100,
        ),
        Column(
            name="lingkungan",
            dtype="float",
            required=False,
            meaning="Dimension score: environment, 0-100.",
            low=0,
            high=100,
        ),
        Column(
            name="aksesibilitas",
            dtype="float",
            required=False,
            meaning="Dimension score: accessibility, 0-100.",
            low=0,
            high=100,
        ),
        Column(
            name="tata_kelola",
            dtype="float",
            required=False,
            meaning="Dimension score: village governance, 0-100.",
            low=0,
            high=100,
        ),
        Column(
            name="skor_tanpa_ekonomi",
            dtype="float",
            required=False,
            meaning="Unweighted mean of the five dimensions without Ekonomi (not an official score; "
            "the item weights needed to drop only the partnership item are not published).",
            low=0,
            high=100,
        ),
        Column(
            name="status",
            dtype="category",
            required=False,
            meaning="Status as published.",
            allowed=INDEKS_DESA_STATUSES,
        ),
        Column(name="sumber", dtype="string", required=False, meaning="Source file name."),
    ),
)

COORDINATES = Table(
    name="coordinates",
    file="coordinates.parquet",
    key=("kode_desa",),
    desa_only=False,
    meaning="One point per village brought with `ingest --coordinates` (it replaces the shipped "
    "centroid of that village, src/analysis/inputs/centroids/NOTICE.md). WGS 84 degrees; "
    "Indonesia lies within 11.5 S to 6.5 N and 94 E to 141.5 E.",
    columns=(
        Column(
            name="kode_desa",
            dtype="code",
            required=True,
            meaning="Kemendagri village code, dotted.",
        ),
        Column(
            name="latitude",
            dtype="float",
            required=True,
            meaning="Latitude in degrees (south negative); header also lintang, lat, y.",
            low=-11.5,
            high=6.5,
        ),
        Column(
            name="longitude",
            dtype="float",
            required=True,
            meaning="Longitude in degrees east; header also bujur, lon, lng, long, x.",
            low=94.0,
            high=141.5,
        ),
        Column(
            name="sumber",
            dtype="string",
            required=False,
            meaning="Where the point comes from (survey, GPS, a map); shown on the data-quality page.",
        ),
    ),
)

#: Headers a coordinates file uses for the ``coordinates`` columns (lower case, ``_`` for spaces).
COORDINATE_ALIASES: dict[str, str] = {
    "kode": "kode_desa",
    "kode_kemendagri": "kode_desa",
    "kode_desa_kemendagri": "kode_desa",
    "kode_wilayah": "kode_desa",
    "id": "kode_desa",
    "lintang": "latitude",
    "lat": "latitude",
    "y": "latitude",
    "bujur": "longitude",
    "lon": "longitude",
    "lng": "longitude",
    "long": "longitude",
    "x": "longitude",
    "source": "sumber",
}

TABLES = {
    t.name: t for t in (VILLAGES, WELFARE, PARTNERSHIPS, INDICATORS, INDEKS_DESA, COORDINATES)
}


def idm_status(value: float) -> str | None:
    """Status label of an IDM value from the official thresholds (``None`` when missing)."""
    if value is None or value != value:  # NaN
        return None
    for label, upper in IDM_THRESHOLDS:
        if value <= upper:
            return label
    return None  # unreachable


def contract_markdown() -> str:
    """The contracts as Markdown tables (the body of ``data/README.md``'s contract section)."""
    out: list[str] = []
    for t in TABLES.values():
        out.append(
            f"### `{t.file}` ({t.name})\n\n{t.meaning} Key: {', '.join(t.key)}."
            + (" Desa only: kelurahan codes are an error." if t.desa_only else "")
            + "\n"
        )
        out.append(
            "| column | type | required | allowed / range | meaning |\n|---|---|---|---|---|"
        )
        for c in t.columns:
            rng = (
                ", ".join(c.allowed)
                if c.allowed
                else (
                    f"{'' if c.low is None else c.low} to {'' if c.high is None else c.high}".strip()
                    if (c.low is not None or c.high is not None)
                    else ""
                )
            )
            out.append(
                f"| `{c.name}` | {c.dtype} | {'yes' if c.required else 'no'} | {rng} | {c.meaning} |"
            )
        out.append("")
    return "\n".join(out)


#: The title ``dataset.json`` holds for an ingested folder when none was given; pages word it
#: in their own language (:func:`analysis.report.words.dataset_title`).
DEFAULT_TITLE = "Ingested data"
