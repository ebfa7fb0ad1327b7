"""Maps: the district's desa as points by group, and the province's districts by grade.

Points, not boundaries: the only open desa polygons (ADM4 2019, BPS codes) are a 470 MB download,
while a centroid per desa ships with the package (:mod:`analysis.inputs.coordinates`). The
projection is local and computed from the points: equirectangular with the east-west scale
``cos(latitude)`` of the map's middle, so a kilometre is as long across as up and down within
a district (the error over 2 degrees of latitude near the equator is under 0.1%).

Groups are told apart by shape first and by grey or colour second (Okabe and Ito's colour-blind
safe colours, of different lightness), so the map reads in greyscale print. Every label is at
least :data:`analysis.report.figures.SMALLEST` points on a figure
:data:`analysis.report.figures.WIDTH` inches wide, as the other figures, so it stays at 9 CSS px
or more on a 390 px phone.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.district import DistrictData
from analysis.inputs.coordinates import desa_points
from analysis.inputs.frame import villages_of
from analysis.methods.spillover import desa_groups
from analysis.report import figure_html, words
from analysis.report.figures import DPI, SMALLEST, WIDTH
from analysis.timing import timed

KM_PER_DEG = 111.195  # on the sphere of the mean Earth radius
#: Drawing of each group: marker, size (pt^2), face, edge, the order drawn (last on top).
STYLE = {
    "comparison": {"marker": "o", "s": 14, "fc": "#b0b0b0", "ec": "#6e6e6e", "z": 2},
    "no_data": {"marker": "x", "s": 22, "fc": "#303030", "ec": "#303030", "z": 3},
    "from_start": {"marker": "s", "s": 22, "fc": "white", "ec": "#303030", "z": 3},
    "evaluated": {"marker": "o", "s": 30, "fc": "#0072B2", "ec": "black", "z": 4},
    "too_recent": {"marker": "^", "s": 48, "fc": "#E69F00", "ec": "black", "z": 5},
}
#: The legend's words of each group (keys written out, so the catalog test finds them).
GROUP_KEYS = {
    "evaluated": "map.group.evaluated",
    "too_recent": "map.group.too_recent",
    "comparison": "map.group.comparison",
    "from_start": "map.group.from_start",
    "no_data": "map.group.no_data",
}
#: The words of the distance checks' rows (``methods.spillover``), keys written out.
SPILLOVER_ROW_KEYS = {
    "cs_did_excl5km": "method.cs_did_excl5km",
    "cs_did_excl10km": "method.cs_did_excl10km",
    "spillover_near": "method.spillover_near",
}
#: Tallest map (inches, legend apart): a tall district is drawn narrower, so the brief's figure
#: section grows by at most about half an A4 page (the brief's budget is five printed pages).
MAX_MAP_HEIGHT = 4.6
#: Too-recent desa named on the map, at most.
MAX_NAMED = 8
#: A white box behind labels (a stroke halo would turn the text into paths in the SVG).
_HALO = {"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.75}


def project(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Local equirectangular projection in km around the points' middle.

    Returns
    -------
    tuple
        ``x``, ``y`` (km east and north of the middle) and the middle's latitude and longitude.
    """
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    lat0 = float((np.nanmin(lat) + np.nanmax(lat)) / 2)
    lon0 = float((np.nanmin(lon) + np.nanmax(lon)) / 2)
    x = (lon - lon0) * KM_PER_DEG * np.cos(np.radians(lat0))
    return x, (lat - lat0) * KM_PER_DEG, lat0, lon0


def _nice_km(span: float) -> float:
    """A round scale-bar length near a quarter of the map's width."""
    target = max(span / 4, 0.5)
    steps = [s * 10**k for k in range(-1, 4) for s in (1, 2, 5)]
    return max(s for s in steps if s <= target)


def district_points(data: DistrictData) -> pd.DataFrame:
    """Every desa of the district's frame with its group, point and the point's fate.

    Returns
    -------
    pandas.DataFrame
        The frame's ``kode_desa``, ``nama_desa``, ``kode_kec``, ``nama_kecamatan``,
        ``kelompok`` (:data:`analysis.methods.spillover.GROUPS`), ``latitude``, ``longitude``,
        ``sumber`` and ``letak`` (:data:`analysis.inputs.coordinates.PLACES`).
    """
    fr = villages_of(data.district)[["kode_desa", "nama_desa", "kode_kec", "nama_kecamatan"]]
    with_data = set(data.panel["kode_desa"]) if len(data.panel) else set()
    groups = desa_groups(fr["kode_desa"], with_data, data.registry, data.first_year, data.last_year)
    fr = fr.assign(kelompok=groups.reindex(fr["kode_desa"]).to_numpy())
    return desa_points(fr, data.dataset.coordinates)


def _scale_bar(ax, x: np.ndarray, y: np.ndarray, w) -> None:
    span = float(np.nanmax(x) - np.nanmin(x)) or 1.0
    km = _nice_km(span)
    x0, y0 = float(np.nanmin(x)), float(np.nanmin(y)) - 0.06 * span
    ax.plot([x0, x0 + km], [y0, y0], color="black", lw=2.5, solid_capstyle="butt")
    label = f"{w.int(int(km))} km" if km >= 1 else f"{w.num(km, 1)} km"
    ax.text(x0 + km / 2, y0 + 0.015 * span, label, ha="center", va="bottom", fontsize=SMALLEST)


def _free(box: tuple, taken: list[tuple]) -> bool:
    """Whether a label's box (x0, y0, x1, y1) overlaps none of the boxes taken."""
    return not any(
        box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken
    )


def _label_box(x: float, y: float, text: str, km_per_in: float, ha: str = "center") -> tuple:
    """The box a label takes, in km, from its length (DejaVu Sans: about 0.6 em a character)."""
    w = len(text) * 0.6 * SMALLEST / 72 * km_per_in
    h = 1.25 * SMALLEST / 72 * km_per_in
    x0 = x - w / 2 if ha == "center" else x
    return (x0, y - h / 2, x0 + w, y + h / 2)


def _labels(ax, p: pd.DataFrame, km_per_in: float) -> int:
    """Name the too-recent desa, then the kecamatan where there is room (largest first).

    Returns the number of kecamatan left unnamed for lack of room.
    """
    taken: list[tuple] = []
    right_edge = float(p["px"].max()) if len(p) else 0.0
    off = 4 / 72 * km_per_in
    for r in p[p["kelompok"] == "too_recent"].head(MAX_NAMED).itertuples():
        # every too-recent desa is named: to the right, else (no room or past the edge) left,
        # else below
        name = str(r.nama_desa)
        for dx, dy, ha in ((4, 0, "left"), (-4, 0, "right"), (0, -9, "center")):
            box = _label_box(
                r.px + np.sign(dx) * off,
                r.py + dy / 72 * km_per_in,
                name,
                km_per_in,
                ha="left" if ha != "center" else "center",
            )
            if ha == "right":
                box = (box[0] - (box[2] - box[0]) - 2 * off, box[1], box[0] - 2 * off, box[3])
            if _free(box, taken) and (ha != "left" or box[2] <= right_edge + off):
                break
        taken.append(box)
        ax.annotate(
            name,
            (r.px, r.py),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va="center",
            fontsize=SMALLEST,
            fontstyle="italic",
            zorder=7,
            bbox=_HALO,
        )
    kec = p.groupby("nama_kecamatan", sort=True).agg(
        px=("px", "mean"), py=("py", "mean"), n=("px", "size")
    )
    skipped = 0
    for name, r in kec.sort_values("n", ascending=False, kind="stable").iterrows():
        box = _label_box(r["px"], r["py"], str(name), km_per_in)
        if not _free(box, taken):
            skipped += 1
            continue
        taken.append(box)
        ax.text(
            r["px"],
            r["py"],
            str(name),
            fontsize=SMALLEST,
            ha="center",
            va="center",
            color="#202020",
            zorder=6,
            bbox=_HALO,
        )
    return skipped


def _legend_label(w, group: str, drawn: int, total: int) -> str:
    """A group's legend entry: its count, and how many are drawn when some have no point."""
    name = w.t(GROUP_KEYS[group])
    if drawn == total:
        return f"{name} ({w.int(total)})"
    return w.t("map.legend_drawn", group=name, drawn=w.int(drawn), total=w.int(total))


def district_map(points: pd.DataFrame, lang: str = "id") -> plt.Figure:
    """The desa drawn as points by group, kecamatan named at their desa's centroid.

    Desa whose point is missing or outside the district's box are not drawn (the data-quality
    page lists them); the too-recent desa are named (at most :data:`MAX_NAMED`), then the
    kecamatan, largest first, where their name does not cover another label.
    """
    w = words(lang)
    p = points[points["letak"] == "located"]
    x, y, _, _ = project(p["latitude"], p["longitude"])
    p = p.assign(px=x, py=y)
    spanx = max(float(np.ptp(x)) if len(p) else 1.0, 1.0)
    spany = max(float(np.ptp(y)) if len(p) else 1.0, 1.0)
    counts = points["kelompok"].value_counts()
    groups = [g for g in STYLE if counts.get(g, 0)]
    legend_in = 0.22 * len(groups) + 0.1
    map_h = float(np.clip(WIDTH * spany * 1.1 / spanx, 2.4, MAX_MAP_HEIGHT))
    fig = plt.figure(figsize=(WIDTH, map_h + legend_in), dpi=DPI)
    ax = fig.add_axes((0.01, legend_in / (map_h + legend_in), 0.98, map_h / (map_h + legend_in)))
    for g in groups:
        st, q = STYLE[g], p[p["kelompok"] == g]
        ax.scatter(
            q["px"],
            q["py"],
            marker=st["marker"],
            s=st["s"],
            c=st["fc"],
            edgecolors=None if st["marker"] in UNFILLED else st["ec"],
            linewidths=0.8,
            zorder=st["z"],
            label=_legend_label(w, g, len(q), int(counts[g])),
        )
    km_per_in = max(spanx * 1.1 / (0.98 * WIDTH), spany * 1.1 / map_h)
    _labels(ax, p, km_per_in)
    if len(p):
        _scale_bar(ax, x, y, w)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()
    return _with_legend(fig)


def _with_legend(fig: plt.Figure) -> plt.Figure:
    """The maps' legend: lower left, one column, the smallest legible text, no frame."""
    fig.legend(
        loc="lower left",
        bbox_to_anchor=(0.01, 0.0),
        ncol=1,
        frameon=False,
        fontsize=SMALLEST,
        handletextpad=0.3,
        borderaxespad=0.1,
        labelspacing=0.3,
    )
    return fig


def map_alt(points: pd.DataFrame, district: str, lang: str = "id") -> str:
    """The alt text: the counts by group, and how many desa are not drawn."""
    w = words(lang)
    c = points["kelompok"].value_counts()
    drawn = points["letak"] == "located"
    return w.t(
        "alt.map",
        district=district,
        evaluated=w.int(int(c.get("evaluated", 0))),
        too_recent=w.int(int(c.get("too_recent", 0))),
        comparison=w.int(int(c.get("comparison", 0))),
        left_out=w.int(int(c.get("from_start", 0) + c.get("no_data", 0))),
        undrawn=w.int(int((~drawn).sum())),
    )


def district_map_html(data: DistrictData, lang: str = "id") -> str | None:
    """The district map as a ``<figure>`` (SVG, alt text with the counts); None without desa."""
    if not data.applicable:
        return None
    with timed("map", data.district.code):  # issue 19's cost, recorded when a benchmark asks
        pts = district_points(data)
        if not (pts["letak"] == "located").any():
            return None
        w = words(lang)
        return figure_html(
            district_map(pts, lang), map_alt(pts, data.district.name, lang), w.t("fig.map"), lang
        )


#: Drawing of each grade on the index map (shape first, then grey): marker, size, face, edge.
GRADE_STYLE = {
    "strong": {"marker": "o", "s": 90, "fc": "#0072B2", "ec": "black"},
    "suggestive": {"marker": "D", "s": 60, "fc": "#56B4E9", "ec": "black"},
    "insufficient": {"marker": "o", "s": 60, "fc": "white", "ec": "black"},
    "not_estimable": {"marker": "X", "s": 60, "fc": "#606060", "ec": "#606060"},
    "na": {"marker": "x", "s": 40, "fc": "#909090", "ec": "#909090"},
}
#: Districts named on the index map, at most (a national run shows points only).
MAX_INDEX_NAMES = 20


def district_locations(codes: list[str]) -> pd.DataFrame:
    """Each district's location: the mean of its desa's shipped centroids (none: no row).

    Returns
    -------
    pandas.DataFrame
        ``code``, ``latitude``, ``longitude`` for the districts with at least one desa point.
    """
    from analysis.inputs.coordinates import shipped_centroids

    c = shipped_centroids()
    kab = c["kode_desa"].str.slice(0, 5)
    m = c[kab.isin(list(codes))].groupby(kab)[["latitude", "longitude"]].mean()
    return m.rename_axis("code").reset_index()


#: Matplotlib markers that have no face: an edge colour given to them is ignored with a warning.
UNFILLED = frozenset({"x", "+", "1", "2", "3", "4", "|", "_"})


def index_map(places: pd.DataFrame, lang: str = "id") -> plt.Figure:
    """Each district at its location, its shape and grey by grade, named with its estimate.

    Parameters
    ----------
    places
        ``code``, ``name``, ``grade`` (a :data:`GRADE_STYLE` key), ``estimate`` (worded, ``-``
        for none), ``latitude``, ``longitude``.
    """
    w = words(lang)
    x, y, _, _ = project(places["latitude"], places["longitude"])
    p = places.assign(px=x, py=y)
    spanx, spany = max(float(np.ptp(x)), 1.0), max(float(np.ptp(y)), 1.0)
    grades = [g for g in GRADE_STYLE if (p["grade"] == g).any()]
    legend_in = 0.22 * len(grades) + 0.1
    map_h = float(np.clip(WIDTH * spany * 1.15 / spanx, 2.4, MAX_MAP_HEIGHT))
    fig = plt.figure(figsize=(WIDTH, map_h + legend_in), dpi=DPI)
    ax = fig.add_axes((0.01, legend_in / (map_h + legend_in), 0.98, map_h / (map_h + legend_in)))
    for g in grades:
        st, q = GRADE_STYLE[g], p[p["grade"] == g]
        label = w.t("index.na") if g == "na" else w.t(f"grade_short.{g}")
        ax.scatter(
            q["px"],
            q["py"],
            marker=st["marker"],
            s=st["s"],
            # an unfilled marker ("x") is drawn in its face colour only: no edge colour to pass
            c=st["fc"],
            edgecolors=None if st["marker"] in UNFILLED else st["ec"],
            linewidths=0.9,
            zorder=3,
            label=f"{label} ({w.int(len(q))})",
        )
    if len(p) <= MAX_INDEX_NAMES:
        km_per_in = max(spanx * 1.15 / (0.98 * WIDTH), spany * 1.15 / map_h)
        taken: list[tuple] = []
        for r in p.itertuples():
            text = str(r.name) if r.estimate in ("-", "") else f"{r.name} {r.estimate}"
            box = _label_box(r.px, r.py - 11 / 72 * km_per_in, text, km_per_in)
            if _free(box, taken):
                taken.append(box)
                ax.annotate(
                    text,
                    (r.px, r.py),
                    xytext=(0, -11),
                    textcoords="offset points",
                    ha="center",
                    va="center",
                    fontsize=SMALLEST,
                    zorder=4,
                    bbox=_HALO,
                )
    _scale_bar(ax, x, y, w)
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.12)
    ax.set_axis_off()
    return _with_legend(fig)


@timed("index_map")  # issue 19's cost, recorded when a benchmark asks
def index_map_html(districts: dict, rows: list[dict], lang: str = "id") -> str | None:
    """The index map as a ``<figure>``, alt text with the districts by grade; None if unplaced.

    Parameters
    ----------
    districts
        The run manifest's ``districts`` (code -> ``status``, ``applicable``, ``evidence``).
    rows
        The index rows (``code``, ``name``, ``estimate``) as the index table shows them.
    """
    w = words(lang)
    est = {r["code"]: r.get("estimate", "-") for r in rows}
    names = {r["code"]: r["name"] for r in rows}
    places = [
        {
            "code": code,
            "name": names.get(code, code),
            "estimate": est.get(code, "-"),
            "grade": (
                "na"
                if r.get("status") != "ok" or r.get("applicable") is False
                else r.get("evidence") or "na"
            ),
        }
        for code, r in districts.items()
    ]
    if not places:
        return None
    loc = district_locations([p["code"] for p in places])
    p = pd.DataFrame(places).merge(loc, on="code", how="inner")
    if p.empty:
        return None
    p["grade"] = p["grade"].where(p["grade"].isin(list(GRADE_STYLE)), "na")
    by = p["grade"].value_counts()
    alt = w.t(
        "alt.index_map",
        n=w.int(len(p)),
        grades=", ".join(
            f"{w.t('index.na') if g == 'na' else w.t(f'grade_short.{g}')} {w.int(int(by[g]))}"
            for g in GRADE_STYLE
            if g in by
        ),
        unplaced=w.int(len(places) - len(p)),
    )
    return figure_html(index_map(p, lang), alt, w.t("fig.index_map"), lang)


__all__ = [
    "GRADE_STYLE",
    "GROUP_KEYS",
    "MAX_INDEX_NAMES",
    "district_locations",
    "index_map",
    "index_map_html",
    "MAX_MAP_HEIGHT",
    "MAX_NAMED",
    "SPILLOVER_ROW_KEYS",
    "STYLE",
    "district_map",
    "district_map_html",
    "district_points",
    "map_alt",
    "project",
]
