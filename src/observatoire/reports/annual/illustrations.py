"""Which charts the annual report holds, drawn from which published numbers, into which file.

:mod:`observatoire.reports.annual.figures` and :mod:`observatoire.reports.charts` say how a chart
looks; this module says what goes in it. A person count is drawn only as published: masked cells
are NaN (not drawn) or, in the exits chart, gathered in one « masked » bar, so a chart reveals no
more than the tables. :func:`draw_figures` returns the figures' paths relative to the report
source, by the name the template prints them with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.schema import EXIT_REASONS
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.publication import (
    TOTAL,
    Tables,
    key,
    pathway,
    pathway_label,
    published_cells,
)
from observatoire.disclosure.suppression import CountTable, Publication
from observatoire.indicators.pathways import published_combination
from observatoire.reports import charts
from observatoire.reports.annual import figures as annual_charts
from observatoire.reports.annual.context import LINKAGE_DIR, MONTHS_FR, ReportData

__all__ = [
    "monthly_cells",
    "table_cells",
    "pyramid_cells",
    "write_figure_cells",
    "StlComponents",
    "chapter_figures",
    "combinations_figure",
    "draw_figures",
    "drawn",
    "exits_figure",
    "flows_figure",
    "occupancy_figure",
    "persons_by_year_figures",
    "report_figures",
    "retention_figure",
    "trend_figures",
]

NAN = float("nan")


def draw_figures(out: Path, data: ReportData, retention: list[dict[str, Any]]) -> dict[str, str]:
    """Draw every chart of the report in ``out/figures``; returns their relative paths."""
    charts.apply_house_style()
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    paths = report_figures(
        fig_dir, data.ind, data.pub, data.year, data.k, data.ind_dir, data.trend_dir
    )
    paths.update(
        chapter_figures(
            fig_dir, data.ind, data.pub, data.tables, retention, data.trend_dir, data.trend
        )
    )
    return paths


def pyramid_cells(pub: Publication, ind: dict[str, Any]) -> pd.DataFrame:
    """The pyramid's bars: the men and women of each age band of the age × sex table, with the
    masks of that table (a bar never shows a cell the table hides)."""
    year = int(ind["year"])
    bands = list(dict.fromkeys(r["age_band"] for r in ind["profile"]["age_sex"]))
    cells = pd.DataFrame(
        [
            {"age_band": b, "sex": s, "key": key(year, f"age={b}", f"sexe={s}")}
            for b in bands
            for s in ("M", "F")
        ]
    )
    return published_cells(pub, cells)


def monthly_cells(pub: Publication, ind_dir: Path, year: int) -> pd.DataFrame:
    """The monthly chart's points: persons per month and dispositif as the table
    ``personnes_par_mois`` publishes them (a month of 1 to k − 1 persons is a gap)."""
    frame = pd.read_csv(ind_dir / "personnes_par_mois.csv", parse_dates=["month"])
    frame = frame[frame["month"].dt.year <= year]
    frame["key"] = [
        key(m.year, f"mois={m:%Y-%m}", f"dispositif={d}")
        for m, d in zip(frame["month"], frame["dispositif"], strict=True)
    ]
    return published_cells(pub, frame[["month", "dispositif", "key"]])


def write_figure_cells(cells: pd.DataFrame, path: Path) -> None:
    """Beside a figure, the values it prints as data: its published cells (masks included)
    with their ledger keys; never a hidden value."""
    out = cells.drop(columns=["persons"])
    out["value"] = cells["persons"].round().astype("Int64")  # empty where the figure shows a mask
    write_safe_csv(out, path, quote_all=False)


def report_figures(
    fig_dir: Path,
    ind: dict[str, Any],
    pub: Publication,
    year: int,
    k: int,
    ind_dir: Path,
    trend_dir: Path,
) -> dict[str, str]:
    """The charts of the network (pyramid, monthly series, trend, coverage, linkage, STL)."""
    paths: dict[str, str] = {}

    pyramid = pyramid_cells(pub, ind)
    charts.save_figure(charts.age_sex_pyramid(pyramid), fig_dir / "pyramide.png")
    write_figure_cells(pyramid, fig_dir / "pyramide.csv")
    paths["pyramid"] = "figures/pyramide.png"

    monthly = monthly_cells(pub, ind_dir, year)
    write_figure_cells(monthly, fig_dir / "mensuel_dispositifs.csv")
    fig = charts.monthly_series(
        monthly, value="persons", hue="dispositif", ylabel="Personnes distinctes par mois"
    )
    charts.save_figure(fig, fig_dir / "mensuel_dispositifs.png")
    paths["monthly"] = "figures/mensuel_dispositifs.png"

    nights_m = pd.read_csv(ind_dir / "nuitees_par_mois.csv")
    nights_m["month"] = pd.to_datetime(nights_m["month"])
    nights_m = nights_m[nights_m["month"].dt.year <= year]
    if nights_m["nights"].gt(0).any():  # no shelter in the network: no empty chart
        fig = charts.monthly_series(nights_m, value="nights", hue=None, ylabel="Nuitées par mois")
        charts.save_figure(fig, fig_dir / "nuitees_mensuelles.png")
        paths["nights"] = "figures/nuitees_mensuelles.png"

    # The trends stage writes no table for a model it could not fit (reason in tendances.json).
    if (trend_dir / "tendance_reseau.csv").exists():
        observed = pd.DataFrame(ind["yearly_persons"]).rename(columns={"persons": "value"})
        observed = observed[observed["year"] <= year]
        fitted = pd.read_csv(trend_dir / "tendance_reseau.csv")
        fig = charts.yearly_trend(observed, fitted, ylabel="Personnes distinctes (réseau)")
        charts.save_figure(fig, fig_dir / "tendance_annuelle.png")
        paths["trend"] = "figures/tendance_annuelle.png"

    cov = pd.DataFrame(ind["coverage"]).T
    cov.columns = MONTHS_FR
    cov.index = [ind["partners"][p]["name"] for p in cov.index]
    charts.save_figure(charts.coverage_heatmap(cov, small_below=k), fig_dir / "couverture.png")
    paths["coverage"] = "figures/couverture.png"

    sensitivity = pd.read_csv(LINKAGE_DIR / "sensibilite_au_seuil.csv", dtype={"periode": str})
    sensitivity = sensitivity[sensitivity["periode"] == str(year)]
    chosen = float(sensitivity.loc[sensitivity["seuil_retenu"], "seuil"].iloc[0])
    charts.save_figure(charts.threshold_sensitivity(sensitivity, chosen), fig_dir / "seuil.png")
    paths["sensitivity"] = "figures/seuil.png"

    if (trend_dir / "stl_reseau.csv").exists():
        stl = pd.read_csv(trend_dir / "stl_reseau.csv", parse_dates=["month"])
        stl = stl.set_index("month")
        charts.save_figure(
            charts.stl_decomposition(StlComponents(stl), ylabel="Personnes distinctes"),
            fig_dir / "stl.png",
        )
        paths["stl"] = "figures/stl.png"
    return paths


class StlComponents:
    """The STL components as saved by the trends notebook, shaped like statsmodels' result."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.observed = frame["observed"]
        self.trend = frame["trend"]
        self.seasonal = frame["seasonal"]
        self.resid = frame["resid"]


def chapter_figures(
    fig_dir: Path,
    ind: dict[str, Any],
    pub: Publication,
    tables: Tables,
    retention: list[dict[str, Any]],
    trend_dir: Path,
    trend: dict[str, Any],
) -> dict[str, str]:
    """The charts of the chapters, drawn from published (masked) numbers only; ``retention`` is
    the Housing First rows of the dispositifs' chapter (shares of masked rows are None)."""
    paths = persons_by_year_figures(fig_dir, pub, tables)
    paths |= occupancy_figure(fig_dir, ind)
    paths |= flows_figure(fig_dir, pub, tables)
    paths |= combinations_figure(fig_dir, ind, pub, tables)
    paths |= exits_figure(fig_dir, pub, tables)
    paths |= retention_figure(fig_dir, retention)
    paths |= trend_figures(fig_dir, trend_dir, trend)
    return paths


def table_cells(
    pub: Publication,
    table: CountTable,
    rows: list[Any] | None = None,
    columns: list[Any] | None = None,
) -> pd.DataFrame:
    """The published cells of a table's ``rows`` × ``columns`` (all by default), as a chart of
    them prints them: for the CSV written beside the chart."""
    rows = list(table.keys.index) if rows is None else rows
    columns = list(table.keys.columns) if columns is None else columns
    cells = pd.DataFrame(
        [
            {"ligne": str(r), "colonne": str(c), "key": table.keys.loc[r, c]}
            for r in rows
            for c in columns
            if table.keys.loc[r, c] is not None
        ]
    )
    return published_cells(pub, cells)


def drawn(pub: Publication, table: CountTable, row: Any, column: Any, masked: float) -> Any:
    """A cell's value as a chart draws it: ``masked`` if the publication masks it."""
    return masked if pub.hidden(table.keys.loc[row, column]) else table.values.loc[row, column]


def persons_by_year_figures(fig_dir: Path, pub: Publication, tables: Tables) -> dict[str, str]:
    """One bar chart of persons per year for each dispositif."""
    if not tables.has("personnes_par_dispositif_et_annee"):
        return {}
    t = tables.get("personnes_par_dispositif_et_annee")
    paths: dict[str, str] = {}
    for code in t.values.index:
        frame = pd.DataFrame(
            {
                "year": [int(c) for c in t.values.columns],
                "persons": [drawn(pub, t, code, c, NAN) for c in t.values.columns],
            }
        )
        name = f"personnes_{code}.png"
        charts.save_figure(annual_charts.persons_by_year(frame, code), fig_dir / name)
        write_figure_cells(table_cells(pub, t, rows=[code]), fig_dir / f"personnes_{code}.csv")
        paths[f"persons_{code}"] = f"figures/{name}"
    return paths


def occupancy_figure(fig_dir: Path, ind: dict[str, Any]) -> dict[str, str]:
    """The night shelter's occupancy and refusals per month (not person counts)."""
    occ = pd.DataFrame(ind.get("occupancy_monthly") or [])
    if not len(occ):
        return {}
    charts.save_figure(annual_charts.occupancy_by_month(occ), fig_dir / "occupation.png")
    return {"occupancy": "figures/occupation.png"}


def flows_figure(fig_dir: Path, pub: Publication, tables: Tables) -> dict[str, str]:
    """New, continuing and returning persons per year."""
    if not tables.has("flux_par_annee"):
        return {}
    t = tables.get("flux_par_annee")
    frame = t.values.copy()
    for c in ("new", "continuing", "returning"):
        frame[c] = [drawn(pub, t, i, c, NAN) for i in frame.index]
    frame = frame.reset_index(names="year")
    charts.save_figure(annual_charts.flows_by_year(frame), fig_dir / "flux.png")
    flows = ["new", "continuing", "returning"]
    write_figure_cells(table_cells(pub, t, columns=flows), fig_dir / "flux.csv")
    return {"flows": "figures/flux.png"}


def combinations_figure(
    fig_dir: Path, ind: dict[str, Any], pub: Publication, tables: Tables
) -> dict[str, str]:
    """The UpSet chart of the pathways table (a long stay shows only in its own column: the
    persons who had one besides other services are in the column of those services)."""
    if not tables.has("combinaisons_de_dispositifs"):
        return {}
    t = tables.get("combinaisons_de_dispositifs")
    rows_of = [pathway(c["combination"]) for c in ind["pathways"]["combinations"]]
    combos = {pathway_label(c): c for c in rows_of}
    rows = [i for i in t.values.index if i != TOTAL]
    frame = pd.DataFrame(
        {
            "combination": [combos.get(i, ()) for i in rows],
            "persons": [drawn(pub, t, i, "personnes", NAN) for i in rows],
        }
    )
    used = [
        d
        for d in published_combination(list(DISPOSITIFS))
        if any(d in c for c in frame["combination"])
    ]
    charts.save_figure(annual_charts.combinations_upset(frame, used), fig_dir / "combinaisons.png")
    write_figure_cells(table_cells(pub, t, rows=rows), fig_dir / "combinaisons.csv")
    return {"upset": "figures/combinaisons.png"}


def exits_figure(fig_dir: Path, pub: Publication, tables: Tables) -> dict[str, str]:
    """Exits by reason per dispositif; masked cells are drawn together, so the chart reveals no
    more than the table."""
    if not tables.has("sorties_par_motif"):
        return {}
    t = tables.get("sorties_par_motif")
    reasons = [c for c in t.values.columns if c != TOTAL]
    frame = pd.DataFrame(index=t.values.index)
    for r in reasons:
        frame[r] = [drawn(pub, t, i, r, 0.0) for i in frame.index]
    frame["masque"] = t.values[TOTAL] - frame.sum(axis=1)
    frame = frame.loc[:, frame.sum() > 0]
    labels = dict(EXIT_REASONS) | {"masque": "Cases masquées"}
    charts.save_figure(annual_charts.exit_reasons(frame, labels), fig_dir / "sorties.png")
    write_figure_cells(table_cells(pub, t), fig_dir / "sorties.csv")
    return {"exits": "figures/sorties.png"}


def retention_figure(fig_dir: Path, retention: list[dict[str, Any]]) -> dict[str, str]:
    """Housing First: share still housed at 12 and 24 months, with its interval."""
    if not retention:
        return {}
    frame = pd.DataFrame(
        {
            "label": [f"{r['months']} mois" for r in retention],
            "share": [r["share_value"] for r in retention],
            "lower": [r["lower"] for r in retention],
            "upper": [r["upper"] for r in retention],
        }
    ).astype({"share": float, "lower": float, "upper": float})
    charts.save_figure(annual_charts.retention(frame), fig_dir / "maintien.png")
    return {"retention": "figures/maintien.png"}


def trend_figures(fig_dir: Path, trend_dir: Path, trend: dict[str, Any]) -> dict[str, str]:
    """Charts of the per-dispositif models and of next winter's forecast (trends stage:
    ``trend`` is its ``tendances.json``, ``trend_dir`` holds its series)."""
    paths: dict[str, str] = {}
    forecast_csv = trend_dir / "prevision_hiver.csv"
    if trend.get("forecast") and forecast_csv.exists():
        forecast = pd.read_csv(forecast_csv, parse_dates=["month"])
        history = pd.read_csv(trend_dir / "demande_abri_mensuelle.csv", parse_dates=["month"])
        capacity = forecast.set_index("month")["capacity"]
        fig = charts.winter_forecast(history, forecast, capacity)
        charts.save_figure(fig, fig_dir / "prevision_hiver.png")
        paths["forecast"] = "figures/prevision_hiver.png"
    yoy = trend.get("yoy_by_dispositif") or {}
    # A dispositif hit by left truncation has no interpretable change: not drawn.
    rows = [
        {"dispositif": c, **v}
        for c, v in yoy.items()
        if v and "rate_ratio" in v and not v.get("truncated")
    ]
    if rows:
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
