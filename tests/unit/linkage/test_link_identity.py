"""Identity that fits what partners hold, on planted truth (tests/support/identity_network.py).

(a) a network whose software shares one person id and no names; (b) a partner whose software
writes one placeholder for every name; (c) a day centre with local ids and initials but no
names, which is not street work. Each against the naive reading the linkage made before.
"""

from __future__ import annotations

import pandas as pd
import pytest

from observatoire.linkage.link import link_records
from observatoire.linkage.quality import pairwise
from observatoire.linkage.settings import LinkageSettings
from tests.support.identity_network import (
    PSEUDO,
    day_centre_and_street_work,
    named_network_with_placeholder,
    persons_in_several_dispositifs,
    shared_id_network,
)

SURNAMES = ["DUPONT", "MARTIN", "PEETERS", "JANSSENS", "LAMBERT", "DUBOIS", "MAES", "WILLEMS"]
FIRST_NAMES = ["JEAN", "ANNE", "MARC", "SOPHIE", "LUC"]
NO_SAFEGUARD = LinkageSettings.model_validate(
    {"identity_checks": {"constant_share": 1.0, "constant_min_records": 10**6}}
)


def small_records(rows: list[tuple[str, ...]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(local id, surname, first name, birth date, sex, contact date) → contacts and tokens."""
    t = PSEUDO.token
    tokens = pd.DataFrame(
        {
            "source_file": "abri_nuit/test.csv",
            "source_row": range(1, len(rows) + 1),
            "record_key": [t("record", f"abri_nuit:{r[0]}") for r in rows],
            "partner_id": "abri_nuit",
            "dispositif": "hebergement_urgence",
            "sex": [r[4] for r in rows],
            "birth_year": [float(r[3][:4]) for r in rows],
            "est_birth_year": float("nan"),
            "tok_surname": [t("surname", r[1]) for r in rows],
            "tok_first_name": [t("first_name", r[2]) for r in rows],
            "tok_surname_phon": [t("surname_phon", r[1]) for r in rows],
            "tok_first_name_phon": [t("first_name_phon", r[2]) for r in rows],
            "tok_birth_date": [t("birth_date", r[3]) for r in rows],
            "tok_birth_date_swapped": None,
            "tok_initials": None,
        }
    )
    contacts = pd.DataFrame(
        {"record_key": tokens["record_key"], "date_start": pd.to_datetime([r[5] for r in rows])}
    )
    return contacts, tokens


def _quality(net, person: pd.Series, partners: set[str] | None = None) -> dict:
    units = pd.DataFrame({"person_id": person, "true_person_id": net.truth.reindex(person.index)})
    if partners is not None:
        of = net.tokens.drop_duplicates("record_key").set_index("record_key")["partner_id"]
        units = units[of.reindex(units.index).isin(partners)]
    return pairwise(units)


def test_a_network_wide_id_links_records_without_names() -> None:
    net, planted = shared_id_network(n_persons=300, seed=1)
    assert "tok_network_id" in net.tokens and net.tokens["tok_network_id"].notna().all()
    linkage = link_records(net.contacts, net.tokens)
    person = linkage.person_of()
    assert person.nunique() == net.truth.nunique() == 300
    assert persons_in_several_dispositifs(net.contacts, person) == pytest.approx(planted)
    assert _quality(net, person)["precision"] == _quality(net, person)["rappel"] == 1.0
    assert linkage.identity.network_only_by_partner == {
        "abri_nuit": net.tokens.query("partner_id == 'abri_nuit'")["record_key"].nunique(),
        "accueil_jour": net.tokens.query("partner_id == 'accueil_jour'")["record_key"].nunique(),
        "urgence_sociale": net.tokens.query("partner_id == 'urgence_sociale'")[
            "record_key"
        ].nunique(),
    }
    assert linkage.n_street_records == 0 and not linkage.identity.local_only_by_partner
    # The naive reading (the same id declared local): every record its own person, 0 %.
    local, _ = shared_id_network(n_persons=300, seed=1, scope="local")
    assert local.tokens["tok_network_id"].isna().all()
    naive = link_records(local.contacts, local.tokens).person_of()
    assert naive.nunique() == local.contacts["record_key"].nunique() > 300
    assert persons_in_several_dispositifs(local.contacts, naive) == 0.0
    assert planted > 0.3


def test_a_network_id_is_never_split_by_the_model() -> None:
    """Two named files of one id with different names and birth dates (a contradiction the
    model would refuse) stay one person, and the model's own link to a third file (same name
    and birth date as the first) joins them rather than splitting them."""
    people = [
        (SURNAMES[i % 8], FIRST_NAMES[i // 8], f"19{60 + i}-0{1 + i % 9}-1{i % 10}", "MF"[i % 2])
        for i in range(40)
    ]
    rows = [(f"{i}", *p, f"2024-0{1 + i % 9}-05") for i, p in enumerate(people)]
    rows += [(f"{i}b", *people[i], f"2024-0{1 + i % 9}-20") for i in range(0, 40, 5)]
    contacts, tokens = small_records(rows)
    network = [None] * len(rows)
    network[0] = network[1] = PSEUDO.token("network_id", "N1")
    tokens["tok_network_id"] = network
    linkage = link_records(contacts, tokens)
    person = linkage.person_of().reindex(tokens["record_key"]).to_numpy()
    assert person[0] == person[1] == person[40]
    assert len(set(person)) == 39
    assert linkage.identity.network_links == 1
    without = link_records(contacts, tokens.assign(tok_network_id=None)).person_of()
    assert without.nunique() == 40


def test_a_constant_name_placeholder_is_named_and_neutralised() -> None:
    net = named_network_with_placeholder(n_persons=800, seed=2, hidden_dates=0.0)
    named = {"abri_nuit", "accueil_jour", "urgence_sociale"}
    before = link_records(net.contacts, net.tokens, NO_SAFEGUARD)
    after = link_records(net.contacts, net.tokens)
    warnings = after.identity.warnings()
    assert any("logiciel_x" in w and "« surname »" in w for w in warnings)
    assert any("logiciel_x" in w and "« first_name »" in w for w in warnings)
    assert {(c.partner_id, c.field) for c in after.identity.constants} == {
        ("logiciel_x", "surname"),
        ("logiciel_x", "first_name"),
    }
    assert not before.identity.constants
    # The placeholder made the blocking compare every pair of the partner's records.
    assert before.scored.n_pairs > 20 * after.scored.n_pairs
    q_after_all = _quality(net, after.person_of())
    q_after = _quality(net, after.person_of(), named)
    assert q_after_all["precision"] >= 0.95
    assert q_after["precision"] >= 0.95 and q_after["rappel"] >= 0.95
    assert q_after_all["precision"] >= _quality(net, before.person_of())["precision"]
    # Its records keep no name: each is its own person, said per partner.
    assert after.identity.local_only_by_partner == {
        "logiciel_x": net.tokens.query("partner_id == 'logiciel_x'")["record_key"].nunique()
    }


def test_blocking_above_the_cap_drops_the_largest_rules_and_says_so() -> None:
    net = named_network_with_placeholder(n_persons=800, seed=2, hidden_dates=0.0)
    capped = LinkageSettings.model_validate(
        {
            "identity_checks": {
                "constant_share": 1.0,
                "constant_min_records": 10**6,
                "max_pairs": 5000,
            }
        }
    )
    linkage = link_records(net.contacts, net.tokens, capped)
    identity = linkage.identity
    assert (
        identity.dropped_rules
        and sum(n for r, n in identity.pairs_by_rule.items() if r not in identity.dropped_rules)
        <= 5000
    )
    assert "date de naissance" not in identity.dropped_rules
    assert any("max_pairs" in w for w in identity.warnings())
    assert linkage.scored.n_pairs <= 5000
    named = {"abri_nuit", "accueil_jour", "urgence_sociale"}
    assert _quality(net, linkage.person_of(), named)["precision"] >= 0.95


def test_a_day_centre_without_names_is_not_street_work() -> None:
    net = day_centre_and_street_work(n_persons=200, seed=3)
    linkage = link_records(net.contacts, net.tokens)
    person = linkage.person_of()
    centre = net.contacts.loc[net.contacts["partner_id"] == "accueil_jour", "record_key"].unique()
    street = net.contacts.loc[net.contacts["partner_id"] == "travail_rue", "record_key"].unique()
    # Every day-centre record is its own person (its local id), never chained on initials.
    assert person.reindex(centre).nunique() == len(centre)
    assert set(linkage.street.index) == set(street)
    assert not set(person.reindex(centre)) & set(person.reindex(street))
    assert linkage.identity.local_only_by_partner == {"accueil_jour": len(centre)}
    assert not linkage.identity.constants
    message = " ".join(linkage.identity.warnings())
    assert "accueil_jour" in message and "jamais reliée sur des initiales" in message
    # The naive rule (no name → street work) chained different persons of the day centre.
    naive = net.tokens.assign(dispositif="travail_rue")
    chained = link_records(net.contacts, naive).person_of().reindex(centre)
    truth = net.truth.reindex(centre)
    assert chained.nunique() < len(centre)
    assert _quality(net, chained)["precision"] < 1.0
    assert truth.nunique() == len(centre)
