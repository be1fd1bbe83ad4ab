"""Stage ``projects_report``: one report and one monthly activity sheet per project.

For report year Y and each project of ``outputs/projects/<Y>/`` (stage ``projects``):

* ``outputs/reports/<Y>/projet-<id>.{qmd,html,pdf}`` — objectives, activities and participation,
  the tenants' council (affiliation project), the tenants' affiliation, Housing First outcomes,
  budget, methods and limits, the disclosure rules and their cost — with its charts (PNG + CSV)
  in ``outputs/reports/<Y>/projet-<id>-figures/``;
* ``outputs/reports/<Y>/projet-<id>-fiches/`` — the monthly activity sheet for the team meeting
  (``fiches-<Y>.xlsx``, one sheet per month, and ``fiches-<Y>.pdf``, one page per month).

Every count of persons printed is the ledger's text (``outputs/tables/<Y>/cases_publiees.csv``,
keys of :mod:`observatoire.disclosure.projets`); shares are computed from published cells only
(a share whose count is masked is not printed). The rendered files are scanned by
:func:`observatoire.guard.leaks.check_before_publishing` before they replace the previous ones.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.formatting import MOIS_ABREGES, MOIS_NOMS
from observatoire.core.formatting import french_fraction as pct
from observatoire.core.formatting import french_number as num
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.stats import proportion_ci
from observatoire.core.storage import publish_members, temp_dir
from observatoire.disclosure.ledger import LedgerCells
from observatoire.disclosure.projets import (
    BANDS,
    DOMAINS,
    GROUPS,
    LINKS,
    PARTICIPANT_ROLES,
    PERSON_INDICATORS,
    ROLES,
    TIMES,
    ProjectOutputs,
    month_of,
    projet_key,
    read_projects,
    rules_cost,
)
from observatoire.guard.leaks import check_before_publishing
from observatoire.reports.charts import save_figure
from observatoire.reports.common import code_version, report_template, stage_logo
from observatoire.reports.projects.charts import (
    budget_chart,
    calendar_heatmap,
    monthly_participants,
    objective_trend,
    score_distribution,
)
from observatoire.reports.projects.sheets import monthly_sheet_pdf, monthly_sheet_xlsx

__all__ = ["build_projects_report", "monthly_content", "project_context", "stem"]

THEMES = {"activite": "Activités", "cadre_de_vie": "Cadre de vie", "reglement": "Règlement",
          "partenariat": "Partenariats", "autre": "Autre"}  # fmt: skip
OUTCOMES = {"realisee": "Réalisée", "en_cours": "En cours", "refusee": "Refusée",
            "abandonnee": "Abandonnée"}  # fmt: skip
LINES = {"personnel": "Personnel", "activites": "Activités", "equipement": "Équipement",
         "transport": "Transport", "location": "Location", "communication": "Communication",
         "autre": "Autre"}  # fmt: skip
STATUS = {"atteint": "oui", "non_atteint": "non", "en_cours": "en cours",
          "non_calcule": "non calculé"}  # fmt: skip
DRIFT = {"depassement": "dépassement", "sous_execution": "sous-exécution",
         "hors_budget": "hors budget"}  # fmt: skip
FROM_PERSONS = {"retention_3_mois", "affilies_6_mois", "affilies_12_mois",
                "conseil_presence_moyenne", "score_affiliation_median_12_mois"}  # fmt: skip
"""Objectives computed from counts of persons: their value is derived from published cells,
and their monthly curve (from unpublished monthly counts) is not drawn."""
SHARE_INDICATORS = {"retention_3_mois", "affilies_6_mois", "affilies_12_mois",
                    "budget_execution"}  # fmt: skip
DIMENSIONS = {
    "mois": "participants par mois", "role": "participants par rôle",
    "seances": "participants par nombre de séances", "retention": "rétention à 3 mois",
    "conseil": "présences au conseil", "affiliation": "scores d'affiliation",
    "domaine": "domaines d'affiliation", "issues": "issues de logement",
    "liaison": "liaison aux personnes", "objectif": "cumul des objectifs", "total": "totaux",
}  # fmt: skip


def stem(project: str) -> str:
    return f"projet-{project}"


def _md_table(frame: pd.DataFrame, align: str | None = None) -> str:
    cols = list(frame.columns)
    align = align or "l" + "r" * (len(cols) - 1)
    head = "| " + " | ".join(str(c) for c in cols) + " |"
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    # a wide table's column widths follow the rule's dashes (pandoc): as wide as its content
    width = [max([len(str(c))] + [len(str(v)) for v in frame[c]]) for c in cols] if len(
        frame.columns) == len(set(frame.columns)) else [3] * len(cols)  # fmt: skip
    rule = "|" + "|".join((":" + "-" * max(2, w) if a == "l" else "-" * max(2, w) + ":")
                          for a, w in zip(align, width, strict=True)) + "|"  # fmt: skip
    return "\n".join([head, rule, *rows])


def euros(x: float) -> str:
    return f"{num(x)}\u202f€"


class Cells:
    """A project's published cells (the ledger's text and value by key)."""

    def __init__(self, ledger: LedgerCells, project: str) -> None:
        self.ledger, self.project, self.year, self.k = ledger, project, ledger.year, ledger.k

    def text(self, dim: str, code: Any, measure: str) -> str:
        return self.ledger.cell(projet_key(self.year, self.project, dim, code, measure)).text

    def value(self, dim: str, code: Any, measure: str) -> float | None:
        return self.ledger.cell(projet_key(self.year, self.project, dim, code, measure)).value

    def has(self, dim: str, code: Any, measure: str) -> bool:
        return self.ledger.has_key(projet_key(self.year, self.project, dim, code, measure))


def _share(x: float | None, n: float | None) -> tuple[float | None, float, float]:
    """A share from two published cells (None when either is masked or n is 0)."""
    if x is None or not n:
        return None, float("nan"), float("nan")
    lo, hi = proportion_ci(int(x), int(n))
    return x / n, lo, hi


def _save(fig, drawn: pd.DataFrame, fig_dir: Path, name: str) -> str:
    save_figure(fig, fig_dir / f"{name}.png")
    write_safe_csv(drawn, fig_dir / f"{name}.csv", quote_all=False)
    return f"{fig_dir.name}/{name}.png"


def _objectives(out: ProjectOutputs, c: Cells, fig_dir: Path) -> list[dict[str, Any]]:
    obj = out.frame("objectifs")
    rows = []
    for r in obj.itertuples():
        ind = str(r.indicateur)
        share = ind in SHARE_INDICATORS
        target = float(r.cible)
        value_text, value = "non calculé", None
        if ind in PERSON_INDICATORS:
            value_text = c.text("total", None, PERSON_INDICATORS[ind])
            value = c.value("total", None, PERSON_INDICATORS[ind])
        elif ind == "retention_3_mois":  # the newcomers' (lane pstage), else all months'
            base = "nouveaux" if c.has("retention", "nouveaux", "base") else "total"
            if c.has("retention", base, "base"):
                value, _, _ = _share(
                    c.value("retention", base, "revus"), c.value("retention", base, "base")
                )
        elif ind in ("affilies_6_mois", "affilies_12_mois"):
            t = "6_mois" if ind.endswith("6_mois") else "12_mois"
            if c.has("affiliation", t, "affilies"):
                value, _, _ = _share(c.value("affiliation", t, "affilies"),
                                     c.value("affiliation", t, "locataires"))  # fmt: skip
        elif ind == "conseil_presence_moyenne":
            tot = (
                c.value("conseil", "total", "presences")
                if c.has("conseil", "total", "presences")
                else None
            )
            n = len(out.frame("conseil"))
            value = tot / n if tot is not None and n else None
        elif not pd.isna(r.valeur):  # sessions, proposals, euros, a median: not persons
            value = float(r.valeur)
        if value is not None and value_text == "non calculé":
            value_text = pct(value) if share else num(value, 0 if value == int(value) else 1)
        reached = "–"
        status = getattr(r, "statut", None)
        if isinstance(status, str) and status in STATUS:
            reached = STATUS[status]
        elif value is not None:
            ok = value >= target if str(r.sens) == "au_moins" else value <= target
            reached = "oui" if ok else "non"
        figure = None
        series = [getattr(r, f"m{m:02d}", None) for m in range(1, 13)]
        if ind in PERSON_INDICATORS:
            series = [c.value("objectif", f"{r.code}:{m:02d}", "cumul")
                      if c.has("objectif", f"{r.code}:{m:02d}", "cumul") else None
                      for m in range(1, 13)]  # fmt: skip
        elif ind in FROM_PERSONS:  # a month's share or mean of unpublished person counts
            series = [None] * 12
        if any(v is not None and not pd.isna(v) for v in series):
            drawn = pd.DataFrame(
                {"mois": MOIS_ABREGES, "valeur": [float("nan") if v is None else v for v in series]}
            )
            fig, drawn = objective_trend(drawn, target, share)
            figure = _save(fig, drawn, fig_dir, f"objectif-{r.code}")
        gaps = figure is not None and any(
            pd.isna(v) for v in drawn["valeur"][: drawn["valeur"].last_valid_index() or 0]
        )
        rows.append({"code": r.code, "libelle": r.libelle, "indicateur": ind, "gaps": gaps,
                     "cible": pct(target, 0) if share else num(target),
                     "sens": "au moins" if str(r.sens) == "au_moins" else "au plus",
                     "valeur": value_text, "atteint": reached, "figure": figure})  # fmt: skip
    return rows


def _participation(out: ProjectOutputs, c: Cells, fig_dir: Path) -> dict[str, Any]:
    year = out.year
    months = out.frame("participation_mois")
    ctx: dict[str, Any] = {"computed": not months.empty} | dict.fromkeys(
        (
            "calendar_figure",
            "activities",
            "bands",
            "retention",
            "effect",
            "effect_reason",
            "monthly_roles",
            "roles",
        )
    )
    if months.empty:
        return ctx
    sessions = {month_of(r.month): int(r.sessions) for r in months.itertuples()}
    table, drawn = [], []
    for m in range(1, 13):
        t = {x: c.text("mois", f"{m:02d}", x) for x in ("participants", "nouveaux", "presences")}
        table.append([MOIS_NOMS[m - 1].capitalize(), num(sessions.get(m, 0)), t["presences"],
                      t["participants"], t["nouveaux"]])  # fmt: skip
        drawn.append({"mois": MOIS_ABREGES[m - 1],
                      **{x: c.value("mois", f"{m:02d}", x) for x in ("participants", "nouveaux")},
                      "nouveaux_texte": t["nouveaux"]})  # fmt: skip
    ctx["monthly"] = _md_table(
        pd.DataFrame(
            table, columns=["Mois", "Séances", "Présences", "Participants", "dont nouveaux"]
        )
    )
    frame = pd.DataFrame(drawn)
    for col in ("participants", "nouveaux"):
        frame[col] = frame[col].astype(float)
    fig, frame = monthly_participants(frame, c.k)
    ctx["monthly_figure"] = _save(fig, frame, fig_dir, "participants-par-mois")
    cal = out.frame("activites_calendrier")
    if not cal.empty:
        fig, heat = calendar_heatmap(cal, year)
        ctx["calendar_figure"] = _save(fig, heat, fig_dir, "calendrier")
        by = cal.groupby("activity")["sessions"].sum().sort_values(ascending=False)
        labels = out.results.get("activites") or {}
        ctx["activities"] = _md_table(pd.DataFrame(
            [(labels.get(a, str(a).replace("_", " ").capitalize()), num(n)) for a, n in by.items()],
            columns=["Activité", "Séances"]))  # fmt: skip
    ctx["total"] = c.text("total", None, "participants")
    ctx["new"] = c.text("total", None, "nouveaux")
    ctx["presences"] = c.text("total", None, "presences")
    ctx["sessions"] = num(sum(sessions.values()))
    present = [r for r in ROLES if c.has("mois", f"01:{r}", "participants")]
    ctx["roles_merged"] = not any(r in PARTICIPANT_ROLES for r in present)
    ctx["monthly_roles"] = _md_table(pd.DataFrame(
        [[MOIS_NOMS[m - 1].capitalize()]
         + [c.text("mois", f"{m:02d}:{r}", "participants") for r in present]
         for m in range(1, 13)], columns=["Mois", *[ROLES[r] for r in present]]
    )) if present else None  # fmt: skip
    roles = [(label, c.text("role", r, "participants")) for r, label in ROLES.items()
             if c.has("role", r, "participants")]  # fmt: skip
    if roles:
        ctx["roles"] = _md_table(pd.DataFrame(roles, columns=["Rôle", "Participants"]))
    if c.has("seances", "1", "participants"):
        ctx["bands"] = _md_table(pd.DataFrame(
            [(label, c.text("seances", b, "participants")) for b, (label, _, _) in BANDS.items()],
            columns=["Séances suivies dans l'année", "Participants"]))  # fmt: skip
    if c.has("retention", "total", "base"):
        share, lo, hi = _share(c.value("retention", "total", "revus"),
                               c.value("retention", "total", "base"))  # fmt: skip
        ctx["retention"] = (
            f"{pct(share)} (IC 95 % {pct(lo)} à {pct(hi)})" if share is not None else None
        )
        ctx["retention_base"] = c.text("retention", "total", "base")
    if c.has("retention", "nouveaux", "base"):  # the objective's: newcomers seen again in 3 months
        share, lo, hi = _share(c.value("retention", "nouveaux", "revus"),
                               c.value("retention", "nouveaux", "base"))  # fmt: skip
        ctx["retention_new"] = (
            f"{pct(share)} (IC 95 % {pct(lo)} à {pct(hi)} ; sur "
            f"{c.text('retention', 'nouveaux', 'base')} nouveaux participants dont les trois mois "
            "suivants sont observés)"
            if share is not None else None
        )  # fmt: skip
    ctx["cohorts"], ctx["cohort_months"] = _cohorts(out, c)
    effect = out.json.get("effet_conseil") or {}
    if effect.get("computed"):
        diag = effect.get("diagnostics") or {}
        ctx["effect_covers_one"] = effect["ci_low"] <= 1 <= effect["ci_high"]
        ctx["effect"] = (
            f"rapport {num(effect['estimate'], 2)} (IC 95 % {num(effect['ci_low'], 2)} à "
            f"{num(effect['ci_high'], 2)}) ; rapport naïf avant/après : {num(effect['naive'], 2)}"
            f" ; modèle : {effect.get('model', '–')}"
            + (f" ; autocorrélation des résidus au décalage 1 : "
               f"{num(diag['lag1_autocorrelation'], 2)}" if "lag1_autocorrelation" in diag
               else "")
        )  # fmt: skip
    elif effect and out.results.get("council"):
        reason = str(effect.get("reason") or effect.get("raison") or "")
        ctx["effect_reason"] = reason.removeprefix("non calculé").lstrip(" :—-") or "non calculé"
    return ctx


def _cohorts(out: ProjectOutputs, c: Cells) -> tuple[str | None, str | None]:
    """The pooled cohorts of new participants (published cells; shares from printed cells) and
    the first months pooled (« janvier à juin »)."""
    if not c.has("cohorte", "base", "nouveaux"):
        return None, None
    frame = out.frame("cohortes")
    cols = [x for x in (f"m{k}" for k in range(1, 13)) if x in frame]
    full = frame[[str(x).startswith(str(out.year)) for x in frame["cohort"]]]
    months = sorted(month_of(x) for x in full[full[cols].notna().all(axis=1)]["cohort"])
    base = c.value("cohorte", "base", "nouveaux")
    rows = []
    for k in range(1, 13):
        if not c.has("cohorte", f"{k}", "revus"):
            break
        share, _, _ = _share(c.value("cohorte", f"{k}", "revus"), base)
        rows.append([f"{k} mois après", c.text("cohorte", f"{k}", "revus"),
                     pct(share) if share is not None else "–"])  # fmt: skip
    span = f"{MOIS_NOMS[months[0] - 1]} à {MOIS_NOMS[months[-1] - 1]}" if months else None
    rows.insert(0, ["Nouveaux participants (la base)", c.text("cohorte", "base", "nouveaux"), ""])
    return _md_table(
        pd.DataFrame(rows, columns=["Délai après la première venue", "Présents ce mois-là", "Part"])
    ), span


def _council(out: ProjectOutputs, c: Cells) -> dict[str, Any] | None:
    council = out.frame("conseil")
    if council.empty:
        return None
    dates = [str(d)[:10] for d in council["date"]]
    rows = []
    for d in dates:
        t = pd.Timestamp(d)
        day = f"{t.day} {MOIS_NOMS[t.month - 1]} {t.year}"
        rows.append((day, c.text("conseil", d, "presences")))
    masked = sum(1 for d in dates if c.value("conseil", d, "presences") is None)
    tot = c.value("conseil", "total", "presences")
    mean = num(tot / len(dates), 1) if tot is not None else None
    props = out.frame("propositions")
    proposals = None
    if not props.empty:
        if "outcome" in props:  # long form: theme, outcome, propositions
            wide = props.pivot_table(index="theme", columns="outcome", values="propositions",
                                     aggfunc="sum", fill_value=0)  # fmt: skip
        else:  # paffil's wide form: theme, realisee, en_cours, refusee, abandonnee, total
            wide = props.set_index("theme")
        cols = [o for o in OUTCOMES if o in wide.columns]
        wide = wide[cols]
        proposals = _md_table(pd.DataFrame(
            [[THEMES.get(t, t), *[num(wide.loc[t, o]) for o in cols], num(wide.loc[t].sum())]
             for t in wide.index],
            columns=["Thème", *[OUTCOMES[o] for o in cols], "Total"]))  # fmt: skip
        proposals_total = int(wide.to_numpy().sum())
        done = int(wide["realisee"].sum()) if "realisee" in wide else 0
    return {
        "sessions": len(dates),
        "table": _md_table(pd.DataFrame(rows, columns=["Séance", "Présences"])),
        "tenants": c.text("conseil", "total", "locataires"),
        "total": c.text("conseil", "total", "presences"),
        "mean": mean,
        "masked": masked,
        "proposals": proposals,
        "proposals_total": num(proposals_total) if proposals else None,
        "proposals_done": num(done) if proposals else None,
    }


def _affiliation(out: ProjectOutputs, c: Cells, fig_dir: Path) -> dict[str, Any] | None:
    scores = out.frame("affiliation_scores")
    if scores.empty:
        return None
    times = [t for t in TIMES if c.has("affiliation", t, "locataires")]
    top = max(8, int(scores["score"].max()))
    rows, drawn = [], []
    for s in range(top + 1):
        rows.append([str(s)] + [c.text("affiliation", f"{t}:{s}", "locataires") for t in times])
        drawn += [{"score": s, "moment": TIMES[t],
                   "locataires": c.value("affiliation", f"{t}:{s}", "locataires")}
                  for t in times]  # fmt: skip
    affiliated = ["Au moins un domaine"]
    for t in times:
        share, _, _ = _share(c.value("affiliation", t, "affilies"),
                             c.value("affiliation", t, "locataires"))  # fmt: skip
        affiliated.append(c.text("affiliation", t, "affilies")
                          + (f" ({pct(share)})" if share is not None else ""))  # fmt: skip
    rows.append(affiliated)
    rows.append(["Total"] + [c.text("affiliation", t, "locataires") for t in times])
    frame = pd.DataFrame(drawn)
    frame["locataires"] = frame["locataires"].astype(float)
    fig, frame = score_distribution(frame)
    stats = out.json.get("affiliation") or {}
    summary = []
    for t in times:
        s = (stats.get("summary") or stats.get("times") or {}).get(t)
        n = c.value("affiliation", t, "locataires")
        if s and n:  # a median over a published (≥ k) number of tenants
            summary.append(
                f"{TIMES[t].lower()} : médiane {num(s['median'], 1)} "
                f"(écart interquartile {num(s['q1'], 1)} à {num(s['q3'], 1)})"
            )
    paired = stats.get("paired") or {}
    change = None
    hl = [paired.get(a, paired.get(b)) for a, b in
          (("hl_estimate", "hl"), ("hl_ci_low", "hl_low"), ("hl_ci_high", "hl_high"))]  # fmt: skip
    n_paired = c.value("affiliation", "12_mois", "locataires") if "12_mois" in times else None
    if paired and None not in hl and n_paired and int(paired.get("n", 0)) >= c.k:
        change = (
            f"Pour les locataires suivis de l'entrée à 12 mois ({num(paired['n'])} paires), le "
            f"score change de {num(hl[0], 1)} domaine(s) (estimateur de Hodges–Lehmann, IC 95 % "
            f"{num(hl[1], 1)} à {num(hl[2], 1)} ; test des rangs signés de Wilcoxon, "
            f"{_p_value(paired['wilcoxon_p'])})."
        )
    domains = None
    if c.has("domaine", f"culture:{times[0]}", "locataires") if times else False:
        domains = _md_table(
            pd.DataFrame(
                [
                    [label] + [c.text("domaine", f"{d}:{t}", "locataires") for t in times]
                    for d, label in DOMAINS.items()
                ],
                columns=["Domaine", *[TIMES[t] for t in times]],
            )
        )
    return {
        "table": _md_table(pd.DataFrame(rows, columns=["Score", *[TIMES[t] for t in times]])),
        "figure": _save(fig, frame, fig_dir, "scores-affiliation"),
        "summary": summary,
        "change": change,
        "domains": domains,
        "definition": stats.get("definition"),
    }


def _p_value(p: Any) -> str:
    """« p = 0,0123 », « p < 0,0001 »."""
    if p is None or pd.isna(p):
        return "p non calculée"
    return "p < 0,0001" if float(p) < 1e-4 else f"p = {num(float(p), 4)}"


def _difference(d: Any) -> str | None:
    """« −1,0 % (IC 95 % de Newcombe −8,2 % à +9,4 %) » from {d, ci_low, ci_high}."""
    if not isinstance(d, dict) or any(d.get(x) is None or pd.isna(d.get(x))
                                      for x in ("d", "ci_low", "ci_high")):  # fmt: skip
        return None
    return (f"{pct(d['d'], signed=True)} (IC 95 % de Newcombe {pct(d['ci_low'], signed=True)} "
            f"à {pct(d['ci_high'], signed=True)})")  # fmt: skip


def _outcomes(out: ProjectOutputs, c: Cells) -> dict[str, Any] | None:
    frame = out.frame("issues_logement")
    if frame.empty:
        return None
    meta = out.json.get("issues_logement") or {}
    rows, shares = [], {}
    for g in frame["group"]:
        # shares over the tenants followed 12 months (paffil's n_retention, n_returns)
        n_ret = c.value("issues", g, "suivis") if c.has("issues", g, "suivis") else None
        n_back = (
            c.value("issues", g, "suivis_retours") if c.has("issues", g, "suivis_retours") else None
        )
        sh, lo, hi = _share(c.value("issues", g, "maintenus"), n_ret)
        sr, _, _ = _share(c.value("issues", g, "retours"), n_back)
        shares[g] = sh
        rows.append(
            [
                GROUPS.get(g, g),
                c.text("issues", g, "locataires"),
                c.text("issues", g, "suivis"),
                c.text("issues", g, "maintenus"),
                f"{pct(sh)} ({pct(lo)} à {pct(hi)})" if sh is not None else "–",
                c.text("issues", g, "retours"),
                pct(sr) if sr is not None else "–",
            ]
        )
    # differences of shares (not persons): printed when both groups' shares are printed
    printable = None not in shares.values()
    diffs = meta.get("difference") if isinstance(meta.get("difference"), dict) else {}
    naive = meta.get("naive") if isinstance(meta.get("naive"), dict) else {}
    comparison = []
    for k, label in (("retention", "Maintien en logement à 12 mois"),
                     ("returns", "Retours vers l'urgence")):  # fmt: skip
        guarded = _difference(diffs.get(k)) if printable or k == "returns" else None
        if k == "returns" and None in [_share(c.value("issues", g, "retours"),
                                              c.value("issues", g, "suivis_retours"))[0]
                                       for g in shares]:  # fmt: skip
            guarded = None  # a group's returns are « < k »: its share is not printed
        comparison.append([label, guarded or "non publié", _difference(naive.get(k))
                           or "non calculé"])  # fmt: skip
    tenure_rows = []
    bands = list(dict.fromkeys(str(x) for x in out.frame("anciennete").get("band", [])))
    groups = [g for g in GROUPS if c.has("anciennete", f"{g}:{bands[0]}", "locataires")] if bands \
        else []  # fmt: skip
    for band in bands if groups else []:
        row = [band]
        for g in groups:
            n = c.value("issues", g, "locataires")
            share, _, _ = _share(c.value("anciennete", f"{g}:{band}", "locataires"), n)
            row.append(c.text("anciennete", f"{g}:{band}", "locataires")
                       + (f" ({pct(share, 0)})" if share is not None else ""))  # fmt: skip
        tenure_rows.append(row)
    tsum = meta.get("tenure_summary") or {}
    tenure = " ; ".join(
        f"{GROUPS.get(g, g).lower()} {num(v['median'], 1)} mois (écart interquartile "
        f"{num(v['q1'], 1)} à {num(v['q3'], 1)})"
        for g, v in tsum.items()
        if isinstance(v, dict)
        and v.get("median") is not None
        and c.value("issues", g, "locataires")
    )
    caveats = meta.get("caveats") or ([meta["caveat"]] if meta.get("caveat") else [])
    if isinstance(caveats, str):
        caveats = [caveats]
    naive_missing = not any(_difference(naive.get(k)) for k in ("retention", "returns"))
    if naive_missing:  # the analysis' caveat announces it beside: say it is not computed
        caveats = [
            cv.replace(
                "est donnée à côté pour mesurer ce biais",
                "n'a pas pu être calculée ici (@tbl-ecarts)",
            )
            for cv in caveats
        ]
    return {
        "table": _md_table(
            pd.DataFrame(
                rows,
                columns=[
                    "Groupe",
                    "Locataires",
                    "Suivis 12 mois",
                    "Logés à 12 mois",
                    "Part (IC 95 %)",
                    "Retours à l'urgence",
                    "Part",
                ],
            )
        ),
        "comparison": _md_table(
            pd.DataFrame(
                comparison,
                columns=[
                    "Écart participants − non-participants",
                    "Avec la garde du temps immortel",
                    "Naïf (tous depuis le début du projet)",
                ],
            ),
            "lll",
        ),  # fmt: skip
        "naive_missing": naive_missing,
        "caveats": caveats,
        "tenure_table": _md_table(
            pd.DataFrame(
                tenure_rows,
                columns=[
                    "Ancienneté dans le logement à la date de départ",
                    *[GROUPS[g] for g in groups],
                ],
            )
        )
        if tenure_rows
        else None,  # fmt: skip
        "tenure": tenure,
    }


def _budget(out: ProjectOutputs, fig_dir: Path, threshold: float | None) -> dict[str, Any] | None:
    budget = out.frame("budget")
    if budget.empty:
        return None
    if "level" in budget:  # lane pstage: ligne_financeur, ligne, financeur, total rows
        budget = budget[budget["level"] == "ligne_financeur"]
    budget = budget.assign(drift=budget["drift"].astype(str).str.lower().isin(["true", "1"]))
    kinds = budget["drift_kind"].fillna("") if "drift_kind" in budget else [""] * len(budget)
    budget = budget.assign(drift_kind=list(kinds))
    rows = []
    for r in budget.itertuples():
        flag = f"**{DRIFT.get(r.drift_kind, 'dérive')}**" if r.drift else ""
        rows.append(
            [
                LINES.get(r.line, str(r.line)),
                str(r.funder),
                euros(r.planned),
                euros(r.committed),
                euros(r.spent),
                euros(r.projected),
                pct(r.spent / r.planned) if r.planned else "–",
                flag,
            ]
        )
    tot = budget[["planned", "committed", "spent", "projected"]].sum()
    rows.append(
        [
            "**Total**",
            "",
            euros(tot.planned),
            euros(tot.committed),
            euros(tot.spent),
            euros(tot.projected),
            pct(tot.spent / tot.planned) if tot.planned else "–",
            "",
        ]
    )
    drawn = budget.groupby("line", sort=False)[["planned", "spent", "projected"]].sum()
    drawn = drawn.reset_index().rename(columns={"planned": "prevu", "spent": "depense",
                                                "projected": "projete"})  # fmt: skip
    drawn["ligne"] = [LINES.get(x, x) for x in drawn["line"]]
    fig, drawn = budget_chart(drawn[["ligne", "prevu", "depense", "projete"]])
    drift = [f"{LINES.get(r.line, r.line).lower()} ({r.funder}) : projeté {euros(r.projected)} "
             f"pour {euros(r.planned)} prévus"
             + (f" ({pct(r.projected / r.planned - 1, signed=True)})" if r.planned else
                " (hors budget)")
             for r in budget.itertuples() if r.drift]  # fmt: skip
    return {
        "table": _md_table(
            pd.DataFrame(
                rows,
                columns=[
                    "Ligne",
                    "Financeur",
                    "Prévu",
                    "Engagé",
                    "Dépensé",
                    "Projeté fin d'année",
                    "Exécution",
                    "",
                ],
            ),
            "llrrrrrl",
        ),
        "figure": _save(fig, drawn, fig_dir, "budget"),
        "drift": drift,
        "threshold": pct(threshold, 0) if threshold is not None else None,
        "rule": (out.results.get("budget") or {}).get("rule"),
        **_backtest(out),
    }


def _backtest(out: ProjectOutputs) -> dict[str, Any]:
    """The projection rule replayed month by month on the closed year before (euros)."""
    ctl = out.frame("budget_controle")
    if ctl.empty or "month_index" not in ctl:
        return {"backtest": None}
    ctl = ctl.sort_values("month_index")
    rows = [[MOIS_NOMS[int(r.month_index) - 1].capitalize(), euros(r.projected),
             pct(r.error / r.final, signed=True), euros(r.projected_naive),
             pct(r.error_naive / r.final, signed=True)] for r in ctl.itertuples()]  # fmt: skip
    mean = ctl[["relative_error", "relative_error_naive"]].abs().mean()  # as lane pstage's
    return {
        "backtest": _md_table(
            pd.DataFrame(
                rows,
                columns=[
                    "Projection faite fin",
                    "Règle du rapport",
                    "Écart",
                    "Linéaire naïve",
                    "Écart",
                ],
            )
        ),
        "backtest_year": int(ctl["year"].iloc[0]),
        "backtest_final": euros(float(ctl["final"].iloc[0])),
        "backtest_mean": pct(float(mean["relative_error"])),
        "backtest_mean_naive": pct(float(mean["relative_error_naive"])),
    }


def _cost(out: ProjectOutputs, c: Cells, council: dict[str, Any] | None) -> dict[str, Any]:
    cost = rules_cost(c.ledger.cells, out.year, out.project)
    rows = [
        [DIMENSIONS.get(d, d).capitalize(), num(v["cells"]), num(v["primary"]), num(v["secondary"])]
        for d, v in sorted(cost["per"].items())
        if v["cells"]
    ]
    text = (
        f"Sur {num(cost['cells'])} nombres de personnes de ce rapport, {num(cost['primary'])} "
        f"sont inférieurs à {c.k} et imprimés « < {c.k} », et {num(cost['secondary'])} sont "
        "masqués (« s ») pour qu'un petit nombre ne puisse pas se déduire des autres."
    )
    council_text = None
    if council is not None:
        council_text = (
            f"Le conseil des locataires réunit un petit groupe ({council['tenants']} locataires "
            f"différents sur l'année). Sur ses {council['sessions']} séances, la présence de "
            f"{council['masked']} n'est pas imprimée (« < {c.k} » ou « s ») : le lecteur ne sait "
            f"pas, pour ces séances, combien de locataires (entre 1 et {c.k - 1}, ou un nombre "
            "masqué) étaient là, ni quelle séance a été la moins suivie ; il garde le total de "
            "l'année"
            + (f" et la présence moyenne ({council['mean']} par séance)" if council["mean"]
               else "")
            + ". C'est voulu : un nombre de 1 à "
            f"{c.k - 1} présents dans un petit groupe désigne presque des personnes."
        )  # fmt: skip
    return {"text": text, "table": _md_table(pd.DataFrame(rows, columns=[
        "Tableau", "Nombres", f"« < {c.k} »", "« s »"])), "council": council_text}  # fmt: skip


def _month_label(value: Any) -> str | None:
    """« 2024-03 » → « mars 2024 » (None when absent)."""
    if not value:
        return None
    t = pd.Timestamp(str(value)[:7] + "-01")
    return f"{MOIS_NOMS[t.month - 1]} {t.year}"


def _sources(out: ProjectOutputs) -> str:
    """The team's records this report read (only those the project has)."""
    parts = []
    if not out.frame("participation_mois").empty:
        parts.append("activités et présences")
    if not out.frame("affiliation_scores").empty:
        parts.append("suivis individuels")
    if not out.frame("conseil").empty or not out.frame("propositions").empty:
        parts.append("procès-verbaux du conseil")
    if not out.frame("budget").empty:
        parts.append("budget")
    return " ; ".join(parts) or "aucun"


def project_context(
    out: ProjectOutputs, cells: LedgerCells, fig_dir: Path, drift_threshold: float | None = None
) -> dict[str, Any]:
    """Everything the project report's template prints (person counts: ledger texts)."""
    c = Cells(cells, out.project)
    participation = _participation(out, c, fig_dir)
    council = _council(out, c)
    ctx = {
        "linkage": None,
        "project": out.project,
        "label": out.label,
        "kind": out.kind,
        "notes": list(out.results.get("notes") or []),
        "objectives": (objectives := _objectives(out, c, fig_dir)),
        "objectives_from_persons": [
            o["libelle"].lower() for o in objectives if o["indicateur"] in FROM_PERSONS
        ],  # fmt: skip
        "participation": participation,
        "council": council,
        "council_start": _month_label(
            (out.results.get("council") or {}).get("debut")
            or (out.results.get("council") or {}).get("start")
        ),
        "has_council": bool(out.results.get("council")),
        "roles_declared": [
            ROLES.get(r, r).lower() for r in out.results.get("participant_roles") or ()
        ],
        "sources": _sources(out),
        "affiliation": _affiliation(out, c, fig_dir),
        "outcomes": _outcomes(out, c),
        "budget": _budget(out, fig_dir, drift_threshold),
        "cost": _cost(out, c, council),
    }
    link = out.frame("liaison")
    if not link.empty:
        ctx["linkage"] = _md_table(
            pd.DataFrame(
                [
                    (label, c.text("liaison", h, "participants"))
                    for h, label in LINKS.items()
                    if c.has("liaison", h, "participants")
                ],
                columns=["Liaison", "Participants"],
            )
        )
    return ctx


def monthly_content(out: ProjectOutputs, cells: LedgerCells) -> list[dict[str, Any]]:
    """One entry per month: the team meeting's sheet (published cells; sessions, euros)."""
    c = Cells(cells, out.project)
    year = out.year
    months = out.frame("participation_mois")
    sessions = {month_of(r.month): int(r.sessions) for r in months.itertuples()}
    cal = out.frame("activites_calendrier")
    if not cal.empty:
        cal = cal.assign(m=pd.to_datetime(cal["date"]).dt.month)
    council = out.frame("conseil")
    spent = out.frame("budget_mois")
    labels = out.results.get("activites") or {}
    entries = []
    for m in range(1, 13):
        acts = []
        if not cal.empty:
            by = cal[cal["m"] == m].groupby("activity")["sessions"].sum()
            acts = [(labels.get(a, str(a).replace("_", " ").capitalize()), num(n))
                    for a, n in by.items()]  # fmt: skip
        conseil = [d for d in (str(x)[:10] for x in council.get("date", []))
                   if int(d[5:7]) == m]  # fmt: skip
        budget = None
        if not spent.empty:
            sel = spent[[month_of(x) == m for x in spent["month"]]]
            if "spent_cum" in sel:  # lane pstage: one row per line and a « total » row
                sel = sel[sel["line"] == "total"]["spent_cum"]
            else:
                sel = sel["spent_cumulative"]
            budget = float(sel.sum()) if len(sel) else None
        entries.append({
            "month": m, "label": f"{MOIS_NOMS[m - 1]} {year}",
            "sessions": num(sessions.get(m, 0)),
            "presences": c.text("mois", f"{m:02d}", "presences"),
            "participants": c.text("mois", f"{m:02d}", "participants"),
            "new": c.text("mois", f"{m:02d}", "nouveaux"),
            "council": [c.text("conseil", d, "presences") for d in conseil],
            "activities": acts,
            "spent": budget,
        })  # fmt: skip
    return entries


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


def _drift_threshold(project: str) -> float | None:
    """The project's drift threshold from ``params/projets.yaml`` (read as YAML: lane pstage
    owns its typed loader), None when absent."""
    path = PATHS.root / "params" / "projets.yaml" if hasattr(PATHS, "root") else None
    if path is None or not path.exists():
        return None
    from observatoire.core import yamltext

    data = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
    budget = ((data.get("projets") or {}).get(project) or {}).get("budget") or {}
    value = budget.get("seuil_derive")
    return float(value) if value is not None else None


def render_project(
    settings: Settings,
    out: ProjectOutputs,
    cells: LedgerCells,
    work: Path,
    formats: tuple[str, ...] = ("html", "pdf"),
) -> tuple[list[str], str]:
    """Render one project's report and monthly sheets into ``work``; the members written."""
    from observatoire.reports.render import render_document

    source, members = write_project(settings, out, cells, work, formats)
    return members, render_document(source, work, formats=formats).engine


def write_project(
    settings: Settings,
    out: ProjectOutputs,
    cells: LedgerCells,
    work: Path,
    formats: tuple[str, ...] = ("html", "pdf"),
) -> tuple[Path, list[str]]:
    """Write one project's report source, figures and monthly sheets into ``work``: the
    source to render, and the members there will be once it is rendered in ``formats``."""
    name = stem(out.project)
    fig_dir = work / f"{name}-figures"
    fig_dir.mkdir(parents=True)
    ctx = _front(settings) | {"logo": stage_logo(settings.report.logo, fig_dir)}
    ctx |= project_context(out, cells, fig_dir, _drift_threshold(out.project))
    source = work / f"{name}.qmd"
    source.write_text(report_template("projet.qmd.j2").render(**ctx), "utf-8")
    sheets = work / f"{name}-fiches"
    sheets.mkdir()
    months = monthly_content(out, cells)
    org, year, k = settings.report.organisation, out.year, settings.report.disclosure_threshold
    monthly_sheet_xlsx(months, sheets / f"fiches-{year}.xlsx", org, out.label, year, k)
    monthly_sheet_pdf(months, sheets / f"fiches-{year}.pdf", org, out.label, year, k)
    return source, [f"{name}.{x}" for x in ("qmd", *formats)] + [fig_dir.name, sheets.name]


def build_projects_report(settings: Settings) -> None:
    """Render every project's report and monthly sheet for the report year."""
    year, k = settings.report.year, settings.report.disclosure_threshold
    projects = read_projects(PATHS.projects(year), year)
    if not projects:
        print(f"Projets {year} : aucun résultat de l'étape « projects » ; aucun rapport produit.")
        return
    cells = LedgerCells.of_year(PATHS.tables(year), year, k, "projects")
    out_dir = PATHS.reports(year)
    # Every project is written, then all are rendered two at a time (render_documents), then
    # each is checked and published in turn; a failed rendering publishes none of them.
    from observatoire.reports.render import render_documents

    tmps: list[Path] = []
    try:
        sources, members = [], []
        for out in projects:
            tmps.append(temp_dir(out_dir, stem(out.project)))
            source, written = write_project(settings, out, cells, tmps[-1])
            sources.append((source, tmps[-1]))
            members.append(written)
        rendered = render_documents(sources)
        for out, tmp, written, result in zip(projects, tmps, members, rendered, strict=True):
            check_before_publishing(settings, tmp, written, out_dir,
                                    "projects_report")  # fmt: skip
            publish_members(tmp, out_dir, written)
            print(
                f"Projet {out.project} {year} : rapport et fiches mensuelles dans "
                f"{out_dir}/{stem(out.project)}.* (moteur : {result.engine})"
            )
    finally:
        for tmp in tmps:
            shutil.rmtree(tmp, ignore_errors=True)
