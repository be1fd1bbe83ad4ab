"""Typed parameters of the neighbourhood relays (section ``relais:`` of ``params/terrain.yaml``).

The relays are volunteers (« habitants-relais ») paid a flat expense allowance (« défraiement
forfaitaire ») under the law of 3 July 2005 on volunteers' rights (art. 10): without proof of
expenses, the allowances a volunteer receives may not exceed a **daily** and a **yearly**
ceiling, indexed each January. Above them the whole allowance of the year may be requalified as
pay (social security and tax). The ceilings of each year of the data are parameters, with their
source, because the coordinator must be able to check them against the official text; a year of
the data without its ceilings stops the stage (a silent default would be a wrong legal figure).

Like the other params files, the section refuses unknown keys and wrong types, and a problem
stops the command with a French message naming the key path (``relais.ceilings.2024.daily``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from observatoire.config.paths import PATHS
from observatoire.config.validation import (
    french_problems,
    params_refusal,
    read_params_yaml,
    shown,
)
from observatoire.core.errors import ObservatoireError

__all__ = [
    "SECTION",
    "Ceiling",
    "RelaysError",
    "RelaysSettings",
    "load_relays_settings",
    "relays_from_mapping",
]

SECTION = "relais"
"""The top-level key of ``params/terrain.yaml`` this module owns."""

Euros = Annotated[float, Field(gt=0, le=100_000)]


class RelaysError(ObservatoireError, ValueError):
    """The ``relais:`` section of ``params/terrain.yaml`` is missing, incomplete or wrong."""


class Block(BaseModel):
    """A block of the section: frozen, strict, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Ceiling(Block):
    """The legal ceilings of one calendar year, in euros, and where they were read."""

    daily: Euros
    yearly: Euros
    source: Annotated[str, Field(min_length=10)]
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]


class RelaysSettings(Block):
    """``relais:``: the project's partner id, the ceilings per year and the warning share."""

    partner: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] = "relais_quartier"
    warning_share: Annotated[float, Field(gt=0, le=1)] = 0.9
    ceilings: dict[int, Ceiling]

    def ceiling(self, year: int, source: Path = PATHS.terrain_params) -> Ceiling:
        """The ceilings of ``year``, or a French error saying what to add."""
        if year not in self.ceilings:
            known = ", ".join(str(y) for y in sorted(self.ceilings)) or "aucune"
            raise RelaysError(
                f"Plafonds de défraiement des volontaires absents pour {year} dans {source} "
                f"(relais.ceilings ; années présentes : {known}).\n  À faire : ajoutez "
                f"« {year}: {{daily: …, yearly: …, source: …, url: … }} » avec les montants "
                "indexés de l'année (loi du 3 juillet 2005, art. 10), lus dans une source que "
                "le coordinateur peut vérifier."
            )
        return self.ceilings[year]


def relays_from_mapping(data: Any, source: Path = PATHS.terrain_params) -> RelaysSettings:
    """Check the parsed ``relais:`` section; ``source`` is the file named in error messages."""
    if not isinstance(data, dict):
        raise RelaysError(
            f"Section « {SECTION} » de {source} : un dictionnaire de paramètres (clé: valeur) "
            f"est attendu, pas {shown(data)}.\n  À faire : corrigez {source} (voir "
            "docs/relais.md)."
        )
    try:
        return RelaysSettings.model_validate(data)
    except ValidationError as exc:
        problems = french_problems(RelaysSettings, exc, SECTION)
        what = ("Paramètre des relais", "Paramètres des relais")
        raise RelaysError(params_refusal(problems, what, source, "docs/relais.md")) from None


def load_relays_settings(path: Path = PATHS.terrain_params) -> RelaysSettings:
    """Read ``params/terrain.yaml`` and check its ``relais:`` section."""
    path = Path(path)
    if not path.exists():
        raise RelaysError(
            f"Fichier des paramètres de terrain introuvable : {path}.\n  À faire : lancez la "
            "commande depuis la racine du projet."
        )
    data = read_params_yaml(path, RelaysError, "des paramètres de terrain")
    if not isinstance(data, dict) or SECTION not in data:
        raise RelaysError(
            f"Section « {SECTION}: » absente de {path}.\n  À faire : ajoutez-la (voir "
            "docs/relais.md)."
        )
    return relays_from_mapping(data[SECTION], path)
