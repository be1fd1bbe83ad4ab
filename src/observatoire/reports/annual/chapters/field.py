"""Section « Relevés de terrain »: the violence barometer, the neighbourhood diagnosis and the
neighbourhood relays in one page each, with what moved since last year.

Each instrument has its own report (``barometre-violences``, ``diagnostic-communautaire``,
``relais-de-quartier``); this chapter prints only their headline figures, read from the year's one
ledger (the publication stage decided every count: « < k » and « s » are printed as decided) and,
for figures that count no person (observations, hours), from the stages' own CSV. A « plus » or a
« moins » is printed only when the instrument's own test established it (after its multiplicity
correction); the rest is « stable ». An instrument without data this year says so in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.core.formatting import french_fraction, french_number
from observatoire.core.schema import INCIDENT_TYPES, RELAY_NEEDS, STREET_PROBLEMS
from observatoire.disclosure.barometre import count_key
from observatoire.disclosure.diagnostic import diagnosis_key
from observatoire.disclosure.ledger import PublishedCell
from observatoire.disclosure.relais import relais_key
from observatoire.reports.annual.context import ReportData

__all__ = ["context"]


def _cell(cells: dict[str, PublishedCell], key: str) -> PublishedCell | None:
    return cells.get(key)


def _change(cur: PublishedCell | None, prev: PublishedCell | None) -> str:
    """« +12,5 % » between two published counts; « non calculée » when one is masked."""
    if cur is None or prev is None or cur.value is None or not prev.value:
        return "non calculée"
    return french_fraction(cur.value / prev.value - 1, signed=True)


def _pair(cells: dict[str, PublishedCell], cur_key: str, prev_key: str) -> dict[str, str] | None:
    cur, prev = _cell(cells, cur_key), _cell(cells, prev_key)
    if cur is None:
        return None
    return {
        "cur": cur.text,
        "prev": prev.text if prev is not None else "non transmis",
        "change": _change(cur, prev),
    }


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _barometer(data: ReportData) -> dict[str, Any] | None:
    y, cells = data.year, data.published
    total = _pair(
        cells,
        count_key(y, "services", "total", str(y)),
        count_key(y, "services", "total", str(y - 1)),
    )
    if total is None:
        return None
    types = []
    for code, label in INCIDENT_TYPES.items():
        row = _pair(
            cells, count_key(y, "types", code, str(y)), count_key(y, "types", code, str(y - 1))
        )
        if row is not None:
            types.append({"label": label, **row})
    res = _read_json(PATHS.barometer(y) / "resultats.json") or {}
    trend = res.get("trend") or {}
    both_published = all(
        (c := _cell(cells, count_key(y, "services", "total", str(yy)))) is not None
        and c.value is not None
        for yy in (y, y - 1)
    )
    verdict = None
    if trend.get("computed") and both_published:
        lo, hi = trend["ci95"]
        word = "plus" if lo > 1 else "moins" if hi < 1 else "stable"
        verdict = {
            "word": word,
            "rr": french_number(trend["rate_ratio"], 2),
            "lo": french_number(lo, 2),
            "hi": french_number(hi, 2),
        }
    survey = (res.get("survey") or {}).get("prevalences", {}).get("verbal_12m")
    verbal = None
    if survey and survey.get("n", 0) >= data.k:
        verbal = {
            "share": french_fraction(survey["weighted"], 0),
            "lo": french_fraction(survey["ci95"][0], 0),
            "hi": french_fraction(survey["ci95"][1], 0),
            "n": french_number(survey["n"]),
        }
    return {"total": total, "types": types, "trend": verdict, "verbal": verbal}


def _established(rows: pd.DataFrame, labels: dict[str, str], code: str, word_of) -> dict[str, list]:
    plus, minus = [], []
    for r in rows.itertuples(index=False):
        word = word_of(r)
        label = labels.get(getattr(r, code), getattr(r, code))
        if word == "plus":
            plus.append(label)
        elif word == "moins":
            minus.append(label)
    return {"plus": plus, "moins": minus}


def _diagnosis(data: ReportData) -> dict[str, Any] | None:
    y, cells = data.year, data.published
    folder = PATHS.street_diagnosis(y)
    persons = _pair(
        cells,
        diagnosis_key(y, "ensemble", y, "personnes"),
        diagnosis_key(y, "ensemble", y - 1, "personnes"),
    )
    if persons is None:
        return None
    young = _pair(
        cells,
        diagnosis_key(y, "ensemble", y, "jeunes"),
        diagnosis_key(y, "ensemble", y - 1, "jeunes"),
    )
    obs = None
    presence = folder / "presence_zones.csv"
    if presence.is_file():
        frame = pd.read_csv(presence)
        whole = frame[frame["zone"] == "ensemble"].set_index("year")
        if y in whole.index:
            cur = int(whole.loc[y, "observations"])
            prev = int(whole.loc[y - 1, "observations"]) if y - 1 in whole.index else None
            obs = {
                "cur": french_number(cur),
                "prev": french_number(prev) if prev is not None else "non transmis",
                "change": french_fraction(cur / prev - 1, signed=True) if prev else "non calculée",
            }
    changes = {"plus": [], "moins": []}
    evolution = folder / "codes_evolution.csv"
    if evolution.is_file():
        frame = pd.read_csv(evolution)
        network = frame[(frame["zone"] == "ensemble") & (frame["family"] == "problemes")]
        changes = _established(network, STREET_PROBLEMS, "code", lambda r: r.verdict)
    model = (_read_json(folder / "diagnostic.json") or {}).get("young_model") or {}
    per = "par heure de présence" if model.get("exposure") == "heures" else "par passage"
    zones = []
    for zone, m in (model.get("zones") or {}).items():
        if m.get("computed") and (m["ci95"][0] > 1 or m["ci95"][1] < 1):
            zones.append(
                {
                    "zone": zone,
                    "rr": french_number(m["rr"], 2),
                    "lo": french_number(m["ci95"][0], 2),
                    "hi": french_number(m["ci95"][1], 2),
                }
            )
    return {
        "persons": persons,
        "young": young,
        "observations": obs,
        "changes": changes,
        "young_zones": zones,
        "young_per": per,
    }


def _relays(data: ReportData) -> dict[str, Any] | None:
    y, cells = data.year, data.published
    services = _pair(
        cells,
        relais_key(y, y, "total", None, "prestations"),
        relais_key(y, y - 1, "total", None, "prestations"),
    )
    if services is None:
        return None
    helped = _pair(
        cells,
        relais_key(y, y, "total", None, "personnes_aidees"),
        relais_key(y, y - 1, "total", None, "personnes_aidees"),
    )
    changes = {"plus": [], "moins": []}
    evolution = PATHS.relays(y) / "evolutions.csv"
    if evolution.is_file():
        frame = pd.read_csv(evolution)
        needs = frame[frame["dimension"] == "besoin"]
        changes = _established(
            needs,
            RELAY_NEEDS,
            "category",
            lambda r: ("plus" if r.diff > 0 else "moins") if bool(r.significant) else "stable",
        )
    return {"services": services, "helped": helped, "changes": changes}


def context(data: ReportData) -> dict[str, Any]:
    """The three instruments' headline figures (None when the instrument has no data)."""
    return {
        "field_records": {
            "barometer": _barometer(data),
            "diagnosis": _diagnosis(data),
            "relays": _relays(data),
        }
    }
