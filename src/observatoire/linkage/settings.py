"""The linkage's parameters: the ``linkage:`` section of ``params/pipeline.yaml``.

The model, its defaults and its checks live with every other section in
:mod:`observatoire.config.settings`; the linkage modules import it from here.
"""

from __future__ import annotations

from observatoire.config.settings import (
    DEFAULT_SENSITIVITY,
    IdentityChecks,
    LinkageSettings,
    LinkageTargets,
)

__all__ = ["DEFAULT_SENSITIVITY", "IdentityChecks", "LinkageSettings", "LinkageTargets"]
