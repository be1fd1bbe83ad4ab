"""The project's monthly activity sheet for the team meeting: XLSX (one sheet per month) and
PDF (one page per month), compiled like the relays' sheet (:mod:`observatoire.reports.relays.
sheets`: Typst string literals only, neutralised workbook cells, fixed timestamps). Person
counts are the ledger's texts."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from observatoire.core.formatting import MOIS_NOMS
from observatoire.core.formatting import french_number as num
from observatoire.core.spreadsheet import text_cell
from observatoire.core.storage import atomic_write_bytes, pin_zip_times
from observatoire.reports.relays.sheets import PREAMBLE, lit
from observatoire.reports.relays.sheets import compile_typst as _compile
from observatoire.reports.relays.sheets import typst_table as _table
from observatoire.reports.relays.sheets import xlsx_value as _xlsx_value

__all__ = ["monthly_sheet_pdf", "monthly_sheet_xlsx"]


def _rows(m: dict[str, Any], k: int) -> tuple[list[list[Any]], list[list[Any]], str]:
    key = [["Séances tenues", m["sessions"]], ["Présences", m["presences"]],
           ["Participants différents", m["participants"]],
           ["dont nouveaux (première venue)", m["new"]]]  # fmt: skip
    for i, t in enumerate(m["council"]):
        key.append([f"Présences au conseil des locataires{' ' + str(i + 1) if i else ''}", t])
    key.append(
        [
            "Dépenses cumulées depuis janvier",
            f"{num(m['spent'])}\u202f€" if m["spent"] is not None else "–",
        ]
    )
    acts = [list(a) for a in m["activities"]] or [["Aucune séance", "0"]]
    note = (
        f"Secret statistique : aucun nombre de personnes de 1 à {k - 1} n'est imprimé (« < {k} ») ;"
        " « s » marque un nombre masqué pour qu'un petit nombre ne se déduise pas des autres. "
        "Les séances et les euros ne sont pas des personnes. Aucun nom n'est imprimé : "
        "la liste des présents reste dans le tableau de l'équipe."
    )
    return key, acts, note


def monthly_sheet_pdf(
    months: list[dict[str, Any]], pdf: Path, organisation: str, label: str, year: int, k: int
) -> None:
    """One page per month: sessions, presences, participants, council, activities, spending."""
    parts = [PREAMBLE.format(title=lit(f"{label} — fiches mensuelles {year}"),
                             author=lit(organisation),
                             footer=lit(f"{organisation} — {label}, fiches {year}"))]  # fmt: skip
    for i, m in enumerate(months):
        if i:
            parts.append("#pagebreak()\n")
        key, acts, note = _rows(m, k)
        parts.append(
            f"#text(size: 9pt, fill: luma(90), {lit('Réunion d’équipe — ' + label)})\n\n"
            f'#text(size: 17pt, weight: "bold", {lit("Fiche d’activité — " + m["label"])})\n\n'
        )
        parts.append("#grid(columns: (1.2fr, 1fr), gutter: 1.2em,\n[")
        parts.append(_table(["Le mois", "Valeur"], key, "lr"))
        parts.append("], [")
        parts.append(_table(["Activités", "Séances"], acts, "lr"))
        parts.append("])\n#v(0.8em)\n")
        parts.append(f"#text(size: 8.5pt, {lit(note)})\n")
    _compile("".join(parts), pdf, dt.date(year + 1, 3, 31))


def monthly_sheet_xlsx(
    months: list[dict[str, Any]], path: Path, organisation: str, label: str, year: int, k: int
) -> None:
    """The same content as a workbook, one sheet per month."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for m in months:
        ws = wb.create_sheet(MOIS_NOMS[m["month"] - 1][:31])
        key, acts, note = _rows(m, k)
        rows = [
            [f"{organisation} — {label}, fiche d'activité {m['label']}"],
            [],
            ["Le mois", "Valeur"],
            *key,
            [],
            ["Activités", "Séances"],
            *acts,
            [],
            [note],
        ]
        for r in rows:
            ws.append([_xlsx_value(v) for v in r])
        ws["A1"].font = Font(bold=True, size=12)
        for row in ws.iter_rows():
            for cell in row:
                text_cell(cell)
                if cell.value in ("Le mois", "Activités"):
                    cell.font = Font(bold=True)
        ws.column_dimensions["A"].width = 44
        ws.column_dimensions["B"].width = 14
    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(path, pin_zip_times(buf.getvalue(), dt.datetime(year + 1, 3, 31, 12)))
