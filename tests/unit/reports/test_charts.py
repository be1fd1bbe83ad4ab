"""Tests of the house chart style: French number formatting, reproducible PNGs, chart contents."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from statsmodels.tsa.seasonal import STL

from observatoire.reports import charts
from observatoire.reports.charts import (
    DISPOSITIF_COLOURS,
    DISPOSITIF_LABELS,
    NNBSP,
    PALETTE,
    FrenchFormatter,
    french_number,
    french_percent,
)

MINUS = "\u2212"


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def pyramid_counts() -> pd.DataFrame:
    bands = ["18-21", "22-25", "26-30", "31-40", "41-50", "51-60", "61+"]
    men = [52, 88, 120, 190, 160, 95, 41]
    women = [np.nan, 30, 45, 60, 52, 21, np.nan]  # NaN = suppressed (< 5)
    rows = [(b, "M", m) for b, m in zip(bands, men, strict=True)]
    rows += [(b, "F", f) for b, f in zip(bands, women, strict=True)]
    frame = pd.DataFrame(rows, columns=["age_band", "sex", "persons"])
    frame["text"] = [("< 5" if np.isnan(v) else str(int(v))) for v in frame["persons"]]
    return frame


@pytest.fixture
def monthly_df() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    months = pd.date_range("2021-01-01", "2023-12-01", freq="MS")
    rows = []
    for code, base in [("hebergement_urgence", 600), ("accueil_jour", 1100), ("housing_first", 45)]:
        for i, m in enumerate(months):
            winter = 1.35 if m.month in (11, 12, 1, 2, 3) else 1.0
            rows.append((m, code, rng.poisson(base * winter * 1.005**i)))
    frame = pd.DataFrame(rows, columns=["month", "dispositif", "persons"])
    return frame.assign(text=frame["persons"].astype(str))  # as published_cells returns them


def _all_texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def _render(fig: Figure) -> None:
    fig.canvas.draw()  # tick labels are only formatted at draw time


# --------------------------------------------------------------------------------------------
# french_number / french_percent / FrenchFormatter
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "decimals", "expected"),
    [
        (1234567, 0, f"1{NNBSP}234{NNBSP}567"),
        (0.5, 1, "0,5"),
        (0, 0, "0"),
        (999, 0, "999"),
        (1000, 0, f"1{NNBSP}000"),
        (1234.5678, 2, f"1{NNBSP}234,57"),
        (2.5, 0, "3"),  # half away from zero, not banker's rounding
        (0.125, 2, "0,13"),
        (-1234.5, 1, f"{MINUS}1{NNBSP}234,5"),
        (-0.04, 1, "0,0"),  # no "−0,0"
        (np.int64(1_000_000), 0, f"1{NNBSP}000{NNBSP}000"),
        (np.float64(12.0), 1, "12,0"),
        (Decimal("2.5"), 0, "3"),
        (float("nan"), 0, "–"),
        (None, 0, "–"),
    ],
)
def test_french_number(x, decimals, expected):
    assert french_number(x, decimals) == expected


def test_french_number_uses_narrow_no_break_space():
    text = french_number(1234567)
    assert "\u202f" in text and " " not in text and "," not in text


@given(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=4),
)
def test_french_number_round_trips(x, decimals):
    text = french_number(x, decimals)
    parsed = Decimal(text.replace(NNBSP, "").replace(",", ".").replace(MINUS, "-"))
    expected = Decimal(repr(x)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    assert parsed == expected
    assert "." not in text and "-" not in text


def test_french_percent():
    assert french_percent(6.14) == f"6,1{NNBSP}%"
    assert french_percent(3.25, signed=True) == f"+3,3{NNBSP}%"
    assert french_percent(-3.0, signed=True) == f"{MINUS}3,0{NNBSP}%"
    assert french_percent(0.0, signed=True) == f"0,0{NNBSP}%"


def test_french_formatter_picks_decimals_from_tick_spacing():
    fmt = FrenchFormatter()
    fmt.set_locs([0, 0.5, 1.0, 1.5])
    assert [fmt(v) for v in (0, 0.5, 1.5)] == ["0,0", "0,5", "1,5"]
    fmt.set_locs([0, 1000, 2000])
    assert fmt(2000) == f"2{NNBSP}000"
    assert FrenchFormatter(decimals=2)(0.125) == "0,13"


# --------------------------------------------------------------------------------------------
# Palette and labels
# --------------------------------------------------------------------------------------------


def test_dispositif_colours_and_labels():
    codes = {
        "hebergement_urgence",
        "maison_accueil",
        "accueil_jour",
        "travail_rue",
        "urgence_sociale",
        "housing_first",
    }
    assert set(DISPOSITIF_COLOURS) == codes == set(DISPOSITIF_LABELS)
    assert len(set(DISPOSITIF_COLOURS.values())) == len(codes)  # one colour per dispositif
    assert set(DISPOSITIF_COLOURS.values()) <= set(PALETTE)  # all Okabe–Ito
    assert DISPOSITIF_LABELS["hebergement_urgence"] == "Hébergement d'urgence"
    assert DISPOSITIF_LABELS["housing_first"] == "Housing First"


def test_house_style_settings():
    charts.apply_house_style()
    rc = plt.rcParams
    assert rc["font.sans-serif"][0] == "DejaVu Sans"
    assert not rc["axes.spines.top"] and not rc["axes.spines.right"]
    cycle = [to_hex(c).upper() for c in rc["axes.prop_cycle"].by_key()["color"]]
    assert cycle == PALETTE
    assert math.isclose(rc["figure.figsize"][0] * 2.54, 16.0)


def test_house_style_is_seaborn_theme():
    """The style written out in charts.py is what seaborn's theme plus ours sets (seaborn is no
    longer imported to draw a chart): if seaborn changes its theme, update
    ``_SEABORN_PAPER_WHITEGRID``."""
    import matplotlib as mpl
    import seaborn as sns

    with mpl.rc_context():
        mpl.rcdefaults()
        sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, rc=charts._HOUSE_RC)
        mpl.rcParams.update(charts._HOUSE_RC)
        expected = dict(mpl.rcParams)
    with mpl.rc_context():
        mpl.rcdefaults()
        charts.apply_house_style()
        got = dict(mpl.rcParams)
    differ = {k for k in expected if expected[k] != got[k]}
    assert differ == {"image.cmap"}  # seaborn's « rocket », which no chart uses


# --------------------------------------------------------------------------------------------
# save_figure
# --------------------------------------------------------------------------------------------


def test_save_figure_is_byte_identical_across_runs(tmp_path: Path, monthly_df):
    first = charts.save_figure(
        charts.monthly_series(monthly_df, "persons", ylabel="Personnes"), tmp_path / "a.png"
    )
    second = charts.save_figure(
        charts.monthly_series(monthly_df, "persons", ylabel="Personnes"), tmp_path / "b.png"
    )
    data = first.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data == second.read_bytes()
    assert b"matplotlib" not in data.lower()  # no Software metadata


def test_save_figure_closes_and_leaves_no_temp_file(tmp_path: Path, pyramid_counts):
    fig = charts.age_sex_pyramid(pyramid_counts)
    target = tmp_path / "sub" / "pyramide.png"
    out = charts.save_figure(fig, target)
    assert out == target and target.stat().st_size > 1000
    assert not plt.fignum_exists(fig.number)
    assert sorted(p.name for p in target.parent.iterdir()) == ["pyramide.png"]
    # Overwrite in place works (atomic replace).
    charts.save_figure(charts.age_sex_pyramid(pyramid_counts), target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["pyramide.png"]


def test_save_figure_rejects_non_png(tmp_path: Path, pyramid_counts):
    with pytest.raises(ValueError):
        charts.save_figure(charts.age_sex_pyramid(pyramid_counts), tmp_path / "x.pdf")


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def test_pyramid_handles_suppressed_cells(pyramid_counts):
    fig = charts.age_sex_pyramid(pyramid_counts)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_height() > 0 and p.get_width() != 0]
    assert len(bars) == pyramid_counts["persons"].notna().sum()  # no bar for NaN cells
    men = [p for p in bars if to_hex(p.get_facecolor()).upper() == charts.SEX_COLOURS["M"]]
    women = [p for p in bars if to_hex(p.get_facecolor()).upper() == charts.SEX_COLOURS["F"]]
    assert len(men) == 7 and len(women) == 5
    assert all(p.get_width() < 0 for p in men) and all(p.get_width() > 0 for p in women)
    texts = _all_texts(fig)
    assert texts.count("< 5") == 2
    assert "Hommes" in texts and "Femmes" in texts
    assert ax.get_ylabel() == "Classe d'âge (ans)"
    assert ax.get_xlabel() == "Nombre de personnes"
    # Age bands in input order, youngest at the bottom.
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "18-21"
    _render(fig)
    xticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert all(MINUS not in t and "-" not in t for t in xticks)  # men's side shown positive


def test_pyramid_rejects_unknown_sex(pyramid_counts):
    bad = pyramid_counts.assign(sex=pyramid_counts["sex"].replace({"F": "X"}))
    with pytest.raises(ValueError):
        charts.age_sex_pyramid(bad)


def test_monthly_series_french_labels_and_winter(monthly_df):
    fig = charts.monthly_series(monthly_df, "persons", ylabel="Personnes accueillies")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Personnes accueillies"
    _render(fig)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "janv.\n2021" in ticks and "juil.\n2021" in ticks
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"Hébergement d'urgence", "Accueil de jour", "Housing First"} <= set(legend)
    assert any(t.startswith("Plan Grand Froid") for t in legend)
    colours = {line.get_label(): line.get_color() for line in ax.get_lines()}
    assert colours["Housing First"] == DISPOSITIF_COLOURS["housing_first"]
    assert any(f"1{NNBSP}" in t.get_text() for t in ax.get_yticklabels())  # "1 000"


def test_monthly_series_without_hue(monthly_df):
    sub = monthly_df[monthly_df["dispositif"] == "accueil_jour"]
    fig = charts.monthly_series(sub, "persons", hue=None, ylabel="Nuitées")
    assert fig.axes[0].get_ylabel() == "Nuitées"
    assert len(fig.axes[0].get_lines()) == 1


def test_yearly_trend_chart():
    observed = pd.DataFrame({"year": range(2020, 2025), "value": [2000, 2150, 2260, 2430, 2600]})
    fit = np.array([2010.0, 2140, 2280, 2430, 2590])
    fitted = pd.DataFrame(
        {"year": range(2020, 2025), "fit": fit, "lower": fit * 0.95, "upper": fit * 1.05}
    )
    fig = charts.yearly_trend(observed, fitted, ylabel="Personnes distinctes")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Année" and ax.get_ylabel() == "Personnes distinctes"
    _render(fig)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(y) for y in range(2020, 2025)]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"Intervalle de confiance à 95{NNBSP}%" in legend
    assert "Tendance estimée" in legend and "Valeur observée" in legend


def test_coverage_heatmap():
    coverage = pd.DataFrame(
        [[120, 130, 0, 110] + [100] * 8, [0] * 3 + [40] * 9, [1500] * 12],
        index=["Abri de nuit", "Housing First", "CPAS"],
        columns=range(1, 13),
    )
    fig = charts.coverage_heatmap(coverage)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Mois" and ax.get_ylabel() == "Partenaire"
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["janv.", "févr.", "mars"]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(coverage.index)
    assert "Aucune donnée" in [t.get_text() for t in fig.legends[0].get_texts()]
    cells = [t.get_text() for t in ax.texts]
    assert f"1{NNBSP}500" in cells and "0" not in cells  # zero cells are not annotated
    assert len(cells) == (coverage > 0).to_numpy().sum()
    assert any(a.get_ylabel() == "Lignes transmises" for a in fig.axes[1:])


def test_coverage_heatmap_accepts_french_month_names():
    coverage = pd.DataFrame([[3, 0], [0, 5]], index=["A", "B"], columns=["janvier", "février"])
    ax = charts.coverage_heatmap(coverage).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["janvier", "février"]


def test_stl_decomposition_chart():
    months = pd.date_range("2020-01-01", periods=48, freq="MS")
    t = np.arange(48)
    series = pd.Series(100 + t + 10 * np.sin(2 * np.pi * t / 12), index=months)
    fig = charts.stl_decomposition(STL(series, period=12, robust=True).fit())
    assert isinstance(fig, Figure)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == ["Série observée", "Tendance", "Saisonnalité", "Résidus"]
    _render(fig)
    assert any(t.get_text().startswith("janv.") for t in fig.axes[-1].get_xticklabels())


def test_no_title_unless_asked(pyramid_counts):
    ax = charts.age_sex_pyramid(pyramid_counts).axes[0]
    assert all(ax.get_title(loc=loc) == "" for loc in ("left", "center", "right"))
    fig = charts.age_sex_pyramid(pyramid_counts, title="Pyramide des âges")
    assert fig.axes[0].get_title(loc="left") == "Pyramide des âges"  # house style: left


def test_threshold_sensitivity_shows_relative_change_with_french_labels():
    from observatoire.reports.charts import threshold_sensitivity

    data = pd.DataFrame(
        {
            "seuil": [0.1, 0.5, 0.9] * 2,
            "portee": ["reseau"] * 3 + ["accueil_jour"] * 3,
            "personnes": [98, 100, 110, 50, 50, 55],
        }
    )
    fig = threshold_sensitivity(data, 0.5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Seuil de probabilité de correspondance"
    assert ax.get_ylabel() == "Écart au compte retenu (%)"
    ys = sorted(round(y, 6) for line in ax.get_lines() for y in line.get_ydata()[-1:])
    assert 10.0 in ys  # 110 vs 100 and 55 vs 50: +10 % each


def test_pyramid_writes_the_publication_s_mask_in_place_of_a_hidden_bar(pyramid_counts):
    """A secondary mask (« s ») and a threshold of 10 are drawn as the table prints them."""
    cells = pyramid_counts.copy()
    cells.loc[0, ["persons", "text"]] = [np.nan, "s"]
    cells["text"] = cells["text"].replace("< 5", "< 10")
    texts = [t.get_text() for t in charts.age_sex_pyramid(cells).axes[0].texts]
    assert "s" in texts and "< 10" in texts and "< 5" not in texts
    assert texts.count("52") == 1  # the women 41-50 only: the hidden men 18-21 (52) print none


def test_monthly_persons_refuse_raw_counts(monthly_df):
    """Persons per month are drawn from the published cells only (a month of 1 to k − 1 persons
    is a gap there): a frame of raw counts is refused."""
    with pytest.raises(ValueError, match="published"):
        charts.monthly_series(monthly_df.drop(columns=["text"]), "persons")


def test_pyramid_refuses_raw_counts(pyramid_counts):
    """No chart of the house draws raw counts: without the published text it fails."""
    with pytest.raises(ValueError, match="published"):
        charts.age_sex_pyramid(pyramid_counts.drop(columns=["text"]))
    hidden_with_number = pyramid_counts.assign(text="12")
    with pytest.raises(ValueError, match="mask"):
        charts.age_sex_pyramid(hidden_with_number)
