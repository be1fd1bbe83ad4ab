"""The neighbourhood relays' counts as an audited publication.

Why: the relays' report and its monthly sheet print the service sheets (« prestations ») and
the people helped, by point, month, weekday, time of day, relay, need domain, action,
orientation and barrier, and the number of volunteers per band of the yearly allowance ceiling.
A service sheet involves persons (a small count in a month points at a few residents), a count
of people helped is a count of persons, and a count of volunteers is a count of persons too: each
is a :class:`CountTable` cell with a quantity key ``relais|<report year>|<data year>|<dimension>=
<code>|<measure>`` (``measure``: ``prestations``, ``personnes_aidees``, ``volontaires``; the
year's total is ``relais|<Y>|<y>|total|<measure>``), the identities a reader knows (total = the
points, = the months, = the relays, = the weekdays, = the times of day; volunteers = the bands)
are declared, and the ``publication`` stage protects and audits them with everything else the
year publishes. The report prints the ledger's text (« < k », « s » or the number).

**Volunteers' individual figures.** Volunteers are not the vulnerable public, but their days,
hours and allowances are personal data (and pay-like amounts). None is published: the public
report prints, per year, the total allowances, hours and volunteer-days of the project, only
when at least k volunteers were paid that year (a total over fewer would be close to an
individual amount), and the number of volunteers per band of the yearly ceiling — including the
number flagged (at or above the warning share, or above the ceiling) — as counts of persons
under the same rule (« < k »). Each volunteer's own figures go to the coordinator's internal
statement only. Per-relay *service* counts are printed under the relay's pseudonymous code
(« Relais R-3F2A »): the committee follows each relay's activity without names.

Non-person figures (hours, euros, volunteer-days, the days above the daily ceiling) are written
beside the persons as CSV (:func:`write_relays_tables`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.formatting import MOIS_ABREGES
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.suppression import (
    DEFAULT_BUDGET,
    Budget,
    Constraint,
    CountTable,
    Publication,
    protect,
)
from observatoire.field.relays import (
    ACTIONS,
    BANDS,
    BARRIERS,
    BY_POINT,
    HOUR_BANDS,
    NEEDS,
    ORIENTATIONS,
    POINTS,
    WEEKDAYS,
    read_results,
)

__all__ = [
    "MEASURES",
    "PREFIX",
    "RELAIS_FOLDER",
    "allowances_published",
    "build_relays_tables",
    "headline_keys",
    "publish_relays",
    "relais_key",
    "volunteers_key",
    "write_relays_tables",
]

PREFIX = "relais"
RELAIS_FOLDER = "relais-de-quartier"
"""Subfolder of ``outputs/tables/<year>/`` holding the relays' tables."""
MEASURES = {
    "services": ("prestations", "Prestations"),
    "people_helped": ("personnes_aidees", "Personnes aidées"),
}
CODED = {
    "besoin": ("Besoins notés", NEEDS),
    "action": ("Actions", ACTIONS),
    "orientation": ("Orientations", ORIENTATIONS),
    "obstacle": ("Obstacles à l'accès", BARRIERS),
}


DAILY = "plafond_journalier"
DAILY_LABEL = "Dont au moins une journée au-delà du plafond journalier"
"""The volunteers' row counting those paid above the daily ceiling at least one day."""


def volunteers_key(year: int, data_year: int, code: str) -> str:
    """``relais|2024|2024|volontaires`` (paid that year), ``…|defraiement=proche|volontaires``
    (a band of the yearly ceiling), ``…|plafond_journalier=depasse|volontaires``."""
    if code == "total":
        return f"{PREFIX}|{year}|{data_year}|volontaires"
    if code == DAILY:
        return f"{PREFIX}|{year}|{data_year}|{DAILY}=depasse|volontaires"
    return f"{PREFIX}|{year}|{data_year}|defraiement={code}|volontaires"


def relais_key(year: int, data_year: int, dimension: str, code: str | None, measure: str) -> str:
    """``relais|2024|2023|besoin=logement|prestations``: sheets noting a housing need in 2023,
    as the report 2024 publishes them; ``relais|2024|2024|total|prestations`` for the total."""
    part = "total" if dimension == "total" else f"{dimension}={code}"
    return f"{PREFIX}|{year}|{data_year}|{part}|{measure}"


def _lookup(counts: pd.DataFrame) -> dict[tuple[int, str, str], dict[str, int]]:
    return {
        (int(r.year), str(r.dimension), str(r.category)): {
            "services": int(r.services),
            "people_helped": int(r.people_helped),
        }
        for r in counts.itertuples()
    }


def _table(
    name: str,
    title: str,
    rows: list[tuple[str, str, str]],
    columns: list[tuple[str, int, str]],
    year: int,
    values: dict,
) -> CountTable:
    """``rows``: (label, dimension, code); ``columns``: (title, data year, measure field)."""
    index = pd.Index([label for label, _, _ in rows], name="")
    vals = pd.DataFrame(
        {
            title_: [float(values.get((y, dim, code), {}).get(f, 0)) for _, dim, code in rows]
            for title_, y, f in columns
        },
        index=index,
    )
    keys = pd.DataFrame(
        {
            title_: [relais_key(year, y, dim, code, MEASURES[f][0]) for _, dim, code in rows]
            for title_, y, f in columns
        },
        index=index,
    )
    return CountTable(name=name, title=title, values=vals, keys=keys)


def _sum_constraint(
    year: int, y: int, measure: str, dim: str, codes: list[str], values: dict, f: str
) -> Constraint | None:
    """total = Σ parts, declared only when it holds (a sheet without a valid point is in the
    total and in no point)."""
    total = values.get((y, "total", "total"), {}).get(f, 0)
    if sum(values.get((y, dim, c), {}).get(f, 0) for c in codes) != total:
        return None
    return Constraint(
        relais_key(year, y, "total", None, measure),
        tuple(relais_key(year, y, dim, c, measure) for c in codes),
    )


def build_relays_tables(res: dict[str, Any]) -> tuple[list[CountTable], list[Constraint]]:
    """The relays' tables for the report year of ``res`` (``relais.json`` read back with its
    frames by :func:`observatoire.field.relays.read_results`)."""
    year = int(res["year"])
    years = [int(y) for y in res["years"]]
    counts = res["frames"]["comptes"]
    if counts.empty:
        return [], []
    values = _lookup(counts)
    cur = [y for y in years if y == year]
    tables: list[CountTable] = []
    constraints: list[Constraint] = []
    both = [(f"{MEASURES[f][1]} {y}", y, f) for y in years for f in MEASURES]
    cur_cols = [(MEASURES[f][1], y, f) for y in cur for f in MEASURES]
    tables.append(
        _table(
            "relais_activite",
            "Prestations et personnes aidées, par point",
            [("Total", "total", "total")] + [(label, "point", c) for c, label in POINTS.items()],
            both,
            year,
            values,
        )
    )
    months = [(MOIS_ABREGES[m - 1], "mois", str(m)) for m in range(1, 13)]
    tables.append(_table("relais_par_mois", "Par mois", months, both, year, values))
    codes = sorted(
        {c for (y, d, c) in values if d == "relais" and y == year},
    )
    if codes and cur:
        tables.append(
            _table(
                "relais_par_relais",
                "Par relais (code pseudonyme)",
                [(f"Relais {c}", "relais", c) for c in codes],
                cur_cols,
                year,
                values,
            )
        )
    days = [(d.capitalize(), "jour", d) for d in WEEKDAYS]
    bands = [(label, "heure", c) for c, (label, _, _) in HOUR_BANDS.items()]
    if cur:
        tables.append(_table("relais_par_jour", "Par jour", days, cur_cols, year, values))
        tables.append(_table("relais_par_moment", "Par moment", bands, cur_cols, year, values))
    services_cols = [(f"Prestations {y}", y, "services") for y in years]
    for dim, (title, labels) in CODED.items():
        rows = [(label, dim, c) for c, label in labels.items()]
        tables.append(_table(f"relais_{dim}s", title, rows, services_cols, year, values))
    for dim in BY_POINT if cur else ():
        title, labels = CODED[dim]
        rows = [(label, dim, c) for c, label in labels.items()]
        index = pd.Index([label for label, _, _ in rows], name="")
        vals = pd.DataFrame(
            {
                plabel: [
                    float(values.get((year, f"{dim}_point", f"{p}|{c}"), {}).get("services", 0))
                    for _, _, c in rows
                ]
                for p, plabel in POINTS.items()
            },
            index=index,
        )
        keys = pd.DataFrame(
            {
                plabel: [
                    relais_key(year, year, f"{dim}_point", f"{p}|{c}", "prestations")
                    for _, _, c in rows
                ]
                for p, plabel in POINTS.items()
            },
            index=index,
        )
        tables.append(CountTable(f"relais_{dim}s_par_point", f"{title} par point", vals, keys))
        for c in labels:
            parts = [values.get((year, f"{dim}_point", f"{p}|{c}"), {}) for p in POINTS]
            whole = values.get((year, dim, c), {}).get("services", 0)
            if sum(x.get("services", 0) for x in parts) == whole:
                constraints.append(
                    Constraint(
                        relais_key(year, year, dim, c, "prestations"),
                        tuple(
                            relais_key(year, year, f"{dim}_point", f"{p}|{c}", "prestations")
                            for p in POINTS
                        ),
                    )
                )
    for dim, labels in (("besoin", NEEDS), ("orientation", ORIENTATIONS)):
        if not cur:
            continue
        rows = [(MOIS_ABREGES[m - 1], f"{dim}_mois", f"{m:02d}") for m in range(1, 13)]
        cols = list(labels.items())
        index = pd.Index([r[0] for r in rows], name="Mois")
        vals = pd.DataFrame(
            {
                label: [
                    float(values.get((year, r[1], f"{r[2]}|{c}"), {}).get("services", 0))
                    for r in rows
                ]
                for c, label in cols
            },
            index=index,
        )
        keys = pd.DataFrame(
            {
                label: [relais_key(year, year, r[1], f"{r[2]}|{c}", "prestations") for r in rows]
                for c, label in cols
            },
            index=index,
        )
        title = "Besoins notés par mois" if dim == "besoin" else "Orientations par mois"
        tables.append(CountTable(f"relais_{dim}s_par_mois", title, vals, keys))
    for y in years:
        for f, (measure, _) in MEASURES.items():
            for dim, cats in (
                ("point", list(POINTS)),
                ("mois", [str(m) for m in range(1, 13)]),
                ("jour", list(WEEKDAYS) if y == year else []),
                ("heure", list(HOUR_BANDS) if y == year else []),
                ("relais", codes if y == year else []),
            ):
                if cats:
                    c = _sum_constraint(year, y, measure, dim, cats, values, f)
                    if c is not None:
                        constraints.append(c)
    bands_frame = res["frames"]["volontaires_tranches"]
    if not bands_frame.empty:
        vol = {(int(r.year), str(r.band)): int(r.volunteers) for r in bands_frame.itertuples()}
        rows = (
            [("Volontaires défrayés", "total")]
            + [(label, b) for b, (label, _, _) in BANDS.items()]
            + [(DAILY_LABEL, DAILY)]
        )
        allowances = res.get("allowances") or {}

        def count(y: int, code: str) -> float:
            if code == "total":
                return float(sum(vol.get((y, b), 0) for b in BANDS))
            if code == DAILY:
                return float((allowances.get(str(y)) or {}).get("volunteers_above_daily", 0))
            return float(vol.get((y, code), 0))

        index = pd.Index([r[0] for r in rows], name="")
        vals = pd.DataFrame(
            {str(y): [count(y, code) for _, code in rows] for y in years}, index=index
        )
        keys = pd.DataFrame(
            {str(y): [volunteers_key(year, y, code) for _, code in rows] for y in years},
            index=index,
        )
        tables.append(
            CountTable(
                "relais_volontaires",
                "Volontaires défrayés selon la part du plafond annuel atteinte",
                vals,
                keys,
            )
        )
        for y in years:
            constraints.append(
                Constraint(
                    f"{PREFIX}|{year}|{y}|volontaires",
                    tuple(f"{PREFIX}|{year}|{y}|defraiement={b}|volontaires" for b in BANDS),
                )
            )
    return tables, constraints


def publish_relays(relays_dir: Path, k: int, budget: Budget = DEFAULT_BUDGET) -> Publication | None:
    """Protect the relays' counts, or None when the ``relays`` stage has not run or found no
    service sheet."""
    res = read_results(relays_dir)
    if res is None:
        return None
    tables, constraints = build_relays_tables(res)
    if not tables:
        return None
    return protect(tables, k, constraints, keep=headline_keys(res), budget=budget)


def headline_keys(res: dict[str, Any]) -> set[str]:
    """The totals the report opens with (sheets, people helped, volunteers paid, each year):
    secondary suppression masks other cells rather than these; a small one is still « < k »."""
    year = int(res["year"])
    keys = set()
    for y in res["years"]:
        keys |= {relais_key(year, int(y), "total", None, m) for m, _ in MEASURES.values()}
        keys.add(f"{PREFIX}|{year}|{y}|volontaires")
    return keys


def allowances_published(res: dict[str, Any], year: int, k: int) -> bool:
    """Whether ``year``'s allowance totals may be printed: at least ``k`` volunteers paid."""
    return int((res.get("allowances") or {}).get(str(year), {}).get("volunteers", 0)) >= k


def write_relays_tables(
    pub: Publication | None, relays_dir: Path, folder: Path, k: int
) -> list[Path]:
    """The counts as published and, beside them, the allowances summed over volunteers per
    month (``defraiements_mois.csv``; a year with fewer than ``k`` volunteers paid is left
    out)."""
    folder = Path(folder)
    written: list[Path] = []
    for table in pub.tables if pub is not None else []:
        frame = pub.text(table).reset_index(names=table.values.index.name or "")
        written.append(folder / f"{table.name}.csv")
        write_safe_csv(frame, written[-1], quote_all=False)
    res = read_results(relays_dir)
    months = (res or {}).get("frames", {}).get("defraiements_mois")
    if res is not None and months is not None and not months.empty:
        keep = [y for y in res["years"] if allowances_published(res, int(y), k)]
        out = months[months["year"].isin(keep)].rename(
            columns={
                "year": "annee",
                "month": "mois",
                "volunteer_days": "journees_volontaires",
                "hours": "heures",
                "allowance_eur": "defraiements_eur",
            }
        )
        written.append(folder / "defraiements_mois.csv")
        write_safe_csv(out.round(2), written[-1], quote_all=False)
    return written
