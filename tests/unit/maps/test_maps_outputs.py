"""What the maps stage writes: a self-contained HTML page, pages of the right size, small zones
never printed as a number, the committed fictitious city as its generator writes it."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.text import Text

from observatoire.config.services import load_services
from observatoire.config.settings import MapsSettings
from observatoire.disclosure.ledger import ledger_of
from observatoire.disclosure.maps import MAPS_FOLDER, publish_zones
from observatoire.plans.settings import load_plans
from observatoire.reports.maps.directory import services_of_plan
from observatoire.reports.maps.flyer import FRONT_DISPOSITIFS, MIN_BODY_PT, flyer
from observatoire.reports.maps.geodata import CityError, read_city
from observatoire.reports.maps.interactive import external_resources, interactive_map
from observatoire.reports.maps.printed import save_pdf, services_map, zones_map
from observatoire.reports.maps.zones import write_zone_cells, zone_cells
from observatoire.sample.city import write_city

ROOT = Path(__file__).resolve().parents[3]
CITY = ROOT / "params/carte/meuse-centre.geojson"
VENDOR = ROOT / "src/observatoire/assets/vendor/leaflet"
YEAR, K = 2024, 5


@pytest.fixture(scope="module")
def inputs():
    plans = load_plans(ROOT / "params/plans.yaml")
    directory = load_services(ROOT / "params/services.yaml")
    return plans, directory, read_city(CITY)


def _contacts(per_zone: dict[str, int], day: str) -> pd.DataFrame:
    rows = [
        {"person_id": f"P{zone}{i}", "dispositif": "travail_rue", "date_start": day, "zone": zone}
        for zone, n in per_zone.items()
        for i in range(n)
    ]
    frame = pd.DataFrame(rows)
    frame["date_start"] = pd.to_datetime(frame["date_start"])
    return frame


@pytest.fixture(scope="module")
def cells(inputs):
    """A winter with 3 persons met in the Parc (a small cell) and more elsewhere."""
    plans = inputs[0]
    contacts = _contacts({"Gare": 31, "Centre-ville": 17, "Parc": 3, "Quais": 9}, "2024-01-10")
    pub = publish_zones(contacts, plans, YEAR, K)
    return zone_cells(ledger_of({MAPS_FOLDER: pub}), YEAR, "grand_froid", K)


def test_the_committed_city_is_what_its_generator_writes(tmp_path):
    assert write_city(tmp_path / "c.geojson").read_bytes() == CITY.read_bytes()


def test_a_city_without_its_boundary_is_refused(tmp_path):
    text = CITY.read_text(encoding="utf-8").replace('"type":"commune"', '"type":"zone"')
    (tmp_path / "c.geojson").write_text(text, encoding="utf-8")
    with pytest.raises(CityError, match="limite de la commune est obligatoire"):
        read_city(tmp_path / "c.geojson")


def test_the_vendored_leaflet_is_the_npm_release():
    source = (VENDOR / "SOURCE.md").read_text(encoding="utf-8")
    for name in ("leaflet.js", "leaflet.css"):
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert f"`{name}` sha256: `{digest}`" in source
    assert "BSD" in (VENDOR / "LICENSE").read_text(encoding="utf-8") or "Redistribution" in (
        VENDOR / "LICENSE"
    ).read_text(encoding="utf-8")


class _Loads(HTMLParser):
    """Independent of the module's own check: every src/href/url a browser would fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "data"):
            if a.get(key):
                self.urls.append(a[key])
        if tag == "link" and a.get("href"):
            self.urls.append(a["href"])


def _page(inputs, cells, maps: MapsSettings) -> str:
    plans, directory, city = inputs
    plan = plans.plans["grand_froid"]
    return interactive_map(
        city,
        services_of_plan(directory, plan, YEAR),
        plan,
        YEAR,
        cells,
        K,
        maps,
        organisation="Réseau test",
    )


def test_the_html_map_loads_nothing_from_outside(inputs, cells):
    page = _page(inputs, cells, MapsSettings())
    parser = _Loads()
    parser.feed(page)
    assert not [u for u in parser.urls if not u.startswith("data:")], parser.urls
    assert not re.findall(r"url\(\s*['\"]?(?:https?:)?//", page)
    assert not re.findall(r"@import", page)
    assert external_resources(page) == []
    # folium's jQuery-built popups would fail without the CDN: core Leaflet only
    assert "$(`" not in page and "jquery" not in page.lower()
    assert "Leaflet 1.9.4" in page and "L.map(" in page
    # the layers are embedded: the commune, the services with their popups
    assert "Meuse-Centre" in page and "Tél. 099 10 20 30" in page


def test_the_html_map_keeps_its_layers_drawn_when_the_window_resizes(inputs, cells):
    page = _page(inputs, cells, MapsSettings())
    # Leaflet's SVG drawn one view beyond each side, before any map is made
    assert page.index("L.SVG.mergeOptions({padding: 1.0})") < page.index("L.map(")
    # framed once the page has its size and again on resize, redrawn at once
    assert "window.addEventListener('resize'" in page and "invalidateSize({pan: false})" in page
    assert "map_1.fitBounds(" not in page  # not folium's fit before the boxes are measured


def test_tiles_only_when_asked(inputs, cells):
    maps = MapsSettings(
        tiles="https://tile.example.org/{z}/{x}/{y}.png", tiles_attribution="© exemple"
    )
    assert external_resources(_page(inputs, cells, maps)) == [
        "https://tile.example.org/{z}/{x}/{y}.png"
    ]


def test_a_zone_under_k_is_never_printed_as_a_number(inputs, cells, tmp_path):
    plans, _, city = inputs
    parc = next(c for c in cells if c.zone == "Parc")
    assert (parc.text, parc.value) == (f"< {K}", None)
    assert next(c for c in cells if c.zone == "Gare").text == "31"
    fig = zones_map(city, cells, plans.plans["grand_froid"], YEAR, K, organisation="x", sources="y")
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert any("Parc" in t and f"< {K}" in t for t in texts)
    assert not [t for t in texts if re.search(r"(^|\s)3($|\s)", t)]
    save_pdf(fig, tmp_path / "z.pdf")
    csv = write_zone_cells(cells, tmp_path / "z.csv").read_text(encoding="utf-8")
    assert "Parc,< 5,," in csv
    page = _page(inputs, cells, MapsSettings())
    assert "Parc\\u003cbr\\u003e\\u0026lt; 5" in page  # the zone's label, as folium encodes it
    assert '"personnes": "\\u003c 5"' in page  # its tooltip
    assert "Parc\\u003cbr\\u003e3" not in page and '"personnes": "3"' not in page


def _media_box(path: Path) -> tuple[int, int]:
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", path.read_bytes())
    assert box is not None
    return round(float(box[1])), round(float(box[2]))


def test_pages_have_their_paper_size(inputs, tmp_path):
    plans, directory, city = inputs
    plan = plans.plans["canicule"]
    services = services_of_plan(directory, plan, YEAR)
    for page, size in (("A4", (595, 842)), ("A3", (842, 1191))):
        fig = services_map(city, services, plan, YEAR, page, organisation="x", sources="y")
        assert _media_box(save_pdf(fig, tmp_path / f"{page}.pdf")) == size
    pages = flyer(city, services, plan, YEAR, directory.emergency, organisation="x")
    texts = " ".join(t.get_text() for t in pages[0].findobj(Text))
    assert "Où trouver de l'aide cet été" in texts and "112" in texts
    assert _media_box(save_pdf(pages, tmp_path / "flyer.pdf")) == (595, 842)
    assert re.search(
        rb"/Type /Pages /Kids \[[^]]*\] /Count 2", (tmp_path / "flyer.pdf").read_bytes()
    )


def test_the_flyer_reads_in_the_street(inputs):
    """Recto: body type of at least 10 pt, every walk-in service of the plan with its address,
    phone and alert-phase hours, nothing cut at the page's edge; the rest on the verso."""
    plans, directory, city = inputs
    plan = plans.plans["grand_froid"]
    services = services_of_plan(directory, plan, YEAR)
    recto, verso = flyer(city, services, plan, YEAR, directory.emergency, organisation="x")
    renderer = recto.canvas.get_renderer()
    body = [
        t
        for t in recto.findobj(Text)
        if t.get_text().strip() and t.get_window_extent(renderer).y0 > 0.045 * recto.bbox.height
    ]
    sizes = {t.get_fontsize() for t in body}
    assert min(sizes) >= MIN_BODY_PT, sorted(sizes)
    for t in body:  # inside the page's margins
        box = t.get_window_extent(renderer)
        assert box.x1 <= 0.965 * recto.bbox.width, t.get_text()
    text = " ".join(t.get_text() for t in body).replace("\u00a0", " ")
    front = [s for s in services if s.service.dispositif in FRONT_DISPOSITIFS]
    assert len(front) >= 8
    for s in front:
        assert s.service.phone in text and (s.hours("grand_froid") or "fermé") in text
    back = " ".join(t.get_text() for t in verso.findobj(Text)).replace("\u00a0", " ")
    for s in services:
        if s not in front:
            assert s.service.phone in back and s.service.phone not in text
