"""The identity index: the raw exports' identities, collected once, kept as keyed hashes only.

Collecting the identities the leak guard searches for means reading every export of every
partner again (through openpyxl: some ten seconds on the sample). The guard and each report
stage need them, so the stage ``identity_index`` collects them once
(:func:`~observatoire.guard.leaks.collect_identities`) and writes
``data_clean/index_identites.json.gz``; every later reader loads it in a fraction of a second.

Nothing in it is in clear. Every token of the vocabularies (name words and phrases, code tokens,
birth-date forms) is an HMAC-SHA256 under the project's key (the key ingest pseudonymises with)
with a purpose of the guard's own (:data:`~observatoire.guard.leaks.PURPOSES`); the values
counted in the report and the names kept for the field notes are keyed hashes too. Without the
key the file gives back no name, date or id; with it, one can only test a value one knows. The
record ids that tie one person's values together are plain numbers.

The index says what it was made from: the fingerprint of the key, the sha256 of every raw
export read, of the mappings and codes, and of the guard's code. The loader
(:func:`load_identities`) checks each against what is there now (the raw exports are small) and,
when the index is missing or stale (an export added by hand, a stage run without ``dvc repro``),
collects the identities again in memory and says why: it never certifies with a stale index,
and never writes the index itself (that is the stage's output, DVC's to manage).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.errors import ObservatoireError
from observatoire.core.storage import atomic_write_bytes, sha256_file
from observatoire.core.workers import worker_processes
from observatoire.guard.leaks import (
    BIRTH_DATE,
    CLIENT_ID,
    FIRST_NAME,
    SURNAME,
    Entry,
    Identities,
    collect_identities,
    declares_identities,
    identity_sources,
)
from observatoire.intake.mapping import PartnerMapping, load_partners

__all__ = ["FORMAT", "identities_for", "load_identities", "stage_identity_index", "write_index"]

FORMAT = 1
"""Version of the index's layout; a reader refuses (and collects again) any other."""

_VOCABULARY = {SURNAME: "names", FIRST_NAME: "names", BIRTH_DATE: "codes", CLIENT_ID: "codes"}
"""The vocabulary each kind of value is searched in."""


# --- what the index was made from -------------------------------------------------------------


def _digest(pairs: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for name, value in pairs:
        h.update(f"{name}\x1f{value}\n".encode())
    return h.hexdigest()


def _folder_digest(folder: Path, label: str) -> list[tuple[str, str]]:
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [(f"{label}/{p.relative_to(folder).as_posix()}", sha256_file(p)) for p in files]


def _params_digest(settings: Settings, root: Path) -> str:
    """The mappings and codes the identities were collected through."""
    inputs = settings.inputs
    return _digest(
        _folder_digest(root / inputs.partners_dir, "partners")
        + _folder_digest(root / inputs.codes_dir, "codes")
    )


def _code_digest() -> str:
    """The guard's code that collects and hashes (a change makes every index stale)."""
    here = Path(__file__).parent
    return _digest([(name, sha256_file(here / name)) for name in ("index.py", "leaks.py")])


def _raw_digests(raw_dir: Path, partners: dict[str, PartnerMapping]) -> dict[str, str]:
    """sha256 of each raw export the collection would read now, by path under ``raw_dir``."""
    return {rel: sha256_file(path) for path, rel, *_ in identity_sources(raw_dir, partners)}


def _key(settings: Settings, root: Path) -> tuple[bytes | None, str]:
    """The project's key, or None and why (a stage run where no key is configured)."""
    from observatoire.intake.key_fingerprint import fingerprint
    from observatoire.intake.pseudonymise import NoKey, load_key

    ing = settings.ingest
    try:
        key = load_key(root, ing.key_env, ing.key_file_env, create=False)
    except NoKey:
        return None, "aucune clé de pseudonymisation n'est configurée"
    return key, fingerprint(key)


# --- the file ---------------------------------------------------------------------------------


def _entry(value: Any) -> Entry:
    return value if isinstance(value, str) else tuple(value)


def write_index(path: Path, ids: Identities, key_fingerprint: str, params: str) -> None:
    """Write ``ids`` as the index (gzip-compressed JSON, the same bytes for the same input)."""
    owners: dict[str, list[Any]] = {kind: [] for kind in _VOCABULARY}
    for (kind, entry), records in ids.owners.items():
        owners[kind].append([entry, sorted(records)])
    data = {
        "format": FORMAT,
        "empreinte_cle": key_fingerprint,
        "exports_bruts": dict(sorted(ids.sources.items())),
        "correspondances": params,
        "code": _code_digest(),
        "exports_lus": ids.raw_files,
        "valeurs": {k: sorted(rows, key=lambda r: json.dumps(r[0])) for k, rows in owners.items()},
        "longueur_max": {"names": ids.names.longest, "codes": ids.codes.longest},
        "noms_composes": sorted(list(e) for e in ids.strong_names),
        "recherchees": {k: sorted(v) for k, v in ids.checked.items()},
        "non_verifiables": {k: sorted(v) for k, v in sorted(ids.not_checked.items())},
        "noms_cles": {k: sorted(v) for k, v in ids.name_hashes.items()},
    }
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    atomic_write_bytes(path, gzip.compress(text.encode("utf-8"), mtime=0))


def _read(path: Path) -> dict[str, Any] | str:
    """The index as written, or why it cannot be used."""
    if not path.is_file():
        return f"l'index des identités {path} est absent"
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError):
        return f"l'index des identités {path} est illisible"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return f"l'index des identités {path} est d'un autre format"
    return data


def _from_index(data: dict[str, Any], key: bytes) -> Identities:
    ids = Identities(key)
    vocabularies = {"names": ids.names, "codes": ids.codes}
    for name, vocab in vocabularies.items():
        vocab.longest = data["longueur_max"][name]
    for kind, rows in data["valeurs"].items():
        vocab = vocabularies[_VOCABULARY[kind]]
        for value, records in rows:
            entry = _entry(value)
            vocab.insert(entry, kind)
            ids.owners[(kind, entry)] = set(records)
    ids.strong_names = {tuple(e) for e in data["noms_composes"]}
    ids.checked = {k: set(v) for k, v in data["recherchees"].items()}
    ids.not_checked = {k: set(v) for k, v in data["non_verifiables"].items()}
    ids.name_hashes = {k: set(v) for k, v in data["noms_cles"].items()}
    ids.raw_files = data["exports_lus"]
    ids.sources = dict(data["exports_bruts"])
    return ids


def _stale(data: dict[str, Any], key_fingerprint: str, raw: dict[str, str], params: str) -> str:
    """Why the index does not describe the exports, mappings, key and code of now ("" if it
    does)."""
    if data.get("empreinte_cle") != key_fingerprint:
        return (
            f"l'index des identités a été construit avec une autre clé (empreinte "
            f"{data.get('empreinte_cle')}, clé configurée : {key_fingerprint})"
        )
    recorded = data.get("exports_bruts") or {}
    if recorded != raw:
        changed = sorted(
            set(recorded) ^ set(raw) | {f for f in raw if f in recorded and recorded[f] != raw[f]}
        )
        return (
            f"les exports bruts ont changé depuis la construction de l'index des identités "
            f"({len(changed)} fichier{'s' if len(changed) > 1 else ''} ajouté, retiré ou modifié)"
        )
    if data.get("correspondances") != params:
        return "les correspondances ou les codes ont changé depuis la construction de l'index"
    if data.get("code") != _code_digest():
        return "le code du garde-fou a changé depuis la construction de l'index des identités"
    return ""


# --- loading, once per process ----------------------------------------------------------------

_loaded: tuple[tuple[Any, ...], Identities] | None = None
"""The identities last loaded and what they were loaded from (a report stage checks twice)."""


def identities_for(
    settings: Settings, partners: dict[str, PartnerMapping], root: Path = Path(".")
) -> Identities:
    """The identities of the raw exports, from the index when it is fresh, else collected again
    in memory (a French line says why). Loaded once per process for the same index, exports,
    mappings and key."""
    global _loaded
    raw_dir = root / settings.inputs.raw_dir
    path = root / PATHS.identity_index
    key, fingerprint = _key(settings, root)
    raw = _raw_digests(raw_dir, partners)
    params = _params_digest(settings, root)
    stat = path.stat() if path.is_file() else None
    state = (
        str(path.resolve()),
        (stat.st_mtime_ns, stat.st_size) if stat else None,
        fingerprint,
        tuple(sorted(raw.items())),
        params,
    )
    if _loaded is not None and _loaded[0] == state:
        return _loaded[1]
    if key is None:
        why = fingerprint
    else:
        data = _read(path)
        why = data if isinstance(data, str) else _stale(data, fingerprint, raw, params)
        if not why:
            assert isinstance(data, dict)
            ids = _from_index(data, key)
            _loaded = (state, ids)
            return ids
    files = f"{len(raw)} fichier d'export" if len(raw) == 1 else f"{len(raw)} fichiers d'export"
    print(
        f"Garde-fou : {why} ; les identités sont relues dans {files} (une dizaine de "
        "secondes sur l'échantillon). Pour ne plus attendre : dvc repro (ou observatoire "
        "identity-index)."
    )
    ids = collect_identities(raw_dir, partners, key)
    _loaded = (state, ids)
    return ids


def load_identities(settings: Settings, root: Path = Path(".")) -> Identities:
    """The identity values of the raw exports (empty when no mapping declares any); ``root``
    is the project folder the settings' paths are relative to."""
    inputs = settings.inputs
    partners = load_partners(root / inputs.partners_dir, root / inputs.codes_dir, field=True)
    if not declares_identities(partners):
        return Identities()
    raw_dir = root / inputs.raw_dir
    if not raw_dir.is_dir():
        raise ObservatoireError(
            f"Garde-fou : le dossier des exports bruts {raw_dir} est introuvable ; sans lui, "
            "impossible de vérifier le rapport avant de le publier. Vérifiez inputs.raw_dir."
        )
    return identities_for(settings, partners, root)


# --- the stage --------------------------------------------------------------------------------


def stage_identity_index(settings: Settings, root: Path = Path(".")) -> None:
    """The ``identity_index`` stage: collect the raw exports' identities once, keyed."""
    from observatoire.intake.key_fingerprint import fingerprint
    from observatoire.intake.pseudonymise import load_key

    start = time.perf_counter()
    inputs = settings.inputs
    raw_dir = root / inputs.raw_dir
    if not raw_dir.is_dir():
        raise ObservatoireError(
            f"Index des identités : le dossier des exports bruts {raw_dir} est introuvable ; "
            "sans lui, impossible de savoir quelles identités chercher. Vérifiez inputs.raw_dir."
        )
    partners = load_partners(root / inputs.partners_dir, root / inputs.codes_dir, field=True)
    ing = settings.ingest
    key = load_key(root, ing.key_env, ing.key_file_env, create=False)
    declared = declares_identities(partners)
    workers = worker_processes()
    ids = collect_identities(raw_dir, partners, key, workers) if declared else Identities(key)
    path = root / PATHS.identity_index
    write_index(path, ids, fingerprint(key), _params_digest(settings, root))
    seconds = f"{time.perf_counter() - start:.1f}".replace(".", ",")
    searched = f"{sum(len(v) for v in ids.checked.values()):,}".replace(",", "\u202f")
    print(
        f"Index des identités du garde-fou : {searched} valeurs lues dans {ids.raw_files} "
        f"exports bruts, gardées en empreintes à clé (clé d'empreinte {fingerprint(key)}), "
        f"jamais en clair : {PATHS.identity_index} ({seconds} s)."
    )
