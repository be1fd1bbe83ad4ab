"""Stage ``plans_report``: the bilan of each seasonal plan and the winter preparation note.

For report year Y, in ``outputs/reports/<Y>/plans-saisonniers/``:

* ``plan-grand-froid-<Y−1>-<Y>.{qmd,html,pdf}``: the winter plan's bilan;
* ``plan-canicule-<Y>.{qmd,html,pdf}``: the summer plan's bilan (one document per plan of
  ``params/plans.yaml``: ``plan-<id>-<years>``);
* ``preparation-hiver-<A>-<A+1>.{qmd,html,pdf}``: the preparation note of the winter the
  forecast looks at (its horizon: the first winter not begun when the report is published,
  A = Y + 1 for a report published in the spring of Y + 1);
* ``figures/``: each chart as PNG with the CSV of what it draws.

Everything printed comes from the ``plans`` stage (``outputs/plans/<Y>/``: nights, beds,
refusals, visits, model estimates: no person) and, for the persons, from the year's ledger
(``outputs/tables/<Y>/cases_publiees.csv``, keys of :mod:`observatoire.disclosure.plans`): a
person count is printed as the publication decided (« < k », « s » or the number). The folder
is a DVC output of its own because DVC cannot write Y − 1 in a path. The rendered files are
scanned by :func:`observatoire.guard.leaks.check_before_publishing` before they replace the
previous ones. When a plan has no data, its document still renders and says, in French, what
could not be computed.
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
from observatoire.core.schema import AGGREGATE_MEASURES
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.storage import publish_members, temp_dir
from observatoire.disclosure.ledger import LedgerError, published_texts, read_ledger
from observatoire.disclosure.plans import MEASURES, person_key, read_bilans
from observatoire.guard.leaks import check_before_publishing
from observatoire.intake.mapping import load_partners
from observatoire.plans.settings import Plan, load_plans
from observatoire.reports.charts import save_figure
from observatoire.reports.common import code_version, report_template, stage_logo
from observatoire.reports.plans.charts import beds_needed_chart, effect_chart, nights_chart

__all__ = [
    "FIGURES",
    "FOLDER",
    "bilan_stem",
    "build_plans_report",
    "preparation_stem",
]

FOLDER = "plans-saisonniers"
FIGURES = "figures"
SOURCE_LABEL = {"reseau": "Abris du réseau"}


def bilan_stem(plan: Plan, year: int) -> str:
    """``plan-grand-froid-2023-2024`` (winter of report year 2024), ``plan-canicule-2024``."""
    first, last = plan.window(year)
    years = f"{first.year}-{last.year}" if first.year != last.year else str(last.year)
    return f"plan-{plan.id.replace('_', '-')}-{years}"


def preparation_stem(winter: str) -> str:
    """``preparation-hiver-2025-2026``: the winter the forecast looks at."""
    return f"preparation-hiver-{winter}"


def _md_table(frame: pd.DataFrame, align: str | None = None) -> str:
    """A pipe table; ``align``: one letter per column (l, r), default first left, rest right."""
    cols = list(frame.columns)
    align = align or "l" + "r" * (len(cols) - 1)
    head = "| " + " | ".join(str(c) for c in cols) + " |"
    rule = "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _measure_label(code: str) -> str:
    m = AGGREGATE_MEASURES.get(code)
    return m.label if m is not None else code


def _phase_text(plan: Plan, phase_days: dict[str, int]) -> str:
    parts = [f"{num(phase_days.get(p.id, 0))} jour(s) en « {p.label} »" for p in plan.phases]
    return ", ".join(parts)


class _Texts:
    """The ledger's texts of the plans' person counts, or a French error when stale."""

    def __init__(self, settings: Settings) -> None:
        year = settings.report.year
        self.k = settings.report.disclosure_threshold
        self.year = year
        self.cells = published_texts(read_ledger(PATHS.tables(year)), self.k)
        inputs = settings.inputs
        self.names = {  # partner id → the name a reader knows it by
            pid: m.name for pid, m in load_partners(inputs.partners_dir, inputs.codes_dir).items()
        }

    def person(self, plan: str, plan_year: int, measure: str) -> str:
        key = person_key(self.year, plan, plan_year, measure)
        if key not in self.cells:
            raise LedgerError(
                f"Case « {key} » absente du registre de publication {self.year}. À faire : "
                "relancez « observatoire publication » après « observatoire plans »."
            )
        return self.cells[key].text


def _year_rows(entry: dict[str, Any]) -> list[dict[str, Any]]:
    rows = list(entry.get("earlier") or [])
    if entry.get("network"):
        rows.append(entry["network"])
    return [r for r in rows if r.get("days_with_data")]


def _plan_year_label(plan: Plan, y: int) -> str:
    return f"{y - 1}-{y}" if plan.season == "hiver" else str(y)


def _save(fig, drawn: pd.DataFrame, fig_dir: Path, name: str) -> str:
    save_figure(fig, fig_dir / f"{name}.png")
    write_safe_csv(drawn, fig_dir / f"{name}.csv", quote_all=False)
    return f"{FIGURES}/{name}.png"


def _effect_rows(plan: Plan, entry: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    sources = [("reseau", entry.get("effect_network") or {})]
    sources += [(p, v.get("effect") or {}) for p, v in (entry.get("partners") or {}).items()]
    for source, eff in sources:
        label = SOURCE_LABEL.get(source) or names.get(source, source)
        if not eff.get("computed"):
            out.append({"source": label, "computed": False, "reason": eff.get("reason", "")})
            continue
        lo, hi = eff["rate_ratio_ci95"]
        out.append(
            {
                "source": label,
                "computed": True,
                "rr": eff["rate_ratio"],
                "lo": lo,
                "hi": hi,
                "naive": math.exp(eff["naive_log_rr"]),
                "family": eff["family"],
                "dispersion": eff["dispersion"],
                "n_days": eff["n_days"],
                "days_beyond": eff["days_beyond"],
                "lb7": eff["ljung_box_p"].get("7"),
                "acf1": eff["acf1"],
                "blocks": eff.get("blocks"),
                "se": eff["se"],
                "se_hac": eff.get("se_hac"),
                "contrast": eff.get("spline_contrast"),
                "contrast_ci": eff.get("spline_ci95"),
                "contrast_at": eff.get("contrast"),
                "label": eff.get("label", ""),
            }
        )
    return out


def _p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0,001" if p < 0.001 else num(p, 3)


def _pct_change(rr: float) -> str:
    return pct(rr - 1, 1, signed=True)


def bilan_context(
    plan: Plan, entry: dict[str, Any], texts: _Texts, plans_dir: Path, fig_dir: Path
) -> dict[str, Any]:
    """Everything the bilan template prints for one plan."""
    year = texts.year
    k = texts.k
    notes = list(entry.get("notes") or [])
    cov = "tmin" if plan.season == "hiver" else "tmax"
    threshold = 0.0 if plan.season == "hiver" else 25.0
    default = plan.phases[0]
    triggered = plan.phases[-1] if len(plan.phases) > 1 else default
    net = entry.get("network")
    figures: dict[str, str] = {}
    findings: list[str] = []
    summary = None
    if net and net.get("days_with_data"):
        occupancy = pct(net["occupancy"]) if net.get("occupancy") is not None else "–"
        summary = _md_table(
            pd.DataFrame(
                [
                    ("Jours du plan (avec données)",
                     f"{num(net['days'])} ({num(net['days_with_data'])})"),
                    ("Jours par phase", _phase_text(plan, net["phase_days"])),
                    ("Nuits offertes (lits × nuits)", num(net["offered"])),
                    ("Nuits occupées", num(net["used"])),
                    ("Taux d'occupation", occupancy),
                    ("Refus faute de place", num(net["refused"])),
                    ("Nuits avec au moins un refus", num(net["refusal_nights"])),
                    ("Lits de base (médiane hors phase déclenchée)", num(net["base_beds"])),
                    ("Nuits absorbées par les lits ajoutés", num(net["absorbed"])),
                    ("Personnes hébergées", texts.person(plan.id, year, "personnes")),
                    ("dont nouvelles", texts.person(plan.id, year, "nouvelles")),
                    ("dont déjà connues", texts.person(plan.id, year, "connues")),
                    ("Jeunes (18–25 ans)", texts.person(plan.id, year, "jeunes")),
                ],
                columns=["Indicateur", "Valeur"],
            ),
            "lr",
        )  # fmt: skip
        findings.append(
            f"Les abris du réseau ont offert {num(net['offered'])} nuits et en ont occupé "
            f"{num(net['used'])} ({occupancy}) ; {num(net['refused'])} demandes ont été "
            f"refusées faute de place, sur {num(net['refusal_nights'])} des "
            f"{num(net['days_with_data'])} nuits."
        )
        nights = pd.read_csv(plans_dir / f"nuits_{plan.id}.csv", parse_dates=["date"])
        fig, drawn = nights_chart(nights, default.id, triggered.label, cov, threshold)
        figures["reseau"] = _save(fig, drawn, fig_dir, f"{plan.id}-nuits-reseau")
    else:
        notes.append(
            f"Aucune donnée nominative d'hébergement pour la période du {plan.label(year)} : "
            "les nuits, refus et personnes des abris du réseau ne sont pas calculés."
        )
    phase_days = (net or {}).get("phase_days") or {}
    if phase_days.get(triggered.id):
        findings.append(
            f"{num(phase_days[triggered.id])} jour(s) en phase « {triggered.label} » "
            f"sur {num(sum(phase_days.values()))}."
        )
    # the plan's own services (count-only partners)
    partners = []
    for pid, p in (entry.get("partners") or {}).items():
        current = [r for r in p["years"] if r["year"] == year]
        if not current:
            continue
        r = current[0]
        visits = p["outcome"] == "visits"
        rows = [("Jours avec un retour", num(r["days_with_data"]))]
        if visits:
            rows.append(("Passages", num(r["demand"])))
        else:
            rows += [
                ("Nuits offertes", num(r["offered"])),
                ("Nuits occupées", num(r["used"])),
                ("Taux d'occupation", pct(r["occupancy"]) if r.get("occupancy") else "–"),
                ("Refus faute de place", num(r["refused"])),
                ("Nuits avec au moins un refus", num(r["refusal_nights"])),
                ("Lits de base", num(r["base_beds"])),
                ("Nuits absorbées par les lits ajoutés", num(r["absorbed"])),
            ]
        path = plans_dir / f"nuits_{plan.id}__{pid}.csv"
        fig_path = None
        if path.exists():
            frame = pd.read_csv(path, parse_dates=["date"])
            fig, drawn = nights_chart(
                frame, default.id, triggered.label, cov, threshold, visits=visits
            )
            fig_path = _save(fig, drawn, fig_dir, f"{plan.id}-nuits-{pid}")
        partners.append(
            {
                "id": pid,
                "name": texts.names.get(pid, pid),
                "table": _md_table(pd.DataFrame(rows, columns=["Indicateur", "Valeur"]), "lr"),
                "figure": fig_path,
                "visits": visits,
                "years": len(p["years"]),
            }
        )
        if not visits and r.get("absorbed"):
            findings.append(
                f"Chez {texts.names.get(pid, pid)}, les lits ajoutés en phase "
                f"« {triggered.label} » ont absorbé "
                f"{num(r['absorbed'])} nuits (borne haute des refus évités)."
            )
    dist = entry.get("distributions") or {}
    dist_table = (
        _md_table(
            pd.DataFrame(
                [(_measure_label(m).capitalize(), num(v)) for m, v in sorted(dist.items()) if v],
                columns=["Mesure", "Total de la période"],
            ),
            "lr",
        )
        if any(dist.values())
        else None
    )
    # comparison with every earlier plan of the data
    rows = _year_rows(entry)
    comparison = persons_table = None
    if rows:
        comparison = _md_table(
            pd.DataFrame(
                [
                    (
                        _plan_year_label(plan, r["year"]),
                        num(r.get("phase_days", {}).get(triggered.id, 0)),
                        num(r["offered"]),
                        num(r["used"]),
                        pct(r["occupancy"]) if r.get("occupancy") is not None else "–",
                        num(r["refused"]),
                        num(r["refusal_nights"]),
                        num(r["mean_temperature"], 1),
                    )
                    for r in rows
                ],
                columns=[
                    "Plan", "Jours de phase", "Nuits offertes", "Nuits occupées",
                    "Occupation", "Refus", "Nuits avec refus",
                    "T. " + ("min." if cov == "tmin" else "max.") + " (°C)",
                ],
            )
        )  # fmt: skip
        persons_table = _md_table(
            pd.DataFrame(
                [
                    (_plan_year_label(plan, r["year"]),)
                    + tuple(texts.person(plan.id, r["year"], part) for part, _ in MEASURES.values())
                    for r in rows
                ],
                columns=["Plan", *(title for _, title in MEASURES.values())],
            )
        )
    # temperature effect
    effects = _effect_rows(plan, entry, texts.names)
    computed = [e for e in effects if e["computed"]]
    effect_fig = None
    unit = "°C sous 0 °C (minimum)" if cov == "tmin" else "°C au-delà de 25 °C (maximum)"
    if computed:
        frame = pd.DataFrame(
            {
                "source": [e["source"] for e in computed],
                "rapport": [e["rr"] for e in computed],
                "ic_bas": [e["lo"] for e in computed],
                "ic_haut": [e["hi"] for e in computed],
                "rapport_naif": [e["naive"] for e in computed],
            }
        )
        fig, drawn = effect_chart(frame, f"Rapport de taux de la demande par {unit}")
        effect_fig = _save(fig, drawn, fig_dir, f"{plan.id}-effet-temperature")
        for e in computed:
            sig = e["lo"] > 1 or e["hi"] < 1
            side = "sous 0 °C" if cov == "tmin" else "au-delà de 25 °C"
            more = "plus forte" if e["rr"] >= 1 else "plus faible"
            findings.append(
                f"{e['source']} : chaque degré {side} va avec une demande {more} de "
                f"{pct(abs(e['rr'] - 1))} (IC 95 % {_pct_change(e['lo'])} à "
                f"{_pct_change(e['hi'])})" + ("" if sig else " : pas d'effet établi") + "."
            )
    diag = None
    if computed:
        diag = _md_table(
            pd.DataFrame(
                [
                    (
                        e["source"],
                        f"{num(e['n_days'])} ({num(e['days_beyond'])})",
                        e["family"].replace("negative binomial", "binomiale négative"),
                        num(e["dispersion"], 2),
                        num(e["acf1"], 2),
                        _p_text(e["lb7"]),
                        num(e["se"], 4),
                        num(e["se_hac"], 4),
                    )
                    for e in computed
                ],
                columns=[
                    "Source", "Jours (au-delà du seuil)", "Famille", "Dispersion",
                    "Autocorr. 1 j", "Ljung–Box p", "ET jackknife", "ET Newey–West",
                ],
            )
        )  # fmt: skip
    spline = [
        f"{e['source']} : demande attendue à {num(e['contrast_at'][0])} °C rapportée à "
        f"{num(e['contrast_at'][1])} °C = {num(e['contrast'], 2)} (IC 95 % "
        f"{num(e['contrast_ci'][0], 2)}–{num(e['contrast_ci'][1], 2)})"
        for e in computed
        if e.get("contrast") is not None
    ]
    not_computed = [f"{e['source']} : {e['reason']}" for e in effects if not e["computed"]]
    return {
        "plan_label": plan.label(year),
        "plan_name": plan.name,
        "season": plan.season,
        "window": plan.window(year),
        "window_text": _window_text(plan, year),
        "triggered": triggered.label,
        "default_phase": default.label,
        "summary": summary,
        "findings": findings,
        "notes": notes,
        "figures": figures,
        "partners": partners,
        "distributions": dist_table,
        "comparison": comparison,
        "persons_table": persons_table,
        "n_years": len(rows),
        "effect_figure": effect_fig,
        "effect_unit": unit,
        "effect_diag": diag,
        "spline": spline,
        "effect_not_computed": not_computed,
        "covariate_label": "température minimale" if cov == "tmin" else "température maximale",
        "threshold": num(threshold),
        "k": k,
    }


def _window_text(plan: Plan, year: int) -> str:
    first, last = plan.window(year)
    return (
        f"du {first.day} {MOIS_NOMS[first.month - 1]} {first.year} au {last.day} "
        f"{MOIS_NOMS[last.month - 1]} {last.year}"
    )


def preparation_context(
    bilans: dict[str, Any], plans_dir: Path, fig_dir: Path, target: float
) -> dict[str, Any]:
    prep = bilans.get("preparation") or {}
    year = int(bilans.get("year"))
    ctx: dict[str, Any] = {
        "computed": bool(prep.get("computed")),
        "reason": prep.get("reason", ""),
        "winter": prep.get("winter") or f"{year + 1}-{year + 2}",
        "target": pct(target, 0),
        "figure": None,
        "beds_table": None,
        "backtest_table": None,
        "grid_table": None,
        "findings": [],
    }
    if not ctx["computed"]:
        return ctx
    months = pd.read_csv(plans_dir / "besoins_lits.csv", parse_dates=["month"])
    backtest = (
        pd.read_csv(plans_dir / "backtest_lits.csv", parse_dates=["month"])
        if (plans_dir / "backtest_lits.csv").exists()
        else pd.DataFrame()
    )
    grid = (
        pd.read_csv(plans_dir / "capacites_passees.csv", parse_dates=["month"])
        if (plans_dir / "capacites_passees.csv").exists()
        else pd.DataFrame()
    )
    offered = None
    if len(grid):
        last_month = grid["month"].max()
        last = grid[grid["month"] == last_month]
        offered = float(last.loc[last["step"] == 0, "beds"].iloc[0]) if len(last) else None
    fig, drawn = beds_needed_chart(months, offered)
    ctx["figure"] = _save(fig, drawn, fig_dir, "preparation-lits-necessaires")

    def month_label(t: pd.Timestamp) -> str:
        return f"{MOIS_NOMS[t.month - 1]} {t.year}"

    def short_month(t: pd.Timestamp) -> str:
        return f"{MOIS_ABREGES[t.month - 1]} {t.year}"

    ctx["beds_table"] = _md_table(
        pd.DataFrame(
            [
                (
                    month_label(r.month),
                    num(r.forecast),
                    f"{num(r.lo80)} – {num(r.hi80)}",
                    num(r.mean_night, 1),
                    num(r.beds),
                    pct(r.share_at_beds),
                )
                for r in months.itertuples()
            ],
            columns=[
                "Mois", "Demande prévue (nuits)", "Intervalle 80 %", "Par nuit",
                "Lits nécessaires", "Part attendue de nuits avec refus",
            ],
        )
    )  # fmt: skip
    ctx["findings"].append(
        f"Pour l'hiver {ctx['winter']}, la règle demande de {num(months['beds'].min())} à "
        f"{num(months['beds'].max())} lits selon le mois pour que la part attendue des nuits "
        f"avec refus reste sous {ctx['target']}"
        + (
            f" ; au dernier mois d'hiver des données ({month_label(last_month)}), "
            f"{num(offered)} lits étaient offerts en moyenne."
            if offered
            else "."
        )
    )
    if len(backtest):
        ctx["backtest_table"] = _md_table(
            pd.DataFrame(
                [
                    (
                        r.winter,
                        short_month(r.month),
                        num(r.beds_rule),
                        pct(r.expected_share),
                        pct(r.share_rule),
                        num(r.beds_offered),
                        pct(r.share_offered),
                    )
                    for r in backtest.itertuples()
                ],
                columns=[
                    "Hiver", "Mois", "Lits (règle)", "Part attendue", "Part avec ces lits",
                    "Lits offerts", "Part réelle",
                ],
            ),
            "llrrrrr",
        )  # fmt: skip
        within = backtest["share_rule"] <= backtest["expected_share"] + 0.05
        ctx["findings"].append(
            f"Appliquée aux {num(backtest['winter'].nunique())} hivers passés où elle pouvait "
            f"l'être, avec les seules données d'alors, la règle aurait donné une part de nuits "
            f"avec refus de {pct(backtest['share_rule'].min())} à "
            f"{pct(backtest['share_rule'].max())} selon le mois (cible {ctx['target']}), contre "
            f"{pct(backtest['share_offered'].min())} à {pct(backtest['share_offered'].max())} "
            f"avec les lits réellement offerts ; {num(int(within.sum()))} mois sur "
            f"{num(len(backtest))} restent à moins de 5 points de ce que la règle attendait."
        )
    if len(grid):
        recent = grid[grid["month"] >= grid["month"].max() - pd.DateOffset(months=16)]
        wide = recent.pivot_table(index="month", columns="step", values="share_nights_refusal")
        base = recent[recent["step"] == 0].set_index("month")["beds"]
        table = pd.DataFrame(
            {
                "Mois": [short_month(m) for m in wide.index],
                "Lits offerts": [num(base.get(m)) for m in wide.index],
                **{
                    (f"{s:+d} lits".replace("-", "−") if s else "± 0"): [pct(v, 0) for v in wide[s]]
                    for s in wide.columns
                },
            }
        )
        ctx["grid_table"] = _md_table(table)
    return ctx


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


def build_plans_report(settings: Settings) -> None:
    """Render the bilans and the preparation note into ``outputs/reports/<Y>/plans-saisonniers``."""
    from observatoire.reports.render import render_documents

    year = settings.report.year
    plans = load_plans(PATHS.plans_params)
    plans_dir = PATHS.plans(year)
    out_dir = PATHS.reports(year)
    bilans = read_bilans(plans_dir)
    if bilans is None:
        missing = f"Étape « plans » non exécutée pour {year} ({plans_dir}/bilans.json absent)."
        bilans = {"year": year, "plans": {}, "preparation": {}, "notes": [missing]}
    texts = _Texts(settings)
    tmp = temp_dir(out_dir, FOLDER)
    work = tmp / FOLDER
    fig_dir = work / FIGURES
    fig_dir.mkdir(parents=True)
    try:
        front = _front(settings) | {"logo": stage_logo(settings.report.logo, fig_dir)}
        written, sources = [], []
        for pid, plan in plans.plans.items():
            entry = bilans["plans"].get(pid) or {"notes": list(bilans.get("notes") or [])}
            ctx = front | bilan_context(plan, entry, texts, plans_dir, fig_dir)
            ctx["stage_notes"] = list(bilans.get("notes") or [])
            stem = bilan_stem(plan, year)
            source = work / f"{stem}.qmd"
            source.write_text(report_template("plan-bilan.qmd.j2").render(**ctx), "utf-8")
            sources.append((source, work))
            written.append(stem)
        prep = preparation_context(bilans, plans_dir, fig_dir, plans.targets.refusal_night_share)
        stem = preparation_stem(prep["winter"])
        source = work / f"{stem}.qmd"
        ctx = front | prep | {"report_year": year}
        source.write_text(report_template("preparation-hiver.qmd.j2").render(**ctx), "utf-8")
        sources.append((source, work))
        written.append(stem)
        engine = render_documents(sources)[-1].engine
        members = [f"{s}.{ext}" for s in written for ext in ("qmd", "html", "pdf")]
        members.append(FIGURES)
        check_before_publishing(settings, work, members, out_dir / FOLDER, "plans_report")
        publish_members(tmp, out_dir, [FOLDER])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"Plans saisonniers {year} : {len(written)} documents dans {out_dir / FOLDER}/ "
        f"({', '.join(written)} ; moteur : {engine})"
    )
