"""Validation suites: each failing row is set aside with its reason; too many stop the run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from observatoire.config.settings import Settings
from observatoire.core.errors import ValidationFailed
from observatoire.core.storage import write_json, write_parquet
from observatoire.intake.stages import stage_validate
from observatoire.intake.validate import validate_tables

ROOT = Path(__file__).resolve().parents[3]


def _contacts(n: int = 6) -> pd.DataFrame:
    start = pd.to_datetime([f"2024-0{1 + i % 9}-01" for i in range(n)]).astype("datetime64[s]")
    return pd.DataFrame(
        {
            "record_key": [f"k{i}" for i in range(n)],
            "partner_id": "abri_nuit",
            "dispositif": "hebergement_urgence",
            "date_start": start,
            "date_end": (start + pd.Timedelta(days=2)).astype("datetime64[s]"),
            "nights": pd.array([2] * n, dtype="Int64"),
            "year": 2024,
            "sex": "M",
            "age_at_contact": pd.array([30] * n, dtype="Int64"),
            "age_estimated": False,
            "nationality_group": "BE",
            "exit_reason": None,
            "activity": None,
            "orientation": None,
            "zone": None,
            "duration_hours": float("nan"),
            "source_file": "abri_nuit/abri_nuit_sejours_2024.csv",
            "source_row": range(1, n + 1),
        }
    )


def _refusals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner_id": "abri_nuit",
            "dispositif": "hebergement_urgence",
            "date": pd.to_datetime(["2024-01-05"]).astype("datetime64[s]"),
            "refusals": [3],
            "source_file": "abri_nuit/abri_nuit_refus_2024.csv",
            "source_row": [1],
        }
    )


def test_each_failing_row_is_set_aside_with_the_reason_of_its_expectation():
    c = _contacts()
    c.loc[1, "nights"] = 9  # 2 days between entry and exit
    c.loc[2, "age_at_contact"] = 140
    c.loc[3, "date_end"] = pd.Timestamp("2023-12-01")
    c.loc[4, "date_start"] = pd.Timestamp("2026-01-01")
    out = validate_tables(c, _refusals(), pd.Timestamp("2024-12-31"), None)["contacts"]
    reasons = dict(zip(out.set_aside["source_row"], out.set_aside["reason"], strict=True))
    assert reasons == {
        2: "nuitees_incoherentes",
        3: "valeur_hors_plage",
        4: "dates_incoherentes",
        5: "date_hors_periode",
    }
    assert out.rows == 6


def test_the_longest_stay_admitted_depends_on_the_service():
    """A maison d'accueil stay of 400 nights is plausible; a shelter stay of 400 is a missing
    exit; a maison d'accueil stay of six years is an error."""
    c = _contacts(4)
    c["date_end"] = pd.NaT
    c.loc[0, "nights"] = 400
    c.loc[1, ["nights", "dispositif"]] = [400, "maison_accueil"]
    c.loc[2, ["nights", "dispositif"]] = [6 * 365, "maison_accueil"]
    out = validate_tables(c, _refusals(), pd.Timestamp("2024-12-31"), None)["contacts"]
    reasons = dict(zip(out.set_aside["source_row"], out.set_aside["reason"], strict=True))
    assert reasons == {1: "valeur_hors_plage", 3: "valeur_hors_plage"}


def test_too_many_rows_set_aside_stops_the_run_and_writes_no_clean_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = _contacts(10)
    c.loc[:3, "age_at_contact"] = 150  # 40 % of rows
    write_parquet(c, Path("data_clean/staging/contacts.parquet"))
    write_parquet(_refusals(), Path("data_clean/staging/refusals.parquet"))
    write_json(Path("outputs/metrics/ingest.json"), {"files": {}})
    params = yaml.safe_load((ROOT / "params/pipeline.yaml").read_text(encoding="utf-8"))
    params["report"]["year"] = params["sample"]["last_year"] = 2024
    params["validation"] = {"max_quarantine_share": 0.05}
    params["ingest"] = {"quarantine_dir": "data_raw/quarantine"}
    with pytest.raises(ValidationFailed) as err:
        stage_validate(Settings.from_mapping(params))
    assert "valeur_hors_plage" in str(err.value) and "40,0\u202f%" in str(err.value)
    assert not Path("data_clean/validated").exists()
    assert not Path("outputs/validation").exists()


def _weather() -> pd.DataFrame:
    """Six day-station rows of a plausible January at Uccle, and one alert-only day."""
    return pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
                 "2024-01-06", "2024-01-07"]
            ).astype("datetime64[s]"),
            "station": "6447",
            "tmin": [1.0, -2.0, -6.5, -9.0, 0.5, 2.0, float("nan")],
            "tmax": [6.0, 3.0, -1.0, -3.5, 5.0, 8.0, float("nan")],
            "alert": ["", "", "froid", "froid", "", "", "froid"],
        }
    )  # fmt: skip


def test_the_weather_suite_finds_each_planted_fault_and_passes_a_clean_table():
    max_date = pd.Timestamp("2024-12-31")
    clean = validate_tables(_contacts(), _refusals(), max_date, None, weather=_weather())
    assert clean["weather"].rows == 7 and clean["weather"].set_aside.empty  # NaN: no reading
    w = _weather()
    w.loc[1, "tmin"] = -62.0  # row 2: out of range
    w.loc[4, ["tmin", "tmax"]] = [7.0, 2.0]  # row 5: minimum above maximum
    w.loc[5, "alert"] = "ozone"  # row 6: unknown alert
    w = pd.concat([w, w.iloc[[0]]], ignore_index=True)  # row 8: 1 January read twice
    out = validate_tables(_contacts(), _refusals(), max_date, None, weather=w)["weather"]
    reasons = dict(zip(out.set_aside["source_row"], out.set_aside["reason"], strict=True))
    assert reasons == {
        1: "ligne_dupliquee",
        2: "valeur_hors_plage",
        5: "valeur_hors_plage",
        6: "code_inconnu",
        8: "ligne_dupliquee",
    }
    from observatoire.intake.validate import weather_problems

    lines = weather_problems(out)
    assert "ligne 5 (05/01/2024, station 6447) : température hors plage ou minimum " in lines[2]


def test_a_weather_table_not_written_by_ingest_stops_the_stage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_parquet(_contacts(), Path("data_clean/staging/contacts.parquet"))
    write_parquet(_refusals(), Path("data_clean/staging/refusals.parquet"))
    w = _weather()
    w.loc[2, ["tmin", "tmax"]] = [4.0, -1.0]
    write_parquet(w, Path("data_clean/weather.parquet"))
    write_json(Path("outputs/metrics/ingest.json"), {"files": {}})
    params = yaml.safe_load((ROOT / "params/pipeline.yaml").read_text(encoding="utf-8"))
    params["report"]["year"] = params["sample"]["last_year"] = 2024
    params["ingest"] = {"quarantine_dir": "data_raw/quarantine"}
    with pytest.raises(ValidationFailed) as err:
        stage_validate(Settings.from_mapping(params))
    message = str(err.value)
    assert "La table météo data_clean/weather.parquet ne passe pas ses contrôles" in message
    assert "ligne 3 (03/01/2024, station 6447)" in message and "observatoire ingest" in message
    assert not Path("data_clean/validated").exists()
