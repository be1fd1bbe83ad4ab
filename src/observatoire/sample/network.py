"""The simulated network as a whole: population, trajectories and every service's activity.

:func:`simulate_network` chains the steps in the order their dependencies require: Housing First
takes people off the street before any service sees them, maison d'accueil residents cannot ask
for a shelter bed, and the shelter allocates its beds night by night last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.sample import calibration as cal
from observatoire.sample.activity import (
    CONTACT_SERVICES,
    draw_contacts,
    draw_entry_contacts,
    draw_ma_stays,
    draw_participation,
)
from observatoire.sample.config import SampleParams, stream
from observatoire.sample.planted import mark_planted, planted_participation, stretch_episodes
from observatoire.sample.population import draw_newcomers, name_persons
from observatoire.sample.shelter import ShelterCapacity, simulate_shelter
from observatoire.sample.timeline import Timeline
from observatoire.sample.trajectories import (
    draw_episodes,
    end_episodes_at_rehousing,
    place_in_housing_first,
)

__all__ = ["Network", "simulate_network"]


@dataclass
class Network:
    """Everything that happened in the simulated network (true identities, no partner noise).

    Day columns are indices on ``timeline``; ``exit == -1`` means still present at the end of
    the last year.
    """

    timeline: Timeline
    persons: pd.DataFrame
    episodes: pd.DataFrame
    participation: pd.DataFrame
    contacts: dict[str, pd.DataFrame]  # accueil_jour, urgence_sociale, travail_rue: person, day
    shelter_stays: pd.DataFrame  # person, entry, exit
    shelter_nights: pd.DataFrame  # day, occupied, capacity, refusals
    ma_stays: pd.DataFrame  # person, entry, exit, exit_reason
    tenancies: pd.DataFrame  # person, entry, exit, exit_reason
    capacity: ShelterCapacity


def simulate_network(params: SampleParams) -> Network:
    """Run the whole simulation, deterministically from ``params.seed``."""
    timeline = Timeline(params.first_year, params.last_year, cal.BURN_IN_YEARS)
    seed = params.seed
    persons = draw_newcomers(params, timeline, stream(seed, "population"))
    persons = mark_planted(persons, params.planted_youth_shelter_dropout, stream(seed, "planted"))
    episodes = draw_episodes(persons, timeline, stream(seed, "episodes"))
    episodes = stretch_episodes(
        episodes, persons, timeline.window_end, stream(seed, "planted_episodes")
    )

    # Keep only persons still in contact with the network during the exported years.
    in_window = episodes["end"].to_numpy() > timeline.window_start
    keep = np.zeros(len(persons), dtype=bool)
    keep[episodes["person"].to_numpy()[in_window]] = True
    new_index = np.cumsum(keep) - 1
    persons = name_persons(persons[keep], stream(seed, "names"))
    episodes = episodes[in_window].assign(person=lambda e: new_index[e["person"].to_numpy()])
    episodes = episodes.reset_index(drop=True)

    episodes, tenancies = place_in_housing_first(
        episodes, persons, params, timeline, stream(seed, "housing_first")
    )
    participation = draw_participation(persons, stream(seed, "participation"))
    participation = planted_participation(participation, persons)
    ma_stays = draw_ma_stays(
        episodes, persons, participation, tenancies, params, timeline, stream(seed, "maison")
    )
    episodes = end_episodes_at_rehousing(episodes, ma_stays)

    entries = draw_entry_contacts(episodes, participation, timeline, stream(seed, "entries"))
    contacts = {}
    for service in CONTACT_SERVICES:
        drawn = draw_contacts(
            service, episodes, persons, participation, params, timeline, stream(seed, service)
        )
        contacts[service] = (
            pd.concat([drawn, entries[service]], ignore_index=True)
            .drop_duplicates(["person", "day"])
            .sort_values(["day", "person"], kind="stable")
            .reset_index(drop=True)
        )

    capacity = ShelterCapacity.scaled(cal.SHELTER_BEDS, cal.SHELTER_WINTER_EXTRA_BEDS, params.scale)
    stays, nights = simulate_shelter(
        episodes,
        persons,
        participation,
        ma_stays,
        capacity,
        params,
        timeline,
        stream(seed, "shelter"),
    )
    return Network(
        timeline=timeline,
        persons=persons,
        episodes=episodes,
        participation=participation,
        contacts=contacts,
        shelter_stays=stays,
        shelter_nights=nights,
        ma_stays=ma_stays,
        tenancies=tenancies,
        capacity=capacity,
    )
