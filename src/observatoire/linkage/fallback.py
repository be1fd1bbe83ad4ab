"""The fallback method (« méthode de repli ») when the probabilistic model cannot be estimated.

The Fellegi–Sunter model needs its prior λ (pairs agreeing on name, first name and birth date,
over all pairs) strictly between 0 and 1 and its m and u probabilities estimated by EM on
pairs sharing a birth date and on pairs sharing a full name. On a small or unusual network
this fails: no pair shares a full name and a birth date (every person has one record, as in
a software that shares its person id across programmes: λ = 0, and log λ is undefined), or
EM drives a level's m probability to 0 (Splink stops below 1e-300), or one set of pairs is
empty (a comparison is left without weights). A partially estimated model is not used: its
untrained comparisons would weigh nothing, which links too much.

The fallback is conservative and deterministic: two named records are the same person when
they carry the same surname and first name tokens and the same birth date (or the same date
with day and month swapped). It is the rule the model itself assumes to find
``linkage.deterministic_rule_recall`` (80 %) of the true matches, with almost no false ones;
the clustering still refuses links between records with contradictory birth dates or sexes,
network-id links and the analyst's corrections still apply. Its links are taken as certain
(probability 1): the linkage imputations then carry no linkage error for them, which is said
with the method. Records that differ by a typo or lack a birth date are not linked: the
fallback loses recall, never precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from observatoire.linkage.records import IDENTIFIED, RecordTables

__all__ = ["FALLBACK_METHOD", "FALLBACK_RULES", "Fallback", "ModelUnavailable", "exact_pairs"]

FALLBACK_METHOD = "regles_deterministes_exactes"
FALLBACK_RULES = (
    "même nom, même prénom et même date de naissance",
    "même nom, même prénom et date de naissance aux jour et mois inversés",
)


class ModelUnavailable(Exception):  # noqa: N818 - a state, not a failure of the run
    """The probabilistic model cannot be estimated on these records; ``reason`` in French."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Fallback:
    """The fallback used for a run: why, which rules, how many pairs they linked."""

    reason: str
    pairs: int = 0
    method: str = FALLBACK_METHOD
    rules: tuple[str, ...] = FALLBACK_RULES

    def to_json(self) -> dict[str, Any]:
        return {
            "methode": self.method,
            "description": (
                "Le modèle probabiliste n'a pas pu être estimé : les dossiers nominatifs sont "
                "reliés par des règles exactes (" + " ; ".join(self.rules) + "). Liens pris "
                "comme certains : aucune erreur de liaison n'est propagée pour eux ; les "
                "dossiers à une faute de frappe près ou sans date de naissance ne sont pas "
                "reliés (moins de rappel, pas moins de précision)."
            ),
            "motif": self.reason,
            "regles": list(self.rules),
            "paires_reliees": self.pairs,
        }

    def message(self) -> str:
        return (
            f"méthode de repli : {self.reason} Les dossiers nominatifs sont reliés par règles "
            f"exactes (même nom, prénom et date de naissance, jour et mois éventuellement "
            f"inversés) : {self.pairs} paire(s) reliée(s)."
        )


def exact_pairs(tables: RecordTables) -> pd.DataFrame:
    """Pairs of named records agreeing exactly on surname, first name and birth date (or the
    birth date with day and month swapped), in the model's pair format (probability 1)."""
    same_name = "l.tok_surname = r.tok_surname AND l.tok_first_name = r.tok_first_name"
    dates = (
        "l.tok_birth_date = r.tok_birth_date OR l.tok_birth_date = r.tok_birth_date_swapped "
        "OR l.tok_birth_date_swapped = r.tok_birth_date"
    )
    return tables.con.execute(
        f"""
        SELECT l.unique_id AS unique_id_l, r.unique_id AS unique_id_r,
               1.0::DOUBLE AS match_probability, NULL::DOUBLE AS match_weight
        FROM {IDENTIFIED} l JOIN {IDENTIFIED} r
          ON {same_name} AND l.unique_id < r.unique_id AND ({dates})
        ORDER BY 1, 2
        """
    ).df()
