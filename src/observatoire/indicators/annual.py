"""The annual figures of the observatory report, gathered from the indicator functions.

:func:`annual_indicators` is what the indicators notebook writes to
``outputs/indicators/<year>/indicateurs.json`` and what the report prints. Raw (unsuppressed)
counts are kept here; disclosure control is applied when a number is published.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from observatoire.config.settings import ReportSettings
from observatoire.core.coverage import Coverage, coverage_of
from observatoire.core.dispositifs import DISPOSITIFS, HOUSING_FIRST, SHELTER, STREET_WORK
from observatoire.core.presence import with_presence
from observatoire.indicators import counts as ind
from observatoire.indicators import durations, exits, flows, housing, pathways
from observatoire.indicators.aggregates import count_only_partners
from observatoire.indicators.capacity import capacity_summary, shelter_capacity_series
from observatoire.intake.mapping import PartnerMapping

__all__ = [
    "HOUSING_FIRST_MONTHS",
    "annual_indicators",
    "jsonable",
    "previous_year_indicators",
    "report_families",
    "shelter_capacity",
]

HOUSING_FIRST_MONTHS = (12, 24)
"""Follow-ups of Housing First retention (the brief's « still housed at 12 and 24 months »)."""


def annual_indicators(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    partners: dict[str, PartnerMapping],
    report: ReportSettings,
    coverage: Coverage | None = None,
    aggregates: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Every figure of the annual report for ``report.year``, unsuppressed.

    ``coverage``: the months each partner's exports cover (the ingest stage's table, see
    :mod:`observatoire.core.coverage`; default: proposed from ``contacts``). Flows and the
    long-term stayers' window are computed only where it covers their look-back.

    ``aggregates`` (the clean aggregate returns) gives the shelters' capacity where a partner
    sends it night by night (:func:`observatoire.indicators.capacity.shelter_capacity_series`);
    its counts are never added to the person counts here (see
    :mod:`observatoire.indicators.aggregates`), and partners that send counts only are left out
    of ``partners`` (they have no person to count).

    Besides the historical keys (``network``, ``dispositifs``, ``partners``, ``shelter``,
    ``profile``, ``yearly_persons*``, ``coverage``), one key per family of indicators, each
    also given for the previous year under ``<key>_prev`` (same shape) except ``winters``:

    - ``occupancy_monthly``: 12 records ``month``, ``nights``, ``capacity_nights``,
      ``occupancy``, ``refusals``, ``refusal_nights`` (empty without a night shelter);
    - ``winters``: one record per winter in the data (1 Nov W – 31 Mar W+1), same figures plus
      ``winter``, ``start``, ``end``, ``days``, ``days_observed``, ``complete``;
    - ``nationality``: persons per group BE, UE, HORS_UE, INCONNU (a partition);
    - ``age_sex_full``: records ``age_band`` (with ``inconnu``), ``sex`` (M, F, ``inconnu/X``),
      ``persons``; the cells add up to ``network.persons``;
    - ``unknown_shares``: ``persons`` and, for sex, age and nationality, ``unknown``/``share``;
    - ``flows``: ``network`` and ``by_dispositif`` (status relative to the network), each
      ``active``, ``new``, ``continuing``, ``returning``, ``calculable``; ``network_entry``
      (SPM 5's anchor: ``entrants``, ``new``, ``known``, ``calculable``); the windows; and
      (report year only) ``yearly``, the network's flows for every year of the data;
    - ``durations``: ``in_service`` (per dispositif, per person days in the year: ``n``
      persons, ``mean``, ``median``, ``p25``, ``p75``, ``unit``) and ``stays`` (stays ended in
      the year: ``n`` stays, same statistics, ``ongoing``);
    - ``long_term``: persons with ≥ 180/270/365 nights homeless in 3 years among the
      ``active_end`` persons present at the end of the year (``persons``), and
      ``top10_nights``: share of shelter nights of the top 10 %;
    - ``pathways``: ``n_dispositifs`` (1, 2, 3, 4+), ``combinations`` (every set of
      dispositifs with its persons) and ``combinations_grouped`` (those under the disclosure
      threshold gathered in « autres combinaisons »); all three partition the persons;
    - ``exits``: per stay service exporting reasons, ``exits``, ``with_reason``,
      ``exported_share``, ``known``, ``known_share``, ``by_reason``;
    - ``housing_first``: retention at ``"12"`` and ``"24"`` months (``cohort``, ``deceased``,
      ``followed``, ``entry_first``, ``entry_last``, ``housed``, ``share``, ``lower``,
      ``upper`` and the strict variant);
    - ``returns``: per follow-up (``"6"``, ``"12"``, ``"24"`` months) of one exit cohort
      (``cohort_year``), ``exits`` followed and returns to the shelter (``shelter``,
      ``share``...) or to any service (``any_contact``...);
    - ``interventions``: ``urgence_sociale`` interventions and ``monthly`` contacts per
      dispositif (records ``month``, ``dispositif``, ``contacts``).

    Missing or not computable values are None; everything is JSON-serialisable.
    """
    contacts = with_presence(contacts)  # the spans computed once for every count below
    year = report.year
    prev = year - 1
    winter = (report.winter_start, report.winter_end)
    years = sorted(int(y) for y in contacts["year"].unique())
    coverage = coverage_of(contacts, coverage)

    by_disp = ind.distinct_persons(contacts, year, by="dispositif")
    by_disp_prev = ind.distinct_persons(contacts, prev, by="dispositif")
    contacts_disp = ind.contacts_count(contacts, year)
    contacts_disp_prev = ind.contacts_count(contacts, prev)
    by_partner = ind.distinct_persons(contacts, year, by="partner_id")
    dispositifs = {}
    for d in ind.dispositif_order(contacts["dispositif"].unique()):
        dispositifs[d] = {
            "label": DISPOSITIFS[d],
            "persons": int(by_disp.get(d, 0)),
            "persons_prev": int(by_disp_prev.get(d, 0)),
            "contacts": int(contacts_disp.get(d, 0)),
            "contacts_prev": int(contacts_disp_prev.get(d, 0)),
        }

    shelter: dict[str, Any] = {}
    capacity = shelter_capacity_series(partners, aggregates, winter)
    if capacity is not None:
        shelter = {
            "nights": ind.nights(contacts, year),
            "nights_prev": ind.nights(contacts, prev),
            "capacity": capacity_summary(capacity, year),
            "capacity_nights": ind.capacity_nights(capacity, year, winter),
            "occupancy": ind.occupancy(contacts, capacity, year, winter),
            "occupancy_prev": ind.occupancy(contacts, capacity, prev, winter),
            "refusals": ind.refusals_total(refusals, year),
            "refusals_prev": ind.refusals_total(refusals, prev),
            "refusal_nights": ind.refusal_nights(refusals, year),
        }

    persons = ind.distinct_persons(contacts, year)
    youth = ind.youth_persons(contacts, year)
    counts_only = set(count_only_partners(partners))
    yearly = ind.yearly_distinct_persons(contacts)
    yearly_disp = ind.yearly_distinct_persons(contacts, by="dispositif")
    cov = ind.coverage(contacts, year)
    families = {
        **report_families(contacts, refusals, capacity, report, year, coverage),
        **{
            f"{k}_prev": v
            for k, v in report_families(
                contacts, refusals, capacity, report, prev, coverage
            ).items()
        },
        "winters": (
            ind.winters(contacts, refusals, capacity, winter, min(years), max(years)).to_dict(
                orient="records"
            )
            if capacity is not None and years
            else []
        ),
    }
    flows = families["flows"]
    flows["yearly"] = pathways.yearly_network_flows(
        contacts, years, flows["new_lookback_days"], flows["continuing_days"], coverage
    )
    identified = ind.distinct_persons(contacts[contacts["dispositif"] != STREET_WORK], year)
    return {
        "year": year,
        "years": years,
        "network": {
            "persons": persons,
            "persons_prev": ind.distinct_persons(contacts, prev),
            "persons_identified": identified,
            # Met only by street work: the network minus the persons of the other services
            # (street work shares persons with them only through a network-wide person id).
            "persons_street_work": persons - identified,
            "contacts": int(len(ind.delivered_in_year(contacts, year))),
            "contacts_prev": int(len(ind.delivered_in_year(contacts, prev))),
            "partners": len(partners),
            "partners_reporting": int(
                ind.delivered_in_year(contacts, year)["partner_id"].nunique()
            ),
        },
        "dispositifs": dispositifs,
        "partners": {
            pid: {
                "name": p.name,
                # Codes joined by « , » for a partner whose exports feed several dispositifs.
                "dispositif": ",".join(p.dispositifs),
                "persons": int(by_partner.get(pid, 0)),
            }
            for pid, p in partners.items()
            if pid not in counts_only
        },
        "shelter": shelter,
        "profile": {
            "sex": ind.sex_shares(contacts, year),
            "youth_18_25": youth,
            "youth_share": youth / persons if persons else None,
            "age_sex": ind.age_sex_table(contacts, year).to_dict(orient="records"),
            "age_estimated_persons": int(
                ind.in_year(contacts, year).groupby("person_id")["age_estimated"].all().sum()
            ),
        },
        "yearly_persons": yearly.to_dict(orient="records"),
        "yearly_persons_by_dispositif": yearly_disp.to_dict(orient="records"),
        "coverage": {pid: [int(v) for v in row] for pid, row in cov.iterrows()},
        **jsonable(families),
    }


def shelter_capacity(partners: dict[str, PartnerMapping]) -> dict[str, int] | None:
    """Beds of all night shelters added up (permanent and winter-plan), None without one."""
    shelters = [p for p in partners.values() if p.runs(SHELTER)]
    if not shelters:
        return None
    return {
        "beds": sum(p.capacity.get("beds", 0) for p in shelters),
        "winter_extra_beds": sum(p.capacity.get("winter_extra_beds", 0) for p in shelters),
    }


def report_families(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    capacity: ind.Capacity | None,
    report: ReportSettings,
    year: int,
    coverage: Coverage | None = None,
) -> dict[str, Any]:
    """The families of indicators of ``year`` (see :func:`annual_indicators`), windows and
    thresholds from ``report`` (its ``flows``, ``long_term``, ``returns``, disclosure threshold)."""
    winter = (report.winter_start, report.winter_end)
    windows = {
        "new_lookback_days": report.flows.new_lookback_days,
        "continuing_days": report.flows.continuing_days,
    }
    lt, ret, k = report.long_term, report.returns, report.disclosure_threshold
    combos = pathways.combinations(contacts, year)
    coverage = coverage_of(contacts, coverage)
    has_hf = bool((contacts["dispositif"] == HOUSING_FIRST).any())
    profile = ind.person_profile(contacts, year)  # once for the three profile families
    return {
        "occupancy_monthly": (
            ind.monthly_occupancy(contacts, refusals, capacity, year, winter).to_dict(
                orient="records"
            )
            if capacity is not None
            else []
        ),
        "nationality": ind.nationality_groups(contacts, year, profile),
        "age_sex_full": ind.age_sex_full(contacts, year, profile).to_dict(orient="records"),
        "unknown_shares": ind.unknown_shares(contacts, year, profile),
        "flows": {
            **windows,
            "network": pathways.network_flows(contacts, year, **windows, coverage=coverage),
            "network_entry": flows.entry_anchored_new(
                contacts, year, report.flows.new_lookback_days, coverage
            ),
            "by_dispositif": pathways.flows_by_dispositif(
                contacts, year, **windows, coverage=coverage
            ),
        },
        "durations": {
            "in_service": durations.time_in_services(contacts, year),
            "stays": durations.stay_lengths_all(contacts, year),
        },
        "long_term": {
            **durations.long_term_stayers(
                contacts,
                year,
                thresholds=list(lt.days),
                window_years=lt.window_years,
                active_days=lt.active_days,
                count=lt.count,
                coverage=coverage,
            ),
            "top10_nights": durations.top_share_nights(contacts, year, 0.1),
        },
        "pathways": {
            "n_dispositifs": pathways.n_dispositifs(contacts, year),
            "combinations": combos.to_dict(orient="records"),
            "combinations_grouped": pathways.group_small_combinations(combos, k).to_dict(
                orient="records"
            ),
        },
        "exits": exits.exit_reasons(contacts, year),
        "housing_first": (
            {
                str(m): housing.housing_first_retention(contacts, year, m)
                for m in HOUSING_FIRST_MONTHS
            }
            if has_hf
            else {}
        ),
        "returns": housing.returns_after_housing(
            contacts,
            year,
            months=list(ret.months),
            grace_days=ret.grace_days,
            cohort_years=ret.cohort_years,
        ),
        "interventions": {
            "urgence_sociale": ind.interventions(contacts, year),
            "monthly": ind.monthly_contacts(contacts, year).to_dict(orient="records"),
        },
    }


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, tuples as lists, NaN and NaT as None,
    timestamps as ISO dates: what ``json.dumps(..., allow_nan=False)`` accepts."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    return value


def previous_year_indicators(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    partners: dict[str, PartnerMapping],
    report: ReportSettings,
    coverage: Coverage | None = None,
    aggregates: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Last year's figures as its report published them: computed on the data available at the
    end of that year only, so that this year's disclosure control knows what was published."""
    year = report.year
    cutoff = pd.Timestamp(year=year, month=1, day=1)
    return annual_indicators(
        contacts[pd.to_datetime(contacts["date_start"]) < cutoff],
        refusals[pd.to_datetime(refusals["date"]) < cutoff],
        partners,
        report.model_copy(update={"year": year - 1}),
        coverage=coverage,
        aggregates=None
        if aggregates is None
        else aggregates[pd.to_datetime(aggregates["date"]) < cutoff],
    )
