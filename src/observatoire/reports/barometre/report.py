"""Stage ``barometer_report``: the violence barometer, ``outputs/reports/<Y>/barometre-violences``.

Writes ``barometre-violences.{qmd,html,pdf}`` and the folder ``barometre-violences/`` (each chart
as PNG with the CSV of what it draws). Every count is printed as the year's ledger decided it
(``outputs/tables/<Y>/cases_publiees.csv``, keys of :mod:`observatoire.disclosure.barometre`:
« < k », « s » or the number); a rate, a share or a model estimate is printed only when every
count it is derived from is published, otherwise « non publié ». Exposures (nights, contacts)
are activity totals, not persons, printed as they are. The rendered files are scanned by
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
from observatoire.core.formatting import MOIS_NOMS
from observatoire.core.formatting import french_fraction as pct
from observatoire.core.formatting import french_number as num
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.storage import publish_members, temp_dir
from observatoire.disclosure.barometre import count_key, read_results
from observatoire.disclosure.ledger import LedgerCells
from observatoire.field.settings import load_field
from observatoire.field.survey import OUTCOMES
from observatoire.guard.leaks import check_before_publishing
from observatoire.intake.mapping import load_partners
from observatoire.reports.barometre.charts import hours_chart, months_chart, survey_chart
from observatoire.reports.charts import save_figure
from observatoire.reports.common import code_version, report_template, stage_logo

__all__ = ["FOLDER", "STEM", "barometre_context", "build_barometre_report"]

STEM = "barometre-violences"
FOLDER = STEM
NOT_PUBLISHED = "non publié"
LABELS = {
    "types": {
        "verbale": "Verbale", "physique": "Physique", "sexuelle": "Sexuelle",
        "biens": "Contre les biens", "menaces": "Menaces", "autoagression": "Auto-agression",
    },
    "direction": {
        "usager_travailleur": "D'un usager envers un travailleur",
        "usager_usager": "Entre usagers",
        "travailleur_usager": "D'un travailleur envers un usager",
        "exterieur_service": "De l'extérieur envers le service",
    },
    "severity": {"faible": "Faible", "moyenne": "Moyenne", "grave": "Grave"},
    "consequences": {
        "blessure": "Blessure", "arret_travail": "Arrêt de travail", "exclusion": "Exclusion",
        "police": "Appel à la police", "fermeture_service": "Fermeture du service",
        "aucune": "Aucune suite",
    },
    "context": {
        "fermeture": "Heure de fermeture", "file_attente": "File d'attente",
        "refus": "Refus (de place, de service)", "consommation": "Consommation",
        "sante_mentale": "Santé mentale", "conflit_entre_usagers": "Conflit entre usagers",
        "autre": "Autre",
    },
}  # fmt: skip
DIMENSION_TITLES = {
    "types": "Type",
    "direction": "Sens",
    "severity": "Gravité",
    "consequences": "Suites",
    "context": "Contexte",
}
ROLE_LABELS = {
    "educateur": "Éducateur·rice", "assistant_social": "Assistant·e social·e",
    "accueil": "Accueil", "veilleur": "Veilleur·se", "infirmier": "Infirmier·ère",
    "direction": "Direction", "autre": "Autre",
    "usager": "Usagers", "expert_du_vecu": "Experts du vécu", "travailleur": "Travailleurs",
}  # fmt: skip
UNIT = {"nights": "nuitées", "contacts": "contacts"}


def _md_table(frame: pd.DataFrame, align: str | None = None) -> str:
    cols = list(frame.columns)
    align = align or "l" + "r" * (len(cols) - 1)
    head = "| " + " | ".join(str(c) for c in cols) + " |"
    rule = "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


class Cells(LedgerCells):
    """The ledger's texts of the barometer's counts, by table, row and column."""

    def _cell(self, table: str, row: Any, col: Any):
        return self.cell(count_key(self.year, table, str(row), str(col)))

    def text(self, table: str, row: Any, col: Any) -> str:
        return self._cell(table, row, col).text

    def value(self, table: str, row: Any, col: Any) -> float | None:
        """The published value, None when the cell is hidden."""
        return self._cell(table, row, col).value

    def has(self, table: str, row: Any, col: Any) -> bool:
        return self.has_key(count_key(self.year, table, str(row), str(col)))


def _ci(lo: float, hi: float, digits: int = 2) -> str:
    return f"{num(lo, digits)} – {num(hi, digits)}"


def _p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "< 0,001" if p < 0.001 else num(p, 3)


def _change(a: float | None, b: float | None) -> str:
    """« plus » / « moins » between two published counts (« – » when one is not published)."""
    if a is None or b is None:
        return "–"
    if b == a:
        return "="
    return f"{'+' if b > a else '−'}{num(abs(b - a))}"  # no space: « + 1 » would be a list


def _save(fig, drawn: pd.DataFrame, fig_dir: Path, name: str) -> str:
    save_figure(fig, fig_dir / f"{name}.png")
    write_safe_csv(drawn, fig_dir / f"{name}.csv", quote_all=False)
    return f"{FOLDER}/{name}.png"


def _dimension_table(
    cells: Cells, name: str, years: list[int], form_changed: bool = False
) -> tuple[str, list[str]]:
    """The table of one dimension, and the labels of the codes that were never used in the
    earlier year while the form changed (a code added to the form: not an evolution)."""
    rows, new_codes = [], []
    for code, label in LABELS[name].items():
        if not cells.has(name, code, years[-1]):
            continue
        texts = [cells.text(name, code, y) for y in years]
        before, now = cells.value(name, code, years[0]), cells.value(name, code, years[-1])
        if form_changed and before == 0 and now:
            new_codes.append(label)
            rows.append((f"{label} ¹", *texts, "–"))
            continue
        rows.append((label, *texts, _change(before, now)))
    other = LABELS[name].get("autre")
    if new_codes and other:  # the added code's incidents were « autre » before: no evolution
        rows = [(f"{r[0]} ¹", *r[1:-1], "–") if r[0] == other else r for r in rows]
    frame = pd.DataFrame(rows, columns=[DIMENSION_TITLES[name], *map(str, years), "Évolution"])
    return _md_table(frame), new_codes


def _rates(
    res: dict, cells: Cells, names: dict[str, str], years: list[int], fig_dir: Path | None = None
) -> tuple[str, str]:
    """Two tables (one of 7 columns wrapped every service name over four lines): incidents
    per service with the change, and activity with the rate per 1,000 of both years."""
    counts, rates = [], []
    by = {(r["service"], r["year"]): r for r in res.get("rates", [])}
    for service in sorted({s for s, _ in by}):
        unit = UNIT[next(r["unit"] for (s, _), r in by.items() if s == service)]
        name = names.get(service, service)
        texts, values, activity, rate = [], [], [], []
        for y in years:
            r = by.get((service, y))
            if not cells.has("services", service, y):
                texts.append("–")
                values.append(None)
            else:
                texts.append(cells.text("services", service, y))
                values.append(cells.value("services", service, y))
            activity.append(num(r["exposure"]) if r else "–")
            ok = r is not None and values[-1] is not None
            rate.append(num(r["rate_per_1000"], 1) if ok else "–")
        counts.append((name, *texts, _change(*values)))
        rates.append((name, unit, *activity, *rate))
    count_table = _md_table(
        pd.DataFrame(counts, columns=["Service", *map(str, years), "Évolution"])
    )
    rate_cols = ["Service", "Unité", *(f"Activité {y}" for y in years)]
    rate_cols += [f"Taux ‰ {y}" for y in years]
    frame = pd.DataFrame(rates, columns=rate_cols)
    if fig_dir is not None:  # activity is not a person count: its figures as CSV beside
        write_safe_csv(frame, fig_dir / "activite-et-taux.csv", quote_all=False)
    return count_table, _md_table(frame)


def _all_published(cells: Cells, table: str, rows, cols) -> bool:
    return all(cells.value(table, r, c) is not None for r in rows for c in cols)


def _trend(res: dict, cells: Cells, years: list[int]) -> dict[str, Any]:
    t = res.get("trend") or {}
    if not t.get("computed"):
        return {"computed": False, "reason": t.get("reason", "modèle non calculé")}
    services = sorted({r["service"] for r in res.get("rates", [])})
    if not _all_published(cells, "services", services, years):
        return {"computed": False, "reason": "un compte d'incidents d'un service est masqué"}
    fam = {
        "poisson": "de Poisson",
        "negative binomial": "binomial négatif",
        "quasi-poisson": "de quasi-Poisson",
    }.get(t["family"], t["family"])  # « modèle {fam} »
    naive = t["naive"]
    alpha = f" ; α de la binomiale négative {num(t['alpha'], 3)}" if t.get("alpha") else ""
    diag = (
        f"{num(t['n_months'])} mois × {num(t['n_services'])} services ; χ² de Pearson / ddl "
        f"{num(t['poisson_chi2_df'], 2)} pour le modèle de Poisson (test de Cameron–Trivedi : "
        f"p {_p(t['cameron_trivedi_p'])}) et {num(t['pearson_chi2_df'], 2)} pour le modèle "
        f"retenu{alpha} ; autocorrélation des résidus d'un mois au suivant "
        f"{num(t['acf1'], 2)} (Ljung–Box : p {_p(t['ljung_box_p'])})."
    )
    return {
        "computed": True,
        "family": fam,
        "rr": num(t["rate_ratio"], 2),
        "ci": _ci(*t["ci95"]),
        "p": _p(t["p_value"]),
        "naive_rr": num(naive["rate_ratio"], 2),
        "naive_ci": _ci(*naive["ci95"]),
        "diag": diag,
        "notes": t.get("notes", []),
        "significant": t["ci95"][0] > 1 or t["ci95"][1] < 1,
        "up": t["rate_ratio"] > 1,
    }


def _closing(res: dict, cells: Cells, names: dict[str, str]) -> tuple[str | None, list[str]]:
    rows, findings = [], []
    for service, c in (res.get("closing") or {}).items():
        if not c.get("computed"):
            continue
        name = names.get(service, service)
        window = ", ".join(f"{h} h – {(h + 1) % 24} h" for h in c["closing_hours"])
        hidden = not _all_published(cells, "fermeture", [service], ["fenetre", "autres_heures"])
        rr = c["rate_ratio"]
        rows.append(
            (
                name,
                f"{c['opens']} h – {c['closes']} h" if c["opens"] != c["closes"] else "24 h/24",
                window,
                cells.text("fermeture", service, "fenetre"),
                cells.text("fermeture", service, "autres_heures"),
                NOT_PUBLISHED if hidden else f"{num(rr['rate_ratio'], 1)} ({_ci(*rr['ci95'], 1)})",
                "–" if hidden else _p(rr["p_value"]),
            )
        )
        if not hidden:
            findings.append(
                f"{name} : par heure, {num(rr['rate_ratio'], 1)} fois plus d'incidents dans "
                f"l'heure qui précède la fermeture ({window}) qu'aux autres heures d'ouverture "
                f"(IC 95 % {_ci(*rr['ci95'], 1)})."
            )
    if not rows:
        return None, findings
    cols = [
        "Service", "Ouverture", "Fenêtre", "Dans la fenêtre", "Autres heures",
        "Rapport par heure (IC 95 % exact)", "p",
    ]  # fmt: skip
    return _md_table(pd.DataFrame(rows, columns=cols), "lllrrrr"), findings


MONTHS_SHORT = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                "septembre", "octobre", "novembre", "décembre")  # fmt: skip


def _rr_text(rr: dict, digits: int = 2) -> str:
    return (
        f"{num(rr['rate_ratio'], digits)} (IC 95 % exact {_ci(*rr['ci95'], digits)}, "
        f"p {_p(rr['p_value'])})"
    )


def _refusals(
    res: dict, cells: Cells, names: dict[str, str], fig_dir: Path | None = None
) -> tuple[list[dict], list[str]]:
    """Per night service with refusals: the nights table (published incident cells) and the
    three comparisons and the model, each printed only when its cells are published."""
    out, findings = [], []
    for service, r in (res.get("refusal_nights") or {}).items():
        if "within_winter" not in r:
            continue
        table = f"refus_{service}"

        def ok(*rows: str) -> bool:
            return _all_published(cells, table, rows, ["incidents"])  # noqa: B023

        name = names.get(service, service)
        w, o, a = r["within_winter"], r["winter_refusal_vs_other"], r["refusal_vs_none"]
        lines = [
            ("Nuits d'hiver avec refus", w, 0, "hiver_avec_refus"),
            ("Nuits d'hiver sans refus", w, 1, "hiver_sans_refus"),
            ("Toutes les autres nuits de l'année", o, 1, "autres_nuits"),
            ("Nuits avec refus (toute l'année)", a, 0, "avec_refus"),
            ("Nuits sans refus (toute l'année)", a, 1, "sans_refus"),
        ]
        rows = [
            (label, num(c["nights"][i]), num(c["occupied"][i]), cells.text(table, key, "incidents"))
            for label, c, i, key in lines
        ]
        frame = pd.DataFrame(rows, columns=["Nuits", "Nombre", "Nuitées occupées", "Incidents"])
        if fig_dir is not None:  # nights and occupied nights (not persons) as CSV beside
            write_safe_csv(frame, fig_dir / f"nuits-refus-{service}.csv", quote_all=False)
        comparisons = []
        if o.get("computed") and ok("hiver_avec_refus", "autres_nuits"):
            comparisons.append(
                "**Nuits d'hiver avec refus / toutes les autres nuits** : "
                + _rr_text(o["rate_ratio"])
                + ". Ce rapport mêle l'effet des refus et celui de l'hiver."
            )
            findings.append(
                f"{name} : {num(o['rate_ratio']['rate_ratio'], 1)} fois plus d'incidents par "
                f"nuitée les nuits d'hiver où des personnes ont été refusées faute de place "
                f"que les autres nuits de l'année (IC 95 % {_ci(*o['rate_ratio']['ci95'], 1)}) ; "
                "l'effet des refus ne se sépare pas de celui de l'hiver."
            )
        elif o.get("computed"):
            comparisons.append(
                f"**Nuits d'hiver avec refus / toutes les autres nuits** : {NOT_PUBLISHED}."
            )
        if a.get("computed"):
            comparisons.append(
                "**Nuits avec refus / nuits sans refus, toute l'année** : "
                + (_rr_text(a["rate_ratio"]) if ok("avec_refus", "sans_refus") else NOT_PUBLISHED)
                + "."
            )
        if w.get("computed"):
            comparisons.append(
                "**Hiver seul, nuits avec refus / sans refus** : "
                + (
                    _rr_text(w["rate_ratio"])
                    if ok("hiver_avec_refus", "hiver_sans_refus")
                    else NOT_PUBLISHED
                )
                + "."
            )
        else:
            comparisons.append(f"**Hiver seul, nuits avec refus / sans refus** : {w['reason']}.")
        m = r.get("model") or {}
        months = ", ".join(MONTHS_SHORT[i - 1] for i in m.get("months_both", []))
        if m.get("computed") and ok("avec_refus", "sans_refus"):
            fam = "de Poisson" if m["family"] == "poisson" else "binomial négatif"
            comparisons.append(
                f"**À mois égal (modèle {fam})** : {num(m['rate_ratio'], 2)} (IC 95 % "
                f"{_ci(*m['ci95'])}, p {_p(m['p_value'])}), estimé sur les seuls mois qui ont "
                f"des nuits avec et sans refus ({months} : {num(m['nights_identifying'][0])} "
                f"nuits avec refus, {num(m['nights_identifying'][1])} sans)."
            )
        elif m.get("computed"):
            comparisons.append(f"**À mois égal (modèle)** : {NOT_PUBLISHED}.")
        else:
            comparisons.append(f"**À mois égal (modèle)** : {m.get('reason', 'non calculé')}.")
        conf = r["confounding"]
        out.append(
            {
                "name": name,
                "csv": f"nuits-refus-{service}.csv",
                "table": _md_table(frame, "lrrr"),
                "comparisons": comparisons,
                "winter_nights": num(conf["winter_nights"]),
                "winter_refused": num(conf["winter_nights_refused"]),
                "refused": num(conf["refused_nights"]),
                "refused_winter": num(conf["refused_nights_in_winter"]),
                "min_nights": num(r["min_nights"]),
                "months": months,
            }
        )
    return out, findings


def _share(cells: Cells, table: str, num_row: str, den_row: str, col: str) -> str:
    a, b = cells.value(table, num_row, col), cells.value(table, den_row, col)
    if a is None or b is None or not b:
        return NOT_PUBLISHED
    return pct(a / b, 0)


def _exclusions(res: dict, cells: Cells, years: list[int]) -> dict[str, Any] | None:
    links = res.get("exclusions")
    year = years[-1]
    if not links or not cells.has("exclusions", "exclusions", year):
        return None
    years = [y for y in years if cells.has("exclusions", "exclusions", y)]
    labels = [
        ("Exclusions enregistrées comme motif de sortie", "exclusions"),
        ("… précédées d'un incident relié", "exclusions_liees"),
        ("… dont par le pseudonyme de l'auteur", "liees_personne"),
        ("Incidents ayant pour suite une exclusion", "incidents_exclusion"),
        ("… suivis d'une exclusion enregistrée", "incidents_lies"),
    ]
    rows = [
        (label, *(cells.text("exclusions", key, y) for y in years))
        for label, key in labels
        if all(cells.has("exclusions", key, y) for y in years)
    ]
    table = _md_table(pd.DataFrame(rows, columns=["", *map(str, years)]), "l" + "r" * len(years))
    services = sorted({s["service"] for v in (links.get("by_year") or {"": links}).values()
                       for s in v["services"]})  # fmt: skip
    return {
        "table": table,
        "years": years,
        "days": links["days"],
        "share_exclusions": _share(cells, "exclusions", "exclusions_liees", "exclusions", year),
        "share_person": _share(cells, "exclusions", "liees_personne", "exclusions", year)
        if cells.has("exclusions", "liees_personne", year)
        else NOT_PUBLISHED,
        "share_incidents": _share(
            cells, "exclusions", "incidents_lies", "incidents_exclusion", year
        ),
        "services": services,
    }


def _survey(res: dict, cells: Cells, fig_dir: Path, names: dict[str, str]) -> dict[str, Any]:
    s = res.get("survey") or {}
    if not s.get("computed"):
        return {"computed": False, "reason": s.get("reason", "enquête absente")}
    rows, drawn = [], []
    for code, e in s["prevalences"].items():
        ok = cells.value("reponses", code, "oui") is not None and (
            cells.value("reponses", code, "non") is not None
        )
        rows.append(
            (
                e["label"],
                cells.text("reponses", code, "oui"),
                cells.text("reponses", code, "non"),
                pct(e["unweighted"], 0) if ok else NOT_PUBLISHED,
                pct(e["weighted"], 0) if ok else NOT_PUBLISHED,
                f"{pct(e['ci95'][0], 0)} – {pct(e['ci95'][1], 0)}" if ok else "–",
                num(e["kish_n"], 0) if ok else "–",
            )
        )
        if ok:
            drawn.append(
                {"label": e["label"], "weighted": e["weighted"], "lo": e["ci95"][0],
                 "hi": e["ci95"][1], "unweighted": e["unweighted"]}
            )  # fmt: skip
    cols = [
        "Question",
        "Oui",
        "Non",
        "Part brute",
        "Part redressée",
        "IC 95 %",
        "n effectif (Kish)",
    ]
    figure = None
    if drawn:
        fig, frame = survey_chart(pd.DataFrame(drawn))
        figure = _save(fig, frame, fig_dir, "enquete-prevalences")
    comparisons, withheld = [], 0
    for by in ("role", "service"):
        table = f"reponses_{by}"
        for r in s.get(f"{by}s", []):
            group, code = r[by], r["outcome"]
            published = (
                cells.has(table, group, f"{code}_oui")
                and cells.value(table, group, f"{code}_oui") is not None
                and cells.value(table, group, f"{code}_non") is not None
            )
            withheld += int(r["p_holm"] < 0.05 and not published)
            if r["p_holm"] < 0.05 and published:
                label = ROLE_LABELS.get(group, group) if by == "role" else names.get(group, group)
                comparisons.append(
                    (
                        label,
                        OUTCOMES[code],
                        pct(r["share_group"], 0),
                        pct(r["share_rest"], 0),
                        _p(r["p_holm"]),
                    )
                )
    comparison_table = None
    if comparisons:
        comparison_table = _md_table(
            pd.DataFrame(
                comparisons,
                columns=["Groupe", "Question", "Groupe (redressé)", "Reste du personnel",
                         "p (Holm)"],
            ),
            "llrrr",
        )  # fmt: skip
    n_roles = sum(1 for _ in s.get("roles", []))
    resp = [
        (ROLE_LABELS.get(r, r), cells.text("repondants_role", r, "repondants"))
        for r in s.get("n_by_role", {})
    ]
    resp.append(("Total", cells.text("repondants_role", "total", "repondants")))
    return {
        "computed": True,
        "table": _md_table(pd.DataFrame(rows, columns=cols), "lrrrrrr"),
        "respondents": cells.text("repondants_role", "total", "repondants"),
        "frame": num(s["frame"]),
        "not_covered": num(s["not_covered"]),
        "out_of_frame": s["out_of_frame"],
        "collapsed": len(s["collapsed"]),
        "figure": figure,
        "comparisons": comparison_table,
        "withheld": withheld,
        "n_tests": n_roles + len(s.get("services", [])),
        "resp_table": _md_table(pd.DataFrame(resp, columns=["Fonction", "Répondants"]), "lr"),
    }


def _themes(res: dict, cells: Cells) -> dict[str, Any]:
    t = res.get("themes") or {}
    if not t.get("computed"):
        return {"computed": False, "reason": t.get("reason", "aucun témoignage")}
    codebook = t["codebook"]
    roles = [r for r in ("usager", "expert_du_vecu", "travailleur") if cells.has("themes",
             next(iter(codebook)), r)]  # fmt: skip
    rows = []
    for code, c in codebook.items():
        kappa = (t.get("agreement") or {}).get(code, {}).get("kappa")
        rows.append(
            (c["label"], *(cells.text("themes", code, r) for r in roles),
             cells.text("themes", code, "total"),
             num(kappa, 2) if kappa is not None else "–")
        )  # fmt: skip
    cols = ["Thème", *(ROLE_LABELS[r] for r in roles), "Total", "κ mots-clés / codage manuel"]
    freq = _md_table(pd.DataFrame(rows, columns=cols))
    codes = list(codebook)
    # First word of each label (« Règles », « Peur »): six full labels as column headers ran
    # into each other; the full labels are in the frequency table just above.
    short = {c: codebook[c]["label"].split()[0] for c in codes}
    co_rows = [
        (short[a], *(cells.text("cooccurrences", a, b) if j > i else ("" if j < i else
         cells.text("cooccurrences", a, b)) for j, b in enumerate(codes)))
        for i, a in enumerate(codes)
    ]  # fmt: skip
    co = _md_table(pd.DataFrame(co_rows, columns=["", *(short[c] for c in codes)]))
    definitions = [f"**{c['label']}** : {c['definition']}" for c in codebook.values()]
    return {
        "computed": True,
        "n": cells.text("codage", "total", "temoignages"),
        "hand": cells.text("codage", "manuel", "temoignages"),
        "keyword": cells.text("codage", "mots_cles", "temoignages"),
        "frequencies": freq,
        "cooccurrence": co,
        "definitions": definitions,
        "quotes": t.get("quotes", []),
    }


def barometre_context(res: dict, cells: Cells, names: dict[str, str], fig_dir: Path) -> dict:
    year = cells.year
    years = [year - 1, year]
    findings: list[str] = []
    ctx: dict[str, Any] = {"years": years, "k": cells.k, "notes": list(res.get("notes") or [])}
    has_incidents = cells.has("services", "total", year)
    ctx["has_incidents"] = has_incidents
    if has_incidents:
        totals = [cells.text("services", "total", y) for y in years]
        ctx["totals"] = totals
        findings.append(
            f"{totals[1]} incidents enregistrés en {year} ({totals[0]} en {year - 1}) dans les "
            "fiches des services."
        )
        versions = res.get("form_versions") or {}
        form_changed = len({tuple(v) for v in versions.values()}) > 1
        ctx["form_versions"] = {y: ", ".join(v) for y, v in versions.items()}
        ctx["dimensions"], ctx["new_codes"] = {}, {}
        for name in LABELS:
            if cells.has(name, next(iter(LABELS[name])), year):
                table, new_codes = _dimension_table(cells, name, years, form_changed)
                ctx["dimensions"][name] = table
                if new_codes:
                    ctx["new_codes"][name] = new_codes
        ctx["service_counts"], ctx["rates"] = _rates(res, cells, names, years, fig_dir)
        ctx["trend"] = _trend(res, cells, years)
        if ctx["trend"]["computed"]:
            tr = ctx["trend"]
            findings.append(
                f"À activité égale, le taux d'incidents de {year} vaut {tr['rr']} fois celui de "
                f"{year - 1} (modèle {tr['family']}, IC 95 % {tr['ci']})"
                + ("" if tr["significant"] else " : pas d'évolution établie")
                + "."
            )
        months = pd.DataFrame(
            [
                {"month": m, "year": y, "value": cells.value("mois", m, y),
                 "text": cells.text("mois", m, y)}
                for y in years for m in range(1, 13) if cells.has("mois", m, y)
            ]
        )  # fmt: skip
        ctx["months_figure"] = None
        if len(months):
            fig, drawn = months_chart(months)
            ctx["months_figure"] = _save(fig, drawn, fig_dir, "incidents-par-mois")
        ctx["months_hidden"] = int(months["value"].isna().sum()) if len(months) else 0
        closing_rows = []
        for service, c in (res.get("closing") or {}).items():
            for h in range(24):
                if cells.has("heures", h, service):
                    closing_rows.append(
                        {"service": service, "hour": h, "value": cells.value("heures", h, service),
                         "text": cells.text("heures", h, service),
                         "open": h in c["open_hours"], "closing": h in c["closing_hours"]}
                    )  # fmt: skip
        ctx["hours_figure"] = None
        if closing_rows:
            fig, drawn = hours_chart(pd.DataFrame(closing_rows), names)
            ctx["hours_figure"] = _save(fig, drawn, fig_dir, "incidents-par-heure")
        ctx["closing"], closing_findings = _closing(res, cells, names)
        ctx["hour_unknown"] = (
            cells.text("heure_inconnue", "incidents", year)
            if cells.has("heure_inconnue", "incidents", year)
            else NOT_PUBLISHED
        )
        ctx["refusals"], refusal_findings = _refusals(res, cells, names, fig_dir)
        findings += closing_findings + refusal_findings
        winter = res.get("winter") or ["11-01", "03-31"]
        ctx["winter_text"] = _winter_text(winter)
        ctx["exclusions"] = _exclusions(res, cells, years)
        if ctx["exclusions"]:
            ctx["exclusions"]["services"] = ", ".join(
                names.get(x, x) for x in ctx["exclusions"]["services"]
            )
        if ctx["exclusions"] and ctx["exclusions"]["share_exclusions"] != NOT_PUBLISHED:
            findings.append(
                f"{ctx['exclusions']['share_exclusions']} des exclusions enregistrées comme motif "
                f"de sortie en {year} sont précédées d'un incident relié dans les "
                f"{ctx['exclusions']['days']} jours ({ctx['exclusions']['share_person']} par "
                "le pseudonyme de l'auteur inscrit sur la fiche)."
            )
    ctx["survey"] = _survey(res, cells, fig_dir, names)
    if ctx["survey"]["computed"]:
        s = res["survey"]["prevalences"].get("physical_12m")
        if s and cells.value("reponses", "physical_12m", "oui") is not None:
            findings.append(
                f"Enquête : {pct(s['weighted'], 0)} du personnel (redressé ; IC 95 % "
                f"{pct(s['ci95'][0], 0)} – {pct(s['ci95'][1], 0)}) déclare une violence physique "
                f"subie en 12 mois ({pct(s['unweighted'], 0)} des répondants, sans redressement)."
            )
    ctx["themes"] = _themes(res, cells)
    ctx["findings"] = findings
    return ctx


def _winter_text(winter: list[str]) -> str:
    (m1, d1), (m2, d2) = (map(int, w.split("-")) for w in winter)
    return f"du {d1} {MOIS_NOMS[m1 - 1]} au {d2} {MOIS_NOMS[m2 - 1]}"


def _front(settings: Settings) -> dict[str, Any]:
    rep = settings.report
    return {
        "year": rep.year,
        "organisation": rep.organisation,
        "colour_primary": rep.colour_primary,
        "colour_secondary": rep.colour_secondary,
        "date": f"{rep.year + 1}-03-31",
        "version": code_version(),
    }


def build_barometre_report(settings: Settings) -> None:
    """Render the barometer into ``outputs/reports/<Y>/barometre-violences.{qmd,html,pdf}``."""
    from observatoire.reports.render import render_document

    year = settings.report.year
    k = settings.report.disclosure_threshold
    out_dir = PATHS.reports(year)
    res = read_results(PATHS.barometer(year))
    if res is None:
        res = {"notes": [f"Étape « barometer » non exécutée pour {year}."]}
    cells = Cells.of_year(PATHS.tables(year), year, k, "barometer")
    inputs = settings.inputs
    names = {pid: m.name for pid, m in load_partners(inputs.partners_dir, inputs.codes_dir).items()}
    field = load_field(PATHS.terrain_params).barometre
    tmp = temp_dir(out_dir, STEM)
    fig_dir = tmp / FOLDER
    fig_dir.mkdir(parents=True)
    try:
        ctx = _front(settings) | {"logo": stage_logo(settings.report.logo, fig_dir)}
        ctx |= barometre_context(res, cells, names, fig_dir)
        ctx["exclusion_days"] = field.exclusion_days if field else 7
        source = tmp / f"{STEM}.qmd"
        source.write_text(report_template("barometre-violences.qmd.j2").render(**ctx), "utf-8")
        engine = render_document(source, tmp).engine
        members = [f"{STEM}.{ext}" for ext in ("qmd", "html", "pdf")] + [FOLDER]
        check_before_publishing(settings, tmp, members, out_dir, "barometer_report")
        publish_members(tmp, out_dir, members)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"Baromètre des violences {year} : {out_dir / STEM}.{{html,pdf}} (moteur : {engine})")
