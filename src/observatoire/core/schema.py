"""The canonical data model every partner export is mapped onto.

Partners write their own formats; the mapping file of each partner (``params/partners/*.yaml``)
names which of its columns feed which canonical field. Everything downstream of ingest only ever
sees these fields, so a new partner is a new mapping file, not new code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AGE_BANDS",
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

TABLE_FIELDS: dict[str, dict[str, Field]] = {
    "contacts": CONTACT_FIELDS,
    "refusals": REFUSAL_FIELDS,
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


def age_band(age: float | None) -> str | None:
    """Age band label for an age in whole years (None when unknown)."""
    if age is None or age != age:  # NaN
        return None
    for label, low, high in AGE_BANDS:
        if low <= age <= high:
            return label
    return None
