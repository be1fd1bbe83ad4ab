"""Flows and pathways: new, continuing and returning persons, several dispositifs, long-term
presence, and returns to the shelter after an exit to housing."""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.core.formatting import french_number
from observatoire.disclosure.publication import (
    FLOW_COLUMNS,
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

__all__ = ["context", "flows_context", "long_term_context", "pathways_context", "returns_rows"]


def context(data: ReportData) -> dict[str, Any]:
    """Section « Flux et parcours »."""
    ind, pub, tables = data.ind, data.pub, data.tables
    return {
        "flows": flows_context(ind, pub, tables),
        "pathways": pathways_context(ind, pub, tables),
        "long_term": long_term_context(ind, pub),
        "returns": returns_rows(ind, pub),
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
    out["by_dispositif"] = [
        {"label": DISPOSITIFS.get(r["label"], r["label"]), "cells": r["cells"]}
        for r in table_rows(pub, tables, "flux_par_dispositif")
    ]
    return out


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
    if (
        several_hidden
        and all(k in pub.status and not pub.hidden(k) for k in few)
        and not pub.hidden(network_key(y))
    ):  # network − (0 and 1 service): published figures only, whatever is masked among 2, 3+
        several_total, several_hidden = net - sum(pub.values[k] for k in few), False
    return {
        "n_dispositifs": n_disp,
        "combinations": table_rows(pub, tables, "combinaisons_de_dispositifs"),
        "several_share": fr_pct(several_total / net) if net and not several_hidden else "–",
    }


def long_term_context(ind: dict[str, Any], pub: Publication) -> dict[str, Any] | None:
    lt = ind.get("long_term") or {}
    if not lt.get("persons"):
        return None
    y = int(ind["year"])
    top = lt.get("top10_nights") or {}
    return {
        "rows": [
            {"days": d, "persons": pub.cell_text(key(y, f"longue_duree={d}"))}
            for d in lt["persons"]
        ],
        "window_start": lt["window_start"],
        "window_end": lt["window_end"],
        "complete": lt.get("complete", True),
        "top_share": fr_pct(top.get("share")),
        "top_nights": french_number(top.get("top_nights")),
        "nights": french_number(top.get("nights")),
    }


def returns_rows(ind: dict[str, Any], pub: Publication) -> list[dict[str, str]]:
    """Returns to the shelter after an exit to housing, masked like ``retention_rows``; the
    share with any contact needs only the base published."""
    rows = []
    for months, r, texts, ok, base_published in split_rows(
        ind, pub, "returns", "retours", ("retour_abri", "sans_retour_abri")
    ):
        rows.append(
            {
                "months": months,
                "exits": texts["base"],
                "returned": texts["part"],
                "share": fr_pct(r["share"]) if ok else "–",
                "ci": f"{fr_pct(r['lower'])} à {fr_pct(r['upper'])}" if ok else "–",
                "share_any": fr_pct(r.get("share_any_contact")) if base_published else "–",
            }
        )
    return rows
