"""The linkage's parameters, read from the ``linkage:`` section of ``params/pipeline.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatoire.core.errors import ObservatoireError

DEFAULT_SENSITIVITY = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)


@dataclass(frozen=True)
class LinkageSettings:
    """Parameters of the probabilistic linkage (see the comments in params/pipeline.yaml)."""

    threshold: float = 0.5
    seed: int = 20240601
    deterministic_rule_recall: float = 0.8
    u_max_pairs: float = 5e6
    em_max_pairs: float = 2e6
    activity_window_months: int = 3
    street_birth_year_gap: int = 1
    street_activity_gap_months: int = 2
    overrides: Path | None = Path("params/linkage_overrides.yaml")
    sensitivity_thresholds: tuple[float, ...] = DEFAULT_SENSITIVITY
    near_threshold: tuple[float, float] = (0.2, 0.9)

    @classmethod
    def from_params(cls, section: dict[str, Any] | None) -> LinkageSettings:
        """Build from the params section; unknown keys are refused (a typo must not pass)."""
        values = dict(section or {})
        values.pop("targets", None)  # read by observatoire.linkage.quality
        street = values.pop("street_work", None) or {}
        unknown = set(values) - set(cls.__dataclass_fields__)
        unknown |= {f"street_work.{k}" for k in set(street) - set(_STREET_KEYS)}
        if unknown:
            raise ObservatoireError(
                "Paramètre(s) inconnu(s) dans la section « linkage » de params/pipeline.yaml : "
                + ", ".join(sorted(unknown))
            )
        for key, field_name in _STREET_KEYS.items():
            if key in street:
                values[field_name] = int(street[key])
        if values.get("overrides"):
            values["overrides"] = Path(values["overrides"])
        if "sensitivity_thresholds" in values:
            values["sensitivity_thresholds"] = tuple(map(float, values["sensitivity_thresholds"]))
        if "near_threshold" in values:
            low, high = values["near_threshold"]
            values["near_threshold"] = (float(low), float(high))
        settings = cls(**values)
        if not 0 < settings.threshold < 1:
            raise ObservatoireError(
                f"linkage.threshold doit être une probabilité entre 0 et 1 (exclus) : "
                f"{settings.threshold}."
            )
        if not 0 < settings.deterministic_rule_recall <= 1:
            raise ObservatoireError(
                "linkage.deterministic_rule_recall doit être compris entre 0 (exclu) et 1."
            )
        return settings


_STREET_KEYS = {
    "birth_year_gap": "street_birth_year_gap",
    "activity_gap_months": "street_activity_gap_months",
}
