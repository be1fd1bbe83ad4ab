"""The violence barometer's counts as an audited publication.

Why: an incident involves persons (its author, its victim), a survey respondent is a worker of a
named service and role, a testimony a person: a small count there points at someone (« two
physical incidents at the shelter in March »). So every count the barometer prints — incidents
by service, type, direction, severity, consequence, context, month and hour; exclusions and
their links; respondents by service × role and their answers; testimonies per theme and their
co-occurrences — is a :class:`CountTable` cell with a quantity key
``barometre|<Y>|<table>|<row>|<col>`` and goes through the ``publication`` stage with everything
else the year publishes: under k it is printed « < k », « s » when masked so that it cannot be
recomputed. The identities a reader knows are declared: incidents of the year = sum over
services, and = sum over the directions (or severities) when every incident has one; a theme's
testimonies = the sum over the roles (the « total » column); and, since the report prints each
service's opening hours and closing window beside the window's counts (Table 8), the window's
incidents = the sum of the incidents by hour over the window, those of the other open hours =
the sum over the other open hours (regression: without them, three « < 5 » hours of the day
centre added up to 55 − 43 = 12 = 4 + 4 + 4, and a role's « < 5 » was its theme's total minus
the other roles); the co-occurrences' diagonal is the theme's total, and the table is symmetric
(a « s » total was printed on the diagonal) — all found by the independent attack,
tests/support/field_attacker.py). The survey's answers by function and by service add up to
the answers of all respondents, and a group's « oui » + « non » (+ its blanks) are its
respondents; the shelter's nights with and without refusal split the year two ways
(:func:`unprinted_identities`, through unprinted counts: the blanks, the nights outside winter).

Rates, shares and model estimates are not counts: the report prints one only when the cells it
is derived from are published (:mod:`observatoire.reports.barometre.report`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.suppression import (
    DEFAULT_BUDGET,
    Budget,
    Constraint,
    CountTable,
    Publication,
    protect,
)

__all__ = [
    "BAROMETRE_FOLDER",
    "PREFIX",
    "TITLES",
    "barometre_inputs",
    "build_barometre_tables",
    "count_key",
    "publish_barometre",
    "read_counts",
    "unprinted_identities",
    "write_barometre_tables",
]

PREFIX = "barometre"
BAROMETRE_FOLDER = "barometre-violences"
"""Subfolder of ``outputs/tables/<year>/`` holding the barometer's tables."""
COUNTS_FILE = "comptes.csv"
RESULTS_FILE = "resultats.json"
TITLES = {
    "services": "Incidents par service et année",
    "types": "Incidents par type (un incident compte dans chacun de ses types)",
    "direction": "Incidents par sens",
    "severity": "Incidents par gravité",
    "consequences": "Incidents par suite (un incident compte dans chacune de ses suites)",
    "context": "Incidents par contexte (un incident compte dans chacun de ses contextes)",
    "mois": "Incidents par mois",
    "heures": "Incidents par heure (année du rapport)",
    "exclusions": "Exclusions et incidents reliés",
    "fermeture": "Incidents dans la fenêtre de fermeture et aux autres heures d'ouverture",
    "repondants_service": "Répondants à l'enquête par service",
    "repondants_role": "Répondants à l'enquête par fonction",
    "reponses": "Réponses à l'enquête (oui / non) par question",
    "reponses_role": "Réponses à l'enquête (oui / non) par fonction et question",
    "reponses_service": "Réponses à l'enquête (oui / non) par service et question",
    "themes": "Témoignages par thème et qualité de la personne",
    "temoignages": "Témoignages par qualité de la personne",
    "cooccurrences": "Témoignages portant les deux thèmes",
    "codage": "Témoignages codés à la main et par mots-clés",
    "heure_inconnue": "Incidents sans heure (année du rapport)",
}
SINGLE = ("direction", "severity")


def count_key(year: int, table: str, row: str, col: str) -> str:
    """``barometre|2024|types|physique|2024``: physical incidents of 2024 in the 2024 report."""
    return f"{PREFIX}|{year}|{table}|{row}|{col}"


def read_counts(barometer_dir: Path) -> pd.DataFrame | None:
    path = Path(barometer_dir) / COUNTS_FILE
    if not path.exists():
        return None
    return pd.read_csv(path, dtype={"table": str, "row": str, "col": str})


def _title(table: str) -> str:
    if table.startswith("refus_"):
        return f"Incidents des nuits avec et sans refus ({table.removeprefix('refus_')})"
    return TITLES.get(table, table)


def build_barometre_tables(
    counts: pd.DataFrame, year: int, closing: dict[str, Any] | None = None
) -> tuple[list[CountTable], list[Constraint]]:
    """One table per ``table`` of ``comptes.csv`` (rows × columns as the stage wrote them) and
    the additive identities a reader knows (``closing``: ``resultats.json``'s « closing »,
    each service's ``open_hours`` and ``closing_hours``, which the report prints)."""
    tables, constraints = [], []
    for name, frame in counts.groupby("table", sort=False):
        wide = frame.pivot(index="row", columns="col", values="value")
        wide = wide.reindex(index=list(dict.fromkeys(frame["row"])))
        wide = wide.reindex(columns=list(dict.fromkeys(frame["col"])))
        keys = pd.DataFrame(
            {c: [count_key(year, name, r, c) for r in wide.index] for c in wide.columns},
            index=wide.index,
        )
        tables.append(CountTable(name, _title(name), wide.astype("float64"), keys))
    by = {t.name: t for t in tables}
    services = by.get("services")
    if services is not None and "total" in services.values.index:
        for col in services.values.columns:
            parts = [r for r in services.values.index if r != "total"]
            constraints.append(
                Constraint(
                    count_key(year, "services", "total", col),
                    tuple(count_key(year, "services", r, col) for r in parts),
                )
            )
            for name in SINGLE:
                t = by.get(name)
                if t is None or col not in t.values.columns:
                    continue
                if t.values[col].sum() == services.values.loc["total", col]:
                    constraints.append(
                        Constraint(
                            count_key(year, "services", "total", col),
                            tuple(count_key(year, name, r, col) for r in t.values.index),
                        )
                    )
    codage = by.get("codage")
    if codage is not None and "total" in codage.values.index:
        constraints.append(
            Constraint(
                count_key(year, "codage", "total", "temoignages"),
                tuple(count_key(year, "codage", r, "temoignages") for r in ("manuel", "mots_cles")),
            )
        )
    for name in ("repondants_service", "repondants_role"):
        t = by.get(name)
        if t is not None and "total" in t.values.index:
            rows = [r for r in t.values.index if r != "total"]
            constraints.append(
                Constraint(
                    count_key(year, name, "total", "repondants"),
                    tuple(count_key(year, name, r, "repondants") for r in rows),
                )
            )
    themes = by.get("themes")
    if themes is not None and "total" in themes.values.columns:
        roles = [c for c in themes.values.columns if c != "total"]
        for row in themes.values.index:
            constraints.append(
                Constraint(
                    count_key(year, "themes", row, "total"),
                    tuple(count_key(year, "themes", row, c) for c in roles),
                )
            )
    co = by.get("cooccurrences")
    if co is not None:
        # the diagonal is the theme's testimonies (printed again as the « total » of themes);
        # the table is symmetric: one quantity printed twice
        for a in co.values.index:
            if themes is not None and a in themes.values.index and a in co.values.columns:
                constraints.append(
                    Constraint(
                        count_key(year, "themes", a, "total"),
                        (count_key(year, "cooccurrences", a, a),),
                    )
                )
            for b in co.values.columns:
                if a < b and b in co.values.index and a in co.values.columns:
                    constraints.append(
                        Constraint(
                            count_key(year, "cooccurrences", a, b),
                            (count_key(year, "cooccurrences", b, a),),
                        )
                    )
    constraints += _closing_constraints(by, year, closing or {})
    return tables, constraints


def _closing_constraints(
    by: dict[str, CountTable], year: int, closing: dict[str, Any]
) -> list[Constraint]:
    """Window = Σ its hours, other open hours = Σ theirs (both tables: the report year's
    incidents of the service with a known hour)."""
    hours, window = by.get("heures"), by.get("fermeture")
    if hours is None or window is None:
        return []
    out = []
    printed = {str(h) for h in hours.values.index}
    for service, spec in closing.items():
        if service not in hours.values.columns or service not in window.values.index:
            continue
        close_h = [int(h) for h in spec.get("closing_hours", [])]
        other_h = [int(h) for h in spec.get("open_hours", []) if int(h) not in close_h]
        for col, hs in (("fenetre", close_h), ("autres_heures", other_h)):
            if col in window.values.columns and hs and {str(h) for h in hs} <= printed:
                out.append(
                    Constraint(
                        count_key(year, "fermeture", service, col),
                        tuple(count_key(year, "heures", str(h), service) for h in hs),
                    )
                )
    return out


def barometre_inputs(
    barometer_dir: Path, year: int
) -> tuple[list[CountTable], list[Constraint], dict[str, float]] | None:
    """The barometer's tables, the identities a reader knows and the unprinted counts they run
    through, or None when the ``barometer`` stage wrote no counts."""
    counts = read_counts(barometer_dir)
    if counts is None or counts.empty:
        return None
    results = read_results(barometer_dir) or {}
    tables, constraints = build_barometre_tables(counts, year, results.get("closing"))
    extra, unprinted = unprinted_identities(tables, year)
    return tables, [*constraints, *extra], unprinted


def publish_barometre(
    barometer_dir: Path, year: int, k: int, budget: Budget = DEFAULT_BUDGET
) -> Publication | None:
    """Protect the barometer's counts, or None when the ``barometer`` stage wrote none."""
    found = barometre_inputs(barometer_dir, year)
    if found is None:
        return None
    tables, constraints, unprinted = found
    return protect(tables, k, constraints, unprinted=unprinted, budget=budget)


SUPPORT_ASKED = ("verbal_12m", "physical_12m", "threat_12m")
"""The form asks « Après un incident, avez-vous été soutenu ? » only of respondents answering
« oui » to one of these (its ``relevant``, :data:`observatoire.core.forms.ENQUETE_TRAVAILLEURS`)."""


def unprinted_identities(
    tables: list[CountTable], year: int
) -> tuple[list[Constraint], dict[str, float]]:
    """The identities a reader knows that run through counts the report does not print (each
    declared as an unprinted quantity, known to a reader only as ≥ 0), and the answers' sums.

    * The survey (found by the independent attack, tests/support/field_attacker.py: « Autre »'s
      « < 5 » verbal « oui » was 86 − 83 = 3): every respondent has one function and one
      service (required), so the groups of ``reponses_role`` / ``reponses_service`` add up to
      ``reponses``, answer by answer; a group's « oui » + « non » + its blanks = its
      respondents (blanks unprinted; none declared when there are none: a required question,
      or a reader who sees that the totals leave no blank); the support question, asked only of
      those with a « oui » to verbal, physical or threat violence: its answers + a gap (≥ 0)
      = those three « oui » together.
    * Each night shelter's nights (``refus_<service>``): winter with refusal (A), winter
      without (B), outside winter with (C) and without (D) refusal, C and D unprinted: « avec
      refus » = A + C, « sans refus » = B + D, « autres nuits » = B + C + D.
    """
    by = {t.name: t for t in tables}
    constraints: list[Constraint] = []
    unprinted: dict[str, float] = {}

    def slack(key: str, value: float) -> str:
        unprinted[key] = float(value)
        return key

    answers, everyone = by.get("reponses"), by.get("repondants_service")
    if answers is not None and everyone is not None and "total" in everyone.values.index:
        respondents = float(everyone.values.loc["total", "repondants"])
        for q in answers.values.index:
            pair = (count_key(year, "reponses", q, "oui"), count_key(year, "reponses", q, "non"))
            blank = respondents - answers.values.loc[q, "oui"] - answers.values.loc[q, "non"]
            if blank >= 0:
                constraints.append(
                    Constraint(
                        count_key(year, "repondants_service", "total", "repondants"),
                        pair
                        if blank == 0
                        else (*pair, slack(f"{PREFIX}|{year}|reponses|{q}_vide", blank)),
                    )
                )
    for group in ("role", "service"):
        t, n = by.get(f"reponses_{group}"), by.get(f"repondants_{group}")
        if t is None:
            continue
        name = f"reponses_{group}"
        cols = list(t.values.columns)
        questions = list(dict.fromkeys(c.rsplit("_", 1)[0] for c in cols))
        for q in questions:
            for a in ("oui", "non"):
                if (
                    answers is not None
                    and q in answers.values.index
                    and a in answers.values.columns
                    and f"{q}_{a}" in cols
                ):
                    constraints.append(
                        Constraint(
                            count_key(year, "reponses", q, a),
                            tuple(count_key(year, name, g, f"{q}_{a}") for g in t.values.index),
                        )
                    )
        for g in t.values.index:
            row = t.values.loc[g]
            if n is not None and g in n.values.index:
                respondents = float(n.values.loc[g, "repondants"])
                for q in questions:
                    pair = (
                        count_key(year, name, g, f"{q}_oui"),
                        count_key(year, name, g, f"{q}_non"),
                    )
                    blank = respondents - row[f"{q}_oui"] - row[f"{q}_non"]
                    if blank < 0:
                        continue
                    parts = (
                        pair
                        if blank == 0
                        else (*pair, slack(f"{PREFIX}|{year}|{name}|{g}|{q}_vide", blank))
                    )
                    constraints.append(
                        Constraint(count_key(year, f"repondants_{group}", g, "repondants"), parts)
                    )
            asked = [f"{q}_oui" for q in SUPPORT_ASKED if f"{q}_oui" in cols]
            if asked and {"supported_oui", "supported_non"} <= set(cols):
                gap = sum(row[c] for c in asked) - row["supported_oui"] - row["supported_non"]
                if gap >= 0:
                    constraints.append(
                        Constraint(
                            slack(
                                f"{PREFIX}|{year}|{name}|{g}|concernes_oui",
                                sum(row[c] for c in asked),
                            ),
                            (
                                count_key(year, name, g, "supported_oui"),
                                count_key(year, name, g, "supported_non"),
                                slack(f"{PREFIX}|{year}|{name}|{g}|soutien_non_demande", gap),
                            ),
                        )
                    )
                    constraints.append(
                        Constraint(
                            f"{PREFIX}|{year}|{name}|{g}|concernes_oui",
                            tuple(count_key(year, name, g, c) for c in asked),
                        )
                    )
    for name, t in by.items():
        rows = set(t.values.index)
        nights = {
            "hiver_avec_refus",
            "hiver_sans_refus",
            "autres_nuits",
            "avec_refus",
            "sans_refus",
        }
        if (
            not name.startswith("refus_")
            or not nights <= rows
            or "incidents" not in t.values.columns
        ):
            continue
        v = t.values["incidents"]
        c, d = v["avec_refus"] - v["hiver_avec_refus"], v["sans_refus"] - v["hiver_sans_refus"]
        if c < 0 or d < 0 or v["autres_nuits"] != v["hiver_sans_refus"] + c + d:
            continue
        ck = slack(f"{PREFIX}|{year}|{name}|hors_hiver_avec_refus|incidents", c)
        dk = slack(f"{PREFIX}|{year}|{name}|hors_hiver_sans_refus|incidents", d)
        key = {r: count_key(year, name, r, "incidents") for r in nights}
        constraints += [
            Constraint(key["avec_refus"], (key["hiver_avec_refus"], ck)),
            Constraint(key["sans_refus"], (key["hiver_sans_refus"], dk)),
            Constraint(key["autres_nuits"], (key["hiver_sans_refus"], ck, dk)),
        ]
    return constraints, unprinted


def read_results(barometer_dir: Path) -> dict[str, Any] | None:
    path = Path(barometer_dir) / RESULTS_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_barometre_tables(pub: Publication | None, folder: Path) -> list[Path]:
    """Each table as published (« < k » for a small count)."""
    folder = Path(folder)
    written: list[Path] = []
    for table in pub.tables if pub is not None else []:
        frame = pub.text(table).reset_index(names="")
        written.append(folder / f"{table.name}.csv")
        write_safe_csv(frame, written[-1], quote_all=False)
    return written
