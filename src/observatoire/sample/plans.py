"""The weather and the seasonal plans' services of the synthetic network, with known effects.

Each part draws from its own seeded stream (``meteo``, ``abri_grand_froid``,
``accueil_canicule``, ``maraude_plans``), so the rest of the sample is untouched (its files
stay byte-identical). What is planted is written to ``sample_truth/plans.json`` for the tests
and the bilans to find:

- **the weather** of Uccle (KMI/IRM station 6447), every day of the sample's years, written as
  the KMI/IRM open-data layer ``aws:aws_1day`` (CSV): a seasonal cycle (with the planted spells,
  Tmin ≈ 0–1 °C in January, ≈ 13–14 °C in July; Tmax ≈ 5–6 / 23–24 °C), a day-to-day AR(1)
  anomaly shared by the minimum and the maximum, one cold snap per winter (7 nights between
  −12 and −8 °C) and one heatwave per summer (4 days ≥ 30 °C), and the official alerts of
  those spells in a separate file of dated periods;
- **cold nights → shelter demand** (``abri_grand_froid``, nightly returns over each winter plan
  window): log E[demand] = a + per_degree · max(0, threshold − tmin) + day of week + trend,
  negative binomial; beds = base + extra beds in the « grand froid » phase; occupied =
  min(demand, beds), refusals = the rest (the outcome is censored at capacity: demand is
  occupied + refused);
- **hot days → day-centre visits** (``accueil_canicule``, daily over each summer window), on
  the day's maximum the same way;
- **street-work rounds and distributions** (``maraude_plans``): rounds doubled in a plan's
  triggered phase, blankets on cold nights, water on hot days.

The plan windows and phase triggers mirror ``params/plans.yaml`` (the sample sits below the
plans layer and cannot read it; the truth file states the values used).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from observatoire.sample.config import SampleParams, stream

__all__ = ["PLANTED", "PlanFile", "plan_files", "sample_weather", "truth_json", "window_days"]

STATION = "6447"
GEOM = "POINT (50.79669 4.35815)"
WINTER = ("11-15", "03-31")
SUMMER = ("06-01", "08-31")
COLD_TRIGGER = (-3.0, 2)  # tmin ≤ −3 °C two days running (params/plans.yaml)
HEAT_TRIGGER = (30.0, 3)  # tmax ≥ 30 °C three days running
DOW = [0.0, 0.0, 0.0, 0.0, 0.03, 0.08, 0.06]  # Monday … Sunday (log scale)
DAYS = ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"]

PLANTED = {
    "cold": {
        "partner": "abri_grand_froid",
        "outcome": "demand",
        "covariate": "tmin",
        "form": "log-linear below threshold",
        "threshold": 0.0,
        "per_degree": 0.05,
        "intercept": float(np.log(30.0)),
        "day_of_week": dict(
            zip(["lun", "mar", "mer", "jeu", "ven", "sam", "dim"], DOW, strict=True)
        ),
        "trend_per_year": 0.03,
        "dispersion": "binomiale négative, taille 60",
        "base_beds": 40,
        "extra_beds_grand_froid": 12,
        "censoring": "lits occupés = min(demande, lits) ; refus = demande − lits occupés",
    },
    "heat": {
        "partner": "accueil_canicule",
        "outcome": "visits",
        "covariate": "tmax",
        "form": "log-linear above threshold",
        "threshold": 25.0,
        "per_degree": 0.04,
        "intercept": float(np.log(60.0)),
        "day_of_week": dict(
            zip(["lun", "mar", "mer", "jeu", "ven", "sam", "dim"], DOW, strict=True)
        ),
        "trend_per_year": 0.03,
        "dispersion": "binomiale négative, taille 60",
    },
}


@dataclass(frozen=True)
class PlanFile:
    """One file of the plans' part of the sample: its path under the folder and its text."""

    relative_path: str
    text: str
    encoding: str = "utf-8"

    @property
    def export(self) -> str:
        """``partner/export`` as the mapping names it (``meteo_irm/releves``)."""
        folder, name = self.relative_path.split("/")
        stem = name.split("_")[0]
        return f"{folder}/{ {'aws': 'releves'}.get(stem, stem) }"

    @property
    def year(self) -> int:
        return int(re.search(r"_(\d{4})", self.relative_path).group(1))

    @property
    def rows(self) -> int:
        """Data rows (the header line excluded)."""
        return self.text.count("\n") - 1


def _seasonal(doy: np.ndarray, mean: float, amplitude: float) -> np.ndarray:
    """A cosine cycle, coldest on 15 January (day 15)."""
    return mean - amplitude * np.cos(2 * np.pi * (doy - 15) / 365.25)


def sample_weather(params: SampleParams) -> tuple[pd.DataFrame, list[dict]]:
    """Daily Tmin, Tmax, mean and rain at Uccle for every day of the sample's years, and the
    planted spells (kind, first and last day) that carry an official alert."""
    rng = stream(params.seed, "meteo")
    days = pd.date_range(f"{params.first_year}-01-01", f"{params.last_year}-12-31", freq="D")
    doy = days.dayofyear.to_numpy()
    anomaly = np.empty(len(days))
    anomaly[0] = rng.normal(0, 3.0)
    for i in range(1, len(days)):
        anomaly[i] = 0.7 * anomaly[i - 1] + rng.normal(0, 2.1)
    tmin = _seasonal(doy, 7.8, 4.8) + anomaly + rng.normal(0, 0.8, len(days))
    tmax = _seasonal(doy, 14.6, 8.0) + 1.1 * anomaly + rng.normal(0, 1.0, len(days))
    spells = []
    for year in range(params.first_year, params.last_year + 1):
        start = pd.Timestamp(f"{year}-01-{rng.integers(8, 24):02d}")  # a January cold snap
        snap = (days >= start) & (days < start + pd.Timedelta(days=7))
        tmin[snap] = rng.uniform(-12.0, -8.0, snap.sum())
        tmax[snap] = rng.uniform(-3.0, 1.0, snap.sum())
        spells.append({"kind": "froid", "first": start, "last": start + pd.Timedelta(days=6)})
        start = pd.Timestamp(f"{year}-07-{rng.integers(5, 25):02d}")  # a July heatwave
        wave = (days >= start) & (days < start + pd.Timedelta(days=4))
        tmax[wave] = rng.uniform(30.5, 34.5, wave.sum())
        tmin[wave] = rng.uniform(17.0, 20.0, wave.sum())
        spells.append({"kind": "chaleur", "first": start, "last": start + pd.Timedelta(days=3)})
    tmax = np.maximum(tmax, tmin + 1.0)
    rain = np.where(rng.random(len(days)) < 0.5, rng.gamma(0.8, 4.0, len(days)), 0.0)
    weather = pd.DataFrame(
        {
            "date": days,
            "tmin": tmin.round(1),
            "tmax": tmax.round(1),
            "tavg": ((tmin + tmax) / 2).round(1),
            "rain": rain.round(1),
        }
    )
    return weather, spells


def _alert_days(weather: pd.DataFrame, spells: list[dict]) -> pd.Series:
    alert = pd.Series("", index=weather.index)
    for spell in spells:
        alert[weather["date"].between(spell["first"], spell["last"])] = spell["kind"]
    return alert


def _held(values: pd.Series, min_days: int) -> pd.Series:
    return values.astype(int).rolling(min_days, min_periods=min_days).sum().ge(min_days)


def _in_window(dates: pd.Series, window: tuple[str, str]) -> pd.Series:
    md = dates.dt.strftime("%m-%d")
    start, end = window
    return (md >= start) | (md <= end) if start > end else (md >= start) & (md <= end)


def _negative_binomial(rng: np.random.Generator, mean: np.ndarray, size: float) -> np.ndarray:
    return rng.poisson(rng.gamma(size, mean / size))


def _kmi_csv(weather: pd.DataFrame) -> str:
    lines = ["FID,code,qc_flags,the_geom,timestamp,precip_quantity,temp_avg,temp_max,temp_min"]
    qc = '"{""validated"":{""TEMP_MIN"":true,""TEMP_MAX"":true,""PRECIP_QUANTITY"":true}}"'
    for i, row in enumerate(weather.itertuples(), start=1):
        lines.append(
            f"aws_1day.{i},{STATION},{qc},{GEOM},{row.date:%Y-%m-%d}T00:00:00Z,"
            f"{row.rain:.1f},{row.tavg:.1f},{row.tmax:.1f},{row.tmin:.1f}"
        )
    return "\n".join(lines) + "\n"


def plan_files(params: SampleParams) -> tuple[list[PlanFile], dict]:
    """The weather files, the plans' partners' returns, and the truth (``plans.json``)."""
    weather, spells = sample_weather(params)
    weather["alert"] = _alert_days(weather, spells)
    years = weather["date"].dt.year
    files = [
        PlanFile(f"meteo_irm/aws_1day_{y}_{STATION}.csv", _kmi_csv(weather[years == y]))
        for y in range(params.first_year, params.last_year + 1)
    ]
    for y in range(params.first_year, params.last_year + 1):
        alerts = ["Début;Fin;Alerte"]
        for spell in spells:
            if spell["first"].year == y:
                kind = spell["kind"]
                label = "Avertissement froid extrême" if kind == "froid" else "Alerte chaleur"
                alerts.append(f"{spell['first']:%d/%m/%Y};{spell['last']:%d/%m/%Y};{label}")
        files.append(PlanFile(f"meteo_irm/alertes_{y}.csv", "\n".join(alerts) + "\n"))

    dates = weather["date"]
    elapsed = (dates - pd.Timestamp(f"{params.first_year}-01-01")).dt.days / 365.25
    dow = np.array(DOW)[dates.dt.dayofweek.to_numpy()]
    cold = _held(weather["tmin"] <= COLD_TRIGGER[0], COLD_TRIGGER[1]) | (
        weather["alert"] == "froid"
    )
    heat = _held(weather["tmax"] >= HEAT_TRIGGER[0], HEAT_TRIGGER[1]) | (
        weather["alert"] == "chaleur"
    )
    winter, summer = _in_window(dates, WINTER), _in_window(dates, SUMMER)

    c = PLANTED["cold"]
    rng = stream(params.seed, "abri_grand_froid")
    mean = np.exp(
        c["intercept"]
        + c["per_degree"] * np.maximum(0.0, c["threshold"] - weather["tmin"].to_numpy())
        + dow
        + c["trend_per_year"] * elapsed.to_numpy()
    )
    demand = _negative_binomial(rng, mean, 60.0)
    extra = np.where(cold, c["extra_beds_grand_froid"], 0)
    beds = c["base_beds"] + extra
    occupied = np.minimum(demand, beds)
    shelter = pd.DataFrame(
        {
            "date": dates,
            "beds": c["base_beds"],
            "extra": extra,
            "occupied": occupied,
            "refused": demand - occupied,
        }
    )[winter.to_numpy()]
    for y in range(params.first_year, params.last_year + 1):
        part = shelter[shelter["date"].dt.year == y]
        lines = ["Date;Lits de base;Lits plan grand froid;Lits occupés;Refus faute de place"]
        lines += [
            f"{r.date:%d/%m/%Y};{r.beds};{r.extra};{r.occupied};{r.refused}"
            for r in part.itertuples()
        ]
        files.append(PlanFile(f"abri_grand_froid/nuits_{y}.csv", "\n".join(lines) + "\n", "cp1252"))

    h = PLANTED["heat"]
    rng = stream(params.seed, "accueil_canicule")
    mean = np.exp(
        h["intercept"]
        + h["per_degree"] * np.maximum(0.0, weather["tmax"].to_numpy() - h["threshold"])
        + dow
        + h["trend_per_year"] * elapsed.to_numpy()
    )
    visits = _negative_binomial(rng, mean, 60.0)
    water = rng.poisson(0.4 * visits)
    centre = pd.DataFrame({"date": dates, "visits": visits, "water": water})[summer.to_numpy()]
    for y in range(params.first_year, params.last_year + 1):
        lines = ["date,passages,bouteilles_eau"]
        lines += [
            f"{r.date:%Y-%m-%d},{r.visits},{r.water}"
            for r in centre[centre["date"].dt.year == y].itertuples()
        ]
        files.append(PlanFile(f"accueil_canicule/passages_{y}.csv", "\n".join(lines) + "\n"))

    rng = stream(params.seed, "maraude_plans")
    in_plan = (winter | summer).to_numpy()
    triggered = np.where(winter, cold, heat)
    rounds = np.where(triggered, 2, 1)
    blankets = np.where(
        winter, rng.poisson(4.0 * np.exp(0.08 * np.maximum(0.0, -weather["tmin"].to_numpy()))), 0
    )
    bottles = np.where(
        summer,
        rng.poisson(15.0 * np.exp(0.06 * np.maximum(0.0, weather["tmax"].to_numpy() - 25.0))),
        0,
    )
    street = pd.DataFrame(
        {"date": dates, "rounds": rounds, "blankets": blankets, "water": bottles}
    )[in_plan]
    for y in range(params.first_year, params.last_year + 1):
        lines = ["Jour;Tournées;Couvertures;Distributions d'eau"]
        lines += [
            f"{r.date:%d/%m/%Y};{r.rounds};{r.blankets};{r.water}"
            for r in street[street["date"].dt.year == y].itertuples()
        ]
        files.append(PlanFile(f"maraude_plans/tournees_{y}.csv", "\n".join(lines) + "\n", "cp1252"))

    winter_days = weather[winter]
    summer_days = weather[summer]
    truth = {
        **PLANTED,
        "weather": {
            "station": STATION,
            "seasonal": "Tmin = 7,8 − 4,8·cos(2π(j−15)/365,25) ; Tmax = 14,6 − 8·cos(…) "
            "(avant les vagues plantées, qui abaissent janvier et relèvent juillet) ; "
            "anomalie AR(1) commune (φ = 0,7, σ = 2,1 °C)",
            "spells": [
                {
                    "kind": s["kind"],
                    "first": f"{s['first']:%Y-%m-%d}",
                    "last": f"{s['last']:%Y-%m-%d}",
                }
                for s in spells
            ],
            "alerts": "une alerte officielle couvre chaque vague de froid et de chaleur plantée",
        },
        "plans": {
            "winter_window": list(WINTER),
            "summer_window": list(SUMMER),
            "cold_trigger": {"tmin_below": COLD_TRIGGER[0], "min_days": COLD_TRIGGER[1]},
            "heat_trigger": {"tmax_above": HEAT_TRIGGER[0], "min_days": HEAT_TRIGGER[1]},
            "grand_froid_days": {
                str(y): int((cold & winter)[years == y].sum())
                for y in range(params.first_year, params.last_year + 1)
            },
            "canicule_days": {
                str(y): int((heat & summer)[years == y].sum())
                for y in range(params.first_year, params.last_year + 1)
            },
            "winter_nights": int(len(winter_days)),
            "summer_days": int(len(summer_days)),
        },
        "street_work": {
            "partner": "maraude_plans",
            "rounds": "1 par jour de plan, 2 les jours de phase déclenchée",
            "blankets": "Poisson(4·exp(0,08·max(0, −tmin))) l'hiver",
            "water_distributions": "Poisson(15·exp(0,06·max(0, tmax − 25))) l'été",
        },
    }
    return files, truth


def truth_json(truth: dict) -> str:
    """The planted truth as written to ``plans.json``."""
    return json.dumps(truth, indent=2, ensure_ascii=False) + "\n"


def window_days(year: int, window: tuple[str, str]) -> tuple[date, date]:
    """First and last day of a window for report year ``year`` (winter spans Y−1 → Y)."""
    start, end = window
    first_year = year - 1 if start > end else year
    return (
        date(first_year, *map(int, start.split("-"))),
        date(year, *map(int, end.split("-"))),
    )
