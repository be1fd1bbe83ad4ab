"""The project reports' charts, in the house style (:mod:`observatoire.reports.charts`).

Person counts come from *published cells* (a masked cell is a gap, never its value); sessions
and euros are not persons and are drawn as computed. Each function returns the figure and the
frame it drew, written as CSV beside the PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

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


def monthly_participants(frame: pd.DataFrame, k: int) -> tuple[Figure, pd.DataFrame]:
    """Participants per month (bars) and, inside them, the new participants where their cell
    is published (published cells only; a masked cell draws nothing and its text is written:
    « < k » or « s »). ``frame``: ``mois``, ``participants``, ``nouveaux`` (float/NaN) and
    ``nouveaux_texte`` (the ledger's text)."""
    fig, ax = new_figure(7.0)
    x = np.arange(len(frame))
    total = frame["participants"].to_numpy(dtype=float)
    new = frame["nouveaux"].to_numpy(dtype=float)
    ax.bar(x, total, color=PALETTE[0], label="Participants du mois")
    ax.bar(x, new, color=PALETTE[1], label="dont nouveaux (première venue au projet)")
    top = np.nanmax(total) if np.isfinite(total).any() else 1.0
    for i, (t, n, text) in enumerate(zip(total, new, frame["nouveaux_texte"], strict=True)):
        if np.isnan(t):  # the month's participants masked: no bar, its « s » written
            ax.text(i, top * 0.02, "s", ha="center", va="bottom", fontsize=8)
        elif np.isnan(n) and str(text) not in ("", "nan"):  # new « < k » or « s »: said, not drawn
            ax.text(i, top * 0.02, str(text).replace(" ", "\u202f"), ha="center", va="bottom",
                    fontsize=7, color="white")  # fmt: skip
    ax.set_xticks(x, frame["mois"])
    ax.set_ylabel("Participants")
    french_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # persons: whole numbers
    fig.legend(frameon=False, ncols=2, loc="outside upper right")
    return fig, frame


def objective_trend(frame: pd.DataFrame, target: float, share: bool) -> tuple[Figure, pd.DataFrame]:
    """An objective's cumulative value per month against its target (dashed). A month whose
    value is masked has no point; a dotted line joins the published months around it."""
    fig, ax = new_figure(5.0)
    y = frame["valeur"].to_numpy(dtype=float) * (100 if share else 1)
    x = np.arange(len(frame))
    ok = ~np.isnan(y)
    if (~ok[: np.flatnonzero(ok).max() + 1] if ok.any() else ok).any():
        ax.plot(x[ok], y[ok], ":", color=PALETTE[0], lw=1.0)
    ax.plot(x, y, "o-", color=PALETTE[0], ms=3, label="Valeur")
    ax.axhline(target * (100 if share else 1), ls="--", color=PALETTE[3], label="Cible")
    ax.set_xticks(x, frame["mois"])
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
