"""Where the partnered desa are, and whether their neighbours make poor comparison desa.

A comparison desa next to a partnered one may share its benefit (roads, markets and clinics
serve neighbours too: the estimate is then too small) or lose trade and workers to it (too
large). This module gives each desa its group (:func:`desa_groups`, the rules of
:class:`analysis.methods.describe.Counts`) and the great-circle distance from every desa to the
nearest evaluated partnered desa (:func:`nearest_partnered_km`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.design import COUNTING_STATUSES, agreement_exposure

#: A desa's group on the map and in the distance checks (the rules of ``Counts``).
GROUPS = ("evaluated", "too_recent", "comparison", "from_start", "no_data")
#: Mean Earth radius (km), IUGG.
EARTH_RADIUS_KM = 6371.0088


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


__all__ = ["EARTH_RADIUS_KM", "GROUPS", "desa_groups", "haversine_km", "nearest_partnered_km"]
