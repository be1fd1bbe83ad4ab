"""The interactive map of a plan: one self-contained HTML page (folium, Leaflet inlined).

folium writes Leaflet pages that fetch Leaflet, jQuery, Bootstrap and Font Awesome from CDNs.
The observatory's page must open offline, on a social worker's laptop or a locked-down PC, and
tell no third party who looked at it: the CDN links are dropped (:func:`self_contained`), and
Leaflet's own script and stylesheet — vendored from the npm package, with its licence, in
``assets/vendor/leaflet/`` — are inlined, its images as ``data:`` URIs. Nothing else is used
(markers are Leaflet ``DivIcon``s styled here, popups are Leaflet's). The vector layers (commune,
zones with the persons met as published, streets, river, station, services) are embedded as
GeoJSON. Background tiles are off unless ``maps.tiles`` names a tile server (then the page
loads tiles from it, by the analyst's choice). :func:`external_resources` lists anything the
page would still load from outside; the stage refuses to publish a page where it finds one.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from importlib import resources

import folium
from branca.element import MacroElement
from jinja2 import Template

from observatoire.config.settings import MapsSettings
from observatoire.core.dispositifs import DISPOSITIF_COLOURS, DISPOSITIFS
from observatoire.plans.settings import Plan
from observatoire.reports.maps.directory import MapService, welcome_text
from observatoire.reports.maps.geodata import City
from observatoire.reports.maps.labels import label_box, place_labels
from observatoire.reports.maps.printed import project_services
from observatoire.reports.maps.zones import ZoneCell

__all__ = [
    "LEAFLET_VERSION",
    "external_resources",
    "interactive_map",
    "leaflet_assets",
    "self_contained",
    "stable_ids",
]

LEAFLET_VERSION = "1.9.4"
_VENDOR = ("observatoire", "assets/vendor/leaflet")
_EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)|@import\s+['\"]([^'\"]+)['\"]")


def _vendor_file(name: str) -> bytes:
    return resources.files(_VENDOR[0]).joinpath(f"{_VENDOR[1]}/{name}").read_bytes()


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's script and stylesheet as text, the stylesheet's images inlined."""
    js = _vendor_file("leaflet.js").decode("utf-8")
    css = _vendor_file("leaflet.css").decode("utf-8")

    def inline(match: re.Match[str]) -> str:
        target = match.group(1) or ""
        if not target.startswith("images/"):
            return match.group(0)
        data = base64.b64encode(_vendor_file(target)).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return js, _CSS_URL.sub(inline, css)


class _Resources(HTMLParser):
    """Every URL the page would fetch: script/img/iframe/source/embed src, link href,
    object data, CSS url() and @import in style blocks and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for attr in ("src", "data", "poster"):
            if a.get(attr):
                self.found.append(str(a[attr]))
        if tag == "link" and a.get("href"):
            self.found.append(str(a["href"]))
        if a.get("style"):
            self._css(str(a["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, text: str) -> None:
        for m in _CSS_URL.finditer(text):
            self.found.append(m.group(1) or m.group(2) or "")


def external_resources(page: str) -> list[str]:
    """The URLs outside the page that loading it would fetch (empty: self-contained).

    Links a reader may follow (``<a href>``) are not loads; a ``data:`` URI is inside the page.
    Script bodies are searched for tile URL templates too (``https://…{z}``)."""
    parser = _Resources()
    parser.feed(page)
    found = [u for u in parser.found if _EXTERNAL.match(u) or u.startswith("file:")]
    found += re.findall(r"[\"'](https?://[^\"']*\{z\}[^\"']*)[\"']", page)
    return found


_ELEMENT_ID = re.compile(r"\b([a-z][a-z_]*?)_([0-9a-f]{32})(?![0-9a-f])")


def stable_ids(page: str) -> str:
    """folium names each element with a random id: number them in order of appearance instead,
    so the same inputs give the same page (byte for byte)."""
    seen: dict[str, str] = {}

    def rename(m: re.Match[str]) -> str:
        return seen.setdefault(m[2], f"{m[1]}_{len(seen) + 1}")

    return _ELEMENT_ID.sub(rename, page)


def self_contained(page: str) -> str:
    """folium's page with its CDN tags removed, Leaflet inlined in ``<head>``, ids stable."""
    page = stable_ids(page)
    page = re.sub(r"<script[^>]+src=\"https?://[^\"]+\"[^>]*>\s*</script>\s*", "", page)
    page = re.sub(r"<link[^>]+href=\"https?://[^\"]+\"[^>]*/?>\s*", "", page)
    js, css = leaflet_assets()
    head = (
        f"<style>/* Leaflet {LEAFLET_VERSION} (BSD-2-Clause) */\n{css}</style>\n"
        f"<script>{js}</script>\n"
        f"<script>{_RENDERER_PADDING}</script>\n"
    )
    return page.replace("<head>", "<head>\n" + head, 1)


_RENDERER_PADDING = "L.SVG.mergeOptions({padding: 1.0});"
"""Leaflet draws the vector layers in one SVG a little larger than the view (``padding`` 0.1 of
the view on each side), clipped to it, and redraws it on ``moveend``. A view resized before that
event (a window that reaches its size after the first draw, a phone turned) showed the commune
cut by a band; a padding of one view on each side keeps the whole commune drawn until the next
redraw (the commune is a few hundred vertices: a larger SVG costs nothing)."""


class _FitCommune(MacroElement):
    """Frame the commune in the part of the window the title and legend boxes leave free, once
    the page has its size, and again on every resize until the reader moves the map. On a
    narrow screen (a phone) the legend starts folded (a click on « Services » unfolds it).

    Two layouts are tried and the one giving the larger zoom kept: boxes in a column on the
    left (landscape screens), or the title above and the legend below (phones). After a
    resize, ``invalidateSize`` without debounce makes Leaflet redraw its SVG at once."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function (map) {"
        " var bounds = L.latLngBounds({{ this.bounds }});"
        " var moved = false, fitting = false;"
        " function box(sel) { var e = document.querySelector(sel);"
        "  return e ? e.getBoundingClientRect() : {left: 0, right: 0, top: 0, bottom: 0}; }"
        " function fit() {"
        "  map.invalidateSize({pan: false});"
        "  var size = map.getSize(), t = box('.obs-title'), l = box('.obs-legend');"
        "  var side = [[Math.max(t.right, l.right) + 12, 12], [12, 28]];"
        "  var stack = [[12, t.bottom + 12], [12, Math.max(28, size.y - l.top + 12)]];"
        "  function zoom(p) { var pad = L.point(p[0]).add(L.point(p[1]));"
        "   if (size.x - pad.x < 120 || size.y - pad.y < 120) { return -1; }"
        "   return map.getBoundsZoom(bounds, false, pad); }"
        "  var p = zoom(side) >= zoom(stack) ? side : stack;"
        "  fitting = true;"
        "  map.fitBounds(bounds, {paddingTopLeft: p[0], paddingBottomRight: p[1],"
        "   animate: false});"
        "  fitting = false; }"
        " var legend = document.querySelector('details.obs-legend');"
        " if (legend && window.innerWidth < 600) { legend.open = false; }"
        " if (legend) { legend.addEventListener('toggle', function () {"
        "  if (!moved) { fit(); } }); }"
        " map.on('dragstart zoomstart', function () { if (!fitting) { moved = true; } });"
        " fit();"
        " window.addEventListener('load', fit);"
        " window.addEventListener('resize', function () {"
        "  if (moved) { map.invalidateSize({pan: false}); } else { fit(); } });"
        "})({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitCommune"
        self.bounds = json.dumps(bounds)


class _Popup(MacroElement):
    """A Leaflet popup bound with core Leaflet only (folium's ``Popup`` builds its content with
    jQuery, which the self-contained page does not carry)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.bindPopup({{ this.content }}, "
        "{maxWidth: Math.min(340, window.innerWidth - 90), autoPanPaddingTopLeft: [20, 150], "
        "autoPanPaddingBottomRight: [20, 20]});"
        "{% endmacro %}"
    )

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "ObsPopup"
        self.content = json.dumps(content, ensure_ascii=False).replace("</", "<\\/")


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres only."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


_PAGE_CSS = """
<style>
  html, body { font-family: "DejaVu Sans", Verdana, sans-serif; }
  .obs-marker { border-radius: 50%; color: #fff; font-weight: bold; font-size: 13px;
    text-align: center; line-height: 24px; width: 24px; height: 24px;
    border: 2px solid #fff; box-shadow: 0 1px 3px rgba(0,0,0,.45); }
  .obs-marker.plan-only { border: 3px solid #111; line-height: 22px; }
  .obs-box { position: absolute; z-index: 1000; background: rgba(255,255,255,.94);
    padding: 8px 12px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3);
    font-size: 13px; color: #222; max-width: 340px; }
  .obs-title { top: 10px; left: 56px; max-width: min(340px, calc(100% - 136px)); }
  .obs-legend summary { cursor: pointer; }
  .obs-title h1 { font-size: 17px; margin: 0 0 4px 0; }
  .obs-title p { margin: 0; color: #555; font-size: 12px; }
  .obs-legend { bottom: 34px; left: 10px; }
  .obs-legend div { margin: 2px 0; }
  .obs-dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%;
    margin-right: 6px; vertical-align: -1px; border: 1px solid #fff; }
  .obs-popup { font-size: 13px; line-height: 1.35; }
  .obs-popup h3 { margin: 0 0 4px 0; font-size: 15px; }
  .obs-popup table { border-collapse: collapse; margin: 4px 0; }
  .obs-popup td { padding: 1px 6px 1px 0; vertical-align: top; }
  .obs-popup .muted { color: #666; }
  .obs-zone-icon { background: none; border: none; }
  .obs-zone-label { font-weight: bold; font-size: 12px; line-height: 15px; color: #222;
    text-align: center; white-space: nowrap;
    text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
</style>
"""


def _popup(s: MapService, plan: Plan) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td class='muted'>{e(p.label)}</td><td>{e(p.hours or 'fermé')}"
        + (f" (+ {s.extra_beds[p.phase]} lits)" if s.extra_beds.get(p.phase) else "")
        + "</td></tr>"
        for p in s.phases
    )
    note = f"<div class='muted'>{e(s.service.note)}</div>" if s.service.note else ""
    return (
        f"<div class='obs-popup'><h3>{s.number}. {e(s.service.name)}</h3>"
        f"<div>{e(s.service.address)}</div><div>Tél. {e(s.service.phone)}</div>{note}"
        f"<table>{rows}</table><div><b>Publics :</b> {e(welcome_text(s.service))}</div>"
        f"<div class='muted'>{e(DISPOSITIFS[s.service.dispositif])}</div></div>"
    )


def _zone_style(cells: dict[str, ZoneCell], top: float):  # noqa: ANN202 - folium callback
    def style(feature: dict) -> dict:
        cell = cells.get(feature["properties"]["nom"])
        if cell is None or cell.value is None:
            return {
                "color": "#777777",
                "weight": 1.2,
                "dashArray": "4 4",
                "fillColor": "#BBBBBB",
                "fillOpacity": 0.25,
            }
        share = cell.value / top if top else 0
        return {
            "color": "#2F5F8A",
            "weight": 1.2,
            "fillColor": "#2171B5",
            "fillOpacity": 0.12 + 0.45 * share,
        }

    return style


def _zone_labels(city: City, services: Sequence[MapService], zones) -> list:  # noqa: ANN001
    """(name, text, (lat, lon), box) of each zone's label, placed clear of the markers."""
    import geopandas as gpd

    from observatoire.reports.maps.geodata import WGS84

    metric = city.of("zone").set_index("nom").geometry
    texts = dict(zip(zones["nom"], zones["personnes"], strict=True))
    boxes = {n: label_box([n, texts[n]]) for n in metric.index}
    markers = [(m.x, m.y) for m in project_services(services)]
    stations = [(g.x, g.y, 8.0) for g in city.of("gare").geometry]
    xmin, _, xmax, _ = city.of("commune").total_bounds
    points = place_labels(dict(metric.items()), boxes, markers, xmax - xmin, others=stations)
    names = list(points)
    wgs = gpd.GeoSeries([points[n] for n in names], crs=city.metric.crs).to_crs(WGS84)
    return [(n, texts[n], (p.y, p.x), boxes[n]) for n, p in zip(names, wgs, strict=True)]


def interactive_map(
    city: City,
    services: Sequence[MapService],
    plan: Plan,
    year: int,
    zone_cells: Sequence[ZoneCell],
    k: int,
    maps: MapsSettings,
    *,
    organisation: str,
) -> str:
    """The page as text (self-contained unless tiles are turned on)."""
    commune = city.of("commune", metric=False)
    xmin, ymin, xmax, ymax = commune.total_bounds
    m = folium.Map(
        location=[(ymin + ymax) / 2, (xmin + xmax) / 2],
        tiles=None,
        zoom_start=14,
        zoom_snap=0.25,
        control_scale=False,
        prefer_canvas=False,
    )
    m.default_js = []
    m.default_css = []
    if maps.tiles:
        folium.TileLayer(
            tiles=maps.tiles, attr=maps.tiles_attribution, name="Fond de carte"
        ).add_to(m)
    m.get_root().header.add_child(folium.Element(_PAGE_CSS))
    wgs = city.wgs84
    props = ["type", "nom"]
    folium.GeoJson(
        commune[[*props, "geometry"]],
        name=f"Commune de {city.name}",
        style_function=lambda f: {
            "color": "#4A4A4A",
            "weight": 2,
            "fillColor": "#F3F0E8",
            "fillOpacity": 1.0 if not maps.tiles else 0.15,
        },
        tooltip=None,
    ).add_to(m)
    water = wgs[wgs["type"] == "riviere"]
    if not water.empty:
        folium.GeoJson(
            water[[*props, "geometry"]],
            name="Rivière",
            style_function=lambda f: {
                "color": "#A9CBE6",
                "weight": 1,
                "fillColor": "#A9CBE6",
                "fillOpacity": 1.0,
            },
            tooltip=folium.GeoJsonTooltip(fields=["nom"], labels=False),
        ).add_to(m)
    streets = wgs[wgs["type"].isin(["rue", "voie_ferree"])]
    if not streets.empty:
        folium.GeoJson(
            streets[[*props, "geometry"]],
            name="Rues principales",
            style_function=lambda f: (
                {"color": "#6E6E6E", "weight": 2, "dashArray": "6 4"}
                if f["properties"]["type"] == "voie_ferree"
                else {"color": "#FFFFFF", "weight": 5, "opacity": 1.0}
            ),
            tooltip=folium.GeoJsonTooltip(fields=["nom"], labels=False),
        ).add_to(m)
    zones = wgs[wgs["type"] == "zone"].copy()
    if not zones.empty:
        cells = {c.zone: c for c in zone_cells}
        values = [c.value for c in zone_cells if c.value is not None]
        zones["personnes"] = [
            cells[z].text if z in cells else "pas de donnée" for z in zones["nom"]
        ]
        first, last = plan.window(year)
        layer = folium.FeatureGroup(name="Personnes rencontrées en rue par zone", show=False)
        folium.GeoJson(
            zones[["nom", "personnes", "geometry"]],
            style_function=_zone_style(cells, max(values) if values else 0.0),
            tooltip=folium.GeoJsonTooltip(
                fields=["nom", "personnes"],
                aliases=[
                    "Zone",
                    f"Personnes rencontrées du {first:%d/%m/%Y} au {last:%d/%m/%Y}",
                ],
            ),
        ).add_to(layer)
        for name, text, (lat, lon), size in _zone_labels(city, services, zones):
            folium.Marker(
                [lat, lon],
                icon=folium.DivIcon(
                    html=f"<div class='obs-zone-label'>{html.escape(name)}<br>"
                    f"{html.escape(text)}</div>",
                    icon_size=(round(size.width), round(size.height)),
                    icon_anchor=(round(size.width / 2), round(size.height / 2)),
                    class_name="obs-zone-icon",
                ),
                interactive=False,
            ).add_to(layer)
        layer.add_to(m)
    station = wgs[wgs["type"] == "gare"]
    for _, row in station.iterrows():
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x],
            radius=5,
            color="#333333",
            fill=True,
            fill_opacity=1,
            tooltip=row["nom"],
        ).add_to(m)
    group = folium.FeatureGroup(name="Services ouverts pendant le plan")
    for s in services:
        colour = DISPOSITIF_COLOURS[s.service.dispositif]
        cls = "obs-marker plan-only" if s.service.plan_only else "obs-marker"
        marker = folium.Marker(
            [s.service.lat, s.service.lon],
            icon=folium.DivIcon(
                html=f"<div class='{cls}' style='background:{colour}'>{s.number}</div>",
                icon_size=(28, 28),
                icon_anchor=(14, 14),
            ),
            tooltip=f"{s.number}. {s.service.name}",
        )
        marker.add_child(_Popup(_popup(s, plan)))
        marker.add_to(group)
    group.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    m.add_child(_MetricScale())
    m.add_child(_FitCommune([[ymin, xmin], [ymax, xmax]]))
    first, last = plan.window(year)
    present = list(dict.fromkeys(s.service.dispositif for s in services))
    legend = "".join(
        f"<div><span class='obs-dot' style='background:{DISPOSITIF_COLOURS[d]}'></span>"
        f"{html.escape(DISPOSITIFS[d])}</div>"
        for d in present
    )
    if any(s.service.plan_only for s in services):
        legend += (
            "<div><span class='obs-dot' style='background:#fff;border:3px solid #111'></span>"
            f"ouvert seulement pendant le {html.escape(plan.name)}</div>"
        )
    m.get_root().html.add_child(
        folium.Element(
            "<div class='obs-box obs-title'>"
            f"<h1>{html.escape(plan.label(year))} — "
            f"<span style='white-space:nowrap'>{html.escape(city.name)}</span></h1>"
            f"<p>Du {first:%d/%m/%Y} au {last:%d/%m/%Y}. Cliquez sur un numéro : adresse, "
            "téléphone, horaires de chaque phase, publics accueillis. "
            f"Zones : personnes rencontrées (moins de {k} : « &lt; {k} »).</p></div>"
            f"<details class='obs-box obs-legend' open><summary><b>Services</b></summary>{legend}"
            f"<div style='color:#666;font-size:11px;margin-top:4px'>{html.escape(organisation)}"
            "</div></details>"
        )
    )
    m.get_root().title = f"{plan.label(year)} — {city.name}"
    return self_contained(m.get_root().render())
