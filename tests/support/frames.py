"""Small canonical frames built by hand, for unit tests of the indicators."""

from __future__ import annotations

import pandas as pd

__all__ = ["contacts_frame"]


def contacts_frame(rows: list[dict]) -> pd.DataFrame:
    """A clean contacts frame from the rows given (every other column filled as ingest does)."""
    base = {
        "record_key": "k",
        "partner_id": "p",
        "dispositif": "hebergement_urgence",
        "date_end": None,
        "nights": None,
        "sex": "M",
        "age_at_contact": 30.0,
        "age_estimated": False,
        "nationality_group": "BE",
        "exit_reason": None,
        "activity": None,
        "orientation": None,
        "zone": None,
        "duration_hours": None,
        "source_file": "f",
    }
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["date_start"] = pd.to_datetime(frame["date_start"])
    frame["date_end"] = pd.to_datetime(frame["date_end"])
    frame["nights"] = frame["nights"].astype("float64")
    frame["age_at_contact"] = frame["age_at_contact"].astype("float64")
    frame["year"] = frame["date_start"].dt.year
    frame["source_row"] = range(1, len(frame) + 1)
    return frame
