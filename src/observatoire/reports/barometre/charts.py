"""The barometer's charts, in the house style (:mod:`observatoire.reports.charts`).

Counts are drawn from *published cells* only (a hidden cell is drawn as no bar, its « < k » /
« s » text written at its place and in the CSV); estimates (shares, rate ratios) come with
their CI. Each function returns the figure and the frame it drew, written as CSV beside the
PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from observatoire.core.formatting import MOIS_ABREGES
from observatoire.reports.charts import MUTED, PALETTE, french_axis, new_figure

__all__ = ["hours_chart", "months_chart", "survey_chart"]


def months_chart(cells: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Incidents per month, one line per year; ``cells``: month, year, value (NaN hidden), text."""
    fig, ax = new_figure(5.5)  # lower than the default: the two rate tables fit below it
    for i, (year, g) in enumerate(cells.groupby("year")):
        g = g.sort_values("month")
        ax.plot(g["month"], g["value"], marker="o", color=PALETTE[i % len(PALETTE)],
                label=str(year), lw=1.6 if i else 1.0)  # fmt: skip
    ax.set_xticks(range(1, 13))
    ax.set_xticklabels(MOIS_ABREGES)
    ax.set_ylabel("Incidents enregistrés")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2)  # above the axes
    french_axis(ax)
    drawn = cells.rename(columns={"month": "mois", "year": "annee", "value": "incidents",
                                  "text": "texte_publie"})  # fmt: skip
    return fig, drawn


def hours_chart(cells: pd.DataFrame, labels: dict[str, str]) -> tuple[Figure, pd.DataFrame]:
    """Incidents by hour of the day, one panel per service, the opening hours in colour and
    the closing window darker; ``cells``: service, hour, value, text, open, closing."""
    services = list(dict.fromkeys(cells["service"]))
    fig, axes = new_figure(4.2 * len(services) + 1, nrows=len(services), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, service in zip(axes, services, strict=True):
        g = cells[cells["service"] == service].sort_values("hour")
        colours = [
            PALETTE[3] if c else (PALETTE[0] if o else MUTED)
            for o, c in zip(g["open"], g["closing"], strict=True)
        ]
        ax.bar(g["hour"], g["value"].fillna(0), color=colours, width=0.8, lw=0)
        # A hidden cell (« < k », « s ») is not drawn as a bar: its published text is written
        # at the foot of its hour, so an empty hour never reads as « no incident ».
        for hour, text in zip(g.loc[g["value"].isna(), "hour"], g.loc[g["value"].isna(), "text"],
                              strict=True):  # fmt: skip
            ax.annotate(str(text).replace("\u202f", " "), (hour, 0), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=6,
                        rotation=90, color=MUTED)  # fmt: skip
        ax.set_title(labels.get(service, service), loc="left", fontsize=9)
        ax.set_ylabel("Incidents")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        french_axis(ax)
    axes[-1].set_xticks(range(0, 24, 2))
    axes[-1].set_xticklabels([f"{h} h" for h in range(0, 24, 2)])
    drawn = cells.rename(columns={"service": "service", "hour": "heure", "value": "incidents",
                                  "text": "texte_publie", "open": "ouvert",
                                  "closing": "fenetre_fermeture"})  # fmt: skip
    return fig, drawn


def survey_chart(frame: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Weighted share (with its 95 % CI) beside the respondents' raw share, per question;
    ``frame``: label, weighted, lo, hi, unweighted."""
    f = frame.iloc[::-1].reset_index(drop=True)
    fig, ax = new_figure(1.0 * len(f) + 2.5)
    y = np.arange(len(f))
    ax.errorbar(f["weighted"], y + 0.12, xerr=[f["weighted"] - f["lo"], f["hi"] - f["weighted"]],
                fmt="o", color=PALETTE[0], capsize=2, label="Redressé (IC 95 %)")  # fmt: skip
    ax.plot(f["unweighted"], y - 0.12, "s", color=MUTED, label="Brut (répondants)")
    ax.set_yticks(y)
    ax.set_yticklabels(f["label"], fontsize=8)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}".replace("%", " %"))
    ax.legend(
        frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=2, fontsize=8
    )  # below the axes: inside, it covered the last question's points
    drawn = frame.rename(
        columns={
            "label": "question",
            "weighted": "part_redressee",
            "lo": "ic_bas",
            "hi": "ic_haut",
            "unweighted": "part_brute",
        }
    )
    return fig, drawn
