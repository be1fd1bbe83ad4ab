"""The relays' charts, in the house style (:mod:`observatoire.reports.charts`).

They take *published cells* (a suppressed cell is drawn as a gap, never as its value) and
shares computed from published cells only; each returns the figure and the frame it drew,
which the report writes as CSV beside the PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from observatoire.reports.charts import PALETTE, french_axis, new_figure

__all__ = ["monthly_chart", "shares_chart"]


def monthly_chart(frame: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Service sheets per month, one bar per year side by side. ``frame``: ``mois`` (label),
    ``annee``, ``prestations`` (float, NaN when the cell is not published), ``texte``."""
    years = sorted(frame["annee"].unique())
    months = list(dict.fromkeys(frame["mois"]))
    fig, ax = new_figure(7.5)
    width = 0.8 / max(len(years), 1)
    x = np.arange(len(months))
    for i, y in enumerate(years):
        f = frame[frame["annee"] == y].set_index("mois").reindex(months)
        ax.bar(x + (i - (len(years) - 1) / 2) * width, f["prestations"].to_numpy(dtype=float),
               width, label=str(y), color=PALETTE[i % len(PALETTE)])  # fmt: skip
    ax.set_xticks(x, months)
    ax.set_ylabel("Prestations (fiches)")
    french_axis(ax)
    ax.legend(frameon=False, ncols=len(years), loc="upper left")
    return fig, frame


def shares_chart(frame: pd.DataFrame, xlabel: str) -> tuple[Figure, pd.DataFrame]:
    """Share of the year's sheets noting each code, with its 95 % interval, one marker per
    year. ``frame``: ``libelle``, ``annee``, ``part``, ``ic_bas``, ``ic_haut`` (published cells
    only)."""
    noted = frame.groupby("libelle", sort=False)["part"].transform("max") > 0
    frame = frame[noted]  # a code no sheet of either year notes: in the table, not drawn
    labels = list(dict.fromkeys(frame["libelle"]))
    years = sorted(frame["annee"].unique())
    fig, ax = new_figure(1.6 + 0.75 * len(labels))
    y0 = np.arange(len(labels))
    for i, y in enumerate(years):
        f = frame[frame["annee"] == y].set_index("libelle").reindex(labels)
        pos = y0 + (i - (len(years) - 1) / 2) * 0.28
        share = f["part"].to_numpy(dtype=float)
        lo = share - f["ic_bas"].to_numpy(dtype=float)
        hi = f["ic_haut"].to_numpy(dtype=float) - share
        ax.errorbar(share * 100, pos, xerr=[lo * 100, hi * 100], fmt="o", capsize=3,
                    color=PALETTE[i % len(PALETTE)], label=str(y))  # fmt: skip
    ax.set_yticks(y0, labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_xlim(left=0)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    french_axis(ax, "x")
    fig.legend(frameon=False, ncols=len(years), loc="outside upper right")
    return fig, frame
