"""The trends stage's contract: what is written is what is read back (hand-made records, then a
small synthetic network fitted end to end), the keys are those the report reads, and a file of
another shape fails loudly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.core.errors import ContractError
from observatoire.indicators.contract import (
    compute_indicators,
    read_network_monthly,
    write_indicators,
)
from observatoire.intake.mapping import PartnerMapping
from observatoire.models.contract import (
    AlternativeRecord,
    BacktestBandRecord,
    BacktestWinterRecord,
    CurrentWinterRecord,
    DispositifModels,
    ForecastModelRecord,
    ForecastMonthRecord,
    ForecastRecord,
    MonthlyRecord,
    RateRatioRecord,
    SelectionRecord,
    SeriesFitRecord,
    SeriesRecord,
    TrendRecord,
    TrendsSummary,
    YearOnYearRecord,
    fit_trends,
    read_trends,
    summarise,
    write_trends,
)
from observatoire.models.trends import SIMULATED_SEASONALITY
from tests.support.frames import contacts_frame
from tests.support.settings import project_settings

NBSP = "\u00a0"


def _fit(rr: float | None = 1.05) -> SeriesFitRecord:
    return SeriesFitRecord(
        family="Poisson",
        annual_rate_ratio=rr,
        ci_low=1.0,
        ci_high=1.1,
        p_value=0.01,
        dispersion=0.9,
        ct_alpha=0.0,
        ct_p=0.5,
        alpha=None,
        residual_dispersion=0.9,
        ljung_box_p=0.3,
        serial_lag1=0.2,
        exposure=None,
        interpretation="Hausse.",
        notes=["une note"],
    )


def _summary() -> TrendsSummary:
    trend = TrendRecord("Poisson", 1.05, 1.01, 1.09, 0.02, 1.1, "Hausse annuelle.")
    skipped = SeriesRecord("housing_first", "contacts", 12, 3, f"série trop courte{NBSP}: 12", None)
    model = ForecastModelRecord(
        "hiver", "modèle à tendance propre à l'hiver", "Poisson", None, 1.1, 1.0, 60, 1.07,
        [1.05, 1.09], 1.03, [1.01, 1.05], 0.001, 0.5, 11.0, 0.1, "Tendance.", [],
    )  # fmt: skip
    other = ForecastModelRecord(
        "commune", "modèle à tendance commune", "Poisson", None, 1.1, 1.0, 60, 1.05,
        [1.04, 1.06], 1.05, [1.04, 1.06], None, 0.007, 40.0, 0.4, "Tendance.", ["note"],
    )  # fmt: skip
    band = BacktestBandRecord(
        "hiver", "modèle", "rapport", 50, 20, 3.5, 0.9, 1.0, 6, 1.2, 1.0, 1.0
    )  # fmt: skip
    naive_band = BacktestBandRecord(
        "saisonnier", "naïf", "rapport", 50, 20, 5.4, None, None, 6, 6.7, None, None
    )  # fmt: skip
    past = BacktestWinterRecord(
        "hiver", 2022, "2021-12", 11, 10805.0, 10953.0, 10500.0, 11400.0, 10200.0, 11600.0
    )
    naive_past = BacktestWinterRecord(
        "saisonnier", 2022, "2021-12", 11, 10805.0, 10081.0, None, None, None, None
    )
    return TrendsSummary(
        year=2024,
        network=trend,
        by_dispositif={"accueil_jour": trend},
        year_on_year=YearOnYearRecord(1.08, 1.03, 1.14, "Hausse de 8 %."),
        monthly=MonthlyRecord("Poisson", 1.07, 1.06, 1.08, 0.47, 0.4),
        monthly_by_dispositif={
            "accueil_jour": DispositifModels(
                SeriesRecord("accueil_jour", "persons", 60, 0, None, _fit()),
                SeriesRecord("accueil_jour", "contacts", 60, 0, None, _fit(None)),
            ),
            "housing_first": DispositifModels(skipped, skipped),
        },
        yoy_by_dispositif={
            "maison_accueil": RateRatioRecord(
                None,
                None,
                None,
                "Pas de comparaison.",
                3,
                0,
                0,
                0.25,
                None,
                [None, None],
                "apparié",
                True,
            )
        },
        occupancy=None,
        stl_skipped={"housing_first": "trop court"},
        forecast=ForecastRecord(
            winter="2025-2026",
            start_year=2025,
            origin="2024-12",
            horizon_months=11,
            value="demand",
            method="hiver",
            point=1000.0,
            pi80=[900.0, 1100.0],
            pi95=[850.0, 1150.0],
            capacity=None,
            p_exceed=None,
            expected_shortfall=None,
            shortfall_pi80=[None, None],
            months=[ForecastMonthRecord("2025-11", 200.0, 180.0, 220.0, 170.0, 230.0, None, None)],
            model=model,
            other_model=other,
            draws=100,
            seed=1,
            interpretation="Hiver 2025-2026.",
            notes=[],
            selection=SelectionRecord(
                "hiver",
                "rapport",
                {"hiver": 3.5, "commune": 6.6, "saisonnier": None},
                "saisonnier",
                True,
                "Règle.",
            ),  # fmt: skip
            backtest=[band, naive_band],
            backtest_winters=[past, naive_past],
            n_origins=36,
            alternatives=[
                AlternativeRecord("hiver", "modèle", 1000.0, [900.0, 1100.0], [850.0, 1150.0]),
                AlternativeRecord("saisonnier", "naïf", 980.0, [None, None], [None, None]),
            ],
            current_winter=CurrentWinterRecord(
                "2024-2025", ["2024-11", "2024-12"], 400.0, 380.0, 5.26
            ),
        ),
    )


def test_hand_made_summary_round_trips_through_the_file(tmp_path: Path):
    summary = _summary()
    file = tmp_path / "tendances.json"
    file.write_text(json.dumps(summary.to_json(), allow_nan=False), encoding="utf-8")
    assert read_trends(file) == summary
    data = json.loads(file.read_text(encoding="utf-8"))
    skipped = data["monthly_by_dispositif"]["housing_first"]
    assert "family" not in skipped and set(skipped["contacts"]) == {
        "dispositif", "series", "n_months", "zero_months", "skipped",
    }  # fmt: skip
    fitted = data["monthly_by_dispositif"]["accueil_jour"]
    assert fitted["annual_rate_ratio"] == 1.05 and fitted["contacts"]["annual_rate_ratio"] is None


@pytest.mark.parametrize(
    "path",
    [
        ("forecast",),
        ("network", "ci_low"),
        ("forecast", "backtest", 0, "mape"),
        ("forecast", "current_winter", "change"),
        ("monthly_by_dispositif", "accueil_jour", "contacts"),
        ("monthly_by_dispositif", "accueil_jour", "ljung_box_p"),
    ],
)
def test_a_missing_key_fails(tmp_path: Path, path: tuple[str, ...]):
    data = _summary().to_json()
    data = json.loads(json.dumps(data))  # a deep copy
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    file = tmp_path / "tendances.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ContractError, match=path[-1]):
        read_trends(file)


# --- a small synthetic network, fitted end to end -----------------------------------------------

MONTHS = pd.date_range("2020-01-01", "2024-12-01", freq="MS")
PARTNERS = {
    "abri": PartnerMapping(
        "abri", "Abri", "hebergement_urgence", "séjour", (), {"beds": 30, "winter_extra_beds": 10}
    ),
    "accueil": PartnerMapping("accueil", "Accueil", "accueil_jour", "passage", ()),
}
REPORT = project_settings(
    report__year=2024, report__forecast={"draws": 1000, "seed": 7, "min_history_months": 24}
).report


def _network() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shelter stays and day-centre passages growing 5 % a year with the simulated season; a
    housing-first series too short to model; refusals each month."""
    rng = np.random.default_rng(20240607)
    season = np.asarray(SIMULATED_SEASONALITY)
    rows, refusals = [], []
    for i, month in enumerate(MONTHS):
        mu = 1.05 ** (i / 12) * season[month.month - 1]
        for j in range(int(rng.poisson(12 * mu))):
            start = month + pd.Timedelta(days=j % 27)
            rows.append(
                {"person_id": f"s{j}", "partner_id": "abri", "date_start": start,
                 "date_end": start + pd.Timedelta(days=1), "nights": 1}
            )  # fmt: skip
        for j in range(int(rng.poisson(15 * mu))):
            rows.append(
                {"person_id": f"d{j}", "partner_id": "accueil", "dispositif": "accueil_jour",
                 "date_start": month + pd.Timedelta(days=j % 28)}
            )  # fmt: skip
        refusals.append({"date": month, "refusals": int(rng.poisson(3 * mu))})
    for month in MONTHS[-6:]:  # a dispositif of six months only: not modelled, no STL
        rows.append(
            {"person_id": "h1", "partner_id": "hf", "dispositif": "housing_first",
             "date_start": month}
        )  # fmt: skip
    refusals_frame = pd.DataFrame(refusals).assign(
        partner_id="abri", dispositif="hebergement_urgence"
    )
    return contacts_frame(rows), refusals_frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    contacts, refusals = _network()
    ind_dir = tmp_path_factory.mktemp("indicators")
    write_indicators(compute_indicators(contacts, refusals, PARTNERS, REPORT, 2024), ind_dir)
    monthly = read_network_monthly(ind_dir)
    return fit_trends(contacts, refusals, PARTNERS, monthly, REPORT, 2024)


def test_fitted_trends_round_trip_and_write_every_table(fitted, tmp_path: Path):
    written = write_trends(fitted, tmp_path)
    summary = summarise(fitted)
    assert read_trends(tmp_path / "tendances.json") == summary
    names = {p.name for p in written}
    assert names == {p.name for p in tmp_path.iterdir()}
    assert {
        "tendances.json", "tendance_reseau.csv", "stl_reseau.csv", "diagnostics_mensuels.csv",
        "mensuel_accueil_jour_ajuste.csv", "mensuel_hebergement_urgence_ajuste.csv",
        "mensuel_hebergement_urgence_occupation_ajuste.csv", "stl_accueil_jour.csv",
        "demande_abri_mensuelle.csv", "prevision_hiver.csv", "backtest_hiver.csv",
        "backtest_hiver_resume.csv", "backtest_hivers_complets.csv",
    } <= names  # fmt: skip
    assert summary.monthly_by_dispositif["housing_first"].persons.fit is None
    assert "housing_first" in summary.stl_skipped
    fc = summary.forecast
    assert fc.winter == "2025-2026" and fc.method in {"commune", "hiver"}
    assert {(b.method, b.band) for b in fc.backtest} >= {("hiver", "rapport"), ("commune", "court")}
    assert fc.selection.method == fc.method and fc.other_model.method != fc.method
    assert fc.current_winter is not None and fc.current_winter.months == ["2024-11", "2024-12"]
    assert math.isclose(summary.network.annual_rate_ratio, 1.05, abs_tol=0.1)


def test_the_named_trend_leaves_street_work_out(fitted):
    """The persons known by name are the network's persons without street work's (never
    linked to the other services), each year; their trend is fitted and its own."""
    contacts, _ = _network()
    named = contacts[contacts["dispositif"] != "travail_rue"]
    for year, n in fitted.yearly_named.items():
        present = named[pd.to_datetime(named["date_start"]).dt.year <= year]
        assert n <= fitted.yearly[year]
        assert n <= present["person_id"].nunique()
    assert fitted.network_named is not None
    assert fitted.year_on_year_named is not None
    if (contacts["dispositif"] == "travail_rue").any():
        assert (fitted.yearly_named < fitted.yearly).any()


def test_the_json_keys_are_those_the_report_reads(fitted, tmp_path: Path):
    write_trends(fitted, tmp_path)
    data = json.loads((tmp_path / "tendances.json").read_text(encoding="utf-8"))
    assert set(data) == {
        "year", "network", "by_dispositif", "year_on_year", "monthly", "monthly_by_dispositif",
        "yoy_by_dispositif", "occupancy", "stl_skipped", "forecast", "network_without_2020",
        "network_uncorrected", "by_dispositif_without_2020", "trend_skipped", "truncation",
        "network_missing_share", "multiplicity", "network_named", "year_on_year_named",
    }  # fmt: skip
    assert data["multiplicity"]["method"] == "Holm"
    assert set(data["multiplicity"]["adjusted"]) == set(data["multiplicity"]["tests"])
    assert data["network_without_2020"]["years"][0] == 2021
    assert {"annual_rate_ratio", "ci_low", "ci_high", "interpretation"} <= set(data["network"])
    assert {"rate_ratio", "ci_low", "ci_high", "interpretation"} <= set(data["year_on_year"])
    assert {"annual_rate_ratio", "ljung_box_p"} <= set(data["monthly"])
    for d in data["yoy_by_dispositif"].values():
        assert {"rate_ratio", "ci_low", "ci_high", "current", "previous"} <= set(d)
    assert {
        "point", "pi80", "pi95", "capacity", "p_exceed", "months", "backtest", "selection",
        "model", "other_model", "alternatives", "current_winter", "backtest_winters",
    } <= set(data["forecast"])  # fmt: skip
    assert "contacts" in data["monthly_by_dispositif"]["accueil_jour"]


# --- what cannot be computed: skipped with its reason, never a traceback -------------------------


def test_a_complete_network_writes_no_not_computed_key(fitted, tmp_path: Path):
    write_trends(fitted, tmp_path)
    data = json.loads((tmp_path / "tendances.json").read_text(encoding="utf-8"))
    assert "non_calcule" not in data  # the default sample's file is unchanged


def test_two_years_without_shelter_finish_with_french_reasons(tmp_path: Path):
    """A day centre alone, two years of data: no yearly trend (3 years needed), no shelter
    occupancy nor forecast; the monthly model and STL (24 months) still fit."""
    contacts, refusals = _network()
    day = contacts[
        (contacts["dispositif"] == "accueil_jour") & (contacts["date_start"] >= "2023-01-01")
    ]
    partners = {"accueil": PARTNERS["accueil"]}
    ind_dir = tmp_path / "ind"
    write_indicators(compute_indicators(day, refusals.iloc[:0], partners, REPORT, 2024), ind_dir)
    monthly = read_network_monthly(ind_dir)
    results = fit_trends(day, refusals.iloc[:0], partners, monthly, REPORT, 2024)
    assert results.network_trend is None and results.outlook is None
    assert results.occupancy is None and results.monthly_model is not None
    reasons = results.not_computed
    assert set(reasons) == {"tendance_reseau", "occupation", "prevision"}
    assert "2 année(s) (2023, 2024)" in reasons["tendance_reseau"]
    assert "au moins 3" in reasons["tendance_reseau"] and "À faire" in reasons["tendance_reseau"]
    assert "aucun partenaire du dispositif « Hébergement d'urgence »" in reasons["prevision"]
    written = {p.name for p in write_trends(results, tmp_path / "out")}
    assert "prevision_hiver.csv" not in written and "tendance_reseau.csv" not in written
    summary = read_trends(tmp_path / "out" / "tendances.json")
    assert summary == summarise(results)
    assert summary.network is None and summary.forecast is None
    assert summary.non_calcule == reasons


def test_a_forecast_history_of_exactly_the_minimum_is_refused_in_french():
    """24 months: the forecast could fit, but its back-test has no origin to score."""
    from observatoire.models.forecast import winter_outlook

    history = pd.DataFrame({"month": MONTHS[-24:], "demand": np.arange(24) + 100})
    with pytest.raises(ValueError, match="historique trop court pour valider"):
        winter_outlook(history, draws=1000, min_history=24)
