"""Section « Couverture et limites »: what each partner sent, which rows were set aside and why,
and the months a large partner sent nothing."""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import (
    DISPOSITIFS,
    HOUSING_FIRST,
    SHELTER,
    STREET_WORK,
)
from observatoire.reports.annual.context import MONTHS_FR, ReportData, file_year, fr_num

__all__ = [
    "ABSENT_CONSEQUENCES",
    "MIN_MONTHLY_ROWS_FOR_GAP",
    "QUARANTINE_REASONS_SHORT",
    "absent_dispositifs",
    "context",
    "file_rows",
    "partial_network",
    "present_dispositifs",
]

ABSENT_CONSEQUENCES = {
    SHELTER: "ni nuitées, ni refus faute de place, ni occupation des lits, ni prévision de "
    "la demande pour l'hiver",
    STREET_WORK: "les personnes rencontrées seulement en rue ne sont pas comptées",
    HOUSING_FIRST: "ni maintien dans le logement, ni entrées en logement Housing First",
}
"""What a reader loses, beyond the dispositif's own rows, when no partner runs it."""

MIN_MONTHLY_ROWS_FOR_GAP = 20

QUARANTINE_REASONS_SHORT = {
    "date_illisible": "date illisible",
    "date_manquante": "date absente",
    "date_hors_periode": "hors période",
    "nombre_illisible": "nombre illisible",
    "code_inconnu": "code inconnu",
    "identite_manquante": "identifiant absent",
    "ligne_total": "ligne de total",
    "ligne_dupliquee": "doublon",
    "fichier_en_double": "fichier en double",
    "periode_deja_couverte": "période renvoyée",
    "dates_incoherentes": "dates incohérentes",
    "nuitees_incoherentes": "nuitées incohérentes",
    "valeur_hors_plage": "hors plage",
}


def context(data: ReportData) -> dict[str, Any]:
    """Rows read, kept and set aside per file of the year, and the missing months."""
    ind, rows, year = data.ind, data.rows, data.year
    coverage_year = [r for r in file_rows(data) if r["year"] == year]
    # A month without rows is a gap in delivery only for a partner that usually sends many rows
    # a month; a small service (a few tenancies a year) has empty months by nature.
    months_missing = {
        ind["partners"][p]["name"]: [MONTHS_FR[i] for i, v in enumerate(vals) if v == 0]
        for p, vals in ind["coverage"].items()
        if sum(vals) / 12 >= MIN_MONTHLY_ROWS_FOR_GAP
    }
    return {
        "coverage_year": coverage_year,
        "rows_total": {
            "read": fr_num(
                sum(r["rows_read"] for f, r in rows["files"].items() if file_year(f) == year)
            ),
            "clean": fr_num(
                sum(r["rows_clean"] for f, r in rows["files"].items() if file_year(f) == year)
            ),
            "quarantined": fr_num(
                sum(r["rows_quarantined"] for f, r in rows["files"].items() if file_year(f) == year)
            ),
        },
        "months_missing": {p: m for p, m in months_missing.items() if m},
        "absent_dispositifs": absent_dispositifs(data),
        "partial_network": partial_network(data),
        "street_work_present": STREET_WORK in present_dispositifs(data),
    }


def present_dispositifs(data: ReportData) -> list[str]:
    """The dispositifs of the vocabulary some partner of the network runs, in its order."""
    present = {m.dispositif for m in data.partners.values()}
    return [code for code in DISPOSITIFS if code in present]


def _labels(codes: list[str]) -> str:
    """« a, b et c » of the dispositifs' French labels."""
    labels = [DISPOSITIFS[c] for c in codes]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " et " + labels[-1]


def partial_network(data: ReportData) -> dict[str, str] | None:
    """When some dispositif of the vocabulary has no partner: which are absent and which are
    present, worded for the introduction, the key figures and the coverage chapter (the network's
    counts cover only the present ones). None for a complete network."""
    present = present_dispositifs(data)
    absent = [code for code in DISPOSITIFS if code not in present]
    if not absent:
        return None
    return {
        "absent": _labels(absent),
        "present": f"le{'s' if len(present) > 1 else ''} dispositif"
        f"{'s' if len(present) > 1 else ''} présent{'s' if len(present) > 1 else ''} ("
        + _labels(present)
        + ")",
        "plural": "nt" if len(absent) > 1 else "",
        "plural_ce": "s" if len(absent) > 1 else "",
    }


def absent_dispositifs(data: ReportData) -> list[str]:
    """One French sentence per dispositif of the vocabulary that no partner of the network runs
    (no mapping names it): the report does not compute its figures, and says so rather than
    printing zeros. Empty for a complete network."""
    present = {m.dispositif for m in data.partners.values()}
    out = []
    for code, label in DISPOSITIFS.items():
        if code in present:
            continue
        extra = ABSENT_CONSEQUENCES.get(code)
        out.append(
            f"{label} : aucun partenaire de ce dispositif ne transmet de données ; ses "
            "indicateurs ne sont pas calculés et il n'apparaît dans aucun tableau"
            + (f" ({extra})." if extra else ".")
        )
    return out


def file_rows(data: ReportData) -> list[dict[str, Any]]:
    """One row per source file (every year): partner, rows read, kept, set aside and why."""
    partners = data.partners
    coverage_rows = []
    for source_file, acc in sorted(data.rows["files"].items()):
        coverage_rows.append(
            {
                "file": source_file,
                "partner": partners[acc["partner_id"]].name
                if acc["partner_id"] in partners
                else acc["partner_id"],
                "read": fr_num(acc["rows_read"]),
                "clean": fr_num(acc["rows_clean"]),
                "quarantined": fr_num(acc["rows_quarantined"]),
                "reasons": ", ".join(
                    f"{QUARANTINE_REASONS_SHORT.get(r, r)} ({n})" for r, n in acc["reasons"].items()
                )
                or "—",
                "year": file_year(source_file),
            }
        )
    return coverage_rows
