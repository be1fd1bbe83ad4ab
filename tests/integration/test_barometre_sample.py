"""The violence barometer recovers the patterns planted in the synthetic sample.

Reads the worktree's ingested sample (``data_clean/field/*.parquet``, ``data_clean/contacts``,
``data_clean/refusals``) and its truth (``data_raw/sample_truth/terrain.json``, section
``incidents``, ``worker_survey``, ``testimonies``); skips when they are absent (run
``observatoire generate-sample`` then ``observatoire ingest``). The functions are those the
``barometer`` stage calls, with the parameters of ``params/terrain.yaml``.

Tolerances (the sample is seeded, so each assertion is deterministic; the tolerances say how far
an honest estimate may sit from the planted value given the sample's size):

* trend, planted ×1.15: about 360 incidents over the two years, so the SE of log RR is about
  0.11; 20 % is about 1.7 SE, and the 95 % CI must cover 1.15;
* closing time: 35 % of a service's incidents planted in a one-hour window of 8 to 24 open hours
  (×3.5 to ×8 per hour): each CI must exclude 1 (a power check, not a value check);
* refusal nights, planted ×2.0 on winter nights with refusal against all other nights: pooled
  over both years (83 against 45 incidents, SE of log RR ≈ 0.19), within 25 % (≈ 1.2 SE);
  the report year's exact CI must cover 2.0 and exclude 1; the within-winter comparison must
  be declared not estimable (147 refusal nights out of 152 winter nights in 2024);
* exclusions: 18 of the 29 exclusion exits of maison_accueil got an incident 0–2 days before
  with the stay's file number as author; the link by author must recover exactly them, per
  year (the window is 7 days, the key exact: no tolerance needed);
* survey: the post-stratified 95 % CI must cover the frame's true share of each exposure;
* themes: the keyword coding must agree with the hand coding (κ ≥ 0.8 for every theme).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from observatoire.core.schema import typed_field_table
from observatoire.field import survey as sv
from observatoire.field import themes as th
from observatoire.field import violence as vi
from observatoire.field.settings import load_field

ROOT = Path(__file__).resolve().parents[2]
TRUTH = ROOT / "data_raw" / "sample_truth" / "terrain.json"
FIELD = ROOT / "data_clean" / "field"
CONTACTS = ROOT / "data_clean" / "contacts.parquet"
REFUSALS = ROOT / "data_clean" / "refusals.parquet"
WINTER = ("11-01", "03-31")
YEAR = 2024

pytestmark = pytest.mark.skipif(
    not (
        TRUTH.exists()
        and (FIELD / "incidents.parquet").exists()
        and CONTACTS.exists()
        and REFUSALS.exists()
    ),
    reason="échantillon non généré ou non ingéré (generate-sample, ingest)",
)


def _within(estimate: float, truth: float, tol: float) -> bool:
    return abs(estimate / truth - 1) <= tol


@pytest.fixture(scope="module")
def data():
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    tables = {
        name: typed_field_table(pd.read_parquet(FIELD / f"{name}.parquet"), name)
        for name in ("incidents", "worker_survey", "testimonies")
    }
    incidents = tables["incidents"]
    incidents["year"] = pd.to_datetime(incidents["date"]).dt.year
    settings = load_field(ROOT / "params" / "terrain.yaml").barometre
    return {
        "truth": truth,
        "settings": settings,
        "incidents": incidents,
        "survey": tables["worker_survey"],
        "testimonies": tables["testimonies"],
        "contacts": pd.read_parquet(CONTACTS),
        "refusals": pd.read_parquet(REFUSALS),
    }


def test_exposures_match_the_planted_activity(data):
    truth = data["truth"]["incidents"]["exposure"]
    exposure = vi.monthly_exposure(data["contacts"], data["settings"].exposure, [2023, YEAR])
    got = exposure.groupby(["service", pd.to_datetime(exposure["month"]).dt.year])["exposure"]
    for (service, year), value in got.sum().items():
        assert value == pytest.approx(truth[service][str(year)], rel=0.01), (service, year)


def test_trend_recovered(data):
    planted = data["truth"]["incidents"]["trend"]["planted_rate_ratio"]
    exposure = vi.monthly_exposure(data["contacts"], data["settings"].exposure, [2023, YEAR])
    fit = vi.fit_trend(vi.monthly_panel(data["incidents"], exposure), YEAR)
    assert _within(fit.rate_ratio, planted, 0.20)
    assert fit.ci95[0] <= planted <= fit.ci95[1]


def test_closing_time_concentration_recovered(data):
    planted = data["truth"]["incidents"]["closing_time"]
    current = data["incidents"][data["incidents"]["year"] == YEAR]
    for service, hours in data["settings"].opening_hours.items():
        assert hours.closing_hours() == [planted[service]["hour"]], service
        _, rr = vi.closing_concentration(current, service, hours)
        assert rr is not None and rr.rate_ratio > 1 and rr.ci95[0] > 1, service


def test_refusal_nights_year_round_recovered_and_winter_alone_not_estimable(data):
    planted = data["truth"]["incidents"]["winter_refusal_nights"]
    rs = {
        y: vi.refusal_nights(
            data["incidents"],
            data["contacts"],
            data["refusals"],
            "abri_nuit",
            y,
            WINTER,
            data["settings"].refusal_min_nights,
        )
        for y in (2023, YEAR)
    }
    for y, r in rs.items():
        assert r["within_winter"]["nights"][0] == planted["nights"][str(y)]
        assert not r["within_winter"]["computed"]
        assert "presque toutes les nuits d'hiver ont eu des refus" in r["within_winter"]["reason"]
    other = [r["winter_refusal_vs_other"] for r in rs.values()]
    assert sum(o["occupied"][0] for o in other) == pytest.approx(planted["occupied_nights_on_them"])
    assert sum(o["occupied"][1] for o in other) == pytest.approx(planted["occupied_nights_other"])
    pooled = vi.rate_ratio_exact(
        sum(o["incidents"][0] for o in other),
        sum(o["occupied"][0] for o in other),
        sum(o["incidents"][1] for o in other),
        sum(o["occupied"][1] for o in other),
    )
    assert _within(pooled.rate_ratio, planted["planted_rate_ratio"], 0.25)
    lo, hi = rs[YEAR]["winter_refusal_vs_other"]["rate_ratio"]["ci95"]
    assert 1 < lo <= planted["planted_rate_ratio"] <= hi


def test_exclusions_linked_by_author(data):
    truth = data["truth"]["incidents"]["exclusions"]
    planted = Counter(link["exit_date"][:4] for link in truth["links"])
    exits = 0
    for y in (2023, YEAR):
        links = vi.exclusion_links(data["incidents"], data["contacts"], y, 7)
        ma = next(s for s in links["services"] if s["service"] == "maison_accueil")
        exits += ma["exclusions"]
        assert links["linked_by_person"] == planted[str(y)], y  # all found, none spurious
        assert ma["exclusions_linked"] >= links["linked_by_person"]
    assert exits == truth["exits"]


def test_survey_weighted_intervals_cover_the_true_shares(data):
    truth = data["truth"]["worker_survey"]
    survey = data["survey"]
    assert len(survey) == truth["respondents"]
    strata = sv.poststrata(survey, data["settings"].staffing)
    estimates = sv.prevalences(survey, strata)
    for code, t in truth["estimates"].items():
        lo, hi = estimates[code]["ci95"]
        assert lo <= t["frame_true_share"] <= hi, code
        assert estimates[code]["unweighted"] == pytest.approx(t["unweighted_estimate"], abs=1e-3)


def test_themes_keyword_coding_agrees_with_hand_coding(data):
    testimonies = data["testimonies"]
    current = testimonies[pd.to_datetime(testimonies["date"]).dt.year == YEAR]
    _, info = th.final_codes(current, data["settings"].codebook)
    assert info["hand_coded"] > 0
    assert all(a["kappa"] >= 0.8 for a in info["agreement"].values())
