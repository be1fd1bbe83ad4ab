"""Which key the pseudonymised data were made with: a fingerprint of the key, never the key.

``fingerprint(key)`` is the first 16 hex characters of HMAC-SHA256(key, "observatoire/empreinte-
de-cle/v1"). It cannot reveal the key: HMAC-SHA256 keyed by a secret is a pseudorandom function,
so its value on a public label looks random to anyone without the key, and finding the key back
means trying keys one by one among 2^256 (the keys :func:`~observatoire.intake.pseudonymise.
load_key` accepts are drawn at random, not guessable words). Only 64 bits are kept: enough to tell
two keys apart (two keys share a fingerprint with probability 2^-64), far too few to say anything
about a 256-bit key. The label holds no ``\\x1f``, the separator of every pseudonym's input
(``purpose\\x1fvalue``): the fingerprint is the pseudonym of nothing.

Two small files, both under ``data_clean/`` (never in git):

- ``data_clean/cle_configuree.json``, written by the ``key_fingerprint`` stage, which DVC runs on
  every ``dvc repro`` (``always_changed``): the fingerprint of the key configured now. ``ingest``
  depends on it, so a changed key is a changed dependency: DVC can no longer say « up to date ».
- ``data_clean/cle_empreinte.json``, written by ``ingest`` beside its outputs: the fingerprint of
  the key its pseudonyms were made with.

The checks: ``key_fingerprint`` (and ``ingest`` run by hand) stop when the key configured is not
the key of the data present, unless the change is confirmed with ``OBSERVATOIRE_CLE_CHANGEE=1``;
every later stage (the CLI runs :func:`check_configured_key` before it) stops when a key is
configured and is not the data's. A stage that does not need the key runs without one: with no
key configured there is nothing to compare, and ``key_fingerprint`` keeps the data's fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from pathlib import Path

import yaml

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core import yamltext
from observatoire.core.errors import KeyProblem
from observatoire.core.storage import atomic_write_bytes
from observatoire.intake.pseudonymise import NoKey, load_key

__all__ = [
    "CHANGE_ENV",
    "FINGERPRINT_LABEL",
    "KeyMismatch",
    "check_configured_key",
    "fingerprint",
    "key_for_ingest",
    "read_fingerprint",
    "stage_key_fingerprint",
    "write_fingerprint",
]

FINGERPRINT_LABEL = b"observatoire/empreinte-de-cle/v1"
FINGERPRINT_HEX = 16
CHANGE_ENV = "OBSERVATOIRE_CLE_CHANGEE"
"""Set to 1 to confirm a deliberate change of key (one run)."""


class KeyMismatch(KeyProblem):
    """The key configured is not the key the pseudonymised data were made with."""


def fingerprint(key: bytes) -> str:
    """A public name for the key (see the module docstring for why it reveals nothing)."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:FINGERPRINT_HEX]


def _write(path: Path, value: str) -> None:
    """Atomically, in the bytes of ``core.storage.write_json``."""
    text = json.dumps({"empreinte": value}, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def write_fingerprint(path: Path, key: bytes) -> None:
    _write(path, fingerprint(key))


def read_fingerprint(path: Path) -> str | None:
    """The fingerprint recorded in ``path``; None when there is no such file."""
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))["empreinte"]
    except (OSError, ValueError, KeyError, TypeError):
        value = None
    if not isinstance(value, str) or len(value) != FINGERPRINT_HEX:
        raise KeyProblem(
            f"{path} est illisible (il doit contenir l'empreinte de la clé). Ne le modifiez pas "
            "à la main ; supprimez-le puis relancez l'ingestion : dvc repro -f ingest."
        )
    return value


def change_confirmed() -> bool:
    return os.environ.get(CHANGE_ENV, "").strip().lower() in {"1", "oui", "true", "yes"}


def _override_pairs(path: Path | None) -> list[tuple[str, str]]:
    """The record pairs of the analyst's linkage overrides (a lenient read, for the messages:
    ``link`` validates the file)."""
    if path is None or not path.is_file():
        return []
    try:
        data = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    pairs = []
    for section in ("forcer_liaison", "forcer_separation"):
        entries = data.get(section) if isinstance(data, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and {"a", "b"} <= set(entry):
                pairs.append((str(entry["a"]).strip().lower(), str(entry["b"]).strip().lower()))
    return pairs


def _overrides_line(settings: Settings) -> str:
    """What a change of key does to the analyst's overrides, counted on the data present."""
    path = settings.linkage.overrides
    pairs = _override_pairs(path)
    if not pairs:
        return f"  - les corrections de liaison ({path}) : aucune pour l'instant ;"
    staged = PATHS.staging / "contacts.parquet"
    try:
        import pandas as pd

        known = set(pd.read_parquet(staged, columns=["record_key"])["record_key"])
    except Exception:  # noqa: BLE001 — a message detail; no data, no count
        known = set()
    matching = sum(1 for a, b in pairs if a in known and b in known)
    counted = f" ; {matching} désignent des dossiers des données actuelles" if known else ""
    return (
        f"  - les {len(pairs)} corrections de liaison de {path}{counted} : calculées avec "
        "l'ancienne clé, elles ne désigneront plus aucun dossier et ne seront plus appliquées ;"
    )


def _consequences(settings: Settings) -> str:
    return "\n".join(
        [
            "  Une autre clé donne d'autres pseudonymes aux mêmes personnes :",
            _overrides_line(settings),
            "  - les identifiants de personnes changent : les données propres des années déjà "
            "traitées (cache DVC, copies) ne se relient plus à celles-ci, ni les cohortes de "
            "l'étude « jeunes en errance » suivies d'un rapport à l'autre ;",
            "  - la liaison est recalculée : les chiffres des années passées peuvent différer un "
            "peu de ceux déjà publiés (publications/).",
        ]
    )


def _mismatch(settings: Settings, configured: str, recorded: str, where: Path) -> KeyMismatch:
    ing = settings.ingest
    return KeyMismatch(
        f"La clé de pseudonymisation configurée (empreinte {configured}) n'est pas celle qui a "
        f"produit les données pseudonymisées de {PATHS.clean}/ (empreinte {recorded}, "
        f"{where}).\n{_consequences(settings)}\n"
        "  À faire :\n"
        "  - si la clé a changé par erreur (autre machine, variable vide ou mal copiée, autre "
        f"fichier de clé) : rétablissez la bonne clé, celle d'empreinte {recorded} (variable "
        f"{ing.key_env} ou fichier désigné par {ing.key_file_env}), puis relancez ;\n"
        "  - si le changement est voulu (clé compromise) : relancez l'ingestion en le "
        f"confirmant, {CHANGE_ENV}=1 dvc repro (ou {CHANGE_ENV}=1 dvc repro -f ingest), puis "
        "recalculez chaque pseudonyme des corrections de liaison avec "
        "`observatoire pseudonyme --partner ID`."
    )


def _announce_change(settings: Settings, previous: str, current: str) -> None:
    print(
        f"ATTENTION : changement de clé de pseudonymisation confirmé ({CHANGE_ENV}) : "
        f"empreinte {previous} → {current}. Toutes les données seront pseudonymisées à "
        f"nouveau.\n{_consequences(settings)}\n"
        "  À faire : recalculez chaque pseudonyme des corrections de liaison avec "
        "`observatoire pseudonyme --partner ID` ; l'étape link dira combien ne correspondent "
        "à aucun dossier.",
        file=sys.stderr,
    )


def _no_key_for_data(settings: Settings, recorded: str, exc: NoKey) -> KeyProblem:
    return KeyProblem(
        f"{exc}\n  Les données de {PATHS.clean}/ ont été pseudonymisées avec la clé "
        f"d'empreinte {recorded} : configurez cette clé. Pour repartir d'une nouvelle clé "
        f"(voulu) : {CHANGE_ENV}=1 dvc repro.\n{_consequences(settings)}"
    )


def stage_key_fingerprint(settings: Settings, root: Path = Path(".")) -> None:
    """The ``key_fingerprint`` stage: the configured key's fingerprint, for DVC to compare."""
    ing = settings.ingest
    recorded = read_fingerprint(PATHS.key_fingerprint)
    confirmed = change_confirmed()
    try:
        key = load_key(root, ing.key_env, ing.key_file_env, create=recorded is None or confirmed)
    except NoKey:
        # No key here, but data made with one: stages that do not need the key run on; the
        # data's fingerprint is kept so that ingest is not rerun with a new key by surprise.
        assert recorded is not None
        _write(PATHS.configured_key, recorded)
        print(
            f"Aucune clé de pseudonymisation configurée : les données gardent la leur "
            f"(empreinte {recorded}). L'ingestion, si elle doit être relancée, demandera cette "
            "clé.",
            file=sys.stderr,
        )
        return
    current = fingerprint(key)
    if recorded is not None and recorded != current:
        if not confirmed:
            raise _mismatch(settings, current, recorded, PATHS.key_fingerprint)
        _announce_change(settings, recorded, current)
    elif confirmed and recorded is not None:
        print(
            f"Attention : {CHANGE_ENV} est définie mais la clé n'a pas changé (empreinte "
            f"{current}) ; retirez cette variable, elle désactive une protection.",
            file=sys.stderr,
        )
    write_fingerprint(PATHS.configured_key, key)
    print(f"Clé de pseudonymisation : empreinte {current} ({PATHS.configured_key}).")


def key_for_ingest(settings: Settings, root: Path = Path(".")) -> bytes:
    """The key ``ingest`` pseudonymises with, refused when it is not the key expected: the
    data's (``ingest`` run by hand) or the one ``key_fingerprint`` saw (DVC has removed the
    data's fingerprint before rerunning ``ingest``)."""
    ing = settings.ingest
    where = PATHS.key_fingerprint
    expected = read_fingerprint(where)
    if expected is None:
        where = PATHS.configured_key
        expected = read_fingerprint(where)
    confirmed = change_confirmed()
    try:
        key = load_key(root, ing.key_env, ing.key_file_env, create=expected is None or confirmed)
    except NoKey as exc:
        assert expected is not None
        raise _no_key_for_data(settings, expected, exc) from None
    current = fingerprint(key)
    if expected is not None and expected != current:
        if not confirmed:
            raise _mismatch(settings, current, expected, where)
        _announce_change(settings, expected, current)
    return key


def check_configured_key(settings: Settings, root: Path = Path(".")) -> None:
    """For every stage after ``ingest``: the key configured, if any, is the data's."""
    recorded = read_fingerprint(PATHS.key_fingerprint)
    if recorded is None:
        return
    ing = settings.ingest
    try:
        key = load_key(root, ing.key_env, ing.key_file_env, create=False)
    except NoKey:
        return  # this stage does not need the key; nothing to compare
    current = fingerprint(key)
    if current != recorded:
        raise _mismatch(settings, current, recorded, PATHS.key_fingerprint)
