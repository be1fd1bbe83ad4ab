"""One row per partner record, with the features the linkage compares.

A record is what a partner knows as one client: a local id at a partner (``record_key``, a
keyed token), or, for street work, the triple initials + sex + estimated birth year. The keyed
tokens of ingest are turned into 64-bit integers (their DuckDB hash) to make comparisons cheap;
nothing is ever turned back into a name or a date.

Besides identity, the records carry when they were active: a bit per calendar month with a
contact (``mois``), and the same widened by a few months (``mois_voisins``). Two records of
one person at two services are usually active in the same months; two namesakes seldom are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

__all__ = ["IDENTIFIED", "INITIALS_ONLY", "RecordTables", "build_record_tables", "read_tokens"]

IDENTIFIED = "records"
"""DuckDB table of records that carry names (the input of the probabilistic model)."""
INITIALS_ONLY = "initials_records"
"""DuckDB table of street-work records: initials, sex and an estimated birth year only."""

_SCALAR_TOKENS = (
    "tok_surname",
    "tok_first_name",
    "tok_surname_phon",
    "tok_first_name_phon",
    "tok_birth_date",
    "tok_birth_date_swapped",
    "tok_name_initials",
    "tok_initials",
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
               {lists}
        FROM (
            SELECT DISTINCT ON (record_key) *
            FROM _tokens
            WHERE record_key IN (SELECT record_key FROM _months)
            ORDER BY record_key, source_file, source_row
        )
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
        ORDER BY unique_id
        """
    )
    for name in ("_contacts", "_tokens"):
        con.unregister(name)
    n_identified = con.execute(f"SELECT count(*) FROM {IDENTIFIED}").fetchall()[0][0]
    n_initials = con.execute(f"SELECT count(*) FROM {INITIALS_ONLY}").fetchall()[0][0]
    return RecordTables(con, int(n_identified), int(n_initials), int(first_month), n_months)


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
        records = con.execute(
            f"""
            SELECT DISTINCT ON (record_key) * FROM {source}
            ORDER BY record_key, source_file, source_row
            """,
            [str(path)],
        ).df()
    finally:
        con.close()
    return rows, records
