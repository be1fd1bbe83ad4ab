"""Parameters of the synthetic sample, read from the ``sample:`` section of params/pipeline.yaml.

Validation happens here, once, with errors in French for the analyst: every other module of the
package receives a typed, checked :class:`SampleParams` and never reads raw mappings.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["NoiseRates", "SampleParams", "stream"]


@dataclass(frozen=True)
class NoiseRates:
    """Target rates of identity noise, per partner registration (see params/pipeline.yaml)."""

    name_variant: float
    day_month_swap: float
    missing_birth_date: float
    second_local_id: float


@dataclass(frozen=True)
class SampleParams:
    """Checked parameters of one synthetic network (deterministic from ``seed``)."""

    seed: int
    first_year: int
    last_year: int
    scale: float
    annual_growth: float
    youth_share: float
    noise: NoiseRates
    planted_youth_shelter_dropout: float = 0.0
    """Share of young newcomers given a planted trajectory (see :mod:`sample.planted`)."""

    @property
    def years(self) -> list[int]:
        """The exported years, first to last."""
        return list(range(self.first_year, self.last_year + 1))

    @classmethod
    def from_mapping(cls, sample: Mapping[str, Any]) -> SampleParams:
        """Build and check the parameters; a wrong value stops with a message saying what to fix."""
        if not isinstance(sample, Mapping):
            raise ValueError(
                "La section « sample » de params/pipeline.yaml doit être un dictionnaire "
                "de paramètres."
            )
        required = ("seed", "first_year", "last_year", "scale", "annual_growth", "youth_share")
        missing = [key for key in (*required, "noise") if key not in sample]
        if missing:
            raise ValueError(
                "Paramètres manquants dans la section « sample » de params/pipeline.yaml : "
                + ", ".join(missing)
                + "."
            )
        noise_map = sample["noise"]
        noise_keys = ("name_variant", "day_month_swap", "missing_birth_date", "second_local_id")
        missing_noise = [key for key in noise_keys if key not in (noise_map or {})]
        if missing_noise:
            raise ValueError(
                "Paramètres manquants dans « sample.noise » de params/pipeline.yaml : "
                + ", ".join(missing_noise)
                + "."
            )
        params = cls(
            seed=int(sample["seed"]),
            first_year=int(sample["first_year"]),
            last_year=int(sample["last_year"]),
            scale=float(sample["scale"]),
            annual_growth=float(sample["annual_growth"]),
            youth_share=float(sample["youth_share"]),
            noise=NoiseRates(**{key: float(noise_map[key]) for key in noise_keys}),
            planted_youth_shelter_dropout=float(
                (sample.get("planted") or {}).get("youth_shelter_dropout", 0.0)
            ),
        )
        params._check()
        return params

    def _check(self) -> None:
        if not 1990 <= self.first_year <= self.last_year <= 2100:
            raise ValueError(
                f"Années invalides dans « sample » : first_year={self.first_year}, "
                f"last_year={self.last_year}. Il faut 1990 ≤ first_year ≤ last_year ≤ 2100."
            )
        if not 0.01 <= self.scale <= 20:
            raise ValueError(
                f"« sample.scale » vaut {self.scale} : choisissez une échelle entre 0,01 et 20 "
                "(1,0 ≈ 2 000 personnes distinctes par an)."
            )
        if not -0.5 < self.annual_growth < 1:
            raise ValueError(
                f"« sample.annual_growth » vaut {self.annual_growth} : attendu entre -0,5 et 1 "
                "(par ex. 0,06 pour +6 % par an)."
            )
        if not 0 <= self.youth_share <= 0.9:
            raise ValueError(
                f"« sample.youth_share » vaut {self.youth_share} : attendu entre 0 et 0,9."
            )
        if not 0 <= self.planted_youth_shelter_dropout <= 0.8:
            raise ValueError(
                "« sample.planted.youth_shelter_dropout » vaut "
                f"{self.planted_youth_shelter_dropout} : attendu entre 0 et 0,8."
            )
        for key, value in vars(self.noise).items():
            if not 0 <= value <= 0.5:
                raise ValueError(
                    f"« sample.noise.{key} » vaut {value} : un taux de bruit doit être "
                    "entre 0 et 0,5."
                )


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per component, so that changing one part of the simulation
    (say, street-work zones) does not reshuffle every other table."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
