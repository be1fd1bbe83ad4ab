"""One house style for every chart of the observatory (seaborn + matplotlib).

Every chart function applies the house style, draws on a figure sized for an A4 report
(16 cm wide, so that the font sizes below are the printed sizes), labels axes in French and
returns the :class:`~matplotlib.figure.Figure`. Titles are off by default: the report gives each
figure a numbered caption. :func:`save_figure` writes a byte-reproducible PNG.

Numbers follow French typography: thousands separated by a narrow no-break space (U+202F),
decimal comma, true minus sign (U+2212). :func:`french_number` is the single formatter used on
chart axes and in report tables.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib import ticker
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from observatoire.core.dispositifs import DISPOSITIF_COLOURS, DISPOSITIF_LABELS
from observatoire.core.formatting import (
    MOIS_ABREGES,
    MOIS_NOMS,
    NNBSP,
    french_number,
    french_percent,
)
from observatoire.core.storage import temp_prefix

__all__ = [
    "DISPOSITIF_COLOURS",
    "DISPOSITIF_LABELS",
    "FIG_WIDTH_IN",
    "FrenchFormatter",
    "MOIS_ABREGES",
    "MOIS_NOMS",
    "NNBSP",
    "PALETTE",
    "SAVE_DPI",
    "age_sex_pyramid",
    "apply_house_style",
    "coverage_heatmap",
    "dispositif_label",
    "french_number",
    "french_percent",
    "monthly_series",
    "save_figure",
    "stl_decomposition",
    "yearly_trend",
]


# Okabe & Ito (2008) colour-blind-safe palette, ordered for successive series (the yellow,
# weak on white, comes last but one; black last).
PALETTE: list[str] = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
]


SEX_LABELS = {"M": "Hommes", "F": "Femmes"}
SEX_COLOURS = {"M": PALETTE[0], "F": PALETTE[1]}
WINTER_LABEL = "Plan Grand Froid (1er nov. – 31 mars)"
WINTER_COLOUR = "#DCE9F5"

# Printed width of a figure in the A4 report (16 cm), default height, and PNG resolution.
FIG_WIDTH_IN = 16 / 2.54
FIG_HEIGHT_IN = 9 / 2.54
SAVE_DPI = 200

TEXT_COLOUR = "#222222"
MUTED = "#6B6B6B"

# What ``seaborn.set_theme(context="paper", style="whitegrid", palette=PALETTE)`` sets
# (seaborn 0.13.2), written out so that drawing a chart does not import seaborn (and scipy.stats
# with it: about 0.8 s of CPU at each report stage's start). The test
# ``test_house_style_is_seaborn_theme`` checks it against seaborn itself. One setting is left
# out: seaborn's default colour map « rocket » (every chart here names its colour map).
_SEABORN_PAPER_WHITEGRID: dict[str, Any] = {
    # seaborn.axes_style("whitegrid")
    "axes.facecolor": "white",
    "axes.edgecolor": ".8",
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.labelcolor": ".15",
    "figure.facecolor": "white",
    "grid.color": ".8",
    "grid.linestyle": "-",
    "text.color": ".15",
    "xtick.color": ".15",
    "ytick.color": ".15",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "xtick.top": False,
    "ytick.right": False,
    "axes.spines.left": True,
    "axes.spines.bottom": True,
    "axes.spines.right": True,
    "axes.spines.top": True,
    "xtick.bottom": False,
    "ytick.left": False,
    "font.family": ["sans-serif"],
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],  # fmt: skip
    # seaborn.plotting_context("paper"): the "notebook" sizes times 0.8
    "font.size": 12 * 0.8,
    "axes.labelsize": 12 * 0.8,
    "axes.titlesize": 12 * 0.8,
    "xtick.labelsize": 11 * 0.8,
    "ytick.labelsize": 11 * 0.8,
    "legend.fontsize": 11 * 0.8,
    "legend.title_fontsize": 12 * 0.8,
    "axes.linewidth": 1.25 * 0.8,
    "grid.linewidth": 1 * 0.8,
    "lines.linewidth": 1.5 * 0.8,
    "lines.markersize": 6 * 0.8,
    "patch.linewidth": 1 * 0.8,
    "xtick.major.width": 1.25 * 0.8,
    "ytick.major.width": 1.25 * 0.8,
    "xtick.minor.width": 1 * 0.8,
    "ytick.minor.width": 1 * 0.8,
    "xtick.major.size": 6 * 0.8,
    "ytick.major.size": 6 * 0.8,
    "xtick.minor.size": 4 * 0.8,
    "ytick.minor.size": 4 * 0.8,
    # seaborn.set_palette(PALETTE)
    "axes.prop_cycle": cycler("color", [to_rgb(colour) for colour in PALETTE]),
}

_HOUSE_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.labelcolor": TEXT_COLOUR,
    "axes.edgecolor": "#8C8C8C",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.unicode_minus": True,
    "axes.formatter.use_locale": False,
    "grid.color": "#E3E3E3",
    "grid.linewidth": 0.6,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.color": TEXT_COLOUR,
    "ytick.color": TEXT_COLOUR,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "figure.figsize": (FIG_WIDTH_IN, FIG_HEIGHT_IN),
    "figure.dpi": 100,
    "savefig.dpi": SAVE_DPI,
    "savefig.facecolor": "white",
    "text.color": TEXT_COLOUR,
    "svg.hashsalt": "observatoire",
}


# --------------------------------------------------------------------------------------------
# French number formatting
# --------------------------------------------------------------------------------------------


class FrenchFormatter(ticker.Formatter):
    """Axis tick formatter using :func:`french_number`.

    With ``decimals=None`` the number of decimals is chosen from the tick spacing, so that
    ticks 0; 0,5; 1 are written "0,0", "0,5", "1,0" and ticks 0; 500; 1 000 have none.
    """

    def __init__(self, decimals: int | None = None, suffix: str = "") -> None:
        self.decimals = decimals
        self.suffix = suffix
        self._auto_decimals = 0

    def set_locs(self, locs: Sequence[float]) -> None:
        super().set_locs(locs)
        finite = np.asarray([v for v in locs if np.isfinite(v)], dtype=float)
        if len(finite) > 1:
            step = float(np.min(np.abs(np.diff(np.sort(finite)))))
            if step > 0:
                self._auto_decimals = max(0, min(6, -math.floor(math.log10(step) + 1e-9)))
                return
        self._auto_decimals = 0

    def __call__(self, x: float, pos: int | None = None) -> str:
        decimals = self.decimals if self.decimals is not None else self._auto_decimals
        return french_number(x, decimals) + self.suffix


def french_axis(ax: plt.Axes, axis: str = "y", decimals: int | None = None) -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FrenchFormatter(decimals))


# --------------------------------------------------------------------------------------------
# Style and output
# --------------------------------------------------------------------------------------------


def apply_house_style() -> None:
    """Set the observatory's seaborn/matplotlib theme (idempotent, global).

    White background with a light horizontal-and-vertical grid, no top/right spines,
    Okabe–Ito palette, DejaVu Sans (bundled with matplotlib, hence available everywhere),
    9 pt text and 8 pt ticks on a 16 cm-wide figure. Every chart
    function of this module calls it, so figures look the same whatever ran before.
    Axis numbers are formatted per chart with :class:`FrenchFormatter` (a formatter cannot
    be set through rcParams).
    """
    matplotlib.rcParams.update(_SEABORN_PAPER_WHITEGRID)
    matplotlib.rcParams.update(_HOUSE_RC)


def save_figure(fig: Figure, path: Path | str, dpi: int = SAVE_DPI) -> Path:
    """Write ``fig`` as a reproducible PNG at ``path`` (atomically), then close it.

    The same figure gives a byte-identical file on every run: fixed dpi, no "Software"
    metadata (it carries the matplotlib version) and Agg writes no timestamp. The PNG is
    written to a temporary file in the target directory and renamed over ``path``, so a
    reader never sees a half-written image. The figure keeps its exact size (16 cm wide by
    default, no tight cropping), hence the same printed font size in every report.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"save_figure writes PNG files only, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{temp_prefix(path.name)}{uuid.uuid4().hex}")
    try:
        # os.open with mode 0o666 honours the umask (mkstemp would force 0o600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(
                handle,
                format="png",
                dpi=dpi,
                facecolor="white",
                metadata={"Software": None},
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path


def new_figure(
    height_cm: float = 9.0, nrows: int = 1, sharex: bool = False, **kwargs: Any
) -> tuple[Figure, Any]:
    apply_house_style()
    fig, axes = plt.subplots(
        nrows=nrows,
        figsize=(FIG_WIDTH_IN, height_cm / 2.54),
        layout="constrained",
        sharex=sharex,
        **kwargs,
    )
    return fig, axes


def _finish(fig: Figure, ax: plt.Axes, title: str | None) -> Figure:
    if title:
        ax.set_title(title)
    return fig


def dispositif_label(code: str) -> str:
    """French label of a dispositif code (the code itself if unknown)."""
    return DISPOSITIF_LABELS.get(code, str(code))


def _hue_colours(levels: Sequence[Any]) -> dict[Any, str]:
    """Fixed colours for dispositif codes, palette order for anything else."""
    colours: dict[Any, str] = {}
    spare = [c for c in PALETTE if c not in {DISPOSITIF_COLOURS.get(x) for x in levels}]
    i = 0
    for level in levels:
        if level in DISPOSITIF_COLOURS:
            colours[level] = DISPOSITIF_COLOURS[level]
        else:
            colours[level] = spare[i % len(spare)] if spare else PALETTE[i % len(PALETTE)]
            i += 1
    return colours


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def age_sex_pyramid(
    counts: pd.DataFrame,
    title: str | None = None,
    xlabel: str = "Nombre de personnes",
    annotate: bool = True,
) -> Figure:
    """Age–sex pyramid: men to the left, women to the right, youngest band at the bottom.

    ``counts`` holds *published* cells: columns ``age_band`` (bands in input order, or the
    category order if the column is categorical), ``sex`` ("M"/"F"), ``persons`` and ``text``,
    the cell as the audited publication prints it (« < 5 », « s » or the number). A cell the
    publication hides has a NaN in ``persons``: no bar is drawn and its ``text`` is written in
    its place. Drawing from raw counts (no ``text``) is refused: a bar shows a number, and a
    number a reader sees must be the publication's (a chart drawn with a rule of its own once
    printed cells that the table beside it masked). A band/sex pair absent is drawn as zero.
    """
    required = {"age_band", "sex", "persons", "text"}
    missing = required - set(counts.columns)
    if missing:
        raise ValueError(
            f"counts lacks columns: {sorted(missing)}; draw the pyramid from the published "
            "cells (observatoire.disclosure.publication.published_cells)"
        )
    shown = counts["persons"].notna()
    if (counts.loc[~shown, "text"].str.match(r"^\d")).any():
        raise ValueError("a hidden cell must carry its mask (« < k » or « s »), not a number")
    unknown = set(counts["sex"].dropna().unique()) - set(SEX_LABELS)
    if unknown:
        raise ValueError(f"sex must be 'M' or 'F', got {sorted(map(str, unknown))}")
    if isinstance(counts["age_band"].dtype, pd.CategoricalDtype):
        bands = [b for b in counts["age_band"].cat.categories if b in set(counts["age_band"])]
    else:
        bands = list(dict.fromkeys(counts["age_band"]))
    table = counts.pivot_table(
        index="age_band", columns="sex", values="persons", aggfunc="first", dropna=False
    )
    present = counts.set_index(["age_band", "sex"]).index

    fig, ax = new_figure(height_cm=max(6.0, 1.9 + 0.62 * len(bands)))
    y = np.arange(len(bands))
    finite_max = float(np.nanmax(counts["persons"].to_numpy(dtype=float), initial=0.0))
    finite_max = finite_max if finite_max > 0 else 5.0
    offset = finite_max * 0.015
    for sex, sign in (("M", -1), ("F", 1)):
        values = np.array(
            [
                float(table.at[b, sex]) if (b, sex) in present and b in table.index else 0.0
                for b in bands
            ]
        )
        suppressed = np.isnan(values)
        ax.barh(
            y[~suppressed],
            sign * values[~suppressed],
            height=0.78,
            color=SEX_COLOURS[sex],
            label=SEX_LABELS[sex],
            edgecolor="white",
            linewidth=0.5,
            zorder=2,
        )
        ha = "right" if sign < 0 else "left"
        masks = [
            str(counts.loc[(counts["age_band"] == b) & (counts["sex"] == sex), "text"].iloc[0])
            if (b, sex) in present
            else ""
            for b in bands
        ]
        for yi, v, s, mask in zip(y, values, suppressed, masks, strict=True):
            if s:
                ax.text(
                    sign * offset * 2,
                    yi,
                    mask,
                    ha=ha,
                    va="center",
                    fontsize=7.5,
                    fontstyle="italic",
                    color=MUTED,
                    zorder=3,
                )
            elif annotate and v > 0:
                ax.text(
                    sign * (v + offset),
                    yi,
                    french_number(v),
                    ha=ha,
                    va="center",
                    fontsize=7.5,
                    color=TEXT_COLOUR,
                    zorder=3,
                )
    limit = finite_max * (1.18 if annotate else 1.05)
    ax.set_xlim(-limit, limit)
    ax.set_yticks(y, labels=[str(b) for b in bands])
    ax.set_ylim(-0.6, len(bands) - 0.4)
    ax.axvline(0, color="#8C8C8C", linewidth=0.8, zorder=3)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=8, symmetric=True, integer=True))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: french_number(abs(v))))
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Classe d'âge (ans)")
    # Side headers instead of a legend: unambiguous and lighter.
    for sign, sex in ((-1, "M"), (1, "F")):
        ax.text(
            0.5 + sign * 0.25,
            1.01,
            SEX_LABELS[sex],
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=9,
            fontweight="bold",
            color=SEX_COLOURS[sex],
        )
    return _finish(fig, ax, title)


_DEFAULT_YLABELS = {
    "persons": "Personnes",
    "personnes": "Personnes",
    "nights": "Nuitées",
    "nuitees": "Nuitées",
    "contacts": "Contacts",
}


def _winter_spans(
    start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Winter plan periods (1 Nov – 31 Mar) intersecting [start, end]."""
    spans = []
    for year in range(start.year - 1, end.year + 1):
        w0, w1 = pd.Timestamp(year, 11, 1), pd.Timestamp(year + 1, 4, 1)
        if w1 > start and w0 <= end:
            spans.append((max(w0, start), min(w1, end)))
    return spans


class _FrenchMonthFormatter(ticker.Formatter):
    def __call__(self, x: float, pos: int | None = None) -> str:
        d = mdates.num2date(x)
        return f"{MOIS_ABREGES[d.month - 1]}\n{d.year}"


def _month_axis(ax: plt.Axes, start: pd.Timestamp, end: pd.Timestamp) -> None:
    n_months = (end.year - start.year) * 12 + end.month - start.month + 1
    if n_months <= 15:
        interval = 1
    elif n_months <= 30:
        interval = 3
    elif n_months <= 84:
        interval = 6
    else:
        interval = 12
    months = list(range(1, 13, interval))
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=months))
    ax.xaxis.set_major_formatter(_FrenchMonthFormatter())
    if interval > 1:
        ax.xaxis.set_minor_locator(mdates.MonthLocator())
        ax.tick_params(axis="x", which="minor", length=2, color="#B0B0B0")


def monthly_series(
    df: pd.DataFrame,
    value: str,
    hue: str | None = "dispositif",
    ylabel: str | None = None,
    title: str | None = None,
    winter: bool = True,
) -> Figure:
    """Monthly line chart, one line per ``hue`` level, winter plan months shaded.

    ``df`` has a ``month`` column (month-start timestamps), the ``value`` column and, unless
    ``hue`` is None, a grouping column (dispositif codes get their fixed colour and French
    label). Persons (``value="persons"``) must be published cells (with their ``text``): a
    month the publication masks is a gap. The 1 November – 31 March "Plan Grand Froid" periods
    are shaded lightly, since
    winter shelter capacity explains much of the seasonality. ``ylabel`` should be given in
    French; when omitted a default is used for common value names (persons → "Personnes").
    """
    if "month" not in df.columns or value not in df.columns:
        raise ValueError(f"df needs columns 'month' and {value!r}")
    if value == "persons" and "text" not in df.columns:
        raise ValueError(
            "persons per month lack the published text: draw them from the published cells "
            "(disclosure.publication.published_cells), never from raw counts"
        )
    if hue is not None and hue not in df.columns:
        raise ValueError(f"hue column {hue!r} not in df")
    data = df.copy()
    data["month"] = pd.to_datetime(data["month"]).dt.to_period("M").dt.to_timestamp()
    data = data.sort_values("month")
    start, end = data["month"].min(), data["month"].max()
    stop = end + pd.offsets.MonthBegin(1)
    # A monthly value describes the whole month: draw it mid-month, so that a point falls
    # inside the shaded winter period exactly when its month belongs to it.
    data["_x"] = data["month"] + pd.Timedelta(days=14)

    fig, ax = new_figure(height_cm=8.5)
    handles: list[Any] = []
    groups: list[tuple[Any, pd.DataFrame]]
    groups = [(None, data)] if hue is None else list(data.groupby(hue, sort=False))
    if hue is not None:
        order = [c for c in DISPOSITIF_COLOURS if c in set(data[hue])]
        order += [g for g, _ in groups if g not in order]
        lookup = dict(groups)
        groups = [(g, lookup[g]) for g in order]
    colours = _hue_colours([g for g, _ in groups])
    n_points = max(len(sub) for _, sub in groups)
    for level, sub in groups:
        colour = PALETTE[0] if level is None else colours[level]
        label = None if level is None else dispositif_label(level)
        (line,) = ax.plot(
            sub["_x"].to_numpy(),
            sub[value].to_numpy(dtype=float),
            color=colour,
            label=label,
            marker="o" if n_points <= 72 else None,
            markersize=2.5,
            zorder=2,
        )
        if label is not None:
            handles.append(line)
    if winter:
        for w0, w1 in _winter_spans(start, stop):
            ax.axvspan(w0, w1, color=WINTER_COLOUR, linewidth=0, zorder=0)
        handles.append(Patch(facecolor=WINTER_COLOUR, label=WINTER_LABEL))

    _month_axis(ax, start, end)
    ax.set_xlim(start, stop)
    ax.set_ylim(bottom=0)
    french_axis(ax, "y")
    ax.set_xlabel("")
    ax.set_ylabel(ylabel or _DEFAULT_YLABELS.get(value, value))
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=min(3, len(handles)),
            handlelength=1.6,
            columnspacing=1.5,
        )
    return _finish(fig, ax, title)


def threshold_sensitivity(
    sensitivity: pd.DataFrame, chosen: float, title: str | None = None
) -> Figure:
    """How distinct-person counts move with the linkage threshold, relative to the chosen one.

    ``sensitivity`` has ``seuil``, ``portee`` (``reseau``, ``dossiers_nominatifs`` or a
    dispositif code) and ``personnes``. Each scope is drawn as the % difference from its count at
    the chosen threshold, so that a flat line reads « the figure does not depend on the
    threshold » whatever the scope's size.
    """
    fig, ax = new_figure(height_cm=8.5)
    labels = {
        "reseau": "Réseau (avec travail de rue)",
        "dossiers_nominatifs": "Dossiers nominatifs",
    }
    scopes = ["reseau", "dossiers_nominatifs"] + [
        d for d in DISPOSITIF_COLOURS if d in set(sensitivity["portee"])
    ]
    extra = iter(["#000000", "#999999"])
    for scope in scopes:
        sub = sensitivity[sensitivity["portee"] == scope].sort_values("seuil")
        if sub.empty:
            continue
        ref = sub.loc[np.isclose(sub["seuil"], chosen), "personnes"]
        if ref.empty or ref.iloc[0] == 0:
            continue
        rel = 100 * (sub["personnes"] / ref.iloc[0] - 1)
        colour = DISPOSITIF_COLOURS.get(scope) or next(extra)
        style = "-" if scope in DISPOSITIF_COLOURS else "--"
        ax.plot(
            sub["seuil"],
            rel,
            style,
            color=colour,
            marker="o",
            markersize=3,
            linewidth=1.4,
            label=labels.get(scope) or dispositif_label(scope),
        )
    ax.axvline(chosen, color=TEXT_COLOUR, linewidth=0.8, linestyle=":")
    ax.annotate(
        f"seuil retenu ({french_number(chosen, 2)})",
        xy=(chosen, 0.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, 6),
        textcoords="offset points",
        fontsize=7.5,
        color=TEXT_COLOUR,
    )
    ax.set_xlabel("Seuil de probabilité de correspondance")
    ax.set_ylabel("Écart au compte retenu (%)")
    ax.xaxis.set_major_formatter(FrenchFormatter(decimals=1))
    ax.yaxis.set_major_formatter(FrenchFormatter(decimals=1))
    fig.legend(loc="outside lower center", fontsize=7, ncols=4, frameon=False)
    return _finish(fig, ax, title)


def yearly_trend(
    observed: pd.DataFrame,
    fitted: pd.DataFrame,
    ylabel: str,
    title: str | None = None,
    colour: str = PALETTE[0],
) -> Figure:
    """Observed yearly counts (points) with the fitted trend and its 95 % confidence band.

    ``observed`` has columns ``year`` and ``value``; ``fitted`` has ``year``, ``fit``,
    ``lower``, ``upper`` (e.g. :attr:`observatoire.models.trends.TrendResult.fitted`). The band is
    the confidence interval of the expected count, not a prediction interval for a new year.
    """
    for name, frame, cols in (
        ("observed", observed, {"year", "value"}),
        ("fitted", fitted, {"year", "fit", "lower", "upper"}),
    ):
        if not cols <= set(frame.columns):
            raise ValueError(f"{name} needs columns {sorted(cols)}")
    fig, ax = new_figure(height_cm=8.0)
    fy = fitted["year"].to_numpy(dtype=float)
    band = ax.fill_between(
        fy,
        fitted["lower"].to_numpy(dtype=float),
        fitted["upper"].to_numpy(dtype=float),
        color=colour,
        alpha=0.18,
        linewidth=0,
        label=f"Intervalle de confiance à 95{NNBSP}%",
        zorder=1,
    )
    (line,) = ax.plot(
        fy, fitted["fit"].to_numpy(dtype=float), color=colour, label="Tendance estimée", zorder=2
    )
    points = ax.scatter(
        observed["year"].to_numpy(dtype=float),
        observed["value"].to_numpy(dtype=float),
        color=TEXT_COLOUR,
        s=22,
        zorder=3,
        label="Valeur observée",
    )
    years = np.unique(np.concatenate([observed["year"].to_numpy(), fitted["year"].to_numpy()]))
    ax.set_xticks(years.astype(float), labels=[str(int(y)) for y in years])  # no separator
    ax.set_xlim(years.min() - 0.4, years.max() + 0.4)
    ax.grid(axis="x", visible=False)
    ax.set_ylim(bottom=0)
    french_axis(ax, "y")
    ax.set_xlabel("Année")
    ax.set_ylabel(ylabel)
    fig.legend(handles=[points, line, band], loc="outside lower center", ncols=3)
    return _finish(fig, ax, title)


def coverage_heatmap(
    coverage: pd.DataFrame,
    title: str | None = None,
    annotate: bool = True,
    colorbar_label: str = "Lignes transmises",
    small_below: int | None = None,
) -> Figure:
    """Which partner delivered data for which month: one row per partner, one column per month.

    ``small_below`` (the disclosure threshold k): a month of 1 to k − 1 rows prints « < k »
    rather than its number (a row of a stay service is a person entering it).

    ``coverage`` is indexed by partner labels; columns are months (integers 1–12, French month
    names, or any labels, kept in their order). Values are the number of rows delivered; 0 or
    NaN means no data and is drawn as a hatched empty cell listed in the legend as
    "Aucune donnée", so gaps stand out from small deliveries.
    """
    data = coverage.astype(float)
    labels = []
    for col in data.columns:
        if isinstance(col, int | np.integer) and 1 <= int(col) <= 12:
            labels.append(MOIS_ABREGES[int(col) - 1])
        else:
            labels.append(str(col))
    missing = data.isna() | (data <= 0)
    height = max(5.0, 2.6 + 0.62 * len(data.index))
    fig, ax = new_figure(height_cm=height)
    cmap = LinearSegmentedColormap.from_list("observatoire_bleus", ["#D6E6F4", "#08457E"])
    finite = data.where(~missing)
    vmax = float(np.nanmax(finite.to_numpy(), initial=1.0))
    vmin = float(np.nanmin(finite.to_numpy(), initial=0.0)) if finite.notna().any().any() else 0.0
    vmin = min(vmin, vmax)
    ax.set_facecolor("white")
    ax.patch.set_hatch("////")
    ax.patch.set_edgecolor("#C8C8C8")
    import seaborn as sns  # here only: its import costs more than the rest of the chart

    sns.heatmap(
        finite,
        ax=ax,
        mask=missing.to_numpy(),
        cmap=cmap,
        vmin=0,
        vmax=vmax,
        linewidths=1.2,
        linecolor="white",
        cbar=True,
        cbar_kws={
            "label": colorbar_label,
            "format": FrenchFormatter(0),
            "shrink": 0.85,
            "pad": 0.02,
        },
        xticklabels=labels,
        yticklabels=[str(i) for i in data.index],
        square=False,
    )
    if annotate:
        threshold = vmin + 0.55 * (vmax - vmin) if vmax > 0 else 0
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                if missing.iat[i, j]:
                    continue
                v = data.iat[i, j]
                small = small_below is not None and 0 < v < small_below
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"<{NNBSP}{small_below}" if small else french_number(v),
                    ha="center",
                    va="center",
                    # Four-digit counts must still fit a month's cell on a 16 cm page.
                    fontsize=(5.5 if v >= 1000 else 6.5) if data.shape[1] >= 12 else 7,
                    color="white" if v > threshold else TEXT_COLOUR,
                )
    ax.grid(False)  # the theme grid would cross the hatched cells
    if ax.collections and ax.collections[0].colorbar is not None:
        ax.collections[0].colorbar.locator = ticker.MaxNLocator(nbins=5, integer=True)
        ax.collections[0].colorbar.outline.set_visible(False)
    ax.set_xlabel("Mois")
    ax.set_ylabel("Partenaire")
    ax.tick_params(axis="both", length=0)
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    ax.set_xticklabels(ax.get_xticklabels(), rotation=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.legend(
        handles=[
            Patch(facecolor="white", edgecolor="#C8C8C8", hatch="////", label="Aucune donnée"),
        ],
        loc="outside lower left",
        handlelength=2.2,
        handleheight=1.2,
    )
    return _finish(fig, ax, title)


def stl_decomposition(result: Any, ylabel: str = "", title: str | None = None) -> Figure:
    """Four stacked panels of an STL decomposition: series, trend, seasonal part, residuals.

    ``result`` is a statsmodels ``DecomposeResult`` (e.g. from
    :func:`observatoire.models.trends.stl`), whose components are indexed by month. The observed
    series equals trend + seasonal + residual; the seasonal panel shows the typical
    within-year pattern, the residual panel what neither explains.
    """
    observed = pd.Series(result.observed)
    index = observed.index
    if isinstance(index, pd.DatetimeIndex):
        x = index.to_numpy()
        dated = True
    else:
        x = np.arange(len(observed))
        dated = False
    panels = [
        ("Série observée", np.asarray(result.observed, dtype=float)),
        ("Tendance", np.asarray(result.trend, dtype=float)),
        ("Saisonnalité", np.asarray(result.seasonal, dtype=float)),
        ("Résidus", np.asarray(result.resid, dtype=float)),
    ]
    fig, axes = new_figure(height_cm=15.0, nrows=4, sharex=True)
    for k, (ax, (label, values)) in enumerate(zip(axes, panels, strict=True)):
        if k == 3:
            ax.axhline(0, color="#8C8C8C", linewidth=0.8)
            ax.vlines(x, 0, values, color=PALETTE[0], linewidth=1.0)
            ax.scatter(x, values, s=6, color=PALETTE[0], zorder=3)
        elif k == 2:
            ax.axhline(0, color="#8C8C8C", linewidth=0.8)
            ax.plot(x, values, color=PALETTE[0])
        else:
            ax.plot(x, values, color=PALETTE[0] if k == 0 else PALETTE[3])
        ax.set_ylabel(label)
        ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=4))
        french_axis(ax, "y")
        ax.grid(axis="x", visible=False)
    fig.align_ylabels(axes)
    if dated:
        _month_axis(axes[-1], pd.Timestamp(index.min()), pd.Timestamp(index.max()))
    else:
        axes[-1].set_xlabel("Mois")
    if ylabel:
        fig.supylabel(ylabel, fontsize=9)
    if title:
        axes[0].set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# Trends and forecast charts (monthly models per dispositif, winter demand forecast)
# --------------------------------------------------------------------------------------------

_FORECAST_COLOUR = PALETTE[3]  # vermillion: what is forecast, not observed


def _month_starts_of(values: Any) -> pd.Series:
    return pd.to_datetime(pd.Series(values)).dt.to_period("M").dt.to_timestamp()


def winter_forecast(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    capacity: pd.DataFrame | pd.Series | None = None,
    value: str = "demand",
    ylabel: str = "Nuitées demandées par mois",
    title: str | None = None,
    observed_label: str = "Demande observée (nuitées + refus)",
) -> Figure:
    """Monthly demand observed, then the coming winter's forecast with 80 % and 95 % bands.

    ``history`` has ``month`` and ``value`` (nights used + refusals); ``forecast`` has
    ``month``, ``forecast``, ``lo80``, ``hi80``, ``lo95``, ``hi95`` (e.g.
    :attr:`observatoire.models.forecast.WinterForecast.months`); ``capacity`` the bed-nights per
    month
    (a Series indexed by month, or a frame with ``month`` and ``capacity``), drawn month by
    month so that the winter beds show as a step. The bands are prediction intervals: they
    hold the demand of a single winter, count noise included, not only its expected value.
    """
    hist_cols = {"month", value}
    fc_cols = {"month", "forecast", "lo80", "hi80", "lo95", "hi95"}
    if not hist_cols <= set(history.columns):
        raise ValueError(f"history needs columns {sorted(hist_cols)}")
    if not fc_cols <= set(forecast.columns):
        raise ValueError(f"forecast needs columns {sorted(fc_cols)}")
    hist = history.assign(month=_month_starts_of(history["month"]).to_numpy()).sort_values("month")
    fc = forecast.assign(month=_month_starts_of(forecast["month"]).to_numpy()).sort_values("month")
    months = pd.concat([hist["month"], fc["month"]])
    if months.dropna().empty:
        raise ValueError("nothing to draw: no month in history or forecast")
    start, end = months.min(), months.max()
    stop = end + pd.offsets.MonthBegin(1)
    mid = pd.Timedelta(days=14)

    fig, ax = new_figure(height_cm=9.0)
    for w0, w1 in _winter_spans(start, stop):
        ax.axvspan(w0, w1, color=WINTER_COLOUR, linewidth=0, zorder=0)
    handles: list[Any] = []
    (obs_line,) = ax.plot(
        (hist["month"] + mid).to_numpy(),
        hist[value].to_numpy(dtype=float),
        color=PALETTE[0],
        marker="o",
        markersize=2.5,
        label=observed_label,
        zorder=3,
    )
    handles.append(obs_line)
    x_fc = (fc["month"] + mid).to_numpy()
    band95 = ax.fill_between(
        x_fc,
        fc["lo95"].to_numpy(dtype=float),
        fc["hi95"].to_numpy(dtype=float),
        color=_FORECAST_COLOUR,
        alpha=0.15,
        linewidth=0,
        label=f"Intervalle de prévision à 95{NNBSP}%",
        zorder=1,
    )
    band80 = ax.fill_between(
        x_fc,
        fc["lo80"].to_numpy(dtype=float),
        fc["hi80"].to_numpy(dtype=float),
        color=_FORECAST_COLOUR,
        alpha=0.30,
        linewidth=0,
        label=f"Intervalle de prévision à 80{NNBSP}%",
        zorder=2,
    )
    (fc_line,) = ax.plot(
        x_fc,
        fc["forecast"].to_numpy(dtype=float),
        color=_FORECAST_COLOUR,
        linestyle="--",
        marker="o",
        markersize=3,
        label="Prévision",
        zorder=4,
    )
    handles += [fc_line, band80, band95]
    if capacity is not None:
        cap = capacity
        if isinstance(cap, pd.DataFrame):
            if not {"month", "capacity"} <= set(cap.columns):
                raise ValueError("capacity frame needs columns ['capacity', 'month']")
            cap = pd.Series(cap["capacity"].to_numpy(dtype=float), index=cap["month"])
        cap = pd.Series(cap.to_numpy(dtype=float), index=_month_starts_of(cap.index).to_numpy())
        cap = cap[cap.notna()].sort_index()
        if not cap.empty:
            # One step line per run of consecutive months (no line across the horizon gap).
            month_no = cap.index.year * 12 + cap.index.month
            run = np.cumsum(np.diff(month_no, prepend=month_no[0] - 1) != 1)
            for _, block in cap.groupby(run):
                edges = list(block.index) + [block.index[-1] + pd.offsets.MonthBegin(1)]
                ax.stairs(
                    block.to_numpy(),
                    mdates.date2num(pd.DatetimeIndex(edges).to_pydatetime()),
                    baseline=None,
                    color=TEXT_COLOUR,
                    linewidth=1.3,
                    zorder=5,
                )
            handles.append(
                matplotlib.lines.Line2D(
                    [],
                    [],
                    color=TEXT_COLOUR,
                    linewidth=1.3,
                    label="Capacité (nuitées-lits, lits d'hiver compris)",
                )
            )
    handles.append(Patch(facecolor=WINTER_COLOUR, label=WINTER_LABEL))
    _month_axis(ax, start, end)
    ax.set_xlim(start, stop)
    ax.set_ylim(bottom=0)
    french_axis(ax, "y")
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    fig.legend(handles=handles, loc="outside lower center", ncols=2, handlelength=1.6)
    return _finish(fig, ax, title)


def dispositif_fits(
    frames: dict[str, pd.DataFrame],
    ylabel: str = "Personnes distinctes par mois",
    ncols: int = 2,
    title: str | None = None,
) -> Figure:
    """Small multiples: each dispositif's monthly series and the model's fitted values.

    ``frames`` maps a dispositif code to a frame with ``month``, ``observed``, ``fit``,
    ``lower``, ``upper`` (e.g. :attr:`observatoire.models.trends.MonthlyModelResult.fitted`). Each
    panel has its own vertical scale, since dispositifs differ by orders of magnitude; the
    band is the 95 % confidence interval of the expected count. A panel whose frame has no
    value says so instead of failing.
    """
    if not frames:
        raise ValueError("frames is empty: no dispositif to draw")
    needed = {"month", "observed", "fit", "lower", "upper"}
    for code, frame in frames.items():
        if not needed <= set(frame.columns):
            raise ValueError(f"frame of {code!r} needs columns {sorted(needed)}")
    order = [c for c in DISPOSITIF_COLOURS if c in frames] + [
        c for c in frames if c not in DISPOSITIF_COLOURS
    ]
    ncols = max(1, min(ncols, len(order)))
    nrows = math.ceil(len(order) / ncols)
    apply_house_style()
    fig, axes = plt.subplots(
        nrows=nrows,
        ncols=ncols,
        figsize=(FIG_WIDTH_IN, (4.6 * nrows + 1.2) / 2.54),
        layout="constrained",
        squeeze=False,
    )
    colours = _hue_colours(order)
    mid = pd.Timedelta(days=14)
    for ax, code in zip(axes.flat, order, strict=False):
        frame = frames[code].assign(month=_month_starts_of(frames[code]["month"]).to_numpy())
        frame = frame.sort_values("month")
        ax.set_title(dispositif_label(code), fontsize=9)
        values = frame[["observed", "fit"]].to_numpy(dtype=float)
        if frame.empty or not np.isfinite(values).any():
            ax.text(
                0.5,
                0.5,
                "Données insuffisantes",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color=MUTED,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        x = (frame["month"] + mid).to_numpy()
        ax.fill_between(
            x,
            frame["lower"].to_numpy(dtype=float),
            frame["upper"].to_numpy(dtype=float),
            color=TEXT_COLOUR,
            alpha=0.15,
            linewidth=0,
        )
        ax.plot(x, frame["fit"].to_numpy(dtype=float), color=TEXT_COLOUR, linewidth=1.1)
        ax.plot(
            x,
            frame["observed"].to_numpy(dtype=float),
            color=colours[code],
            marker="o",
            markersize=2,
            linewidth=0.8,
        )
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=4))
        french_axis(ax, "y")
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.grid(axis="x", visible=False)
    for ax in list(axes.flat)[len(order) :]:
        ax.set_visible(False)
    fig.supylabel(ylabel, fontsize=9)
    fig.legend(
        handles=[
            matplotlib.lines.Line2D(
                [],
                [],
                color=MUTED,
                marker="o",
                markersize=3,
                linewidth=0.8,
                label="Observé (couleur du dispositif)",
            ),
            matplotlib.lines.Line2D(
                [], [], color=TEXT_COLOUR, linewidth=1.1, label="Ajusté (tendance + saison)"
            ),
            Patch(facecolor=TEXT_COLOUR, alpha=0.15, label=f"Intervalle de confiance à 95{NNBSP}%"),
        ],
        loc="outside lower center",
        ncols=3,
    )
    if title:
        fig.suptitle(title, fontsize=10, fontweight="bold", x=0.02, ha="left")
    return fig


def rate_ratio_forest(
    rows: pd.DataFrame | Sequence[dict[str, Any]],
    xlabel: str = "Rapport de taux (année / année précédente, échelle logarithmique)",
    title: str | None = None,
) -> Figure:
    """Forest plot of rate ratios with their 95 % CIs, on a log axis with a line at 1.

    ``rows`` (a frame or a list of dicts) has ``rate_ratio``, ``ci_low``, ``ci_high`` and a
    ``dispositif`` code (coloured and labelled in French) or a ``label``. On a log axis a
    doubling and a halving are the same distance from 1. A row whose ratio is not finite
    (a zero count) is listed as « non estimable »; an infinite bound is drawn as an arrow to
    the edge. The ratio and its CI are printed at the right of each row.
    """
    data = pd.DataFrame(list(rows) if not isinstance(rows, pd.DataFrame) else rows)
    needed = {"rate_ratio", "ci_low", "ci_high"}
    if not needed <= set(data.columns) or not ({"dispositif", "label"} & set(data.columns)):
        raise ValueError("rows need rate_ratio, ci_low, ci_high and dispositif or label")
    if data.empty:
        raise ValueError("rows is empty: no rate ratio to draw")
    data = data.reset_index(drop=True)
    if "label" in data.columns:
        labels = data["label"].astype(str).tolist()
    else:
        labels = [dispositif_label(d) for d in data["dispositif"]]
    codes = data["dispositif"].tolist() if "dispositif" in data.columns else [None] * len(data)
    rr = data["rate_ratio"].to_numpy(dtype=float)
    lo = data["ci_low"].to_numpy(dtype=float)
    hi = data["ci_high"].to_numpy(dtype=float)
    finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in (rr, lo, hi)] + [np.ones(1)])
    left = min(float(finite.min()), 0.9) / 1.08
    right = max(float(finite.max()), 1.1) * 1.08

    fig, ax = new_figure(height_cm=max(5.0, 1.1 * len(data) + 2.5))
    ax.set_xscale("log")
    ax.axvline(1.0, color=MUTED, linewidth=0.9, linestyle="--", zorder=1)
    y = np.arange(len(data))[::-1]
    for i, yi in enumerate(y):
        colour = DISPOSITIF_COLOURS.get(codes[i], PALETTE[0]) if codes[i] else PALETTE[0]
        if not (np.isfinite(rr[i]) and rr[i] > 0):
            ax.text(1.0, yi, "  non estimable", va="center", ha="left", color=MUTED, fontsize=8)
            continue
        x0 = lo[i] if np.isfinite(lo[i]) and lo[i] > 0 else left
        x1 = hi[i] if np.isfinite(hi[i]) else right
        ax.hlines(yi, x0, x1, color=colour, linewidth=1.8, zorder=2)
        if not np.isfinite(hi[i]):
            ax.plot([right], [yi], marker=">", color=colour, markersize=5, zorder=3)
        ax.plot([rr[i]], [yi], marker="o", color=colour, markersize=6, zorder=3)
        text = f"{french_number(rr[i], 2)} [{french_number(lo[i], 2)}{NNBSP}; "
        text += f"{french_number(hi[i], 2) if np.isfinite(hi[i]) else '∞'}]"
        ax.annotate(
            text,
            xy=(1.0, yi),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
            color=TEXT_COLOUR,
            annotation_clip=False,
        )
    ax.set_xlim(left, right)
    candidates = [0.25, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0]
    ticks = [t for t in candidates if left <= t <= right]
    ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.xaxis.set_major_formatter(FrenchFormatter(decimals=2))
    ax.set_yticks(y, labels=labels)
    ax.set_ylim(-0.7, len(data) - 0.3)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    return _finish(fig, ax, title)


__all__ += ["dispositif_fits", "rate_ratio_forest", "winter_forecast"]
