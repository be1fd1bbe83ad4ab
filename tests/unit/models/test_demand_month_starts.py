"""models.demand._month_starts: the dates pandas' month periods gave before."""

from __future__ import annotations

import pandas as pd
import pytest

from observatoire.models.demand import _month_starts


def _by_periods(months) -> pd.Series:
    """The previous computation (to_period("M").to_timestamp())."""
    return (
        pd.to_datetime(pd.Series(months)).dt.to_period("M").dt.to_timestamp().reset_index(drop=True)
    )


@pytest.mark.parametrize(
    "months",
    [
        pd.date_range("2019-01-15", periods=70, freq="MS"),
        list(pd.date_range("2020-02-27", periods=5, freq="D")),
        pd.Series(pd.to_datetime(["2020-02-29", None, "2021-12-31 23:00"], format="ISO8601")),
        ["2024-11", "2024-12"],
        pd.DatetimeIndex(["2019-03-31"]).astype("datetime64[ms]"),
        pd.Series(pd.date_range("2019-01-15", periods=3), index=[5, 6, 7]),
        pd.Series([], dtype="datetime64[ms]"),
    ],
)
def test_same_month_starts_as_periods(months):
    got, expected = _month_starts(months), _by_periods(months)
    pd.testing.assert_series_equal(got, expected)
    assert got.dtype == expected.dtype
