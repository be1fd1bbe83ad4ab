"""How a partner's registration of a person departs from the person's true identity.

A registration is the record a partner keeps for a person (one local id). Its names and birth
date are copied once, with the mistakes real intake desks make: a spelling variant of a name,
day and month swapped, no birth date at all. Linkage across partners is measured against these
known departures, so every variant is a genuine change of the string (never a mere change of
case, which is formatting: some software writes names in capitals).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from observatoire.sample.config import NoiseRates

__all__ = [
    "FIRST_NAME_FORMS",
    "exact_share",
    "first_name_variants",
    "register_identities",
    "spelling_variant",
    "strip_accents",
    "surname_variants",
]

# Common short forms and alternative transliterations, as an intake worker would write them.
FIRST_NAME_FORMS: dict[str, tuple[str, ...]] = {
    "Mohamed": ("Mohammed", "Mohamad", "Mohammad"),
    "Mohammed": ("Mohamed", "Mohammad"),
    "Mohammad": ("Mohamed", "Mohammed"),
    "Ahmed": ("Ahmad", "Ahmet"),
    "Ahmad": ("Ahmed",),
    "Youssef": ("Youcef", "Yousef", "Yussuf"),
    "Abdelkader": ("Abdel Kader", "Abdelkhader"),
    "Abdelaziz": ("Abdel Aziz",),
    "Mustapha": ("Mustafa", "Moustapha"),
    "Mustafa": ("Mustapha",),
    "Said": ("Saïd", "Saeed"),
    "Hussein": ("Hussain", "Houssein"),
    "Hassan": ("Hasan",),
    "Ibrahima": ("Ibrahim",),
    "Ibrahim": ("Ibrahima", "Brahim"),
    "Nordine": ("Noureddine", "Nourdine"),
    "Redouane": ("Redwan", "Ridouane"),
    "Yassine": ("Yacine", "Yasin"),
    "Fatima": ("Fatma", "Fatiha"),
    "Khadija": ("Khadidja", "Khadidja"),
    "Aïcha": ("Aicha", "Aisha"),
    "Meryem": ("Myriam", "Meriem"),
    "Oleksandr": ("Aleksandr", "Alexandre"),
    "Dmytro": ("Dmitri", "Dmitry"),
    "Serhiy": ("Sergei", "Serguei"),
    "Mykola": ("Nikolai",),
    "Olena": ("Elena", "Helena"),
    "Tetiana": ("Tatiana",),
    "Yuriy": ("Youri", "Yuri"),
    "Alexandre": ("Alex",),
    "Alexander": ("Alex",),
    "Nicolas": ("Nico",),
    "Christophe": ("Chris",),
    "Frédéric": ("Fred",),
    "Philippe": ("Phil",),
    "Mathieu": ("Matthieu",),
    "Matthieu": ("Mathieu",),
    "Maxime": ("Max",),
    "Benjamin": ("Ben",),
    "Emmanuel": ("Manu",),
    "Sébastien": ("Seb",),
    "Stéphane": ("Steph",),
    "Guillaume": ("Guilhaume",),
    "Grégory": ("Greg", "Grégoire"),
    "Anthony": ("Antony", "Tony"),
    "Jonathan": ("Johnathan",),
    "Catherine": ("Cathy",),
    "Isabelle": ("Isa",),
    "Stéphanie": ("Steph",),
    "Nathalie": ("Nathaly",),
    "Sylvie": ("Silvie",),
    "Johannes": ("Jan", "Johan"),
    "Willem": ("Wim",),
    "Pieter": ("Piet", "Pierre"),
    "Hendrik": ("Henk", "Henri"),
    "Jozef": ("Jef", "Joseph"),
    "Joseph": ("Jozef", "José"),
    "Katrien": ("Katrijn",),
    "Elisabeth": ("Elise", "Lisa"),
    "Kevin": ("Kévin",),
    "Kévin": ("Kevin",),
    "Jérôme": ("Jerome",),
}

_PARTICLE = re.compile(
    r"^(?:van der|van den|van de|van|von|de la|de|le|la|du|el|ben|al|aït|da|dos|der|den) ",
    re.IGNORECASE,
)
_CONSONANT = r"[^aeiouyàâéèêëïîôöüAEIOUY\W]"
# Glued particles that intake desks also write split: Vandenberghe / Van den Berghe, Desmet /
# De Smet, Dubois / Du Bois (De, Le, Du only before a syllable that can stand alone).
_GLUED = re.compile(
    rf"^(?:(Vanden|Vander|Vande|Van)({_CONSONANT})(\w{{3,}})"
    rf"|(Le|Du|De)({_CONSONANT})([aeiouyéèêrlm]\w{{2,}}))$"
)
_SPLIT_PARTICLE = {"Vanden": "Van den", "Vander": "Van der", "Vande": "Van de"}


def strip_accents(text: str) -> str:
    """Drop diacritics (é → e, ë → e, ç → c), as software without accents would."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _typos(name: str, rng: np.random.Generator) -> list[tuple[float, str]]:
    """Keyboard mistakes inside a word (never its first letter): doubled, dropped or swapped
    letters."""
    letters = [i for i in range(1, len(name)) if name[i].isalpha() and name[i - 1].isalpha()]
    out: list[tuple[float, str]] = []
    if not letters:
        return out
    i = int(rng.choice(letters))
    out.append((1.0, name[: i + 1] + name[i] + name[i + 1 :]))
    if len(name) > 4:
        out.append((1.0, name[:i] + name[i + 1 :]))
    swaps = [j for j in letters if j + 1 < len(name) and name[j + 1].isalpha()]
    swaps = [j for j in swaps if name[j].lower() != name[j + 1].lower()]
    if swaps:
        j = int(rng.choice(swaps))
        out.append((1.0, name[:j] + name[j + 1] + name[j] + name[j + 2 :]))
    return out


def surname_variants(name: str, rng: np.random.Generator) -> list[tuple[float, str]]:
    """Weighted spelling variants of a surname (particles, apostrophes, compounds, accents)."""
    out: list[tuple[float, str]] = []
    if _PARTICLE.match(name):
        head, _, tail = name.partition("-")
        glued = head.replace(" ", "").capitalize()
        out.append((3.0, glued + ("-" + tail if tail else "")))
    match = _GLUED.match(name)
    if match:
        prefix, letter, rest = (g for g in match.groups() if g is not None)
        particle = _SPLIT_PARTICLE.get(prefix, prefix)
        out.append((3.0, f"{particle} {letter.upper()}{rest}"))
    if "'" in name:
        out.append((2.0, re.sub(r"(\w)'(\w)", lambda m: m.group(1) + m.group(2).lower(), name)))
        out.append((1.0, name.replace("'", " ")))
    if "-" in name:
        out.append((3.0, name.split("-")[0]))
        out.append((1.0, name.replace("-", " ")))
    elif " " in name and not _PARTICLE.match(name):
        out.append((3.0, name.split(" ")[0]))
    if strip_accents(name) != name:
        out.append((3.0, strip_accents(name)))
    return out + _typos(name, rng)


def first_name_variants(name: str, rng: np.random.Generator) -> list[tuple[float, str]]:
    """Weighted variants of a first name (short forms, transliterations, compounds, accents)."""
    out: list[tuple[float, str]] = [(3.0, form) for form in FIRST_NAME_FORMS.get(name, ())]
    if "-" in name:
        out.append((3.0, name.replace("-", " ")))
        out.append((1.0, name.split("-")[0]))
    if strip_accents(name) != name:
        out.append((3.0, strip_accents(name)))
    return out + _typos(name, rng)


def spelling_variant(surname: str, first_name: str, rng: np.random.Generator) -> tuple[str, str]:
    """One variant of either name; the surname is more often affected (it is longer, and
    particles and compounds are where intake desks disagree)."""
    candidates = [(w * 0.6, v, "surname") for w, v in surname_variants(surname, rng)]
    candidates += [(w * 0.4, v, "first") for w, v in first_name_variants(first_name, rng)]
    candidates = [
        c
        for c in candidates
        if c[1].strip() and c[1] != (surname if c[2] == "surname" else first_name)
    ]
    if not candidates:  # one-letter names: double the letter
        return surname + surname[-1:].lower(), first_name
    weights = np.array([c[0] for c in candidates])
    pick = candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]
    return (pick[1], first_name) if pick[2] == "surname" else (surname, pick[1])


def exact_share(
    eligible: np.ndarray, rate: float, base: int, rng: np.random.Generator
) -> np.ndarray:
    """Flag ``round(rate × base)`` of the eligible items at random (all of them if fewer).

    Exact counts rather than independent draws: the realised rate of a small sample then
    matches the parameter, and linkage benchmarks do not move with sampling luck.
    """
    candidates = np.flatnonzero(eligible)
    count = min(len(candidates), int(round(rate * base)))
    flags = np.zeros(len(eligible), dtype=bool)
    flags[rng.permutation(candidates)[:count]] = True
    return flags


def register_identities(
    registrations: pd.DataFrame,
    persons: pd.DataFrame,
    noise: NoiseRates,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Registered surname, first name and birth date of every registration, with noise flags.

    Rates are per registration. A day/month swap is only possible when the day is at most 12 and
    differs from the month, so it is drawn among those registrations in the number that gives
    the target share overall; a missing birth date cannot also be swapped.
    """
    regs = registrations.copy()
    who = regs["person"].to_numpy()
    n = len(regs)
    birth = persons["birth_date"].to_numpy()[who].astype("datetime64[D]")
    month_start = birth.astype("datetime64[M]")
    day = (birth - month_start.astype("datetime64[D]")).astype(int) + 1
    month = (month_start - birth.astype("datetime64[Y]").astype("datetime64[M]")).astype(int) + 1

    missing = exact_share(np.ones(n, dtype=bool), noise.missing_birth_date, n, rng)
    swappable = (day <= 12) & (day != month) & ~missing
    swap = exact_share(swappable, noise.day_month_swap, n, rng)
    variant = exact_share(np.ones(n, dtype=bool), noise.name_variant, n, rng)

    surname = persons["surname"].to_numpy()[who].copy()
    first = persons["first_name"].to_numpy()[who].copy()
    for i in np.flatnonzero(variant):  # ~1 registration in 10: a short Python loop
        surname[i], first[i] = spelling_variant(surname[i], first[i], rng)

    year = birth.astype("datetime64[Y]").astype(int) + 1970
    swapped = np.array(
        [
            np.datetime64(f"{y:04d}-{d:02d}-{m:02d}", "D")
            for y, d, m in zip(year[swap], day[swap], month[swap], strict=True)
        ],
        dtype="datetime64[D]",
    )
    registered_birth = birth.copy()
    registered_birth[swap] = swapped
    registered_birth[missing] = np.datetime64("NaT")

    regs["surname"] = surname
    regs["first_name"] = first
    regs["birth_date"] = registered_birth
    regs["name_variant"] = variant
    regs["day_month_swap"] = swap
    regs["birth_date_missing"] = missing
    return regs
