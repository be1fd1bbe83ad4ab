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


WINTER = fx.WINTER


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
    """Both winters of the fixture pooled (one winter's CI is wide: see the report's); the
    fixture refuses on 40 % of winter nights, so the within-winter comparison is estimable."""
    rs = [
        vi.refusal_nights(baro.incidents, baro.contacts, baro.refusals, "abri_nuit", y, fx.WINTER)
        for y in fx.YEARS
    ]
    assert all(r["within_winter"]["computed"] for r in rs)
    x1, x0 = (sum(r["within_winter"]["incidents"][i] for r in rs) for i in (0, 1))
    e1, e0 = (sum(r["within_winter"]["occupied"][i] for r in rs) for i in (0, 1))
    pooled = vi.rate_ratio_exact(x1, e1, x0, e0)
    lo, hi = pooled.ci95
    assert lo < fx.REFUSAL_RR < hi and lo > 1
    assert _within(pooled.rate_ratio, fx.REFUSAL_RR, 0.25)


def _shelter_year(
    rng, refusal_p: dict[int, float], rr_refusal: float, rr_winter: float, only_winter: bool
):
    """One year of a shelter: 60 persons a night, refusals with a probability per month,
    incidents at 22 h (no night shift) at 4 per 1,000 nights × the planted ratios."""
    days = pd.date_range("2024-01-01", "2024-12-31", freq="D")
    winter = np.asarray((days.month >= 11) | (days.month <= 3))
    p = np.array([refusal_p.get(m, 0.0) for m in days.month])
    refused = rng.random(len(days)) < p
    occupied = np.full(len(days), 60)
    effect = np.where(refused & (winter if only_winter else True), rr_refusal, 1.0)
    lam = occupied * 4 / 1000 * effect * np.where(winter, rr_winter, 1.0)
    n = rng.poisson(lam)
    contacts = pd.DataFrame(
        {
            "partner_id": "abri_nuit",
            "date_start": np.repeat(days.values, occupied),
            "date_end": np.repeat(days.values, occupied) + np.timedelta64(1, "D"),
            "nights": 1.0,
        }
    )
    refusals = pd.DataFrame(
        {"partner_id": "abri_nuit", "date": days, "refusals": refused.astype("int64") * 3}
    )
    incidents = pd.DataFrame(
        {
            "service": "abri_nuit",
            "date": np.repeat(days.values, n),
            "hour": pd.array(np.full(n.sum(), 22), dtype="Int64"),
        }
    )
    return incidents, contacts, refusals


def test_refusal_nights_when_almost_every_winter_night_refuses():
    """The sample's situation: refusals on ~97 % of winter nights and some shoulder months.
    Planted: ×2 on winter nights with refusal only, no season effect otherwise (the
    generator's estimand). Pooled over 6 simulated years (one year: CI too wide to test)."""
    rng = np.random.default_rng(11)
    months = {1: 0.97, 2: 0.97, 3: 0.95, 4: 0.7, 5: 0.3, 10: 0.6, 11: 0.9, 12: 0.97}
    rs = [
        vi.refusal_nights(*_shelter_year(rng, months, 2.0, 1.0, True), "abri_nuit", 2024,
                          WINTER, 20)
        for _ in range(6)
    ]  # fmt: skip
    for r in rs:
        w = r["within_winter"]
        assert not w["computed"]
        assert w["reason"].startswith("non estimable : presque toutes les nuits d'hiver")
        assert f"({w['nights'][0]} sur {sum(w['nights'])})" in w["reason"]
        assert r["confounding"]["winter_nights_refused"] == w["nights"][0]
    x1, x0 = (sum(r["winter_refusal_vs_other"]["incidents"][i] for r in rs) for i in (0, 1))
    e1, e0 = (sum(r["winter_refusal_vs_other"]["occupied"][i] for r in rs) for i in (0, 1))
    pooled = vi.rate_ratio_exact(x1, e1, x0, e0)
    assert pooled.ci95[0] < 2.0 < pooled.ci95[1]
    assert _within(pooled.rate_ratio, 2.0, 0.2)


def test_refusal_model_separates_refusal_from_season_when_months_hold_both():
    """Planted: ×2 on every night with refusal, ×1.8 in winter, refusals more frequent in
    winter (80 % of nights against 30 %). The winter-refusal / other comparison mixes both
    (≈ 2.6 expected), the month-adjusted model recovers the refusal's 2."""
    rng = np.random.default_rng(12)
    months = {m: 0.8 if m in (11, 12, 1, 2, 3) else 0.3 for m in range(1, 13)}
    panels = []
    for _ in range(4):
        i, c, r = _shelter_year(rng, months, 2.0, 1.8, False)
        panels.append(vi.night_panel(i, c, r, "abri_nuit", 2024, WINTER))
    panel = pd.concat(panels, ignore_index=True)
    model = vi.refusal_model(panel, 20)
    assert model["computed"] and len(model["months_both"]) == 12
    assert model["ci95"][0] < 2.0 < model["ci95"][1]
    assert _within(model["rate_ratio"], 2.0, 0.25)
    wr = panel["winter"] & panel["refused"]
    naive = vi.rate_ratio_exact(
        int(panel.loc[wr, "incidents"].sum()), float(panel.loc[wr, "occupied"].sum()),
        int(panel.loc[~wr, "incidents"].sum()), float(panel.loc[~wr, "occupied"].sum()),
    )  # fmt: skip
    assert naive.ci95[0] > 2.0  # season and refusal mixed: the confounded comparison


def test_refusal_model_not_estimable_without_mixed_months():
    rng = np.random.default_rng(13)
    inc, contacts, refusals = _shelter_year(rng, {1: 1.0, 2: 1.0, 12: 1.0}, 2.0, 1.0, True)
    r = vi.refusal_nights(inc, contacts, refusals, "abri_nuit", 2024, WINTER, 20)
    assert not r["model"]["computed"] and r["model"]["reason"].startswith("non estimable")
    assert r["winter_refusal_vs_other"]["computed"]


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
