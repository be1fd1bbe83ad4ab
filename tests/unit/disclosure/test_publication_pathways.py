"""The published combinations of dispositifs: merged, grouped, and audited with their detail.

The combinations below are the full-scale sample's of 2024: maison d'accueil and Housing
First apart, 8 of them had 1 to 4 persons and a reader could deduce two exactly from the
persons of each dispositif and by number of dispositifs (one was a single person using all
five linked services).
"""

from __future__ import annotations

import pytest

from observatoire.disclosure.publication import (
    TOTAL,
    combinations,
    dispositifs_per_person,
    key,
    network_key,
    persons_by_dispositif,
)
from observatoire.disclosure.suppression import (
    LATENT,
    PUBLISHED,
    UNPRINTED,
    audit,
    latent_exposure,
    protect,
)
from observatoire.indicators import pathways

K = 5
YEAR = 2024
US, HU, AD, SW, MA, HF = (
    "urgence_sociale",
    "hebergement_urgence",
    "accueil_jour",
    "travail_rue",
    "maison_accueil",
    "housing_first",
)
COMBOS: list[tuple[tuple[str, ...], int]] = [
    ((SW,), 821),
    ((US,), 559),
    ((AD,), 528),
    ((HU, AD), 420),
    ((US, HU), 288),
    ((US, HU, AD), 219),
    ((US, AD), 205),
    ((HF,), 80),
    ((HU,), 74),
    ((MA,), 26),
    ((US, HU, AD, MA), 20),
    ((HU, AD, MA), 18),
    ((US, AD, MA), 16),
    ((AD, MA), 13),
    ((HU, AD, HF), 11),
    ((US, HU, MA), 11),
    ((AD, HF), 8),
    ((US, HU, AD, HF), 7),
    ((US, MA), 7),
    ((US, AD, HF), 3),
    ((HU, MA), 2),
    ((US, HU, HF), 2),
    ((AD, MA, HF), 1),
    ((HU, HF), 1),
    ((MA, HF), 1),
    ((US, HF), 1),
    ((US, HU, AD, MA, HF), 1),
]


def _ind() -> dict:
    persons = {d: sum(n for c, n in COMBOS if d in c) for d in (US, HU, SW, AD, MA, HF)}
    network = sum(n for _, n in COMBOS)
    by_size: dict[str, int] = dict.fromkeys(pathways.N_DISPOSITIFS_CLASSES, 0)
    for combo, n in COMBOS:
        by_size[pathways.n_class(len(pathways.published_combination(combo)))] += n
    return {
        "year": YEAR,
        "dispositifs": {d: {"persons": v, "persons_prev": v} for d, v in persons.items()},
        "network": {"persons": network, "persons_prev": network},
        "pathways": {
            "n_dispositifs": by_size,
            "combinations": [
                {"combination": list(c), "persons": n, "label": " + ".join(c)} for c, n in COMBOS
            ],
        },
    }


def test_the_table_merges_maison_accueil_and_housing_first_and_partitions_the_persons():
    table, _, latent, unprinted, guarded = combinations(_ind(), K)
    values = table.values["personnes"]
    assert values[TOTAL] == 3343 == values.drop(TOTAL).sum()
    long_stay = "Maison d'accueil ou Housing First"
    assert values[long_stay] == 26 + 80 + 1  # MA alone, HF alone, both
    assert values["Urgence sociale + Hébergement d'urgence + Accueil de jour + " + long_stay] == 28
    assert (values.drop([TOTAL, "Autres combinaisons"]) >= K).all()
    assert values["Autres combinaisons"] == 3  # hébergement d'urgence + MA ou HF: 2 + 1
    assert not any(MA in label or HF in label for label in values.index)
    # what no table prints: the one small merged combination, and every real combination
    # hidden inside a merged one (with MA, with HF, with both)
    assert latent == {key(YEAR, f"combinaison={HU}+maison_accueil_ou_housing_first"): 3.0}
    assert unprinted[key(YEAR, f"combinaison_detaillee={AD}+{HU}+{HF}+{MA}+{US}")] == 1.0
    assert unprinted[key(YEAR, f"combinaison_detaillee={HF}+{MA}")] == 1.0
    assert unprinted[key(YEAR, f"combinaison_detaillee={AD}+{MA}")] == 13.0
    overlap = key(YEAR, f"dispositifs={HF}&{MA}")
    assert len(unprinted) == 8 * 3 + 1  # 8 merged combinations × (MA, HF, both); the overlap
    assert guarded == {overlap} and unprinted[overlap] == 3.0  # MA+HF, AD+MA+HF, all five


def test_every_identity_a_reader_knows_holds_on_the_true_counts():
    ind = _ind()
    table, constraints, latent, unprinted, guarded = combinations(ind, K)
    truth = {**latent, **unprinted}
    for _, _, k, v in table.cells():
        truth[k] = v
    for d, row in ind["dispositifs"].items():
        truth[key(YEAR, f"dispositif={d}")] = row["persons"]
    for n, v in ind["pathways"]["n_dispositifs"].items():
        truth[key(YEAR, f"nb_dispositifs={n}")] = v
    totals = {c.total for c in constraints}
    assert {key(YEAR, f"dispositif={d}") for d in (MA, HF, US)} <= totals
    assert key(YEAR, "nb_dispositifs=4+") in totals
    for c in constraints:
        assert truth[c.total] == sum(truth.get(p, 0.0) for p in c.parts), c.total
    assert sum(ind["pathways"]["n_dispositifs"].values()) == truth[network_key(YEAR)]


def test_no_small_detailed_pathway_can_be_deduced_from_the_published_totals():
    ind = _ind()
    table, constraints, latent, unprinted, guarded = combinations(ind, K)
    tables = [persons_by_dispositif(ind), dispositifs_per_person(ind), table]
    headline = {key(YEAR, f"dispositif={d}") for d in ind["dispositifs"]} | {network_key(YEAR)}
    pub = protect(
        tables, K, constraints, latent=latent, unprinted=unprinted, keep=headline, guarded=guarded
    )
    result = audit(pub).set_index("key")
    assert result["protected"].all()
    # the persons who used both services merged in one row: MA + HF − the merged rows' union
    # would give them (116 + 116 − 229 = 3) if no combination row were masked
    assert guarded <= set(result.index)
    exposure = latent_exposure(pub)
    # the 8 real combinations of 1 to 4 persons and the small merged one
    assert len(exposure) == 9
    assert not exposure["exact"].any()
    assert set(exposure["key"]) <= {k for k, s in pub.status.items() if s in (LATENT, UNPRINTED)}
    assert not set(exposure["key"]) & set(pub.ledger()["key"])
    assert all(pub.status[k] == PUBLISHED for k in headline)


def test_without_guarding_the_overlap_a_reader_computes_it():
    ind = _ind()
    table, constraints, latent, unprinted, guarded = combinations(ind, K)
    tables = [persons_by_dispositif(ind), dispositifs_per_person(ind), table]
    headline = {key(YEAR, f"dispositif={d}") for d in ind["dispositifs"]} | {network_key(YEAR)}
    careless = protect(tables, K, constraints, latent=latent, unprinted=unprinted, keep=headline)
    exposure = latent_exposure(careless).set_index("key")
    (overlap,) = guarded
    assert exposure.loc[overlap, "exact"] and exposure.loc[overlap, "value"] == 3


def test_unprinted_counts_are_checked():
    ind = _ind()
    table, constraints, latent, unprinted, guarded = combinations(ind, K)
    some = next(iter(unprinted))
    with pytest.raises(ValueError, match="négatives"):
        protect([table], K, constraints, latent=latent, unprinted={**unprinted, some: -1.0})
    with pytest.raises(ValueError, match="déjà déclarées"):
        protect([table], K, constraints, latent=latent, unprinted={**unprinted, **latent})
