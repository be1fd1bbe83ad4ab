"""How each partner's software writes what it records: labels, codes, local ids, name case.

These are formatting conventions, not noise: the same person is "H" at the shelter, "Homme" at
the DUS and "1" at Housing First; "Belge", "BE" and "Belgique" are one nationality. Every label
used here is listed in params/codes/*.yaml, which is what the pipeline reads them with.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS",
    "COUNTRY_LABELS",
    "LOCAL_ID_FORMATS",
    "NATIONALITY_STYLE",
    "SEX_LABELS",
    "name_case",
    "nationality_labels",
    "sex_labels",
]

SEX_LABELS: dict[str, dict[str, str]] = {
    "abri_nuit": {"M": "H", "F": "F", "X": "X"},
    "accueil_jour": {"M": "M", "F": "F", "X": "X"},
    "travail_rue": {"M": "H", "F": "F", "X": "?"},
    "urgence_sociale": {"M": "Homme", "F": "Femme", "X": "Autre"},
    "maison_accueil": {"M": "Masculin", "F": "Féminin", "X": "X"},
    "housing_first": {"M": "1", "F": "2", "X": "X"},
}

# Country code → (adjective, country name, ISO code), as listed in params/codes/nationalites.yaml.
COUNTRY_LABELS: dict[str, tuple[str, str, str]] = {
    "BE": ("Belge", "Belgique", "BE"),
    "FR": ("Française", "France", "FR"),
    "NL": ("Néerlandaise", "Pays-Bas", "NL"),
    "IT": ("Italienne", "Italie", "IT"),
    "ES": ("Espagnole", "Espagne", "ES"),
    "PT": ("Portugaise", "Portugal", "PT"),
    "RO": ("Roumaine", "Roumanie", "RO"),
    "PL": ("Polonaise", "Pologne", "PL"),
    "BG": ("Bulgare", "Bulgarie", "BG"),
    "DE": ("Allemande", "Allemagne", "DE"),
    "MA": ("Marocaine", "Maroc", "MA"),
    "DZ": ("Algérienne", "Algérie", "DZ"),
    "TN": ("Tunisienne", "Tunisie", "TN"),
    "CD": ("Congolaise (RDC)", "RD Congo", "CD"),
    "GN": ("Guinéenne", "Guinée", "GN"),
    "SY": ("Syrienne", "Syrie", "SY"),
    "AF": ("Afghane", "Afghanistan", "AF"),
    "ER": ("Érythréenne", "Érythrée", "ER"),
    "TR": ("Turque", "Turquie", "TR"),
    "UA": ("Ukrainienne", "Ukraine", "UA"),
}
# Which form each partner writes, and its label for an unknown nationality.
NATIONALITY_STYLE: dict[str, tuple[int, bool, str]] = {
    # partner: (index in COUNTRY_LABELS tuple, lower case?, unknown label)
    "abri_nuit": (0, False, "Non renseignée"),
    "accueil_jour": (2, False, "NR"),
    "urgence_sociale": (1, False, "Inconnue"),
    "maison_accueil": (0, True, "inconnue"),
    "housing_first": (1, False, "?"),
}


def nationality_labels(partner: str, country: np.ndarray) -> np.ndarray:
    """The nationality as ``partner`` writes it, for each person's country code ("" unknown)."""
    form, lower, unknown = NATIONALITY_STYLE[partner]
    table = {
        code: labels[form].lower() if lower else labels[form]
        for code, labels in COUNTRY_LABELS.items()
    }
    table[""] = unknown
    return np.array([table[c] for c in country], dtype=object)


def sex_labels(partner: str, sex: np.ndarray) -> np.ndarray:
    """The sex as ``partner`` writes it."""
    table = SEX_LABELS[partner]
    return np.array([table[s] for s in sex], dtype=object)


def name_case(
    partner: str, surname: np.ndarray, first: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Letter case as each software stores names (capitals are formatting, not noise)."""
    upper = np.vectorize(str.upper, otypes=[object])
    lower = np.vectorize(str.lower, otypes=[object])
    if len(surname) == 0:
        return surname, first
    if partner == "abri_nuit":  # NOM Prénom
        return upper(surname), first
    if partner == "urgence_sociale":  # everything in capitals
        return upper(surname), upper(first)
    if partner == "accueil_jour":  # typed by hand in a web form
        u = rng.random(len(surname))
        all_lower = u < 0.12
        upper_surname = (u >= 0.12) & (u < 0.20)
        surname = np.where(
            all_lower, lower(surname), np.where(upper_surname, upper(surname), surname)
        )
        first = np.where(all_lower, lower(first), first)
        return surname, first
    return surname, first


def _abri(regs: pd.DataFrame) -> list[str]:
    return [f"AN-{n + 1000:06d}" for n in regs["sequence"]]


def _accueil(regs: pd.DataFrame) -> list[str]:
    return [str(n + 10000) for n in regs["sequence"]]


def _urgence(regs: pd.DataFrame) -> list[str]:
    return [
        f"US/{y}/{n:04d}"
        for y, n in zip(regs["registered_year"], regs["sequence_in_year"], strict=True)
    ]


def _maison(regs: pd.DataFrame) -> list[str]:
    return [f"TIL-{n + 200:04d}" for n in regs["sequence"]]


def _housing(regs: pd.DataFrame) -> list[str]:
    return [f"HF-{n + 40:03d}" for n in regs["sequence"]]


LOCAL_ID_FORMATS: dict[str, Callable[[pd.DataFrame], list[str]]] = {
    "abri_nuit": _abri,
    "accueil_jour": _accueil,
    "urgence_sociale": _urgence,
    "maison_accueil": _maison,
    "housing_first": _housing,
}

# Column labels of each export, in the order the software writes them (the mapping files in
# params/partners/ are the contract: a test checks that they agree).
COLUMNS: dict[tuple[str, str], list[str]] = {
    ("abri_nuit", "sejours"): [
        "N° dossier", "Nom", "Prénom", "Date de naissance", "Sexe", "Nationalité",
        "Date d'entrée", "Date de sortie", "Nuitées", "Participation (€)",
    ],
    ("abri_nuit", "refus"): ["Date", "Refus faute de place"],
    ("accueil_jour", "passages"): [
        "id_usager", "nom", "prenom", "date_naissance", "sexe", "nationalite", "date_passage",
        "prestations",
    ],
    ("travail_rue", "contacts"): [
        "Date", "Initiales", "Sexe", "Âge estimé", "Zone", "Type d'intervention", "Durée (h)",
    ],
    ("urgence_sociale", "interventions"): [
        "N° usager", "Nom", "Prénom", "Date naiss.", "Sexe", "Nationalité", "Date", "Heure",
        "Motif", "Orientation", "Durée (h)",
    ],
    ("maison_accueil", "sejours"): [
        "Réf.", "Nom de famille", "Prénom", "Né(e) le", "Genre", "Nationalité", "Date d'entrée",
        "Date de sortie", "Motif de sortie",
    ],
    ("housing_first", "logements"): [
        "Code locataire", "Nom", "Prénom", "Date de naissance", "Sexe", "Nationalité",
        "Entrée en logement", "Sortie du logement", "Motif de sortie",
    ],
}  # fmt: skip
