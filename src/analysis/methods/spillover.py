"""Where the partnered desa are, and whether their neighbours make poor comparison desa.

A comparison desa next to a partnered one may share its benefit (roads, markets and clinics
serve neighbours too: the estimate is then too small) or lose trade and workers to it (too
large). This module gives each desa its group (:func:`desa_groups`, the rules of
:class:`analysis.methods.describe.Counts`) and the great-circle distance from every desa to the
nearest evaluated partnered desa (:func:`nearest_partnered_km`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.design import COUNTING_STATUSES, Design, agreement_exposure
from analysis.methods.panel import MIN_TREATED, callaway_santanna
from analysis.methods.results import (
    MIN_EVALUATED,
    MIN_SUBGROUP_CLUSTERS,
    Estimate,
    NotEstimable,
    Result,
    to_frame,
)

#: A desa's group on the map and in the distance checks (the rules of ``Counts``).
GROUPS = ("evaluated", "too_recent", "comparison", "from_start", "no_data")
#: Mean Earth radius (km), IUGG.
EARTH_RADIUS_KM = 6371.0088
#: Radii (km) within which comparison desa are left out for the robustness rows, and the method
#: code of each row (``methods.options.Method``).
EXCLUSION_RADII_KM = {5: "cs_did_excl5km", 10: "cs_did_excl10km"}
#: Ring (km) of the exposure test: never-partnered desa this close to a partnered desa are "near".
NEAR_KM = 5.0
#: Method code of the exposure-by-distance test.
EXPOSURE_METHOD = "spillover_near"
#: Fewest comparison desa left for any of these estimates (as the fewest partnered desa).
MIN_COMPARISON = MIN_TREATED
#: Fewest near never-partnered desa, and kecamatan they lie in, for the near-vs-far test (the
#: strong grade's fewest evaluated desa and the subgroups' fewest kecamatan). Thinner rings
#: over-reject: without spillovers, 2-6 near desa in 1-3 kecamatan rejected at 5% in about a
#: fifth of simulated districts (README, "Spillover checks").
MIN_NEAR = MIN_EVALUATED
MIN_NEAR_CLUSTERS = MIN_SUBGROUP_CLUSTERS


def desa_groups(
    desa: pd.Series | list,
    with_data: set | pd.Series | list,
    registry: pd.DataFrame,
    first_year: int,
    last_year: int,
) -> pd.Series:
    """The group of each desa (:data:`GROUPS`), by the rules of the one count of desa.

    Parameters
    ----------
    desa
        The district's desa codes (the official frame's).
    with_data
        The desa with outcome values in the years compared.
    registry
        The district's registry rows with those of the agreements files (counted once).
    first_year, last_year
        The outcome years compared.

    Returns
    -------
    pandas.Series
        Indexed by ``kode_desa``: ``evaluated`` (first counting agreement after the first
        outcome year and by the last, with data), ``too_recent`` (after the last outcome year),
        ``from_start`` (in or before the first outcome year: no year before it),
        ``comparison`` (no counting agreement, with data) or ``no_data``.
    """
    codes = pd.Index(pd.unique(pd.Series(list(desa), dtype="string")), name="kode_desa")
    has = codes.isin(list(with_data))
    counting = registry[registry["status"].isin(COUNTING_STATUSES)] if len(registry) else registry
    first = (
        pd.Series(agreement_exposure(counting).to_numpy(), index=counting["kode_desa"].to_numpy())
        .groupby(level=0)
        .min()
        if len(counting)
        else pd.Series(dtype=float)
    )
    g = first.reindex(codes).to_numpy(dtype=float)
    partnered = ~np.isnan(g)
    out = np.where(has, "comparison", "no_data").astype(object)
    out[partnered & (g > last_year)] = "too_recent"
    out[partnered & has & (g <= first_year)] = "from_start"
    out[partnered & has & (g > first_year) & (g <= last_year)] = "evaluated"
    out[partnered & ~has & (g <= last_year)] = "no_data"
    return pd.Series(out, index=codes, name="kelompok", dtype="string")


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasting).

    The haversine formula (Sinnott 1984, "Virtues of the Haversine", Sky and Telescope 68:159)
    on a sphere of the mean Earth radius; within 0.5% of the ellipsoidal distance.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def nearest_partnered_km(points: pd.DataFrame, partnered: pd.Series) -> np.ndarray:
    """Distance from each point to the nearest point flagged ``partnered`` (km; NaN if none).

    Parameters
    ----------
    points
        ``latitude`` and ``longitude`` per desa (missing points give NaN).
    partnered
        Boolean per row of ``points``: the desa measured to.

    Returns
    -------
    numpy.ndarray
        The distance in km; a partnered desa's own distance is 0.
    """
    lat, lon = points["latitude"].to_numpy(float), points["longitude"].to_numpy(float)
    m = np.asarray(partnered, bool) & np.isfinite(lat) & np.isfinite(lon)
    if not m.any():
        return np.full(len(points), np.nan)
    d = haversine_km(lat[:, None], lon[:, None], lat[m][None, :], lon[m][None, :])
    return d.min(axis=1)


#: Covariates measured from the desa's points, for the researcher to select
#: (``Specification(covariates=(..., "dist_partner_km", "dist_kecamatan_km"))``).
DISTANCE_COVARIATES = ("dist_partner_km", "dist_kecamatan_km")


def distance_covariates(panel: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Per desa of the panel: km to the nearest other partnered desa and to its kecamatan's centre.

    ``dist_partner_km`` is the great-circle distance (:func:`haversine_km`) to the nearest
    partnered desa of the panel (``g`` > 0) other than the desa itself, so a partnered desa is
    measured to its nearest partnered neighbour rather than given 0 (which would tell the
    groups apart by construction). It is set by where the partnerships are, not by the desa
    before them: a check on clustering, not a baseline trait. ``dist_kecamatan_km`` is the
    distance to the kecamatan's centre, the mean latitude and longitude of the points of the
    kecamatan's desa in ``points`` (the district's frame; the data's ``jarak_kecamatan_km`` is
    to the kecamatan office instead). A desa without a usable point gets NaN (the estimators
    leave it out and count it).

    Parameters
    ----------
    panel
        The district's desa-year panel (``kode_desa``, ``kode_kec``, ``g``).
    points
        The district's desa with ``kode_kec``, ``latitude``, ``longitude`` and ``letak``
        (:func:`analysis.inputs.coordinates.desa_points`).

    Returns
    -------
    pandas.DataFrame
        ``kode_desa`` and :data:`DISTANCE_COVARIATES`, one row per desa of the panel.
    """
    desa = panel.groupby("kode_desa", sort=True)[["g", "kode_kec"]].first().reset_index()
    loc = points[points["letak"] == "located"]
    desa = desa.merge(loc[["kode_desa", "latitude", "longitude"]], on="kode_desa", how="left")
    lat, lon = desa["latitude"].to_numpy(float), desa["longitude"].to_numpy(float)
    part = np.flatnonzero((desa["g"].to_numpy(float) > 0) & np.isfinite(lat))
    near = np.full(len(desa), np.nan)
    if len(part):
        d = haversine_km(lat[:, None], lon[:, None], lat[part][None, :], lon[part][None, :])
        d[part, np.arange(len(part))] = np.inf  # not to itself
        m = d.min(axis=1)
        near = np.where(np.isfinite(m), m, np.nan)
    centre = loc.groupby("kode_kec")[["latitude", "longitude"]].mean()
    c = centre.reindex(desa["kode_kec"].to_numpy())
    to_centre = haversine_km(
        lat, lon, c["latitude"].to_numpy(float), c["longitude"].to_numpy(float)
    )
    return pd.DataFrame(
        {"kode_desa": desa["kode_desa"], "dist_partner_km": near, "dist_kecamatan_km": to_centre}
    )


def _distances(panel: pd.DataFrame, points: pd.DataFrame, near_km: float) -> pd.DataFrame:
    """Per desa of the panel: ``g``, distance to the nearest partnered desa, near start year."""
    desa = panel.groupby("kode_desa", sort=True)["g"].first().rename("g").reset_index()
    located = points[points["letak"] == "located"][["kode_desa", "latitude", "longitude"]]
    desa = desa.merge(located, on="kode_desa", how="left")
    partnered = (desa["g"] > 0).to_numpy()
    desa["jarak_km"] = nearest_partnered_km(desa, partnered)
    lat, lon = desa["latitude"].to_numpy(float), desa["longitude"].to_numpy(float)
    m = partnered & np.isfinite(lat)
    start = np.full(len(desa), np.nan)
    if m.any():
        d = haversine_km(lat[:, None], lon[:, None], lat[m][None, :], lon[m][None, :])
        g = np.where(d < near_km, desa["g"].to_numpy(float)[m][None, :], np.inf).min(axis=1)
        start = np.where(np.isfinite(g), g, np.nan)
    desa["awal_dekat"] = start  # first start year among partnered desa within near_km
    return desa


def exclusion_estimate(
    panel: pd.DataFrame,
    dist: pd.DataFrame,
    radius_km: int,
    design: Design,
    control_group: str,
    last_year: int,
    **cs_kwargs,
) -> Result:
    """The headline re-estimated without the comparison desa within ``radius_km`` of a partner.

    Comparison desa with no usable point are left out too (their distance is unknown). Same
    estimator and options as the headline (Callaway and Sant'Anna 2021); only the comparison
    desa change (their number is the fact ``n_dropped_near``). Typed ``too_few_far_comparison``
    when fewer than :data:`MIN_COMPARISON` remain.
    """
    method = EXCLUSION_RADII_KM[radius_km]
    comp, drop = dist["g"] == 0, _dropped(dist, radius_km)
    n_far = int((comp & ~drop).sum())
    n_treated = int((dist["g"] > 0).sum())
    if n_far < MIN_COMPARISON:
        return NotEstimable(
            outcome=design.outcome,
            method=method,
            estimand="ATT",
            reason="too_few_far_comparison",
            detail=f"{n_far} beyond {radius_km} km",
            n_treated=n_treated,
            n_control=n_far,
        )
    keep = panel[~panel["kode_desa"].isin(set(dist.loc[drop, "kode_desa"]))]
    res, _ = callaway_santanna(keep, design, control_group, last_year, **cs_kwargs)
    return _renamed(res, method, n_dropped_near=int(drop.sum()))


def _dropped(dist: pd.DataFrame, radius_km: float) -> pd.Series:
    """The comparison desa within ``radius_km`` of a partnered desa, or without a point."""
    return (dist["g"] == 0) & ~(dist["jarak_km"] >= radius_km)  # NaN (no point) is dropped too


def _renamed(res: Result, method: str, **extra) -> Result:
    if isinstance(res, NotEstimable):
        return replace(res, method=method)
    return replace(res, method=method, facts={**res.facts, **extra})


def exposure_test(
    panel: pd.DataFrame,
    dist: pd.DataFrame,
    design: Design,
    last_year: int,
    near_km: float = NEAR_KM,
    **cs_kwargs,
) -> tuple[Result, pd.DataFrame]:
    """Test whether never-partnered desa near partnered ones moved apart from far ones after starts.

    An exposure-by-distance event study (the "ring" comparison of Butts 2021,
    "Difference-in-Differences Estimation with Spatial Spillovers", arXiv:2105.03737; Clarke
    2017, "Estimating Difference-in-Differences in the Presence of Spillovers"): among
    never-partnered desa, those within ``near_km`` of a partnered desa are "exposed" from the
    first start year among those partners, and compared with the never-partnered desa farther
    away by the headline's estimator (Callaway and Sant'Anna 2021, never-exposed comparison).
    Its ATT is the spillover onto near desa; its p-value tests no spillover. It needs at least
    :data:`MIN_NEAR` near desa in at least :data:`MIN_NEAR_CLUSTERS` kecamatan (the estimator's
    count, after desa without every year are left out), as clustered inference with few
    exposed clusters over-rejects (MacKinnon and Webb 2017, "Wild Bootstrap Inference for
    Wildly Different Cluster Sizes", J. Applied Econometrics 32(2)); for the same reason its
    p-value and interval use t with the near kecamatan less one (:func:`few_exposed_clusters`).

    Returns
    -------
    tuple
        The result (method :data:`EXPOSURE_METHOD`; ``too_few_near`` or
        ``too_few_far_comparison`` when a ring is too thin) and its event study (empty when
        not estimated).
    """
    comp = dist[(dist["g"] == 0) & dist["latitude"].notna()]
    near = comp["awal_dekat"].notna() & (comp["awal_dekat"] <= last_year)
    n_near, n_far = int(near.sum()), int((~near & comp["awal_dekat"].isna()).sum())
    kec = panel.groupby("kode_desa")[design.cluster].first()
    n_kec = int(kec.reindex(comp.loc[near, "kode_desa"].to_numpy()).nunique())
    ne = {"outcome": design.outcome, "method": EXPOSURE_METHOD, "estimand": "ATT"}
    ne |= {"n_treated": n_near, "n_control": n_far}
    if n_near < MIN_NEAR or n_kec < MIN_NEAR_CLUSTERS:
        return NotEstimable(
            **ne,
            reason="too_few_near",
            detail=f"{n_near} in {n_kec} kecamatan within {near_km:g} km",
        ), pd.DataFrame()
    if n_far < MIN_COMPARISON:
        return NotEstimable(
            **ne, reason="too_few_far_comparison", detail=f"{n_far} far"
        ), pd.DataFrame()
    pseudo = comp.assign(g=np.where(near, comp["awal_dekat"], 0).astype(int))
    pseudo = pseudo[near | comp["awal_dekat"].isna()]  # exposed only after last_year: left out
    df = panel.drop(columns=["g"]).merge(pseudo[["kode_desa", "g"]], on="kode_desa", how="inner")
    res, agg = callaway_santanna(df, design, "nevertreated", last_year, **cs_kwargs)
    if res.estimable and res.n_treated < MIN_NEAR:  # near desa left out for a missing year
        detail = f"{res.n_treated} near desa with every year"
        return NotEstimable(**ne, reason="too_few_near", detail=detail), pd.DataFrame()
    es = agg.event_study if agg is not None else pd.DataFrame()
    return _renamed(few_exposed_clusters(res, n_kec), EXPOSURE_METHOD, near_km=near_km), es


def few_exposed_clusters(res: Result, n_exposed: int) -> Result:
    """The test's interval and p-value from a t reference with ``n_exposed - 1`` degrees of freedom.

    With the exposed desa in few kecamatan, a cluster-robust (or cluster-bootstrap) standard
    error is too small: the spread of the estimate is driven by the exposed clusters, not by
    all clusters (Conley and Taber 2011, "Inference with 'Difference in Differences' with a
    Small Number of Policy Changes", REStat 93(1); MacKinnon and Webb 2017). Calibrated by
    ``scripts/study_spillover.py`` (README, "Spillover checks"): without spillovers, over 240
    seeds and 677 district tests, the normal and bootstrap references rejected at 5% in 9.0%
    (z-scores with standard deviation 1.28, mean -0.02: the error is the scale, not a bias);
    ``t(n_exposed - 1)`` rejects in 5.3% (binomial 95% band 3.8-7.3%), evenly across 5 to 13
    exposed kecamatan. ``ci_method`` says so (``t_exposed_clusters``) and
    ``facts["df_exposed_clusters"]`` gives the degrees of freedom.
    """
    if not res.estimable or not (np.isfinite(res.se) and res.se > 0):
        return res
    df = max(int(n_exposed) - 1, 1)
    crit = float(stats.t.ppf(0.975, df))
    return replace(
        res,
        ci_method="t_exposed_clusters",
        crit_value=crit,
        ci_low=res.estimate - crit * res.se,
        ci_high=res.estimate + crit * res.se,
        p_value=float(2 * stats.t.sf(abs(res.estimate / res.se), df)),
        # the interval uses the analytic standard error: the bootstrap's draws are not its facts
        facts={
            **{k: v for k, v in res.facts.items() if k not in _BOOTSTRAP_FACTS},
            "df_exposed_clusters": df,
        },
    )


#: Facts of the multiplier bootstrap, which the t interval of the exposure test does not use.
_BOOTSTRAP_FACTS = ("draws", "seed", "boot_weights", "se_bootstrap")


@dataclass(frozen=True, kw_only=True)
class SpilloverCheck:
    """The distance checks of one district: exclusion rows, the exposure test, the distances.

    Attributes
    ----------
    distances
        Per desa of the panel: ``kode_desa``, ``g``, ``latitude``, ``longitude``, ``jarak_km``
        (to the nearest partnered desa; NaN without a point), ``awal_dekat``.
    excluded
        The headline without comparison desa within each radius of :data:`EXCLUSION_RADII_KM`.
    exposure
        The exposure-by-distance test (:func:`exposure_test`) and its event study.
    """

    distances: pd.DataFrame
    excluded: tuple[Result, ...]
    exposure: Result
    exposure_event_study: pd.DataFrame
    near_km: float = NEAR_KM

    def tidy(self) -> pd.DataFrame:
        """The robustness rows (``results.COLUMNS``)."""
        return to_frame([*self.excluded, self.exposure])

    @property
    def comparison_km(self) -> pd.Series:
        """The distance of every comparison desa to the nearest partnered desa (km)."""
        d = self.distances
        return d.loc[d["g"] == 0, "jarak_km"]


def check_spillover(
    panel: pd.DataFrame,
    points: pd.DataFrame,
    design: Design,
    control_group: str,
    last_year: int,
    near_km: float = NEAR_KM,
    **cs_kwargs,
) -> SpilloverCheck:
    """Every distance check of a district (:class:`SpilloverCheck`).

    Parameters
    ----------
    panel
        The district's desa-year panel (``g`` 0 for never-partnered desa).
    points
        The desa's points (:func:`analysis.inputs.coordinates.desa_points`: ``letak``).
    design, control_group, last_year, cs_kwargs
        The headline's (:func:`analysis.methods.panel.callaway_santanna`).
    near_km
        The exposure test's ring.
    """
    dist = _distances(panel, points, near_km)
    excl, fitted = [], {}
    for r in EXCLUSION_RADII_KM:
        left_out = frozenset(dist.loc[_dropped(dist, r), "kode_desa"])
        same = fitted.get(left_out)
        if isinstance(same, Estimate):  # the same desa left out: the same (seeded) fit
            excl.append(_renamed(same, EXCLUSION_RADII_KM[r]))
            continue
        res = exclusion_estimate(panel, dist, r, design, control_group, last_year, **cs_kwargs)
        fitted[left_out] = res
        excl.append(res)
    excl = tuple(excl)
    test, es = exposure_test(panel, dist, design, last_year, near_km, **cs_kwargs)
    return SpilloverCheck(
        distances=dist, excluded=excl, exposure=test, exposure_event_study=es, near_km=near_km
    )


__all__ = [
    "DISTANCE_COVARIATES",
    "EARTH_RADIUS_KM",
    "EXCLUSION_RADII_KM",
    "EXPOSURE_METHOD",
    "few_exposed_clusters",
    "GROUPS",
    "MIN_COMPARISON",
    "MIN_NEAR",
    "MIN_NEAR_CLUSTERS",
    "NEAR_KM",
    "SpilloverCheck",
    "check_spillover",
    "desa_groups",
    "distance_covariates",
    "exclusion_estimate",
    "exposure_test",
    "haversine_km",
    "nearest_partnered_km",
]
