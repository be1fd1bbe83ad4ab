"""The violence barometer's incident analysis: counts, rates, the trend model, timing, exclusions.

The unit is the **incident sheet** (``data_clean/field/incidents.parquet``, one row per incident a
service wrote down). A sheet records what a worker saw or was told: the counts are *recorded*
incidents, a lower bound of what happened, and a change of recording habits looks like a change
of violence (said in the report).

Estimands and rules:

* **Counts by code.** ``types``, ``consequences`` and ``context`` are select-multiple answers: an
  incident counts once in *each* of its codes, so the codes' counts add up to more than the
  incidents (the report says so); ``direction`` and ``severity`` are single answers and add up.
* **Rates.** Incidents per 1,000 occupied nights (shelters: nights slept, from the stays of
  ``contacts.parquet`` with the indicators' stay convention) or per 1,000 recorded contacts (day
  services, street work), per service and year (the denominator of each service is in
  ``params/terrain.yaml``, ``barometre.exposure``).
* **Trend.** Monthly incidents per service, ``log E[y] = log(exposure) + service + year``: a
  Poisson GLM, replaced by a negative binomial (NB2, alpha by maximum likelihood) when the
  Pearson χ²/df exceeds :data:`OVERDISPERSION` or the Cameron–Trivedi test rejects
  equidispersion at 5 %; the estimand is the rate ratio Y / Y−1 adjusted for the mix of
  services, with its Wald 95 % CI. Diagnostics: Pearson χ²/df of the chosen model, the
  Cameron–Trivedi p-value, the lag-1 autocorrelation and Ljung–Box p-value of the network's
  monthly Pearson residuals. The naive baseline is the crude rate ratio (all incidents over all
  exposure) with an exact conditional CI.
* **Closing time.** Among incidents with a known hour during a service's opening hours: the rate
  per open hour in the closing window over the rate per open hour in the other open hours. Under
  a constant rate across open hours the window's count, given the total, is binomial with
  p₀ = window hours / open hours: exact test and Clopper–Pearson CI carried to the rate ratio.
  (Attendance is not uniform over the evening: a ratio above 1 says *when*, not *why*.)
* **Refusal nights.** Night shelter, nights of the report year, per occupied night (so a
  fuller house alone does not make the ratio), exact conditional CIs. The planted estimand is
  winter nights with at least one refusal for lack of place over all other nights; but when
  the shelter refuses someone almost every winter night, refusals and winter coincide and no
  comparison can tell their effects apart. So: (a) winter nights with / without refusal, only
  when both sides have ``refusal_min_nights`` nights; (b) winter nights with refusal / all
  other nights (refusal and season mixed); (c) every night with refusal / without; (d) a
  nightly count model with a refusal indicator and month effects (offset log occupied
  nights), identified only by the months that hold both kinds of nights — it says what a
  refusal changes at equal month, in those months. An incident before noon belongs to the
  night that began the evening before.
* **Exclusions.** An exclusion recorded as an exit reason (``exit_reason == "exclusion"``) is
  linked to an incident of the same service dated within ``exclusion_days`` days before the exit
  and, when the sheet carries the author's pseudonym, of the same person; the shares both ways.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.diagnostic import acorr_ljungbox

from observatoire.core.schema import split_codes
from observatoire.field.violence_settings import OpeningHours
from observatoire.indicators.counts import nightly_counts

__all__ = [
    "CONSEQUENCES",
    "CONTEXTS",
    "DIMENSIONS",
    "DIRECTIONS",
    "OVERDISPERSION",
    "SEVERITIES",
    "TYPES",
    "RateRatio",
    "TrendFit",
    "closing_concentration",
    "code_counts",
    "exclusion_links",
    "fit_trend",
    "incident_night",
    "monthly_exposure",
    "night_panel",
    "monthly_panel",
    "rate_ratio_exact",
    "refusal_model",
    "refusal_nights",
]

TYPES = ("verbale", "physique", "sexuelle", "biens", "menaces", "autoagression")
DIRECTIONS = ("usager_travailleur", "usager_usager", "travailleur_usager", "exterieur_service")
SEVERITIES = ("faible", "moyenne", "grave")
CONSEQUENCES = ("blessure", "arret_travail", "exclusion", "police", "fermeture_service", "aucune")
CONTEXTS = (
    "fermeture",
    "file_attente",
    "refus",
    "consommation",
    "sante_mentale",
    "conflit_entre_usagers",
    "autre",
)
DIMENSIONS: dict[str, tuple[tuple[str, ...], bool]] = {
    "types": (TYPES, True),
    "direction": (DIRECTIONS, False),
    "severity": (SEVERITIES, False),
    "consequences": (CONSEQUENCES, True),
    "context": (CONTEXTS, True),
}
"""Column → (codes, select-multiple)."""
OVERDISPERSION = 1.5
"""Pearson χ²/df above which the Poisson model is replaced by the negative binomial."""


def code_counts(
    incidents: pd.DataFrame, column: str, codes: Iterable[str], multiple: bool, by: str = "year"
) -> pd.DataFrame:
    """Incidents per code (rows) and value of ``by`` (columns); a select-multiple incident
    counts once in each of its codes."""
    codes = list(codes)
    if multiple:
        flags = split_codes(incidents[column], codes)
    else:
        values = incidents[column].fillna("").astype(str)
        flags = pd.DataFrame({c: (values == c).astype("int64") for c in codes}, index=values.index)
    out = flags.groupby(incidents[by]).sum().T.reindex(codes).fillna(0).astype("int64")
    out.columns.name = by
    return out


# --- exposure --------------------------------------------------------------------------------


def _month(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def daily_exposure(contacts: pd.DataFrame, service: str, unit: str) -> pd.Series:
    """Occupied nights (``nights``, indexed by the night's evening) or contacts (``contacts``,
    by day) of one service (``partner_id``)."""
    rows = contacts[contacts["partner_id"] == service]
    if rows.empty:
        return pd.Series(dtype="float64")
    if unit == "nights":
        # A stay still open at the export (no exit date, no night count) runs to the end of
        # the last year the service's exports cover (yearly exports), not one night (the
        # indicators' convention counts such a stay once; a rate needs the days of presence).
        start = pd.to_datetime(rows["date_start"])
        end = pd.to_datetime(rows["date_end"])
        last = max(start.max(), end.max() if end.notna().any() else start.max())
        last = pd.Timestamp(year=last.year, month=12, day=31)  # yearly exports: to 31 December
        still_open = end.isna() & rows["nights"].isna()
        span = (last + pd.Timedelta(days=1) - start).dt.days
        rows = rows.assign(nights=rows["nights"].where(~still_open, span.astype("float64")))
        return nightly_counts(rows.assign(dispositif="_"), "_").astype("float64")
    day = pd.to_datetime(rows["date_start"]).dt.normalize()
    return day.value_counts().sort_index().astype("float64")


def monthly_exposure(
    contacts: pd.DataFrame, exposure: Mapping[str, str], years: Iterable[int]
) -> pd.DataFrame:
    """``service, unit, month, exposure`` for each service of ``exposure`` and month of
    ``years`` with activity."""
    years = set(years)
    frames = []
    for service, unit in exposure.items():
        daily = daily_exposure(contacts, service, unit)
        if daily.empty:
            continue
        month = daily.groupby(daily.index.to_period("M").to_timestamp()).sum()
        month = month[month.index.year.isin(years)]
        frames.append(
            pd.DataFrame(
                {"service": service, "unit": unit, "month": month.index, "exposure": month.values}
            )
        )
    if not frames:
        return pd.DataFrame(columns=["service", "unit", "month", "exposure"])
    return pd.concat(frames, ignore_index=True)


def monthly_panel(incidents: pd.DataFrame, exposure: pd.DataFrame) -> pd.DataFrame:
    """The trend model's data: one row per service and month with exposure > 0 (incidents of
    a month without exposure, or of a service without a denominator, are left out)."""
    counts = (
        incidents.assign(month=_month(incidents["date"]))
        .groupby(["service", "month"])
        .size()
        .rename("incidents")
    )
    panel = exposure[exposure["exposure"] > 0].merge(
        counts.reset_index(), on=["service", "month"], how="left"
    )
    panel["incidents"] = panel["incidents"].fillna(0).astype("int64")
    panel["year"] = pd.to_datetime(panel["month"]).dt.year
    return panel.sort_values(["service", "month"]).reset_index(drop=True)


# --- rate ratios -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RateRatio:
    """x1 events over e1 units against x0 over e0; exact conditional test and CI."""

    x1: int
    e1: float
    x0: int
    e0: float
    rate_ratio: float
    ci95: tuple[float, float]
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rate_ratio_exact(x1: int, e1: float, x0: int, e0: float) -> RateRatio:
    """(x1/e1) / (x0/e0) with the exact conditional test: given n = x1 + x0, x1 is binomial
    with p = e1 RR / (e1 RR + e0); RR = 1 ⇔ p₀ = e1 / (e1 + e0). Clopper–Pearson CI for p,
    carried to RR = p/(1−p) × e0/e1."""
    if e1 <= 0 or e0 <= 0:
        raise ValueError("exposition nulle : rapport de taux non défini")
    x1, x0 = int(x1), int(x0)
    n = x1 + x0
    if n == 0:
        return RateRatio(x1, e1, x0, e0, math.nan, (math.nan, math.nan), 1.0)
    test = binomtest(x1, n, e1 / (e1 + e0))
    lo, hi = test.proportion_ci(0.95, method="exact")

    def rr(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * e0 / e1

    point = (x1 / e1) / (x0 / e0) if x0 else math.inf
    return RateRatio(x1, float(e1), x0, float(e0), point, (rr(lo), rr(hi)), float(test.pvalue))


# --- trend model -----------------------------------------------------------------------------


@dataclass
class TrendFit:
    """The monthly count model: rate ratio of the report year over the year before."""

    family: str
    rate_ratio: float
    ci95: tuple[float, float]
    p_value: float
    pearson_chi2_df: float
    poisson_chi2_df: float
    cameron_trivedi_p: float
    alpha: float | None
    acf1: float
    ljung_box_p: float
    n_months: int
    n_services: int
    naive: RateRatio
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["naive"] = self.naive.to_dict()
        return d


def _design(panel: pd.DataFrame, year: int) -> pd.DataFrame:
    services = sorted(panel["service"].unique())
    X = pd.DataFrame({"const": 1.0}, index=panel.index)
    for s in services[1:]:
        X[f"service_{s}"] = (panel["service"] == s).astype("float64")
    X["year"] = (panel["year"] == year).astype("float64")
    return X


def fit_trend(panel: pd.DataFrame, year: int) -> TrendFit:
    """Fit the monthly model on the months of ``year`` and ``year − 1``."""
    panel = panel[panel["year"].isin([year - 1, year])].reset_index(drop=True)
    if panel.empty or panel["year"].nunique() < 2:
        raise ValueError(f"pas de mois exposés en {year - 1} et en {year}")
    if panel["incidents"].sum() == 0:
        raise ValueError("aucun incident sur les mois exposés")
    y = panel["incidents"].to_numpy(dtype="float64")
    X = _design(panel, year)
    offset = np.log(panel["exposure"].to_numpy(dtype="float64"))
    pois = GLM(y, X, family=families.Poisson(), offset=offset).fit()
    df_resid = max(pois.df_resid, 1)
    poisson_ratio = float(pois.pearson_chi2 / df_resid)
    mu = pois.mu
    # Cameron & Trivedi (1990): regress ((y − μ)² − y)/μ on μ without constant; H0 alpha = 0.
    aux = OLS(((y - mu) ** 2 - y) / mu, mu).fit()
    ct_p = float(aux.pvalues[0] / 2 if aux.params[0] > 0 else 1 - aux.pvalues[0] / 2)
    notes: list[str] = []
    use_nb = poisson_ratio > OVERDISPERSION or ct_p < 0.05
    alpha = None
    family = "poisson"
    fit = pois
    if use_nb:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = NegativeBinomial(y, X, offset=offset, loglike_method="nb2").fit(
                disp=0, maxiter=200, start_params=np.append(pois.params.to_numpy(), 0.1)
            )
        if nb.mle_retvals.get("converged", True) and np.all(np.isfinite(nb.bse)):
            alpha = float(nb.params["alpha"])
            family = "negative binomial"
            fit = nb
        else:
            notes.append(
                "binomiale négative non convergée : Poisson gardé, écarts-types corrigés par "
                "la dispersion (quasi-Poisson)"
            )
            fit = GLM(y, X, family=families.Poisson(), offset=offset).fit(scale="X2")
            family = "quasi-poisson"
    beta = float(fit.params["year"])
    se = float(fit.bse["year"])
    p = float(fit.pvalues["year"])
    if family == "negative binomial":
        mu_nb = fit.predict(X, offset=offset)
        var = mu_nb + alpha * mu_nb**2
        resid = (y - mu_nb) / np.sqrt(var)
        chi2_df = float((resid**2).sum() / max(len(y) - X.shape[1] - 1, 1))
    else:
        resid = (y - fit.mu) / np.sqrt(fit.mu)
        chi2_df = float((resid**2).sum() / df_resid)
    series = pd.Series(resid).groupby(panel["month"]).sum().sort_index()
    acf1 = float(series.autocorr(1)) if len(series) > 2 else math.nan
    lags = min(6, max(1, len(series) // 4))
    lb = float(acorr_ljungbox(series.to_numpy(), lags=[lags])["lb_pvalue"].iloc[0])
    if lb < 0.05:
        notes.append(
            "autocorrélation résiduelle (Ljung–Box p < 0,05) : l'intervalle est sans doute "
            "trop étroit"
        )
    cur = panel[panel["year"] == year]
    prev = panel[panel["year"] == year - 1]
    naive = rate_ratio_exact(
        int(cur["incidents"].sum()),
        float(cur["exposure"].sum()),
        int(prev["incidents"].sum()),
        float(prev["exposure"].sum()),
    )
    return TrendFit(
        family=family,
        rate_ratio=math.exp(beta),
        ci95=(math.exp(beta - 1.96 * se), math.exp(beta + 1.96 * se)),
        p_value=p,
        pearson_chi2_df=chi2_df,
        poisson_chi2_df=poisson_ratio,
        cameron_trivedi_p=ct_p,
        alpha=alpha,
        acf1=acf1,
        ljung_box_p=lb,
        n_months=int(panel["month"].nunique()),
        n_services=int(panel["service"].nunique()),
        naive=naive,
        notes=notes,
    )


# --- timing ----------------------------------------------------------------------------------


def closing_concentration(
    incidents: pd.DataFrame, service: str, hours: OpeningHours
) -> tuple[pd.Series, RateRatio | None]:
    """The service's incidents by hour (0–23, incidents with a known hour) and the rate ratio
    closing window / other open hours (None when no incident falls in the opening hours)."""
    rows = incidents[(incidents["service"] == service) & incidents["hour"].notna()]
    by_hour = rows["hour"].astype("int64").value_counts().reindex(range(24), fill_value=0)
    open_h = hours.open_hours()
    close_h = hours.closing_hours()
    x1 = int(by_hour[close_h].sum())
    x0 = int(by_hour[[h for h in open_h if h not in close_h]].sum())
    if x1 + x0 == 0:
        return by_hour, None
    return by_hour, rate_ratio_exact(x1, len(close_h), x0, len(open_h) - len(close_h))


def incident_night(incidents: pd.DataFrame, noon: int = 12) -> pd.Series:
    """The night (its evening's date) of each incident of a night service: before noon, the
    night that began the evening before; unknown hour: the sheet's date."""
    day = pd.to_datetime(incidents["date"]).dt.normalize()
    early = incidents["hour"].notna() & (incidents["hour"].fillna(99) < noon)
    return day - pd.to_timedelta(early.astype("int64"), unit="D")


def _winter_days(year: int, winter: tuple[str, str]) -> pd.DatetimeIndex:
    """Days of calendar ``year`` inside the winter window (``MM-DD`` to ``MM-DD``, wrapping)."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    md = days.strftime("%m-%d")
    start, end = winter
    inside = (md >= start) | (md <= end) if start > end else (md >= start) & (md <= end)
    return days[inside]


def night_panel(
    incidents: pd.DataFrame,
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    service: str,
    year: int,
    winter: tuple[str, str],
) -> pd.DataFrame:
    """One row per night of ``year`` the service was occupied: ``night`` (the evening's date),
    ``month``, ``occupied`` (persons sleeping), ``refused`` (at least one refusal for lack of
    place that night), ``winter`` (inside the winter window) and ``incidents`` (the service's
    incidents of that night, :func:`incident_night`)."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    used = daily_exposure(contacts, service, "nights").reindex(days, fill_value=0)
    ref = refusals[refusals["partner_id"] == service] if len(refusals) else refusals
    refused = (
        ref.groupby(pd.to_datetime(ref["date"]).dt.normalize())["refusals"].sum()
        if len(ref)
        else pd.Series(dtype="float64")
    )
    rows = incidents[incidents["service"] == service]
    per_night = incident_night(rows).value_counts().reindex(days, fill_value=0)
    panel = pd.DataFrame(
        {
            "night": days,
            "month": days.month,
            "occupied": used.to_numpy(dtype="float64"),
            "refused": refused.reindex(days, fill_value=0).to_numpy() > 0,
            "winter": days.isin(_winter_days(year, winter)),
            "incidents": per_night.to_numpy(dtype="int64"),
        }
    )
    return panel[panel["occupied"] > 0].reset_index(drop=True)


def _compare(panel: pd.DataFrame, a: pd.Series, b: pd.Series) -> dict[str, Any]:
    """Nights, occupied nights and incidents of the two sides, and the exact rate ratio per
    occupied night (a over b) when both sides have occupied nights."""
    out = {
        "nights": [int(a.sum()), int(b.sum())],
        "occupied": [float(panel.loc[a, "occupied"].sum()), float(panel.loc[b, "occupied"].sum())],
        "incidents": [int(panel.loc[a, "incidents"].sum()), int(panel.loc[b, "incidents"].sum())],
    }
    if min(out["occupied"]) > 0:
        out["rate_ratio"] = rate_ratio_exact(
            out["incidents"][0], out["occupied"][0], out["incidents"][1], out["occupied"][1]
        ).to_dict()
    return out


def refusal_model(panel: pd.DataFrame, min_nights: int) -> dict[str, Any]:
    """Nightly incidents ~ refusal + month, offset log(occupied): Poisson, negative binomial
    (NB2) when overdispersed (:data:`OVERDISPERSION`). The refusal effect is identified only by
    months holding nights with AND without refusal; it is estimated when those months give at
    least ``min_nights`` nights on each side (else ``computed`` is False with the reason)."""
    by_month = panel.groupby("month")["refused"].agg(["sum", "size"])
    mixed = by_month[(by_month["sum"] > 0) & (by_month["sum"] < by_month["size"])]
    with_r = int(mixed["sum"].sum())
    without_r = int((mixed["size"] - mixed["sum"]).sum())
    out: dict[str, Any] = {
        "months_both": [int(m) for m in mixed.index],
        "nights_identifying": [with_r, without_r],
        "computed": False,
    }
    if min(with_r, without_r) < min_nights:
        out["reason"] = (
            f"non estimable : les mois qui ont des nuits avec et sans refus n'en comptent que "
            f"{with_r} avec et {without_r} sans (il en faut {min_nights} de chaque côté)"
        )
        return out
    data = panel[panel["month"].isin(mixed.index)].reset_index(drop=True)
    X = pd.DataFrame({"const": 1.0, "refus": data["refused"].astype("float64")})
    for m in sorted(data["month"].unique())[1:]:
        X[f"mois_{m}"] = (data["month"] == m).astype("float64")
    y = data["incidents"].to_numpy(dtype="float64")
    offset = np.log(data["occupied"].to_numpy(dtype="float64"))
    if y.sum() == 0:
        out["reason"] = "non estimable : aucun incident sur les mois qui comparent"
        return out
    pois = GLM(y, X, family=families.Poisson(), offset=offset).fit()
    dispersion = float(pois.pearson_chi2 / max(pois.df_resid, 1))
    fit, family = pois, "poisson"
    if dispersion > OVERDISPERSION:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = NegativeBinomial(y, X, offset=offset, loglike_method="nb2").fit(
                disp=0, maxiter=200, start_params=np.append(pois.params.to_numpy(), 0.1)
            )
        if nb.mle_retvals.get("converged", True) and np.all(np.isfinite(nb.bse)):
            fit, family = nb, "negative binomial"
    beta, se = float(fit.params["refus"]), float(fit.bse["refus"])
    out.update(
        computed=True,
        family=family,
        poisson_chi2_df=dispersion,
        rate_ratio=math.exp(beta),
        ci95=(math.exp(beta - 1.96 * se), math.exp(beta + 1.96 * se)),
        p_value=float(fit.pvalues["refus"]),
        nights=int(len(data)),
    )
    return out


def refusal_nights(
    incidents: pd.DataFrame,
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    service: str,
    year: int,
    winter: tuple[str, str],
    min_nights: int = 20,
) -> dict[str, Any]:
    """Incidents per occupied night and refusals for lack of place, three ways (all per
    occupied night, exact conditional CIs):

    * ``within_winter``: winter nights with refusal / winter nights without; kept only when
      both sides have ``min_nights`` nights (else ``computed`` False and the reason in French:
      when the shelter refuses someone almost every winter night there is nothing to compare);
    * ``winter_refusal_vs_other``: winter nights with refusal / all other nights of the year
      (the refusal nights of the cold months against the rest): it mixes the effect of refusals
      with that of winter, which the data cannot separate when refusals and winter coincide;
    * ``refusal_vs_none``: every night with refusal / every night without, all year;
    * ``model``: :func:`refusal_model`, the refusal effect at equal month (only as far as
      months hold both kinds of nights).
    """
    panel = night_panel(incidents, contacts, refusals, service, year, winter)
    w, r = panel["winter"], panel["refused"]
    within = _compare(panel, w & r, w & ~r)
    within["computed"] = min(within["nights"]) >= min_nights and "rate_ratio" in within
    if not within["computed"]:
        within["reason"] = (
            "non estimable : presque toutes les nuits d'hiver ont eu des refus "
            f"({within['nights'][0]} sur {sum(within['nights'])})"
            if within["nights"][0] >= within["nights"][1]
            else "non estimable : presque aucune nuit d'hiver n'a eu de refus "
            f"({within['nights'][0]} sur {sum(within['nights'])})"
        )
    other = _compare(panel, w & r, ~(w & r))
    other["computed"] = "rate_ratio" in other
    anyr = _compare(panel, r, ~r)
    anyr["computed"] = "rate_ratio" in anyr
    n_refused = int(r.sum())
    return {
        "service": service,
        "min_nights": min_nights,
        "within_winter": within,
        "winter_refusal_vs_other": other,
        "refusal_vs_none": anyr,
        "model": refusal_model(panel, min_nights),
        "confounding": {
            "winter_nights": int(w.sum()),
            "winter_nights_refused": int((w & r).sum()),
            "refused_nights": n_refused,
            "refused_nights_in_winter": int((w & r).sum()),
        },
        "computed": bool(other["computed"]),
    }


# --- exclusions ------------------------------------------------------------------------------


def _exit_day(contacts: pd.DataFrame) -> pd.Series:
    start = pd.to_datetime(contacts["date_start"])
    end = pd.to_datetime(contacts["date_end"])
    guess = start + pd.to_timedelta(contacts["nights"].fillna(0), unit="D")
    return end.fillna(guess).dt.normalize()


def exclusion_links(
    incidents: pd.DataFrame, contacts: pd.DataFrame, year: int, days: int
) -> dict[str, Any]:
    """Exclusions of ``year`` (exit reason) linked to a recorded incident, and incidents with
    the consequence « exclusion » linked to a recorded exclusion, in the services that record
    exits (the same window both ways: the incident at most ``days`` days before the exit)."""
    exc = contacts[contacts["exit_reason"].fillna("") == "exclusion"].copy()
    exc["exit"] = _exit_day(exc)
    exc = exc[exc["exit"].dt.year == year]
    services = sorted(exc["partner_id"].unique())
    # The incidents of the year, and those of the last days of the year before that may
    # precede an exit of early January (linked, not counted as the year's incidents).
    when = pd.to_datetime(incidents["date"])
    start = pd.Timestamp(year=year, month=1, day=1)
    inc = incidents[(when >= start - pd.Timedelta(days=days)) & (when.dt.year <= year)].copy()
    inc["day"] = pd.to_datetime(inc["date"]).dt.normalize()
    inc["_i"] = np.arange(len(inc))
    exc["_e"] = np.arange(len(exc))
    # The sheet's author is the service's own client id, keyed like that service's contacts
    # (``record_key``), not the linked person: compare with the stay's record key.
    if "record_key" not in exc:
        exc["record_key"] = ""
    pairs = exc[["_e", "partner_id", "record_key", "exit"]].merge(
        inc[["_i", "service", "person_id", "day"]].rename(columns={"person_id": "author"}),
        left_on="partner_id",
        right_on="service",
    )
    gap = (pairs["exit"] - pairs["day"]).dt.days
    author = pairs["author"].fillna("").astype(str)
    same = (author == "") | (author == pairs["record_key"].fillna("").astype(str))
    pairs = pairs[(gap >= 0) & (gap <= days) & same]
    flagged = split_codes(inc["consequences"], ["exclusion"])["exclusion"] == 1
    in_services = inc["service"].isin(services) & (inc["day"].dt.year == year)
    inc_excl = inc[flagged & in_services]
    per_service = []
    for s in services:
        e = exc[exc["partner_id"] == s]
        i = inc_excl[inc_excl["service"] == s]
        per_service.append(
            {
                "service": s,
                "exclusions": int(len(e)),
                "exclusions_linked": int(e["_e"].isin(pairs["_e"]).sum()),
                "incidents_exclusion": int(len(i)),
                "incidents_exclusion_linked": int(i["_i"].isin(pairs["_i"]).sum()),
            }
        )
    total = {
        k: int(sum(r[k] for r in per_service))
        for k in ("exclusions", "exclusions_linked", "incidents_exclusion")
    } | {
        "incidents_exclusion_linked": int(sum(r["incidents_exclusion_linked"] for r in per_service))
    }
    persons = pairs[pairs["author"].fillna("").astype(str) != ""]
    return {
        "days": days,
        "services": per_service,
        "total": total,
        "linked_by_person": int(persons["_e"].nunique()),
    }
