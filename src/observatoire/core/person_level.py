"""A network whose partners send counts only: no person-level row at all.

Such a network is valid input (``docs/donnees-agregees.md``): its partners' files all go to the
aggregate table, and the person-level tables (contacts, persons, linkage) are empty. Every stage
then takes one early, explicit branch: it writes its declared outputs as empty but well-typed
tables, with :data:`NO_PERSONS_REASON` where a figure would have been, and the reports print
the aggregate chapter and say what could not be computed. Never zeros pretending to be persons.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["NO_PERSONS_REASON", "has_persons"]

NO_PERSONS_REASON = "aucune donnée par personne : les partenaires n'envoient que des comptages"
"""Why a person-level figure is not computed on a counts-only network (French, for the reader)."""


def has_persons(contacts: pd.DataFrame) -> bool:
    """Whether the (validated or clean) contacts hold at least one person-level row."""
    return len(contacts) > 0
