"""Typed parameters of the violence barometer: section ``barometre:`` of ``params/terrain.yaml``.

Every block is strict and refuses unknown keys; :mod:`observatoire.field.settings` turns a
validation error into a French message naming the key path (``barometre.exposure.abri_nuit``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["BarometreSettings", "Exposure", "OpeningHours", "Theme"]

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Hour = Annotated[int, Field(ge=0, le=23)]
Exposure = Literal["nights", "contacts"]
"""The denominator of a service's incident rate: occupied nights (shelters, from the stays of
``contacts.parquet``) or recorded contacts (day services, street work)."""


class Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class OpeningHours(Block):
    """Opening hours in whole hours; ``opens > closes`` for a night service (20 h – 8 h),
    ``opens == closes`` for a service open day and night (a residence)."""

    opens: Hour
    closes: Hour
    closing_at: Hour | None = None
    """The hour of the closing moment the window precedes, when it is not ``closes``: the
    doors of a night shelter open 20 h – 8 h close at 22 h, a residence's curfew."""
    closing_window: Annotated[int, Field(ge=1, le=6)] = 1
    """The hours before the closing moment that form the window (1: the hour ending at it)."""

    @model_validator(mode="after")
    def _window_inside(self) -> OpeningHours:
        if self.closing_window >= len(self.open_hours()):
            raise ValueError("« closing_window » couvre toutes les heures d'ouverture.")
        if not set(self.closing_hours()) <= set(self.open_hours()):
            raise ValueError("la fenêtre de fermeture sort des heures d'ouverture.")
        return self

    def open_hours(self) -> list[int]:
        """The hours (0–23, the hour starting at h) the service is open, in opening order."""
        span = (self.closes - self.opens) % 24 or 24
        return [(self.opens + i) % 24 for i in range(span)]

    def closing_hours(self) -> list[int]:
        """The ``closing_window`` hours before the closing moment (21 for doors closing at 22 h)."""
        end = self.closes if self.closing_at is None else self.closing_at
        return [(end - i) % 24 for i in range(self.closing_window, 0, -1)]

    @property
    def overnight(self) -> bool:
        return self.opens > self.closes


class Theme(Block):
    """One code of the testimonies' codebook."""

    label: Annotated[str, Field(min_length=1)]
    definition: Annotated[str, Field(min_length=1)]
    keywords: list[Annotated[str, Field(min_length=2)]] = []
    """Indicative keywords, matched at the start of a word, accents and case ignored."""


class BarometreSettings(Block):
    """The section ``barometre:``."""

    exposure: dict[Slug, Exposure]
    opening_hours: dict[Slug, OpeningHours] = {}
    exclusion_days: Annotated[int, Field(ge=0, le=90)] = 7
    """An exclusion is linked to an incident of the same service at most this many days before
    the exit (0: the same day)."""
    refusal_min_nights: Annotated[int, Field(ge=1, le=180)] = 20
    """Nights needed on each side of a refusal-night comparison (winter nights with / without
    refusal; months holding both, for the count model): below, « non estimable »."""
    staffing: dict[Slug, dict[Slug, Annotated[int, Field(ge=1)]]]
    """Headcount per service and role: the post-stratification frame of the worker survey."""
    codebook: dict[Slug, Theme]

    @model_validator(mode="after")
    def _codebook_not_empty(self) -> BarometreSettings:
        if not self.codebook:
            raise ValueError("« codebook » est vide : décrivez au moins un thème.")
        if not self.staffing:
            raise ValueError(
                "« staffing » est vide : donnez les effectifs par service et fonction."
            )
        return self
