"""A synthetic panel on the real village frame, with known true effects (SYNTHETIC EXAMPLE).

The data-generating process (written out for people in ``data/example/README.md``):

* Villages: every village of the frame; kelurahan kept (marked) but get no IDM and no
  partnership. Covariates drawn per district: mining and plantation presence, distances (remote
  upriver districts far from offices), population, area, terrain, Dana Desa.
* Untreated potential outcomes, component ``c`` in (IKS, IKE, IKL), desa ``i``, year ``t``::

      eta0[c,i,t] = m[c,kab] + x_i' b_c + u[c,i] + r_c (t - 2024) + e[c,i,t]
      Y0[c,i,t]   = round_to_grid_c( expit(eta0[c,i,t]) )

  ``u`` is a desa effect (correlated across components), ``e`` yearly noise, the grids are the
  instrument's (IKS in 1/175, IKE in 1/60, IKL in 1/15). ``m`` is calibrated per kabupaten so
  the 2024 means match the real IDM 2024 values. The expit link gives the ceiling near 1.
* Partnership: ``P(ever) = expit(a + 1.4 mining + 0.5 plantation - 0.012 dist_kab + 4 (L_2018
  - 0.7))`` where L_2018 is the desa's persistent 2018 level (without that year's noise); start dates 2019-2024 (earlier for mining villages). Exposure year ``g`` = start
  year, or the next year for starts from July (IDM is measured once a year).
* Treated potential outcomes: ``eta1 = eta0 + tau_type * load[sector, c] * min(1, (t-g+1)/3)``
  for ``t >= g``, zero before (effects build up over three years, and the logit link keeps
  them inside [0, 1] near the ceiling).
* Carried-forward values (a year's values copied from the year before, flagged) and a few
  missing desa-years, as in the real files. IDM = mean of the components; status from the
  official thresholds.

The true effects (``truth.json``) are means of ``Y1 - Y0`` over the partnered desa-years.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.design import exposure_year
from analysis.errors import OptionError, Phrase
from analysis.files import write_dir_atomically, write_json
from analysis.inputs import frame as frame_mod
from analysis.inputs.dataset import write_tables
from analysis.schema import IDM_THRESHOLDS

SYNTHETIC_LABEL = "SYNTHETIC EXAMPLE / CONTOH DATA SINTETIS"
YEARS = tuple(range(2018, 2025))
COMPONENTS = ("iks", "ike", "ikl")
GRID = {"iks": 175, "ike": 60, "ikl": 15}

#: Calibration targets: real IDM 2024 component means per kabupaten (East Kalimantan, from the
#: Ministry's release; tests recompute them from ../shared/data when it is present).
TARGET_MEANS_2024 = {
    "64.01": (0.8092, 0.6765, 0.8648),
    "64.02": (0.8419, 0.7285, 0.8204),
    "64.03": (0.8097, 0.6282, 0.7767),
    "64.07": (0.8099, 0.6782, 0.8253),
    "64.08": (0.7975, 0.7018, 0.7238),
    "64.09": (0.8499, 0.7650, 0.8467),
    "64.11": (0.7947, 0.6003, 0.7467),
}
#: Used for districts outside East Kalimantan (the province's 2024 means).
TARGET_MEANS_DEFAULT = (0.8101, 0.6730, 0.7953)
#: Real 2024 status shares in East Kalimantan, and spread of 2023->2024 changes per component.
TARGET_STATUS_2024 = {
    "MANDIRI": 0.3115,
    "MAJU": 0.4518,
    "BERKEMBANG": 0.2319,
    "TERTINGGAL": 0.0048,
    "SANGAT TERTINGGAL": 0.0,
}
TARGET_CHANGE_SD = {"iks": 0.0298, "ike": 0.0505, "ikl": 0.0683, "nilai_idm": 0.0293}
TARGET_CROSS_SD_2024 = {"iks": 0.0730, "ike": 0.1338, "ikl": 0.1271}

# Structural parameters (logit scale).
DESA_SD = {"iks": 0.44, "ike": 0.60, "ikl": 0.72}
NOISE_SD = {"iks": 0.13, "ike": 0.19, "ikl": 0.30}
TREND = {"iks": 0.07, "ike": 0.08, "ikl": 0.12}
CARRY_FORWARD_RATE = 0.12
MISSING_DESA_RATE = 0.02
MINING_P = {
    "64.01": 0.30,
    "64.02": 0.38,
    "64.03": 0.25,
    "64.07": 0.15,
    "64.08": 0.32,
    "64.09": 0.12,
    "64.11": 0.03,
}
PLANTATION_P = {
    "64.01": 0.55,
    "64.02": 0.45,
    "64.03": 0.40,
    "64.07": 0.40,
    "64.08": 0.55,
    "64.09": 0.50,
    "64.11": 0.10,
}
REMOTE_KM = {"64.07": 95.0, "64.11": 160.0, "64.03": 70.0, "64.08": 75.0}
PARTNER_TYPE_EFFECT = {
    "perusahaan": 0.45,
    "bumn": 0.35,
    "baznas": 0.20,
    "yayasan": 0.18,
    "perguruan_tinggi": 0.15,
    "lsm": 0.12,
    "bank": 0.15,
    "lainnya": 0.08,
}
SECTOR_LOAD = {  # share of the partner effect reaching (IKS, IKE, IKL)
    "ekonomi": (0.3, 1.0, 0.0),
    "infrastruktur": (0.6, 0.6, 0.1),
    "pendidikan": (1.0, 0.2, 0.0),
    "kesehatan": (1.0, 0.1, 0.2),
    "lingkungan": (0.1, 0.1, 1.0),
    "sosial": (1.0, 0.3, 0.0),
}
SECTORS_BY_TYPE = {
    "perusahaan": ("ekonomi", "infrastruktur", "lingkungan", "pendidikan"),
    "bumn": ("ekonomi", "infrastruktur"),
    "baznas": ("sosial", "kesehatan", "ekonomi"),
    "yayasan": ("pendidikan", "sosial", "kesehatan"),
    "perguruan_tinggi": ("pendidikan", "ekonomi"),
    "lsm": ("lingkungan", "sosial"),
    "bank": ("ekonomi",),
    "lainnya": ("sosial", "infrastruktur"),
}
RAMP_YEARS = 3


@dataclass(frozen=True, kw_only=True)
class Simulation:
    """Tables as written, plus the potential outcomes behind them (for checking the truth)."""

    villages: pd.DataFrame
    welfare: pd.DataFrame
    partnerships: pd.DataFrame
    potential: pd.DataFrame  # desa-year: y0_*, y1_*, treated-exposed flag, present in data
    truth: dict
    calibration: dict


def _round_grid(x: np.ndarray, c: str) -> np.ndarray:
    return np.round(np.round(x * GRID[c]) / GRID[c], 4)


def _status(v: np.ndarray) -> np.ndarray:
    labels = np.array([s for s, _ in IDM_THRESHOLDS], dtype=object)
    uppers = np.array([u for _, u in IDM_THRESHOLDS[:-1]])
    return labels[np.searchsorted(uppers, v, side="left")]


def _villages(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(frame)
    kab = frame["kode_kab"].to_numpy()
    pm = np.array([MINING_P.get(k, 0.06) for k in kab])
    pp = np.array([PLANTATION_P.get(k, 0.25) for k in kab])
    remote = np.array([REMOTE_KM.get(k, 40.0) for k in kab])
    is_kel = (frame["jenis"] == "kelurahan").to_numpy()
    v = frame[list(frame_mod.FRAME_COLUMNS)].copy()
    v["penduduk"] = np.round(
        np.exp(rng.normal(np.log(1600), 0.7, n)) * np.where(is_kel, 4, 1)
    ).astype("int64")
    v["luas_km2"] = np.round(np.exp(rng.normal(np.log(45), 1.0, n)) * np.where(is_kel, 0.2, 1), 2)
    v["jarak_kabupaten_km"] = np.round(
        np.exp(rng.normal(np.log(remote), 0.6)) * np.where(is_kel, 0.2, 1), 1
    )
    v["jarak_kecamatan_km"] = np.round(np.exp(rng.normal(np.log(7), 0.8, n)), 1)
    v["topografi"] = rng.choice(
        np.array(["dataran", "perbukitan", "pesisir", "tepi_sungai"]), n, p=[0.4, 0.25, 0.12, 0.23]
    )
    v["tambang_dekat"] = rng.random(n) < pm
    v["perkebunan_dekat"] = rng.random(n) < pp
    v["dana_desa_juta"] = np.where(
        is_kel, 0.0, np.round(700 + 0.08 * v["penduduk"] + rng.normal(0, 60, n), 1)
    )
    v["tambang_dekat"] = v["tambang_dekat"].astype("boolean")
    v["perkebunan_dekat"] = v["perkebunan_dekat"].astype("boolean")
    for c in (*frame_mod.FRAME_COLUMNS, "topografi"):
        v[c] = v[c].astype("string")
    return v.reset_index(drop=True)


def _calibrate_intercepts(
    kab: np.ndarray, base: dict[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """Per kabupaten and component, the intercept whose expected 2024 mean hits the target.

    The expectation over the yearly noise uses 3-point Gauss-Hermite quadrature (nodes 0 and
    +-sqrt(3) sd, weights 2/3 and 1/6); the intercept is found by bisection.
    """
    out: dict[str, dict[str, float]] = {c: {} for c in COMPONENTS}
    for k in np.unique(kab):
        target = TARGET_MEANS_2024.get(k, TARGET_MEANS_DEFAULT)
        sel = kab == k
        for j, c in enumerate(COMPONENTS):
            b = base[c][sel]
            h = NOISE_SD[c] * np.sqrt(3)
            lo, hi = -6.0, 8.0
            for _ in range(40):
                m = (lo + hi) / 2
                val = (2 / 3) * expit(m + b).mean() + (1 / 6) * (
                    expit(m + b + h).mean() + expit(m + b - h).mean()
                )
                lo, hi = (m, hi) if val < target[j] else (lo, m)
            out[c][k] = (lo + hi) / 2
    return out


def _partnerships(
    desa: pd.DataFrame, idm2018: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """The synthetic registry, its draws in a fixed order.

    Who partners (selected on covariates and the 2018 level), when, with whom and in which
    sector.
    """
    idx = _partnered(desa, idm2018, rng)
    m = desa["tambang_dekat"].to_numpy(dtype=bool)[idx]
    start = _start_dates(m, rng)
    jenis, sektor = _partner_kinds(m, rng)
    sign = start - pd.to_timedelta(rng.integers(0, 60, len(idx)), unit="D")
    end = start + pd.to_timedelta(rng.integers(2, 6, len(idx)) * 365, unit="D")
    p = _registry_table(desa, idx, jenis, sektor, sign, start, end, rng)
    for c in (
        "id_kerjasama",
        "kode_desa",
        "sistem_kode",
        "nama_desa",
        "mitra",
        "jenis_mitra",
        "bidang",
        "sektor",
        "instrumen",
        "status",
        "sumber_dokumen",
    ):
        p[c] = p[c].astype("string")
    for c in ("tanggal_tanda_tangan", "tanggal_mulai", "tanggal_selesai"):
        p[c] = pd.to_datetime(p[c]).astype("datetime64[ns]")
    return p


def _partnered(desa: pd.DataFrame, idm2018: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of the desa that ever partner.

    More likely near mines and plantations, close to the kabupaten seat, and better off in 2018.
    """
    mining = desa["tambang_dekat"].to_numpy(dtype=bool)
    plant = desa["perkebunan_dekat"].to_numpy(dtype=bool)
    dist = desa["jarak_kabupaten_km"].to_numpy(dtype=float)
    score = -2.5 + 1.4 * mining + 0.5 * plant - 0.012 * (dist - 40) + 4.0 * (idm2018 - 0.70)
    ever = rng.random(len(desa)) < expit(score)
    return np.flatnonzero(ever)


def _start_dates(m: np.ndarray, rng: np.random.Generator) -> pd.Series:
    """Start dates 2019-2024, earlier for mining villages (CSR obligations came first)."""
    years = np.arange(2019, 2025)
    p_mine = np.array([0.24, 0.2, 0.18, 0.15, 0.13, 0.10])
    p_other = np.array([0.08, 0.12, 0.16, 0.2, 0.22, 0.22])
    start_year = np.where(
        m, rng.choice(years, len(m), p=p_mine), rng.choice(years, len(m), p=p_other)
    )
    day = rng.integers(0, 365, len(m))
    return pd.to_datetime(pd.Series(start_year).astype(str) + "-01-01") + pd.to_timedelta(
        day, unit="D"
    )


def _partner_kinds(m: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Partner type (companies near mines) and a sector that type works in."""
    types = np.array(list(PARTNER_TYPE_EFFECT))
    p_mine_t = np.array([0.62, 0.12, 0.08, 0.06, 0.04, 0.02, 0.04, 0.02])
    p_other_t = np.array([0.22, 0.12, 0.2, 0.16, 0.12, 0.06, 0.06, 0.06])
    jenis = np.where(
        m, rng.choice(types, len(m), p=p_mine_t), rng.choice(types, len(m), p=p_other_t)
    )
    sektor = np.array([rng.choice(SECTORS_BY_TYPE[t]) for t in jenis])
    return jenis, sektor


#: The synthetic partner of each type, numbered per desa.
_MITRA_NAMES = {
    "perusahaan": "PT Contoh Sumber Daya",
    "bumn": "PT Contoh Persero",
    "baznas": "BAZNAS Kabupaten Contoh",
    "yayasan": "Yayasan Contoh Sejahtera",
    "perguruan_tinggi": "Universitas Contoh",
    "lsm": "LSM Contoh Lestari",
    "bank": "Bank Contoh Daerah",
    "lainnya": "Mitra Contoh",
}


def _registry_table(
    desa: pd.DataFrame,
    idx: np.ndarray,
    jenis: np.ndarray,
    sektor: np.ndarray,
    sign: pd.Series,
    start: pd.Series,
    end: pd.Series,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The registry rows in the template's columns (instrument and value drawn here, in order)."""
    today = pd.Timestamp("2025-12-31")
    return pd.DataFrame(
        {
            "id_kerjasama": [f"SIM-{i + 1:06d}" for i in range(len(idx))],
            "kode_desa": desa["kode_desa"].to_numpy()[idx],
            "sistem_kode": "kemendagri",
            "nama_desa": desa["nama_desa"].to_numpy()[idx],
            "mitra": [
                f"{_MITRA_NAMES[t]} {k % 97 + 1} (sintetis)"
                for k, t in zip(idx, jenis, strict=True)
            ],
            "jenis_mitra": jenis,
            "bidang": np.where(
                np.isin(sektor, ["ekonomi"]),
                "pemberdayaan",
                np.where(sektor == "infrastruktur", "pembangunan", "pembinaan_kemasyarakatan"),
            ),
            "sektor": sektor,
            "instrumen": rng.choice(
                np.array(["mou", "perjanjian_bersama"]), len(idx), p=[0.7, 0.3]
            ),
            "tanggal_tanda_tangan": sign.to_numpy(),
            "tanggal_mulai": start.to_numpy(),
            "tanggal_selesai": end.to_numpy(),
            "nilai_rupiah": np.round(np.exp(rng.normal(np.log(2.5e8), 0.8, len(idx))), -6),
            "status": np.where(end.to_numpy() < today.to_datetime64(), "selesai", "aktif"),
            "sumber_dokumen": SYNTHETIC_LABEL,
        }
    )


@dataclass(frozen=True, kw_only=True)
class _Exposure:
    """Each desa's exposure to a partnership.

    Exposure year (0: never), partner effect, sector loads, and per year whether it is exposed
    and how far the effect has ramped up.
    """

    g: np.ndarray
    tau_type: np.ndarray
    load: np.ndarray
    exposed: np.ndarray
    ramp: np.ndarray


@dataclass(frozen=True, kw_only=True)
class _Outcomes:
    """Potential outcomes per component (untreated, treated) and the IDM of each."""

    y: dict
    idm0: np.ndarray
    idm1: np.ndarray


def simulate(
    province: str = "64",
    seed: int = 20250826,
    effect_scale: float = 1.0,
    spillover_km: float = 0.0,
    spillover_effect: float = 0.0,
) -> Simulation:
    """Simulate villages, a 2018-2024 IDM panel and a registry; compute the truth.

    Parameters
    ----------
    province
        Province code (``"64"``) or ``"all"`` for every desa of the nation.
    seed
        Seed of the local ``numpy.random.default_rng``; same seed, same tables.
    effect_scale
        Multiplies every partner-type effect: 0 is a placebo world (every true effect zero,
        everything else identical draw for draw), 1 the default.
    spillover_km, spillover_effect
        Simulated spillovers (default none): every never-partnered desa within
        ``spillover_km`` km of a partnered desa (great circle between the shipped centroids)
        gets ``spillover_effect`` times that partner's effect, component by component on the
        logit scale with the same three-year ramp, from the partner's exposure year (the
        earliest-exposed partner within the radius when there are several). A share, so it
        follows ``effect_scale`` and the partner type and sector; negative for neighbours that
        lose trade and workers. No random draw is added, so every other table is identical draw
        for draw, and with the option off the bytes are those of the seed alone.
        ``truth.json`` records the radius, the share, the desa that got it and its true mean
        effect on them (``spillover``).

    Returns
    -------
    Simulation
        The villages, welfare and registry tables, the potential outcomes, the truth and the
        calibration report.
    """
    if not np.isfinite(effect_scale):
        raise ValueError(f"effect_scale must be a finite number (got {effect_scale!r})")
    rng = np.random.default_rng(seed)  # every draw below comes from it, in a fixed order
    villages = _villages(_province_frame(province), rng)
    desa = villages[villages["jenis"].isin(frame_mod.DESA_KINDS)].reset_index(drop=True)
    kab = desa["kode_kab"].to_numpy()
    base = _desa_levels(desa, rng)
    intercepts = _calibrate_intercepts(kab, base)
    eta0 = _untreated_index(kab, base, intercepts, rng)
    reg = _partnerships(desa, _selection_level(kab, base, intercepts), rng)
    ex = _exposure(desa, reg, effect_scale)
    carry = rng.random((len(desa), len(YEARS))) < CARRY_FORWARD_RATE
    carry[:, 0] = False
    spill = _spillover(desa, ex, spillover_km, spillover_effect)
    out = _outcomes(_shifted(eta0, spill), ex, carry)
    keep = _present(len(desa), rng).ravel()
    welfare = _welfare_table(desa, out, ex, carry, keep)
    potential = _potential_table(desa, kab, out, ex, keep, reg)
    truth = compute_truth(potential, province=province, seed=seed)
    if effect_scale != 1.0:  # recorded only when not the default (the default bytes stay put)
        truth["effect_scale"] = effect_scale
    if spill is not None:  # likewise: only when spillovers were simulated
        truth["spillover"] = _spillover_truth(spill, out, _outcomes(eta0, ex, carry), keep)
    calib = calibration_report(welfare, desa)
    return Simulation(
        villages=villages,
        welfare=welfare,
        partnerships=reg,
        potential=potential,
        truth=truth,
        calibration=calib,
    )


def _province_frame(province: str) -> pd.DataFrame:
    """The frame's villages of one province (or of every province for ``"all"``)."""
    f = frame_mod.load_frame()
    if province != "all":
        f = f[f["kode_prov"] == str(province)]
        if f.empty:
            raise ValueError(f"province '{province}' is not in the frame")
    return f.reset_index(drop=True)


def _desa_levels(desa: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each desa's persistent level per component (logit scale, before the kabupaten intercept).

    Correlated desa effects (IKS-IKE 0.6 as in the real data) and covariates.
    """
    n = len(desa)
    mining = desa["tambang_dekat"].to_numpy(dtype=bool).astype(float)
    plant = desa["perkebunan_dekat"].to_numpy(dtype=bool).astype(float)
    far = np.log(desa["jarak_kabupaten_km"].to_numpy(dtype=float) / 40)
    z = rng.standard_normal((n, 3))
    u = {
        "iks": DESA_SD["iks"] * z[:, 0],
        "ike": DESA_SD["ike"] * (0.6 * z[:, 0] + 0.8 * z[:, 1]),
        "ikl": DESA_SD["ikl"] * (0.15 * z[:, 0] + 0.99 * z[:, 2]),
    }
    return {
        "iks": u["iks"] - 0.15 * far + 0.10 * mining,
        "ike": u["ike"] - 0.25 * far + 0.30 * mining + 0.15 * plant,
        "ikl": u["ikl"] + 0.10 * far - 0.35 * mining,
    }


def _untreated_index(
    kab: np.ndarray, base: dict, intercepts: dict, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The untreated components per desa and year (logit scale): level, trend and noise."""
    n, T = len(kab), len(YEARS)
    t_off = np.array(YEARS) - 2024
    eta0 = {}
    for c in COMPONENTS:
        m = np.array([intercepts[c][k] for k in kab])
        eta0[c] = (
            (m + base[c])[:, None]
            + TREND[c] * t_off[None, :]
            + NOISE_SD[c] * rng.standard_normal((n, T))
        )
    return eta0


def _selection_level(kab: np.ndarray, base: dict, intercepts: dict) -> np.ndarray:
    """The persistent 2018 level partners select on."""
    # selection acts on the persistent 2018 level (desa effect and covariates), not on that
    # year's transient noise: partners pick villages that are better off, not lucky draws
    return np.mean(
        [
            expit(np.array([intercepts[c][k] for k in kab]) + base[c] + TREND[c] * (2018 - 2024))
            for c in COMPONENTS
        ],
        axis=0,
    )


def _exposure(desa: pd.DataFrame, reg: pd.DataFrame, effect_scale: float) -> _Exposure:
    """Exposure years from the registry's start dates, the partner effects and their ramp."""
    n = len(desa)
    pos = pd.Series(np.arange(n), index=desa["kode_desa"].to_numpy())
    g = np.zeros(n, dtype=int)
    tau_type = np.zeros(n)
    load = np.zeros((n, 3))
    ti = pos[reg["kode_desa"].to_numpy()].to_numpy()
    g[ti] = exposure_year(reg["tanggal_mulai"]).to_numpy(dtype=int)
    tau_type[ti] = reg["jenis_mitra"].map(PARTNER_TYPE_EFFECT).to_numpy(dtype=float) * effect_scale
    load[ti] = np.array([SECTOR_LOAD[s] for s in reg["sektor"]])
    years = np.array(YEARS)[None, :]
    exposed = (g[:, None] > 0) & (years >= g[:, None])
    ramp = np.where(exposed, np.minimum(1.0, (years - g[:, None] + 1) / RAMP_YEARS), 0.0)
    return _Exposure(g=g, tau_type=tau_type, load=load, exposed=exposed, ramp=ramp)


#: Mean Earth radius (km), IUGG: the sphere of ``analysis.methods.spillover.haversine_km``.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, kw_only=True)
class _Spillover:
    """Simulated spillovers: which desa get them, from when, and the shift per component."""

    radius_km: float
    share: float
    table: pd.DataFrame  # kode_desa, g (first year of the spillover), dari (the partner desa)
    rows: np.ndarray  # positions of those desa in ``desa``
    shift: dict  # component -> (n desa, T years) logit-scale shift


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _spillover(desa: pd.DataFrame, ex: _Exposure, km: float, share: float) -> _Spillover | None:
    """The never-partnered desa within ``km`` of a partnered desa, and the effect each gets.

    Neighbours are found on the unit sphere (a chord of ``2 sin(d / 2R)`` is a great-circle
    distance ``d``: the same distance as the district checks'). None when the option is off.
    """
    if not (np.isfinite(km) and km >= 0 and np.isfinite(share)):
        raise OptionError(
            f"--spillover-km must be a distance of 0 or more and --spillover-effect a finite "
            f"share (got {km!r} and {share!r})",
            key="option.spillover_values",
            km=repr(km),
            share=repr(share),
        )
    if (km > 0) != (share != 0):
        raise OptionError(
            "--spillover-km and --spillover-effect go together: give a radius and a share of "
            f"the partner's effect, e.g. --spillover-km 5 --spillover-effect 0.5 (got {km!r} "
            f"and {share!r})",
            key="option.spillover_pair",
            km=repr(km),
            share=repr(share),
        )
    if km == 0:
        return None
    from scipy.spatial import cKDTree

    from analysis.inputs.coordinates import shipped_centroids

    pts = desa[["kode_desa"]].merge(shipped_centroids(), on="kode_desa", how="left")
    lat, lon = pts["latitude"].to_numpy(float), pts["longitude"].to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    part = np.flatnonzero(ok & (ex.g > 0))
    comp = np.flatnonzero(ok & (ex.g == 0))
    xyz = _unit_vectors(lat, lon)
    chord = 2 * np.sin(km / (2 * EARTH_RADIUS_KM))
    hits = cKDTree(xyz[part]).query_ball_point(xyz[comp], chord) if len(part) else []
    rows, src = [], []
    for i, near in zip(comp, hits, strict=False):
        if near:
            cand = part[np.asarray(near)]
            src.append(int(cand[np.argmin(ex.g[cand] * 1e6 + cand)]))  # earliest, then first
            rows.append(int(i))
    rows_a, src_a = np.asarray(rows, dtype=int), np.asarray(src, dtype=int)
    years = np.array(YEARS)[None, :]
    g = ex.g[src_a][:, None]
    ramp = np.where(years >= g, np.minimum(1.0, (years - g + 1) / RAMP_YEARS), 0.0)
    shift = {}
    for j, c in enumerate(COMPONENTS):
        s = np.zeros((len(desa), len(YEARS)))
        s[rows_a] = (share * ex.tau_type[src_a] * ex.load[src_a, j])[:, None] * ramp
        shift[c] = s
    codes = desa["kode_desa"].to_numpy()
    table = pd.DataFrame({"kode_desa": codes[rows_a], "g": ex.g[src_a], "dari": codes[src_a]})
    return _Spillover(radius_km=km, share=share, table=table, rows=rows_a, shift=shift)


def _shifted(eta0: dict, spill: _Spillover | None) -> dict:
    """The untreated index with the neighbours' spillover added (``eta0`` itself when none)."""
    if spill is None:
        return eta0
    return {c: eta0[c] + spill.shift[c] for c in COMPONENTS}


def _spillover_truth(spill: _Spillover, out: _Outcomes, none: _Outcomes, keep: np.ndarray) -> dict:
    """What ``truth.json`` records of the simulated spillovers.

    The radius, the share, every desa that got it (with its first year and the partner desa it
    came from) and the true mean effect on the IDM over those desa's observed years from that
    first year (the spilled outcome minus the same desa's outcome without spillover).
    """
    years = np.array(YEARS)[None, :]
    present = keep.reshape(len(out.idm0), len(YEARS))[spill.rows]
    on = (years >= spill.table["g"].to_numpy()[:, None]) & present
    diff = (out.idm0 - none.idm0)[spill.rows][on]
    return {
        "radius_km": spill.radius_km,
        "effect_share": spill.share,
        "meaning": "never-partnered desa within radius_km of a partnered desa get effect_share x "
        "that partner's effect (logit scale, same ramp) from the partner's exposure year g",
        "n_desa": int(len(spill.table)),
        "att_nilai_idm": round(float(diff.mean()), 6) if diff.size else None,
        "n_desa_years": int(diff.size),
        "desa": spill.table.to_dict("records"),
    }


def _outcomes(eta0: dict, ex: _Exposure, carry: np.ndarray) -> _Outcomes:
    """Both potential outcomes on the published grids, carried-forward years repeated."""
    T = len(YEARS)
    y = {}
    for j, c in enumerate(COMPONENTS):
        y0 = _round_grid(expit(eta0[c]), c)
        y1 = _round_grid(expit(eta0[c] + (ex.tau_type * ex.load[:, j])[:, None] * ex.ramp), c)
        for t in range(1, T):  # carried forward: the year repeats the previous year's values
            y0[carry[:, t], t] = y0[carry[:, t], t - 1]
            y1[carry[:, t], t] = y1[carry[:, t], t - 1]
        y[c] = (y0, y1)
    idm0 = np.round(sum(y[c][0] for c in COMPONENTS) / 3, 4)
    idm1 = np.round(sum(y[c][1] for c in COMPONENTS) / 3, 4)
    return _Outcomes(y=y, idm0=idm0, idm1=idm1)


def _present(n: int, rng: np.random.Generator) -> np.ndarray:
    """Which desa-years are in the data: a few desa miss one year after the first."""
    T = len(YEARS)
    present = np.ones((n, T), dtype=bool)
    miss = rng.random(n) < MISSING_DESA_RATE
    present[np.flatnonzero(miss), rng.integers(1, T, miss.sum())] = False
    return present


def _welfare_table(
    desa: pd.DataFrame, out: _Outcomes, ex: _Exposure, carry: np.ndarray, keep: np.ndarray
) -> pd.DataFrame:
    """The observed welfare rows: treated outcomes where exposed, the data's missing years left out."""
    T = len(YEARS)
    years = np.array(YEARS)[None, :]
    y, exposed = out.y, ex.exposed
    obs = {c: np.where(exposed, y[c][1], y[c][0]) for c in COMPONENTS}
    idm = np.where(exposed, out.idm1, out.idm0)
    return pd.DataFrame(
        {
            "kode_desa": pd.array(np.repeat(desa["kode_desa"].to_numpy(), T), dtype="string"),
            "nama_desa": pd.array(np.repeat(desa["nama_desa"].to_numpy(), T), dtype="string"),
            "tahun": pd.array(np.tile(np.array(YEARS), len(desa)), dtype="Int64"),
            "iks": obs["iks"].ravel(),
            "ike": obs["ike"].ravel(),
            "ikl": obs["ikl"].ravel(),
            "nilai_idm": idm.ravel(),
            "status_idm": pd.array(_status(idm.ravel()), dtype="string"),
            "tahun_nilai": pd.array(np.where(carry, years - 1, years).ravel(), dtype="Int64"),
            "dibawa": pd.array(carry.ravel(), dtype="boolean"),
            "catatan": pd.array(
                np.where(carry.ravel(), "nilai dibawa dari tahun sebelumnya", None), dtype="string"
            ),
        }
    )[keep].reset_index(drop=True)


def _status_rises(idm: np.ndarray) -> np.ndarray:
    """1 where the IDM status is above the desa's 2018 status, else 0."""
    rank = {s: i for i, (s, _) in enumerate(IDM_THRESHOLDS)}
    r = np.vectorize(rank.get)(_status(idm.ravel())).reshape(idm.shape)
    return (r > r[:, [0]]).astype(float)


def _potential_table(
    desa: pd.DataFrame,
    kab: np.ndarray,
    out: _Outcomes,
    ex: _Exposure,
    keep: np.ndarray,
    reg: pd.DataFrame,
) -> pd.DataFrame:
    """Both potential outcomes of every desa-year, with the partner type and sector."""
    T = len(YEARS)
    y = out.y
    potential = pd.DataFrame(
        {
            "kode_desa": np.repeat(desa["kode_desa"].to_numpy(), T),
            "kode_kab": np.repeat(kab, T),
            "tahun": np.tile(np.array(YEARS), len(desa)),
            "g": np.repeat(ex.g, T),
            "exposed": ex.exposed.ravel(),
            "present": keep,
            "y0_iks": y["iks"][0].ravel(),
            "y1_iks": y["iks"][1].ravel(),
            "y0_ike": y["ike"][0].ravel(),
            "y1_ike": y["ike"][1].ravel(),
            "y0_ikl": y["ikl"][0].ravel(),
            "y1_ikl": y["ikl"][1].ravel(),
            "y0_nilai_idm": out.idm0.ravel(),
            "y1_nilai_idm": out.idm1.ravel(),
            "y0_naik_status": _status_rises(out.idm0).ravel(),
            "y1_naik_status": _status_rises(out.idm1).ravel(),
        }
    )
    return potential.merge(reg[["kode_desa", "jenis_mitra", "sektor"]], on="kode_desa", how="left")


OUTCOME_NAMES = ("nilai_idm", "iks", "ike", "ikl", "naik_status")


def _att(d: pd.DataFrame, o: str) -> dict:
    eff = d[f"y1_{o}"] - d[f"y0_{o}"]
    return {
        "att": round(float(eff.mean()), 6),
        "n_desa": int(d["kode_desa"].nunique()),
        "n_desa_years": int(len(d)),
    }


def compute_truth(potential: pd.DataFrame, province: str, seed: int) -> dict:
    """True ATTs: means of Y1 - Y0 over partnered desa-years observed in the data.

    ``overall`` averages over every exposed desa-year (the estimand of the Callaway-Sant'Anna
    simple aggregation); ``cross_section`` over exposed desa in one year; the rest split
    ``overall`` by district, partner type, sector, start cohort and year, and years since start.
    """
    d = potential[potential["exposed"] & potential["present"]]
    out: dict = {
        "label": SYNTHETIC_LABEL,
        "province": province,
        "seed": seed,
        "years": list(YEARS),
        "estimand": "ATT: mean of Y1 - Y0 over partnered desa-years with tahun >= g (exposure year), observed rows",
        "outcomes": {},
    }
    for o in OUTCOME_NAMES:
        t = {
            "overall": _att(d, o),
            "cross_section": {str(y): _att(dd, o) for y, dd in d.groupby("tahun")},
            "by_district": {k: _att(dd, o) for k, dd in d.groupby("kode_kab")},
            "by_partner_type": {k: _att(dd, o) for k, dd in d.groupby("jenis_mitra")},
            "by_sector": {k: _att(dd, o) for k, dd in d.groupby("sektor")},
            "by_cohort_year": {
                str(gg): {str(y): _att(ddd, o)["att"] for y, ddd in dd.groupby("tahun")}
                for gg, dd in d.groupby("g")
            },
            "by_event_time": {str(e): _att(dd, o) for e, dd in d.groupby(d["tahun"] - d["g"])},
        }
        t["by_district_cross_section_2024"] = {
            k: _att(dd, o) for k, dd in d[d["tahun"] == 2024].groupby("kode_kab")
        }
        out["outcomes"][o] = t
    return out


def calibration_report(welfare: pd.DataFrame, desa: pd.DataFrame) -> dict:
    """Achieved values next to the calibration targets."""
    w = welfare.merge(desa[["kode_desa", "kode_kab"]], on="kode_desa")
    w24 = w[w["tahun"] == 2024]
    means = w24.groupby("kode_kab")[list(COMPONENTS)].mean()
    rows = []
    for k, r in means.iterrows():
        tgt = TARGET_MEANS_2024.get(k, TARGET_MEANS_DEFAULT)
        rows.append(
            {
                "kode_kab": k,
                **{f"{c}_target": tgt[j] for j, c in enumerate(COMPONENTS)},
                **{f"{c}_achieved": round(float(r[c]), 4) for c in COMPONENTS},
            }
        )
    shares = w24["status_idm"].value_counts(normalize=True)
    piv = w[w["tahun"].isin([2023, 2024])].pivot_table(
        index="kode_desa", columns="tahun", values=list(COMPONENTS) + ["nilai_idm"]
    )
    change_sd = {
        c: round(float((piv[(c, 2024)] - piv[(c, 2023)]).std()), 4)
        for c in (*COMPONENTS, "nilai_idm")
    }
    return {
        "means_2024": rows,
        "status_2024": {
            s: {"target": TARGET_STATUS_2024[s], "achieved": round(float(shares.get(s, 0.0)), 4)}
            for s in TARGET_STATUS_2024
        },
        "change_sd_2023_2024": {
            c: {"target": TARGET_CHANGE_SD[c], "achieved": change_sd[c]} for c in change_sd
        },
        "cross_sd_2024": {
            c: {"target": TARGET_CROSS_SD_2024[c], "achieved": round(float(w24[c].std()), 4)}
            for c in COMPONENTS
        },
        "carried_forward_share": round(float(welfare["dibawa"].mean()), 4),
    }


def write_example(
    out: Path,
    province: str = "64",
    seed: int = 20250826,
    force: bool = False,
    effect_scale: float = 1.0,
    spillover_km: float = 0.0,
    spillover_effect: float = 0.0,
    indeks_desa: bool = False,
) -> Phrase:
    """Simulate and write a data folder (tables, truth.json, calibration.json), whole or not at all.

    ``effect_scale`` 0 writes a placebo world (truth.json records the scale and zero effects);
    ``spillover_km`` and ``spillover_effect`` simulate spillovers (:func:`simulate`).
    ``indeks_desa`` also writes an Indeks Desa series 2025-2027 with a known effect for the
    desa of the 2025 MoUs (:mod:`analysis.inputs.indeks_desa_sim`; truth.json's
    ``indeks_desa``); off, the folder is the same byte for byte.
    Returns what was written as a console note (catalog ``input.note.example``: villages, desa,
    years, partnerships and seconds), worded in ``--lang`` by the command line.
    """
    t0 = time.perf_counter()
    sim = simulate(province, seed, effect_scale, spillover_km, spillover_effect)
    tables = {"villages": sim.villages, "welfare": sim.welfare, "partnerships": sim.partnerships}
    if indeks_desa:
        from analysis.inputs.indeks_desa_sim import mou_desa, simulate_indeks_desa

        tables["indeks_desa"], sim.truth["indeks_desa"] = simulate_indeks_desa(
            sim.welfare, mou_desa(), seed, effect_scale
        )
    meta = {
        "title": f"{SYNTHETIC_LABEL}: province {province}, seed {seed}",
        "synthetic": True,
        "label": SYNTHETIC_LABEL,
        "province": province,
        "seed": seed,
        "generator": "analysis.inputs.example_data",
    }
    if effect_scale != 1.0:
        meta["effect_scale"] = effect_scale
    if "spillover" in sim.truth:
        meta["spillover"] = {"radius_km": spillover_km, "effect_share": spillover_effect}
    if indeks_desa:
        meta["indeks_desa"] = "simulated 2025-2027, known effect for the 2025 MoU desa"

    def write(tmp: Path) -> None:
        write_tables(tmp, tables, meta)
        write_json(tmp / "truth.json", sim.truth)
        write_json(tmp / "calibration.json", sim.calibration)

    card = Path(out) / "README.md"
    keep_card = card.read_text(encoding="utf-8") if card.exists() else None
    write_dir_atomically(Path(out), write, force=force, kind="example-data")
    if keep_card is not None:  # the data card is documentation: kept, its numbers refreshed
        card.write_text(refresh_card(keep_card, sim.truth, sim.calibration), encoding="utf-8")
    return Phrase(
        key="note.example",
        args={
            "n_villages": len(sim.villages),
            "n_desa": int(sim.welfare["kode_desa"].nunique()),
            "n_years": len(YEARS),
            "n_partnerships": len(sim.partnerships),
            "seconds": round(time.perf_counter() - t0, 1),
        },
    )


CARD_BEGIN = "<!-- generated:begin (by `make example-data` from truth.json and calibration.json; do not edit) -->"
CARD_END = "<!-- generated:end -->"


def card_numbers(truth: dict, calibration: dict) -> str:
    """The data card's generated part: headline truth and the calibration tables."""
    o = truth["outcomes"]["nilai_idm"]
    lines = [
        f"With seed {truth['seed']}: overall IDM effect {o['overall']['att']:.4f} over {o['overall']['n_desa']} partnered "
        f"desa ({o['overall']['n_desa_years']} desa-years); 2024 cross-section {o['cross_section']['2024']['att']:.4f}. "
        "By outcome (overall): "
        + ", ".join(f"{k} {v['overall']['att']:.4f}" for k, v in truth["outcomes"].items())
        + ".",
        "",
        "| kabupaten | IKS target / achieved | IKE target / achieved | IKL target / achieved |",
        "|---|---|---|---|",
    ]
    for r in calibration["means_2024"]:
        cells = " | ".join(f"{r[c + '_target']:.4f} / {r[c + '_achieved']:.4f}" for c in COMPONENTS)
        lines.append(f"| {r['kode_kab']} | {cells} |")
    lines += ["", "| status 2024 | real share | simulated share |", "|---|---|---|"]
    lines += [
        f"| {k} | {v['target']:.4f} | {v['achieved']:.4f} |"
        for k, v in calibration["status_2024"].items()
    ]
    lines += ["", "| sd of 2023-2024 change | real | simulated |", "|---|---|---|"]
    lines += [
        f"| {k} | {v['target']:.4f} | {v['achieved']:.4f} |"
        for k, v in calibration["change_sd_2023_2024"].items()
    ]
    lines += [
        "",
        f"Carried-forward share: {calibration['carried_forward_share']:.3f} of desa-years.",
    ]
    return "\n".join(lines)


def refresh_card(card: str, truth: dict, calibration: dict) -> str:
    """Replace the generated part of a data card (between the markers) with current numbers."""
    if CARD_BEGIN not in card or CARD_END not in card:
        return card
    head, rest = card.split(CARD_BEGIN, 1)
    _, tail = rest.split(CARD_END, 1)
    return f"{head}{CARD_BEGIN}\n{card_numbers(truth, calibration)}\n{CARD_END}{tail}"


__all__ = [
    "simulate",
    "write_example",
    "compute_truth",
    "Simulation",
    "SYNTHETIC_LABEL",
    "json",
    "dt",
]
