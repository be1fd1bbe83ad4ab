"""Disclosure control: no published count of persons between 1 and k−1.

Small counts of persons can identify someone in a small city's network. Counts from 1 to k−1 are
published as « < k »; zeros may be shown. Totals and percentages are computed from the unrounded,
unsuppressed data (and the report says so).

Secondary suppression, so that a hidden cell cannot be recomputed from totals, from other tables
or from last year's tables, is the job of :func:`protect` (engine in
:mod:`observatoire.disclosure.suppression`, re-exported here), checked by :func:`audit`. The older
:func:`suppress_table` only looks at one table's lines and can leak (two small cells whose sum is
small); it is kept for callers that publish an isolated table.
"""

from __future__ import annotations

import pandas as pd

from observatoire.core.formatting import french_number
from observatoire.disclosure.suppression import (
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    SECONDARY_LABEL,
    Constraint,
    CountTable,
    Publication,
    audit,
    protect,
)

__all__ = [
    "PRIMARY",
    "PUBLISHED",
    "SECONDARY",
    "SECONDARY_LABEL",
    "Constraint",
    "CountTable",
    "Publication",
    "audit",
    "is_suppressed",
    "protect",
    "publish_count",
    "publish_mean",
    "suppress_series",
    "suppress_table",
]


def is_suppressed(count: float | int | None, k: int) -> bool:
    return count is not None and count == count and 0 < count < k


def publish_count(count: float | int | None, k: int) -> str:
    """The text of a person count as published: « < k » for 1…k−1."""
    if count is None or count != count:
        return "–"
    if is_suppressed(count, k):
        return f"< {k}"
    return french_number(count)


def publish_mean(value: float | None, n: int, min_n: int, decimals: int = 1) -> str:
    """A mean or median as published: « – » when based on fewer than ``min_n`` persons.

    A mean of 3 persons is unreliable and, with the count, close to disclosing their values.
    """
    if value is None or value != value or n < min_n:
        return "–"
    return french_number(value, decimals)


def suppress_series(counts: pd.Series, k: int) -> pd.Series:
    """Numeric series with suppressed cells as NaN (for charts); zeros stay."""
    return counts.where(~counts.map(lambda c: is_suppressed(c, k)))


def suppress_table(table: pd.DataFrame, k: int, total_row: bool = True) -> pd.DataFrame:
    """Publish one table of person counts as text, with primary and naive secondary suppression.

    Primary: cells 1…k−1 become « < k ». Secondary: when a column (or row) that has a published
    total holds exactly one suppressed cell, the next smallest non-zero cell of that line is
    suppressed too, so the hidden value cannot be recovered by subtraction from the total.
    """
    values = table.astype("float64")
    hidden = values.map(lambda c: is_suppressed(c, k))
    if total_row:
        changed = True
        while changed:
            changed = False
            for axis_hidden, axis_values in ((hidden, values), (hidden.T, values.T)):
                for label in axis_hidden.columns:
                    col_h = axis_hidden[label]
                    if col_h.sum() == 1:
                        candidates = axis_values[label][(~col_h) & (axis_values[label] > 0)]
                        if not candidates.empty:
                            target = candidates.idxmin()
                            if axis_hidden is hidden:
                                hidden.loc[target, label] = True
                            else:
                                hidden.loc[label, target] = True
                            changed = True
                if changed:
                    break
    out = values.map(lambda c: french_number(c) if c == c else "–").astype(object)
    out[hidden] = f"< {k}"
    return out
