"""Free-text identities on planted truth: every planted form found and replaced, and the labels
partners actually write (the sample's reasons, orientations, zones) left alone."""

from __future__ import annotations

import pandas as pd
import pytest

from observatoire.core.free_text import deidentify, detect, valid_national_number
from observatoire.intake.ingest import deidentify_free_text


def _nn(body: str, after_2000: bool = False) -> str:
    check = 97 - int(("2" if after_2000 else "") + body) % 97
    return f"{body}{check:02d}"


PLANTED = [
    ("M. KOWALCZYK Zbigniew (né le 02/05/1961)", "M. [NOM] (né le [DATE])"),
    ("vu avec Zbigniew KOWALCZYK hier", "vu avec [NOM] hier"),
    ("appel de Mme Van Damme", "appel de Mme [NOM]"),
    ("Monsieur Jean Martin orienté", "Monsieur [NOM] orienté"),
    ("née le 3 mai 1975", "née le [DATE]"),
    ("DDN : 12/11/78", "DDN : [DATE]"),
    ("sortie le 2024-03-01", "sortie le [DATE]"),
    (
        f"NN {_nn('610502123')[:2]}.{_nn('610502123')[2:4]}.{_nn('610502123')[4:6]}-"
        f"{_nn('610502123')[6:9]}.{_nn('610502123')[9:]}",
        "NN [NUMÉRO NATIONAL]",
    ),
    (f"registre {_nn('050312123', after_2000=True)}", "registre [NUMÉRO NATIONAL]"),
    ("tél. 0472 12 34 56", "tél. [TÉLÉPHONE]"),
    ("joindre +32 2 345 67 89", "joindre [TÉLÉPHONE]"),
    ("mail: jean.dupont@exemple.be", "mail: [E-MAIL]"),
    ("habite rue de la Loi 16, Bruxelles", "habite [ADRESSE], Bruxelles"),
]


@pytest.mark.parametrize(("text", "expected"), PLANTED)
def test_every_planted_form_is_replaced(text, expected):
    assert deidentify(text)[0] == expected


LABELS = [
    "Accompagnement",
    "Demande d'hébergement",
    "Distribution (soupe, couverture)",
    "douche;lessive;aide sociale;soins;consigne",
    "Orientation CPAS Anderlecht",
    "Relais santé",
    "Centre-ville",
    "travail de rue",
    "Violence / conflit",
    "RDV CPAS",
    "M. [NOM] (né le [DATE])",  # already de-identified: stable
    "taux 0.123456",
    "12345678901",  # 11 digits whose check digits fail: not a national number
    "a3f5c2e81234567890b1",  # a hash
    "2 nuitées, 14 repas",
]


@pytest.mark.parametrize("text", LABELS)
def test_ordinary_labels_are_left_alone(text):
    assert detect(text) == []


def test_national_number_check_digits():
    assert valid_national_number(_nn("610502123"))
    assert valid_national_number(_nn("050312123", after_2000=True))
    assert not valid_national_number("61050212300")
    assert not valid_national_number("61150212345")  # month 15


def test_ingest_replaces_free_text_before_keeping_it():
    contacts = pd.DataFrame(
        {
            "activity": ["M. KOWALCZYK Zbigniew (né le 02/05/1961)", "Accompagnement", None],
            "orientation": ["CPAS", "tél. 0472 12 34 56", "CPAS"],
            "zone": ["Gare", "Gare", None],
        }
    )
    counts = deidentify_free_text(contacts)
    assert contacts["activity"].tolist()[:2] == ["M. [NOM] (né le [DATE])", "Accompagnement"]
    assert contacts["orientation"].tolist() == ["CPAS", "tél. [TÉLÉPHONE]", "CPAS"]
    assert counts == {
        "activity": {"date de naissance": 1, "nom": 1},
        "orientation": {"téléphone": 1},
    }


def test_placeholders_are_stable_and_not_read_into():
    text = "Martin [NUMÉRO NATIONAL] et [TÉLÉPHONE] Jean, [E-MAIL]"
    assert detect(text) == []
    once = deidentify("M. KOWALCZYK Zbigniew, tél. 0472 12 34 56")[0]
    assert deidentify(once) == (once, {})


def test_national_number_before_a_full_stop():
    number = _nn("610502123")
    assert deidentify(f"NN : {number}.")[0] == "NN : [NUMÉRO NATIONAL]."


def test_addresses_number_first_as_notes_write_them():
    for text in (
        "Adresse : 10, chaussée de Louvain.",
        "Habite 63/2, rue de l'Ange.",
        "au 118, place d'Armes",
    ):
        kept, kinds = deidentify(text)
        assert kinds["adresse"] == 1 and "[ADRESSE]" in kept, text
    assert not deidentify("Il a 12 ans, rue barrée par les travaux")[1]


def test_repeated_texts_are_each_deidentified_and_counted():
    from observatoire.core.free_text import deidentify_each

    note = "Vu M. Dupont, tél 0475 12 34 56."
    out = deidentify_each([note, "RAS", note, "", note], nlp=False)
    assert [t for t, _ in out] == [out[0][0], "RAS", out[0][0], "", out[0][0]]
    assert "Dupont" not in out[0][0]
    assert [sum(c.values()) for _, c in out] == [2, 0, 2, 0, 2]
    out[0][1]["NOM"] += 1  # each text has its own count
    assert sum(out[2][1].values()) == 2
