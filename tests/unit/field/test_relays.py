"""The relays' analysis on a synthetic network with planted truth (relays_fixtures)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from observatoire.core import schema
from observatoire.core.schema import split_codes
from observatoire.field import relays
from observatoire.field.relays import (
    allowance_status,
    compute_relays,
    holm,
    newcombe_diff,
    poisson_ratio_ci,
    read_results,
    relay_codes,
    write_relays,
)
from observatoire.field.relays_settings import RelaysError, relays_from_mapping
from tests.support.relays_fixtures import planted_relays, relays_settings


@pytest.fixture(scope="module")
def planted():
    services, allowances, truth = planted_relays()
    return compute_relays(2024, services, allowances, relays_settings()), truth


def test_planted_volunteer_over_the_yearly_ceiling_is_flagged(planted):
    res, truth = planted
    v = res.volunteers.set_index(["relay_id", "year"])
    over = v.loc[(truth.relays["over"], 2024)]
    assert over["status"] == "depasse"
    assert over["allowance_eur"] == pytest.approx(truth.over_total)
    assert over["days_above_daily"] == 0  # exactly at the daily ceiling is not above it
    assert not pd.isna(over["exceeded_date"])
    near = v.loc[(truth.relays["near"], 2024)]
    assert near["status"] == "proche"
    assert near["share"] == pytest.approx(0.92, abs=0.001)
    others = v.drop(index=[(truth.relays["over"], 2024), (truth.relays["near"], 2024)])
    assert set(others["status"]) == {"ok"}
    # the same volunteer in 2023 stays below its 2023 ceiling
    assert v.loc[(truth.relays["over"], 2023)]["status"] == "ok"


def test_planted_day_above_the_daily_ceiling_is_the_only_one_flagged(planted):
    res, truth = planted
    above = res.days_above
    assert len(above) == 1
    assert above.iloc[0]["relay_id"] == truth.relays["spike"]
    assert pd.Timestamp(above.iloc[0]["date"]) == truth.spike_day
    assert above.iloc[0]["daily_ceiling"] == pytest.approx(41.48)


def test_two_rows_of_one_day_are_added_before_the_daily_ceiling():
    services, allowances, _ = planted_relays(per_year={2023: 30, 2024: 30})
    extra = allowances.iloc[[0, 0]].copy()
    extra["allowance_eur"] = [25.0, 25.0]
    extra["date"] = pd.Timestamp("2024-02-29")
    res = compute_relays(2024, services, pd.concat([allowances, extra]), relays_settings())
    days = res.days_above
    assert (pd.to_datetime(days["date"]) == pd.Timestamp("2024-02-29")).sum() == 1
    assert any("plusieurs lignes" in n for n in res.notes)


def test_need_shares_recovered_and_only_the_planted_change_is_stated(planted):
    res, truth = planted
    shares = res.shares.query("dimension == 'besoin'").set_index(["year", "category"])
    for year, planted_shares in truth.need_shares.items():
        for code, p in planted_shares.items():
            row = shares.loc[(year, code)]
            assert row["lo"] <= p <= row["hi"], (year, code, row["share"], p)
            assert abs(row["share"] - p) < 0.06
    changes = res.changes.query("dimension == 'besoin'").set_index("category")
    assert changes.loc["logement", "significant"]
    assert changes.loc["logement", "lo"] <= 0.20 <= changes.loc["logement", "hi"]
    assert not changes.drop(index="logement")["significant"].any()


def test_a_sheet_counts_once_per_domain(planted):
    res, truth = planted
    c = res.counts.query("year == 2024")
    total = int(c.query("dimension == 'total'")["services"].iloc[0])
    assert total == truth.services[2024]
    per_domain = c.query("dimension == 'besoin'")["services"].sum()
    assert per_domain > total  # multi-valued: domains do not add up to the sheets
    months = c.query("dimension == 'mois'")["services"].sum()
    assert months == total
    points = c.query("dimension == 'point'")["services"].sum()
    assert points == total
    by_month_need = c.query("dimension == 'besoin_mois'")
    logement = by_month_need[by_month_need["category"].str.endswith("|logement")]["services"].sum()
    need = c[(c["dimension"] == "besoin") & (c["category"] == "logement")]
    assert logement == int(need["services"].iloc[0])


def test_services_change_on_common_months(planted):
    res, truth = planted
    t = res.totals_change
    assert t["computed"] and t["months"] == list(range(1, 13))
    assert t["ratio"] == pytest.approx(truth.services[2024] / truth.services[2023])
    assert t["lo"] < t["ratio"] < t["hi"]


def test_codes_are_pseudonym_prefixes_and_never_collide():
    codes = relay_codes(["3f2a0000", "3f2a1111", "abcd9999"])
    assert len(set(codes.values())) == 3
    assert codes["abcd9999"].startswith("R-ABCD")
    assert relay_codes(["abcdef12", "12345678"]) == {"12345678": "R-1234", "abcdef12": "R-ABCD"}


def test_statistics_helpers_on_hand_computed_cases():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(holm([math.nan, 0.01])[0])
    d, lo, hi = newcombe_diff(56, 70, 48, 80)  # Newcombe (1998) example 1 uses 56/70 vs 48/80
    assert d == pytest.approx(0.6 - 0.8)
    assert (lo, hi) == pytest.approx((-0.3339, -0.0524), abs=5e-4)
    r, lo, hi = poisson_ratio_ci(20, 10)
    assert r == 2 and lo < 1 < 2 < hi
    assert allowance_status(1.0, 0.9) == "proche"
    assert allowance_status(1.0001, 0.9) == "depasse"
    assert allowance_status(0.89, 0.9) == "ok"
    flags = split_codes(pd.Series(["logement sante", "", None]), ["sante", "langue"])
    assert flags.to_dict("list") == {"sante": [1, 0, 0], "langue": [0, 0, 0]}


def test_missing_ceiling_year_stops_in_french():
    services, allowances, _ = planted_relays(per_year={2023: 20, 2024: 20})
    extra = allowances.iloc[[0]].copy()
    extra["date"] = pd.Timestamp("2025-03-01")
    with pytest.raises(RelaysError, match="absents pour 2025"):
        compute_relays(2025, services, pd.concat([allowances, extra]), relays_settings())


def test_unknown_key_names_its_path():
    with pytest.raises(RelaysError, match=r"relais\.ceilings\[2024\]\.montant"):
        relays_from_mapping(
            {"ceilings": {2024: {"daily": 1.0, "yearly": 2.0, "montant": 3,
                                 "source": "une source", "url": "https://x.be"}}}
        )  # fmt: skip


def test_write_and_read_back(planted, tmp_path):
    res, _ = planted
    write_relays(res, tmp_path)
    back = read_results(tmp_path)
    assert back["flagged"] == {"proche": 1, "depasse": 1}
    assert (tmp_path / "interne" / "volontaires.csv").exists()
    assert not (tmp_path / "volontaires.csv").exists()  # individual figures stay internal
    assert len(back["frames"]["comptes"]) == len(res.counts)


def test_labels_cover_exactly_the_canonical_code_lists():
    for canonical, labels in (
        (schema.RELAY_POINTS, relays.POINTS),
        (schema.RELAY_NEEDS, relays.NEEDS),
        (schema.RELAY_ACTIONS, relays.ACTIONS),
        (schema.RELAY_ORIENTATIONS, relays.ORIENTATIONS),
        (schema.RELAY_BARRIERS, relays.BARRIERS),
    ):
        assert set(canonical) == set(labels)


def test_pseudonym_command_gives_a_volunteers_pseudonym_and_statement_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], root, tmp_path
) -> None:
    """`observatoire pseudonyme --volontaire` hashes the code as ingest does (case and spaces
    ignored), not as a partner's record, and names the statement the coordinator looks for."""
    from observatoire.cli import main
    from observatoire.intake.field import relay_pseudonym_of
    from observatoire.intake.pseudonymise import Pseudonymiser
    from observatoire.linkage.overrides import record_key_of
    from tests.support.keys import TEST_KEY

    pseudo = Pseudonymiser(bytes.fromhex(TEST_KEY))  # the tests' key (conftest)
    token = relay_pseudonym_of("HR03", pseudo)
    assert token == pseudo.tokens("relay", pd.Series(["HR03"])).iloc[0]  # ingest's call
    assert token != record_key_of("relais_quartier", "HR03", pseudo)
    monkeypatch.setattr("getpass.getpass", lambda prompt: " hr03 ")
    monkeypatch.chdir(tmp_path)
    argv = ["--params", str(root / "params/pipeline.yaml"), "pseudonyme", "--volontaire"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == token and "R-" + token[:4].upper() in out[1]
    internal = tmp_path / "outputs/field/relais/2024/interne"
    internal.mkdir(parents=True)
    pd.DataFrame({"relay_id": [token], "code": ["R-" + token[:6].upper()], "year": [2024]}).to_csv(
        internal / "volontaires.csv", index=False
    )
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [token, f"Code de ses relevés 2024 : R-{token[:6].upper()}"]
    monkeypatch.setattr("getpass.getpass", lambda prompt: "HR99")
    assert main(argv) == 0
    assert "Aucun défraiement ni relevé 2024" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--params", str(root / "params/pipeline.yaml"), "pseudonyme"])
    assert "il faut l'un des arguments --partner --volontaire" in capsys.readouterr().err


def test_shares_by_point_compare_the_points_without_inventing_a_difference(planted):
    """The fixture's needs do not depend on the point: mobile − fixed is the difference of the
    two shares, and Holm's correction leaves no need « significant »."""
    res, _ = planted
    p = res.points[(res.points["year"] == 2024) & (res.points["dimension"] == "besoin")]
    assert set(p["category"]) == set(relays.NEEDS)
    assert (p["diff"] - (p["share_mobile"] - p["share_fixe"])).abs().max() < 1e-12
    assert (p["lo"] <= p["diff"]).all() and (p["diff"] <= p["hi"]).all()
    assert not p["significant"].any()
    n = res.counts.query("year == 2024 and dimension == 'point'").set_index("category")
    assert (p["total_fixe"] == n.loc["fixe", "services"]).all()
