"""The annual report's chapters: what each prints, formatted and disclosure-controlled.

Every person count goes through the :class:`~observatoire.disclosure.suppression.Publication` of the
report (so a count masked in a table is masked in the text too); a change or a share is printed
only when the counts it is computed from are published; a mean or a median only for at least
``min_mean`` persons. Counts of contacts, nights and refusals are not person counts and are
printed as they are.
"""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import DISPOSITIFS, INTRO
from observatoire.core.formatting import french_change, french_number
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.core.schema import EXIT_REASONS
from observatoire.disclosure.cells import publish_mean
from observatoire.disclosure.publication import FLOW_COLUMNS, TOTAL, Tables, key, network_key
from observatoire.disclosure.suppression import Publication


def change_text(pub: Publication, current: str, previous: str) -> str:
    """Relative change between two published person counts; « – » if either is masked."""
    if pub.hidden(current) or pub.hidden(previous):
        return "–"
    cur, prev = pub.values.get(current), pub.values.get(previous)
    if not prev or cur is None:
        return "–"
    return fr_pct(cur / prev - 1, 1, signed=True)


def share_text(pub: Publication, part: str, base: str, decimals: int = 1) -> str:
    """A share of two published counts; « – » when either is masked."""
    if pub.hidden(part) or pub.hidden(base):
        return "–"
    b = pub.values.get(base)
    p = pub.values.get(part)
    return fr_pct(p / b, decimals) if b else "–"


def table_rows(pub: Publication, tables: Tables, name: str) -> list[dict[str, Any]]:
    """A published table as rows of text, its index in ``label``."""
    if not tables.has(name):
        return []
    text = pub.text(tables.get(name))
    return [{"label": idx, "cells": list(row)} for idx, row in text.iterrows()]


def dispositif_chapter(
    code: str,
    ind: dict[str, Any],
    pub: Publication,
    min_mean: int,
    unit: str,
) -> dict[str, Any]:
    """Key figures of one dispositif's chapter, with their change from last year."""
    y = int(ind["year"])
    d = ind["dispositifs"][code]
    persons_key, prev_key = key(y, f"dispositif={code}"), key(y - 1, f"dispositif={code}")
    ins = (ind.get("durations") or {}).get("in_service", {}).get(code)
    ins_prev = (ind.get("durations_prev") or {}).get("in_service", {}).get(code)
    flows = (ind.get("flows") or {}).get("by_dispositif", {}).get(code) or {}
    present_key = key(y, f"dispositif={code}")  # the persons of the dispositif, one key
    chapter: dict[str, Any] = {
        "code": code,
        "label": DISPOSITIFS[code],
        "intro": INTRO.get(code, ""),
        "persons": pub.cell_text(persons_key),
        "persons_prev": pub.cell_text(prev_key),
        "persons_change": change_text(pub, persons_key, prev_key),
        "contacts": french_number(d["contacts"]),
        "contacts_prev": french_number(d["contacts_prev"]),
        "contacts_change": french_change(d["contacts"], d["contacts_prev"]),
        "unit": unit,
        "new_share": share_text(pub, key(y, f"dispositif={code}", "flux=new"), persons_key)
        if flows.get("calculable")
        else "–",
        "duration": None,
    }
    if ins:
        n = int(ins["n"])
        chapter["duration"] = {
            "unit": ins["unit"],
            "present": pub.cell_text(present_key),
            "mean": publish_mean(ins["mean"], n, min_mean),
            "median": publish_mean(ins["median"], n, min_mean, decimals=0),
            "mean_prev": publish_mean(ins_prev["mean"], int(ins_prev["n"]), min_mean)
            if ins_prev
            else "–",
            "median_prev": publish_mean(ins_prev["median"], int(ins_prev["n"]), min_mean, 0)
            if ins_prev
            else "–",
        }
    return chapter


def stays_text(ind: dict[str, Any], code: str, min_mean: int) -> dict[str, str] | None:
    """Length of the stays that ended in the year (stay services)."""
    stays = (ind.get("durations") or {}).get("stays", {}).get(code)
    if not stays:
        return None
    n = int(stays["n"])
    return {
        "n": french_number(n),
        "mean": publish_mean(stays["mean"], n, min_mean),
        "median": publish_mean(stays["median"], n, min_mean, decimals=0),
        "ongoing": french_number(stays.get("ongoing", 0)),
    }


def exits_rows(ind: dict[str, Any], pub: Publication, code: str) -> dict[str, Any] | None:
    """Exits of one dispositif by reason, masked like persons."""
    exits = (ind.get("exits") or {}).get(code)
    if not exits or not exits.get("exits"):
        return None
    y = int(ind["year"])
    total_key = key(y, f"dispositif={code}", what="sorties")
    rows = []
    for reason, label in EXIT_REASONS.items():
        k = key(y, f"dispositif={code}", f"motif={reason}", what="sorties")
        rows.append(
            {"reason": label, "count": pub.cell_text(k), "share": share_text(pub, k, total_key)}
        )
    return {
        "total": pub.cell_text(total_key),
        "exported_share": fr_pct(exits.get("exported_share"), 0),
        "rows": rows,
    }


def _split_rows(
    ind: dict[str, Any], pub: Publication, family: str, what: str, parts: tuple[str, str]
) -> list[tuple[str, dict[str, Any], dict[str, str], bool, bool]]:
    """Rows of a base split in two published parts (see ``publication._split_table``): per
    horizon, the record, the texts of base and first part, whether a share of the parts may be
    printed (base and both parts published) and whether the base is published."""
    y = int(ind["year"])
    rows = []
    for months, r in (ind.get(family) or {}).items():
        base_count = "cohort" if family == "housing_first" else "exits"
        if not r or not r.get(base_count):
            continue
        base = key(y, f"horizon={months}", what=what)
        first = key(y, f"horizon={months}", parts[0], what=what)
        second = key(y, f"horizon={months}", parts[1], what=what)
        ok = not (pub.hidden(base) or pub.hidden(first) or pub.hidden(second))
        texts = {"base": pub.cell_text(base), "part": pub.cell_text(first)}
        rows.append((str(months), r, texts, ok, not pub.hidden(base)))
    return rows


def retention_rows(ind: dict[str, Any], pub: Publication) -> list[dict[str, Any]]:
    """Housing First: still housed at 12 and 24 months (share and CI printed only when the
    housed and not-housed counts are both published)."""
    rows = []
    for months, r, texts, ok, _ in _split_rows(
        ind, pub, "housing_first", "housing_first", ("logees", "non_logees")
    ):
        rows.append(
            {
                "months": months,
                "cohort": texts["base"],
                "housed": texts["part"],
                "share": fr_pct(r["share"]) if ok else "–",
                "ci": f"{fr_pct(r['lower'])} à {fr_pct(r['upper'])}" if ok else "–",
                "share_strict": fr_pct(r.get("share_strict")) if ok else "–",
                "share_value": r["share"] if ok else None,
                "lower": r["lower"] if ok else None,
                "upper": r["upper"] if ok else None,
            }
        )
    return rows


def returns_rows(ind: dict[str, Any], pub: Publication) -> list[dict[str, str]]:
    """Returns to the shelter after an exit to housing, masked like ``retention_rows``; the
    share with any contact needs only the base published."""
    rows = []
    for months, r, texts, ok, base_published in _split_rows(
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
            "share": share_text(pub, key(y, f"nb_dispositifs={r['label']}"), network_key(y))
            if r["label"] != TOTAL
            else "100,0\u202f%",
        }
        for r in table_rows(pub, tables, "nombre_de_dispositifs")
    ]
    several = [key(y, f"nb_dispositifs={s}") for s in ind["pathways"]["n_dispositifs"] if s != "1"]
    several_total = sum(pub.values.get(k, 0) for k in several)
    several_hidden = any(pub.hidden(k) for k in several)
    net = pub.values.get(network_key(y)) or 0
    one = key(y, "nb_dispositifs=1")
    if (
        several_hidden
        and one in pub.status
        and not pub.hidden(one)
        and not pub.hidden(network_key(y))
    ):  # network − one dispositif: published figures only, whatever is masked among 2, 3, 4+
        several_total, several_hidden = net - pub.values[one], False
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
