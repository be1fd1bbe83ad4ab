"""The Fellegi–Sunter model: which record pairs are compared, how, and with what weights.

For a pair of records, each comparison (names, birth date, sex, activity) falls into one level.
A level has two probabilities: m, how often true matches fall into it, and u, how often two
different persons do. Its match weight is log2(m / u) bits; a pair's weight is the prior
log-odds that two records match (λ) plus the sum of its levels' weights, and its match
probability follows. This assumes the comparisons independent given match status; to avoid
the worst breach of that assumption, surname and first name are compared jointly (in a
population, surnames and first names are not independent: « Peeters » goes with « Jan »).

Estimation (Splink 5, DuckDB backend):

- u: from record pairs drawn at random (hash-based sampling with the seed), which are
  nearly all non-matches;
- λ: pairs found by a strict deterministic rule (same name, first name and birth date),
  divided by the rule's assumed recall, over all pairs;
- m: expectation–maximisation on two sets of pairs: pairs with the same birth date (to
  estimate the name, sex and activity levels) and pairs with the same surname and first name
  (to estimate the birth-date, sex and activity levels). A comparison used to select the
  pairs cannot be estimated on them, hence the two sessions.

Term-frequency adjustment: agreeing on a frequent full name (« Jean Peeters ») weighs less
than agreeing on a rare one; the frequencies are those of the hashed tokens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals.exceptions import EMTrainingException, SplinkException

from observatoire.linkage.fallback import ModelUnavailable
from observatoire.linkage.records import IDENTIFIED, RecordTables
from observatoire.linkage.settings import LinkageSettings

__all__ = [
    "BLOCKING_RULES",
    "COMPARISONS",
    "EM_SESSIONS",
    "RULE_PAIR_COUNTS",
    "ScoredPairs",
    "activity_comparison",
    "birth_date_comparison",
    "blocking_pair_counts",
    "distinct_pair_counts",
    "fit_and_score",
    "model_settings",
    "name_comparison",
    "prior_from_pairs",
    "sex_comparison",
]

S, F = "tok_surname", "tok_first_name"
COMPARISONS = ("noms", "naissance", "sexe", "activite")


def _eq(col: str) -> str:
    return f"{col}_l = {col}_r"


def _near(col: str) -> str:
    return f"list_has_any({col}_variants_l, {col}_variants_r)"


def name_comparison() -> cl.CustomComparison:
    """Surname and first name compared jointly, from the strongest agreement down.

    « Phonétiquement égal » is the French phonetic key of ingest; « à une lettre près » means
    the two spelling neighbourhoods share an element (one letter added, dropped, replaced or
    swapped, or one name a part of the other compound name). Spelling closeness is only
    tested when the other name is identical: a cheap equality selects the few pairs first.
    """
    either_missing = f"{S}_l IS NULL OR {S}_r IS NULL OR {F}_l IS NULL OR {F}_r IS NULL"
    return cl.CustomComparison(
        [
            cll.CustomLevel(either_missing, label_for_charts="nom ou prénom manquant").configure(
                is_null_level=True
            ),
            cll.ExactMatchLevel("tok_full_name", term_frequency_adjustments=True).configure(
                label_for_charts="nom et prénom identiques"
            ),
            cll.CustomLevel(
                f"({_eq(S)} AND {_eq(F + '_phon')}) OR ({_eq(F)} AND {_eq(S + '_phon')})",
                label_for_charts="un nom identique, l'autre phonétiquement égal",
            ),
            cll.CustomLevel(
                f"({_eq(S)} AND {_near(F)}) OR ({_eq(F)} AND {_near(S)})",
                label_for_charts="un nom identique, l'autre à une lettre près",
            ),
            cll.CustomLevel(
                f"{_eq(S + '_phon')} AND {_eq(F + '_phon')}",
                label_for_charts="nom et prénom phonétiquement égaux",
            ),
            cll.CustomLevel(_eq(S), label_for_charts="nom identique, prénom différent"),
            cll.CustomLevel(_eq(F), label_for_charts="prénom identique, nom différent"),
            cll.CustomLevel(
                f"{_eq(S + '_phon')} OR {_eq(F + '_phon')}",
                label_for_charts="un seul nom phonétiquement égal",
            ),
            cll.ElseLevel().configure(label_for_charts="noms différents"),
        ],
        output_column_name="noms",
    )


def birth_date_comparison() -> cl.CustomComparison:
    """Birth date: identical, day and month swapped, same year only, or different."""
    return cl.CustomComparison(
        [
            cll.NullLevel("tok_birth_date").configure(
                label_for_charts="date de naissance manquante"
            ),
            cll.ExactMatchLevel("tok_birth_date").configure(
                label_for_charts="date de naissance identique"
            ),
            cll.CustomLevel(
                "tok_birth_date_l = tok_birth_date_swapped_r",
                label_for_charts="jour et mois inversés",
            ),
            cll.CustomLevel("birth_year_l = birth_year_r", label_for_charts="même année seulement"),
            cll.ElseLevel().configure(label_for_charts="dates différentes"),
        ],
        output_column_name="naissance",
    )


def sex_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        [
            cll.NullLevel("sex").configure(label_for_charts="sexe inconnu"),
            cll.ExactMatchLevel("sex").configure(label_for_charts="même sexe"),
            cll.ElseLevel().configure(label_for_charts="sexes différents"),
        ],
        output_column_name="sexe",
    )


def activity_comparison(window_months: int) -> cl.CustomComparison:
    """When the two records were in contact with the network (one bit per month)."""
    return cl.CustomComparison(
        [
            cll.CustomLevel(
                "mois_l IS NULL OR mois_r IS NULL", label_for_charts="activité inconnue"
            ).configure(is_null_level=True),
            cll.CustomLevel(
                "bit_count(mois_l & mois_r) > 0", label_for_charts="actifs le même mois"
            ),
            cll.CustomLevel(
                "bit_count(mois_l & mois_voisins_r) > 0",
                label_for_charts=f"actifs à moins de {window_months} mois d'écart",
            ),
            cll.ElseLevel().configure(label_for_charts="périodes d'activité éloignées"),
        ],
        output_column_name="activite",
    )


BLOCKING_RULES: tuple[tuple[str, Any], ...] = (
    ("date de naissance", block_on("tok_birth_date")),
    ("date de naissance inversée", "l.tok_birth_date = r.tok_birth_date_swapped"),
    ("nom et prénom", block_on(S, F)),
    ("nom et prénom phonétiques", block_on(f"{S}_phon", f"{F}_phon")),
    (
        "nom, prénom à une lettre près",
        block_on(S, f"{F}_variants", arrays_to_explode=[f"{F}_variants"]),
    ),
    (
        "prénom, nom à une lettre près",
        block_on(F, f"{S}_variants", arrays_to_explode=[f"{S}_variants"]),
    ),
)
"""Only pairs agreeing on one of these are scored (a pair is kept once, by its first rule).
Every true match the noise can produce agrees on at least one of them, except a person
whose two records both have a misspelt name and one of them no birth date."""


def _pairs_within(keys: str, where: str, source: str = IDENTIFIED) -> str:
    return (
        f"SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM "
        f"(SELECT count(*) AS n FROM {source} WHERE {where} GROUP BY {keys})"
    )


def _pairs_near(name: str, variants: str) -> str:
    exploded = (
        f"(SELECT {name} AS k, unnest({variants}) AS v FROM {IDENTIFIED} "
        f"WHERE {name} IS NOT NULL AND {variants} IS NOT NULL)"
    )
    return _pairs_within("k, v", "v IS NOT NULL", exploded)


RULE_PAIR_COUNTS: dict[str, str] = {
    "date de naissance": _pairs_within("tok_birth_date", "tok_birth_date IS NOT NULL"),
    "date de naissance inversée": f"""
        SELECT coalesce(sum(a.n * b.n), 0) FROM
        (SELECT tok_birth_date AS v, count(*) AS n FROM {IDENTIFIED}
         WHERE tok_birth_date IS NOT NULL GROUP BY 1) a
        JOIN (SELECT tok_birth_date_swapped AS v, count(*) AS n FROM {IDENTIFIED}
              WHERE tok_birth_date_swapped IS NOT NULL GROUP BY 1) b USING (v)
    """,
    "nom et prénom": _pairs_within(f"{S}, {F}", f"{S} IS NOT NULL AND {F} IS NOT NULL"),
    "nom et prénom phonétiques": _pairs_within(
        f"{S}_phon, {F}_phon", f"{S}_phon IS NOT NULL AND {F}_phon IS NOT NULL"
    ),
    "nom, prénom à une lettre près": _pairs_near(S, f"{F}_variants"),
    "prénom, nom à une lettre près": _pairs_near(F, f"{S}_variants"),
}
"""Per blocking rule, SQL counting the pairs it would compare (an upper bound: pairs sharing
several spelling variants are counted once per variant, a pair caught by an earlier rule is
counted again, a swapped date in both directions), read before anything is scored; exact
counts, when needed, by :func:`distinct_pair_counts`."""


def blocking_pair_counts(tables: RecordTables) -> dict[str, int]:
    """The pairs each blocking rule would compare on the named records (see
    :mod:`observatoire.linkage.safeguards`)."""
    return {
        label: int(tables.con.execute(RULE_PAIR_COUNTS[label]).fetchall()[0][0])
        for label, _ in BLOCKING_RULES
    }


def distinct_pair_counts(tables: RecordTables, rules: list[str]) -> dict[str, int]:
    """For ``rules`` (labels of :data:`BLOCKING_RULES`, in this order), the distinct pairs of
    named records each adds beyond the earlier ones: exactly the pairs the scoring compares
    with these rules (Splink's own blocking SQL, counted without sampling). A rule's blocks are
    streamed; only a spelling-variant rule keeps its new pairs in memory, to count each once."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    by_label = dict(BLOCKING_RULES)
    records = DuckDBAPI(connection=tables.con).register(IDENTIFIED)
    counts = count_comparisons_from_blocking_rules(
        records,
        blocking_rules=[by_label[label] for label in rules],
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        record_sample_proportion=1.0,
    )
    return {
        label: int(row["marginal_comparison_count"])
        for label, row in zip(rules, counts, strict=True)
    }


EM_SESSIONS = (
    ("même date de naissance", block_on("tok_birth_date")),
    ("même nom et prénom", block_on(S, F)),
)
"""EM is run on each set of pairs; a comparison used to select a set is not estimated on it."""


def model_settings(
    settings: LinkageSettings, dropped: tuple[str, ...] | list[str] = ()
) -> SettingsCreator:
    """Splink's settings; the blocking rules named in ``dropped`` are left out."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            name_comparison(),
            birth_date_comparison(),
            sex_comparison(),
            activity_comparison(settings.activity_window_months),
        ],
        blocking_rules_to_generate_predictions=[
            rule for label, rule in BLOCKING_RULES if label not in dropped
        ],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=["partner_id"],
        linker_uid="observatoire",
    )


@dataclass
class ScoredPairs:
    """The model's output: the scored pairs and the fitted model."""

    pairs: pd.DataFrame
    """Pairs with match probability ≥ ``keep_above``: ids, probability, weight, levels."""
    histogram: pd.DataFrame
    """All scored pairs, counted by match-weight bin (1 bit wide)."""
    n_pairs: int
    pairs_by_rule: dict[str, int]
    model: dict[str, Any]
    """Splink's model (settings, m and u probabilities, λ), as saved by Splink."""
    em_sessions: list[str]
    """The EM sessions that could run (a session needs pairs sharing its key)."""


def _single_threaded(db_api: DuckDBAPI) -> Any:
    """EM sums floating-point numbers; one thread makes the sums, hence the model, identical
    from run to run (several threads add in a varying order)."""
    con = db_api.duckdb_con
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")
    return threads


PRIOR_RULE = _pairs_within(
    f"{S}, {F}, tok_birth_date",
    f"{S} IS NOT NULL AND {F} IS NOT NULL AND tok_birth_date IS NOT NULL",
)
"""SQL counting the pairs of the prior's deterministic rule (same full name and birth date)."""

NUMERICAL_FAILURES = (ValueError, ArithmeticError, SplinkException)
"""What Splink raises when an estimate degenerates: ``math domain error`` (a prior of 0 or 1
inside EM), an m or u probability below 1e-300, a division by zero on an empty level."""


def prior_from_pairs(n_records: int, rule_pairs: int, recall: float) -> float:
    """λ, the probability that two records drawn at random are the same person: the pairs of
    the deterministic rule divided by its assumed recall, over all pairs of records.

    Raises :class:`ModelUnavailable` when λ would be 0 (no pair agrees on the rule: log λ is
    undefined) or at least 1 (the rule's pairs, once divided by its recall, outnumber all
    pairs), or when there are fewer than two records (no pair at all)."""
    total = n_records * (n_records - 1) // 2
    if total == 0:
        raise ModelUnavailable("moins de deux dossiers nominatifs : aucune paire à comparer.")
    if rule_pairs == 0:
        raise ModelUnavailable(
            "aucune paire de dossiers n'a le même nom, prénom et date de naissance : la "
            "probabilité a priori d'un lien (λ) serait nulle et le modèle ne peut pas être "
            "estimé (chaque personne n'a sans doute qu'un dossier)."
        )
    prior = rule_pairs / recall / total
    if prior >= 1:
        raise ModelUnavailable(
            f"{rule_pairs} paires de même nom, prénom et date de naissance sur {total} paires "
            f"possibles : divisée par le rappel supposé de la règle ({recall}), la probabilité "
            "a priori d'un lien (λ) atteindrait 1."
        )
    return prior


def fit_and_score(
    tables: RecordTables,
    settings: LinkageSettings,
    keep_above: float = 0.001,
    dropped: tuple[str, ...] | list[str] = (),
) -> ScoredPairs | None:
    """Fit the model on the identified records and score the blocked pairs (the blocking
    rules named in ``dropped`` left out).

    Returns None when there is nothing to link: fewer than two named records. Raises
    :class:`ModelUnavailable` (with its reason, in French) when the model cannot be
    estimated: no blocking rule left, a prior λ of 0 or 1, an EM session without pairs, or an
    estimate that degenerates (a probability collapsing to 0); the caller then uses the
    fallback method (:mod:`observatoire.linkage.fallback`). A partially estimated model is
    never used: its untrained comparisons would weigh nothing.
    """
    if tables.n_identified < 2:
        return None
    kept = [label for label, _ in BLOCKING_RULES if label not in dropped]
    if not kept:
        raise ModelUnavailable(
            "toutes les règles de blocage ont été abandonnées (trop de paires à comparer)."
        )
    rule_pairs = int(tables.con.execute(PRIOR_RULE).fetchall()[0][0])
    prior_from_pairs(tables.n_identified, rule_pairs, settings.deterministic_rule_recall)
    db_api = DuckDBAPI(connection=tables.con)
    records = db_api.register(IDENTIFIED)
    # Splink speaks English on the console; what matters is in the diagnostics files.
    linker = Linker(records, model_settings(settings, dropped), log_level=logging.ERROR)
    training = linker.training
    try:
        training.estimate_probability_two_random_records_match(
            [block_on("tok_full_name", "tok_birth_date")],
            recall=settings.deterministic_rule_recall,
        )
        # No early stop: a comparison of activity periods varies from record to record, and
        # the first chunk of the sample (few right-hand records) would give a noisy u.
        training.estimate_u_using_random_sampling(
            max_pairs=settings.u_max_pairs, seed=settings.seed, min_count_per_level=None
        )
    except NUMERICAL_FAILURES as exc:
        raise ModelUnavailable(
            f"l'estimation de λ ou des probabilités u a échoué ({_short(exc)})."
        ) from exc
    threads = _single_threaded(db_api)
    trained = []
    try:
        for label, rule in EM_SESSIONS:
            try:
                training.estimate_parameters_using_expectation_maximisation(
                    rule, max_pairs=settings.em_max_pairs
                )
            except EMTrainingException as exc:
                raise ModelUnavailable(
                    f"aucune paire de dossiers pour la session EM « {label} » : les poids "
                    "qu'elle estime resteraient inconnus."
                ) from exc
            except NUMERICAL_FAILURES as exc:
                raise ModelUnavailable(
                    f"l'EM sur les paires de « {label} » dégénère (trop peu de paires, ou une "
                    f"probabilité m, u ou λ qui tend vers 0 ou 1 : {_short(exc)})."
                ) from exc
            trained.append(label)
    finally:
        tables.con.execute(f"SET threads = {threads}")
    try:
        predictions = linker.inference.predict(warning_mode="never")
    except NUMERICAL_FAILURES as exc:
        raise ModelUnavailable(f"le calcul des probabilités a échoué ({_short(exc)}).") from exc
    name = predictions.physical_name
    con = tables.con
    n_pairs = int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
    by_rule = dict(
        con.execute(f"SELECT match_key, count(*) FROM {name} GROUP BY 1 ORDER BY 1").fetchall()
    )
    histogram = con.execute(
        f"""
        SELECT floor(match_weight)::INTEGER AS poids_bas, count(*) AS paires
        FROM {name} GROUP BY 1 ORDER BY 1
        """
    ).df()
    gammas = ", ".join(f"gamma_{c}" for c in COMPARISONS)
    pairs = con.execute(
        f"""
        SELECT unique_id_l, unique_id_r, match_probability, match_weight, {gammas}
        FROM {name}
        WHERE match_probability >= {keep_above}
        ORDER BY unique_id_l, unique_id_r
        """
    ).df()
    model = linker.misc.save_model_to_json()
    predictions.drop_table_from_database_and_remove_from_cache()
    pairs_by_rule = {kept[int(k)]: int(v) for k, v in by_rule.items()}
    return ScoredPairs(pairs, histogram, n_pairs, pairs_by_rule, model, trained)


def _short(exc: BaseException) -> str:
    """Splink's message, first sentence only (it is in English and sometimes long)."""
    text = str(exc).strip().split("\n")[0]
    return (text.split(". ")[0] or type(exc).__name__)[:160]
