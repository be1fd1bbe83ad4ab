"""The annual report's tables as they are published: numbers, quantity keys, disclosure control.

Every table of the report is first built here as numbers, each cell carrying a *quantity key*
(``personnes|2024|dispositif=maison_accueil``): the same key in two tables, or in last year's
tables, is the same number, so that a cell masked in one place is masked everywhere and the
disclosure audit sees every identity a reader could use (row and column totals, a total printed
in another table, last year's table). :func:`publish` protects this year's tables *given what
last year's report published* (rebuilt from last year's indicators with the same rule), so
that no masked cell of either year can be recomputed.

The report, the CSV files and the XLSX workbook all print :meth:`Publication.text` of these
tables: one suppression, wherever a number appears.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS, STREET_WORK
from observatoire.core.schema import AGE_BANDS, EXIT_REASONS, NATIONALITY_GROUPS
from observatoire.disclosure.aggregates import aggregate_tables
from observatoire.disclosure.archive import released_previous
from observatoire.disclosure.cells import Constraint, CountTable, Publication, protect
from observatoire.disclosure.suppression import DEFAULT_BUDGET, Budget, restore
from observatoire.indicators.counts import SEX_UNKNOWN_OR_X
from observatoire.indicators.pathways import (
    COMBINATION_GROUPS,
    LONG_STAY,
    LONG_STAY_LABEL,
    combination_label,
    published_combination,
)

__all__ = [
    "has_person_data",
    "count_table",
    "SHARED_WITH_YOUTH",
    "FLOW_COLUMNS",
    "NAN",
    "ONLY_LONG_STAY_LABEL",
    "OTHER_COMBINATIONS",
    "SERVICE_CLASSES",
    "TOTAL",
    "Tables",
    "build_tables",
    "combination_key",
    "combinations",
    "ENTRY_PARTS",
    "LONG_TERM_BASE",
    "RETENTION_PARTS",
    "RETURN_PARTS",
    "dispositifs_per_person",
    "entry_anchored_new",
    "exits_by_reason",
    "flows_by_dispositif",
    "flows_by_year",
    "headline_keys",
    "housing_first_retention",
    "key",
    "long_term_stayers",
    "network_key",
    "pathway",
    "pathway_key",
    "pathway_label",
    "persons_by_age_and_sex",
    "persons_by_dispositif",
    "persons_by_dispositif_and_year",
    "persons_by_nationality",
    "linkage_figures",
    "IMPUTATION_SCOPES",
    "imputation_key",
    "linkage_imputation_figures",
    "persons_by_month",
    "profile_figures",
    "persons_by_partner",
    "persons_by_year",
    "persons_identified_and_street_work",
    "publish",
    "published_cells",
    "restore_published",
    "restore_tables",
    "returns_after_housing",
    "returns_cohort_key",
    "service_class",
    "services_key",
    "time_in_services",
]

TOTAL = "Total"

NAN = float("nan")


def key(year: int, *parts: str, what: str = "personnes") -> str:
    """The quantity key of a count: ``personnes|2024|dispositif=abri`` (parts in order)."""
    return "|".join([what, str(year), *parts]) if parts else f"{what}|{year}|reseau"


def network_key(year: int) -> str:
    return key(year)


def published_cells(pub: Publication, cells: pd.DataFrame) -> pd.DataFrame:
    """The cells a chart may draw, as the publication prints them.

    ``cells`` has a ``key`` column (quantity keys of tables of ``pub``) and any label columns.
    Returned with ``persons`` (the value, NaN when hidden), ``text`` (« < k », « s » or the
    French number, the same text as in the tables) and ``status``. Charts and texts take these,
    never raw counts, so that no drawing applies a rule of its own.
    """
    unknown = [k for k in cells["key"] if k not in pub.status]
    if unknown:
        raise KeyError(f"quantities not in the publication: {unknown[:5]}")
    out = cells.copy()
    out["persons"] = [NAN if pub.hidden(k) else float(pub.values[k]) for k in cells["key"]]
    out["text"] = [pub.cell_text(k) for k in cells["key"]]
    out["status"] = [pub.status[k] for k in cells["key"]]
    return out


def count_table(
    name: str,
    title: str,
    values: pd.DataFrame,
    keys: pd.DataFrame,
    *,
    row_total: str | None = None,
    col_total: str | None = None,
    sensitive: bool = True,
) -> CountTable:
    """A table of a publication: values as floats, keys as plain objects (None where a cell is
    not a count), so that every report registers its tables the same way."""
    return CountTable(
        name=name,
        title=title,
        values=values.astype("float64"),
        keys=keys.astype(object),
        row_total=row_total,
        col_total=col_total,
        sensitive=sensitive,
    )


@dataclass(frozen=True)
class Tables:
    """This year's tables and the explicit identities that link them."""

    year: int
    tables: list[CountTable]
    constraints: list[Constraint]
    latent: dict[str, float] = field(default_factory=dict)
    """Counts under k that no table prints but the identities mention (see
    :func:`combinations`); never written."""
    unprinted: dict[str, float] = field(default_factory=dict)
    """Counts no table prints, parts of a printed one (see :func:`combinations`)."""
    guarded: set[str] = field(default_factory=set)
    """Unprinted counts protected like « < k » cells (see :func:`combinations`)."""
    persons: bool = True
    """False when the year has no person-level data (counts only): no headline to keep."""

    def get(self, name: str) -> CountTable:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(t.name == name for t in self.tables)


def persons_by_dispositif(ind: dict[str, Any]) -> CountTable:
    """Distinct persons per dispositif, this year and last year (not additive: a person using
    two dispositifs counts in both, so no total row)."""
    y = int(ind["year"])
    rows = list(ind["dispositifs"])
    values = pd.DataFrame(
        {
            str(y): [ind["dispositifs"][d]["persons"] for d in rows],
            str(y - 1): [ind["dispositifs"][d]["persons_prev"] for d in rows],
        },
        index=rows,
    )
    keys = pd.DataFrame(
        {
            str(y): [key(y, f"dispositif={d}") for d in rows],
            str(y - 1): [key(y - 1, f"dispositif={d}") for d in rows],
        },
        index=rows,
    )
    values.loc["reseau"] = [ind["network"]["persons"], ind["network"]["persons_prev"]]
    keys.loc["reseau"] = [network_key(y), network_key(y - 1)]
    return count_table(
        "personnes_par_dispositif", "Personnes distinctes par dispositif", values, keys
    )


def street_work_only_key(ind: dict[str, Any]) -> str:
    """The key of the persons met only by street work: the dispositif's own count when street
    work is never linked to the other services (no network-wide person id), else a key of its
    own (some of its persons are also counted by other services)."""
    y = int(ind["year"])
    street = ind.get("dispositifs", {}).get(STREET_WORK, {}).get("persons")
    if street is None or int(street) == int(ind["network"]["persons_street_work"]):
        return key(y, f"dispositif={STREET_WORK}")
    return key(y, "travail_rue_seulement")


def persons_identified_and_street_work(ind: dict[str, Any]) -> CountTable:
    """The network total as the report's text splits it: persons known by name across the
    services, and persons met only by street work (never linked to the others); the network is
    their sum, so a reader can subtract: the split is a table of the audit like any other."""
    y = int(ind["year"])
    net = ind["network"]
    rows = ["identifies", STREET_WORK, TOTAL]
    values = pd.DataFrame(
        {str(y): [net["persons_identified"], net["persons_street_work"], net["persons"]]},
        index=rows,
    )
    keys = pd.DataFrame(
        {str(y): [key(y, "identifies"), street_work_only_key(ind), network_key(y)]},
        index=rows,
    )
    return count_table(
        "personnes_identifiees_et_travail_de_rue",
        "Personnes identifiées et personnes vues seulement par le travail de rue",
        values,
        keys,
        row_total=TOTAL,
    )


def persons_by_partner(ind: dict[str, Any]) -> tuple[CountTable, list[Constraint]]:
    """Distinct persons per partner; a partner alone in its dispositif, and feeding no other,
    *is* the dispositif's count, which the audit must know (an identity between two tables)."""
    y = int(ind["year"])
    partners = ind["partners"]
    rows = list(partners)
    values = pd.DataFrame({str(y): [partners[p]["persons"] for p in rows]}, index=rows)
    keys = pd.DataFrame({str(y): [key(y, f"partenaire={p}") for p in rows]}, index=rows)
    constraints = []
    by_disp: dict[str, list[str]] = {}
    for p in rows:  # a partner feeding several dispositifs (« a,b ») is part of each
        for d in str(partners[p]["dispositif"]).split(","):
            by_disp.setdefault(d, []).append(p)
    for d, ps in by_disp.items():
        # the partner's persons are the dispositif's only if it feeds no other dispositif
        alone = len(ps) == 1 and "," not in str(partners[ps[0]]["dispositif"])
        if alone and d in ind["dispositifs"]:
            constraints.append(
                Constraint(total=key(y, f"dispositif={d}"), parts=(key(y, f"partenaire={ps[0]}"),))
            )
    table = count_table(
        "personnes_par_partenaire", "Personnes distinctes par partenaire", values, keys
    )
    return table, constraints


def persons_by_year(ind: dict[str, Any]) -> CountTable:
    y = int(ind["year"])
    years = [int(r["year"]) for r in ind["yearly_persons"] if int(r["year"]) <= y]
    persons = {int(r["year"]): r["persons"] for r in ind["yearly_persons"]}
    values = pd.DataFrame({"personnes": [persons[a] for a in years]}, index=[str(a) for a in years])
    keys = pd.DataFrame({"personnes": [network_key(a) for a in years]}, index=values.index)
    return count_table(
        "personnes_par_annee", "Personnes distinctes aidées par le réseau", values, keys
    )


def persons_by_dispositif_and_year(ind: dict[str, Any]) -> CountTable:
    y = int(ind["year"])
    frame = pd.DataFrame(ind["yearly_persons_by_dispositif"])
    frame = frame[frame["year"] <= y]
    values = frame.pivot(index="dispositif", columns="year", values="persons").fillna(0)
    values = values.reindex([d for d in DISPOSITIFS if d in values.index])
    values.columns = [str(c) for c in values.columns]
    keys = pd.DataFrame(
        {c: [key(int(c), f"dispositif={d}") for d in values.index] for c in values.columns},
        index=values.index,
    )
    return count_table(
        "personnes_par_dispositif_et_annee",
        "Personnes distinctes par dispositif et par année",
        values,
        keys,
    )


def persons_by_age_and_sex(ind: dict[str, Any]) -> CountTable:
    """The complete age × sex table: its cells partition the persons of the year, so its grand
    total is the network count printed elsewhere (same key)."""
    y = int(ind["year"])
    full = pd.DataFrame(ind["age_sex_full"])
    table = full.pivot(index="age_band", columns="sex", values="persons").fillna(0)
    bands = [b for b, _, _ in AGE_BANDS] + ["inconnu"]
    sexes = ["M", "F", SEX_UNKNOWN_OR_X]
    table = table.reindex(index=bands, columns=sexes, fill_value=0)
    table.loc[TOTAL] = table.sum()
    table[TOTAL] = table.sum(axis=1)
    keys = pd.DataFrame(
        {s: [key(y, f"age={b}", f"sexe={s}") for b in bands] for s in sexes}, index=bands
    )
    keys.loc[TOTAL] = [key(y, f"sexe={s}") for s in sexes]
    keys[TOTAL] = [key(y, f"age={b}") for b in bands] + [network_key(y)]
    return count_table(
        "personnes_par_age_et_sexe",
        "Personnes aidées par tranche d'âge et sexe",
        table,
        keys,
        row_total=TOTAL,
        col_total=TOTAL,
    )


def persons_by_nationality(ind: dict[str, Any]) -> CountTable:
    y = int(ind["year"])
    groups = [g for g in NATIONALITY_GROUPS if g in ind["nationality"]]
    values = pd.DataFrame({"personnes": [ind["nationality"][g] for g in groups]}, index=groups)
    keys = pd.DataFrame({"personnes": [key(y, f"nationalite={g}") for g in groups]}, index=groups)
    values.loc[TOTAL] = values["personnes"].sum()
    keys.loc[TOTAL] = network_key(y)
    return count_table(
        "personnes_par_nationalite",
        "Personnes aidées par groupe de nationalité",
        values,
        keys,
        row_total=TOTAL,
    )


def exits_by_reason(ind: dict[str, Any]) -> CountTable | None:
    """Exits of the year per dispositif and reason: each exit is one person's stay ending, so a
    small count can point at someone (a death, an expulsion) and is protected like persons."""
    exits = ind.get("exits") or {}
    rows = [d for d in DISPOSITIFS if exits.get(d)]
    if not rows:
        return None
    y = int(ind["year"])
    reasons = list(EXIT_REASONS)
    values = pd.DataFrame(
        [[exits[d]["by_reason"].get(r, 0) for r in reasons] for d in rows],
        index=rows,
        columns=reasons,
    )
    values[TOTAL] = values.sum(axis=1)
    keys = pd.DataFrame(
        [[key(y, f"dispositif={d}", f"motif={r}", what="sorties") for r in reasons] for d in rows],
        index=rows,
        columns=reasons,
    )
    keys[TOTAL] = [key(y, f"dispositif={d}", what="sorties") for d in rows]
    return count_table(
        "sorties_par_motif",
        "Sorties de l'année par motif",
        values,
        keys,
        col_total=TOTAL,
    )


FLOW_COLUMNS = {"new": "nouveaux", "continuing": "continus", "returning": "de_retour"}


def flows_by_year(ind: dict[str, Any]) -> CountTable | None:
    """New, continuing and returning persons per year: they partition the persons of each year,
    whose total is the network count (same key as in the other tables)."""
    yearly = [r for r in ind["flows"].get("yearly", []) if r.get("calculable")]
    yearly = [r for r in yearly if int(r["year"]) <= int(ind["year"])]
    if not yearly:
        return None
    years = [str(int(r["year"])) for r in yearly]
    values = pd.DataFrame(
        [[r[c] for c in FLOW_COLUMNS] for r in yearly], index=years, columns=list(FLOW_COLUMNS)
    )
    values[TOTAL] = values.sum(axis=1)
    keys = pd.DataFrame(
        [[key(int(a), f"flux={c}") for c in FLOW_COLUMNS] for a in years],
        index=years,
        columns=list(FLOW_COLUMNS),
    )
    keys[TOTAL] = [network_key(int(a)) for a in years]
    return count_table(
        "flux_par_annee", "Nouveaux, continus et de retour", values, keys, col_total=TOTAL
    )


def flows_by_dispositif(ind: dict[str, Any]) -> CountTable | None:
    """Flow status (relative to the whole network) of the persons of each dispositif."""
    by = {d: f for d, f in ind["flows"].get("by_dispositif", {}).items() if f.get("calculable")}
    rows = [d for d in DISPOSITIFS if d in by]
    if not rows:
        return None
    y = int(ind["year"])
    values = pd.DataFrame(
        [[by[d][c] for c in FLOW_COLUMNS] for d in rows], index=rows, columns=list(FLOW_COLUMNS)
    )
    values[TOTAL] = values.sum(axis=1)
    keys = pd.DataFrame(
        [[key(y, f"dispositif={d}", f"flux={c}") for c in FLOW_COLUMNS] for d in rows],
        index=rows,
        columns=list(FLOW_COLUMNS),
    )
    keys[TOTAL] = [key(y, f"dispositif={d}") for d in rows]
    return count_table(
        "flux_par_dispositif", "Statut de flux par dispositif", values, keys, col_total=TOTAL
    )


SERVICE_CLASSES = ("0", "1", "2", "3+")
"""Classes of the number of *services d'urgence et de jour* (every dispositif but the long
stays, :data:`~observatoire.indicators.pathways.COMBINATION_GROUPS`) a person used in the year:
« 0 » for the persons who only had a long stay (maison d'accueil or Housing First)."""

ONLY_LONG_STAY_LABEL = f"{LONG_STAY_LABEL} seulement"


def pathway(combination: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The row of the pathways table of a person who used ``combination``: the services other
    than the long stays, in the report's order; ``(LONG_STAY,)`` when only long stays.

    A long stay (maison d'accueil, Housing First) does not split a row: whoever used it with
    other services counts in the row of those services. Why: the persons who used *both* long
    stays (3 in 2024 and in 2023 on the default sample) are the persons of the two services
    minus those of their union, and the union is the network minus the persons of every
    combination *without* a long stay. Those combinations all have more than 50 persons; had
    they all been printed, the 3 followed (116 + 116 − (3 343 − 3 114) = 3), so some had to be
    masked (up to 107 + 73 persons of combinations over 50). With rows that hold persons with
    and without a long stay, the union is never printed, no row needs masking for it, and
    every row of 50 persons or more is published.
    """
    rest = tuple(d for d in DISPOSITIFS if d in combination and d not in COMBINATION_GROUPS)
    return rest or (LONG_STAY,)


def pathway_label(row: tuple[str, ...]) -> str:
    """French label of a row of the pathways table."""
    return ONLY_LONG_STAY_LABEL if row == (LONG_STAY,) else combination_label(row)


def service_class(row: tuple[str, ...]) -> str:
    """The class (:data:`SERVICE_CLASSES`) of a row of the pathways table."""
    n = 0 if row == (LONG_STAY,) else len(row)
    return SERVICE_CLASSES[min(n, len(SERVICE_CLASSES) - 1)]


def services_key(year: int, cls: str) -> str:
    return key(year, f"nb_services={cls}")


def pathway_key(year: int, row: tuple[str, ...] | list[str]) -> str:
    return key(year, "parcours=" + "+".join(sorted(row)))


def _pathway_counts(
    ind: dict[str, Any],
) -> tuple[dict[tuple[str, ...], int], dict[tuple[str, ...], int]]:
    """The observed (real) combinations and the persons of each row of the pathways table."""
    observed = {
        tuple(sorted(c["combination"])): int(c["persons"]) for c in ind["pathways"]["combinations"]
    }
    rows: dict[tuple[str, ...], int] = {}
    for combo, n in observed.items():
        row = pathway(combo)
        rows[row] = rows.get(row, 0) + n
    return observed, rows


def dispositifs_per_person(ind: dict[str, Any]) -> CountTable:
    """Persons by number of services d'urgence et de jour used (the margin of the pathways
    table, :func:`combinations`, so it tells a reader nothing that table does not)."""
    y = int(ind["year"])
    _, rows = _pathway_counts(ind)
    counts = dict.fromkeys(SERVICE_CLASSES, 0)
    for row, n in rows.items():
        counts[service_class(row)] += n
    values = pd.DataFrame({"personnes": list(counts.values())}, index=list(counts))
    keys = pd.DataFrame({"personnes": [services_key(y, c) for c in counts]}, index=list(counts))
    values.loc[TOTAL] = values["personnes"].sum()
    keys.loc[TOTAL] = network_key(y)
    return count_table(
        "nombre_de_dispositifs",
        "Personnes selon le nombre de services d'urgence et de jour fréquentés",
        values,
        keys,
        row_total=TOTAL,
    )


def combination_key(year: int, combination: list[str]) -> str:
    return key(year, "combinaison=" + "+".join(sorted(combination)))


def combinations(
    ind: dict[str, Any], k: int
) -> tuple[CountTable, list[Constraint], dict[str, float], dict[str, float], set[str]]:
    """The pathways table: the combinations of services d'urgence et de jour used in the year
    (long stays not splitting a row, see :func:`pathway`), a row for the persons who only had
    a long stay, those rows of fewer than k persons gathered in « autres combinaisons »; with
    what a reader knows of them, for the audit.

    A reader knows that the persons of a dispositif are the sum of the real combinations that
    contain it, and the persons of each class of :func:`dispositifs_per_person` the sum of its
    rows. So the audit sees every possible row: one that is not listed is *latent* (0 to k−1
    persons); the real combinations inside a row (without a long stay, with the maison
    d'accueil, with Housing First, with both) are *unprinted* (≥ 0); the identities run through
    them. The persons who used both long stays are an unprinted count *guarded* like a « < k »
    cell. Returns the table, the identities, the latent and the unprinted counts, and the
    guarded keys. Street work is linked to the other services only through a network-wide
    person id; without one it only appears alone.
    """
    y = int(ind["year"])
    observed, published = _pathway_counts(ind)
    # in a fixed order (number of services, then the report's order of dispositifs), never
    # by size: a masked cell printed between 528 and 288 would say it lies between them
    rank = {d: i for i, d in enumerate(published_combination(list(DISPOSITIFS)))}

    def order(row: tuple[str, ...]) -> tuple[int, list[int]]:
        return (int(service_class(row).rstrip("+")), [rank.get(d, len(rank)) for d in row])

    listed = sorted((r for r in published if published[r] >= k), key=order)
    # Street work is linked to the other services only where a network-wide person id says
    # so (``scope: network``); then it combines like any service.
    street_linked = any(STREET_WORK in c and len(c) > 1 for c in observed)
    alone = set() if street_linked else {STREET_WORK}
    linked = sorted({d for c in observed for d in c} - alone)
    possible = [
        combo for n in range(1, len(linked) + 1) for combo in itertools.combinations(linked, n)
    ]
    if not street_linked and any(STREET_WORK in c for c in observed):
        possible.append((STREET_WORK,))
    members: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for combo in possible:
        members.setdefault(pathway(combo), []).append(combo)
    # each possible real combination, under the key of its row when it is the row's only one,
    # else under a key of its own that no table prints
    real_key = {
        combo: pathway_key(y, row)
        if len(parts) == 1
        else key(y, "combinaison_detaillee=" + "+".join(combo))
        for row, parts in members.items()
        for combo in parts
    }
    labels = [pathway_label(r) for r in listed]
    values = pd.DataFrame({"personnes": [published[r] for r in listed]}, index=labels)
    keys = pd.DataFrame({"personnes": [pathway_key(y, r) for r in listed]}, index=labels)
    if set(members) - set(listed):  # « autres » only when some possible row is not listed
        values.loc[OTHER_COMBINATIONS] = sum(n for n in published.values() if n < k)
        keys.loc[OTHER_COMBINATIONS] = key(y, "parcours=autres")
    values.loc[TOTAL] = values["personnes"].sum()
    keys.loc[TOTAL] = network_key(y)
    table = count_table(
        "combinaisons_de_dispositifs",
        "Combinaisons de services d'urgence et de jour fréquentés dans l'année "
        "(avec ou sans maison d'accueil ou Housing First)",
        values,
        keys,
        row_total=TOTAL,
    )
    listed_rows = set(listed)
    latent: dict[str, float] = {}
    unprinted: dict[str, float] = {}
    constraints = []
    for row, parts in members.items():
        row_key = pathway_key(y, row)
        if row not in listed_rows:
            latent[row_key] = float(published.get(row, 0))
        if len(parts) > 1:
            constraints.append(
                Constraint(total=row_key, parts=tuple(sorted(real_key[c] for c in parts)))
            )
            for combo in parts:
                unprinted[real_key[combo]] = float(observed.get(combo, 0))
    if latent:
        constraints.append(Constraint(total=key(y, "parcours=autres"), parts=tuple(sorted(latent))))
    for d in dict.fromkeys([*linked, *([STREET_WORK] if (STREET_WORK,) in possible else [])]):
        parts = tuple(sorted(kk for c, kk in real_key.items() if d in c))
        constraints.append(Constraint(total=key(y, f"dispositif={d}"), parts=parts))
    guarded: set[str] = set()
    groups: dict[str, list[str]] = {}
    for d, group in COMBINATION_GROUPS.items():
        if d in linked:
            groups.setdefault(group, []).append(d)
    for members_of_group in groups.values():
        for a, b in itertools.combinations(sorted(members_of_group), 2):
            overlap = key(y, f"dispositifs={a}&{b}")
            parts = tuple(sorted(kk for c, kk in real_key.items() if a in c and b in c))
            unprinted[overlap] = float(sum(unprinted.get(p, 0.0) for p in parts))
            constraints.append(Constraint(total=overlap, parts=parts))
            guarded.add(overlap)
    for cls in SERVICE_CLASSES:  # the margin printed by dispositifs_per_person
        parts = tuple(sorted(pathway_key(y, r) for r in members if service_class(r) == cls))
        if parts:
            constraints.append(Constraint(total=services_key(y, cls), parts=parts))
    return table, constraints, latent, unprinted, guarded


OTHER_COMBINATIONS = "Autres combinaisons"


def _split_table(
    name: str,
    title: str,
    rows: dict[str, dict[str, int]],
    what: str,
    year: int,
    shared_base: str | None = None,
) -> CountTable:
    """A base split in parts (« logées » / « non logées » / « décédées »): per horizon (the
    index, in months), the parts in order; the base is their sum, the row total, so a reader
    who knows the base and all parts but one knows that one too, and the audit knows it.
    ``shared_base`` is the key of a base that is the same persons at every horizon (one exit
    cohort followed over nested windows): one quantity, printed once per row."""
    index = sorted(rows, key=int)  # follow-ups in months: 6, 12, 24 (not as text)
    labels = list(rows[index[0]])
    values = pd.DataFrame({lab: [rows[r][lab] for r in index] for lab in labels}, index=index)
    values[TOTAL] = values.sum(axis=1)
    keys = pd.DataFrame(
        {lab: [key(year, f"horizon={r}", lab, what=what) for r in index] for lab in labels},
        index=index,
    )
    keys[TOTAL] = [shared_base or key(year, f"horizon={r}", what=what) for r in index]
    return count_table(name, title, values, keys, col_total=TOTAL)


RETENTION_PARTS = ("logees", "non_logees", "decedees")
"""Housing First cohort at 12/24 months: housed, not housed, died before the anniversary."""
RETURN_PARTS = ("retour_abri", "retour_autre_service", "sans_retour")
"""Exits to housing: back at the shelter, back in another service only, not back."""


def housing_first_retention(ind: dict[str, Any]) -> CountTable | None:
    """Housing First cohorts split into housed, not housed and deceased (deaths reported apart,
    outside the denominator of the retention share: base − deceased)."""
    hf = ind.get("housing_first") or {}
    rows = {}
    for m, r in hf.items():
        if not r or not r.get("cohort"):
            continue
        deceased = int(r.get("deceased") or 0)
        followed = int(r.get("followed", r["cohort"] - deceased))
        rows[m] = dict(
            zip(RETENTION_PARTS, (r["housed"], followed - r["housed"], deceased), strict=True)
        )
    if not rows:
        return None
    return _split_table(
        "housing_first_maintien",
        "Housing First : personnes encore logées",
        rows,
        "housing_first",
        int(ind["year"]),
    )


def returns_after_housing(ind: dict[str, Any]) -> CountTable | None:
    """One exit cohort per horizon, split into returns to the shelter, returns to another
    service only and no return (the shelter's returns are a part of any contact's)."""
    ret = ind.get("returns") or {}
    rows = {}
    for m, r in ret.items():
        if not r or not r.get("exits"):
            continue
        other = r["any_contact"] - r["shelter"]
        rows[m] = dict(
            zip(RETURN_PARTS, (r["shelter"], other, r["exits"] - r["any_contact"]), strict=True)
        )
    if not rows:
        return None
    return _split_table(
        "retours_apres_relogement",
        "Retours après un relogement",
        rows,
        "retours",
        int(ind["year"]),
        shared_base=returns_cohort_key(int(ind["year"])),
    )


def returns_cohort_key(year: int) -> str:
    """The exit cohort of the returns: the same persons at every horizon, one key."""
    return key(year, "cohorte", what="retours")


LONG_TERM_BASE = "presents_fin_annee"
"""Row of the long-term stayers' table: the persons present at the end of the year, of whom
the long-term stayers are a part (the denominator the report prints)."""


def long_term_stayers(ind: dict[str, Any]) -> CountTable | None:
    lt = ind.get("long_term") or {}
    if not lt.get("persons"):
        return None
    y = int(ind["year"])
    rows = list(lt["persons"])
    values = pd.DataFrame({"personnes": [lt["persons"][r] for r in rows]}, index=rows)
    keys = pd.DataFrame({"personnes": [key(y, f"longue_duree={r}") for r in rows]}, index=rows)
    if lt.get("active_end") is not None:
        values.loc[LONG_TERM_BASE] = [lt["active_end"]]
        keys.loc[LONG_TERM_BASE] = [key(y, LONG_TERM_BASE)]
    return count_table("personnes_longue_duree", "Personnes de longue durée", values, keys)


ENTRY_PARTS = ("nouveaux", "deja_vus")
"""Entrants of the year, anchored on their entry (SPM 5): new to the network, or seen before."""


def entry_anchored_new(ind: dict[str, Any]) -> CountTable | None:
    """The entrants of the year split into new and already seen, the look-back anchored on
    each person's entry (US SPM 5), beside the 1-January flows."""
    e = (ind.get("flows") or {}).get("network_entry") or {}
    if not e.get("calculable") or not e.get("entrants"):
        return None
    y = int(ind["year"])
    values = pd.DataFrame(
        {str(y): [e["new"], e["known"], e["entrants"]]}, index=[*ENTRY_PARTS, TOTAL]
    )
    keys = pd.DataFrame(
        {str(y): [key(y, "entrees", p) for p in ENTRY_PARTS] + [key(y, "entrees")]},
        index=[*ENTRY_PARTS, TOTAL],
    )
    return count_table(
        "nouveaux_ancres_sur_l_entree",
        "Entrées de l'année : personnes nouvelles pour le réseau (ancrage sur l'entrée)",
        values,
        keys,
        row_total=TOTAL,
    )


def time_in_services(ind: dict[str, Any]) -> CountTable | None:
    """Persons present in each dispositif during the year (the base of the mean and median
    length of time, which are published only for enough persons). They are the persons of the
    dispositif, under the same key: the audit checks that the two counts agree."""
    ins = (ind.get("durations") or {}).get("in_service") or {}
    rows = [d for d in DISPOSITIFS if d in ins]
    if not rows:
        return None
    y = int(ind["year"])
    values = pd.DataFrame({"personnes": [ins[d]["n"] for d in rows]}, index=rows)
    keys = pd.DataFrame({"personnes": [key(y, f"dispositif={d}") for d in rows]}, index=rows)
    return count_table("duree_dans_les_services", "Temps passé dans les services", values, keys)


def persons_by_month(year: int, monthly: pd.DataFrame | None) -> CountTable | None:
    """Distinct persons per month and dispositif (``personnes_par_mois.csv``, up to ``year``),
    the monthly chart's points. Months do not add up to a year (the same person comes back),
    so the table carries no identity; a month of 1 to k − 1 persons is « < k »."""
    if monthly is None or monthly.empty:
        return None
    frame = monthly.assign(month=pd.to_datetime(monthly["month"]).dt.strftime("%Y-%m"))
    frame = frame[frame["month"].str[:4].astype(int) <= year]
    values = frame.pivot_table(
        index="month",
        columns="dispositif",
        values="persons",
        aggfunc="sum",
        sort=True,
        fill_value=0,  # a month without a row is a month without anyone
    )
    codes = [d for d in DISPOSITIFS if d in values.columns]
    values = values[codes]
    keys = pd.DataFrame(
        [[key(int(m[:4]), f"mois={m}", f"dispositif={d}") for d in codes] for m in values.index],
        index=values.index,
        columns=codes,
    )
    return count_table(
        "personnes_par_mois", "Personnes distinctes par mois et dispositif", values, keys
    )


def profile_figures(ind: dict[str, Any]) -> tuple[CountTable, list[Constraint]]:
    """The profile's key figures the text prints: the young adults of 18 to 25 (the two age
    bands of the age × sex table together: a reader adds them) and the persons whose age was
    estimated (street work)."""
    y = int(ind["year"])
    prof = ind["profile"]
    rows = ["18-25 ans", "âge estimé"]
    values = pd.DataFrame(
        {"personnes": [prof["youth_18_25"], prof["age_estimated_persons"]]}, index=rows
    )
    keys = pd.DataFrame({"personnes": [key(y, "age=18-25"), key(y, "age_estime")]}, index=rows)
    bands = [f"age={b}" for b, lo, hi in AGE_BANDS if lo >= 18 and hi <= 25]
    constraints = (
        [Constraint(total=key(y, "age=18-25"), parts=tuple(key(y, b) for b in bands))]
        if bands
        else []
    )
    table = count_table("chiffres_du_profil", "Jeunes de 18 à 25 ans, âge estimé", values, keys)
    return table, constraints


def linkage_figures(year: int, linkage: dict[str, Any] | None) -> CountTable | None:
    """The linkage's person counts the methods annex prints (``outputs/metrics/linkage.json``):
    persons over the whole period and the bounds of this year's network count."""
    if not linkage or linkage.get("persons") is None:
        return None
    bounds = linkage.get("fourchette_reseau", {}).get(str(year), {})
    rows, values, keys = ["personnes reliées, toute la période"], [linkage["persons"]], []
    keys.append(key(year, "liaison=toute_la_periode"))
    for bound in ("minimum", "maximum"):
        if bounds.get(bound) is not None:
            rows.append(f"fourchette du réseau {year}, {bound}")
            values.append(bounds[bound])
            keys.append(key(year, f"liaison=fourchette_{bound}"))
    return count_table(
        "chiffres_de_la_liaison",
        "Personnes après liaison des dossiers",
        pd.DataFrame({"personnes": values}, index=rows),
        pd.DataFrame({"personnes": keys}, index=rows),
    )


IMPUTATION_SCOPES = ("dossiers_nominatifs", "reseau")
"""Rows of the imputation table besides the dispositifs: the persons known by name, and the
network's range (lower end of its minimum's interval, upper end of its maximum's)."""


def imputation_key(year: int, scope: str, end: str) -> str:
    """Key of an end (« bas », « haut ») of a linkage-imputation interval."""
    return key(year, f"liaison_imputation={scope}", end)


def linkage_imputation_figures(year: int, imputations: dict[str, Any] | None) -> CountTable | None:
    """The intervals of the persons counts under the linkage's error (stage
    ``linkage_imputations``, ``imputations.json``): named persons, the network's range and each
    dispositif (street work excepted: its chains are not drawn). Ends are whole persons, the
    lower rounded down and the upper up (the interval is never narrowed by rounding)."""
    cells = ((imputations or {}).get("annees") or {}).get(str(year))
    if not cells:
        return None
    ends = {
        "dossiers_nominatifs": (cells.get("dossiers_nominatifs"), cells.get("dossiers_nominatifs")),
        "reseau": (cells.get("reseau_minimum"), cells.get("reseau_maximum")),
    }
    for scope in sorted(c for c in cells if c.startswith("dispositif=")):
        ends[scope.removeprefix("dispositif=")] = (cells[scope], cells[scope])
    rows, values, keys = [], [], []
    for scope, (low, high) in ends.items():
        if not low or not high:
            continue
        rows.append(scope)
        values.append([math.floor(low["bas"]), math.ceil(high["haut"])])
        keys.append([imputation_key(year, scope, "bas"), imputation_key(year, scope, "haut")])
    if not rows:
        return None
    return count_table(
        "imputations_de_la_liaison",
        f"Intervalles des personnes {year} sous l'erreur de liaison (imputations multiples)",
        pd.DataFrame(values, index=rows, columns=["bas", "haut"]),
        pd.DataFrame(keys, index=rows, columns=["bas", "haut"]),
    )


def has_person_data(ind: dict[str, Any]) -> bool:
    """Whether an ``indicateurs.json`` counts persons: some year has person-level rows. False
    on a network whose partners send counts only (``docs/donnees-agregees.md``)."""
    return bool(ind.get("years"))


def build_tables(
    ind: dict[str, Any],
    k: int,
    monthly: pd.DataFrame | None = None,
    linkage: dict[str, Any] | None = None,
    imputations: dict[str, Any] | None = None,
) -> Tables:
    """Every table of the annual report for the year of ``ind`` (an ``indicateurs.json``);
    ``monthly`` is the indicators' ``personnes_par_mois.csv`` (the monthly chart's table),
    ``linkage`` the linkage metrics (``linkage.json``) whose person counts the annex prints,
    ``imputations`` the linkage imputations' ``imputations.json`` (the intervals it prints).

    With no person-level data (:func:`has_person_data`: the partners send counts only), the
    aggregate tables alone: no person table is built, not even one of zeros."""
    if not has_person_data(ind):
        agg_tables, agg_constraints = aggregate_tables(ind)
        return Tables(int(ind["year"]), agg_tables, agg_constraints, persons=False)
    partner_table, constraints = persons_by_partner(ind)
    profile_table, profile_constraints = profile_figures(ind)
    combo_table, combo_constraints, latent, unprinted, guarded = combinations(ind, k)
    tables: list[CountTable | None] = [
        persons_by_dispositif(ind),
        persons_identified_and_street_work(ind),
        partner_table,
        persons_by_year(ind),
        persons_by_dispositif_and_year(ind),
        persons_by_age_and_sex(ind),
        persons_by_nationality(ind),
        exits_by_reason(ind),
        flows_by_year(ind),
        flows_by_dispositif(ind),
        dispositifs_per_person(ind),
        combo_table,
        long_term_stayers(ind),
        housing_first_retention(ind),
        returns_after_housing(ind),
        entry_anchored_new(ind),
        time_in_services(ind),
        persons_by_month(int(ind["year"]), monthly),
        profile_table,
        linkage_figures(int(ind["year"]), linkage),
        linkage_imputation_figures(int(ind["year"]), imputations),
    ]
    # Partners that send counts: their own tables, never added to the person counts above.
    agg_tables, agg_constraints = aggregate_tables(ind)
    tables += agg_tables
    return Tables(
        int(ind["year"]),
        [t for t in tables if t is not None],
        [*constraints, *combo_constraints, *profile_constraints, *agg_constraints],
        latent,
        unprinted,
        guarded,
    )


SHARED_WITH_YOUTH = ("age=18-25",)
"""Quantities of the annual report that the youth report prints too (same rule, same key)."""


def headline_keys(tables: Tables) -> set[str]:
    """The figures the report opens with: the network's persons and each dispositif's persons
    of the year, and the year's 18–25 year olds, which the youth report prints under the same
    key (:data:`SHARED_WITH_YOUTH`: masked by one report and printed by the other, it would
    protect nothing, and the year's audit refuses one key with two statuses). Secondary
    suppression never takes them (it masks other cells instead); a small one is still « < k »."""
    y = tables.year
    if not tables.persons:
        return set()
    keys = {network_key(y)}
    present = {kk for t in tables.tables for _, _, kk, _ in t.cells() if kk}
    keys |= {key(y, q) for q in SHARED_WITH_YOUTH} & present
    for table in tables.tables:
        for _, _, cell_key, _ in table.cells():
            if (
                cell_key
                and cell_key.startswith(f"personnes|{y}|dispositif=")
                and (cell_key.count("|") == 2)
            ):
                keys.add(cell_key)
    return keys


def publish(
    ind: dict[str, Any],
    ind_prev: dict[str, Any] | None,
    k: int,
    *,
    method: str = "optimal",
    budget: Budget = DEFAULT_BUDGET,
    previous_method: str | None = None,
    released: pd.DataFrame | None = None,
    released_from: Path | None = None,
    monthly: pd.DataFrame | None = None,
    linkage: dict[str, Any] | None = None,
    imputations: dict[str, Any] | None = None,
) -> tuple[Tables, Publication, Publication | None]:
    """This year's tables protected against this year's *and* last year's publication.

    ``method`` and ``budget`` choose the secondary suppression (see :func:`protect`: the
    optimal pattern within a deterministic work budget, the greedy one as fallback; the budget
    holds for each year's pattern).
    ``previous_method`` is the method last year's report was printed with (default: the same):
    last year's pattern is rebuilt, and it must be the one readers hold — the first report
    printed with the optimal method protects itself against a greedy last year.
    ``released`` is last year's archived ledger (``publications/<year>/``, read from
    ``released_from``): when given, last year's statuses are those actually printed
    (:func:`observatoire.disclosure.archive.released_previous`). ``monthly``: see
    :func:`build_tables`, like ``linkage``.
    """
    previous = None
    if ind_prev is not None:
        prev_tables = build_tables(ind_prev, k)
        previous = protect(
            prev_tables.tables,
            k,
            prev_tables.constraints,
            latent=prev_tables.latent,
            unprinted=prev_tables.unprinted,
            guarded=prev_tables.guarded,
            keep=headline_keys(prev_tables),
            method=previous_method or method,
            budget=budget,
        )
        if released is not None:
            previous = released_previous(previous, released, released_from or Path("."))
    tables = build_tables(ind, k, monthly, linkage, imputations)
    return (
        tables,
        protect(
            tables.tables,
            k,
            tables.constraints,
            previous=previous,
            latent=tables.latent,
            unprinted=tables.unprinted,
            guarded=tables.guarded,
            keep=headline_keys(tables),
            method=method,
            budget=budget,
        ),
        previous,
    )


def restore_tables(
    tables: Any,
    k: int,
    ledger: pd.DataFrame,
    keep: Iterable[str] = (),
    source: str = "cases_publiees.csv",
) -> Publication:
    """:func:`~observatoire.disclosure.suppression.restore` of one report's tables (annual
    :class:`Tables` or the youth report's: anything with ``tables``, ``constraints``,
    ``latent``, ``unprinted`` and ``guarded``)."""
    return restore(
        tables.tables,
        k,
        ledger,
        tables.constraints,
        latent=tables.latent,
        unprinted=tables.unprinted,
        guarded=tables.guarded,
        keep=keep,
        source=source,
    )


def restore_published(
    ind: dict[str, Any],
    ind_prev: dict[str, Any] | None,
    k: int,
    ledger: pd.DataFrame,
    previous_ledger: pd.DataFrame | None,
    monthly: pd.DataFrame | None = None,
    linkage: dict[str, Any] | None = None,
    imputations: dict[str, Any] | None = None,
) -> tuple[Tables, Publication, Publication | None]:
    """What :func:`publish` decided, read back by the report stage: the tables rebuilt from the
    indicators, each cell's status from the year's ledger (and last year's from the ledger the
    audit held), never a second suppression pattern."""
    tables = build_tables(ind, k, monthly, linkage, imputations)
    pub = restore_tables(tables, k, ledger, headline_keys(tables))
    previous = None
    if ind_prev is not None and previous_ledger is not None:
        prev_tables = build_tables(ind_prev, k)
        previous = restore_tables(
            prev_tables,
            k,
            previous_ledger,
            headline_keys(prev_tables),
            source="la publication de l'an dernier",
        )
    return tables, pub, previous
