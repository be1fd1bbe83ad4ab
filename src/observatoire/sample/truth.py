"""Ground truth of the synthetic sample (never read by the pipeline; used by tests and by the
linkage-quality notebook).

It says who every person-bearing row really is, which noise its registration carries, and what
noise rates were realised. It holds no names and no full birth dates: birth year and sex only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.sample import calibration as cal
from observatoire.sample.config import SampleParams
from observatoire.sample.exports import TRUTH_COLUMNS, ExportFile
from observatoire.sample.network import Network

__all__ = [
    "NOISE_FLAGS",
    "PARTNERS_WITHOUT_REGISTRATION",
    "first_contacts",
    "noise_rates",
    "persons_table",
    "truth_rows",
    "write_truth",
]

NOISE_FLAGS = {
    "name_variant": "name_variant",
    "day_month_swap": "day_month_swap",
    "missing_birth_date": "birth_date_missing",
}
# Street workers record initials and an estimated age only: no registration, no noise to measure.
PARTNERS_WITHOUT_REGISTRATION = ("travail_rue",)


def truth_rows(files: list[ExportFile]) -> pd.DataFrame:
    """All truth rows, ordered by source file then row."""
    frames = [f.truth for f in files if f.truth is not None]
    truth = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TRUTH_COLUMNS)
    return truth.sort_values(["source_file", "source_row"], kind="stable").reset_index(drop=True)


def first_contacts(network: Network) -> np.ndarray:
    """Day of each person's first contact with the network.

    Persons already known when the series starts keep their (earlier) true first contact; for
    the others it is their first row in any export.
    """
    tl = network.timeline
    known = network.persons["first_contact"].to_numpy()
    first = np.full(len(network.persons), np.iinfo(np.int64).max)
    tables = [
        *(c[["person", "day"]] for c in network.contacts.values()),
        network.shelter_stays[["person", "entry"]].rename(columns={"entry": "day"}),
        network.ma_stays[["person", "entry"]].rename(columns={"entry": "day"}),
        network.tenancies[["person", "entry"]].rename(columns={"entry": "day"}),
    ]
    for table in tables:
        np.minimum.at(first, table["person"].to_numpy(), table["day"].to_numpy())
    return np.where(known < tl.window_start, known, first)


def persons_table(network: Network, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per person seen in the exports: sex, birth year, nationality group, archetype,
    first contact and age at first contact (so youth indicators can be checked)."""
    persons = network.persons
    seen = persons["true_person_id"].isin(set(truth["true_person_id"])).to_numpy()
    fc_day = first_contacts(network)
    fc = network.timeline.dates[np.minimum(fc_day, network.timeline.n_days - 1)]
    birth = persons["birth_date"].to_numpy().astype("datetime64[D]")
    age = _age(birth, fc)
    table = pd.DataFrame(
        {
            "true_person_id": persons["true_person_id"],
            "sex": persons["sex"],
            "birth_year": birth.astype("datetime64[Y]").astype(int) + 1970,
            "nationality_group": persons["nationality_group"],
            "archetype": np.array(cal.ARCHETYPE_LABELS, dtype=object)[persons["archetype"]],
            "first_contact": np.datetime_as_string(fc, unit="D"),
            "age_at_first_contact": age,
            "planted": persons.get("planted", ""),
        }
    )
    return table[seen].reset_index(drop=True)


def _age(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed years of age on a date (calendar arithmetic, not days / 365.25)."""
    years = on.astype("datetime64[Y]").astype(int) - birth.astype("datetime64[Y]").astype(int)
    return years - (_month_day(on) < _month_day(birth))


def _month_day(dates: np.ndarray) -> np.ndarray:
    month_start = dates.astype("datetime64[M]")
    month = (month_start - dates.astype("datetime64[Y]").astype("datetime64[M]")).astype(int)
    day = (dates.astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(int)
    return month * 100 + day


def noise_rates(truth: pd.DataFrame, params: SampleParams) -> dict:
    """Realised noise, per partner and overall, at the registration level (the level the
    parameters are set at) and at the row level (what an analyst sees in the files)."""
    rows = truth[~truth["partner_id"].isin(PARTNERS_WITHOUT_REGISTRATION)]
    regs = rows.drop_duplicates(["partner_id", "true_person_id", "local_id_rank"])

    def rates(frame: pd.DataFrame) -> dict[str, float | int]:
        out: dict[str, float | int] = {"n": len(frame)}
        for name, column in NOISE_FLAGS.items():
            out[name] = round(float(frame[column].mean()), 5) if len(frame) else 0.0
        return out

    def second_ids(frame: pd.DataFrame) -> dict[str, float | int]:
        per_person = frame.groupby(["partner_id", "true_person_id"])["local_id_rank"].max()
        return {
            "n_persons": len(per_person),
            "share": round(float((per_person == 2).mean()), 5) if len(per_person) else 0.0,
        }

    partners = sorted(rows["partner_id"].unique())
    return {
        "params": {
            "name_variant": params.noise.name_variant,
            "day_month_swap": params.noise.day_month_swap,
            "missing_birth_date": params.noise.missing_birth_date,
            "second_local_id": params.noise.second_local_id,
        },
        "registrations": {
            "overall": rates(regs),
            "per_partner": {p: rates(regs[regs["partner_id"] == p]) for p in partners},
        },
        "rows": {
            "overall": rates(rows),
            "per_partner": {p: rates(rows[rows["partner_id"] == p]) for p in partners},
        },
        "second_local_id": {
            "overall": second_ids(rows),
            "per_partner": {p: second_ids(rows[rows["partner_id"] == p]) for p in partners},
        },
        "excluded_partners": list(PARTNERS_WITHOUT_REGISTRATION),
        "notes": (
            "Taux réalisés. « registrations » : part des enregistrements (identifiant local) "
            "portant le bruit, niveau auquel les paramètres sont fixés ; « rows » : part des "
            "lignes des exports. Le travail de rue (initiales seulement) est exclu. Housing "
            "First n'attribue jamais de second identifiant (un code par locataire)."
        ),
    }


def write_truth(
    directory: Path, truth: pd.DataFrame, persons: pd.DataFrame, rates: dict
) -> list[str]:
    """Write truth.csv, persons.csv and noise_rates.json; return the file names."""
    truth.to_csv(directory / "truth.csv", index=False, lineterminator="\n")
    persons.to_csv(directory / "persons.csv", index=False, lineterminator="\n")
    (directory / "noise_rates.json").write_text(
        json.dumps(rates, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8"
    )
    return ["truth.csv", "persons.csv", "noise_rates.json"]
