"""The relays' one-page documents: the steering committee's monthly sheet (XLSX and PDF, one
page per month) and the coordinator's statement per volunteer (PDF, one page, internal).

They are short forms, not reports: the house template (title page, table of contents) does not
fit them, so they are written as Typst markup and compiled here with the ``typst`` package,
fonts embedded in it only and a fixed timestamp (same input, same bytes), like the reports'
PDFs. Every text taken from data is passed as a Typst *string literal* (never as markup), so no
character of a label can turn into Typst code. The workbook's cells go through
:func:`observatoire.core.spreadsheet.neutralise_cell` and ``text_cell`` (formula injection).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.errors import ObservatoireError
from observatoire.core.formatting import MOIS_NOMS
from observatoire.core.formatting import french_fraction as pct
from observatoire.core.formatting import french_number as num
from observatoire.core.spreadsheet import neutralise_cell, text_cell
from observatoire.core.storage import atomic_write_bytes, pin_zip_times

__all__ = [
    "compile_typst",
    "lit",
    "monthly_sheet_pdf",
    "monthly_sheet_xlsx",
    "statement_pdf",
    "typst_table",
    "xlsx_value",
]

INTERNAL = "Document interne — ne pas diffuser"
SHORT_STATUS = {"ok": "sous le seuil d'alerte", "proche": "proche", "depasse": "dépassé"}
STATUS = {
    "ok": "sous le seuil d'alerte",
    "proche": "PROCHE du plafond annuel (au-delà du seuil d'alerte)",
    "depasse": "AU-DELÀ du plafond annuel",
}


def lit(text: Any) -> str:
    """A Typst string literal holding ``text`` as it is."""
    s = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def euros(x: float) -> str:
    return f"{num(x, 2)}\u202f€"


PREAMBLE = """
#set document(title: {title}, author: {author})
#set page(paper: "a4", margin: (x: 1.8cm, top: 1.6cm, bottom: 1.8cm),
  footer: context [#set text(size: 7.5pt, fill: luma(90))
    #{footer} #h(1fr) page #counter(page).display()])
#set text(lang: "fr", font: ("Libertinus Serif",), size: 10pt)
#set par(justify: false, leading: 0.55em)
#set table(stroke: (x, y) => if y == 0 {{ (bottom: 0.7pt) }} else {{ (bottom: 0.3pt + luma(210)) }},
  inset: (x: 5pt, y: 3.5pt))
#show table.cell.where(y: 0): set text(weight: "bold")
"""


def _compile(source: str, pdf: Path, stamp: dt.date) -> None:
    import typst

    ts = int(dt.datetime(stamp.year, stamp.month, stamp.day, 12, tzinfo=dt.UTC).timestamp())
    try:
        data = typst.compile(
            source.encode("utf-8"), font_paths=[], ignore_system_fonts=True, timestamp=ts
        )
    except typst.TypstError as exc:  # pragma: no cover - a bug of this module
        raise ObservatoireError(
            f"{pdf.name} : la compilation Typst a échoué : {exc.message}"
        ) from exc
    atomic_write_bytes(pdf, data)


def _table(columns: list[str], rows: list[list[Any]], align: str) -> str:
    cells = ", ".join(lit(c) for c in columns)
    body = ", ".join(lit(v) for r in rows for v in r)
    aligns = ", ".join("left" if a == "l" else "right" for a in align)
    widths = ", ".join(["1fr"] + ["auto"] * (len(columns) - 1))
    return (
        f"#table(columns: ({widths}), align: ({aligns},), {cells}"
        + (f", {body}" if body else "")
        + ")\n"
    )


def monthly_sheet_pdf(
    months: list[dict[str, Any]], pdf: Path, organisation: str, year: int, k: int
) -> None:
    """One page per month: services, people helped, needs, orientations, hours."""
    parts = [
        PREAMBLE.format(
            title=lit(f"Habitants-relais — fiche mensuelle {year}"),
            author=lit(organisation),
            footer=lit(f"{organisation} — habitants-relais, fiche mensuelle {year}"),
        )
    ]
    for i, m in enumerate(months):
        if i:
            parts.append("#pagebreak()\n")
        parts.append(
            f"#text(size: 9pt, fill: luma(90), {lit('Comité de pilotage — habitants-relais')})\n\n"
            f'#text(size: 17pt, weight: "bold", {lit("Fiche mensuelle — " + m["label"])})\n\n'
        )
        key = [
            ["Prestations (fiches)", m["services"]],
            ["Personnes aidées", m["people"]],
        ]
        if m["previous"] is not None:
            key.append([f"Prestations du même mois en {year - 1}", m["previous"]])
        key.append(
            [
                "Heures de présence des volontaires",
                num(m["hours"], 1) if m["hours"] is not None else "non publié",
            ]
        )
        parts.append(_table(["Activité du mois", "Valeur"], key, "lr"))
        parts.append("#v(0.6em)\n#grid(columns: (1fr, 1fr), gutter: 1.2em,\n[")
        parts.append(_table(["Besoins notés", "Fiches"], [list(x) for x in m["needs"]], "lr"))
        parts.append("], [")
        parts.append(
            _table(["Orientations vers", "Fiches"], [list(x) for x in m["orientations"]], "lr")
        )
        parts.append("])\n#v(0.8em)\n")
        parts.append(
            "#text(size: 8.5pt, "
            + lit(
                "Une fiche compte une fois dans chaque domaine de besoin et chaque service "
                "d'orientation qu'elle note : les colonnes ne s'additionnent pas. Les personnes "
                "aidées sont comptées à chaque fiche (une personne revenue deux fois compte deux "
                f"fois). Secret statistique : aucun nombre de 1 à {k - 1} n'est publié "
                f"(« < {k} ») ; « s » marque un nombre masqué pour qu'un petit nombre ne puisse "
                "pas se déduire des autres. Heures : somme sur les volontaires, publiée seulement "
                f"si au moins {k} volontaires ont été défrayés dans l'année."
            )
            + ")\n"
        )
    _compile("".join(parts), pdf, dt.date(year + 1, 3, 31))


def monthly_sheet_xlsx(
    months: list[dict[str, Any]], path: Path, organisation: str, year: int, k: int
) -> None:
    """The same content as a workbook, one sheet per month (the committee's own follow-up)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for m in months:
        ws = wb.create_sheet(MOIS_NOMS[m["month"] - 1][:31])
        rows: list[list[Any]] = [
            [f"{organisation} — habitants-relais, fiche mensuelle {m['label']}"],
            [],
            ["Activité du mois", "Valeur"],
            ["Prestations (fiches)", m["services"]],
            ["Personnes aidées", m["people"]],
        ]
        if m["previous"] is not None:
            rows.append([f"Prestations du même mois en {year - 1}", m["previous"]])
        rows.append(
            [
                "Heures de présence des volontaires",
                m["hours"] if m["hours"] is not None else "non publié",
            ]
        )
        rows += [[], ["Besoins notés", "Fiches"], *[list(x) for x in m["needs"]]]
        rows += [[], ["Orientations vers", "Fiches"], *[list(x) for x in m["orientations"]]]
        rows += [
            [],
            [
                f"Secret statistique : « < {k} » pour un nombre de 1 à {k - 1}, « s » pour un "
                "nombre masqué ; une fiche compte une fois par domaine."
            ],
        ]
        for r in rows:
            ws.append([_xlsx_value(v) for v in r])
        ws["A1"].font = Font(bold=True, size=12)
        for row in ws.iter_rows():
            for cell in row:
                text_cell(cell)
                if cell.value in ("Activité du mois", "Besoins notés", "Orientations vers"):
                    cell.font = Font(bold=True)
        ws.column_dimensions["A"].width = 44
        ws.column_dimensions["B"].width = 14
    buf = io.BytesIO()
    wb.save(buf)
    stamp = dt.datetime(year + 1, 3, 31, 12)
    atomic_write_bytes(path, pin_zip_times(buf.getvalue(), stamp))


def _xlsx_value(v: Any) -> Any:
    """A published text that is a plain number becomes a number; anything else stays text."""
    if isinstance(v, str):
        plain = v.replace("\u202f", "").replace(",", ".")
        try:
            return float(plain) if "." in plain else int(plain)
        except ValueError:
            return neutralise_cell(v)
    return v


def _day(value: Any) -> str:
    t = pd.Timestamp(value)
    return f"{t.day} {MOIS_NOMS[t.month - 1]} {t.year}"


def statement_pdf(
    volunteer: Any,
    days: pd.DataFrame,
    ceiling: Any,
    settings: Any,
    pdf: Path,
    organisation: str,
    previous: Any = None,
) -> None:
    """One page for the coordinator: the volunteer's year month by month and against the
    ceilings. ``volunteer``: a row of ``interne/volontaires.csv``; ``days``: its rows of
    ``interne/journees.csv``; ``previous``: the same volunteer's row of the year before (a
    reminder line), or None."""
    year = int(volunteer.year)
    code = str(volunteer.code)
    d = days.copy()
    d["month"] = pd.to_datetime(d["date"]).dt.month
    rows = []
    cumulative = 0.0
    for m in range(1, 13):
        g = d[d["month"] == m]
        if g.empty:
            continue
        cumulative += float(g["allowance_eur"].sum())
        rows.append(
            [
                MOIS_NOMS[m - 1],
                num(len(g)),
                num(float(g["hours"].sum()), 1),
                euros(float(g["allowance_eur"].sum())),
                num(int(g["above_daily"].astype(bool).sum())),
                euros(cumulative),
                pct(cumulative / ceiling.yearly),
            ]
        )
    above = d[d["above_daily"].astype(bool)]
    above_text = (
        " ; ".join(
            f"{_day(r.date)} : {num(float(r.hours), 1)} h, {euros(r.allowance_eur)}, soit "
            f"{euros(r.allowance_eur - ceiling.daily)} au-delà du plafond"
            for r in above.itertuples()
        )
        or "aucune"
    )

    def when(value: Any) -> str:
        if value is None or (isinstance(value, float) and value != value) or pd.isna(value):
            return "–"
        t = pd.Timestamp(value)
        return f"{t.day} {MOIS_NOMS[t.month - 1]} {t.year}"

    summary = [
        ["Journées de présence", num(int(volunteer.days))],
        ["Heures", num(float(volunteer.hours), 1)],
        ["Défraiements de l'année", euros(float(volunteer.allowance_eur))],
        [f"Plafond annuel {year}", euros(ceiling.yearly)],
        ["Part du plafond annuel atteinte", pct(float(volunteer.share))],
        ["Situation (plafond annuel)", STATUS[str(volunteer.status)]],
        [f"Seuil d'alerte ({pct(settings.warning_share, 0)}) atteint le",
         when(volunteer.warning_date)],
        ["Plafond annuel dépassé le", when(volunteer.exceeded_date)],
        [f"Journées au-delà du plafond journalier ({euros(ceiling.daily)})",
         num(int(volunteer.days_above_daily))],
    ]  # fmt: skip
    if previous is not None:
        summary.append(
            [f"Rappel {year - 1} : défraiements, part du plafond annuel",
             f"{euros(float(previous.allowance_eur))}, {pct(float(previous.share))} "
             f"({SHORT_STATUS[str(previous.status)]})"]
        )  # fmt: skip
    src = PREAMBLE.format(
        title=lit(f"Relevé des défraiements {year} — relais {code}"),
        author=lit(organisation),
        footer=lit(f"{INTERNAL} — relevé {code} {year}"),
    )
    title = f"Relevé des défraiements {year} — relais {code}"
    period = (
        f"Période : l'année {year} (janvier à décembre), journées notées dans le tableau des "
        "défraiements du coordinateur."
    )
    src += (
        '#block(width: 100%, fill: rgb("#B3261E"), inset: 7pt, radius: 2pt, '
        f'text(fill: white, weight: "bold", size: 11pt, {lit(INTERNAL.upper())}))\n\n'
        f"#text(size: 9pt, fill: luma(90), {lit(organisation + ' — habitants-relais')})\n\n"
        f'#text(size: 16pt, weight: "bold", {lit(title)})\n\n'
        f"#text(size: 9.5pt, {lit(period)})\n\n"
    )
    src += "#block(width: 75%, " + _table(["L'année", "Valeur"], summary, "lr")[1:-1] + ")\n"
    src += "#v(0.5em)\n"
    src += _table(
        ["Mois", "Jours", "Heures", "Défraiements", "Jours > plafond journalier", "Cumul",
         "Cumul / plafond annuel"],
        rows,
        "lrrrrrr",
    )  # fmt: skip
    src += "#v(0.5em)\n"
    src += (
        f"#text(size: 9.5pt, {lit('Journées au-delà du plafond journalier : ' + above_text)})\n\n"
    )
    src += (
        "#v(0.4em)\n#text(size: 8.5pt, "
        + lit(
            f"Plafonds du défraiement forfaitaire des volontaires {year} (loi du 3 juillet 2005 "
            f"relative aux droits des volontaires, art. 10) : {euros(ceiling.daily)} par jour et "
            f"{euros(ceiling.yearly)} par an. Source : {ceiling.source} — {ceiling.url}. Le "
            "plafond annuel vaut pour tous les défraiements forfaitaires reçus dans l'année, "
            "toutes organisations confondues : ce relevé ne compte que ceux du projet. Au-delà "
            "d'un plafond, le défraiement risque d'être requalifié en rémunération."
        )
        + ")\n\n"
    )
    src += (
        "#v(0.4em)\n#text(size: 8.5pt, "
        + lit(
            f"Le volontaire est désigné par son code pseudonyme {code} (début de son pseudonyme "
            "calculé avec la clé secrète du projet) ; aucun nom ne figure dans les données de "
            "l'observatoire. Pour retrouver la personne, le coordinateur tape la commande "
        )
        + ") #box(raw("
        + lit("observatoire pseudonyme --volontaire")
        + ")) #text(size: 8.5pt, "
        + lit(
            " et saisit le code de volontaire de la personne (« HR03 », non affiché) : la "
            f"commande imprime son pseudonyme, qui commence par {code[2:].lower()}, et le code "
            f"de ses relevés ({code}). {INTERNAL} : ce relevé contient des données personnelles "
            "du volontaire."
        )
        + ")\n"
    )
    _compile(src, pdf, dt.date(year + 1, 3, 31))


# the other one-page sheets (the projects' monthly activity sheet) compile the same way
compile_typst = _compile
typst_table = _table
xlsx_value = _xlsx_value
