"""The analyst's corrections, applied on every rerun: force two records together or apart.

A partner says « our clients 1187 and 2203 are the same person », or « you merged two of our
clients ». The analyst writes the pair into ``params/linkage_overrides.yaml`` as the records'
pseudonymous keys (``observatoire pseudonyme --partner abri_nuit`` computes the key of a local
id with the secret key, without writing the id anywhere). Because the file lives in params and
is a dependency of the ``link`` stage, the correction survives every ``dvc repro``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from observatoire.core import yamltext
from observatoire.core.errors import ObservatoireError
from observatoire.intake.pseudonymise import Pseudonymiser

__all__ = [
    "SECTIONS",
    "Override",
    "Overrides",
    "OverridesApplied",
    "OverridesError",
    "load_overrides",
    "record_key_of",
]

_KEY = re.compile(r"^[0-9a-f]{32}$")
SECTIONS = {"forcer_liaison": "together", "forcer_separation": "apart"}


class OverridesError(ObservatoireError):
    """The overrides file is malformed."""


@dataclass(frozen=True)
class Override:
    a: str
    b: str
    reason: str


@dataclass(frozen=True)
class Overrides:
    together: tuple[Override, ...] = ()
    apart: tuple[Override, ...] = ()
    source: str = ""

    def __len__(self) -> int:
        return len(self.together) + len(self.apart)


@dataclass
class OverridesApplied:
    """What became of the overrides in one run (for the metrics)."""

    together_applied: int = 0
    apart_applied: int = 0
    unknown_records: list[str] = field(default_factory=list)


def record_key_of(partner_id: str, local_id: str, pseudo: Pseudonymiser) -> str:
    """The pseudonymous key ingest gives to a partner's local id (same normalisation)."""
    return pseudo.token("record", f"{partner_id}:{str(local_id).strip().upper()}")


def _pairs(entries: Any, section: str, path: Path) -> tuple[Override, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise OverridesError(f"{path} : « {section} » doit être une liste de paires.")
    out = []
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not {"a", "b"} <= set(entry):
            raise OverridesError(
                f"{path} : entrée n° {i} de « {section} » : il faut les clés « a » et « b » "
                "(les pseudonymes des deux dossiers) et, de préférence, « motif »."
            )
        a, b = str(entry["a"]).strip().lower(), str(entry["b"]).strip().lower()
        for key in (a, b):
            if not _KEY.match(key):
                raise OverridesError(
                    f"{path} : entrée n° {i} de « {section} » : « {key} » n'est pas un pseudonyme "
                    "de dossier (32 caractères 0-9a-f). Calculez-le avec "
                    "`observatoire pseudonyme --partner ID`."
                )
        if a == b:
            raise OverridesError(f"{path} : entrée n° {i} de « {section} » : a et b identiques.")
        out.append(Override(a, b, str(entry.get("motif", ""))))
    return tuple(out)


def load_overrides(path: Path | None) -> Overrides:
    """Read the overrides file; a missing file means no override."""
    if path is None or not path.exists():
        return Overrides()
    try:
        data = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise OverridesError(f"{path} illisible : {exc}") from None
    if not isinstance(data, dict):
        raise OverridesError(
            f"{path} : le fichier doit contenir les sections {', '.join(SECTIONS)}."
        )
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise OverridesError(
            f"{path} : section(s) inconnue(s) {', '.join(sorted(unknown))} ; attendues : "
            + ", ".join(SECTIONS)
        )
    together = _pairs(data.get("forcer_liaison"), "forcer_liaison", path)
    apart = _pairs(data.get("forcer_separation"), "forcer_separation", path)
    clash = {frozenset((o.a, o.b)) for o in together} & {frozenset((o.a, o.b)) for o in apart}
    if clash:
        raise OverridesError(
            f"{path} : {len(clash)} paire(s) à la fois dans forcer_liaison et forcer_separation."
        )
    return Overrides(together, apart, str(path))
