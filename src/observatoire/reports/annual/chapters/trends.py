"""Section « Tendances »: persons per year, the yearly and monthly count models of the network,
and the monthly model of each dispositif (all fitted by the trends notebook)."""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.reports.annual.chapters.cells import table_rows
from observatoire.reports.annual.context import ReportData, fr_num

__all__ = ["context", "trends_by_dispositif"]


def context(data: ReportData) -> dict[str, Any]:
    """The network's models, formatted; the annex prints their diagnostics too."""
    trend = data.trend
    nt, yoy, mm = trend["network"], trend["year_on_year"], trend["monthly"]
    return {
        "yearly": [
            {"year": r["label"], "persons": r["cells"][0]}
            for r in table_rows(data.pub, data.tables, "personnes_par_annee")
        ],
        "trend": {
            "family": nt["family"],
            "rr": fr_num(nt["annual_rate_ratio"], 3),
            "ci_low": fr_num(nt["ci_low"], 3),
            "ci_high": fr_num(nt["ci_high"], 3),
            "pct": fr_pct(nt["annual_rate_ratio"] - 1, 1, signed=True),
            "pct_low": fr_pct(nt["ci_low"] - 1, 1, signed=True),
            "pct_high": fr_pct(nt["ci_high"] - 1, 1, signed=True),
            "dispersion": fr_num(nt["dispersion"], 2),
            "interpretation": nt["interpretation"],
        },
        "yoy": {
            "rr": fr_num(yoy["rate_ratio"], 3),
            "ci_low": fr_num(yoy["ci_low"], 3),
            "ci_high": fr_num(yoy["ci_high"], 3),
            "interpretation": yoy["interpretation"],
        },
        "monthly_model": {
            "family": mm["family"],
            "rr": fr_num(mm["annual_rate_ratio"], 3),
            "ci_low": fr_num(mm["ci_low"], 3),
            "ci_high": fr_num(mm["ci_high"], 3),
            "dispersion": fr_num(mm["dispersion"], 2),
            "ljung_box_p": fr_num(mm["ljung_box_p"], 3),
        },
        "trends_dispositifs": trends_by_dispositif(trend),
    }


def trends_by_dispositif(trend: dict[str, Any]) -> list[dict[str, str]]:
    """Monthly count models per dispositif, as the trends notebook fitted them."""
    rows = []
    monthly = trend.get("monthly_by_dispositif") or {}
    yoy = trend.get("yoy_by_dispositif") or {}
    for code in DISPOSITIFS:
        m = monthly.get(code)
        if not m or m.get("annual_rate_ratio") is None:
            continue
        y = yoy.get(code) or {}
        rows.append(
            {
                "label": DISPOSITIFS[code],
                "family": m["family"].replace("binomiale négative", "bin. négative"),
                "rr": fr_num(m["annual_rate_ratio"], 3),
                "ci": f"{fr_num(m['ci_low'], 3)} – {fr_num(m['ci_high'], 3)}",
                "pct": fr_pct(m["annual_rate_ratio"] - 1, 1, signed=True),
                "dispersion": fr_num(m.get("dispersion"), 2),
                "ljung_box_p": fr_num(m.get("ljung_box_p"), 3),
                "yoy": f"{fr_num(y.get('rate_ratio'), 2)} ({fr_num(y['ci_low'], 2)}–"
                f"{fr_num(y['ci_high'], 2)})"
                if y
                else "–",
            }
        )
    return rows
