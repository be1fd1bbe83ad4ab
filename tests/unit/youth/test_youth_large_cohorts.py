"""The typology's checks on a large cohort: bootstrap and null models on subsamples.

Above ``youth.typology.checks_max_persons`` young persons the stability bootstrap draws m of
them (m-out-of-n) and the null models run on one random subsample (robustness module, « Large
cohorts »). On planted truth bigger than the cap (a small cap here), the subsampled checks
must reach the full checks' conclusion; at a cap of n or more, they must be the full checks.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from observatoire.youth import robustness
from observatoire.youth import sequences as seq
from observatoire.youth.cohort import StudyParams
from observatoire.youth.study import typology_checks
from tests.support.settings import project_settings
from tests.unit.youth.test_youth_inference import STATES, planted_sequences

CAP = 90
DRAWS = 9  # p ≥ 1/10: the verdict is read as the report reads it (above the null p95)


def study(cap: int, **typology) -> StudyParams:
    settings = project_settings(report__year=2024, youth={"typology": typology})
    return dataclasses.replace(StudyParams.from_settings(settings), checks_max_persons=cap)


def planted(sizes=(150, 100, 80), noise=0.05):
    """Three planted trajectories (330 persons, more than ``CAP``) and their OM distances."""
    s, _ = planted_sequences(np.random.default_rng(11), sizes=sizes, noise=noise)
    costs = seq.substitution_costs(s, "trate")
    return s, seq.optimal_matching(s.codes, costs)


def test_subsampled_null_models_reach_the_full_verdict_on_planted_types():
    """Planted types whose order matters: the null models on 90 of 330 persons, against the
    same 90 persons' real sequences, reject the shuffles as the full null models do."""
    s, dist = planted()
    typ = robustness.choose_typology(dist, range(2, 7), "ward", 5)
    full = typology_checks(s, dist, typ, study(10_000, null_draws=DRAWS, bootstrap=10))
    sub = typology_checks(s, dist, typ, study(CAP, null_draws=DRAWS, bootstrap=10))
    assert "null_subsample" not in full
    assert sub["null_subsample"]["persons"] == CAP
    for model in robustness.NULL_MODELS:
        for checks in (full, sub):
            observed = checks.get("null_subsample", {}).get("asw_distinct", typ.asw_distinct)
            assert observed > checks[f"null_{model}"]["p95"]
            assert checks[f"null_{model}"]["p"] == 1 / (1 + DRAWS)
    # stable planted types stay stable from 90 persons a resample (m-out-of-n bootstrap)
    assert min(full["jaccard"].values()) >= 0.75
    assert min(sub["jaccard"].values()) >= 0.75


def test_subsampled_bootstrap_still_dissolves_types_cut_out_of_noise():
    """Noise cut into 4 groups: unstable with resamples of everyone and of 90 persons."""
    rng = np.random.default_rng(2)
    codes = rng.integers(0, len(STATES), size=(300, 24)).astype(np.int8)
    dist = seq.hamming_distances(codes)
    typ = robustness.choose_typology(dist, [4], "ward", 1)
    for cap in (None, CAP):
        jaccard = robustness.bootstrap_jaccard(dist, typ.labels, "ward", 20, max_persons=cap)
        assert np.mean(list(jaccard.values())) < 0.75


def test_a_cap_of_n_or_more_is_exactly_the_full_computation():
    s, dist = planted(sizes=(40, 30, 20))
    n = len(s)
    typ = robustness.choose_typology(dist, range(2, 6), "ward", 5)
    assert robustness.check_subsample(n, n) is None
    assert robustness.check_subsample(n, None) is None
    assert len(robustness.check_subsample(n, n - 1)) == n - 1
    full = robustness.bootstrap_jaccard(dist, typ.labels, "ward", 15)
    for cap in (n, 10 * n):
        assert robustness.bootstrap_jaccard(dist, typ.labels, "ward", 15, max_persons=cap) == full
    reference = typology_checks(s, dist, typ, study(10**6, null_draws=4, bootstrap=15))
    at_n = typology_checks(s, dist, typ, study(n, null_draws=4, bootstrap=15))
    assert at_n == reference
    assert "null_subsample" not in at_n
    assert reference["jaccard"] == full


def test_the_sensitivity_reuses_the_retained_typology_with_the_same_rows():
    s, dist = planted(sizes=(40, 30, 20))
    typ = robustness.choose_typology(dist, range(2, 6), "ward", 5)
    args = (s, typ.labels, range(2, 6), "ward", 5)
    computed = robustness.distance_sensitivity(*args)
    reused = robustness.distance_sensitivity(*args, known={"om_trate": typ})
    assert reused.equals(computed)


def test_the_report_names_the_subsample_only_when_there_is_one():
    """The report's lines about the checks, rendered as the report renders them (undefined
    names are errors): the subsample's size and yardstick appear only when it was drawn, and
    the verdict « l'ordre compte » reads against the subsample's own silhouette."""
    from importlib import resources

    import jinja2

    from observatoire.reports.youth.report import _checks_names

    checks = {
        "bootstrap": 100, "min_jaccard": 0.75, "asw_persons": 0.8, "asw_distinct": 0.3,
        "distinct_sequences": 801, "persons": 6498, "jaccard": {1: 0.9},
        "null_persons": {"draws": 20, "mean": 0.2, "p95": 0.35, "p": 0.04},
        "null_months": {"draws": 20, "mean": 0.1, "p95": 0.15, "p": 0.04},
    }  # fmt: skip
    template = resources.files("observatoire").joinpath(
        "assets", "reports", "jeunes-en-errance.qmd.j2"
    )
    lines = [x for x in template.read_text(encoding="utf-8").splitlines() if "subsample" in x]
    assert len(lines) == 4
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def render(names):
        return "\n".join(env.from_string(x).render(checks=names) for x in lines)

    full = _checks_names({"checks": checks})
    assert full["subsample"] is None and not full["order_matters"]
    assert "sous-échantillon" not in render(full)
    sub = _checks_names(
        {"checks": checks | {"null_subsample": {"persons": 1000, "asw_distinct": 0.4}}}
    )
    assert sub["order_matters"]  # 0.4 on the subsample beats the shuffles' 0.35
    text = render(sub)
    assert "sous-échantillon aléatoire de 1\u202f000 jeunes" in text
    assert "0,40" in text


def test_rmst_pseudo_values_are_the_fit_per_person_to_the_bit():
    """One leave-one-out fit per distinct (duration, event), shared by its twins: the bits of
    the n fits (whole days, many ties, censoring before τ)."""
    from observatoire.youth.survival import restricted_mean, rmst_pseudo_values

    rng = np.random.default_rng(5)
    time = rng.integers(1, 120, size=400).astype(float)
    event = (rng.random(400) < 0.7).astype(float)
    n = len(time)
    full = restricted_mean(time, event, 90)["rmst"]
    loop = np.array(
        [
            n * full
            - (n - 1) * restricted_mean(np.delete(time, i), np.delete(event, i), 90)["rmst"]
            for i in range(n)
        ]
    )
    assert np.array_equal(rmst_pseudo_values(time, event, 90), loop)


def test_distinct_rows_are_the_first_row_of_each_class_of_equal_rows():
    """Rows grouped on a few columns then checked whole: the classes of a full comparison, also
    when rows agree on the grouping columns and differ elsewhere, and with −0.0 = 0.0."""
    from observatoire.youth.typology import distinct_rows

    def reference(d):
        return np.sort(np.unique(d + 0.0, axis=0, return_index=True)[1])

    s, dist = planted(sizes=(40, 30, 20))
    persons = dist[np.ix_(np.r_[0:90, 0:90, 5:9], np.r_[0:90, 0:90, 5:9])]  # twins
    assert np.array_equal(distinct_rows(persons), reference(persons))
    rng = np.random.default_rng(3)
    crafted = np.zeros((300, 200))
    crafted[:, 1] = rng.integers(0, 3, 300)  # the grouping columns never see column 1
    crafted[::7, 0] = -0.0
    assert np.array_equal(distinct_rows(crafted), reference(crafted))
    assert np.array_equal(distinct_rows(crafted.astype(np.int64)), reference(crafted))
    assert len(distinct_rows(crafted)) == 3
