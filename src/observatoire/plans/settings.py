"""Typed parameters of the seasonal plans (``params/plans.yaml``), checked once, at load.

A plan is a period of the year (the winter of report year Y runs from Y−1 into Y, the summer
lies within Y), a list of phases (the first is the default phase of the period, each other one
has a trigger read from the weather) and, per service and phase, the extra beds and the
opening hours, possibly limited to dates. Like ``params/pipeline.yaml``
(:mod:`observatoire.config.settings`), every block refuses unknown keys and wrong types, and a
problem stops the command with a French message naming the file, the key path
(``plans.grand_froid.phases[1].trigger.tmin_below``) and what to do — never a traceback.

The phase rule itself (when a triggered phase starts and ends) is in
:mod:`observatoire.plans.phases`.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
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
    "ALERTS",
    "Period",
    "Phase",
    "Plan",
    "Plans",
    "PlansError",
    "ServiceRule",
    "Targets",
    "Trigger",
    "load_plans",
    "plans_from_mapping",
]

ALERTS: dict[str, str] = {
    "froid": "alerte froid (avertissement officiel de froid extrême)",
    "chaleur": "alerte chaleur (phase d'alerte du plan forte chaleur et pics d'ozone)",
}
"""Official alerts a phase may be triggered by; the ``alert`` column of the weather table holds
one of these codes (or "" on a day without alert)."""

MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
HOURS = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$"
SLUG = r"^[a-z][a-z0-9_]*$"
MonthDay = Annotated[str, Field(pattern=MONTH_DAY)]
Slug = Annotated[str, Field(pattern=SLUG)]
Hours = Annotated[str, Field(pattern=HOURS)]
DateValue = Annotated[date, Strict(False)]
Temperature = Annotated[float, Field(ge=-40, le=50)]

_PATTERNS = {
    MONTH_DAY: 'un jour « MM-JJ » entre guillemets (par ex. "11-15")',
    HOURS: 'des heures « HH:MM-HH:MM » entre guillemets (par ex. "18:00-10:00")',
    SLUG: "un identifiant en minuscules sans espace ni accent (lettres, chiffres, « _ »)",
}


class PlansError(ObservatoireError, ValueError):
    """``params/plans.yaml`` is unreadable, incomplete or wrong."""


class Block(BaseModel):
    """A block of the plans file: frozen, strict, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


def _day(year: int, month_day: str) -> date:
    """``MM-JJ`` of ``year``; 29 February of a common year is the 28th."""
    month, day = (int(x) for x in month_day.split("-"))
    if (month, day) == (2, 29):
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, month, day)


class Trigger(Block):
    """What puts a phase in force: a temperature held ``min_days`` consecutive days, an official
    alert, or either of them (the phase is then in force when one of the two holds).

    ``tmin_below: x`` holds on a day whose minimum temperature is at most ``x`` °C;
    ``tmax_above: x`` on a day whose maximum is at least ``x`` °C (« au plus », « au moins »:
    the thresholds of the official definitions are inclusive).
    """

    tmin_below: Temperature | None = None
    tmax_above: Temperature | None = None
    min_days: Annotated[int, Field(ge=1, le=31)] = 1
    alert: Literal["froid", "chaleur"] | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> Trigger:
        if self.tmin_below is not None and self.tmax_above is not None:
            raise ValueError(
                "un déclencheur porte sur tmin_below ou sur tmax_above, pas les deux : "
                "créez deux phases si les deux seuils comptent."
            )
        if self.tmin_below is None and self.tmax_above is None and self.alert is None:
            raise ValueError(
                "déclencheur vide : indiquez un seuil (tmin_below ou tmax_above, avec min_days) "
                "ou une alerte officielle (alert: froid ou chaleur)."
            )
        return self

    @property
    def covariate(self) -> str | None:
        """The weather column the threshold reads (``tmin``, ``tmax``) or None (alert only)."""
        if self.tmin_below is not None:
            return "tmin"
        if self.tmax_above is not None:
            return "tmax"
        return None

    def describe(self) -> str:
        """The trigger in French, for the reports (« Tmin ≤ −3 °C 2 jours de suite »)."""
        parts = []
        days = "" if self.min_days == 1 else f" {self.min_days} jours de suite"
        if self.tmin_below is not None:
            parts.append(f"température minimale ≤ {_degrees(self.tmin_below)}{days}")
        if self.tmax_above is not None:
            parts.append(f"température maximale ≥ {_degrees(self.tmax_above)}{days}")
        if self.alert is not None:
            parts.append(ALERTS[self.alert])
        return " ou ".join(parts)


def _degrees(value: float) -> str:
    text = f"{value:g}".replace("-", "−").replace(".", ",")
    return f"{text} °C"


class Phase(Block):
    """A phase of a plan: its id (used in the data), its French label and, except for the
    default phase (the first), its trigger."""

    id: Slug
    label: Annotated[str, Field(min_length=1)]
    trigger: Trigger | None = None


class Period(Block):
    """The days of the year a plan covers, ``MM-JJ`` to ``MM-JJ`` included."""

    start: MonthDay
    end: MonthDay

    @field_validator("start", "end")
    @classmethod
    def _real_day(cls, value: str) -> str:
        try:
            _day(2024, value)
        except ValueError:
            raise ValueError(f"« {value} » n'est pas un jour du calendrier.") from None
        return value


class ServiceRule(Block):
    """What a service adds during a phase: extra beds, its opening hours, between dates."""

    service: Slug
    phase: Slug
    extra_beds: Annotated[int, Field(ge=0)] = 0
    hours: Hours | None = None
    from_: Annotated[DateValue | None, Field(alias="from")] = None
    to: DateValue | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> ServiceRule:
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError(
                f"« to » ({self.to}) précède « from » ({self.from_}) : inversez les dates."
            )
        return self

    def applies_on(self, day: date) -> bool:
        """Whether the rule is in force on ``day`` (its dates, when given, included)."""
        return (self.from_ is None or day >= self.from_) and (self.to is None or day <= self.to)


class Plan(Block):
    """One seasonal plan: its period, phases and services (``id`` is its key in the file)."""

    id: Slug
    name: Annotated[str, Field(min_length=1)]
    season: Literal["hiver", "ete"]
    period: Period
    phases: Annotated[tuple[Phase, ...], Strict(False), Field(min_length=1)]
    services: Annotated[tuple[ServiceRule, ...], Strict(False)] = ()

    @model_validator(mode="after")
    def _coherent(self) -> Plan:
        start, end = self.period.start, self.period.end
        if self.season == "hiver" and start <= end:
            raise ValueError(
                f"un plan d'hiver commence une année et finit la suivante : « period » va du "
                f"{start} au {end}, attendu un début après la fin dans l'année (par ex. "
                'start: "11-15", end: "03-31") ou « season: ete ».'
            )
        if self.season == "ete" and start > end:
            raise ValueError(
                f"un plan d'été tient dans l'année : « period » va du {start} au {end}, "
                "attendu start avant end (ou « season: hiver »)."
            )
        ids = [p.id for p in self.phases]
        if len(set(ids)) != len(ids):
            raise ValueError(f"identifiants de phase en double : {', '.join(ids)}.")
        if self.phases[0].trigger is not None:
            raise ValueError(
                f"la première phase (« {ids[0]} ») est la phase par défaut de la période : "
                "retirez son « trigger » (ou ajoutez avant elle une phase sans déclencheur)."
            )
        untriggered = [p.id for p in self.phases[1:] if p.trigger is None]
        if untriggered:
            raise ValueError(
                f"phase(s) sans déclencheur après la première : {', '.join(untriggered)} ; "
                "ajoutez un « trigger » (seuil de température ou alerte)."
            )
        unknown = sorted({s.phase for s in self.services} - set(ids))
        if unknown:
            raise ValueError(
                f"« services » cite des phases inconnues de ce plan : {', '.join(unknown)} "
                f"(phases du plan : {', '.join(ids)})."
            )
        return self

    def window(self, year: int) -> tuple[date, date]:
        """The first and last day of the plan for report year ``year`` (both included): the
        winter of Y runs from Y−1 (e.g. 15 November) to Y (31 March); the summer lies in Y."""
        first_year = year - 1 if self.season == "hiver" else year
        return _day(first_year, self.period.start), _day(year, self.period.end)

    def days(self, year: int) -> list[date]:
        """Every day of the window of ``year``."""
        first, last = self.window(year)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def label(self, year: int) -> str:
        """« Plan Grand Froid 2023-2024 », « Plan Canicule 2024 »."""
        first, last = self.window(year)
        years = f"{first.year}-{last.year}" if first.year != last.year else str(last.year)
        return f"{self.name} {years}"

    def phase(self, phase_id: str) -> Phase:
        """The phase of that id (KeyError when the plan has none)."""
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise KeyError(phase_id)

    @property
    def default_phase(self) -> Phase:
        return self.phases[0]

    def services_on(self, day: date, phase_id: str) -> list[ServiceRule]:
        """The service rules in force on ``day`` when the plan is in phase ``phase_id``."""
        return [s for s in self.services if s.phase == phase_id and s.applies_on(day)]

    def extra_beds(self, service: str, day: date, phase_id: str) -> int:
        """Extra beds ``service`` opens on ``day`` in phase ``phase_id`` (0 when none)."""
        return sum(s.extra_beds for s in self.services_on(day, phase_id) if s.service == service)


class Targets(Block):
    """Targets of the preparation note."""

    refusal_night_share: Annotated[float, Field(gt=0, lt=1)] = 0.10
    """The expected share of nights with at least one refusal the beds needed keep under."""


class Plans(Block):
    """Every block of ``params/plans.yaml``."""

    station: Annotated[str, Field(min_length=1)]
    """The weather station whose series the plans read (Uccle is 6447 in KMI/IRM data)."""
    plans: dict[Slug, Plan]
    targets: Targets = Targets()

    @model_validator(mode="before")
    @classmethod
    def _ids_from_keys(cls, data: Any) -> Any:
        """Each plan's ``id`` is its key (a written ``id`` must agree)."""
        if isinstance(data, dict) and isinstance(data.get("plans"), dict):
            plans = {}
            for key, plan in data["plans"].items():
                if isinstance(plan, dict) and "id" not in plan:
                    plan = {"id": key, **plan}
                plans[key] = plan
            data = {**data, "plans": plans}
        return data

    @field_validator("station", mode="before")
    @classmethod
    def _station_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _keys_are_ids(self) -> Plans:
        wrong = [k for k, p in self.plans.items() if p.id != k]
        if wrong:
            raise ValueError(
                f"« id » d'un plan différent de sa clé : {', '.join(wrong)} ; retirez « id »."
            )
        if not self.plans:
            raise ValueError("« plans » est vide : décrivez au moins un plan.")
        return self

    def of_season(self, season: str) -> list[Plan]:
        """The plans of a season (``hiver``, ``ete``), in file order."""
        return [p for p in self.plans.values() if p.season == season]


def plans_from_mapping(data: Any, source: Path = PATHS.plans_params) -> Plans:
    """Check a parsed plans file; ``source`` is the file named in error messages."""
    if not isinstance(data, dict):
        raise PlansError(
            f"Le fichier {source} doit être un dictionnaire de paramètres (clé: valeur), pas "
            f"{shown(data)}.\n  À faire : corrigez {source} (voir le modèle commenté du dépôt, "
            "params/plans.yaml)."
        )
    try:
        return Plans.model_validate(data)
    except ValidationError as exc:
        problems = french_problems(Plans, exc, "", patterns=_PATTERNS, name_key_in_values=True)
        if len(problems) == 1:
            head = f"Paramètre des plans saisonniers refusé dans {source} : {problems[0]}"
        else:
            head = f"Paramètres des plans saisonniers refusés dans {source} :\n" + "\n".join(
                f"  - {p}" for p in problems
            )
        raise PlansError(
            f"{head}\n  À faire : corrigez {source} puis relancez la commande ; chaque clé est "
            "décrite par son commentaire dans le fichier du dépôt (voir docs/plans-saisonniers.md)."
        ) from None


def load_plans(path: Path = PATHS.plans_params) -> Plans:
    """Read and check the plans file, once per command."""
    path = Path(path)
    if not path.exists():
        raise PlansError(
            f"Fichier des plans saisonniers introuvable : {path}.\n  À faire : lancez la commande "
            "depuis la racine du projet, ou créez ce fichier d'après docs/plans-saisonniers.md."
        )
    try:
        data = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PlansError(
            f"Fichier des plans saisonniers illisible ({path}) : {exc}\n  À faire : corrigez la "
            "syntaxe YAML (indentation, deux-points, guillemets) puis relancez."
        ) from None
    return plans_from_mapping(data, path)
