"""Typed parameters of the field records (``params/terrain.yaml``), checked once, at load.

The file has one top-level section per analysis; each lane owns its section's model in its own
module (``violence_settings.py`` for ``barometre:``, ``street_settings.py`` for
``diagnostic:``, ``relays_settings.py`` for ``relais:``) and this module only composes them. An
unknown key, a wrong type or a missing section stops the command with a French message naming
the file and the key path — never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from observatoire.config.paths import PATHS
from observatoire.config.validation import french_problems, read_params_yaml, shown
from observatoire.core.errors import ObservatoireError
from observatoire.field.relays_settings import RelaysSettings
from observatoire.field.street_settings import DiagnosticSettings
from observatoire.field.violence_settings import BarometreSettings

__all__ = ["FieldSettings", "FieldSettingsError", "field_from_mapping", "load_field"]


class FieldSettingsError(ObservatoireError, ValueError):
    """``params/terrain.yaml`` is absent, unreadable or refused."""


class FieldSettings(BaseModel):
    """Every section of ``params/terrain.yaml`` (a section may be absent: its analysis then
    says it has no parameters)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    barometre: BarometreSettings | None = None
    diagnostic: DiagnosticSettings | None = None
    relais: RelaysSettings | None = None


def field_from_mapping(data: Any, source: Path = PATHS.terrain_params) -> FieldSettings:
    if not isinstance(data, dict):
        raise FieldSettingsError(
            f"Le fichier {source} doit être un dictionnaire de paramètres (clé: valeur), pas "
            f"{shown(data)}.\n  À faire : corrigez {source} d'après le modèle commenté du dépôt."
        )
    try:
        return FieldSettings.model_validate(data)
    except ValidationError as exc:
        problems = french_problems(FieldSettings, exc, "", name_key_in_values=True)
        head = f"Paramètres des relevés de terrain refusés dans {source} :\n" + "\n".join(
            f"  - {p}" for p in problems
        )
        raise FieldSettingsError(
            f"{head}\n  À faire : corrigez {source} puis relancez la commande ; chaque clé est "
            "décrite par son commentaire dans le fichier du dépôt (voir docs/barometre.md)."
        ) from None


def load_field(path: Path = PATHS.terrain_params) -> FieldSettings:
    """Read and check ``params/terrain.yaml``."""
    path = Path(path)
    if not path.exists():
        raise FieldSettingsError(
            f"Fichier des paramètres de terrain introuvable : {path}.\n  À faire : lancez la "
            "commande depuis la racine du projet, ou créez ce fichier d'après docs/barometre.md."
        )
    data = read_params_yaml(path, FieldSettingsError, "des paramètres de terrain")
    return field_from_mapping(data, path)
