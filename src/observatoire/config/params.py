"""The one control panel: ``params/pipeline.yaml``, read by every stage, notebook and report.

:func:`observatoire.config.settings.load_settings` gives the typed, checked settings; this
module keeps the plain dict for the code not yet typed (reports, notebooks): the same checks
(unknown keys and wrong types are refused), the same dict as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from observatoire.config.paths import PATHS
from observatoire.config.settings import load_settings

DEFAULT_PARAMS = PATHS.params


def load_params(path: Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """The params file as a dict, checked by :class:`~observatoire.config.settings.Settings`."""
    return load_settings(path).raw
