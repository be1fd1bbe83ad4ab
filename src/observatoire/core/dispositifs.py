"""The vocabulary of dispositifs (service types): each is defined once, here.

A dispositif's code (used in mappings, data and file names), its French label, its colour in
every chart, its place in charts and legends, how its contacts cover days, and the introduction
of its chapter in the annual report all come from one :class:`Dispositif` entry. Adding a
dispositif is one entry in :data:`VOCABULARY` plus the mapping of the partners that run it
(``params/partners/*.yaml``); the constants below are derived from the entries so that no module
keeps its own list.

The few dispositifs with a rule of their own are named once as roles (:data:`SHELTER`,
:data:`STREET_WORK`…): the night shelter's nights and refusals, street work's anonymous records,
Housing First's tenancy retention, the social emergency service's interventions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DAY_CENTRE",
    "DISPOSITIFS",
    "DISPOSITIF_COLOURS",
    "DISPOSITIF_LABELS",
    "ETHOS",
    "ETHOS_LIGHT",
    "HOUSING",
    "HOUSING_FIRST",
    "INTRO",
    "IN_TEXT",
    "MAISON_ACCUEIL",
    "MAX_STAY_NIGHTS",
    "NIGHT_STAYS",
    "OPEN_ENDED",
    "SHELTER",
    "SOCIAL_EMERGENCY",
    "STAY_DISPOSITIFS",
    "STREET_WORK",
    "TIME_UNITS",
    "VISIT_DISPOSITIFS",
    "VOCABULARY",
    "Dispositif",
    "by_code",
]


ETHOS_LIGHT: dict[int, str] = {
    1: "Personnes vivant dans la rue",
    2: "Personnes en hébergement d'urgence",
    3: "Personnes en hébergement pour personnes sans domicile",
    4: "Personnes en institution",
    5: "Personnes vivant dans des logements non conventionnels faute de logement",
    6: "Personnes sans domicile vivant temporairement chez de la famille ou des amis",
}
"""The six living situations of the ETHOS Light typology (FEANTSA; Edgar et al., 2007), the
harmonised definition the Belgian counts (Fondation Roi Baudouin) use."""


@dataclass(frozen=True)
class Dispositif:
    """One service type of the network."""

    code: str
    label: str
    colour: str
    """Its hue in every chart (Okabe & Ito colour-blind-safe palette)."""
    chart_rank: int
    """Its place in chart legends and series (the report's tables follow :data:`VOCABULARY`)."""
    presence: Literal["stay", "visit"]
    """A stay covers every night from entry to exit; a visit covers its own day."""
    open_ended: bool
    """A stay may still be running (no end date): its person is present up to the year's end."""
    max_stay_nights: int | None
    """Longest plausible stay, in nights, for services counted in nights (a longer stay is set
    aside as ``valeur_hors_plage``); None when stays are not checked against a length."""
    time_unit: str
    """The unit of its time in the report's durations (« nuitées », « jours de contact »…)."""
    housing: bool
    """Housing, not homelessness: left out of presence for long-term stayers and of returns."""
    intro: str
    """The first paragraph of its chapter in the annual report (French)."""
    in_text: str
    """Its name inside a French sentence (« l'accueil de jour » → ``accueil de jour``; a
    proper name keeps its capitals: ``Housing First``)."""
    ethos: tuple[int, ...]
    """The ETHOS Light categories (:data:`ETHOS_LIGHT`) of the living situation the service
    *is* (the night shelter: 2) or, for a service that meets people wherever they live, of the
    situations of the people it meets; empty when it is no homeless situation (Housing First:
    its tenants are housed)."""
    ethos_note: str
    """How the service sits in ETHOS Light, in French (printed in the report's table)."""


VOCABULARY: tuple[Dispositif, ...] = (
    Dispositif(
        code="urgence_sociale",
        label="Urgence sociale",
        colour="#CC79A7",  # reddish purple
        chart_rank=5,
        presence="visit",
        open_ended=False,
        max_stay_nights=None,
        time_unit="jours de contact",
        housing=False,
        intro=(
            "Le dispositif d'urgence sociale répond jour et nuit aux situations de détresse : "
            "écoute, aide matérielle immédiate, orientation vers un service du réseau. Une ligne "
            "d'export est une intervention."
        ),
        in_text="urgence sociale",
        ethos=(1, 2, 3, 4, 5, 6),
        ethos_note=(
            "service d'aide, pas une situation de logement : les personnes aidées relèvent de "
            "toutes les catégories, et aussi de situations de logement précaires hors ETHOS Light"
        ),
    ),
    Dispositif(
        code="hebergement_urgence",
        label="Hébergement d'urgence",
        colour="#D55E00",  # vermillion
        chart_rank=1,
        presence="stay",
        open_ended=False,
        # a night shelter is a place for the night: a stay of over a year is a missing exit
        max_stay_nights=366,
        time_unit="nuitées",
        housing=False,
        intro=(
            "L'abri de nuit accueille pour la nuit les personnes sans abri ; sa capacité augmente "
            "pendant le Plan Grand Froid. Une ligne d'export est un séjour ; les refus faute de "
            "place sont comptés chaque soir."
        ),
        in_text="hébergement d'urgence",
        ethos=(2,),
        ethos_note=("catégorie 2 : personnes en hébergement d'urgence"),
    ),
    Dispositif(
        code="travail_rue",
        label="Travail de rue",
        colour="#009E73",  # bluish green
        chart_rank=4,
        presence="visit",
        open_ended=False,
        max_stay_nights=None,
        time_unit="jours de contact",
        housing=False,
        intro=(
            "Les travailleurs de rue vont à la rencontre des personnes là où elles vivent. Ils "
            "n'enregistrent que des initiales et un âge estimé : leurs contacts ne sont pas reliés"
            " "
            "aux autres services, et une personne vue en rue et ailleurs est comptée deux fois "
            "dans le total du réseau."
        ),
        in_text="travail de rue",
        ethos=(1,),
        ethos_note=(
            "surtout catégorie 1 : personnes vivant dans la rue (les personnes rencontrées peuvent"
            " relever d'autres catégories)"
        ),
    ),
    Dispositif(
        code="accueil_jour",
        label="Accueil de jour",
        colour="#56B4E9",  # sky blue
        chart_rank=3,
        presence="visit",
        open_ended=False,
        max_stay_nights=None,
        time_unit="jours de contact",
        housing=False,
        intro=(
            "L'accueil de jour offre un lieu de repos, des repas, des douches, une laverie et une "
            "aide sociale. Une ligne d'export est un passage."
        ),
        in_text="accueil de jour",
        ethos=(1, 2, 3, 4, 5, 6),
        ethos_note=(
            "service de jour, pas une situation de logement : les personnes accueillies relèvent "
            "de toutes les catégories, et parfois d'un logement précaire"
        ),
    ),
    Dispositif(
        code="maison_accueil",
        label="Maison d'accueil",
        colour="#E69F00",  # orange
        chart_rank=2,
        presence="stay",
        open_ended=True,
        # houses people for months, often over a year, rarely beyond five
        max_stay_nights=1827,
        time_unit="jours",
        housing=False,
        intro=(
            "La maison d'accueil héberge pour plusieurs semaines ou mois, avec un accompagnement "
            "vers le logement. Une ligne d'export est un séjour, avec son motif de sortie."
        ),
        in_text="maison d'accueil",
        ethos=(3,),
        ethos_note=("catégorie 3 : personnes en hébergement pour personnes sans domicile"),
    ),
    Dispositif(
        code="housing_first",
        label="Housing First",
        colour="#0072B2",  # blue
        chart_rank=6,
        presence="stay",
        open_ended=True,
        max_stay_nights=None,
        time_unit="jours en logement",
        housing=True,
        intro=(
            "Housing First donne directement accès à un logement, avec un accompagnement "
            "intensif, à des personnes sans abri de longue durée. Une ligne d'export est un "
            "accompagnement en logement."
        ),
        in_text="Housing First",
        ethos=(),
        ethos_note=(
            "hors ETHOS Light : les locataires sont logés (sortie du sans-abrisme avec "
            "accompagnement)"
        ),
    ),
)
"""In the order of the IWEPS axes, then the other services: the order of the report's tables."""

_BY_CODE = {d.code: d for d in VOCABULARY}


def by_code(code: str) -> Dispositif:
    """The dispositif of a code (KeyError for an unknown code: mappings are checked upstream)."""
    return _BY_CODE[code]


# Roles: the dispositifs with rules of their own.
SHELTER = "hebergement_urgence"
"""The night shelter: nights, occupancy, refusals for lack of a bed, the winter forecast."""
STREET_WORK = "travail_rue"
"""Street work: initials and an estimated age only, never linked to the other services."""
HOUSING_FIRST = "housing_first"
"""Housing First: tenancy retention."""
MAISON_ACCUEIL = "maison_accueil"
SOCIAL_EMERGENCY = "urgence_sociale"
"""The social emergency service: its activity is counted in interventions."""
DAY_CENTRE = "accueil_jour"
"""The day centre: where a person goes in the daytime (the summer plan's cool rooms, the flyer)."""

DISPOSITIFS: dict[str, str] = {d.code: d.label for d in VOCABULARY}
_CHART_ORDER = sorted(VOCABULARY, key=lambda d: d.chart_rank)
DISPOSITIF_LABELS: dict[str, str] = {d.code: d.label for d in _CHART_ORDER}
"""Labels in chart order."""
DISPOSITIF_COLOURS: dict[str, str] = {d.code: d.colour for d in _CHART_ORDER}
"""Colours in chart order (a dispositif keeps its colour in every chart of every report)."""
INTRO: dict[str, str] = {d.code: d.intro for d in VOCABULARY}
IN_TEXT: dict[str, str] = {d.code: d.in_text for d in VOCABULARY}
ETHOS: dict[str, tuple[int, ...]] = {d.code: d.ethos for d in VOCABULARY}
STAY_DISPOSITIFS: tuple[str, ...] = tuple(d.code for d in VOCABULARY if d.presence == "stay")
VISIT_DISPOSITIFS: tuple[str, ...] = tuple(d.code for d in VOCABULARY if d.presence == "visit")
OPEN_ENDED: tuple[str, ...] = tuple(d.code for d in VOCABULARY if d.open_ended)
MAX_STAY_NIGHTS: dict[str, int] = {
    d.code: d.max_stay_nights for d in VOCABULARY if d.max_stay_nights is not None
}
NIGHT_STAYS: tuple[str, ...] = tuple(MAX_STAY_NIGHTS)
TIME_UNITS: dict[str, str] = {d.code: d.time_unit for d in VOCABULARY}
HOUSING: tuple[str, ...] = tuple(d.code for d in VOCABULARY if d.housing)
"""Stays counted in nights and checked against a longest plausible length."""
