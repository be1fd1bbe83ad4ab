"""Honest count inference and left truncation, on planted truth: serially correlated months,
paired years, Holm, occupancy on a bounded scale, stays already running when the data begin."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from observatoire.models import trends
from observatoire.models.inference import (
    fit_occupancy_model,
    holm,
    paired_rate_ratio,
    serial_covariance,
)
from observatoire.models.truncation import left_truncation, missing_share
from tests.support.frames import contacts_frame

# --- serially correlated months -----------------------------------------------------------------


def test_serial_covariance_is_quasi_likelihood_without_correlation():
    rng = np.random.default_rng(3)
    n = 60
    x = np.column_stack([np.ones(n), np.linspace(-1, 1, n)])
    w = np.full(n, 50.0)
    r = rng.standard_normal(n) * 0.6
    cov, serial = serial_covariance(x, w, r)
    assert serial.lag1 < 0.25
    bread = np.linalg.inv((x * w[:, None]).T @ x)
    # close to φ (X'WX)⁻¹ with φ = X²/(n − k) when the residuals are independent
    assert cov[1, 1] == pytest.approx(serial.phi * bread[1, 1], rel=0.35)


def test_monthly_intervals_cover_under_planted_dependence():
    """Latent AR(1) (ρ = 0.6) multiplying the mean: the seasonal effect's CI keeps ~95 %,
    the former Poisson CI did not (bench/trends_coverage.py runs 1 000 replications)."""
    sim = trends.coverage_simulation(replications=120, latent_rho=0.6, latent_sd=0.08, seed=5)
    assert sim.seasonal_coverage >= 0.88
    assert sim.mean_lag1 > 0.15  # the dependence is seen


def test_monthly_model_reports_the_serial_correlation_it_used():
    rng = np.random.default_rng(8)
    truth = trends.simulated_monthly_mean(60)
    y = trends.draw_counts(rng, truth["mu"].to_numpy(), 0.0, latent_rho=0.8, latent_sd=0.1)
    res = trends.fit_monthly_model(truth.assign(persons=y), "persons")
    assert res.serial is not None and res.serial.lag1 > 0.2
    naive = math.sqrt(res.cov_params.loc["trend_years", "trend_years"])
    robust = math.sqrt(res.robust_cov.loc["trend_years", "trend_years"])
    assert robust > 1.3 * naive  # the independent-months interval was too narrow


# --- paired years -------------------------------------------------------------------------------


def test_paired_ratio_by_hand():
    r = paired_rate_ratio(both=900, only_current=300, only_previous=200)
    a, b = 1200, 1100
    se = math.sqrt(1 / a + 1 / b - 2 * 900 / (a * b))
    assert r.rate_ratio == pytest.approx(a / b)
    assert r.ci_low == pytest.approx(a / b * math.exp(-1.959963984540054 * se))
    assert r.ci_high - r.ci_low < r.independent_ci[1] - r.independent_ci[0]
    from scipy import stats

    assert r.p_value == pytest.approx(stats.binomtest(300, 500, 0.5).pvalue)
    assert "apparié" in r.interpretation or "appariée" in r.interpretation


def test_paired_ratio_covers_the_planted_truth():
    """Persons of three kinds (both years, this year only, last year only) drawn as Poisson:
    the paired CI covers R = (m11 + m01)/(m11 + m10) about 95 % of the time; the independent
    one over-covers (it ignores the shared persons)."""
    rng = np.random.default_rng(11)
    m11, m01, m10 = 900.0, 330.0, 250.0
    truth = (m11 + m01) / (m11 + m10)
    reps, paired, independent = 600, 0, 0
    for _ in range(reps):
        r = paired_rate_ratio(rng.poisson(m11), rng.poisson(m01), rng.poisson(m10))
        paired += r.ci_low <= truth <= r.ci_high
        independent += r.independent_ci[0] <= truth <= r.independent_ci[1]
    assert 0.92 <= paired / reps <= 0.975
    assert independent / reps > 0.985


def test_paired_ratio_without_previous_persons():
    r = paired_rate_ratio(0, 5, 0)
    assert math.isnan(r.rate_ratio) and math.isnan(r.ci_low)


# --- multiplicity -------------------------------------------------------------------------------


def test_holm_by_hand():
    adj = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": float("nan")})
    assert adj["a"] == pytest.approx(0.03)  # 3 × 0.01
    assert adj["c"] == pytest.approx(0.06)  # 2 × 0.03
    assert adj["b"] == pytest.approx(0.06)  # max(1 × 0.04, 0.06): monotone
    assert math.isnan(adj["d"])


# --- occupancy ----------------------------------------------------------------------------------


def test_occupancy_stays_bounded_and_recovers_a_planted_logit_trend():
    rng = np.random.default_rng(2)
    months = pd.date_range("2020-01", periods=60, freq="MS")
    t = (np.arange(60) - 29.5) / 12
    season = np.where(months.month.isin([11, 12, 1, 2, 3]), 2.5, 0.0)
    p = 1 / (1 + np.exp(-(0.8 + 0.2 * t + season)))
    capacity = np.full(60, 900.0)
    nights = rng.binomial(900, p)
    model = fit_occupancy_model(
        pd.DataFrame({"month": months, "nights": nights, "capacity": capacity})
    )
    assert model.ci_low < math.exp(0.2) < model.ci_high
    assert (model.fitted["fit"] <= 1).all() and (model.fitted["fit"] >= 0).all()
    assert list(model.yearly["year"]) == [2020, 2021, 2022, 2023, 2024]


# --- left truncation ----------------------------------------------------------------------------


def test_missing_share_of_exponential_stays():
    """Stays of mean 200 days, none censored: m(g) = 200·e^(−g/200)/(200 + 365)."""
    rng = np.random.default_rng(4)
    durations = rng.exponential(200, 20000)
    shares, mean, _, cut = missing_share(
        durations, np.zeros(len(durations), bool), np.array([0, 365]), 365.25, None
    )
    assert mean == pytest.approx(200, rel=0.03)
    assert shares[0] == pytest.approx(200 / 565.25, rel=0.03)
    assert shares[1] == pytest.approx(200 * math.exp(-365 / 200) / 565.25, rel=0.08)
    assert not cut


def _planted_stays(mean_days: float, seed: int = 1) -> pd.DataFrame:
    """A maison d'accueil with steady entries from 2015 and exponential stays; the export, like
    the partners', keeps only the stays begun from 2020 (left truncation)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2015-01-01")
    entries = start + pd.to_timedelta(np.sort(rng.uniform(0, 3650, 900)), unit="D")
    exits = entries + pd.to_timedelta(np.ceil(rng.exponential(mean_days, 900)), unit="D")
    rows = [
        {"person_id": f"p{i}", "partner_id": "ma", "dispositif": "maison_accueil",
         "date_start": e, "date_end": x if x <= pd.Timestamp("2024-12-31") else None}
        for i, (e, x) in enumerate(zip(entries, exits, strict=True))
        if e >= pd.Timestamp("2020-01-01")
    ]  # fmt: skip
    return contacts_frame(rows), entries, exits


def test_left_truncation_flags_the_years_that_miss_a_stock():
    contacts, entries, exits = _planted_stays(300)
    out = left_truncation(contacts)["maison_accueil"]
    # the truth: persons present in 2020 and 2021 whose stay began before 2020
    for year in (2020, 2021):
        jan = pd.Timestamp(f"{year}-01-01")
        dec = pd.Timestamp(f"{year}-12-31")
        present = (entries <= dec) & (exits > jan)
        hidden = present & (entries < pd.Timestamp("2020-01-01"))
        assert out.missing_share[year] == pytest.approx(hidden.sum() / present.sum(), abs=0.05)
    assert out.affected_years[0] == 2020 and 2024 not in out.affected_years
    assert out.first_clean_month is not None


def test_truncated_trend_excluded_recovers_a_flat_truth():
    """A stay service whose need is flat: counted as exported, it seems to grow; with the
    affected years left out, the trend covers 1."""
    contacts, *_ = _planted_stays(120, seed=9)
    tr = left_truncation(contacts)["maison_accueil"]
    from observatoire.indicators.counts import yearly_distinct_persons

    series = yearly_distinct_persons(contacts).set_index("year")["persons"]
    naive = trends.fit_yearly_trend(series)
    fixed = trends.fit_yearly_trend(series, exclude={y: "t" for y in tr.affected_years})
    assert tr.affected_years == [2020]
    assert naive.annual_rate_ratio > fixed.annual_rate_ratio + 0.03  # the artefact
    assert fixed.ci_low <= 1 <= fixed.ci_high
