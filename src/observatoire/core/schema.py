"""The canonical data model every partner export is mapped onto.

Partners write their own formats; the mapping file of each partner (``params/partners/*.yaml``)
names which of its columns feed which canonical field. Everything downstream of ingest only ever
sees these fields, so a new partner is a new mapping file, not new code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "FIELD_COMMON_COLUMNS",
    "FIELD_FORMS",
    "FIELD_KINDS",
    "FIELD_TABLES",
    "GROUP_AGE_BANDS",
    "GROUP_SEXES",
    "INCIDENT_COLUMNS",
    "INCIDENT_CONSEQUENCES",
    "INCIDENT_CONTEXTS",
    "INCIDENT_DIRECTIONS",
    "INCIDENT_FIELDS",
    "INCIDENT_SEVERITIES",
    "INCIDENT_TYPES",
    "NETWORK_SERVICES",
    "PLACE_TYPES",
    "PROJECT_ACTIVITIES",
    "PROJECT_ACTIVITY_FIELDS",
    "PROJECT_ATTENDANCE_FIELDS",
    "PROJECT_BUDGET_FIELDS",
    "PROJECT_BUDGET_LINES",
    "PROJECT_CHILD_TABLES",
    "PROJECT_CONTACT_KINDS",
    "PROJECT_DERIVED_COLUMNS",
    "PROJECT_DOMAINS",
    "PROJECT_FOLLOWUP_FIELDS",
    "PROJECT_IDENTITY_FIELDS",
    "PROJECT_OUTCOMES",
    "PROJECT_PROPOSAL_FIELDS",
    "PROJECT_ROLES",
    "PROJECT_TABLES",
    "PROJECT_THEMES",
    "RELAY_ACTIONS",
    "RELAY_ALLOWANCE_COLUMNS",
    "RELAY_ALLOWANCE_FIELDS",
    "RELAY_BARRIERS",
    "RELAY_NEEDS",
    "RELAY_ORIENTATIONS",
    "RELAY_POINTS",
    "RELAY_SERVICE_COLUMNS",
    "RELAY_SERVICE_FIELDS",
    "STREET_CLIMATES",
    "STREET_GROUP_COLUMNS",
    "STREET_GROUP_FIELDS",
    "STREET_OBSERVATION_COLUMNS",
    "STREET_OBSERVATION_FIELDS",
    "STREET_ORIENTATIONS",
    "STREET_PROBLEMS",
    "STREET_RESOURCES",
    "STREET_ZONES",
    "SUPPORT_AFTER",
    "TESTIMONY_COLUMNS",
    "TESTIMONY_FIELDS",
    "TESTIMONY_ROLES",
    "WORKER_ROLES",
    "WORKER_SENIORITY",
    "WORKER_SURVEY_COLUMNS",
    "WORKER_SURVEY_FIELDS",
    "YOUNG_AGE_BANDS",
    "empty_field_table",
    "field_dtypes",
    "typed_field_table",
    "split_codes",
    "AGE_BANDS",
    "AGGREGATE_COLUMNS",
    "AGGREGATE_FIELDS",
    "AGGREGATE_MEASURES",
    "AGGREGATE_PERIODS",
    "GROUP_ROLES",
    "Measure",
    "CONTACT_COLUMNS",
    "CONTACT_FIELDS",
    "EXIT_REASONS",
    "IDENTITY_FIELDS",
    "NATIONALITY_GROUPS",
    "PERSON_COLUMNS",
    "QUARANTINE_REASONS",
    "REFUSAL_COLUMNS",
    "REFUSAL_FIELDS",
    "SEX_CODES",
    "TABLE_FIELDS",
    "WEATHER_ALERTS",
    "WEATHER_COLUMNS",
    "WEATHER_FIELDS",
    "Field",
    "age_band",
]

SEX_CODES = ("M", "F", "X", "INCONNU")

NATIONALITY_GROUPS: dict[str, str] = {
    "BE": "Belge",
    "UE": "Autre pays de l'UE",
    "HORS_UE": "Hors UE",
    "INCONNU": "Inconnue",
}
EXIT_REASONS: dict[str, str] = {
    "depart_volontaire": "Départ volontaire",
    "exclusion": "Exclusion (violence, règlement)",
    "relogement": "Relogement",
    "orientation": "Orientation vers un autre service",
    "deces": "Décès",
    "inconnu": "Inconnu",
}

AGE_BANDS: list[tuple[str, int, int]] = [
    ("<18", 0, 17),
    ("18-21", 18, 21),
    ("22-25", 22, 25),
    ("26-34", 26, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65+", 65, 200),
]
"""Age bands of the domain brief; 18–21 and 22–25 are the youth sub-bands."""


@dataclass(frozen=True)
class Field:
    """A canonical field a partner column can be mapped onto."""

    name: str
    kind: str  # text | date | integer | decimal | code (+ the field kinds, FIELD_KINDS)
    identity: bool = False
    label: str = ""
    codes: tuple[str, ...] = ()
    """For a ``code`` or ``codes`` field of the field tables: its closed list of canonical
    codes (empty: an open list, e.g. the testimonies' themes from the codebook in params)."""


CONTACT_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("local_id", "text", identity=True, label="identifiant local de la personne"),
        Field("surname", "text", identity=True, label="nom"),
        Field("first_name", "text", identity=True, label="prénom"),
        Field("birth_date", "date", identity=True, label="date de naissance"),
        Field("initials", "text", identity=True, label="initiales"),
        Field("estimated_age", "integer", label="âge estimé"),
        Field("sex", "code", label="sexe"),
        Field("nationality", "code", label="nationalité"),
        Field("date_start", "date", label="date de début (entrée, passage, contact)"),
        Field("date_end", "date", label="date de fin (sortie)"),
        Field("nights", "integer", label="nuitées"),
        Field("exit_reason", "code", label="motif de sortie"),
        Field("activity", "text", label="prestation ou motif"),
        Field("orientation", "text", label="orientation donnée"),
        Field("zone", "text", label="zone"),
        Field("time", "text", label="heure"),
        Field("duration_hours", "decimal", label="durée (heures)"),
        Field("fee_eur", "decimal", label="participation financière (€)"),
    ]
}

REFUSAL_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("date", "date", label="date de la nuit"),
        Field("refusals", "integer", label="refus faute de place"),
    ]
}


@dataclass(frozen=True)
class Measure:
    """One quantity an aggregate return may count (``aggregates``: one closed list).

    ``persons`` says whether it counts persons (published under the disclosure threshold) or
    something else (beds, nights, meals: published as they are). ``kind`` says how a month or a
    year is made of days or months: ``flux`` quantities add up over time (meals, persons newly
    identified in the month); ``nuit`` quantities hold for each night of the period (beds
    available, occupied) and add up into bed-nights (a monthly value counts once per night of
    the month); ``stock`` quantities are a state at the end of the period (persons actively
    homeless at the end of the month): a year's value is its last period's, never a sum.
    ``family`` groups them in the report: capacity, occupancy, flows by status, services."""

    code: str
    label: str
    persons: bool
    kind: str  # flux | nuit | stock
    family: str  # capacite | occupation | statut | prestations


AGGREGATE_MEASURES: dict[str, Measure] = {
    m.code: m
    for m in [
        Measure("beds_available", "lits disponibles", False, "nuit", "capacite"),
        Measure("winter_extra_beds", "lits d'hiver (plan hiver)", False, "nuit", "capacite"),
        Measure("beds_occupied", "lits occupés (nuitées)", False, "nuit", "occupation"),
        Measure("refusals", "refus faute de place (demandes)", False, "flux", "occupation"),
        Measure("newly_identified", "personnes nouvellement identifiées", True, "flux", "statut"),
        Measure(
            "returned_from_housing", "personnes revenues après un logement", True, "flux", "statut"
        ),
        Measure(
            "returned_from_inactive",
            "personnes revenues après une période inactive",
            True,
            "flux",
            "statut",
        ),
        Measure("moved_to_housing", "personnes relogées", True, "flux", "statut"),
        Measure("moved_to_inactive", "personnes passées inactives", True, "flux", "statut"),
        Measure(
            "actively_homeless",
            "personnes activement sans abri (fin de période)",
            True,
            "stock",
            "statut",
        ),
        Measure("persons_served", "personnes accueillies", True, "flux", "prestations"),
        Measure("visits", "passages", False, "flux", "prestations"),
        Measure("meals", "repas servis", False, "flux", "prestations"),
        Measure("showers", "douches", False, "flux", "prestations"),
        Measure("laundry", "lessives", False, "flux", "prestations"),
        Measure("rounds", "tournées (travail de rue)", False, "flux", "prestations"),
        Measure("blankets", "couvertures distribuées", False, "flux", "prestations"),
        Measure("water_distributions", "distributions d'eau", False, "flux", "prestations"),
    ]
}
"""The closed list of measures of aggregate returns (``docs/donnees-agregees.md``)."""

AGGREGATE_PERIODS: dict[str, str] = {"jour": "par jour", "mois": "par mois"}
"""How long the period of one aggregate row is: a day or a calendar month."""

GROUP_ROLES: dict[str, str] = {
    "total": "total (l'ensemble des personnes)",
    "partie": "partie d'une partition (les parties s'additionnent en un total)",
    "sous_groupe": "sous-groupe qui chevauche les autres (jamais additionné)",
}
"""What a population group of an aggregate return is to the others (declared by the mapping)."""

AGGREGATE_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("date", "date", label="date du jour ou du mois compté"),
        Field("programme", "text", label="programme, structure ou site du partenaire"),
        Field("group", "text", label="groupe de population (isolés, familles, jeunes…)"),
        Field("measure", "text", label="mesure comptée (fichier long : une ligne par mesure)"),
        Field("value", "decimal", label="valeur de la mesure (fichier long)"),
        *(Field(code, "integer", label=m.label) for code, m in AGGREGATE_MEASURES.items()),
    ]
}
"""Fields of ``table: aggregates``: a long file maps ``measure`` and ``value``, a wide file one
column per measure (the measure codes are fields)."""

WEATHER_ALERTS: dict[str, str] = {
    "froid": "alerte froid",
    "chaleur": "alerte chaleur",
}
"""Official alerts the weather table may carry (``alert``; "" on a day without alert)."""

WEATHER_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("date", "date", label="jour du relevé (ou premier jour d'une alerte)"),
        Field("date_end", "date", label="dernier jour d'une alerte (fichier de périodes)"),
        Field("station", "text", label="code de la station météo"),
        Field("tmin", "decimal", label="température minimale du jour (°C)"),
        Field("tmax", "decimal", label="température maximale du jour (°C)"),
        Field("alert", "code", label="alerte officielle (froid, chaleur)"),
    ]
}
"""Fields of ``table: weather``: daily readings (date, station, tmin, tmax) and/or official
alerts (date, optional date_end and station, alert), read like any export
(``docs/plans-saisonniers.md``)."""

# --- field records (issue 19): forms filled on phones, not service contacts ---------------------

FIELD_KINDS: dict[str, str] = {
    "codes": "plusieurs codes (choix multiple) : codes canoniques triés, séparés par une espace",
    "free_text": "texte libre, désidentifié à la lecture (noms, adresses, téléphones, dates)",
    "hour": "heure de la journée, 0 à 23 (une heure « 22:40 » se lit 22)",
    "boolean": "oui ou non",
}
"""The kinds of field the field tables add to text, date, integer, decimal and code."""

NETWORK_SERVICES: dict[str, str] = {
    "abri_nuit": "abri de nuit",
    "accueil_jour": "accueil de jour",
    "maison_accueil": "maison d'accueil",
    "urgence_sociale": "urgence sociale",
    "travail_rue": "travail de rue",
    "housing_first": "Housing First",
    "autre": "autre service",
}
"""Services of the network a field record names (their partner ids), or ``autre``."""

INCIDENT_TYPES: dict[str, str] = {
    "verbale": "violence verbale",
    "physique": "violence physique",
    "sexuelle": "violence sexuelle",
    "biens": "atteinte aux biens",
    "menaces": "menaces",
    "autoagression": "autoagression",
}
INCIDENT_DIRECTIONS: dict[str, str] = {
    "usager_travailleur": "d'un usager envers un travailleur",
    "usager_usager": "entre usagers",
    "travailleur_usager": "d'un travailleur envers un usager",
    "exterieur_service": "de l'extérieur envers le service",
}
INCIDENT_SEVERITIES: dict[str, str] = {
    "faible": "faible",
    "moyenne": "moyenne",
    "grave": "grave",
}
INCIDENT_CONSEQUENCES: dict[str, str] = {
    "blessure": "blessure",
    "arret_travail": "arrêt de travail",
    "exclusion": "exclusion de l'usager",
    "police": "intervention de la police",
    "fermeture_service": "fermeture du service",
    "aucune": "aucune",
}
INCIDENT_CONTEXTS: dict[str, str] = {
    "fermeture": "heure de fermeture",
    "file_attente": "file d'attente",
    "refus": "refus (de place, de service)",
    "consommation": "consommation (alcool, drogues)",
    "sante_mentale": "santé mentale",
    "conflit_entre_usagers": "conflit entre usagers",
    "autre": "autre contexte",
}

STREET_ZONES: dict[str, str] = {
    "Gare": "Gare",
    "Centre-ville": "Centre-ville",
    "Parc": "Parc",
    "Quais": "Quais",
}
"""The street-work zones: the names of the city's GeoJSON and of travail_rue's exports."""
PLACE_TYPES: dict[str, str] = {
    "rue": "rue",
    "parc": "parc",
    "gare": "gare",
    "squat": "squat",
    "commerce": "commerce",
    "autre": "autre lieu",
}
STREET_PROBLEMS: dict[str, str] = {
    "consommation": "consommation",
    "deal": "deal",
    "violence": "violence",
    "sante_mentale": "santé mentale",
    "hygiene": "hygiène",
    "mendicite": "mendicité",
    "nuisances": "nuisances",
    "isolement": "isolement",
    "autre": "autre problème",
}
STREET_RESOURCES: dict[str, str] = {
    "commerce_solidaire": "commerce solidaire",
    "association": "association",
    "point_eau": "point d'eau",
    "toilettes": "toilettes",
    "abri": "abri",
    "autre": "autre ressource",
}
STREET_CLIMATES: dict[str, str] = {"calme": "calme", "tendu": "tendu", "conflictuel": "conflictuel"}
_NETWORK = {k: v for k, v in NETWORK_SERVICES.items() if k != "autre"}
STREET_ORIENTATIONS: dict[str, str] = {
    **_NETWORK,
    "cpas": "CPAS",
    "sante": "service de santé",
    "autre": "autre",
}
GROUP_AGE_BANDS: dict[str, str] = {
    "moins_15": "moins de 15 ans",
    "15_17": "15 à 17 ans",
    "18_25": "18 à 25 ans",
    "26_44": "26 à 44 ans",
    "45_64": "45 à 64 ans",
    "65_plus": "65 ans et plus",
    "inconnu": "inconnu",
}
YOUNG_AGE_BANDS = ("15_17", "18_25")
"""The age bands of a street group that are « young people » (15–25) of the street diagnosis."""
GROUP_SEXES: dict[str, str] = {
    "hommes": "hommes",
    "femmes": "femmes",
    "mixte": "mixte",
    "inconnu": "inconnu",
}

RELAY_POINTS: dict[str, str] = {"fixe": "point fixe", "mobile": "point mobile (triporteur)"}
RELAY_NEEDS: dict[str, str] = {
    "social": "social",
    "sante": "santé",
    "logement": "logement",
    "administratif": "administratif",
    "langue": "langue",
    "autre": "autre besoin",
}
RELAY_ACTIONS: dict[str, str] = {
    "information": "information",
    "accompagnement": "accompagnement",
    "orientation": "orientation",
    "ecoute": "écoute",
}
RELAY_ORIENTATIONS: dict[str, str] = {
    **_NETWORK,
    "cpas": "CPAS",
    "mutuelle": "mutuelle",
    "sante": "service de santé",
    "logement_social": "logement social",
    "autre": "autre",
}
RELAY_BARRIERS: dict[str, str] = {
    "langue": "langue",
    "numerique": "numérique",
    "mobilite": "mobilité",
    "documents": "documents",
    "horaires": "horaires",
    "mefiance": "méfiance",
    "autre": "autre obstacle",
}

WORKER_ROLES: dict[str, str] = {
    "educateur": "éducateur",
    "assistant_social": "assistant social",
    "accueil": "accueil",
    "veilleur": "veilleur de nuit",
    "infirmier": "infirmier",
    "direction": "direction",
    "autre": "autre fonction",
}
WORKER_SENIORITY: dict[str, str] = {
    "moins_2": "moins de 2 ans",
    "2_5": "2 à 5 ans",
    "plus_5": "plus de 5 ans",
}
SUPPORT_AFTER: dict[str, str] = {
    "oui": "oui",
    "partiel": "en partie",
    "non": "non",
    "sans_objet": "sans objet",
}
TESTIMONY_ROLES: dict[str, str] = {
    "usager": "usager",
    "expert_du_vecu": "expert du vécu",
    "travailleur": "travailleur",
}


def _codes(kind: str, name: str, codes: dict[str, str], label: str) -> Field:
    return Field(name, kind, label=label, codes=tuple(codes))


_SUBMISSION = [
    Field("submission_id", "text", label="identifiant de la soumission (_uuid de KoboToolbox)"),
    Field("form_version", "text", label="version du formulaire (__version__)"),
]

INCIDENT_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field("date", "date", label="date de l'incident"),
        Field("hour", "hour", label="heure de l'incident"),
        _codes("code", "service", NETWORK_SERVICES, "service où l'incident a eu lieu"),
        _codes("codes", "types", INCIDENT_TYPES, "types de violence"),
        _codes("code", "direction", INCIDENT_DIRECTIONS, "sens de la violence"),
        _codes("code", "severity", INCIDENT_SEVERITIES, "gravité"),
        _codes("codes", "consequences", INCIDENT_CONSEQUENCES, "suites de l'incident"),
        _codes("codes", "context", INCIDENT_CONTEXTS, "contexte de l'incident"),
        Field("persons_involved", "integer", label="personnes impliquées"),
        Field("person_id", "text", identity=True, label="identifiant de l'auteur dans le service"),
        Field("note", "free_text", label="récit de l'incident"),
    ]
}
STREET_OBSERVATION_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field("date", "date", label="date de la présence"),
        Field("hour", "hour", label="heure de début"),
        Field("duration_hours", "decimal", label="durée (heures)"),
        _codes("code", "zone", STREET_ZONES, "zone"),
        _codes("code", "place_type", PLACE_TYPES, "type de lieu"),
        Field("persons_met", "integer", label="personnes rencontrées (sinon : somme des groupes)"),
        Field("young_met", "integer", label="jeunes de 15 à 25 ans rencontrés (sinon : groupes)"),
        _codes("codes", "problems", STREET_PROBLEMS, "problèmes observés"),
        _codes("codes", "resources", STREET_RESOURCES, "ressources observées"),
        _codes("code", "climate", STREET_CLIMATES, "climat"),
        _codes("codes", "orientations", STREET_ORIENTATIONS, "orientations données"),
        Field("collective_session", "boolean", label="séance de projet collectif avec des jeunes"),
        Field("collective_participants", "integer", label="participants au projet collectif"),
        Field("note", "free_text", label="observations libres"),
    ]
}
STREET_GROUP_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("submission_id", "text", label="identifiant de la soumission parente (_uuid)"),
        Field("form_version", "text", label="version du formulaire"),
        Field("group_index", "integer", label="numéro du groupe (_index)"),
        Field("size", "integer", label="taille du groupe"),
        _codes("code", "age_band", GROUP_AGE_BANDS, "tranche d'âge du groupe"),
        _codes("code", "sex", GROUP_SEXES, "composition du groupe"),
    ]
}
RELAY_SERVICE_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field("date", "date", label="date de la prestation"),
        Field("hour", "hour", label="heure"),
        Field("relay_id", "text", identity=True, label="code de l'habitant-relais"),
        _codes("code", "point", RELAY_POINTS, "point de contact"),
        Field("people_helped", "integer", label="personnes aidées"),
        _codes("codes", "needs", RELAY_NEEDS, "besoins"),
        _codes("codes", "actions", RELAY_ACTIONS, "actions"),
        _codes("codes", "oriented_to", RELAY_ORIENTATIONS, "orientations vers"),
        _codes("codes", "barriers", RELAY_BARRIERS, "obstacles à l'accès"),
        Field("note", "free_text", label="situation (texte libre)"),
    ]
}
RELAY_ALLOWANCE_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("submission_id", "text", label="identifiant de la ligne (sinon : fichier et ligne)"),
        Field("date", "date", label="jour de présence"),
        Field("relay_id", "text", identity=True, label="code de l'habitant-relais"),
        Field("hours", "decimal", label="heures de présence"),
        Field("allowance_eur", "decimal", label="défraiement (€)"),
    ]
}
WORKER_SURVEY_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        _codes("code", "service", NETWORK_SERVICES, "service du répondant"),
        _codes("code", "role", WORKER_ROLES, "fonction"),
        _codes("code", "seniority", WORKER_SENIORITY, "ancienneté"),
        Field("verbal_12m", "boolean", label="violence verbale subie (12 mois)"),
        Field("physical_12m", "boolean", label="violence physique subie (12 mois)"),
        Field("threat_12m", "boolean", label="menaces subies (12 mois)"),
        Field("witnessed_12m", "boolean", label="violence vue (12 mois)"),
        Field("safety", "integer", label="sentiment de sécurité (1 à 5)"),
        Field("trained", "boolean", label="formé à la gestion de la violence"),
        _codes("code", "support_after", SUPPORT_AFTER, "soutien après un incident"),
        Field("note", "free_text", label="commentaire libre"),
    ]
}
TESTIMONY_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field("date", "date", label="date du témoignage"),
        _codes("code", "role", TESTIMONY_ROLES, "qui témoigne"),
        _codes("code", "service", NETWORK_SERVICES, "service concerné"),
        Field("themes", "codes", label="thèmes (codes du livre de codes, params/terrain.yaml)"),
        Field("text", "free_text", label="témoignage"),
    ]
}

# --- project records (issue 20): the follow-up of a project the network runs ------------------

PROJECT_ACTIVITIES: dict[str, str] = {
    "conseil": "conseil des locataires",
    "sport": "activité sportive",
    "culture": "activité culturelle ou artistique",
    "atelier": "atelier",
    "sortie": "sortie",
    "entrainement": "entraînement",
    "tournoi": "tournoi",
    "autre": "autre activité",
}
"""Activity codes the projects' code lists usually translate into (``params/codes/
activites_<projet>.yaml``). The field's list is open in the schema and CLOSED by the mapping's
list: an activity typed under a name the list does not know is set aside (code_inconnu)."""
PROJECT_ROLES: dict[str, str] = {
    "locataire": "locataire",
    "joueur": "joueur",
    "volontaire": "volontaire",
    "travailleur": "travailleur",
    "autre": "autre",
}
PROJECT_CONTACT_KINDS: dict[str, str] = {
    "visite_domicile": "visite à domicile",
    "entretien": "entretien",
    "accompagnement_exterieur": "accompagnement à l'extérieur",
    "telephone": "téléphone",
    "autre": "autre contact",
}
PROJECT_DOMAINS: dict[str, str] = {
    "culture": "culture",
    "sport": "sport",
    "communautaire": "lieu communautaire",
    "famille": "liens familiaux",
    "formation_emploi": "formation, emploi",
    "sante_bien_etre": "santé, bien-être, estime de soi",
    "citoyennete": "citoyenneté",
    "logement_appropriation": "appropriation du logement",
}
"""Domains of affiliation of a Housing First tenant's follow-up."""
PROJECT_THEMES: dict[str, str] = {
    "activite": "activité",
    "cadre_de_vie": "cadre de vie",
    "reglement": "règlement",
    "partenariat": "partenariat",
    "autre": "autre thème",
}
PROJECT_OUTCOMES: dict[str, str] = {
    "realisee": "réalisée",
    "en_cours": "en cours",
    "refusee": "refusée",
    "abandonnee": "abandonnée",
}
PROJECT_BUDGET_LINES: dict[str, str] = {
    "personnel": "personnel",
    "activites": "activités",
    "equipement": "équipement",
    "transport": "transport",
    "location": "location",
    "communication": "communication",
    "autre": "autre",
}
"""Usual budget lines (an open list: a project may declare its own)."""

PROJECT_ACTIVITY_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field("date", "date", label="date de l'activité (de la séance)"),
        Field("activity", "code", label="activité (code de la liste du projet)"),
        Field("title", "text", label="intitulé tel que saisi"),
        Field("place", "text", label="lieu"),
        Field("partner", "text", label="partenaire (lieu, organisation)"),
        Field("duration_hours", "decimal", label="durée (heures)"),
        Field(
            "activity_id",
            "text",
            label="identifiant de la séance (sinon : « date|activité|n »)",
        ),
        Field(
            "participants_count", "integer", label="nombre de participants (feuille de comptage)"
        ),
    ]
}
PROJECT_ATTENDANCE_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field(
            "activity_id", "text", label="identifiant de la séance (sinon : « date|activité|n »)"
        ),
        Field("date", "date", label="date de la séance"),
        Field("activity", "code", label="activité (code de la liste du projet)"),
        Field("participant_id", "text", identity=True, label="code du participant"),
        _codes("code", "role", PROJECT_ROLES, "rôle"),
        Field("person_key", "text", label="clé du dossier chez le partenaire (dérivée)"),
        Field("tok_surname", "text", label="jeton du nom (dérivé)"),
        Field("tok_first_name", "text", label="jeton du prénom (dérivé)"),
        Field("tok_birth_date", "text", label="jeton de la date de naissance (dérivé)"),
    ]
}
PROJECT_FOLLOWUP_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field("date", "date", label="date du suivi"),
        Field("participant_id", "text", identity=True, label="code du locataire"),
        Field("person_key", "text", label="clé du dossier chez le partenaire (dérivée)"),
        Field("team", "code", label="équipe"),
        _codes("code", "contact_kind", PROJECT_CONTACT_KINDS, "type de contact"),
        _codes("code", "domain", PROJECT_DOMAINS, "domaine d'affiliation"),
        Field("place", "text", label="lieu d'affiliation"),
        Field("goal_set", "boolean", label="objectif fixé"),
        Field("goal_reached", "boolean", label="objectif atteint"),
        Field("note", "free_text", label="note du suivi"),
    ]
}
PROJECT_PROPOSAL_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field("date", "date", label="date du conseil"),
        Field("proposal_id", "text", label="identifiant de la proposition"),
        _codes("code", "theme", PROJECT_THEMES, "thème"),
        _codes("code", "outcome", PROJECT_OUTCOMES, "suite donnée"),
        Field("outcome_date", "date", label="date de la suite"),
        Field("text", "free_text", label="proposition (texte libre)"),
    ]
}
PROJECT_BUDGET_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        *_SUBMISSION,
        Field("date", "date", label="date de l'écriture (budget prévu : 1er janvier)"),
        Field("line", "code", label="ligne budgétaire"),
        Field("funder", "text", label="financeur"),
        Field("planned_eur", "decimal", label="montant prévu (€)"),
        Field("committed_eur", "decimal", label="montant engagé (€)"),
        Field("spent_eur", "decimal", label="montant dépensé (€)"),
    ]
}
PROJECT_DERIVED_COLUMNS = frozenset(
    {"person_key", "tok_surname", "tok_first_name", "tok_birth_date"}
)
"""Columns of the project tables computed at ingest (never read from a file)."""
PROJECT_IDENTITY_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("surname", "text", identity=True, label="nom du participant"),
        Field("first_name", "text", identity=True, label="prénom du participant"),
        Field("birth_date", "date", identity=True, label="date de naissance du participant"),
    ]
}
"""Identities a project's attendance may be read with instead of a participant code: only their
keyed tokens are kept (``tok_*``, computed as the contacts' linkage tokens)."""
PROJECT_CHILD_TABLES: dict[str, tuple[str, str]] = {
    "street_groups": ("street_observations", "submission_id"),
    "project_attendance": ("project_activities", "activity_id"),
}
"""A table whose rows point at a row of another (its parent table, by this key), read after
it: a row whose key the parent's kept rows do not hold is set aside."""

FIELD_FORMS: dict[str, str] = {
    "incidents": "fiche_incident",
    "street_observations": "observation_rue",
    "street_groups": "observation_rue",
    "relay_services": "relais_prestation",
    "relay_allowances": "",
    "worker_survey": "enquete_travailleurs",
    "testimonies": "temoignage",
    "project_activities": "presence_activite",
    "project_attendance": "presence_activite",
    "project_followups": "",
    "project_proposals": "",
    "project_budget": "",
}
"""The XLSForm (``params/formulaires/<form>.xlsx``) each field table comes from ("" for the
relays' allowance sheet, an ordinary spreadsheet)."""

FIELD_COMMON_COLUMNS = [
    "partner_id",
    "submission_id",
    "form_version",
    "year",
    "source_file",
    "source_row",
]
"""Columns of every field table: the source, the submission (``_uuid``, or ``<file>:<row>``
when the source has none), the form version ("" if unknown) and the year."""


def _field_columns(fields: dict[str, Field]) -> list[str]:
    own = [n for n in fields if n not in FIELD_COMMON_COLUMNS]
    return [*FIELD_COMMON_COLUMNS[:4], *own, *FIELD_COMMON_COLUMNS[4:]]


INCIDENT_COLUMNS = _field_columns(INCIDENT_FIELDS)
STREET_OBSERVATION_COLUMNS = _field_columns(STREET_OBSERVATION_FIELDS)
STREET_GROUP_COLUMNS = _field_columns(STREET_GROUP_FIELDS)
RELAY_SERVICE_COLUMNS = _field_columns(RELAY_SERVICE_FIELDS)
RELAY_ALLOWANCE_COLUMNS = _field_columns(RELAY_ALLOWANCE_FIELDS)
WORKER_SURVEY_COLUMNS = _field_columns(WORKER_SURVEY_FIELDS)
TESTIMONY_COLUMNS = _field_columns(TESTIMONY_FIELDS)

FIELD_TABLES: dict[str, dict[str, Field]] = {
    "incidents": INCIDENT_FIELDS,
    "street_observations": STREET_OBSERVATION_FIELDS,
    "street_groups": STREET_GROUP_FIELDS,
    "relay_services": RELAY_SERVICE_FIELDS,
    "relay_allowances": RELAY_ALLOWANCE_FIELDS,
    "worker_survey": WORKER_SURVEY_FIELDS,
    "testimonies": TESTIMONY_FIELDS,
    "project_activities": PROJECT_ACTIVITY_FIELDS,
    "project_attendance": PROJECT_ATTENDANCE_FIELDS,
    "project_followups": PROJECT_FOLLOWUP_FIELDS,
    "project_proposals": PROJECT_PROPOSAL_FIELDS,
    "project_budget": PROJECT_BUDGET_FIELDS,
}
"""The field tables (``data_clean/field/<table>.parquet``), one per form (and the allowance
sheet): records of field practice, not service contacts (no dispositif, no linkage)."""

TABLE_FIELDS: dict[str, dict[str, Field]] = {
    "contacts": CONTACT_FIELDS,
    "refusals": REFUSAL_FIELDS,
    "aggregates": AGGREGATE_FIELDS,
    "weather": WEATHER_FIELDS,
    **FIELD_TABLES,
    # what a project's mapping may read: not the derived columns, but the names and birth date
    **{
        table: {
            **{n: f for n, f in FIELD_TABLES[table].items() if n not in PROJECT_DERIVED_COLUMNS},
            **(PROJECT_IDENTITY_FIELDS if "tok_surname" in FIELD_TABLES[table] else {}),
        }
        for table in ("project_attendance", "project_followups")
    },
}
PROJECT_TABLES = tuple(t for t in FIELD_TABLES if t.startswith("project_"))
"""The tables of a project's records (issue 20): a source whose exports all feed them is a
project (its partner_id is the project's id), listed apart from the services and the forms."""

_DTYPES = {
    "text": "object",
    "free_text": "object",
    "code": "object",
    "codes": "object",
    "date": "datetime64[s]",
    "hour": "Int64",
    "integer": "Int64",
    "decimal": "float64",
    "boolean": "boolean",
}


def field_dtypes(table: str) -> dict[str, str]:
    """The dtype of each column of a clean field table: texts and codes are ``str`` ("" when
    empty; several codes sorted and separated by one space), dates ``datetime64[s]``, hours and
    counts ``Int64`` (NA when unanswered), yes/no answers ``boolean`` (NA when unanswered)."""
    fields = FIELD_TABLES[table]
    out = {}
    for name in _field_columns(fields):
        if name in ("year", "source_row"):
            out[name] = "int64"
        elif name in fields:
            out[name] = _DTYPES[fields[name].kind]
        else:
            out[name] = "object"
    return out


def empty_field_table(table: str) -> pd.DataFrame:
    """A field table with its columns and dtypes and no row (a source that sent nothing)."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in field_dtypes(table).items()})


def typed_field_table(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """A field table read back from ``data_clean/field/<table>.parquet`` with its dtypes
    (:func:`field_dtypes`): the parquet files carry no pandas metadata, so a count with a
    missing answer comes back as a float and a yes/no as an object without this."""
    dtypes = field_dtypes(table)
    out = frame[list(dtypes)].copy()
    for name, dtype in dtypes.items():
        if dtype == "Int64":
            out[name] = pd.to_numeric(out[name]).round().astype("Int64")
        elif dtype == "object":
            out[name] = out[name].astype(object).where(out[name].notna(), "")
        else:
            out[name] = out[name].astype(dtype)
    return out


def split_codes(series: pd.Series, codes: Iterable[str]) -> pd.DataFrame:
    """One 0/1 column per code (same index) from a column of several codes (``codes`` kind:
    canonical codes separated by spaces, "" or NA when none)."""
    sets = series.fillna("").astype(str).str.split().map(set)
    return pd.DataFrame(
        {c: sets.map(lambda s, c=c: int(c in s)).astype("int64") for c in codes},
        index=series.index,
    )


IDENTITY_FIELDS = frozenset(n for n, f in CONTACT_FIELDS.items() if f.identity)

# Reason codes for rows set aside (quarantine). A closed list: every quarantined row carries one.
QUARANTINE_REASONS: dict[str, str] = {
    "date_illisible": "date illisible ou impossible dans le format déclaré",
    "date_manquante": "date obligatoire absente",
    "date_hors_periode": "date en dehors de la période couverte par l'export",
    "nombre_illisible": "nombre illisible",
    "code_inconnu": "code absent de la liste de codes du partenaire",
    "identite_manquante": "aucun identifiant de la personne (identifiant local ou initiales)",
    "ligne_total": "ligne de total ou de sous-total, pas une donnée individuelle",
    "ligne_dupliquee": "ligne identique à une ligne précédente du même fichier",
    "fichier_en_double": "fichier identique (même contenu) à un fichier déjà lu",
    "periode_deja_couverte": "même période qu'un envoi plus récent du même export (renvoi corrigé)",
    "dates_incoherentes": "date de sortie antérieure à la date d'entrée",
    "nuitees_incoherentes": "nombre de nuitées incompatible avec les dates d'entrée et de sortie",
    "valeur_hors_plage": "valeur hors de la plage admise (âge, nuitées, durée, refus)",
    "hors_couverture_declaree": "date en dehors de la couverture déclarée du partenaire "
    "(clé coverage de sa correspondance)",
    "ligne_isolee": "ligne isolée, datée loin de la masse de l'export (couverture non déclarée : "
    "la couverture proposée d'après les données l'exclut)",
    "jointure_sans_correspondance": "clé de jointure absente de la table jointe (personne, "
    "programme ou séjour inconnu)",
    "jointure_ambigue": "clé de jointure présente plusieurs fois dans la table jointe",
    "occupation_excessive": "lits occupés au-delà des lits disponibles (tolérance comprise)",
    "groupes_incoherents": "total d'un groupe différent de la somme de ses parties déclarées",
    # lane rows (issue 17): broken records the reader recognises
    "guillemet_non_ferme": "guillemet non fermé : la ligne où il s'ouvre est mise de côté, les "
    "lignes suivantes sont lues normalement",
    "caractere_nul": "caractère nul (octet 0x00) dans une cellule : cellule endommagée",
    "formule_sans_valeur": "formule sans valeur calculée (classeur écrit par un programme, "
    "jamais ouvert dans un tableur)",
    # field records (issue 19): forms filled on phones
    "heure_illisible": "heure illisible (attendu « 22:40 », « 22:40:00.000+01:00 » ou un nombre "
    "de 0 à 23)",
    "reponse_manquante": "réponse obligatoire absente (identifiant de la soumission, zone, texte…)",
    # project records (issue 20): a team's spreadsheets
    "marque_inconnue": "marque non reconnue dans une grille de présences (ni une marque de "
    "présence, ni une marque d'absence déclarée) : pas comptée comme présence",
}

# Columns of the clean tables (data_clean/). No identity in clear, ever.
CONTACT_COLUMNS = [
    "person_id",
    "record_key",
    "partner_id",
    "dispositif",
    "date_start",
    "date_end",
    "nights",
    "year",
    "sex",
    "age_at_contact",
    "age_estimated",
    "nationality_group",
    "exit_reason",
    "activity",
    "orientation",
    "zone",
    "duration_hours",
    "source_file",
    "source_row",
]
PERSON_COLUMNS = [
    "person_id",
    "sex",
    "birth_year",
    "age_estimated",
    "nationality_group",
    "first_seen",
    "last_seen",
    "n_partners",
    "n_contacts",
]
REFUSAL_COLUMNS = ["partner_id", "dispositif", "date", "refusals", "source_file", "source_row"]
AGGREGATE_COLUMNS = [
    "partner_id",
    "dispositif",
    "programme",
    "period",
    "date",
    "group",
    "group_role",
    "measure",
    "value",
    "source_file",
    "source_row",
    "line",
]
"""The clean aggregate table (``data_clean/aggregates.parquet``): one row per period × programme
× group × measure, whatever the file's shape (long or wide); ``line`` is the line of the
partner's file (for the messages), ``group_role`` what the group is to the others
(:data:`GROUP_ROLES`)."""


WEATHER_COLUMNS = ["date", "station", "tmin", "tmax", "alert"]
"""The clean weather table (``data_clean/weather.parquet``): one row per day and station."""


def age_band(age: float | None) -> str | None:
    """Age band label for an age in whole years (None when unknown)."""
    if age is None or age != age:  # NaN
        return None
    for label, low, high in AGE_BANDS:
        if low <= age <= high:
            return label
    return None
