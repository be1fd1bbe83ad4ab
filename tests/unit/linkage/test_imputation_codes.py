"""The imputations' counts on integer codes give the cells of the frame computation they
replaced, to the bit (the reference is that computation, copied here)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from observatoire.indicators.linkage_imputations import (
    MAXIMUM,
    MINIMUM,
    NAMED,
    SEVERAL,
    CodedPresence,
    count_cells,
)
from observatoire.indicators.pathways import COMBINATION_GROUPS


def reference_cells(presence: pd.DataFrame, person: pd.Series, certain: dict) -> pd.DataFrame:
    """count_cells as it was, on the frame."""
    act = presence.assign(person=presence["record_key"].map(person))
    rows = []
    for year, frame in act.groupby("year"):
        named = frame[~frame["street"]]
        n_named = named["person"].nunique()
        everyone = frame["person"].nunique()
        streets = frame.loc[frame["street"], "person"].nunique()
        group = named["dispositif"].map(lambda d: COMBINATION_GROUPS.get(d, d))
        n_groups = named.assign(g=group).groupby("person")["g"].nunique()
        share = float((n_groups >= 2).sum() / n_named) if n_named else math.nan
        cells = {
            NAMED: n_named,
            MAXIMUM: everyone,
            MINIMUM: everyone - streets + certain.get(int(year), streets),
            SEVERAL: share,
        }
        for disp, g in frame[~frame["street"]].groupby("dispositif"):
            cells[f"dispositif={disp}"] = g["person"].nunique()
        rows.extend({"annee": int(year), "portee": k, "valeur": v} for k, v in cells.items())
    return pd.DataFrame(rows)


DISPOSITIFS = ["accueil_jour", "maison_accueil", "housing_first", "abri_nuit", "travail_rue"]


def planted_presence(seed: int, n: int = 2000) -> tuple[pd.DataFrame, list[pd.Series]]:
    """Records present in several years and dispositifs (maison d'accueil and Housing First
    one group), street-work rows, a record in no grouping, a missing dispositif, and
    groupings that merge records (ties of persons across dispositifs)."""
    rng = np.random.default_rng(seed)
    record = rng.integers(0, n // 4, n)
    disp = np.asarray(DISPOSITIFS, dtype=object)[rng.integers(0, len(DISPOSITIFS), n)]
    presence = pd.DataFrame(
        {
            "record_key": pd.array([f"R{r:04d}" for r in record], dtype="str"),
            "year": (2021 + rng.integers(0, 3, n)).astype("int64"),
            "dispositif": pd.array(disp, dtype="str"),
        }
    ).drop_duplicates(ignore_index=True)
    presence.loc[presence.index[:3], "dispositif"] = None
    presence = presence.assign(street=presence["dispositif"] == "travail_rue")
    keys = presence["record_key"].drop_duplicates().to_numpy()
    groupings = [
        pd.Series([f"P{rng.integers(0, len(keys) // k)}" for _ in keys], index=keys, dtype=object)
        for k in (1, 2, 5)
    ]
    groupings.append(groupings[1].iloc[5:])  # records of no person
    return presence, groupings


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cells_on_codes_are_the_frame_computation(seed: int) -> None:
    presence, groupings = planted_presence(seed)
    coded = CodedPresence(presence)
    for person in groupings:
        for certain in ({}, {2021: 3, 2023: 0}):
            expected = reference_cells(presence, person, certain)
            pdt.assert_frame_equal(coded.cells(person, certain), expected, check_exact=True)
            pdt.assert_frame_equal(
                count_cells(presence, person, certain), expected, check_exact=True
            )


def test_most_frequent_is_the_mode_per_record() -> None:
    from observatoire.indicators.linkage_imputations import _most_frequent

    rng = np.random.default_rng(7)
    rows = pd.DataFrame(
        {
            "record_key": pd.array([f"R{r}" for r in rng.integers(0, 300, 3000)], dtype="str"),
            "true_person_id": pd.array(
                [f"T{t}" for t in rng.integers(0, 40, 3000)], dtype="str"
            ),  # many ties
        }
    )
    former = rows.groupby("record_key")["true_person_id"].agg(lambda s: s.mode().iloc[0])
    got = _most_frequent(rows, "record_key", "true_person_id")
    assert got.index.equals(former.index)
    assert (got.to_numpy() == former.to_numpy()).all()
