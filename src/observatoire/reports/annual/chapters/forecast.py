"""Section « L'hiver prochain »: next winter's demand at the night shelter, its intervals and
how well the same model forecast past winters (see ``observatoire.models.forecast``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.reports import charts
from observatoire.reports.annual.context import ReportData, fr_num

__all__ = ["context", "forecast_context"]


def context(data: ReportData) -> dict[str, Any]:
    """The forecast, or None when the trends stage made none (the section is left out)."""
    return {"forecast": forecast_context(data.trend)}


def forecast_context(trend: dict[str, Any]) -> dict[str, Any] | None:
    """Next winter's demand at the night shelter, formatted (see
    ``observatoire.models.forecast``)."""
    f = trend.get("forecast")
    if not f or f.get("point") is None:
        return None

    def interval(lo: float | None, hi: float | None) -> str:
        return f"{fr_num(lo)} – {fr_num(hi)}"

    backtests = []
    for label, bt in (f.get("backtest") or {}).items():
        if not bt.get("winters"):
            continue
        backtests.append(
            {
                "label": "horizon du rapport" if label == "rapport" else "horizon court",
                "description": bt.get("description", ""),
                "mape": fr_pct(bt["mape"] / 100 if bt.get("mape") is not None else None),
                "rows": [
                    {
                        "winter": w["winter"].replace("-", "–"),
                        "observed": fr_num(w["observed"]),
                        "forecast": fr_num(w["forecast"]),
                        "ape": fr_pct(w["ape"] / 100),
                        "covered80": "oui" if w["covered80"] else "non",
                        "covered95": "oui" if w["covered95"] else "non",
                    }
                    for w in bt["winters"]
                ],
            }
        )
    months = []
    for m in f["months"]:
        stamp = pd.Timestamp(m["month"] + "-01")
        months.append(
            {
                "month": f"{charts.MOIS_NOMS[stamp.month - 1]} {stamp.year}",
                "forecast": fr_num(m["forecast"]),
                "pi80": interval(m["lo80"], m["hi80"]),
                "pi95": interval(m["lo95"], m["hi95"]),
                "capacity": fr_num(m.get("capacity")),
            }
        )
    origin = pd.Timestamp(f["origin"] + "-01")
    return {
        "winter": f["winter"].replace("-", "–"),
        "origin": f"fin {charts.MOIS_NOMS[origin.month - 1]} {origin.year}",
        "family": f["model"]["family"],
        "draws": fr_num(f["draws"]),
        "point": fr_num(f["point"]),
        "lo80": fr_num(f["pi80"][0]),
        "hi80": fr_num(f["pi80"][1]),
        "lo95": fr_num(f["pi95"][0]),
        "hi95": fr_num(f["pi95"][1]),
        "capacity": fr_num(f.get("capacity")),
        "p_exceed": fr_pct(f.get("p_exceed"), 0),
        "shortfall": fr_num(f.get("expected_shortfall")),
        "months": months,
        "backtests": backtests,
        "total": {"point": f["point"], "lo80": f["pi80"][0], "hi80": f["pi80"][1]},
    }
