"""The linkage on a handful of hand-made records: it links what it should and never fails
for lack of data."""

from __future__ import annotations

import pandas as pd

from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.linkage.link import build_clean_tables, link_records

PSEUDO = Pseudonymiser(bytes.fromhex("a1" * 32))


def records(rows: list[tuple[str, str, str, str, str, str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(local id, surname, first name, birth date, sex, contact date) → contacts and tokens,
    with the same token purposes as ingest."""
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


SURNAMES = ["DUPONT", "MARTIN", "PEETERS", "JANSSENS", "LAMBERT", "DUBOIS", "MAES", "WILLEMS"]
FIRST_NAMES = ["JEAN", "ANNE", "MARC", "SOPHIE", "LUC"]


def test_files_of_one_person_are_linked_and_others_are_not() -> None:
    """Forty persons, eight of them with a second file (the same identity, a month later)."""
    people = [
        (SURNAMES[i % 8], FIRST_NAMES[i // 8], f"19{60 + i}-0{1 + i % 9}-1{i % 10}", "MF"[i % 2])
        for i in range(40)
    ]
    rows = [(f"{i}", *p, f"2024-0{1 + i % 9}-05") for i, p in enumerate(people)]
    rows += [(f"{i}b", *people[i], f"2024-0{1 + i % 9}-20") for i in range(0, 40, 5)]
    contacts, tokens = records(rows)
    person = link_records(contacts, tokens).person_of().reindex(tokens["record_key"]).to_numpy()
    assert len(set(person)) == 40
    for k, i in enumerate(range(0, 40, 5)):
        assert person[40 + k] == person[i]


def test_no_shared_key_means_no_model_and_no_link() -> None:
    contacts, tokens = records(
        [
            ("1", "DUPONT", "JEAN", "1980-03-04", "M", "2024-01-05"),
            ("2", "LAMBERT", "MARC", "1981-03-04", "M", "2024-01-20"),
        ]
    )
    linkage = link_records(contacts, tokens)
    assert linkage.scored is None
    assert linkage.person_of().nunique() == 2


def test_clean_tables_keep_every_contact() -> None:
    contacts, tokens = records([("1", "DUPONT", "JEAN", "1980-03-04", "M", "2024-01-05")])
    full = contacts.assign(
        **{c: None for c in ("partner_id", "dispositif", "date_end", "nights", "year", "sex")},
        source_file="abri_nuit/test.csv",
        source_row=1,
    )
    for col in ("age_at_contact", "age_estimated", "nationality_group", "exit_reason"):
        full[col] = None
    for col in ("activity", "orientation", "zone", "duration_hours"):
        full[col] = None
    full["nationality_group"] = "INCONNU"
    full["sex"] = "M"
    out, persons = build_clean_tables(full, tokens)
    assert len(out) == 1 and len(persons) == 1
    assert out.loc[0, "person_id"] == persons.loc[0, "person_id"]
