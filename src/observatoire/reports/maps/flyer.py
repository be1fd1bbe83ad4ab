"""The flyer « Où trouver de l'aide cet hiver / cet été » (A4 portrait, recto-verso PDF).

Drawn with matplotlib rather than through the report renderer: a flyer is a fixed page — a
coloured heading, the emergency numbers in large type, the services as blocks, a map — whose
every position is chosen, and matplotlib places text at a point exactly, with the same fonts as
the maps (one look for everything the network hands out).

It is handed to a person in the street: the type must read at arm's length, in the cold, without
glasses. The body is never under 10 pt (service names 11–12 pt, emergency numbers 22 pt), and
the recto stands alone: the emergency numbers and the services a person needs that day — night
shelters, day centres (meals, showers), street work, the social emergency line
(:data:`FRONT_DISPOSITIFS`) — each with its address and phone, its hours in the plan's alert
phase (« grand froid », « canicule ») and, when different, the rest of the season, and who is
welcome in a few words. The verso carries the map of the numbered services and the services
one reaches by appointment or referral (a « maison d'accueil », Housing First), plus any
service of the recto that its type could not hold at 10 pt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.textpath import TextToPath

from observatoire.config.services import EmergencyNumber
from observatoire.core.dispositifs import (
    DAY_CENTRE,
    DISPOSITIF_COLOURS,
    SHELTER,
    SOCIAL_EMERGENCY,
    STREET_WORK,
)
from observatoire.plans.settings import Plan
from observatoire.reports.charts import apply_house_style
from observatoire.reports.maps.directory import MapService, keep_together
from observatoire.reports.maps.geodata import City, draw_base
from observatoire.reports.maps.printed import (
    PAGE_SIZES_IN,
    draw_markers,
    legend_handles,
    marker_radius_pt,
    project_services,
)

__all__ = [
    "FRONT_DISPOSITIFS",
    "MIN_BODY_PT",
    "SEASON",
    "flyer",
    "split_front_back",
    "when_text",
]

SEASON = {
    "hiver": {
        "title": "Où trouver de l'aide cet hiver",
        "rest": "le reste de l'hiver",
        "colour": "#1B4F72",
        "advice": (
            "Vous voyez quelqu'un dehors dans le froid ? Parlez-lui, donnez-lui ces adresses, "
            "appelez l'urgence sociale. Si sa vie est en danger : 112."
        ),
    },
    "ete": {
        "title": "Où trouver de l'aide cet été",
        "rest": "le reste de l'été",
        "colour": "#B3470E",
        "advice": (
            "Par forte chaleur : buvez de l'eau souvent, restez à l'ombre aux heures chaudes, "
            "allez dans un lieu frais. Une personne confuse ou très chaude : 112."
        ),
    },
}
FRONT_DISPOSITIFS = (SHELTER, DAY_CENTRE, STREET_WORK, SOCIAL_EMERGENCY)
"""Services a person can walk into (or call) the same day: on the recto."""
MIN_BODY_PT = 10.0
SIZES = (11.0, 10.5, 10.0)
TEXT = "#1E1E1E"
MUTED = "#555555"
NBSP = "\u00a0"
_A4_W, _A4_H = (v * 72 for v in PAGE_SIZES_IN["A4"])
_TEXT_TO_PATH = TextToPath()
COLUMN_X = (0.055, 0.51)
TEXT_DX = 0.038  # the text of a block starts right of its numbered disc
COLUMN_W_PT = (0.945 - COLUMN_X[1] - TEXT_DX) * _A4_W  # the right column ends at the margin


def who(welcome: Sequence[str]) -> str:
    """Who is welcome, in a few words (« Tous publics · animaux admis »)."""
    w = set(welcome)
    if {"hommes", "femmes", "familles"} <= w:
        text = "Tous publics"
    elif w == {"jeunes"}:
        return "Jeunes de 18 à 25 ans"
    else:
        words = {"hommes": "hommes", "femmes": "femmes", "familles": "familles"}
        text = ", ".join(words[x] for x in ("hommes", "femmes", "familles") if x in w)
        text = text[:1].upper() + text[1:]
        if "jeunes" in w:
            text += ", jeunes 18–25 ans"
    return text + (" · animaux admis" if "animaux" in w else "")


def when_text(plan: Plan) -> str:
    """When the alert phase is in force, in words (« Grand froid : −3 °C ou moins la nuit
    (2 nuits de suite) ou alerte officielle « grand froid ». »)."""
    phase = plan.phases[-1]
    t = phase.trigger
    if t is None:
        return ""
    parts = []
    if t.tmin_below is not None:
        parts.append(f"{t.tmin_below:g} °C ou moins la nuit".replace("-", "−"))
    if t.tmax_above is not None:
        parts.append(f"{t.tmax_above:g} °C ou plus le jour")
    text = " et ".join(parts)
    if parts and t.min_days > 1:
        days = "nuits" if t.tmin_below is not None else "jours"
        text += f" ({t.min_days} {days} de suite)"
    if t.alert:
        alert = {"froid": "grand froid", "chaleur": "canicule"}[t.alert]
        text += (" ou " if parts else "") + f"alerte officielle « {alert} »"
    return f"{phase.label} : {text}."


def _street_address(address: str, city: str) -> str:
    """The address without the commune's name (every address of the flyer is in it)."""
    return re.sub(rf",\s*{re.escape(city)}\s*$", "", address)


@dataclass(frozen=True)
class _Line:
    text: str
    size: float
    bold: bool = False
    colour: str = TEXT


def _width_pt(text: str, size: float, *, bold: bool = False) -> float:
    """The printed width of ``text`` in points (the house font, measured, not guessed)."""
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    return _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath=False)[0]


def _wrap(text: str, size: float, width_pt: float, *, bold: bool = False) -> list[str]:
    """Lines of at most ``width_pt`` points, broken at spaces only (not at the no-break
    spaces that hold « 9 h – 16 h » together)."""
    lines: list[str] = []
    for word in keep_together(text).split(" "):
        if lines and _width_pt(lines[-1] + " " + word, size, bold=bold) <= width_pt:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _block(
    s: MapService, plan: Plan, city: str, size: float, *, notes: bool, width_pt: float
) -> list[_Line]:
    """A service's lines: name, what it offers (note), address and phone, hours, who."""
    alert, usual = plan.phases[-1], plan.phases[0]
    name_size = size + 1.0
    lines = [
        _Line(t, name_size, bold=True)
        for t in _wrap(s.service.name, name_size, width_pt, bold=True)
    ]
    if notes and s.service.note:
        lines += [_Line(t, size, colour=MUTED) for t in _wrap(s.service.note, size, width_pt)]
    phone = s.service.phone.replace(" ", NBSP)
    place = f"{_street_address(s.service.address, city)} · Tél.{NBSP}{phone}"
    lines += [_Line(t, size) for t in _wrap(place, size, width_pt)]
    hours_alert = s.hours(alert.id) or "fermé"
    hours_usual = s.hours(usual.id) or "fermé"
    lines += [
        _Line(t, size, bold=True)
        for t in _wrap(f"{alert.label} : {hours_alert}", size, width_pt, bold=True)
    ]
    if hours_usual != hours_alert:
        lines += [
            _Line(t, size)
            for t in _wrap(f"Hors {alert.label.lower()} : {hours_usual}", size, width_pt)
        ]
    lines += [_Line(t, size, colour=MUTED) for t in _wrap(who(s.service.welcome), size, width_pt)]
    return lines


def _height_pt(lines: Sequence[_Line]) -> float:
    return sum(line.size * 1.24 for line in lines) + lines[0].size * 0.75


def _columns(heights: Sequence[float], room: float) -> int | None:
    """Index of the first block of the right column (blocks in order, split to balance the two
    columns), or None when two columns of ``room`` points cannot hold them."""
    best = None
    for i in range(len(heights) + 1):
        left, right = sum(heights[:i]), sum(heights[i:])
        if left <= room and right <= room and (best is None or max(left, right) < best[0]):
            best = (max(left, right), i)
    return None if best is None else best[1]


@dataclass(frozen=True)
class _Layout:
    services: tuple[MapService, ...]
    blocks: tuple[tuple[_Line, ...], ...]
    split: int
    size: float


def _fit(services: Sequence[MapService], plan: Plan, city: str, room_pt: float) -> _Layout | None:
    """The largest type (≥ 10 pt) at which the services fill two columns of ``room_pt``;
    the notes (what a service offers) go before the type gets smaller than 11 pt."""
    for size, notes in ((11.0, True), (11.0, False), (10.5, False), (10.0, False)):
        blocks = [
            tuple(_block(s, plan, city, size, notes=notes, width_pt=COLUMN_W_PT)) for s in services
        ]
        split = _columns([_height_pt(b) for b in blocks], room_pt)
        if split is not None:
            return _Layout(tuple(services), tuple(blocks), split, size)
    return None


def split_front_back(
    services: Sequence[MapService], plan: Plan, city: str, room_pt: float
) -> tuple[_Layout, list[MapService]]:
    """The recto's layout and the services left for the verso: the services of
    :data:`FRONT_DISPOSITIFS` on the recto, the last of them moved to the verso while they do
    not fit at 10 pt."""
    front = [s for s in services if s.service.dispositif in FRONT_DISPOSITIFS]
    back = [s for s in services if s.service.dispositif not in FRONT_DISPOSITIFS]
    while front:
        layout = _fit(front, plan, city, room_pt)
        if layout is not None:
            return layout, sorted(back, key=lambda s: s.number)
        back.append(front.pop())
    return _Layout((), (), 0, SIZES[-1]), sorted(back, key=lambda s: s.number)


def _text(fig: Figure, x: float, y: float, s: str, **kw) -> None:  # noqa: ANN003
    fig.text(x, y, s, va="top", color=kw.pop("color", TEXT), **kw)


def _disc(fig: Figure, x: float, y: float, s: MapService, size: float) -> None:
    colour = DISPOSITIF_COLOURS[s.service.dispositif]
    fig.text(
        x,
        y,
        str(s.number),
        ha="center",
        va="center",
        fontsize=size,
        fontweight="bold",
        color="white",
        bbox={
            "boxstyle": "circle,pad=0.28" if s.number >= 10 else "circle,pad=0.42",
            "facecolor": colour,
            "edgecolor": "#111111" if s.service.plan_only else colour,
            "linewidth": 1.8 if s.service.plan_only else 0.5,
        },
        zorder=3,
    )


def _draw_blocks(fig: Figure, layout: _Layout, top: float) -> None:
    h_pt = _A4_H
    y = [top, top]
    for j, (s, lines) in enumerate(zip(layout.services, layout.blocks, strict=True)):
        col = 0 if j < layout.split else 1
        x = COLUMN_X[col]
        yy = y[col]
        _disc(fig, x + 0.014, yy - lines[0].size * 0.5 / h_pt, s, lines[0].size - 1.0)
        for line in lines:
            _text(
                fig,
                x + TEXT_DX,
                yy,
                line.text,
                fontsize=line.size,
                fontweight="bold" if line.bold else "normal",
                color=line.colour,
            )
            yy -= line.size * 1.24 / h_pt
        y[col] = yy - lines[0].size * 0.75 / h_pt


def _band(fig: Figure, bottom: float, colour: str) -> None:
    fig.add_artist(
        Rectangle((0, bottom), 1, 1 - bottom, transform=fig.transFigure, color=colour, zorder=0)
    )


def _recto(
    city: City,
    plan: Plan,
    year: int,
    emergency: Sequence[EmergencyNumber],
    layout: _Layout,
    when: Sequence[str],
    organisation: str,
) -> Figure:
    season = SEASON[plan.season]
    fig = plt.figure(figsize=PAGE_SIZES_IN["A4"])
    first, last = plan.window(year)
    _band(fig, 0.885, season["colour"])
    _text(fig, 0.06, 0.975, season["title"], fontsize=27, fontweight="bold", color="white")
    _text(
        fig,
        0.06,
        0.922,
        f"{city.name} · {plan.name} · du {first:%d/%m/%Y} au {last:%d/%m/%Y}",
        fontsize=12,
        color="white",
    )
    n = max(1, len(emergency))
    box_w = 0.88 / n
    for i, e in enumerate(emergency):
        x = 0.06 + i * box_w
        fig.add_artist(
            FancyBboxPatch(
                (x + 0.004, 0.768),
                box_w - 0.012,
                0.102,
                boxstyle="round,pad=0.004",
                transform=fig.transFigure,
                facecolor="#F4F4F4",
                edgecolor="#CCCCCC",
            )
        )
        number = e.number.replace(" ", NBSP)
        _text(fig, x + 0.016, 0.864, number, fontsize=22, fontweight="bold", color=season["colour"])
        label = "\n".join(_wrap(e.label, 10, (box_w - 0.035) * _A4_W))
        _text(fig, x + 0.016, 0.828, label, fontsize=10, linespacing=1.15)
        if e.note:
            _text(fig, x + 0.016, 0.790, e.note, fontsize=10, color=MUTED)
    alert = plan.phases[-1].label.lower()
    _text(
        fig,
        0.06,
        0.752,
        f"Où aller — horaires en « {alert} » et hors {alert}",
        fontsize=13,
        fontweight="bold",
        color=season["colour"],
    )
    _text(fig, 0.06, 0.731, "\n".join(when), fontsize=10, color=MUTED)
    _draw_blocks(fig, layout, _front_top(when))
    fig.add_artist(
        FancyBboxPatch(
            (0.06, ADVICE_BOTTOM),
            0.88,
            _advice_top(plan) - ADVICE_BOTTOM,
            boxstyle="round,pad=0.006",
            transform=fig.transFigure,
            facecolor="#FFF8E6",
            edgecolor=season["colour"],
            linewidth=1.2,
        )
    )
    _text(
        fig,
        0.08,
        _advice_top(plan) - 0.012,
        "\n".join(_advice(plan)),
        fontsize=11,
        linespacing=1.3,
        fontweight="bold",
    )
    foot = "Gratuit. Plan des services et autres adresses au verso. "
    _text(
        fig, 0.06, 0.030, f"{foot}Document du réseau : {organisation}.", fontsize=8.5, color=MUTED
    )
    return fig


def _verso(
    city: City,
    services: Sequence[MapService],
    back: Sequence[MapService],
    plan: Plan,
    year: int,
    organisation: str,
) -> Figure:
    season = SEASON[plan.season]
    fig = plt.figure(figsize=PAGE_SIZES_IN["A4"])
    _band(fig, 0.945, season["colour"])
    _text(
        fig,
        0.06,
        0.983,
        f"Plan des services — {city.name}",
        fontsize=18,
        fontweight="bold",
        color="white",
    )
    layout = None
    if back:
        layout = _fit(back, plan, city.name, 0.38 * _A4_H)
        if layout is None:
            raise ValueError(f"Dépliant : {len(back)} services ne tiennent pas au verso.")
        heights = [_height_pt(b) for b in layout.blocks]
        tallest = max(sum(heights[: layout.split]), sum(heights[layout.split :]))
        below = tallest / _A4_H + 0.115
    else:
        below = 0.10
    # the map as tall as the commune's shape wants at the page's width (no empty band under
    # it), the whole group centred between the heading and the footer
    xmin, ymin, xmax, ymax = city.of("commune").total_bounds
    map_h = min(0.90 * _A4_W * (ymax - ymin) / (xmax - xmin) / _A4_H, 0.865 - below)
    spare = 0.865 - below - map_h
    map_bottom = 0.06 + below + spare / 2
    ax = fig.add_axes((0.05, map_bottom, 0.90, map_h))
    markers = project_services(services)
    draw_base(
        ax,
        city,
        scale=1.1,
        avoid=[(m.x, m.y) for m in markers],
        avoid_radius_pt=marker_radius_pt(1.35),
    )
    draw_markers(ax, markers, size=1.35)
    handles = legend_handles(services, 10, 2, f"seulement pendant le {plan.name}")
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.05, map_bottom - 0.005),
        ncol=3,
        fontsize=9.5,
        frameon=False,
        handletextpad=0.3,
        columnspacing=1.2,
    )
    if layout is not None:
        _text(
            fig,
            0.06,
            map_bottom - 0.075,
            "Aussi ouverts (souvent sur rendez-vous ou orientation : appelez d'abord)",
            fontsize=13,
            fontweight="bold",
            color=season["colour"],
        )
        _draw_blocks(fig, layout, map_bottom - 0.105)
    _text(
        fig,
        0.06,
        0.030,
        f"Les numéros de la carte sont ceux de la liste. Gratuit. Document du réseau : "
        f"{organisation}.",
        fontsize=8.5,
        color=MUTED,
    )
    return fig


FRONT_TOP = 0.700
ADVICE_BOTTOM = 0.048


def _advice(plan: Plan) -> list[str]:
    return _wrap(SEASON[plan.season]["advice"], 11, 0.84 * _A4_W, bold=True)


def _advice_top(plan: Plan) -> float:
    """Top of the season's advice box (as tall as its lines)."""
    return ADVICE_BOTTOM + (len(_advice(plan)) * 11 * 1.3 + 18) / _A4_H


def _front_top(when: Sequence[str]) -> float:
    """Top of the recto's blocks, below the lines saying when the alert phase holds."""
    return FRONT_TOP - (len(when) - 1) * 12.4 / _A4_H


def flyer(
    city: City,
    services: Sequence[MapService],
    plan: Plan,
    year: int,
    emergency: Sequence[EmergencyNumber],
    *,
    organisation: str,
) -> list[Figure]:
    """The recto (stands alone) and the verso (map, other services), as two A4 pages."""
    apply_house_style()
    when = _wrap(when_text(plan), 10, 0.88 * _A4_W)
    room = (_front_top(when) - _advice_top(plan) - 0.012) * _A4_H
    layout, back = split_front_back(services, plan, city.name, room)
    recto = _recto(city, plan, year, emergency, layout, when, organisation)
    return [recto, _verso(city, services, back, plan, year, organisation)]
