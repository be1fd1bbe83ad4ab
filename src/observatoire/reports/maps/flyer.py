"""The one-page flyer « Où trouver de l'aide cet hiver / cet été » (A4 portrait PDF).

Drawn with matplotlib rather than through the report renderer: a flyer is a fixed page — a
coloured heading, the emergency numbers in large type, the services as blocks, a small map —
whose every position is chosen, and matplotlib places text at a point exactly, with the same
fonts as the maps (one look for everything the network hands out). Type sizes are for reading
at arm's length: 11 pt names, 9.5 pt body at the least, numbers at 24 pt.

It prints, for each service open during the plan, its hours in the plan's alert phase (the
last phase: « grand froid », « canicule ») and, when different, the usual ones (the first
phase), its address, phone and who is welcome.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle

from observatoire.config.services import EmergencyNumber
from observatoire.core.dispositifs import DISPOSITIF_COLOURS
from observatoire.plans.settings import Plan
from observatoire.reports.charts import apply_house_style
from observatoire.reports.maps.directory import MapService
from observatoire.reports.maps.geodata import City, draw_base
from observatoire.reports.maps.printed import PAGE_SIZES_IN, draw_markers, project_services

__all__ = ["SEASON", "flyer"]

SEASON = {
    "hiver": {
        "title": "Où trouver de l'aide cet hiver",
        "colour": "#1B4F72",
        "advice": (
            "Vous voyez quelqu'un dehors dans le froid ? Parlez-lui, proposez-lui ces "
            "adresses, appelez l'urgence sociale. Si sa vie est en danger : 112."
        ),
    },
    "ete": {
        "title": "Où trouver de l'aide cet été",
        "colour": "#B3470E",
        "advice": (
            "Par forte chaleur : buvez de l'eau souvent, restez à l'ombre aux heures chaudes, "
            "allez dans un lieu frais. Une personne confuse ou très chaude : 112."
        ),
    },
}
TEXT = "#1E1E1E"
NBSP = "\u00a0"
_HOUR = re.compile(r"(\d) h")
MUTED = "#555555"


def _text(fig: Figure, x: float, y: float, s: str, **kw) -> None:  # noqa: ANN003
    fig.text(x, y, s, va="top", color=kw.pop("color", TEXT), **kw)


def flyer(
    city: City,
    services: Sequence[MapService],
    plan: Plan,
    year: int,
    emergency: Sequence[EmergencyNumber],
    *,
    organisation: str,
) -> Figure:
    apply_house_style()
    season = SEASON[plan.season]
    fig = plt.figure(figsize=PAGE_SIZES_IN["A4"])
    w_pt, h_pt = fig.get_size_inches() * 72
    first, last = plan.window(year)
    alert, usual = plan.phases[-1], plan.phases[0]

    fig.add_artist(
        Rectangle((0, 0.885), 1, 0.115, transform=fig.transFigure, color=season["colour"], zorder=0)
    )
    _text(fig, 0.06, 0.975, season["title"], fontsize=27, fontweight="bold", color="white")
    _text(
        fig,
        0.06,
        0.922,
        f"{city.name} · {plan.label(year)} · du {first:%d/%m/%Y} au {last:%d/%m/%Y}",
        fontsize=11,
        color="white",
    )

    # emergency numbers
    n = max(1, len(emergency))
    box_w = 0.88 / n
    for i, e in enumerate(emergency):
        x = 0.06 + i * box_w
        fig.add_artist(
            FancyBboxPatch(
                (x + 0.004, 0.79),
                box_w - 0.012,
                0.08,
                boxstyle="round,pad=0.004",
                transform=fig.transFigure,
                facecolor="#F4F4F4",
                edgecolor="#CCCCCC",
            )
        )
        _text(
            fig, x + 0.016, 0.862, e.number, fontsize=22, fontweight="bold", color=season["colour"]
        )
        label = textwrap.fill(e.label, 30)
        _text(fig, x + 0.016, 0.828, label, fontsize=8.5, linespacing=1.1)
        if e.note:
            _text(fig, x + 0.016, 0.801, e.note, fontsize=7.5, color=MUTED)

    # services, two columns filled in order (each block as tall as its text)
    _text(
        fig,
        0.06,
        0.775,
        f"Les services ouverts — horaires en « {alert.label.lower()} »",
        fontsize=12.5,
        fontweight="bold",
        color=season["colour"],
    )
    top, bottom = 0.748, 0.205
    col_w = 0.44 * w_pt - 0.035 * w_pt
    for size in (9.5, 9.0, 8.5, 8.0):
        blocks = [
            _block(s, alert.id, usual.id, alert.label, usual.label, col_w, size) for s in services
        ]
        heights = [(11 * 1.3 + len(b) * size * 1.22 + 7) / h_pt for b in blocks]
        columns = _balance(heights, top - bottom)
        if columns is not None:
            break
    else:
        raise ValueError(f"Dépliant : {len(services)} services ne tiennent pas sur une page.")
    for (col, y), s, lines in zip(columns, services, blocks, strict=True):
        x = 0.06 + col * 0.45
        colour = DISPOSITIF_COLOURS[s.service.dispositif]
        fig.add_artist(
            plt.Circle(
                (x + 0.014, y - 0.008), 0.0125, transform=fig.transFigure, color=colour, zorder=2
            )
        )
        fig.text(
            x + 0.014,
            y - 0.0085,
            str(s.number),
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold",
            color="white",
            zorder=3,
        )
        name = textwrap.shorten(s.service.name, 40, placeholder="…")
        _text(fig, x + 0.035, y, name, fontsize=11, fontweight="bold")
        _text(
            fig, x + 0.035, y - 11 * 1.45 / h_pt, "\n".join(lines), fontsize=size, linespacing=1.22
        )

    # small map and advice
    ax = fig.add_axes((0.04, 0.02, 0.46, 0.18))
    draw_base(ax, city, scale=0.75, labels=False)
    draw_markers(ax, project_services(services), size=0.9)
    fig.add_artist(
        FancyBboxPatch(
            (0.535, 0.075),
            0.41,
            0.115,
            boxstyle="round,pad=0.006",
            transform=fig.transFigure,
            facecolor="#FFF8E6",
            edgecolor=season["colour"],
            linewidth=1.2,
        )
    )
    _text(
        fig,
        0.55,
        0.182,
        textwrap.fill(season["advice"], 38),
        fontsize=10.5,
        linespacing=1.3,
        fontweight="bold",
    )
    _text(
        fig,
        0.55,
        0.06,
        textwrap.fill(
            f"Gratuit. Les numéros renvoient à la carte. Document du réseau : {organisation}.", 44
        ),
        fontsize=7.5,
        color=MUTED,
        linespacing=1.25,
    )
    return fig


WELCOME_WORDS = {
    "hommes": "hommes",
    "femmes": "femmes",
    "familles": "familles",
    "animaux": "animaux admis",
    "jeunes": "jeunes 18–25 ans",
}


def _block(
    s: MapService,
    alert: str,
    usual: str,
    alert_label: str,
    usual_label: str,
    width_pt: float,
    size: float,
) -> list[str]:
    """The lines under a service's name (address and phone, hours, who is welcome)."""
    chars = int(width_pt / (0.56 * size))
    hours_alert = s.hours(alert) or "fermé"
    hours_usual = s.hours(usual)
    phone = s.service.phone.replace(" ", NBSP)
    lines = [s.service.address, f"Tél.{NBSP}{phone}", f"{alert_label} : {hours_alert}"]
    if hours_usual and hours_usual != hours_alert:
        lines.append(f"{usual_label} : {hours_usual}")
    lines.append("Pour : " + ", ".join(WELCOME_WORDS[w] for w in s.service.welcome))
    lines = [_HOUR.sub(lambda m: m[1] + NBSP + "h", line) for line in lines]
    return [part for line in lines for part in (textwrap.wrap(line, chars) or [""])]


def _balance(heights: list[float], room: float) -> list[tuple[int, float]] | None:
    """(column, top) of each block, in order, split between two columns as evenly as they
    go; None when two columns of height ``room`` cannot hold them all."""
    best = None
    for i in range(len(heights) + 1):
        left, right = sum(heights[:i]), sum(heights[i:])
        if left <= room and right <= room and (best is None or max(left, right) < best[0]):
            best = (max(left, right), i)
    if best is None:
        return None
    out, y = [], 0.0
    for j, h in enumerate(heights):
        if j == best[1]:
            y = 0.0
        out.append((0 if j < best[1] else 1, 0.748 - y))
        y += h
    return out
