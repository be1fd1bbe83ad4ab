"""The neighbourhood diagnosis (« diagnostic communautaire de quartier ») from street-work
observations: every number of the stage ``street_diagnosis``, computed once.

The unit is an *observation*: one presence of the street-work team in a zone (form
``observation_rue``: date, start hour, duration, zone, the groups met, the problems and
resources seen, the climate, the orientations given, a collective session with young people).
« Personnes rencontrées » are contacts, not distinct persons: the form records no identity, so
the same person met on ten evenings counts ten times. The sums over observations are therefore
*sightings*; they add up across zones, weekdays and hours (each observation lies in one zone
and one hour), which the publication declares as identities.

What is estimated, for the report year Y and the year before (Y − 1):

* presence: observations, hours of presence and persons met per zone, weekday and band of hours;
* publics: persons met by age band and sex and groups by size, from the repeat groups (the sum
  of the group sizes of an observation is its ``persons_met``); young people are the 15–25 year
  olds (``young_met``, bands ``15_17`` and ``18_25``);
* problems, resources and climate: the *share of observations* where each code was noted (a
  select-multiple answer counts once per code), per zone and for the network, and its change
  from Y − 1 to Y with a test per code corrected for multiplicity (:func:`code_changes`);
* collective projects with young people (sessions, participants) and orientations to partners
  (observations with an orientation to each code);
* the change of young people's presence per zone (:func:`young_presence_model`): the rate of
  young persons met per hour of presence, Y against Y − 1, from a count model adjusted for the
  team's schedule, beside the naive ratio of rates.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.storage import write_csv, write_results_json
from observatoire.field.street_settings import DiagnosticSettings

__all__ = [
    "AGE_BANDS",
    "CLIMATES",
    "ENSEMBLE",
    "FAMILIES",
    "ORIENTATION_EXTRA",
    "PROBLEMS",
    "RESOURCES",
    "RESULTS_FILE",
    "SEXES",
    "SIZE_CLASSES",
    "TENSE",
    "WEEKDAYS",
    "YOUNG_BANDS",
    "DiagnosisResults",
    "code_changes",
    "code_shares",
    "collective",
    "compute_diagnosis",
    "orientation_counts",
    "prepare_observations",
    "presence",
    "presence_grid",
    "publics",
    "split_codes",
    "write_diagnosis",
    "young_presence_model",
    "zone_slug",
]

RESULTS_FILE = "diagnostic.json"
ENSEMBLE = "ensemble"
"""The network (all zones) in the ``zone`` column of the stage's tables."""

PROBLEMS: dict[str, str] = {
    "consommation": "Consommation",
    "deal": "Deal",
    "violence": "Violence",
    "sante_mentale": "Santé mentale",
    "hygiene": "Hygiène",
    "mendicite": "Mendicité",
    "nuisances": "Nuisances",
    "isolement": "Isolement",
    "autre": "Autre problème",
}
RESOURCES: dict[str, str] = {
    "commerce_solidaire": "Commerce solidaire",
    "association": "Association",
    "point_eau": "Point d'eau",
    "toilettes": "Toilettes",
    "abri": "Abri",
    "autre": "Autre ressource",
}
CLIMATES: dict[str, str] = {"calme": "Calme", "tendu": "Tendu", "conflictuel": "Conflictuel"}
TENSE = "tendu_ou_conflictuel"
"""The climate code tested year on year: « tendu » or « conflictuel »."""
FAMILIES: dict[str, dict[str, str]] = {
    "problemes": PROBLEMS,
    "ressources": RESOURCES,
    "climat": {**CLIMATES, TENSE: "Tendu ou conflictuel"},
}
AGE_BANDS: dict[str, str] = {
    "moins_15": "Moins de 15 ans",
    "15_17": "15–17 ans",
    "18_25": "18–25 ans",
    "26_44": "26–44 ans",
    "45_64": "45–64 ans",
    "65_plus": "65 ans et plus",
    "inconnu": "Âge inconnu",
}
YOUNG_BANDS = ("15_17", "18_25")
SEXES: dict[str, str] = {
    "hommes": "Hommes",
    "femmes": "Femmes",
    "mixte": "Groupe mixte",
    "inconnu": "Inconnu",
}
SIZE_CLASSES: dict[str, tuple[int, int]] = {
    "1": (1, 1),
    "2": (2, 2),
    "3": (3, 3),
    "4_plus": (4, 10_000),
}
"""Group sizes as the tables count them. Classes of 3–5 and 6 and more left most zones' large
groups masked on the sample (six persons or more: 0 to 4 groups a zone and year): four and more
keeps the large groups visible and publishable."""
ORIENTATION_EXTRA: dict[str, str] = {"cpas": "CPAS", "sante": "Santé", "autre": "Autre"}
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def zone_slug(zone: str) -> str:
    """« Centre-ville » → ``centre-ville`` (file and table names; keys keep the zone's name)."""
    import re
    import unicodedata

    ascii_ = unicodedata.normalize("NFKD", zone).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "zone"


def split_codes(series: pd.Series, codes: Iterable[str]) -> pd.DataFrame:
    """0/1 columns, one per code, from a column of space-separated codes (the canonical form of
    a select-multiple answer; "" when none). Same contract as ``core.schema.split_codes``."""
    sets = series.fillna("").astype(str).str.split()
    return pd.DataFrame(
        {c: sets.map(lambda s, c=c: int(c in s)).astype(int) for c in codes}, index=series.index
    )


def prepare_observations(obs: pd.DataFrame, settings: DiagnosticSettings) -> pd.DataFrame:
    """The observations with what every table needs: ``weekday`` (0 = Monday), ``band`` (index
    of the heat map's band of the start hour, −1 when the hour is unknown), numeric persons."""
    out = obs.copy()
    out["date"] = pd.to_datetime(out["date"])
    out["year"] = out["year"].astype(int)
    out["weekday"] = out["date"].dt.dayofweek.astype(int)
    hour = pd.to_numeric(out["hour"], errors="coerce")
    out["band"] = [-1 if pd.isna(h) else settings.band_of(int(h)) for h in hour]
    for col in ("persons_met", "young_met", "collective_participants"):
        out[col] = pd.to_numeric(out[col], errors="coerce").fillna(0).astype(float)
    out["duration_hours"] = pd.to_numeric(out["duration_hours"], errors="coerce").astype(float)
    out["collective_session"] = out["collective_session"].fillna(False).astype(bool)
    out["zone"] = out["zone"].fillna("").astype(str)
    return out


def _scopes(obs: pd.DataFrame, zones: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    return [(ENSEMBLE, obs), *((z, obs[obs["zone"] == z]) for z in zones)]


def presence(obs: pd.DataFrame, zones: Sequence[str]) -> pd.DataFrame:
    """Per zone (and the network) and year: observations, hours of presence, persons met,
    young persons met (sightings), and the persons met per observation."""
    rows = []
    for zone, part in _scopes(obs, zones):
        for year in sorted(obs["year"].unique()):
            p = part[part["year"] == year]
            rows.append(
                {
                    "zone": zone,
                    "year": int(year),
                    "observations": len(p),
                    "hours": float(p["duration_hours"].sum()),
                    "persons_met": float(p["persons_met"].sum()),
                    "young_met": float(p["young_met"].sum()),
                }
            )
    return pd.DataFrame(rows)


def presence_grid(
    obs: pd.DataFrame, year: int, zones: Sequence[str], settings: DiagnosticSettings
) -> pd.DataFrame:
    """The heat map's cells for the report year: per zone, weekday and band of hours, the
    observations and the persons met (every combination, zeros included; an observation with
    no hour is left out of the cells and counted by :func:`presence` only)."""
    labels = settings.band_labels()
    cur = obs[(obs["year"] == year) & (obs["band"] >= 0)]
    rows = []
    for zone in zones:
        part = cur[cur["zone"] == zone]
        grouped = part.groupby(["weekday", "band"]).agg(
            observations=("persons_met", "size"), persons_met=("persons_met", "sum")
        )
        for day in range(7):
            for band, label in enumerate(labels):
                hit = (day, band) in grouped.index
                rows.append(
                    {
                        "zone": zone,
                        "weekday": day,
                        "jour": WEEKDAYS[day],
                        "band": band,
                        "tranche": label,
                        "observations": int(grouped.loc[(day, band), "observations"]) if hit else 0,
                        "persons_met": float(grouped.loc[(day, band), "persons_met"]) if hit else 0,
                    }
                )
    return pd.DataFrame(rows)


def _size_class(size: float) -> str:
    for name, (lo, hi) in SIZE_CLASSES.items():
        if lo <= size <= hi:
            return name
    return ""


def publics(
    obs: pd.DataFrame, groups: pd.DataFrame, zones: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """Persons met by age band and by sex, and groups by size, per zone (and the network) and
    year, from the repeat groups joined to their observation (a group whose observation is
    absent is left out: the ingest quarantines it anyway)."""
    g = groups.merge(
        obs[["submission_id", "zone", "year"]], on="submission_id", how="inner", suffixes=("_", "")
    )
    g["size"] = pd.to_numeric(g["size"], errors="coerce").fillna(0).astype(float)
    g = g[g["size"] > 0]
    g["size_class"] = g["size"].map(_size_class)
    out: dict[str, list[dict[str, Any]]] = {"age": [], "sexe": [], "taille": []}
    years = sorted(obs["year"].unique())
    for zone, part in _scopes(g, zones):
        for year in years:
            p = part[part["year"] == year]
            for band in AGE_BANDS:
                out["age"].append(
                    {
                        "zone": zone,
                        "year": int(year),
                        "age_band": band,
                        "persons": float(p.loc[p["age_band"] == band, "size"].sum()),
                    }
                )
            for sex in SEXES:
                out["sexe"].append(
                    {
                        "zone": zone,
                        "year": int(year),
                        "sex": sex,
                        "persons": float(p.loc[p["sex"] == sex, "size"].sum()),
                    }
                )
            for cls in SIZE_CLASSES:
                out["taille"].append(
                    {
                        "zone": zone,
                        "year": int(year),
                        "size_class": cls,
                        "groups": int((p["size_class"] == cls).sum()),
                    }
                )
    return {name: pd.DataFrame(rows) for name, rows in out.items()}


def _family_indicators(obs: pd.DataFrame, family: str) -> pd.DataFrame:
    codes = FAMILIES[family]
    if family == "climat":
        climate = obs["climate"].fillna("").astype(str)
        frame = pd.DataFrame({c: (climate == c).astype(int) for c in CLIMATES}, index=obs.index)
        frame[TENSE] = climate.isin(["tendu", "conflictuel"]).astype(int)
        return frame
    column = "problems" if family == "problemes" else "resources"
    return split_codes(obs[column], codes)


def code_shares(obs: pd.DataFrame, zones: Sequence[str]) -> pd.DataFrame:
    """Per family, code, zone (and the network) and year: observations where the code was
    noted, observations, and their share (an observation counts once per code)."""
    rows = []
    years = sorted(obs["year"].unique())
    for family in FAMILIES:
        flags = _family_indicators(obs, family)
        for zone, part in _scopes(obs, zones):
            for year in years:
                idx = part.index[part["year"] == year]
                n = len(idx)
                for code in flags.columns:
                    x = int(flags.loc[idx, code].sum())
                    rows.append(
                        {
                            "family": family,
                            "code": code,
                            "zone": zone,
                            "year": int(year),
                            "with_code": x,
                            "observations": n,
                            "share": x / n if n else math.nan,
                        }
                    )
    return pd.DataFrame(rows)


def _adjust(p: Sequence[float], method: str) -> np.ndarray:
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p, dtype=float)
    if len(p) == 0:
        return p
    return multipletests(p, method="holm" if method == "holm" else "fdr_bh")[1]


def _cmh_p(strata: list[np.ndarray]) -> float:
    """Cochran–Mantel–Haenszel test of no change, stratified by zone (the network's test: a
    change of the zones' mix between the years is not read as a change of the zones)."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    usable = [t for t in strata if t.sum(axis=1).min() > 0 and t.sum(axis=0).min() > 0]
    if not usable:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(StratifiedTable(usable).test_null_odds(correction=True).pvalue)


def code_changes(
    obs: pd.DataFrame, year: int, zones: Sequence[str], settings: DiagnosticSettings
) -> pd.DataFrame:
    """The change of each code's share of observations from Y − 1 to Y, per zone and for the
    network, with its test corrected for multiplicity.

    Estimand: p_Y − p_{Y−1}, the difference of the shares of observations with the code
    (95 % Newcombe hybrid score interval). Test of no change: Fisher's exact test in a zone; for
    the network, the Cochran–Mantel–Haenszel test stratified by zone. One *family* of tests per
    scope (the network, each zone): every problem, resource and the « tense or conflictual »
    climate; the p-values are corrected within the family by ``settings.correction`` (Holm by
    default: each « plus » or « moins » printed is a claim of its own, so the family-wise error
    is controlled, and Holm holds under any dependence between the codes of one observation —
    the codes of a select-multiple answer are not independent, and Benjamini–Hochberg assumes
    positive dependence). A scope with fewer than ``observations_min`` observations in either
    year is not tested (« non testé »). Limitation: observations of one zone are treated as
    independent (the same persons are met again; the test is then somewhat liberal).
    """
    from scipy.stats import fisher_exact
    from statsmodels.stats.proportion import confint_proportions_2indep

    prev = year - 1
    rows = []
    scoped = [s for s in _scopes(obs, zones)]
    flags = {f: _family_indicators(obs, f) for f in ("problemes", "ressources", "climat")}
    for zone, part in scoped:
        i0 = part.index[part["year"] == prev]
        i1 = part.index[part["year"] == year]
        n0, n1 = len(i0), len(i1)
        tested = n0 >= settings.observations_min and n1 >= settings.observations_min
        for family, frame in flags.items():
            codes = [TENSE] if family == "climat" else list(frame.columns)
            for code in codes:
                x0, x1 = int(frame.loc[i0, code].sum()), int(frame.loc[i1, code].sum())
                row = {
                    "zone": zone,
                    "family": family,
                    "code": code,
                    "with_prev": x0,
                    "obs_prev": n0,
                    "with_cur": x1,
                    "obs_cur": n1,
                    "share_prev": x0 / n0 if n0 else math.nan,
                    "share_cur": x1 / n1 if n1 else math.nan,
                    "tested": tested,
                    "diff": math.nan,
                    "diff_lo": math.nan,
                    "diff_hi": math.nan,
                    "p": math.nan,
                }
                if tested:
                    row["diff"] = row["share_cur"] - row["share_prev"]
                    lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb")
                    row["diff_lo"], row["diff_hi"] = float(lo), float(hi)
                    if zone == ENSEMBLE:
                        strata = []
                        for z in zones:
                            zp = obs[obs["zone"] == z]
                            j0 = zp.index[zp["year"] == prev]
                            j1 = zp.index[zp["year"] == year]
                            a, b = int(frame.loc[j1, code].sum()), int(frame.loc[j0, code].sum())
                            strata.append(np.array([[a, len(j1) - a], [b, len(j0) - b]]))
                        row["p"] = _cmh_p(strata)
                    else:
                        row["p"] = float(fisher_exact([[x1, n1 - x1], [x0, n0 - x0]])[1])
                rows.append(row)
    out = pd.DataFrame(rows)
    out["p_adjusted"] = math.nan
    for _, idx in out[out["tested"] & out["p"].notna()].groupby("zone").groups.items():
        out.loc[idx, "p_adjusted"] = _adjust(out.loc[idx, "p"], settings.correction)
    significant = out["p_adjusted"] < settings.alpha
    out["verdict"] = np.where(
        ~out["tested"],
        "non testé",
        np.where(significant & (out["diff"] > 0), "plus",
                 np.where(significant & (out["diff"] < 0), "moins", "stable")),
    )  # fmt: skip
    out["correction"] = settings.correction
    return out


def collective(obs: pd.DataFrame, zones: Sequence[str]) -> pd.DataFrame:
    """Collective sessions with young people and their participants (persons, sightings) per
    zone (and the network) and year."""
    rows = []
    for zone, part in _scopes(obs, zones):
        for year in sorted(obs["year"].unique()):
            p = part[(part["year"] == year) & part["collective_session"]]
            rows.append(
                {
                    "zone": zone,
                    "year": int(year),
                    "sessions": len(p),
                    "participants": float(p["collective_participants"].sum()),
                }
            )
    return pd.DataFrame(rows)


def orientation_counts(
    obs: pd.DataFrame, codes: Sequence[str], zones: Sequence[str]
) -> pd.DataFrame:
    """Observations with an orientation to each code, per zone (and the network) and year (an
    observation orienting several persons to the same partner counts once)."""
    flags = split_codes(obs["orientations"], codes)
    rows = []
    for zone, part in _scopes(obs, zones):
        for year in sorted(obs["year"].unique()):
            idx = part.index[part["year"] == year]
            for code in codes:
                rows.append(
                    {
                        "zone": zone,
                        "year": int(year),
                        "code": code,
                        "observations": int(flags.loc[idx, code].sum()),
                    }
                )
    return pd.DataFrame(rows)


def _contrast(
    params: pd.Series, cov: pd.DataFrame, weights: dict[str, float]
) -> tuple[float, float]:
    names = list(weights)
    w = np.array([weights[n] for n in names])
    est = float(w @ params[names].to_numpy())
    se = float(math.sqrt(max(w @ cov.loc[names, names].to_numpy() @ w, 0.0)))
    return est, se


def _z_p(est: float, se: float) -> float:
    from scipy.stats import norm

    return float(2 * norm.sf(abs(est / se))) if se > 0 else math.nan


def young_presence_model(
    obs: pd.DataFrame, year: int, zones: Sequence[str], settings: DiagnosticSettings
) -> dict[str, Any]:
    """The change of young people's presence per zone, Y against Y − 1.

    Estimand, per zone z: the rate ratio RR_z = λ_{z,Y} / λ_{z,Y−1}, where λ is the expected
    number of young persons (15–25) met per hour of presence, at the same weekday type and band
    of hours (the team may change its schedule between years, and young people are met at some
    hours more than at others). Model: log-linear count model of ``young_met`` per observation
    with offset log(hours of presence), zone-specific intercepts and year effects
    (zone × year), band of hours and weekend. Poisson first; when its Pearson dispersion
    exceeds 1.5 (persons come in groups: counts vary more than Poisson allows), negative
    binomial (NB2, ML). Diagnostics: dispersion, NB α, observed versus expected share of
    zeros, likelihood-ratio test that the change is the same in every zone. Beside it, the
    naive ratio: young persons met per hour in Y over the same in Y − 1, unadjusted, with a
    Poisson interval. ``rr_vs_others``: RR_z over the geometric mean of the other zones' RR.
    Zones with fewer than ``jeunes_min`` young persons met over the two years, or no hours in
    one year, are not estimated.

    Exposure (``settings.exposition``): ``heures`` puts log(duration) in the offset (a passage
    twice as long meets twice as many), ``observations`` counts per passage (no offset: the
    estimand is then the ratio of young persons met *per passage*). The choice is checked, not
    assumed: ``duration_elasticity`` is the coefficient of log(duration) left free in the same
    model (1 supports per hour, 0 per passage) with its 95 % interval, and
    ``exposure_preferred`` names the exposure nearer to it (the report warns when it is not the
    one chosen).
    """
    import statsmodels.formula.api as smf
    from scipy.stats import chi2
    from statsmodels.genmod import families

    prev = year - 1
    data = obs[obs["year"].isin([prev, year]) & obs["zone"].isin(zones)].copy()
    dropped = int((~(data["duration_hours"] > 0)).sum())
    data = data[data["duration_hours"] > 0]
    data["period"] = (data["year"] == year).astype(int)
    result: dict[str, Any] = {
        "computed": False,
        "estimand": "rapport des taux de jeunes rencontrés par heure de présence, "
        f"{year} / {prev}, à tranche horaire et type de jour égaux",
        "observations_without_duration": dropped,
        "zones": {},
    }
    kept = []
    for zone in zones:
        z = data[data["zone"] == zone]
        y0 = z.loc[z["period"] == 0, "young_met"].sum()
        y1 = z.loc[z["period"] == 1, "young_met"].sum()
        h0 = z.loc[z["period"] == 0, "duration_hours"].sum()
        h1 = z.loc[z["period"] == 1, "duration_hours"].sum()
        entry: dict[str, Any] = {
            "young_prev": float(y0),
            "young_cur": float(y1),
            "hours_prev": float(h0),
            "hours_cur": float(h1),
            "computed": False,
        }
        if settings.exposition == "observations":
            h0 = float((z["period"] == 0).sum())
            h1 = float((z["period"] == 1).sum())
        if h0 > 0 and h1 > 0 and y0 > 0 and y1 > 0:
            naive = (y1 / h1) / (y0 / h0)
            se = math.sqrt(1 / y0 + 1 / y1)
            entry["naive_rr"] = float(naive)
            entry["naive_ci95"] = [
                float(naive * math.exp(-1.96 * se)),
                float(naive * math.exp(1.96 * se)),
            ]
        if y0 + y1 >= max(settings.jeunes_min, 1) and h0 > 0 and h1 > 0 and y0 + y1 > 0:
            kept.append(zone)
        else:
            entry["reason"] = (
                f"trop peu de jeunes rencontrés ou d'heures de présence ({prev} et {year} "
                f"ensemble : au moins {settings.jeunes_min} jeunes et des heures chaque année)"
            )
        result["zones"][zone] = entry
    data = data[data["zone"].isin(kept)].copy()
    if len(kept) == 0 or data["period"].nunique() < 2:
        result["reason"] = "aucune zone n'a assez de jeunes rencontrés sur les deux années"
        return result
    data["zone_c"] = pd.Categorical(data["zone"], categories=kept)
    data["band_c"] = data["band"].astype(str)
    data["weekend"] = (data["weekday"] >= 5).astype(int)
    per_hour = settings.exposition == "heures"
    data["log_hours"] = np.log(data["duration_hours"]) if per_hour else 0.0
    if not per_hour:
        result["estimand"] = result["estimand"].replace("par heure de présence", "par observation")
    result["exposure"] = settings.exposition
    bands = "+ C(band_c) " if data["band_c"].nunique() > 1 else ""
    weekend = "+ weekend " if data["weekend"].nunique() > 1 else ""
    rhs = f"0 + C(zone_c) + C(zone_c):period {bands}{weekend}".strip()
    rhs_same = f"0 + C(zone_c) + period {bands}{weekend}".strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poisson = smf.glm(
            f"young_met ~ {rhs}", data, offset=data["log_hours"],
            family=families.Poisson(),
        ).fit()  # fmt: skip
        dispersion = float(poisson.pearson_chi2 / poisson.df_resid)
        family = "poisson"
        params, cov = poisson.params, poisson.cov_params()
        llf_full, alpha = float(poisson.llf), None
        mu = poisson.fittedvalues.to_numpy()
        p_zero = float(np.mean(np.exp(-mu)))
        same = smf.glm(
            f"young_met ~ {rhs_same}", data, offset=data["log_hours"],
            family=families.Poisson(),
        ).fit()  # fmt: skip
        llf_same = float(same.llf)
        if dispersion > 1.5:
            nb = smf.negativebinomial(f"young_met ~ {rhs}", data, offset=data["log_hours"]).fit(
                disp=0, maxiter=300, method="bfgs"
            )
            nb_same = smf.negativebinomial(
                f"young_met ~ {rhs_same}", data, offset=data["log_hours"]
            ).fit(disp=0, maxiter=300, method="bfgs")
            family = "binomiale négative"
            params, cov = nb.params, nb.cov_params()
            alpha = float(nb.params["alpha"])
            llf_full, llf_same = float(nb.llf), float(nb_same.llf)
            mu = np.asarray(nb.predict())
            p_zero = float(np.mean((1 + alpha * mu) ** (-1 / alpha)))
        # the exposure checked: log(duration) as a free covariate (no offset), same family;
        # its coefficient is 1 when persons met grow with the time spent (per hour), 0 when a
        # passage meets what it meets whatever its length (per passage)
        data["log_duration"] = np.log(data["duration_hours"])
        free = f"young_met ~ {rhs} + log_duration"
        if family == "poisson":
            elastic = smf.glm(free, data, family=families.Poisson()).fit()
        else:
            elastic = smf.negativebinomial(free, data).fit(disp=0, maxiter=300, method="bfgs")
        beta = float(elastic.params["log_duration"])
        beta_lo, beta_hi = (float(v) for v in elastic.conf_int().loc["log_duration"])
    names = {zone: f"C(zone_c)[{zone}]:period" for zone in kept}
    lr = max(2 * (llf_full - llf_same), 0.0)
    df = len(kept) - 1
    result.update(
        {
            "computed": True,
            "family": family,
            "dispersion": dispersion,
            "alpha": alpha,
            "observations": int(len(data)),
            "zero_share_observed": float((data["young_met"] == 0).mean()),
            "zero_share_expected": p_zero,
            "interaction_lr": float(lr),
            "interaction_df": int(df),
            "interaction_p": float(chi2.sf(lr, df)) if df > 0 else None,
            "covariates": [
                c for c, used in (("tranche horaire", bands), ("week-end", weekend)) if used
            ],
            "duration_elasticity": beta,
            "duration_elasticity_ci95": [beta_lo, beta_hi],
            "exposure_preferred": "heures" if abs(beta - 1.0) < abs(beta) else "observations",
        }
    )
    for zone in kept:
        est, se = _contrast(params, cov, {names[zone]: 1.0})
        entry = result["zones"][zone]
        entry.update(
            {
                "computed": True,
                "rr": math.exp(est),
                "ci95": [math.exp(est - 1.96 * se), math.exp(est + 1.96 * se)],
                "p": _z_p(est, se),
                "log_rr": est,
                "se": se,
            }
        )
        others = [z for z in kept if z != zone]
        if others:
            w = {names[zone]: 1.0} | {names[o]: -1.0 / len(others) for o in others}
            e2, s2 = _contrast(params, cov, w)
            entry["rr_vs_others"] = math.exp(e2)
            entry["rr_vs_others_ci95"] = [math.exp(e2 - 1.96 * s2), math.exp(e2 + 1.96 * s2)]
            entry["rr_vs_others_p"] = _z_p(e2, s2)
    return result


@dataclass
class DiagnosisResults:
    year: int
    zones: list[str]
    presence: pd.DataFrame
    grid: pd.DataFrame
    publics: dict[str, pd.DataFrame]
    shares: pd.DataFrame
    changes: pd.DataFrame
    collective: pd.DataFrame
    orientations: pd.DataFrame
    model: dict[str, Any]
    reported_zones: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compute_diagnosis(
    obs: pd.DataFrame,
    groups: pd.DataFrame,
    settings: DiagnosticSettings,
    year: int,
    orientation_codes: Sequence[str],
) -> DiagnosisResults:
    """Every number of the diagnosis for report year ``year`` (and ``year − 1``).

    ``orientation_codes``: the codes an orientation may take (the network's partner ids and
    :data:`ORIENTATION_EXTRA`). Observations of a zone not in ``settings.zones`` count in the
    network only (a note says how many)."""
    notes = []
    obs = prepare_observations(obs, settings)
    obs = obs[obs["year"].isin([year - 1, year])].reset_index(drop=True)
    unknown = obs[~obs["zone"].isin(settings.zones)]
    if len(unknown):
        notes.append(
            f"{len(unknown)} observation(s) hors des zones du diagnostic "
            f"({', '.join(sorted(set(unknown['zone']) - {''})) or 'zone vide'}) : comptées dans "
            "l'ensemble seulement."
        )
    if (obs["year"] == year - 1).sum() == 0:
        notes.append(f"Aucune observation en {year - 1} : pas d'évolution calculée.")
    zones = list(settings.zones)
    pres = presence(obs, zones)
    cur = pres[(pres["year"] == year) & (pres["zone"] != ENSEMBLE)]
    reported = [
        z
        for z in zones
        if int(cur.loc[cur["zone"] == z, "observations"].sum()) >= settings.observations_min
    ]
    for z in zones:
        if z not in reported:
            n = int(cur.loc[cur["zone"] == z, "observations"].sum())
            notes.append(
                f"Zone {z} : {n} observation(s) en {year}, sous le minimum de "
                f"{settings.observations_min} : pas de document ni de teinte sur la carte."
            )
    return DiagnosisResults(
        year=year,
        zones=zones,
        presence=pres,
        grid=presence_grid(obs, year, zones, settings),
        publics=publics(obs, groups, zones),
        shares=code_shares(obs, zones),
        changes=code_changes(obs, year, zones, settings),
        collective=collective(obs, zones),
        orientations=orientation_counts(obs, list(orientation_codes), zones),
        model=young_presence_model(obs, year, zones, settings),
        reported_zones=reported,
        notes=notes,
    )


TABLE_FILES = {
    "presence": "presence_zones.csv",
    "grid": "presence_jour_heure.csv",
    "shares": "codes_parts.csv",
    "changes": "codes_evolution.csv",
    "collective": "projets_collectifs.csv",
    "orientations": "orientations.csv",
}
PUBLIC_FILES = {
    "age": "publics_age.csv",
    "sexe": "publics_sexe.csv",
    "taille": "groupes_taille.csv",
}


def write_diagnosis(res: DiagnosisResults, out: Path) -> list[Path]:
    """``diagnostic.json`` (year, zones, zones with a document, the model, notes) and one CSV
    per table (internal: raw counts; the ``publication`` stage protects the persons)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "year": res.year,
        "previous_year": res.year - 1,
        "computed": True,
        "zones": res.zones,
        "reported_zones": res.reported_zones,
        "files": TABLE_FILES | PUBLIC_FILES,
        "young_model": res.model,
        "notes": res.notes,
    }
    path = out / RESULTS_FILE
    write_results_json(path, payload)
    written = [path]
    for attr, name in TABLE_FILES.items():
        written.append(out / name)
        write_csv(getattr(res, attr), written[-1])
    for key, name in PUBLIC_FILES.items():
        written.append(out / name)
        write_csv(res.publics[key], written[-1])
    return written


def orientation_codes(obs: pd.DataFrame, partners: Iterable[str] = ()) -> list[str]:
    """The orientation codes of the tables: the network's partners seen in the data (in the
    order of ``partners``), any other code seen, then :data:`ORIENTATION_EXTRA` (CPAS, health,
    other: always listed, zero or not)."""
    seen = set(" ".join(obs["orientations"].fillna("").astype(str)).split())
    first = [p for p in partners if p in seen and p not in ORIENTATION_EXTRA]
    others = sorted(seen - set(first) - set(ORIENTATION_EXTRA))
    return [*first, *others, *ORIENTATION_EXTRA]


def write_not_computed(out: Path, year: int, reason: str) -> list[Path]:
    """``diagnostic.json`` saying, in French, why nothing was computed (no tables)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    payload = {"year": year, "previous_year": year - 1, "computed": False, "notes": [reason]}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return [path]


def read_diagnosis(folder: Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]] | None:
    """``diagnostic.json`` and its tables, or None when the stage has not run."""
    folder = Path(folder)
    path = folder / RESULTS_FILE
    if not path.exists():
        return None
    meta = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("computed") is False:
        return None
    frames = {
        key: pd.read_csv(folder / name, keep_default_na=False, na_values=[""])
        for key, name in (TABLE_FILES | PUBLIC_FILES).items()
    }
    return meta, frames


__all__ += [
    "PUBLIC_FILES",
    "TABLE_FILES",
    "orientation_codes",
    "read_diagnosis",
    "write_not_computed",
]
