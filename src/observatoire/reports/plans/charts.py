"""The plans' charts, in the house style (:mod:`observatoire.reports.charts`).

They draw nights, beds, refusals, visits and temperatures (not persons: no disclosure
question) and model estimates; every function returns the figure and the frame it drew, which
the report writes as CSV beside the PNG."""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from observatoire.core.formatting import MOIS_ABREGES
from observatoire.reports.charts import MUTED, PALETTE, french_axis, new_figure

__all__ = ["beds_needed_chart", "effect_chart", "nights_chart"]

PHASE_COLOUR = "#F6D9C8"
COLD_COLOUR = "#DCE9F5"


def _day_axis(ax, days: pd.Series) -> None:
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_minor_locator(mdates.WeekdayLocator(byweekday=0))
    ax.xaxis.set_major_formatter(
        mdates.DateFormatter("%m")  # replaced below by French month names
    )
    ticks = pd.date_range(days.min().normalize().replace(day=1), days.max(), freq="MS")
    ticks = [t for t in ticks if t >= days.min()]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{MOIS_ABREGES[t.month - 1]} {t.year}" for t in ticks])
    ax.set_xlim(days.min() - pd.Timedelta(days=1), days.max() + pd.Timedelta(days=1))


def _shade_phases(ax, frame: pd.DataFrame, default: str) -> bool:
    on = frame["phase"] != default
    shaded = False
    for day in frame.loc[on, "date"]:
        ax.axvspan(day - pd.Timedelta(hours=12), day + pd.Timedelta(hours=12),
                   color=PHASE_COLOUR, lw=0, zorder=0)  # fmt: skip
        shaded = True
    return shaded


def nights_chart(
    frame: pd.DataFrame,
    default_phase: str,
    phase_label: str,
    covariate: str,
    threshold: float,
    visits: bool = False,
) -> tuple[Figure, pd.DataFrame]:
    """Top: per day, nights used (or visits) and refusals stacked, beds offered as a step line;
    the days of a triggered phase shaded. Bottom: the day's temperature and the model's
    threshold."""
    f = frame.copy()
    f["date"] = pd.to_datetime(f["date"])
    fig, (ax, axt) = new_figure(11.0, nrows=2, sharex=True, height_ratios=[2.2, 1])
    shaded = _shade_phases(ax, f, default_phase)
    _shade_phases(axt, f, default_phase)
    if visits:
        ax.bar(f["date"], f["visits"], width=1.0, color=PALETTE[0], label="Passages", lw=0)
        ax.set_ylabel("Passages par jour")
    else:
        ax.bar(f["date"], f["used"], width=1.0, color=PALETTE[0], label="Nuits occupées", lw=0)
        ax.bar(f["date"], f["refused"].fillna(0), bottom=f["used"], width=1.0,
               color=PALETTE[3], label="Refus faute de place", lw=0)  # fmt: skip
        if f["beds"].notna().any():
            ax.step(f["date"], f["beds"], where="mid", color="#000000", lw=1.0,
                    label="Lits offerts", zorder=3)  # fmt: skip
        ax.set_ylabel("Nuits")
    handles, labels = ax.get_legend_handles_labels()
    if shaded:
        handles.append(Patch(color=PHASE_COLOUR))
        labels.append(f"Jours en phase « {phase_label} »")
    ax.legend(handles, labels, loc="upper left", ncols=2, frameon=False, fontsize=7.5)
    ax.set_ylim(0, max(1.0, float(np.nanmax(ax.get_ylim()[1]))) * 1.18)
    french_axis(ax)
    col = "Température minimale (°C)" if covariate == "tmin" else "Température maximale (°C)"
    axt.plot(f["date"], f[covariate], color=PALETTE[5 if covariate == "tmin" else 1], lw=1.0)
    axt.axhline(threshold, color=MUTED, lw=0.8, ls="--")
    axt.set_ylabel(col.replace(" (°C)", "\n(°C)"))
    french_axis(axt)
    _day_axis(axt, f["date"])
    drawn = f[["date", "phase", covariate] + [c for c in ("beds", "used", "refused", "visits")
                                              if c in f.columns]]  # fmt: skip
    return fig, drawn


def effect_chart(rows: pd.DataFrame, xlabel: str) -> tuple[Figure, pd.DataFrame]:
    """One line per source: the rate ratio per degree and its 95 % interval, beside the naive
    (unadjusted) one; a vertical line at 1 (no effect)."""
    n = len(rows)
    fig, ax = new_figure(3.4 + 1.1 * n)
    y = np.arange(n)[::-1]
    ax.errorbar(rows["rapport"], y, xerr=[rows["rapport"] - rows["ic_bas"],
                rows["ic_haut"] - rows["rapport"]], fmt="o", color=PALETTE[0],
                capsize=3, label="Estimation ajustée (IC 95 %)")  # fmt: skip
    ax.plot(rows["rapport_naif"], y - 0.18, "D", color=MUTED, ms=4, label="Comparaison naïve")
    ax.axvline(1.0, color="#000000", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(rows["source"])
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlabel(xlabel)
    french_axis(ax, "x", decimals=2)
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=7.5)
    return fig, rows


def beds_needed_chart(months: pd.DataFrame, offered: float | None) -> tuple[Figure, pd.DataFrame]:
    """Per month of the coming winter: the expected demand per night and the beds the rule
    asks for; the beds offered last winter as a reference line."""
    m = months.copy()
    m["month"] = pd.to_datetime(m["month"])
    labels = [f"{MOIS_ABREGES[t.month - 1]} {t.year}" for t in m["month"]]
    x = np.arange(len(m))
    fig, ax = new_figure(8.0)
    ax.bar(x, m["beds"], width=0.6, color=COLD_COLOUR, edgecolor=PALETTE[0],
           label="Lits nécessaires (règle)")  # fmt: skip
    ax.plot(x, m["mean_night"], "o-", color=PALETTE[0], label="Demande attendue par nuit")
    if offered is not None and np.isfinite(offered):
        ax.axhline(offered, color=PALETTE[3], lw=1.0, ls="--",
                   label="Lits offerts l'hiver dernier (moyenne)")  # fmt: skip
    for xi, b in zip(x, m["beds"], strict=True):
        ax.annotate(f"{int(b)}", (xi, b), textcoords="offset points", xytext=(0, 3),
                    ha="center", fontsize=8)  # fmt: skip
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_ylabel("Lits / demandes par nuit")
    ax.set_ylim(0, float(max(m["beds"].max(), offered or 0)) * 1.22)
    french_axis(ax)
    ax.legend(loc="upper left", ncols=2, frameon=False, fontsize=7.5)
    drawn = m[["month", "mean_night", "beds", "share_at_beds"]].assign(lits_offerts=offered)
    return fig, drawn
