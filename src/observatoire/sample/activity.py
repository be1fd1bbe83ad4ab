"""Service use: who uses which service, and the dated contacts each service records.

Contacts are drawn as a non-homogeneous Poisson process per person and episode. The intensity
per person-day is set so that each archetype contributes its share of the service's volume,
given how many of its members are active that day: volumes then follow the targets of
:mod:`calibration` (with winter peaks, closing days and growth) whatever the population size, and
per-person heterogeneity (an ``intensity`` drawn once per person) makes a few persons heavy users
of every service they use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.sample import calibration as cal
from observatoire.sample.config import SampleParams
from observatoire.sample.timeline import Timeline

__all__ = [
    "CONTACT_SERVICES",
    "daily_volume",
    "draw_contacts",
    "draw_entry_contacts",
    "draw_ma_stays",
    "draw_participation",
    "next_open_day",
    "window_episodes",
]

CONTACT_SERVICES = ("accueil_jour", "urgence_sociale", "travail_rue")


def draw_participation(persons: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One boolean column per service: does this person ever use it?

    Minors are met only by street workers. Everyone else uses at least one of the day centre,
    the social emergency service or street work, which is how people come into contact with the
    network (the DUS is the usual door to the shelter).
    """
    archetype = persons["archetype"].to_numpy()
    youth = persons["youth"].to_numpy()
    minor = persons["minor"].to_numpy()
    flags = {}
    for service, probs in cal.PARTICIPATION.items():
        p = np.asarray(probs)[archetype]
        if service == "abri_nuit":
            p = np.where(youth, np.minimum(p * cal.YOUTH_SHELTER_FACTOR, 0.95), p)
        flags[service] = (rng.random(len(persons)) < p) & ~minor
    flags["travail_rue"] |= minor
    frame = pd.DataFrame(flags)
    no_door = ~frame[list(CONTACT_SERVICES)].any(axis=1).to_numpy()
    frame.loc[no_door, "urgence_sociale"] = True
    # Heavy and light users: one intensity per person, shared by every service (mean 1).
    frame["intensity"] = rng.gamma(1.5, 1 / 1.5, len(persons))
    return frame


def daily_volume(service: str, params: SampleParams, timeline: Timeline) -> np.ndarray:
    """Expected contacts per day: winter peak, opening days and growth, scaled to the target."""
    shape = timeline.seasonal(cal.SEASONAL_AMPLITUDE[service]) * np.isin(
        timeline.weekday, cal.OPEN_WEEKDAYS[service]
    )
    first_year = timeline.year == params.first_year
    annual = cal.CONTACT_VOLUMES[service] * params.scale
    return annual * shape / shape[first_year].sum() * timeline.growth(params.annual_growth)


def window_episodes(episodes: pd.DataFrame, timeline: Timeline) -> pd.DataFrame:
    """Episodes clipped to the exported years (contacts outside them are never exported)."""
    clipped = episodes.assign(
        start=np.maximum(episodes["start"], timeline.window_start),
        end=np.minimum(episodes["end"], timeline.window_end),
    )
    return clipped[clipped["end"] > clipped["start"]]


def draw_contacts(
    service: str,
    episodes: pd.DataFrame,
    persons: pd.DataFrame,
    participation: pd.DataFrame,
    params: SampleParams,
    timeline: Timeline,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Dated contacts ``(person, day)`` of one service, at most one per person and day."""
    eps = window_episodes(episodes, timeline)
    eps = eps[participation[service].to_numpy()[eps["person"].to_numpy()]]
    who = eps["person"].to_numpy()
    start = eps["start"].to_numpy()
    end = eps["end"].to_numpy()
    group = persons["archetype"].to_numpy()[who]

    active = np.zeros((3, timeline.n_days + 1))
    np.add.at(active, (group, start), 1)
    np.add.at(active, (group, end), -1)
    active = np.cumsum(active, axis=1)[:, :-1]
    volume = daily_volume(service, params, timeline)
    shares = np.asarray(cal.CONTACT_SHARES[service])[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(active > 0, shares * volume[None, :] / active, 0.0)
    cumulative = np.concatenate([np.zeros((3, 1)), np.cumsum(rate, axis=1)], axis=1)

    low = cumulative[group, start]
    high = cumulative[group, end]
    intensity = participation["intensity"].to_numpy()[who]
    count = rng.poisson(intensity * (high - low))
    rep = np.repeat(np.arange(len(who)), count)
    target = low[rep] + rng.random(len(rep)) * (high - low)[rep]
    day = np.empty(len(rep), dtype=np.int64)
    for g in range(3):
        sel = group[rep] == g
        day[sel] = np.searchsorted(cumulative[g], target[sel], side="right") - 1
    contacts = pd.DataFrame({"person": who[rep], "day": day})
    return contacts.drop_duplicates(["person", "day"]).reset_index(drop=True)


def next_open_day(service: str, timeline: Timeline) -> np.ndarray:
    """For each day, the first day on or after it when the service is open."""
    is_open = np.isin(timeline.weekday, cal.OPEN_WEEKDAYS[service])
    open_days = np.flatnonzero(is_open)
    pos = np.searchsorted(open_days, np.arange(timeline.n_days))
    return np.where(pos < len(open_days), open_days[np.minimum(pos, len(open_days) - 1)], -1)


def draw_entry_contacts(
    episodes: pd.DataFrame,
    participation: pd.DataFrame,
    timeline: Timeline,
    rng: np.random.Generator,
) -> dict[str, pd.DataFrame]:
    """The contact that opens each episode, at one of the person's door services.

    An episode becomes known to the network through a contact; this makes first contacts and
    returns visible in the exports. Contacts at closed services move to the next opening day.
    """
    eps = episodes[
        (episodes["start"] >= timeline.window_start) & (episodes["start"] < timeline.window_end)
    ]
    who = eps["person"].to_numpy()
    day = eps["start"].to_numpy()
    weights = np.column_stack(
        [participation[s].to_numpy()[who] * cal.ENTRY_SERVICE_WEIGHTS[s] for s in CONTACT_SERVICES]
    ).astype(float)
    cumulative = np.cumsum(weights, axis=1)
    pick = (rng.random(len(who))[:, None] * cumulative[:, -1:] >= cumulative).sum(axis=1)
    out = {}
    for k, service in enumerate(CONTACT_SERVICES):
        sel = pick == k
        moved = next_open_day(service, timeline)[day[sel]]
        ok = moved >= 0
        out[service] = pd.DataFrame({"person": who[sel][ok], "day": moved[ok]})
    return out


def draw_ma_stays(
    episodes: pd.DataFrame,
    persons: pd.DataFrame,
    participation: pd.DataFrame,
    tenancies: pd.DataFrame,
    params: SampleParams,
    timeline: Timeline,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Maison d'accueil stays: weeks to months, one at a time, with an exit reason.

    Stay requests follow the contact process; a request made while the person is still in the
    house is dropped. A stay ends early when its resident enters Housing First. Stays still
    running at the end of the last year have no exit date and no reason.
    """
    requests = draw_contacts(
        "maison_accueil", episodes, persons, participation, params, timeline, rng
    ).sort_values(["person", "day"], kind="stable")
    who = requests["person"].to_numpy()
    day = requests["day"].to_numpy()
    length = np.clip(
        np.round(rng.lognormal(np.log(cal.MA_STAY_MEDIAN_DAYS), 0.75, len(day))), 3, 540
    ).astype(np.int64)
    keep = np.ones(len(day), dtype=bool)
    busy_until = -1
    for i in range(len(day)):  # a few hundred requests: sequential overlap check is cheap
        if i > 0 and who[i] == who[i - 1] and day[i] < busy_until:
            keep[i] = False
            continue
        busy_until = day[i] + length[i]
    who, day, length = who[keep], day[keep], length[keep]
    end = day + length

    hf_entry = np.full(len(persons), np.iinfo(np.int64).max)
    if not tenancies.empty:
        hf_entry[tenancies["person"].to_numpy()] = tenancies["entry"].to_numpy()
    to_hf = (hf_entry[who] > day) & (hf_entry[who] < end)
    end = np.where(to_hf, hf_entry[who], end)

    reasons = np.array(list(cal.MA_EXIT_REASONS), dtype=object)
    weights = np.array(list(cal.MA_EXIT_REASONS.values()))
    reason = rng.choice(reasons, size=len(day), p=weights / weights.sum())
    reason[to_hf] = "logement"
    ended = end < timeline.window_end
    return pd.DataFrame(
        {
            "person": who,
            "entry": day,
            "exit": np.where(ended, end, -1),
            "exit_reason": np.where(ended, reason, ""),
        }
    )
