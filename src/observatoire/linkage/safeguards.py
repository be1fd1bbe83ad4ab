"""Safeguards of the linkage: identity columns that identify no one, blocking that explodes.

Two failures of real exports make a linkage silently wrong rather than slow:

- a **constant identity column**: a software that writes one placeholder for every name (« X »,
  « INCONNU », one hash for all), or 01/01/1900 for every unknown birth date, makes all of a
  partner's records « agree » on it. Blocked on it, millions of pairs are compared; scored on
  it, strangers are linked. A token value held by at least ``constant_share`` of a partner's
  records that carry the column (and by at least ``constant_min_records`` of them) is taken for
  a placeholder and treated as missing for that partner, with the tokens derived from the same
  value (phonetic key, spelling neighbourhood, initials of the name; the swapped date and the
  birth year of a date). The records keep their other values: a partner whose software writes
  « INCONNU » for a quarter of its clients keeps the names of the others.
- **blocking that explodes**: whatever the cause, the blocking rules would compare more record
  pairs than ``max_pairs``. Each rule's pairs are counted before anything is scored (an upper
  bound: a pair sharing several keys is counted once per key); the largest rules are dropped
  until the sum is under the cap, and the drop is said. The remaining rules still link every
  record that agrees on them; what is lost is recall on the dropped rule, never precision.

Both are reported in French (partner, column, share) by the link stage, in
``outputs/metrics/linkage.json`` (``identite``) and in ``outputs/linkage/identite.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from observatoire.core.formatting import french_percent
from observatoire.linkage.settings import IdentityChecks

__all__ = [
    "CHECKED_COLUMNS",
    "FIELD_LABELS",
    "ConstantValue",
    "IdentityReport",
    "choose_rules",
    "constant_values",
    "neutralise",
]

CHECKED_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "surname": (
        "tok_surname",
        ("tok_surname_phon", "tok_surname_variants", "tok_name_initials"),
    ),
    "first_name": (
        "tok_first_name",
        ("tok_first_name_phon", "tok_first_name_variants", "tok_name_initials"),
    ),
    "birth_date": ("tok_birth_date", ("tok_birth_date_swapped", "birth_year")),
    "initials": ("tok_initials", ()),
    "local_id": ("tok_network_id", ()),
}
"""Canonical identity field → its token column, and the columns derived from the same value."""

FIELD_LABELS = {
    "surname": "nom",
    "first_name": "prénom",
    "birth_date": "date de naissance",
    "initials": "initiales",
    "local_id": "identifiant réseau",
}


@dataclass(frozen=True)
class ConstantValue:
    """One token value held by a large share of one partner's records."""

    partner_id: str
    field: str
    records: int
    """Records of the partner carrying this value."""
    carrying: int
    """Records of the partner with any value in this column."""
    column: str | None = None
    """The partner's column label (from its mapping), when known."""

    @property
    def share(self) -> float:
        return self.records / self.carrying if self.carrying else 0.0

    def message(self) -> str:
        column = f"« {self.column} » ({self.field})" if self.column else f"« {self.field} »"
        whole = "tous ses" if self.records == self.carrying else f"{self.records} de ses"
        return (
            f"Partenaire {self.partner_id}, colonne {column} ({FIELD_LABELS[self.field]}) : "
            f"une même valeur pour {whole} {self.carrying} dossiers où elle est remplie "
            f"({french_percent(100 * self.share)}) : valeur de remplacement probable (le "
            "logiciel écrit la même chose pour tout le monde), traitée comme manquante pour ce "
            "partenaire. Demandez au partenaire un export avec les vraies valeurs, ou retirez "
            "cette colonne de sa correspondance."
        )


@dataclass
class IdentityReport:
    """What the safeguards found and did in one linkage run."""

    constants: list[ConstantValue] = field(default_factory=list)
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    """Upper bound of the pairs each blocking rule would compare (after neutralisation)."""
    dropped_rules: list[str] = field(default_factory=list)
    max_pairs: float = 0.0
    local_only_by_partner: dict[str, int] = field(default_factory=dict)
    """Records with neither names nor a network id outside street work: each its own person."""
    network_only_by_partner: dict[str, int] = field(default_factory=dict)
    """Records without names linked by their network-wide id only."""
    network_links: int = 0
    """Records joined to another through a shared network-wide id (must-links applied)."""

    def warnings(self) -> list[str]:
        """The French warnings, one sentence each, partner and column named."""
        out = [c.message() for c in self.constants]
        if self.dropped_rules:
            total = sum(self.pairs_by_rule.values())
            dropped = ", ".join(
                f"« {r} » ({self.pairs_by_rule[r]:,} paires)".replace(",", " ")
                for r in self.dropped_rules
            )
            out.append(
                f"Le blocage comparerait {total:,} paires de dossiers, plus que la limite "
                f"linkage.identity_checks.max_pairs ({self.max_pairs:,.0f}) : règle(s) "
                f"abandonnée(s) : {dropped}. Les dossiers qui ne s'accordent que sur ces clés "
                "ne sont pas reliés (rappel plus faible, pas de faux liens). Cherchez la colonne "
                "presque constante qui gonfle ces blocs (voir paires_par_regle dans "
                "outputs/linkage/identite.json).".replace(",", " ")
            )
        for partner, n in sorted(self.local_only_by_partner.items()):
            out.append(
                f"Partenaire {partner} : {n} dossier(s) sans nom ni identifiant réseau, hors "
                "travail de rue : chacun compte pour une personne distincte, reconnue par son "
                "seul identifiant local, jamais reliée sur des initiales ; une personne vue "
                "aussi ailleurs y est donc comptée deux fois dans le total du réseau."
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "valeurs_constantes": [
                {
                    "partenaire": c.partner_id,
                    "champ": c.field,
                    "colonne": c.column,
                    "dossiers_meme_valeur": c.records,
                    "dossiers_remplis": c.carrying,
                    "part": round(c.share, 4),
                }
                for c in self.constants
            ],
            "paires_par_regle": self.pairs_by_rule,
            "paires_max": self.max_pairs,
            "regles_abandonnees": self.dropped_rules,
            "dossiers_identifiant_reseau_seul": self.network_only_by_partner,
            "dossiers_reunis_par_identifiant_reseau": self.network_links,
            "dossiers_isoles_sans_nom": self.local_only_by_partner,
            "avertissements": self.warnings(),
        }


def _per_record(tokens: pd.DataFrame) -> pd.DataFrame:
    """One row per record (its first row by source file and row, as the linkage takes it)."""
    order = [c for c in ("record_key", "source_file", "source_row") if c in tokens]
    return tokens.sort_values(order).drop_duplicates("record_key")


def constant_values(
    tokens: pd.DataFrame,
    checks: IdentityChecks,
    columns: dict[tuple[str, str], str] | None = None,
) -> tuple[list[ConstantValue], dict[tuple[str, str], set]]:
    """Per partner and identity column, the token values held by at least
    ``checks.constant_share`` of the partner's records carrying the column and by at least
    ``checks.constant_min_records`` of them.

    Returns the findings (one per partner and column, the values summed) and, per (partner,
    field), the set of token values to treat as missing. ``columns`` gives the partner's column
    label of each (partner, field), for the messages.
    """
    records = _per_record(tokens)
    found: list[ConstantValue] = []
    values: dict[tuple[str, str], set] = {}
    for fname, (col, _) in CHECKED_COLUMNS.items():
        if col not in records:
            continue
        sub = records[["partner_id", col]].dropna()
        if sub.empty:
            continue
        counts = sub.groupby(["partner_id", col], sort=True).size().rename("n").reset_index()
        carrying = sub.groupby("partner_id").size()
        counts["carrying"] = counts["partner_id"].map(carrying)
        flagged = counts[
            (counts["n"] >= checks.constant_min_records)
            & (counts["n"] >= checks.constant_share * counts["carrying"])
        ]
        for partner, g in flagged.groupby("partner_id", sort=True):
            key = (str(partner), fname)
            values[key] = set(g[col])
            found.append(
                ConstantValue(
                    str(partner),
                    fname,
                    int(g["n"].sum()),
                    int(g["carrying"].iloc[0]),
                    (columns or {}).get(key),
                )
            )
    return found, values


def neutralise(tokens: pd.DataFrame, values: dict[tuple[str, str], set]) -> pd.DataFrame:
    """``tokens`` with the flagged values (and what derives from them) set to missing, for
    their partner only."""
    if not values:
        return tokens
    out = tokens.copy()
    for (partner, fname), flagged in values.items():
        col, derived = CHECKED_COLUMNS[fname]
        rows = (out["partner_id"] == partner) & out[col].isin(flagged)
        for c in (col, *derived):
            if c in out:
                out[c] = out[c].where(~rows, None)
    return out


def choose_rules(pairs_by_rule: dict[str, int], max_pairs: float) -> list[str]:
    """The rules to drop, largest first, until the remaining pairs are at most ``max_pairs``
    (ties broken by the rules' order, the later first)."""
    order = sorted(enumerate(pairs_by_rule.items()), key=lambda item: (-item[1][1], -item[0]))
    total = sum(pairs_by_rule.values())
    dropped = []
    for _, (label, n) in order:
        if total <= max_pairs:
            break
        dropped.append(label)
        total -= n
    return dropped
