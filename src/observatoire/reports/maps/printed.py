"""The printable maps of a plan (A4 and A3 PDF, portrait) and the map of zones where people
were met.

A services map is a page for a notice board or a desk: a title, the map with a numbered marker
per service (colour of its dispositif, a dark ring when it opens only during the plan), the
legend, a scale bar and a north arrow, then the directory — number, name, address, phone, the
hours of each phase of the plan and who is welcome — and the sources. The A3 is the A4 page
scaled by √2 (same layout, larger type).

The zones map shows, per zone, the persons met in the street during the plan as the year's
publication printed them: a number when published, « < k » hatched when masked; never a point.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from observatoire.core.dispositifs import DISPOSITIF_COLOURS, DISPOSITIFS
from observatoire.plans.settings import Plan
from observatoire.reports.charts import apply_house_style
from observatoire.reports.maps.directory import MapService, keep_together
from observatoire.reports.maps.geodata import (
    City,
    draw_base,
    draw_north_arrow,
    draw_scale_bar,
)
from observatoire.reports.maps.zones import ZoneCell

__all__ = [
    "PAGE_SIZES_IN",
    "WELCOME_SHORT",
    "draw_markers",
    "project_services",
    "save_pdf",
    "services_map",
    "zones_map",
]

MM = 1 / 25.4
PAGE_SIZES_IN = {"A4": (210 * MM, 297 * MM), "A3": (297 * MM, 420 * MM)}
WELCOME_SHORT = {
    "hommes": "H",
    "femmes": "F",
    "familles": "Fam.",
    "animaux": "Anim.",
    "jeunes": "Jeunes",
}
TEXT = "#222222"
MUTED = "#6B6B6B"
RULE = "#D0D0D0"


def save_pdf(fig: Figure | Sequence[Figure], path: Path) -> Path:
    """Write a PDF (a page per figure) with no creation date (same inputs, same bytes), then
    close the figures."""
    from matplotlib.backends.backend_pdf import PdfPages

    figures = [fig] if isinstance(fig, Figure) else list(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"CreationDate": None, "Creator": "observatoire", "Producer": "observatoire"}
    with PdfPages(path, metadata=metadata) as pdf:
        for page in figures:
            pdf.savefig(page)
    for page in figures:
        plt.close(page)
    return path


@dataclass(frozen=True)
class Marker:
    number: int
    x: float
    y: float
    colour: str
    plan_only: bool


def project_services(services: Sequence[MapService]) -> list[Marker]:
    """Service markers in the printed maps' metres (Lambert 2008)."""
    import geopandas as gpd
    from shapely.geometry import Point

    from observatoire.reports.maps.geodata import METRIC_CRS

    points = gpd.GeoSeries(
        [Point(s.service.lon, s.service.lat) for s in services], crs="EPSG:4326"
    ).to_crs(METRIC_CRS)
    return [
        Marker(
            s.number,
            p.x,
            p.y,
            DISPOSITIF_COLOURS[s.service.dispositif],
            s.service.plan_only,
        )
        for s, p in zip(services, points, strict=True)
    ]


def marker_radius_pt(size: float = 1.0) -> float:
    """Radius of a numbered disc of :func:`draw_markers` (points), with its ring and a margin."""
    return 7.0 * size + 1.5


def draw_markers(ax: Axes, markers: Sequence[Marker], *, size: float = 1.0) -> None:
    """Numbered discs; a dark ring marks a service open only during the plan."""
    for m in markers:
        ax.scatter(
            [m.x],
            [m.y],
            s=(150 if m.number < 10 else 175) * size**2,
            color=m.colour,
            edgecolor="#111111" if m.plan_only else "white",
            linewidth=(2.0 if m.plan_only else 1.2) * size,
            zorder=30,
        )
        ax.annotate(
            str(m.number),
            (m.x, m.y),
            ha="center",
            va="center_baseline",
            fontsize=7 * size,
            fontweight="bold",
            color="white",
            path_effects=[pe.withStroke(linewidth=1.2 * size, foreground=m.colour)],
            zorder=31,
        )


def legend_handles(
    services: Sequence[MapService], markersize: float, edge: float, plan_only_label: str
) -> list[Line2D]:
    """One legend entry per dispositif present (in the order of the services), and the ringed
    marker of a service open only during the plan when there is one: the map's and the flyer's."""
    present = list(dict.fromkeys(s.service.dispositif for s in services))
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=markersize,
            markerfacecolor=DISPOSITIF_COLOURS[d],
            markeredgecolor="white",
            label=DISPOSITIFS[d],
        )
        for d in present
    ]
    if any(s.service.plan_only for s in services):
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markersize=markersize,
                markerfacecolor="white",
                markeredgecolor="#111111",
                markeredgewidth=edge,
                label=plan_only_label,
            )
        )
    return handles


def _legend(ax: Axes, services: Sequence[MapService], plan: Plan, scale: float) -> None:
    handles = legend_handles(
        services, 8 * scale, 2 * scale, f"ouvert seulement pendant le {plan.name}"
    )
    # under the map, not over the commune
    box = ax.get_position(original=True)
    ax.figure.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(box.x0, box.y0 - 0.002),
        ncol=4,
        fontsize=6.8 * scale,
        frameon=False,
        handletextpad=0.3,
        columnspacing=1.4,
    )


def _wrap(text: str, width_pt: float, fontsize: float) -> list[str]:
    chars = max(6, int(width_pt / (0.53 * fontsize)))
    text = keep_together(text)  # « 17 h », « 9 h – 17 h » never split
    lines: list[str] = []
    for part in text.split("\n"):
        lines.extend(textwrap.wrap(part, chars) or [""])
    return lines


def _directory(
    fig: Figure,
    rect: tuple[float, float, float, float],
    services: Sequence[MapService],
    plan: Plan,
    base_size: float,
) -> None:
    """The directory as a table drawn in points (shrinks its type until it fits)."""
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    fig_w, fig_h = fig.get_size_inches() * 72
    width, height = rect[2] * fig_w, rect[3] * fig_h
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    fractions = [0.05, 0.33, 0.12] + [0.36 / len(plan.phases)] * len(plan.phases) + [0.14]
    headers = ["N°", "Service, adresse", "Téléphone"]
    headers += [f"Horaires : {p.label.lower()}" for p in plan.phases] + ["Publics"]
    size = base_size
    while True:
        line = size * 1.22
        rows = []
        for s in services:
            cells = [
                [str(s.number)],
                _wrap(s.service.name, fractions[1] * width - 6, size)
                + _wrap(s.service.address, fractions[1] * width - 6, size * 0.92)
                + (
                    _wrap(s.service.note, fractions[1] * width - 6, size * 0.92)
                    if s.service.note
                    else []
                ),
                _wrap(s.service.phone, fractions[2] * width - 6, size),
            ]
            for p in s.phases:
                text = p.hours or "fermé"
                beds = s.extra_beds.get(p.phase)
                if beds:
                    text += f"\n+ {beds} lits"
                cells.append(_wrap(text, fractions[3] * width - 6, size))
            cells.append(
                _wrap(
                    " · ".join(WELCOME_SHORT[w] for w in s.service.welcome),
                    fractions[-1] * width - 4,
                    size,
                )
            )
            rows.append(cells)
        head_lines = max(
            len(_wrap(h, f * width - 6, size)) for h, f in zip(headers, fractions, strict=True)
        )
        total = head_lines * line + 6 + sum(max(map(len, r)) * line + 5 for r in rows)
        if total <= height or size <= 4.5:
            break
        size -= 0.25
    xs = [0.0]
    for f in fractions[:-1]:
        xs.append(xs[-1] + f * width)
    y = 0.0
    for x, h, f in zip(xs, headers, fractions, strict=True):
        for i, text in enumerate(_wrap(h, f * width - 6, size)):
            ax.text(x + 2, y + (i + 0.8) * line, text, fontsize=size, fontweight="bold", color=TEXT)
    y += head_lines * line + 3
    ax.plot([0, width], [y, y], color=TEXT, linewidth=0.8)
    y += 3
    for s, cells in zip(services, rows, strict=True):
        n = max(map(len, cells))
        colour = DISPOSITIF_COLOURS[s.service.dispositif]
        ax.scatter(
            [xs[0] + 8],
            [y + 0.55 * line],
            s=(size * 1.9) ** 2,
            color=colour,
            edgecolor="#111111" if s.service.plan_only else "white",
            linewidth=1.3 if s.service.plan_only else 0.5,
            zorder=3,
        )
        ax.text(
            xs[0] + 8,
            y + 0.55 * line,
            str(s.number),
            ha="center",
            va="center",
            fontsize=size * 0.9,
            fontweight="bold",
            color="white",
            zorder=4,
        )
        for j, (x, lines) in enumerate(zip(xs, cells, strict=True)):
            if j == 0:
                continue
            for i, text in enumerate(lines):
                bold = j == 1 and i == 0
                small = j == 1 and i > 0
                ax.text(
                    x + 2,
                    y + (i + 0.8) * line,
                    text,
                    fontsize=size * (0.92 if small else 1.0),
                    fontweight="bold" if bold else "normal",
                    color=MUTED if small else TEXT,
                )
        y += n * line + 2
        ax.plot([0, width], [y, y], color=RULE, linewidth=0.5)
        y += 3
    ax.text(
        0,
        y + line,
        "Publics : H hommes · F femmes · Fam. familles avec enfants · Anim. animaux acceptés · "
        "Jeunes 18–25 ans.",
        fontsize=size * 0.9,
        color=MUTED,
    )


def services_map(
    city: City,
    services: Sequence[MapService],
    plan: Plan,
    year: int,
    page: str,
    *,
    organisation: str,
    sources: str,
) -> Figure:
    """One page: title, map, legend, scale, north, the directory, the sources."""
    apply_house_style()
    scale = 1.0 if page == "A4" else math.sqrt(2)
    fig = plt.figure(figsize=PAGE_SIZES_IN[page])
    first, last = plan.window(year)
    fig.text(
        0.06,
        0.965,
        f"{plan.label(year)} — où trouver de l'aide à {city.name}",
        fontsize=13 * scale,
        fontweight="bold",
        color=TEXT,
        va="top",
    )
    _paragraph(
        fig,
        0.94,
        f"Du {first:%d/%m/%Y} au {last:%d/%m/%Y}. Horaires par phase du plan : "
        + " ; ".join(p.label.lower() for p in plan.phases)
        + ". Les services ouverts pendant le plan, numérotés comme dans le tableau.",
        7 * scale,
    )
    ax = fig.add_axes((0.05, 0.475, 0.90, 0.445))
    markers = project_services(services)
    draw_base(
        ax,
        city,
        scale=scale,
        avoid=[(m.x, m.y) for m in markers],
        avoid_radius_pt=marker_radius_pt(scale),
    )
    draw_markers(ax, markers, size=scale)
    draw_scale_bar(ax, scale=scale)
    draw_north_arrow(ax, scale=scale)
    _legend(ax, services, plan, scale)
    _directory(fig, (0.06, 0.07, 0.88, 0.365), services, plan, 6.8 * scale)
    _paragraph(fig, 0.045, f"Sources : {sources}. {organisation}.", 5.5 * scale)
    return fig


def zones_map(
    city: City,
    cells: Sequence[ZoneCell],
    plan: Plan,
    year: int,
    k: int,
    *,
    organisation: str,
    sources: str,
) -> Figure:
    """Persons met in the street per zone during the plan: published cells only; a masked
    zone is hatched and labelled « < k », never with a number; no point anywhere."""
    apply_house_style()
    fig = plt.figure(figsize=PAGE_SIZES_IN["A4"])
    fig.text(
        0.06,
        0.965,
        f"{plan.label(year)} — personnes rencontrées en rue, par zone",
        fontsize=13,
        fontweight="bold",
        color=TEXT,
        va="top",
    )
    first, last = plan.window(year)
    _paragraph(
        fig,
        0.94,
        f"Personnes distinctes rencontrées au moins une fois par le travail de rue dans la "
        f"zone, du {first:%d/%m/%Y} au {last:%d/%m/%Y}. Une personne rencontrée dans deux zones "
        f"compte dans les deux. Zone hachurée : moins de {k} personnes (secret statistique : "
        "le nombre n'est pas publié). Aucun lieu précis n'est montré, seulement des zones.",
        7.5,
    )
    ax = fig.add_axes((0.05, 0.30, 0.90, 0.60))
    draw_base(ax, city, labels=False)
    zones = city.of("zone")
    published = {c.zone: c for c in cells}
    values = [c.value for c in cells if c.value is not None]
    top = max(values) if values else 1.0
    cmap = plt.get_cmap("Blues")
    for _, row in zones.iterrows():
        cell = published.get(row["nom"])
        if cell is None:
            continue
        if cell.value is None:
            ax.add_patch(_patch(row.geometry, facecolor="white", hatch="////", edgecolor="#888888"))
        else:
            ax.add_patch(
                _patch(
                    row.geometry, facecolor=cmap(0.2 + 0.7 * cell.value / top), edgecolor="#555555"
                )
            )
        c = row.geometry.representative_point()
        ax.annotate(
            f"{row['nom']}\n{cell.text}",
            (c.x, c.y),
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold",
            color=TEXT,
            path_effects=[pe.withStroke(linewidth=2.5, foreground="white")],
            zorder=40,
        )
    draw_scale_bar(ax)
    draw_north_arrow(ax)
    drawn = set(zones["nom"])
    handles = [
        Patch(facecolor=cmap(0.6), edgecolor="#555555", label="personnes rencontrées"),
        Patch(facecolor="white", hatch="////", edgecolor="#888888", label=f"moins de {k}"),
    ]
    ax.legend(
        handles=handles, loc="upper left", fontsize=7, frameon=True, framealpha=0.92, edgecolor=RULE
    )
    y = 0.27
    fig.text(0.06, y, "Zone", fontsize=9, fontweight="bold", color=TEXT)
    fig.text(
        0.60, y, "Personnes rencontrées", fontsize=9, fontweight="bold", color=TEXT, ha="right"
    )
    y -= 0.008
    fig.add_artist(Line2D([0.06, 0.60], [y, y], color=TEXT, linewidth=0.8))
    # the drawn zones first, as on the map; contacts outside them (« Autre ») last
    for c in sorted(cells, key=lambda c: (c.zone not in drawn, c.zone)):
        y -= 0.024
        label = c.zone if c.zone in drawn else f"{c.zone} (hors des zones dessinées)"
        fig.text(0.06, y, label, fontsize=9, color=TEXT)
        fig.text(0.60, y, c.text, fontsize=9, color=TEXT, ha="right")
    if not cells:
        fig.text(0.06, y - 0.024, "Aucune zone publiée pour ce plan.", fontsize=9, color=MUTED)
    _paragraph(fig, 0.045, f"Sources : {sources}. {organisation}.", 6)
    return fig


def _paragraph(fig: Figure, y: float, text: str, size: float, width: float = 0.88) -> None:
    """Muted text wrapped to the page's width, top at ``y`` (figure fraction)."""
    chars = int(width * fig.get_size_inches()[0] * 72 / (0.53 * size))
    fig.text(
        0.06, y, textwrap.fill(text, chars), fontsize=size, color=MUTED, va="top", linespacing=1.3
    )


def _patch(geometry, **style):  # noqa: ANN001, ANN202 - shapely polygon to a matplotlib patch
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    polygons = getattr(geometry, "geoms", [geometry])
    vertices, codes = [], []
    for poly in polygons:
        for ring in [poly.exterior, *poly.interiors]:
            xy = list(ring.coords)
            vertices += xy
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY]
    return PathPatch(MplPath(vertices, codes), linewidth=0.8, zorder=10, **style)
