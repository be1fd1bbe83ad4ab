"""The annual observatory report: figures from the package, text in French, Quarto source.

The report stage reads what the indicators and trends notebooks computed, draws the charts in the
house style, applies disclosure control to every person count, fills the Quarto template
``assets/reports/observatoire.qmd.j2`` and renders the resulting ``observatoire.qmd`` to HTML and
PDF (Quarto if installed, pandoc + Typst otherwise). No number is typed by hand in the template.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from observatoire import __version__, charts
from observatoire.disclosure import publish_count, suppress_series
from observatoire.mapping import load_partners
from observatoire.schema import AGE_BANDS, DISPOSITIFS, QUARANTINE_REASONS
from observatoire.storage import atomic_dir, publish_members, write_csv

MONTHS_FR = list(charts.MOIS_ABREGES)


MIN_MONTHLY_ROWS_FOR_GAP = 20
LINKAGE_DIR = Path("outputs/linkage")


def fr_num(x: float | int | None, decimals: int = 0) -> str:
    return charts.french_number(x, decimals)


def fr_pct(x: float | None, decimals: int = 1, signed: bool = False) -> str:
    """A share or a relative change given as a fraction (0.061) → « 6,1 % »."""
    if x is None or x != x:
        return "–"
    return charts.french_percent(100 * x, decimals, signed=signed)


def change(current: float, previous: float) -> str:
    """Relative change, signed, in French: « +6,1 % »; « – » without a previous value."""
    if not previous:
        return "–"
    return fr_pct(current / previous - 1, 1, signed=True)


def code_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        return f"{__version__} (commit {commit})"
    except (OSError, subprocess.CalledProcessError):
        return __version__


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


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

    net = ind["network"]
    network_range = linkage.get("fourchette_reseau", {}).get(str(year), {})
    dispositifs = []
    for code, d in ind["dispositifs"].items():
        dispositifs.append(
            {
                "code": code,
                "label": d["label"],
                "persons": publish_count(d["persons"], k),
                "persons_prev": publish_count(d["persons_prev"], k),
                "persons_change": change(d["persons"], d["persons_prev"])
                if d["persons"] >= k and d["persons_prev"] >= k
                else "–",
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
        }
    sex = ind["profile"]["sex"]
    persons = net["persons"]
    profile = {
        "women": publish_count(sex.get("F", 0), k),
        "women_share": fr_pct(sex.get("F", 0) / persons) if persons else "–",
        "men_share": fr_pct(sex.get("M", 0) / persons) if persons else "–",
        "unknown_sex_share": fr_pct(sex.get("INCONNU", 0) / persons) if persons else "–",
        "youth": publish_count(ind["profile"]["youth_18_25"], k),
        "youth_share": fr_pct(ind["profile"]["youth_share"]),
        "age_estimated": publish_count(ind["profile"]["age_estimated_persons"], k),
    }
    age_rows = []
    table = pd.DataFrame(ind["profile"]["age_sex"]).pivot(
        index="age_band", columns="sex", values="persons"
    )
    for band, _, _ in AGE_BANDS:
        m, f = int(table.loc[band, "M"]), int(table.loc[band, "F"])
        age_rows.append(
            {
                "band": band.replace("-", "–"),
                "men": publish_count(m, k),
                "women": publish_count(f, k),
                "total": publish_count(m + f, k),
            }
        )

    yearly = [
        {"year": r["year"], "persons": publish_count(r["persons"], k)}
        for r in ind["yearly_persons"]
        if r["year"] <= year
    ]
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
        "persons": publish_count(persons, k),
        "persons_prev": publish_count(net["persons_prev"], k),
        "persons_identified": publish_count(net["persons_identified"], k),
        "persons_street_work": publish_count(net["persons_street_work"], k),
        "persons_change": change(persons, net["persons_prev"]),
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
    """The report's tables as data, with the same suppression as in the report."""
    return {
        "personnes_par_dispositif": pd.DataFrame(
            [
                {
                    "dispositif": d["label"],
                    f"personnes_{ctx['year']}": d["persons"],
                    f"personnes_{ctx['year'] - 1}": d["persons_prev"],
                    "evolution": d["persons_change"],
                    f"contacts_{ctx['year']}": d["contacts"],
                }
                for d in ctx["dispositifs"]
            ]
        ),
        "personnes_par_age_et_sexe": pd.DataFrame(
            [
                {
                    "tranche_age": r["band"],
                    "hommes": r["men"],
                    "femmes": r["women"],
                    "total": r["total"],
                }
                for r in ctx["age_rows"]
            ]
        ),
        "personnes_par_annee": pd.DataFrame(
            [{"annee": r["year"], "personnes_distinctes": r["persons"]} for r in ctx["yearly"]]
        ),
    }


TABLE_TITLES = {
    "personnes_par_dispositif": "Personnes distinctes et contacts par dispositif",
    "personnes_par_age_et_sexe": "Personnes aidées par tranche d'âge et sexe",
    "personnes_par_annee": "Personnes distinctes aidées par le réseau, par année",
}


def write_tables_workbook(tables: dict[str, pd.DataFrame], ctx: dict[str, Any], path: Path) -> None:
    """One XLSX workbook for partners and authorities: a sheet per table and a notes sheet.

    Cells hold the published text (« < 5 » included), exactly as in the report and the CSVs.
    The workbook is byte-reproducible: its timestamps are pinned to the report's date.
    """
    import datetime as dt
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from observatoire.storage import atomic_write_bytes, pin_zip_times

    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    lines = [
        f"{ctx['title']} — tableaux {ctx['year']}",
        ctx["organisation"],
        "",
        f"Secret statistique : aucun nombre de personnes entre 1 et {ctx['k'] - 1} n'est publié "
        f"(« < {ctx['k']} »). Les totaux et pourcentages sont calculés sur les données complètes.",
        "Une personne aidée par plusieurs dispositifs est comptée dans chacun : la somme des "
        "dispositifs dépasse le total du réseau.",
        "Les personnes du travail de rue (initiales et âge estimé) ne sont pas reliées aux autres "
        "services : le total du réseau est un maximum.",
        f"Produit par observatoire {ctx['code_version']}.",
        "",
        "Feuilles :",
        *(f"  {name} : {TABLE_TITLES.get(name, name)}" for name in tables),
    ]
    for row, text in enumerate(lines, start=1):
        notes.cell(row=row, column=1, value=text)
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 110
    for name, frame in tables.items():
        ws = wb.create_sheet(name[:31])
        ws.cell(row=1, column=1, value=TABLE_TITLES.get(name, name)).font = Font(bold=True)
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


def report_template(name: str) -> jinja2.Template:
    """A report template of ``assets/reports``; ``{## ##}`` comments leave Quarto's ``{#…}``
    attributes alone, and an undefined name is an error rather than an empty string."""
    text = (resources.files("observatoire") / "assets" / "reports" / name).read_text(
        encoding="utf-8"
    )
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        comment_start_string="{##",
        comment_end_string="##}",
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.from_string(text)


def build_annual_report(params: dict[str, Any], params_path: Path) -> None:
    from observatoire.render import render_document

    year = int(params["report"]["year"])
    out_dir = Path("outputs/reports") / str(year)
    tables_dir = Path("outputs/tables") / str(year)
    ctx = report_context(params, params_path)
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
            source = tmp / "observatoire.qmd"
            source.write_text(template.render(**ctx), encoding="utf-8")
            result = render_document(source, tmp)
            tables = published_tables(ctx)
            for name, frame in tables.items():
                write_csv(frame, tdir / f"{name}.csv")
            write_tables_workbook(tables, ctx, tdir / f"tableaux_{year}.xlsx")
            publish_members(
                tmp,
                out_dir,
                ["observatoire.qmd", "observatoire.html", "observatoire.pdf", "figures"],
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"Rapport {year} : {out_dir}/observatoire.html et {out_dir}/observatoire.pdf "
        f"(moteur : {result.engine}) ; tableaux : {tables_dir}/"
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
