"""The commune's GeoJSON, read and checked, and the base map every printed page draws.

The analyst provides one GeoJSON per commune (``maps.city``; the sample ships a fictitious one,
:mod:`observatoire.sample.city`). Each feature has a ``type`` and a ``nom``: one or more
``commune`` polygons (required), ``zone`` polygons named like the ``zone`` column of the
street-work exports, ``riviere`` polygons or lines, ``rue`` lines, ``voie_ferree`` lines and
``gare`` points (all optional). It is read with pyogrio (no network: a local file), brought to
WGS84 for the HTML map and to Belgian Lambert 2008 (EPSG:3812, metres) for the printed maps, so
the scale bar is true.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import matplotlib.patheffects as pe
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Rectangle

from observatoire.core.errors import ObservatoireError
from observatoire.reports.maps.labels import LabelBox, place_labels

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "FEATURE_TYPES",
    "METRIC_CRS",
    "City",
    "CityError",
    "draw_base",
    "draw_north_arrow",
    "draw_scale_bar",
    "layers_without_draws",
    "read_city",
]

FEATURE_TYPES = ("commune", "zone", "riviere", "rue", "voie_ferree", "gare")
METRIC_CRS = "EPSG:3812"
"""Belgian Lambert 2008: metres, conformal over Belgium (the printed maps' scale bar)."""
WGS84 = "EPSG:4326"

LAND = "#F3F0E8"
WATER = "#A9CBE6"
WATER_TEXT = "#2F6C9F"
STREET = "#FFFFFF"
STREET_CASING = "#B9B2A5"
ZONE_EDGE = "#8C8577"
BOUNDARY = "#4A4A4A"
LABEL = "#5A5A5A"


class CityError(ObservatoireError, ValueError):
    """The commune's GeoJSON is missing or does not have the expected features."""


@dataclass(frozen=True)
class City:
    """The features of the commune, in WGS84 (``wgs84``) and in metres (``metric``)."""

    name: str
    wgs84: gpd.GeoDataFrame
    metric: gpd.GeoDataFrame

    def of(self, kind: str, metric: bool = True) -> gpd.GeoDataFrame:
        frame = self.metric if metric else self.wgs84
        return frame[frame["type"] == kind]

    @property
    def zone_names(self) -> list[str]:
        return list(self.of("zone")["nom"])


def read_city(path: Path) -> City:
    """Read and check the commune's GeoJSON (French errors saying what to fix)."""
    path = Path(path)
    if not path.exists():
        raise CityError(
            f"Carte de la commune introuvable : {path}. À faire : placez le GeoJSON de la "
            "commune à ce chemin ou corrigez « maps.city » dans params/pipeline.yaml (voir "
            "docs/cartes.md, « Le fond de carte »)."
        )
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - any reader failure is the same advice
        raise CityError(f"Carte de la commune illisible ({path}) : {exc}") from None
    missing = [c for c in ("type", "nom") if c not in frame.columns]
    if missing:
        raise CityError(
            f"{path} : propriété(s) {', '.join(missing)} absente(s) des entités ; chaque entité "
            f"a un « type » ({', '.join(FEATURE_TYPES)}) et un « nom » (docs/cartes.md)."
        )
    unknown = sorted(set(frame["type"].dropna()) - set(FEATURE_TYPES))
    if unknown:
        raise CityError(
            f"{path} : type(s) d'entité inconnu(s) : {', '.join(map(str, unknown))} (types "
            f"admis : {', '.join(FEATURE_TYPES)})."
        )
    commune = frame[frame["type"] == "commune"]
    if commune.empty or not commune.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise CityError(
            f"{path} : aucune entité « commune » polygonale : la limite de la commune est "
            "obligatoire."
        )
    if frame.crs is None:
        frame = frame.set_crs(WGS84)
    wgs84 = frame.to_crs(WGS84)
    return City(name=str(commune["nom"].iloc[0]), wgs84=wgs84, metric=wgs84.to_crs(METRIC_CRS))


@contextlib.contextmanager
def layers_without_draws(fig: Figure) -> Iterator[None]:
    """Add GeoPandas layers to ``fig`` without rendering it after each one.

    ``GeoDataFrame.plot`` ends with ``canvas.draw_idle()``, which on the non-interactive canvases
    used here (Agg, PDF) renders the whole figure at once: a base map of eight layers was
    rendered eight times before being saved (a third of the maps stage). Nothing is shown on
    screen, so these draws are skipped while the layers are added; saving draws the finished
    figure once.
    """
    canvas = fig.canvas
    canvas.draw_idle = lambda *args, **kwargs: None  # shadows the method, for this canvas only
    try:
        yield
    finally:
        del canvas.draw_idle


def draw_base(
    ax: Axes,
    city: City,
    *,
    scale: float = 1.0,
    labels: bool = True,
    avoid: Sequence[tuple[float, float]] = (),
    avoid_radius_pt: float = 0.0,
) -> None:
    """The commune as background: land, river, zones' outlines, streets, railway, station.

    ``scale`` multiplies line widths and font sizes (1.0 for A4, √2 for A3). ``avoid``: the
    centres (metres) of the markers drawn over the map, discs of ``avoid_radius_pt`` points:
    the zone and station names are placed clear of them (:mod:`labels`)."""
    commune = city.of("commune")
    zones = city.of("zone")
    with layers_without_draws(ax.figure):
        commune.plot(ax=ax, color=LAND, edgecolor="none", zorder=1)
        river = city.of("riviere")
        if not river.empty:
            river.plot(ax=ax, color=WATER, edgecolor=WATER, linewidth=0.8 * scale, zorder=2)
        if not zones.empty:
            zones.plot(
                ax=ax,
                facecolor="none",
                edgecolor=ZONE_EDGE,
                linewidth=0.6 * scale,
                linestyle=(0, (4, 3)),
                zorder=3,
            )
        streets = city.of("rue")
        if not streets.empty:
            streets.plot(ax=ax, color=STREET_CASING, linewidth=3.2 * scale, zorder=4)
            streets.plot(ax=ax, color=STREET, linewidth=2.2 * scale, zorder=5)
        rail = city.of("voie_ferree")
        if not rail.empty:
            rail.plot(ax=ax, color="#6E6E6E", linewidth=1.6 * scale, zorder=4)
            rail.plot(ax=ax, color="white", linewidth=0.8 * scale, linestyle=(0, (3, 3)), zorder=4)
        commune.boundary.plot(ax=ax, color=BOUNDARY, linewidth=1.1 * scale, zorder=6)
    halo = [pe.withStroke(linewidth=2.2 * scale, foreground="white")]
    xmin, ymin, xmax, ymax = commune.total_bounds
    pad = 0.03 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal")
    # metres per point once the aspect is applied (the axes box shrinks to the data's shape)
    ax.apply_aspect()
    box_pt = ax.get_position().width * ax.figure.get_size_inches()[0] * 72
    mpp = (xmax - xmin + 2 * pad) / box_pt
    station_rects = []
    stations = []
    for _, row in city.of("gare").iterrows():
        p = row.geometry
        width = len(row["nom"]) * 0.6 * 6 * scale
        offset, ha, rect = _station_label(
            p.x, p.y, width, 6 * scale, avoid, avoid_radius_pt, mpp, scale
        )
        stations.append((p, row["nom"], offset, ha))
        station_rects.append(rect)
    if labels and not zones.empty:
        size = 6.5 * scale
        boxes = {n: LabelBox(len(n) * 0.68 * size + 3 * scale, size * 1.3) for n in zones["nom"]}
        # the station and its name (a zone label next to it would read as one)
        station_discs = [(g.x, g.y, 16 * scale) for g in city.of("gare").geometry]
        spots = place_labels(
            dict(zip(zones["nom"], zones.geometry, strict=True)),
            boxes,
            list(avoid),
            box_pt * mpp,
            others=station_discs,
            views=(box_pt,),
            marker_radius=avoid_radius_pt,
            fixed=station_rects,
        )
        for _, row in zones.iterrows():
            c = spots.get(row["nom"]) or row.geometry.representative_point()
            ax.annotate(
                row["nom"].upper(),
                (c.x, c.y),
                ha="center",
                va="center",
                fontsize=6.5 * scale,
                color=LABEL,
                fontstyle="italic",
                alpha=0.9,
                path_effects=halo,
                zorder=7,
            )
        for _, row in river.iterrows():
            c = row.geometry.representative_point()
            ax.annotate(
                row["nom"],
                (c.x, c.y),
                ha="center",
                va="center",
                fontsize=6.5 * scale,
                color=WATER_TEXT,
                fontstyle="italic",
                rotation=22,
                path_effects=halo,
                zorder=7,
            )
    for p, name, offset, ha in stations:
        ax.plot(p.x, p.y, marker="s", color="#333333", markersize=5 * scale, zorder=8)
        ax.annotate(
            name,
            (p.x, p.y),
            xytext=(offset[0] * scale, offset[1] * scale),
            textcoords="offset points",
            ha=ha,
            fontsize=6 * scale,
            color="#333333",
            path_effects=halo,
            zorder=8,
        )
    ax.set_axis_off()


def _station_label(
    x: float,
    y: float,
    width_pt: float,
    size_pt: float,
    avoid: Sequence[tuple[float, float]],
    radius_pt: float,
    mpp: float,
    scale: float,
) -> tuple[tuple[float, float], str, BaseGeometry]:
    """Offset (points at scale 1), alignment and place (metres) of a station's name: below
    right unless a marker is there, else below left, above right, above left (else below
    right). Sizes in points of the page, ``mpp`` metres per point of the page."""
    from shapely.geometry import Point, box

    options = (((5, -9), "left"), ((-5, -9), "right"), ((5, 4), "left"), ((-5, 4), "right"))
    discs = [Point(mx, my).buffer(radius_pt * mpp) for mx, my in avoid]
    for (dx, dy), ha in options:
        left = x + dx * scale * mpp - (width_pt * mpp if ha == "right" else 0.0)
        bottom = y + dy * scale * mpp
        rect = box(left, bottom, left + width_pt * mpp, bottom + size_pt * mpp)
        if not any(rect.intersects(d) for d in discs) or (dx, dy) == options[-1][0]:
            if any(rect.intersects(d) for d in discs):
                (dx, dy), ha = options[0]
                left = x + dx * scale * mpp
                bottom = y + dy * scale * mpp
                rect = box(left, bottom, left + width_pt * mpp, bottom + size_pt * mpp)
            return (dx, dy), ha, rect
    raise AssertionError("unreachable")


def _nice_length(span: float) -> float:
    """A round length (metres) about a fifth of the map's width."""
    target = span / 5
    for step in (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if step >= target:
            return float(step)
    return 10000.0


def draw_scale_bar(ax: Axes, *, scale: float = 1.0) -> None:
    """A two-segment scale bar at the bottom left (the axes are in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    x, y = x0 + 0.04 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    h = 0.012 * (y1 - y0)
    for i, colour in enumerate(("#333333", "white")):
        ax.add_patch(
            Rectangle(
                (x + i * length / 2, y),
                length / 2,
                h,
                facecolor=colour,
                edgecolor="#333333",
                linewidth=0.6 * scale,
                zorder=20,
            )
        )
    text = f"{length / 1000:g} km".replace(".", ",") if length >= 1000 else f"{length:g} m"
    for pos, label in ((0, "0"), (length, text)):
        ax.annotate(
            label,
            (x + pos, y + h),
            xytext=(0, 2 * scale),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=6 * scale,
            zorder=20,
        )


def draw_north_arrow(ax: Axes, *, scale: float = 1.0) -> None:
    """A north arrow at the top right (Lambert 2008's grid north is true north to < 1°
    over a commune)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    x, y = x1 - 0.05 * (x1 - x0), y1 - 0.13 * (y1 - y0)
    length = 0.07 * (y1 - y0)
    ax.add_patch(
        FancyArrow(
            x,
            y,
            0,
            length,
            width=0.012 * (x1 - x0),
            head_width=0.03 * (x1 - x0),
            head_length=0.035 * (y1 - y0),
            length_includes_head=True,
            color="#333333",
            zorder=20,
        )
    )
    ax.annotate(
        "N",
        (x, y + length),
        xytext=(0, 2 * scale),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=8 * scale,
        fontweight="bold",
        zorder=20,
    )
