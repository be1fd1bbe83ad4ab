"""The shelter's capacity as a dated series: beds offered per night, per partner and programme.

A partner gives its beds either as two fixed numbers in its mapping (``capacity: {beds,
winter_extra_beds}``: the permanent beds every night plus the winter-plan beds on the nights
of the winter plan, ``report.winter_start`` – ``report.winter_end``), or night by night (or
month by month) in an aggregate return (measures ``beds_available`` and ``winter_extra_beds``,
see :mod:`observatoire.indicators.aggregates`). On the nights a return covers, it is the
return that counts; elsewhere the declaration, if any; without either, the partner offers no
known bed that night (0, and the occupancy leaves it out only if no partner has beds).

Occupancy (:mod:`observatoire.indicators.counts`) and the winter forecast
(:mod:`observatoire.models.forecast`) take this series, so that a closed wing or a winter plan
opened on 15 November is counted as it was. A fixed declaration expands to exactly the
numbers the two-number rule gave before the series existed.

Only partners with person-level data (a ``contacts`` export) enter the network's occupancy and
forecast: their nights are the numerator. A partner that sends counts only has its own
occupancy, from its own return (:func:`observatoire.indicators.aggregates.annual_aggregates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.dispositifs import SHELTER
from observatoire.indicators.aggregates import (
    CAPACITY_MEASURES,
    count_only_partners,
    whole_population,
)

Partners = Mapping[str, Any]
"""Partner id → its mapping (:class:`observatoire.intake.mapping.PartnerMapping`), not imported
here: the youth stage reads these modules through ``indicators.counts`` without ``intake``."""

__all__ = [
    "CapacitySeries",
    "bed_nights_per_day",
    "capacity_summary",
    "has_beds",
    "shelter_capacity_series",
]


def _is_winter(days: pd.DatetimeIndex, winter: tuple[str, str]) -> np.ndarray:
    md = days.strftime("%m-%d")
    start, end = winter
    mask = (md >= start) | (md <= end) if start > end else (md >= start) & (md <= end)
    return np.asarray(mask, dtype=bool)


@dataclass(frozen=True)
class CapacitySeries:
    """Beds per night of a set of partners: fixed declarations expanded with the winter rule,
    replaced by the nights an aggregate return gives."""

    winter: tuple[str, str]
    declared: dict[str, tuple[int, int]] = field(default_factory=dict)
    """partner_id → (beds, winter_extra_beds) of its mapping."""
    observed: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["partner_id", "day", "beds", "winter"])
    )
    """One row per partner and night an aggregate return covers (programmes added up)."""

    @property
    def partners(self) -> list[str]:
        return sorted(set(self.declared) | set(self.observed["partner_id"].astype(str)))

    def any_beds(self) -> bool:
        """Whether some partner has a bed on some night (declared or sent): without one there
        is no occupancy to model."""
        declared = any(beds or extra for beds, extra in self.declared.values())
        return declared or bool(len(self.observed) and self.observed["beds"].sum() > 0)

    def daily(self, days: pd.DatetimeIndex) -> pd.DataFrame:
        """Per partner and night: ``beds``, ``winter_extra_beds``, ``capacity`` and ``source``
        (« déclarée », « export », or « inconnue » when neither says)."""
        days = pd.DatetimeIndex(days).normalize()
        winter = _is_winter(days, self.winter)
        frames = []
        for pid in self.partners:
            beds, extra = self.declared.get(pid, (0, 0))
            frame = pd.DataFrame(
                {
                    "partner_id": pid,
                    "day": days,
                    "beds": np.full(len(days), beds, dtype="int64"),
                    "winter_extra_beds": np.where(winter, extra, 0).astype("int64"),
                    "source": "déclarée" if pid in self.declared else "inconnue",
                }
            )
            obs = self.observed[self.observed["partner_id"] == pid].set_index("day")
            if len(obs):
                seen = days.isin(obs.index)
                at = obs.reindex(days[seen])
                frame.loc[seen, "beds"] = at["beds"].to_numpy(dtype="int64")
                frame.loc[seen, "winter_extra_beds"] = at["winter"].to_numpy(dtype="int64")
                frame.loc[seen, "source"] = "export"
                if pid not in self.declared:
                    self._carry_forward(frame, obs)
            frames.append(frame)
        if not frames:
            return pd.DataFrame(
                columns=["partner_id", "day", "beds", "winter_extra_beds", "capacity", "source"]
            )
        out = pd.concat(frames, ignore_index=True)
        out["capacity"] = out["beds"] + out["winter_extra_beds"]
        return out

    @staticmethod
    def _carry_forward(frame: pd.DataFrame, obs: pd.DataFrame) -> None:
        """Nights after the last one a return covers (the winter to forecast) hold the same
        night of the last year it covers: next winter's plan is assumed to be the last one."""
        later = frame["day"] > obs.index.max()
        for years in range(1, 6):
            if not later.any():
                break
            back = frame.loc[later, "day"] - pd.DateOffset(years=years)
            found = back.isin(obs.index)
            idx = found[found].index
            at = obs.reindex(back[found])
            frame.loc[idx, "beds"] = at["beds"].to_numpy(dtype="int64")
            frame.loc[idx, "winter_extra_beds"] = at["winter"].to_numpy(dtype="int64")
            frame.loc[idx, "source"] = f"export (même nuit {years} an(s) plus tôt)"
            later.loc[idx] = False

    def per_day(self, days: pd.DatetimeIndex) -> np.ndarray:
        """Beds offered on each night of ``days``, all partners added up."""
        days = pd.DatetimeIndex(days)
        daily = self.daily(days)
        if daily.empty:
            return np.zeros(len(days), dtype="int64")
        total = daily.groupby("day")["capacity"].sum()
        return total.reindex(days.normalize(), fill_value=0).to_numpy(dtype="int64")

    def summary(self, year: int) -> dict[str, int]:
        """Permanent and winter-plan beds of ``year`` in two numbers (what the report prints):
        the mean beds of the nights outside the winter plan, and the mean extra beds of its
        nights; exactly the declared numbers when the series is a declaration."""
        days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
        daily = self.daily(days)
        if daily.empty:
            return {"beds": 0, "winter_extra_beds": 0}
        per = daily.groupby("day")[["beds", "winter_extra_beds"]].sum()
        winter = _is_winter(per.index, self.winter)
        total = per["beds"] + per["winter_extra_beds"]
        beds = float(total[~winter].mean()) if (~winter).any() else float(per["beds"].mean())
        winter_total = float(total[winter].mean()) if winter.any() else beds
        return {"beds": int(round(beds)), "winter_extra_beds": int(round(winter_total - beds))}


def has_beds(capacity: CapacitySeries | Mapping[str, int] | None) -> bool:
    """Whether a capacity (series or two-number declaration) offers any bed."""
    if capacity is None:
        return False
    if isinstance(capacity, CapacitySeries):
        return bool(capacity.declared and any(sum(v) for v in capacity.declared.values())) or (
            len(capacity.observed) > 0 and float(capacity.observed["beds"].sum()) > 0
        )
    return sum(capacity.values()) > 0


def bed_nights_per_day(
    capacity: CapacitySeries | Mapping[str, int] | None,
    days: pd.DatetimeIndex,
    winter: tuple[str, str],
) -> np.ndarray:
    """Beds offered on each night of ``days``: from the series, or from a two-number
    declaration expanded with the winter rule (``winter``)."""
    days = pd.DatetimeIndex(days)
    if capacity is None:
        return np.zeros(len(days), dtype="int64")
    if isinstance(capacity, CapacitySeries):
        return capacity.per_day(days)
    winter_days = _is_winter(days, winter)
    return capacity.get("beds", 0) + capacity.get("winter_extra_beds", 0) * winter_days


def capacity_summary(capacity: CapacitySeries | Mapping[str, int], year: int) -> dict[str, int]:
    """The two numbers the report prints for a capacity (see :meth:`CapacitySeries.summary`)."""
    if isinstance(capacity, CapacitySeries):
        return capacity.summary(year)
    return dict(capacity)


def _observed_beds(aggregates: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Nights of the aggregate returns of ``ids`` with a capacity, programmes added up; a
    monthly value holds for every night of its month."""
    cols = ["partner_id", "day", "beds", "winter"]
    if aggregates is None or aggregates.empty:
        return pd.DataFrame(columns=cols)
    a = aggregates[
        aggregates["partner_id"].isin(ids) & aggregates["measure"].isin(CAPACITY_MEASURES)
    ]
    if a.empty:
        return pd.DataFrame(columns=cols)
    w = whole_population(a)
    rows = []
    for r in w.itertuples():
        start = pd.Timestamp(r.date)
        days = (
            pd.date_range(start, start + pd.offsets.MonthEnd(0), freq="D")
            if r.period == "mois"
            else pd.DatetimeIndex([start])
        )
        rows.append(pd.DataFrame({"partner_id": r.partner_id, "day": days, r.measure: r.value}))
    long = pd.concat(rows, ignore_index=True)
    per = long.groupby(["partner_id", "day"], as_index=False)[
        [m for m in CAPACITY_MEASURES if m in long]
    ].sum()
    per["beds"] = per.get("beds_available", 0)
    per["winter"] = per.get("winter_extra_beds", 0)
    return per[cols].astype({"beds": "int64", "winter": "int64"})


def shelter_capacity_series(
    partners: Partners,
    aggregates: pd.DataFrame | None,
    winter: tuple[str, str],
    dispositif: str = SHELTER,
) -> CapacitySeries | None:
    """The capacity series of the partners of ``dispositif`` that send person-level data, i.e.
    all but those that send counts only (None when there is none): their declarations,
    replaced night by night by their aggregate returns' capacity where they send one."""
    counts_only = set(count_only_partners(partners))
    ids = [pid for pid, p in partners.items() if p.runs(dispositif) and pid not in counts_only]
    if not ids:
        return None
    declared = {
        pid: (
            partners[pid].capacity.get("beds", 0),
            partners[pid].capacity.get("winter_extra_beds", 0),
        )
        for pid in ids
        if partners[pid].capacity
    }
    return CapacitySeries(winter, declared, _observed_beds(aggregates, ids))
