"""Typed parameters of the neighbourhood diagnosis: section ``diagnostic:`` of
``params/terrain.yaml``, checked once, at load.

The shared loader of ``params/terrain.yaml`` (``observatoire.field.settings``) composes each
lane's section; this module owns ``diagnostic:`` and can read it on its own
(:func:`load_diagnostic`). Like the other params files, the block refuses unknown keys and wrong
types, and a problem stops the command with a French message naming the key path
(``diagnostic.heures``) and what to do — never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from observatoire.config.paths import PATHS
from observatoire.config.validation import french_problems, read_params_yaml, shown
from observatoire.core.errors import ObservatoireError

__all__ = [
    "SECTION",
    "DiagnosticError",
    "DiagnosticSettings",
    "diagnostic_from_mapping",
    "load_diagnostic",
]

SECTION = "diagnostic"


class DiagnosticError(ObservatoireError, ValueError):
    """Section ``diagnostic:`` of ``params/terrain.yaml`` is missing or wrong."""


class DiagnosticSettings(BaseModel):
    """The neighbourhood diagnosis (stage ``street_diagnosis`` and its report).

    ``zones``: the zones of the street-work observations, in the order the reports print them
    (the names of the commune's GeoJSON ``zone`` features and of travail_rue's exports).
    ``observations_min``: the fewest observations of the report year for a zone to have its own
    document, its shading on the map and its shares printed: below it, a share of observations
    says more about the few visits than about the zone (the zone stays in the network's totals).
    ``heures``: start hours of the heat map's bands (« 9 » = 9 h to the next start), sorted;
    a band runs to the next start, the last to the first (over midnight).
    ``alpha``: level of the year-on-year tests of the codes, after the multiplicity correction.
    ``correction``: ``holm`` (family-wise error, valid under any dependence between the codes of
    one observation) or ``bh`` (Benjamini–Hochberg, false discovery rate; assumes positive
    dependence). ``jeunes_min``: fewest young persons met in a zone over both years for the
    model of their presence to estimate that zone's change (else « non estimé »).
    ``exposition``: the denominator of young people's rate, ``heures`` of presence (offset
    log(duration)) or ``observations`` (per passage, no offset).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    zones: Annotated[list[str], Field(min_length=1)] = ["Gare", "Centre-ville", "Parc", "Quais"]
    observations_min: Annotated[int, Field(ge=1, le=10_000)] = 20
    heures: Annotated[list[Annotated[int, Field(ge=0, le=23)]], Field(min_length=2)] = [
        0,
        9,
        12,
        15,
        18,
        21,
    ]
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    correction: Literal["holm", "bh"] = "holm"
    jeunes_min: Annotated[int, Field(ge=0)] = 10
    exposition: Literal["heures", "observations"] = "heures"

    @model_validator(mode="after")
    def _checks(self) -> DiagnosticSettings:
        if sorted(set(self.heures)) != list(self.heures):
            raise ValueError(
                "« heures » : des heures de début croissantes et sans doublon (par ex. "
                "[0, 9, 12, 15, 18, 21])."
            )
        if len(set(self.zones)) != len(self.zones):
            raise ValueError("« zones » : une zone est nommée deux fois.")
        return self

    def band_labels(self) -> list[str]:
        """« 9 h–12 h », …, « 21 h–0 h » (the last band runs to the first start)."""
        starts = list(self.heures)
        ends = starts[1:] + [starts[0]]
        return [f"{a} h–{b} h" for a, b in zip(starts, ends, strict=True)]

    def band_of(self, hour: int) -> int:
        """Index of the band an hour falls in (hours before the first start: the last band)."""
        index = len(self.heures) - 1
        for i, start in enumerate(self.heures):
            if hour >= start:
                index = i
        return index


def diagnostic_from_mapping(data: Any, source: Path = PATHS.terrain_params) -> DiagnosticSettings:
    """Check the parsed ``diagnostic:`` section (None: the defaults)."""
    if data is None:
        return DiagnosticSettings()
    if not isinstance(data, dict):
        raise DiagnosticError(
            f"Section « {SECTION} » de {source} : un dictionnaire (clé: valeur) est attendu, pas "
            f"{shown(data)}.\n  À faire : corrigez {source} (voir docs/diagnostic.md)."
        )
    try:
        return DiagnosticSettings.model_validate(data)
    except ValidationError as exc:
        problems = french_problems(DiagnosticSettings, exc, SECTION)
        head = (
            f"Paramètre du diagnostic communautaire refusé dans {source} : {problems[0]}"
            if len(problems) == 1
            else f"Paramètres du diagnostic communautaire refusés dans {source} :\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
        raise DiagnosticError(
            f"{head}\n  À faire : corrigez {source} puis relancez la commande ; chaque clé est "
            "décrite dans docs/diagnostic.md."
        ) from None


def load_diagnostic(path: Path | None = None) -> DiagnosticSettings:
    """Read section ``diagnostic:`` of ``params/terrain.yaml`` (absent file or section: the
    defaults, which the sample uses)."""
    path = Path(path) if path is not None else PATHS.terrain_params
    if not path.exists():
        return DiagnosticSettings()
    data = read_params_yaml(path, DiagnosticError, "des paramètres de terrain")
    if not isinstance(data, dict):
        raise DiagnosticError(f"{path} : un dictionnaire de sections est attendu.")
    return diagnostic_from_mapping(data.get(SECTION), path)
