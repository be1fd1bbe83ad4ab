import pandas as pd

from observatoire.disclosure import publish_count, suppress_series, suppress_table


def test_counts_from_1_to_k_minus_1_are_never_published():
    assert [publish_count(n, 5) for n in (0, 1, 4, 5, 1234)] == [
        "0",
        "< 5",
        "< 5",
        "5",
        "1\u202f234",
    ]


def test_suppressed_series_hides_small_counts_but_keeps_zeros():
    out = suppress_series(pd.Series([0, 3, 7]), 5)
    assert out.iloc[0] == 0 and pd.isna(out.iloc[1]) and out.iloc[2] == 7


def test_secondary_suppression_prevents_recovery_from_totals():
    table = pd.DataFrame({"M": [3, 40, 60], "F": [10, 20, 30]}, index=["a", "b", "c"])
    out = suppress_table(table, 5)
    hidden = out == "< 5"
    assert hidden.loc["a", "M"]
    # Column M has a total: a single hidden cell would be total minus the others.
    assert hidden["M"].sum() >= 2
    # Row a has a total too.
    assert hidden.loc["a"].sum() >= 2
