"""The published pathways table: combinations of services d'urgence et de jour (a long stay
does not split a row), grouped, and audited with their detail.

The combinations below are the full-scale sample's of 2024 (``COMBOS``) and 2023
(``COMBOS_PREV``, the default sample's linked persons). In both years 3 persons used both long
stays (maison d'accueil and Housing First) and every combination without a long stay has more
than 50 persons: printing them all would give those 3 away, which is why a long stay does not
split a row (see :func:`observatoire.disclosure.publication.pathway`).
"""

from __future__ import annotations

import pytest

from observatoire.disclosure.publication import (
    OTHER_COMBINATIONS,
    TOTAL,
    combinations,
    dispositifs_per_person,
    key,
    network_key,
    pathway_key,
    persons_by_dispositif,
    services_key,
)
from observatoire.disclosure.suppression import (
    LATENT,
    PUBLISHED,
    UNPRINTED,
    Publication,
    audit,
    latent_exposure,
    protect,
    whole_number_audit,
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
COMBOS_PREV: list[tuple[tuple[str, ...], int]] = [
    ((SW,), 715),
    ((AD,), 544),
    ((US,), 541),
    ((HU, AD), 393),
    ((US, HU), 230),
    ((US, HU, AD), 210),
    ((US, AD), 179),
    ((HU,), 68),
    ((HF,), 63),
    ((MA,), 24),
    ((US, HU, MA), 18),
    ((US, HU, AD, MA), 17),
    ((AD, MA), 15),
    ((HU, AD, MA), 15),
    ((US, MA), 15),
    ((US, AD, MA), 12),
    ((HU, AD, HF), 10),
    ((US, HU, AD, HF), 8),
    ((AD, HF), 5),
    ((AD, MA, HF), 2),
    ((US, AD, HF), 2),
    ((US, HU, HF), 2),
    ((HU, AD, MA, HF), 1),
    ((US, HF), 1),
]
LARGE = 50
LONG_STAY = pathways.LONG_STAY


Combos = list[tuple[tuple[str, ...], int]]


def _ind(combos: Combos = COMBOS, year: int = YEAR, prev: Combos | None = None) -> dict:
    persons = {d: sum(n for c, n in combos if d in c) for d in (US, HU, SW, AD, MA, HF)}
    network = sum(n for _, n in combos)
    before = {d: sum(n for c, n in prev or combos if d in c) for d in persons}
    network_before = sum(n for _, n in prev or combos)
    by_size: dict[str, int] = dict.fromkeys(pathways.N_DISPOSITIFS_CLASSES, 0)
    for combo, n in combos:
        by_size[pathways.n_class(len(pathways.published_combination(combo)))] += n
    return {
        "year": year,
        "dispositifs": {d: {"persons": v, "persons_prev": before[d]} for d, v in persons.items()},
        "network": {"persons": network, "persons_prev": network_before},
        "pathways": {
            "n_dispositifs": by_size,
            "combinations": [
                {"combination": list(c), "persons": n, "label": " + ".join(c)} for c, n in combos
            ],
        },
    }


def _tables(ind: dict) -> tuple[list, list, dict, dict, set, set[str]]:
    table, constraints, latent, unprinted, guarded = combinations(ind, K)
    tables = [persons_by_dispositif(ind), dispositifs_per_person(ind), table]
    y = int(ind["year"])
    headline = {key(y, f"dispositif={d}") for d in ind["dispositifs"]} | {network_key(y)}
    return tables, constraints, latent, unprinted, guarded, headline


def _protect(ind: dict, previous: Publication | None = None) -> Publication:
    tables, constraints, latent, unprinted, guarded, headline = _tables(ind)
    return protect(
        tables,
        K,
        constraints,
        previous=previous,
        latent=latent,
        unprinted=unprinted,
        guarded=guarded,
        keep=headline,
    )


def test_a_long_stay_does_not_split_a_row_and_the_rows_partition_the_persons():
    table, _, latent, unprinted, guarded = combinations(_ind(), K)
    values = table.values["personnes"]
    assert values[TOTAL] == 3343 == values.drop(TOTAL).sum()
    assert values["Maison d'accueil ou Housing First seulement"] == 26 + 80 + 1
    assert values["Hébergement d'urgence"] == 74 + 2 + 1  # alone, with MA, with HF
    assert values["Urgence sociale + Hébergement d'urgence + Accueil de jour"] == 219 + 20 + 7 + 1
    assert (values.drop(TOTAL) >= LARGE).all()
    assert OTHER_COMBINATIONS not in values.index  # every possible row is listed
    assert latent == {}
    assert not any("Housing First" in label for label in values.index[1:])
    # the real combinations inside each row: without a long stay, with MA, with HF, with both
    assert unprinted[key(YEAR, f"combinaison_detaillee={AD}+{HU}+{HF}+{MA}+{US}")] == 1.0
    assert unprinted[key(YEAR, f"combinaison_detaillee={HF}+{MA}")] == 1.0
    assert unprinted[key(YEAR, f"combinaison_detaillee={AD}")] == 528.0
    overlap = key(YEAR, f"dispositifs={HF}&{MA}")
    assert len(unprinted) == 7 * 4 + 3 + 1  # 7 rows × (alone, MA, HF, both); MA, HF, both; overlap
    assert guarded == {overlap} and unprinted[overlap] == 3.0  # MA+HF, AD+MA+HF, all five


def test_printing_every_combination_without_a_long_stay_would_give_the_overlap_away():
    """Why a long stay does not split a row: the combinations without one are all over 50
    persons, and network − their sum = MA + HF − (persons who used both)."""
    for combos in (COMBOS, COMBOS_PREV):
        ind = _ind(combos)
        without = [n for c, n in combos if not {MA, HF} & set(c)]
        assert min(without) >= LARGE
        union = ind["network"]["persons"] - sum(without)
        both = sum(n for c, n in combos if {MA, HF} <= set(c))
        persons = ind["dispositifs"]
        assert persons[MA]["persons"] + persons[HF]["persons"] - union == both == 3


def test_every_identity_a_reader_knows_holds_on_the_true_counts():
    ind = _ind()
    table, constraints, latent, unprinted, guarded = combinations(ind, K)
    truth = {**latent, **unprinted}
    for t in (table, dispositifs_per_person(ind), persons_by_dispositif(ind)):
        for _, _, k, v in t.cells():
            truth[k] = v
    totals = {c.total for c in constraints}
    assert {key(YEAR, f"dispositif={d}") for d in (MA, HF, US)} <= totals
    assert services_key(YEAR, "0") in totals and services_key(YEAR, "3+") in totals
    for c in constraints:
        assert truth[c.total] == sum(truth.get(p, 0.0) for p in c.parts), c.total
    assert truth[services_key(YEAR, "0")] == 107


def test_every_row_of_50_persons_or_more_is_published_this_year_and_last_year():
    """The issue's must: no row of the pathways table (nor of its margin) of 50 persons or more
    is masked, and the audit passes for both years, the overlap of the long stays included."""
    last = _protect(_ind(COMBOS_PREV, YEAR - 1))
    pub = _protect(_ind(COMBOS, YEAR, prev=COMBOS_PREV), previous=last)
    for p, year in ((pub, YEAR), (last, YEAR - 1)):
        table = combinations(_ind(COMBOS if year == YEAR else COMBOS_PREV, year), K)[0]
        for _, _, cell, value in table.cells():
            if value >= LARGE:
                assert p.status[cell] == PUBLISHED, cell
        assert pathway_key(year, [LONG_STAY]) in p.status
    for result in (audit(pub, last), audit(last), whole_number_audit(pub, last)):
        assert result["protected"].all()
    overlaps = {k for k in audit(pub, last)["key"] if "&" in k}
    assert overlaps == {key(y, f"dispositifs={HF}&{MA}") for y in (YEAR, YEAR - 1)}
    assert not latent_exposure(pub, last)["exact"].any()


def test_no_small_detailed_pathway_can_be_deduced_from_the_published_totals():
    pub = _protect(_ind())
    result = audit(pub).set_index("key")
    assert result["protected"].all()
    assert key(YEAR, f"dispositifs={HF}&{MA}") in result.index
    exposure = latent_exposure(pub)
    assert len(exposure) >= 1
    assert not exposure["exact"].any()
    assert set(exposure["key"]) <= {k for k, s in pub.status.items() if s in (LATENT, UNPRINTED)}
    assert not set(exposure["key"]) & set(pub.ledger()["key"])
    assert all(s == PUBLISHED for s in pub.status.values() if s not in (LATENT, UNPRINTED))


def test_small_rows_are_gathered_in_autres_and_stay_protected():
    """At a reduced scale some rows fall under k: they go to « autres » (latent), and the
    audit still protects every small count."""
    small = [(c, max(1, n // 40)) for c, n in COMBOS]
    table, _, latent, _, _ = combinations(_ind(small), K)
    values = table.values["personnes"]
    assert OTHER_COMBINATIONS in values.index and latent
    assert values[OTHER_COMBINATIONS] == sum(latent.values())
    pub = _protect(_ind(small))
    assert audit(pub)["protected"].all()


def test_unprinted_counts_are_checked():
    ind = _ind()
    table, constraints, latent, unprinted, guarded = combinations(ind, K)
    some = next(iter(unprinted))
    with pytest.raises(ValueError, match="négatives"):
        protect([table], K, constraints, latent=latent, unprinted={**unprinted, some: -1.0})
    with pytest.raises(ValueError, match="déjà déclarées"):
        protect(
            [table],
            K,
            constraints,
            latent=latent,
            unprinted={**unprinted, some: 0.0, **{pathway_key(YEAR, [SW]): 1.0}},
        )
