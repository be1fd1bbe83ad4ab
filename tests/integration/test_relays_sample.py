"""The relays' stage finds on the synthetic sample what its generator planted.

Reads the worktree's ingested sample (``data_clean/field/relay_*.parquet``), the raw allowance
sheets (``data_raw/sample/relais_quartier/defraiements_<Y>.xlsx``), the ``relays`` stage's
outputs (``outputs/field/relais/2024/``) and the truth (``data_raw/sample_truth/terrain.json``,
section ``relays``); skips when they are absent (``observatoire generate-sample``, ``ingest``,
``relays``). The methods are tested on their own fixture in ``tests/unit/field/test_relays.py``.

A volunteer's pseudonym is found without the project's key (the tests run with a test key):
the clean rows keep their ``source_file`` / ``source_row``, so the raw sheet's row of « HR03 »
points at the ``relay_id`` ingest gave it. That ``observatoire pseudonyme --volontaire``
computes the same hash as ingest is tested in the unit tests.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from observatoire.core.stats import proportion_ci
from observatoire.field.relays import NEEDS
from observatoire.field.relays_settings import load_relays_settings

ROOT = Path(__file__).resolve().parents[2]
TERRAIN = ROOT / "data_raw/sample_truth/terrain.json"
RAW = ROOT / "data_raw/sample/relais_quartier"
CLEAN = ROOT / "data_clean/field/relay_allowances.parquet"
OUT = ROOT / "outputs/field/relais/2024"
YEAR = 2024

pytestmark = pytest.mark.skipif(
    not (TERRAIN.exists() and CLEAN.exists() and (OUT / "relais.json").exists()),
    reason="échantillon non généré, non ingéré ou étape « relays » non lancée",
)

# The generator draws each need independently and, when none is drawn, notes « social »
# (src/observatoire/sample/fieldwork/relays.py, ``_service``): the share of sheets noting
# « social » is p_social + (1 − p_social) × Π(1 − p_other), the others are their p.
FALLBACK_NEED = "social"


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TERRAIN.read_text(encoding="utf-8"))["relays"]


def _pseudonym(code: str) -> str:
    """The ``relay_id`` of the volunteer ``code`` through the raw sheets' rows."""
    clean = pd.read_parquet(CLEAN)
    found = set()
    for path in sorted(RAW.glob("defraiements_*.xlsx")):
        raw = pd.read_excel(path, sheet_name="Défraiements")
        rows = raw.index[raw["Code volontaire"].astype(str).str.strip() == code] + 1
        sel = clean[
            (clean["source_file"] == f"relais_quartier/{path.name}")
            & clean["source_row"].isin(rows)
        ]
        assert len(sel) == len(rows), path.name
        # the row link is right: same amounts in the raw sheet and the clean table
        amounts = raw.loc[rows - 1, "Montant (€)"].to_numpy(dtype=float)
        assert sel.sort_values("source_row")["allowance_eur"].to_numpy() == pytest.approx(amounts)
        found |= set(sel["relay_id"])
    assert len(found) == 1, found
    return found.pop()


def _volunteers() -> pd.DataFrame:
    return pd.read_csv(OUT / "interne/volontaires.csv")


def test_the_volunteer_near_then_over_the_yearly_ceiling_is_flagged(truth):
    planted = truth["allowances"]["yearly_excess"]["volunteer"]
    rid = _pseudonym(planted)
    v = _volunteers().set_index(["relay_id", "year"])
    for year, status in ((2023, "proche"), (2024, "depasse")):
        row = v.loc[(rid, year)]
        assert row["status"] == status, year
        expected = truth["realised"][str(year)]["per_volunteer"][planted]["amount"]
        assert row["allowance_eur"] == pytest.approx(expected, abs=0.005)
    assert v.loc[(rid, 2023), "share"] == pytest.approx(0.93, abs=0.01)
    # nobody else is flagged: the flags are the planted ones only
    flagged = _volunteers().query("status != 'ok'")
    assert set(flagged["relay_id"]) == {rid}
    # the allowance ceilings used are the ones the sample was generated with
    settings = load_relays_settings(ROOT / "params/terrain.yaml")
    for y, c in truth["allowances"]["ceilings"].items():
        assert settings.ceiling(int(y)).daily == c["daily"]
        assert settings.ceiling(int(y)).yearly == c["yearly"]


def test_the_day_above_the_daily_ceiling_is_listed(truth):
    planted = truth["realised"][str(YEAR)]["daily_excess"]
    rid = _pseudonym(planted["volunteer"])
    above = pd.read_csv(OUT / "interne/jours_au_dela_du_plafond.csv", parse_dates=["date"])
    assert len(above) == 1
    day = above.iloc[0]
    assert day["relay_id"] == rid
    assert day["date"] == pd.Timestamp(planted["date"])
    assert day["allowance_eur"] == pytest.approx(planted["amount"])
    assert day["allowance_eur"] > day["daily_ceiling"] == 41.48
    summary = json.loads((OUT / "relais.json").read_text(encoding="utf-8"))
    assert summary["allowances"][str(YEAR)]["volunteers_above_daily"] == 1
    assert summary["allowances"]["2023"]["volunteers_above_daily"] == 0
    v = _volunteers().set_index(["relay_id", "year"])
    assert v.loc[(rid, YEAR), "days_above_daily"] == 1


def _planted_share(p: dict[str, float], code: str) -> float:
    if code != FALLBACK_NEED:
        return p[code]
    none_other = math.prod(1 - q for c, q in p.items() if c != code)
    return p[code] + (1 - p[code]) * none_other


def _points() -> pd.DataFrame:
    return pd.read_csv(OUT / "points.csv").query("dimension == 'besoin'")


@pytest.mark.parametrize("year", [2023, 2024])
def test_need_counts_by_point_are_those_of_the_raw_exports(truth, year):
    """What the stage counts is what the Kobo export holds, sheet by sheet."""
    raw = pd.read_excel(RAW / f"relais_prestation_{year}.xlsx", sheet_name="relais_prestation")
    points = _points().query("year == @year").set_index("category")
    for point in ("fixe", "mobile"):
        sheets = raw[raw["prestation/point"] == point]
        key = "services_fixed" if point == "fixe" else "services_mobile"
        assert len(sheets) == truth["realised"][str(year)][key]
        noted = sheets["besoins/besoins"].fillna("").astype(str).str.split()
        for code in NEEDS:
            assert points.loc[code, f"services_{point}"] == sum(code in c for c in noted)
            assert points.loc[code, f"total_{point}"] == len(sheets)


def test_need_shares_by_point_recover_the_planted_probabilities(truth):
    """Each point's share of sheets noting a need, over the two years (the same planted
    probabilities both years), holds its planted value within a simultaneous 95 % Wilson
    interval (Bonferroni over the 12 shares). One year alone is noisier: in 2024 the mobile
    point's « autre » is 12.9 % of 295 sheets for 8 % planted (z ≈ 3.1, the raw export's own
    draw), which the pooled estimate (9.5 % of 603) absorbs."""
    points = _points()
    planted = truth["need_probabilities"]
    alpha = 0.05 / (len(NEEDS) * len(planted))
    pooled = points.groupby("category").sum(numeric_only=True)
    assert set(pooled.index) == set(NEEDS)
    for code, r in pooled.iterrows():
        for point, p in planted.items():
            x, n = int(r[f"services_{point}"]), int(r[f"total_{point}"])
            lo, hi = proportion_ci(x, n, alpha=alpha)
            target = _planted_share(p, code)
            assert lo <= target <= hi, (point, code, x / n, target)
    # the check can fail: the raw draw probability of the fallback code is far outside
    x, n = (
        int(pooled.loc[FALLBACK_NEED, "services_fixe"]),
        int(pooled.loc[FALLBACK_NEED, "total_fixe"]),
    )
    lo, hi = proportion_ci(x, n, alpha=alpha)
    assert not lo <= planted["fixe"][FALLBACK_NEED] <= hi
    # the stage's own (pointwise) intervals are Wilson 95 % ones
    for r in points.itertuples():
        assert (r.lo_fixe, r.hi_fixe) == pytest.approx(
            proportion_ci(int(r.services_fixe), int(r.total_fixe))
        )
    # each year, the planted contrasts between the points come out significant, in their sign
    for year in (2023, 2024):
        by_code = points.query("year == @year").set_index("category")
        for code in ("sante", "administratif"):
            planted_diff = planted["mobile"][code] - planted["fixe"][code]
            assert by_code.loc[code, "significant"], (year, code)
            assert math.copysign(1, by_code.loc[code, "diff"]) == math.copysign(1, planted_diff)
