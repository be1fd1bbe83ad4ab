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
  pairs than ``max_pairs``. Each rule's pairs are first bounded cheaply, by the sizes of its
  blocks (an upper bound: a pair is counted once per spelling variant it shares and once per
  rule that catches it). When the bounds add up to more than the cap, the pairs each rule adds
  beyond the earlier ones — each pair once, as the scoring compares it — are counted exactly
  (:func:`rules_to_drop`), and the rule adding the most is dropped, then the rest counted
  again, until the distinct pairs are under the cap; the drop is said. The bounds alone once
  dropped a rule that added almost nothing (on the 10× sample they summed to 5.6 million for
  1.2 million distinct pairs). The remaining rules still link every record that agrees on
  them; what is lost is recall on the dropped rule, never precision.

Both are reported in French (partner, column, share) by the link stage, in
``outputs/metrics/linkage.json`` (``identite``) and in ``outputs/linkage/identite.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from observatoire.core.formatting import french_number, french_percent
from observatoire.linkage.settings import IdentityChecks

__all__ = [
    "CHECKED_COLUMNS",
    "COUNT_FACTOR",
    "FIELD_LABELS",
    "ConstantValue",
    "IdentityReport",
    "constant_values",
    "neutralise",
    "rules_to_drop",
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
    distinct_pairs_by_rule: dict[str, int] | None = None
    """Set only when the bounds exceed ``max_pairs``: per rule, the distinct pairs it adds
    beyond the earlier rules kept (for a dropped rule, when it was dropped; a rule too large to
    count, its bound) — see :func:`rules_to_drop`."""
    distinct_total: int | None = None
    """The distinct pairs of all the rules together (bounds for the rules not counted)."""
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
            out.append(self._dropped_message())
        for partner, n in sorted(self.local_only_by_partner.items()):
            out.append(
                f"Partenaire {partner} : {n} dossier(s) sans nom ni identifiant réseau, hors "
                "travail de rue : chacun compte pour une personne distincte, reconnue par son "
                "seul identifiant local, jamais reliée sur des initiales ; une personne vue "
                "aussi ailleurs y est donc comptée deux fois dans le total du réseau."
            )
        return out

    def _dropped_message(self) -> str:
        counted = self.distinct_pairs_by_rule
        if counted is None:  # a report built without the exact count: the bounds
            counted = self.pairs_by_rule
            total = sum(self.pairs_by_rule.values())
        else:
            total = self.distinct_total if self.distinct_total is not None else 0
        dropped = " ; ".join(
            f"« {r} » ({french_number(counted[r])} paires de plus que les règles précédentes"
            + (
                ", borne haute"
                if self.distinct_pairs_by_rule is None
                or self.pairs_by_rule.get(r, 0) > COUNT_FACTOR * self.max_pairs
                else ""
            )
            + ")"
            for r in self.dropped_rules
        )
        return (
            f"Le blocage comparerait {french_number(total)} paires distinctes de dossiers, plus "
            "que la limite linkage.identity_checks.max_pairs "
            f"({french_number(self.max_pairs)}) : règle(s) abandonnée(s) : {dropped}. Les "
            "dossiers qui ne s'accordent que sur ces clés ne sont pas reliés (rappel plus "
            "faible, pas de faux liens). Cherchez la colonne presque constante qui gonfle ces "
            "blocs (voir paires_par_regle et paires_distinctes_par_regle dans "
            "outputs/linkage/identite.json)."
        )

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
            **(
                {
                    "paires_distinctes_par_regle": self.distinct_pairs_by_rule,
                    "paires_distinctes": self.distinct_total,
                }
                if self.distinct_pairs_by_rule is not None
                else {}
            ),
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


COUNT_FACTOR = 2
"""A rule whose bound alone exceeds ``COUNT_FACTOR × max_pairs`` is dropped on its bound,
without counting its pairs one by one: counting streams the rule's blocks (its bound) and keeps
the distinct pairs of a spelling-variant rule in memory, which for such a rule would cost about
what the cap protects against. A spelling-variant rule's bound counts a pair once per variant
its two names share (a handful), so below twice the cap the count is still worth making."""


def rules_to_drop(
    bounds: dict[str, int],
    max_pairs: float,
    count_added: Callable[[list[str]], dict[str, int]],
) -> tuple[list[str], dict[str, int] | None, int | None]:
    """The rules to drop so that the blocking compares at most ``max_pairs`` distinct pairs.

    ``bounds`` is each rule's upper bound, in the rules' order; ``count_added(rules)`` returns,
    for these rules in this order, the distinct pairs each adds beyond the earlier ones (what
    the scoring compares). When the bounds add up to at most ``max_pairs`` nothing is counted
    (the distinct pairs are fewer) and nothing is dropped. Otherwise the rules whose bound
    alone exceeds ``COUNT_FACTOR × max_pairs`` are dropped first (largest first); then, while
    the distinct pairs of the rules kept exceed the cap, the rule adding the most (ties: the
    later one) is dropped and the others counted again (the pairs it shared with a later rule
    are then that rule's).

    Returns the dropped rules in the order they were dropped; per rule, the distinct pairs it
    adds (kept rules: in the final count; dropped rules: when dropped, or their bound if never
    counted), or None when nothing was counted; and the distinct pairs of all rules together
    (the first count, with the bounds of the rules dropped before it), or None.
    """
    if sum(bounds.values()) <= max_pairs:
        return [], None, None
    order = {rule: i for i, rule in enumerate(bounds)}
    too_large = [r for r, n in bounds.items() if n > COUNT_FACTOR * max_pairs]
    dropped = sorted(too_large, key=lambda r: (-bounds[r], -order[r]))
    counted = {r: bounds[r] for r in dropped}
    total: int | None = None
    while True:
        kept = [r for r in bounds if r not in counted]
        if not kept:
            break
        added = count_added(kept)
        if total is None:
            total = sum(added.values()) + sum(counted.values())
        if sum(added.values()) <= max_pairs:
            counted.update(added)
            break
        worst = max(kept, key=lambda r: (added[r], order[r]))
        dropped.append(worst)
        counted[worst] = added[worst]
    if total is None:  # every rule too large to count
        total = sum(counted.values())
    return dropped, {r: counted[r] for r in bounds}, total
