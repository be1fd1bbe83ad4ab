"""Stage ``plans``: every number of the bilans and of the preparation note, computed once.

The notebook ``notebooks/plans.py`` calls :func:`compute_plans` and :func:`write_plans`; the
``publication`` stage protects the counts of persons, the ``plans_report`` stage prints the
published cells. Written to ``outputs/plans/<year>/``: ``bilans.json`` (each plan's totals for
the report year and every earlier year of the data, phase days, persons, distributions, the
temperature effect and what could not be computed, in French), ``nuits_<plan>.csv`` (the
report year's days; ``nuits_<plan>__<partner>.csv`` for each count-only partner of the plan),
``comparaison_<plan>.csv`` (plan by plan), ``besoins_lits.csv`` (the
beds needed per month of the coming winter), ``backtest_lits.csv`` and
``capacites_passees.csv`` (the rule and each choice of beds on past winters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.dispositifs import SHELTER
from observatoire.core.storage import write_csv, write_results_json
from observatoire.indicators.capacity import bed_nights_per_day
from observatoire.models.forecast import monthly_demand
from observatoire.plans.bilan import (
    NightTable,
    count_only_nights,
    distributions,
    network_counts,
    night_table,
    persons_in_window,
    plan_covariate,
    summarise,
    window_days,
    years_of,
)
from observatoire.plans.preparation import backtest, beds_needed, capacity_grid
from observatoire.plans.settings import Plan, Plans
from observatoire.plans.temperature import COLD, HEAT, fit_temperature_effect

__all__ = ["PlansResults", "compute_plans", "write_plans", "RESULTS_FILE"]

RESULTS_FILE = "bilans.json"
NETWORK = "reseau"


@dataclass
class PlansResults:
    year: int
    bilans: dict[str, Any] = field(default_factory=dict)
    nights: dict[str, pd.DataFrame] = field(default_factory=dict)
    comparison: dict[str, pd.DataFrame] = field(default_factory=dict)
    preparation: dict[str, Any] = field(default_factory=dict)
    beds: pd.DataFrame | None = None
    backtest: pd.DataFrame | None = None
    grid: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _sources(plan: Plan, aggregates: pd.DataFrame) -> list[str]:
    """Count-only partners among the plan's services that send a daily return."""
    ids = {s.service for s in plan.services}
    have = set(aggregates["partner_id"].unique()) if len(aggregates) else set()
    return sorted(ids & have)


def _network_table(plan, year, contacts, refusals, beds_of, weather, station) -> NightTable:
    days = window_days(plan, year)
    counts = network_counts(contacts, refusals, beds_of(days), days)
    return night_table(plan, year, counts, weather, "reseau", station)


def _effect(plan: Plan, tables: list[NightTable], outcome: str = "demand") -> dict[str, Any]:
    frame = pd.concat([t.frame for t in tables], ignore_index=True) if tables else pd.DataFrame()
    direction = COLD if plan.season == "hiver" else HEAT
    if frame.empty or frame[plan_covariate(plan)].isna().all():
        return {"computed": False, "reason": "aucune température pour les jours du plan"}
    try:
        fit = fit_temperature_effect(frame, direction, outcome)
    except ValueError as exc:
        return {"computed": False, "reason": str(exc)}
    return {"computed": True, "label": direction.label, **fit.to_dict()}


def compute_plans(
    year: int,
    plans: Plans,
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    aggregates: pd.DataFrame,
    weather: pd.DataFrame | None,
    capacity: Any,
    winter: tuple[str, str],
    draws: int = 2000,
    seed: int = 20250101,
    method: str = "hiver",
) -> PlansResults:
    """The bilans of every plan for ``year`` and earlier years, and the preparation note."""
    res = PlansResults(year)
    if weather is None or weather.empty:
        res.notes.append(
            "Aucune donnée météo (data_clean/weather.parquet absent ou vide) : pas de phases "
            "déclenchées (tous les jours en phase par défaut) ni d'effet de la température."
        )
        weather = None

    def beds_of(days: pd.DatetimeIndex) -> pd.Series | None:
        if capacity is None:
            return None
        return pd.Series(bed_nights_per_day(capacity, days, winter), index=days, dtype="float64")

    first = pd.to_datetime(contacts["date_start"]).min() if len(contacts) else None
    last = pd.to_datetime(contacts["date_start"]).max() if len(contacts) else None
    for pid, plan in plans.plans.items():
        entry: dict[str, Any] = {
            "name": plan.name,
            "label": plan.label(year),
            "season": plan.season,
        }
        years = years_of(plan, first.date(), last.date()) if first is not None else []
        if year not in years:
            entry["notes"] = [
                f"{plan.label(year)} : la période du plan n'est pas couverte par les données "
                "nominatives (bilan du réseau non calculé)."
            ]
        all_years = sorted(set(years) | {year})
        network = {
            y: _network_table(plan, y, contacts, refusals, beds_of, weather, plans.station)
            for y in all_years
        }
        rows = []
        for y in all_years:
            s = summarise(network[y], plan).to_dict()
            s.update(persons_in_window(contacts, window_days(plan, y), SHELTER))
            rows.append(s)
        entry["network"] = rows[-1] if rows and rows[-1]["year"] == year else None
        entry["earlier"] = [r for r in rows if r["year"] < year]
        res.comparison[pid] = pd.DataFrame(
            [
                {k: v for k, v in r.items() if k != "phase_days"}
                | {f"jours_{p}": d for p, d in r["phase_days"].items()}
                for r in rows
            ]
        )
        res.nights[pid] = network[year].frame
        entry["effect_network"] = _effect(plan, [t for y, t in network.items() if y <= year])
        partners = {}
        for partner in _sources(plan, aggregates):
            tabs = []
            for y in sorted(
                set(years_of(plan, date(2000, 1, 1), date(2100, 1, 1)))
                & set(range(year - 15, year + 1))
            ):
                days = window_days(plan, y)
                counts = count_only_nights(aggregates, partner, days)
                if counts["demand"].notna().any():
                    tabs.append(night_table(plan, y, counts, weather, partner, plans.station))
            if not tabs:
                continue
            current = [t for t in tabs if t.year == year]
            if current:  # the report year's days of the plan's own service
                res.nights[f"{pid}__{partner}"] = current[0].frame
            outcome_visits = tabs[0].frame["used"].isna().all()
            partners[partner] = {
                "years": [summarise(t, plan).to_dict() for t in tabs],
                "outcome": "visits" if outcome_visits else "demand",
                "effect": _effect(plan, tabs, "demand"),
            }
        entry["partners"] = partners
        entry["distributions"] = (
            distributions(aggregates, window_days(plan, year)) if len(aggregates) else {}
        )
        res.bilans[pid] = entry
    _preparation(res, plans, contacts, refusals, beds_of, draws, seed, method)
    return res


def _preparation(res, plans, contacts, refusals, beds_of, draws, seed, method) -> None:
    target = plans.targets.refusal_night_share
    if contacts.empty:
        res.preparation = {"computed": False, "reason": "aucune donnée nominative d'hébergement"}
        return
    end = pd.Timestamp(f"{res.year}-12-01")
    try:  # a network without a shelter (no night, no refusal) has no winter demand to plan for
        history = monthly_demand(contacts, refusals, end)
        days = pd.date_range(history["month"].min(), end + pd.offsets.MonthEnd(0), freq="D")
        nights = network_counts(contacts, refusals, beds_of(days), days)
        rule = beds_needed(history, nights["demand"], target, draws=draws, seed=seed, method=method)
    except ValueError as exc:
        res.preparation = {"computed": False, "reason": str(exc), "target": target}
        return
    res.beds = rule.months
    res.backtest = backtest(history, nights, target, draws=draws, seed=seed)
    res.grid = capacity_grid(nights)
    res.preparation = {"computed": True, **rule.to_dict()}


def write_plans(res: PlansResults, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    payload = {
        "year": res.year,
        "plans": res.bilans,
        "preparation": res.preparation,
        "notes": res.notes,
    }
    path = out / RESULTS_FILE
    write_results_json(path, payload)
    written.append(path)
    for pid, frame in res.nights.items():
        written.append(out / f"nuits_{pid}.csv")
        write_csv(frame, written[-1])
    for pid, frame in res.comparison.items():
        written.append(out / f"comparaison_{pid}.csv")
        write_csv(frame, written[-1])
    for name, frame in (
        ("besoins_lits", res.beds),
        ("backtest_lits", res.backtest),
        ("capacites_passees", res.grid),
    ):
        if frame is not None:
            written.append(out / f"{name}.csv")
            write_csv(frame, written[-1])
    return written
