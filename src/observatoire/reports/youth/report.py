"""The youth-errance report (« Jeunes en errance »): disclosure control, findings, rendering.

The stage reads what the youth notebook wrote in ``outputs/youth/<year>/`` and prints every
count of persons as the year's ``publication`` stage published it (:mod:`observatoire.disclosure.
youth` builds the tables, :mod:`observatoire.disclosure.ledger` gives each cell its status:
« < k » from 1 to k − 1, « s » for the secondary suppression that keeps them from being
recomputed, every share masked whose numerator, complement or base is hidden), states the
findings (« constats ») from the numbers with the words their uncertainty allows, fills the
Quarto template ``assets/reports/jeunes-en-errance.qmd.j2`` and renders it to HTML and PDF.
No number is typed by hand in the template.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.dispositifs import DISPOSITIFS, SHELTER
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.core.formatting import french_number as fr_num
from observatoire.core.formatting import french_points as pp
from observatoire.core.person_level import NO_PERSONS_REASON
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.storage import publish_members, temp_dir
from observatoire.disclosure.ledger import read_ledger, read_state
from observatoire.disclosure.youth import (
    YouthPublication,
    cohort_key,
    first_key,
    key,
    path_key,
    read_youth_inputs,
    restore_youth,
    share_hidden,
    shelter_exit_key,
    slug,
    split_published,
    type_key,
)
from observatoire.guard.leaks import check_before_publishing
from observatoire.reports.common import code_version, report_template, stage_logo
from observatoire.youth.cohort import ADULTS, GROUP_LABELS, YOUTH, StudyParams
from observatoire.youth.cohort import STREET as STREET_WORK_KEY

__all__ = [
    "COPIED_FIGURES",
    "study_unavailable",
    "unavailable_context",
    "FIGURES",
    "FLOW_CELLS",
    "INDIVIDUAL_FIGURES",
    "STEM",
    "YouthReport",
    "build_youth_report",
    "comparison_rows",
    "count",
    "findings",
    "individual_figures_allowed",
    "masked",
    "p_value",
    "row_hidden",
    "significant",
    "youth_context",
    "youth_figures",
]

STEM = "jeunes-en-errance"
FIGURES = "figures-jeunes"
INDIVIDUAL_FIGURES = {"tapis": "cohort", "chronogrammes": "cohort", "types": "types"}
"""Figures that draw each person's sequence (index plot) or the monthly states of a group
(chronogram, whose shares are multiples of 1/n): published only for groups of at least
``youth.typology.min_type_size`` persons whose size is itself published."""
COPIED_FIGURES = (
    "chronogrammes",
    "tapis",
    "silhouette",
    "types",
    "survie_reseau",
    "survie_abri_nuit",
)


def masked(x: float | int | None, n: float | int | None, k: int) -> bool:
    """A share x / n may not be published when x or n − x is a count from 1 to k − 1, or when
    its base n itself is below k (it would reveal a small group)."""
    if x is None or n is None or n != n or x != x:
        return True
    x, n = int(x), int(n)
    return n < k or 0 < x < k or 0 < n - x < k


def count(x: float | int | None, k: int) -> str:
    """A person count in French, « < k » from 1 to k − 1."""
    if x is None or x != x:
        return "–"
    return f"< {k}" if 0 < int(x) < k else fr_num(int(x))


def p_value(p: float | None) -> str:
    if p is None or p != p:
        return "–"
    if p < 0.001:
        return "< 0,001"
    return fr_num(p, 3)


def significant(row: dict | pd.Series) -> bool:
    """The 95 % CI of the difference excludes zero and, when the row carries one, the
    Holm-adjusted p-value (``p_holm``, over every youth-vs-adults test of the study) is below
    0.05: a difference is stated only if it survives the multiplicity correction."""
    lo, hi = row.get("lower"), row.get("upper")
    ci = lo == lo and hi == hi and lo is not None and (lo > 0 or hi < 0)
    p_holm = row.get("p_holm")
    if p_holm is not None and p_holm == p_holm:
        return bool(ci and p_holm < 0.05)
    return bool(ci)


def row_hidden(
    r: pd.Series | Any,
    k: int,
    publication: YouthPublication | None = None,
    keys: dict[str, tuple[str, str, str]] | None = None,
    registered: bool = True,
) -> bool:
    """A comparison row is masked (both groups, the gap, its CI and p) when either share is:
    by the small-count rule, or, with a publication, when the numerator, complement or base of
    either group is not published (primary or secondary suppression), or when the row is not
    in the publication (a base of 1 to k − 1)."""
    if masked(r["x_youth"], r["n_youth"], k) or masked(r["x_adults"], r["n_adults"], k):
        return True
    if publication is None:
        return False
    if keys is None or not registered:
        return True
    return any(share_hidden(publication, ks) for ks in keys.values())


def comparison_rows(
    table: pd.DataFrame,
    k: int,
    publication: YouthPublication | None = None,
    keys: list[dict[str, tuple[str, str, str]] | None] | None = None,
) -> list[dict[str, str]]:
    """Rows of a youth-vs-adults table for the report, masked and formatted. With a
    ``publication`` and the rows' ``keys`` (:attr:`YouthTables.comparison_keys`), the bases
    print as published and a row is masked as :func:`row_hidden` says."""
    out = []
    for i, (_, r) in enumerate(table.iterrows()):
        ks = keys[i] if keys is not None else None
        hide = row_hidden(r, k, publication, ks)
        n_youth = count(r["n_youth"], k)
        n_adults = count(r["n_adults"], k)
        if publication is not None and ks is not None:
            n_youth = publication.text(ks["jeunes"][2])
            n_adults = publication.text(ks["adultes"][2])
        ref = ""
        if "ref_youth" in r and r.get("ref_youth") == r.get("ref_youth") and r.get("ref_youth"):
            ref = f"{fr_pct(r['ref_youth'])} / {fr_pct(r['ref_adults'])}"
        out.append(
            {
                "indicator": str(r["indicator"]),
                "youth": "masqué" if hide else f"{fr_pct(r['p1'])} ({n_youth})",
                "adults": "masqué" if hide else f"{fr_pct(r['p2'])} ({n_adults})",
                "diff": "–" if hide else pp(r["diff"]),
                "ci": "–" if hide else f"{pp(r['lower'])} ; {pp(r['upper'])}",
                "p": "–" if hide else p_value(r["pvalue"]),
                "p_holm": "–" if hide else p_value(r.get("p_holm")),
                "ref": ref,
                "flag": "instable" if bool(r.get("unstable", False)) and not hide else "",
            }
        )
    return out


def _direction(row: pd.Series, more: str, less: str, same: str) -> str:
    if not significant(row):
        return same
    return more if row["diff"] > 0 else less


def findings(
    ctx: dict[str, Any],
    pub: YouthPublication,
    res: dict[str, Any],
    tables: dict[str, pd.DataFrame],
) -> list:
    """« Constats » stated from the data: each a fact with its figures, worded by its CI."""
    k = ctx["k"]
    year = ctx["year"]
    comparison_keys = pub.tables.comparison_keys
    out: list[str] = []
    coh = res["cohort"]
    out.append(
        f"Entre le {ctx['window_start']} et le {ctx['window_end']}, le réseau a rencontré pour la "
        f"première fois **{pub.text(cohort_key(year, YOUTH))} jeunes de 18 à 25 ans** et "
        f"{pub.text(cohort_key(year, ADULTS))} adultes de 26 ans et plus ; les jeunes sont "
        f"**{fr_pct(coh['youth'] / (coh['youth'] + coh['adults']))}** des nouvelles personnes."
    )
    prof = tables["profil"]
    keys_of = dict(zip(prof["indicator"], comparison_keys.get("profil", []), strict=False))
    prof = prof.set_index("indicator")
    if "Femmes" in prof.index:
        r = prof.loc["Femmes"]
        if not row_hidden(r, k, pub, keys_of.get("Femmes")):
            verb = _direction(
                r, "plus souvent des femmes", "moins souvent des femmes", "autant de femmes"
            )
            ref = ""
            if r.get("ref_youth") == r.get("ref_youth") and r.get("ref_youth"):
                ref = (
                    f" La Fondation Roi Baudouin observe {fr_pct(r['ref_youth'])} contre "
                    f"{fr_pct(r['ref_adults'])}."
                )
            out.append(
                f"Les jeunes sont {verb} que les adultes : {fr_pct(r['p1'])} contre "
                f"{fr_pct(r['p2'])} (écart {pp(r['diff'])}, IC 95 % {pp(r['lower'])} à "
                f"{pp(r['upper'])}).{ref}"
            )
    out += _survival_findings(ctx, pub, res)
    fled = tables["services_quittes"]
    fled_keys = comparison_keys.get("services_quittes", [])
    # row masks as boolean Series: a plain empty list would select no *column* (no service left)
    fled = fled.loc[
        pd.Series(
            [
                m == "no_return" and not row_hidden(r, k, pub, fled_keys[i] if fled_keys else None)
                for i, (m, (_, r)) in enumerate(zip(fled["measure"], fled.iterrows(), strict=True))
            ],
            index=fled.index,
            dtype=bool,
        )
    ]
    fled = fled.loc[
        pd.Series([significant(r) for _, r in fled.iterrows()], index=fled.index, dtype=bool)
    ]
    fled = fled[fled["dispositif"] != SHELTER]  # the primary outcome speaks for the shelter
    for _, r in fled.sort_values("diff", ascending=False).iterrows():
        word = "plus" if r["diff"] > 0 else "moins"
        out.append(
            f"{r['indicator'].split(' : ')[0]} : les jeunes qui y viennent sont {word} "
            f"nombreux que les adultes à ne pas y revenir dans les {ctx['inactive_days']} jours "
            f"({fr_pct(r['p1'])} contre {fr_pct(r['p2'])}, écart {pp(r['diff'])}, "
            f"IC 95 % {pp(r['lower'])} à {pp(r['upper'])})."
        )
    typ = res.get("typology")
    if typ:
        out.append(_typology_finding(ctx, pub, typ, tables["types"]))
    trend = res.get("youth_share_trend") or {}
    if trend:
        sig = trend["lower"] > 1 or trend["upper"] < 1
        words = (
            ("augmente" if trend["odds_ratio"] > 1 else "diminue")
            if sig
            else "ne varie pas de façon significative"
        )
        out.append(
            f"La part des jeunes parmi les personnes aidées {words} de {trend['years'][0]} à "
            f"{trend['years'][1]} (rapport de cotes annuel {fr_num(trend['odds_ratio'], 3)}, "
            f"IC 95 % {fr_num(trend['lower'], 3)} à {fr_num(trend['upper'], 3)})."
        )
    return out


def _survival_findings(ctx: dict[str, Any], pub: YouthPublication, res: dict[str, Any]) -> list:
    """The primary outcome (leaving the shelter within its days), where those who left went,
    and the time in contact with the network (RMST: the curves cross)."""
    out: list[str] = []
    year = ctx["year"]
    shelter = res["survival"].get("abri_nuit") or {}
    primary = shelter.get("primary")
    if primary:
        keys = {g: shelter_exit_key(year, g, "principale") for g in (YOUTH, ADULTS)}
        comp_keys = {g: shelter_exit_key(year, g, "principale|complement") for g in keys}
        if not any(pub.hidden(kk) for kk in (*keys.values(), *comp_keys.values())):
            sig = significant(primary)
            adj = " ; ".join(
                f"{e['level']} : × {fr_num(e['estimate'], 1)} (IC 95 % {fr_num(e['lower'], 1)} "
                f"à {fr_num(e['upper'], 1)})"
                for e in primary.get("adjusted", [])
            )
            out.append(
                f"**Issue principale.** {fr_pct(primary['p1'])} des jeunes passés par l'abri de "
                f"nuit l'ont quitté après une ou deux nuits, contre {fr_pct(primary['p2'])} des "
                f"adultes (écart {pp(primary['diff'])}, IC 95 % {pp(primary['lower'])} à "
                f"{pp(primary['upper'])}, p ajusté (Holm) {p_value(primary.get('p_holm'))}"
                + ("" if sig else ", non significatif")
                + f"). À sexe et premier service égaux, le risque relatif par rapport aux "
                f"adultes est {adj}."
            )
        dest = _destination_cells(ctx, pub, res)
        if dest.get("other_y") and dest.get("other_a"):
            nothing = ""
            if dest["nothing_y"] and dest["nothing_a"]:
                nothing = (
                    f" ; {dest['nothing_y']} des jeunes et {dest['nothing_a']} des adultes "
                    "n'ont plus aucun contact"
                )
            out.append(
                "**Quitter l'abri n'est pas quitter le réseau.** Dans les "
                f"{primary['days']} jours qui suivent la première nuit, {dest['other_y']} des "
                f"jeunes passés par l'abri l'ont quitté pour un autre service du réseau (accueil "
                f"de jour, urgence sociale), contre {dest['other_a']} des adultes{nothing} "
                "(incidence cumulée, Aalen–Johansen)."
            )
    network = res["survival"].get("reseau") or {}
    r = network.get("rmst")
    med = network.get("medians") or {}
    if r and med.get(YOUTH) is not None and med.get(ADULTS) is not None:
        sig = significant(r)
        words = (
            ("plus longtemps" if r["diff"] > 0 else "moins longtemps") if sig else "aussi longtemps"
        )
        out.append(
            f"**Au cours de leur première année, les jeunes restent en contact avec le réseau "
            f"{words} que les adultes** : "
            f"durée médiane {fr_num(med[YOUTH])} jours contre {fr_num(med[ADULTS])} ; sur la "
            f"première année, {fr_num(r['rmst_1'], 0)} jours en contact en moyenne contre "
            f"{fr_num(r['rmst_2'], 0)} (écart {fr_num(r['diff'], 0)} jours, IC 95 % "
            f"{fr_num(r['lower'], 0)} à {fr_num(r['upper'], 0)}, p ajusté (Holm) "
            f"{p_value(r.get('p_holm'))}). Les courbes se croisent : au-delà d'un an, les "
            "adultes encore en contact sont relativement plus nombreux."
        )
    return out


def _destination_cells(
    ctx: dict[str, Any], pub: YouthPublication, res: dict[str, Any]
) -> dict[str, str]:
    """The early cumulative incidences the findings quote, printed only when the counts they
    rest on are published; empty if one is not."""
    year = ctx["year"]
    comp = ((res["survival"].get("abri_nuit") or {}).get("competing") or {}).get("groups") or {}
    t = str(ctx["primary_days"])
    if set(comp) != {YOUTH, ADULTS}:
        return {}

    def cif(g: str, c: str) -> str | None:
        if pub.hidden(shelter_exit_key(year, g, f"3j|destination={c}")):
            return None
        v = comp[g]["incidence"][c][t]
        return f"{fr_pct(v['estimate'])} (IC 95 % {fr_pct(v['lower'])} à {fr_pct(v['upper'])})"

    return {
        "other_y": cif(YOUTH, "2"),
        "other_a": cif(ADULTS, "2"),
        "nothing_y": cif(YOUTH, "3"),
        "nothing_a": cif(ADULTS, "3"),
    }


def _typology_finding(
    ctx: dict[str, Any], pub: YouthPublication, typ: dict[str, Any], types: pd.DataFrame
) -> str:
    """The typology, stated with what survived its checks."""
    year = ctx["year"]
    checks = typ.get("checks") or {}
    stable = types[types["stable"]] if "stable" in types else types
    big = stable.sort_values("persons", ascending=False).head(2)
    described = " ; ".join(
        f"« {t['name']} »"
        if pub.hidden(type_key(year, int(t["type"])))
        else f"« {t['name']} » ({fr_pct(t['share'])} des jeunes)"
        for _, t in big.iterrows()
    )
    text = (
        f"Les trajectoires des jeunes sur {ctx['follow_up']} mois se regroupent en "
        f"{len(stable)} types stables (Jaccard moyen ≥ {fr_num(checks.get('min_jaccard', 0.75), 2)}"
        f" sur {checks.get('bootstrap', 0)} rééchantillonnages) ; les plus fréquents : {described}."
    )
    null = checks.get("null_persons") or {}
    if null:
        # a large cohort's null models ran on a subsample: its real sequences are the yardstick
        observed = (checks.get("null_subsample") or {}).get("asw_distinct")
        beaten = (observed or typ.get("silhouette_distinct", 0)) > null.get("p95", 1)
        text += (
            f" Silhouette des séquences distinctes {fr_num(typ['silhouette_distinct'], 2)}, "
            + ("au-dessus" if beaten else "pas au-dessus")
            + f" de celle de séquences dont les mois sont mélangés ({fr_num(null['mean'], 2)}) : "
            + (
                "l'ordre des étapes compte dans ces types."
                if beaten
                else "ces types décrivent surtout la durée passée en contact, pas l'ordre des "
                "étapes."
            )
        )
    return text


FLOW_CELLS = ("jeunes", "nouveaux", "continus", "de_retour")


def _checks_names(typ: dict[str, Any] | None) -> dict[str, Any]:
    """The typology's checks as the annex prints them."""
    checks = (typ or {}).get("checks") or {}
    if not checks:
        return {}
    out = {
        "bootstrap": checks["bootstrap"],
        "min_jaccard": fr_num(checks["min_jaccard"], 2),
        "asw_persons": fr_num(checks["asw_persons"], 2),
        "asw_distinct": fr_num(checks["asw_distinct"], 2),
        "distinct": fr_num(checks["distinct_sequences"]),
        "persons": fr_num(checks["persons"]),
        "jaccard": " ; ".join(
            f"type {t} : {fr_num(v, 2)}" for t, v in sorted(checks["jaccard"].items())
        ),
    }
    for model in ("persons", "months"):
        n = checks.get(f"null_{model}") or {}
        out[f"null_{model}"] = {
            "mean": fr_num(n.get("mean"), 2),
            "p95": fr_num(n.get("p95"), 2),
            "p": p_value(n.get("p")),
            "draws": n.get("draws", 0),
        }
    shuffled = checks.get("null_persons") or {}
    sub = checks.get("null_subsample") or {}
    observed = sub.get("asw_distinct", checks["asw_distinct"])
    out["order_matters"] = bool(observed > shuffled.get("p95", float("inf")))
    # a large cohort: bootstrap and null models on subsamples (the robustness module); the
    # template's strict undefined needs the key either way
    out["subsample"] = (
        {"persons": fr_num(sub["persons"]), "asw_distinct": fr_num(sub["asw_distinct"], 2)}
        if sub
        else None
    )
    return out


def _rmst_names(r: dict[str, Any]) -> dict[str, str]:
    if not r:  # no spell to compare (a network without the shelter): the table prints dashes
        return dict.fromkeys(("tau", "youth", "adults", "diff", "ci", "p_holm"), "–")
    return {
        "tau": fr_num(r["tau"], 0),
        "youth": fr_num(r["rmst_1"], 1),
        "adults": fr_num(r["rmst_2"], 1),
        "diff": fr_num(r["diff"], 1),
        "ci": f"{fr_num(r['lower'], 1)} ; {fr_num(r['upper'], 1)}",
        "p_holm": p_value(r.get("p_holm")),
    }


def _primary_names(res: dict[str, Any], pub: YouthPublication, year: int) -> dict[str, Any]:
    """The primary outcome's row: shares printed only when numerator and complement are."""
    shelter = res["survival"].get("abri_nuit") or {}
    p = shelter.get("primary")
    if not p:
        return {}
    parts = [
        shelter_exit_key(year, g, part)
        for g in (YOUTH, ADULTS)
        for part in ("principale", "principale|complement")
    ]
    hide = any(pub.hidden(kk) for kk in parts)
    return {
        "days": p["days"],
        "hidden": hide,
        # « x sur n »: the count and its base, both published (the other tables put the base
        # alone in brackets; here both, so that no reader takes one for the other)
        "youth": "masqué" if hide else f"{fr_pct(p['p1'])} ({_of(pub, parts[0], parts[1])})",
        "adults": "masqué" if hide else f"{fr_pct(p['p2'])} ({_of(pub, parts[2], parts[3])})",
        "diff": "–" if hide else pp(p["diff"]),
        "ci": "–" if hide else f"{pp(p['lower'])} ; {pp(p['upper'])}",
        "p_holm": "–" if hide else p_value(p.get("p_holm")),
        "excluded": p["excluded"],
        "adjusted": [
            {
                "level": e["level"],
                "estimate": fr_num(e["estimate"], 2),
                "ci": f"{fr_num(e['lower'], 2)} ; {fr_num(e['upper'], 2)}",
                "p_holm": p_value(e.get("p_holm")),
            }
            for e in p.get("adjusted", [])
        ],
    }


def _destination_rows(res: dict[str, Any], pub: YouthPublication, year: int) -> list[dict]:
    """Cumulative incidence of each destination at 3, 30 and 90 days, with its persons; a
    destination whose count is masked prints « masqué » (its share would give the count)."""
    comp = (res["survival"].get("abri_nuit") or {}).get("competing") or {}
    groups = comp.get("groups") or {}
    rows = []
    for c, label in (comp.get("destinations") or {}).items():
        row: dict[str, Any] = {"destination": label}
        for g in (YOUTH, ADULTS):
            if g not in groups:
                row[g] = {"persons": "–", "at": {}}
                continue
            kk = shelter_exit_key(year, g, f"destination={c}")
            early = shelter_exit_key(year, g, f"3j|destination={c}")
            # the first days rest on the early exits, later times on all the exits
            hide = {t: pub.hidden(early if t == "3" else kk) for t in groups[g]["incidence"][c]}
            row[g] = {
                "persons": pub.text(kk),
                "at": {
                    t: "masqué"
                    if hide[t]
                    else f"{fr_pct(v['estimate'])} ({fr_pct(v['lower'])} ; {fr_pct(v['upper'])})"
                    for t, v in groups[g]["incidence"][c].items()
                },
            }
        rows.append(row)
    return rows


def _of(pub: YouthPublication, part: str, complement: str) -> str:
    """« 182 sur 339 »: a published count and its base (the count plus its published
    complement)."""
    base = pub.value(part) + pub.value(complement)
    return f"{pub.text(part)} sur {fr_num(base)}"


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


@dataclass(frozen=True)
class YouthReport:
    """The youth report's data: the names its template prints, its audited publication, and the
    study's tables the figures are redrawn from (kept apart: the template gets names only)."""

    names: dict[str, Any]
    pub: YouthPublication
    tables: dict[str, pd.DataFrame]


def youth_context(settings: Settings, youth_dir: Path) -> YouthReport:
    """Everything the template prints, from ``outputs/youth/<year>/``, with the publication."""
    from observatoire.youth.typology import silhouette_quality

    study = StudyParams.from_settings(settings)
    rep = settings.report
    k = study.disclosure_threshold
    res, tables = read_youth_inputs(youth_dir)
    year = study.year
    pub = restore_youth(
        year,
        res,
        tables,
        k,
        read_ledger(PATHS.tables(year)),
        read_state(PATHS.disclosure(year)).audit,
    )
    typ = res.get("typology")
    ctx: dict[str, Any] = {
        "k": k,
        "year": study.year,
        "title": rep.title,
        "organisation": rep.organisation,
        "colour_primary": rep.colour_primary,
        "colour_secondary": rep.colour_secondary,
        "logo": "",  # staged beside the figures by build_youth_report
        "date": f"{study.year + 1}-03-31",
        "window_start": pd.Timestamp(res["window"][0]).strftime("%d/%m/%Y"),
        "window_end": pd.Timestamp(res["window"][1]).strftime("%d/%m/%Y"),
        "follow_up": study.follow_up_months,
        "inactive_days": study.inactive_days,
        "bands": list(study.bands),
        "youth_label": GROUP_LABELS[YOUTH],
        "adults_label": GROUP_LABELS[ADULTS],
        "cohort": {
            "youth": pub.text(cohort_key(year, YOUTH)),
            "adults": pub.text(cohort_key(year, ADULTS)),
            "by_band": {
                b: pub.text(key(year, YOUTH, f"tranche={slug(b)}"))
                for b in sorted(res["cohort"]["by_band"])
                if b != GROUP_LABELS[ADULTS]
            },
            "street_youth": pub.text(key(year, YOUTH, "travail_rue_seulement")),
            "street_adults": pub.text(key(year, ADULTS, "travail_rue_seulement")),
        },
        "masked_cells": {
            "primary": int((pub.pub.ledger()["status"] == "primaire").sum()),
            "secondary": int((pub.pub.ledger()["status"] == "secondaire").sum()),
        },
        "lookback_incomplete": res.get("lookback_incomplete", False),
        "study": study,
        "code_version": code_version(),
        "min_base": study.min_base,
        "min_type_size": study.min_type_size,
        "typology": typ,
        "not_computable": res.get("non_calculable") or {},
        "street_work": STREET_WORK_KEY not in (res.get("non_calculable") or {}),
        "silhouette_quality": silhouette_quality(typ["silhouette_distinct"]) if typ else "",
        "silhouette_rows": (
            [
                {
                    "k": kk,
                    "asw": fr_num(v, 3),
                    "asw_distinct": fr_num(typ["silhouette_distinct_by_k"].get(kk), 3),
                    "chosen": int(kk) == typ["k"],
                }
                for kk, v in sorted(typ["silhouette_by_k"].items(), key=lambda kv: int(kv[0]))
            ]
            if typ
            else []
        ),
        "primary_days": study.primary_days,
        "rmst_days": study.rmst_days,
        "tests_m": (res.get("multiplicity") or {}).get("m", 0),
        "checks": _checks_names(typ),
        "sensitivity_rows": [
            {
                "label": r["label"],
                "k": int(r["k"]),
                "asw_distinct": fr_num(r["asw_distinct"], 2),
                "asw_persons": fr_num(r["asw_persons"], 2),
                "ari": fr_num(r["ari"], 2),
            }
            for _, r in tables["sensibilite_typologie"].iterrows()
        ],
    }
    ckeys = pub.tables.comparison_keys
    for name, field in (
        ("profil", "profile_rows"),
        ("profil_actifs", "active_rows"),
        ("services_actives", "activated_rows"),
        ("services_quittes", "fled_rows"),
        ("sorties_de_sejour", "exit_rows"),
    ):
        ctx[field] = (
            comparison_rows(tables[name], k, pub, ckeys.get(name) or None)
            if not tables[name].empty
            else []
        )
    ctx["first_rows"] = [
        {
            "dispositif": DISPOSITIFS.get(r["dispositif"], r["dispositif"]),
            "youth": pub.text(first_key(year, YOUTH, r["dispositif"])),
            "adults": pub.text(first_key(year, ADULTS, r["dispositif"])),
        }
        for _, r in tables["premiers_services"].iterrows()
    ]
    youth_n = res["cohort"]["youth"]
    ctx["path_rows"] = {YOUTH: [], ADULTS: []}
    if pub.tables.has(f"parcours_{YOUTH}"):
        paths = pub.tables.get(f"parcours_{YOUTH}").values["personnes"]
        ctx["path_rows"][YOUTH] = [
            {
                "path": p,
                "persons": pub.text(path_key(year, YOUTH, p)),
                "share": "–" if pub.hidden(path_key(year, YOUTH, p)) else fr_pct(n / youth_n),
            }
            for p, n in paths.items()
        ]
    types = tables["types"]

    def type_share(t: pd.Series, part: str, column: str) -> str:
        """« – » for a type too small to split (never printed), « s » when the part, its
        complement or the type's size is masked, else the share."""
        if not split_published(t["persons"], k):
            return "–"
        parts = (
            type_key(year, int(t["type"])),
            type_key(year, int(t["type"]), part),
            type_key(year, int(t["type"]), OTHER_PART[part]),
        )
        return "s" if any(pub.hidden(kk) for kk in parts) else fr_pct(t[column])

    bands = [b for b in sorted(res["cohort"]["by_band"]) if b != GROUP_LABELS[ADULTS]]
    OTHER_PART = {"femmes": "autres", "autres": "femmes"}
    if len(bands) == 2:
        OTHER_PART |= {
            f"tranche={slug(bands[0])}": f"tranche={slug(bands[1])}",
            f"tranche={slug(bands[1])}": f"tranche={slug(bands[0])}",
        }
    young_part = f"tranche={slug(bands[0])}" if bands else ""
    ctx["type_rows"] = [
        {
            "type": int(t["type"]),
            "name": t["name"],
            "persons": pub.text(type_key(year, int(t["type"]))),
            "share": "–" if pub.hidden(type_key(year, int(t["type"]))) else fr_pct(t["share"]),
            "women": type_share(t, "femmes", "women"),
            "young": type_share(t, young_part, "band_18_21") if young_part else "–",
            "months": fr_num(t["months_in_contact_median"], 0),
            "silhouette": fr_num(t["silhouette"], 2),
            "jaccard": fr_num(t.get("jaccard"), 2) if t.get("jaccard") == t.get("jaccard") else "–",
            # no flag on a masked size: « instable » would say it is under min_base
            "flag": "instable"
            if t["persons"] < study.min_base and not pub.hidden(type_key(year, int(t["type"])))
            else "",
        }
        for _, t in types.iterrows()
    ]
    surv = {}
    survival_table = pub.tables.get("survie") if pub.tables.has("survie") else None
    for name, s in res["survival"].items():
        surv[name] = {
            "n_youth": pub.text(survival_table.keys.loc[name, YOUTH]) if survival_table else "–",
            "n_adults": pub.text(survival_table.keys.loc[name, ADULTS]) if survival_table else "–",
            "median_youth": fr_num(s["medians"].get(YOUTH)),
            "median_adults": fr_num(s["medians"].get(ADULTS)),
            "chi2": fr_num(s["logrank_chi2"], 1),
            "p": p_value(s["logrank_p"]),
            "rmst": _rmst_names(s.get("rmst") or {}),
            "adjusted": [
                {
                    "level": e["level"],
                    "estimate": fr_num(e["estimate"], 1),
                    "ci": f"{fr_num(e['lower'], 1)} ; {fr_num(e['upper'], 1)}",
                    "p_holm": p_value(e.get("p_holm")),
                }
                for e in s.get("rmst_adjusted", [])
            ],
            "at": {
                t: {
                    "youth": fr_pct(s["survival_at"].get(YOUTH, {}).get(t)),
                    "adults": fr_pct(s["survival_at"].get(ADULTS, {}).get(t)),
                }
                for t in ("3", "7", "30", "90", "365")
            },
        }
    ctx["survival"] = surv
    ctx["primary"] = _primary_names(res, pub, year)
    ctx["destination_rows"] = _destination_rows(res, pub, year)
    flows = tables["flux"]
    flow_keys = pub.tables.get("flux").keys if pub.tables.has("flux") else None
    ctx["flow_rows"] = []
    for _, r in flows.iterrows():
        a = str(int(r["year"]))
        kk = {c: flow_keys.loc[a, c] if flow_keys is not None else None for c in FLOW_CELLS}
        ctx["flow_rows"].append(
            {
                "year": int(r["year"]),
                "youth": pub.text(kk["jeunes"]),
                "share": "–" if pub.hidden(kk["jeunes"]) else fr_pct(r["youth_share"]),
                "new": pub.text(kk["nouveaux"]),
                "continuing": pub.text(kk["continus"]),
                "returning": pub.text(kk["de_retour"]),
            }
        )
    trend = res.get("youth_share_trend") or {}
    ctx["trend"] = (
        {
            "or": fr_num(trend["odds_ratio"], 3),
            "lower": fr_num(trend["lower"], 3),
            "upper": fr_num(trend["upper"], 3),
            "p": p_value(trend["pvalue"]),
            "first": trend["years"][0],
            "last": trend["years"][1],
        }
        if trend
        else None
    )
    ctx["findings"] = findings(ctx, pub, res, tables)
    return YouthReport(names=ctx, pub=pub, tables=tables)


def individual_figures_allowed(
    ctx: dict[str, Any], pub: YouthPublication, tables: dict[str, pd.DataFrame]
) -> dict[str, bool]:
    """Whether each individual-level figure (:data:`INDIVIDUAL_FIGURES`) may be published: every
    group it draws counts at least ``min_type_size`` persons and its size is published (a
    chronogram of n persons draws shares in multiples of 1/n; an index plot draws each person)."""
    year, minimum = ctx["year"], ctx["min_type_size"]

    def fine(keys: list[str]) -> bool:
        return bool(keys) and all(
            not pub.hidden(kk) and pub.pub.values[kk] >= minimum for kk in keys
        )

    groups = {"cohort": [cohort_key(year, g) for g in (YOUTH, ADULTS)]}
    types = tables.get("types", pd.DataFrame())
    groups["types"] = [type_key(year, int(t)) for t in types["type"]] if ctx.get("typology") else []
    return {name: fine(groups[group]) for name, group in INDIVIDUAL_FIGURES.items()}


def youth_figures(report: YouthReport, youth_dir: Path, fig_dir: Path) -> dict[str, str]:
    """Copy the notebook's share-only figures; redraw the ones with counts, masked."""
    from observatoire.reports.charts import apply_house_style, save_figure
    from observatoire.reports.youth import charts as ych

    apply_house_style()
    fig_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    ctx, pub, tables = report.names, report.pub, report.tables
    allowed = individual_figures_allowed(ctx, pub, tables)
    for name in COPIED_FIGURES:
        src = youth_dir / "figures" / f"{name}.png"
        if src.exists() and allowed.get(name, True):
            shutil.copyfile(src, fig_dir / f"{name}.png")
            out[name] = f"{FIGURES}/{name}.png"
    k = ctx["k"]
    flows = tables["flux"].copy()
    flows = flows[flows["new"].notna()]  # years whose status can be told (730 days of data)
    if pub.tables.has("flux"):  # the cells as published: a hidden one is not drawn
        keys = pub.tables.get("flux").keys
        for col, cell in (
            ("new", "nouveaux"),
            ("continuing", "continus"),
            ("returning", "de_retour"),
        ):
            flows[col] = [pub.value(keys.loc[str(int(a)), cell]) for a in flows["year"]]
        flows["youth"] = [pub.value(keys.loc[str(int(a)), "jeunes"]) for a in flows["year"]]
    save_figure(ych.flows_bars(flows), fig_dir / "flux.png")
    out["flux"] = f"{FIGURES}/flux.png"
    prof = tables["profil"].copy()
    pkeys = pub.tables.comparison_keys.get("profil") or [None] * len(prof)
    hide = [row_hidden(r, k, pub, ks) for (_, r), ks in zip(prof.iterrows(), pkeys, strict=True)]
    prof.loc[hide, ["diff", "lower", "upper"]] = np.nan
    table = prof.rename(columns={"indicator": "label"})
    if "ref_youth" in table:
        table["reference_diff"] = table["ref_youth"] - table["ref_adults"]
    save_figure(ych.comparison_forest(table), fig_dir / "ecarts.png")
    out["ecarts"] = f"{FIGURES}/ecarts.png"
    if transitions := transition_figure(youth_dir, fig_dir, k):
        out["transitions"] = transitions
    return out


def transition_figure(youth_dir: Path, fig_dir: Path, k: int) -> str | None:
    """The transition heatmaps redrawn with their cells of 1 to k − 1 passages masked, and the
    printed cells beside them as data (``transitions.csv``)."""
    from observatoire.reports.charts import save_figure
    from observatoire.reports.youth import charts as ych

    matrices, counts = {}, {}
    for group in (YOUTH, ADULTS):
        probs = youth_dir / f"transitions_{group}.csv"
        if probs.exists():
            matrices[GROUP_LABELS[group]] = pd.read_csv(probs, index_col=0)
            counts[GROUP_LABELS[group]] = pd.read_csv(
                youth_dir / f"transitions_effectifs_{group}.csv", index_col=0
            )
    if not matrices:
        return None
    cells = ych.transition_cells(matrices, counts, k)
    masked = {
        g: set(zip(c["etat"], c["etat_suivant"], strict=True))
        for g, c in cells[cells["masque"]].groupby("groupe")
    }
    fig = ych.transition_heatmaps(
        matrices, title="Probabilités de transition d'un mois au suivant", masked=masked, k=k
    )
    save_figure(fig, fig_dir / "transitions.png")
    write_safe_csv(
        cells.drop(columns=["probabilite"]), fig_dir / "transitions.csv", quote_all=False
    )
    return f"{FIGURES}/transitions.png"


def study_unavailable(youth_dir: Path) -> str | None:
    """The reason the youth study could not run this year (``resultats.json`` holds it under
    ``non_calculable.cohorte`` and has no cohort), or None."""
    res = json.loads((youth_dir / "resultats.json").read_text(encoding="utf-8"))
    if "cohort" in res:
        return None
    return (res.get("non_calculable") or {}).get("cohorte", "Étude non réalisée.")


def unavailable_context(settings: Settings, reason: str) -> dict[str, Any]:
    """The names of the short report that says why the study was not made."""
    rep = settings.report
    return {
        "year": rep.year,
        "title": rep.title,
        "organisation": rep.organisation,
        "colour_primary": rep.colour_primary,
        "colour_secondary": rep.colour_secondary,
        "date": f"{rep.year + 1}-03-31",
        "reason": reason,
        "persons_counted": NO_PERSONS_REASON not in reason,
    }


def build_youth_report(settings: Settings) -> None:
    """Build ``outputs/reports/<year>/jeunes-en-errance.{qmd,html,pdf}`` and its figures."""
    from observatoire.reports.render import render_document

    year = settings.report.year
    youth_dir = PATHS.youth(year)
    out_dir = PATHS.reports(year)
    unavailable = study_unavailable(youth_dir)
    if unavailable is None:
        report = youth_context(settings, youth_dir)
        ctx = report.names
        template = report_template(f"{STEM}.qmd.j2")
    else:
        ctx = unavailable_context(settings, unavailable)
        template = report_template(f"{STEM}-non-realisee.qmd.j2")
    tmp = temp_dir(out_dir, STEM)
    try:
        if unavailable is None:
            ctx["figures"] = youth_figures(report, youth_dir, tmp / FIGURES)
        else:
            (tmp / FIGURES).mkdir(parents=True, exist_ok=True)
        ctx["logo"] = stage_logo(settings.report.logo, tmp / FIGURES)
        source = tmp / f"{STEM}.qmd"
        source.write_text(template.render(**ctx), encoding="utf-8")
        result = render_document(source, tmp)
        members = [f"{STEM}.qmd", f"{STEM}.html", f"{STEM}.pdf", FIGURES]
        check_before_publishing(settings, tmp, members, out_dir, "youth_report")
        publish_members(tmp, out_dir, members)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"Rapport jeunes en errance {year} : {out_dir}/{STEM}.html et {out_dir}/{STEM}.pdf "
        f"(moteur : {result.engine})"
    )
