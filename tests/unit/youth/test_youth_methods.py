"""Tests of the youth study's statistical core against hand-computed cases and references."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from observatoire.core.stats import proportion_ci
from observatoire.youth.compare import (
    TEST_CHI2,
    TEST_FISHER,
    compare_means,
    compare_proportions,
    unstable,
)
from observatoire.youth.sequences import (
    DEFAULT_STATES,
    DISPOSITIF_STATE,
    STATE_LABELS,
    SequenceSet,
    contact_intervals,
    hamming_distances,
    monthly_states,
    optimal_matching,
    spell_distances,
    spells,
    state_distribution,
    substitution_costs,
    transition_matrix,
)
from observatoire.youth.survival import (
    engagement_spells,
    kaplan_meier,
    logrank,
    median_time,
    survival_at,
)
from observatoire.youth.typology import (
    build_typology,
    medoids,
    silhouette_quality,
)

Z975 = 1.959963984540054
CONST2 = np.array([[0.0, 2.0, 2.0], [2.0, 0.0, 2.0], [2.0, 2.0, 0.0]])
TS = pd.Timestamp


def contacts_frame(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    """Canonical contacts frame from (person_id, dispositif, date_start, date_end) tuples."""
    frame = pd.DataFrame(rows, columns=["person_id", "dispositif", "date_start", "date_end"])
    frame["date_start"] = pd.to_datetime(frame["date_start"])
    frame["date_end"] = pd.to_datetime(frame["date_end"])
    return frame


def encode(*words: str) -> np.ndarray:
    """Sequences written as letters A, B, C… → integer codes 0, 1, 2…"""
    return np.array([[ord(c) - ord("A") for c in w] for w in words])


def om_reference(a, b, sub, indel) -> float:
    """Textbook O(T²) edit-distance DP, one pair at a time."""
    d = [[0.0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i * indel
    for j in range(len(b) + 1):
        d[0][j] = j * indel
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j - 1] + sub[a[i - 1]][b[j - 1]],
                d[i - 1][j] + indel,
                d[i][j - 1] + indel,
            )
    return d[len(a)][len(b)]


# --------------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------------


def test_state_constants_are_consistent():
    assert DEFAULT_STATES == ("LOG", "MA", "AN", "JOUR", "RUE", "AUCUN")
    assert set(STATE_LABELS) == set(DEFAULT_STATES)
    assert STATE_LABELS["AN"] == "Abri de nuit"
    assert set(DISPOSITIF_STATE.values()) <= set(DEFAULT_STATES) - {"AUCUN"}


def test_contact_intervals_nat_rule():
    contacts = contacts_frame(
        [
            ("a", "housing_first", "2024-06-01", None),
            ("a", "maison_accueil", "2024-03-01", None),
            ("a", "hebergement_urgence", "2024-02-01", None),
            ("a", "maison_accueil", "2024-01-01", "2025-06-01"),
            ("a", "accueil_jour", "2025-01-05", None),
        ]
    )
    iv = contact_intervals(contacts, TS("2024-12-31"))
    assert list(iv["end"]) == [TS("2024-12-31"), TS("2024-12-31"), TS("2024-02-01")] + [
        TS("2024-12-31")
    ]
    assert len(iv) == 4  # the contact after data_end is dropped


def test_monthly_states_hand_case():
    contacts = contacts_frame(
        [
            ("p1", "accueil_jour", "2024-01-15", None),
            ("p1", "travail_rue", "2024-02-03", None),
            ("p1", "hebergement_urgence", "2024-02-20", "2024-02-21"),
            ("p1", "maison_accueil", "2024-03-10", "2024-05-02"),
            ("p1", "housing_first", "2024-06-01", None),
            ("p2", "travail_rue", "2023-11-01", None),  # before month 0: ignored
            ("p2", "travail_rue", "2023-12-31", None),
            ("p2", "urgence_sociale", "2024-01-01", None),
            ("p2", "hebergement_urgence", "2023-12-20", "2024-01-03"),  # spans into month 1
            ("ghost", "housing_first", "2024-01-01", None),  # not in starts
        ]
    )
    starts = pd.Series(
        pd.to_datetime(["2023-12-31", "2024-01-15", "2024-03-01"]), index=["p2", "p1", "p3"]
    )
    seqs = monthly_states(contacts, starts, months=12, data_end=TS("2024-10-31"))
    wide = seqs.to_frame()
    assert list(wide.index) == ["p2", "p1", "p3"]
    assert seqs.n_months == 12 and seqs.codes.dtype == np.int8
    assert list(wide.loc["p1"]) == ["JOUR", "AN", "MA", "MA", "MA"] + ["LOG"] * 5 + ["AUCUN"] * 2
    assert list(wide.loc["p2"]) == ["AN", "AN"] + ["AUCUN"] * 10
    assert list(wide.loc["p3"]) == ["AUCUN"] * 12
    long = seqs.to_frame(long=True)
    assert list(long.columns) == ["person_id", "month", "state"]
    assert long.loc[(long.person_id == "p1") & (long.month == 1), "state"].item() == "AN"
    sub = seqs.subset(np.array([False, True, True]))
    assert list(sub.person_ids) == ["p1", "p3"]
    assert np.array_equal(sub.codes, seqs.codes[1:])


def _naive_monthly_states(contacts, starts, months, data_end):
    iv = contact_intervals(contacts, data_end)
    rank = {s: i for i, s in enumerate(DEFAULT_STATES)}
    out = np.full((len(starts), months), len(DEFAULT_STATES) - 1)
    for p, (pid, start) in enumerate(starts.items()):
        month0 = pd.Period(start, "M")
        for row in iv.loc[iv.person_id == pid].itertuples():
            r = rank[DISPOSITIF_STATE[row.dispositif]]
            for m in range(months):
                period = month0 + m
                if row.start <= period.end_time and row.end >= period.start_time:
                    out[p, m] = min(out[p, m], r)
    return out


def test_monthly_states_matches_naive_reference():
    rng = np.random.default_rng(7)
    n_persons, n_contacts = 60, 600
    disps = list(DISPOSITIF_STATE)
    pids = [f"p{i}" for i in range(n_persons)]
    start_day = TS("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n_contacts), "D")
    length = pd.to_timedelta(rng.integers(0, 120, n_contacts), "D")
    dispositif = rng.choice(disps, n_contacts)
    end = pd.Series(start_day + length).where(rng.random(n_contacts) < 0.6)
    contacts = pd.DataFrame(
        {
            "person_id": rng.choice(pids, n_contacts),
            "dispositif": dispositif,
            "date_start": start_day,
            "date_end": end,
        }
    )
    starts = contacts.groupby("person_id")["date_start"].min().sample(frac=1, random_state=3)
    data_end = TS("2023-09-30")
    seqs = monthly_states(contacts, starts, months=18, data_end=data_end)
    assert np.array_equal(seqs.codes, _naive_monthly_states(contacts, starts, 18, data_end))


def test_state_distribution_and_transitions():
    seqs = SequenceSet(
        person_ids=np.array(["a", "b", "c", "d"], dtype=object),
        states=("X", "Y", "Z"),
        codes=np.array([[0, 0, 1], [0, 1, 1], [1, 1, 2], [0, 0, 0]], dtype=np.int8),
    )
    dist = state_distribution(seqs)
    assert list(dist.columns) == ["X", "Y", "Z"]
    assert dist.loc[0].tolist() == [0.75, 0.25, 0.0]
    assert dist.loc[2].tolist() == [0.25, 0.5, 0.25]
    assert np.allclose(dist.sum(axis=1), 1.0)
    counts, probs = transition_matrix(seqs)
    # X→X: a once, d twice; X→Y: a, b; Y→Y: b, c; Y→Z: c
    assert counts.to_numpy().tolist() == [[3, 2, 0], [0, 2, 1], [0, 0, 0]]
    assert probs.loc["X", "Y"] == pytest.approx(0.4)
    assert probs.loc["Z"].tolist() == [0.0, 0.0, 0.0]  # empty row: zeros, not NaN
    assert not probs.isna().any().any()
    trate = substitution_costs(seqs, "trate")
    assert trate[0, 1] == pytest.approx(2 - 0.4 - 0.0)
    assert trate[1, 2] == pytest.approx(2 - 1 / 3)
    assert np.allclose(np.diag(trate), 0) and np.allclose(trate, trate.T)
    const = substitution_costs(seqs)
    assert np.array_equal(const, CONST2)
    with pytest.raises(ValueError):
        substitution_costs(seqs, "ondule")


def test_hamming_hand_cases():
    codes = encode("AAB", "ABB", "BBA", "AAB")
    d = hamming_distances(codes)
    assert d[0, 1] == 1 and d[0, 2] == 3 and d[1, 2] == 2 and d[0, 3] == 0
    costs = np.array([[0.0, 1.5], [1.5, 0.0]])
    assert hamming_distances(codes, costs)[0, 2] == pytest.approx(4.5)
    assert np.array_equal(d, d.T) and not np.diag(d).any()


def test_optimal_matching_hand_cases():
    d = optimal_matching(encode("AB", "BA"), CONST2, indel=1.0)
    assert d[0, 1] == 2.0  # one deletion + one insertion, not two substitutions (4)
    assert optimal_matching(encode("AAB", "ABB"), CONST2)[0, 1] == 2.0
    assert optimal_matching(encode("AAAA", "BBBB"), CONST2)[0, 1] == 8.0
    cheap = np.array([[0.0, 0.5, 2.0], [0.5, 0.0, 2.0], [2.0, 2.0, 0.0]])
    assert optimal_matching(encode("AC", "BC"), cheap)[0, 1] == 0.5
    dear = np.full((3, 3), 3.0)
    np.fill_diagonal(dear, 0.0)
    # a substitution (3) dearer than indel + indel (2): indels are preferred
    assert optimal_matching(encode("AB", "AC"), dear)[0, 1] == 2.0
    assert optimal_matching(encode("ABC", "CAB"), dear)[0, 1] == 2.0


def test_optimal_matching_matches_reference_and_expands_duplicates():
    rng = np.random.default_rng(11)
    for _ in range(15):
        s, t, n = int(rng.integers(2, 5)), int(rng.integers(1, 8)), int(rng.integers(2, 14))
        codes = rng.integers(0, s, (n, t))
        codes[-1] = codes[0]  # at least one duplicate
        sub = rng.uniform(0, 3, (s, s))
        sub = (sub + sub.T) / 2
        np.fill_diagonal(sub, 0.0)
        indel = float(rng.uniform(0.3, 2.0))
        d = optimal_matching(codes, sub, indel, chunk_size=int(rng.integers(1, 6)))
        ref = np.array([[om_reference(a, b, sub, indel) for b in codes] for a in codes])
        assert np.allclose(d, ref)
        assert np.array_equal(d, d.T) and not np.diag(d).any()
        assert d[0, -1] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 3), min_size=5, max_size=5), min_size=2, max_size=6),
    st.floats(0.5, 2.0),
)
def test_optimal_matching_property(rows, indel):
    codes = np.array(rows)
    sub = np.array([[0, 1, 2, 3], [1, 0, 1, 2], [2, 1, 0, 1], [3, 2, 1, 0]], dtype=float)
    d = optimal_matching(codes, sub, indel)
    ref = np.array([[om_reference(a, b, sub, indel) for b in codes] for a in codes])
    assert np.allclose(d, ref)
    # OM never exceeds Hamming with the same costs (substituting position by position)
    assert (d <= hamming_distances(codes, sub) + 1e-9).all()


def test_optimal_matching_bits_do_not_depend_on_the_chunking():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, (40, 9))
    sub = rng.uniform(0, 2, (4, 4))
    sub = 2.0 - sub - sub.T / 3  # not bitwise symmetric, like TRATE costs
    sub = np.clip((sub + sub.T) / 2, 0, None)
    np.fill_diagonal(sub, 0.0)
    whole = optimal_matching(codes, sub, 0.7)
    for chunk in (1, 7, 100_000):
        assert optimal_matching(codes, sub, 0.7, chunk_size=chunk).tobytes() == whole.tobytes()


def spell_reference(a, b, sub, indel, expcost) -> float:
    """The spell DP one pair at a time, cell by cell (the recurrence of spell_distances)."""
    (sa, la), (sb, lb) = spells(a), spells(b)
    del_a = indel * (1.0 + expcost * (la - 1))
    del_b = indel * (1.0 + expcost * (lb - 1))
    prev = np.concatenate([[0.0], np.cumsum(del_b)])
    for i in range(len(sa)):
        cur = np.empty_like(prev)
        cur[0] = prev[0] + del_a[i]
        swap = sub[sa[i], sb] + expcost * indel * np.abs(la[i] - lb)
        for j in range(len(sb)):
            cur[j + 1] = min(prev[j] + swap[j], prev[j + 1] + del_a[i], cur[j] + del_b[j])
        prev = cur
    return float(prev[-1])


def test_spell_distances_are_the_pair_by_pair_recurrence_to_the_bit():
    rng = np.random.default_rng(8)
    for _ in range(4):
        codes = rng.integers(0, 3, (int(rng.integers(2, 25)), int(rng.integers(1, 10))))
        codes[rng.random(codes.shape) < 0.5] = 2  # long spells of one state, as in the data
        sub = rng.uniform(0, 2, (3, 3))
        sub = (sub + sub.T) / 2
        np.fill_diagonal(sub, 0.0)
        indel, expcost = float(rng.uniform(0.5, 2)), float(rng.uniform(0, 1))
        d = spell_distances(codes, sub, indel, expcost)
        ref = np.array([[spell_reference(a, b, sub, indel, expcost) for b in codes] for a in codes])
        # each pair of distinct sequences is computed in their sorted order
        for p, q in zip(*np.triu_indices(len(codes), 1), strict=True):
            first, second = sorted((p, q), key=lambda x: tuple(codes[x]))
            assert d[p, q] == d[q, p] == ref[first, second]


def test_optimal_matching_rejects_bad_input():
    with pytest.raises(ValueError):
        optimal_matching(encode("AD"), CONST2)  # state 3 has no cost row
    with pytest.raises(ValueError):
        optimal_matching(encode("AB"), CONST2, indel=0)


# --------------------------------------------------------------------------------------------
# Typology
# --------------------------------------------------------------------------------------------


def three_groups() -> tuple[np.ndarray, np.ndarray]:
    """Sequences around three very different trajectories, sizes 5, 12 and 8, shuffled."""
    rng = np.random.default_rng(5)
    protos = [np.zeros(24, int), np.full(24, 2), np.r_[np.full(6, 3), np.full(18, 5)]]
    sizes = [5, 12, 8]
    codes, truth = [], []
    for g, (proto, size) in enumerate(zip(protos, sizes, strict=True)):
        for _ in range(size):
            seq = proto.copy()
            flip = rng.choice(24, 2, replace=False)
            seq[flip] = rng.integers(0, 6, 2)
            codes.append(seq)
            truth.append(g)
    order = rng.permutation(len(codes))
    return np.array(codes)[order], np.array(truth)[order]


def test_typology_recovers_separated_groups():
    codes, truth = three_groups()
    sub = np.full((6, 6), 2.0)
    np.fill_diagonal(sub, 0.0)
    dist = optimal_matching(codes, sub)
    typo = build_typology(dist, k_values=range(2, 8))
    assert typo.k == 3
    assert typo.silhouette_by_k[3] > 0.7 and typo.asw == typo.silhouette_by_k[3]
    assert silhouette_quality(typo.asw) == "structure forte"
    # exact recovery, types numbered by decreasing size: 12 → 1, 8 → 2, 5 → 3
    mapping = {1: 1, 2: 2, 0: 3}
    assert np.array_equal(typo.labels, np.vectorize(mapping.get)(truth))
    assert typo.sizes == {1: 12, 2: 8, 3: 5}
    assert typo.silhouette_samples.shape == (len(codes),)
    assert typo.silhouette_samples.mean() == pytest.approx(typo.asw)
    again = build_typology(dist, k_values=range(2, 8))
    assert np.array_equal(again.labels, typo.labels)
    assert again.silhouette_by_k == typo.silhouette_by_k
    avg = build_typology(dist, k_values=[3], method="average")
    assert np.array_equal(avg.labels, typo.labels) and avg.method == "average"
    meds = medoids(dist, typo.labels)
    assert set(meds) == {1, 2, 3}
    assert all(typo.labels[i] == t for t, i in meds.items())


def test_typology_label_ties_and_guards():
    # two groups of equal size: type 1 is the one holding the smallest index
    codes = encode("BBBB", "AAAA", "BBBA", "AAAB", "BBBB", "AAAA")
    dist = optimal_matching(codes, CONST2)
    typo = build_typology(dist, k_values=[2])
    assert typo.labels.tolist() == [1, 2, 1, 2, 1, 2]
    with pytest.raises(ValueError, match="Au moins 3 séquences"):
        build_typology(dist[:2, :2])
    with pytest.raises(ValueError, match="Aucun nombre de types"):
        build_typology(optimal_matching(encode("AB", "AB", "BA"), CONST2), k_values=[3, 4])
    # k values not below the number of distinct sequences are skipped
    typo = build_typology(optimal_matching(encode("AA", "AA", "BB", "AB", "BA"), CONST2))
    assert set(typo.silhouette_by_k) == {3} and typo.k == 3


def test_typology_exact_k_despite_tied_heights():
    # equidistant points: every merge happens at the same height, so a height cut
    # (fcluster maxclust) cannot give 2 clusters; the merge-order cut must
    dist = 1.0 - np.eye(5)
    dist[0, 1] = dist[1, 0] = 0.5
    for method in ("ward", "average"):
        typo = build_typology(dist, k_values=[2, 3], method=method)
        assert set(typo.silhouette_by_k) == {2, 3}
        assert len(np.unique(typo.labels)) == typo.k


def test_silhouette_quality_thresholds():
    assert silhouette_quality(0.71) == "structure forte"
    assert silhouette_quality(0.70) == "structure raisonnable"
    assert silhouette_quality(0.51) == "structure raisonnable"
    assert silhouette_quality(0.50) == "structure faible, à interpréter avec prudence"
    assert silhouette_quality(0.26) == "structure faible, à interpréter avec prudence"
    assert silhouette_quality(0.25) == "pas de structure substantielle"
    assert silhouette_quality(-0.1) == "pas de structure substantielle"


def test_medoids_hand_case():
    pts = np.array([0.0, 1.0, 3.0, 10.0, 11.0])
    dist = np.abs(pts[:, None] - pts[None, :])
    assert medoids(dist, np.array([1, 1, 1, 2, 2])) == {1: 1, 2: 3}


# --------------------------------------------------------------------------------------------
# Survival
# --------------------------------------------------------------------------------------------


def test_engagement_spells_hand_cases():
    contacts = contacts_frame(
        [
            # a: Jan 1 → Mar 31 is exactly 90 days (2024 is a leap year): one spell; then a
            # 91-day silence before Jun 30 breaks it
            ("a", "accueil_jour", "2024-01-01", None),
            ("a", "accueil_jour", "2024-03-31", None),
            ("a", "accueil_jour", "2024-06-30", None),
            # b: 91 days apart: the spell is the first contact alone
            ("b", "accueil_jour", "2024-01-01", None),
            ("b", "accueil_jour", "2024-04-01", None),
            # c: too close to data_end to know: censored at its last contact (known to have
            # lasted one day, not until data_end)
            ("c", "travail_rue", "2024-12-01", None),
            # d: a stay's end counts; a contact 76 days after it continues the spell
            ("d", "maison_accueil", "2024-01-10", "2024-05-31"),
            ("d", "accueil_jour", "2024-08-15", None),
            # e: a running tenancy is censored at data_end
            ("e", "housing_first", "2024-06-01", None),
            # f: exactly gap_days before data_end: disengagement observed
            ("f", "hebergement_urgence", "2024-10-02", None),
            # g: overlapping intervals, the silence is measured from the latest end
            ("g", "maison_accueil", "2024-01-01", "2024-06-30"),
            ("g", "accueil_jour", "2024-02-01", None),
            ("g", "accueil_jour", "2024-09-15", None),
        ]
    )
    data_end = TS("2024-12-31")
    spells = engagement_spells(contacts, data_end).set_index("person_id")
    assert list(spells.columns) == ["first_contact", "last_contact", "duration_days", "event"]
    assert spells.loc["a", "last_contact"] == TS("2024-03-31")
    assert spells.loc["a", ["duration_days", "event"]].tolist() == [91, 1]
    assert spells.loc["b", ["duration_days", "event"]].tolist() == [1, 1]
    assert spells.loc["c", ["duration_days", "event"]].tolist() == [1, 0]
    assert spells.loc["d", "last_contact"] == TS("2024-08-15")
    assert spells.loc["d", ["duration_days", "event"]].tolist() == [219, 1]
    assert spells.loc["e", "last_contact"] == data_end
    assert spells.loc["e", ["duration_days", "event"]].tolist() == [214, 0]
    assert TS("2024-10-02") + pd.Timedelta(days=90) == data_end
    assert spells.loc["f", ["duration_days", "event"]].tolist() == [1, 1]
    assert spells.loc["g", "last_contact"] == TS("2024-09-15")
    assert spells.loc["g", "event"] == 1

    # by dispositif: d's spell at the day centre is the single August contact
    day = engagement_spells(contacts, data_end, dispositif="accueil_jour").set_index("person_id")
    assert set(day.index) == {"a", "b", "d", "g"}
    assert day.loc["d", ["first_contact", "duration_days", "event"]].tolist() == [
        TS("2024-08-15"),
        1,
        1,
    ]
    # g at the day centre: Feb 1 then Sep 15 (227 days later) → spell of one day
    assert day.loc["g", "duration_days"] == 1
    wider = engagement_spells(contacts, data_end, gap_days=91).set_index("person_id")
    assert wider.loc["b", "last_contact"] == TS("2024-04-01")


def test_kaplan_meier_textbook():
    # times 1, 2, 2+, 3, 4+, 5: S = 5/6, 5/6·4/5 = 2/3, 2/3·2/3 = 4/9, 4/9·0 = 0
    curve = kaplan_meier([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
    assert list(curve.columns) == ["time", "survival", "lower", "upper", "at_risk", "events"]
    assert curve["time"].tolist() == [0, 1, 2, 3, 5]
    assert np.allclose(curve["survival"], [1, 5 / 6, 2 / 3, 4 / 9, 0])
    assert curve["at_risk"].tolist() == [6, 6, 5, 3, 1]
    assert curve["events"].tolist() == [0, 1, 1, 1, 1]
    # log-log CI at t = 1 from Greenwood: var(log S) = d / (n (n − d)) = 1/30
    s = 5 / 6
    se_loglog = math.sqrt(1 / 30) / abs(math.log(s))
    assert curve.loc[1, "lower"] == pytest.approx(s ** math.exp(Z975 * se_loglog))
    assert curve.loc[1, "upper"] == pytest.approx(s ** math.exp(-Z975 * se_loglog))
    assert (curve["lower"] <= curve["survival"]).all()
    assert (curve["upper"] >= curve["survival"]).all()
    assert survival_at(curve, 0.5) == 1.0
    assert survival_at(curve, 2) == pytest.approx(2 / 3)
    assert survival_at(curve, 2.9) == pytest.approx(2 / 3)
    assert survival_at(curve, 100) == 0.0
    assert median_time(curve) == 3.0


def test_kaplan_meier_no_event_and_median_not_reached():
    curve = kaplan_meier([3, 4], [0, 0])
    assert curve["survival"].tolist() == [1.0] and median_time(curve) is None
    curve = kaplan_meier([1, 2, 3, 4, 5], [1, 0, 0, 0, 0])
    assert median_time(curve) is None
    assert survival_at(curve, 10) == pytest.approx(0.8)


def test_logrank_separates_different_distributions():
    rng = np.random.default_rng(2024)
    a, b = rng.exponential(100, 150), rng.exponential(30, 150)
    censor = rng.uniform(0, 300, 300)
    t = np.minimum(np.r_[a, b], censor)
    e = (np.r_[a, b] <= censor).astype(int)
    chisq, p = logrank(t, e, np.repeat(["x", "y"], 150))
    assert chisq > 20 and p < 0.001
    c, d = rng.exponential(60, 150), rng.exponential(60, 150)
    t = np.minimum(np.r_[c, d], censor)
    e = (np.r_[c, d] <= censor).astype(int)
    chisq, p = logrank(t, e, np.repeat(["x", "y"], 150))
    assert p > 0.05
    assert math.isnan(logrank([1, 2], [1, 1], ["x", "x"])[1])


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------


def wilson(x: int, n: int, z: float = Z975) -> tuple[float, float]:
    """Wilson (1927) score interval, written out."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_proportion_ci_is_wilson():
    assert proportion_ci(39, 100) == pytest.approx(wilson(39, 100))
    assert proportion_ci(0, 20) == pytest.approx(wilson(0, 20))
    assert all(math.isnan(v) for v in proportion_ci(0, 0))


def test_compare_proportions_newcombe_and_chi2():
    res = compare_proportions(39, 100, 29, 100)
    assert res["p1"] == 0.39 and res["p2"] == 0.29
    assert res["diff"] == pytest.approx(0.10)
    l1, u1 = wilson(39, 100)
    l2, u2 = wilson(29, 100)
    lower = 0.10 - math.sqrt((0.39 - l1) ** 2 + (u2 - 0.29) ** 2)
    upper = 0.10 + math.sqrt((u1 - 0.39) ** 2 + (0.29 - l2) ** 2)
    assert res["lower"] == pytest.approx(lower) and res["upper"] == pytest.approx(upper)
    assert res["lower"] < 0 < res["upper"]  # ≈ (−0.031, 0.226): not significant
    # Pearson χ² without correction: N (ad − bc)² / (r1 r2 c1 c2)
    chi2 = 200 * (39 * 71 - 61 * 29) ** 2 / (100 * 100 * 68 * 132)
    assert res["test"] == TEST_CHI2
    assert res["pvalue"] == pytest.approx(stats.chi2.sf(chi2, 1))
    assert res["pvalue"] > 0.05


def test_compare_proportions_sparse_and_empty():
    res = compare_proportions(1, 10, 6, 10)
    assert res["test"] == TEST_FISHER
    assert res["pvalue"] == pytest.approx(stats.fisher_exact([[1, 9], [6, 4]]).pvalue)
    assert compare_proportions(0, 12, 0, 15)["pvalue"] == 1.0
    empty = compare_proportions(3, 10, 0, 0)
    assert empty["p1"] == 0.3 and empty["test"] is None
    assert all(math.isnan(empty[k]) for k in ("p2", "diff", "lower", "upper", "pvalue"))


def test_compare_means_medians_bootstrap_and_mann_whitney():
    x = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, np.nan])
    y = np.array([1, 2, 3, 4, 5, 6, 7])
    res = compare_means(x, y)
    assert res["n_x"] == 9 and res["n_y"] == 7
    assert res["median_x"] == 50 and res["median_y"] == 4 and res["diff"] == 46
    assert res["lower"] <= 46 <= res["upper"]
    assert res["lower"] > 0  # every resampled x-median exceeds every y-median
    assert res["pvalue"] == pytest.approx(
        stats.mannwhitneyu(x[:9], y, alternative="two-sided").pvalue
    )
    assert compare_means(x, y) == res  # seeded: reproducible
    assert compare_means(x, y, seed=1)["lower"] >= 0
    assert math.isnan(compare_means([], y)["diff"])


def test_unstable_rule():
    assert unstable(29) and not unstable(30)
    assert unstable(10, min_n=5) is False
    assert unstable(100, rel_width=0.6) and not unstable(100, rel_width=0.5)
    assert unstable(100, rel_width=math.nan)
