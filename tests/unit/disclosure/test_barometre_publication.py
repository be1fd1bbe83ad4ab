"""The barometer's counts go through the audited publication: small cells « < k », identities."""

from __future__ import annotations

import pandas as pd

from observatoire.disclosure.barometre import build_barometre_tables, count_key
from observatoire.disclosure.suppression import protect
from tests.support.barometre_fixtures import SMALL_COUNTS


def test_small_incident_counts_are_hidden_and_totals_add_up():
    counts = pd.DataFrame(
        SMALL_COUNTS,
        columns=["table", "row", "col", "value"],
    )
    tables, constraints = build_barometre_tables(counts, 2024)
    assert {c.total for c in constraints} == {count_key(2024, "services", "total", "2024")}
    assert len(constraints) == 2  # services and directions both add up to the total
    pub = protect(tables, 5, constraints)
    assert pub.cell_text(count_key(2024, "services", "accueil_jour", "2024")) == "< 5"
    assert pub.cell_text(count_key(2024, "types", "physique", "2024")) == "< 5"
    # the total is printed: one more service cell must be masked so 3 cannot be recomputed
    assert pub.hidden(count_key(2024, "services", "maison_accueil", "2024")) or pub.hidden(
        count_key(2024, "services", "abri_nuit", "2024")
    )
