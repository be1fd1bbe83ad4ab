"""The neighbourhood diagnosis' charts and map, in the house style.

Person counts are drawn from *published cells* only (value or None when masked, and the
ledger's text): a masked cell is hatched and labelled « < k » or « s », never drawn with a
value. Shares of observations and model estimates are not persons. Every function returns the
figure and the frame it drew, which the report writes as CSV beside the PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from observatoire.reports.charts import MUTED, PALETTE, french_axis, new_figure
from observatoire.reports.maps.geodata import (
    City,
    draw_base,
    draw_north_arrow,
    draw_scale_bar,
    layers_without_draws,
)

__all__ = ["code_chart", "heat_map", "persons_chart", "young_chart", "zones_map"]

HATCH = "////"
HEAT_MIN_OBSERVATIONS = 3
"""Fewest observations in a heat map cell for its shade (persons met per observation): one or
two evenings say more about those evenings than about the hour; the count is still written."""
MASKED_EDGE = "#888888"


def heat_map(
    cells: pd.DataFrame, days: Sequence[str], bands: Sequence[str]
) -> tuple[Figure, pd.DataFrame]:
    """Weekday × band of hours. The shade is the persons met *per observation* (a published
    count over the team's observations in the cell: where people are, not where the team
    goes most), the number written is the published count; a cell the team never visited is
    grey with « – », a cell of fewer than :data:`HEAT_MIN_OBSERVATIONS` observations is white
    (count written, no shade), a masked count is hatched with its text (« < k », « s »).
    ``cells``: ``jour``, ``tranche``, ``value`` (None when masked), ``text``,
    ``observations``. Returns the frame drawn with its ``per_observation``."""
    fig, ax = new_figure(9.5)
    cells = cells.copy()
    obs = cells["observations"].astype(float)
    value = pd.to_numeric(cells["value"], errors="coerce")
    cells["per_observation"] = np.where(
        obs >= HEAT_MIN_OBSERVATIONS, value / obs.where(obs > 0), np.nan
    )
    rate = np.full((len(days), len(bands)), np.nan)
    seen = np.zeros((len(days), len(bands)), dtype=bool)
    masked = np.zeros((len(days), len(bands)), dtype=bool)
    texts = [["" for _ in bands] for _ in days]
    for r in cells.itertuples(index=False):
        i, j = list(days).index(r.jour), list(bands).index(r.tranche)
        seen[i, j] = r.observations > 0
        masked[i, j] = r.value is None or pd.isna(r.value)
        rate[i, j] = r.per_observation
        texts[i][j] = r.text if seen[i, j] else "–"
    top = float(np.nanmax(rate)) if np.isfinite(rate).any() and np.nanmax(rate) > 0 else 1.0
    cmap = LinearSegmentedColormap.from_list(
        "rencontres", plt.get_cmap("Blues")(np.linspace(0.06, 0.9, 256))
    )
    for i in range(len(days)):
        for j in range(len(bands)):
            if not seen[i, j]:
                face, colour = "#EFEFEF", "#9A9A9A"
            elif masked[i, j] or np.isnan(rate[i, j]):
                face, colour = "white", "#222222"
            else:
                share = rate[i, j] / top
                face = cmap(share)
                colour = "white" if share > 0.6 else "#222222"
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=face, edgecolor="white", lw=1.5))
            if seen[i, j] and masked[i, j]:
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor=MASKED_EDGE, lw=0,
                                       hatch=HATCH))  # fmt: skip
            ax.text(j + 0.5, i + 0.5, texts[i][j], ha="center", va="center", fontsize=8,
                    color=colour, path_effects=[] if colour != "#222222" or not masked[i, j]
                    else [pe.withStroke(linewidth=2.5, foreground="white")])  # fmt: skip
    ax.set_xlim(0, len(bands))
    ax.set_ylim(len(days), 0)
    ax.set_xticks(np.arange(len(bands)) + 0.5)
    ax.set_xticklabels(bands, fontsize=7.5)
    ax.set_yticks(np.arange(len(days)) + 0.5)
    ax.set_yticklabels([d.capitalize() for d in days], fontsize=7.5)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.grid(False)
    ax.set_xlabel("Heure de début de l'observation")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, top))
    bar = fig.colorbar(sm, ax=ax, fraction=0.035, pad=0.02)
    bar.set_label("Rencontres par observation", fontsize=7.5)
    bar.ax.tick_params(labelsize=7)
    bar.ax.yaxis.set_major_formatter(lambda v, _: f"{v:g}".replace(".", ","))
    return fig, cells


def persons_chart(cells: pd.DataFrame, years: Sequence[int]) -> tuple[Figure, pd.DataFrame]:
    """Persons met (sightings) per zone, one bar per year; a masked cell is a hatched stub
    labelled with its text. ``cells``: ``zone``, ``year``, ``value``, ``text``."""
    zones = list(dict.fromkeys(cells["zone"]))
    fig, ax = new_figure(8.5)
    width = 0.8 / len(years)
    x = np.arange(len(zones))
    top = max([v for v in cells["value"] if v is not None and not pd.isna(v)] or [1.0])
    for n, year in enumerate(years):
        part = cells[cells["year"] == year].set_index("zone")
        for i, zone in enumerate(zones):
            if zone not in part.index:
                continue
            v, text = part.loc[zone, "value"], part.loc[zone, "text"]
            xi = x[i] - 0.4 + width * (n + 0.5)
            masked = v is None or pd.isna(v)
            h = 0.04 * top if masked else float(v)
            ax.bar(xi, h, width=width * 0.92, color="white" if masked else PALETTE[n],
                   edgecolor=MASKED_EDGE if masked else "none", hatch=HATCH if masked else None,
                   label=str(year) if i == 0 else None)  # fmt: skip
            ax.annotate(text, (xi, h), textcoords="offset points", xytext=(0, 2), ha="center",
                        fontsize=7)  # fmt: skip
    ax.set_xticks(x)
    ax.set_xticklabels(zones)
    ax.set_ylabel("Personnes rencontrées\n(rencontres)")
    ax.set_ylim(0, top * 1.18)
    french_axis(ax)
    ax.legend(loc="upper right", frameon=False, fontsize=7.5, ncols=len(years))
    return fig, cells


def code_chart(rows: pd.DataFrame, years: tuple[int, int]) -> tuple[Figure, pd.DataFrame]:
    """Share of observations with each code, last year (open circle) and this year (filled),
    a line between them; « plus » / « moins » after the label when the corrected test says so.
    ``rows``: ``label``, ``share_prev``, ``share_cur``, ``verdict``."""
    n = len(rows)
    fig, ax = new_figure(2.6 + 0.62 * n)
    y = np.arange(n)[::-1]
    for yi, r in zip(y, rows.itertuples(index=False), strict=True):
        ax.plot([r.share_prev, r.share_cur], [yi, yi], color="#BBBBBB", lw=1.2, zorder=1)
    ax.scatter(rows["share_prev"], y, facecolor="white", edgecolor=PALETTE[0], s=28, zorder=2,
               label=str(years[0]))  # fmt: skip
    ax.scatter(rows["share_cur"], y, color=PALETTE[0], s=28, zorder=3, label=str(years[1]))
    labels = [
        f"{r.label}  ({r.verdict})" if r.verdict in ("plus", "moins") else r.label
        for r in rows.itertuples(index=False)
    ]
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7.5)
    ax.set_xlim(0, max(0.1, float(np.nanmax(rows[["share_prev", "share_cur"]].to_numpy())) * 1.15))
    ax.set_xlabel("Part des observations où le code est noté")
    french_axis(ax, "x", decimals=0)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v * 100:.0f} %")
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=7.5)
    return fig, rows


def young_chart(
    rows: pd.DataFrame, years: tuple[int, int], per: str = "par passage"
) -> tuple[Figure, pd.DataFrame]:
    """Per zone: the adjusted rate ratio of young persons met ``per`` passage or hour (95 %
    interval) and the naive ratio; a vertical line at 1 (no change), always in view.
    ``rows``: ``zone``, ``rr``, ``lo``, ``hi``, ``naive``."""
    n = len(rows)
    fig, ax = new_figure(3.2 + 1.0 * n)
    y = np.arange(n)[::-1]
    ax.errorbar(rows["rr"], y, xerr=[rows["rr"] - rows["lo"], rows["hi"] - rows["rr"]], fmt="o",
                color=PALETTE[0], capsize=3, label="Modèle ajusté (IC 95 %)")  # fmt: skip
    ax.plot(rows["naive"], y - 0.18, "D", color=MUTED, ms=4, label="Rapport naïf")
    ax.axvline(1.0, color="#000000", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(rows["zone"])
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xscale("log")
    lo = min(float(np.nanmin(rows[["lo", "naive"]].to_numpy(dtype=float))), 1.0)
    hi = max(float(np.nanmax(rows[["hi", "naive"]].to_numpy(dtype=float))), 1.0)
    ax.set_xlim(lo / 1.25, hi * 1.25)
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4) if lo / 1.25 <= t <= hi * 1.25]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}".replace(".", ",") for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(f"Jeunes rencontrés {per}, {years[1]} / {years[0]}")
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=7.5)
    return fig, rows


def _station_box(point, name: str, mpp: float):  # noqa: ANN001, ANN202
    """Where the base map writes a station's marker and name (below right of it, 6 pt), in
    metres, with a margin: a zone's label keeps clear of it."""
    from shapely.geometry import box

    width = (len(name) * 0.6 * 6 + 12) * mpp
    return box(point.x - 8 * mpp, point.y - 14 * mpp, point.x + width, point.y + 8 * mpp)


def _label_spot(geometry, label: str, size: float, mpp: float, avoid, others=()):  # noqa: ANN001, ANN202
    """A point for a zone's multi-line label: clear of ``avoid`` (the stations' marker and
    name) and of the ``others`` zones, as much inside its zone as possible, then nearest the
    zone's representative point (which it stays at when nothing is clear)."""
    from shapely.geometry import Point, box

    lines = label.split("\n")
    w = max(len(t) for t in lines) * 0.6 * size * mpp
    h = len(lines) * size * 1.25 * mpp
    home = geometry.representative_point()
    xmin, ymin, xmax, ymax = geometry.bounds
    best, best_key = home, None
    for x in np.linspace(xmin - w / 3, xmax + w / 3, 31):
        for y in np.linspace(ymin - h / 2, ymax + h / 2, 31):
            rect = box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            if any(rect.intersects(a) for a in avoid):
                continue
            if any(rect.intersection(o).area > 0.02 * rect.area for o in others):
                continue
            outside = rect.difference(geometry).area / rect.area
            key = (round(max(outside - 0.02, 0.0), 1), Point(x, y).distance(home))
            if best_key is None or key < best_key:
                best, best_key = Point(x, y), key
    return best


def zones_map(
    city: City, cells: pd.DataFrame, k: int, title: str, caption: str
) -> tuple[Figure, pd.DataFrame]:
    """The commune with its zones: a zone with enough observations is shaded by the persons met
    (published cells) and labelled with its observations, young people met and main problem;
    a masked count is hatched « < k »; a zone under the observations' minimum is left blank and
    labelled « trop peu d'observations ». No point anywhere. ``cells``: ``zone``, ``reported``,
    ``value``, ``text``, ``observations``, ``young_text``, ``problem``."""
    from observatoire.reports.charts import apply_house_style

    apply_house_style()
    fig = plt.figure(figsize=(16 / 2.54, 15 / 2.54), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    draw_base(ax, city, labels=False)
    zones = city.of("zone")
    by_zone = cells.set_index("zone")
    shown = [v for v in by_zone["value"] if v is not None and not pd.isna(v)]
    top = max(shown) if shown else 1.0
    cmap = plt.get_cmap("Blues")
    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    used: set[str] = set()
    labels = []
    shaded = False
    for _, row in zones.iterrows():
        name = row["nom"]
        if name not in by_zone.index:
            continue
        c = by_zone.loc[name]
        frame = zones[zones["nom"] == name]
        if not c["reported"]:
            used.add("unreported")
            label = f"{name}\n(trop peu\nd'observations)"
        else:
            masked = c["value"] is None or pd.isna(c["value"])
            face = "white" if masked else cmap(0.12 + 0.55 * float(c["value"]) / top)
            # under the streets, the railway and the station (zorder 4–8 of the base map):
            # the zone is shaded, the landmarks stay readable
            with layers_without_draws(fig):
                frame.plot(ax=ax, facecolor=face, hatch=HATCH if masked else None,
                           edgecolor="#555555", linewidth=0.8, zorder=3.5, alpha=0.85)  # fmt: skip
            shaded = True
            used.add("masked" if masked else "shaded")
            label = (
                f"{name}\n{c['text']} rencontres\ndont {c['young_text']} jeunes\n"
                f"{c['observations']} observations"
            )
            if c["problem"]:
                label += f"\n{c['problem']}"
        labels.append((row.geometry, label))
    if shaded:
        # one layout pass, as the last layer's own draw did: the constrained layout it computes
        # sets the axes' box, hence the metres per point the labels are placed with
        fig.draw_without_rendering()
    # zoom on the zones (the commune's edge stays as context when it is near)
    xmin, ymin, xmax, ymax = zones.total_bounds
    pad = 0.18 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad * 1.6, ymax + pad)
    ax.apply_aspect()
    mpp = (ax.get_xlim()[1] - ax.get_xlim()[0]) / (
        ax.get_position().width * fig.get_size_inches()[0] * 72
    )
    stations = [_station_box(g, str(n), mpp) for g, n in zip(city.of("gare").geometry,
                city.of("gare")["nom"], strict=True)]  # fmt: skip
    for geometry, label in labels:
        others = [g for g in zones.geometry if not g.equals(geometry)]
        p = _label_spot(geometry, label, 7.0, mpp, stations, others)
        ax.annotate(label, (p.x, p.y), ha="center", va="center", fontsize=7, color="#222222",
                    path_effects=halo, zorder=40, linespacing=1.15)  # fmt: skip
    draw_scale_bar(ax)
    draw_north_arrow(ax)
    handles = [
        h for key, h in (
            ("shaded", Patch(facecolor=cmap(0.4), edgecolor="#555555",
                             label="rencontres (plus foncé : plus)")),
            ("masked", Patch(facecolor="white", hatch=HATCH, edgecolor=MASKED_EDGE,
                             label=f"rencontres masquées (moins de {k} ou « s »)")),
            ("unreported", Patch(facecolor="none", edgecolor="#8C8577", linestyle="--",
                                 label="zone sans document (trop peu d'observations)")),
        ) if key in used
    ]  # fmt: skip
    ax.legend(handles=handles, loc="upper left", fontsize=6.5, frameon=True, framealpha=0.92)
    ax.set_title(title, fontsize=10, loc="left")
    fig.text(0.01, 0.005, caption, fontsize=6, color=MUTED, va="bottom", wrap=True)
    return fig, cells
