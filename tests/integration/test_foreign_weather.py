"""The KMI/IRM daily observations (layer ``aws:aws_1day``, CSV as the WFS writes it) and a file
of official alert periods, read by a mapping alone into the weather table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from observatoire.core.errors import MappingError
from observatoire.core.schema import WEATHER_COLUMNS
from observatoire.intake.ingest import ingest_network
from observatoire.intake.mapping import load_partners
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.plans.phases import daily_phases
from observatoire.plans.settings import load_plans

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "tests" / "fixtures" / "foreign" / "meteo_irm"


def _ingest(partners_dir: Path = BASE / "params" / "partners"):
    partners = load_partners(partners_dir, ROOT / "params" / "codes", weather=True)
    return ingest_network(
        BASE / "data_raw", partners, Pseudonymiser(b"k" * 32), progress=lambda _: None
    )


def test_kmi_daily_layer_and_alerts_ingest_to_the_weather_table():
    res = _ingest()
    weather = res.weather
    assert list(weather.columns) == WEATHER_COLUMNS
    assert str(weather["date"].dtype).startswith("datetime64")
    assert not weather.duplicated(["date", "station"]).any()
    # Independent reading of the raw file with pandas.
    raw = pd.read_csv(BASE / "data_raw" / "meteo_irm" / "aws_1day_2024-01.csv")
    raw = raw[raw["temp_max"].isna() | (raw["temp_max"] < 50)]
    raw["date"] = pd.to_datetime(raw["timestamp"].str[:10])
    got = weather.dropna(subset=["tmin"]).set_index(["station", "date"]).sort_index()
    want = raw.assign(station=raw["code"].astype(str)).set_index(["station", "date"]).sort_index()
    assert got["tmin"].tolist() == pytest.approx(want["temp_min"].tolist())
    uccle = weather[weather["station"] == "6447"].set_index("date")
    assert uccle.loc["2024-01-06", "tmin"] == -9.3
    assert list(uccle.loc["2024-01-04":"2024-01-07", "alert"]) == ["froid"] * 4
    assert uccle.loc["2024-01-08", "alert"] == ""
    assert list(uccle.loc["2024-06-25":"2024-06-27", "alert"]) == ["chaleur"] * 3
    zaventem = weather[weather["station"] == "6451"].set_index("date")
    assert pd.isna(zaventem.loc["2024-01-03", "tmax"])
    # Every row accounted; the impossible reading set aside; the missing day said.
    readings = next(f for f in res.files if f.source_file.endswith("aws_1day_2024-01.csv"))
    assert (readings.rows_read, readings.reasons) == (15, {"valeur_hors_plage": 1})
    assert any("station 6447" in w and "11/01/2024" in w for w in res.warnings)
    # The weather source is no service: no coverage, not among the partners.
    assert res.coverage.to_json() == {} or "meteo_irm" not in str(res.coverage.to_json())
    assert load_partners(BASE / "params" / "partners", ROOT / "params" / "codes") == {}
    # The phase calendar reads it: the alert and the cold nights put January in grand froid.
    plan = load_plans(ROOT / "params" / "plans.yaml").plans["grand_froid"]
    calendar = daily_phases(plan, weather, 2024, station="6447").set_index("date")
    assert calendar.loc["2024-01-04", "phase"] == "grand_froid"  # the alert
    assert calendar.loc["2024-01-08", "phase"] == "grand_froid"  # −3.2: 5th night ≤ −3 °C
    assert calendar.loc["2024-01-09", "phase"] == "veille"


def test_a_malformed_weather_mapping_is_refused_in_french(tmp_path):
    text = (BASE / "params" / "partners" / "meteo_irm.yaml").read_text(encoding="utf-8")
    (tmp_path / "meteo_irm.yaml").write_text(
        text.replace("tmin:    {column", "temp_minimum: {column"), encoding="utf-8"
    )
    with pytest.raises(MappingError) as err:
        load_partners(tmp_path, ROOT / "params" / "codes", weather=True)
    message = str(err.value)
    assert "temp_minimum" in message and "weather" in message
    assert "Traceback" not in message
