"""Does the typology survive checks? Stability, a null model, other distances.

A hierarchical clustering always returns k types, real or not. Three checks decide which of
them the report may present:

* **Bootstrap stability of each type** (Hennig, 2007, *Comput. Stat. Data Anal.* 52:258): the
  persons are resampled with replacement ``n_boot`` times, the resample is clustered again with
  the same method and k, and each original type is matched to its most similar new type by the
  Jaccard index (on the distinct persons drawn). A type whose mean Jaccard is below 0.75 is not
  presented as a type (Hennig: ≥ 0.75 stable, 0.6–0.75 a pattern, ≤ 0.5 dissolved); its
  persons are shown together as « trajectoires sans type stable ».
* **Null models**: each person's months are shuffled (the time spent in each state is kept, the
  order is destroyed), or each month's states are shuffled across persons (the chronogram is
  kept, the individual trajectories destroyed); the distances are recomputed and clustered at
  the same k. The observed ASW of distinct sequences is compared with these null
  distributions: a typology whose ASW a shuffle reaches says nothing about *trajectories*.
* **Sensitivity to the distance**: OM with TRATE costs, OM with constant costs, Hamming and a
  spell-aware distance (:func:`~observatoire.youth.sequences.spell_distances`); each gives its
  k, its ASW and its agreement with the retained partition (adjusted Rand index).

**Large cohorts.** The bootstrap clusters ``n_boot`` resamples of n persons and each null draw
clusters n shuffled sequences (whose distinct sequences are nearly all distinct, so their OM
distances cost O(n²) pairs): both grow with the square of the cohort (measured exponents
1.9–2.1), 20 to 30 times the typology itself. Above ``max_persons`` young persons they run on
random subsamples, the standard large-data practice of sequence analysis (CLARA-type
clustering on subsamples, Kaufman & Rousseeuw, 1990, ch. 3; TraMineR/WeightedCluster's
``seqclararange``, Studer, 2013, and Studer, Sadeghi & Tochon, 2024): the bootstrap becomes an
m-out-of-n bootstrap (Bickel, Götze & van Zwet, 1997: resamples of m = ``max_persons``
persons with replacement; a type must then be found again from fewer persons, so its Jaccard
can only be more conservative), and the null models compare the shuffled sequences of one
random subsample of ``max_persons`` persons (:func:`check_subsample`) with the real
sequences of *the same* subsample clustered the same way at the same k
(:func:`distinct_asw_at`), like with like. At or below ``max_persons`` persons nothing is
drawn and the checks are exactly those of the whole cohort.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import adjusted_rand_score

from observatoire.youth import sequences as seq
from observatoire.youth import typology

__all__ = [
    "DEFAULT_SEED",
    "DISTANCES",
    "NULL_MODELS",
    "bootstrap_jaccard",
    "check_subsample",
    "choose_typology",
    "distance_matrix",
    "distance_sensitivity",
    "distinct_asw_at",
    "null_silhouettes",
]

DEFAULT_SEED = 20_240_601
DISTANCES = {
    "om_trate": "Appariement optimal, coûts TRATE",
    "om_constant": "Appariement optimal, coûts constants",
    "hamming": "Hamming (coûts constants)",
    "spell": "Appariement optimal des épisodes (durées pondérées)",
}
"""The distances of the sensitivity analysis, with their French labels."""


def distance_matrix(
    sequences: seq.SequenceSet, name: str, indel: float = 1.0, expcost: float = 0.5
) -> np.ndarray:
    """The distance matrix ``name`` (a key of :data:`DISTANCES`) between the sequences."""
    if name == "om_trate":
        return seq.optimal_matching(
            sequences.codes, seq.substitution_costs(sequences, "trate"), indel
        )
    if name == "om_constant":
        return seq.optimal_matching(
            sequences.codes, seq.substitution_costs(sequences, "constant"), indel
        )
    if name == "hamming":
        return seq.hamming_distances(sequences.codes)
    if name == "spell":
        costs = seq.substitution_costs(sequences, "constant")
        return seq.spell_distances(sequences.codes, costs, indel, expcost)
    raise ValueError(f"unknown distance {name!r} ({', '.join(DISTANCES)})")


def bootstrap_jaccard(
    dist: np.ndarray,
    labels: np.ndarray,
    method: str = "ward",
    n_boot: int = 100,
    seed: int = DEFAULT_SEED,
    max_persons: int | None = None,
) -> dict[int, float]:
    """Mean bootstrap Jaccard of each type of ``labels`` (clusterboot, Hennig 2007).

    Each resample draws n persons with replacement (m = ``max_persons`` of them when n is
    larger: the m-out-of-n bootstrap, see the module's « Large cohorts »), is clustered with
    ``method`` into as many types as ``labels`` has, and each original type (restricted to the
    distinct persons drawn) is matched to the resampled type with the largest Jaccard
    |A ∩ B| / |A ∪ B|. A type absent from a resample is skipped for that resample. NaN for a
    type never drawn.
    """
    dist = np.asarray(dist, dtype=np.float64)
    labels = np.asarray(labels)
    types = np.unique(labels)
    k = len(types)
    n = len(labels)
    m = n if max_persons is None else min(n, max_persons)
    rng = np.random.default_rng(seed)
    scores: dict[int, list[float]] = {int(t): [] for t in types}
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=m)
        sub = dist[np.ix_(idx, idx)]
        tree = linkage(squareform(sub, checks=False), method=method)
        new = typology.cut(tree, k)
        # person → new type (duplicates of a person always fall together: distance 0)
        drawn, first = np.unique(idx, return_index=True)
        new_of = new[first]
        old_of = labels[drawn]
        for t in types:
            a = old_of == t
            if not a.any():
                continue
            best = 0.0
            for c in np.unique(new_of[a]):
                b = new_of == c
                best = max(best, (a & b).sum() / (a | b).sum())
            scores[int(t)].append(float(best))
    return {t: float(np.mean(v)) if v else math.nan for t, v in scores.items()}


NULL_MODELS = {
    "persons": "mois mélangés dans chaque séquence (ordre détruit, temps par état gardé)",
    "months": "états mélangés entre personnes chaque mois (chronogramme gardé)",
}


def check_subsample(n: int, max_persons: int | None, seed: int = DEFAULT_SEED) -> np.ndarray | None:
    """Positions (increasing) of the ``max_persons`` persons, drawn at random without
    replacement, on whom the null models run when the cohort has more than ``max_persons``
    persons; None (everyone, nothing drawn) otherwise. See the module's « Large cohorts »."""
    if max_persons is None or n <= max_persons:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=max_persons, replace=False))


def distinct_asw_at(dist: np.ndarray, k: int, method: str = "ward") -> float:
    """ASW of distinct sequences of ``dist`` clustered with ``method`` and cut at ``k`` types
    (what a null draw computes); NaN when there are at most ``k`` distinct sequences."""
    first = typology.distinct_rows(dist)
    if len(first) <= k:
        return math.nan
    tree = linkage(squareform(dist, checks=False), method=method)
    return typology.distinct_silhouette(dist, typology.cut(tree, k), first)


def null_silhouettes(
    sequences: seq.SequenceSet,
    distance: Callable[[seq.SequenceSet], np.ndarray],
    k: int,
    method: str = "ward",
    draws: int = 20,
    seed: int = DEFAULT_SEED,
    model: str = "persons",
) -> np.ndarray:
    """ASW of distinct sequences of ``draws`` null typologies at ``k`` types.

    ``model="persons"``: every person's months are permuted (the time spent in each state is
    kept, the order and the spells destroyed): a typology that does no better describes how
    much contact people had, not their trajectories. ``model="months"``: each month's states
    are permuted across persons (the chronogram is kept, individual trajectories destroyed).
    The shuffled sequences are clustered exactly as the real ones.
    """
    if model not in NULL_MODELS:
        raise ValueError(f"unknown null model {model!r} ({', '.join(NULL_MODELS)})")
    rng = np.random.default_rng(seed)
    out = np.full(draws, math.nan)
    axis = 1 if model == "persons" else 0
    for i in range(draws):
        shuffled = seq.SequenceSet(
            sequences.person_ids, sequences.states, rng.permuted(sequences.codes, axis=axis)
        )
        out[i] = distinct_asw_at(distance(shuffled), k, method)
    return out


def distance_sensitivity(
    sequences: seq.SequenceSet,
    reference: np.ndarray,
    k_values: Sequence[int],
    method: str = "ward",
    min_type_size: int = 1,
    indel: float = 1.0,
    expcost: float = 0.5,
    known: Mapping[str, typology.Typology] | None = None,
) -> pd.DataFrame:
    """The typology under each distance of :data:`DISTANCES`.

    For each: the k chosen by the ASW of distinct sequences among the partitions whose types
    all have at least ``min_type_size`` persons, that ASW, the person-level ASW, the sizes of
    the types, and the adjusted Rand index with the ``reference`` partition (1 = the same
    partition, 0 = chance agreement). ``known``: typologies already chosen with these
    arguments, by distance name (the study's own, usually OM-TRATE), not computed again: the
    clustering of n persons is the one part here that grows with the square of n.
    """
    rows = []
    known = known or {}
    for name, label in DISTANCES.items():
        if name in known:
            typ = known[name]
        else:
            dist = distance_matrix(sequences, name, indel, expcost)
            typ = choose_typology(dist, k_values, method, min_type_size)
        rows.append(
            {
                "distance": name,
                "label": label,
                "k": typ.k,
                "asw_distinct": typ.asw_distinct,
                "asw_persons": typ.asw,
                "sizes": " / ".join(str(v) for v in typ.sizes.values()),
                "ari": float(adjusted_rand_score(reference, typ.labels)),
            }
        )
    return pd.DataFrame(rows)


def choose_typology(
    dist: np.ndarray, k_values: Sequence[int], method: str, min_type_size: int
) -> typology.Typology:
    """The typology with the best ASW of distinct sequences among those whose every type has
    at least ``min_type_size`` persons (a type of two persons can be neither described nor
    published); if no k qualifies, the best k overall."""
    best = typology.build_typology(dist, k_values, method)
    score = best.silhouette_distinct_by_k
    ranked = sorted(score, key=lambda k: (-np.nan_to_num(score[k], nan=-2.0), k))
    for k in ranked:
        typ = best if k == best.k else typology.build_typology(dist, [k], method)
        if min(typ.sizes.values()) >= min_type_size:
            return typology.Typology(
                k=typ.k,
                labels=typ.labels,
                silhouette_by_k=best.silhouette_by_k,
                silhouette_samples=typ.silhouette_samples,
                method=typ.method,
                silhouette_distinct_by_k=best.silhouette_distinct_by_k,
            )
    return best
