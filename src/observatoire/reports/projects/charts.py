"""The project reports' charts, in the house style (:mod:`observatoire.reports.charts`).

Person counts come from *published cells* (a masked cell is a gap, never its value); sessions
and euros are not persons and are drawn as computed. Each function returns the figure and the
frame it drew, written as CSV beside the PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from observatoire.core.formatting import MOIS_ABREGES
from observatoire.reports.charts import PALETTE, french_axis, new_figure

__all__ = ["budget_chart", "calendar_heatmap", "monthly_participants", "objective_trend",
           "score_distribution"]  # fmt: skip

WEEKDAYS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")


def calendar_heatmap(calendar: pd.DataFrame, year: int) -> tuple[Figure, pd.DataFrame]:
    """Sessions held per day, weeks (columns) × weekdays (rows), the year's months marked.
    ``calendar``: ``date``, ``sessions``."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    per_day = (
        calendar.assign(date=pd.to_datetime(calendar["date"]))
        .groupby("date")["sessions"].sum().reindex(days, fill_value=0)
    )  # fmt: skip
    iso = days.isocalendar()
    week = ((days - days[0]).days + days[0].weekday()) // 7
    grid = np.full((7, int(week.max()) + 1), np.nan)
    grid[iso["day"].to_numpy() - 1, week] = per_day.to_numpy()
    fig, ax = new_figure(5.2)
    top = max(1.0, float(np.nanmax(grid)))
    image = ax.imshow(np.where(grid == 0, np.nan, grid), aspect="auto", cmap="Blues",
                      vmin=0, vmax=top, interpolation="none")  # fmt: skip
    ax.set_facecolor("#F2F2F2")
    ax.set_yticks(range(7), WEEKDAYS)
    starts = [int(week[list(days).index(pd.Timestamp(year, m, 1))]) for m in range(1, 13)]
    ax.set_xticks(starts, MOIS_ABREGES, ha="left")
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.01)
    bar.set_label("Séances")
    bar.set_ticks(range(int(top) + 1))
    drawn = pd.DataFrame({"date": days.date, "semaine": week + 1, "jour": iso["day"].to_numpy(),
                          "seances": per_day.to_numpy()})  # fmt: skip
    return fig, drawn


def monthly_participants(frame: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Participants per month split into new and returning (published cells; a masked cell is
    a gap). ``frame``: ``mois``, ``nouveaux``, ``revenants``, ``participants`` (float/NaN)."""
    fig, ax = new_figure(7.0)
    x = np.arange(len(frame))
    new = frame["nouveaux"].to_numpy(dtype=float)
    back = frame["revenants"].to_numpy(dtype=float)
    ax.bar(x, back, color=PALETTE[0], label="Revenants")
    ax.bar(x, new, bottom=np.nan_to_num(back), color=PALETTE[1], label="Nouveaux")
    ax.plot(x, frame["participants"].to_numpy(dtype=float), "o", color="black", ms=3,
            label="Participants du mois")  # fmt: skip
    ax.set_xticks(x, frame["mois"])
    ax.set_ylabel("Participants")
    french_axis(ax)
    fig.legend(frameon=False, ncols=3, loc="outside upper right")
    return fig, frame


def objective_trend(frame: pd.DataFrame, target: float, share: bool) -> tuple[Figure, pd.DataFrame]:
    """An objective's cumulative value per month against its target (dashed)."""
    fig, ax = new_figure(5.0)
    y = frame["valeur"].to_numpy(dtype=float) * (100 if share else 1)
    ax.plot(np.arange(len(frame)), y, "o-", color=PALETTE[0], ms=3, label="Valeur")
    ax.axhline(target * (100 if share else 1), ls="--", color=PALETTE[3], label="Cible")
    ax.set_xticks(np.arange(len(frame)), frame["mois"])
    ax.set_ylabel("%" if share else "Valeur cumulée")
    ax.set_ylim(bottom=0)
    french_axis(ax)
    ax.legend(frameon=False, ncols=2, loc="lower right")
    return fig, frame


def score_distribution(frame: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Tenants per affiliation score at each time (published cells; masked = no bar).
    ``frame``: ``score``, ``moment``, ``locataires`` (float/NaN)."""
    moments = list(dict.fromkeys(frame["moment"]))
    scores = sorted(frame["score"].unique())
    fig, ax = new_figure(6.5)
    width = 0.8 / max(len(moments), 1)
    for i, t in enumerate(moments):
        f = frame[frame["moment"] == t].set_index("score").reindex(scores)
        ax.bar(np.arange(len(scores)) + (i - (len(moments) - 1) / 2) * width,
               f["locataires"].to_numpy(dtype=float), width, label=t,
               color=PALETTE[i % len(PALETTE)])  # fmt: skip
    ax.set_xticks(np.arange(len(scores)), [str(s) for s in scores])
    ax.set_xlabel("Score d'affiliation (nombre de domaines actifs)")
    ax.set_ylabel("Locataires")
    french_axis(ax)
    ax.legend(frameon=False, ncols=len(moments), loc="upper right")
    return fig, frame


def budget_chart(frame: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Planned, spent and projected year-end per line (euros). ``frame``: ``ligne``,
    ``prevu``, ``depense``, ``projete``."""
    fig, ax = new_figure(1.8 + 0.8 * len(frame))
    y = np.arange(len(frame))
    for i, (col, label) in enumerate(
        (("prevu", "Prévu"), ("depense", "Dépensé"), ("projete", "Projeté fin d'année"))
    ):
        ax.barh(y + (i - 1) * 0.26, frame[col].to_numpy(dtype=float), 0.26, label=label,
                color=PALETTE[i])  # fmt: skip
    ax.set_yticks(y, frame["ligne"])
    ax.invert_yaxis()
    ax.set_xlabel("Euros")
    french_axis(ax, "x")
    fig.legend(frameon=False, ncols=3, loc="outside upper right")
    return fig, frame
