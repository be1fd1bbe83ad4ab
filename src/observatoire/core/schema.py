"""The canonical data model every partner export is mapped onto.

Partners write their own formats; the mapping file of each partner (``params/partners/*.yaml``)
names which of its columns feed which canonical field. Everything downstream of ingest only ever
sees these fields, so a new partner is a new mapping file, not new code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
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
    kind: str  # text | date | integer | decimal | code
    identity: bool = False
    label: str = ""


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

TABLE_FIELDS: dict[str, dict[str, Field]] = {
    "contacts": CONTACT_FIELDS,
    "refusals": REFUSAL_FIELDS,
    "aggregates": AGGREGATE_FIELDS,
    "weather": WEATHER_FIELDS,
}

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
