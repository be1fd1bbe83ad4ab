"""One chapter per dispositif: key figures, its introduction, durations, exits; the night
shelter's nights, occupancy and refusals; Housing First's retention in housing.

Every person count goes through the :class:`~observatoire.disclosure.suppression.Publication` of the
report (so a count masked in a table is masked in the text too); a change or a share is printed
only when the counts it is computed from are published; a mean or a median only for at least
``min_mean`` persons. Counts of contacts, nights and refusals are not person counts and are
printed as they are.
"""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import (
    DISPOSITIFS,
    IN_TEXT,
    INTRO,
    OPEN_ENDED,
    SHELTER,
    STAY_DISPOSITIFS,
)
from observatoire.core.formatting import french_change, french_number
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.core.schema import EXIT_REASONS
from observatoire.core.stats import proportion_ci
from observatoire.disclosure.cells import publish_mean
from observatoire.disclosure.publication import RETENTION_PARTS, key
from observatoire.disclosure.suppression import Publication
from observatoire.indicators.exits import UNKNOWN_REASON
from observatoire.reports.annual.chapters.cells import change_text, share_text, split_rows
from observatoire.reports.annual.context import (
    NOT_RECEIVED,
    ReportData,
    change_computable,
    fr_num,
    not_received,
    partners_unit,
    uncomputed_change,
)

__all__ = [
    "INTRO",
    "context",
    "dispositif_chapter",
    "dispositif_chapters",
    "entry_period",
    "exits_rows",
    "retention_rows",
    "shelter_context",
    "stays_text",
]


def context(data: ReportData) -> dict[str, Any]:
    """The chapters of the dispositifs, in the network's order (one include, one loop)."""
    ind, pub, min_mean = data.ind, data.pub, data.min_mean
    shelter = shelter_context(ind, min_mean)
    if shelter and not change_computable(data, SHELTER):
        shelter["nights_change"] = shelter["refusals_change"] = uncomputed_change(data, SHELTER)
    return {
        "chapters": dispositif_chapters(data),
        "chapter_order": [d for d in DISPOSITIFS if d in ind["dispositifs"]],
        "shelter": shelter,
        "interventions": NOT_RECEIVED
        if not_received(data, "urgence_sociale")
        else fr_num((ind.get("interventions") or {}).get("urgence_sociale")),
        "ma_stays": stays_text(ind, "maison_accueil", min_mean),
        "hf_stays": stays_text(ind, "housing_first", min_mean),
        "exits": {
            code: exits_rows(ind, pub, code)
            for code in ind["dispositifs"]
            if exits_rows(ind, pub, code)
        },
        "retention": retention_rows(ind, pub),
    }


def dispositif_chapters(data: ReportData) -> dict[str, dict[str, Any]]:
    """Key figures of every dispositif's chapter, by code."""
    units = {code: partners_unit(data.partners, code) for code in data.ind["dispositifs"]}
    chapters = {
        code: dispositif_chapter(code, data.ind, data.pub, data.min_mean, units[code])
        for code in data.ind["dispositifs"]
    }
    for code, chapter in chapters.items():
        chapter["received"] = not not_received(data, code)
        if not change_computable(data, code):  # a partial or absent year is never compared
            chapter["persons_change"] = chapter["contacts_change"] = uncomputed_change(data, code)
        if not chapter["received"]:  # an export received empty: missing, not zero
            chapter["persons"] = chapter["contacts"] = NOT_RECEIVED
            chapter["new_share"], chapter["duration"] = "–", None
    return chapters


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
        "in_text": IN_TEXT[code],
        "stay": code in STAY_DISPOSITIFS,
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
            "capped": code in OPEN_ENDED,
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


def shelter_context(ind: dict[str, Any], min_mean: int) -> dict[str, Any] | None:
    """The night shelter's nights, capacity, occupancy and refusals (not person counts)."""
    sh = ind["shelter"]
    if not sh:
        return None
    return {
        "nights": fr_num(sh["nights"]),
        "nights_change": french_change(sh["nights"], sh["nights_prev"]),
        "beds": sh["capacity"]["beds"],
        "winter_beds": sh["capacity"]["winter_extra_beds"],
        "capacity_nights": fr_num(sh["capacity_nights"]),
        "occupancy": fr_pct(sh["occupancy"]),
        "occupancy_prev": fr_pct(sh["occupancy_prev"]),
        "refusals": fr_num(sh["refusals"]),
        "refusals_prev": fr_num(sh["refusals_prev"]),
        "refusals_change": french_change(sh["refusals"], sh["refusals_prev"]),
        "refusal_nights": fr_num(sh["refusal_nights"]),
        "stays": stays_text(ind, "hebergement_urgence", min_mean),
        "winters": [
            {
                "winter": w["winter"].replace("-", "–"),
                "nights": fr_num(w["nights"]),
                "capacity": fr_num(w["capacity_nights"]),
                "occupancy": fr_pct(w["occupancy"]),
                "refusals": fr_num(w["refusals"]),
                "refusal_nights": fr_num(w["refusal_nights"]),
            }
            for w in ind.get("winters", [])
            if w.get("complete")
        ],
    }


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
    """Exits of one dispositif by reason, masked like persons. ``known_share`` is the share of
    exits with a reason other than « inconnu », from the published cells (« – » when the
    « inconnu » cell is masked): « 100 % portent un motif » beside 9.7 % « Inconnu » said that
    the column was filled, not that the reason was known."""
    exits = (ind.get("exits") or {}).get(code)
    if not exits or not exits.get("exits"):
        return None
    y = int(ind["year"])
    total_key = key(y, f"dispositif={code}", what="sorties")
    unknown_key = key(y, f"dispositif={code}", f"motif={UNKNOWN_REASON}", what="sorties")
    known_share = "–"
    if not pub.hidden(total_key) and not pub.hidden(unknown_key) and pub.values.get(total_key):
        total = pub.values[total_key]
        known_share = fr_pct((total - pub.values.get(unknown_key, 0)) / total, 0)
    rows = []
    for reason, label in EXIT_REASONS.items():
        k = key(y, f"dispositif={code}", f"motif={reason}", what="sorties")
        rows.append(
            {"reason": label, "count": pub.cell_text(k), "share": share_text(pub, k, total_key)}
        )
    return {
        "total": pub.cell_text(total_key),
        "exported_share": fr_pct(exits.get("exported_share"), 0),
        "known_share": known_share,
        "rows": rows,
    }


def retention_rows(ind: dict[str, Any], pub: Publication) -> list[dict[str, Any]]:
    """Housing First: still housed 12 and 24 months after entry, deaths in a column of their
    own. Two shares: among the whole cohort (deaths in the base, printed as soon as the cohort
    and the housed are published) and among the persons alive at their anniversary (printed
    only when every part is published, since it gives the deaths away)."""
    rows = []
    for months, r, texts, ok, _ in split_rows(
        ind, pub, "housing_first", "housing_first", RETENTION_PARTS
    ):
        y = int(ind["year"])
        base = key(y, f"horizon={months}", what="housing_first")
        housed_key = key(y, f"horizon={months}", "logees", what="housing_first")
        whole_ok = not (pub.hidden(base) or pub.hidden(housed_key)) and r["cohort"]
        # the share without rehousings gives the rehoused back (housed − strict): printed only
        # when that count is 0 or at least k, like any count of persons
        rehoused = r["housed"] - r.get("housed_strict", r["housed"])
        strict_ok = whole_ok and not 0 < rehoused < pub.k
        low, upp = proportion_ci(r["housed"], r["cohort"]) if whole_ok else (None, None)
        rows.append(
            {
                "months": months,
                "cohort": texts["base"],
                "deceased": texts["decedees"],
                "housed": texts["logees"],
                "entries": entry_period(r.get("entry_first"), r.get("entry_last")),
                "share": fr_pct(r["housed"] / r["cohort"]) if whole_ok else "–",
                "ci": f"{fr_pct(low)} à {fr_pct(upp)}" if whole_ok else "–",
                "share_alive": fr_pct(r["share"]) if ok else "–",
                "share_strict": fr_pct(r["housed_strict"] / r["cohort"]) if strict_ok else "–",
                "share_value": r["housed"] / r["cohort"] if whole_ok else None,
                "lower": low,
                "upper": upp,
            }
        )
    return rows


def entry_period(first: str | None, last: str | None) -> str:
    """« 01/2020 à 12/2023 »: the entry months of a Housing First cohort (short enough for a
    table column; the days are no news to a reader)."""
    if not first or not last:
        return "–"

    def month(iso: str) -> str:
        y, m, _ = iso[:10].split("-")
        return f"{m}/{y}"

    return f"{month(first)} à {month(last)}"
