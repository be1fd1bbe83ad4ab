"""The report's tables as files: one CSV per table, an XLSX workbook, the ledger of every cell.

Partners and authorities reuse the numbers of the report; the files hold exactly what the report
prints (« < k » and « s » included), with readable row and column labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.schema import EXIT_REASONS, NATIONALITY_GROUPS
from observatoire.core.spreadsheet import text_cell, write_safe_csv
from observatoire.disclosure.publication import TOTAL, Tables
from observatoire.disclosure.suppression import Publication
from observatoire.indicators.counts import SEX_UNKNOWN_OR_X
from observatoire.reports.annual.chapters.network import AGE_LABELS
from observatoire.reports.annual.context import Masthead

__all__ = [
    "COLUMN_LABELS",
    "INDEX_LABELS",
    "published_tables",
    "row_label",
    "write_exports",
    "write_tables_workbook",
]


def write_exports(
    folder: Path,
    tables: Tables,
    pub: Publication,
    ind: dict[str, Any],
    shelter: dict[str, Any] | None,
    masthead: Masthead,
) -> None:
    """Every table as a CSV and the workbook ``tableaux_<year>.xlsx`` (the year's ledger of
    every cell is written beside them by the ``publication`` stage)."""
    partner_names = {pid: p["name"] for pid, p in ind.get("partners", {}).items()}
    frames = published_tables(tables, pub, partner_names, shelter)
    for name, frame in frames.items():
        write_safe_csv(frame, folder / f"{name}.csv", quote_all=False)
    write_tables_workbook(frames, tables, masthead, folder / f"tableaux_{masthead.year}.xlsx")


def published_tables(
    tables: Tables,
    pub: Publication,
    partner_names: dict[str, str],
    shelter: dict[str, Any] | None,
) -> dict[str, pd.DataFrame]:
    """The report's tables as data, with the same suppression as in the report: every table of
    the publication (person counts as published: « < k » and « s » included), and the night
    shelter's figures as the dispositifs' chapter prints them (``shelter``)."""
    names = partner_names
    out: dict[str, pd.DataFrame] = {}
    for table in tables.tables:
        text = pub.text(table)
        label = INDEX_LABELS.get(table.name, "ligne")
        frame = text.reset_index(names=label)
        frame[label] = [row_label(table.name, v, names) for v in frame[label]]
        frame.columns = [COLUMN_LABELS.get(str(c), str(c)) for c in frame.columns]
        out[table.name] = frame
    out["chiffres_hebergement_urgence"] = (
        pd.DataFrame(
            [
                {"indicateur": label, "valeur": value}
                for label, value in (
                    ("nuitées", shelter["nights"]),
                    ("nuitées offertes", shelter["capacity_nights"]),
                    ("taux d'occupation", shelter["occupancy"]),
                    ("refus faute de place", shelter["refusals"]),
                    ("nuits avec au moins un refus", shelter["refusal_nights"]),
                )
            ]
        )
        if shelter
        else pd.DataFrame()
    )
    return {name: frame for name, frame in out.items() if len(frame)}


INDEX_LABELS = {
    "personnes_par_dispositif": "dispositif",
    "personnes_identifiees_et_travail_de_rue": "personnes",
    "personnes_par_partenaire": "partenaire",
    "personnes_par_annee": "annee",
    "personnes_par_dispositif_et_annee": "dispositif",
    "personnes_par_age_et_sexe": "tranche_age",
    "personnes_par_nationalite": "nationalite",
    "sorties_par_motif": "dispositif",
    "flux_par_annee": "annee",
    "flux_par_dispositif": "dispositif",
    "nombre_de_dispositifs": "nombre_de_dispositifs",
    "combinaisons_de_dispositifs": "combinaison",
    "personnes_longue_duree": "jours_de_presence_sur_3_ans",
    "housing_first_maintien": "mois_apres_entree",
    "retours_apres_relogement": "mois_apres_sortie",
    "duree_dans_les_services": "dispositif",
    "personnes_par_mois": "mois",
}
COLUMN_LABELS = {
    "M": "hommes",
    "F": "femmes",
    SEX_UNKNOWN_OR_X: "sexe_inconnu_ou_X",
    "new": "nouveaux",
    "continuing": "continus",
    "returning": "de_retour",
    TOTAL: "total",
    **{code: label for code, label in EXIT_REASONS.items()},
}


def row_label(table: str, value: Any, partner_names: dict[str, str] | None = None) -> str:
    text = str(value)
    if table == "personnes_par_partenaire" and partner_names and text in partner_names:
        return partner_names[text]
    if text in DISPOSITIFS:
        return DISPOSITIFS[text]
    if table == "personnes_par_nationalite":
        return NATIONALITY_GROUPS.get(text, text)
    if table == "personnes_par_age_et_sexe":
        return AGE_LABELS.get(text, text)
    if table == "personnes_identifiees_et_travail_de_rue":
        return {
            "identifies": "Identifiées (par leur nom, tous services)",
            "travail_rue": "Vues seulement par le travail de rue",
        }.get(text, text)
    if text == "reseau":
        return "Réseau (personnes distinctes)"
    return text


def write_tables_workbook(
    tables: dict[str, pd.DataFrame], publication: Tables, masthead: Masthead, path: Path
) -> None:
    """One XLSX workbook for partners and authorities: a sheet per table and a notes sheet.

    Cells hold the published text (« < 5 » included), exactly as in the report and the CSVs.
    The workbook is byte-reproducible: its timestamps are pinned to the report's date.
    """
    import datetime as dt
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from observatoire.core.storage import atomic_write_bytes, pin_zip_times

    k = masthead.k
    titles = {t.name: t.title for t in publication.tables}
    titles["chiffres_hebergement_urgence"] = "Hébergement d'urgence : nuitées, occupation, refus"
    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    lines = [
        f"{masthead.title} — tableaux {masthead.year}",
        masthead.organisation,
        "",
        f"Secret statistique : aucun nombre de personnes entre 1 et {k - 1} n'est publié "
        f"(« < {k} »). Une case « s » est masquée pour qu'aucune case « < {k} » ne "
        "puisse être recalculée par différence (totaux, autres tableaux, tableaux de l'an "
        "dernier). Les totaux sont calculés sur les données complètes.",
        "Une personne aidée par plusieurs dispositifs est comptée dans chacun : la somme des "
        "dispositifs dépasse le total du réseau.",
        "Les personnes du travail de rue (initiales et âge estimé) ne sont pas reliées aux autres "
        "services : le total du réseau est un maximum.",
        f"Produit par observatoire {masthead.code_version}.",
        "",
        "Feuilles :",
        *(f"  {name} : {titles.get(name, name)}" for name in tables),
    ]
    for row, text in enumerate(lines, start=1):
        notes.cell(row=row, column=1, value=text)
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 110
    for name, frame in tables.items():
        ws = wb.create_sheet(name[:31])
        ws.cell(row=1, column=1, value=titles.get(name, name)).font = Font(bold=True)
        for col, label in enumerate(frame.columns, start=1):
            header = ws.cell(row=3, column=col, value=str(label))
            header.font = Font(bold=True)
            text_cell(header)
            ws.column_dimensions[chr(64 + col)].width = max(14, len(str(label)) + 2)
        for r, values in enumerate(frame.itertuples(index=False), start=4):
            for col, value in enumerate(values, start=1):
                text_cell(ws.cell(row=r, column=col, value=value))
    stamp = dt.datetime.fromisoformat(masthead.date)
    wb.properties.creator = masthead.organisation
    wb.properties.created = stamp
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(path, pin_zip_times(buffer.getvalue(), stamp))
