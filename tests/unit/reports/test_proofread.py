"""The proofreader of the rendered reports finds the errors it is meant to find (each one a
real error of an earlier edition) and leaves correct French alone."""

from __future__ import annotations

import pytest

from observatoire.reports.common import model_name
from observatoire.reports.proofread import doubled_statements, html_text, proofread, sentences


def _rules(text: str) -> set[str]:
    return {f.rule for f in proofread(text)}


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("ajusté par un modèle de comptage (modèle binomiale négative).", "accord-modele"),
        ("Barres du nombre de personnes distinctes de urgence sociale par année.", "elision-de"),
        ("Le nombre de personnes de accueil de jour.", "elision-de"),
        ("• Horizon court : horizon court : données arrêtées au 31 octobre", "libelle-double"),
        ("Type 1 : Type 1 : Passage bref", "libelle-double"),
        ("la tendance de de la série", "mot-double"),
        ("les jeunes qui y viennent ne reviennent pas dans les 90 jours plus souvent que les "
         "adultes", "double-negation"),
        ("tendance ajustée (modèle Poisson, intervalle de confiance)", "modele-poisson"),
        ("30 juin 2025 Relais Social de Meuse-Centre · Relais Social de Meuse-Centre — "
         "Observatoire 2024", "nom-repete-separateur"),
    ],
)  # fmt: skip
def test_each_error_of_an_earlier_edition_is_found(text, rule):
    assert rule in _rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "Barres du nombre de personnes distinctes par année, urgence sociale, de 2020 à 2024.",
        "le nombre d'urgences de 2024 ; un modèle binomial négatif ; le modèle de Poisson.",
        "Horizon court : données arrêtées au 31 octobre, hiver commençant le mois suivant.",
        "Nous nous sommes réunis. Hiver Nuitées Nuitées offertes. oui oui non non masqué masqué",
        "les jeunes sont plus nombreux que les adultes à ne pas y revenir dans les 90 jours.",
        "Relais Social de Meuse-Centre — Observatoire 2024 · 30 juin 2025",
        "une hausse de 8 % ; de onze à douze ; le hameau ; Housing First",
    ],
)
def test_correct_french_is_left_alone(text):
    assert proofread(text) == []


def test_the_same_interval_twice_as_a_rate_ratio_and_a_percentage_is_found():
    doubled = (
        "Le rapport de taux annuel estimé est de 1,066 (IC 95 % : 1,053 à 1,078) : Hausse "
        "annuelle moyenne estimée de 6,6 % (IC 95 % : 5,3 % à 7,8 %)."
    )
    assert {f.rule for f in doubled_statements(doubled)} == {"chiffre-double"}
    yoy = (
        "D'une année sur l'autre, le rapport 2024/2023 est de 1,082 (IC 95 % : 1,030 à 1,136). "
        "Hausse de 8,2 % par rapport à l'année précédente (rapport de taux 1,08 ; IC 95 % : "
        "1,03 à 1,14)."
    )
    assert [f.rule for f in doubled_statements(yoy)] == ["chiffre-double"]


def test_different_intervals_and_distant_repeats_are_not_doubles():
    text = (
        "Hausse annuelle moyenne estimée de 6,6 % (IC 95 % : 5,3 % à 7,8 %). "
        "Les femmes sont 33,4 % (IC 95 % : 30,1 % à 36,9 %). "
        "Le rapport mensuel est de 1,076 (IC 95 % : 1,070 à 1,083). "
        "Une phrase sans chiffre. Une autre phrase. Encore une autre. "
        "Hausse annuelle moyenne estimée de 6,6 % (IC 95 % : 5,3 % à 7,8 %)."
    )
    assert doubled_statements(text) == []


def test_the_same_sentence_twice_in_a_row_is_found():
    s = "Les chiffres portent sur les six services partenaires du réseau. "
    assert [f.rule for f in doubled_statements(s + s)] == ["phrase-double"]


def test_sentences_undo_line_end_hyphenation():
    assert sentences("Une sta-\n tistique utile. Une autre.") == [
        "Une statistique utile.",
        "Une autre.",
    ]


def test_html_text_keeps_alt_texts_and_drops_embedded_images():
    page = '<p>Texte</p><img src="data:image/png;base64,AAAA" alt="Barres de urgence sociale">'
    text = html_text(page)
    assert "Texte" in text and "AAAA" not in text
    assert "elision-de" in _rules(text)


def test_model_names_agree_in_french():
    assert model_name("binomiale négative") == "modèle binomial négatif"
    assert model_name("Poisson") == "modèle de Poisson"
    assert model_name("quasi-Poisson") == "modèle quasi-Poisson"
