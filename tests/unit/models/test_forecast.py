"""Tests of the winter demand forecast (calibration by simulation, back-test, errors) and of
the trend and forecast charts."""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from observatoire.intake.mapping import PartnerMapping  # noqa: E402
from observatoire.models import forecast  # noqa: E402
from observatoire.models.forecast import (  # noqa: E402
    coming_winter,
    forecast_winter,
    monthly_bed_nights,
    monthly_demand,
    shelter_capacity,
    winter_label,
    winter_months,
)
from observatoire.models.trends import FAMILY_NB, SIMULATED_SEASONALITY, draw_counts  # noqa: E402
from observatoire.reports import charts  # noqa: E402

CAPACITY = {"beds": 40, "winter_extra_beds": 15}
SEASON = np.asarray(SIMULATED_SEASONALITY)


def _daily_rate(months: pd.DatetimeIndex, per_day: float, rr: float) -> np.ndarray:
    """Expected demand per day: ``per_day`` in January 2020, ``rr`` per year, seasonality."""
    t = np.asarray((months.year - 2020) * 12 + months.month - 1, dtype=float) / 12
    return per_day * rr**t * SEASON[np.asarray(months.month) - 1]


def _history(
    rng: np.random.Generator, start: str = "2020-01", end: str = "2024-12", alpha: float = 0.004
) -> pd.DataFrame:
    months = pd.date_range(start, end, freq="MS")
    mu = _daily_rate(months, 60.0, 1.05) * np.asarray(months.days_in_month)
    return pd.DataFrame({"month": months, "demand": draw_counts(rng, mu, alpha)})


# --------------------------------------------------------------------------------------------
# Capacity, demand, winters
# --------------------------------------------------------------------------------------------


def test_monthly_bed_nights_by_hand():
    months = pd.to_datetime(["2025-04-01", "2025-11-01", "2024-02-01", "2026-03-01"])
    cap = monthly_bed_nights(CAPACITY, months)
    assert cap.tolist() == [40 * 30, 55 * 30, 55 * 29, 55 * 31]
    # A plan starting mid-month adds its beds on its days only: 40 × 30 + 15 × 16.
    assert monthly_bed_nights(CAPACITY, ["2025-11-01"], ("11-15", "03-31")).iloc[0] == 1440
    assert monthly_bed_nights(CAPACITY, winter_months(2025)).sum() == 55 * 151


def test_shelter_capacity_adds_up_the_shelters_only():
    def partner(pid: str, dispositif: str, capacity: dict[str, int]) -> PartnerMapping:
        return PartnerMapping(pid, pid, dispositif, "séjour", (), capacity)

    partners = {
        "a": partner("a", "hebergement_urgence", {"beds": 40, "winter_extra_beds": 15}),
        "b": partner("b", "hebergement_urgence", {"beds": 12}),
        "c": partner("c", "accueil_jour", {"beds": 99}),
    }
    assert shelter_capacity(partners) == {"beds": 52, "winter_extra_beds": 15}


def test_monthly_demand_by_hand():
    contacts = pd.DataFrame(
        {
            "dispositif": ["hebergement_urgence", "hebergement_urgence", "accueil_jour"],
            "date_start": pd.to_datetime(["2024-01-30", "2024-03-10", "2024-01-05"]),
            "date_end": pd.to_datetime(["2024-02-02", "2024-03-11", None]),
            "nights": [3.0, 1.0, np.nan],
        }
    )
    refusals = pd.DataFrame(
        {
            "dispositif": ["hebergement_urgence", "hebergement_urgence", "autre"],
            "date": pd.to_datetime(["2024-01-15", "2024-03-01", "2024-01-02"]),
            "refusals": [3, 2, 50],
        }
    )
    out = monthly_demand(contacts, refusals, "2024-04-30")
    assert out["month"].tolist() == list(pd.date_range("2024-01-01", "2024-04-01", freq="MS"))
    assert out["nights"].tolist() == [2, 1, 1, 0]  # 30 and 31 Jan, 1 Feb; 10 Mar
    assert out["refusals"].tolist() == [3, 0, 2, 0]
    assert out["demand"].tolist() == [5, 1, 3, 0]
    assert out["days"].tolist() == [31, 29, 31, 30]


def test_winter_calendar_and_coming_winter():
    assert list(winter_months(2025)) == list(pd.date_range("2025-11-01", "2026-03-01", freq="MS"))
    assert winter_label(2025) == "2025-2026"
    # Data to 31/12/2024 are read in 2025: the winter ahead is Nov 2025 – Mar 2026.
    assert coming_winter("2024-12-01") == 2025


# --------------------------------------------------------------------------------------------
# Forecast
# --------------------------------------------------------------------------------------------


def test_prediction_intervals_cover_the_true_winter_total():
    """200 simulated shelters (60 months of NB2 demand, +5 %/year, seasonality): the winter
    Nov 2025 – Mar 2026 is drawn from the same law and forecast from the history alone.
    Monte Carlo standard error of a 95 % coverage over 200 series ≈ 1.5 point."""
    rng = np.random.default_rng(20250101)
    months = winter_months(2025)
    expected = _daily_rate(months, 60.0, 1.05) * np.asarray(months.days_in_month)
    reps = 200
    covered95 = covered80 = 0
    rel_errors = []
    for rep in range(reps):
        history = _history(rng)
        truth = draw_counts(rng, expected, 0.004).sum()
        fc = forecast_winter(history, draws=2000, seed=rep, method="commune")
        covered95 += fc.pi95[0] <= truth <= fc.pi95[1]
        covered80 += fc.pi80[0] <= truth <= fc.pi80[1]
        rel_errors.append(fc.total / expected.sum() - 1)
    print(
        f"couverture IP 95 % : {covered95 / reps:.3f}, IP 80 % : {covered80 / reps:.3f}, "
        f"biais relatif moyen : {100 * np.mean(rel_errors):+.2f} %"
    )
    assert 0.90 <= covered95 / reps <= 0.99
    assert 0.72 <= covered80 / reps <= 0.88
    assert abs(np.mean(rel_errors)) < 0.015  # unbiased point forecast (se of the mean ≈ 0.4 %)


def test_forecast_of_the_coming_winter_against_capacity():
    history = _history(np.random.default_rng(1))
    fc = forecast_winter(history, capacity=CAPACITY, draws=5000, seed=3)
    assert fc.winter == "2025-2026" and fc.start_year == 2025
    assert fc.origin == pd.Timestamp("2024-12-01") and fc.horizon_months == 11
    assert fc.months["month"].tolist() == list(winter_months(2025))
    assert fc.capacity == 55 * 151
    assert fc.months["capacity"].sum() == fc.capacity
    assert fc.total == pytest.approx(fc.months["forecast"].sum())
    assert fc.pi95[0] < fc.pi80[0] < fc.total < fc.pi80[1] < fc.pi95[1]
    assert (fc.months["lo95"] <= fc.months["lo80"]).all()
    assert (fc.months["hi80"] <= fc.months["hi95"]).all()
    assert fc.model.family == FAMILY_NB and fc.method == "hiver"
    # Demand (~1 900 a month in winter) far above 55 beds: certain to exceed.
    assert fc.p_exceed == 1.0 and (fc.months["p_exceed"] == 1.0).all()
    # Every simulated month is above capacity, so the shortfall is demand − capacity.
    assert fc.expected_shortfall == pytest.approx(fc.total - fc.capacity, rel=0.02)
    assert fc.shortfall_pi80[0] < fc.expected_shortfall < fc.shortfall_pi80[1]
    assert "Hiver 2025-2026" in fc.interpretation and "capacité de 8\u202f305" in fc.interpretation

    large = forecast_winter(history, capacity={"beds": 1000}, draws=2000, seed=3)
    assert large.p_exceed == 0.0 and large.expected_shortfall == 0.0


def test_forecast_is_reproducible_and_json_ready():
    history = _history(np.random.default_rng(2))
    a = forecast_winter(history, capacity=CAPACITY, draws=2000, seed=9).to_dict()
    b = forecast_winter(history, capacity=CAPACITY, draws=2000, seed=9).to_dict()
    assert a == b
    text = json.dumps(a, allow_nan=False)
    assert json.loads(text)["months"][0]["month"] == "2025-11"
    assert {"point", "pi80", "pi95", "capacity", "p_exceed", "months"} <= set(a)
    no_cap = forecast_winter(history, draws=2000, seed=9).to_dict()
    assert no_cap["capacity"] is None and no_cap["p_exceed"] is None
    json.dumps(no_cap, allow_nan=False)


def test_too_short_a_history_is_a_clear_french_error():
    history = _history(np.random.default_rng(3), "2023-07", "2024-12")  # 18 months
    with pytest.raises(ValueError) as err:
        forecast_winter(history)
    message = str(err.value)
    assert message.startswith("Historique trop court pour prévoir l'hiver 2025-2026")
    assert "18 mois de nuitées demandées jusqu'à 12/2024" in message
    assert "au moins 24" in message


def test_other_bad_inputs_are_french_errors():
    history = _history(np.random.default_rng(4))
    with pytest.raises(ValueError, match="colonne\\(s\\) manquante\\(s\\) « demand »"):
        forecast_winter(history.rename(columns={"demand": "nuitees"}))
    with pytest.raises(ValueError, match="avant la fin de l'historique"):
        forecast_winter(history, start_year=2024)
    with pytest.raises(ValueError, match="une seule ligne par mois"):
        forecast_winter(pd.concat([history, history.tail(1)]))
    with pytest.raises(ValueError, match="Modèle « annuel » inconnu"):
        forecast_winter(history, method="annuel")


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def _legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_winter_forecast_chart(tmp_path):
    history = _history(np.random.default_rng(8))
    fc = forecast_winter(history, capacity=CAPACITY, draws=1000, seed=1)
    history.loc[3, "demand"] = np.nan  # a missing month must not break the chart
    months = pd.concat([history["month"], fc.months["month"]])
    fig = charts.winter_forecast(history, fc.months, monthly_bed_nights(CAPACITY, months))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Nuitées demandées par mois"
    texts = _legend_texts(fig)
    assert "Prévision" in texts
    assert "Intervalle de prévision à 80\u202f%" in texts
    assert "Intervalle de prévision à 95\u202f%" in texts
    assert "Capacité (nuitées-lits, lits d'hiver compris)" in texts
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert any("\u202f" in t for t in ticks)  # French thousands separator
    path = charts.save_figure(fig, tmp_path / "prevision.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="forecast needs columns"):
        charts.winter_forecast(history, fc.months.drop(columns="lo80"))


def test_dispositif_fits_chart_with_nan_and_empty_panels():
    months = pd.date_range("2020-01-01", periods=36, freq="MS")
    fit = np.linspace(100, 130, 36)
    good = pd.DataFrame(
        {"month": months, "observed": fit + 3, "fit": fit, "lower": fit - 5, "upper": fit + 5}
    )
    good.loc[5, "observed"] = np.nan
    empty = good.assign(observed=np.nan, fit=np.nan, lower=np.nan, upper=np.nan)
    fig = charts.dispositif_fits({"travail_rue": good, "accueil_jour": good, "autre": empty})
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
    assert titles == ["Accueil de jour", "Travail de rue", "autre"]  # report order first
    assert fig.get_supylabel() == "Personnes distinctes par mois"
    assert "Données insuffisantes" in [t.get_text() for t in fig.axes[2].texts]
    assert "Ajusté (tendance + saison)" in _legend_texts(fig)
    assert sum(not ax.get_visible() for ax in fig.axes) == 1  # 3 panels on a 2 × 2 grid
    with pytest.raises(ValueError):
        charts.dispositif_fits({})


def test_rate_ratio_forest_chart():
    rows = [
        {"dispositif": "accueil_jour", "rate_ratio": 1.05, "ci_low": 0.98, "ci_high": 1.12},
        {"dispositif": "housing_first", "rate_ratio": math.inf, "ci_low": 2.1, "ci_high": math.inf},
        {"dispositif": "maison_accueil", "rate_ratio": 0.8, "ci_low": 0.6, "ci_high": math.inf},
        {
            "dispositif": "urgence_sociale",
            "rate_ratio": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
        },
    ]
    fig = charts.rate_ratio_forest(rows)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel().startswith("Rapport de taux")
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in ax.get_lines())  # line at 1
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Accueil de jour", "Housing First", "Maison d'accueil", "Urgence sociale"]
    assert "1,00" in [t.get_text() for t in ax.get_xticklabels()]
    notes = [t.get_text() for t in ax.texts]
    assert sum("non estimable" in t for t in notes) == 2  # infinite and NaN ratios
    assert "1,05 [0,98\u202f; 1,12]" in notes
    with pytest.raises(ValueError):
        charts.rate_ratio_forest([{"rate_ratio": 1.0}])


def test_module_exports():
    assert {"forecast_winter", "winter_outlook", "monthly_demand"} <= set(forecast.__all__)
    assert {"winter_forecast", "dispositif_fits", "rate_ratio_forest"} <= set(charts.__all__)
