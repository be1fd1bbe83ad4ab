"""The one control panel: ``params/pipeline.yaml``, read by every stage, notebook and report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from observatoire.core.errors import ObservatoireError

DEFAULT_PARAMS = Path("params/pipeline.yaml")


def load_params(path: Path = DEFAULT_PARAMS) -> dict[str, Any]:
    if not path.exists():
        raise ObservatoireError(
            f"Fichier de paramètres introuvable : {path}. Lancez la commande depuis la racine "
            f"du projet (là où se trouve dvc.yaml)."
        )
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ObservatoireError(f"Paramètres illisibles dans {path} : {exc}") from None
    for section in ("inputs", "sample", "ingest", "validation", "report"):
        if section not in params:
            raise ObservatoireError(f"Section « {section} » absente de {path}.")
    return params
