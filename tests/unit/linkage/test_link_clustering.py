"""Clustering scored pairs into persons: thresholds, contradictions, overrides, determinism."""

from __future__ import annotations

import pandas as pd
import pytest

from observatoire.linkage.clustering import RecordFacts, cluster_records


def facts(dates: list[object], sexes: list[object] | None = None, swaps=None) -> RecordFacts:
    n = len(dates)
    return RecordFacts(
        [f"r{i}" for i in range(n)],
        dates,
        swaps or [None] * n,
        sexes or ["M"] * n,
    )


def pairs(*edges: tuple[int, int, float]) -> pd.DataFrame:
    return pd.DataFrame(edges, columns=["a", "b", "match_probability"])


def groups(labels) -> list[set[int]]:
    out: dict[int, set[int]] = {}
    for i, label in enumerate(labels):
        out.setdefault(int(label), set()).add(i)
    return sorted(out.values(), key=min)


def test_without_contradiction_it_is_connected_components_at_the_threshold():
    f = facts(["d1", "d1", "d1", "d2"])
    res = cluster_records(f, pairs((0, 1, 0.9), (1, 2, 0.6), (2, 3, 0.4)), threshold=0.5)
    assert groups(res.labels) == [{0, 1, 2}, {3}]
    assert res.refused == 0


def test_an_undated_record_does_not_chain_two_birth_dates():
    """« Jean Peeters » without birth date matches two Jean Peeters born on different days: it
    joins the more probable one, and the two others stay two persons."""
    f = facts(["1970", None, "1985"])
    res = cluster_records(f, pairs((0, 1, 0.7), (1, 2, 0.8)), threshold=0.5)
    assert groups(res.labels) == [{0}, {1, 2}]
    assert res.refused == 1


def test_day_month_swapped_dates_are_not_a_contradiction():
    f = facts(["1990-03-07", None, "1990-07-03"], swaps=["1990-07-03", None, "1990-03-07"])
    res = cluster_records(f, pairs((0, 1, 0.9), (1, 2, 0.9)), threshold=0.5)
    assert groups(res.labels) == [{0, 1, 2}]


def test_two_sexes_are_a_contradiction_unknown_is_not():
    f = facts([None, None, None], sexes=["M", None, "F"])
    res = cluster_records(f, pairs((0, 1, 0.9), (1, 2, 0.8)), threshold=0.5)
    assert groups(res.labels) == [{0, 1}, {2}]


def test_overrides_force_together_and_apart():
    f = facts(["d1", "d1", "d2", "d3"])
    res = cluster_records(
        f,
        pairs((0, 1, 0.99)),
        threshold=0.5,
        together=[(2, 3)],
        apart=[(0, 1)],
    )
    assert groups(res.labels) == [{0}, {1}, {2, 3}]
    assert res.forced == 1


def test_apart_holds_through_a_chain():
    f = facts([None, None, None])
    res = cluster_records(f, pairs((0, 1, 0.9), (1, 2, 0.8)), threshold=0.5, apart=[(0, 2)])
    assert groups(res.labels) == [{0, 1}, {2}]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_result_does_not_depend_on_the_order_of_the_pairs(seed):
    f = facts(["1970", None, "1985", None])
    p = pairs((0, 1, 0.7), (1, 2, 0.7), (2, 3, 0.6), (0, 3, 0.6))
    base = cluster_records(f, p, threshold=0.5).labels
    shuffled = cluster_records(f, p.sample(frac=1, random_state=seed), threshold=0.5).labels
    assert list(base) == list(shuffled)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_pass_over_thresholds_gives_each_thresholds_clusters(seed):
    """Clustering at a dozen thresholds in one pass (the threshold sensitivity) gives what a
    clustering at each threshold alone gives, refusals included."""
    import numpy as np

    from observatoire.linkage.clustering import cluster_records_at

    rng = np.random.default_rng(seed)
    n = 60
    f = facts(
        list(rng.choice(["d1", "d2", "d3", None], size=n)),
        list(rng.choice(["M", "F", None], size=n)),
    )
    a = rng.integers(0, n, size=300)
    b = rng.integers(0, n, size=300)
    edges = pairs(
        *[(int(x), int(y), float(p)) for x, y, p in zip(a, b, rng.random(300), strict=True)]
    )
    grid = [0.2, 0.5, 0.5, 0.7, 0.95, 0.99]
    apart, together = [(1, 2), (3, 4)], [(5, 6)]
    at = cluster_records_at(f, edges, grid, together, apart)
    assert sorted(at) == sorted(set(grid))
    for t in grid:
        alone = cluster_records(f, edges, t, together, apart)
        assert (at[t].labels == alone.labels).all(), t
        assert (at[t].refused, at[t].forced) == (alone.refused, alone.forced)
