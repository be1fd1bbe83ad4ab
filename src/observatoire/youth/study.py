"""The youth-errance study from end to end: cohort, profile, trajectories, services, flows.

:func:`run_study` computes every result of the report ``jeunes-en-errance`` from the linked
contacts; the notebook ``notebooks/jeunes.py`` calls its steps one by one so that the
committee can read them. Results are raw (unsuppressed) counts and estimates; disclosure
control is applied when the report publishes them (:mod:`observatoire.youth.publish`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.coverage import Coverage, coverage_of
from observatoire.core.dispositifs import DISPOSITIFS, SHELTER, STREET_WORK
from observatoire.core.presence import in_year, presence_span
from observatoire.indicators import counts, flows
from observatoire.youth import competing, robustness, services, survival, typology
from observatoire.youth import sequences as seq
from observatoire.youth.cohort import (
    ADULTS,
    GROUP_LABELS,
    STREET,
    YOUTH,
    StudyParams,
    build_cohort,
)
from observatoire.youth.compare import adjusted_effects, compare_proportions, holm, unstable

NATIONALITY_LABELS = {
    "BE": "Belges",
    "UE": "Autres pays de l'UE",
    "HORS_UE": "Hors UE",
    "INCONNU": "Nationalité inconnue",
}


COHORT = "cohorte"
ACTIVE = "actifs"
"""The two populations of the youth-vs-adults tables, never mixed in one table: the entry
cohort (first contact in the window, followed 24 months) and the persons active in the report
year (everyone with a contact that year, whenever they arrived)."""


@dataclass
class StudyResults:
    """Everything the notebook shows and the report publishes."""

    study: StudyParams
    cohort: pd.DataFrame
    profile: pd.DataFrame
    activated: pd.DataFrame
    fled: pd.DataFrame
    exits: pd.DataFrame
    first_services: pd.DataFrame
    paths: dict[str, pd.DataFrame]
    combinations: dict[str, pd.DataFrame]
    sequences: seq.SequenceSet
    distributions: dict[str, pd.DataFrame]
    transitions: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
    typology: typology.Typology | None
    types: pd.DataFrame
    type_distributions: dict[str, pd.DataFrame]
    survival: dict[str, dict[str, Any]]
    flows: pd.DataFrame
    youth_share_trend: dict[str, Any]
    typology_checks: dict[str, Any] = field(default_factory=dict)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, Any] = field(default_factory=dict)
    not_computable: dict[str, str] = field(default_factory=dict)
    """What the study could not compute on these data, each with its reason in French, as the
    report prints it (no person count: the report prints counts from its publication)."""


def _flag(row: dict, study: StudyParams) -> dict:
    row["unstable"] = bool(
        unstable(int(min(row.get("n_youth", 0), row.get("n_adults", 0))), study.min_base)
    )
    return row


def profile(
    contacts: pd.DataFrame,
    cohort: pd.DataFrame,
    fu: pd.DataFrame,
    study: StudyParams,
    coverage: Coverage | None = None,
) -> pd.DataFrame:
    """Youth against adults on the profile measures, each with its difference and 95 % CI, and
    the King Baudouin Foundation's figure where it measures the same thing. ``population``
    says whose shares they are: the entry cohort (:data:`COHORT`) or the persons active in
    the report year (:data:`ACTIVE`, the KBS's « depuis plus de deux ans » and the newcomers
    of the year); the report prints them in two tables."""
    refs = study.references or {}
    y, a = cohort[cohort["group"] == YOUTH], cohort[cohort["group"] == ADULTS]
    rows: list[dict[str, Any]] = []

    def add(label: str, xy: int, ny: int, xa: int, na: int, **extra: Any) -> None:
        row = {"indicator": label, "x_youth": xy, "n_youth": ny, "x_adults": xa, "n_adults": na}
        row["population"] = extra.pop("population", COHORT)
        row |= compare_proportions(xy, ny, xa, na)
        rows.append(_flag(row | extra, study))

    known_y = y[y["sex"].isin(["F", "M"])]
    known_a = a[a["sex"].isin(["F", "M"])]
    ref = refs.get("femmes", {})
    add(
        "Femmes",
        int((known_y["sex"] == "F").sum()),
        len(known_y),
        int((known_a["sex"] == "F").sum()),
        len(known_a),
        ref_youth=ref.get("jeunes"),
        ref_adults=ref.get("adultes"),
        ref_source=ref.get("source"),
    )
    for code, label in NATIONALITY_LABELS.items():
        add(
            label,
            int((y["nationality_group"] == code).sum()),
            len(y),
            int((a["nationality_group"] == code).sum()),
            len(a),
        )
    add(
        "Âge estimé par le travail de rue",
        int(y["age_estimated"].sum()),
        len(y),
        int(a["age_estimated"].sum()),
        len(a),
    )
    # Chronicity and returns over the follow-up: calendar months with a contact, per person.
    start = fu["date_start"]
    months = (start.dt.year * 12 + start.dt.month).groupby(fu["person_id"]).nunique()
    re_ent = flows.re_entries(fu, study.inactive_days).set_index("person_id")["re_entries"]
    for label, flag in (
        (
            f"En contact au moins {study.follow_up_months // 2} mois sur {study.follow_up_months}",
            months >= study.follow_up_months // 2,
        ),
        (
            f"Au moins un retour après {study.inactive_days} jours sans contact",
            re_ent.reindex(months.index).fillna(0) > 0,
        ),
    ):
        add(
            label,
            int(flag.reindex(y.index).fillna(False).sum()),
            len(y),
            int(flag.reindex(a.index).fillna(False).sum()),
            len(a),
        )
    # Known to the network for more than two years, among persons active in the report year
    # (closest to the KBS's « sans-abri depuis plus de deux ans »). Present in the year and aged
    # as the annual report counts them (presence, first known age of the year), so that the
    # young actives here are the annual report's 18–25 year olds (one key in the ledger).
    profile = counts.person_profile(contacts, study.year)
    present = in_year(contacts, study.year)
    span = presence_span(present)
    last_day = span["last_day"].fillna(study.data_end).clip(upper=study.data_end)
    last_seen = last_day.groupby(present["person_id"]).max()
    first_seen = contacts.groupby("person_id")["date_start"].min()
    age = profile["age"].reindex(last_seen.index)
    long_known = (last_seen - first_seen.reindex(last_seen.index)).dt.days > 730
    coverage = coverage_of(contacts, coverage)
    data_years = coverage.window_covered(
        pd.Timestamp(year=study.year - 2, month=1, day=1), study.data_end
    )
    if data_years:
        youth_active = age.between(study.youth_low, study.youth_high)
        adult_active = np.floor(age) >= study.adults_from
        ref = refs.get("plus_de_deux_ans", {})
        add(
            f"Connus du réseau depuis plus de deux ans (actifs en {study.year})",
            int(long_known[youth_active].sum()),
            int(youth_active.sum()),
            int(long_known[adult_active].sum()),
            int(adult_active.sum()),
            ref_youth=ref.get("jeunes"),
            ref_adults=ref.get("adultes"),
            ref_source=ref.get("source"),
            population=ACTIVE,
        )
        status = flows.flow_status(
            contacts, study.year, study.new_lookback_days, study.continuing_days, coverage
        ).set_index("person_id")["status"]
        if status.notna().all():
            is_new = status == flows.NEW
            add(
                f"Nouveaux dans le réseau en {study.year}",
                int(is_new.reindex(youth_active[youth_active].index).sum()),
                int(youth_active.sum()),
                int(is_new.reindex(adult_active[adult_active].index).sum()),
                int(adult_active.sum()),
                population=ACTIVE,
            )
    # London's CHAIN: new rough sleepers seen only once.
    street_first = cohort[cohort["first_dispositif"] == STREET_WORK]
    n_street = fu[fu["dispositif"] == STREET_WORK].groupby("person_id").size()
    once = n_street.reindex(street_first.index).fillna(0) == 1
    ref = refs.get("vus_une_fois_en_rue", {})
    add(
        "Vus une seule fois par le travail de rue (premier contact en rue)",
        int(once[street_first["group"] == YOUTH].sum()),
        int((street_first["group"] == YOUTH).sum()),
        int(once[street_first["group"] == ADULTS].sum()),
        int((street_first["group"] == ADULTS).sum()),
        ref_youth=ref.get("tous"),
        ref_adults=ref.get("tous"),
        ref_source=ref.get("source"),
    )
    return pd.DataFrame(rows)


def _type_profile(
    sequences: seq.SequenceSet, typ: typology.Typology, cohort: pd.DataFrame, dist: np.ndarray
) -> pd.DataFrame:
    """Size and profile of each type, with its medoid sequence (as state codes)."""
    ids = sequences.person_ids
    meds = typology.medoids(dist, typ.labels)
    rows = []
    for t in sorted(set(typ.labels.tolist())):
        mask = typ.labels == t
        who = cohort.loc[ids[mask]]
        codes = sequences.codes[mask]
        share = np.bincount(codes.ravel(), minlength=len(sequences.states)) / codes.size
        dominant = [sequences.states[i] for i in np.argsort(-share)[:2]]
        in_contact = (codes != sequences.states.index("AUCUN")).sum(axis=1)
        rows.append(
            {
                "type": int(t),
                "persons": int(mask.sum()),
                "share": float(mask.mean()),
                "silhouette": float(typ.silhouette_samples[mask].mean()),
                "women": float((who["sex"] == "F").mean()),
                "band_18_21": float((np.floor(who["age_first"]) <= 21).mean()),
                "months_in_contact_median": float(np.median(in_contact)),
                "dominant_states": " / ".join(dominant),
                "medoid": "-".join(sequences.states[c] for c in sequences.codes[meds[t]]),
                **{f"state_{s}": float(share[i]) for i, s in enumerate(sequences.states)},
            }
        )
    return pd.DataFrame(rows)


def name_type(row: pd.Series, follow_up: int) -> str:
    """A short French name for a type, from its medoid (the analyst may rename types)."""
    labels = {
        "LOG": "Housing First",
        "MA": "maison d'accueil",
        "AN": "abri de nuit",
        "JOUR": "accueil de jour / urgence sociale",
        "RUE": "travail de rue",
        "AUCUN": "réseau",
    }
    medoid = row["medoid"].split("-")
    later = [s for s in medoid[1:] if s != "AUCUN"]
    main = max(set(later), key=later.count) if later else medoid[0]
    months = row["months_in_contact_median"]
    length = "durable" if months >= follow_up * 0.6 else "quelques mois"
    if months <= 1 or not later:
        return f"Passage bref ({labels[medoid[0]]})"
    if medoid[0] != main and medoid[0] != "AUCUN":
        return f"{labels[medoid[0]].capitalize()} puis {labels[main]} ({length})"
    return f"{labels[main].capitalize()} ({length})"


RESIDUAL_NAME = "Trajectoires sans type stable (regroupées)"

TYPE_COLUMNS = (
    "type",
    "persons",
    "share",
    "silhouette",
    "women",
    "band_18_21",
    "months_in_contact_median",
    "dominant_states",
    "medoid",
)
"""The columns of the types table before the per-state shares and the bootstrap's verdict."""

SENSITIVITY_COLUMNS = ("distance", "label", "k", "asw_distinct", "asw_persons", "sizes", "ari")

TYPOLOGY = "typologie"
"""Key of the typology in :attr:`StudyResults.not_computable`."""
NO_STREET_WORK = (
    "Mesures propres au travail de rue non calculées : les données ne comptent aucun contact "
    "de travail de rue (aucun partenaire de ce dispositif n'a transmis de données). Les lignes "
    "« âge estimé » et « vus une seule fois par le travail de rue » du profil valent donc zéro "
    "ou sont masquées, et ne disent rien des jeunes rencontrés en rue."
)


SHELTER_KEY = "abri_nuit"
"""Key of the shelter's measures in :attr:`StudyResults.not_computable` (nobody of the cohort
used the night shelter: no time at the shelter, no destinations, no primary outcome)."""
NO_SHELTER = (
    "Issue principale et temps passé à l'abri de nuit non calculés : aucune personne de la "
    "cohorte n'a fréquenté l'abri de nuit pendant son suivi (aucun partenaire de ce dispositif "
    "n'a transmis de données, ou ses exports ne couvrent pas la période). L'issue principale de "
    "l'étude (quitter l'abri après une ou deux nuits), les destinations à la sortie de l'abri "
    "et sa courbe de décrochage sont donc absentes ; le décrochage du réseau reste décrit. "
    "À faire : ajouter la correspondance et les exports de l'abri de nuit (README, « Ajouter "
    "un partenaire »)."
)


def empty_types(states: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The types table with no row (typology not computed), its columns all there so that the
    notebook, the CSV and the report read it like a computed one."""
    columns = [*TYPE_COLUMNS, *(f"state_{s}" for s in states), "jaccard", "stable", "name"]
    return pd.DataFrame(columns=columns)


def typology_skipped_reason(study: StudyParams) -> str:
    """Why the typology was not computed, in the report's words (no count: the cohort size is
    printed from the publication beside it)."""
    needed = max(study.min_base, 3)
    return (
        f"Typologie des trajectoires non calculée : la cohorte d'entrée compte moins de "
        f"{needed} jeunes (paramètre youth.min_base). Sur si peu de personnes, des types ne "
        "seraient ni stables au rééchantillonnage ni publiables sous le secret statistique ; "
        "les trajectoires sont décrites par les chronogrammes et les tableaux de services."
    )


def _presented_labels(
    labels: np.ndarray, jaccard: dict[int, float], threshold: float, min_size: int = 1
) -> tuple[np.ndarray, dict[int, float]]:
    """Types that survive the bootstrap and have at least ``min_size`` persons keep their rank
    (renumbered 1..m by size); the persons of the others form one last residual type m + 1
    (a type of fewer persons would be drawn person by person). Returns the labels and each
    presented type's Jaccard (NaN for the residual)."""
    stable = [
        t
        for t in sorted(jaccard)
        if jaccard[t] == jaccard[t]
        and jaccard[t] >= threshold
        and int((labels == t).sum()) >= min_size
    ]
    new = np.full(len(labels), len(stable) + 1, dtype=np.int64)
    score: dict[int, float] = {}
    for rank, t in enumerate(stable, start=1):
        new[labels == t] = rank
        score[rank] = jaccard[t]
    if (new == len(stable) + 1).any():
        score[len(stable) + 1] = float("nan")
    return new, score


def typology_checks(
    youth: seq.SequenceSet, dist: np.ndarray, typ: typology.Typology, study: StudyParams
) -> dict[str, Any]:
    """Bootstrap stability of each type, the null-model ASW and the person-level ASW it would
    reach by chance (see :mod:`observatoire.youth.robustness`).

    Above ``study.checks_max_persons`` young persons both run on subsamples (robustness's
    « Large cohorts »): the null models then compare the shuffled sequences of one random
    subsample with its real ones, whose ASW of distinct sequences and size are added under
    ``null_subsample`` (absent when everyone is used, so the report says so only then)."""
    cap = study.checks_max_persons
    jaccard = robustness.bootstrap_jaccard(
        dist, typ.labels, typ.method, study.bootstrap, max_persons=cap
    )
    costs = seq.substitution_costs(youth, study.substitution)
    sub = robustness.check_subsample(len(youth), cap)
    shuffled, observed = youth, typ.asw_distinct
    if sub is not None:
        shuffled = youth.subset(sub)
        observed = robustness.distinct_asw_at(dist[np.ix_(sub, sub)], typ.k, typ.method)

    def distance(s_: seq.SequenceSet) -> np.ndarray:
        if study.distance == "om":
            return seq.optimal_matching(s_.codes, costs, study.indel)
        return seq.hamming_distances(s_.codes, costs)

    out: dict[str, Any] = {
        "jaccard": jaccard,
        "min_jaccard": study.min_jaccard,
        "bootstrap": study.bootstrap,
    }
    for model in robustness.NULL_MODELS:
        null = robustness.null_silhouettes(
            shuffled, distance, typ.k, typ.method, study.null_draws, model=model
        )
        null = null[~np.isnan(null)]
        out[f"null_{model}"] = {
            "draws": int(len(null)),
            "mean": float(null.mean()) if len(null) else float("nan"),
            "p95": float(np.quantile(null, 0.95)) if len(null) else float("nan"),
            "p": float((1 + (null >= observed).sum()) / (1 + len(null))),
        }
    if sub is not None:
        out["null_subsample"] = {"persons": int(len(sub)), "asw_distinct": float(observed)}
    return out | {
        "asw_distinct": typ.asw_distinct,
        "asw_persons": typ.asw,
        "distinct_sequences": int(len(typology.distinct_rows(dist))),
        "persons": int(len(typ.labels)),
        "k_retained": typ.k,
        "sizes_retained": typ.sizes,
    }


def sequences_and_typology(
    contacts: pd.DataFrame, cohort: pd.DataFrame, study: StudyParams
) -> tuple[
    seq.SequenceSet,
    dict[str, pd.DataFrame],
    dict[str, tuple[pd.DataFrame, pd.DataFrame]],
    typology.Typology | None,
    pd.DataFrame,
    dict[str, pd.DataFrame],
    dict[str, Any],
    pd.DataFrame,
]:
    """Person-month sequences of the cohort, their distributions and transitions per group,
    the typology of the young people's trajectories (k chosen on the ASW of distinct
    sequences among partitions whose types have at least ``min_type_size`` persons; types
    whose bootstrap Jaccard is below ``min_jaccard`` merged into one residual row), its checks
    and its sensitivity to the distance."""
    sequences = seq.monthly_states(
        contacts[contacts["person_id"].isin(cohort.index)],
        cohort["first_contact"],
        study.follow_up_months,
        study.data_end,
    )
    groups = cohort["group"].reindex(sequences.person_ids).to_numpy()
    distributions, transitions = {}, {}
    for g in (YOUTH, ADULTS):
        sub = sequences.subset(groups == g)
        dist = seq.state_distribution(sub)
        dist.attrs["n"] = int((groups == g).sum())
        distributions[g] = dist
        transitions[g] = seq.transition_matrix(sub)
    youth = sequences.subset(groups == YOUTH)
    typ, types, type_dists = None, empty_types(sequences.states), {}
    checks: dict[str, Any] = {}
    sensitivity = pd.DataFrame(columns=list(SENSITIVITY_COLUMNS))
    if len(youth.person_ids) >= max(study.min_base, 3):
        costs = seq.substitution_costs(youth, study.substitution)
        if study.distance == "om":
            dist = seq.optimal_matching(youth.codes, costs, study.indel)
        else:
            dist = seq.hamming_distances(youth.codes, costs)
        raw = robustness.choose_typology(
            dist, study.k_values, study.cluster_method, study.min_type_size
        )
        checks = typology_checks(youth, dist, raw, study)
        # the retained typology is the sensitivity's OM-TRATE row when it is OM with TRATE costs
        same = {"om_trate": raw} if (study.distance, study.substitution) == ("om", "trate") else {}
        sensitivity = robustness.distance_sensitivity(
            youth, raw.labels, study.k_values, study.cluster_method, study.min_type_size,
            study.indel, study.spell_expcost, known=same,
        )  # fmt: skip
        labels, score = _presented_labels(
            raw.labels, checks["jaccard"], study.min_jaccard, study.min_type_size
        )
        typ = typology.Typology(
            k=raw.k,
            labels=labels,
            silhouette_by_k=raw.silhouette_by_k,
            silhouette_samples=raw.silhouette_samples,
            method=raw.method,
            silhouette_distinct_by_k=raw.silhouette_distinct_by_k,
        )
        types = _type_profile(youth, typ, cohort, dist)
        types["jaccard"] = types["type"].map(score)
        types["stable"] = types["jaccard"].notna()
        types["name"] = [
            name_type(r, study.follow_up_months) if r["stable"] else RESIDUAL_NAME
            for _, r in types.iterrows()
        ]
        for _, row in types.iterrows():
            d = seq.state_distribution(youth.subset(typ.labels == row["type"]))
            d.attrs["n"] = int(row["persons"])
            type_dists[f"Type {row['type']} : {row['name']}"] = d
    return sequences, distributions, transitions, typ, types, type_dists, checks, sensitivity


SURVIVAL_TIMES = (1, 2, 3, 7, 30, 90, 365)
INCIDENCE_TIMES = (3, 30, 90)


def _spell_frame(spells: pd.DataFrame, cohort: pd.DataFrame) -> pd.DataFrame:
    out = spells.copy()
    for column in ("group", "band", "sex", "first_dispositif"):
        out[column] = out["person_id"].map(cohort[column])
    out["sex"] = out["sex"].where(out["sex"].isin(["F", "M"]), "inconnu")
    return out


def _competing(spells: pd.DataFrame, study: StudyParams) -> dict[str, Any]:
    """Aalen–Johansen cumulative incidence of each destination on leaving the shelter, per
    group, at :data:`INCIDENCE_TIMES` with bootstrap 95 % limits, and the persons per
    destination (observed exits, censored spells)."""
    codes = tuple(competing.DESTINATIONS)
    out: dict[str, Any] = {"destinations": competing.DESTINATIONS, "groups": {}}
    for g in (YOUTH, ADULTS):
        sub = spells[spells["group"] == g]
        if sub.empty:
            continue
        curve = competing.cumulative_incidence(sub["duration_days"], sub["cause"], codes)
        limits = competing.incidence_intervals(
            sub["duration_days"], sub["cause"], INCIDENCE_TIMES, codes, study.n_boot
        )
        early = sub[(sub["duration_days"] <= study.primary_days) & (sub["cause"] > 0)]
        out["groups"][g] = {
            "curve": curve,
            "n": int(len(sub)),
            "exits": {c: int((sub["cause"] == c).sum()) for c in codes},
            "exits_primary": {c: int((early["cause"] == c).sum()) for c in codes},
            "censored": int((sub["cause"] == competing.CENSORED).sum()),
            "incidence": {
                c: {
                    t: {
                        "estimate": competing.incidence_at(curve, c, t),
                        "lower": float(limits[c][i, 0]),
                        "upper": float(limits[c][i, 1]),
                    }
                    for i, t in enumerate(INCIDENCE_TIMES)
                }
                for c in codes
            },
        }
    return out


def _primary(spells: pd.DataFrame, study: StudyParams) -> dict[str, Any]:
    """The primary outcome: left the shelter within ``primary_days`` days of the first night
    (a spell of one or two nights, whatever the destination), among persons whose outcome is
    known (a spell censored before ``primary_days`` is left out). Youth vs adults: shares,
    Newcombe difference; by age band against adults, adjusted for sex and first service: risk
    ratios from a log-link Poisson model with robust errors (one spell per person)."""
    known = spells[(spells["event"] == 1) | (spells["duration_days"] > study.primary_days)]
    known = known.assign(
        left=(known["event"] == 1) & (known["duration_days"] <= study.primary_days)
    )
    y, a = known[known["group"] == YOUTH], known[known["group"] == ADULTS]
    out: dict[str, Any] = {
        "days": study.primary_days,
        "x_youth": int(y["left"].sum()),
        "n_youth": len(y),
        "x_adults": int(a["left"].sum()),
        "n_adults": len(a),
        "excluded": int(len(spells) - len(known)),
    }
    out |= compare_proportions(out["x_youth"], out["n_youth"], out["x_adults"], out["n_adults"])
    frame = known.assign(left=known["left"].astype(float))
    out["adjusted"] = adjusted_effects(
        frame, "left", "band", GROUP_LABELS[ADULTS], ("sex", "first_dispositif")
    ).to_dict("records")
    return out


def disengagement(
    contacts: pd.DataFrame, cohort: pd.DataFrame, fu: pd.DataFrame, study: StudyParams
) -> dict[str, dict[str, Any]]:
    """Time in contact with the night shelter and with the network, youth against adults.

    Bases: the whole cohort for the network; for the shelter, the persons of the cohort who
    used it in their follow-up (the base of « services quittés », so that both tables count the
    same persons), each with the first shelter spell (one spell per person: persons are the
    independent units). Per group: Kaplan–Meier curve, median, S(t); the restricted mean
    survival time up to τ (``rmst_days``) and the youth − adults RMST difference with its CI
    (valid when the curves cross, unlike the log-rank test, kept for the annex); the RMST
    difference of each age band against adults adjusted for sex and first service
    (pseudo-observations, robust errors). For the shelter also the destinations on leaving
    (:func:`_competing`) and the primary outcome (:func:`_primary`).
    """
    out: dict[str, dict[str, Any]] = {}
    mine = contacts[contacts["person_id"].isin(cohort.index)]
    shelter_users = pd.Index(fu.loc[fu["dispositif"] == SHELTER, "person_id"].unique())
    for key, persons in (("reseau", cohort.index), ("abri_nuit", shelter_users)):
        if key == "reseau":
            spells = survival.engagement_spells(mine, study.data_end, study.inactive_days)
            spells = spells[spells["person_id"].isin(persons)]
        else:
            spells = competing.exit_spells(
                mine, persons, study.data_end, study.inactive_days, SHELTER
            )
        spells = _spell_frame(spells, cohort)
        curves, medians, at = {}, {}, {}
        for g in (YOUTH, ADULTS):
            sub = spells[spells["group"] == g]
            if len(sub) == 0:
                continue
            curve = survival.kaplan_meier(sub["duration_days"], sub["event"])
            curves[g] = curve
            medians[g] = survival.median_time(curve)
            at[g] = {t: survival.survival_at(curve, t) for t in SURVIVAL_TIMES}
        test = (np.nan, np.nan)
        rmst: dict[str, Any] = {}
        adjusted: list[dict[str, Any]] = []
        tau = study.rmst_days.get(key, 365)
        if spells["group"].nunique() == 2:
            test = survival.logrank(spells["duration_days"], spells["event"], spells["group"])
            y, a = spells[spells["group"] == YOUTH], spells[spells["group"] == ADULTS]
            rmst = survival.rmst_difference(
                y["duration_days"], y["event"], a["duration_days"], a["event"], tau
            )
            pseudo = survival.rmst_pseudo_values(spells["duration_days"], spells["event"], tau)
            adjusted = adjusted_effects(
                spells.assign(pseudo=pseudo),
                "pseudo",
                "band",
                GROUP_LABELS[ADULTS],
                ("sex", "first_dispositif"),
                family="gaussian",
            ).to_dict("records")
        out[key] = {
            "spells": spells,
            "curves": curves,
            "medians": medians,
            "survival_at": at,
            "n": spells["group"].value_counts().to_dict(),
            "events": spells.groupby("group")["event"].sum().to_dict(),
            "logrank_chi2": float(test[0]),
            "logrank_p": float(test[1]),
            "rmst": rmst,
            "rmst_adjusted": adjusted,
        }
        if key == "abri_nuit" and len(spells):
            out[key]["competing"] = _competing(spells, study)
            out[key]["primary"] = _primary(spells, study)
    return out


COMPARISON_TABLES = ("profile", "activated", "fled", "exits")


def multiplicity(results: StudyResults) -> pd.DataFrame:
    """Holm's correction over every youth-vs-adults test the report prints: the comparison
    tables' rows, the primary outcome and its adjusted ratios, the RMST differences and their
    adjusted versions. Adds ``p_holm`` to each comparison table; returns the family (one row
    per test: where it is, what it tests, p, Holm p)."""
    rows: list[dict[str, Any]] = []
    for name in COMPARISON_TABLES:
        frame = getattr(results, name)
        for i, r in frame.iterrows():
            rows.append({"table": name, "row": i, "test": r["indicator"], "p": r["pvalue"]})
    shelter = results.survival.get("abri_nuit", {})
    primary = shelter.get("primary")
    if primary:
        rows.append(
            {"table": "primary", "row": -1, "test": "issue principale", "p": primary["pvalue"]}
        )
        for e in primary["adjusted"]:
            rows.append(
                {"table": "primary", "row": e["level"], "test": "issue principale ajustée",
                 "p": e["pvalue"]}
            )  # fmt: skip
    for key, s in results.survival.items():
        if s.get("rmst"):
            rows.append(
                {"table": f"rmst_{key}", "row": -1, "test": "RMST", "p": s["rmst"]["pvalue"]}
            )
        for e in s.get("rmst_adjusted", []):
            rows.append(
                {"table": f"rmst_{key}", "row": e["level"], "test": "RMST ajustée",
                 "p": e["pvalue"]}
            )  # fmt: skip
    family = pd.DataFrame(rows, columns=["table", "row", "test", "p"])
    family["p_holm"] = holm(family["p"].to_numpy())
    family.attrs["m"] = int(family["p"].notna().sum())
    for name in COMPARISON_TABLES:
        frame = getattr(results, name)
        sub = family[family["table"] == name]
        frame["p_holm"] = pd.Series(sub["p_holm"].to_numpy(), index=sub["row"].to_numpy())
    if primary:
        sub = family[family["table"] == "primary"]
        primary["p_holm"] = float(sub["p_holm"].iloc[0])
        for e, p in zip(primary["adjusted"], sub["p_holm"].iloc[1:], strict=True):
            e["p_holm"] = float(p)
    for key, s in results.survival.items():
        sub = family[family["table"] == f"rmst_{key}"]
        if s.get("rmst") and len(sub):
            s["rmst"]["p_holm"] = float(sub["p_holm"].iloc[0])
            for e, p in zip(s.get("rmst_adjusted", []), sub["p_holm"].iloc[1:], strict=True):
                e["p_holm"] = float(p)
    return family


def youth_flows(
    contacts: pd.DataFrame, study: StudyParams, coverage: Coverage | None = None
) -> tuple[pd.DataFrame, dict]:
    """New, continuing and returning young people per year, the youth share of the persons
    active each year and its trend (binomial GLM on the year, odds ratio per year).

    Counted as the annual report counts them: persons present in the year (presence rule),
    aged 18–25 at their first known age of the year, among every person of the year (the
    network count), so that the report year's figures are the annual report's."""
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.tools import add_constant

    years = sorted(int(y) for y in contacts["year"].unique() if y <= study.year)
    coverage = coverage_of(contacts, coverage)
    rows = []
    for year in years:
        profile = counts.person_profile(contacts, year)
        young = profile["age"].between(study.youth_low, study.youth_high)
        youth_ids = pd.Index(profile.index[young])
        f = flows.flows_by_year(
            contacts, [year], study.new_lookback_days, study.continuing_days, youth_ids, coverage
        ).iloc[0]
        rows.append(
            {
                "year": year,
                "youth": int(young.sum()),
                "persons": len(profile),
                "youth_share": float(young.mean()) if len(profile) else np.nan,
                "new": f["new"],
                "continuing": f["continuing"],
                "returning": f["returning"],
            }
        )
    table = pd.DataFrame(rows)
    trend: dict[str, Any] = {}
    if len(table) >= 3:
        x = add_constant(table["year"] - table["year"].min())
        endog = np.column_stack([table["youth"], table["persons"] - table["youth"]]).astype(float)
        fit = GLM(endog, x, family=families.Binomial()).fit()
        dispersion = float(fit.pearson_chi2 / fit.df_resid) if fit.df_resid > 0 else 1.0
        if dispersion > 1:  # quasi-binomial: widen the CI, never narrow it
            fit = GLM(endog, x, family=families.Binomial()).fit(scale="X2")
        lo, hi = fit.conf_int().iloc[1]
        trend = {
            "odds_ratio": float(np.exp(fit.params.iloc[1])),
            "lower": float(np.exp(lo)),
            "upper": float(np.exp(hi)),
            "pvalue": float(fit.pvalues.iloc[1]),
            "dispersion": dispersion,
            "years": [int(years[0]), int(years[-1])],
        }
    return table, trend


def run_study(
    contacts: pd.DataFrame, study: StudyParams, coverage: Coverage | None = None
) -> StudyResults:
    """Every result of the youth report, from the linked contacts up to the report year;
    look-backs only where ``coverage`` (default: proposed from ``contacts``) covers them."""
    contacts = contacts[contacts["year"] <= study.year]
    coverage = coverage_of(contacts, coverage)
    cohort = build_cohort(contacts, study, coverage)
    fu = services.follow_up_contacts(contacts, cohort, study)
    prof = profile(contacts, cohort, fu, study, coverage)
    sequences, dists, trans, typ, types, type_dists, checks, sensitivity = sequences_and_typology(
        fu, cohort, study
    )
    surv = disengagement(contacts, cohort, fu, study)
    flow_table, share_trend = youth_flows(contacts, study, coverage)
    results = StudyResults(
        study=study,
        cohort=cohort,
        profile=prof,
        activated=services.services_activated(fu, cohort),
        fled=services.services_fled(fu, study),
        exits=services.stay_exits(fu),
        first_services=services.first_services(cohort),
        paths={g: services.service_paths(fu, cohort, g) for g in (YOUTH, ADULTS)},
        combinations={g: services.combinations(fu, g) for g in (YOUTH, ADULTS)},
        sequences=sequences,
        distributions=dists,
        transitions=trans,
        typology=typ,
        types=types,
        type_distributions=type_dists,
        survival=surv,
        flows=flow_table,
        youth_share_trend=share_trend,
        typology_checks=checks,
        sensitivity=sensitivity,
    )
    if typ is None:
        results.not_computable[TYPOLOGY] = typology_skipped_reason(study)
    if not (contacts["dispositif"] == STREET_WORK).any():
        results.not_computable[STREET] = NO_STREET_WORK
    if "primary" not in surv.get(SHELTER_KEY, {}):
        results.not_computable[SHELTER_KEY] = NO_SHELTER
    results.tests = multiplicity(results)
    return results


__all__ = ["GROUP_LABELS", "DISPOSITIFS", "StudyResults", "run_study"]
