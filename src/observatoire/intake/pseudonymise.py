"""Pseudonymisation with a secret key (HMAC-SHA256), the only way identities leave ingest.

An unkeyed hash of a name or a birth date can be reversed with a dictionary of names and dates;
a keyed hash cannot without the key. The key (≥ 256 bits, drawn at random) lives outside the
repository and every data folder: in the environment variable named in params
(``OBSERVATOIRE_CLE``, hex) or in a key file whose path is given by ``OBSERVATOIRE_CLE_FICHIER``
(default ``~/.config/observatoire/cle-pseudonymisation``). Same key, same value → same
pseudonym, across runs and years; rotating the key breaks every link with earlier pseudonyms
(:mod:`observatoire.intake.key_fingerprint` notices a changed key).

:func:`load_key` never ends in a traceback: a missing, unreadable, binary, empty, malformed or
weak key (too short, constant, a repeated pattern, a password turned into hex) is a
:class:`~observatoire.core.errors.KeyProblem` in French that says how to make a good key. An
empty variable counts as unset, with a warning.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
import string
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from observatoire.core.errors import KeyProblem

if TYPE_CHECKING:  # pandas is imported where used: the key_fingerprint stage runs without it
    import pandas as pd

__all__ = [
    "DEFAULT_KEY_FILE",
    "KEY_BYTES",
    "MAKE_KEY",
    "TOKEN_HEX",
    "NoKey",
    "Pseudonymiser",
    "key_weakness",
    "load_key",
]

KEY_BYTES = 32
DEFAULT_KEY_FILE = Path("~/.config/observatoire/cle-pseudonymisation")
TOKEN_HEX = 32  # 128 bits of the HMAC: collisions are negligible at any network's scale
MAX_KEY_FILE_BYTES = 4096
"""A key file holds one line of hex; anything bigger is the wrong file."""
MIN_DISTINCT_BYTES = 16
"""Distinct byte values a key must have. 32 random bytes have about 30; 16 or fewer happens
with probability below 1e-15 — only for a made-up key."""
MAKE_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'
"""The command the refusals quote to draw a good key."""


class NoKey(KeyProblem):
    """No key is configured at all (neither the variable nor the key file)."""


def _how_to_make(path: str = "FICHIER") -> str:
    return (
        f"Pour une clé solide (256 bits tirés au hasard) : {MAKE_KEY} > {path} && chmod 600 "
        f"{path} — ou retirez le fichier : le pipeline en crée une au premier lancement. "
        "Attention : une autre clé donne d'autres pseudonymes (README « Clé de "
        "pseudonymisation »)."
    )


def key_weakness(key: bytes) -> str | None:
    """Why ``key`` cannot have been drawn at random, in French; None for a plausible key.

    Each test refuses a random 256-bit key with probability below 1e-13: a constant key, a short
    repeated pattern, a regular sequence, few distinct bytes, or only printable characters (a
    password or a sentence written in hex).
    """
    if len(set(key)) == 1:
        return "elle ne contient que des zéros" if key[0] == 0 else "un seul octet y est répété"
    for period in range(2, 9):
        if all(key[i] == key[i % period] for i in range(len(key))):
            return f"elle répète un motif de {period} octets"
    steps = {(b - a) % 256 for a, b in zip(key, key[1:], strict=False)}
    if len(steps) == 1:
        return "c'est une suite régulière d'octets (00 01 02 …)"
    if len(set(key)) <= MIN_DISTINCT_BYTES:
        return (
            f"elle n'a que {len(set(key))} octets différents sur {len(key)} (une clé tirée au "
            "hasard en a presque toujours une trentaine)"
        )
    if all(0x20 <= b < 0x7F for b in key):
        return (
            "tous ses octets sont des caractères imprimables : c'est un mot de passe ou un "
            "texte écrit en hexadécimal, pas une clé tirée au hasard"
        )
    return None


def _parse_key(text: str, origin: str) -> bytes:
    text = text.strip().lstrip("\ufeff").strip()
    if not text:
        raise KeyProblem(f"La clé de pseudonymisation ({origin}) est vide. {_how_to_make()}")
    bad = next((i for i, c in enumerate(text) if c not in string.hexdigits), None)
    if bad is not None:
        # The position only: the text around it is key material.
        raise KeyProblem(
            f"La clé de pseudonymisation ({origin}) n'est pas en hexadécimal : le caractère "
            f"n° {bad + 1} n'est pas 0-9 ou a-f (espace, guillemet, préfixe « 0x », deux "
            f"lignes ?). Elle doit tenir sur une ligne d'au moins {KEY_BYTES * 2} caractères "
            f"0-9a-f. {_how_to_make()}"
        )
    if len(text) % 2:
        raise KeyProblem(
            f"La clé de pseudonymisation ({origin}) a un nombre impair de caractères "
            f"hexadécimaux ({len(text)}) : un caractère manque ou est en trop."
        )
    key = bytes.fromhex(text)
    if len(key) < KEY_BYTES:
        raise KeyProblem(
            f"La clé de pseudonymisation ({origin}) est trop courte : {len(key) * 8} bits, "
            f"il en faut au moins {KEY_BYTES * 8} ({KEY_BYTES * 2} caractères hexadécimaux). "
            f"{_how_to_make()}"
        )
    weakness = key_weakness(key)
    if weakness:
        raise KeyProblem(
            f"La clé de pseudonymisation ({origin}) est trop faible : {weakness}. Quiconque "
            f"la devine peut retrouver les noms derrière les pseudonymes. {_how_to_make()}"
        )
    return key


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
    except (OSError, RuntimeError):  # a symlink loop: not resolvable, hence not provably inside
        return False


def _read_key_file(path: Path, key_file_env: str) -> str | None:
    """The text of the key file; None when there is none. Every unreadable case is a
    :class:`KeyProblem` in French (never a traceback)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise KeyProblem(
                f"Le fichier de clé {path} est un lien symbolique vers un fichier absent. "
                f"Rétablissez la clé ou corrigez {key_file_env}."
            ) from None
        return None
    except NotADirectoryError:
        raise KeyProblem(
            f"Le chemin du fichier de clé {path} passe par un fichier comme s'il était un "
            f"dossier. Corrigez {key_file_env}."
        ) from None
    except PermissionError:
        raise KeyProblem(
            f"Le dossier du fichier de clé {path} n'est pas accessible à cet utilisateur "
            f"(droits). Donnez-vous l'accès à {path.parent} ou corrigez {key_file_env}."
        ) from None
    except OSError as exc:
        raise KeyProblem(f"Le fichier de clé {path} est illisible : {exc.strerror}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise KeyProblem(
            f"{path} est un dossier, pas un fichier de clé : {key_file_env} doit désigner le "
            f"fichier lui-même (par exemple {path / DEFAULT_KEY_FILE.name})."
        )
    if not stat.S_ISREG(st.st_mode):
        raise KeyProblem(
            f"{path} n'est pas un fichier ordinaire (tube, périphérique…) : il ne peut pas "
            f"contenir la clé. Corrigez {key_file_env}."
        )
    if st.st_size > MAX_KEY_FILE_BYTES:
        raise KeyProblem(
            f"Le fichier de clé {path} fait {st.st_size} octets : une clé tient sur une ligne "
            f"de {KEY_BYTES * 2} caractères. Ce n'est pas le bon fichier ; corrigez "
            f"{key_file_env}."
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        print(
            f"Attention : le fichier de clé {path} est lisible par d'autres utilisateurs "
            f"(droits {oct(mode)}). Corrigez avec : chmod 600 {path}",
            file=sys.stderr,
        )
    try:
        data = path.read_bytes()
    except PermissionError:
        raise KeyProblem(
            f"Le fichier de clé {path} n'est pas lisible par cet utilisateur (droits "
            f"{oct(mode)}). Il doit appartenir à l'utilisateur qui lance le pipeline, avec les "
            f"droits 600 : chmod 600 {path}."
        ) from None
    except OSError as exc:
        raise KeyProblem(f"Le fichier de clé {path} est illisible : {exc.strerror}.") from None
    data = data.removeprefix(b"\xef\xbb\xbf")  # a BOM left by a text editor: harmless
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise KeyProblem(
            f"Le fichier de clé {path} contient des octets non ASCII (à partir de l'octet "
            f"n° {exc.start + 1}) : ce n'est pas une clé écrite en hexadécimal (fichier "
            f"binaire, texte accentué, encodage UTF-16 ?). {_how_to_make(str(path))}"
        ) from None


def _configured(name: str) -> str | None:
    """The variable's value; an empty (or blank) variable counts as unset, with a warning."""
    value = os.environ.get(name)
    if value is not None and not value.strip():
        print(
            f"Attention : la variable {name} est définie mais vide ; elle est ignorée, comme si "
            f"elle n'existait pas. Retirez-la (unset {name}) ou donnez-lui sa valeur.",
            file=sys.stderr,
        )
        return None
    return value


def load_key(
    project_root: Path,
    key_env: str = "OBSERVATOIRE_CLE",
    key_file_env: str = "OBSERVATOIRE_CLE_FICHIER",
    create: bool = True,
) -> bytes:
    """Return the secret key; on a first run with none, create a key file and say so.

    Raises :class:`NoKey` when none is configured and ``create`` is false, and
    :class:`KeyProblem` for a key that is unreadable, malformed or weak.
    """
    value = _configured(key_env)
    if value is not None:
        return _parse_key(value, f"variable {key_env}")
    path = Path(_configured(key_file_env) or DEFAULT_KEY_FILE).expanduser()
    if _inside(path, project_root):
        raise KeyProblem(
            f"Le fichier de clé {path} est dans le dépôt du projet : il pourrait finir dans git "
            f"ou dans les données. Placez-le ailleurs (variable {key_file_env})."
        )
    text = _read_key_file(path, key_file_env)
    if text is not None:
        return _parse_key(text, f"fichier {path}")
    if not create:
        raise NoKey(
            f"Aucune clé de pseudonymisation : ni variable {key_env}, ni fichier {path}. "
            f"{_how_to_make(str(path))}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(KEY_BYTES) + "\n")
    except OSError as exc:
        raise KeyProblem(
            f"Impossible de créer le fichier de clé {path} : {exc.strerror}. Choisissez un "
            f"emplacement où vous pouvez écrire, hors du dépôt (variable {key_file_env})."
        ) from None
    print(
        f"Nouvelle clé de pseudonymisation créée : {path} (lisible par vous seul·e).\n"
        f"  Sauvegardez-la en lieu sûr, hors du dépôt : sans elle, les pseudonymes des années\n"
        f"  suivantes ne pourront plus être reliés à ceux de cette année.",
        file=sys.stderr,
    )
    return _parse_key(_read_key_file(path, key_file_env) or "", f"fichier {path}")


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
        # hmac.digest: the same HMAC-SHA256 as hmac.new(...).hexdigest(), in one C call
        return hmac.digest(self._key, msg, "sha256").hex()[:TOKEN_HEX]

    def tokens(self, purpose: str, values: pd.Series | Iterable[object]) -> pd.Series:
        """Vectorised :meth:`token`; missing or empty values stay missing."""
        import pandas as pd

        series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
        uniques = {v for v in series.dropna().unique() if str(v) != ""}
        table = {v: self.token(purpose, str(v)) for v in uniques}
        return series.astype(object).map(table).astype(object)
