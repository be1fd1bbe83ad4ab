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
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from observatoire.reports.charts import MUTED, PALETTE, french_axis, new_figure
from observatoire.reports.maps.geodata import City, draw_base, draw_north_arrow, draw_scale_bar

__all__ = ["code_chart", "heat_map", "persons_chart", "young_chart", "zones_map"]

HATCH = "////"
MASKED_EDGE = "#888888"


def heat_map(
    cells: pd.DataFrame, days: Sequence[str], bands: Sequence[str]
) -> tuple[Figure, pd.DataFrame]:
    """Weekday × band of hours: persons met per cell (published cells: ``jour``, ``tranche``,
    ``value`` (None when masked), ``text``); masked cells hatched with their text."""
    fig, ax = new_figure(9.5)
    values = np.full((len(days), len(bands)), np.nan)
    texts = [["" for _ in bands] for _ in days]
    for r in cells.itertuples(index=False):
        i, j = list(days).index(r.jour), list(bands).index(r.tranche)
        values[i, j] = np.nan if r.value is None or pd.isna(r.value) else float(r.value)
        texts[i][j] = r.text
    top = np.nanmax(values) if np.isfinite(values).any() and np.nanmax(values) > 0 else 1.0
    cmap = plt.get_cmap("Blues")
    for i in range(len(days)):
        for j in range(len(bands)):
            v = values[i, j]
            masked = np.isnan(v)
            face = "white" if masked else cmap(0.08 + 0.8 * v / top)
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=face, edgecolor="white", lw=1.5,
                                   hatch=HATCH if masked else None))  # fmt: skip
            if masked:
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor=MASKED_EDGE, lw=0,
                                       hatch=HATCH))  # fmt: skip
            dark = not masked and v / top > 0.55
            ax.text(j + 0.5, i + 0.5, texts[i][j], ha="center", va="center", fontsize=7.5,
                    color="white" if dark else "#222222")  # fmt: skip
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


def young_chart(rows: pd.DataFrame, years: tuple[int, int]) -> tuple[Figure, pd.DataFrame]:
    """Per zone: the adjusted rate ratio of young persons met per hour (95 % interval) and the
    naive ratio; a vertical line at 1 (no change). ``rows``: ``zone``, ``rr``, ``lo``, ``hi``,
    ``naive``."""
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
    ticks = [0.25, 0.5, 1, 2, 4]
    lo, hi = float(min(rows["lo"].min(), rows["naive"].min())), float(rows["hi"].max())
    ticks = [t for t in ticks if lo / 1.3 <= t <= hi * 1.3] or [1]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}".replace(".", ",") for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(f"Jeunes rencontrés par heure de présence, {years[1]} / {years[0]}")
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=7.5)
    return fig, rows


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
    for _, row in zones.iterrows():
        name = row["nom"]
        if name not in by_zone.index:
            continue
        c = by_zone.loc[name]
        frame = zones[zones["nom"] == name]
        if not c["reported"]:
            label = f"{name}\n(trop peu\nd'observations)"
        else:
            masked = c["value"] is None or pd.isna(c["value"])
            face = "white" if masked else cmap(0.12 + 0.55 * float(c["value"]) / top)
            frame.plot(ax=ax, facecolor=face, hatch=HATCH if masked else None,
                       edgecolor="#555555", linewidth=0.8, zorder=10, alpha=0.9)  # fmt: skip
            label = (
                f"{name}\n{c['text']} rencontres\n{c['observations']} obs. · "
                f"jeunes {c['young_text']}"
            )
            if c["problem"]:
                label += f"\n{c['problem']}"
        p = row.geometry.representative_point()
        ax.annotate(label, (p.x, p.y), ha="center", va="center", fontsize=7, color="#222222",
                    path_effects=halo, zorder=40, linespacing=1.15)  # fmt: skip
    # zoom on the zones (the commune's edge stays as context when it is near)
    xmin, ymin, xmax, ymax = zones.total_bounds
    pad = 0.18 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad * 1.6, ymax + pad)
    draw_scale_bar(ax)
    draw_north_arrow(ax)
    handles = [
        Patch(facecolor=cmap(0.4), edgecolor="#555555", label="rencontres (plus foncé : plus)"),
        Patch(facecolor="white", hatch=HATCH, edgecolor=MASKED_EDGE, label=f"moins de {k}"),
        Patch(facecolor="none", edgecolor="#8C8577", linestyle="--",
              label="zone sans document (trop peu d'observations)"),
    ]  # fmt: skip
    ax.legend(handles=handles, loc="upper left", fontsize=6.5, frameon=True, framealpha=0.92)
    ax.set_title(title, fontsize=10, loc="left")
    fig.text(0.01, 0.005, caption, fontsize=6, color=MUTED, va="bottom", wrap=True)
    return fig, cells
