"""Why a model of the trends stage was not computed, in French, for the analyst and the reader.

A small or partial network (one partner, no night shelter, two years of exports) is valid
input: the trends stage then writes what it can and, for every model it cannot fit, one
sentence under a key of :data:`LABELS` (``tendances.json``, field ``non_calcule``). Each
sentence says what is missing, which threshold or parameter decides it, and what the analyst
can do; the report prints them in a « Ce qui n'a pas pu être calculé » box instead of a chart
or a number.

The checks are the models' own preconditions (:func:`observatoire.models.trends.fit_yearly_trend`
needs 3 years, the monthly model and STL 24 months and a January, the forecast a history of
``report.forecast.min_history_months``), stated before fitting so that the reason names the
data rather than repeating an exception.
"""

from __future__ import annotations

import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS, SHELTER
from observatoire.core.person_level import NO_PERSONS_REASON

__all__ = [
    "FORECAST",
    "LABELS",
    "MIN_MONTHS",
    "MIN_YEARS",
    "MONTHLY_MODEL",
    "NETWORK_TREND",
    "OCCUPANCY",
    "STL_NETWORK",
    "YEAR_ON_YEAR",
    "forecast_failed_reason",
    "monthly_series_reason",
    "no_persons_reasons",
    "no_capacity_reason",
    "no_shelter_reason",
    "occupancy_reason",
    "year_on_year_reason",
    "yearly_trend_reason",
]

MIN_YEARS = 3
"""Years with persons a yearly trend needs (slope and dispersion: n − 2 ≥ 1 degree of freedom)."""
MIN_MONTHS = 24
"""Months a monthly model or an STL decomposition needs: two seasonal cycles."""

NETWORK_TREND = "tendance_reseau"
YEAR_ON_YEAR = "variation_annuelle"
MONTHLY_MODEL = "modele_mensuel"
STL_NETWORK = "stl_reseau"
OCCUPANCY = "occupation"
FORECAST = "prevision"

LABELS: dict[str, str] = {
    NETWORK_TREND: "Tendance annuelle du réseau",
    YEAR_ON_YEAR: "Variation d'une année sur l'autre",
    MONTHLY_MODEL: "Modèle mensuel et saisonnalité",
    STL_NETWORK: "Décomposition STL de la série mensuelle",
    OCCUPANCY: "Occupation de l'abri de nuit",
    FORECAST: "Prévision de la demande de l'hiver à venir",
}
"""Every key a « non calculé » reason may take, with the French name of what was skipped."""

_NBSP = "\u00a0"
_ADD_YEARS = (
    "ajouter les exports des années précédentes de chaque partenaire (README, « Ajouter une "
    "année ») ; sinon, ce calcul se fera quand les données couvriront assez d'années"
)


def _years_text(years: list[int]) -> str:
    return ", ".join(str(y) for y in years) if years else "aucune"


def no_persons_reasons(skipped: dict[str, str]) -> dict[str, str]:
    """On a network whose partners send counts only, every model that was skipped is skipped
    for that one reason (not for the years or months the person series lacks)."""
    hint = {
        OCCUPANCY: " Quand un partenaire transmet ses lits en comptages, leur taux d'occupation "
        "figure au chapitre des données agrégées.",
        FORECAST: " `observatoire tendance --serie FICHIER.csv --prevision` prévoit toute série "
        "mensuelle de comptages (docs/tendances.md).",
    }
    return {
        k: f"{LABELS[k]} non calculé(e) : {NO_PERSONS_REASON}.{hint.get(k, '')}"
        for k in LABELS
        if k in skipped
    }


def yearly_trend_reason(series: pd.Series, what: str = "du réseau") -> str | None:
    """None when ``series`` (count per year) has at least :data:`MIN_YEARS` years with
    persons; otherwise why the yearly trend ``what`` is not estimated."""
    years = sorted(int(y) for y, v in series.items() if v > 0)
    if len(years) >= MIN_YEARS:
        return None
    return (
        f"Tendance annuelle {what} non calculée{_NBSP}: les données comptent des personnes sur "
        f"{len(years)} année(s) ({_years_text(years)}), il en faut au moins {MIN_YEARS} pour "
        "estimer une pente et sa dispersion (régression quasi-Poisson, n − 2 degrés de "
        f"liberté). À faire{_NBSP}: {_ADD_YEARS}."
    )


def year_on_year_reason(previous: int, year: int) -> str | None:
    """None when the year before ``year`` has persons (``previous`` of them)."""
    if previous > 0:
        return None
    return (
        f"Variation {year}/{year - 1} non calculée{_NBSP}: aucune personne en {year - 1} dans "
        f"les données (le rapport d'une année nulle n'est pas défini). À faire{_NBSP}: ajouter "
        f"les exports {year - 1} des partenaires (README, « Ajouter une année »)."
    )


def monthly_series_reason(
    monthly: pd.DataFrame,
    value: str,
    what: str,
    min_months: int = MIN_MONTHS,
    complete: bool = False,
) -> str | None:
    """None when the monthly ``value`` of ``monthly`` (``month``, ``value``) has at least
    ``min_months`` months, a January (the seasonal reference) and, when ``complete`` (STL),
    no gap; otherwise why ``what`` (« Modèle mensuel », « Décomposition STL ») is not
    computed."""
    frame = monthly[monthly[value].notna()] if value in monthly.columns else monthly.iloc[:0]
    months = pd.to_datetime(frame["month"]).dt.to_period("M") if len(frame) else None
    n = 0 if months is None else len(months)
    if n < min_months:
        span = (
            ""
            if months is None
            else f" ({months.min().strftime('%m/%Y')} à {months.max().strftime('%m/%Y')})"
        )
        return (
            f"{what} non calculé(e){_NBSP}: la série mensuelle compte {n} mois{span}, il en "
            f"faut au moins {min_months} (deux cycles saisonniers) pour séparer la tendance de "
            f"la saison. À faire{_NBSP}: {_ADD_YEARS}."
        )
    if 1 not in set(months.dt.month):
        return (
            f"{what} non calculé(e){_NBSP}: aucun mois de janvier dans la série (mois de "
            "référence des effets saisonniers)."
        )
    expected = (months.max() - months.min()).n + 1
    if complete and expected != n:
        return (
            f"{what} non calculé(e){_NBSP}: {expected - n} mois manquent entre "
            f"{months.min().strftime('%m/%Y')} et {months.max().strftime('%m/%Y')} (la "
            "décomposition demande une série sans trou). À faire : vérifier la couverture des "
            "exports (chapitre « Couverture et limites »)."
        )
    return None


def no_shelter_reason(partners_present: set[str], what: str, hint: bool = True) -> str:
    """``what`` needs the night shelter's nights or refusals, and none are in the data;
    ``hint`` adds the way to forecast another series."""
    label = DISPOSITIFS.get(SHELTER, SHELTER)
    cause = (
        f"aucun partenaire du dispositif « {label} » dans le réseau"
        if SHELTER not in partners_present
        else f"les partenaires « {label} » n'ont transmis ni nuitée ni refus"
    )
    other = (
        " ; `observatoire tendance --serie FICHIER.csv --prevision` prévoit toute autre série "
        "mensuelle (docs/tendances.md)"
        if hint
        else ""
    )
    return (
        f"{what} non calculée{_NBSP}: {cause} ; elle porte sur les nuitées occupées et les "
        f"refus faute de place de l'abri de nuit. À faire{_NBSP}: ajouter la correspondance "
        f"(params/partners/PARTENAIRE.yaml, « dispositif: {SHELTER} ») et les exports de "
        f"l'abri{other}."
    )


def no_capacity_reason() -> str:
    """The shelter's capacity is not declared: occupancy has no denominator."""
    return (
        f"Occupation de l'abri de nuit non calculée{_NBSP}: aucune capacité déclarée (clé "
        "« capacity: beds » des correspondances de l'abri, params/partners/PARTENAIRE.yaml) ; "
        "sans lits offerts, un taux d'occupation n'a pas de dénominateur et la prévision n'est "
        f"pas confrontée à la capacité. À faire{_NBSP}: déclarer les lits permanents et ceux du "
        "Plan Grand Froid (« winter_extra_beds »)."
    )


def occupancy_reason(error: Exception) -> str:
    """The occupancy model could not be fitted (``error`` from the model)."""
    return (
        f"Occupation de l'abri de nuit non modélisée{_NBSP}: {error}. Il faut au moins "
        f"{MIN_MONTHS} mois de nuitées avec une capacité déclarée."
    )


def forecast_failed_reason(error: Exception, min_history: int) -> str:
    """The forecast of next winter failed on the shelter's history (``error``, in French
    from :mod:`observatoire.models.forecast`)."""
    text = str(error).rstrip(".")
    return (
        f"Prévision de la demande de l'hiver à venir non calculée{_NBSP}: {text}. Seuil : "
        f"{min_history} mois d'historique (paramètre report.forecast.min_history_months de "
        f"params/pipeline.yaml, à ne pas abaisser sous deux cycles saisonniers). À faire{_NBSP}: "
        f"{_ADD_YEARS}."
    )
