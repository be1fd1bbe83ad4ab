"""Section « Le réseau en … »: distinct persons of the network and of each dispositif, per
partner, and the persons' profile (sex, age, nationality)."""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import (
    DISPOSITIFS,
    ETHOS,
    HOUSING,
    STAY_DISPOSITIFS,
    STREET_WORK,
    VISIT_DISPOSITIFS,
)
from observatoire.core.formatting import french_change
from observatoire.core.schema import NATIONALITY_GROUPS
from observatoire.disclosure.publication import (
    TOTAL,
    imputation_key,
    key,
    network_key,
    street_work_only_key,
)
from observatoire.indicators.counts import SEX_UNKNOWN_OR_X
from observatoire.reports.annual.chapters.cells import change_text, share_text, table_rows
from observatoire.reports.annual.chapters.dispositifs import dispositif_chapters
from observatoire.reports.annual.context import (
    PARTIAL_CHANGE,
    ReportData,
    change_computable,
    fr_num,
    partners_unit,
)

__all__ = [
    "AGE_LABELS",
    "activity_by_unit",
    "context",
    "ethos_text",
    "dispositif_rows",
    "partner_rows",
    "persons_range",
    "profile_context",
]

AGE_LABELS = {
    "<18": "Moins de 18 ans",
    "65+": "65 ans et plus",
    "inconnu": "Âge inconnu",
    TOTAL: "Total",
}


def context(data: ReportData) -> dict[str, Any]:
    """The network's totals, the dispositifs' table, the partners' table and the profile."""
    ind, pub, tables, year = data.ind, data.pub, data.tables, data.year
    net = ind["network"]
    comparable = change_computable(data)
    activity = activity_by_unit(ind)
    if not comparable:
        activity["visits_change"] = PARTIAL_CHANGE
    return {
        "persons": pub.cell_text(network_key(year)),
        "persons_prev": pub.cell_text(network_key(year - 1)),
        "persons_identified": pub.cell_text(key(year, "identifies")),
        "persons_street_work": pub.cell_text(street_work_only_key(ind)),
        # street work linked to the other services by a network-wide person id (scope: network)
        "street_work_linked": street_work_only_key(ind) != key(year, f"dispositif={STREET_WORK}"),
        "persons_change": change_text(pub, network_key(year), network_key(year - 1))
        if comparable
        else PARTIAL_CHANGE,
        "persons_change_computable": comparable,
        "persons_range": persons_range(data),
        "activity": activity,
        "partners_reporting": net["partners_reporting"],
        "dispositifs": dispositif_rows(data),
        "partner_rows": partner_rows(data),
        "profile": profile_context(data),
        "age_rows": [
            {"band": AGE_LABELS.get(r["label"], r["label"]), "cells": r["cells"]}
            for r in table_rows(pub, tables, "personnes_par_age_et_sexe")
        ],
        "nationality_rows": [
            {"label": NATIONALITY_GROUPS.get(r["label"], r["label"]), "cells": r["cells"]}
            for r in table_rows(pub, tables, "personnes_par_nationalite")
        ],
    }


def persons_range(data: ReportData) -> dict[str, str] | None:
    """The network's count as a range under one rule (persons present in the year): its
    minimum and maximum (street work linked to no one, or to everyone it could be), and the
    ends of the interval that adds the linkage's own error (imputations); None when the
    linkage figures are not in the publication."""
    pub, year = data.pub, data.year
    cells = {
        "minimum": key(year, "liaison=fourchette_minimum"),
        "maximum": key(year, "liaison=fourchette_maximum"),
        "low": imputation_key(year, "reseau", "bas"),
        "high": imputation_key(year, "reseau", "haut"),
    }
    if not all(c in pub.status for c in list(cells.values())[:2]):
        return None
    return {name: pub.cell_text(c) if c in pub.status else "" for name, c in cells.items()}


def ethos_text(code: str) -> str:
    """« 2 », « 1 à 6 », « hors ETHOS Light »: the ETHOS Light categories of a dispositif."""
    cats = ETHOS.get(code, ())
    if not cats:
        return "hors ETHOS Light"
    if len(cats) > 2 and list(cats) == list(range(cats[0], cats[-1] + 1)):
        return f"{cats[0]} à {cats[-1]}"
    return ", ".join(str(c) for c in cats)


def activity_by_unit(ind: dict[str, Any]) -> dict[str, str]:
    """The year's rows by unit, never added across units: visits (a day centre passage, a
    social emergency intervention, a street-work contact: each is one person seen one day),
    stays entered in a stay service for the homeless, and Housing First tenancies begun."""
    disp = ind["dispositifs"]

    def total(codes: tuple[str, ...] | list[str], field: str) -> int:
        return sum(int(disp[c][field]) for c in codes if c in disp)

    stays = [c for c in STAY_DISPOSITIFS if c not in HOUSING]
    return {
        "visits": fr_num(total(VISIT_DISPOSITIFS, "contacts")),
        "visits_change": french_change(
            total(VISIT_DISPOSITIFS, "contacts"), total(VISIT_DISPOSITIFS, "contacts_prev")
        ),
        "stays": fr_num(total(stays, "contacts")),
        "tenancies": fr_num(total(HOUSING, "contacts")),
        "has_tenancies": any(c in disp for c in HOUSING),
    }


def dispositif_rows(data: ReportData) -> list[dict[str, Any]]:
    """Persons and contacts of each dispositif, this year and last, in the network's order."""
    ind, partners = data.ind, data.partners
    by_code = dispositif_chapters(data)
    dispositifs = []
    for code in [c for c in DISPOSITIFS if c in ind["dispositifs"]]:
        d = ind["dispositifs"][code]
        dispositifs.append(
            {
                "code": code,
                "label": d["label"],
                "persons": by_code[code]["persons"],
                "persons_prev": by_code[code]["persons_prev"],
                "persons_change": by_code[code]["persons_change"],
                "contacts": by_code[code]["contacts"],  # « non reçu » for an absent year
                "contacts_prev": fr_num(d["contacts_prev"]),
                "contacts_change": by_code[code]["contacts_change"],
                "unit": partners_unit(partners, code),
                "ethos": ethos_text(code),
            }
        )
    return dispositifs


def partner_rows(data: ReportData) -> list[dict[str, Any]]:
    """Distinct persons per partner, with the partner's name and dispositif."""
    partners = data.partners
    return [
        {
            "label": partners[r["label"]].name if r["label"] in partners else r["label"],
            "dispositif": ", ".join(DISPOSITIFS[d] for d in partners[r["label"]].dispositifs)
            if r["label"] in partners
            else "",
            "cells": r["cells"],
        }
        for r in table_rows(data.pub, data.tables, "personnes_par_partenaire")
    ]


def profile_context(data: ReportData) -> dict[str, Any]:
    """Shares by sex, unknown age and nationality, and the young adults (18–25)."""
    pub, year = data.pub, data.year
    return {
        "women": pub.cell_text(key(year, "sexe=F")),
        "women_share": share_text(pub, key(year, "sexe=F"), network_key(year)),
        "men_share": share_text(pub, key(year, "sexe=M"), network_key(year)),
        "unknown_sex_share": share_text(
            pub, key(year, f"sexe={SEX_UNKNOWN_OR_X}"), network_key(year)
        ),
        "unknown_age_share": share_text(pub, key(year, "age=inconnu"), network_key(year)),
        "unknown_nationality_share": share_text(
            pub, key(year, "nationalite=INCONNU"), network_key(year)
        ),
        "youth": pub.cell_text(key(year, "age=18-25")),
        "youth_share": share_text(pub, key(year, "age=18-25"), network_key(year)),
        "age_estimated": pub.cell_text(key(year, "age_estime")),
    }
