"""``observatoire tendance --serie FICHIER.csv [--prevision]``: the trends notebook's models on an
outside monthly series, with its charts and a French summary (see
:mod:`observatoire.models.external` and ``docs/tendances.md``).

The figures are the series' own values, never person counts of the network's data: they do not go
through the audited publication (an analyst who brings counts of persons applies the small-cell
rule to what they publish).
"""

from __future__ import annotations

from pathlib import Path

from observatoire.config.settings import ReportSettings
from observatoire.models.external import SeriesAnalysis, analyse_file
from observatoire.reports import charts

__all__ = ["run_external_trend", "series_figures"]


def series_figures(analysis: SeriesAnalysis, out_dir: Path) -> list[Path]:
    """The fitted monthly model, the STL decomposition and, when made, the forecast."""
    written = []
    label = analysis.label
    if analysis.monthly_model is not None:
        fig = charts.dispositif_fits(
            {analysis.name: analysis.monthly_model.fitted}, ylabel=f"{label} par mois", ncols=1
        )
        written.append(charts.save_figure(fig, out_dir / "ajustement_mensuel.png"))
    if analysis.stl is not None:
        fig = charts.stl_decomposition(analysis.stl, ylabel=label)
        written.append(charts.save_figure(fig, out_dir / "stl.png"))
    if analysis.outlook is not None:
        history = analysis.series.rename(columns={"value": label})
        fig = charts.winter_forecast(
            history,
            analysis.outlook.forecast.months,
            None,
            value=label,
            ylabel=label,
            observed_label=f"{label} (observé)",
        )
        written.append(charts.save_figure(fig, out_dir / "prevision.png"))
    return written


def run_external_trend(
    path: Path,
    report: ReportSettings,
    with_forecast: bool = False,
    label: str = "valeurs",
    out_dir: Path | None = None,
) -> int:
    """Read, fit, write, draw and summarise (in French) the series in ``path``
    (:func:`observatoire.models.external.analyse_file`). A bad file raises
    :class:`observatoire.models.external.SeriesFileError` (exit code 2)."""
    analysis, out, written = analyse_file(path, report, with_forecast, label, out_dir)
    written += series_figures(analysis, out)
    m = analysis.monthly_model
    print(f"Série « {analysis.name} » : {len(analysis.series)} mois de {label}.")
    if m is not None:
        print(f"  Modèle mensuel : {m.interpretation}")
    if analysis.yearly_trend is not None:
        print(f"  Totaux des années complètes : {analysis.yearly_trend.interpretation}")
    if analysis.outlook is not None:
        print(f"  Prévision : {analysis.outlook.forecast.interpretation}")
    for reason in analysis.not_computed.values():
        print(f"  Non calculé : {reason}")
    print(f"Résultats : {out}/ ({len(written)} fichiers, résumé dans {out}/resume.md).")
    return 0
