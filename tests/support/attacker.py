"""A linear-programming attacker of the published tables: can a hidden cell be recovered?

The reader holds every CSV table of the year and the ledger's keys (which name each cell's
quantity). From the tables themselves they write additive relations (Σ coef · value = 0; an
inequality a ≤ b becomes b − a − slack = 0 with a slack ≥ 0) and, for each hidden cell, solve two
linear programs (HiGHS, integers relaxed) for the values it can take.

It is written independently of :mod:`observatoire.disclosure`: it reads only the printed text
(through :mod:`tests.support.published`) and justifies every relation from the layout of the
tables, so a gap in the engine's own constraints or linear programs cannot hide itself. The only
package import is the vocabulary of ``observatoire.core.schema`` (the dispositif codes).
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
from scipy.optimize import linprog

from observatoire.core.dispositifs import DISPOSITIFS
from tests.support.published import (
    FLOWS,
    LONG_STAY,
    LONG_STAY_PARTS,
    SECONDARY_TEXT,
    Grid,
    parse_number,
)

__all__ = [
    "Reader",
    "Relation",
    "chain",
    "integers_left",
    "reader_view",
    "relations_from_tables",
    "value_intervals",
]

Relation = dict[str, float]


class Reader:
    """The relations an outsider can justify from the printed tables, and the unknowns they
    bring (auxiliary unknowns, « ~… », are ≥ 0)."""

    def __init__(self) -> None:
        self.relations: list[Relation] = []
        self.aux: set[str] = set()
        self.why: list[str] = []

    def equal(self, total: str, parts: list[str], why: str) -> None:
        coef: Relation = {total: 1.0}
        for part in parts:
            coef[part] = coef.get(part, 0.0) - 1.0
        self.relations.append({key: v for key, v in coef.items() if v})
        self.why.append(why)

    def at_most(self, small: str, big: list[str], why: str) -> None:
        """small ≤ Σ big, as Σ big − small − slack = 0 with a slack ≥ 0."""
        coef: Relation = {self.unknown(f"~écart:{small}≤{'+'.join(big)}"): 1.0}
        for key in big:
            coef[key] = coef.get(key, 0.0) - 1.0
        coef[small] = coef.get(small, 0.0) + 1.0
        self.relations.append({key: v for key, v in coef.items() if v})
        self.why.append(why)

    def unknown(self, name: str) -> str:
        self.aux.add(name)
        return name


def relations_from_tables(
    grids: list[Grid], partners: dict[str, dict[str, Any]], year: int
) -> Reader:
    """The relations a reader justifies from the ``grids`` published for ``year`` and the
    partners' dispositifs (auxiliary unknowns included)."""
    reader = Reader()
    keys = {key for g in grids for key in g.keys.to_numpy().ravel() if key is not None}

    # 1. Printed totals: every line of a table with a « Total » row or « total » column adds up.
    for g in grids:
        if g.total_row:
            rows = [r for r in g.keys.index if r != g.total_row]
            for col in g.keys.columns:
                parts = [g.keys.loc[r, col] for r in rows]
                if g.keys.loc[g.total_row, col] is None:
                    continue
                reader.equal(g.keys.loc[g.total_row, col], parts, f"{g.name}: colonne {col}")
        if g.total_col:
            cols = [c for c in g.keys.columns if c != g.total_col]
            for row in g.keys.index:
                parts = [g.keys.loc[row, c] for c in cols]
                reader.equal(g.keys.loc[row, g.total_col], parts, f"{g.name}: ligne {row}")

    # 2. A dispositif served by a single partner is that partner.
    by_disp: dict[str, list[str]] = {}
    for pid, spec in partners.items():
        by_disp.setdefault(spec["dispositif"], []).append(pid)
    for disp, pids in by_disp.items():
        total, part = (
            f"personnes|{year}|dispositif={disp}",
            f"personnes|{year}|partenaire={pids[0]}",
        )
        if len(pids) == 1 and {total, part} <= keys:
            reader.equal(total, [part], f"partenaire unique de {disp}")

    # 3. The time-in-service table's persons are the dispositif's persons (same key).

    # 4. Pathways: each row is a combination of services d'urgence et de jour, whose persons may
    # also have had a long stay (maison d'accueil, Housing First, or both), or « long stay only »;
    # a row of c services counts in class c of the number of services (0: long stay only, 3+);
    # « autres » hides an unknown composition. Each row's persons are in each of its services.
    prefix = f"personnes|{year}|parcours="
    others = prefix + "autres"
    rows = {
        key: key.removeprefix(prefix).split("+")
        for key in keys
        if key.startswith(prefix) and key != others
    }
    has_others = others in keys

    def row_class(codes: list[str]) -> str:
        return "0" if codes == [LONG_STAY] else ("3+" if len(codes) >= 3 else str(len(codes)))

    classes = ("0", "1", "2", "3+")
    if all(f"personnes|{year}|nb_services={c}" in keys for c in classes):
        share = {c: reader.unknown(f"~autres:{c}") for c in classes} if has_others else {}
        for c in classes:
            listed = [key for key, codes in rows.items() if row_class(codes) == c]
            extra = [share[c]] if has_others else []
            reader.equal(f"personnes|{year}|nb_services={c}", [*listed, *extra], f"classe {c}")
        if has_others:
            reader.equal(others, list(share.values()), "composition des autres combinaisons")
    disp_keys = {d: f"personnes|{year}|dispositif={d}" for d in DISPOSITIFS}
    if rows and all(key in keys for key in disp_keys.values()):
        # each row: without a long stay, with the maison d'accueil only, Housing First only, both
        split = {}
        for key, codes in rows.items():
            parts = (*LONG_STAY_PARTS, "les deux")
            if codes != [LONG_STAY]:
                parts = ("sans", *parts)
            split[key] = {part: reader.unknown(f"~{key}:{part}") for part in parts}
            reader.equal(key, list(split[key].values()), f"{key} : sans, MA, HF ou les deux")
        for d, total in disp_keys.items():
            in_others = []
            if has_others:
                in_others = [reader.unknown(f"~autres:utilise={d}")]
                reader.at_most(in_others[0], [others], f"autres combinaisons avec {d}")
            if d in LONG_STAY_PARTS:
                listed = [parts[p] for parts in split.values() for p in (d, "les deux")]
            else:
                listed = [key for key, codes in rows.items() if d in codes]
            reader.equal(total, [*listed, *in_others], f"combinaisons contenant {d}")
        street = f"personnes|{year}|dispositif=travail_rue"
        if prefix + "travail_rue" in keys and street in keys:  # never linked to other services
            reader.equal(street, [prefix + "travail_rue"], "travail de rue non relié")

    # 5. Inclusions: the network is at least each dispositif and at most their sum; per flow
    # status too; nested long-term thresholds; nested Housing First and returns cohorts.
    years = sorted({key.split("|")[1] for key in keys if key.startswith("personnes|")})
    for printed in years:
        network = f"personnes|{printed}|reseau"
        disps = [f"personnes|{printed}|dispositif={d}" for d in DISPOSITIFS]
        disps = [key for key in disps if key in keys]
        if network in keys and disps:
            reader.at_most(network, disps, f"réseau ≤ Σ dispositifs {printed}")
            for key in disps:
                reader.at_most(key, [network], f"dispositif ≤ réseau {printed}")
    for flow in FLOWS:
        network = f"personnes|{year}|flux={flow}"
        parts = [f"personnes|{year}|dispositif={d}|flux={flow}" for d in DISPOSITIFS]
        parts = [key for key in parts if key in keys]
        if network in keys and parts:
            reader.at_most(network, parts, f"flux {flow}: réseau ≤ Σ dispositifs")
            for key in parts:
                reader.at_most(key, [network], f"flux {flow}: dispositif ≤ réseau")
    nested = sorted(
        (int(key.rsplit("=", 1)[1]), key)
        for key in keys
        if key.startswith(f"personnes|{year}|longue_duree=")
    )
    for (_, low), (_, high) in itertools.pairwise(nested):
        reader.at_most(high, [low], "seuils de longue durée emboîtés")
    for what, parts in (("housing_first", ("", "|logees")), ("retours", ("",))):
        horizons = sorted(
            int(m.group(1))
            for key in keys
            if (m := re.fullmatch(rf"{what}\|{year}\|horizon=(\d+)", key))
        )
        for short, long in itertools.pairwise(horizons):
            for part in parts:
                small = f"{what}|{year}|horizon={long}{part}"
                reader.at_most(small, [f"{what}|{year}|horizon={short}{part}"], f"{what} emboîtés")

    # 6. Age bands add up (18–25 = 18–21 + 22–25); a month's persons of a dispositif are at
    # most its persons of the year.
    youth = f"personnes|{year}|age=18-25"
    bands = [f"personnes|{year}|age=18-21", f"personnes|{year}|age=22-25"]
    if youth in keys and set(bands) <= keys:
        reader.equal(youth, bands, "18–25 ans = 18–21 + 22–25")
    for key in keys:
        if m := re.fullmatch(r"personnes\|(\d{4})\|mois=[\d-]+\|(dispositif=\w+)", key):
            whole = f"personnes|{m.group(1)}|{m.group(2)}"
            if whole in keys:
                reader.at_most(key, [whole], "un mois ≤ l'année")
    return reader


def value_intervals(
    reader: Reader, known: dict[str, float], bounds: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """For each quantity of ``bounds``, the least and greatest value compatible with the
    relations, the known values and the bounds (relaxed linear programs)."""
    unknown = sorted({key for r in reader.relations for key in r if key not in known})
    stray = [key for key in unknown if key not in bounds and key not in reader.aux]
    assert not stray, f"relations citant une quantité ni publiée ni masquée : {stray}"
    position = {key: n for n, key in enumerate(unknown)}
    matrix = np.zeros((len(reader.relations), len(unknown)))
    rhs = np.zeros(len(reader.relations))
    for r, relation in enumerate(reader.relations):
        for key, coef in relation.items():
            if key in position:
                matrix[r, position[key]] = coef
            else:
                rhs[r] -= coef * known[key]
        if not any(key in position for key in relation):
            assert abs(rhs[r]) < 1e-6, f"relation fausse sur les chiffres publiés : {reader.why[r]}"
    lp_bounds = [bounds.get(key, (0.0, math.inf)) for key in unknown]
    lp_bounds = [(lo, None if math.isinf(hi) else hi) for lo, hi in lp_bounds]
    out = {}
    for target, own in bounds.items():
        if target not in position:
            out[target] = own
            continue
        ends = []
        for sense in (1.0, -1.0):
            objective = np.zeros(len(unknown))
            objective[position[target]] = sense
            res = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=lp_bounds, method="highs")
            assert res.status in (0, 3), (
                f"relations incompatibles avec les chiffres : {res.message}"
            )
            ends.append(math.inf if res.status == 3 else sense * res.fun)
        out[target] = (ends[0], ends[1])
    return out


def reader_view(
    cells: dict[str, str], k: int, secondary_floor: float
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Published values, and the bounds the labels give: « < k » is 1…k−1, « s » is at least
    ``secondary_floor`` (0 for a naive reader; k for one who knows why cells are masked)."""
    known, bounds = {}, {}
    for key, text in cells.items():
        if text == f"< {k}":
            bounds[key] = (1.0, float(k - 1))
        elif text == SECONDARY_TEXT:
            bounds[key] = (secondary_floor, math.inf)
        else:
            known[key] = parse_number(text)
    return known, bounds


def chain(reader: Reader, target: str, known: dict[str, float]) -> list[str]:
    """The relations linked to ``target`` through unknowns: where a deduction comes from."""
    seen, rows, queue = {target}, set(), [target]
    while queue:
        key = queue.pop()
        for n, relation in enumerate(reader.relations):
            if key in relation and n not in rows:
                rows.add(n)
                new = [k for k in relation if k not in known and k not in seen]
                seen.update(new)
                queue.extend(new)
    return sorted({reader.why[n] for n in rows})


def integers_left(interval: tuple[float, float], k: int) -> list[int]:
    """The values 1…k−1 that ``interval`` still allows (to within 1e-6)."""
    lo, hi = interval
    return [n for n in range(1, k) if lo - 1e-6 <= n <= hi + 1e-6]
