"""From scored pairs to persons: greedy merging with cannot-link constraints.

Connected components at a threshold (the usual Splink clustering) let one weak link chain two
persons together: a record without birth date, with a frequent name, can join « Jean Peeters
born 1970 » and « Jean Peeters born 1985 » into one person. Here links are taken from the most
to the least probable, and a link is refused when it would put into one person two records
that contradict each other: two birth dates that are neither equal nor day/month swaps of each
other, two different sexes, or a pair the analyst declared different (overrides). Without any
contradiction the result is exactly the connected components.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

__all__ = ["ClusteringResult", "RecordFacts", "cluster_records", "cluster_records_at"]


@dataclass(frozen=True)
class RecordFacts:
    """What may contradict: per record, its birth-date token, swapped token and sex."""

    ids: Sequence[str]
    birth_date: Sequence[object]
    birth_date_swapped: Sequence[object]
    sex: Sequence[object]

    @cached_property
    def _start(self) -> tuple[list[frozenset], dict, list[frozenset]]:
        """Each record's birth dates and sexes as a cluster of its own, and the swapped date
        of each known date: the same for every clustering of these records (the
        imputations cluster them twenty times), so made once; frozen, a clustering copies
        the lists and replaces a cluster's set when it grows."""
        dates = [frozenset((d,)) if _known(d) else _NONE for d in self.birth_date]
        swap = {
            d: s
            for d, s in zip(self.birth_date, self.birth_date_swapped, strict=True)
            if _known(d) and _known(s)
        }
        sexes = [frozenset((s,)) if s in ("M", "F") else _NONE for s in self.sex]
        return dates, swap, sexes

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> RecordFacts:
        return cls(
            list(frame["unique_id"]),
            list(frame["tok_birth_date"]),
            list(frame["tok_birth_date_swapped"]),
            list(frame["sex"]),
        )


_NONE: frozenset = frozenset()


def _known(value: object) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and value != value)
        and value is not pd.NA
    )


@dataclass
class ClusteringResult:
    labels: np.ndarray
    """Cluster number of each record (the index of its first record in ``ids`` order)."""
    refused: int
    """Links at or above the threshold refused because of a contradiction."""
    forced: int
    """Links forced by the analyst's overrides."""
    by_network_id: int = 0
    """Links made because two records share a network-wide person id."""


class _Clusters:
    """Union–find whose clusters remember their birth dates, sexes and forbidden partners."""

    def __init__(self, facts: RecordFacts, apart: Iterable[tuple[int, int]]) -> None:
        self.parent = list(range(len(facts.ids)))
        dates, self.swap, sexes = facts._start
        self.dates: list[frozenset] = list(dates)
        self.sexes: list[frozenset] = list(sexes)
        self.apart: dict[int, set[int]] = {}
        """Forbidden partners, for the clusters that have any."""
        for a, b in apart:
            self.apart.setdefault(a, set()).add(b)
            self.apart.setdefault(b, set()).add(a)

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
        if ra in self.apart and rb in self.apart:
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
            self.dates[ra] = self.dates[ra] | self.dates[rb]
            self.sexes[ra] = self.sexes[ra] | self.sexes[rb]
        else:
            self.dates[ra], self.sexes[ra] = _NONE, _NONE
        if rb in self.apart:
            self.apart.setdefault(ra, set()).update(self.apart.pop(rb))
        self.dates[rb] = self.sexes[rb] = _NONE

    def roots(self) -> np.ndarray:
        """Each record's cluster (its root), by pointer jumping on the parents: what
        :meth:`find` gives for each, without a Python call per record."""
        labels = np.asarray(self.parent, dtype=np.int64)
        while True:
            up = labels[labels]
            if np.array_equal(up, labels):
                return labels
            labels = up


def cluster_records(
    facts: RecordFacts,
    pairs: pd.DataFrame,
    threshold: float,
    together: Iterable[tuple[int, int]] = (),
    apart: Iterable[tuple[int, int]] = (),
    must_link: Iterable[tuple[int, int]] = (),
) -> ClusteringResult:
    """Group records into persons.

    ``pairs`` has integer positions ``a`` and ``b`` (into ``facts.ids``) and
    ``match_probability``. Records sharing a network-wide person id (``must_link``) and
    forced links (``together``) are applied first and unconditionally; then pairs at or above
    ``threshold``, most probable first (ties broken by position, so the result does not depend
    on the order of the input). Probabilistic links only ever join clusters, so they never
    split what a network id joined; a link that would contradict a birth date or sex of a
    record already in the cluster is refused as for any other (when the network id joined
    records that contradict each other, one holds a typing error: the cluster's birth dates
    and sexes are then forgotten, and only the model's probability decides).
    """
    return cluster_records_at(facts, pairs, [threshold], together, apart, must_link)[threshold]


def cluster_records_at(
    facts: RecordFacts,
    pairs: pd.DataFrame,
    thresholds: Iterable[float],
    together: Iterable[tuple[int, int]] = (),
    apart: Iterable[tuple[int, int]] = (),
    must_link: Iterable[tuple[int, int]] = (),
) -> dict[float, ClusteringResult]:
    """:func:`cluster_records` at each of ``thresholds``, in one pass over the pairs.

    Links are taken most probable first, so the links of a higher threshold are the first ones
    taken at a lower threshold, in the same order: the clusters at each threshold are those
    reached when the next link falls below it (the threshold sensitivity of the diagnostics
    clustered the records anew at each of its dozen thresholds).
    """
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
    # As Python numbers (the same values): the loop below is Python, one step per link.
    links = zip(
        kept["a"].to_numpy()[order].tolist(),
        kept["b"].to_numpy()[order].tolist(),
        kept["match_probability"].to_numpy()[order].tolist(),
        strict=True,
    )
    link = next(links, None)
    refused = 0
    out: dict[float, ClusteringResult] = {}
    for threshold in steps:
        while link is not None and link[2] >= threshold:
            ra, rb = clusters.find(int(link[0])), clusters.find(int(link[1]))
            if ra != rb:
                if clusters.compatible(ra, rb):
                    clusters.union(ra, rb)
                else:
                    refused += 1
            link = next(links, None)
        labels = clusters.roots()
        out[threshold] = ClusteringResult(labels, refused, forced, by_id)
    return out
