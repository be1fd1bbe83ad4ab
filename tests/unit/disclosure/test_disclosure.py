import pandas as pd
import pytest

from observatoire.disclosure.cells import (
    PUBLISHED,
    CountTable,
    audit,
    protect,
    publish_count,
    publish_mean,
    suppress_series,
    suppress_table,
)


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


# --- means, and the suppression engine's contract --------------------------------------------


def _table(
    name: str,
    values: list[list[float]],
    index: list[str],
    columns: list[str],
    keys: list[list[str | None]] | None = None,
    **kwargs: object,
) -> CountTable:
    if keys is None:
        keys = [[f"{name}|{r}|{c}" for c in columns] for r in index]
    return CountTable(
        name,
        name,
        pd.DataFrame(values, index=index, columns=columns),
        pd.DataFrame(keys, index=index, columns=columns),
        **kwargs,  # type: ignore[arg-type]
    )


def test_means_need_min_persons():
    assert publish_mean(12.345, 10, 10) == "12,3"
    assert publish_mean(12.345, 9, 10) == "–"
    assert publish_mean(None, 50, 10) == "–"
    assert publish_mean(float("nan"), 50, 10) == "–"
    assert publish_mean(1234.5, 50, 10, decimals=0) == "1\u202f235"


def test_four_small_cells_and_a_small_total_are_refused():
    # « < 5 » four times with a total « < 5 »: every cell is 1, whatever else is hidden.
    table = _table("x", [[1, 1, 1, 1, 4], [10, 20, 30, 7, 67]], ["a", "b"], list("pqrs") + ["T"])
    table.col_total = "T"
    with pytest.raises(ValueError, match=r"Impossible de protéger la cellule « a » × .* « x »"):
        protect([table], 5)


def test_a_narrowing_due_to_published_zeros_is_flagged_not_hidden_away():
    # Row a: 1, 1, 0 → its total « < 5 » is at least 2 and each cell at most 3, whatever is hidden.
    rows = [[1, 1, 0, 2], [10, 20, 30, 60], [11, 21, 30, 62]]
    table = _table("z", rows, ["a", "b", "T"], ["p", "q", "r", "T"], row_total="T", col_total="T")
    pub = protect([table], 5)
    result = audit(pub).set_index("key")
    assert (result.loc["z|a|p", ["lo", "hi"]] == [1, 3]).all()
    assert (result.loc["z|a|T", ["lo", "hi"]] == [2, 4]).all()
    assert not result["protected"].any() and result["inevitable"].all()
    assert pub.status["z|a|r"] == PUBLISHED  # the zero stays
    with pytest.raises(ValueError, match="ne peut pas être entièrement protégée"):
        protect([table], 5, strict=True)


def test_a_declared_total_must_be_additive():
    # Persons per dispositif: someone in two dispositifs makes the network total smaller.
    table = _table("d", [[30], [20], [45]], ["ma", "hf", "reseau"], ["personnes"])
    table.row_total = "reseau"
    with pytest.raises(ValueError, match="Total non additif .*« d »"):
        protect([table], 5)


def test_one_key_must_be_one_number():
    a = _table("a", [[12]], ["x"], ["n"], keys=[["k"]])
    b = _table("b", [[13]], ["x"], ["n"], keys=[["k"]])
    with pytest.raises(ValueError, match="une même clé doit désigner un même nombre"):
        protect([a, b], 5)
    last = protect([a], 5)
    with pytest.raises(ValueError, match="un chiffre révisé doit prendre une autre clé"):
        protect([b], 5, previous=last)


def test_non_sensitive_counts_and_unkeyed_cells_are_published_as_numbers():
    # Nights beside persons: no key, not part of the row total of persons.
    persons = _table(
        "p",
        [[3, 40, 43, 1234, 12.345], [10, 20, 30, 5, 33.3]],
        ["abri", "ma"],
        ["F", "M", "Total", "nuitees", "pct"],
        keys=[["p|a|F", "p|a|M", "p|a", None, None], ["p|m|F", "p|m|M", "p|m", None, None]],
        col_total="Total",
    )
    refusals = _table("r", [[2, 7]], ["refus"], ["jan", "fev"], sensitive=False)
    pub = protect([persons, refusals], 5)
    assert pub.text(refusals).loc["refus"].tolist() == ["2", "7"]
    assert pub.status["r|refus|jan"] == PUBLISHED
    text = pub.text(persons)
    assert text.loc["abri"].tolist() == ["< 5", "s", "43", "1\u202f234", "12,3"]
    assert audit(pub)["protected"].all()


def test_kept_headline_stays_published_and_the_pattern_goes_elsewhere():
    rows = [[3, 10, 13], [20, 30, 50], [23, 40, 63]]
    table = _table("t", rows, ["A", "B", "T"], ["F", "M", "T"], row_total="T", col_total="T")
    default = protect([table], 5)
    assert not default.hidden("t|A|T")
    kept = protect([table], 5, keep=["t|A|M", "t|B|F"], method="greedy")
    assert not kept.hidden("t|A|M") and not kept.hidden("t|B|F")
    # 10 kept: row A needs its total hidden; then column T needs B's total, row B its M (20 is
    # kept), column M its total, and column F its total (20 kept). The grand total stays.
    hidden = {key for key in kept.status if kept.hidden(key)}
    assert hidden == {"t|A|F", "t|A|T", "t|B|T", "t|B|M", "t|T|M", "t|T|F"}
    assert audit(kept)["protected"].all()
    # The optimal pattern goes round the kept cells through the margins: 13 + 23 + 63 = 99
    # persons masked instead of 13 + 50 + 30 + 40 + 23 = 156.
    best = protect([table], 5, keep=["t|A|M", "t|B|F"])
    assert {key for key in best.status if best.hidden(key)} == {
        "t|A|F",
        "t|A|T",
        "t|T|F",
        "t|T|T",
    }
    assert best.search is not None and best.search.method == "optimal"
    assert (best.search.greedy_persons, best.search.optimal_persons) == (156, 99)
    assert audit(best)["protected"].all()


def test_pattern_does_not_depend_on_table_order():
    a = _table("a", [[3, 40, 43], [12, 18, 30]], ["x", "y"], ["F", "M", "T"], col_total="T")
    b = _table("b", [[3, 25, 28], [0, 15, 15], [3, 40, 43]], ["p", "q", "T"], ["F", "M", "T"])
    b.keys.loc["T"] = ["a|x|F", "a|x|M", "a|x|T"]
    b.row_total = b.col_total = "T"
    assert protect([a, b], 5).status == protect([b, a], 5).status


def test_tables_that_cannot_be_protected_are_a_french_refusal_not_a_traceback():
    """The CLI turns an ObservatoireError into a message; a ValueError would be a traceback."""
    from observatoire.core.errors import ObservatoireError
    from observatoire.disclosure import suppression

    with pytest.raises(ObservatoireError, match="Publication refusée : Le seuil"):
        suppression.protect([], k=1)
