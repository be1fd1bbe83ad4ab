"""The trends stage's contract: what ``outputs/trends/<year>/`` holds, declared once.

``tendances.json`` is :class:`TrendsSummary`: the yearly trend of the network and of each
dispositif, the year-on-year change, the monthly models (network, each dispositif, the shelter's
nights over its capacity) and next winter's forecast of the shelter demand with its back-tests.
Infinite or undefined numbers (a rate ratio over a zero count) are JSON null. The CSVs are the
fitted series, the STL decompositions, the diagnostics and the forecast the report draws.

:func:`fit_trends` fits every model from the clean tables, :func:`summarise` gives the typed
contract, :func:`write_trends` writes the JSON file and the tables, :func:`read_trends` reads
``tendances.json`` back into the typed contract (the report stage's way in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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
from observatoire.core.coverage import Coverage, coverage_of
from observatoire.core.dispositifs import STREET_WORK
from observatoire.core.person_level import has_persons
from observatoire.core.presence import with_presence
from observatoire.core.storage import write_csv, write_json
from observatoire.indicators import counts as indicators
from observatoire.indicators.capacity import CapacitySeries, shelter_capacity_series
from observatoire.intake.mapping import PartnerMapping
from observatoire.models import forecast, inference, trends, truncation
from observatoire.models import not_computed as not_computed_reasons
from observatoire.models.forecast import WinterForecast, WinterOutlook
from observatoire.models.inference import OccupancyModel, PairedRateRatio
from observatoire.models.trends import MonthlyModelResult, SeriesModel, TrendResult

if TYPE_CHECKING:
    from statsmodels.tsa.seasonal import DecomposeResult

__all__ = [
    "AlternativeRecord",
    "BacktestBandRecord",
    "BacktestWinterRecord",
    "CurrentWinterRecord",
    "DispositifModels",
    "ForecastModelRecord",
    "ForecastMonthRecord",
    "ForecastRecord",
    "MonthlyRecord",
    "NOT_COMPUTED_KEY",
    "RateRatioRecord",
    "SeriesFitRecord",
    "SelectionRecord",
    "SeriesRecord",
    "TrendRecord",
    "TrendsResults",
    "TrendsSummary",
    "YearOnYearRecord",
    "fit_trends",
    "read_trends",
    "summarise",
    "trends_dir",
    "write_trends",
]

TRENDS_FILE = "tendances.json"
NOT_COMPUTED_KEY = "non_calcule"
"""The key of ``tendances.json`` that holds what was not computed and why (absent when empty)."""

T = TypeVar("T")


def trends_dir(year: int) -> Path:
    """``outputs/trends/<year>``, where the stage writes."""
    return PATHS.trends(year)


def finite(value: Any) -> Any:
    """Infinite or undefined numbers (a rate ratio over a zero count) become JSON null."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _pick(cls: type[T], result: Any) -> T:
    """A flat record whose fields are attributes of ``result`` of the same name."""
    return cls(**finite({name: getattr(result, name) for name in field_names(cls)}))


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendRecord:
    """Log-linear trend of a yearly count (``network``, ``by_dispositif[code]``, and the same
    without 2020): quasi-Poisson on the ``years`` kept, ``excluded`` years with their reason,
    ``p_holm`` the p-value adjusted for the family of tests the report prints (None when the
    test is not part of it, as for the sensitivity analyses)."""

    family: str
    annual_rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    dispersion: float | None
    interpretation: str
    years: list[int] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    p_holm: float | None = None
    corrected: dict[str, float] = field(default_factory=dict)
    """Share of each year's count added for the persons left truncation hides (network)."""

    @classmethod
    def of(
        cls,
        result: TrendResult,
        p_holm: float | None = None,
        corrected: dict[int, float] | None = None,
    ) -> TrendRecord:
        return cls(
            **finite({n: getattr(result, n) for n in field_names(cls)[:7]}),
            years=list(result.years),
            excluded={str(y): r for y, r in result.excluded.items()},
            p_holm=p_holm,
            corrected={str(y): float(m) for y, m in (corrected or {}).items()},
        )


@dataclass(frozen=True)
class YearOnYearRecord:
    """Persons of the year against the year before (``year_on_year``, and per dispositif
    ``yoy_by_dispositif[code]``): paired comparison, ``both`` persons present both years,
    ``p_value`` McNemar's exact test, ``p_holm`` adjusted for the family, ``independent_ci``
    the former interval (two independent Poisson counts), ``truncated`` when either year is
    hit by left truncation (the change is then not interpretable, and not tested)."""

    rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    interpretation: str
    current: int = 0
    previous: int = 0
    both: int = 0
    p_value: float | None = None
    p_holm: float | None = None
    independent_ci: list[float | None] = field(default_factory=list)
    method: str = ""
    truncated: bool = False

    @classmethod
    def of(
        cls, r: PairedRateRatio, p_holm: float | None = None, truncated: bool = False
    ) -> YearOnYearRecord:
        return cls(
            **finite(
                {
                    "rate_ratio": r.rate_ratio,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "interpretation": r.interpretation,
                    "current": r.current,
                    "previous": r.previous,
                    "both": r.both,
                    "p_value": r.p_value,
                    "p_holm": p_holm,
                    "independent_ci": list(r.independent_ci),
                    "method": r.method,
                    "truncated": truncated,
                }
            )
        )


RateRatioRecord = YearOnYearRecord


@dataclass(frozen=True)
class MonthlyRecord:
    """The network's monthly model (``monthly``): its trend is kept for the annex, its month
    effects (``seasonal``: month, rate ratio against January and 95 % CI) are what the report
    reads; ``serial_lag1`` the estimated correlation of successive months."""

    family: str
    annual_rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    dispersion: float | None
    ljung_box_p: float | None
    serial_lag1: float | None = None
    seasonal: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, m: MonthlyModelResult) -> MonthlyRecord:
        seasonal = [
            {"month": int(r.month), "rate_ratio": r.rate_ratio, "ci_low": r.ci_low,
             "ci_high": r.ci_high}
            for r in m.seasonal_effects.itertuples()
        ]  # fmt: skip
        return cls(
            **finite({n: getattr(m, n) for n in field_names(cls)[:6]}),
            serial_lag1=finite(m.serial.lag1) if m.serial is not None else None,
            seasonal=finite(seasonal),
        )


@dataclass(frozen=True)
class OccupancyRecord:
    """The shelter's occupancy on a bounded (logit) scale (``occupancy``): annual odds ratio at
    equal season, its CI and p-values, and the yearly occupancy (descriptive)."""

    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_holm: float | None
    serial_lag1: float | None
    n_months: int
    full_months: int
    yearly: dict[str, float]
    interpretation: str

    @classmethod
    def of(cls, m: OccupancyModel, p_holm: float | None) -> OccupancyRecord:
        return cls(
            **finite(
                {
                    "odds_ratio": m.odds_ratio,
                    "ci_low": m.ci_low,
                    "ci_high": m.ci_high,
                    "p_value": m.p_value,
                    "p_holm": p_holm,
                    "serial_lag1": m.serial.lag1,
                    "n_months": m.n_months,
                    "full_months": m.full_months,
                    "yearly": {str(int(r.year)): float(r.occupancy) for r in m.yearly.itertuples()},
                    "interpretation": m.interpretation,
                }
            )
        )


@dataclass(frozen=True)
class SeriesFitRecord:
    """Diagnostics of a fitted monthly series (see :meth:`SeriesModel.record`)."""

    family: str
    annual_rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    dispersion: float | None
    ct_alpha: float | None
    ct_p: float | None
    alpha: float | None
    residual_dispersion: float | None
    ljung_box_p: float | None
    serial_lag1: float | None
    exposure: str | None
    interpretation: str
    notes: list[str]


_SERIES_KEYS = ["dispositif", "series", "n_months", "zero_months", "skipped"]


@dataclass(frozen=True)
class SeriesRecord:
    """One monthly series of one dispositif; ``fit`` is None when it was not modelled
    (``skipped`` says why) and its keys are then absent from the JSON object."""

    dispositif: str
    series: str
    n_months: int
    zero_months: int
    skipped: str | None
    fit: SeriesFitRecord | None

    @classmethod
    def of(cls, model: SeriesModel) -> SeriesRecord:
        return cls.from_json(finite(model.record()), f"{model.dispositif}/{model.series}")

    @classmethod
    def from_json(cls, data: Any, where: str, extra: tuple[str, ...] = ()) -> SeriesRecord:
        fitted = isinstance(data, dict) and "family" in data
        keys = _SERIES_KEYS + (field_names(SeriesFitRecord) if fitted else []) + list(extra)
        check_keys(data, keys, where)
        fit_names = field_names(SeriesFitRecord)
        fit = SeriesFitRecord(**{k: data[k] for k in fit_names}) if fitted else None
        return cls(**{k: data[k] for k in _SERIES_KEYS}, fit=fit)

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in _SERIES_KEYS}
        if self.fit is not None:
            out.update(flat_to_json(self.fit))
        return out


@dataclass(frozen=True)
class DispositifModels:
    """A dispositif's monthly models (``monthly_by_dispositif[code]``): the persons' record,
    with the contacts' record under the key ``contacts``."""

    persons: SeriesRecord
    contacts: SeriesRecord

    @classmethod
    def from_json(cls, data: Any, where: str) -> DispositifModels:
        persons = SeriesRecord.from_json(data, where, extra=("contacts",))
        return cls(persons, SeriesRecord.from_json(data["contacts"], f"{where}.contacts"))

    def to_json(self) -> dict[str, Any]:
        return {**self.persons.to_json(), "contacts": self.contacts.to_json()}


@dataclass(frozen=True)
class ForecastMonthRecord:
    """One month of the winter forecast (``forecast.months[i]``, months « AAAA-MM »)."""

    month: str
    forecast: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float
    capacity: float | None
    p_exceed: float | None


@dataclass(frozen=True)
class ForecastModelRecord:
    """A demand model (``forecast.model``: the published one; ``forecast.other_model``: the
    one the back-test did not choose), see :class:`observatoire.models.demand.DemandModel`."""

    method: str
    label: str
    family: str
    alpha: float | None
    dispersion: float | None
    residual_dispersion: float | None
    n_months: int
    summer_rate_ratio: float | None
    summer_ci: list[float | None]
    winter_rate_ratio: float | None
    winter_ci: list[float | None]
    p_winter_differs: float | None
    ljung_box_p: float | None
    ljung_box_stat: float | None
    acf1: float | None
    trend_sentence: str
    notes: list[str]


@dataclass(frozen=True)
class BacktestBandRecord:
    """The rolling-origin back-test of one method on one band of horizons
    (``forecast.backtest[i]``; see ``RollingOrigin.summary`` in
    :mod:`observatoire.models.rolling_origin`)."""

    method: str
    label: str
    band: str
    n: int
    n_origins: int
    mape: float | None
    coverage80: float | None
    coverage95: float | None
    n_winters: int
    mape_total: float | None
    coverage80_total: float | None
    coverage95_total: float | None


@dataclass(frozen=True)
class BacktestWinterRecord:
    """One complete past winter forecast 11 months ahead (from 31 December) by one method
    (``forecast.backtest_winters[i]``; no interval for the naive methods)."""

    method: str
    winter: int
    origin: str
    lag: int
    observed: float
    forecast: float
    lo80: float | None
    hi80: float | None
    lo95: float | None
    hi95: float | None


@dataclass(frozen=True)
class SelectionRecord:
    """The back-test's choice of model and its rule (``forecast.selection``)."""

    method: str
    band: str
    mape: dict[str, float | None]
    best_naive: str | None
    beats_naive: bool | None
    rule: str


@dataclass(frozen=True)
class AlternativeRecord:
    """Next winter by every method (``forecast.alternatives[i]``)."""

    method: str
    label: str
    point: float | None
    pi80: list[float | None]
    pi95: list[float | None]


@dataclass(frozen=True)
class CurrentWinterRecord:
    """The months of the winter under way already observed (``forecast.current_winter``)."""

    winter: str
    months: list[str]
    observed: float
    previous: float | None
    change: float | None


@dataclass(frozen=True)
class ForecastRecord:
    """Next winter's forecast of the shelter demand, with its back-test (``forecast``)."""

    winter: str
    start_year: int
    origin: str
    horizon_months: int
    value: str
    method: str
    point: float
    pi80: list[float]
    pi95: list[float]
    capacity: float | None
    p_exceed: float | None
    expected_shortfall: float | None
    shortfall_pi80: list[float | None]
    months: list[ForecastMonthRecord]
    model: ForecastModelRecord
    other_model: ForecastModelRecord
    draws: int
    seed: int
    interpretation: str
    notes: list[str]
    selection: SelectionRecord
    backtest: list[BacktestBandRecord]
    backtest_winters: list[BacktestWinterRecord]
    n_origins: int
    alternatives: list[AlternativeRecord]
    current_winter: CurrentWinterRecord | None

    @classmethod
    def of(cls, outlook: WinterOutlook) -> ForecastRecord:
        winters = outlook.report_winters().assign(
            origin=lambda w: pd.to_datetime(w["origin"]).dt.strftime("%Y-%m")
        )
        return cls.from_json(
            finite(
                {
                    **outlook.forecast.to_dict(),
                    "other_model": outlook.other.model.to_dict(),
                    "selection": outlook.selection.to_dict(),
                    "backtest": outlook.backtest.summary().to_dict("records"),
                    "backtest_winters": winters.drop(columns="band").to_dict("records"),
                    "n_origins": len(outlook.backtest.origins),
                    "alternatives": outlook.alternatives(),
                    "current_winter": outlook.current.to_dict() if outlook.current else None,
                }
            )
        )

    @classmethod
    def from_json(cls, data: Any, where: str = "forecast") -> ForecastRecord:
        check_keys(data, field_names(cls), where)
        current = data["current_winter"]

        def rows(kind: type[T], key: str) -> list[T]:
            return [flat_from_json(kind, r, f"{where}.{key}[{i}]") for i, r in enumerate(data[key])]

        return cls(
            **{
                **{k: data[k] for k in field_names(cls)},
                "months": rows(ForecastMonthRecord, "months"),
                "model": flat_from_json(ForecastModelRecord, data["model"], f"{where}.model"),
                "other_model": flat_from_json(
                    ForecastModelRecord, data["other_model"], f"{where}.other_model"
                ),
                "selection": flat_from_json(
                    SelectionRecord, data["selection"], f"{where}.selection"
                ),
                "backtest": rows(BacktestBandRecord, "backtest"),
                "backtest_winters": rows(BacktestWinterRecord, "backtest_winters"),
                "alternatives": rows(AlternativeRecord, "alternatives"),
                "current_winter": None
                if current is None
                else flat_from_json(CurrentWinterRecord, current, f"{where}.current_winter"),
            }
        )

    def to_json(self) -> dict[str, Any]:
        def rows(items: list[Any]) -> list[dict[str, Any]]:
            return [flat_to_json(r) for r in items]

        return {
            **flat_to_json(self),
            "months": rows(self.months),
            "model": flat_to_json(self.model),
            "other_model": flat_to_json(self.other_model),
            "selection": flat_to_json(self.selection),
            "backtest": rows(self.backtest),
            "backtest_winters": rows(self.backtest_winters),
            "alternatives": rows(self.alternatives),
            "current_winter": None
            if self.current_winter is None
            else flat_to_json(self.current_winter),
        }


@dataclass(frozen=True)
class MultiplicityRecord:
    """The family of tests the report prints, adjusted together (``multiplicity``)."""

    method: str
    tests: dict[str, float | None]
    adjusted: dict[str, float | None]


@dataclass(frozen=True)
class TrendsSummary:
    """The content of ``tendances.json``."""

    year: int
    network: TrendRecord | None
    """None when not computable: its reason is under ``non_calcule`` (as for ``year_on_year``,
    ``monthly``, ``occupancy`` and ``forecast``)."""
    by_dispositif: dict[str, TrendRecord]
    year_on_year: YearOnYearRecord | None
    monthly: MonthlyRecord | None
    monthly_by_dispositif: dict[str, DispositifModels]
    yoy_by_dispositif: dict[str, YearOnYearRecord]
    occupancy: OccupancyRecord | None
    stl_skipped: dict[str, str]
    forecast: ForecastRecord | None
    network_without_2020: TrendRecord | None = None
    network_uncorrected: TrendRecord | None = None
    by_dispositif_without_2020: dict[str, TrendRecord] = field(default_factory=dict)
    trend_skipped: dict[str, str] = field(default_factory=dict)
    truncation: dict[str, dict[str, Any]] = field(default_factory=dict)
    network_missing_share: dict[str, float] = field(default_factory=dict)
    multiplicity: MultiplicityRecord | None = None
    network_named: TrendRecord | None = None
    """The network's trend on the persons known by name (street work, never linked to the
    other services, left out), truncation-corrected like ``network``."""
    year_on_year_named: YearOnYearRecord | None = None
    """The paired year-on-year change of the persons known by name."""
    non_calcule: dict[str, str] = field(default_factory=dict)
    """What the stage could not compute, by key of
    :data:`observatoire.models.not_computed.LABELS`, with its French reason. Written only when
    not empty (a complete network's file is unchanged)."""

    @classmethod
    def from_json(cls, data: Any, where: str = TRENDS_FILE) -> TrendsSummary:
        keys = field_names(cls)
        if NOT_COMPUTED_KEY not in data:
            keys.remove(NOT_COMPUTED_KEY)
        check_keys(data, keys, where)

        def trend(r: Any, at: str) -> TrendRecord | None:
            return None if r is None else flat_from_json(TrendRecord, r, f"{where}: {at}")

        return cls(
            year=data["year"],
            network=trend(data["network"], "network"),
            by_dispositif={
                d: flat_from_json(TrendRecord, r, f"{where}: by_dispositif.{d}")
                for d, r in data["by_dispositif"].items()
            },
            year_on_year=(
                None
                if data["year_on_year"] is None
                else flat_from_json(
                    YearOnYearRecord, data["year_on_year"], f"{where}: year_on_year"
                )
            ),
            monthly=(
                None
                if data["monthly"] is None
                else flat_from_json(MonthlyRecord, data["monthly"], f"{where}: monthly")
            ),
            monthly_by_dispositif={
                d: DispositifModels.from_json(r, f"{where}: monthly_by_dispositif.{d}")
                for d, r in data["monthly_by_dispositif"].items()
            },
            yoy_by_dispositif={
                d: flat_from_json(YearOnYearRecord, r, f"{where}: yoy_by_dispositif.{d}")
                for d, r in data["yoy_by_dispositif"].items()
            },
            occupancy=(
                None
                if data["occupancy"] is None
                else flat_from_json(OccupancyRecord, data["occupancy"], f"{where}: occupancy")
            ),
            stl_skipped=data["stl_skipped"],
            forecast=(
                None
                if data["forecast"] is None
                else ForecastRecord.from_json(data["forecast"], f"{where}: forecast")
            ),
            network_without_2020=trend(data["network_without_2020"], "network_without_2020"),
            network_uncorrected=trend(data["network_uncorrected"], "network_uncorrected"),
            by_dispositif_without_2020={
                d: flat_from_json(TrendRecord, r, f"{where}: by_dispositif_without_2020.{d}")
                for d, r in data["by_dispositif_without_2020"].items()
            },
            trend_skipped=data["trend_skipped"],
            truncation=data["truncation"],
            network_missing_share=data["network_missing_share"],
            multiplicity=(
                None
                if data["multiplicity"] is None
                else flat_from_json(
                    MultiplicityRecord, data["multiplicity"], f"{where}: multiplicity"
                )
            ),
            network_named=trend(data["network_named"], "network_named"),
            year_on_year_named=(
                None
                if data["year_on_year_named"] is None
                else flat_from_json(
                    YearOnYearRecord, data["year_on_year_named"], f"{where}: year_on_year_named"
                )
            ),
            non_calcule=data.get(NOT_COMPUTED_KEY, {}),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object (values are not copied: what was computed is what is written)."""
        out = {
            "year": self.year,
            "network": None if self.network is None else flat_to_json(self.network),
            "by_dispositif": {d: flat_to_json(r) for d, r in self.by_dispositif.items()},
            "year_on_year": None if self.year_on_year is None else flat_to_json(self.year_on_year),
            "monthly": None if self.monthly is None else flat_to_json(self.monthly),
            "monthly_by_dispositif": {
                d: m.to_json() for d, m in self.monthly_by_dispositif.items()
            },
            "yoy_by_dispositif": {d: flat_to_json(r) for d, r in self.yoy_by_dispositif.items()},
            "occupancy": None if self.occupancy is None else flat_to_json(self.occupancy),
            "stl_skipped": self.stl_skipped,
            "forecast": None if self.forecast is None else self.forecast.to_json(),
            "network_without_2020": (
                None if self.network_without_2020 is None
                else flat_to_json(self.network_without_2020)
            ),
            "network_uncorrected": (
                None if self.network_uncorrected is None
                else flat_to_json(self.network_uncorrected)
            ),
            "by_dispositif_without_2020": {
                d: flat_to_json(r) for d, r in self.by_dispositif_without_2020.items()
            },
            "trend_skipped": self.trend_skipped,
            "truncation": self.truncation,
            "network_missing_share": self.network_missing_share,
            "multiplicity": None if self.multiplicity is None else flat_to_json(self.multiplicity),
            "network_named": (
                None if self.network_named is None else flat_to_json(self.network_named)
            ),
            "year_on_year_named": (
                None if self.year_on_year_named is None
                else flat_to_json(self.year_on_year_named)
            ),
        }  # fmt: skip
        if self.non_calcule:
            out[NOT_COMPUTED_KEY] = dict(self.non_calcule)
        return out


# --- the stage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendsResults:
    """Every model of the trends stage, what the notebook shows and what is written."""

    year: int
    winter: tuple[str, str]
    """First and last day (« MM-JJ ») of the winter plan."""
    capacity: CapacitySeries | dict[str, int] | None
    """The shelters' beds night by night (:mod:`observatoire.indicators.capacity`)."""
    yearly: pd.Series
    """Distinct persons of the network per year (index ``year``)."""
    network_trend: TrendResult | None
    """None when not computable (reason in ``not_computed``), as every optional model."""
    by_dispositif: dict[str, TrendResult]
    year_on_year: PairedRateRatio | None
    monthly: pd.DataFrame
    """The network's distinct persons per month, as the indicators stage wrote them."""
    monthly_model: MonthlyModelResult | None
    stl_network: DecomposeResult | None
    dispositif_counts: pd.DataFrame
    dispositif_models: dict[str, dict[str, SeriesModel]]
    shelter_nights: pd.DataFrame
    occupancy: OccupancyModel | None
    yoy_by_dispositif: dict[str, PairedRateRatio]
    stl_by_dispositif: dict[str, DecomposeResult]
    stl_skipped: dict[str, str]
    demand: pd.DataFrame | None
    outlook: WinterOutlook | None
    truncation: dict[str, truncation.Truncation] = field(default_factory=dict)
    network_missing_share: dict[int, float] = field(default_factory=dict)
    network_without_2020: TrendResult | None = None
    by_dispositif_without_2020: dict[str, TrendResult] = field(default_factory=dict)
    trend_skipped: dict[str, str] = field(default_factory=dict)
    network_uncorrected: TrendResult | None = None
    """The network's trend on the counts as observed (no truncation correction)."""
    yearly_named: pd.Series | None = None
    """Distinct persons known by name per year (street work left out)."""
    network_named: TrendResult | None = None
    """The trend of ``yearly_named``, truncation-corrected (see :func:`fit_trends`)."""
    named_missing_share: dict[int, float] = field(default_factory=dict)
    year_on_year_named: PairedRateRatio | None = None
    not_computed: dict[str, str] = field(default_factory=dict)
    """Model key (:data:`observatoire.models.not_computed.LABELS`) → why it was not computed,
    in French (what is missing, which threshold, what the analyst can do)."""

    @property
    def winter_forecast(self) -> WinterForecast | None:
        """The published forecast of next winter (the model the back-test chose)."""
        return None if self.outlook is None else self.outlook.forecast

    @property
    def all_models(self) -> list[SeriesModel]:
        """Every monthly series model, dispositif by dispositif."""
        per = self.dispositif_models.values()
        return [m for models in per for m in models.values()]

    def tests(self) -> dict[str, float]:
        """The family of tests the report prints, by name: the trends (network, dispositifs)
        and the year-on-year changes not hit by truncation."""
        out = {}
        if self.network_trend is not None:
            out["tendance_reseau"] = self.network_trend.p_value
        out |= {f"tendance_{d}": r.p_value for d, r in self.by_dispositif.items()}
        if self.year_on_year is not None:
            out["annee_reseau"] = self.year_on_year.p_value
        for d, r in self.yoy_by_dispositif.items():
            if not self.truncated_yoy(d):
                out[f"annee_{d}"] = r.p_value
        # The occupancy's odds ratio is not in the family: its interval undercovers under strong
        # dependence (bench/results/trends_coverage.json), so the report describes occupancy.
        return out

    def adjusted(self) -> dict[str, float]:
        """Holm-adjusted p-values of :meth:`tests`."""
        return inference.holm(self.tests())

    def truncated_yoy(self, dispositif: str) -> bool:
        """Whether the year or the year before is hit by left truncation for ``dispositif``."""
        tr = self.truncation.get(dispositif)
        return tr is not None and bool({self.year, self.year - 1} & set(tr.affected_years))

    def diagnostics(self) -> pd.DataFrame:
        """One row of diagnostics per monthly series (``diagnostics_mensuels.csv``)."""
        return trends.diagnostics_table(self.all_models)

    def forecast_capacity(self) -> pd.Series | None:
        """The shelter's bed-nights of every month of the demand and of the forecast winter
        (None without a forecast)."""
        if self.winter_forecast is None or self.demand is None:
            return None
        months = pd.concat([self.demand["month"], self.winter_forecast.months["month"]])
        return forecast.monthly_bed_nights(self.capacity, months, self.winter)

    def backtest_table(self) -> pd.DataFrame | None:
        """Every forecast of the rolling-origin back-test, one row per method, origin and
        target month (``backtest_hiver.csv``; None without a forecast)."""
        return None if self.outlook is None else self.outlook.backtest.months

    def backtest_summary(self) -> pd.DataFrame | None:
        """MAPE and coverage by method and band of horizons (``backtest_hiver_resume.csv``;
        None without a forecast)."""
        return None if self.outlook is None else self.outlook.backtest.summary()

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV tables by file name (without ``.csv``), as written; a model not computed
        has no table (its reason is in ``tendances.json``)."""
        stl = self.stl_network
        out = {}
        if self.network_trend is not None:
            out["tendance_reseau"] = self.network_trend.fitted
        if stl is not None:
            out["stl_reseau"] = pd.DataFrame(
                {
                    "month": self.monthly["month"],
                    "observed": stl.observed.to_numpy(),
                    "trend": stl.trend.to_numpy(),
                    "seasonal": stl.seasonal.to_numpy(),
                    "resid": stl.resid.to_numpy(),
                }
            )
        out["diagnostics_mensuels"] = self.diagnostics()
        if self.network_named is not None:
            out["tendance_reseau_nominatif"] = self.network_named.fitted
        for d, per in self.dispositif_models.items():
            if per["persons"].model is not None:
                out[f"mensuel_{d}_ajuste"] = per["persons"].model.fitted
        if self.occupancy is not None:
            out["mensuel_hebergement_urgence_occupation_ajuste"] = self.occupancy.fitted
        for d, res in self.stl_by_dispositif.items():
            out[f"stl_{d}"] = pd.DataFrame(
                {
                    "month": res.observed.index,
                    "observed": res.observed.to_numpy(),
                    "trend": res.trend.to_numpy(),
                    "seasonal": res.seasonal.to_numpy(),
                    "resid": res.resid.to_numpy(),
                }
            )
        if self.demand is not None:
            out["demande_abri_mensuelle"] = self.demand
        if self.outlook is not None:
            out["prevision_hiver"] = self.outlook.forecast.months[
                ["month", "forecast", "lo80", "hi80", "lo95", "hi95", "capacity"]
            ]
            out["backtest_hiver"] = self.outlook.backtest.months
            out["backtest_hiver_resume"] = self.outlook.backtest.summary()
            out["backtest_hivers_complets"] = self.outlook.backtest.winters
        return out


def fit_trends(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    partners: dict[str, PartnerMapping],
    monthly_network: pd.DataFrame,
    report: ReportSettings,
    year: int,
    coverage: Coverage | None = None,
    aggregates: pd.DataFrame | None = None,
) -> TrendsResults:
    """Every model of the trends stage on the data up to the end of ``year``, with the winter
    and the forecast settings of ``report`` (its ``year`` is not read).

    ``monthly_network`` is the network's distinct persons per month written by the indicators
    stage (:func:`observatoire.indicators.contract.read_network_monthly`). ``coverage``: the
    months each partner's exports cover (default: proposed from ``contacts``); the yearly
    trends use only the years covered in full (:meth:`Coverage.keep_full_years`).
    """
    winter = (report.winter_start, report.winter_end)
    end_month = pd.Timestamp(f"{year}-12-01")
    # The presence spans computed once for every count and model below (see with_presence).
    contacts = with_presence(contacts[contacts["year"] <= year])
    refusals = refusals[pd.to_datetime(refusals["date"]).dt.year <= year]
    # Beds night by night: the mappings' declarations, or the partners' own capacity returns.
    capacity = shelter_capacity_series(partners, aggregates, winter)

    # Persons present in each year (a stay counts in every year it covers), as in the report.
    yearly = indicators.yearly_distinct_persons(contacts).set_index("year")["persons"]
    yearly_disp = indicators.yearly_distinct_persons(contacts, by="dispositif")
    # Only the years every partner concerned covers in full: a partial year (an export that
    # stops in September) or a stray old row never enters a trend.
    cov = coverage_of(contacts, coverage)
    yearly = cov.keep_full_years(yearly)
    per_disp = {
        str(d): cov.keep_full_years(
            grp.set_index("year")["persons"].reindex(yearly.index, fill_value=0), str(d)
        )
        for d, grp in yearly_disp.groupby("dispositif")
    }
    # Left truncation: stays begun before the data are unseen (see models.truncation).
    trunc = truncation.left_truncation(contacts)
    missing = truncation.network_missing_share(trunc, yearly, per_disp)
    reason = "troncature à gauche"
    # The network keeps every year, its counts corrected by the persons the truncated stays
    # hide (an upper bound: some of them are counted through another service); dropping the
    # affected years would leave a residual bias (the deficit fades over several years).
    corrected = yearly / (1 - pd.Series(missing).reindex(yearly.index).fillna(0.0))
    not_computed: dict[str, str] = {}
    network_trend = _network_trend_or_reason(corrected, not_computed)
    network_uncorrected = _trend_or_none(yearly, {})
    covid = "sans 2020 (COVID-19)"
    network_no2020 = _trend_or_none(corrected, {2020: covid})
    by_disp, by_disp_no2020, trend_skipped = {}, {}, {}
    for disp, series in per_disp.items():
        affected = trunc[disp].affected_years if disp in trunc else []
        # Only the years the series holds (coverage may have removed partial years).
        excl = {y: reason for y in affected if y in series.index}
        kept = series.drop(index=list(excl))
        if (kept > 0).sum() < 3:
            trend_skipped[disp] = (
                f"tendance non estimée\u00a0: {int((kept > 0).sum())} année(s) sans troncature "
                "à gauche (au moins 3 requises)"
                if excl
                else "moins de 3 années avec des personnes"
            )
            continue
        by_disp[disp] = trends.fit_yearly_trend(series, exclude=excl)
        fit = _trend_or_none(series, {**excl, 2020: covid})
        if fit is not None:
            by_disp_no2020[disp] = fit
    yoy = _year_on_year_or_reason(contacts, year, not_computed)
    # The same on the persons known by name: street work is never linked to the other
    # services, so the network's count holds its persons twice when they are also seen
    # elsewhere, and its trend mixes the named persons' with street work's (issue 15, point 3).
    named_contacts = contacts[contacts["dispositif"] != STREET_WORK]
    yearly_named = indicators.yearly_distinct_persons(named_contacts).set_index("year")["persons"]
    yearly_named = yearly_named.reindex(yearly.index, fill_value=0)
    per_disp_named = {d: s for d, s in per_disp.items() if d != STREET_WORK}
    missing_named = truncation.network_missing_share(trunc, yearly_named, per_disp_named)
    corrected_named = yearly_named / (
        1 - pd.Series(missing_named).reindex(yearly_named.index).fillna(0.0)
    )
    network_named = _trend_or_none(corrected_named, {})
    yoy_named = (
        trends.paired_year_on_year(named_contacts, year) if network_named is not None else None
    )

    monthly = monthly_network[monthly_network["month"].dt.year <= year]
    monthly_model, stl_network = _network_monthly_models(monthly, not_computed)

    monthly_disp = trends.monthly_dispositif_counts(contacts, end_month)
    starts = {d: t.first_clean_month for d, t in trunc.items()}
    disp_models = trends.fit_dispositif_models(monthly_disp, starts=starts)
    shelter_nights, occupancy = _shelter_occupancy(
        contacts, partners, capacity, end_month, winter, not_computed
    )
    yoy_disp = trends.yoy_by_dispositif(contacts, year)
    stl_by_disp, stl_skipped = {}, {}
    for d, sub in monthly_disp.groupby("dispositif"):
        try:
            stl_by_disp[d] = trends.stl(sub, "persons")
        except ValueError as exc:
            stl_skipped[d] = str(exc)

    demand, outlook = _winter_outlook_or_reason(
        contacts, refusals, partners, capacity, end_month, report, not_computed
    )
    return TrendsResults(
        year=year,
        winter=winter,
        capacity=capacity,
        yearly=yearly,
        network_trend=network_trend,
        by_dispositif=by_disp,
        year_on_year=yoy,
        monthly=monthly,
        monthly_model=monthly_model,
        stl_network=stl_network,
        dispositif_counts=monthly_disp,
        dispositif_models=disp_models,
        shelter_nights=shelter_nights,
        occupancy=occupancy,
        yoy_by_dispositif=yoy_disp,
        stl_by_dispositif=stl_by_disp,
        stl_skipped=stl_skipped,
        demand=demand,
        outlook=outlook,
        truncation=trunc,
        network_missing_share=missing,
        network_without_2020=network_no2020,
        by_dispositif_without_2020=by_disp_no2020,
        trend_skipped=trend_skipped,
        network_uncorrected=network_uncorrected,
        yearly_named=yearly_named,
        network_named=network_named,
        named_missing_share=missing_named,
        year_on_year_named=yoy_named,
        not_computed=not_computed
        if has_persons(contacts)
        else not_computed_reasons.no_persons_reasons(not_computed),
    )


def _network_trend_or_reason(
    corrected: pd.Series, not_computed: dict[str, str]
) -> TrendResult | None:
    """The network's yearly trend, or None and its reason (fewer than 3 years)."""
    reason = not_computed_reasons.yearly_trend_reason(corrected)
    if reason is not None:
        not_computed[not_computed_reasons.NETWORK_TREND] = reason
        return None
    return trends.fit_yearly_trend(corrected)


def _year_on_year_or_reason(
    contacts: pd.DataFrame, year: int, not_computed: dict[str, str]
) -> PairedRateRatio | None:
    """The network's paired change ``year``/``year − 1``, or None and its reason (nobody in
    the year before)."""
    yoy = trends.paired_year_on_year(contacts, year)
    reason = not_computed_reasons.year_on_year_reason(yoy.previous, year)
    if reason is not None:
        not_computed[not_computed_reasons.YEAR_ON_YEAR] = reason
        return None
    return yoy


def _network_monthly_models(
    monthly: pd.DataFrame, not_computed: dict[str, str]
) -> tuple[MonthlyModelResult | None, DecomposeResult | None]:
    """The network's monthly model and STL decomposition, each None with its reason when the
    series is too short (24 months), lacks a January or, for STL, has a gap."""
    labels = not_computed_reasons.LABELS
    model_key, stl_key = not_computed_reasons.MONTHLY_MODEL, not_computed_reasons.STL_NETWORK
    model = stl = None
    reason = not_computed_reasons.monthly_series_reason(monthly, "persons", labels[model_key])
    if reason is None:
        model = trends.fit_monthly_model(monthly, value="persons")
    else:
        not_computed[model_key] = reason
    reason = not_computed_reasons.monthly_series_reason(
        monthly, "persons", labels[stl_key], complete=True
    )
    if reason is None:
        stl = trends.stl(monthly, value="persons")
    else:
        not_computed[stl_key] = reason
    return model, stl


def _shelter_occupancy(
    contacts: pd.DataFrame,
    partners: dict[str, PartnerMapping],
    capacity: CapacitySeries,
    end_month: pd.Timestamp,
    winter: tuple[str, str],
    not_computed: dict[str, str],
) -> tuple[pd.DataFrame, OccupancyModel | None]:
    """The shelter's nights per month over its bed-nights, and the occupancy model (None with
    its reason: no shelter, no capacity declared, too short a series)."""
    shelter_nights = indicators.monthly_nights(contacts)
    shelter_nights = shelter_nights[shelter_nights["month"] <= end_month].copy()
    shelter_nights["capacity"] = forecast.monthly_bed_nights(
        capacity, shelter_nights["month"], winter
    ).to_numpy()
    key = not_computed_reasons.OCCUPANCY
    if shelter_nights.empty or not shelter_nights["nights"].gt(0).any():
        present = {d for p in partners.values() for d in p.dispositifs}
        not_computed[key] = not_computed_reasons.no_shelter_reason(
            present, not_computed_reasons.LABELS[key], hint=False
        )
        return shelter_nights, None
    if not capacity.any_beds():
        not_computed[key] = not_computed_reasons.no_capacity_reason()
        return shelter_nights, None
    try:
        return shelter_nights, inference.fit_occupancy_model(shelter_nights)
    except ValueError as exc:
        not_computed[key] = not_computed_reasons.occupancy_reason(exc)
        return shelter_nights, None


def _winter_outlook_or_reason(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    partners: dict[str, PartnerMapping],
    capacity: CapacitySeries,
    end_month: pd.Timestamp,
    report: ReportSettings,
    not_computed: dict[str, str],
) -> tuple[pd.DataFrame | None, WinterOutlook | None]:
    """The shelter's monthly demand and next winter's outlook; None and the reason when the
    network has no shelter data or its history cannot support the forecast."""
    key = not_computed_reasons.FORECAST
    try:
        demand = forecast.monthly_demand(contacts, refusals, end_month)
    except ValueError:
        present = {d for p in partners.values() for d in p.dispositifs}
        not_computed[key] = not_computed_reasons.no_shelter_reason(
            present, not_computed_reasons.LABELS[key]
        )
        return None, None
    min_history = report.forecast.min_history_months
    try:
        outlook = forecast.winter_outlook(
            demand,
            capacity=capacity,
            winter=(report.winter_start, report.winter_end),
            draws=report.forecast.draws,
            seed=report.forecast.seed,
            min_history=min_history,
        )
    except ValueError as exc:
        not_computed[key] = not_computed_reasons.forecast_failed_reason(exc, min_history)
        return demand, None
    return demand, outlook


def _trend_or_none(series: pd.Series, exclude: dict[int, str]) -> TrendResult | None:
    """The yearly trend without the ``exclude`` years, None when fewer than 3 years remain."""
    kept = series.drop(index=[y for y in exclude if y in series.index])
    if (kept > 0).sum() < 3:
        return None
    return trends.fit_yearly_trend(series, exclude=exclude)


def summarise(results: TrendsResults) -> TrendsSummary:
    """The typed content of ``tendances.json``."""
    adjusted = results.adjusted()
    tests = results.tests()
    occ = results.occupancy
    return TrendsSummary(
        year=results.year,
        network=(
            None
            if results.network_trend is None
            else TrendRecord.of(
                results.network_trend, adjusted["tendance_reseau"], results.network_missing_share
            )
        ),
        by_dispositif={
            d: TrendRecord.of(r, adjusted[f"tendance_{d}"])
            for d, r in results.by_dispositif.items()
        },
        year_on_year=(
            None
            if results.year_on_year is None
            else YearOnYearRecord.of(results.year_on_year, adjusted["annee_reseau"])
        ),
        monthly=None if results.monthly_model is None else MonthlyRecord.of(results.monthly_model),
        monthly_by_dispositif={
            d: DispositifModels(SeriesRecord.of(per["persons"]), SeriesRecord.of(per["contacts"]))
            for d, per in results.dispositif_models.items()
        },
        yoy_by_dispositif={
            d: YearOnYearRecord.of(r, adjusted.get(f"annee_{d}"), results.truncated_yoy(d))
            for d, r in results.yoy_by_dispositif.items()
        },
        occupancy=None if occ is None else OccupancyRecord.of(occ, None),
        stl_skipped=results.stl_skipped,
        forecast=None if results.outlook is None else ForecastRecord.of(results.outlook),
        network_without_2020=(
            None
            if results.network_without_2020 is None
            else TrendRecord.of(results.network_without_2020, None, results.network_missing_share)
        ),
        network_uncorrected=(
            None
            if results.network_uncorrected is None
            else TrendRecord.of(results.network_uncorrected)
        ),
        by_dispositif_without_2020={
            d: TrendRecord.of(r) for d, r in results.by_dispositif_without_2020.items()
        },
        trend_skipped=results.trend_skipped,
        truncation=finite({d: t.record() for d, t in results.truncation.items()}),
        network_missing_share={str(y): m for y, m in results.network_missing_share.items()},
        multiplicity=MultiplicityRecord(
            method="Holm", tests=finite(tests), adjusted=finite(adjusted)
        ),
        network_named=(
            None
            if results.network_named is None
            else TrendRecord.of(results.network_named, None, results.named_missing_share)
        ),
        year_on_year_named=(
            None
            if results.year_on_year_named is None
            else YearOnYearRecord.of(results.year_on_year_named, None)
        ),
        non_calcule=dict(results.not_computed),
    )


def write_trends(results: TrendsResults, out_dir: Path) -> list[Path]:
    """Write ``tendances.json`` and every table into ``out_dir``; return the paths written."""
    out_dir = Path(out_dir)
    written = [out_dir / TRENDS_FILE]
    write_json(written[0], summarise(results).to_json())
    for name, frame in results.tables().items():
        written.append(out_dir / f"{name}.csv")
        write_csv(frame, written[-1])
    return written


def read_trends(path: Path) -> TrendsSummary:
    """``tendances.json`` as the typed contract; a file of another shape raises
    :class:`observatoire.core.errors.ContractError`."""
    return TrendsSummary.from_json(read_json_object(path), str(path))
