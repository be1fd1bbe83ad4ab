"""The optimal secondary suppression (``protect(..., method="optimal")``, the default).

It must hide no more persons than the greedy search it replaces, strictly fewer where the greedy
search is known to over-suppress, and its pattern must pass the same audit. On hand-sized
tables the optimum is known by brute force: every set of cells that may be hidden, cheapest
first, until one passes :func:`audit`.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatoire.disclosure import suppression
from observatoire.disclosure.suppression import (
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    Budget,
    Constraint,
    CountTable,
    Publication,
    audit,
    protect,
    whole_number_audit,
)
from tests.support.tables import grid

K = 5


def masked(pub: Publication) -> set[str]:
    return {key for key, status in pub.status.items() if status == SECONDARY}


def persons(pub: Publication) -> float:
    return sum(pub.values[key] for key in masked(pub))


def safe(pub: Publication, previous: Publication | None = None) -> bool:
    """Every small cell protected, or as wide as hiding every allowed cell leaves it."""
    result = audit(pub, previous)
    return bool((result["protected"] | result["inevitable"]).all())


def brute_force(table: CountTable, keep: tuple[str, ...] = ()) -> float:
    """The fewest persons any protected pattern masks: every subset of the cells that may be
    hidden, cheapest first, until one passes the audit (hand-sized tables only)."""
    base = protect([table], K, keep=keep, method="greedy")
    eligible = sorted(
        key
        for key, value in base.values.items()
        if base.status[key] != PRIMARY and value >= K and key not in keep
    )
    subsets = sorted(
        (
            subset
            for n in range(len(eligible) + 1)
            for subset in itertools.combinations(eligible, n)
        ),
        key=lambda subset: (sum(base.values[key] for key in subset), len(subset)),
    )
    for subset in subsets:
        status = {
            key: SECONDARY if key in subset else (PRIMARY if s == PRIMARY else PUBLISHED)
            for key, s in base.status.items()
        }
        candidate = Publication(K, base.values, status, base.tables, base.constraints)
        if audit(candidate)["protected"].all():
            return sum(base.values[key] for key in subset)
    raise AssertionError("no protected pattern")


# --- (a) hand-made tables whose optimum is known -------------------------------------------------


def test_one_small_cell_the_optimum_is_the_cheapest_rectangle_and_greedy_finds_it_too():
    #  3  50  8 |  61      The smallest complementary cells: 8, 40 and 9 (57 persons); the
    # 40  60  9 | 109      « s » labels say ≥ 5, and 9 − 2 and 8 − 1 stay ≥ 5 when the small
    # 43 110 17 | 170      cell goes from 3 to 1 or 4.
    table = grid([[3, 50, 8], [40, 60, 9]])
    best = protect([table], K)
    greedy = protect([table], K, method="greedy")
    assert masked(best) == {"t|r0|c2", "t|r1|c0", "t|r1|c2"} == masked(greedy)
    assert persons(best) == 57 == brute_force(table)
    assert best.search is not None and best.search.solver == "optimal"
    assert best.search.method == "greedy"  # a tie: the greedy pattern stays
    assert safe(best)


def test_greedy_over_suppresses_where_a_small_complementary_cell_cannot_move_enough():
    #  4  43 15 |  62      The rectangle 15, 14, 6 looks cheapest but cannot protect: the
    # 14  40  6 |  60      small cell down to 1 takes 6 down to 3, below the « s » label (≥ 5).
    # 18  83 21 | 122      Greedy takes 43, 14, 40 (97 persons); the optimum goes through the
    #                      total row: 15, 18, 21 (54 persons).
    table = grid([[4, 43, 15], [14, 40, 6]])
    greedy = protect([table], K, method="greedy")
    best = protect([table], K)
    assert persons(greedy) == 97
    assert masked(best) == {"t|r0|c2", "t|T|c0", "t|T|c2"}
    assert persons(best) == 54 == brute_force(table)
    assert best.search is not None
    assert best.search.method == "optimal" and best.search.greedy_persons == 97
    assert safe(best)
    text = best.text(table)
    assert text.loc["r0", "c0"] == "< 5" and text.loc["T", "T"] == "122"


def test_optimal_goes_round_a_kept_headline():
    table = grid([[4, 43, 15], [14, 40, 6]])
    keep = ("t|T|c0",)  # a headline: never hidden as secondary
    best = protect([table], K, keep=keep)
    assert not best.hidden("t|T|c0")
    assert persons(best) == brute_force(table, keep)
    assert persons(best) <= persons(protect([table], K, keep=keep, method="greedy"))
    assert safe(best)


def test_two_small_cells_in_a_row_strictly_fewer_persons_than_greedy():
    table = grid([[55, 16], [15, 22], [26, 3]])
    greedy = protect([table], K, method="greedy")
    best = protect([table], K)
    assert persons(greedy) == 97 and persons(best) == 63 == brute_force(table)
    assert safe(best)


def test_cost_cells_minimises_the_number_of_masked_cells():
    table = grid([[4, 43, 15], [14, 40, 6]])
    by_cells = protect([table], K, cost="cells")
    assert by_cells.search is not None and by_cells.search.cost == "cells"
    assert len(masked(by_cells)) == 3  # 3 cells either way; fewest persons among them
    assert persons(by_cells) == 54
    assert safe(by_cells)


def test_last_year_s_published_values_stay_published_and_its_small_cells_protected():
    last_table = CountTable(
        "y2023",
        "2023",
        pd.DataFrame([[3, 8, 20, 31]], index=["p"], columns=["A", "B", "C", "T"]),
        pd.DataFrame([["23|A", "23|B", "23|C", "23|T"]], index=["p"], columns=["A", "B", "C", "T"]),
        col_total="T",
    )
    last = protect([last_table], K)
    assert masked(last) == {"23|B"}  # 8 rather than 20
    evolution = CountTable(
        "evolution",
        "B and C",
        pd.DataFrame([[8, 12], [20, 2]], index=["B", "C"], columns=["2023", "2024"]),
        pd.DataFrame(
            [["23|B", "24|B"], ["23|C", "24|C"]], index=["B", "C"], columns=["2023", "2024"]
        ),
    )
    pub = protect([evolution], K, previous=last)
    assert pub.status["23|B"] == SECONDARY  # one status per key across the years
    assert pub.status["23|C"] == PUBLISHED  # published last year: never hidden in vain
    assert safe(pub, last)


def test_the_pattern_does_not_depend_on_the_clock(monkeypatch: pytest.MonkeyPatch):
    """A loaded machine (here a clock that jumps 30 s at every reading, far past the 20 s the
    search once had) publishes the same pattern as an idle one: the budget is work, not time."""
    first = grid([[4, 43, 15], [14, 40, 6]], name="a")  # optimum 54, greedy 97
    second = grid([[3, 50, 8], [40, 60, 9]], name="b")
    idle = protect([first, second], K)

    class SlowClock:
        now = 0.0

        def perf_counter(self) -> float:
            self.now += 30.0
            return self.now

    monkeypatch.setattr(suppression, "time", SlowClock())
    loaded = protect([first, second], K)
    assert idle.status == loaded.status and masked(loaded) == masked(idle)
    assert idle.search is not None and loaded.search is not None
    assert (loaded.search.solver, loaded.search.unfinished) == ("optimal", 0)
    assert persons(loaded) == 54 + 57


def test_the_safety_net_keeps_the_greedy_pattern_and_says_so(capsys: pytest.CaptureFixture[str]):
    table = grid([[4, 43, 15], [14, 40, 6]])
    rushed = protect([table], K, budget=Budget(safety_s=0.0))
    assert rushed.search is not None
    assert rushed.search.solver == "safety net" and rushed.search.method == "greedy"
    assert rushed.search.unfinished == rushed.search.groups == 1
    assert masked(rushed) == masked(protect([table], K, method="greedy"))
    assert safe(rushed)
    assert "filet de sécurité" in capsys.readouterr().err


def test_the_work_budget_is_checked_and_caps_the_solves():
    table = grid([[4, 43, 15], [14, 40, 6]])
    with pytest.raises(ValueError, match="Budget de recherche invalide"):
        Budget(nodes=0)
    spent = protect([table], K, budget=Budget(solves=1, nodes=1))  # one solve is enough here
    assert spent.search is not None and spent.search.master_solves <= spent.search.groups
    assert persons(spent) <= 97 and safe(spent)


def test_unknown_method_or_cost_is_refused():
    table = grid([[4, 43], [14, 40]])
    with pytest.raises(ValueError, match="Méthode"):
        protect([table], K, method="annealing")
    with pytest.raises(ValueError, match="Coût"):
        protect([table], K, cost="rows")


# --- (b) random small tables --------------------------------------------------------------------

counts = st.one_of(st.integers(0, 4), st.integers(5, 60))


@st.composite
def tables(draw: st.DrawFn) -> CountTable:
    n_rows = draw(st.integers(2, 4))
    n_cols = draw(st.integers(2, 4))
    inner = draw(
        st.lists(
            st.lists(counts, min_size=n_cols, max_size=n_cols), min_size=n_rows, max_size=n_rows
        )
    )
    return grid(inner, draw(st.sampled_from(["both", "both", "rows", "cols"])))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables_optimal_passes_the_audit_and_masks_no_more_than_greedy(table):
    try:
        greedy = protect([table], K, method="greedy")
    except ValueError:  # a small cell that no pattern can protect: both refuse
        with pytest.raises(ValueError):
            protect([table], K)
        return
    best = protect([table], K)
    assert safe(best)
    assert persons(best) <= persons(greedy)
    small = table.values.size <= 9 and audit(best)["protected"].all()
    if small and best.search is not None and best.search.solver == "optimal":
        assert persons(best) == brute_force(table)  # a 2×2 table with margins, or 2×3, 3×2
    assert best.search is not None and best.search.greedy_persons == persons(greedy)
    if best.search.solver == "optimal":  # the greedy pattern is one the program could choose
        assert best.search.optimal_persons is not None
        assert best.search.optimal_persons <= persons(greedy)
    for key, status in best.status.items():
        value = best.values[key]
        assert (status == PRIMARY) == (0 < value < K)
        if status == SECONDARY:
            assert value >= K


def test_a_reader_s_integer_tables_need_only_reach_beyond_the_ends_not_hit_them():
    # A guarded unprinted count u = x + y of two latent counts that the identities make equal
    # (T = x + z, T2 = y + z): u is even. With z hidden a reader knows u ∈ {0, 2, 4, 6, 8}:
    # protected (nothing learnt beyond « 0 to 8 »), though no table has u = 1 exactly.
    table = CountTable(
        "t",
        "t",
        pd.DataFrame({"n": [20, 20, 19]}, index=["T", "T2", "z"]),
        pd.DataFrame({"n": ["T", "T2", "z"]}, index=["T", "T2", "z"]),
    )
    identities = [
        Constraint("T", ("x", "z")),
        Constraint("T2", ("y", "z")),
        Constraint("u", ("x", "y")),
    ]
    pub = protect(
        [table],
        K,
        identities,
        latent={"x": 1.0, "y": 1.0},
        unprinted={"u": 2.0},
        guarded=["u"],
    )
    assert pub.search is not None and pub.search.solver == "optimal"
    assert pub.search.optimal_persons == 19 and masked(pub) == {"z"}
    assert safe(pub) and whole_number_audit(pub)["protected"].all()


def test_independent_tables_are_solved_apart_and_their_optima_add_up():
    first = grid([[4, 43, 15], [14, 40, 6]], name="a")  # optimum 54, greedy 97
    second = grid([[3, 50, 8], [40, 60, 9]], name="b")  # optimum 57 = greedy
    pub = protect([first, second], K)
    assert pub.search is not None
    assert (pub.search.groups, pub.search.proven, pub.search.solver) == (2, 2, "optimal")
    assert persons(pub) == 54 + 57 and pub.search.greedy_persons == 97 + 57
    assert masked(pub) == {"a|r0|c2", "a|T|c0", "a|T|c2", "b|r0|c2", "b|r1|c0", "b|r1|c2"}
    assert safe(pub)


def test_the_whole_number_audit_agrees_on_the_optimal_patterns():
    for inner in ([[4, 43, 15], [14, 40, 6]], [[55, 16], [15, 22], [26, 3]]):
        table = grid(inner)
        pub = protect([table], K)
        assert whole_number_audit(pub)["protected"].all()
        primary_only = protect([table], K)
        for key, status in primary_only.status.items():
            if status == SECONDARY:
                primary_only.status[key] = PUBLISHED
        assert not whole_number_audit(primary_only)["protected"].all()


def test_the_memoised_linear_programs_change_no_pattern_and_no_interval():
    """The reader's programs are memoised by content across a process (speed only): with the
    memo emptied before each search, or filled by the previous one, the same pattern and the
    same audit, interval for interval."""
    tables = [
        grid([[3, 50, 8, 12], [40, 60, 9, 2], [7, 4, 30, 25]], name="a"),
        grid([[4, 43, 15], [14, 40, 6]], name="b"),
    ]
    results = []
    for emptied in (True, False, False):
        if emptied:
            suppression._RANGES.clear()
        pub = protect(tables, K)
        results.append((dict(pub.status), audit(pub).to_dict("list")))
    assert results[0] == results[1] == results[2]
    assert suppression._RANGES  # the second and third searches asked the memo
