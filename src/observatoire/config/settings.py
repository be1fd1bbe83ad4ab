"""Typed settings: every section and key of ``params/pipeline.yaml``, checked once, at load.

Each section is a frozen model that refuses unknown keys (``extra="forbid"``) and wrong types
(``strict``: no silent ``"5"`` → 5); a default is stated here and nowhere else, so a stage reads
``settings.report.flows.continuing_days`` and never restates the YAML with ``.get(key, default)``.
A problem stops the command with a French message naming the file, the key path
(``report.secret_k``) and what to do — never a traceback (:class:`SettingsError` is an
:class:`~observatoire.core.errors.ObservatoireError`).

Every stage, report and notebook takes these models (or the section it needs); none reads the
params as a dict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from observatoire.config.paths import PATHS
from observatoire.config.validation import french_problems, shown
from observatoire.core import yamltext
from observatoire.core.errors import ObservatoireError

__all__ = [
    "Flows",
    "DisclosureSearch",
    "Forecast",
    "IdentityChecks",
    "IngestSettings",
    "InputsSettings",
    "LinkageImputationsSettings",
    "LinkageSettings",
    "LinkageTargets",
    "LongTerm",
    "MapsSettings",
    "NoiseSettings",
    "PlantedSettings",
    "ReadLimits",
    "Reference",
    "ReportSettings",
    "Returns",
    "SampleSettings",
    "Settings",
    "SettingsError",
    "StreetWork",
    "Typology",
    "ValidationSettings",
    "YouthSettings",
    "load_settings",
    "project_relative",
    "validate_section",
]

# YAML gives lists and strings: these types accept them (the model is strict otherwise).
PathValue = Annotated[Path, Strict(False)]
Floats = Annotated[tuple[float, ...], Strict(False)]
Ints = Annotated[tuple[int, ...], Strict(False)]
FloatPair = Annotated[tuple[float, float], Strict(False)]
IntPair = Annotated[tuple[int, int], Strict(False)]
Share = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[int, Field(gt=0)]
NonNegative = Annotated[int, Field(ge=0)]
COLOUR = r"^#[0-9A-Fa-f]{6}$"
MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
Colour = Annotated[str, Field(pattern=COLOUR)]
MonthDay = Annotated[str, Field(pattern=MONTH_DAY)]


class SettingsError(ObservatoireError, ValueError):
    """``params/pipeline.yaml`` (or a section of it) is unreadable, incomplete or wrong.

    Also a :class:`ValueError`, which is what a wrong parameter value is.
    """


class Section(BaseModel):
    """A section of the params file: frozen, strict, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


# --- inputs, ingest, validation -----------------------------------------------------------------


class InputsSettings(Section):
    """Where the partner exports, the partner mappings and the code lists are read from."""

    raw_dir: PathValue
    partners_dir: PathValue = Path("params/partners")
    codes_dir: PathValue = Path("params/codes")


def project_relative(value: Path | None) -> Path | None:
    """A path of the params that the pipeline writes to, or copies into a report: relative to
    the project, without « .. » (a value that is not stays out of every path it would build)."""
    if value is None:
        return None
    if value.is_absolute() or ".." in value.parts or str(value).startswith("~"):
        raise ValueError(
            f"« {value} » : attendu un chemin relatif au dossier du projet, sans « .. » ni "
            "chemin absolu (par ex. data_raw/quarantine)."
        )
    return value


class ReadLimits(Section):
    """Sizes a partner export may not exceed, checked before it is read (``ingest.limits``).

    A sector export is a few MB (the largest of the synthetic network at scale 1.0: 1.5 MB, some
    25,000 rows); the defaults leave a wide margin while keeping the memory of one read under
    about 2 GB (bench/hostile_sizes.py measures it). A file over a limit is refused in French,
    naming the limit, the value found and what to do; nothing of it is parsed. Raise a limit
    here only for a partner whose genuine exports need it.
    """

    max_file_mb: Annotated[float, Field(gt=0)] = 50.0
    """Size on disk of one export (CSV, TSV, XLSX, ODS)."""
    max_workbook_mb: Annotated[float, Field(gt=0)] = 200.0
    """Uncompressed size of a workbook (sum of its zip members, read from the zip directory
    before anything is decompressed): a few MB of XLSX may hold gigabytes of sheet XML."""
    max_rows: Positive = 500_000
    """Rows of one file (records of a CSV, rows of the sheet read)."""
    max_columns: Positive = 500
    """Columns of the sheet read (its ``<dimension>``) or fields of a CSV record."""
    max_cell_chars: Positive = 32_767
    """Characters of one cell: the most a spreadsheet cell can hold (Excel's own limit)."""

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    @property
    def max_workbook_bytes(self) -> int:
        return int(self.max_workbook_mb * 1_000_000)


class IngestSettings(Section):
    """Reading and pseudonymisation (stage ``ingest``); the key itself is never in the file."""

    key_env: str = "OBSERVATOIRE_CLE"
    key_file_env: str = "OBSERVATOIRE_CLE_FICHIER"
    quarantine_dir: PathValue = Path("data_raw/quarantine")
    """Written by ingest and validate: inside the project (checked again by
    :meth:`observatoire.config.paths.Paths.confined` when written)."""
    limits: ReadLimits = ReadLimits()

    @field_validator("quarantine_dir")
    @classmethod
    def _inside_project(cls, value: Path) -> Path:
        return project_relative(value)


class ValidationSettings(Section):
    """Stage ``validate``: the run stops if a table sets aside more than this share of rows."""

    max_quarantine_share: Share = 0.05
    occupancy_tolerance: Share = 0.10
    """Aggregate returns: beds occupied may exceed the beds available by this share (a bed
    added for one night, a count taken at another hour) before the row is set aside."""


# --- sample -----------------------------------------------------------------------------------


class NoiseSettings(Section):
    """Target rates of identity noise per partner registration (synthetic sample)."""

    name_variant: Share
    day_month_swap: Share
    missing_birth_date: Share
    second_local_id: Share


class PlantedSettings(Section):
    """Known youth behaviour planted in the sample, that the youth study must find."""

    youth_shelter_dropout: Share = 0.0


class SampleSettings(Section):
    """The synthetic partner network (stage ``generate_sample``); ranges are checked by
    :class:`observatoire.sample.config.SampleParams`."""

    seed: int
    first_year: int
    last_year: int
    scale: float
    annual_growth: float
    youth_share: float
    planted: PlantedSettings = PlantedSettings()
    noise: NoiseSettings


# --- linkage ----------------------------------------------------------------------------------


class StreetWork(Section):
    """Initials-only records, chained among themselves only."""

    birth_year_gap: NonNegative = 1
    activity_gap_months: NonNegative = 2


class LinkageTargets(Section):
    """Quality targets of the linkage, checked on the synthetic sample only."""

    precision: Share = 0.99
    recall: Share = 0.97
    persons_gap: Share = 0.01


class IdentityChecks(Section):
    """Safeguards against identity columns that identify no one and blocking that explodes.

    A token value held by at least ``constant_share`` of a partner's records (and by at least
    ``constant_min_records`` of them) is a placeholder, not an identity: the most frequent real
    surname, first name, birth date or pair of initials stays far below a fifth of any
    partner's clients (a few per cent at most), while a software that writes one placeholder
    (« INCONNU », one hash for every name, 01/01/1900) puts it on most of them. The floor of
    records keeps a family (five children and their mother in a family shelter of thirty
    clients) from being taken for a placeholder. Such values are treated as missing for that
    partner. ``max_pairs`` caps the record pairs the blocking rules may compare: this machine
    scores about 145,000 pairs a second (bench/identity_linkage.py), so five million take under
    a minute, a network of 50,000 named records blocks
    on some 100,000, so more means a column that is constant or nearly so; the largest rules
    are then dropped, with a warning, until the cap holds.
    """

    constant_share: Annotated[float, Field(gt=0, le=1)] = 0.2
    constant_min_records: Positive = 20
    max_pairs: Annotated[float, Field(gt=0)] = 5e6


DEFAULT_SENSITIVITY = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)


class LinkageSettings(Section):
    """Parameters of the probabilistic linkage (stage ``link``)."""

    threshold: float = 0.5
    seed: int = 20240601
    deterministic_rule_recall: float = 0.8
    u_max_pairs: Annotated[float, Field(gt=0)] = 5e6
    em_max_pairs: Annotated[float, Field(gt=0)] = 2e6
    activity_window_months: Positive = 3
    street_work: StreetWork = StreetWork()
    overrides: PathValue | None = PATHS.linkage_overrides
    sensitivity_thresholds: Floats = DEFAULT_SENSITIVITY
    near_threshold: FloatPair = (0.2, 0.9)
    targets: LinkageTargets = LinkageTargets()
    identity_checks: IdentityChecks = IdentityChecks()

    @field_validator("threshold")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(
                f"linkage.threshold doit être une probabilité entre 0 et 1 (exclus) : {value}."
            )
        return value

    @field_validator("deterministic_rule_recall")
    @classmethod
    def _recall(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError(
                "linkage.deterministic_rule_recall doit être compris entre 0 (exclu) et 1 : "
                f"{value}."
            )
        return value

    @property
    def street_birth_year_gap(self) -> int:
        return self.street_work.birth_year_gap

    @property
    def street_activity_gap_months(self) -> int:
        return self.street_work.activity_gap_months

    @classmethod
    def from_params(cls, section: Any) -> LinkageSettings:
        """The ``linkage:`` section alone (a mapping, or None for every default), checked."""
        return validate_section(cls, section, "linkage")


class LinkageImputationsSettings(Section):
    """Links drawn from the match probabilities (stage ``linkage_imputations``)."""

    draws: Annotated[int, Field(ge=2)] = 20
    seed: int = 20240602
    review: PathValue | None = Path("params/linkage_review.csv")
    """Pairs of records an analyst reviewed (``record_key_l``, ``record_key_r``,
    ``meme_personne`` 0/1): the probabilities are recalibrated on them; absent, on the synthetic
    sample the truth plays the reviewer on ``review_pairs`` pairs, on real data the model's
    probabilities are drawn as they are."""
    review_pairs: Positive = 300
    level: Annotated[float, Field(gt=0, lt=1)] = 0.95


# --- report -----------------------------------------------------------------------------------


class DisclosureSearch(Section):
    """Work budget of the optimal secondary suppression (stage ``publication``), see
    :class:`observatoire.disclosure.suppression.Budget`: counted in work so that the published
    pattern is the same on every machine, whatever its load."""

    nodes: Positive = 20
    """HiGHS branch-and-bound nodes per solve (then the best protected pattern found)."""
    solves: Positive = 50
    """Solves per independent group of small cells (the first and the cut rounds)."""
    safety_net_s: Annotated[float, Field(gt=0)] = 900.0
    """Wall-clock safety net of one report's search, in seconds: a last resort that warns, keeps
    the greedy pattern of the groups not finished and records it (the pattern then depends on the
    machine); never meant to trip."""


class Forecast(Section):
    """Next winter's shelter demand (stage ``trends``)."""

    draws: Positive = 5000
    seed: int = 20250101
    min_history_months: Positive = 24


class Flows(Section):
    """New / continuing / returning persons."""

    new_lookback_days: Positive = 730
    continuing_days: Positive = 90


class LongTerm(Section):
    """Long-term stayers."""

    days: Ints = (180, 270, 365)
    window_years: Positive = 3
    active_days: Positive = 30
    count: Literal["nuits", "presence"] = "nuits"
    """What a day of the window is: a night homeless in a stay service (``nuits``, the
    definition's) or any day of presence, visits included (``presence``, the earlier measure)."""


class Returns(Section):
    """Returns after an exit to housing."""

    months: Ints = (6, 12, 24)
    grace_days: NonNegative = 14
    cohort_years: Positive = 1
    """Calendar years of exits pooled in the cohort (SPM 2: one; more for a small network)."""


class Population(Section):
    """Inhabitants of the territory the network serves, per commune: the base of the rates per
    1,000 inhabitants. ``source`` and ``year`` are printed beside every rate (Statbel publishes
    the legal population of each commune on 1 January); ``synthetic`` marks figures made up for
    the synthetic sample, which the report then says plainly."""

    source: Annotated[str, Field(min_length=1)]
    year: Annotated[int, Field(ge=1990, le=2100)]
    communes: dict[str, Positive]
    synthetic: bool = False

    @field_validator("communes")
    @classmethod
    def _some_commune(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("au moins une commune est attendue (nom : habitants)")
        return value

    @property
    def total(self) -> int:
        return sum(self.communes.values())


class ReportSettings(Section):
    """Indicators and reports: the report year, disclosure control, identity, definitions."""

    year: Annotated[int, Field(ge=1990, le=2100)]
    disclosure_threshold: Annotated[int, Field(ge=1)] = 5
    disclosure_search: DisclosureSearch = DisclosureSearch()
    """The optimal secondary suppression's work budget (deterministic: never seconds)."""
    min_persons_for_mean: Positive = 10
    organisation: str
    city: str
    title: str = "Observatoire de la précarité sociale"
    colour_primary: Colour = "#1B4F72"
    colour_secondary: Colour = "#E69F00"
    logo: PathValue | None = None
    winter_start: MonthDay = "11-01"
    winter_end: MonthDay = "03-31"
    forecast: Forecast = Forecast()
    flows: Flows = Flows()
    long_term: LongTerm = LongTerm()
    returns: Returns = Returns()
    population: Population | None = None
    """Inhabitants per commune (rates per 1,000 inhabitants); None: no rate is printed."""

    @field_validator("logo", mode="before")
    @classmethod
    def _empty_logo(cls, value: Any) -> Any:
        """``logo: ""`` means no logo, as an empty or absent key does (not the folder « . »)."""
        return None if value == "" else value

    @field_validator("logo")
    @classmethod
    def _logo_in_project(cls, value: Path | None) -> Path | None:
        """The logo is copied into every report: a file of the project, never one outside it."""
        return project_relative(value)


# --- youth ------------------------------------------------------------------------------------


class Typology(Section):
    """The youth sequences' typology: distance, costs, clustering, number of types."""

    distance: str = "om"
    substitution: str = "trate"
    indel: Annotated[float, Field(gt=0)] = 1.0
    method: str = "ward"
    k_min: Annotated[int, Field(ge=2)] = 3
    k_max: Annotated[int, Field(ge=2)] = 8
    min_type_size: Positive = 10
    bootstrap: Annotated[int, Field(ge=0)] = 100
    min_jaccard: Share = 0.75
    null_draws: Annotated[int, Field(ge=0)] = 20
    checks_max_persons: Annotated[int, Field(ge=30)] = 1000
    """Above this many young persons, the stability bootstrap and the null models run on
    subsamples of this size (TraMineR/WeightedCluster's large-data practice, see
    :mod:`observatoire.youth.robustness`); at or below it, on everyone."""
    spell_expcost: Annotated[float, Field(ge=0)] = 0.5

    @field_validator("distance")
    @classmethod
    def _distance(cls, value: str) -> str:
        if value not in ("om", "hamming"):
            raise ValueError(
                f"« youth.typology.distance » vaut « {value} » : attendu « om » "
                "(appariement optimal) ou « hamming »."
            )
        return value

    @field_validator("substitution")
    @classmethod
    def _substitution(cls, value: str) -> str:
        if value not in ("constant", "trate"):
            raise ValueError(
                f"« youth.typology.substitution » vaut « {value} » : attendu « constant » ou "
                "« trate »."
            )
        return value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if value not in ("ward", "average"):
            raise ValueError(
                f"« youth.typology.method » vaut « {value} » : attendu « ward » ou « average »."
            )
        return value

    @model_validator(mode="after")
    def _k_range(self) -> Typology:
        if self.k_min > self.k_max:
            raise ValueError(
                f"« youth.typology.k_min » ({self.k_min}) dépasse « youth.typology.k_max » "
                f"({self.k_max}) : choisissez k_min ≤ k_max."
            )
        return self


class RmstHorizons(Section):
    """Horizon τ (days) of the restricted mean survival time, per outcome."""

    abri_nuit: Positive = 90
    reseau: Positive = 365


class YouthSurvival(Section):
    """The youth study's time-to-event outcomes (see ``observatoire.youth.competing``)."""

    primary_days: Positive = 3
    rmst_days: RmstHorizons = RmstHorizons()
    n_boot: Annotated[int, Field(ge=0)] = 200


class Reference(Section):
    """A published figure set beside ours where the measure is the same."""

    jeunes: Share | None = None
    adultes: Share | None = None
    tous: Share | None = None
    source: str


class YouthSettings(Section):
    """The youth-errance study (stage ``youth``)."""

    follow_up_months: int = 24
    entry_years: Annotated[int, Field(ge=1)] = 2
    lookback_months: NonNegative = 12
    bands: dict[str, IntPair] = {"18–21 ans": (18, 21), "22–25 ans": (22, 25)}
    adults_from: int = 26
    inactive_days: Positive = 90
    new_lookback_days: Positive = 730
    continuing_days: Positive = 90
    min_base: Positive = 30
    survival: YouthSurvival = YouthSurvival()
    typology: Typology = Typology()
    references: dict[str, Reference] = {}

    @field_validator("follow_up_months")
    @classmethod
    def _whole_years(cls, value: int) -> int:
        if value < 3 or value % 12:
            raise ValueError(
                f"« youth.follow_up_months » vaut {value} : choisissez un nombre entier "
                "d'années en mois (12, 24 ou 36)."
            )
        return value

    @model_validator(mode="after")
    def _bands_follow_each_other(self) -> YouthSettings:
        if not self.bands:
            raise ValueError("« youth.bands » est vide : indiquez au moins une tranche d'âge.")
        lows = sorted(self.bands.values())
        for (_, high), (low, _) in zip(lows, lows[1:], strict=False):
            if low != high + 1:
                raise ValueError(
                    "Les tranches d'âge de « youth.bands » doivent se suivre sans trou ni "
                    f"recouvrement (reçu : {dict(self.bands)})."
                )
        if self.adults_from != self.youth_high + 1:
            raise ValueError(
                f"« youth.adults_from » vaut {self.adults_from} : attendu {self.youth_high + 1}, "
                "l'âge qui suit la dernière tranche des jeunes."
            )
        return self

    @property
    def youth_high(self) -> int:
        return max(high for _, high in self.bands.values())


# --- maps of the seasonal plans -----------------------------------------------------------------


class MapsSettings(Section):
    """The maps and the flyer of the seasonal plans (stage ``maps``, docs/cartes.md)."""

    city: PathValue = Path("params/carte/meuse-centre.geojson")
    """The commune's GeoJSON (boundary, zones, streets, river, station): see docs/cartes.md."""
    services: PathValue = Path("params/services.yaml")
    """The services directory."""
    tiles: str | None = None
    """Background tiles of the HTML map, a URL template ``https://…/{z}/{x}/{y}.png``; None
    (default): no tiles, the page loads nothing from outside."""
    tiles_attribution: str | None = None
    """The tiles' credit line, required with ``tiles`` (e.g. « © OpenStreetMap »)."""

    @model_validator(mode="after")
    def _tiles_credited(self) -> MapsSettings:
        if self.tiles is not None:
            if not self.tiles.startswith("https://") or "{z}" not in self.tiles:
                raise ValueError(
                    "« tiles » : attendu un modèle d'URL https://…/{z}/{x}/{y}.png (ou null : "
                    "pas de fond de carte)."
                )
            if not self.tiles_attribution:
                raise ValueError(
                    "« tiles_attribution » absent : un fond de carte s'imprime avec sa source "
                    "(par ex. « © les contributeurs d'OpenStreetMap »)."
                )
        return self


# --- the whole file -----------------------------------------------------------------------------


class Settings(Section):
    """Every section of ``params/pipeline.yaml``."""

    inputs: InputsSettings
    sample: SampleSettings
    ingest: IngestSettings = IngestSettings()
    validation: ValidationSettings = ValidationSettings()
    linkage: LinkageSettings = LinkageSettings()
    linkage_imputations: LinkageImputationsSettings = LinkageImputationsSettings()
    report: ReportSettings
    youth: YouthSettings = YouthSettings()
    maps: MapsSettings = MapsSettings()

    _source: Path = PrivateAttr(default=PATHS.params)

    @classmethod
    def from_mapping(cls, data: Any, source: Path = PATHS.params) -> Settings:
        """Check a parsed params file; ``source`` is the file named in error messages."""
        settings = validate_section(cls, data, "", source)
        settings._source = Path(source)
        return settings

    @property
    def source(self) -> Path:
        """The file these settings were read from."""
        return self._source


def load_settings(path: Path = PATHS.params) -> Settings:
    """Read and check the params file, once per command."""
    path = Path(path)
    if not path.exists():
        raise SettingsError(
            f"Fichier de paramètres introuvable : {path}. Lancez la commande depuis la racine "
            f"du projet (là où se trouve dvc.yaml)."
        )
    try:
        data = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SettingsError(f"Paramètres illisibles dans {path} : {exc}") from None
    return Settings.from_mapping(data, path)


M = TypeVar("M", bound=BaseModel)


def validate_section(model: type[M], data: Any, prefix: str, source: Path = PATHS.params) -> M:
    """Check ``data`` (a mapping; None means every default) against ``model``; a problem raises
    :class:`SettingsError` naming ``source`` and each key path under ``prefix``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        where = f"La section « {prefix} »" if prefix else "Le fichier"
        raise SettingsError(
            f"{where} de {source} doit être un dictionnaire de paramètres (clé: valeur), "
            f"pas {shown(data)}.\n  À faire : corrigez {source} (voir le modèle commenté "
            "du dépôt)."
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_message(model, exc, prefix, Path(source))) from None


# --- helpers ------------------------------------------------------------------------------------

_PATTERNS = {
    COLOUR: 'une couleur « #RRVVBB » entre guillemets (par ex. "#1B4F72")',
    MONTH_DAY: 'un jour « MM-JJ » entre guillemets (par ex. "11-01")',
}


def _message(model: type[BaseModel], exc: ValidationError, prefix: str, source: Path) -> str:
    problems = french_problems(model, exc, prefix, patterns=_PATTERNS)
    if len(problems) == 1:
        head = f"Paramètre refusé dans {source} : {problems[0]}"
    else:
        head = f"Paramètres refusés dans {source} :\n" + "\n".join(f"  - {p}" for p in problems)
    return (
        f"{head}\n  À faire : corrigez {source} puis relancez la commande ; chaque clé est "
        "décrite par son commentaire dans le fichier du dépôt."
    )
