"""Normalising identity values before they are hashed, so that formatting is not a difference.

Accents, case, hyphens, apostrophes and spaces between name particles vary between partners'
software ("Van der Berg", "VANDERBERG", "van-der-berg"); they are removed before hashing. A French
phonetic key groups spelling variants ("Mohamed"/"Mohammed", "Philippe"/"Filipe").
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

__all__ = [
    "NAME_PARTICLES",
    "name_date_tokens",
    "initials_of",
    "name_parts",
    "normalise_initials",
    "normalise_name",
    "phonetic_fr",
    "spelling_neighbourhood",
    "swap_day_month",
]

_NON_LETTERS = re.compile(r"[^A-Z]")


def _ascii_upper(value: object) -> str:
    """Upper case without accents; separators (spaces, hyphens, apostrophes) still there."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.upper().replace("Æ", "AE").replace("Œ", "OE").replace("ß", "SS")


def normalise_name(value: object) -> str:
    """Upper-case ASCII letters only: accents, spaces, hyphens and apostrophes removed."""
    return _NON_LETTERS.sub("", _ascii_upper(value))


NAME_PARTICLES = frozenset(
    {"VAN", "VON", "DER", "DEN", "DE", "DES", "DEL", "DELLA", "LA", "LE", "LES", "DU", "DI"}
    | {"DA", "DOS", "DAS", "TER", "TEN", "EL", "AL", "BEN", "AIT"}
)
"""Particles of Belgian, French, Dutch, Iberian and Arabic names: not a significant part."""


def name_parts(value: object) -> list[str]:
    """Significant parts of a compound name, in order: « Dupré-Lefèvre » → DUPRE, LEFEVRE.

    Names are split at spaces, hyphens and apostrophes; particles (« Van der », « De », « El »)
    and one-letter parts are dropped, so « Van der Berg » has the single part BERG.
    """
    parts = _NON_LETTERS.split(_ascii_upper(value))
    return [p for p in parts if len(p) >= 2 and p not in NAME_PARTICLES]


def spelling_neighbourhood(value: object) -> list[str]:
    """The strings through which a name is compared with spelling errors tolerated (sorted).

    The normalised name; every string made by deleting one of its letters (names of four
    letters or more); and, for a compound name, each significant part. Two names share an
    element when one letter was added, dropped, replaced or two letters swapped (« MEUNIER » /
    « MEUNEIR », « GOOSSENS » / « GOOSENS »: the symmetric-deletion method), or when one of
    them is a part of the other (« CRUZ BARROS » / « CRUZ »). Only keyed hashes of these
    strings leave ingest, so spelling tolerance survives pseudonymisation.
    """
    name = normalise_name(value)
    if not name:
        return []
    out = {name}
    if len(name) >= 4:
        out.update(name[:i] + name[i + 1 :] for i in range(len(name)))
    parts = name_parts(value)
    if len(parts) >= 2:
        out.update(parts)
    return sorted(out)


def initials_of(first_name: object, surname: object) -> str:
    """Initials as street workers write them: first letter of the first name, then of the
    surname (« Éloïse Van der Berg » → EV); empty if either name is missing."""
    first, last = normalise_name(first_name), normalise_name(surname)
    return first[:1] + last[:1] if first and last else ""


_PHONETIC_RULES: list[tuple[str, str]] = [
    (r"^MC", "MAC"),
    (r"PH", "F"),
    (r"GU([EIY])", r"G\1"),
    (r"QU", "K"),
    (r"SCH", "CH"),
    (r"SH", "CH"),
    (r"C([EIY])", r"S\1"),
    (r"CK", "K"),
    (r"C", "K"),
    (r"Q", "K"),
    (r"W", "V"),
    (r"Z", "S"),
    (r"Y", "I"),
    (r"EAU", "O"),
    (r"AU", "O"),
    (r"OU", "U"),
    (r"(AI|EI|ET|EZ|ER)$", "E"),
    (r"AI|EI", "E"),
    (r"([AEIOU])S([AEIOU])", r"\1Z\2"),
    (r"(?<!C)H", ""),
    (r"DT$", "T"),
    (r"[STXDE]+$", ""),
]

_PHONETIC_PATTERNS = [(re.compile(pattern), repl) for pattern, repl in _PHONETIC_RULES]


def phonetic_fr(value: object) -> str:
    """A French-oriented phonetic key: first letter kept, sound rules, repeats collapsed.

    Deliberately simple and transparent (an academic can read the rules above); it only has to
    group the usual spelling variants of names found in Belgian exports.
    """
    name = normalise_name(value)
    if not name:
        return ""
    first = name[0]
    key = name
    for pattern, repl in _PHONETIC_PATTERNS:
        key = pattern.sub(repl, key)
    key = re.sub(r"(.)\1+", r"\1", key)
    if not key:
        return first
    # Vowels after the first letter carry little signal across variants: keep their position
    # only as a single marker so "MOHAMED" and "MOHAMMED" agree, "ANA" and "ANNA" too.
    key = key[0] + re.sub(r"[AEIOU]+", "", key[1:])
    if first in "AEIOU" and key[0] != first:
        key = first + key
    return key


def normalise_initials(value: object) -> str:
    """Initials as letters only, upper case: "m.d.", "M D" and "MD" are the same."""
    return normalise_name(value)


def swap_day_month(dates: pd.Series) -> pd.Series:
    """The same dates with day and month swapped, where that is a valid, different date.

    A birth date typed with day and month inverted is a frequent error; comparing each record's
    swapped date with the others' true date recovers those links. NaT where no swap exists.
    """
    dates = pd.to_datetime(dates)
    day, month, year = dates.dt.day, dates.dt.month, dates.dt.year
    swappable = dates.notna() & (day <= 12) & (day != month)
    parts = pd.DataFrame({"year": year, "month": day, "day": month}).where(swappable)
    swapped = pd.to_datetime(parts.dropna().astype(int), errors="coerce")
    return swapped.reindex(dates.index)


def name_date_tokens(
    surname: pd.Series, first_name: pd.Series, birth: pd.Series, pseudo
) -> pd.DataFrame:
    """The keyed tokens of a surname, a first name and a birth date, as the linkage tokens of
    the contacts (``data_clean/staging/identity_tokens.parquet``) compute them: names
    normalised (:func:`normalise_name`), a blank name none, the birth date as « aaaa-mm-jj »
    (``birth``: datetimes, NaT when unknown); purposes ``surname``, ``first_name``,
    ``birth_date``. ``pseudo``: the run's :class:`~observatoire.intake.pseudonymise.Pseudonymiser`.
    Columns ``tok_surname``, ``tok_first_name``, ``tok_birth_date`` (None when absent)."""
    from observatoire.intake.readers import map_unique

    def present(s: pd.Series) -> pd.Series:
        return s.where(s.astype(str) != "")

    surname_n = map_unique(surname, normalise_name)
    first_n = map_unique(first_name, normalise_name)
    birth_iso = pd.to_datetime(birth).dt.strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "tok_surname": pseudo.tokens("surname", present(surname_n)),
            "tok_first_name": pseudo.tokens("first_name", present(first_n)),
            "tok_birth_date": pseudo.tokens("birth_date", birth_iso),
        },
        index=surname.index,
    )
