"""The fictitious city of the synthetic sample: Meuse-Centre (``report.city``), as a GeoJSON.

Why: the maps of the seasonal plans need a commune to draw (its boundary, the street-work
zones, the main streets, the river, the station) and the sample must run offline, with no real
place whose services a reader could mistake for true ones. The city is drawn here by hand, in
metres around a centre, and projected to WGS84 degrees with a local equirectangular
approximation (exact to a few metres over 8 km, and free of any projection library): the same
code writes the same bytes, with no random draw.

The zones carry the names the street-work exports use (``observatoire.sample.exports.ZONES``:
Gare, Centre-ville, Parc, Quais; « Autre » is the rest of the commune and has no shape). The
features follow the layout the maps stage reads from any commune (``docs/cartes.md``): each
has a ``type`` (``commune``, ``zone``, ``riviere``, ``rue``, ``voie_ferree``, ``gare``) and a
``nom``.

The file is committed as ``params/carte/meuse-centre.geojson``; ``python -m
observatoire.sample.city FILE`` writes it again (a test checks the two agree).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, Point, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry

__all__ = ["CENTRE", "CITY_NAME", "RIVER_NAME", "city_features", "to_wgs84", "write_city"]

CITY_NAME = "Meuse-Centre"
RIVER_NAME = "La Meuse"
CENTRE = (50.4300, 4.9000)
"""(lat, lon) of the city centre: a fictitious place; with map tiles turned on, the background
would show whatever really lies there."""
METRES_PER_DEGREE = 111_320.0
DECIMALS = 6  # ~0.1 m

_BOUNDARY = [
    (-3900, -300),
    (-3600, -1800),
    (-2900, -2900),
    (-800, -3050),
    (1200, -2700),
    (3100, -2900),
    (3850, -1000),
    (3500, 1200),
    (2400, 2700),
    (300, 2950),
    (-1800, 2600),
    (-3300, 1400),
]
_RIVER = [
    (-4300, -2300),
    (-2500, -1500),
    (-1000, -700),
    (0, -350),
    (1200, -250),
    (2600, 400),
    (4300, 1300),
]
_RIVER_HALF_WIDTH = 70.0
_RAIL = [(-4200, 1500), (-1500, 900), (500, 1500), (2600, 2800)]
_STATION = (-1500, 900)
_STREETS: dict[str, list[tuple[float, float]]] = {
    "Rue de la Gare": [(-1500, 840), (-900, 420), (-300, 250), (150, 220)],
    "Pont de la Libération": [(250, -1000), (150, 220)],
    "Boulevard du Centre": [(-1300, -150), (-300, 0), (600, 80), (1300, 150)],
    "Avenue du Parc": [(600, 80), (1500, 650), (2400, 1300)],
    "Rue Haute": [(-300, 250), (-250, 1300), (-100, 2500)],
    "Route de la Vallée": [(250, -1000), (500, -2000), (700, -2800)],
    "Chaussée de l'Ouest": [(-1300, -150), (-2500, 100), (-3700, 200)],
}


def to_wgs84(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of a point ``x`` metres east and ``y`` metres north of the centre."""
    lat0, lon0 = CENTRE
    lat = lat0 + y / METRES_PER_DEGREE
    lon = lon0 + x / (METRES_PER_DEGREE * math.cos(math.radians(lat0)))
    return round(lon, DECIMALS), round(lat, DECIMALS)


def _project(geometry: BaseGeometry) -> dict[str, Any]:
    """GeoJSON geometry of a shape in metres, in WGS84 degrees (rings closed, rounded)."""

    def walk(coords: Any) -> Any:
        if isinstance(coords[0], int | float):
            return list(to_wgs84(coords[0], coords[1]))
        return [walk(c) for c in coords]

    geo = mapping(geometry)
    return {"type": geo["type"], "coordinates": walk(geo["coordinates"])}


def _shift(line: list[tuple[float, float]], offset: float) -> LineString:
    return LineString(line).offset_curve(offset, quad_segs=4)


def city_features() -> list[dict[str, Any]]:
    """The city's features, in drawing order (commune first, station last)."""
    commune = Polygon(_BOUNDARY)
    river_line = LineString(_RIVER)
    river = river_line.buffer(_RIVER_HALF_WIDTH, cap_style="flat").intersection(commune)
    north = Polygon([(-4300, 4000), *_RIVER, (4300, 4000)])
    centre = box(-1000, -700, 1100, 1150).intersection(north).difference(river)
    gare = box(-2400, 150, -1000, 1700).intersection(north).difference(centre)
    parc = box(1100, -400, 2700, 1900).intersection(north).difference(river)
    south_bank = Polygon([(-4300, -4000), *_RIVER, (4300, -4000)])
    quais = (
        river_line.buffer(550, cap_style="flat")
        .intersection(south_bank)
        .intersection(box(-2200, -3000, 2500, 1000))
        .difference(river)
    )
    zones = {"Gare": gare, "Centre-ville": centre, "Parc": parc, "Quais": quais}
    features: list[dict[str, Any]] = [_feature("commune", CITY_NAME, commune)]
    for name, shape in zones.items():
        features.append(_feature("zone", name, shape.intersection(commune)))
    features.append(_feature("riviere", RIVER_NAME, river))
    rail = LineString(_RAIL).intersection(commune)
    features.append(_feature("voie_ferree", "Ligne de chemin de fer", rail))
    for name, line in _STREETS.items():
        features.append(_feature("rue", name, LineString(line).intersection(commune)))
    features.append(
        _feature("rue", "Quai de Meuse", _shift(_RIVER[1:6], 140).intersection(commune))
    )
    features.append(
        _feature("rue", "Quai des Bateliers", _shift(_RIVER[1:6], -140).intersection(commune))
    )
    features.append(_feature("gare", f"Gare de {CITY_NAME}", Point(_STATION)))
    return features


def _feature(kind: str, name: str, geometry: BaseGeometry) -> dict[str, Any]:
    simple = geometry.simplify(5.0) if geometry.geom_type != "Point" else geometry
    return {
        "type": "Feature",
        "properties": {"type": kind, "nom": name},
        "geometry": _project(simple),
    }


def write_city(path: Path) -> Path:
    """Write the city's GeoJSON (UTF-8, one feature a line: diffs stay readable)."""
    features = city_features()
    lines = ",\n".join(
        json.dumps(f, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for f in features
    )
    text = (
        '{"type":"FeatureCollection","name":"' + CITY_NAME + '",'
        '"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},'
        '"features":[\n' + lines + "\n]}\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - the committed file is checked by a test
    write_city(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path("params/carte/meuse-centre.geojson")
    )
