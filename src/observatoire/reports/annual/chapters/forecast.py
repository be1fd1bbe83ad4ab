"""Section « L'hiver prochain »: next winter's demand at the night shelter, its prediction
intervals, the model the rolling-origin back-test chose and how every method forecast the
past winters (see ``observatoire.models.forecast``).

The figures are nights, not persons: they do not go through the audited publication.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.core.formatting import MOIS_NOMS, french_number
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.models.not_computed import FORECAST
from observatoire.reports.annual.chapters.trends import not_computed_rows
from observatoire.reports.annual.context import ReportData, fr_num

__all__ = ["context", "exceedance_text", "forecast_context"]

# Methods in the order of the tables: the two count models, then the naive benchmarks.
_ORDER = ("hiver", "commune", "dernier_hiver", "saisonnier", "plafonne")
_SHORT = {
    "hiver": "Tendance propre à l'hiver",
    "commune": "Tendance commune",
    "dernier_hiver": "Comme l'hiver dernier",
    "saisonnier": "Naïf saisonnier",
    "plafonne": "Naïf plafonné à la capacité",
}


def context(data: ReportData) -> dict[str, Any]:
    """The forecast, or None when the trends stage made none: the section then prints why
    (``forecast_not_computed``)."""
    return {
        "forecast": forecast_context(data.trend),
        "forecast_not_computed": not_computed_rows(data.trend, (FORECAST,)),
    }


def _label(method: str, chosen: str) -> str:
    return _SHORT[method] + (" (modèle retenu)" if method == chosen else "")


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0,001" if p < 0.001 else french_number(p, 3)


def _month(ym: str) -> str:
    stamp = pd.Timestamp(ym + "-01")
    return f"{MOIS_NOMS[stamp.month - 1]} {stamp.year}"


def _backtest_rows(f: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per method: MAPE by band of horizons; coverage of the intervals (models)."""
    bands: dict[str, dict[str, Any]] = {}
    for r in f.get("backtest") or []:
        bands.setdefault(r["method"], {})[r["band"]] = r
    rows = []
    for method in [m for m in _ORDER if m in bands]:
        per = bands[method]
        rep = per.get("rapport", {})
        rows.append(
            {
                "method": _label(method, f["method"]),
                "court": fr_pct(_frac(per.get("court", {}).get("mape"))),
                "moyen": fr_pct(_frac(per.get("moyen", {}).get("mape"))),
                "rapport": fr_pct(_frac(rep.get("mape"))),
                "cov80": fr_pct(rep.get("coverage80"), 0),
                "cov95": fr_pct(rep.get("coverage95"), 0),
                "n": fr_num(rep.get("n")),
            }
        )
    return rows


def _frac(x: float | None) -> float | None:
    return None if x is None else x / 100


def _winter_rows(f: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Complete past winters forecast from 31 December (11 months ahead): one column per
    winter, a row of observed totals, then a row per method; a model's forecast whose 80 %
    interval missed the observed total is flagged."""
    by_winter: dict[int, dict[str, Any]] = {}
    for w in f.get("backtest_winters") or []:
        by_winter.setdefault(w["winter"], {"observed": w["observed"]})[w["method"]] = w
    years = sorted(by_winter)
    header = [f"{y}–{y + 1}" for y in years]
    rows = [{"method": "Observé", "cells": [fr_num(by_winter[y]["observed"]) for y in years]}]
    for m in _ORDER:
        if not any(m in by_winter[y] for y in years):
            continue
        cells = []
        for y in years:
            w = by_winter[y].get(m)
            if w is None:
                cells.append("–")
                continue
            text = fr_num(w["forecast"])
            if w.get("lo80") is not None and not (w["lo80"] <= w["observed"] <= w["hi80"]):
                text += " (hors intervalle à 80 %)"
            cells.append(text)
        rows.append({"method": _label(m, f["method"]), "cells": cells})
    return header, rows


def forecast_context(trend: dict[str, Any]) -> dict[str, Any] | None:
    """Next winter's demand at the night shelter, formatted (see
    ``observatoire.models.forecast``)."""
    f = trend.get("forecast")
    if not f or f.get("point") is None:
        return None

    def interval(lo: float | None, hi: float | None) -> str:
        return f"{fr_num(lo)} – {fr_num(hi)}"

    months = [
        {
            "month": _month(m["month"]),
            "forecast": fr_num(m["forecast"]),
            "pi80": interval(m["lo80"], m["hi80"]),
            "pi95": interval(m["lo95"], m["hi95"]),
            "capacity": fr_num(m.get("capacity")),
        }
        for m in f["months"]
    ]
    model, other, sel = f["model"], f["other_model"], f["selection"]
    mape = sel.get("mape") or {}
    best_naive = sel.get("best_naive")
    if best_naive is None or sel.get("beats_naive") is None:
        naive_sentence = ""
    elif sel["beats_naive"]:
        naive_sentence = (
            f"À cet horizon, le modèle retenu fait mieux que la meilleure prévision naïve "
            f"({_SHORT[best_naive].lower()}, MAPE {fr_pct(_frac(mape.get(best_naive)))})."
        )
    else:
        naive_sentence = (
            f"**À cet horizon, le modèle retenu ne fait pas mieux que la prévision naïve "
            f"« {_SHORT[best_naive].lower()} » (MAPE {fr_pct(_frac(mape.get(best_naive)))})** : "
            "sa prévision est à lire avec cette réserve."
        )
    alternatives = [
        {
            "method": _label(a["method"], f["method"]),
            "point": fr_num(a["point"]),
            "pi80": "–" if a["pi80"][0] is None else interval(*a["pi80"]),
        }
        for m in _ORDER
        for a in f.get("alternatives") or []
        if a["method"] == m
    ]
    cur = f.get("current_winter")
    current = None
    if cur:
        current = {
            "winter": cur["winter"].replace("-", "–"),
            "months": " et ".join(_month(m).split(" ")[0] for m in cur["months"]),
            "observed": fr_num(cur["observed"]),
            "previous": fr_num(cur.get("previous")),
            "change": fr_pct(_frac(cur.get("change")), signed=True),
        }
    winter_header, winter_rows = _winter_rows(f)
    origin = pd.Timestamp(f["origin"] + "-01")
    return {
        "winter": f["winter"].replace("-", "–"),
        "origin": f"fin {MOIS_NOMS[origin.month - 1]} {origin.year}",
        "method": f["method"],
        "family": model["family"],
        "model_label": model["label"],
        "trend_sentence": model["trend_sentence"],
        "ljung_box_p": _p(model.get("ljung_box_p")),
        "ljung_box_ok": (model.get("ljung_box_p") or 0) >= 0.05,
        "acf1": french_number(model.get("acf1"), 2),
        "other_label": other["label"],
        "other_ljung_box_p": _p(other.get("ljung_box_p")),
        "misspecified_hint": f["method"] == "hiver"
        and (other.get("ljung_box_p") or 1) < 0.05
        and (model.get("ljung_box_p") or 0) >= 0.05,
        "other_point": fr_num(
            next(
                (a["point"] for a in f.get("alternatives") or [] if a["method"] == other["method"]),
                None,
            )
        ),
        "draws": fr_num(f["draws"]),
        "point": fr_num(f["point"]),
        "lo80": fr_num(f["pi80"][0]),
        "hi80": fr_num(f["pi80"][1]),
        "lo95": fr_num(f["pi95"][0]),
        "hi95": fr_num(f["pi95"][1]),
        "capacity": fr_num(f.get("capacity")),
        "p_exceed": exceedance_text(f.get("p_exceed"), int(f.get("draws") or 0)),
        "shortfall": fr_num(f.get("expected_shortfall")),
        "shortfall_lo": fr_num(f["shortfall_pi80"][0]),
        "shortfall_hi": fr_num(f["shortfall_pi80"][1]),
        "months": months,
        "rule": sel["rule"],
        "mape_chosen": fr_pct(_frac(mape.get(f["method"]))),
        "mape_other": fr_pct(_frac(mape.get(other["method"]))),
        "naive_sentence": naive_sentence,
        "n_origins": fr_num(f.get("n_origins")),
        "backtest": _backtest_rows(f),
        "alternatives": alternatives,
        "winter_header": winter_header,
        "winter_rows": winter_rows,
        "current": current,
        "total": {"point": f["point"], "lo80": f["pi80"][0], "hi80": f["pi80"][1]},
    }


def exceedance_text(p: float | None, draws: int) -> str:
    """A simulated probability as a reader may take it: never « 100 % » or « 0 % » (all or none
    of ``draws`` simulated winters is not certainty), « plus de 99,9 % » / « moins de 0,1 % »."""
    if p is None or p != p:
        return "–"
    if draws and p > 0.999:
        return f"plus de {fr_pct(0.999, 1)}"
    if draws and p < 0.001:
        return f"moins de {fr_pct(0.001, 1)}"
    return fr_pct(p, 0)
