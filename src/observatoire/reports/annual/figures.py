"""Charts of the annual report's chapters, in the house style of :mod:`observatoire.reports.charts`.

Each function takes already disclosure-controlled numbers (masked counts are NaN and are not
drawn) and returns a matplotlib Figure sized for the A4 report, labelled in French.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from observatoire.indicators.pathways import LONG_STAY, LONG_STAY_LABEL
from observatoire.reports.charts import (
    DISPOSITIF_COLOURS,
    MOIS_ABREGES,
    MUTED,
    PALETTE,
    FrenchFormatter,
    dispositif_label,
    french_number,
    new_figure,
)

__all__ = [
    "MASKED",
    "combinations_upset",
    "exit_reasons",
    "flows_by_year",
    "occupancy_by_month",
    "persons_by_year",
    "retention",
]

_LIGHT = "#D9D9D9"


def persons_by_year(frame: pd.DataFrame, dispositif: str) -> Figure:
    """Distinct persons per year for one dispositif (``year``, ``persons``; NaN = masked)."""
    fig, ax = new_figure(height_cm=5.5)
    colour = DISPOSITIF_COLOURS.get(dispositif, PALETTE[0])
    years = frame["year"].astype(int).to_numpy()
    values = frame["persons"].to_numpy(dtype=float)
    bars = ax.bar(years, np.nan_to_num(values), color=colour, width=0.65)
    for bar, v in zip(bars, values, strict=True):
        label = french_number(v) if v == v else "masqué"
        ax.annotate(
            label,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(years)
    ax.set_ylabel("Personnes distinctes")
    ax.yaxis.set_major_formatter(FrenchFormatter())
    ax.margins(y=0.15)
    ax.grid(axis="y")
    return fig


def occupancy_by_month(frame: pd.DataFrame) -> Figure:
    """Monthly occupancy rate (line, %) and refusals for lack of place (bars).

    ``frame``: ``month`` (1–12), ``occupancy`` (fraction), ``refusals`` (count).
    """
    fig, (top, bottom) = new_figure(height_cm=9.5, nrows=2, sharex=True)
    months = frame["month"].astype(int).to_numpy()
    top.plot(months, 100 * frame["occupancy"].to_numpy(dtype=float), marker="o", color=PALETTE[3])
    top.axhline(100, color=MUTED, linewidth=0.8, linestyle="--")
    top.set_ylabel("Taux d'occupation (%)")
    top.yaxis.set_major_formatter(FrenchFormatter())
    top.grid(axis="y")
    bottom.bar(months, frame["refusals"].to_numpy(dtype=float), color=PALETTE[0], width=0.65)
    bottom.set_ylabel("Refus faute de place")
    bottom.yaxis.set_major_formatter(FrenchFormatter())
    bottom.grid(axis="y")
    bottom.set_xticks(range(1, 13), MOIS_ABREGES)
    return fig


def flows_by_year(frame: pd.DataFrame) -> Figure:
    """Persons per year by flow status, stacked (``year``, ``new``, ``continuing``,
    ``returning``); years whose status cannot be told are left out by the caller."""
    fig, ax = new_figure(height_cm=7.5)
    years = frame["year"].astype(int).to_numpy()
    bottom = np.zeros(len(frame))
    parts = [("new", "Nouveaux"), ("continuing", "Continus"), ("returning", "De retour")]
    for (column, label), colour in zip(parts, [PALETTE[1], PALETTE[0], PALETTE[2]], strict=True):
        values = np.nan_to_num(frame[column].to_numpy(dtype=float))
        ax.bar(years, values, bottom=bottom, color=colour, width=0.6, label=label)
        for x, b, v in zip(years, bottom, values, strict=True):
            if v > 0:
                ax.text(
                    x,
                    b + v / 2,
                    french_number(v),
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white",
                )
        bottom += values
    ax.set_xticks(years)
    ax.set_ylabel("Personnes distinctes")
    ax.yaxis.set_major_formatter(FrenchFormatter())
    ax.legend(loc="upper left", ncols=3, bbox_to_anchor=(0, 1.12))
    ax.grid(axis="y")
    return fig


def combinations_upset(frame: pd.DataFrame, dispositifs: list[str]) -> Figure:
    """An UpSet chart: the persons of each combination of dispositifs (bars) and which
    dispositifs form it (dots below). ``frame``: ``combination`` (tuple of codes, empty for
    « autres »), ``persons`` (NaN = masked, drawn as an empty bar labelled « masqué »)."""
    n = len(frame)
    fig = new_figure(height_cm=10.5)[0]
    fig.clf()
    grid = fig.add_gridspec(2, 1, height_ratios=[1.6, 1.0], hspace=0.05)
    bars = fig.add_subplot(grid[0])
    dots = fig.add_subplot(grid[1], sharex=bars)
    x = np.arange(n)
    values = frame["persons"].to_numpy(dtype=float)
    bars.bar(x, np.nan_to_num(values), color=PALETTE[0], width=0.6)
    for xi, v in zip(x, values, strict=True):
        masked = v != v
        bars.annotate(
            "masqué" if masked else french_number(v),
            (xi, 0 if masked else v),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
            rotation=90 if masked else 0,  # side by side, horizontal labels would collide
            color=MUTED if masked else "black",
        )
    bars.set_ylabel("Personnes distinctes")
    bars.yaxis.set_major_formatter(FrenchFormatter())
    bars.grid(axis="y")
    bars.tick_params(axis="x", bottom=False, labelbottom=False)
    bars.margins(y=0.12)
    for row, code in enumerate(dispositifs):
        members = [code in combo for combo in frame["combination"]]
        real = np.array([bool(c) for c in frame["combination"]])
        dots.scatter(x[real], [row] * int(real.sum()), s=28, color=_LIGHT, zorder=1)
        xs = x[np.array(members, dtype=bool)]
        dots.scatter(xs, [row] * len(xs), s=34, color=DISPOSITIF_COLOURS.get(code, "k"), zorder=3)
    for xi, combo in zip(x, frame["combination"], strict=True):
        rows = [dispositifs.index(c) for c in combo if c in dispositifs]
        if len(rows) > 1:
            dots.plot([xi, xi], [min(rows), max(rows)], color="#333333", linewidth=1.2, zorder=2)
        if not combo:
            dots.text(
                xi,
                (len(dispositifs) - 1) / 2,
                "autres",
                rotation=90,
                ha="center",
                va="center",
                fontsize=7,
                color=MUTED,
            )
    dots.set_yticks(
        range(len(dispositifs)),
        [LONG_STAY_LABEL if d == LONG_STAY else dispositif_label(d) for d in dispositifs],
    )
    dots.set_ylim(-0.6, len(dispositifs) - 0.4)
    dots.invert_yaxis()
    dots.tick_params(axis="x", bottom=False, labelbottom=False)
    for side in ("left", "bottom"):
        dots.spines[side].set_visible(False)
    return fig


MASKED = "masque"
"""Column of :func:`exit_reasons` holding the exits of masked cells."""


def exit_reasons(frame: pd.DataFrame, labels: dict[str, str]) -> Figure:
    """Shares of exits by reason, one horizontal 100 % bar per dispositif (``frame``: index =
    dispositif codes, columns = reason codes, values = counts). A column ``masque`` (the exits
    of masked cells, gathered) is drawn last, in grey: it is not a reason."""
    shares = frame.div(frame.sum(axis=1), axis=0).fillna(0)
    fig, ax = new_figure(height_cm=3.4 + 1.1 * len(shares))
    left = np.zeros(len(shares))
    y = np.arange(len(shares))
    reasons = [c for c in shares.columns if c != MASKED]
    shares = shares[reasons + [c for c in shares.columns if c == MASKED]]
    order = [c for c in labels if c != MASKED] + [c for c in reasons if c not in labels]
    colours = [PALETTE[order.index(c) % len(PALETTE)] for c in reasons]  # a reason, a colour
    colours += [MUTED] if MASKED in shares.columns else []
    for column, colour in zip(shares.columns, colours, strict=True):
        values = shares[column].to_numpy()
        ax.barh(y, values, left=left, color=colour, label=labels.get(column, column), height=0.55)
        for yi, lo, v in zip(y, left, values, strict=True):
            if v >= 0.07:
                ax.text(
                    lo + v / 2,
                    yi,
                    f"{french_number(100 * v)} %",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white",
                )
        left += values
    ax.set_yticks(y, [dispositif_label(d) for d in shares.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_pct_axis())
    fig.legend(loc="outside lower center", ncols=3, frameon=False)
    return fig


def _pct_axis() -> ticker.FuncFormatter:
    """Axis of shares (0–1) labelled in French percent: 0.2 → « 20 % »."""
    return ticker.FuncFormatter(lambda x, _pos: f"{french_number(100 * x)}\u202f%")


def retention(frame: pd.DataFrame) -> Figure:
    """Housing First: share still housed at 12 and 24 months with 95 % CI (``label``,
    ``share``, ``lower``, ``upper``; NaN = not published)."""
    fig, ax = new_figure(height_cm=5.5)
    y = np.arange(len(frame))
    share = frame["share"].to_numpy(dtype=float)
    ax.barh(y, np.nan_to_num(share), color=DISPOSITIF_COLOURS["housing_first"], height=0.5)
    lo = frame["lower"].to_numpy(dtype=float)
    hi = frame["upper"].to_numpy(dtype=float)
    ok = ~np.isnan(share)
    ax.errorbar(
        share[ok],
        y[ok],
        xerr=[share[ok] - lo[ok], hi[ok] - share[ok]],
        fmt="none",
        ecolor="#333333",
        capsize=3,
        linewidth=1,
    )
    ax.set_yticks(y, frame["label"].tolist())
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_pct_axis())
    ax.set_xlabel("Part encore logée (IC 95 %)")
    ax.grid(axis="x")
    return fig
