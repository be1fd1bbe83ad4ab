"""Typology of trajectories: hierarchical clustering of a sequence-distance matrix.

The usual sequence-analysis route (Studer, 2013, *WeightedCluster Library Manual*): an
agglomerative clustering of the optimal-matching distances (Ward by default, as in most
published typologies, or average linkage), cut at several numbers of types, the number kept
being the one with the highest average silhouette width (ASW). Ward's criterion assumes
Euclidean distances, which OM distances are not; it is nevertheless the field's standard and
the ASW then says whether the partition it gives holds up. The ASW is read with Kaufman &
Rousseeuw's (1990) thresholds, see :func:`silhouette_quality`.

Identical sequences (hundreds of young people are seen once and never again) sit at distance
0 from each other: each of them has a silhouette near 1 and the person-level ASW rises with
their number, not with the separation of the types. The number of types is therefore chosen
on the **ASW of distinct sequences** (each sequence once, :func:`distinct_silhouette`); the
person-level ASW is kept for comparison. Whether the types are real is then checked in
:mod:`observatoire.youth.robustness` (bootstrap stability, a null model, other distances).

Types are numbered 1..k by decreasing size so that "type 1" is always the most common
trajectory, whatever the order the clustering happened to produce.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# scipy.cluster and sklearn (~1 s to import) are imported by the functions that cluster: the
# youth report imports this module for :func:`silhouette_quality` only.

__all__ = [
    "LINKAGE_METHODS",
    "Typology",
    "build_typology",
    "cut",
    "distinct_rows",
    "distinct_silhouette",
    "medoids",
    "silhouette_quality",
]

LINKAGE_METHODS = ("ward", "average")
MIN_SEQUENCES = 3


@dataclass(frozen=True, eq=False)
class Typology:
    """A partition of the sequences into ``k`` types.

    ``labels[p]`` is the type (1..k, by decreasing size, ties broken by the smallest member
    index) of sequence ``p``; ``silhouette_by_k`` the ASW of every k tried and
    ``silhouette_samples`` each sequence's silhouette for the chosen k (negative = closer on
    average to another type than to its own). ``eq=False``: arrays have no truth value.
    """

    k: int
    labels: np.ndarray
    silhouette_by_k: dict[int, float]
    silhouette_samples: np.ndarray
    method: str
    silhouette_distinct_by_k: dict[int, float] = field(default_factory=dict)
    """ASW over distinct sequences (each once), the criterion of the choice of k."""

    @property
    def sizes(self) -> dict[int, int]:
        """Number of sequences in each type, type 1 first."""
        counts = np.bincount(self.labels, minlength=self.k + 1)[1:]
        return {t + 1: int(c) for t, c in enumerate(counts)}

    @property
    def asw(self) -> float:
        """Average silhouette width of the chosen partition (persons)."""
        return self.silhouette_by_k[self.k]

    @property
    def asw_distinct(self) -> float:
        """Average silhouette width of the chosen partition over distinct sequences."""
        return self.silhouette_distinct_by_k.get(self.k, math.nan)


def _renumber(raw: np.ndarray) -> np.ndarray:
    """Types 1..k by decreasing size, ties by the smallest member index."""
    groups, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))  # last key is the primary one
    new_label = np.empty(len(groups), dtype=np.int64)
    new_label[order] = np.arange(1, len(groups) + 1)
    return new_label[np.searchsorted(groups, raw)]


_KEY_COLUMNS = 64  # columns on which the rows are grouped before being compared whole


def _first_of_equal_rows(d: np.ndarray) -> np.ndarray:
    """First row of each class of byte-equal rows, increasing; −0.0 made +0.0 first so that the
    classes are those of float equality."""
    d = np.ascontiguousarray(d + 0.0 if d.dtype.kind == "f" else d)
    rows = d.view(np.dtype((np.void, d.dtype.itemsize * d.shape[1]))).ravel()
    _, first = np.unique(rows, return_index=True)  # stable: the first row of each class
    return np.sort(first)


def distinct_rows(dist: np.ndarray) -> np.ndarray:
    """Index of one representative of each distinct sequence (identical rows of ``dist``): the
    first row of each class, in increasing order.

    Equal rows agree on every column, so the rows are first grouped on a few columns (a sort of
    short rows compared as raw bytes, which numpy does many times faster than float rows field
    by field); a group whose rows all equal its first row, as nearly all are, is one class,
    checked in one pass; a group that is not is sorted on its whole rows. A person-level matrix
    (thousands of identical rows) was sorted whole before, the rows of a class compared end to
    end at every step: 0.5 s per call on 6,500 persons, called ~10 times by the typology. A
    matrix with NaN, which a distance never has, falls back to the float comparison, where NaN
    differs from itself.
    """
    d = np.asarray(dist)
    if d.ndim != 2 or d.shape[1] == 0 or (d.dtype.kind == "f" and np.isnan(d).any()):
        _, first = np.unique(d, axis=0, return_index=True)
        return np.sort(first)
    m = d.shape[1]
    cols = np.unique(np.linspace(0, m - 1, min(m, _KEY_COLUMNS)).astype(np.intp))
    key = np.ascontiguousarray(d[:, cols] + 0.0 if d.dtype.kind == "f" else d[:, cols])
    _, group = np.unique(
        key.view(np.dtype((np.void, key.dtype.itemsize * len(cols)))).ravel(),
        return_inverse=True,
    )
    order = np.argsort(group.reshape(-1), kind="stable")  # by group, rows increasing within
    bounds = np.flatnonzero(np.diff(group.reshape(-1)[order])) + 1
    firsts: list[np.ndarray] = []
    for rows in np.split(order, bounds):
        if len(rows) == 1 or (d[rows[1:]] == d[rows[0]]).all():
            firsts.append(rows[:1])
        else:
            firsts.append(rows[_first_of_equal_rows(d[rows])])
    return np.sort(np.concatenate(firsts))


def distinct_silhouette(
    dist: np.ndarray, labels: np.ndarray, first: np.ndarray | None = None
) -> float:
    """ASW over distinct sequences: each distinct sequence counts once, whatever the number of
    persons who share it (identical sequences always fall in the same type). NaN when the
    distinct sequences form fewer than 2 types or are all in their own type. ``first``:
    :func:`distinct_rows` of ``dist`` when already computed (it sorts the whole matrix)."""
    from sklearn.metrics import silhouette_score

    first = distinct_rows(dist) if first is None else first
    lab = np.asarray(labels)[first]
    n_types = len(np.unique(lab))
    if n_types < 2 or n_types >= len(first):
        return math.nan
    return float(
        silhouette_score(np.asarray(dist)[np.ix_(first, first)], lab, metric="precomputed")
    )


def cut(tree: np.ndarray, k: int) -> np.ndarray:
    """Flat clusters of a linkage tree at exactly ``k`` types (see :func:`_cut`)."""
    return _cut(tree, k)


def _cut(tree: np.ndarray, k: int) -> np.ndarray:
    """Flat clusters at exactly k types.

    ``fcluster(maxclust)`` cuts at a height and may return fewer than k clusters when merge
    heights are tied (frequent with integer OM distances); then the tree is cut after its
    first n − k merges instead (``cut_tree``, exact for these monotone linkages).
    """
    from scipy.cluster.hierarchy import cut_tree, fcluster

    labels = fcluster(tree, t=k, criterion="maxclust")
    if len(np.unique(labels)) != k:
        labels = cut_tree(tree, n_clusters=k).ravel()
    return labels


def build_typology(
    dist: np.ndarray,
    k_values: Sequence[int] = range(3, 9),
    method: str = "ward",
    criterion: str = "distinct",
) -> Typology:
    """Cluster a square distance matrix and keep the k with the highest ASW (ties: smallest k).

    ``criterion="distinct"`` (default) ranks the k by the ASW of distinct sequences,
    ``"persons"`` by the person-level ASW (the choice before 2025, inflated by identical
    sequences). k values below 2 or not below the number of distinct points are skipped,
    since their silhouette is undefined.
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform
    from sklearn.metrics import silhouette_samples, silhouette_score

    dist = np.asarray(dist, dtype=np.float64)
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError("dist must be a square distance matrix")
    n = dist.shape[0]
    if n < MIN_SEQUENCES:
        raise ValueError(
            f"Au moins {MIN_SEQUENCES} séquences sont nécessaires pour construire une "
            f"typologie ({n} fournie(s))."
        )
    if method not in LINKAGE_METHODS:
        raise ValueError(f"unknown linkage method {method!r} ({', '.join(LINKAGE_METHODS)})")
    first = distinct_rows(dist)  # once, for every k
    n_distinct = len(first)
    tree = linkage(squareform(dist, checks=False), method=method)

    if criterion not in ("distinct", "persons"):
        raise ValueError(f"unknown criterion {criterion!r} (distinct, persons)")
    asw: dict[int, float] = {}
    asw_distinct: dict[int, float] = {}
    cuts: dict[int, np.ndarray] = {}
    for k in sorted(set(int(k) for k in k_values)):
        if k < 2 or k >= n_distinct:
            continue
        labels = _cut(tree, k)
        cuts[k] = labels
        asw[k] = float(silhouette_score(dist, labels, metric="precomputed"))
        asw_distinct[k] = distinct_silhouette(dist, labels, first)
    if not asw:
        raise ValueError(
            f"Aucun nombre de types testable : il faut moins de types que de séquences "
            f"distinctes ({n_distinct})."
        )
    score = asw_distinct if criterion == "distinct" else asw
    best = max(asw, key=lambda k: (np.nan_to_num(score[k], nan=-2.0), -k))
    labels = _renumber(cuts[best])
    return Typology(
        k=best,
        labels=labels,
        silhouette_by_k=asw,
        silhouette_samples=silhouette_samples(dist, labels, metric="precomputed"),
        method=method,
        silhouette_distinct_by_k=asw_distinct,
    )


def silhouette_quality(asw: float) -> str:
    """Kaufman & Rousseeuw's reading of an average silhouette width, in French."""
    if asw is None or math.isnan(asw):
        return "non calculable"
    if asw > 0.70:
        return "structure forte"
    if asw > 0.50:
        return "structure raisonnable"
    if asw > 0.25:
        return "structure faible, à interpréter avec prudence"
    return "pas de structure substantielle"


def medoids(dist: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """Index of each type's medoid: the member with the smallest total distance to the others.

    The medoid is a real, representative trajectory (unlike a centroid); ties go to the
    smallest index.
    """
    dist = np.asarray(dist)
    labels = np.asarray(labels)
    out: dict[int, int] = {}
    for t in np.unique(labels):
        members = np.flatnonzero(labels == t)
        within = dist[np.ix_(members, members)].sum(axis=1)
        out[int(t)] = int(members[np.argmin(within)])
    return out
