"""Secondary cell suppression across all the tables of a publication, audited by linear programming.

Primary suppression hides person counts from 1 to k−1. That is not enough: a reader who knows the
margins of a table, the same figure in another table or last year's publication can often recompute
a hidden cell, or narrow it (two hidden cells whose sum is 3). The engine therefore models what a
reader knows — every published value of this year and of last year, every additive identity
(totals), and what the labels say (« < k »: between 1 and k−1; « s »: at least k) — and computes,
for each small cell, the interval that a reader can deduce, with two linear programs (HiGHS).
A small cell is *protected* when that interval still covers [1, k−1]: the reader learns nothing
beyond « < k ». :func:`protect` hides further cells (secondary suppression) until every small cell
is protected, or until no allowed suppression can widen its interval any more (see
:func:`audit`, column ``inevitable``): by default the pattern that masks the fewest persons, a
mixed-integer program solved by HiGHS within a deterministic work budget (:class:`Budget`: the
pattern is a function of the inputs, never of the machine's load), the older greedy search kept
as the fallback whenever it is not beaten.

Cells are identified across the publication by a *quantity key*: the same key in two tables, or in
last year's tables, is the same number and gets one status, so the pattern is consistent across
tables and across years (the Eurostat practice).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from observatoire.core.errors import PublicationRefused
from observatoire.core.formatting import french_number

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

# scipy.optimize and scipy.sparse (~1 s to import) are imported by the functions that solve a
# program: the report stages import this module for its statuses and labels only.

PRIMARY = "primaire"
SECONDARY = "secondaire"
PUBLISHED = "publie"
LATENT = "latent"
"""A count a reader knows exists but that no table prints (the make-up of a group of small
categories): bounded by 0 and k−1 and never written. It enters the reader's identities, so the
printed « < k » cells are protected against them; it is not itself a target (protecting every
one would mask whole tables), :func:`latent_exposure` says what a reader can deduce of it."""
UNPRINTED = "non_imprime"
"""A count no table prints and that a reader only knows to be at least 0: the finer parts of a
printed cell (the persons of « maison d'accueil ou Housing First » who used the maison
d'accueil). Like :data:`LATENT`, it carries identities (persons of a dispositif = sum of its
combinations) and is never written; unlike it, no « < k » rule bounds it from above."""

SECONDARY_LABEL = "s"
TOL = 1e-6

METHODS = ("optimal", "greedy")
"""How :func:`protect` chooses the secondary cells: ``"optimal"`` (a mixed-integer program
solved by HiGHS, the greedy pattern kept when it is not larger) or ``"greedy"`` alone."""
COSTS = ("persons", "cells")
"""What the optimal pattern minimises: ``"persons"`` masked (each hidden cell weighted by its
count, the default) or ``"cells"`` masked."""


@dataclass(frozen=True)
class Budget:
    """The work the optimal search may do: counted in work, not in seconds.

    A publication must be a function of its inputs and parameters (the same files on every
    machine, under any load). A wall-clock limit breaks that: a loaded machine stops the search
    earlier and publishes another pattern. The budget is therefore counted in HiGHS
    branch-and-bound ``nodes`` per solve (HiGHS is deterministic with the same options and
    model) and in ``solves`` per independent group (the first solve and the cut rounds of
    :func:`_optimal_pattern`); a group that exhausts it keeps the best protected pattern found
    within it, or its greedy pattern — the same on every machine.

    ``safety_s`` is only a safety net against a run that would never end (None: none): wall
    clock for the whole optimal search of one :func:`protect` call. Should it trip, the groups
    not finished keep their greedy pattern (deterministic, protected), the search says so on
    standard error in French and in :attr:`Search.unfinished` — the stage records it in the
    publication's state — since the pattern then depends on the machine's speed.
    """

    nodes: int = 20
    solves: int = 50
    safety_s: float | None = 900.0

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.solves < 1 or (self.safety_s is not None and self.safety_s < 0):
            raise PublicationRefused(
                f"Budget de recherche invalide : {self.nodes} nœuds, {self.solves} résolutions, "
                f"filet de {self.safety_s} s (au moins 1 nœud et 1 résolution)."
            )


DEFAULT_BUDGET = Budget()
"""The budget of :func:`protect` unless told (``report.disclosure_search`` in the params)."""
WHOLE_AFTER = 3
"""Patterns that only the reader of whole numbers narrows before the optimal search makes the
reader's tables whole in its program (see :func:`_optimal_pattern`)."""

__all__ = [
    "LATENT",
    "PRIMARY",
    "PUBLISHED",
    "SECONDARY",
    "SECONDARY_LABEL",
    "UNPRINTED",
    "COSTS",
    "DEFAULT_BUDGET",
    "METHODS",
    "Budget",
    "Constraint",
    "CountTable",
    "Publication",
    "Search",
    "audit",
    "latent_exposure",
    "merge",
    "protect",
    "remember_intervals",
    "restore",
    "solved_intervals",
    "whole_number_audit",
]


@dataclass(eq=False)
class CountTable:
    """One published table of counts.

    Cells are identified across the whole publication by a *quantity key* (str): the same key in
    two tables (or in last year's tables) is the same number, e.g.
    ``"personnes|2024|dispositif=maison_accueil"``. A cell whose key is None is not a count to
    protect (nights, a percentage) and takes part in no additive identity.
    """

    name: str
    title: str
    values: pd.DataFrame
    keys: pd.DataFrame
    row_total: str | None = None
    col_total: str | None = None
    sensitive: bool = True

    def cells(self) -> Iterator[tuple[int, int, str | None, Any]]:
        """(row position, column position, key, value) of every cell, row by row."""
        for i in range(self.values.shape[0]):
            for j in range(self.values.shape[1]):
                yield i, j, _key(self.keys.iat[i, j]), self.values.iat[i, j]

    def where(self, i: int, j: int) -> str:
        """French location of a cell, for error messages."""
        return (
            f"cellule « {self.values.index[i]} » × « {self.values.columns[j]} » "
            f"du tableau « {self.name} »"
        )


@dataclass(frozen=True)
class Constraint:
    """An extra additive identity known to a reader: value(total) == sum(value(parts))."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Search:
    """How the secondary pattern of a publication was chosen, for the bench and the logs.

    Not to be published: the persons masked are the sum of the hidden cells, an identity a
    reader does not have (with it, two hidden cells whose sum is printed elsewhere give each
    other away).

    ``requested`` is the method asked of :func:`protect`; ``method`` the one whose pattern was
    kept (``"greedy"`` when the optimal search found nothing smaller, ``"optimal"`` when the
    pattern is cheaper than the greedy one — in some groups, greedy parts may remain where they
    were not beaten). The search runs by independent groups of small cells (``groups``, of
    which ``proven`` were solved to proven optimality, or proven to have nothing cheaper than
    their greedy pattern); ``solver`` says how it ended:
    ``"optimal"`` (every group proven minimal), ``"work limit"`` (the best patterns found
    within the :class:`Budget`), ``"no pattern"`` or ``"infeasible"`` (some group found nothing
    protected: its greedy part was used; ``optimal_cells`` and ``optimal_persons`` are then
    None), ``"safety net"`` (the wall-clock safety net tripped: ``unfinished`` groups kept their
    greedy part, and the pattern depends on the machine's speed), ``"not run"``. The
    ``*_seconds`` are for the bench only: nothing the search decides depends on them.
    """

    requested: str
    method: str
    cost: str
    greedy_cells: int
    greedy_persons: float
    optimal_cells: int | None = None
    optimal_persons: float | None = None
    solver: str = "not run"
    groups: int = 0
    proven: int = 0
    master_solves: int = 0
    cuts: int = 0
    unfinished: int = 0
    greedy_seconds: float = 0.0
    optimal_seconds: float = 0.0


@dataclass
class Publication:
    """The suppression pattern of one year's publication.

    ``values`` holds the true values, hidden ones included: keep it in memory, never write it;
    :meth:`ledger` and :meth:`text` are what may be written.
    """

    k: int
    values: dict[str, float]
    status: dict[str, str]
    tables: list[CountTable]
    constraints: list[Constraint]
    kept: frozenset[str] = frozenset()  # never hidden as secondary (see protect's keep)
    guarded: frozenset[str] = frozenset()  # unprinted counts protected like « < k » cells
    search: Search | None = None  # how the secondary pattern was chosen (never published)

    def hidden(self, key: str) -> bool:
        return self.status[key] != PUBLISHED

    def cell_text(self, key: str) -> str:
        """The published text of a quantity: « < k », « s » or the French number."""
        status = self.status[key]
        if status == PRIMARY:
            return f"< {self.k}"
        if status == SECONDARY:
            return SECONDARY_LABEL
        return french_number(self.values[key])

    def text(self, table: CountTable) -> pd.DataFrame:
        """The table as published: one string per cell, hidden cells labelled."""
        out = pd.DataFrame("", index=table.values.index, columns=table.values.columns, dtype=object)
        for i, j, key, value in table.cells():
            out.iat[i, j] = _number_text(value) if key is None else self.cell_text(key)
        return out

    def ledger(self) -> pd.DataFrame:
        """One row per quantity: key, status, published value (empty when hidden), tables.

        Safe to write: a hidden value never appears in it.
        """
        where: dict[str, list[str]] = {}
        for table in self.tables:
            for _, _, key, _ in table.cells():
                if key is not None and table.name not in where.setdefault(key, []):
                    where[key].append(table.name)
        keys = sorted(
            key for key, status in self.status.items() if status not in (LATENT, UNPRINTED)
        )
        return pd.DataFrame(
            {
                "key": keys,
                "status": [self.status[key] for key in keys],
                "value": pd.array(
                    [None if self.hidden(key) else self.values[key] for key in keys],
                    dtype="Float64",
                ),
                "tables": [", ".join(where.get(key, [])) for key in keys],
            }
        )


def protect(
    tables: list[CountTable],
    k: int,
    constraints: Sequence[Constraint] = (),
    previous: Publication | None = None,
    max_rounds: int = 500,
    *,
    keep: Iterable[str] = (),
    strict: bool = False,
    latent: dict[str, float] | None = None,
    unprinted: dict[str, float] | None = None,
    guarded: Iterable[str] = (),
    method: str = "optimal",
    budget: Budget = DEFAULT_BUDGET,
    cost: str = "persons",
) -> Publication:
    """Primary and audited secondary suppression over all ``tables`` of one year.

    Small cells are hidden first. The secondary cells are then chosen by ``method``:

    * ``"optimal"`` (default): the pattern that masks the fewest persons (``cost="persons"``)
      or cells (``cost="cells"``) while every small cell stays protected, found by a
      mixed-integer program (see :func:`_optimal_pattern`) within the work ``budget`` (HiGHS
      nodes per solve, solves per group: :class:`Budget`; the same pattern on every machine
      whatever its load). The greedy pattern below is always
      computed too, as the fallback: the optimal one is kept only when it is protected (checked
      by the same linear programs as :func:`audit`) and strictly cheaper, so the result never
      masks more than the greedy search. ``publication.search`` records which won.
    * ``"greedy"``: the greedy search alone.

    The greedy search: while a reader can narrow some small cell (of this year
    or of ``previous``), one more published cell is hidden in an identity that bears on it,
    preferring in order: cells that are the total of fewer identities (inner cells, then margins,
    a grand total shared by several tables last), cells of identities that pin a hidden cell on
    their own, nearer cells, smaller values; ties by key. Never hidden as secondary: zeros, small
    cells, counts of non-sensitive tables, values published last year (hiding them is useless),
    and the keys in ``keep`` (headline figures the report must show: the search goes elsewhere).

    When even hiding every allowed cell leaves a small cell narrowed (zeros are published, so a
    row « < k », « < k », 0 with a total « < k » tells that the total is at least 2), the cell is
    left as it is and :func:`audit` flags it ``inevitable``; with ``strict=True`` that raises. A
    small cell whose exact value can be deduced whatever is hidden always raises ``ValueError``.

    ``latent`` gives the true values of :data:`LATENT` quantities: unprinted counts that the
    identities mention (the combinations gathered in « autres »). A reader only knows they lie
    in 0..k−1; the small cells are protected against identities that go through them.
    ``unprinted`` gives those of :data:`UNPRINTED` quantities (known to a reader only as ≥ 0).
    ``guarded`` names unprinted counts that are persons in their own right (those who used two
    services printed apart, through a merged row): when 1 to k−1, they are protected like a
    « < k » cell, though never printed.
    """
    if k < 2:
        raise PublicationRefused(f"Le seuil de confidentialité doit valoir au moins 2 (reçu {k}).")
    if method not in METHODS:
        raise PublicationRefused(
            f"Méthode de suppression inconnue « {method} » ({', '.join(METHODS)})."
        )
    if cost not in COSTS:
        raise PublicationRefused(f"Coût de suppression inconnu « {cost} » ({', '.join(COSTS)}).")
    started = time.perf_counter()
    values, sensitive = _collect(tables, k)
    latent = dict(latent or {})
    if clash := sorted(latent.keys() & values.keys()):
        raise PublicationRefused(
            f"Quantités latentes déjà publiées dans un tableau : {', '.join(clash)}."
        )
    if bad := sorted(key for key, v in latent.items() if not 0 <= v < k):
        raise PublicationRefused(f"Quantités latentes hors de 0..{k - 1} : {', '.join(bad)}.")
    unprinted = dict(unprinted or {})
    if clash := sorted(unprinted.keys() & (values.keys() | latent.keys())):
        raise PublicationRefused(f"Quantités non imprimées déjà déclarées : {', '.join(clash)}.")
    if bad := sorted(key for key, v in unprinted.items() if v < 0):
        raise PublicationRefused(f"Quantités non imprimées négatives : {', '.join(bad)}.")
    values.update(latent)
    values.update(unprinted)
    kept = frozenset(keep)
    if unknown := sorted(kept - values.keys()):
        raise PublicationRefused(f"Clés à garder absentes des tableaux : {', '.join(unknown)}.")
    sourced = [*_derive_constraints(tables), *((c, "identité explicite") for c in constraints)]
    _check_constraints(sourced, values, previous)
    all_constraints = _dedupe(c for c, _ in sourced)
    _check_previous(values, previous)
    status = {
        key: LATENT
        if key in latent
        else UNPRINTED
        if key in unprinted
        else (PRIMARY if sensitive[key] and 0 < v < k else PUBLISHED)
        for key, v in values.items()
    }
    guarded_keys = frozenset(guarded)
    if stray := sorted(guarded_keys - unprinted.keys()):
        raise PublicationRefused(
            f"Quantités à protéger non déclarées non imprimées : {', '.join(stray)}."
        )
    publication = Publication(k, values, status, list(tables), all_constraints, kept, guarded_keys)
    eligible = _eligible(publication, previous)
    attacker = _Attacker.of(publication, previous)
    best = _Attacker.of(publication, previous, extra_hidden=eligible)
    totals: dict[str, int] = {}  # key -> number of identities it is the total of
    for c in attacker.constraints_as_given:
        totals[c.total] = totals.get(c.total, 0) + 1
    rounds = 0
    for target in _primary_keys(publication, previous):
        rng = _target_range(target, publication, previous)
        while True:
            lo, hi = attacker.range(target)
            if _covers(lo, hi, rng):
                break
            chosen = None
            if not _covers(lo, hi, best.range(target)):
                chosen = _pick(attacker, target, eligible - attacker.hidden_keys(), totals, values)
            if chosen is None:  # the widest interval any allowed suppression can leave
                if hi - lo <= TOL:
                    raise PublicationRefused(
                        f"Impossible de protéger la {_where(target, publication, previous)} "
                        f"(clé « {target} ») : sa valeur se déduit des cellules publiées (zéros, "
                        f"comptes non sensibles, mentions « < {k} » ou publication de l'année "
                        "précédente), quelle que soit la suppression secondaire. Regroupez des "
                        "catégories ou ne publiez pas ce tableau."
                    )
                if strict:
                    raise PublicationRefused(
                        f"La {_where(target, publication, previous)} (clé « {target} ») ne peut "
                        f"pas être entièrement protégée : un lecteur sait qu'elle est entre "
                        f"{french_number(lo)} et {french_number(hi)}, quelle que soit la "
                        "suppression secondaire."
                    )
                break
            status[chosen] = SECONDARY
            attacker.hide(chosen, (float(k), math.inf))
            rounds += 1
            if rounds > max_rounds:
                raise PublicationRefused(
                    f"Suppression secondaire interrompue après {max_rounds} cellules masquées "
                    f"(en protégeant la {_where(target, publication, previous)}) : "
                    "augmentez max_rounds ou simplifiez les tableaux."
                )
    _prune(publication, previous, attacker)
    greedy = {key for key, s in status.items() if s == SECONDARY}
    search = Search(
        requested=method,
        method="greedy",
        cost=cost,
        greedy_cells=len(greedy),
        greedy_persons=sum(values[key] for key in greedy),
        greedy_seconds=time.perf_counter() - started,
    )
    if method == "optimal":
        search = _optimise(publication, previous, eligible, best, greedy, search, budget)
    publication.search = search
    return publication


def restore(
    tables: list[CountTable],
    k: int,
    ledger: pd.DataFrame,
    constraints: Sequence[Constraint] = (),
    *,
    latent: dict[str, float] | None = None,
    unprinted: dict[str, float] | None = None,
    guarded: Iterable[str] = (),
    keep: Iterable[str] = (),
    source: str = "cases_publiees.csv",
) -> Publication:
    """The publication the ``publication`` stage decided, rebuilt for a report stage.

    Values come from ``tables`` (rebuilt from the stage's inputs), statuses from ``ledger``
    (``key``, ``status``, ``value``: what was written in ``outputs/tables/<year>/``), so a report
    can only print what the stage published. Keys of ``ledger`` that ``tables`` do not have
    belong to other reports and are ignored. A key of the tables missing from the ledger, or a
    published value that differs, means the inputs changed after the publication: an error
    (rerun ``dvc repro``), never a silent second pattern.
    """
    values, _ = _collect(tables, k)
    latent, unprinted = dict(latent or {}), dict(unprinted or {})
    printed = {str(r.key): r for r in ledger.itertuples(index=False)}
    missing = sorted(key for key in values if key not in printed)
    differ = sorted(
        key
        for key, value in values.items()
        if key in printed
        and printed[key].status == PUBLISHED
        and abs(float(printed[key].value) - value) > TOL
    )
    if missing or differ:
        detail = ", ".join((missing + differ)[:5])
        raise PublicationRefused(
            f"{source} ne correspond plus aux données ({len(missing)} case(s) absente(s), "
            f"{len(differ)} valeur(s) différente(s) : {detail}). À faire : relancez "
            "« dvc repro » pour refaire l'étape publication avant les rapports."
        )
    status = {key: str(printed[key].status) for key in values}
    status.update(dict.fromkeys(latent, LATENT))
    status.update(dict.fromkeys(unprinted, UNPRINTED))
    values.update(latent)
    values.update(unprinted)
    sourced = [*_derive_constraints(tables), *((c, "identité explicite") for c in constraints)]
    return Publication(
        k,
        values,
        status,
        list(tables),
        _dedupe(c for c, _ in sourced),
        frozenset(keep),
        frozenset(guarded),
    )


def merge(*publications: Publication) -> Publication:
    """Several reports' publications of one year as the one publication a reader holds: the
    union of their cells and identities (a key shared by two reports must be one number with
    one status), for an audit of everything published at once."""
    if not publications:
        raise PublicationRefused("Aucune publication à réunir.")
    k = publications[0].k
    values: dict[str, float] = {}
    status: dict[str, str] = {}
    for pub in publications:
        if pub.k != k:
            raise PublicationRefused(
                f"Seuils différents entre publications réunies ({pub.k} et {k})."
            )
        for key, value in pub.values.items():
            if key in values and (abs(values[key] - value) > TOL or status[key] != pub.status[key]):
                raise PublicationRefused(
                    f"La clé « {key} » a deux valeurs ou deux statuts selon le rapport : une "
                    "même clé doit désigner un même nombre, publié de la même façon."
                )
            values[key] = value
            status[key] = pub.status[key]
    return Publication(
        k,
        values,
        status,
        [t for pub in publications for t in pub.tables],
        _dedupe(c for pub in publications for c in pub.constraints),
        frozenset().union(*(pub.kept for pub in publications)),
        frozenset().union(*(pub.guarded for pub in publications)),
    )


def _prune(publication: Publication, previous: Publication | None, attacker: _Attacker) -> None:
    """Publish again every secondary cell that the pattern does not need, largest first.

    The greedy search hides cells for one small cell at a time; a cell hidden early can turn
    out useless once later ones are hidden (the n-dispositifs margin of the combinations table
    masked six of its cells where three elsewhere did). A cell is published again when no
    small cell — printed « < k » or unprinted count of 1 to k−1 — becomes any narrower for a
    reader than it is with the cell hidden.
    """
    status, values, k = publication.status, publication.values, publication.k
    watched = _primary_keys(publication, previous) + sorted(
        key
        for pub in (publication, previous)
        if pub is not None
        for key, s in pub.status.items()
        if s in (LATENT, UNPRINTED) and 1 <= pub.values[key] < k
    )
    secondary = sorted(
        (key for key, s in status.items() if s == SECONDARY), key=lambda key: (-values[key], key)
    )
    for key in secondary:
        # Only the small cells linked to ``key`` can change when it is shown: the component of
        # any other is left as it is, so its interval too (the same decisions, fewer programs).
        linked = set(attacker.component(key)[0])
        affected = [t for t in watched if t in linked]
        before = {t: attacker.range(t) for t in affected}
        attacker.show(key, values[key])
        if all(_covers(*attacker.range(t), before[t]) for t in affected):
            status[key] = PUBLISHED
        else:
            attacker.hide(key, (float(k), math.inf))


# --- the optimal pattern -------------------------------------------------------------------------


def _optimise(
    publication: Publication,
    previous: Publication | None,
    eligible: set[str],
    best: _Attacker,
    greedy: set[str],
    search: Search,
    budget: Budget,
) -> Search:
    """Put the optimal pattern in place of the greedy one where it is protected and cheaper.

    The small cells fall into independent groups: those linked by identities when every
    allowed cell is hidden (a component of ``best``). No cell of one group can narrow or
    widen a small cell of another, so each group gets its own program (solved in turn, the
    smallest first, each within the same work ``budget``) and keeps, of its optimal and
    its greedy pattern, the cheaper — in the order of ``search.cost`` (persons then cells, or
    cells then persons); on a tie the greedy pattern stays. The whole pattern is then checked
    by the reader's linear programs (and, in the groups the optimum took, by the reader of whole
    numbers); should it fail, the greedy pattern is kept everywhere.

    The wall-clock safety net (``budget.safety_s``) is checked between groups and handed to
    HiGHS as its time limit: a group it stops, and every group after it, keep their greedy part,
    and a French warning goes to standard error.
    """
    started = time.perf_counter()
    deadline = None if budget.safety_s is None else started + budget.safety_s
    values = publication.values
    groups: dict[frozenset[str], list[tuple[str, tuple[float, float]]]] = {}
    for target, need in _requirements(publication, previous, best):
        groups.setdefault(frozenset(best.component(target)[0]), []).append((target, need))
    chosen: set[str] = set(greedy - set().union(*groups))  # none: every greedy cell is in one
    found: set[str] = set()
    improved: list[tuple[str, tuple[float, float]]] = []  # needs of groups the optimum took
    endings: list[str] = []
    solves = cuts = proven = unfinished = 0
    for keys, needs in sorted(groups.items(), key=lambda g: (len(g[0]), g[1])):
        greedy_part = greedy & keys
        if unfinished or (deadline is not None and time.perf_counter() >= deadline):
            pattern, solver, n_solves, n_cuts = None, "safety net", 0, 0
        else:
            pattern, solver, n_solves, n_cuts = _optimal_pattern(
                publication,
                previous,
                eligible,
                best,
                needs,
                search.cost,
                budget,
                greedy_part,
                deadline,
            )
        solves, cuts = solves + n_solves, cuts + n_cuts
        endings.append(solver)
        proven += solver in ("optimal", "greedy optimal")
        unfinished += solver == "safety net"
        if pattern is None:
            chosen |= greedy_part
            if solver == "greedy optimal":
                found |= greedy_part
            continue
        found |= pattern
        cheaper = _price(pattern, values, search.cost) < _price(greedy_part, values, search.cost)
        chosen |= pattern if cheaper else greedy_part
        improved += needs if cheaper else []
    if chosen != greedy:
        _apply(publication, eligible, chosen)
        needs = [need for group in groups.values() for need in group]
        if (
            _exposed(publication, previous, needs)
            or _exposed(publication, previous, improved, whole=True)
            or not _price(chosen, values, search.cost) < _price(greedy, values, search.cost)
        ):
            chosen = greedy
    _apply(publication, eligible, chosen)
    if unfinished:
        print(
            f"Avertissement : la recherche du masquage optimal a dépassé son filet de sécurité "
            f"({french_number(budget.safety_s)} s d'horloge) : {unfinished} groupe(s) de petites "
            f"cases sur {len(groups)} gardent le masquage glouton (protégé, mais qui dépend de la "
            "vitesse de la machine : deux exécutions peuvent différer). À faire : relancez sur "
            "une machine moins chargée, ou réduisez report.disclosure_search.nodes.",
            file=sys.stderr,
        )
    failed = [e for e in endings if e not in ("optimal", "greedy optimal", "work limit")]
    return Search(
        requested=search.requested,
        method="greedy" if chosen == greedy else "optimal",
        cost=search.cost,
        greedy_cells=search.greedy_cells,
        greedy_persons=search.greedy_persons,
        optimal_cells=None if failed else len(found),
        optimal_persons=None if failed else sum(values[key] for key in found),
        solver="safety net"
        if unfinished
        else failed[0]
        if failed
        else "optimal"
        if proven == len(groups)
        else "work limit",
        groups=len(groups),
        proven=proven,
        master_solves=solves,
        cuts=cuts,
        unfinished=unfinished,
        greedy_seconds=search.greedy_seconds,
        optimal_seconds=time.perf_counter() - started,
    )


def _price(pattern: set[str], values: dict[str, float], cost: str) -> tuple[float, float]:
    """What a pattern costs, in the order of ``cost``: (persons, cells) or (cells, persons)."""
    persons, cells = sum(values[key] for key in pattern), float(len(pattern))
    return (persons, cells) if cost == "persons" else (cells, persons)


def _apply(publication: Publication, eligible: set[str], pattern: set[str]) -> None:
    """Make ``pattern`` the secondary cells (every other eligible cell published)."""
    for key in eligible:
        publication.status[key] = SECONDARY if key in pattern else PUBLISHED


def _requirements(
    publication: Publication, previous: Publication | None, best: _Attacker
) -> list[tuple[str, tuple[float, float]]]:
    """Each small cell with the interval a reader must not be able to narrow: what its label
    says (1..k−1), or, when no allowed suppression can leave that much (published zeros), the
    widest interval that hiding every allowed cell leaves — the greedy search's stopping rule
    and :func:`audit`'s ``protected`` or ``inevitable``."""
    needs = []
    for target in _primary_keys(publication, previous):
        rng = _target_range(target, publication, previous)
        widest = best.range(target)
        needs.append((target, rng if _covers(*widest, rng) else widest))
    return needs


def _exposed(
    publication: Publication,
    previous: Publication | None,
    needs: list[tuple[str, tuple[float, float]]],
    whole: bool = False,
) -> list[str]:
    """The small cells whose interval, for a reader of the current pattern, misses its need;
    with ``whole``, also those that a reader who knows that persons are whole narrows
    (:meth:`_Attacker.reaches`; a fractional or infinite end, that of an inevitable cell, is
    left to the linear programs)."""
    attacker = _Attacker.of(publication, previous)
    exposed = []
    for target, need in needs:
        narrowed = not _covers(*attacker.range(target), need)
        if whole and not narrowed:
            narrowed = any(
                not attacker.reaches(target, end, down)
                for down, end in ((True, need[0]), (False, need[1]))
                if not math.isinf(end) and abs(end - round(end)) <= TOL
            )
        if narrowed:
            exposed.append(target)
    return exposed


def _exposed_by(
    publication: Publication,
    previous: Publication | None,
    eligible: set[str],
    pattern: set[str],
    needs: list[tuple[str, tuple[float, float]]],
    whole: bool = False,
) -> list[str]:
    """:func:`_exposed` for ``pattern`` as the secondary cells; the status is left as it was."""
    saved = dict(publication.status)
    _apply(publication, eligible, pattern)
    try:
        return _exposed(publication, previous, needs, whole)
    finally:
        publication.status.clear()
        publication.status.update(saved)


def _optimal_pattern(
    publication: Publication,
    previous: Publication | None,
    eligible: set[str],
    best: _Attacker,
    needs: list[tuple[str, tuple[float, float]]],
    cost: str,
    budget: Budget = DEFAULT_BUDGET,
    greedy: set[str] | None = None,
    deadline: float | None = None,
) -> tuple[set[str] | None, str, int, int]:
    """The cheapest protected pattern: a mixed-integer program solved by HiGHS.

    **Formulation.** The protection-level model of secondary suppression (Fischetti and
    Salazar-González, *Mathematical Programming* 91, 2001), written out in full rather than
    decomposed, as the report's tables are small. A binary ``x_c`` per cell ``c`` that may be
    hidden (:func:`_eligible`) says it is masked. A small cell ``t`` is protected when a reader's
    interval still reaches both ends ``e`` of what it must keep (see :func:`_requirements`):
    for the lower end, *some* table ``y`` that the reader cannot rule out has ``y_t ≤ e``; for
    the upper end, some has ``y_t ≥ e``. So the program holds, for each small cell and each end
    (an end the true value reaches needs nothing: the true table is one such table),
    a copy ``y`` of the quantities of the cell's component (the keys the identities link to it
    when every allowed cell is hidden) with

    * every identity (table margins, explicit identities, last year's), published values as
      constants;
    * the bounds the engine gives hidden quantities: « < k » in [1, k−1], « s » at least k,
      latent counts in [0, k−1], unprinted counts at least 0, a key of both years within
      both labels;
    * ``y`` continuous, as in the engine's reader (its linear programs); see the cuts for
      whole numbers;
    * for a cell that may be hidden: ``y_c`` equal to its value when ``x_c = 0``, at least k
      (or its label) when ``x_c = 1``: ``y_c + (v_c − L_c) x_c ≥ v_c`` and
      ``y_c − (U_c − v_c) x_c ≤ v_c``; unbounded labels are capped at ``v_c + M``, ``M`` the
      largest count of the publication plus k (a cap only narrows the reader, so it can only
      make the program ask for more suppression, never for less protection).

    **Objective** (``cost``): with ``"persons"``, the sum of the counts of the hidden cells,
    plus ``1/(n+1)`` per cell as a tie-break (fewer cells among equal persons; n candidate
    cells, counts being integers, it never outweighs one person); with ``"cells"``, the number
    of cells plus the persons scaled under one cell. Persons rather than cells by default:
    what a reader loses is the information in the masked figures, and a masked count of 421
    persons hides more of the report than a masked 8 (the « information loss proportional to
    the cell value » of τ-ARGUS and of Fischetti and Salazar-González's experiments); counting
    cells would mask a large margin to spare two small cells.

    **Ceiling.** With ``greedy`` (the greedy pattern of these small cells), the objective must
    be strictly below its cost: the search prunes every branch that cannot beat it, any pattern
    found in time is an improvement, and an infeasible program proves the greedy pattern
    optimal (``"greedy optimal"``; it is then the caller's to keep).

    **Cuts** (the Benders-like loop). Every solution is checked by the engine's own reader
    (:class:`_Attacker`, the linear programs of :func:`audit`) and by a reader who knows that
    persons are whole (:meth:`_Attacker.reaches`, integer programs): an optimal pattern sits on
    the edge where the two can differ (identities across tables are not totally unimodular:
    the make-up of « autres combinaisons » can leave « 3 dispositifs » ≤ 3 in whole numbers
    while the relaxation reaches 4). Should a small cell be exposed to either, the cut « at
    least one more of the cells that may be hidden in its component » is added and the program
    solved again. The cut is valid for both readers: hiding fewer cells never widens a
    reader's interval, so any pattern protecting the cell masks a cell outside the rejected
    one. After :data:`WHOLE_AFTER` patterns rejected by the reader of whole numbers alone, the
    copies ``y`` are made integer (the exact model for that reader; slower — the copy of an
    inevitable cell whose widest interval has a fractional end stays continuous). The master
    with valid cuts is a relaxation of the whole-number model, so a solution that passes both
    readers is optimal for it.

    **Budget** (deterministic): each solve may explore ``budget.nodes`` branch-and-bound nodes
    (HiGHS ``mip_max_nodes``; it then returns the best pattern it holds, or none), and the loop
    may solve ``budget.solves`` times; beyond, the search ends ``"work limit"`` with no pattern
    (the caller keeps the greedy one). A pattern found within the node limit is checked like any
    other and kept only if it passes both readers. ``deadline`` (a :func:`time.perf_counter`
    value) is the wall-clock safety net only: past it, or when HiGHS stops on it, the search
    ends ``"safety net"`` with no pattern.

    Returns the pattern (None if none was found), how the search ended (``"optimal"``,
    ``"greedy optimal"``, ``"work limit"``, ``"infeasible"``, ``"no pattern"``,
    ``"safety net"``), the number of solves and of cuts.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    values = dict(previous.values) if previous is not None else {}
    values.update(publication.values)
    k = publication.k
    big = max(values.values(), default=0.0) + k
    components = {target: best.component(target) for target, _ in needs}
    candidates = sorted({key for keys, _ in components.values() for key in keys if key in eligible})
    n = len(candidates)
    position = {key: i for i, key in enumerate(candidates)}
    if cost == "persons":
        objective = [values[key] + 1.0 / (n + 1) for key in candidates]
        step = 1.0 / (n + 1)  # the least strict improvement: one cell fewer, same persons
    else:
        scale = sum(values[key] for key in candidates) + 1.0
        objective = [1.0 + values[key] / scale for key in candidates]
        step = 1.0 / scale  # one person fewer, same cells
    lower, upper, whole = [0.0] * n, [1.0] * n, [1] * n
    data: list[float] = []
    row_of: list[int] = []
    col_of: list[int] = []
    low: list[float] = []
    high: list[float] = []

    def add_row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        for col, coef in entries:
            data.append(coef)
            row_of.append(len(low))
            col_of.append(col)
        low.append(lo)
        high.append(hi)

    for target, need in needs:
        keys, rows = components[target]
        rows = sorted(rows, key=lambda r: sorted(best.coefs[r].items()))
        for down, end in ((True, need[0]), (False, need[1])):
            reached = values[target] <= end + TOL if down else values[target] >= end - TOL
            if math.isinf(end) or reached or not rows:  # the true table reaches it
                continue
            column: dict[str, int] = {}
            integral = int(abs(end - round(end)) <= TOL)  # else an inevitable, fractional end
            if integral:
                end = round(end)
            for key in keys:
                column[key] = len(lower)
                lo, hi = best.bounds[key]
                hi = min(hi, values[key] + big)
                if key == target and down:
                    hi = end
                elif key == target:
                    lo = end
                lower.append(lo)
                upper.append(hi)
                whole.append(integral)
                if key in position:
                    v = values[key]
                    add_row([(column[key], 1.0), (position[key], v - lo)], v, math.inf)
                    add_row([(column[key], 1.0), (position[key], -(hi - v))], -math.inf, v)
            for r in rows:
                entries, rhs = [], 0.0
                for key, coef in best.coefs[r].items():
                    if key in column:
                        entries.append((column[key], coef))
                    else:
                        rhs -= coef * best.known[key]
                add_row(entries, rhs, rhs)
    n_vars = len(lower)
    c = np.zeros(n_vars)
    c[:n] = objective
    relaxed = np.zeros(n_vars)  # the reader's tables continuous: the engine's own reader
    relaxed[:n] = 1
    integrality = relaxed
    cuts: list[set[str]] = []
    solves = gaps = 0
    if n_vars == 0:  # nothing to hide, nothing that could be: the empty pattern, if it protects
        empty = not _exposed_by(publication, previous, eligible, set(), needs)
        return (set(), "optimal", 0, 0) if empty else (None, "infeasible", 0, 0)
    if greedy is not None:  # strictly cheaper than the greedy pattern
        ceiling = sum(objective[position[key]] for key in greedy if key in position) - step / 2
        add_row([(i, objective[i]) for i in range(n)], -math.inf, ceiling)
    while True:
        if solves >= budget.solves:
            return None, "work limit", solves, len(cuts)
        options: dict[str, Any] = {"mip_rel_gap": 1e-7, "node_limit": budget.nodes}
        if deadline is not None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None, "safety net", solves, len(cuts)
            options["time_limit"] = remaining
        cut_rows = [[(position[key], 1.0) for key in sorted(cut)] for cut in cuts]
        n_rows = len(low) + len(cut_rows)
        cut_data = [coef for entries in cut_rows for _, coef in entries]
        cut_row = [len(low) + i for i, entries in enumerate(cut_rows) for _ in entries]
        cut_col = [col for entries in cut_rows for col, _ in entries]
        matrix = coo_matrix(
            (data + cut_data, (row_of + cut_row, col_of + cut_col)), shape=(n_rows, n_vars)
        ).tocsr()
        constraints = (
            LinearConstraint(
                matrix, np.array(low + [1.0] * len(cuts)), np.array(high + [math.inf] * len(cuts))
            )
            if n_rows
            else None
        )
        with _native_output_silenced():
            res = milp(
                c,
                integrality=integrality,
                bounds=Bounds(np.array(lower), np.array(upper)),
                constraints=constraints,
                options=options,
            )
        solves += 1
        if res.status == 1 and res.message.startswith("Time limit"):  # the safety net, not work
            return None, "safety net", solves, len(cuts)
        if res.x is None:
            infeasible = "greedy optimal" if greedy is not None else "infeasible"
            ended = {2: infeasible}.get(res.status, "work limit" if res.status else "no pattern")
            return None, ended, solves, len(cuts)
        pattern = {key for key in candidates if res.x[position[key]] > 0.5}
        exposed = _exposed_by(publication, previous, eligible, pattern, needs, whole=True)
        if not exposed:
            return pattern, "optimal" if res.status == 0 else "work limit", solves, len(cuts)
        if integrality is relaxed and set(exposed) - set(
            _exposed_by(publication, previous, eligible, pattern, needs)
        ):
            gaps += 1  # only whole numbers narrow it
            if gaps >= WHOLE_AFTER:
                integrality = np.array(whole)
        for target in exposed:
            reach = {key for key in components[target][0] if key in eligible} - pattern
            if not reach:
                return None, "infeasible", solves, len(cuts)
            cuts.append(reach)


def audit(publication: Publication, previous: Publication | None = None) -> pd.DataFrame:
    """What a reader can deduce about every small cell of this year and of ``previous``.

    One row per key that is primary in either publication: ``lo``/``hi`` (the interval a reader
    deduces from all published values, all identities and the labels), ``protected`` (the
    interval covers [1, k−1]: nothing learnt beyond « < k »), ``inevitable`` (not protected, not
    recovered exactly, but no allowed secondary suppression could widen the interval),
    ``current`` (the key belongs to this year's publication). The intervals are what a reader
    can deduce anyway; still, do not publish the audit of a publication that fails it.
    """
    _check_previous(publication.values, previous)
    attacker = _Attacker.of(publication, previous)
    best = _Attacker.of(publication, previous, extra_hidden=_eligible(publication, previous))
    rows = []
    for key in _primary_keys(publication, previous):
        rng = _target_range(key, publication, previous)
        lo, hi = attacker.range(key)
        protected = _covers(lo, hi, rng)
        inevitable = False
        if not protected and hi - lo > TOL:
            inevitable = _covers(lo, hi, best.range(key))
        current = key in publication.status
        source = publication if current or previous is None else previous
        rows.append(
            {
                "key": key,
                "status": source.status[key],
                "lo": lo,
                "hi": hi,
                "protected": protected,
                "inevitable": inevitable,
                "current": current,
            }
        )
    columns = ["key", "status", "lo", "hi", "protected", "inevitable", "current"]
    return pd.DataFrame(rows, columns=columns)


def whole_number_audit(
    publication: Publication, previous: Publication | None = None
) -> pd.DataFrame:
    """:func:`audit` for a reader who knows that persons are whole: one row per small cell
    (``key``, ``protected``) — whether tables of whole numbers that the reader cannot rule out
    still reach both ends of what the cell must keep (1 and k−1; for an inevitable cell, the
    integral ends of the widest interval). The linear programs of :func:`audit` may be wider
    than what whole numbers allow; the optimal search checks its patterns against both."""
    best = _Attacker.of(publication, previous, extra_hidden=_eligible(publication, previous))
    needs = _requirements(publication, previous, best)
    exposed = set(_exposed(publication, previous, needs, whole=True))
    rows = [{"key": key, "protected": key not in exposed} for key, _ in needs]
    return pd.DataFrame(rows, columns=["key", "protected"])


def latent_exposure(publication: Publication, previous: Publication | None = None) -> pd.DataFrame:
    """What a reader can deduce of each unprinted count (:data:`LATENT`, :data:`UNPRINTED`) of
    1 to k−1 that is not guarded (``key``, ``value``, ``lo``, ``hi``, ``exact``): the residual
    risk of a grouped category, for the methods annex."""
    attacker = _Attacker.of(publication, previous)
    rows = []
    for key, status in sorted(publication.status.items()):
        small = 1 <= publication.values[key] < publication.k
        if status in (LATENT, UNPRINTED) and small and key not in publication.guarded:
            lo, hi = attacker.range(key)
            value = publication.values[key]
            rows.append({"key": key, "value": value, "lo": lo, "hi": hi, "exact": hi - lo <= TOL})
    return pd.DataFrame(rows, columns=["key", "value", "lo", "hi", "exact"])


# --- what a reader knows -------------------------------------------------------------------------

_RANGES: dict[tuple[Any, ...], tuple[float, float]] = {}
"""The interval of each linear program solved in this process, by the program's content (the
target's column, the identities' matrix and right-hand side, the bounds): the same program
gives the same interval (HiGHS is deterministic), so asking it again is useless. The readers of
the successive patterns of a search, the final audit of the merged publication and the
whole-number checks ask most programs several times."""
_RANGES_MAX = 200_000


def solved_intervals(since: frozenset[tuple[Any, ...]] = frozenset()) -> dict[Any, Any]:
    """The linear programs this process has solved (:data:`_RANGES`), those of ``since`` aside:
    what a worker process hands back with its group's result (:mod:`.workers`)."""
    return {content: result for content, result in _RANGES.items() if content not in since}


def remember_intervals(solved: dict[Any, Any]) -> None:
    """Add the intervals another process solved to this process's memo: the stage's audit of
    the whole publication then asks them again as the run in one process does, instead of
    solving again the programs of the workers (the same program gives the same interval)."""
    if len(_RANGES) + len(solved) > _RANGES_MAX:
        _RANGES.clear()
    _RANGES.update(solved)


class _Attacker:
    """A reader's knowledge as a system of linear equalities and bounds over hidden quantities.

    Only the connected component of a target (hidden keys linked through identities) enters its
    linear programs, so a report of many small tables stays fast; results are cached per
    component, and hiding a key only invalidates the components it joins. The components
    themselves are kept until the next :meth:`hide` or :meth:`show` (one search per component,
    not per question), and the linear programs are memoised by their content across readers
    (:data:`_RANGES`): the readers of successive patterns ask most of them again.
    """

    def __init__(
        self,
        constraints: list[Constraint],
        known: dict[str, float],
        bounds: dict[str, tuple[float, float]],
    ) -> None:
        self.constraints_as_given = constraints
        self.coefs: list[dict[str, float]] = []
        for c in constraints:
            coef: dict[str, float] = {c.total: 1.0}
            for part in c.parts:
                coef[part] = coef.get(part, 0.0) - 1.0
            self.coefs.append({key: v for key, v in coef.items() if v != 0})
        self.by_key: dict[str, list[int]] = {}
        for index, coef in enumerate(self.coefs):
            for key in coef:
                self.by_key.setdefault(key, []).append(index)
        self.known = dict(known)
        self.bounds = dict(bounds)
        self._cache: dict[tuple[str, frozenset[str]], tuple[float, float]] = {}
        self._components: dict[str, tuple[list[str], list[int]]] = {}

    @classmethod
    def of(
        cls,
        publication: Publication,
        previous: Publication | None,
        extra_hidden: Iterable[str] = (),
    ) -> _Attacker:
        """The reader of ``publication`` (and of ``previous``); ``extra_hidden`` are published
        cells assumed hidden as secondary (to compute the widest interval reachable)."""
        pubs = [publication] if previous is None else [publication, previous]
        labels: dict[str, list[tuple[float, float]]] = {}
        known: dict[str, float] = {}
        for pub in pubs:
            for key, status in pub.status.items():
                if status == PUBLISHED:
                    known[key] = pub.values[key]
                else:
                    labels.setdefault(key, []).append(_label_range(status, pub.k))
        for key in extra_hidden:
            if key not in known or (previous is not None and previous.status.get(key) == PUBLISHED):
                continue
            del known[key]
            labels.setdefault(key, []).append((float(publication.k), math.inf))
        for key in known:
            labels.pop(key, None)
        bounds = {
            key: (max(r[0] for r in ranges), min(r[1] for r in ranges))
            for key, ranges in labels.items()
        }
        constraints = _dedupe(
            [*publication.constraints, *(previous.constraints if previous else [])]
        )
        return cls(constraints, known, bounds)

    def hidden_keys(self) -> set[str]:
        return set(self.bounds)

    def hide(self, key: str, bound: tuple[float, float]) -> None:
        del self.known[key]
        self.bounds[key] = bound
        self._components.clear()

    def show(self, key: str, value: float) -> None:
        del self.bounds[key]
        self.known[key] = value
        self._components.clear()

    def component(self, target: str) -> tuple[list[str], list[int]]:
        """Hidden keys linked to ``target`` through identities, and those identities (the
        same for every hidden key of the component: kept for each until the next change).
        The lists are shared: do not modify them."""
        if target in self._components:
            return self._components[target]
        seen = {target}
        rows: set[int] = set()
        queue = deque([target])
        while queue:
            key = queue.popleft()
            for index in self.by_key.get(key, ()):
                if index in rows:
                    continue
                rows.add(index)
                for other in self.coefs[index]:
                    if other not in self.known and other not in seen:
                        seen.add(other)
                        queue.append(other)
        found = sorted(seen), sorted(rows)
        if target in self.bounds:  # a published target is no member of the component it reaches
            self._components.update(dict.fromkeys(found[0], found))
        return found

    def system(self, keys: list[str], rows: list[int]) -> tuple[csr_matrix, np.ndarray]:
        """The identities ``rows`` over the hidden ``keys``: matrix and right-hand side."""
        from scipy.sparse import csr_matrix

        position = {key: n for n, key in enumerate(keys)}
        data, row_index, col_index = [], [], []
        rhs = np.zeros(len(rows))
        for r, index in enumerate(rows):
            for key, coef in self.coefs[index].items():
                if key in position:
                    data.append(coef)
                    row_index.append(r)
                    col_index.append(position[key])
                else:
                    rhs[r] -= coef * self.known[key]
        matrix = csr_matrix((data, (row_index, col_index)), shape=(len(rows), len(keys)))
        return matrix, rhs

    def range(self, target: str) -> tuple[float, float]:
        """The interval a reader can deduce for ``target`` (two LPs, cached per component)."""
        if target in self.known:
            return self.known[target], self.known[target]
        keys, rows = self.component(target)
        cache_key = (target, frozenset(keys))
        if cache_key in self._cache:
            return self._cache[cache_key]
        if not rows:
            result = self.bounds[target]
        else:
            position = {key: n for n, key in enumerate(keys)}
            matrix, rhs = self.system(keys, rows)
            bounds = [
                (lo, None if math.isinf(hi) else hi) for lo, hi in (self.bounds[k] for k in keys)
            ]
            content = (
                position[target],
                matrix.shape,
                matrix.indptr.tobytes(),
                matrix.indices.tobytes(),
                matrix.data.tobytes(),
                rhs.tobytes(),
                tuple(bounds),
            )
            if content in _RANGES:
                result = self._cache[cache_key] = _RANGES[content]
                return result
            from scipy.optimize import linprog

            lo_hi = []
            for sense in (1.0, -1.0):
                objective = np.zeros(len(keys))
                objective[position[target]] = sense
                res = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=bounds, method="highs")
                if res.status == 3:  # unbounded: only a maximum can be
                    lo_hi.append(math.inf)
                elif res.status != 0:
                    raise RuntimeError(
                        f"programme linéaire sans solution pour « {target} » ({res.message}) : "
                        "valeurs ou identités incohérentes"
                    )
                else:
                    lo_hi.append(sense * res.fun)
            result = (lo_hi[0], lo_hi[1])
            if len(_RANGES) >= _RANGES_MAX:
                _RANGES.clear()
            _RANGES[content] = result
        self._cache[cache_key] = result
        return result

    def reaches(self, target: str, end: float, down: bool) -> bool:
        """Whether a table of whole numbers that the reader cannot rule out has ``target`` at
        most ``end`` (``down``) or at least ``end``: :meth:`range` for a reader who knows that
        persons are whole (an integer program; the intervals of :meth:`range` are those of the
        continuous relaxation, sometimes wider)."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        if target in self.known:
            value = self.known[target]
            return value <= end + TOL if down else value >= end - TOL
        keys, rows = self.component(target)
        lower = np.array([self.bounds[key][0] for key in keys])
        upper = np.array([self.bounds[key][1] for key in keys])
        at = keys.index(target)
        if down:
            upper[at] = min(upper[at], math.floor(end + TOL))
        else:
            lower[at] = max(lower[at], math.ceil(end - TOL))
        if lower[at] > upper[at]:
            return False
        constraints = None
        if rows:
            matrix, rhs = self.system(keys, rows)
            constraints = LinearConstraint(matrix, rhs, rhs)
        res = milp(
            np.zeros(len(keys)),
            integrality=np.ones(len(keys)),
            bounds=Bounds(lower, upper),
            constraints=constraints,
        )
        return res.status == 0


@contextlib.contextmanager
def _native_output_silenced() -> Iterator[None]:
    """HiGHS (C++) may print debugging lines on the process's standard output when a node
    limit stops a search (« HighsMipSolverData::transformNewIntegerFeasibleSolution… »): the
    stage's output is French and says what the analyst must know, so file descriptor 1 points to
    /dev/null for the solve (Python's own ``print`` is not used inside)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real descriptor (captured output): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _pick(
    attacker: _Attacker,
    target: str,
    candidates: set[str],
    totals: dict[str, int],
    values: dict[str, float],
) -> str | None:
    """The next cell to hide to widen ``target``'s interval, or None if nothing is left.

    Identities where one hidden cell stands alone pin it (a total minus published parts): a cell
    that sits in several of them breaks several at once (the fourth corner of a rectangle).
    Without such identities, the narrowing comes from bounds: hide near the target.
    """
    keys, rows = attacker.component(target)
    hidden = set(keys)
    pinning = [r for r in rows if sum(1 for key in attacker.coefs[r] if key in hidden) == 1]
    score: dict[str, int] = {}
    for r in pinning:
        for key in attacker.coefs[r]:
            if key in candidates:
                score[key] = score.get(key, 0) + 1
    if score:
        return min(score, key=lambda key: (totals.get(key, 0), -score[key], values[key], key))
    distance = {target: 0}
    queue = deque([target])
    while queue:
        key = queue.popleft()
        for r in attacker.by_key.get(key, ()):
            for other in attacker.coefs[r]:
                if other in hidden and other not in distance:
                    distance[other] = distance[key] + 1
                    queue.append(other)
    near: dict[str, int] = {}
    for r in rows:
        d = min(distance[key] for key in attacker.coefs[r] if key in hidden)
        for key in attacker.coefs[r]:
            if key in candidates:
                near[key] = min(near.get(key, d), d)
    if not near:
        return None
    return min(near, key=lambda key: (totals.get(key, 0), near[key], values[key], key))


# --- building and checking -----------------------------------------------------------------------


def _key(raw: Any) -> str | None:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw is pd.NA:
        return None
    return str(raw)


def _number_text(value: Any) -> str:
    """Text of a cell that is not a protected count (nights, a percentage)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–" if value is None else str(value)
    if math.isnan(number) or number.is_integer():
        return french_number(number)
    return french_number(number, 1)


def _label_range(status: str, k: int) -> tuple[float, float]:
    if status == LATENT:
        return 0.0, float(k - 1)
    if status == UNPRINTED:
        return 0.0, math.inf
    return (1.0, float(k - 1)) if status == PRIMARY else (float(k), math.inf)


def _covers(lo: float, hi: float, rng: tuple[float, float]) -> bool:
    return lo <= rng[0] + TOL and hi >= rng[1] - TOL


def _published(publication: Publication | None) -> set[str]:
    if publication is None:
        return set()
    return {key for key, status in publication.status.items() if status == PUBLISHED}


def _eligible(publication: Publication, previous: Publication | None) -> set[str]:
    """Published cells that secondary suppression may hide, and whose hiding can help."""
    sensitive = _sensitivity(publication.tables)
    known_before = _published(previous)
    return {
        key
        for key, status in publication.status.items()
        if status == PUBLISHED
        and sensitive.get(key, False)
        and publication.values[key] >= publication.k
        and key not in known_before
        and key not in publication.kept
    }


def _target_range(
    key: str, publication: Publication, previous: Publication | None
) -> tuple[float, float]:
    """What the « < k » label(s) of a small cell say: the interval it must keep."""
    ranges = [
        _label_range(PRIMARY, pub.k)
        for pub in (publication, previous)
        if pub is not None and (pub.status.get(key) == PRIMARY or key in pub.guarded)
    ]
    return max(r[0] for r in ranges), min(r[1] for r in ranges)


def _primary_keys(publication: Publication, previous: Publication | None) -> list[str]:
    """Small cells to protect: the « < k » cells of both publications and their guarded
    unprinted counts of 1 to k−1 (latent counts bound them but are not targets, see
    :data:`LATENT`)."""
    keys: set[str] = set()
    for pub in (publication, previous):
        if pub is not None:
            keys |= {key for key, status in pub.status.items() if status == PRIMARY}
            keys |= {key for key in pub.guarded if 1 <= pub.values[key] < pub.k}
    return sorted(keys)


def _sensitivity(tables: Iterable[CountTable]) -> dict[str, bool]:
    """A key is protectable when every table that shows it is sensitive."""
    sensitive: dict[str, bool] = {}
    for table in tables:
        for _, _, key, _ in table.cells():
            if key is not None:
                sensitive[key] = sensitive.get(key, True) and table.sensitive
    return sensitive


def _collect(tables: Sequence[CountTable], k: int) -> tuple[dict[str, float], dict[str, bool]]:
    """Values of every key, checked: one value per key, integer person counts."""
    values: dict[str, float] = {}
    first_seen: dict[str, str] = {}
    for table in tables:
        if table.keys.shape != table.values.shape or not (
            table.keys.index.equals(table.values.index)
            and table.keys.columns.equals(table.values.columns)
        ):
            raise PublicationRefused(
                f"Tableau « {table.name} » : les clés n'ont pas la forme des valeurs "
                "(mêmes lignes et colonnes attendues)."
            )
        for i, j, key, raw in table.cells():
            if key is None:
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                value = math.nan
            if math.isnan(value):
                raise PublicationRefused(
                    f"La {table.where(i, j)} (clé « {key} ») n'a pas de valeur."
                )
            if key in values and abs(values[key] - value) > TOL:
                raise PublicationRefused(
                    f"La clé « {key} » vaut {french_number(values[key], 2)} dans le tableau "
                    f"« {first_seen[key]} » mais {french_number(value, 2)} dans la "
                    f"{table.where(i, j)} : une même clé doit désigner un même nombre."
                )
            values.setdefault(key, value)
            first_seen.setdefault(key, table.name)
    sensitive = _sensitivity(tables)
    for table in tables:
        for i, j, key, _ in table.cells():
            if key is None or not sensitive[key]:
                continue
            value = values[key]
            if value < 0 or not value.is_integer():
                raise PublicationRefused(
                    f"La {table.where(i, j)} (clé « {key} ») n'est pas un nombre entier de "
                    f"personnes ({french_number(value, 2)})."
                )
    in_sensitive = set().union(*(_keys_of(t) for t in tables if t.sensitive))
    for table in tables:
        if table.sensitive:
            continue
        for i, j, key, _ in table.cells():
            if key in in_sensitive and 0 < values[key] < k:
                raise PublicationRefused(
                    f"La {table.where(i, j)} (clé « {key} ») est publiée dans un tableau non "
                    f"sensible mais c'est un petit effectif d'un tableau de personnes."
                )
    return values, sensitive


def _keys_of(table: CountTable) -> set[str]:
    return {key for _, _, key, _ in table.cells() if key is not None}


def _derive_constraints(tables: Iterable[CountTable]) -> list[tuple[Constraint, str]]:
    """The additive identities a reader sees in a table (its total row and total column), each
    with where it comes from, in French, for error messages."""
    out: list[tuple[Constraint, str]] = []
    for table in tables:
        n_rows, n_cols = table.values.shape
        keys = [[_key(table.keys.iat[i, j]) for j in range(n_cols)] for i in range(n_rows)]
        if table.row_total is not None:
            r = _position(table.values.index, table.row_total, table.name, "ligne")
            for j in range(n_cols):
                parts = tuple(keys[i][j] for i in range(n_rows) if i != r and keys[i][j])
                total = keys[r][j]
                if total is not None and parts:
                    where = f"colonne « {table.values.columns[j]} » du tableau « {table.name} »"
                    out.append((Constraint(total, parts), where))
        if table.col_total is not None:
            c = _position(table.values.columns, table.col_total, table.name, "colonne")
            for i in range(n_rows):
                parts = tuple(keys[i][j] for j in range(n_cols) if j != c and keys[i][j])
                total = keys[i][c]
                if total is not None and parts:
                    where = f"ligne « {table.values.index[i]} » du tableau « {table.name} »"
                    out.append((Constraint(total, parts), where))
    return out


def _position(labels: pd.Index, label: str, table: str, what: str) -> int:
    matches = [n for n, value in enumerate(labels) if value == label]
    if len(matches) != 1:
        raise PublicationRefused(
            f"Tableau « {table} » : {what} de total « {label} » introuvable ou en double."
        )
    return matches[0]


def _dedupe(constraints: Iterable[Constraint]) -> list[Constraint]:
    seen: set[tuple[str, tuple[str, ...]]] = set()
    out = []
    for c in constraints:
        signature = (c.total, tuple(sorted(c.parts)))
        if signature not in seen:
            seen.add(signature)
            out.append(c)
    return out


def _check_constraints(
    constraints: Iterable[tuple[Constraint, str]],
    values: dict[str, float],
    previous: Publication | None,
) -> None:
    """A declared total that is not the sum of its parts would mislead the audit: refuse it."""
    everything = dict(previous.values) if previous is not None else {}
    everything.update(values)
    for c, where in constraints:
        missing = [key for key in (c.total, *c.parts) if key not in everything]
        if missing:
            raise PublicationRefused(
                f"L'identité « {c.total} = somme des parties » ({where}) cite des clés absentes "
                f"de tous les tableaux : {', '.join(missing)}."
            )
        total = everything[c.total]
        parts = sum(everything[key] for key in c.parts)
        if abs(total - parts) > TOL * max(1.0, abs(total)):
            raise PublicationRefused(
                f"Total non additif ({where}) : « {c.total} » vaut {french_number(total)} mais "
                f"ses parties font {french_number(parts)}. Une personne comptée dans plusieurs "
                "lignes ou colonnes, ou une colonne d'une autre année ? row_total/col_total "
                "exigent que le total soit la somme de toutes les autres cellules à clé ; sinon, "
                "déclarez les vraies identités par des Constraint explicites."
            )


def _check_previous(values: dict[str, float], previous: Publication | None) -> None:
    """A key shared with last year must be the same number, or the reader model is wrong."""
    if previous is None:
        return
    for key in sorted(values.keys() & previous.values.keys()):
        if abs(values[key] - previous.values[key]) > TOL:
            raise PublicationRefused(
                f"La clé « {key} » valait {french_number(previous.values[key], 2)} dans la "
                f"publication précédente et vaut {french_number(values[key], 2)} cette année : "
                "un chiffre révisé doit prendre une autre clé."
            )


def _where(key: str, publication: Publication, previous: Publication | None) -> str:
    for pub in (publication, previous):
        if pub is None:
            continue
        for table in pub.tables:
            for i, j, cell_key, _ in table.cells():
                if cell_key == key:
                    suffix = "" if pub is publication else " (publication précédente)"
                    return table.where(i, j) + suffix
    return f"quantité « {key} »"
