"""The youth study finds the behaviour planted in the synthetic network (sample.planted).

The network is simulated at scale 1 and turned into canonical contacts under the true person
ids, so that these tests measure the analysis alone (the linkage has its own quality tests).
Planted: a quarter of young newcomers spend one or two nights at the shelter, never come back
to it, and are then seen at the day centre only for four to nine months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.sample.config import SampleParams
from observatoire.sample.network import Network, simulate_network
from observatoire.sample.planted import SHELTER_DROPOUT
from observatoire.youth.cohort import YOUTH, StudyParams
from observatoire.youth.study import run_study
from tests.support.settings import project_settings

SAMPLE = {
    "seed": 20240601,
    "first_year": 2020,
    "last_year": 2024,
    "scale": 1.0,
    "annual_growth": 0.06,
    "youth_share": 0.20,
    "noise": {
        "name_variant": 0.09,
        "day_month_swap": 0.025,
        "missing_birth_date": 0.06,
        "second_local_id": 0.04,
    },
}
SETTINGS = project_settings(
    report__year=2024,
    report__disclosure_threshold=5,
    youth={"typology": {"distance": "om", "substitution": "trate", "method": "ward"}},
)
# Tolerances stated in docs/jeunes.md.
TYPE_RECALL_MIN = 0.90  # share of planted persons of the cohort found in one type
TYPE_SIZE_TOLERANCE = 0.20  # that type's size within ±20 % of the planted persons


def network_contacts(net: Network) -> pd.DataFrame:
    """Canonical contacts of the simulated network under the true person ids."""
    dates = pd.DatetimeIndex(net.timeline.dates)
    n_days = len(dates)
    persons = net.persons
    parts = []
    for service, dispositif in (
        ("accueil_jour", "accueil_jour"),
        ("urgence_sociale", "urgence_sociale"),
        ("travail_rue", "travail_rue"),
    ):
        c = net.contacts[service]
        parts.append(pd.DataFrame({"p": c["person"], "s": c["day"], "e": -2, "d": dispositif}))
    stays = (
        (net.shelter_stays, "hebergement_urgence"),
        (net.ma_stays, "maison_accueil"),
        (net.tenancies, "housing_first"),
    )
    for frame, dispositif in stays:
        part = pd.DataFrame(
            {"p": frame["person"], "s": frame["entry"], "e": frame["exit"], "d": dispositif}
        )
        if "exit_reason" in frame:
            part["r"] = frame["exit_reason"].replace("", np.nan)
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[(rows["s"] >= net.timeline.window_start) & (rows["s"] < n_days)]
    start = dates[rows["s"].to_numpy()]
    end = np.where(rows["e"] >= 0, rows["e"], 0)
    birth = persons["birth_date"].to_numpy()[rows["p"].to_numpy()]
    age = (start.to_numpy() - birth) / np.timedelta64(1, "D") / 365.25
    out = pd.DataFrame(
        {
            "person_id": persons["true_person_id"].to_numpy()[rows["p"].to_numpy()],
            "dispositif": rows["d"].to_numpy(),
            "date_start": start,
            "date_end": pd.DatetimeIndex(dates[np.minimum(end, n_days - 1)]).where(
                rows["e"].to_numpy() >= 0
            ),
            "year": start.year,
            "sex": persons["sex"].to_numpy()[rows["p"].to_numpy()],
            "age_at_contact": np.floor(age),
            "age_estimated": False,
            "nationality_group": persons["nationality_group"].to_numpy()[rows["p"].to_numpy()],
            "exit_reason": rows.get("r"),
            "source_file": rows["d"].to_numpy(),
            "source_row": np.arange(len(rows)),
        }
    )
    return out.sort_values(["date_start", "source_row"], ignore_index=True)


def _run(share: float) -> tuple[pd.DataFrame, object, set[str]]:
    net = simulate_network(
        SampleParams.from_mapping(SAMPLE | {"planted": {"youth_shelter_dropout": share}})
    )
    contacts = network_contacts(net)
    results = run_study(contacts, StudyParams.from_settings(SETTINGS))
    planted = set(net.persons.loc[net.persons["planted"] == SHELTER_DROPOUT, "true_person_id"])
    return contacts, results, planted


@pytest.fixture(scope="module")
def planted_run():
    return _run(0.25)


@pytest.fixture(scope="module")
def control_run():
    return _run(0.0)


def _youth_types(results) -> pd.Series:
    ids = results.sequences.person_ids
    youth = results.cohort["group"].reindex(ids).to_numpy() == YOUTH
    return pd.Series(results.typology.labels, index=ids[youth])


def test_typology_finds_the_planted_group_with_its_size(planted_run):
    _, results, planted = planted_run
    types = _youth_types(results)
    is_planted = types.index.isin(planted)
    assert is_planted.sum() >= 100  # enough planted young people in the entry cohort
    best = types[is_planted].value_counts().idxmax()
    found = types == best
    recall = (found & is_planted).sum() / is_planted.sum()
    assert recall >= TYPE_RECALL_MIN
    assert found.sum() == pytest.approx(is_planted.sum(), rel=TYPE_SIZE_TOLERANCE)
    # The type is named after what was planted: the shelter, then the day centre.
    name = results.types.set_index("type").loc[best, "name"]
    assert name.startswith("Abri de nuit puis accueil de jour")
    assert results.typology.silhouette_by_k[results.typology.k] > 0.5


def test_without_planting_no_such_type(control_run):
    _, results, _ = control_run
    names = results.types["name"].tolist()
    sizes = results.types.set_index("name")["persons"]
    planted_like = [n for n in names if n.startswith("Abri de nuit puis accueil de jour")]
    assert all(sizes[n] < 40 for n in planted_like)


def test_shelter_disengagement_curve_drops_as_planted(planted_run, control_run):
    _, planted, ids = planted_run
    _, control, _ = control_run
    s, c = planted.survival["abri_nuit"], control.survival["abri_nuit"]
    # One or two nights: a spell of two or three days (the exit morning counts).
    gone_2 = 1 - s["survival_at"][YOUTH][3]
    gone_2_control = 1 - c["survival_at"][YOUTH][3]
    spells = s["spells"]
    youth = spells[spells["group"] == YOUTH]
    planted_share = youth["person_id"].isin(ids).mean()
    # The planted quarter leaves after one or two nights, on top of the others who do.
    assert gone_2 >= gone_2_control + 0.8 * planted_share * (1 - gone_2_control)
    assert s["logrank_p"] < 0.001
    assert s["medians"][YOUTH] < c["medians"][YOUTH]


def test_planted_dropouts_leave_the_shelter_for_the_day_centre(planted_run, control_run):
    """Competing risks on the simulated network: the planted young people leave the shelter
    after one or two nights *for the day centre*, so the Aalen–Johansen incidence of « another
    service » within 3 days rises by about the planted share, that of « nothing » does not."""
    _, planted, ids = planted_run
    _, control, _ = control_run
    s, c = planted.survival["abri_nuit"], control.survival["abri_nuit"]
    spells = s["spells"]
    youth = spells[spells["group"] == YOUTH]
    share = youth["person_id"].isin(ids).mean()
    inc = s["competing"]["groups"][YOUTH]["incidence"]
    inc_c = c["competing"]["groups"][YOUTH]["incidence"]
    assert inc[2][3]["estimate"] >= inc_c[2][3]["estimate"] + 0.8 * share * (
        1 - inc_c[2][3]["estimate"]
    )
    assert inc[3][3]["estimate"] <= inc_c[3][3]["estimate"] + 0.05
    # the primary outcome and its base: the shelter's users in the follow-up
    assert s["primary"]["n_youth"] + s["primary"]["excluded"] >= len(youth) - 1
    assert s["primary"]["p_holm"] < 0.001


def test_planted_type_is_stable(planted_run):
    _, results, planted = planted_run
    types = _youth_types(results)
    best = types[types.index.isin(planted)].value_counts().idxmax()
    row = results.types.set_index("type").loc[best]
    assert row["stable"] and row["jaccard"] >= 0.75
