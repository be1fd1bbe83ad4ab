"""The services directory (``params/services.yaml``): where a person in the street finds help.

Why a directory in the params: the maps and the flyer the network hands out during the seasonal
plans print, for each service, its address, its phone, who is welcome and its opening hours *in
the phase of the plan* (a night shelter that opens earlier in « grand froid », a cooled room
opened only in « canicule »). The analyst keeps it up to date; it is checked on load like every
params file (strict, unknown keys refused, French errors naming the key path), so a typo in an
hour key or a latitude swapped with a longitude stops the run instead of printing a wrong map.

Hours are looked up per plan phase: ``hours`` holds ``normal`` (the usual hours, also those of
a plan's phase unless it has its own) and, for a phase of a plan, either the phase id
(``grand_froid``) or ``<plan>.<phase>`` when two plans share a phase id (``canicule.veille``).
The hours a plan sets for a service in a phase (``params/plans.yaml``, ``services[].hours``) are
that phase's hours and are not restated here: one place per fact, so the map and the bilan never
disagree. A service without ``normal`` hours is open only in the phases that give it hours (a
plan-only service); ``dates`` narrows it to a part of the year (``{from: "12-01", to:
"03-15"}``, every year).
The phase ids themselves are checked against ``params/plans.yaml`` by the maps stage
(:func:`observatoire.reports.maps.directory.check_against_plans`), which knows the plans.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from observatoire.config.validation import french_problems, shown
from observatoire.core import yamltext
from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.errors import ObservatoireError
from observatoire.core.formatting import MOIS_ABREGES

__all__ = [
    "BELGIUM_BOUNDS",
    "NORMAL",
    "WELCOME",
    "WELCOME_LABELS",
    "Dates",
    "Service",
    "ServicesDirectory",
    "ServicesError",
    "load_services",
]

NORMAL = "normal"
"""The hours key of the usual hours (outside any plan phase that has its own)."""

Welcome = Literal["hommes", "femmes", "familles", "animaux", "jeunes"]
WELCOME: tuple[str, ...] = ("hommes", "femmes", "familles", "animaux", "jeunes")
WELCOME_LABELS: dict[str, str] = {
    "hommes": "Hommes",
    "femmes": "Femmes",
    "familles": "Familles avec enfants",
    "animaux": "Animaux acceptés",
    "jeunes": "Jeunes (18–25 ans)",
}

BELGIUM_BOUNDS = {"lat": (49.49, 51.51), "lon": (2.54, 6.41)}
"""A generous box around Belgium (WGS84 degrees): a point outside is a typo, most often a
latitude and a longitude swapped."""

MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
HOURS_KEY = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"
PHONE = r"^\+?[0-9]([0-9 ./-]*[0-9])+$"
ID = r"^[a-z][a-z0-9_]*$"
_PATTERNS = {
    MONTH_DAY: 'un jour « MM-JJ » entre guillemets (par ex. "12-01")',
    PHONE: 'un numéro de téléphone (chiffres, espaces, points ou barres ; par ex. "081 00 00 00")',
    ID: "un identifiant en minuscules, chiffres et « _ » (par ex. abri_nuit)",
}
Text = Annotated[str, Field(min_length=1)]


class ServicesError(ObservatoireError, ValueError):
    """``params/services.yaml`` is unreadable or wrong."""


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


class Dates(_Block):
    """Part of the year a service opens (every year), day-month bounds inclusive; a ``from``
    after ``to`` spans the new year (``12-01`` → ``03-15``)."""

    from_: Annotated[str, Field(alias="from", pattern=MONTH_DAY)]
    to: Annotated[str, Field(pattern=MONTH_DAY)]

    def covers(self, day: date) -> bool:
        md = f"{day.month:02d}-{day.day:02d}"
        if self.from_ <= self.to:
            return self.from_ <= md <= self.to
        return md >= self.from_ or md <= self.to

    def text(self) -> str:
        def fr(md: str) -> str:
            month, d = (int(x) for x in md.split("-"))
            return f"{'1er' if d == 1 else d} {MOIS_ABREGES[month - 1]}"

        return f"du {fr(self.from_)} au {fr(self.to)}"


class Service(_Block):
    """One service of the directory."""

    id: Annotated[str, Field(pattern=ID)]
    name: Text
    dispositif: str
    partner: Annotated[str, Field(pattern=ID)] | None = None
    address: Text
    lat: Annotated[float, Strict(False)]
    lon: Annotated[float, Strict(False)]
    phone: Annotated[str, Field(pattern=PHONE)]
    hours: dict[Annotated[str, Field(pattern=HOURS_KEY)], Text] = {}
    welcome: Annotated[tuple[Welcome, ...], Strict(False), Field(min_length=1)]
    dates: Dates | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Service:
        if self.dispositif not in DISPOSITIFS:
            raise ValueError(
                f"dispositif « {self.dispositif} » inconnu (dispositifs admis : "
                f"{', '.join(DISPOSITIFS)})."
            )
        lat_lo, lat_hi = BELGIUM_BOUNDS["lat"]
        lon_lo, lon_hi = BELGIUM_BOUNDS["lon"]
        if not (lat_lo <= self.lat <= lat_hi and lon_lo <= self.lon <= lon_hi):
            swapped = lat_lo <= self.lon <= lat_hi and lon_lo <= self.lat <= lon_hi
            hint = " (latitude et longitude inversées ?)" if swapped else ""
            raise ValueError(
                f"coordonnées lat={self.lat}, lon={self.lon} hors de Belgique{hint} : attendu "
                f"une latitude entre {lat_lo} et {lat_hi} et une longitude entre {lon_lo} et "
                f"{lon_hi} (degrés décimaux WGS84, par ex. lat: 50.4669, lon: 4.8675)."
            )
        if len(set(self.welcome)) != len(self.welcome):
            raise ValueError("« welcome » cite deux fois le même public.")
        return self

    @property
    def plan_only(self) -> bool:
        """Open only in some plan phases (no usual hours)."""
        return NORMAL not in self.hours

    def hours_in(self, plan: str, phase: str) -> str | None:
        """Opening hours in ``phase`` of ``plan`` (None: closed then): ``<plan>.<phase>``,
        then ``<phase>``, then the usual hours."""
        for key in (f"{plan}.{phase}", phase):
            if key in self.hours:
                return self.hours[key]
        return self.hours.get(NORMAL)

    def open_on(self, day: date) -> bool:
        return self.dates is None or self.dates.covers(day)


class ServicesDirectory(_Block):
    """Every service of ``params/services.yaml``, ids unique."""

    services: Annotated[tuple[Service, ...], Strict(False), Field(min_length=1)]
    emergency: Annotated[tuple[EmergencyNumber, ...], Strict(False)] = ()

    @model_validator(mode="after")
    def _unique(self) -> ServicesDirectory:
        seen: set[str] = set()
        for s in self.services:
            if s.id in seen:
                raise ValueError(f"deux services portent l'identifiant « {s.id} ».")
            seen.add(s.id)
        return self

    def get(self, service_id: str) -> Service:
        for s in self.services:
            if s.id == service_id:
                return s
        raise KeyError(service_id)


class EmergencyNumber(_Block):
    """A phone number printed on the flyer (« Urgences : 112 »)."""

    label: Text
    number: Annotated[str, Field(pattern=PHONE)]
    note: str | None = None


ServicesDirectory.model_rebuild()


def load_services(path: Path) -> ServicesDirectory:
    """Read and check the services directory; a problem raises :class:`ServicesError` in
    French, naming the file and each key path."""
    path = Path(path)
    if not path.exists():
        raise ServicesError(
            f"Répertoire des services introuvable : {path}. À faire : créez-le sur le modèle "
            "de params/services.yaml du dépôt (voir docs/cartes.md)."
        )
    try:
        data: Any = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ServicesError(f"Répertoire des services illisible ({path}) : {exc}") from None
    if not isinstance(data, dict):
        raise ServicesError(
            f"{path} doit être un dictionnaire (clé: valeur) avec une clé « services », "
            f"pas {shown(data)}."
        )
    try:
        return ServicesDirectory.model_validate(data)
    except ValidationError as exc:
        problems = french_problems(
            ServicesDirectory, exc, patterns=_PATTERNS, name_key_in_values=True
        )
        head = (
            f"Répertoire des services refusé ({path}) : {problems[0]}"
            if len(problems) == 1
            else f"Répertoire des services refusé ({path}) :\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
        raise ServicesError(
            f"{head}\n  À faire : corrigez {path} puis relancez (voir docs/cartes.md)."
        ) from None
