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
from observatoire.disclosure.ledger import LedgerError, published_texts, read_ledger
from observatoire.disclosure.relais import CODED, allowances_published, relais_key
from observatoire.field.relays import (
    BANDS,
    HOUR_BANDS,
    NEEDS,
    ORIENTATIONS,
    POINTS,
    WEEKDAYS,
    read_results,
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


class Cells:
    """The ledger's texts and values of the relays' keys (a French error when one is absent)."""

    def __init__(self, texts: dict[str, Any], year: int, k: int) -> None:
        self.texts, self.year, self.k = texts, year, k

    @classmethod
    def from_ledger(cls, settings: Settings) -> Cells:
        year, k = settings.report.year, settings.report.disclosure_threshold
        return cls(published_texts(read_ledger(PATHS.tables(year)), k), year, k)

    def _cell(self, key: str) -> Any:
        if key not in self.texts:
            raise LedgerError(
                f"Case « {key} » absente du registre de publication {self.year}. À faire : "
                "relancez « observatoire publication » après « observatoire relays »."
            )
        return self.texts[key]

    def text(self, y: int, dim: str, code: str | None, measure: str = "prestations") -> str:
        return self._cell(relais_key(self.year, y, dim, code, measure)).text

    def value(self, y: int, dim: str, code: str | None, measure: str = "prestations"):
        return self._cell(relais_key(self.year, y, dim, code, measure)).value

    def raw(self, key: str) -> Any:
        return self._cell(key)


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
    table_rows, plus, minus = [], [], []
    for code, label in labels.items():
        r = {y: next(x for x in rows if x["code"] == code and x["annee"] == y) for y in years}
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
    columns = ["Code"]
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
    }


def _allowance_context(res: dict[str, Any], cells: Cells, rset: RelaysSettings) -> dict[str, Any]:
    year = int(res["year"])
    years = [int(y) for y in res["years"]]
    k = cells.k
    ceilings = _md_table(
        pd.DataFrame(
            [
                (str(y), euros(c["daily"]), euros(c["yearly"]), f"{c['source']} ({c['url']})")
                for y, c in sorted((int(y), c) for y, c in res["ceilings"].items())
            ],
            columns=["Année", "Plafond journalier", "Plafond annuel", "Source"],
        ),
        "lrrl",
    )
    totals_rows = []
    for y in years:
        a = (res.get("allowances") or {}).get(str(y)) or {}
        if allowances_published(res, y, k):
            totals_rows.append(
                (str(y), cells.raw(f"relais|{year}|{y}|volontaires").text,
                 num(a["volunteer_days"]), num(a["hours"], 1), euros(a["allowance_eur"]),
                 euros(a["allowance_eur"] / a["volunteers"]), num(a["days_above_daily"]))
            )  # fmt: skip
        else:
            totals_rows.append(
                (str(y), cells.raw(f"relais|{year}|{y}|volontaires").text,
                 *(["non publié"] * 5))
            )  # fmt: skip
    totals = _md_table(
        pd.DataFrame(
            totals_rows,
            columns=[
                "Année", "Volontaires défrayés", "Journées", "Heures", "Défraiements",
                "Moyenne par volontaire", "Journées au-delà du plafond journalier",
            ],
        )
    )  # fmt: skip
    band_rows = []
    for b, (label, _, _) in BANDS.items():
        label = label.replace("seuil d'alerte", f"seuil d'alerte ({pct(rset.warning_share, 0)})")
        band_rows.append(
            [label]
            + [cells.raw(f"relais|{year}|{y}|defraiement={b}|volontaires").text for y in years]
        )
    bands = _md_table(pd.DataFrame(band_rows, columns=["Part du plafond annuel", *map(str, years)]))
    near = cells.raw(f"relais|{year}|{year}|defraiement=proche|volontaires")
    over = cells.raw(f"relais|{year}|{year}|defraiement=depasse|volontaires")
    return {
        "ceilings": ceilings,
        "totals": totals,
        "bands": bands,
        "near_text": near.text,
        "over_text": over.text,
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
        {k.split("|")[3].split("=", 1)[1] for k in cells.texts
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
    when = _md_table(
        pd.DataFrame(
            [(d.capitalize(), cells.text(year, "jour", d)) for d in WEEKDAYS]
            + [(label, cells.text(year, "heure", c)) for c, (label, _, _) in HOUR_BANDS.items()],
            columns=["Jour ou moment", f"Fiches {year}"],
        )
    )
    sections = [
        _coded_section(cells, res, dim, title, labels, fig_dir)
        for dim, (title, labels) in CODED.items()
    ]
    plus = [p for s in sections for p in s["plus"]]
    minus = [m for s in sections for m in s["minus"]]
    allowance = _allowance_context(res, cells, rset)
    findings.append(
        f"Défraiements {year} : {allowance['over_text']} volontaire(s) au-delà du plafond annuel "
        f"légal et {allowance['near_text']} entre {allowance['warning']} du plafond et le "
        f"plafond (nombres de personnes : « < {cells.k} » sous le seuil du secret statistique)."
    )
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
        "sections": sections,
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
    vols = (
        pd.read_csv(internal / "volontaires.csv")
        if (internal / "volontaires.csv").exists()
        else pd.DataFrame()
    )
    days = (
        pd.read_csv(internal / "journees.csv", parse_dates=["date"])
        if (internal / "journees.csv").exists()
        else pd.DataFrame()
    )
    tmp = temp_dir(target.parent, target.name)
    work = tmp / target.name
    work.mkdir()
    names = []
    try:
        cur = vols[vols["year"] == year] if len(vols) else vols
        for v in cur.itertuples():
            own = days[(days["relay_id"] == v.relay_id) & (days["year"] == year)]
            name = f"releve-{v.code}-{year}.pdf"
            statement_pdf(
                v, own, rset.ceiling(year), rset, work / name, settings.report.organisation
            )
            names.append(name)
        check_before_publishing(settings, work, names, target, "relays_report")
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
    statements = _statements(settings, res, rset, year) if ctx["computed"] else []
    print(
        f"Habitants-relais {year} : rapport et fiche mensuelle dans {out_dir / FOLDER}/ "
        f"(moteur : {engine}) ; {len(statements)} relevé(s) interne(s) dans "
        f"{PATHS.relays_statements(year)}/ (document interne, à ne pas diffuser)"
    )
