"""Coverage of the monthly model's CIs by simulation, and the monthly models per dispositif."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from observatoire.models import trends
from observatoire.models.trends import (
    FAMILY_NB,
    FAMILY_POISSON,
    coverage_simulation,
    diagnostics_table,
    fit_dispositif_models,
    fit_monthly_model,
    fit_series,
    monthly_dispositif_counts,
    yoy_by_dispositif,
)

MONTHS = pd.date_range("2020-01-01", periods=60, freq="MS")

# --------------------------------------------------------------------------------------------
# Coverage of the 95 % CI of the annual rate ratio
# --------------------------------------------------------------------------------------------


# 300 seeded series per case keep `make test` short; the 1 000-series runs, with the 93–97 %
# target, are `python bench/trends_coverage.py` (bench/results/trends_coverage.json: 95.8 % and
# 96.7 %). At 300 the Monte Carlo standard error is ≈ 1.2 point, hence the 92–98 % window here.
COVERAGE_REPLICATIONS = 300


def test_coverage_poisson_series():
    """60 months, level 100, RR 1.06, planted seasonality, Poisson counts: 300 series.

    The whole estimation runs, overdispersion decision included (≈ 3 % of Poisson series are
    refitted as NB at the 5 % level).
    """
    reps = COVERAGE_REPLICATIONS
    res = coverage_simulation(replications=reps, alpha=0.0, seed=20240601)
    print(f"couverture Poisson : {res.coverage:.3f} ({res.covered}/{res.replications})")
    assert res.replications == reps and res.case == FAMILY_POISSON
    assert 0.92 <= res.coverage <= 0.98
    assert res.families[FAMILY_POISSON] >= 0.9 * reps  # the NB switch is a rare false alarm
    assert sum(res.families.values()) == reps


def test_coverage_negative_binomial_series():
    """Same design with NB2 counts, α = 0.05 (variance ≈ 6 × the mean at level 100).

    Maximum-likelihood α̂ is biased down with 13 coefficients on 60 months (mean ≈ 0.037,
    coverage ≈ 92 %); Breslow's moment α̂ must be close to unbiased and keep ~95 %. The mean of
    300 α̂ (standard error ≈ 0.001) still tells the two apart.
    """
    reps = COVERAGE_REPLICATIONS
    res = coverage_simulation(replications=reps, alpha=0.05, seed=20240601)
    print(
        f"couverture binomiale négative : {res.coverage:.3f} ({res.covered}/{res.replications})"
        f", alpha moyen estimé {res.mean_alpha_hat:.4f}"
    )
    assert res.case == FAMILY_NB
    assert res.families == {FAMILY_NB: reps}  # strongly overdispersed: always detected
    assert 0.92 <= res.coverage <= 0.98
    assert 0.045 <= res.mean_alpha_hat <= 0.055
    assert res.mc_se == pytest.approx(math.sqrt(res.coverage * (1 - res.coverage) / reps))
    record = res.to_dict()
    assert record["coverage"] == res.coverage and record["families"] == {FAMILY_NB: reps}


def test_coverage_simulation_is_seeded():
    a = coverage_simulation(replications=40, alpha=0.05, seed=7)
    b = coverage_simulation(replications=40, alpha=0.05, seed=7)
    assert a == b
    with pytest.raises(ValueError):
        coverage_simulation(replications=0)


def test_simulated_truth_has_the_stated_trend_and_level():
    truth = trends.simulated_monthly_mean(60, level=100.0, rate_ratio=1.06)
    mu = truth["mu"].to_numpy()
    assert mu[12] / mu[0] == pytest.approx(1.06)  # same calendar month one year later
    assert np.exp(np.mean(np.log(mu))) == pytest.approx(
        100
        * np.exp(np.mean(np.log(np.asarray(trends.SIMULATED_SEASONALITY))))
        / np.mean(trends.SIMULATED_SEASONALITY)
    )


def test_breslow_alpha_by_hand():
    # y = (0, 10), μ = (5, 5), df = 1: 2 × 25 / (5 + 25α) = 1  ⇒  α = 1.8.
    assert trends._breslow_alpha(np.array([0.0, 10.0]), np.array([5.0, 5.0]), 1) == pytest.approx(
        1.8
    )
    # Pearson X² already ≤ df: no extra variance, α = 0.
    assert trends._breslow_alpha(np.array([4.0, 6.0]), np.array([5.0, 5.0]), 1) == 0.0


def test_nb_fit_sets_pearson_chi2_to_its_degrees_of_freedom():
    rng = np.random.default_rng(3)
    mu = trends.simulated_monthly_mean(60, 200.0, 1.04)["mu"].to_numpy()
    df = pd.DataFrame({"month": MONTHS, "n": trends.draw_counts(rng, mu, 0.08)})
    res = fit_monthly_model(df, "n")
    assert res.family == FAMILY_NB
    assert res.residual_dispersion == pytest.approx(1.0, abs=1e-5)  # Σ r² = n − k by design
    assert 0.04 < res.alpha < 0.16
    assert "Breslow" in res.summary_text


def test_design_reproduces_the_fitted_means():
    rng = np.random.default_rng(4)
    mu = trends.simulated_monthly_mean(36, 80.0, 1.1)["mu"].to_numpy()
    df = pd.DataFrame({"month": MONTHS[:36], "n": rng.poisson(mu)})
    res = fit_monthly_model(df, "n")
    eta = res.design(df["month"]).to_numpy() @ res.params.to_numpy()
    np.testing.assert_allclose(np.exp(eta), res.fitted["fit"].to_numpy(), rtol=1e-10)
    # One year later, same month: the expected count is multiplied by the annual RR.
    later = res.design(pd.Series([MONTHS[0], MONTHS[0] + pd.DateOffset(years=1)]))
    ratio = np.exp(np.diff(later.to_numpy() @ res.params.to_numpy()))[0]
    assert ratio == pytest.approx(res.annual_rate_ratio)


def test_design_refuses_a_month_never_observed():
    rng = np.random.default_rng(5)
    summer_less = MONTHS[~MONTHS.month.isin([7, 8])]
    df = pd.DataFrame({"month": summer_less, "n": rng.poisson(50, len(summer_less))})
    res = fit_monthly_model(df, "n")
    with pytest.raises(ValueError, match="juillet, août"):
        res.design(pd.Series([pd.Timestamp("2025-07-01"), pd.Timestamp("2025-08-01")]))


# --------------------------------------------------------------------------------------------
# Monthly series per dispositif
# --------------------------------------------------------------------------------------------


def _contacts(rows: list[tuple]) -> pd.DataFrame:
    """(person, dispositif, start[, end]) rows; a stay without an end is still running."""
    rows = [(*r, None) if len(r) == 3 else r for r in rows]
    frame = pd.DataFrame(rows, columns=["person_id", "dispositif", "date_start", "date_end"])
    frame["date_start"] = pd.to_datetime(frame["date_start"])
    frame["date_end"] = pd.to_datetime(frame["date_end"])
    frame["nights"] = float("nan")
    frame["year"] = frame["date_start"].dt.year
    return frame


def test_monthly_dispositif_counts_by_hand():
    contacts = _contacts(
        [
            ("a", "accueil_jour", "2024-01-03", None),
            ("a", "accueil_jour", "2024-01-20", None),  # same person, same month: 1 person
            ("b", "accueil_jour", "2024-01-21", None),
            ("a", "accueil_jour", "2024-03-02", None),  # February has nobody: a zero month
            ("c", "maison_accueil", "2024-02-10", "2024-02-20"),
            ("d", "maison_accueil", "2024-03-25", "2024-05-02"),  # present March to May
            ("c", "maison_accueil", "2025-01-10", None),  # after the end: ignored
        ]
    )
    out = monthly_dispositif_counts(contacts, "2024-04")
    day = out[out["dispositif"] == "accueil_jour"].set_index("month")
    assert list(day.index) == list(pd.date_range("2024-01-01", "2024-04-01", freq="MS"))
    assert day["persons"].tolist() == [2, 0, 1, 0]
    assert day["contacts"].tolist() == [3, 0, 1, 0]
    house = out[out["dispositif"] == "maison_accueil"].set_index("month")
    assert house.index[0] == pd.Timestamp("2024-02-01")  # starts at its first contact
    assert house["persons"].tolist() == [1, 1, 1]  # a stay counts in every month it covers
    assert house["contacts"].tolist() == [1, 1, 0]  # rows count in the month they start


def test_fit_series_records_why_a_series_is_skipped():
    short = pd.DataFrame({"month": MONTHS[:20], "persons": np.arange(20) + 5})
    res = fit_series(short, "persons", "housing_first")
    assert res.model is None
    assert res.skipped == "série trop courte\u00a0: 20 mois (au moins 24 requis)"

    sparse = np.zeros(60, dtype=int)
    sparse[::3] = 1  # 20 months at 1, 40 at zero
    res = fit_series(pd.DataFrame({"month": MONTHS, "persons": sparse}), "persons", "x")
    assert res.model is None
    assert res.skipped == "série presque toujours nulle\u00a0: 40 mois sur 60 à zéro"
    assert res.record()["skipped"] == res.skipped and "family" not in res.record()

    months = MONTHS[MONTHS.month != 1]  # the reference month of the seasonal dummies
    no_january = pd.DataFrame({"month": months, "persons": np.full(len(months), 9)})
    res = fit_series(no_january, "persons", "x")
    assert res.model is None and res.skipped.startswith("ajustement impossible")


def test_fit_dispositif_models_chooses_the_family_per_series():
    rng = np.random.default_rng(11)
    mu = trends.simulated_monthly_mean(60, 300.0, 1.05)["mu"].to_numpy()
    persons = rng.poisson(mu)
    contacts = trends.draw_counts(rng, 4 * mu, 0.05)  # overdispersed visits
    monthly = pd.DataFrame(
        {"month": MONTHS, "dispositif": "accueil_jour", "persons": persons, "contacts": contacts}
    )
    short = pd.DataFrame(
        {
            "month": MONTHS[:12],
            "dispositif": "housing_first",
            "persons": np.full(12, 3),
            "contacts": np.full(12, 3),
        }
    )
    models = fit_dispositif_models(pd.concat([monthly, short], ignore_index=True))
    assert set(models) == {"accueil_jour", "housing_first"}
    day = models["accueil_jour"]
    assert day["persons"].model.family == FAMILY_POISSON
    assert day["contacts"].model.family == FAMILY_NB
    assert day["persons"].model.ci_low < 1.05 < day["persons"].model.ci_high
    assert models["housing_first"]["persons"].skipped.startswith("série trop courte")

    table = diagnostics_table([m for per in models.values() for m in per.values()])
    assert len(table) == 4
    row = table.set_index(["dispositif", "series"]).loc[("accueil_jour", "contacts")]
    assert row["family"] == FAMILY_NB and row["alpha"] > 0 and row["dispersion"] > 2
    assert 0 <= row["ljung_box_p"] <= 1
    skipped = table.set_index(["dispositif", "series"]).loc[("housing_first", "persons")]
    assert pd.isna(skipped["family"]) and skipped["skipped"].startswith("série trop courte")


def test_shelter_nights_with_capacity_exposure():
    """Nights at a fixed 90 % occupancy of a capacity that jumps in winter: the offset turns
    the winter jump into no seasonality and no trend in the rate."""
    rng = np.random.default_rng(2)
    capacity = np.where(MONTHS.month.isin([11, 12, 1, 2, 3]), 55, 40) * MONTHS.days_in_month
    frame = pd.DataFrame(
        {"month": MONTHS, "nights": rng.poisson(0.9 * capacity), "capacity": capacity}
    )
    res = fit_series(frame, "nights", "hebergement_urgence", exposure="capacity")
    assert res.model.exposure == "capacity"
    assert res.model.ci_low < 1.0 < res.model.ci_high
    assert res.record()["exposure"] == "capacity"


def test_yoy_by_dispositif_by_hand():
    rows = [(f"p{i}", "accueil_jour", "2023-05-01") for i in range(100)]
    rows += [(f"q{i}", "accueil_jour", "2024-05-01") for i in range(110)]
    rows += [("z", "accueil_jour", "2024-06-01")] * 3  # one more person, seen three times
    rows += [(f"h{i}", "housing_first", "2023-02-01", "2023-09-01") for i in range(4)]
    rows += [(f"x{i}", "urgence_sociale", "2022-02-01") for i in range(9)]  # older: ignored
    out = yoy_by_dispositif(_contacts(rows), 2024)
    assert set(out) == {"accueil_jour", "housing_first"}
    day = out["accueil_jour"]
    assert (day.current, day.previous, day.both) == (111, 100, 0)
    se = math.sqrt(1 / 111 + 1 / 100)  # nobody in both years: the paired interval is the same
    assert day.ci_low == pytest.approx(1.11 * math.exp(-1.959963984540054 * se))
    assert out["housing_first"].rate_ratio == 0 and math.isnan(out["housing_first"].ci_low)
