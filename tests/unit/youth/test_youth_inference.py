"""The youth study's inference on planted truth: competing risks, RMST, adjusted effects,
Holm, and the typology's checks (stability, null model, duplicates, spell distance).

Each test plants a known answer in synthetic data and fails if the method does not find it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from observatoire.youth import robustness, typology
from observatoire.youth import sequences as seq
from observatoire.youth.compare import adjusted_effects, holm
from observatoire.youth.competing import (
    CENSORED,
    HOUSING,
    NOTHING,
    OTHER_SERVICE,
    cumulative_incidence,
    exit_spells,
    incidence_at,
    incidence_intervals,
    wilson_limits,
)
from observatoire.youth.survival import (
    kaplan_meier,
    restricted_mean,
    rmst_difference,
    rmst_pseudo_values,
    survival_at,
)

TS = pd.Timestamp

# --------------------------------------------------------------------------------------------
# Competing risks
# --------------------------------------------------------------------------------------------


def test_aalen_johansen_hand_case():
    # times 1(a), 2(b), 2(censored), 3(a), 4(b): n = 5
    # t=1: S− = 1, 1/5 → F_a = 0.2; S = 0.8
    # t=2: S− = 0.8, one b among 4 at risk → F_b = 0.2; S = 0.6 (the censored one stays at 2)
    # t=3: S− = 0.6, one a among 2 → F_a = 0.2 + 0.3 = 0.5; S = 0.3
    # t=4: S− = 0.3, one b among 1 → F_b = 0.2 + 0.3 = 0.5; S = 0
    curve = cumulative_incidence([1, 2, 2, 3, 4], [1, 2, 0, 1, 2])
    assert incidence_at(curve, 1, 1) == pytest.approx(0.2)
    assert incidence_at(curve, 2, 2) == pytest.approx(0.2)
    assert incidence_at(curve, 1, 3.5) == pytest.approx(0.5)
    assert incidence_at(curve, 2, 10) == pytest.approx(0.5)
    assert incidence_at(curve, 1, 0.5) == 0.0
    # the incidences add up to 1 − KM at every time
    km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 1])
    for t in (1, 2, 3, 4):
        total = incidence_at(curve, 1, t) + incidence_at(curve, 2, t)
        assert total == pytest.approx(1 - survival_at(km, t))


def test_aalen_johansen_recovers_a_planted_split_under_censoring():
    """Planted: exponential exits at rate 0.1/day, 60 % to destination 1, 30 % to 2, 10 % to
    3, independent uniform censoring. True F_k(t) = share_k · (1 − e^(−0.1 t)). Naive
    1 − KM treating other destinations as censoring overstates F_1; Aalen–Johansen does not."""
    rng = np.random.default_rng(7)
    n = 6000
    t = rng.exponential(10.0, n)
    cause = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    c = rng.uniform(0, 40, n)
    time = np.minimum(t, c)
    obs = np.where(t <= c, cause, CENSORED)
    curve = cumulative_incidence(time, obs)
    for k, share in ((1, 0.6), (2, 0.3), (3, 0.1)):
        for day in (5, 15, 30):
            truth = share * (1 - math.exp(-0.1 * day))
            assert incidence_at(curve, k, day) == pytest.approx(truth, abs=0.02)
    naive = 1 - survival_at(kaplan_meier(time, (obs == 1).astype(int)), 30)
    assert naive > 0.6 * (1 - math.exp(-3)) + 0.1  # the bias the estimator avoids
    limits = incidence_intervals(time[:800], obs[:800], (15.0,), (1,), n_boot=100)
    lo, hi = limits[1][0]
    assert lo < 0.6 * (1 - math.exp(-1.5)) < hi


def contacts_frame(rows):
    return pd.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "dispositif": [r[1] for r in rows],
            "date_start": pd.to_datetime([r[2] for r in rows]),
            "date_end": pd.to_datetime([r[3] for r in rows]),
        }
    )


def test_exit_destinations_hand_cases():
    shelter = "hebergement_urgence"
    contacts = contacts_frame(
        [
            ("a", shelter, "2024-01-01", "2024-01-02"),  # one night, then the day centre
            ("a", "accueil_jour", "2024-01-05", None),
            ("b", shelter, "2024-02-01", "2024-02-03"),  # two nights, then a maison d'accueil
            ("b", "accueil_jour", "2024-02-04", None),  # (housing wins over the day centre)
            ("b", "maison_accueil", "2024-03-01", "2024-06-01"),
            ("c", shelter, "2024-03-01", "2024-03-02"),  # nothing afterwards
            ("c", "accueil_jour", "2024-08-01", None),  # too late: 152 days later
            ("d", shelter, "2024-12-01", "2024-12-02"),  # silence not observed: censored
            ("e", "accueil_jour", "2024-01-01", None),  # not a shelter user
        ]
    )
    spells = exit_spells(
        contacts, pd.Index(["a", "b", "c", "d"]), TS("2024-12-31"), 90, shelter
    ).set_index("person_id")
    assert spells["cause"].to_dict() == {
        "a": OTHER_SERVICE,
        "b": HOUSING,
        "c": NOTHING,
        "d": CENSORED,
    }
    assert spells.loc["a", "duration_days"] == 2
    assert spells.loc["b", "duration_days"] == 3


# --------------------------------------------------------------------------------------------
# RMST
# --------------------------------------------------------------------------------------------


def test_rmst_hand_case_and_planted_difference():
    # KM of 1, 2, 3 (all events): S = 2/3 on [1,2), 1/3 on [2,3), 0 after; up to τ = 2.5:
    # 1 + 2/3 + 1/3 · 0.5 = 11/6
    assert restricted_mean([1, 2, 3], [1, 1, 1], 2.5)["rmst"] == pytest.approx(11 / 6)
    # planted: exponential means 10 and 20 days, τ = 30: RMST = m (1 − e^(−τ/m))
    rng = np.random.default_rng(3)
    a, b = rng.exponential(10, 3000), rng.exponential(20, 3000)
    c = rng.uniform(0, 60, 6000)
    ta, tb = np.minimum(a, c[:3000]), np.minimum(b, c[3000:])
    ea, eb = (a <= c[:3000]).astype(int), (b <= c[3000:]).astype(int)
    truth = 20 * (1 - math.exp(-1.5)) - 10 * (1 - math.exp(-3))
    diff = rmst_difference(tb, eb, ta, ea, 30)
    assert diff["lower"] < truth < diff["upper"]
    assert diff["diff"] == pytest.approx(truth, abs=1.0)
    assert diff["pvalue"] < 0.001
    # the jackknife pseudo-values average to the RMST
    pseudo = rmst_pseudo_values(ta[:300], ea[:300], 30)
    assert pseudo.mean() == pytest.approx(restricted_mean(ta[:300], ea[:300], 30)["rmst"])


def test_rmst_difference_sees_crossing_curves_the_logrank_test_misses():
    """Planted crossing curves with equal RMST up to τ: the RMST difference is ~0; two
    curves with a planted RMST gap are told apart although they cross."""
    rng = np.random.default_rng(11)
    n = 4000
    early = rng.uniform(0, 20, n)  # everyone leaves by day 20
    late = np.where(rng.random(n) < 0.5, rng.uniform(0, 2, n), rng.uniform(0, 60, n))
    events = np.ones(n, dtype=int)
    d = rmst_difference(early, events, late, events, 100)
    truth = 10 - (0.5 * 1 + 0.5 * 30)  # 10 − 15.5
    assert d["lower"] < truth < d["upper"]


# --------------------------------------------------------------------------------------------
# Adjusted comparisons and multiplicity
# --------------------------------------------------------------------------------------------


def test_adjusted_risk_ratio_removes_planted_confounding():
    """Planted: the outcome depends on the first service only (risk 0.6 vs 0.2); young people
    start more often at the risky service. Crude RR > 1, adjusted RR ≈ 1."""
    rng = np.random.default_rng(5)
    n = 6000
    band = rng.choice(["18–21 ans", "26 ans et plus"], size=n, p=[0.3, 0.7])
    risky = rng.random(n) < np.where(band == "18–21 ans", 0.7, 0.2)
    first = np.where(risky, "abri", "jour")
    y = (rng.random(n) < np.where(risky, 0.6, 0.2)).astype(float)
    frame = pd.DataFrame({"y": y, "band": band, "first": first, "sex": "F"})
    crude = adjusted_effects(frame, "y", "band", "26 ans et plus")
    adjusted = adjusted_effects(frame, "y", "band", "26 ans et plus", ("first", "sex"))
    assert crude["estimate"].iloc[0] > 1.5
    row = adjusted.iloc[0]
    assert row["lower"] < 1.0 < row["upper"]
    assert row["estimate"] == pytest.approx(1.0, abs=0.1)


def test_holm_matches_its_definition_and_keeps_nan():
    p = [0.01, 0.04, 0.03, float("nan"), 0.5]
    adj = holm(p)
    # sorted 0.01, 0.03, 0.04, 0.5 × 4, 3, 2, 1 → 0.04, 0.09, 0.09 (monotone), 0.5
    assert adj[0] == pytest.approx(0.04)
    assert adj[2] == pytest.approx(0.09)
    assert adj[1] == pytest.approx(0.09)
    assert math.isnan(adj[3])
    assert adj[4] == pytest.approx(0.5)


# --------------------------------------------------------------------------------------------
# Typology checks
# --------------------------------------------------------------------------------------------

STATES = seq.DEFAULT_STATES
AUCUN = STATES.index("AUCUN")


def planted_sequences(rng: np.random.Generator, sizes=(60, 40, 30), noise=0.05) -> tuple:
    """Three planted trajectories over 24 months (shelter then day centre; long day centre;
    one month then nothing), each month flipped to a random state with probability
    ``noise``."""
    t = 24
    templates = [
        [STATES.index("AN")] * 2 + [STATES.index("JOUR")] * 6 + [AUCUN] * 16,
        [STATES.index("JOUR")] * 20 + [AUCUN] * 4,
        [STATES.index("JOUR")] + [AUCUN] * 23,
    ]
    rows, truth = [], []
    for k, (template, size) in enumerate(zip(templates, sizes, strict=True)):
        for _ in range(size):
            row = np.array(template)
            flip = rng.random(t) < noise
            row[flip] = rng.integers(0, len(STATES), flip.sum())
            rows.append(row)
            truth.append(k)
    codes = np.array(rows, dtype=np.int8)
    ids = np.array([f"p{i}" for i in range(len(codes))], dtype=object)
    return seq.SequenceSet(ids, STATES, codes), np.array(truth)


def test_planted_types_are_recovered_stable_and_beat_the_null_model():
    rng = np.random.default_rng(1)
    s, truth = planted_sequences(rng)
    costs = seq.substitution_costs(s, "constant")
    dist = seq.optimal_matching(s.codes, costs)
    typ = robustness.choose_typology(dist, range(2, 7), "ward", 5)
    assert typ.k == 3
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, typ.labels) > 0.9
    jaccard = robustness.bootstrap_jaccard(dist, typ.labels, "ward", n_boot=30)
    assert min(jaccard.values()) >= 0.75

    def om(x: seq.SequenceSet) -> np.ndarray:
        return seq.optimal_matching(x.codes, costs)

    for model in robustness.NULL_MODELS:
        null = robustness.null_silhouettes(s, om, 3, "ward", draws=5, model=model)
        assert typ.asw_distinct > np.nanmax(null)


def test_a_type_that_is_noise_is_not_stable():
    """Pure noise sequences split into k groups: the groups do not survive the bootstrap."""
    rng = np.random.default_rng(2)
    codes = rng.integers(0, len(STATES), size=(120, 24)).astype(np.int8)
    dist = seq.hamming_distances(codes)
    typ = typology.build_typology(dist, [4], "ward")
    jaccard = robustness.bootstrap_jaccard(dist, typ.labels, "ward", n_boot=30)
    assert np.mean(list(jaccard.values())) < 0.75


def test_identical_sequences_inflate_the_person_silhouette_not_the_distinct_one():
    rng = np.random.default_rng(4)
    s, _ = planted_sequences(rng, sizes=(30, 30, 30), noise=0.15)
    one_month = np.array([[STATES.index("JOUR")] + [AUCUN] * 23] * 400, dtype=np.int8)
    codes = np.vstack([s.codes, one_month])
    dist = seq.optimal_matching(codes, seq.substitution_costs(s, "constant"))
    base = seq.optimal_matching(s.codes, seq.substitution_costs(s, "constant"))
    with_dupes = typology.build_typology(dist, [3], "ward")
    without = typology.build_typology(base, [3], "ward")
    assert with_dupes.asw > without.asw + 0.1  # the 400 identical sequences inflate it
    assert with_dupes.asw_distinct == pytest.approx(without.asw_distinct, abs=0.1)


def test_spell_distance_hand_case():
    a, b = STATES.index("AN"), STATES.index("JOUR")
    sub = seq.substitution_costs(
        seq.SequenceSet(np.array(["x"], dtype=object), STATES, np.zeros((1, 3), dtype=np.int8)),
        "constant",
    )
    codes = np.array([[a, a, b], [a, b, b], [a, a, b]], dtype=np.int8)
    d = seq.spell_distances(codes, sub, indel=1.0, expcost=0.5)
    # [A2 B1] vs [A1 B2]: substitute A2→A1 (0.5) and B1→B2 (0.5) = 1.0
    assert d[0, 1] == pytest.approx(1.0)
    assert d[0, 2] == 0.0
    # with expcost = 1 a month's difference costs a month's indel, as in OM (here 2)
    d1 = seq.spell_distances(codes, sub, indel=1.0, expcost=1.0)
    assert d1[0, 1] == pytest.approx(2.0)
    assert d1[0, 1] == pytest.approx(seq.optimal_matching(codes, sub)[0, 1])


def test_wilson_limits_with_the_binomial_variance_are_wilson_s_interval():
    from statsmodels.stats.proportion import proportion_confint

    n = 339
    p = np.array([0, 3, 68, 339]) / n
    limits = wilson_limits(p, p * (1 - p) / n, n)
    for (lo, hi), x in zip(limits, np.round(p * n), strict=True):
        ref = proportion_confint(int(x), n, method="wilson")
        assert lo == pytest.approx(ref[0], abs=1e-12) and hi == pytest.approx(ref[1], abs=1e-12)
    # Half the information (variance doubled): the interval of n/2 persons.
    wide = wilson_limits(np.array([0.2]), np.array([2 * 0.2 * 0.8 / n]), n)[0]
    ref = proportion_confint(0.2 * n / 2, n / 2, method="wilson")  # 33.9 of 169.5: same p
    assert wide == pytest.approx(ref, abs=1e-12)


def test_incidence_intervals_cover_a_rare_planted_destination():
    """A rare destination (1 % within 3 days, about three persons among 339) and light
    censoring, planted: Wilson's interval with the bootstrap's effective size covers the truth
    far more often than the percentile interval of the same resamples, which is [0, 0]
    whenever a sample has no such exit (full simulation: bench/youth_coverage.py)."""
    rng = np.random.default_rng(20250315)
    n, truth = 339, 0.01
    hits = {"wilson": 0, "percentile": 0}
    reps = 80
    for rep in range(reps):
        short = rng.random(n) < 0.5
        t = np.where(short, rng.integers(1, 3, n), 3 + rng.geometric(1 / 25, n)).astype(float)
        cause = np.where(short & (rng.random(n) < 2 * truth), 1, 2)
        c = rng.integers(1, 401, n).astype(float)
        obs = np.where(t <= c, cause, CENSORED)
        time = np.minimum(t, c)
        for method in hits:
            lo, hi = incidence_intervals(time, obs, (3.0,), (1,), 40, seed=rep, method=method)[1][0]
            hits[method] += lo <= truth <= hi
    assert hits["wilson"] / reps >= 0.9
    assert hits["percentile"] < hits["wilson"] - 0.05 * reps
