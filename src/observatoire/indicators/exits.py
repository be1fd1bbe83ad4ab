"""Exit reasons of stays and tenancies, where partners export them.

Not every service records why a stay ended (the night shelter does not), and those that do
sometimes leave it blank. So each count comes with how many exits carry a reason at all:
a share of expulsions among 40 % of exits is not a share among all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from observatoire.core.dispositifs import STAY_DISPOSITIFS
from observatoire.core.schema import EXIT_REASONS
from observatoire.indicators.counts import dispositif_order

__all__ = ["UNKNOWN_REASON", "exit_reasons"]

UNKNOWN_REASON = "inconnu"
"""The code a partner exports when it does not know why a stay ended."""


def exit_reasons(
    contacts: pd.DataFrame, year: int, dispositifs: Iterable[str] = STAY_DISPOSITIFS
) -> dict[str, dict[str, Any]]:
    """Per stay service, the stays whose exit date falls in ``year``, by reason.

    Returns, for each dispositif with at least one exit of the year carrying a reason:
    ``exits`` (stays ended), ``with_reason`` (exported with a reason, ``inconnu`` included:
    the partner said it did not know), ``exported_share`` (with_reason / exits: the column is
    filled), ``known`` and ``known_share`` (a reason other than ``inconnu``: what the reader
    can use, the share to print beside the table) and ``by_reason`` (every code of
    ``schema.EXIT_REASONS``, 0 when absent). A service that exports no reason is left out.
    Counts are stays, not persons.
    """
    out: dict[str, dict[str, Any]] = {}
    end = pd.to_datetime(contacts["date_end"])
    ended = contacts[(end.dt.year == year) & contacts["dispositif"].isin(list(dispositifs))]
    for d in dispositif_order(ended["dispositif"].unique()):
        stays = ended[ended["dispositif"] == d]
        reasons = stays["exit_reason"].dropna()
        if reasons.empty:
            continue
        counts = reasons.value_counts()
        by_reason = {code: int(counts.get(code, 0)) for code in EXIT_REASONS}
        by_reason.update({str(c): int(v) for c, v in counts.items() if c not in EXIT_REASONS})
        known = len(reasons) - int(counts.get(UNKNOWN_REASON, 0))
        out[d] = {
            "exits": len(stays),
            "with_reason": len(reasons),
            "exported_share": len(reasons) / len(stays),
            "known": known,
            "known_share": known / len(stays),
            "by_reason": by_reason,
        }
    return out
