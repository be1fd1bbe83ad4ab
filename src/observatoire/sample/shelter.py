"""The night shelter, night by night: demand against a fixed number of beds.

Each evening, eligible persons (in an episode, shelter users, not living at the maison d'accueil)
who are not already in seek a bed with a probability that makes each archetype want its share of
the nights; those already in stay one more night with a fixed probability. When seekers exceed
free beds, beds go to a random subset and the others are refused for lack of place. Demand
peaks in winter (1 Nov–31 Mar) above the 40 + 15 winter beds, and stays below 40 in summer:
winter nights are full with refusals, summer nights are not. The loop runs over nights (a few
thousand), vectorised over persons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.sample import calibration as cal
from observatoire.sample.config import SampleParams
from observatoire.sample.timeline import Timeline

__all__ = ["MAX_WANTED_SHARE", "WARM_UP_NIGHTS", "ShelterCapacity", "simulate_shelter"]

WARM_UP_NIGHTS = 31  # start in December so that 1 January finds the shelter already occupied
MAX_WANTED_SHARE = 0.85  # nobody wants a bed every single night of an episode


@dataclass(frozen=True)
class ShelterCapacity:
    """Beds simulated: the partner's beds scaled like the population, at least one of each."""

    beds: int
    winter_extra_beds: int

    @classmethod
    def scaled(cls, beds: int, winter_extra_beds: int, scale: float) -> ShelterCapacity:
        """A reduced sample gets a reduced shelter, so it stays full in winter with refusals."""
        if scale == 1.0:
            return cls(beds, winter_extra_beds)
        return cls(max(1, round(beds * scale)), max(1, round(winter_extra_beds * scale)))

    def per_night(self, timeline: Timeline) -> np.ndarray:
        """Beds open each night (winter plan beds from 1 November to 31 March)."""
        return self.beds + self.winter_extra_beds * timeline.winter.astype(np.int64)


def _day_slices(days: np.ndarray, n_days: int) -> np.ndarray:
    """Boundaries so that events of day t are ``order[bounds[t]:bounds[t + 1]]``."""
    return np.searchsorted(days, np.arange(n_days + 1))


def simulate_shelter(
    episodes: pd.DataFrame,
    persons: pd.DataFrame,
    participation: pd.DataFrame,
    ma_stays: pd.DataFrame,
    capacity: ShelterCapacity,
    params: SampleParams,
    timeline: Timeline,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stays ``(person, entry, exit)`` (exit −1 if still in on the last night) and nightly counts
    ``(day, occupied, capacity, refusals)``."""
    users = np.flatnonzero(participation["abri_nuit"].to_numpy())
    local = np.full(len(persons), -1)
    local[users] = np.arange(len(users))
    group = persons["archetype"].to_numpy()[users]
    intensity = participation["intensity"].to_numpy()[users]
    n = len(users)
    # Planted persons (see sample.planted) take a bed on their first nights, stay their planned
    # one or two nights, and never ask again.
    planned = (
        persons["planted_nights"].to_numpy()[users]
        if "planted_nights" in persons.columns
        else np.zeros(n, dtype=np.int64)
    )
    planted = planned > 0
    done = np.zeros(n, dtype=bool)

    eps = episodes[local[episodes["person"].to_numpy()] >= 0]
    ma = ma_stays[local[ma_stays["person"].to_numpy()] >= 0]
    ma_end = np.where(ma["exit"].to_numpy() >= 0, ma["exit"].to_numpy(), timeline.n_days)
    # (day, person, +1/-1) events for "in an episode" and "living at the maison d'accueil".
    ev_active = _events(local, eps["person"], eps["start"].to_numpy(), eps["end"].to_numpy())
    ev_blocked = _events(local, ma["person"], ma["entry"].to_numpy(), ma_end)

    first_night = timeline.window_start - WARM_UP_NIGHTS
    active = np.zeros(n, dtype=np.int64)
    blocked = np.zeros(n, dtype=np.int64)
    for counter, (day, who, delta) in ((active, ev_active), (blocked, ev_blocked)):
        before = day < first_night
        np.add.at(counter, who[before], delta[before])
    bounds_active = _day_slices(ev_active[0], timeline.n_days)
    bounds_blocked = _day_slices(ev_blocked[0], timeline.n_days)

    demand = (
        params.scale
        * timeline.growth(params.annual_growth)
        * (cal.SHELTER_DEMAND_SUMMER + cal.SHELTER_DEMAND_WINTER_EXTRA * timeline.cold_bump())
    )
    demand_share = np.asarray(cal.SHELTER_DEMAND_SHARES)
    stay_on = np.asarray(cal.SHELTER_STAY_ON)
    beds = capacity.per_night(timeline)

    inside = np.zeros(n, dtype=bool)
    since = np.zeros(n, dtype=np.int64)
    occupants = np.empty(0, dtype=np.int64)
    stays_who, stays_in, stays_out = [], [], []
    nights = np.arange(first_night, timeline.window_end)
    occupied = np.zeros(len(nights), dtype=np.int64)
    refused = np.zeros(len(nights), dtype=np.int64)

    for k, t in enumerate(nights):
        for counter, (_, who, delta), bounds in (
            (active, ev_active, bounds_active),
            (blocked, ev_blocked, bounds_blocked),
        ):
            lo, hi = bounds[t], bounds[t + 1]
            if hi > lo:
                np.add.at(counter, who[lo:hi], delta[lo:hi])
        eligible = (active > 0) & (blocked == 0)

        # Those inside stay on, leave, or must leave (episode over, winter beds closing).
        stay = eligible[occupants] & (rng.random(len(occupants)) < stay_on[group[occupants]])
        if planted.any():
            p_occ = planted[occupants]
            stay[p_occ] = eligible[occupants[p_occ]] & (
                t - since[occupants[p_occ]] < planned[occupants[p_occ]]
            )
        if stay.sum() > beds[t]:
            kept = rng.permutation(np.flatnonzero(stay))[: beds[t]]
            stay = np.zeros(len(occupants), dtype=bool)
            stay[kept] = True
        leaving = occupants[~stay]
        if len(leaving):
            stays_who.append(leaving)
            stays_in.append(since[leaving])
            stays_out.append(np.full(len(leaving), t))
            inside[leaving] = False
            done[leaving[planted[leaving]]] = True
        occupants = occupants[stay]

        # Who seeks a bed tonight: each archetype wants its share of the demand.
        candidates = np.flatnonzero(eligible & ~inside)
        # Planted persons ask for their own nights; the archetypes' demand is shared by others.
        per_group = np.bincount(group[eligible & ~planted], minlength=3)
        with np.errstate(divide="ignore", invalid="ignore"):
            wanted = np.where(
                per_group > 0,
                np.minimum(demand_share * demand[t] / per_group, MAX_WANTED_SHARE),
                0.0,
            )
        seek_p = wanted * (1 - stay_on) / (1 - wanted)
        p = np.minimum(seek_p[group[candidates]] * intensity[candidates], 1.0)
        if planted.any():
            p = np.where(planted[candidates], np.where(done[candidates], 0.0, 1.0), p)
        seekers = candidates[rng.random(len(candidates)) < p]
        free = int(beds[t] - len(occupants))
        if len(seekers) > free:
            refused[k] = len(seekers) - free
            seekers = seekers[rng.permutation(len(seekers))[:free]]
            seekers.sort()
        inside[seekers] = True
        since[seekers] = t
        occupants = np.concatenate([occupants, seekers])
        occupied[k] = len(occupants)

    if len(occupants):
        stays_who.append(occupants)
        stays_in.append(since[occupants])
        stays_out.append(np.full(len(occupants), -1))
    stays = pd.DataFrame(
        {
            "person": users[np.concatenate(stays_who)] if stays_who else np.empty(0, np.int64),
            "entry": np.concatenate(stays_in) if stays_in else np.empty(0, np.int64),
            "exit": np.concatenate(stays_out) if stays_out else np.empty(0, np.int64),
        }
    )
    stays = stays[stays["entry"] >= timeline.window_start]
    stays = stays.sort_values(["entry", "person"], kind="stable").reset_index(drop=True)
    nightly = pd.DataFrame(
        {"day": nights, "occupied": occupied, "capacity": beds[nights], "refusals": refused}
    )
    nightly = nightly[nightly["day"] >= timeline.window_start].reset_index(drop=True)
    return stays, nightly


def _events(
    local: np.ndarray, person: pd.Series, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted (day, local person, delta) arrays for intervals ``[start, end)``."""
    who = local[person.to_numpy()]
    day = np.concatenate([start, end])
    order = np.argsort(day, kind="stable")
    return (
        day[order],
        np.concatenate([who, who])[order],
        np.concatenate([np.ones(len(who), np.int64), -np.ones(len(who), np.int64)])[order],
    )
