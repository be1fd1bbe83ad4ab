"""The clustering with its start shared between clusterings and its roots found by pointer
jumping gives what the former union–find gave, to the bit (the reference is that code,
copied here), with contradictions, network ids, forced links and pairs kept apart."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest

from observatoire.linkage.clustering import RecordFacts, cluster_records_at


def _known(value: object) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and value != value)
        and value is not pd.NA
    )


class _Clusters:
    """Union–find whose clusters remember their birth dates, sexes and forbidden partners."""

    def __init__(self, facts: RecordFacts, apart: Iterable[tuple[int, int]]) -> None:
        n = len(facts.ids)
        self.parent = list(range(n))
        self.dates: list[set] = [{d} if _known(d) else set() for d in facts.birth_date]
        self.swap = {
            d: s
            for d, s in zip(facts.birth_date, facts.birth_date_swapped, strict=True)
            if _known(d) and _known(s)
        }
        self.sexes: list[set] = [{s} if s in ("M", "F") else set() for s in facts.sex]
        self.apart: list[set[int]] = [set() for _ in range(n)]
        for a, b in apart:
            self.apart[a].add(b)
            self.apart[b].add(a)

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def compatible(self, ra: int, rb: int) -> bool:
        if len(self.sexes[ra] | self.sexes[rb]) > 1:
            return False
        for d1 in self.dates[ra]:
            for d2 in self.dates[rb]:
                if d1 != d2 and self.swap.get(d1) != d2:
                    return False
        if self.apart[ra] and self.apart[rb]:
            return not any(self.find(x) == rb for x in self.apart[ra])
        return True

    def union(self, ra: int, rb: int, facts: bool = True) -> None:
        """Join two clusters; with ``facts`` false the joined cluster forgets its birth dates
        and sexes (a network id joining records that contradict each other: one of them holds
        a typing error, so neither may refuse a later link)."""
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        if facts:
            self.dates[ra] |= self.dates[rb]
            self.sexes[ra] |= self.sexes[rb]
        else:
            self.dates[ra], self.sexes[ra] = set(), set()
        self.apart[ra] |= self.apart[rb]
        self.dates[rb] = self.sexes[rb] = set()
        self.apart[rb] = set()


def reference_cluster_records_at(
    facts: RecordFacts,
    pairs: pd.DataFrame,
    thresholds: Iterable[float],
    together: Iterable[tuple[int, int]] = (),
    apart: Iterable[tuple[int, int]] = (),
    must_link: Iterable[tuple[int, int]] = (),
) -> dict:
    clusters = _Clusters(facts, apart)
    must_link = list(must_link)
    by_id = 0
    for a, b in must_link:
        ra, rb = clusters.find(a), clusters.find(b)
        if ra != rb:
            clusters.union(ra, rb, facts=clusters.compatible(ra, rb))
            by_id += 1
    forced = 0
    for a, b in together:
        ra, rb = clusters.find(a), clusters.find(b)
        if ra != rb:
            clusters.union(ra, rb)
            forced += 1
    steps = sorted(set(thresholds), reverse=True)
    if not steps:
        return {}
    kept = pairs[pairs["match_probability"] >= steps[-1]]
    order = np.lexsort(
        (kept["b"].to_numpy(), kept["a"].to_numpy(), -kept["match_probability"].to_numpy())
    )
    links = zip(
        kept["a"].to_numpy()[order],
        kept["b"].to_numpy()[order],
        kept["match_probability"].to_numpy()[order],
        strict=True,
    )
    link = next(links, None)
    refused = 0
    out: dict = {}
    for threshold in steps:
        while link is not None and link[2] >= threshold:
            ra, rb = clusters.find(int(link[0])), clusters.find(int(link[1]))
            if ra != rb:
                if clusters.compatible(ra, rb):
                    clusters.union(ra, rb)
                else:
                    refused += 1
            link = next(links, None)
        labels = np.fromiter((clusters.find(i) for i in range(len(facts.ids))), dtype=np.int64)
        out[threshold] = (labels, refused, forced, by_id)
    return out


def planted(seed: int, n: int = 600) -> tuple[RecordFacts, pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    dates = [None if rng.random() < 0.2 else f"d{rng.integers(0, 40)}" for _ in range(n)]
    swapped = [
        None if d is None or rng.random() < 0.5 else f"d{rng.integers(0, 40)}" for d in dates
    ]
    sexes = [("M", "F", None, "X")[rng.integers(0, 4)] for _ in range(n)]
    facts = RecordFacts([f"k{i:04d}" for i in range(n)], dates, swapped, sexes)
    m = 4 * n
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    pairs = pd.DataFrame(
        {
            "a": np.minimum(a, b)[keep],
            "b": np.maximum(a, b)[keep],
            # a coarse grid of probabilities: many ties, broken by position
            "match_probability": np.round(rng.random(int(keep.sum())), 1),
        }
    )

    def some(k: int) -> list[tuple[int, int]]:
        return [(int(x), int(y)) for x, y in rng.integers(0, n, (k, 2)) if x != y]

    return facts, pairs, {"together": some(15), "apart": some(40), "must_link": some(30)}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_clustering_is_the_former_union_find(seed: int) -> None:
    facts, pairs, links = planted(seed)
    thresholds = [0.95, 0.7, 0.5, 0.2, 0.0]
    for _ in range(2):  # the second clustering starts from the shared start
        got = cluster_records_at(facts, pairs, thresholds, **links)
        expected = reference_cluster_records_at(facts, pairs, thresholds, **links)
        assert set(got) == set(expected)
        assert expected[0.0][1] > 0  # contradictions were refused
        for t, (labels, refused, forced, by_id) in expected.items():
            np.testing.assert_array_equal(got[t].labels, labels)
            assert (got[t].refused, got[t].forced, got[t].by_network_id) == (refused, forced, by_id)
