"""The violence barometer recovers what tests/support/barometre_fixtures.py planted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from observatoire.core.free_text import choose_quotes
from observatoire.field import survey as sv
from observatoire.field import themes as th
from observatoire.field import violence as vi
from observatoire.field.barometer import compute_barometer, write_barometer
from observatoire.field.settings import FieldSettingsError, field_from_mapping, load_field
from tests.support import barometre_fixtures as fx


@pytest.fixture(scope="module")
def baro():
    return fx.make_barometre()


@pytest.fixture(scope="module")
def settings():
    return fx.settings()


def _within(estimate: float, truth: float, tol: float = 0.20) -> bool:
    return abs(estimate / truth - 1) <= tol


def test_year_rate_ratio_recovered_and_naive_beside_it(baro, settings):
    exposure = vi.monthly_exposure(baro.contacts, settings.exposure, fx.YEARS)
    fit = vi.fit_trend(vi.monthly_panel(baro.incidents, exposure), 2024)
    assert _within(fit.rate_ratio, fx.YEAR_RR)
    assert fit.ci95[0] < fx.YEAR_RR < fit.ci95[1]
    assert fit.family in {"poisson", "negative binomial"}
    assert 0.5 < fit.pearson_chi2_df < 2  # the chosen model accounts for the dispersion
    assert 0 <= fit.ljung_box_p <= 1
    assert _within(fit.naive.rate_ratio, fx.YEAR_RR)


def test_overdispersion_switches_to_negative_binomial():
    rng = np.random.default_rng(3)
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    rows = []
    for s in ("a", "b", "c"):
        lam = 50 * rng.gamma(2, 0.5, 24) * np.where(months.year == 2024, 1.5, 1.0)
        rows.append(
            pd.DataFrame(
                {
                    "service": s,
                    "month": months,
                    "exposure": 1000.0,
                    "incidents": rng.poisson(lam),
                    "year": months.year,
                }
            )
        )
    fit = vi.fit_trend(pd.concat(rows, ignore_index=True), 2024)
    assert fit.poisson_chi2_df > vi.OVERDISPERSION
    assert fit.family == "negative binomial" and fit.alpha > 0


def test_closing_time_concentration_recovered(baro, settings):
    for service, hours in settings.opening_hours.items():
        _, rr = vi.closing_concentration(baro.incidents, service, hours)  # both years
        assert rr.ci95[0] < fx.CLOSING_RR < rr.ci95[1], service
        assert _within(rr.rate_ratio, fx.CLOSING_RR), service
        assert rr.p_value < 0.001


def test_exact_rate_ratio_is_calibrated_under_the_null():
    rng = np.random.default_rng(5)
    covered = 0
    for _ in range(300):
        x1, x0 = rng.poisson(20), rng.poisson(60)
        rr = vi.rate_ratio_exact(x1, 1.0, x0, 3.0)
        covered += rr.ci95[0] <= 1 <= rr.ci95[1]
    assert covered / 300 >= 0.94  # exact: conservative


def test_refusal_nights_rate_ratio_covers_the_planted_one(baro):
    """Both winters of the fixture pooled (one winter's CI is wide: see the report's)."""
    rs = [
        vi.refusal_nights(baro.incidents, baro.contacts, baro.refusals, "abri_nuit", y, fx.WINTER)
        for y in fx.YEARS
    ]
    assert all(r["computed"] for r in rs)
    pooled = vi.rate_ratio_exact(
        *(
            sum(r[k] for r in rs)
            for k in (
                "incidents_with_refusal",
                "occupied_with_refusal",
                "incidents_without_refusal",
                "occupied_without_refusal",
            )
        )
    )
    lo, hi = pooled.ci95
    assert lo < fx.REFUSAL_RR < hi and lo > 1
    assert _within(pooled.rate_ratio, fx.REFUSAL_RR, 0.25)


def test_exclusions_linked_by_service_window_and_person(baro):
    links = vi.exclusion_links(baro.incidents, baro.contacts, 2024, 7)
    assert links["total"]["exclusions"] == fx.EXCLUSIONS
    assert links["total"]["exclusions_linked"] == fx.LINKED_EXCLUSIONS
    assert links["total"]["incidents_exclusion_linked"] == fx.LINKED_EXCLUSIONS
    assert (
        vi.exclusion_links(baro.incidents, baro.contacts, 2024, 0)["total"]["exclusions_linked"]
        == 0
    )


def test_select_multiple_counts_once_per_code():
    inc = pd.DataFrame({"types": ["verbale physique", "verbale", ""], "year": [2024] * 3})
    counts = vi.code_counts(inc, "types", vi.TYPES, True)
    assert counts.loc["verbale", 2024] == 2 and counts.loc["physique", 2024] == 1
    assert counts[2024].sum() == 3  # more than the two incidents with a type


def test_survey_weighting_removes_the_planted_nonresponse_bias(baro, settings):
    strata = sv.poststrata(baro.survey, settings.staffing)
    est = sv.prevalences(baro.survey, strata)["physical_12m"]
    truth = fx.make_barometre().truth["survey"]["physical_12m"]
    assert est["ci95"][0] <= truth <= est["ci95"][1]
    assert not est["unweighted_ci95"][0] <= truth <= est["unweighted_ci95"][1]
    assert abs(est["weighted"] - truth) < abs(est["unweighted"] - truth)
    assert est["kish_n"] < est["n"]


def test_survey_collapses_empty_cells_within_their_service(settings):
    survey = pd.DataFrame({"service": ["abri_nuit"] * 6, "role": ["educateur"] * 6})
    strata = sv.poststrata(survey, settings.staffing)
    assert strata.population["abri_nuit×educateur"] == 220  # 120 + the veilleurs' 100
    assert strata.not_covered == 230 and "abri_nuit×veilleur" in strata.collapsed


def test_role_comparisons_are_holm_adjusted(baro, settings):
    strata = sv.poststrata(baro.survey, settings.staffing)
    cmp = sv.compare_groups(baro.survey, strata, "role")
    assert (cmp["p_holm"] >= cmp["p_value"]).all()
    veil = cmp[(cmp["outcome"] == "physical_12m") & (cmp["role"] == "veilleur")].iloc[0]
    assert veil["difference"] > 0 and veil["p_holm"] < 0.05  # the planted exposure of watchmen


def test_themes_keywords_agree_with_hand_codes_and_counts(baro, settings):
    codes, info = th.final_codes(baro.testimonies, settings.codebook)
    assert info["hand_coded"] == 80
    assert all(a["kappa"] > 0.8 for a in info["agreement"].values())
    for code, n in baro.truth["themes"]["counts"].items():
        assert abs(codes[code].sum() - n) <= 0.1 * n + 1
    co = th.cooccurrence(codes)
    assert (np.diag(co) == codes.sum().to_numpy()).all()


def test_cohen_kappa_hand_case():
    k = th.cohen_kappa(pd.Series([1, 1, 0, 0]), pd.Series([1, 0, 0, 0]))
    assert k["agreement"] == 0.75 and math.isclose(k["kappa"], 0.5)


def test_quotes_skip_texts_with_identities():
    texts = [
        "Appelez-moi au 0470 12 34 56 quand vous voulez pour en parler un peu",
        "Trop court",
        "On attend dehors sous la pluie et personne ne vient nous dire quoi faire",
    ]
    quotes = choose_quotes(texts, ["usager", "usager", "travailleur"], n=3, nlp=False)
    assert quotes == [(texts[2], "un·e travailleur·euse du secteur")]


def test_stage_writes_counts_for_publication(baro, settings, tmp_path):
    res = compute_barometer(
        2024,
        settings,
        baro.incidents,
        baro.survey,
        baro.testimonies,
        baro.contacts,
        baro.refusals,
        fx.WINTER,
    )
    write_barometer(res, tmp_path)
    counts = pd.read_csv(tmp_path / "comptes.csv", dtype={"row": str, "col": str})
    services = counts[(counts["table"] == "services") & (counts["col"] == "2024")]
    assert (
        services.loc[services["row"] == "total", "value"].iloc[0]
        == services[services["row"] != "total"]["value"].sum()
    )
    assert {"types", "direction", "exclusions", "repondants_role", "themes", "fermeture"} <= set(
        counts["table"]
    )


def test_closing_window_before_the_closing_moment():
    from observatoire.field.violence_settings import OpeningHours

    doors = OpeningHours(opens=20, closes=8, closing_at=22)
    assert doors.closing_hours() == [21] and len(doors.open_hours()) == 12
    assert OpeningHours(opens=0, closes=0, closing_at=23).closing_hours() == [22]
    assert OpeningHours(opens=9, closes=16, closing_window=2).closing_hours() == [14, 15]
    with pytest.raises(ValueError, match="sort des heures"):
        OpeningHours(opens=9, closes=16, closing_at=20)


def test_params_file_loads_and_unknown_keys_are_named():
    assert load_field().barometre.codebook
    with pytest.raises(FieldSettingsError, match="barometre.exposure.abri_nuit"):
        field_from_mapping(
            {"barometre": {"exposure": {"abri_nuit": "lits"}, "staffing": {}, "codebook": {}}}
        )
