"""The neighbourhood diagnosis' map and heat map on hand-made published cells: a zone under the
observations' minimum is not shaded, a masked count is hatched and never drawn as a number,
the labels keep clear of the station; the heat map shades persons per observation only where
the team was present often enough."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.text import Text
from shapely.geometry import Point

from observatoire.reports.diagnostic.charts import (
    HEAT_MIN_OBSERVATIONS,
    _station_box,
    heat_map,
    zones_map,
)
from observatoire.reports.maps.geodata import read_city

ROOT = Path(__file__).resolve().parents[3]
CITY = ROOT / "params/carte/meuse-centre.geojson"


def _cells() -> pd.DataFrame:
    rows = [
        ("Gare", True, 1425.0, "1 425", "158", "850", "consommation (51 %)"),
        ("Centre-ville", True, 775.0, "775", "158", "244", "mendicité (53 %)"),
        ("Parc", True, None, "< 5", "158", "< 5", ""),
        ("Quais", False, None, "", "12", "", ""),
    ]
    cols = ["zone", "reported", "value", "text", "observations", "young_text", "problem"]
    return pd.DataFrame(rows, columns=cols).astype(object)


def test_zone_under_the_minimum_is_not_shaded_and_labels_avoid_the_station():
    city = read_city(CITY)
    fig, _ = zones_map(city, _cells(), 5, "t", "c")
    ax = fig.axes[0]
    texts = [t for t in fig.findobj(Text) if t.get_text()]
    quais = next(t for t in texts if t.get_text().startswith("Quais"))
    assert "trop peu" in quais.get_text()
    parc = next(t for t in texts if t.get_text().startswith("Parc"))
    assert "< 5 rencontres" in parc.get_text()
    # shaded zones are the reported ones only: three zone patches (Gare, Centre-ville, Parc)
    zone_fills = [c for c in ax.collections if c.get_zorder() == 3.5]
    assert len(zone_fills) == 3
    fig.canvas.draw()
    xlim = ax.get_xlim()
    mpp = (xlim[1] - xlim[0]) / (ax.get_position().width * fig.get_size_inches()[0] * 72)
    station = city.of("gare")
    names = station["nom"]
    boxes = [_station_box(g, str(n), mpp) for g, n in zip(station.geometry, names, strict=True)]
    gare = next(t for t in texts if t.get_text().startswith("Gare\n"))
    x, y = gare.xy
    assert not any(b.contains(Point(x, y)) for b in boxes)
    plt.close(fig)


def test_heat_map_shades_only_cells_with_enough_observations():
    cells = pd.DataFrame(
        [
            {"jour": "lundi", "tranche": "18 h–21 h", "value": 60.0, "text": "60",
             "observations": 10},
            {"jour": "lundi", "tranche": "21 h–0 h", "value": 25.0, "text": "25",
             "observations": HEAT_MIN_OBSERVATIONS - 1},
            {"jour": "mardi", "tranche": "18 h–21 h", "value": None, "text": "< 5",
             "observations": 4},
            {"jour": "mardi", "tranche": "21 h–0 h", "value": 0.0, "text": "0",
             "observations": 0},
        ]
    )  # fmt: skip
    fig, drawn = heat_map(cells, ["lundi", "mardi"], ["18 h–21 h", "21 h–0 h"])
    rate = drawn.set_index(["jour", "tranche"])["per_observation"]
    assert rate[("lundi", "18 h–21 h")] == 6.0
    assert pd.isna(rate[("lundi", "21 h–0 h")])  # too few observations: no shade
    assert pd.isna(rate[("mardi", "18 h–21 h")])  # masked: no shade, no number
    texts = {t.get_text() for t in fig.findobj(Text)}
    assert {"60", "25", "< 5", "–"} <= texts  # « – »: the team never came
    plt.close(fig)
