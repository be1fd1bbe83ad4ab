"""What `observatoire check` adds for an export of a field form (KoboToolbox, ODK).

A form's workbook has a main sheet and one sheet per repeat group; the check reads the main
sheet like ingest, then each repeat sheet with the submissions kept from it (a group whose
submission is absent is set aside, as ingest would). When the mapping declares its form
(``form:``, ``params/formulaires/<form>.xlsx``), the export's columns and choice values are
compared with the form: a column or a value the form does not know is named (a partner's form
edited on its server, an older version the mapping does not yet know).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from observatoire.core.forms import read_form, unknown_values
from observatoire.core.schema import PROJECT_CHILD_TABLES
from observatoire.intake.ingest import FileResult, read_partner_file
from observatoire.intake.mapping import ExportSpec, PartnerMapping, normalise_label

__all__ = ["MAX_LISTED", "form_notes", "repeat_sheets", "split_repeats"]

MAX_LISTED = 12
"""Columns or values a note names before « … »."""


def split_repeats(specs: list[ExportSpec]) -> tuple[list[ExportSpec], list[ExportSpec]]:
    """The exports of a workbook's main sheet, and those of its repeat sheets."""
    main = [s for s in specs if s.table not in PROJECT_CHILD_TABLES]
    repeats = [s for s in specs if s.table in PROJECT_CHILD_TABLES]
    return (main or repeats[:1]), (repeats if main else repeats[1:])


def repeat_sheets(
    file: Path, partner: PartnerMapping, repeats: list[ExportSpec], parents: set[str]
) -> list[tuple[ExportSpec, FileResult]]:
    """Each repeat sheet read as ingest reads it, with the submissions of the main sheet."""
    return [
        (s, read_partner_file(file, f"{file}#{s.format.sheet}", partner, s, parents=parents)[0])
        for s in repeats
    ]


def _shown(items: list[str]) -> str:
    more = ", …" if len(items) > MAX_LISTED else ""
    return ", ".join(f"« {c} »" for c in items[:MAX_LISTED]) + more


def form_notes(
    file: Path, partner: PartnerMapping, specs: list[ExportSpec], forms_dir: Path
) -> list[str]:
    """French notes: columns and choice values of the export unknown to the declared form."""
    notes: list[str] = []
    for spec in specs:
        form = spec.form or partner.form
        if not form:
            continue
        path = Path(forms_dir) / f"{form}.xlsx"
        if not path.is_file():
            notes.append(
                f"le formulaire « {form} » déclaré par la correspondance est introuvable "
                f"({path}) : colonnes et choix non comparés au formulaire."
            )
            continue
        layout = read_form(path)
        sheet = spec.format.sheet or layout.form_id
        try:
            cells = pd.read_excel(file, sheet_name=sheet, dtype=object)
        except (ValueError, OSError):
            continue
        aliases = {normalise_label(x) for c in spec.columns.values() for x in c.labels()}
        known = {normalise_label(c) for c in layout.known(sheet)}
        # an older version's select_multiple (named by aliases) brings its 0/1 option columns
        multiple = {
            normalise_label(x) for c in spec.columns.values() if c.multiple for x in c.labels()
        }
        strange = [
            str(c)
            for c in cells.columns
            if normalise_label(c) not in known
            and normalise_label(c) not in aliases
            and normalise_label(str(c).rsplit("/", 1)[0]) not in multiple
        ]
        if strange:
            notes.append(
                f"feuille « {sheet} » : colonne(s) que le formulaire « {form} » "
                f"(version {layout.version or '?'}) ne connaît pas : {_shown(strange)} "
                "(formulaire modifié sur le serveur, ou autre version : ajoutez-les aux aliases "
                "de la correspondance si elles remplacent une question)."
            )
        by_norm = {normalise_label(c): c for c in cells.columns}
        for column, options in layout.choices.items():
            label = by_norm.get(normalise_label(column))
            if label is None:
                continue
            mapped = [
                c
                for c in spec.columns.values()
                if normalise_label(c.column) == normalise_label(column)
            ]
            translated = set(mapped[0].codes or {}) if mapped else set()
            found = unknown_values(cells[label], options, column in layout.multiple)
            found = {v for v in found if normalise_label(v) not in translated}
            if found:
                notes.append(
                    f"feuille « {sheet} », colonne « {column} » : valeur(s) de choix que le "
                    f"formulaire ne connaît pas : {_shown(sorted(found))} (exportez avec « XML "
                    "values and headers » ; une valeur d'une ancienne version se traduit par "
                    "codes: dans la correspondance)."
                )
    return notes
