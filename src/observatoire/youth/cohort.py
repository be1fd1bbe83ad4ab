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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.config.settings import Settings, YouthSettings
from observatoire.core.coverage import Coverage, coverage_of
from observatoire.core.dispositifs import STREET_WORK

__all__ = [
    "ADULTS",
    "GROUP_LABELS",
    "STREET",
    "YOUTH",
    "StudyParams",
    "build_cohort",
    "first_contacts",
]

YOUTH = "jeunes"
ADULTS = "adultes"
GROUP_LABELS = {YOUTH: "18–25 ans", ADULTS: "26 ans et plus"}
STREET = "travail_rue"
"""Key of the street-work measures in ``youth.study.StudyResults.not_computable`` (no street
work in the data: the report leaves out its street-work note)."""


@dataclass(frozen=True)
class StudyParams:
    """The ``youth:`` section of params/pipeline.yaml, checked, with the report year.

    Keys, types, defaults and checks are those of
    :class:`observatoire.config.settings.YouthSettings`; this is the study's flat view of them.
    """

    year: int
    follow_up_months: int
    entry_years: int
    lookback_months: int
    bands: dict[str, tuple[int, int]]
    adults_from: int
    inactive_days: int
    new_lookback_days: int
    continuing_days: int
    distance: str
    substitution: str
    indel: float
    cluster_method: str
    k_values: tuple[int, ...]
    min_base: int
    min_type_size: int
    disclosure_threshold: int
    references: dict[str, Any] = field(default_factory=dict)
    primary_days: int = 3
    rmst_days: dict[str, int] = field(default_factory=lambda: {"abri_nuit": 90, "reseau": 365})
    n_boot: int = 200
    bootstrap: int = 100
    min_jaccard: float = 0.75
    null_draws: int = 20
    checks_max_persons: int = 1000
    spell_expcost: float = 0.5

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
    def from_settings(cls, settings: Settings) -> StudyParams:
        """The study's parameters from the typed settings (``youth`` and ``report``)."""
        return cls.from_section(
            settings.youth, settings.report.year, settings.report.disclosure_threshold
        )

    @classmethod
    def from_section(
        cls, youth: YouthSettings, year: int, disclosure_threshold: int
    ) -> StudyParams:
        """The ``youth`` section with the report year and disclosure threshold given apart (the
        youth notebook gets them from papermill)."""
        typ = youth.typology
        return cls(
            year=year,
            follow_up_months=youth.follow_up_months,
            entry_years=youth.entry_years,
            lookback_months=youth.lookback_months,
            bands=dict(youth.bands),
            adults_from=youth.adults_from,
            inactive_days=youth.inactive_days,
            new_lookback_days=youth.new_lookback_days,
            continuing_days=youth.continuing_days,
            distance=typ.distance,
            substitution=typ.substitution,
            indel=typ.indel,
            cluster_method=typ.method,
            k_values=tuple(range(typ.k_min, typ.k_max + 1)),
            min_base=youth.min_base,
            min_type_size=typ.min_type_size,
            disclosure_threshold=disclosure_threshold,
            references={
                name: ref.model_dump(exclude_none=True) for name, ref in youth.references.items()
            },
            primary_days=youth.survival.primary_days,
            rmst_days=youth.survival.rmst_days.model_dump(),
            n_boot=youth.survival.n_boot,
            bootstrap=typ.bootstrap,
            min_jaccard=typ.min_jaccard,
            null_draws=typ.null_draws,
            checks_max_persons=typ.checks_max_persons,
            spell_expcost=typ.spell_expcost,
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


def build_cohort(
    contacts: pd.DataFrame, study: StudyParams, coverage: Coverage | None = None
) -> pd.DataFrame:
    """The study cohort, one row per person (index ``person_id``), youth and adults.

    Columns: ``first_contact``, ``first_dispositif``, ``age_first``, ``age_estimated``,
    ``group`` (``jeunes`` / ``adultes``), ``band`` (a youth sub-band or « 26 ans et plus »),
    ``sex``, ``nationality_group``, ``street_only`` (seen by street work only: an initials
    record, never linked to a named one).

    A newcomer needs its look-back (``lookback_months`` before the entry window) covered by
    every partner active in the window (:mod:`observatoire.core.coverage`; default: coverage
    proposed from ``contacts``); otherwise ``attrs["lookback_incomplete"]`` is set and the
    report says the cohort's « first contact » may be an old acquaintance.
    """
    first = first_contacts(contacts)
    lookback_ok = coverage_of(contacts, coverage).lookback_covered(
        study.window_start, months=study.lookback_months, concerned_to=study.window_end
    )
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
