"""Street work: records with initials, sex and an estimated age only, linked conservatively.

A street worker writes « M.D., homme, ~35 ans ». Ingest turns this into a record: initials,
sex and estimated birth year (year of contact − estimated age). The same person gets several
such records, because the estimated age drifts by a year or so between contacts. Records are
chained when they have the same initials and sex (an unknown sex only with an unknown one),
estimated birth years at most ``birth_year_gap`` apart, and contacts at most
``activity_gap_months`` apart: the same initials and age seen within a few weeks are most likely
the same person; seen years apart, they are counted as two.

These records are never linked to named records of other services. Measured on the synthetic
network, the best rule we could write (same initials and sex, birth year within 3 years of the
estimated one, a contact in the same month, a single candidate) is wrong about one time in seven
(``qualite.travail_de_rue_liaison_testee`` in ``outputs/metrics/linkage.json``), far from the
precision required. A person seen by street work and by another service is therefore counted
twice in network-wide totals; :mod:`observatoire.linkage.diagnostics` gives the range this
implies.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from observatoire.linkage.clustering import RecordFacts, cluster_records
from observatoire.linkage.records import INITIALS_ONLY, RecordTables

__all__ = ["chain_street_records"]


def chain_street_records(
    tables: RecordTables,
    birth_year_gap: int,
    together: Iterable[tuple[int, int]] = (),
    apart: Iterable[tuple[int, int]] = (),
) -> pd.Series:
    """Chain (smallest record key) of every initials-only record.

    The activity gap is built into ``mois_proches`` (see :func:`build_record_tables`).
    ``together`` and ``apart`` are the analyst's overrides, as positions in record-key order.
    """
    con = tables.con
    records = con.execute(f"SELECT unique_id, sex FROM {INITIALS_ONLY} ORDER BY unique_id").df()
    if records.empty:
        return pd.Series(dtype=object, name="cluster")
    pairs = con.execute(
        f"""
        WITH rec AS (SELECT row_number() OVER (ORDER BY unique_id) - 1 AS pos, *
                     FROM {INITIALS_ONLY})
        SELECT l.pos AS a, r.pos AS b,
               1.0 - abs(l.est_birth_year - r.est_birth_year) / 100.0 AS match_probability
        FROM rec l JOIN rec r
          ON l.tok_initials = r.tok_initials AND l.sex IS NOT DISTINCT FROM r.sex
         AND l.pos < r.pos
         AND abs(l.est_birth_year - r.est_birth_year) <= {int(birth_year_gap)}
        WHERE bit_count(l.mois & r.mois_proches) > 0
        ORDER BY a, b
        """
    ).df()
    facts = RecordFacts(
        list(records["unique_id"]),
        [None] * len(records),
        [None] * len(records),
        list(records["sex"]),
    )
    result = cluster_records(facts, pairs, threshold=0.0, together=together, apart=apart)
    ids = records["unique_id"].to_numpy()
    return pd.Series(ids[result.labels], index=ids, name="cluster")
