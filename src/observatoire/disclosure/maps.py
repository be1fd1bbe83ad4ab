"""The maps' counts of persons as an audited publication: persons met per zone during a plan.

Why: a map of where people were met is a table of counts with a shape around each cell. A
point per contact would place a person at a corner on a date; a zone with 2 persons met on a
winter's nights points at them. So the maps show zones, never points, and each zone's count is
registered here as a :class:`CountTable` cell with a quantity key
(``cartes|<year>|<plan>|zone=<zone>``): the ``publication`` stage protects it with everything
else the year publishes, and the maps stage prints the ledger's text — « < k » for a small
zone, hatched, never its number.

The estimand: distinct persons (after linkage) with at least one street-work contact
(dispositif ``travail_rue``) recorded in the zone between the first and the last day of the
plan's window for the report year (:meth:`observatoire.plans.settings.Plan.window`). A person
met in two zones counts in both, so the zones do not add up to the persons met in the commune:
the table has no total and no additive identity (none a reader could use either). Contacts
without a zone are left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from observatoire.core.dispositifs import STREET_WORK
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.suppression import (
    DEFAULT_BUDGET,
    Budget,
    CountTable,
    Publication,
    protect,
)
from observatoire.plans.settings import Plans

__all__ = [
    "MAPS_FOLDER",
    "PREFIX",
    "build_zone_tables",
    "persons_per_zone",
    "publish_zones",
    "table_name",
    "write_zone_tables",
    "zone_key",
]

PREFIX = "cartes"
MAPS_FOLDER = "cartes"
"""Subfolder of ``outputs/tables/<year>/`` holding the maps' tables."""


def zone_key(year: int, plan: str, zone: str) -> str:
    """``cartes|2024|grand_froid|zone=Gare``: persons met in a zone during a plan."""
    return f"{PREFIX}|{year}|{plan}|zone={zone}"


def table_name(plan: str) -> str:
    return f"personnes_rencontrees_par_zone_{plan}"


def persons_per_zone(contacts: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    """Distinct persons with a street-work contact in each zone between two days (included)."""
    street = contacts[contacts["dispositif"] == STREET_WORK]
    day = pd.to_datetime(street["date_start"]).dt.normalize()
    inside = street[(day >= first) & (day <= last) & street["zone"].notna()]
    inside = inside[inside["zone"].astype(str).str.strip() != ""]
    return inside.groupby("zone")["person_id"].nunique().sort_index()


def build_zone_tables(contacts: pd.DataFrame, plans: Plans, year: int) -> list[CountTable]:
    """One table per plan: zones as rows, one column of persons met."""
    tables = []
    for plan in plans.plans.values():
        first, last = (pd.Timestamp(d) for d in plan.window(year))
        counts = persons_per_zone(contacts, first, last)
        values = pd.DataFrame({"Personnes rencontrées": counts.astype(float)})
        values.index.name = "Zone"
        keys = pd.DataFrame(
            {"Personnes rencontrées": [zone_key(year, plan.id, z) for z in counts.index]},
            index=values.index,
        )
        tables.append(
            CountTable(
                name=table_name(plan.id),
                title=f"Personnes rencontrées en rue par zone — {plan.label(year)}",
                values=values,
                keys=keys,
            )
        )
    return tables


def publish_zones(
    contacts: pd.DataFrame, plans: Plans, year: int, k: int, budget: Budget = DEFAULT_BUDGET
) -> Publication:
    """Protect the zone counts (small zones masked; no identity links them to each other nor
    to the other reports' cells, so no secondary cell is needed)."""
    return protect(build_zone_tables(contacts, plans, year), k, budget=budget)


def write_zone_tables(pub: Publication, folder: Path) -> list[Path]:
    """One CSV per plan, the text as published (« < k » for a small zone)."""
    folder = Path(folder)
    written = []
    for table in pub.tables:
        frame = pub.text(table).reset_index(names="Zone")
        written.append(folder / f"{table.name}.csv")
        write_safe_csv(frame, written[-1], quote_all=False)
    return written
