"""The temperature model recovers a planted per-degree effect (one seed; coverage in bench)."""

from __future__ import annotations

import math

import pytest

from observatoire.plans.temperature import COLD, HEAT, fit_temperature_effect
from tests.support.plans import planted_winters


def test_planted_cold_effect_recovered():
    frame = planted_winters(seed=7, per_degree=0.05)
    fit = fit_temperature_effect(frame, COLD)
    assert fit.family == "negative binomial"  # the planted NB noise is detected
    assert abs(fit.log_rr - 0.05) <= 0.2 * 0.05
    assert fit.ci95[0] <= 0.05 <= fit.ci95[1]
    # the spline's contrast agrees in direction: colder nights, more demand
    assert fit.spline_contrast is not None and fit.spline_contrast > 1
    assert fit.naive_ratio is not None and fit.naive_ratio > 1


def test_planted_heat_effect_recovered():
    frame = planted_winters(seed=11, per_degree=0.04, threshold=25.0, heat=True, base=80.0)
    fit = fit_temperature_effect(frame, HEAT)
    assert abs(fit.log_rr - 0.04) <= 0.2 * 0.04
    assert fit.ci95[0] <= 0.04 <= fit.ci95[1]


def test_no_effect_gives_an_interval_around_zero():
    fit = fit_temperature_effect(planted_winters(seed=3, per_degree=0.0), COLD)
    assert abs(fit.log_rr) <= 3 * fit.se  # no effect found where none was planted
    assert math.isfinite(fit.acf1) and fit.hac_maxlags >= 7


def test_too_few_days_refused_in_french():
    frame = planted_winters(seed=1).head(30)
    with pytest.raises(ValueError, match="trop peu de jours"):
        fit_temperature_effect(frame, COLD)
