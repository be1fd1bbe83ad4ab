"""Section « Annexe méthodologique »: linkage, statistical disclosure control (the audit that
stops the report if a masked cell could be recomputed), quarantine reasons, data and code versions.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.core.schema import QUARANTINE_REASONS
from observatoire.disclosure.publication import IMPUTATION_SCOPES, imputation_key, key
from observatoire.disclosure.suppression import (
    LATENT,
    PRIMARY,
    SECONDARY,
    UNPRINTED,
    Publication,
    latent_exposure,
)
from observatoire.reports.annual.context import ReportData, fr_num

__all__ = ["context", "disclosure_summary", "imputation_context", "linkage_quality_rows"]


def context(data: ReportData) -> dict[str, Any]:
    """Raises ValueError when the disclosure audit finds a recoverable masked cell."""
    linkage, year, pub = data.linkage, data.year, data.pub
    return {
        "min_mean": data.min_mean,
        "linkage": linkage,
        "linkage_records": fr_num(linkage.get("records")),
        "linkage_quality": linkage_quality_rows(linkage),
        "linkage_persons": _printed(pub, key(year, "liaison=toute_la_periode")),
        "linkage_threshold": fr_num(linkage.get("parametres", {}).get("seuil", float("nan")), 2),
        "network_range": {
            bound: _printed(pub, key(year, f"liaison=fourchette_{bound}"))
            for bound in ("minimum", "maximum")
        },
        "imputation": imputation_context(data),
        "disclosure": disclosure_summary(
            data.pub, data.audit_table, latent_exposure(data.pub, data.pub_prev)
        ),
        "ledger_cells": fr_num(data.ledger_cells),
        "previous_released": (
            str(data.previous_released) if data.previous_released is not None else ""
        ),
        "reasons": QUARANTINE_REASONS,
        "code_version": data.masthead.code_version,
        "params_file": str(data.params_path),
        "inputs": [{"file": f, "sha256": v["sha256"]} for f, v in sorted(data.inputs.items())],
    }


def imputation_context(data: ReportData) -> dict[str, Any] | None:
    """The linkage imputations as the annex prints them: the method's figures and, per row of
    the published table, the count at the threshold and the interval's ends (ledger cells)."""
    imp, pub, year = data.imputations, data.pub, data.year
    if not imp or imputation_key(year, "dossiers_nominatifs", "bas") not in pub.status:
        return None
    retained = {
        "dossiers_nominatifs": (
            "Personnes identifiées (hors travail de rue)",
            key(year, "identifies"),
        ),
    }
    rows = []
    for scope in [s for s in IMPUTATION_SCOPES if s != "reseau"] + sorted(DISPOSITIFS):
        label, cell = retained.get(
            scope, (DISPOSITIFS.get(scope, scope), key(year, f"dispositif={scope}"))
        )
        low = imputation_key(year, scope, "bas")
        if low not in pub.status:
            continue
        rows.append(
            {
                "label": label,
                "retained": _printed(pub, cell),
                "low": pub.cell_text(low),
                "high": pub.cell_text(imputation_key(year, scope, "haut")),
            }
        )
    rec = imp.get("recalibration", {})
    cov = imp.get("couverture_verite")
    return {
        "draws": imp.get("imputations"),
        "level": fr_num(100 * float(imp.get("niveau", 0.95))),
        "source": rec.get("source", ""),
        "reviewed": fr_num(rec.get("paires_relues", 0)),
        "rows": rows,
        "network_low": pub.cell_text(imputation_key(year, "reseau", "bas")),
        "network_high": pub.cell_text(imputation_key(year, "reseau", "haut")),
        "coverage": None
        if not cov
        else {"covered": cov["comptes_couverts"], "cells": cov["comptes"]},
    }


def _printed(pub: Publication, cell: str) -> str:
    """A linkage count as the publication prints it (« – » when the metrics lack it)."""
    return pub.cell_text(cell) if cell in pub.status else "–"


def disclosure_summary(
    pub: Publication, audit_table: pd.DataFrame, exposure: pd.DataFrame | None = None
) -> dict[str, Any]:
    """How many cells the rule masked, what the audit found, and what a reader can deduce of
    the small combinations gathered in « autres » (stated in the annex)."""
    statuses = [s for s in pub.status.values() if s not in (LATENT, UNPRINTED)]
    exposure = exposure if exposure is not None else pd.DataFrame(columns=["exact"])
    this_year = (
        audit_table[audit_table["key"].isin(pub.status)] if len(audit_table) else audit_table
    )
    # « inevitable »: the labels and published zeros alone narrow the cell a little, and no
    # further suppression could change that (see observatoire.disclosure.suppression); never an
    # exact value.
    safe = audit_table["protected"] | audit_table["inevitable"] if len(audit_table) else []
    if len(audit_table) and not bool(safe.all()):
        bad = audit_table.loc[~safe, "key"].tolist()
        raise ValueError(
            "Secret statistique : des cases masquées pourraient être recalculées "
            f"({', '.join(bad[:5])}). À faire : signalez-le à l'équipe ; le rapport n'est pas "
            "publié."
        )
    return {
        "cells": fr_num(len(statuses)),
        "primary": fr_num(sum(s == PRIMARY for s in statuses)),
        "secondary": fr_num(sum(s == SECONDARY for s in statuses)),
        "audited": fr_num(len(this_year)),
        "audited_all": fr_num(len(audit_table)),
        "tables": fr_num(len(pub.tables)),
        "latent": len(exposure),
        "latent_exact": int(exposure["exact"].sum()) if len(exposure) else 0,
    }


def linkage_quality_rows(linkage: dict[str, Any]) -> list[dict[str, str]]:
    """Quality of the linkage methods against the synthetic truth (empty on real data)."""
    quality = linkage.get("qualite") or {}
    if "modele" not in quality:
        return []
    methods = [("Modèle probabiliste (Splink)", quality["modele"])]
    refs = quality.get("references", {})
    if "regles_deterministes" in refs:
        methods.append(("Règles déterministes (première méthode)", refs["regles_deterministes"]))
    if "cle_exacte" in refs:
        methods.append(("Clé exacte (initiales, date de naissance, sexe)", refs["cle_exacte"]))
    rows = []
    for label, q in methods:
        named = q["identifies"]
        pairs, persons = named["paires_de_dossiers"], named["personnes"]
        rows.append(
            {
                "method": label,
                "precision": fr_num(pairs["precision"], 3),
                "recall": fr_num(pairs["rappel"], 3),
                "found": fr_num(persons["trouvees"]),
                "true": fr_num(persons["vraies"]),
                "gap": fr_pct(persons["ecart_relatif"], 1, signed=True),
            }
        )
    return rows
