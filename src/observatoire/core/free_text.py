"""Identities written in free text: detect them, and replace them by placeholders.

A partner's reason or note field may hold what no identity column does: a third person's name
and birth date typed by a worker (« M. KOWALCZYK Zbigniew (né le 02/05/1961) »), a phone number,
an e-mail address, a Belgian national register number, a street address. Nobody declared them in
a mapping, so the leak guard cannot know them in advance: they must be recognised by their form.
This module is the one home of that recognition. Ingest uses it to de-identify the free text it
keeps (:func:`deidentify`, spans replaced by « [NOM] », « [DATE] »…, counted in its report); the
leak guard uses it to check that no such span survives in the kept tables (:func:`detect`).

Why rules and not a library: the maintained de-identification tools (Microsoft Presidio, spaCy or
Flair named-entity models, scrubadub) need statistical models downloaded at run time or installed
apart (several hundred MB for French), are not in the project's environment, and their recall on
short, badly typed French fields (upper-case surnames, no sentence) is not better than explicit
patterns. The patterns below are the forms Belgian social workers write identities in; each is
tested on planted truth (``tests/unit/core/test_free_text.py``). Recall is preferred to
precision when de-identifying (an over-replaced word in a reason field costs nothing to the
statistics); the guard only reports the kinds that are evidence of a person (:data:`EVIDENCE`).

What is recognised (kind → placeholder):

- ``nom``: a title followed by capitalised words (« M. Dupont », « Mme VAN DAMME », « Monsieur
  Jean Martin »), or an UPPER-CASE word of 3 letters or more beside a Capitalised one
  (« KOWALCZYK Zbigniew », « Zbigniew KOWALCZYK »), acronyms of the sector excepted
  (:data:`ACRONYMS`: « CPAS Anderlecht » is not a person);
- ``date de naissance``: a date after « né(e) le », « ° », « DDN », « date de naissance »;
- ``date``: any other full date (day, month and year, in figures or with a French month name):
  it may be a birth date, and a reason field never needs a full date for the statistics;
- ``numéro national``: a Belgian national register number (yy.mm.dd-xxx.cc or 11 digits) whose
  mod-97 check digits hold (born before or after 2000);
- ``téléphone``: a Belgian phone number (+32, 0032 or 0 then 8 or 9 digits, separators allowed);
- ``courriel``: an e-mail address;
- ``adresse``: a street word (rue, avenue, chaussée, straat…) followed by a capitalised name and
  a house number.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

__all__ = [
    "ACRONYMS",
    "ADDRESS",
    "BIRTH_DATE",
    "DATE",
    "EMAIL",
    "EVIDENCE",
    "NAME",
    "NATIONAL_NUMBER",
    "PHONE",
    "PLACEHOLDERS",
    "Span",
    "deidentify",
    "detect",
    "valid_national_number",
]

NAME = "nom"
BIRTH_DATE = "date de naissance"
DATE = "date"
NATIONAL_NUMBER = "numéro national"
PHONE = "téléphone"
EMAIL = "courriel"
ADDRESS = "adresse"

PLACEHOLDERS = {
    NAME: "[NOM]",
    BIRTH_DATE: "[DATE]",
    DATE: "[DATE]",
    NATIONAL_NUMBER: "[NUMERO_NATIONAL]",
    PHONE: "[TELEPHONE]",
    EMAIL: "[COURRIEL]",
    ADDRESS: "[ADRESSE]",
}
"""What replaces each kind of span in the kept text (readable, and matched by no pattern)."""

EVIDENCE = frozenset({NAME, BIRTH_DATE, NATIONAL_NUMBER, PHONE, EMAIL, ADDRESS})
"""Kinds that point at a person. A bare date is replaced by ingest but is no evidence alone."""

ACRONYMS = frozenset(
    [
        "CPAS",
        "OCMW",
        "SDF",
        "ETHOS",
        "SAMU",
        "ONE",
        "CAW",
        "SPF",
        "ONEM",
        "INAMI",
        "ASBL",
        "VZW",
        "SMUR",
        "CHU",
        "CHR",
        "AIS",
        "SISP",
        "SLSP",
        "RIS",
        "RIS",
        "FEDASIL",
        "OQT",
        "DUB",
        "HIV",
        "VIH",
        "TBC",
        "SIDA",
        "NIR",
        "NISS",
        "BCE",
        "AVJ",
        "IPPJ",
        "SAJ",
        "SPJ",
        "SOS",
        "PMS",
        "CGRA",
        "UE",
        "HORS",
        "RDV",
        "MENA",
        "MSF",
        "CRB",
        "RMST",
        "IBGE",
        "STIB",
        "SNCB",
        "TEC",
        "DELIJN",
    ]
)
"""Upper-case words of the sector that sit beside capitalised words without naming anybody
(« CPAS Anderlecht », « RDV Lundi »)."""

_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
_CAP = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
"""A Capitalised word (« Zbigniew », « Jean-Marc »)."""
_CAPS = rf"[{_UPPER}]{{3,}}(?:[-'][{_UPPER}]{{2,}})*"
"""An UPPER-CASE word of 3 letters or more (« KOWALCZYK », « DUPRE-LEFEVRE »)."""
_NAME_WORD = rf"(?:{_CAPS}|{_CAP}|(?:van|de|der|den|du|la|le|el|ben|di|da)(?=\s))"

_MONTHS = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre"
    "|novembre|décembre|decembre"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}(?!\d)"
    r"|(?:19|20)\d{2}-\d{2}-\d{2}"
    rf"|\d{{1,2}}(?:er)?\s+(?:{_MONTHS})\s+(?:19|20)\d{{2}})"
)

_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    (EMAIL, re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), 0),
    (
        NATIONAL_NUMBER,
        re.compile(
            r"(?<![\w.])(\d{2})[.\s]?(\d{2})[.\s]?(\d{2})[-.\s]?(\d{3})[.\s]?(\d{2})(?![\w.])"
        ),
        0,
    ),
    (
        BIRTH_DATE,
        re.compile(
            rf"(?:\bn[ée]e?\s+le|°|\bDDN\s*:?|\bdate\s+de\s+naissance\s*:?)\s*({_DATE})",
            re.IGNORECASE,
        ),
        1,
    ),
    (DATE, re.compile(rf"(?<![\w/.-])({_DATE})(?![\w/])", re.IGNORECASE), 1),
    (
        PHONE,
        re.compile(r"(?<![\w+])(?:\+32|0032|0)\s?[1-9](?:[\s./-]?\d){7,8}(?!\w)"),
        0,
    ),
    (
        ADDRESS,
        re.compile(
            r"\b(?:rue|avenue|av\.|chauss[ée]e|boulevard|bd|place|square|quai|chemin|all[ée]e"
            r"|impasse|dr[èe]ve|straat|laan|steenweg)\s+(?:(?:de\s+la|des|du|de|d')\s*)?"
            rf"[{_UPPER}][\w'-]+(?:\s+[{_UPPER}][\w'-]+){{0,3}},?\s+\d{{1,4}}[a-zA-Z]?\b",
            re.IGNORECASE,
        ),
        0,
    ),
    (
        NAME,
        re.compile(
            r"\b(?:M\.|Mr\.?|Mme\.?|Mlle\.?|Monsieur|Madame|Mademoiselle|Dr\.?|Docteur|Ma[îi]tre)"
            rf"\s+((?:{_NAME_WORD})(?:[\s-]+(?:{_NAME_WORD})){{0,3}})"
        ),
        1,
    ),
    (
        NAME,
        re.compile(
            rf"(?<![\[\w])(?:({_CAPS})\s+({_CAP})|({_CAP})\s+({_CAPS}))(?![\w\]])",
        ),
        -1,
    ),
]
"""(kind, pattern, group holding the span: 0 the whole match, -1 every group that matched)."""


@dataclass(frozen=True)
class Span:
    """One identity found in a text: where it is and what kind it is (never logged)."""

    start: int
    end: int
    kind: str


def valid_national_number(digits: str) -> bool:
    """Whether 11 digits are a Belgian national register number (mod-97 check, both eras).

    The last two digits are 97 minus the first nine modulo 97; for a birth in 2000 or later the
    first nine are prefixed by a 2. The birth date part must be a plausible month (0 to 12: an
    unknown month is written 00; 20-32 and 40-52 are the bis numbers).
    """
    if len(digits) != 11 or not digits.isdigit():
        return False
    body, check = int(digits[:9]), int(digits[9:])
    month = int(digits[2:4])
    if not (month <= 12 or 20 <= month <= 32 or 40 <= month <= 52):
        return False
    return check in (97 - body % 97, 97 - int("2" + digits[:9]) % 97)


def _acronym_only(match: re.Match[str]) -> bool:
    caps = match.group(1) or match.group(4)
    return caps is not None and all(p in ACRONYMS for p in re.split(r"[-']", caps))


def detect(text: str) -> list[Span]:
    """Every identity span of ``text``, leftmost first, without overlaps (the first kind of
    :data:`_PATTERNS` wins a contested stretch: a national number is not also a phone number)."""
    if not text or not isinstance(text, str):
        return []
    taken: list[Span] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s.start or start >= s.end for s in taken)

    for kind, pattern, group in _PATTERNS:
        for match in pattern.finditer(text):
            if kind == NATIONAL_NUMBER and not valid_national_number("".join(match.groups())):
                continue
            if group == -1:
                if _acronym_only(match):
                    continue
                spans = [(match.start(g), match.end(g)) for g in range(1, 5) if match.group(g)]
                spans = [(spans[0][0], spans[-1][1])]
            else:
                spans = [(match.start(group), match.end(group))]
            for start, end in spans:
                if free(start, end):
                    taken.append(Span(start, end, kind))
    return sorted(taken, key=lambda s: s.start)


def deidentify(text: str) -> tuple[str, Counter[str]]:
    """``text`` with each detected span replaced by its placeholder, and the count by kind."""
    spans = detect(text)
    if not spans:
        return text, Counter()
    out, last = [], 0
    for span in spans:
        out.append(text[last : span.start])
        out.append(PLACEHOLDERS[span.kind])
        last = span.end
    out.append(text[last:])
    return "".join(out), Counter(s.kind for s in spans)
