"""Numbers into words, in Bahasa Indonesia (default) and English.

Every number in a brief's prose passes through :func:`fmt`, and every sentence is built here, so
the two languages say the same thing and rounding rules live in one place.
"""

from __future__ import annotations

import math

from analysis.design import OUTCOME_LABELS

LANGS = ("id", "en")


def fmt(x: float, lang: str = "id", digits: int = 3, signed: bool = False) -> str:
    """Format a number for the language: ``0,015`` (id) or ``0.015`` (en); thousands ``1.234`` / ``1,234``."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    s = f"{x:+,.{digits}f}" if signed else f"{x:,.{digits}f}"
    if lang == "id":
        s = s.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")
    return s.replace("-", "\u2212")


def fmt_int(n: int, lang: str = "id") -> str:
    return fmt(float(n), lang, 0)


def pct(x: float, lang: str = "id", digits: int = 0) -> str:
    return fmt(100 * x, lang, digits) + "%"


T = {
    "id": {
        "synthetic": "CONTOH DATA SINTETIS - bukan temuan. Angka di halaman ini berasal dari simulasi.",
        "title": "Ringkasan kebijakan: kerja sama desa dengan pihak ketiga",
        "subtitle": "Apakah desa yang bermitra dengan pihak ketiga lebih sejahtera daripada desa serupa yang tidak bermitra?",
        "summary": "Ringkasan",
        "figures": "Gambar",
        "details": "Rincian hasil",
        "caveats": "Cara membaca dan keterbatasan",
        "provenance": "Asal data dan cara perhitungan",
        "grade": {
            "strong": "BUKTI KUAT",
            "suggestive": "BUKTI INDIKATIF (belum pasti)",
            "insufficient": "BUKTI BELUM CUKUP",
            "not_estimable": "TIDAK DAPAT DIPERKIRAKAN",
        },
        "compared": "Yang dibandingkan: {n1} desa yang mulai bermitra paling lambat {last} dengan {n0} desa lain di {name}, "
        "menurut {outcome}, tahun {first}-{last}.",
        "headline_pos": "Setelah bermitra, {outcome} desa bermitra rata-rata {est} lebih tinggi daripada perkiraan jika mereka tidak bermitra "
        "(rentang yang masuk akal: {lo} sampai {hi}).",
        "headline_neg": "Setelah bermitra, {outcome} desa bermitra rata-rata {est} lebih rendah daripada perkiraan jika mereka tidak bermitra "
        "(rentang yang masuk akal: {lo} sampai {hi}).",
        "scale": "Sebagai pembanding, rata-rata {outcome} di kabupaten ini pada {last} adalah {mean}.",
        "grade_text": {
            "strong": "Perbedaan ini jelas lebih besar daripada yang bisa muncul karena kebetulan. Sebelum kemitraan, data cukup "
            "peka untuk melihat selisih tren sebesar efek ini dan tidak melihatnya; itu bukan bukti bahwa tren akan sama tanpa kemitraan.",
            "suggestive": "Ada petunjuk perbedaan, tetapi belum pasti: {why}. Jangan jadikan angka ini dasar tunggal keputusan.",
            "insufficient": "Data belum dapat memastikan ada perbedaan: rentangnya mencakup nol (tidak ada beda). {why}",
            "not_estimable": "Perbandingan tidak dapat dibuat di kabupaten/kota ini: {why}.",
        },
        "why": {
            "ci_includes_zero": "rentangnya mencakup nol",
            "not_significant_after_adjustment": "tidak bertahan setelah koreksi karena banyak indikator diuji sekaligus",
            "pretrend": "desa bermitra sudah bergerak berbeda sebelum bermitra",
            "few_treated": "jumlah desa bermitra yang dievaluasi sedikit (kurang dari 10)",
            "pre_period_underpowered": "data sebelum kemitraan hanya dapat mendeteksi selisih tren yang lebih besar dari efek ini",
            "no_pre_period_test": "tidak ada cukup tahun sebelum kemitraan untuk memeriksa tren",
            "fragile_to_trend_violation": "hasil ini tidak bertahan bila tren setelah kemitraan menyimpang sebesar "
            "penyimpangan terbesar sebelum kemitraan",
        },
        "mde": "Dengan jumlah desa yang ada, hanya perbedaan sekitar {mde} atau lebih yang dapat terdeteksi dengan andal.",
        "no_desa": "{name} hanya terdiri dari kelurahan. Kelurahan tidak memiliki pemerintahan desa, tidak dinilai dengan Indeks Desa "
        "Membangun, dan tidak membuat Kerja Sama Desa; karena itu perbandingan ini tidak berlaku di sini.",
        "no_data": "Tidak ada data indeks untuk desa di {name} dalam folder data ini.",
        "reasons": {
            "too_few_treated": "terlalu sedikit desa bermitra untuk dibandingkan",
            "no_control": "tidak ada desa pembanding",
            "no_overlap": "desa bermitra dan desa lain terlalu berbeda untuk dibandingkan",
            "no_pre_period": "tidak ada data sebelum kemitraan dimulai",
            "constant_outcome": "indikator tidak bervariasi",
            "too_recent": "kemitraan dimulai setelah tahun data terakhir",
            "no_desa": "wilayah ini tidak memiliki desa",
            "no_data": "tidak ada data indeks untuk wilayah ini",
        },
        "recent": "{n} perjanjian di kabupaten ini dimulai setelah {last}, tahun IDM terakhir, sehingga belum dapat dinilai: {names}.",
        "kukar_2025": "Nota kesepahaman 26 Agustus 2025 di Kutai Kartanegara (Lung Anai, Loh Sumber, Loa Kulu Kota, Jembayan Tengah, "
        "dan desa persiapan Loa Duri Seberang dengan PT Multi Harapan Utama, BAZNAS Kukar, dan Yayasan Pede Nusantara Madani) "
        'belum dapat dinilai: IDM terakhir diukur tahun 2024, dan sejak 2025 diganti Indeks Desa yang menilai "kerja sama '
        'desa" itu sendiri sebagai bagian dari skornya. Dua alat ukur itu tidak boleh disambung menjadi satu deret.',
        "caveat_list": [
            "Desa tidak dipilih secara acak menjadi mitra. Perusahaan cenderung memilih desa dekat tambang, dekat jalan, dan yang sudah lebih "
            "maju. Karena itu perbandingan langsung (tanpa penyesuaian) melebih-lebihkan manfaat kemitraan; hasil utama membandingkan "
            "perubahan dari tahun ke tahun, bukan tingkat.",
            "Banyak desa sudah berstatus MANDIRI dan nilainya mendekati batas atas 1. Desa seperti itu hanya bisa naik sedikit, sehingga "
            "manfaat kemitraan di desa maju bisa tampak kecil.",
            "Sebagian nilai IDM adalah nilai tahun sebelumnya yang dibawa ke tahun berikutnya (bukan pengukuran baru). Ini mengaburkan "
            "perubahan dan cenderung mengecilkan perbedaan.",
            "Hasil ini adalah asosiasi yang disesuaikan, bukan bukti sebab-akibat yang pasti. Faktor yang tidak tercatat (misalnya "
            "kepemimpinan kepala desa) dapat ikut berperan; angka E-value di rincian menunjukkan seberapa kuat faktor seperti itu harus ada "
            "untuk menghapus hasilnya.",
        ],
        "method_text": "Hasil utama memakai metode selisih-dalam-selisih bertahap (Callaway dan Sant'Anna, 2021): perubahan indikator desa "
        "bermitra sejak sebelum kemitraan dibandingkan dengan perubahan pada desa yang belum pernah bermitra, untuk setiap "
        "angkatan tahun mulai. Ketidakpastian dihitung dengan memperhitungkan kemiripan desa dalam satu kecamatan. Sebagai "
        "pembanding ditampilkan pula perbandingan langsung, regresi, pembobotan skor kecenderungan, metode 'doubly robust', "
        "dan pencocokan untuk tahun terakhir.",
        "trim": "Aturan pemangkasan: desa dengan skor kecenderungan di luar [0,02; 0,98] tidak dipakai dalam pembobotan.",
        "coverage": "Cakupan",
        "desa_frame": "Desa menurut daftar resmi Kemendagri 2025",
        "desa_data": "Desa dengan data indeks",
        "partnered": "Desa bermitra (tercatat)",
        "evaluable": "Desa bermitra yang dapat dinilai",
        "too_recent_n": "Desa dengan kemitraan terlalu baru",
        "comparison": "Desa pembanding (tidak pernah bermitra)",
        "no_code": "Baris registri tanpa kode desa (mis. desa persiapan)",
        "carried": "Porsi nilai yang dibawa dari tahun sebelumnya",
        "col_method": "Metode",
        "col_outcome": "Indikator",
        "col_est": "Perkiraan",
        "col_ci": "Rentang 95%",
        "col_n": "Desa bermitra / pembanding",
        "col_note": "Catatan",
        "col_q": "p (dikoreksi BH)",
        "het_title": "Menurut jenis mitra dan sektor",
        "outcomes_title": "Semua indikator (dikoreksi untuk banyak uji: Benjamini-Hochberg)",
        "sens_title": "Kepekaan dan daya deteksi",
        "evalue": "E-value: faktor tersembunyi harus berkaitan {ev} kali lebih kuat dengan kemitraan "
        "dan dengan indikator untuk menghapus hasil ini (untuk batas rentang: {evb}).",
        "pretrend": "Uji tren sebelum kemitraan (gabungan, koreksi Bonferroni): p = {p}.",
        "prov_data": "Folder data",
        "prov_hash": "Sidik jari berkas (SHA-256)",
        "prov_params": "Parameter",
        "prov_versions": "Versi perangkat lunak",
        "prov_commit": "Versi kode (git)",
        "prov_created": "Dibuat",
        "fig_event": "Perbedaan menurut tahun sejak kemitraan dimulai. Titik di kiri garis putus-putus (sebelum mulai) seharusnya dekat nol.",
        "fig_balance": "Keseimbangan karakteristik desa sebelum dan sesudah pembobotan (batas 0,1).",
        "fig_transitions": "Perpindahan status IDM dari tahun pertama ke tahun terakhir.",
        "fig_overlap": "Sebaran skor kecenderungan bermitra: desa bermitra dan desa lain harus tumpang tindih.",
        "years_since": "Tahun sejak kemitraan dimulai",
        "difference": "Perbedaan",
        "before": "sebelum",
        "after": "sesudah pembobotan",
        "partnered_g": "bermitra",
        "other_g": "lainnya",
        "share": "porsi desa",
        "status_start": "Status awal",
        "status_end": "Status akhir",
        "covariates": {
            "penduduk_log": "jumlah penduduk (log)",
            "jarak_kabupaten_km": "jarak ke ibu kota kabupaten",
            "jarak_kecamatan_km": "jarak ke kantor kecamatan",
            "tambang_dekat": "dekat tambang",
            "perkebunan_dekat": "dekat perkebunan",
            "dana_desa_juta": "Dana Desa",
            "baseline": "nilai indikator tahun awal",
        },
        "thin": "berdasarkan kurang dari 5 desa (tidak diandalkan)",
        "score": "Skor kecenderungan",
        "density": "Kepadatan",
    },
    "en": {
        "synthetic": "SYNTHETIC EXAMPLE DATA - not a finding. The numbers on this page come from a simulation.",
        "title": "Policy brief: village partnerships with third parties",
        "subtitle": "Do villages that partner with third parties fare better than similar villages that do not?",
        "summary": "Summary",
        "figures": "Figures",
        "details": "Detailed results",
        "caveats": "How to read this, and limits",
        "provenance": "Data sources and how this was computed",
        "grade": {
            "strong": "STRONG EVIDENCE",
            "suggestive": "SUGGESTIVE EVIDENCE (not conclusive)",
            "insufficient": "INSUFFICIENT EVIDENCE",
            "not_estimable": "CANNOT BE ESTIMATED",
        },
        "compared": "Compared: {n1} villages that began a partnership by {last} with {n0} other villages in {name}, "
        "on the {outcome}, {first}-{last}.",
        "headline_pos": "After partnering, the {outcome} of partnered villages was on average {est} higher than expected without the "
        "partnership (plausible range: {lo} to {hi}).",
        "headline_neg": "After partnering, the {outcome} of partnered villages was on average {est} lower than expected without the "
        "partnership (plausible range: {lo} to {hi}).",
        "scale": "For scale, the average {outcome} in this district in {last} was {mean}.",
        "grade_text": {
            "strong": "The difference is clearly larger than chance would produce. Before partnering, the data were sensitive enough "
            "to see a trend gap as large as this effect and did not see one; that does not prove trends would have been the same "
            "without the partnerships.",
            "suggestive": "There is a hint of a difference, but it is not conclusive: {why}. Do not base a decision on this number alone.",
            "insufficient": "The data cannot establish a difference: the range includes zero (no difference). {why}",
            "not_estimable": "The comparison cannot be made in this district: {why}.",
        },
        "why": {
            "ci_includes_zero": "the range includes zero",
            "not_significant_after_adjustment": "it does not survive the correction for testing several indicators at once",
            "pretrend": "partnered villages were already moving differently before partnering",
            "few_treated": "few evaluated partnered villages (fewer than 10)",
            "pre_period_underpowered": "the years before partnering could only have detected a trend gap larger than this effect",
            "no_pre_period_test": "there are not enough years before partnering to check the trends",
            "fragile_to_trend_violation": "the result does not survive trends after partnering departing as much as "
            "the largest departure before partnering",
        },
        "mde": "With the villages available, only differences of about {mde} or more can be detected reliably.",
        "no_desa": "{name} consists only of kelurahan (urban wards). Kelurahan have no village government, are not scored by the Village "
        "Development Index and do not sign village partnerships, so this comparison does not apply here.",
        "no_data": "There are no index data for villages of {name} in this data folder.",
        "reasons": {
            "too_few_treated": "too few partnered villages to compare",
            "no_control": "no comparison villages",
            "no_overlap": "partnered and other villages are too different to compare",
            "no_pre_period": "no data before the partnerships began",
            "constant_outcome": "the indicator does not vary",
            "too_recent": "the partnerships began after the last data year",
            "no_desa": "the area has no villages (desa)",
            "no_data": "no index data for this area",
        },
        "recent": "{n} agreements in this district began after {last}, the last IDM year, so they cannot be evaluated yet: {names}.",
        "kukar_2025": "The memoranda of 26 August 2025 in Kutai Kartanegara (Lung Anai, Loh Sumber, Loa Kulu Kota, Jembayan Tengah and the "
        "preparatory village Loa Duri Seberang with PT Multi Harapan Utama, BAZNAS Kukar and Yayasan Pede Nusantara Madani) "
        "cannot be evaluated yet: the IDM was last measured in 2024, and from 2025 it is replaced by the Indeks Desa, which "
        'scores "village cooperation" itself. The two instruments must not be spliced into one series.',
        "caveat_list": [
            "Villages were not chosen at random. Companies tend to pick villages near mines, near roads and already better off, so a "
            "direct comparison overstates the benefit; the main result compares changes over time, not levels.",
            "Many villages are already MANDIRI, close to the top of the scale. They can only rise a little, so benefits in advanced "
            "villages may look small.",
            "Some IDM values repeat the previous year's values (not new measurements). This blurs changes and tends to shrink differences.",
            "These are adjusted associations, not proof of cause and effect. Unrecorded factors (such as village leadership) may play a "
            "role; the E-value in the details says how strong such a factor would have to be to explain the result away.",
        ],
        "method_text": "The main result uses staggered difference-in-differences (Callaway and Sant'Anna, 2021): the change in partnered "
        "villages since before the partnership is compared with the change in villages that never partnered, cohort by "
        "cohort. Uncertainty accounts for villages in the same kecamatan being alike. For comparison, a direct difference, "
        "regression, propensity-score weighting, a doubly robust estimate and matching are shown for the last year.",
        "trim": "Trimming rule: villages with a propensity score outside [0.02, 0.98] are left out of the weighting.",
        "coverage": "Coverage",
        "desa_frame": "Villages (desa) in the official 2025 list",
        "desa_data": "Villages with index data",
        "partnered": "Partnered villages (recorded)",
        "evaluable": "Partnered villages that can be evaluated",
        "too_recent_n": "Villages whose partnership is too recent",
        "comparison": "Comparison villages (never partnered)",
        "no_code": "Registry rows without a village code (e.g. preparatory villages)",
        "carried": "Share of values carried from the year before",
        "col_method": "Method",
        "col_outcome": "Indicator",
        "col_est": "Estimate",
        "col_ci": "95% range",
        "col_n": "Partnered / comparison villages",
        "col_note": "Note",
        "col_q": "p (BH-adjusted)",
        "het_title": "By partner type and sector",
        "outcomes_title": "All indicators (adjusted for multiple testing: Benjamini-Hochberg)",
        "sens_title": "Sensitivity and detectability",
        "evalue": "E-value: a hidden factor would need to be associated {ev} times more strongly "
        "with partnering and with the indicator to explain this result away (for the range limit: {evb}).",
        "pretrend": "Test of trends before partnering (joint, Bonferroni): p = {p}.",
        "prov_data": "Data folder",
        "prov_hash": "File fingerprints (SHA-256)",
        "prov_params": "Parameters",
        "prov_versions": "Software versions",
        "prov_commit": "Code version (git)",
        "prov_created": "Created",
        "fig_event": "Difference by years since the partnership began. Points left of the dashed line (before the start) should be near zero.",
        "fig_balance": "Balance of village characteristics before and after weighting (threshold 0.1).",
        "fig_transitions": "Moves between IDM statuses from the first to the last year.",
        "fig_overlap": "Distribution of the propensity to partner: partnered and other villages should overlap.",
        "years_since": "Years since the partnership began",
        "difference": "Difference",
        "before": "before",
        "after": "after weighting",
        "partnered_g": "partnered",
        "other_g": "other",
        "share": "share of villages",
        "status_start": "Status at start",
        "status_end": "Status at end",
        "covariates": {
            "penduduk_log": "population (log)",
            "jarak_kabupaten_km": "distance to district capital",
            "jarak_kecamatan_km": "distance to kecamatan office",
            "tambang_dekat": "near a mine",
            "perkebunan_dekat": "near a plantation",
            "dana_desa_juta": "Dana Desa",
            "baseline": "indicator in the first year",
        },
        "thin": "based on fewer than 5 villages (not relied on)",
        "score": "Propensity score",
        "density": "Density",
    },
}


def t(lang: str, key: str) -> object:
    """A text of the language (falls back to Indonesian)."""
    return T.get(lang, T["id"]).get(key, T["id"].get(key))


def outcome_label(outcome: str, lang: str) -> str:
    return OUTCOME_LABELS.get(lang, OUTCOME_LABELS["id"]).get(outcome, outcome)


def fmt_effect(x: float, outcome: str, lang: str) -> str:
    """An effect in the outcome's unit: index points with 3 decimals, or percentage points."""
    if outcome == "naik_status":
        return fmt(100 * abs(x), lang, 1) + (
            " poin persentase" if lang == "id" else " percentage points"
        )
    return fmt(abs(x), lang, 3)


def fmt_range(lo: float, hi: float, outcome: str, lang: str) -> tuple[str, str]:
    if outcome == "naik_status":
        return fmt(100 * lo, lang, 1), fmt(100 * hi, lang, 1)
    return fmt(lo, lang, 3), fmt(hi, lang, 3)
