"""Partner registrations: local ids, and persons registered twice at the same partner.

Every partner keeps its own client file. A person gets a local id at their first contact with that
partner; with probability ``second_local_id`` an intake worker fails to find them later and opens
a second file, after which their rows carry the new id. Ids are numbered in order of
registration, so persons already known before the first exported year have older numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.sample.identity_noise import exact_share
from observatoire.sample.timeline import Timeline

__all__ = ["registrations_of", "split_registrations"]


def split_registrations(
    rows: pd.DataFrame, n_persons: int, second_id_share: float, rng: np.random.Generator
) -> np.ndarray:
    """The registration rank (1 or 2) of each row of one partner.

    Only persons with at least two rows can be seen under two ids; among them, as many are drawn
    as make ``second_id_share`` of the partner's persons carry two ids. Rows from a random
    point of the person's history onwards use the second id, so both ids are in use.
    """
    order = np.lexsort((rows["seq"].to_numpy(), rows["day"].to_numpy(), rows["person"].to_numpy()))
    who = rows["person"].to_numpy()[order]
    count = np.bincount(who, minlength=n_persons)
    first_row = np.concatenate([[0], np.cumsum(count)[:-1]])
    position = np.arange(len(who)) - first_row[who]

    users = int((count > 0).sum())
    twice = exact_share(count >= 2, second_id_share, users, rng)
    split_at = 1 + np.floor(rng.random(n_persons) * np.maximum(count - 1, 1)).astype(np.int64)
    rank_sorted = np.where(twice[who] & (position >= split_at[who]), 2, 1)
    rank = np.empty(len(who), dtype=np.int64)
    rank[order] = rank_sorted
    return rank


def registrations_of(
    rows: pd.DataFrame,
    persons: pd.DataFrame,
    timeline: Timeline,
    rng: np.random.Generator,
    files_kept_before: bool = True,
) -> pd.DataFrame:
    """One row per (person, rank) with its registration day and sequence number.

    At services people use from their first days on the street (``files_kept_before``), a person
    known to the network before the first exported year was registered at some point between
    their first contact and that year (their id is older). Elsewhere, and for second ids, the
    registration is the first row under that id (a stay, a tenancy).
    """
    regs = (
        rows.groupby(["person", "rank"], sort=True)["day"].min().rename("first_day").reset_index()
    )
    first_contact = persons["first_contact"].to_numpy()[regs["person"].to_numpy()]
    known_before = (
        files_kept_before & (regs["rank"].to_numpy() == 1) & (first_contact < timeline.window_start)
    )
    span = np.maximum(timeline.window_start - first_contact, 1)
    earlier = first_contact + np.floor(rng.random(len(regs)) * span).astype(np.int64)
    regs["registered"] = np.where(known_before, earlier, regs["first_day"].to_numpy())
    regs = regs.sort_values(["registered", "person", "rank"], kind="stable").reset_index(drop=True)
    regs["sequence"] = np.arange(1, len(regs) + 1)
    regs["registered_year"] = timeline.year[regs["registered"].to_numpy()]
    regs["sequence_in_year"] = regs.groupby("registered_year").cumcount() + 1
    return regs
