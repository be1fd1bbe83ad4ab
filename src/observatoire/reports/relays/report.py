"""Stage ``relays_report``: the neighbourhood relays' report, monthly sheet and statements.

For report year Y:

* ``outputs/reports/<Y>/relais-de-quartier/``: ``relais-de-quartier.{qmd,html,pdf}`` (the
  report for the steering committee and the funder), ``fiche-mensuelle-<Y>.xlsx`` and
  ``fiche-mensuelle-<Y>.pdf`` (one page per month: services, people helped, needs, orientations,
  hours), ``figures/`` (each chart as PNG with the CSV of what it draws);
* ``outputs/relais/<Y>/releves/`` (**internal**, never in the ledger nor in the public report):
  ``releve-<code>-<Y>.pdf``, one page per volunteer (days, hours, allowances, cumulative against
  the legal ceilings), marked « Document interne — ne pas diffuser ».

Every count of sheets, people helped or volunteers printed in the public files is the ledger's
text (``outputs/tables/<Y>/cases_publiees.csv``, keys of :mod:`observatoire.disclosure.relais`);
shares and changes are computed from published cells only (a share whose count is masked is not
printed). Hours and euros are summed over volunteers and printed only when at least k volunteers
were paid that year. The rendered files are scanned by
:func:`observatoire.guard.leaks.check_before_publishing` before they replace the previous ones.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.formatting import MOIS_ABREGES, MOIS_NOMS
from observatoire.core.formatting import french_fraction as pct
from observatoire.core.formatting import french_number as num
from observatoire.core.formatting import french_points as pts
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.stats import proportion_ci
from observatoire.core.storage import publish_members, temp_dir
from observatoire.disclosure.ledger import LedgerCells
from observatoire.disclosure.relais import (
    CODED,
    DAILY,
    DAILY_LABEL,
    allowances_published,
    relais_key,
    volunteers_key,
)
from observatoire.field.relays import (
    BANDS,
    BY_POINT,
    HOUR_BANDS,
    NEEDS,
    ORIENTATIONS,
    POINTS,
    WEEKDAYS,
    read_results,
    read_table,
)
from observatoire.field.relays_settings import RelaysSettings, load_relays_settings
from observatoire.guard.leaks import check_before_publishing
from observatoire.reports.charts import save_figure
from observatoire.reports.common import code_version, report_template, stage_logo
from observatoire.reports.relays.charts import monthly_chart, shares_chart
from observatoire.reports.relays.sheets import (
    monthly_sheet_pdf,
    monthly_sheet_xlsx,
    statement_pdf,
)

__all__ = ["FIGURES", "FOLDER", "STEM", "build_relays_report", "report_context"]

FOLDER = "relais-de-quartier"
STEM = "relais-de-quartier"
FIGURES = "figures"
SIGNIFICANCE = 0.05


def _md_table(frame: pd.DataFrame, align: str | None = None) -> str:
    cols = list(frame.columns)
    align = align or "l" + "r" * (len(cols) - 1)
    head = "| " + " | ".join(str(c) for c in cols) + " |"
    rule = "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def euros(x: float) -> str:
    return f"{num(x, 2)}\u202f€"


HEADERS = {"besoin": "Besoin", "action": "Action", "orientation": "Orientation vers",
           "obstacle": "Obstacle"}  # fmt: skip


def persons(text: str, k: int, noun: str = "volontaire") -> str:
    """A published count of persons in a sentence: « aucun volontaire », « 1 volontaire »,
    « 3 volontaires », « moins de 5 volontaires » (« < 5 »), « un nombre masqué de
    volontaires » (« s »)."""
    if text == "0":
        return f"aucun {noun}"
    if text.startswith("<"):
        return f"moins de {k} {noun}s"
    if text == "s":
        return f"un nombre masqué de {noun}s"
    return f"{text} {noun}" + ("" if text == "1" else "s")


def said(subject: str, participle: str) -> str:
    """« aucun volontaire n'a dépassé … », « 1 volontaire a … », « 3 volontaires ont … »."""
    if subject.startswith("aucun"):
        return f"{subject} n'a {participle}"
    return f"{subject} {'a' if subject.startswith('1 ') else 'ont'} {participle}"


class Cells(LedgerCells):
    """The ledger's texts and values of the relays' keys."""

    @classmethod
    def from_ledger(cls, settings: Settings) -> Cells:
        year, k = settings.report.year, settings.report.disclosure_threshold
        return cls.of_year(PATHS.tables(year), year, k, "relays")

    def text(self, y: int, dim: str, code: str | None, measure: str = "prestations") -> str:
        return self.cell(relais_key(self.year, y, dim, code, measure)).text

    def value(self, y: int, dim: str, code: str | None, measure: str = "prestations"):
        return self.cell(relais_key(self.year, y, dim, code, measure)).value

    def raw(self, key: str) -> Any:
        return self.cell(key)


def _save(fig, drawn: pd.DataFrame, fig_dir: Path, name: str) -> str:
    save_figure(fig, fig_dir / f"{name}.png")
    write_safe_csv(drawn, fig_dir / f"{name}.csv", quote_all=False)
    return f"{FIGURES}/{name}.png"


def _share_rows(cells: Cells, years: list[int], dim: str, labels: dict[str, str]) -> list[dict]:
    """Shares of the year's sheets from published cells only (total and code both published)."""
    rows = []
    for y in years:
        n = cells.value(y, "total", None)
        for code, label in labels.items():
            x = cells.value(y, dim, code)
            share = lo = hi = None
            if n and x is not None:
                share = x / n
                lo, hi = proportion_ci(int(x), int(n))
            rows.append(
                {"code": code, "libelle": label, "annee": y, "texte": cells.text(y, dim, code),
                 "part": share, "ic_bas": lo, "ic_haut": hi}
            )  # fmt: skip
    return rows


def _coded_section(
    cells: Cells,
    res: dict[str, Any],
    dim: str,
    title: str,
    labels: dict[str, str],
    fig_dir: Path,
) -> dict[str, Any]:
    year = int(res["year"])
    years = [int(y) for y in res["years"]]
    rows = _share_rows(cells, years, dim, labels)
    changes = res["frames"]["evolutions"]
    changes = changes[changes["dimension"] == dim].set_index("category") if len(changes) else None
    table_rows, plus, minus, never = [], [], [], []
    for code, label in labels.items():
        r = {y: next(x for x in rows if x["code"] == code and x["annee"] == y) for y in years}
        if all(r[y]["texte"] == "0" for y in years):
            never.append(label)  # no sheet of either year: a sentence, not a row of zeros
            continue
        line = [label]
        for y in years:
            line += [r[y]["texte"], pct(r[y]["part"]) if r[y]["part"] is not None else "–"]
        change = "–"
        if changes is not None and code in changes.index and len(years) == 2:
            c = changes.loc[code]
            published = all(r[y]["part"] is not None for y in years)
            noted = c["services_prev"] + c["services_cur"] > 0
            if published and noted and not math.isnan(c["diff"]):
                change = f"{pts(c['diff'])} ({pts(c['lo'])} à {pts(c['hi'])})"
                if c["p_holm"] < SIGNIFICANCE:
                    change += " \\*"
                    target = plus if c["diff"] > 0 else minus
                    target.append(
                        f"{label.lower()} : {pct(c['share_prev'])} des fiches en {years[0]}, "
                        f"{pct(c['share_cur'])} en {years[1]} ({pts(c['diff'])})"
                    )
        if len(years) == 2:
            line.append(change)
        table_rows.append(line)
    columns = [HEADERS.get(dim, "Code")]
    for y in years:
        columns += [f"Fiches {y}", f"Part {y}"]
    if len(years) == 2:
        columns.append("Écart (IC 95 %)")
    drawn = pd.DataFrame([x for x in rows if x["part"] is not None])
    figure = None
    if len(drawn):
        fig, drawn = shares_chart(
            drawn[["libelle", "annee", "part", "ic_bas", "ic_haut", "texte"]],
            "Part des fiches de l'année (%)",
        )
        figure = _save(fig, drawn, fig_dir, f"relais-{dim}s")
    return {
        "dim": dim,
        "title": title,
        "table": _md_table(pd.DataFrame(table_rows, columns=columns)),
        "figure": figure,
        "plus": plus,
        "minus": minus,
        "year": year,
        "never": ", ".join(never),
    }


def _point_section(
    cells: Cells, res: dict[str, Any], dim: str, fig_dir: Path
) -> dict[str, Any] | None:
    """The report year's codes of one question at each point: published cells, shares of the
    point's sheets (Wilson), mobile − fixed (Newcombe, Holm across the question's codes)."""
    year = int(res["year"])
    title, labels = CODED[dim]
    n = {p: cells.value(year, "point", p) for p in POINTS}
    if not all(n.values()):
        return None
    frame = res["frames"].get("points", pd.DataFrame())
    diffs = (
        frame[(frame["year"] == year) & (frame["dimension"] == dim)].set_index("category")
        if len(frame)
        else None
    )
    table_rows, drawn, contrasts = [], [], []
    for code, label in labels.items():
        line, shares = [label], {}
        for p, plabel in POINTS.items():
            text = cells.text(year, f"{dim}_point", f"{p}|{code}")
            x = cells.value(year, f"{dim}_point", f"{p}|{code}")
            share = lo = hi = None
            if x is not None:
                share = x / n[p]
                lo, hi = proportion_ci(int(x), int(n[p]))
                drawn.append({"libelle": label, "annee": plabel, "part": share, "ic_bas": lo,
                              "ic_haut": hi, "texte": text})  # fmt: skip
            shares[p] = share
            line += [text, pct(share) if share is not None else "–"]
        change = "–"
        if diffs is not None and code in diffs.index and None not in shares.values():
            c = diffs.loc[code]
            change = f"{pts(c['diff'])} ({pts(c['lo'])} à {pts(c['hi'])})"
            if c["p_holm"] < SIGNIFICANCE:
                change += " \\*"
                contrasts.append((abs(c["diff"]), c["diff"] > 0, label.lower(), shares))
        table_rows.append([*line, change])
    columns = [HEADERS[dim]]
    for plabel in ("fixe", "mobile"):
        columns += [f"Fiches {plabel}", f"Part {plabel}"]
    columns.append("Écart mobile − fixe (IC 95 %)")
    figure = None
    if drawn:
        fig, shown = shares_chart(pd.DataFrame(drawn), f"Part des fiches du point, {year} (%)")
        figure = _save(fig, shown, fig_dir, f"relais-{dim}s-par-point")
    contrasts.sort(key=lambda t: -t[0])
    return {
        "dim": dim,
        "title": f"{title} par point",
        "table": _md_table(pd.DataFrame(table_rows, columns=columns)),
        "figure": figure,
        "mobile": [(t, sh) for _, up, t, sh in contrasts if up],
        "fixed": [(t, sh) for _, up, t, sh in contrasts if not up],
    }


def _allowance_context(res: dict[str, Any], cells: Cells, rset: RelaysSettings) -> dict[str, Any]:
    year = int(res["year"])
    years = [int(y) for y in res["years"]]
    k = cells.k
    ordered = sorted((int(y), c) for y, c in res["ceilings"].items())
    ceilings = _md_table(
        pd.DataFrame(
            [(str(y), euros(c["daily"]), euros(c["yearly"])) for y, c in ordered],
            columns=["Année", "Plafond journalier", "Plafond annuel"],
        ),
        "lrr",
    )
    sources = [f"{y} — {c['source']} : <{c['url']}>" for y, c in ordered]
    totals_rows = []
    for y in years:
        a = (res.get("allowances") or {}).get(str(y)) or {}
        if allowances_published(res, y, k):
            totals_rows.append(
                (str(y), cells.raw(volunteers_key(year, y, "total")).text,
                 num(a["volunteer_days"]), num(a["hours"], 1), euros(a["allowance_eur"]),
                 euros(a["allowance_eur"] / a["volunteers"]))
            )  # fmt: skip
        else:
            totals_rows.append(
                (str(y), cells.raw(volunteers_key(year, y, "total")).text,
                 *(["non publié"] * 4))
            )  # fmt: skip
    totals = _md_table(
        pd.DataFrame(
            totals_rows,
            columns=[
                "Année", "Volontaires défrayés", "Journées", "Heures", "Défraiements",
                "Moyenne par volontaire",
            ],
        )
    )  # fmt: skip
    band_rows = []
    for b, (label, _, _) in BANDS.items():
        label = label.replace("seuil d'alerte", f"seuil d'alerte ({pct(rset.warning_share, 0)})")
        band_rows.append([label] + [cells.raw(volunteers_key(year, y, b)).text for y in years])
    band_rows.append(
        [f"*{DAILY_LABEL}*"] + [cells.raw(volunteers_key(year, y, DAILY)).text for y in years]
    )
    bands = _md_table(pd.DataFrame(band_rows, columns=["Part du plafond annuel", *map(str, years)]))
    k = cells.k
    near = persons(cells.raw(volunteers_key(year, year, "proche")).text, k)
    over = persons(cells.raw(volunteers_key(year, year, "depasse")).text, k)
    daily = persons(cells.raw(volunteers_key(year, year, DAILY)).text, k)
    ceiling = res["ceilings"][str(year)]
    summary = (
        f"En {year}, {said(over, 'dépassé le plafond annuel')} ({euros(ceiling['yearly'])}), "
        f"{said(near, f'fini l’année entre {pct(rset.warning_share, 0)} du plafond et ce plafond')}"
        f" et {said(daily, 'reçu, au moins un jour, plus que le plafond journalier')} "
        f"({euros(ceiling['daily'])})."
    )
    return {
        "sources": sources,
        "summary": summary,
        "ceilings": ceilings,
        "totals": totals,
        "bands": bands,
        "warning": pct(rset.warning_share, 0),
        "published_current": allowances_published(res, year, k),
    }


def report_context(
    res: dict[str, Any], cells: Cells, rset: RelaysSettings, fig_dir: Path
) -> dict[str, Any]:
    """Everything the report template prints."""
    year = int(res["year"])
    years = [int(y) for y in res["years"]]
    findings: list[str] = []
    notes = list(res.get("notes") or [])
    if year not in years:
        return {"computed": False, "notes": notes, "findings": findings, "years": years}
    cur_services = cells.text(year, "total", None)
    cur_people = cells.text(year, "total", None, "personnes_aidees")
    findings.append(
        f"En {year}, les habitants-relais ont rempli {cur_services} fiches de prestation ; "
        f"{cur_people} personnes y ont été aidées (une personne revenue deux fois compte deux "
        "fois)."
    )
    tc = res.get("totals_change") or {}
    change_text = None
    if tc.get("computed"):
        prev_pub = cells.value(tc["previous"], "total", None)
        cur_pub = cells.value(tc["current"], "total", None)
        if prev_pub is not None and cur_pub is not None:
            sig = tc["lo"] > 1 or tc["hi"] < 1
            months = "les douze mois" if len(tc["months"]) == 12 else (
                f"les {len(tc['months'])} mois couverts les deux années"
            )  # fmt: skip
            change_text = (
                f"Sur {months}, {num(tc['services_cur'])} fiches en {tc['current']} contre "
                f"{num(tc['services_prev'])} en {tc['previous']} : rapport "
                f"{num(tc['ratio'], 2)} (IC 95 % {num(tc['lo'], 2)} à {num(tc['hi'], 2)})"
                + ("" if sig else ", un écart compatible avec le hasard")
                + "."
            )
            findings.append(change_text)
    activity_rows = [("Total", "total", None)] + [(lab, "point", c) for c, lab in POINTS.items()]
    activity = _md_table(
        pd.DataFrame(
            [
                [label]
                + [cells.text(y, dim, code, m) for y in years
                   for m in ("prestations", "personnes_aidees")]
                for label, dim, code in activity_rows
            ],
            columns=["", *[f"{w} {y}" for y in years for w in ("Fiches", "Personnes aidées")]],
        )
    )  # fmt: skip
    month_frame = pd.DataFrame(
        [
            {"mois": MOIS_ABREGES[m - 1], "annee": y,
             "prestations": cells.value(y, "mois", str(m)), "texte": cells.text(y, "mois", str(m))}
            for y in years for m in range(1, 13)
        ]
    )  # fmt: skip
    month_frame["prestations"] = month_frame["prestations"].astype(float)
    fig, drawn = monthly_chart(month_frame)
    monthly_figure = _save(fig, drawn, fig_dir, "relais-par-mois")
    relays = sorted(
        {k.split("|")[3].split("=", 1)[1] for k in cells.cells
         if k.startswith(f"relais|{year}|{year}|relais=") and k.endswith("|prestations")}
    )  # fmt: skip
    per_relay = _md_table(
        pd.DataFrame(
            [
                (f"Relais {c}", cells.text(year, "relais", c),
                 cells.text(year, "relais", c, "personnes_aidees"))
                for c in relays
            ],
            columns=["Relais (code pseudonyme)", "Fiches", "Personnes aidées"],
        )
    )  # fmt: skip
    day_rows = [(d.capitalize(), cells.text(year, "jour", d)) for d in WEEKDAYS]
    closed = [d.lower() for d, t in day_rows if t == "0"]
    moment_rows = [
        (label, cells.text(year, "heure", c))
        for c, (label, _, _) in HOUR_BANDS.items()
        if not (c == "inconnue" and cells.text(year, "heure", c) == "0")
    ]
    open_days = [r for r in day_rows if r[1] != "0"]
    height = max(len(open_days), len(moment_rows))
    open_days += [("", "")] * (height - len(open_days))
    moment_rows += [("", "")] * (height - len(moment_rows))
    when = _md_table(
        pd.DataFrame(
            [(*d, *m) for d, m in zip(open_days, moment_rows, strict=True)],
            columns=["Jour", f"Fiches {year}", "Moment de la journée", f"Fiches {year} "],
        ),
        "lrlr",
    )
    sections = [
        _coded_section(cells, res, dim, title, labels, fig_dir)
        for dim, (title, labels) in CODED.items()
    ]
    plus = [p for s in sections for p in s["plus"]]
    minus = [m for s in sections for m in s["minus"]]
    by_point = [x for dim in BY_POINT if (x := _point_section(cells, res, dim, fig_dir))]
    for section in by_point[:1]:  # the needs: the committee's first question about the points
        parts = []
        for where, other, key in (("mobile", "fixe", "mobile"), ("fixe", "mobile", "fixed")):
            top = [  # the two largest significant differences each way
                f"le besoin « {label} » ({pct(sh[where])} des fiches contre "
                f"{pct(sh[other])} au point {other})"
                for label, sh in section[key][:2]
            ]
            if top:
                verb = "reviennent" if len(top) > 1 else "revient"
                parts.append(f"au point {where}, {' et '.join(top)} {verb} plus souvent")
        if parts:
            findings.append(
                f"En {year}, les deux points ne voient pas les mêmes besoins : "
                + " ; ".join(parts)
                + " (écarts significatifs : @sec-points)."
            )
    allowance = _allowance_context(res, cells, rset)
    findings.append(allowance["summary"])
    return {
        "computed": True,
        "years": years,
        "findings": findings,
        "notes": notes,
        "activity": activity,
        "monthly_figure": monthly_figure,
        "per_relay": per_relay,
        "n_relays": len(relays),
        "when": when,
        "closed_days": closed,
        "sections": sections,
        "by_point": by_point,
        "plus": plus,
        "minus": minus,
        "change_text": change_text,
        "allowance": allowance,
    }


def _front(settings: Settings) -> dict[str, Any]:
    rep = settings.report
    return {
        "year": rep.year,
        "k": rep.disclosure_threshold,
        "organisation": rep.organisation,
        "colour_primary": rep.colour_primary,
        "colour_secondary": rep.colour_secondary,
        "date": f"{rep.year + 1}-03-31",
        "version": code_version(),
        "nbsp": "\u00a0",
    }


def monthly_content(res: dict[str, Any], cells: Cells) -> list[dict[str, Any]]:
    """One entry per month of the report year: the monthly sheet's published cells."""
    year = int(res["year"])
    years = [int(y) for y in res["years"]]
    months = res["frames"]["defraiements_mois"]
    show_hours = allowances_published(res, year, cells.k)
    out = []
    for m in range(1, 13):
        hours = None
        if show_hours and len(months):
            sel = months[(months["year"] == year) & (months["month"] == m)]
            hours = float(sel["hours"].sum()) if len(sel) else 0.0
        out.append(
            {
                "month": m,
                "label": f"{MOIS_NOMS[m - 1]} {year}",
                "services": cells.text(year, "mois", str(m)),
                "people": cells.text(year, "mois", str(m), "personnes_aidees"),
                "previous": (cells.text(year - 1, "mois", str(m)) if year - 1 in years else None),
                "needs": [
                    (
                        label,
                        cells.raw(
                            relais_key(year, year, "besoin_mois", f"{m:02d}|{c}", "prestations")
                        ).text,
                    )
                    for c, label in NEEDS.items()
                ],  # fmt: skip
                "orientations": [
                    (
                        label,
                        cells.raw(
                            relais_key(
                                year, year, "orientation_mois", f"{m:02d}|{c}", "prestations"
                            )
                        ).text,
                    )
                    for c, label in ORIENTATIONS.items()
                ],  # fmt: skip
                "hours": hours,
            }
        )
    return out


def _statements(
    settings: Settings, res: dict[str, Any], rset: RelaysSettings, year: int
) -> list[str]:
    """The coordinator's statements: one PDF per volunteer paid in ``year`` (internal)."""
    internal = PATHS.relays(year) / "interne"
    target = PATHS.relays_statements(year)
    vols = read_table(internal / "volontaires.csv")
    days = read_table(internal / "journees.csv")
    if "date" in days:
        days["date"] = pd.to_datetime(days["date"])
    tmp = temp_dir(target.parent, target.name)
    work = tmp / target.name
    work.mkdir()
    names = []
    try:
        cur = vols[vols["year"] == year] if len(vols) else vols
        for v in cur.itertuples():
            own = days[(days["relay_id"] == v.relay_id) & (days["year"] == year)]
            before = vols[(vols["relay_id"] == v.relay_id) & (vols["year"] == year - 1)]
            name = f"releve-{v.code}-{year}.pdf"
            statement_pdf(
                v,
                own,
                rset.ceiling(year),
                rset,
                work / name,
                settings.report.organisation,
                previous=next(before.itertuples(), None),
            )
            names.append(name)
        pdfs = list(names)
        readme = work / "LISEZ-MOI.txt"
        readme.write_text(
            f"Relevés des défraiements des habitants-relais, {year} : DOCUMENTS INTERNES pour le "
            "coordinateur, à ne pas diffuser.\n"
            f"{len(names)} relevé(s), un par volontaire défrayé dans l'année, nommé par son "
            "pseudonyme ; pour retrouver le relevé d'un volontaire : observatoire pseudonyme "
            "--volontaire.\n",
            encoding="utf-8",
        )
        names.append(readme.name)
        check_before_publishing(settings, work, names, target, "relays_report")
        names = pdfs
        publish_members(tmp, target.parent, [target.name])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return names


def build_relays_report(settings: Settings) -> None:
    """Render the relays' report and monthly sheet, then the internal statements."""
    from observatoire.reports.render import render_document

    year = settings.report.year
    rset = load_relays_settings(PATHS.terrain_params)
    res = read_results(PATHS.relays(year))
    if res is None:
        res = {
            "year": year, "years": [], "notes": [
                f"Étape « relays » non exécutée pour {year} "
                f"({PATHS.relays(year)}/relais.json absent)."
            ], "frames": {}, "ceilings": {},
        }  # fmt: skip
    cells = Cells.from_ledger(settings)
    out_dir = PATHS.reports(year)
    tmp = temp_dir(out_dir, FOLDER)
    work = tmp / FOLDER
    fig_dir = work / FIGURES
    fig_dir.mkdir(parents=True)
    try:
        ctx = _front(settings) | {"logo": stage_logo(settings.report.logo, fig_dir)}
        ctx |= report_context(res, cells, rset, fig_dir)
        ctx["partner"] = rset.partner
        source = work / f"{STEM}.qmd"
        source.write_text(report_template("relais-de-quartier.qmd.j2").render(**ctx), "utf-8")
        engine = render_document(source, work).engine
        members = [f"{STEM}.{ext}" for ext in ("qmd", "html", "pdf")] + [FIGURES]
        if ctx["computed"]:
            months = monthly_content(res, cells)
            sheet = f"fiche-mensuelle-{year}"
            monthly_sheet_xlsx(
                months, work / f"{sheet}.xlsx", settings.report.organisation, year, cells.k
            )
            monthly_sheet_pdf(
                months, work / f"{sheet}.pdf", settings.report.organisation, year, cells.k
            )
            members += [f"{sheet}.xlsx", f"{sheet}.pdf"]
        check_before_publishing(settings, work, members, out_dir / FOLDER, "relays_report")
        publish_members(tmp, out_dir, [FOLDER])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    statements = _statements(settings, res, rset, year)  # the folder exists even when empty
    print(
        f"Habitants-relais {year} : rapport et fiche mensuelle dans {out_dir / FOLDER}/ "
        f"(moteur : {engine}) ; {len(statements)} relevé(s) interne(s) dans "
        f"{PATHS.relays_statements(year)}/ (document interne, à ne pas diffuser)"
    )
