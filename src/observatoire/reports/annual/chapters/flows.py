"""Flows and pathways: new, continuing and returning persons, several dispositifs, long-term
presence, and returns to the shelter after an exit to housing."""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.formatting import MOIS_NOMS, french_number
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.disclosure.publication import (
    FLOW_COLUMNS,
    LONG_TERM_BASE,
    RETURN_PARTS,
    SERVICE_CLASSES,
    TOTAL,
    Tables,
    key,
    network_key,
    services_key,
)
from observatoire.disclosure.suppression import Publication
from observatoire.reports.annual.chapters.cells import (
    change_text,
    share_text,
    split_rows,
    table_rows,
)
from observatoire.reports.annual.context import ReportData

__all__ = [
    "context",
    "entry_context",
    "flows_context",
    "french_date",
    "long_term_context",
    "pathways_context",
    "returns_cohort",
    "returns_rows",
]


def context(data: ReportData) -> dict[str, Any]:
    """Section « Flux et parcours »."""
    ind, pub, tables = data.ind, data.pub, data.tables
    return {
        "flows": flows_context(ind, pub, tables),
        "pathways": pathways_context(ind, pub, tables),
        "long_term": long_term_context(ind, pub),
        "returns": returns_rows(ind, pub),
        "returns_cohort": returns_cohort(ind),
        "returns_grace": data.settings.report.returns.grace_days,
    }


def flows_context(ind: dict[str, Any], pub: Publication, tables: Tables) -> dict[str, Any]:
    y = int(ind["year"])
    net = (ind.get("flows") or {}).get("network") or {}
    out: dict[str, Any] = {"calculable": bool(net.get("calculable"))}
    if not out["calculable"]:
        return out
    for column in FLOW_COLUMNS:
        k = key(y, f"flux={column}")
        out[column] = pub.cell_text(k)
        out[f"{column}_share"] = share_text(pub, k, network_key(y))
        out[f"{column}_change"] = change_text(pub, k, key(y - 1, f"flux={column}"))
    out["windows"] = {
        "new": ind["flows"]["new_lookback_days"],
        "continuing": ind["flows"]["continuing_days"],
    }
    out["yearly"] = table_rows(pub, tables, "flux_par_annee")
    out["entry"] = entry_context(ind, pub)
    out["by_dispositif"] = [
        {"label": DISPOSITIFS.get(r["label"], r["label"]), "cells": r["cells"]}
        for r in table_rows(pub, tables, "flux_par_dispositif")
    ]
    return out


def entry_context(ind: dict[str, Any], pub: Publication) -> dict[str, str] | None:
    """The new persons anchored on their entry (US SPM 5), from the published cells."""
    e = (ind.get("flows") or {}).get("network_entry") or {}
    if not e.get("calculable"):
        return None
    y = int(ind["year"])
    base, new = key(y, "entrees"), key(y, "entrees", "nouveaux")
    if base not in pub.status:
        return None
    return {
        "entrants": pub.cell_text(base),
        "new": pub.cell_text(new),
        "new_share": share_text(pub, new, base),
    }


def pathways_context(ind: dict[str, Any], pub: Publication, tables: Tables) -> dict[str, Any]:
    y = int(ind["year"])
    n_disp = [
        {
            "label": r["label"],
            "count": r["cells"][0],
            "share": share_text(pub, services_key(y, r["label"]), network_key(y))
            if r["label"] != TOTAL
            else "100,0\u202f%",
        }
        for r in table_rows(pub, tables, "nombre_de_dispositifs")
    ]
    several = [services_key(y, s) for s in SERVICE_CLASSES[2:]]
    several_total = sum(pub.values.get(k, 0) for k in several)
    several_hidden = any(pub.hidden(k) for k in several)
    net = pub.values.get(network_key(y)) or 0
    few = [services_key(y, s) for s in SERVICE_CLASSES[:2]]
    named = pub.values.get(key(y, "identifies")) or 0
    if (
        several_hidden
        and all(k in pub.status and not pub.hidden(k) for k in few)
        and not pub.hidden(network_key(y))
    ):  # network − (0 and 1 service): published figures only, whatever is masked among 2, 3+
        several_total, several_hidden = net - sum(pub.values[k] for k in few), False
    return {
        "n_dispositifs": n_disp,
        "combinations": table_rows(pub, tables, "combinaisons_de_dispositifs"),
        # Street work is never linked to the other services: its persons all count as using
        # one dispositif. The share is therefore stated on the persons known by name (the
        # persons a second dispositif could be seen for), the network-wide one beside it.
        "several_share": fr_pct(several_total / named)
        if named and not several_hidden and not pub.hidden(key(y, "identifies"))
        else "–",
        "several_share_all": fr_pct(several_total / net) if net and not several_hidden else "–",
    }


def long_term_context(ind: dict[str, Any], pub: Publication) -> dict[str, Any] | None:
    lt = ind.get("long_term") or {}
    if not lt.get("persons"):
        return None
    y = int(ind["year"])
    top = lt.get("top10_nights") or {}
    base = key(y, LONG_TERM_BASE)
    return {
        "rows": [
            {
                "days": d,
                "persons": pub.cell_text(key(y, f"longue_duree={d}")),
                "share": share_text(pub, key(y, f"longue_duree={d}"), base),
            }
            for d in lt["persons"]
        ],
        "base": pub.cell_text(base) if base in pub.status else "–",
        "nights": lt.get("count", "presence") == "nuits",
        "window_start": french_date(lt["window_start"]),
        "window_end": french_date(lt["window_end"]),
        "complete": lt.get("complete", True),
        "top_share": fr_pct(top.get("share")),
        "top_nights": french_number(top.get("top_nights")),
        "nights_total": french_number(top.get("nights")),
    }


def french_date(iso: str) -> str:
    """« 1er janvier 2022 » from « 2022-01-01 » (the report's dates are written out)."""
    y, m, d = (int(x) for x in iso[:10].split("-"))
    return f"{'1er' if d == 1 else d} {MOIS_NOMS[m - 1]} {y}"


def returns_cohort(ind: dict[str, Any]) -> str | None:
    """The year(s) of the exits followed (one cohort for every window): « 2022 », « 2021–2022 »."""
    for r in (ind.get("returns") or {}).values():
        if r and r.get("cohort_year") is not None:
            first, last = int(r.get("cohort_first_year", r["cohort_year"])), int(r["cohort_year"])
            return str(last) if first == last else f"{first}–{last}"
    return None


def returns_rows(ind: dict[str, Any], pub: Publication) -> list[dict[str, str]]:
    """Returns after an exit to housing, one cohort over nested windows (6, 12, 24 months):
    to the shelter, and to any service; shares only when every part is published."""
    rows = []
    for months, r, texts, ok, _ in split_rows(ind, pub, "returns", "retours", RETURN_PARTS):
        rows.append(
            {
                "months": months,
                "exits": texts["base"],
                "returned": texts["retour_abri"],
                "share": fr_pct(r["share"]) if ok else "–",
                "ci": f"{fr_pct(r['lower'])} à {fr_pct(r['upper'])}" if ok else "–",
                "share_any": fr_pct(r.get("share_any_contact")) if ok else "–",
            }
        )
    return rows
