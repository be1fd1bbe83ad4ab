"""Section « Couverture et limites »: what each partner sent, which rows were set aside and why,
and the months a large partner sent nothing."""

from __future__ import annotations

from typing import Any

from observatoire.core.coverage import (
    DECLARED,
    MONTH_NAMES,
    PROPOSED,
    periods_text,
    season_text,
)
from observatoire.core.dispositifs import (
    DISPOSITIFS,
    HOUSING_FIRST,
    SHELTER,
    STREET_WORK,
)
from observatoire.indicators.aggregates import count_only_partners
from observatoire.reports.annual.context import MONTHS_FR, ReportData, file_year, fr_num

__all__ = [
    "ABSENT_CONSEQUENCES",
    "MIN_MONTHLY_ROWS_FOR_GAP",
    "QUARANTINE_REASONS_SHORT",
    "STATUS_TEXT",
    "absent_dispositifs",
    "context",
    "coverage_rows",
    "file_rows",
    "partial_year_sentences",
    "partial_network",
    "present_dispositifs",
    "seasonal_partners",
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
    "hors_couverture_declaree": "hors couverture déclarée",
    "ligne_isolee": "ligne isolée",
    "jointure_sans_correspondance": "jointure sans correspondance",
    "jointure_ambigue": "jointure ambiguë",
    "occupation_excessive": "occupation excessive",
    "groupes_incoherents": "groupes incohérents",
}
STATUS_TEXT = {DECLARED: "déclarée", PROPOSED: "proposée (non déclarée)"}


def context(data: ReportData) -> dict[str, Any]:
    """Rows read, kept and set aside per file of the year, and the missing months."""
    ind, rows, year = data.ind, data.rows, data.year
    # A file without a year in its name (a relational export spanning years) is shown every year.
    coverage_year = [r for r in file_rows(data) if r["year"] in (year, None)]
    # A month without rows is a gap in delivery only for a partner that usually sends many rows
    # a month; a small service (a few tenancies a year) has empty months by nature.
    # ... and a seasonal partner's months off season are closed by design, not missing.
    cov = data.coverage
    off = {
        p: set(cov.partners[p].off_season_in_year(year)) if cov and p in cov.partners else set()
        for p in ind["coverage"]
    }
    months_missing = {
        ind["partners"][p]["name"]: [
            MONTHS_FR[i] for i, v in enumerate(vals) if v == 0 and i + 1 not in off[p]
        ]
        for p, vals in ind["coverage"].items()
        if sum(vals) / 12 >= MIN_MONTHLY_ROWS_FOR_GAP
    }
    return {
        "coverage_year": coverage_year,
        "rows_total": {
            "read": fr_num(
                sum(
                    r["rows_read"] for f, r in rows["files"].items() if file_year(f) in (year, None)
                )
            ),
            "clean": fr_num(
                sum(
                    r["rows_clean"]
                    for f, r in rows["files"].items()
                    if file_year(f) in (year, None)
                )
            ),
            "quarantined": fr_num(
                sum(
                    r["rows_quarantined"]
                    for f, r in rows["files"].items()
                    if file_year(f) in (year, None)
                )
            ),
        },
        "months_missing": {p: m for p, m in months_missing.items() if m},
        "absent_dispositifs": absent_dispositifs(data),
        "coverage_rows": coverage_rows(data),
        "partial_years": partial_year_sentences(data),
        "coverage_undeclared": [
            r["partner"] for r in coverage_rows(data) if r["status"] != STATUS_TEXT[DECLARED]
        ],
        "count_only_partners": [data.partners[p].name for p in count_only_partners(data.partners)],
        "seasonal_partners": seasonal_partners(data),
        "seasonal_names": _and(seasonal_partners(data)) if seasonal_partners(data) else "",
        "partial_network": partial_network(data),
        "street_work_present": STREET_WORK in present_dispositifs(data),
    }


def present_dispositifs(data: ReportData) -> list[str]:
    """The dispositifs of the vocabulary some partner of the network runs, in its order."""
    present = {d for m in data.partners.values() for d in m.dispositifs}
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


def _name(data: ReportData, pid: str) -> str:
    return data.partners[pid].name if pid in data.partners else pid


def _months_text(months: list[int]) -> str:
    """[1, …, 9] → « janvier à septembre » (runs joined by « et »)."""
    runs: list[list[int]] = []
    for m in months:
        if runs and m == runs[-1][1] + 1:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    parts: list[str] = []
    for a, b in runs:  # a run of two months is two names: « avril, mai », not « avril à mai »
        parts += (
            [MONTH_NAMES[m - 1] for m in range(a, b + 1)]
            if b - a < 2
            else [f"{MONTH_NAMES[a - 1]} à {MONTH_NAMES[b - 1]}"]
        )
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


def _md(text: str) -> str:
    """« 1er juin » with its superscript in the report's Markdown (« 1^er^ juin »)."""
    return text.replace("1er ", "1^er^ ")


def _and(names: list[str]) -> str:
    """« a, b et c »."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


def seasonal_partners(data: ReportData) -> list[str]:
    """The names of the partners that declare a season (closed by design the rest of the year)."""
    cov = data.coverage
    if cov is None:
        return []
    return [_name(data, pid) for pid, p in sorted(cov.partners.items()) if p.season]


def _year_months(p: Any, year: int) -> str:
    """« 12 (année entière) », « 9 (janvier à septembre) », or for a seasonal partner « saison :
    janvier à mars et novembre à décembre ; hors saison : avril à octobre »."""
    months = p.months_in_year(year)
    off = p.off_season_in_year(year)
    if off:
        season = [m for m in months if m not in off]
        shown = f"saison : {_months_text(season)}" if season else "saison : aucun mois"
        missing = [m for m in range(1, 13) if m not in months and m not in off]
        lacking = f" ; non couverts : {_months_text(missing)}" if missing else ""
        return f"{shown} ; hors saison : {_months_text(off)}{lacking}"
    if len(months) == 12:
        return "12 (année entière)"
    return f"{len(months)} ({_months_text(months)})" if months else "0"


def coverage_rows(data: ReportData) -> list[dict[str, Any]]:
    """One row per partner: how its coverage is known, its periods, the months of the year it
    covers and the stray rows set aside (empty without a coverage table)."""
    cov = data.coverage
    if cov is None:
        return []
    rows = []
    for pid, p in sorted(cov.partners.items(), key=lambda kv: _name(data, kv[0])):
        rows.append(
            {
                "partner": _name(data, pid),
                "status": STATUS_TEXT.get(p.status, p.status),
                "periods": periods_text(p.periods)
                + (f", saison {_md(season_text(p.season))}" if p.season else ""),
                "year_months": _year_months(p, data.year),
                "stray_rows": fr_num(p.stray_rows) if p.stray_rows else "—",
            }
        )
    return rows


def partial_year_sentences(data: ReportData) -> list[str]:
    """One French sentence per partner whose export covers the report year or the previous one
    in part only: what it covers, and the rule (counts of the months covered, no change, no
    trend, no annualisation)."""
    cov = data.coverage
    if cov is None:
        return []
    out = []
    for row in cov.absent_years():
        if row["year"] not in (data.year, data.year - 1):
            continue
        out.append(
            f"{_name(data, row['partner_id'])} : aucune donnée reçue pour {row['year']} (export "
            "vide ou jamais envoyé) alors que sa couverture inclut cette année. Ses chiffres de "
            f"{row['year']} sont « non reçus », pas zéro : ils ne sont ni publiés comme tels, ni "
            "comparés à une autre année (ni pour son dispositif ni pour le réseau)."
        )
    for row in cov.partial_years():
        if row["year"] not in (data.year, data.year - 1):
            continue
        off = cov.partners[row["partner_id"]].off_season_in_year(row["year"])
        if off:  # a seasonal partner: its season is what it should cover
            season = [m for m in range(1, 13) if m not in off]
            covered = [m for m in row["months"] if m not in off]
            out.append(
                f"{_name(data, row['partner_id'])} : en {row['year']}, les exports ne couvrent "
                f"que {_months_text(covered) if covered else 'aucun mois'} de sa saison "
                f"({_months_text(season)}). Ses chiffres de {row['year']} sont ceux des mois "
                "couverts ; l'année est exclue des tendances et aucune variation d'une année "
                "sur l'autre n'est calculée avec elle (ni pour son dispositif ni pour le "
                "réseau), plutôt qu'annualisée."
            )
            continue
        out.append(
            f"{_name(data, row['partner_id'])} : en {row['year']}, les exports ne couvrent que "
            f"{_months_text(row['months'])} ({len(row['months'])} mois sur 12). Ses chiffres de "
            f"{row['year']} sont ceux des mois couverts ; l'année est exclue des tendances et "
            "aucune variation d'une année sur l'autre n'est calculée avec elle (ni pour son "
            "dispositif ni pour le réseau), plutôt qu'annualisée : les mois d'une année ne se "
            "valent pas (l'hiver n'est pas l'été)."
        )
    return out


def absent_dispositifs(data: ReportData) -> list[str]:
    """One French sentence per dispositif of the vocabulary that no partner of the network runs
    (no mapping names it): the report does not compute its figures, and says so rather than
    printing zeros. Empty for a complete network."""
    present = {d for m in data.partners.values() for d in m.dispositifs}
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
                else getattr(data, "source_names", {}).get(acc["partner_id"], acc["partner_id"]),
                "read": fr_num(acc["rows_read"]),
                "clean": fr_num(acc["rows_clean"]),
                "quarantined": fr_num(acc["rows_quarantined"]),
                "reasons": ", ".join(
                    [
                        f"{QUARANTINE_REASONS_SHORT.get(r, r)} ({n})"
                        for r, n in acc["reasons"].items()
                    ]
                    + (
                        [f"hors champ des filtres ({fr_num(acc['rows_filtered'])}, non écartées)"]
                        if acc.get("rows_filtered")
                        else []
                    )
                )
                or "—",
                "year": file_year(source_file),
            }
        )
    return coverage_rows
