"""Tests of the youth-errance charts: panels, French labels, degenerate inputs, PNG determinism."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from observatoire.reports.charts import NNBSP, PALETTE, save_figure
from observatoire.reports.youth import charts as yc
from observatoire.reports.youth.charts import STATE_COLOURS, STATE_LABELS, STATES

T = 24


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------
# Made-up inputs
# --------------------------------------------------------------------------------------------


def _sequences(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = np.empty((n, T), dtype=np.int8)
    codes[:, 0] = rng.integers(0, 5, n)
    for t in range(1, T):
        move = rng.random(n) < 0.3
        codes[:, t] = np.where(move, rng.integers(0, 6, n), codes[:, t - 1])
    return codes


def _distribution(codes: np.ndarray, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    counts = np.stack([np.bincount(codes[:, t], minlength=6) for t in range(T)])
    frame = pd.DataFrame(counts / max(len(codes), 1), columns=list(STATES))
    frame = frame.drop(columns=list(drop))
    frame.attrs["n"] = len(codes)
    return frame


def _empty_distribution() -> pd.DataFrame:
    frame = pd.DataFrame(columns=list(STATES), dtype=float)
    frame.attrs["n"] = 0
    return frame


def _km(scale: float) -> pd.DataFrame:
    t = np.arange(1.0, 400.0, 7.0)
    s = np.exp(-t / scale)
    return pd.DataFrame(
        {"time": t, "survival": s, "lower": s * 0.9, "upper": np.minimum(s * 1.1, 1)}
    )


def _transitions(seed: int, drop: str | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m = 0.6 * np.eye(6) + 0.4 * rng.dirichlet(np.ones(6), size=6)
    m[0, 2] = 0.0
    m = m / m.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(m, index=list(STATES), columns=list(STATES))
    if drop:
        frame = frame.drop(index=drop, columns=drop)
    return frame


def _forest_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["Au moins une nuit en abri de nuit", "Passage en maison d'accueil", "Femmes"],
            "diff": [0.095, -0.03, 0.12],
            "lower": [0.05, -0.07, 0.01],
            "upper": [0.14, 0.01, 0.23],
            "reference_diff": [0.11, np.nan, 0.06],
            "unstable": [False, False, True],
        }
    )


def _flows(masked: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year": [2021, 2022, 2023],
            "new": [210.0, 232.0, 251.0],
            "returning": [35.0, np.nan if masked else 4.0, 44.0],
            "continuing": [120.0, 131.0, 140.0],
            "youth_share": [0.17, 0.18, 0.19],
        }
    )


def _legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def _all_texts(fig: Figure) -> list[str]:
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts]
        texts += [a.txt.get_text() for a in ax.artists if hasattr(a, "txt")]
    return texts


# --------------------------------------------------------------------------------------------
# Alphabet
# --------------------------------------------------------------------------------------------


def test_state_alphabet_colours_and_labels():
    assert STATES == ("LOG", "MA", "AN", "JOUR", "RUE", "AUCUN")
    assert set(STATE_COLOURS) == set(STATES) == set(STATE_LABELS)
    assert len(set(STATE_COLOURS.values())) == len(STATES)
    # Every state but « no contact » takes an Okabe–Ito hue; « no contact » is a light grey.
    okabe_ito = {to_hex(c) for c in PALETTE}
    assert all(to_hex(STATE_COLOURS[s]) in okabe_ito for s in STATES if s != "AUCUN")
    r, g, b = (int(STATE_COLOURS["AUCUN"][i : i + 2], 16) for i in (1, 3, 5))
    assert r == g == b and r > 0xD8
    assert yc.state_label("AN") == "Abri de nuit"
    assert yc.state_label("LOG") == "Housing First (logé)"
    assert yc.state_label("XYZ") == "XYZ"
    assert yc.state_label("JOUR", short=True) == "Accueil jour"


# --------------------------------------------------------------------------------------------
# Chronograms
# --------------------------------------------------------------------------------------------


def test_chronogram_panels_titles_and_legend():
    fig = yc.chronogram(
        {
            "18–25 ans": _distribution(_sequences(120, 1)),
            "26 ans et plus": _distribution(_sequences(480, 2)),
        }
    )
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_title(loc="left") == f"18–25 ans (n{NNBSP}={NNBSP}120)"
    assert fig.axes[1].get_title(loc="left") == f"26 ans et plus (n{NNBSP}={NNBSP}480)"
    assert _legend_texts(fig) == [STATE_LABELS[s] for s in STATES]
    assert len(fig.legends) == 1  # one shared legend
    assert fig.axes[0].get_xlabel() == "Mois depuis le premier contact"
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert f"50{NNBSP}%" in ticks
    assert fig._suptitle is None  # no title unless asked


def test_chronogram_stacks_to_100_percent():
    fig = yc.chronogram({"Tous": _distribution(_sequences(50, 3))})
    heights: dict[float, float] = {}
    for patch in fig.axes[0].patches:
        x = round(patch.get_x() + patch.get_width() / 2, 6)
        heights[x] = heights.get(x, 0.0) + patch.get_height()
    assert len(heights) == T
    assert all(h == pytest.approx(100.0) for h in heights.values())


def test_chronogram_empty_group_and_absent_state():
    fig = yc.chronogram(
        {
            "18–25 ans": _distribution(_sequences(80, 4), drop=("LOG",)),
            "Personne": _empty_distribution(),
        },
        title="Répartition mensuelle",
    )
    assert len(fig.axes) == 2
    assert "Aucune donnée" in [t.get_text() for t in fig.axes[1].texts]
    assert fig.axes[1].get_title(loc="left") == f"Personne (n{NNBSP}={NNBSP}0)"
    assert STATE_LABELS["LOG"] not in _legend_texts(fig)
    assert STATE_LABELS["AUCUN"] in _legend_texts(fig)
    assert fig._suptitle.get_text() == "Répartition mensuelle"


def test_chronogram_all_nan_distribution_is_an_empty_panel():
    # sequences.state_distribution gives NaN shares for a group of nobody.
    nan = pd.DataFrame(np.nan, index=range(T), columns=list(STATES))
    fig = yc.chronogram({"Vide": nan, "Autres": _distribution(_sequences(30, 5))})
    assert "Aucune donnée" in [t.get_text() for t in fig.axes[0].texts]
    assert fig.axes[0].get_title(loc="left") == "Vide"  # no attrs["n"]: no count in the title


def test_typology_chronograms_grid_and_titles():
    types = {
        "Ancrage à la rue": _distribution(_sequences(30, 6)),
        "Accès au logement": _distribution(_sequences(10, 7)),
        "Décrochage rapide": _distribution(_sequences(40, 8)),
        "Aucun suivi": _empty_distribution(),
    }
    fig = yc.typology_chronograms(types)
    assert len(fig.axes) == 4  # 2 × 3 grid, the two unused cells removed
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[0].replace("\n", " ") == (
        f"Type 1{NNBSP}: Ancrage à la rue (n{NNBSP}={NNBSP}30, 38{NNBSP}%)"
    )
    assert titles[1].startswith(f"Type 2{NNBSP}: Accès au")
    assert titles[3].endswith(f"(n{NNBSP}={NNBSP}0, 0{NNBSP}%)")
    assert {ax.get_subplotspec().colspan.start for ax in fig.axes} == {0, 1, 2}
    assert _legend_texts(fig) == [STATE_LABELS[s] for s in STATES]
    # regression: the figure's title was the last panel's (the loop reused its name)
    titled = yc.typology_chronograms(types, title="Les types de trajectoires")
    assert titled._suptitle is not None
    assert titled._suptitle.get_text() == "Les types de trajectoires"


# --------------------------------------------------------------------------------------------
# Index plot
# --------------------------------------------------------------------------------------------


def test_index_plot_samples_and_notes():
    fig = yc.index_plot(
        {"18–25 ans": _sequences(1000, 9), "26 ans et plus": _sequences(150, 10)}, max_rows=400
    )
    assert len(fig.axes) == 2
    first, second = fig.axes
    assert first.images[0].get_array().shape == (400, T)
    assert second.images[0].get_array().shape == (150, T)
    assert f"400 sur 1{NNBSP}000 séquences" in [t.get_text() for t in first.texts]
    assert not second.texts  # not sampled, no note
    assert first.get_title(loc="left") == f"18–25 ans (n{NNBSP}={NNBSP}1{NNBSP}000)"
    assert set(_legend_texts(fig)) <= set(STATE_LABELS.values())


def test_index_plot_sorts_by_first_state_then_lexicographically():
    codes = _sequences(300, 11)
    fig = yc.index_plot({"Tous": codes}, max_rows=1000)
    shown = np.asarray(fig.axes[0].images[0].get_array()) - 1
    rows = [tuple(r) for r in shown]
    assert rows == sorted(rows)
    assert sorted(rows) == sorted(tuple(r) for r in codes)  # nothing lost or duplicated


def test_index_plot_sampling_is_deterministic_and_even():
    matrix = np.arange(10).reshape(10, 1)
    sample = yc._sorted_sample(matrix, 4)
    assert sample[:, 0].tolist() == [0, 3, 6, 9]


def test_index_plot_string_codes_missing_months_empty_group():
    codes = np.array([["AN", "AN", "RUE", None], ["LOG", "LOG", "LOG", "LOG"]], dtype=object)
    fig = yc.index_plot({"Jeunes": codes, "Personne": np.empty((0, 4), dtype=object)})
    assert len(fig.axes) == 2
    assert "Aucune séquence" in [t.get_text() for t in fig.axes[1].texts]
    labels = _legend_texts(fig)
    assert labels == [
        STATE_LABELS["LOG"],
        STATE_LABELS["AN"],
        STATE_LABELS["RUE"],
        "Hors période d'observation",
    ]
    # Absent states (MA, JOUR, AUCUN) are not listed.
    assert STATE_LABELS["MA"] not in labels


def test_index_plot_rejects_out_of_range_integer_codes():
    with pytest.raises(ValueError):
        yc.index_plot({"x": np.array([[0, 7]])})


# --------------------------------------------------------------------------------------------
# Survival
# --------------------------------------------------------------------------------------------


def test_survival_curves_colours_legend_and_annotation():
    fig = yc.survival_curves(
        {"18–25 ans": _km(120.0), "26 ans et plus": _km(250.0), "Aucun": _km(1.0).iloc[0:0]},
        annotation=f"Log-rank{NNBSP}: χ² = 12,3 ; p < 0,001",
        max_days=365,
    )
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert _legend_texts(fig) == [
        "18–25 ans",
        "26 ans et plus",
        "Aucun (aucune donnée)",
        f"Intervalle de confiance à 95{NNBSP}%",
    ]
    assert to_hex(ax.lines[0].get_color()) == to_hex(PALETTE[0])  # first group, primary colour
    assert ax.get_xlim() == (0.0, 365.0)
    assert ax.lines[0].get_xdata()[0] == 0.0  # S(0) = 1 added
    assert ax.lines[0].get_ydata()[0] == 100.0
    assert ax.lines[0].get_xdata()[-1] == 365.0  # last step carried to the edge
    assert any("Log-rank" in t for t in _all_texts(fig))
    assert ax.get_ylabel() == "Part encore en contact"


def test_survival_curves_rejects_missing_columns():
    with pytest.raises(ValueError, match="lacks columns"):
        yc.survival_curves({"x": pd.DataFrame({"time": [1], "survival": [0.5]})})


# --------------------------------------------------------------------------------------------
# Transitions
# --------------------------------------------------------------------------------------------


def test_transition_heatmaps_common_scale_and_french_cells():
    fig = yc.transition_heatmaps(
        {
            "18–25 ans": _transitions(12, drop="LOG"),
            "26 ans et plus": _transitions(13),
            "Personne": pd.DataFrame(0.0, index=list(STATES), columns=list(STATES)),
        }
    )
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colorbars) == 1
    assert len(fig.axes) == 4
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert {im.get_clim() for ax in panels for im in ax.images} == {(0, 1)}
    # All six states on both panels even though LOG is absent from the youth matrix.
    assert [t.get_text() for t in panels[1].get_xticklabels()] == [
        yc.state_label(s, short=True) for s in STATES
    ]
    texts = [t.get_text() for t in panels[1].texts]
    assert len(texts) == 36
    assert all(t == "" or t.endswith(f"{NNBSP}%") for t in texts)
    assert texts[2] == ""  # LOG → AN is 0: blank
    # The youth panel has no LOG row (all masked) and no LOG column value but 0.
    youth = panels[0]
    assert len(youth.texts) == 30
    assert not panels[2].texts  # all-zero matrix: nobody, nothing written


def test_transitions_of_few_passages_print_no_probability():
    """A cell of 1 to k − 1 passages prints « < k » (grey), never its probability: with the
    row's size a reader would get a count below the threshold; zero and k or more print."""
    probs = _transitions(12)
    counts = pd.DataFrame(100, index=list(STATES), columns=list(STATES))
    counts.iloc[0, 1], counts.iloc[1, 0], counts.iloc[2, 3] = 3, 5, 0
    cells = yc.transition_cells({"g": probs}, {"g": counts}, k=5)
    masked = cells[cells["masque"]]
    assert list(zip(masked["etat"], masked["etat_suivant"], strict=True)) == [
        (STATES[0], STATES[1])
    ]
    assert masked["texte"].tolist() == ["< 5"] and masked["probabilite"].isna().all()
    fig = yc.transition_heatmaps({"g": probs}, masked={"g": {(STATES[0], STATES[1])}}, k=5)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"<{NNBSP}5" in texts
    legend = " ".join(t.get_text() for lg in fig.legends for t in lg.get_texts())
    assert "moins de 5 passages" in legend


def test_transition_cell_text():
    assert yc._cell_text(0.0) == ""
    assert yc._cell_text(0.004) == f"<{NNBSP}1{NNBSP}%"
    assert yc._cell_text(0.123) == f"12{NNBSP}%"


# --------------------------------------------------------------------------------------------
# Comparison, silhouettes, flows
# --------------------------------------------------------------------------------------------


def test_comparison_forest_markers_and_legend():
    fig = yc.comparison_forest(_forest_table())
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert _legend_texts(fig) == [
        f"Écart estimé (IC à 95{NNBSP}%)",
        "Référence FRB",
        "Estimation instable",
    ]
    assert ax.get_xlabel() == "Écart jeunes \u2212 adultes (points de %)"
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "Au moins une nuit en abri de nuit"
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # first row on top
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert dots[0].get_xdata()[0] == pytest.approx(9.5)
    assert dots[2].get_markerfacecolor() == "white"  # unstable: hollow


def test_comparison_forest_without_optional_columns_and_masked_row():
    table = _forest_table()[["label", "diff", "lower", "upper"]]
    table.loc[1, ["diff", "lower", "upper"]] = np.nan
    fig = yc.comparison_forest(table)
    assert _legend_texts(fig) == [f"Écart estimé (IC à 95{NNBSP}%)"]
    assert "masqué" in [t.get_text() for t in fig.axes[0].texts]
    empty = yc.comparison_forest(table.iloc[0:0])
    assert "Aucune donnée" in [t.get_text() for t in empty.axes[0].texts]


def test_silhouette_profile_highlights_chosen_k():
    fig = yc.silhouette_profile({2: 0.31, 3: 0.28, 4: 0.34, 5: 0.29}, chosen=4)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert [line.get_ydata()[0] for line in ax.lines if not len(line.get_xdata()) > 1][-1] == 0.34
    hlines = {line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "--"}
    assert hlines == {0.25, 0.5, 0.7}
    texts = [t.get_text() for t in ax.texts]
    assert "Faible\n0,25–0,50" in texts
    assert any(t.startswith("k retenu = 4") for t in texts)
    assert ax.get_xlabel() == "Nombre de types (k)"
    with pytest.raises(ValueError):
        yc.silhouette_profile({2: 0.3}, chosen=5)


def test_flows_bars_masked_counts_and_share_axis():
    fig = yc.flows_bars(_flows())
    assert len(fig.axes) == 2  # counts and the youth-share twin axis
    ax, right = fig.axes
    assert len(ax.patches) == 8  # 3 years × 3 flows, one masked
    assert any("< 5" in t.replace(NNBSP, " ") for t in [t.get_text() for t in ax.texts])
    labels = _legend_texts(fig)
    assert labels[:3] == [
        "Déjà présents l'année précédente",
        "De retour après une interruption",
        "Nouveaux",
    ]
    assert "Part des jeunes (axe de droite)" in labels
    assert any(label.startswith(f"<{NNBSP}5{NNBSP}: effectif masqué") for label in labels)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2021", "2022", "2023"]
    assert right.get_ylim()[1] > 19  # shares drawn in percent


def test_flows_bars_without_share_or_rows():
    table = _flows(masked=False).drop(columns="youth_share")
    fig = yc.flows_bars(table)
    assert len(fig.axes) == 1
    assert not any("masqué" in label for label in _legend_texts(fig))
    empty = yc.flows_bars(table.iloc[0:0])
    assert len(empty.axes) == 1


# --------------------------------------------------------------------------------------------
# Reproducible PNGs
# --------------------------------------------------------------------------------------------


_FACTORIES: dict[str, Callable[[], Figure]] = {
    "chronogram": lambda: yc.chronogram(
        {"18–25 ans": _distribution(_sequences(60, 20)), "Personne": _empty_distribution()},
        title="Titre",
    ),
    "typology": lambda: yc.typology_chronograms(
        {f"Type {i}": _distribution(_sequences(20 + i, 30 + i)) for i in range(4)}
    ),
    "index_plot": lambda: yc.index_plot({"a": _sequences(500, 21), "b": _sequences(0, 22)}),
    "survival": lambda: yc.survival_curves(
        {"a": _km(100.0), "b": _km(200.0)}, annotation="Log-rank : χ² = 1,2 ; p = 0,27"
    ),
    "transitions": lambda: yc.transition_heatmaps({"a": _transitions(1), "b": _transitions(2)}),
    "forest": lambda: yc.comparison_forest(_forest_table()),
    "silhouette": lambda: yc.silhouette_profile({2: 0.2, 3: 0.3, 4: 0.25}, chosen=3),
    "flows": lambda: yc.flows_bars(_flows()),
}


@pytest.mark.parametrize("name", sorted(_FACTORIES))
def test_charts_save_byte_identical_pngs(tmp_path: Path, name: str):
    factory = _FACTORIES[name]
    first = save_figure(factory(), tmp_path / f"{name}_1.png")
    second = save_figure(factory(), tmp_path / f"{name}_2.png")
    data = first.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data == second.read_bytes()
