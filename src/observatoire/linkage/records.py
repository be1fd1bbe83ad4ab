"""One row per partner record, with the features the linkage compares.

A record is what a partner knows as one client: a local id at a partner (``record_key``, a
keyed token), or, for street work, the triple initials + sex + estimated birth year. The keyed
tokens of ingest are turned into 64-bit integers (their DuckDB hash) to make comparisons cheap;
nothing is ever turned back into a name or a date.

What a record can be linked on depends on what its partner holds, not on what it lacks:

- names (``records``): the probabilistic model, and the network-wide id if it has one;
- no names but a network-wide person id (``network_records``, mapping ``scope: network``):
  linked only to the records sharing that id;
- neither, at a street-work dispositif (``initials_records``): initials and estimated age,
  chained among themselves (:mod:`observatoire.linkage.street_work`);
- neither, elsewhere (``local_records``): its own person, known by its local id only; never
  linked on initials, which at a day centre say too little (a day centre is not street work).

A record's dispositif is that of its rows (a record with a street-work row is street work);
a staging table without dispositifs keeps the earlier rule (no name: street work).

Besides identity, the records carry when they were active: a bit per calendar month with a
contact (``mois``), and the same widened by a few months (``mois_voisins``). Two records of
one person at two services are usually active in the same months; two namesakes seldom are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from observatoire.core.dispositifs import STREET_WORK

__all__ = [
    "IDENTIFIED",
    "INITIALS_ONLY",
    "LOCAL_ONLY",
    "NETWORK_IDS",
    "NETWORK_ONLY",
    "RecordTables",
    "build_record_tables",
    "read_tokens",
]

IDENTIFIED = "records"
"""DuckDB table of records that carry names (the input of the probabilistic model)."""
INITIALS_ONLY = "initials_records"
"""DuckDB table of street-work records: initials, sex and an estimated birth year only."""
NETWORK_ONLY = "network_records"
"""DuckDB table of records without names that carry a network-wide person id."""
LOCAL_ONLY = "local_records"
"""DuckDB table of records with neither names nor a network id, outside street work."""
NETWORK_IDS = "network_ids"
"""DuckDB table: record key → hashed network-wide person id (named or network-only records)."""

_SCALAR_TOKENS = (
    "tok_surname",
    "tok_first_name",
    "tok_surname_phon",
    "tok_first_name_phon",
    "tok_birth_date",
    "tok_birth_date_swapped",
    "tok_name_initials",
    "tok_initials",
    "tok_network_id",
)
_LIST_TOKENS = ("tok_surname_variants", "tok_first_name_variants")


@dataclass(frozen=True)
class RecordTables:
    """Where the records are, and the calendar their activity bits refer to."""

    con: duckdb.DuckDBPyConnection
    n_identified: int
    n_initials_only: int
    first_month: int
    n_months: int
    n_network_only: int = 0
    n_local_only: int = 0


def _hash(col: str) -> str:
    return f"CASE WHEN {col} IS NULL THEN NULL ELSE hash({col}) END AS {col}"


def _widened(window: int, name: str, first_month: int, last_month: int) -> str:
    """SQL: per record, a bit per month within ``window`` months of one of its contacts."""
    w, n = int(window), last_month - first_month + 1
    return f"""
        SELECT record_key, bitstring_agg(DISTINCT m + k - {first_month}, 0, {n - 1}) AS {name}
        FROM _months, range(-{w}, {w + 1}) AS r(k)
        WHERE m + k BETWEEN {first_month} AND {last_month}
        GROUP BY record_key
    """


def _complete(tokens: pd.DataFrame) -> pd.DataFrame:
    """Add the feature columns an older staging table may lack (they are then uninformative)."""
    out = tokens
    for col in _SCALAR_TOKENS:
        if col not in out:
            out = out.assign(**{col: pd.Series(None, index=out.index, dtype=object)})
    for col, base in zip(_LIST_TOKENS, ("tok_surname", "tok_first_name"), strict=True):
        if col not in out:
            out = out.assign(**{col: out[base].map(lambda t: None if pd.isna(t) else [t])})
    if "dispositif" not in out:
        out = out.assign(dispositif=pd.Series(None, index=out.index, dtype=object))
    return out


def build_record_tables(
    con: duckdb.DuckDBPyConnection,
    contacts: pd.DataFrame,
    tokens: pd.DataFrame,
    activity_window_months: int,
    street_window_months: int = 2,
) -> RecordTables:
    """Create the tables ``records`` and ``initials_records`` in ``con``.

    ``contacts`` needs ``record_key`` and ``date_start``; ``tokens`` is ingest's identity
    token table (one row per contact row). Tokens are constant within a record; the first row
    of each record (by source file and row) is taken.
    """
    con.register("_contacts", contacts[["record_key", "date_start"]])
    con.register("_tokens", _complete(tokens))
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _months AS
        SELECT DISTINCT record_key,
               year(date_start) * 12 + month(date_start) - 1 AS m
        FROM _contacts
        """
    )
    first_month, last_month = con.execute("SELECT min(m), max(m) FROM _months").fetchall()[0]
    if first_month is None:
        first_month = last_month = 0
    n_months = int(last_month - first_month + 1)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _activity AS
        WITH exact AS (
            SELECT record_key, bitstring_agg(m - {first_month}, 0, {n_months - 1}) AS mois
            FROM _months GROUP BY record_key
        )
        SELECT * FROM exact
        JOIN ({_widened(activity_window_months, "mois_voisins", first_month, last_month)})
        USING (record_key)
        JOIN ({_widened(street_window_months, "mois_proches", first_month, last_month)})
        USING (record_key)
        """
    )
    hashed = ",\n               ".join(_hash(c) for c in _SCALAR_TOKENS)
    lists = ",\n               ".join(
        f"list_sort(list_transform({c}, lambda x: hash(x))) AS {c}" for c in _LIST_TOKENS
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _record_tokens AS
        SELECT record_key, partner_id,
               CASE WHEN sex IN ('M', 'F') THEN sex END AS sex,
               CAST(birth_year AS INTEGER) AS birth_year,
               CAST(est_birth_year AS INTEGER) AS est_birth_year,
               {hashed},
               {lists},
               street
        FROM (
            SELECT DISTINCT ON (record_key) *
            FROM _tokens
            WHERE record_key IN (SELECT record_key FROM _months)
            ORDER BY record_key, source_file, source_row
        )
        JOIN (
            SELECT record_key,
                   bool_or(coalesce(CAST(dispositif AS VARCHAR), '{STREET_WORK}')
                           = '{STREET_WORK}') AS street
            FROM _tokens GROUP BY record_key
        ) USING (record_key)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {IDENTIFIED} AS
        SELECT t.record_key AS unique_id, t.partner_id, t.sex, t.birth_year,
               t.tok_surname, t.tok_first_name, t.tok_surname_phon, t.tok_first_name_phon,
               CASE WHEN t.tok_surname IS NOT NULL AND t.tok_first_name IS NOT NULL
                    THEN hash(t.tok_surname, t.tok_first_name) END AS tok_full_name,
               t.tok_surname_variants, t.tok_first_name_variants,
               t.tok_birth_date, t.tok_birth_date_swapped, t.tok_name_initials,
               a.mois, a.mois_voisins
        FROM _record_tokens t JOIN _activity a USING (record_key)
        WHERE t.tok_surname IS NOT NULL OR t.tok_first_name IS NOT NULL
        ORDER BY unique_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {INITIALS_ONLY} AS
        SELECT t.record_key AS unique_id, t.partner_id, t.sex, t.est_birth_year,
               t.tok_initials, a.mois, a.mois_proches
        FROM _record_tokens t JOIN _activity a USING (record_key)
        WHERE t.tok_surname IS NULL AND t.tok_first_name IS NULL
          AND t.tok_network_id IS NULL AND t.street
        ORDER BY unique_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {NETWORK_ONLY} AS
        SELECT t.record_key AS unique_id, t.partner_id, t.sex, t.tok_birth_date,
               t.tok_birth_date_swapped, t.tok_network_id
        FROM _record_tokens t JOIN _activity a USING (record_key)
        WHERE t.tok_surname IS NULL AND t.tok_first_name IS NULL
          AND t.tok_network_id IS NOT NULL
        ORDER BY unique_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {LOCAL_ONLY} AS
        SELECT t.record_key AS unique_id, t.partner_id
        FROM _record_tokens t JOIN _activity a USING (record_key)
        WHERE t.tok_surname IS NULL AND t.tok_first_name IS NULL
          AND t.tok_network_id IS NULL AND NOT t.street
        ORDER BY unique_id
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {NETWORK_IDS} AS
        SELECT t.record_key AS unique_id, t.tok_network_id
        FROM _record_tokens t JOIN _activity a USING (record_key)
        WHERE t.tok_network_id IS NOT NULL
        ORDER BY unique_id
        """
    )
    for name in ("_contacts", "_tokens"):
        con.unregister(name)

    def count(table: str) -> int:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])

    return RecordTables(
        con,
        count(IDENTIFIED),
        count(INITIALS_ONLY),
        int(first_month),
        n_months,
        count(NETWORK_ONLY),
        count(LOCAL_ONLY),
    )


def read_tokens(path: Path, record_keys: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ingest's token table, restricted to ``record_keys``, as two frames.

    Per contact row, only the birth years (the persons table weighs them by contacts); per
    record, all its tokens (its first row by source file and row), which is all the linkage
    needs. The lists of neighbourhood tokens are thus never copied once per contact row: on a
    regional network that would be millions of Python strings.
    """
    con = duckdb.connect()
    try:
        con.register("_keys", pd.DataFrame({"record_key": pd.unique(record_keys)}))
        source = "read_parquet(?) WHERE record_key IN (SELECT record_key FROM _keys)"
        rows = con.execute(
            f"SELECT record_key, birth_year, est_birth_year FROM {source}", [str(path)]
        ).df()
        # Each record's first row is found on three narrow columns, then only those rows
        # are read whole (sorting every row with its lists of tokens cost three times more).
        records = con.execute(
            """
            WITH first AS (
                SELECT DISTINCT ON (record_key) file_row_number AS n
                FROM read_parquet(?, file_row_number = true)
                WHERE record_key IN (SELECT record_key FROM _keys)
                ORDER BY record_key, source_file, source_row
            )
            SELECT * EXCLUDE (file_row_number) FROM read_parquet(?, file_row_number = true)
            WHERE file_row_number IN (SELECT n FROM first)
            ORDER BY record_key, source_file, source_row
            """,
            [str(path), str(path)],
        ).df()
    finally:
        con.close()
    return rows, records
