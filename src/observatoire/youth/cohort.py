"""Who is in the youth-errance study: the entry cohort, its age groups and its follow-up window.

A person enters the study at their first contact with the network if that contact falls in the
entry window and nothing was seen of them in the ``lookback_months`` before it (so that old
acquaintances are not taken for newcomers). Each person is then followed for
``follow_up_months`` calendar months; the entry window ends early enough for every follow-up to
be complete by the end of the report year, so no sequence is censored. Age is the age at first
contact: the exact age where a birth date is known, the street worker's estimate otherwise
(flagged). Minors are left out: the study is about 18–25 year olds compared with adults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.dispositifs import STREET_WORK

YOUTH = "jeunes"
ADULTS = "adultes"
GROUP_LABELS = {YOUTH: "18–25 ans", ADULTS: "26 ans et plus"}


@dataclass(frozen=True)
class StudyParams:
    """The ``youth:`` section of params/pipeline.yaml, checked, with the report year."""

    year: int
    follow_up_months: int = 24
    entry_years: int = 2
    lookback_months: int = 12
    bands: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"18–21 ans": (18, 21), "22–25 ans": (22, 25)}
    )
    adults_from: int = 26
    inactive_days: int = 90
    new_lookback_days: int = 730
    continuing_days: int = 90
    distance: str = "om"
    substitution: str = "trate"
    indel: float = 1.0
    cluster_method: str = "ward"
    k_values: tuple[int, ...] = (3, 4, 5, 6, 7, 8)
    min_base: int = 30
    min_type_size: int = 5
    disclosure_threshold: int = 5
    references: dict[str, Any] = field(default_factory=dict)

    @property
    def data_end(self) -> pd.Timestamp:
        return pd.Timestamp(year=self.year, month=12, day=31)

    @property
    def window_end(self) -> pd.Timestamp:
        """Last day of the entry window: the follow-up of a person entering then ends on
        31 December of the report year."""
        first_month = pd.Timestamp(year=self.year + 1, month=1, day=1) - pd.DateOffset(
            months=self.follow_up_months
        )
        return first_month - pd.Timedelta(days=1)

    @property
    def window_start(self) -> pd.Timestamp:
        return self.window_end + pd.Timedelta(days=1) - pd.DateOffset(years=self.entry_years)

    @property
    def youth_low(self) -> int:
        return min(low for low, _ in self.bands.values())

    @property
    def youth_high(self) -> int:
        return max(high for _, high in self.bands.values())

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> StudyParams:
        """Read ``params['youth']`` (every key optional) and ``params['report']``."""
        section = dict(params.get("youth") or {})
        report = params.get("report") or {}
        typology = dict(section.pop("typology", {}) or {})
        bands = section.pop("bands", None)
        settable = set(cls.__dataclass_fields__) - {
            "year",
            "disclosure_threshold",
            "bands",
            "k_values",
            "distance",
            "substitution",
            "indel",
            "cluster_method",
            "min_type_size",
        }
        kwargs: dict[str, Any] = {k: v for k, v in section.items() if k in settable}
        unknown = sorted(set(section) - set(kwargs))
        typology_keys = {"distance", "substitution", "indel", "method", "min_type_size"}
        unknown += [
            f"typology.{k}" for k in sorted(set(typology) - typology_keys - {"k_min", "k_max"})
        ]
        if unknown:
            raise ValueError(
                "Clés inconnues dans la section « youth » de params/pipeline.yaml : "
                + ", ".join(unknown)
                + "."
            )
        if bands is not None:
            kwargs["bands"] = {str(k): (int(v[0]), int(v[1])) for k, v in bands.items()}
        for key, target in (
            ("min_type_size", "min_type_size"),
            ("distance", "distance"),
            ("substitution", "substitution"),
            ("indel", "indel"),
            ("method", "cluster_method"),
        ):
            if key in typology:
                kwargs[target] = typology[key]
        if "k_min" in typology or "k_max" in typology:
            kwargs["k_values"] = tuple(
                range(int(typology.get("k_min", 3)), int(typology.get("k_max", 8)) + 1)
            )
        out = cls(
            year=int(report["year"]),
            disclosure_threshold=int(report.get("disclosure_threshold", 5)),
            **kwargs,
        )
        out._check()
        return out

    def _check(self) -> None:
        if self.follow_up_months < 3 or self.follow_up_months % 12:
            raise ValueError(
                f"« youth.follow_up_months » vaut {self.follow_up_months} : choisissez un "
                "nombre entier d'années en mois (12, 24 ou 36)."
            )
        if self.entry_years < 1:
            raise ValueError("« youth.entry_years » doit valoir au moins 1.")
        if self.distance not in ("om", "hamming"):
            raise ValueError(
                f"« youth.typology.distance » vaut « {self.distance} » : attendu « om » "
                "(appariement optimal) ou « hamming »."
            )
        if self.substitution not in ("constant", "trate"):
            raise ValueError(
                f"« youth.typology.substitution » vaut « {self.substitution} » : attendu "
                "« constant » ou « trate »."
            )
        if self.cluster_method not in ("ward", "average"):
            raise ValueError(
                f"« youth.typology.method » vaut « {self.cluster_method} » : attendu « ward » "
                "ou « average »."
            )
        lows = sorted(self.bands.values())
        for (_, high), (low, _) in zip(lows, lows[1:], strict=False):
            if low != high + 1:
                raise ValueError(
                    "Les tranches d'âge de « youth.bands » doivent se suivre sans trou ni "
                    f"recouvrement (reçu : {self.bands})."
                )
        if self.adults_from != self.youth_high + 1:
            raise ValueError(
                f"« youth.adults_from » vaut {self.adults_from} : attendu {self.youth_high + 1}, "
                "l'âge qui suit la dernière tranche des jeunes."
            )


def first_contacts(contacts: pd.DataFrame) -> pd.DataFrame:
    """Per person: date, dispositif and age of the first contact, and whether that age is a
    street worker's estimate. Ties on the first day: the row read first (source order)."""
    ordered = contacts.sort_values(["person_id", "date_start", "source_file", "source_row"])
    first = ordered.drop_duplicates("person_id").set_index("person_id")
    return pd.DataFrame(
        {
            "first_contact": first["date_start"],
            "first_dispositif": first["dispositif"],
            "age_first": first["age_at_contact"],
            "age_estimated": first["age_estimated"].astype(bool),
        }
    )


def _modal(contacts: pd.DataFrame, col: str, unknown: str = "INCONNU") -> pd.Series:
    known = contacts[contacts[col].notna() & (contacts[col] != unknown)]
    counts = known.groupby(["person_id", col]).size().rename("n").reset_index()
    counts = counts.sort_values(["person_id", "n", col], ascending=[True, False, True])
    return counts.drop_duplicates("person_id").set_index("person_id")[col]


def build_cohort(contacts: pd.DataFrame, study: StudyParams) -> pd.DataFrame:
    """The study cohort, one row per person (index ``person_id``), youth and adults.

    Columns: ``first_contact``, ``first_dispositif``, ``age_first``, ``age_estimated``,
    ``group`` (``jeunes`` / ``adultes``), ``band`` (a youth sub-band or « 26 ans et plus »),
    ``sex``, ``nationality_group``, ``street_only`` (seen by street work only: an initials
    record, never linked to a named one).
    """
    first = first_contacts(contacts)
    data_start = contacts["date_start"].min()
    lookback_ok = study.window_start - pd.DateOffset(months=study.lookback_months) >= data_start
    in_window = (first["first_contact"] >= study.window_start) & (
        first["first_contact"] <= study.window_end
    )
    cohort = first[in_window & (first["age_first"] >= study.youth_low)].copy()
    if not lookback_ok:
        cohort.attrs["lookback_incomplete"] = True
    age = np.floor(cohort["age_first"].to_numpy())
    youth = age <= study.youth_high
    cohort["group"] = np.where(youth, YOUTH, ADULTS)
    band = np.full(len(cohort), GROUP_LABELS[ADULTS], dtype=object)
    for label, (low, high) in study.bands.items():
        band[(age >= low) & (age <= high)] = label
    cohort["band"] = band
    mine = contacts[contacts["person_id"].isin(cohort.index)]
    for col in ("sex", "nationality_group"):
        cohort[col] = _modal(mine, col).reindex(cohort.index).fillna("INCONNU")
    named = (mine["dispositif"] != STREET_WORK).groupby(mine["person_id"]).any()
    cohort["street_only"] = ~named.reindex(cohort.index).fillna(True).astype(bool)
    return cohort.sort_values(["first_contact"], kind="stable")
