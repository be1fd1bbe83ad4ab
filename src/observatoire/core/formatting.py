"""French number formatting, shared by tables, reports and chart axes.

Kept apart from :mod:`observatoire.reports.charts` so that stages that only format numbers do
not pay for importing matplotlib and seaborn.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

__all__ = [
    "MINUS",
    "MOIS_ABREGES",
    "MOIS_NOMS",
    "NNBSP",
    "french_change",
    "french_fraction",
    "french_number",
    "french_percent",
    "french_points",
]

NNBSP = "\u202f"  # narrow no-break space: thousands separator and before « % »
MINUS = "\u2212"  # typographic minus sign (matplotlib's axes.unicode_minus uses the same)

MOIS_NOMS: tuple[str, ...] = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
MOIS_ABREGES: tuple[str, ...] = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def french_number(x: float | int | Decimal | None, decimals: int = 0) -> str:
    """Format a number the French way: ``1234567.5`` → ``"1 234 567,5"`` (U+202F separator).

    Rounding is half away from zero on the decimal value as written (``2.5`` → ``"3"``,
    ``0.125`` with 2 decimals → ``"0,13"``), which is what readers of a table expect, unlike
    Python's binary round-half-even. Negative numbers take a true minus sign (U+2212), a
    value that rounds to zero is shown without sign, and a missing value (None/NaN) gives an
    en dash "–", the usual "not available" mark of French statistical tables.
    """
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    if x is None or (isinstance(x, float | np.floating) and math.isnan(x)) or x is pd.NA:
        return "–"
    if isinstance(x, float | np.floating) and math.isinf(x):
        return "∞" if x > 0 else f"{MINUS}∞"
    quantum = Decimal(1).scaleb(-decimals)
    if isinstance(x, Decimal):
        value = x
    elif isinstance(x, int | np.integer):
        value = Decimal(int(x))
    else:  # the shortest repr of the float, so 0.125 is 0.125 and not 0.12499999…
        value = Decimal(repr(float(x)))
    value = value.quantize(quantum, rounding=ROUND_HALF_UP)
    negative = value < 0 and value != 0
    integer_part, _, fraction = f"{abs(value):f}".partition(".")
    groups = []
    while len(integer_part) > 3:
        groups.insert(0, integer_part[-3:])
        integer_part = integer_part[:-3]
    groups.insert(0, integer_part)
    text = NNBSP.join(groups)
    if decimals:
        text = f"{text},{fraction}"
    return f"{MINUS}{text}" if negative else text


def french_percent(x: float, decimals: int = 1, signed: bool = False) -> str:
    """Format a percentage already in percent units: ``6.14`` → ``"6,1 %"`` (U+202F before %).

    With ``signed=True`` a positive value gets an explicit "+" (for changes).
    """
    text = french_number(x, decimals)
    if signed and not text.startswith(MINUS) and text != "–" and text.strip("0,") != "":
        text = f"+{text}"
    return f"{text}{NNBSP}%"


def french_fraction(x: float | None, decimals: int = 1, signed: bool = False) -> str:
    """A share or a relative change given as a fraction (0.061) → « 6,1 % »; « – » if missing."""
    if x is None or x != x:
        return "–"
    return french_percent(100 * x, decimals, signed=signed)


def french_points(x: float | None, decimals: int = 1) -> str:
    """A difference of two shares (given as fractions) in percentage points, signed:
    « +0,3 pt », « −18,8 pts »; « – » if missing.

    The one format of percentage points in every report: a narrow no-break space before the
    unit, as before « % »; « pt » below 2 and « pts » from 2 (the French plural); a value that
    rounds to zero has no sign (« 0,0 pt »). Rounding is :func:`french_number`'s.
    """
    if x is None or x != x:
        return "–"
    text = french_number(abs(100 * x), decimals)
    magnitude = float(text.replace(NNBSP, "").replace(",", "."))
    sign = "" if magnitude == 0 else ("+" if x > 0 else MINUS)
    unit = "pt" if magnitude < 2 else "pts"
    return f"{sign}{text}{NNBSP}{unit}"


def french_change(current: float | None, previous: float | None) -> str:
    """Relative change, signed, in French: « +6,1 % »; « – » without a previous value."""
    if not previous or current is None:
        return "–"
    return french_fraction(current / previous - 1, 1, signed=True)
