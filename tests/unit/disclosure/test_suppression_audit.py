"""Attack the published tables and fail to recover any small cell.

The attacker (:class:`tests.support.integer_attacker.Reader`) is written independently of
:func:`observatoire.disclosure.suppression.audit`: it reads only the *published text* (« < 5 »,
« s », French numbers), rebuilds the identities from the table layout itself, and either
enumerates integer solutions exhaustively (small cases) or solves integer programs with
``scipy.optimize.milp`` over every cell (random tables). A bug in the engine's own linear
programs therefore cannot hide itself.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatoire.core.formatting import NNBSP
from observatoire.disclosure.cells import (
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    CountTable,
    Publication,
    audit,
    protect,
    suppress_table,
)
from observatoire.disclosure.suppression import Constraint, latent_exposure
from tests.support.integer_attacker import Reader
from tests.support.tables import grid as shared_grid

K = 5


# --- tables protected by the engine, read back by the independent reader ----------------------


def grid(
    name: str, inner: list[list[int]], rows: list[str], cols: list[str], totals: str = "both"
) -> CountTable:
    """A named table with « Total » margins (the shared builder, with this file's labels)."""
    return shared_grid(inner, name, rows, cols, totals, total="Total")


def reader_of(*published: tuple[Publication, CountTable]) -> Reader:
    reader = Reader()
    for pub, table in published:
        reader.read(pub.text(table), table.keys, table.row_total, table.col_total)
    return reader


def hidden_cells(pub: Publication, table: CountTable) -> set[tuple[str, str]]:
    text = pub.text(table)
    return {(r, c) for r in text.index for c in text.columns if text.loc[r, c] in ("< 5", "s")}


# --- (a) a 2×2 table with margins and one small cell -------------------------------------------


def test_one_small_cell_in_a_2x2_table_hides_the_rectangle_and_nothing_else():
    # F   M  | Total       The small cell is pinned by its row and its column: hide the
    # 3   10 | 13          smallest inner cell of its row (10), then of the column of that
    # 20  30 | 50          cell... the only pattern of inner cells that breaks every line with
    # 23  40 | 63          one hidden cell is the whole 2×2 rectangle; margins stay published.
    table = grid("t", [[3, 10], [20, 30]], ["A", "B"], ["F", "M"])
    pub = protect([table], K)
    assert hidden_cells(pub, table) == {("A", "F"), ("A", "M"), ("B", "F"), ("B", "M")}
    assert pub.status["t|A|F"] == PRIMARY
    assert {pub.status[f"t|{r}|{c}"] for r, c in [("A", "M"), ("B", "F"), ("B", "M")]} == {
        SECONDARY
    }
    # the reader: a = 13 − b, b ≥ 5 ⇒ a ≤ 8; every value 1…4 fits the published margins.
    assert reader_of((pub, table)).feasible_values("t|A|F") == {1, 2, 3, 4}


def test_without_secondary_suppression_the_reader_recovers_the_cell():
    """The attacker is not toothless: on primary suppression alone it finds the 3."""
    table = grid("t", [[3, 10], [20, 30]], ["A", "B"], ["F", "M"])
    pub = protect([table], K)
    primary_only = Publication(
        K,
        pub.values,
        {key: PRIMARY if s == PRIMARY else PUBLISHED for key, s in pub.status.items()},
        pub.tables,
        pub.constraints,
    )
    assert reader_of((primary_only, table)).feasible_values("t|A|F") == {3}
    assert not audit(primary_only)["protected"].any()


# --- (b) two small cells whose sum is small: the naive rule leaks --------------------------------


def test_two_small_cells_in_a_row_defeat_the_naive_rule_but_not_protect():
    inner = [[2, 1, 40], [10, 20, 30]]
    table = grid("b", inner, ["r1", "r2"], ["c1", "c2", "c3"])

    # The naive rule: each column has two hidden cells, each row two: it stops there.
    naive = suppress_table(pd.DataFrame(inner, index=["r1", "r2"], columns=["c1", "c2", "c3"]), K)
    naive_hidden = {(r, c) for r in naive.index for c in naive.columns if naive.loc[r, c] == "< 5"}
    assert naive_hidden == {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}
    naive_status = {
        f"b|{r}|{c}": (PRIMARY if table.values.loc[r, c] < K else SECONDARY)
        if (r, c) in naive_hidden
        else PUBLISHED
        for r in table.values.index
        for c in table.values.columns
    }
    pub = protect([table], K)
    naive_pub = Publication(K, pub.values, naive_status, pub.tables, pub.constraints)
    # a + b = 43 − 40 = 3, both ≥ 1: the reader learns a ∈ {1, 2}, not just « < 5 ».
    assert reader_of((naive_pub, table)).feasible_values("b|r1|c1") == {1, 2}

    assert pub.status["b|r1|c3"] == SECONDARY  # the 40 must go
    reader = reader_of((pub, table))
    assert reader.feasible_values("b|r1|c1") == {1, 2, 3, 4}
    assert reader.feasible_values("b|r1|c2") == {1, 2, 3, 4}


# --- (c) one quantity in two tables -------------------------------------------------------------


def _two_tables() -> tuple[CountTable, CountTable]:
    # Persons per dispositif and sex (no additive row total: a person can use several).
    by_dispositif = CountTable(
        "personnes_dispositif_sexe",
        "Personnes par dispositif et sexe",
        pd.DataFrame([[3, 40, 43], [12, 18, 30]], index=["MA", "HF"], columns=["F", "M", "Total"]),
        pd.DataFrame(
            [["ma|F", "ma|M", "ma"], ["hf|F", "hf|M", "hf"]],
            index=["MA", "HF"],
            columns=["F", "M", "Total"],
        ),
        col_total="Total",
    )
    # Men of the maison d'accueil by age: its total is the same number as "ma|M".
    men_by_age = CountTable(
        "maison_accueil_hommes_age",
        "Hommes en maison d'accueil par âge",
        pd.DataFrame({"M": [15, 25, 40]}, index=["<25", "25+", "Total"]),
        pd.DataFrame({"M": ["ma|M|<25", "ma|M|25+", "ma|M"]}, index=["<25", "25+", "Total"]),
        row_total="Total",
    )
    return by_dispositif, men_by_age


def test_a_quantity_shown_in_two_tables_has_one_status_and_leaks_from_neither():
    by_dispositif, men_by_age = _two_tables()
    pub = protect([by_dispositif, men_by_age], K, method="greedy")
    assert pub.status["ma|M"] == SECONDARY
    assert pub.text(by_dispositif).loc["MA", "M"] == "s"
    assert pub.text(men_by_age).loc["Total", "M"] == "s"
    # ma|M hidden alone would be 15 + 25: its parts go too.
    assert pub.hidden("ma|M|<25") or pub.hidden("ma|M|25+")
    reader = reader_of((pub, by_dispositif), (pub, men_by_age))
    assert reader.feasible_values("ma|F") == {1, 2, 3, 4}
    # The optimal pattern hides the row's total instead (43 persons, not 40 + 15).
    best = protect([by_dispositif, men_by_age], K)
    assert {key for key, s in best.status.items() if s == SECONDARY} == {"ma"}
    assert best.text(men_by_age).loc["Total", "M"] == "40"
    reader = reader_of((best, by_dispositif), (best, men_by_age))
    assert reader.feasible_values("ma|F") == {1, 2, 3, 4}


def test_tables_protected_one_by_one_leak_through_their_shared_quantity():
    by_dispositif, men_by_age = _two_tables()
    alone_a = protect([by_dispositif], K)
    alone_b = protect([men_by_age], K)
    assert alone_a.hidden("ma|M") and not alone_b.hidden("ma|M")
    reader = reader_of((alone_a, by_dispositif), (alone_b, men_by_age))
    assert reader.feasible_values("ma|F") == {3}  # 43 − 40


# --- (d) last year's pattern --------------------------------------------------------------------


def _last_year() -> tuple[CountTable, Publication]:
    table = CountTable(
        "personnes_2023",
        "Personnes 2023",
        pd.DataFrame([[3, 8, 20, 31]], index=["personnes"], columns=["A", "B", "C", "Total"]),
        pd.DataFrame(
            [["2023|A", "2023|B", "2023|C", "2023|T"]],
            index=["personnes"],
            columns=["A", "B", "C", "Total"],
        ),
        col_total="Total",
    )
    pub = protect([table], K)
    return table, pub


def _this_year() -> CountTable:
    # B's evolution: last year's B shown beside this year's.
    return CountTable(
        "evolution_b",
        "Évolution de B",
        pd.DataFrame([[8, 12]], index=["B"], columns=["2023", "2024"]),
        pd.DataFrame([["2023|B", "2024|B"]], index=["B"], columns=["2023", "2024"]),
    )


def test_last_year_hid_b_to_protect_a():
    table, pub = _last_year()
    assert pub.status == {
        "2023|A": PRIMARY,
        "2023|B": SECONDARY,
        "2023|C": PUBLISHED,
        "2023|T": PUBLISHED,
    }
    assert reader_of((pub, table)).feasible_values("2023|A") == {1, 2, 3, 4}


def test_a_cell_hidden_last_year_stays_hidden_when_shown_again():
    last_table, last = _last_year()
    table = _this_year()

    pub = protect([table], K, previous=last)
    assert pub.status["2023|B"] == SECONDARY and pub.text(table).loc["B", "2023"] == "s"
    assert pub.status["2024|B"] == PUBLISHED
    reader = reader_of((last, last_table), (pub, table))
    assert reader.feasible_values("2023|A") == {1, 2, 3, 4}
    assert audit(pub, last).set_index("key").loc["2023|A", "protected"]

    careless = protect([table], K)  # without last year's publication
    assert not careless.hidden("2023|B")
    reader = reader_of((last, last_table), (careless, table))
    assert reader.feasible_values("2023|A") == {3}  # 31 − 8 − 20
    row = audit(careless, last).set_index("key").loc["2023|A"]
    assert not row["protected"] and row["lo"] == row["hi"] == 3 and not row["current"]


def test_a_value_published_last_year_is_never_hidden_in_vain():
    last_table, last = _last_year()
    table = CountTable(
        "evolution_c",
        "Évolution de C",
        pd.DataFrame([[20, 2, 22]], index=["C"], columns=["2023", "2024", "Total"]),
        pd.DataFrame(
            [["2023|C", "2024|C", "C|total"]], index=["C"], columns=["2023", "2024", "Total"]
        ),
        col_total="Total",
    )
    pub = protect([table], K, previous=last)
    # 20 was published last year: hiding it would not protect 2024|C, the total must go.
    assert pub.status == {"2023|C": PUBLISHED, "2024|C": PRIMARY, "C|total": SECONDARY}
    assert reader_of((last, last_table), (pub, table)).feasible_values("2024|C") == {1, 2, 3, 4}


# --- (e) random tables --------------------------------------------------------------------------


def _full_suppression_range(table: CountTable, target: str) -> tuple[int, int]:
    """The widest interval any pattern can leave: every non-zero cell hidden."""
    text = table.values.map(lambda v: "0" if v == 0 else ("< 5" if v < K else "s"))
    reader = Reader()
    reader.read(text, table.keys, table.row_total, table.col_total)
    return reader.integer_range(target)


counts = st.one_of(st.integers(0, 4), st.integers(0, 60))


@st.composite
def tables(draw: st.DrawFn) -> CountTable:
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 6))
    inner = draw(
        st.lists(
            st.lists(counts, min_size=n_cols, max_size=n_cols), min_size=n_rows, max_size=n_rows
        )
    )
    totals = draw(st.sampled_from(["both", "both", "rows", "cols"]))
    return grid(
        "h", inner, [f"r{i}" for i in range(n_rows)], [f"c{j}" for j in range(n_cols)], totals
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables_leave_no_small_cell_narrower_than_it_must_be(table: CountTable):
    values = table.values
    small = [
        table.keys.iat[i, j]
        for i in range(values.shape[0])
        for j in range(values.shape[1])
        if 0 < values.iat[i, j] < K
    ]
    best = {key: _full_suppression_range(table, key) for key in small}
    pinned = [key for key, (lo, hi) in best.items() if lo == hi]
    if pinned:  # e.g. four « < 5 » cells and a total « < 5 »: all ones, whatever is hidden
        with pytest.raises(ValueError, match="Impossible de protéger"):
            protect([table], K)
        return
    pub = protect([table], K)
    text = pub.text(table)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            value, shown = values.iat[i, j], text.iat[i, j]
            if 0 < value < K:
                assert shown == "< 5"
            elif shown == "s":
                assert value >= K  # never a zero, never a small cell
            else:
                assert int(shown.replace(NNBSP, "")) == value
    assert len(hidden_cells(pub, table)) <= values.size
    reader = Reader()
    reader.read(text, table.keys, table.row_total, table.col_total)
    for key in small:
        lo, hi = reader.integer_range(key)
        # nothing beyond « < 5 », or nothing beyond what hiding every non-zero cell would leave
        assert (lo, hi) == (1, K - 1) or (lo, hi) == best[key], key
        assert lo < hi


# --- (f) what is written --------------------------------------------------------------------------


def test_ledger_never_holds_a_hidden_value_and_text_shows_the_labels():
    inner = [[2, 1, 40], [10, 20, 30]]
    table = grid("b", inner, ["r1", "r2"], ["c1", "c2", "c3"])
    pub = protect([table], K)
    ledger = pub.ledger()
    assert list(ledger.columns[:3]) == ["key", "status", "value"]
    assert set(ledger["key"]) == set(pub.values)
    hidden = ledger[ledger["status"] != PUBLISHED]
    assert hidden["value"].isna().all() and len(hidden) == 6
    shown = ledger[ledger["status"] == PUBLISHED].set_index("key")["value"]
    assert all(shown[key] == pub.values[key] for key in shown.index)
    csv = ledger.to_csv(index=False)
    for key in hidden["key"]:
        assert f"{key},{hidden.set_index('key').loc[key, 'status']},," in csv

    text = pub.text(table)
    assert text.loc["r1", "c1"] == "< 5" and text.loc["r1", "c3"] == "s"
    assert text.loc["Total", "Total"] == "103"
    assert pub.cell_text("b|r2|c3") == "s" and pub.cell_text("b|r1|Total") == "43"


def test_audit_lists_every_small_cell_with_the_interval_a_reader_deduces():
    table = grid("b", [[2, 1, 40], [10, 20, 30]], ["r1", "r2"], ["c1", "c2", "c3"])
    result = audit(protect([table], K))
    assert list(result["key"]) == ["b|r1|c1", "b|r1|c2"]
    assert result["protected"].all() and not result["inevitable"].any()
    assert (result["lo"] <= 1 + 1e-6).all() and (result["hi"] >= K - 1 - 1e-6).all()
    assert math.isclose(result["hi"].min(), 4, abs_tol=1e-6)


# --- (g) a group of small categories: its make-up is latent ------------------------------------
#
# Three dispositifs A, B, C. Combinations under 5 persons (A+C = 3, B+C = 2, A+B+C = 1) are
# gathered in « autres » (6). A reader knows that the persons of a dispositif are the sum of the
# combinations that contain it, and the persons with n dispositifs the sum of the combinations of
# n: from A, B and C alone, A+B+C = (A+C + A+B+C) + (B+C + A+B+C) − (A+C + B+C + A+B+C) = 1, the
# « 3 dispositifs » cell printed « < 5 ».

COMBOS = {"A": 20, "B": 12, "C": 6, "AB": 7, "AC": 3, "BC": 2, "ABC": 1}
LISTED = ["A", "B", "C", "AB"]


def _grouped_tables() -> tuple[list[CountTable], list, dict[str, float]]:
    persons = {d: sum(v for c, v in COMBOS.items() if d in c) for d in "ABC"}  # 31, 22, 12
    by_size = {n: sum(v for c, v in COMBOS.items() if len(c) == n) for n in (1, 2, 3)}
    network = sum(COMBOS.values())
    dispositifs = CountTable(
        "dispositifs",
        "Personnes par dispositif",
        pd.DataFrame({"personnes": list(persons.values())}, index=list(persons)),
        pd.DataFrame({"personnes": [f"d={d}" for d in persons]}, index=list(persons)),
    )
    sizes = CountTable(
        "nb_dispositifs",
        "Personnes par nombre de dispositifs",
        pd.DataFrame({"personnes": [*by_size.values(), network]}, index=["1", "2", "3", "Total"]),
        pd.DataFrame(
            {"personnes": ["n=1", "n=2", "n=3", "reseau"]}, index=["1", "2", "3", "Total"]
        ),
        row_total="Total",
    )
    others = sum(v for c, v in COMBOS.items() if c not in LISTED)
    index = [*LISTED, "autres", "Total"]
    combinations = CountTable(
        "combinaisons",
        "Combinaisons",
        pd.DataFrame({"personnes": [*(COMBOS[c] for c in LISTED), others, network]}, index=index),
        pd.DataFrame({"personnes": [*(f"c={c}" for c in LISTED), "autres", "reseau"]}, index=index),
        row_total="Total",
    )
    latent = {f"c={c}": float(v) for c, v in COMBOS.items() if c not in LISTED}
    constraints = [Constraint("autres", tuple(sorted(latent)))]
    constraints += [
        Constraint(f"d={d}", tuple(sorted(f"c={c}" for c in COMBOS if d in c))) for d in "ABC"
    ]
    constraints += [
        Constraint(f"n={n}", tuple(sorted(f"c={c}" for c in COMBOS if len(c) == n)))
        for n in (1, 2, 3)
    ]
    return [dispositifs, sizes, combinations], constraints, latent


def _grouped_reader(pub: Publication, tables: list[CountTable], constraints) -> Reader:
    """The published text, plus what a reader knows of the group: each unlisted combination
    is 0 to 4 persons, and the identities through them."""
    reader = reader_of(*((pub, t) for t in tables))
    for c in COMBOS:
        if c not in LISTED:
            reader.labels[f"c={c}"] = (0, K - 1)
    reader.identities += [(c.total, list(c.parts)) for c in constraints]
    return reader


def test_the_make_up_of_a_grouped_category_pins_a_small_cell_unless_it_is_latent():
    tables, constraints, latent = _grouped_tables()
    keep = ["d=A", "d=B", "d=C"]  # headline figures: never secondary

    careless = protect(tables, K, keep=keep)  # blind to the group's make-up
    assert careless.hidden("n=3") and audit(careless)["protected"].all()
    reader = _grouped_reader(careless, tables, constraints)
    assert reader.integer_range("n=3") == (1, 1)

    pub = protect(tables, K, constraints, keep=keep, latent=latent)
    assert not any(pub.hidden(d) for d in keep)
    reader = _grouped_reader(pub, tables, constraints)
    assert reader.integer_range("n=3") == (1, K - 1)
    assert audit(pub)["protected"].all()
    # latent counts are never written, never counted as published or suppressed cells
    ledger = pub.ledger()
    assert not set(latent) & set(ledger["key"])
    assert set(ledger.loc[ledger["status"] == SECONDARY, "key"]) <= {
        "c=A",
        "c=B",
        "c=C",
        "c=AB",
        "autres",
        "n=1",
        "n=2",
        "reseau",
    }
    # what a reader can still deduce of the group's make-up, for the methods annex
    exposure = latent_exposure(pub).set_index("key")
    assert set(exposure.index) == set(latent)
    assert exposure["value"].to_dict() == latent
    for key, row in exposure.iterrows():
        lo, hi = reader.integer_range(key)
        assert row["lo"] <= lo + 1e-6 and row["hi"] >= hi - 1e-6, key  # LP relaxation is wider
        if row["exact"]:
            assert lo == hi == row["value"], key


def test_latent_quantities_must_be_unprinted_and_small():
    tables, constraints, latent = _grouped_tables()
    with pytest.raises(ValueError, match="hors de 0..4"):
        protect(tables, K, constraints, latent={**latent, "c=ABC": 5.0})
    with pytest.raises(ValueError, match="déjà publiées"):
        protect(tables, K, constraints, latent={**latent, "c=AB": 7.0})
