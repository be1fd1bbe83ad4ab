"""The youth-errance report (« Jeunes en errance »): disclosure control, findings, rendering.

The stage reads what the youth notebook wrote in ``outputs/youth/<year>/``, masks every person
count from 1 to k − 1 (and every share whose numerator or complement is that small), states the
findings (« constats ») from the numbers with the words their uncertainty allows, fills the
Quarto template ``assets/reports/jeunes-en-errance.qmd.j2`` and renders it to HTML and PDF.
No number is typed by hand in the template.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.core.formatting import french_number as fr_num
from observatoire.core.formatting import french_points as pp
from observatoire.core.storage import publish_members
from observatoire.reports.common import code_version, report_template, stage_logo
from observatoire.youth.cohort import ADULTS, GROUP_LABELS, YOUTH, StudyParams

STEM = "jeunes-en-errance"
FIGURES = "figures-jeunes"
COPIED_FIGURES = (
    "chronogrammes",
    "tapis",
    "transitions",
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
    """The 95 % CI of the difference excludes zero."""
    lo, hi = row.get("lower"), row.get("upper")
    return lo == lo and hi == hi and lo is not None and (lo > 0 or hi < 0)


def comparison_rows(table: pd.DataFrame, k: int) -> list[dict[str, str]]:
    """Rows of a youth-vs-adults table for the report, masked and formatted."""
    out = []
    for _, r in table.iterrows():
        hide = masked(r["x_youth"], r["n_youth"], k) or masked(r["x_adults"], r["n_adults"], k)
        ref = ""
        if "ref_youth" in r and r.get("ref_youth") == r.get("ref_youth") and r.get("ref_youth"):
            ref = f"{fr_pct(r['ref_youth'])} / {fr_pct(r['ref_adults'])}"
        out.append(
            {
                "indicator": str(r["indicator"]),
                "youth": "masqué" if hide else f"{fr_pct(r['p1'])} ({count(r['n_youth'], k)})",
                "adults": "masqué" if hide else f"{fr_pct(r['p2'])} ({count(r['n_adults'], k)})",
                "diff": "–" if hide else pp(r["diff"]),
                "ci": "–" if hide else f"{pp(r['lower'])} ; {pp(r['upper'])}",
                "p": "–" if hide else p_value(r["pvalue"]),
                "ref": ref,
                "flag": "instable" if bool(r.get("unstable", False)) and not hide else "",
            }
        )
    return out


def _direction(row: pd.Series, more: str, less: str, same: str) -> str:
    if not significant(row):
        return same
    return more if row["diff"] > 0 else less


def findings(ctx: dict[str, Any], res: dict[str, Any], tables: dict[str, pd.DataFrame]) -> list:
    """« Constats » stated from the data: each a fact with its figures, worded by its CI."""
    k = ctx["k"]
    out: list[str] = []
    coh = res["cohort"]
    out.append(
        f"Entre le {ctx['window_start']} et le {ctx['window_end']}, le réseau a rencontré pour la "
        f"première fois **{count(coh['youth'], k)} jeunes de 18 à 25 ans** et "
        f"{count(coh['adults'], k)} adultes de 26 ans et plus ; les jeunes sont "
        f"**{fr_pct(coh['youth'] / (coh['youth'] + coh['adults']))}** des nouvelles personnes."
    )
    prof = tables["profil"].set_index("indicator")
    if "Femmes" in prof.index:
        r = prof.loc["Femmes"]
        if not masked(r["x_youth"], r["n_youth"], k):
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
    s = res["survival"].get("abri_nuit")
    if s and s["medians"].get(YOUTH) is not None and s["medians"].get(ADULTS) is not None:
        # A stay of one night covers two days (entry, then the morning of exit), two nights
        # three days: « gone after one or two nights » is 1 − S(3).
        left2 = 1 - s["survival_at"][YOUTH]["3"]
        left2_a = 1 - s["survival_at"][ADULTS]["3"]
        sig = s["logrank_p"] is not None and s["logrank_p"] < 0.05
        out.append(
            f"À l'abri de nuit, **{fr_pct(left2)} des jeunes ont décroché après une ou deux "
            f"nuits** (pas de retour dans les {ctx['inactive_days']} jours), contre "
            f"{fr_pct(left2_a)} des adultes ; durée médiane de fréquentation "
            f"{fr_num(s['medians'][YOUTH])} jours contre {fr_num(s['medians'][ADULTS])} "
            + (
                f"(différence significative, log-rank p {p_value(s['logrank_p'])})."
                if sig
                else f"(différence non significative, log-rank p {p_value(s['logrank_p'])})."
            )
        )
    fled = tables["services_quittes"]
    fled = fled[fled["measure"] == "no_return"]
    fled = fled[
        [
            not (masked(r.x_youth, r.n_youth, k) or masked(r.x_adults, r.n_adults, k))
            for r in fled.itertuples()
        ]
    ]
    fled = fled[[significant(r) for _, r in fled.iterrows()]]
    for _, r in fled.sort_values("diff", ascending=False).iterrows():
        word = "plus" if r["diff"] > 0 else "moins"
        out.append(
            f"{r['indicator'].split(' : ')[0]} : les jeunes qui y viennent ne reviennent pas "
            f"dans les {ctx['inactive_days']} jours {word} souvent que les adultes "
            f"({fr_pct(r['p1'])} contre {fr_pct(r['p2'])}, écart {pp(r['diff'])}, "
            f"IC 95 % {pp(r['lower'])} à {pp(r['upper'])})."
        )
    typ = res.get("typology")
    if typ:
        types = tables["types"].sort_values("persons", ascending=False)
        big = types.head(2)
        described = " ; ".join(
            f"« {t['name']} » ({fr_pct(t['share'])} des jeunes)" for _, t in big.iterrows()
        )
        out.append(
            f"Les trajectoires des jeunes sur {ctx['follow_up']} mois se regroupent en "
            f"{typ['k']} types (silhouette moyenne {fr_num(typ['silhouette'], 2)}, "
            f"{ctx['silhouette_quality']}) ; les plus fréquents : {described}."
        )
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


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def youth_context(settings: Settings, youth_dir: Path) -> dict[str, Any]:
    """Everything the template prints, from ``outputs/youth/<year>/``."""
    from observatoire.youth.typology import silhouette_quality

    study = StudyParams.from_settings(settings)
    rep = settings.report
    k = study.disclosure_threshold
    res = json.loads((youth_dir / "resultats.json").read_text(encoding="utf-8"))
    names = [
        "profil",
        "services_actives",
        "services_quittes",
        "sorties_de_sejour",
        "premiers_services",
        "types",
        "flux",
        f"parcours_{YOUTH}",
        f"parcours_{ADULTS}",
        f"combinaisons_{YOUTH}",
    ]
    tables = {n: _read_csv(youth_dir / f"{n}.csv") for n in names}
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
            "youth": count(res["cohort"]["youth"], k),
            "adults": count(res["cohort"]["adults"], k),
            "by_band": {b: count(n, k) for b, n in sorted(res["cohort"]["by_band"].items())},
            "street_youth": count(res["cohort"]["street_only"].get(YOUTH, 0), k),
            "street_adults": count(res["cohort"]["street_only"].get(ADULTS, 0), k),
        },
        "lookback_incomplete": res.get("lookback_incomplete", False),
        "study": study,
        "code_version": code_version(),
        "min_base": study.min_base,
        "min_type_size": study.min_type_size,
        "typology": typ,
        "silhouette_quality": silhouette_quality(typ["silhouette"]) if typ else "",
        "silhouette_rows": (
            [
                {"k": kk, "asw": fr_num(v, 3), "chosen": int(kk) == typ["k"]}
                for kk, v in sorted(typ["silhouette_by_k"].items(), key=lambda kv: int(kv[0]))
            ]
            if typ
            else []
        ),
    }
    ctx["profile_rows"] = comparison_rows(tables["profil"], k)
    ctx["activated_rows"] = comparison_rows(tables["services_actives"], k)
    ctx["fled_rows"] = comparison_rows(tables["services_quittes"], k)
    ctx["exit_rows"] = comparison_rows(tables["sorties_de_sejour"], k)
    ctx["first_rows"] = [
        {
            "dispositif": DISPOSITIFS.get(r["dispositif"], r["dispositif"]),
            "youth": count(r[YOUTH], k),
            "adults": count(r[ADULTS], k),
        }
        for _, r in tables["premiers_services"].iterrows()
    ]
    ctx["path_rows"] = {
        g: [
            {"path": r["path"], "persons": count(r["persons"], k), "share": fr_pct(r["share"])}
            for _, r in tables[f"parcours_{g}"].head(8).iterrows()
            if r["persons"] >= k
        ]
        for g in (YOUTH, ADULTS)
    }
    types = tables["types"]
    ctx["type_rows"] = [
        {
            "type": int(t["type"]),
            "name": t["name"],
            "persons": count(t["persons"], k),
            "share": fr_pct(t["share"]),
            "women": "masqué"
            if masked(round(t["women"] * t["persons"]), t["persons"], k)
            else fr_pct(t["women"]),
            "young": "masqué"
            if masked(round(t["band_18_21"] * t["persons"]), t["persons"], k)
            else fr_pct(t["band_18_21"]),
            "months": fr_num(t["months_in_contact_median"], 0),
            "silhouette": fr_num(t["silhouette"], 2),
            "flag": "instable" if t["persons"] < study.min_base else "",
        }
        for _, t in types.iterrows()
    ]
    surv = {}
    for key, s in res["survival"].items():
        surv[key] = {
            "n_youth": count(s["n"].get(YOUTH), k),
            "n_adults": count(s["n"].get(ADULTS), k),
            "median_youth": fr_num(s["medians"].get(YOUTH)),
            "median_adults": fr_num(s["medians"].get(ADULTS)),
            "chi2": fr_num(s["logrank_chi2"], 1),
            "p": p_value(s["logrank_p"]),
            "at": {
                t: {
                    "youth": fr_pct(s["survival_at"].get(YOUTH, {}).get(t)),
                    "adults": fr_pct(s["survival_at"].get(ADULTS, {}).get(t)),
                }
                for t in ("3", "7", "30", "90", "365")
            },
        }
    ctx["survival"] = surv
    flows = tables["flux"]
    ctx["flow_rows"] = [
        {
            "year": int(r["year"]),
            "youth": count(r["youth"], k),
            "share": fr_pct(r["youth_share"]),
            "new": count(r["new"], k),
            "continuing": count(r["continuing"], k),
            "returning": count(r["returning"], k),
        }
        for _, r in flows.iterrows()
    ]
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
    ctx["findings"] = findings(ctx, res, tables)
    ctx["_tables"] = tables
    return ctx


def _figures(ctx: dict[str, Any], youth_dir: Path, fig_dir: Path) -> dict[str, str]:
    """Copy the notebook's share-only figures; redraw the ones with counts, masked."""
    from observatoire.reports.charts import apply_house_style, save_figure
    from observatoire.reports.youth import charts as ych

    apply_house_style()
    fig_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in COPIED_FIGURES:
        src = youth_dir / "figures" / f"{name}.png"
        if src.exists():
            shutil.copyfile(src, fig_dir / f"{name}.png")
            out[name] = f"{FIGURES}/{name}.png"
    k = ctx["k"]
    flows = ctx["_tables"]["flux"].copy()
    flows = flows[flows["new"].notna()]  # years whose status can be told (730 days of data)
    for col in ("new", "continuing", "returning"):
        flows[col] = flows[col].where(~flows[col].between(1, k - 1), np.nan)
    save_figure(ych.flows_bars(flows), fig_dir / "flux.png")
    out["flux"] = f"{FIGURES}/flux.png"
    prof = ctx["_tables"]["profil"].copy()
    hide = [
        masked(r.x_youth, r.n_youth, k) or masked(r.x_adults, r.n_adults, k)
        for r in prof.itertuples()
    ]
    prof.loc[hide, ["diff", "lower", "upper"]] = np.nan
    table = prof.rename(columns={"indicator": "label"})
    if "ref_youth" in table:
        table["reference_diff"] = table["ref_youth"] - table["ref_adults"]
    save_figure(ych.comparison_forest(table), fig_dir / "ecarts.png")
    out["ecarts"] = f"{FIGURES}/ecarts.png"
    return out


def build_youth_report(settings: Settings) -> None:
    """Build ``outputs/reports/<year>/jeunes-en-errance.{qmd,html,pdf}`` and its figures."""
    from observatoire.reports.render import render_document

    year = settings.report.year
    youth_dir = PATHS.youth(year)
    out_dir = PATHS.reports(year)
    ctx = youth_context(settings, youth_dir)
    template = report_template(f"{STEM}.qmd.j2")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{STEM}.tmp-", dir=out_dir))
    try:
        ctx["figures"] = _figures(ctx, youth_dir, tmp / FIGURES)
        ctx["logo"] = stage_logo(settings.report.logo, tmp / FIGURES)
        source = tmp / f"{STEM}.qmd"
        source.write_text(template.render(**ctx), encoding="utf-8")
        result = render_document(source, tmp)
        publish_members(tmp, out_dir, [f"{STEM}.qmd", f"{STEM}.html", f"{STEM}.pdf", FIGURES])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"Rapport jeunes en errance {year} : {out_dir}/{STEM}.html et {out_dir}/{STEM}.pdf "
        f"(moteur : {result.engine})"
    )
