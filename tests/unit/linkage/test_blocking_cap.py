"""The blocking cap counts distinct pairs, on planted truth (issue 21: at 10× the sum of the
rules' upper bounds, 5.6 million for 1.2 million distinct pairs, dropped a rule for nothing).

The frame: 20 records of one person (same names, same birth date, names sharing four spelling
variants) and 30 different persons born the same day. The birth-date rule compares 190 + 435
pairs; the name rules compare the same 190 pairs again, the spelling-variant rules each four
times over (once per shared variant). Bounds: 625 + 0 + 190 + 190 + 760 + 760 = 2 525;
distinct pairs: 625.
"""

from __future__ import annotations

import itertools

import duckdb
import pandas as pd
import pytest

from observatoire.linkage.link import link_records
from observatoire.linkage.model import BLOCKING_RULES, blocking_pair_counts, distinct_pair_counts
from observatoire.linkage.records import IDENTIFIED, build_record_tables
from observatoire.linkage.safeguards import COUNT_FACTOR, rules_to_drop
from observatoire.linkage.settings import LinkageSettings
from tests.support.identity_network import PSEUDO

RULES = [label for label, _ in BLOCKING_RULES]
BOUNDS = dict(zip(RULES, [625, 0, 190, 190, 760, 760], strict=True))
DISTINCT = dict(zip(RULES, [625, 0, 0, 0, 0, 0], strict=True))


def overlapping_records() -> tuple[pd.DataFrame, pd.DataFrame]:
    t = PSEUDO.token
    rows = [("DUPONT", "JEAN", "1980-01-15")] * 20
    rows += [(f"NOM{i}", f"PRENOM{i}", "1975-03-20") for i in range(30)]

    def variants(kind: str, name: str) -> list[str]:
        return [t(kind, f"{name}~{k}") for k in range(4)]

    tokens = pd.DataFrame(
        {
            "source_file": "abri_nuit/test.csv",
            "source_row": range(1, len(rows) + 1),
            "record_key": [t("record", f"abri_nuit:{i}") for i in range(len(rows))],
            "partner_id": "abri_nuit",
            "dispositif": "hebergement_urgence",
            "sex": "M",
            "birth_year": [float(r[2][:4]) for r in rows],
            "est_birth_year": float("nan"),
            "tok_surname": [t("surname", r[0]) for r in rows],
            "tok_first_name": [t("first_name", r[1]) for r in rows],
            "tok_surname_phon": [t("surname_phon", r[0]) for r in rows],
            "tok_first_name_phon": [t("first_name_phon", r[1]) for r in rows],
            "tok_surname_variants": [variants("sv", r[0]) for r in rows],
            "tok_first_name_variants": [variants("fv", r[1]) for r in rows],
            "tok_birth_date": [t("birth_date", r[2]) for r in rows],
            "tok_birth_date_swapped": None,
            "tok_initials": None,
        }
    )
    contacts = pd.DataFrame(
        {"record_key": tokens["record_key"], "date_start": pd.Timestamp("2023-05-01")}
    )
    return contacts, tokens


def brute_force(records: pd.DataFrame) -> dict[str, int]:
    """Every pair of named records (lower id on the left, as Splink takes it), given to the
    first rule that catches it."""

    def known(x: object) -> bool:
        return x is not None and x is not pd.NA and not (isinstance(x, float) and x != x)

    def same(x: object, y: object) -> bool:
        return known(x) and known(y) and bool(x == y)

    def share(x: object, y: object) -> bool:
        return known(x) and known(y) and bool(set(x) & set(y))

    tests = [
        lambda a, b: same(a.tok_birth_date, b.tok_birth_date),
        lambda a, b: same(a.tok_birth_date, b.tok_birth_date_swapped),
        lambda a, b: (
            same(a.tok_surname, b.tok_surname) and same(a.tok_first_name, b.tok_first_name)
        ),
        lambda a, b: (
            same(a.tok_surname_phon, b.tok_surname_phon)
            and same(a.tok_first_name_phon, b.tok_first_name_phon)
        ),
        lambda a, b: (
            same(a.tok_surname, b.tok_surname)
            and share(a.tok_first_name_variants, b.tok_first_name_variants)
        ),
        lambda a, b: (
            same(a.tok_first_name, b.tok_first_name)
            and share(a.tok_surname_variants, b.tok_surname_variants)
        ),
    ]
    out = dict.fromkeys(RULES, 0)
    rows = list(records.sort_values("unique_id").itertuples())
    for left, right in itertools.combinations(rows, 2):
        for label, test in zip(RULES, tests, strict=True):
            if test(left, right):
                out[label] += 1
                break
    return out


def test_distinct_counts_are_the_pairs_each_rule_adds() -> None:
    contacts, tokens = overlapping_records()
    con = duckdb.connect()
    try:
        tables = build_record_tables(con, contacts, tokens, 3)
        assert blocking_pair_counts(tables) == BOUNDS
        assert distinct_pair_counts(tables, RULES) == DISTINCT
        assert brute_force(con.execute(f"SELECT * FROM {IDENTIFIED}").df()) == DISTINCT
        # Without the birth-date rule, its pairs of the one person become the names' own.
        later = RULES[1:]
        assert distinct_pair_counts(tables, later) == {**dict.fromkeys(later, 0), RULES[2]: 190}
    finally:
        con.close()


def capped(max_pairs: float) -> LinkageSettings:
    return LinkageSettings.model_validate(
        {
            "identity_checks": {
                "constant_share": 1.0,
                "constant_min_records": 10**6,
                "max_pairs": max_pairs,
            }
        }
    )


def test_overlapping_rules_under_the_cap_are_all_kept() -> None:
    contacts, tokens = overlapping_records()
    identity = link_records(contacts, tokens, capped(1100)).identity
    assert sum(identity.pairs_by_rule.values()) == 2525 > 1100
    assert identity.dropped_rules == []
    assert identity.distinct_pairs_by_rule == DISTINCT
    assert identity.distinct_total == 625
    assert not any("max_pairs" in w for w in identity.warnings())
    # The bounds alone would have dropped both spelling-variant rules.
    bounds_only = rules_to_drop(BOUNDS, 1100, lambda rules: {r: BOUNDS[r] for r in rules})
    assert bounds_only[0] == [RULES[5], RULES[4]]


def test_distinct_pairs_over_the_cap_drop_a_rule_and_say_so() -> None:
    contacts, tokens = overlapping_records()
    identity = link_records(contacts, tokens, capped(400)).identity
    assert identity.dropped_rules == ["date de naissance"]
    # Once it is dropped, the names' rule compares the one person's 190 pairs itself.
    assert identity.distinct_pairs_by_rule == {**DISTINCT, "nom et prénom": 190}
    assert identity.distinct_total == 625
    message = next(w for w in identity.warnings() if "max_pairs" in w)
    assert message.startswith("Le blocage comparerait 625 paires distinctes de dossiers")
    assert "« date de naissance » (625 paires de plus que les règles précédentes)" in message
    assert "borne haute" not in message
    assert identity.to_json()["paires_distinctes_par_regle"]["date de naissance"] == 625


def test_a_rule_too_large_to_count_is_dropped_on_its_bound() -> None:
    contacts, tokens = overlapping_records()
    assert COUNT_FACTOR * 300 < 625 < 760
    identity = link_records(contacts, tokens, capped(300)).identity
    # The three rules whose bound exceeds twice the cap go on their bounds, largest first (the
    # later one of a tie first); the others are counted: the names' rule takes the 190 pairs.
    assert identity.dropped_rules == [RULES[5], RULES[4], RULES[0]]
    assert identity.distinct_pairs_by_rule == {**BOUNDS, RULES[3]: 0}
    assert identity.distinct_total == 190 + 625 + 760 + 760
    message = next(w for w in identity.warnings() if "max_pairs" in w).replace("\u202f", " ")
    assert f"« {RULES[5]} » (760 paires de plus que les règles précédentes, borne haute)" in message
    assert f"« {RULES[0]} » (625 paires de plus que les règles précédentes, borne haute)" in message


def test_nothing_is_counted_when_the_bounds_hold() -> None:
    def fail(rules: list[str]) -> dict[str, int]:
        raise AssertionError("counted")

    assert rules_to_drop(BOUNDS, 2525, fail) == ([], None, None)


@pytest.mark.parametrize(
    ("cap", "dropped"),
    [(1000, []), (400, ["b"]), (100, ["b", "c"]), (0, ["b", "c", "d", "a"])],
)
def test_independent_rules_are_dropped_largest_first(cap: int, dropped: list[str]) -> None:
    counts = {"a": 10, "b": 500, "c": 300, "d": 20}
    independent = rules_to_drop(counts, cap, lambda rules: {r: counts[r] for r in rules})
    assert independent[0] == dropped
