"""Homelessness episodes and Housing First tenancies.

An episode is a period during which a person is in contact with the network (on the street, in
shelters, at the day centre). The archetypes of shelter-use research shape them: transitional
persons have one short episode, episodic persons come back several times over the years, chronic
persons stay for years. Housing First ends an episode: a tenant leaves the street; a tenancy that
fails (eviction, prison, leaving) starts a new episode, which is what return indicators measure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.sample import calibration as cal
from observatoire.sample.config import SampleParams
from observatoire.sample.timeline import Timeline

__all__ = ["MAX_EPISODES", "draw_episodes", "end_episodes_at_rehousing", "place_in_housing_first"]

MAX_EPISODES = 6


def draw_episodes(
    persons: pd.DataFrame, timeline: Timeline, rng: np.random.Generator
) -> pd.DataFrame:
    """Episodes ``[start, end)`` in day indices, one row each, clipped to the simulated calendar."""
    fc = persons["first_contact"].to_numpy()
    archetype = persons["archetype"].to_numpy()
    parts = []

    idx = np.flatnonzero(archetype == cal.TRANSITIONAL)
    length = np.clip(
        np.round(rng.lognormal(np.log(cal.TRANSITIONAL_EPISODE_MEDIAN_DAYS), 1.0, len(idx))),
        1,
        365,
    )
    parts.append((idx, fc[idx], fc[idx] + length))

    idx = np.flatnonzero(archetype == cal.EPISODIC)
    count = np.minimum(2 + rng.poisson(1.3, len(idx)), MAX_EPISODES)
    length = np.clip(
        np.round(
            rng.lognormal(np.log(cal.EPISODIC_EPISODE_MEDIAN_DAYS), 0.8, (len(idx), MAX_EPISODES))
        ),
        3,
        365,
    )
    gap = np.clip(
        np.round(
            rng.lognormal(np.log(cal.EPISODIC_GAP_MEDIAN_DAYS), 0.6, (len(idx), MAX_EPISODES))
        ),
        45,
        1000,
    )
    offset = np.concatenate(
        [np.zeros((len(idx), 1)), np.cumsum(length + gap, axis=1)[:, :-1]], axis=1
    )
    keep = np.arange(MAX_EPISODES)[None, :] < count[:, None]
    start = fc[idx][:, None] + offset
    parts.append(
        (np.broadcast_to(idx[:, None], keep.shape)[keep], start[keep], (start + length)[keep])
    )

    idx = np.flatnonzero(archetype == cal.CHRONIC)
    length = np.clip(
        np.round(rng.lognormal(np.log(cal.CHRONIC_PRESENCE_MEDIAN_DAYS), 0.45, len(idx))),
        365,
        12 * 365,
    )
    parts.append((idx, fc[idx], fc[idx] + length))

    episodes = pd.DataFrame(
        {
            "person": np.concatenate([p[0] for p in parts]).astype(np.int64),
            "start": np.concatenate([p[1] for p in parts]).astype(np.int64),
            "end": np.concatenate([p[2] for p in parts]).astype(np.int64),
        }
    )
    episodes = episodes[episodes["start"] < timeline.window_end].copy()
    episodes["end"] = np.minimum(episodes["end"], timeline.window_end)
    return episodes.sort_values(["person", "start"], kind="stable").reset_index(drop=True)


def place_in_housing_first(
    episodes: pd.DataFrame,
    persons: pd.DataFrame,
    params: SampleParams,
    timeline: Timeline,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw the Housing First tenancies and cut the tenants' episodes accordingly.

    Each year ~``HF_NEW_TENANCIES`` persons (scaled, at least one) enter housing, chosen among
    persons homeless for at least three months on that day, mostly chronic. Tenancies end with a
    constant hazard giving ~82 % still housed at 12 months; exits to the street open a new
    episode. Returns the new episodes and the tenancies (``person, entry, exit, exit_reason``;
    ``exit = -1`` while still housed at the end of the last year).
    """
    person = episodes["person"].to_numpy().copy()
    start = episodes["start"].to_numpy().copy()
    end = episodes["end"].to_numpy().copy()
    alive = np.ones(len(person), dtype=bool)
    archetype = persons["archetype"].to_numpy()[person]
    adult = ~persons["minor"].to_numpy()[person]
    tenant = np.zeros(len(persons), dtype=bool)
    hazard = -np.log(cal.HF_HOUSED_AT_12_MONTHS) / 365.0
    reasons = np.array(list(cal.HF_EXIT_REASONS), dtype=object)
    reason_p = np.array(list(cal.HF_EXIT_REASONS.values()))
    reason_p = reason_p / reason_p.sum()
    new_person, new_start, new_end = [], [], []
    tenancies = []

    for year in range(params.first_year, params.last_year + 1):
        expected = (
            cal.HF_NEW_TENANCIES
            * params.scale
            * (1 + params.annual_growth) ** (year - params.first_year)
        )
        days = np.flatnonzero(timeline.year == year)
        # At federation scale a year can have more entries than days: every day then gets
        # ``per_day`` of them and the rest go to distinct random days (below one a day, this is
        # the plain draw without replacement, so smaller samples are unchanged).
        per_day, rest = divmod(max(1, int(round(expected))), len(days))
        entries = np.sort(
            np.concatenate([np.repeat(days, per_day), rng.choice(days, size=rest, replace=False)])
        )
        for day in entries:
            wanted = cal.CHRONIC if rng.random() < cal.HF_CHRONIC_SHARE else cal.EPISODIC
            active = alive & adult & (start <= day - 90) & (end > day) & ~tenant[person]
            candidates = np.flatnonzero(active & (archetype == wanted))
            if len(candidates) == 0:
                candidates = np.flatnonzero(active & (archetype != cal.TRANSITIONAL))
            if len(candidates) == 0:
                candidates = np.flatnonzero(active)
            if len(candidates) == 0:
                continue
            ep = int(rng.choice(candidates))
            who = int(person[ep])
            tenant[who] = True
            remaining = int(end[ep] - day)
            end[ep] = day
            # While housed, later episodes of this person do not happen.
            alive &= ~((person == who) & (start >= day))
            exit_day = day + int(np.ceil(rng.exponential(1.0 / hazard)))
            if exit_day < timeline.window_end:
                reason = str(rng.choice(reasons, p=reason_p))
                if reason in cal.HF_BACK_TO_STREET_REASONS:
                    back = exit_day + int(rng.integers(0, 60))
                    if back < timeline.window_end:
                        new_person.append(who)
                        new_start.append(back)
                        new_end.append(min(back + max(remaining, 120), timeline.window_end))
            else:
                exit_day, reason = -1, ""
            tenancies.append((who, int(day), exit_day, reason))

    out = pd.DataFrame(
        {
            "person": np.concatenate([person[alive], new_person]).astype(np.int64),
            "start": np.concatenate([start[alive], new_start]).astype(np.int64),
            "end": np.concatenate([end[alive], new_end]).astype(np.int64),
        }
    )
    out = out[out["end"] > out["start"]]
    out = out.sort_values(["person", "start"], kind="stable").reset_index(drop=True)
    tenancy_frame = pd.DataFrame(tenancies, columns=["person", "entry", "exit", "exit_reason"])
    return out, tenancy_frame


def end_episodes_at_rehousing(episodes: pd.DataFrame, stays: pd.DataFrame) -> pd.DataFrame:
    """A maison d'accueil stay ending in housing ends the episode it belongs to.

    ``stays`` holds ``person, entry, exit, exit_reason``; only rehousing exits count.
    """
    housed = stays[stays["exit_reason"].isin(cal.MA_HOUSED_REASONS) & (stays["exit"] >= 0)]
    if housed.empty:
        return episodes
    episodes = episodes.copy()
    end = episodes["end"].to_numpy().copy()
    by_person = episodes.groupby("person").indices
    starts = episodes["start"].to_numpy()
    for who, entry, exit_day in housed[["person", "entry", "exit"]].itertuples(index=False):
        for ep in by_person.get(who, ()):
            if starts[ep] <= entry < end[ep]:
                end[ep] = min(end[ep], max(exit_day, starts[ep] + 1))
    episodes["end"] = end
    return episodes
