"""The ``linkage_imputations`` stage: persons counts with the linkage's error carried through.

Estimands, for each year (persons present in the year, the report's counting rule): the
network's persons known by name (``dossiers_nominatifs``), the persons of each dispositif, the
share of the persons known by name who used several dispositifs (maison d'accueil and Housing
First counting as one, as in the report's table), and the bounds of the network's count (the
street-work persons no named person could be, for the minimum; every street-work chain, for
the maximum; :func:`observatoire.linkage.diagnostics.network_range`).

Each imputation draws the links of the named records from their match probabilities
(:mod:`observatoire.linkage.imputation`), regroups and recounts. A count describes the year's
persons (a census of the network's records, no sampling): its only uncertainty here is the
linkage's, so Rubin's within-imputation variance is nil and the total variance is
(1 + 1/M)·B, B the variance between imputations; the interval is the mean ± t(M−1)·√T. The
network's range carries it on both bounds: lower end of the minimum, upper end of the maximum.

Match probabilities of a Fellegi–Sunter model are seldom calibrated (the comparisons are not
independent given the match status): they are first recalibrated on reviewed pairs
(:func:`~observatoire.linkage.imputation.fit_recalibration`), the recalibration refitted on a
bootstrap of the review for each imputation so that its own uncertainty is carried too. On the
synthetic sample the truth plays the reviewer; its coverage of the true counts is written
beside the intervals (``verite``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.contracts import read_json_object
from observatoire.core.dispositifs import STREET_WORK
from observatoire.core.person_level import NO_PERSONS_REASON, has_persons
from observatoire.core.presence import periods_covered
from observatoire.core.storage import atomic_dir, write_csv, write_json
from observatoire.indicators.pathways import COMBINATION_GROUPS
from observatoire.linkage import quality
from observatoire.linkage.imputation import (
    REVIEW_BANDS,
    SCORED,
    LinkageState,
    calibration,
    draw_clusters,
    fit_recalibration,
    recalibrated,
    review_sample,
)

__all__ = [
    "IMPUTATIONS_FILE",
    "CodedPresence",
    "MAXIMUM",
    "MINIMUM",
    "NAMED",
    "SEVERAL",
    "count_cells",
    "presence_table",
    "rubin",
    "stage_linkage_imputations",
]

IMPUTATIONS_FILE = PATHS.linkage_imputations_summary.name
NAMED = "dossiers_nominatifs"
MINIMUM = "reseau_minimum"
MAXIMUM = "reseau_maximum"
SEVERAL = "part_plusieurs_dispositifs"


def presence_table(contacts: pd.DataFrame, linked: pd.Series | None = None) -> pd.DataFrame:
    """One row per record, year it is present in and dispositif (``street``: a street-work
    record, never linked to named ones). ``linked``: the keys of the records the link stage
    groups with the others (named, or carrying a network-wide id); a street-work row of such a
    record is not street work's initials-only count (it is a person known by name or id, as in
    :func:`observatoire.linkage.diagnostics.network_range`)."""
    covered = periods_covered(contacts, "Y")
    out = pd.DataFrame(
        {
            "record_key": covered["record_key"],
            "year": covered["period"].dt.year.astype("int64"),
            "dispositif": covered["dispositif"].astype(str),
        }
    ).drop_duplicates(ignore_index=True)
    street = out["dispositif"] == STREET_WORK
    if linked is not None:
        street &= ~out["record_key"].isin(set(linked))
    return out.assign(street=street)


def count_cells(presence: pd.DataFrame, person: pd.Series, certain: dict[int, int]) -> pd.DataFrame:
    """The stage's estimands under one grouping (``person``: record key → person, or record
    key → true person for the truth). ``certain``: per year, the street-work persons no named
    person could be (the minimum's street-work part)."""
    return CodedPresence(presence).cells(person, certain)


def _n_distinct(codes: np.ndarray) -> int:
    """``nunique`` on integer codes (a missing value, −1, is not counted)."""
    return int(np.count_nonzero(np.bincount(codes[codes >= 0])))


class CodedPresence:
    """A :func:`presence_table` as integer codes, made once, counted under one grouping after
    another (:meth:`cells`).

    The stage counts some twenty groupings of the same records (one per imputation, the
    link stage's, the truth's); mapping each onto the table's record keys and grouping on its
    text person ids per year was most of the stage's time on a regional network. On codes,
    each count is a ``bincount``; the cells are those of the frame computation, to the bit."""

    def __init__(self, presence: pd.DataFrame) -> None:
        self.record, self.records = pd.factorize(presence["record_key"])
        self.year = presence["year"].to_numpy()
        self.years = np.unique(self.year)
        self.disp, self.dispositifs = pd.factorize(presence["dispositif"], sort=True)
        group = pd.factorize(
            pd.Series(self.dispositifs).map(lambda d: COMBINATION_GROUPS.get(d, d))
        )[0]
        self.group = np.where(self.disp >= 0, group[self.disp], -1)
        self.street = presence["street"].to_numpy(dtype=bool)

    def cells(self, person: pd.Series, certain: dict[int, int]) -> pd.DataFrame:
        """:func:`count_cells` of the grouping ``person`` (record key → person)."""
        codes = pd.factorize(person.reindex(self.records))[0]
        who = np.where(self.record >= 0, codes[self.record], -1)
        rows = []
        for year in self.years:
            in_year = self.year == year
            named = in_year & ~self.street
            n_named = _n_distinct(who[named])
            everyone = _n_distinct(who[in_year])
            streets = _n_distinct(who[in_year & self.street])
            # Persons known by name in two groups of dispositifs or more.
            known = named & (who >= 0) & (self.group >= 0)
            radix = int(self.group.max(initial=0)) + 1
            pairs = pd.unique(who[known] * radix + self.group[known])
            n_groups = np.bincount(pairs // radix)
            share = float((n_groups >= 2).sum() / n_named) if n_named else math.nan
            cells = {
                NAMED: n_named,
                MAXIMUM: everyone,
                MINIMUM: everyone - streets + certain.get(int(year), streets),
                SEVERAL: share,
            }
            for d in np.flatnonzero(np.bincount(self.disp[named & (self.disp >= 0)])):
                cells[f"dispositif={self.dispositifs[d]}"] = _n_distinct(
                    who[named & (self.disp == d)]
                )
            rows.extend({"annee": int(year), "portee": k, "valeur": v} for k, v in cells.items())
        return pd.DataFrame(rows)


def rubin(values: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Rubin's rules for an estimand without sampling variance: mean, between-imputation
    variance B, total variance (1 + 1/M)·B, interval mean ± t(M−1)·√T; with the imputations'
    minimum and maximum."""
    v = np.asarray(values, dtype="float64")
    m = len(v)
    mean = float(v.mean())
    b = float(v.var(ddof=1)) if m > 1 else 0.0
    half = float(stats.t.ppf(0.5 + level / 2, m - 1) * math.sqrt((1 + 1 / m) * b)) if m > 1 else 0
    return {
        "moyenne": mean,
        "variance_entre": b,
        "bas": mean - half,
        "haut": mean + half,
        "min": float(v.min()),
        "max": float(v.max()),
    }


def _certain_street(linkage: dict[str, Any]) -> dict[int, int]:
    bracket = linkage.get("fourchette_reseau", {})
    return {
        int(y): int(r["travail_de_rue_sans_correspondant_possible"])
        for y, r in bracket.items()
        if y.isdigit() and r.get("travail_de_rue_sans_correspondant_possible") is not None
    }


def _truth_person(contacts: pd.DataFrame) -> pd.Series | None:
    """Record key → its true person (the most frequent), on the synthetic sample only."""
    truth, _ = quality.load_truth(PATHS.sample_truth)
    rows = contacts[["record_key", "source_file", "source_row"]].merge(
        truth, on=["source_file", "source_row"], how="left"
    )
    if rows["true_person_id"].isna().any():
        return None
    return _most_frequent(rows, "record_key", "true_person_id")


def _most_frequent(rows: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Per ``key``, its most frequent ``value`` (ties: the smallest, as ``Series.mode``
    sorts), by one count of the pairs rather than a ``mode`` per key (a Python call per
    record was most of the stage's time on a regional network)."""
    counts = rows.groupby([key, value]).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", value], ascending=[True, False, True])
    return counts.drop_duplicates(key).set_index(key)[value]


def _review(
    state: LinkageState, review_file: Path | None, truth: pd.Series | None, n: int, seed: int
) -> tuple[pd.DataFrame | None, str]:
    """The reviewed pairs (``match_probability``, ``same``) and where their verdicts come from."""
    scored = state.pairs[state.pairs["lien"] == SCORED]
    if review_file is not None and Path(review_file).exists():
        verdicts = pd.read_csv(review_file, dtype={"record_key_l": str, "record_key_r": str})
        both = pd.concat(
            [
                verdicts,
                verdicts.rename(
                    columns={"record_key_l": "record_key_r", "record_key_r": "record_key_l"}
                ),
            ]
        )
        merged = scored.merge(both, on=["record_key_l", "record_key_r"], how="inner")
        return merged.assign(
            same=merged["meme_personne"].astype(bool)
        ), f"relecture ({review_file})"
    if truth is not None:
        sample = review_sample(state.pairs, n, seed)
        same = (
            sample["record_key_l"].map(truth).to_numpy()
            == sample["record_key_r"].map(truth).to_numpy()
        )
        return sample.assign(same=same), "vérité synthétique (relecture simulée)"
    return None, "probabilités du modèle, non recalibrées (aucune paire relue)"


def stage_linkage_imputations(settings: Settings) -> None:
    """Draw the links ``draws`` times, recount, combine; write ``outputs/linkage_imputations/``."""
    cfg = settings.linkage_imputations
    state = LinkageState(
        pd.read_parquet(PATHS.linkage_records), pd.read_parquet(PATHS.linkage_pairs)
    )
    contacts = pd.read_parquet(PATHS.contacts)
    linkage = read_json_object(PATHS.metrics / "linkage.json")
    if not has_persons(contacts):
        _write_no_persons(cfg, settings.report.year)
        return
    certain = _certain_street(linkage)
    presence = presence_table(contacts, state.named["record_key"])
    synthetic = quality.truth_applies(settings.inputs.raw_dir, PATHS.sample, PATHS.sample_truth)
    truth = _truth_person(contacts) if synthetic else None
    review, source = _review(state, cfg.review, truth, cfg.review_pairs, cfg.seed)
    fallback = linkage.get("methode_de_repli")
    if fallback:
        source = (
            "méthode de repli de la liaison (règles exactes) : ses liens sont pris comme "
            "certains, aucune erreur de liaison n'est propagée pour eux"
        )

    # The recalibration refitted on a bootstrap of the review for each imputation: its own
    # uncertainty (a few dozen pairs per band) is carried into the draws.
    rng = np.random.default_rng(cfg.seed + 1)
    coefs: list[np.ndarray | None] = [None] * cfg.draws
    point = None
    if review is not None and len(review):
        p_rev, same = review["match_probability"].to_numpy(), review["same"].to_numpy()
        point = fit_recalibration(p_rev, same)
        for m in range(cfg.draws):
            i = rng.integers(0, len(p_rev), len(p_rev))
            coefs[m] = fit_recalibration(p_rev[i], same[i])

    def probabilities(m: int, p: np.ndarray) -> np.ndarray:
        return recalibrated(p, coefs[m])

    coded = CodedPresence(presence)
    per_draw = []
    for m, cluster in enumerate(draw_clusters(state, cfg.draws, cfg.seed, None, probabilities)):
        per_draw.append(coded.cells(cluster, certain).assign(imputation=m + 1))
    draws = pd.concat(per_draw, ignore_index=True)
    linked = next(draw_clusters(state, 0, cfg.seed, threshold=settings.linkage.threshold))
    retained = coded.cells(linked, certain).set_index(["annee", "portee"])["valeur"]
    true = None
    if truth is not None:
        true = coded.cells(truth, {}).set_index(["annee", "portee"])["valeur"]
        # The truth's network count is one number: both bounds' cells hold it.
    rows = []
    for (year, scope), grp in draws.groupby(["annee", "portee"], sort=True):
        r = rubin(grp["valeur"].to_numpy(), cfg.level)
        row = {"annee": year, "portee": scope, "seuil_retenu": retained.get((year, scope)), **r}
        if true is not None:
            tv = true.get((year, MAXIMUM if scope == MINIMUM else scope))
            row["verite"] = tv
            if scope in (MINIMUM, MAXIMUM):
                low = _value(draws, year, MINIMUM, cfg.level, "bas")
                high = _value(draws, year, MAXIMUM, cfg.level, "haut")
                row["couvre_verite"] = bool(low <= tv <= high)
            else:
                row["couvre_verite"] = bool(r["bas"] <= tv <= r["haut"])
        rows.append(row)
    table = pd.DataFrame(rows)
    out_dir = PATHS.linkage_imputations
    calib = None
    if truth is not None:
        scored = state.pairs[state.pairs["lien"] == SCORED]
        same = (
            scored["record_key_l"].map(truth).to_numpy()
            == scored["record_key_r"].map(truth).to_numpy()
        )
        calib = calibration(scored, pd.Series(same, index=scored.index))
        calib["probabilite_recalibree"] = [
            float(recalibrated(np.array([v]), point)[0]) for v in calib["probabilite_moyenne"]
        ]
    summary = _summary(table, cfg, source, point, review, settings.report.year)
    summary["methode_de_repli"] = fallback or None
    with atomic_dir(out_dir) as out:
        write_csv(
            draws[["imputation", "annee", "portee", "valeur"]], out / "comptes_par_imputation.csv"
        )
        write_csv(_rounded(table), out / "intervalles.csv")
        if calib is not None:
            write_csv(_rounded(calib), out / "calibration.csv")
        write_json(out / IMPUTATIONS_FILE, summary)
    _print(summary, settings.report.year, out_dir)


def _write_no_persons(cfg: Any, year: int) -> None:
    """No person-level rows (a counts-only network): no link to draw, no count to combine.
    The outputs say why, with the tables' headers and no cell (never a zero person)."""
    summary = _summary(
        pd.DataFrame(columns=["annee", "portee"]), cfg, NO_PERSONS_REASON, None, None, year
    )
    summary["methode_de_repli"] = None
    summary["non_calcule"] = NO_PERSONS_REASON
    out_dir = PATHS.linkage_imputations
    with atomic_dir(out_dir) as out:
        write_csv(
            pd.DataFrame(columns=["imputation", "annee", "portee", "valeur"]),
            out / "comptes_par_imputation.csv",
        )
        write_csv(
            pd.DataFrame(columns=["annee", "portee", "seuil_retenu", "moyenne", "bas", "haut"]),
            out / "intervalles.csv",
        )
        write_json(out / IMPUTATIONS_FILE, summary)
    print(f"Imputations de la liaison non calculées : {NO_PERSONS_REASON} ({out_dir}/).")


def _value(draws: pd.DataFrame, year: int, scope: str, level: float, end: str) -> float:
    values = draws.loc[(draws["annee"] == year) & (draws["portee"] == scope), "valeur"]
    return rubin(values.to_numpy(), level)[end]


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == "float64":
            out[col] = out[col].map(lambda v: float(f"{v:.6g}") if pd.notna(v) else v)
    return out


def _summary(
    table: pd.DataFrame,
    cfg: Any,
    source: str,
    point: np.ndarray | None,
    review: pd.DataFrame | None,
    year: int,
) -> dict[str, Any]:
    """``imputations.json``: the method, and per year the cells the report prints."""
    years: dict[str, Any] = {}
    for y, grp in table.groupby("annee"):
        cells = {}
        for r in grp.to_dict(orient="records"):
            cell = {
                k: (float(f"{v:.6g}") if isinstance(v, float) and math.isfinite(v) else v)
                for k, v in r.items()
                if k not in ("annee", "portee")
            }
            cells[r["portee"]] = cell
        years[str(y)] = cells
    coverage = None
    if "couvre_verite" in table:
        counts = table[table["portee"] != SEVERAL]
        coverage = {
            "cellules": int(len(table)),
            "couvertes": int(table["couvre_verite"].sum()),
            "comptes_couverts": int(counts["couvre_verite"].sum()),
            "comptes": int(len(counts)),
        }
    return {
        "methode": "imputation multiple des liens (tirages selon les probabilités de "
        "correspondance recalibrées), règles de Rubin",
        "imputations": cfg.draws,
        "graine": cfg.seed,
        "niveau": cfg.level,
        "recalibration": {
            "source": source,
            "paires_relues": 0 if review is None else int(len(review)),
            "bandes": list(REVIEW_BANDS),
            "decalage_log_cote": None if point is None else [round(float(v), 4) for v in point],
        },
        "annee_du_rapport": year,
        "couverture_verite": coverage,
        "annees": years,
    }


def _print(summary: dict[str, Any], year: int, out_dir: Path) -> None:
    cells = summary["annees"].get(str(year), {})
    named, low, high = cells.get(NAMED), cells.get(MINIMUM), cells.get(MAXIMUM)
    print(
        f"Imputations de la liaison : {summary['imputations']} tirages des liens "
        f"({summary['recalibration']['source']}) ; résultats dans {out_dir}/."
    )
    if named and low and high:
        print(
            f"  {year} : personnes nominatives {named['moyenne']:.0f} "
            f"(IC {round(100 * summary['niveau'])} % {named['bas']:.0f} à {named['haut']:.0f}) ; "
            f"réseau de {low['bas']:.0f} à {high['haut']:.0f} personnes."
        )
    cov = summary.get("couverture_verite")
    if cov:
        print(
            f"  Vérité synthétique : {cov['comptes_couverts']} comptes couverts sur "
            f"{cov['comptes']} (toutes années, dispositifs et bornes)."
        )
