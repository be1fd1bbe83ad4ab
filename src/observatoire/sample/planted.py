"""Planted youth behaviour: a known pattern the youth study must find again.

Some young newcomers (``sample.planted.youth_shelter_dropout`` of them) come to the night shelter,
leave after one or two nights and never come back to it; they stay in touch with the network
through the day centre only, for four to nine months, then disappear. The truth table
(``persons.csv``, column ``planted``) names them, so that the tests can check that the typology
finds a type of about their size and that the shelter-disengagement curve of the young drops
in the first nights as planted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.sample import calibration as cal

__all__ = [
    "EPISODE_DAYS",
    "SHELTER_DROPOUT",
    "mark_planted",
    "planted_participation",
    "stretch_episodes",
]

SHELTER_DROPOUT = "abri_bref_puis_accueil_jour"
EPISODE_DAYS = (120, 270)  # in contact with the day centre for about four to nine months


def mark_planted(persons: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """Flag the planted persons among young newcomers and make them transitional (one episode).

    Adds ``planted`` (pattern name or "") and ``planted_nights`` (1 or 2, else 0).
    """
    persons = persons.copy()
    draw = rng.random(len(persons))
    nights = rng.integers(1, 3, len(persons))
    chosen = persons["youth"].to_numpy() & (draw < share)
    persons["planted"] = np.where(chosen, SHELTER_DROPOUT, "")
    persons["planted_nights"] = np.where(chosen, nights, 0)
    persons.loc[chosen, "archetype"] = cal.TRANSITIONAL
    return persons


def stretch_episodes(
    episodes: pd.DataFrame, persons: pd.DataFrame, window_end: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Planted persons stay in contact for four to nine months (a single episode)."""
    planted = persons["planted"].to_numpy() != ""
    episodes = episodes.copy()
    sel = planted[episodes["person"].to_numpy()]
    length = rng.integers(EPISODE_DAYS[0], EPISODE_DAYS[1] + 1, int(sel.sum()))
    episodes.loc[sel, "end"] = np.minimum(
        episodes.loc[sel, "start"].to_numpy() + length, window_end
    )
    return episodes


def planted_participation(participation: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """Planted persons use the night shelter and the day centre, nothing else, and visit the
    day centre at least as often as an average person (so that most months show it)."""
    planted = persons["planted"].to_numpy() != ""
    participation = participation.copy()
    for service in participation.columns:
        if service == "intensity":
            continue
        participation.loc[planted, service] = service in ("abri_nuit", "accueil_jour")
    participation.loc[planted, "intensity"] = np.maximum(
        participation.loc[planted, "intensity"].to_numpy(), 1.0
    )
    return participation
