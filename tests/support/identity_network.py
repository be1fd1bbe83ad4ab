"""Planted-truth networks for the identity rules of the linkage (who links on what).

Each builder draws persons with a known identity, writes the canonical rows a partner's export
would give ingest (as :func:`observatoire.intake.ingest.read_partner_file` returns them), and
pseudonymises them with the very function ingest uses, so the linkage sees what it would see in
production. The truth (``true_person_id`` per record key) comes back beside the tables. Used by
``tests/unit/linkage/test_link_identity.py`` (one small case each) and
``bench/identity_linkage.py`` (seeds and scales).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.intake.ingest import pseudonymise_contacts
from observatoire.intake.mapping import ColumnSpec, ExportSpec, FileFormat, PartnerMapping
from observatoire.intake.pseudonymise import Pseudonymiser

__all__ = [
    "PSEUDO",
    "Network",
    "day_centre_and_street_work",
    "named_network_with_placeholder",
    "partner",
    "persons_in_several_dispositifs",
    "shared_id_network",
]

PSEUDO = Pseudonymiser(bytes.fromhex("b2" * 32))

SURNAMES = [
    "PEETERS",
    "JANSSENS",
    "MAES",
    "JACOBS",
    "MERTENS",
    "WILLEMS",
    "CLAES",
    "GOOSSENS",
    "WOUTERS",
    "DEBOIS",
    "LAMBERT",
    "DUPONT",
    "MARTIN",
    "SIMON",
    "LAURENT",
    "LEFEVRE",
    "LECLERCQ",
    "DUBOIS",
    "HERMANS",
    "MICHEL",
    "FRANCOIS",
    "DESMET",
    "DEVOS",
    "LEROY",
    "RENARD",
    "GERARD",
    "FONTAINE",
    "DUMONT",
    "HUBERT",
    "MATHIEU",
    "BENALI",
    "EL",
    "AMRANI",
    "DIALLO",
    "BARRY",
    "NGUYEN",
    "KOWALSKI",
    "NOWAK",
    "POPESCU",
    "ROSSI",
    "GARCIA",
    "LOPEZ",
    "SANTOS",
    "OLIVEIRA",
    "YILMAZ",
    "KAYA",
    "DEMIR",
    "CELIK",
    "MOREAU",
    "ROBERT",
    "PETIT",
]
FIRST_NAMES = [
    "JEAN",
    "MARIE",
    "PIERRE",
    "LUC",
    "ANNE",
    "SOPHIE",
    "MARC",
    "PAUL",
    "JULIE",
    "EMMA",
    "LOUIS",
    "NOAH",
    "LEA",
    "SARAH",
    "THOMAS",
    "NICOLAS",
    "MOHAMED",
    "FATIMA",
    "AHMED",
    "YOUSSEF",
    "AMINA",
    "OMAR",
    "IBRAHIMA",
    "MAMADOU",
    "AISHA",
    "ELENA",
    "ANDREI",
    "PIOTR",
    "ANNA",
    "JAN",
    "TOM",
    "LOTTE",
    "NINA",
    "KEVIN",
    "DAVID",
    "LAURA",
    "CLAIRE",
    "ALI",
    "MEHMET",
    "AYSE",
    "HUGO",
    "ARTHUR",
    "LINA",
    "ADAM",
    "RAYAN",
]


@dataclass
class Network:
    """Contacts and tokens as ingest writes them, and the truth per record key."""

    contacts: pd.DataFrame
    tokens: pd.DataFrame
    truth: pd.Series
    """record_key → true person id."""


def partner(pid: str, dispositif: str, fields: dict[str, str], scope: str = "local"):
    """A one-export mapping reading the canonical ``fields`` (field → kind)."""
    columns = {
        name: ColumnSpec(
            field=name,
            column=name.replace("_", " ").capitalize(),
            kind=kind,
            identity=name in ("local_id", "surname", "first_name", "birth_date", "initials"),
            scope=scope if name == "local_id" else "local",
        )
        for name, kind in fields.items()
    }
    export = ExportSpec("export1", "contacts", f"{pid}/*.csv", FileFormat(), columns)
    return PartnerMapping(pid, pid, dispositif, "contact", (export,))


def _pseudonymise(rows: pd.DataFrame, mapping: PartnerMapping) -> tuple[pd.DataFrame, ...]:
    frame = rows.drop(columns=["true_person_id"]).reset_index(drop=True)
    frame["source_file"] = f"{mapping.partner_id}/export.csv"
    frame["source_row"] = np.arange(1, len(frame) + 1)
    contacts, tokens = pseudonymise_contacts(frame, mapping, PSEUDO)
    truth = pd.Series(rows["true_person_id"].to_numpy(), index=contacts["record_key"].to_numpy())
    return contacts, tokens, truth[~truth.index.duplicated()]


def _assemble(parts: list[tuple[pd.DataFrame, ...]]) -> Network:
    contacts = pd.concat([p[0] for p in parts], ignore_index=True)
    tokens = pd.concat([p[1] for p in parts], ignore_index=True)
    truth = pd.concat([p[2] for p in parts])
    return Network(contacts, tokens, truth[~truth.index.duplicated()])


def _dates(rng: np.random.Generator, n: int, around: np.ndarray | None = None) -> pd.Series:
    """Contact dates in 2024; with ``around`` (a day per row), within five weeks of it (a
    person's contacts with several services fall in the same weeks)."""
    days = rng.integers(0, 365, n) if around is None else around + rng.integers(-35, 36, n)
    return pd.Timestamp("2024-01-01") + pd.to_timedelta(np.clip(days, 0, 364), unit="D")


def shared_id_network(
    n_persons: int = 300, seed: int = 1, scope: str = "network", with_birth_dates: bool = False
) -> tuple[Network, float]:
    """Three partners of one software that shares one person id, and no names (the id written
    « ab-12 », « AB-12 » or « AB-12 » depending on the partner's screen). Each person goes to a
    random non-empty set of the three services, one to three contacts each. Returns the network
    and the planted share of persons seen by several dispositifs."""
    rng = np.random.default_rng(seed)
    services = [
        ("abri_nuit", "hebergement_urgence"),
        ("accueil_jour", "accueil_jour"),
        ("urgence_sociale", "urgence_sociale"),
    ]
    visits = rng.random((n_persons, 3)) < 0.45
    visits[~visits.any(axis=1), 0] = True
    sex = rng.choice(["M", "F"], n_persons)
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20000, n_persons), "D")
    fields = {"local_id": "text", "sex": "code", "date_start": "date"}
    if with_birth_dates:
        fields["birth_date"] = "date"
    parts = []
    for j, (pid, disp) in enumerate(services):
        who = np.flatnonzero(visits[:, j])
        times = rng.integers(1, 4, len(who))
        person = np.repeat(who, times)
        ids = [f"ab-{p:05d}" if j == 0 else f" AB-{p:05d} " for p in person]
        rows = pd.DataFrame(
            {
                "true_person_id": person,
                "local_id": ids,
                "sex": sex[person],
                "date_start": _dates(rng, len(person)),
            }
        )
        if with_birth_dates:
            rows["birth_date"] = birth[person]
        parts.append(_pseudonymise(rows, partner(pid, disp, fields, scope)))
    share = float((visits.sum(axis=1) > 1).mean())
    return _assemble(parts), share


def named_network_with_placeholder(
    n_persons: int = 600, seed: int = 2, placeholder: bool = True, hidden_dates: float = 1 / 3
) -> Network:
    """Four partners with names and birth dates (5 % of surnames misspelt, 2 % of birth dates
    missing); each person goes to one or two of them. The
    fourth partner's software writes one placeholder for every surname and first name (« X »
    « X »), and no birth date for a third of its clients, as some software does for clients
    who asked to stay anonymous."""
    rng = np.random.default_rng(seed)
    services = [
        ("abri_nuit", "hebergement_urgence"),
        ("accueil_jour", "accueil_jour"),
        ("urgence_sociale", "urgence_sociale"),
        ("logiciel_x", "maison_accueil"),
    ]
    surname = rng.choice(SURNAMES, n_persons)
    first = rng.choice(FIRST_NAMES, n_persons)
    sex = rng.choice(["M", "F"], n_persons)
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20000, n_persons), "D")
    home = rng.integers(0, 4, n_persons)
    active = rng.integers(0, 365, n_persons)
    second = np.where(rng.random(n_persons) < 0.5, rng.integers(0, 4, n_persons), home)
    fields = {
        "local_id": "text",
        "surname": "text",
        "first_name": "text",
        "birth_date": "date",
        "sex": "code",
        "date_start": "date",
    }
    parts = []
    for j, (pid, disp) in enumerate(services):
        who = np.flatnonzero((home == j) | (second == j))
        times = rng.integers(1, 3, len(who))
        person = np.repeat(who, times)
        rows = pd.DataFrame(
            {
                "true_person_id": person,
                "local_id": [f"{pid[:2]}{p}" for p in person],
                "surname": surname[person],
                "first_name": first[person],
                "birth_date": birth[person],
                "sex": sex[person],
                "date_start": _dates(rng, len(person), active[person]),
            }
        )
        # Registration noise, as in real files: a misspelt surname, a missing birth date.
        typo = rng.random(len(rows)) < 0.05
        rows.loc[typo, "surname"] = rows.loc[typo, "surname"].map(lambda v: v[:-1] + "Z")
        rows.loc[rng.random(len(rows)) < 0.02, "birth_date"] = pd.NaT
        if placeholder and pid == "logiciel_x":
            rows["surname"] = "X"
            rows["first_name"] = "X"
            rows.loc[rng.random(len(rows)) < hidden_dates, "birth_date"] = pd.NaT
        parts.append(_pseudonymise(rows, partner(pid, disp, fields)))
    return _assemble(parts)


def day_centre_and_street_work(n_persons: int = 200, seed: int = 3) -> Network:
    """A day centre that keeps a local id, initials and an estimated age but no name, and a
    street-work team with initials and an estimated age. Few initials (the same letters come
    back), so many different persons share initials, sex and age."""
    rng = np.random.default_rng(seed)
    initials = rng.choice(["MB", "JD", "AK", "SD", "ME", "AB", "FB", "NL", "KD", "YB"], n_persons)
    sex = rng.choice(["M", "F"], n_persons)
    age = rng.integers(25, 35, n_persons)
    centre = pd.DataFrame({"p": np.arange(n_persons)}).sample(frac=0.6, random_state=seed)["p"]
    person = np.repeat(centre.to_numpy(), 3)
    rows = pd.DataFrame(
        {
            "true_person_id": person,
            "local_id": [f"U{p}" for p in person],
            "initials": initials[person],
            "estimated_age": age[person],
            "sex": sex[person],
            "date_start": _dates(rng, len(person)),
        }
    )
    fields = {
        "local_id": "text",
        "initials": "text",
        "estimated_age": "integer",
        "sex": "code",
        "date_start": "date",
    }
    parts = [_pseudonymise(rows, partner("accueil_jour", "accueil_jour", fields))]
    street = np.flatnonzero(rng.random(n_persons) < 0.4)
    srows = pd.DataFrame(
        {
            "true_person_id": street,
            "initials": initials[street],
            "estimated_age": age[street],
            "sex": sex[street],
            "date_start": _dates(rng, len(street)),
        }
    )
    fields = {k: v for k, v in fields.items() if k != "local_id"}
    parts.append(_pseudonymise(srows, partner("travail_rue", "travail_rue", fields)))
    return _assemble(parts)


def persons_in_several_dispositifs(contacts: pd.DataFrame, person_of: pd.Series) -> float:
    """Share of persons (as linked) seen by more than one dispositif."""
    person = contacts["record_key"].map(person_of)
    n = contacts.assign(person=person).groupby("person")["dispositif"].nunique()
    return float((n > 1).mean())
