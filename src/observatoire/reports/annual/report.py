"""The annual observatory report: figures from the package, text in French, Quarto source.

The report stage reads what the indicators and trends notebooks computed, draws the charts in the
house style, applies disclosure control to every person count, fills the Quarto template
``assets/reports/observatoire.qmd.j2`` and renders the resulting ``observatoire.qmd`` to HTML and
PDF (Quarto if installed, pandoc + Typst otherwise). No number is typed by hand in the template.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.formatting import MOIS_NOMS
from observatoire.core.formatting import french_change as change
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.core.schema import NATIONALITY_GROUPS, QUARANTINE_REASONS
from observatoire.core.storage import atomic_dir, publish_members, write_csv
from observatoire.disclosure.cells import publish_count, suppress_series
from observatoire.disclosure.publication import TOTAL, network_key, publish
from observatoire.disclosure.publication import key as pub_key
from observatoire.disclosure.suppression import (
    LATENT,
    PRIMARY,
    SECONDARY,
    UNPRINTED,
    Publication,
    audit,
    latent_exposure,
)
from observatoire.indicators.counts import SEX_UNKNOWN_OR_X
from observatoire.indicators.pathways import (
    combination_label,
    published_combination,
)
from observatoire.intake.mapping import load_partners
from observatoire.reports import charts
from observatoire.reports.annual import chapters
from observatoire.reports.common import code_version, report_template, stage_logo

MONTHS_FR = list(charts.MOIS_ABREGES)


MIN_MONTHLY_ROWS_FOR_GAP = 20
LINKAGE_DIR = Path("outputs/linkage")


def fr_num(x: float | int | None, decimals: int = 0) -> str:
    return charts.french_number(x, decimals)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _chapter_figures(fig_dir: Path, ind: dict, ctx: dict[str, Any], trend_dir: Path) -> dict:
    """The charts of the chapters, drawn from published (masked) numbers only."""
    from observatoire.reports.annual import figures as annual_charts

    pub, tables, year = ctx["_pub"], ctx["_tables"], ctx["year"]
    paths: dict[str, str] = {}
    if tables.has("personnes_par_dispositif_et_annee"):
        t = tables.get("personnes_par_dispositif_et_annee")
        for code in t.values.index:
            frame = pd.DataFrame(
                {
                    "year": [int(c) for c in t.values.columns],
                    "persons": [
                        float("nan") if pub.hidden(t.keys.loc[code, c]) else t.values.loc[code, c]
                        for c in t.values.columns
                    ],
                }
            )
            name = f"personnes_{code}.png"
            charts.save_figure(annual_charts.persons_by_year(frame, code), fig_dir / name)
            paths[f"persons_{code}"] = f"figures/{name}"
    occ = pd.DataFrame(ind.get("occupancy_monthly") or [])
    if len(occ):
        charts.save_figure(annual_charts.occupancy_by_month(occ), fig_dir / "occupation.png")
        paths["occupancy"] = "figures/occupation.png"
    if tables.has("flux_par_annee"):
        t = tables.get("flux_par_annee")
        frame = t.values.copy()
        for c in ("new", "continuing", "returning"):
            frame[c] = [
                float("nan") if pub.hidden(t.keys.loc[i, c]) else frame.loc[i, c]
                for i in frame.index
            ]
        frame = frame.reset_index(names="year")
        charts.save_figure(annual_charts.flows_by_year(frame), fig_dir / "flux.png")
        paths["flows"] = "figures/flux.png"
    if tables.has("combinaisons_de_dispositifs"):
        t = tables.get("combinaisons_de_dispositifs")
        merged = [published_combination(c["combination"]) for c in ind["pathways"]["combinations"]]
        combos = {combination_label(c): c for c in merged}
        rows = [i for i in t.values.index if i != TOTAL]
        frame = pd.DataFrame(
            {
                "combination": [combos.get(i, ()) for i in rows],
                "persons": [
                    float("nan")
                    if pub.hidden(t.keys.loc[i, "personnes"])
                    else t.values.loc[i, "personnes"]
                    for i in rows
                ],
            }
        )
        used = [
            d
            for d in published_combination(list(DISPOSITIFS))
            if any(d in c for c in frame["combination"])
        ]
        charts.save_figure(
            annual_charts.combinations_upset(frame, used), fig_dir / "combinaisons.png"
        )
        paths["upset"] = "figures/combinaisons.png"
    if tables.has("sorties_par_motif"):
        t = tables.get("sorties_par_motif")
        reasons = [c for c in t.values.columns if c != TOTAL]
        frame = pd.DataFrame(index=t.values.index)
        for r in reasons:
            frame[r] = [
                0.0 if pub.hidden(t.keys.loc[i, r]) else t.values.loc[i, r] for i in frame.index
            ]
        # Masked cells are drawn together, so the chart reveals no more than the table.
        frame["masque"] = t.values[TOTAL] - frame.sum(axis=1)
        frame = frame.loc[:, frame.sum() > 0]
        labels = dict(chapters.EXIT_REASONS) | {"masque": "Cases masquées"}
        charts.save_figure(annual_charts.exit_reasons(frame, labels), fig_dir / "sorties.png")
        paths["exits"] = "figures/sorties.png"
    if ctx["retention"]:
        frame = pd.DataFrame(
            {
                "label": [f"{r['months']} mois" for r in ctx["retention"]],
                "share": [r["share_value"] for r in ctx["retention"]],
                "lower": [r["lower"] for r in ctx["retention"]],
                "upper": [r["upper"] for r in ctx["retention"]],
            }
        ).astype({"share": float, "lower": float, "upper": float})
        charts.save_figure(annual_charts.retention(frame), fig_dir / "maintien.png")
        paths["retention"] = "figures/maintien.png"
    paths.update(_trend_figures(fig_dir, trend_dir, year))
    return paths


def _trend_figures(fig_dir: Path, trend_dir: Path, year: int) -> dict[str, str]:
    """Charts of the per-dispositif models and of next winter's forecast (trends stage)."""
    paths: dict[str, str] = {}
    trend = _read_json(trend_dir / "tendances.json")
    forecast_csv = trend_dir / "prevision_hiver.csv"
    if trend.get("forecast") and forecast_csv.exists():
        forecast = pd.read_csv(forecast_csv, parse_dates=["month"])
        history = pd.read_csv(trend_dir / "demande_abri_mensuelle.csv", parse_dates=["month"])
        capacity = forecast.set_index("month")["capacity"]
        fig = charts.winter_forecast(history, forecast, capacity)
        charts.save_figure(fig, fig_dir / "prevision_hiver.png")
        paths["forecast"] = "figures/prevision_hiver.png"
    yoy = trend.get("yoy_by_dispositif") or {}
    if yoy:
        rows = [{"dispositif": c, **v} for c, v in yoy.items() if v and "rate_ratio" in v]
        charts.save_figure(charts.rate_ratio_forest(rows), fig_dir / "rapports_de_taux.png")
        paths["forest"] = "figures/rapports_de_taux.png"
    fits = {}
    for code in DISPOSITIFS:
        path = trend_dir / f"mensuel_{code}_ajuste.csv"
        if path.exists():
            fits[code] = pd.read_csv(path, parse_dates=["month"])
    if fits:
        charts.save_figure(charts.dispositif_fits(fits), fig_dir / "ajustements.png")
        paths["fits"] = "figures/ajustements.png"
    return paths


def _figures(out: Path, ind: dict, year: int, k: int, ind_dir: Path, trend_dir: Path) -> dict:
    """Draw every chart of the report; returns their relative paths."""
    charts.apply_house_style()
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}

    pyramid = pd.DataFrame(ind["profile"]["age_sex"])
    pyramid = pyramid[pyramid["sex"].isin(["M", "F"])]
    pyramid["persons"] = suppress_series(pyramid["persons"].astype(float), k)
    charts.save_figure(charts.age_sex_pyramid(pyramid), fig_dir / "pyramide.png")
    paths["pyramid"] = "figures/pyramide.png"

    monthly = pd.read_csv(ind_dir / "personnes_par_mois.csv", parse_dates=["month"])
    monthly["persons"] = suppress_series(monthly["persons"].astype(float), k)
    fig = charts.monthly_series(
        monthly, value="persons", hue="dispositif", ylabel="Personnes distinctes par mois"
    )
    charts.save_figure(fig, fig_dir / "mensuel_dispositifs.png")
    paths["monthly"] = "figures/mensuel_dispositifs.png"

    nights_m = pd.read_csv(ind_dir / "nuitees_par_mois.csv", parse_dates=["month"])
    nights_m = nights_m[nights_m["month"].dt.year <= year]
    fig = charts.monthly_series(nights_m, value="nights", hue=None, ylabel="Nuitées par mois")
    charts.save_figure(fig, fig_dir / "nuitees_mensuelles.png")
    paths["nights"] = "figures/nuitees_mensuelles.png"

    observed = pd.DataFrame(ind["yearly_persons"]).rename(columns={"persons": "value"})
    observed = observed[observed["year"] <= year]
    fitted = pd.read_csv(trend_dir / "tendance_reseau.csv")
    fig = charts.yearly_trend(observed, fitted, ylabel="Personnes distinctes (réseau)")
    charts.save_figure(fig, fig_dir / "tendance_annuelle.png")
    paths["trend"] = "figures/tendance_annuelle.png"

    cov = pd.DataFrame(ind["coverage"]).T
    cov.columns = MONTHS_FR
    cov.index = [ind["partners"][p]["name"] for p in cov.index]
    charts.save_figure(charts.coverage_heatmap(cov), fig_dir / "couverture.png")
    paths["coverage"] = "figures/couverture.png"

    sensitivity = pd.read_csv(LINKAGE_DIR / "sensibilite_au_seuil.csv", dtype={"periode": str})
    sensitivity = sensitivity[sensitivity["periode"] == str(year)]
    chosen = float(sensitivity.loc[sensitivity["seuil_retenu"], "seuil"].iloc[0])
    charts.save_figure(charts.threshold_sensitivity(sensitivity, chosen), fig_dir / "seuil.png")
    paths["sensitivity"] = "figures/seuil.png"

    stl = pd.read_csv(trend_dir / "stl_reseau.csv", parse_dates=["month"])
    stl = stl.set_index("month")
    charts.save_figure(
        charts.stl_decomposition(_StlFrame(stl), ylabel="Personnes distinctes"),
        fig_dir / "stl.png",
    )
    paths["stl"] = "figures/stl.png"
    return paths


class _StlFrame:
    """The STL components as saved by the trends notebook, shaped like statsmodels' result."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.observed = frame["observed"]
        self.trend = frame["trend"]
        self.seasonal = frame["seasonal"]
        self.resid = frame["resid"]


def report_context(params: dict[str, Any], params_path: Path) -> dict[str, Any]:
    """Everything the template prints, already formatted and disclosure-controlled."""
    rep = params["report"]
    year, k = int(rep["year"]), int(rep["disclosure_threshold"])
    ind_dir = Path("outputs/indicators") / str(year)
    trend_dir = Path("outputs/trends") / str(year)
    ind = _read_json(ind_dir / "indicateurs.json")
    trend = _read_json(trend_dir / "tendances.json")
    rows = _read_json(Path("outputs/metrics/rows.json"))
    inputs = _read_json(Path("outputs/metrics/inputs.json"))
    linkage = _read_json(Path("outputs/metrics/linkage.json"))
    partners = load_partners(
        Path(params["inputs"]["partners_dir"]), Path(params["inputs"]["codes_dir"])
    )

    prev_path = ind_dir / "indicateurs_annee_precedente.json"
    ind_prev = _read_json(prev_path) if prev_path.exists() else None
    tables, pub, pub_prev = publish(ind, ind_prev, k)
    audit_table = audit(pub, pub_prev)
    min_mean = int(rep["min_persons_for_mean"])
    units = {code: partners_unit(partners, code) for code in ind["dispositifs"]}
    chapters_ctx = {
        code: chapters.dispositif_chapter(code, ind, pub, min_mean, units[code])
        for code in ind["dispositifs"]
    }
    net = ind["network"]
    network_range = linkage.get("fourchette_reseau", {}).get(str(year), {})
    dispositifs = []
    for code in [c for c in DISPOSITIFS if c in ind["dispositifs"]]:
        d = ind["dispositifs"][code]
        dispositifs.append(
            {
                "code": code,
                "label": d["label"],
                "persons": chapters_ctx[code]["persons"],
                "persons_prev": chapters_ctx[code]["persons_prev"],
                "persons_change": chapters_ctx[code]["persons_change"],
                "contacts": fr_num(d["contacts"]),
                "contacts_prev": fr_num(d["contacts_prev"]),
                "contacts_change": change(d["contacts"], d["contacts_prev"]),
                "unit": partners_unit(partners, code),
            }
        )
    sh = ind["shelter"]
    shelter = None
    if sh:
        shelter = {
            "nights": fr_num(sh["nights"]),
            "nights_change": change(sh["nights"], sh["nights_prev"]),
            "beds": sh["capacity"]["beds"],
            "winter_beds": sh["capacity"]["winter_extra_beds"],
            "capacity_nights": fr_num(sh["capacity_nights"]),
            "occupancy": fr_pct(sh["occupancy"]),
            "occupancy_prev": fr_pct(sh["occupancy_prev"]),
            "refusals": fr_num(sh["refusals"]),
            "refusals_prev": fr_num(sh["refusals_prev"]),
            "refusals_change": change(sh["refusals"], sh["refusals_prev"]),
            "refusal_nights": fr_num(sh["refusal_nights"]),
            "stays": chapters.stays_text(ind, "hebergement_urgence", min_mean),
            "winters": [
                {
                    "winter": w["winter"].replace("-", "–"),
                    "nights": fr_num(w["nights"]),
                    "capacity": fr_num(w["capacity_nights"]),
                    "occupancy": fr_pct(w["occupancy"]),
                    "refusals": fr_num(w["refusals"]),
                    "refusal_nights": fr_num(w["refusal_nights"]),
                }
                for w in ind.get("winters", [])
                if w.get("complete")
            ],
        }
    profile = {
        "women": pub.cell_text(pub_key(year, "sexe=F")),
        "women_share": chapters.share_text(pub, pub_key(year, "sexe=F"), network_key(year)),
        "men_share": chapters.share_text(pub, pub_key(year, "sexe=M"), network_key(year)),
        "unknown_sex_share": chapters.share_text(
            pub, pub_key(year, f"sexe={SEX_UNKNOWN_OR_X}"), network_key(year)
        ),
        "unknown_age_share": chapters.share_text(
            pub, pub_key(year, "age=inconnu"), network_key(year)
        ),
        "unknown_nationality_share": chapters.share_text(
            pub, pub_key(year, "nationalite=INCONNU"), network_key(year)
        ),
        "youth": publish_count(ind["profile"]["youth_18_25"], k),
        "youth_share": fr_pct(ind["profile"]["youth_share"]),
        "age_estimated": publish_count(ind["profile"]["age_estimated_persons"], k),
    }
    age_rows = [
        {"band": AGE_LABELS.get(r["label"], r["label"]), "cells": r["cells"]}
        for r in chapters.table_rows(pub, tables, "personnes_par_age_et_sexe")
    ]
    nationality_rows = [
        {"label": NATIONALITY_GROUPS.get(r["label"], r["label"]), "cells": r["cells"]}
        for r in chapters.table_rows(pub, tables, "personnes_par_nationalite")
    ]
    partner_rows = [
        {
            "label": partners[r["label"]].name if r["label"] in partners else r["label"],
            "dispositif": DISPOSITIFS[partners[r["label"]].dispositif]
            if r["label"] in partners
            else "",
            "cells": r["cells"],
        }
        for r in chapters.table_rows(pub, tables, "personnes_par_partenaire")
    ]
    yearly = [
        {"year": r["label"], "persons": r["cells"][0]}
        for r in chapters.table_rows(pub, tables, "personnes_par_annee")
    ]
    yearly_disp = chapters.table_rows(pub, tables, "personnes_par_dispositif_et_annee")
    coverage_rows = []
    for source_file, acc in sorted(rows["files"].items()):
        coverage_rows.append(
            {
                "file": source_file,
                "partner": partners[acc["partner_id"]].name
                if acc["partner_id"] in partners
                else acc["partner_id"],
                "read": fr_num(acc["rows_read"]),
                "clean": fr_num(acc["rows_clean"]),
                "quarantined": fr_num(acc["rows_quarantined"]),
                "reasons": ", ".join(
                    f"{QUARANTINE_REASONS_SHORT.get(r, r)} ({n})" for r, n in acc["reasons"].items()
                )
                or "—",
                "year": _file_year(source_file),
            }
        )
    coverage_year = [r for r in coverage_rows if r["year"] == year]
    # A month without rows is a gap in delivery only for a partner that usually sends many rows
    # a month; a small service (a few tenancies a year) has empty months by nature.
    months_missing = {
        ind["partners"][p]["name"]: [MONTHS_FR[i] for i, v in enumerate(vals) if v == 0]
        for p, vals in ind["coverage"].items()
        if sum(vals) / 12 >= MIN_MONTHLY_ROWS_FOR_GAP
    }
    nt, yoy, mm = trend["network"], trend["year_on_year"], trend["monthly"]
    return {
        "organisation": rep["organisation"],
        "city": rep["city"],
        "title": rep["title"],
        "year": year,
        "k": k,
        "min_mean": rep["min_persons_for_mean"],
        "date": f"{year + 1}-06-30",
        "colour_primary": rep["colour_primary"],
        "colour_secondary": rep["colour_secondary"],
        "logo": rep.get("logo") or "",
        "persons": pub.cell_text(network_key(year)),
        "persons_prev": pub.cell_text(network_key(year - 1)),
        "persons_identified": publish_count(net["persons_identified"], k),
        "persons_street_work": publish_count(net["persons_street_work"], k),
        "persons_change": chapters.change_text(pub, network_key(year), network_key(year - 1)),
        "_tables": tables,
        "_pub": pub,
        "_ind": ind,
        "chapters": chapters_ctx,
        "chapter_order": [d for d in DISPOSITIFS if d in ind["dispositifs"]],
        "nationality_rows": nationality_rows,
        "partner_rows": partner_rows,
        "yearly_disp": yearly_disp,
        "yearly_disp_years": list(tables.get("personnes_par_dispositif_et_annee").values.columns)
        if tables.has("personnes_par_dispositif_et_annee")
        else [],
        "flows": chapters.flows_context(ind, pub, tables),
        "pathways": chapters.pathways_context(ind, pub, tables),
        "long_term": chapters.long_term_context(ind, pub),
        "retention": chapters.retention_rows(ind, pub),
        "returns": chapters.returns_rows(ind, pub),
        "returns_grace": rep.get("returns", {}).get("grace_days", 14),
        "exits": {
            code: chapters.exits_rows(ind, pub, code)
            for code in ind["dispositifs"]
            if chapters.exits_rows(ind, pub, code)
        },
        "ma_stays": chapters.stays_text(ind, "maison_accueil", min_mean),
        "hf_stays": chapters.stays_text(ind, "housing_first", min_mean),
        "interventions": fr_num((ind.get("interventions") or {}).get("urgence_sociale")),
        "disclosure": disclosure_summary(pub, audit_table, latent_exposure(pub, pub_prev)),
        "glossary": glossary(),
        "trends_dispositifs": trends_by_dispositif(trend),
        "forecast": forecast_context(trend),
        "contacts": fr_num(net["contacts"]),
        "contacts_change": change(net["contacts"], net["contacts_prev"]),
        "partners_n": net["partners"],
        "partners_reporting": net["partners_reporting"],
        "first_year": min(r["year"] for r in ind["yearly_persons"]),
        "dispositifs": dispositifs,
        "shelter": shelter,
        "profile": profile,
        "age_rows": age_rows,
        "yearly": yearly,
        "trend": {
            "family": nt["family"],
            "rr": fr_num(nt["annual_rate_ratio"], 3),
            "ci_low": fr_num(nt["ci_low"], 3),
            "ci_high": fr_num(nt["ci_high"], 3),
            "pct": fr_pct(nt["annual_rate_ratio"] - 1, 1, signed=True),
            "pct_low": fr_pct(nt["ci_low"] - 1, 1, signed=True),
            "pct_high": fr_pct(nt["ci_high"] - 1, 1, signed=True),
            "dispersion": fr_num(nt["dispersion"], 2),
            "interpretation": nt["interpretation"],
        },
        "yoy": {
            "rr": fr_num(yoy["rate_ratio"], 3),
            "ci_low": fr_num(yoy["ci_low"], 3),
            "ci_high": fr_num(yoy["ci_high"], 3),
            "interpretation": yoy["interpretation"],
        },
        "monthly_model": {
            "family": mm["family"],
            "rr": fr_num(mm["annual_rate_ratio"], 3),
            "ci_low": fr_num(mm["ci_low"], 3),
            "ci_high": fr_num(mm["ci_high"], 3),
            "dispersion": fr_num(mm["dispersion"], 2),
            "ljung_box_p": fr_num(mm["ljung_box_p"], 3),
        },
        "coverage_year": coverage_year,
        "rows_total": {
            "read": fr_num(
                sum(r["rows_read"] for f, r in rows["files"].items() if _file_year(f) == year)
            ),
            "clean": fr_num(
                sum(r["rows_clean"] for f, r in rows["files"].items() if _file_year(f) == year)
            ),
            "quarantined": fr_num(
                sum(
                    r["rows_quarantined"] for f, r in rows["files"].items() if _file_year(f) == year
                )
            ),
        },
        "months_missing": {p: m for p, m in months_missing.items() if m},
        "inputs": [{"file": f, "sha256": v["sha256"]} for f, v in sorted(inputs.items())],
        "linkage": linkage,
        "linkage_records": fr_num(linkage.get("records")),
        "linkage_quality": _linkage_quality_rows(linkage),
        "linkage_persons": fr_num(linkage.get("persons")),
        "linkage_threshold": fr_num(linkage.get("parametres", {}).get("seuil", float("nan")), 2),
        "network_range": {
            bound: publish_count(network_range.get(bound), k) for bound in ("minimum", "maximum")
        },
        "reasons": QUARANTINE_REASONS,
        "dispositif_labels": DISPOSITIFS,
        "code_version": code_version(),
        "params_file": str(params_path),
        "partners": [
            {"name": p.name, "dispositif": DISPOSITIFS[p.dispositif], "unit": p.row_unit}
            for p in partners.values()
        ],
    }


AGE_LABELS = {
    "<18": "Moins de 18 ans",
    "65+": "65 ans et plus",
    "inconnu": "Âge inconnu",
    TOTAL: "Total",
}


def disclosure_summary(
    pub: Publication, audit_table: pd.DataFrame, exposure: pd.DataFrame | None = None
) -> dict[str, Any]:
    """How many cells the rule masked, what the audit found, and what a reader can deduce of
    the small combinations gathered in « autres » (stated in the annex)."""
    statuses = [s for s in pub.status.values() if s not in (LATENT, UNPRINTED)]
    exposure = exposure if exposure is not None else pd.DataFrame(columns=["exact"])
    this_year = (
        audit_table[audit_table["key"].isin(pub.status)] if len(audit_table) else audit_table
    )
    # « inevitable »: the labels and published zeros alone narrow the cell a little, and no
    # further suppression could change that (see observatoire.disclosure.suppression); never an exact value.
    safe = audit_table["protected"] | audit_table["inevitable"] if len(audit_table) else []
    if len(audit_table) and not bool(safe.all()):
        bad = audit_table.loc[~safe, "key"].tolist()
        raise ValueError(
            "Secret statistique : des cases masquées pourraient être recalculées "
            f"({', '.join(bad[:5])}). À faire : signalez-le à l'équipe ; le rapport n'est pas "
            "publié."
        )
    return {
        "cells": fr_num(len(statuses)),
        "primary": fr_num(sum(s == PRIMARY for s in statuses)),
        "secondary": fr_num(sum(s == SECONDARY for s in statuses)),
        "audited": fr_num(len(this_year)),
        "audited_all": fr_num(len(audit_table)),
        "tables": fr_num(len(pub.tables)),
        "latent": len(exposure),
        "latent_exact": int(exposure["exact"].sum()) if len(exposure) else 0,
    }


def glossary() -> list[dict[str, str]]:
    text = (resources.files("observatoire") / "assets" / "glossaire.yaml").read_text(
        encoding="utf-8"
    )
    return [
        {"term": e["terme"], "definition": " ".join(str(e["definition"]).split())}
        for e in yaml.safe_load(text)
    ]


def trends_by_dispositif(trend: dict[str, Any]) -> list[dict[str, str]]:
    """Monthly count models per dispositif, as the trends notebook fitted them."""
    rows = []
    monthly = trend.get("monthly_by_dispositif") or {}
    yoy = trend.get("yoy_by_dispositif") or {}
    for code in DISPOSITIFS:
        m = monthly.get(code)
        if not m or m.get("annual_rate_ratio") is None:
            continue
        y = yoy.get(code) or {}
        rows.append(
            {
                "label": DISPOSITIFS[code],
                "family": m["family"].replace("binomiale négative", "bin. négative"),
                "rr": fr_num(m["annual_rate_ratio"], 3),
                "ci": f"{fr_num(m['ci_low'], 3)} – {fr_num(m['ci_high'], 3)}",
                "pct": fr_pct(m["annual_rate_ratio"] - 1, 1, signed=True),
                "dispersion": fr_num(m.get("dispersion"), 2),
                "ljung_box_p": fr_num(m.get("ljung_box_p"), 3),
                "yoy": f"{fr_num(y.get('rate_ratio'), 2)} ({fr_num(y['ci_low'], 2)}–"
                f"{fr_num(y['ci_high'], 2)})"
                if y
                else "–",
            }
        )
    return rows


def forecast_context(trend: dict[str, Any]) -> dict[str, Any] | None:
    """Next winter's demand at the night shelter, formatted (see ``observatoire.models.forecast``)."""
    f = trend.get("forecast")
    if not f or f.get("point") is None:
        return None

    def interval(lo: float | None, hi: float | None) -> str:
        return f"{fr_num(lo)} – {fr_num(hi)}"

    backtests = []
    for label, bt in (f.get("backtest") or {}).items():
        if not bt.get("winters"):
            continue
        backtests.append(
            {
                "label": "horizon du rapport" if label == "rapport" else "horizon court",
                "description": bt.get("description", ""),
                "mape": fr_pct(bt["mape"] / 100 if bt.get("mape") is not None else None),
                "rows": [
                    {
                        "winter": w["winter"].replace("-", "–"),
                        "observed": fr_num(w["observed"]),
                        "forecast": fr_num(w["forecast"]),
                        "ape": fr_pct(w["ape"] / 100),
                        "covered80": "oui" if w["covered80"] else "non",
                        "covered95": "oui" if w["covered95"] else "non",
                    }
                    for w in bt["winters"]
                ],
            }
        )
    months = []
    for m in f["months"]:
        stamp = pd.Timestamp(m["month"] + "-01")
        months.append(
            {
                "month": f"{charts.MOIS_NOMS[stamp.month - 1]} {stamp.year}",
                "forecast": fr_num(m["forecast"]),
                "pi80": interval(m["lo80"], m["hi80"]),
                "pi95": interval(m["lo95"], m["hi95"]),
                "capacity": fr_num(m.get("capacity")),
            }
        )
    origin = pd.Timestamp(f["origin"] + "-01")
    return {
        "winter": f["winter"].replace("-", "–"),
        "origin": f"fin {charts.MOIS_NOMS[origin.month - 1]} {origin.year}",
        "family": f["model"]["family"],
        "draws": fr_num(f["draws"]),
        "point": fr_num(f["point"]),
        "lo80": fr_num(f["pi80"][0]),
        "hi80": fr_num(f["pi80"][1]),
        "lo95": fr_num(f["pi95"][0]),
        "hi95": fr_num(f["pi95"][1]),
        "capacity": fr_num(f.get("capacity")),
        "p_exceed": fr_pct(f.get("p_exceed"), 0),
        "shortfall": fr_num(f.get("expected_shortfall")),
        "months": months,
        "backtests": backtests,
        "total": {"point": f["point"], "lo80": f["pi80"][0], "hi80": f["pi80"][1]},
    }


def _linkage_quality_rows(linkage: dict[str, Any]) -> list[dict[str, str]]:
    """Quality of the linkage methods against the synthetic truth (empty on real data)."""
    quality = linkage.get("qualite") or {}
    if "modele" not in quality:
        return []
    methods = [("Modèle probabiliste (Splink)", quality["modele"])]
    refs = quality.get("references", {})
    if "regles_deterministes" in refs:
        methods.append(("Règles déterministes (première méthode)", refs["regles_deterministes"]))
    if "cle_exacte" in refs:
        methods.append(("Clé exacte (initiales, date de naissance, sexe)", refs["cle_exacte"]))
    rows = []
    for label, q in methods:
        named = q["identifies"]
        pairs, persons = named["paires_de_dossiers"], named["personnes"]
        rows.append(
            {
                "method": label,
                "precision": fr_num(pairs["precision"], 3),
                "recall": fr_num(pairs["rappel"], 3),
                "found": fr_num(persons["trouvees"]),
                "true": fr_num(persons["vraies"]),
                "gap": fr_pct(persons["ecart_relatif"], 1, signed=True),
            }
        )
    return rows


QUARANTINE_REASONS_SHORT = {
    "date_illisible": "date illisible",
    "date_manquante": "date absente",
    "date_hors_periode": "hors période",
    "nombre_illisible": "nombre illisible",
    "code_inconnu": "code inconnu",
    "identite_manquante": "identifiant absent",
    "ligne_total": "ligne de total",
    "ligne_dupliquee": "doublon",
    "fichier_en_double": "fichier en double",
    "periode_deja_couverte": "période renvoyée",
    "dates_incoherentes": "dates incohérentes",
    "nuitees_incoherentes": "nuitées incohérentes",
    "valeur_hors_plage": "hors plage",
}


def partners_unit(partners: dict, dispositif: str) -> str:
    units = sorted({p.row_unit for p in partners.values() if p.dispositif == dispositif})
    return ", ".join(units)


def _file_year(source_file: str) -> int | None:
    import re

    m = re.search(r"(\d{4})", source_file.rsplit("/", 1)[-1])
    return int(m.group(1)) if m else None


def published_tables(ctx: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The report's tables as data, with the same suppression as in the report: every table of
    the publication (person counts as published: « < k » and « s » included)."""
    tables, pub = ctx["_tables"], ctx["_pub"]
    names = {pid: p["name"] for pid, p in (ctx.get("_ind") or {}).get("partners", {}).items()}
    out: dict[str, pd.DataFrame] = {}
    for table in tables.tables:
        text = pub.text(table)
        label = INDEX_LABELS.get(table.name, "ligne")
        frame = text.reset_index(names=label)
        frame[label] = [_row_label(table.name, v, names) for v in frame[label]]
        frame.columns = [COLUMN_LABELS.get(str(c), str(c)) for c in frame.columns]
        out[table.name] = frame
    out["chiffres_hebergement_urgence"] = (
        pd.DataFrame(
            [
                {"indicateur": label, "valeur": value}
                for label, value in (
                    ("nuitées", ctx["shelter"]["nights"]),
                    ("nuitées offertes", ctx["shelter"]["capacity_nights"]),
                    ("taux d'occupation", ctx["shelter"]["occupancy"]),
                    ("refus faute de place", ctx["shelter"]["refusals"]),
                    ("nuits avec au moins un refus", ctx["shelter"]["refusal_nights"]),
                )
            ]
        )
        if ctx.get("shelter")
        else pd.DataFrame()
    )
    return {name: frame for name, frame in out.items() if len(frame)}


INDEX_LABELS = {
    "personnes_par_dispositif": "dispositif",
    "personnes_par_partenaire": "partenaire",
    "personnes_par_annee": "annee",
    "personnes_par_dispositif_et_annee": "dispositif",
    "personnes_par_age_et_sexe": "tranche_age",
    "personnes_par_nationalite": "nationalite",
    "sorties_par_motif": "dispositif",
    "flux_par_annee": "annee",
    "flux_par_dispositif": "dispositif",
    "nombre_de_dispositifs": "nombre_de_dispositifs",
    "combinaisons_de_dispositifs": "combinaison",
    "personnes_longue_duree": "jours_de_presence_sur_3_ans",
    "housing_first_maintien": "mois_apres_entree",
    "retours_apres_relogement": "mois_apres_sortie",
    "duree_dans_les_services": "dispositif",
}
COLUMN_LABELS = {
    "M": "hommes",
    "F": "femmes",
    SEX_UNKNOWN_OR_X: "sexe_inconnu_ou_X",
    "new": "nouveaux",
    "continuing": "continus",
    "returning": "de_retour",
    TOTAL: "total",
    **{code: label for code, label in chapters.EXIT_REASONS.items()},
}


def _row_label(table: str, value: Any, partner_names: dict[str, str] | None = None) -> str:
    text = str(value)
    if table == "personnes_par_partenaire" and partner_names and text in partner_names:
        return partner_names[text]
    if text in DISPOSITIFS:
        return DISPOSITIFS[text]
    if table == "personnes_par_nationalite":
        return NATIONALITY_GROUPS.get(text, text)
    if table == "personnes_par_age_et_sexe":
        return AGE_LABELS.get(text, text)
    if text == "reseau":
        return "Réseau (personnes distinctes)"
    return text


def write_tables_workbook(tables: dict[str, pd.DataFrame], ctx: dict[str, Any], path: Path) -> None:
    """One XLSX workbook for partners and authorities: a sheet per table and a notes sheet.

    Cells hold the published text (« < 5 » included), exactly as in the report and the CSVs.
    The workbook is byte-reproducible: its timestamps are pinned to the report's date.
    """
    import datetime as dt
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from observatoire.core.storage import atomic_write_bytes, pin_zip_times

    titles = {t.name: t.title for t in ctx["_tables"].tables}
    titles["chiffres_hebergement_urgence"] = "Hébergement d'urgence : nuitées, occupation, refus"
    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    lines = [
        f"{ctx['title']} — tableaux {ctx['year']}",
        ctx["organisation"],
        "",
        f"Secret statistique : aucun nombre de personnes entre 1 et {ctx['k'] - 1} n'est publié "
        f"(« < {ctx['k']} »). Une case « s » est masquée pour qu'aucune case « < {ctx['k']} » ne "
        "puisse être recalculée par différence (totaux, autres tableaux, tableaux de l'an "
        "dernier). Les totaux sont calculés sur les données complètes.",
        "Une personne aidée par plusieurs dispositifs est comptée dans chacun : la somme des "
        "dispositifs dépasse le total du réseau.",
        "Les personnes du travail de rue (initiales et âge estimé) ne sont pas reliées aux autres "
        "services : le total du réseau est un maximum.",
        f"Produit par observatoire {ctx['code_version']}.",
        "",
        "Feuilles :",
        *(f"  {name} : {titles.get(name, name)}" for name in tables),
    ]
    for row, text in enumerate(lines, start=1):
        notes.cell(row=row, column=1, value=text)
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 110
    for name, frame in tables.items():
        ws = wb.create_sheet(name[:31])
        ws.cell(row=1, column=1, value=titles.get(name, name)).font = Font(bold=True)
        for col, label in enumerate(frame.columns, start=1):
            ws.cell(row=3, column=col, value=str(label)).font = Font(bold=True)
            ws.column_dimensions[chr(64 + col)].width = max(14, len(str(label)) + 2)
        for r, values in enumerate(frame.itertuples(index=False), start=4):
            for col, value in enumerate(values, start=1):
                ws.cell(row=r, column=col, value=value)
    stamp = dt.datetime.fromisoformat(ctx["date"])
    wb.properties.creator = ctx["organisation"]
    wb.properties.created = stamp
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(path, pin_zip_times(buffer.getvalue(), stamp))


def build_annual_report(params: dict[str, Any], params_path: Path) -> None:
    from observatoire.reports.render import render_document

    year = int(params["report"]["year"])
    out_dir = Path("outputs/reports") / str(year)
    tables_dir = Path("outputs/tables") / str(year)
    ctx = report_context(params, params_path)
    ind_all = _read_json(Path("outputs/indicators") / str(year) / "indicateurs.json")
    template = report_template("observatoire.qmd.j2")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".observatoire.tmp-", dir=out_dir))
    try:
        with atomic_dir(tables_dir) as tdir:
            ctx["figures"] = _figures(
                tmp,
                _read_json(Path("outputs/indicators") / str(year) / "indicateurs.json"),
                year,
                ctx["k"],
                Path("outputs/indicators") / str(year),
                Path("outputs/trends") / str(year),
            )
            ctx["figures"].update(
                _chapter_figures(tmp / "figures", ind_all, ctx, Path("outputs/trends") / str(year))
            )
            ctx["logo"] = stage_logo(params, tmp / "figures")
            source = tmp / "observatoire.qmd"
            source.write_text(template.render(**ctx), encoding="utf-8")
            result = render_document(source, tmp)
            tables = published_tables(ctx)
            for name, frame in tables.items():
                write_csv(frame, tdir / f"{name}.csv")
            write_tables_workbook(tables, ctx, tdir / f"tableaux_{year}.xlsx")
            write_csv(ctx["_pub"].ledger(), tdir / "cases_publiees.csv")
            build_deck(ctx, tmp, tmp / "chiffres-cles.pptx")
            publish_members(
                tmp,
                out_dir,
                [
                    "observatoire.qmd",
                    "observatoire.html",
                    "observatoire.pdf",
                    "chiffres-cles.pptx",
                    "figures",
                ],
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"Rapport {year} : {out_dir}/observatoire.html et {out_dir}/observatoire.pdf "
        f"(moteur : {result.engine}) ; tableaux : {tables_dir}/"
    )


def build_deck(ctx: dict[str, Any], folder: Path, target: Path) -> Path:
    """The key-figures slide deck, from the same formatted numbers as the report."""
    import datetime as dt

    from observatoire.reports.slides import Slide, slides_markdown, write_deck

    year, figs = ctx["year"], ctx["figures"]
    slides = [
        Slide(
            f"Le réseau en {year}",
            [
                f"**{ctx['persons']}** personnes distinctes ({ctx['persons_change']} "
                f"par rapport à {year - 1})",
                f"**{ctx['contacts']}** contacts, passages, séjours et interventions",
                f"**{ctx['profile']['youth_share']}** de jeunes de 18 à 25 ans",
                f"{ctx['partners_reporting']} services partenaires ont transmis leurs données",
            ],
            image=figs.get("monthly"),
            image_alt="Personnes distinctes par mois et par dispositif",
        ),
        Slide(
            "Par dispositif",
            table="\n".join(
                ["| Dispositif | Personnes | Évolution |", "|:--|--:|--:|"]
                + [
                    f"| {d['label']} | {d['persons']} | {d['persons_change']} |"
                    for d in ctx["dispositifs"]
                ]
            ),
        ),
    ]
    if ctx.get("shelter"):
        sh = ctx["shelter"]
        slides.append(
            Slide(
                "Hébergement d'urgence",
                [
                    f"**{sh['nights']}** nuitées ({sh['nights_change']})",
                    f"Taux d'occupation **{sh['occupancy']}**",
                    f"**{sh['refusals']}** refus faute de place ({sh['refusals_change']})",
                ],
                image=figs.get("occupancy"),
                image_alt="Taux d'occupation et refus par mois",
            )
        )
    flows = ctx["flows"]
    if flows.get("calculable"):
        slides.append(
            Slide(
                "Nouveaux, continus, de retour",
                [
                    f"**{flows['new']}** nouvelles personnes ({flows['new_share']})",
                    f"**{flows['continuing']}** personnes suivies en continu",
                    f"**{flows['returning']}** personnes de retour",
                ],
                image=figs.get("flows"),
                image_alt="Personnes par statut de flux et par année",
            )
        )
    slides.append(
        Slide(
            "Parcours entre dispositifs",
            [
                f"**{ctx['pathways']['several_share']}** des personnes fréquentent plusieurs "
                "dispositifs"
            ],
            image=figs.get("upset"),
            image_alt="Combinaisons de dispositifs fréquentés",
        )
    )
    fc = ctx.get("forecast")
    if fc and fc.get("total"):
        slides.append(
            Slide(
                f"L'hiver prochain ({fc.get('winter', '')})",
                [
                    f"Demande attendue : **{fr_num(fc['total'].get('point'))}** nuitées",
                    f"Intervalle à 80 % : {fr_num(fc['total'].get('lo80'))} à "
                    f"{fr_num(fc['total'].get('hi80'))}",
                    f"Capacité : {fc['capacity']} nuitées ; probabilité de dépassement "
                    f"{fc['p_exceed']}",
                ],
                image=figs.get("forecast"),
                image_alt="Prévision de la demande de nuitées pour l'hiver prochain",
            )
        )
    slides.append(
        Slide(
            "Méthode",
            [
                "Exports des partenaires pseudonymisés dès la lecture ; personnes reliées "
                "entre services par un modèle probabiliste",
                f"Aucun nombre de personnes entre 1 et {ctx['k'] - 1} n'est publié",
                "Rapport complet, tableaux et carnets : outputs/ du dépôt de l'observatoire",
            ],
        )
    )
    day = dt.date.fromisoformat(ctx["date"])
    markdown = slides_markdown(
        f"{ctx['title']} — chiffres clés {year}",
        f"Données {year}, présentées aux instances du Relais social",
        ctx["organisation"],
        f"{day.day} {MOIS_NOMS[day.month - 1]} {day.year}",
        slides,
    )
    return write_deck(
        markdown,
        folder,
        target,
        primary=ctx["colour_primary"],
        secondary=ctx["colour_secondary"],
        date=dt.date.fromisoformat(ctx["date"]),
    )


def print_summary(params: dict[str, Any]) -> None:
    """What the pipeline produced and where (the end of `make run`)."""
    year = params["report"]["year"]
    items = [
        ("Données propres", "data_clean/contacts.parquet, data_clean/persons.parquet"),
        ("Quarantaine (lignes écartées, hors git)", params["ingest"]["quarantine_dir"] + "/"),
        ("Comptage des lignes par fichier", "outputs/metrics/rows.json"),
        ("Rapport de validation (Data Docs)", "outputs/validation/index.html"),
        ("Carnets exécutés", "outputs/notebooks/*.html"),
        ("Rapport annuel", f"outputs/reports/{year}/observatoire.html et .pdf"),
        ("Tableaux publiés", f"outputs/tables/{year}/"),
    ]
    print("\nProduit par le pipeline :")
    for label, path in items:
        exists = all(Path(p.strip().split(" ")[0]).exists() or "*" in p for p in path.split(","))
        print(f"  {'✓' if exists else '✗'} {label} : {path}")
