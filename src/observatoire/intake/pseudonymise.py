"""Pseudonymisation with a secret key (HMAC-SHA256), the only way identities leave ingest.

An unkeyed hash of a name or a birth date can be reversed with a dictionary of names and dates;
a keyed hash cannot without the key. The key (≥ 256 bits) lives outside the repository and every
data folder: in the environment variable named in params (``OBSERVATOIRE_CLE``, hex) or in a key
file whose path is given by ``OBSERVATOIRE_CLE_FICHIER`` (default
``~/.config/observatoire/cle-pseudonymisation``). Same key, same value → same pseudonym, across
runs and years; rotating the key breaks every link with earlier pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from observatoire.core.errors import KeyProblem

__all__ = ["DEFAULT_KEY_FILE", "KEY_BYTES", "TOKEN_HEX", "Pseudonymiser", "load_key"]

KEY_BYTES = 32
DEFAULT_KEY_FILE = Path("~/.config/observatoire/cle-pseudonymisation")
TOKEN_HEX = 32  # 128 bits of the HMAC: collisions are negligible at any network's scale


def _parse_key(text: str, origin: str) -> bytes:
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyProblem(
            f"La clé de pseudonymisation ({origin}) n'est pas en hexadécimal. "
            f"Elle doit compter au moins {KEY_BYTES * 2} caractères 0-9a-f."
        ) from None
    if len(key) < KEY_BYTES:
        raise KeyProblem(
            f"La clé de pseudonymisation ({origin}) est trop courte : {len(key) * 8} bits, "
            f"il en faut au moins {KEY_BYTES * 8}."
        )
    return key


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def load_key(
    project_root: Path,
    key_env: str = "OBSERVATOIRE_CLE",
    key_file_env: str = "OBSERVATOIRE_CLE_FICHIER",
    create: bool = True,
) -> bytes:
    """Return the secret key; on a first run with none, create a key file and say so."""
    if os.environ.get(key_env):
        return _parse_key(os.environ[key_env], f"variable {key_env}")
    path = Path(os.environ.get(key_file_env) or DEFAULT_KEY_FILE).expanduser()
    if _inside(path, project_root):
        raise KeyProblem(
            f"Le fichier de clé {path} est dans le dépôt du projet : il pourrait finir dans git "
            f"ou dans les données. Placez-le ailleurs (variable {key_file_env})."
        )
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            print(
                f"Attention : le fichier de clé {path} est lisible par d'autres utilisateurs "
                f"(droits {oct(mode)}). Corrigez avec : chmod 600 {path}",
                file=sys.stderr,
            )
        return _parse_key(path.read_text(encoding="ascii"), f"fichier {path}")
    if not create:
        raise KeyProblem(
            f"Aucune clé de pseudonymisation : ni variable {key_env}, ni fichier {path}."
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(KEY_BYTES) + "\n")
    print(
        f"Nouvelle clé de pseudonymisation créée : {path} (lisible par vous seul·e).\n"
        f"  Sauvegardez-la en lieu sûr, hors du dépôt : sans elle, les pseudonymes des années\n"
        f"  suivantes ne pourront plus être reliés à ceux de cette année.",
        file=sys.stderr,
    )
    return _parse_key(path.read_text(encoding="ascii"), f"fichier {path}")


class Pseudonymiser:
    """Keyed hashes of normalised values, with a purpose prefix per kind of value.

    The purpose ("surname", "birth_date"...) separates domains: the same string hashed as a
    surname and as a first name gives unrelated tokens.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise KeyProblem("Clé de pseudonymisation trop courte.")
        self._key = key

    def token(self, purpose: str, value: str) -> str:
        msg = f"{purpose}\x1f{value}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:TOKEN_HEX]

    def tokens(self, purpose: str, values: pd.Series | Iterable[object]) -> pd.Series:
        """Vectorised :meth:`token`; missing or empty values stay missing."""
        series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
        uniques = {v for v in series.dropna().unique() if str(v) != ""}
        table = {v: self.token(purpose, str(v)) for v in uniques}
        return series.astype(object).map(table).astype(object)
