"""Reading YAML text with libyaml's parser: the values of ``yaml.safe_load``, ten times sooner.

Every stage process reads ``params/pipeline.yaml``, the partners' mappings and the code lists,
and the guard reads ``dvc.yaml``: about fifty files, 0.1 s of CPU in PyYAML's pure-Python parser
per process, 0.01 s with libyaml (``yaml.CSafeLoader``, shipped in PyYAML's wheel). Only the
parser changes: the values are built by the same safe constructor. A text libyaml refuses is
parsed again by the pure-Python parser, so the analyst is shown the error as before (line,
column and the offending line under a caret, which libyaml's marks do not carry).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["safe_load"]

_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed by libyaml when PyYAML was built with it."""
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader: libyaml's SafeLoader)
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
        return yaml.safe_load(text)  # raises the pure-Python parser's error, worded as before
