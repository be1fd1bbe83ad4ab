"""What the model says about its own linkage, for real data where no truth exists.

Written as data under ``outputs/linkage/`` for the methods annex (French column names):

- ``poids_des_niveaux.csv``: each comparison level's m and u probabilities and its match
  weight log2(m/u), in bits: how much agreeing (or disagreeing) in that way moves the odds;
- ``distribution_des_poids.csv``: all scored pairs by match weight (1-bit bins), with the
  match probability at the bin's lower edge. A well-separated model shows two humps, non-matches
  at negative weights and matches at high weights, and few pairs in between;
- ``pres_du_seuil.csv``: the pairs whose probability lies in the uncertain band around the
  threshold, counted by their pattern of comparison levels: what the model hesitates on;
- ``sensibilite_au_seuil.csv``: distinct persons, network-wide and per dispositif, for all
  years together and each year, at a range of thresholds (the headline counts' sensitivity);
- ``fourchette_reseau.csv``: per year, the network-wide distinct persons as a range, since
  street work is not linked to named records (see :mod:`observatoire.linkage.street_work`);
- ``modele_splink.json``: the fitted Splink model, reloadable with ``splink.Linker``;
- ``identite.json``: what each partner's identity allows (records linked by a network-wide id
  only, records without name nor network id outside street work, each its own person, per
  partner), the constant identity columns neutralised and the blocking rules dropped, with
  their French warnings (:mod:`observatoire.linkage.safeguards`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.presence import periods_covered
from observatoire.core.storage import write_csv, write_json
from observatoire.linkage.link import Linkage
from observatoire.linkage.model import BLOCKING_RULES, COMPARISONS

__all__ = [
    "NAMED",
    "NETWORK",
    "level_weights",
    "near_threshold",
    "network_range",
    "threshold_sensitivity",
    "weight_distribution",
    "write_diagnostics",
]

NETWORK = "reseau"
NAMED = "dossiers_nominatifs"


def _r(x: float | None, digits: int = 6) -> float | None:
    """Rounded for stable, readable files (the model is computed in floating point)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return float(f"{x:.{digits}g}")


def level_weights(model: dict[str, Any]) -> pd.DataFrame:
    """One row per comparison level: m, u and match weight in bits (null levels excluded)."""
    rows = []
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for rank, level in enumerate(levels):
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append(
                {
                    "comparaison": comparison["output_column_name"],
                    "rang": rank,
                    "niveau": level.get("label_for_charts", ""),
                    "m": _r(m),
                    "u": _r(u),
                    "poids_bits": _r(weight, 4),
                    "ajustement_frequence": bool(level.get("tf_adjustment_column")),
                }
            )
    return pd.DataFrame(rows)


def weight_distribution(histogram: pd.DataFrame) -> pd.DataFrame:
    out = histogram.rename(columns={"poids_bas": "poids_min_bits"}).copy()
    # Splink's match weight includes the prior: probability = 2^w / (1 + 2^w).
    out["probabilite_min"] = [_r(1 / (1 + 2.0**-w)) for w in out["poids_min_bits"]]
    return out[["poids_min_bits", "probabilite_min", "paires"]]


def _level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Splink's comparison vector value (gamma) → level label, per comparison."""
    out: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        labels = {
            -1: next((lv["label_for_charts"] for lv in levels if lv.get("is_null_level")), "")
        }
        for i, level in enumerate(non_null):
            labels[len(non_null) - 1 - i] = level.get("label_for_charts", "")
        out[comparison["output_column_name"]] = labels
    return out


def near_threshold(
    pairs: pd.DataFrame, model: dict[str, Any], band: tuple[float, float]
) -> pd.DataFrame:
    """Pairs with band[0] ≤ probability < band[1], by their pattern of comparison levels."""
    low, high = band
    near = pairs[(pairs["match_probability"] >= low) & (pairs["match_probability"] < high)]
    labels = _level_labels(model)
    cols = [f"gamma_{c}" for c in COMPARISONS]
    if near.empty:
        return pd.DataFrame(columns=[*COMPARISONS, "paires", "probabilite_moyenne"])
    grouped = (
        near.groupby(cols)["match_probability"]
        .agg(paires="size", probabilite_moyenne="mean")
        .reset_index()
        .sort_values(["paires", *cols], ascending=[False, *[True] * len(cols)])
    )
    for c in COMPARISONS:
        grouped[c] = grouped.pop(f"gamma_{c}").map(labels[c])
    grouped["probabilite_moyenne"] = grouped["probabilite_moyenne"].map(_r)
    return grouped[[*COMPARISONS, "paires", "probabilite_moyenne"]].reset_index(drop=True)


def _record_activity(contacts: pd.DataFrame) -> pd.DataFrame:
    """Each record's dispositif and the years it is *present* in (a visit's year, every year a
    stay runs through: :func:`observatoire.core.presence.periods_covered`), the rule of every
    count of persons of the reports, so that the range brackets the report's count."""
    covered = periods_covered(contacts, "Y")
    years = covered["period"].dt.year.astype("int64")
    out = covered[["record_key", "dispositif"]].assign(year=years.to_numpy())
    return out.drop_duplicates().reset_index(drop=True)


class _PersonCounts:
    """Distinct persons per period (all years, then each year) and scope (network, named
    records, each dispositif) of the records' activity, for one record → person mapping after
    another: the groups are found once and each mapping is only counted (the threshold
    sensitivity counts a dozen mappings of the same records; a groupby of the text columns
    per mapping was most of its time)."""

    def __init__(self, activity: pd.DataFrame, street: set[str]) -> None:
        self.record, self.records = pd.factorize(activity["record_key"])
        self.year = activity["year"].to_numpy()
        self.disp, self.dispositifs = pd.factorize(activity["dispositif"], sort=True)
        self.named = ~activity["record_key"].isin(street).to_numpy()
        pairs = pd.DataFrame({"year": self.year, "disp": self.disp})
        self.groups = {
            "toutes": sorted(set(self.disp[self.disp >= 0])),
            **{
                y: sorted(g.loc[g["disp"] >= 0, "disp"].unique())
                for y, g in pairs.groupby("year", sort=True)
            },
        }

    def rows(self, person_of: pd.Series) -> list[dict]:
        """The rows of :func:`threshold_sensitivity` for one mapping (a record of no person
        counts no one, as ``nunique`` skips a missing value)."""
        codes, _ = pd.factorize(person_of.reindex(self.records))
        person = codes[self.record]
        frame = pd.DataFrame(
            {"year": self.year, "disp": self.disp, "named": self.named, "person": person}
        )
        frame = frame[frame["person"] >= 0]
        rows = []
        for period, keys in self.groups.items():
            rows_of = frame if period == "toutes" else frame[frame["year"] == period]
            named = rows_of[rows_of["named"]]
            per_disp = rows_of.drop_duplicates(["disp", "person"])["disp"].value_counts()
            label = str(period)
            rows.append(
                {"periode": label, "portee": NETWORK, "personnes": rows_of["person"].nunique()}
            )
            rows.append({"periode": label, "portee": NAMED, "personnes": named["person"].nunique()})
            for code in keys:
                rows.append(
                    {
                        "periode": label,
                        "portee": str(self.dispositifs[code]),
                        "personnes": int(per_disp.get(code, 0)),
                    }
                )
        return rows


def threshold_sensitivity(
    linkage: Linkage, contacts: pd.DataFrame, activity: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Distinct persons at each threshold of the settings' grid (and at the run's threshold).

    ``activity``: the records' :func:`_record_activity` when already made (else from
    ``contacts``)."""
    if activity is None:
        activity = _record_activity(contacts)
    counts = _PersonCounts(activity, set(linkage.street.index))
    grid = sorted({*linkage.settings.sensitivity_thresholds, linkage.settings.threshold})
    rows = []
    for t, cluster in linkage.clusters_of(grid).items():
        for row in counts.rows(cluster):
            rows.append({"seuil": t, **row, "seuil_retenu": t == linkage.settings.threshold})
    return pd.DataFrame(rows)


def network_range(
    contacts: pd.DataFrame,
    tokens: pd.DataFrame,
    person_of: pd.Series,
    street: set[str],
    max_age_gap: int,
    activity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per year, network-wide distinct persons as a range, persons counted by presence (as
    every report counts them). ``activity``: as for :func:`threshold_sensitivity`.

    Maximum: named persons + street-work chains (every street-work person counted apart).
    Minimum: named persons + the street-work chains that no named person active that year
    could be (no one with the same initials and sex and a birth year within ``max_age_gap``
    years of the estimated one): those are certainly other persons. Both bounds carry the
    named linkage's own error (persons within ±1 % of the truth on the synthetic sample).
    """
    tok = tokens.drop_duplicates("record_key").set_index("record_key")
    if activity is None:
        activity = _record_activity(contacts)
    rec = activity[["record_key", "year"]].drop_duplicates()
    rec = rec.assign(
        person_id=rec["record_key"].map(person_of),
        street=rec["record_key"].isin(street),
        sex=rec["record_key"].map(tok["sex"]),
    )
    ini_col = np.where(
        rec["street"],
        rec["record_key"].map(tok["tok_initials"]),
        rec["record_key"].map(tok.get("tok_name_initials", pd.Series(dtype=object))),
    )
    year_col = np.where(
        rec["street"],
        rec["record_key"].map(tok["est_birth_year"]),
        rec["record_key"].map(tok["birth_year"]),
    )
    rec = rec.assign(ini=ini_col, by=pd.to_numeric(pd.Series(year_col, index=rec.index)))
    rows = []
    for period, frame in [("toutes", rec), *((str(y), g) for y, g in rec.groupby("year"))]:
        named = frame[~frame["street"]]
        chains = (
            frame[frame["street"]]
            .groupby("person_id")
            .agg(ini=("ini", "first"), sex=("sex", "first"), by=("by", "median"))
            .reset_index()
        )
        people = named.dropna(subset=["ini", "by"])[["person_id", "ini", "sex", "by"]]
        cand = chains.merge(people, on=["ini", "sex"], suffixes=("", "_n"))
        cand = cand[(cand["by_n"] - cand["by"]).abs() <= max_age_gap]
        certain = len(chains) - cand["person_id"].nunique()
        n_named = named["person_id"].nunique()
        rows.append(
            {
                "periode": period,
                "personnes_nominatives": n_named,
                "chaines_travail_de_rue": len(chains),
                "travail_de_rue_sans_correspondant_possible": certain,
                "minimum": n_named + certain,
                "maximum": n_named + len(chains),
            }
        )
    return pd.DataFrame(rows)


def write_diagnostics(
    linkage: Linkage,
    contacts: pd.DataFrame,
    tokens: pd.DataFrame,
    out_dir: Path,
    max_age_gap: int = 10,
) -> dict[str, Any]:
    """Write the diagnostics files and return their summary for ``linkage.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = linkage.settings
    summary: dict[str, Any] = {}
    scored = linkage.scored
    if scored is not None:
        weights = level_weights(scored.model)
        write_csv(weights, out_dir / "poids_des_niveaux.csv")
        write_csv(weight_distribution(scored.histogram), out_dir / "distribution_des_poids.csv")
        near = near_threshold(scored.pairs, scored.model, settings.near_threshold)
        write_csv(near, out_dir / "pres_du_seuil.csv")
        write_json(out_dir / "modele_splink.json", _rounded_model(scored.model))
        p = scored.pairs["match_probability"]
        t = settings.threshold
        summary["modele"] = {
            "probabilite_a_priori": _r(scored.model["probability_two_random_records_match"]),
            "paires_comparees": scored.n_pairs,
            "paires_par_regle_de_blocage": scored.pairs_by_rule,
            "regles_de_blocage": [
                label for label, _ in BLOCKING_RULES if label not in linkage.identity.dropped_rules
            ],
            "sessions_em": scored.em_sessions,
            "paires_au_dessus_du_seuil": int((p >= t).sum()),
            "paires_pres_du_seuil": {
                "bande": list(settings.near_threshold),
                "paires": int(near["paires"].sum()) if len(near) else 0,
            },
            "liens_refuses_contradiction": linkage.clustering.refused,
        }
    identity = linkage.identity.to_json()
    write_json(out_dir / "identite.json", identity)
    summary["identite"] = identity
    # The records' years of presence, made once for both tables (a pass over every contact).
    activity = _record_activity(contacts)
    sensitivity = threshold_sensitivity(linkage, contacts, activity)
    write_csv(sensitivity, out_dir / "sensibilite_au_seuil.csv")
    person_of = linkage.person_of()
    bracket = network_range(
        contacts, tokens, person_of, set(linkage.street.index), max_age_gap, activity
    )
    write_csv(bracket, out_dir / "fourchette_reseau.csv")
    summary["fourchette_reseau"] = bracket.set_index("periode").to_dict(orient="index")
    summary["sensibilite"] = (
        sensitivity[(sensitivity["periode"] == "toutes") & (sensitivity["portee"] == NETWORK)]
        .set_index("seuil")["personnes"]
        .rename(index=str)
        .to_dict()
    )
    return summary


def _rounded_model(model: dict[str, Any]) -> dict[str, Any]:
    """Splink's model with probabilities rounded (stable files from run to run)."""

    def walk(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        if isinstance(obj, float):
            return _r(obj, 10)
        return obj

    return walk(model)
