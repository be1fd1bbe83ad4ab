"""Monthly state sequences and the distances between them (Hamming, optimal matching).

Each person of the cohort is described month by month, from the calendar month of their first
contact, by the most supportive service they used that month: a Housing First tenancy beats a
stay in a *maison d'accueil*, which beats a night shelter, then day centres and social
emergency, then street work alone, then no contact at all. The priority order is the order of
``states`` (highest first) and the codes of a :class:`SequenceSet` index into it, so a smaller
code always means "more supported"; the last state is the "no contact" state.

Distances follow TraMineR's conventions (Gabadinho et al., 2011, *J. Stat. Softw.* 40(4)):
constant substitution cost 2 or ``TRATE`` costs 2 − p(i→j) − p(j→i), indel cost 1, and
optimal matching as the Needleman–Wunsch / Levenshtein edit distance with those costs.
Identical sequences are frequent (many people are seen once and never again), so distances are
computed between distinct sequences only and then expanded back to persons.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.core.dispositifs import OPEN_ENDED

__all__ = [
    "DEFAULT_STATES",
    "DISPOSITIF_STATE",
    "OPEN_ENDED_DISPOSITIFS",
    "STATE_LABELS",
    "SequenceSet",
    "contact_intervals",
    "hamming_distances",
    "monthly_states",
    "optimal_matching",
    "spell_distances",
    "spells",
    "state_distribution",
    "substitution_costs",
    "transition_matrix",
]

DEFAULT_STATES: tuple[str, ...] = ("LOG", "MA", "AN", "JOUR", "RUE", "AUCUN")
STATE_LABELS: dict[str, str] = {
    "LOG": "Housing First (logé)",
    "MA": "Maison d'accueil",
    "AN": "Abri de nuit",
    "JOUR": "Accueil de jour / urgence sociale",
    "RUE": "Travail de rue seulement",
    "AUCUN": "Aucun contact",
}
DISPOSITIF_STATE: dict[str, str] = {
    "housing_first": "LOG",
    "maison_accueil": "MA",
    "hebergement_urgence": "AN",
    "accueil_jour": "JOUR",
    "urgence_sociale": "JOUR",
    "travail_rue": "RUE",
}
# A missing end on these is a tenancy/stay still running at the end of the data, not a
# point contact.
OPEN_ENDED_DISPOSITIFS: frozenset[str] = frozenset(OPEN_ENDED)

_TRAMINER_CVAL = 2.0  # TraMineR's constant substitution cost (and TRATE's ceiling)
_BLOCK_BYTES = 128 * 2**20  # temporaries of one Hamming row block
# Pairs per OM chunk: the ~5 (T+1) × chunk working arrays then stay in a 2 MB L2 cache, which
# is 1.5 times faster than chunks of 8,192 pairs and 5 times faster than 10^5 (measured, T = 24).
_OM_CHUNK_PAIRS = 2048


# --------------------------------------------------------------------------------------------
# Sequence container
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SequenceSet:
    """State sequences of equal length, one row per person.

    ``codes[p, m]`` is the index in ``states`` of person ``p``'s state in month ``m`` (month 0
    = calendar month of the first contact). ``eq=False``: arrays have no truth value, so
    equality is identity; compare ``codes`` explicitly.
    """

    person_ids: np.ndarray
    states: tuple[str, ...]
    codes: np.ndarray

    def __post_init__(self) -> None:
        if self.codes.ndim != 2 or self.codes.shape[0] != len(self.person_ids):
            raise ValueError("codes must be a (n_persons, n_months) array matching person_ids")
        if self.codes.size and (self.codes.min() < 0 or self.codes.max() >= len(self.states)):
            raise ValueError("codes must index into states")

    def __len__(self) -> int:
        return len(self.person_ids)

    @property
    def n_months(self) -> int:
        """Length of every sequence, in months."""
        return int(self.codes.shape[1])

    def to_frame(self, long: bool = False) -> pd.DataFrame:
        """State codes (``states`` strings) as a DataFrame.

        Wide (default): index ``person_id``, one column per month 0..T-1 (the layout of
        TraMineR's ``seqdef`` input). Long: columns ``person_id``, ``month``, ``state``, sorted
        by person then month (for plotting and joins).
        """
        labels = np.asarray(self.states, dtype=object)[self.codes]
        if long:
            n, t = self.codes.shape
            return pd.DataFrame(
                {
                    "person_id": np.repeat(self.person_ids, t),
                    "month": np.tile(np.arange(t), n),
                    "state": labels.ravel(),
                }
            )
        return pd.DataFrame(
            labels,
            index=pd.Index(self.person_ids, name="person_id"),
            columns=pd.RangeIndex(self.n_months, name="month"),
        )

    def subset(self, mask: np.ndarray | Sequence[bool] | Sequence[int]) -> SequenceSet:
        """Sequences selected by a boolean mask or integer positions (order kept)."""
        sel = np.asarray(mask)
        return SequenceSet(self.person_ids[sel], self.states, self.codes[sel])


# --------------------------------------------------------------------------------------------
# Building sequences
# --------------------------------------------------------------------------------------------


def _month_index(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Months since year 0, so that calendar-month differences are integer subtractions."""
    dates = pd.Series(dates) if isinstance(dates, pd.DatetimeIndex) else dates
    return (dates.dt.year.to_numpy(np.int64) * 12 + dates.dt.month.to_numpy(np.int64)) - 1


def contact_intervals(contacts: pd.DataFrame, data_end: pd.Timestamp) -> pd.DataFrame:
    """Day intervals ``[start, end]`` covered by each contact, observed up to ``data_end``.

    A missing ``date_end`` means "still running" for Housing First tenancies and *maison
    d'accueil* stays (so ``data_end``) and a point contact for every other service (so the
    start day). Ends are capped at ``data_end`` (nothing after it is observed), ends before
    starts are taken as point contacts, and contacts starting after ``data_end`` are dropped.
    Returns ``person_id``, ``dispositif``, ``start``, ``end`` (day precision), input order.
    """
    data_end = pd.Timestamp(data_end).normalize()
    start = pd.to_datetime(contacts["date_start"]).dt.normalize()
    end = pd.to_datetime(contacts["date_end"]).dt.normalize()
    running = end.isna() & contacts["dispositif"].isin(OPEN_ENDED_DISPOSITIFS)
    end = end.mask(running, data_end).fillna(start)
    end = end.mask(end < start, start).mask(end > data_end, data_end)
    out = pd.DataFrame(
        {
            "person_id": contacts["person_id"],
            "dispositif": contacts["dispositif"],
            "start": start,
            "end": end,
        }
    )
    return out.loc[start.notna() & (start <= data_end)].reset_index(drop=True)


def monthly_states(
    contacts: pd.DataFrame,
    starts: pd.Series,
    months: int,
    data_end: pd.Timestamp,
    states: Sequence[str] = DEFAULT_STATES,
    dispositif_state: Mapping[str, str] = DISPOSITIF_STATE,
) -> SequenceSet:
    """One ``months``-long state sequence per person of ``starts`` (index person_id → date).

    Month 0 is the calendar month of the person's start date. A person is in a state in month
    m when any of their contact intervals (see :func:`contact_intervals`) overlaps that
    calendar month; the highest-priority state (first in ``states``) wins, and a month without
    any contact is the last state. Months after ``data_end`` are unobserved and therefore read
    as "no contact": give only persons whose whole window ends by ``data_end``.

    Dispositifs absent from ``dispositif_state`` are ignored (pass a reduced mapping to build
    sequences of some services only), as are contacts of persons not in ``starts`` and
    intervals wholly before month 0. Vectorised: intervals are exploded into (person, month)
    cells with ``np.repeat`` and each cell keeps its minimum priority rank.
    """
    states = tuple(states)
    if months < 1:
        raise ValueError("months must be at least 1")
    rank_of_state = {s: i for i, s in enumerate(states)}
    unknown = sorted(set(dispositif_state.values()) - set(rank_of_state))
    if unknown:
        raise ValueError(f"dispositif_state maps to states not in states: {unknown}")
    ids = pd.Index(starts.index)
    if not ids.is_unique:
        raise ValueError("starts must have one date per person_id")
    start_dates = pd.to_datetime(pd.Series(starts.to_numpy(), index=ids))
    if start_dates.isna().any():
        raise ValueError("starts has missing dates")

    n = len(ids)
    flat = np.full(n * months, len(states) - 1, dtype=np.int8)
    iv = contact_intervals(contacts, data_end)
    rank = iv["dispositif"].map({d: rank_of_state[s] for d, s in dispositif_state.items()})
    pos = ids.get_indexer(iv["person_id"])
    keep = (rank.notna() & (pos >= 0)).to_numpy()
    if keep.any():
        iv, pos = iv.loc[keep], pos[keep]
        rank = rank.to_numpy()[keep].astype(np.int8)
        origin = _month_index(start_dates)[pos]
        m0 = np.maximum(_month_index(iv["start"]) - origin, 0)
        m1 = np.minimum(_month_index(iv["end"]) - origin, months - 1)
        ok = m1 >= m0
        m0, m1, pos, rank = m0[ok], m1[ok], pos[ok], rank[ok]
        lengths = m1 - m0 + 1
        first = np.repeat(np.cumsum(lengths) - lengths, lengths)
        offsets = np.repeat(m0, lengths) + (np.arange(lengths.sum()) - first)
        cells = np.repeat(pos.astype(np.int64), lengths) * months + offsets
        np.minimum.at(flat, cells, np.repeat(rank, lengths))
    return SequenceSet(
        person_ids=np.asarray(ids, dtype=object),
        states=states,
        codes=flat.reshape(n, months),
    )


# --------------------------------------------------------------------------------------------
# Descriptive summaries
# --------------------------------------------------------------------------------------------


def state_distribution(seqs: SequenceSet) -> pd.DataFrame:
    """Share of persons in each state, month by month (rows sum to 1; NaN if no person)."""
    n, t = seqs.codes.shape
    s = len(seqs.states)
    counts = np.bincount(
        (seqs.codes.astype(np.int64) + s * np.arange(t)).ravel(), minlength=s * t
    ).reshape(t, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / n
    return pd.DataFrame(
        shares,
        index=pd.RangeIndex(t, name="month"),
        columns=pd.Index(seqs.states, name="state"),
    )


def transition_matrix(seqs: SequenceSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts and row probabilities of month-to-month transitions, pooled over all months.

    Rows are the state in month m, columns the state in month m+1; every state appears even
    if never observed, and a row with no transition has probabilities 0 (not NaN) so that it
    can feed :func:`substitution_costs` directly.
    """
    s = len(seqs.states)
    a = seqs.codes[:, :-1].astype(np.int64).ravel()
    b = seqs.codes[:, 1:].astype(np.int64).ravel()
    counts = np.bincount(a * s + b, minlength=s * s).reshape(s, s)
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros((s, s)), where=totals > 0)
    index = pd.Index(seqs.states, name="from")
    columns = pd.Index(seqs.states, name="to")
    return (
        pd.DataFrame(counts, index=index, columns=columns),
        pd.DataFrame(probs, index=index, columns=columns),
    )


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


def substitution_costs(seqs: SequenceSet, method: str = "constant") -> np.ndarray:
    """S × S substitution-cost matrix, TraMineR's ``seqsubm`` conventions.

    ``"constant"``: 2 off the diagonal. ``"trate"``: 2 − p(i→j) − p(j→i) from the pooled
    transition probabilities, so states people often move between are "closer" (the costs
    stay ≤ 2 = twice the default indel, so a substitution is never dearer than indel pairs).
    """
    s = len(seqs.states)
    if method == "constant":
        costs = np.full((s, s), _TRAMINER_CVAL)
    elif method == "trate":
        p = transition_matrix(seqs)[1].to_numpy()
        costs = _TRAMINER_CVAL - p - p.T
    else:
        raise ValueError(f"unknown substitution-cost method {method!r} (constant, trate)")
    np.fill_diagonal(costs, 0.0)
    return costs


def _check_codes(codes: np.ndarray, sub_costs: np.ndarray | None) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError("codes must be a 2-D (n_sequences, n_months) array")
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError("codes must be integer state indices")
    if codes.size and codes.min() < 0:
        raise ValueError("codes must be non-negative state indices")
    if sub_costs is not None:
        if sub_costs.ndim != 2 or sub_costs.shape[0] != sub_costs.shape[1]:
            raise ValueError("sub_costs must be a square matrix")
        if codes.size and codes.max() >= sub_costs.shape[0]:
            raise ValueError("sub_costs has fewer states than the codes use")
    return codes


def hamming_distances(codes: np.ndarray, sub_costs: np.ndarray | None = None) -> np.ndarray:
    """n × n distances Σ_t sub_costs[a_t, b_t] (count of mismatches when ``sub_costs`` is None).

    Computed between distinct sequences in row blocks (bounded memory), then expanded.
    """
    costs = None if sub_costs is None else np.asarray(sub_costs, dtype=np.float64)
    codes = _check_codes(codes, costs)
    n, t = codes.shape
    if n == 0:
        return np.zeros((0, 0))
    if costs is None:
        costs = 1.0 - np.eye(int(codes.max()) + 1)
    uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    u = len(uniq)
    dist = np.zeros((u, u))
    block = max(1, (_BLOCK_BYTES // 8) // max(u, 1))
    for r0 in range(0, u, block):
        rows = uniq[r0 : r0 + block]
        for k in range(t):
            dist[r0 : r0 + block] += costs[rows[:, k][:, None], uniq[:, k][None, :]]
    return dist[np.ix_(inverse, inverse)]


def _pair_chunks(u: int, chunk_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The pairs i < j of ``u`` items, row by row, in chunks of ``chunk_size`` pairs."""
    n_pairs = u * (u - 1) // 2
    rows = np.arange(u, dtype=np.int64)
    row_offset = rows * (u - 1) - rows * (rows - 1) // 2  # flat index of pair (i, i+1)
    for k0 in range(0, n_pairs, chunk_size):
        k = np.arange(k0, min(k0 + chunk_size, n_pairs), dtype=np.int64)
        i = np.searchsorted(row_offset, k, side="right") - 1
        yield i, i + 1 + (k - row_offset[i])


def _om_step_costs(uniq: np.ndarray, shifted: np.ndarray) -> np.ndarray:
    """``table[t, s·u + q] = shifted[s, uniq[q, t]]`` for the u distinct sequences ``uniq``.

    Column ``s·u + q`` holds, month by month, the diagonal step costs of a grid row in state
    ``s`` against sequence ``q``: a row of the grid for a chunk of pairs is then one
    ``np.take`` along axis 1 with one index per pair, instead of an index per (pair, month).
    """
    n_states = shifted.shape[0]
    u, t = uniq.shape
    return np.ascontiguousarray(shifted[:, uniq.T].transpose(1, 0, 2).reshape(t, n_states * u))


def _om_pairs(
    a: np.ndarray, b: np.ndarray, table: np.ndarray, n_seq: int, indel: float
) -> np.ndarray:
    """OM distances between the sequences ``a[p]`` and ``b[p]`` for all pairs p at once.

    ``a`` holds the codes of the first sequences (pairs × months), ``b`` the positions of the
    second ones among the ``n_seq`` distinct sequences of ``table`` (see
    :func:`_om_step_costs`, built from the substitution costs minus ``indel``).

    The grid D[i, j] = min(D[i-1, j-1] + sub, D[i-1, j] + indel, D[i, j-1] + indel) is kept
    as E[i, j] = D[i, j] − j·indel, in which the left move costs nothing: each row is then
    c[j] = min(E[i-1, j-1] + sub − indel, E[i-1, j] + indel) followed by a running minimum
    along j. Arrays are laid out (position, pair) so every step is a contiguous vector
    operation on the whole chunk of pairs (an axis-0 ``minimum.accumulate`` is strided and
    several times slower than the explicit loop over j). Every cell adds one step cost to one
    neighbour and takes a minimum, which is exact, so any chunking gives the same bits. The
    indices of ``table`` are in range by construction: ``mode="clip"`` only spares numpy's
    per-index bounds check, which doubles the speed of the gather.
    """
    la, lb = a.shape[1], table.shape[0]
    n_pairs = a.shape[0]
    cols = np.ascontiguousarray(a.T, dtype=np.intp) * n_seq + np.asarray(b, dtype=np.intp)
    prev = np.zeros((lb + 1, n_pairs))  # E[0, j] = j·indel − j·indel
    cur = np.empty_like(prev)
    up = np.empty((lb, n_pairs))
    diag = np.empty((lb, n_pairs))
    for i in range(1, la + 1):
        np.take(table, cols[i - 1], axis=1, out=diag, mode="clip")  # in range: no checks
        np.add(diag, prev[:-1], out=diag)
        np.add(prev[1:], indel, out=up)
        np.minimum(diag, up, out=cur[1:])
        cur[0] = i * indel
        for j in range(1, lb + 1):
            np.minimum(cur[j], cur[j - 1], out=cur[j])
        prev, cur = cur, prev
    return prev[lb] + lb * indel


def optimal_matching(
    codes: np.ndarray,
    sub_costs: np.ndarray,
    indel: float = 1.0,
    chunk_size: int | None = None,
) -> np.ndarray:
    """n × n optimal-matching distances (edit distance with indel and substitution costs).

    The dynamic programme runs over the T × T grid once per *chunk of pairs*, each cell being
    a numpy operation on the whole chunk (see :func:`_om_pairs`). Only pairs i < j of
    distinct sequences are computed, then mirrored and expanded to all persons, so the cost
    scales with the number of distinct sequences. ``chunk_size`` (pairs per chunk) defaults to
    2,048, which keeps the working arrays in cache; the result does not depend on it.
    """
    sub = np.asarray(sub_costs, dtype=np.float64)
    codes = _check_codes(codes, sub)
    if indel <= 0:
        raise ValueError("indel must be positive")
    if (sub < 0).any() or not np.allclose(sub, sub.T):
        raise ValueError("sub_costs must be symmetric and non-negative")
    n, t = codes.shape
    if n == 0:
        return np.zeros((0, 0))
    uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    u = len(uniq)
    dist = np.zeros((u, u))
    table = _om_step_costs(uniq, sub - float(indel))
    for i, j in _pair_chunks(u, chunk_size or _OM_CHUNK_PAIRS):
        d = _om_pairs(uniq[i], j, table, u, float(indel))
        dist[i, j] = d
        dist[j, i] = d
    return dist[np.ix_(inverse, inverse)]


def spells(sequence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The spells of one sequence: their states and their lengths (« AAB » → [A, B], [2, 1])."""
    seq_ = np.asarray(sequence)
    starts = np.flatnonzero(np.concatenate([[True], seq_[1:] != seq_[:-1]]))
    lengths = np.diff(np.concatenate([starts, [len(seq_)]]))
    return seq_[starts], lengths


def _spell_om_pairs(
    states: np.ndarray, lengths: np.ndarray, counts: np.ndarray, i: np.ndarray, j: np.ndarray,
    sub: np.ndarray, indel: float, expcost: float,
) -> np.ndarray:  # fmt: skip
    """Edit distances between the spell sequences ``i[p]`` and ``j[p]`` for all pairs p at once
    (see :func:`spell_distances`).

    ``states``/``lengths`` hold each sequence's spells, padded to the longest; ``counts`` the
    number of real spells. The padding only feeds cells beyond a pair's own grid, which no real
    cell reads: the distance of pair p is read in row ``counts[i[p]]``, column
    ``counts[j[p]]``. Each cell is the minimum of the same three sums as in the one-pair
    recurrence, so the bits are those of a pair-by-pair loop.
    """
    la, lb = lengths[i], lengths[j]
    sb = states[j]
    del_a = indel * (1.0 + expcost * (la - 1))
    del_b = indel * (1.0 + expcost * (lb - 1))
    n_pairs, m = la.shape
    prev = np.zeros((m + 1, n_pairs))
    prev[1:] = np.cumsum(del_b, axis=1).T
    cur = np.empty_like(prev)
    out = np.empty(n_pairs)
    rows_a, cols_b = counts[i], counts[j]
    for r in range(m):
        cur[0] = prev[0] + del_a[:, r]
        swap = sub[states[i, r][:, None], sb] + expcost * indel * np.abs(la[:, r][:, None] - lb)
        for c in range(m):
            np.minimum(prev[c] + swap[:, c], prev[c + 1] + del_a[:, r], out=cur[c + 1])
            np.minimum(cur[c + 1], cur[c] + del_b[:, c], out=cur[c + 1])
        prev, cur = cur, prev
        done = np.flatnonzero(rows_a == r + 1)
        out[done] = prev[cols_b[done], done]
    return out


def spell_distances(
    codes: np.ndarray, sub_costs: np.ndarray, indel: float = 1.0, expcost: float = 0.5
) -> np.ndarray:
    """n × n spell-aware distances: optimal matching between sequences of *spells*.

    In the spirit of Studer & Ritschard's OMspell (2016, *JRSS A* 179:481): a sequence is the
    list of its spells (state, length); inserting or deleting a spell of length d costs
    indel · (1 + expcost · (d − 1)), turning a spell (a, d₁) into (b, d₂) costs
    sub[a, b] + expcost · indel · |d₁ − d₂|. With ``expcost`` = 1 a month costs what it costs
    in OM; below 1 the order and the kinds of spells weigh more than their lengths, so that
    « one month at the day centre then nothing » and « three months at the day centre then
    nothing » are closer than under OM, where ~80 % of person-months are « no contact » and
    time in contact dominates. Computed between distinct sequences, all pairs of a chunk at
    once (see :func:`_spell_om_pairs`), then expanded.
    """
    sub = np.asarray(sub_costs, dtype=np.float64)
    codes = _check_codes(codes, sub)
    if indel <= 0 or expcost < 0:
        raise ValueError("indel must be positive and expcost non-negative")
    n = codes.shape[0]
    if n == 0:
        return np.zeros((0, 0))
    uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    sp = [spells(row) for row in uniq]
    u = len(uniq)
    counts = np.array([len(st) for st, _ in sp], dtype=np.intp)
    states = np.zeros((u, counts.max()), dtype=np.intp)
    lengths = np.ones((u, counts.max()), dtype=np.int64)
    for r, (st, ln) in enumerate(sp):
        states[r, : len(st)] = st
        lengths[r, : len(ln)] = ln
    dist = np.zeros((u, u))
    for i, j in _pair_chunks(u, _OM_CHUNK_PAIRS):
        d = _spell_om_pairs(states, lengths, counts, i, j, sub, float(indel), float(expcost))
        dist[i, j] = d
        dist[j, i] = d
    return dist[np.ix_(inverse, inverse)]
