"""Normalising identity values before they are hashed, so that formatting is not a difference.

Accents, case, hyphens, apostrophes and spaces between name particles vary between partners'
software ("Van der Berg", "VANDERBERG", "van-der-berg"); they are removed before hashing. A French
phonetic key groups spelling variants ("Mohamed"/"Mohammed", "Philippe"/"Filipe").
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

_NON_LETTERS = re.compile(r"[^A-Z]")


def normalise_name(value: object) -> str:
    """Upper-case ASCII letters only: accents, spaces, hyphens and apostrophes removed."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.upper().replace("Æ", "AE").replace("Œ", "OE").replace("ß", "SS")
    return _NON_LETTERS.sub("", text)


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
    for pattern, repl in _PHONETIC_RULES:
        key = re.sub(pattern, repl, key)
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
