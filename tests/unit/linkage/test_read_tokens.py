"""Ingest's token table read per record: each record's first row (by source file and row),
as the former single DISTINCT ON query gave it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandas.testing as pdt

from observatoire.linkage.records import read_tokens


def former_records(path: Path, keys: pd.Series) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        con.register("_keys", pd.DataFrame({"record_key": pd.unique(keys)}))
        return con.execute(
            """
            SELECT DISTINCT ON (record_key) * FROM read_parquet(?)
            WHERE record_key IN (SELECT record_key FROM _keys)
            ORDER BY record_key, source_file, source_row
            """,
            [str(path)],
        ).df()
    finally:
        con.close()


def test_first_row_of_each_record_as_before(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 3000
    record = rng.integers(0, 400, n)
    tokens = pd.DataFrame(
        {
            "source_file": [f"p{r % 3}/f{rng.integers(0, 3)}.csv" for r in record],
            "source_row": rng.permutation(n),
            "record_key": [f"K{r:04d}" for r in record],
            "birth_year": pd.array(
                np.where(rng.random(n) < 0.1, None, 1950 + rng.integers(0, 50, n)), dtype="Int64"
            ),
            "est_birth_year": pd.array([None] * n, dtype="Int64"),
            "tok_surname": [
                None if rng.random() < 0.2 else f"s{rng.integers(0, 9)}" for _ in record
            ],
            "tok_surname_variants": [
                None if rng.random() < 0.2 else [f"v{rng.integers(0, 9)}", f"w{i}"]
                for i in range(n)
            ],
        }
    ).sample(frac=1, random_state=1)
    path = tmp_path / "identity_tokens.parquet"
    tokens.to_parquet(path, index=False)
    keys = pd.Series([f"K{r:04d}" for r in range(0, 450, 2)])  # some absent, half kept
    rows, records = read_tokens(path, keys)
    pdt.assert_frame_equal(records, former_records(path, keys), check_exact=True)
    assert set(rows["record_key"]) == set(records["record_key"])
    assert len(rows) == int(tokens["record_key"].isin(set(keys)).sum())
