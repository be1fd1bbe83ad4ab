"""Charts of the youth-errance study, in the observatory's house style.

Every function returns a :class:`~matplotlib.figure.Figure` drawn with the helpers of
:mod:`observatoire.reports.charts` (house style, 16 cm width, French numbers) and does no file I/O:
write with :func:`observatoire.reports.charts.save_figure`. Titles are off by default, as elsewhere.

A state of the monthly sequences keeps one colour in every chart (``STATE_COLOURS``), taken
from the Okabe–Ito palette and matching the dispositif colours of the annual report, so a
reader moving between reports sees the same blue for Housing First. « Aucun contact » is a
very light grey: absence of contact reads as background, not as a state competing for attention.
The state alphabet is defined here rather than imported from :mod:`observatoire.youth.sequences`
so that charting does not depend on the sequence code; both must list the same codes.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import patheffects, ticker
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredText
from matplotlib.patches import Patch, Rectangle

from observatoire.reports.charts import (
    MUTED,
    NNBSP,
    PALETTE,
    TEXT_COLOUR,
    FrenchFormatter,
    french_axis,
    french_number,
    french_percent,
    new_figure,
)
from observatoire.youth.sequences import DEFAULT_STATES, STATE_LABELS

__all__ = [
    "STATES",
    "STATE_COLOURS",
    "STATE_LABELS",
    "STATE_SHORT_LABELS",
    "chronogram",
    "comparison_forest",
    "flows_bars",
    "index_plot",
    "silhouette_profile",
    "state_label",
    "survival_curves",
    "too_small",
    "transition_cells",
    "transition_heatmaps",
    "typology_chronograms",
    "withheld_text",
]

# The state alphabet belongs to the sequences (ordered from the most to the least stable
# situation: stacked charts then read bottom-up from housing to no contact).
STATES: tuple[str, ...] = DEFAULT_STATES

# For heatmap ticks, where six long labels would not fit a half-page panel.
STATE_SHORT_LABELS: dict[str, str] = {
    "LOG": "Logé (HF)",
    "MA": "Maison d'acc.",
    "AN": "Abri de nuit",
    "JOUR": "Accueil jour",
    "RUE": "Rue seul.",
    "AUCUN": "Aucun",
}

# Same hues as observatoire.reports.charts.DISPOSITIF_COLOURS for the matching dispositifs.
STATE_COLOURS: dict[str, str] = {
    "LOG": "#0072B2",  # blue (housing_first)
    "MA": "#E69F00",  # orange (maison_accueil)
    "AN": "#D55E00",  # vermillion (hebergement_urgence)
    "JOUR": "#56B4E9",  # sky blue (accueil_jour)
    "RUE": "#009E73",  # bluish green (travail_rue)
    "AUCUN": "#E4E4E4",  # very light grey: background
}

# Colours for codes outside the alphabet: the Okabe–Ito hues no state uses, then greys.
_SPARE_COLOURS = ("#CC79A7", "#F0E442", "#000000", "#999999", "#666666")
_MISSING_COLOUR = "#FFFFFF"  # month outside the observation window (index plot)
_MISSING_LABEL = "Hors période d'observation"
_MONTH_LABEL = "Mois depuis le premier contact"
_MONTH_LABEL_SHORT = "Mois depuis le 1er contact"
_GREY = "#9A9A9A"
_LIGHT_EDGE = "#BDBDBD"
_PANEL_TITLE_SIZE = 9


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def state_label(code: str, short: bool = False) -> str:
    """French label of a state code (the code itself if unknown)."""
    labels = STATE_SHORT_LABELS if short else STATE_LABELS
    return labels.get(code, str(code))


def _state_colours(codes: Sequence[str]) -> dict[str, str]:
    colours: dict[str, str] = {}
    spare = iter(_SPARE_COLOURS)
    for code in codes:
        colours[code] = STATE_COLOURS.get(code) or next(spare, _GREY)
    return colours


def _state_order(found: Sequence[Any], states: Sequence[str]) -> list[str]:
    """``states`` order first, then codes found in the data but not in ``states``."""
    order = list(dict.fromkeys(states))
    order += [str(c) for c in dict.fromkeys(found) if str(c) not in order]
    return order


def _is_light(colour: str) -> bool:
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.85


def _state_handles(codes: Sequence[str], colours: Mapping[str, str]) -> list[Patch]:
    # A light patch gets an outline, or « Aucun contact » would vanish from the legend.
    return [
        Patch(
            facecolor=colours[c],
            edgecolor=_LIGHT_EDGE if _is_light(colours[c]) else colours[c],
            linewidth=0.6,
            label=state_label(c),
        )
        for c in codes
    ]


def _percent_axis(ax: plt.Axes, axis: str = "y") -> None:
    """French percent ticks on an axis whose data are already in percent units."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FrenchFormatter(0, suffix=f"{NNBSP}%"))


def _n_of(frame: pd.DataFrame) -> int | None:
    n = frame.attrs.get("n")
    if n is None:
        return None
    try:
        return int(n)
    except (TypeError, ValueError):
        return None


def _n_text(n: int) -> str:
    return f"n{NNBSP}={NNBSP}{french_number(n)}"


def _suptitle(fig: Figure, title: str | None) -> Figure:
    # Multi-panel figures: the title belongs to the figure, left-aligned like axes titles.
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    return fig


def _empty_panel(ax: plt.Axes, text: str = "Aucune donnée") -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=8,
        fontstyle="italic",
        color=MUTED,
    )


def _month_ticks(ax: plt.Axes, n_months: int) -> None:
    step = 1 if n_months <= 8 else 3 if n_months <= 18 else 6 if n_months <= 48 else 12
    ax.xaxis.set_major_locator(ticker.MultipleLocator(step))
    ax.xaxis.set_major_formatter(FrenchFormatter(0))


# --------------------------------------------------------------------------------------------
# State distributions (chronograms)
# --------------------------------------------------------------------------------------------


def _distribution_codes(
    distributions: Mapping[str, pd.DataFrame], states: Sequence[str]
) -> tuple[list[str], list[str]]:
    found = [c for df in distributions.values() for c in df.columns]
    order = _state_order(found, states)
    # Legend: the states some panel actually shows (a share > 0), as in the index plot.
    present = {
        str(c)
        for df in distributions.values()
        for c in df.columns
        if (pd.to_numeric(df[c], errors="coerce").fillna(0.0) > 0).any()
    }
    shown = [c for c in order if c in present]
    return order, shown


def withheld_text(min_size: int) -> str:
    """What a panel of a too-small group says instead of its drawing."""
    return f"Moins de {french_number(min_size)} personnes :\nnon publié"


def too_small(n: int | None, min_size: int | None) -> bool:
    """An individual-level drawing (one sequence per person, or the monthly states of a group,
    whose shares are multiples of 1/n) of a group of ``n`` persons may not be published when a
    minimum is set and the group is smaller, or of unknown size."""
    return min_size is not None and (n is None or n < min_size)


def _draw_distribution(
    ax: plt.Axes,
    frame: pd.DataFrame,
    order: Sequence[str],
    colours: Mapping[str, str],
    empty_text: str = "Aucune donnée",
) -> None:
    """Stacked monthly bars of state shares (0–1 in ``frame``, drawn in percent).

    A frame without rows or with only NaN (a group of nobody, as
    :func:`observatoire.youth.sequences.state_distribution` returns it) is an empty panel.
    """
    if frame.empty or frame.isna().all().all():
        _empty_panel(ax, empty_text)
        ax.set_xlim(-0.5, 11.5)
        _month_ticks(ax, 12)
    else:
        data = frame.copy()
        data.columns = [str(c) for c in data.columns]
        data = data.reindex(columns=order, fill_value=0.0).astype(float).fillna(0.0)
        x = np.asarray(data.index, dtype=float)
        bottom = np.zeros(len(data))
        for code in order:
            values = 100 * data[code].to_numpy()
            if not values.any():
                continue
            # Width 1 without edges: a month is a continuous band, as in TraMineR's seqdplot.
            ax.bar(x, values, bottom=bottom, width=1.0, color=colours[code], linewidth=0)
            bottom += values
        ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
        _month_ticks(ax, len(data))
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_locator(ticker.MultipleLocator(25))
    _percent_axis(ax, "y")
    ax.grid(axis="x", visible=False)
    ax.grid(axis="y", visible=False)  # the bars fill the panel: a grid would only add noise
    ax.set_axisbelow(False)


def _distribution_grid(
    distributions: Mapping[str, pd.DataFrame],
    panel_titles: Sequence[str],
    ncols: int,
    states: Sequence[str],
    title: str | None,
    panel_height_cm: float,
    panel_title_size: float = _PANEL_TITLE_SIZE,
    withheld: Mapping[str, str] | None = None,
) -> Figure:
    """``withheld`` maps the keys of groups not drawn (too small) to the text of their panel."""
    withheld = dict(withheld or {})
    distributions = {
        name: pd.DataFrame() if name in withheld else frame for name, frame in distributions.items()
    }
    n = len(distributions)
    if n == 0:
        raise ValueError("distributions is empty")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    order, shown = _distribution_codes(distributions, states)
    colours = _state_colours(order)
    fig, axes = new_figure(
        height_cm=1.8 + (0.8 if title else 0.0) + panel_height_cm * nrows,
        nrows=nrows,
        ncols=ncols,
        sharey=True,
        squeeze=False,
    )
    flat = list(axes.ravel())
    for ax, (name, frame), panel_title in zip(
        flat, distributions.items(), panel_titles, strict=False
    ):
        _draw_distribution(ax, frame, order, colours, withheld.get(name, "Aucune donnée"))
        ax.set_title(panel_title, fontsize=panel_title_size)
    for ax in flat[n:]:
        fig.delaxes(ax)
    used = flat[:n]
    for i, ax in enumerate(used):
        row, col = divmod(i, ncols)
        if col == 0:
            ax.set_ylabel("Part des personnes")
        # x label on the bottom panel of each column only (a supxlabel would collide with
        # the outside legend under constrained layout); shorter when three panels share a row.
        if row == nrows - 1 or i + ncols >= n:
            if ncols >= 3:
                ax.set_xlabel(_MONTH_LABEL_SHORT, fontsize=8)
            else:
                ax.set_xlabel(_MONTH_LABEL)
    if shown:
        fig.legend(
            handles=_state_handles(shown, colours),
            loc="outside lower center",
            ncols=min(3, len(shown)),
            handlelength=1.4,
            columnspacing=1.4,
        )
    return _suptitle(fig, title)


def chronogram(
    distributions: dict[str, pd.DataFrame],
    title: str | None = None,
    states: Sequence[str] = STATES,
    min_size: int | None = None,
) -> Figure:
    """State-distribution plots side by side, one panel per group (e.g. youth vs adults).

    Each DataFrame has the month since first contact (0…T−1) as index and state codes as
    columns, with shares summing to 1 per month; ``attrs["n"]``, when set, is shown in the
    panel title. Monthly stacked bars read better than areas over 24 months. A state absent
    from a DataFrame counts as 0; codes outside ``states`` are drawn after them. With
    ``min_size``, a group of fewer persons (or of unknown size) is not drawn (:func:`too_small`).
    """
    titles = []
    withheld = {}
    for name, frame in distributions.items():
        n = _n_of(frame)
        if too_small(n, min_size):
            withheld[name] = withheld_text(int(min_size or 0))
            titles.append(str(name))
            continue
        titles.append(f"{name} ({_n_text(n)})" if n is not None else str(name))
    return _distribution_grid(
        distributions,
        titles,
        len(distributions),
        states,
        title,
        panel_height_cm=7.0,
        withheld=withheld,
    )


def typology_chronograms(
    distributions: dict[str, pd.DataFrame],
    title: str | None = None,
    states: Sequence[str] = STATES,
    min_size: int | None = None,
) -> Figure:
    """Chronogram of each type of the typology, on a grid of up to three columns.

    Keys are the type names in type order; panels are titled « Type 1 : <name> (n = …, x %) »,
    the share being n over the total n of all types (both omitted when ``attrs["n"]`` is unset).
    With ``min_size`` (``youth.typology.min_type_size``), a type of fewer persons (or of unknown
    size) is not drawn and its size is not printed: its panel says why (:func:`too_small`).
    """
    ns = [_n_of(frame) for frame in distributions.values()]
    total = sum(n for n in ns if n is not None)
    titles = []
    withheld = {}
    for i, (name, n) in enumerate(zip(distributions, ns, strict=True), start=1):
        # Wrapped to a third of the page width: matplotlib does not wrap titles itself.
        # The youth study already names its types « Type 1 : … »: never « Type 1 : Type 1 : ».
        panel = name if str(name).startswith("Type ") else f"Type {i}{NNBSP}: {name}"
        lines = textwrap.wrap(panel, 25)
        if too_small(n, min_size):
            withheld[name] = withheld_text(int(min_size or 0))
        elif n is not None:
            share = french_percent(100 * n / total, 0) if total else "–"
            lines.append(f"({_n_text(n)}, {share})")
        titles.append("\n".join(lines))
    ncols = min(3, len(distributions))
    return _distribution_grid(
        distributions,
        titles,
        ncols,
        states,
        title,
        panel_height_cm=5.6,
        panel_title_size=8,
        withheld=withheld,
    )


# --------------------------------------------------------------------------------------------
# Index plot
# --------------------------------------------------------------------------------------------


def _encode(codes: np.ndarray, states: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Integer matrix (−1 = missing) and the state order, from integer or string sequences.

    Integer sequences index ``states`` (negative = missing); string/object sequences hold codes
    (None, NaN or "" = missing). Codes outside ``states`` are appended to the order.
    """
    arr = np.asarray(codes)
    if arr.ndim == 1:
        arr = arr.reshape(0, 0) if arr.size == 0 else arr.reshape(1, -1)
    order = list(dict.fromkeys(states))
    if arr.size == 0:
        return np.zeros((0, arr.shape[1] if arr.ndim == 2 else 0), dtype=int), order
    if np.issubdtype(arr.dtype, np.integer):
        if arr.max() >= len(order):
            raise ValueError(f"integer state {arr.max()} outside states {order}")
        return np.where(arr < 0, -1, arr).astype(int), order
    if np.issubdtype(arr.dtype, np.floating):
        finite = np.isfinite(arr)
        if finite.any() and np.nanmax(arr) >= len(order):
            raise ValueError(f"integer state {np.nanmax(arr)} outside states {order}")
        return np.where(finite & (arr >= 0), arr, -1).astype(int), order
    flat = arr.ravel()
    missing = np.array([v is None or v == "" or (isinstance(v, float) and v != v) for v in flat])
    extra = [str(v) for v in dict.fromkeys(flat[~missing]) if str(v) not in order]
    order += sorted(extra)
    lookup = {c: i for i, c in enumerate(order)}
    out = np.array([-1 if m else lookup[str(v)] for v, m in zip(flat, missing, strict=True)])
    return out.reshape(arr.shape).astype(int), order


def _sorted_sample(matrix: np.ndarray, max_rows: int) -> np.ndarray:
    """Rows sorted lexicographically on the state sequence (first state first), then at most
    ``max_rows`` evenly spaced rows, so the sample keeps the sorted picture's proportions."""
    if len(matrix) == 0:
        return matrix
    key = np.where(matrix < 0, matrix.max() + 1, matrix)  # missing months sort last
    order = np.lexsort(key.T[::-1])
    matrix = matrix[order]
    if len(matrix) > max_rows:
        idx = np.unique(np.round(np.linspace(0, len(matrix) - 1, max_rows)).astype(int))
        matrix = matrix[idx]
    return matrix


def index_plot(
    codes_by_group: dict[str, np.ndarray],
    states: Sequence[str] = STATES,
    title: str | None = None,
    max_rows: int = 400,
    min_size: int | None = None,
) -> Figure:
    """Sequence index plot: one panel per group, one horizontal line of monthly cells per person.

    With ``min_size``, a group of fewer persons is not drawn (its panel says why, and its size
    is not printed): one line per person of a small group describes its members one by one.

    Each array is persons × months, of integer indices into ``states`` (negative = missing) or of
    state codes (None/"" = missing, e.g. months after the end of observation, drawn white).
    Sequences are sorted lexicographically (hence by first state first) so structure shows;
    above ``max_rows`` an evenly spaced subsample of the sorted rows is drawn, noted
    « n sur N séquences ».
    """
    if not codes_by_group:
        raise ValueError("codes_by_group is empty")
    if max_rows < 1:
        raise ValueError("max_rows must be >= 1")
    encoded = {g: _encode(m, states) for g, m in codes_by_group.items()}
    order = max((o for _, o in encoded.values()), key=len)
    colours = _state_colours(order)
    cmap = ListedColormap([_MISSING_COLOUR] + [colours[c] for c in order])
    n = len(encoded)
    fig, axes = new_figure(height_cm=10.5 + (0.8 if title else 0.0), nrows=1, ncols=n)
    axes = np.atleast_1d(axes)
    used: set[int] = set()
    any_missing = False
    for k, (ax, (group, (matrix, _))) in enumerate(zip(axes, encoded.items(), strict=True)):
        total = len(matrix)
        small = too_small(total, min_size)
        shown = matrix[:0] if small else _sorted_sample(matrix, max_rows)
        head = str(group) if small else f"{group} ({_n_text(total)})"
        if small:
            total = 0  # no « n sur N séquences » note either
        if len(shown) == 0:
            _empty_panel(ax, withheld_text(int(min_size or 0)) if small else "Aucune séquence")
            ax.set_xlim(-0.5, 11.5)
            _month_ticks(ax, 12)
            ax.set_yticks([])
        else:
            used.update(int(v) for v in np.unique(shown) if v >= 0)
            any_missing = any_missing or bool((shown < 0).any())
            ax.imshow(
                shown + 1,  # 0 = missing, 1… = states
                cmap=cmap,
                vmin=-0.5,
                vmax=len(order) + 0.5,
                aspect="auto",
                interpolation="nearest",
                extent=(-0.5, shown.shape[1] - 0.5, len(shown), 0),
            )
            _month_ticks(ax, shown.shape[1])
            ax.set_yticks([])
            if len(shown) < total:
                ax.text(
                    1.0,
                    1.01,
                    f"{french_number(len(shown))} sur {french_number(total)} séquences",
                    transform=ax.transAxes,
                    ha="right",
                    va="bottom",
                    fontsize=7,
                    fontstyle="italic",
                    color=MUTED,
                )
        ax.set_title(head, fontsize=_PANEL_TITLE_SIZE, pad=12 if len(shown) < total else 6)
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        if k == 0:
            ax.set_ylabel("Personnes (séquences triées)")
        ax.set_xlabel(_MONTH_LABEL)
    handles = _state_handles([c for i, c in enumerate(order) if i in used], colours)
    if any_missing:
        handles.append(
            Patch(facecolor=_MISSING_COLOUR, edgecolor=_LIGHT_EDGE, lw=0.6, label=_MISSING_LABEL)
        )
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=3,
            handlelength=1.4,
            columnspacing=1.4,
        )
    return _suptitle(fig, title)


# --------------------------------------------------------------------------------------------
# Survival
# --------------------------------------------------------------------------------------------


def _prepare_curve(frame: pd.DataFrame, max_days: int | None) -> pd.DataFrame:
    data = frame[["time", "survival", "lower", "upper"]].astype(float).sort_values("time")
    data = data.dropna(subset=["time", "survival"]).reset_index(drop=True)
    if data.empty:
        return data
    if data["time"].iloc[0] > 0:  # S(0) = 1 by definition; estimators often omit it
        start = pd.DataFrame({"time": [0.0], "survival": [1.0], "lower": [1.0], "upper": [1.0]})
        data = pd.concat([start, data], ignore_index=True)
    if max_days is not None and data["time"].iloc[-1] > max_days:
        kept = data[data["time"] <= max_days]
        # Carry the last step to the axis edge instead of stopping short of it.
        edge = kept.iloc[[-1]].assign(time=float(max_days))
        data = pd.concat([kept, edge], ignore_index=True)
    return data


def survival_curves(
    curves: dict[str, pd.DataFrame],
    title: str | None = None,
    xlabel: str = "Jours depuis le premier contact",
    annotation: str | None = None,
    max_days: int | None = None,
) -> Figure:
    """Kaplan–Meier curves (steps) with their 95 % confidence bands, one colour per group.

    Each DataFrame has columns ``time``, ``survival``, ``lower``, ``upper`` (survival as a
    fraction). The first group gets the primary colour, so pass the youth group first.
    ``annotation`` (e.g. the log-rank test) is boxed in the upper right corner, which
    decreasing curves leave empty; ``max_days`` cuts the time axis.
    """
    if not curves:
        raise ValueError("curves is empty")
    for name, frame in curves.items():
        missing = {"time", "survival", "lower", "upper"} - set(frame.columns)
        if missing:
            raise ValueError(f"curve {name!r} lacks columns: {sorted(missing)}")
    fig, ax = new_figure(height_cm=9.0)
    handles: list[Any] = []
    x_max = 0.0
    for i, (name, frame) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        data = _prepare_curve(frame, max_days)
        if data.empty:
            handles.append(Line2D([], [], color=colour, label=f"{name} (aucune donnée)"))
            continue
        t = data["time"].to_numpy()
        ax.fill_between(
            t,
            100 * data["lower"].to_numpy(),
            100 * data["upper"].to_numpy(),
            step="post",
            color=colour,
            alpha=0.16,
            linewidth=0,
            zorder=1,
        )
        (line,) = ax.step(
            t, 100 * data["survival"].to_numpy(), where="post", color=colour, label=name, zorder=2
        )
        handles.append(line)
        x_max = max(x_max, float(t[-1]))
    handles.append(
        Patch(
            facecolor=_GREY, alpha=0.3, linewidth=0, label=f"Intervalle de confiance à 95{NNBSP}%"
        )
    )
    ax.set_xlim(0, max_days if max_days is not None else (x_max or 1.0))
    ax.set_ylim(0, 101)
    ax.yaxis.set_major_locator(ticker.MultipleLocator(20))
    _percent_axis(ax, "y")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=8, steps=[1, 2, 3, 5, 6, 10]))
    french_axis(ax, "x", 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Part encore en contact")
    if annotation:
        box = AnchoredText(annotation, loc="upper right", prop={"fontsize": 8}, frameon=True)
        box.patch.set_boxstyle("round,pad=0.3,rounding_size=0.15")
        box.patch.set_edgecolor("#C8C8C8")
        box.patch.set_facecolor("white")
        ax.add_artist(box)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)))
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# Transitions
# --------------------------------------------------------------------------------------------


def _cell_text(p: float) -> str:
    if p == 0:
        return ""
    pct = 100 * p
    return f"<{NNBSP}1{NNBSP}%" if pct < 0.5 else french_percent(pct, 0)


def transition_cells(
    matrices: dict[str, pd.DataFrame], counts: dict[str, pd.DataFrame], k: int
) -> pd.DataFrame:
    """The heatmaps' cells as printed: group, from, to, the probability's text, or « < k »
    where 1 to k − 1 transitions were seen (a probability of so few passages, with the row's
    size, would give a count below the threshold; neither is printed)."""
    rows = []
    for group, matrix in matrices.items():
        n = counts.get(group)
        for a in matrix.index:
            for b in matrix.columns:
                p = float(matrix.loc[a, b])
                c = float(n.loc[a, b]) if n is not None and a in n.index and b in n.columns else 0
                small = 0 < c < k
                rows.append(
                    {
                        "groupe": group,
                        "etat": str(a),
                        "etat_suivant": str(b),
                        "texte": f"< {k}" if small else _cell_text(p),
                        "masque": small,
                        "probabilite": np.nan if small else p,
                    }
                )
    return pd.DataFrame(rows)


def transition_heatmaps(
    matrices: dict[str, pd.DataFrame],
    title: str | None = None,
    states: Sequence[str] = STATES,
    masked: dict[str, set[tuple[str, str]]] | None = None,
    k: int | None = None,
) -> Figure:
    """Monthly transition probabilities, one heatmap per group on a common 0–100 % scale.

    Rows are the state of month m, columns the state of month m + 1 (state codes as index and
    columns). Every panel shows the states present in any matrix: a missing column is a
    probability of 0 (left blank); a missing, all-NaN or all-zero row is a state never left
    from (hatched, no value). ``masked`` names, per group, the (from, to) cells of 1 to k − 1
    transitions (:func:`transition_cells`): drawn grey with « < k », no probability.
    """
    masked = masked or {}
    threshold = k  # the panel loop below reuses ``k`` as its index
    if not matrices:
        raise ValueError("matrices is empty")
    found = [c for m in matrices.values() for c in list(m.index) + list(m.columns)]
    present = {str(c) for c in found}
    order = [c for c in _state_order(found, states) if c in present]
    labels = [state_label(c, short=True) for c in order]
    # ColorBrewer "Blues" stops: a two-stop white-to-navy ramp gives greyish mid-tones.
    cmap = LinearSegmentedColormap.from_list(
        "observatoire_transitions", ["#FFFFFF", "#C6DBEF", "#6BAED6", "#2171B5", "#08306B"]
    )
    n = len(matrices)
    side = len(order)
    # Two panels per row at most: a third would shrink 6 × 6 cells below the width of « 12 % ».
    ncols = min(2, n)
    nrows = math.ceil(n / ncols)
    fig, axes = new_figure(
        height_cm=nrows * max(7.5, 3.6 + 0.75 * side) + (0.8 if title else 0.0),
        nrows=nrows,
        ncols=ncols,
        squeeze=False,
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        fig.delaxes(ax)
    used = flat[:n]
    image = None
    hatched = False
    for k, (ax, (name, matrix)) in enumerate(zip(used, matrices.items(), strict=True)):
        data = matrix.copy()
        data.index = [str(i) for i in data.index]
        data.columns = [str(c) for c in data.columns]
        data = data.reindex(columns=order, fill_value=0.0).reindex(index=order).astype(float)
        # A row of zeros is a state never left from (sequences.transition_matrix writes 0, not
        # NaN): it has no probabilities to show.
        data[data.fillna(0.0).sum(axis=1) == 0] = np.nan
        values = data.to_numpy()
        hatched = hatched or bool(np.isnan(values).any())
        image = ax.imshow(
            np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, interpolation="nearest"
        )
        ax.set_facecolor("white")
        ax.patch.set_hatch("////")
        ax.patch.set_edgecolor("#D0D0D0")
        hidden = masked.get(name, set())
        for i in range(side):
            for j in range(side):
                v = values[i, j]
                if not np.isfinite(v):
                    continue
                if (order[i], order[j]) in hidden:
                    ax.add_patch(
                        Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#E6E6E6", edgecolor="white")
                    )
                    ax.text(
                        j,
                        i,
                        f"<{NNBSP}{threshold}",
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color=TEXT_COLOUR,
                    )
                    continue
                ax.text(
                    j,
                    i,
                    _cell_text(v),
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if v > 0.55 else TEXT_COLOUR,
                )
        ax.set_xticks(range(side), labels=labels, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(side), labels=labels if k % ncols == 0 else [])
        ax.tick_params(axis="both", length=0)
        ax.grid(False)
        # White cell borders, drawn as minor grid lines.
        ax.set_xticks(np.arange(-0.5, side, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, side, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.2)
        ax.tick_params(which="minor", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(str(name), fontsize=_PANEL_TITLE_SIZE)
        ax.set_xlabel("État le mois suivant")
        if k % ncols == 0:
            ax.set_ylabel("État du mois")
    cbar = fig.colorbar(image, ax=used, shrink=0.8 if nrows == 1 else 0.6, pad=0.02, aspect=25)
    cbar.set_label("Probabilité de transition")
    cbar.ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: french_percent(100 * v, 0)))
    cbar.outline.set_visible(False)
    handles = []
    if hatched:
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="#C8C8C8",
                hatch="////",
                label="Aucune donnée (état jamais occupé)",
            )
        )
    if any(masked.values()):
        handles.append(
            Patch(
                facecolor="#E6E6E6",
                edgecolor="white",
                label=(
                    f"<{NNBSP}{threshold} : moins de {threshold} passages d'un mois au suivant, "
                    "probabilité non publiée"
                ),
            )
        )
    if handles:
        fig.legend(handles=handles, loc="outside lower left", handlelength=2.2, handleheight=1.2)
    return _suptitle(fig, title)


# --------------------------------------------------------------------------------------------
# Youth vs adults comparison
# --------------------------------------------------------------------------------------------


def comparison_forest(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Dot-and-whisker chart of youth − adults differences, first row of ``table`` on top.

    Columns: ``label`` (French), ``diff``, ``lower``, ``upper`` (differences of proportions as
    fractions, drawn in percentage points); optional ``reference_diff`` (a published
    difference, e.g. the King Baudouin Foundation's, a hollow diamond) and ``unstable``
    (estimates too imprecise to interpret, drawn hollow and grey). A NaN ``diff`` (masked)
    draws nothing but « masqué ».
    """
    required = {"label", "diff", "lower", "upper"}
    missing = required - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns: {sorted(missing)}")
    rows = table.reset_index(drop=True)
    n = len(rows)
    fig, ax = new_figure(height_cm=max(6.0, 3.2 + 0.75 * n))
    y = np.arange(n)
    colour = PALETTE[0]
    ref_colour = PALETTE[3]
    unstable = (
        rows["unstable"].fillna(False).astype(bool).to_numpy()
        if "unstable" in rows
        else np.zeros(n, dtype=bool)
    )
    has_ref = "reference_diff" in rows and rows["reference_diff"].notna().any()
    extent: list[float] = [0.0]
    for i, row in rows.iterrows():
        d, lo, hi = (float(row[c]) for c in ("diff", "lower", "upper"))
        if not np.isfinite(d):
            ax.annotate(
                "masqué",
                xy=(0, i),
                xytext=(5, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=7,
                fontstyle="italic",
                color=MUTED,
            )
            continue
        c = _GREY if unstable[i] else colour
        if np.isfinite(lo) and np.isfinite(hi):
            ax.hlines(i, 100 * lo, 100 * hi, color=c, linewidth=1.6, zorder=2)
            extent += [100 * lo, 100 * hi]
        ax.plot(
            100 * d,
            i,
            "o",
            markersize=6,
            markerfacecolor="white" if unstable[i] else c,
            markeredgecolor=c,
            markeredgewidth=1.4,
            zorder=3,
        )
        extent.append(100 * d)
    if has_ref:
        ref = 100 * rows["reference_diff"].astype(float).to_numpy()
        ok = np.isfinite(ref)
        ax.plot(
            ref[ok],
            y[ok],
            "D",
            markersize=6,
            markerfacecolor="none",
            markeredgecolor=ref_colour,
            markeredgewidth=1.3,
            zorder=4,
        )
        extent += list(ref[ok])
    ax.axvline(0, color="#6B6B6B", linewidth=0.9, zorder=1)
    wrapped = [textwrap.fill(str(s), 38) for s in rows["label"]]
    ax.set_yticks(y, labels=wrapped)
    ax.set_ylim(max(n, 1) - 0.5, -0.5)
    if n == 0:
        _empty_panel(ax)
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)
    lo_x, hi_x = min(extent), max(extent)
    pad = 0.08 * max(hi_x - lo_x, 1.0)
    ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    french_axis(ax, "x")
    ax.set_xlabel("Écart jeunes \u2212 adultes (points de %)")
    handles: list[Any] = [
        Line2D(
            [],
            [],
            color=colour,
            marker="o",
            markersize=6,
            linewidth=1.6,
            label=f"Écart estimé (IC à 95{NNBSP}%)",
        )
    ]
    if has_ref:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="D",
                markersize=6,
                markerfacecolor="none",
                markeredgecolor=ref_colour,
                markeredgewidth=1.3,
                label="Référence FRB",
            )
        )
    if unstable.any():
        handles.append(
            Line2D(
                [],
                [],
                color=_GREY,
                marker="o",
                markersize=6,
                markerfacecolor="white",
                markeredgecolor=_GREY,
                linewidth=1.6,
                label="Estimation instable",
            )
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# Typology diagnostics
# --------------------------------------------------------------------------------------------

# Kaufman & Rousseeuw (1990), Finding Groups in Data, p. 88: average silhouette width bands.
_SILHOUETTE_BANDS = (0.25, 0.50, 0.70)
_SILHOUETTE_ZONES = (
    "Aucune\n< 0,25",
    "Faible\n0,25–0,50",
    "Raisonnable\n0,50–0,70",
    "Forte\n> 0,70",
)


def silhouette_profile(
    silhouette_by_k: dict[int, float], chosen: int, title: str | None = None
) -> Figure:
    """Average silhouette width by number of types, chosen k highlighted.

    The Kaufman–Rousseeuw thresholds are drawn as light lines, since in sequence analysis the
    widths are often low and the reader needs to see where they fall. The zones are named in
    the right margin, where no data point can hide them.
    """
    if chosen not in silhouette_by_k:
        raise ValueError(f"chosen k={chosen} not in silhouette_by_k")
    ks = np.array(sorted(silhouette_by_k), dtype=int)
    values = np.array([silhouette_by_k[k] for k in ks], dtype=float)
    fig, ax = new_figure(height_cm=8.0)
    top = max(0.8, float(np.nanmax(values)) + 0.05)
    bottom = min(0.0, float(np.nanmin(values)) - 0.05)
    edges = [bottom, *_SILHOUETTE_BANDS, top]
    for level in _SILHOUETTE_BANDS:
        ax.axhline(level, color="#BDBDBD", linewidth=0.8, linestyle="--", zorder=1)
    for lo, hi, label in zip(edges[:-1], edges[1:], _SILHOUETTE_ZONES, strict=True):
        ax.text(
            1.015,
            (lo + hi) / 2,
            label,
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=7,
            color=MUTED,
            linespacing=1.1,
            clip_on=False,
        )
    ax.text(
        1.015,
        1.0,
        "Structure",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=7,
        fontweight="bold",
        color=MUTED,
        clip_on=False,
    )
    ax.plot(ks, values, "-o", color=PALETTE[0], markersize=4.5, zorder=2, label="Silhouette")
    v = silhouette_by_k[chosen]
    ax.plot(
        [chosen],
        [v],
        "o",
        markersize=10,
        markerfacecolor="none",
        markeredgecolor=PALETTE[3],
        markeredgewidth=1.8,
        zorder=3,
    )
    ax.annotate(
        f"k retenu = {chosen}\n({french_number(v, 2)})",
        xy=(chosen, v),
        xytext=(0, 12),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=7.5,
        color=PALETTE[3],
        fontweight="bold",
    )
    ax.set_xticks(ks, labels=[str(k) for k in ks])
    ax.set_xlim(ks.min() - 0.5, ks.max() + 0.5)
    ax.set_ylim(bottom, top)
    ax.yaxis.set_major_locator(ticker.MultipleLocator(0.1))
    french_axis(ax, "y", 1)
    ax.grid(axis="x", visible=False)
    ax.set_xlabel("Nombre de types (k)")
    ax.set_ylabel("Largeur moyenne de silhouette")
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# Yearly flows
# --------------------------------------------------------------------------------------------

# Bottom to top: the stable core first, then those coming back, newcomers on top.
_FLOWS = (
    ("continuing", "Déjà présents l'année précédente", PALETTE[0]),
    ("returning", "De retour après une interruption", PALETTE[5]),
    ("new", "Nouveaux", PALETTE[1]),
)
_FLOW_SHORT = {"continuing": "présents", "returning": "retours", "new": "nouveaux"}
_MASKED_NOTE = f"<{NNBSP}5{NNBSP}: effectif masqué (secret statistique)"


def flows_bars(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Young people per year, stacked as continuing / returning / new, with the youth share.

    ``table`` has ``year``, ``new``, ``returning``, ``continuing`` and optionally
    ``youth_share`` (fraction of all persons, right axis). A NaN count was suppressed by
    disclosure control: nothing is drawn for it, « < 5 » marks the bar and the legend explains it.
    Segments above a masked one sit on the known counts only, so the bar is a lower bound.
    """
    required = {"year", "new", "returning", "continuing"}
    missing = required - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns: {sorted(missing)}")
    data = table.sort_values("year").reset_index(drop=True)
    years = data["year"].astype(int).to_numpy()
    x = np.arange(len(data), dtype=float)
    fig, ax = new_figure(height_cm=9.0)
    bottom = np.zeros(len(data))
    handles: list[Any] = []
    masked: list[list[str]] = [[] for _ in x]
    for column, label, colour in _FLOWS:
        values = data[column].astype(float).to_numpy()
        gone = np.isnan(values)
        for i in np.flatnonzero(gone):
            masked[i].append(_FLOW_SHORT[column])
        shown = np.where(gone, 0.0, values)
        ax.bar(
            x[~gone],
            shown[~gone],
            bottom=bottom[~gone],
            width=0.68,
            color=colour,
            edgecolor="white",
            linewidth=0.5,
            zorder=2,
        )
        handles.append(Patch(facecolor=colour, label=label))
        bottom += shown
    top = float(bottom.max()) if len(bottom) else 0.0
    top = top if top > 0 else 5.0
    for xi, b, names in zip(x, bottom, masked, strict=True):
        if names:
            ax.text(
                xi,
                b + 0.015 * top,
                "\n".join(f"{s} <{NNBSP}5" for s in names),
                ha="center",
                va="bottom",
                fontsize=6.5,
                fontstyle="italic",
                color=MUTED,
                linespacing=1.1,
            )
    ax.set_ylim(0, top * 1.15)
    ax.set_xticks(x, labels=[str(y) for y in years])  # no thousands separator in years
    ax.set_xlim(-0.6, len(x) - 0.4)
    ax.grid(axis="x", visible=False)
    french_axis(ax, "y", 0)
    ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=6, integer=True))
    ax.set_xlabel("Année")
    ax.set_ylabel("Jeunes de 18 à 25 ans")
    if "youth_share" in data and data["youth_share"].notna().any():
        share = 100 * data["youth_share"].astype(float).to_numpy()
        right = ax.twinx()
        right.spines["right"].set_visible(True)
        (line,) = right.plot(
            x,
            share,
            color=TEXT_COLOUR,
            marker="o",
            markersize=4,
            linewidth=1.4,
            label="Part des jeunes (axe de droite)",
            zorder=4,
        )
        # White halo: the line crosses the bars.
        line.set_path_effects([patheffects.withStroke(linewidth=3.2, foreground="white")])
        right.set_ylim(0, max(10.0, float(np.nanmax(share)) * 1.5))
        right.yaxis.set_major_locator(ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        _percent_axis(right, "y")
        right.grid(False)
        right.set_ylabel("Part des jeunes (toutes personnes)")
        handles.append(line)
    if any(masked):
        # As a legend entry (no handle drawn), so the layout keeps it clear of the legend.
        handles.append(Line2D([], [], linestyle="none", label=_MASKED_NOTE))
    fig.legend(handles=handles, loc="outside lower center", ncols=2, columnspacing=1.5)
    if title:
        ax.set_title(title)
    return fig
