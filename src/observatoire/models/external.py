"""The trend models and the winter forecast on any monthly series an analyst brings.

A partner's aggregate return (meals served, showers, nights occupied), a regional count or a
series from another observatory is one CSV of two columns: the month and the value. The same
methods as the network's series apply (:mod:`observatoire.models.trends`,
:mod:`observatoire.models.forecast`):

* the **monthly model** — log-linear trend (annual rate ratio at equal season, 95 % CI) plus one
  effect per calendar month, Poisson or negative binomial by the overdispersion test, intervals
  allowing correlated successive months, Ljung–Box on the residuals;
* the **STL decomposition** (trend, seasonal part, residual);
* the **yearly trend** of the totals of complete calendar years (quasi-Poisson, Student
  intervals), when there are at least three;
* optionally the **forecast** of the coming winter (the winter plan starting in November of the
  year after the last month, as the report's), by the two count models with simulated 80 % and
  95 % prediction intervals, chosen and scored by the rolling-origin back-test against the naive
  benchmarks « comme l'hiver dernier » and « naïf saisonnier » (the capacity-capped one needs a
  capacity, which an outside series has not).

:func:`read_monthly_series` checks the file and explains in French what is wrong (missing
column, dates that are not months, duplicated or missing months, negative values, too short a
series, with the minimum); :func:`analyse_series` fits; :func:`write_series_results` writes
``tendance.json``, the CSV tables and ``resume.md`` (the charts are drawn by the caller, which
may import the reports' chart module).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import ReportSettings
from observatoire.core.errors import ObservatoireError
from observatoire.core.formatting import french_number
from observatoire.core.storage import write_csv, write_json
from observatoire.models import forecast, trends
from observatoire.models import not_computed as reasons
from observatoire.models.contract import ForecastRecord, MonthlyRecord, TrendRecord
from observatoire.models.forecast import WinterOutlook
from observatoire.models.trends import MonthlyModelResult, TrendResult

if TYPE_CHECKING:
    from statsmodels.tsa.seasonal import DecomposeResult

__all__ = [
    "MONTH_COLUMNS",
    "VALUE_COLUMNS",
    "SeriesAnalysis",
    "SeriesFileError",
    "analyse_file",
    "analyse_series",
    "read_monthly_series",
    "series_name",
    "series_summary",
    "write_series_results",
]

MONTH_COLUMNS = ("month", "mois")
"""Accepted names of the month column (case-insensitive)."""
VALUE_COLUMNS = ("value", "valeur")
"""Accepted names of the value column (case-insensitive)."""
RESULTS_FILE = "tendance.json"
SUMMARY_FILE = "resume.md"


class SeriesFileError(ObservatoireError):
    """An outside series file that cannot be analysed (French message, exit code 2)."""


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _months(raw: pd.Series, path: Path) -> pd.Series:
    """Month starts of ``raw`` (« AAAA-MM » or « AAAA-MM-01 »); a French error otherwise."""
    text = raw.astype(str).str.strip()
    stamps = pd.to_datetime(text, format="%Y-%m", errors="coerce")
    full = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    stamps = stamps.fillna(full)
    bad = text[stamps.isna()]
    if len(bad):
        raise SeriesFileError(
            f"{path} : date(s) illisible(s) dans la colonne des mois, par exemple « "
            f"{bad.iloc[0]} » (ligne {bad.index[0] + 2}). Attendu : un mois par ligne, écrit "
            "AAAA-MM (2024-01) ou AAAA-MM-01."
        )
    not_first = stamps[stamps.dt.day != 1]
    if len(not_first):
        raise SeriesFileError(
            f"{path} : les dates ne sont pas mensuelles (« {text[not_first.index[0]]} », ligne "
            f"{not_first.index[0] + 2}, n'est pas un premier du mois). Une série mensuelle a "
            "une ligne par mois, datée AAAA-MM ou AAAA-MM-01 ; agrégez d'abord les données "
            "journalières par mois."
        )
    return stamps


def read_monthly_series(path: Path, min_months: int = reasons.MIN_MONTHS) -> pd.DataFrame:
    """``month`` (month starts, sorted) and ``value`` (non-negative numbers) of the CSV at
    ``path`` (separator « , » or « ; »; columns ``month``/``mois`` and ``value``/``valeur``).

    Refused with a French :class:`SeriesFileError` (exit code 2): an unreadable file, a missing
    column, a date that is not a month, a month given twice or missing between the first and the
    last, a value that is empty, not a number or negative, fewer than ``min_months`` months.
    """
    path = Path(path)
    if not path.is_file():
        raise SeriesFileError(f"{path} : fichier introuvable.")
    try:
        frame = pd.read_csv(path, sep=None, engine="python", dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SeriesFileError(f"{path} : fichier CSV illisible ({exc}).") from None
    month_col = _find(list(frame.columns), MONTH_COLUMNS)
    value_col = _find(list(frame.columns), VALUE_COLUMNS)
    missing = [
        f"« {names[0]} » (ou « {names[1]} »)"
        for names, col in ((MONTH_COLUMNS, month_col), (VALUE_COLUMNS, value_col))
        if col is None
    ]
    if missing:
        found = ", ".join(f"« {c} »" for c in frame.columns) or "aucune"
        raise SeriesFileError(
            f"{path} : colonne(s) manquante(s) {' et '.join(missing)} ; colonnes trouvées : "
            f"{found}. Le fichier attendu a deux colonnes : le mois (AAAA-MM) et la valeur."
        )
    months = _months(frame[month_col], path)
    values = pd.to_numeric(frame[value_col].str.strip().str.replace(",", "."), errors="coerce")
    bad = values[values.isna() | (values < 0)]
    if len(bad):
        i = bad.index[0]
        raise SeriesFileError(
            f"{path} : valeur vide, illisible ou négative à la ligne {i + 2} (« "
            f"{frame[value_col][i]} ») ; les modèles de comptage demandent des nombres positifs "
            "ou nuls pour chaque mois."
        )
    series = pd.DataFrame({"month": months, "value": values.astype(float)})
    twice = series["month"][series["month"].duplicated()]
    if len(twice):
        raise SeriesFileError(
            f"{path} : le mois {twice.iloc[0].strftime('%Y-%m')} apparaît plusieurs fois ; une "
            "seule ligne par mois est attendue."
        )
    series = series.sort_values("month").reset_index(drop=True)
    grid = pd.date_range(series["month"].iloc[0], series["month"].iloc[-1], freq="MS")
    gaps = grid.difference(pd.DatetimeIndex(series["month"]))
    if len(gaps):
        shown = ", ".join(m.strftime("%Y-%m") for m in gaps[:5])
        raise SeriesFileError(
            f"{path} : {len(gaps)} mois manquant(s) entre le premier et le dernier ({shown}"
            f"{'…' if len(gaps) > 5 else ''}) ; un mois sans activité s'écrit avec la valeur 0."
        )
    if len(series) < min_months:
        raise SeriesFileError(
            f"{path} : série trop courte, {len(series)} mois ; il en faut au moins {min_months} "
            "(deux cycles saisonniers) pour séparer la tendance de la saison."
        )
    if not series["value"].gt(0).any():
        raise SeriesFileError(f"{path} : toutes les valeurs sont nulles ; rien à modéliser.")
    return series


@dataclass(frozen=True)
class SeriesAnalysis:
    """The models of one outside series; a model not computed is None, its reason under the
    same key as the trends stage's (:data:`observatoire.models.not_computed.LABELS`)."""

    name: str
    label: str
    series: pd.DataFrame
    monthly_model: MonthlyModelResult | None
    stl: DecomposeResult | None
    yearly: pd.Series
    yearly_trend: TrendResult | None
    outlook: WinterOutlook | None
    not_computed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``tendance.json``: what was fitted, in the trends stage's record shapes."""

        def clean(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [clean(v) for v in value]
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value

        m = self.monthly_model
        return clean(
            {
                "serie": self.name,
                "libelle": self.label,
                "premier_mois": self.series["month"].iloc[0].strftime("%Y-%m"),
                "dernier_mois": self.series["month"].iloc[-1].strftime("%Y-%m"),
                "mois": len(self.series),
                "modele_mensuel": None
                if m is None
                else {
                    **MonthlyRecord.of(m).__dict__,
                    "p_value": m.p_value,
                    "interpretation": m.interpretation,
                    "notes": list(m.notes),
                },
                "totaux_annuels": {str(y): float(v) for y, v in self.yearly.items()},
                "tendance_annuelle": None
                if self.yearly_trend is None
                else TrendRecord.of(self.yearly_trend).__dict__,
                "prevision": None
                if self.outlook is None
                else ForecastRecord.of(self.outlook).to_json(),
                "non_calcule": dict(self.not_computed),
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV tables by file name (without ``.csv``)."""
        out = {"serie": self.series.rename(columns={"value": self.label})}
        if self.monthly_model is not None:
            out["ajustement_mensuel"] = self.monthly_model.fitted
        if self.stl is not None:
            out["stl"] = pd.DataFrame(
                {
                    "month": self.series["month"],
                    "observed": self.stl.observed.to_numpy(),
                    "trend": self.stl.trend.to_numpy(),
                    "seasonal": self.stl.seasonal.to_numpy(),
                    "resid": self.stl.resid.to_numpy(),
                }
            )
        if self.yearly_trend is not None:
            out["tendance_annuelle"] = self.yearly_trend.fitted
        if self.outlook is not None:
            fc = self.outlook.forecast
            out["prevision"] = fc.months[["month", "forecast", "lo80", "hi80", "lo95", "hi95"]]
            out["backtest_resume"] = self.outlook.backtest.summary()
        return out


def _complete_years(series: pd.DataFrame) -> pd.Series:
    """Totals of the calendar years whose twelve months are in the series."""
    years = series.groupby(series["month"].dt.year)["value"].agg(["sum", "size"])
    return years.loc[years["size"] == 12, "sum"].rename("value")


def analyse_series(
    series: pd.DataFrame,
    name: str,
    label: str = "valeurs",
    with_forecast: bool = False,
    winter: tuple[str, str] = forecast.DEFAULT_WINTER,
    draws: int = forecast.DEFAULT_DRAWS,
    seed: int = forecast.DEFAULT_SEED,
    min_history: int = forecast.MIN_HISTORY,
) -> SeriesAnalysis:
    """The trend models of ``series`` (from :func:`read_monthly_series`) and, with
    ``with_forecast``, the coming winter's forecast; ``label`` names the values in the French
    sentences (« repas servis »)."""
    frame = series.rename(columns={"value": label})
    skipped: dict[str, str] = {}
    model = stl = None
    reason = reasons.monthly_series_reason(frame, label, reasons.LABELS[reasons.MONTHLY_MODEL])
    if reason is None:
        model = trends.fit_monthly_model(frame, value=label)
    else:
        skipped[reasons.MONTHLY_MODEL] = reason
    reason = reasons.monthly_series_reason(
        frame, label, reasons.LABELS[reasons.STL_NETWORK], complete=True
    )
    if reason is None:
        stl = trends.stl(frame, value=label)
    else:
        skipped[reasons.STL_NETWORK] = reason
    yearly = _complete_years(series)
    yearly_trend = None
    reason = reasons.yearly_trend_reason(yearly, "des totaux annuels")
    if reason is None:
        yearly_trend = trends.fit_yearly_trend(yearly)
    else:
        skipped[reasons.NETWORK_TREND] = reason
    outlook = None
    if with_forecast:
        try:
            outlook = forecast.winter_outlook(
                frame, capacity=None, winter=winter, value=label, draws=draws, seed=seed,
                min_history=min_history,
            )  # fmt: skip
        except ValueError as exc:
            skipped[reasons.FORECAST] = reasons.forecast_failed_reason(exc, min_history)
    return SeriesAnalysis(
        name=name,
        label=label,
        series=series,
        monthly_model=model,
        stl=stl,
        yearly=yearly,
        yearly_trend=yearly_trend,
        outlook=outlook,
        not_computed=skipped,
    )


def series_summary(analysis: SeriesAnalysis) -> str:
    """The French summary (Markdown) of :func:`analyse_series`' results."""
    s = analysis.series
    lines = [
        f"# Tendance de la série « {analysis.name} »",
        "",
        f"{len(s)} mois de {analysis.label}, de {s['month'].iloc[0].strftime('%m/%Y')} à "
        f"{s['month'].iloc[-1].strftime('%m/%Y')}.",
        "",
    ]
    m = analysis.monthly_model
    if m is not None:
        lines += [
            "## Modèle mensuel (tendance et saisonnalité)",
            "",
            m.interpretation,
            "",
            f"Famille : {m.family} ; rapport de dispersion (Poisson) "
            f"{french_number(m.dispersion, 2)} ; Ljung–Box (12 retards) p = "
            f"{french_number(m.ljung_box_p, 3)}.",
            *[f"- {note}" for note in m.notes],
            "",
        ]
    t = analysis.yearly_trend
    if t is not None:
        lines += [
            "## Totaux des années complètes",
            "",
            f"Années {t.years[0]}–{t.years[-1]} : {t.interpretation}",
            "",
        ]
    if analysis.outlook is not None:
        fc, sel = analysis.outlook.forecast, analysis.outlook.selection
        naive = ", ".join(
            f"{forecast.METHOD_LABELS[k]} : {french_number(v)}"
            for k, v in analysis.outlook.naive.items()
            if v is not None
        )
        lines += [
            "## Prévision de l'hiver à venir",
            "",
            fc.interpretation,
            "",
            f"Modèle : {fc.model.label} ({fc.model.family}). {fc.model.trend_sentence}",
            "",
            f"Prévisions naïves du même hiver : {naive or 'aucune (historique trop court)'}.",
            "",
            sel.rule,
            "",
        ]
    if analysis.not_computed:
        lines += ["## Ce qui n'a pas pu être calculé", ""]
        lines += [f"- {r}" for r in analysis.not_computed.values()]
        lines.append("")
    return "\n".join(lines)


def write_series_results(analysis: SeriesAnalysis, out_dir: Path) -> list[Path]:
    """Write ``tendance.json``, the tables and ``resume.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / RESULTS_FILE]
    write_json(written[0], analysis.to_json())
    for name, frame in analysis.tables().items():
        written.append(out_dir / f"{name}.csv")
        write_csv(frame, written[-1])
    written.append(out_dir / SUMMARY_FILE)
    written[-1].write_text(series_summary(analysis), encoding="utf-8")
    return written


def series_name(path: Path) -> str:
    """The series' name: its file name without extension, safe as a folder name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", Path(path).stem).strip("_") or "serie"


def analyse_file(
    path: Path,
    report: ReportSettings,
    with_forecast: bool = False,
    label: str = "valeurs",
    out_dir: Path | None = None,
) -> tuple[SeriesAnalysis, Path, list[Path]]:
    """Read, fit and write the series in ``path`` with the report's winter plan and forecast
    settings (draws, seed, minimum history); returns the analysis, its folder (default
    ``outputs/trends/series_externes/<name>``) and the files written. A bad file raises
    :class:`SeriesFileError`."""
    series = read_monthly_series(path)
    name = series_name(path)
    analysis = analyse_series(
        series,
        name,
        label=label,
        with_forecast=with_forecast,
        winter=(report.winter_start, report.winter_end),
        draws=report.forecast.draws,
        seed=report.forecast.seed,
        min_history=report.forecast.min_history_months,
    )
    out = Path(out_dir) if out_dir is not None else PATHS.external_trends(name)
    return analysis, out, write_series_results(analysis, out)
