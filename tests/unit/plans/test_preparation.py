"""The beds-needed rule: its probabilities on a known distribution, and the dispersion."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from observatoire.plans.preparation import _smallest_beds as smallest  # noqa: PLC2701
from observatoire.plans.preparation import (
    capacity_grid,
    nightly_dispersion,
    refusal_night_share,
)


def test_smallest_beds_meets_the_target_exactly():
    # a known mean night of 50 and α = 0.04: the beds are the NB 90 % quantile
    mean = np.full(100, 50.0)
    b = smallest(mean, 0.04, 0.10)
    n = 1 / 0.04
    assert stats.nbinom.sf(b, n, n / (n + 50)) <= 0.10 < stats.nbinom.sf(b - 1, n, n / (n + 50))
    # uncertainty on the level asks for more beds than a known level
    wide = np.random.default_rng(1).lognormal(np.log(50), 0.15, 2000)
    assert smallest(wide, 0.04, 0.10) > b


def test_planted_dispersion_recovered():
    rng = np.random.default_rng(5)
    days = pd.date_range("2021-11-01", "2024-03-31", freq="D")
    level = 40 + 10 * days.month.isin([12, 1]) + 3 * (days.year - 2021)
    alpha = 0.05
    demand = rng.poisson(rng.gamma(1 / alpha, alpha * level))
    est = nightly_dispersion(pd.Series(demand, index=days))
    assert abs(est - alpha) < 0.25 * alpha


def test_share_and_grid_agree_on_observed_nights():
    days = pd.date_range("2023-01-01", "2023-01-31", freq="D")
    nights = pd.DataFrame({"demand": np.arange(31) + 40.0, "beds": 60.0}, index=days)
    grid = capacity_grid(nights, steps=(0, 10))
    row = grid[grid["step"] == 0].iloc[0]
    assert row["share_nights_refusal"] == np.mean(np.arange(31) + 40 > 60)
    assert row["nights_refused"] == sum(max(0, x - 60) for x in np.arange(31) + 40)
    assert refusal_night_share(10**6, np.array([50.0]), 0.04) == 0
