"""Section « Tendances »: persons per year, the yearly trend of the network (corrected for left
truncation, with its sensitivity without 2020), the paired year-on-year change, the monthly
model's seasonality, the trends of each dispositif with Holm-adjusted p-values, and the
shelter's occupancy on a bounded scale (all fitted by the trends notebook)."""

from __future__ import annotations

from typing import Any

from observatoire.core.dispositifs import DISPOSITIFS, STREET_WORK
from observatoire.core.formatting import MOIS_NOMS
from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.models.not_computed import FORECAST, LABELS
from observatoire.reports.annual.chapters.cells import table_rows
from observatoire.reports.annual.context import (
    PARTIAL_CHANGE,
    PARTIAL_YOY,
    ReportData,
    change_computable,
    fr_num,
)

__all__ = ["context", "not_computed_rows", "p_text", "trends_by_dispositif"]


def p_text(p: float | None) -> str:
    """« 0,012 » or « < 0,001 »; « – » when there is no test."""
    if p is None:
        return "–"
    return "< 0,001" if p < 0.001 else fr_num(p, 3)


def _trend(nt: dict[str, Any] | None) -> dict[str, Any]:
    if not nt:
        return {}
    return {
        "family": nt["family"],
        "rr": fr_num(nt["annual_rate_ratio"], 3),
        "ci_low": fr_num(nt["ci_low"], 3),
        "ci_high": fr_num(nt["ci_high"], 3),
        "pct": fr_pct(nt["annual_rate_ratio"] - 1, 1, signed=True),
        "pct_low": fr_pct(nt["ci_low"] - 1, 1, signed=True),
        "pct_high": fr_pct(nt["ci_high"] - 1, 1, signed=True),
        "dispersion": fr_num(nt["dispersion"], 2),
        "p_holm": p_text(nt.get("p_holm")),
        "interpretation": nt["interpretation"],
        "years": f"{nt['years'][0]}–{nt['years'][-1]}" if nt.get("years") else "",
        "first": nt["years"][0] if nt.get("years") else "",
    }


def _seasonality(mm: dict[str, Any]) -> dict[str, str]:
    """The month furthest below January, with its CI (the summer trough)."""
    rows = [r for r in mm.get("seasonal") or [] if r.get("ci_low") is not None]
    if not rows:
        return {}
    low = min(rows, key=lambda r: r["rate_ratio"])
    return {
        "month": MOIS_NOMS[low["month"] - 1],
        "pct": fr_pct(1 - low["rate_ratio"], 1),
        "pct_low": fr_pct(1 - low["ci_high"], 1),
        "pct_high": fr_pct(1 - low["ci_low"], 1),
    }


def _occupancy(occ: dict[str, Any] | None) -> dict[str, Any]:
    """The shelter's occupancy, described (first and last year, months at full capacity)."""
    if not occ or not occ.get("yearly"):
        return {}
    years = sorted(occ["yearly"])
    return {
        "first_year": years[0],
        "last_year": years[-1],
        "first": fr_pct(occ["yearly"][years[0]], 1),
        "last": fr_pct(occ["yearly"][years[-1]], 1),
        "full": fr_num(occ["full_months"]),
        "months": fr_num(occ["n_months"]),
    }


def not_computed_rows(trend: dict[str, Any], keys: tuple[str, ...] | None = None) -> list[dict]:
    """What the trends stage could not compute (``non_calcule`` of ``tendances.json``), one
    row per model (« label », « reason »), in the order of
    :data:`observatoire.models.not_computed.LABELS`; ``keys`` keeps some of them."""
    skipped = trend.get("non_calcule") or {}
    return [
        {"label": label, "reason": skipped[k]}
        for k, label in LABELS.items()
        if k in skipped and (keys is None or k in keys)
    ]


def _yoy(yoy: dict[str, Any] | None) -> dict[str, Any]:
    if not yoy:
        return {}
    return {
        "rr": fr_num(yoy["rate_ratio"], 3),
        "ci_low": fr_num(yoy["ci_low"], 3),
        "ci_high": fr_num(yoy["ci_high"], 3),
        "both": fr_num(yoy.get("both")),
        "p_holm": p_text(yoy.get("p_holm")),
        "ind_low": fr_num((yoy.get("independent_ci") or [None, None])[0], 3),
        "ind_high": fr_num((yoy.get("independent_ci") or [None, None])[1], 3),
        "interpretation": yoy["interpretation"],
    }


def partial_yoy(yoy: dict[str, Any], year: int) -> dict[str, Any]:
    """The year-on-year change of a partial year: its figures, never its reading."""
    return {**_yoy(yoy), "interpretation": PARTIAL_YOY.format(year=year, prev=year - 1)}


def _monthly(mm: dict[str, Any] | None) -> dict[str, Any]:
    if not mm:
        return {}
    return {
        "family": mm["family"],
        "rr": fr_num(mm["annual_rate_ratio"], 3),
        "ci_low": fr_num(mm["ci_low"], 3),
        "ci_high": fr_num(mm["ci_high"], 3),
        "dispersion": fr_num(mm["dispersion"], 2),
        "ljung_box_p": fr_num(mm["ljung_box_p"], 3),
        "lag1": fr_num(mm.get("serial_lag1"), 2),
        "trough": _seasonality(mm),
    }


def context(data: ReportData) -> dict[str, Any]:
    """The network's models, formatted; the annex prints their diagnostics too. A model the
    trends stage could not compute is an empty dict here, and its reason is in
    ``trends_not_computed``."""
    trend = data.trend
    nt, yoy, mm = trend["network"], trend["year_on_year"], trend["monthly"]
    missing = trend.get("network_missing_share") or {}
    truncation = trend.get("truncation") or {}
    occ = trend.get("occupancy")
    tests = (trend.get("multiplicity") or {}).get("tests") or {}
    return {
        "yearly": [
            {"year": r["label"], "persons": r["cells"][0]}
            for r in table_rows(data.pub, data.tables, "personnes_par_annee")
        ],
        "trend": _trend(nt),
        "trend_uncorrected": _trend(trend.get("network_uncorrected")),
        "trend_no2020": _trend(trend.get("network_without_2020")),
        "trend_named": _trend(trend.get("network_named")),
        "trend_street": _trend((trend.get("by_dispositif") or {}).get(STREET_WORK)),
        "yoy_named": (trend.get("year_on_year_named") or {}).get("interpretation", ""),
        "missing_first": fr_pct(missing.get(min(missing, default=""), 0.0), 1) if missing else "",
        "missing_years": [
            {"year": y, "share": fr_pct(m, 1)} for y, m in sorted(missing.items()) if m > 0.001
        ],
        "truncated": [
            {
                "label": DISPOSITIFS[code],
                "years": ", ".join(str(y) for y in t["affected_years"]),
                "first_share": fr_pct(t["missing_share"].get(min(t["missing_share"]), 0.0), 0),
                "lower_bound": t["lower_bound"],
            }
            for code, t in truncation.items()
            if t["affected_years"] and code in DISPOSITIFS
        ],
        "yoy": _yoy(yoy) if not yoy or change_computable(data) else partial_yoy(yoy, data.year),
        "monthly_model": _monthly(mm),
        "stl_network": "stl_reseau" not in (trend.get("non_calcule") or {}),
        "occupancy": _occupancy(occ),
        "n_tests": len(tests),
        "trends_dispositifs": trends_by_dispositif(trend, data),
        "trends_not_computed": not_computed_rows(trend, tuple(k for k in LABELS if k != FORECAST)),
    }


def trends_by_dispositif(
    trend: dict[str, Any], data: ReportData | None = None
) -> list[dict[str, str]]:
    """Yearly trend (quasi-Poisson, years free of left truncation) and paired year-on-year
    change of each dispositif, with Holm-adjusted p-values; a dispositif without a trend says
    why."""
    rows = []
    yearly = trend.get("by_dispositif") or {}
    no2020 = trend.get("by_dispositif_without_2020") or {}
    skipped = trend.get("trend_skipped") or {}
    yoy = trend.get("yoy_by_dispositif") or {}
    for code in DISPOSITIFS:
        t, y = yearly.get(code), yoy.get(code) or {}
        if not t and code not in skipped:
            continue
        change, change_p = "–", "–"
        if data is not None and not change_computable(data, code):
            change = PARTIAL_CHANGE
        elif y.get("truncated"):
            change = "non interprétable"
        elif y and y.get("rate_ratio") is not None:
            change = (
                f"{fr_num(y['rate_ratio'], 2)} ({fr_num(y['ci_low'], 2)}–{fr_num(y['ci_high'], 2)})"
            )
            change_p = p_text(y.get("p_holm"))
        s = no2020.get(code)
        rows.append(
            {
                "label": DISPOSITIFS[code],
                "years": f"{t['years'][0]}–{t['years'][-1]}" if t else "–",
                "rr": fr_num(t["annual_rate_ratio"], 3) if t else "non estimé",
                "ci": f"{fr_num(t['ci_low'], 3)} – {fr_num(t['ci_high'], 3)}" if t else "–",
                "pct": fr_pct(t["annual_rate_ratio"] - 1, 1, signed=True) if t else "–",
                "p_holm": p_text(t.get("p_holm")) if t else "–",
                "no2020": fr_pct(s["annual_rate_ratio"] - 1, 1, signed=True) if s else "–",
                "yoy": change,
                "yoy_p": change_p,
            }
        )
    return rows
