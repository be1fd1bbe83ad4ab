"""core.storage.read_parquet: the frame pandas reads, each column in one chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.core.storage import read_parquet, write_parquet


def test_same_frame_as_pandas_in_one_chunk(tmp_path: Path):
    n = 140_000  # more than pyarrow's batch of 131 072 rows: pandas gets two chunks
    frame = pd.DataFrame(
        {
            "person_id": [f"p{i % 997}" for i in range(n)],
            "exit_reason": pd.Series(["fin", None] * (n // 2), dtype="str"),
            "date_start": pd.Series(pd.date_range("2020-01-01", periods=n, freq="h")).astype(
                "datetime64[ms]"
            ),
            "nights": np.where(np.arange(n) % 3 == 0, np.nan, 1.0),
            "source_row": np.arange(n, dtype="int64"),
        }
    )
    path = tmp_path / "contacts.parquet"
    write_parquet(frame, path)
    expected = pd.read_parquet(path)
    got = read_parquet(path)
    pd.testing.assert_frame_equal(got, expected)
    assert got.dtypes.equals(expected.dtypes)
    assert expected["person_id"].array._pa_array.num_chunks > 1  # what the function avoids
    assert got["person_id"].array._pa_array.num_chunks == 1
    pd.testing.assert_frame_equal(
        read_parquet(path, columns=["nights", "person_id"]),
        pd.read_parquet(path, columns=["nights", "person_id"]),
    )
