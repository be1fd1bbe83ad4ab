"""The indicators stage's contract: what ``outputs/indicators/<year>/`` holds, declared once.

``indicateurs.json`` is :class:`AnnualIndicators` (the figures of the report year, unsuppressed)
and ``indicateurs_annee_precedente.json`` the same for the year before, computed on the data
available at the end of that year (the disclosure control of the report needs what was
published then). The CSVs are the monthly series and the tables the report draws.

:func:`compute_indicators` computes the stage's results from the clean tables,
:func:`write_indicators` writes them and :func:`read_indicators` reads a JSON file back into
the typed contract (the report stage's way in). JSON keys are the field names; each family of
indicators is also given for the previous year under ``<key>_prev`` (same shape), which the
contract keeps as two :class:`IndicatorFamilies`. The families' inner shapes are documented in
:func:`observatoire.indicators.annual.annual_indicators`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import ReportSettings
from observatoire.core.contracts import (
    check_keys,
    field_names,
    flat_from_json,
    flat_to_json,
    read_json_object,
)
from observatoire.core.coverage import Coverage
from observatoire.core.presence import with_presence
from observatoire.core.storage import write_csv, write_json
from observatoire.indicators.aggregates import annual_aggregates
from observatoire.indicators.annual import (
    annual_indicators,
    jsonable,
    previous_year_indicators,
)
from observatoire.indicators.counts import monthly_distinct_persons, monthly_nights
from observatoire.intake.mapping import PartnerMapping

__all__ = [
    "AnnualIndicators",
    "DispositifFigures",
    "IndicatorFamilies",
    "IndicatorsResults",
    "NetworkFigures",
    "PartnerFigures",
    "ProfileFigures",
    "ShelterCapacity",
    "ShelterFigures",
    "compute_indicators",
    "indicators_dir",
    "read_aggregates",
    "read_indicators",
    "read_network_monthly",
    "write_indicators",
]

INDICATORS_FILE = "indicateurs.json"
AGGREGATES_FILE = "agregats.json"
"""The aggregate returns' figures of the year, written only when a partner sends counts."""
PREVIOUS_YEAR_FILE = "indicateurs_annee_precedente.json"
NETWORK_MONTHLY_FILE = "personnes_par_mois_reseau.csv"

Records = list[dict[str, Any]]
"""A table as JSON: one object per row (``DataFrame.to_dict(orient="records")``)."""


def indicators_dir(year: int) -> Path:
    """``outputs/indicators/<year>``, where the stage writes."""
    return PATHS.indicators(year)


@dataclass(frozen=True)
class NetworkFigures:
    """Distinct persons and contacts of the whole network (``network``)."""

    persons: int
    persons_prev: int
    persons_identified: int
    persons_street_work: int
    contacts: int
    contacts_prev: int
    partners: int
    partners_reporting: int


@dataclass(frozen=True)
class DispositifFigures:
    """One dispositif's persons and contacts, this year and last (``dispositifs[code]``)."""

    label: str
    persons: int
    persons_prev: int
    contacts: int
    contacts_prev: int


@dataclass(frozen=True)
class PartnerFigures:
    """One partner's distinct persons of the year (``partners[partner_id]``)."""

    name: str
    dispositif: str
    persons: int


@dataclass(frozen=True)
class ShelterCapacity:
    """Beds of all night shelters added up (``shelter.capacity``)."""

    beds: int
    winter_extra_beds: int


@dataclass(frozen=True)
class ShelterFigures:
    """Nights, occupancy and refusals of the night shelters (``shelter``; ``{}`` without one)."""

    nights: int
    nights_prev: int
    capacity: ShelterCapacity
    capacity_nights: int
    occupancy: float | None
    occupancy_prev: float | None
    refusals: int
    refusals_prev: int
    refusal_nights: int

    @classmethod
    def from_json(cls, data: Any, where: str = "shelter") -> ShelterFigures | None:
        if data == {}:
            return None
        check_keys(data, field_names(cls), where)
        values = {name: data[name] for name in field_names(cls)}
        values["capacity"] = flat_from_json(ShelterCapacity, data["capacity"], f"{where}.capacity")
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {**flat_to_json(self), "capacity": flat_to_json(self.capacity)}


@dataclass(frozen=True)
class ProfileFigures:
    """Sex shares, young adults and age × sex of the persons of the year (``profile``)."""

    sex: dict[str, Any]
    youth_18_25: int
    youth_share: float | None
    age_sex: Records
    age_estimated_persons: int


@dataclass(frozen=True)
class IndicatorFamilies:
    """One year's families of indicators (shapes in ``annual_indicators``' docstring)."""

    occupancy_monthly: Records
    nationality: dict[str, int]
    age_sex_full: Records
    unknown_shares: dict[str, Any]
    flows: dict[str, Any]
    durations: dict[str, Any]
    long_term: dict[str, Any]
    pathways: dict[str, Any]
    exits: dict[str, Any]
    housing_first: dict[str, Any]
    returns: dict[str, Any]
    interventions: dict[str, Any]


PREV = "_prev"
_FAMILY_KEYS = field_names(IndicatorFamilies)


@dataclass(frozen=True)
class AnnualIndicators:
    """The figures of one report year: the content of ``indicateurs.json``.

    ``families`` are the year's families of indicators, ``families_prev`` the same for the
    year before (JSON keys ``<key>_prev``); ``winters`` is every winter of the data.
    """

    year: int
    years: list[int]
    network: NetworkFigures
    dispositifs: dict[str, DispositifFigures]
    partners: dict[str, PartnerFigures]
    shelter: ShelterFigures | None
    profile: ProfileFigures
    yearly_persons: Records
    yearly_persons_by_dispositif: Records
    coverage: dict[str, list[int]]
    families: IndicatorFamilies
    families_prev: IndicatorFamilies
    winters: Records

    @staticmethod
    def json_keys() -> list[str]:
        """Every key of the JSON object, as the report reads them."""
        own = [n for n in field_names(AnnualIndicators) if n not in ("families", "families_prev")]
        return own + _FAMILY_KEYS + [k + PREV for k in _FAMILY_KEYS]

    @classmethod
    def from_json(cls, data: Any, where: str = INDICATORS_FILE) -> AnnualIndicators:
        check_keys(data, cls.json_keys(), where)
        return cls(
            year=data["year"],
            years=data["years"],
            network=flat_from_json(NetworkFigures, data["network"], f"{where}: network"),
            dispositifs={
                code: flat_from_json(DispositifFigures, d, f"{where}: dispositifs.{code}")
                for code, d in data["dispositifs"].items()
            },
            partners={
                pid: flat_from_json(PartnerFigures, p, f"{where}: partners.{pid}")
                for pid, p in data["partners"].items()
            },
            shelter=ShelterFigures.from_json(data["shelter"], f"{where}: shelter"),
            profile=flat_from_json(ProfileFigures, data["profile"], f"{where}: profile"),
            yearly_persons=data["yearly_persons"],
            yearly_persons_by_dispositif=data["yearly_persons_by_dispositif"],
            coverage=data["coverage"],
            families=IndicatorFamilies(**{k: data[k] for k in _FAMILY_KEYS}),
            families_prev=IndicatorFamilies(**{k: data[k + PREV] for k in _FAMILY_KEYS}),
            winters=data["winters"],
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object (values are not copied: what was computed is what is written)."""
        return {
            "year": self.year,
            "years": self.years,
            "network": flat_to_json(self.network),
            "dispositifs": {code: flat_to_json(d) for code, d in self.dispositifs.items()},
            "partners": {pid: flat_to_json(p) for pid, p in self.partners.items()},
            "shelter": {} if self.shelter is None else self.shelter.to_json(),
            "profile": flat_to_json(self.profile),
            "yearly_persons": self.yearly_persons,
            "yearly_persons_by_dispositif": self.yearly_persons_by_dispositif,
            "coverage": self.coverage,
            **flat_to_json(self.families),
            **{k + PREV: v for k, v in flat_to_json(self.families_prev).items()},
            "winters": self.winters,
        }


@dataclass(frozen=True)
class IndicatorsResults:
    """Everything the indicators stage writes: the two JSON files and the CSV tables."""

    figures: AnnualIndicators
    previous_year: AnnualIndicators
    monthly_persons: pd.DataFrame
    """Distinct persons per month and dispositif (``personnes_par_mois.csv``)."""
    monthly_persons_network: pd.DataFrame
    """Distinct persons per month, whole network (``personnes_par_mois_reseau.csv``)."""
    monthly_nights: pd.DataFrame
    """Shelter nights per month (``nuitees_par_mois.csv``)."""
    aggregates: dict[str, Any] | None = None
    """Per partner sending counts, its figures of the year (``agregats.json``, see
    :func:`observatoire.indicators.aggregates.annual_aggregates`); None when nobody does."""

    def occupancy_monthly(self) -> pd.DataFrame:
        return _frame(self.figures.families.occupancy_monthly, OCCUPANCY_COLUMNS)

    def winters(self) -> pd.DataFrame:
        return _frame(self.figures.winters, WINTER_COLUMNS)

    def yearly_flows(self) -> pd.DataFrame:
        return _frame(self.figures.families.flows["yearly"], FLOW_COLUMNS)

    def monthly_contacts(self) -> pd.DataFrame:
        return _frame(self.figures.families.interventions["monthly"], CONTACT_MONTH_COLUMNS)

    def combinations(self) -> pd.DataFrame:
        return _frame(self.figures.families.pathways["combinations"], COMBINATION_COLUMNS)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV tables by file name (without ``.csv``), as written."""
        combinations = self.combinations()
        return {
            "personnes_par_mois": self.monthly_persons,
            "personnes_par_mois_reseau": self.monthly_persons_network,
            "nuitees_par_mois": self.monthly_nights,
            "occupation_par_mois": self.occupancy_monthly(),
            "hivers": self.winters(),
            "flux_par_annee": self.yearly_flows(),
            "contacts_par_mois": self.monthly_contacts(),
            "combinaisons_dispositifs": combinations.assign(
                combination=combinations["combination"].map("+".join)
            ),
        }


OCCUPANCY_COLUMNS = [
    "month",
    "nights",
    "capacity_nights",
    "occupancy",
    "refusals",
    "refusal_nights",
]
WINTER_COLUMNS = [
    "winter",
    "start",
    "end",
    "days",
    "days_observed",
    "complete",
    "nights",
    "capacity_nights",
    "occupancy",
    "refusals",
    "refusal_nights",
]
FLOW_COLUMNS = ["year", "active", "new", "continuing", "returning", "calculable"]
CONTACT_MONTH_COLUMNS = ["month", "dispositif", "contacts"]
COMBINATION_COLUMNS = ["combination", "label", "n_dispositifs", "persons"]
UNREAD_COLUMNS = ("record_key", "activity", "orientation", "zone", "duration_hours")
"""Columns of the contacts that no indicator reads, dropped before the counts: each of the
hundreds of row selections of a count then copies four text columns fewer (about a tenth of the
stage's work). A count that comes to need one of them removes it from here."""


def _frame(records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A table of the contract's records; with no record (no person-level data), its columns
    all the same, so that every table keeps its header."""
    return pd.DataFrame(records) if len(records) else pd.DataFrame(columns=columns)


def compute_indicators(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    partners: dict[str, PartnerMapping],
    report: ReportSettings,
    year: int,
    coverage: Coverage | None = None,
    aggregates: pd.DataFrame | None = None,
) -> IndicatorsResults:
    """The stage's results for the report ``year`` (which overrides ``report.year``);
    ``coverage``: the ingest stage's coverage table (default: proposed from ``contacts``);
    ``aggregates`` is the clean aggregate table (``data_clean/aggregates.parquet``), if any."""
    report = report.model_copy(update={"year": year})
    contacts = contacts.drop(columns=[c for c in UNREAD_COLUMNS if c in contacts.columns])
    contacts = with_presence(contacts)  # every count below reads the spans computed here
    figures = AnnualIndicators.from_json(
        annual_indicators(
            contacts, refusals, partners, report, coverage=coverage, aggregates=aggregates
        )
    )
    monthly = monthly_distinct_persons(contacts)
    monthly_network = monthly_distinct_persons(contacts, by=None)
    nights = monthly_nights(contacts)
    previous = AnnualIndicators.from_json(
        previous_year_indicators(
            contacts, refusals, partners, report, coverage=coverage, aggregates=aggregates
        ),
        PREVIOUS_YEAR_FILE,
    )
    agg = annual_aggregates(aggregates, partners, year) if aggregates is not None else {}
    return IndicatorsResults(
        figures, previous, monthly, monthly_network, nights, jsonable(agg) or None
    )


def write_indicators(results: IndicatorsResults, out_dir: Path) -> list[Path]:
    """Write both JSON files and every table into ``out_dir``; return the paths written."""
    out_dir = Path(out_dir)
    written = [out_dir / INDICATORS_FILE, out_dir / PREVIOUS_YEAR_FILE]
    write_json(written[0], results.figures.to_json())
    write_json(written[1], results.previous_year.to_json())
    if results.aggregates:
        written.append(out_dir / AGGREGATES_FILE)
        write_json(written[-1], results.aggregates)
    for name, frame in results.tables().items():
        written.append(out_dir / f"{name}.csv")
        write_csv(frame, written[-1])
    return written


def read_indicators(path: Path) -> AnnualIndicators:
    """``indicateurs.json`` (or ``indicateurs_annee_precedente.json``) as the typed contract;
    a file of another shape raises :class:`observatoire.core.errors.ContractError`."""
    return AnnualIndicators.from_json(read_json_object(path), str(path))


def read_aggregates(out_dir: Path) -> dict[str, Any]:
    """The aggregate returns' figures of the year (``agregats.json``); ``{}`` when no partner
    sends counts (the file is not written then)."""
    path = Path(out_dir) / AGGREGATES_FILE
    return read_json_object(path) if path.is_file() else {}


def read_network_monthly(out_dir: Path) -> pd.DataFrame:
    """The network's distinct persons per month (``month`` as dates), as written."""
    frame = pd.read_csv(Path(out_dir) / NETWORK_MONTHLY_FILE, parse_dates=["month"])
    if frame.empty:
        # A file with its header only (no person-level data) is read with a text column.
        frame["month"] = pd.to_datetime(frame["month"])
    return frame
