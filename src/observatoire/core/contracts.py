"""Helpers of the typed stage contracts: frozen dataclasses whose field names are JSON keys.

A stage declares what its JSON file holds as frozen dataclasses (``indicators.contract``,
``models.contract``); these helpers read a JSON object into such a class, checking that every
key is there and no other, and write it back unchanged, so that writing then reading gives the
same object and a file of another shape fails loudly instead of half-working.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from observatoire.core.errors import ContractError

__all__ = ["T", "check_keys", "field_names", "flat_from_json", "flat_to_json", "read_json_object"]

T = TypeVar("T")


def check_keys(data: Any, expected: Iterable[str], where: str) -> Mapping[str, Any]:
    """``data`` itself if it is a JSON object with exactly the keys ``expected``."""
    if not isinstance(data, Mapping):
        raise ContractError(f"{where} : un objet JSON est attendu, pas {type(data).__name__}.")
    expected = list(expected)
    missing = [k for k in expected if k not in data]
    unexpected = sorted(str(k) for k in data if k not in expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"clé(s) absente(s) : {', '.join(missing)}")
        if unexpected:
            parts.append(f"clé(s) inattendue(s) : {', '.join(unexpected)}")
        raise ContractError(
            f"{where} : {' ; '.join(parts)}. Relancez l'étape qui écrit ce fichier "
            "(dvc repro) ou mettez son contrat à jour."
        )
    return data


def field_names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def flat_from_json(cls: type[T], data: Any, where: str) -> T:
    """A dataclass whose fields are all plain JSON values, from the object of the same keys."""
    names = field_names(cls)
    check_keys(data, names, where)
    return cls(**{name: data[name] for name in names})


def flat_to_json(obj: Any) -> dict[str, Any]:
    """The JSON object of a dataclass whose fields are all plain JSON values (not copied)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (a stage's output)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ContractError(f"{path} : un objet JSON est attendu, pas {type(data).__name__}.")
    return data
