"""The annual figures of the observatory report, gathered from the indicator functions.

:func:`annual_indicators` is what the indicators notebook writes to
``outputs/indicators/<year>/indicateurs.json`` and what the report prints. Raw (unsuppressed)
counts are kept here; disclosure control is applied when a number is published.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire import indicators as ind
from observatoire.mapping import PartnerMapping
from observatoire.schema import DISPOSITIFS


def annual_indicators(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    partners: dict[str, PartnerMapping],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Every figure of the annual report for ``params['report']['year']``, unsuppressed."""
    rep = params["report"]
    year = int(rep["year"])
    prev = year - 1
    winter = (rep["winter_start"], rep["winter_end"])
    years = sorted(int(y) for y in contacts["year"].unique())

    by_disp = ind.distinct_persons(contacts, year, by="dispositif")
    by_disp_prev = ind.distinct_persons(contacts, prev, by="dispositif")
    contacts_disp = ind.contacts_count(contacts, year)
    contacts_disp_prev = ind.contacts_count(contacts, prev)
    by_partner = ind.distinct_persons(contacts, year, by="partner_id")
    dispositifs = {}
    for d in ind.dispositif_order(contacts["dispositif"].unique()):
        dispositifs[d] = {
            "label": DISPOSITIFS[d],
            "persons": int(by_disp.get(d, 0)),
            "persons_prev": int(by_disp_prev.get(d, 0)),
            "contacts": int(contacts_disp.get(d, 0)),
            "contacts_prev": int(contacts_disp_prev.get(d, 0)),
        }

    shelter: dict[str, Any] = {}
    shelters = [p for p in partners.values() if p.dispositif == "hebergement_urgence"]
    if shelters:
        capacity = {
            "beds": sum(p.capacity.get("beds", 0) for p in shelters),
            "winter_extra_beds": sum(p.capacity.get("winter_extra_beds", 0) for p in shelters),
        }
        shelter = {
            "nights": ind.nights(contacts, year),
            "nights_prev": ind.nights(contacts, prev),
            "capacity": capacity,
            "capacity_nights": ind.capacity_nights(capacity, year, winter),
            "occupancy": ind.occupancy(contacts, capacity, year, winter),
            "occupancy_prev": ind.occupancy(contacts, capacity, prev, winter),
            "refusals": ind.refusals_total(refusals, year),
            "refusals_prev": ind.refusals_total(refusals, prev),
            "refusal_nights": ind.refusal_nights(refusals, year),
        }

    persons = ind.distinct_persons(contacts, year)
    youth = ind.youth_persons(contacts, year)
    yearly = ind.yearly_distinct_persons(contacts)
    yearly_disp = ind.yearly_distinct_persons(contacts, by="dispositif")
    cov = ind.coverage(contacts, year)
    return {
        "year": year,
        "years": years,
        "network": {
            "persons": persons,
            "persons_prev": ind.distinct_persons(contacts, prev),
            "persons_identified": ind.distinct_persons(
                contacts[contacts["dispositif"] != "travail_rue"], year
            ),
            "persons_street_work": ind.distinct_persons(
                contacts[contacts["dispositif"] == "travail_rue"], year
            ),
            "contacts": int(len(ind.in_year(contacts, year))),
            "contacts_prev": int(len(ind.in_year(contacts, prev))),
            "partners": len(partners),
            "partners_reporting": int(ind.in_year(contacts, year)["partner_id"].nunique()),
        },
        "dispositifs": dispositifs,
        "partners": {
            pid: {
                "name": p.name,
                "dispositif": p.dispositif,
                "persons": int(by_partner.get(pid, 0)),
            }
            for pid, p in partners.items()
        },
        "shelter": shelter,
        "profile": {
            "sex": ind.sex_shares(contacts, year),
            "youth_18_25": youth,
            "youth_share": youth / persons if persons else None,
            "age_sex": ind.age_sex_table(contacts, year).to_dict(orient="records"),
            "age_estimated_persons": int(
                ind.in_year(contacts, year).groupby("person_id")["age_estimated"].all().sum()
            ),
        },
        "yearly_persons": yearly.to_dict(orient="records"),
        "yearly_persons_by_dispositif": yearly_disp.to_dict(orient="records"),
        "coverage": {pid: [int(v) for v in row] for pid, row in cov.iterrows()},
    }
