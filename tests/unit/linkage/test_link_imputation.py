"""Links drawn from match probabilities, on planted pair sets whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.indicators.linkage_imputations import rubin
from observatoire.linkage.imputation import (
    FORCED,
    SCORED,
    SEPARATED,
    LinkageState,
    draw_clusters,
    fit_recalibration,
    linkage_state,
    recalibrated,
    review_sample,
)
from observatoire.linkage.link import link_records
from tests.unit.linkage.test_link_small import FIRST_NAMES, SURNAMES, records


def state(
    named: list[tuple[str, str | None, str | None]],
    pairs: list[tuple[str, str, float, str]],
    street: dict[str, str] | None = None,
) -> LinkageState:
    """Named records (key, birth-date token, sex), pairs (a, b, probability, kind), street
    records (key → chain)."""
    street = street or {}
    recs = pd.DataFrame(
        {
            "record_key": [r[0] for r in named] + list(street),
            "named": [True] * len(named) + [False] * len(street),
            "tok_birth_date": [r[1] for r in named] + [None] * len(street),
            "tok_birth_date_swapped": None,
            "sex": [r[2] for r in named] + [None] * len(street),
            "street_chain": [None] * len(named) + list(street.values()),
        }
    )
    frame = pd.DataFrame(
        pairs, columns=["record_key_l", "record_key_r", "match_probability", "lien"]
    )
    return LinkageState(recs, frame)


def n_persons(cluster: pd.Series) -> int:
    return cluster.nunique()


def test_a_pair_is_linked_as_often_as_its_probability_says() -> None:
    """A–B certain, B–C at 0.3: C joins in about 30 % of the draws; 1 or 2 persons."""
    s = state(
        [("A", None, "M"), ("B", None, "M"), ("C", None, "M")],
        [("A", "B", 1.0, SCORED), ("B", "C", 0.3, SCORED)],
    )
    counts = np.array([n_persons(c) for c in draw_clusters(s, 1000, seed=1)])
    assert set(counts) == {1, 2}
    assert (counts == 1).mean() == pytest.approx(0.3, abs=0.045)
    (at_threshold,) = draw_clusters(s, 0, 0, threshold=0.5)
    assert n_persons(at_threshold) == 2


def test_draws_keep_the_grouping_rules_and_the_overrides() -> None:
    """A contradictory birth date is never merged, a forced pair always, a separated pair
    never; street records keep their chain and join a named person only by a forced link."""
    s = state(
        [("A", "d1", "F"), ("B", "d2", "F"), ("C", None, "F"), ("D", None, "F"), ("E", None, "F")],
        [
            ("A", "B", 0.99, SCORED),  # contradictory birth dates
            ("C", "D", 0.01, SCORED),
            ("C", "D", 1.0, FORCED),
            ("D", "E", 0.99, SCORED),
            ("D", "E", 0.0, SEPARATED),
            ("A", "S1", 1.0, FORCED),  # a named and a street record forced together
        ],
        street={"S1": "S1", "S2": "S1", "S3": "S3"},
    )
    for cluster in draw_clusters(s, 50, seed=2):
        assert cluster["A"] != cluster["B"]
        assert cluster["C"] == cluster["D"] != cluster["E"]
        assert cluster["A"] == cluster["S1"] == cluster["S2"] != cluster["S3"]


def test_the_state_of_a_linkage_run_gives_back_its_persons() -> None:
    """At the run's threshold, the draws' grouping is the link stage's (nothing is lost)."""
    people = [
        (SURNAMES[i % 8], FIRST_NAMES[i // 8], f"19{60 + i}-0{1 + i % 9}-1{i % 10}", "MF"[i % 2])
        for i in range(40)
    ]
    rows = [(f"{i}", *p, f"2024-0{1 + i % 9}-05") for i, p in enumerate(people)]
    rows += [(f"{i}b", *people[i], f"2024-0{1 + i % 9}-20") for i in range(0, 40, 5)]
    contacts, tokens = records(rows)
    linkage = link_records(contacts, tokens)
    (cluster,) = draw_clusters(linkage_state(linkage), 0, 0, threshold=linkage.settings.threshold)
    expected = linkage.cluster_of()
    assert cluster.reindex(expected.index).tolist() == expected.tolist()


def planted(n_pairs: int, seed: int, shift: float) -> tuple[LinkageState, pd.Series, np.ndarray]:
    """``n_pairs`` disjoint candidate pairs of records; each is truly one person with its true
    probability (log-odds spread around 0), drawn once: that is the planted truth. The model's
    log-odds are the truth's minus ``shift`` (an under-confident model when ``shift`` > 0, as
    measured on the synthetic sample). Returns the state, the true person of each record and
    the pairs' verdicts."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0.0, 3.0, n_pairs)
    same = rng.random(n_pairs) < 1 / (1 + np.exp(-true_logit))
    left = [f"r{i:04d}a" for i in range(n_pairs)]
    right = [f"r{i:04d}b" for i in range(n_pairs)]
    frame = pd.DataFrame(
        {
            "record_key_l": left,
            "record_key_r": right,
            "match_probability": 1 / (1 + np.exp(-(true_logit - shift))),
            "lien": SCORED,
        }
    )
    keys = left + right
    truth = pd.Series(
        [f"p{i}" for i in range(n_pairs)]
        + [f"p{i}" if same[i] else f"q{i}" for i in range(n_pairs)],
        index=keys,
    )
    recs = pd.DataFrame(
        {
            "record_key": keys,
            "named": True,
            "tok_birth_date": None,
            "tok_birth_date_swapped": None,
            "sex": None,
            "street_chain": None,
        }
    )
    return LinkageState(recs, frame), truth, same


def test_recalibration_recovers_a_planted_under_confidence() -> None:
    """The model's log-odds are the truth's minus 1.5: a review of 300 pairs finds a shift of
    about that size in the uncertain bands, and the recalibrated probabilities are calibrated."""
    s, _, same = planted(3000, seed=3, shift=1.5)
    sample = review_sample(s.pairs, 300, seed=4)
    shifts = fit_recalibration(sample["match_probability"].to_numpy(), same[sample.index])
    assert shifts[2] == pytest.approx(1.5, abs=0.8)
    assert shifts[3] == pytest.approx(1.5, abs=0.8)
    p = s.pairs["match_probability"].to_numpy()
    uncertain = (p > 0.1) & (p < 0.9)
    before = abs(p[uncertain].mean() - same[uncertain].mean())
    after = abs(recalibrated(p, shifts)[uncertain].mean() - same[uncertain].mean())
    assert after < 0.05 < before


def test_imputation_interval_covers_the_planted_number_of_persons() -> None:
    """Calibrated probabilities, truth drawn from them: the Rubin interval of the persons
    count covers the true count in most of 20 planted networks, while the single grouping at
    0.5 is outside that interval in some of them."""
    covered, naive_outside = 0, 0
    for seed in range(20):
        s, truth, _ = planted(200, seed=100 + seed, shift=0.0)
        r = rubin(np.array([n_persons(c) for c in draw_clusters(s, 20, seed=seed)]))
        true_n = truth.nunique()
        covered += r["bas"] <= true_n <= r["haut"]
        (naive,) = draw_clusters(s, 0, 0, threshold=0.5)
        naive_outside += (
            not (r["bas"] <= n_persons(naive) <= r["haut"]) or n_persons(naive) != true_n
        )
    assert covered >= 17
    assert naive_outside >= 10


def test_rubin_without_within_variance() -> None:
    r = rubin(np.array([10.0, 12.0, 14.0]), 0.95)
    assert r["moyenne"] == 12.0
    assert r["variance_entre"] == 4.0
    half = 4.302652729749464 * np.sqrt((1 + 1 / 3) * 4.0)
    assert r["bas"] == pytest.approx(12 - half)
    assert r["haut"] == pytest.approx(12 + half)
    assert (r["min"], r["max"]) == (10.0, 14.0)


def test_street_work_rows_of_a_linked_record_count_with_the_named() -> None:
    """A street-work team whose software shares the network's person id: its records are
    linked like the others, so they are neither « street work only » in the network's range
    nor missing from the named persons (before: 1 named person, a network of 1 to 3)."""
    from observatoire.indicators.linkage_imputations import (
        MAXIMUM,
        MINIMUM,
        NAMED,
        count_cells,
        presence_table,
    )

    contacts = pd.DataFrame(
        {
            "record_key": ["a", "b", "s"],
            "dispositif": ["accueil_jour", "travail_rue", "travail_rue"],
            "date_start": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-03-02"]),
            "date_end": pd.NaT,
            "year": 2024,
            "nights": np.nan,
        }
    )
    person = pd.Series({"a": "a", "b": "b", "s": "s"})
    cells = count_cells(presence_table(contacts, pd.Series(["a", "b"])), person, {2024: 0})
    got = cells.set_index("portee")["valeur"]
    assert (got[NAMED], got[MINIMUM], got[MAXIMUM]) == (2, 2, 3)
