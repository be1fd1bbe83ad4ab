"""Where to put each zone's label on the HTML map so that it and the service markers both read.

A label is a box of text a few characters wide, centred on a point inside its zone; a marker is
a disc. Both keep their size in pixels while the reader zooms, so on the ground they shrink as
the map zooms in: two that do not touch at one scale (metres per pixel) never touch at a finer
one. :func:`place_labels` therefore searches the coarsest scale, among a few views of the
commune from a phone to a large screen, at which every label finds a point of its zone clear of
the markers and of the labels already placed — small zones first, each as near as it can be to
the zone's pole of inaccessibility (the point inside farthest from its edge) — and keeps those
points. When no scale clears everything, each label goes where it overlaps least at the finest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

__all__ = ["LabelBox", "label_box", "place_labels"]

CHAR_PX = 7.6  # bold 12 px DejaVu Sans, average advance
LINE_PX = 15.0
PAD_PX = 6.0
MARKER_PX = 14.0 + 4.0  # marker radius (28 px icon) and a margin
GRID = 24
VIEWS_PX = (320.0, 420.0, 540.0, 680.0, 860.0, 1100.0)
"""Widths at which the commune may be shown: a phone held upright … a large screen."""


@dataclass(frozen=True)
class LabelBox:
    """A label's size in pixels."""

    width: float
    height: float


def label_box(lines: Sequence[str]) -> LabelBox:
    return LabelBox(
        max(len(line) for line in lines) * CHAR_PX + PAD_PX, len(lines) * LINE_PX + PAD_PX / 2
    )


def _candidates(zone: BaseGeometry) -> list[Point]:
    """Points of the zone on a grid, nearest to its pole of inaccessibility first."""
    pole = polylabel(zone, tolerance=1.0) if zone.geom_type == "Polygon" else zone.centroid
    xmin, ymin, xmax, ymax = zone.bounds
    points = [
        Point(xmin + (xmax - xmin) * (i + 0.5) / GRID, ymin + (ymax - ymin) * (j + 0.5) / GRID)
        for i in range(GRID)
        for j in range(GRID)
    ]
    inside = [p for p in points if zone.contains(p)]
    return [pole, *sorted(inside, key=lambda p: (p.distance(pole), p.x, p.y))]


def _place(
    zones: Mapping[str, BaseGeometry],
    boxes: Mapping[str, LabelBox],
    obstacles: Sequence[tuple[float, float, float]],
    mpp: float,
    *,
    strict: bool,
    fixed: Sequence[BaseGeometry] = (),
) -> dict[str, Point] | None:
    placed: dict[str, BaseGeometry] = {}
    out: dict[str, Point] = {}
    discs = [Point(x, y).buffer(r * mpp, quad_segs=8) for x, y, r in obstacles] + list(fixed)
    for name in sorted(zones, key=lambda n: (zones[n].area, n)):
        w, h = boxes[name].width * mpp / 2, boxes[name].height * mpp / 2
        best, best_cost = None, None
        for p in _candidates(zones[name]):
            rect = box(p.x - w, p.y - h, p.x + w, p.y + h)
            cost = sum(rect.intersection(d).area for d in discs) + sum(
                rect.intersection(r.buffer(2 * mpp)).area for r in placed.values()
            )
            if cost == 0:
                best = p
                break
            if not strict and (best_cost is None or cost < best_cost):
                best, best_cost = p, cost
        if best is None:
            return None
        out[name] = best
        placed[name] = box(best.x - w, best.y - h, best.x + w, best.y + h)
    return out


def place_labels(
    zones: Mapping[str, BaseGeometry],
    boxes: Mapping[str, LabelBox],
    markers: Sequence[tuple[float, float]],
    extent_m: float,
    *,
    others: Sequence[tuple[float, float, float]] = (),
    views: Sequence[float] = VIEWS_PX,
    marker_radius: float = MARKER_PX,
    fixed: Sequence[BaseGeometry] = (),
) -> dict[str, Point]:
    """A point (same metric CRS as ``zones``) for each zone's label.

    ``markers``: centres of the service markers (discs of ``marker_radius``); ``others``:
    further discs to avoid, as (x, y, radius); ``extent_m``: the commune's width in metres,
    shown ``views`` wide (increasing). Sizes are in one unit: pixels on screen (the default),
    points on paper (a printed map passes its own single view and its markers' radius).
    ``fixed``: shapes in metres to keep clear of at any scale (a printed map's other names)."""
    obstacles = [(x, y, marker_radius) for x, y in markers] + list(others)
    for view in views:
        placed = _place(zones, boxes, obstacles, extent_m / view, strict=True, fixed=fixed)
        if placed is not None:
            return placed
    last = extent_m / views[-1]
    return _place(zones, boxes, obstacles, last, strict=False, fixed=fixed) or {}
