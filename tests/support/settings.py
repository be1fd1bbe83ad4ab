"""Typed settings for tests: the project's ``params/pipeline.yaml`` with a few keys changed, checked
by :class:`observatoire.config.settings.Settings` as a stage would get them."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from observatoire.config.settings import Settings

__all__ = ["PARAMS_FILE", "project_params", "project_settings"]

ROOT = Path(__file__).resolve().parents[2]
PARAMS_FILE = ROOT / "params/pipeline.yaml"


@functools.cache
def _project_params() -> dict[str, Any]:
    return yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))


def project_params(**changes: Any) -> dict[str, Any]:
    """The project's params as a dict, with ``a__b__c=value`` set (nested keys created as
    needed; ``youth={...}`` replaces a whole section)."""
    params = copy.deepcopy(_project_params())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = params
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return params


def project_settings(**changes: Any) -> Settings:
    """:func:`project_params` checked into :class:`Settings` (named after the project file)."""
    return Settings.from_mapping(project_params(**changes), PARAMS_FILE)
