"""The link stage finishes on any network: when the model cannot be estimated, the fallback
(exact rules, :mod:`observatoire.linkage.fallback`) links the named records, says why, and is
measured on planted truth.

Floors on the planted network (four partners, 5 % of surnames misspelt, 2 % of birth dates
missing, no day/month swap — the network on which Splink's EM drives an m probability below
1e-300): precision ≥ 0.99, the linkage's own precision target (``linkage.targets``), since the
fallback must lose recall, never precision; recall ≥ 0.8, the recall the model itself assumes
for this very rule (``linkage.deterministic_rule_recall``, which gives λ). Measured: precision
1.0, recall 0.865 (a pair is missed when either record has a typo or no birth date:
0.95² × 0.98² ≈ 0.87).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.linkage.fallback import FALLBACK_METHOD, ModelUnavailable
from observatoire.linkage.imputation import EXACT_RULE, draw_clusters, linkage_state
from observatoire.linkage.link import link_records
from observatoire.linkage.model import prior_from_pairs
from observatoire.linkage.quality import pairwise
from observatoire.linkage.settings import LinkageSettings
from tests.support.identity_network import named_network_with_placeholder
from tests.unit.linkage.test_link_small import FIRST_NAMES, SURNAMES, records


def test_the_prior_is_never_0_nor_1_nor_a_division_by_zero() -> None:
    assert prior_from_pairs(100, 8, 0.8) == pytest.approx(10 / 4950)
    for n, pairs, says in ((100, 0, "nulle"), (2, 1, "atteindrait 1"), (1, 0, "moins de deux")):
        with pytest.raises(ModelUnavailable, match=says):
            prior_from_pairs(n, pairs, 0.8)


def test_one_record_per_person_falls_back_and_links_nothing() -> None:
    """Every person has one record (a software sharing its person id across programmes):
    no pair agrees on name, first name and birth date, λ would be 0 and EM on the pairs of
    same birth date ended in « math domain error »."""
    rows = [
        (f"{i}", SURNAMES[i % 8], FIRST_NAMES[i % 5], f"19{60 + i % 7}-0{1 + i % 3}-1{i % 2}")
        for i in range(60)
    ]
    contacts, tokens = records([(*r, "MF"[i % 2], "2024-03-01") for i, r in enumerate(rows)])
    assert tokens["tok_birth_date"].duplicated().any()  # EM would have pairs to work on
    linkage = link_records(contacts, tokens)
    assert linkage.scored is None
    assert linkage.fallback is not None and linkage.fallback.pairs == 0
    assert "(λ) serait nulle" in linkage.fallback.reason
    assert linkage.person_of().nunique() == 60
    out = linkage.fallback.to_json()
    assert out["methode"] == FALLBACK_METHOD and out["motif"] == linkage.fallback.reason


def test_two_records_of_one_person_are_linked_by_the_exact_rules() -> None:
    """Two records, the same person (λ would be ≥ 1: Splink refused the recall), and a third
    with the same name, its birth date swapped; a fourth with the same name and another date
    or sex stays apart."""
    contacts, tokens = records(
        [
            ("1", "DUPONT", "JEAN", "1980-03-04", "M", "2024-01-05"),
            ("2", "DUPONT", "JEAN", "1980-03-04", "M", "2024-02-05"),
        ]
    )
    linkage = link_records(contacts, tokens)
    assert linkage.fallback is not None and "atteindrait 1" in linkage.fallback.reason
    assert linkage.person_of().nunique() == 1
    contacts, tokens = records(
        [
            ("1", "DUPONT", "JEAN", "1980-03-04", "M", "2024-01-05"),
            ("2", "DUPONT", "JEAN", "1980-04-03", "M", "2024-02-05"),
            ("3", "DUPONT", "JEAN", "1981-03-04", "M", "2024-02-05"),
            ("4", "MARTIN", "ANNE", "1990-01-02", "F", "2024-02-05"),
        ]
    )
    swapped = tokens["tok_birth_date"].iloc[1]
    tokens.loc[0, "tok_birth_date_swapped"] = swapped  # as ingest writes it for 04/03
    person = link_records(contacts, tokens).person_of().reindex(tokens["record_key"]).to_numpy()
    assert person[0] == person[1] and len({person[0], person[2], person[3]}) == 3


def test_em_collapse_falls_back_with_stated_precision_and_recall() -> None:
    """Splink's EM on the pairs of same name drove an m probability below 1e-300 (no
    swapped birth date among true matches): the stage stopped. Now the fallback links."""
    net = named_network_with_placeholder(n_persons=800, seed=3, hidden_dates=0.0)
    linkage = link_records(net.contacts, net.tokens)
    assert linkage.fallback is not None
    assert "même nom et prénom" in linkage.fallback.reason and "1e-300" in linkage.fallback.reason
    person = linkage.person_of()
    units = pd.DataFrame({"person_id": person, "true_person_id": net.truth.reindex(person.index)})
    of = net.tokens.drop_duplicates("record_key").set_index("record_key")["partner_id"]
    named = units[of.reindex(units.index).isin({"abri_nuit", "accueil_jour", "urgence_sociale"})]
    q = pairwise(named)
    settings = LinkageSettings()
    assert q["precision"] >= settings.targets.precision
    assert q["rappel"] >= settings.deterministic_rule_recall
    # The draws of the imputations link the fallback's pairs every time, whatever the
    # recalibration says (they are not the model's probabilities).
    state = linkage_state(linkage)
    assert set(state.pairs["lien"]) == {EXACT_RULE}
    (at_threshold,) = draw_clusters(state, 0, 0, threshold=settings.threshold)
    (drawn,) = draw_clusters(state, 1, 0, probabilities=lambda m, p: np.zeros_like(p))
    assert drawn.nunique() == at_threshold.nunique() == linkage.cluster_of().nunique()
